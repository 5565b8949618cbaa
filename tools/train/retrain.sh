#!/bin/sh
# Retrains a default model from nothing, exports it to models/ and scores it
# with PyTorch and the C engine:
#
#   tools/train/retrain.sh detect      # models/shapes-detect.{yaml,safetensors}
#   tools/train/retrain.sh segment     # models/shapes-segment.{yaml,safetensors}
#   tools/train/retrain.sh all
#
# The default schedule is the one that made the shipped models on a 2-core
# CPU (docs/models.md), everything from scratch:
#   segmentation 900 steps of 16 random 160x160 crops of 320x320 scenes,
#                then a second phase of 2000 steps on fresh scenes with a
#                class-weighted cross-entropy (--class-weights 0.5: without
#                it the segmenter labelled every shape "circle");
#   detection    the backbone starting from the first segmentation phase's
#                (dense labels teach a backbone far faster than boxes do),
#                700 steps of 16 scenes drawn at 320x320 and scaled to
#                224x224 (objects keep their size relative to the frame),
#                then 500 more on fresh scenes, exported to run at 320x320;
#                `detect` trains the first segmentation phase when
#                RUNS/segment/final.pt is missing.
# With a GPU, longer runs do better: e.g. BS=64 SEGMENT_STEPS=8000
# DETECT_STEPS=8000.
#
# Environment: RUNS (default runs/), SEGMENT_STEPS, DETECT_STEPS (first
# phases), SEGMENT2_STEPS, DETECT2_STEPS (second phases, 0 skips), BS (batch
# size, default 16), TRAIN_ARGS (extra train_*.py options, e.g. "--workers 0",
# which the shipped runs used), PYTHON (default /usr/bin/python3),
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

segment_train() {
  "$py" "$here/train_segment.py" --out "$runs/segment" --resume $amp \
    --size 320 --crop 160 --steps "${SEGMENT_STEPS:-900}" --batch-size "$bs" \
    --lr 2e-3 --warmup-steps 50 --eval-every 300 --val-scenes 100 ${TRAIN_ARGS:-}
}

# Second phase (a warm restart on fresh scenes), SEGMENT2_STEPS=0 skips it.
segment2_train() {
  segment_train
  if [ "${SEGMENT2_STEPS:-2000}" -gt 0 ]; then
    "$py" "$here/train_segment.py" --out "$runs/segment2" --resume $amp \
      --init "$runs/segment/final.pt" --train-seed 2001 --class-weights 0.5 \
      --size 320 --crop 160 --steps "${SEGMENT2_STEPS:-2000}" --batch-size "$bs" \
      --lr 2e-3 --warmup-steps 50 --eval-every 1000 --val-scenes 100 ${TRAIN_ARGS:-}
    segment_final=$runs/segment2/final.pt
  else
    segment_final=$runs/segment/final.pt
  fi
}

segment() {
  segment2_train
  "$py" "$here/export.py" "$segment_final" --dtype f16
  "$py" "$here/evaluate.py" "$root/models/shapes-segment.yaml" --engine "$engine" \
    --json "$(dirname "$segment_final")/eval.json"
}

detect() {
  [ -f "$runs/segment/final.pt" ] || segment_train
  "$py" "$here/train_detect.py" --out "$runs/detect224" --resume $amp \
    --size 224 --scene-size 320 --backbone "$runs/segment/final.pt" \
    --steps "${DETECT_STEPS:-700}" --batch-size "$bs" --lr 2e-3 --warmup-steps 30 \
    --eval-every 350 --val-scenes 100 --train-seed 1002 ${TRAIN_ARGS:-}
  detect_final=$runs/detect224/final.pt
  # Second phase (a warm restart on fresh scenes), DETECT2_STEPS=0 skips it.
  if [ "${DETECT2_STEPS:-500}" -gt 0 ]; then
    "$py" "$here/train_detect.py" --out "$runs/detect224b" --resume $amp \
      --size 224 --scene-size 320 --init "$runs/detect224/final.pt" \
      --steps "${DETECT2_STEPS:-500}" --batch-size "$bs" --lr 2e-3 --warmup-steps 30 \
      --eval-every 500 --val-scenes 100 --train-seed 1004 ${TRAIN_ARGS:-}
    detect_final=$runs/detect224b/final.pt
  fi
  "$py" "$here/export.py" "$detect_final" --size 320 --dtype f16
  "$py" "$here/evaluate.py" "$root/models/shapes-detect.yaml" --engine "$engine" \
    --json "$(dirname "$detect_final")/eval.json"
}

case "${1:-}" in
  detect) detect ;;
  segment) segment ;;
  all) segment; detect ;;
  *) echo "usage: $0 detect|segment|all" >&2; exit 2 ;;
esac
