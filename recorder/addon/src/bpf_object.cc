#include "bpf_object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <string.h>

#include <set>
#include <string>

#include "fail.h"
#include "libbpf_errors.h"
#include "mutex_session.h"

Napi::Function BpfObject::Define(Napi::Env env) {
  return DefineClass(env, "BpfObject",
                     {
                         InstanceMethod("load", &BpfObject::Load),
                         InstanceMethod("attachUprobe", &BpfObject::AttachUprobe),
                         InstanceMethod("attachAuto", &BpfObject::AttachAuto),
                         InstanceMethod("attachAll", &BpfObject::AttachAll),
                         InstanceMethod("close", &BpfObject::Close),
                     });
}

// new BpfObject(objectPath)
BpfObject::BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
  std::string path = info[0].As<Napi::String>();
  ClearLibbpfMessage();
  obj_ = bpf_object__open_file(path.c_str(), nullptr);
  long err = libbpf_get_error(obj_);
  if (err) {
    obj_ = nullptr;
    Fail(info.Env(), DescribeError("cannot open BPF object " + path, int(err)));
  }
}

BpfObject::~BpfObject() { Destroy(); }

void BpfObject::Destroy() {
  links_.DestroyAll();
  if (obj_) bpf_object__close(obj_);
  obj_ = nullptr;
}

bpf_program* BpfObject::Program(const Napi::CallbackInfo& info, size_t at) {
  std::string name = info[at].As<Napi::String>();
  bpf_program* prog = obj_ ? bpf_object__find_program_by_name(obj_, name.c_str()) : nullptr;
  if (!prog) Fail(info.Env(), "BPF object has no program " + name);
  return prog;
}

// The name a map has in its object's source: internal maps (.rodata, .bss) carry a prefix of the
// object's name ("mutex_bp.bss").
static std::string SourceName(const bpf_map* map) {
  std::string name = bpf_map__name(map);
  size_t dot = name.find('.');
  return dot == std::string::npos ? name : name.substr(dot);
}

// load({ programs?: [name, ...], shareMapsWith?: MutexSession }): loads the programs named (all
// when none are); with a loaded MutexSession, each map of this object that the session's object
// has by the same name is the session's (its ring buffer, counters, settings and window:
// bpf/recording.h), same sizes or refused.
Napi::Value BpfObject::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!obj_) return Fail(env, "BPF object is closed");
  Napi::Object options = info[0].As<Napi::Object>();
  if (options.Has("programs")) {
    std::set<std::string> wanted;
    Napi::Array programs = options.Get("programs").As<Napi::Array>();
    for (uint32_t i = 0; i < programs.Length(); i++) wanted.insert(programs.Get(i).As<Napi::String>());
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj_) bpf_program__set_autoload(prog, wanted.erase(bpf_program__name(prog)) > 0);
    if (!wanted.empty()) return Fail(env, "BPF object has no program " + *wanted.begin());
  }
  if (options.Has("shareMapsWith")) {
    MutexSession* session = MutexSession::Unwrap(options.Get("shareMapsWith").As<Napi::Object>());
    bpf_object* shared = session ? session->Object() : nullptr;
    if (!shared) return Fail(env, "load(): shareMapsWith is not a loaded MutexSession");
    bpf_map* map;
    bpf_object__for_each_map(map, obj_) {
      const bpf_map* theirs = nullptr;
      for (const bpf_map* m = bpf_object__next_map(shared, nullptr); m; m = bpf_object__next_map(shared, m))
        if (SourceName(m) == SourceName(map)) theirs = m;
      if (!theirs) continue;
      if (bpf_map__value_size(theirs) != bpf_map__value_size(map) || bpf_map__key_size(theirs) != bpf_map__key_size(map))
        return Fail(env, "cannot share map " + SourceName(map) + " with the recording session: its layout differs");
      int err = bpf_map__reuse_fd(map, bpf_map__fd(theirs));
      if (err) return Fail(env, DescribeError("cannot share map " + SourceName(map), err));
    }
  }
  ClearLibbpfMessage();
  int err = bpf_object__load(obj_);
  if (err) return Fail(env, DescribeError("cannot load the BPF programs", err));
  return env.Undefined();
}

// attachAll(): every loaded program, by its section.
Napi::Value BpfObject::AttachAll(const Napi::CallbackInfo& info) {
  if (!obj_) return Fail(info.Env(), "BPF object is closed");
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj_) {
    if (!bpf_program__autoload(prog)) continue;
    std::string error;
    if (links_.AttachAuto(prog, &error) < 0) return Fail(info.Env(), error);
  }
  return info.Env().Undefined();
}

// attachUprobe(program, binaryPath, fileOffset, isReturnProbe, pid)
Napi::Value BpfObject::AttachUprobe(const Napi::CallbackInfo& info) { return links_.AttachUprobe(info, Program(info, 0)); }

// attachAuto(program): attach by the program's section.
Napi::Value BpfObject::AttachAuto(const Napi::CallbackInfo& info) { return links_.AttachAuto(info, Program(info, 0)); }

Napi::Value BpfObject::Close(const Napi::CallbackInfo& info) {
  Destroy();
  return info.Env().Undefined();
}
