"""The trainable models: MobileOne in its training form (k branches, BN) +
SSDLite or DeepLabv3, with the tensor names the C engine reads
(docs/model-format.md; backbone under "backbone.").

The architectures are those of mobileone_tools.reference (ssdlite_ref.py,
deeplab_ref.py), which the engine is tested against; this file only builds
them from a small config dict.

Both models' forward returns raw outputs:
  detector:  (cls_logits [B, N, num_classes], bbox_regression [B, N, 4]) in
             torchvision's order (map by map, row-major locations, anchors
             innermost)
  segmenter: logits [B, num_classes, H, W] at the input size
"""

import torch
import torch.nn as nn

from mobileone_tools.reference import deeplab_ref
from mobileone_tools.reference import mobileone_ref
from mobileone_tools.reference import ssdlite_ref

DETECT_DEFAULTS = {
    "variant": "s0",
    "size": 320,
    "extra_channels": [512, 256, 256, 128],
    "anchors_per_location": 6,
    "aspect_ratios": [2, 3],
    "min_ratio": 0.2,
    "max_ratio": 0.95,
    "box_coder_weights": [10.0, 10.0, 5.0, 5.0],
    # Post-processing: for mAP a low threshold; the shipped YAML sets its own.
    "score_threshold": 0.001,
    "nms_iou_threshold": 0.55,
    "topk_candidates": 300,
    "max_detections": 100,
}

SEGMENT_DEFAULTS = {
    "variant": "s0",
    "size": 320,
    "output_stride": 16,
    "aspp_channels": 256,
    "aspp_rates": [6, 12, 18],
    # Depthwise-separable atrous branches: ~4x fewer MACs and a model that
    # fits the 25 MB budget of models/ in its unfused form.
    "aspp_separable": True,
}


def _variant(cfg):
    return mobileone_ref.VARIANTS[cfg["variant"]]


class Detector(ssdlite_ref.SSDLiteMobileOne):
    """ssdlite_ref's module (same tensor names) returning (cls_logits,
    bbox_regression) and initialised as torchvision's SSDLite: the extras'
    and heads' convs N(0, 0.03), biases 0."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        for part in (self.extras, self.cls_head, self.reg_head):
            for m in part.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.normal_(m.weight, 0.0, 0.03)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)

    def forward(self, x):
        out = super().forward(x)
        return out["cls_logits"], out["bbox_regression"]


def build_detector(num_classes, cfg=None):
    cfg = dict(DETECT_DEFAULTS, **(cfg or {}))
    if cfg["anchors_per_location"] != 2 + 2 * len(cfg["aspect_ratios"]):
        raise ValueError("anchors_per_location must be 2 + 2 * len(aspect_ratios)")
    return Detector(num_classes, variant=cfg["variant"],
                    extra_channels=tuple(cfg["extra_channels"]),
                    aspect_ratios=tuple(cfg["aspect_ratios"]),
                    min_ratio=cfg["min_ratio"], max_ratio=cfg["max_ratio"])


def build_segmenter(num_classes, cfg=None):
    cfg = dict(SEGMENT_DEFAULTS, **(cfg or {}))
    w, k, se = _variant(cfg)
    return deeplab_ref.DeepLabV3(w, k, se, num_classes,
                                 output_stride=cfg["output_stride"],
                                 aspp_channels=cfg["aspp_channels"],
                                 aspp_rates=tuple(cfg["aspp_rates"]),
                                 aspp_separable=cfg["aspp_separable"])


def load_backbone(model, path):
    """Starts model.backbone from a MobileOne checkpoint in the training
    form: an ImageNet one (Apple's names, e.g. converted by convert_apple.py;
    a .safetensors or a torch checkpoint; its classifier is ignored), or a
    checkpoint of this trainer (OUT/final.pt of train_detect.py or
    train_segment.py: its "backbone." tensors; e.g. the detector starts from
    the segmenter's backbone, both trained here from scratch)."""
    if path.endswith(".safetensors"):
        from mobileone_tools.reference import st_io
        sd, _ = st_io.load_file(path, to_float32=True)
        sd = {k: torch.from_numpy(v) for k, v in sd.items()}
    else:
        obj = torch.load(path, map_location="cpu")
        if isinstance(obj, dict) and "model" in obj and "kind" in obj:
            sd = {k[len("backbone."):]: v for k, v in obj["model"].items()
                  if k.startswith("backbone.")}
        else:
            sd = obj.get("state_dict", obj) if isinstance(obj, dict) else obj
        sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}
    sd = {k: v for k, v in sd.items() if not k.startswith("linear.")}
    if any(k.endswith("reparam_conv.weight") for k in sd):
        sd = expand_fused(model.backbone, sd, path)
    missing, unexpected = model.backbone.load_state_dict(sd, strict=False)
    missing = [m for m in missing if not m.startswith("linear.")]
    if missing or unexpected:
        raise SystemExit(f"{path}: does not match the backbone: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}")


def expand_fused(backbone, fused, path="checkpoint"):
    """A training-form state dict for @backbone that starts from a FUSED
    MobileOne checkpoint (stageN.M.reparam_conv.{weight,bias}, e.g. Apple's
    ImageNet S0 in ../shared/weights-ref; no unfused one is available
    offline): each block's first conv branch takes the fused kernel, its BN
    gamma 1, beta the fused bias, running mean 0 and running variance
    1 - eps, so that branch computes exactly the fused conv in eval mode;
    every other branch (the other k - 1 convs, the 1x1 scale, the skip BN)
    gets gamma 0 and beta 0 and contributes nothing at first, and grows
    from its gradient.
    This is a starting point, not the unfused ImageNet network: in training
    mode the first branch's BN normalises with the batch's statistics, so the
    first steps re-scale each layer's output per channel (the kernels'
    ImageNet features, normalised) rather than reproduce the fused
    activations; an unfused checkpoint (mobileone_s0_unfused.pth.tar) is the
    better start where it can be had."""
    out = {}
    own = backbone.state_dict()
    for name, blk in backbone.named_modules():
        if not isinstance(blk, mobileone_ref.MobileOneBlock) or blk.inference_mode:
            continue
        key = f"{name}.reparam_conv"
        if f"{key}.weight" not in fused:
            raise SystemExit(f"{path}: {key}.weight missing (not a MobileOne of this variant?)")
        w, b = fused[f"{key}.weight"], fused[f"{key}.bias"]
        c0 = f"{name}.rbr_conv.0"
        if tuple(w.shape) != tuple(own[f"{c0}.conv.weight"].shape):
            raise SystemExit(f"{path}: {key}.weight is {tuple(w.shape)}, the backbone "
                             f"wants {tuple(own[c0 + '.conv.weight'].shape)}")
        eps = blk.rbr_conv[0].bn.eps
        out[f"{c0}.conv.weight"] = w.float()
        out[f"{c0}.bn.weight"] = torch.ones_like(b, dtype=torch.float32)
        out[f"{c0}.bn.bias"] = b.float()
        out[f"{c0}.bn.running_mean"] = torch.zeros_like(b, dtype=torch.float32)
        out[f"{c0}.bn.running_var"] = torch.full_like(b, 1.0 - eps, dtype=torch.float32)
        bns = [f"{name}.rbr_conv.{i}.bn" for i in range(1, len(blk.rbr_conv))]
        if blk.rbr_scale is not None:
            bns.append(f"{name}.rbr_scale.bn")
        if blk.rbr_skip is not None:
            bns.append(f"{name}.rbr_skip")
        for bn in bns:
            out[f"{bn}.weight"] = torch.zeros_like(own[f"{bn}.weight"])
            out[f"{bn}.bias"] = torch.zeros_like(own[f"{bn}.bias"])
    for k, v in own.items():
        out.setdefault(k, v)
    return out


def param_groups(model, weight_decay):
    """No weight decay on BatchNorm parameters and biases."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]

