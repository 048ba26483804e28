#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

Napi::Value Fail(Napi::Env env, const std::string& message) {
  Napi::Error::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

std::vector<std::string> Strings(const Napi::Array& array) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < array.Length(); i++) out.push_back(array.Get(i).As<Napi::String>());
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// spawnStopped(path, argv, env) -> pid. The child stops itself with SIGSTOP before execve, so the
// probes can be attached before the program runs its first instruction; resume(pid) lets it go.
// The child only calls async-signal-safe functions between fork and execve.
Napi::Value SpawnStopped(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  std::vector<std::string> argv_strings = Strings(info[1].As<Napi::Array>());
  std::vector<std::string> env_strings = Strings(info[2].As<Napi::Array>());
  std::vector<char*> argv = Pointers(argv_strings);
  std::vector<char*> envp = Pointers(env_strings);

  int exec_error[2];
  if (pipe2(exec_error, O_CLOEXEC) != 0) return Fail(env, std::string("pipe: ") + strerror(errno));
  pid_t pid = fork();
  if (pid < 0) return Fail(env, std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    close(exec_error[0]);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // Node blocks some signals in its threads
    // Node marks its stdio close-on-exec; the command must inherit them.
    for (int fd = 0; fd <= 2; fd++) fcntl(fd, F_SETFD, 0);
    raise(SIGSTOP);
    execve(path.c_str(), argv.data(), envp.data());
    int code = errno;
    (void)!write(exec_error[1], &code, sizeof(code));
    _exit(127);
  }
  close(exec_error[1]);
  int status = 0;
  if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
    close(exec_error[0]);
    return Fail(env, "the launched command did not stop before exec");
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", pid);
  out.Set("execErrorFd", exec_error[0]);
  return out;
}

// resume(pid, execErrorFd) -> null, or the errno string when execve failed.
Napi::Value Resume(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  if (kill(pid, SIGCONT) != 0) return Fail(env, std::string("cannot resume the command: ") + strerror(errno));
  int code = 0;
  ssize_t n = read(fd, &code, sizeof(code));  // EOF when execve succeeded (the pipe is CLOEXEC)
  close(fd);
  if (n == sizeof(code)) return Napi::String::New(env, strerror(code));
  return env.Null();
}

// pollChild(pid) -> null while running, else { code, signal }.
Napi::Value PollChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == 0) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  if (r < 0) {
    out.Set("code", env.Null());
    out.Set("signal", env.Null());
  } else {
    out.Set("code", WIFEXITED(status) ? Napi::Value(Napi::Number::New(env, WEXITSTATUS(status))) : env.Null());
    out.Set("signal", WIFSIGNALED(status) ? Napi::Value(Napi::Number::New(env, WTERMSIG(status))) : env.Null());
  }
  return out;
}

// lockFile(fd) -> true when this process now holds an exclusive flock on fd's file, false when
// another process holds one. The kernel drops it when the process ends, however it ends.
Napi::Value LockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  return Fail(env, std::string("flock: ") + strerror(errno));
}

}  // namespace

void DefineProcessFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("spawnStopped", Napi::Function::New(env, SpawnStopped));
  exports.Set("resume", Napi::Function::New(env, Resume));
  exports.Set("pollChild", Napi::Function::New(env, PollChild));
  exports.Set("lockFile", Napi::Function::New(env, LockFile));
}
