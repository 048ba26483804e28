import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantileSorted } from 'simple-statistics';
import { SampleVec, quantile, summarize } from '../../analyzer/stats/quantiles';

function assertClose(actual: number, expected: number, tolerance = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} ≠ ${expected}`);
}

function oneToThousand(): Float64Array {
  return Float64Array.from({ length: 1000 }, (_, i) => i + 1);
}

test('SampleVec grows past its initial capacity and keeps every value', () => {
  const samples = new SampleVec(2);
  for (let i = 0; i < 1000; i++) samples.push(999 - i);
  assert.equal(samples.length, 1000);
  const sorted = samples.sorted();
  assert.ok(sorted instanceof Float64Array);
  assert.equal(sorted.length, 1000);
  sorted.forEach((value, i) => assert.equal(value, i));
});

test('SampleVec.sorted returns an independent copy', () => {
  const samples = new SampleVec();
  [3, 1, 2].forEach((value) => samples.push(value));
  const first = samples.sorted();
  first[0] = 42;
  samples.push(0);
  assert.deepEqual(Array.from(samples.sorted()), [0, 1, 2, 3]);
});

test('type-7 percentiles of 1..1000', () => {
  const sorted = oneToThousand();
  // h = 999·q: q = 0.5 → 499.5 → 500.5; 0.9 → 899.1 → 900.1; 0.99 → 989.01 → 990.01; 0.999 → 998.001 → 999.001
  assertClose(quantile(sorted, 0.5), 500.5);
  assertClose(quantile(sorted, 0.9), 900.1);
  assertClose(quantile(sorted, 0.99), 990.01);
  assertClose(quantile(sorted, 0.999), 999.001);
  assert.equal(quantile(sorted, 0), 1);
  assert.equal(quantile(sorted, 1), 1000);
});

test('summarize 1..1000', () => {
  const summary = summarize(oneToThousand());
  assert.ok(summary);
  assert.equal(summary.count, 1000);
  assert.equal(summary.total, 500500);
  assert.equal(summary.mean, 500.5);
  assert.equal(summary.min, 1);
  assert.equal(summary.max, 1000);
  assertClose(summary.p50, 500.5);
  assertClose(summary.p90, 900.1);
  assertClose(summary.p99, 990.01);
  assertClose(summary.p999, 999.001);
});

test('single sample: every statistic is that sample', () => {
  assert.deepEqual(summarize(Float64Array.of(7)), {
    count: 1,
    total: 7,
    mean: 7,
    min: 7,
    p50: 7,
    p90: 7,
    p99: 7,
    p999: 7,
    max: 7,
  });
});

test('empty sample: summarize returns null, quantile throws', () => {
  assert.equal(summarize(new Float64Array(0)), null);
  assert.throws(() => quantile(new Float64Array(0), 0.5), RangeError);
  assert.throws(() => quantile(Float64Array.of(1, 2), 1.5), RangeError);
});

test('agrees with simple-statistics quantileSorted (also type 7)', () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const size of [2, 3, 10, 101, 1000]) {
    const sorted = Float64Array.from({ length: size }, () => Math.floor(random() * 1e6)).sort();
    const asArray = Array.from(sorted);
    for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1]) {
      assertClose(quantile(sorted, q), quantileSorted(asArray, q), 1e-9);
    }
  }
});

test('SampleVec.summary selects exactly what summarize(sorted()) reads, without sorting', () => {
  let seed = 12345;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const shapes: [string, (i: number, n: number) => number][] = [
    ['distinct', () => random() * 1e9],
    ['few values (ties)', () => Math.floor(random() * 4) * 1000],
    ['all equal', () => 42],
    ['ascending', (i) => i],
    ['descending', (i, n) => n - i],
    ['heavy tail', () => Math.floor(1 / (random() + 1e-9))],
    ['fractions', () => random() * 3.7 - 1],
  ];
  for (const [name, make] of shapes) {
    for (const n of [1, 2, 3, 5, 10, 999, 1000, 1001, 20_000]) {
      const samples = new SampleVec();
      for (let i = 0; i < n; i++) samples.push(make(i, n));
      const expected = summarize(samples.sorted())!;
      const actual = samples.summary()!;
      assert.ok(Math.abs(actual.total - expected.total) <= 1e-9 * Math.max(1, Math.abs(expected.total)), `${name} n=${n}: total`);
      assert.ok(Math.abs(actual.mean - expected.mean) <= 1e-9 * Math.max(1, Math.abs(expected.mean)), `${name} n=${n}: mean`);
      for (const k of ['count', 'min', 'p50', 'p90', 'p99', 'p999', 'max'] as const) assert.equal(actual[k], expected[k], `${name} n=${n}: ${k}`);
    }
  }
  assert.equal(new SampleVec().summary(), null);
});

test('SampleVec.summary leaves the samples in their order', () => {
  const samples = new SampleVec();
  [5, 3, 9, 1].forEach((v) => samples.push(v));
  assert.equal(samples.summary()!.p50, 4);
  assert.deepEqual(Array.from(samples.values()), [5, 3, 9, 1]);
});
