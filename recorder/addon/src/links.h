// The links of attached BPF programs, by index: a program may be attached at several sites (a
// uprobe in each object that provides the function), and some links are detached early (the
// recorder's calibration probes).
#pragma once
#include <napi.h>
#include <sys/types.h>

#include <string>
#include <vector>

struct bpf_link;
struct bpf_program;

class Links {
 public:
  ~Links() { DestroyAll(); }
  // The new link's index, or -1 with *error set (libbpf's reason included).
  long AttachUprobe(bpf_program* prog, const std::string& binary, size_t offset, bool retprobe, pid_t pid, std::string* error);
  // Attached by the program's section (tracepoints, tp_btf, fentry, kprobes).
  long AttachAuto(bpf_program* prog, std::string* error);
  // The JS methods of both program classes, on the program they resolved (null: a JS error is
  // already thrown): attachUprobe(program, binaryPath, fileOffset, isReturnProbe, pid) returns the
  // link's index; attachAuto(program).
  Napi::Value AttachUprobe(const Napi::CallbackInfo& info, bpf_program* prog);
  Napi::Value AttachAuto(const Napi::CallbackInfo& info, bpf_program* prog);
  void Destroy(size_t index);
  // Each uprobe detach waits for a kernel grace period (~90 ms here, serialized by the kernel even
  // from parallel threads): stopping a recording of 15 probes takes ~1.4 s.
  void DestroyAll();

 private:
  long Keep(bpf_link* link, const std::string& what, std::string* error);
  std::vector<bpf_link*> links_;
};
