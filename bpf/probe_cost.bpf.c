// SPDX-License-Identifier: GPL-2.0
/*
 * Empty programs of every kind the recorder uses (bench/probe-cost.ts): attached one at a time,
 * the workload's slowdown per hit is what the probe mechanism alone costs, before any recording.
 * The kernel function is __do_sys_getppid, getppid()'s body: user space can call it in a tight
 * loop, and Debian's 6.1 kernel has it in its BTF (fentry needs that), unlike its alias
 * __x64_sys_getppid, the syscall table's entry at the same address.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define EMPTY(sec, name) \
	SEC(sec) int name(void *ctx) { return 0; }

EMPTY("uprobe", empty_uprobe)
EMPTY("uretprobe", empty_uretprobe)
EMPTY("tp_btf/sys_enter", empty_tp_btf)
EMPTY("fentry/__do_sys_getppid", empty_fentry)
EMPTY("fexit/__do_sys_getppid", empty_fexit)
EMPTY("kprobe/__do_sys_getppid", empty_kprobe)
EMPTY("kretprobe/__do_sys_getppid", empty_kretprobe)

char LICENSE[] SEC("license") = "GPL";
