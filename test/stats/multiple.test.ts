import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benjaminiHochbergAdjust, holmAdjust } from '../../analyzer/stats/multiple';

function assertAllClose(actual: readonly number[], expected: readonly number[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((value, i) =>
    assert.ok(Math.abs(value - expected[i]) < 1e-12, `index ${i}: ${value} ≠ ${expected[i]}`),
  );
}

// p = [0.01, 0.04, 0.03, 0.005]; ascending: 0.005 (#3), 0.01 (#0), 0.03 (#2), 0.04 (#1).
const pValues = [0.01, 0.04, 0.03, 0.005];

test('Holm adjustment of a small vector, by hand', () => {
  // (n - k + 1)·p(k): 4·0.005 = 0.02, 3·0.01 = 0.03, 2·0.03 = 0.06, 1·0.04 = 0.04
  // running max:       0.02,          0.03,          0.06,          0.06
  assertAllClose(holmAdjust(pValues), [0.03, 0.06, 0.06, 0.02]);
});

test('Benjamini–Hochberg adjustment of a small vector, by hand', () => {
  // n/k·p(k) from the largest: 4/4·0.04 = 0.04, 4/3·0.03 = 0.04, 4/2·0.01 = 0.02, 4/1·0.005 = 0.02
  // running min:               0.04,            0.04,            0.02,            0.02
  assertAllClose(benjaminiHochbergAdjust(pValues), [0.02, 0.04, 0.04, 0.02]);
});

test('ties and capping at 1', () => {
  // Holm: 3·0.5 = 1.5, 2·0.5 = 1, 1·0.9 → running max 1.5 everywhere → capped to 1.
  assertAllClose(holmAdjust([0.5, 0.9, 0.5]), [1, 1, 1]);
  // BH: 3/3·0.9 = 0.9, 3/2·0.5 = 0.75, 3/1·0.5 = 1.5 → running min 0.9, 0.75, 0.75.
  assertAllClose(benjaminiHochbergAdjust([0.5, 0.9, 0.5]), [0.75, 0.9, 0.75]);
});

test('a single p-value and an empty vector are left as they are', () => {
  assert.deepEqual(holmAdjust([0.2]), [0.2]);
  assert.deepEqual(benjaminiHochbergAdjust([0.2]), [0.2]);
  assert.deepEqual(holmAdjust([]), []);
  assert.deepEqual(benjaminiHochbergAdjust([]), []);
});

test('adjusted p-values are never below the raw ones and BH never exceeds Holm', () => {
  const raw = [0.001, 0.2, 0.013, 0.04, 0.5, 0.0001, 0.03];
  const holm = holmAdjust(raw);
  const bh = benjaminiHochbergAdjust(raw);
  raw.forEach((p, i) => {
    assert.ok(holm[i] >= p && bh[i] >= p);
    assert.ok(bh[i] <= holm[i]);
  });
});

test('rejects values that are not probabilities', () => {
  assert.throws(() => holmAdjust([0.1, NaN]), RangeError);
  assert.throws(() => benjaminiHochbergAdjust([1.5]), RangeError);
  assert.throws(() => holmAdjust([-0.1]), RangeError);
});
