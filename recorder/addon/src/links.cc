#include "links.h"

#include <bpf/libbpf.h>

#include "fail.h"
#include "libbpf_errors.h"

long Links::Keep(bpf_link* link, const std::string& what, std::string* error) {
  long err = libbpf_get_error(link);
  if (err) {
    *error = DescribeError(what, int(err));
    return -1;
  }
  links_.push_back(link);
  return long(links_.size() - 1);
}

long Links::AttachUprobe(bpf_program* prog, const std::string& binary, size_t offset, bool retprobe, pid_t pid, std::string* error) {
  LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);
  ClearLibbpfMessage();
  bpf_link* link = bpf_program__attach_uprobe_opts(prog, pid > 0 ? pid : -1, binary.c_str(), offset, &opts);
  return Keep(link, std::string("cannot attach ") + bpf_program__name(prog) + " to " + binary, error);
}

long Links::AttachAuto(bpf_program* prog, std::string* error) {
  ClearLibbpfMessage();
  return Keep(bpf_program__attach(prog), std::string("cannot attach ") + bpf_program__name(prog), error);
}

Napi::Value Links::AttachUprobe(const Napi::CallbackInfo& info, bpf_program* prog) {
  if (!prog) return info.Env().Undefined();
  std::string error;
  long link = AttachUprobe(prog, info[1].As<Napi::String>(), size_t(info[2].As<Napi::Number>().Int64Value()),
                           info[3].As<Napi::Boolean>().Value(), info[4].As<Napi::Number>().Int32Value(), &error);
  if (link < 0) return Fail(info.Env(), error);
  return Napi::Number::New(info.Env(), double(link));
}

Napi::Value Links::AttachAuto(const Napi::CallbackInfo& info, bpf_program* prog) {
  if (!prog) return info.Env().Undefined();
  std::string error;
  if (AttachAuto(prog, &error) < 0) return Fail(info.Env(), error);
  return info.Env().Undefined();
}

void Links::Destroy(size_t index) {
  if (index < links_.size() && links_[index]) {
    bpf_link__destroy(links_[index]);
    links_[index] = nullptr;
  }
}

void Links::DestroyAll() {
  for (bpf_link* link : links_)
    if (link) bpf_link__destroy(link);
  links_.clear();
}
