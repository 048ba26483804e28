/* Event layout shared by the BPF programs (mutex.bpf.c) and the addon that drains them. */
#ifndef MUTEX_PROFILER_H
#define MUTEX_PROFILER_H

enum mutex_stage {
	STAGE_REQUEST = 0,  /* the thread asked for the lock (function entry) */
	STAGE_ACQUIRED = 1, /* the lock function returned; ret says whether it got the lock */
	STAGE_RELEASED = 2, /* the thread gave the lock back (unlock entry, or cond-wait entry) */
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
};

struct mutex_event {
	__u64 ts;       /* bpf_ktime_get_ns(): CLOCK_MONOTONIC, ns */
	__u64 lock;     /* mutex address (STAGE_THREAD: comm bytes 0..7) */
	__u64 caller;   /* return address of the probed call (STAGE_THREAD: comm bytes 8..15) */
	__u32 pid;      /* tgid */
	__u32 tid;
	__s32 ret;      /* STAGE_ACQUIRED: the function's return value, kept as is */
	__s32 stack_id; /* -1: no stack */
	__u16 cpu;
	__u8 stage;     /* enum mutex_stage */
	__u8 func;      /* enum mutex_func */
	__u32 flags;    /* reserved */
};

/* Per-CPU counters, index into the `counters` map. */
enum mutex_counter {
	CNT_EMITTED = 0, /* events written into the ring buffer */
	CNT_DROPPED = 1, /* events lost: the ring buffer was full */
	CNT_MAX = 2,
};

#endif
