"""Checks the DeepLabv3 head and the classifier's post-processing against PyTorch.

  python3 -m mobileone_tools.reference.check_deeplab [--cli CLI] --workdir DIR \\
      [--lib build/libmobileone.so] [--sanitized none] \\
      [--size 512x512] [--variant s0]

1. DeepLabv3 at the default size (512x512) on a full MobileOne backbone (S0)
   with the default ASPP (256 channels, rates 6, 12, 18, 21 classes), random
   weights and BN statistics (make_deeplab_case.py): dense ASPP unfused and
   fused, separable ASPP fused. For each, `CLI run` must give logits.npy
   [1, 21, H, W] with max|c - ref| / max|ref| < 1e-4 and a mask.npy (uint8
   [1, H, W]) equal to PyTorch's argmax except where the reference's two best
   logits are within 2 x the tolerance.
2. The classifier's top-k (mo_classifier_topk): the top-5 that `CLI run`
   prints for a small random classifier against torch.softmax/topk of the
   logits.npy it wrote; and, with --lib (skipped for sanitizer builds, whose
   library cannot be loaded into Python), mo_classifier_topk and
   mo_deeplab_argmax called through ctypes on many logit vectors, ties
   included, against torch.softmax/topk and torch.argmax.

Exit status: 0 pass, 1 failure, 77 (meson's "skipped") without python3-torch.
"""

import argparse
import ctypes
import os
import shutil
import sys
import time

from mobileone_tools import cli as mo_cli

TOL = 1e-4


class Checker:
    def __init__(self):
        self.failures = 0

    def check(self, ok, label, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {label}{': ' + detail if detail else ''}")
        self.failures += not ok
        return ok


def run_cli(chk, cli, args, label, timeout):
    """(stdout, seconds), or None after a failed check."""
    try:
        p = mo_cli.run(cli, args, timeout=timeout)
    except mo_cli.CliError as e:
        chk.check(False, label, str(e))
        return None
    return p.stdout, p.seconds


def check_segmentation(chk, np, cli, case, form, size, label, timeout):
    w, h = size
    out = os.path.join(os.path.dirname(case["yaml"][form]), f"out-{form}-{w}x{h}")
    r = run_cli(chk, cli, ["run", case["yaml"][form], "--input", case["inputs"][size],
                           "--output-dir", out, "--threads", "0"], label, timeout)
    if r is None:
        return
    want = np.load(case["logits"][size]).astype(np.float64)
    want_mask = np.load(case["masks"][size])
    try:
        got = np.load(os.path.join(out, "logits.npy")).astype(np.float64)
        mask = np.load(os.path.join(out, "mask.npy"))
    except (OSError, ValueError) as e:
        chk.check(False, label, f"cannot read the outputs: {e}")
        return
    if not chk.check(got.shape == want.shape and mask.shape == want_mask.shape
                     and mask.dtype == np.uint8, label + " shapes",
                     f"logits {got.shape} (want {want.shape}), mask {mask.shape} "
                     f"{mask.dtype} (want {want_mask.shape} uint8)"):
        return
    mx = np.abs(want).max()
    metric = float(np.abs(got - want).max() / mx) if np.isfinite(got).all() else np.inf
    top2 = np.sort(want, axis=1)[:, -2:]
    close = (top2[:, 1] - top2[:, 0]) <= 2 * TOL * mx
    diff = mask != want_mask
    chk.check(metric < TOL and not (diff & ~close).any(), label,
              f"max|c - ref| / max|ref| = {metric:.3e} (tol {TOL:.0e}); mask: "
              f"{int(diff.sum())} pixels differ, {int((diff & ~close).sum())} of "
              f"them not near-ties; cli {r[1]:.2f} s")


def check_topk_cli(chk, np, torch, cli, workdir, timeout):
    from mobileone_tools.reference import make_case
    d = os.path.join(workdir, "classifier")
    case = make_case.make_case(d, "cls", width_multipliers=(0.25, 0.125, 0.125, 0.25),
                               k=1, se=False, num_classes=1000, sizes=[(64, 64)],
                               seed=7, verbose=False)
    out = os.path.join(d, "out")
    label = "classifier top-5 printed by 'run'"
    r = run_cli(chk, cli, ["run", case["yaml"]["fused"], "--input",
                           case["inputs"][(64, 64)], "--output-dir", out], label, timeout)
    if r is None:
        return
    logits = torch.from_numpy(np.load(os.path.join(out, "logits.npy")).astype(np.float64))
    p = torch.softmax(logits[0], 0)
    vals, idx = torch.topk(p, 5)
    lines = [ln.split() for ln in r[0].strip().splitlines()]
    got = [(int(ln[0]), float(ln[1])) for ln in lines]
    ok = len(got) == 5 and all(
        g[0] == int(i) and abs(g[1] - float(v)) <= 5.1e-5
        for g, v, i in zip(got, vals, idx))
    chk.check(ok, label, f"got {got}, torch {list(zip(idx.tolist(), vals.tolist()))}")


def check_ctypes(chk, np, torch, lib_path):
    lib = ctypes.CDLL(lib_path)

    class MoClass(ctypes.Structure):
        _fields_ = [("label", ctypes.c_int), ("score", ctypes.c_float)]

    class MoOutput(ctypes.Structure):
        _fields_ = [("name", ctypes.c_char_p), ("h", ctypes.c_int), ("w", ctypes.c_int),
                    ("c", ctypes.c_int), ("cs", ctypes.c_int),
                    ("data", ctypes.POINTER(ctypes.c_float))]

    topk = lib.mo_classifier_topk
    topk.restype = ctypes.c_int
    topk.argtypes = [ctypes.POINTER(ctypes.c_float), ctypes.c_int, ctypes.c_int,
                     ctypes.POINTER(MoClass)]
    argmax = lib.mo_deeplab_argmax
    argmax.restype = None
    argmax.argtypes = [ctypes.POINTER(MoOutput), ctypes.POINTER(ctypes.c_uint8),
                       ctypes.c_int]

    rng = np.random.default_rng(11)
    bad = []
    n_checked = 0
    for n in (1, 2, 3, 5, 21, 1000, 21843):
        for k in (1, 5, 10):
            for kind in ("normal", "wide", "shifted", "ties"):
                if kind == "normal":
                    x = rng.standard_normal(n)
                elif kind == "wide":
                    x = rng.standard_normal(n) * 40.0
                elif kind == "shifted":
                    x = rng.standard_normal(n) + 1000.0
                else:
                    x = rng.integers(-3, 3, n).astype(np.float64)
                x = x.astype(np.float32)
                buf = (ctypes.c_float * n)(*x.tolist())
                out = (MoClass * k)()
                m = topk(buf, n, k, out)
                p = torch.softmax(torch.from_numpy(x.astype(np.float64)), 0)
                vals, _ = torch.topk(p, min(k, n))
                # torch.topk leaves the order of equal values open: the
                # expected labels are the stable order (ties: lower index).
                want = np.argsort(-x.astype(np.float64), kind="stable")[:min(k, n)]
                got = [(out[i].label, out[i].score) for i in range(m)]
                ok = m == min(k, n)
                for i in range(min(m, len(want))):
                    lab, s = got[i]
                    ok &= abs(s - float(vals[i])) <= 1e-6 * float(vals[i]) + 1e-30
                    # A different label only where the scores are equal in float32.
                    ok &= lab == int(want[i]) or np.float32(p[lab]) == np.float32(
                        p[int(want[i])])
                n_checked += 1
                if not ok:
                    bad.append(f"n={n} k={k} {kind}: got {got[:5]}, want "
                               f"{want[:5].tolist()} {vals[:5].tolist()}")
    chk.check(not bad, f"mo_classifier_topk vs torch.softmax/topk ({n_checked} cases)",
              "; ".join(bad[:3]))

    bad = []
    for (h, w, c) in ((7, 5, 1), (13, 11, 3), (9, 17, 21), (4, 4, 256), (31, 2, 40)):
        cs = (c + 15) // 16 * 16
        x = rng.integers(-2, 3, (h, w, c)).astype(np.float32)  # many ties
        if c > 3:
            x[0, 0, :] = 1.0  # all equal
        buf = np.full((h, w, cs), 99.0, np.float32)
        buf[:, :, :c] = x
        stride = w + 5
        mask = np.full((h, stride), 0xAB, np.uint8)
        o = MoOutput(b"logits", h, w, c, cs,
                     buf.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        argmax(ctypes.byref(o), mask.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)),
               stride)
        want = torch.argmax(torch.from_numpy(x), dim=2).numpy()
        if not (np.array_equal(mask[:, :w], want) and (mask[:, w:] == 0xAB).all()):
            bad.append(f"{h}x{w}x{c}: {int((mask[:, :w] != want).sum())} pixels differ")
    chk.check(not bad, "mo_deeplab_argmax vs torch.argmax (ties included)",
              "; ".join(bad))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=mo_cli.default_path(),
                    help="path to mobileone-cli (default: $MOBILEONE_CLI or the build/ "
                         "folder's)")
    ap.add_argument("--lib", help="path to libmobileone (for the ctypes checks)")
    ap.add_argument("--sanitized", default="none",
                    help="meson's b_sanitize: anything but 'none' skips the ctypes checks")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--variant", default="s0", choices=["s0", "s1", "s2", "s3", "s4"])
    ap.add_argument("--size", default="512x512", metavar="WxH")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds allowed for one CLI run")
    a = ap.parse_args()

    try:
        import numpy as np
        import torch
    except ImportError:
        print("SKIP: python3-torch not installed")
        return 77
    torch.set_num_threads(1)
    from mobileone_tools.reference import make_case
    from mobileone_tools.reference import make_deeplab_case

    cli = os.path.abspath(a.cli)
    try:
        mo_cli.check_executable(cli)
    except mo_cli.CliError as e:
        print(f"FAIL: {e}")
        return 1
    size = make_case.parse_size(a.size)
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    chk = Checker()

    base = dict(num_classes=21, output_stride=16, aspp_channels=256,
                aspp_rates=(6, 12, 18))
    # Calibrating the random BN statistics at half the size is enough and
    # halves the time PyTorch needs (float64).
    calib = (max(32, size[0] // 2), max(32, size[1] // 2))
    for name, sep, forms in (("dense", False, ("unfused", "fused")),
                             ("separable", True, ("fused",))):
        t0 = time.time()
        case = make_deeplab_case.make_deeplab_case(
            os.path.join(work, name), name, dict(base, aspp_separable=sep), [size],
            a.seed + sep, variant=a.variant, calib_size=calib, check_fused=False,
            verbose=False)
        print(f"reference for {a.variant} {name} ASPP at {size[0]}x{size[1]} made in "
              f"{time.time() - t0:.1f} s")
        for form in forms:
            check_segmentation(chk, np, cli, case, form, size,
                               f"deeplabv3 {a.variant} {name} {form} {size[0]}x{size[1]}",
                               a.timeout)
        shutil.rmtree(os.path.join(work, name))  # ~100 MB per case

    check_topk_cli(chk, np, torch, cli, work, a.timeout)
    if a.lib and a.sanitized in ("", "none"):
        check_ctypes(chk, np, torch, os.path.abspath(a.lib))
    else:
        print("note: ctypes checks skipped (no --lib, or a sanitizer build)")

    if chk.failures:
        print(f"{chk.failures} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
