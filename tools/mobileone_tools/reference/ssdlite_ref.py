"""PyTorch reference of the SSDLite detector on a MobileOne backbone.

Architecture: shared/SPEC.md, "Heads" / "SSDLite"; tensor names and YAML keys:
docs/model-format.md, "SSDLite head". Module attribute names are the
checkpoint names, so ``model.state_dict()`` saved as safetensors (with
``backbone.prefix: "backbone."`` in the description) is what the C engine
loads:

  backbone.stage0 ... backbone.stage4     mobileone_ref.MobileOne (Apple's names;
                                          no classifier: its linear is dropped)
  extras.{i}.{0,1,2}.conv / .bn           1x1 reduce, 3x3 depthwise stride 2, 1x1 expand
  cls_head.{j}.0.conv / .bn, cls_head.{j}.1   3x3 depthwise + BN + ReLU, 1x1 with bias
  reg_head.{j}.0.conv / .bn, reg_head.{j}.1

In the fused (inference) form every ``conv + bn`` is one ``conv`` with a bias
(``X.conv.weight``, ``X.conv.bias``) and the backbone has ``reparam_conv``s.

Anchors, box decoding and post-processing are torchvision's own code
(DefaultBoxGenerator, BoxCoder, SSD.postprocess_detections with
batched_nms); this module only wires them up, so it is the reference the C
post-processing is compared with, and the same pieces can train the model:

  model = SSDLiteMobileOne(num_classes=91, variant="s0")
  out = model(images)                       # raw head outputs + feature maps
  anchors = model.anchors(images, out["features"])
  dets = postprocess(out["cls_logits"], out["bbox_regression"], anchors,
                     [(h, w)] * len(images))
"""

import types
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.ssd import SSD

from mobileone_tools.reference import mobileone_ref as ref

N_MAPS = 6

# Keys of the description's head mapping and their defaults
# (docs/model-format.md); the post-processing defaults are torchvision's
# ssdlite320_mobilenet_v3_large ones.
DEFAULTS = {
    "extra_channels": (512, 256, 256, 128),
    "aspect_ratios": (2, 3),
    "min_ratio": 0.2,
    "max_ratio": 0.95,
    "box_coder_weights": (10.0, 10.0, 5.0, 5.0),
    "score_threshold": 0.001,
    "nms_iou_threshold": 0.55,
    "topk_candidates": 300,
    "max_detections": 300,
}


class ConvBNReLU(nn.Module):
    """``conv`` (no bias) + ``bn`` + ReLU; fused: ``conv`` with bias, no ``bn``."""

    def __init__(self, in_ch, out_ch, kernel, stride=1, groups=1, fused=False):
        super().__init__()
        self.fused = fused
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2,
                              groups=groups, bias=fused)
        if not fused:
            self.bn = nn.BatchNorm2d(out_ch, eps=ref.BN_EPS)

    def forward(self, x):
        x = self.conv(x)
        if not self.fused:
            x = self.bn(x)
        return F.relu(x)


def extra_block(in_ch, out_ch, fused=False):
    """1x1 to out/2, 3x3 depthwise stride 2, 1x1 to out; each + BN + ReLU."""
    mid = out_ch // 2
    return nn.Sequential(
        ConvBNReLU(in_ch, mid, 1, fused=fused),
        ConvBNReLU(mid, mid, 3, stride=2, groups=mid, fused=fused),
        ConvBNReLU(mid, out_ch, 1, fused=fused))


def head_block(ch, out_ch, fused=False):
    """3x3 depthwise + BN + ReLU, then a 1x1 conv with bias."""
    return nn.Sequential(ConvBNReLU(ch, ch, 3, groups=ch, fused=fused),
                         nn.Conv2d(ch, out_ch, 1))


class SSDLiteMobileOne(nn.Module):
    """SSDLite on MobileOne: forward() gives torchvision-ordered raw outputs."""

    def __init__(self, num_classes, variant=None, width_multipliers=None,
                 num_conv_branches=1, use_se=False,
                 extra_channels=DEFAULTS["extra_channels"],
                 aspect_ratios=DEFAULTS["aspect_ratios"],
                 min_ratio=DEFAULTS["min_ratio"], max_ratio=DEFAULTS["max_ratio"],
                 inference_mode=False):
        super().__init__()
        if variant is not None:
            width_multipliers, num_conv_branches, use_se = ref.VARIANTS[variant]
        self.config = dict(num_classes=num_classes,
                           width_multipliers=tuple(width_multipliers),
                           num_conv_branches=num_conv_branches, use_se=use_se,
                           extra_channels=tuple(extra_channels),
                           aspect_ratios=tuple(aspect_ratios),
                           min_ratio=min_ratio, max_ratio=max_ratio)
        self.num_classes = num_classes
        self.inference_mode = inference_mode
        self.backbone = ref.MobileOne(width_multipliers, num_conv_branches, use_se,
                                      num_classes=1, inference_mode=inference_mode)
        self.backbone.linear = nn.Identity()  # no classifier tensors
        w = self.backbone.width_multipliers
        channels = [int(256 * w[2]), int(512 * w[3])] + list(extra_channels)
        self.channels = channels
        self.extras = nn.ModuleList(
            extra_block(channels[1 + i], channels[2 + i], inference_mode)
            for i in range(len(extra_channels)))
        self.anchor_generator = DefaultBoxGenerator(
            [list(aspect_ratios) for _ in range(N_MAPS)], min_ratio=min_ratio,
            max_ratio=max_ratio)
        self.num_anchors = self.anchor_generator.num_anchors_per_location()[0]
        A = self.num_anchors
        self.cls_head = nn.ModuleList(head_block(c, A * num_classes, inference_mode)
                                      for c in channels)
        self.reg_head = nn.ModuleList(head_block(c, A * 4, inference_mode)
                                      for c in channels)

    def features(self, x):
        """The six maps: stage3 (stride 16), stage4 (stride 32), the extras."""
        b = self.backbone
        for stage in (b.stage0, b.stage1, b.stage2, b.stage3):
            x = stage(x)
        maps = [x]
        x = b.stage4(x)
        maps.append(x)
        for extra in self.extras:
            x = extra(x)
            maps.append(x)
        return maps

    @staticmethod
    def _flatten(outs, k):
        # [B, A*K, H, W] -> [B, H*W*A, K], as torchvision's SSDScoringHead.
        res = []
        for y in outs:
            n, _, h, w = y.shape
            y = y.view(n, -1, k, h, w).permute(0, 3, 4, 1, 2)
            res.append(y.reshape(n, -1, k))
        return torch.cat(res, dim=1)

    def forward(self, x):
        """{"cls_logits": [B, N, K], "bbox_regression": [B, N, 4], "features": maps}."""
        maps = self.features(x)
        cls = self._flatten([h(m) for h, m in zip(self.cls_head, maps)], self.num_classes)
        reg = self._flatten([h(m) for h, m in zip(self.reg_head, maps)], 4)
        return {"cls_logits": cls, "bbox_regression": reg, "features": maps}

    def anchors(self, images, features):
        """torchvision's default boxes for @images ([B, 3, H, W]): a list of
        [N, 4] (x0, y0, x1, y1) in input pixels, one per image."""
        h, w = images.shape[-2:]
        image_list = ImageList(images, [(h, w)] * images.shape[0])
        return self.anchor_generator(image_list, features)


def feature_map_sizes(height, width, n_extras=N_MAPS - 2):
    """(rows, cols) of the six maps for an input: every stride-2 layer is a
    3x3 conv with padding 1, which rounds up."""
    sizes = []
    h, w = height, width
    for i in range(5 + n_extras):
        h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1
        if i >= 3:
            sizes.append((h, w))
    return sizes


def default_boxes(image_size, aspect_ratios=DEFAULTS["aspect_ratios"],
                  min_ratio=DEFAULTS["min_ratio"], max_ratio=DEFAULTS["max_ratio"]):
    """torchvision's DefaultBoxGenerator output for one (height, width) input
    without running a network: [N, 4] float32 (x0, y0, x1, y1) pixels."""
    h, w = image_size
    gen = DefaultBoxGenerator([list(aspect_ratios)] * N_MAPS, min_ratio=min_ratio,
                              max_ratio=max_ratio)
    feats = [torch.empty(1, 0, fh, fw) for fh, fw in feature_map_sizes(h, w)]
    images = torch.empty(1, 3, h, w)
    return gen(ImageList(images, [(h, w)]), feats)[0]


def postprocess(cls_logits, bbox_regression, anchors, image_sizes,
                score_threshold=DEFAULTS["score_threshold"],
                nms_iou_threshold=DEFAULTS["nms_iou_threshold"],
                topk_candidates=DEFAULTS["topk_candidates"],
                max_detections=DEFAULTS["max_detections"],
                box_coder_weights=DEFAULTS["box_coder_weights"]):
    """torchvision's SSD.postprocess_detections itself, run on raw outputs:
    a list (one per image) of {"boxes", "scores", "labels"}."""
    this = types.SimpleNamespace(
        box_coder=det_utils.BoxCoder(weights=tuple(box_coder_weights)),
        score_thresh=score_threshold, nms_thresh=nms_iou_threshold,
        topk_candidates=topk_candidates, detections_per_img=max_detections)
    return SSD.postprocess_detections(
        this, {"cls_logits": cls_logits, "bbox_regression": bbox_regression},
        anchors, list(image_sizes))


# --------------------------------------------------------------------------
# Fused form and random weights
# --------------------------------------------------------------------------

def fuse_state_dict(sd, eps=ref.BN_EPS):
    """Unfused state_dict -> fused state_dict (float64 numpy): the backbone's
    blocks become reparam_conv (mobileone_ref), every other "X.conv" + "X.bn"
    pair one "X.conv" with a bias; num_batches_tracked is dropped."""
    sd = ref.reparameterize_state_dict(sd, eps)
    out = OrderedDict()
    for name, t in sd.items():
        if ".bn." in name:
            continue
        if name.endswith(".conv.weight"):
            p = name[:-len("conv.weight")]
            if p + "bn.weight" in sd:
                gamma, beta = sd[p + "bn.weight"], sd[p + "bn.bias"]
                mean, var = sd[p + "bn.running_mean"], sd[p + "bn.running_var"]
                std = np.sqrt(var + eps)
                out[name] = t * (gamma / std)[:, None, None, None]
                out[p + "conv.bias"] = beta - mean * gamma / std
                continue
        out[name] = t
    return out


def fused_model(model):
    """The inference form of @model (same dtype), from fuse_state_dict()."""
    fused = SSDLiteMobileOne(inference_mode=True, **model.config)
    dtype = next(model.parameters()).dtype
    fused = fused.to(dtype)
    fsd = fuse_state_dict(model.state_dict())
    fused.load_state_dict({k: torch.from_numpy(v).to(dtype) for k, v in fsd.items()},
                          strict=True)
    return fused.eval()


def randomize(model, seed, calib_size=(320, 320), calib_batch=8, background_bias=0.0):
    """Random weights with random BN statistics (mobileone_ref.randomize_model
    on the whole detector); @background_bias is added to class 0's logits.
    The last maps are tiny (1x1 at 320x320): a small calibration batch gives
    their BatchNorms near-zero variances, and float32 then loses 1e-5."""
    ref.randomize_model(model, seed, calib_size=calib_size, calib_batch=calib_batch)
    if background_bias:
        with torch.no_grad():
            for head in model.cls_head:
                head[1].bias.view(model.num_anchors, model.num_classes)[:, 0] += \
                    background_bias
    return model.eval()
