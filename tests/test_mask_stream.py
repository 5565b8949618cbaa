#!/usr/bin/env python3
"""Mask streaming (issue 17): the documented pipelines of docs/elements.md.

1. mobileonemask's RGBA frames over RTP/UDP on 127.0.0.1 (rtpvrawpay !
   udpsink, udpsrc ! rtpvrawdepay), received back byte for byte;
2. the masks written to a WebM (VP8) file that players open, read back
   (matroskademux ! vp8dec): every frame there, close to what was sent.

The sender keeps a copy of every mask frame (tee ! appsink) to compare
with. Bounded by num-buffers, every wait has a timeout, and a watchdog ends
the test. Exits 77 without the GStreamer Python bindings, the elements or
the shipped segmentation model.

usage: test_mask_stream.py PLUGIN_DIR MODEL
"""
import os
import signal
import socket
import sys
import tempfile
import time

SKIP = 77
W, H, N = 160, 120, 30

try:
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
except (ImportError, ValueError) as e:
    print(f"SKIP: {e}")
    sys.exit(SKIP)


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_to_eos(pipeline, timeout=60):
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        fail("a pipeline did not start")
    msg = pipeline.get_bus().timed_pop_filtered(
        timeout * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    if msg is None:
        fail(f"no EOS within {timeout} s")
    if msg.type == Gst.MessageType.ERROR:
        fail(f"error: {msg.parse_error()}")


def drain(appsink):
    frames = []
    while True:
        sample = appsink.emit("try-pull-sample", 0)
        if sample is None:
            return frames
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        frames.append(bytes(info.data))
        buf.unmap(info)


def source(model):
    return (f"videotestsrc pattern=ball num-buffers={N} ! video/x-raw,"
            f"format=RGB,width={W},height={H},framerate=30/1 ! "
            f"mobileonesegment model={model} n-threads=1 ! mobileonemask ! "
            f"video/x-raw,format=RGBA,width={W},height={H} ! tee name=t "
            "t. ! queue ! appsink name=sent sync=false wait-on-eos=false ")


def check_masks(sent):
    if len(sent) != N:
        fail(f"{len(sent)} mask frames made for {N} frames")
    # The ball is segmented: some opaque (class > 0) pixels in most frames.
    with_ball = sum(1 for f in sent if any(f[3::4]))
    if with_ball < N // 2:
        fail(f"only {with_ball} of {N} masks show anything")
    return with_ball


def rtp_round_trip(model):
    port = free_udp_port()
    caps = ("application/x-rtp,media=video,clock-rate=90000,"
            "encoding-name=RAW,sampling=RGBA,depth=(string)8,"
            f"width=(string){W},height=(string){H},"
            "colorimetry=(string)BT601-5,payload=96")
    receiver = Gst.parse_launch(
        f"udpsrc address=127.0.0.1 port={port} caps=\"{caps}\" "
        "buffer-size=4194304 ! rtpvrawdepay ! appsink name=recv sync=false")
    sender = Gst.parse_launch(
        source(model) + "t. ! queue ! rtpvrawpay ! "
        f"udpsink host=127.0.0.1 port={port} sync=true")
    if receiver.set_state(Gst.State.PLAYING) == \
            Gst.StateChangeReturn.FAILURE:
        fail("the receiver did not start")
    receiver.get_state(5 * Gst.SECOND)
    run_to_eos(sender)
    sent = drain(sender.get_by_name("sent"))
    sender.set_state(Gst.State.NULL)
    with_ball = check_masks(sent)

    recv = receiver.get_by_name("recv")
    received = []
    last = time.monotonic()
    while time.monotonic() - last < 2 and len(received) < N:
        sample = recv.emit("try-pull-sample", Gst.SECOND // 10)
        if sample is None:
            continue
        last = time.monotonic()
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        received.append(bytes(info.data))
        buf.unmap(info)
    receiver.set_state(Gst.State.NULL)

    sent_set = set(sent)
    bad = sum(1 for f in received if f not in sent_set)
    if bad:
        fail(f"{bad} of {len(received)} received frames differ from every "
             "sent one")
    # Loopback UDP at 30 frames/s: allow a lost frame or two, no more.
    if len(received) < N - 2:
        fail(f"{len(received)} of {N} frames came back")
    print(f"RTP/UDP on 127.0.0.1: {len(received)} of {N} mask frames back, "
          f"byte for byte ({with_ball} show the ball)")


def webm_file(model, workdir):
    path = os.path.join(workdir, "mask.webm")
    writer = Gst.parse_launch(
        source(model) + "t. ! queue ! videoconvert ! vp8enc deadline=1 "
        "target-bitrate=4000000 keyframe-max-dist=10 ! webmmux ! "
        f"filesink location={path}")
    run_to_eos(writer)
    sent = drain(writer.get_by_name("sent"))
    writer.set_state(Gst.State.NULL)
    check_masks(sent)

    reader = Gst.parse_launch(
        f"filesrc location={path} ! matroskademux ! vp8dec ! videoconvert ! "
        f"video/x-raw,format=RGBA ! appsink name=out sync=false wait-on-eos=false")
    run_to_eos(reader)
    out = reader.get_by_name("out")
    caps = out.get_static_pad("sink").get_current_caps().get_structure(0)
    if (caps.get_value("width"), caps.get_value("height")) != (W, H):
        fail(f"the file's frames are {caps.to_string()}")
    decoded = drain(out)
    reader.set_state(Gst.State.NULL)
    if len(decoded) != N:
        fail(f"{len(decoded)} frames in the file for {N} masks")
    # Lossy, and the alpha is gone: compare the colours.
    worst = 0.0
    for a, b in zip(sent, decoded):
        red = range(0, len(a), 4)
        worst = max(worst, sum(abs(a[k] - b[k]) for k in red) / len(red))
    if worst > 12:
        fail(f"decoded masks differ from the sent ones by {worst:.1f} "
             "levels on average (red channel)")
    print(f"WebM: {len(decoded)} frames of {W}x{H}, mean red difference "
          f"at most {worst:.1f} levels")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    plugin_dir, model = sys.argv[1:]
    if not os.path.exists(model):
        print(f"SKIP: no model {model}")
        return SKIP
    os.environ["GST_PLUGIN_PATH"] = plugin_dir
    Gst.init(None)
    for e in ["mobileonesegment", "mobileonemask", "rtpvrawpay",
              "rtpvrawdepay", "udpsrc", "udpsink", "vp8enc", "vp8dec",
              "webmmux", "matroskademux"]:
        if Gst.ElementFactory.find(e) is None:
            print(f"SKIP: no element {e}")
            return SKIP

    def watchdog(*_):
        print("FAIL: watchdog: the test ran for more than 200 s", flush=True)
        os._exit(1)
    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(200)

    rtp_round_trip(model)
    with tempfile.TemporaryDirectory(prefix="mobileonemask-") as d:
        webm_file(model, d)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
