{
  "targets": [
    {
      "target_name": "mutexbpf",
      "sources": ["src/addon.cc", "src/mutex_session.cc", "src/bpf_object.cc", "src/links.cc", "src/libbpf_errors.cc", "src/process.cc", "src/mmap_watcher.cc", "src/calibration.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "../../bpf", "../../build/gen"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
