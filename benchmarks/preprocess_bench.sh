#!/bin/sh
# Pre-processing time of a 640x480 and a 1920x1080 frame into a 224x224
# input, this tree's mo_preprocess (one thread) and mo_session_set_input_image
# (the session's threads) against PEER's mo_preprocess (default: the
# revision before the pre-processing rewrite), side by side in one run.
#
#   benchmarks/preprocess_bench.sh BUILD_DIR [PEER_REV] [W H] [REPS] [THREADS]
#
# THREADS: the session's (0 = one per core).
set -eu
build=${1:?usage: preprocess_bench.sh BUILD_DIR [PEER_REV] [W H] [REPS]}
peer=${2:-7979efb}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cflags="-O3 -I$root/mobileone -I$root/heads $(pkg-config --cflags glib-2.0)"
git -C "$root" show "$peer:mobileone/mo-preprocess.c" > "$tmp/peer.c"
# The peer's file against this tree's header: the old formats keep their
# values and mo_preprocess its signature.
cc $cflags -Dmo_preprocess=mo_preprocess_peer \
  -Dmo_transform_point=mo_transform_point_peer -c "$tmp/peer.c" -o "$tmp/peer.o"
cc $cflags "$root/benchmarks/preprocess_bench.c" "$tmp/peer.o" \
  -L"$build" -Wl,-rpath,"$build" -lmobileone \
  $(pkg-config --libs glib-2.0) -lm -o "$tmp/bench"
"$tmp/bench" "$root/tests/data/k1-fused.yaml" "${3:-224}" "${4:-224}" "${5:-201}" "${6:-0}"
