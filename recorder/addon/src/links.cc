#include "links.h"

#include <bpf/libbpf.h>

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
