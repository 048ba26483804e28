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

  /**
   * summarize(this.sorted()), without sorting: the order statistics it reads are selected in a
   * scratch copy (sorting millions of samples was most of what a report's summaries cost).
   */
  summary(): SampleSummary | null {
    const values = this.values();
    for (let i = 0; i < values.length; i++) if (values[i] !== values[i]) return summarize(this.sorted()); // NaN: sort's order
    return summarize(new OrderStatistics(values.slice()));
  }
}

/**
 * The values of a sample at given ranks, as its ascending sort would hold them: each rank asked
 * for is put in place by partitioning only the part of the array that holds it (quickselect,
 * three-way so that runs of equal values, common in ns samples, cost no more than distinct ones).
 * The array is reordered; no NaN.
 */
export class OrderStatistics {
  private readonly placed = new Set<number>();

  constructor(private readonly a: Float64Array) {}

  get length(): number {
    return this.a.length;
  }

  /** The sum of the values, in the array's order at the time (before any at(): the order given). */
  sum(): number {
    return sumOf(this.a);
  }

  /** The value at rank k (0-based) of the ascending order. */
  at(k: number): number {
    if (!this.placed.has(k)) this.place(k);
    return this.a[k];
  }

  private place(k: number): void {
    const a = this.a;
    let lo = 0;
    let hi = a.length - 1;
    // ranks already placed bound the part that can hold k: everything below a placed rank is <= it
    for (const p of this.placed) {
      if (p < k && p >= lo) lo = p + 1;
      if (p > k && p <= hi) hi = p - 1;
    }
    // k at an edge of its part: it is the part's least (or greatest) value, found by one scan
    if (lo === k || hi === k) {
      let at = k;
      for (let i = lo; i <= hi; i++) if (lo === k ? a[i] < a[at] : a[i] > a[at]) at = i;
      [a[k], a[at]] = [a[at], a[k]];
      this.placed.add(k);
      return;
    }
    while (lo < hi) {
      const pivot = medianOf3(a[lo], a[(lo + hi) >>> 1], a[hi]);
      // three-way partition of lo..hi: [lo, lt) < pivot, [lt, gt] == pivot, (gt, hi] > pivot
      let lt = lo;
      let gt = hi;
      let i = lo;
      while (i <= gt) {
        const v = a[i];
        if (v < pivot) {
          a[i++] = a[lt];
          a[lt++] = v;
        } else if (v > pivot) {
          a[i] = a[gt];
          a[gt--] = v;
        } else i++;
      }
      if (k < lt) hi = lt - 1;
      else if (k > gt) lo = gt + 1;
      else break;
    }
    this.placed.add(k);
  }
}

function sumOf(values: Float64Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total;
}

function medianOf3(x: number, y: number, z: number): number {
  return x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
}

/**
 * Quantile q ∈ [0, 1] of an ascending sample by linear interpolation between
 * order statistics: position h = (n-1)·q, value x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋+1] - x[⌊h⌋]).
 * This is R's quantile type 7 and numpy's default.
 */
export function quantile(sorted: Ranked, q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of an empty sample');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const fraction = position - below;
  // Also keeps q = 1 from reading past the last element.
  const low = rankValue(sorted, below);
  if (fraction === 0) return low;
  return low + fraction * (rankValue(sorted, below + 1) - low);
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

/** A sample's values at ranks: an ascending array, or an OrderStatistics selecting them. */
export type Ranked = Float64Array | OrderStatistics;

const rankValue = (sample: Ranked, k: number): number => (sample instanceof OrderStatistics ? sample.at(k) : sample[k]);

/** Summary of an ascending sample (or of one whose ranks are selected); null when it is empty. */
export function summarize(sample: Ranked): SampleSummary | null {
  const count = sample.length;
  if (count === 0) return null;
  const total = sample instanceof OrderStatistics ? sample.sum() : sumOf(sample);
  // selecting the quantiles' lower ranks first, in ascending order, leaves each neighbour and the
  // extremes at an edge of a part: a scan, not a partition
  if (sample instanceof OrderStatistics) for (const q of [0.5, 0.9, 0.99, 0.999]) sample.at(Math.floor((count - 1) * q));
  return {
    count,
    total,
    mean: total / count,
    min: rankValue(sample, 0),
    p50: quantile(sample, 0.5),
    p90: quantile(sample, 0.9),
    p99: quantile(sample, 0.99),
    p999: quantile(sample, 0.999),
    max: rankValue(sample, count - 1),
  };
}
