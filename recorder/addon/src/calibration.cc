// The lock/unlock loop the recorder calibrates its probes with (recorder/calibrate.ts): run once
// bare and once with the session's programs attached to this process, on a thread of its own, so
// that its events can be told from the recorder's other threads by tid.
#include "calibration.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <thread>

namespace {

uint64_t MonotonicNs() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return uint64_t(t.tv_sec) * 1000000000u + uint64_t(t.tv_nsec);
}

struct LoopResult {
  pid_t tid = 0;
  uint64_t ns = 0;
};

// noinline: the calls must go through the PLT to libc's pthread functions, as a program's do.
__attribute__((noinline)) void LockPairs(pthread_mutex_t* mutex, uint32_t pairs) {
  for (uint32_t i = 0; i < pairs; i++) {
    pthread_mutex_lock(mutex);
    __asm__ volatile("" ::: "memory");
    pthread_mutex_unlock(mutex);
  }
}

}  // namespace

// runLockPairs(pairs): { tid, ns } — pairs uncontended lock/unlock pairs of a private mutex on a
// new thread, and how long they took.
Napi::Value RunLockPairs(const Napi::CallbackInfo& info) {
  uint32_t pairs = info[0].As<Napi::Number>().Uint32Value();
  LoopResult result;
  std::thread worker([&result, pairs] {
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    result.tid = pid_t(syscall(SYS_gettid));
    uint64_t start = MonotonicNs();
    LockPairs(&mutex, pairs);
    result.ns = MonotonicNs() - start;
    pthread_mutex_destroy(&mutex);
  });
  worker.join();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("tid", double(result.tid));
  out.Set("ns", double(result.ns));
  return out;
}
