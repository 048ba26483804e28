#include "libbpf_errors.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static std::string last_message;
static bool verbose = false;

static int Print(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  vsnprintf(line, sizeof(line), format, args);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.rfind("libbpf: ", 0) == 0) text.erase(0, 8);
  if (level == LIBBPF_WARN && !text.empty()) last_message = text;
  if (verbose) fprintf(stderr, "libbpf: %s\n", text.c_str());
  return 0;
}

void InstallLibbpfPrinter() { libbpf_set_print(Print); }
void SetLibbpfVerbose(bool on) { verbose = on; }
std::string LastLibbpfMessage() { return last_message; }
void ClearLibbpfMessage() { last_message.clear(); }

std::string DescribeError(const std::string& what, int err) {
  if (err < 0) err = -err;
  std::string out = what + ": " + strerror(err);
  if (!last_message.empty()) out += " (libbpf: " + last_message + ")";
  return out;
}
