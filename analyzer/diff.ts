import { analyze, type GroupStats } from './aggregate';
import { identityLabels, isLockClass, rowIdentities, type LockIdentity } from './identity';
import type { Format } from './report';
import { runHeader, runJson, runWarnings } from './runinfo';
import type { RunFile } from './runfile';
import { SiteNamer } from './sitenames';
import { mannWhitneyU } from './stats/mannwhitney';
import { benjaminiHochbergAdjust, holmAdjust } from './stats/multiple';
import { quantile } from './stats/quantiles';
import { formatChange, formatCount, formatDuration, formatPercent, renderTable, type ColumnAlignment } from './stats/units';

export const DIFF_SCHEMA = 'mutex-analyze.diff/1';

/** Compared per lock and overall. Times in ns; waitPerSecond in ns of wait per second of the run's span. */
export const METRICS = ['waitP50', 'waitP99', 'holdP50', 'holdP99', 'waitPerSecond', 'contendedPct'] as const;
export type Metric = (typeof METRICS)[number];

/**
 * The metrics that get a verdict: the typical hold, the typical wait and the time lost waiting.
 * The p99s and contended % are shown with their change but not judged: a window of a few dozen
 * acquisitions has no meaningful p99, and contention is a cause whose cost the waits measure.
 */
export const JUDGED_METRICS = ['holdP50', 'waitP50', 'waitPerSecond'] as const;
type JudgedMetric = (typeof JUDGED_METRICS)[number];

const METRIC_LABELS: Record<Metric, string> = {
  waitP50: 'wait p50',
  waitP99: 'wait p99',
  holdP50: 'hold p50',
  holdP99: 'hold p99',
  waitPerSecond: 'wait/s',
  contendedPct: 'contended %',
};

// Per-window batch means: a run's span is cut into K equal time windows, K = min(MAX_WINDOWS,
// ⌊n / SAMPLES_PER_WINDOW⌋) for n samples of the metric; a run with K < MIN_WINDOWS gives none, and
// a side needs MIN_WINDOWS window values in all for a test.
const MAX_WINDOWS = 30;
const SAMPLES_PER_WINDOW = 20;
const MIN_WINDOWS = 10;
/** A window's median needs this many samples; a rate counts every window (one without waits waited 0 ns/s). */
const MIN_WINDOW_SAMPLES = 10;

// ---- one run, reduced to what diff compares ----

/** One lock (or all locks together) in one run. */
export interface LockDigest {
  acquisitions: number;
  values: Record<Metric, number | null>; // over the whole run; null without samples
  windows: Record<JudgedMetric, number[]>; // the metric per time window
}

export interface RunDigest {
  run: ReturnType<typeof runJson>;
  warnings: string[];
  overall: LockDigest;
  locks: Map<string, { identity: LockIdentity; digest: LockDigest }>; // by identity key; the instances of a lock class pooled
}

/** A group's samples and the time each was acquired, in parallel arrays. */
interface TimedSamples {
  waits: Float64Array;
  waitTimes: Float64Array;
  holds: Float64Array;
  holdTimes: Float64Array;
}

/**
 * One pass over the run; keeps per lock only its values and window values, never its samples.
 * The heap mutexes of one lock class are one digest: their samples pooled, their counts summed
 * (which instance was first used first changes from run to run; the class does not).
 */
export function digestRun(run: RunFile): RunDigest {
  const { groups, anomalies } = analyze(run, { groupBy: 'lock', sampleTimes: true });
  const locks = [...groups.values()];
  const identities = rowIdentities(new SiteNamer(run), locks);
  const samples = locks.map(timedSamples);
  const all = concatenated(samples);
  const spanNs = lastTime(all);
  const members = new Map<string, { identity: LockIdentity; locks: GroupStats[]; samples: TimedSamples[] }>();
  locks.forEach((g, i) => {
    const id = identities.get(g.key)!;
    const identity = isLockClass(id) ? id : uniqueIn(members, id);
    let m = members.get(identity.key);
    if (!m) members.set(identity.key, (m = { identity, locks: [], samples: [] }));
    m.locks.push(g);
    m.samples.push(samples[i]);
  });
  const digests = new Map<string, { identity: LockIdentity; digest: LockDigest }>();
  for (const [key, m] of members) digests.set(key, { identity: m.identity, digest: digest(concatenated(m.samples), sum(m.locks, 'acquisitions'), sum(m.locks, 'contended'), spanNs) });
  return { run: runJson(run), warnings: runWarnings(run, anomalies), overall: digest(all, sum(locks, 'acquisitions'), sum(locks, 'contended'), spanNs), locks: digests };
}

function sum(locks: GroupStats[], count: 'acquisitions' | 'contended'): number {
  return locks.reduce((n, g) => n + g[count], 0);
}

/** Two locks of a run may share a name (statics called `lock` in two objects): numbered in first-seen order. */
function uniqueIn(taken: Map<string, unknown>, identity: LockIdentity): LockIdentity {
  let key = identity.key;
  let name = identity.name;
  for (let n = 2; taken.has(key); n++) {
    key = `${identity.key}#${n}`;
    name = `${identity.name}#${n}`;
  }
  return { ...identity, key, name };
}

function timedSamples(g: GroupStats): TimedSamples {
  if (!g.waitTimes || !g.holdTimes) throw new Error('analyze() was not asked for sample times');
  return { waits: g.waits.values(), waitTimes: g.waitTimes.values(), holds: g.holds.values(), holdTimes: g.holdTimes.values() };
}

function concatenated(parts: TimedSamples[]): TimedSamples {
  const join = (pick: (s: TimedSamples) => Float64Array): Float64Array => {
    const out = new Float64Array(parts.reduce((n, s) => n + pick(s).length, 0));
    let at = 0;
    for (const s of parts) {
      out.set(pick(s), at);
      at += pick(s).length;
    }
    return out;
  };
  return { waits: join((s) => s.waits), waitTimes: join((s) => s.waitTimes), holds: join((s) => s.holds), holdTimes: join((s) => s.holdTimes) };
}

/**
 * The run's span ends at its last acquisition, not at the end of recording: that comes later by
 * the time the recorder takes to detach its probes, when a launched target has already exited, and
 * would make a short run look quieter per second than a long one.
 */
function lastTime(s: TimedSamples): number {
  let last = 0;
  for (const t of s.waitTimes) last = Math.max(last, t);
  for (const t of s.holdTimes) last = Math.max(last, t);
  return last;
}

function digest(s: TimedSamples, acquisitions: number, contended: number, spanNs: number): LockDigest {
  const waits = s.waits.slice().sort();
  const holds = s.holds.slice().sort();
  let waitTotal = 0;
  for (const w of s.waits) waitTotal += w;
  return {
    acquisitions,
    values: {
      waitP50: percentile(waits, 0.5),
      waitP99: percentile(waits, 0.99),
      holdP50: percentile(holds, 0.5),
      holdP99: percentile(holds, 0.99),
      waitPerSecond: waits.length > 0 && spanNs > 0 ? waitTotal / (spanNs / 1e9) : null,
      contendedPct: acquisitions > 0 ? (100 * contended) / acquisitions : null,
    },
    windows: {
      holdP50: windowMedians(s.holds, s.holdTimes, spanNs),
      waitP50: windowMedians(s.waits, s.waitTimes, spanNs),
      waitPerSecond: windowRates(s.waits, s.waitTimes, spanNs),
    },
  };
}

function percentile(sorted: Float64Array, q: number): number | null {
  return sorted.length > 0 ? quantile(sorted, q) : null;
}

function windowCount(samples: number, spanNs: number): number {
  const k = Math.min(MAX_WINDOWS, Math.floor(samples / SAMPLES_PER_WINDOW));
  return k >= MIN_WINDOWS && spanNs > 0 ? k : 0;
}

/** The window of each sample: K equal slices of [0, span], the span's end in the last one. */
function windowIndexes(times: Float64Array, k: number, spanNs: number): Int32Array {
  const index = new Int32Array(times.length);
  for (let i = 0; i < times.length; i++) index[i] = Math.min(k - 1, Math.max(0, Math.floor((times[i] / spanNs) * k)));
  return index;
}

function windowMedians(values: Float64Array, times: Float64Array, spanNs: number): number[] {
  const k = windowCount(values.length, spanNs);
  if (k === 0) return [];
  const index = windowIndexes(times, k, spanNs);
  // Counting sort of the values by window, then each window's slice sorted on its own.
  const starts = new Int32Array(k + 1);
  for (const w of index) starts[w + 1]++;
  for (let w = 0; w < k; w++) starts[w + 1] += starts[w];
  const next = starts.slice(0, k);
  const byWindow = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) byWindow[next[index[i]]++] = values[i];
  const medians: number[] = [];
  for (let w = 0; w < k; w++) {
    if (starts[w + 1] - starts[w] >= MIN_WINDOW_SAMPLES) medians.push(quantile(byWindow.subarray(starts[w], starts[w + 1]).sort(), 0.5));
  }
  return medians;
}

function windowRates(values: Float64Array, times: Float64Array, spanNs: number): number[] {
  const k = windowCount(values.length, spanNs);
  if (k === 0) return [];
  const index = windowIndexes(times, k, spanNs);
  const totals = new Array<number>(k).fill(0);
  for (let i = 0; i < values.length; i++) totals[index[i]] += values[i];
  const windowSeconds = spanNs / k / 1e9;
  return totals.map((total) => total / windowSeconds);
}

// ---- verdicts ----

export type Correction = 'holm' | 'bh' | 'none';
export type Verdict = 'regressed' | 'improved' | '~';
/** What one sample value stands for: a whole run, or one time window of a run. */
export type Unit = 'runs' | 'windows';

export interface VerdictOptions {
  alpha: number;
  thresholdPct: number; // a change smaller than this (in %) is never a regression or improvement
  correction: Correction;
}

/** Two samples of one metric (one value per run, or per window) and the change shown for it. */
export interface Comparison {
  base: ArrayLike<number>;
  new: ArrayLike<number>;
  changePct: number | null;
}

export interface Judgement {
  pValue: number; // two-sided Mann–Whitney U
  pAdjusted: number; // corrected for the number of comparisons
  verdict: Verdict;
}

/**
 * Tests each comparison with a two-sided Mann–Whitney U, corrects the p-values for how many were
 * made, and calls one regressed (improved) when its corrected p is below alpha, its change is
 * above +threshold (below -threshold) and the test agrees on the direction. Higher is worse for
 * every judged metric.
 */
export function judge(comparisons: readonly Comparison[], opts: VerdictOptions): Judgement[] {
  const tests = comparisons.map((c) => mannWhitneyU(c.new, c.base));
  const adjusted = adjustPValues(
    tests.map((t) => t.pValueTwoSided),
    opts.correction,
  );
  return comparisons.map((c, i) => {
    const direction = Math.sign(tests[i].u1 - tests[i].u2); // +1: the new values tend to be higher
    let verdict: Verdict = '~';
    if (c.changePct !== null && adjusted[i] < opts.alpha) {
      if (c.changePct > opts.thresholdPct && direction > 0) verdict = 'regressed';
      else if (c.changePct < -opts.thresholdPct && direction < 0) verdict = 'improved';
    }
    return { pValue: tests[i].pValueTwoSided, pAdjusted: adjusted[i], verdict };
  });
}

function adjustPValues(pValues: number[], correction: Correction): number[] {
  switch (correction) {
    case 'holm':
      return holmAdjust(pValues);
    case 'bh':
      return benjaminiHochbergAdjust(pValues);
    case 'none':
      return pValues;
  }
}

/** The smallest two-sided p an exact Mann–Whitney test of n1 vs n2 values can give: 2 / C(n1 + n2, n1). */
export function smallestTwoSidedP(n1: number, n2: number): number {
  let combinations = 1;
  for (let i = 1; i <= n1; i++) combinations = (combinations * (n2 + i)) / i;
  return Math.min(1, 2 / combinations);
}

/**
 * Runs are the unit when the runs could show a difference: when even a total separation of the
 * two sides' runs (the smallest p there is) would stay below alpha after correcting for `tests`
 * comparisons. Otherwise (one run per side, 3 vs 3, ...) the unit is a time window of a run.
 */
export function chooseUnit(baseRuns: number, newRuns: number, tests: number, opts: VerdictOptions): Unit {
  const family = opts.correction === 'none' ? 1 : Math.max(1, tests);
  return smallestTwoSidedP(baseRuns, newRuns) * family < opts.alpha ? 'runs' : 'windows';
}

// ---- the comparison ----

export interface MetricChange {
  base: number | null;
  new: number | null;
  changePct: number | null; // (new - base) / base in %; null when either is missing, or base is 0 and new is not
  test: { unit: Unit; nBase: number; nNew: number; pValue: number; pAdjusted: number } | null;
  verdict: Verdict | null; // null: not judged (a descriptive metric, or a lock seen on one side only)
}

export type RowStatus = 'matched' | 'new' | 'gone';

export interface DiffRow {
  lock: string; // 'overall' (all locks together), or the lock's identity as shown (identityLabels)
  match: 'overall' | LockIdentity['strength'];
  status: RowStatus; // new: only in the new runs; gone: only in the base runs
  runs: { base: number; new: number }; // runs in which the lock was seen
  acquisitions: { base: number; new: number }; // summed over those runs
  metrics: Record<Metric, MetricChange>;
  verdict: Verdict | null; // regressed if a judged metric regressed, else improved if one improved; null unless matched
}

export interface Diff {
  schema: typeof DIFF_SCHEMA;
  base: { runs: ReturnType<typeof runJson>[] };
  new: { runs: ReturnType<typeof runJson>[] };
  warnings: string[];
  method: {
    unit: Unit;
    test: 'mann-whitney-u';
    correction: Correction;
    alpha: number;
    thresholdPct: number;
    judged: readonly JudgedMetric[];
    tests: number; // comparisons made (and corrected for)
    smallestPerRunP: number; // what a test of one value per run could reach at best, uncorrected
    windows: { max: number; samplesPerWindow: number; min: number; minSamples: number };
  };
  summary: { regressed: number; improved: number; unchanged: number; new: number; gone: number };
  rows: DiffRow[];
}

/** One lock (or overall) as seen by each side: its digest in each run that has it. */
interface SideDigests {
  lock: string;
  match: DiffRow['match'];
  base: LockDigest[];
  new: LockDigest[];
}

export function buildDiff(baseRuns: RunDigest[], newRuns: RunDigest[], opts: VerdictOptions): Diff {
  const sides = lockSides(baseRuns, newRuns);
  const matched = sides.filter((s) => s.base.length > 0 && s.new.length > 0);
  const unit = chooseUnit(baseRuns.length, newRuns.length, matched.length * JUDGED_METRICS.length, opts);

  const rows = sides.map(describe);
  const pending: { change: MetricChange; comparison: Comparison }[] = [];
  sides.forEach((side, i) => {
    if (rows[i].status !== 'matched') return;
    for (const metric of JUDGED_METRICS) {
      const change = rows[i].metrics[metric];
      change.verdict = '~';
      const base = unit === 'runs' ? runValues(side.base, metric) : side.base.flatMap((d) => d.windows[metric]);
      const after = unit === 'runs' ? runValues(side.new, metric) : side.new.flatMap((d) => d.windows[metric]);
      const needed = unit === 'runs' ? 1 : MIN_WINDOWS;
      if (base.length >= needed && after.length >= needed) pending.push({ change, comparison: { base, new: after, changePct: change.changePct } });
    }
  });
  judge(
    pending.map((p) => p.comparison),
    opts,
  ).forEach((j, i) => {
    const { change, comparison } = pending[i];
    change.test = { unit, nBase: comparison.base.length, nNew: comparison.new.length, pValue: j.pValue, pAdjusted: j.pAdjusted };
    change.verdict = j.verdict;
  });
  for (const row of rows) if (row.status === 'matched') row.verdict = rowVerdict(row);

  const byAddress = rows.filter((r) => r.match === 'address').length;
  const warnings = [...baseRuns, ...newRuns].flatMap((d) => d.warnings.map((w) => `${d.run.path}: ${w}`));
  if (byAddress > 0) {
    warnings.push(`${byAddress} locks were matched by address only (no object or call site known): weak, as ASLR moves heap and library addresses between runs`);
  }
  const count = (test: (r: DiffRow) => boolean): number => rows.filter(test).length;
  return {
    schema: DIFF_SCHEMA,
    base: { runs: baseRuns.map((d) => d.run) },
    new: { runs: newRuns.map((d) => d.run) },
    warnings,
    method: {
      unit,
      test: 'mann-whitney-u',
      correction: opts.correction,
      alpha: opts.alpha,
      thresholdPct: opts.thresholdPct,
      judged: JUDGED_METRICS,
      tests: pending.length,
      smallestPerRunP: smallestTwoSidedP(baseRuns.length, newRuns.length),
      windows: { max: MAX_WINDOWS, samplesPerWindow: SAMPLES_PER_WINDOW, min: MIN_WINDOWS, minSamples: MIN_WINDOW_SAMPLES },
    },
    summary: {
      regressed: count((r) => r.verdict === 'regressed'),
      improved: count((r) => r.verdict === 'improved'),
      unchanged: count((r) => r.verdict === '~'),
      new: count((r) => r.status === 'new'),
      gone: count((r) => r.status === 'gone'),
    },
    rows: sortRows(rows),
  };
}

/** Overall first, then every lock identity seen on either side, named as identityLabels names it over all the runs. */
function lockSides(baseRuns: RunDigest[], newRuns: RunDigest[]): SideDigests[] {
  const labels = identityLabels([...baseRuns, ...newRuns].flatMap((run) => [...run.locks.values()].map((l) => l.identity)));
  const sides = new Map<string, SideDigests>();
  const add = (runs: RunDigest[], side: 'base' | 'new'): void => {
    for (const run of runs) {
      for (const [key, { identity, digest: d }] of run.locks) {
        let s = sides.get(key);
        if (!s) sides.set(key, (s = { lock: labels.get(key)!, match: identity.strength, base: [], new: [] }));
        s[side].push(d);
      }
    }
  };
  add(baseRuns, 'base');
  add(newRuns, 'new');
  const overall: SideDigests = { lock: 'overall', match: 'overall', base: baseRuns.map((r) => r.overall), new: newRuns.map((r) => r.overall) };
  return [overall, ...sides.values()];
}

/** The row's values and changes, before any test. Several runs on a side: the median of their values. */
function describe(side: SideDigests): DiffRow {
  const metrics = {} as Record<Metric, MetricChange>;
  for (const metric of METRICS) {
    const base = median(runValues(side.base, metric));
    const after = median(runValues(side.new, metric));
    metrics[metric] = { base, new: after, changePct: changePct(base, after), test: null, verdict: null };
  }
  const status: RowStatus = side.base.length === 0 ? 'new' : side.new.length === 0 ? 'gone' : 'matched';
  const acquisitions = (digests: LockDigest[]): number => digests.reduce((n, d) => n + d.acquisitions, 0);
  return {
    lock: side.lock,
    match: side.match,
    status,
    runs: { base: side.base.length, new: side.new.length },
    acquisitions: { base: acquisitions(side.base), new: acquisitions(side.new) },
    metrics,
    verdict: null,
  };
}

function runValues(digests: LockDigest[], metric: Metric): number[] {
  return digests.map((d) => d.values[metric]).filter((v): v is number => v !== null);
}

function median(values: number[]): number | null {
  return values.length > 0 ? quantile(Float64Array.from(values).sort(), 0.5) : null;
}

function changePct(base: number | null, after: number | null): number | null {
  if (base === null || after === null) return null;
  if (base === 0) return after === 0 ? 0 : null;
  return (100 * (after - base)) / base;
}

function rowVerdict(row: DiffRow): Verdict {
  const verdicts = JUDGED_METRICS.map((m) => row.metrics[m].verdict);
  if (verdicts.includes('regressed')) return 'regressed';
  if (verdicts.includes('improved')) return 'improved';
  return '~';
}

/** Overall, then matched locks, new ones and gone ones, each by the time lost waiting (either side). */
function sortRows(rows: DiffRow[]): DiffRow[] {
  const rank: Record<RowStatus, number> = { matched: 0, new: 1, gone: 2 };
  const cost = (r: DiffRow): number => Math.max(r.metrics.waitPerSecond.base ?? 0, r.metrics.waitPerSecond.new ?? 0);
  const [overall, ...locks] = rows;
  return [overall, ...locks.sort((a, b) => rank[a.status] - rank[b.status] || cost(b) - cost(a) || a.lock.localeCompare(b.lock))];
}

// ---- rendering ----

export function renderDiff(diff: Diff, format: Format): string {
  if (format === 'json') return `${JSON.stringify(diff, null, 2)}\n`;
  if (format === 'csv') return renderCsv(diff);
  return renderText(diff);
}

const COLUMNS: [Metric, string][] = [
  ['waitP50', 'WAIT p50'],
  ['waitP99', 'WAIT p99'],
  ['holdP50', 'HOLD p50'],
  ['holdP99', 'HOLD p99'],
  ['waitPerSecond', 'WAIT/s'],
  ['contendedPct', 'CONT%'],
];

function renderText(d: Diff): string {
  const lines: string[] = [];
  for (const w of d.warnings) lines.push(`WARNING: ${w}`);
  for (const r of d.base.runs) lines.push(...runHeader(r).map((l) => `base ${l}`));
  for (const r of d.new.runs) lines.push(...runHeader(r).map((l) => `new  ${l}`));
  lines.push(...methodLines(d), '');
  const headers = ['LOCK', 'SIDE', 'RUNS', 'ACQ', ...COLUMNS.map(([, h]) => h), 'VERDICT'];
  const align: ColumnAlignment[] = ['l', 'l', 'r', 'r', ...COLUMNS.map((): ColumnAlignment => 'r'), 'l'];
  const cells: string[][] = [];
  for (const row of d.rows) {
    if (cells.length > 0) cells.push(headers.map(() => ''));
    const name = row.match === 'address' ? `${row.lock} (by address)` : row.lock;
    if (row.status !== 'matched') {
      const side = row.status === 'new' ? 'new' : 'base';
      const acquisitions = row.status === 'new' ? row.acquisitions.new : row.acquisitions.base;
      cells.push([name, `${side} only`, String(row.runs[side]), formatCount(acquisitions), ...COLUMNS.map(([m]) => formatValue(m, row.metrics[m][side])), row.status]);
      continue;
    }
    cells.push([name, 'base', String(row.runs.base), formatCount(row.acquisitions.base), ...COLUMNS.map(([m]) => formatValue(m, row.metrics[m].base)), '']);
    cells.push(['', 'new', String(row.runs.new), formatCount(row.acquisitions.new), ...COLUMNS.map(([m]) => formatValue(m, row.metrics[m].new)), '']);
    const acquisitionChange = formatChange(changePct(row.acquisitions.base, row.acquisitions.new) ?? NaN);
    cells.push(['', 'change', '', acquisitionChange, ...COLUMNS.map(([m]) => changeCell(row.metrics[m])), verdictText(row)]);
  }
  lines.push(...renderTable(headers, cells, align));
  return `${lines.join('\n')}\n`;
}

function methodLines(d: Diff): string[] {
  const m = d.method;
  const correction = { holm: 'Holm-corrected', bh: 'Benjamini–Hochberg-corrected', none: 'uncorrected' }[m.correction];
  const sizes = `${d.base.runs.length} vs ${d.new.runs.length} runs`;
  const unit = m.unit === 'runs' ? `one value per run (${sizes})` : `per-window values (each run cut into up to ${m.windows.max} equal time windows)`;
  const lines = [
    `verdicts: two-sided Mann–Whitney U on ${unit}, ${correction} over ${m.tests} tests; regressed/improved = corrected p < ${m.alpha} and a change beyond ±${m.thresholdPct}%.`,
    `judged: ${m.judged.map((k) => METRIC_LABELS[k]).join(', ')} (the p shown is corrected). wait/s = total wait per second of each run, from its start to its last acquisition, so runs of different lengths compare.`,
  ];
  if (d.base.runs.length > 1 || d.new.runs.length > 1) lines.push("several runs on a side: each value is the median of the runs' values.");
  if (m.unit === 'windows') {
    const why =
      d.base.runs.length === 1 && d.new.runs.length === 1
        ? 'there is one run per side'
        : `${sizes} are too few (one value per run gives p >= ${formatP(m.smallestPerRunP)}, too weak once corrected)`;
    lines.push(`windows, not runs: ${why}. Windows of one run share its conditions, so these verdicts cannot see how much runs vary (README: "Comparing runs: diff").`);
  }
  return lines;
}

function formatValue(metric: Metric, value: number | null): string {
  if (value === null) return '-';
  if (metric === 'contendedPct') return formatPercent(value);
  if (metric === 'waitPerSecond') return `${formatDuration(value)}/s`;
  return formatDuration(value);
}

function changeCell(c: MetricChange): string {
  const change = formatChange(c.changePct ?? NaN);
  return c.test ? `${change} p${c.test.pAdjusted < 0.001 ? '<0.001' : `=${formatP(c.test.pAdjusted)}`}` : change;
}

function formatP(p: number): string {
  return String(Number(p.toPrecision(2)));
}

/** The row's verdict and the metrics behind it, e.g. "regressed: hold p50; improved: wait/s". */
function verdictText(row: DiffRow): string {
  const parts = (['regressed', 'improved'] as const)
    .map((verdict) => ({ verdict, metrics: JUDGED_METRICS.filter((m) => row.metrics[m].verdict === verdict).map((m) => METRIC_LABELS[m]) }))
    .filter((p) => p.metrics.length > 0)
    .map((p) => `${p.verdict}: ${p.metrics.join(', ')}`);
  return parts.length > 0 ? parts.join('; ') : (row.verdict ?? '');
}

function renderCsv(d: Diff): string {
  const header = [
    'lock', 'match', 'status', 'runs_base', 'runs_new', 'acquisitions_base', 'acquisitions_new', 'metric', 'base', 'new', 'change_pct',
    'unit', 'n_base', 'n_new', 'p_value', 'p_adjusted', 'verdict', 'row_verdict',
  ];
  const lines = [header.join(',')];
  const cell = (v: number | string | null | undefined): string => (v === null || v === undefined ? '' : String(v));
  for (const row of d.rows) {
    for (const metric of METRICS) {
      const c = row.metrics[metric];
      lines.push(
        [
          csvText(row.lock), row.match, row.status, row.runs.base, row.runs.new, row.acquisitions.base, row.acquisitions.new, metric,
          cell(c.base), cell(c.new), cell(c.changePct), cell(c.test?.unit), cell(c.test?.nBase), cell(c.test?.nNew), cell(c.test?.pValue),
          cell(c.test?.pAdjusted), cell(c.verdict), cell(row.verdict),
        ].join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function csvText(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
