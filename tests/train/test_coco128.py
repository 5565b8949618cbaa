#!/usr/bin/env python3
"""The real-data path end to end on ../shared: fine-tune MobileOne-S0 +
SSDLite from Apple's ImageNet S0 (the fused checkpoint in
../shared/weights-ref, expanded to the training form by
models.expand_fused) on real COCO photos in YOLO-seg format
(../shared/data/coco128-seg, read by datasets.YoloDetection) for a few
steps, check the training loss falls, export the model (export.py), run it
through the C engine (mobileone-cli run) and through the mobileonedetect
element (gst-launch-1.0 filesrc ! jpegdec ! videoconvert ! mobileonedetect
! fakesink) on one of the photos.

Also checks that the expanded backbone, in eval mode, computes exactly what
the fused network computes (float32, 1e-4 relative).

A few steps on 4 images at 128x128 (over-fitting them: the loss must fall
from the first logged steps to the last), exported at 320x320. Exit 77 (skipped) without torch,
../shared, mobileone-cli or gst-launch-1.0.

  PYTHONPATH=tools python3 tests/train/test_coco128.py MOBILEONE_CLI GST_PLUGIN_DIR [SHARED_DIR]
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

from mobileone_tools.reference import mobileone_ref
from mobileone_tools.reference import st_io
from mobileone_tools.train import datasets
from mobileone_tools.train import models

HERE = os.path.dirname(os.path.abspath(__file__))
# ../shared beside the repository (meson passes its own idea of it).
SHARED = os.path.normpath(sys.argv[3] if len(sys.argv) > 3 else
                          os.path.join(HERE, "..", "..", "..", "shared"))
DATA = os.path.join(SHARED, "data", "coco128-seg")
WEIGHTS = os.path.join(SHARED, "weights-ref", "mobileone-s0-imagenet-fused.safetensors")


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(77)


def check_expansion():
    """Eval mode: the expanded training-form backbone = the fused network."""
    arrays, _ = st_io.load_file(WEIGHTS, to_float32=True)
    fused_sd = {k: torch.from_numpy(v) for k, v in arrays.items()}
    w, k, se = mobileone_ref.VARIANTS["s0"]
    fused = mobileone_ref.MobileOne(w, k, se, inference_mode=True)
    fused.load_state_dict(fused_sd)
    det = models.build_detector(81, dict(models.DETECT_DEFAULTS, size=128))
    det.backbone.load_state_dict(models.expand_fused(det.backbone, fused_sd, WEIGHTS))
    fused.eval()
    det.eval()
    x = torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = x, x
        for name in ("stage0", "stage1", "stage2", "stage3", "stage4"):
            a = getattr(fused, name)(a)
            b = getattr(det.backbone, name)(b)
            err = float((a - b).abs().max() / a.abs().max())
            if not err < 1e-4:
                raise AssertionError(f"expanded backbone {name}: relative difference {err:.3g}")
    print(f"expanded fused S0 = fused S0 in eval mode (stage4 relative difference {err:.2e})")


def run(cmd, env=None, timeout=300):
    print("+ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, env=env, timeout=timeout, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    print(p.stdout[-3000:])
    if p.returncode != 0:
        raise AssertionError(f"{cmd[0]} {cmd[1] if len(cmd) > 1 else ''}: exit {p.returncode}")
    return p.stdout


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__.strip().splitlines()[-1])
    cli, plugin_dir = sys.argv[1], sys.argv[2]
    if not (os.path.isdir(DATA) and os.path.exists(WEIGHTS)):
        skip(f"{DATA} or {WEIGHTS} absent")
    if not os.access(cli, os.X_OK):
        skip(f"{cli} not built")
    gst_launch = shutil.which("gst-launch-1.0")
    if gst_launch is None:
        skip("gst-launch-1.0 not installed")

    ds = datasets.YoloDetection(DATA, "train2017", 128)
    assert len(ds) == 128, f"{len(ds)} images"
    assert ds.num_classes == 81 and ds.class_names[1] == "person", ds.class_names[:3]
    n_obj = sum(len(it[2]) for it in ds.items)
    assert n_obj == 929, f"{n_obj} objects (MANIFEST.txt: 929)"
    check_expansion()

    py = sys.executable
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        log = run([py, "-m", "mobileone_tools.train.train_detect", "--out", out,
                   "--yolo", DATA, "--backbone", WEIGHTS, "--size", "128",
                   "--batch-size", "4", "--max-images", "4", "--steps", "8",
                   "--lr", "2e-3", "--warmup-steps", "1", "--workers", "0",
                   "--threads", "2", "--log-every", "2", "--seed", "1"], env=env)
        losses = [float(m.group(1)) + float(m.group(2)) for m in
                  re.finditer(r"bbox ([0-9.]+) cls ([0-9.]+)", log)]
        assert len(losses) == 4, f"{len(losses)} logged losses"
        assert losses[-1] < 0.85 * losses[0], f"the loss did not fall: {losses}"
        print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")

        mdir = os.path.join(tmp, "models")
        run([py, "-m", "mobileone_tools.train.export", os.path.join(out, "final.pt"),
             "--out-dir", mdir, "--name", "coco128-detect", "--size", "320",
             "--score-threshold", "0.01"], env=env)
        yaml_path = os.path.join(mdir, "coco128-detect.yaml")
        with open(os.path.join(mdir, "coco128-detect-labels.txt"), encoding="utf-8") as f:
            labels = f.read().splitlines()
        assert len(labels) == 81 and labels[0] == "background", labels[:3]

        image_path = ds.items[0][0]
        # Exported at 320x320 (SSDLite's six maps need >= 257 px in the
        # engine; the net is fully convolutional, its anchors relative).
        x = datasets.to_nchw_numpy(datasets.YoloDetection(DATA, "train2017", 320).raw(0)["image"])
        np.save(os.path.join(tmp, "x.npy"), x)
        run([cli, "run", yaml_path, "--input", os.path.join(tmp, "x.npy"),
             "--output-dir", os.path.join(tmp, "engine")])
        assert os.path.exists(os.path.join(tmp, "engine", "detections.json"))

        genv = dict(env, GST_PLUGIN_PATH=plugin_dir,
                    GST_REGISTRY_1_0=os.path.join(tmp, "registry.bin"))
        run([gst_launch, "-q", "filesrc", f"location={image_path}", "!", "jpegdec", "!",
             "videoconvert", "!", "mobileonedetect", f"model={yaml_path}", "!",
             "fakesink"], env=genv)
    print("OK")


if __name__ == "__main__":
    main()
