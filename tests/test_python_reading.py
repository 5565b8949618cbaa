#!/usr/bin/env python3
"""Reading the results from Python (issue 15, item 11): runs the documented
example docs/examples/read_detections.py on the shipped detector and checks
what it prints: every frame has the element message's detections and the
frame's region metas, they agree (label, confidence, box within a pixel),
and the ball is found.

Fails (does not skip) without python3-gst-1.0: the docs say Python users
need it, and CI installs it (.ci/test-packages).

usage: test_python_reading.py PLUGIN_DIR EXAMPLE MODEL
"""
import json
import os
import subprocess
import sys

N = 12


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def main():
    plugin_dir, example, model = sys.argv[1:4]
    try:
        import gi
        gi.require_version("Gst", "1.0")
        from gi.repository import Gst  # noqa: F401
        import gi.overrides.Gst  # noqa: F401  python3-gst-1.0's overrides
        if not hasattr(gi.overrides.Gst, "ValueArray"):
            raise ImportError("gi.overrides.Gst has no ValueArray")
    except (ImportError, ValueError) as e:
        fail(f"GStreamer's Python bindings are incomplete ({e}): install "
             "python3-gi, gir1.2-gst-plugins-base-1.0 and python3-gst-1.0")
    env = dict(os.environ, GST_PLUGIN_PATH=plugin_dir)
    try:
        p = subprocess.run([sys.executable, example, "--model", model,
                            "--frames", str(N)], capture_output=True,
                           text=True, env=env, timeout=120)
    except subprocess.TimeoutExpired:
        fail("the example ran past 120 s")
    if p.returncode != 0:
        fail(f"the example exited {p.returncode}: {p.stderr.strip()}")
    frames = [json.loads(line) for line in p.stdout.splitlines()]
    if len(frames) != N:
        fail(f"{len(frames)} frames printed, expected {N}")
    found = 0
    for f in frames:
        if "detections" not in f or "regions" not in f:
            fail(f"frame {f['pts']}: message or metas missing: {f}")
        dets = sorted(f["detections"], key=lambda d: d["box"])
        rois = sorted(f["regions"], key=lambda r: r["box"])
        if len(dets) != len(rois):
            fail(f"frame {f['pts']}: {len(dets)} detections in the message, "
                 f"{len(rois)} regions")
        for d, r in zip(dets, rois):
            if d["label"] != r["label"] or d["label"] != r["type"]:
                fail(f"frame {f['pts']}: labels differ: {d} {r}")
            if abs(d["confidence"] - r["confidence"]) > 1e-6:
                fail(f"frame {f['pts']}: confidences differ: {d} {r}")
            if any(abs(a - b) > 1.0 for a, b in zip(d["box"], r["box"])):
                fail(f"frame {f['pts']}: boxes differ: {d} {r}")
        if any(d["label"] == "circle" for d in dets):
            found += 1
    if found < N // 2:
        fail(f"the ball found in {found} of {N} frames")
    print(f"ok: {N} frames, message and metas agree, the ball in {found}")


if __name__ == "__main__":
    main()
