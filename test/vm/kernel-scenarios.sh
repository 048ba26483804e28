#!/bin/sh
# Runs inside the guest (test/vm/run.sh): the kernel-mutex scenarios of test/kmod under the real
# mutex-rec with one probe method, leaving per scenario a run file and the module's own lines.
#   kernel-scenarios.sh METHOD OUTDIR SCENARIO...
set -eu
method=$1 out=$2
shift 2
rec="node dist/recorder/cli.js --kernel-probe $method"
ko=.cache/vm/kmod/mutex_origin.ko


for scenario in "$@"; do
  case $scenario in
  hold|nested|sleep3)
    # the module runs its scenario in insmod's task: record that task's kernel mutexes
    $rec --kernel -o "$out/$scenario.db" -- busybox insmod $ko scenario=$scenario 2>"$out/$scenario.rec.log"
    ;;
  contend)
    # two kthreads: record every task, the test picks the module's threads by tid. Held 1 s, not
    # 300 ms: the waiter's own clock reads bracket both probes and its wake-up, which the emulated
    # VM on a loaded host stretched by 0.65-0.69 ms (CI, two runs in a row), over 0.2% of 300 ms.
    $rec --all -o "$out/$scenario.db" -- busybox insmod $ko scenario=contend hold_ms=1000 2>"$out/$scenario.rec.log"
    ;;
  excluded)
    # a pid filter that excludes the module's task: record another task while the module runs
    $rec --kernel -o "$out/$scenario.db" -- busybox sleep 3 2>"$out/$scenario.rec.log" &
    until grep -q 'mutex-rec: recording' "$out/$scenario.rec.log" 2>/dev/null; do sleep 0.1; done
    busybox insmod $ko scenario=hold count=2
    wait
    ;;
  esac
  dmesg | grep 'mutex_origin:' > "$out/$scenario.module.log"
  busybox rmmod mutex_origin
  dmesg -C
done
