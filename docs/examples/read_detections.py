#!/usr/bin/python3
"""Reading mobileonedetect's results from Python, both ways.

  GST_PLUGIN_PATH=build/gst python3 docs/examples/read_detections.py \
      [--model models/shapes-detect.yaml] [--frames 30]

Needs Debian's python3-gi, gir1.2-gst-plugins-base-1.0 and python3-gst-1.0:
the last one (GStreamer's Python overrides) is what turns the message's
"detections" (a GstValueArray of GstStructures) into a Python sequence;
without it Gst.Structure.get_value() cannot read the array.

Prints one JSON line per frame: the detections of the element message
(post-messages=true) and the regions of the frame's
GstVideoRegionOfInterestMeta with their "detection" param.
tests/test_python_reading.py runs it and checks that the two agree.
"""
import argparse
import json
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstVideo  # noqa: E402

MAX_ROI_ID = 1024


def regions_of(buf):
    """The frame's regions (ROI metas), found by id."""
    out = []
    for i in range(MAX_ROI_ID):
        roi = GstVideo.buffer_get_video_region_of_interest_meta_id(buf, i)
        if roi is None:
            continue
        det = roi.get_param("detection")
        out.append({
            "id": roi.id,
            "type": GLib.quark_to_string(roi.roi_type),
            "box": [roi.x, roi.y, roi.w, roi.h],
            "label": det.get_value("label") if det else None,
            "confidence": det.get_value("confidence") if det else None,
        })
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/shapes-detect.yaml")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--threshold", type=float, default=-1)
    args = ap.parse_args()

    Gst.init(None)
    pipe = Gst.parse_launch(
        f"videotestsrc num-buffers={args.frames} pattern=ball ! "
        "video/x-raw,width=320,height=240 ! "
        f"mobileonedetect model={args.model} threshold={args.threshold} "
        "post-messages=true ! fakesink name=sink signal-handoffs=true")
    frames = {}

    def on_handoff(_sink, buf, _pad):
        frames.setdefault(buf.pts, {})["regions"] = regions_of(buf)

    pipe.get_by_name("sink").connect("handoff", on_handoff)
    bus = pipe.get_bus()
    pipe.set_state(Gst.State.PLAYING)
    status = 0
    while True:
        msg = bus.timed_pop_filtered(
            30 * Gst.SECOND, Gst.MessageType.ELEMENT | Gst.MessageType.EOS
            | Gst.MessageType.ERROR)
        if msg is None:
            print("read_detections: no EOS after 30 s", file=sys.stderr)
            status = 1
            break
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            print(f"read_detections: {err.message} ({dbg})", file=sys.stderr)
            status = 1
            break
        if msg.type == Gst.MessageType.EOS:
            break
        s = msg.get_structure()
        if s is None or s.get_name() != "mobileonedetect":
            continue
        dets = [{
            "label": d.get_value("label"),
            "confidence": d.get_value("confidence"),
            "box": [d.get_value("x"), d.get_value("y"),
                    d.get_value("width"), d.get_value("height")],
        } for d in s.get_value("detections")]
        frames.setdefault(s.get_value("timestamp"), {})["detections"] = dets
    pipe.set_state(Gst.State.NULL)
    for pts in sorted(frames):
        print(json.dumps({"pts": pts, **frames[pts]}))
    return status


if __name__ == "__main__":
    sys.exit(main())
