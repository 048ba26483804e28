/*
 * Event source for the ingest benchmark: calls getppid() COUNT times at RATE calls per second
 * (0: as fast as it goes); under mutex-rec --bench-object build/synthetic.bpf.o each call is one recorded event.
 * Prints "calls=N elapsed_ns=T".
 *
 *   getppid_rate COUNT RATE
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s COUNT RATE\n", argv[0]);
		return 2;
	}
	long count = atol(argv[1]);
	double rate = atof(argv[2]);
	long long start = now_ns();
	for (long i = 0; i < count; i++) {
		/* pace in steps of 1000 calls: the schedule is where call i is due */
		if (rate > 0 && i % 1000 == 0)
			while (now_ns() - start < (long long)(i / rate * 1e9))
				;
		getppid();
	}
	printf("calls=%ld elapsed_ns=%lld\n", count, now_ns() - start);
	return 0;
}
