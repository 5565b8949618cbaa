#!/usr/bin/python3
"""Side-by-side benchmark: mobileone-cli against ONNX Runtime on the same
fused networks, on the same CPU, alternating the two in one run.

For each variant: a random MobileOne (mobileone_tools.reference, random BN statistics)
is folded, saved as fused safetensors + YAML for mobileone-cli and exported
to ONNX for ONNX Runtime (onnxruntime-node from npm: run
`npm install --ignore-scripts onnxruntime-node@1.30.0` in benchmarks/ once).
Both runtimes get the same input; their outputs are compared. Timings are
medians over --iterations runs, repeated --rounds times alternating the two
runtimes; the reported figure is the median of the rounds' medians.

The FMA peak is measured in the same run by fma_peak.c (compiled with
-march=native), so "share of peak" reads GMACs / time / peak.

Models: the classifiers s0..s4 at --size (default 224x224) and ssdlite-s0,
MobileOne-S0 + SSDLite (91 classes, COCO-sized) at 320x320: its timing is
the network up to the raw head outputs in both runtimes.

usage (from the top of the tree; the reference comes from tools/):
  PYTHONPATH=tools /usr/bin/python3 benchmarks/bench_vs_ort.py [--cli CLI]
      [--variants s0,...,ssdlite-s0] [--threads 1,2] [--iterations 30]
      [--rounds 3] [--size 224x224] [--before-cli OLD_CLI]

--before-cli times a second mobileone-cli (another build: the tree before a
change) on the same files in the same alternation, for "nothing got slower"
checks; its column is "before ms" and the ratio before/ours (> 1: faster now).
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

import numpy as np
import torch

# tools/ on PYTHONPATH (set by the caller, see usage above).
from mobileone_tools import cli as mo_cli
from mobileone_tools.reference import make_case
from mobileone_tools.reference import make_ssd_case
from mobileone_tools.reference import mobileone_ref as ref
from mobileone_tools.reference import ssdlite_ref as ssd
from mobileone_tools.reference import st_io

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def fma_peak(tmp):
    exe = os.path.join(tmp, "fma_peak")
    subprocess.run(["gcc", "-O2", "-march=native", "-ffp-contract=fast",
                    os.path.join(HERE, "fma_peak.c"), "-o", exe], check=True)
    runs = [float(sh([exe]).split()[0]) for _ in range(3)]
    return max(runs)


def ours(cli, yaml, threads, iterations, size):
    out = mo_cli.run(cli, ["bench", yaml, "--threads", threads, "--iterations",
                           iterations, "--size", size]).stdout
    for line in out.splitlines():
        if line.startswith("median_ms:"):
            f = line.split()
            return float(f[1]), float(f[3])
    raise RuntimeError(out)


def peer(model, threads, iterations, raw_input, w, h, out_path, optimized=None):
    """ORT's median and min ms; @optimized: where ORT writes the graph it runs."""
    r = json.loads(sh(["node", os.path.join(HERE, "ort_bench.js"), model, str(threads),
                       str(iterations), raw_input, str(w), str(h), out_path]
                      + ([optimized] if optimized else [])))
    return r["median_ms"], r["min_ms"]


def prepare_classifier(d, v, w, h):
    """A random S0..S4 classifier: fused YAML, ONNX, input; output logits.npy."""
    case = make_case.make_case(d, v, variant=v, sizes=((w, h),), seed=1, verbose=False)
    wm, k, se = ref.VARIANTS[v]
    fused = ref.build_model(None, wm, k, se, 1000, inference_mode=True).float().eval()
    sd, _ = st_io.load_file(case["weights"]["fused"])
    fused.load_state_dict({n: torch.from_numpy(np.asarray(t, dtype=np.float32))
                           for n, t in sd.items()})
    onnx_path = os.path.join(d, v + ".onnx")
    x = np.load(case["inputs"][(w, h)])
    torch.onnx.export(fused, torch.from_numpy(x), onnx_path, opset_version=13,
                      input_names=["input"], output_names=["logits"])
    return case["yaml"]["fused"], onnx_path, case["inputs"][(w, h)], (w, h), "logits.npy"


class _RawSsd(torch.nn.Module):
    """The SSD network up to the raw outputs, as mobileone-cli bench times it."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        out = self.model(x)
        return out["cls_logits"], out["bbox_regression"]


def prepare_ssd(d, v, w=320, h=320, num_classes=91):
    """A random MobileOne + SSDLite (COCO-sized head) at 320x320."""
    paths = make_ssd_case.make_ssd_case(d, "ssd", num_classes, variant=v,
                                        sizes=((w, h),), seed=1, verbose=False)
    model = ssd.SSDLiteMobileOne(num_classes, variant=v, inference_mode=True).float().eval()
    sd, _ = st_io.load_file(os.path.join(d, "ssd-fused.safetensors"))
    model.load_state_dict({n: torch.from_numpy(np.asarray(t, dtype=np.float32))
                           for n, t in sd.items()})
    onnx_path = os.path.join(d, "ssd.onnx")
    x = np.load(paths["inputs"][(w, h)]).astype(np.float32)
    torch.onnx.export(_RawSsd(model), torch.from_numpy(x), onnx_path, opset_version=13,
                      input_names=["input"], output_names=["cls_logits", "bbox_regression"])
    return paths["yaml"]["fused"], onnx_path, paths["inputs"][(w, h)], (w, h), "cls_logits.npy"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=mo_cli.default_path(),
                    help="mobileone-cli (default: $MOBILEONE_CLI or the build/ folder's)")
    ap.add_argument("--variants", default="s0,s1,s2,s3,s4,ssdlite-s0")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", default="224x224")
    ap.add_argument("--before-cli", default=None,
                    help="another mobileone-cli (an older build) timed alongside")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cli = a.cli
    mo_cli.check_executable(cli)
    before = a.before_cli
    if before:
        mo_cli.check_executable(before)
    w, h = (int(v) for v in a.size.split("x"))
    tmp = tempfile.mkdtemp(prefix="mobileone-bench-")
    peak1 = fma_peak(tmp)
    print(f"# FMA peak, one thread: {peak1:.1f} GMAC/s (fma_peak.c, -march=native)")
    print(f"# {sh(['uname', '-m']).strip()}, {os.cpu_count()} cores; "
          f"{a.rounds} rounds x {a.iterations} iterations, alternating; input {w}x{h}")
    print(f"{'model':8} {'thr':>3} {'GMACs':>7} {'ours ms':>9} {'ORT ms':>9} "
          f"{'speedup':>8} {'ours %peak':>10} {'ORT %peak':>9} {'max rel diff':>12}"
          + (f" {'before ms':>9} {'before/ours':>11}" if before else ""))
    for v in a.variants.split(","):
        d = os.path.join(tmp, v)
        if v.startswith("ssdlite-"):
            yaml, onnx_path, x_path, (vw, vh), out_name = prepare_ssd(d, v[len("ssdlite-"):])
        else:
            yaml, onnx_path, x_path, (vw, vh), out_name = prepare_classifier(d, v, w, h)
        size = f"{vw}x{vh}"
        raw = os.path.join(d, "input.f32")
        np.load(x_path).astype(np.float32).tofile(raw)
        macs = None
        for line in mo_cli.run(cli, ["info", yaml, "--size", size]).stdout.splitlines():
            if line.startswith("MACs:"):
                macs = int(line.split()[1]) / 1e9

        # Same network, same numbers.
        ort_out = os.path.join(d, "ort.f32")
        peer(onnx_path, 1, 1, raw, vw, vh, ort_out)
        mo_cli.run(cli, ["run", yaml, "--input", x_path, "--output-dir", d])
        ours_out = np.load(os.path.join(d, out_name)).ravel()
        ort_res = np.fromfile(ort_out, dtype=np.float32)
        diff = np.abs(ours_out - ort_res).max() / np.abs(ort_res).max()
        w_, h_ = vw, vh

        for t in (int(s) for s in a.threads.split(",")):
            mine, theirs, old = [], [], []
            for _ in range(a.rounds):
                theirs.append(peer(onnx_path, t, a.iterations, raw, w_, h_, ort_out)[0])
                mine.append(ours(cli, yaml, t, a.iterations, size)[0])
                if before:
                    old.append(ours(before, yaml, t, a.iterations, size)[0])
            m, o = statistics.median(mine), statistics.median(theirs)
            extra = ""
            if before:
                b = statistics.median(old)
                extra = f" {b:9.3f} {b / m:10.2f}x"
            peak = peak1 * t
            print(f"{v:8} {t:>3} {macs:7.3f} {m:9.3f} {o:9.3f} {o / m:7.2f}x "
                  f"{100 * macs / (m / 1e3) / peak:9.1f}% {100 * macs / (o / 1e3) / peak:8.1f}% "
                  f"{diff:12.2e}{extra}", flush=True)


if __name__ == "__main__":
    main()
