/**
 * What the probes add to what they measure, measured by the recorder at the start of a recording
 * (recorder/calibrate.ts) and kept in the run file (run.probe_cost). The analyzer subtracts it from
 * every pthread lock call's wait and every hold, unless asked for raw times.
 */
export interface ProbeCost extends FamilyCost {
  bareNsPerPair: number; // the same lock/unlock pair without probes
  /** The cost as the target's own uncontended lock calls measured it during the run (recorded at the stop). */
  inRun?: InRunCost;
  /** The other kinds' own probes, measured the same way (schema 5 on); a family missing here is not corrected. */
  families?: Partial<Record<ProbeFamily, FamilyCost>>;
}

/** What one kind's probes add: pthread mutexes are the ProbeCost itself. */
export interface FamilyCost {
  waitNs: number; // added to every lock call's wait (entry -> return)
  holdNs: number; // added to every hold (return -> next unlock entry); 0 for cond waits (no hold)
  pairs: number; // calibration pairs (or calls) measured
  waitIqrNs: [number, number]; // the calibration's recorded waits, interquartile range (before subtraction)
  holdIqrNs: [number, number];
  /**
   * All that one call's probes add to the calling thread's time, timed parts or not (half of a
   * traced pair less a bare one; a cond wait's whole call). Subtracted from a hold for each lock
   * call and unlock its holder makes inside it. Absent from runs recorded before it was measured: not subtracted.
   */
  callNs?: number;
}

/**
 * The wait cost (FamilyCost.waitNs) in the target itself: the median recorded wait of its
 * pthread_mutex_lock calls that found the mutex free and did not sleep, less half a bare pair,
 * over the run and per span of spanNs (null: fewer than 200 such calls in that span). Every
 * calibrated cost is scaled by perSpan / the calibration's waitNs at an event's time (by waitNs in
 * a span without its own), since what moves a probe's cost (the trap, the machine's load) moves
 * all of them alike.
 */
export interface InRunCost {
  spanNs: number;
  waitNs: number;
  perSpanWaitNs: (number | null)[];
  calls: number; // uncontended calls seen
}

/** How much dearer the probes were at `ts` (ns since the start) than when calibrated: 1 without an in-run measure. */
export function inRunScale(cost: ProbeCost | null, ts: number): number {
  const run = cost?.inRun;
  if (!run || !(cost!.waitNs > 0)) return 1;
  const span = run.perSpanWaitNs[Math.floor(ts / run.spanNs)];
  return (span ?? run.waitNs) / cost!.waitNs;
}

/** Kinds calibrated apart from pthread mutexes: their functions are probed by programs (and at sites) of their own. */
export const PROBE_FAMILIES = ['rwlock:R', 'rwlock:W', 'spin', 'cond'] as const;
export type ProbeFamily = (typeof PROBE_FAMILIES)[number];

/** The cost subtracted from a family's waits and holds: none (raw) when the run did not calibrate it. */
export function familyCost(cost: ProbeCost | null, family: ProbeFamily | 'mutex'): FamilyCost | null {
  if (!cost) return null;
  if (family === 'mutex') return cost;
  return cost.families?.[family] ?? null;
}

/** One cost for several runs compared with each other: the median of their wait and hold costs. */
export function sharedProbeCost(costs: ProbeCost[]): ProbeCost | null {
  if (costs.length === 0) return null;
  const families: Partial<Record<ProbeFamily, FamilyCost>> = {};
  for (const f of PROBE_FAMILIES) {
    const each = costs.map((c) => c.families?.[f]);
    if (each.every((c): c is FamilyCost => c !== undefined)) {
      families[f] = { ...each[0], ...medians(each) };
    }
  }
  return { ...costs[0], ...medians(costs), families, inRun: undefined }; // each run's own measure is its own
}

function medians(costs: FamilyCost[]): Pick<FamilyCost, 'waitNs' | 'holdNs' | 'callNs'> {
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const calls = costs.map((c) => c.callNs);
  return {
    waitNs: median(costs.map((c) => c.waitNs)),
    holdNs: median(costs.map((c) => c.holdNs)),
    callNs: calls.every((n): n is number => n !== undefined) ? median(calls) : undefined,
  };
}

/** A wait or hold net of the probes' cost: never below 0. */
export function netOf(rawNs: number, costNs: number): number {
  return rawNs > costNs ? rawNs - costNs : 0;
}
