import { UserError } from '../core/errors';
import { Func } from '../core/events';
import type { ProbeRow } from '../runfile/rows';
import type { MutexProgram } from '../bpf/programs';
import { addon, mutexProgram, type BpfObject, type MutexSession } from './addon';
import type { KernelSymbols } from './kallsyms';
import { KERNEL_METHODS, type KernelMethod } from '../core/kernel_methods';
import { planKernelProbes, type KernelProbe } from './kernel_probes';
import { THREAD_PROGRAMS, type PlannedProbe } from './probes';

export interface LoadRequest {
  userProbes: PlannedProbe[]; // empty: no pthread probes
  userPid: number | null;
  futexPid?: number | null; // contention mode: this process's futex calls (bpf/futex.bpf.h)
  kernel: { method: KernelMethod | 'auto'; tgid: number } | null; // tgid 0: every task
  ringBufferBytes: number;
  stackDepth: number; // frames per call stack; 0: no stacks
  benchObject: string | null; // benchmark only: a BPF object loaded beside the session, sharing its maps (bpf/recording.h)
}

/** Contention mode's programs (bpf/futex.bpf.h): the futex syscalls' tracepoints, in enter/exit
 * pairs. futex_waitv(2) came with Linux 5.16, futex_wait/wake/requeue(2) with 6.7: on an older
 * kernel those pairs are left out. */
interface FutexProgram {
  program: MutexProgram;
  tracepoint: string;
  func: number;
  optional: boolean;
}

const FUTEX_PROGRAMS: FutexProgram[] = [
  { program: 'futex_enter', tracepoint: 'syscalls:sys_enter_futex', func: Func.FutexWait, optional: false },
  { program: 'futex_exit', tracepoint: 'syscalls:sys_exit_futex', func: Func.FutexWait, optional: false },
  { program: 'futex_waitv_enter', tracepoint: 'syscalls:sys_enter_futex_waitv', func: Func.FutexWaitv, optional: true },
  { program: 'futex_waitv_exit', tracepoint: 'syscalls:sys_exit_futex_waitv', func: Func.FutexWaitv, optional: true },
  { program: 'futex2_wait_enter', tracepoint: 'syscalls:sys_enter_futex_wait', func: Func.FutexWait, optional: true },
  { program: 'futex2_wait_exit', tracepoint: 'syscalls:sys_exit_futex_wait', func: Func.FutexWait, optional: true },
  { program: 'futex2_wake_enter', tracepoint: 'syscalls:sys_enter_futex_wake', func: Func.FutexWake, optional: true },
  { program: 'futex2_wake_exit', tracepoint: 'syscalls:sys_exit_futex_wake', func: Func.FutexWake, optional: true },
  { program: 'futex2_requeue_enter', tracepoint: 'syscalls:sys_enter_futex_requeue', func: Func.FutexRequeue, optional: true },
  { program: 'futex2_requeue_exit', tracepoint: 'syscalls:sys_exit_futex_requeue', func: Func.FutexRequeue, optional: true },
];

/** Attaches the futex programs; an optional pair whose tracepoints this kernel lacks is left out. */
function attachFutexPrograms(session: MutexSession, programs: FutexProgram[]): FutexProgram[] {
  const attached: FutexProgram[] = [];
  for (let i = 0; i < programs.length; i += 2) {
    const [enter, exit] = [programs[i], programs[i + 1]];
    try {
      session.attachAuto(mutexProgram(enter.program));
    } catch (err) {
      if (enter.optional) continue;
      throw err;
    }
    session.attachAuto(mutexProgram(exit.program)); // the pair's tracepoints come and go together
    attached.push(enter, exit);
  }
  return attached;
}

export interface LoadedProbes {
  session: MutexSession;
  benchObject: BpfObject | null;
  kernelMethod: KernelMethod | null;
  probes: ProbeRow[];
}

/**
 * Loads the BPF object with only the programs asked for and attaches them. With a kernel method
 * of 'auto', tries fentry, then kprobes, then the contention tracepoints, keeping the first that
 * loads and attaches; every failure's reason is kept for the error if none works.
 */
export function loadProbes(req: LoadRequest, ksyms: KernelSymbols): LoadedProbes {
  if (!req.kernel) {
    try {
      return attempt(req, null, ksyms);
    } catch (err) {
      const needs = req.futexPid ? 'the syscalls tracepoints (CONFIG_FTRACE_SYSCALLS, CONFIG_BPF_EVENTS)' : 'BPF uprobes (CONFIG_UPROBE_EVENTS, CONFIG_BPF_EVENTS)';
      throw new UserError(`${(err as Error).message}: check that this kernel supports ${needs}`);
    }
  }
  const methods = req.kernel.method === 'auto' ? KERNEL_METHODS : [req.kernel.method];
  const failures: string[] = [];
  for (const method of methods) {
    try {
      return attempt(req, method, ksyms);
    } catch (err) {
      failures.push(`${method}: ${(err as Error).message}`);
    }
  }
  const hint = req.kernel.method === 'auto' ? 'this kernel supports none of fentry, kprobes and the lock:contention tracepoints' : 'try --kernel-probe auto';
  throw new UserError(`cannot probe kernel mutexes: ${failures.join('; ')}: ${hint}`);
}

function attempt(req: LoadRequest, method: KernelMethod | null, ksyms: KernelSymbols): LoadedProbes {
  let session: MutexSession;
  try {
    session = new addon.MutexSession();
  } catch (err) {
    throw new UserError(`${(err as Error).message}: run the build (npm run build)`);
  }
  let benchObject: BpfObject | null = null;
  try {
    const kernelProbes: KernelProbe[] = method ? planKernelProbes(method, ksyms) : [];
    const futex = req.futexPid ? FUTEX_PROGRAMS : [];
    const programs = new Set<MutexProgram>([
      ...req.userProbes.map((p) => p.program), ...kernelProbes.map((p) => p.program), ...THREAD_PROGRAMS, ...futex.map((p) => p.program),
    ]);
    session.configure({
      programs: [...programs].map(mutexProgram),
      targetTgid: req.userPid ?? req.futexPid ?? 0,
      kernelTgid: req.kernel?.tgid ?? 0,
      selfTgid: process.pid,
      captureStacks: req.stackDepth > 0,
      futexTgid: req.futexPid ?? 0,
      ringBufferBytes: req.ringBufferBytes,
      stackDepth: Math.max(1, req.stackDepth),
    });
    session.load();
    for (const p of kernelProbes) session.attachAuto(mutexProgram(p.program));
    for (const p of req.userProbes) session.attachUprobe(mutexProgram(p.program), p.object, p.offset, p.kind === 'uretprobe', req.userPid ?? -1);
    for (const program of THREAD_PROGRAMS) session.attachAuto(mutexProgram(program));
    const futexAttached = attachFutexPrograms(session, futex);
    if (req.benchObject) {
      benchObject = new addon.BpfObject(req.benchObject);
      benchObject.load({ shareMapsWith: session });
      benchObject.attachAll();
    }
    const probes: ProbeRow[] = [
      ...futexAttached.map((p) => ({ func: p.func, object: `kernel:${p.tracepoint}`, buildId: null, offset: 0, funcOffset: null, insn: null, kind: 'tracepoint' })),
      ...req.userProbes.map((p) => ({ func: p.func, object: p.object, buildId: p.buildId, offset: p.offset, funcOffset: p.funcOffset, insn: p.insn, kind: p.kind })),
      ...kernelProbes.map((p) => ({ func: p.func, object: `kernel:${p.target}`, buildId: null, offset: 0, funcOffset: null, insn: null, kind: p.kind })),
    ];
    return { session, benchObject, kernelMethod: method, probes };
  } catch (err) {
    benchObject?.close();
    session.close();
    throw err;
  }
}
