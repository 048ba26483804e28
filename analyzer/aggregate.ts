import { isWaitOnly, kindFamily, type KindFamily } from '../core/events';
import { lockRowKey } from './lockkey';
import { countAnomalies, type Acquisition, type FailedAttempt, type JoinSink, type OpenItem } from '../core/join';
import { SiteTally } from './identity';
import { SampleVec, type SampleSummary } from './stats/quantiles';
import type { RunFile } from '../runfile/runfile';

/** What a group of acquisitions (one lock, one thread, ...) cost. All times in ns. */
export interface GroupStats {
  key: number; // lock address or tid
  acquisitions: number;
  contended: number; // acquisitions that had to wait (core/join.ts: contended)
  contendedWaitNs: number; // their waits, summed: the time the lock cost in contention
  condReacquisitions: number; // acquisitions by a cond wait's return (no observable wait)
  recursiveEntries: number;
  failed: Map<number, number>; // return value (EBUSY, ETIMEDOUT, ...) -> count
  failedTime: number; // time spent in failed attempts
  waits: SampleVec; // per acquisition with an observable wait: acquired - request
  holds: SampleVec; // per acquisition: released - acquired
  probeNsInside: number; // what the holders' calls inside the holds added to them, subtracted (core/join.ts), summed
  waitTimes: SampleVec | null; // with sampleTimes: acquiredTs of each entry of waits, in the same order
  holdTimes: SampleVec | null; // with sampleTimes: acquiredTs of each entry of holds, in the same order
  contendedWaits: SampleVec | null; // with sampleTimes: the waits of contended acquisitions
  contendedWaitTimes: SampleVec | null; // and when each was acquired
  open: { heldAtStart: number; heldAtEnd: number; waitingAtEnd: number; cut: number };
  sites: SiteTally; // where the acquisitions were requested from (their lock's class, analyzer/identity.ts)
  kind: string; // of the first acquisition (pthread_mutex, mutex, spinlock, ...)
}

export interface Summaries {
  wait: SampleSummary | null;
  hold: SampleSummary | null;
}

export type GroupBy = 'lock' | 'thread';

export interface AnalyzeOptions {
  groupBy: GroupBy;
  lock?: number; // only this lock
  tid?: number; // only this thread's acquisitions
  keepWaits?: boolean; // also collect the raw wait/hold samples of every group (default: yes)
  sampleTimes?: boolean; // also keep when each wait and hold sample was acquired (for per-window statistics)
  kinds?: ReadonlySet<KindFamily>; // only locks of these kinds (report --kind)
}

export interface Analysis {
  groups: Map<number, GroupStats>;
  anomalies: Map<string, number>; // contradictions in the event stream (dropped events)
}

export function newGroup(key: number, sampleTimes: boolean): GroupStats {
  return {
    key,
    acquisitions: 0,
    contended: 0,
    contendedWaitNs: 0,
    condReacquisitions: 0,
    recursiveEntries: 0,
    failed: new Map(),
    failedTime: 0,
    waits: new SampleVec(),
    holds: new SampleVec(),
    probeNsInside: 0,
    waitTimes: sampleTimes ? new SampleVec() : null,
    holdTimes: sampleTimes ? new SampleVec() : null,
    contendedWaits: sampleTimes ? new SampleVec() : null,
    contendedWaitTimes: sampleTimes ? new SampleVec() : null,
    open: { heldAtStart: 0, heldAtEnd: 0, waitingAtEnd: 0, cut: 0 },
    sites: new SiteTally(),
    kind: '',
  };
}

/** Adds one group's counts and samples to another's (not its sites: call-site groups do not use them). */
export function mergeGroup(into: GroupStats, from: GroupStats): void {
  if (into.kind === '') into.kind = from.kind;
  into.acquisitions += from.acquisitions;
  into.contended += from.contended;
  into.contendedWaitNs += from.contendedWaitNs;
  into.condReacquisitions += from.condReacquisitions;
  into.recursiveEntries += from.recursiveEntries;
  for (const [ret, n] of from.failed) into.failed.set(ret, (into.failed.get(ret) ?? 0) + n);
  into.failedTime += from.failedTime;
  into.probeNsInside += from.probeNsInside;
  const vecs = [
    [into.waits, from.waits], [into.holds, from.holds], [into.waitTimes, from.waitTimes], [into.holdTimes, from.holdTimes],
    [into.contendedWaits, from.contendedWaits], [into.contendedWaitTimes, from.contendedWaitTimes],
  ] as const;
  for (const [to, vec] of vecs) {
    if (to && vec) for (const v of vec.values()) to.push(v);
  }
  for (const k of ['heldAtStart', 'heldAtEnd', 'waitingAtEnd', 'cut'] as const) into.open[k] += from.open[k];
}

/** What the join reports about one call: an acquisition, a failed attempt or an open item. */
export type JoinedItem = Pick<Acquisition, 'lock' | 'tid' | 'requestCaller' | 'requestStackId'>;

/** Sorts the join's results into groups: the key of each item (`kind`: its lock's kind), or null to leave it out. */
export interface Grouping {
  keyOf(item: JoinedItem, what: 'acquisition' | 'failed' | OpenItem['kind'], kind: string): number | null;
  sampleTimes?: boolean;
}

/** One pass over the run's events: joins them once and fills every grouping's groups (and feeds any other sinks). */
export function groupJoined(run: RunFile, groupings: Grouping[], sinks: JoinSink[] = []): { groups: Map<number, GroupStats>[]; anomalies: Map<string, number> } {
  const groups = groupings.map(() => new Map<number, GroupStats>());
  const anomalies = new Map<string, number>();
  // called for every acquisition: a loop and the item passed on, no closure made per call
  const each = <T extends JoinedItem>(item: T, what: Parameters<Grouping['keyOf']>[1], kind: string, add: (g: GroupStats, item: T) => void): void => {
    for (let i = 0; i < groupings.length; i++) {
      const key = groupings[i].keyOf(item, what, kind);
      if (key === null) continue;
      let g = groups[i].get(key);
      if (!g) groups[i].set(key, (g = newGroup(key, groupings[i].sampleTimes ?? false)));
      add(g, item);
    }
  };
  run.join([
    {
      acquisition: (a: Acquisition) => each(a, 'acquisition', a.kind, addAcquisition),
      failed: (f: FailedAttempt) => each(f, 'failed', f.kind, addFailed),
      open: (o: OpenItem) => each(o, o.kind, o.lockKind, addOpen),
      anomaly: countAnomalies(anomalies),
    },
    ...sinks,
  ]);
  return { groups, anomalies };
}

/** Per lock (an rwlock's read and write sides apart: analyzer/lockkey.ts) or per thread, optionally of one lock or one thread only. */
export function lockOrThreadGrouping(opts: AnalyzeOptions): Grouping {
  return {
    keyOf: (item, _what, kind) => {
      if (opts.lock !== undefined && item.lock !== opts.lock) return null;
      if (opts.tid !== undefined && item.tid !== opts.tid) return null;
      if (opts.kinds && !opts.kinds.has(kindFamily(kind))) return null;
      return opts.groupBy === 'lock' ? lockRowKey(item.lock, kind) : item.tid;
    },
    sampleTimes: opts.sampleTimes,
  };
}

/** One pass over the run's events: joins them and groups the acquisitions. */
export function analyze(run: RunFile, opts: AnalyzeOptions): Analysis {
  const { groups, anomalies } = groupJoined(run, [lockOrThreadGrouping(opts)]);
  return { groups: groups[0], anomalies };
}

/** Adds an acquisition to its group's counts and samples. */
export function addAcquisition(g: GroupStats, a: Acquisition): void {
  if (g.acquisitions++ === 0) {
    g.kind = a.kind;
  }
  g.sites.add(a.requestCaller, a.requestStackId);
  if (a.contended) {
    g.contended++;
    g.contendedWaitNs += a.wait ?? 0;
    if (a.wait !== null) {
      g.contendedWaits?.push(a.wait);
      g.contendedWaitTimes?.push(a.acquiredTs);
    }
  }
  g.recursiveEntries += a.recursiveEntries;
  if (a.wait === null) g.condReacquisitions++;
  else {
    g.waits.push(a.wait);
    g.waitTimes?.push(a.acquiredTs);
  }
  if (a.hold !== null) {
    g.holds.push(a.hold);
    g.probeNsInside += a.probeNsInside ?? 0;
    g.holdTimes?.push(a.acquiredTs);
  }
}

export function addFailed(g: GroupStats, f: FailedAttempt): void {
  if (g.kind === '') g.kind = f.kind;
  g.failed.set(f.ret, (g.failed.get(f.ret) ?? 0) + 1);
  g.failedTime += f.returnTs - f.requestTs;
}

export function addOpen(g: GroupStats, o: OpenItem): void {
  // A lock seen only at the run's edges (a deadlock's locks) still gets its kind; a contention
  // tracepoint's kind needs its flags, which only its acquisitions carry.
  if (g.kind === '' && !isWaitOnly(o.func)) g.kind = o.lockKind;
  if (o.kind === 'held-at-end') g.open.heldAtEnd++;
  else if (o.kind === 'waiting-at-end') g.open.waitingAtEnd++;
  else if (o.kind === 'held-at-start') g.open.heldAtStart++;
  else g.open.cut++;
}

export function summaries(g: GroupStats): Summaries {
  return { wait: g.waits.summary(), hold: g.holds.summary() };
}
