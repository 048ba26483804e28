import { quantileSorted } from 'simple-statistics';

import { Func, Stage } from '../core/events';
import { newEventColumns } from '../runfile/columns';
import type { MutexProgram } from '../bpf/programs';
import { addon, mutexProgram, type MutexSession } from './addon';
import type { ProbeCost } from '../core/probe_cost';
import { planUserProbes, type PlannedProbe, type ProbePlacement } from './probes';
import { mappedObjects, pthreadProviders } from './targets';

/**
 * Measures what the probes add to what they measure (core/probe_cost.ts), on this machine, with
 * this session's programs at the sites they were attached to: before the recording window opens,
 * the same pthread_mutex_lock entry/return and pthread_mutex_unlock programs are attached to the
 * recorder itself, which times uncontended lock/unlock pairs of a private mutex on a thread of its
 * own. An uncontended call takes a few ns of its own, so its recorded wait is almost all probe: the
 * entry program after its timestamp and the return probe's trap before its. A hold with nothing
 * inside is the return probe's way back to the caller and the unlock probe's trap. Medians over
 * CALIBRATION_PAIRS pairs, less half of what a pair takes bare (the functions' own time).
 */
const CALIBRATION_PAIRS = 2000;
const CALIBRATED = new Set<MutexProgram>(['mutex_lock_entry', 'mutex_lock_return', 'mutex_unlock_entry']);

/** Calibrates the session's lock and unlock programs on the recorder's own C library, at the sites the placement picks there. */
export function calibrateSession(session: MutexSession, placement: ProbePlacement): ProbeCost | null {
  const ownLibc = pthreadProviders(mappedObjects(process.pid));
  return ownLibc.length > 0 ? calibrateProbes(session, planUserProbes(ownLibc.slice(0, 1), placement).probes) : null;
}

/**
 * Calibrates with the session's own programs (loaded, their window not open yet), attached to the
 * recorder's own C library at the sites `ownProbes` planned for it the way the target's were
 * (the same library as the target's whenever both use the system's). Returns null when the
 * session has no lock and unlock programs (a kernel-only recording) or events were lost.
 */
export function calibrateProbes(session: MutexSession, ownProbes: PlannedProbe[]): ProbeCost | null {
  const sites = ownProbes.filter((p) => CALIBRATED.has(p.program));
  if (sites.length !== CALIBRATED.size) return null;
  const bare = addon.runLockPairs(CALIBRATION_PAIRS);
  const links = sites.map((p) => session.attachUprobe(mutexProgram(p.program), p.object, p.offset, p.kind === 'uretprobe', process.pid));
  try {
    const start = addon.clockPair().monotonicNs;
    session.setTimeBase(start);
    session.setWindow(start, 0n);
    const probed = addon.runLockPairs(CALIBRATION_PAIRS);
    session.setWindow(start, addon.clockPair().monotonicNs);
    const { waits, holds } = pairTimes(session, probed.tid);
    if (waits.length < CALIBRATION_PAIRS / 2 || holds.length < CALIBRATION_PAIRS / 2) return null; // events lost: no calibration rather than a wrong one
    const bareHalf = bare.ns / CALIBRATION_PAIRS / 2;
    return {
      waitNs: Math.max(0, quantileSorted(waits, 0.5) - bareHalf),
      holdNs: Math.max(0, quantileSorted(holds, 0.5) - bareHalf),
      pairs: Math.min(waits.length, holds.length),
      waitIqrNs: [quantileSorted(waits, 0.25), quantileSorted(waits, 0.75)],
      holdIqrNs: [quantileSorted(holds, 0.25), quantileSorted(holds, 0.75)],
      bareNsPerPair: bare.ns / CALIBRATION_PAIRS,
    };
  } finally {
    session.detachLinks(links);
    session.forgetThreadNames(); // the target's names drained with the calibration's events
  }
}

/** The calibration thread's waits and holds, drained from the ring buffer (everything else there is dropped). */
function pairTimes(session: MutexSession, tid: number): { waits: number[]; holds: number[] } {
  const waits: number[] = [];
  const holds: number[] = [];
  const columns = newEventColumns(addon.maxDrain);
  let acquiredAt: number | null = null;
  for (let more = true; more; ) {
    const batch = session.drain(columns);
    more = batch.more;
    for (let i = 0; i < batch.count; i++) {
      if (columns.tid[i] !== tid) continue;
      if (columns.stage[i] === Stage.Acquired && columns.func[i] === Func.PthreadMutexLock) {
        waits.push(columns.ts[i] - columns.requestTs[i]);
        acquiredAt = columns.ts[i];
      } else if (columns.stage[i] === Stage.Released && acquiredAt !== null) {
        holds.push(columns.ts[i] - acquiredAt);
        acquiredAt = null;
      }
    }
  }
  return { waits: waits.sort((a, b) => a - b), holds: holds.sort((a, b) => a - b) };
}

