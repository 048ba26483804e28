import { errnoName, formatAddress } from '../core/events';
import { groupJoined, lockOrThreadGrouping, summaries, type Analysis, type GroupBy, type GroupStats, type Grouping } from './aggregate';
import { foldCallSites, siteGrouping, type SiteAnalysis, type SiteGrouping, type StackSite } from './callsites';
import { LockNameCollector } from './locknames';
import { lockNames, lockWrappers, rowIdentities } from './identity';
import { rowKeyText } from './lockkey';
import { runJson, runWarnings, textPreamble } from './runinfo';
import type { RunFile } from './runfile';
import { SiteNamer } from './sitenames';
import { log2HistogramCounts, renderLog2Histogram } from './stats/histogram';
import type { SampleSummary } from './stats/quantiles';
import { formatCount, formatDuration, formatPercent, renderTable, type ColumnAlignment } from './stats/units';

export const REPORT_SCHEMA = 'mutex-analyze.report/1';

export type SortKey = 'cont-wait' | 'wait' | 'hold' | 'count' | 'contended';
export type Format = 'table' | 'json' | 'csv';
/** One row per lock, thread, request call site, or request stack (with its call site). */
export type ReportBy = GroupBy | SiteGrouping;

export interface ReportOptions {
  by: ReportBy;
  sort: SortKey;
  top: number;
  lock?: number;
  format: Format;
}

/** One row of the report: a lock, a thread, a call site or a stack. Times in ns. */
export interface ReportRow {
  key: string; // lock address (hex), tid, call site address (hex), or stack_id:call site address ('none' for no stack id)
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
  groups: number; // how many locks (threads, call sites, stacks) in all
  rows: ReportRow[]; // the top ones
  lock?: { key: string; waitHistogram: Histogram; holdHistogram: Histogram; threads: ReportRow[]; callsites: ReportRow[] };
}

export function buildReport(run: RunFile, opts: ReportOptions): Report {
  // One pass: the rows' grouping and, with --lock, that lock's threads and call sites with it.
  const by = opts.by;
  const sites = by === 'callsite' || by === 'stack' ? siteGrouping({ lock: opts.lock }) : null;
  const lockSites = opts.lock !== undefined ? siteGrouping({ lock: opts.lock }) : null;
  const groupings: Grouping[] = [sites ?? lockOrThreadGrouping({ groupBy: by === 'thread' ? 'thread' : 'lock', lock: opts.lock })];
  if (lockSites) {
    groupings.push(lockOrThreadGrouping({ groupBy: 'thread', lock: opts.lock }), lockSites, lockOrThreadGrouping({ groupBy: 'lock', lock: opts.lock }));
  }
  // Call-site rows go through lock wrappers, which the lock classes of the whole run tell.
  const classes = by === 'callsite' || lockSites ? new LockNameCollector() : null;
  const { groups, anomalies } = groupJoined(run, groupings, classes ? [classes.sink()] : []);
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
    groups: rows.length,
    rows: rows.slice(0, opts.top),
  };
  if (opts.lock !== undefined) {
    const perThread: Analysis = { groups: groups[1], anomalies };
    const threadLabels = groupLabels(run, perThread, 'thread');
    const perSite = callSites(groups[2], lockSites!.stacks());
    const siteLabels = groupLabels(run, perSite, 'callsite');
    const whole = groups[3].get(opts.lock);
    report.lock = {
      key: formatAddress(opts.lock),
      waitHistogram: histogram(whole ? Array.from(whole.waits.sorted()) : []),
      holdHistogram: histogram(whole ? Array.from(whole.holds.sorted()) : []),
      threads: [...perThread.groups.values()].map((g) => toRow(g, threadLabels(g.key))).sort(comparator(opts.sort)),
      callsites: [...perSite.groups.values()].map((g) => toRow(g, siteLabels(g.key))).sort(comparator('wait')).slice(0, opts.top),
    };
  }
  return report;
}

export type GroupLabels = (key: number) => { key: string; name: string };

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
        return { key: `${stackId ?? 'none'}:${formatAddress(caller)}`, name };
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

export function renderReport(report: Report, format: Format): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'csv') return renderCsv(report);
  return renderText(report);
}

function renderText(r: Report): string {
  const lines = textPreamble(r.warnings, r.run);
  lines.push('wait = lock call entry -> return with the lock; hold = lock return -> unlock entry (README: "What the numbers mean").');
  lines.push('');
  const what = { lock: 'locks', thread: 'threads', callsite: 'call sites', stack: 'stacks' }[r.by];
  const scope = r.lock ? ` of lock ${r.lock.key}` : '';
  lines.push(`Top ${Math.min(r.rows.length, r.groups)} of ${r.groups} ${what}${scope} by ${sortLabel(r.sort)}:`);
  lines.push(...rowsTable(r.rows, r.by));
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
  return `${lines.join('\n')}\n`;
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

function renderCsv(r: Report): string {
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
  ];
  const stat = (s: SampleSummary | null): (number | string)[] =>
    s ? [s.count, s.total, s.mean, s.min, s.p50, s.p90, s.p99, s.p999, s.max] : Array(9).fill('');
  const lines = [header.join(',')];
  for (const row of r.rows) {
    const failed = Object.values(row.failed).reduce((a, b) => a + b, 0);
    lines.push(
      [
        row.key, csvText(row.name), row.kind, row.acquisitions, row.contended, row.contendedPct.toFixed(3), row.contendedWaitNs, row.condReacquisitions, failed,
        row.failedTimeNs, ...stat(row.wait), ...stat(row.hold), row.open.heldAtStart, row.open.heldAtEnd, row.open.waitingAtEnd, row.open.cut,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

function csvText(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
