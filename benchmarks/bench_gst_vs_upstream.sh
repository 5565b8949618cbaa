#!/usr/bin/env bash
# mobileonedetect against upstream GStreamer's onnxinference on Debian 13,
# from a Debian 12 machine (root, debootstrap): exports the detector to ONNX
# with the host's PyTorch (python3 -m mobileone_tools.reference.export_ssd_onnx), then, in the
# Debian 13 chroot of .ci/trixie.sh (with python3-onnxruntime added), checks
# that both give the same raw outputs (compare_onnx_outputs.py) and runs
# gst_vs_onnxinference.sh. Results: docs/performance.md.
#
#   benchmarks/bench_gst_vs_upstream.sh [MODEL.yaml] [FRAMES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/shapes-detect.yaml}
frames=${2:-200}
rounds=${3:-5}
root=${MOBILEONE_TRIXIE_ROOT:-/var/cache/mobileone-trixie}
python=/usr/bin/python3

.ci/trixie.sh --prepare
.ci/trixie.sh -- sh -c 'dpkg -s python3-onnxruntime python3-yaml >/dev/null 2>&1 ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3-onnxruntime python3-numpy python3-yaml >/dev/null'
mkdir -p "$root/tmp/mobileone-bench"
PYTHONPATH=tools $python -m mobileone_tools.reference.export_ssd_onnx "$model" "$root/tmp/mobileone-bench/model.onnx" >/dev/null
.ci/trixie.sh -- sh -c "set -e
  [ -f /tmp/build-bench/build.ninja ] || meson setup /tmp/build-bench -Dbuildtype=release >/dev/null
  ninja -C /tmp/build-bench >/dev/null
  echo \"# equal outputs: mobileone-cli run against ONNX Runtime \$(dpkg-query -W -f='\${Version}' python3-onnxruntime), a random 320x320 frame\"
  # (Debian's ONNX Runtime prints a page of harmless 'Schema error' lines)
  python3 benchmarks/compare_onnx_outputs.py /tmp/build-bench/cli/mobileone-cli \
    /src/$model /tmp/mobileone-bench/model.onnx /tmp/mobileone-bench/compare \
    2>/tmp/mobileone-bench/compare.err ||
    { grep -v -e '^Schema error' -e '^\$' /tmp/mobileone-bench/compare.err; exit 1; }
  BUILD=/tmp/build-bench bash benchmarks/gst_vs_onnxinference.sh /src/$model \
    /tmp/mobileone-bench/model.onnx $frames $rounds"
