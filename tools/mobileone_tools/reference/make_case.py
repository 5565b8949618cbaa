"""Builds one random MobileOne and writes a complete test case into --out DIR.

Files written (NAME from --name):
  NAME-unfused.safetensors   training form (rbr_* branches, BN running stats,
                             num_batches_tracked as I64 like a torch checkpoint)
  NAME-fused.safetensors     inference form (reparam_conv weight + bias)
  NAME-unfused.yaml, NAME-fused.yaml   model descriptions for mobileone-cli
  input-WxH.npy              float32 [1, 3, H, W] ~ N(0, 1): the network input
                             itself (already normalised; mean/std are not applied).
                             Depends only on W, H and --input-seed, so cases
                             in one directory share it.
  NAME-logits-WxH.npy        float32 [1, num_classes]: the UNFUSED model in
                             eval mode, computed in float64 with the weights
                             exactly as stored in the files.
  NAME-fused-logits-WxH.npy  only when --dtype is f16/bf16: the fused file's
                             weights are rounded to that dtype a second time
                             (after folding), so the fused file implements a
                             slightly different function; this is its exact output.

Example:
  /usr/bin/python3 -m mobileone_tools.reference.make_case --variant s0 --size 224x224 --out /tmp/s0
"""

import argparse
import copy
import os

import numpy as np
import torch

from mobileone_tools.reference import mobileone_ref as ref
from mobileone_tools.reference import st_io

INPUT_SEED = 20240601
ST_DTYPE = {"f32": "F32", "f16": "F16", "bf16": "BF16"}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def parse_size(text):
    try:
        w, h = text.lower().split("x")
        w, h = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WxH, got {text!r}")
    if w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return w, h


def input_path(out_dir, w, h):
    return os.path.join(out_dir, f"input-{w}x{h}.npy")


def make_input(w, h, seed=INPUT_SEED):
    """The test input for a size: a function of (seed, w, h) only."""
    rng = np.random.default_rng([seed, w, h])
    return rng.standard_normal((1, 3, h, w)).astype(np.float32)


def write_input(out_dir, w, h, seed=INPUT_SEED):
    x = make_input(w, h, seed)
    path = input_path(out_dir, w, h)
    if os.path.exists(path):
        old = np.load(path)
        if old.shape != x.shape or not np.array_equal(old, x):
            raise RuntimeError(f"{path} exists with other content (another input seed?)")
    else:
        np.save(path, x)
    return x


def rel_diff(a, b):
    """max|a - b| / max|b|: the project's comparison metric."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def _yaml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def yaml_text(name, weights, fused, prefix, size, num_classes, variant=None,
              width_multipliers=None, num_conv_branches=None, use_se=None):
    lines = [f"name: {name}", "backbone:"]
    if variant is not None:
        lines.append(f"  variant: {variant}")
    else:
        wm = ", ".join(repr(float(v)) for v in width_multipliers)
        lines += [f"  width_multipliers: [{wm}]",
                  f"  num_conv_branches: {int(num_conv_branches)}",
                  f"  use_se: {'true' if use_se else 'false'}"]
    lines += [f"  fused: {'true' if fused else 'false'}",
              f"  prefix: {_yaml_str(prefix)}",
              "  bn_eps: 1.0e-5",
              f"input: {{width: {size[0]}, height: {size[1]}, "
              f"mean: [{', '.join(map(str, IMAGENET_MEAN))}], "
              f"std: [{', '.join(map(str, IMAGENET_STD))}]}}",
              f"head: {{type: classifier, num_classes: {int(num_classes)}}}",
              f"weights: {weights}"]
    return "\n".join(lines) + "\n"


def _round_state_dict(sd, st_dtype):
    """Float tensors rounded to what a file of @st_dtype holds (kept float64)."""
    out = {}
    for k, v in sd.items():
        if v.is_floating_point():
            out[k] = torch.from_numpy(st_io.round_to(v.numpy(), st_dtype))
        else:
            out[k] = v.clone()
    return out


def _with_prefix(sd, prefix):
    return {prefix + k: (v.numpy() if isinstance(v, torch.Tensor) else v)
            for k, v in sd.items()}


def _strip_prefix(sd, prefix):
    assert all(k.startswith(prefix) for k in sd)
    return {k[len(prefix):]: torch.from_numpy(np.asarray(v, dtype=np.float64))
            if np.asarray(v).dtype.kind == "f" else torch.from_numpy(np.asarray(v))
            for k, v in sd.items()}


@torch.no_grad()
def _logits(model, x):
    return model(torch.from_numpy(x).double()).numpy()


@torch.no_grad()
def make_case(out_dir, name, variant=None, width_multipliers=None, k=1, se=False,
              num_classes=1000, sizes=((224, 224),), seed=0, prefix="", dtype="f32",
              input_seed=INPUT_SEED, verbose=True):
    """Writes one case; returns a dict with the paths and the fused/unfused metric."""
    torch.set_num_threads(1)
    st_dtype = ST_DTYPE[dtype]
    os.makedirs(out_dir, exist_ok=True)
    log = print if verbose else (lambda *a, **kw: None)

    model = ref.build_model(variant, width_multipliers, k, se, num_classes).double()
    if variant is not None:
        width_multipliers, k, se = ref.VARIANTS[variant]
    ref.randomize_model(model, seed)

    # The expected outputs must be those of the weights as stored, so round first.
    model.load_state_dict(_round_state_dict(model.state_dict(), st_dtype))
    model.eval()
    unfused_sd = model.state_dict()

    fused_sd64 = ref.reparameterize_state_dict(unfused_sd)
    fused = ref.build_model(None, width_multipliers, k, se, num_classes,
                            inference_mode=True).double().eval()
    fused.load_state_dict({n: torch.from_numpy(v) for n, v in fused_sd64.items()})
    # What the fused file will really hold, and the model implementing exactly that.
    fused_sd_stored = {n: st_io.round_to(v, st_dtype) for n, v in fused_sd64.items()}
    fused_stored = ref.build_model(None, width_multipliers, k, se, num_classes,
                                   inference_mode=True).double().eval()
    fused_stored.load_state_dict({n: torch.from_numpy(v) for n, v in fused_sd_stored.items()})

    unf_st = os.path.join(out_dir, f"{name}-unfused.safetensors")
    fus_st = os.path.join(out_dir, f"{name}-fused.safetensors")
    meta = {"format": "pt"}
    st_io.save_file(_with_prefix(unfused_sd, prefix), unf_st, float_dtype=st_dtype,
                    metadata=meta)
    st_io.save_file(_with_prefix(fused_sd_stored, prefix), fus_st, float_dtype=st_dtype,
                    metadata=meta)

    desc = dict(variant=variant) if variant is not None else dict(
        width_multipliers=width_multipliers, num_conv_branches=k, use_se=se)
    yaml_paths = {}
    for form, st_path in (("unfused", unf_st), ("fused", fus_st)):
        p = os.path.join(out_dir, f"{name}-{form}.yaml")
        with open(p, "w") as f:
            f.write(yaml_text(name, os.path.basename(st_path), form == "fused", prefix,
                              sizes[0], num_classes, **desc))
        yaml_paths[form] = p

    # Self-check of the writer: reload both files and rebuild the models from them.
    unf_back = ref.build_model(None, width_multipliers, k, se, num_classes).double().eval()
    unf_back.load_state_dict(_strip_prefix(st_io.load_file(unf_st)[0], prefix))
    fus_back = ref.build_model(None, width_multipliers, k, se, num_classes,
                               inference_mode=True).double().eval()
    fus_back.load_state_dict(_strip_prefix(st_io.load_file(fus_st)[0], prefix))

    result = {"yaml": yaml_paths, "weights": {"unfused": unf_st, "fused": fus_st},
              "logits": {}, "fused_logits": {}, "inputs": {}, "max_fused_rel": 0.0}
    log(f"{name}: w={list(width_multipliers)} k={k} se={se} classes={num_classes} "
        f"dtype={dtype} prefix={prefix!r} params: unfused "
        f"{sum(v.numel() for v in unfused_sd.values() if v.is_floating_point())}, "
        f"fused {sum(v.size for v in fused_sd64.values())}")
    for (w, h) in sizes:
        x = write_input(out_dir, w, h, input_seed)
        y = _logits(model, x)
        y_fused = _logits(fused, x)
        # How far plain float32 arithmetic lands from the reference: a floor
        # for what the C engine (float32) can achieve.
        y32 = copy.deepcopy(model).float()(torch.from_numpy(x)).numpy()
        d_fused = rel_diff(y_fused, y)
        d_f32 = rel_diff(y32, y)
        if not np.array_equal(_logits(unf_back, x), y):
            raise RuntimeError(f"{unf_st}: reloaded weights give other logits")
        result["max_fused_rel"] = max(result["max_fused_rel"], d_fused)

        lp = os.path.join(out_dir, f"{name}-logits-{w}x{h}.npy")
        np.save(lp, y.astype(np.float32))
        result["logits"][(w, h)] = lp
        result["inputs"][(w, h)] = input_path(out_dir, w, h)
        msg = (f"  {w}x{h}: logits mean {y.mean():+.3g} std {y.std():.3g} "
               f"max|.| {np.abs(y).max():.3g}; fused vs unfused rel {d_fused:.2e}; "
               f"torch float32 vs float64 rel {d_f32:.2e}")
        y_stored = _logits(fused_stored, x)
        if not np.array_equal(_logits(fus_back, x), y_stored):
            raise RuntimeError(f"{fus_st}: reloaded weights give other logits")
        if dtype != "f32":
            fp = os.path.join(out_dir, f"{name}-fused-logits-{w}x{h}.npy")
            np.save(fp, y_stored.astype(np.float32))
            result["fused_logits"][(w, h)] = fp
            msg += f"; {dtype} fused file vs unfused rel {rel_diff(y_stored, y):.2e}"
        log(msg)
        if y.std() < 0.05 or np.abs(y).max() > 1e3:
            log(f"  WARNING: degenerate logits at {w}x{h} (try another --seed)")
    log(f"  max |fused - unfused| / max|unfused| = {result['max_fused_rel']:.3e}")
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--variant", choices=sorted(ref.VARIANTS))
    g.add_argument("--width-multipliers", metavar="A,B,C,D",
                   help="custom widths (then --k and --se apply)")
    ap.add_argument("--k", type=int, default=1, help="num_conv_branches (custom widths)")
    ap.add_argument("--se", action="store_true", help="use SE (custom widths)")
    ap.add_argument("--num-classes", type=int, default=1000)
    ap.add_argument("--size", type=parse_size, action="append", metavar="WxH",
                    help="input size, repeatable (default 224x224); the first one "
                         "goes into the YAML")
    ap.add_argument("--seed", type=int, default=0, help="weight seed")
    ap.add_argument("--input-seed", type=int, default=INPUT_SEED)
    ap.add_argument("--prefix", default="", help='tensor name prefix, e.g. "backbone."')
    ap.add_argument("--dtype", choices=sorted(ST_DTYPE), default="f32",
                    help="weight dtype of the safetensors files")
    ap.add_argument("--name", help="case name (default: the variant, else 'custom')")
    ap.add_argument("--out", required=True, metavar="DIR")
    a = ap.parse_args(argv)

    wm = None
    if a.width_multipliers is not None:
        wm = tuple(float(v) for v in a.width_multipliers.split(","))
        if len(wm) != 4:
            ap.error("--width-multipliers needs 4 values")
    elif a.k != 1 or a.se:
        ap.error("--k/--se only apply with --width-multipliers")
    name = a.name or a.variant or "custom"
    try:
        make_case(a.out, name, a.variant, wm, a.k, a.se, a.num_classes,
                  a.size or [(224, 224)], a.seed, a.prefix, a.dtype, a.input_seed)
    except ValueError as e:  # e.g. widths too narrow for SE
        ap.error(str(e))


if __name__ == "__main__":
    main()
