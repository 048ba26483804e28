import type { MutexProgram } from '../bpf/programs';
import { Func } from '../core/events';
import { findFunction, readFunctionCode, type ElfObject } from './elf';
import { afterRefusedEntry, chooseProbeSite, entrySite, type ArgRegister, type ProbeInsn, type ProbeSite } from './probe_offsets';

/** One probed function and the BPF programs that observe its entry and return. */
interface ProbeSpec {
  symbol: string;
  func: number;
  entryProgram: UserProgram;
  returnProgram: UserProgram | null;
  args: ArgRegister[]; // what the entry program reads: must still hold the arguments at the probe
  /** The entry instruction is the lock's own atomic (a LOCK prefix, which cannot be probed): the
   * probes go after it, in either placement, and the programs expect that (spin_lock_entry). */
  pastLockedEntry?: boolean;
}

/** The programs of the pthread functions' uprobes (bench/'s empty.bpf.c has them by the same names). */
export type UserProgram = Extract<MutexProgram, `${'mutex' | 'cond' | 'rwlock' | 'spin'}_${string}_${'entry' | 'return'}`>;

/** Where probes go: the first instruction the kernel emulates (recorder/probe_offsets.ts), or +0. */
export type ProbePlacement = 'emulated' | 'entry';

const USER_PROBES: ProbeSpec[] = [
  { symbol: 'pthread_mutex_lock', func: Func.PthreadMutexLock, entryProgram: 'mutex_lock_entry', returnProgram: 'mutex_lock_return', args: ['rdi'] },
  { symbol: 'pthread_mutex_trylock', func: Func.PthreadMutexTrylock, entryProgram: 'mutex_trylock_entry', returnProgram: 'mutex_trylock_return', args: ['rdi'] },
  { symbol: 'pthread_mutex_timedlock', func: Func.PthreadMutexTimedlock, entryProgram: 'mutex_timedlock_entry', returnProgram: 'mutex_timedlock_return', args: ['rdi'] },
  { symbol: 'pthread_mutex_clocklock', func: Func.PthreadMutexClocklock, entryProgram: 'mutex_clocklock_entry', returnProgram: 'mutex_clocklock_return', args: ['rdi'] },
  { symbol: 'pthread_mutex_unlock', func: Func.PthreadMutexUnlock, entryProgram: 'mutex_unlock_entry', returnProgram: null, args: ['rdi'] },
  { symbol: 'pthread_cond_wait', func: Func.PthreadCondWait, entryProgram: 'cond_wait_entry', returnProgram: 'cond_wait_return', args: ['rdi', 'rsi'] },
  { symbol: 'pthread_cond_timedwait', func: Func.PthreadCondTimedwait, entryProgram: 'cond_timedwait_entry', returnProgram: 'cond_timedwait_return', args: ['rdi', 'rsi'] },
  { symbol: 'pthread_cond_clockwait', func: Func.PthreadCondClockwait, entryProgram: 'cond_clockwait_entry', returnProgram: 'cond_clockwait_return', args: ['rdi', 'rsi'] },
  { symbol: 'pthread_cond_signal', func: Func.PthreadCondSignal, entryProgram: 'cond_signal_entry', returnProgram: null, args: ['rdi'] },
  { symbol: 'pthread_cond_broadcast', func: Func.PthreadCondBroadcast, entryProgram: 'cond_broadcast_entry', returnProgram: null, args: ['rdi'] },
  ...lockProbes('pthread_rwlock_rdlock', Func.PthreadRwlockRdlock, 'rwlock_rdlock'),
  ...lockProbes('pthread_rwlock_tryrdlock', Func.PthreadRwlockTryrdlock, 'rwlock_tryrdlock'),
  ...lockProbes('pthread_rwlock_timedrdlock', Func.PthreadRwlockTimedrdlock, 'rwlock_timedrdlock'),
  ...lockProbes('pthread_rwlock_clockrdlock', Func.PthreadRwlockClockrdlock, 'rwlock_clockrdlock'),
  ...lockProbes('pthread_rwlock_wrlock', Func.PthreadRwlockWrlock, 'rwlock_wrlock'),
  ...lockProbes('pthread_rwlock_trywrlock', Func.PthreadRwlockTrywrlock, 'rwlock_trywrlock'),
  ...lockProbes('pthread_rwlock_timedwrlock', Func.PthreadRwlockTimedwrlock, 'rwlock_timedwrlock'),
  ...lockProbes('pthread_rwlock_clockwrlock', Func.PthreadRwlockClockwrlock, 'rwlock_clockwrlock'),
  { symbol: 'pthread_rwlock_unlock', func: Func.PthreadRwlockUnlock, entryProgram: 'rwlock_unlock_entry', returnProgram: null, args: ['rdi'] },
  { ...lockProbes('pthread_spin_lock', Func.PthreadSpinLock, 'spin_lock')[0], pastLockedEntry: true },
  ...lockProbes('pthread_spin_trylock', Func.PthreadSpinTrylock, 'spin_trylock'),
  // pthread_spin_init is the same function (glibc x86-64): probed once, its calls told apart in the program
  { symbol: 'pthread_spin_unlock', func: Func.PthreadSpinUnlock, entryProgram: 'spin_unlock_entry', returnProgram: null, args: ['rdi'] },
];

/** A lock function whose entry program reads the lock (rdi) and whose return program records the call. */
function lockProbes<P extends string>(symbol: string, func: number, program: P & (`${P}_entry` extends UserProgram ? unknown : never)): ProbeSpec[] {
  return [{ symbol, func, entryProgram: `${program}_entry` as UserProgram, returnProgram: `${program}_return` as UserProgram, args: ['rdi'] }];
}

/** A uprobe to attach: program, object, file offset. */
export interface PlannedProbe {
  program: UserProgram;
  func: number;
  symbol: string;
  object: string;
  buildId: string | null;
  offset: number; // file offset of the probed instruction
  funcOffset: number; // its distance from the function's entry
  insn: ProbeInsn; // whether the kernel emulates it or single-steps it
  insnText: string;
  kind: 'uprobe' | 'uretprobe';
}

export interface ProbePlan {
  probes: PlannedProbe[];
  missing: string[]; // optional symbols an object lacks ("pthread_mutex_clocklock in /lib/...")
}

/**
 * The uprobes for every provider object, the entry and return programs of a function at one site,
 * chosen from the object's own code. Two names at one address (an alias) are probed once, or each
 * call would be recorded twice.
 */
export function planUserProbes(providers: ElfObject[], placement: ProbePlacement = 'emulated'): ProbePlan {
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
      const site = probeSite(spec, readFunctionCode(elf, sym), placement);
      const common = {
        func: spec.func, symbol: spec.symbol, object: elf.path, buildId: elf.buildId,
        offset: sym.fileOffset + site.offset, funcOffset: site.offset, insn: site.insn, insnText: site.text,
      };
      probes.push({ ...common, program: spec.entryProgram, kind: 'uprobe' });
      if (spec.returnProgram) probes.push({ ...common, program: spec.returnProgram, kind: 'uretprobe' });
    }
  }
  return { probes, missing };
}

/** Where a probed function's programs go, from its code. */
function probeSite(spec: ProbeSpec, code: Uint8Array, placement: ProbePlacement): ProbeSite {
  const pastEntry = spec.pastLockedEntry ? afterRefusedEntry(code) : null;
  return pastEntry ?? (placement === 'entry' ? entrySite(code) : chooseProbeSite(code, spec.args));
}

/** The site planUserProbes picks for a probed function (by its symbol) with this code; null: not a probed function. */
export function plannedSite(symbol: string, code: Uint8Array, placement: ProbePlacement = 'emulated'): ProbeSite | null {
  const spec = USER_PROBES.find((s) => s.symbol === symbol);
  return spec ? probeSite(spec, code, placement) : null;
}

/** Every function probed in a C library, in the order they are planned. */
export const PROBED_SYMBOLS: readonly string[] = USER_PROBES.map((s) => s.symbol);

/** Programs that keep thread names right; attached by their section name in every recording. */
export const THREAD_PROGRAMS: MutexProgram[] = ['on_task_rename', 'on_thread_exit'];
