/*
 * Test workload for contention mode: a lock built directly on futex(2) the way Rust's
 * std::sync::Mutex is (library/std/src/sys/unix/locks/futex_mutex.rs): 0 unlocked, 1 locked,
 * 2 locked with waiters; lock is a compare-exchange 0 -> 1, its slow path spins a little, then
 * swaps in 2 and waits for the value 2 until the swap finds it free; unlock swaps in 0 and wakes
 * one waiter if it was 2. No C library lock is involved.
 *
 * THREADS threads take the lock ITERATIONS times each, hold it HOLD_US (asleep), and time their
 * own slow paths: from just before the first futex wait of a lock call to just after its last
 * one returned. A lock call that never waited (the spin or the first compare-exchange got it)
 * is not a wait.
 *
 *   futex_lock THREADS ITERATIONS HOLD_US
 *
 * Prints "lock addr=%p", then per thread "slow tid=N waits=W wait_ns=T syscalls=S".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic unsigned int lock_word __attribute__((aligned(64)));
static int iterations = 100;
static long hold_us = 500;

struct tally {
	long waits, syscalls;
	long long wait_ns;
};

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((noinline)) static void futex_wait(_Atomic unsigned int *word, unsigned int expected)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

__attribute__((noinline)) static void futex_wake_one(_Atomic unsigned int *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Spins while the lock is held without waiters, as Rust's does (100 rounds). */
static unsigned int spin(void)
{
	unsigned int state = 0;
	for (int i = 0; i < 100; i++) {
		state = atomic_load_explicit(&lock_word, memory_order_relaxed);
		if (state != 1)
			break;
		__builtin_ia32_pause();
	}
	return state;
}

__attribute__((noinline)) static void lock_contended(struct tally *t)
{
	unsigned int state = spin();
	if (state == 0) {
		unsigned int expected = 0;
		if (atomic_compare_exchange_strong(&lock_word, &expected, 1))
			return;
	}
	long long start = 0;
	long syscalls = 0;
	for (;;) {
		if (state != 2 && atomic_exchange(&lock_word, 2) == 0)
			break;
		if (syscalls == 0)
			start = now_ns();
		futex_wait(&lock_word, 2);
		syscalls++;
		state = spin();
	}
	if (syscalls > 0) {
		t->waits++;
		t->syscalls += syscalls;
		t->wait_ns += now_ns() - start;
	}
}

static void lock(struct tally *t)
{
	unsigned int expected = 0;
	if (!atomic_compare_exchange_strong(&lock_word, &expected, 1))
		lock_contended(t);
}

static void unlock(void)
{
	if (atomic_exchange(&lock_word, 0) == 2)
		futex_wake_one(&lock_word);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *worker(void *arg)
{
	struct tally *t = arg;
	for (int i = 0; i < iterations; i++) {
		lock(t);
		sleep_us(hold_us);
		unlock();
		sleep_us(hold_us / 4); /* a little time outside, so the others get their turn */
	}
	printf("slow tid=%ld waits=%ld wait_ns=%lld syscalls=%ld\n", (long)syscall(SYS_gettid), t->waits, t->wait_ns, t->syscalls);
	return NULL;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	if (argc > 2)
		iterations = atoi(argv[2]);
	if (argc > 3)
		hold_us = atol(argv[3]);
	if (threads < 1 || threads > 64 || iterations < 1 || hold_us < 0) {
		fprintf(stderr, "usage: futex_lock THREADS ITERATIONS HOLD_US\n");
		return 2;
	}
	printf("lock addr=%p\n", (void *)&lock_word);
	pthread_t tids[64];
	struct tally tallies[64] = { 0 };
	for (int i = 0; i < threads; i++)
		pthread_create(&tids[i], NULL, worker, &tallies[i]);
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	return 0;
}
