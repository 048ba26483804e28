import { Func, MutexFlag, Stage } from '../../core/events';
import type { SyntheticEvent } from './synthetic';

/**
 * Hand-made lock traffic for synthetic run files, written as the calls a program makes. Every
 * event is 1 µs after the previous one unless `at` says when.
 */
export class LockScript {
  readonly events: SyntheticEvent[] = [];
  private ts = 0;
  private readonly recursiveLocks = new Set<number>();

  /** Lock calls on `lock` say it is a recursive mutex, as the recorder reads it from the mutex. */
  recursive(lock: number): this {
    this.recursiveLocks.add(lock);
    return this;
  }

  /** The entry of a lock call at `caller` (its return address). */
  request(tid: number, lock: number, caller: number, opts: { func?: number; stackId?: number; outerCaller?: number; at?: number } = {}): this {
    return this.push({ stage: Stage.Request, func: opts.func ?? Func.PthreadMutexLock, tid, lock, ret: 0, caller, stackId: opts.stackId, outerCaller: opts.outerCaller }, opts.at);
  }

  /** The return of the lock call `tid` is in, with `ret`. */
  acquired(tid: number, lock: number, caller: number, opts: { func?: number; ret?: number; at?: number } = {}): this {
    return this.push({ stage: Stage.Acquired, func: opts.func ?? Func.PthreadMutexLock, tid, lock, ret: opts.ret ?? 0, caller }, opts.at);
  }

  /** A whole lock call that gets the lock after `waitNs`. */
  lock(tid: number, lock: number, caller: number, opts: { func?: number; stackId?: number; outerCaller?: number; waitNs?: number } = {}): this {
    this.request(tid, lock, caller, opts);
    return this.acquired(tid, lock, caller, { func: opts.func, at: this.ts + (opts.waitNs ?? 1000) });
  }

  unlock(tid: number, lock: number, caller = 0, opts: { at?: number } = {}): this {
    return this.push({ stage: Stage.Released, func: Func.PthreadMutexUnlock, tid, lock, ret: 0, caller }, opts.at);
  }

  /** pthread_cond_wait on `lock`: released at entry, requested and re-acquired at return, as the recorder writes it. */
  condWait(tid: number, lock: number, caller: number): this {
    this.push({ stage: Stage.Released, func: Func.PthreadCondWait, tid, lock, ret: 0, caller }, undefined);
    this.request(tid, lock, caller, { func: Func.PthreadCondWait });
    return this.push({ stage: Stage.Acquired, func: Func.PthreadCondWait, tid, lock, ret: 0, caller }, this.ts);
  }

  private push(e: Omit<SyntheticEvent, 'ts'>, at: number | undefined): this {
    this.ts = at ?? this.ts + 1000;
    const flags = e.stage !== Stage.Released && this.recursiveLocks.has(e.lock) ? MutexFlag.KindKnown | 1 : undefined;
    this.events.push({ ...e, ts: this.ts, ...(flags ? { flags } : {}) });
    return this;
  }
}
