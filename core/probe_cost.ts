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

/** A wait or hold net of the probes' cost: never below 0. */
export function netOf(rawNs: number, costNs: number): number {
  return rawNs > costNs ? rawNs - costNs : 0;
}
