import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalCdf, normalSurvival } from '../../analyzer/stats/normal';

function assertRelativelyClose(actual: number, expected: number, tolerance: number): void {
  const error = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(error <= tolerance, `${actual} differs from ${expected} by relative ${error}`);
}

// Reference values of Φ to 16+ digits (also reproduced with mpmath at 50 digits).
const referenceValues: [x: number, phi: number][] = [
  [-1.96, 0.0249978951482204],
  [-5, 2.866515718791939e-7],
  [-8, 6.220960574271784e-16],
  [-1, 0.15865525393145705],
  [-3, 0.0013498980316300945],
  [-0.5, 0.3085375387259869],
  [-10, 7.619853024160526e-24],
  [-20, 2.7536241186062337e-89],
  [-37, 5.725571222524577e-300],
  [0.3, 0.6179114221889526],
  [1.96, 0.9750021048517795],
];

test('normalCdf matches reference values to ~1e-14 relative, far tails included', () => {
  for (const [x, phi] of referenceValues) assertRelativelyClose(normalCdf(x), phi, 1e-14);
});

test('normalCdf(0) is exactly 1/2', () => {
  assert.equal(normalCdf(0), 0.5);
});

test('normalCdf is symmetric: Φ(x) + Φ(-x) = 1 and survival(x) = Φ(-x)', () => {
  for (const x of [0.1, 0.6744, 0.675, 1, 2.5, 5.6, 5.7, 8, 12]) {
    assert.ok(Math.abs(normalCdf(x) + normalCdf(-x) - 1) < 1e-15, `x = ${x}`);
    assert.equal(normalSurvival(x), normalCdf(-x));
  }
  assertRelativelyClose(normalSurvival(8), 6.220960574271784e-16, 1e-14);
});

test('normalCdf is monotone across the region boundaries of the approximation', () => {
  let previous = 0;
  for (let x = -38; x <= 9; x += 1 / 64) {
    const phi = normalCdf(x);
    assert.ok(phi >= previous, `Φ decreases at x = ${x}`);
    previous = phi;
  }
});

test('normalCdf saturates to 0 and 1 and propagates NaN', () => {
  assert.equal(normalCdf(-40), 0);
  assert.equal(normalCdf(-Infinity), 0);
  assert.equal(normalCdf(40), 1);
  assert.equal(normalCdf(Infinity), 1);
  assert.ok(Number.isNaN(normalCdf(NaN)));
});
