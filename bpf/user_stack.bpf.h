/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User call stacks, walked by frame pointers here rather than by bpf_get_stackid. The kernel's
 * walk (perf_callchain_user) goes on until a read fails: a stack that ends before --stack-depth
 * frames ends with a faulting read (the outermost frame's saved rbp is 0, code without frame
 * pointers leaves anything in rbp), and that page-fault exception and its fixup cost ~5 µs per
 * lock call on this VM (bench/README, "today's stack walk"). This walk takes the same frames (the
 * probe's ip, then each frame's return address, from rbp) and stops before a read that cannot be
 * a frame: rbp 0 or misaligned, below SP, more than USER_STACK_SPAN above it, or not above the
 * previous frame (a stack grows down: callers' frames are above).
 *
 * Stacks are kept once in user_stacks, by a hash of their frames: ids from USER_STACK_ID_BASE up,
 * above the kernel stacks' ids (the stacks map, at most 65536): one stack_id column for both. Two
 * stacks of one hash: the second is not kept (counted, CNT_STACK_FAILED), as with a stack map.
 */
#ifndef USER_STACK_BPF_H
#define USER_STACK_BPF_H

#define USER_STACK_SPAN (64ULL << 20) /* a thread's stack is 8 MiB by default; the main thread's can grow larger */

struct user_stack {
	__u64 ips[MAX_STACK_FRAMES]; /* innermost first; a 0 ends it when shorter */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct user_stack);
} user_stack_scratch SEC(".maps");

/* Sized by the loader as the stacks map: values of --stack-depth frames, entries for 16 MiB of them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_FRAMES * sizeof(__u64));
} user_stacks SEC(".maps");

struct user_walk {
	struct user_stack *stack;
	__u64 fp;
	__u64 sp;
	__u64 hash;
	__u32 frames;
	__u32 max;
};

static __always_inline __u64 hash_frame(__u64 hash, __u64 ip)
{
	return (hash ^ ip) * 0x100000001b3ULL; /* FNV-1a, a word at a time */
}

/*
 * Frame i + 1 of the walk (bpf_loop callback; frame 0 is the ip): 1 stops it. It branches on the
 * loop's index, never on a count it keeps: the verifier follows a callback until its states
 * repeat, and a counter would make every iteration a new state.
 */
static long walk_user_frame(__u64 i, void *data)
{
	struct user_walk *w = data;
	__u64 n = i + 1;
	__u64 fp = w->fp;
	if (n >= w->max || n >= MAX_STACK_FRAMES || fp == 0 || (fp & 7) || fp < w->sp || fp - w->sp > USER_STACK_SPAN)
		return 1;
	__u64 frame[2]; /* the caller's rbp, the return address */
	if (bpf_probe_read_user(frame, sizeof(frame), (void *)fp) != 0 || frame[1] == 0)
		return 1;
	w->stack->ips[n] = frame[1];
	w->frames = n + 1;
	w->hash = hash_frame(w->hash, frame[1]);
	if (frame[0] <= fp)
		return 1;
	w->fp = frame[0];
	return 0;
}

struct stack_compare {
	const struct user_stack *a;
	const struct user_stack *b;
	__u32 frames;
	int same;
};

static long compare_frame(__u64 i, void *data)
{
	struct stack_compare *c = data;
	/* settings.stack_depth is a constant to the verifier: a kept stack's value holds that many frames */
	if (i >= c->frames || i >= settings.stack_depth || i >= MAX_STACK_FRAMES)
		return 1;
	if (c->a->ips[i] != c->b->ips[i]) {
		c->same = 0;
		return 1;
	}
	return 0;
}

/* Whether the kept stack has these `frames` frames (and ends where they do). */
static __always_inline int same_stack(const struct user_stack *kept, const struct user_stack *stack, __u32 frames)
{
	struct stack_compare c = { .a = kept, .b = stack, .frames = frames < MAX_STACK_FRAMES ? frames + 1 : frames, .same = 1 };
	bpf_loop(MAX_STACK_FRAMES, compare_frame, &c, 0);
	return c.same;
}

/* The id of the user stack at (ip, bp, sp), kept in user_stacks; -1 when not taken. */
static __noinline __s32 user_stack_id(__u64 ip, __u64 bp, __u64 sp)
{
	__u32 zero = 0;
	struct user_stack *stack = bpf_map_lookup_elem(&user_stack_scratch, &zero);
	if (!stack || ip == 0)
		return -1;
	__u32 max = settings.stack_depth;
	stack->ips[0] = ip;
	struct user_walk w = { .stack = stack, .fp = bp, .sp = sp, .hash = hash_frame(0xcbf29ce484222325ULL, ip), .frames = 1,
			       .max = max < MAX_STACK_FRAMES ? max : MAX_STACK_FRAMES };
	bpf_loop(MAX_STACK_FRAMES - 1, walk_user_frame, &w, 0);
	__u32 frames = w.frames;
	if (frames < MAX_STACK_FRAMES)
		stack->ips[frames] = 0;
	__u32 id = USER_STACK_ID_BASE | (__u32)((w.hash ^ (w.hash >> 32)) & (USER_STACK_ID_BASE - 1));
	struct user_stack *kept = bpf_map_lookup_elem(&user_stacks, &id);
	if (!kept) {
		if (bpf_map_update_elem(&user_stacks, &id, stack, BPF_NOEXIST) == 0)
			return (__s32)id;
		/* another CPU kept a stack of this id just now: it is this one only if its frames are these */
		kept = bpf_map_lookup_elem(&user_stacks, &id);
		if (!kept)
			return -1;
	}
	return same_stack(kept, stack, frames) ? (__s32)id : -1;
}

#endif
