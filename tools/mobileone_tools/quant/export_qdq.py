"""Exports the int8 network of a model description as a QDQ ONNX model
(QuantizeLinear / DequantizeLinear around float operators), the form ONNX
Runtime fuses into its own int8 kernels (QLinearConv): the same quantised
network as the C engine's (docs/int8.md), for a side-by-side benchmark
(benchmarks/bench_int8.py) and a cross-check of the int8 outputs.

What it writes, from the folded float32 network and the scales file of
`mobileone-cli calibrate`, following mobileone/mo-quant.c:

- A layer runs in int8 when it is a depthwise 3x3 or a pointwise (1x1,
  stride 1) convolution followed by a ReLU (or read by squeeze-excite,
  below), its output has an `output_scale` and so has its input (a
  zero-point-0 tensor: the output of another calibrated ReLU convolution
  or of a squeeze-excite gate). Its weights become int8 per output channel,
  symmetric, `s_w = max |w| / 127` over the channel (in float64, as the C
  loader), `q = clamp (rint (w / s_w), -127, 127)`, behind a
  DequantizeLinear (axis 0); its bias, `bias - bias_correction` (the
  scales file's correction, as the C loader subtracts it), becomes int32
  at scale `s_in * s_w` behind a DequantizeLinear (ONNX Runtime's QDQ
  convolution wants an int32 bias).
- Its output (the ReLU's) is quantised to uint8 with the layer's
  `output_scale`, zero point 0 (QuantizeLinear), and every consumer reads
  it through its own DequantizeLinear, as the C engine's consumers read
  the uint8 tensor (float ones through its `dequantize` layer).
- Squeeze-excite blocks (Conv -> SE -> ReLU, the SE being ReduceMean ->
  Conv -> Relu -> Conv -> Sigmoid -> Mul): the Conv has no ReLU; when its
  `output_scale` is given, its signed output is uint8 with zero point
  128, and the Conv runs in int8 like the others (a depthwise or
  pointwise Conv whose input has a zero-point-0 scale). The ReduceMean
  and the Mul read it through DequantizeLinear (the engine's
  `dequantize`). The gated output (Mul -> Relu) is named `BLOCK.se` (the
  SE module); its `output_scale` quantises the Relu's output with zero
  point 0, on the way to the int8 Conv that reads it.
- A calibrated output of a float layer (the stem, the SE gate, or a ReLU
  layer whose input has no scale) is quantised only on the way to its
  int8 consumers (the C engine's `quantize` layer); its float consumers
  read it float.
- Everything else (the stem, the SE's pooling and 1x1 layers, the heads'
  last layers, the pooling and the classifier) stays float.

ONNX Runtime rounds the bias to its int32 step and requantises in its own
order, so its outputs are close to but not bit-identical with the C
engine's (docs/int8.md, "ONNX Runtime int8").

Descriptions: classifiers (head.type classifier; variant or explicit
hyper-parameters, fused or not) and SSDLite detectors (head.type
ssdlite). The input is the normalised float [1, 3, H, W] tensor (what
`mobileone-cli run --input X.npy` takes); the outputs are `logits`, or
`cls_logits` and `bbox_regression`.

usage: PYTHONPATH=tools /usr/bin/python3 -m mobileone_tools.quant.export_qdq \\
         MODEL.yaml SCALES.safetensors OUT.onnx [--fp32 OUT-fp32.onnx]

Needs python3-onnx (Debian) besides torch. Prints the number of int8
layers, which must equal the "precision: int8 (N layers" line of
`mobileone-cli info` for the description with these scales.
"""
import argparse
import os
import sys
import tempfile

import numpy as np

from mobileone_tools.reference import st_io

SCALE_SUFFIX = ".output_scale"
CORR_SUFFIX = ".bias_correction"
CHS_SUFFIX = ".channel_scale"


class ExportError(RuntimeError):
    """A description, scales file or graph this exporter cannot handle;
    the message names the file and the tensor."""


# ---- the float network ---------------------------------------------------

def _load_yaml(desc_path):
    import yaml
    with open(desc_path) as f:
        return yaml.safe_load(f)


def _classifier(desc_path, desc):
    """The folded float32 classifier of a description."""
    import torch
    from mobileone_tools.reference import mobileone_ref as ref

    bb = desc["backbone"]
    head = desc.get("head") or {}
    kw = _backbone_kw(desc_path, bb)
    if "variant" in kw:
        wm, k, se = ref.VARIANTS[kw["variant"]]
    else:
        wm, k, se = kw["width_multipliers"], kw["num_conv_branches"], kw["use_se"]
    num_classes = int(head.get("num_classes", 1000))
    prefix = bb.get("prefix", "")
    weights = os.path.join(os.path.dirname(desc_path), desc["weights"])
    arrays, _ = st_io.load_file(weights, to_float32=True)
    sd = {(n[len(prefix):] if prefix and n.startswith(prefix) else n): np.asarray(v)
          for n, v in arrays.items()}
    if not bb.get("fused", False):
        sd = ref.reparameterize_state_dict(sd, float(bb.get("bn_eps", ref.BN_EPS)))
    model = ref.build_model(None, wm, k, se, num_classes, inference_mode=True).float().eval()
    missing, unexpected = model.load_state_dict(
        {n: torch.from_numpy(np.asarray(v, dtype=np.float32)) for n, v in sd.items()},
        strict=False)
    if missing or unexpected:
        raise ExportError(f"{weights}: does not match the description {desc_path}: "
                          f"missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model, ["logits"]


def _backbone_kw(desc_path, bb):
    from mobileone_tools.reference import mobileone_ref as ref
    if "variant" in bb:
        if bb["variant"] not in ref.VARIANTS:
            raise ExportError(f"{desc_path}: backbone.variant {bb['variant']!r} is not one of "
                              f"{', '.join(ref.VARIANTS)}")
        return dict(variant=bb["variant"])
    return dict(width_multipliers=bb["width_multipliers"],
                num_conv_branches=int(bb.get("num_conv_branches", 1)),
                use_se=bool(bb.get("use_se", False)))


def _ssdlite(desc_path, desc):
    """The folded float32 SSDLite of a description (as
    reference/export_ssd_onnx.load, also for explicit hyper-parameters)."""
    from mobileone_tools.reference import export_ssd_onnx
    from mobileone_tools.reference import ssdlite_ref as ssd

    bb, head = desc["backbone"], desc["head"]
    fused = bool(bb.get("fused", False))
    kw = {k: head[k] for k in ("extra_channels", "aspect_ratios", "min_ratio", "max_ratio")
          if k in head}
    model = ssd.SSDLiteMobileOne(int(head["num_classes"]), inference_mode=fused,
                                 **_backbone_kw(desc_path, bb), **kw).float()
    try:
        export_ssd_onnx.load_weights(model, desc_path, desc)
    except ValueError as e:
        raise ExportError(str(e))
    if not fused:
        model = ssd.fused_model(model).float().eval()
    return export_ssd_onnx.Normalized(model).eval(), ["cls_logits", "bbox_regression"]


def export_fp32(desc_path, out_path):
    """Writes the folded float32 network of a description as ONNX (opset 13,
    input the normalised [1, 3, H, W] tensor); returns its output names."""
    import torch
    desc = _load_yaml(desc_path)
    kind = (desc.get("head") or {}).get("type")
    inp = desc["input"]
    w, h = int(inp["width"]), int(inp["height"])
    if kind == "classifier":
        net, names = _classifier(desc_path, desc)
    elif kind == "ssdlite":
        net, names = _ssdlite(desc_path, desc)
    else:
        raise ExportError(f"{desc_path}: head.type {kind!r}: only classifier and ssdlite "
                          "descriptions are exported")
    torch.set_num_threads(1)
    with torch.no_grad():
        torch.onnx.export(net, torch.zeros(1, 3, h, w), out_path, opset_version=13,
                          input_names=["input"], output_names=names)
    return names


# ---- the scales ----------------------------------------------------------

def read_scales(path, chs=None):
    """{layer: scale}, {layer: correction array} from a scales file; its
    channel scales go into the dict @chs ({layer: factors}) when given."""
    arrays, _ = st_io.load_file(path, to_float32=True)
    scales, corr = {}, {}
    chs = {} if chs is None else chs
    for name, v in arrays.items():
        v = np.asarray(v, dtype=np.float32)
        if name.endswith(SCALE_SUFFIX):
            s = float(v.reshape(-1)[0]) if v.size == 1 else float("nan")
            if not (s > 0.0 and np.isfinite(s)):
                raise ExportError(f"{path}: tensor '{name}': not a positive finite scale")
            scales[name[:-len(SCALE_SUFFIX)]] = s
        elif name.endswith(CORR_SUFFIX):
            if v.ndim != 1 or not np.all(np.isfinite(v)):
                raise ExportError(f"{path}: tensor '{name}': not a finite [C] correction")
            corr[name[:-len(CORR_SUFFIX)]] = v
        elif name.endswith(CHS_SUFFIX):
            if v.ndim != 1 or not np.all(np.isfinite(v)) or not np.all(v > 0.0):
                raise ExportError(f"{path}: tensor '{name}': not positive finite [C] "
                                  "channel scales")
            chs[name[:-len(CHS_SUFFIX)]] = v
        else:
            raise ExportError(f"{path}: tensor '{name}' is neither LAYER{SCALE_SUFFIX}, "
                              f"LAYER{CORR_SUFFIX} nor LAYER{CHS_SUFFIX} (docs/int8.md)")
    return scales, corr


# ---- the QDQ rewrite -----------------------------------------------------

def _layer_name(weight_name, known):
    """The C engine's layer name of a Conv whose weight initializer is
    @weight_name (e.g. model.backbone.stage2.3.reparam_conv.weight ->
    stage2.3.reparam_conv): the longest dotted suffix found in @known."""
    if not weight_name.endswith(".weight"):
        return None
    parts = weight_name[:-len(".weight")].split(".")
    for i in range(len(parts)):
        cand = ".".join(parts[i:])
        if cand in known:
            return cand
    return None


def _attr(node, name, default):
    from onnx import helper
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _graph_index(model):
    """(initializers by name, the node list, {tensor: [(node, input index)]}).
    The list holds the node objects for the whole rewrite: nodes are keyed
    by id() below, which stays unique while they are alive."""
    g = model.graph
    nodes = list(g.node)
    consumers = {}
    for n in nodes:
        for i, name in enumerate(n.input):
            consumers.setdefault(name, []).append((n, i))
    return {t.name: t for t in g.initializer}, nodes, consumers


def equalise_model(model, chs, where="scales"):
    """Channel equalisation as the C loader does it (mo-quant.c:
    rescale_layer): a layer with channel scales t (LAYER.channel_scale)
    has output channel n's weights and bias multiplied by t[n]; every
    reader of its ReLU output (a Conv: input channel k, for a depthwise
    Conv its channel k; or, through GlobalAveragePool, the classifier's
    Gemm) has input channel k's weights divided by t[k]. Each weight is
    computed once in double, (w * tout[n]) / tin[k], as the loader does, so
    that the quantised weights are the engine's."""
    from onnx import numpy_helper

    if not chs:
        return
    inits, nodes, consumers = _graph_index(model)
    tout, tin = {}, {}      # id(node) -> factors
    found = set()
    for n in nodes:
        if n.op_type != "Conv" or len(n.input) < 2:
            continue
        lname = _layer_name(n.input[1], chs.keys())
        if lname is None:
            continue
        t = chs[lname].astype(np.float64)
        w = inits.get(n.input[1])
        if w is None or w.dims[0] != t.shape[0]:
            raise ExportError(f"{where}: tensor '{lname}{CHS_SUFFIX}': shape {list(t.shape)}, "
                              "the layer has another number of output channels")
        cons = consumers.get(n.output[0], [])
        if len(cons) != 1 or cons[0][0].op_type != "Relu":
            raise ExportError(f"{where}: tensor '{lname}{CHS_SUFFIX}': the layer has no ReLU")
        found.add(lname)
        tout[id(n)] = t
        todo = [c for c, _ in consumers.get(cons[0][0].output[0], [])]
        while todo:
            c = todo.pop()
            if c.op_type in ("Conv", "Gemm"):
                tin[id(c)] = t
            elif c.op_type in ("GlobalAveragePool", "Flatten", "Reshape", "Squeeze"):
                todo += [d for d, _ in consumers.get(c.output[0], [])]
            else:
                raise ExportError(f"{where}: tensor '{lname}{CHS_SUFFIX}': its output is read "
                                  f"by {c.op_type}, which cannot take channel scales")
    missing = sorted(set(chs) - found)
    if missing:
        raise ExportError(f"{where}: tensor '{missing[0]}{CHS_SUFFIX}' names no convolution "
                          "of the model")
    for n in nodes:
        to, ti = tout.get(id(n)), tin.get(id(n))
        if to is None and ti is None:
            continue
        wi = inits[n.input[1]]
        w = numpy_helper.to_array(wi).astype(np.float64)
        if n.op_type == "Gemm":
            if _attr(n, "transB", 0) != 1:
                raise ExportError("a Gemm reading channel scales must have transB=1")
            w = w / ti[None, :]
        else:
            group = _attr(n, "group", 1)
            if to is not None:
                w = w * to[:, None, None, None]
            if ti is not None:
                if group == 1:
                    w = w / ti[None, :, None, None]
                elif group == w.shape[0] and w.shape[1] == 1:
                    w = w / ti[:, None, None, None]
                else:
                    raise ExportError("a grouped Conv cannot read channel scales")
            if to is not None and len(n.input) > 2 and n.input[2]:
                bi = inits[n.input[2]]
                b = numpy_helper.to_array(bi).astype(np.float64) * to
                bi.CopyFrom(numpy_helper.from_array(b.astype(np.float32), bi.name))
        wi.CopyFrom(numpy_helper.from_array(w.astype(np.float32), wi.name))


def quantize_model(model, scales, corr, where="scales"):
    """Rewrites a float32 ONNX model (torch-exported, Conv weights named
    LAYER.weight) in place into the QDQ network; returns the int8 layer
    names in graph order."""
    from onnx import helper, numpy_helper

    g = model.graph
    inits, nodes, consumers = _graph_index(model)
    graph_outputs = {o.name for o in g.output}

    # The calibrated layers: Conv -> Relu, the Relu's output scaled (zero
    # point 0); Conv -> SE, the Conv's output scaled (zero point 128); the
    # SE gate Mul -> Relu, the Relu's output scaled (zero point 0).
    act_scale = {}          # scaled tensor -> scale
    act_zp = {}             # scaled tensor -> zero point
    layer_of_conv = {}      # id(Conv node) -> layer name
    conv_act = {}           # id(Conv node) -> its scaled output tensor
    matched = set()
    producer = {o: n for n in nodes for o in n.output}
    for n in nodes:
        if n.op_type != "Conv" or len(n.input) < 2:
            continue
        lname = _layer_name(n.input[1], scales.keys() | corr.keys())
        if lname is None:
            continue
        cons = consumers.get(n.output[0], [])
        if lname in scales:
            matched.add(lname)
            if n.output[0] in graph_outputs:
                continue        # the C engine keeps such a layer float
            if _read_by_se(n.output[0], consumers):
                act, zp = n.output[0], 128
            elif len(cons) == 1 and cons[0][0].op_type == "Relu":
                act, zp = cons[0][0].output[0], 0
            else:
                continue        # no scale slot in the C engine: float
            if act in graph_outputs:
                continue
            act_scale[act] = scales[lname]
            act_zp[act] = zp
            conv_act[id(n)] = act
        layer_of_conv[id(n)] = lname
        matched.add(lname)
    for n in nodes:
        se = _se_name(n, producer, inits, scales.keys())
        if se is None:
            continue
        matched.add(se)
        cons = consumers.get(n.output[0], [])
        if len(cons) == 1 and cons[0][0].op_type == "Relu" \
                and cons[0][0].output[0] not in graph_outputs:
            act_scale[cons[0][0].output[0]] = scales[se]
            act_zp[cons[0][0].output[0]] = 0
    unmatched = sorted((scales.keys() | corr.keys()) - matched)
    if unmatched:
        suffix = SCALE_SUFFIX if unmatched[0] in scales else CORR_SUFFIX
        raise ExportError(f"{where}: tensor '{unmatched[0]}{suffix}' names no "
                          "convolution of the model (scales calibrated for another model?)")

    # The int8 layers (mo-quant.c: layer_can_be_int8 and both scales).
    int8 = {}               # id(Conv) -> (layer, s_in)
    for n in nodes:
        if id(n) not in conv_act:
            continue
        w = inits.get(n.input[1])
        if w is None:
            continue
        kshape = list(w.dims)
        group = _attr(n, "group", 1)
        strides = list(_attr(n, "strides", [1, 1]))
        pw = kshape[2:] == [1, 1] and group == 1 and strides == [1, 1]
        dw = kshape[2:] == [3, 3] and group == kshape[0] and kshape[1] == 1
        s_in = act_scale.get(n.input[0])
        if (pw or dw) and s_in is not None and act_zp[n.input[0]] == 0:
            int8[id(n)] = (layer_of_conv[id(n)], s_in)

    new_inits = []
    zp_name = {0: "qdq.zero_point.u8", 128: "qdq.zero_point.u8_128"}
    for zp, name in zp_name.items():
        new_inits.append(numpy_helper.from_array(np.array(zp, dtype=np.uint8), name))
    scale_name = {}

    def act_scale_init(t):
        if t not in scale_name:
            scale_name[t] = "qdq.scale." + t.strip("/").replace("/", ".")
            new_inits.append(numpy_helper.from_array(
                np.array(act_scale[t], dtype=np.float32), scale_name[t]))
        return scale_name[t]

    # Which scaled tensors get a QuantizeLinear, and which consumers read
    # it through a DequantizeLinear.
    prod_int8 = {conv_act[k] for k in int8}
    q_of = {}
    for t in act_scale:
        cons = consumers.get(t, [])
        from_int8 = t in prod_int8
        readers = [(c, i) for (c, i) in cons if from_int8 or (id(c) in int8 and i == 0)]
        if readers:
            q_of[t] = (t + "_quantized", readers)
    read_dq = {}            # (id(node), input index) -> quantized tensor
    for t, (qt, readers) in q_of.items():
        for c, i in readers:
            read_dq[(id(c), i)] = (t, qt)

    out_nodes = []
    layers = []
    dq_count = 0
    for n in nodes:
        # DequantizeLinear of the node's quantised inputs.
        for i, name in enumerate(list(n.input)):
            if (id(n), i) in read_dq:
                t, qt = read_dq[(id(n), i)]
                dq_count += 1
                dqt = f"{t}_dequantized_{dq_count}"
                out_nodes.append(helper.make_node(
                    "DequantizeLinear", [qt, act_scale_init(t), zp_name[act_zp[t]]], [dqt],
                    name=f"DequantizeLinear_{dq_count}"))
                n.input[i] = dqt
        if id(n) in int8:
            lname, s_in = int8[id(n)]
            layers.append(lname)
            w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float64)
            cout = w.shape[0]
            wf = w.reshape(cout, -1)
            amax = np.abs(wf).max(axis=1)
            sw = np.where(amax > 0.0, amax / 127.0, 1.0)
            q = np.clip(np.rint(wf / sw[:, None]), -127, 127).astype(np.int8).reshape(w.shape)
            if len(n.input) > 2 and n.input[2]:
                b = numpy_helper.to_array(inits[n.input[2]]).astype(np.float64)
            else:
                b = np.zeros(cout)
            c = corr.get(lname)
            if c is not None:
                if c.shape != (cout,):
                    raise ExportError(f"{where}: tensor '{lname}{CORR_SUFFIX}': shape "
                                      f"{list(c.shape)}, the layer has {cout} output channels")
                b = b - c.astype(np.float64)
            bstep = np.float32(s_in) * sw.astype(np.float32)
            bq = np.rint(b / bstep.astype(np.float64))
            if np.abs(bq).max(initial=0) >= 2 ** 31:
                raise ExportError(f"{lname}: bias does not fit int32 at scale s_in * s_w")
            base = "qdq." + lname
            new_inits += [
                numpy_helper.from_array(q, base + ".weight_q"),
                numpy_helper.from_array(sw.astype(np.float32), base + ".weight_scale"),
                numpy_helper.from_array(np.zeros(cout, dtype=np.int8), base + ".weight_zp"),
                numpy_helper.from_array(bq.astype(np.int32), base + ".bias_q"),
                numpy_helper.from_array(bstep.astype(np.float32), base + ".bias_scale"),
                numpy_helper.from_array(np.zeros(cout, dtype=np.int32), base + ".bias_zp"),
            ]
            out_nodes.append(helper.make_node(
                "DequantizeLinear", [base + ".weight_q", base + ".weight_scale",
                                     base + ".weight_zp"], [base + ".weight_dq"],
                name=base + ".weight_DequantizeLinear", axis=0))
            out_nodes.append(helper.make_node(
                "DequantizeLinear", [base + ".bias_q", base + ".bias_scale", base + ".bias_zp"],
                [base + ".bias_dq"], name=base + ".bias_DequantizeLinear", axis=0))
            del n.input[1:]
            n.input.extend([base + ".weight_dq", base + ".bias_dq"])
        out_nodes.append(n)
        for o in n.output:
            if o in q_of:
                out_nodes.append(helper.make_node(
                    "QuantizeLinear", [o, act_scale_init(o), zp_name[act_zp[o]]], [q_of[o][0]],
                    name=f"QuantizeLinear_{o.strip('/').replace('/', '.')}"))
    del g.node[:]
    g.node.extend(out_nodes)
    # The float weights of the int8 layers are no longer read.
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep + [t for t in new_inits if t.name in used])
    return layers


def _read_by_se(t, consumers):
    """Whether tensor @t is read by squeeze-excite only (mo-quant.c:
    tensor_read_by_se): a mean over the pixels (ReduceMean or
    GlobalAveragePool) and the gate's Mul, nothing else."""
    kinds = {c.op_type for c, _ in consumers.get(t, [])}
    return "Mul" in kinds and kinds & {"ReduceMean", "GlobalAveragePool"} \
        and kinds <= {"Mul", "ReduceMean", "GlobalAveragePool"}


def _se_name(n, producer, inits, known):
    """The C engine's name of an SE gate (BLOCK.se, mo-backbone.c) when
    node @n is the gate's Mul (x * Sigmoid (Conv BLOCK.se.expand (...))) and
    the name is in @known, else None."""
    if n.op_type != "Mul":
        return None
    for i in n.input:
        s = producer.get(i)
        if s is None or s.op_type != "Sigmoid":
            continue
        e = producer.get(s.input[0])
        if e is None or e.op_type != "Conv" or len(e.input) < 2 \
                or not e.input[1].endswith(".se.expand.weight"):
            continue
        lname = _layer_name(e.input[1][:-len(".expand.weight")] + ".weight", known)
        if lname is not None:
            return lname
    return None


def export(desc_path, scales_path, out_path, fp32_path=None):
    """Writes the QDQ model of @desc_path with @scales_path to @out_path (and
    the float32 one to @fp32_path when given); returns the int8 layers."""
    import onnx
    chs = {}
    scales, corr = read_scales(scales_path, chs)
    tmp = None
    if fp32_path is None:
        tmp = tempfile.mkdtemp(prefix="mobileone-qdq-")
        fp32_path = os.path.join(tmp, "fp32.onnx")
    export_fp32(desc_path, fp32_path)
    model = onnx.load(fp32_path)
    equalise_model(model, chs, where=scales_path)
    layers = quantize_model(model, scales, corr, where=scales_path)
    if not layers:
        raise ExportError(f"{scales_path}: no layer of {desc_path} can run in int8 with these "
                          "scales")
    onnx.checker.check_model(model)
    onnx.save(model, out_path)
    if tmp is not None:
        os.remove(fp32_path)
        os.rmdir(tmp)
    return layers


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="description YAML (classifier or ssdlite)")
    ap.add_argument("scales", help="scales file of mobileone-cli calibrate")
    ap.add_argument("out", help="the QDQ .onnx to write")
    ap.add_argument("--fp32", default=None, help="also write the float32 .onnx here")
    a = ap.parse_args(argv)
    try:
        layers = export(a.model, a.scales, a.out, a.fp32)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{a.out}: {len(layers)} int8 layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
