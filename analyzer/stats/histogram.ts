/**
 * Power-of-two histograms rendered like bcc's print_log2_hist.
 *
 * Bucket k holds values in [2^k, 2^(k+1)); bucket 0 also takes everything
 * below 1, so it covers [0, 2) and is labelled "0 -> 1". Labels are integer
 * ranges because values are meant to be whole units, as in bcc (a fractional
 * 3.7 usecs falls in "2 -> 3").
 */

const BAR_WIDTH = 40;
/** Minimum widths of the label and count columns, as in bcc. */
const LABEL_WIDTH = 10;
const COUNT_WIDTH = 8;

/** counts[k] = number of values in bucket k; the array ends at the last non-empty bucket. */
export function log2HistogramCounts(values: ArrayLike<number>): number[] {
  const counts: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const bucket = log2Bucket(values[i]);
    while (counts.length <= bucket) counts.push(0);
    counts[bucket]++;
  }
  return counts;
}

/** Index of the bucket holding value: ⌊log2(value)⌋, or 0 below 1. */
export function log2Bucket(value: number): number {
  if (!(value >= 0) || value === Infinity) {
    throw new RangeError(`histogram values must be finite and non-negative, got ${value}`);
  }
  if (value < 2) return 0;
  let bucket = Math.floor(Math.log2(value));
  // Math.log2 may round across an integer just below a power of two.
  if (2 ** bucket > value) bucket--;
  else if (2 ** (bucket + 1) <= value) bucket++;
  return bucket;
}

/**
 * Text rows of a histogram, e.g.
 *      usecs               : count     distribution
 *        256 -> 511        : 12       |*****                                   |
 * Leading and trailing empty buckets are left out, interior ones kept. Bars
 * are scaled so the largest count fills the 40 columns; like bcc, a bar has
 * ⌊40·count/max⌋ stars. An all-empty histogram gives no lines.
 */
export function renderLog2Histogram(counts: readonly number[], unit: string): string[] {
  const first = counts.findIndex((count) => count > 0);
  if (first < 0) return [];
  const last = counts.length - 1 - [...counts].reverse().findIndex((count) => count > 0);
  const maxCount = Math.max(...counts);

  const labelWidth = Math.max(LABEL_WIDTH, bucketHigh(last).length);
  const countWidth = Math.max(COUNT_WIDTH, String(maxCount).length);
  const lines = [`     ${unit.padEnd(2 * labelWidth - 1)} : ${'count'.padEnd(countWidth)}  distribution`];
  for (let bucket = first; bucket <= last; bucket++) {
    const count = counts[bucket];
    const stars = '*'.repeat(Math.floor((BAR_WIDTH * count) / maxCount));
    lines.push(
      `${bucketLow(bucket).padStart(labelWidth)} -> ${bucketHigh(bucket).padEnd(labelWidth)} : ` +
        `${String(count).padEnd(countWidth)} |${stars.padEnd(BAR_WIDTH)}|`,
    );
  }
  return lines;
}

// BigInt keeps labels exact beyond 2^53.
function bucketLow(bucket: number): string {
  return bucket === 0 ? '0' : (1n << BigInt(bucket)).toString();
}

function bucketHigh(bucket: number): string {
  return ((1n << BigInt(bucket + 1)) - 1n).toString();
}
