#!/usr/bin/env python3
"""`mobileone-cli image --output` draws what it prints: for SSDLite the
picture with every printed box outlined in its class colour (the palette of
heads/mo-palette.h, computed here independently with colorsys), for
DeepLabv3 a class-colour map of the picture's size (class 0 black). Needs Pillow to make and read the PNGs (exit 77 without).

usage: PYTHONPATH=tools test_cli_image.py MOBILEONE_CLI FIXTURE_DIR
"""
import colorsys
import math
import os
import sys
import tempfile

from mobileone_tools import cli

try:
    from PIL import Image
except ImportError:
    print("SKIP: no Pillow (python3-pil)")
    sys.exit(77)

CLI, DATA = sys.argv[1], sys.argv[2]


def class_colour(i):
    # Hues a golden-ratio step apart, saturation alternating 0.85 / 0.65,
    # value 0.95, rounded half away from zero.
    h = math.fmod(i * 0.618033988749895 + 0.08, 1.0)
    s = 0.65 if i % 2 else 0.85
    return tuple(int(math.floor(c * 255 + 0.5)) for c in colorsys.hsv_to_rgb(h, s, 0.95))


def run(*args):
    try:
        return cli.run(CLI, ["image", *args], timeout=120).stdout
    except cli.CliError as e:
        sys.exit(str(e))


failed = 0


def check(cond, what):
    global failed
    print(("ok   " if cond else "FAIL ") + what)
    failed += not cond


with tempfile.TemporaryDirectory() as tmp:
    w, h = 211, 157
    pic = Image.new("RGB", (w, h))
    pic.putdata([(x * 255 // w, y * 255 // h, 128) for y in range(h) for x in range(w)])
    src = os.path.join(tmp, "in.png")
    pic.save(src)

    out = os.path.join(tmp, "boxes.png")
    text = run(os.path.join(DATA, "ssd", "ssd-fused.yaml"), src, "--output", out)
    dets = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) >= 6 and f[0].isdigit():
            dets.append((int(f[0]), float(f[1]), [float(v) for v in f[2:6]]))
    check(len(dets) > 0, f"SSDLite: {len(dets)} detections printed")
    img = Image.open(out).convert("RGB")
    check(img.size == (w, h), f"SSDLite: output size {img.size} == {(w, h)}")
    # The best detection is drawn last, on top: its outline has its colour
    # just outside each corner that lies in the picture.
    label, _, (x0, y0, x1, y1) = dets[0]
    want = class_colour(label)
    corners = [(round(x0) - 1, round(y0) - 1), (round(x1), round(y0) - 1),
               (round(x0) - 1, round(y1)), (round(x1), round(y1))]
    inside = [(x, y) for x, y in corners if 0 <= x < w and 0 <= y < h]
    check(len(inside) > 0 and all(img.getpixel(c) == want for c in inside),
          f"SSDLite: box of the best detection drawn in {want} at {inside}")
    # Pixels no box touches keep the picture's colour.
    thick = max(2, (max(w, h) + 199) // 200)
    def near_box(x, y):
        for _, _, (a, b, c, d) in dets:
            if round(a) - thick - 1 <= x <= round(c) + thick and \
                    round(b) - thick - 1 <= y <= round(d) + thick:
                return True
        return False
    free = [(x, y) for y in range(0, h, 7) for x in range(0, w, 7) if not near_box(x, y)]
    if free:
        check(all(img.getpixel(p) == pic.getpixel(p) for p in free),
              f"SSDLite: {len(free)} pixels away from every box unchanged")
    changed = sum(img.getpixel((x, y)) != pic.getpixel((x, y))
                  for y in range(h) for x in range(w))
    check(changed > 0, f"SSDLite: {changed} pixels drawn")

    out = os.path.join(tmp, "mask.png")
    run(os.path.join(DATA, "deeplab", "dense-fused.yaml"), src, "--output", out)
    img = Image.open(out).convert("RGB")
    check(img.size == (w, h), f"DeepLabv3: output size {img.size} == {(w, h)}")
    palette = {(0, 0, 0)} | {class_colour(i) for i in range(1, 256)}
    colours = set(img.getdata())
    check(colours <= palette, f"DeepLabv3: {len(colours)} colours, all class colours")

sys.exit(1 if failed else 0)
