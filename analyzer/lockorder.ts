import { formatAddress } from '../core/events';
import { elementaryCycles } from './cycles';
import { buildLockGraph, type LockGraph, type LockOrderEdge } from './lockgraph';
import type { RunFile } from '../runfile/runfile';
import { runJson, runWarnings, textPreamble } from './runinfo';
import { SiteNamer } from './sitenames';
import { formatCount } from './stats/units';

export const LOCKORDER_SCHEMA = 'mutex-analyze.lockorder/1';

/** How many of an edge's most frequent threads are listed. */
const TOP_THREADS = 5;

export interface LockRef {
  lock: string; // address (hex)
  name: string;
}

export interface EdgeSite {
  heldAt: string; // where the thread had acquired the held lock (its lock call's return address, named)
  heldAtAddress: string;
  acquiredAt: string; // where it then acquired the other one
  acquiredAtAddress: string;
  count: number;
}

export interface CycleEdge {
  from: LockRef; // held
  to: LockRef; // acquired while holding `from`
  count: number;
  waiting: number; // of count: calls still waiting for `to` when the recording stopped
  sites: EdgeSite[]; // most frequent first
  threads: { tid: number; comm: string; count: number }[]; // the most frequent first
  threadCount: number; // distinct threads in all
}

export interface LockOrderReport {
  schema: typeof LOCKORDER_SCHEMA;
  run: ReturnType<typeof runJson>;
  warnings: string[];
  locks: number; // locks with an edge
  edges: number;
  nestedAcquisitions: number;
  waitingCalls: number; // lock calls still waiting at the end while their thread held another lock
  maxCycles: number;
  capped: boolean; // more cycles may exist than are listed
  // deadlocked: every edge has a call still waiting at the end: each thread waited for the next lock
  // while holding the previous one when the recording stopped
  cycles: { locks: LockRef[]; edges: CycleEdge[]; deadlocked: boolean }[]; // shortest first; edges[i] goes locks[i] -> locks[i+1], the last back to locks[0]
}

export function buildLockOrder(run: RunFile, opts: { maxCycles: number }): LockOrderReport {
  return lockOrderReport(run, buildLockGraph(run), opts);
}

/** The cycles of a lock graph, with their edges' call sites and threads. */
export function lockOrderReport(run: RunFile, graph: LockGraph, opts: { maxCycles: number }): LockOrderReport {
  const successors = new Map([...graph.edges].map(([from, byTo]) => [from, [...byTo.keys()].sort((a, b) => a - b)]));
  const { cycles, capped } = elementaryCycles(successors, opts.maxCycles);
  cycles.sort((a, b) => a.length - b.length);
  const sites = new SiteNamer(run);
  const ref = (lock: number): LockRef => ({ lock: formatAddress(lock), name: graph.lockNames.get(lock) ?? formatAddress(lock) });
  const edgeReport = (e: LockOrderEdge): CycleEdge => ({
    from: ref(e.from),
    to: ref(e.to),
    count: e.count,
    waiting: e.waiting,
    sites: [...e.sites]
      .flatMap(([heldAt, byAcquiredAt]) =>
        [...byAcquiredAt].map(([acquiredAt, count]) => ({
          heldAt: sites.site(heldAt),
          heldAtAddress: formatAddress(heldAt),
          acquiredAt: sites.site(acquiredAt),
          acquiredAtAddress: formatAddress(acquiredAt),
          count,
        })),
      )
      .sort((a, b) => b.count - a.count),
    threads: [...e.threads]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, TOP_THREADS)
      .map(([tid, count]) => ({ tid, comm: run.threadNames.get(tid) ?? '?', count })),
    threadCount: e.threads.size,
  });
  const locks = new Set<number>();
  let edges = 0;
  for (const [from, byTo] of graph.edges) {
    locks.add(from);
    for (const to of byTo.keys()) locks.add(to);
    edges += byTo.size;
  }
  return {
    schema: LOCKORDER_SCHEMA,
    run: runJson(run),
    warnings: runWarnings(run, graph.anomalies),
    locks: locks.size,
    edges,
    nestedAcquisitions: graph.nestedAcquisitions,
    waitingCalls: graph.waitingCalls,
    maxCycles: opts.maxCycles,
    capped,
    cycles: cycles.map((cycle) => {
      const edges = cycle.map((from, i) => edgeReport(graph.edges.get(from)!.get(cycle[(i + 1) % cycle.length])!));
      return { locks: cycle.map(ref), edges, deadlocked: edges.every((e) => e.waiting > 0) };
    }),
  };
}

// ---- rendering ----

export function renderLockOrder(r: LockOrderReport, format: 'text' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  const lines = textPreamble(r.warnings, r.run);
  lines.push(
    `lock-order graph: ${formatCount(r.locks)} locks, ${formatCount(r.edges)} edges (held -> acquired) from ${formatCount(r.nestedAcquisitions)} ` +
      `acquisitions made while holding another lock${r.waitingCalls > 0 ? ` and ${formatCount(r.waitingCalls)} lock calls still waiting at the end` : ''} (README: "lockorder").`,
  );
  if (r.cycles.length === 0 && r.run.mode === 'contention') {
    lines.push('no lock-order cycles: contention mode records no holds, so no lock order (record in full mode to check it).');
    return `${lines.join('\n')}\n`;
  }
  if (r.cycles.length === 0) {
    lines.push('no lock-order cycles: the threads always took these locks in one order.');
    return `${lines.join('\n')}\n`;
  }
  const count = r.capped ? `the first ${r.cycles.length} (--max-cycles)` : `${r.cycles.length}`;
  lines.push(`${count} lock-order cycle${r.cycles.length === 1 ? '' : 's'}: potential deadlocks, if threads take these locks at the same time, each in its order.`);
  r.cycles.forEach((cycle, i) => {
    lines.push('', `cycle ${i + 1}: ${[...cycle.locks, cycle.locks[0]].map((l) => l.name).join(' -> ')}`);
    if (cycle.deadlocked) lines.push('  DEADLOCKED when the recording stopped: each thread below was waiting for the next lock, holding the previous one.');
    for (const e of cycle.edges) {
      lines.push(`  ${e.from.name} (${e.from.lock}) -> ${e.to.name} (${e.to.lock}): ${times(e.count)}, by ${threadList(e)}`);
      const took = e.waiting > 0 ? 'acquired or asked for' : 'acquired';
      for (const s of e.sites) lines.push(`    held since ${s.heldAt}, then ${took} at ${s.acquiredAt}: ${times(s.count)}`);
      if (e.waiting > 0) lines.push(`    ${formatCount(e.waiting)} of them still waiting for ${e.to.name} when the recording stopped`);
    }
  });
  return `${lines.join('\n')}\n`;
}

function times(n: number): string {
  return `${formatCount(n)} time${n === 1 ? '' : 's'}`;
}

function threadList(e: CycleEdge): string {
  const listed = e.threads.map((t) => `tid ${t.tid} (${t.comm})${e.threadCount > 1 ? ` ×${t.count}` : ''}`).join(', ');
  return e.threadCount > e.threads.length ? `${listed} and ${e.threadCount - e.threads.length} more threads` : listed;
}
