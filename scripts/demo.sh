#!/usr/bin/env bash
# The demo: records the bundled toy server (test/workloads/demo_server.c), then shows what the
# analyzer makes of it: the locks by total wait, the call sites, who blocked whom, lock order.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
mkdir -p build/demo
gcc -O2 -g -fno-omit-frame-pointer -Wall -pthread -o build/demo/demo_server test/workloads/demo_server.c
run=build/demo/demo.db
analyze() { echo; echo "\$ mutex-analyze $*"; node dist/analyzer/cli.js "$@"; }

echo "\$ mutex-rec --force -o $run -- build/demo/demo_server 4 400"
node dist/recorder/cli.js --force -o "$run" -- build/demo/demo_server 4 400
analyze report "$run" --top 8
analyze report "$run" --by callsite --top 8
analyze report "$run" --blockers --top 5
analyze lockorder "$run"
