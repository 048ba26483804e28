import { errnoName, formatAddress } from '../core/events';
import { groupJoined, lockOrThreadGrouping, summaries, type Analysis, type GroupBy, type GroupStats, type Grouping } from './aggregate';
import { foldCallSites, siteGrouping, type SiteAnalysis, type SiteGrouping, type StackSite } from './callsites';
import { LockNameCollector } from './locknames';
import { CondTally, condNames, condRow, type CondRow } from './conds';
import { KIND_FAMILIES, type KindFamily } from '../core/events';
import { lockNames, lockWrappers, rowIdentities } from './identity';
import { rowKeyText } from './lockkey';
import { meaningLine, runJson, runWarnings, textPreamble } from './runinfo';
import type { RunFile } from '../runfile/runfile';
import { SiteNamer } from './sitenames';
import { renderAs, type Csv, type CsvCell, type Format } from './render';
import { log2HistogramCounts, renderLog2Histogram } from './stats/histogram';
import type { SampleSummary } from './stats/quantiles';
import { formatCount, formatDuration, formatPercent, renderTable, type ColumnAlignment } from './stats/units';

export const REPORT_SCHEMA = 'mutex-analyze.report/1';

export type SortKey = 'cont-wait' | 'wait' | 'hold' | 'count' | 'contended';
export type { Format } from './render';
/** One row per lock, thread, request call site, or request stack (with its call site). */
export type ReportBy = GroupBy | SiteGrouping;

export interface ReportOptions {
  by: ReportBy;
  sort: SortKey;
  top: number;
  lock?: number;
  format: Format;
  kinds?: ReadonlySet<KindFamily>; // report --kind: only these (default: all)
}

/** What `report --kind` chooses from: mutexes (pthread and kernel), rwlocks (pthread, and the kernel's rwsems and rwlocks), spin locks, condition variables. */
export { KIND_FAMILIES } from '../core/events';

/** One row of the report: a lock, a thread, a call site or a stack. Times in ns. */
export interface ReportRow {
  key: string; // lock address (hex), tid, call site address (hex), or stack_id:call site address ('none' for no stack id; stack_id+outer caller for a stack with its outer caller)
  name: string; // thread comm, the lock's identity (object+offset, mutex@callsite, or its address), the call site's name, or the stack's frames
  kind: string; // lock rows: pthread_mutex, mutex, spinlock, rwsem:R, ...
  acquisitions: number;
  contended: number;
  contendedPct: number;
  contendedWaitNs: number; // total wait of the contended acquisitions
  condReacquisitions: number;
  recursiveEntries: number;
  failed: Record<string, number>; // by errno name
  failedTimeNs: number;
  wait: SampleSummary | null;
  hold: SampleSummary | null;
  open: GroupStats['open'];
}

interface Histogram {
  unit: 'usecs';
  buckets: { from: number; to: number; count: number }[];
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  run: ReturnType<typeof runJson>;
  warnings: string[];
  by: ReportBy;
  sort: SortKey;
  kinds: KindFamily[]; // the kinds shown
  groups: number; // how many locks (threads, call sites, stacks) in all
  rows: ReportRow[]; // the top ones
  lock?: { key: string; waitHistogram: Histogram; holdHistogram: Histogram; threads: ReportRow[]; callsites: ReportRow[] };
  /** Condition variables (kind pthread_cond): null when not shown (--kind, --stack) or the run predates their recording (schema 5). */
  conds: { groups: number; rows: CondRow[] } | null;
  /** --lock of a cond: its wait histogram, its threads' and call sites' waits. */
  cond?: { key: string; waitHistogram: Histogram; threads: CondRow[]; callsites: CondRow[] };
}

export function buildReport(run: RunFile, opts: ReportOptions): Report {
  // One pass: the rows' grouping and, with --lock, that lock's threads and call sites with it.
  const by = opts.by;
  const kinds = opts.kinds && KIND_FAMILIES.some((k) => !opts.kinds!.has(k)) ? opts.kinds : undefined; // undefined: all
  const sites = by === 'callsite' || by === 'stack' ? siteGrouping({ lock: opts.lock, kinds }) : null;
  const lockSites = opts.lock !== undefined ? siteGrouping({ lock: opts.lock, kinds }) : null;
  const groupings: Grouping[] = [sites ?? lockOrThreadGrouping({ groupBy: by === 'thread' ? 'thread' : 'lock', lock: opts.lock, kinds })];
  if (lockSites) {
    groupings.push(lockOrThreadGrouping({ groupBy: 'thread', lock: opts.lock, kinds }), lockSites, lockOrThreadGrouping({ groupBy: 'lock', lock: opts.lock, kinds }));
  }
  // Condition variables: rows of their own, for every grouping but whole stacks.
  const conds = run.hasCond && (!kinds || kinds.has('cond')) && by !== 'stack' ? new CondTally(by, opts.lock) : null;
  const condDetail = conds && opts.lock !== undefined ? [new CondTally('thread', opts.lock), new CondTally('callsite', opts.lock)] : [];
  // Call-site rows go through lock wrappers, which the lock classes of the whole run tell; a cond's mutexes are named as locks are.
  const classes = by === 'callsite' || lockSites || conds ? new LockNameCollector() : null;
  const sinks = [...(classes ? [classes.sink()] : []), ...(conds ? [conds] : []), ...condDetail];
  const { groups, anomalies } = groupJoined(run, groupings, sinks);
  const namer = new SiteNamer(run);
  const wrappers = classes ? lockWrappers(classes.identities(run).values()) : new Map<string, number>();
  const callSites = (grouped: Map<number, GroupStats>, stacks: Map<number, StackSite>): SiteAnalysis => {
    const folded = foldCallSites(namer, grouped, stacks, wrappers);
    return { groups: folded.groups, anomalies, siteNames: folded.names };
  };
  const main: Analysis | SiteAnalysis =
    by === 'stack' ? { groups: groups[0], anomalies, stacks: sites!.stacks() } : by === 'callsite' ? callSites(groups[0], sites!.stacks()) : { groups: groups[0], anomalies };
  const labels = groupLabels(run, main, opts.by);
  const rows = [...main.groups.values()].map((g) => toRow(g, labels(g.key)));
  rows.sort(comparator(opts.sort));
  const report: Report = {
    schema: REPORT_SCHEMA,
    run: runJson(run),
    warnings: runWarnings(run, anomalies),
    by: opts.by,
    sort: opts.sort,
    kinds: KIND_FAMILIES.filter((k) => !kinds || kinds.has(k)),
    groups: rows.length,
    rows: rows.slice(0, opts.top),
    conds: null,
  };
  if (conds) {
    const mutexNames = classes!.names(run);
    const mutexName = (lock: number) => ({ key: formatAddress(lock), name: mutexNames.get(lock) ?? formatAddress(lock) });
    const label = condLabels(run, conds, namer);
    const condRows = [...conds.groups.values()].map((g) => condRow(g, label(g.key), mutexName)).sort(condComparator(opts.sort));
    report.conds = { groups: condRows.length, rows: condRows.slice(0, opts.top) };
    if (condDetail.length > 0 && conds.groups.size > 0) {
      const [threads, callsites] = condDetail;
      const threadLabel = condLabels(run, threads, namer);
      const siteLabel = condLabels(run, callsites, namer);
      const whole = [...conds.groups.values()].flatMap((g) => Array.from(g.waits.values()));
      report.cond = {
        key: formatAddress(opts.lock!),
        waitHistogram: histogram(whole),
        threads: [...threads.groups.values()].map((g) => condRow(g, threadLabel(g.key), mutexName)).sort(condComparator(opts.sort)),
        callsites: [...callsites.groups.values()].map((g) => condRow(g, siteLabel(g.key), mutexName)).sort(condComparator('wait')).slice(0, opts.top),
      };
    }
  }
  if (opts.lock !== undefined && groups[3].size > 0) {
    const perThread: Analysis = { groups: groups[1], anomalies };
    const threadLabels = groupLabels(run, perThread, 'thread');
    const perSite = callSites(groups[2], lockSites!.stacks());
    const siteLabels = groupLabels(run, perSite, 'callsite');
    // an rwlock's two sides together
    const all = [...groups[3].values()];
    report.lock = {
      key: formatAddress(opts.lock),
      waitHistogram: histogram(all.flatMap((g) => Array.from(g.waits.values()))),
      holdHistogram: histogram(all.flatMap((g) => Array.from(g.holds.values()))),
      threads: [...perThread.groups.values()].map((g) => toRow(g, threadLabels(g.key))).sort(comparator(opts.sort)),
      callsites: [...perSite.groups.values()].map((g) => toRow(g, siteLabels(g.key))).sort(comparator('wait')).slice(0, opts.top),
    };
  }
  return report;
}

export type GroupLabels = (key: number) => { key: string; name: string };

/** The key and name of each cond row: the cond's address and name, the thread, or the call site. */
function condLabels(run: RunFile, tally: CondTally, sites: SiteNamer): GroupLabels {
  switch (tally.by) {
    case 'lock': {
      const names = condNames(run, tally.groups);
      return (key) => ({ key: formatAddress(key), name: names.get(key) ?? formatAddress(key) });
    }
    case 'thread':
      return (key) => ({ key: String(key), name: run.threadNames.get(key) ?? '?' });
    case 'callsite':
      return (key) => ({ key: formatAddress(key), name: sites.site(key) });
  }
}

function condComparator(sort: SortKey): (a: CondRow, b: CondRow) => number {
  // A cond has no hold and no contention of its own: it sorts by its total wait, or its waits.
  const value = (r: CondRow): number => (sort === 'count' || sort === 'contended' ? r.waits : (r.wait?.total ?? 0));
  return (a, b) => value(b) - value(a) || a.key.localeCompare(b.key);
}

/** The key and name shown for each group of an analysis grouped by `by`. */
export function groupLabels(run: RunFile, analysis: Analysis | SiteAnalysis, by: ReportBy): GroupLabels {
  switch (by) {
    case 'lock': {
      const names = lockNames(rowIdentities(new SiteNamer(run), analysis.groups.values()));
      return (key) => {
        const text = rowKeyText(key, analysis.groups.get(key)?.kind ?? '');
        return { key: text, name: names.get(key) ?? text };
      };
    }
    case 'thread':
      return (key) => ({ key: String(key), name: run.threadNames.get(key) ?? '?' });
    case 'callsite': {
      const sites = new SiteNamer(run);
      const through = 'siteNames' in analysis ? analysis.siteNames : undefined;
      return (key) => ({ key: formatAddress(key), name: through?.get(key) ?? sites.site(key) });
    }
    case 'stack': {
      const stacks = 'stacks' in analysis ? analysis.stacks : undefined;
      if (!stacks) throw new Error('stack rows come from a site analysis');
      const sites = new SiteNamer(run);
      return (key) => {
        const { stackId, caller } = stacks.get(key)!;
        const name = stackId === null ? `${sites.site(caller)} (no stack)` : sites.stack(stackId, caller).join(';');
        // a stack with its outer caller (runfile.ts UNWOUND_STACK_BASE) by what it is made of: the recorded stack's id + that caller
        const unwound = stackId === null ? null : run.unwoundStack(stackId);
        const id = unwound ? `${unwound.stackId}+${formatAddress(unwound.outerCaller)}` : (stackId ?? 'none');
        return { key: `${id}:${formatAddress(caller)}`, name };
      };
    }
  }
}

export function toRow(g: GroupStats, label: { key: string; name: string }): ReportRow {
  const s = summaries(g);
  const failed: Record<string, number> = {};
  for (const [ret, n] of g.failed) failed[errnoName(ret)] = n;
  return {
    key: label.key,
    name: label.name,
    kind: g.kind,
    acquisitions: g.acquisitions,
    contended: g.contended,
    contendedPct: g.acquisitions ? (100 * g.contended) / g.acquisitions : 0,
    contendedWaitNs: g.contendedWaitNs,
    condReacquisitions: g.condReacquisitions,
    recursiveEntries: g.recursiveEntries,
    failed,
    failedTimeNs: g.failedTime,
    wait: s.wait,
    hold: s.hold,
    open: g.open,
  };
}

function comparator(sort: SortKey): (a: ReportRow, b: ReportRow) => number {
  const value = (r: ReportRow): number => {
    switch (sort) {
      case 'cont-wait':
        return r.contendedWaitNs;
      case 'wait':
        return r.wait?.total ?? 0;
      case 'hold':
        return r.hold?.total ?? 0;
      case 'count':
        return r.acquisitions;
      case 'contended':
        return r.contended;
    }
  };
  return (a, b) => value(b) - value(a) || a.key.localeCompare(b.key);
}

/** bcc-style log2 buckets of µs values. */
function histogram(valuesNs: number[]): Histogram {
  const counts = log2HistogramCounts(valuesNs.map((v) => v / 1000));
  return {
    unit: 'usecs',
    buckets: counts.map((count, k) => ({ from: k === 0 ? 0 : 2 ** k, to: 2 ** (k + 1) - 1, count })),
  };
}

// ---- rendering ----

const STAT_COLUMNS: [string, (s: SampleSummary) => number][] = [
  ['total', (s) => s.total],
  ['mean', (s) => s.mean],
  ['p50', (s) => s.p50],
  ['p90', (s) => s.p90],
  ['p99', (s) => s.p99],
  ['p99.9', (s) => s.p999],
  ['max', (s) => s.max],
];

export const renderReport = (report: Report, format: Format): string => renderAs(format, report, { text: renderText, csv: csvOf });

function renderText(r: Report): string {
  const lines = textPreamble(r.warnings, r.run, meaningLine(r.run.mode));
  const what = { lock: 'locks', thread: 'threads', callsite: 'call sites', stack: 'stacks' }[r.by];
  const scope = r.lock ? ` of lock ${r.lock.key}` : '';
  const kinds = r.kinds.length < KIND_FAMILIES.length ? ` (--kind ${r.kinds.join(',')})` : '';
  const lockKinds = r.kinds.some((k) => k !== 'cond');
  if (lockKinds && r.groups === 0 && kinds) {
    if (!r.cond) lines.push(`No ${what}${scope}${kinds} in this run.`);
  } else if (lockKinds && !(r.cond && r.groups === 0)) {
    lines.push(`Top ${Math.min(r.rows.length, r.groups)} of ${r.groups} ${what}${scope}${kinds} by ${sortLabel(r.sort)}:`);
    lines.push(...rowsTable(r.rows, r.by));
  }
  const openCount = (o: GroupStats['open']): number => o.heldAtStart + o.heldAtEnd + o.waitingAtEnd + o.cut;
  if (r.rows.some((row) => openCount(row.open) > 0)) {
    lines.push('');
    lines.push('OPEN: acquisitions cut by the recording\'s edges or by lost events, not in the distributions (held at start / held at end / waiting at end / cut):');
    for (const row of r.rows) {
      const o = row.open;
      if (openCount(o) > 0) lines.push(`  ${row.key}: ${o.heldAtStart} / ${o.heldAtEnd} / ${o.waitingAtEnd} / ${o.cut}`);
    }
    const waiting = r.rows.reduce((n, row) => n + row.open.waitingAtEnd, 0);
    if (waiting > 0) lines.push(`${waiting} lock calls had not returned when the recording stopped: \`mutex-analyze lockorder\` shows whether their threads wait for each other (a deadlock).`);
  }
  if (r.lock) {
    lines.push('', `Wait of lock ${r.lock.key}:`, ...histogramLines(r.lock.waitHistogram));
    lines.push('', `Hold of lock ${r.lock.key}:`, ...histogramLines(r.lock.holdHistogram));
    lines.push('', `Threads on lock ${r.lock.key}:`, ...rowsTable(r.lock.threads, 'thread'));
    lines.push('', `Top call sites of lock ${r.lock.key} by total wait:`, ...rowsTable(r.lock.callsites, 'callsite'));
  }
  lines.push(...condLines(r, kinds));
  return `${lines.join('\n')}\n`;
}

/** The condition variables' part of the table output. */
function condLines(r: Report, kinds: string): string[] {
  if (!r.kinds.includes('cond')) return [];
  const lines = [''];
  if (r.by === 'stack') return [...lines, 'Condition variables are not grouped by whole stack: `--by callsite` without --stack shows where they were waited on.'];
  if (!r.conds) return [...lines, 'Condition variables: not recorded in this run (recorded by mutex-rec from run-file schema 5 on).'];
  if (r.conds.groups === 0 && r.lock) return [];
  if (r.conds.groups === 0) return [...lines, 'Condition variables: none waited on or signalled in this run.'];
  const what = { lock: 'condition variables', thread: 'threads waiting on condition variables', callsite: 'call sites of cond waits and signals' }[r.by];
  lines.push(
    `Top ${r.conds.rows.length} of ${r.conds.groups} ${what}${r.cond ? ` of cond ${r.cond.key}` : ''}${kinds} by ${r.sort === 'count' || r.sort === 'contended' ? 'waits' : 'total wait'}:`,
    'cond wait = pthread_cond_*wait entry -> return (its mutex\'s holds exclude it); TIMEOUTS: returned ETIMEDOUT; NO WAITER: signals and broadcasts that found no thread waiting.',
  );
  lines.push(...condTable(r.conds.rows, r.by));
  const waiting = r.conds.rows.filter((c) => c.open.waitingAtEnd > 0);
  if (waiting.length > 0) lines.push(`Still waiting when the recording stopped (not in the distributions): ${waiting.map((c) => `${c.key} ${c.open.waitingAtEnd}`).join(', ')}.`);
  if (r.cond) {
    lines.push('', `Wait on cond ${r.cond.key}:`, ...histogramLines(r.cond.waitHistogram));
    lines.push('', `Threads waiting on cond ${r.cond.key}:`, ...condTable(r.cond.threads, 'thread'));
    lines.push('', `Top call sites of cond ${r.cond.key} by total wait:`, ...condTable(r.cond.callsites, 'callsite'));
  }
  return lines;
}

const COND_LEAD_HEADERS: Record<CondRowsBy, string[]> = {
  lock: ['COND', 'NAME'],
  thread: ['TID', 'COMM'],
  callsite: ['CALLER', 'CALL SITE'],
};
type CondRowsBy = 'lock' | 'thread' | 'callsite';

function condTable(rows: CondRow[], by: ReportBy): string[] {
  const lead = COND_LEAD_HEADERS[by as CondRowsBy];
  const headers = [...lead, 'WAITS', 'TIMEOUTS', 'FAILED', 'SIGNALS', 'BROADCASTS', 'NO WAITER'];
  const align: ColumnAlignment[] = [...lead.map((): ColumnAlignment => 'l'), 'r', 'r', 'r', 'r', 'r', 'r'];
  for (const [name] of STAT_COLUMNS) {
    headers.push(name === 'total' ? 'WAIT:total' : name);
    align.push('r');
  }
  headers.push('MUTEX');
  align.push('l');
  const cells = rows.map((row) => {
    const failed = Object.entries(row.failed).map(([name, n]) => `${n} ${name}`).join(', ');
    const mutex = row.mutexes.length === 0 ? '-' : `${row.mutexes[0].name}${row.mutexCount > 1 ? ` (+${row.mutexCount - 1})` : ''}`;
    return [
      row.key, row.name, formatCount(row.waits), formatCount(row.timeouts), failed || '0', formatCount(row.signals), formatCount(row.broadcasts),
      formatCount(row.wakesWithoutWaiters), ...statCells(row.wait), mutex,
    ];
  });
  return renderTable(headers, cells, align);
}

function sortLabel(sort: SortKey): string {
  return { 'cont-wait': 'contended wait', wait: 'total wait', hold: 'total hold', count: 'acquisitions', contended: 'contended acquisitions' }[sort];
}

function histogramLines(h: Histogram): string[] {
  if (h.buckets.length === 0) return ['  (no samples)'];
  return renderLog2Histogram(
    h.buckets.map((b) => b.count),
    h.unit,
  );
}

const LEAD_HEADERS: Record<ReportBy, string[]> = {
  lock: ['LOCK', 'NAME', 'KIND'],
  thread: ['TID', 'COMM'],
  callsite: ['CALLER', 'CALL SITE'],
  stack: ['STACK:CALLER', 'FRAMES (innermost first)'],
};

function rowsTable(rows: ReportRow[], by: ReportBy): string[] {
  const headers = [...LEAD_HEADERS[by], 'ACQ', 'CONT', 'CONT%', 'CONT WAIT', 'FAILED'];
  const align: ColumnAlignment[] = [...LEAD_HEADERS[by].map((): ColumnAlignment => 'l'), 'r', 'r', 'r', 'r', 'r'];
  for (const kind of ['WAIT', 'HOLD']) {
    for (const [name] of STAT_COLUMNS) {
      headers.push(name === 'total' ? `${kind}:total` : name);
      align.push('r');
    }
  }
  const cells = rows.map((row) => {
    const failed = Object.entries(row.failed)
      .map(([name, n]) => `${n} ${name}`)
      .join(', ');
    const lead = by === 'lock' ? [row.key, row.name, row.kind] : [row.key, row.name];
    return [
      ...lead,
      formatCount(row.acquisitions),
      formatCount(row.contended),
      formatPercent(row.contendedPct),
      formatDuration(row.contendedWaitNs),
      failed || '0',
      ...statCells(row.wait),
      ...statCells(row.hold),
    ];
  });
  return renderTable(headers, cells, align);
}

function statCells(s: SampleSummary | null): string[] {
  return STAT_COLUMNS.map(([, get]) => (s ? formatDuration(get(s)) : '-'));
}

function csvOf(r: Report): Csv {
  const header = [
    { lock: 'lock', thread: 'tid', callsite: 'caller', stack: 'stack_caller' }[r.by],
    'name',
    'kind',
    'acquisitions',
    'contended',
    'contended_pct',
    'contended_wait_ns',
    'cond_reacquisitions',
    'failed',
    'failed_time_ns',
    ...['wait', 'hold'].flatMap((k) => ['count', 'total', 'mean', 'min', 'p50', 'p90', 'p99', 'p999', 'max'].map((s) => `${k}_${s}_ns`.replace('_count_ns', '_count'))),
    'open_held_at_start',
    'open_held_at_end',
    'open_waiting_at_end',
    'open_cut',
    // condition variables (kind pthread_cond): their waits are wait_*; a lock row leaves these empty
    'timeouts',
    'signals',
    'broadcasts',
    'wakes_without_waiters',
    'top_mutex',
    'mutexes',
  ];
  const stat = (s: SampleSummary | null): CsvCell[] => (s ? [s.count, s.total, s.mean, s.min, s.p50, s.p90, s.p99, s.p999, s.max] : Array<CsvCell>(9).fill(''));
  const sum = (failed: Record<string, number>): number => Object.values(failed).reduce((a, b) => a + b, 0);
  const rows: CsvCell[][] = r.rows.map((row) => [
    row.key, row.name, row.kind, row.acquisitions, row.contended, row.contendedPct.toFixed(3), row.contendedWaitNs, row.condReacquisitions,
    sum(row.failed), row.failedTimeNs, ...stat(row.wait), ...stat(row.hold),
    row.open.heldAtStart, row.open.heldAtEnd, row.open.waitingAtEnd, row.open.cut, '', '', '', '', '', '',
  ]);
  for (const c of r.conds?.rows ?? []) {
    rows.push([
      c.key, c.name, c.kind, '', '', '', '', '', sum(c.failed), '', ...stat(c.wait), ...stat(null), '', '', c.open.waitingAtEnd, '',
      c.timeouts, c.signals, c.broadcasts, c.wakesWithoutWaiters, c.mutexes[0]?.lock ?? '', c.mutexCount,
    ]);
  }
  return { header, rows };
}
