/*
 * Benchmark workload: THREADS threads take one pthread mutex ITERATIONS times each, holding it
 * HOLD_US (asleep), and time their own contended waits: a lock call is contended when a trylock
 * just before it found the mutex held (EBUSY); its wait is the blocking pthread_mutex_lock that
 * follows, timed with CLOCK_MONOTONIC around the call. Prints
 *
 *   mutex addr=%p
 *   waits contended=N wait_ns=T
 *
 *   contended_waits THREADS ITERATIONS HOLD_US
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static int iterations = 100;
static long hold_us = 500;
static _Atomic long contended;
static _Atomic long long wait_ns;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < iterations; i++) {
		if (pthread_mutex_trylock(&shared) == EBUSY) {
			long long t0 = now_ns();
			pthread_mutex_lock(&shared);
			atomic_fetch_add(&wait_ns, now_ns() - t0);
			atomic_fetch_add(&contended, 1);
		}
		sleep_us(hold_us);
		pthread_mutex_unlock(&shared);
		sleep_us(hold_us / 4);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	if (argc > 2)
		iterations = atoi(argv[2]);
	if (argc > 3)
		hold_us = atol(argv[3]);
	if (threads < 1 || threads > 64) {
		fprintf(stderr, "usage: contended_waits THREADS ITERATIONS HOLD_US\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("mutex addr=%p\n", (void *)&shared);
	pthread_t t[64];
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("waits contended=%ld wait_ns=%lld\n", atomic_load(&contended), atomic_load(&wait_ns));
	return 0;
}
