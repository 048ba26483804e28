/*
 * Test workload for owner attribution: a "compactor" thread holds journal_lock inside
 * compact_journal for HOLD_MS while a "flusher" thread asks for it inside flush_journal, ROUNDS
 * times. The threads hand each other the turn with semaphores (no pthread mutex), so every
 * flush_journal request comes while compact_journal holds the lock.
 *
 *   blockers ROUNDS HOLD_MS
 *
 * Prints "lock addr=%p" and one "thread name=... tid=..." line per thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static pthread_mutex_t journal_lock = PTHREAD_MUTEX_INITIALIZER;
static sem_t lock_held;  /* posted by the compactor once it holds the lock */
static sem_t flush_done; /* posted by the flusher once it got and released the lock */
static int rounds = 3;
static long hold_ms = 20;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void announce(const char *name)
{
	pthread_setname_np(pthread_self(), name);
	printf("thread name=%s tid=%ld\n", name, (long)syscall(SYS_gettid));
}

__attribute__((noinline)) static void compact_journal(void)
{
	pthread_mutex_lock(&journal_lock);
	sem_post(&lock_held);
	sleep_ms(hold_ms);
	pthread_mutex_unlock(&journal_lock);
}

__attribute__((noinline)) static void flush_journal(void)
{
	pthread_mutex_lock(&journal_lock);
	pthread_mutex_unlock(&journal_lock);
}

static void *compactor(void *arg)
{
	(void)arg;
	announce("compactor");
	for (int i = 0; i < rounds; i++) {
		compact_journal();
		sem_wait(&flush_done);
	}
	return NULL;
}

static void *flusher(void *arg)
{
	(void)arg;
	announce("flusher");
	for (int i = 0; i < rounds; i++) {
		sem_wait(&lock_held);
		flush_journal();
		sem_post(&flush_done);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		rounds = atoi(argv[1]);
	if (argc > 2)
		hold_ms = atol(argv[2]);
	sem_init(&lock_held, 0, 0);
	sem_init(&flush_done, 0, 0);
	printf("lock addr=%p\n", (void *)&journal_lock);
	pthread_t c, f;
	pthread_create(&c, NULL, compactor, NULL);
	pthread_create(&f, NULL, flusher, NULL);
	pthread_join(c, NULL);
	pthread_join(f, NULL);
	return 0;
}
