"""Exports a training checkpoint as the engine's model description:
safetensors (UNFUSED: the engine folds BatchNorm and the branches at load),
YAML and labels.

  python3 -m mobileone_tools.train.export runs/detect/final.pt    # models/shapes-detect.*
  python3 -m mobileone_tools.train.export runs/segment/final.pt   # models/shapes-segment.*
  python3 -m mobileone_tools.train.export CKPT --name my-model --out-dir DIR \\
      --labels my-labels.txt

Tensor names are the PyTorch modules' state_dict names (backbone under
"backbone.", docs/model-format.md); num_batches_tracked is left out. Conv and
linear weights are stored as F16 when that keeps the accuracy: the model with
F16-rounded weights is scored against the F32 one on --check-scenes
validation scenes and, if it loses more than --max-drop points (mAP@0.5 or
mIoU), everything is stored as F32 instead. BatchNorm statistics and biases
(a few KB) always stay F32.
"""

import argparse
import os
import shutil

import numpy as np
import torch

from mobileone_tools import ROOT
from mobileone_tools.reference import st_io
from mobileone_tools.train import datasets
from mobileone_tools.train import evaluate
from mobileone_tools.train import shapes

LABELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shapes-labels.txt")


def _fmt_list(v):
    return "[" + ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v) + "]"


def yaml_text(kind, cfg, num_classes, name, weights, labels, display_threshold):
    bb = (f"backbone:\n  variant: {cfg['variant']}\n  fused: false\n"
          f"  prefix: \"backbone.\"\n")
    inp = (f"input: {{width: {cfg['size']}, height: {cfg['size']}, "
           f"mean: {_fmt_list(datasets.MEAN)}, std: {_fmt_list(datasets.STD)}}}\n")
    if kind == "detect":
        head = (
            "head:\n  type: ssdlite\n"
            f"  num_classes: {num_classes}\n"
            f"  extra_channels: {_fmt_list(cfg['extra_channels'])}\n"
            f"  anchors_per_location: {cfg['anchors_per_location']}\n"
            f"  aspect_ratios: {_fmt_list(cfg['aspect_ratios'])}\n"
            f"  min_ratio: {cfg['min_ratio']:g}\n  max_ratio: {cfg['max_ratio']:g}\n"
            f"  box_coder_weights: {_fmt_list([float(w) for w in cfg['box_coder_weights']])}\n"
            f"  score_threshold: {display_threshold:g}\n"
            f"  nms_iou_threshold: {cfg['nms_iou_threshold']:g}\n"
            f"  topk_candidates: {cfg['topk_candidates']}\n"
            f"  max_detections: {cfg['max_detections']}\n")
    else:
        head = (
            "head:\n  type: deeplabv3\n"
            f"  num_classes: {num_classes}\n"
            f"  output_stride: {cfg['output_stride']}\n"
            f"  aspp_channels: {cfg['aspp_channels']}\n"
            f"  aspp_rates: {_fmt_list(cfg['aspp_rates'])}\n"
            f"  aspp_separable: {'true' if cfg['aspp_separable'] else 'false'}\n")
    return (f"# Written by mobileone_tools.train.export; see docs/models.md.\n"
            f"name: {name}\n{bb}{inp}{head}"
            f"labels: {labels}\nweights: {weights}\n")


def state_arrays(model):
    return {k: v.detach().cpu().float().numpy() for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def is_weight(name, arr):
    return name.endswith("weight") and arr.ndim >= 2


def rounded_model(model, sd):
    """A copy of @model whose conv/linear weights are rounded to F16."""
    import copy
    m = copy.deepcopy(model)
    m.load_state_dict({k: torch.from_numpy(st_io.round_to(v, "F16").astype(np.float32)
                                           if is_weight(k, v) else v)
                       for k, v in sd.items()}, strict=False)
    return m.eval()


def score(kind, model, cfg, dataset, device):
    if kind == "detect":
        c = dict(cfg, score_threshold=evaluate.EVAL_SCORE_THRESHOLD,
                 max_detections=evaluate.EVAL_MAX_DETECTIONS)
        return evaluate.eval_detect_torch(model, dataset, c, device)[0]["map50"]
    return evaluate.eval_segment_torch(model, dataset, device)[0]["miou"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "models"))
    ap.add_argument("--name", default=None, help="default shapes-detect / shapes-segment")
    ap.add_argument("--labels", default=LABELS, help="labels file to copy beside the YAML")
    ap.add_argument("--dtype", choices=("auto", "f16", "f32"), default="auto")
    ap.add_argument("--check-scenes", type=int, default=200)
    ap.add_argument("--max-drop", type=float, default=0.2, help="points")
    ap.add_argument("--score-threshold", type=float, default=0.5,
                    help="the YAML's detection threshold (what the elements show)")
    ap.add_argument("--size", type=int, default=None,
                    help="the YAML's input size (default: the training size); the "
                         "networks are fully convolutional and SSD's anchors are "
                         "relative to the frame, so a detector trained on scaled-down "
                         "scenes runs at the size its scenes were drawn at")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))

    kind, cfg, nc, model = evaluate.load_checkpoint(args.checkpoint)
    if args.size:
        cfg = dict(cfg, size=args.size)
    ck = torch.load(args.checkpoint, map_location="cpu")
    class_names = ck.get("class_names")
    name = args.name or ("shapes-detect" if kind == "detect" else "shapes-segment")
    os.makedirs(args.out_dir, exist_ok=True)
    labels_name = os.path.basename(args.labels)
    if class_names and args.labels == LABELS and list(class_names) != list(shapes.CLASSES):
        # A real data set: write its own class names.
        labels_name = name + "-labels.txt"
        with open(os.path.join(args.out_dir, labels_name), "w", encoding="utf-8") as f:
            f.write("\n".join(class_names) + "\n")
    else:
        with open(args.labels, encoding="utf-8") as f:
            n_lines = len([ln for ln in f.read().splitlines()])
        if n_lines != nc:
            raise SystemExit(f"{args.labels}: {n_lines} labels for {nc} classes")
        dst = os.path.join(args.out_dir, labels_name)
        if os.path.abspath(dst) != os.path.abspath(args.labels):
            shutil.copyfile(args.labels, dst)

    sd = state_arrays(model)
    dtype = args.dtype
    note = ""
    if dtype == "auto":
        if class_names and list(class_names) == list(shapes.CLASSES) and args.check_scenes:
            ds = (datasets.ShapesDetection if kind == "detect" else
                  datasets.ShapesSegmentation)("val", args.check_scenes, cfg["size"])
            model.to(device)
            s32 = score(kind, model, cfg, ds, device)
            s16 = score(kind, rounded_model(model, sd).to(device), cfg, ds, device)
            drop = 100 * (s32 - s16)
            dtype = "f16" if drop <= args.max_drop else "f32"
            note = (f"F32 {100 * s32:.2f}, F16 {100 * s16:.2f} "
                    f"({'mAP@0.5' if kind == 'detect' else 'mIoU'}, {args.check_scenes} "
                    f"val scenes): {dtype.upper()}")
            print(note)
        else:
            dtype = "f16"
    tensors = {}
    for k, v in sd.items():
        tensors[k] = ("F16", v) if dtype == "f16" and is_weight(k, v) else ("F32", v)
    wname = name + ".safetensors"
    meta = {"kind": kind, "steps": str(ck.get("step")), "trained_with": "mobileone_tools.train",
            "classes": ",".join(class_names or [])}
    st_io.save_file(tensors, os.path.join(args.out_dir, wname), metadata=meta)
    ypath = os.path.join(args.out_dir, name + ".yaml")
    with open(ypath, "w", encoding="utf-8") as f:
        f.write(yaml_text(kind, cfg, nc, name, wname, labels_name, args.score_threshold))
    size = os.path.getsize(os.path.join(args.out_dir, wname))
    print(f"wrote {ypath}, {wname} ({size / 1e6:.1f} MB, {dtype.upper()} weights), "
          f"{labels_name}")


if __name__ == "__main__":
    main()
