#!/usr/bin/env bash
# End-to-end check of the VM harness: inside the guest, bpftrace (kprobe/kretprobe on
# mutex_lock and mutex_unlock) records the holds of test/kmod's mutex_origin module, and the
# module prints its own ktime measurements of the same holds. Both use the monotonic clock
# (bpftrace's nsecs is bpf_ktime_get_ns), so the numbers are directly comparable.
# Also checks fentry (bpftrace kfunc:), node, and SQLite WAL in the output dir.
#
# Usage (host): test/vm/selftest.sh [SCENARIO [COUNT]]     default: hold 2
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if [ "${1:-}" != --in-guest ]; then
  KO=$("$REPO/test/kmod/build.sh")
  cd "$REPO"
  exec "$REPO/test/vm/run.sh" -v --timeout 300 -- \
    bash test/vm/selftest.sh --in-guest "$KO" "${1:-hold}" "${2:-2}"
fi

# ---- inside the guest (cwd = repo, TMPDIR = run.sh's output dir) ----
KO=$2 SCENARIO=$3 COUNT=$4
BT_OUT=$TMPDIR/bpftrace.out
fails=0
check() { if "$@"; then echo "ok: ${CHECK_NAME}"; else echo "FAIL: ${CHECK_NAME}"; fails=$((fails + 1)); fi; }

# Only mutexes in module memory (>= 0xffffffffc0000000 on x86_64) are reported: loading the
# module takes a few of the kernel's own mutexes in the same task.
# BEGIN fires after every probe is attached ("Attaching N probes" is printed before).
bpftrace -e '
BEGIN { printf("READY\n"); }
kprobe:mutex_lock /(comm == "busybox" || comm == "mo_holder" || comm == "mo_waiter") &&
                   arg0 >= 0xffffffffc0000000/ {
  @req[tid] = nsecs; @lk[tid] = arg0;
}
kretprobe:mutex_lock /@lk[tid]/ {
  $l = @lk[tid];
  @acq[$l] = nsecs;
  if (nsecs - @req[tid] > 1000000) {  /* uncontended acquisitions are not waits */
    printf("bpftrace: wait tid=%d lock=%lx request_ns=%llu acquired_ns=%llu wait_ns=%llu\n",
           tid, $l, @req[tid], nsecs, nsecs - @req[tid]);
  }
  delete(@lk[tid]); delete(@req[tid]);
}
kprobe:mutex_unlock /@acq[arg0]/ { @ul[tid] = arg0; }
kretprobe:mutex_unlock /@ul[tid]/ {
  $l = @ul[tid];
  printf("bpftrace: hold tid=%d lock=%lx acquired_ns=%llu released_ns=%llu hold_ns=%llu\n",
         tid, $l, @acq[$l], nsecs, nsecs - @acq[$l]);
  delete(@acq[$l]); delete(@ul[tid]);
}
END { clear(@req); clear(@lk); clear(@acq); clear(@ul); }' >"$BT_OUT" 2>&1 &
bt=$!
for _ in $(seq 1 600); do grep -q '^READY' "$BT_OUT" && break; sleep 0.1; done

busybox insmod "$KO" "scenario=$SCENARIO" "count=$COUNT"
kill -INT "$bt"
wait "$bt" || true

echo "--- module (ground truth)"
dmesg | grep -o 'mutex_origin: .*' | grep -E ' (hold|wait|locks|done)' | tee "$TMPDIR/module.out"
echo "--- bpftrace"
grep '^bpftrace:' "$BT_OUT" | tee "$TMPDIR/bpftrace.filtered"

# Match each module line to a bpftrace line of the same kind, tid and lock; report the
# difference of the durations.
echo "--- comparison (bpftrace - module)"
CHECK_NAME="every module hold/wait seen by bpftrace within 1 ms" check awk '
  FNR == NR { if ($1 == "bpftrace:") bt[++n] = $0; next }
  # A wait shorter than 1 ms is an uncontended acquisition, which bpftrace does not report.
  $2 == "hold" || ($2 == "wait" && substr($NF, 9) + 0 > 1000000) {
    kind = $2; split($3, t, "="); split($5, l, "="); split($NF, d, "=")
    tid = t[2]; lock = l[2]; dur = d[2]; found = 0
    for (i = 1; i <= n; i++) {
      if (used[i]) continue
      split(bt[i], f, " ")
      if (f[2] != kind || f[3] != "tid=" tid || f[4] != "lock=" lock) continue
      split(f[7], bd, "="); used[i] = 1; found = 1
      printf "%s tid=%s lock=%s module=%s bpftrace=%s diff_us=%.1f\n", kind, tid, lock, dur, bd[2], (bd[2] - dur) / 1000
      if ((bd[2] - dur) > 1000000 || (dur - bd[2]) > 1000000) bad++
      break
    }
    if (!found) { print "no bpftrace match for: " $0; bad++ }
  }
  END { exit bad > 0 }' "$TMPDIR/bpftrace.filtered" "$TMPDIR/module.out"

CHECK_NAME="fentry (bpftrace kfunc:mutex_lock)" check bash -c \
  "bpftrace -e 'kfunc:mutex_lock { @n = count(); } interval:ms:500 { exit(); }' 2>&1 | grep -q '^@n: [1-9]'"
CHECK_NAME="node runs" check bash -c "[ \"\$(/usr/bin/node -e 'console.log(1)')\" = 1 ]"
if [ -d node_modules/better-sqlite3 ]; then
  CHECK_NAME="SQLite WAL db in the output dir" check /usr/bin/node -e '
    const D = require("better-sqlite3"); const db = new D(process.env.TMPDIR + "/wal.db");
    if (db.pragma("journal_mode = WAL", { simple: true }) !== "wal") process.exit(1);
    db.exec("create table t(x)"); db.prepare("insert into t values (?)").run(42);
    process.exit(db.prepare("select x from t").get().x === 42 ? 0 : 1);'
fi
echo "selftest: $fails failed"
[ "$fails" = 0 ]
