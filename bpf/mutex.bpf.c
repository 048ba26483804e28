// SPDX-License-Identifier: GPL-2.0
/* Three-stage pthread mutex events: request, acquired, released. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "mutex.h"

/* Set by the loader before load; 0 records every process. */
const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the loader */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* The lock a thread is inside of (lock call or cond wait), for the return probe. */
struct pending_call {
	__u64 lock;
	__u64 caller;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pending_call);
} pending SEC(".maps");

/* Threads whose comm has been emitted. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} known_threads SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);
	if (c)
		(*c)++;
}

static __always_inline int wanted(__u32 tgid)
{
	return target_tgid == 0 || tgid == target_tgid;
}

static __always_inline void emit_thread(__u64 id, __u64 ts)
{
	struct mutex_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_DROPPED);
		return;
	}
	e->ts = ts;
	e->lock = 0;
	e->caller = 0;
	bpf_get_current_comm(&e->lock, 16);
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ret = 0;
	e->stack_id = -1;
	e->cpu = bpf_get_smp_processor_id();
	e->stage = STAGE_THREAD;
	e->func = 0;
	e->flags = 0;
	bpf_ringbuf_submit(e, 0);
	count(CNT_EMITTED);
}

static __always_inline void emit(__u64 id, __u64 ts, __u8 stage, __u8 func, __u64 lock, __u64 caller, __s32 ret)
{
	__u32 tid = (__u32)id;
	if (!bpf_map_lookup_elem(&known_threads, &tid)) {
		__u8 one = 1;
		bpf_map_update_elem(&known_threads, &tid, &one, BPF_ANY);
		emit_thread(id, ts);
	}
	struct mutex_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_DROPPED);
		return;
	}
	e->ts = ts;
	e->lock = lock;
	e->caller = caller;
	e->pid = id >> 32;
	e->tid = tid;
	e->ret = ret;
	e->stack_id = -1;
	e->cpu = bpf_get_smp_processor_id();
	e->stage = stage;
	e->func = func;
	e->flags = 0;
	bpf_ringbuf_submit(e, 0);
	count(CNT_EMITTED);
}

static __always_inline __u64 return_address(struct pt_regs *ctx)
{
	__u64 ra = 0;
	bpf_probe_read_user(&ra, sizeof(ra), (void *)PT_REGS_SP(ctx));
	return ra;
}

/* Entry of a lock function: the request. */
static __always_inline int on_lock_entry(struct pt_regs *ctx, __u8 func, __u64 lock)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32))
		return 0;
	__u32 tid = (__u32)id;
	struct pending_call call = { .lock = lock, .caller = return_address(ctx) };
	bpf_map_update_elem(&pending, &tid, &call, BPF_ANY);
	emit(id, ts, STAGE_REQUEST, func, lock, call.caller, 0);
	return 0;
}

/* Return of a lock function: acquired (ret == 0) or failed (EBUSY, ETIMEDOUT, ...). */
static __always_inline int on_lock_return(struct pt_regs *ctx, __u8 func)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32))
		return 0;
	__u32 tid = (__u32)id;
	struct pending_call *call = bpf_map_lookup_elem(&pending, &tid);
	if (!call)
		return 0; /* entered before the probes were attached */
	__u64 lock = call->lock, caller = call->caller;
	bpf_map_delete_elem(&pending, &tid);
	emit(id, ts, STAGE_ACQUIRED, func, lock, caller, (__s32)PT_REGS_RC(ctx));
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mutex_lock_entry, void *lock) { return on_lock_entry(ctx, FN_PTHREAD_MUTEX_LOCK, (__u64)lock); }
SEC("uretprobe")
int BPF_KRETPROBE(mutex_lock_return) { return on_lock_return(ctx, FN_PTHREAD_MUTEX_LOCK); }

SEC("uprobe")
int BPF_KPROBE(mutex_trylock_entry, void *lock) { return on_lock_entry(ctx, FN_PTHREAD_MUTEX_TRYLOCK, (__u64)lock); }
SEC("uretprobe")
int BPF_KRETPROBE(mutex_trylock_return) { return on_lock_return(ctx, FN_PTHREAD_MUTEX_TRYLOCK); }

SEC("uprobe")
int BPF_KPROBE(mutex_timedlock_entry, void *lock) { return on_lock_entry(ctx, FN_PTHREAD_MUTEX_TIMEDLOCK, (__u64)lock); }
SEC("uretprobe")
int BPF_KRETPROBE(mutex_timedlock_return) { return on_lock_return(ctx, FN_PTHREAD_MUTEX_TIMEDLOCK); }

SEC("uprobe")
int BPF_KPROBE(mutex_clocklock_entry, void *lock) { return on_lock_entry(ctx, FN_PTHREAD_MUTEX_CLOCKLOCK, (__u64)lock); }
SEC("uretprobe")
int BPF_KRETPROBE(mutex_clocklock_return) { return on_lock_return(ctx, FN_PTHREAD_MUTEX_CLOCKLOCK); }

SEC("uprobe")
int BPF_KPROBE(mutex_unlock_entry, void *lock)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32))
		return 0;
	emit(id, ts, STAGE_RELEASED, FN_PTHREAD_MUTEX_UNLOCK, (__u64)lock, return_address(ctx), 0);
	return 0;
}

/*
 * pthread_cond_*wait(cond, mutex, ...) unlocks the mutex on entry and locks it again before it
 * returns, through glibc-internal calls the public probes do not see. Entry is recorded as the
 * release; the return as a new request and acquisition at the return time (the re-lock's own wait
 * is inside the cond wait and not observable here).
 */
static __always_inline int on_cond_entry(struct pt_regs *ctx, __u8 func, __u64 mutex)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32))
		return 0;
	__u32 tid = (__u32)id;
	struct pending_call call = { .lock = mutex, .caller = return_address(ctx) };
	bpf_map_update_elem(&pending, &tid, &call, BPF_ANY);
	emit(id, ts, STAGE_RELEASED, func, mutex, call.caller, 0);
	return 0;
}

static __always_inline int on_cond_return(struct pt_regs *ctx, __u8 func)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!wanted(id >> 32))
		return 0;
	__u32 tid = (__u32)id;
	struct pending_call *call = bpf_map_lookup_elem(&pending, &tid);
	if (!call)
		return 0;
	__u64 lock = call->lock, caller = call->caller;
	bpf_map_delete_elem(&pending, &tid);
	emit(id, ts, STAGE_REQUEST, func, lock, caller, 0);
	emit(id, ts, STAGE_ACQUIRED, func, lock, caller, (__s32)PT_REGS_RC(ctx));
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(cond_wait_entry, void *cond, void *mutex) { return on_cond_entry(ctx, FN_PTHREAD_COND_WAIT, (__u64)mutex); }
SEC("uretprobe")
int BPF_KRETPROBE(cond_wait_return) { return on_cond_return(ctx, FN_PTHREAD_COND_WAIT); }

SEC("uprobe")
int BPF_KPROBE(cond_timedwait_entry, void *cond, void *mutex) { return on_cond_entry(ctx, FN_PTHREAD_COND_TIMEDWAIT, (__u64)mutex); }
SEC("uretprobe")
int BPF_KRETPROBE(cond_timedwait_return) { return on_cond_return(ctx, FN_PTHREAD_COND_TIMEDWAIT); }

SEC("uprobe")
int BPF_KPROBE(cond_clockwait_entry, void *cond, void *mutex) { return on_cond_entry(ctx, FN_PTHREAD_COND_CLOCKWAIT, (__u64)mutex); }
SEC("uretprobe")
int BPF_KRETPROBE(cond_clockwait_return) { return on_cond_return(ctx, FN_PTHREAD_COND_CLOCKWAIT); }

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
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
