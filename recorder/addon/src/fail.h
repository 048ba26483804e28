#pragma once
#include <napi.h>

#include <string>

// Throws a JS Error with the message; returns undefined for the caller to return.
inline Napi::Value Fail(Napi::Env env, const std::string& message) {
  Napi::Error::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}
