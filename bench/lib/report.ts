/**
 * What every benchmark shares: the figures it returns (median and min–max spread of the per-round
 * values, and the goal where the issue states one), number formatting, markdown tables, the
 * summary table bench/all.ts prints, and the replacement of generated sections of bench/README.md
 * between `<!-- bench:NAME begin -->` and `<!-- bench:NAME end -->` markers.
 */
import { max, median, min } from 'simple-statistics';

/** The benchmarks `npm run bench` runs, in its order; also their README marker names. */
export const BENCH_NAMES = ['recorder', 'perf-lock', 'probe-cost', 'ingest', 'analyzer', 'contention'] as const;
export type BenchName = (typeof BENCH_NAMES)[number];

/** The median and min–max of the values of one figure (one per round; n = 1 for a single value). */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spreadOf(xs: number[]): Spread {
  if (xs.length === 0) throw new Error('no values to summarize');
  return { median: median(xs), min: min(xs), max: max(xs), n: xs.length };
}

/** One headline figure: a row of the summary table. */
export interface Figure {
  name: string;
  value: Spread;
  digits: number;
  unit?: string; // appended to the value: 'ns', 's', 'MB', 'M/s', '%'
  goal?: string; // as the issue states it, e.g. '<= 1.10, no drop'
  met?: boolean; // set with goal; undefined: the goal does not apply to this run (e.g. a smaller size)
}

/** What each benchmark's exported function returns. */
export interface BenchResult {
  name: BenchName;
  figures: Figure[];
  markdown: string; // the figures, for the README section between its markers
  notes?: string[]; // parts left out and why (e.g. no VM), listed under the summary table
}

export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const range = (s: Spread, digits: number): string => (s.n === 1 ? '(one value)' : `${fmt(s.min, digits)}–${fmt(s.max, digits)}`);
/** "1.341 (0.617–1.714)". */
export const withRange = (s: Spread, digits: number): string => (s.n === 1 ? fmt(s.median, digits) : `${fmt(s.median, digits)} (${range(s, digits)})`);
export const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');
export const signed = (n: number, digits: number): string => `${n >= 0 ? '+' : '−'}${fmt(Math.abs(n), digits)}`;

export function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

/** A goal cell: "≤ 1.1: met", or the goal alone when it does not apply to this run. */
export function goalCell(f: Pick<Figure, 'goal' | 'met'>): string {
  if (f.goal === undefined) return '';
  return f.met === undefined ? `${f.goal} (not applicable here)` : `${f.goal}: ${verdict(f.met)}`;
}

export type Align = 'l' | 'r';

/** A GitHub markdown table; `align` per column, left by default. Pipes in cells are escaped. */
export function mdTable(header: string[], rows: string[][], align: Align[] = []): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const line = (cells: string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  const rule = header.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  return [line(header), `| ${rule.join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** Each figure as a markdown table row: name, median, min–max, goal. */
export function figureTable(figures: Figure[], header = ['figure', 'median', 'min–max', 'goal']): string {
  return mdTable(
    header,
    figures.map((f) => [f.name, `${fmt(f.value.median, f.digits)}${f.unit ? ` ${f.unit}` : ''}`, range(f.value, f.digits), goalCell(f)]),
    ['l', 'r', 'l', 'l'],
  );
}

/** A section of the run: its result, or why there is none. */
export interface SectionOutcome {
  name: BenchName;
  result: BenchResult | null;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string; // skipped or failed: why
  seconds: number;
  load1AtStart: number;
}

/**
 * The plain-text summary all.ts prints: one row per headline figure; a section without figures
 * (skipped or failed) gets one row, and its reason is listed under the table.
 */
export function summaryTable(outcomes: SectionOutcome[]): string {
  const rows: string[][] = [['section', 'figure', 'median', 'min–max', 'goal', 'met']];
  const reasons: string[] = [];
  for (const o of outcomes) {
    if (o.status !== 'ok' || !o.result) {
      rows.push([o.name, o.status.toUpperCase(), '', '', '', '']);
      reasons.push(`${o.name} ${o.status}: ${o.reason ?? '(no reason given)'}`);
      continue;
    }
    for (const note of o.result.notes ?? []) reasons.push(`${o.name}: ${note}`);
    for (const f of o.result.figures) {
      const met = f.goal === undefined ? '' : f.met === undefined ? 'n/a' : verdict(f.met);
      rows.push([o.name, f.name, `${fmt(f.value.median, f.digits)}${f.unit ? ` ${f.unit}` : ''}`, range(f.value, f.digits), f.goal ?? '', met]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r, j) =>
    r
      .map((c, i) => (i === 2 && j > 0 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return [...lines, ...(reasons.length ? ['', ...reasons] : [])].join('\n');
}

const begin = (name: string): string => `<!-- bench:${name} begin -->`;
const end = (name: string): string => `<!-- bench:${name} end -->`;

/** The text between NAME's markers, or null when the document has no such markers. */
export function readSection(doc: string, name: string): string | null {
  const b = doc.indexOf(begin(name));
  const e = doc.indexOf(end(name));
  if (b < 0 || e < 0 || e < b) return null;
  return doc.slice(b + begin(name).length, e).replace(/^\n/, '').replace(/\n$/, '');
}

/**
 * Replaces the text between NAME's markers with `body`, leaving everything else as it was.
 * Throws when the markers are missing, repeated or out of order: the README's prose is never
 * guessed at. Idempotent: the same body twice gives the same document.
 */
export function replaceSection(doc: string, name: string, body: string): string {
  const count = (s: string): number => doc.split(s).length - 1;
  if (count(begin(name)) !== 1 || count(end(name)) !== 1) {
    throw new Error(`expected exactly one "${begin(name)}" and one "${end(name)}" in the README`);
  }
  const b = doc.indexOf(begin(name)) + begin(name).length;
  const e = doc.indexOf(end(name));
  if (e < b) throw new Error(`"${end(name)}" comes before "${begin(name)}"`);
  return `${doc.slice(0, b)}\n${body.trim()}\n${doc.slice(e)}`;
}

/** "1 round", "7 rounds". */
export const plural = (n: number, word: string): string => `${fmt(n)} ${word}${n === 1 ? '' : 's'}`;
