#include "mutex_session.h"

#include <stddef.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <vector>

#include "fail.h"
#include "libbpf_errors.h"
#include "mutex.skel.h"
#include "runfile_columns.h"

// The window is written into the loaded programs' .bss, which the skeleton maps: one struct, so
// every .bss global is in it (a benchmark's object shares this .bss: bpf/recording.h).
static_assert(sizeof(mutex_bpf::mutex_bpf__bss) == sizeof(recording_window), "bpf/recording.h: .bss holds only the window");
static_assert(sizeof(mutex_bpf::mutex_bpf__rodata) == sizeof(recording_config), "bpf/recording.h: .rodata holds only the settings");

namespace {

// Keeps each drain's memory bounded; JS sizes its reusable columns to it (exported as maxDrain).
constexpr size_t kMaxDrain = 65536;

}  // namespace

const size_t MutexSession::kMaxDrainEvents = kMaxDrain;

Napi::Function MutexSession::Define(Napi::Env env) {
  return DefineClass(env, "MutexSession",
                     {
                         InstanceMethod("configure", &MutexSession::Configure),
                         InstanceMethod("load", &MutexSession::Load),
                         InstanceMethod("attachUprobe", &MutexSession::AttachUprobe),
                         InstanceMethod("attachAuto", &MutexSession::AttachAuto),
                         InstanceMethod("detachLinks", &MutexSession::DetachLinks),
                         InstanceMethod("readStack", &MutexSession::ReadStack),
                         InstanceMethod("forgetThreadNames", &MutexSession::ForgetThreadNames),
                         InstanceMethod("setTimeBase", &MutexSession::SetTimeBase),
                         InstanceMethod("setWindow", &MutexSession::SetWindow),
                         InstanceMethod("addLockCallSites", &MutexSession::AddLockCallSites),
                         InstanceMethod("cacheOuterCallSites", &MutexSession::CacheOuterCallSites),
                         InstanceMethod("drain", &MutexSession::Drain),
                         InstanceMethod("pendingCalls", &MutexSession::PendingCalls),
                         InstanceMethod("counters", &MutexSession::Counters),
                         InstanceMethod("detach", &MutexSession::Detach),
                         InstanceMethod("close", &MutexSession::Close),
                     });
}

// new MutexSession(): the skeleton's object, opened (its bytes are in the addon).
MutexSession::MutexSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MutexSession>(info) {
  ClearLibbpfMessage();
  skel_ = mutex_bpf__open();
  if (!skel_) Fail(info.Env(), DescribeError("cannot open the BPF programs", errno));
}

MutexSession::~MutexSession() { Destroy(); }

bpf_object* MutexSession::Object() const { return skel_ && loaded_ ? skel_->obj : nullptr; }

void MutexSession::Destroy() {
  links_.DestroyAll();
  if (ring_) ring_buffer__free(ring_);
  ring_ = nullptr;
  if (skel_) mutex_bpf__destroy(skel_);
  skel_ = nullptr;
  loaded_ = false;
}

bpf_program* MutexSession::Program(const Napi::CallbackInfo& info, size_t at) {
  uint32_t index = info[at].As<Napi::Number>().Uint32Value();
  if (!skel_ || index >= uint32_t(skel_->skeleton->prog_cnt)) {
    Fail(info.Env(), "no BPF program " + std::to_string(index) + " (bpf/programs.ts is older than the addon: rebuild)");
    return nullptr;
  }
  return *skel_->skeleton->progs[index].prog;
}

// configure({ programs: [index, ...], targetTgid, kernelTgid, selfTgid, captureStacks, futexTgid,
// ringBufferBytes, stackDepth }), before load(): only the programs listed are loaded (the others are not needed,
// or cannot load on this kernel); the stack map's values hold stackDepth frames (1..127), its
// buckets 16 MiB of them.
Napi::Value MutexSession::Configure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!skel_ || loaded_) return Fail(env, "configure(): the BPF programs are closed or already loaded");
  Napi::Object o = info[0].As<Napi::Object>();
  auto u32 = [&](const char* key) { return o.Get(key).As<Napi::Number>().Uint32Value(); };
  for (int i = 0; i < skel_->skeleton->prog_cnt; i++) bpf_program__set_autoload(*skel_->skeleton->progs[i].prog, false);
  Napi::Array programs = o.Get("programs").As<Napi::Array>();
  for (uint32_t i = 0; i < programs.Length(); i++) {
    uint32_t index = programs.Get(i).As<Napi::Number>().Uint32Value();
    if (index >= uint32_t(skel_->skeleton->prog_cnt)) return Fail(env, "no BPF program " + std::to_string(index) + " (bpf/programs.ts is older than the addon: rebuild)");
    bpf_program__set_autoload(*skel_->skeleton->progs[index].prog, true);
  }
  skel_->rodata->settings.target_tgid = u32("targetTgid");
  skel_->rodata->settings.kernel_tgid = u32("kernelTgid");
  skel_->rodata->settings.self_tgid = u32("selfTgid");
  skel_->rodata->settings.capture_stacks = o.Get("captureStacks").As<Napi::Boolean>().Value() ? 1 : 0;
  skel_->rodata->settings.futex_tgid = u32("futexTgid");
  skel_->rodata->settings.stack_depth = u32("stackDepth");

  int err = bpf_map__set_max_entries(skel_->maps.events, u32("ringBufferBytes"));
  if (err) return Fail(env, DescribeError("cannot size the ring buffer", err));
  uint32_t frames = u32("stackDepth");
  err = bpf_map__set_value_size(skel_->maps.stacks, frames * sizeof(__u64));
  // As many buckets as 16 MiB of stacks holds, a power of two: 65536 at 32 frames, 16384 at 127.
  constexpr size_t kStackMapBytes = 16u << 20;
  uint32_t entries = 65536;
  while (entries > 4096 && size_t(entries) * frames * sizeof(__u64) > kStackMapBytes) entries /= 2;
  if (!err) err = bpf_map__set_max_entries(skel_->maps.stacks, entries);
  if (!err) err = bpf_map__set_value_size(skel_->maps.user_stacks, frames * sizeof(__u64));  // bpf/user_stack.bpf.h
  if (!err) err = bpf_map__set_max_entries(skel_->maps.user_stacks, entries);
  if (err) return Fail(env, DescribeError("cannot size the stack map", err));
  return env.Undefined();
}

Napi::Value MutexSession::Load(const Napi::CallbackInfo& info) {
  if (!skel_) return Fail(info.Env(), "the BPF programs are closed");
  ClearLibbpfMessage();
  int err = mutex_bpf__load(skel_);
  if (err) return Fail(info.Env(), DescribeError("cannot load the BPF programs", err));
  loaded_ = true;
  ring_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), OnSample, this, nullptr);
  if (!ring_) return Fail(info.Env(), DescribeError("cannot open the ring buffer", errno));
  return info.Env().Undefined();
}

// attachUprobe(program, binaryPath, fileOffset, isReturnProbe, pid): the link's index, for detachLinks
Napi::Value MutexSession::AttachUprobe(const Napi::CallbackInfo& info) { return links_.AttachUprobe(info, Program(info, 0)); }

// attachAuto(program): attach by the program's section (tracepoints, tp_btf, fentry, kprobes).
Napi::Value MutexSession::AttachAuto(const Napi::CallbackInfo& info) { return links_.AttachAuto(info, Program(info, 0)); }

// detachLinks([index, ...]): detaches the links attachUprobe returned these indices for (the
// recorder's calibration probes), leaving the others attached.
Napi::Value MutexSession::DetachLinks(const Napi::CallbackInfo& info) {
  Napi::Array indices = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < indices.Length(); i++) links_.Destroy(size_t(indices.Get(i).As<Napi::Number>().Int64Value()));
  return info.Env().Undefined();
}

// readStack(id): the frames of a recorded stack, innermost first, as signed addresses
// (kernel frames are negative); empty when the id is unknown.
Napi::Value MutexSession::ReadStack(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loaded_) return Fail(env, "BPF programs are not loaded");
  __u32 id = info[0].As<Napi::Number>().Uint32Value();
  bpf_map* map = id >= USER_STACK_ID_BASE ? skel_->maps.user_stacks : skel_->maps.stacks;  // bpf/user_stack.bpf.h
  std::vector<__u64> frames(bpf_map__value_size(map) / sizeof(__u64));
  size_t depth = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(map), &id, frames.data()) == 0) {
    while (depth < frames.size() && frames[depth] != 0) depth++;
  }
  Napi::Float64Array out = Napi::Float64Array::New(env, depth);
  for (size_t i = 0; i < depth; i++) out[i] = double(int64_t(frames[i]));
  return out;
}

// forgetThreadNames(): every thread's name is emitted again with its next event (the recorder
// drops what the calibration window drained, thread names included).
Napi::Value MutexSession::ForgetThreadNames(const Napi::CallbackInfo& info) {
  if (!loaded_) return Fail(info.Env(), "BPF programs are not loaded");
  int fd = bpf_map__fd(skel_->maps.known_threads);
  __u32 key = 0, next = 0;
  std::vector<__u32> keys;
  for (__u32* previous = nullptr; bpf_map_get_next_key(fd, previous, &next) == 0; previous = &key) {
    keys.push_back(next);
    key = next;
  }
  for (__u32 tid : keys) bpf_map_delete_elem(fd, &tid);
  return info.Env().Undefined();
}

// setTimeBase(monotonicNs: bigint): drained times are relative to it.
Napi::Value MutexSession::SetTimeBase(const Napi::CallbackInfo& info) {
  bool lossless = false;
  time_base_ns_ = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
  return info.Env().Undefined();
}

// setWindow(startNs: bigint, endNs: bigint): the recording window the programs obey (bpf/recording.h),
// in CLOCK_MONOTONIC ns; 0 = not open yet / no end. Written into the .bss the skeleton maps, so it
// takes effect at once.
Napi::Value MutexSession::SetWindow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loaded_ || !skel_->bss) return Fail(env, "BPF programs are not loaded (or their .bss is not mapped)");
  bool lossless = false;
  __atomic_store_n(&skel_->bss->window.start_ns, info[0].As<Napi::BigInt>().Uint64Value(&lossless), __ATOMIC_RELEASE);
  __atomic_store_n(&skel_->bss->window.end_ns, info[1].As<Napi::BigInt>().Uint64Value(&lossless), __ATOMIC_RELEASE);
  return env.Undefined();
}

// addLockCallSites(ino, size, returnOffsets: Float64Array, cfaOffsets: Uint32Array): the lock calls of
// one object (bpf/outer_caller.bpf.h). Returns how many the map took (it stops at the first it refuses).
Napi::Value MutexSession::AddLockCallSites(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loaded_) return Fail(env, "BPF programs are not loaded");
  Napi::Float64Array offsets = info[2].As<Napi::Float64Array>();
  Napi::Uint32Array cfa = info[3].As<Napi::Uint32Array>();
  if (offsets.ElementLength() != cfa.ElementLength()) return Fail(env, "addLockCallSites: offsets and CFA offsets differ in length");
  lock_call_site key = {};
  key.ino = uint64_t(info[0].As<Napi::Number>().Int64Value());
  key.size = uint64_t(info[1].As<Napi::Number>().Int64Value());
  int fd = bpf_map__fd(skel_->maps.lock_call_sites);
  uint32_t added = 0;
  for (size_t i = 0; i < offsets.ElementLength(); i++) {
    key.offset = uint64_t(offsets[i]);
    __u32 value = cfa[i];
    if (bpf_map_update_elem(fd, &key, &value, BPF_ANY) != 0) break;
    added++;
  }
  // the programs' cached misses are older than these now: they look them up again
  int generation_fd = bpf_map__fd(skel_->maps.lock_call_sites_generation);
  __u32 zero = 0, generation = 0;
  bpf_map_lookup_elem(generation_fd, &zero, &generation);
  generation++;
  bpf_map_update_elem(generation_fd, &zero, &generation, BPF_ANY);
  return Napi::Number::New(env, added);
}

// cacheOuterCallSites(tgid, returnAddresses: Float64Array, cfaOffsets: Uint32Array): lock calls of a
// process where it has them mapped (bpf/outer_caller.bpf.h outer_cache). Returns how many the map took.
Napi::Value MutexSession::CacheOuterCallSites(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loaded_) return Fail(env, "BPF programs are not loaded");
  Napi::Float64Array addresses = info[1].As<Napi::Float64Array>();
  Napi::Uint32Array cfa = info[2].As<Napi::Uint32Array>();
  if (addresses.ElementLength() != cfa.ElementLength()) return Fail(env, "cacheOuterCallSites: addresses and CFA offsets differ in length");
  outer_cache_key key = {};
  key.tgid = info[0].As<Napi::Number>().Uint32Value();
  int fd = bpf_map__fd(skel_->maps.outer_cache);
  uint32_t added = 0;
  for (size_t i = 0; i < addresses.ElementLength(); i++) {
    key.ret_addr = uint64_t(addresses[i]);
    outer_cache_value value = {cfa[i], 0};
    if (bpf_map_update_elem(fd, &key, &value, BPF_ANY) != 0) break;
    added++;
  }
  return Napi::Number::New(env, added);
}

// A negative return stops ring_buffer__consume after this sample has been consumed, so the sample
// is stored first: nothing is lost.

int MutexSession::OnSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<MutexSession*>(ctx);
  if (size < sizeof(mutex_event)) return 0;
  self->drained_.push_back(*static_cast<const mutex_event*>(data));
  return self->drained_.size() >= kMaxDrain ? -E2BIG : 0;
}

namespace {

// How a ring-buffer field becomes its column's value (runfile_columns.h): times relative to the
// time base, addresses signed (exact as doubles for canonical x86-64 addresses); a nullable
// time or address of 0 is NaN.
double ConvertTIME(__u64 v, __u64 base, bool nullable) { return nullable && v == 0 ? NAN : double(int64_t(v - base)); }
double ConvertADDRESS(__u64 v, __u64, bool nullable) { return nullable && v == 0 ? NAN : double(int64_t(v)); }
template <typename T>
T ConvertINT(T v, __u64, bool) { return v; }

using ArrayF64 = Napi::Float64Array;
using ArrayI32 = Napi::Int32Array;
using ArrayU32 = Napi::Uint32Array;
using ArrayU16 = Napi::Uint16Array;
using ArrayU8 = Napi::Uint8Array;

}  // namespace

// drain(columns): moves what is in the ring buffer (at most kMaxDrain events) into the caller's
// typed arrays, which are reused from drain to drain so draining allocates nothing per event.
// columns: one typed array per event column (runfile/format.ts), each of at least maxDrain elements.
// Returns { count, more (the ring buffer held more: drain again), threads: [{ts,pid,tid,comm}] }.
Napi::Value MutexSession::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ring_) return Fail(env, "BPF programs are not loaded");
  Napi::Object columns = info[0].As<Napi::Object>();
#define COLUMN_ARRAY(field, key, kind, conversion, nullable) \
  Array##kind field = columns.Get(key).As<Array##kind>();        \
  if (field.ElementLength() < kMaxDrain) return Fail(env, "drain: column " key " must hold maxDrain events");
  RUNFILE_EVENT_COLUMNS(COLUMN_ARRAY)
#undef COLUMN_ARRAY

  int err = ring_buffer__consume(ring_);
  if (err < 0 && err != -E2BIG) return Fail(env, DescribeError("cannot read the ring buffer", err));

  Napi::Array threads = Napi::Array::New(env);
  size_t i = 0;
  uint32_t thread_count = 0;
  for (const mutex_event& e : drained_) {
    if (e.stage == STAGE_THREAD) {
      char comm[17] = {};
      memcpy(comm, &e.lock, 8);
      memcpy(comm + 8, &e.caller, 8);
      Napi::Object thread = Napi::Object::New(env);
      thread.Set("ts", ConvertTIME(e.ts, time_base_ns_, false));
      thread.Set("pid", e.pid);
      thread.Set("tid", e.tid);
      thread.Set("comm", comm);
      threads.Set(thread_count++, thread);
      continue;
    }
#define COLUMN_VALUE(field, key, kind, conversion, nullable) field[i] = Convert##conversion(e.field, time_base_ns_, nullable);
    RUNFILE_EVENT_COLUMNS(COLUMN_VALUE)
#undef COLUMN_VALUE
    i++;
  }
  drained_.clear();

  Napi::Object out = Napi::Object::New(env);
  out.Set("count", double(i));
  out.Set("more", err == -E2BIG);
  out.Set("threads", threads);
  return out;
}

// counters(): { dropped, stackFailed, pendingFull, futexUnread } summed over CPUs since load (mutex.h mutex_counter).
Napi::Value MutexSession::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loaded_) return Fail(env, "BPF programs are not loaded");
  bpf_map* map = skel_->maps.counters;
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
  out.Set("futexUnread", totals[CNT_FUTEX_UNREAD]);
  return out;
}

// pendingCalls(): the lock calls still in progress (entered, not returned), from the pending maps:
// [{ ts (ns since the time base), lock, caller, pid, tid, stackId, flags, func, holder, cond, outerCaller (0: none) }]. Read after
// detach(), these are the calls that never returned while recording (a deadlock, a long wait).
Napi::Value MutexSession::PendingCalls(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  if (!loaded_) return out;
  uint32_t n = 0;
  // futex_threads's values are struct futex_thread, which begins with a pending_call: a wait in progress when its state says so.
  for (bpf_map* map : {skel_->maps.pending, skel_->maps.kernel_pending, skel_->maps.contention_pending, skel_->maps.futex_threads}) {
    int fd = bpf_map__fd(map);
    std::vector<char> key(bpf_map__key_size(map)), next(bpf_map__key_size(map)), value(bpf_map__value_size(map));
    if (value.size() < sizeof(pending_call)) continue;
    void* previous = nullptr;
    while (bpf_map_get_next_key(fd, previous, next.data()) == 0) {
      key.swap(next);
      previous = key.data();
      if (bpf_map_lookup_elem(fd, key.data(), value.data()) != 0) continue;
      pending_call call;
      memcpy(&call, value.data(), sizeof(call));
      __u32 holder = 0;
      if (map == skel_->maps.futex_threads) {
        futex_thread thread;
        memcpy(&thread, value.data(), sizeof(thread));
        if (thread.state != FUTEX_WAITING) continue;
        holder = thread.owner;
      }
      Napi::Object o = Napi::Object::New(env);
      o.Set("ts", double(int64_t(call.ts - time_base_ns_)));
      o.Set("lock", double(int64_t(call.lock)));
      o.Set("caller", double(int64_t(call.caller)));
      o.Set("pid", call.pid);
      o.Set("tid", call.tid);
      o.Set("stackId", call.stack_id);
      o.Set("flags", call.flags);
      o.Set("func", call.func);
      o.Set("holder", holder);
      o.Set("cond", double(int64_t(call.cond)));
      o.Set("outerCaller", call.outer_caller == OUTER_CALLER_BUSY ? 0.0 : double(int64_t(call.outer_caller)));
      out.Set(n++, o);
    }
  }
  return out;
}

// detach(): no new events from now on; what is in the ring buffer can still be drained.
Napi::Value MutexSession::Detach(const Napi::CallbackInfo& info) {
  links_.DestroyAll();
  return info.Env().Undefined();
}

Napi::Value MutexSession::Close(const Napi::CallbackInfo& info) {
  Destroy();
  return info.Env().Undefined();
}
