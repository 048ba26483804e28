// libbpf reports failures through its print callback; keep the last warning so a thrown JS
// error can carry libbpf's own reason in one line.
#pragma once
#include <string>

void InstallLibbpfPrinter();
// mutex-rec --verbose: libbpf's info and warning messages on stderr.
void SetLibbpfVerbose(bool on);
std::string LastLibbpfMessage();
void ClearLibbpfMessage();
std::string DescribeError(const std::string& what, int err);
