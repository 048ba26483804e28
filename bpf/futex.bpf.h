/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Contention mode (mutex-rec --contention): the target's futex calls, from the syscalls'
 * tracepoints, with no uprobe anywhere. A contended user-space lock enters the kernel through
 * futex(2); an uncontended one never does, so an uncontended lock costs the target nothing here.
 *
 * - A wait (FUTEX_WAIT, WAIT_BITSET, LOCK_PI, LOCK_PI2, WAIT_REQUEUE_PI, futex_waitv(2),
 *   futex_wait(2)) is one ACQUIRED event on the futex word at its return, with its entry time as
 *   request_ts, the user stack, the call site and who held the lock (below). One still waiting at
 *   the stop stays FUTEX_WAITING in futex_threads: a request row.
 * - A wake (FUTEX_WAKE, WAKE_BITSET, WAKE_OP, UNLOCK_PI, REQUEUE, CMP_REQUEUE(_PI), futex_wake(2),
 *   futex_requeue(2)) is one STAGE_WAKE event at its return: ret is how many it woke (and requeued).
 *   Its call site is looked up at the return, not at the entry: the entry runs between the waker's
 *   unlock and the waiter's wake-up, and the waiter should not wait for our stack scan.
 * - The holder: the owner the lock's memory names at the wait's entry (glibc's pthread_mutex_t
 *   __owner, pthread_rwlock_t __cur_writer, a PI futex word's tid), else the thread whose wake on
 *   the word came last during the wait.
 * - FUTEX_F_RETRY marks a wait that continues the thread's previous one on the same word: nothing
 *   else futex-wise in between and back within RETRY_GAP_NS (a lock's slow path looping: woken,
 *   beaten to the lock, waiting again). The analyzer makes them one wait.
 *
 * Included by mutex.bpf.c (its maps, window and helpers).
 */

/* settings.futex_tgid (recording.h): the process recorded in contention mode; 0: this mode is off. */

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI 12
#define FUTEX_LOCK_PI2 13
#define FUTEX_CMD_MASK 0x7f
#define FUTEX_TID_MASK 0x3fffffff

/* A wait back on the same word within this long of the previous one's return continues it; within
 * RETRY_GAP_PREEMPTED_NS when the thread was preempted in between (it could not retry sooner). */
#define RETRY_GAP_NS 50000ULL
#define RETRY_GAP_PREEMPTED_NS 5000000ULL

/* The call site: the first code address on the user stack outside the object making the syscall
 * (the C library's futex wrapper), among these many 8-byte words from the stack pointer. A word
 * that may be an address of another object costs a vma lookup, unless it falls in the last data
 * vma looked up. */
#define SCAN_WORDS 64
#define VM_EXEC 0x4ULL

/* Each thread's futex state (mutex.h struct futex_thread), by tid. LRU: an exited thread's entry is
 * taken back when the map is full. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct futex_thread);
} futex_threads SEC(".maps");

static const struct futex_thread futex_thread_zero = {};

/* The thread's entry, made on its first futex call; NULL when the map refused it (counted). */
static __noinline struct futex_thread *futex_thread_of(__u32 tid)
{
	struct futex_thread *t = bpf_map_lookup_elem(&futex_threads, &tid);
	if (t)
		return t;
	bpf_map_update_elem(&futex_threads, &tid, &futex_thread_zero, BPF_NOEXIST);
	t = bpf_map_lookup_elem(&futex_threads, &tid);
	if (!t)
		count(CNT_PENDING_FULL);
	return t;
}

/* The last wake on each word: a wait that returns after it, having begun before, credits its thread. */
struct futex_last_wake {
	__u64 ts;
	__u32 tid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct futex_last_wake);
} futex_wakes SEC(".maps");

struct futex_scratch {
	__u64 words[SCAN_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct futex_scratch);
} futex_scratch SEC(".maps");

struct vma_info {
	__u64 start;
	__u64 end;
	__u64 exec;
};

static long vma_info_of(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_info *info = data;
	info->start = vma->vm_start;
	info->end = vma->vm_end;
	info->exec = (vma->vm_flags & VM_EXEC) != 0;
	return 0;
}

struct scan_state {
	struct task_struct *task;
	struct futex_scratch *words;
	__u64 self_start, self_end; /* the vma of the syscall's instruction */
	__u64 sp;
	__u64 miss_start, miss_end; /* the last vma looked up that was not code (the lock's data, the heap) */
	__u64 found;
	__u64 found_at; /* where on the stack */
};

/* One word of the stack scan (bpf_loop callback): 1 stops the loop. */
static long scan_word(__u64 i, void *data)
{
	struct scan_state *s = data;
	if (i >= SCAN_WORDS)
		return 1;
	__u64 v = s->words->words[i];
	if (v < 0x10000 || v >= 0x800000000000ULL)
		return 0; /* not a user address */
	if (v >= s->self_start && v < s->self_end)
		return 0; /* inside the object that made the call */
	if (v >= s->sp && v < s->sp + (16ULL << 20))
		return 0; /* a pointer into this stack */
	if (v >= s->miss_start && v < s->miss_end)
		return 0; /* data seen already */
	struct vma_info info = {};
	if (bpf_find_vma(s->task, v, vma_info_of, &info, 0) != 0)
		return 0;
	if (info.exec) {
		s->found = v;
		s->found_at = s->sp + i * 8;
		return 1;
	}
	s->miss_start = info.start;
	s->miss_end = info.end;
	return 0;
}

/* The call site of a futex call made at `ip` (see SCAN_WORDS); ip itself when none is found.
 * *found_at: where on the stack it was, 0 when not found. */
static __noinline __u64 futex_call_site(struct task_struct *task, __u64 ip, __u64 sp, __u64 *found_at)
{
	*found_at = 0;
	struct vma_info self = {};
	if (!task || bpf_find_vma(task, ip, vma_info_of, &self, 0) != 0)
		return ip;
	__u32 zero = 0;
	struct futex_scratch *scratch = bpf_map_lookup_elem(&futex_scratch, &zero);
	if (!scratch || bpf_probe_read_user(scratch->words, sizeof(scratch->words), (void *)sp) != 0)
		return ip;
	struct scan_state state = { .task = task, .words = scratch, .self_start = self.start, .self_end = self.end, .sp = sp };
	bpf_loop(SCAN_WORDS, scan_word, &state, 0);
	*found_at = state.found_at;
	return state.found ? state.found : ip;
}

static __always_inline int futex_wanted(__u64 id)
{
	return settings.futex_tgid != 0 && (id >> 32) == settings.futex_tgid;
}

/* The head of glibc's x86-64 pthread_rwlock_t (sysdeps/nptl/bits/struct_rwlock.h). */
struct glibc_rwlock {
	__u32 readers;
	__u32 writers;
	__u32 wrphase_futex;
	__u32 writers_futex;
	__u32 pad3;
	__u32 pad4;
	__s32 cur_writer;
	__s32 shared;
	__s8 rwelision;
	__u8 pad1[7];
	__u64 pad2;
	__u32 flags;
};

/* Linux 6.2 on; weak, so that the object still loads on older kernels (full mode there), where an
 * owner cannot be checked and is believed. */
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;

/* Is tid a thread of the recorded process? An owner field that names anything else is not one
 * (the word is not what its layout looked like), or a tid of another pid namespace. */
static __always_inline int is_target_thread(__u32 tid)
{
	if (tid == 0 || tid > 0x3fffffff)
		return 0;
	if (!bpf_task_from_pid)
		return 1;
	struct task_struct *task = bpf_task_from_pid((s32)tid);
	if (!task)
		return 0;
	int ours = task->tgid == settings.futex_tgid;
	bpf_task_release(task);
	return ours;
}

/* glibc's x86-64 pthread_cond_t (sysdeps/nptl/bits/thread-shared-types.h, 2.25 to 2.40). */
struct glibc_cond {
	__u64 wseq;
	__u64 g1_start;
	__u32 g_refs[2];
	__u32 g_size[2];
	__u32 g1_orig_size;
	__u32 wrefs;
	__u32 g_signals[2];
};

/* glibc __kind bits: the type (0-3), ROBUST 16, PRIO_INHERIT 32, PRIO_PROTECT 64, PSHARED 128, ELISION 256/512. */
#define GLIBC_MUTEX_KIND_BITS 0x3f3

/*
 * What the memory around a waited-for word says (FUTEX_F_LAYOUT_*), and the owner it names.
 * Layouts of glibc >= 2.25 on x86-64: a mutex's lock word heads it, __owner at +8, __kind at +16;
 * a cond waits on __g_signals[g] at +40 + 4g, __wrefs (waiters << 3) at +36, __g_refs[g] at +16 + 4g;
 * an rwlock waits on
 * __wrphase_futex (+8) or __writers_futex (+12), __cur_writer at +24.
 */
static __noinline __u32 futex_layout(__u64 uaddr, __u32 cmd, __u32 val, __u32 tid, __u32 *owner)
{
	__u32 flags = 0;
	*owner = 0;
	int is_wait = cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET;
	int is_pi = cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2;
	if (is_pi) {
		__u32 word = 0;
		if (bpf_probe_read_user(&word, sizeof(word), (void *)uaddr) == 0)
			*owner = word & FUTEX_TID_MASK;
	}
	if ((uaddr & 7) == 0 && ((is_wait && val == 2) || is_pi)) {
		struct glibc_mutex_head m;
		if (bpf_probe_read_user(&m, sizeof(m), (void *)uaddr) == 0 && m.kind >= 0 && (m.kind & ~GLIBC_MUTEX_KIND_BITS) == 0 &&
		    (!is_pi || (m.kind & 32)) && (m.owner == 0 || is_target_thread(m.owner))) {
			flags |= FUTEX_F_LAYOUT_MUTEX | (((__u32)m.kind & 0xff) << FUTEX_F_KIND_SHIFT);
			if (!is_pi)
				*owner = m.owner;
		}
	}
	if (is_wait && (val == 2 || val == 3)) {
		struct glibc_rwlock rw;
		if (bpf_probe_read_user(&rw, sizeof(rw), (void *)((uaddr & ~7ULL) - 8)) == 0 && rw.pad3 == 0 && rw.pad4 == 0 &&
		    rw.flags <= 2 && (rw.shared == 0 || rw.shared == 1) && (rw.cur_writer == 0 || is_target_thread(rw.cur_writer))) {
			flags |= FUTEX_F_LAYOUT_RWLOCK;
			if (!(flags & FUTEX_F_LAYOUT_MUTEX) || *owner == 0)
				*owner = rw.cur_writer;
		}
	}
	if (cmd == FUTEX_WAIT_BITSET) {
		/* __g_signals[g]: g = 0 at +40 (8-aligned), 1 at +44; a waiter holds a reference in
		 * __wrefs (waiters << 3) and in __g_refs[g] (<< 1) while it waits (glibc 2.25 to 2.40) */
		__u32 g = (uaddr & 4) ? 1 : 0;
		struct glibc_cond c;
		if (bpf_probe_read_user(&c, sizeof(c), (void *)(uaddr - 40 - 4 * g)) == 0) {
			__u32 refs = g ? c.g_refs[1] : c.g_refs[0];
			if ((c.wrefs >> 3) >= 1 && refs >= 2)
				flags |= FUTEX_F_LAYOUT_COND;
		}
	}
	if (is_wait && val > 2 && is_target_thread(val))
		flags |= FUTEX_F_THREAD_EXIT;
	if (*owner == tid || (is_pi && !is_target_thread(*owner)))
		*owner = 0;
	return flags;
}

static __always_inline __u64 involuntary_switches(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, nivcsw);
}

/* Does this wait continue the thread's previous wait on the same word? Any other futex call ends
 * the previous wait (the caller forgets it). */
static __always_inline __u32 continues_wait(const struct futex_thread *t, __u64 lock, __u64 ts)
{
	if (t->last_ts == 0)
		return 0;
	__u64 gap = ts - t->last_ts;
	int preempted = involuntary_switches() != t->last_nivcsw;
	return t->last_lock == lock && ts >= t->last_ts && (gap <= RETRY_GAP_NS || (preempted && gap <= RETRY_GAP_PREEMPTED_NS))
		       ? FUTEX_F_RETRY
		       : 0;
}

/* A wait's arguments (a BPF function takes at most five). */
struct wait_args {
	__u64 uaddr;
	__u64 waitv; /* futex_waitv: its array of words; 0 otherwise */
	__u32 op;
	__u32 val;
	__u32 nr;
	__u8 func;
	__u8 pad[3];
};

/* The entry of a wait: kept in the thread's entry until its return. */
static __noinline int futex_wait_entry(void *ctx, const struct wait_args *args)
{
	__u64 uaddr = args->uaddr, waitv = args->waitv;
	__u32 op = args->op, val = args->val, nr = args->nr;
	__u8 func = args->func;
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!futex_wanted(id) || !in_window(ts))
		return 0;
	__u32 tid = (__u32)id;
	struct futex_thread *t = futex_thread_of(tid);
	if (!t)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 ip = BPF_CORE_READ(regs, ip), sp = BPF_CORE_READ(regs, sp);
	__u32 flags = (op & FUTEX_F_OP_MASK) | continues_wait(t, uaddr, ts);
	t->last_ts = 0;
	__u32 owner = 0;
	if (waitv == 0)
		flags |= futex_layout(uaddr, op & FUTEX_CMD_MASK, val, tid, &owner);
	else
		flags |= (nr & 0xff) << FUTEX_F_KIND_SHIFT;
	if (ip == 0 || sp == 0)
		count(CNT_FUTEX_UNREAD);
	__u64 caller_at = 0;
	__u64 caller = ip && sp ? futex_call_site(task, ip, sp, &caller_at) : 0;
	__s32 stack_id = request_user_stack(ip, BPF_CORE_READ(regs, bp), sp);
	t->owner = owner;
	t->call.ts = ts;
	t->call.lock = uaddr;
	t->call.caller = caller;
	t->call.pid = id >> 32;
	t->call.tid = tid;
	t->call.stack_id = stack_id;
	/* the lock call's return address, found on the stack: its caller's is where .eh_frame says */
	t->call.outer_caller = stack_id >= 0 && caller_at ? outer_caller(caller, caller_at) : 0;
	t->call.caller_sp = caller_at;
	t->call.flags = flags;
	t->call.func = func;
	t->call.nvcsw = voluntary_switches();
	t->waitv = waitv;
	t->nr = nr;
	t->state = FUTEX_WAITING;
	return 0;
}

/* The return of a wait: one ACQUIRED event. Outside the window it stays waiting (waiting at the end). */
static __noinline int futex_wait_return(struct futex_thread *t, __u64 id, __u64 ts, long ret)
{
	if (!in_window(ts))
		return 0;
	__u32 tid = (__u32)id;
	__u64 lock = t->call.lock;
	if (t->waitv && ret >= 0 && ret < t->nr && ret < 128) {
		/* futex_waitv returns the index of the word that woke it */
		struct futex_waitv woken;
		if (bpf_probe_read_user(&woken, sizeof(woken), (void *)(t->waitv + ret * sizeof(woken))) == 0)
			lock = woken.uaddr;
	}
	__u32 flags = t->call.flags;
	settle_outer_caller(&t->call);
	__u32 holder = 0;
	if (t->owner) {
		holder = t->owner;
		flags |= FUTEX_F_HOLDER_OWNER;
	} else {
		struct futex_last_wake *wake = bpf_map_lookup_elem(&futex_wakes, &lock);
		if (wake && wake->ts >= t->call.ts && wake->ts <= ts && wake->tid != tid) {
			holder = wake->tid;
			flags |= FUTEX_F_HOLDER_WAKER;
		}
	}
	if (voluntary_switches() != t->call.nvcsw)
		flags |= FUTEX_F_SLEPT;
	t->state = FUTEX_IDLE;
	t->last_lock = lock;
	t->last_ts = ts;
	t->last_nivcsw = involuntary_switches();
	emit_event(id, ts, t->call.ts, STAGE_ACQUIRED, t->call.func, lock, t->call.caller, (__s32)ret, flags,
		   t->call.stack_id, 0, holder, t->call.outer_caller);
	return 0;
}

static __always_inline void note_wake(__u64 uaddr, __u32 tid, __u64 ts)
{
	struct futex_last_wake wake = { .ts = ts, .tid = tid };
	bpf_map_update_elem(&futex_wakes, &uaddr, &wake, BPF_ANY);
}

/* The entry of a wake: its words are marked woken by this thread now (a waiter may return before
 * this call does); the event is written at its return, with how many it woke. */
static __noinline int futex_wake_entry(__u8 func, __u64 uaddr, __u64 uaddr2, __u32 op)
{
	__u64 ts = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!futex_wanted(id) || !in_window(ts))
		return 0;
	__u32 tid = (__u32)id;
	note_wake(uaddr, tid, ts);
	if (uaddr2 && func == FN_FUTEX_WAKE_OP)
		note_wake(uaddr2, tid, ts);
	struct futex_thread *t = futex_thread_of(tid);
	if (!t)
		return 0;
	t->last_ts = 0;
	t->call.ts = ts;
	t->call.lock = uaddr;
	t->call.flags = op & FUTEX_F_OP_MASK;
	t->call.func = func;
	t->state = FUTEX_WAKING;
	return 0;
}

/* The return of a wake: one STAGE_WAKE event, its call site looked up now (the user registers are
 * as they were at the entry). */
static __noinline int futex_wake_return(struct futex_thread *t, __u64 id, __u64 ts, long ret)
{
	t->state = FUTEX_IDLE;
	if (!in_window(ts))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 ip = BPF_CORE_READ(regs, ip), sp = BPF_CORE_READ(regs, sp);
	__u64 caller_at = 0;
	__u64 caller = ip && sp ? futex_call_site(task, ip, sp, &caller_at) : 0;
	emit_holder(id, ts, t->call.ts, STAGE_WAKE, t->call.func, t->call.lock, caller, (__s32)ret, t->call.flags, -1, 0);
	return 0;
}

/* What futex(2) op a call is: a wait's or a wake's function code; 0: neither (FUTEX_FD, TRYLOCK_PI). */
static __always_inline __u8 futex_op_func(__u32 op, int *is_wait)
{
	*is_wait = 1;
	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
		return FN_FUTEX_WAIT;
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
		return FN_FUTEX_LOCK_PI;
	case FUTEX_WAIT_REQUEUE_PI:
		return FN_FUTEX_WAIT_REQUEUE_PI;
	}
	*is_wait = 0;
	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
		return FN_FUTEX_WAKE;
	case FUTEX_WAKE_OP:
		return FN_FUTEX_WAKE_OP;
	case FUTEX_UNLOCK_PI:
		return FN_FUTEX_UNLOCK_PI;
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE:
	case FUTEX_CMP_REQUEUE_PI:
		return FN_FUTEX_REQUEUE;
	}
	return 0;
}

/* futex(uaddr, op, val, timeout/val2, uaddr2, val3) */
SEC("tracepoint/syscalls/sys_enter_futex")
int futex_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (!futex_wanted(bpf_get_current_pid_tgid()))
		return 0;
	__u64 uaddr = ctx->args[0], uaddr2 = ctx->args[4];
	__u32 op = (__u32)ctx->args[1], val = (__u32)ctx->args[2];
	int is_wait = 0;
	__u8 func = futex_op_func(op, &is_wait);
	if (func == 0)
		return 0;
	if (is_wait) {
		struct wait_args args = { .uaddr = uaddr, .op = op, .val = val, .func = func };
		return futex_wait_entry(ctx, &args);
	}
	return futex_wake_entry(func, uaddr, uaddr2, op);
}

/* A thread is in one futex call at a time: its state says which this return ends. */
static __always_inline int futex_return(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!futex_wanted(id))
		return 0; /* every task's futex returns come here: no clock read for the others */
	__u64 ts = bpf_ktime_get_ns();
	__u32 tid = (__u32)id;
	struct futex_thread *t = bpf_map_lookup_elem(&futex_threads, &tid);
	if (!t)
		return 0;
	if (t->state == FUTEX_WAITING)
		return futex_wait_return(t, id, ts, ret);
	if (t->state == FUTEX_WAKING)
		return futex_wake_return(t, id, ts, ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_futex")
int futex_exit(struct trace_event_raw_sys_exit *ctx)
{
	return futex_return(ctx->ret);
}

/* futex_waitv(waiters, nr_futexes, flags, timeout, clockid): a wait on any of several words. */
SEC("tracepoint/syscalls/sys_enter_futex_waitv")
int futex_waitv_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 waiters = ctx->args[0];
	__u32 nr = (__u32)ctx->args[1];
	struct futex_waitv first = {};
	if (!waiters || bpf_probe_read_user(&first, sizeof(first), (void *)waiters) != 0)
		return 0;
	struct wait_args args = { .uaddr = first.uaddr, .waitv = waiters, .val = (__u32)first.val, .nr = nr, .func = FN_FUTEX_WAITV };
	return futex_wait_entry(ctx, &args);
}

SEC("tracepoint/syscalls/sys_exit_futex_waitv")
int futex_waitv_exit(struct trace_event_raw_sys_exit *ctx)
{
	return futex_return(ctx->ret);
}

/* futex2 (Linux 6.7): futex_wait(uaddr, val, mask, flags, timeout, clockid) */
SEC("tracepoint/syscalls/sys_enter_futex_wait")
int futex2_wait_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct wait_args args = { .uaddr = ctx->args[0], .val = (__u32)ctx->args[1], .func = FN_FUTEX_WAIT };
	return futex_wait_entry(ctx, &args);
}

SEC("tracepoint/syscalls/sys_exit_futex_wait")
int futex2_wait_exit(struct trace_event_raw_sys_exit *ctx)
{
	return futex_return(ctx->ret);
}

/* futex_wake(uaddr, mask, nr, flags) */
SEC("tracepoint/syscalls/sys_enter_futex_wake")
int futex2_wake_enter(struct trace_event_raw_sys_enter *ctx)
{
	return futex_wake_entry(FN_FUTEX_WAKE, ctx->args[0], 0, 0);
}

SEC("tracepoint/syscalls/sys_exit_futex_wake")
int futex2_wake_exit(struct trace_event_raw_sys_exit *ctx)
{
	return futex_return(ctx->ret);
}

/* futex_requeue(waiters[2], flags, nr_wake, nr_requeue): the first word's waiters are woken or moved. */
SEC("tracepoint/syscalls/sys_enter_futex_requeue")
int futex2_requeue_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct futex_waitv first = {};
	if (!ctx->args[0] || bpf_probe_read_user(&first, sizeof(first), (void *)ctx->args[0]) != 0)
		return 0;
	return futex_wake_entry(FN_FUTEX_REQUEUE, first.uaddr, 0, 0);
}

SEC("tracepoint/syscalls/sys_exit_futex_requeue")
int futex2_requeue_exit(struct trace_event_raw_sys_exit *ctx)
{
	return futex_return(ctx->ret);
}
