/*
 * Test workloads for contention mode (pthread side).
 *
 *   contention cond ROUNDS SLEEP_MS   a "consumer" thread waits ROUNDS times on a condition
 *                                     variable that a "producer" signals every SLEEP_MS; the
 *                                     mutex is never held while anyone sleeps
 *   contention mmap THREADS ROUNDS    THREADS threads map, touch and unmap memory ROUNDS times: they
 *                                     contend in the kernel (the process's mmap_lock), not on a futex
 *   contention pairs PAIRS            two threads each take their own mutex PAIRS times: no
 *                                     thread ever waits, and no futex call is made (the second
 *                                     thread is detached and waited for by a spin on a flag,
 *                                     not pthread_join, which would wait on a futex)
 *
 * Prints "cond addr=%p", "mutex addr=%p" and "thread name=... tid=..." lines (cond), or "done
 * pairs=N" (pairs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_ready = PTHREAD_COND_INITIALIZER;
static int queued, rounds;
static long sleep_ms;

static void announce(const char *name)
{
	pthread_setname_np(pthread_self(), name);
	printf("thread name=%s tid=%ld\n", name, (long)syscall(SYS_gettid));
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

__attribute__((noinline)) static void take_item(void)
{
	pthread_mutex_lock(&queue_lock);
	while (queued == 0)
		pthread_cond_wait(&queue_ready, &queue_lock);
	queued--;
	pthread_mutex_unlock(&queue_lock);
}

static void *consumer(void *arg)
{
	(void)arg;
	announce("consumer");
	for (int i = 0; i < rounds; i++)
		take_item();
	return NULL;
}

static int cond_mode(void)
{
	printf("cond addr=%p\nmutex addr=%p\n", (void *)&queue_ready, (void *)&queue_lock);
	pthread_t t;
	pthread_create(&t, NULL, consumer, NULL);
	announce("producer");
	for (int i = 0; i < rounds; i++) {
		pause_ms(sleep_ms);
		pthread_mutex_lock(&queue_lock);
		queued++;
		pthread_cond_signal(&queue_ready);
		pthread_mutex_unlock(&queue_lock);
	}
	pthread_join(t, NULL);
	return 0;
}

static long pairs;
static _Atomic int second_done;

__attribute__((noinline)) static void run_pairs(pthread_mutex_t *m)
{
	for (long i = 0; i < pairs; i++) {
		pthread_mutex_lock(m);
		pthread_mutex_unlock(m);
	}
}

static void *second(void *arg)
{
	run_pairs(arg);
	atomic_store(&second_done, 1);
	return NULL;
}

static int pairs_mode(void)
{
	static pthread_mutex_t mine = PTHREAD_MUTEX_INITIALIZER, theirs = PTHREAD_MUTEX_INITIALIZER;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	pthread_create(&t, &attr, second, &theirs);
	run_pairs(&mine);
	while (!atomic_load(&second_done))
		sched_yield();
	printf("done pairs=%ld\n", 2 * pairs);
	return 0;
}

static long mmap_rounds;

static void *mapper(void *arg)
{
	(void)arg;
	for (long i = 0; i < mmap_rounds; i++) {
		char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			abort();
		for (int page = 0; page < 256; page += 16)
			p[page * 4096] = 1;
		munmap(p, 1 << 20);
	}
	return NULL;
}

static int mmap_mode(int threads)
{
	pthread_t t[64];
	for (int i = 0; i < threads && i < 64; i++)
		pthread_create(&t[i], NULL, mapper, NULL);
	for (int i = 0; i < threads && i < 64; i++)
		pthread_join(t[i], NULL);
	printf("done mmap=%d\n", threads);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && strcmp(argv[1], "cond") == 0) {
		rounds = atoi(argv[2]);
		sleep_ms = atol(argv[3]);
		return cond_mode();
	}
	if (argc >= 4 && strcmp(argv[1], "mmap") == 0) {
		mmap_rounds = atol(argv[3]);
		return mmap_mode(atoi(argv[2]));
	}
	if (argc >= 3 && strcmp(argv[1], "pairs") == 0) {
		pairs = atol(argv[2]);
		return pairs_mode();
	}
	fprintf(stderr, "usage: contention cond ROUNDS SLEEP_MS | contention mmap THREADS ROUNDS | contention pairs PAIRS\n");
	return 2;
}
