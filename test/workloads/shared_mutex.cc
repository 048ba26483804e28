// Test workload: C++ std::shared_mutex (libstdc++: a pthread rwlock), measured by the workload itself
// with CLOCK_MONOTONIC, one parseable line each:
//   shared_mutex HOLD_MS
// A writer holds it (unique_lock) for HOLD_MS while a reader asks for it (shared_lock) and waits;
// then two readers share it for HOLD_MS.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <atomic>
#include <sys/syscall.h>
#include <unistd.h>

static std::shared_mutex table;
static std::atomic<int> writer_in{0};
static long hold_ms = 100;

static unsigned long long now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int tid() { return (int)syscall(SYS_gettid); }

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  setvbuf(stdout, nullptr, _IOLBF, 0);
  hold_ms = atol(argv[1]);
  std::thread writer([] {
    std::unique_lock<std::shared_mutex> lock(table);
    unsigned long long acquired = now_ns();
    writer_in = 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
    unsigned long long released = now_ns();
    lock.unlock();
    printf("whold tid=%d lock=%p acquired_ns=%llu released_ns=%llu\n", tid(), (void*)&table, acquired, released);
  });
  std::thread reader([] {
    while (!writer_in) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    unsigned long long request = now_ns();
    std::shared_lock<std::shared_mutex> lock(table);
    unsigned long long acquired = now_ns();
    lock.unlock();
    printf("rwait tid=%d lock=%p request_ns=%llu acquired_ns=%llu\n", tid(), (void*)&table, request, acquired);
  });
  writer.join();
  reader.join();
  auto share = [] {
    std::shared_lock<std::shared_mutex> lock(table);
    unsigned long long acquired = now_ns();
    std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
    unsigned long long released = now_ns();
    lock.unlock();
    printf("rhold tid=%d lock=%p acquired_ns=%llu released_ns=%llu\n", tid(), (void*)&table, acquired, released);
  };
  std::thread r1(share), r2(share);
  r1.join();
  r2.join();
  return 0;
}
