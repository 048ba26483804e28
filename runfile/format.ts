/**
 * The run file's events, declared once. Everything else that knows an event's columns or codes is
 * made from this file: by scripts/build.sh (runfile/generate.ts: schema.sql, and the C headers
 * build/gen/runfile_format.h, with the ring-buffer record's offsets checked by _Static_assert, and
 * build/gen/runfile_columns.h, the column list of the addon's drain and of spool_rows.c), or when a
 * module loads (the TypeScript columns, the writer's SQL, the reader's chunk encoding).
 *
 * - A column: one line in EVENT_COLUMNS, then its field in bpf/mutex.h's struct mutex_event at
 *   the offset the build asserts, and its value in the BPF programs. The build fails until both exist.
 * - A function code, a stage or a flag: one line in FUNCS, STAGES, MUTEX_FLAGS or LCB_FLAGS. Codes
 *   are stored in run files: never renumber, only append.
 */

/** A column's type in the ring-buffer record (struct mutex_event). */
export type ColumnType = 'u64' | 's32' | 'u32' | 'u16' | 'u8';

export interface ColumnSpec {
  /** JavaScript name (EventColumns, RawEvent). */
  readonly key: string;
  /** Column of the events and event_spool tables, and field of struct mutex_event. */
  readonly sql: string;
  readonly type: ColumnType;
  /** u64 only: ns since the run's start (the ring buffer has CLOCK_MONOTONIC), or a signed 64-bit address. */
  readonly u64?: 'time' | 'address';
  /** Can be none: in the ring buffer 0 (a time, an address or a u32) or negative (s32); in JavaScript NaN (a time), -1 (s32) or 0 (u32); in SQL NULL. */
  readonly nullable?: boolean;
  /** The schema version that added it: files from before have none (read as none; nullable only). */
  readonly since?: number;
  /** The analyzer reads it (runfile/reader.ts); false: kept in the file only. */
  readonly analyzed: boolean;
  /** Values the analyzer accepts, when narrower than the type's. */
  readonly range?: readonly [number, number];
  readonly sqlDefault?: number;
  /** schema.sql's comment. */
  readonly doc: string;
}

/** In the order of struct mutex_event's fields (at C's alignment), of event_spool's BLOBs and of the events table. */
export const EVENT_COLUMNS = [
  { key: 'ts', sql: 'ts', type: 'u64', u64: 'time', analyzed: true, doc: 'ns since run.start_monotonic_ns: when the stage happened' },
  { key: 'requestTs', sql: 'request_ts', type: 'u64', u64: 'time', nullable: true, analyzed: true, doc: 'acquired: when the call was made (ns since run.start_monotonic_ns); NULL otherwise' },
  { key: 'lock', sql: 'lock', type: 'u64', u64: 'address', analyzed: true, doc: 'mutex address (signed 64-bit: kernel addresses are negative)' },
  { key: 'caller', sql: 'caller', type: 'u64', u64: 'address', analyzed: true, doc: 'return address of the lock/unlock call (0 when unknown)' },
  { key: 'pid', sql: 'pid', type: 'u32', analyzed: true, doc: 'process (tgid)' },
  { key: 'tid', sql: 'tid', type: 'u32', analyzed: true, doc: 'thread' },
  { key: 'ret', sql: 'ret', type: 's32', analyzed: true, doc: "acquired: the function's return value (0, EBUSY=16, ETIMEDOUT=110, ...)" },
  { key: 'stackId', sql: 'stack_id', type: 's32', nullable: true, analyzed: true, doc: "acquired and request rows: the requester's call stack (stack_frames), NULL if none" },
  { key: 'cpu', sql: 'cpu', type: 'u16', analyzed: false, doc: '-1 for a stage 0 row (read at the stop, not from an event)' },
  {
    key: 'stage', sql: 'stage', type: 'u8', analyzed: true, range: [0, 4],
    doc: '0 request (still waiting at the stop), 1 acquired (the call returned), 2 released, 4 wake (contention mode: a futex wake; ret is how many it woke)',
  },
  { key: 'func', sql: 'func', type: 'u8', analyzed: true, doc: 'the probed function (funcs)' },
  {
    key: 'flags', sql: 'flags', type: 'u32', analyzed: true, sqlDefault: 0,
    doc: "kernel contention tracepoint: LCB_F_* (lock kind); futex events (func 64-79): FUTEX_F_* (the op, the layout the " +
      "probe saw, the holder's source); other acquired events: bit 16 the low 16 bits are glibc's " +
      'pthread_mutex_t __kind (1 recursive, 2 errorcheck, 3 adaptive, |16 robust, |32 PI, ...), bit 17 another thread ' +
      'held the mutex at the call\'s entry, bit 18 the thread slept inside the call (MUTEX_F_*); rwlock calls: the low ' +
      'bits its __flags (preference), bit 17 held by a writer (or, for a write request, readers); rwlock unlock: bit 19 ' +
      'the caller was its writer; spin lock calls: bit 17 it was locked; cond signal/broadcast: bit 16 + the waiters it had',
  },
  {
    key: 'cond', sql: 'cond', type: 'u64', u64: 'address', nullable: true, analyzed: true, since: 5,
    doc: 'condition variable (signed 64-bit) of a cond wait (funcs 6-8: lock is the mutex it was called with; the release is ' +
      'its entry, the acquired row its return, request_ts its entry, ret its result) and of a cond signal or broadcast ' +
      '(funcs 32, 33: stage 2, a point event, lock the cond too); NULL otherwise. Files before schema 5 have none, and a cond ' +
      "wait's request_ts there is its return",
  },
  {
    key: 'holder', sql: 'holder', type: 'u32', nullable: true, since: 5, analyzed: true,
    doc: "futex waits (contention mode): the tid credited with holding the lock (flags say whether the lock's memory named it or it woke the waiter); NULL: none",
  },
  {
    key: 'outerCaller', sql: 'outer_caller', type: 'u64', u64: 'address', nullable: true, since: 6, analyzed: true,
    doc: "acquired and request rows of user lock calls: the return address of the function that made the lock call (its caller's " +
      "call site), read at the call from the stack where the object's .eh_frame puts it (mutex-rec finds each lock call's CFA " +
      "rule at record time): the frame after caller where frame pointers are missing; NULL when unknown",
  },
] as const satisfies readonly ColumnSpec[];

export type EventColumnSpec = (typeof EVENT_COLUMNS)[number];
export type ColumnKey = EventColumnSpec['key'];

/** Stages of an event. A lock call is one acquired event at its return, carrying its request time. */
export const STAGES = {
  Request: { code: 0, doc: 'the thread asked for the lock and had no answer when recording stopped' },
  Acquired: { code: 1, doc: 'the lock function returned; ret says whether it got the lock' },
  Released: { code: 2, doc: 'the thread gave the lock back (unlock entry, or cond-wait entry); a cond signal or broadcast' },
  Wake: { code: 4, doc: 'contention mode: a futex wake, at its return; ret is how many it woke (and requeued)' },
} as const;

/** A ring-buffer record that is not an event, never stored: a thread's comm, in lock and caller. */
export const THREAD_STAGE = 3;

/** Probed functions: name (the funcs table), and whose they are. */
export const FUNCS = {
  PthreadMutexLock: { code: 1, name: 'pthread_mutex_lock', domain: 'user' },
  PthreadMutexTrylock: { code: 2, name: 'pthread_mutex_trylock', domain: 'user' },
  PthreadMutexTimedlock: { code: 3, name: 'pthread_mutex_timedlock', domain: 'user' },
  PthreadMutexClocklock: { code: 4, name: 'pthread_mutex_clocklock', domain: 'user' },
  PthreadMutexUnlock: { code: 5, name: 'pthread_mutex_unlock', domain: 'user' },
  PthreadCondWait: { code: 6, name: 'pthread_cond_wait', domain: 'user' },
  PthreadCondTimedwait: { code: 7, name: 'pthread_cond_timedwait', domain: 'user' },
  PthreadCondClockwait: { code: 8, name: 'pthread_cond_clockwait', domain: 'user' },
  // 32-63: condition-variable signals, pthread rwlocks and spin locks (the cond waits are 6-8)
  PthreadCondSignal: { code: 32, name: 'pthread_cond_signal', domain: 'user' },
  PthreadCondBroadcast: { code: 33, name: 'pthread_cond_broadcast', domain: 'user' },
  PthreadRwlockRdlock: { code: 34, name: 'pthread_rwlock_rdlock', domain: 'user' },
  PthreadRwlockTryrdlock: { code: 35, name: 'pthread_rwlock_tryrdlock', domain: 'user' },
  PthreadRwlockTimedrdlock: { code: 36, name: 'pthread_rwlock_timedrdlock', domain: 'user' },
  PthreadRwlockClockrdlock: { code: 37, name: 'pthread_rwlock_clockrdlock', domain: 'user' },
  PthreadRwlockWrlock: { code: 38, name: 'pthread_rwlock_wrlock', domain: 'user' },
  PthreadRwlockTrywrlock: { code: 39, name: 'pthread_rwlock_trywrlock', domain: 'user' },
  PthreadRwlockTimedwrlock: { code: 40, name: 'pthread_rwlock_timedwrlock', domain: 'user' },
  PthreadRwlockClockwrlock: { code: 41, name: 'pthread_rwlock_clockwrlock', domain: 'user' },
  PthreadRwlockUnlock: { code: 42, name: 'pthread_rwlock_unlock', domain: 'user' },
  PthreadSpinLock: { code: 43, name: 'pthread_spin_lock', domain: 'user' },
  PthreadSpinTrylock: { code: 44, name: 'pthread_spin_trylock', domain: 'user' },
  PthreadSpinUnlock: { code: 45, name: 'pthread_spin_unlock', domain: 'user' },
  MutexLock: { code: 16, name: 'mutex_lock', domain: 'kernel' },
  MutexLockInterruptible: { code: 17, name: 'mutex_lock_interruptible', domain: 'kernel' },
  MutexLockKillable: { code: 18, name: 'mutex_lock_killable', domain: 'kernel' },
  MutexLockIo: { code: 19, name: 'mutex_lock_io', domain: 'kernel' },
  MutexTrylock: { code: 20, name: 'mutex_trylock', domain: 'kernel' },
  MutexUnlock: { code: 21, name: 'mutex_unlock', domain: 'kernel' },
  MutexLockNested: { code: 22, name: 'mutex_lock_nested', domain: 'kernel' },
  MutexLockInterruptibleNested: { code: 23, name: 'mutex_lock_interruptible_nested', domain: 'kernel' },
  MutexLockKillableNested: { code: 24, name: 'mutex_lock_killable_nested', domain: 'kernel' },
  MutexLockIoNested: { code: 25, name: 'mutex_lock_io_nested', domain: 'kernel' },
  // lock:contention_begin/end: the wait of a contended kernel lock; flags say which kind (LCB_FLAGS)
  KernelContention: { code: 26, name: 'lock:contention', domain: 'kernel' },
  // contention mode (mutex-rec --contention): the target's futex calls, codes 64-79. A wait is an
  // acquired event on the futex word (request_ts its entry, ts its return), a wake a wake event.
  FutexWait: { code: 64, name: 'futex_wait', domain: 'futex' }, // FUTEX_WAIT, FUTEX_WAIT_BITSET, futex_wait(2)
  FutexLockPi: { code: 65, name: 'futex_lock_pi', domain: 'futex' }, // FUTEX_LOCK_PI, FUTEX_LOCK_PI2
  FutexWaitRequeuePi: { code: 66, name: 'futex_wait_requeue_pi', domain: 'futex' }, // a PI condition variable's wait
  FutexWaitv: { code: 67, name: 'futex_waitv', domain: 'futex' }, // lock: the word that woke it (the first, if none)
  FutexWake: { code: 68, name: 'futex_wake', domain: 'futex' }, // FUTEX_WAKE, FUTEX_WAKE_BITSET, futex_wake(2)
  FutexWakeOp: { code: 69, name: 'futex_wake_op', domain: 'futex' },
  FutexUnlockPi: { code: 70, name: 'futex_unlock_pi', domain: 'futex' },
  FutexRequeue: { code: 71, name: 'futex_requeue', domain: 'futex' }, // FUTEX_REQUEUE, FUTEX_CMP_REQUEUE(_PI), futex_requeue(2)
} as const;

/**
 * flags of pthread and kernel mutex events. For a pthread lock call the low 16 bits are glibc's
 * pthread_mutex_t __kind (PTHREAD_MUTEX_RECURSIVE_NP = 1, ERRORCHECK 2, ADAPTIVE 3; | ROBUST 16,
 * PRIO_INHERIT 32, PRIO_PROTECT 64, PSHARED 128, ELISION 256/512), valid with KindKnown.
 */
export const MUTEX_FLAGS = {
  KindMask: { value: 0xffff, doc: "glibc's pthread_mutex_t __kind, valid with KIND_KNOWN" },
  KindKnown: { value: 1 << 16, doc: "the mutex's __kind could be read" },
  HeldAtRequest: { value: 1 << 17, doc: "at the call's entry the mutex was locked by another thread" },
  Blocked: { value: 1 << 18, doc: 'the thread slept (a voluntary context switch) inside the call' },
  RwlockWriter: { value: 1 << 19, doc: "pthread_rwlock_unlock: the caller was the rwlock's writer (glibc's __cur_writer), it gave up a write lock" },
  CondWaitersMask: { value: 0xffff, doc: 'pthread_cond_signal/broadcast: the waiters the cond had at the call (__wrefs >> 3, at most 0xffff), valid with KIND_KNOWN' },
} as const;

/**
 * flags of futex events (FN_FUTEX_*, bpf/futex.bpf.h). Bits 0-8: the futex op as called (cmd |
 * FUTEX_PRIVATE_FLAG 128 | FUTEX_CLOCK_REALTIME 256; futex_waitv, futex_wait/wake/requeue(2): 0).
 * The layout bits say what the memory around the word looked like at the wait (glibc's x86-64
 * layouts, read by the entry program); the analyzer weighs them with the C library function at the
 * call (core/futex.ts).
 */
export const FUTEX_FLAGS = {
  OpMask: { value: 0x1ff, doc: 'the futex op as called' },
  Retry: { value: 1 << 9, doc: "continues the thread's previous wait on this word (its lock's slow path looped)" },
  LayoutMutex: { value: 1 << 10, doc: 'the word heads a pthread_mutex_t: a valid __kind at +16, waited for with value 2 (or LOCK_PI)' },
  LayoutCond: { value: 1 << 11, doc: "the word is a pthread_cond_t's __g_signals[g]; __wrefs and __g_refs[g] count a waiter" },
  LayoutRwlock: { value: 1 << 12, doc: "the word is a pthread_rwlock_t's __wrphase_futex or __writers_futex" },
  HolderOwner: { value: 1 << 13, doc: "holder: the owner the lock's memory named at the wait (__owner, __cur_writer, a PI word)" },
  HolderWaker: { value: 1 << 14, doc: 'holder: the thread whose wake of the word came last during the wait' },
  Slept: { value: 1 << 15, doc: 'the thread slept in the call (a voluntary context switch)' },
  KindShift: { value: 16, doc: 'bits 16-23: the pthread_mutex_t __kind (low 8 bits) with LAYOUT_MUTEX; futex_waitv: its number of words' },
  ThreadExit: { value: 1 << 24, doc: "the value waited for is a tid of the process: a wait for that thread's exit (pthread_join)" },
} as const;

/** flags of the contention tracepoint's events: lock:contention_begin's (include/trace/events/lock.h). */
export const LCB_FLAGS = {
  Spin: { value: 1 << 0, doc: 'a spinning lock' },
  Read: { value: 1 << 1, doc: 'taken for reading' },
  Write: { value: 1 << 2, doc: 'taken for writing' },
  Rt: { value: 1 << 3, doc: 'an rt_mutex' },
  Percpu: { value: 1 << 4, doc: 'a per-CPU rw semaphore' },
  Mutex: { value: 1 << 5, doc: 'a mutex' },
} as const;

type Codes<T extends Record<string, { code: number }>> = { readonly [K in keyof T]: T[K]['code'] };
type Values<T extends Record<string, { value: number }>> = { readonly [K in keyof T]: T[K]['value'] };

export function codesOf<T extends Record<string, { code: number }>>(table: T): Codes<T> {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, v.code])) as Codes<T>;
}

export function valuesOf<T extends Record<string, { value: number }>>(table: T): Values<T> {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, v.value])) as Values<T>;
}

/** PthreadMutexLock -> PTHREAD_MUTEX_LOCK: a key's C name, after its prefix (FN_, STAGE_, MUTEX_F_, LCB_F_). */
export function cName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Bytes of a column's type. */
export function columnBytes(type: ColumnType): number {
  return { u64: 8, s32: 4, u32: 4, u16: 2, u8: 1 }[type];
}

/** Values a column's type holds, as stored (u64 columns are signed 64-bit in SQL: times and addresses). */
export function typeRange(type: ColumnType): [number, number] {
  switch (type) {
    case 'u64':
      return [-(2 ** 63), 2 ** 63 - 1];
    case 's32':
      return [-(2 ** 31), 2 ** 31 - 1];
    case 'u32':
      return [0, 2 ** 32 - 1];
    case 'u16':
      return [0, 2 ** 16 - 1];
    case 'u8':
      return [0, 255];
  }
}
