#!/usr/bin/python3
"""Seconds per training step (forward + loss + backward + AdamW step) of the
detection and segmentation training models on this CPU, under several
settings, alternated in one run (docs/models.md, "Training time").

  PYTHONPATH=tools /usr/bin/python3 benchmarks/train_step_bench.py \\
      [--task detect segment] [--steps 3] [--rounds 2] [--batch-size 16] \\
      [--variants old,cl,cl+fast,...] [--profile VARIANT]

Each task trains on one fixed batch of real synthetic scenes (shapes.py;
generated once, outside the timing) at its training size: detection 320x320
scenes (SSDLite loss), segmentation 160x160 crops of 320x320 scenes
(cross-entropy). Every variant starts from the same weights with a fresh
AdamW optimiser, runs one untimed warm-up step, then --steps timed steps; the
variants run in turn, round after round (a noisy neighbour hits all of
them), and the table gives the median step time over all timed steps, per
step and per image, and the ratio to the first variant.

A variant is a '+'-joined list of settings:
  old      what the trainer did before: contiguous (NCHW) tensors, the
           reference branch forward, float32 (the baseline)
  cl       channels_last memory format for the model and the input
  fast     the merged training-form branch forward (fastbranch.py; exact)
  unfold   fast, with the depthwise blocks' merged conv (n outputs per
           channel) as unfold + batched matmul instead of one grouped
           F.conv2d (an experiment; slower on a quiet machine)
  bf16     torch.autocast("cpu", torch.bfloat16) around forward and loss
  tN       N torch threads (default: --threads)

--profile VARIANT prints torch.profiler's top operators (self CPU time) for
one step of that variant, per task.
"""

import argparse
import copy
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from mobileone_tools.reference import ssdlite_ref
from mobileone_tools.train import datasets
from mobileone_tools.train import detection
from mobileone_tools.train import fastbranch
from mobileone_tools.train import models
from mobileone_tools.train import trainer  # noqa: F401  (flushes denormals)

DEFAULT_VARIANTS = "old,cl,fast,cl+fast,cl+fast+bf16,cl+fast+t1"


def parse_variant(text, default_threads):
    v = {"name": text, "cl": False, "fast": False, "bf16": False, "unfold": False,
         "threads": default_threads}
    for part in text.split("+"):
        if part == "old":
            continue
        if part in ("cl", "fast", "bf16"):
            v[part] = True
        elif part == "unfold":
            v["fast"] = v["unfold"] = True
        elif part.startswith("t") and part[1:].isdigit():
            v["threads"] = int(part[1:])
        else:
            raise SystemExit(f"unknown setting {part!r} in variant {text!r}")
    return v


def blas_library():
    """The BLAS shared object this process loaded (Debian's torch links
    libblas.so.3, which the alternatives system points at the reference
    BLAS or OpenBLAS)."""
    with open("/proc/self/maps", encoding="utf-8") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower()}
    return ", ".join(sorted(os.path.realpath(p) for p in libs)) or "none"


def make_task(task, bs):
    """(model builder, a batch (images, targets), loss function)."""
    if task == "detect":
        size = 320
        ds = datasets.ShapesDetection("train", bs, size, seed=1)
        items = [ds[i] for i in range(bs)]
        images, tgts = datasets.detection_collate(items)
        cfg = dict(models.DETECT_DEFAULTS, size=size, min_ratio=0.1)
        targets = detection.SSDTargets(
            ssdlite_ref.default_boxes((size, size), cfg["aspect_ratios"],
                                      cfg["min_ratio"], cfg["max_ratio"]),
            cfg["box_coder_weights"])

        def build():
            return models.build_detector(ds.num_classes, cfg)

        def loss_fn(model, x, t):
            cls, reg = model(x)
            bbox, ce = targets.loss(cls.float(), reg.float(), t)
            return bbox + ce
        return build, images, tgts, loss_fn, f"320x320, batch {bs}"
    ds = datasets.ShapesSegmentation("train", bs, 320, seed=1, crop=160)
    torch.manual_seed(0)
    items = [ds[i] for i in range(bs)]
    images = torch.stack([i[0] for i in items])
    masks = torch.stack([i[1] for i in items])

    def build():
        return models.build_segmenter(ds.num_classes, dict(models.SEGMENT_DEFAULTS, size=320))

    def loss_fn(model, x, t):
        return F.cross_entropy(model(x).float(), t, ignore_index=datasets.IGNORE_INDEX)
    return build, images, masks, loss_fn, f"160x160 crops, batch {bs}"


class Runner:
    def __init__(self, variant, build, state, images, targets, loss_fn):
        self.v = variant
        self.model = build()
        self.model.load_state_dict(state)
        if variant["fast"]:
            fastbranch.use_fast_branches(self.model, depthwise_unfold=variant["unfold"])
        fmt = torch.channels_last if variant["cl"] else torch.contiguous_format
        self.model = self.model.to(memory_format=fmt)
        self.images = images.contiguous(memory_format=fmt)
        self.targets = targets
        self.loss_fn = loss_fn
        self.opt = torch.optim.AdamW(models.param_groups(self.model, 0.05), lr=1e-4)
        self.model.train()

    def step(self):
        torch.set_num_threads(self.v["threads"])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.v["bf16"]):
            loss = self.loss_fn(self.model, self.images, self.targets)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 10.0)
        self.opt.step()
        return float(loss)


def profile(runner, top):
    from torch.profiler import ProfilerActivity, profile as tprofile
    runner.step()
    with tprofile(activities=[ProfilerActivity.CPU]) as prof:
        runner.step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", nargs="+", choices=("detect", "segment"),
                    default=["detect", "segment"])
    ap.add_argument("--variants", default=DEFAULT_VARIANTS)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per variant and round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="default threads of a variant without tN")
    ap.add_argument("--profile", metavar="VARIANT", help="profile one step of VARIANT")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()

    variants = [parse_variant(v, args.threads) for v in args.variants.split(",")]
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, "
          f"mkldnn {torch.backends.mkldnn.is_available()}, BLAS {blas_library()}",
          flush=True)
    for task in args.task:
        build, images, targets, loss_fn, desc = make_task(task, args.batch_size)
        torch.manual_seed(0)
        state = copy.deepcopy(build().state_dict())
        if args.profile:
            v = parse_variant(args.profile, args.threads)
            print(f"\n{task} ({desc}), variant {v['name']}, {v['threads']} threads:")
            profile(Runner(v, build, state, images, targets, loss_fn), args.top)
            continue
        runners = [Runner(v, build, state, images, targets, loss_fn) for v in variants]
        first_loss = {}
        for r in runners:  # untimed warm-up (oneDNN primitive caches, allocator)
            first_loss[r.v["name"]] = r.step()
        times = {r.v["name"]: [] for r in runners}
        for rnd in range(args.rounds):
            for r in runners:
                for _ in range(args.steps):
                    t = time.perf_counter()
                    r.step()
                    times[r.v["name"]].append(time.perf_counter() - t)
                print(f"  {task} round {rnd + 1} {r.v['name']}: "
                      f"{statistics.median(times[r.v['name']][-args.steps:]):.3f} s/step",
                      flush=True)
        base = statistics.median(times[variants[0]["name"]])
        print(f"\n{task} ({desc}); median of {args.rounds} x {args.steps} steps:")
        print(f"| variant | threads | s/step | s/image | speed-up vs {variants[0]['name']} "
              f"| first loss |")
        print("|---|---|---|---|---|---|")
        for v in variants:
            m = statistics.median(times[v["name"]])
            print(f"| {v['name']} | {v['threads']} | {m:.3f} | {m / args.batch_size:.4f} "
                  f"| {base / m:.2f}x | {first_loss[v['name']]:.4f} |")
        sys.stdout.flush()
        del runners


if __name__ == "__main__":
    main()
