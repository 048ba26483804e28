#!/usr/bin/env bash
# Installs what building and running needs on Debian 12, as root. Idempotent: quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."

# rustc and golang-go build the Rust and Go programs contention mode is tested on (test/contention-e2e.test.ts).
APT_PACKAGES=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make gcc g++ python3 pkg-config rustc golang-go)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm ci only when the lockfile changed since the last install.
stamp=node_modules/.package-lock.stamp
if [[ ! -f $stamp ]] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi
