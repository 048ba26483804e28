import { acquiredLock, Func, isCondWait, isRecursiveMutex, isWaitOnly, Stage, type RawEvent } from '../core/events';
import { Joiner } from '../core/join';
import { LockNameCollector } from './locknames';
import type { RunFile } from './runfile';

/**
 * The lock-order graph: an edge held -> acquired for each lock a thread acquired while it held
 * another, from the raw events in one pass. Held sets are kept per thread:
 * - a recursive re-entry of a lock the thread holds is no edge (and no new hold); as in
 *   core/join.ts, it is one only for a mutex whose recorded type is recursive: otherwise the
 *   release was lost and the old hold ends there;
 * - a release of a lock nobody holds by these books (held when the recording started) ends nothing;
 * - a cond wait releases its mutex at entry and re-acquires it at return, an acquisition like any
 *   other (with the depth a recursive mutex had);
 * - a successful trylock makes no edge into the lock it took (it cannot block, so cannot deadlock),
 *   but the lock is held and later acquisitions make edges from it;
 * - failed attempts and the kernel's wait-only contention events hold nothing;
 * - a lock call still waiting when the recording stopped (a request row) makes edges from the
 *   locks its thread held: a deadlock shows as a cycle.
 */

export interface LockOrderEdge {
  from: number; // the lock held
  to: number; // the lock acquired while holding it
  count: number;
  waiting: number; // of count: calls still waiting for `to` when the recording stopped
  sites: Map<number, Map<number, number>>; // where `from` was acquired -> where `to` was -> count
  threads: Map<number, number>; // tid -> count
}

export interface LockGraph {
  edges: Map<number, Map<number, LockOrderEdge>>; // from -> to -> edge
  nestedAcquisitions: number; // acquisitions made while the thread held another lock
  waitingCalls: number; // lock calls still waiting at the end while their thread held another lock
  lockNames: Map<number, string>; // as report names them
  anomalies: Map<string, number>; // the join's, for the run warnings
}

interface HeldLock {
  lock: number;
  caller: number; // where it was acquired
  depth: number;
}

interface PendingRequest {
  lock: number;
  caller: number;
  func: number;
}

export function buildLockGraph(run: RunFile): LockGraph {
  const builder = new LockGraphBuilder();
  const lockNames = new LockNameCollector();
  const anomalies = new Map<string, number>();
  const joiner = new Joiner({
    acquisition: (a) => lockNames.acquired(a),
    failed: (f) => lockNames.seen(f.lock),
    open: (o) => lockNames.seen(o.lock),
    anomaly: (kind) => anomalies.set(kind, (anomalies.get(kind) ?? 0) + 1),
  });
  for (const e of run.events()) {
    builder.push(e);
    joiner.push(e);
  }
  builder.finish();
  joiner.finish();
  return { edges: builder.edges, nestedAcquisitions: builder.nestedAcquisitions, waitingCalls: builder.waitingCalls, lockNames: lockNames.names(run), anomalies };
}

class LockGraphBuilder {
  readonly edges = new Map<number, Map<number, LockOrderEdge>>();
  nestedAcquisitions = 0;
  waitingCalls = 0;
  private readonly requests = new Map<number, PendingRequest>(); // by tid
  private readonly held = new Map<number, HeldLock[]>(); // by tid, in acquisition order
  private readonly owners = new Map<number, number>(); // lock -> tid holding it
  private readonly condSavedDepth = new Map<number, number>(); // by tid: depth a cond wait gave up

  push(e: RawEvent): void {
    if (e.stage === Stage.Request) this.requests.set(e.tid, { lock: e.lock, caller: e.caller, func: e.func });
    else if (e.stage === Stage.Acquired) this.onAcquired(e);
    else if (e.stage === Stage.Released) this.onReleased(e);
  }

  private onAcquired(e: RawEvent): void {
    // The call's own request time (requestTs), or a request row before it: see core/join.ts.
    const row = this.requests.get(e.tid);
    this.requests.delete(e.tid);
    const request = e.requestTs != null ? { lock: e.lock, caller: e.caller, func: e.func } : row;
    if (!request || request.lock !== e.lock) return;
    if (!acquiredLock(e.func, e.ret) || isWaitOnly(e.func)) return;
    const reentered = this.heldBy(e.tid).find((h) => h.lock === e.lock);
    if (reentered && isRecursiveMutex(e.func, e.flags)) {
      reentered.depth++;
      return;
    }
    const owner = this.owners.get(e.lock);
    if (owner !== undefined) this.drop(owner, e.lock); // its release was lost
    const held = this.heldBy(e.tid);
    if (held.length > 0) {
      this.nestedAcquisitions++;
      if (!isTrylock(e.func)) for (const h of held) this.addEdge(h, e.lock, request.caller, e.tid);
    }
    let depth = 1;
    if (isCondWait(e.func)) {
      depth = this.condSavedDepth.get(e.tid) ?? 1;
      this.condSavedDepth.delete(e.tid);
    }
    held.push({ lock: e.lock, caller: request.caller, depth });
    this.owners.set(e.lock, e.tid);
  }

  /** Requests never answered: the thread waited for the lock while holding the others. */
  finish(): void {
    for (const [tid, request] of this.requests) {
      if (isTrylock(request.func) || isWaitOnly(request.func) || isCondWait(request.func)) continue;
      const held = (this.held.get(tid) ?? []).filter((h) => h.lock !== request.lock);
      if (held.length > 0) this.waitingCalls++;
      for (const h of held) this.addEdge(h, request.lock, request.caller, tid, true);
    }
    this.requests.clear();
  }

  private onReleased(e: RawEvent): void {
    const owner = this.owners.get(e.lock);
    if (owner === undefined) return;
    const h = this.heldBy(owner).find((x) => x.lock === e.lock)!;
    if (isCondWait(e.func)) {
      if (h.depth > 1) this.condSavedDepth.set(e.tid, h.depth);
    } else if (h.depth > 1) {
      h.depth--;
      return;
    }
    this.drop(owner, e.lock);
  }

  private drop(tid: number, lock: number): void {
    const held = this.heldBy(tid);
    held.splice(held.findIndex((h) => h.lock === lock), 1);
    if (held.length === 0) this.held.delete(tid);
    this.owners.delete(lock);
  }

  private heldBy(tid: number): HeldLock[] {
    let held = this.held.get(tid);
    if (!held) this.held.set(tid, (held = []));
    return held;
  }

  private addEdge(from: HeldLock, to: number, toCaller: number, tid: number, waiting = false): void {
    let byTo = this.edges.get(from.lock);
    if (!byTo) this.edges.set(from.lock, (byTo = new Map()));
    let edge = byTo.get(to);
    if (!edge) byTo.set(to, (edge = { from: from.lock, to, count: 0, waiting: 0, sites: new Map(), threads: new Map() }));
    edge.count++;
    if (waiting) edge.waiting++;
    let byAcquiredAt = edge.sites.get(from.caller);
    if (!byAcquiredAt) edge.sites.set(from.caller, (byAcquiredAt = new Map()));
    byAcquiredAt.set(toCaller, (byAcquiredAt.get(toCaller) ?? 0) + 1);
    edge.threads.set(tid, (edge.threads.get(tid) ?? 0) + 1);
  }
}

function isTrylock(func: number): boolean {
  return func === Func.PthreadMutexTrylock || func === Func.MutexTrylock;
}
