"""Checks mobileone-cli's SSDLite head against PyTorch and torchvision at 320x320.

  python3 -m mobileone_tools.reference.check_ssd [--cli CLI] --workdir DIR \\
      [--size 320x320 ...]

Makes a random detector in DIR with make_ssd_case.py (MobileOne-S0 backbone,
unfused with k = 4, extra_channels 512/256/256/128, 91 classes, no threshold
keys in the YAML so the defaults apply: torchvision's ssdlite320 ones), then for
the unfused and the fused YAML runs

  CLI run YAML --input DIR/input-WxH.npy --output-dir OUT

and checks:
  - OUT/cls_logits.npy and OUT/bbox_regression.npy against PyTorch:
    max|c - ref| / max|ref| < --tol (1e-4), shapes [1, N, 91] and [1, N, 4];
  - OUT/detections.json against torchvision's SSD.postprocess_detections run on
    the CLI's own raw outputs: box for box (same order, labels, boxes within
    1e-4 px, scores within 2e-6). With the default threshold 0.001 and 91
    classes there are 27000 candidates, so this covers batched_nms's per-class
    path at full size;
  - and reports how many of PyTorch's own detections the CLI found (random
    weights put hundreds of scores within 1e-6 of each other, so an engine
    within 1e-6 of PyTorch may legitimately order a few differently).
Exit status: 0 pass, 1 failure, 77 (meson's "skipped") without torch/torchvision.
"""

import argparse
import json
import os
import shutil
import sys
import time

from mobileone_tools import cli as mo_cli

TOL = 1e-4
BOX_TOL = 1e-4
SCORE_TOL = 2e-6


def compare_detections(got, want):
    """None when equal box for box, else the first difference."""
    if len(got) != len(want):
        return f"{len(got)} detections, torchvision has {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        err = max(abs(a - b) for a, b in zip(g["box"], w["box"]))
        if g["label_id"] != w["label_id"] or err > BOX_TOL or \
                abs(g["score"] - w["score"]) > SCORE_TOL:
            return f"detection {i}: {g} vs torchvision {w}"
    return None


def matched_fraction(got, want):
    """Share of @want found in @got (same label, boxes within 1e-2 px)."""
    if not want:
        return 1.0
    used = set()
    hits = 0
    for w in want:
        for j, g in enumerate(got):
            if j not in used and g["label_id"] == w["label_id"] and \
                    max(abs(a - b) for a, b in zip(g["box"], w["box"])) < 1e-2:
                used.add(j)
                hits += 1
                break
    return hits / len(want)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=mo_cli.default_path(),
                    help="path to mobileone-cli (default: $MOBILEONE_CLI or the build/ "
                         "folder's)")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--size", action="append", metavar="WxH")
    ap.add_argument("--variant", default="s0")
    ap.add_argument("--num-classes", type=int, default=91)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tol", type=float, default=TOL)
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()

    try:
        import numpy as np
        import torch
        import torchvision  # noqa: F401
    except ImportError:
        print("SKIP: python3-torch / python3-torchvision not installed")
        return 77

    from mobileone_tools.reference import make_case
    from mobileone_tools.reference import make_ssd_case
    from mobileone_tools.reference import ssdlite_ref as ssd

    sizes = [make_case.parse_size(s) for s in (a.size or ["320x320"])]
    cli = os.path.abspath(a.cli)
    try:
        mo_cli.check_executable(cli)
    except mo_cli.CliError as e:
        print(f"FAIL: {e}")
        return 1
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    t0 = time.time()
    case = make_ssd_case.make_ssd_case(work, "ssd", a.num_classes, variant=a.variant,
                                       sizes=sizes, seed=a.seed)
    print(f"reference made in {time.time() - t0:.1f} s")
    torch.set_num_threads(1)

    failures = 0
    for form in ("unfused", "fused"):
        for (w, h) in sizes:
            label = f"{a.variant} ssdlite {form} {w}x{h}"
            out = os.path.join(work, f"out-{form}-{w}x{h}")
            try:
                proc = mo_cli.run(cli, ["run", case["yaml"][form], "--input",
                                        case["inputs"][(w, h)], "--output-dir", out],
                                  timeout=a.timeout)
            except mo_cli.CliError as e:
                print(f"FAIL {label}: {e}")
                failures += 1
                continue
            dt = proc.seconds
            problems = []
            raw = {}
            for key in ("cls_logits", "bbox_regression"):
                got = np.load(os.path.join(out, f"{key}.npy"))
                want = np.load(case[key][(w, h)])
                if got.shape != want.shape:
                    problems.append(f"{key} shape {list(got.shape)}, expected "
                                    f"{list(want.shape)}")
                    continue
                err = make_case.rel_diff(got, want)
                raw[key] = got
                print(f"  {label}: {key} max|c - ref| / max|ref| = {err:.3e}")
                if not err < a.tol:
                    problems.append(f"{key} error {err:.3e} >= {a.tol:.0e}")
            with open(os.path.join(out, "detections.json")) as f:
                dets = json.load(f)
            if len(raw) == 2:
                anchors = ssd.default_boxes((h, w))
                tv = ssd.postprocess(torch.from_numpy(raw["cls_logits"]),
                                     torch.from_numpy(raw["bbox_regression"]),
                                     [anchors], [(h, w)])[0]
                want = [{"label_id": int(lb), "score": float(s),
                         "box": [float(v) for v in b]}
                        for b, s, lb in zip(tv["boxes"], tv["scores"], tv["labels"])]
                diff = compare_detections(dets, want)
                if diff:
                    problems.append("detections.json differs from torchvision on the "
                                    "CLI's raw outputs: " + diff)
                else:
                    print(f"  {label}: {len(dets)} detections equal torchvision's "
                          "post-processing of the CLI's raw outputs")
            with open(case["detections"][(w, h)]) as f:
                ref_dets = json.load(f)["runs"][0]["detections"]
            frac = matched_fraction(dets, ref_dets)
            print(f"  {label}: {100 * frac:.1f}% of PyTorch's {len(ref_dets)} "
                  f"detections found (cli {dt:.2f} s)")
            if frac < 0.9:
                problems.append(f"only {100 * frac:.1f}% of PyTorch's detections found")
            for p in problems:
                print(f"FAIL {label}: {p}")
            if not problems:
                print(f"ok   {label}")
            failures += bool(problems)
    if failures:
        print(f"{failures} run(s) failed")
        return 1
    print("all runs passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
