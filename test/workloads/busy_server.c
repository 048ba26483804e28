// A target that is already busy when a recorder attaches to it (issue 10), in two modes:
//
// busy_server nested THREADS
//   THREADS workers loop lock(own[i]); lock(shared); unlock(shared); unlock(own[i]);
//   lock(shared2); unlock(shared2), always in that order, counting their acquisitions and
//   timing their own holds. A holder thread takes a recursive mutex twice and an error-checking
//   one once at start-up, keeps them until SIGUSR1 comes, releases them, then every 2 ms
//   re-enters the recursive one and tries to re-lock the error-checking one (EDEADLK).
//   Prints `ready pid=...` and the lock addresses at once; runs until SIGTERM, then prints per
//   thread `worker tid=... own=... n_own=... n_shared=... n_shared2=...` and per lock
//   `maxhold lock=... ns=...` (the longest hold any thread measured itself).
//
// busy_server blocked THREADS CALLS
//   THREADS threads each make CALLS lock calls on one mutex, some holding it across a 100 µs
//   sleep, and count the calls during which they slept in the kernel (their voluntary context
//   switches, from getrusage(RUSAGE_THREAD), changed across the call): `blocked tid=...
//   lock=... calls=... blocked=...`.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static volatile sig_atomic_t stop, release_requested;
static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t shared2 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t own[MAX_THREADS];
static pthread_mutex_t rec, err;

enum { OWN, SHARED, SHARED2, NLOCKS };
struct worker {
  int index;
  pid_t tid;
  long count[NLOCKS];
  int64_t max_hold[NLOCKS];
};
static struct worker workers[MAX_THREADS];

static void held(struct worker *w, int which, int64_t acquired) {
  int64_t hold = now_ns() - acquired;
  if (hold > w->max_hold[which]) w->max_hold[which] = hold;
  w->count[which]++;
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  w->tid = gettid();
  while (!stop) {
    pthread_mutex_lock(&own[w->index]);
    int64_t own_at = now_ns();
    pthread_mutex_lock(&shared);
    int64_t shared_at = now_ns();
    held(w, SHARED, shared_at);
    pthread_mutex_unlock(&shared);
    held(w, OWN, own_at);
    pthread_mutex_unlock(&own[w->index]);
    pthread_mutex_lock(&shared2);
    int64_t shared2_at = now_ns();
    held(w, SHARED2, shared2_at);
    pthread_mutex_unlock(&shared2);
  }
  return NULL;
}

static pid_t holder_tid;
static long holder_edeadlk;

static void on_usr1(int sig) {
  (void)sig;
  release_requested = 1;
}

static void *holder_main(void *arg) {
  (void)arg;
  holder_tid = gettid();
  pthread_mutex_lock(&rec);
  pthread_mutex_lock(&rec);
  pthread_mutex_lock(&err);
  while (!stop && !release_requested) usleep(1000);
  pthread_mutex_unlock(&err);
  pthread_mutex_unlock(&rec);
  pthread_mutex_unlock(&rec);
  while (!stop) {
    pthread_mutex_lock(&rec);
    pthread_mutex_lock(&rec);
    pthread_mutex_unlock(&rec);
    pthread_mutex_unlock(&rec);
    pthread_mutex_lock(&err);
    if (pthread_mutex_lock(&err) == EDEADLK) holder_edeadlk++;
    pthread_mutex_unlock(&err);
    usleep(2000);
  }
  return NULL;
}

static int nested(int threads) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&rec, &attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&err, &attr);
  for (int i = 0; i < threads; i++) pthread_mutex_init(&own[i], NULL);

  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigaddset(&term, SIGINT);
  pthread_sigmask(SIG_BLOCK, &term, NULL);

  signal(SIGUSR1, on_usr1);
  pthread_t holder, t[MAX_THREADS];
  pthread_create(&holder, NULL, holder_main, NULL);
  for (int i = 0; i < threads; i++) {
    workers[i].index = i;
    pthread_create(&t[i], NULL, worker_main, &workers[i]);
  }
  printf("locks shared=%p shared2=%p rec=%p err=%p\n", (void *)&shared, (void *)&shared2, (void *)&rec, (void *)&err);
  printf("ready pid=%d\n", getpid());
  fflush(stdout);

  int sig;
  sigwait(&term, &sig);
  stop = 1;
  pthread_join(holder, NULL);
  int64_t max_hold[NLOCKS] = {0};
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    struct worker *w = &workers[i];
    printf("worker tid=%d own=%p n_own=%ld n_shared=%ld n_shared2=%ld\n", w->tid, (void *)&own[i], w->count[OWN], w->count[SHARED], w->count[SHARED2]);
    printf("maxhold lock=%p ns=%lld\n", (void *)&own[i], (long long)w->max_hold[OWN]);
    for (int k = SHARED; k < NLOCKS; k++)
      if (w->max_hold[k] > max_hold[k]) max_hold[k] = w->max_hold[k];
  }
  printf("maxhold lock=%p ns=%lld\n", (void *)&shared, (long long)max_hold[SHARED]);
  printf("maxhold lock=%p ns=%lld\n", (void *)&shared2, (long long)max_hold[SHARED2]);
  printf("holder tid=%d rec=%p err=%p edeadlk=%ld\n", holder_tid, (void *)&rec, (void *)&err, holder_edeadlk);
  return 0;
}

static pthread_mutex_t contended = PTHREAD_MUTEX_INITIALIZER;
static long calls_per_thread;

static long voluntary_switches(void) {
  struct rusage u;
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_nvcsw;
}

static void *blocked_main(void *arg) {
  long index = (long)arg, blocked = 0;
  for (long i = 0; i < calls_per_thread; i++) {
    long before = voluntary_switches();
    pthread_mutex_lock(&contended);
    if (voluntary_switches() != before) blocked++;
    if ((i + index) % 4 == 0) usleep(100);
    pthread_mutex_unlock(&contended);
  }
  printf("blocked tid=%d lock=%p calls=%ld blocked=%ld\n", gettid(), (void *)&contended, calls_per_thread, blocked);
  return NULL;
}

static int blocked_mode(int threads, long calls) {
  calls_per_thread = calls;
  pthread_t t[MAX_THREADS];
  for (long i = 0; i < threads; i++) pthread_create(&t[i], NULL, blocked_main, (void *)i);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int threads = argc > 2 ? atoi(argv[2]) : 4;
  if (threads < 1 || threads > MAX_THREADS) threads = 4;
  if (argc > 1 && strcmp(argv[1], "nested") == 0) return nested(threads);
  if (argc > 3 && strcmp(argv[1], "blocked") == 0) return blocked_mode(threads, atol(argv[3]));
  fprintf(stderr, "usage: busy_server nested THREADS | blocked THREADS CALLS\n");
  return 2;
}
