/**
 * Standard normal distribution function Φ and its complement, accurate to
 * roughly 1e-15 relative error across the whole double range, far tails
 * included (needed for p-values of large samples, where 1 - Φ(|z|) would
 * cancel to 0).
 *
 * Rational Chebyshev approximations from W. J. Cody, "Algorithm 715:
 * SPECFUN", ACM TOMS 19 (1993), routine ANORM — the same coefficients R's
 * pnorm() uses.
 */

const INV_SQRT_2PI = 0.398942280401432677939946059934;
const SQRT_32 = 5.656854249492380195206754896838;
/** Φ(-x) underflows to 0 for x beyond this. */
const UNDERFLOW_BOUND = 37.5193;

const CENTRAL_NUM = [
  2.2352520354606839287, 161.02823106855587881, 1067.6894854603709582, 18154.981253343561249,
  0.065682337918207449113,
];
const CENTRAL_DEN = [
  47.20258190468824187, 976.09855173777669322, 10260.932208618978205, 45507.789335026729956,
];
const MIDDLE_NUM = [
  0.39894151208813466764, 8.8831497943883759412, 93.506656132177855979, 597.27027639480026226,
  2494.5375852903726711, 6848.1904505362823326, 11602.651437647350124, 9842.7148383839780218,
  1.0765576773720192317e-8,
];
const MIDDLE_DEN = [
  22.266688044328115691, 235.38790178262499861, 1519.377599407554805, 6485.558298266760755,
  18615.571640885098091, 34900.952721145977266, 38912.003286093271411, 19685.429676859990727,
];
const TAIL_NUM = [
  0.21589853405795699, 0.1274011611602473639, 0.022235277870649807, 0.001421619193227893466,
  2.9112874951168792e-5, 0.02307344176494017303,
];
const TAIL_DEN = [
  1.28426009614491121, 0.468238212480865118, 0.0659881378689285515, 0.00378239633202758244,
  7.29751555083966205e-5,
];

/** Φ(x) = P(Z ≤ x) for Z ~ N(0, 1). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  return x <= 0 ? upperTail(-x) : 1 - upperTail(x);
}

/** 1 - Φ(x) = P(Z > x), computed without cancellation for large x. */
export function normalSurvival(x: number): number {
  return normalCdf(-x);
}

/** P(Z > y) for y ≥ 0. */
function upperTail(y: number): number {
  if (y <= 0.67448975) {
    // Central region: Φ(y) - 1/2 = y · R(y²), so the tail is 1/2 minus that.
    const ySquared = y * y;
    let numerator = CENTRAL_NUM[4] * ySquared;
    let denominator = ySquared;
    for (let i = 0; i < 3; i++) {
      numerator = (numerator + CENTRAL_NUM[i]) * ySquared;
      denominator = (denominator + CENTRAL_DEN[i]) * ySquared;
    }
    return 0.5 - (y * (numerator + CENTRAL_NUM[3])) / (denominator + CENTRAL_DEN[3]);
  }
  if (y <= SQRT_32) {
    let numerator = MIDDLE_NUM[8] * y;
    let denominator = y;
    for (let i = 0; i < 7; i++) {
      numerator = (numerator + MIDDLE_NUM[i]) * y;
      denominator = (denominator + MIDDLE_DEN[i]) * y;
    }
    return gaussianTimes(y, (numerator + MIDDLE_NUM[7]) / (denominator + MIDDLE_DEN[7]));
  }
  if (y < UNDERFLOW_BOUND) {
    // Asymptotic region: tail ≈ φ(y)/y · (1 - R(1/y²)).
    const inverseSquare = 1 / (y * y);
    let numerator = TAIL_NUM[5] * inverseSquare;
    let denominator = inverseSquare;
    for (let i = 0; i < 4; i++) {
      numerator = (numerator + TAIL_NUM[i]) * inverseSquare;
      denominator = (denominator + TAIL_DEN[i]) * inverseSquare;
    }
    const correction = (inverseSquare * (numerator + TAIL_NUM[4])) / (denominator + TAIL_DEN[4]);
    return gaussianTimes(y, (INV_SQRT_2PI - correction) / y);
  }
  return 0;
}

/**
 * exp(-y²/2) · factor. y² is split as head² + (y - head)(y + head) with head
 * a multiple of 1/16, so head² is exact and the rounding error of y² is not
 * amplified by exp() (it would cost ~y² ulps in the far tail).
 */
function gaussianTimes(y: number, factor: number): number {
  const head = Math.trunc(y * 16) / 16;
  const remainder = (y - head) * (y + head);
  return Math.exp(-head * head * 0.5) * Math.exp(-remainder * 0.5) * factor;
}
