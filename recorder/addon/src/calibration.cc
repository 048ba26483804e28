// The lock/unlock loop the recorder calibrates its probes with (recorder/calibrate.ts): run once
// bare and once with the session's programs attached to this process, on a thread of its own, so
// that its events can be told from the recorder's other threads by tid.
#include "calibration.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <string>
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

__attribute__((noinline)) void ReadLockPairs(pthread_rwlock_t* rwlock, uint32_t pairs) {
  for (uint32_t i = 0; i < pairs; i++) {
    pthread_rwlock_rdlock(rwlock);
    __asm__ volatile("" ::: "memory");
    pthread_rwlock_unlock(rwlock);
  }
}

__attribute__((noinline)) void WriteLockPairs(pthread_rwlock_t* rwlock, uint32_t pairs) {
  for (uint32_t i = 0; i < pairs; i++) {
    pthread_rwlock_wrlock(rwlock);
    __asm__ volatile("" ::: "memory");
    pthread_rwlock_unlock(rwlock);
  }
}

__attribute__((noinline)) void SpinPairs(pthread_spinlock_t* spin, uint32_t pairs) {
  for (uint32_t i = 0; i < pairs; i++) {
    pthread_spin_lock(spin);
    __asm__ volatile("" ::: "memory");
    pthread_spin_unlock(spin);
  }
}

// Cond waits with a deadline of 1e9 ns past a second: glibc checks it first and returns EINVAL at
// once, so a call takes a few ns and its recorded wait is the probes'. (An expired deadline would
// make a futex call whose own time, ~20 us in a VM and varying by more than the probes, hides them.)
__attribute__((noinline)) void InvalidCondWaits(pthread_cond_t* cond, pthread_mutex_t* mutex, uint32_t calls) {
  timespec invalid{0, 1000000000};
  pthread_mutex_lock(mutex);
  for (uint32_t i = 0; i < calls; i++) pthread_cond_timedwait(cond, mutex, &invalid);
  pthread_mutex_unlock(mutex);
}

void RunLoop(const std::string& kind, uint32_t n) {
  if (kind == "rwlock:R" || kind == "rwlock:W") {
    pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
    if (kind == "rwlock:R")
      ReadLockPairs(&rwlock, n);
    else
      WriteLockPairs(&rwlock, n);
    pthread_rwlock_destroy(&rwlock);
  } else if (kind == "spin") {
    pthread_spinlock_t spin;
    pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
    SpinPairs(&spin, n);
    pthread_spin_destroy(&spin);
  } else if (kind == "cond") {
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    InvalidCondWaits(&cond, &mutex, n);
    pthread_cond_destroy(&cond);
    pthread_mutex_destroy(&mutex);
  } else {
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    LockPairs(&mutex, n);
    pthread_mutex_destroy(&mutex);
  }
}

}  // namespace

// runLockPairs(pairs, kind = 'mutex'): { tid, ns } — on a new thread, `pairs` uncontended
// lock/unlock pairs of a private lock of that kind ('mutex', 'rwlock:R' read locks, 'rwlock:W'
// write locks, 'spin'), or for 'cond' that many pthread_cond_timedwait calls with an invalid
// deadline (EINVAL at once); and how long they took.
Napi::Value RunLockPairs(const Napi::CallbackInfo& info) {
  uint32_t pairs = info[0].As<Napi::Number>().Uint32Value();
  std::string kind = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "mutex";
  if (kind != "mutex" && kind != "rwlock:R" && kind != "rwlock:W" && kind != "spin" && kind != "cond") {
    Napi::TypeError::New(info.Env(), "runLockPairs: unknown kind " + kind).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  LoopResult result;
  std::thread worker([&result, pairs, &kind] {
    result.tid = pid_t(syscall(SYS_gettid));
    uint64_t start = MonotonicNs();
    RunLoop(kind, pairs);
    result.ns = MonotonicNs() - start;
  });
  worker.join();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("tid", double(result.tid));
  out.Set("ns", double(result.ns));
  return out;
}
