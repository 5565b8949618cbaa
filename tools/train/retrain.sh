#!/bin/sh
# Retrains a default model from nothing, exports it to models/ and scores it
# with PyTorch and the C engine:
#
#   tools/train/retrain.sh detect      # models/shapes-detect.{yaml,safetensors}
#   tools/train/retrain.sh segment     # models/shapes-segment.{yaml,safetensors}
#   tools/train/retrain.sh all
#
# The default schedule is the one that made the shipped models on a 2-core
# CPU (docs/models.md):
#   detection    800 steps of 16 scenes at 224x224 (320x320 scenes scaled
#                down: the objects keep their size relative to the frame),
#                then 250 steps of 16 at 320x320 from those weights;
#   segmentation 1000 steps of 16 random 160x160 crops of 320x320 scenes.
# With a GPU, longer runs do better: e.g. DETECT_STEPS_A=8000
# DETECT_STEPS_B=4000 SEGMENT_STEPS=8000 (and BS=64).
#
# Environment: RUNS (default runs/), DETECT_STEPS_A, DETECT_STEPS_B,
# SEGMENT_STEPS, BS (batch size, default 16), TRAIN_ARGS (extra train_*.py
# options, e.g. "--device cpu"), PYTHON (default /usr/bin/python3),
# ENGINE (mobileone-cli for the evaluation, default build/mobileone/mobileone-cli).
# Each run resumes from RUNS/*/last.pt when interrupted. The figures land in
# RUNS/*/eval.json; docs/models.md lists the ones of the shipped models.
set -eu
here=$(dirname "$0")
root=$(cd "$here/../.." && pwd)
py=${PYTHON:-/usr/bin/python3}
runs=${RUNS:-$root/runs}
bs=${BS:-16}
engine=${ENGINE:-$root/build/mobileone/mobileone-cli}
amp=""
if "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  amp="--amp"
fi

detect() {
  "$py" "$here/train_detect.py" --out "$runs/detect224" --resume $amp \
    --size 224 --scene-size 320 --steps "${DETECT_STEPS_A:-800}" --batch-size "$bs" \
    --lr 2e-3 --warmup-steps 50 --eval-every 200 --val-scenes 200 --train-seed 1001 \
    ${TRAIN_ARGS:-}
  "$py" "$here/train_detect.py" --out "$runs/detect320" --resume $amp \
    --size 320 --init "$runs/detect224/final.pt" --steps "${DETECT_STEPS_B:-250}" \
    --batch-size "$bs" --lr 1e-3 --warmup-steps 20 --eval-every 125 --val-scenes 200 \
    --train-seed 1002 ${TRAIN_ARGS:-}
  "$py" "$here/export.py" "$runs/detect320/final.pt"
  "$py" "$here/evaluate.py" "$root/models/shapes-detect.yaml" --engine "$engine" \
    --json "$runs/detect320/eval.json"
}

segment() {
  "$py" "$here/train_segment.py" --out "$runs/segment" --resume $amp \
    --size 320 --crop 160 --steps "${SEGMENT_STEPS:-1000}" --batch-size "$bs" \
    --lr 2e-3 --warmup-steps 50 --eval-every 250 --val-scenes 100 ${TRAIN_ARGS:-}
  "$py" "$here/export.py" "$runs/segment/final.pt"
  "$py" "$here/evaluate.py" "$root/models/shapes-segment.yaml" --engine "$engine" \
    --json "$runs/segment/eval.json"
}

case "${1:-}" in
  detect) detect ;;
  segment) segment ;;
  all) detect; segment ;;
  *) echo "usage: $0 detect|segment|all" >&2; exit 2 ;;
esac
