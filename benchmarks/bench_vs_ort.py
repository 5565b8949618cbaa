#!/usr/bin/python3
"""Side-by-side benchmark: mobileone-cli against ONNX Runtime on the same
fused networks, on the same CPU, alternating the two in one run.

For each variant: a random MobileOne (tools/reference, random BN statistics)
is folded, saved as fused safetensors + YAML for mobileone-cli and exported
to ONNX for ONNX Runtime (onnxruntime-node from npm: run
`npm install --ignore-scripts onnxruntime-node@1.30.0` in benchmarks/ once).
Both runtimes get the same input; their outputs are compared. Timings are
medians over --iterations runs, repeated --rounds times alternating the two
runtimes; the reported figure is the median of the rounds' medians.

The FMA peak is measured in the same run by fma_peak.c (compiled with
-march=native), so "share of peak" reads GMACs / time / peak.

usage: benchmarks/bench_vs_ort.py [--build build] [--variants s0,s1,...]
       [--threads 1,2] [--iterations 30] [--rounds 3] [--size 224x224]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tools", "reference"))
import make_case  # noqa: E402
import mobileone_ref as ref  # noqa: E402
import st_io  # noqa: E402


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def fma_peak(tmp):
    exe = os.path.join(tmp, "fma_peak")
    subprocess.run(["gcc", "-O2", "-march=native", "-ffp-contract=fast",
                    os.path.join(HERE, "fma_peak.c"), "-o", exe], check=True)
    runs = [float(sh([exe]).split()[0]) for _ in range(3)]
    return max(runs)


def ours(cli, yaml, threads, iterations, size):
    out = sh([cli, "bench", yaml, "--threads", str(threads), "--iterations",
              str(iterations), "--size", size])
    for line in out.splitlines():
        if line.startswith("median_ms:"):
            f = line.split()
            return float(f[1]), float(f[3])
    raise RuntimeError(out)


def peer(model, threads, iterations, raw_input, w, h, out_path):
    r = json.loads(sh(["node", os.path.join(HERE, "ort_bench.js"), model, str(threads),
                       str(iterations), raw_input, str(w), str(h), out_path]))
    return r["median_ms"], r["min_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--variants", default="s0,s1,s2,s3,s4")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", default="224x224")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cli = os.path.join(a.build, "mobileone", "mobileone-cli")
    w, h = (int(v) for v in a.size.split("x"))
    tmp = tempfile.mkdtemp(prefix="mobileone-bench-")
    peak1 = fma_peak(tmp)
    print(f"# FMA peak, one thread: {peak1:.1f} GMAC/s (fma_peak.c, -march=native)")
    print(f"# {sh(['uname', '-m']).strip()}, {os.cpu_count()} cores; "
          f"{a.rounds} rounds x {a.iterations} iterations, alternating; input {w}x{h}")
    print(f"{'model':8} {'thr':>3} {'GMACs':>7} {'ours ms':>9} {'ORT ms':>9} "
          f"{'speedup':>8} {'ours %peak':>10} {'ORT %peak':>9} {'max rel diff':>12}")
    for v in a.variants.split(","):
        d = os.path.join(tmp, v)
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
        raw = os.path.join(d, "input.f32")
        x.astype(np.float32).tofile(raw)
        yaml = case["yaml"]["fused"]
        macs = None
        for line in sh([cli, "info", yaml, "--size", a.size]).splitlines():
            if line.startswith("MACs:"):
                macs = int(line.split()[1]) / 1e9

        # Same network, same numbers.
        ort_out = os.path.join(d, "ort.f32")
        peer(onnx_path, 1, 1, raw, w, h, ort_out)
        sh([cli, "run", yaml, "--input", case["inputs"][(w, h)], "--output-dir", d])
        ours_logits = np.load(os.path.join(d, "logits.npy")).ravel()
        ort_logits = np.fromfile(ort_out, dtype=np.float32)
        diff = np.abs(ours_logits - ort_logits).max() / np.abs(ort_logits).max()

        for t in (int(s) for s in a.threads.split(",")):
            mine, theirs = [], []
            for _ in range(a.rounds):
                theirs.append(peer(onnx_path, t, a.iterations, raw, w, h, ort_out)[0])
                mine.append(ours(cli, yaml, t, a.iterations, a.size)[0])
            m, o = statistics.median(mine), statistics.median(theirs)
            peak = peak1 * t
            print(f"{v:8} {t:>3} {macs:7.3f} {m:9.3f} {o:9.3f} {o / m:7.2f}x "
                  f"{100 * macs / (m / 1e3) / peak:9.1f}% {100 * macs / (o / 1e3) / peak:8.1f}% "
                  f"{diff:12.2e}", flush=True)


if __name__ == "__main__":
    main()
