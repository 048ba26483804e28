/**
 * Exact null distribution of the Mann–Whitney U statistic for untied samples
 * of sizes n1 and n2: pmf[u] = P(U = u) for u = 0 … n1·n2, where U counts the
 * pairs (x, y) with x > y.
 *
 * Uses the recurrence on the largest observation of the pooled sample: it is
 * an x with probability i/(i+j), and then beats all j y's, otherwise a y:
 *   P(i, j, u) = i/(i+j) · P(i-1, j, u-j) + j/(i+j) · P(i, j-1, u).
 * Working with probabilities rather than counts keeps every term positive
 * and in [0, 1]: the counts reach C(n1+n2, n1), beyond 2^53 from 29 + 29
 * on, while tail sums of probabilities keep full relative precision.
 * Cost is O(n1² · n2²) time and O(n1² · n2) memory.
 */
export function uNullDistribution(n1: number, n2: number): Float64Array {
  if (!Number.isInteger(n1) || !Number.isInteger(n2) || n1 < 0 || n2 < 0) {
    throw new RangeError(`sample sizes must be non-negative integers, got ${n1} and ${n2}`);
  }
  const pointMass = Float64Array.of(1);
  // previousColumn[i] holds P(i, j-1, ·); column j is built from it.
  let previousColumn: Float64Array[] = Array.from({ length: n1 + 1 }, () => pointMass);
  for (let j = 1; j <= n2; j++) {
    const column: Float64Array[] = [pointMass];
    for (let i = 1; i <= n1; i++) {
      const pmf = new Float64Array(i * j + 1);
      const xLargest = column[i - 1];
      const yLargest = previousColumn[i];
      const xWeight = i / (i + j);
      const yWeight = j / (i + j);
      for (let u = 0; u < xLargest.length; u++) pmf[u + j] += xWeight * xLargest[u];
      for (let u = 0; u < yLargest.length; u++) pmf[u] += yWeight * yLargest[u];
      column.push(pmf);
    }
    previousColumn = column;
  }
  return previousColumn[n1];
}
