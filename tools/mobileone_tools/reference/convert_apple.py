"""Converts one of Apple's ml-mobileone checkpoints to safetensors + YAML.

  python3 -m mobileone_tools.reference.convert_apple mobileone_s0_unfused.pth.tar \\
      --variant s0 --out models/s0-unfused.safetensors
  python3 -m mobileone_tools.reference.convert_apple mobileone_s4.pth.tar \\
      --variant s4 --out models/s4.safetensors --dtype f16

Tensor names are kept exactly (after unwrapping a "state_dict" entry and
stripping DataParallel's "module." prefix), so the engine reads the result the
same way as a safetensors file saved straight from torch. Whether the
checkpoint is the fused (reparam_conv) or the training form is detected from
the names; the names and shapes are checked against mobileone_ref.py's model of
that variant before anything is written.

Writes OUT (safetensors) and, next to it, OUT with ".yaml" (or --yaml). With
--size WxH (repeatable) it also writes input-WxH.npy and NAME-logits-WxH.npy in
the same directory: the checkpoint's logits from the PyTorch reference (float64),
to compare mobileone-cli against on real weights.
"""

import argparse
import os

import numpy as np
import torch

from mobileone_tools.reference import make_case
from mobileone_tools.reference import mobileone_ref as ref
from mobileone_tools.reference import st_io


def load_checkpoint(path):
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise SystemExit(f"{path}: not a state_dict (got {type(obj).__name__})")
    sd = {}
    for name, t in obj.items():
        if not isinstance(t, torch.Tensor):
            continue
        if name.startswith("module."):
            name = name[len("module."):]
        sd[name] = t.detach().cpu()
    return sd


def check_against_model(sd, variant, fused, path):
    num_classes = sd["linear.weight"].shape[0] if "linear.weight" in sd else 1000
    model = ref.build_model(variant, num_classes=num_classes, inference_mode=fused)
    want = model.state_dict()
    # num_batches_tracked is bookkeeping a loader ignores; older checkpoints lack it.
    missing = [n for n in want if n not in sd and not n.endswith("num_batches_tracked")]
    extra = [n for n in sd if n not in want]
    wrong = [f"{n}: {list(sd[n].shape)} vs {list(want[n].shape)}"
             for n in want if n in sd and sd[n].shape != want[n].shape]
    if missing or extra or wrong:
        msg = [f"{path} does not match MobileOne-{variant} "
               f"({'fused' if fused else 'unfused'}):"]
        for title, items in (("missing", missing), ("unexpected", extra),
                             ("wrong shape", wrong)):
            if items:
                msg.append(f"  {title} ({len(items)}): " + ", ".join(items[:8])
                           + (" ..." if len(items) > 8 else ""))
        raise SystemExit("\n".join(msg))
    return model, num_classes


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="Apple .pth.tar (fused or unfused)")
    ap.add_argument("--variant", required=True, choices=sorted(ref.VARIANTS))
    ap.add_argument("--out", required=True, help="output .safetensors")
    ap.add_argument("--yaml", help="output YAML (default: OUT with .yaml)")
    ap.add_argument("--name", help="model name in the YAML (default: OUT's stem)")
    ap.add_argument("--dtype", choices=sorted(make_case.ST_DTYPE), default="f32")
    ap.add_argument("--size", type=make_case.parse_size, action="append", metavar="WxH",
                    help="also write input-WxH.npy and NAME-logits-WxH.npy")
    a = ap.parse_args()
    torch.set_num_threads(1)

    sd = load_checkpoint(a.checkpoint)
    fused = any(n.endswith("reparam_conv.weight") for n in sd)
    if fused and any(".rbr_" in n for n in sd):
        raise SystemExit(f"{a.checkpoint}: mixes reparam_conv and rbr_* tensors")
    model, num_classes = check_against_model(sd, a.variant, fused, a.checkpoint)

    st_dtype = make_case.ST_DTYPE[a.dtype]
    tensors = {n: t.numpy() for n, t in sd.items()}
    bad = [n for n, v in tensors.items() if v.dtype.kind == "f" and not np.isfinite(v).all()]
    if bad:
        raise SystemExit(f"{a.checkpoint}: non-finite values in {bad[:4]}")
    out_dir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    st_io.save_file(tensors, a.out, float_dtype=st_dtype, metadata={"format": "pt"})

    stem = os.path.splitext(os.path.basename(a.out))[0]
    name = a.name or stem
    yaml_path = a.yaml or os.path.splitext(a.out)[0] + ".yaml"
    sizes = a.size or [(224, 224)]
    weights_rel = os.path.relpath(os.path.abspath(a.out),
                                  os.path.dirname(os.path.abspath(yaml_path)))
    with open(yaml_path, "w") as f:
        f.write(make_case.yaml_text(name, weights_rel, fused, "", sizes[0], num_classes,
                                    variant=a.variant))
    n_float = sum(v.size for v in tensors.values() if v.dtype.kind == "f")
    print(f"{a.out}: {len(tensors)} tensors, {n_float} float values as {st_dtype}, "
          f"{'fused' if fused else 'unfused'}, {num_classes} classes")
    print(f"{yaml_path}: written")

    if a.size:
        # Reference logits for the weights as stored (rounded to --dtype).
        stored, _ = st_io.load_file(a.out)
        model = model.double().eval()
        model.load_state_dict({n: torch.from_numpy(np.asarray(v)).to(
            torch.float64 if np.asarray(v).dtype.kind == "f" else torch.int64)
            for n, v in stored.items()}, strict=False)
        with torch.no_grad():
            for (w, h) in a.size:
                x = make_case.write_input(out_dir, w, h)
                y = model(torch.from_numpy(x).double()).numpy()
                p = os.path.join(out_dir, f"{name}-logits-{w}x{h}.npy")
                np.save(p, y.astype(np.float32))
                top = np.argsort(-y[0])[:5]
                print(f"{p}: top-5 classes {top.tolist()}")


if __name__ == "__main__":
    main()
