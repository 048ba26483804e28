/**
 * Storage and order statistics for large samples of numbers (e.g. millions of
 * lock wait times in ns), kept in flat Float64Arrays rather than JS arrays.
 */

/** Append-only vector of doubles backed by a Float64Array that doubles in size when full. */
export class SampleVec {
  private buffer: Float64Array;
  private count = 0;

  constructor(initialCapacity = 1024) {
    this.buffer = new Float64Array(Math.max(1, initialCapacity));
  }

  get length(): number {
    return this.count;
  }

  push(value: number): void {
    if (this.count === this.buffer.length) {
      const grown = new Float64Array(this.buffer.length * 2);
      grown.set(this.buffer);
      this.buffer = grown;
    }
    this.buffer[this.count++] = value;
  }

  /** The samples in insertion order: a view, valid until the next push. */
  values(): Float64Array {
    return this.buffer.subarray(0, this.count);
  }

  /** A new ascending copy of the samples (NaN, if any, sorts last). */
  sorted(): Float64Array {
    return this.buffer.slice(0, this.count).sort();
  }
}

/**
 * Quantile q ∈ [0, 1] of an ascending sample by linear interpolation between
 * order statistics: position h = (n-1)·q, value x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋+1] - x[⌊h⌋]).
 * This is R's quantile type 7 and numpy's default.
 */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of an empty sample');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const fraction = position - below;
  // Also keeps q = 1 from reading past the last element.
  if (fraction === 0) return sorted[below];
  return sorted[below] + fraction * (sorted[below + 1] - sorted[below]);
}

export interface SampleSummary {
  count: number;
  total: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Summary of an ascending sample; null when it is empty. */
export function summarize(sorted: Float64Array): SampleSummary | null {
  const count = sorted.length;
  if (count === 0) return null;
  let total = 0;
  for (let i = 0; i < count; i++) total += sorted[i];
  return {
    count,
    total,
    mean: total / count,
    min: sorted[0],
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: sorted[count - 1],
  };
}
