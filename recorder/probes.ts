import { Func } from '../core/events';
import { findFunction, type ElfObject } from './elf';

/** One probed function and the BPF programs that observe its entry and return. */
interface ProbeSpec {
  symbol: string;
  func: number;
  entryProgram: string;
  returnProgram: string | null;
}

const USER_PROBES: ProbeSpec[] = [
  { symbol: 'pthread_mutex_lock', func: Func.PthreadMutexLock, entryProgram: 'mutex_lock_entry', returnProgram: 'mutex_lock_return' },
  { symbol: 'pthread_mutex_trylock', func: Func.PthreadMutexTrylock, entryProgram: 'mutex_trylock_entry', returnProgram: 'mutex_trylock_return' },
  { symbol: 'pthread_mutex_timedlock', func: Func.PthreadMutexTimedlock, entryProgram: 'mutex_timedlock_entry', returnProgram: 'mutex_timedlock_return' },
  { symbol: 'pthread_mutex_clocklock', func: Func.PthreadMutexClocklock, entryProgram: 'mutex_clocklock_entry', returnProgram: 'mutex_clocklock_return' },
  { symbol: 'pthread_mutex_unlock', func: Func.PthreadMutexUnlock, entryProgram: 'mutex_unlock_entry', returnProgram: null },
  { symbol: 'pthread_cond_wait', func: Func.PthreadCondWait, entryProgram: 'cond_wait_entry', returnProgram: 'cond_wait_return' },
  { symbol: 'pthread_cond_timedwait', func: Func.PthreadCondTimedwait, entryProgram: 'cond_timedwait_entry', returnProgram: 'cond_timedwait_return' },
  { symbol: 'pthread_cond_clockwait', func: Func.PthreadCondClockwait, entryProgram: 'cond_clockwait_entry', returnProgram: 'cond_clockwait_return' },
];

/** A uprobe to attach: program, object, file offset. */
export interface PlannedProbe {
  program: string;
  func: number;
  symbol: string;
  object: string;
  buildId: string | null;
  offset: number;
  kind: 'uprobe' | 'uretprobe';
}

export interface ProbePlan {
  probes: PlannedProbe[];
  missing: string[]; // optional symbols an object lacks ("pthread_mutex_clocklock in /lib/...")
}

/**
 * The uprobes for every provider object. Two names at one address (an alias) are probed once,
 * or each call would be recorded twice.
 */
export function planUserProbes(providers: ElfObject[]): ProbePlan {
  const probes: PlannedProbe[] = [];
  const missing: string[] = [];
  for (const elf of providers) {
    const probedOffsets = new Set<number>();
    for (const spec of USER_PROBES) {
      const sym = findFunction(elf, spec.symbol);
      if (!sym) {
        missing.push(`${spec.symbol} in ${elf.path}`);
        continue;
      }
      if (probedOffsets.has(sym.fileOffset)) continue;
      probedOffsets.add(sym.fileOffset);
      const common = { func: spec.func, symbol: spec.symbol, object: elf.path, buildId: elf.buildId, offset: sym.fileOffset };
      probes.push({ ...common, program: spec.entryProgram, kind: 'uprobe' });
      if (spec.returnProgram) probes.push({ ...common, program: spec.returnProgram, kind: 'uretprobe' });
    }
  }
  return { probes, missing };
}

/** Programs that keep thread names right; attached by their section name in every recording. */
export const THREAD_PROGRAMS = ['on_task_rename', 'on_thread_exit'];
