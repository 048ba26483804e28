import { identityLabels, type LockIdentity } from '../identity';
import { quantile } from '../stats/quantiles';
import { JUDGED_METRICS, METRICS, WINDOWS, type JudgedMetric, type LockDigest, type Metric, type RunDigest } from './digest';
import { chooseUnit, judge, smallestTwoSidedP, type Comparison, type Correction, type Unit, type Verdict, type VerdictOptions } from './verdict';

export const DIFF_SCHEMA = 'mutex-analyze.diff/2';

/** A lock matters for the exit code when it has at least this share of either side's total wait or hold. */
export const MATTERS_SHARE = 0.01;

export interface MetricChange {
  base: number | null;
  new: number | null;
  changePct: number | null; // (new - base) / base in %; null when either is missing, or base is 0 and new is not
  test: { unit: Unit; nBase: number; nNew: number; pValue: number; pAdjusted: number } | null;
  /** null: not judged (a descriptive metric, a lock seen on one side only); '?': judged but not testable. */
  verdict: Verdict | null;
}

export type RowStatus = 'matched' | 'new' | 'gone';

export interface DiffRow {
  lock: string; // 'overall' (all locks together), or the lock's identity as shown (identityLabels)
  match: 'overall' | LockIdentity['strength'];
  status: RowStatus; // new: only in the new runs; gone: only in the base runs
  runs: { base: number; new: number }; // runs in which the lock was seen
  acquisitions: { base: number; new: number }; // summed over those runs
  /** The overall row, or a lock with at least 1 % of either side's total wait or hold: its '?' decides the exit code. */
  matters: boolean;
  metrics: Record<Metric, MetricChange>;
  verdict: Verdict | null; // regressed if a judged metric regressed, else improved, else ? if one could not be tested; null unless matched
}

/** The smallest change of a judged time the probes resolve: the spread of the runs' calibrated costs. */
export interface Resolution {
  waitNs: number;
  holdNs: number;
}

export interface Diff {
  schema: typeof DIFF_SCHEMA;
  base: { runs: RunDigest['run'][] };
  new: { runs: RunDigest['run'][] };
  warnings: string[];
  method: {
    unit: Unit;
    test: 'mann-whitney-u';
    correction: Correction;
    alpha: number;
    thresholdPct: number;
    resolution: Resolution | null; // null: no probe cost subtracted (raw, or no calibration)
    judged: readonly JudgedMetric[];
    tests: number; // comparisons made (and corrected for)
    smallestPerRunP: number; // what a test of one value per run could reach at best, uncorrected
    windows: typeof WINDOWS;
  };
  /** The judged metrics that could not be tested, and the smallest sample among them. */
  untested: { metrics: number; rows: number; fewest: { acquisitions: number; spanNs: number } | null };
  summary: { regressed: number; improved: number; unchanged: number; untested: number; inconclusive: number; new: number; gone: number };
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
  const resolution = probeResolution([...baseRuns, ...newRuns]);
  const totals = { base: sideTotals(baseRuns), new: sideTotals(newRuns) };

  const rows = sides.map((side) => describe(side, totals));
  // what a p50 must move by to be told from the probes' cost (cont wait/s: any change beyond the threshold counts)
  const floors = new Map(rows.map((row, i) => [row, { holdP50: metricResolution('holdP50', resolution, sides[i]), waitP50: metricResolution('waitP50', resolution, sides[i]), contendedWaitPerSecond: 0 }]));
  const pending: { change: MetricChange; comparison: Comparison }[] = [];
  const untested: LockDigest[][] = [];
  sides.forEach((side, i) => {
    if (rows[i].status !== 'matched') return;
    for (const metric of JUDGED_METRICS) {
      const change = rows[i].metrics[metric];
      if (change.base === null && change.new === null) continue;
      const base = unit === 'runs' ? runValues(side.base, metric) : side.base.flatMap((d) => d.windows[metric]);
      const after = unit === 'runs' ? runValues(side.new, metric) : side.new.flatMap((d) => d.windows[metric]);
      const needed = unit === 'runs' ? 1 : WINDOWS.min;
      if (base.length < needed || after.length < needed) {
        change.verdict = '?';
        untested.push([...side.base, ...side.new]);
        continue;
      }
      change.verdict = '~';
      const comparison: Comparison = { base, new: after, changePct: judgedChange(change), absoluteChange: change.new! - change.base!, resolution: metricResolution(metric, resolution, side) };
      pending.push({ change, comparison });
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
      resolution,
      judged: JUDGED_METRICS,
      tests: pending.length,
      smallestPerRunP: smallestTwoSidedP(baseRuns.length, newRuns.length),
      windows: WINDOWS,
    },
    untested: { metrics: untested.length, rows: count((r) => JUDGED_METRICS.some((m) => r.metrics[m].verdict === '?')), fewest: fewest(untested.flat()) },
    summary: {
      regressed: count((r) => r.verdict === 'regressed'),
      improved: count((r) => r.verdict === 'improved'),
      unchanged: count((r) => r.verdict === '~'),
      untested: count((r) => r.verdict === '?'),
      inconclusive: count((r) => inconclusive(r, opts, floors.get(r)!)),
      new: count((r) => r.status === 'new'),
      gone: count((r) => r.status === 'gone'),
    },
    rows: sortRows(rows),
  };
}

/**
 * What `--fail-on-regression` exits with: 1 when something regressed; 3 when nothing did but a row
 * that matters changed beyond the threshold in a metric that could not be tested; 0 otherwise.
 */
export function failExitCode(diff: Diff): 0 | 1 | 3 {
  if (diff.summary.regressed > 0) return 1;
  return diff.summary.inconclusive > 0 ? 3 : 0;
}

/** A row that matters with an untested metric that moved beyond the threshold and the probes' resolution. */
function inconclusive(row: DiffRow, opts: VerdictOptions, floors: Record<JudgedMetric, number>): boolean {
  if (!row.matters || row.status !== 'matched') return false;
  return JUDGED_METRICS.some((metric) => {
    const c = row.metrics[metric];
    if (c.verdict !== '?') return false;
    if (c.base === null || c.new === null) return true;
    return Math.abs(judgedChange(c)!) > opts.thresholdPct && Math.abs(c.new - c.base) > floors[metric];
  });
}

/** The change a verdict weighs: a rise from 0 is an infinite one. */
function judgedChange(c: MetricChange): number | null {
  if (c.changePct !== null) return c.changePct;
  if (c.base === 0 && c.new !== null && c.new > 0) return Infinity;
  return null;
}

/**
 * The calibrated cost's run-to-run variation: the median cost of two recordings of one workload
 * differed by up to 10 % here (bench/README.md, "diff: false alarms").
 */
export const COST_VARIATION = 0.1;

/**
 * What a net p50 must move by to be told from the probes' own cost: the wider of the runs'
 * calibrations (the lowest first quartile to the highest third quartile of the recorded cost of a
 * lock call, and of a hold) and 10 % of the cost, what it varies by from run to run.
 */
function probeResolution(runs: RunDigest[]): Resolution | null {
  const costs = runs.filter((r) => r.run.probeCost.subtracted && r.run.probeCost.measured).map((r) => r.run.probeCost.measured!);
  if (costs.length === 0) return null;
  const resolution = (iqr: (c: (typeof costs)[number]) => [number, number], cost: (c: (typeof costs)[number]) => number): number =>
    Math.max(Math.max(...costs.map((c) => iqr(c)[1])) - Math.min(...costs.map((c) => iqr(c)[0])), COST_VARIATION * Math.max(...costs.map(cost)));
  return { waitNs: resolution((c) => c.waitIqrNs, (c) => c.waitNs), holdNs: resolution((c) => c.holdIqrNs, (c) => c.holdNs) };
}

/**
 * cont wait/s moves by the wait's resolution once per contended acquisition: at the busier side's
 * rate of them. A hold's by its own probes' and by COST_VARIATION of what its holder's calls inside
 * it were corrected by (an outer lock held across inner ones: several calls' probes subtracted).
 */
function metricResolution(metric: JudgedMetric, resolution: Resolution | null, side: SideDigests): number {
  if (!resolution) return 0;
  if (metric === 'holdP50') return resolution.holdNs + COST_VARIATION * Math.max(0, ...[...side.base, ...side.new].map((d) => d.probeNsInsidePerHold));
  if (metric === 'waitP50') return resolution.waitNs;
  const rates = [...side.base, ...side.new].map((d) => (d.spanNs > 0 ? d.contended / (d.spanNs / 1e9) : 0));
  return resolution.waitNs * Math.max(0, ...rates);
}

function fewest(digests: LockDigest[]): Diff['untested']['fewest'] {
  if (digests.length === 0) return null;
  const least = digests.reduce((a, b) => (b.acquisitions < a.acquisitions ? b : a));
  return { acquisitions: least.acquisitions, spanNs: least.spanNs };
}

interface SideTotals {
  waitNs: number;
  holdNs: number;
}

function sideTotals(runs: RunDigest[]): SideTotals {
  return { waitNs: runs.reduce((n, r) => n + r.overall.waitTotalNs, 0), holdNs: runs.reduce((n, r) => n + r.overall.holdTotalNs, 0) };
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
function describe(side: SideDigests, totals: { base: SideTotals; new: SideTotals }): DiffRow {
  const metrics = {} as Record<Metric, MetricChange>;
  for (const metric of METRICS) {
    const base = median(runValues(side.base, metric));
    const after = median(runValues(side.new, metric));
    metrics[metric] = { base, new: after, changePct: changePct(base, after), test: null, verdict: null };
  }
  const status: RowStatus = side.base.length === 0 ? 'new' : side.new.length === 0 ? 'gone' : 'matched';
  const acquisitions = (digests: LockDigest[]): number => digests.reduce((n, d) => n + d.acquisitions, 0);
  const share = (digests: LockDigest[], t: SideTotals): number => {
    const wait = digests.reduce((n, d) => n + d.waitTotalNs, 0);
    const hold = digests.reduce((n, d) => n + d.holdTotalNs, 0);
    return Math.max(t.waitNs > 0 ? wait / t.waitNs : 0, t.holdNs > 0 ? hold / t.holdNs : 0);
  };
  return {
    lock: side.lock,
    match: side.match,
    status,
    runs: { base: side.base.length, new: side.new.length },
    acquisitions: { base: acquisitions(side.base), new: acquisitions(side.new) },
    matters: side.match === 'overall' || share(side.base, totals.base) >= MATTERS_SHARE || share(side.new, totals.new) >= MATTERS_SHARE,
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

export function changePct(base: number | null, after: number | null): number | null {
  if (base === null || after === null) return null;
  if (base === 0) return after === 0 ? 0 : null;
  return (100 * (after - base)) / base;
}

function rowVerdict(row: DiffRow): Verdict {
  const verdicts = JUDGED_METRICS.map((m) => row.metrics[m].verdict);
  for (const v of ['regressed', 'improved', '?'] as const) if (verdicts.includes(v)) return v;
  return '~';
}

/** Overall, then matched locks, new ones and gone ones, each by the time lost to contention (either side), then by all waits. */
function sortRows(rows: DiffRow[]): DiffRow[] {
  const rank: Record<RowStatus, number> = { matched: 0, new: 1, gone: 2 };
  const cost = (r: DiffRow): number =>
    Math.max(r.metrics.contendedWaitPerSecond.base ?? 0, r.metrics.contendedWaitPerSecond.new ?? 0) + 1e-9 * Math.max(r.metrics.waitPerSecond.base ?? 0, r.metrics.waitPerSecond.new ?? 0);
  const [overall, ...locks] = rows;
  return [overall, ...locks.sort((a, b) => rank[a.status] - rank[b.status] || cost(b) - cost(a) || a.lock.localeCompare(b.lock))];
}
