#!/usr/bin/env python3
"""`mobileone-cli calibrate --video` (docs/int8.md): a clip of ten random
PNG pictures, muxed losslessly (pngenc ! avimux) by gst-launch-1.0, gives
byte for byte the scales file that `calibrate --images` gives on the frames
that --frames N / --every N name (computed here from the documented rule:
the middle frame of each of N equal runs; frames 0, N, 2N, ...), and that
file loads as an int8 model. Bad files (missing, not a video, audio only, a
folder) fail with exit status 1 and a message naming the file, never a
crash. Exit 77 (skipped) without Pillow, gst-launch-1.0 or the plugins that
write the clip (multifile, png, avi: gst-plugins-good), or when this build
of the tool has no GStreamer.

usage: PYTHONPATH=tools test_calibrate_video.py MOBILEONE_CLI FIXTURE_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from mobileone_tools import cli

try:
    import numpy as np
    from PIL import Image
except ImportError:
    print("SKIP: no numpy or Pillow")
    sys.exit(77)

CLI, DATA = sys.argv[1], sys.argv[2]
N_FRAMES = 10

for tool in ("gst-launch-1.0", "gst-inspect-1.0"):
    if shutil.which(tool) is None:
        print(f"SKIP: no {tool}")
        sys.exit(77)
for element in ("multifilesrc", "pngdec", "pngenc", "videoconvert", "avimux",
                "audiotestsrc", "wavenc"):
    if subprocess.run(["gst-inspect-1.0", element], capture_output=True).returncode:
        print(f"SKIP: no GStreamer element {element}")
        sys.exit(77)

failed = 0


def check(cond, what):
    global failed
    print(("ok   " if cond else "FAIL ") + what)
    failed += not cond


def calibrate(*args, check_rc=True):
    return cli.run(CLI, ["calibrate", *args], timeout=120, check=check_rc)


def evenly_spaced(n, total):
    if n >= total:
        return list(range(total))
    # run k holds frames [k * total / n, (k + 1) * total / n): its middle
    return [int((k + 0.5) * total / n) for k in range(n)]


with tempfile.TemporaryDirectory() as tmp:
    rng = np.random.default_rng(19)
    frames = os.path.join(tmp, "frames")
    os.makedirs(frames)
    for i in range(N_FRAMES):
        # 70x50: an odd row length (stride padding in GStreamer's RGB)
        Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)).save(
            os.path.join(frames, f"f{i:03d}.png"))
    clip = os.path.join(tmp, "clip.avi")
    subprocess.run(["gst-launch-1.0", "-q", "multifilesrc",
                    "location=" + os.path.join(frames, "f%03d.png"), "index=0",
                    f"stop-index={N_FRAMES - 1}", "caps=image/png,framerate=10/1",
                    "!", "pngdec", "!", "videoconvert", "!", "video/x-raw,format=RGB",
                    "!", "pngenc", "!", "avimux", "!", "filesink", "location=" + clip],
                   check=True, capture_output=True, timeout=60)
    model = os.path.join(DATA, "k1-unfused.yaml")

    p = calibrate(model, "--video", clip, "--frames", "4",
                  "--output", os.path.join(tmp, "probe.safetensors"), check_rc=False)
    if p.returncode and "cannot decode videos" in p.stderr:
        print("SKIP: this mobileone-cli has no GStreamer")
        sys.exit(77)
    check(p.returncode == 0, f"calibrate --video runs ({p.stderr.strip()})")

    cases = [("--frames", 4, evenly_spaced(4, N_FRAMES)),
             ("--frames", 3, evenly_spaced(3, N_FRAMES)),
             ("--frames", 64, list(range(N_FRAMES))),
             ("--every", 3, list(range(0, N_FRAMES, 3)))]
    for opt, n, chosen in cases:
        what = f"{opt} {n}"
        vid = os.path.join(tmp, "video.safetensors")
        pics = os.path.join(tmp, "pictures.safetensors")
        sel = os.path.join(tmp, "sel")
        shutil.rmtree(sel, ignore_errors=True)
        os.makedirs(sel)
        for i in chosen:
            shutil.copy(os.path.join(frames, f"f{i:03d}.png"), sel)
        out = calibrate(model, "--video", clip, opt, str(n), "--output", vid).stdout
        check(f"{len(chosen)} of {N_FRAMES} frames" in out and
              f"from {len(chosen)} frames" in out,
              f"{what}: frames {chosen} reported ({out.splitlines()[0]})")
        calibrate(model, "--images", sel, "--output", pics)
        with open(vid, "rb") as a, open(pics, "rb") as b:
            check(a.read() == b.read(),
                  f"{what}: same scales file as --images on frames {chosen}")

    # The default (--frames 64) and the file loading as an int8 model.
    scales = os.path.join(tmp, "k1-int8-scales.safetensors")
    calibrate(model, "--video", clip, "--output", scales)
    desc = os.path.join(tmp, "k1-int8.yaml")
    with open(model) as f, open(desc, "w") as g:
        for line in f:
            key = line.split(":")[0]
            if key == "weights":
                line = "weights: %s\n" % os.path.join(
                    os.path.abspath(DATA), line.split(":", 1)[1].strip())
            g.write(line)
        g.write("precision: int8\nint8_scales: k1-int8-scales.safetensors\n")
    info = cli.run(CLI, ["info", desc, "--allow-external-paths"], timeout=60).stdout
    check(re.search(r"^precision:\s+int8", info, re.M) is not None, "the scales file loads: precision int8")

    # Bad files: exit status 1 and the file named, never a signal.
    text = os.path.join(tmp, "notes.mp4")
    with open(text, "w") as f:
        f.write("not a video\n")
    empty = os.path.join(tmp, "empty.avi")
    open(empty, "w").close()
    truncated = os.path.join(tmp, "truncated.avi")
    with open(clip, "rb") as f, open(truncated, "wb") as g:
        g.write(f.read(200))
    audio = os.path.join(tmp, "tone.wav")
    subprocess.run(["gst-launch-1.0", "-q", "audiotestsrc", "num-buffers=10", "!",
                    "wavenc", "!", "filesink", "location=" + audio],
                   check=True, capture_output=True, timeout=60)
    for bad, words in ((os.path.join(tmp, "missing.mkv"), "no such file"),
                       (tmp, "not a file"), (text, "cannot be decoded"),
                       (empty, ""), (truncated, ""), (audio, "no video stream")):
        p = calibrate(model, "--video", bad, "--output",
                      os.path.join(tmp, "bad.safetensors"), check_rc=False)
        check(p.returncode == 1 and bad in p.stderr and words in p.stderr,
              f"{os.path.basename(bad)}: {cli.describe_status(p.returncode)}: "
              f"{p.stderr.strip()}")
    for args in (["--frames", "2", "--every", "2"], ["--frames", "-1"]):
        p = calibrate(model, "--video", clip, *args, check_rc=False)
        check(p.returncode == 2, f"{' '.join(args)}: usage error (exit 2)")
    p = calibrate(model, "--video", clip, "--images", frames, check_rc=False)
    check(p.returncode == 2, "--video with --images: usage error (exit 2)")

sys.exit(1 if failed else 0)
