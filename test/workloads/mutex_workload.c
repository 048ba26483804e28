/*
 * Test workload: makes known pthread mutex calls and measures its own holds and waits with
 * CLOCK_MONOTONIC (the clock of the recorded events), printing one parseable line each.
 *
 *   mutex_workload [--wait-go] [--first-lock] origin HOLDS HOLD_MS
 *   mutex_workload [--wait-go] [--first-lock] calls
 *   mutex_workload [--wait-go] [--first-lock] nested HOLDS INNER SPIN_US
 *
 * nested: HOLDS holds of `outer_lock`, each spinning SPIN_US µs on the clock and then taking and
 * releasing `inner_lock` INNER times; prints the shortest and median hold as it measured them.
 *
 * --wait-go: print "ready pid=N" and wait for a line on stdin before starting (attach by pid first).
 * --first-lock: lock and unlock `first_lock` as main's very first statement.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t origin_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t calls_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t outer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t inner_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int holder_has_lock;

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int gettid_(void) { return (int)syscall(SYS_gettid); }

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- origin: a holder keeps the mutex across a sleep, a waiter blocks on it ---- */

static int holds = 3;
static long hold_ms = 300;

static void *origin_holder(void *arg)
{
	(void)arg;
	for (int i = 0; i < holds; i++) {
		pthread_mutex_lock(&origin_lock);
		unsigned long long acquired = now_ns();
		atomic_store(&holder_has_lock, 1);
		sleep_ms(hold_ms);
		unsigned long long released = now_ns();
		pthread_mutex_unlock(&origin_lock);
		printf("hold tid=%d lock=%p acquired_ns=%llu released_ns=%llu\n", gettid_(), (void *)&origin_lock, acquired, released);
		sleep_ms(20); /* let the waiter in between holds */
	}
	return NULL;
}

static void *origin_waiter(void *arg)
{
	(void)arg;
	while (!atomic_load(&holder_has_lock))
		sleep_ms(1);
	unsigned long long request = now_ns();
	pthread_mutex_lock(&origin_lock);
	unsigned long long acquired = now_ns();
	pthread_mutex_unlock(&origin_lock);
	printf("wait tid=%d lock=%p request_ns=%llu acquired_ns=%llu\n", gettid_(), (void *)&origin_lock, request, acquired);
	return NULL;
}

static void run_origin(void)
{
	pthread_t holder, waiter;
	pthread_create(&holder, NULL, origin_holder, NULL);
	pthread_create(&waiter, NULL, origin_waiter, NULL);
	pthread_join(holder, NULL);
	pthread_join(waiter, NULL);
}

/* ---- calls: every kind of call, counted by the workload itself ---- */

enum { N_LOCK = 50, N_TRYLOCK_OK = 7, N_TRYLOCK_BUSY = 5, N_TIMEDLOCK_OK = 4, N_TIMEDLOCK_TIMEOUT = 3, N_CLOCKLOCK_OK = 2 };

static atomic_int blocker_state; /* 1: blocker holds calls_lock, 2: caller is done with failures */

static void *blocker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&calls_lock);
	atomic_store(&blocker_state, 1);
	while (atomic_load(&blocker_state) != 2)
		sleep_ms(1);
	pthread_mutex_unlock(&calls_lock);
	return NULL;
}

static struct timespec deadline_in_ms(clockid_t clock, long ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_nsec += (ms % 1000) * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

static void *caller(void *arg)
{
	(void)arg;
	int lock = 0, trylock_ok = 0, trylock_busy = 0, timedlock_ok = 0, timedlock_timeout = 0, clocklock_ok = 0, unlock = 0;

	for (int i = 0; i < N_LOCK; i++) {
		lock += pthread_mutex_lock(&calls_lock) == 0;
		unlock += pthread_mutex_unlock(&calls_lock) == 0;
	}
	for (int i = 0; i < N_TRYLOCK_OK; i++) {
		trylock_ok += pthread_mutex_trylock(&calls_lock) == 0;
		unlock += pthread_mutex_unlock(&calls_lock) == 0;
	}
	for (int i = 0; i < N_TIMEDLOCK_OK; i++) {
		struct timespec dl = deadline_in_ms(CLOCK_REALTIME, 1000);
		timedlock_ok += pthread_mutex_timedlock(&calls_lock, &dl) == 0;
		unlock += pthread_mutex_unlock(&calls_lock) == 0;
	}
	for (int i = 0; i < N_CLOCKLOCK_OK; i++) {
		struct timespec dl = deadline_in_ms(CLOCK_MONOTONIC, 1000);
		clocklock_ok += pthread_mutex_clocklock(&calls_lock, CLOCK_MONOTONIC, &dl) == 0;
		unlock += pthread_mutex_unlock(&calls_lock) == 0;
	}

	pthread_t b;
	pthread_create(&b, NULL, blocker, NULL);
	while (atomic_load(&blocker_state) != 1)
		sleep_ms(1);
	for (int i = 0; i < N_TRYLOCK_BUSY; i++)
		trylock_busy += pthread_mutex_trylock(&calls_lock) == EBUSY;
	for (int i = 0; i < N_TIMEDLOCK_TIMEOUT; i++) {
		struct timespec dl = deadline_in_ms(CLOCK_REALTIME, 30);
		timedlock_timeout += pthread_mutex_timedlock(&calls_lock, &dl) == ETIMEDOUT;
	}
	atomic_store(&blocker_state, 2);
	pthread_join(b, NULL);

	printf("calls tid=%d lock=%p lock_calls=%d trylock_ok=%d trylock_busy=%d timedlock_ok=%d timedlock_timeout=%d clocklock_ok=%d unlock_calls=%d\n",
	       gettid_(), (void *)&calls_lock, lock, trylock_ok, trylock_busy, timedlock_ok, timedlock_timeout, clocklock_ok, unlock);
	return NULL;
}

/* A thread holds cond_lock around a 200 ms cond wait; its holds exclude the wait. */
static void *cond_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cond_lock);
	unsigned long long acquired = now_ns();
	sleep_ms(30);
	unsigned long long before_wait = now_ns();
	struct timespec dl = deadline_in_ms(CLOCK_REALTIME, 200);
	int rc = pthread_cond_timedwait(&cond, &cond_lock, &dl);
	unsigned long long after_wait = now_ns();
	sleep_ms(40);
	unsigned long long released = now_ns();
	pthread_mutex_unlock(&cond_lock);
	printf("cond tid=%d lock=%p acquired_ns=%llu wait_begin_ns=%llu wait_end_ns=%llu released_ns=%llu rc=%d\n", gettid_(),
	       (void *)&cond_lock, acquired, before_wait, after_wait, released, rc);
	return NULL;
}

static void run_calls(void)
{
	pthread_t c, w;
	pthread_create(&c, NULL, caller, NULL);
	pthread_create(&w, NULL, cond_waiter, NULL);
	pthread_join(c, NULL);
	pthread_join(w, NULL);
}

static int compare_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
	return x < y ? -1 : x > y;
}

static void run_nested(int count, int inner, long spin_us)
{
	unsigned long long *held = calloc(count, sizeof(*held));
	for (int h = 0; h < count; h++) {
		pthread_mutex_lock(&outer_lock);
		unsigned long long start = now_ns();
		while (now_ns() - start < (unsigned long long)spin_us * 1000)
			;
		for (int k = 0; k < inner; k++) {
			pthread_mutex_lock(&inner_lock);
			pthread_mutex_unlock(&inner_lock);
		}
		held[h] = now_ns() - start;
		pthread_mutex_unlock(&outer_lock);
	}
	qsort(held, count, sizeof(*held), compare_ull);
	printf("nested outer=%p inner=%p holds=%d inner_pairs=%d spin_us=%ld held_min_ns=%llu held_p50_ns=%llu\n",
	       (void *)&outer_lock, (void *)&inner_lock, count, inner, spin_us, held[0], held[count / 2]);
	free(held);
}

int main(int argc, char **argv)
{
	int first = 0, wait_go = 0, i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--first-lock") == 0)
			first = 1;
		else if (strcmp(argv[i], "--wait-go") == 0)
			wait_go = 1;
	}
	if (first) {
		pthread_mutex_lock(&first_lock);
		pthread_mutex_unlock(&first_lock);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (first)
		printf("first lock=%p\n", (void *)&first_lock);
	if (wait_go) {
		char line[16];
		printf("ready pid=%d\n", getpid());
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}
	if (i < argc && strcmp(argv[i], "origin") == 0) {
		if (i + 2 < argc) {
			holds = atoi(argv[i + 1]);
			hold_ms = atol(argv[i + 2]);
		}
		run_origin();
	} else if (i < argc && strcmp(argv[i], "calls") == 0) {
		run_calls();
	} else if (i + 3 < argc && strcmp(argv[i], "nested") == 0) {
		run_nested(atoi(argv[i + 1]), atoi(argv[i + 2]), atol(argv[i + 3]));
	} else {
		fprintf(stderr, "usage: %s [--wait-go] [--first-lock] origin HOLDS HOLD_MS | calls | nested HOLDS INNER SPIN_US\n", argv[0]);
		return 2;
	}
	return 0;
}
