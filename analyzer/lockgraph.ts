import { Func } from '../core/events';
import { countAnomalies, type HeldLock, type JoinSink, type NestedAcquisition } from '../core/join';
import { LockNameCollector } from './locknames';
import type { RunFile } from '../runfile/runfile';

/**
 * The lock-order graph: an edge held -> acquired for each lock a thread acquired while it held
 * another. What a thread holds is the join's (core/join.ts: recursion, cond waits, lost releases,
 * locks held at the start); this adds the rules of lock order:
 * - a successful trylock makes no edge into the lock it took (it cannot block, so cannot deadlock),
 *   but the lock is held and later acquisitions make edges from it;
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

export function buildLockGraph(run: RunFile): LockGraph {
  const builder = new LockGraphBuilder();
  const lockNames = new LockNameCollector();
  const anomalies = new Map<string, number>();
  run.join([
    builder,
    {
      acquisition: (a) => lockNames.acquired(a),
      failed: (f) => lockNames.seen(f.lock, f.kind),
      open: (o) => lockNames.seen(o.lock, o.lockKind),
      anomaly: countAnomalies(anomalies),
    },
  ]);
  return { edges: builder.edges, nestedAcquisitions: builder.nestedAcquisitions, waitingCalls: builder.waitingCalls, lockNames: lockNames.names(run), anomalies };
}

/** The lock-order edges of one pass of the join (it asks for the join's nesting). */
export class LockGraphBuilder implements JoinSink {
  readonly edges = new Map<number, Map<number, LockOrderEdge>>();
  nestedAcquisitions = 0;
  waitingCalls = 0;

  nested(n: NestedAcquisition): void {
    if (n.waiting) {
      if (isTrylock(n.func)) return;
      this.waitingCalls++;
    } else {
      this.nestedAcquisitions++;
      if (isTrylock(n.func)) return;
    }
    for (const h of n.held) this.addEdge(h, n.lock, n.caller, n.tid, n.waiting);
  }

  private addEdge(from: HeldLock, to: number, toCaller: number, tid: number, waiting: boolean): void {
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
