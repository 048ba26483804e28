#!/usr/bin/env bash
# Build mutex_origin.ko for the VM guest kernel, out of tree: sources are copied into
# .cache/vm/kmod/build and the module lands at .cache/vm/kmod/mutex_origin.ko (path printed).
# Usage: test/kmod/build.sh [KVER]   (default: the kernel test/vm/prepare.sh resolved)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC=$REPO/test/kmod
OUT=$REPO/.cache/vm/kmod

if [ $# -ge 1 ]; then
  KVER=$1
else
  [ -f "$REPO/.cache/vm/current.env" ] || "$REPO/test/vm/prepare.sh" >/dev/null
  # shellcheck source=/dev/null
  KVER=$(. "$REPO/.cache/vm/current.env" && echo "$KVER")
fi
HDRS=/usr/src/linux-headers-$KVER
[ -d "$HDRS" ] || { echo "build.sh: $HDRS missing (run test/vm/prepare.sh)" >&2; exit 1; }

mkdir -p "$OUT/build"
# Copy only when changed so that make's timestamps keep a rebuild incremental.
for f in mutex_origin.c Kbuild; do
  cmp -s "$SRC/$f" "$OUT/build/$f" || cp "$SRC/$f" "$OUT/build/$f"
done
make -s -C "$HDRS" M="$OUT/build" modules >&2
cp "$OUT/build/mutex_origin.ko" "$OUT/mutex_origin.ko"
echo "$OUT/mutex_origin.ko"
