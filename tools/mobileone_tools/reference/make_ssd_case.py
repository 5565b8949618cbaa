"""Builds one random SSDLite-on-MobileOne detector and writes a test case into --out DIR.

Files written (NAME from --name; W x H for each --size):
  NAME-unfused.safetensors   training form: backbone.* (Apple's rbr_* names), extras.*,
                             cls_head.*, reg_head.* with conv + bn (BN running stats,
                             num_batches_tracked as I64 like a torch checkpoint)
  NAME-fused.safetensors     inference form: backbone.*.reparam_conv, head X.conv with bias
  NAME-unfused.yaml, NAME-fused.yaml   descriptions (head.type ssdlite)
  input-WxH.npy              [1, 3, H, W] ~ N(0, 1), the network input itself
                             (float16 with --input-dtype f16; the reference uses
                             exactly the stored values)
  NAME-cls_logits-WxH.npy    float32 [1, N, num_classes]: the unfused model in
                             float64, torchvision's order (map by map, locations
                             row-major, anchors innermost)
  NAME-bbox_regression-WxH.npy   float32 [1, N, 4], the same
  NAME-detections-WxH.json   torchvision's post-processing (SSD.postprocess_detections)
                             of exactly those float32 arrays, for several parameter
                             sets ("runs"; the first is the YAML's):
                             {"width", "height", "num_anchors", "num_classes",
                              "runs": [{"name", "params": {...}, "candidates",
                              "after_nms", "nms_path", "margins": {...},
                              "detections": [{"label_id", "score", "box"}]}]}

Example:
  /usr/bin/python3 -m mobileone_tools.reference.make_ssd_case \\
      --width-multipliers 0.125,0.0625,0.0625,0.0625 --extra-channels 24,16,16,8 --num-classes 4 --size 263x97 --out /tmp/ssd
"""

import argparse
import copy
import json
import os

import numpy as np
import torch
from torchvision.models.detection._utils import BoxCoder
from torchvision.ops.boxes import clip_boxes_to_image

from mobileone_tools.reference import make_case
from mobileone_tools.reference import mobileone_ref as ref
from mobileone_tools.reference import ssdlite_ref as ssd
from mobileone_tools.reference import st_io

PREFIX = "backbone."


def yaml_text(name, weights, fused, cfg, size, params):
    wm = ", ".join(repr(float(v)) for v in cfg["width_multipliers"])
    lines = [f"name: {name}", "backbone:",
             f"  width_multipliers: [{wm}]",
             f"  num_conv_branches: {int(cfg['num_conv_branches'])}",
             f"  use_se: {'true' if cfg['use_se'] else 'false'}",
             f"  fused: {'true' if fused else 'false'}",
             f'  prefix: "{PREFIX}"',
             f"input: {{width: {size[0]}, height: {size[1]}, "
             f"mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}}",
             "head:",
             "  type: ssdlite",
             f"  num_classes: {cfg['num_classes']}",
             f"  extra_channels: [{', '.join(str(c) for c in cfg['extra_channels'])}]"]
    for key in ("score_threshold", "nms_iou_threshold", "topk_candidates",
                "max_detections"):
        if params.get(key) is not None:
            lines.append(f"  {key}: {params[key]}")
    lines.append(f"weights: {weights}")
    return "\n".join(lines) + "\n"


def _pairwise_iou(b):
    x0, y0, x1, y1 = (b[:, i] for i in range(4))
    area = (x1 - x0) * (y1 - y0)
    ix0 = np.maximum(x0[:, None], x0[None])
    iy0 = np.maximum(y0[:, None], y0[None])
    ix1 = np.minimum(x1[:, None], x1[None])
    iy1 = np.minimum(y1[:, None], y1[None])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / (area[:, None] + area[None] - inter)


def margins(cls, reg, anchors, size, p, dets):
    """How far the run is from a decision boundary (score threshold, top-k
    cut, IoU threshold, final order): a C engine whose raw outputs differ by
    less than these from PyTorch's takes the same decisions."""
    scores = torch.softmax(cls, -1)[:, 1:].double().numpy()
    thr = p["score_threshold"]
    m = {"score_threshold": float(np.abs(scores - thr).min())}
    boxes = BoxCoder(tuple(p["box_coder_weights"])).decode_single(reg, anchors)
    boxes = clip_boxes_to_image(boxes, size).double().numpy()
    topk_gap, iou_gap, n_cand = np.inf, np.inf, 0
    for k in range(scores.shape[1]):
        s = scores[:, k]
        idx = np.nonzero(s > thr)[0]
        order = idx[np.argsort(-s[idx], kind="stable")]
        if len(order) > p["topk_candidates"]:
            cut = p["topk_candidates"]
            topk_gap = min(topk_gap, s[order[cut - 1]] - s[order[cut]])
            order = order[:cut]
        n_cand += len(order)
        if len(order) > 1:
            iou = _pairwise_iou(boxes[order])
            iu = iou[np.triu_indices(len(order), 1)]
            iu = iu[np.isfinite(iu)]
            if len(iu):
                iou_gap = min(iou_gap, float(np.abs(iu - p["nms_iou_threshold"]).min()))
    m["topk_cut"] = float(topk_gap)
    m["nms_iou"] = float(iou_gap)
    ds = dets["scores"].double().numpy()
    m["final_order"] = float(np.abs(np.diff(ds)).min()) if len(ds) > 1 else float("inf")
    # No such boundary (nothing cut, one box): null in the JSON.
    return {k: (v if np.isfinite(v) else None) for k, v in m.items()}, n_cand


@torch.no_grad()
def make_ssd_case(out_dir, name, num_classes, width_multipliers=None, variant=None, k=1,
                  se=False, extra_channels=ssd.DEFAULTS["extra_channels"],
                  sizes=((320, 320),), seed=0, input_dtype="f32", yaml_params=None,
                  extra_runs=(), background_bias=0.0, verbose=True):
    """Writes one case; returns a dict of paths. @yaml_params: the head's
    post-processing keys written into the YAML (None: absent, defaults apply);
    @extra_runs: (name, params) post-processed in addition to the YAML's."""
    torch.set_num_threads(1)
    log = print if verbose else (lambda *a, **kw: None)
    os.makedirs(out_dir, exist_ok=True)
    yaml_params = dict(yaml_params or {})

    model = ssd.SSDLiteMobileOne(num_classes, variant, width_multipliers, k, se,
                                 extra_channels).double()
    cfg = model.config
    ssd.randomize(model, seed, calib_size=max(sizes, key=lambda s: s[0] * s[1]),
                  background_bias=background_bias)
    # Weights exactly as the F32 file holds them.
    model.load_state_dict({n: torch.from_numpy(st_io.round_to(v.numpy(), "F32"))
                           if v.is_floating_point() else v
                           for n, v in model.state_dict().items()})
    unfused_sd = model.state_dict()
    fused_sd = {n: st_io.round_to(v, "F32") for n, v in ssd.fuse_state_dict(unfused_sd).items()}
    fused = ssd.SSDLiteMobileOne(inference_mode=True, **cfg).double().eval()
    fused.load_state_dict({n: torch.from_numpy(v) for n, v in fused_sd.items()}, strict=True)

    paths = {"yaml": {}, "inputs": {}, "cls_logits": {}, "bbox_regression": {},
             "detections": {}}
    meta = {"format": "pt"}
    for form, sd in (("unfused", {n: v.numpy() for n, v in unfused_sd.items()}),
                     ("fused", fused_sd)):
        st = os.path.join(out_dir, f"{name}-{form}.safetensors")
        # The module's attribute names are the checkpoint names ("backbone.").
        st_io.save_file(sd, st, float_dtype="F32", metadata=meta)
        yp = os.path.join(out_dir, f"{name}-{form}.yaml")
        with open(yp, "w") as f:
            f.write(yaml_text(name, os.path.basename(st), form == "fused", cfg, sizes[0],
                              yaml_params))
        paths["yaml"][form] = yp
    log(f"{name}: channels {model.channels} classes {num_classes} anchors/location "
        f"{model.num_anchors}; parameters {sum(v.numel() for v in unfused_sd.values())}"
        f" unfused, {sum(v.size for v in fused_sd.values())} fused")

    post = dict(ssd.DEFAULTS)
    post.update({k2: v for k2, v in yaml_params.items() if v is not None})
    runs = [("yaml", post)] + [(n, dict(post, **p)) for n, p in extra_runs]
    for (w, h) in sizes:
        x = make_case.make_input(w, h)
        if input_dtype == "f16":
            x = x.astype(np.float16)
        ip = make_case.input_path(out_dir, w, h)
        np.save(ip, x)
        paths["inputs"][(w, h)] = ip
        xt = torch.from_numpy(x.astype(np.float64))
        out = model(xt)
        fout = fused(xt)
        cls = out["cls_logits"].float()
        reg = out["bbox_regression"].float()
        d_fused = max(make_case.rel_diff(fout[k2].numpy(), out[k2].numpy())
                      for k2 in ("cls_logits", "bbox_regression"))
        # Plain float32 arithmetic: a floor for what the C engine can achieve.
        out32 = copy.deepcopy(model).float()(xt.float())
        d_f32 = max(make_case.rel_diff(out32[k2].double().numpy(), out[k2].numpy())
                    for k2 in ("cls_logits", "bbox_regression"))
        for key, arr in (("cls_logits", cls), ("bbox_regression", reg)):
            p = os.path.join(out_dir, f"{name}-{key}-{w}x{h}.npy")
            np.save(p, arr.numpy())
            paths[key][(w, h)] = p
        feats = [f.float() for f in out["features"]]
        anchors = model.anchors(xt.float(), feats)
        sizes_str = ", ".join(f"{f.shape[-1]}x{f.shape[-2]}" for f in feats)
        log(f"  {w}x{h}: maps {sizes_str}; N = {cls.shape[1]}; fused vs unfused rel "
            f"{d_fused:.2e}; torch float32 vs float64 rel {d_f32:.2e}")
        doc = {"width": w, "height": h, "num_anchors": int(cls.shape[1]),
               "num_classes": num_classes, "runs": []}
        for rname, p in runs:
            det = ssd.postprocess(cls, reg, anchors, [(h, w)], p["score_threshold"],
                                  p["nms_iou_threshold"], p["topk_candidates"],
                                  p["max_detections"], p["box_coder_weights"])[0]
            mg, n_cand = margins(cls[0], reg[0], anchors[0], (h, w), p, det)
            n_nms = len(ssd.postprocess(cls, reg, anchors, [(h, w)], p["score_threshold"],
                                        p["nms_iou_threshold"], p["topk_candidates"],
                                        10 ** 9, p["box_coder_weights"])[0]["scores"])
            run = {"name": rname,
                   "params": {k2: p[k2] for k2 in ("score_threshold", "nms_iou_threshold",
                                                   "topk_candidates", "max_detections")},
                   "candidates": n_cand,
                   "after_nms": n_nms,
                   "nms_path": "vanilla" if n_cand * 4 > 4000 else "coordinate_trick",
                   "margins": mg,
                   "detections": [{"label_id": int(lb), "score": float(s),
                                   "box": [float(v) for v in b]}
                                  for b, s, lb in zip(det["boxes"], det["scores"],
                                                      det["labels"])]}
            doc["runs"].append(run)
            log(f"    {rname}: {p['score_threshold']}/{p['nms_iou_threshold']}/"
                f"{p['topk_candidates']}/{p['max_detections']}: {n_cand} candidates "
                f"({run['nms_path']}), {n_nms} after NMS, {len(run['detections'])} "
                f"detections; margins "
                + ", ".join(f"{k2} {v:.1e}" for k2, v in mg.items() if v is not None))
        jp = os.path.join(out_dir, f"{name}-detections-{w}x{h}.json")
        with open(jp, "w") as f:
            # Compact, one detection per line: small, yet diffable.
            text = json.dumps(doc, separators=(",", ":"))
            f.write(text.replace('{"label_id"', '\n{"label_id"') + "\n")
        paths["detections"][(w, h)] = jp
    return paths


def parse_ints(text):
    return tuple(int(v) for v in text.split(","))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--variant", choices=sorted(ref.VARIANTS))
    g.add_argument("--width-multipliers", metavar="A,B,C,D")
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--se", action="store_true")
    ap.add_argument("--num-classes", type=int, default=91)
    ap.add_argument("--extra-channels", type=parse_ints, default=ssd.DEFAULTS["extra_channels"])
    ap.add_argument("--size", type=make_case.parse_size, action="append", metavar="WxH")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--input-dtype", choices=("f32", "f16"), default="f32")
    ap.add_argument("--score-threshold", type=float)
    ap.add_argument("--nms-iou-threshold", type=float)
    ap.add_argument("--topk-candidates", type=int)
    ap.add_argument("--max-detections", type=int)
    ap.add_argument("--background-bias", type=float, default=0.0)
    ap.add_argument("--name", default="ssd")
    ap.add_argument("--out", required=True, metavar="DIR")
    a = ap.parse_args(argv)
    wm = None
    if a.width_multipliers:
        wm = tuple(float(v) for v in a.width_multipliers.split(","))
    params = {"score_threshold": a.score_threshold, "nms_iou_threshold": a.nms_iou_threshold,
              "topk_candidates": a.topk_candidates, "max_detections": a.max_detections}
    make_ssd_case(a.out, a.name, a.num_classes, wm, a.variant, a.k, a.se, a.extra_channels,
                  a.size or [(320, 320)], a.seed, a.input_dtype, params,
                  background_bias=a.background_bias)


if __name__ == "__main__":
    main()
