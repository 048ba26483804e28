// diff: one run reduced to what is compared (digest), the statistics (verdict), the comparison of
// two sides (compare) and its rendering (render).
export { DIFF_SCHEMA, MATTERS_SHARE, buildDiff, failExitCode, type Diff, type DiffRow, type MetricChange, type Resolution, type RowStatus } from './compare';
export { JUDGED_METRICS, METRICS, WINDOWS, digestRun, type JudgedMetric, type LockDigest, type Metric, type RunDigest } from './digest';
export { renderDiff } from './render';
export { chooseUnit, judge, smallestTwoSidedP, type Comparison, type Correction, type Judgement, type Unit, type Verdict, type VerdictOptions } from './verdict';
