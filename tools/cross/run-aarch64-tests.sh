#!/bin/sh
# Builds the compute kernels (C reference + NEON) and tests/test-kernels.c
# for AArch64 with the cross compiler directly (the test needs no GLib) and
# runs the test under QEMU user-mode emulation. Installs nothing; on
# Debian/Ubuntu the tools come from:
#
#   apt-get install gcc-aarch64-linux-gnu qemu-user
#
# Usage: tools/cross/run-aarch64-tests.sh [test-kernels options]
#   e.g. --cases 50, --seed 1234, --bench (timings under emulation mean
#   nothing). Environment: CC (aarch64-linux-gnu-gcc), QEMU (qemu-aarch64),
#   SYSROOT (/usr/aarch64-linux-gnu), CFLAGS (extra flags), OUT (build
#   folder, default a temporary one that is removed afterwards).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
CC=${CC:-aarch64-linux-gnu-gcc}
QEMU=${QEMU:-qemu-aarch64}
SYSROOT=${SYSROOT:-/usr/aarch64-linux-gnu}

for tool in "$CC" "$QEMU"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$0: $tool not found (apt-get install gcc-aarch64-linux-gnu" \
      "qemu-user)" >&2
    exit 77
  fi
done

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
else
  OUT=$(mktemp -d)
  trap 'rm -rf "$OUT"' EXIT
fi

# The project's warning set (meson.build), as errors: the cross build must
# stay as clean as the native one.
warn="-Wall -Wextra -Wmissing-prototypes -Wmissing-declarations \
  -Wold-style-definition -Wvla -Wundef -Wpointer-arith -Wwrite-strings \
  -Wformat-security -Wno-unused-parameter -Werror"

cd "$top"
# shellcheck disable=SC2086
"$CC" -std=gnu11 -O2 -fno-math-errno $warn ${CFLAGS:-} \
  -DMO_KERNELS_STANDALONE -DMO_HAVE_NEON=1 -Imobileone \
  mobileone/mo-kernels.c mobileone/mo-kernels-ref.c \
  mobileone/mo-kernels-q8-ref.c \
  mobileone/kernels/mo-f32-*-neon.c tests/test-kernels.c \
  -o "$OUT/test-kernels" -lm
# The int8 kernels (the reference only on AArch64 so far; docs/int8.md).
# shellcheck disable=SC2086
"$CC" -std=gnu11 -O2 -fno-math-errno $warn ${CFLAGS:-} \
  -DMO_KERNELS_STANDALONE -DMO_HAVE_NEON=1 -Imobileone \
  mobileone/mo-kernels.c mobileone/mo-kernels-ref.c \
  mobileone/mo-kernels-q8-ref.c \
  mobileone/kernels/mo-f32-*-neon.c tests/test-kernels-q8.c \
  -o "$OUT/test-kernels-q8" -lm

echo "running $OUT/test-kernels under $QEMU"
"$QEMU" -L "$SYSROOT" "$OUT/test-kernels" "$@"
echo "running $OUT/test-kernels-q8 under $QEMU"
"$QEMU" -L "$SYSROOT" "$OUT/test-kernels-q8"
