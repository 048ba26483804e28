#!/usr/bin/env bash
# The test command: installs and builds what is missing, then runs every test with node's runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
# One file at a time: the end-to-end tests share the machine's probes and CPU.
node --test --test-concurrency=1 $(find dist/test -name '*.test.js' | sort)
