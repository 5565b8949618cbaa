#!/usr/bin/env python3
"""The engine's pre-processing (tests/preprocess-dump.c around
mo_preprocess_fit and mo_session_set_input_image) against an independent
reference, for every pixel format at odd sizes and padded strides, BT.601 /
BT.709, limited / full range, stretch / letterbox / crop, with and without a
region crop.

The reference:
- RGB formats with the whole picture: PyTorch, the way the models were
  trained and evaluated: F.interpolate (bilinear, align_corners=False,
  antialias=False) to the size, pasted into zeros for letterbox, and for
  crop torchvision's Resize (short side to round(min(dw, dh) * 256 / 224))
  then CenterCrop, as two separate steps.
- everything else: NumPy bilinear sampling at the documented source
  positions (pixel centres at +0.5, clamped like PyTorch), chroma sited at
  the centre of the luma pixels it covers, then the YUV to RGB conversion
  written from the BT.601 / BT.709 definitions (Y' = (Y - 16) / 219 and
  Pb, Pr = (C - 128) / 224 in limited range). The NumPy sampler is itself
  checked against the PyTorch route, and the full-range BT.601 conversion
  against Pillow's YCbCr -> RGB.

Tolerance (the engine works in float32): 1e-6 (RGB) and 5e-6 (YUV) on
values in [0, 1]; Pillow's 8-bit integer conversion within 1.5 / 255.

usage: test_preprocess.py PREPROCESS_DUMP MODEL.yaml  (exit 77 without
torch, NumPy or Pillow)
"""
import math
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

DUMP, MODEL = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(13)
failed = 0

RGB_ORDER = {  # byte of R, G, B; bytes per pixel
    "rgb": ((0, 1, 2), 3), "bgr": ((2, 1, 0), 3),
    "rgbx": ((0, 1, 2), 4), "bgrx": ((2, 1, 0), 4),
    "xrgb": ((1, 2, 3), 4), "xbgr": ((3, 2, 1), 4),
}
YUV = ("nv12", "i420", "yuy2", "uyvy")
KRB = {"601": (0.299, 0.114), "709": (0.2126, 0.0722)}


def c_round(x):
    """C's round(): halves away from zero (the engine's letterbox)."""
    return math.floor(x + 0.5)


def torch_resize(img, h, w):
    """(H, W, C) float64 -> (h, w, C), PyTorch bilinear, no antialias."""
    t = torch.from_numpy(img).permute(2, 0, 1)[None]
    r = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False,
                      antialias=False)
    return r[0].permute(1, 2, 0).numpy()


def torch_reference(rgb, fit, dw, dh):
    """The whole picture (H, W, 3) in [0, 1], fitted the torchvision way."""
    H, W = rgb.shape[:2]
    out = np.zeros((dh, dw, 3))
    if fit == "stretch":
        return torch_resize(rgb, dh, dw)
    if fit == "letterbox":
        s = min(dw / W, dh / H)
        bw = max(1, min(dw, c_round(W * s)))
        bh = max(1, min(dh, c_round(H * s)))
        bx, by = (dw - bw) // 2, (dh - bh) // 2
        out[by:by + bh, bx:bx + bw] = torch_resize(rgb, bh, bw)
        return out
    # torchvision.transforms.Resize(S) + CenterCrop((dh, dw))
    S = round(min(dw, dh) * 256 / 224)
    if W <= H:
        rw, rh = S, int(S * H / W)
    else:
        rw, rh = int(S * W / H), S
    r = torch_resize(rgb, rh, rw)
    top, left = int(round((rh - dh) / 2.0)), int(round((rw - dw) / 2.0))
    return r[top:top + dh, left:left + dw]


def geometry(W, H, crop, fit, dw, dh):
    """(src x, y, w, h), (box x, y, w, h) as documented in mo-preprocess.h."""
    sx, sy, sw, sh = 0.0, 0.0, float(W), float(H)
    if crop is not None:
        x, y, w, h = crop
        x0 = min(max(x, 0), W - 1)
        y0 = min(max(y, 0), H - 1)
        x1 = min(max(x + w, x0 + 1), W)
        y1 = min(max(y + h, y0 + 1), H)
        sx, sy, sw, sh = x0, y0, x1 - x0, y1 - y0
    box = (0, 0, dw, dh)
    if fit == "letterbox":
        s = min(dw / sw, dh / sh)
        bw = max(1, min(dw, c_round(sw * s)))
        bh = max(1, min(dh, c_round(sh * s)))
        box = ((dw - bw) // 2, (dh - bh) // 2, bw, bh)
    elif fit == "crop":
        S = round(min(dw, dh) * 256 / 224)
        rw = S if sw <= sh else math.floor(S * sw / sh)
        rh = S if sh <= sw else math.floor(S * sh / sw)
        fx, fy = rw / sw, rh / sh
        sx += round((rw - dw) / 2) / fx
        sy += round((rh - dh) / 2) / fy
        sw, sh = dw / fx, dh / fy
    return (sx, sy, sw, sh), box


def taps(s, n):
    s = np.maximum(s, 0.0)
    i0 = np.minimum(np.floor(s).astype(int), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    f = np.where(i1 == i0, 0.0, s - i0)
    return i0, i1, f


def sample(plane, xs, ys):
    """Bilinear (H, W) plane at source positions xs (n,) and ys (m,)."""
    h, w = plane.shape
    x0, x1, fx = taps(xs, w)
    y0, y1, fy = taps(ys, h)
    top = plane[y0][:, x0] * (1 - fx) + plane[y0][:, x1] * fx
    bot = plane[y1][:, x0] * (1 - fx) + plane[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bot * fy[:, None]


def positions(W, H, crop, fit, dw, dh):
    (sx, sy, sw, sh), (bx, by, bw, bh) = geometry(W, H, crop, fit, dw, dh)
    xs = sx + (np.arange(bw) + 0.5) * sw / bw - 0.5
    ys = sy + (np.arange(bh) + 0.5) * sh / bh - 0.5
    return xs, ys, (bx, by, bw, bh)


def yuv_to_rgb(Y, U, V, matrix, full):
    kr, kb = KRB[matrix]
    kg = 1 - kr - kb
    if full:
        y, pb, pr = Y / 255, (U - 128) / 255, (V - 128) / 255
    else:
        y, pb, pr = (Y - 16) / 219, (U - 128) / 224, (V - 128) / 224
    r = y + 2 * (1 - kr) * pr
    b = y + 2 * (1 - kb) * pb
    g = (y - kr * r - kb * b) / kg
    return np.clip(np.stack([r, g, b], -1), 0, 1)


def sampler_reference(fmt, planes, W, H, crop, fit, dw, dh, matrix, full):
    xs, ys, (bx, by, bw, bh) = positions(W, H, crop, fit, dw, dh)
    out = np.zeros((dh, dw, 3))
    if fmt in YUV:
        Y, U, V = planes
        cxs = (xs + 0.5) / 2 - 0.5
        cys = (ys + 0.5) / 2 - 0.5 if fmt in ("nv12", "i420") else ys
        rgb = yuv_to_rgb(sample(Y, xs, ys), sample(U, cxs, cys),
                         sample(V, cxs, cys), matrix, full)
    elif fmt == "gray8":
        rgb = np.repeat(sample(planes[0], xs, ys)[..., None] / 255, 3, -1)
    else:
        rgb = np.stack([sample(planes[c], xs, ys) for c in range(3)], -1) / 255
    out[by:by + bh, bx:bx + bw] = rgb
    return out


def pack(fmt, W, H):
    """Random content of @fmt, rows padded: (bytes, [offset:stride], planes
    for the reference as float64)."""
    pad = 5
    if fmt in RGB_ORDER:
        (ro, go, bo), bpp = RGB_ORDER[fmt]
        px = rng.integers(0, 256, (H, W, bpp), dtype=np.uint8)
        stride = W * bpp + pad
        buf = np.zeros((H, stride), np.uint8)
        buf[:, :W * bpp] = px.reshape(H, -1)
        planes = [px[..., o].astype(np.float64) for o in (ro, go, bo)]
        return buf.tobytes(), [f"0:{stride}"], planes
    if fmt == "gray8":
        g = rng.integers(0, 256, (H, W), dtype=np.uint8)
        buf = np.zeros((H, W + pad), np.uint8)
        buf[:, :W] = g
        return buf.tobytes(), [f"0:{W + pad}"], [g.astype(np.float64)]
    cw = (W + 1) // 2
    ch = (H + 1) // 2 if fmt in ("nv12", "i420") else H
    Y = rng.integers(0, 256, (H, W), dtype=np.uint8)
    U = rng.integers(0, 256, (ch, cw), dtype=np.uint8)
    V = rng.integers(0, 256, (ch, cw), dtype=np.uint8)
    ref = [p.astype(np.float64) for p in (Y, U, V)]
    if fmt in ("yuy2", "uyvy"):
        Yp = np.zeros((H, 2 * cw), np.uint8)
        Yp[:, :W] = Y
        Yp[:, W:] = Y[:, W - 1:]        # the unused last sample of odd widths
        mp = np.zeros((H, cw, 4), np.uint8)
        order = (0, 1, 2, 3) if fmt == "yuy2" else (1, 0, 3, 2)  # Y0 U Y1 V
        mp[..., order[0]] = Yp[:, 0::2]
        mp[..., order[1]] = U
        mp[..., order[2]] = Yp[:, 1::2]
        mp[..., order[3]] = V
        stride = 4 * cw + pad
        buf = np.zeros((H, stride), np.uint8)
        buf[:, :4 * cw] = mp.reshape(H, -1)
        return buf.tobytes(), [f"0:{stride}"], ref
    ys = W + pad
    yplane = np.zeros((H, ys), np.uint8)
    yplane[:, :W] = Y
    if fmt == "nv12":
        cs = 2 * cw + pad + 2
        uv = np.zeros((ch, cs), np.uint8)
        uv[:, 0:2 * cw:2] = U
        uv[:, 1:2 * cw:2] = V
        data = yplane.tobytes() + uv.tobytes()
        return data, [f"0:{ys}", f"{H * ys}:{cs}"], ref
    cs = cw + 3
    up = np.zeros((ch, cs), np.uint8)
    vp = np.zeros((ch, cs), np.uint8)
    up[:, :cw] = U
    vp[:, :cw] = V
    data = yplane.tobytes() + up.tobytes() + vp.tobytes()
    return data, [f"0:{ys}", f"{H * ys}:{cs}", f"{H * ys + ch * cs}:{cs}"], ref


def check(name, got, want, tol):
    global failed
    err = float(np.abs(got - want).max())
    if err > tol:
        failed += 1
        where = np.unravel_index(np.abs(got - want).argmax(), got.shape)
        print(f"FAIL {name}: max error {err:.2e} > {tol:.0e} at {where}: "
              f"{got[where]:.6f} vs {want[where]:.6f}")
    return err


def run_engine(fmt, W, H, matrix, rng_name, fit, dw, dh, crop, data, planes,
               tmp):
    src = os.path.join(tmp, "in.raw")
    dst = os.path.join(tmp, "out.f32")
    with open(src, "wb") as f:
        f.write(data)
    crop_arg = "none" if crop is None else ",".join(str(v) for v in crop)
    p = subprocess.run([DUMP, fmt, str(W), str(H), matrix, rng_name, fit,
                        str(dw), str(dh), crop_arg, src, dst, MODEL, *planes],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        sys.exit(f"preprocess-dump {fmt} {W}x{H} {fit}: {p.stderr}")
    return np.fromfile(dst, np.float32).reshape(dh, dw, 3).astype(np.float64)


# (picture size, model input size, fit, region crop)
CASES = [
    ((37, 23), (61, 47), "stretch", None),
    ((123, 71), (40, 33), "letterbox", None),
    ((123, 71), (40, 33), "crop", None),
    ((35, 61), (40, 48), "crop", None),
    ((64, 48), (45, 38), "stretch", (5.5, 3.25, 20, 13)),
    ((37, 23), (40, 33), "letterbox", (30, -4, 19, 40)),
    ((57, 41), (33, 37), "crop", (3, 7, 41, 25)),
    # large enough (3 x 64k output pixels) for the session to split the
    # rows over its 3 threads (MO_PRE_SPLIT_PIXELS in mo-session.c)
    ((123, 71), (448, 440), "letterbox", (1, 2, 120, 60)),
]
COLOURS = [("601", "limited"), ("709", "limited"), ("601", "full"),
           ("709", "full")]

# The PyTorch route and the NumPy sampler agree (anchors the sampler and
# the geometry used for everything else).
for (W, H), (dw, dh), fit, crop in CASES:
    if crop is not None:
        continue
    pic = rng.integers(0, 256, (H, W, 3)).astype(np.float64)
    via_torch = torch_reference(pic / 255, fit, dw, dh)
    via_np = sampler_reference("rgb", [pic[..., c] for c in range(3)], W, H,
                               None, fit, dw, dh, None, True)
    check(f"reference self-check {fit} {W}x{H}->{dw}x{dh}", via_np,
          via_torch, 1e-9)

# Full-range BT.601 (JPEG's YCbCr) against Pillow, at the picture's size.
Yc = rng.integers(0, 256, (31, 43, 3), dtype=np.uint8)
pil = np.asarray(Image.fromarray(Yc, "YCbCr").convert("RGB"), np.float64) / 255
mine = yuv_to_rgb(*(Yc[..., c].astype(np.float64) for c in range(3)), "601",
                  True)
check("BT.601 full range against Pillow", mine, pil, 1.5 / 255)

n = 0
with tempfile.TemporaryDirectory() as tmp:
    for fmt in list(RGB_ORDER) + ["gray8", *YUV]:
        for i, ((W, H), (dw, dh), fit, crop) in enumerate(CASES):
            colours = COLOURS if fmt in YUV else [("601", "limited")]
            matrix, rng_name = colours[i % len(colours)]
            data, layout, planes = pack(fmt, W, H)
            got = run_engine(fmt, W, H, matrix, rng_name, fit, dw, dh, crop,
                             data, layout, tmp)
            want = sampler_reference(fmt, planes, W, H, crop, fit, dw, dh,
                                     matrix, rng_name == "full")
            if fmt in RGB_ORDER and crop is None:
                want = torch_reference(np.stack(planes, -1) / 255, fit, dw, dh)
            name = (f"{fmt} {W}x{H} -> {dw}x{dh} {fit} crop={crop} "
                    f"{matrix} {rng_name}")
            err = check(name, got, want, 5e-6 if fmt in YUV else 1e-6)
            print(f"ok {name}: max error {err:.1e}")
            n += 1

print(f"{n} pictures, {failed} failures")
sys.exit(1 if failed else 0)
