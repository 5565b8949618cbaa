"""Does the detector find `videotestsrc pattern=ball`, with a box that follows it?

Frames come from gst-launch-1.0 (videotestsrc, alone or composited over other
patterns); the truth is the same ball drawn white on black with the same
frame counter, so its box is exact. Each frame is scaled to the model's input
size (bilinear) and run through the C engine (mobileone-cli run) or PyTorch
(--torch); or, with --element, the same pipeline runs into the
`mobileonedetect` element (post-messages=true; GST_PLUGIN_PATH must find it,
build/gst by default), which scales the frames itself. A frame counts as
found when the best "circle" detection above the YAML's score threshold
overlaps the truth with IoU >= 0.5.

  python3 -m mobileone_tools.train.check_ball models/shapes-detect.yaml \\
      [--frames 30] [--torch | --element] [--target 0.8] [--floor ID=RATE ...]

Each scenario's rate is printed beside the --target (the rate the detector
should reach everywhere); a scenario fails when it misses its floor: its
--floor, else the target. Exit status 0 when every floor is met, 1 when one
is missed, 2 on an error (a failed pipeline, a crash, a bad model), 77 when
GStreamer's tools or the Python packages are missing.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

try:
    import numpy as np
    import torch
    import yaml
    from PIL import Image
except ImportError as e:  # run as a test: skipped without the tools' packages
    print(f"SKIP: {e}")
    sys.exit(77)

from mobileone_tools import ROOT
from mobileone_tools import cli
from mobileone_tools.reference import ssdlite_ref
from mobileone_tools.train import datasets
from mobileone_tools.train import evaluate
from mobileone_tools.train import metrics

# id (for --floor), name, frame size, ball properties, background pattern
# (None: the ball's own)
SCENARIOS = [
    ("320x240", "ball 320x240", (320, 240), "", None),
    ("640x480", "ball 640x480", (640, 480), "", None),
    # motion=sweep draws a large ball (a quarter of the frame's height across
    # its radius) and a cross-hair; the default motion (wavy) draws videotestsrc's
    # 20 px radius ball, 10x18 px once 1280x720 is scaled to 320x320.
    ("1280x720", "ball 1280x720 sweep", (1280, 720), "motion=sweep", None),
    ("1280x720-wavy", "ball 1280x720", (1280, 720), "", None),
    ("navy", "green ball on navy", (320, 240), "foreground-color=0xff00ff00 "
     "background-color=0xff000080", None),
    ("smpte", "ball over smpte", (640, 480), "", "smpte"),
    ("checkers-8", "yellow ball over checkers-8", (320, 240), "foreground-color=0xffffff00",
     "checkers-8"),
    ("gradient", "ball over gradient", (320, 240), "", "gradient"),
]


class CheckError(Exception):
    """The check could not run (not a missed floor)."""


def gst_frames(width, height, n, ball_props, background, path):
    caps = f"video/x-raw,width={width},height={height},framerate=30/1"
    out = f"videoconvert ! video/x-raw,format=RGB ! filesink location={path}"
    ball = f"videotestsrc pattern=ball num-buffers={n} {ball_props}"
    if background is None:
        pipe = f"{ball} ! {caps} ! {out}"
    else:
        # The ball's background fully transparent, composited over @background.
        pipe = (f"compositor name=c background=black ! {out} "
                f"videotestsrc pattern={background} num-buffers={n} ! {caps} ! c.sink_0 "
                f"{ball} background-color=0x00000000 ! {caps},format=AYUV ! c.sink_1")
    r = subprocess.run(["gst-launch-1.0", "-q"] + pipe.split(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise CheckError(f"gst-launch-1.0 {pipe}\nfailed: {r.stderr}")
    stride = (width * 3 + 3) // 4 * 4
    raw = np.fromfile(path, np.uint8)
    if raw.size != n * stride * height:
        raise CheckError(f"{path}: {raw.size} bytes for {n} frames of {width}x{height}")
    return raw.reshape(n, height, stride)[:, :, :width * 3].reshape(n, height, width, 3)


def element_detections(model_yaml, width, height, n, ball_props, background,
                       threshold):
    """Per frame, the detections mobileonedetect posts: (boxes in frame
    pixels, scores, labels)."""
    import re
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    caps = f"video/x-raw,width={width},height={height},framerate=30/1"
    ball = f"videotestsrc pattern=ball num-buffers={n} {ball_props}"
    sink = (f"videoconvert ! mobileonedetect name=det model={model_yaml} "
            f"threshold={threshold} post-messages=true ! fakesink sync=false")
    if background is None:
        desc = f"{ball} ! {caps} ! {sink}"
    else:
        desc = (f"compositor name=c background=black ! {sink} "
                f"videotestsrc pattern={background} num-buffers={n} ! {caps} ! c.sink_0 "
                f"{ball} background-color=0x00000000 ! {caps},format=AYUV ! c.sink_1")
    pipe = Gst.parse_launch(desc)
    bus = pipe.get_bus()
    pipe.set_state(Gst.State.PLAYING)
    num = r"([-+0-9.eE]+)"
    pat = re.compile(r"label_id=\(int\)(\d+).*?confidence=\(double\)" + num +
                     r".*?x_min=\(double\)" + num + r", y_min=\(double\)" + num +
                     r", x_max=\(double\)" + num + r", y_max=\(double\)" + num)
    frames = {}
    try:
        while True:
            msg = bus.timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.ELEMENT |
                                         Gst.MessageType.EOS | Gst.MessageType.ERROR)
            if msg is None:
                raise CheckError(f"{desc}: no end of stream after 60 s")
            if msg.type == Gst.MessageType.ERROR:
                err, dbg = msg.parse_error()
                raise CheckError(f"{desc}: {err.message} ({dbg})")
            if msg.type == Gst.MessageType.EOS:
                break
            st = msg.get_structure()
            if st is None or st.get_name() != "mobileonedetect":
                continue
            ok, ts = st.get_uint64("timestamp")
            i = int(round(ts * 30 / Gst.SECOND))
            # Nested structures come serialised with escapes: drop them.
            dets = [(int(m[0]), float(m[1]), [float(v) for v in m[2:]])
                    for m in pat.findall(st.to_string().replace("\\", ""))]
            frames[i] = (np.array([[d[2][0] * width, d[2][1] * height, d[2][2] * width,
                                    d[2][3] * height] for d in dets], np.float32)
                         .reshape(-1, 4),
                         np.array([d[1] for d in dets], np.float32),
                         np.array([d[0] for d in dets], np.int64))
    finally:
        pipe.set_state(Gst.State.NULL)
    empty = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
    return [frames.get(i, empty) for i in range(n)]


def truth_boxes(width, height, n, ball_props, path):
    """Boxes of the ball drawn white on black with the same motion."""
    motion = " ".join(p for p in ball_props.split() if p.startswith("motion="))
    frames = gst_frames(width, height, n, motion + " foreground-color=0xffffffff "
                        "background-color=0xff000000", None, path)
    boxes = []
    for f in frames:
        mask = f.max(2) >= 128
        # motion=sweep draws a cross-hair (white lines across the whole frame)
        # beside its ball: drop the rows and columns that are bright from edge
        # to edge, which a ball never is, so the box is the ball's alone.
        mask[mask.mean(1) > 0.9, :] = False
        mask[:, mask.mean(0) > 0.9] = False
        ys, xs = np.nonzero(mask)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] if len(xs) else None)
    return boxes


class Runner:
    def __init__(self, model_yaml, use_torch, cli_path, tmp):
        with open(model_yaml, "r", encoding="utf-8") as f:
            desc = yaml.safe_load(f)
        self.size = (int(desc["input"]["width"]), int(desc["input"]["height"]))
        self.threshold = float(desc["head"].get("score_threshold", 0.5))
        with open(os.path.join(os.path.dirname(model_yaml), desc["labels"])) as f:
            labels = f.read().splitlines()
        self.circle = labels.index("circle")
        self.yaml, self.cli, self.tmp = model_yaml, cli_path, tmp
        self.torch = None
        self.use_torch = use_torch
        if use_torch:
            _, self.cfg, _, self.model = evaluate.load_description(model_yaml)
            self.cfg = dict(self.cfg, score_threshold=self.threshold)
            self.anchors = ssdlite_ref.default_boxes(
                (self.size[1], self.size[0]), self.cfg["aspect_ratios"],
                self.cfg["min_ratio"], self.cfg["max_ratio"])

    def detect(self, image_u8):
        if self.use_torch:
            x = torch.from_numpy(datasets.to_nchw_numpy(image_u8))
            return evaluate.torch_detections(self.model, x, self.anchors, self.cfg)[0]
        out = evaluate.run_engine(self.cli, self.yaml, image_u8, self.tmp, 0)
        b, s, lab = evaluate.parse_detections_json(os.path.join(out, "detections.json"))
        keep = s >= self.threshold
        return b[keep], s[keep], lab[keep]


def parse_floor(text):
    sid, sep, rate = text.partition("=")
    ids = [sc[0] for sc in SCENARIOS]
    if not sep or sid not in ids:
        raise argparse.ArgumentTypeError(f"{text!r}: expected ID=RATE, ID one of "
                                         f"{', '.join(ids)}")
    try:
        return sid, float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {rate!r} is not a number") from None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="detection MODEL.yaml")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--torch", action="store_true", help="PyTorch instead of the engine")
    ap.add_argument("--element", action="store_true",
                    help="through the mobileonedetect element instead of mobileone-cli")
    ap.add_argument("--engine", default=cli.default_path(),
                    help="path of mobileone-cli (default: $MOBILEONE_CLI or the build/ "
                         "folder's)")
    ap.add_argument("--target", type=float, default=0.8,
                    help="the rate every scenario should reach (printed; the floor of "
                         "a scenario without --floor)")
    ap.add_argument("--floor", type=parse_floor, action="append", default=[],
                    metavar="ID=RATE",
                    help="fail when scenario ID finds the ball in fewer frames than "
                         "RATE (0..1); IDs: " + ", ".join(sc[0] for sc in SCENARIOS))
    ap.add_argument("--save", help="directory for annotated frames")
    args = ap.parse_args()
    floors = dict(args.floor)
    if shutil.which("gst-launch-1.0") is None:
        print("SKIP: no gst-launch-1.0")
        return 77
    if not os.path.exists(args.model):
        print(f"SKIP: {args.model} does not exist")
        return 77
    if args.element:
        try:
            import gi
            gi.require_version("Gst", "1.0")
        except (ImportError, ValueError) as e:
            print(f"SKIP: the element needs python3-gi and gir1.2-gstreamer-1.0 ({e})")
            return 77
    elif not args.torch:
        cli.check_executable(args.engine)
    if args.element and "GST_PLUGIN_PATH" not in os.environ:
        os.environ["GST_PLUGIN_PATH"] = os.path.join(ROOT, "build", "gst")
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    missed, reached = [], []
    with tempfile.TemporaryDirectory() as tmp:
        run = Runner(args.model, args.torch, args.engine, tmp)
        for sid, name, (w, h), props, bg in SCENARIOS:
            frames = gst_frames(w, h, args.frames, props, bg, os.path.join(tmp, "f.rgb"))
            truth = truth_boxes(w, h, args.frames, props, os.path.join(tmp, "t.rgb"))
            sx, sy = run.size[0] / w, run.size[1] / h
            if args.element:
                # The element reports boxes in frame pixels: score there.
                sx = sy = 1.0
                per_frame = element_detections(os.path.abspath(args.model), w, h,
                                               args.frames, props, bg, run.threshold)
            hits, counted, ious = 0, 0, []
            for i, (f, t) in enumerate(zip(frames, truth)):
                if t is None:
                    continue
                if args.element:
                    img = f
                    b, s, lab = per_frame[i]
                else:
                    img = np.asarray(Image.fromarray(f).resize(run.size, Image.BILINEAR))
                    b, s, lab = run.detect(img)
                tb = np.array([[t[0] * sx, t[1] * sy, t[2] * sx, t[3] * sy]])
                circ = b[lab == run.circle]
                iou = float(metrics.box_iou(circ, tb).max()) if len(circ) else 0.0
                counted += 1
                hits += iou >= 0.5
                ious.append(iou)
                if args.save:
                    from PIL import ImageDraw
                    os.makedirs(args.save, exist_ok=True)
                    im = Image.fromarray(img)
                    d = ImageDraw.Draw(im)
                    d.rectangle(tb[0].tolist(), outline=(0, 255, 0))
                    for bb, ll in zip(b, lab):
                        d.rectangle(bb.tolist(), outline=(255, 0, 255) if ll == run.circle
                                    else (255, 128, 0))
                    im.save(os.path.join(args.save, f"{name.replace(' ', '_')}-{i:03d}.png"))
            if counted == 0:
                raise CheckError(f"{name}: the ball is in none of the {args.frames} "
                                 "truth frames")
            rate = hits / counted
            floor = floors.get(sid, args.target)
            if rate >= args.target:
                reached.append(sid)
            note = ""
            if rate < floor:
                missed.append(f"{sid} ({100 * rate:.0f}% < {100 * floor:.0f}%)")
                note = "  <-- BELOW ITS FLOOR"
            print(f"{name:32s} found in {hits}/{counted} frames ({100 * rate:.0f}%), "
                  f"mean IoU {np.mean(ious):.2f}; floor {100 * floor:.0f}%{note}")
    print(f"target {100 * args.target:.0f}% (information): reached by {len(reached)} of "
          f"{len(SCENARIOS)} scenarios ({', '.join(reached) or 'none'})")
    if missed:
        print("FAIL: below the floor: " + ", ".join(missed))
        return 1
    print("every scenario reaches its floor")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (CheckError, cli.CliError) as e:
        print(f"ERROR: {e}")
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            raise
        print(f"ERROR: {e.code}")  # e.g. a bad model description
    except Exception:  # a crash is never a missed floor, nor a skip
        traceback.print_exc()
        print("ERROR: the check crashed")
    sys.exit(2)
