#!/bin/sh
# 1, 2, 4, 8 mobileonedetect streams in one process, total fps with each
# element's own pool (the old n-threads=0), the shared pool (n-threads=0
# now) and n-threads=1, side by side (streams_bench.c). Uses BUILD_DIR's
# plugin and the default model (models/shapes-detect.yaml).
#
#   benchmarks/streams_bench.sh BUILD_DIR [FRAMES] [ROUNDS] [MAX_STREAMS]
set -eu
build=$(cd "${1:?usage: streams_bench.sh BUILD_DIR [FRAMES] [ROUNDS] [MAX_STREAMS]}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 "$root/benchmarks/streams_bench.c" $(pkg-config --cflags --libs \
  gstreamer-1.0) -o "$tmp/bench"
GST_PLUGIN_PATH_1_0="$build/gst" GST_REGISTRY_1_0="$tmp/registry.bin" \
  MOBILEONE_MODEL_DIR="$root/models" "$tmp/bench" "${2:-41}" "${3:-3}" \
  "${4:-8}"
