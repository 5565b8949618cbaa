"""PyTorch reference of the DeepLabv3 head on a MobileOne backbone (shared/SPEC.md,
"Heads" / DeepLabv3), with the tensor names the C engine reads
(docs/model-format.md, "DeepLabv3 head").

The modules are plain nn.Modules meant for training as well: a state_dict of
DeepLabV3 saved with safetensors loads into the engine as is (unfused form,
`backbone.fused: false`), and fuse_state_dict() gives the fused form.

  DeepLabV3(width_multipliers, k, use_se, num_classes, ...)
      .backbone    mobileone_ref.MobileOne, stage4 (and stage3 at output
                   stride 8) dilated instead of strided; no classifier
      .aspp        ASPP: convs.0 (1x1), convs.1..3 (3x3 atrous, dense or
                   separable dw + pw), pool (image pooling), project (1x1)
      .head        ConvBNReLU 3x3
      .classifier  nn.Conv2d 1x1 with bias
  fuse_state_dict(sd)          unfused state_dict -> fused (float64 numpy)
  dilate_stage(stage, d)       strided -> dilated MobileOne stage
  load_backbone_state_dict()   an ImageNet MobileOne checkpoint into .backbone

Output stride 16: stage4's first depthwise block runs at stride 1, dilation 2
(padding 2), keeping the branches of a stride-2 block (no rbr_skip), so an
ImageNet checkpoint loads unchanged. Output stride 8: stage3's blocks get
dilation 2 and stage4's dilation 4, every block of a dilated stage (its first
included) using the stage's dilation. The engine does the same.
"""

from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mobileone_tools.reference import mobileone_ref as ref

BN_EPS = ref.BN_EPS


class ConvBNReLU(nn.Module):
    """relu(bn(conv(x))): tensors `conv.weight` + `bn.*`; fused (inference
    form): `conv.weight` + `conv.bias` and no BatchNorm."""

    def __init__(self, in_ch, out_ch, kernel=1, dilation=1, groups=1, fused=False):
        super().__init__()
        pad = dilation * (kernel // 2)
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, 1, pad, dilation, groups,
                              bias=fused)
        self.bn = nn.Identity() if fused else nn.BatchNorm2d(out_ch, eps=BN_EPS)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class SeparableAtrous(nn.Module):
    """3x3 depthwise atrous conv + BN + ReLU (`dw`), then 1x1 + BN + ReLU (`pw`)."""

    def __init__(self, in_ch, out_ch, rate, fused=False):
        super().__init__()
        self.dw = ConvBNReLU(in_ch, in_ch, 3, rate, groups=in_ch, fused=fused)
        self.pw = ConvBNReLU(in_ch, out_ch, 1, fused=fused)

    def forward(self, x):
        return self.pw(self.dw(x))


class ASPPPooling(ConvBNReLU):
    """Image pooling: global average, 1x1 conv + BN + ReLU, bilinear back."""

    def __init__(self, in_ch, out_ch, fused=False):
        super().__init__(in_ch, out_ch, 1, fused=fused)

    def forward(self, x):
        y = super().forward(x.mean(dim=(2, 3), keepdim=True))
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    def __init__(self, in_ch, channels=256, rates=(6, 12, 18), separable=False,
                 dropout=0.1, fused=False):
        super().__init__()
        convs = [ConvBNReLU(in_ch, channels, 1, fused=fused)]
        for r in rates:
            convs.append(SeparableAtrous(in_ch, channels, r, fused) if separable
                         else ConvBNReLU(in_ch, channels, 3, r, fused=fused))
        self.convs = nn.ModuleList(convs)
        self.pool = ASPPPooling(in_ch, channels, fused)
        self.project = ConvBNReLU(5 * channels, channels, 1, fused=fused)
        self.dropout = nn.Dropout(dropout)  # no tensors; identity in eval mode

    def forward(self, x):
        y = torch.cat([c(x) for c in self.convs] + [self.pool(x)], dim=1)
        return self.dropout(self.project(y))


def dilate_stage(stage, dilation):
    """Turns a MobileOne stage's stride 2 into @dilation for all its depthwise
    3x3 blocks, keeping every branch (a stride-2 block has no rbr_skip)."""
    for blk in stage:
        if blk.kernel_size != 3:
            continue
        blk.stride, blk.dilation, blk.padding = 1, dilation, dilation
        convs = ([blk.reparam_conv] if blk.inference_mode else
                 [b.conv for b in blk.rbr_conv])
        for c in convs:
            c.stride, c.dilation, c.padding = (1, 1), (dilation, dilation), \
                (dilation, dilation)
        if not blk.inference_mode and blk.rbr_scale is not None:
            # The 1x1 scale branch samples the centre tap: stride 1, no padding.
            blk.rbr_scale.conv.stride = (1, 1)


class DeepLabV3(nn.Module):
    def __init__(self, width_multipliers, num_conv_branches=1, use_se=False,
                 num_classes=21, output_stride=16, aspp_channels=256,
                 aspp_rates=(6, 12, 18), aspp_separable=False, dropout=0.1,
                 fused=False):
        super().__init__()
        if output_stride not in (8, 16):
            raise ValueError("output_stride must be 16 or 8")
        self.output_stride = output_stride
        self.backbone = ref.MobileOne(width_multipliers, num_conv_branches, use_se,
                                      inference_mode=fused)
        # Only the features are used: no classifier tensors in the state_dict.
        self.backbone.linear = nn.Identity()
        if output_stride == 16:
            dilate_stage(self.backbone.stage4, 2)
        else:
            dilate_stage(self.backbone.stage3, 2)
            dilate_stage(self.backbone.stage4, 4)
        in_ch = int(512 * self.backbone.width_multipliers[3])
        self.aspp = ASPP(in_ch, aspp_channels, aspp_rates, aspp_separable, dropout,
                         fused)
        self.head = ConvBNReLU(aspp_channels, aspp_channels, 3, fused=fused)
        self.classifier = nn.Conv2d(aspp_channels, num_classes, 1, bias=True)

    def forward_lowres(self, x):
        """Logits at the output stride (before the final upsampling)."""
        return self.classifier(self.head(self.aspp(self.backbone.forward_features(x))))

    def forward(self, x):
        return F.interpolate(self.forward_lowres(x), size=x.shape[-2:],
                             mode="bilinear", align_corners=False)


def load_backbone_state_dict(model, sd):
    """Loads an ImageNet MobileOne state_dict (Apple's names, no prefix) into
    model.backbone, ignoring its classifier (linear.*)."""
    sd = {k: v for k, v in sd.items() if not k.startswith("linear.")}
    return model.backbone.load_state_dict(sd, strict=True)


def fuse_state_dict(sd, eps=BN_EPS):
    """Unfused DeepLabV3 state_dict -> fused one (float64 numpy): backbone
    blocks -> reparam_conv (mobileone_ref), every `X.conv.weight` + `X.bn.*`
    -> `X.conv.weight` + `X.conv.bias`; num_batches_tracked dropped."""
    sd = ref.reparameterize_state_dict(sd, eps)
    out = OrderedDict()
    for name, v in sd.items():
        if ".bn." in name and not name.startswith("backbone."):
            continue
        if name.endswith(".conv.weight") and name[:-len("conv.weight")] + "bn.weight" in sd:
            p = name[:-len("conv.weight")]
            gamma, beta = sd[p + "bn.weight"], sd[p + "bn.bias"]
            mean, var = sd[p + "bn.running_mean"], sd[p + "bn.running_var"]
            t = gamma / np.sqrt(var + eps)
            out[name] = v * t[:, None, None, None]
            out[p + "conv.bias"] = beta - mean * t
        else:
            out[name] = v
    return out


def build(cfg, fused=False):
    """A DeepLabV3 from a dict of the constructor's keyword arguments."""
    return DeepLabV3(fused=fused, **cfg)
