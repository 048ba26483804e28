import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mannWhitneyU } from '../../analyzer/stats/mannwhitney';
import { normalCdf } from '../../analyzer/stats/normal';
import { uNullDistribution } from '../../analyzer/stats/u-distribution';

function assertRelativelyClose(actual: number, expected: number, tolerance: number): void {
  const error = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(error <= tolerance, `${actual} differs from ${expected} by relative ${error}`);
}

function binomial(n: number, k: number): number {
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return result;
}

/** Counts of U over all C(n1+n2, n1) placements of the x's among the pooled ranks. */
function enumerateUCounts(n1: number, n2: number): number[] {
  const counts = new Array<number>(n1 * n2 + 1).fill(0);
  const total = n1 + n2;
  for (let mask = 0; mask < 1 << total; mask++) {
    let xCount = 0;
    let yBelow = 0;
    let u = 0;
    for (let position = 0; position < total; position++) {
      if (mask & (1 << position)) {
        xCount++;
        u += yBelow;
      } else {
        yBelow++;
      }
    }
    if (xCount === n1) counts[u]++;
  }
  return counts;
}

function lowerTail(n1: number, n2: number, u: number): number {
  return uNullDistribution(n1, n2)
    .subarray(0, u + 1)
    .reduce((sum, p) => sum + p, 0);
}

// R's ?wilcox.test example: wilcox.test(x, y, alternative = "g") prints
// W = 35, p-value = 0.1272 (exact). The exact value is 382/3003, C(15, 5) = 3003.
const rExampleX = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
const rExampleY = [1.15, 0.88, 0.9, 0.74, 1.21];

test('R wilcox.test documentation example, exact', () => {
  const result = mannWhitneyU(rExampleX, rExampleY);
  assert.equal(result.method, 'exact');
  assert.equal(result.u1, 35);
  assert.equal(result.u2, 15);
  assert.equal(result.u, 15);
  assertRelativelyClose(result.pValueGreater, 382 / 3003, 1e-12);
  assert.equal(result.pValueGreater.toFixed(4), '0.1272');
  assertRelativelyClose(result.pValueTwoSided, 764 / 3003, 1e-12);
  assertRelativelyClose(result.pValueLess, 2693 / 3003, 1e-12);
});

test('R example with the normal approximation forced', () => {
  // mean n1·n2/2 = 25, variance n1·n2·(N+1)/12 = 50·16/12 = 200/3, σ = 8.16497
  // greater: z = (35 - 25 - 0.5)/σ = 1.163507, p = 1 - Φ(1.163507) = 0.1223118
  const result = mannWhitneyU(rExampleX, rExampleY, { method: 'normal' });
  assert.equal(result.method, 'normal');
  assertRelativelyClose(result.z, 9.5 / Math.sqrt(200 / 3), 1e-14);
  assertRelativelyClose(result.pValueGreater, 0.12231180256349166, 1e-12);
});

test('tied samples use midranks, tie-corrected variance and continuity correction', () => {
  // x = 1 2 2 3, y = 2 3 4 5. Pooled sorted: 1x 2x 2x 2y 3x 3y 4y 5y.
  // Midranks: 1 → 1; the three 2s share ranks 2,3,4 → 3; the two 3s share 5,6 → 5.5; 4 → 7; 5 → 8.
  // Rank sum of x = 1 + 3 + 3 + 5.5 = 12.5, u1 = 12.5 - 4·5/2 = 2.5, u2 = 16 - 2.5 = 13.5.
  // Ties: runs of 3 and 2, Σ(t³ - t) = 24 + 6 = 30, N = 8.
  // Var = (4·4/12)·(N + 1 - 30/(8·7)) = (4/3)·(9 - 15/28) = (4/3)·(237/28) = 79/7, σ = √(79/7).
  // u1 - mean = 2.5 - 8 = -5.5.
  // two-sided: z = (-5.5 + 0.5)/σ = -5/σ = -1.4883514, p = 2Φ(-1.4883514) = 0.13665825
  // less:      z = (-5.5 + 0.5)/σ = -5/σ,             p = Φ(-5/σ)        = 0.06832912
  // greater:   z = (-5.5 - 0.5)/σ = -6/σ,             p = 1 - Φ(-6/σ)    = 0.96295213
  // (the Φ values are from normalCdf, tested on its own; SciPy's mannwhitneyu agrees.)
  const result = mannWhitneyU([1, 2, 2, 3], [2, 3, 4, 5]);
  const sigma = Math.sqrt(79 / 7);
  assert.equal(result.method, 'normal');
  assert.equal(result.u1, 2.5);
  assert.equal(result.u2, 13.5);
  assertRelativelyClose(result.z, -5 / sigma, 1e-14);
  assertRelativelyClose(result.pValueTwoSided, 2 * normalCdf(-5 / sigma), 1e-14);
  assertRelativelyClose(result.pValueTwoSided, 0.1366582477381475, 1e-12);
  assertRelativelyClose(result.pValueLess, 0.06832912386907376, 1e-12);
  assertRelativelyClose(result.pValueGreater, 0.962952125509326, 1e-12);
});

test('exact null distribution equals brute-force enumeration', () => {
  for (const [n1, n2] of [[1, 1], [1, 6], [3, 3], [4, 4], [3, 5], [2, 9], [6, 6], [7, 5]]) {
    const pmf = uNullDistribution(n1, n2);
    const counts = enumerateUCounts(n1, n2);
    const placements = binomial(n1 + n2, n1);
    assert.equal(pmf.length, counts.length);
    counts.forEach((count, u) => assertRelativelyClose(pmf[u] * placements, count, 1e-12));
  }
});

test('exact lower tails of the 4 + 4 case: 1, 2, 4, 7 of 70 placements', () => {
  // U ≤ u counts partitions of at most u into at most 4 parts of size ≤ 4.
  [1, 2, 4, 7].forEach((count, u) => assertRelativelyClose(lowerTail(4, 4, u), count / 70, 1e-14));
});

test('exact distribution reproduces textbook two-sided 5% critical values of U', () => {
  // Tables of critical values (n1 = n2): the largest U with P(U ≤ U_crit) ≤ 0.025.
  for (const [n, critical] of [[5, 2], [8, 13], [10, 23], [20, 127]]) {
    assert.ok(lowerTail(n, n, critical) <= 0.025, `n = ${n}`);
    assert.ok(lowerTail(n, n, critical + 1) > 0.025, `n = ${n}`);
  }
  assertRelativelyClose(lowerTail(10, 10, 23), 3996 / 184756, 1e-12);
});

test('exact p-value of completely separated samples is 2 / C(n1+n2, n1), deep in the tail', () => {
  const x = Array.from({ length: 30 }, (_, i) => i);
  const y = Array.from({ length: 30 }, (_, i) => 100 + i);
  const result = mannWhitneyU(x, y);
  assert.equal(result.method, 'exact');
  assert.equal(result.u1, 0);
  assertRelativelyClose(result.pValueTwoSided, 2 / 118264581564861424, 1e-12);
  assertRelativelyClose(result.pValueLess, 1 / 118264581564861424, 1e-12);
  assertRelativelyClose(result.pValueGreater, 1, 1e-12);
});

test('normal approximation keeps precision in the far tail', () => {
  // n1 = n2 = 60 (too large for exact), separated: u1 = 0, mean 1800,
  // Var = 3600·121/12 = 36300, z = (0 - 1800 + 0.5)/√36300 = -9.4449255, p = 2Φ(z) = 3.5565710e-21.
  const x = Array.from({ length: 60 }, (_, i) => i);
  const y = Array.from({ length: 60 }, (_, i) => 1000 + i);
  const result = mannWhitneyU(Float64Array.from(x), Float64Array.from(y));
  assert.equal(result.method, 'normal');
  assertRelativelyClose(result.z, -1799.5 / Math.sqrt(36300), 1e-14);
  assertRelativelyClose(result.pValueTwoSided, 3.556570974984807e-21, 1e-12);
});

test('automatic method choice follows R: exact below 50 per sample without ties', () => {
  const sample = (size: number, offset: number) => Array.from({ length: size }, (_, i) => 2 * i + offset);
  assert.equal(mannWhitneyU(sample(49, 0), sample(49, 1)).method, 'exact');
  assert.equal(mannWhitneyU(sample(50, 0), sample(10, 1)).method, 'normal');
  assert.equal(mannWhitneyU([1, 2, 3], [3, 4, 5]).method, 'normal');
  assert.throws(() => mannWhitneyU([1, 2, 3], [3, 4, 5], { method: 'exact' }), RangeError);
});

test('swapping the samples swaps u1/u2 and the one-sided p-values', () => {
  const x = [3.1, 4.7, 2.2, 9.4, 5.5, 6.1, 7.3];
  const y = [1.2, 2.8, 0.4, 3.9, 4.1, 1.7];
  for (const method of ['exact', 'normal'] as const) {
    const forward = mannWhitneyU(x, y, { method });
    const backward = mannWhitneyU(y, x, { method });
    assert.equal(forward.u1, backward.u2);
    assert.equal(forward.z, -backward.z);
    assertRelativelyClose(forward.pValueLess, backward.pValueGreater, 1e-14);
    assertRelativelyClose(forward.pValueTwoSided, backward.pValueTwoSided, 1e-14);
  }
});

test('u1 at the mean gives two-sided p = 1', () => {
  const result = mannWhitneyU([1, 4], [2, 3]);
  assert.equal(result.u1, 2);
  assert.equal(result.pValueTwoSided, 1);
});

test('all observations tied: zero variance gives p = 1', () => {
  const result = mannWhitneyU([5, 5, 5], [5, 5]);
  assert.equal(result.u1, 3);
  assert.equal(result.z, 0);
  assert.deepEqual(
    [result.pValueTwoSided, result.pValueLess, result.pValueGreater],
    [1, 1, 1],
  );
});

test('rejects empty samples and NaN', () => {
  assert.throws(() => mannWhitneyU([], [1]), RangeError);
  assert.throws(() => mannWhitneyU([1, NaN], [2]), RangeError);
});

test('large heavily tied samples: exact u1 from counting pairs', () => {
  // x and y each hold every integer of 0..999 exactly 200 times, y shifted by +100.
  // Pairs with x > y: a - b > 100 for a, b in 0..999 → Σ_{k=101}^{999} (1000 - k) = 899·900/2 = 404550;
  // ties a - b = 100: 900 pairs, each counting 1/2. Per 1000×1000 block 404550 + 450 = 405000,
  // and there are 200² such blocks: u1 = 40000 · 405000 = 1.62e10 (mean n1·n2/2 = 2e10).
  const size = 200_000;
  const x = new Float64Array(size);
  const y = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    x[i] = i % 1000;
    y[i] = (i % 1000) + 100;
  }
  const shifted = mannWhitneyU(x, y);
  assert.equal(shifted.method, 'normal');
  assert.equal(shifted.u1, 1.62e10);
  assert.ok(shifted.pValueLess < 1e-300);
  assert.equal(shifted.pValueGreater, 1);

  const identical = mannWhitneyU(x, x);
  assert.equal(identical.u1, 2e10);
  assert.equal(identical.pValueTwoSided, 1);
});
