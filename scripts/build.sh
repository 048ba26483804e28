#!/usr/bin/env bash
# Builds the BPF object, the native addon and the TypeScript. Make-like: skips what is up to date.
# --unit: only what the unit tests need (the SQLite extension and the TypeScript): no clang,
# bpftool or kernel headers, no root.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
unit=false
[[ ${1:-} == --unit ]] && unit=true

newer() { # target is missing or older than any of the sources
  local target=$1 src; shift
  [[ ! -e $target ]] && return 0
  for src in "$@"; do [[ $src -nt $target ]] && return 0; done
  return 1
}

# The SQLite extension the recorder loads into better-sqlite3, built against its own SQLite headers.
ext=build/spool_rows.so
if newer "$ext" recorder/sqlite/spool_rows.c node_modules/better-sqlite3/deps/sqlite3/sqlite3ext.h; then
  gcc -O2 -Wall -Werror -shared -fPIC -I node_modules/better-sqlite3/deps/sqlite3 -o "$ext" recorder/sqlite/spool_rows.c
fi

# Compiled files whose source is gone (a module moved into a directory of the same name, say) would
# shadow the new one for require(): remove them before compiling.
prune_dist() {
  [[ -d dist ]] || return 0
  local js src
  while IFS= read -r js; do
    src=${js#dist/}
    src=${src%.js}
    [[ -f $src.ts ]] || rm -f "$js" "${js%.js}.d.ts" "$js.map"
  done < <(find dist -name '*.js' -not -path '*/node_modules/*')
}
prune_dist

if $unit; then
  npx tsc -p .
  exit 0
fi

# vmlinux.h from the running kernel's BTF; CO-RE relocations make the object portable to others.
if [[ ! -s build/vmlinux.h ]]; then
  bpftool btf dump file /sys/kernel/btf/vmlinux format c > build/vmlinux.h.tmp
  mv build/vmlinux.h.tmp build/vmlinux.h
fi

for src in bpf/*.bpf.c; do
  obj=build/$(basename "${src%.c}").o
  if newer "$obj" "$src" bpf/*.h; then
    clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I build -I bpf -c "$src" -o "$obj"
  fi
done

addon=recorder/addon/build/Release/mutexbpf.node
if newer "$addon" recorder/addon/src/* recorder/addon/binding.gyp bpf/mutex.h; then
  (cd recorder/addon && npx node-gyp rebuild --silent)
fi

npx tsc -p .
chmod +x dist/recorder/cli.js dist/analyzer/cli.js 2>/dev/null || true
