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
	STAGE_RELEASED = 2, /* the thread gave the lock back (unlock entry, or cond-wait entry); a cond signal/broadcast */
	STAGE_THREAD = 3,   /* not a lock event: the thread's comm, in lock+caller */
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
	/* condition variables (the waits are 6-8: their events carry the cond, and lock is the mutex) */
	FN_PTHREAD_COND_SIGNAL = 32,
	FN_PTHREAD_COND_BROADCAST = 33,
	/* pthread rwlocks */
	FN_PTHREAD_RWLOCK_RDLOCK = 34,
	FN_PTHREAD_RWLOCK_TRYRDLOCK = 35,
	FN_PTHREAD_RWLOCK_TIMEDRDLOCK = 36,
	FN_PTHREAD_RWLOCK_CLOCKRDLOCK = 37,
	FN_PTHREAD_RWLOCK_WRLOCK = 38,
	FN_PTHREAD_RWLOCK_TRYWRLOCK = 39,
	FN_PTHREAD_RWLOCK_TIMEDWRLOCK = 40,
	FN_PTHREAD_RWLOCK_CLOCKWRLOCK = 41,
	FN_PTHREAD_RWLOCK_UNLOCK = 42,
	/* pthread spin locks */
	FN_PTHREAD_SPIN_LOCK = 43,
	FN_PTHREAD_SPIN_TRYLOCK = 44,
	FN_PTHREAD_SPIN_UNLOCK = 45,
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
/* pthread_rwlock_unlock: the caller was the rwlock's writer (glibc's __cur_writer), so it gave up a
 * write lock, not a read lock. Its rdlock/wrlock calls carry the rwlock's __flags (its preference:
 * 0 readers, 1 writers, 2 writers non-recursive) in the low bits, with MUTEX_F_KIND_KNOWN. */
#define RWLOCK_F_WRITER (1U << 19)
/* pthread_cond_signal/broadcast: the low 16 bits are the waiters the cond had at the call (glibc's
 * __wrefs >> 3, at most 0xffff), valid with MUTEX_F_KIND_KNOWN. */
#define COND_F_WAITERS_MASK 0xffffU

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
	__u32 flags;    /* FN_KERNEL_CONTENTION: the contention_begin flags (LCB_F_*); else MUTEX_F_* */
	__u64 cond;     /* cond waits, signals and broadcasts: the condition variable (a wait's lock is its mutex); 0 otherwise */
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
	__u64 cond;     /* a cond wait: its condition variable (lock is the mutex); 0 otherwise */
};

/* Per-CPU counters, index into the `counters` map. */
enum mutex_counter {
	CNT_DROPPED = 0,      /* events lost: the ring buffer was full */
	CNT_STACK_FAILED = 1, /* call stacks not taken: the stack map was full, or a hash collision */
	CNT_PENDING_FULL = 2, /* lock calls not followed: no room in a pending map */
	CNT_MAX = 3,
};

#endif
