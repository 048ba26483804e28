/*
 * test/workloads/fpos_contend.c, timed: runs its main() and prints how long it took,
 *
 *   elapsed_ns=N
 *
 * from before the file is opened to after the last reader is joined (thread creation included:
 * tens of µs against the hundreds of ms of reads). Same arguments as fpos_contend, without --wait-go (the wait would be timed).
 */
#include <time.h>

#define main fpos_contend_main
#include "../../test/workloads/fpos_contend.c"
#undef main

int main(int argc, char **argv)
{
	unsigned long long start = now_ns();
	int rc = fpos_contend_main(argc, argv);
	if (rc == 0)
		printf("elapsed_ns=%llu\n", now_ns() - start);
	return rc;
}
