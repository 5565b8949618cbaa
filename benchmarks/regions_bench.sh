#!/bin/sh
# Classifying 1, 10 and 100 regions of a 640x480 frame, each region in turn
# on all threads (the old mobileoneclassify) against mo_session_run_regions
# (the new: one region per thread), with the whole frame's fps as the
# reference, side by side in one run (regions_bench.c).
#
#   benchmarks/regions_bench.sh BUILD_DIR [MODEL.yaml] [THREADS]
#
# MODEL: default Apple's S0 in ../shared/weights-ref (else tests/data's k1);
# THREADS: 0 (default) = the shared pool, one thread per core.
set -eu
build=${1:?usage: regions_bench.sh BUILD_DIR [MODEL.yaml] [THREADS]}
root=$(cd "$(dirname "$0")/.." && pwd)
model=${2:-$root/../shared/weights-ref/mobileone-s0-imagenet.yaml}
[ -f "$model" ] || model=$root/tests/data/k1-fused.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -I"$root/mobileone" -I"$root/heads" $(pkg-config --cflags glib-2.0) \
  "$root/benchmarks/regions_bench.c" -L"$build" -Wl,-rpath,"$build" \
  -lmobileone $(pkg-config --libs glib-2.0) -lm -o "$tmp/bench"
"$tmp/bench" "$model" "${3:-0}"
