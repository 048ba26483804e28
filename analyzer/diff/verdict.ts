import { mannWhitneyU } from '../stats/mannwhitney';
import { benjaminiHochbergAdjust, holmAdjust } from '../stats/multiple';

export type Correction = 'holm' | 'bh' | 'none';
/** '?': judged, but could not be tested (too few samples on a side); '~': tested, no change beyond the noise. */
export type Verdict = 'regressed' | 'improved' | '~' | '?';
/** What one sample value stands for: a whole run, or one time window of a run. */
export type Unit = 'runs' | 'windows';

export interface VerdictOptions {
  alpha: number;
  thresholdPct: number; // a change smaller than this (in %) is never a regression or improvement
  correction: Correction;
}

/** Two samples of one metric (one value per run, or per window) and the change shown for it. */
export interface Comparison {
  base: ArrayLike<number>;
  new: ArrayLike<number>;
  changePct: number | null; // +Infinity when the base is 0 and the new value is not
  /** The change in the metric's unit, and the smallest one the probes can tell from their own cost's variation. */
  absoluteChange?: number;
  resolution?: number;
}

export interface Judgement {
  pValue: number; // two-sided Mann–Whitney U
  pAdjusted: number; // corrected for the number of comparisons
  verdict: Verdict;
}

/**
 * Tests each comparison with a two-sided Mann–Whitney U, corrects the p-values for how many were
 * made, and calls one regressed (improved) when its corrected p is below alpha, its change is
 * above +threshold (below -threshold), beyond the probes' resolution, and the test agrees on the
 * direction. Higher is worse for every judged metric.
 */
export function judge(comparisons: readonly Comparison[], opts: VerdictOptions): Judgement[] {
  const tests = comparisons.map((c) => mannWhitneyU(c.new, c.base));
  const adjusted = adjustPValues(
    tests.map((t) => t.pValueTwoSided),
    opts.correction,
  );
  return comparisons.map((c, i) => {
    const direction = Math.sign(tests[i].u1 - tests[i].u2); // +1: the new values tend to be higher
    const resolved = c.absoluteChange === undefined || Math.abs(c.absoluteChange) > (c.resolution ?? 0);
    let verdict: Verdict = '~';
    if (c.changePct !== null && adjusted[i] < opts.alpha && resolved) {
      if (c.changePct > opts.thresholdPct && direction > 0) verdict = 'regressed';
      else if (c.changePct < -opts.thresholdPct && direction < 0) verdict = 'improved';
    }
    return { pValue: tests[i].pValueTwoSided, pAdjusted: adjusted[i], verdict };
  });
}

function adjustPValues(pValues: number[], correction: Correction): number[] {
  switch (correction) {
    case 'holm':
      return holmAdjust(pValues);
    case 'bh':
      return benjaminiHochbergAdjust(pValues);
    case 'none':
      return pValues;
  }
}

/** The smallest two-sided p an exact Mann–Whitney test of n1 vs n2 values can give: 2 / C(n1 + n2, n1). */
export function smallestTwoSidedP(n1: number, n2: number): number {
  let combinations = 1;
  for (let i = 1; i <= n1; i++) combinations = (combinations * (n2 + i)) / i;
  return Math.min(1, 2 / combinations);
}

/**
 * Runs are the unit when the runs could show a difference: when even a total separation of the
 * two sides' runs (the smallest p there is) would stay below alpha after correcting for `tests`
 * comparisons. Otherwise (one run per side, 3 vs 3, ...) the unit is a time window of a run.
 */
export function chooseUnit(baseRuns: number, newRuns: number, tests: number, opts: VerdictOptions): Unit {
  const family = opts.correction === 'none' ? 1 : Math.max(1, tests);
  return smallestTwoSidedP(baseRuns, newRuns) * family < opts.alpha ? 'runs' : 'windows';
}
