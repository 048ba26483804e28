export type KernelMethod = 'fentry' | 'kprobe' | 'tracepoint';
export const KERNEL_METHODS: KernelMethod[] = ['fentry', 'kprobe', 'tracepoint'];

/** What each way of probing kernel mutexes sees, and cannot see: said by every report of its runs. */
export const KERNEL_METHOD_LIMITS: Record<KernelMethod, string> = {
  fentry: 'sees every kernel mutex acquisition: request, acquired and released',
  kprobe: 'sees every kernel mutex acquisition: request, acquired and released (kprobes cost more than fentry)',
  tracepoint:
    'sees only contended kernel lock acquisitions, and only their wait: no uncontended acquisitions, no hold times, no caller',
};
