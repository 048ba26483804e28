import { UserError } from '../core/errors';
import { Func } from '../core/events';
import { addon, BPF_OBJECT, type BpfSession } from './addon';
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
  syntheticSource: boolean; // benchmark only: getppid() of the target emits events
}

const SYNTHETIC_PROGRAM = 'synthetic_source';

/** Contention mode's programs (bpf/futex.bpf.h): the futex syscalls' tracepoints. futex_waitv(2)
 * came with Linux 5.16, futex_wait/wake/requeue(2) with 6.7: on an older kernel they are skipped. */
interface FutexProgram {
  program: string;
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
function attachFutexPrograms(session: BpfSession, programs: FutexProgram[]): FutexProgram[] {
  const attached: FutexProgram[] = [];
  for (let i = 0; i < programs.length; i += 2) {
    const [enter, exit] = [programs[i], programs[i + 1]];
    try {
      session.attachAuto(enter.program);
    } catch (err) {
      if (enter.optional) continue;
      throw err;
    }
    session.attachAuto(exit.program); // the pair's tracepoints come and go together
    attached.push(enter, exit);
  }
  return attached;
}

/** A row of the run file's probes table. */
export interface ProbeRecord {
  func: number;
  object: string;
  buildId: string | null;
  offset: number;
  funcOffset: number | null; // uprobes: bytes past the function's entry
  insn: string | null; // uprobes: 'emulated' | 'single-stepped' (how the kernel runs the probed instruction)
  kind: string;
}

export interface LoadedProbes {
  session: BpfSession;
  kernelMethod: KernelMethod | null;
  probes: ProbeRecord[];
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
  let session: BpfSession;
  try {
    session = new addon.BpfSession(BPF_OBJECT);
  } catch (err) {
    throw new UserError(`${(err as Error).message}: run the build (npm run build)`);
  }
  try {
    const kernelProbes: KernelProbe[] = method ? planKernelProbes(method, ksyms) : [];
    const extra = req.syntheticSource ? [SYNTHETIC_PROGRAM] : [];
    const futex = req.futexPid ? FUTEX_PROGRAMS : [];
    const wanted = new Set([
      ...req.userProbes.map((p) => p.program), ...kernelProbes.map((p) => p.program), ...THREAD_PROGRAMS, ...extra, ...futex.map((p) => p.program),
    ]);
    for (const program of session.programs()) session.setAutoload(program, wanted.has(program));
    session.setGlobal('target_tgid', req.userPid ?? req.futexPid ?? 0);
    session.setGlobal('futex_tgid', req.futexPid ?? 0);
    session.setGlobal('kernel_tgid', req.kernel?.tgid ?? 0);
    session.setGlobal('self_tgid', process.pid);
    session.setRingBufferSize(req.ringBufferBytes);
    session.setGlobal('capture_stacks', req.stackDepth > 0 ? 1 : 0);
    session.setStackDepth(Math.max(1, req.stackDepth));
    session.load();
    for (const p of kernelProbes) session.attachAuto(p.program);
    for (const p of req.userProbes) session.attachUprobe(p.program, p.object, p.offset, p.kind === 'uretprobe', req.userPid ?? -1);
    for (const program of [...THREAD_PROGRAMS, ...extra]) session.attachAuto(program);
    const futexAttached = attachFutexPrograms(session, futex);
    const probes: ProbeRecord[] = [
      ...futexAttached.map((p) => ({ func: p.func, object: `kernel:${p.tracepoint}`, buildId: null, offset: 0, funcOffset: null, insn: null, kind: 'tracepoint' })),
      ...req.userProbes.map((p) => ({ func: p.func, object: p.object, buildId: p.buildId, offset: p.offset, funcOffset: p.funcOffset, insn: p.insn, kind: p.kind })),
      ...kernelProbes.map((p) => ({ func: p.func, object: `kernel:${p.target}`, buildId: null, offset: 0, funcOffset: null, insn: null, kind: p.kind })),
    ];
    return { session, kernelMethod: method, probes };
  } catch (err) {
    session.close();
    throw err;
  }
}
