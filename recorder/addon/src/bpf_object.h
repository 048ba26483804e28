// A benchmark's BPF object (bench/: build/empty.bpf.o, probe_cost.bpf.o, synthetic.bpf.o), opened
// from its file and its programs named by string (bpf/programs.ts lists them): the recorder's own
// programs go through MutexSession and their skeleton instead.
#pragma once
#include <napi.h>

#include "links.h"

struct bpf_object;

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit BpfObject(const Napi::CallbackInfo& info);
  ~BpfObject() override;

 private:
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value AttachUprobe(const Napi::CallbackInfo& info);
  Napi::Value AttachAuto(const Napi::CallbackInfo& info);
  Napi::Value AttachAll(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  // The program named info[at], or null with a JS error thrown.
  bpf_program* Program(const Napi::CallbackInfo& info, size_t at);
  void Destroy();

  bpf_object* obj_ = nullptr;
  Links links_;
};
