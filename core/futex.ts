import { FUTEX_FLAGS, valuesOf } from '../runfile/format';

/**
 * Contention mode's futex events (bpf/futex.bpf.h; their flags are declared in runfile/format.ts FUTEX_FLAGS): what their flags say,
 * and what kind of lock a waited-for word is.
 */

export const FutexFlag = valuesOf(FUTEX_FLAGS);

/** The futex op's command (FUTEX_WAIT 0, ... FUTEX_LOCK_PI2 13). */
export function futexCommand(flags: number): number {
  return flags & 0x7f;
}

const FUTEX_WAIT = 0;
const FUTEX_WAIT_BITSET = 9;
const FUTEX_LOCK_PI = 6;
const FUTEX_LOCK_PI2 = 13;

/** How a futex word's kind was told (README: Contention mode). */
export type KindSource = 'function' | 'layout' | 'none';

export interface FutexKind {
  kind: string; // pthread_mutex[:type], pthread_rwlock, pthread_cond, thread_exit, libc_lock, futex:pi, futex
  source: KindSource;
}

/** The C library's function a futex call was made from tells the kind (frame 0 of its stack). */
const FUNCTION_KINDS: [RegExp, string][] = [
  // a program's own futex call (Rust's std locks, custom locks) through the C library's syscall(), or Go's runtime
  // (its assembly functions carry Go's ABI0 suffix in the symbol table: runtime.futex.abi0)
  [/^(syscall|runtime\.futex|runtime\.futexsleep|runtime\.futexwakeup)(\.abi0)?$/, 'futex'],
  [/^__lll_lock_wait_private\b/, 'libc_lock'],
  [/^(__lll_lock_wait|__lll_clocklock_wait|__lll_timedlock_wait|__lll_robust_lock_wait|__pthread_mutex_lock_full)\b/, 'pthread_mutex'],
  [/pthread_mutex_/, 'pthread_mutex'],
  [/pthread_rwlock_/, 'pthread_rwlock'],
  [/pthread_cond_|__condvar_/, 'pthread_cond'],
];

const MUTEX_TYPES = ['', ':recursive', ':errorcheck', ':adaptive'];

/** pthread_mutex with the type the layout read gave (pthread_mutex:recursive, ...). */
function mutexKind(flags: number): string {
  if (!(flags & FutexFlag.LayoutMutex)) return 'pthread_mutex';
  const kind = (flags >>> FutexFlag.KindShift) & 0xff;
  const extra = [[16, 'robust'], [32, 'pi'], [128, 'pshared']].filter(([bit]) => kind & (bit as number)).map(([, n]) => n);
  const type = MUTEX_TYPES[kind & 3];
  if (!type && extra.length === 0) return 'pthread_mutex';
  return `pthread_mutex:${[type.slice(1), ...extra].filter(Boolean).join('+')}`;
}

/**
 * What kind of lock a futex wait waited for: first from the C library function the call was made
 * in (the innermost frame's name, when the stack was recorded and its object has symbols), then
 * from the memory layout the probe saw at the wait (glibc's x86-64 layouts), else `futex`.
 */
export function futexKind(flags: number, innermostFunction: string | null): FutexKind {
  const cmd = futexCommand(flags);
  const pi = cmd === FUTEX_LOCK_PI || cmd === FUTEX_LOCK_PI2;
  if (innermostFunction) {
    for (const [pattern, kind] of FUNCTION_KINDS) {
      if (pattern.test(innermostFunction)) return { kind: kind === 'pthread_mutex' ? mutexKind(flags) : kind, source: 'function' };
    }
  }
  if (flags & FutexFlag.ThreadExit && innermostFunction !== 'syscall') return { kind: 'thread_exit', source: 'layout' };
  const mutex = (flags & FutexFlag.LayoutMutex) !== 0;
  const rwlock = (flags & FutexFlag.LayoutRwlock) !== 0;
  const cond = (flags & FutexFlag.LayoutCond) !== 0;
  // glibc's mutex slow path waits with FUTEX_WAIT (LOCK_PI for PI), the rwlock's with WAIT_BITSET
  if (mutex && (!rwlock || cmd === FUTEX_WAIT || pi) && !cond) return { kind: mutexKind(flags), source: 'layout' };
  if (rwlock && (!mutex || cmd === FUTEX_WAIT_BITSET) && !cond) return { kind: 'pthread_rwlock', source: 'layout' };
  if (cond && !mutex && !rwlock) return { kind: 'pthread_cond', source: 'layout' };
  return { kind: pi ? 'futex:pi' : 'futex', source: 'none' };
}

/** A condition variable's wait, or a wait for a thread's exit, is not lock contention: it waits for an event. */
export function isEventWaitKind(kind: string): boolean {
  return kind === 'pthread_cond' || kind === 'thread_exit';
}
