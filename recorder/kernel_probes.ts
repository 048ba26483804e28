import type { MutexProgram } from '../bpf/programs';
import { Func } from '../core/events';
import type { KernelSymbols } from './kallsyms';

import type { KernelMethod } from '../core/kernel_methods';

const LOCK_FUNCTIONS = [
  { name: 'mutex_lock', func: Func.MutexLock },
  { name: 'mutex_lock_interruptible', func: Func.MutexLockInterruptible },
  { name: 'mutex_lock_killable', func: Func.MutexLockKillable },
  { name: 'mutex_lock_io', func: Func.MutexLockIo },
  { name: 'mutex_trylock', func: Func.MutexTrylock },
  // only with CONFIG_DEBUG_LOCK_ALLOC
  { name: 'mutex_lock_nested', func: Func.MutexLockNested },
  { name: 'mutex_lock_interruptible_nested', func: Func.MutexLockInterruptibleNested },
  { name: 'mutex_lock_killable_nested', func: Func.MutexLockKillableNested },
  { name: 'mutex_lock_io_nested', func: Func.MutexLockIoNested },
] as const;

export interface KernelProbe {
  program: MutexProgram;
  func: number;
  kind: 'fentry' | 'fexit' | 'kprobe' | 'kretprobe' | 'tracepoint';
  target: string; // kernel function or tracepoint
}

/** The programs a method needs on this kernel (functions the kernel lacks are left out). */
export function planKernelProbes(method: KernelMethod, ksyms: KernelSymbols): KernelProbe[] {
  if (method === 'tracepoint') {
    return [
      { program: 'on_contention_begin', func: Func.KernelContention, kind: 'tracepoint', target: 'lock:contention_begin' },
      { program: 'on_contention_end', func: Func.KernelContention, kind: 'tracepoint', target: 'lock:contention_end' },
    ];
  }
  const [entry, exit] = method === 'fentry' ? (['fentry', 'fexit'] as const) : (['kprobe', 'kretprobe'] as const);
  const probes: KernelProbe[] = [];
  for (const { name, func } of LOCK_FUNCTIONS) {
    if (!ksyms.has(name)) continue;
    // Template literal types: a program of these names missing from mutex.bpf.c does not compile.
    const [entryProgram, exitProgram]: [MutexProgram, MutexProgram] = [`${entry}_${name}`, `${exit}_${name}`];
    probes.push({ program: entryProgram, func, kind: entry, target: name });
    probes.push({ program: exitProgram, func, kind: exit, target: name });
  }
  const unlock: MutexProgram = `${entry}_mutex_unlock`;
  probes.push({ program: unlock, func: Func.MutexUnlock, kind: entry, target: 'mutex_unlock' });
  return probes;
}
