import { renderAs, type Csv, type Format } from '../render';
import { runHeader } from '../runinfo';
import { formatChange, formatCount, formatDuration, formatPercent, renderTable, type ColumnAlignment } from '../stats/units';
import { changePct, type Diff, type DiffRow, type MetricChange } from './compare';
import { JUDGED_METRICS, METRICS, type Metric } from './digest';

const METRIC_LABELS: Record<Metric, string> = {
  waitP50: 'wait p50',
  waitP99: 'wait p99',
  holdP50: 'hold p50',
  holdP99: 'hold p99',
  waitPerSecond: 'wait/s',
  contendedWaitPerSecond: 'cont wait/s',
  contendedPct: 'contended %',
};

export function renderDiff(diff: Diff, format: Format): string {
  return renderAs(format, diff, { text: renderText, csv: csvOf });
}

const COLUMNS: [Metric, string][] = [
  ['waitP50', 'WAIT p50'],
  ['waitP99', 'WAIT p99'],
  ['holdP50', 'HOLD p50'],
  ['holdP99', 'HOLD p99'],
  ['contendedWaitPerSecond', 'CONT WAIT/s'],
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
  const unit = m.unit === 'runs' ? `one value per run (${sizes})` : `per-window values (each run cut into ${m.windows.min} to ${m.windows.max} equal time windows)`;
  const lines = [
    `verdicts: two-sided Mann–Whitney U on ${unit}, ${correction} over ${m.tests} tests; regressed/improved = corrected p < ${m.alpha} and a change beyond ±${m.thresholdPct}%.`,
    `judged: ${m.judged.map((k) => METRIC_LABELS[k]).join(', ')} (the p shown is corrected). cont wait/s = the waits of contended acquisitions per second of each run, from its start to its last acquisition, so runs of different lengths compare (all waits per second: JSON and CSV, not judged).`,
  ];
  if (m.resolution) {
    lines.push(
      `probe resolution: a wait p50 change under ${formatDuration(m.resolution.waitNs)} or a hold p50 change under ${formatDuration(m.resolution.holdNs)} (the spread of the runs' calibrated probe cost, at least 10 % of it; a lock held across other lock calls: plus 10 % of what their probes inside its holds were corrected by) is never a verdict.`,
    );
  }
  if (d.base.runs.length > 1 || d.new.runs.length > 1) lines.push("several runs on a side: each value is the median of the runs' values.");
  if (m.unit === 'windows') {
    const why =
      d.base.runs.length === 1 && d.new.runs.length === 1
        ? 'there is one run per side'
        : `${sizes} are too few (one value per run gives p >= ${formatP(m.smallestPerRunP)}, too weak once corrected)`;
    lines.push(`windows, not runs: ${why}. Windows of one run share its conditions, so these verdicts cannot see how much runs vary (README: "Comparing runs: diff").`);
  }
  if (d.untested.metrics > 0) lines.push(untestedLine(d));
  return lines;
}

/** Why some judged metrics show `?`, e.g. "too few samples: 124 acquisitions in 2.1 s". */
function untestedLine(d: Diff): string {
  const { metrics, rows, fewest } = d.untested;
  const need =
    d.method.unit === 'windows'
      ? `a test needs ${d.method.windows.min} time windows of at least ${d.method.windows.minSamples} samples on each side`
      : 'a test needs the lock in at least one run on each side';
  const least = fewest ? `: ${formatCount(fewest.acquisitions)} acquisitions in ${formatDuration(fewest.spanNs)}` : '';
  const inconclusive = d.summary.inconclusive > 0 ? `; ${d.summary.inconclusive} of those rows matter and changed beyond ±${d.method.thresholdPct}%: inconclusive (exit 3 under --fail-on-regression)` : '';
  return `?: ${metrics} judged metrics of ${rows} rows could not be tested, too few samples${least} (${need})${inconclusive}.`;
}

function formatValue(metric: Metric, value: number | null): string {
  if (value === null) return '-';
  if (metric === 'contendedPct') return formatPercent(value);
  if (metric === 'waitPerSecond' || metric === 'contendedWaitPerSecond') return `${formatDuration(value)}/s`;
  return formatDuration(value);
}

function changeCell(c: MetricChange): string {
  const change = formatChange(c.changePct ?? NaN);
  if (c.verdict === '?') return `${change} ?`;
  return c.test ? `${change} p${c.test.pAdjusted < 0.001 ? '<0.001' : `=${formatP(c.test.pAdjusted)}`}` : change;
}

function formatP(p: number): string {
  return String(Number(p.toPrecision(2)));
}

/** The row's verdict and the metrics behind it, e.g. "regressed: hold p50; ?: wait/s". */
function verdictText(row: DiffRow): string {
  const parts = (['regressed', 'improved', '?'] as const)
    .map((verdict) => ({ verdict, metrics: JUDGED_METRICS.filter((m) => row.metrics[m].verdict === verdict).map((m) => METRIC_LABELS[m]) }))
    .filter((p) => p.metrics.length > 0)
    .map((p) => `${p.verdict}: ${p.metrics.join(', ')}`);
  return parts.length > 0 ? parts.join('; ') : (row.verdict ?? '');
}

function csvOf(d: Diff): Csv {
  const header = [
    'lock', 'match', 'status', 'runs_base', 'runs_new', 'acquisitions_base', 'acquisitions_new', 'metric', 'base', 'new', 'change_pct',
    'unit', 'n_base', 'n_new', 'p_value', 'p_adjusted', 'verdict', 'row_verdict',
  ];
  const rows = d.rows.flatMap((row) =>
    METRICS.map((metric) => {
      const c = row.metrics[metric];
      return [
        row.lock, row.match, row.status, row.runs.base, row.runs.new, row.acquisitions.base, row.acquisitions.new, metric,
        c.base, c.new, c.changePct, c.test?.unit, c.test?.nBase, c.test?.nNew, c.test?.pValue, c.test?.pAdjusted, c.verdict, row.verdict,
      ];
    }),
  );
  return { header, rows };
}
