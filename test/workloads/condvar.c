/*
 * Test workload: condition variables with known waits, each measured by the workload itself with
 * CLOCK_MONOTONIC (the clock of the recorded events), one parseable line per wait:
 *
 *   condvar WAIT_MS
 *
 * - timeouts: TIMEOUTS pthread_cond_timedwait calls and one pthread_cond_clockwait on `quiet`,
 *   which nobody signals, each timing out after WAIT_MS (ETIMEDOUT);
 * - signals: a consumer waits on `ready` (pthread_cond_wait, in a loop on its predicate) while a
 *   producer sleeps WAIT_MS and signals it, SIGNALS rounds;
 * - broadcast: two threads wait on `ready`, main broadcasts after WAIT_MS;
 * - signals with nobody waiting: IDLE_SIGNALS on `quiet`.
 * Every wait prints `condwait tid= cond= mutex= begin_ns= end_ns= rc=` (begin just before the
 * call, end just after it returned); the end prints what was called: `conds ...`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

enum { TIMEOUTS = 3, SIGNALS = 4, IDLE_SIGNALS = 2 };

static pthread_mutex_t quiet_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t quiet = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static int items, round_no, released_round;
static atomic_int waiting;
static long wait_ms = 50;

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

static struct timespec deadline_in_ms(clockid_t clock, long ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_nsec += (ms % 1000) * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

static void print_wait(pthread_cond_t *cond, pthread_mutex_t *mutex, unsigned long long begin, unsigned long long end, int rc)
{
	printf("condwait tid=%d cond=%p mutex=%p begin_ns=%llu end_ns=%llu rc=%d\n", gettid_(), (void *)cond, (void *)mutex, begin, end, rc);
}

static void *consumer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ready_lock);
	for (int got = 0; got < SIGNALS;) {
		while (items == 0) {
			atomic_store(&waiting, 1);
			unsigned long long begin = now_ns();
			int rc = pthread_cond_wait(&ready, &ready_lock);
			print_wait(&ready, &ready_lock, begin, now_ns(), rc);
		}
		items--;
		got++;
	}
	pthread_mutex_unlock(&ready_lock);
	return NULL;
}

static void *broadcast_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ready_lock);
	int mine = round_no;
	atomic_fetch_add(&waiting, 1);
	while (released_round < mine) {
		unsigned long long begin = now_ns();
		int rc = pthread_cond_wait(&ready, &ready_lock);
		print_wait(&ready, &ready_lock, begin, now_ns(), rc);
	}
	pthread_mutex_unlock(&ready_lock);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: condvar WAIT_MS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	wait_ms = atol(argv[1]);

	/* timeouts */
	pthread_mutex_lock(&quiet_lock);
	for (int i = 0; i < TIMEOUTS; i++) {
		struct timespec dl = deadline_in_ms(CLOCK_REALTIME, wait_ms);
		unsigned long long begin = now_ns();
		int rc = pthread_cond_timedwait(&quiet, &quiet_lock, &dl);
		print_wait(&quiet, &quiet_lock, begin, now_ns(), rc);
	}
	struct timespec dl = deadline_in_ms(CLOCK_MONOTONIC, wait_ms);
	unsigned long long begin = now_ns();
	int rc = pthread_cond_clockwait(&quiet, &quiet_lock, CLOCK_MONOTONIC, &dl);
	print_wait(&quiet, &quiet_lock, begin, now_ns(), rc);
	pthread_mutex_unlock(&quiet_lock);

	/* signals */
	pthread_t c;
	pthread_create(&c, NULL, consumer, NULL);
	for (int i = 0; i < SIGNALS; i++) {
		while (!atomic_load(&waiting))
			sleep_ms(1);
		sleep_ms(wait_ms);
		pthread_mutex_lock(&ready_lock);
		atomic_store(&waiting, 0);
		items++;
		pthread_cond_signal(&ready);
		pthread_mutex_unlock(&ready_lock);
	}
	pthread_join(c, NULL);

	/* broadcast */
	pthread_t b1, b2;
	atomic_store(&waiting, 0);
	pthread_mutex_lock(&ready_lock);
	round_no = 1;
	pthread_mutex_unlock(&ready_lock);
	pthread_create(&b1, NULL, broadcast_waiter, NULL);
	pthread_create(&b2, NULL, broadcast_waiter, NULL);
	while (atomic_load(&waiting) < 2)
		sleep_ms(1);
	sleep_ms(wait_ms);
	pthread_mutex_lock(&ready_lock);
	released_round = 1;
	pthread_cond_broadcast(&ready);
	pthread_mutex_unlock(&ready_lock);
	pthread_join(b1, NULL);
	pthread_join(b2, NULL);

	/* nobody waiting */
	for (int i = 0; i < IDLE_SIGNALS; i++)
		pthread_cond_signal(&quiet);

	printf("conds quiet=%p ready=%p timeouts=%d clockwait_timeouts=1 signals=%d broadcasts=1 idle_signals=%d\n", (void *)&quiet, (void *)&ready,
	       TIMEOUTS, SIGNALS, IDLE_SIGNALS);
	return 0;
}
