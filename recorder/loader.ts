import { UserError } from '../core/errors';
import type { ProbeRow } from '../runfile/rows';
import { addon, BPF_OBJECT, type BpfSession } from './addon';
import type { KernelSymbols } from './kallsyms';
import { KERNEL_METHODS, type KernelMethod } from '../core/kernel_methods';
import { planKernelProbes, type KernelProbe } from './kernel_probes';
import { THREAD_PROGRAMS, type PlannedProbe } from './probes';

export interface LoadRequest {
  userProbes: PlannedProbe[]; // empty: no pthread probes
  userPid: number | null;
  kernel: { method: KernelMethod | 'auto'; tgid: number } | null; // tgid 0: every task
  ringBufferBytes: number;
  stackDepth: number; // frames per call stack; 0: no stacks
  syntheticSource: boolean; // benchmark only: getppid() of the target emits events
}

const SYNTHETIC_PROGRAM = 'synthetic_source';

export interface LoadedProbes {
  session: BpfSession;
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
      throw new UserError(`${(err as Error).message}: check that this kernel supports BPF uprobes (CONFIG_UPROBE_EVENTS, CONFIG_BPF_EVENTS)`);
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
    const wanted = new Set([...req.userProbes.map((p) => p.program), ...kernelProbes.map((p) => p.program), ...THREAD_PROGRAMS, ...extra]);
    for (const program of session.programs()) session.setAutoload(program, wanted.has(program));
    session.setGlobal('target_tgid', req.userPid ?? 0);
    session.setGlobal('kernel_tgid', req.kernel?.tgid ?? 0);
    session.setGlobal('self_tgid', process.pid);
    session.setRingBufferSize(req.ringBufferBytes);
    session.setGlobal('capture_stacks', req.stackDepth > 0 ? 1 : 0);
    session.setStackDepth(Math.max(1, req.stackDepth));
    session.load();
    for (const p of kernelProbes) session.attachAuto(p.program);
    for (const p of req.userProbes) session.attachUprobe(p.program, p.object, p.offset, p.kind === 'uretprobe', req.userPid ?? -1);
    for (const program of [...THREAD_PROGRAMS, ...extra]) session.attachAuto(program);
    const probes: ProbeRow[] = [
      ...req.userProbes.map((p) => ({ func: p.func, object: p.object, buildId: p.buildId, offset: p.offset, funcOffset: p.funcOffset, insn: p.insn, kind: p.kind })),
      ...kernelProbes.map((p) => ({ func: p.func, object: `kernel:${p.target}`, buildId: null, offset: 0, funcOffset: null, insn: null, kind: p.kind })),
    ];
    return { session, kernelMethod: method, probes };
  } catch (err) {
    session.close();
    throw err;
  }
}
