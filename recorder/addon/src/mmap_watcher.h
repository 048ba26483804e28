// The target's memory mappings as they happen (PERF_RECORD_MMAP2 from a dummy perf event), so
// even a process that exits within milliseconds leaves the mappings its addresses need.
#pragma once
#include <napi.h>

#include <vector>

class MmapWatcher : public Napi::ObjectWrap<MmapWatcher> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit MmapWatcher(const Napi::CallbackInfo& info);
  ~MmapWatcher() override;

 private:
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void Release();

  // One ring per CPU: the kernel refuses to mmap an inherited per-task event on "any CPU".
  struct Ring {
    int fd;
    void* base;
  };
  std::vector<Ring> rings_;
  size_t ring_bytes_ = 0;  // metadata page + data pages
  size_t data_bytes_ = 0;
};
