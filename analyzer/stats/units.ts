/** Human-readable formatting of durations, percentages and counts, and plain-text tables. */

const DURATION_UNITS = [
  { name: 's', nanoseconds: 1e9 },
  { name: 'ms', nanoseconds: 1e6 },
  { name: 'µs', nanoseconds: 1e3 },
] as const;

/**
 * A duration given in nanoseconds, in the largest unit (ns, µs, ms, s) in
 * which it is at least 1, to `significantDigits` digits:
 * 850 → "850 ns", 12_345 → "12.3 µs", 3_072_000_000 → "3.07 s".
 * Integer digits are never dropped (12_345 s stays "12345 s").
 */
export function formatDuration(nanoseconds: number, significantDigits = 3): string {
  if (!Number.isFinite(nanoseconds)) throw new RangeError(`not a finite duration: ${nanoseconds}`);
  if (nanoseconds === 0) return '0 ns';
  const sign = nanoseconds < 0 ? '-' : '';
  // Pick the unit after rounding, so that 999.7 ns becomes "1.00 µs", not "1000 ns".
  const rounded = Number(Math.abs(nanoseconds).toPrecision(significantDigits));
  const unit = DURATION_UNITS.find((candidate) => rounded >= candidate.nanoseconds) ?? {
    name: 'ns',
    nanoseconds: 1,
  };
  const decimals = decimalsForSignificant(rounded / unit.nanoseconds, significantDigits);
  return `${sign}${(Math.abs(nanoseconds) / unit.nanoseconds).toFixed(decimals)} ${unit.name}`;
}

/** Decimal places that show `digits` significant digits of a value of this magnitude. */
function decimalsForSignificant(magnitude: number, digits: number): number {
  const leadingDigit =
    magnitude >= 1 ? Math.floor(magnitude).toString().length - 1 : Math.floor(Math.log10(magnitude));
  return Math.max(0, digits - 1 - leadingDigit);
}

/** A value already in percent: 12.345 → "12.3%". */
export function formatPercent(percent: number, decimals = 1): string {
  return `${percent.toFixed(decimals)}%`;
}

/** A relative change in percent with its sign: "+20.1%", "-3.0%", "~0%" when it rounds to nothing; "n/a" when not finite. */
export function formatChange(percent: number): string {
  if (!Number.isFinite(percent)) return 'n/a';
  if (Math.abs(percent) < 0.05) return '~0%';
  return `${percent > 0 ? '+' : ''}${percent.toFixed(1)}%`;
}

/** An integer count with thousands separators: 1234567 → "1,234,567" (non-integers are rounded). */
export function formatCount(count: number): string {
  return Math.round(count)
    .toString()
    .replace(/\B(?=(\d{3})+$)/g, ',');
}

export type ColumnAlignment = 'l' | 'r';

/**
 * Plain-text table: a header line, a line of dashes and one line per row,
 * columns two spaces apart, each as wide as its widest cell. Trailing spaces
 * are trimmed.
 */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly ColumnAlignment[],
): string[] {
  if (align.length !== headers.length) {
    throw new RangeError(`${headers.length} columns but ${align.length} alignments`);
  }
  rows.forEach((row, index) => {
    if (row.length !== headers.length) {
      throw new RangeError(`row ${index} has ${row.length} cells, expected ${headers.length}`);
    }
  });
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => row[column].length)),
  );
  const renderLine = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        align[column] === 'r' ? cell.padStart(widths[column]) : cell.padEnd(widths[column]),
      )
      .join('  ')
      .trimEnd();
  return [renderLine(headers), renderLine(widths.map((width) => '-'.repeat(width))), ...rows.map(renderLine)];
}
