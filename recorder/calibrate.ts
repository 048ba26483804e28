import { quantileSorted } from 'simple-statistics';

import { Func, Stage } from '../core/events';
import { newEventColumns, type EventColumns } from '../runfile/columns';
import type { MutexProgram } from '../bpf/programs';
import { addon, mutexProgram, type MutexSession } from './addon';
import type { FamilyCost, ProbeCost, ProbeFamily } from '../core/probe_cost';
import { planUserProbes, type PlannedProbe, type ProbePlacement } from './probes';
import { mappedObjects, pthreadProviders } from './targets';

/**
 * Measures what the probes add to what they measure (core/probe_cost.ts), on this machine, with
 * this session's programs at the sites they were attached to: before the recording window opens,
 * the same entry/return and unlock programs are attached to the recorder itself, which times
 * uncontended lock/unlock pairs of a private lock on a thread of its own. An uncontended call takes
 * a few ns of its own, so its recorded wait is almost all probe: the entry program after its
 * timestamp (and the probed instruction, when it is single-stepped) and the return probe's trap
 * before its. A hold with nothing inside is the return probe's way back to the caller and the
 * unlock probe's trap. Medians over the pairs, less half of what a pair takes bare (the functions'
 * own time).
 *
 * Each kind has programs and sites of its own, so each is measured: pthread mutexes (the run's
 * probe cost itself), rwlock read and write locks, spin locks, and cond waits (pthread_cond_timedwait
 * with an invalid deadline, which glibc refuses with EINVAL before anything else, so its recorded
 * wait is the probes' own; a cond wait has no hold). The try, timed and clock variants of a kind
 * are corrected with its lock function's cost.
 */
const CALIBRATION_PAIRS = 2000;
const FAMILY_CALLS = 1000;

interface Calibration {
  family: ProbeFamily | 'mutex';
  programs: MutexProgram[]; // all must be planned for the session, or the family is not calibrated
  calls: number;
  lockFunc: number; // its acquired events' func
  unlockFunc: number | null; // its releases' func; null: no hold (cond waits)
}

const CALIBRATIONS: Calibration[] = [
  { family: 'mutex', programs: ['mutex_lock_entry', 'mutex_lock_return', 'mutex_unlock_entry'], calls: CALIBRATION_PAIRS, lockFunc: Func.PthreadMutexLock, unlockFunc: Func.PthreadMutexUnlock },
  { family: 'rwlock:R', programs: ['rwlock_rdlock_entry', 'rwlock_rdlock_return', 'rwlock_unlock_entry'], calls: FAMILY_CALLS, lockFunc: Func.PthreadRwlockRdlock, unlockFunc: Func.PthreadRwlockUnlock },
  { family: 'rwlock:W', programs: ['rwlock_wrlock_entry', 'rwlock_wrlock_return', 'rwlock_unlock_entry'], calls: FAMILY_CALLS, lockFunc: Func.PthreadRwlockWrlock, unlockFunc: Func.PthreadRwlockUnlock },
  { family: 'spin', programs: ['spin_lock_entry', 'spin_lock_return', 'spin_unlock_entry'], calls: FAMILY_CALLS, lockFunc: Func.PthreadSpinLock, unlockFunc: Func.PthreadSpinUnlock },
  { family: 'cond', programs: ['cond_timedwait_entry', 'cond_timedwait_return'], calls: FAMILY_CALLS, lockFunc: Func.PthreadCondTimedwait, unlockFunc: null },
];

/** Calibrates the session's programs on the recorder's own C library, at the sites the placement picks there. */
export function calibrateSession(session: MutexSession, placement: ProbePlacement): ProbeCost | null {
  const ownLibc = pthreadProviders(mappedObjects(process.pid));
  return ownLibc.length > 0 ? calibrateProbes(session, planUserProbes(ownLibc.slice(0, 1), placement).probes) : null;
}

/**
 * Calibrates with the session's own programs (loaded, their window not open yet), attached to the
 * recorder's own C library at the sites `ownProbes` planned for it the way the target's were
 * (the same library as the target's whenever both use the system's). All kinds in one window, so
 * their probes are attached and detached once (each detach waits for a kernel grace period).
 * Returns null when the session has no mutex lock and unlock programs (a kernel-only recording)
 * or events were lost; a kind whose programs are missing, or whose events were lost, is left out
 * (its times are then shown as recorded).
 */
export function calibrateProbes(session: MutexSession, ownProbes: PlannedProbe[]): ProbeCost | null {
  const planned = CALIBRATIONS.map((c) => ({ c, sites: c.programs.map((program) => ownProbes.find((p) => p.program === program)) }))
    .filter(({ sites }) => sites.every((p) => p !== undefined))
    .map(({ c, sites }) => ({ c, sites: sites as PlannedProbe[] }));
  if (!planned.some(({ c }) => c.family === 'mutex')) return null;
  const bare = new Map(planned.map(({ c }) => [c.family, addon.runLockPairs(c.calls, c.family).ns / c.calls]));
  const unique = new Map<string, PlannedProbe>();
  for (const { sites } of planned) for (const p of sites) unique.set(`${p.program}@${p.offset}`, p);
  const links = [...unique.values()].map((p) => session.attachUprobe(mutexProgram(p.program), p.object, p.offset, p.kind === 'uretprobe', process.pid));
  try {
    const start = addon.clockPair().monotonicNs;
    session.setTimeBase(start);
    session.setWindow(start, 0n);
    const tids = new Map(planned.map(({ c }) => [addon.runLockPairs(c.calls, c.family).tid, c]));
    session.setWindow(start, addon.clockPair().monotonicNs);
    const times = pairTimes(session, tids);
    const costs = new Map<string, FamilyCost>();
    for (const [tid, c] of tids) {
      const { waits, holds } = times.get(tid)!;
      if (waits.length < c.calls / 2 || (c.unlockFunc !== null && holds.length < c.calls / 2)) continue; // events lost: no calibration rather than a wrong one
      const { cycles } = times.get(tid)!;
      costs.set(c.family, familyCost(waits, holds, cycles, c.unlockFunc === null ? bare.get(c.family)! : bare.get(c.family)! / 2, c.unlockFunc === null ? 1 : 2));
    }
    const mutex = costs.get('mutex');
    if (!mutex) return null;
    const families: Partial<Record<ProbeFamily, FamilyCost>> = {};
    for (const [family, cost] of costs) if (family !== 'mutex') families[family as ProbeFamily] = cost;
    return { ...mutex, bareNsPerPair: bare.get('mutex')!, families };
  } finally {
    session.detachLinks(links);
    session.forgetThreadNames(); // the target's names drained with the calibration's events
  }
}

/**
 * Medians less the calls' own bare time (per call: half a pair, or a whole cond wait). A cycle
 * (one acquisition's return to the next's) holds every probe of a pair, timed or not: less the
 * bare pair, per call, it is what each call adds to the time of a thread that makes it.
 */
function familyCost(waits: number[], holds: number[], cycles: number[], bareNs: number, callsPerCycle: number): FamilyCost {
  const has = holds.length > 0;
  return {
    ...(cycles.length > 0 ? { callNs: Math.max(0, quantileSorted(cycles, 0.5) / callsPerCycle - bareNs) } : {}),
    waitNs: Math.max(0, quantileSorted(waits, 0.5) - bareNs),
    holdNs: has ? Math.max(0, quantileSorted(holds, 0.5) - bareNs) : 0,
    pairs: has ? Math.min(waits.length, holds.length) : waits.length,
    waitIqrNs: [quantileSorted(waits, 0.25), quantileSorted(waits, 0.75)],
    holdIqrNs: has ? [quantileSorted(holds, 0.25), quantileSorted(holds, 0.75)] : [0, 0],
  };
}

/** Each calibration thread's waits and holds, drained from the ring buffer (everything else there is dropped). */
function pairTimes(session: MutexSession, threads: Map<number, Calibration>): Map<number, { waits: number[]; holds: number[]; cycles: number[] }> {
  const out = new Map([...threads.keys()].map((tid) => [tid, { waits: [] as number[], holds: [] as number[], cycles: [] as number[], acquiredAt: null as number | null, lastAcquiredAt: null as number | null }]));
  const columns: EventColumns = newEventColumns(addon.maxDrain);
  for (let more = true; more; ) {
    const batch = session.drain(columns);
    more = batch.more;
    for (let i = 0; i < batch.count; i++) {
      const t = out.get(columns.tid[i]);
      const c = threads.get(columns.tid[i]);
      if (!t || !c) continue;
      if (columns.stage[i] === Stage.Acquired && columns.func[i] === c.lockFunc) {
        t.waits.push(columns.ts[i] - columns.requestTs[i]);
        if (t.lastAcquiredAt !== null) t.cycles.push(columns.ts[i] - t.lastAcquiredAt);
        t.acquiredAt = t.lastAcquiredAt = columns.ts[i];
      } else if (columns.stage[i] === Stage.Released && columns.func[i] === c.unlockFunc && t.acquiredAt !== null) {
        t.holds.push(columns.ts[i] - t.acquiredAt);
        t.acquiredAt = null;
      }
    }
  }
  const sorted = (v: number[]): number[] => v.sort((a, b) => a - b);
  return new Map([...out].map(([tid, t]) => [tid, { waits: sorted(t.waits), holds: sorted(t.holds), cycles: sorted(t.cycles) }]));
}
