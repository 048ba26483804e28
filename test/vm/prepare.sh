#!/usr/bin/env bash
# Prepare everything test/vm/run.sh needs to boot Debian's 6.1 kernel under qemu:
# host packages, the kernel image + modules, matching headers (for test/kmod), and an initramfs.
# Idempotent: a second run only re-checks and exits quickly.
# Usage: test/vm/prepare.sh [--reuse]   (--reuse: keep the kernel version prepared last time
# instead of asking apt which one linux-image-amd64 points to now)
# Prints the path of the prepared kernel directory on stdout (everything else goes to stderr).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=$REPO/.cache/vm
HERE=$REPO/test/vm

log() { printf 'prepare: %s\n' "$*" >&2; }
die() { printf 'prepare: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, qemu 9p share of /)"

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

mkdir -p "$CACHE"
APTLOG=$CACHE/apt.log
# apt/dpkg chatter goes to a log; shown only if the step fails.
quiet() {
  if ! "$@" >>"$APTLOG" 2>&1; then
    tail -n 30 "$APTLOG" >&2
    die "failed: $* (full log: $APTLOG)"
  fi
}

APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    quiet apt-get update
    APT_UPDATED=1
  fi
}

# 1. Host packages.
missing=()
for p in qemu-system-x86 busybox-static cpio; do
  pkg_installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_update_once
  log "installing ${missing[*]}"
  quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# 2. Resolve the current 6.1 kernel ABI name (e.g. 6.1.0-56-amd64) from the metapackage.
resolve_kver() {
  apt-cache depends linux-image-amd64 2>/dev/null \
    | sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -n1
}
KVER=
if [ "${1:-}" = --reuse ] && [ -f "$CACHE/current.env" ]; then
  # run.sh: keep the kernel prepared last time (apt-cache alone takes ~0.7 s).
  KVER=$(. "$CACHE/current.env" && echo "$KVER")
fi
[ -n "$KVER" ] || KVER=$(resolve_kver || true)
if [ -z "$KVER" ]; then
  # apt lists missing or stale: apt-cache knows nothing before the first update.
  apt_update_once
  KVER=$(resolve_kver || true)
fi
[ -n "$KVER" ] || die "cannot resolve kernel version from 'apt-cache depends linux-image-amd64'"

KDIR=$CACHE/kernel/$KVER
mkdir -p "$CACHE/debs" "$KDIR"

# 3. Kernel image + modules (the -unsigned package has the same files, without signing deps).
if [ ! -f "$KDIR/.unpacked" ]; then
  IMGPKG=linux-image-$KVER-unsigned
  deb=$(ls "$CACHE"/debs/"${IMGPKG}"_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    apt_update_once
    log "downloading $IMGPKG"
    # Sandbox user root: _apt cannot write into the cache dir.
    (cd "$CACHE/debs" && quiet apt-get download -o APT::Sandbox::User=root "$IMGPKG")
    deb=$(ls "$CACHE"/debs/"${IMGPKG}"_*.deb | head -n1)
  fi
  log "unpacking $(basename "$deb")"
  rm -rf "$KDIR/root"
  dpkg-deb -x "$deb" "$KDIR/root"
  [ -f "$KDIR/root/boot/vmlinuz-$KVER" ] || die "no vmlinuz-$KVER in $deb"
  touch "$KDIR/.unpacked"
fi
# An uncompressed vmlinux boots through PVH (qemu loads the ELF itself), which skips the
# xz decompression that costs ~2.5 s under TCG. Falls back to the bzImage.
if [ ! -f "$KDIR/vmlinux" ] && [ ! -f "$KDIR/vmlinux.none" ]; then
  BZ=$KDIR/root/boot/vmlinuz-$KVER
  off=$(LC_ALL=C grep -obUa $'\xfd''7zXZ' "$BZ" | head -n1 | cut -d: -f1 || true)
  # (tail gets SIGPIPE when xz stops at the end of the stream: only xz's status matters.)
  if [ -n "$off" ] && { tail -c +$((off + 1)) "$BZ" || true; } | xz -dc --single-stream > "$KDIR/vmlinux.tmp" 2>/dev/null \
     && [ "$(head -c 4 "$KDIR/vmlinux.tmp")" = $'\x7fELF' ]; then
    mv "$KDIR/vmlinux.tmp" "$KDIR/vmlinux"
  else
    log "could not extract an xz vmlinux from the bzImage; booting the bzImage (slower)"
    rm -f "$KDIR/vmlinux.tmp"; touch "$KDIR/vmlinux.none"
  fi
fi
if [ -f "$KDIR/vmlinux" ]; then BOOTIMG=$KDIR/vmlinux; else BOOTIMG=$KDIR/root/boot/vmlinuz-$KVER; fi

# 4. Headers for building test/kmod against the guest kernel.
if ! pkg_installed "linux-headers-$KVER"; then
  apt_update_once
  log "installing linux-headers-$KVER"
  quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "linux-headers-$KVER"
fi

# 5. Initramfs: busybox + the drivers for virtio-9p (and overlay for a writable /tmp).
MODROOT=$KDIR/root/lib/modules/$KVER
# Rebuilt when init or this script changes.
stamp=$(cat "$HERE/guest-init.sh" "${BASH_SOURCE[0]}" /bin/busybox | sha256sum | cut -c1-16)
if [ ! -f "$KDIR/initramfs.cpio.gz" ] || [ "$(cat "$KDIR/initramfs.stamp" 2>/dev/null)" != "$stamp" ]; then
  log "building initramfs"
  declare -A KO_PATH=() SEEN=()
  while IFS= read -r f; do
    b=$(basename "$f"); b=${b%%.ko*}; KO_PATH[${b//-/_}]=$f
  done < <(find "$MODROOT/kernel" -name '*.ko*')

  ORDER=()
  # Depth-first over each module's depends= (read from its .modinfo strings), so that
  # dependencies come first: busybox insmod does no dependency resolution.
  add_mod() {
    local m=${1//-/_} f deps d
    [ -n "${SEEN[$m]:-}" ] && return 0
    SEEN[$m]=1
    f=${KO_PATH[$m]:-}
    [ -n "$f" ] || die "module $m not found under $MODROOT (built-in? then drop it from the list)"
    deps=$(ko_cat "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1)
    for d in ${deps//,/ }; do add_mod "$d"; done
    ORDER+=("$m")
  }
  ko_cat() {
    case $1 in
      *.ko.xz) xz -dc "$1" ;;
      *.ko.zst) zstd -qdc "$1" ;;
      *.ko.gz) gzip -dc "$1" ;;
      *) cat "$1" ;;
    esac
  }
  for m in virtio_pci 9pnet_virtio 9p overlay; do add_mod "$m"; done

  IR=$CACHE/initramfs-build
  rm -rf "$IR"
  mkdir -p "$IR"/{bin,sbin,dev,proc,sys,host,out,lib/modules}
  cp /bin/busybox "$IR/bin/busybox"
  for a in sh mount umount mkdir insmod chroot poweroff sync cat echo sleep ls dmesg mknod; do
    ln -s busybox "$IR/bin/$a"
  done
  : > "$IR/lib/modules/order"
  for m in "${ORDER[@]}"; do
    ko_cat "${KO_PATH[$m]}" > "$IR/lib/modules/$m.ko"
    echo "$m" >> "$IR/lib/modules/order"
  done
  install -m 0755 "$HERE/guest-init.sh" "$IR/init"
  (cd "$IR" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$KDIR/initramfs.cpio.gz.tmp"
  mv "$KDIR/initramfs.cpio.gz.tmp" "$KDIR/initramfs.cpio.gz"
  echo "$stamp" > "$KDIR/initramfs.stamp"
  rm -rf "$IR"
  log "modules: ${ORDER[*]}"
fi

# run.sh and test/kmod/build.sh read this.
cat > "$CACHE/current.env.tmp" <<EOF
KVER=$KVER
KDIR=$KDIR
VMLINUZ=$BOOTIMG
INITRD=$KDIR/initramfs.cpio.gz
HEADERS=/usr/src/linux-headers-$KVER
EOF
mv "$CACHE/current.env.tmp" "$CACHE/current.env"
echo "$KDIR"
