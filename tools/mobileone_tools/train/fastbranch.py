"""A faster, exact forward for MobileOne's training-form blocks.

A training-form block computes  relu(skip_bn(x) + scale_bn(conv1x1(x)) +
sum_i bn_i(conv_i(x))): k + 2 small convolutions and k + 2 BatchNorms, each
a separate pass over the activations (forward and backward). In training
mode each BN normalises with its own branch's batch statistics, so the
branches cannot be summed into one kernel before the BN (that is only exact
with frozen statistics, i.e. in eval mode). What can be merged exactly:

- BatchNorm is per channel, so one BatchNorm over the branches' outputs
  stacked along the channel axis computes exactly each branch's batch mean
  and variance, its output, its gradients and its running-statistics update.
- The k branch convolutions share their input, stride and padding: one
  convolution whose output channels are the branches' output channels
  stacked (a grouped conv with k outputs per group for the depthwise 3x3
  blocks) computes all of them in one pass.
- For the depthwise 3x3 blocks, the 1x1 scale branch is the centre tap of a
  3x3 kernel (zeros elsewhere; its gradient reaches only the 1x1 weight),
  and the identity (skip BN's input) is a fixed 3x3 kernel with a 1 at the
  centre: both join the same grouped convolution (k + 2 outputs per group).
- The 1x1 blocks: one convolution for the k branches; the skip BN stays
  apart (an identity as a dense 1x1 would cost C x C MACs per pixel).
  stage0 (a dense 3x3, 3 -> 48 channels) takes its 1x1 scale branch into
  its 3x3 conv as a centre tap, as the depthwise blocks do.

So the block runs one convolution, one BatchNorm and one sum instead of
k + 2 of each. The parameters and buffers stay where they are (the state
dict, the checkpoint and the export do not change); the stacked running
statistics are written back to each BatchNorm after the step.

use_fast_branches(model) switches every training-form MobileOneBlock of
@model to this forward (per instance; the reference class is untouched);
use_fast_branches(model, False) switches back. Equality with the reference
forward (outputs, gradients, running statistics) is tested in
tests/train/test_fast_branches.py.
"""

import types

import torch
import torch.nn.functional as F

from mobileone_tools.reference import mobileone_ref


def _bns(block):
    return [b.bn for b in block.rbr_conv]


def _eligible(block):
    if block.inference_mode or not isinstance(block.se, torch.nn.Identity):
        return False
    bns = _bns(block) + ([block.rbr_scale.bn] if block.rbr_scale is not None else []) + \
        ([block.rbr_skip] if block.rbr_skip is not None else [])
    # Cumulative moving averages (momentum None) and untracked statistics
    # would need their own bookkeeping: leave such blocks alone.
    if any(bn.momentum is None or not bn.track_running_stats or not bn.affine
           for bn in bns):
        return False
    if len({bn.eps for bn in bns}) != 1:
        return False
    c0 = block.rbr_conv[0].conv
    if any((b.conv.stride, b.conv.padding, b.conv.dilation, b.conv.groups) !=
           (c0.stride, c0.padding, c0.dilation, c0.groups) for b in block.rbr_conv):
        return False
    if block.rbr_scale is not None:
        # The 1x1 must be the centre tap of the kxk window.
        kh, kw = c0.kernel_size
        if c0.padding != (c0.dilation[0] * (kh // 2), c0.dilation[1] * (kw // 2)):
            return False
    return True


def _bn_stacked(y, bns, training):
    """One F.batch_norm over @y, whose channels are those of @bns
    interleaved (channel c of bn j at c * len(bns) + j); the running
    statistics are written back to each BN."""
    n = len(bns)

    def stack(name):
        return torch.stack([getattr(bn, name) for bn in bns], dim=1).reshape(-1)

    weight, bias = stack("weight"), stack("bias")
    with torch.no_grad():
        rm, rv = stack("running_mean"), stack("running_var")
    bn0 = bns[0]
    out = F.batch_norm(y, rm, rv, weight, bias, training, bn0.momentum, bn0.eps)
    if training:
        with torch.no_grad():
            rm = rm.view(-1, n)
            rv = rv.view(-1, n)
            for j, bn in enumerate(bns):
                bn.running_mean.copy_(rm[:, j])
                bn.running_var.copy_(rv[:, j])
                bn.num_batches_tracked.add_(1)
    return out


def _depthwise_multi(x, w, n, stride, padding, dilation):
    """F.conv2d(x, w, groups=C) for a depthwise weight with @n outputs per
    input channel (w: [C * n, 1, kh, kw]), computed as unfold + one batched
    matmul per channel. Same function (only the float summation order
    differs). An experiment (use_fast_branches(depthwise_unfold=True)): on
    a loaded machine the grouped conv's forward+backward took 3-5x longer
    than this in a micro-benchmark, but whole training steps on a quiet
    machine are slower with it (docs/models.md, "Faster training on the
    CPU"), so it is off by default."""
    nb, c, h, wd = x.shape
    kh, kw = w.shape[2], w.shape[3]
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    cols = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    cols = cols.view(nb, c, kh * kw, ho * wo)
    y = torch.matmul(w.view(c, n, kh * kw), cols)          # [N, C, n, L]
    return y.view(nb, c * n, ho, wo)


def _forward_fast(self, x):
    training = self.training
    c0 = self.rbr_conv[0].conv
    cout = c0.out_channels
    depthwise = c0.groups == c0.in_channels == cout and c0.groups > 1
    if depthwise:
        kh, kw = c0.kernel_size
        kernels = [b.conv.weight for b in self.rbr_conv]
        bns = _bns(self)
        if self.rbr_scale is not None:
            kernels.append(F.pad(self.rbr_scale.conv.weight,
                                 (kw // 2, kw // 2, kh // 2, kh // 2)))
            bns.append(self.rbr_scale.bn)
        if self.rbr_skip is not None:
            eye = torch.zeros_like(kernels[0])
            eye[:, :, kh // 2, kw // 2] = 1.0
            kernels.append(eye)
            bns.append(self.rbr_skip)
        n = len(kernels)
        # Group c's outputs are channels c * n .. c * n + n - 1.
        w = torch.stack(kernels, dim=1).reshape(cout * n, 1, kh, kw)
        if getattr(self, "_fast_dw_unfold", False):
            y = _depthwise_multi(x, w, n, c0.stride, c0.padding, c0.dilation)
        else:
            y = F.conv2d(x, w, None, c0.stride, c0.padding, c0.dilation, cout)
        y = _bn_stacked(y, bns, training)
        nb, _, h, wd = y.shape
        out = y.view(nb, cout, n, h, wd).sum(dim=2)
    else:
        kh, kw = c0.kernel_size
        kernels = [b.conv.weight for b in self.rbr_conv]
        bns = _bns(self)
        if self.rbr_scale is not None:
            # stage0 (3 -> 48, stride 2): the 1x1 joins the kxk conv as its
            # centre tap. Besides saving a pass, this avoids torch 1.13's
            # channels_last backward of a strided 1x1 conv whose input needs
            # no gradient, which corrupts the heap (docs/models.md).
            kernels.append(F.pad(self.rbr_scale.conv.weight,
                                 (kw // 2, kw // 2, kh // 2, kh // 2)))
            bns.append(self.rbr_scale.bn)
        n = len(kernels)
        w = torch.stack(kernels, dim=1).reshape(cout * n, *kernels[0].shape[1:])
        y = F.conv2d(x, w, None, c0.stride, c0.padding, c0.dilation, c0.groups)
        y = _bn_stacked(y, bns, training)
        nb, _, h, wd = y.shape
        out = y.view(nb, cout, n, h, wd).sum(dim=2)
        if self.rbr_skip is not None:
            out = out + self.rbr_skip(x)
    return F.relu(out)


def use_fast_branches(model, enable=True, depthwise_unfold=False):
    """Switches @model's training-form MobileOne blocks to the merged
    forward (or back). @depthwise_unfold computes the depthwise blocks'
    merged convolution with _depthwise_multi() instead of one F.conv2d
    (groups=C, n outputs per group): faster in a loaded micro-benchmark,
    slower in whole steps on a quiet machine (docs/models.md), so off.
    Returns how many blocks use it."""
    count = 0
    for m in model.modules():
        if not isinstance(m, mobileone_ref.MobileOneBlock):
            continue
        if "forward" in m.__dict__:
            del m.forward
        if enable and _eligible(m):
            m.forward = types.MethodType(_forward_fast, m)
            m._fast_dw_unfold = depthwise_unfold
            count += 1
    return count
