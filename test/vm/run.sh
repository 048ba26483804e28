#!/usr/bin/env bash
# Run one command inside a throwaway Debian 6.1 guest (qemu TCG) whose root is the host's /,
# read-only over 9p. See test/vm/README.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=$REPO/.cache/vm

usage() {
  cat >&2 <<'EOF'
usage: test/vm/run.sh [--out DIR] [--timeout SECS] [--mem MB] [--env NAME=VALUE]... [--keep] [-v] -- CMD [ARGS...]
  --out DIR       writable dir, mounted at the same path in the guest (default: fresh mktemp dir,
                  removed after a successful run unless --keep)
  --timeout SECS  whole-run limit including boot (default 600)
  --mem MB        guest memory (default 2048)
  --env N=V       extra environment variable for CMD (repeatable)
  -v              print output dir and timings to stderr
Exit status: CMD's, or 3 (with a one-line message) if the guest failed to boot or timed out.
CMD's stdout/stderr go to this script's stdout/stderr; kernel console goes to DIR/console.log.
EOF
  exit 2
}

OUT= TIMEOUT=600 MEM=2048 KEEP=0 VERBOSE=0 BOOT_TIMEOUT=60 BOOT_ATTEMPTS=2
ENVS=()
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=${2:?}; shift 2 ;;
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    --mem) MEM=${2:?}; shift 2 ;;
    --env) [[ ${2:?} == [A-Za-z_]*=* ]] || usage; ENVS+=("$2"); shift 2 ;;
    --keep) KEEP=1; shift ;;
    -v|--verbose) VERBOSE=1; shift ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
[ $# -gt 0 ] || usage

vmfail() { printf 'run.sh: %s\n' "$*" >&2; exit 3; }

# Idempotent and ~0.1 s when everything is in place; also rebuilds a stale initramfs.
"$REPO/test/vm/prepare.sh" --reuse >/dev/null || vmfail "prepare.sh failed"
# shellcheck source=/dev/null
. "$CACHE/current.env"

if [ -n "$OUT" ]; then
  mkdir -p "$OUT"
  OUT=$(cd "$OUT" && pwd -P)
  KEEP=1
else
  OUT=$(mktemp -d /tmp/vmrun.XXXXXX)
fi
CWD=$(pwd -P)
case $OUT$CWD in *$'\n'*) vmfail "paths with newlines are not supported" ;; esac
[ "$OUT" != / ] || vmfail "--out / is not allowed"

VM=$OUT/.vm
rm -rf "$VM"
mkdir -p "$VM/home"
printf '%s\n' "$OUT" > "$VM/outdir"
: > "$VM/stdout"
: > "$VM/stderr"
: > "$OUT/console.log"

# The command travels as a script, every word quoted by printf %q: no kernel-cmdline quoting.
{
  printf 'export TERM=dumb LANG=C.UTF-8 HOME=%q TMPDIR=%q\n' "$VM/home" "$OUT"
  for e in "${ENVS[@]}"; do printf 'export %q\n' "$e"; done
  printf 'cd -- %q || { echo %q >&2; exit 125; }\n' "$CWD" "run.sh(guest): cannot cd to $CWD"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} > "$VM/cmd.sh"

# qemu option values escape ',' as ',,'.
qe() { printf '%s' "${1//,/,,}"; }

start_ns=$(date +%s%N)
deadline=$(( start_ns / 1000000000 + TIMEOUT ))
qpid=
INTERRUPTED=0
trap 'INTERRUPTED=1; [ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true' INT TERM

last_console_line() { tr -d '\r' < "$OUT/console.log" | grep -a . | tail -n1 | tr -cd '[:print:]' | cut -c1-160; }

# One qemu under `timeout` for what is left of --timeout; sets qpid.
boot() {
  : > "$OUT/console.log"
  rm -f "$VM/uptime-at-start"
  timeout --kill-after=5 "$(( deadline - $(date +%s) ))" qemu-system-x86_64 \
    -accel tcg -cpu max -smp 2 -m "$MEM" \
    -nographic -no-reboot -nic none -monitor none \
    -chardev "file,id=con,path=$(qe "$OUT/console.log")" -serial chardev:con \
    -kernel "$VMLINUZ" -initrd "$INITRD" \
    -append "console=ttyS0 panic=-1 mitigations=off tsc=reliable" \
    -fsdev "local,id=hostfs,path=/,security_model=none,readonly=on,multidevs=remap" \
    -device virtio-9p-pci,fsdev=hostfs,mount_tag=host \
    -fsdev "local,id=outfs,path=$(qe "$OUT"),security_model=none,multidevs=remap" \
    -device virtio-9p-pci,fsdev=outfs,mount_tag=out \
    </dev/null >"$VM/qemu.log" 2>&1 &
  qpid=$!
}

# Waits until the guest starts the command (0), qemu exits (1) or BOOT_TIMEOUT passes (2).
await_command_start() {
  local until=$(( $(date +%s) + BOOT_TIMEOUT ))
  while [ "$(date +%s)" -lt "$until" ]; do
    [ ! -e "$VM/uptime-at-start" ] || return 0
    kill -0 "$qpid" 2>/dev/null || return 1
    sleep 0.2
  done
  [ -e "$VM/uptime-at-start" ] && return 0 || return 2
}

# Under TCG with -smp 2 the 6.1 guest, finding its vCPUs' TSCs "unsynchronized", switched to the
# hpet clocksource and now and then hung right after the switch (1 boot in 30 here). tsc=reliable
# keeps the TSC (TCG reads the host's, one clock for both vCPUs; 0 hangs in 60 boots); a boot that
# still hangs is retried once: the command has not started then, so booting again loses nothing.
for attempt in $(seq 1 "$BOOT_ATTEMPTS"); do
  boot
  started=0
  await_command_start || started=$?
  [ "$started" = 2 ] && [ "$INTERRUPTED" = 0 ] || break
  kill "$qpid" 2>/dev/null || true
  wait "$qpid" 2>/dev/null || true
  hung="guest did not start the command within ${BOOT_TIMEOUT}s of boot (last console line: $(last_console_line))"
  [ "$attempt" -lt "$BOOT_ATTEMPTS" ] || vmfail "$hung, $attempt times (console: $OUT/console.log)"
  [ $(( deadline - $(date +%s) )) -gt 10 ] || vmfail "$hung; no time left to boot again (console: $OUT/console.log)"
  printf 'run.sh: %s; booting again\n' "$hung" >&2
done

# Stream the command's output live; tail exits once qemu (well, timeout) has gone, after a
# last read.
tail -q -s 0.2 --pid="$qpid" -n +1 -f "$VM/stdout" &
t1=$!
tail -q -s 0.2 --pid="$qpid" -n +1 -f "$VM/stderr" >&2 &
t2=$!

qrc=0
wait "$qpid" || qrc=$?
wait "$t1" "$t2" || true
end_ns=$(date +%s%N)
up0=$(cut -d' ' -f1 "$VM/uptime-at-start" 2>/dev/null || echo '?')
up1=$(cut -d' ' -f1 "$VM/uptime-at-end" 2>/dev/null || echo '?')
printf 'total_ms=%d uptime_at_command_start_s=%s uptime_at_command_end_s=%s\n' \
  $(( (end_ns - start_ns) / 1000000 )) "$up0" "$up1" > "$VM/timing"

rc=$(cat "$VM/rc" 2>/dev/null || true)
if [ "$KEEP" = 0 ] && [ "$rc" = 0 ]; then
  rm -rf "$OUT"
  [ "$VERBOSE" = 0 ] || printf 'run.sh: output dir %s removed (use --keep or --out)\n' "$OUT" >&2
elif [ "$VERBOSE" = 1 ] || [ -z "$rc" ]; then
  printf 'run.sh: output dir: %s\n' "$OUT" >&2
fi
if [ "$VERBOSE" = 1 ]; then
  printf 'run.sh: total %d ms; guest uptime at command start %s s, at command end %s s\n' \
    $(( (end_ns - start_ns) / 1000000 )) "$up0" "$up1" >&2
fi

if [ "$INTERRUPTED" = 1 ]; then
  vmfail "interrupted (console: $OUT/console.log)"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
  vmfail "timeout after ${TIMEOUT}s (console: $OUT/console.log)"
fi
if [ -z "$rc" ]; then
  why=$(grep -a -m1 -E 'vm-init: FAIL|Kernel panic' "$OUT/console.log" 2>/dev/null | tr -d '\r' || true)
  if [ -z "$why" ]; then
    why="qemu exited with $qrc; $(head -c 300 "$VM/qemu.log" | tr '\n' ' ')last console line:"
    why="$why $(last_console_line)"
  fi
  vmfail "guest failed before the command finished: $why (console: $OUT/console.log)"
fi
exit "$rc"
