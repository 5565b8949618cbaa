"""Regenerates the committed test fixtures in tests/data/ (and its README.md).

The C test suite reads only these files, so it needs no PyTorch. Everything is
deterministic (fixed seeds), so rerunning rewrites identical files.

  /usr/bin/python3 -m mobileone_tools.reference.gen_fixtures [--out tests/data]

Models are deliberately narrow (the whole directory must stay under 2 MB) and
use awkward channel counts and odd input sizes so remainder paths get exercised.
"""

import argparse
import glob
import os
import subprocess

import numpy as np

from mobileone_tools import ROOT
from mobileone_tools.reference import make_case
from mobileone_tools.reference import st_io

MAX_BYTES = 2 * 1024 * 1024
FUSED_TOL = 1e-5

# Binary fractions keep int(64 * w) etc. free of rounding doubt in any language.
# Four cases, each covering several features: the two large inputs (224x224 and
# 225x193, 1.1 MB together) leave little room, and an unfused file's header
# alone is 50-100 KB (hundreds of BN tensor names) whatever the widths.
CASES = [
    dict(name="k1", why="k = 1 (one conv branch per block), no SE, F32; "
         "1x1 final map at 31x17",
         width_multipliers=(0.125, 0.0625, 0.0625, 0.0625), k=1, se=False,
         sizes=[(97, 65), (224, 224), (31, 17)], seed=101),
    dict(name="k3", why="k = 3, no SE, weights stored as F16; odd channel counts",
         width_multipliers=(0.140625, 0.0859375, 0.05078125, 0.029296875), k=3, se=False,
         dtype="f16", sizes=[(65, 49), (225, 193)], seed=102),
    dict(name="k2se", why="k = 2 with SE (stage3's last 5 blocks and stage4), F32; SE "
         "reductions int(16 * 0.0625) = 1 and int(40 * 0.0625) = 2",
         width_multipliers=(0.125, 0.0625, 0.0625, 0.078125), k=2, se=True,
         sizes=[(97, 65), (31, 17)], seed=103),
    dict(name="bf16", why='weights stored as BF16, k = 1 with SE, tensor names prefixed '
         'with "backbone.", 7 classes',
         width_multipliers=(0.125, 0.0625, 0.0625, 0.0625), k=1, se=True, dtype="bf16",
         prefix="backbone.", num_classes=7, sizes=[(65, 49)], seed=104),
]

GENERATED_PATTERNS = ("*.safetensors", "*.yaml", "*.npy")


def _channels(w):
    c0 = min(64, int(64 * w[0]))
    return [c0, int(64 * w[0]), int(128 * w[1]), int(256 * w[2]), int(512 * w[3])]


def write_readme(out_dir, results):
    rows = []
    for c in CASES:
        sizes = ", ".join(f"{w}x{h}" for w, h in c["sizes"])
        wm = ", ".join(repr(v) for v in c["width_multipliers"])
        ch = "/".join(map(str, _channels(c["width_multipliers"])))
        prefix = c.get("prefix", "")
        rows.append(f"| {c['name']} | {wm} | {ch} | {c['k']} | "
                    f"{'yes' if c['se'] else 'no'} | {repr(prefix) if prefix else '-'} | "
                    f"{c.get('dtype', 'f32').upper()} | {sizes} | "
                    f"{c.get('num_classes', 10)} | {c['seed']} | {c['why']} |")
    files = sorted(os.path.basename(p) for pat in GENERATED_PATTERNS
                   for p in glob.glob(os.path.join(out_dir, pat)))
    text = """# Test fixtures (generated)

Written by `mobileone_tools.reference.gen_fixtures` (PyTorch reference in
`tools/mobileone_tools/reference/mobileone_ref.py`); do not edit by hand,
regenerate with

    PYTHONPATH=tools /usr/bin/python3 -m mobileone_tools.reference.gen_fixtures

Each case NAME is a random MobileOne with Apple's ml-mobileone tensor names and
random, non-identity BatchNorm statistics:

- `NAME-unfused.safetensors`: training form (`rbr_conv.i.conv/bn`, `rbr_scale`,
  `rbr_skip`, BN running stats, and `num_batches_tracked` as I64 scalars that a
  loader must skip), header with `__metadata__` {"format": "pt"}.
- `NAME-fused.safetensors`: inference form (`reparam_conv.weight/bias`).
- `NAME-unfused.yaml`, `NAME-fused.yaml`: the model descriptions (input size in
  the YAML is the case's first size).
- `NAME-logits-WxH.npy`: float32 [1, num_classes], the unfused model in eval
  mode, computed in float64 with exactly the stored weights, for input
  `input-WxH.npy`.
- `NAME-fused-logits-WxH.npy` (F16/BF16 cases only): the exact output of the
  fused file. Its weights were rounded to F16/BF16 again after folding, so it is
  a slightly different function: compare a fused F16/BF16 run against this file,
  not against `NAME-logits` (they differ by about 1e-2 relative).
- `input-WxH.npy`: float32 [1, 3, H, W], N(0, 1), the network input tensor itself
  (already normalised: the YAML mean/std are not applied to it). Depends only on
  the size, so cases share it.

Comparison metric: max|c - ref| / max|ref| (float32 plain C arithmetic lands
around 1e-6 on these models; a test threshold of 1e-4 leaves a wide margin).
Widths: int(64 w0) etc. as in ml-mobileone; channels listed are
stage0/stage1/stage2/stage3/stage4.

| case | width multipliers | channels | k | SE | prefix | dtype | sizes (WxH) | classes | seed | what it covers |
|------|-------------------|----------|---|----|--------|-------|-------------|---------|------|----------------|
""" + "\n".join(rows) + """

Files:

""" + "\n".join(f"- `{f}`" for f in files) + "\n"
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(text)


def verify(out_dir, results):
    """Checks the brief's invariants on what was written; raises on failure."""
    for c, r in zip(CASES, results):
        if r["max_fused_rel"] >= FUSED_TOL:
            raise SystemExit(f"{c['name']}: fused vs unfused {r['max_fused_rel']:.2e}")
        want = make_case.ST_DTYPE[c.get("dtype", "f32")]
        for form, path in r["weights"].items():
            header = st_io.read_header(path)
            dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
            floats = dtypes - {"I64"}
            if floats != {want}:
                raise SystemExit(f"{path}: float dtypes {floats}, expected {want}")
            if form == "unfused" and "I64" not in dtypes:
                raise SystemExit(f"{path}: no num_batches_tracked")
            tensors, meta = st_io.load_file(path)
            prefix = c.get("prefix", "")
            if not all(k.startswith(prefix) for k in tensors):
                raise SystemExit(f"{path}: a name lacks prefix {prefix!r}")
            bad = [k for k, v in tensors.items()
                   if v.dtype.kind == "f" and not np.isfinite(v).all()]
            if bad:
                raise SystemExit(f"{path}: non-finite values in {bad[:3]}")
    # Our own files (other fixtures, e.g. tests/data/deeplab/, live beside them):
    # apparent bytes, and 4 KiB blocks as du counts them on disk.
    ours = [p for pat in GENERATED_PATTERNS + ("README.md",)
            for p in glob.glob(os.path.join(out_dir, pat))]
    nbytes = sum(os.path.getsize(p) for p in ours)
    nblocks = sum((os.path.getsize(p) + 4095) // 4096 * 4096 for p in ours)
    print(f"{len(ours)} files from this script: {nbytes} bytes, "
          f"{nblocks // 1024} KiB in 4 KiB blocks")
    if max(nbytes, nblocks) >= MAX_BYTES:
        raise SystemExit(f"fixtures in {out_dir} are over the 2 MB budget")
    total_kib = int(subprocess.run(["du", "-sk", out_dir], capture_output=True,
                                   text=True, check=True).stdout.split()[0])
    print(f"du -sk {out_dir}: {total_kib} KiB in all")
    if total_kib * 1024 >= MAX_BYTES:
        print(f"WARNING: {out_dir} as a whole (with other scripts' fixtures) "
              "is over 2 MB")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    # Only our own outputs are removed, so a renamed case leaves no stale files.
    for pat in GENERATED_PATTERNS:
        for p in glob.glob(os.path.join(a.out, pat)):
            os.remove(p)

    results = []
    for c in CASES:
        results.append(make_case.make_case(
            a.out, c["name"], width_multipliers=c["width_multipliers"], k=c["k"],
            se=c["se"], num_classes=c.get("num_classes", 10), sizes=c["sizes"],
            seed=c["seed"], prefix=c.get("prefix", ""), dtype=c.get("dtype", "f32")))
    write_readme(a.out, results)
    verify(a.out, results)


if __name__ == "__main__":
    main()
