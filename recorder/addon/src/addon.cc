#include <napi.h>
#include <time.h>

#include "bpf_object.h"
#include "calibration.h"
#include "libbpf_errors.h"
#include "mmap_watcher.h"
#include "mutex_session.h"
#include "process.h"

static Napi::Value ClockPair(const Napi::CallbackInfo& info) {
  // Read back to back so the run file can map monotonic event times to wall-clock time.
  timespec mono{}, real{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &real);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("monotonicNs", Napi::BigInt::New(info.Env(), uint64_t(uint64_t(mono.tv_sec) * 1000000000u + uint64_t(mono.tv_nsec))));
  out.Set("realtimeNs", Napi::BigInt::New(info.Env(), uint64_t(uint64_t(real.tv_sec) * 1000000000u + uint64_t(real.tv_nsec))));
  return out;
}

static Napi::Value SetVerbose(const Napi::CallbackInfo& info) {
  SetLibbpfVerbose(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfPrinter();
  exports.Set("MutexSession", MutexSession::Define(env));
  exports.Set("BpfObject", BpfObject::Define(env));
  exports.Set("MmapWatcher", MmapWatcher::Define(env));
  exports.Set("clockPair", Napi::Function::New(env, ClockPair));
  exports.Set("runLockPairs", Napi::Function::New(env, RunLockPairs));
  exports.Set("setVerbose", Napi::Function::New(env, SetVerbose));
  exports.Set("maxDrain", Napi::Number::New(env, double(MutexSession::kMaxDrainEvents)));
  DefineProcessFunctions(env, exports);
  return exports;
}

NODE_API_MODULE(mutexbpf, Init)
