#!/usr/bin/env bash
# Builds the TypeScript, the BPF objects, the native addon and what they generate for each other. Make-like: skips what is up to date.
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

# The TypeScript first: runfile/generate.ts makes, from the run file's one declaration of its
# events (runfile/format.ts), the C headers the SQLite extension, the BPF programs and the addon
# include, and schema.sql.
npx tsc -p .
node dist/runfile/generate.js build/gen schema.sql

# The SQLite extensions loaded into better-sqlite3 (spool_rows: the run-file writer's; pack_columns:
# the reader's), built against its own SQLite headers.
for name in spool_rows pack_columns; do
  ext=build/$name.so
  if newer "$ext" "runfile/sqlite/$name.c" runfile/sqlite/column_kind.h build/gen/runfile_columns.h node_modules/better-sqlite3/deps/sqlite3/sqlite3ext.h; then
    gcc -O2 -Wall -Werror -shared -fPIC -I node_modules/better-sqlite3/deps/sqlite3 -I build/gen -o "$ext" "runfile/sqlite/$name.c"
  fi
done

$unit && exit 0

# vmlinux.h from the running kernel's BTF; CO-RE relocations make the object portable to others.
if [[ ! -s build/vmlinux.h ]]; then
  bpftool btf dump file /sys/kernel/btf/vmlinux format c > build/vmlinux.h.tmp
  mv build/vmlinux.h.tmp build/vmlinux.h
fi

# Each object and its libbpf skeleton (bpftool gen skeleton): the addon embeds mutex.bpf.o's and
# uses it; every skeleton's program names become bpf/programs.ts, so a program renamed in C and not
# in TypeScript fails the build below, not an attach. synthetic, empty and probe_cost are bench/'s.
for src in bpf/*.bpf.c; do
  name=$(basename "${src%.bpf.c}")
  obj=build/$name.bpf.o
  if newer "$obj" "$src" bpf/*.h build/gen/runfile_*.h; then
    clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I build -I build/gen -I bpf -c "$src" -o "$obj"
  fi
  if newer "build/gen/$name.skel.h" "$obj"; then
    bpftool gen skeleton "$obj" name "${name}_bpf" > "build/gen/$name.skel.h.tmp"
    mv "build/gen/$name.skel.h.tmp" "build/gen/$name.skel.h"
  fi
done
programs=$(cksum < bpf/programs.ts)
node dist/bpf/generate-programs.js bpf/programs.ts build/gen/*.skel.h
[[ $(cksum < bpf/programs.ts) == "$programs" ]] || npx tsc -p .

addon=recorder/addon/build/Release/mutexbpf.node
if newer "$addon" recorder/addon/src/* recorder/addon/binding.gyp bpf/*.h build/gen/runfile_*.h build/gen/mutex.skel.h; then
  (cd recorder/addon && npx node-gyp rebuild --silent)
fi

chmod +x dist/recorder/cli.js dist/analyzer/cli.js 2>/dev/null || true
