#!/bin/sh
# /init of the test VM's initramfs (busybox sh). Built into the initramfs by prepare.sh.
# The host's run.sh shares two 9p trees: "host" (the host's /, read-only) and "out" (the run's
# output dir, writable). out/.vm/ holds the request: outdir (its host path) and cmd.sh.
# We chroot into the host root and run cmd.sh there, then write out/.vm/rc and power off.
export PATH=/bin:/sbin

fail() {
  echo "vm-init: FAIL: $*"
  sync
  poweroff -f
  sleep 10
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m.ko" || echo "vm-init: insmod $m failed"
done

# msize: 9p's default (8 KiB) makes reading big binaries such as node very slow.
# cache=mmap on the writable share: allows shared writable mmap (SQLite's WAL -shm needs it)
# while still writing through to the host.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=mmap out /out \
  || fail "mount of 9p share 'out' failed"
read -r OUTDIR < /out/.vm/outdir || fail "no /out/.vm/outdir"
# cache=loose: the host root is read-only for us and not expected to change during a run.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro host /host \
  || fail "mount of 9p share 'host' failed"

H=/host
mount -t proc proc $H/proc || fail "mount proc"
mount -t sysfs sysfs $H/sys || fail "mount sysfs"
mount -t devtmpfs devtmpfs $H/dev || fail "mount devtmpfs"
mkdir -p $H/dev/pts $H/dev/shm
mount -t devpts devpts $H/dev/pts
mount -t tmpfs tmpfs $H/dev/shm
mount -t tracefs tracefs $H/sys/kernel/tracing || echo "vm-init: no tracefs"
mount -t debugfs debugfs $H/sys/kernel/debug || echo "vm-init: no debugfs"
mount -t bpf bpf $H/sys/fs/bpf || echo "vm-init: no bpffs"
mount -t cgroup2 cgroup2 $H/sys/fs/cgroup || echo "vm-init: no cgroup2"

# /tmp: an overlay (host's /tmp read-only below, guest tmpfs above) keeps the host's /tmp files
# visible while making /tmp writable. A plain tmpfs would hide them, including the default
# output dir, which run.sh creates under /tmp. Without overlay, /tmp just stays read-only.
mkdir -p /ovl
mount -t tmpfs tmpfs /ovl && mkdir -p /ovl/up /ovl/work &&
  mount -t overlay overlay -o lowerdir=$H/tmp,upperdir=/ovl/up,workdir=/ovl/work $H/tmp \
  || echo "vm-init: /tmp overlay failed, /tmp is read-only"

# The output dir at the same absolute path as on the host (mounted after /tmp's overlay,
# which would otherwise cover it).
mount --bind /out "$H$OUTDIR" || fail "bind of out share at $OUTDIR failed"

cat /proc/uptime > /out/.vm/uptime-at-start
echo "vm-init: running command"
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  chroot $H /bin/bash --noprofile --norc "$OUTDIR/.vm/cmd.sh" \
  </dev/null >>/out/.vm/stdout 2>>/out/.vm/stderr
rc=$?
cat /proc/uptime > /out/.vm/uptime-at-end
echo "vm-init: command exited with $rc"
dmesg > /out/dmesg.log
echo "$rc" > /out/.vm/rc
sync
poweroff -f
sleep 10
