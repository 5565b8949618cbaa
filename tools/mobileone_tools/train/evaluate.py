"""Scores a detection or segmentation model on the synthetic validation set
(or a COCO / VOC data set), with PyTorch and through the C engine, and prints
both figures and their difference.

  python3 -m mobileone_tools.train.evaluate models/shapes-detect.yaml   # mAP@0.5, mAP@[.5:.95]
  python3 -m mobileone_tools.train.evaluate models/shapes-segment.yaml  # mIoU
  python3 -m mobileone_tools.train.evaluate MODEL.yaml --scenes 200 --no-engine   # PyTorch only
  python3 -m mobileone_tools.train.evaluate --checkpoint runs/detect/final.pt     # a checkpoint

The model is a description (YAML + safetensors, as export.py writes it): the
same file is loaded into the PyTorch modules of models.py here and run
by `mobileone-cli run MODEL.yaml --input X.npy --output-dir D`, one image per
call, on the very same normalised input (X.npy); the engine's own decoding
(detections.json) and argmax (mask.npy) are scored. For detection the
engine's YAML is copied with score_threshold/max_detections set to the
evaluation's values (a low threshold, as mAP needs).
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch
import yaml

from mobileone_tools import cli
from mobileone_tools.reference import ssdlite_ref
from mobileone_tools.reference import st_io
from mobileone_tools.train import datasets
from mobileone_tools.train import metrics
from mobileone_tools.train import models

EVAL_SCORE_THRESHOLD = 0.001
EVAL_MAX_DETECTIONS = 100


# --------------------------------------------------------------------------
# Models from a description or a checkpoint
# --------------------------------------------------------------------------

def load_description(path):
    """(kind, cfg, num_classes, model) for an exported YAML: the PyTorch model
    with the file's weights (F16 tensors widened to F32)."""
    with open(path, "r", encoding="utf-8") as f:
        desc = yaml.safe_load(f)
    head = desc["head"]
    bb = desc["backbone"]
    if bb.get("fused"):
        raise SystemExit(f"{path}: evaluate.py needs the unfused (training-form) weights")
    if bb.get("variant") is None:
        raise SystemExit(f"{path}: evaluate.py needs backbone.variant")
    size = int(desc["input"]["width"])
    if head["type"] == "ssdlite":
        kind = "detect"
        keys = ("extra_channels", "aspect_ratios", "min_ratio", "max_ratio",
                "box_coder_weights", "nms_iou_threshold", "topk_candidates")
        cfg = dict(models.DETECT_DEFAULTS, variant=bb["variant"], size=size,
                   **{k: head[k] for k in keys if k in head})
        cfg["score_threshold"] = EVAL_SCORE_THRESHOLD
        cfg["max_detections"] = EVAL_MAX_DETECTIONS
        model = models.build_detector(head["num_classes"], cfg)
    elif head["type"] == "deeplabv3":
        kind = "segment"
        keys = ("output_stride", "aspp_channels", "aspp_rates", "aspp_separable")
        cfg = dict(models.SEGMENT_DEFAULTS, variant=bb["variant"], size=size,
                   **{k: head[k] for k in keys if k in head})
        model = models.build_segmenter(head["num_classes"], cfg)
    else:
        raise SystemExit(f"{path}: head.type {head['type']!r}: not a detection or "
                         "segmentation head")
    wpath = os.path.join(os.path.dirname(path), desc["weights"])
    sd, _ = st_io.load_file(wpath, to_float32=True)
    prefix = bb.get("prefix", "")
    if prefix != "backbone.":
        raise SystemExit(f"{path}: expected backbone.prefix 'backbone.'")
    own = model.state_dict()
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")]
    extra = [k for k in sd if k not in own]
    if missing or extra:
        raise SystemExit(f"{wpath}: tensors do not match the model: missing "
                         f"{missing[:5]}, unexpected {extra[:5]}")
    model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)
    return kind, cfg, head["num_classes"], model.eval()


def load_checkpoint(path):
    ck = torch.load(path, map_location="cpu")
    cfg, kind, nc = ck["cfg"], ck["kind"], ck["num_classes"]
    model = models.build_detector(nc, cfg) if kind == "detect" else \
        models.build_segmenter(nc, cfg)
    model.load_state_dict(ck["model"])
    return kind, cfg, nc, model.eval()


# --------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------

@torch.no_grad()
def torch_detections(model, images, anchors, cfg):
    """Post-processed detections of a batch: list of numpy (boxes, scores, labels)."""
    cls, reg = model(images)
    n = images.shape[0]
    dets = ssdlite_ref.postprocess(
        cls.float(), reg.float(), [anchors] * n, [tuple(images.shape[-2:])] * n,
        cfg["score_threshold"], cfg["nms_iou_threshold"], cfg["topk_candidates"],
        cfg["max_detections"], cfg["box_coder_weights"])
    return [(d["boxes"].cpu().numpy(), d["scores"].cpu().numpy(),
             d["labels"].cpu().numpy()) for d in dets]


def eval_detect_torch(model, dataset, cfg, device, batch_size=16, limit=None):
    n = len(dataset) if limit is None else min(limit, len(dataset))
    anchors = ssdlite_ref.default_boxes((cfg["size"], cfg["size"]), cfg["aspect_ratios"],
                                        cfg["min_ratio"], cfg["max_ratio"]).to(device)
    preds, gts = [], []
    model.eval()
    for start in range(0, n, batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, n))]
        images = torch.stack([it[0] for it in items]).to(device)
        preds += torch_detections(model, images, anchors, cfg)
        gts += [(it[1]["boxes"].numpy(), it[1]["labels"].numpy()) for it in items]
    return metrics.detection_map(preds, gts, dataset.num_classes), preds


@torch.no_grad()
def eval_segment_torch(model, dataset, device, batch_size=8, limit=None):
    n = len(dataset) if limit is None else min(limit, len(dataset))
    cm = metrics.ConfusionMatrix(dataset.num_classes)
    masks = []
    model.eval()
    for start in range(0, n, batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, n))]
        images = torch.stack([it[0] for it in items]).to(device)
        pred = model(images).argmax(1).cpu().numpy()
        for it, p in zip(items, pred):
            cm.update(it[1].numpy(), p)
            masks.append(p.astype(np.uint8))
    return {"miou": cm.miou(), "pixel_accuracy": cm.pixel_accuracy(),
            "per_class_iou": cm.iou().tolist()}, masks


def summary_detect(m):
    return {"map50": m["map50"], "map": m["map"]}


# --------------------------------------------------------------------------
# C engine
# --------------------------------------------------------------------------

def parse_detections_json(path):
    """detections.json of mobileone-cli -> (boxes [K, 4], scores, labels).
    Accepts a list or {"detections": [...]}, each entry with a box as
    "box"/"bbox" [x_min, y_min, x_max, y_max] or x_min..y_max keys, a
    "label_id"/"label"/"class_id" integer and a "score"/"confidence"."""
    with open(path, "r", encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict):
        data = data.get("detections", [])
    boxes, scores, labels = [], [], []
    for d in data:
        if "box" in d or "bbox" in d:
            b = [float(v) for v in d.get("box", d.get("bbox"))]
        else:
            b = [float(d[k]) for k in ("x_min", "y_min", "x_max", "y_max")]
        lab = next(d[k] for k in ("label_id", "class_id", "label") if
                   k in d and isinstance(d[k], int))
        s = float(d["score"] if "score" in d else d["confidence"])
        boxes.append(b)
        scores.append(s)
        labels.append(lab)
    return (np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32),
            np.array(labels, np.int64))


def engine_yaml(model_yaml, tmp, kind):
    """A copy of the description beside the original weights, with the
    evaluation's detection thresholds."""
    with open(model_yaml, "r", encoding="utf-8") as f:
        desc = yaml.safe_load(f)
    base = os.path.dirname(os.path.abspath(model_yaml))
    desc["weights"] = os.path.join(base, desc["weights"])
    for key in ("labels", "int8_scales"):
        if desc.get(key):
            desc[key] = os.path.join(base, desc[key])
    if kind == "detect":
        desc["head"]["score_threshold"] = EVAL_SCORE_THRESHOLD
        desc["head"]["max_detections"] = EVAL_MAX_DETECTIONS
    path = os.path.join(tmp, "eval.yaml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(desc, f, sort_keys=False)
    return path


def run_engine(path, yaml_path, image_u8, tmp, threads, precision=None):
    x = datasets.to_nchw_numpy(image_u8)
    inp = os.path.join(tmp, "x.npy")
    np.save(inp, x)
    out = os.path.join(tmp, "out")
    # the copy names the original weights by absolute path
    args = ["run", yaml_path, "--input", inp, "--output-dir", out,
            "--allow-external-paths"]
    if threads:
        args += ["--threads", str(threads)]
    if precision:
        args += ["--precision", precision]
    cli.run(path, args, timeout=300)
    return out


def eval_engine(path, model_yaml, kind, dataset, limit, threads=0, precision=None):
    """The engine's figures on the first @limit items of @dataset; @precision
    is mobileone-cli's --precision (None: the description's)."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    with tempfile.TemporaryDirectory() as tmp:
        y = engine_yaml(model_yaml, tmp, kind)
        if kind == "detect":
            preds, gts = [], []
            for i in range(n):
                s = dataset.raw(i)
                out = run_engine(path, y, s["image"], tmp, threads, precision)
                preds.append(parse_detections_json(os.path.join(out, "detections.json")))
                gts.append((s["boxes"], s["labels"]))
            return metrics.detection_map(preds, gts, dataset.num_classes), preds
        cm = metrics.ConfusionMatrix(dataset.num_classes)
        masks = []
        for i in range(n):
            s = dataset.raw(i)
            out = run_engine(path, y, s["image"], tmp, threads, precision)
            m = np.load(os.path.join(out, "mask.npy"))[0]
            cm.update(s["classes"], m)
            masks.append(m)
        return {"miou": cm.miou(), "pixel_accuracy": cm.pixel_accuracy(),
                "per_class_iou": cm.iou().tolist()}, masks


# --------------------------------------------------------------------------

def make_dataset(kind, args, size):
    if kind == "detect":
        if args.coco:
            return datasets.CocoDetection(args.coco[0], args.coco[1], size)
        return datasets.ShapesDetection("val", args.scenes, size, seed=args.val_seed)
    if args.voc:
        return datasets.VocSegmentation(args.voc, "val", size)
    return datasets.ShapesSegmentation("val", args.scenes, size, seed=args.val_seed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", help="MODEL.yaml (as export.py writes it)")
    ap.add_argument("--checkpoint", help="a training checkpoint instead (PyTorch only)")
    ap.add_argument("--scenes", type=int, default=500, help="synthetic validation scenes")
    ap.add_argument("--val-seed", type=int, default=None, help="overrides the val seed")
    ap.add_argument("--coco", nargs=2, metavar=("ANNOTATIONS.json", "IMAGE_DIR"))
    ap.add_argument("--voc", metavar="ROOT", help="VOC-style root, split 'val'")
    ap.add_argument("--size", type=int, default=None,
                    help="evaluate at this square size instead of the model's")
    ap.add_argument("--limit", type=int, default=None, help="score only the first N images")
    ap.add_argument("--engine", default=cli.default_path(),
                    help="path of mobileone-cli (default: $MOBILEONE_CLI or the build/ folder's)")
    ap.add_argument("--no-engine", action="store_true")
    ap.add_argument("--engine-threads", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", help="write the figures here too")
    ap.add_argument("--min-score", type=float, default=None,
                    help="exit 1 unless the engine's (else PyTorch's) mAP@0.5 or mIoU "
                         "reaches this (0..1)")
    ap.add_argument("--max-difference", type=float, default=None,
                    help="exit 1 when engine and PyTorch differ by more points than this")
    ap.add_argument("--skip-missing", action="store_true",
                    help="exit 77 (skipped) when MODEL.yaml does not exist")
    args = ap.parse_args()
    if args.skip_missing and args.model and not os.path.exists(args.model):
        print(f"SKIP: {args.model} does not exist")
        sys.exit(77)
    if args.threads:
        torch.set_num_threads(args.threads)
    if (args.model is None) == (args.checkpoint is None):
        ap.error("give MODEL.yaml or --checkpoint")
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))

    if args.model:
        kind, cfg, nc, model = load_description(args.model)
    else:
        kind, cfg, nc, model = load_checkpoint(args.checkpoint)
        cfg = dict(cfg, score_threshold=EVAL_SCORE_THRESHOLD,
                   max_detections=EVAL_MAX_DETECTIONS)
    if args.size:
        cfg = dict(cfg, size=args.size)
    model.to(device)
    ds = make_dataset(kind, args, cfg["size"])
    if ds.num_classes != nc:
        raise SystemExit(f"the model has {nc} classes, the data set {ds.num_classes}")
    result = {"kind": kind, "images": len(ds) if args.limit is None else
              min(args.limit, len(ds))}

    t = time.time()
    if kind == "detect":
        m, _ = eval_detect_torch(model, ds, cfg, device, limit=args.limit)
        result["torch"] = summary_detect(m)
        result["torch_per_class_ap50"] = m["per_class_ap50"]
        print(f"PyTorch: mAP@0.5 {100 * m['map50']:.2f}  mAP@[.5:.95] {100 * m['map']:.2f}"
              f"  ({result['images']} images, {time.time() - t:.1f} s)")
    else:
        m, _ = eval_segment_torch(model, ds, device, limit=args.limit)
        result["torch"] = {"miou": m["miou"], "pixel_accuracy": m["pixel_accuracy"]}
        result["torch_per_class_iou"] = m["per_class_iou"]
        print(f"PyTorch: mIoU {100 * m['miou']:.2f}  pixel accuracy "
              f"{100 * m['pixel_accuracy']:.2f}  ({result['images']} images, "
              f"{time.time() - t:.1f} s)")

    if args.model and not args.no_engine:
        cli.check_executable(args.engine)
        t = time.time()
        e, _ = eval_engine(args.engine, args.model, kind, ds, args.limit,
                           args.engine_threads)
        if kind == "detect":
            result["engine"] = summary_detect(e)
            d50 = 100 * (e["map50"] - result["torch"]["map50"])
            d = 100 * (e["map"] - result["torch"]["map"])
            print(f"engine:  mAP@0.5 {100 * e['map50']:.2f}  mAP@[.5:.95] "
                  f"{100 * e['map']:.2f}  ({time.time() - t:.1f} s)")
            print(f"engine - PyTorch: mAP@0.5 {d50:+.2f} points, mAP@[.5:.95] {d:+.2f} points")
            result["difference_points"] = {"map50": d50, "map": d}
        else:
            result["engine"] = {"miou": e["miou"], "pixel_accuracy": e["pixel_accuracy"]}
            d = 100 * (e["miou"] - result["torch"]["miou"])
            print(f"engine:  mIoU {100 * e['miou']:.2f}  pixel accuracy "
                  f"{100 * e['pixel_accuracy']:.2f}  ({time.time() - t:.1f} s)")
            print(f"engine - PyTorch: mIoU {d:+.2f} points")
            result["difference_points"] = {"miou": d}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    key = "map50" if kind == "detect" else "miou"
    ok = True
    if args.min_score is not None:
        score = result.get("engine", result["torch"])[key]
        if score < args.min_score:
            print(f"FAIL: {key} {score:.4f} < {args.min_score}")
            ok = False
    if args.max_difference is not None and "difference_points" in result:
        d = abs(result["difference_points"][key])
        if d > args.max_difference:
            print(f"FAIL: engine and PyTorch differ by {d:.2f} points "
                  f"(> {args.max_difference})")
            ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
