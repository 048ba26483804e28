/*
 * Benchmark workload: does tracing create contention that is not there untraced?
 * THREADS threads share one mutex. Each makes CALLS lock calls, one every GAP_NS (spinning between
 * them), holds the mutex HOLD_NS (spinning), and times each pthread_mutex_lock call itself with
 * CLOCK_MONOTONIC. Prints
 *
 *   calls=N slow=M slow_ns=2000 elapsed_ns=E
 *
 * slow: the lock calls that took longer than slow_ns by the workload's own clock.
 *
 *   perturb [--wait-go] THREADS CALLS HOLD_NS GAP_NS
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

enum { SLOW_NS = 2000, MAX_THREADS = 64 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start_line;
static long calls, hold_ns, gap_ns;

struct worker {
	pthread_t thread;
	long slow;
	long long start_ns, end_ns;
} __attribute__((aligned(64)));

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void spin_until(long long t)
{
	while (now_ns() < t)
		;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	pthread_barrier_wait(&start_line);
	w->start_ns = now_ns();
	long long next = w->start_ns;
	for (long i = 0; i < calls; i++) {
		spin_until(next);
		long long asked = now_ns();
		pthread_mutex_lock(&lock);
		long long got = now_ns();
		spin_until(got + hold_ns);
		pthread_mutex_unlock(&lock);
		if (got - asked > SLOW_NS)
			w->slow++;
		next = asked + gap_ns;
	}
	w->end_ns = now_ns();
	return NULL;
}

int main(int argc, char **argv)
{
	int wait_go = argc > 1 && strcmp(argv[1], "--wait-go") == 0;
	if (argc != 5 + wait_go) {
		fprintf(stderr, "usage: %s [--wait-go] THREADS CALLS HOLD_NS GAP_NS\n", argv[0]);
		return 2;
	}
	int threads = atoi(argv[1 + wait_go]);
	calls = atol(argv[2 + wait_go]);
	hold_ns = atol(argv[3 + wait_go]);
	gap_ns = atol(argv[4 + wait_go]);
	if (threads < 1 || threads > MAX_THREADS || calls < 1 || hold_ns < 0 || gap_ns < 0) {
		fprintf(stderr, "perturb: 1..%d threads, CALLS >= 1, HOLD_NS and GAP_NS >= 0\n", MAX_THREADS);
		return 2;
	}
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
		if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0) {
			fprintf(stderr, "perturb: cannot create thread %d\n", t);
			return 1;
		}
	}
	long slow = 0;
	long long first_start = 0, last_end = 0;
	for (int t = 0; t < threads; t++) {
		pthread_join(workers[t].thread, NULL);
		slow += workers[t].slow;
		if (t == 0 || workers[t].start_ns < first_start)
			first_start = workers[t].start_ns;
		if (workers[t].end_ns > last_end)
			last_end = workers[t].end_ns;
	}
	printf("calls=%ld slow=%ld slow_ns=%d elapsed_ns=%lld\n", calls * threads, slow, SLOW_NS, last_end - first_start);
	return 0;
}
