#!/usr/bin/env python3
"""quant/qat.py (docs/int8.md, "Quantisation-aware distillation"): what it
writes is a fused S0 the engine loads, in fp32 and, after `mobileone-cli
calibrate`, in int8. With --lr 0 the training changes nothing but the
channel equalisation qat.py folds into the weights, which the float
function does not see: the engine's fp32 logits of the written model on a
calibration photo must match Apple's original (cosine > 0.99999, same
top-5). Only calibration photos are read (never check_int8's held-out
ones). Exit 77 (skipped) without torch, torchvision or ../shared. About
a minute on 2 cores.

usage: PYTHONPATH=tools test_qat.py MOBILEONE_CLI SHARED_DIR
"""
import glob
import os
import subprocess
import sys
import tempfile

from mobileone_tools import cli

try:
    import numpy as np
    import torch  # noqa: F401
    import torchvision  # noqa: F401
except ImportError:
    print("SKIP: no numpy, torch or torchvision")
    sys.exit(77)


def logits(cli_path, model, x, out, precision):
    cli.run(cli_path, ["run", model, "--input", x, "--output-dir", out,
                       "--precision", precision, "--allow-external-paths"], timeout=120)
    return np.load(glob.glob(os.path.join(out, "*.npy"))[0]).ravel().astype(np.float64)


def main():
    cli_path, shared = sys.argv[1], os.path.abspath(sys.argv[2])
    src = os.path.join(shared, "weights-ref", "mobileone-s0-imagenet.yaml")
    if not os.path.exists(src) or not os.path.isdir(os.path.join(shared, "data")):
        print("SKIP: %s or ../shared/data is absent" % src)
        return 77
    from mobileone_tools.quant import qat, simulate_s0
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "s0-qat")
        p = subprocess.run([sys.executable, "-m", "mobileone_tools.quant.qat", "--shared", shared,
                            "--out", out, "--calibrate", "8", "--steps", "1", "--recalibrate", "1",
                            "--batch", "2", "--size", "96", "--lr", "0"],
                           capture_output=True, text=True, timeout=600)
        print(p.stdout + p.stderr)
        if p.returncode != 0:
            print("FAIL: qat.py exited with %d" % p.returncode)
            return 1
        cal = qat.calibration_photos(shared, 8)
        x = os.path.join(tmp, "x.npy")
        np.save(x, simulate_s0.load_picture(cal[0])[None].numpy())
        ref = logits(cli_path, src, x, os.path.join(tmp, "ref"), "fp32")
        got = logits(cli_path, out + ".yaml", x, os.path.join(tmp, "got"), "fp32")
        cos = float(ref @ got / np.linalg.norm(ref) / np.linalg.norm(got))
        print("fp32 logits of the written model vs the original: cosine %.7f" % cos)
        ok = cos > 0.99999 and list(np.argsort(-ref)[:5]) == list(np.argsort(-got)[:5])
        # The written model calibrates and runs in int8.
        imgs = os.path.join(tmp, "cal")
        os.makedirs(imgs)
        for f in cal:
            os.symlink(f, os.path.join(imgs, os.path.basename(f)))
        cli.run(cli_path, ["calibrate", out + ".yaml", "--images", imgs, "--allow-external-paths"],
                timeout=300)
        with open(out + ".yaml", "a") as f:
            f.write("precision: int8\nint8_scales: s0-qat-int8-scales.safetensors\n")
        i8 = logits(cli_path, out + ".yaml", x, os.path.join(tmp, "i8"), "auto")
        cos8 = float(ref @ i8 / np.linalg.norm(ref) / np.linalg.norm(i8))
        print("int8 logits of the written model vs the original fp32: cosine %.4f" % cos8)
        ok = ok and cos8 > 0.97
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
