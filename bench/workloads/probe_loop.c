/*
 * Probe-cost workload: COUNT calls of one thing, timed with CLOCK_MONOTONIC around the loop only.
 *
 *   probe_loop [--wait-go] call|getppid COUNT
 *
 *   call     probe_target(), a one-load function a uprobe or uretprobe is attached to
 *   getppid  the getppid() system call (a kernel function, and a sys_enter tracepoint, per call)
 *
 * Prints "calls=COUNT elapsed_ns=N". --wait-go: print "ready pid=N" and start only after a line
 * on stdin (attach by pid first).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * Starts with the instruction pthread_mutex_lock starts with in Debian 12's glibc, mov 0x10(%rdi),%eax:
 * a uprobe costs more on an instruction the kernel single-steps out of line (this one) than on one
 * it emulates (nop, push, ret). noipa: the loop must call it every time.
 */
__attribute__((noipa)) int probe_target(const int *p)
{
	return p[4];
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int wait_go = argc > 1 && strcmp(argv[1], "--wait-go") == 0;
	const char *what = argc == 3 + wait_go ? argv[1 + wait_go] : "";
	long count = argc == 3 + wait_go ? atol(argv[2 + wait_go]) : 0;
	int syscalls = strcmp(what, "getppid") == 0;
	if ((!syscalls && strcmp(what, "call") != 0) || count < 1) {
		fprintf(stderr, "usage: %s [--wait-go] call|getppid COUNT\n", argv[0]);
		return 2;
	}
	if (wait_go) {
		char line[16];
		printf("ready pid=%d\n", getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}
	static int words[8];
	volatile int sink = 0;
	long long start = now_ns();
	for (long i = 0; i < count; i++) {
		if (syscalls)
			getppid();
		else
			sink += probe_target(words);
	}
	printf("calls=%ld elapsed_ns=%lld\n", count, now_ns() - start);
	return 0;
}
