/**
 * Multiple-comparison adjustments of p-values, defined as R's p.adjust()
 * methods "holm" and "BH". Results are in the input order.
 */

/**
 * Holm–Bonferroni step-down adjustment (controls the family-wise error rate):
 * the i-th smallest of n p-values becomes max over k ≤ i of (n - k + 1)·p(k),
 * capped at 1.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const count = pValues.length;
  const ascending = orderBy(pValues, (a, b) => a - b);
  const adjusted = new Array<number>(count);
  let runningMax = 0;
  ascending.forEach((index, rank) => {
    runningMax = Math.max(runningMax, (count - rank) * pValues[index]);
    adjusted[index] = Math.min(1, runningMax);
  });
  return adjusted;
}

/**
 * Benjamini–Hochberg step-up adjustment (controls the false discovery rate):
 * the i-th smallest of n p-values becomes min over k ≥ i of n/k · p(k),
 * capped at 1.
 */
export function benjaminiHochbergAdjust(pValues: readonly number[]): number[] {
  const count = pValues.length;
  const descending = orderBy(pValues, (a, b) => b - a);
  const adjusted = new Array<number>(count);
  let runningMin = 1;
  descending.forEach((index, position) => {
    const rank = count - position;
    runningMin = Math.min(runningMin, (count / rank) * pValues[index]);
    adjusted[index] = runningMin;
  });
  return adjusted;
}

function orderBy(pValues: readonly number[], compare: (a: number, b: number) => number): number[] {
  pValues.forEach((p, index) => {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`p-value at index ${index} is not in [0, 1]: ${p}`);
  });
  return pValues.map((_, index) => index).sort((a, b) => compare(pValues[a], pValues[b]));
}
