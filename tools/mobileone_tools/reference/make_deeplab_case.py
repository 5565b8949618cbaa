"""Builds one random DeepLabv3 (MobileOne backbone) and writes a test case.

Files written into --out DIR (NAME from --name):
  NAME-unfused.safetensors   training form: backbone.* in Apple's names (rbr_*
                             branches, BN statistics, num_batches_tracked I64),
                             aspp.*/head.* as X.conv.weight + X.bn.*,
                             classifier.weight/bias
  NAME-fused.safetensors     inference form: backbone.*.reparam_conv.*, every
                             X.conv.weight + X.conv.bias, classifier.*
  NAME-unfused.yaml, NAME-fused.yaml   model descriptions (head.type deeplabv3)
  input-WxH.npy              [1, 3, H, W] ~ N(0, 1), the network input itself
                             (float32, or float16 with --input-dtype f2: then the
                             reference uses exactly the float16 values)
  NAME-logits-WxH.npy        float32 [1, num_classes, H, W]: the UNFUSED model in
                             eval mode at the input size, computed in float64
                             with the weights exactly as stored
  NAME-mask-WxH.npy          uint8 [1, H, W]: argmax over classes of those
                             float64 logits (ties: lowest index)

Random weights with random BatchNorm statistics (mobileone_ref.randomize_model,
calibrated on the model's own activations so values stay O(1)).

  /usr/bin/python3 -m mobileone_tools.reference.make_deeplab_case --variant s0 \\
      --size 512x512 --out /tmp/dl
  /usr/bin/python3 -m mobileone_tools.reference.make_deeplab_case --fixtures
      (regenerates tests/data/deeplab/, the C test's fixtures, and its README)
"""

import argparse
import glob
import os

import numpy as np
import torch

from mobileone_tools import ROOT
from mobileone_tools.reference import deeplab_ref as dl
from mobileone_tools.reference import make_case
from mobileone_tools.reference import mobileone_ref as ref
from mobileone_tools.reference import st_io

PREFIX = "backbone."

# The committed fixtures (tests/data/deeplab/). Narrow backbones, awkward
# channel counts (stage4 24 or 40: not multiples of 16), few classes; small
# atrous rates so that the dilated taps land inside these small maps (the
# torch-gated test covers the default rates at 512x512).
FIXTURES = [
    dict(name="dense", why="dense ASPP, output stride 16, k = 2, 3 classes",
         cfg=dict(width_multipliers=(0.125, 0.0625, 0.0625, 0.046875),
                  num_conv_branches=2, use_se=False, num_classes=3,
                  output_stride=16, aspp_channels=16, aspp_rates=(1, 2, 3),
                  aspp_separable=False),
         sizes=[(61, 47), (48, 48)], seed=301),
    dict(name="sep-os8", why="separable ASPP, output stride 8 (stage3 dilated "
         "too), k = 1 with SE, 32 ASPP channels, 4 classes",
         cfg=dict(width_multipliers=(0.125, 0.0625, 0.0625, 0.078125),
                  num_conv_branches=1, use_se=True, num_classes=4,
                  output_stride=8, aspp_channels=32, aspp_rates=(2, 3, 5),
                  aspp_separable=True),
         sizes=[(61, 47), (48, 48)], seed=302),
]


def _yaml_text(name, weights, fused, cfg, size, variant=None):
    lines = [f"name: {name}", "backbone:"]
    if variant is not None:
        lines.append(f"  variant: {variant}")
    else:
        wm = ", ".join(repr(float(v)) for v in cfg["width_multipliers"])
        lines += [f"  width_multipliers: [{wm}]",
                  f"  num_conv_branches: {int(cfg['num_conv_branches'])}",
                  f"  use_se: {'true' if cfg['use_se'] else 'false'}"]
    lines += [f"  fused: {'true' if fused else 'false'}",
              f'  prefix: "{PREFIX}"',
              "  bn_eps: 1.0e-5",
              f"input: {{width: {size[0]}, height: {size[1]}, "
              f"mean: [{', '.join(map(str, make_case.IMAGENET_MEAN))}], "
              f"std: [{', '.join(map(str, make_case.IMAGENET_STD))}]}}",
              "head:",
              "  type: deeplabv3",
              f"  num_classes: {int(cfg['num_classes'])}",
              f"  output_stride: {int(cfg['output_stride'])}",
              f"  aspp_channels: {int(cfg['aspp_channels'])}",
              f"  aspp_rates: [{', '.join(str(int(r)) for r in cfg['aspp_rates'])}]",
              f"  aspp_separable: {'true' if cfg['aspp_separable'] else 'false'}",
              f"weights: {weights}"]
    return "\n".join(lines) + "\n"


def _state_to_numpy(sd):
    return {k: v.detach().cpu().numpy() if v.is_floating_point() else v.cpu().numpy()
            for k, v in sd.items()}


def _write_input(out_dir, w, h, dtype):
    x = make_case.make_input(w, h).astype(dtype)
    path = make_case.input_path(out_dir, w, h)
    if os.path.exists(path):
        old = np.load(path)
        if old.dtype != x.dtype or not np.array_equal(old, x):
            raise RuntimeError(f"{path} exists with other content")
    else:
        np.save(path, x)
    return x.astype(np.float64)


@torch.no_grad()
def make_deeplab_case(out_dir, name, cfg, sizes=((512, 512),), seed=0, variant=None,
                      input_dtype="f4", calib_size=None, check_fused=True,
                      verbose=True):
    """Writes one case; returns a dict with the paths and the fused/unfused metric."""
    torch.set_num_threads(1)
    log = print if verbose else (lambda *a, **kw: None)
    cfg = dict(cfg)
    if variant is not None:
        wm, k, se = ref.VARIANTS[variant]
        cfg.update(width_multipliers=wm, num_conv_branches=k, use_se=se)
    cfg["aspp_rates"] = tuple(cfg.get("aspp_rates", (6, 12, 18)))
    os.makedirs(out_dir, exist_ok=True)

    model = dl.build(cfg).double()
    # Calibrate the BN statistics at (about) the test size: the image-pool
    # branch and the atrous borders see other statistics at other sizes.
    ref.randomize_model(model, seed, calib_size=calib_size or sizes[0], calib_batch=2)
    # The reference must use the weights as stored (F32).
    model.load_state_dict({k: torch.from_numpy(st_io.round_to(v.numpy(), "F32"))
                           if v.is_floating_point() else v
                           for k, v in model.state_dict().items()})
    model.eval()
    unfused_sd = model.state_dict()
    fused_sd = {k: st_io.round_to(v, "F32") for k, v in
                dl.fuse_state_dict(unfused_sd).items()}
    fused = dl.build(cfg, fused=True).double().eval()
    fused.load_state_dict({k: torch.from_numpy(v) for k, v in fused_sd.items()},
                          strict=True)

    paths = {"unfused": os.path.join(out_dir, f"{name}-unfused.safetensors"),
             "fused": os.path.join(out_dir, f"{name}-fused.safetensors")}
    meta = {"format": "pt"}
    st_io.save_file(_state_to_numpy(unfused_sd), paths["unfused"], float_dtype="F32",
                    metadata=meta)
    st_io.save_file(fused_sd, paths["fused"], float_dtype="F32", metadata=meta)
    # The files must load back, by name, into the modules (strict).
    for form, p in paths.items():
        back = dl.build(cfg, fused=form == "fused").double()
        back.load_state_dict({k: torch.from_numpy(np.asarray(v))
                              for k, v in st_io.load_file(p)[0].items()}, strict=True)

    yamls = {}
    for form, p in paths.items():
        y = os.path.join(out_dir, f"{name}-{form}.yaml")
        with open(y, "w") as f:
            f.write(_yaml_text(name, os.path.basename(p), form == "fused", cfg,
                               sizes[0], variant))
        yamls[form] = y

    n_par = sum(v.size for v in fused_sd.values())
    log(f"{name}: {cfg} seed={seed}; fused parameters {n_par}")
    result = {"yaml": yamls, "weights": paths, "logits": {}, "masks": {},
              "inputs": {}, "max_fused_rel": 0.0}
    for (w, h) in sizes:
        x = torch.from_numpy(_write_input(out_dir, w, h,
                                          np.float16 if input_dtype == "f2"
                                          else np.float32))
        y = model(x).numpy()
        assert y.shape == (1, cfg["num_classes"], h, w)
        mask = y.argmax(axis=1).astype(np.uint8)
        lp = os.path.join(out_dir, f"{name}-logits-{w}x{h}.npy")
        mp = os.path.join(out_dir, f"{name}-mask-{w}x{h}.npy")
        np.save(lp, y.astype(np.float32))
        np.save(mp, mask)
        result["logits"][(w, h)] = lp
        result["masks"][(w, h)] = mp
        result["inputs"][(w, h)] = make_case.input_path(out_dir, w, h)
        msg = (f"  {w}x{h}: logits std {y.std():.3g} max|.| {np.abs(y).max():.3g}; "
               f"class shares {np.bincount(mask.ravel(), minlength=cfg['num_classes']) / mask.size}")
        if check_fused:
            d = make_case.rel_diff(fused(x).numpy(), y)
            result["max_fused_rel"] = max(result["max_fused_rel"], d)
            msg += f"; fused vs unfused rel {d:.2e}"
        log(msg)
    return result


def _channels(w):
    return [min(64, int(64 * w[0])), int(64 * w[0]), int(128 * w[1]),
            int(256 * w[2]), int(512 * w[3])]


def write_fixtures(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for pat in ("*.safetensors", "*.yaml", "*.npy"):
        for p in glob.glob(os.path.join(out_dir, pat)):
            os.remove(p)
    rows = []
    for c in FIXTURES:
        r = make_deeplab_case(out_dir, c["name"], c["cfg"], c["sizes"], c["seed"],
                              input_dtype="f2")
        if r["max_fused_rel"] > 1e-5:
            raise SystemExit(f"{c['name']}: fused vs unfused {r['max_fused_rel']:.2e}")
        g = c["cfg"]
        rows.append(
            f"| {c['name']} | {', '.join(map(repr, g['width_multipliers']))} | "
            f"{'/'.join(map(str, _channels(g['width_multipliers'])))} | "
            f"{g['num_conv_branches']} | {'yes' if g['use_se'] else 'no'} | "
            f"{g['output_stride']} | {g['aspp_channels']} | "
            f"{', '.join(map(str, g['aspp_rates']))} | "
            f"{'separable' if g['aspp_separable'] else 'dense'} | {g['num_classes']} | "
            f"{', '.join(f'{w}x{h}' for w, h in c['sizes'])} | {c['seed']} | {c['why']} |")
    files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(out_dir, "*"))
                   if not p.endswith("README.md"))
    total = sum(os.path.getsize(os.path.join(out_dir, f)) for f in files)
    text = f"""# DeepLabv3 test fixtures (generated)

Written by `mobileone_tools.reference.make_deeplab_case --fixtures` (PyTorch
reference in `tools/mobileone_tools/reference/deeplab_ref.py`); do not edit
by hand. Read by `tests/test-deeplab.c`.

Each case NAME is a random DeepLabv3 on a narrow MobileOne (names under
`backbone.`, random non-identity BatchNorm statistics everywhere):

- `NAME-unfused.safetensors`, `NAME-fused.safetensors` and their YAMLs;
- `NAME-logits-WxH.npy`: float32 [1, num_classes, H, W], the unfused model in
  float64 at the input size (bilinear, align_corners = False);
- `NAME-mask-WxH.npy`: uint8 [1, H, W], the argmax of those float64 logits;
- `input-WxH.npy`: float16 [1, 3, H, W] (the reference used exactly these
  values), shared by the cases.

| case | width multipliers | channels | k | SE | output stride | ASPP channels | rates | ASPP | classes | sizes | seed | covers |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + f"""

{len(files)} files, {total} bytes.
"""
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(text)
    print(f"{out_dir}: {len(files)} files, {total} bytes")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", action="store_true",
                    help="regenerate tests/data/deeplab (other options ignored)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--variant", choices=sorted(ref.VARIANTS))
    g.add_argument("--width-multipliers", metavar="A,B,C,D")
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--se", action="store_true")
    ap.add_argument("--num-classes", type=int, default=21)
    ap.add_argument("--output-stride", type=int, choices=(8, 16), default=16)
    ap.add_argument("--aspp-channels", type=int, default=256)
    ap.add_argument("--aspp-rates", default="6,12,18", metavar="A,B,C")
    ap.add_argument("--separable", action="store_true", help="separable ASPP")
    ap.add_argument("--size", type=make_case.parse_size, action="append", metavar="WxH",
                    help="input size, repeatable (default 512x512)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--input-dtype", choices=("f4", "f2"), default="f4")
    ap.add_argument("--name", default="deeplab")
    ap.add_argument("--out", metavar="DIR")
    a = ap.parse_args(argv)

    if a.fixtures:
        write_fixtures(a.out or os.path.join(ROOT, "tests", "data", "deeplab"))
        return
    if a.out is None or (a.variant is None and a.width_multipliers is None):
        ap.error("--out and one of --variant / --width-multipliers are required")
    cfg = dict(num_classes=a.num_classes, output_stride=a.output_stride,
               aspp_channels=a.aspp_channels,
               aspp_rates=tuple(int(r) for r in a.aspp_rates.split(",")),
               aspp_separable=a.separable)
    if a.width_multipliers:
        cfg.update(width_multipliers=tuple(float(v) for v in
                                           a.width_multipliers.split(",")),
                   num_conv_branches=a.k, use_se=a.se)
    make_deeplab_case(a.out, a.name, cfg, a.size or [(512, 512)], a.seed, a.variant,
                      a.input_dtype)


if __name__ == "__main__":
    main()
