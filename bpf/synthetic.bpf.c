// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark-only event source (bench/ingest.ts, through mutex-rec --bench-object): each getppid()
 * of the target emits one lock event through the recording's real path (its ring buffer, the
 * addon's drain, the run file) without a uprobe trap, so the ingest rate can be measured. Events
 * alternate acquired and released per CPU. Loaded beside the recording session's object, whose
 * maps (events, counters, known_threads, .rodata, .bss) it shares: see recording.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "mutex.h"
#include "recording.h"

#define NR_GETPPID 110

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} synthetic_count SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(synthetic_source, struct pt_regs *regs, long id)
{
	if (id != NR_GETPPID)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!wanted(pid_tgid >> 32))
		return 0;
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&synthetic_count, &zero);
	if (!n)
		return 0;
	__u64 ts = bpf_ktime_get_ns();
	if (!in_window(ts))
		return 0;
	__u64 i = (*n)++;
	__u64 lock = 0x1000 + (i / 2 % 64) * 64;
	if (i % 2 == 0) {
		struct pending_call call = { .ts = ts, .lock = lock, .func = FN_PTHREAD_MUTEX_LOCK, .stack_id = -1 };
		emit_acquired(pid_tgid, ts, &call, 0, 0);
	} else {
		emit_release(pid_tgid, ts, FN_PTHREAD_MUTEX_UNLOCK, lock, 0);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
