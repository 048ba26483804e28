// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's floor: mutex.bpf.c's uprobe programs, by the same names, doing nothing. Attached
 * at the same points, they cost exactly what the probes cost (the trap, the kernel's uprobe and
 * uretprobe handling, a BPF program call), none of the recording.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define EMPTY(sec, name) \
	SEC(sec) int name(void *ctx) { return 0; }

EMPTY("uprobe", mutex_lock_entry)
EMPTY("uretprobe", mutex_lock_return)
EMPTY("uprobe", mutex_trylock_entry)
EMPTY("uretprobe", mutex_trylock_return)
EMPTY("uprobe", mutex_timedlock_entry)
EMPTY("uretprobe", mutex_timedlock_return)
EMPTY("uprobe", mutex_clocklock_entry)
EMPTY("uretprobe", mutex_clocklock_return)
EMPTY("uprobe", mutex_unlock_entry)
EMPTY("uprobe", cond_wait_entry)
EMPTY("uretprobe", cond_wait_return)
EMPTY("uprobe", cond_timedwait_entry)
EMPTY("uretprobe", cond_timedwait_return)
EMPTY("uprobe", cond_clockwait_entry)
EMPTY("uretprobe", cond_clockwait_return)
EMPTY("uprobe", cond_signal_entry)
EMPTY("uprobe", cond_broadcast_entry)
#define EMPTY_LOCK(name) EMPTY("uprobe", name##_entry) EMPTY("uretprobe", name##_return)
EMPTY_LOCK(rwlock_rdlock)
EMPTY_LOCK(rwlock_tryrdlock)
EMPTY_LOCK(rwlock_timedrdlock)
EMPTY_LOCK(rwlock_clockrdlock)
EMPTY_LOCK(rwlock_wrlock)
EMPTY_LOCK(rwlock_trywrlock)
EMPTY_LOCK(rwlock_timedwrlock)
EMPTY_LOCK(rwlock_clockwrlock)
EMPTY("uprobe", rwlock_unlock_entry)
EMPTY_LOCK(spin_lock)
EMPTY_LOCK(spin_trylock)
EMPTY("uprobe", spin_unlock_entry)

char LICENSE[] SEC("license") = "GPL";
