#!/bin/sh
# Builds the compute kernels (C reference + NEON, float and int8) and
# tests/test-kernels.c and tests/test-kernels-q8.c for AArch64 with the
# cross compiler directly (the tests need no GLib) and runs them under QEMU
# user-mode emulation: every NEON variant against the C reference (int8:
# NEON, sdot and usdot, byte for byte). Installs nothing; on Debian/Ubuntu
# the tools come from:
#
#   apt-get install gcc-aarch64-linux-gnu qemu-user
#
# Usage: tools/cross/run-aarch64-tests.sh [test options]
#   e.g. --cases 50, --seed 1234, --bench (timings under emulation mean
#   nothing); passed to both tests. Environment: CC
#   (aarch64-linux-gnu-gcc), QEMU (qemu-aarch64), SYSROOT
#   (/usr/aarch64-linux-gnu), CFLAGS (extra flags), OUT (build folder,
#   default a temporary one that is removed afterwards).
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
# The int8 GEMMs of the dot-product extensions are built with their own
# -march (mobileone/meson.build) and chosen at run time from the hwcaps.
# shellcheck disable=SC2086
"$CC" -std=gnu11 -O2 -fno-math-errno $warn ${CFLAGS:-} -Imobileone \
  -march=armv8.2-a+dotprod -c mobileone/kernels/mo-q8-pwconv-neondot.c \
  -o "$OUT/mo-q8-pwconv-neondot.o"
# shellcheck disable=SC2086
"$CC" -std=gnu11 -O2 -fno-math-errno $warn ${CFLAGS:-} -Imobileone \
  -march=armv8.2-a+i8mm -c mobileone/kernels/mo-q8-pwconv-neoni8mm.c \
  -o "$OUT/mo-q8-pwconv-neoni8mm.o"
for t in test-kernels test-kernels-q8; do
  # shellcheck disable=SC2086
  "$CC" -std=gnu11 -O2 -fno-math-errno $warn ${CFLAGS:-} \
    -DMO_KERNELS_STANDALONE -DMO_HAVE_NEON=1 -DMO_HAVE_NEONDOT=1 \
    -DMO_HAVE_NEONI8MM=1 -Imobileone \
    mobileone/mo-kernels.c mobileone/mo-kernels-ref.c \
    mobileone/mo-kernels-q8-ref.c \
    mobileone/kernels/mo-f32-*-neon.c mobileone/kernels/mo-q8-*-neon.c \
    "$OUT/mo-q8-pwconv-neondot.o" "$OUT/mo-q8-pwconv-neoni8mm.o" \
    "tests/$t.c" -o "$OUT/$t" -lm
done

# -cpu max has every extension: each NEON variant is tested (--require
# fails the run if the detection missed one).
echo "running $OUT/test-kernels under $QEMU"
"$QEMU" -cpu max -L "$SYSROOT" "$OUT/test-kernels" "$@"
echo "running $OUT/test-kernels-q8 under $QEMU -cpu max"
"$QEMU" -cpu max -L "$SYSROOT" "$OUT/test-kernels-q8" \
  --require neon,neondot,neoni8mm "$@"
# Older cores: the detection must leave out what they lack (Cortex-A72:
# Armv8.0, no sdot; Neoverse N1: sdot, no i8mm).
for cpu in cortex-a72 neoverse-n1; do
  echo "running $OUT/test-kernels-q8 under $QEMU -cpu $cpu"
  rc=0
  "$QEMU" -cpu $cpu -L "$SYSROOT" "$OUT/test-kernels-q8" --cases 20 \
    >"$OUT/q8-$cpu.txt" || rc=$?
  cat "$OUT/q8-$cpu.txt"
  [ $rc = 0 ] || exit $rc
  if [ $cpu = cortex-a72 ]; then want=neondot; else want=neoni8mm; fi
  grep -q "^$want  *skipped" "$OUT/q8-$cpu.txt" || {
    echo "$0: $want was not skipped on $cpu" >&2
    exit 1
  }
done
