/*
 * Test workload: pthread rwlocks and spin locks with known waits and holds, each measured by the
 * workload itself with CLOCK_MONOTONIC (the clock of the recorded events), one parseable line each.
 *
 *   rwlock rw HOLD_MS     readers share the lock while a writer waits for both; then a reader waits
 *                         for the writer; try/timed/clock variants and a recursive read lock, counted
 *   rwlock spin HOLD_MS   a spin lock held across a sleep while another thread spins for it
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
static long hold_ms = 100;
static atomic_int readers_in, writer_in, step;

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int gettid_(void) { return (int)syscall(SYS_gettid); }

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static struct timespec deadline_in_ms(clockid_t clock, long ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_nsec += (ms % 1000) * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

/* ---- rw ---- */

/* Two readers hold the lock at once, the second holding it longer; the writer asks while both do. */
static void *reader(void *arg)
{
	long extra = (long)arg;
	pthread_rwlock_rdlock(&rw);
	unsigned long long acquired = now_ns();
	atomic_fetch_add(&readers_in, 1);
	sleep_ms(hold_ms + extra);
	unsigned long long released = now_ns();
	pthread_rwlock_unlock(&rw);
	printf("rhold tid=%d lock=%p acquired_ns=%llu released_ns=%llu\n", gettid_(), (void *)&rw, acquired, released);
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	while (atomic_load(&readers_in) < 2)
		sleep_ms(1);
	unsigned long long request = now_ns();
	pthread_rwlock_wrlock(&rw);
	unsigned long long acquired = now_ns();
	atomic_store(&writer_in, 1);
	sleep_ms(hold_ms);
	unsigned long long released = now_ns();
	pthread_rwlock_unlock(&rw);
	printf("wwait tid=%d lock=%p request_ns=%llu acquired_ns=%llu\n", gettid_(), (void *)&rw, request, acquired);
	printf("whold tid=%d lock=%p acquired_ns=%llu released_ns=%llu\n", gettid_(), (void *)&rw, acquired, released);
	return NULL;
}

/* Asks for a read lock while the writer holds it. */
static void *late_reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&writer_in))
		sleep_ms(1);
	unsigned long long request = now_ns();
	pthread_rwlock_rdlock(&rw);
	unsigned long long acquired = now_ns();
	pthread_rwlock_unlock(&rw);
	printf("rwait tid=%d lock=%p request_ns=%llu acquired_ns=%llu\n", gettid_(), (void *)&rw, request, acquired);
	return NULL;
}

/* Holds a read lock until told to let go, for the failing write attempts. */
static void *blocking_reader(void *arg)
{
	(void)arg;
	pthread_rwlock_rdlock(&rw);
	atomic_store(&step, 1);
	while (atomic_load(&step) != 2)
		sleep_ms(1);
	pthread_rwlock_unlock(&rw);
	return NULL;
}

/* Holds the write lock until told to let go, for the failing read attempts. */
static void *blocking_writer(void *arg)
{
	(void)arg;
	pthread_rwlock_wrlock(&rw);
	atomic_store(&step, 3);
	while (atomic_load(&step) != 4)
		sleep_ms(1);
	pthread_rwlock_unlock(&rw);
	return NULL;
}

static void run_rw(void)
{
	pthread_t r1, r2, w, lr;
	pthread_create(&r1, NULL, reader, (void *)0L);
	pthread_create(&r2, NULL, reader, (void *)(hold_ms / 2));
	pthread_create(&w, NULL, writer, NULL);
	pthread_create(&lr, NULL, late_reader, NULL);
	pthread_join(r1, NULL);
	pthread_join(r2, NULL);
	pthread_join(w, NULL);
	pthread_join(lr, NULL);

	/* every other kind of call, uncontended, then failing */
	int rdlock = 0, tryrdlock_ok = 0, timedrdlock_ok = 0, clockrdlock_ok = 0, wrlock = 0, trywrlock_ok = 0, timedwrlock_ok = 0,
	    clockwrlock_ok = 0, unlock = 0, trywrlock_busy = 0, timedwrlock_timeout = 0, tryrdlock_busy = 0, recursive_rdlock = 0;
	for (int i = 0; i < 20; i++) {
		rdlock += pthread_rwlock_rdlock(&rw) == 0;
		unlock += pthread_rwlock_unlock(&rw) == 0;
		wrlock += pthread_rwlock_wrlock(&rw) == 0;
		unlock += pthread_rwlock_unlock(&rw) == 0;
	}
	struct timespec dl;
	tryrdlock_ok += pthread_rwlock_tryrdlock(&rw) == 0;
	unlock += pthread_rwlock_unlock(&rw) == 0;
	dl = deadline_in_ms(CLOCK_REALTIME, 1000);
	timedrdlock_ok += pthread_rwlock_timedrdlock(&rw, &dl) == 0;
	unlock += pthread_rwlock_unlock(&rw) == 0;
	dl = deadline_in_ms(CLOCK_MONOTONIC, 1000);
	clockrdlock_ok += pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &dl) == 0;
	unlock += pthread_rwlock_unlock(&rw) == 0;
	trywrlock_ok += pthread_rwlock_trywrlock(&rw) == 0;
	unlock += pthread_rwlock_unlock(&rw) == 0;
	dl = deadline_in_ms(CLOCK_REALTIME, 1000);
	timedwrlock_ok += pthread_rwlock_timedwrlock(&rw, &dl) == 0;
	unlock += pthread_rwlock_unlock(&rw) == 0;
	dl = deadline_in_ms(CLOCK_MONOTONIC, 1000);
	clockwrlock_ok += pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &dl) == 0;
	unlock += pthread_rwlock_unlock(&rw) == 0;
	/* a reader taking it twice: one hold, from the outer lock to the outer unlock */
	recursive_rdlock += pthread_rwlock_rdlock(&rw) == 0;
	unsigned long long acquired = now_ns();
	recursive_rdlock += pthread_rwlock_rdlock(&rw) == 0;
	sleep_ms(hold_ms);
	unlock += pthread_rwlock_unlock(&rw) == 0;
	unsigned long long released = now_ns();
	unlock += pthread_rwlock_unlock(&rw) == 0;
	printf("recursive tid=%d lock=%p acquired_ns=%llu released_ns=%llu\n", gettid_(), (void *)&rw, acquired, released);

	pthread_t b;
	pthread_create(&b, NULL, blocking_reader, NULL);
	while (atomic_load(&step) != 1)
		sleep_ms(1);
	trywrlock_busy += pthread_rwlock_trywrlock(&rw) == EBUSY;
	dl = deadline_in_ms(CLOCK_REALTIME, 30);
	timedwrlock_timeout += pthread_rwlock_timedwrlock(&rw, &dl) == ETIMEDOUT;
	atomic_store(&step, 2);
	pthread_join(b, NULL);
	pthread_create(&b, NULL, blocking_writer, NULL);
	while (atomic_load(&step) != 3)
		sleep_ms(1);
	tryrdlock_busy += pthread_rwlock_tryrdlock(&rw) == EBUSY;
	atomic_store(&step, 4);
	pthread_join(b, NULL);
	printf("calls tid=%d lock=%p rdlock=%d tryrdlock_ok=%d timedrdlock_ok=%d clockrdlock_ok=%d wrlock=%d trywrlock_ok=%d timedwrlock_ok=%d "
	       "clockwrlock_ok=%d recursive_rdlock=%d unlock=%d trywrlock_busy=%d timedwrlock_timeout=%d tryrdlock_busy=%d\n",
	       gettid_(), (void *)&rw, rdlock, tryrdlock_ok, timedrdlock_ok, clockrdlock_ok, wrlock, trywrlock_ok, timedwrlock_ok, clockwrlock_ok,
	       recursive_rdlock, unlock, trywrlock_busy, timedwrlock_timeout, tryrdlock_busy);
}

/* ---- spin ---- */

static atomic_int spin_held;

static void *spin_holder(void *arg)
{
	(void)arg;
	pthread_spin_lock(&spin);
	unsigned long long acquired = now_ns();
	atomic_store(&spin_held, 1);
	sleep_ms(hold_ms);
	unsigned long long released = now_ns();
	pthread_spin_unlock(&spin);
	printf("shold tid=%d lock=%p acquired_ns=%llu released_ns=%llu\n", gettid_(), (void *)&spin, acquired, released);
	return NULL;
}

static void *spin_waiter(void *arg)
{
	(void)arg;
	while (!atomic_load(&spin_held))
		sleep_ms(1);
	int busy = pthread_spin_trylock(&spin) == EBUSY;
	unsigned long long request = now_ns();
	pthread_spin_lock(&spin);
	unsigned long long acquired = now_ns();
	pthread_spin_unlock(&spin);
	printf("swait tid=%d lock=%p request_ns=%llu acquired_ns=%llu trylock_busy=%d\n", gettid_(), (void *)&spin, request, acquired, busy);
	return NULL;
}

static void run_spin(void)
{
	pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE); /* pthread_spin_unlock under another name */
	int lock = 0, trylock_ok = 0;
	for (int i = 0; i < 20; i++) {
		lock += pthread_spin_lock(&spin) == 0;
		pthread_spin_unlock(&spin);
	}
	trylock_ok += pthread_spin_trylock(&spin) == 0;
	pthread_spin_unlock(&spin);
	pthread_t h, w;
	pthread_create(&h, NULL, spin_holder, NULL);
	pthread_create(&w, NULL, spin_waiter, NULL);
	pthread_join(h, NULL);
	pthread_join(w, NULL);
	pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE); /* again, on a free lock */
	printf("spincalls tid=%d lock=%p lock_calls=%d trylock_ok=%d\n", gettid_(), (void *)&spin, lock, trylock_ok);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: rwlock rw|spin HOLD_MS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	hold_ms = atol(argv[2]);
	if (strcmp(argv[1], "rw") == 0)
		run_rw();
	else if (strcmp(argv[1], "spin") == 0)
		run_spin();
	else
		return 2;
	return 0;
}
