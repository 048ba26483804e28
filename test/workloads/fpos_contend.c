/*
 * Kernel mutex contention from user space: THREADS threads read() one shared file description,
 * so each read takes the file's f_pos_lock (a kernel mutex) and they contend for it.
 *
 *   fpos_contend FILE THREADS READS_PER_THREAD [--wait-go]
 *
 * Prints "reader tid=N reads=R in_read_ns=T" per thread: T is the time the thread spent inside
 * read() and lseek(), an upper bound of its wait for the lock.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int fd;
static int reads_per_thread;
static pthread_barrier_t start;

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void *reader(void *arg)
{
	(void)arg;
	static __thread char buf[1024 * 1024];
	unsigned long long inside = 0;
	pthread_barrier_wait(&start);
	for (int i = 0; i < reads_per_thread; i++) {
		unsigned long long t0 = now_ns();
		if (read(fd, buf, sizeof(buf)) <= 0)
			lseek(fd, 0, SEEK_SET);
		inside += now_ns() - t0;
	}
	printf("reader tid=%ld reads=%d in_read_ns=%llu\n", (long)syscall(SYS_gettid), reads_per_thread, inside);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s FILE THREADS READS_PER_THREAD [--wait-go]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	int threads = atoi(argv[2]);
	reads_per_thread = atoi(argv[3]);
	if (argc > 4 && strcmp(argv[4], "--wait-go") == 0) {
		char line[16];
		printf("ready pid=%d\n", getpid());
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}
	pthread_t t[64];
	if (threads > 64)
		threads = 64;
	pthread_barrier_init(&start, NULL, threads);
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, reader, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return 0;
}
