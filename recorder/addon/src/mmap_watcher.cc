#include "mmap_watcher.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

constexpr size_t kDataPages = 64;  // 256 KiB: thousands of mmap records between two reads

Napi::Value Fail(Napi::Env env, const std::string& message) {
  Napi::Error::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

Napi::Function MmapWatcher::Define(Napi::Env env) {
  return DefineClass(env, "MmapWatcher",
                     {InstanceMethod("read", &MmapWatcher::Read), InstanceMethod("close", &MmapWatcher::Close)});
}

// new MmapWatcher(pid): every thread of pid, current and future (inherit).
MmapWatcher::MmapWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MmapWatcher>(info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_DUMMY;
  attr.mmap = 1;
  attr.mmap2 = 1;
  attr.mmap_data = 1;  // data mappings too: global mutexes live in .data/.bss
  attr.inherit = 1;
  attr.exclude_kernel = 1;
  attr.sample_period = 1;
  attr.watermark = 1;
  attr.wakeup_watermark = 1;
  size_t page = size_t(sysconf(_SC_PAGESIZE));
  data_bytes_ = kDataPages * page;
  ring_bytes_ = data_bytes_ + page;
  long cpus = sysconf(_SC_NPROCESSORS_CONF);
  for (int cpu = 0; cpu < cpus; cpu++) {
    int fd = int(syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) {
      if (errno == ENODEV || errno == EINVAL) continue;  // CPU not online
      Release();
      Fail(info.Env(), std::string("cannot watch the target's mappings (perf_event_open): ") + strerror(errno));
      return;
    }
    void* base = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
      close(fd);
      Release();
      Fail(info.Env(), std::string("cannot map the perf ring buffer: ") + strerror(errno));
      return;
    }
    rings_.push_back({fd, base});
  }
}

MmapWatcher::~MmapWatcher() { Release(); }

void MmapWatcher::Release() {
  for (Ring& ring : rings_) {
    munmap(ring.base, ring_bytes_);
    close(ring.fd);
  }
  rings_.clear();
}

// read(): [{ start, end, offset, path, executable }] for the file-backed mappings made since the last read.
Napi::Value MmapWatcher::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  std::vector<char> record;
  for (Ring& ring : rings_) {
  auto* meta = static_cast<perf_event_mmap_page*>(ring.base);
  const char* data = static_cast<const char*>(ring.base) + meta->data_offset;
  uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = meta->data_tail;
  while (tail < head) {
    perf_event_header header;
    for (size_t i = 0; i < sizeof(header); i++) reinterpret_cast<char*>(&header)[i] = data[(tail + i) % data_bytes_];
    if (header.size < sizeof(header)) break;
    record.resize(header.size);
    for (size_t i = 0; i < header.size; i++) record[i] = data[(tail + i) % data_bytes_];
    tail += header.size;
    if (header.type != PERF_RECORD_MMAP2) continue;
    // struct { header; u32 pid, tid; u64 addr, len, pgoff; u32 maj, min; u64 ino, ino_gen; u32 prot, flags; char filename[]; }
    const char* body = record.data() + sizeof(header);
    uint64_t addr, len, pgoff;
    uint32_t prot;
    memcpy(&addr, body + 8, 8);
    memcpy(&len, body + 16, 8);
    memcpy(&pgoff, body + 24, 8);
    memcpy(&prot, body + 56, 4);
    const char* filename = body + 64;
    size_t max = record.size() - (filename - record.data());
    std::string path(filename, strnlen(filename, max));
    if (path.empty() || path[0] != '/' || path.rfind("//", 0) == 0) continue;  // //anon, [heap], ...
    Napi::Object m = Napi::Object::New(env);
    m.Set("start", double(addr));
    m.Set("end", double(addr + len));
    m.Set("offset", double(pgoff));
    m.Set("path", path);
    m.Set("executable", (prot & PROT_EXEC) != 0);
    out.Set(n++, m);
  }
  __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
  }
  return out;
}

Napi::Value MmapWatcher::Close(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}
