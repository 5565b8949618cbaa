"""Deterministic synthetic "shapes" data set for detection and segmentation.

Every scene is a pure function of (seed, index): scene i of a split is drawn
from numpy's Generator seeded with [seed, i], so a data loader can fetch
scenes in any order, from any number of worker processes, and get the same
pixels every time. Nothing is read from disk; `cache_dir` only memoises.

A scene is a background (flat, gradients, noise, stripes, checkerboard,
SMPTE-like colour bars, ...) with 0..12 objects of the classes below, of
random colour, size (8..200 px across), rotation and aspect, overlapping and
partly cut by the border, then blurred, noised and JPEG re-encoded. Objects
are anti-aliased; a pixel belongs to an object when its coverage is >= 0.5
and no later (upper) object covers it, so the class map, the instance map and
the boxes (the extent of each visible instance mask) agree exactly.

About one scene in three also holds a `videotestsrc pattern=ball` look-alike:
a soft-edged disc (radius ~20 px as videotestsrc draws it, 2 px alpha ramp),
white or coloured, on black or another background, stretched like a 4:3 or
16:9 frame scaled to a square model input. It is labelled "circle".

    python3 -m mobileone_tools.train.shapes --split val --count 8 --out /tmp/shapes
writes PNG previews (with boxes) of the first scenes of a split.
"""

import argparse
import io
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Index 0 is background for both heads; detection labels are 1..4.
CLASSES = ("background", "circle", "square", "triangle", "star")
TRAIN_SEED = 20261125
VAL_SEED = 77031
SPLIT_SEEDS = {"train": TRAIN_SEED, "val": VAL_SEED}

MIN_SIZE = 8
MAX_SIZE = 200
SUPERSAMPLE = 4
# An object is boxed only if this much of it (in pixels, and as a fraction of
# its whole rasterised area, inside and outside the frame) stays visible.
MIN_VISIBLE_PIXELS = 16
MIN_VISIBLE_FRACTION = 0.2

# 75% colour bars of SMPTE / videotestsrc (white, yellow, cyan, green,
# magenta, red, blue), the reverse row and the -I / white / +Q row.
_BARS = np.array([[191, 191, 191], [191, 191, 0], [0, 191, 191], [0, 191, 0],
                  [191, 0, 191], [191, 0, 0], [0, 0, 191]], dtype=np.float32)
_BARS_MID = np.array([[0, 0, 191], [19, 19, 19], [191, 0, 191], [19, 19, 19],
                      [0, 191, 191], [19, 19, 19], [191, 191, 191]], dtype=np.float32)
_BARS_LOW = np.array([[0, 33, 76], [255, 255, 255], [50, 0, 106], [19, 19, 19],
                      [9, 9, 9], [19, 19, 19], [29, 29, 29]], dtype=np.float32)
_VTS_COLOURS = np.array([[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0],
                         [255, 0, 255], [255, 0, 0], [0, 0, 255], [0, 0, 0]],
                        dtype=np.float32)


def scene_rng(seed, index):
    """The random generator of scene @index of the split seeded with @seed."""
    return np.random.default_rng([int(seed), int(index)])


# --------------------------------------------------------------------------
# Backgrounds: float32 HxWx3 in [0, 255]
# --------------------------------------------------------------------------

def _rand_colour(rng):
    if rng.random() < 0.15:
        return _VTS_COLOURS[rng.integers(len(_VTS_COLOURS))].copy()
    return rng.uniform(0, 255, 3).astype(np.float32)


def _coords(h, w):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return x, y


def _bg_flat(rng, h, w):
    c = _rand_colour(rng) if rng.random() < 0.7 else np.zeros(3, np.float32)
    return np.broadcast_to(c, (h, w, 3)).copy()


def _bg_linear_gradient(rng, h, w):
    x, y = _coords(h, w)
    a = rng.uniform(0, 2 * math.pi)
    t = (x * math.cos(a) + y * math.sin(a))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    c0, c1 = _rand_colour(rng), _rand_colour(rng)
    return c0 + t[..., None] * (c1 - c0)


def _bg_radial_gradient(rng, h, w):
    x, y = _coords(h, w)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    t = np.sqrt((x - cx) ** 2 + (y - cy) ** 2) / rng.uniform(0.3, 1.5) / max(h, w)
    t = np.clip(t, 0, 1)
    c0, c1 = _rand_colour(rng), _rand_colour(rng)
    return c0 + t[..., None] * (c1 - c0)


def _bg_noise(rng, h, w):
    kind = rng.integers(3)
    if kind == 0:  # videotestsrc "snow"
        v = rng.uniform(0, 255, (h, w, 1)).astype(np.float32)
        return np.repeat(v, 3, axis=2) if rng.random() < 0.7 else \
            rng.uniform(0, 255, (h, w, 3)).astype(np.float32)
    # Smooth (low-frequency) colour noise: upsampled random grid.
    cells = int(rng.integers(2, 24))
    grid = rng.uniform(0, 255, (cells, cells, 3)).astype(np.uint8)
    img = Image.fromarray(grid).resize((w, h), Image.BICUBIC)
    out = np.asarray(img, dtype=np.float32)
    if kind == 2:
        out = out + rng.uniform(5, 30) * rng.standard_normal((h, w, 3), dtype=np.float32)
    return np.clip(out, 0, 255)


def _bg_stripes(rng, h, w):
    x, y = _coords(h, w)
    a = rng.uniform(0, math.pi) if rng.random() < 0.6 else rng.choice([0, math.pi / 2])
    period = rng.uniform(4, 80)
    t = (x * math.cos(a) + y * math.sin(a)) / period
    if rng.random() < 0.5:
        m = (np.floor(t) % 2).astype(np.float32)
    else:
        m = 0.5 + 0.5 * np.sin(2 * math.pi * t)
    c0, c1 = _rand_colour(rng), _rand_colour(rng)
    return c0 + m[..., None] * (c1 - c0)


def _bg_checkers(rng, h, w):
    x, y = _coords(h, w)
    size = rng.uniform(1, 60) if rng.random() < 0.8 else float(rng.choice([1, 2, 4, 8]))
    if rng.random() < 0.3:
        a = rng.uniform(0, math.pi / 2)
        x, y = x * math.cos(a) - y * math.sin(a), x * math.sin(a) + y * math.cos(a)
    m = ((np.floor(x / size) + np.floor(y / size)) % 2).astype(np.float32)
    if rng.random() < 0.5:
        c0, c1 = np.zeros(3, np.float32), np.full(3, 255, np.float32)
    else:
        c0, c1 = _rand_colour(rng), _rand_colour(rng)
    return c0 + m[..., None] * (c1 - c0)


def _bg_bars(rng, h, w):
    """SMPTE-like bars (videotestsrc pattern=smpte / smpte75 / bar variants)."""
    x, _ = _coords(h, w)
    bars = _BARS * (255 / 191 if rng.random() < 0.5 else 1.0)
    idx = np.minimum((x[0] * 7 / w).astype(int), 6)
    out = np.empty((h, w, 3), np.float32)
    if rng.random() < 0.5:
        out[:] = bars[idx][None]
        return out
    h1, h2 = int(h * 0.67), int(h * 0.75)
    out[:h1] = bars[idx][None]
    out[h1:h2] = _BARS_MID[idx][None]
    idx_low = np.minimum((x[0] * 7 / w).astype(int), 6)
    out[h2:] = _BARS_LOW[idx_low][None]
    return out


def _bg_vts_colours(rng, h, w):
    """Full-frame primary colours like videotestsrc's red/green/blue/white/black."""
    return np.broadcast_to(_VTS_COLOURS[rng.integers(len(_VTS_COLOURS))],
                           (h, w, 3)).copy()


BACKGROUNDS = (
    (_bg_flat, 3), (_bg_linear_gradient, 2), (_bg_radial_gradient, 1),
    (_bg_noise, 2), (_bg_stripes, 2), (_bg_checkers, 2), (_bg_bars, 2),
    (_bg_vts_colours, 1),
)


def make_background(rng, h, w):
    weights = np.array([wt for _, wt in BACKGROUNDS], np.float64)
    fn = BACKGROUNDS[rng.choice(len(BACKGROUNDS), p=weights / weights.sum())][0]
    bg = fn(rng, h, w).astype(np.float32)
    if rng.random() < 0.2:  # a second pattern blended in
        fn2 = BACKGROUNDS[rng.choice(len(BACKGROUNDS), p=weights / weights.sum())][0]
        a = rng.uniform(0.2, 0.6)
        bg = (1 - a) * bg + a * fn2(rng, h, w)
    return bg


# --------------------------------------------------------------------------
# Objects: coverage (alpha) in [0, 1] over a window of the frame
# --------------------------------------------------------------------------

def _unit_polygon(cls, rng):
    """Vertices of a shape centred at 0 with radius ~1 (before scale/rotation)."""
    if cls == 1:  # circle
        t = np.linspace(0, 2 * math.pi, 96, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], 1)
    if cls == 2:  # square
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) / math.sqrt(2)
    if cls == 3:  # triangle: equilateral, vertices jittered a little
        t = -math.pi / 2 + np.arange(3) * 2 * math.pi / 3 + rng.uniform(-0.2, 0.2, 3)
        return np.stack([np.cos(t), np.sin(t)], 1)
    if cls == 4:  # star: 5 points (sometimes 6), inner radius 0.38..0.55
        n = 5 if rng.random() < 0.8 else 6
        inner = rng.uniform(0.38, 0.55)
        t = -math.pi / 2 + np.arange(2 * n) * math.pi / n
        r = np.where(np.arange(2 * n) % 2 == 0, 1.0, inner)
        return np.stack([r * np.cos(t), r * np.sin(t)], 1)
    raise ValueError(cls)


def _transform(poly, cx, cy, radius, angle, aspect):
    p = poly.copy()
    c, s = math.cos(angle), math.sin(angle)
    p = p @ np.array([[c, s], [-s, c]])
    p[:, 0] *= radius * aspect
    p[:, 1] *= radius / aspect
    p[:, 0] += cx
    p[:, 1] += cy
    return p


def _polygon_alpha(pts, h, w):
    """Anti-aliased coverage of polygon @pts (frame pixels, centre of pixel
    (i, j) at (j + 0.5, i + 0.5)). Returns (y0, x0, alpha, full_area)."""
    x0 = max(int(math.floor(pts[:, 0].min())) - 1, 0)
    y0 = max(int(math.floor(pts[:, 1].min())) - 1, 0)
    x1 = min(int(math.ceil(pts[:, 0].max())) + 1, w)
    y1 = min(int(math.ceil(pts[:, 1].max())) + 1, h)
    # Shoelace area of the whole polygon, including any part outside the frame.
    xs, ys = pts[:, 0], pts[:, 1]
    full = 0.5 * abs(float(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))))
    if x1 <= x0 or y1 <= y0:
        return y0, x0, np.zeros((0, 0), np.float32), full
    ss = SUPERSAMPLE
    img = Image.new("L", ((x1 - x0) * ss, (y1 - y0) * ss), 0)
    local = (pts - [x0, y0]) * ss
    ImageDraw.Draw(img).polygon([tuple(p) for p in local], fill=255)
    a = np.asarray(img, dtype=np.float32).reshape(y1 - y0, ss, x1 - x0, ss).mean((1, 3))
    return y0, x0, a / 255.0, full


def _ellipse_alpha(cx, cy, radius, aspect, angle, h, w, ramp):
    """Soft-edged ellipse like videotestsrc's ball: alpha = clamp((r - d) / ramp)."""
    ext = radius * max(aspect, 1 / aspect) + ramp + 1
    x0, y0 = max(int(cx - ext), 0), max(int(cy - ext), 0)
    x1, y1 = min(int(math.ceil(cx + ext)) + 1, w), min(int(math.ceil(cy + ext)) + 1, h)
    full = math.pi * radius * radius
    if x1 <= x0 or y1 <= y0:
        return y0, x0, np.zeros((0, 0), np.float32), full
    y, x = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dx, dy = x + 0.5 - cx, y + 0.5 - cy
    c, s = math.cos(angle), math.sin(angle)
    u = (dx * c + dy * s) / aspect
    v = (-dx * s + dy * c) * aspect
    d = np.sqrt(u * u + v * v)
    return y0, x0, np.clip((radius - d) / ramp + 0.5, 0, 1).astype(np.float32), full


def _sample_size(rng, lo=MIN_SIZE, hi=MAX_SIZE):
    # log-uniform: as many small as large objects.
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _pick_colour(rng, under):
    """A fill colour that stands out from the mean background @under."""
    best, best_d = None, -1.0
    for _ in range(8):
        c = _rand_colour(rng)
        d = float(np.abs(c - under).sum())
        if d > 120:
            return c
        if d > best_d:
            best, best_d = c, d
    return best


# --------------------------------------------------------------------------
# Scenes
# --------------------------------------------------------------------------

def _degrade(rng, img):
    """Blur, sensor noise and JPEG artefacts on a float HxWx3 image -> uint8."""
    if rng.random() < 0.35:
        pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.6)))
        img = np.asarray(pil, dtype=np.float32)
    if rng.random() < 0.4:
        img = img + rng.uniform(1, 12) * rng.standard_normal(img.shape, dtype=np.float32)
    if rng.random() < 0.25:  # global brightness / contrast change
        img = (img - 128) * rng.uniform(0.7, 1.2) + 128 + rng.uniform(-30, 30)
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, format="JPEG", quality=int(rng.integers(25, 95)))
        buf.seek(0)
        out = np.asarray(Image.open(buf).convert("RGB")).copy()
    return out


def make_scene(rng, width=320, height=320, ball_prob=0.35, max_objects=12,
               small_ball_prob=0.0, small_prob=0.0):
    """One scene. With @small_ball_prob, that share of the balls has a radius
    of 5..15 px (videotestsrc's ball in a 640x480..1280x720 frame scaled to a
    320-pixel input), and @small_prob draws that share of the other objects
    8..32 px across instead of 8..200. Both 0 (the default) draw exactly the
    scenes they drew before these options existed. Returns a dict with
        image     uint8 [H, W, 3] RGB
        classes   uint8 [H, W], 0 background, else CLASSES index
        instances int32 [H, W], 0 background, else 1 + index into `objects`
        boxes     float32 [N, 4] x_min, y_min, x_max, y_max in pixels (exclusive
                  max: a box around pixel columns a..b is [a, b + 1])
        labels    int64 [N] CLASSES index of each box
        box_instances int32 [N] the instance id of each box
    Objects that are almost hidden (by others or by the border) keep their
    pixels in `classes`/`instances` but get no box.
    """
    h, w = height, width
    img = make_background(rng, h, w)
    inst = np.zeros((h, w), np.int32)
    objects = []

    n = int(rng.integers(0, max_objects + 1)) if rng.random() < 0.85 else int(rng.integers(0, 4))
    with_ball = rng.random() < ball_prob
    ball_slot = int(rng.integers(0, n + 1)) if with_ball else -1
    # 4:3 or 16:9 frames scaled to a square input stretch shapes vertically or
    # horizontally; model that for everything.
    for k in range(n + (1 if with_ball else 0)):
        if k == ball_slot:
            # videotestsrc: radius 20 px at any frame size (5..44 px once a
            # 1280x720..160x120 frame is scaled to the input), 2 px alpha ramp.
            if small_ball_prob > 0 and rng.random() < small_ball_prob:
                radius = 20 * rng.uniform(0.25, 0.75)
            else:
                radius = 20 * rng.uniform(0.25, 2.2) if rng.random() < 0.7 else \
                    _sample_size(rng) / 2
            aspect = math.sqrt(rng.choice([1.0, 0.75, 9 / 16, 4 / 3, 16 / 9])) * \
                rng.uniform(0.95, 1.05)
            cx, cy = rng.uniform(radius * 0.5, w - radius * 0.5), \
                rng.uniform(radius * 0.5, h - radius * 0.5)
            y0, x0, a, full = _ellipse_alpha(cx, cy, radius, aspect, 0.0, h, w,
                                             ramp=2.0)
            cls = 1
            colour = np.full(3, 255, np.float32) if rng.random() < 0.6 else \
                _VTS_COLOURS[rng.integers(len(_VTS_COLOURS))].copy()
        else:
            cls = int(rng.integers(1, len(CLASSES)))
            if small_prob > 0 and rng.random() < small_prob:
                size = _sample_size(rng, MIN_SIZE, 32)
            else:
                size = _sample_size(rng)
            aspect = math.exp(rng.uniform(-0.3, 0.3)) if rng.random() < 0.6 else 1.0
            angle = rng.uniform(0, 2 * math.pi)
            margin = size * 0.3
            cx, cy = rng.uniform(-margin, w + margin), rng.uniform(-margin, h + margin)
            if cls == 1 and rng.random() < 0.5:
                y0, x0, a, full = _ellipse_alpha(cx, cy, size / 2, aspect, angle, h, w,
                                                 ramp=rng.uniform(0.7, 2.5))
            else:
                pts = _transform(_unit_polygon(cls, rng), cx, cy, size / 2, angle, aspect)
                y0, x0, a, full = _polygon_alpha(pts, h, w)
            colour = None
        if a.size == 0:
            continue
        hh, ww = a.shape
        region = img[y0:y0 + hh, x0:x0 + ww]
        if colour is None:
            colour = _pick_colour(rng, region[a > 0.5].mean(0) if (a > 0.5).any()
                                  else region.mean((0, 1)))
            if rng.random() < 0.25:  # shaded fill
                shade = np.linspace(rng.uniform(0.6, 1.0), rng.uniform(1.0, 1.3), ww,
                                    dtype=np.float32)
                colour = np.clip(colour[None, None, :] * shade[None, :, None], 0, 255)
        img[y0:y0 + hh, x0:x0 + ww] = region * (1 - a[..., None]) + colour * a[..., None]
        objects.append((cls, full))
        inst[y0:y0 + hh, x0:x0 + ww][a >= 0.5] = len(objects)

    image = _degrade(rng, img)

    lut = np.zeros(len(objects) + 1, np.uint8)
    for i, (cls, _) in enumerate(objects):
        lut[i + 1] = cls
    classes = lut[inst]

    boxes, labels, ids = [], [], []
    if objects:
        ys, xs = np.nonzero(inst)
        ids_px = inst[ys, xs]
        count = np.bincount(ids_px, minlength=len(objects) + 1)
        for i, (cls, full) in enumerate(objects):
            iid = i + 1
            if count[iid] < MIN_VISIBLE_PIXELS or count[iid] < MIN_VISIBLE_FRACTION * full:
                continue
            sel = ids_px == iid
            bx, by = xs[sel], ys[sel]
            boxes.append([bx.min(), by.min(), bx.max() + 1, by.max() + 1])
            labels.append(cls)
            ids.append(iid)
    return {
        "image": image,
        "classes": classes,
        "instances": inst,
        "boxes": np.array(boxes, np.float32).reshape(-1, 4),
        "labels": np.array(labels, np.int64),
        "box_instances": np.array(ids, np.int32),
    }


class ShapesScenes:
    """Random access to the scenes of one split: scenes[i] is make_scene of
    scene_rng(seed, i). With @cache_dir, scenes are memoised as .npz files
    (keyed by seed, index and size), which is only worth it when generation
    is the bottleneck."""

    def __init__(self, split="train", length=10000, width=320, height=320, seed=None,
                 cache_dir=None, ball_prob=0.35, small_ball_prob=0.0, small_prob=0.0):
        if seed is None:
            seed = SPLIT_SEEDS[split]
        self.seed, self.length = int(seed), int(length)
        self.width, self.height = int(width), int(height)
        self.cache_dir = cache_dir
        self.ball_prob = ball_prob
        self.small_ball_prob, self.small_prob = small_ball_prob, small_prob
        if cache_dir:
            os.makedirs(cache_dir, exist_ok=True)

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        if index < 0 or index >= self.length:
            raise IndexError(index)
        path = None
        if self.cache_dir:
            path = os.path.join(self.cache_dir, f"s{self.seed}-{self.width}x{self.height}"
                                f"-b{self.ball_prob:g}-sb{self.small_ball_prob:g}"
                                f"-s{self.small_prob:g}-{index:07d}.npz")
            if os.path.exists(path):
                with np.load(path) as z:
                    return {k: z[k] for k in z.files}
        scene = make_scene(scene_rng(self.seed, index), self.width, self.height,
                           self.ball_prob, small_ball_prob=self.small_ball_prob,
                           small_prob=self.small_prob)
        if path:
            tmp = path + f".{os.getpid()}.tmp.npz"
            np.savez_compressed(tmp, **scene)
            os.replace(tmp, path)
        return scene


def labels_text(detection=True):
    """Contents of a labels file: background first (index 0 of both heads)."""
    return "\n".join(CLASSES) + "\n"


def preview(scene):
    """An RGB PIL image with the boxes drawn, and the class map beside it."""
    img = Image.fromarray(scene["image"])
    d = ImageDraw.Draw(img)
    for (x0, y0, x1, y1), lab in zip(scene["boxes"], scene["labels"]):
        d.rectangle([x0, y0, x1 - 1, y1 - 1], outline=(255, 0, 255))
        d.text((x0 + 2, y0 + 1), CLASSES[lab], fill=(255, 0, 255))
    palette = np.array([[0, 0, 0], [230, 60, 60], [60, 200, 60], [60, 90, 230],
                        [240, 220, 40]], np.uint8)
    cm = Image.fromarray(palette[scene["classes"]])
    out = Image.new("RGB", (img.width * 2, img.height))
    out.paste(img, (0, 0))
    out.paste(cm, (img.width, 0))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=sorted(SPLIT_SEEDS), default="train")
    ap.add_argument("--seed", type=int, default=None, help="overrides the split's seed")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--size", type=int, nargs=2, default=(320, 320), metavar=("W", "H"))
    ap.add_argument("--out", required=True, help="directory for PNG previews")
    ap.add_argument("--ball-prob", type=float, default=0.35,
                    help="share of the scenes with a videotestsrc-like ball")
    ap.add_argument("--small-ball-prob", type=float, default=0.0,
                    help="share of the balls with a radius of 5..15 px")
    ap.add_argument("--small-prob", type=float, default=0.0,
                    help="share of the other objects drawn 8..32 px across")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    scenes = ShapesScenes(args.split, args.start + args.count, *args.size, seed=args.seed,
                          ball_prob=args.ball_prob, small_ball_prob=args.small_ball_prob,
                          small_prob=args.small_prob)
    for i in range(args.start, args.start + args.count):
        s = scenes[i]
        preview(s).save(os.path.join(args.out, f"{args.split}-{i:05d}.png"))
        print(f"{i}: {len(s['boxes'])} boxes, labels {s['labels'].tolist()}")


if __name__ == "__main__":
    main()
