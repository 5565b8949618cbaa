#!/usr/bin/python3
"""End-to-end frames per second of whole pipelines (docs/elements.md).

  GST_PLUGIN_PATH=build/gst python3 benchmarks/bench_pipelines.py [--frames 150] [--rounds 3]

Each pipeline is `videotestsrc pattern=ball ! video/x-raw,format=I420,WxH !
... ! fakesink sync=false`, run to EOS; the time runs from the first buffer
at the sink to EOS, so model loading and negotiation are left out. The
pipelines run in turn, round after round (so a noisy neighbour hits all of
them), and the table gives the median over rounds. "source only" is the
same source into fakesink: the cost of making the frames, which every other
row includes.
"""
import argparse
import statistics
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

PIPES = [
    ("source only", ""),
    ("detect", "mobileonedetect model=models/shapes-detect.yaml n-threads={t}"),
    ("detect + overlay", "mobileonedetect model=models/shapes-detect.yaml n-threads={t} "
     "! mobileoneoverlay"),
    ("segment", "mobileonesegment model=models/shapes-segment.yaml n-threads={t}"),
    ("segment + overlay", "mobileonesegment model=models/shapes-segment.yaml n-threads={t} "
     "! mobileoneoverlay"),
]


def run_once(desc, frames):
    pipe = Gst.parse_launch(desc)
    sink = pipe.get_by_name("sink")
    t = {}

    def on_handoff(_s, _b, _p):
        t.setdefault("first", time.perf_counter())
        t["n"] = t.get("n", 0) + 1

    sink.connect("handoff", on_handoff)
    pipe.set_state(Gst.State.PLAYING)
    msg = pipe.get_bus().timed_pop_filtered(
        600 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    end = time.perf_counter()
    pipe.set_state(Gst.State.NULL)
    if msg is None or msg.type == Gst.MessageType.ERROR:
        err = msg.parse_error()[0].message if msg else "no EOS after 600 s"
        raise SystemExit(f"{desc}: {err}")
    if t.get("n", 0) != frames or end <= t["first"]:
        raise SystemExit(f"{desc}: {t.get('n', 0)} of {frames} frames")
    return (frames - 1) / (end - t["first"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sizes", default="640x480,1920x1080")
    ap.add_argument("--threads", default="1,0",
                    help="n-threads values (0 = one per core)")
    args = ap.parse_args()
    Gst.init(None)
    rows = []
    for size in args.sizes.split(","):
        w, h = size.split("x")
        for t in args.threads.split(","):
            for name, mid in PIPES:
                if not mid and t != args.threads.split(",")[0]:
                    continue
                desc = (f"videotestsrc num-buffers={args.frames} pattern=ball ! "
                        f"video/x-raw,format=I420,width={w},height={h},framerate=30/1 ! "
                        + (mid.format(t=t) + " ! " if mid else "")
                        + "fakesink name=sink sync=false signal-handoffs=true")
                rows.append((size, t if mid else "-", name, desc, []))
    for r in range(args.rounds):
        for row in rows:
            row[4].append(run_once(row[3], args.frames))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"{args.frames} frames per run, median of {args.rounds} rounds\n")
    print("| size | n-threads | pipeline | fps (median) | min | max |")
    print("|---|---|---|---|---|---|")
    for size, t, name, _d, v in rows:
        print(f"| {size} | {t} | {name} | {statistics.median(v):.1f} | "
              f"{min(v):.1f} | {max(v):.1f} |")


if __name__ == "__main__":
    main()
