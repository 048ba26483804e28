/* Event layout shared by the BPF programs (mutex.bpf.c) and the addon that drains them. */
#ifndef MUTEX_PROFILER_H
#define MUTEX_PROFILER_H

/*
 * A lock call is one ACQUIRED event at its return that carries the request time (the call's entry)
 * in request_ts: two events per lock/unlock pair. A REQUEST event is only written for a call still
 * in progress when the recording stops (read from the pending maps), so a deadlocked thread's
 * request is not lost.
 */
enum mutex_stage {
	STAGE_REQUEST = 0,  /* the thread asked for the lock and had no answer when recording stopped */
	STAGE_ACQUIRED = 1, /* the lock function returned; ret says whether it got the lock */
	STAGE_RELEASED = 2, /* the thread gave the lock back (unlock entry, or cond-wait entry) */
	STAGE_THREAD = 3,   /* not a lock event: the thread's comm, in lock+caller */
	STAGE_WAKE = 4,     /* contention mode: a futex wake (ret: how many it woke), at its return */
};

/* Probed functions. Numbers are stored in run files: never renumber, only append. */
enum mutex_func {
	FN_PTHREAD_MUTEX_LOCK = 1,
	FN_PTHREAD_MUTEX_TRYLOCK = 2,
	FN_PTHREAD_MUTEX_TIMEDLOCK = 3,
	FN_PTHREAD_MUTEX_CLOCKLOCK = 4,
	FN_PTHREAD_MUTEX_UNLOCK = 5,
	FN_PTHREAD_COND_WAIT = 6,
	FN_PTHREAD_COND_TIMEDWAIT = 7,
	FN_PTHREAD_COND_CLOCKWAIT = 8,
	/* kernel mutexes */
	FN_MUTEX_LOCK = 16,
	FN_MUTEX_LOCK_INTERRUPTIBLE = 17,
	FN_MUTEX_LOCK_KILLABLE = 18,
	FN_MUTEX_LOCK_IO = 19,
	FN_MUTEX_TRYLOCK = 20,
	FN_MUTEX_UNLOCK = 21,
	FN_MUTEX_LOCK_NESTED = 22,
	FN_MUTEX_LOCK_INTERRUPTIBLE_NESTED = 23,
	FN_MUTEX_LOCK_KILLABLE_NESTED = 24,
	FN_MUTEX_LOCK_IO_NESTED = 25,
	/* lock:contention_begin/end: the wait of a contended kernel lock; flags say which kind */
	FN_KERNEL_CONTENTION = 26,
	/*
	 * Contention mode (mutex-rec --contention): the target's futex calls, seen at the syscalls'
	 * tracepoints. A wait is an ACQUIRED event on the futex word (request_ts: the syscall's entry,
	 * ts: its return); a wake a STAGE_WAKE event. Codes 64-79 are this mode's.
	 */
	FN_FUTEX_WAIT = 64,            /* FUTEX_WAIT, FUTEX_WAIT_BITSET, futex_wait(2) */
	FN_FUTEX_LOCK_PI = 65,         /* FUTEX_LOCK_PI, FUTEX_LOCK_PI2 */
	FN_FUTEX_WAIT_REQUEUE_PI = 66, /* FUTEX_WAIT_REQUEUE_PI (a PI condition variable's wait) */
	FN_FUTEX_WAITV = 67,           /* futex_waitv(2): lock is the word that woke it (the first, if none) */
	FN_FUTEX_WAKE = 68,            /* FUTEX_WAKE, FUTEX_WAKE_BITSET, futex_wake(2) */
	FN_FUTEX_WAKE_OP = 69,         /* FUTEX_WAKE_OP */
	FN_FUTEX_UNLOCK_PI = 70,       /* FUTEX_UNLOCK_PI */
	FN_FUTEX_REQUEUE = 71,         /* FUTEX_REQUEUE, FUTEX_CMP_REQUEUE(_PI), futex_requeue(2) */
};

/* lock:contention_begin flags (include/trace/events/lock.h) */
#define LCB_F_SPIN (1U << 0)
#define LCB_F_READ (1U << 1)
#define LCB_F_WRITE (1U << 2)
#define LCB_F_RT (1U << 3)
#define LCB_F_PERCPU (1U << 4)
#define LCB_F_MUTEX (1U << 5)

/*
 * flags of pthread and kernel mutex events (the contention tracepoint's events carry LCB_F_* in the
 * low bits instead). For a pthread lock call, the low 16 bits are glibc's pthread_mutex_t __kind
 * (PTHREAD_MUTEX_RECURSIVE_NP = 1, ERRORCHECK 2, ADAPTIVE 3; | ROBUST 16, PRIO_INHERIT 32,
 * PRIO_PROTECT 64, PSHARED 128, ELISION 256/512), valid when MUTEX_F_KIND_KNOWN is set.
 */
#define MUTEX_F_KIND_MASK 0xffffU
#define MUTEX_F_KIND_KNOWN (1U << 16)      /* the mutex's __kind could be read */
#define MUTEX_F_HELD_AT_REQUEST (1U << 17) /* at the call's entry the mutex was locked by another thread */
#define MUTEX_F_BLOCKED (1U << 18)         /* the thread slept (a voluntary context switch) inside the call */

/*
 * flags of futex events (FN_FUTEX_*). Bits 0-8: the futex op as called (cmd | FUTEX_PRIVATE_FLAG
 * 128 | FUTEX_CLOCK_REALTIME 256; futex_waitv, futex_wait/wake/requeue(2): 0). The layout bits say
 * what the memory around the word looked like at the wait (glibc's x86-64 layouts, read by the
 * entry program); the analyzer weighs them with the C library function at the call.
 */
#define FUTEX_F_OP_MASK 0x1ffU
#define FUTEX_F_RETRY (1U << 9)          /* continues the thread's previous wait on this word (its lock's slow path looped) */
#define FUTEX_F_LAYOUT_MUTEX (1U << 10)  /* the word heads a pthread_mutex_t: a valid __kind at +16, waited for with value 2 (or LOCK_PI) */
#define FUTEX_F_LAYOUT_COND (1U << 11)   /* the word is a pthread_cond_t's __g_signals[g] and its __wrefs counts a waiter */
#define FUTEX_F_LAYOUT_RWLOCK (1U << 12) /* the word is a pthread_rwlock_t's __wrphase_futex or __writers_futex */
#define FUTEX_F_HOLDER_OWNER (1U << 13)  /* holder: the owner the lock's memory named at the wait (__owner, __cur_writer, PI word) */
#define FUTEX_F_HOLDER_WAKER (1U << 14)  /* holder: the thread whose wake on the word came last during the wait */
#define FUTEX_F_SLEPT (1U << 15)         /* the thread slept in the call (a voluntary context switch) */
#define FUTEX_F_THREAD_EXIT (1U << 24)   /* the value waited for is a tid of the process: a wait for that thread's exit
					    (pthread_join; the kernel wakes it, CLONE_CHILD_CLEARTID) */
#define FUTEX_F_KIND_SHIFT 16            /* bits 16-23: the pthread_mutex_t __kind (low 8 bits) with FUTEX_F_LAYOUT_MUTEX;
					    futex_waitv: how many words it waited on */

struct mutex_event {
	__u64 ts;       /* bpf_ktime_get_ns(): CLOCK_MONOTONIC, ns */
	__u64 request_ts; /* STAGE_ACQUIRED: when the call was made (its entry); 0 otherwise */
	__u64 lock;     /* mutex address (STAGE_THREAD: comm bytes 0..7) */
	__u64 caller;   /* return address of the probed call (STAGE_THREAD: comm bytes 8..15) */
	__u32 pid;      /* tgid */
	__u32 tid;
	__s32 ret;      /* STAGE_ACQUIRED: the function's return value, kept as is */
	__s32 stack_id; /* the requester's call stack (ACQUIRED, REQUEST); -1: none */
	__u16 cpu;
	__u8 stage;     /* enum mutex_stage */
	__u8 func;      /* enum mutex_func */
	__u32 flags;    /* FN_KERNEL_CONTENTION: the contention_begin flags (LCB_F_*); FN_FUTEX_*: FUTEX_F_*; else MUTEX_F_* */
	__u32 holder;   /* futex waits: the thread credited with holding the lock (FUTEX_F_HOLDER_*), 0: none */
	__u32 pad;
};

/* A lock call in progress: the value of the pending maps (keyed by tid, or by tid and lock for the
 * contention tracepoints), read by the recorder at the stop for the calls that never returned. */
struct pending_call {
	__u64 ts;       /* entry: the request time */
	__u64 lock;
	__u64 caller;
	__u32 pid;
	__u32 tid;
	__s32 stack_id;
	__u32 flags;
	__u32 depth;    /* kernel: nested probed calls on the same lock (mutex_lock_io calls mutex_lock) */
	__u8 func;
	__u8 pad[3];
	__u64 nvcsw;    /* the thread's voluntary context switches at entry: more at the return = it slept */
};

/* A futex wait in progress (contention mode), keyed by tid: `call` is what pendingCalls() reads at
 * the stop for the waits that never returned. */
struct futex_call {
	struct pending_call call;
	__u64 waitv;    /* futex_waitv: the user array of struct futex_waitv */
	__u32 owner;    /* the owner tid the lock's memory named at the entry (FUTEX_F_LAYOUT_*, PI), 0: none */
	__u32 nr;       /* futex_waitv: its number of words */
};

/* Per-CPU counters, index into the `counters` map. */
enum mutex_counter {
	CNT_DROPPED = 0,      /* events lost: the ring buffer was full */
	CNT_STACK_FAILED = 1, /* call stacks not taken: the stack map was full, or a hash collision */
	CNT_PENDING_FULL = 2, /* lock calls not followed: no room in a pending map */
	CNT_FUTEX_UNREAD = 3, /* futex waits whose user registers or stack could not be read (no call site, no layout) */
	CNT_MAX = 4,
};

#endif
