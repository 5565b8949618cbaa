#!/bin/sh
# Retrains a default model from nothing, exports it to models/ and scores it
# with PyTorch and the C engine:
#
#   tools/train/retrain.sh detect      # models/shapes-detect.{yaml,safetensors}
#   tools/train/retrain.sh segment     # models/shapes-segment.{yaml,safetensors}
#   tools/train/retrain.sh all
#
# Environment: RUNS (default runs/), DETECT_STEPS, SEGMENT_STEPS, DETECT_BS,
# SEGMENT_BS, TRAIN_ARGS (extra train_*.py options, e.g. "--device cpu"),
# PYTHON (default /usr/bin/python3). The figures land in RUNS/*/eval.json;
# docs/models.md lists the ones of the shipped models.
set -eu
here=$(dirname "$0")
root=$(cd "$here/../.." && pwd)
py=${PYTHON:-/usr/bin/python3}
runs=${RUNS:-$root/runs}
amp=""
if "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  amp="--amp"
fi

detect() {
  "$py" "$here/train_detect.py" --out "$runs/detect" --resume $amp \
    --steps "${DETECT_STEPS:-24000}" --batch-size "${DETECT_BS:-64}" --lr 2e-3 \
    --eval-every 4000 ${TRAIN_ARGS:-}
  "$py" "$here/export.py" "$runs/detect/final.pt"
  "$py" "$here/evaluate.py" "$root/models/shapes-detect.yaml" --json "$runs/detect/eval.json"
}

segment() {
  "$py" "$here/train_segment.py" --out "$runs/segment" --resume $amp \
    --steps "${SEGMENT_STEPS:-16000}" --batch-size "${SEGMENT_BS:-32}" --lr 2e-3 \
    --eval-every 4000 ${TRAIN_ARGS:-}
  "$py" "$here/export.py" "$runs/segment/final.pt"
  "$py" "$here/evaluate.py" "$root/models/shapes-segment.yaml" --json "$runs/segment/eval.json"
}

case "${1:-}" in
  detect) detect ;;
  segment) segment ;;
  all) detect; segment ;;
  *) echo "usage: $0 detect|segment|all" >&2; exit 2 ;;
esac
