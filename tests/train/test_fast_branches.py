#!/usr/bin/env python3
"""fastbranch.use_fast_branches: the merged training-form MobileOne forward
computes the same outputs, gradients and BatchNorm running statistics as the
reference forward (mobileone_ref.MobileOneBlock), in training and eval mode,
contiguous and channels_last, on the detector and the dilated segmenter.

Float64 with random weights and RANDOM BatchNorm parameters and statistics;
tolerance 1e-6 relative to each tensor's largest magnitude. Training-mode BN
over batches of 2 small maps is ill-conditioned: perturbing the detector's
input by 1e-14 moves stage0's weight gradient by 4e-9 relative (the merged
forward's summation order moves it by 3e-8); a wrong merge moves it by O(1).

Run: PYTHONPATH=tools python3 tests/train/test_fast_branches.py   (exit 77 = skipped)
"""

import copy
import sys

try:
    import torch
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

from mobileone_tools.reference import mobileone_ref
from mobileone_tools.train import fastbranch
from mobileone_tools.train import models

TOL = 1e-6


def randomise_bn(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = torch.rand(c, generator=g, dtype=torch.float64) + 0.5
            m.bias.data = torch.randn(c, generator=g, dtype=torch.float64) * 0.1
            m.running_mean.copy_(torch.randn(c, generator=g, dtype=torch.float64))
            m.running_var.copy_(torch.rand(c, generator=g, dtype=torch.float64) + 0.5)


def close(a, b, what):
    scale = max(float(a.abs().max()), 1e-30)
    err = float((a - b).abs().max()) / scale
    if not err <= TOL:
        raise AssertionError(f"{what}: relative difference {err:.3g} > {TOL}")
    return err


def outputs(model, x):
    y = model(x)
    if isinstance(y, tuple):
        return torch.cat([t.flatten() for t in y])
    return y.flatten()


def check(name, build, size, memory_format, depthwise_unfold=False):
    torch.manual_seed(1)
    ref = build().double()
    randomise_bn(ref, 2)
    fast = copy.deepcopy(ref)
    n = fastbranch.use_fast_branches(fast, depthwise_unfold=depthwise_unfold)
    total = sum(1 for m in fast.modules() if isinstance(m, mobileone_ref.MobileOneBlock))
    assert n == total, f"{name}: {n} of {total} blocks switched"
    ref = ref.to(memory_format=memory_format)
    fast = fast.to(memory_format=memory_format)
    g = torch.Generator().manual_seed(3)
    worst = 0.0
    # Two steps on new inputs: the running statistics accumulate.
    for step in range(2):
        x = torch.randn(2, 3, size, size, generator=g, dtype=torch.float64)
        x = x.contiguous(memory_format=memory_format)
        ref.train()
        fast.train()
        # The same dropout masks (DeepLab's ASPP) for both.
        torch.manual_seed(10 + step)
        ya = outputs(ref, x)
        torch.manual_seed(10 + step)
        yb = outputs(fast, x)
        worst = max(worst, close(ya, yb, f"{name} step {step} output"))
        w = torch.randn(ya.shape, generator=g, dtype=torch.float64)
        ref.zero_grad()
        fast.zero_grad()
        (ya * w).sum().backward()
        (yb * w).sum().backward()
        pa, pb = dict(ref.named_parameters()), dict(fast.named_parameters())
        for k in pa:
            if pa[k].grad is None:
                assert pb[k].grad is None, f"{name}: {k} has a gradient only when merged"
                continue
            worst = max(worst, close(pa[k].grad, pb[k].grad, f"{name} step {step} grad {k}"))
        ba, bb = dict(ref.named_buffers()), dict(fast.named_buffers())
        for k in ba:
            if ba[k].dtype == torch.int64:
                assert torch.equal(ba[k], bb[k]), f"{name}: {k} {ba[k]} != {bb[k]}"
            else:
                worst = max(worst, close(ba[k], bb[k], f"{name} step {step} buffer {k}"))
    ref.eval()
    fast.eval()
    with torch.no_grad():
        x = torch.randn(1, 3, size, size, generator=g, dtype=torch.float64)
        worst = max(worst, close(outputs(ref, x), outputs(fast, x), f"{name} eval output"))
    # Switching back restores the reference forward.
    fastbranch.use_fast_branches(fast, False)
    assert not any("forward" in m.__dict__ for m in fast.modules())
    print(f"{name} ({memory_format}): {n} blocks, worst relative difference {worst:.2e}")


def main():
    torch.set_num_threads(1)
    for fmt in (torch.contiguous_format, torch.channels_last):
        check("detector", lambda: models.build_detector(5, {"size": 96, "min_ratio": 0.1}),
              96, fmt)
        check("segmenter os16", lambda: models.build_segmenter(5, {"size": 64}), 64, fmt)
    check("segmenter os8", lambda: models.build_segmenter(5, {"size": 64, "output_stride": 8}),
          64, torch.contiguous_format)
    # The unfold + matmul form of the depthwise blocks (an option).
    check("detector, depthwise unfold",
          lambda: models.build_detector(5, {"size": 96, "min_ratio": 0.1}), 96,
          torch.contiguous_format, depthwise_unfold=True)
    check("segmenter os8, depthwise unfold",
          lambda: models.build_segmenter(5, {"size": 64, "output_stride": 8}), 64,
          torch.contiguous_format, depthwise_unfold=True)
    print("OK")


if __name__ == "__main__":
    main()
