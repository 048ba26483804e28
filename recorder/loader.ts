import { UserError } from '../core/errors';
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
  kernel: { method: KernelMethod | 'auto'; tgid: number } | null; // tgid 0: every task
  ringBufferBytes: number;
  stackDepth: number; // frames per call stack; 0: no stacks
  benchObject: string | null; // benchmark only: a BPF object loaded beside the session, sharing its maps (bpf/recording.h)
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
  let session: MutexSession;
  try {
    session = new addon.MutexSession();
  } catch (err) {
    throw new UserError(`${(err as Error).message}: run the build (npm run build)`);
  }
  let benchObject: BpfObject | null = null;
  try {
    const kernelProbes: KernelProbe[] = method ? planKernelProbes(method, ksyms) : [];
    const programs = new Set<MutexProgram>([...req.userProbes.map((p) => p.program), ...kernelProbes.map((p) => p.program), ...THREAD_PROGRAMS]);
    session.configure({
      programs: [...programs].map(mutexProgram),
      targetTgid: req.userPid ?? 0,
      kernelTgid: req.kernel?.tgid ?? 0,
      selfTgid: process.pid,
      captureStacks: req.stackDepth > 0,
      ringBufferBytes: req.ringBufferBytes,
      stackDepth: Math.max(1, req.stackDepth),
    });
    session.load();
    for (const p of kernelProbes) session.attachAuto(mutexProgram(p.program));
    for (const p of req.userProbes) session.attachUprobe(mutexProgram(p.program), p.object, p.offset, p.kind === 'uretprobe', req.userPid ?? -1);
    for (const program of THREAD_PROGRAMS) session.attachAuto(mutexProgram(program));
    if (req.benchObject) {
      benchObject = new addon.BpfObject(req.benchObject);
      benchObject.load({ shareMapsWith: session });
      benchObject.attachAll();
    }
    const probes: ProbeRow[] = [
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
