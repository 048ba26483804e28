import { errnoName, formatAddress } from '../core/events';
import { analyze, summaries, type GroupBy, type GroupStats } from './aggregate';
import { AddressNamer, lockIdentities } from './identity';
import { runHeader, runWarnings, runJson } from './runinfo';
import type { RunFile } from './runfile';
import { log2HistogramCounts, renderLog2Histogram } from './stats/histogram';
import type { SampleSummary } from './stats/quantiles';
import { formatCount, formatDuration, formatPercent, renderTable, type ColumnAlignment } from './stats/units';

export const REPORT_SCHEMA = 'mutex-analyze.report/1';

export type SortKey = 'wait' | 'hold' | 'count' | 'contended';
export type Format = 'table' | 'json' | 'csv';

export interface ReportOptions {
  by: GroupBy;
  sort: SortKey;
  top: number;
  lock?: number;
  format: Format;
}

/** One row of the report: a lock, or a thread. Times in ns. */
export interface ReportRow {
  key: string; // lock address (hex) or tid
  name: string; // thread comm, or the lock's identity (object+offset, mutex@callsite, or its address)
  kind: string; // lock rows: pthread_mutex, mutex, spinlock, rwsem:R, ...
  acquisitions: number;
  contended: number;
  contendedPct: number;
  condReacquisitions: number;
  recursiveEntries: number;
  failed: Record<string, number>; // by errno name
  failedTimeNs: number;
  wait: SampleSummary | null;
  hold: SampleSummary | null;
  open: { heldAtEnd: number; waitingAtEnd: number; releasedBeforeStart: number };
}

interface Histogram {
  unit: 'usecs';
  buckets: { from: number; to: number; count: number }[];
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  run: ReturnType<typeof runJson>;
  warnings: string[];
  by: GroupBy;
  sort: SortKey;
  groups: number; // how many locks (or threads) in all
  rows: ReportRow[]; // the top ones
  lock?: { key: string; waitHistogram: Histogram; holdHistogram: Histogram; threads: ReportRow[] };
}

export function buildReport(run: RunFile, opts: ReportOptions): Report {
  const main = analyze(run, { groupBy: opts.by, lock: opts.lock });
  const names = lockNames(run, main.groups, opts.by);
  const rows = [...main.groups.values()].map((g) => toRow(g, opts.by, run, names));
  rows.sort(comparator(opts.sort));
  const report: Report = {
    schema: REPORT_SCHEMA,
    run: runJson(run),
    warnings: runWarnings(run, main.anomalies),
    by: opts.by,
    sort: opts.sort,
    groups: rows.length,
    rows: rows.slice(0, opts.top),
  };
  if (opts.lock !== undefined) {
    const lockGroup = opts.by === 'lock' ? main.groups.get(opts.lock) : undefined;
    const perThread = analyze(run, { groupBy: 'thread', lock: opts.lock });
    const whole = lockGroup ?? analyze(run, { groupBy: 'lock', lock: opts.lock }).groups.get(opts.lock);
    report.lock = {
      key: formatAddress(opts.lock),
      waitHistogram: histogram(whole ? Array.from(whole.waits.sorted()) : []),
      holdHistogram: histogram(whole ? Array.from(whole.holds.sorted()) : []),
      threads: [...perThread.groups.values()].map((g) => toRow(g, 'thread', run, names)).sort(comparator(opts.sort)),
    };
  }
  return report;
}

function lockNames(run: RunFile, groups: Map<number, GroupStats>, by: GroupBy): Map<number, string> {
  if (by !== 'lock') return new Map();
  const ids = lockIdentities(new AddressNamer(run), [...groups.values()].map((g) => ({ lock: g.key, firstCaller: g.firstCaller })));
  return new Map([...ids].map(([lock, id]) => [lock, id.id]));
}

function toRow(g: GroupStats, by: GroupBy, run: RunFile, lockNames: Map<number, string>): ReportRow {
  const s = summaries(g);
  const failed: Record<string, number> = {};
  for (const [ret, n] of g.failed) failed[errnoName(ret)] = n;
  return {
    key: by === 'lock' ? formatAddress(g.key) : String(g.key),
    name: by === 'lock' ? (lockNames.get(g.key) ?? formatAddress(g.key)) : (run.threadNames.get(g.key) ?? '?'),
    kind: g.kind,
    acquisitions: g.acquisitions,
    contended: g.contended,
    contendedPct: g.acquisitions ? (100 * g.contended) / g.acquisitions : 0,
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
  const lines: string[] = [];
  for (const w of r.warnings) lines.push(`WARNING: ${w}`);
  lines.push(...runHeader(r.run));
  lines.push('wait = lock call entry -> return with the lock; hold = lock return -> unlock entry (README: "What the numbers mean").');
  lines.push('');
  const what = r.by === 'lock' ? 'locks' : 'threads';
  const scope = r.lock ? ` of lock ${r.lock.key}` : '';
  lines.push(`Top ${Math.min(r.rows.length, r.groups)} of ${r.groups} ${what}${scope} by ${sortLabel(r.sort)}:`);
  lines.push(...rowsTable(r.rows, r.by));
  const open = r.rows.reduce((n, row) => n + row.open.heldAtEnd + row.open.waitingAtEnd + row.open.releasedBeforeStart, 0);
  if (open > 0) {
    lines.push('');
    lines.push('OPEN: acquisitions cut by the recording\'s edges, not in the distributions (held at end / waiting at end / released before an acquire was seen):');
    for (const row of r.rows) {
      const o = row.open;
      if (o.heldAtEnd + o.waitingAtEnd + o.releasedBeforeStart > 0) lines.push(`  ${row.key}: ${o.heldAtEnd} / ${o.waitingAtEnd} / ${o.releasedBeforeStart}`);
    }
  }
  if (r.lock) {
    lines.push('', `Wait of lock ${r.lock.key}:`, ...histogramLines(r.lock.waitHistogram));
    lines.push('', `Hold of lock ${r.lock.key}:`, ...histogramLines(r.lock.holdHistogram));
    lines.push('', `Threads on lock ${r.lock.key}:`, ...rowsTable(r.lock.threads, 'thread'));
  }
  return `${lines.join('\n')}\n`;
}

function sortLabel(sort: SortKey): string {
  return { wait: 'total wait', hold: 'total hold', count: 'acquisitions', contended: 'contended acquisitions' }[sort];
}

function histogramLines(h: Histogram): string[] {
  if (h.buckets.length === 0) return ['  (no samples)'];
  return renderLog2Histogram(
    h.buckets.map((b) => b.count),
    h.unit,
  );
}

function rowsTable(rows: ReportRow[], by: GroupBy): string[] {
  const headers = by === 'lock' ? ['LOCK', 'NAME', 'KIND', 'ACQ', 'CONT', 'CONT%', 'FAILED'] : ['TID', 'COMM', 'ACQ', 'CONT', 'CONT%', 'FAILED'];
  const align: ColumnAlignment[] = by === 'lock' ? ['l', 'l', 'l', 'r', 'r', 'r', 'r'] : ['l', 'l', 'r', 'r', 'r', 'r'];
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
    r.by === 'lock' ? 'lock' : 'tid',
    'name',
    'kind',
    'acquisitions',
    'contended',
    'contended_pct',
    'cond_reacquisitions',
    'failed',
    'failed_time_ns',
    ...['wait', 'hold'].flatMap((k) => ['count', 'total', 'mean', 'min', 'p50', 'p90', 'p99', 'p999', 'max'].map((s) => `${k}_${s}_ns`.replace('_count_ns', '_count'))),
    'open_held_at_end',
    'open_waiting_at_end',
    'open_released_before_start',
  ];
  const stat = (s: SampleSummary | null): (number | string)[] =>
    s ? [s.count, s.total, s.mean, s.min, s.p50, s.p90, s.p99, s.p999, s.max] : Array(9).fill('');
  const lines = [header.join(',')];
  for (const row of r.rows) {
    const failed = Object.values(row.failed).reduce((a, b) => a + b, 0);
    lines.push(
      [
        row.key, csvText(row.name), row.kind, row.acquisitions, row.contended, row.contendedPct.toFixed(3), row.condReacquisitions, failed,
        row.failedTimeNs, ...stat(row.wait), ...stat(row.hold), row.open.heldAtEnd, row.open.waitingAtEnd, row.open.releasedBeforeStart,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

function csvText(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
