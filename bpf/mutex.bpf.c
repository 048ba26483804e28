// SPDX-License-Identifier: GPL-2.0
/* Mutex events: acquired (carrying its request time), released; see mutex.h and recording.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "mutex.h"

#include "recording.h"
#include "outer_caller.bpf.h"
#include "user_stack.bpf.h"

/* Call stacks of requests; the loader sizes values to --stack-depth frames, and the number of
 * entries to what 16 MiB holds (at most 65536): a hash of that many buckets, where a stack whose
 * bucket is taken by another is lost (counted: CNT_STACK_FAILED). */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 65536);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

/* The call a thread is inside of (pthread lock call or cond wait), for the return probe. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pending_call);
} pending SEC(".maps");

/* Separate from `pending`: a thread inside a pthread lock call may take kernel mutexes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pending_call);
} kernel_pending SEC(".maps");

/* Voluntary context switches of the current thread: a lock call that sleeps (futex wait, mutex
 * slow path) makes at least one. */
static __always_inline __u64 voluntary_switches(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, nvcsw);
}

static __always_inline int kernel_wanted(__u32 tgid)
{
	if (tgid == settings.self_tgid)
		return 0;
	return settings.kernel_tgid == 0 || tgid == settings.kernel_tgid;
}

/* The requester's kernel call stack (kernel mutexes, contention tracepoints). */
static __always_inline __s32 request_stack(void *ctx, __u64 stack_flags)
{
	if (!settings.capture_stacks)
		return -1;
	__s32 id = bpf_get_stackid(ctx, &stacks, stack_flags);
	if (id < 0)
		count(CNT_STACK_FAILED);
	return id;
}

/* The requester's user call stack, at these registers (user_stack.bpf.h). */
static __always_inline __s32 request_user_stack(__u64 ip, __u64 bp, __u64 sp)
{
	if (!settings.capture_stacks)
		return -1;
	__s32 id = user_stack_id(ip, bp, sp);
	if (id < 0)
		count(CNT_STACK_FAILED);
	return id;
}

static __always_inline __u64 return_address(struct pt_regs *ctx)
{
	__u64 ra = 0;
	bpf_probe_read_user(&ra, sizeof(ra), (void *)PT_REGS_SP(ctx));
	return ra;
}

/* Remembers the call a thread is inside of, for the return probe (which has no arguments). */
static __always_inline __u64 enter_call(struct pt_regs *ctx, __u64 id, __u64 ts, __u8 func, __u64 lock, __s32 stack_id,
					 __u32 flags, __u64 cond)
{
	__u32 tid = (__u32)id;
	__u64 caller = return_address(ctx);
	struct pending_call call = {
		.ts = ts, .lock = lock, .caller = caller, .pid = id >> 32, .tid = tid,
		.stack_id = stack_id, .flags = flags, .depth = 0, .func = func, .nvcsw = voluntary_switches(), .cond = cond,
		.outer_caller = stack_id >= 0 ? outer_caller(caller, PT_REGS_SP(ctx)) : 0, .caller_sp = PT_REGS_SP(ctx),
	};
	if (bpf_map_update_elem(&pending, &tid, &call, BPF_ANY) != 0)
		count(CNT_PENDING_FULL);
	return call.caller;
}

/* The head of glibc's x86-64 struct __pthread_mutex_s (sysdeps/x86/nptl/bits/struct_mutex.h). */
struct glibc_mutex_head {
	int lock;      /* 0: free */
	__u32 count;   /* recursion depth of a recursive mutex */
	int owner;     /* tid of the holder, 0: none */
	__u32 nusers;
	int kind;      /* PTHREAD_MUTEX_* type and flags; -1 once destroyed */
};

/* MUTEX_F_KIND_KNOWN | __kind, or 0 when the mutex cannot be read (not resident, not a mutex). */
static __always_inline __u32 mutex_kind(const struct glibc_mutex_head *m)
{
	return m->kind >= 0 ? MUTEX_F_KIND_KNOWN | ((__u32)m->kind & MUTEX_F_KIND_MASK) : 0;
}

/* What the mutex says at a lock call's entry: its type, and whether another thread holds it. */
static __always_inline __u32 mutex_state_at_entry(__u64 lock, __u32 tid)
{
	struct glibc_mutex_head m;
	if (bpf_probe_read_user(&m, sizeof(m), (void *)lock) != 0)
		return 0;
	__u32 flags = mutex_kind(&m);
	if ((m.lock != 0 || m.owner != 0) && (__u32)m.owner != tid)
		flags |= MUTEX_F_HELD_AT_REQUEST;
	return flags;
}

/* Entry of a lock function: the request, kept until the return. */
static __always_inline int on_lock_entry(struct pt_regs *ctx, __u8 func, __u64 lock)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32) || !in_window(ts))
		return 0;
	enter_call(ctx, id, ts, func, lock, request_user_stack(PT_REGS_IP(ctx), PT_REGS_FP(ctx), PT_REGS_SP(ctx)), mutex_state_at_entry(lock, (__u32)id), 0);
	return 0;
}

/* At a call's return: did the thread sleep inside it; and the mutex's type if the entry could
 * not read it (the call has touched the mutex since, so its page is resident now). */
static __always_inline __u32 flags_at_return(const struct pending_call *call, int is_user_mutex)
{
	__u32 flags = call->flags;
	if (voluntary_switches() != call->nvcsw)
		flags |= MUTEX_F_BLOCKED;
	if (is_user_mutex && !(flags & MUTEX_F_KIND_KNOWN)) {
		struct glibc_mutex_head m;
		if (bpf_probe_read_user(&m, sizeof(m), (void *)call->lock) == 0)
			flags |= mutex_kind(&m);
	}
	return flags;
}

/* Return of a lock function: acquired (ret == 0) or failed (EBUSY, ETIMEDOUT, ...). No pending call:
 * the thread entered it outside the window. After the window's end the call stays pending. */
static __always_inline int on_lock_return(struct pt_regs *ctx)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32) || !in_window(ts))
		return 0;
	__u32 tid = (__u32)id;
	struct pending_call *call = bpf_map_lookup_elem(&pending, &tid);
	if (!call)
		return 0;
	settle_outer_caller(call);
	if (!requested_before_window(call))
		emit_acquired(id, ts, call, (__s32)PT_REGS_RC(ctx), flags_at_return(call, 1));
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mutex_lock_entry, void *lock) { return on_lock_entry(ctx, FN_PTHREAD_MUTEX_LOCK, (__u64)lock); }
SEC("uretprobe")
int BPF_KRETPROBE(mutex_lock_return) { return on_lock_return(ctx); }

SEC("uprobe")
int BPF_KPROBE(mutex_trylock_entry, void *lock) { return on_lock_entry(ctx, FN_PTHREAD_MUTEX_TRYLOCK, (__u64)lock); }
SEC("uretprobe")
int BPF_KRETPROBE(mutex_trylock_return) { return on_lock_return(ctx); }

SEC("uprobe")
int BPF_KPROBE(mutex_timedlock_entry, void *lock) { return on_lock_entry(ctx, FN_PTHREAD_MUTEX_TIMEDLOCK, (__u64)lock); }
SEC("uretprobe")
int BPF_KRETPROBE(mutex_timedlock_return) { return on_lock_return(ctx); }

SEC("uprobe")
int BPF_KPROBE(mutex_clocklock_entry, void *lock) { return on_lock_entry(ctx, FN_PTHREAD_MUTEX_CLOCKLOCK, (__u64)lock); }
SEC("uretprobe")
int BPF_KRETPROBE(mutex_clocklock_return) { return on_lock_return(ctx); }

SEC("uprobe")
int BPF_KPROBE(mutex_unlock_entry, void *lock)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32) || !in_window(ts))
		return 0;
	emit_release(id, ts, FN_PTHREAD_MUTEX_UNLOCK, (__u64)lock, return_address(ctx));
	return 0;
}

/*
 * pthread_cond_*wait(cond, mutex, ...) unlocks the mutex on entry and locks it again before it
 * returns, through glibc-internal calls the public probes do not see. Entry is recorded as the
 * mutex's release; the return as one event that is both the cond wait (request_ts its entry, ret
 * its result: ETIMEDOUT for a timeout) and the mutex's re-acquisition (its own wait is inside the
 * cond wait and not observable here). Both events carry the cond; lock is the mutex. The call
 * stack is taken at the entry, as for lock calls.
 */
static __always_inline int on_cond_entry(struct pt_regs *ctx, __u8 func, __u64 cond, __u64 mutex)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32) || !in_window(ts))
		return 0;
	__u64 caller = enter_call(ctx, id, ts, func, mutex, request_user_stack(PT_REGS_IP(ctx), PT_REGS_FP(ctx), PT_REGS_SP(ctx)), 0, cond);
	emit_full(id, ts, 0, STAGE_RELEASED, func, mutex, caller, 0, 0, -1, cond);
	return 0;
}

static __always_inline int on_cond_return(struct pt_regs *ctx)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32) || !in_window(ts))
		return 0;
	__u32 tid = (__u32)id;
	struct pending_call *call = bpf_map_lookup_elem(&pending, &tid);
	if (!call)
		return 0;
	/* MUTEX_F_BLOCKED here says the thread slept for the condition, never that the mutex was contended */
	settle_outer_caller(call);
	if (!requested_before_window(call))
		emit_acquired(id, ts, call, (__s32)PT_REGS_RC(ctx), flags_at_return(call, 1));
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(cond_wait_entry, void *cond, void *mutex) { return on_cond_entry(ctx, FN_PTHREAD_COND_WAIT, (__u64)cond, (__u64)mutex); }
SEC("uretprobe")
int BPF_KRETPROBE(cond_wait_return) { return on_cond_return(ctx); }

SEC("uprobe")
int BPF_KPROBE(cond_timedwait_entry, void *cond, void *mutex) { return on_cond_entry(ctx, FN_PTHREAD_COND_TIMEDWAIT, (__u64)cond, (__u64)mutex); }
SEC("uretprobe")
int BPF_KRETPROBE(cond_timedwait_return) { return on_cond_return(ctx); }

SEC("uprobe")
int BPF_KPROBE(cond_clockwait_entry, void *cond, void *mutex) { return on_cond_entry(ctx, FN_PTHREAD_COND_CLOCKWAIT, (__u64)cond, (__u64)mutex); }
SEC("uretprobe")
int BPF_KRETPROBE(cond_clockwait_return) { return on_cond_return(ctx); }

/* glibc's x86-64 pthread_cond_t: __wrefs at 36 counts the waiters in units of 8 (low bits are flags). */
#define GLIBC_COND_WREFS_OFFSET 36

/* pthread_cond_signal/broadcast: a point event (stage released) on the cond, with its waiters then. */
static __always_inline int on_cond_wake(struct pt_regs *ctx, __u8 func, __u64 cond)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32) || !in_window(ts))
		return 0;
	__u32 wrefs = 0, flags = 0;
	if (bpf_probe_read_user(&wrefs, sizeof(wrefs), (void *)(cond + GLIBC_COND_WREFS_OFFSET)) == 0) {
		__u32 waiters = wrefs >> 3;
		flags = MUTEX_F_KIND_KNOWN | (waiters > MUTEX_F_COND_WAITERS_MASK ? MUTEX_F_COND_WAITERS_MASK : waiters);
	}
	emit_full(id, ts, 0, STAGE_RELEASED, func, cond, return_address(ctx), 0, flags, -1, cond);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(cond_signal_entry, void *cond) { return on_cond_wake(ctx, FN_PTHREAD_COND_SIGNAL, (__u64)cond); }
SEC("uprobe")
int BPF_KPROBE(cond_broadcast_entry, void *cond) { return on_cond_wake(ctx, FN_PTHREAD_COND_BROADCAST, (__u64)cond); }

/*
 * pthread rwlocks: the same request/acquired/released events as mutexes, on the rwlock's address;
 * the function says read or write. glibc's x86-64 pthread_rwlock_t (struct __pthread_rwlock_arch_t):
 * __readers at 0 (bit 1 PTHREAD_RWLOCK_WRLOCKED, the readers from bit 3), __cur_writer (the
 * writer's tid) at 24, __flags (the preference) at 48.
 */
struct glibc_rwlock_head {
	__u32 readers;
	__u32 writers;
	__u32 wrphase_futex;
	__u32 writers_futex;
	__u32 pad3;
	__u32 pad4;
	int cur_writer;
	int shared;
	__u8 elision;
	__u8 pad1[7];
	__u64 pad2;
	__u32 flags;
};
#define GLIBC_RWLOCK_WRLOCKED 2U
#define GLIBC_RWLOCK_READER_SHIFT 3

/* At a rdlock/wrlock call's entry: the rwlock's preference, and whether another thread holds it
 * in a way this call must wait for (a writer; for a write request, readers too). */
static __always_inline __u32 rwlock_state_at_entry(__u64 lock, __u32 tid, int write)
{
	struct glibc_rwlock_head r;
	if (bpf_probe_read_user(&r, sizeof(r), (void *)lock) != 0)
		return 0;
	__u32 flags = MUTEX_F_KIND_KNOWN | (r.flags & MUTEX_F_KIND_MASK);
	int writer = (r.readers & GLIBC_RWLOCK_WRLOCKED) && (__u32)r.cur_writer != tid;
	if (writer || (write && (r.readers >> GLIBC_RWLOCK_READER_SHIFT) > 0))
		flags |= MUTEX_F_HELD_AT_REQUEST;
	return flags;
}

static __always_inline int on_rwlock_entry(struct pt_regs *ctx, __u8 func, __u64 lock, int write)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32) || !in_window(ts))
		return 0;
	enter_call(ctx, id, ts, func, lock, request_user_stack(PT_REGS_IP(ctx), PT_REGS_FP(ctx), PT_REGS_SP(ctx)), rwlock_state_at_entry(lock, (__u32)id, write), 0);
	return 0;
}

/* Return of an rwlock or spin lock call (no mutex type to read). */
static __always_inline int on_other_lock_return(struct pt_regs *ctx)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32) || !in_window(ts))
		return 0;
	__u32 tid = (__u32)id;
	struct pending_call *call = bpf_map_lookup_elem(&pending, &tid);
	if (!call)
		return 0;
	settle_outer_caller(call);
	if (!requested_before_window(call))
		emit_acquired(id, ts, call, (__s32)PT_REGS_RC(ctx), flags_at_return(call, 0));
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

#define RWLOCK_PROBES(name, code, write)                                                                          \
	SEC("uprobe")                                                                                             \
	int BPF_KPROBE(name##_entry, void *lock) { return on_rwlock_entry(ctx, code, (__u64)lock, write); }        \
	SEC("uretprobe")                                                                                          \
	int BPF_KRETPROBE(name##_return) { return on_other_lock_return(ctx); }

RWLOCK_PROBES(rwlock_rdlock, FN_PTHREAD_RWLOCK_RDLOCK, 0)
RWLOCK_PROBES(rwlock_tryrdlock, FN_PTHREAD_RWLOCK_TRYRDLOCK, 0)
RWLOCK_PROBES(rwlock_timedrdlock, FN_PTHREAD_RWLOCK_TIMEDRDLOCK, 0)
RWLOCK_PROBES(rwlock_clockrdlock, FN_PTHREAD_RWLOCK_CLOCKRDLOCK, 0)
RWLOCK_PROBES(rwlock_wrlock, FN_PTHREAD_RWLOCK_WRLOCK, 1)
RWLOCK_PROBES(rwlock_trywrlock, FN_PTHREAD_RWLOCK_TRYWRLOCK, 1)
RWLOCK_PROBES(rwlock_timedwrlock, FN_PTHREAD_RWLOCK_TIMEDWRLOCK, 1)
RWLOCK_PROBES(rwlock_clockwrlock, FN_PTHREAD_RWLOCK_CLOCKWRLOCK, 1)

/* pthread_rwlock_unlock: released; MUTEX_F_RWLOCK_WRITER when the caller is the writer (glibc's own test). */
SEC("uprobe")
int BPF_KPROBE(rwlock_unlock_entry, void *lock)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32) || !in_window(ts))
		return 0;
	int cur_writer = 0;
	__u32 flags = 0;
	if (bpf_probe_read_user(&cur_writer, sizeof(cur_writer), (void *)((__u64)lock + 24)) == 0 && (__u32)cur_writer == (__u32)id)
		flags = MUTEX_F_RWLOCK_WRITER;
	emit_full(id, ts, 0, STAGE_RELEASED, FN_PTHREAD_RWLOCK_UNLOCK, (__u64)lock, return_address(ctx), 0, flags, -1, 0);
	return 0;
}

/*
 * pthread spin locks. glibc's x86-64 spin lock is an int that is 1 when free (pthread_spin_lock
 * decrements it to 0; pthread_spin_unlock stores 1), and pthread_spin_init is pthread_spin_unlock
 * under a second name: an "unlock" of a lock that is already free (an init, or a double unlock) is
 * not a release and is not recorded.
 */
static __always_inline int on_spin_entry(struct pt_regs *ctx, __u8 func, __u64 lock)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32) || !in_window(ts))
		return 0;
	int value = 1;
	__u32 flags = 0;
	if (bpf_probe_read_user(&value, sizeof(value), (void *)lock) == 0 && value <= 0)
		flags = MUTEX_F_HELD_AT_REQUEST;
	enter_call(ctx, id, ts, func, lock, request_user_stack(PT_REGS_IP(ctx), PT_REGS_FP(ctx), PT_REGS_SP(ctx)), flags, 0);
	return 0;
}

/*
 * pthread_spin_lock starts with its `lock decl`, which the kernel refuses to probe: this program
 * sits on the next instruction (recorder/probes.ts, pastLockedEntry), after the decrement. The
 * lock is then 0 if the call got it at once, below 0 if it was held; a call that finds it held
 * spins and, when it sees it free, goes back to the decrement and past this probe again: the
 * call's first request is kept (the return probe, set once per pass, records it once).
 */
SEC("uprobe")
int BPF_KPROBE(spin_lock_entry, void *lock)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32) || !in_window(ts))
		return 0;
	__u32 tid = (__u32)id;
	struct pending_call *again = bpf_map_lookup_elem(&pending, &tid);
	if (again && again->func == FN_PTHREAD_SPIN_LOCK && again->lock == (__u64)lock)
		return 0;
	int value = 0;
	__u32 flags = 0;
	if (bpf_probe_read_user(&value, sizeof(value), lock) == 0 && value < 0)
		flags = MUTEX_F_HELD_AT_REQUEST;
	enter_call(ctx, id, ts, FN_PTHREAD_SPIN_LOCK, (__u64)lock, request_user_stack(PT_REGS_IP(ctx), PT_REGS_FP(ctx), PT_REGS_SP(ctx)), flags, 0);
	return 0;
}
SEC("uretprobe")
int BPF_KRETPROBE(spin_lock_return) { return on_other_lock_return(ctx); }
SEC("uprobe")
int BPF_KPROBE(spin_trylock_entry, void *lock) { return on_spin_entry(ctx, FN_PTHREAD_SPIN_TRYLOCK, (__u64)lock); }
SEC("uretprobe")
int BPF_KRETPROBE(spin_trylock_return) { return on_other_lock_return(ctx); }

SEC("uprobe")
int BPF_KPROBE(spin_unlock_entry, void *lock)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32) || !in_window(ts))
		return 0;
	int value = 0;
	if (bpf_probe_read_user(&value, sizeof(value), (void *)lock) == 0 && value == 1)
		return 0; /* free already: pthread_spin_init, or an unlock of a free lock */
	emit_release(id, ts, FN_PTHREAD_SPIN_UNLOCK, (__u64)lock, return_address(ctx));
	return 0;
}
#include "futex.bpf.h"

/* A thread renamed itself (pthread_setname_np): emit its new comm. */
SEC("tp_btf/task_rename")
int BPF_PROG(on_task_rename, struct task_struct *task, const char *comm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	if (!wanted(tgid))
		return 0;
	__u32 tid = BPF_CORE_READ(task, pid);
	/* the rename happens after this tracepoint; forget the thread so its next event re-emits the comm */
	bpf_map_delete_elem(&known_threads, &tid);
	return 0;
}

/* A thread of the target exited: its tid may be reused by a thread with another comm. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_thread_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	if (!wanted(tgid))
		return 0;
	__u32 tid = BPF_CORE_READ(task, pid);
	bpf_map_delete_elem(&known_threads, &tid);
	bpf_map_delete_elem(&pending, &tid);
	bpf_map_delete_elem(&kernel_pending, &tid);
	bpf_map_delete_elem(&futex_threads, &tid);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Kernel mutexes. Three ways to see them, chosen by the loader (the others are not loaded):
 * fentry/fexit (cheapest), kprobe/kretprobe, or the lock:contention_begin/end tracepoints (only
 * the wait of contended acquisitions: no request of uncontended ones, no release).
 */



static __always_inline int kernel_request(void *ctx, __u8 func, __u64 lock, __u64 caller)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!kernel_wanted(id >> 32) || !in_window(ts))
		return 0;
	__u32 tid = (__u32)id;
	struct pending_call *outer = bpf_map_lookup_elem(&kernel_pending, &tid);
	if (outer && outer->lock == lock) {
		outer->depth++;
		return 0;
	}
	struct pending_call call = {
		.ts = ts, .lock = lock, .caller = caller, .pid = id >> 32, .tid = tid,
		.stack_id = request_stack(ctx, 0), .flags = 0, .depth = 0, .func = func, .nvcsw = voluntary_switches(), .cond = 0,
	};
	if (bpf_map_update_elem(&kernel_pending, &tid, &call, BPF_ANY) != 0)
		count(CNT_PENDING_FULL);
	return 0;
}

static __always_inline int kernel_return(__s32 ret)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!kernel_wanted(id >> 32) || !in_window(ts))
		return 0;
	__u32 tid = (__u32)id;
	struct pending_call *call = bpf_map_lookup_elem(&kernel_pending, &tid);
	if (!call)
		return 0;
	if (call->depth > 0) {
		call->depth--;
		return 0;
	}
	if (!requested_before_window(call))
		emit_acquired(id, ts, call, ret, flags_at_return(call, 0));
	bpf_map_delete_elem(&kernel_pending, &tid);
	return 0;
}

static __always_inline int kernel_release(__u64 lock, __u64 caller)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!kernel_wanted(id >> 32) || !in_window(ts))
		return 0;
	emit_release(id, ts, FN_MUTEX_UNLOCK, lock, caller);
	return 0;
}

/* The caller of a function traced with fentry: the trampoline's frame pointer chain gives it. */
static __always_inline __u64 fentry_caller(void *ctx)
{
	__u64 frames[3] = {};
	long n = bpf_get_stack(ctx, frames, sizeof(frames), 0);
	return n >= 16 ? frames[1] : 0;
}

#define FENTRY_LOCK(fn, code)                                                                      \
	SEC("fentry/" #fn)                                                                         \
	int BPF_PROG(fentry_##fn, struct mutex *lock) { return kernel_request(ctx, code, (__u64)lock, fentry_caller(ctx)); } \
	SEC("fexit/" #fn)                                                                          \
	int BPF_PROG(fexit_##fn, struct mutex *lock) { return kernel_return(0); }

#define FENTRY_LOCK_RET(fn, code)                                                                  \
	SEC("fentry/" #fn)                                                                         \
	int BPF_PROG(fentry_##fn, struct mutex *lock) { return kernel_request(ctx, code, (__u64)lock, fentry_caller(ctx)); } \
	SEC("fexit/" #fn)                                                                          \
	int BPF_PROG(fexit_##fn, struct mutex *lock, int ret) { return kernel_return(ret); }

#define FENTRY_LOCK_NESTED(fn, code)                                                               \
	SEC("fentry/" #fn)                                                                         \
	int BPF_PROG(fentry_##fn, struct mutex *lock, unsigned int subclass) { return kernel_request(ctx, code, (__u64)lock, fentry_caller(ctx)); } \
	SEC("fexit/" #fn)                                                                          \
	int BPF_PROG(fexit_##fn, struct mutex *lock, unsigned int subclass) { return kernel_return(0); }

#define FENTRY_LOCK_NESTED_RET(fn, code)                                                           \
	SEC("fentry/" #fn)                                                                         \
	int BPF_PROG(fentry_##fn, struct mutex *lock, unsigned int subclass) { return kernel_request(ctx, code, (__u64)lock, fentry_caller(ctx)); } \
	SEC("fexit/" #fn)                                                                          \
	int BPF_PROG(fexit_##fn, struct mutex *lock, unsigned int subclass, int ret) { return kernel_return(ret); }

FENTRY_LOCK(mutex_lock, FN_MUTEX_LOCK)
FENTRY_LOCK_RET(mutex_lock_interruptible, FN_MUTEX_LOCK_INTERRUPTIBLE)
FENTRY_LOCK_RET(mutex_lock_killable, FN_MUTEX_LOCK_KILLABLE)
FENTRY_LOCK(mutex_lock_io, FN_MUTEX_LOCK_IO)
FENTRY_LOCK_RET(mutex_trylock, FN_MUTEX_TRYLOCK)
FENTRY_LOCK_NESTED(mutex_lock_nested, FN_MUTEX_LOCK_NESTED)
FENTRY_LOCK_NESTED_RET(mutex_lock_interruptible_nested, FN_MUTEX_LOCK_INTERRUPTIBLE_NESTED)
FENTRY_LOCK_NESTED_RET(mutex_lock_killable_nested, FN_MUTEX_LOCK_KILLABLE_NESTED)
FENTRY_LOCK_NESTED(mutex_lock_io_nested, FN_MUTEX_LOCK_IO_NESTED)

SEC("fentry/mutex_unlock")
int BPF_PROG(fentry_mutex_unlock, struct mutex *lock)
{
	return kernel_release((__u64)lock, fentry_caller(ctx));
}

static __always_inline __u64 kprobe_caller(struct pt_regs *ctx)
{
	__u64 ra = 0;
	bpf_probe_read_kernel(&ra, sizeof(ra), (void *)PT_REGS_SP(ctx));
	return ra;
}

#define KPROBE_LOCK(fn, code)                                                                      \
	SEC("kprobe/" #fn)                                                                         \
	int BPF_KPROBE(kprobe_##fn, struct mutex *lock) { return kernel_request(ctx, code, (__u64)lock, kprobe_caller(ctx)); } \
	SEC("kretprobe/" #fn)                                                                      \
	int BPF_KRETPROBE(kretprobe_##fn, long ret) { return kernel_return((__s32)ret); }

KPROBE_LOCK(mutex_lock, FN_MUTEX_LOCK)
KPROBE_LOCK(mutex_lock_interruptible, FN_MUTEX_LOCK_INTERRUPTIBLE)
KPROBE_LOCK(mutex_lock_killable, FN_MUTEX_LOCK_KILLABLE)
KPROBE_LOCK(mutex_lock_io, FN_MUTEX_LOCK_IO)
KPROBE_LOCK(mutex_trylock, FN_MUTEX_TRYLOCK)
KPROBE_LOCK(mutex_lock_nested, FN_MUTEX_LOCK_NESTED)
KPROBE_LOCK(mutex_lock_interruptible_nested, FN_MUTEX_LOCK_INTERRUPTIBLE_NESTED)
KPROBE_LOCK(mutex_lock_killable_nested, FN_MUTEX_LOCK_KILLABLE_NESTED)
KPROBE_LOCK(mutex_lock_io_nested, FN_MUTEX_LOCK_IO_NESTED)

SEC("kprobe/mutex_unlock")
int BPF_KPROBE(kprobe_mutex_unlock, struct mutex *lock)
{
	return kernel_release((__u64)lock, kprobe_caller(ctx));
}

/*
 * contention_begin can fire twice for one mutex acquisition (optimistic spinning, then sleeping):
 * the wait starts at the first. Waits are kept per thread and lock, as perf lock does, so a lock
 * contended inside another's slow path (the mutex's own wait_lock) is a wait of its own. No caller
 * address: the tracepoint fires deep in the slow path (the kernel stack has the callers).
 */
struct contention_key {
	__u32 tid;
	__u32 pad;
	__u64 lock;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct contention_key);
	__type(value, struct pending_call);
} contention_pending SEC(".maps");

SEC("tp_btf/contention_begin")
int BPF_PROG(on_contention_begin, void *lock, unsigned int flags)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!kernel_wanted(id >> 32) || !in_window(ts))
		return 0;
	struct contention_key key = { .tid = (__u32)id, .pad = 0, .lock = (__u64)lock };
	if (bpf_map_lookup_elem(&contention_pending, &key))
		return 0; /* this wait is already open */
	struct pending_call call = {
		.ts = ts, .lock = (__u64)lock, .caller = 0, .pid = id >> 32, .tid = (__u32)id,
		.stack_id = request_stack(ctx, 0), .flags = flags, .depth = 0, .func = FN_KERNEL_CONTENTION,
	};
	if (bpf_map_update_elem(&contention_pending, &key, &call, BPF_NOEXIST) != 0)
		count(CNT_PENDING_FULL);
	return 0;
}

SEC("tp_btf/contention_end")
int BPF_PROG(on_contention_end, void *lock, int ret)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!kernel_wanted(id >> 32) || !in_window(ts))
		return 0;
	struct contention_key key = { .tid = (__u32)id, .pad = 0, .lock = (__u64)lock };
	struct pending_call *call = bpf_map_lookup_elem(&contention_pending, &key);
	if (!call)
		return 0; /* began before the recording */
	if (!requested_before_window(call))
		emit_acquired(id, ts, call, ret, call->flags);
	bpf_map_delete_elem(&contention_pending, &key);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
