/*
 * Test workload with a known, steady lock pattern, for comparing recordings: two threads take
 * turns on one static mutex, ITERATIONS times each, holding it HOLD_US µs by spinning on
 * CLOCK_MONOTONIC. A thread asks for the mutex again as soon as the other one has it, so every
 * acquisition but the first is contended and waits about one hold, and at any time one thread
 * holds the lock while the other waits for it.
 *
 * Two identical runs must look alike, whatever else the machine does, so the threads are
 * - pinned to two different CPUs: left to the scheduler, they sometimes share one CPU for a whole
 *   run, and then the one whose turn comes cannot ask while the other holds (contention drops from
 *   ~100% to a few %);
 * - real-time (SCHED_FIFO), when allowed: otherwise a busy neighbour on a CPU delays a thread's
 *   turn by milliseconds now and then, and the time in which nobody waits changes wait/s by ~7%.
 *   Only the holder spins for long, so this takes about one CPU for the run's second.
 *
 *   hold_loop ITERATIONS HOLD_US
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long acquisitions; /* so far, by both threads */
static long iterations;
static long hold_ns;
static int cpu_of_thread[2];

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void *worker(void *arg)
{
	long me = (long)arg; /* thread 0 takes acquisitions 0, 2, 4, ...; thread 1 takes 1, 3, 5, ... */
	cpu_set_t cpu;
	CPU_ZERO(&cpu);
	CPU_SET(cpu_of_thread[me], &cpu);
	pthread_setaffinity_np(pthread_self(), sizeof cpu, &cpu);
	struct sched_param realtime = { .sched_priority = 1 };
	int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &realtime);
	if (err && me == 0)
		fprintf(stderr, "hold_loop: no real-time priority (%s): timings will follow the machine's load\n", strerror(err));
	for (long i = 0; i < iterations; i++) {
		while (atomic_load(&acquisitions) < 2 * i + me)
			; /* the other thread has not taken its turn yet */
		pthread_mutex_lock(&lock);
		atomic_fetch_add(&acquisitions, 1);
		long long until = now_ns() + hold_ns;
		while (now_ns() < until)
			;
		pthread_mutex_unlock(&lock);
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

/* The first two CPUs this process may run on (the same one twice on a single-CPU machine). */
static void pick_cpus(void)
{
	cpu_set_t allowed;
	sched_getaffinity(0, sizeof allowed, &allowed);
	int found = 0;
	for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
		if (CPU_ISSET(c, &allowed))
			cpu_of_thread[found++] = c;
	if (found == 1)
		cpu_of_thread[1] = cpu_of_thread[0];
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: hold_loop ITERATIONS HOLD_US\n");
		return 2;
	}
	iterations = non_negative(argv[1], "ITERATIONS");
	hold_ns = non_negative(argv[2], "HOLD_US") * 1000;
	pick_cpus();
	pthread_t threads[2];
	for (long t = 0; t < 2; t++)
		pthread_create(&threads[t], NULL, worker, (void *)t);
	for (long t = 0; t < 2; t++)
		pthread_join(threads[t], NULL);
	return 0;
}
