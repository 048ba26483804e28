import type { MutexProgram } from '../bpf/programs';
import { Func } from '../core/events';
import { findFunction, readFunctionCode, type ElfObject } from './elf';
import { chooseProbeSite, entrySite, type ArgRegister, type ProbeInsn, type ProbeSite } from './probe_offsets';

/** One probed function and the BPF programs that observe its entry and return. */
interface ProbeSpec {
  symbol: string;
  func: number;
  entryProgram: UserProgram;
  returnProgram: UserProgram | null;
  args: ArgRegister[]; // what the entry program reads: must still hold the arguments at the probe
}

/** The programs of the pthread functions' uprobes (bench/'s empty.bpf.c has them by the same names). */
export type UserProgram = Extract<
  MutexProgram,
  `${'mutex' | 'cond'}_${'lock' | 'trylock' | 'timedlock' | 'clocklock' | 'unlock' | 'wait' | 'timedwait' | 'clockwait'}_${'entry' | 'return'}`
>;

/** Where probes go: the first instruction the kernel emulates (recorder/probe_offsets.ts), or +0. */
export type ProbePlacement = 'emulated' | 'entry';

const USER_PROBES: ProbeSpec[] = [
  { symbol: 'pthread_mutex_lock', func: Func.PthreadMutexLock, entryProgram: 'mutex_lock_entry', returnProgram: 'mutex_lock_return', args: ['rdi'] },
  { symbol: 'pthread_mutex_trylock', func: Func.PthreadMutexTrylock, entryProgram: 'mutex_trylock_entry', returnProgram: 'mutex_trylock_return', args: ['rdi'] },
  { symbol: 'pthread_mutex_timedlock', func: Func.PthreadMutexTimedlock, entryProgram: 'mutex_timedlock_entry', returnProgram: 'mutex_timedlock_return', args: ['rdi'] },
  { symbol: 'pthread_mutex_clocklock', func: Func.PthreadMutexClocklock, entryProgram: 'mutex_clocklock_entry', returnProgram: 'mutex_clocklock_return', args: ['rdi'] },
  { symbol: 'pthread_mutex_unlock', func: Func.PthreadMutexUnlock, entryProgram: 'mutex_unlock_entry', returnProgram: null, args: ['rdi'] },
  { symbol: 'pthread_cond_wait', func: Func.PthreadCondWait, entryProgram: 'cond_wait_entry', returnProgram: 'cond_wait_return', args: ['rsi'] },
  { symbol: 'pthread_cond_timedwait', func: Func.PthreadCondTimedwait, entryProgram: 'cond_timedwait_entry', returnProgram: 'cond_timedwait_return', args: ['rsi'] },
  { symbol: 'pthread_cond_clockwait', func: Func.PthreadCondClockwait, entryProgram: 'cond_clockwait_entry', returnProgram: 'cond_clockwait_return', args: ['rsi'] },
];

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
      const code = readFunctionCode(elf, sym);
      const site: ProbeSite = placement === 'entry' ? entrySite(code) : chooseProbeSite(code, spec.args);
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

/** Programs that keep thread names right; attached by their section name in every recording. */
export const THREAD_PROGRAMS: MutexProgram[] = ['on_task_rename', 'on_thread_exit'];
