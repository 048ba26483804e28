#!/usr/bin/env bash
# The test command: installs and builds what is missing, then runs every test with node's runner.
#   scripts/test.sh          everything (as root: installs packages, attaches probes, boots the VM)
#   scripts/test.sh --unit   the unit tier: no root, no network, no probes, no VM; seconds
# A test file whose first line is `// tier: probes` attaches real BPF probes, `// tier: vm` boots a
# kernel under qemu, `// tier: browser` drives Debian's chromium, `// tier: native` needs the native
# addon: all need root to install or run. Without root, they are skipped with a one-line reason.
set -euo pipefail
cd "$(dirname "$0")/.."

tier=all
[[ ${1:-} == --unit ]] && tier=unit
if [[ $tier == all && $(id -u) -ne 0 ]]; then
  echo "[Skip] the probe and VM suites need root (BPF, apt, qemu): running the unit tier only"
  tier=unit
fi

if [[ $tier == all ]]; then
  bash scripts/setup.sh
  bash scripts/build.sh
else
  [[ -d node_modules/better-sqlite3 ]] || npm ci --no-audit --no-fund
  bash scripts/build.sh --unit
fi

files=()
for js in $(find dist/test -name '*.test.js' | sort); do
  src=test/${js#dist/test/}
  src=${src%.js}.ts
  [[ -f $src ]] || continue # compiled from a test file that is gone
  case $(head -n 1 "$src") in
    '// tier: probes') needs='real BPF probes (root)' ;;
    '// tier: vm') needs='a kernel under qemu (root)' ;;
    '// tier: browser') needs="Debian's chromium (installed as root)" ;;
    '// tier: native') needs='the native addon (built with libbpf-dev, as root)' ;;
    *) needs= ;;
  esac
  if [[ -n $needs && $tier == unit ]]; then
    echo "[Skip] $src: needs $needs"
    continue
  fi
  files+=("$js")
done
# One file at a time: the end-to-end tests share the machine's probes and CPU.
node --test --test-concurrency=1 "${files[@]}"
