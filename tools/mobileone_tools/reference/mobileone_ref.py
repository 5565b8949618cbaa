"""PyTorch reference implementation of MobileOne (Vasu et al., 2022).

Module and parameter names follow Apple's ml-mobileone state_dict exactly, so
a state_dict of this model and one of Apple's published checkpoints are
interchangeable (see shared/SPEC.md). The C engine is checked against this
file; it is written for clarity, not speed.

Contents:
  MobileOneBlock, SEBlock, MobileOne  -- the networks (training and fused forms)
  VARIANTS                            -- s0..s4 hyper-parameters
  reparameterize_state_dict()         -- BN folding on a plain state_dict
  reparameterize_model()              -- the same, returning a fused MobileOne
  randomize_model()                   -- random weights with random BN statistics
"""

from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BLOCKS_PER_STAGE = (2, 8, 10, 1)
BN_EPS = 1e-5
SE_RD_RATIO = 0.0625

# width multipliers (w0..w3), num_conv_branches, use_se
VARIANTS = {
    "s0": ((0.75, 1.0, 1.0, 2.0), 4, False),
    "s1": ((1.5, 1.5, 2.0, 2.5), 1, False),
    "s2": ((1.5, 2.0, 2.5, 4.0), 1, False),
    "s3": ((2.0, 2.5, 3.0, 4.0), 1, False),
    "s4": ((3.0, 3.5, 3.5, 4.0), 1, True),
}


class SEBlock(nn.Module):
    """Squeeze-excite: global average over the whole map (any input size)."""

    def __init__(self, channels, rd_ratio=SE_RD_RATIO):
        super().__init__()
        rd = int(channels * rd_ratio)
        if rd < 1:
            raise ValueError(f"SE on {channels} channels reduces to 0 channels")
        self.reduce = nn.Conv2d(channels, rd, 1, bias=True)
        self.expand = nn.Conv2d(rd, channels, 1, bias=True)

    def forward(self, x):
        s = x.mean(dim=(2, 3), keepdim=True)
        s = torch.sigmoid(self.expand(F.relu(self.reduce(s))))
        return x * s


def _conv_bn(in_ch, out_ch, kernel, stride, padding, dilation, groups):
    # nn.Sequential with named children gives Apple's "<branch>.conv" / "<branch>.bn" names.
    return nn.Sequential(OrderedDict([
        ("conv", nn.Conv2d(in_ch, out_ch, kernel, stride, padding, dilation,
                           groups, bias=False)),
        ("bn", nn.BatchNorm2d(out_ch, eps=BN_EPS)),
    ]))


class MobileOneBlock(nn.Module):
    """relu(se(sum of branches)); in inference form the branches are one reparam_conv."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, use_se=False, num_conv_branches=1,
                 inference_mode=False):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.num_conv_branches = num_conv_branches
        self.inference_mode = inference_mode

        self.se = SEBlock(out_channels) if use_se else nn.Identity()

        if inference_mode:
            self.reparam_conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                                          stride, padding, dilation, groups, bias=True)
            return

        self.rbr_skip = (nn.BatchNorm2d(in_channels, eps=BN_EPS)
                         if in_channels == out_channels and stride == 1 else None)
        self.rbr_conv = nn.ModuleList([
            _conv_bn(in_channels, out_channels, kernel_size, stride, padding,
                     dilation, groups)
            for _ in range(num_conv_branches)])
        # The 1x1 scale branch samples the centre tap of the kxk window, which
        # for a dilated kernel is still the un-shifted input: padding 0.
        self.rbr_scale = (_conv_bn(in_channels, out_channels, 1, stride, 0, 1, groups)
                          if kernel_size > 1 else None)

    def forward(self, x):
        if self.inference_mode:
            return F.relu(self.se(self.reparam_conv(x)))
        out = 0
        if self.rbr_skip is not None:
            out = out + self.rbr_skip(x)
        if self.rbr_scale is not None:
            out = out + self.rbr_scale(x)
        for branch in self.rbr_conv:
            out = out + branch(x)
        return F.relu(self.se(out))


class MobileOne(nn.Module):
    def __init__(self, width_multipliers, num_conv_branches=1, use_se=False,
                 num_classes=1000, inference_mode=False,
                 num_blocks_per_stage=BLOCKS_PER_STAGE):
        super().__init__()
        w = tuple(float(v) for v in width_multipliers)
        assert len(w) == 4
        self.width_multipliers = w
        self.num_conv_branches = num_conv_branches
        self.use_se = use_se
        self.inference_mode = inference_mode

        self.in_planes = min(64, int(64 * w[0]))
        # stage0 always has a single conv branch, whatever the variant's k.
        self.stage0 = MobileOneBlock(3, self.in_planes, 3, 2, 1,
                                     inference_mode=inference_mode)
        nb = num_blocks_per_stage
        self.stage1 = self._make_stage(int(64 * w[0]), nb[0], 0)
        self.stage2 = self._make_stage(int(128 * w[1]), nb[1], 0)
        self.stage3 = self._make_stage(int(256 * w[2]), nb[2],
                                       int(nb[2] / 2) if use_se else 0)
        self.stage4 = self._make_stage(int(512 * w[3]), nb[3],
                                       nb[3] if use_se else 0)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(int(512 * w[3]), num_classes)

    def _make_stage(self, planes, num_blocks, num_se_blocks):
        strides = [2] + [1] * (num_blocks - 1)
        blocks = []
        for ix, stride in enumerate(strides):
            se = ix >= num_blocks - num_se_blocks
            blocks.append(MobileOneBlock(self.in_planes, self.in_planes, 3, stride, 1,
                                         groups=self.in_planes, use_se=se,
                                         num_conv_branches=self.num_conv_branches,
                                         inference_mode=self.inference_mode))
            blocks.append(MobileOneBlock(self.in_planes, planes, 1, 1, 0,
                                         use_se=se,
                                         num_conv_branches=self.num_conv_branches,
                                         inference_mode=self.inference_mode))
            self.in_planes = planes
        return nn.Sequential(*blocks)

    def forward_features(self, x):
        for stage in (self.stage0, self.stage1, self.stage2, self.stage3, self.stage4):
            x = stage(x)
        return x

    def forward(self, x):
        x = self.gap(self.forward_features(x))
        return self.linear(torch.flatten(x, 1))


def build_model(variant=None, width_multipliers=None, num_conv_branches=1,
                use_se=False, num_classes=1000, inference_mode=False):
    """A MobileOne from a variant name or from explicit hyper-parameters."""
    if variant is not None:
        width_multipliers, num_conv_branches, use_se = VARIANTS[variant]
    return MobileOne(width_multipliers, num_conv_branches, use_se, num_classes,
                     inference_mode)


# --------------------------------------------------------------------------
# Re-parameterisation. Works on a plain state_dict (name -> tensor/array) so
# it mirrors what a loader of Apple's unfused checkpoints has to do, and needs
# no knowledge of the architecture beyond the tensor names.
# --------------------------------------------------------------------------

def _np64(t):
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().double().numpy()
    return np.asarray(t, dtype=np.float64)


def _fold_bn(kernel, sd, bn, eps):
    gamma = _np64(sd[bn + "weight"])
    beta = _np64(sd[bn + "bias"])
    mean = _np64(sd[bn + "running_mean"])
    var = _np64(sd[bn + "running_var"])
    std = np.sqrt(var + eps)
    return kernel * (gamma / std)[:, None, None, None], beta - mean * gamma / std


def _block_prefixes(sd):
    return [n[: -len("rbr_conv.0.conv.weight")] for n in sd
            if n.endswith("rbr_conv.0.conv.weight")]


def reparameterize_state_dict(sd, eps=BN_EPS):
    """Unfused (training-form) state_dict -> fused state_dict (float64 numpy).

    Every MobileOneBlock "<p>rbr_*" group becomes "<p>reparam_conv.weight/bias";
    all other float tensors (SE, linear, heads) are passed through and integer
    tensors (num_batches_tracked) are dropped. Order follows the input.
    """
    prefixes = _block_prefixes(sd)
    out = OrderedDict()
    done = set()
    for name in sd:
        p = next((p for p in prefixes if name.startswith(p) and
                  name[len(p):].startswith(("rbr_conv.", "rbr_scale.", "rbr_skip."))),
                 None)
        if p is None:
            t = sd[name]
            if name.endswith("num_batches_tracked"):
                continue
            out[name] = _np64(t)
            continue
        if p in done:
            continue
        done.add(p)

        w0 = _np64(sd[p + "rbr_conv.0.conv.weight"])
        out_ch, in_per_group, kh, kw = w0.shape
        kernel = np.zeros_like(w0)
        bias = np.zeros(out_ch)
        i = 0
        while p + f"rbr_conv.{i}.conv.weight" in sd:
            k, b = _fold_bn(_np64(sd[p + f"rbr_conv.{i}.conv.weight"]), sd,
                            p + f"rbr_conv.{i}.bn.", eps)
            kernel += k
            bias += b
            i += 1
        if p + "rbr_scale.conv.weight" in sd:
            k, b = _fold_bn(_np64(sd[p + "rbr_scale.conv.weight"]), sd,
                            p + "rbr_scale.bn.", eps)
            kernel[:, :, kh // 2, kw // 2] += k[:, :, 0, 0]
            bias += b
        if p + "rbr_skip.weight" in sd:
            ident = np.zeros_like(w0)
            for c in range(out_ch):
                ident[c, c % in_per_group, kh // 2, kw // 2] = 1.0
            k, b = _fold_bn(ident, sd, p + "rbr_skip.", eps)
            kernel += k
            bias += b
        out[p + "reparam_conv.weight"] = kernel
        out[p + "reparam_conv.bias"] = bias
    return out


def reparameterize_model(model):
    """An unfused MobileOne -> an equivalent inference-form MobileOne (same dtype)."""
    fused = MobileOne(model.width_multipliers, model.num_conv_branches, model.use_se,
                      model.linear.out_features, inference_mode=True)
    dtype = next(model.parameters()).dtype
    fused = fused.to(dtype)
    fsd = reparameterize_state_dict(model.state_dict(), eps=BN_EPS)
    # strict=True: every fused name must exist in the inference-form model.
    fused.load_state_dict({k: torch.from_numpy(v).to(dtype) for k, v in fsd.items()},
                          strict=True)
    return fused.eval()


# --------------------------------------------------------------------------
# Random weights. BN statistics are deliberately far from identity (a folding
# bug that mixes up gamma/var/mean/eps must show), yet calibrated on the actual
# eval-mode activations so values stay O(1) through ~28 layers at any width,
# and the network stays well conditioned (float32 lands ~1e-6 from float64).
# --------------------------------------------------------------------------

@torch.no_grad()
def randomize_model(model, seed, calib_size=(224, 224), calib_batch=4,
                    pre_relu_mean=1.0):
    """Random conv/linear weights, then BN stats set layer by layer in one pass.

    Each BatchNorm, the first time it runs (in eval mode), measures its actual
    input on a random batch and sets running_mean = mean + 0.2 std N(0, 1),
    running_var = var * U(0.5, 2), gamma ~ U(0.5, 1.5), beta ~ m + N(0, 0.1).
    Because the network runs in eval mode, later layers are calibrated on the
    outputs of already-perturbed layers.

    m = pre_relu_mean / sqrt(branches in the block) makes each block's sum
    about N(pre_relu_mean, 1) before the ReLU. With zero-mean sums the random
    net is chaotic (every ReLU + re-normalisation amplifies perturbations by
    ~1.2, i.e. ~1000x over the depth), so float32 rounding alone would land
    near the 1e-4 test tolerance; with mean 1 it stays ~1e-6.
    The calibration size matters: statistics depend on the feature map size
    (borders), and 224x224 keeps all tested sizes well scaled.
    """
    g = torch.Generator().manual_seed(seed)
    dtype = next(model.parameters()).dtype

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)

    def rand(*shape):
        return torch.rand(*shape, generator=g, dtype=torch.float64).to(dtype)

    se_convs = {c for m in model.modules() if isinstance(m, SEBlock)
                for c in (m.reduce, m.expand)}
    for m in model.modules():
        if isinstance(m, SEBlock):
            # Gentle gates (sigmoid of ~N(0, 0.5^2)): kaiming-scale gates saturate,
            # and then vary so much with the input size that the BN statistics
            # calibrated at one size no longer fit another.
            c, rd = m.expand.weight.shape[:2]
            m.reduce.weight.copy_(randn(rd, c, 1, 1) * (2.0 / c) ** 0.5)
            m.reduce.bias.copy_(randn(rd) * 0.1)
            m.expand.weight.copy_(randn(c, rd, 1, 1) * 0.25 * (2.0 / rd) ** 0.5)
            m.expand.bias.copy_(randn(c) * 0.1)
        elif isinstance(m, nn.Conv2d) and m not in se_convs:
            fan_in = m.weight[0].numel()
            # Per output channel scale 10^U(-2, 0): the BN after it absorbs the
            # scale, except that running_var then spans ~1e-4..1, so bn_eps
            # (1e-5) visibly matters and a loader that drops or misplaces it fails.
            scale = 10.0 ** (-2.0 * rand(m.weight.shape[0]))
            m.weight.copy_(randn(*m.weight.shape) * (2.0 / fan_in) ** 0.5
                           * scale.view(-1, 1, 1, 1))
            if m.bias is not None:
                m.bias.copy_(randn(*m.bias.shape) * 0.1)
        elif isinstance(m, nn.Linear):
            m.weight.copy_(randn(*m.weight.shape) * m.in_features ** -0.5)
            m.bias.copy_(randn(*m.bias.shape) * 0.1)

    # Number of branches summed in the block that owns each BatchNorm.
    n_branches = {}
    for m in model.modules():
        if isinstance(m, MobileOneBlock) and not m.inference_mode:
            bns = [mod for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)]
            for bn in bns:
                n_branches[bn] = len(bns)

    def calibrate(bn, inputs):
        x = inputs[0]
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        sq = (x * x).mean(dim=(0, 2, 3))
        # Floors are per channel because channels' scales differ by 1e4 on
        # purpose (see the conv init). A nearly constant channel would amplify
        # whatever a new input changes in it; a dead one (all zero after a
        # ReLU on this batch) would get var ~ 0 and blow up if it wakes up.
        var = torch.maximum(var, 0.05 * sq)
        dead = sq <= 1e-12 * float(sq.mean())
        var[dead] = float(var[~dead].median()) if bool((~dead).any()) else 1.0
        c = mean.numel()
        bn.running_mean.copy_(mean + 0.2 * var.sqrt() * randn(c))
        bn.running_var.copy_(var * (0.5 + 1.5 * rand(c)))
        bn.weight.copy_(0.5 + rand(c))
        bn.bias.copy_(pre_relu_mean / n_branches.get(bn, 1) ** 0.5 + 0.1 * randn(c))
        bn.num_batches_tracked.fill_(int(torch.randint(1, 100000, (1,), generator=g)))
        handle_of.pop(bn).remove()

    handle_of = {}
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            handle_of[m] = m.register_forward_pre_hook(calibrate)

    model.eval()
    w, h = calib_size
    model(randn(calib_batch, 3, h, w))
    # Every BatchNorm runs in a forward pass, so every hook has fired (and gone).
    assert not handle_of, "BatchNorm layers not reached by the calibration pass"
    return model
