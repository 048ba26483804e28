import { HoldHistory, ReadHoldHistory, type Reader } from './hold_history';
import {
  Func, MutexFlag, Stage, acquiredLock, isCondWait, isCondWake, isFutexFunc, isFutexWait, isKernelFunc, isRecursiveMutex, isRwlockRead,
  isRwlockWrite, isSpinFunc, isWaitOnly, lockKind, waitedPerProbes, type RawEvent,
} from './events';
import { FutexFlag, isEventWaitKind } from './futex';
import { familyCost, inRunScale, netOf, type ProbeCost, type ProbeFamily } from './probe_cost';

/**
 * Joins raw acquired/released events into acquisitions. Events must arrive in run-file id order
 * (per-thread time order, causal order across threads).
 *
 * - An acquired event is a lock call's return and carries its request time (requestTs). A request
 *   row (stage 0) is a call that had not returned when the recording stopped. An acquired event
 *   without requestTs takes the request row of its thread before it (hand-made event lists may
 *   write a call that way). A thread is inside at most one lock call at a time.
 * - Contended: the call had to wait. Either another thread held the lock at the request time by
 *   the recorded holds (the call is seen when it returns, after the holders of its wait have
 *   released, so the holder is looked up in the lock's finished holds, core/hold_history.ts), or
 *   the probes saw it wait: the mutex was locked by another thread at the call's entry, or the
 *   thread slept inside the call (MutexFlag in core/events.ts).
 * - acquired -> released: per lock address, whoever releases it (a release by another thread
 *   ends the holder's hold). A second successful acquisition by the thread that already holds the
 *   lock is a recursive re-entry only when the mutex's recorded type is recursive: the hold runs
 *   from the outermost acquisition to the release that brings the depth back to zero. Otherwise
 *   (and when another thread takes a lock it holds by our books) a release was lost: the old hold
 *   is cut (an open item, never a hold) and the new one starts.
 * - The recording starts with locks already held: the first release of a lock by a thread that
 *   has not acquired it in the run is one 'held-at-start' item; further releases of it by that
 *   thread before it acquires it (a recursive mutex's depth) add nothing. A release by a thread
 *   that did acquire that lock earlier in the run, with no hold open, lost its acquire event.
 * - A cond wait's entry releases the mutex; its return re-acquires it with no observable wait
 *   (wait = null), so hold times never include the time spent waiting on the condition.
 * - Failed attempts (trylock EBUSY, timedlock ETIMEDOUT, EDEADLK, ...) are never acquisitions.
 * - With a probe cost (core/probe_cost.ts), a pthread lock call's wait and every pthread hold are
 *   net of it (never below 0); timestamps stay as recorded. Kernel mutexes are never corrected.
 * - The kernel's contention tracepoints see the wait of a contended acquisition but not its
 *   release: those are complete at the acquired stage, with no hold (wait-only).
 * - Contention mode's futex waits are wait-only too. A wait flagged as continuing its thread's
 *   previous wait on the same word (FutexFlag.Retry: a lock's slow path looping) extends it: the
 *   thread's last futex wait is kept open until its next one, or the end. Waits on a lock word are
 *   contended, their blocker the holder the probes credited (the owner the lock's memory named,
 *   else the thread whose wake ended the wait), its call site that of its wake on the word; a
 *   condition variable's waits are waits for an event, never contention.
 * - pthread rwlocks: a write lock is held as a mutex is (one holder); read locks are held per
 *   reader, each its own hold (a reader that takes it again nests, as a recursive mutex). The
 *   unlock says which it gave up (the event's RwlockWriter flag: glibc's own test). A write request
 *   is contended by a writer or by the readers holding it at its request (its blockers: the one
 *   that released last is blockerTid); a read request only by a writer.
 * - pthread spin locks are held as mutexes are; pthread_spin_init is pthread_spin_unlock under a
 *   second name, so an unlock that ends no hold is not a lock held at the start: it is ignored.
 * - Condition variables (schema 5 on: the events carry the cond): a cond wait's return is also
 *   the cond's wait (condWait, from its entry, ret ETIMEDOUT a timeout), a signal or broadcast a
 *   condSignal, a cond wait still in progress at the stop a condOpen; none of them is a lock
 *   acquisition.
 */

export interface Acquisition {
  pid: number;
  tid: number;
  lock: number;
  func: number; // the function that acquired it
  requestTs: number;
  acquiredTs: number;
  releasedTs: number | null; // null: wait-only (contention tracepoint), the release is not seen
  wait: number | null; // acquiredTs - requestTs; null for a cond-wait re-acquisition
  hold: number | null; // releasedTs - acquiredTs; null for a wait-only acquisition
  contended: boolean; // another thread held the lock when this one asked for it
  blockerTid: number | null; // that thread (null: uncontended, or more holders came and went during the wait than are kept)
  blockerCaller: number | null; // where that thread had acquired the lock (its request's call site)
  recursiveEntries: number; // nested re-entries of a recursive mutex during this hold
  releasedByTid: number; // usually tid
  requestCaller: number;
  requestStackId: number | null;
  releaseCaller: number;
  probeNsInside?: number; // what the probes of the holder's own calls inside the hold added to it, subtracted from hold (absent: none)
  kind: string; // pthread_mutex, mutex, spinlock, rwsem:R, ... (core/events lockKind)
  blockerTids?: number[]; // a write request blocked by readers: every reader that held it at the request (blockerTid among them)
}

export interface FailedAttempt {
  pid: number;
  tid: number;
  lock: number;
  func: number;
  requestTs: number;
  returnTs: number;
  ret: number;
  contended: boolean;
  blockerTid: number | null;
  requestCaller: number;
  requestStackId: number | null;
  kind: string;
}

/** Something the run's edges cut: still held, still waited for, or released without a seen acquire. */
export interface OpenItem {
  kind: 'held-at-end' | 'waiting-at-end' | 'held-at-start' | 'hold-cut';
  pid: number;
  tid: number;
  lock: number;
  func: number;
  ts: number; // acquiredTs, requestTs, releasedTs, acquiredTs respectively
  requestCaller: number; // 0 for held-at-start (no request was seen)
  requestStackId: number | null;
  lockKind: string; // of the lock (pthread_rwlock:R for a read hold, ...)
}

/** A pthread_cond_*wait call that returned: the cond's wait, from the call's entry to its return. */
export interface CondWait {
  pid: number;
  tid: number;
  cond: number;
  mutex: number; // the mutex it was called with
  func: number;
  requestTs: number; // entry
  returnTs: number;
  wait: number; // returnTs - requestTs, net of the cond probes' cost
  ret: number; // 0, ETIMEDOUT (a timeout), EINVAL, ...
  slept: boolean; // the thread slept inside the call
  caller: number;
  stackId: number | null;
}

/** A pthread_cond_signal or pthread_cond_broadcast call. */
export interface CondSignal {
  pid: number;
  tid: number;
  cond: number;
  broadcast: boolean;
  ts: number;
  waiters: number | null; // the cond's waiters at the call (glibc's count), null when not read
  caller: number;
}

/** A cond wait still in progress when the recording stopped. */
export interface CondOpen {
  pid: number;
  tid: number;
  cond: number;
  mutex: number;
  func: number;
  ts: number; // its entry
  caller: number;
  stackId: number | null;
}

/** A lock its thread holds, and where it was requested. */
export interface HeldLock {
  lock: number;
  caller: number;
}

/** A thread began to hold a lock (or, at the end, was still waiting for one) while it held others. */
export interface NestedAcquisition {
  tid: number;
  lock: number;
  func: number;
  caller: number; // where it was requested
  held: readonly HeldLock[]; // the thread's other holds, oldest first; valid during the call only
  waiting: boolean; // a call still waiting at the end, not an acquisition
}

/** A futex wake (contention mode): who woke how many waiters of a word, from where. */
export interface Wake {
  pid: number;
  tid: number;
  lock: number;
  func: number;
  requestTs: number; // the call's entry
  ts: number; // its return
  woken: number; // how many it woke (and requeued); negative: an error
  caller: number;
}

/** What one pass of the join tells its consumers; each takes what it needs. */
export interface JoinSink {
  acquisition?(a: Acquisition): void;
  wake?(w: Wake): void;
  failed?(f: FailedAttempt): void;
  open?(o: OpenItem): void;
  /** An event that contradicts the join state (usually because events were dropped). */
  anomaly?(kind: string, e: RawEvent): void;
  /** Lock nesting, for the lock-order graph; the join keeps each thread's holds only when a sink asks. */
  nested?(n: NestedAcquisition): void;
  condWait?(w: CondWait): void;
  condSignal?(s: CondSignal): void;
  condOpen?(o: CondOpen): void;
}

/** A sink's anomaly method that counts them by kind into `counts` (for the run's warnings). */
export function countAnomalies(counts: Map<string, number>): (kind: string) => void {
  return (kind) => counts.set(kind, (counts.get(kind) ?? 0) + 1);
}

/** One sink that hands everything to each of several. */
function fanOut(sinks: JoinSink[]): Required<JoinSink> {
  const each = <K extends keyof JoinSink>(key: K): Required<JoinSink>[K] => {
    const fns = sinks.map((s) => s[key]?.bind(s)).filter((f) => f !== undefined) as ((...args: never[]) => void)[];
    if (fns.length === 1) return fns[0] as Required<JoinSink>[K];
    return ((...args: never[]) => {
      for (const f of fns) f(...args);
    }) as Required<JoinSink>[K];
  };
  return {
    acquisition: each('acquisition'), wake: each('wake'), failed: each('failed'), open: each('open'), anomaly: each('anomaly'), nested: each('nested'),
    condWait: each('condWait'), condSignal: each('condSignal'), condOpen: each('condOpen'),
  };
}

interface PendingRequest {
  lock: number;
  func: number;
  ts: number;
  caller: number;
  stackId: number | null;
  contended: boolean;
  blockerTid: number | null;
  blockerCaller: number | null;
  blockerTids?: number[];
  kind: string;
}

/** A thread's last futex wait, open until its next one tells whether it continues it. */
interface FutexWait {
  pid: number;
  tid: number;
  lock: number;
  func: number;
  requestTs: number;
  acquiredTs: number;
  caller: number;
  stackId: number | null;
  kind: string;
  holder: number; // 0: none
  holderIsOwner: boolean; // named by the lock's memory at the first wait (kept), else the last waker
}

interface Hold {
  pid: number;
  tid: number;
  func: number;
  requestTs: number;
  acquiredTs: number;
  wait: number | null;
  contended: boolean;
  blockerTid: number | null;
  blockerCaller: number | null;
  blockerTids?: number[];
  requestCaller: number;
  requestStackId: number | null;
  depth: number;
  recursiveEntries: number;
  kind: string;
  probeMark: number; // the holder's probe time (Joiner.probeNsOf) when it took the lock
}

/** Whose probes a function's waits and holds carry (core/probe_cost.ts): null for kernel functions and futex calls (no uprobe), never corrected. */
function costFamily(func: number): ProbeFamily | 'mutex' | null {
  if (isKernelFunc(func) || isFutexFunc(func)) return null;
  if (isRwlockRead(func)) return 'rwlock:R';
  if (isRwlockWrite(func)) return 'rwlock:W';
  if (isSpinFunc(func)) return 'spin';
  return 'mutex';
}

export class Joiner {
  private readonly requests = new Map<number, PendingRequest>(); // by tid: request rows
  // Contention-tracepoint waits nest (a lock contended inside another's slow path): by tid and lock.
  private readonly waitOnlyRequests = new Map<string, PendingRequest & { tid: number }>();
  private readonly holds = new Map<number, Hold>(); // by lock: its one holder (a mutex, a spin lock, an rwlock's writer)
  private readonly readHolds = new Map<number, Map<number, Hold>>(); // by rwlock, then reader tid
  private readonly pastHolds = new HoldHistory();
  private readonly pastReads = new ReadHoldHistory();
  private readonly condSavedDepth = new Map<number, number>(); // by tid: recursion depth a cond wait gave up
  private readonly acquirers = new Map<number, Set<number>>(); // by lock: threads that acquired it in the run
  private readonly heldAtStart = new Map<number, Set<number>>(); // by lock: threads releasing a hold from before the start
  private readonly sink: Required<JoinSink>;
  private readonly heldByThread: Map<number, HeldLock[]> | null; // only when a sink wants nesting
  private readonly futexWaits = new Map<number, FutexWait>(); // by tid: its last futex wait, not yet given to the sinks
  private readonly wakeSites = new Map<string, number>(); // `${lock}:${tid}`: the call site of that thread's last wake of that word
  private readonly kindOf: (e: RawEvent) => string;

  private readonly probeCost: ProbeCost | null;
  // by tid: what the probes of its calls so far added to its time (calibrated per call), so that a
  // hold does not count its holder's other lock calls' probes inside it as holding
  private readonly probeNsByThread = new Map<number, number>();

  /** One pass over the events serves every sink. futexKind names a futex event's lock kind (its
   * stack's innermost function can tell it; default: from the layout the probe saw). */
  constructor(sinks: JoinSink | JoinSink[], opts: { probeCost?: ProbeCost | null; futexKind?: (e: RawEvent) => string } = {}) {
    this.probeCost = opts.probeCost ?? null;
    const futexKind = opts.futexKind;
    this.kindOf = (e) => (futexKind && isFutexFunc(e.func) ? futexKind(e) : lockKind(e.func, e.flags ?? 0));
    const all = Array.isArray(sinks) ? sinks : [sinks];
    this.sink = fanOut(all);
    this.heldByThread = all.some((s) => s.nested) ? new Map() : null;
  }

  push(e: RawEvent): void {
    if (e.cond != null && (isCondWait(e.func) || isCondWake(e.func))) {
      if (this.onCond(e)) return;
    }
    if (e.stage === Stage.Request) this.onRequest(e);
    else if (e.stage === Stage.Acquired) {
      this.chargeProbes(e); // before: a hold taken here starts after its own call's probes
      this.onAcquired(e);
    } else if (e.stage === Stage.Released) {
      this.onReleased(e);
      this.chargeProbes(e); // after: a hold released here ends before its unlock's probes
    } else if (e.stage === Stage.Wake) this.onWake(e);
  }

  /** A call's probes, charged to its thread once: at a lock call's return, at an unlock's entry. */
  private chargeProbes(e: RawEvent): void {
    if (!this.probeCost || (e.stage === Stage.Released && isCondWait(e.func))) return; // a cond wait is charged at its return
    const family = isCondWait(e.func) ? 'cond' : costFamily(e.func);
    const callNs = family === null ? undefined : familyCost(this.probeCost, family)?.callNs;
    if (callNs) this.probeNsByThread.set(e.tid, this.probeNsOf(e.tid) + callNs * inRunScale(this.probeCost, e.ts));
  }

  private probeNsOf(tid: number): number {
    return this.probeNsByThread.get(tid) ?? 0;
  }

  /** Reports what the run's end cut: holds still open and requests still waiting. */
  finish(): void {
    for (const w of this.futexWaits.values()) this.emitFutexWait(w);
    this.futexWaits.clear();
    for (const [lock, h] of this.holds) this.openHold('held-at-end', lock, h);
    for (const [lock, readers] of this.readHolds) for (const h of readers.values()) this.openHold('held-at-end', lock, h);
    if (this.heldByThread) {
      for (const [tid, r] of this.requests) {
        if (isCondWait(r.func)) continue; // it waits for its condition, not for the mutex
        const held = (this.heldByThread.get(tid) ?? []).filter((h) => h.lock !== r.lock);
        if (held.length > 0) this.sink.nested({ tid, lock: r.lock, func: r.func, caller: r.caller, held, waiting: true });
      }
    }
    const waiting = [...this.requests].map(([tid, r]) => ({ ...r, tid })).concat([...this.waitOnlyRequests.values()]);
    for (const r of waiting) {
      this.sink.open({
        kind: 'waiting-at-end', pid: 0, tid: r.tid, lock: r.lock, func: r.func, ts: r.ts, requestCaller: r.caller, requestStackId: r.stackId, lockKind: r.kind,
      });
    }
    this.holds.clear();
    this.readHolds.clear();
    this.requests.clear();
    this.waitOnlyRequests.clear();
  }

  private openHold(kind: 'held-at-end' | 'hold-cut', lock: number, h: Hold): void {
    this.sink.open({
      kind, pid: h.pid, tid: h.tid, lock, func: h.func, ts: h.acquiredTs, requestCaller: h.requestCaller, requestStackId: h.requestStackId, lockKind: h.kind,
    });
  }

  /**
   * The cond's side of a cond wait, signal or broadcast. Returns true when the event is done with
   * (a signal; a cond wait still in progress at the stop, which is not waiting for its mutex); a
   * cond wait's entry and return go on to the mutex's release and re-acquisition.
   */
  private onCond(e: RawEvent): boolean {
    const cond = e.cond!;
    if (isCondWake(e.func)) {
      const flags = e.flags ?? 0;
      this.sink.condSignal({
        pid: e.pid, tid: e.tid, cond, broadcast: e.func === Func.PthreadCondBroadcast, ts: e.ts, caller: e.caller,
        waiters: flags & MutexFlag.KindKnown ? flags & MutexFlag.CondWaitersMask : null,
      });
      return true;
    }
    if (e.stage === Stage.Request) {
      this.sink.condOpen({ pid: e.pid, tid: e.tid, cond, mutex: e.lock, func: e.func, ts: e.ts, caller: e.caller, stackId: e.stackId ?? null });
      return true;
    }
    if (e.stage === Stage.Acquired && e.requestTs != null) {
      const cost = familyCost(this.probeCost, 'cond');
      this.sink.condWait({
        pid: e.pid, tid: e.tid, cond, mutex: e.lock, func: e.func, requestTs: e.requestTs, returnTs: e.ts,
        wait: cost ? netOf(e.ts - e.requestTs, cost.waitNs * inRunScale(this.probeCost, e.ts)) : e.ts - e.requestTs, ret: e.ret, slept: ((e.flags ?? 0) & MutexFlag.Blocked) !== 0,
        caller: e.caller, stackId: e.stackId ?? null,
      });
    }
    return false;
  }

  private onRequest(e: RawEvent): void {
    if (isFutexWait(e.func)) {
      // still waiting at the end: if it continues the thread's last wait, that wait never ended
      const last = this.futexWaits.get(e.tid);
      if (last) {
        this.futexWaits.delete(e.tid);
        if (e.flags !== undefined && e.flags & FutexFlag.Retry && last.lock === e.lock) {
          this.waitOnlyRequests.set(waitOnlyKey(e), { ...this.pendingRequest(e, last.requestTs), caller: last.caller, stackId: last.stackId, tid: e.tid });
          return;
        }
        this.emitFutexWait(last);
      }
    }
    if (isWaitOnly(e.func)) {
      const key = waitOnlyKey(e);
      if (this.waitOnlyRequests.has(key)) this.sink.anomaly('request-without-return', e);
      this.waitOnlyRequests.set(key, { ...this.pendingRequest(e, e.ts), tid: e.tid });
      return;
    }
    if (this.requests.has(e.tid)) this.sink.anomaly('request-without-return', e);
    this.requests.set(e.tid, this.pendingRequest(e, e.ts));
  }

  private pendingRequest(e: RawEvent, requestTs: number): PendingRequest {
    const request: PendingRequest = {
      lock: e.lock,
      func: e.func,
      ts: requestTs,
      caller: e.caller,
      stackId: e.stackId ?? null,
      contended: false,
      blockerTid: null,
      blockerCaller: null,
      kind: this.kindOf(e),
    };
    if (isFutexWait(e.func)) {
      Object.assign(request, this.futexBlocker(e.tid, e.lock, request.kind, e.holder ?? 0));
    } else if (!isCondWait(e.func)) {
      this.findBlocker(request, e.tid);
      if (isRwlockWrite(e.func) && !request.contended) this.findReaders(request, e.tid);
      if (waitedPerProbes(e.func, e.flags)) request.contended = true;
    }
    return request;
  }

  /** Who held the lock at the request time, if another thread did (an rwlock: its writer). */
  private findBlocker(request: PendingRequest, tid: number): void {
    const holder = this.holds.get(request.lock);
    // Held since before the request; or free then and taken by another thread before the call
    // returned (what a failed trylock or timedlock ran into): the current holder, if another thread.
    const past = holder && holder.acquiredTs <= request.ts ? 'free' : this.pastHolds.holderAt(request.lock, request.ts, tid);
    if (past === 'free') {
      if (!holder || holder.tid === tid) return;
      request.contended = true;
      request.blockerTid = holder.tid;
      request.blockerCaller = holder.requestCaller;
      return;
    }
    request.contended = true;
    if (past !== 'unknown') {
      request.blockerTid = past.tid;
      request.blockerCaller = past.caller;
    }
  }

  /** A write request: the readers that held the rwlock at its request, those still holding it included. */
  private findReaders(request: PendingRequest, tid: number): void {
    const past = this.pastReads.readersAt(request.lock, request.ts, tid);
    const current: Reader[] = [...(this.readHolds.get(request.lock)?.values() ?? [])]
      .filter((h) => h.tid !== tid && h.acquiredTs <= request.ts)
      .map((h) => ({ tid: h.tid, caller: h.requestCaller, releasedTs: Infinity }));
    if (past === 'unknown' && current.length === 0) {
      request.contended = true;
      return;
    }
    const readers = [...(past === 'unknown' ? [] : past), ...current];
    if (readers.length === 0) return;
    const last = readers.reduce((a, b) => (b.releasedTs > a.releasedTs ? b : a));
    Object.assign(request, { contended: true, blockerTid: last.tid, blockerCaller: last.caller, blockerTids: [...new Set(readers.map((r) => r.tid))] });
  }

  /** The request an acquired event answers: its own requestTs, or its thread's request row. */
  private takeRequest(e: RawEvent): PendingRequest | null {
    if (e.requestTs != null) {
      // The recorder's form: request rows only for calls still waiting at the stop, so usually none.
      if (this.requests.size > 0) this.requests.delete(e.tid);
      if (this.waitOnlyRequests.size > 0 && isWaitOnly(e.func)) this.waitOnlyRequests.delete(waitOnlyKey(e));
      // A cond wait's request_ts is its entry (schema 5): the mutex is re-taken at its return.
      return this.pendingRequest(e, isCondWait(e.func) ? e.ts : e.requestTs);
    }
    if (isWaitOnly(e.func)) {
      const key = waitOnlyKey(e);
      const row = this.waitOnlyRequests.get(key);
      this.waitOnlyRequests.delete(key);
      return row ?? null;
    }
    const row = this.requests.get(e.tid);
    this.requests.delete(e.tid);
    return row && row.lock === e.lock ? row : null;
  }

  /** A futex wait's blocker: the holder the probes credited, where it woke the word from. */
  private futexBlocker(tid: number, lock: number, kind: string, holder: number): { contended: boolean; blockerTid: number | null; blockerCaller: number | null } {
    if (isEventWaitKind(kind)) return { contended: false, blockerTid: null, blockerCaller: null };
    const blockerTid = holder !== 0 && holder !== tid ? holder : null;
    return { contended: true, blockerTid, blockerCaller: blockerTid === null ? null : (this.wakeSites.get(`${lock}:${blockerTid}`) ?? null) };
  }

  private onWake(e: RawEvent): void {
    this.wakeSites.set(`${e.lock}:${e.tid}`, e.caller);
    this.sink.wake({ pid: e.pid, tid: e.tid, lock: e.lock, func: e.func, requestTs: e.requestTs ?? e.ts, ts: e.ts, woken: e.ret, caller: e.caller });
  }

  /** A futex wait's return: it continues its thread's open wait, or closes that one and opens its own. */
  private onFutexWait(e: RawEvent): void {
    const last = this.futexWaits.get(e.tid);
    const flags = e.flags ?? 0;
    const holder = e.holder ?? 0;
    if (last && flags & FutexFlag.Retry && last.lock === e.lock) {
      last.acquiredTs = e.ts;
      if (!last.holderIsOwner && holder !== 0) {
        last.holder = holder;
        last.holderIsOwner = (flags & FutexFlag.HolderOwner) !== 0;
      }
      return;
    }
    if (last) this.emitFutexWait(last);
    this.futexWaits.set(e.tid, {
      pid: e.pid, tid: e.tid, lock: e.lock, func: e.func, requestTs: e.requestTs ?? e.ts, acquiredTs: e.ts, caller: e.caller,
      stackId: e.stackId ?? null, kind: this.kindOf(e), holder, holderIsOwner: (flags & FutexFlag.HolderOwner) !== 0,
    });
  }

  private emitFutexWait(w: FutexWait): void {
    this.pastHolds.sawWait(w.acquiredTs - w.requestTs);
    const blocker = this.futexBlocker(w.tid, w.lock, w.kind, w.holder);
    this.sink.acquisition({
      pid: w.pid, tid: w.tid, lock: w.lock, func: w.func, requestTs: w.requestTs, acquiredTs: w.acquiredTs, releasedTs: null,
      wait: w.acquiredTs - w.requestTs, hold: null, ...blocker, recursiveEntries: 0, releasedByTid: w.tid, requestCaller: w.caller,
      requestStackId: w.stackId, releaseCaller: 0, kind: w.kind,
    });
  }

  private onAcquired(e: RawEvent): void {
    if (isFutexWait(e.func) && (e.requestTs != null || !this.waitOnlyRequests.has(waitOnlyKey(e)))) {
      this.onFutexWait(e);
      return;
    }
    const request = this.takeRequest(e);
    if (!request) {
      this.sink.anomaly('return-without-request', e);
      return;
    }
    if (!isCondWait(e.func)) this.pastHolds.sawWait(e.ts - request.ts);
    const contended = request.contended;
    if (!acquiredLock(e.func, e.ret)) {
      this.sink.failed({
        pid: e.pid, tid: e.tid, lock: e.lock, func: e.func, requestTs: request.ts, returnTs: e.ts, ret: e.ret,
        contended, blockerTid: request.blockerTid, requestCaller: request.caller, requestStackId: request.stackId, kind: request.kind,
      });
      return;
    }
    if (isWaitOnly(e.func)) {
      this.sink.acquisition({
        pid: e.pid, tid: e.tid, lock: e.lock, func: e.func, requestTs: request.ts, acquiredTs: e.ts, releasedTs: null,
        wait: e.ts - request.ts, hold: null, contended: request.contended || !isFutexWait(e.func), blockerTid: request.blockerTid, blockerCaller: request.blockerCaller,
        recursiveEntries: 0, releasedByTid: e.tid, requestCaller: request.caller, requestStackId: request.stackId, releaseCaller: 0,
        kind: request.kind,
      });
      return;
    }
    if (isRwlockRead(e.func)) {
      this.readAcquired(e, request);
      return;
    }
    const current = this.holds.get(e.lock);
    if (current && current.tid === e.tid && isRecursiveMutex(e.func, e.flags)) {
      current.depth++;
      current.recursiveEntries++;
      return;
    }
    if (current) this.cut(e.lock, current, e);
    if (isRwlockWrite(e.func)) this.cutReaders(e);
    this.sawAcquirer(e.lock, e.tid);
    let depth = 1;
    if (isCondWait(e.func)) {
      depth = this.condSavedDepth.get(e.tid) ?? 1;
      this.condSavedDepth.delete(e.tid);
    }
    if (this.heldByThread) this.startHolding(e.tid, e.lock, e.func, request.caller);
    this.holds.set(e.lock, this.newHold(e, request, depth));
  }

  // Object literals without spreads (here and in released): a spread makes V8 build the object in
  // its runtime, a few hundred ns per acquisition.
  private newHold(e: RawEvent, request: PendingRequest, depth: number): Hold {
    const hold: Hold = {
      pid: e.pid,
      tid: e.tid,
      func: e.func,
      requestTs: request.ts,
      acquiredTs: e.ts,
      wait: isCondWait(e.func) ? null : this.net(e.func, e.ts - request.ts, 'waitNs', e.ts),
      contended: request.contended,
      blockerTid: request.blockerTid,
      blockerCaller: request.blockerCaller,
      requestCaller: request.caller,
      requestStackId: request.stackId,
      depth,
      recursiveEntries: 0,
      kind: request.kind,
      probeMark: this.probeNsOf(e.tid),
    };
    if (request.blockerTids) hold.blockerTids = request.blockerTids;
    return hold;
  }

  /** A read lock taken: a hold of its own per reader; the same reader again nests. */
  private readAcquired(e: RawEvent, request: PendingRequest): void {
    let readers = this.readHolds.get(e.lock);
    const mine = readers?.get(e.tid);
    if (mine) {
      mine.depth++;
      mine.recursiveEntries++;
      return;
    }
    const writer = this.holds.get(e.lock);
    if (writer) this.cut(e.lock, writer, e); // no read lock while a writer holds it: its release was lost
    this.sawAcquirer(e.lock, e.tid);
    if (this.heldByThread) this.startHolding(e.tid, e.lock, e.func, request.caller);
    if (!readers) this.readHolds.set(e.lock, (readers = new Map()));
    readers.set(e.tid, this.newHold(e, request, 1));
  }

  /** A write lock taken while readers hold it by our books: their releases were lost. */
  private cutReaders(by: RawEvent): void {
    const readers = this.readHolds.get(by.lock);
    if (!readers) return;
    for (const h of readers.values()) {
      if (this.heldByThread) this.stopHolding(h.tid, by.lock);
      this.sink.anomaly('hold-cut', by);
      this.openHold('hold-cut', by.lock, h);
    }
    this.readHolds.delete(by.lock);
  }

  /** A wait or hold less its probes' calibrated cost, as dear as the run's own calls found them at `ts`. */
  private net(func: number, rawNs: number, which: 'waitNs' | 'holdNs', ts: number): number {
    const family = costFamily(func);
    const cost = family === null ? null : familyCost(this.probeCost, family);
    return cost ? netOf(rawNs, cost[which] * inRunScale(this.probeCost, ts)) : rawNs;
  }

  /** What the probes of every call the holder made inside a hold added to it. */
  private probeNsInside(hold: Hold, release: RawEvent): number {
    return release.tid === hold.tid ? this.probeNsOf(hold.tid) - hold.probeMark : 0;
  }

  private startHolding(tid: number, lock: number, func: number, caller: number): void {
    let held = this.heldByThread!.get(tid);
    if (!held) this.heldByThread!.set(tid, (held = []));
    if (held.length > 0) this.sink.nested({ tid, lock, func, caller, held, waiting: false });
    held.push({ lock, caller });
  }

  private stopHolding(tid: number, lock: number): void {
    const held = this.heldByThread!.get(tid);
    const i = held ? held.findIndex((h) => h.lock === lock) : -1;
    if (i >= 0) held!.splice(i, 1);
  }

  /** A hold whose release was lost (the lock was taken again with none seen): open, never a hold. */
  private cut(lock: number, hold: Hold, by: RawEvent): void {
    this.holds.delete(lock);
    if (this.heldByThread) this.stopHolding(hold.tid, lock);
    this.sink.anomaly('hold-cut', by);
    this.openHold('hold-cut', lock, hold);
  }

  private sawAcquirer(lock: number, tid: number): void {
    let tids = this.acquirers.get(lock);
    if (!tids) this.acquirers.set(lock, (tids = new Set()));
    tids.add(tid);
    if (this.heldAtStart.size > 0) this.heldAtStart.get(lock)?.delete(tid);
  }

  /** A release with no hold open: a hold from before the start, or one whose acquire was lost. */
  private releasedUnheld(e: RawEvent): void {
    // pthread_spin_init is pthread_spin_unlock: an unlock of a spin lock nobody holds may be an init.
    if (isSpinFunc(e.func)) return;
    if (this.acquirers.get(e.lock)?.has(e.tid)) {
      this.sink.anomaly('release-without-hold', e);
      return;
    }
    let tids = this.heldAtStart.get(e.lock);
    if (!tids) this.heldAtStart.set(e.lock, (tids = new Set()));
    if (tids.has(e.tid)) return; // a recursive mutex's outer levels, or a cond wait's re-take
    tids.add(e.tid);
    this.sink.open({
      kind: 'held-at-start', pid: e.pid, tid: e.tid, lock: e.lock, func: e.func, ts: e.ts, requestCaller: 0, requestStackId: null, lockKind: lockKind(e.func, e.flags ?? 0),
    });
  }

  private onReleased(e: RawEvent): void {
    if (e.func === Func.PthreadRwlockUnlock && !((e.flags ?? 0) & MutexFlag.RwlockWriter)) {
      this.readReleased(e);
      return;
    }
    const hold = this.holds.get(e.lock);
    if (!hold) {
      this.releasedUnheld(e);
      return;
    }
    // A cond wait releases a recursive mutex entirely and restores its depth when it re-takes it.
    if (isCondWait(e.func)) {
      if (hold.depth > 1) this.condSavedDepth.set(e.tid, hold.depth);
    } else if (hold.depth > 1) {
      hold.depth--;
      return;
    }
    this.holds.delete(e.lock);
    if (this.heldByThread) this.stopHolding(hold.tid, e.lock);
    this.pastHolds.add(e.lock, hold.tid, hold.acquiredTs, e.ts, hold.requestCaller);
    this.released(e, hold);
  }

  /** pthread_rwlock_unlock of a read lock: the reader's own hold. */
  private readReleased(e: RawEvent): void {
    const readers = this.readHolds.get(e.lock);
    const hold = readers?.get(e.tid);
    if (!hold) {
      this.releasedUnheld(e);
      return;
    }
    if (hold.depth > 1) {
      hold.depth--;
      return;
    }
    readers!.delete(e.tid);
    if (readers!.size === 0) this.readHolds.delete(e.lock);
    if (this.heldByThread) this.stopHolding(e.tid, e.lock);
    this.pastReads.add(e.lock, e.tid, hold.acquiredTs, e.ts, hold.requestCaller);
    this.released(e, hold);
  }

  private released(e: RawEvent, hold: Hold): void {
    const inside = this.probeNsInside(hold, e);
    const held = this.net(hold.func, e.ts - hold.acquiredTs, 'holdNs', hold.acquiredTs);
    const acquisition: Acquisition = {
      pid: hold.pid,
      tid: hold.tid,
      lock: e.lock,
      func: hold.func,
      requestTs: hold.requestTs,
      acquiredTs: hold.acquiredTs,
      releasedTs: e.ts,
      wait: hold.wait,
      hold: netOf(held, inside),
      contended: hold.contended,
      blockerTid: hold.blockerTid,
      blockerCaller: hold.blockerCaller,
      recursiveEntries: hold.recursiveEntries,
      releasedByTid: e.tid,
      requestCaller: hold.requestCaller,
      requestStackId: hold.requestStackId,
      releaseCaller: e.caller,
      kind: hold.kind,
    };
    if (inside > 0) acquisition.probeNsInside = inside;
    if (hold.blockerTids) acquisition.blockerTids = hold.blockerTids;
    this.sink.acquisition(acquisition);
  }
}

/** Contention-tracepoint waits are kept per thread and lock. */
function waitOnlyKey(e: RawEvent): string {
  return `${e.tid}:${e.lock}`;
}
