#!/usr/bin/env python3
"""mobileonepublish method=mqtt against a real broker (issue 17).

Starts Debian's mosquitto on 127.0.0.1 on a free port with a generated
configuration, subscribes with paho-mqtt, drives the element frame by frame
through appsrc/appsink and checks every message against the frames pushed
and against docs/mobileone-publish.schema.json:

* a running broker: every document arrives, field by field;
* a broker that is down at start: the pipeline never waits, the queue keeps
  the newest max-queue documents, the rest are counted as dropped, and the
  queued ones arrive once the broker is up;
* a broker restarted mid-stream: the same, across the restart;
* a slow broker (a proxy on 127.0.0.1 holds its replies for 1 s): a stream
  that ends before the CONNACK arrives still delivers every document, within
  flush-timeout.

Nothing goes to any other host than 127.0.0.1. Every wait has a timeout and
a watchdog ends the test; exits 77 (skip) without mosquitto, paho-mqtt,
jsonschema or the GStreamer Python bindings.

* the project's detector, tracker and segmenter upstream (when MODELS,
  the folder of the shipped models, is given): every document valid.

usage: test_publish_mqtt.py PLUGIN_DIR SCHEMA [MODELS]
"""
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
MOSQUITTO = "/usr/sbin/mosquitto"
W, H = 64, 48
FRAME_NS = 33333333
PULL_TIMEOUT_NS = 5 * 10**9

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstVideo", "1.0")
    from gi.repository import Gst, GstVideo
    import jsonschema
    import paho.mqtt.client as mqtt
except (ImportError, ValueError) as e:
    print(f"SKIP: {e}")
    sys.exit(SKIP)


LOGS = []


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    for log in LOGS:
        try:
            with open(log) as f:
                print(f"--- {log}:\n" + "".join(f.readlines()[-40:]))
        except OSError:
            pass
    sys.exit(1)


def wait_for(cond, timeout, what, state=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    fail(f"timed out after {timeout} s waiting for {what}" +
         (f" ({state()})" if state else ""))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """mosquitto on 127.0.0.1:port, persistent so that the subscriber's
    session (and the QoS 1 messages waiting for it) survives restarts."""

    def __init__(self, workdir, port):
        self.port = port
        self.dir = workdir
        self.conf = os.path.join(workdir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\n"
                    "allow_anonymous true\n"
                    # As root, mosquitto would switch to user mosquitto,
                    # who cannot write here.
                    f"user {getpass.getuser()}\n"
                    "persistence true\n"
                    f"persistence_location {workdir}/\n"
                    f"log_dest file {workdir}/mosquitto.log\n"
                    "log_type all\n")
        self.proc = None
        LOGS.append(f"{workdir}/mosquitto.log")

    def start(self):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def up():
            if self.proc.poll() is not None:
                fail(f"mosquitto exited ({self.proc.returncode}); see "
                     f"{self.dir}/mosquitto.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return True
            except OSError:
                return False
        wait_for(up, 10, "mosquitto to listen")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


class Subscriber:
    """A persistent-session QoS 1 subscriber that reconnects by itself."""

    def __init__(self, port, topic):
        self.messages = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(client_id="mobileone-check",
                                  clean_session=False)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = lambda c, u, f, rc: (
            c.subscribe(topic, qos=1))
        self.client.on_subscribe = lambda c, u, m, q: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            fail("the subscriber did not subscribe")

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append(msg.payload)

    def count(self):
        with self.lock:
            return len(self.messages)

    def documents(self):
        with self.lock:
            return [json.loads(m) for m in self.messages]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class Pipeline:
    """appsrc ! mobileonepublish ! appsink, one frame at a time."""

    def __init__(self, port, topic, **props):
        extra = " ".join(f"{k.replace('_', '-')}={v}" for k, v in
                         props.items())
        self.pipeline = Gst.parse_launch(
            f"appsrc name=src format=time caps=video/x-raw,format=GRAY8,"
            f"width={W},height={H},framerate=30/1 ! mobileonepublish "
            f"name=pub method=mqtt address=127.0.0.1:{port} topic={topic} "
            f"reconnect-delay-max=2 {extra} ! appsink name=sink sync=false")
        self.src = self.pipeline.get_by_name("src")
        self.sink = self.pipeline.get_by_name("sink")
        self.pub = self.pipeline.get_by_name("pub")
        self.bus = self.pipeline.get_bus()
        if self.pipeline.set_state(Gst.State.PLAYING) == \
                Gst.StateChangeReturn.FAILURE:
            fail("the pipeline did not start")

    def push(self, i):
        """Pushes frame @i (a region on odd frames) and pulls it back: the
        element must let it through whatever the broker does."""
        buf = Gst.Buffer.new_wrapped(bytes(W * H))
        buf.pts = i * FRAME_NS
        buf.duration = FRAME_NS
        if i % 2:
            roi = GstVideo.buffer_add_video_region_of_interest_meta(
                buf, "circle", i % W, 3, 10, 12)
            roi.add_param(Gst.Structure.new_from_string(
                f"detection, label_id=(int)1, label=(string)circle, "
                f"confidence=(double)0.{i:02d}5, x_min=(double){(i % W) / W}, "
                f"y_min=(double){3 / H}, x_max=(double){(i % W + 10) / W}, "
                f"y_max=(double){15 / H}"))
            roi.add_param(Gst.Structure.new_from_string(
                f"tracking, id=(int){100 + i}"))
        t0 = time.monotonic()
        if self.src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
            fail(f"push of frame {i} failed")
        sample = self.sink.emit("try-pull-sample", PULL_TIMEOUT_NS)
        if sample is None:
            fail(f"frame {i} did not come out within 5 s: the pipeline "
                 "blocked")
        if sample.get_buffer().pts != i * FRAME_NS:
            fail(f"frame {i} came out with pts {sample.get_buffer().pts}")
        return time.monotonic() - t0

    def prop(self, name):
        return self.pub.get_property(name)

    def warnings(self):
        out = []
        while True:
            msg = self.bus.pop_filtered(Gst.MessageType.WARNING |
                                        Gst.MessageType.ERROR)
            if msg is None:
                return out
            if msg.type == Gst.MessageType.ERROR:
                fail(f"error: {msg.parse_error()}")
            out.append(msg.parse_warning()[0].message)

    def wait_warning(self, text, timeout):
        seen = []

        def check():
            seen.extend(self.warnings())
            return any(text in w for w in seen)
        wait_for(check, timeout, f"a warning with '{text}'")

    def stop(self):
        self.src.emit("end-of-stream")
        msg = self.bus.timed_pop_filtered(10 * Gst.SECOND,
                                          Gst.MessageType.EOS |
                                          Gst.MessageType.ERROR)
        if msg is None or msg.type != Gst.MessageType.EOS:
            fail("no EOS")
        self.pipeline.set_state(Gst.State.NULL)


def check_documents(docs, frames, schema):
    """Every document valid and equal to what frame pushed; @frames the
    frame numbers expected (each at least once: QoS 1 may repeat)."""
    validator = jsonschema.Draft7Validator(schema)
    got = set()
    for doc in docs:
        errors = list(validator.iter_errors(doc))
        if errors:
            fail(f"document {doc} breaks the schema: {errors[0].message}")
        ts = doc["timestamp"]
        if ts % FRAME_NS:
            fail(f"unexpected timestamp {ts}")
        i = ts // FRAME_NS
        if i not in frames:
            fail(f"frame {i} was not expected (expected {sorted(frames)})")
        got.add(i)
        if doc["resolution"] != {"width": W, "height": H}:
            fail(f"frame {i}: resolution {doc['resolution']}")
        objs = doc["objects"]
        if i % 2 == 0:
            if objs:
                fail(f"frame {i}: objects {objs}, expected none")
            continue
        if len(objs) != 1:
            fail(f"frame {i}: {len(objs)} objects, expected 1")
        o = objs[0]
        want = {"x": i % W, "y": 3, "w": 10, "h": 12, "id": 100 + i,
                "roi_type": "circle"}
        for k, v in want.items():
            if o.get(k) != v:
                fail(f"frame {i}: {k} = {o.get(k)}, expected {v}")
        det = o["detection"]
        if det["label"] != "circle" or det["label_id"] != 1 or \
                abs(det["confidence"] - float(f"0.{i:02d}5")) > 1e-12:
            fail(f"frame {i}: detection {det}")
        box = det["bounding_box"]
        if abs(box["x_min"] - (i % W) / W) > 1e-12 or \
                abs(box["y_max"] - 15 / H) > 1e-12:
            fail(f"frame {i}: bounding box {box}")
    if got != set(frames):
        fail(f"frames {sorted(set(frames) - got)} never arrived")

class SlowProxy:
    """127.0.0.1:port -> the broker; everything the broker sends is held
    for @delay seconds (its CONNACK included)."""

    def __init__(self, broker_port, delay):
        self.broker_port, self.delay = broker_port, delay
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(4)
        self.port = self.server.getsockname()[1]
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.server.accept()
            except OSError:
                return
            b = socket.create_connection(("127.0.0.1", self.broker_port), 5)
            self.socks += [c, b]
            threading.Thread(target=self._pipe, args=(c, b, 0), daemon=True).start()
            threading.Thread(target=self._pipe, args=(b, c, self.delay),
                             daemon=True).start()

    def _pipe(self, src, dst, delay):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if delay:
                    time.sleep(delay)
                dst.sendall(data)
        except OSError:
            pass
        for sk in (src, dst):
            try:
                sk.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.server.close()
        for sk in self.socks:
            sk.close()


def slow_connack(workdir, schema):
    """The stream ends (EOS, then stop) while the element still waits for
    the broker's CONNACK: the queued documents must still go out."""
    port = free_port()
    broker = Broker(workdir, port)
    broker.start()
    sub = Subscriber(port, "cam/slow")
    proxy = SlowProxy(port, 1.0)
    try:
        p = Pipeline(proxy.port, "cam/slow", add_empty_results="true",
                     flush_timeout=5000)
        for i in range(10):
            p.push(i)
        t0 = time.monotonic()
        p.stop()
        took = time.monotonic() - t0
        wait_for(lambda: sub.count() >= 10, 10, "10 messages through a slow broker")
        time.sleep(0.3)
        docs = sub.documents()
        if len(docs) != 10:
            fail(f"{len(docs)} messages for 10 frames through a slow broker")
        check_documents(docs, set(range(10)), schema)
        print(f"slow broker: the stream ended before CONNACK; 10 of 10 documents "
              f"arrived (stop took {took:.1f} s)")
    finally:
        proxy.close()
        sub.close()
        broker.stop()


def running_broker(workdir, schema):
    port = free_port()
    broker = Broker(workdir, port)
    broker.start()
    sub = Subscriber(port, "cam/0")
    try:
        p = Pipeline(port, "cam/0", add_empty_results="true", source="cam0")
        for i in range(30):
            p.push(i)
        p.stop()
        wait_for(lambda: sub.count() >= 30, 10, "30 messages")
        time.sleep(0.3)
        docs = sub.documents()
        if len(docs) != 30:
            fail(f"{len(docs)} messages for 30 frames (QoS 0)")
        check_documents(docs, set(range(30)), schema)
        if any(d.get("source") != "cam0" for d in docs):
            fail("source missing")
        if [d["timestamp"] for d in docs] != [i * FRAME_NS for i in
                                              range(30)]:
            fail("messages out of order")
        for w in p.warnings():
            fail(f"unexpected warning with a running broker: {w}")
        print("running broker: 30 frames, 30 valid documents in order")
    finally:
        sub.close()
        broker.stop()


def broker_down_at_start(workdir, schema):
    port = free_port()
    broker = Broker(workdir, port)
    # The subscriber's persistent session first, then the broker goes.
    broker.start()
    sub = Subscriber(port, "cam/1")
    broker.stop()
    try:
        p = Pipeline(port, "cam/1", qos=1, max_queue=5,
                     add_empty_results="true")
        p.wait_warning("MQTT broker", 10)
        for i in range(12):
            p.push(i)
        dropped, queued = p.prop("dropped"), p.prop("queued")
        print(f"broker down: 12 frames passed, queued {queued}, "
              f"dropped {dropped}")
        if (dropped, queued) != (7, 5):
            fail(f"dropped {dropped}, queued {queued}; expected 7 and 5")
        broker.start()
        wait_for(lambda: p.prop("queued") == 0 and
                 p.prop("published") == 5, 15,
                 "the queue to reach the broker")
        for i in range(12, 15):
            p.push(i)
        p.stop()
        wait_for(lambda: len({d["timestamp"] for d in sub.documents()}) >= 8,
                 15, "8 documents")
        check_documents(sub.documents(), set(range(7, 15)), schema)
        print("broker up: the 5 queued and 3 new documents arrived")
    finally:
        sub.close()
        broker.stop()


def broker_restart(workdir, schema):
    port = free_port()
    broker = Broker(workdir, port)
    broker.start()
    sub = Subscriber(port, "cam/2")
    try:
        p = Pipeline(port, "cam/2", qos=1, max_queue=5)
        for i in range(10):
            p.push(i)
        wait_for(lambda: p.prop("published") == 5, 10,
                 "5 acknowledged documents (odd frames)")
        broker.stop()
        p.wait_warning("Lost the MQTT broker", 10)
        worst = 0.0
        for i in range(10, 30):
            worst = max(worst, p.push(i))
        dropped, queued = p.prop("dropped"), p.prop("queued")
        print(f"broker stopped: 20 frames passed (slowest {worst * 1e3:.1f} "
              f"ms), queued {queued}, dropped {dropped}")
        if (dropped, queued) != (5, 5):
            fail(f"dropped {dropped}, queued {queued}; expected 5 and 5 "
                 "(10 odd frames, the newest 5 kept)")
        broker.start()
        state = (lambda: f"published {p.prop('published')}, queued "
                 f"{p.prop('queued')}, dropped {p.prop('dropped')}")
        wait_for(lambda: p.prop("published") == 5 + 5, 15,
                 "the queued documents to reach the broker", state)
        for i in range(30, 36):
            p.push(i)
        wait_for(lambda: p.prop("published") == 5 + 5 + 3, 15,
                 "the documents after reconnection", state)
        p.stop()
        expect = set(range(1, 10, 2)) | set(range(21, 30, 2)) | \
            set(range(31, 36, 2))
        wait_for(lambda: {d["timestamp"] // FRAME_NS for d in
                          sub.documents()} >= expect, 15,
                 "every document kept to arrive")
        check_documents(sub.documents(), expect, schema)
        if p.prop("dropped") != 5:
            fail(f"dropped {p.prop('dropped')} at the end, expected 5")
        print("broker restarted: documents before, queued during and after "
              "the outage arrived; 5 dropped and counted")
    finally:
        sub.close()
        broker.stop()


def real_elements(workdir, schema, models):
    """The project's own elements upstream: every document they give,
    masks and tensors included, is valid."""
    port = free_port()
    broker = Broker(workdir, port)
    broker.start()
    sub = Subscriber(port, "cam/3")
    try:
        p = Gst.parse_launch(
            "videotestsrc pattern=ball num-buffers=10 ! video/x-raw,"
            "width=160,height=120,framerate=30/1 ! mobileonedetect "
            f"model={models}/shapes-detect.yaml n-threads=1 ! "
            "mobileonetrack min-hits=1 ! mobileonesegment "
            f"model={models}/shapes-segment.yaml n-threads=1 ! "
            f"mobileonepublish method=mqtt address=127.0.0.1:{port} "
            "topic=cam/3 qos=1 add-mask=true add-tensor-data=true "
            "add-empty-results=true ! fakesink")
        p.set_state(Gst.State.PLAYING)
        msg = p.get_bus().timed_pop_filtered(
            60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        p.set_state(Gst.State.NULL)
        if msg is None or msg.type != Gst.MessageType.EOS:
            fail(f"the pipeline of real elements did not finish: {msg}")
        wait_for(lambda: sub.count() >= 10, 10, "10 documents")
        validator = jsonschema.Draft7Validator(schema)
        tracked = 0
        for doc in sub.documents():
            errors = list(validator.iter_errors(doc))
            if errors:
                fail(f"document breaks the schema: {errors[0].message}")
            if "segmentation" not in doc or "mask" not in doc["segmentation"]:
                fail("a document without the mask")
            tracked += sum(1 for o in doc["objects"] if "id" in o)
        print(f"real elements: 10 valid documents, {tracked} tracked "
              "objects")
    finally:
        sub.close()
        broker.stop()


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        return 2
    if not os.access(MOSQUITTO, os.X_OK):
        print(f"SKIP: no {MOSQUITTO} (Debian's mosquitto)")
        return SKIP
    plugin_dir, schema_path = sys.argv[1:3]
    models = sys.argv[3] if len(sys.argv) > 3 else None
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)

    os.environ["GST_PLUGIN_PATH"] = plugin_dir
    Gst.init(None)
    if Gst.ElementFactory.find("mobileonepublish") is None:
        fail(f"no mobileonepublish in {plugin_dir}")

    def watchdog(*_):
        print("FAIL: watchdog: the test ran for more than 200 s", flush=True)
        os._exit(1)
    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(200)

    top = tempfile.mkdtemp(prefix="mobileonepublish-mqtt-")
    try:
        for name, fn in [("running", running_broker),
                         ("down", broker_down_at_start),
                         ("restart", broker_restart),
                         ("slow", slow_connack)]:
            d = os.path.join(top, name)
            os.mkdir(d)
            fn(d, schema)
        if models and os.path.exists(f"{models}/shapes-detect.yaml") and \
                Gst.ElementFactory.find("mobileonetrack"):
            d = os.path.join(top, "elements")
            os.mkdir(d)
            real_elements(d, schema, models)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
