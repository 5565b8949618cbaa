"""Accuracy of the shipped shapes models in int8 against float32, through
the C engine (docs/int8.md): each model (models/shapes-detect.yaml,
models/shapes-segment.yaml) is calibrated by `mobileone-cli calibrate` on
--calibrate synthetic scenes drawn with --calib-seed (not the validation
seed, so calibration and evaluation scenes are disjoint), then scored on the
first --scenes validation scenes exactly as `train.evaluate` scores it
through the engine (`mobileone-cli run`, one scene per call, same normalised
input), once with --precision fp32 and once in int8. Detection: mAP@0.5
(and mAP@[.5:.95]); segmentation: mIoU.

Prints both figures and the gap (fp32 - int8, in points); exits 1 when a
gap exceeds --max-gap, 77 (skip) without torch/PIL/yaml or the models.

  python3 -m mobileone_tools.quant.check_int8_shapes --cli build/cli/mobileone-cli \\
      --workdir /tmp/int8-shapes [--models detect,segment] [--scenes 200] \\
      [--calibrate 64] [--max-gap 1.0] [--scales-dir models]

--scales-dir DIR copies each scales file there as NAME-int8-scales.safetensors
(how the files shipped in models/ were made). --shipped skips calibration and
scores the shipped int8 descriptions (models/NAME-int8.yaml, their scales
files) instead.
"""
import argparse
import json
import os
import shutil
import sys
import time

try:
    import numpy as np
    import yaml
    from PIL import Image
    from mobileone_tools.train import datasets
    from mobileone_tools.train import evaluate
    from mobileone_tools.train import shapes
except ImportError as e:  # torch, numpy, PIL or PyYAML missing
    print(f"SKIP: {e}")
    sys.exit(77)

from mobileone_tools import ROOT
from mobileone_tools import cli as mo_cli

# Scenes of the calibration set: i-th scene drawn from [CALIB_SEED, i]; the
# validation scenes come from [VAL_SEED, i], the training ones from
# [TRAIN_SEED, i] (shapes.py).
CALIB_SEED = 1919


def int8_description(model_yaml, workdir, scales_name):
    """A copy of @model_yaml in @workdir that names the original weights and
    labels by absolute path and asks for int8 with @scales_name (a file
    beside the copy)."""
    with open(model_yaml, "r", encoding="utf-8") as f:
        desc = yaml.safe_load(f)
    base = os.path.dirname(os.path.abspath(model_yaml))
    desc["weights"] = os.path.join(base, desc["weights"])
    if desc.get("labels"):
        desc["labels"] = os.path.join(base, desc["labels"])
    desc["precision"] = "int8"
    desc["int8_scales"] = scales_name
    path = os.path.join(workdir, os.path.basename(model_yaml))
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(desc, f, sort_keys=False)
    return path


def write_calibration_scenes(folder, count, size, seed):
    """The first @count scenes of @seed as PNGs (the model's input size, so
    calibrate's stretch to the input is the identity)."""
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        os.unlink(os.path.join(folder, f))
    scenes = shapes.ShapesScenes("train", count, size, size, seed=seed)
    for i in range(count):
        Image.fromarray(scenes[i]["image"]).save(os.path.join(folder, f"calib-{i:04d}.png"))


def calibrate(args, model_yaml, name, size):
    """`mobileone-cli calibrate` on --calibrate scenes of --calib-seed; the
    int8 copy of @model_yaml in the workdir that uses the scales."""
    wdir = os.path.join(args.workdir, name)
    os.makedirs(wdir, exist_ok=True)
    scales_name = name + "-int8-scales.safetensors"
    model = int8_description(model_yaml, wdir, scales_name)
    t = time.time()
    cal_dir = os.path.join(args.workdir, f"calibration-{size}-{args.calib_seed}")
    write_calibration_scenes(cal_dir, args.calibrate, size, args.calib_seed)
    cal_args = ["calibrate", model, "--images", cal_dir, "--allow-external-paths",
                "--threads", str(args.threads)]
    if args.statistic:
        cal_args += ["--statistic", args.statistic]
    if args.no_bias_correction:
        cal_args += ["--no-bias-correction"]
    p = mo_cli.run(args.cli, cal_args, timeout=600)
    print(f"{name}: {p.stdout.strip().splitlines()[0]} ({time.time() - t:.1f} s)")
    if args.scales_dir:
        os.makedirs(args.scales_dir, exist_ok=True)
        shutil.copyfile(os.path.join(wdir, scales_name),
                        os.path.join(args.scales_dir, scales_name))
        print(f"{name}: copied to {os.path.join(args.scales_dir, scales_name)}")
    return model


def check_model(args, model_yaml):
    name = os.path.splitext(os.path.basename(model_yaml))[0]
    kind, cfg, nc, _ = evaluate.load_description(model_yaml)
    size = cfg["size"]
    if args.shipped:
        model = os.path.join(os.path.dirname(model_yaml), name + "-int8.yaml")
        if not os.path.exists(model):
            raise SystemExit(f"{model}: no shipped int8 description")
        print(f"{name}: the shipped {model}")
    else:
        if args.calib_seed == shapes.VAL_SEED:
            raise SystemExit(f"--calib-seed {args.calib_seed} is the validation seed")
        model = calibrate(args, model_yaml, name, size)

    if kind == "detect":
        ds = datasets.ShapesDetection("val", args.scenes, size)
    else:
        ds = datasets.ShapesSegmentation("val", args.scenes, size)
    res = {"model": model, "kind": kind, "scenes": args.scenes,
           "calibration_scenes": None if args.shipped else args.calibrate,
           "calib_seed": None if args.shipped else args.calib_seed}
    for precision, label in (("fp32", "fp32"), ("auto", "int8")):
        t = time.time()
        m, _ = evaluate.eval_engine(args.cli, model, kind, ds, args.scenes,
                                    args.threads, precision)
        if kind == "detect":
            res[label] = {"map50": m["map50"], "map": m["map"],
                          "per_class_ap50": {str(k): v for k, v in
                                             m["per_class_ap50"].items()}}
            print(f"{name}: {label}: mAP@0.5 {100 * m['map50']:.2f}  mAP@[.5:.95] "
                  f"{100 * m['map']:.2f}  ({args.scenes} scenes, {time.time() - t:.1f} s)")
        else:
            res[label] = {"miou": m["miou"], "pixel_accuracy": m["pixel_accuracy"],
                          "per_class_iou": list(m["per_class_iou"])}
            print(f"{name}: {label}: mIoU {100 * m['miou']:.2f}  pixel accuracy "
                  f"{100 * m['pixel_accuracy']:.2f}  ({args.scenes} scenes, "
                  f"{time.time() - t:.1f} s)")
    key = "map50" if kind == "detect" else "miou"
    gap = 100 * (res["fp32"][key] - res["int8"][key])
    res["gap_points"] = gap
    res["key"] = key
    print(f"{name}: fp32 - int8: {gap:+.2f} points of {'mAP@0.5' if key == 'map50' else 'mIoU'}")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", default=mo_cli.default_path())
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--models-dir", default=os.path.join(ROOT, "models"))
    ap.add_argument("--models", default="detect,segment",
                    help="which of shapes-detect / shapes-segment (comma-separated)")
    ap.add_argument("--scenes", type=int, default=200, help="validation scenes scored")
    ap.add_argument("--calibrate", type=int, default=64, help="calibration scenes")
    ap.add_argument("--calib-seed", type=int, default=CALIB_SEED)
    ap.add_argument("--threads", type=int, default=1, help="engine threads")
    ap.add_argument("--statistic", default=None, help="calibrate's --statistic")
    ap.add_argument("--no-bias-correction", action="store_true")
    ap.add_argument("--max-gap", type=float, default=None,
                    help="exit 1 when fp32 - int8 exceeds this many points")
    ap.add_argument("--scales-dir", default=None,
                    help="copy each scales file here (NAME-int8-scales.safetensors)")
    ap.add_argument("--shipped", action="store_true",
                    help="score models/NAME-int8.yaml as shipped (no calibration)")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()

    paths = []
    for m in args.models.split(","):
        p = os.path.join(args.models_dir, f"shapes-{m.strip()}.yaml")
        if not os.path.exists(p):
            print(f"SKIP: {p} does not exist")
            return 77
        paths.append(p)
    mo_cli.check_executable(args.cli)
    os.makedirs(args.workdir, exist_ok=True)
    results = [check_model(args, p) for p in paths]
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    ok = True
    if args.max_gap is not None:
        for r in results:
            if r["gap_points"] > args.max_gap:
                print(f"FAIL: {r['model']}: int8 is {r['gap_points']:.2f} points below "
                      f"fp32 (> {args.max_gap})")
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
