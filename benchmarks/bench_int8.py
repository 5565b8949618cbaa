#!/usr/bin/python3
"""Side-by-side benchmark of the int8 engine (docs/int8.md): for each
variant, our int8 network, our float32 network and ONNX Runtime float32 on
the same fused weights, alternating the three in one run (--rounds rounds
of --iterations timed runs each); the figure is the median of the rounds'
medians, and the ratios are ORT fp32 / ours int8 and ours fp32 / ours int8.

Networks: random MobileOne classifiers (as bench_vs_ort.py builds them;
speed does not depend on the weights), calibrated with `mobileone-cli
calibrate` on a few synthetic pictures (scales only set ranges; they do
not change the work).

--isa L1,L2 runs ours (fp32 and int8) at each of these MOBILEONE_ISA
levels in the same alternation, one row per level (e.g. avx2-novnni,avx2 to
compare the int8 GEMM without and with AVX-VNNI); the default is the best
level this CPU has.

With --shapes, the shipped models instead: models/shapes-detect.yaml and
models/shapes-segment.yaml (float32) against their int8 descriptions
models/shapes-*-int8.yaml (the shipped scales), alternating, at 320x320;
no ORT column (there is no ONNX export of these heads here).

usage (from the top of the tree):
  PYTHONPATH=tools /usr/bin/python3 benchmarks/bench_int8.py [--variants s0,s1]
      [--threads 1,2] [--iterations 30] [--rounds 5] [--isa avx2-novnni,avx2] [--shapes]
"""
import argparse
import os
import statistics
import tempfile

import numpy as np
from PIL import Image

import bench_vs_ort as bv
from mobileone_tools import cli as mo_cli


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=mo_cli.default_path())
    ap.add_argument("--variants", default="s0")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--isa", default="",
                    help="MOBILEONE_ISA levels, comma-separated (default: the CPU's best)")
    ap.add_argument("--shapes", action="store_true",
                    help="the shipped shapes models, fp32 against int8")
    a = ap.parse_args()
    if a.shapes:
        return shapes(a)
    levels = [x for x in a.isa.split(",") if x] or [None]
    bv.torch.set_num_threads(1)
    cli = a.cli
    mo_cli.check_executable(cli)
    tmp = tempfile.mkdtemp(prefix="mobileone-bench-int8-")
    pics = os.path.join(tmp, "pictures")
    os.makedirs(pics)
    rng = np.random.default_rng(1)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)).save(
            os.path.join(pics, "p%d.png" % i))
    print(f"# {a.rounds} rounds x {a.iterations} iterations, alternating ORT fp32, ours fp32, "
          "ours int8; 224x224")
    print(f"{'model':6} {'thr':>3} {'ORT fp32 ms':>11} {'fp32 ms':>8} {'int8 ms':>8} "
          f"{'vs ORT fp32':>11} {'vs our fp32':>11} kernels")
    for v in a.variants.split(","):
        d = os.path.join(tmp, v)
        yaml, onnx_path, x_path, (w, h), _ = bv.prepare_classifier(d, v, 224, 224)
        raw = os.path.join(d, "input.f32")
        np.load(x_path).astype(np.float32).tofile(raw)
        scales = os.path.join(os.path.dirname(yaml), "int8-scales.safetensors")
        mo_cli.run(cli, ["calibrate", yaml, "--images", pics, "--output", scales])
        y8 = os.path.join(os.path.dirname(yaml), v + "-int8.yaml")
        with open(yaml) as f, open(y8, "w") as g:
            g.write(f.read() + "\nprecision: int8\nint8_scales: int8-scales.safetensors\n")
        isa = {lv: with_isa(lv, lambda: [
            line for line in mo_cli.run(cli, ["bench", y8, "--iterations", "1"]).stdout.splitlines()
            if line.startswith("model:")][0].split("kernels:")[1].split()[0]) for lv in levels}
        ort_out = os.path.join(d, "ort.f32")
        for t in (int(s) for s in a.threads.split(",")):
            o = []
            f32 = {lv: [] for lv in levels}
            i8 = {lv: [] for lv in levels}
            for _ in range(a.rounds):
                o.append(bv.peer(onnx_path, t, a.iterations, raw, w, h, ort_out)[0])
                for lv in levels:
                    f32[lv].append(with_isa(lv, lambda: bv.ours(cli, yaml, t, a.iterations,
                                                               "224x224")[0]))
                    i8[lv].append(with_isa(lv, lambda: bv.ours(cli, y8, t, a.iterations,
                                                              "224x224")[0]))
            mo = statistics.median(o)
            for lv in levels:
                mf, mi = statistics.median(f32[lv]), statistics.median(i8[lv])
                print(f"{v:6} {t:>3} {mo:11.3f} {mf:8.3f} {mi:8.3f} {mo / mi:10.2f}x "
                      f"{mf / mi:10.2f}x {isa[lv]}", flush=True)


def with_isa(level, fn):
    """fn() with MOBILEONE_ISA=level (None: unset, the CPU's best)."""
    old = os.environ.pop("MOBILEONE_ISA", None)
    if level is not None:
        os.environ["MOBILEONE_ISA"] = level
    try:
        return fn()
    finally:
        os.environ.pop("MOBILEONE_ISA", None)
        if old is not None:
            os.environ["MOBILEONE_ISA"] = old


def shapes(a):
    cli = a.cli
    mo_cli.check_executable(cli)
    models = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "models")
    print(f"# {a.rounds} rounds x {a.iterations} iterations, alternating ours fp32 and "
          "ours int8; 320x320")
    print(f"{'model':15} {'thr':>3} {'fp32 ms':>8} {'int8 ms':>8} {'fp32 / int8':>11} kernels")
    for name in ("shapes-detect", "shapes-segment"):
        y32 = os.path.join(models, name + ".yaml")
        y8 = os.path.join(models, name + "-int8.yaml")
        isa = [line for line in mo_cli.run(cli, ["bench", y8, "--iterations", "1"]).stdout.splitlines()
               if line.startswith("model:")][0].split("kernels:")[1].split()[0]
        for t in (int(s) for s in a.threads.split(",")):
            f32, i8 = [], []
            for _ in range(a.rounds):
                f32.append(bv.ours(cli, y32, t, a.iterations, "320x320")[0])
                i8.append(bv.ours(cli, y8, t, a.iterations, "320x320")[0])
            mf, mi = statistics.median(f32), statistics.median(i8)
            print(f"{name:15} {t:>3} {mf:8.3f} {mi:8.3f} {mf / mi:10.2f}x {isa}", flush=True)


if __name__ == "__main__":
    main()
