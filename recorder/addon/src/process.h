// Launching a target stopped before its first instruction, and reaping it; locking the run file.
#pragma once
#include <napi.h>

void DefineProcessFunctions(Napi::Env env, Napi::Object exports);
