#!/usr/bin/env python3
"""Apple's real MobileOne-S0 on real photos shipped by Debian packages
(python3-skimage, opencv-doc), through `mobileone-cli image` (decode, resize
the short side to 256, centre-crop 224, normalise): the top-1 classes must be
those ../shared/weights-ref/README.md lists. Skips (77) when the weights or
the photos are absent.
usage: PYTHONPATH=tools test_photos.py MOBILEONE_CLI SHARED_DIR
"""
import os
import sys

from mobileone_tools import cli as mo_cli

cli, shared = sys.argv[1], sys.argv[2]
model = os.path.join(shared, "weights-ref", "mobileone-s0-imagenet.yaml")
photos = [
    ("/usr/lib/python3/dist-packages/skimage/data/chelsea.png", 285, "Egyptian cat"),
    ("/usr/lib/python3/dist-packages/skimage/data/coffee.png", 967, "espresso"),
    ("/usr/share/doc/opencv-doc/examples/data/squirrel_cls.jpg", 335, "fox squirrel"),
    ("/usr/share/doc/opencv-doc/examples/data/orange.jpg", 950, "orange"),
]
if not os.path.exists(model):
    print("SKIP: %s is absent" % model)
    sys.exit(77)
photos = [p for p in photos if os.path.exists(p[0])]
if not photos:
    print("SKIP: none of the photos is installed (apt-get install python3-skimage opencv-doc)")
    sys.exit(77)

passed = failed = 0
for path, want, name in photos:
    p = mo_cli.run(cli, ["image", model, path], timeout=120, check=False)
    lines = p.stdout.strip().splitlines()
    got = int(lines[0].split()[0]) if p.returncode == 0 and lines else None
    ok = got == want
    print("%-4s %s: top-1 %s (expected %d %s)%s" % ("ok" if ok else "FAIL", os.path.basename(path),
          lines[0] if lines else p.stderr.strip(), want, name, ""))
    passed += ok
    failed += not ok
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
