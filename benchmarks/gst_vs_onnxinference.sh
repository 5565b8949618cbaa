#!/usr/bin/env bash
# mobileonedetect against upstream GStreamer's onnxinference (ONNX Runtime,
# gst-plugins-bad >= 1.24) on the same SSDLite-S0, in one run, alternating,
# on a Debian 13 system (run it through bench_gst_vs_upstream.sh from a
# Debian 12 machine; that script also exports the ONNX model).
#
#   benchmarks/gst_vs_onnxinference.sh MODEL.yaml MODEL.onnx [FRAMES] [ROUNDS]
#
# Both pipelines start from the same frame (videotestsrc pattern=ball, RGB,
# at 640x480 and 1920x1080) pushed FRAMES times by imagefreeze, so that the
# source costs next to nothing, and end in fakesink:
#   ours:     mobileonedetect n-threads=T       (resize + normalisation,
#             network, box decoding, NMS, ROI + GstAnalytics metas)
#   upstream: videoconvertscale n-threads=T to the model's 320x320 !
#             onnxinference optimization-level=enable-all (the network to its
#             raw outputs; normalisation is in the ONNX graph; no decoder:
#             the model's outputs are not the ones ssdobjectdetector reads;
#             the element's default level, disable-all, is slower)
# onnxinference has no thread setting: ONNX Runtime takes its default thread
# count, so "1 thread" runs both pipelines under `taskset -c 0` (one CPU)
# and "2 threads" on two CPUs (taskset -c 0,1).
#
# Frames per second = (FRAMES - 1) / gst-launch's "Execution ended after"
# (PLAYING to EOS; the first frame is prerolled, model loading excluded).
# The figure is the median over ROUNDS rounds, the two alternating within
# each round.
set -euo pipefail
cd "$(dirname "$0")/.."
yaml=${1:?MODEL.yaml}
onnx=${2:?MODEL.onnx}
frames=${3:-200}
rounds=${4:-5}
build=${BUILD:-/tmp/build-bench}

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dbuildtype=release >/dev/null
fi
ninja -C "$build" >/dev/null
export GST_PLUGIN_PATH="$build/gst"
export GST_REGISTRY="$build/bench-registry.bin"
gst-inspect-1.0 mobileonedetect >/dev/null
gst-inspect-1.0 onnxinference >/dev/null || { echo "no onnxinference (gstreamer1.0-plugins-bad with ONNX)"; exit 1; }

# seconds from PLAYING to EOS
run() {
  local cpus=$1
  shift
  taskset -c "$cpus" gst-launch-1.0 "$@" 2>&1 |
    sed -n 's/.*Execution ended after \([0-9]*\):\([0-9]*\):\([0-9.]*\).*/\1 \2 \3/p' |
    awk '{ printf "%.6f\n", $1 * 3600 + $2 * 60 + $3 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '# %s, %s CPUs; GStreamer %s; %d frames x %d rounds, alternating\n' \
  "$(uname -m)" "$(nproc)" "$(gst-launch-1.0 --version | sed -n 's/.*GStreamer \([0-9.]*\).*/\1/p' | head -1)" \
  "$frames" "$rounds"
printf '%-10s %3s %10s %10s %8s\n' size thr "ours fps" "ORT fps" ratio
for size in 640x480 1920x1080; do
  w=${size%x*}
  h=${size#*x}
  # One frame pushed again and again: the source costs next to nothing.
  src="videotestsrc num-buffers=1 pattern=ball ! video/x-raw,format=RGB,width=$w,height=$h,framerate=30/1 ! imagefreeze num-buffers=$frames"
  for t in 1 2; do
    cpus=0
    [ "$t" = 2 ] && cpus=0,1
    ours=() theirs=()
    for ((r = 0; r < rounds; r++)); do
      theirs+=("$(run $cpus $src ! videoconvertscale n-threads=$t ! \
        video/x-raw,width=320,height=320 ! \
        onnxinference model-file="$onnx" execution-provider=cpu input-image-format=hwc \
          optimization-level=enable-all ! \
        fakesink sync=false)")
      ours+=("$(run $cpus $src ! mobileonedetect model="$yaml" n-threads=$t ! fakesink sync=false)")
    done
    o=$(printf '%s\n' "${ours[@]}" | median)
    p=$(printf '%s\n' "${theirs[@]}" | median)
    awk -v s=$size -v t=$t -v n=$frames -v o=$o -v p=$p 'BEGIN {
      fo = (n - 1) / o; fp = (n - 1) / p
      printf "%-10s %3d %10.1f %10.1f %7.2fx\n", s, t, fo, fp, fo / fp }'
  done
done
