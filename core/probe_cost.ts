/**
 * What the probes add to what they measure, measured by the recorder at the start of a recording
 * (recorder/calibrate.ts) and kept in the run file (run.probe_cost). The analyzer subtracts it from
 * every pthread lock call's wait and every hold, unless asked for raw times.
 */
export interface ProbeCost {
  waitNs: number; // added to every lock call's wait (entry -> return)
  holdNs: number; // added to every hold (return -> next unlock entry)
  pairs: number; // calibration pairs measured
  waitIqrNs: [number, number]; // the calibration's recorded waits, interquartile range (before subtraction)
  holdIqrNs: [number, number];
  bareNsPerPair: number; // the same lock/unlock pair without probes
}

/** One cost for several runs compared with each other: the median of their wait and hold costs. */
export function sharedProbeCost(costs: ProbeCost[]): ProbeCost | null {
  if (costs.length === 0) return null;
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  return { ...costs[0], waitNs: median(costs.map((c) => c.waitNs)), holdNs: median(costs.map((c) => c.holdNs)) };
}

/** A wait or hold net of the probes' cost: never below 0. */
export function netOf(rawNs: number, costNs: number): number {
  return rawNs > costNs ? rawNs - costNs : 0;
}
