/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every object that records into a session shares: its settings, its recording window, the
 * ring buffer, the counters and the threads whose names were emitted, and the functions that emit
 * events. mutex.bpf.c includes it; so does the benchmark's synthetic.bpf.c, whose maps of the same
 * names are the recording session's (the addon's BpfObject shares them before load): the struct
 * globals below keep .rodata and .bss the same layout in both.
 */
#ifndef RECORDING_H
#define RECORDING_H

/* Set before load. target_tgid filters the uprobes (attached to that pid anyway; the recorder,
 * self_tgid, attaches a few to itself to calibrate them before the recording window opens);
 * kernel_tgid filters the kernel probes, 0 = every task but the recorder. */
const volatile struct recording_config settings = { .capture_stacks = 1 };

/*
 * The recording window, written by the recorder while the programs run: nothing is recorded
 * before every probe is attached (start_ns, 0 = not yet) nor from the stop decision on (end_ns,
 * 0 = open-ended), so probes attached or detached one by one never leave half a lock/unlock
 * pair. A call entered outside the window is not followed; one entered inside and returning after
 * the end stays in the pending maps: it was still waiting at the end.
 */
volatile struct recording_window window;

/*
 * The recorder drains on a timer (ring_buffer__consume) and never waits on the ring's fd, so a
 * submit wakes no one. The default flag would, whenever the reader has caught up: an irq_work
 * (a self-IPI) on the traced thread's CPU, inside its probe, for a waiter that does not exist.
 */
#define SUBMIT_FLAGS BPF_RB_NO_WAKEUP

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
	return settings.target_tgid == 0 || tgid == settings.target_tgid || tgid == settings.self_tgid;
}

static __always_inline int in_window(__u64 ts)
{
	__u64 start = window.start_ns, end = window.end_ns;
	return start != 0 && ts >= start && (end == 0 || ts < end);
}

/* A call requested before the window opened (the recorder's calibration window came first). */
static __always_inline int requested_before_window(const struct pending_call *call)
{
	return call->ts < window.start_ns;
}

static __always_inline void emit_thread(__u64 id, __u64 ts)
{
	struct mutex_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_DROPPED);
		return;
	}
	e->ts = ts;
	e->request_ts = 0;
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
	e->holder = 0;
	e->cond = 0;
	e->outer_caller = 0;
	bpf_ringbuf_submit(e, SUBMIT_FLAGS);
}

/* An event, its thread's comm first if not emitted yet; cond: cond waits' and signals', holder:
 * futex waits' (futex.bpf.h), outer_caller: user lock calls' (lock_call_sites), else 0. */
static __always_inline void emit_event(__u64 id, __u64 ts, __u64 request_ts, __u8 stage, __u8 func, __u64 lock, __u64 caller,
				       __s32 ret, __u32 flags, __s32 stack_id, __u64 cond, __u32 holder, __u64 outer_caller)
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
	e->request_ts = request_ts;
	e->lock = lock;
	e->caller = caller;
	e->pid = id >> 32;
	e->tid = tid;
	e->ret = ret;
	e->stack_id = stack_id;
	e->cpu = bpf_get_smp_processor_id();
	e->stage = stage;
	e->func = func;
	e->flags = flags;
	e->holder = holder;
	e->cond = cond;
	e->outer_caller = outer_caller;
	bpf_ringbuf_submit(e, SUBMIT_FLAGS);
}

static __always_inline void emit_full(__u64 id, __u64 ts, __u64 request_ts, __u8 stage, __u8 func, __u64 lock, __u64 caller,
				      __s32 ret, __u32 flags, __s32 stack_id, __u64 cond)
{
	emit_event(id, ts, request_ts, stage, func, lock, caller, ret, flags, stack_id, cond, 0, 0);
}

static __always_inline void emit_holder(__u64 id, __u64 ts, __u64 request_ts, __u8 stage, __u8 func, __u64 lock, __u64 caller,
					__s32 ret, __u32 flags, __s32 stack_id, __u32 holder)
{
	emit_event(id, ts, request_ts, stage, func, lock, caller, ret, flags, stack_id, 0, holder, 0);
}

static __always_inline void emit_release(__u64 id, __u64 ts, __u8 func, __u64 lock, __u64 caller)
{
	emit_full(id, ts, 0, STAGE_RELEASED, func, lock, caller, 0, 0, -1, 0);
}

/* The return of a lock call: one event with the call's request (entry) time, caller and stack. */
static __always_inline void emit_acquired(__u64 id, __u64 ts, const struct pending_call *call, __s32 ret, __u32 flags)
{
	emit_event(id, ts, call->ts, STAGE_ACQUIRED, call->func, call->lock, call->caller, ret, flags, call->stack_id, call->cond, 0,
		   call->outer_caller);
}

#endif
