import { formatAddress } from '../../core/events';
import { groupJoined, lockOrThreadGrouping, type GroupStats } from '../aggregate';
import { BlockerTally, blockersReport, type BlockersReport } from '../blockers';
import { buildDiff, digestRun, type Diff, type VerdictOptions } from '../diff';
import { identityLabels, lockWrappers, rowIdentities, type LockIdentity } from '../identity';
import { rowLock, rwMode } from '../lockkey';
import { callSiteOf } from '../callsites';
import { LockGraphBuilder } from '../lockgraph';
import { lockOrderReport, type LockOrderReport } from '../lockorder';
import { groupLabels, toRow, type ReportRow } from '../report';
import type { RunFile } from '../../runfile/runfile';
import { runJson, runWarnings } from '../runinfo';
import { SiteNamer } from '../sitenames';
import { BUCKETS_PER_DECADE, emptyShare, LockDetailSink, type LockDetail, type Share } from './lockdetail';
import { TimelineSink, type TimelineData } from './timeline';

export const HTML_SCHEMA = 'mutex-analyze.html/1';

/** How much of each part the page carries: enough to act on, small whatever the run's size. */
const LIMITS = { tableLocks: 200, detailLocks: 20, breakdownRows: 10, stacks: 5, blockerPairs: 30, cycles: 20, graphEdges: 150, diffDistributions: 12 };

export interface ShareRow extends Share {
  key: string;
  name: string;
}

export interface LockDetailData {
  waitHistogram: number[];
  holdHistogram: number[];
  threads: ShareRow[];
  callsites: ShareRow[];
  stacks: (Share & { frames: string[] })[];
}

export interface Distributions {
  wait: number[];
  hold: number[];
}

export interface PageData {
  schema: typeof HTML_SCHEMA;
  run: ReturnType<typeof runJson>;
  warnings: string[];
  bucketsPerDecade: number; // histogram bucket k holds [10^(k/B), 10^((k+1)/B)) ns
  lockCount: number;
  locks: ReportRow[]; // by contended wait, then total wait
  details: Record<string, LockDetailData>; // by lock key (address), for the first locks
  timeline: TimelineData;
  blockers: BlockersReport;
  lockorder: LockOrderReport;
  graph: { edges: { from: string; to: string; count: number; inCycle: boolean }[]; edgeCount: number };
  diff: { diff: Diff; newRuns: string[]; distributions: { lock: string; base: Distributions; new: Distributions }[] } | null;
}

/** Everything the page shows of one run, in one pass of the join. */
export function buildPage(run: RunFile, opts: { vs?: RunFile[]; verdict: VerdictOptions }): PageData {
  const detail = new LockDetailSink();
  const timeline = new TimelineSink(run.durationNs());
  const blockers = new BlockerTally();
  const graph = new LockGraphBuilder();
  const { groups, anomalies } = groupJoined(run, [lockOrThreadGrouping({ groupBy: 'lock' })], [detail, timeline, blockers, graph]);
  const locks = groups[0];
  const labels = groupLabels(run, { groups: locks, anomalies }, 'lock');
  // by address, for the views of whole locks (blockers, lock order): an rwlock's sides are one lock there
  const names = new Map([...locks.keys()].map((key) => [rowLock(key), labels(key).name.replace(/:[RW]$/, '')]));
  const rows = [...locks.values()]
    .map((g) => toRow(g, labels(g.key)))
    .sort((a, b) => b.contendedWaitNs - a.contendedWaitNs || (b.wait?.total ?? 0) - (a.wait?.total ?? 0) || a.key.localeCompare(b.key));
  const byKey = new Map([...locks.keys()].map((key) => [labels(key).key, rowLock(key)]));
  const sites = new SiteNamer(run);
  const wrappers = lockWrappers(rowIdentities(sites, locks.values()).values());
  const details: Record<string, LockDetailData> = {};
  for (const row of rows.slice(0, LIMITS.detailLocks)) {
    const d = detail.locks.get(byKey.get(row.key)!);
    if (d) details[row.key] = lockDetail(run, sites, d, wrappers);
  }
  const lockorder = lockOrderReport(
    run,
    { edges: graph.edges, nestedAcquisitions: graph.nestedAcquisitions, waitingCalls: graph.waitingCalls, lockNames: names, anomalies },
    { maxCycles: LIMITS.cycles },
  );
  return {
    schema: HTML_SCHEMA,
    run: runJson(run),
    warnings: runWarnings(run, anomalies),
    bucketsPerDecade: BUCKETS_PER_DECADE,
    lockCount: rows.length,
    locks: rows.slice(0, LIMITS.tableLocks),
    details,
    timeline: timeline.result(run.threadNames),
    blockers: blockersReport(run, blockers, { names, anomalies, top: LIMITS.blockerPairs }),
    lockorder,
    graph: graphEdges(graph, names, lockorder),
    diff: opts.vs ? diffView(run, detail, locks, opts.vs, opts.verdict) : null,
  };
}

/** A lock's shares by call site, through lock wrappers as `report --by callsite` counts them (analyzer/callsites.ts). */
function callSites(sites: SiteNamer, d: LockDetail, wrappers: Map<string, number>): Map<number, Share> {
  const out = new Map<number, Share>();
  for (const [stackId, byCaller] of d.stacks) {
    for (const [caller, share] of byCaller) {
      const { at } = callSiteOf(sites, wrappers, stackId, caller);
      let s = out.get(at);
      if (!s) out.set(at, (s = emptyShare()));
      for (const k of ['acquisitions', 'contended', 'waitNs', 'contendedWaitNs', 'holdNs'] as const) s[k] += share[k];
    }
  }
  return out;
}

function lockDetail(run: RunFile, sites: SiteNamer, d: LockDetail, wrappers: Map<string, number>): LockDetailData {
  const names = new Map<number, string>();
  for (const [stackId, byCaller] of d.stacks) {
    for (const caller of byCaller.keys()) {
      const { at, name } = callSiteOf(sites, wrappers, stackId, caller);
      names.set(at, name);
    }
  }
  const top = <K>(shares: Map<K, Share>, name: (key: K) => { key: string; name: string }): ShareRow[] =>
    [...shares]
      .sort((x, y) => y[1].waitNs - x[1].waitNs || y[1].holdNs - x[1].holdNs)
      .slice(0, LIMITS.breakdownRows)
      .map(([key, share]) => ({ ...name(key), ...share }));
  return {
    waitHistogram: d.waitHistogram,
    holdHistogram: d.holdHistogram,
    threads: top(d.threads, (tid) => ({ key: String(tid), name: run.threadNames.get(tid) ?? '?' })),
    callsites: top(callSites(sites, d, wrappers), (at) => ({ key: formatAddress(at), name: names.get(at) ?? sites.site(at) })),
    stacks: [...d.stacks].flatMap(([stackId, byCaller]) => [...byCaller].map(([caller, share]) => ({ stackId, caller, ...share })))
      .sort((x, y) => y.waitNs - x.waitNs || y.holdNs - x.holdNs)
      .slice(0, LIMITS.stacks)
      .map(({ stackId, caller, ...share }) => ({ ...share, frames: stackId === null ? [`${sites.site(caller)} (no stack)`] : sites.stack(stackId, caller) })),
  };
}

/** The lock-order graph's heaviest edges, and every edge of a listed cycle. */
function graphEdges(graph: LockGraphBuilder, names: Map<number, string>, lockorder: LockOrderReport): PageData['graph'] {
  const inCycle = new Set(lockorder.cycles.flatMap((c) => c.edges.map((e) => `${e.from.lock}>${e.to.lock}`)));
  const all = [...graph.edges.values()].flatMap((byTo) => [...byTo.values()]);
  const edges = all
    .map((e) => ({ from: formatAddress(e.from), to: formatAddress(e.to), count: e.count, inCycle: inCycle.has(`${formatAddress(e.from)}>${formatAddress(e.to)}`) }))
    .sort((a, b) => Number(b.inCycle) - Number(a.inCycle) || b.count - a.count)
    .slice(0, LIMITS.graphEdges)
    .map((e) => ({ ...e, from: names.get(byAddress(e.from)) ?? e.from, to: names.get(byAddress(e.to)) ?? e.to }));
  return { edges, edgeCount: all.length };
}

function byAddress(hex: string): number {
  return Number(BigInt.asIntN(64, BigInt(hex)));
}

/**
 * `diff` of this run (base) against the --vs runs (new), and the wait and hold distributions of the
 * locks that cost the most, side by side: each side's locks pooled by identity as diff pools them.
 */
function diffView(run: RunFile, detail: LockDetailSink, locks: Map<number, GroupStats>, vs: RunFile[], verdict: VerdictOptions): PageData['diff'] {
  const diff = buildDiff([digestRun(run)], vs.map(digestRun), verdict);
  const baseSide = [byIdentity(run, locks, detail)];
  const newSide = vs.map((other) => {
    const otherDetail = new LockDetailSink();
    const { groups } = groupJoined(other, [lockOrThreadGrouping({ groupBy: 'lock' })], [otherDetail]);
    return byIdentity(other, groups[0], otherDetail);
  });
  const labels = identityLabels([...baseSide, ...newSide].flatMap((side) => [...side.values()].map((d) => d.identity)));
  const pooled = (sides: Map<string, { identity: LockIdentity; dist: Distributions }>[]): Map<string, Distributions> => {
    const out = new Map<string, Distributions>();
    for (const side of sides) for (const [key, { dist }] of side) out.set(labels.get(key)!, sum(out.get(labels.get(key)!), dist));
    return out;
  };
  const base = pooled(baseSide);
  const after = pooled(newSide);
  const distributions = diff.rows
    .filter((r) => r.status === 'matched' && r.lock !== 'overall' && base.has(r.lock) && after.has(r.lock))
    .sort((a, b) => (b.metrics.contendedWaitPerSecond.base ?? 0) + (b.metrics.contendedWaitPerSecond.new ?? 0) - (a.metrics.contendedWaitPerSecond.base ?? 0) - (a.metrics.contendedWaitPerSecond.new ?? 0))
    .slice(0, LIMITS.diffDistributions)
    .map((r) => ({ lock: r.lock, base: base.get(r.lock)!, new: after.get(r.lock)! }));
  return { diff, newRuns: vs.map((r) => r.meta.path), distributions };
}

function byIdentity(run: RunFile, locks: Map<number, GroupStats>, detail: LockDetailSink): Map<string, { identity: LockIdentity; dist: Distributions }> {
  const identities = rowIdentities(new SiteNamer(run), locks.values());
  const out = new Map<string, { identity: LockIdentity; dist: Distributions }>();
  for (const [key, identity] of identities) {
    // The page keeps a lock's distributions whole: an rwlock's two sides have none of their own.
    const d = rwMode(locks.get(key)!.kind) ? undefined : detail.locks.get(key);
    if (!d) continue;
    const mine = { wait: d.waitHistogram, hold: d.holdHistogram };
    const entry = out.get(identity.key);
    out.set(identity.key, { identity, dist: sum(entry?.dist, mine) });
  }
  return out;
}

function sum(a: Distributions | undefined, b: Distributions): Distributions {
  if (!a) return { wait: [...b.wait], hold: [...b.hold] };
  return { wait: a.wait.map((n, i) => n + b.wait[i]), hold: a.hold.map((n, i) => n + b.hold[i]) };
}
