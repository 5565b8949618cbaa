"""Checks mobileone-cli against the PyTorch reference on a full-size variant.

  python3 -m mobileone_tools.reference.check_variant [--cli CLI] --variant s0 \\
      --size 224x224 [--size 97x65 ...] --workdir DIR

Makes a random case (1000 classes, random BN statistics) in DIR with
make_case.py, then for the fused and the unfused YAML and every size runs

  CLI run YAML --input DIR/input-WxH.npy --output-dir OUT

and compares OUT/logits.npy with the reference: max|c - ref| / max|ref| must
be below --tol (1e-4). Exit status: 0 pass, 1 failure, 77 (meson's "skipped")
when python3-torch is not installed.
"""

import argparse
import os
import shutil
import sys
import time

from mobileone_tools import cli as mo_cli

TOL = 1e-4


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=mo_cli.default_path(),
                    help="path to mobileone-cli (default: $MOBILEONE_CLI or the build/ "
                         "folder's)")
    ap.add_argument("--variant", required=True, choices=["s0", "s1", "s2", "s3", "s4"])
    ap.add_argument("--size", action="append", metavar="WxH",
                    help="input size, repeatable (default 224x224)")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tol", type=float, default=TOL)
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds allowed for one CLI run")
    a = ap.parse_args()

    try:
        import numpy as np
        import torch
    except ImportError:
        print("SKIP: python3-torch not installed")
        return 77
    torch.set_num_threads(1)  # CI machines are small and shared

    from mobileone_tools.reference import make_case

    try:
        sizes = [make_case.parse_size(s) for s in (a.size or ["224x224"])]
    except argparse.ArgumentTypeError as e:
        ap.error(str(e))
    cli = os.path.abspath(a.cli)
    try:
        mo_cli.check_executable(cli)
    except mo_cli.CliError as e:
        print(f"FAIL: {e}")
        return 1

    # A fresh directory: stale files from another seed would make a mess.
    work = os.path.abspath(a.workdir)
    case_dir = os.path.join(work, a.variant)
    shutil.rmtree(case_dir, ignore_errors=True)
    os.makedirs(case_dir)

    t0 = time.time()
    case = make_case.make_case(case_dir, a.variant, variant=a.variant, num_classes=1000,
                               sizes=sizes, seed=a.seed)
    print(f"reference for {a.variant} made in {time.time() - t0:.1f} s")

    failures = 0
    for form in ("unfused", "fused"):
        for (w, h) in sizes:
            label = f"{a.variant} {form} {w}x{h}"
            out_dir = os.path.join(case_dir, f"out-{form}-{w}x{h}")
            os.makedirs(out_dir, exist_ok=True)
            # 1 thread for the unfused form, 2 for the fused one (the split
            # and barrier-free depthwise -> pointwise rows of mo-session.c).
            try:
                proc = mo_cli.run(cli, ["run", case["yaml"][form], "--input",
                                        case["inputs"][(w, h)], "--output-dir", out_dir,
                                        "--threads", "1" if form == "unfused" else "2"],
                                  timeout=a.timeout)
            except mo_cli.CliError as e:
                print(f"FAIL {label}: {e}")
                failures += 1
                continue
            dt = proc.seconds
            got_path = os.path.join(out_dir, "logits.npy")
            try:
                got = np.load(got_path)
            except (OSError, ValueError) as e:
                print(f"FAIL {label}: cannot read {got_path}: {e}")
                failures += 1
                continue
            want = np.load(case["logits"][(w, h)]).astype(np.float64)
            if got.shape != want.shape:
                print(f"FAIL {label}: logits shape {list(got.shape)}, "
                      f"expected {list(want.shape)}")
                failures += 1
                continue
            got = got.astype(np.float64)
            if not np.isfinite(got).all():
                print(f"FAIL {label}: non-finite logits")
                failures += 1
                continue
            metric = make_case.rel_diff(got, want)
            ok = metric < a.tol
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {label}: max|c - ref| / max|ref| = "
                  f"{metric:.3e} (tol {a.tol:.0e}), argmax {int(got.argmax())} vs "
                  f"{int(want.argmax())}, cli {dt:.2f} s")
    if failures:
        print(f"{failures} run(s) failed")
        return 1
    print("all runs passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
