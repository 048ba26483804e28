import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { chooseUnit, judge, smallestTwoSidedP, type Comparison, type VerdictOptions } from '../analyzer/diff';

const DEFAULTS: VerdictOptions = { alpha: 0.05, thresholdPct: 5, correction: 'holm' };

/** Deterministic normal samples (mulberry32 + Box–Muller), so a failure reproduces. */
function normalSampler(seed: number): (mean: number, sd: number) => number {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return (mean, sd) => mean + sd * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** 30 window means around `mean` with 3% spread, as a steady lock's per-window hold medians look. */
function windows(draw: (mean: number, sd: number) => number, mean: number, count = 30): number[] {
  return Array.from({ length: count }, () => draw(mean, 0.03 * mean));
}

function comparison(base: number[], after: number[]): Comparison {
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  return { base, new: after, changePct: (100 * (median(after) - median(base))) / median(base) };
}

describe('verdicts on per-window values', () => {
  test('two samples of one distribution: ~', () => {
    const draw = normalSampler(1);
    for (let i = 0; i < 20; i++) {
      const [j] = judge([comparison(windows(draw, 300e3), windows(draw, 300e3))], DEFAULTS);
      assert.equal(j.verdict, '~', `draw ${i}: p = ${j.pValue}`);
    }
  });

  test('20% higher: regressed; 20% lower: improved', () => {
    const draw = normalSampler(2);
    const base = windows(draw, 300e3);
    const [up, down] = judge([comparison(base, windows(draw, 360e3)), comparison(base, windows(draw, 240e3))], DEFAULTS);
    assert.equal(up.verdict, 'regressed');
    assert.ok(up.pAdjusted < 1e-6, `p = ${up.pAdjusted}`);
    assert.equal(down.verdict, 'improved');
  });

  test('a significant change within the noise threshold is ~', () => {
    const draw = normalSampler(3);
    // 2% higher with 0.1% spread: the test is sure of it, but 2% < 5%.
    const base = Array.from({ length: 30 }, () => draw(300e3, 300));
    const after = Array.from({ length: 30 }, () => draw(306e3, 300));
    const [j] = judge([comparison(base, after)], DEFAULTS);
    assert.ok(j.pAdjusted < 1e-6);
    assert.equal(j.verdict, '~');
    assert.equal(judge([comparison(base, after)], { ...DEFAULTS, thresholdPct: 1 })[0].verdict, 'regressed');
  });

  test('the change and the test must agree on the direction', () => {
    const draw = normalSampler(4);
    const base = windows(draw, 300e3);
    const lower = windows(draw, 240e3);
    const [j] = judge([{ base, new: lower, changePct: +20 }], DEFAULTS);
    assert.ok(j.pAdjusted < 0.05);
    assert.equal(j.verdict, '~');
  });

  test('no change to show (base of 0): ~', () => {
    const [j] = judge([{ base: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], new: [21, 22, 23, 24, 25, 26, 27, 28, 29, 30], changePct: null }], DEFAULTS);
    assert.equal(j.verdict, '~');
  });
});

describe('many locks × metrics at once', () => {
  // One lock changed by 7.5% with much overlap (p ≈ 0.007 alone), 29 others did not change at all.
  const draw = normalSampler(5);
  const spread = Array.from({ length: 10 }, (_, i) => 300 + 6 * i);
  const family: Comparison[] = [comparison(spread, spread.map((v) => v + 24.5))];
  for (let i = 0; i < 29; i++) family.push(comparison(windows(draw, 300e3), windows(draw, 300e3)));

  test('alone, the changed one is a regression', () => {
    const [j] = judge(family.slice(0, 1), DEFAULTS);
    assert.ok(j.pValue > 0.001 && j.pValue < 0.05, `precondition: p = ${j.pValue}`);
    assert.ok(family[0].changePct! > 5, `precondition: change = ${family[0].changePct}`);
    assert.equal(j.verdict, 'regressed');
  });

  test('among 30 comparisons, Holm (and BH) correct it away; without correction it stays', () => {
    const holm = judge(family, DEFAULTS);
    assert.equal(holm[0].pValue, judge(family.slice(0, 1), DEFAULTS)[0].pValue);
    assert.ok(holm[0].pAdjusted >= 0.05, `Holm: ${holm[0].pAdjusted}`);
    assert.deepEqual(new Set(holm.map((j) => j.verdict)), new Set(['~']));
    assert.deepEqual(new Set(judge(family, { ...DEFAULTS, correction: 'bh' }).map((j) => j.verdict)), new Set(['~']));
    assert.equal(judge(family, { ...DEFAULTS, correction: 'none' })[0].verdict, 'regressed');
  });

  test('a large change survives the correction', () => {
    const big = [comparison(windows(draw, 300e3), windows(draw, 360e3)), ...family.slice(1)];
    const judged = judge(big, DEFAULTS);
    assert.equal(judged[0].verdict, 'regressed');
    assert.equal(judged.filter((j) => j.verdict !== '~').length, 1);
  });
});

describe('runs or windows as the unit', () => {
  test('the smallest p of an exact test of n1 vs n2 runs', () => {
    assert.equal(smallestTwoSidedP(1, 1), 1);
    assert.ok(Math.abs(smallestTwoSidedP(3, 3) - 0.1) < 1e-12);
    assert.ok(Math.abs(smallestTwoSidedP(4, 4) - 2 / 70) < 1e-12);
    assert.ok(Math.abs(smallestTwoSidedP(5, 5) - 2 / 252) < 1e-12);
    assert.ok(Math.abs(smallestTwoSidedP(3, 5) - 2 / 56) < 1e-12);
  });

  test('runs when a total separation would survive the correction, else windows', () => {
    assert.equal(chooseUnit(1, 1, 6, DEFAULTS), 'windows');
    assert.equal(chooseUnit(3, 3, 6, DEFAULTS), 'windows'); // p >= 0.1
    assert.equal(chooseUnit(4, 4, 1, DEFAULTS), 'runs'); // 0.029 < 0.05
    assert.equal(chooseUnit(4, 4, 6, DEFAULTS), 'windows'); // 6 × 0.029
    assert.equal(chooseUnit(5, 5, 6, DEFAULTS), 'runs'); // 6 × 0.0079 = 0.048
    assert.equal(chooseUnit(5, 5, 9, DEFAULTS), 'windows');
    assert.equal(chooseUnit(5, 5, 9, { ...DEFAULTS, correction: 'none' }), 'runs');
    assert.equal(chooseUnit(8, 8, 300, DEFAULTS), 'runs'); // 300 × 1.6e-4
  });
});
