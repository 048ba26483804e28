#!/usr/bin/env bash
# The demo: records the bundled contended workload, then prints its report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
mkdir -p build/demo
gcc -O2 -g -Wall -pthread -o build/demo/mutex_workload test/workloads/mutex_workload.c
out=build/demo/demo.db
node dist/recorder/cli.js --force -o "$out" -- build/demo/mutex_workload origin 4 300
node dist/analyzer/cli.js report "$out"
echo
node dist/analyzer/cli.js report "$out" --lock "$(node dist/analyzer/cli.js report "$out" --format csv --top 1 | sed -n 2p | cut -d, -f1)"
