/*
 * Benchmark workload: PAIRS pthread_mutex_lock/unlock pairs spread evenly over THREADS threads.
 * Each thread takes the one shared mutex for 1 pair in SHARED_EVERY (some contention) and its own
 * private mutex for the others. Times the pairs with CLOCK_MONOTONIC, from the release of all
 * threads at once to the end of the last one (thread creation and exit excluded), and prints
 *
 *   pairs=PAIRS elapsed_ns=N
 *
 *   pairs [--wait-go] THREADS PAIRS
 *
 * --wait-go: print "ready pid=N" and start only after a line on stdin (attach by pid first).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { SHARED_EVERY = 4, MAX_THREADS = 64 };

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start_line;
static long pairs_per_thread;

struct worker {
	pthread_t thread;
	pthread_mutex_t private_mutex;
	long long start_ns, end_ns;
} __attribute__((aligned(64))); /* no false sharing between the threads' private mutexes */

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	pthread_barrier_wait(&start_line);
	w->start_ns = now_ns();
	for (long i = 0; i < pairs_per_thread; i++) {
		pthread_mutex_t *m = i % SHARED_EVERY == 0 ? &shared : &w->private_mutex;
		pthread_mutex_lock(m);
		pthread_mutex_unlock(m);
	}
	w->end_ns = now_ns();
	return NULL;
}

int main(int argc, char **argv)
{
	int wait_go = argc > 1 && strcmp(argv[1], "--wait-go") == 0;
	int threads = argc == 3 + wait_go ? atoi(argv[1 + wait_go]) : 0;
	long pairs = argc == 3 + wait_go ? atol(argv[2 + wait_go]) : 0;
	if (threads < 1 || threads > MAX_THREADS || pairs < threads || pairs % threads != 0) {
		fprintf(stderr, "usage: %s [--wait-go] THREADS PAIRS (1..%d threads; PAIRS a multiple of THREADS)\n", argv[0], MAX_THREADS);
		return 2;
	}
	pairs_per_thread = pairs / threads;

	if (wait_go) {
		char line[16];
		printf("ready pid=%d\n", getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}

	static struct worker workers[MAX_THREADS];
	pthread_barrier_init(&start_line, NULL, threads);
	for (int t = 0; t < threads; t++) {
		pthread_mutex_init(&workers[t].private_mutex, NULL);
		if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0) {
			fprintf(stderr, "pairs: cannot create thread %d\n", t);
			return 1;
		}
	}
	long long first_start = 0, last_end = 0;
	for (int t = 0; t < threads; t++) {
		pthread_join(workers[t].thread, NULL);
		if (t == 0 || workers[t].start_ns < first_start)
			first_start = workers[t].start_ns;
		if (workers[t].end_ns > last_end)
			last_end = workers[t].end_ns;
	}
	printf("pairs=%ld elapsed_ns=%lld\n", pairs, last_end - first_start);
	return 0;
}
