#!/usr/bin/python3
"""Equal outputs: the raw head outputs of mobileone-cli and of ONNX Runtime
on the same frame, for the model bench_gst_vs_upstream.sh benchmarks.

ONNX Runtime (python3-onnxruntime, Debian 13) runs the exported graph
(mobileone_tools.reference.export_ssd_onnx, --input pixels) on an RGB frame of the
model's size; mobileone-cli runs the description on the same frame,
normalised with the description's mean and std as the graph does. Prints
the largest absolute and relative differences of cls_logits and
bbox_regression.

usage: compare_onnx_outputs.py CLI MODEL.yaml MODEL.onnx WORKDIR [--frame RGB.raw]
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import yaml


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cli")
    ap.add_argument("model")
    ap.add_argument("onnx")
    ap.add_argument("workdir")
    ap.add_argument("--frame", help="raw RGB bytes of the model's size (default: random)")
    a = ap.parse_args()
    with open(a.model) as f:
        desc = yaml.safe_load(f)
    w, h = int(desc["input"]["width"]), int(desc["input"]["height"])
    mean = np.array(desc["input"].get("mean", [0, 0, 0]), dtype=np.float32)
    std = np.array(desc["input"].get("std", [1, 1, 1]), dtype=np.float32)
    if a.frame:
        px = np.fromfile(a.frame, dtype=np.uint8).reshape(1, h, w, 3)
    else:
        px = np.random.default_rng(1).integers(0, 256, (1, h, w, 3), dtype=np.uint8)
    os.makedirs(a.workdir, exist_ok=True)
    # The graph's arithmetic: x * (1 / (255 std)) + (-mean / std), in float32.
    scale = (1.0 / (255.0 * std)).astype(np.float32)
    shift = (-mean / std).astype(np.float32)
    x = px.transpose(0, 3, 1, 2).astype(np.float32) * scale[None, :, None, None] \
        + shift[None, :, None, None]
    xp = os.path.join(a.workdir, "input.npy")
    np.save(xp, x.astype(np.float32))
    subprocess.run([a.cli, "run", a.model, "--input", xp, "--output-dir", a.workdir],
                   check=True, capture_output=True)
    sess = ort.InferenceSession(a.onnx, providers=["CPUExecutionProvider"])
    theirs = dict(zip(["cls_logits", "bbox_regression"], sess.run(None, {"input": px})))
    worst = 0.0
    for name in ("cls_logits", "bbox_regression"):
        ours = np.load(os.path.join(a.workdir, name + ".npy")).reshape(theirs[name].shape)
        d = np.abs(ours - theirs[name])
        rel = d.max() / max(np.abs(theirs[name]).max(), 1e-12)
        worst = max(worst, rel)
        print(f"{name:16} {str(list(ours.shape)):16} max abs diff {d.max():.3e}  "
              f"max |value| {np.abs(theirs[name]).max():.3e}  rel {rel:.3e}")
    return 0 if worst < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
