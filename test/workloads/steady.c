/*
 * Test workload for the fault and hostile-path tests: THREADS threads take a global mutex
 * (g_steady_lock) in a loop, pausing PAUSE_US µs between acquisitions, until SIGTERM or SIGINT.
 *
 *   steady [--ignore-term] [--name NAME] THREADS PAUSE_US
 *
 * --ignore-term: SIGTERM is ignored (to test a recorder's SIGKILL after its grace period).
 * --name NAME: the worker threads are named NAME (may hold control characters).
 * Prints "ready pid=N", and "terminated" when it ends on a signal.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pthread_mutex_t g_steady_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t stop;
static long pause_us;
static long counter;

static void on_signal(int sig) { (void)sig; stop = 1; }

__attribute__((noinline)) static void steady_step(void)
{
	pthread_mutex_lock(&g_steady_lock);
	counter++;
	pthread_mutex_unlock(&g_steady_lock);
}

static void *worker(void *arg)
{
	(void)arg;
	while (!stop) {
		steady_step();
		if (pause_us > 0) usleep(pause_us);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int ignore_term = 0;
	const char *name = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--ignore-term")) ignore_term = 1;
		else if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: steady [--ignore-term] [--name NAME] THREADS PAUSE_US\n");
		return 2;
	}
	int threads = atoi(argv[i]);
	pause_us = atol(argv[i + 1]);
	signal(SIGTERM, ignore_term ? SIG_IGN : on_signal);
	signal(SIGINT, on_signal);
	pthread_t t[64];
	if (threads > 64) threads = 64;
	for (int k = 0; k < threads; k++) {
		pthread_create(&t[k], NULL, worker, NULL);
		if (name) pthread_setname_np(t[k], name);
	}
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	for (int k = 0; k < threads; k++) pthread_join(t[k], NULL);
	printf("terminated\n");
	return 0;
}
