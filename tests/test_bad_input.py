#!/usr/bin/env python3
"""Bad input never crashes: each case runs `mobileone-cli run` on a broken
model description, weights file or input and expects a non-zero exit (not a
signal), a message naming the file and the key or tensor, and no output.

Standard library only: the fixture's files are rewritten byte by byte.
usage: PYTHONPATH=tools test_bad_input.py MOBILEONE_CLI FIXTURE_DIR
"""
import glob
import json
import math
import os
import re
import shutil
import struct
import sys
import tempfile

from mobileone_tools import cli

CLI, DATA = sys.argv[1], sys.argv[2]
passed = failed = 0


def read_st(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write_st(path, header, data, header_text=None):
    text = header_text if header_text is not None else json.dumps(header)
    text = text.encode() + b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def first_float_tensor(header, want_ndim=4):
    for name, t in header.items():
        if name != "__metadata__" and t["dtype"] == "F32" and len(t["shape"]) == want_ndim \
                and t["shape"][0] != t["shape"][1]:
            return name
    return None


def case(title, expect, setup):
    """setup(tmpdir) -> (yaml_path, input_path); expect: substrings of stderr."""
    global passed, failed
    tmp = tempfile.mkdtemp(prefix="mobileone-bad-")
    try:
        yaml_path, input_path = setup(tmp)
        out = os.path.join(tmp, "out")
        p = cli.run(CLI, ["run", yaml_path, "--input", input_path, "--output-dir", out],
                    timeout=120, check=False)
        problems = []
        if p.returncode <= 0:
            problems.append("%s (expected an error exit, not success or a signal)"
                            % cli.describe_status(p.returncode))
        for s in expect:
            if s not in p.stderr:
                problems.append("message lacks %r" % s)
        if os.path.exists(out):
            problems.append("output written despite the error")
        if "AddressSanitizer" in p.stderr or "runtime error" in p.stderr:
            problems.append("sanitizer report")
        status = "FAIL" if problems else "ok"
        print("%-4s %-40s %s" % (status, title, p.stderr.strip().splitlines()[-1:]))
        for pr in problems:
            print("       " + pr)
        if problems:
            failed += 1
        else:
            passed += 1
    finally:
        shutil.rmtree(tmp)


yamls = sorted(glob.glob(os.path.join(DATA, "*-fused.yaml")))
if not yamls:
    print("SKIP: no fixtures in", DATA)
    sys.exit(77)
# The first fixture with F32 weights (the others are F16/BF16).
for base_yaml in yamls:
    name = os.path.basename(base_yaml)[:-len("-fused.yaml")]
    base_st = os.path.join(DATA, name + "-fused.safetensors")
    HEADER, DATA_BYTES = read_st(base_st)
    W = first_float_tensor(HEADER)
    if W is not None:
        break
else:
    raise SystemExit("no fixture with F32 weights in " + DATA)
inputs = sorted(glob.glob(os.path.join(DATA, "input-*.npy")), key=os.path.getsize)
base_input = inputs[0]
with open(base_yaml) as f:
    yaml_text = f.read()


def with_yaml(text, st_bytes=None):
    def setup(tmp):
        y = os.path.join(tmp, "model.yaml")
        with open(y, "w") as f:
            f.write(text.replace(name + "-fused.safetensors", "w.safetensors"))
        if st_bytes is not None:
            with open(os.path.join(tmp, "w.safetensors"), "wb") as f:
                f.write(st_bytes)
        else:
            shutil.copy(base_st, os.path.join(tmp, "w.safetensors"))
        return y, base_input
    return setup


def with_header(mutate, header_text=None, data=None):
    h = json.loads(json.dumps(HEADER))
    mutate(h)
    tmp = tempfile.mkdtemp()
    p = os.path.join(tmp, "x")
    write_st(p, h, DATA_BYTES if data is None else data, header_text)
    with open(p, "rb") as f:
        b = f.read()
    shutil.rmtree(tmp)
    return with_yaml(yaml_text, b)


def sub_yaml(old, new):
    assert old in yaml_text, old
    return with_yaml(yaml_text.replace(old, new, 1))


# --- model description ---
case("missing YAML file", ["nope.yaml"],
     lambda tmp: (os.path.join(tmp, "nope.yaml"), base_input))
case("YAML syntax error", ["model.yaml", "syntax"], with_yaml("name: x\nbackbone: [oops\n"))
case("YAML not a mapping", ["model.yaml"], with_yaml("- 1\n- 2\n"))
case("unknown variant", ["model.yaml", "backbone.variant", "s9"],
     with_yaml(yaml_text.replace("backbone:", "backbone:\n  variant: s9", 1)
               if "variant:" not in yaml_text else
               "\n".join(l if "variant:" not in l else "  variant: s9" for l in yaml_text.splitlines())))
case("unknown key", ["model.yaml", "backbone.fussed"], sub_yaml("backbone:", "backbone:\n  fussed: true"))
case("mistyped value", ["model.yaml", "head.num_classes"],
     with_yaml(re.sub(r"num_classes: *[0-9]+", "num_classes: ten", yaml_text)))
case("out of range bn_eps", ["model.yaml", "backbone.bn_eps"],
     with_yaml("\n".join(l if "bn_eps" not in l else "  bn_eps: -1.0" for l in yaml_text.splitlines())
               if "bn_eps" in yaml_text else yaml_text.replace("backbone:", "backbone:\n  bn_eps: -1.0", 1)))
case("missing head", ["model.yaml", "head"],
     with_yaml("\n".join(l for l in yaml_text.splitlines() if not l.startswith("head"))))
case("unknown head type", ["model.yaml", "head.type", "yolo"], sub_yaml("classifier", "yolo"))
def missing_weights(tmp):
    y, _ = with_yaml(yaml_text)(tmp)
    os.remove(os.path.join(tmp, "w.safetensors"))
    return y, base_input


case("missing weights file", ["w.safetensors"], missing_weights)
case("wrong fused setting", ["w.safetensors", "fused"],
     with_yaml(yaml_text.replace("fused: true", "fused: false")))


# --- hostile descriptions (issue 14, docs/security.md) ---
REPRO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz", "reproducers")


def fifo_yaml(tmp):
    y = os.path.join(tmp, "model.yaml")
    os.mkfifo(y)
    return y, base_input


def copy_repro(name):
    def setup(tmp):
        y = os.path.join(tmp, "model.yaml")
        shutil.copy(os.path.join(REPRO, name), y)
        return y, base_input
    return setup


case("YAML is a FIFO (no hang)", ["model.yaml", "FIFO"], fifo_yaml)
case("YAML billion laughs", ["model.yaml", "YAML nodes"], copy_repro("yaml-billion-laughs.yaml"))
case("labels outside the folder", ["model.yaml", "labels", "/etc/shells", "refused"],
     with_yaml(yaml_text + "labels: /etc/shells\n"))
case("weights above the folder", ["model.yaml", "weights", "'..'"],
     with_yaml(yaml_text.replace(name + "-fused.safetensors", "../w.safetensors")))

# --- weights ---
case("tensor missing", ["w.safetensors", W],
     with_header(lambda h: h.__setitem__(W + "_renamed", h.pop(W))))
case("tensor with wrong shape", ["w.safetensors", W, "shape"],
     with_header(lambda h: h[W].__setitem__("shape", [h[W]["shape"][1], h[W]["shape"][0]] + h[W]["shape"][2:])))
case("tensor with wrong dtype", ["w.safetensors", W, "I32"],
     with_header(lambda h: h[W].__setitem__("dtype", "I32")))
case("offsets beyond the data", ["w.safetensors"],
     with_header(lambda h: h[W].__setitem__("data_offsets", [h[W]["data_offsets"][0], len(DATA_BYTES) + 64])))
case("offsets disagree with shape", ["w.safetensors", W],
     with_header(lambda h: h[W].__setitem__("data_offsets", [h[W]["data_offsets"][0], h[W]["data_offsets"][1] - 4])))
case("truncated file", ["w.safetensors"], with_header(lambda h: None, data=DATA_BYTES[:len(DATA_BYTES) // 2]))
case("header length beyond the file", ["w.safetensors"],
     with_yaml(yaml_text, struct.pack("<Q", 1 << 40) + b"{}"))
case("header truncated", ["w.safetensors"],
     with_yaml(yaml_text, struct.pack("<Q", 4096) + json.dumps(HEADER).encode()[:100]))
case("empty weights file", ["w.safetensors"], with_yaml(yaml_text, b""))
dup = json.dumps(HEADER)
first_entry = '"%s": %s' % (W, json.dumps(HEADER[W]))
case("duplicate tensor names", ["w.safetensors", W],
     with_header(lambda h: None, header_text=dup[:-1] + ", " + first_entry + "}"))


def poison(value):
    off = HEADER[W]["data_offsets"][0] + 4 * 3
    return DATA_BYTES[:off] + struct.pack("<f", value) + DATA_BYTES[off + 4:]


case("NaN in weights", ["w.safetensors", W, "NaN"], with_header(lambda h: None, data=poison(math.nan)))
case("Inf in weights", ["w.safetensors", W], with_header(lambda h: None, data=poison(math.inf)))


# --- input ---
def npy(shape, descr="<f4", truncate=False):
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""))
    hdr += " " * (-(len(hdr) + 11) % 64) + "\n"
    n = 1
    for s in shape:
        n *= s
    body = b"\0" * (4 * n)
    if truncate:
        body = body[:len(body) // 2]
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + body


def with_input(raw):
    def setup(tmp):
        y, _ = with_yaml(yaml_text)(tmp)
        p = os.path.join(tmp, "x.npy")
        with open(p, "wb") as f:
            f.write(raw)
        return y, p
    return setup


case("input with 4 channels", ["x.npy", "shape"], with_input(npy([1, 4, 16, 16])))
case("input with 3 dims", ["x.npy", "shape"], with_input(npy([3, 16, 16])))
case("input truncated", ["x.npy"], with_input(npy([1, 3, 16, 16], truncate=True)))
case("input int64", ["x.npy"], with_input(npy([1, 3, 16, 16], descr="<i8")))
case("input not npy", ["x.npy"], with_input(b"hello"))


def npy_with(value):
    raw = bytearray(npy([1, 3, 16, 16]))
    off = len(raw) - 4 * (3 * 16 * 16) + 4 * (16 * 16 + 5 * 16 + 7)
    raw[off:off + 4] = struct.pack("<f", value)
    return bytes(raw)


case("NaN in the input", ["x.npy", "NaN", "channel 1, row 5, column 7"], with_input(npy_with(math.nan)))
case("Inf in the input", ["x.npy", "infinite"], with_input(npy_with(-math.inf)))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
