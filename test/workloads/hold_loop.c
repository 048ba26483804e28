/*
 * Test workload with a known, steady lock pattern: THREADS threads each take one static mutex
 * ITERATIONS times, hold it for HOLD_US µs, release it, and think THINK_US µs before the next.
 * Both hold and think spin on CLOCK_MONOTONIC rather than sleep: a sleep's length and the
 * wake-up after it vary with the machine's load, which would make two identical runs differ.
 *
 *   hold_loop THREADS ITERATIONS HOLD_US THINK_US
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long iterations;
static long hold_ns;
static long think_ns;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void spin_ns(long ns)
{
	long long until = now_ns() + ns;
	while (now_ns() < until)
		;
}

static void *worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < iterations; i++) {
		pthread_mutex_lock(&lock);
		spin_ns(hold_ns);
		pthread_mutex_unlock(&lock);
		spin_ns(think_ns);
	}
	return NULL;
}

static long non_negative(const char *text, const char *name)
{
	char *end;
	long value = strtol(text, &end, 10);
	if (*end != '\0' || value < 0) {
		fprintf(stderr, "hold_loop: %s must be a non-negative integer, got '%s'\n", name, text);
		exit(2);
	}
	return value;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: hold_loop THREADS ITERATIONS HOLD_US THINK_US\n");
		return 2;
	}
	long threads = non_negative(argv[1], "THREADS");
	iterations = non_negative(argv[2], "ITERATIONS");
	hold_ns = non_negative(argv[3], "HOLD_US") * 1000;
	think_ns = non_negative(argv[4], "THINK_US") * 1000;
	if (threads < 1 || threads > 64) {
		fprintf(stderr, "hold_loop: THREADS must be 1..64\n");
		return 2;
	}
	pthread_t tids[64];
	for (long t = 0; t < threads; t++)
		pthread_create(&tids[t], NULL, worker, NULL);
	for (long t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	return 0;
}
