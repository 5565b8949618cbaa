#!/bin/sh
# Retrains a default model from nothing, exports it to models/ and scores it
# with PyTorch and the C engine:
#
#   tools/retrain.sh detect      # models/shapes-detect.{yaml,safetensors}
#   tools/retrain.sh segment     # models/shapes-segment.{yaml,safetensors}
#   tools/retrain.sh all
#
# The default schedule is the one that made the shipped models on a 2-core
# CPU (docs/models.md), everything from scratch, in phases (each a warm
# restart from the previous phase's weights on fresh scenes):
#   segmentation 900 steps of 16 random 160x160 crops of 320x320 scenes,
#                then 2000, 800, 1800 and 900 more with a class-weighted
#                cross-entropy (--class-weights 0.5: without it the
#                segmenter labelled every shape "circle");
#   detection    the backbone starting from the first segmentation phase's
#                (dense labels teach a backbone far faster than boxes do),
#                700 + 500 steps of 16 scenes drawn at 320x320 and scaled
#                to 224x224 (objects keep their size relative to the frame,
#                at half the cost), then 600 + 350 + 500 steps at 320x320,
#                the size the model runs at; `detect` trains the first
#                segmentation phase when RUNS/segment/final.pt is missing.
# With a GPU, longer runs do better: e.g. BS=64 SEGMENT_STEPS=8000
# DETECT_STEPS=8000 SEGMENT_OS=8.
#
# Environment: RUNS (default runs/), SEGMENT_STEPS, DETECT_STEPS (first
# phases), SEGMENT2_STEPS .. SEGMENT5_STEPS, DETECT2_STEPS .. DETECT5_STEPS
# (later phases, 0 skips one), SEGMENT_OS (the segmenter's output stride,
# 16 or 8; 16 shipped, 8 for the mIoU target: see
# mobileone_tools.train.segment_ceiling), BS (batch size, default 16), TRAIN_ARGS
# (extra train_detect/train_segment options, e.g. "--workers 0 --threads 1", which the
# shipped runs used), PYTHON (default /usr/bin/python3), ENGINE
# (mobileone-cli for the evaluation, default: $MOBILEONE_CLI or the build/
# folder's). The Python is the package tools/mobileone_tools, run with
# `python3 -m` with tools/ put on PYTHONPATH here.
# Each run resumes from RUNS/*/last.pt when interrupted. The figures land in
# RUNS/*/eval.json beside the exported phase; docs/models.md lists the ones
# of the shipped models.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
export PYTHONPATH="$root/tools${PYTHONPATH:+:$PYTHONPATH}"
py=${PYTHON:-/usr/bin/python3}
train=mobileone_tools.train
runs=${RUNS:-$root/runs}
bs=${BS:-16}
segment_os=${SEGMENT_OS:-16}
engine=${ENGINE:-$("$py" -c 'from mobileone_tools import cli; print(cli.default_path())')}
amp=""
if "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  amp="--amp"
fi

segment_train() {
  "$py" -m $train.train_segment --out "$runs/segment" --resume $amp \
    --size 320 --crop 160 --steps "${SEGMENT_STEPS:-900}" --batch-size "$bs" \
    --output-stride "$segment_os" \
    --lr 2e-3 --warmup-steps 50 --eval-every 300 --val-scenes 100 ${TRAIN_ARGS:-}
}

# A later phase: a warm restart from the previous phase's weights on fresh
# scenes (its own seed), a new schedule. phase MODULE OUT STEPS ARGS...:
# STEPS=0 skips it; $final names the checkpoint the phases end with.
phase() {
  module=$1 out=$2 steps=$3
  shift 3
  if [ "$steps" -gt 0 ]; then
    "$py" -m "$train.$module" --out "$runs/$out" --resume $amp --init "$final" \
      --steps "$steps" --batch-size "$bs" --val-scenes 100 "$@" ${TRAIN_ARGS:-}
    final=$runs/$out/final.pt
  fi
}

segment_phase() {
  out=$1 steps=$2 seed=$3 lr=$4 warmup=$5
  shift 5
  phase train_segment "$out" "$steps" --train-seed "$seed" \
    --output-stride "$segment_os" --class-weights 0.5 --size 320 --crop 160 \
    --lr "$lr" --warmup-steps "$warmup" "$@"
}

segment() {
  segment_train
  final=$runs/segment/final.pt
  # class-weighted cross-entropy from the second phase on (docs/models.md);
  # segment_phase OUT STEPS SEED LR WARMUP [ARGS...]
  segment_phase segment2 "${SEGMENT2_STEPS:-2000}" 2001 2e-3 50 --eval-every 1000
  segment_phase segment3 "${SEGMENT3_STEPS:-800}" 2003 2e-3 50
  segment_phase segment4 "${SEGMENT4_STEPS:-1800}" 2004 1.5e-3 50
  segment_phase segment5 "${SEGMENT5_STEPS:-900}" 2005 1e-3 30
  "$py" -m $train.export "$final" --dtype f16
  "$py" -m $train.evaluate "$root/models/shapes-segment.yaml" --engine "$engine" \
    --json "$(dirname "$final")/eval.json"
}

detect() {
  [ -f "$runs/segment/final.pt" ] || segment_train
  "$py" -m $train.train_detect --out "$runs/detect224" --resume $amp \
    --size 224 --scene-size 320 --backbone "$runs/segment/final.pt" \
    --steps "${DETECT_STEPS:-700}" --batch-size "$bs" --lr 2e-3 --warmup-steps 30 \
    --eval-every 350 --val-scenes 100 --train-seed 1002 ${TRAIN_ARGS:-}
  final=$runs/detect224/final.pt
  phase train_detect detect224b "${DETECT2_STEPS:-500}" --size 224 \
    --scene-size 320 --lr 2e-3 --warmup-steps 30 --train-seed 1004
  # at the size the model runs at: 224 -> 320 had cost half the mAP
  phase train_detect detect320 "${DETECT3_STEPS:-600}" --size 320 \
    --scene-size 320 --lr 1.5e-3 --warmup-steps 30 --train-seed 1005
  phase train_detect detect320b "${DETECT4_STEPS:-350}" --size 320 \
    --scene-size 320 --lr 1e-3 --warmup-steps 20 --train-seed 1006
  phase train_detect detect320c "${DETECT5_STEPS:-500}" --size 320 \
    --scene-size 320 --lr 1e-3 --warmup-steps 20 --train-seed 1007
  "$py" -m $train.export "$final" --size 320 --dtype f16
  "$py" -m $train.evaluate "$root/models/shapes-detect.yaml" --engine "$engine" \
    --json "$(dirname "$final")/eval.json"
}

case "${1:-}" in
  detect) detect ;;
  segment) segment ;;
  all) segment; detect ;;
  *) echo "usage: $0 detect|segment|all" >&2; exit 2 ;;
esac
