import { futexKind } from './futex';
import { codesOf, FUNCS, LCB_FLAGS, MUTEX_FLAGS, STAGES, valuesOf } from '../runfile/format';

/** Event codes and flags (declared in runfile/format.ts, with the run file's stages and funcs tables). */
export const Stage = codesOf(STAGES);
export type StageCode = (typeof Stage)[keyof typeof Stage];

export const Func = codesOf(FUNCS);

/** A futex call seen in contention mode (func codes 64-79). */
export function isFutexFunc(func: number): boolean {
  return func >= 64 && func < 80;
}

/** pthread_rwlock_rdlock and its try/timed/clock variants. */
export function isRwlockRead(func: number): boolean {
  return func >= Func.PthreadRwlockRdlock && func <= Func.PthreadRwlockClockrdlock;
}

/** pthread_rwlock_wrlock and its try/timed/clock variants. */
export function isRwlockWrite(func: number): boolean {
  return func >= Func.PthreadRwlockWrlock && func <= Func.PthreadRwlockClockwrlock;
}

/** Any pthread rwlock function, unlock included. */
export function isRwlockFunc(func: number): boolean {
  return func >= Func.PthreadRwlockRdlock && func <= Func.PthreadRwlockUnlock;
}

export function isSpinFunc(func: number): boolean {
  return func >= Func.PthreadSpinLock && func <= Func.PthreadSpinUnlock;
}

/** pthread_cond_signal and pthread_cond_broadcast: point events on the cond (stage released). */
export function isCondWake(func: number): boolean {
  return func === Func.PthreadCondSignal || func === Func.PthreadCondBroadcast;
}

/** The pthread mutex functions (lock calls, unlock, and the cond waits that release and re-take it). */
function isPthreadMutexFunc(func: number): boolean {
  return func >= Func.PthreadMutexLock && func <= Func.PthreadCondClockwait;
}

/** A futex wait: an acquired (or request) event whose wait is all that is seen. */
export function isFutexWait(func: number): boolean {
  return func >= Func.FutexWait && func <= Func.FutexWaitv;
}

/** Kernel mutexes and the contention tracepoints: 16-31; 32-63 are pthread rwlocks, spin locks and cond signals, 64-79 futex calls. */
export function isKernelFunc(func: number): boolean {
  return func >= Func.MutexLock && !(func >= 32 && func < 64) && !isFutexFunc(func);
}

/** The contention tracepoints and futex waits see a wait but never the release: no hold. */
export function isWaitOnly(func: number): boolean {
  return func === Func.KernelContention || isFutexWait(func);
}

/** A cond wait re-takes its mutex before returning, whatever it returns (ETIMEDOUT included). */
export function isCondWait(func: number): boolean {
  return func === Func.PthreadCondWait || func === Func.PthreadCondTimedwait || func === Func.PthreadCondClockwait;
}

/** flags of pthread and kernel mutex events (MUTEX_F_*); contention-tracepoint events carry LCB_F_* instead. */
export const MutexFlag = valuesOf(MUTEX_FLAGS);
const LcbFlag = valuesOf(LCB_FLAGS);

/** glibc's __kind: PTHREAD_MUTEX_KIND_MASK_NP and the flag bits above it. */
const PTHREAD_KIND_MASK = 3;
const PTHREAD_TYPES = ['normal', 'recursive', 'errorcheck', 'adaptive'] as const;
const PTHREAD_KIND_FLAGS: [number, string][] = [[16, 'robust'], [32, 'pi'], [64, 'pp'], [128, 'pshared']];

function pthreadType(flags: number): string | null {
  if (!(flags & MutexFlag.KindKnown)) return null;
  const kind = flags & MutexFlag.KindMask;
  return [PTHREAD_TYPES[kind & PTHREAD_KIND_MASK], ...PTHREAD_KIND_FLAGS.filter(([bit]) => kind & bit).map(([, name]) => name)].join('+');
}

/**
 * Is this a re-entry into a recursive mutex? Only when the mutex's type, read from the mutex at
 * the call, says recursive: recursion is never inferred from the events.
 */
export function isRecursiveMutex(func: number, flags: number | undefined): boolean {
  if (!isPthreadMutexFunc(func) || flags === undefined || !(flags & MutexFlag.KindKnown)) return false;
  return (flags & PTHREAD_KIND_MASK) === 1;
}

/** Did the thread have to wait, as the kernel and the mutex saw it (blocked in the call, or held by another thread at its entry)? */
export function waitedPerProbes(func: number, flags: number | undefined): boolean {
  if (func === Func.KernelContention || flags === undefined) return false;
  return (flags & (MutexFlag.HeldAtRequest | MutexFlag.Blocked)) !== 0;
}

/** Did this acquired-stage event take the lock? Lock functions return 0 on success, or
 * EOWNERDEAD for a robust mutex whose owner died (the caller holds it then); cond waits hold the
 * mutex again on any return except EINVAL/EPERM (bad arguments, the mutex not owned). */
export function acquiredLock(func: number, ret: number): boolean {
  if (isCondWait(func)) return ret !== EINVAL && ret !== EPERM;
  if (isFutexWait(func)) return true; // a wait, however it ended (woken, EAGAIN, ETIMEDOUT, EINTR): its time was spent waiting
  if (func === Func.MutexTrylock) return ret === 1; // the kernel's trylock returns 1 on success
  return ret === 0 || (ret === EOWNERDEAD && !isKernelFunc(func));
}

export const EPERM = 1;
export const EINVAL = 22;
export const EBUSY = 16;
export const ETIMEDOUT = 110;
export const EDEADLK = 35;
export const EOWNERDEAD = 130;

const ERRNO_NAMES: Record<number, string> = {
  [EPERM]: 'EPERM',
  [EINVAL]: 'EINVAL',
  [EBUSY]: 'EBUSY',
  [ETIMEDOUT]: 'ETIMEDOUT',
  [EDEADLK]: 'EDEADLK',
  [EOWNERDEAD]: 'EOWNERDEAD',
  11: 'EAGAIN',
};

/** Pthread functions return errno values; kernel ones return -errno (EINTR for an interrupted wait). */
export function errnoName(ret: number): string {
  if (ret < 0) return ret === -4 ? '-EINTR' : `-${ERRNO_NAMES[-ret] ?? String(-ret)}`;
  if (ret === 0) return '0';
  return ERRNO_NAMES[ret] ?? String(ret);
}

/** One raw lock event as stored in the run file. ts: ns since the run's monotonic start. */
export interface RawEvent {
  id: number;
  ts: number;
  requestTs?: number | null; // acquired: when the call was made (absent or null: a request row before it)
  stage: number;
  func: number;
  pid: number;
  tid: number;
  lock: number;
  ret: number;
  caller: number;
  flags?: number; // kernel contention tracepoint: LCB_F_* (absent: 0)
  stackId?: number | null; // acquired and request rows: the requester's call stack id (absent or null: none)
  holder?: number; // futex waits: the thread the probes credited with holding the lock (absent or 0: none)
  cond?: number | null; // cond waits (lock is the mutex), signals and broadcasts: the condition variable (absent or null: none)
  outerCaller?: number | null; // user lock calls: the return address of the function that made the call (absent or null: none)
}

/** Lock addresses are stored as signed 64-bit integers; print them as unsigned hex. */
export function formatAddress(signedAddress: number): string {
  if (signedAddress >= 0) return `0x${signedAddress.toString(16)}`;
  return `0x${(BigInt.asUintN(64, BigInt(signedAddress))).toString(16)}`;
}

export function parseAddress(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (!/^(0x)?[0-9a-f]+$/.test(t)) return null;
  return Number(BigInt.asIntN(64, BigInt(t.startsWith('0x') ? t : `0x${t}`)));
}

export const RWLOCK_READ = 'pthread_rwlock:R';
export const RWLOCK_WRITE = 'pthread_rwlock:W';
export const SPIN = 'pthread_spin';
export const COND = 'pthread_cond';

/** What `report --kind` selects by: mutexes (pthread and kernel), rwlocks (pthread, and the kernel's rwsems and rwlocks), spin locks, condition variables. */
export const KIND_FAMILIES = ['mutex', 'rwlock', 'spin', 'cond'] as const;
export type KindFamily = (typeof KIND_FAMILIES)[number];

export function kindFamily(kind: string): KindFamily {
  if (kind === COND) return 'cond';
  if (kind.startsWith('pthread_rwlock') || kind.startsWith('rwsem') || kind.startsWith('rwlock') || kind.startsWith('pcpu-sem')) return 'rwlock';
  if (kind === SPIN || kind === 'spinlock') return 'spin';
  return 'mutex';
}

/** The kind of lock an event is about, as perf lock names them for the contention tracepoints. */
export function lockKind(func: number, flags: number): string {
  if (isFutexFunc(func)) return futexKind(flags, null).kind;
  if (isRwlockRead(func)) return RWLOCK_READ;
  if (isRwlockWrite(func)) return RWLOCK_WRITE;
  if (func === Func.PthreadRwlockUnlock) return flags & MutexFlag.RwlockWriter ? RWLOCK_WRITE : RWLOCK_READ;
  if (isSpinFunc(func)) return SPIN;
  if (isCondWake(func)) return COND;
  if (!isKernelFunc(func)) {
    const type = pthreadType(flags);
    return type && type !== 'normal' ? `pthread_mutex:${type}` : 'pthread_mutex';
  }
  if (func !== Func.KernelContention) return 'mutex';
  const rw = flags & LcbFlag.Read ? ':R' : flags & LcbFlag.Write ? ':W' : '';
  if (flags & LcbFlag.Mutex) return 'mutex';
  if (flags & LcbFlag.Rt) return 'rtmutex';
  if (flags & LcbFlag.Percpu) return `pcpu-sem${rw}`;
  if (flags & LcbFlag.Spin) return rw ? `rwlock${rw}` : 'spinlock';
  return rw ? `rwsem${rw}` : 'unknown';
}
