#include "bpf_session.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "libbpf_errors.h"

namespace {

// Keeps each drain's memory bounded; JS sizes its reusable columns to it (exported as maxDrain).
constexpr size_t kMaxDrain = 65536;

Napi::Value Fail(Napi::Env env, const std::string& message) {
  Napi::Error::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

bpf_program* FindProgram(bpf_object* obj, const std::string& name) {
  return obj ? bpf_object__find_program_by_name(obj, name.c_str()) : nullptr;
}

// Offset of a global inside its data section (.rodata, .bss), from the object's BTF.
long GlobalOffset(bpf_object* obj, const char* section, const std::string& name, __u32* size) {
  btf* object_btf = bpf_object__btf(obj);
  if (!object_btf) return -1;
  int sec_id = btf__find_by_name_kind(object_btf, section, BTF_KIND_DATASEC);
  if (sec_id < 0) return -1;
  const btf_type* sec = btf__type_by_id(object_btf, sec_id);
  const btf_var_secinfo* var = btf_var_secinfos(sec);
  for (int i = 0; i < btf_vlen(sec); i++, var++) {
    const btf_type* t = btf__type_by_id(object_btf, var->type);
    if (name == btf__name_by_offset(object_btf, t->name_off)) {
      *size = var->size;
      return var->offset;
    }
  }
  return -1;
}

}  // namespace

const size_t BpfSession::kMaxDrainEvents = kMaxDrain;

Napi::Function BpfSession::Define(Napi::Env env) {
  return DefineClass(env, "BpfSession",
                     {
                         InstanceMethod("programs", &BpfSession::Programs),
                         InstanceMethod("setGlobal", &BpfSession::SetGlobal),
                         InstanceMethod("setAutoload", &BpfSession::SetAutoload),
                         InstanceMethod("setRingBufferSize", &BpfSession::SetRingBufferSize),
                         InstanceMethod("setStackDepth", &BpfSession::SetStackDepth),
                         InstanceMethod("readStack", &BpfSession::ReadStack),
                         InstanceMethod("load", &BpfSession::Load),
                         InstanceMethod("attachUprobe", &BpfSession::AttachUprobe),
                         InstanceMethod("attachAuto", &BpfSession::AttachAuto),
                         InstanceMethod("detachLinks", &BpfSession::DetachLinks),
                         InstanceMethod("forgetThreadNames", &BpfSession::ForgetThreadNames),
                         InstanceMethod("setTimeBase", &BpfSession::SetTimeBase),
                         InstanceMethod("setWindow", &BpfSession::SetWindow),
                         InstanceMethod("drain", &BpfSession::Drain),
                         InstanceMethod("pendingCalls", &BpfSession::PendingCalls),
                         InstanceMethod("counters", &BpfSession::Counters),
                         InstanceMethod("detach", &BpfSession::Detach),
                         InstanceMethod("close", &BpfSession::Close),
                     });
}

// new BpfSession(objectPath)
BpfSession::BpfSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfSession>(info) {
  std::string path = info[0].As<Napi::String>();
  ClearLibbpfMessage();
  obj_ = bpf_object__open_file(path.c_str(), nullptr);
  long err = libbpf_get_error(obj_);
  if (err) {
    obj_ = nullptr;
    Fail(info.Env(), DescribeError("cannot open BPF object " + path, int(err)));
  }
}

BpfSession::~BpfSession() { Destroy(); }

// Each uprobe detach waits for a kernel grace period (~90 ms here, serialized by the kernel even
// from parallel threads): stopping a recording of 15 probes takes ~1.4 s.
void BpfSession::DestroyLinks() {
  for (bpf_link* link : links_)
    if (link) bpf_link__destroy(link);
  links_.clear();
}

void BpfSession::Destroy() {
  DestroyLinks();
  if (ring_) ring_buffer__free(ring_);
  ring_ = nullptr;
  if (obj_) bpf_object__close(obj_);
  obj_ = nullptr;
}

// programs(): the names of the object's programs.
Napi::Value BpfSession::Programs(const Napi::CallbackInfo& info) {
  Napi::Array names = Napi::Array::New(info.Env());
  if (!obj_) return names;
  bpf_program* prog;
  uint32_t i = 0;
  bpf_object__for_each_program(prog, obj_) names.Set(i++, bpf_program__name(prog));
  return names;
}

// setGlobal(name, value): a u32 `const volatile` global, before load().
Napi::Value BpfSession::SetGlobal(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  uint32_t value = info[1].As<Napi::Number>().Uint32Value();
  bpf_map* rodata = obj_ ? bpf_object__find_map_by_name(obj_, ".rodata") : nullptr;
  __u32 size = 0;
  long offset = rodata ? GlobalOffset(obj_, ".rodata", name, &size) : -1;
  if (offset < 0 || size != sizeof(uint32_t)) return Fail(info.Env(), "BPF object has no u32 global " + name);
  size_t total = 0;
  const void* initial = bpf_map__initial_value(rodata, &total);
  std::vector<char> data(static_cast<const char*>(initial), static_cast<const char*>(initial) + total);
  memcpy(data.data() + offset, &value, sizeof(value));
  int err = bpf_map__set_initial_value(rodata, data.data(), data.size());
  if (err) return Fail(info.Env(), DescribeError("cannot set " + name, err));
  return info.Env().Undefined();
}

// setAutoload(programName, bool): programs not needed (or not loadable) on this kernel are skipped.
Napi::Value BpfSession::SetAutoload(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  bpf_program* prog = FindProgram(obj_, name);
  if (!prog) return Fail(info.Env(), "BPF object has no program " + name);
  bpf_program__set_autoload(prog, info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// setRingBufferSize(bytes): a power of two, multiple of the page size.
Napi::Value BpfSession::SetRingBufferSize(const Napi::CallbackInfo& info) {
  bpf_map* map = obj_ ? bpf_object__find_map_by_name(obj_, "events") : nullptr;
  if (!map) return Fail(info.Env(), "BPF object has no events ring buffer");
  int err = bpf_map__set_max_entries(map, info[0].As<Napi::Number>().Uint32Value());
  if (err) return Fail(info.Env(), DescribeError("cannot size the ring buffer", err));
  return info.Env().Undefined();
}

// setStackDepth(frames): the stack map's values hold this many frames (1..127), its buckets 16 MiB of them; before load().
Napi::Value BpfSession::SetStackDepth(const Napi::CallbackInfo& info) {
  bpf_map* map = obj_ ? bpf_object__find_map_by_name(obj_, "stacks") : nullptr;
  if (!map) return Fail(info.Env(), "BPF object has no stacks map");
  uint32_t frames = info[0].As<Napi::Number>().Uint32Value();
  int err = bpf_map__set_value_size(map, frames * sizeof(__u64));
  // As many buckets as 16 MiB of stacks holds, a power of two: 65536 at 32 frames, 16384 at 127.
  constexpr size_t kStackMapBytes = 16u << 20;
  uint32_t entries = 65536;
  while (entries > 4096 && size_t(entries) * frames * sizeof(__u64) > kStackMapBytes) entries /= 2;
  if (!err) err = bpf_map__set_max_entries(map, entries);
  if (err) return Fail(info.Env(), DescribeError("cannot size the stack map", err));
  return info.Env().Undefined();
}

// readStack(id): the frames of a recorded stack, innermost first, as signed addresses
// (kernel frames are negative); empty when the id is unknown.
Napi::Value BpfSession::ReadStack(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* map = obj_ ? bpf_object__find_map_by_name(obj_, "stacks") : nullptr;
  if (!map) return Fail(env, "BPF object has no stacks map");
  __u32 id = info[0].As<Napi::Number>().Uint32Value();
  std::vector<__u64> frames(bpf_map__value_size(map) / sizeof(__u64));
  size_t depth = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(map), &id, frames.data()) == 0) {
    while (depth < frames.size() && frames[depth] != 0) depth++;
  }
  Napi::Float64Array out = Napi::Float64Array::New(env, depth);
  for (size_t i = 0; i < depth; i++) out[i] = double(int64_t(frames[i]));
  return out;
}

Napi::Value BpfSession::Load(const Napi::CallbackInfo& info) {
  if (!obj_) return Fail(info.Env(), "BPF object is closed");
  ClearLibbpfMessage();
  int err = bpf_object__load(obj_);
  if (err) return Fail(info.Env(), DescribeError("cannot load the BPF programs", err));
  bpf_map* events = bpf_object__find_map_by_name(obj_, "events");
  if (events) {
    ring_ = ring_buffer__new(bpf_map__fd(events), OnSample, this, nullptr);
    if (!ring_) return Fail(info.Env(), DescribeError("cannot open the ring buffer", errno));
  }
  return info.Env().Undefined();
}

// attachUprobe(programName, binaryPath, fileOffset, isReturnProbe, pid): the link's index, for detachLinks
Napi::Value BpfSession::AttachUprobe(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  std::string binary = info[1].As<Napi::String>();
  size_t offset = size_t(info[2].As<Napi::Number>().Int64Value());
  bool retprobe = info[3].As<Napi::Boolean>().Value();
  pid_t pid = info[4].As<Napi::Number>().Int32Value();
  bpf_program* prog = FindProgram(obj_, name);
  if (!prog) return Fail(info.Env(), "BPF object has no program " + name);
  LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);
  ClearLibbpfMessage();
  bpf_link* link = bpf_program__attach_uprobe_opts(prog, pid > 0 ? pid : -1, binary.c_str(), offset, &opts);
  long err = libbpf_get_error(link);
  if (err) return Fail(info.Env(), DescribeError("cannot attach " + name + " to " + binary, int(err)));
  links_.push_back(link);
  return Napi::Number::New(info.Env(), double(links_.size() - 1));
}

// forgetThreadNames(): every thread's name is emitted again with its next event (the recorder
// drops what the calibration window drained, thread names included).
Napi::Value BpfSession::ForgetThreadNames(const Napi::CallbackInfo& info) {
  bpf_map* map = obj_ ? bpf_object__find_map_by_name(obj_, "known_threads") : nullptr;
  int fd = map ? bpf_map__fd(map) : -1;
  if (fd < 0) return Fail(info.Env(), "BPF programs are not loaded");
  __u32 key = 0, next = 0;
  std::vector<__u32> keys;
  for (__u32* previous = nullptr; bpf_map_get_next_key(fd, previous, &next) == 0; previous = &key) {
    keys.push_back(next);
    key = next;
  }
  for (__u32 tid : keys) bpf_map_delete_elem(fd, &tid);
  return info.Env().Undefined();
}

// detachLinks([index, ...]): detaches the links attachUprobe returned these indices for (the
// recorder's calibration probes), leaving the others attached.
Napi::Value BpfSession::DetachLinks(const Napi::CallbackInfo& info) {
  Napi::Array indices = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < indices.Length(); i++) {
    size_t index = size_t(indices.Get(i).As<Napi::Number>().Int64Value());
    if (index < links_.size() && links_[index]) {
      bpf_link__destroy(links_[index]);
      links_[index] = nullptr;
    }
  }
  return info.Env().Undefined();
}

// attachAuto(programName): attach by the program's section (tracepoints, tp_btf, fentry, kprobes).
Napi::Value BpfSession::AttachAuto(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  bpf_program* prog = FindProgram(obj_, name);
  if (!prog) return Fail(info.Env(), "BPF object has no program " + name);
  ClearLibbpfMessage();
  bpf_link* link = bpf_program__attach(prog);
  long err = libbpf_get_error(link);
  if (err) return Fail(info.Env(), DescribeError("cannot attach " + name, int(err)));
  links_.push_back(link);
  return info.Env().Undefined();
}

// setTimeBase(monotonicNs: bigint): drained times are relative to it.
Napi::Value BpfSession::SetTimeBase(const Napi::CallbackInfo& info) {
  bool lossless = false;
  time_base_ns_ = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
  return info.Env().Undefined();
}

// setWindow(startNs: bigint, endNs: bigint): the recording window the programs obey (mutex.bpf.c),
// in CLOCK_MONOTONIC ns; 0 = not open yet / no end. Written into the loaded programs' .bss map
// (one array element holding every .bss global), so it takes effect at once.
Napi::Value BpfSession::SetWindow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool lossless = false;
  __u64 start = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
  __u64 end = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
  bpf_map* bss = obj_ ? bpf_object__find_map_by_name(obj_, ".bss") : nullptr;
  int fd = bss ? bpf_map__fd(bss) : -1;
  __u32 start_size = 0, end_size = 0;
  long start_at = fd >= 0 ? GlobalOffset(obj_, ".bss", "window_start_ns", &start_size) : -1;
  long end_at = fd >= 0 ? GlobalOffset(obj_, ".bss", "window_end_ns", &end_size) : -1;
  std::vector<char> value(bss ? bpf_map__value_size(bss) : 0);
  if (start_at < 0 || end_at < 0 || start_size != 8 || end_size != 8 || size_t(std::max(start_at, end_at)) + 8 > value.size()) {
    return Fail(env, "BPF object has no recording window (is it loaded?)");
  }
  __u32 key = 0;
  int err = bpf_map_lookup_elem(fd, &key, value.data());
  if (err == 0) {
    memcpy(value.data() + start_at, &start, 8);
    memcpy(value.data() + end_at, &end, 8);
    err = bpf_map_update_elem(fd, &key, value.data(), BPF_ANY);
  }
  if (err) return Fail(env, DescribeError("cannot set the recording window", -errno));
  return env.Undefined();
}

// A negative return stops ring_buffer__consume after this sample has been consumed, so the sample
// is stored first: nothing is lost.

int BpfSession::OnSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<BpfSession*>(ctx);
  if (size < sizeof(mutex_event)) return 0;
  self->drained_.push_back(*static_cast<const mutex_event*>(data));
  return self->drained_.size() >= kMaxDrain ? -E2BIG : 0;
}

// drain(columns): moves what is in the ring buffer (at most kMaxDrain events) into the caller's
// typed arrays, which are reused from drain to drain so draining allocates nothing per event.
// columns: { ts, requestTs, lock, caller: Float64Array (ns since the time base, requestTs NaN where the
// event has none; signed 64-bit addresses, exact as doubles for canonical x86-64 addresses), pid,
// tid, flags: Uint32Array, ret, stackId: Int32Array,
// cpu: Uint16Array, stage, func: Uint8Array, cond: Float64Array (NaN where the event has none) },
// each of at least maxDrain elements.
// Returns { count, more (the ring buffer held more: drain again), threads: [{ts,pid,tid,comm}] }.
Napi::Value BpfSession::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ring_) return Fail(env, "BPF programs are not loaded");
  Napi::Object columns = info[0].As<Napi::Object>();
  auto column = [&](const char* name) { return columns.Get(name).As<Napi::TypedArray>(); };
  Napi::Float64Array ts = column("ts").As<Napi::Float64Array>();
  Napi::Float64Array request_ts = column("requestTs").As<Napi::Float64Array>();
  Napi::Float64Array lock = column("lock").As<Napi::Float64Array>();
  Napi::Float64Array caller = column("caller").As<Napi::Float64Array>();
  Napi::Uint32Array pid = column("pid").As<Napi::Uint32Array>();
  Napi::Uint32Array tid = column("tid").As<Napi::Uint32Array>();
  Napi::Uint32Array flags = column("flags").As<Napi::Uint32Array>();
  Napi::Int32Array ret = column("ret").As<Napi::Int32Array>();
  Napi::Int32Array stack = column("stackId").As<Napi::Int32Array>();
  Napi::Uint16Array cpu = column("cpu").As<Napi::Uint16Array>();
  Napi::Uint8Array stage = column("stage").As<Napi::Uint8Array>();
  Napi::Uint8Array func = column("func").As<Napi::Uint8Array>();
  Napi::Float64Array cond = column("cond").As<Napi::Float64Array>();
  if (ts.ElementLength() < kMaxDrain || request_ts.ElementLength() < kMaxDrain || cond.ElementLength() < kMaxDrain) return Fail(env, "drain: columns must hold maxDrain events");

  int err = ring_buffer__consume(ring_);
  if (err < 0 && err != -E2BIG) return Fail(env, DescribeError("cannot read the ring buffer", err));

  Napi::Array threads = Napi::Array::New(env);
  size_t i = 0;
  uint32_t thread_count = 0;
  for (const mutex_event& e : drained_) {
    double relative_ts = double(int64_t(e.ts - time_base_ns_));
    if (e.stage == STAGE_THREAD) {
      char comm[17] = {};
      memcpy(comm, &e.lock, 8);
      memcpy(comm + 8, &e.caller, 8);
      Napi::Object thread = Napi::Object::New(env);
      thread.Set("ts", relative_ts);
      thread.Set("pid", e.pid);
      thread.Set("tid", e.tid);
      thread.Set("comm", comm);
      threads.Set(thread_count++, thread);
      continue;
    }
    ts[i] = relative_ts;
    request_ts[i] = e.request_ts ? double(int64_t(e.request_ts - time_base_ns_)) : NAN;
    lock[i] = double(int64_t(e.lock));
    caller[i] = double(int64_t(e.caller));
    pid[i] = e.pid;
    tid[i] = e.tid;
    ret[i] = e.ret;
    stack[i] = e.stack_id;
    cpu[i] = e.cpu;
    stage[i] = e.stage;
    func[i] = e.func;
    flags[i] = e.flags;
    cond[i] = e.cond ? double(int64_t(e.cond)) : NAN;
    i++;
  }
  drained_.clear();

  Napi::Object out = Napi::Object::New(env);
  out.Set("count", double(i));
  out.Set("more", err == -E2BIG);
  out.Set("threads", threads);
  return out;
}

// counters(): { dropped, stackFailed, pendingFull } summed over CPUs since load (mutex.h mutex_counter).
Napi::Value BpfSession::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* map = obj_ ? bpf_object__find_map_by_name(obj_, "counters") : nullptr;
  if (!map) return Fail(env, "BPF object has no counters map");
  int cpus = libbpf_num_possible_cpus();
  std::vector<__u64> values(cpus > 0 ? cpus : 1);
  double totals[CNT_MAX] = {};
  for (__u32 key = 0; key < CNT_MAX; key++) {
    if (bpf_map_lookup_elem(bpf_map__fd(map), &key, values.data()) != 0) continue;
    for (__u64 v : values) totals[key] += double(v);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("dropped", totals[CNT_DROPPED]);
  out.Set("stackFailed", totals[CNT_STACK_FAILED]);
  out.Set("pendingFull", totals[CNT_PENDING_FULL]);
  return out;
}

// pendingCalls(): the lock calls still in progress (entered, not returned), from the pending maps:
// [{ ts (ns since the time base), lock, caller, pid, tid, stackId, flags, func, cond (0: none) }]. Read after
// detach(), these are the calls that never returned while recording (a deadlock, a long wait).
Napi::Value BpfSession::PendingCalls(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  if (!obj_) return out;
  uint32_t n = 0;
  for (const char* name : {"pending", "kernel_pending", "contention_pending"}) {
    bpf_map* map = bpf_object__find_map_by_name(obj_, name);
    if (!map || bpf_map__fd(map) < 0 || bpf_map__value_size(map) != sizeof(pending_call)) continue;
    int fd = bpf_map__fd(map);
    std::vector<char> key(bpf_map__key_size(map)), next(bpf_map__key_size(map));
    void* previous = nullptr;
    while (bpf_map_get_next_key(fd, previous, next.data()) == 0) {
      key.swap(next);
      previous = key.data();
      pending_call call;
      if (bpf_map_lookup_elem(fd, key.data(), &call) != 0) continue;
      Napi::Object o = Napi::Object::New(env);
      o.Set("ts", double(int64_t(call.ts - time_base_ns_)));
      o.Set("lock", double(int64_t(call.lock)));
      o.Set("caller", double(int64_t(call.caller)));
      o.Set("pid", call.pid);
      o.Set("tid", call.tid);
      o.Set("stackId", call.stack_id);
      o.Set("flags", call.flags);
      o.Set("func", call.func);
      o.Set("cond", double(int64_t(call.cond)));
      out.Set(n++, o);
    }
  }
  return out;
}

// detach(): no new events from now on; what is in the ring buffer can still be drained.
Napi::Value BpfSession::Detach(const Napi::CallbackInfo& info) {
  DestroyLinks();
  return info.Env().Undefined();
}

Napi::Value BpfSession::Close(const Napi::CallbackInfo& info) {
  Destroy();
  return info.Env().Undefined();
}
