#!/usr/bin/python3
"""Exports a MobileOne SSDLite detector (a description YAML + safetensors, as
mobileonedetect loads it, e.g. models/shapes-detect.yaml) to ONNX, folded
(BatchNorm and the branches, as the C engine folds them at load), for
upstream GStreamer's onnxinference or any ONNX runtime.

Outputs: cls_logits [1, N, num_classes] and bbox_regression [1, N, 4], the
raw head outputs (torchvision's order, docs/model-format.md); anchors, box
decoding and non-maximum suppression are not in the graph.

Input, --input pixels (default): uint8 [1, H, W, 3] RGB, the bytes of an RGB
video frame at the model's size; the graph scales to 0..1 and applies the
description's mean and std. --input normalized: float [1, 3, H, W], already
normalised (what `mobileone-cli run --input X.npy` takes).

The model's metadata (metadata_props) maps each output name to a tensor id,
which GStreamer's onnxinference requires (it names the GstTensors it
attaches by them): cls_logits -> mobileone-ssdlite-cls-logits,
bbox_regression -> mobileone-ssdlite-bbox-regression.

usage: PYTHONPATH=tools python3 -m mobileone_tools.reference.export_ssd_onnx \
         MODEL.yaml OUT.onnx [--input pixels|normalized]
"""
import argparse
import os

import numpy as np
import torch
import yaml

from mobileone_tools.reference import mobileone_ref as ref
from mobileone_tools.reference import ssdlite_ref as ssd
from mobileone_tools.reference import st_io


class Pixels(torch.nn.Module):
    """uint8 NHWC RGB -> the normalised NCHW input -> the raw outputs."""

    def __init__(self, model, mean, std):
        super().__init__()
        self.model = model
        self.register_buffer("scale", (1.0 / (255.0 * torch.tensor(std))).view(1, 3, 1, 1))
        self.register_buffer("shift", (-torch.tensor(mean) / torch.tensor(std)).view(1, 3, 1, 1))

    def forward(self, x):
        x = x.permute(0, 3, 1, 2).float() * self.scale + self.shift
        out = self.model(x)
        return out["cls_logits"], out["bbox_regression"]


class Normalized(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        out = self.model(x)
        return out["cls_logits"], out["bbox_regression"]


TENSOR_IDS = {"cls_logits": "mobileone-ssdlite-cls-logits",
              "bbox_regression": "mobileone-ssdlite-bbox-regression"}


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number, payload):
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def add_metadata(path, props):
    """Appends @props to the ModelProto's metadata_props (field 14, repeated
    StringStringEntryProto {key = 1, value = 2}): protobuf appends repeated
    fields found at the end of a message, so no onnx module is needed."""
    extra = b"".join(_field(14, _field(1, k.encode()) + _field(2, v.encode()))
                     for k, v in props.items())
    with open(path, "ab") as f:
        f.write(extra)


def load_weights(model, desc_path, desc):
    """Loads the weights a description names into the SSDLite @model (the
    backbone's tensors under backbone.prefix) and puts it in eval mode;
    ValueError, naming the file, when they do not match."""
    bb = desc["backbone"]
    weights = os.path.join(os.path.dirname(desc_path), desc["weights"])
    arrays, _ = st_io.load_file(weights, to_float32=True)
    prefix = bb.get("prefix", "backbone.")
    if prefix != "backbone.":
        arrays = {("backbone." + k[len(prefix):] if k.startswith(prefix) else k): v
                  for k, v in arrays.items()}
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{weights}: does not match the description {desc_path}: "
                         f"missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.eval()


def load(desc_path):
    """The folded float32 model of a description and the description."""
    with open(desc_path) as f:
        desc = yaml.safe_load(f)
    head = desc.get("head") or {}
    if head.get("type") != "ssdlite":
        raise SystemExit(f"{desc_path}: head.type is {head.get('type')!r}, not ssdlite")
    bb = desc["backbone"]
    if bb.get("variant") not in ref.VARIANTS:
        raise SystemExit(f"{desc_path}: backbone.variant {bb.get('variant')!r} is not one of "
                         f"{', '.join(ref.VARIANTS)}")
    fused = bool(bb.get("fused", False))
    kw = {k: head[k] for k in ("extra_channels", "aspect_ratios", "min_ratio", "max_ratio")
          if k in head}
    model = ssd.SSDLiteMobileOne(head["num_classes"], variant=bb["variant"],
                                 inference_mode=fused, **kw).float()
    try:
        load_weights(model, desc_path, desc)
    except ValueError as e:
        raise SystemExit(str(e))
    if not fused:
        model = ssd.fused_model(model).float()
    return model, desc


def export(desc_path, out_path, input_kind="pixels"):
    model, desc = load(desc_path)
    inp = desc["input"]
    w, h = int(inp["width"]), int(inp["height"])
    if input_kind == "pixels":
        net = Pixels(model, inp.get("mean", [0.0] * 3), inp.get("std", [1.0] * 3)).eval()
        x = torch.zeros(1, h, w, 3, dtype=torch.uint8)
    else:
        net = Normalized(model).eval()
        x = torch.zeros(1, 3, h, w)
    with torch.no_grad():
        torch.onnx.export(net, x, out_path, opset_version=13, input_names=["input"],
                          output_names=["cls_logits", "bbox_regression"])
    add_metadata(out_path, TENSOR_IDS)
    return out_path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="description YAML (head.type: ssdlite)")
    ap.add_argument("out", help="the .onnx to write")
    ap.add_argument("--input", choices=("pixels", "normalized"), default="pixels")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    export(a.model, a.out, a.input)
    print(a.out)


if __name__ == "__main__":
    main()
