/*
 * Locks with known names and call sites, for the symbolization tests:
 * - g_cache_lock: a global mutex (named by its symbol);
 * - a heap mutex made in cache_new() and first locked in cache_insert();
 * - static_helper(): a static function, which a stripped build keeps only as module+offset.
 * Prints the addresses so tests can find them: "lock name=... addr=0x...".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

pthread_mutex_t g_cache_lock = PTHREAD_MUTEX_INITIALIZER;

struct cache {
	pthread_mutex_t lock;
	int entries;
};

__attribute__((noinline)) struct cache *cache_new(void)
{
	struct cache *c = calloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

__attribute__((noinline)) void cache_insert(struct cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->entries++;
	pthread_mutex_unlock(&c->lock);
}

__attribute__((noinline, noclone)) void flush_global(void)
{
	pthread_mutex_lock(&g_cache_lock);
	pthread_mutex_unlock(&g_cache_lock);
}

static volatile int helper_calls;

__attribute__((noinline, noclone)) static void static_helper(void)
{
	pthread_mutex_lock(&g_cache_lock);
	helper_calls++;
	pthread_mutex_unlock(&g_cache_lock);
}

int main(void)
{
	struct cache *c = cache_new();
	for (int i = 0; i < 3; i++) {
		cache_insert(c);
		flush_global();
		static_helper();
	}
	printf("lock name=g_cache_lock addr=%p\n", (void *)&g_cache_lock);
	printf("lock name=heap addr=%p\n", (void *)&c->lock);
	return 0;
}
