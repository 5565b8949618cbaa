"""PyTorch simulation of the C engine's int8 scheme on Apple's fused
MobileOne-S0 (docs/int8.md): fake quantisation with the engine's rules
(int8 weights symmetric per output channel, max |w| / 127; uint8 per-tensor
activations, zero point 0, on every ReLU output from the stem on; stem,
pooling and classifier float; bias correction from calibration means),
with the channel equalisation calibrate writes as LAYER.channel_scale.

Calibrates on the first --calibrate COCO photos of ../shared/data (sorted by
name), evaluates on the others and the Debian photos (check_int8.py's split;
PIL's resize, so a few pictures differ from the C engine's), and prints top-1
agreement, top-5 overlap and the logits' cosine with the float model for
each configuration of --configs.

  PYTHONPATH=tools /usr/bin/python3 -m mobileone_tools.quant.simulate_s0 \\
      --shared ../shared [--configs baseline,alpha,...]

With --engine CLI --model S0-INT8.yaml (a description with precision: int8
and its int8_scales, as check_int8.py writes it in its workdir), it instead
checks the simulation against the engine: the first --engine-photos
held-out photos through `mobileone-cli run` (fp32 and int8) and through the
simulation with the same scales file, printing the cosines.
"""
import argparse
import glob
import os
import subprocess
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from mobileone_tools.reference import st_io
from mobileone_tools.quant.check_int8 import DEBIAN_PHOTOS

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def load_picture(path):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = 256.0 / min(w, h)
    rw, rh = (256, int(h * s)) if w <= h else (int(w * s), 256)
    im = im.resize((rw, rh), Image.BILINEAR)
    x0, y0 = int(round((rw - 224) / 2.0)), int(round((rh - 224) / 2.0))
    im = im.crop((x0, y0, x0 + 224, y0 + 224))
    a = (np.asarray(im, np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(a.transpose(2, 0, 1).copy())


def build_layers(path):
    sd, _ = st_io.load_file(path, to_float32=True)
    layers = []
    names = ["stage0"]
    for s in range(1, 5):
        m = 0
        while "stage%d.%d.reparam_conv.weight" % (s, m) in sd:
            names.append("stage%d.%d" % (s, m))
            m += 1
    for n in names:
        w = torch.from_numpy(sd[n + ".reparam_conv.weight"])
        b = torch.from_numpy(sd[n + ".reparam_conv.bias"])
        kind = "stem" if n == "stage0" else ("dw" if w.shape[1] == 1 and w.shape[0] > 1 and w.shape[2] == 3 else "pw")
        stride = 2 if n == "stage0" or n.endswith(".0") else 1
        layers.append(dict(name=n + ".reparam_conv", kind=kind, w=w, b=b, stride=stride))
    lin = (torch.from_numpy(sd["linear.weight"]), torch.from_numpy(sd["linear.bias"]))
    return layers, lin


def conv(x, l, w=None, b=None):
    w = l["w"] if w is None else w
    b = l["b"] if b is None else b
    if l["kind"] == "dw":
        return F.conv2d(x, w, b, l["stride"], 1, 1, w.shape[0])
    if l["kind"] == "pw":
        return F.conv2d(x, w, b)
    return F.conv2d(x, w, b, l["stride"], 1)


def forward_float(x, layers, lin, observe=None):
    for i, l in enumerate(layers):
        x = F.relu(conv(x, l))
        if observe:
            observe(i, x)
    return F.linear(x.mean((2, 3)), *lin)


def qweights(w):
    """Per output channel symmetric int8, as quantize_channel()."""
    amax = w.abs().flatten(1).max(1).values
    sw = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax))
    q = torch.clamp(torch.round(w / sw.view(-1, 1, 1, 1)), -127, 127)
    return q * sw.view(-1, 1, 1, 1)


def qact(x, s):
    return torch.clamp(torch.round(x / s), 0, 255) * s


class Stats:
    """Per ReLU output: per picture and channel maxima, channel means and a
    sample of values (for range searches)."""

    def __init__(self, n_layers, sample=2048, seed=0):
        self.pmax = [[] for _ in range(n_layers)]
        self.sum = [0.0] * n_layers
        self.pixels = [0] * n_layers
        self.samples = [[] for _ in range(n_layers)]
        self.sample = sample
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, i, x):
        self.pmax[i].append(x.amax((2, 3)))
        self.sum[i] = self.sum[i] + x.sum((0, 2, 3))
        self.pixels[i] += x.shape[0] * x.shape[2] * x.shape[3]
        flat = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])
        if flat.shape[0] > self.sample * x.shape[0]:
            idx = torch.randperm(flat.shape[0], generator=self.gen)[:self.sample * x.shape[0]]
            flat = flat[idx]
        self.samples[i].append(flat.float())

    def finish(self):
        self.pmax = [torch.cat(p) for p in self.pmax]
        self.mean = [s / p for s, p in zip(self.sum, self.pixels)]
        self.samples = [torch.cat(s) for s in self.samples]


def histogram(v, bins=2048):
    """Histogram of samples v >= 0 on [0, max]: (counts, bin centres)."""
    mx = float(v.max())
    if mx <= 0:
        return None
    h = torch.histc(v.flatten().double(), bins, 0.0, mx)
    centres = (torch.arange(bins, dtype=torch.float64) + 0.5) * (mx / bins)
    return h, centres


def mse_range(v, lo=0.05, steps=96):
    """The clip value minimising the uint8 quantisation MSE of samples v
    (on their histogram)."""
    hc = histogram(v)
    if hc is None:
        return 1.0
    h, c = hc
    mx = float(c[-1])
    best, best_r = None, mx
    for f in np.linspace(lo, 1.0, steps):
        r = mx * f
        e = float((h * (qact(c, r / 255.0) - c) ** 2).sum())
        if best is None or e < best:
            best, best_r = e, r
    return best_r


def channel_scales(layers, lin, st, alpha, alpha_free=None, tmin=1e-3):
    """t per ReLU output (channel_scale of the producer): equalises the
    per-channel activation ranges (mean over pictures of each picture's
    maximum); where the consumer is a pointwise layer, balanced against
    its input columns' weight ranges (SmoothQuant-like, alpha 1: activations
    only, 0: weights only). Returns a list of t vectors (None: none)."""
    ts = []
    for i, l in enumerate(layers):
        a = st.pmax[i].mean(0)
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if nxt is not None and nxt["kind"] == "pw":
            wc = nxt["w"].abs().amax((0, 2, 3))
            al = alpha
        else:
            wc = torch.ones_like(a)
            al = alpha if alpha_free is None else alpha_free
        ok = (a > 0) & (wc > 0)
        t = torch.ones_like(a)
        t[ok] = wc[ok] ** (1 - al) / a[ok] ** al
        # Normalise: the geometric mean of t over live channels is 1.
        if ok.any():
            t = t / torch.exp(torch.log(t[ok]).mean())
        t[~ok] = 1.0
        t = torch.clamp(t, tmin, 1 / tmin)
        ts.append(t)
    return ts


def apply_scales(layers, lin, ts):
    """The equalised float network (same function)."""
    out = []
    for i, l in enumerate(layers):
        w, b = l["w"].clone(), l["b"].clone()
        t = ts[i]
        w = w * t.view(-1, 1, 1, 1)
        b = b * t
        if i > 0:
            tp = ts[i - 1]
            if l["kind"] == "dw":
                w = w / tp.view(-1, 1, 1, 1)
            else:
                w = w / tp.view(1, -1, 1, 1)
        out.append(dict(l, w=w, b=b))
    lw, lb = lin
    return out, (lw / ts[-1].view(1, -1), lb)


def build_quant(layers, st, ranges, bias_corr=True, float_layers=()):
    """Per layer: fake-quantised weights and corrected bias; act scales."""
    q = []
    for i, l in enumerate(layers):
        if l["kind"] == "stem" or l["name"] in float_layers:
            q.append((l["w"], l["b"]))
            continue
        wq = qweights(l["w"])
        b = l["b"]
        if bias_corr:
            mean_in = st.mean[i - 1]
            err = wq - l["w"]
            if l["kind"] == "dw":
                corr = err.sum((1, 2, 3)) * mean_in
            else:
                corr = (err.sum((2, 3)) * mean_in.view(1, -1)).sum(1)
            b = b - corr
        q.append((wq, b))
    return q, [r / 255.0 for r in ranges]


def forward_quant(x, layers, lin, q, scales, float_acts=()):
    for i, l in enumerate(layers):
        x = F.relu(conv(x, l, *q[i]))
        if i not in float_acts:
            x = qact(x, scales[i])
    return F.linear(x.mean((2, 3)), *lin)


def compare(ref, out):
    top1 = (ref.argmax(1) == out.argmax(1)).double().mean().item()
    r5 = ref.topk(5, 1).indices
    o5 = out.topk(5, 1).indices
    ov = np.mean([len(set(a.tolist()) & set(b.tolist())) / 5 for a, b in zip(r5, o5)])
    cos = F.cosine_similarity(ref, out, 1).mean().item()
    return top1, ov, cos


def engine_check(args, layers, lin, pictures):
    """The simulation with the scales file of args.model against the
    engine's int8 and fp32 logits on the same input arrays."""
    mdir = os.path.dirname(os.path.abspath(args.model))
    spath = None
    for line in open(args.model):
        if line.split(":")[0] == "int8_scales":
            spath = os.path.join(mdir, line.split(":", 1)[1].strip())
    sc, _ = st_io.load_file(spath, to_float32=True)
    ts = [torch.from_numpy(sc[l["name"] + ".channel_scale"])
          if l["name"] + ".channel_scale" in sc else torch.ones(l["w"].shape[0])
          for l in layers]
    ls, ln = apply_scales(layers, lin, ts)
    q = []
    for l in ls:
        corr = sc.get(l["name"] + ".bias_correction")
        if l["kind"] == "stem":
            q.append((l["w"], l["b"]))
        else:
            q.append((qweights(l["w"]), l["b"] - (torch.from_numpy(corr) if corr is not None else 0)))
    scales = [float(sc[l["name"] + ".output_scale"][0]) for l in ls]
    cos = lambda a, b: F.cosine_similarity(a, b).item()
    with tempfile.TemporaryDirectory() as tmp:
        xpath = os.path.join(tmp, "x.npy")
        for pic in pictures:
            x = load_picture(pic)[None]
            np.save(xpath, x.numpy())
            out = {}
            for prec in ("fp32", "auto"):
                d = os.path.join(tmp, prec)
                subprocess.run([args.engine, "run", args.model, "--input", xpath, "--output-dir", d,
                                "--precision", prec, "--allow-external-paths"],
                               check=True, capture_output=True)
                out[prec] = torch.from_numpy(np.load(glob.glob(d + "/*.npy")[0]).reshape(1, -1))
            ref = forward_float(x, layers, lin)
            sim = forward_quant(x, ls, ln, q, scales)
            print("%s: cosine with the float logits: engine fp32 %.6f, engine int8 %.4f, "
                  "simulated int8 %.4f; engine int8 vs simulated %.4f"
                  % (os.path.basename(pic), cos(out["fp32"], ref), cos(out["auto"], ref),
                     cos(sim, ref), cos(out["auto"], sim)), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", required=True)
    ap.add_argument("--calibrate", type=int, default=32)
    ap.add_argument("--configs", default="all")
    ap.add_argument("--engine", help="mobileone-cli: compare with the engine")
    ap.add_argument("--model", help="with --engine: the int8 description")
    ap.add_argument("--engine-photos", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(2)
    wdir = os.path.join(args.shared, "weights-ref")
    layers, lin = build_layers(os.path.join(wdir, "mobileone-s0-imagenet-fused.safetensors"))
    apple = np.fromfile(os.path.join(wdir, "mobileone-awkrail", "apple.bin"), np.float32)
    ref = np.loadtxt(os.path.join(wdir, "mobileone-awkrail", "vector.txt"))
    with torch.no_grad():
        got = forward_float(torch.from_numpy(apple).view(1, 3, 224, 224), layers, lin)
    print("float model vs Apple's logits: max |diff| %.2e" % np.abs(got.numpy()[0] - ref).max())

    pdir = os.path.join(args.shared, "data", "coco128-seg", "images", "train2017")
    photos = sorted(f for f in os.listdir(pdir) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    cal = torch.stack([load_picture(os.path.join(pdir, f)) for f in photos[:args.calibrate]])
    evs = [os.path.join(pdir, f) for f in photos[args.calibrate:]] + [p for p in DEBIAN_PHOTOS if os.path.exists(p)]
    ev = torch.stack([load_picture(p) for p in evs])
    print("pictures: %d calibration, %d evaluated" % (len(cal), len(ev)))

    torch.set_grad_enabled(False)
    if args.engine:
        return engine_check(args, layers, lin, evs[:args.engine_photos])
    ref_logits = forward_float(ev, layers, lin)

    def calibrate(ls, ln):
        st = Stats(len(ls))
        for k in range(0, len(cal), 8):
            forward_float(cal[k:k + 8], ls, ln, st)
        st.finish()
        return st

    st0 = calibrate(layers, lin)

    def ranges_of(st, how):
        if how == "mean-max":
            return [float(p.amax(1).mean()) for p in st.pmax]
        if how == "max":
            return [float(p.max()) for p in st.pmax]
        if how.startswith("chan-mean-max"):
            # The largest of the channels' mean-max, times a factor.
            f = float(how.split("*")[1]) if "*" in how else 1.0
            return [f * float(p.mean(0).max()) for p in st.pmax]
        if how.startswith("mean-max*"):
            f = float(how.split("*")[1])
            return [f * float(p.amax(1).mean()) for p in st.pmax]
        if how == "mse":
            return [mse_range(s) for s in st.samples]
        raise ValueError(how)

    def run(label, alpha=None, alpha_free=None, how="mean-max", bias_corr=True, float_layers=(), weights_exact=False,
            acts_exact=False):
        ls, ln = layers, lin
        st = st0
        if alpha is not None:
            ts = channel_scales(layers, lin, st0, alpha, alpha_free)
            ls, ln = apply_scales(layers, lin, ts)
            st = calibrate(ls, ln)
        ranges = ranges_of(st, how)
        q, sc = build_quant(ls, st, ranges, bias_corr, float_layers)
        if weights_exact:
            q = [(l["w"], l["b"]) for l in ls]
        fa = range(len(ls)) if acts_exact else ()
        out = forward_quant(ev, ls, ln, q, sc, fa)
        t1, t5, cos = compare(ref_logits, out)
        print("%-55s top-1 %5.1f %%  top-5 %5.1f %%  cos %.4f" % (label, 100 * t1, 100 * t5, cos), flush=True)

    configs = {
        "baseline": lambda: run("baseline: mean-max, bias correction"),
        "parts": lambda: (run("weights only, bias correction", acts_exact=True),
                          run("activations only, mean-max", weights_exact=True)),
        "mse": lambda: run("mse, bias correction", how="mse"),
        "alpha": lambda: [run("equalise alpha %.2f, mean-max" % a, alpha=a) for a in (1.0, 0.75, 0.5, 0.25)],
        "free": lambda: [run("equalise alpha %.2f (1 before dw/linear), mean-max" % a, alpha=a, alpha_free=1.0)
                         for a in (0.6, 0.5, 0.4)],
        "best-parts": lambda: (
            run("equalise alpha 0.5 (1), weights only", alpha=0.5, alpha_free=1.0, acts_exact=True),
            run("equalise alpha 0.5 (1), activations only", alpha=0.5, alpha_free=1.0, weights_exact=True)),
        "best-chan": lambda: [run("equalise alpha 0.5 (1), %s" % h, alpha=0.5, alpha_free=1.0, how=h)
                              for h in ("chan-mean-max", "chan-mean-max*1.25", "mean-max*0.8", "mean-max*1.25")],
        "best-max": lambda: run("equalise alpha 0.5 (1), max", alpha=0.5, alpha_free=1.0, how="max"),
        "best-mse": lambda: run("equalise alpha 0.5 (1), mse", alpha=0.5, alpha_free=1.0, how="mse"),
    }
    for c in (configs if args.configs == "all" else args.configs.split(",")):
        configs[c]()

if __name__ == "__main__":
    main()
