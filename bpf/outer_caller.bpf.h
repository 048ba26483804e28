/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The caller of a lock call's caller, where frame pointers are missing (pigz's possess(), every
 * lock wrapper in code built without them): the kernel's frame-pointer walk cannot see it, but the
 * object's .eh_frame says where it is. The recorder reads, per object, each call of a lock function
 * and the CFA rule at it (recorder/callsite_cfa.ts): CFA = rsp + cfa_offset just before the call.
 * At the lock function's entry (before it pushes anything: recorder/probe_offsets.ts) SP points at
 * the call's return address, so the caller's own return address (at CFA - 8) is at SP + cfa_offset.
 * Keyed by file and offset rather than address: the table is filled before the target maps
 * anything (mutex-rec -- CMD), and holds for every process that maps the file.
 */
#ifndef OUTER_CALLER_BPF_H
#define OUTER_CALLER_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lock_call_site); /* mutex.h */
	__type(value, __u32); /* cfa_offset */
} lock_call_sites SEC(".maps");

/* How many times the recorder added to lock_call_sites (index 0): a cached miss older than that is looked up again. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} lock_call_sites_generation SEC(".maps");

#define LOCK_CALL_SITE_BUSY 0xfffffffeU /* bpf_find_vma only tries the mmap lock: the process was changing its mappings */

/*
 * The answer for a return address in a process, so that bpf_find_vma runs once per call site:
 * it also fails (-EBUSY) while the process changes its mappings (its mmap lock is only tried),
 * and such a failure is not cached. The recorder fills it too, for the mappings it has seen
 * (recorder/outer_callers.ts): those calls need no lookup at all.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct outer_cache_key);   /* mutex.h */
	__type(value, struct outer_cache_value);
} outer_cache SEC(".maps");

struct call_site_lookup {
	__u64 address;
	struct lock_call_site key;
};

static long call_site_in_vma(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct call_site_lookup *l = data;
	struct file *file = BPF_CORE_READ(vma, vm_file);
	if (!file)
		return 0;
	l->key.ino = BPF_CORE_READ(file, f_inode, i_ino);
	l->key.size = BPF_CORE_READ(file, f_inode, i_size);
	l->key.offset = l->address - BPF_CORE_READ(vma, vm_start) + (BPF_CORE_READ(vma, vm_pgoff) << 12);
	return 0;
}

/* The CFA offset of the lock call returning to ret_addr in this process, NO_LOCK_CALL_SITE if none. */
static __always_inline __u32 lock_call_cfa_offset(__u64 ret_addr)
{
	__u32 zero = 0;
	__u32 *generation = bpf_map_lookup_elem(&lock_call_sites_generation, &zero);
	__u32 now = generation ? *generation : 0;
	struct outer_cache_key ck = { .tgid = bpf_get_current_pid_tgid() >> 32, .ret_addr = ret_addr };
	struct outer_cache_value *cached = bpf_map_lookup_elem(&outer_cache, &ck);
	if (cached && (cached->cfa_offset != NO_LOCK_CALL_SITE || cached->generation == now))
		return cached->cfa_offset;
	struct call_site_lookup l = { .address = ret_addr };
	if (bpf_find_vma(bpf_get_current_task_btf(), ret_addr, call_site_in_vma, &l, 0) != 0)
		return LOCK_CALL_SITE_BUSY; /* not cached: the next look may be luckier */
	__u32 *cfa_offset = l.key.ino ? bpf_map_lookup_elem(&lock_call_sites, &l.key) : 0;
	struct outer_cache_value answer = { .cfa_offset = cfa_offset ? *cfa_offset : NO_LOCK_CALL_SITE, .generation = now };
	bpf_map_update_elem(&outer_cache, &ck, &answer, BPF_ANY);
	return answer.cfa_offset;
}

/* The return address of the function that made the call returning to `ret_addr`, found at sp +
 * cfa_offset (sp: where ret_addr is on the stack); 0 when the call is not in the table,
 * OUTER_CALLER_BUSY when that could not be looked up now. */
static __noinline __u64 outer_caller(__u64 ret_addr, __u64 sp)
{
	if (!ret_addr || !sp)
		return 0;
	__u32 cfa_offset = lock_call_cfa_offset(ret_addr);
	if (cfa_offset == LOCK_CALL_SITE_BUSY)
		return OUTER_CALLER_BUSY;
	if (cfa_offset == NO_LOCK_CALL_SITE)
		return 0;
	__u64 outer = 0;
	bpf_probe_read_user(&outer, sizeof(outer), (void *)(sp + cfa_offset));
	return outer;
}

/* At the call's return, a look the entry could not make is made again: until the call returns,
 * its caller's frame is as it was at the entry. */
static __always_inline void settle_outer_caller(struct pending_call *call)
{
	if (call->outer_caller != OUTER_CALLER_BUSY)
		return;
	__u64 outer = outer_caller(call->caller, call->caller_sp);
	call->outer_caller = outer == OUTER_CALLER_BUSY ? 0 : outer;
}

#endif
