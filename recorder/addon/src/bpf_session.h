// One loaded BPF object: its programs' attachments and the ring buffer JS drains in batches.
#pragma once
#include <napi.h>
#include <string>
#include <vector>

#include <linux/types.h>
#include "mutex.h"

struct bpf_object;
struct bpf_link;
struct ring_buffer;

class BpfSession : public Napi::ObjectWrap<BpfSession> {
 public:
  static const size_t kMaxDrainEvents;
  static Napi::Function Define(Napi::Env env);
  explicit BpfSession(const Napi::CallbackInfo& info);
  ~BpfSession() override;

 private:
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value SetGlobal(const Napi::CallbackInfo& info);
  Napi::Value SetAutoload(const Napi::CallbackInfo& info);
  Napi::Value SetRingBufferSize(const Napi::CallbackInfo& info);
  Napi::Value SetStackDepth(const Napi::CallbackInfo& info);
  Napi::Value ReadStack(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value AttachUprobe(const Napi::CallbackInfo& info);
  Napi::Value AttachAuto(const Napi::CallbackInfo& info);
  Napi::Value DetachLinks(const Napi::CallbackInfo& info);
  Napi::Value ForgetThreadNames(const Napi::CallbackInfo& info);
  Napi::Value SetTimeBase(const Napi::CallbackInfo& info);
  Napi::Value SetWindow(const Napi::CallbackInfo& info);
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value PendingCalls(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  static int OnSample(void* ctx, void* data, size_t size);
  void DestroyLinks();
  void Destroy();

  bpf_object* obj_ = nullptr;
  ring_buffer* ring_ = nullptr;
  std::vector<bpf_link*> links_;
  std::vector<mutex_event> drained_;  // taken from the ring buffer, not yet handed to JS
  __u64 time_base_ns_ = 0;
};
