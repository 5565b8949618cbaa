"""Cross-check of the int8 engine against ONNX Runtime's int8 kernels on
the same quantised network (docs/int8.md, "ONNX Runtime int8"): a random
MobileOne classifier or SSDLite (random weights and BatchNorm statistics,
reference/make_case, make_ssd_case),
calibrated with `mobileone-cli calibrate`, exported by quant/export_qdq as
a QDQ model and run by ONNX Runtime (benchmarks/ort_bench.js,
onnxruntime-node), on --inputs smooth random inputs.

Two int8 implementations of a 40-layer network never agree bit for bit:
where their roundings differ by one step (ORT rounds the bias to int32 and
requantises in its own order), the 1-LSB difference feeds the next layer's
roundings and cascades. So the yardstick is ORT against itself: the same
QDQ model with every int32 bias moved by -1, 0 or +1 step at random (the
size of the bias rounding ORT does and the engine, which keeps the bias
in float, does not), which differs only by such rounding flips. Checks:

- the QDQ model has as many int8 layers as the engine (`mobileone-cli
  info`) and the graph ORT runs holds one QLinearConv per int8 layer;
- mean over inputs of 1 - cos(ours int8, ORT int8) <= --max-ratio (1.4)
  x the mean of 1 - cos(ORT int8, ORT int8 with jittered biases): our
  int8 is as close to ORT's as ORT's is to itself. Measured (seed 3, 8
  inputs): S0 0.84, SSDLite-S0 0.90, S4 at 96x96 (squeeze-excite convs
  with zero point 128) 0.94; controls on S0 with a broken export:
  without the bias correction 3.43, every activation scale 5 % too large
  1.53.

Prints those numbers, the arg-max agreements (per image, or per SSD
anchor) and the largest differences; exits 1 on failure, 77
(skip) without node, onnxruntime-node (benchmarks/node_modules),
python3-onnx or python3-torch, and on x86 CPUs without VNNI (there ORT's
u8 x s8 kernels use vpmaddubsw, whose 16-bit sums saturate: ORT would
differ from the exact int8 network, ONNX Runtime's quantization docs).

  PYTHONPATH=tools /usr/bin/python3 -m mobileone_tools.quant.check_qdq \\
      --cli build/cli/mobileone-cli --workdir /tmp/qdq [--variant s0|...|ssdlite-s0]
      [--inputs 8]
"""
import argparse
import os
import shutil
import subprocess
import sys

from mobileone_tools import ROOT
from mobileone_tools import cli as mo_cli

ORT_BENCH = os.path.join(ROOT, "benchmarks", "ort_bench.js")


def have_ort():
    node = shutil.which("node")
    if node is None:
        return "node is not installed"
    r = subprocess.run([node, "-e", "require.resolve('onnxruntime-node')"],
                       cwd=os.path.dirname(ORT_BENCH), capture_output=True)
    if r.returncode != 0:
        return "onnxruntime-node is not installed in benchmarks/node_modules"
    return None


def ort_run(model, x_f32, w, h, out, optimized=None):
    cmd = ["node", ORT_BENCH, model, "1", "1", x_f32, str(w), str(h), out]
    subprocess.run(cmd + ([optimized] if optimized else []), check=True,
                   capture_output=True, timeout=300)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", default=mo_cli.default_path())
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--variant", default="s0",
                    help="s0..s4 (classifier, 224x224) or ssdlite-s0 (91 classes, 320x320)")
    ap.add_argument("--size", default=None, help="WxH (default: the variant's)")
    ap.add_argument("--inputs", type=int, default=8)
    ap.add_argument("--max-ratio", type=float, default=1.4)
    a = ap.parse_args()

    why = have_ort()
    if why is None and os.uname().machine in ("x86_64", "i686"):
        try:
            with open("/proc/cpuinfo") as f:
                flags = f.read()
        except OSError:
            flags = ""
        if "avx512_vnni" not in flags and "avx_vnni" not in flags:
            why = "this x86 CPU has no VNNI (ORT's u8 x s8 kernels saturate without it)"
    try:
        import numpy as np
        import onnx  # noqa: F401 (export_qdq needs it)
        import torch
        from PIL import Image
    except ImportError as e:
        why = f"{e.name} is not installed"
    if why:
        print(f"SKIP: {why}")
        return 77
    from mobileone_tools.quant import export_qdq
    from mobileone_tools.reference import make_case

    torch.set_num_threads(1)
    mo_cli.check_executable(a.cli)
    ssd = a.variant.startswith("ssdlite-")
    w, h = (int(v) for v in (a.size or ("320x320" if ssd else "224x224")).split("x"))
    wd = os.path.abspath(a.workdir)
    os.makedirs(wd, exist_ok=True)
    if ssd:
        from mobileone_tools.reference import make_ssd_case
        case = make_ssd_case.make_ssd_case(wd, "ssd", 91, variant=a.variant[len("ssdlite-"):],
                                           sizes=((w, h),), seed=3, verbose=False)
        out_name, n_cls = "cls_logits.npy", 91      # ORT's first output too
    else:
        case = make_case.make_case(wd, a.variant, variant=a.variant, sizes=((w, h),), seed=3,
                                   verbose=False)
        out_name, n_cls = "logits.npy", 1000
    yaml = case["yaml"]["fused"]
    pics = os.path.join(wd, "pictures")
    os.makedirs(pics, exist_ok=True)
    rng = np.random.default_rng(7)
    for i in range(4):
        img = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
        Image.fromarray(img).resize((w, h), Image.BILINEAR).save(
            os.path.join(pics, f"p{i}.png"))
    scales = os.path.join(wd, "scales.safetensors")
    mo_cli.run(a.cli, ["calibrate", yaml, "--images", pics, "--output", scales], timeout=300)
    y8 = os.path.join(wd, f"{a.variant}-int8.yaml")
    with open(yaml) as f, open(y8, "w") as g:
        g.write(f.read() + "\nprecision: int8\nint8_scales: scales.safetensors\n")

    qdq = os.path.join(wd, "qdq.onnx")
    layers = export_qdq.export(yaml, scales, qdq)
    n_engine = 0
    for line in mo_cli.run(a.cli, ["info", y8]).stdout.splitlines():
        if line.startswith("precision:") and line.split()[1] == "int8":
            n_engine = int(line.split()[2].lstrip("("))
    ok = True
    print(f"{a.variant} {w}x{h}: int8 layers: QDQ model {len(layers)}, engine {n_engine}")
    if len(layers) != n_engine:
        ok = False

    # The yardstick: the QDQ model with its int32 biases jittered by one step.
    import onnx as onnx_mod
    from onnx import numpy_helper
    jm = onnx_mod.load(qdq)
    for t in jm.graph.initializer:
        if t.name.endswith(".bias_q"):
            b = numpy_helper.to_array(t)
            t.CopyFrom(numpy_helper.from_array(
                (b + rng.integers(-1, 2, b.shape)).astype(np.int32), t.name))
    jitter = os.path.join(wd, "qdq-bias-jitter.onnx")
    onnx_mod.save(jm, jitter)

    ort1, pert1, fp1, top, mx = [], [], [], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
    for i in range(a.inputs):
        # Smooth random pictures (8x8 blocks) with some noise, normalised-like.
        x = rng.standard_normal((1, 3, h // 8, w // 8))
        x = np.repeat(np.repeat(x, 8, 2), 8, 3) * 1.2 + 0.3 * rng.standard_normal((1, 3, h, w))
        x = x.astype(np.float32)
        xn, xf = (os.path.join(wd, f"x{i}{s}") for s in (".npy", ".f32"))
        np.save(xn, x)
        x.tofile(xf)
        o8, o32 = os.path.join(wd, "ours8"), os.path.join(wd, "ours32")
        mo_cli.run(a.cli, ["run", y8, "--input", xn, "--output-dir", o8], timeout=300)
        mo_cli.run(a.cli, ["run", yaml, "--input", xn, "--output-dir", o32], timeout=300)
        ours = np.load(os.path.join(o8, out_name)).ravel().astype(np.float64)
        fp = np.load(os.path.join(o32, out_name)).ravel().astype(np.float64)
        optimized = os.path.join(wd, "qdq-ort-optimized.onnx") if i == 0 else None
        ort_run(qdq, xf, w, h, os.path.join(wd, "ort8.f32"), optimized)
        ort_run(jitter, xf, w, h, os.path.join(wd, "ort8p.f32"))
        o = np.fromfile(os.path.join(wd, "ort8.f32"), dtype=np.float32).astype(np.float64)
        op = np.fromfile(os.path.join(wd, "ort8p.f32"), dtype=np.float32).astype(np.float64)

        def d(u, v):
            return 1.0 - u @ v / (np.linalg.norm(u) * np.linalg.norm(v))

        def agree(u, v):
            """Share of rows (the image, or SSD's anchors) with the same arg-max class."""
            return float(np.mean(u.reshape(-1, n_cls).argmax(1) == v.reshape(-1, n_cls).argmax(1)))
        ort1.append(d(ours, o))
        pert1.append(d(o, op))
        fp1.append(d(ours, fp))
        for j, (u, v) in enumerate(((ours, o), (o, op), (ours, fp))):
            top[j] += agree(u, v)
            mx[j] = max(mx[j], np.abs(u - v).max() / np.abs(fp).max())
        if optimized:
            n_q = sum(n.op_type == "QLinearConv" for n in onnx_mod.load(optimized).graph.node)
            print(f"ORT's optimised graph: {n_q} QLinearConv")
            if n_q != len(layers):
                ok = False
    n = a.inputs
    m_ort, m_pert, m_fp = np.mean(ort1), np.mean(pert1), np.mean(fp1)
    print(f"1 - cos, mean over {n} inputs: ours int8 vs ORT int8 {m_ort:.2e}; ORT int8 vs "
          f"itself with jittered biases {m_pert:.2e} (ratio {m_ort / m_pert:.2f}, max "
          f"{a.max_ratio}); ours int8 vs float32 {m_fp:.2e}")
    what = "anchors' arg-max class" if ssd else "top-1"
    print(f"{what} agreement: ours int8 / ORT int8 {top[0] / n:.1%}, ORT int8 / ORT int8 "
          f"jittered {top[1] / n:.1%}, ours int8 / float32 {top[2] / n:.1%}")
    print(f"max |difference| / max |float32 output|: ours int8 vs ORT int8 {mx[0]:.3f}, ORT "
          f"int8 vs jittered {mx[1]:.3f}, ours int8 vs float32 {mx[2]:.3f}")
    if m_ort > a.max_ratio * m_pert:
        ok = False
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
