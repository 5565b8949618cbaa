"""Quantisation-aware distillation of Apple's fused MobileOne-S0 for the C
engine's int8 scheme (docs/int8.md, "Quantisation-aware distillation").

A fake-quantised copy of the fused network (simulate_s0.py's rules: int8
weights symmetric per output channel max |w| / 127, uint8 per-tensor
activations with zero point 0 on every ReLU output from the stem on, ranges
mean-max over the calibration pictures, bias correction from the float
calibration means, channel equalisation with calibrate's rule; stem, pool
and classifier float) is fine-tuned so that its logits match the ORIGINAL
float model's (KL divergence of the softmaxes at temperature --temperature
plus --mse times the logits' mean squared error). Rounding and clipping
pass gradients straight through (inside the range). The weights are
trained in units of their int8 step (one learning rate for every channel)
and, with --max-shift, kept within that many steps of the start. The
equalisation is applied once at the start (as calibrate does to Apple's
weights; the written weights have it folded in, so calibrate them with
--no-equalisation); every --recalibrate steps the activation ranges and
calibration means are measured again on the calibration pictures, as
`mobileone-cli calibrate` will on the result (--reequalise: the
equalisation too, iterated towards its fixed point).

Training pictures (unlabelled; the original model is the teacher): ONLY
the first --calibrate COCO photos of ../shared/data sorted by name (the
pictures check_int8.py calibrates on) and the Debian pictures of
EXTRA_PICTURES (none of them one of check_int8.DEBIAN_PHOTOS, which are
evaluation pictures), under random resized crops, flips, colour jitter and
mixup. The held-out photos are never read.

Writes OUT.safetensors (the fine-tuned fused float weights, the input's
tensor names; the equalisation is folded in, which the float function
does not see) and OUT.yaml (the input description naming them). Then:

  PYTHONPATH=tools nice -n 19 /usr/bin/python3 -m mobileone_tools.quant.qat \\
      --shared ../shared --out /tmp/qat/s0-qat [--steps 300] [--seed 0] [--dev 8]
  PYTHONPATH=tools /usr/bin/python3 -m mobileone_tools.quant.check_int8 \\
      --cli build/cli/mobileone-cli --shared ../shared --workdir /tmp/qat-x \\
      --int8-weights /tmp/qat/s0-qat.safetensors --no-equalisation

Deterministic for a given seed and thread count (--threads, default 1).
Runtime: about 3 to 4.5 s a step (batch 8, 160x160) on one core of the
development machine shared with other work: 300 steps take 15 to 25
minutes (docs/int8.md has the measured results).
"""
import argparse
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from mobileone_tools.reference import st_io
from mobileone_tools.quant import simulate_s0 as sim
from mobileone_tools.quant.check_int8 import DEBIAN_PHOTOS

# Colour photographs shipped by Debian packages (skimage's data, OpenCV's
# examples) that are not check_int8's evaluation pictures: more variety for
# the distillation, no labels needed.
_SK = "/usr/lib/python3/dist-packages/skimage/data/"
_CV = "/usr/share/doc/opencv-doc/examples/data/"
EXTRA_PICTURES = [_SK + f for f in (
    "astronaut.png", "rocket.jpg", "motorcycle_left.png", "hubble_deep_field.jpg",
    "retina.jpg", "color.png")] + [_CV + f for f in (
        "apple.jpg", "baboon.jpg", "building.jpg", "butterfly.jpg", "fruits.jpg",
        "home.jpg", "messi5.jpg", "aero1.jpg", "aero3.jpg", "basketball1.png",
        "board.jpg", "HappyFish.jpg", "starry_night.jpg", "stuff.jpg", "smarties.png",
        "lena.jpg", "pic1.png", "aloeL.jpg", "leuvenA.jpg", "graf1.png",
        "rubberwhale1.png", "box_in_scene.png", "Blender_Suzanne1.jpg")]
assert not set(EXTRA_PICTURES) & set(DEBIAN_PHOTOS)

ALPHA_POINTWISE, ALPHA_OTHER = 0.5, 1.0  # calibrate's equalisation rule


def calibration_photos(shared, n):
    """check_int8.py's calibration split: the first n photos by name."""
    pdir = os.path.join(shared, "data", "coco128-seg", "images", "train2017")
    photos = sorted(f for f in os.listdir(pdir)
                    if f.lower().endswith((".jpg", ".jpeg", ".png")))
    return [os.path.join(pdir, f) for f in photos[:n]]


def augmenter(size):
    import torchvision.transforms as T
    return T.Compose([
        T.RandomResizedCrop(size, scale=(0.15, 1.0)),
        T.RandomHorizontalFlip(),
        T.ColorJitter(0.4, 0.4, 0.4, 0.05),
        T.RandomGrayscale(0.05),
        T.ToTensor(),
        T.Normalize(sim.MEAN.tolist(), sim.STD.tolist()),
    ])


def batch(images, aug, n, mixup):
    idx = torch.randint(len(images), (n,))
    x = torch.stack([aug(images[i]) for i in idx.tolist()])
    if mixup > 0:
        # Mix each picture with another of the batch: new logit mixtures.
        lam = torch.rand(n, 1, 1, 1) * 0.6 + 0.2
        use = (torch.rand(n, 1, 1, 1) < mixup).float()
        lam = use * lam + (1 - use)
        x = lam * x + (1 - lam) * x.roll(1, 0)
    return x


class Params:
    """The fused network's float parameters, trained in units of each
    output channel's int8 weight step (w = s_c u, b = s_c v, s_c = max |w_c|
    / 127 when the units are set): one learning rate suits every channel
    (equalisation makes channels' magnitudes differ by up to 1e3)."""

    def __init__(self, layers, lin):
        self.meta = [dict(l) for l in layers]
        self.set([l["w"] for l in layers], [l["b"] for l in layers], lin)

    def set(self, ws, bs, lin):
        self.s, self.u, self.v = [], [], []
        for w, b in list(zip(ws, bs)) + [(lin[0][:, :, None, None], lin[1])]:
            amax = w.detach().abs().flatten(1).max(1).values
            s = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax))
            self.s.append(s)
            self.u.append((w.detach() / s.view(-1, 1, 1, 1)).clone().requires_grad_())
            self.v.append((b.detach() / s).clone().requires_grad_())
        self.u0 = [u.detach().clone() for u in self.u]

    @torch.no_grad()
    def bound(self, shift):
        """Keep every weight within shift int8 steps of where it started
        (0.5: AdaRound's choice between rounding down and up, the float
        function moving no more than the quantisation does)."""
        for u, u0 in zip(self.u, self.u0):
            u.copy_(torch.min(torch.max(u, u0 - shift), u0 + shift))

    def tensors(self):
        return self.u + self.v

    @property
    def layers(self):
        return [dict(m, w=u * s.view(-1, 1, 1, 1), b=v * s)
                for m, s, u, v in zip(self.meta, self.s, self.u, self.v)]

    @property
    def lin(self):
        return (self.u[-1][:, :, 0, 0] * self.s[-1].view(-1, 1), self.v[-1] * self.s[-1])

    @torch.no_grad()
    def equalise(self, st):
        """Apply calibrate's channel equalisation (the float function does
        not change) and reset the units; returns the largest |log t|."""
        layers, lin = self.layers, self.lin
        ts = sim.channel_scales(layers, lin, st, ALPHA_POINTWISE, ALPHA_OTHER)
        ls, ln = sim.apply_scales(layers, lin, ts)
        self.set([l["w"] for l in ls], [l["b"] for l in ls], ln)
        return max(float(t.log().abs().max()) for t in ts)


@torch.no_grad()
def calibrate(params, cal):
    layers, lin = params.layers, params.lin
    st = sim.Stats(len(layers), sample=1)
    for k in range(0, len(cal), 8):
        sim.forward_float(cal[k:k + 8], layers, lin, st)
    st.finish()
    ranges = [float(p.amax(1).mean()) for p in st.pmax]  # mean-max
    return st, [r / 255.0 for r in ranges]


def ste_round(x):
    return x + (torch.round(x) - x).detach()


def fq_weights(w):
    amax = w.detach().abs().flatten(1).max(1).values
    sw = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax)).view(-1, 1, 1, 1)
    return torch.clamp(ste_round(w / sw), -127, 127) * sw


def fq_act(x, s):
    # clamp passes no gradient where it clips, the rounding passes it.
    return ste_round(torch.clamp(x, 0, 255 * s) / s) * s


def forward_fq(x, params, st, scales):
    """The engine's int8 network, differentiable (straight-through)."""
    layers, lin = params.layers, params.lin
    for i, l in enumerate(layers):
        if l["kind"] == "stem":
            w, b = l["w"], l["b"]
        else:
            w = fq_weights(l["w"])
            err = (w - l["w"]).detach()
            m = st.mean[i - 1]
            corr = err.sum((1, 2, 3)) * m if l["kind"] == "dw" else (err.sum((2, 3)) * m.view(1, -1)).sum(1)
            b = l["b"] - corr
        x = fq_act(F.relu(sim.conv(x, l, w, b)), scales[i])
    return F.linear(x.mean((2, 3)), *lin)


@torch.no_grad()
def measure(x, ref, params, st, scales):
    out = forward_fq(x, params, st, scales)
    f = sim.forward_float(x, params.layers, params.lin)
    t1, _, cos = sim.compare(ref, out)
    f1, _, fcos = sim.compare(ref, f)
    return "int8 top-1 %.3f cos %.4f | float top-1 %.3f cos %.5f" % (t1, cos, f1, fcos)


def save(params, src_weights, src_yaml, out):
    sd, meta = st_io.load_file(src_weights, to_float32=True)
    layers, lin = params.layers, params.lin
    for l in layers:
        sd[l["name"] + ".weight"] = l["w"].detach().numpy().astype(np.float32)
        sd[l["name"] + ".bias"] = l["b"].detach().numpy().astype(np.float32)
    sd["linear.weight"] = lin[0].detach().numpy().astype(np.float32)
    sd["linear.bias"] = lin[1].detach().numpy().astype(np.float32)
    meta = dict(meta or {})
    meta["source"] = (meta.get("source", "") + "; quantisation-aware distillation "
                      "(mobileone_tools.quant.qat) for the int8 engine").lstrip("; ")
    st_io.save_file(sd, out + ".safetensors", metadata=meta)
    # The description, naming the new weights (labels copied beside them).
    sdir = os.path.dirname(os.path.abspath(src_yaml))
    lines = []
    for line in open(src_yaml):
        key = line.split(":")[0]
        if key == "weights":
            line = "weights: %s\n" % os.path.basename(out + ".safetensors")
        elif key == "labels":
            lab = line.split(":", 1)[1].strip()
            dst = os.path.join(os.path.dirname(os.path.abspath(out)), lab)
            if os.path.exists(dst):
                os.unlink(dst)  # a read-only copy from an earlier run
            shutil.copyfile(os.path.join(sdir, lab), dst)
        elif key == "name":
            line = line.rstrip("\n") + "-qat\n"
        lines.append(line)
    with open(out + ".yaml", "w") as f:
        f.writelines(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", required=True)
    ap.add_argument("--out", required=True, help="OUT: writes OUT.safetensors and OUT.yaml")
    ap.add_argument("--calibrate", type=int, default=32)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=160, help="training crop size")
    ap.add_argument("--lr", type=float, default=3e-3,
                    help="Adam's, in units of each channel's int8 weight step")
    ap.add_argument("--temperature", type=float, default=2.0)
    ap.add_argument("--mse", type=float, default=0.1)
    ap.add_argument("--mixup", type=float, default=0.5)
    ap.add_argument("--recalibrate", type=int, default=50)
    ap.add_argument("--equalise", type=int, default=1,
                    help="times calibrate's equalisation is applied at the start (0: none)")
    ap.add_argument("--reequalise", action="store_true",
                    help="re-apply the equalisation at each recalibration (else only at the start: "
                    "calibrate the result with --no-equalisation)")
    ap.add_argument("--max-shift", type=float, default=0.5,
                    help="keep each weight within this many int8 steps of the start (0: no bound)")
    ap.add_argument("--dev", type=int, default=8,
                    help="hold out the last N extra pictures: measured, not trained on")
    ap.add_argument("--no-extra", action="store_true", help="only the calibration photos")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    wdir = os.path.join(args.shared, "weights-ref")
    src = os.path.join(wdir, "mobileone-s0-imagenet-fused.safetensors")
    if not os.path.exists(src):
        print("SKIP: %s is absent" % src)
        return 77
    layers, lin = sim.build_layers(src)
    cal_paths = calibration_photos(args.shared, args.calibrate)
    extra = [] if args.no_extra else [p for p in EXTRA_PICTURES if os.path.exists(p)]
    # --dev: the last extra pictures are not trained on, only measured (to
    # choose settings without check_int8's evaluation photos).
    dev_paths = extra[len(extra) - args.dev:] if args.dev else []
    extra = extra[:len(extra) - len(dev_paths)]
    images = [Image.open(p).convert("RGB") for p in cal_paths + extra]
    cal = torch.stack([sim.load_picture(p) for p in cal_paths])
    print("training pictures: %d calibration + %d extra; %d development pictures"
          % (len(cal_paths), len(extra), len(dev_paths)), flush=True)
    with torch.no_grad():
        cal_ref = sim.forward_float(cal, layers, lin)
        if dev_paths:
            dev = torch.stack([sim.load_picture(p) for p in dev_paths])
            dev_ref = sim.forward_float(dev, layers, lin)
    # A fixed set of augmented views (training pictures) to follow the fit.
    aug = augmenter(224)
    mon = batch(images, aug, 32, 0.0)
    with torch.no_grad():
        mon_ref = sim.forward_float(mon, layers, lin)
    aug = augmenter(args.size)

    params = Params(layers, lin)
    # calibrate's equalisation is not idempotent (a layer's output factors
    # change the next one's input columns). Once (--equalise 1, the
    # default) is what calibrate does to Apple's weights, and simulated
    # best (cosine 0.9945 on the calibration photos, against 0.9929 at the
    # fixed point): the result is then calibrated with --no-equalisation.
    # Iterated (3) it reaches its fixed point, where calibrate's factors
    # on the result are about 1.
    for _ in range(args.equalise):
        st, scales = calibrate(params, cal)
        params.equalise(st)
    st, scales = calibrate(params, cal)
    print("step 0: calibration %s" % measure(cal, cal_ref, params, st, scales), flush=True)
    print("step 0: views       %s" % measure(mon, mon_ref, params, st, scales), flush=True)
    if dev_paths:
        print("step 0: development %s" % measure(dev, dev_ref, params, st, scales), flush=True)
    opt = torch.optim.Adam(params.tensors(), lr=args.lr)
    T = args.temperature
    t0 = time.time()
    for step in range(1, args.steps + 1):
        for g in opt.param_groups:
            g["lr"] = args.lr * 0.5 * (1 + np.cos(np.pi * (step - 1) / args.steps))
        x = batch(images, aug, args.batch, args.mixup)
        with torch.no_grad():
            ref = sim.forward_float(x, layers, lin)
        out = forward_fq(x, params, st, scales)
        loss = F.kl_div(F.log_softmax(out / T, 1), F.softmax(ref / T, 1), reduction="batchmean") * T * T
        loss = loss + args.mse * F.mse_loss(out, ref)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if args.max_shift > 0:
            params.bound(args.max_shift)
        run_loss = float(loss) if step == 1 else 0.9 * run_loss + 0.1 * float(loss)
        if step % 10 == 0:
            print("step %d (%.0f s): loss %.4f (running %.4f)" % (step, time.time() - t0, float(loss), run_loss),
                  flush=True)
        if step % args.recalibrate == 0 or step == args.steps:
            st, scales = calibrate(params, cal)
            lt = 0.0
            if args.reequalise:
                lt = params.equalise(st)
                st, scales = calibrate(params, cal)
                if step == args.steps:
                    params.equalise(st)
                    st, scales = calibrate(params, cal)
                # New units: a new optimiser (its moments were in the old ones).
                opt = torch.optim.Adam(params.tensors(), lr=args.lr)
            print("step %d (%.0f s): loss %.4f, re-equalised max |log t| %.3f; calibration %s"
                  % (step, time.time() - t0, float(loss), lt, measure(cal, cal_ref, params, st, scales)),
                  flush=True)
            if dev_paths:
                print("    development %s" % measure(dev, dev_ref, params, st, scales), flush=True)
            if step == args.steps:
                print("    views %s" % measure(mon, mon_ref, params, st, scales), flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save(params, src, os.path.join(wdir, "mobileone-s0-imagenet.yaml"), args.out)
    print("wrote %s.safetensors and %s.yaml (%.0f s)" % (args.out, args.out, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
