/*
 * Test workload for lock-order analysis: two threads take two global mutexes, one after the
 * other, so they can never actually deadlock (the second starts when the first has finished).
 *
 *   order inversion   thread "t-ab" runs take_a_then_b, then thread "t-ba" runs take_b_then_a
 *   order ordered     both threads run take_a_then_b
 *   order deadlock    "t-ab" takes a and "t-ba" takes b at the same time, then each asks for the
 *                     other's: both wait forever; main prints "deadlocked" and exits after 20 s
 *
 * Prints "locks a=%p b=%p" and one "thread name=... tid=..." line per thread.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void take_a_then_b(void)
{
	pthread_mutex_lock(&lock_a);
	pthread_mutex_lock(&lock_b);
	pthread_mutex_unlock(&lock_b);
	pthread_mutex_unlock(&lock_a);
}

__attribute__((noinline)) static void take_b_then_a(void)
{
	pthread_mutex_lock(&lock_b);
	pthread_mutex_lock(&lock_a);
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_b);
}

struct job {
	const char *name;
	void (*take)(void);
};

static void *run_job(void *arg)
{
	const struct job *job = arg;
	pthread_setname_np(pthread_self(), job->name);
	printf("thread name=%s tid=%ld\n", job->name, (long)syscall(SYS_gettid));
	job->take();
	return NULL;
}

static pthread_barrier_t both_hold_one;

__attribute__((noinline)) static void hold_a_want_b(void)
{
	pthread_mutex_lock(&lock_a);
	pthread_barrier_wait(&both_hold_one);
	pthread_mutex_lock(&lock_b);
	pthread_mutex_unlock(&lock_b); /* never reached; keeps the lock call from being a tail call */
}

__attribute__((noinline)) static void hold_b_want_a(void)
{
	pthread_mutex_lock(&lock_b);
	pthread_barrier_wait(&both_hold_one);
	pthread_mutex_lock(&lock_a);
	pthread_mutex_unlock(&lock_a); /* never reached; keeps the lock call from being a tail call */
}

/* Runs the jobs one at a time, each in its own thread. */
static void run_serially(const struct job *jobs, int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;
		pthread_create(&t, NULL, run_job, (void *)&jobs[i]);
		pthread_join(t, NULL);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *mode = argc > 1 ? argv[1] : "";
	printf("locks a=%p b=%p\n", (void *)&lock_a, (void *)&lock_b);
	if (strcmp(mode, "inversion") == 0) {
		const struct job jobs[] = { { "t-ab", take_a_then_b }, { "t-ba", take_b_then_a } };
		run_serially(jobs, 2);
	} else if (strcmp(mode, "ordered") == 0) {
		const struct job jobs[] = { { "t-ab", take_a_then_b }, { "t-ab2", take_a_then_b } };
		run_serially(jobs, 2);
	} else if (strcmp(mode, "deadlock") == 0) {
		const struct job jobs[] = { { "t-ab", hold_a_want_b }, { "t-ba", hold_b_want_a } };
		pthread_barrier_init(&both_hold_one, NULL, 2);
		pthread_t t[2];
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, run_job, (void *)&jobs[i]);
		usleep(200000);
		printf("deadlocked\n");
		sleep(20);
	} else {
		fprintf(stderr, "usage: order inversion|ordered|deadlock\n");
		return 2;
	}
	return 0;
}
