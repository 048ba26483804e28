#pragma once
#include <napi.h>

Napi::Value RunLockPairs(const Napi::CallbackInfo& info);
