/* What the BPF programs (mutex.bpf.c) share with the addon that loads and drains them. */
#ifndef MUTEX_PROFILER_H
#define MUTEX_PROFILER_H

/*
 * A lock call is one ACQUIRED event at its return that carries the request time (the call's entry)
 * in request_ts: two events per lock/unlock pair. A REQUEST event is only written for a call still
 * in progress when the recording stops (read from the pending maps), so a deadlocked thread's
 * request is not lost.
 *
 * The stages (enum mutex_stage), function codes (enum mutex_func) and flags (MUTEX_F_*, LCB_F_*)
 * are declared in runfile/format.ts, and generated from it by the build.
 */
#include "runfile_codes.h"

/* One event of the ring buffer: its fields are the run file's event columns (runfile/format.ts),
 * in that order; runfile_layout.h checks each one's offset and type. */
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
	__u64 cond;     /* cond waits, signals and broadcasts: the condition variable (a wait's lock is its mutex); 0 otherwise */
	__u32 holder;   /* futex waits: the thread credited with holding the lock (FUTEX_F_HOLDER_*), 0: none */
	__u64 outer_caller; /* user lock calls: the return address of the function that made the call (lock_call_sites), 0: none */
};

#include "runfile_layout.h"

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
	__u64 outer_caller; /* the caller's own return address (lock_call_sites), 0: none, OUTER_CALLER_BUSY: look again at the return */
	__u64 caller_sp;    /* where the call's return address is on the stack (for that second look) */
};

/* pending_call.outer_caller while the entry could not look its call site up (the process was
 * changing its mappings): never a return address. */
#define OUTER_CALLER_BUSY 1

/* A lock call in an object the recorder read (outer_caller.bpf.h): the key of lock_call_sites,
 * whose value is the call's CFA offset. */
struct lock_call_site {
	__u64 ino;    /* the object's inode */
	__u64 size;   /* and its size: the same file the recorder read (an inode number alone repeats across filesystems) */
	__u64 offset; /* file offset of the call's return address */
};

/* outer_cache (outer_caller.bpf.h): a return address in a process, and its lock call's CFA offset. */
struct outer_cache_key {
	__u32 tgid;
	__u32 pad;
	__u64 ret_addr;
};

#define NO_LOCK_CALL_SITE 0xffffffffU

struct outer_cache_value {
	__u32 cfa_offset; /* NO_LOCK_CALL_SITE: not a lock call in the table */
	__u32 generation; /* of the table when looked up: a miss older than the table's last addition is looked up again */
};

/* The recording's settings (bpf/recording.h settings, .rodata: set before load). */
struct recording_config {
	__u32 target_tgid;    /* uprobes: this process (0: any) */
	__u32 kernel_tgid;    /* kernel probes: this process's tasks (0: every task but the recorder) */
	__u32 self_tgid;      /* the recorder: its own uprobes calibrate the probes; kernel probes leave it out */
	__u32 capture_stacks; /* 0: no call stacks (--no-stacks) */
	__u32 futex_tgid;     /* contention mode: this process's futex calls (futex.bpf.h); 0: off */
	__u32 stack_depth;    /* frames per user call stack (user_stack.bpf.h), 1..MAX_STACK_FRAMES */
};

/* Call stacks: at most this many frames (--stack-depth); user stacks' ids (user_stack.bpf.h) from
 * USER_STACK_ID_BASE up, kernel stacks' (the stacks map) below. */
#define MAX_STACK_FRAMES 127
#define USER_STACK_ID_BASE 0x40000000U

/* The recording window (bpf/recording.h window, .bss: written while the programs run), CLOCK_MONOTONIC ns. */
struct recording_window {
	__u64 start_ns; /* 0: not open yet */
	__u64 end_ns;   /* 0: no end */
};

/* futex_thread.state: what futex call the thread is in. */
enum futex_thread_state {
	FUTEX_IDLE = 0,
	FUTEX_WAITING = 1, /* a wait: pendingCalls() reads `call` at the stop, a wait that never returned */
	FUTEX_WAKING = 2,
};

/* A thread's futex state (contention mode), keyed by tid and kept while it lives, so that its calls
 * read and write it in place: one lookup at a call's entry and one at its return, where a map
 * update and delete per call cost more than the rest of the programs together. */
struct futex_thread {
	struct pending_call call; /* the call in progress (a wake uses ts, lock, flags and func) */
	__u64 waitv;    /* futex_waitv: the user array of struct futex_waitv */
	__u32 owner;    /* the owner tid the lock's memory named at the entry (FUTEX_F_LAYOUT_*, PI), 0: none */
	__u32 nr;       /* futex_waitv: its number of words */
	__u32 state;    /* enum futex_thread_state */
	__u32 pad;
	/* its last wait, from its return until the thread's next futex call (FUTEX_F_RETRY); last_ts 0: none */
	__u64 last_lock;
	__u64 last_ts;
	__u64 last_nivcsw; /* involuntary context switches at that return */
};

/* Per-CPU counters, index into the `counters` map. */
enum mutex_counter {
	CNT_DROPPED = 0,      /* events lost: the ring buffer was full */
	CNT_STACK_FAILED = 1, /* call stacks not taken: the stack map was full, or a hash collision */
	CNT_PENDING_FULL = 2, /* lock calls not followed: no room in a pending map */
	CNT_FUTEX_UNREAD = 3, /* futex calls whose user registers could not be read (no call site, no layout) */
	CNT_MAX = 4,
};

#endif
