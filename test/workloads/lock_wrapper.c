/* Heap mutexes all taken through one wrapper, built without frame pointers (as Debian's pigz takes
 * its locks through possess()): each lock has its own caller of the wrapper, which only the
 * .eh_frame-found outer caller can tell (test/wrapper-e2e.test.ts). Prints each lock's address. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 200

static pthread_mutex_t *queue_lock, *stats_lock, *log_lock;
static volatile long queue_len, stats_sum, log_lines;

/* Saves registers and keeps a local buffer, so its CFA is rsp + something at the lock call. */
__attribute__((noinline)) static void possess(pthread_mutex_t *m, const char *what)
{
	volatile char scratch[40];
	scratch[0] = what[0];
	int err = pthread_mutex_lock(m);
	if (err) {
		fprintf(stderr, "lock %s: %d %c\n", what, err, scratch[0]);
		exit(1);
	}
}

__attribute__((noinline)) static void release(pthread_mutex_t *m) { pthread_mutex_unlock(m); }

__attribute__((noinline)) static void queue_put(long v)
{
	possess(queue_lock, "queue");
	queue_len += v;
	release(queue_lock);
}

__attribute__((noinline)) static void stats_add(long v)
{
	possess(stats_lock, "stats");
	stats_sum += v;
	release(stats_lock);
}

__attribute__((noinline)) static void log_line(long v)
{
	possess(log_lock, "log");
	log_lines += v & 1;
	release(log_lock);
}

static void *worker(void *arg)
{
	long id = (long)arg;
	for (long i = 0; i < ROUNDS; i++) {
		queue_put(i + id);
		stats_add(i);
		if (i % 2 == 0)
			log_line(i);
	}
	return NULL;
}

static pthread_mutex_t *new_lock(void)
{
	pthread_mutex_t *m = malloc(sizeof(*m));
	pthread_mutex_init(m, NULL);
	return m;
}

int main(void)
{
	queue_lock = new_lock();
	stats_lock = new_lock();
	log_lock = new_lock();
	printf("lock name=queue addr=%p\nlock name=stats addr=%p\nlock name=log addr=%p\n", (void *)queue_lock, (void *)stats_lock, (void *)log_lock);
	fflush(stdout);
	pthread_t t[2];
	for (long i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("done queue=%ld stats=%ld log=%ld\n", queue_len, stats_sum, log_lines);
	return 0;
}
