/*
 * The demo's workload: a toy server. WORKERS threads handle REQUESTS requests each; a request
 * looks up a global cache (g_cache_lock, short holds, hot), appends to a heap-allocated
 * per-shard queue, and every 16th request flushes the log while holding g_log_lock (long holds,
 * the contention a user would want to find). A stats thread polls with trylock.
 *
 *   demo_server [WORKERS [REQUESTS]]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

pthread_mutex_t g_cache_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;

struct shard {
	pthread_mutex_t lock;
	long queued;
};

static struct shard *shards[4];
static volatile long cache_hits, log_bytes, polls;
static volatile int done;

static void spin_us(long us)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

__attribute__((noinline)) static void cache_lookup(void)
{
	pthread_mutex_lock(&g_cache_lock);
	cache_hits++;
	spin_us(5);
	pthread_mutex_unlock(&g_cache_lock);
}

__attribute__((noinline)) static void enqueue(int worker)
{
	struct shard *s = shards[worker % 4];
	pthread_mutex_lock(&s->lock);
	s->queued++;
	pthread_mutex_unlock(&s->lock);
}

__attribute__((noinline)) static void flush_log(void)
{
	pthread_mutex_lock(&g_log_lock);
	log_bytes += 4096;
	spin_us(400); /* writing the log under the lock: the bug the demo finds */
	pthread_mutex_unlock(&g_log_lock);
}

__attribute__((noinline)) static void append_log(void)
{
	pthread_mutex_lock(&g_log_lock);
	log_bytes += 64;
	pthread_mutex_unlock(&g_log_lock);
}

static int requests = 400;

static void *worker(void *arg)
{
	int id = (int)(long)arg;
	for (int i = 0; i < requests; i++) {
		cache_lookup();
		enqueue(id);
		if (i % 16 == 0)
			flush_log();
		else
			append_log();
		spin_us(20);
	}
	return NULL;
}

static void *stats(void *arg)
{
	(void)arg;
	while (!done) {
		if (pthread_mutex_trylock(&g_log_lock) == 0) {
			polls++;
			pthread_mutex_unlock(&g_log_lock);
		}
		spin_us(500);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int workers = argc > 1 ? atoi(argv[1]) : 4;
	if (argc > 2)
		requests = atoi(argv[2]);
	for (int i = 0; i < 4; i++) {
		shards[i] = calloc(1, sizeof(struct shard));
		pthread_mutex_init(&shards[i]->lock, NULL);
	}
	pthread_t t[64], st;
	if (workers > 64)
		workers = 64;
	pthread_create(&st, NULL, stats, NULL);
	for (int i = 0; i < workers; i++)
		pthread_create(&t[i], NULL, worker, (void *)(long)i);
	for (int i = 0; i < workers; i++)
		pthread_join(t[i], NULL);
	done = 1;
	pthread_join(st, NULL);
	printf("demo_server: %d workers x %d requests, %ld cache hits, %ld log bytes, %ld stats polls\n", workers, requests, cache_hits,
	       log_bytes, polls);
	return 0;
}
