#!/usr/bin/python3
"""Side-by-side benchmark of the int8 engine (docs/int8.md): for each
variant, our int8 network, ONNX Runtime float32 on the same fused weights,
ONNX Runtime int8 on the same quantised network (a QDQ model written by
mobileone_tools.quant.export_qdq from the same scales; ORT fuses it into its
QLinearConv kernels) and our float32 network, alternating the four in one
run (--rounds rounds of --iterations timed runs each); the figure is the
median of the rounds' medians. Ratios: ORT fp32 / ours int8, ORT int8 /
ours int8 and ours fp32 / ours int8 (> 1: ours int8 is faster).

Before timing, per variant: the int8 layer count of the QDQ model must
equal the engine's (`mobileone-cli info`), and the graph ORT really runs
(its optimised model, session option optimizedModelFilePath) must hold one
QLinearConv per int8 layer, else the run stops. The "agree" columns
compare the first output on the benchmark input: cosine of ours int8
against ORT int8 and against float32, and whether the arg-max matches
(docs/int8.md: two int8 implementations of a 40-layer network never match
bit for bit, a 1-LSB rounding difference cascades).

Networks: random MobileOne classifiers (S0..S4 at 224x224, as
bench_vs_ort.py builds them) and ssdlite-s0 (MobileOne-S0 + SSDLite, 91
classes, 320x320, up to the raw head outputs); speed does not depend on
the weights. Calibrated with `mobileone-cli calibrate` on 4 synthetic
pictures (scales set ranges, not the work).

--cpu-time N adds, for 1 thread, the CPU time (user + system, from the
process's rusage) per inference: the difference between a run of N + 5 and
one of 5 inferences, divided by N, median of --rounds rounds, alternating
as above. On a shared, overloaded machine it does not count the time a
process waits for a core, which inflates the wall-clock medians of every
runtime; it still counts what other processes do to the caches (and to a
shared physical core).

--isa L1,L2 runs ours (int8 and fp32) at each of these MOBILEONE_ISA
levels in the same alternation, one row per level (e.g. avx2-novnni,avx2 to
compare the int8 GEMM without and with AVX-VNNI); the default is the best
level this CPU has.

With --shapes, the shipped models instead: models/shapes-detect.yaml and
models/shapes-segment.yaml (float32) against their int8 descriptions
models/shapes-*-int8.yaml (the shipped scales), alternating, at 320x320;
no ORT column (there is no ONNX export of these heads here).

usage (from benchmarks/, onnxruntime-node in node_modules, python3-onnx):
  PYTHONPATH=../tools /usr/bin/python3 bench_int8.py [--variants s0,...,ssdlite-s0]
      [--threads 1,2] [--iterations 20] [--rounds 5] [--no-our-fp32]
      [--cpu-time 40] [--no-wall] [--isa avx2-novnni,avx2] [--shapes]
"""
import argparse
import os
import statistics
import subprocess
import tempfile

import numpy as np
from PIL import Image

import bench_vs_ort as bv
from mobileone_tools import cli as mo_cli
from mobileone_tools.quant import export_qdq


def cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def ort_op_counts(path):
    import onnx
    counts = {}
    for n in onnx.load(path).graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


def cpu_seconds(cmd):
    """CPU time (user + system) of one run of @cmd, from its rusage."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit status {p.returncode}")
    return ru.ru_utime + ru.ru_stime


def cpu_ms_per_inference(make_cmd, n):
    """CPU ms per inference: (run of n + 5) - (run of 5), over n."""
    return 1e3 * (cpu_seconds(make_cmd(n + 5)) - cpu_seconds(make_cmd(5))) / n


def engine_int8_layers(cli, yaml):
    for line in mo_cli.run(cli, ["info", yaml]).stdout.splitlines():
        if line.startswith("precision:"):
            f = line.split()
            return int(f[2].lstrip("(")) if f[1] == "int8" else 0
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=mo_cli.default_path())
    ap.add_argument("--variants", default="s0,s1,s2,s3,s4,ssdlite-s0")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-our-fp32", action="store_true",
                    help="leave our float32 network out of the alternation")
    ap.add_argument("--cpu-time", type=int, default=0, metavar="N",
                    help="also CPU ms per inference at 1 thread over N inferences")
    ap.add_argument("--no-wall", action="store_true", help="no wall-clock timing")
    ap.add_argument("--isa", default="",
                    help="MOBILEONE_ISA levels for ours, comma-separated (default: the CPU's best)")
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
    fp32_col = not a.no_our_fp32
    print(f"# {os.uname().machine}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
          f"{a.rounds} rounds x {a.iterations} iterations, alternating ours int8, ORT fp32, "
          f"ORT int8 (QDQ){', ours fp32' if fp32_col else ''}")
    print(f"{'model':10} {'thr':>3} {'int8 ms':>8} {'ORT fp32':>9} {'ORT int8':>9} "
          f"{'vs ORTfp32':>10} {'vs ORTint8':>10}"
          + (f" {'fp32 ms':>8} {'vs fp32':>8}" if fp32_col else "")
          + "  int8 layers / ORT QLinearConv; cos(ours8, ORT8) cos(ours8, fp32) argmax; kernels")
    for v in a.variants.split(","):
        d = os.path.join(tmp, v)
        if v.startswith("ssdlite-"):
            yaml, onnx_path, x_path, (w, h), out_name = bv.prepare_ssd(d, v[len("ssdlite-"):])
        else:
            yaml, onnx_path, x_path, (w, h), out_name = bv.prepare_classifier(d, v, 224, 224)
        size = f"{w}x{h}"
        ydir = os.path.dirname(yaml)
        raw = os.path.join(d, "input.f32")
        np.load(x_path).astype(np.float32).tofile(raw)
        scales = os.path.join(ydir, "int8-scales.safetensors")
        mo_cli.run(cli, ["calibrate", yaml, "--images", pics, "--output", scales])
        y8 = os.path.join(ydir, os.path.basename(yaml)[:-len(".yaml")] + "-int8.yaml")
        with open(yaml) as f, open(y8, "w") as g:
            g.write(f.read() + "\nprecision: int8\nint8_scales: int8-scales.safetensors\n")
        qdq = os.path.join(d, "qdq.onnx")
        layers = export_qdq.export(yaml, scales, qdq)
        n_engine = engine_int8_layers(cli, y8)
        if len(layers) != n_engine:
            raise SystemExit(f"{v}: the QDQ model has {len(layers)} int8 layers, the engine "
                             f"{n_engine}")
        # What ORT runs: its optimised graph must hold the int8 kernels.
        ort8_out, optimized = os.path.join(d, "ort8.f32"), os.path.join(d, "qdq-ort-optimized.onnx")
        bv.peer(qdq, 1, 1, raw, w, h, ort8_out, optimized)
        ops = ort_op_counts(optimized)
        n_qconv = ops.get("QLinearConv", 0)
        if n_qconv != len(layers):
            raise SystemExit(f"{v}: ORT's optimised QDQ graph has {n_qconv} QLinearConv for "
                             f"{len(layers)} int8 layers: {ops}")
        # The outputs, on the benchmark input.
        ort_out = os.path.join(d, "ort.f32")
        bv.peer(onnx_path, 1, 1, raw, w, h, ort_out)
        o8, o32 = os.path.join(d, "ours8"), os.path.join(d, "ours32")
        mo_cli.run(cli, ["run", y8, "--input", x_path, "--output-dir", o8])
        mo_cli.run(cli, ["run", yaml, "--input", x_path, "--output-dir", o32])
        ours8 = np.load(os.path.join(o8, out_name)).ravel()
        ours32 = np.load(os.path.join(o32, out_name)).ravel()
        ort8 = np.fromfile(ort8_out, dtype=np.float32)
        agree = (f"{len(layers)}/{n_qconv}; {cos(ours8, ort8):.4f} {cos(ours8, ours32):.4f} "
                 f"{'same' if ours8.argmax() == ort8.argmax() else 'differs'}")
        isa = {lv: with_isa(lv, lambda: [
            line for line in mo_cli.run(cli, ["bench", y8, "--iterations", "1",
                                              "--size", size]).stdout.splitlines()
            if line.startswith("model:")][0].split("kernels:")[1].split()[0]) for lv in levels}
        for t in ([] if a.no_wall else (int(s) for s in a.threads.split(","))):
            i8 = {lv: [] for lv in levels}
            f32 = {lv: [] for lv in levels}
            of, oi = [], []
            for _ in range(a.rounds):
                for lv in levels:
                    i8[lv].append(with_isa(lv, lambda: bv.ours(cli, y8, t, a.iterations,
                                                               size)[0]))
                of.append(bv.peer(onnx_path, t, a.iterations, raw, w, h, ort_out)[0])
                oi.append(bv.peer(qdq, t, a.iterations, raw, w, h, ort8_out)[0])
                if fp32_col:
                    for lv in levels:
                        f32[lv].append(with_isa(lv, lambda: bv.ours(cli, yaml, t,
                                                                    a.iterations, size)[0]))
            mof, moi = statistics.median(of), statistics.median(oi)
            for lv in levels:
                mi = statistics.median(i8[lv])
                extra = ""
                if fp32_col:
                    mf = statistics.median(f32[lv])
                    extra = f" {mf:8.3f} {mf / mi:7.2f}x"
                print(f"{v:10} {t:>3} {mi:8.3f} {mof:9.3f} {moi:9.3f} {mof / mi:9.2f}x "
                      f"{moi / mi:9.2f}x{extra}  {agree}; {isa[lv]}", flush=True)
        if a.cpu_time > 0:
            js = os.path.join(bv.HERE, "ort_bench.js")

            def ours_cmd(y):
                return lambda n: [cli, "bench", y, "--threads", "1", "--iterations", str(n),
                                  "--size", size]

            def ort_cmd(m, out):
                return lambda n: ["node", js, m, "1", str(n), raw, str(w), str(h), out]
            i8, of, oi, f32 = [], [], [], []
            for _ in range(a.rounds):
                i8.append(cpu_ms_per_inference(ours_cmd(y8), a.cpu_time))
                of.append(cpu_ms_per_inference(ort_cmd(onnx_path, ort_out), a.cpu_time))
                oi.append(cpu_ms_per_inference(ort_cmd(qdq, ort8_out), a.cpu_time))
                if fp32_col:
                    f32.append(cpu_ms_per_inference(ours_cmd(yaml), a.cpu_time))
            mi, mof, moi = statistics.median(i8), statistics.median(of), statistics.median(oi)
            extra = ""
            if fp32_col:
                mf = statistics.median(f32)
                extra = f" {mf:8.3f} {mf / mi:7.2f}x"
            print(f"{v:10} {'cpu':>3} {mi:8.3f} {mof:9.3f} {moi:9.3f} {mof / mi:9.2f}x "
                  f"{moi / mi:9.2f}x{extra}  {agree}; {isa[levels[0]]}; CPU ms/inference, 1 thread",
                  flush=True)
    print(f"# load at the end {os.getloadavg()[0]:.2f}")


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
