"""The training loop shared by train_detect.py and train_segment.py: device
choice, optimiser (AdamW or SGD, no weight decay on BN/bias), warm-up +
cosine schedule, optional mixed precision on CUDA, gradient clipping,
logging, checkpoints (OUT/last.pt, resumable) and periodic evaluation."""

import argparse
import json
import math
import os
import time

import torch

from mobileone_tools.train import models

# Subnormal floats (decaying gradients, tiny activations) cost x86 CPUs ~100x
# per operation; training never needs them. Set before torch starts its
# worker threads: they inherit the floating-point environment.
torch.set_flush_denormal(True)


def add_common_args(ap, default_size, default_bs, default_lr):
    ap.add_argument("--out", required=True, help="output directory (checkpoints, log)")
    ap.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    ap.add_argument("--epochs", type=float, default=None,
                    help="passes over --train-scenes (default: see --steps)")
    ap.add_argument("--steps", type=int, default=None, help="optimiser steps (overrides --epochs)")
    ap.add_argument("--batch-size", type=int, default=default_bs)
    ap.add_argument("--size", type=int, default=default_size, help="square input size")
    ap.add_argument("--train-scenes", type=int, default=0,
                    help="synthetic scenes to cycle over; 0: a fresh scene for every sample")
    ap.add_argument("--val-scenes", type=int, default=500)
    ap.add_argument("--optimizer", choices=("adamw", "sgd"), default="adamw")
    ap.add_argument("--lr", type=float, default=default_lr)
    ap.add_argument("--weight-decay", type=float, default=None,
                    help="default 0.05 for AdamW, 4e-5 for SGD")
    ap.add_argument("--warmup-steps", type=int, default=None, help="default min(1000, 5%% of steps)")
    ap.add_argument("--clip-grad", type=float, default=10.0)
    ap.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    ap.add_argument("--workers", type=int, default=None,
                    help="data loader processes (default: CPUs - 1, at most 16)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--seed", type=int, default=0, help="model init and sampling seed")
    ap.add_argument("--train-seed", type=int, default=None, help="synthetic train split seed")
    ap.add_argument("--val-seed", type=int, default=None,
                    help="synthetic val split seed (the train seed: score on training scenes)")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--ckpt-every", type=int, default=500)
    ap.add_argument("--eval-every", type=int, default=0, help="0: only at the end")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    ap.add_argument("--init", metavar="CKPT",
                    help="start from the weights of another run's final.pt/last.pt "
                         "(a new schedule and optimiser: e.g. a second phase at a "
                         "larger size)")
    ap.add_argument("--backbone", default=None,
                    help="start the backbone from an ImageNet MobileOne checkpoint "
                         "(unfused; .pth.tar or .safetensors with Apple's names)")
    ap.add_argument("--fast-branches", action=argparse.BooleanOptionalAction, default=True,
                    help="the merged, exact training-form block forward (fastbranch.py; "
                         "default on)")
    ap.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=False,
                    help="channels_last memory format for the model and inputs (needs "
                         "--fast-branches: torch 1.13's channels_last backward of "
                         "stage0's strided 1x1 corrupts the heap; docs/models.md)")
    ap.add_argument("--bf16", action="store_true",
                    help="bfloat16 autocast on the CPU (see docs/models.md before using)")
    ap.add_argument("--smoke", action="store_true",
                    help="a few steps on tiny images to prove the loop works")


def pick_device(name):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class InfiniteSampler(torch.utils.data.Sampler):
    """Indices of exactly @total samples: shuffled passes over the data set,
    one after the other, skipping the first @start (to resume a run)."""

    def __init__(self, length, total, seed, start=0):
        self.length, self.total, self.seed, self.start = length, total, seed, start

    def __len__(self):
        return self.total - self.start

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed)
        n = 0
        while n < self.total:
            perm = torch.randperm(self.length, generator=g).tolist()
            for i in perm:
                if n >= self.total:
                    return
                if n >= self.start:
                    yield i
                n += 1


def cosine_lr(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(total - warmup, 1)
    return base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def load_init(model, path):
    """Loads every weight of @model from @path: a checkpoint of this trainer
    (final.pt/last.pt) or an exported model's .safetensors (export.py: the
    same names, without num_batches_tracked; e.g. models/shapes-detect.safetensors
    to continue from the shipped weights when the run folder is gone).
    Returns a short description of where the weights came from."""
    if path.endswith(".safetensors"):
        from mobileone_tools.reference import st_io
        arrays, _ = st_io.load_file(path, to_float32=True)
        sd = {k: torch.from_numpy(v) for k, v in arrays.items()}
        missing, unexpected = model.load_state_dict(sd, strict=False)
        missing = [m for m in missing if not m.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise SystemExit(f"{path}: does not match the model: missing {missing[:5]}, "
                             f"unexpected {unexpected[:5]}")
        return "exported weights"
    ck = torch.load(path, map_location="cpu")
    model.load_state_dict(ck["model"])
    return f"step {ck.get('step')}"


def train(args, model, dataset, collate, loss_fn, evaluate_fn, cfg, kind):
    """Runs the loop. loss_fn(model, images, targets) -> dict of loss tensors
    (summed for the gradient); evaluate_fn(model, device) -> dict of metrics."""
    os.makedirs(args.out, exist_ok=True)
    device = pick_device(args.device)
    # Debian's torch starts with one intra-op thread here; use every core
    # the loader workers leave.
    torch.set_num_threads(args.threads or max(1, os.cpu_count() or 1))
    torch.manual_seed(args.seed)
    if args.init and not (args.resume and os.path.exists(os.path.join(args.out, "last.pt"))):
        print(f"initialised from {args.init} ({load_init(model, args.init)})", flush=True)
    model.to(device)
    if getattr(args, "fast_branches", False):
        from mobileone_tools.train import fastbranch
        fastbranch.use_fast_branches(model)
    memory_format = torch.contiguous_format
    if getattr(args, "channels_last", False):
        if not getattr(args, "fast_branches", False):
            raise SystemExit("--channels-last needs --fast-branches (torch 1.13 corrupts "
                             "the heap in the reference forward's backward)")
        memory_format = torch.channels_last
        model.to(memory_format=memory_format)
    use_bf16 = bool(getattr(args, "bf16", False) and device.type == "cpu")

    bs = args.batch_size
    if args.steps is not None:
        total = args.steps
    elif args.epochs is not None:
        total = int(math.ceil(args.epochs * len(dataset) / bs))
    else:
        raise SystemExit("give --steps or --epochs")
    wd = args.weight_decay if args.weight_decay is not None else \
        (0.05 if args.optimizer == "adamw" else 4e-5)
    groups = models.param_groups(model, wd)
    if args.optimizer == "adamw":
        opt = torch.optim.AdamW(groups, lr=args.lr)
    else:
        opt = torch.optim.SGD(groups, lr=args.lr, momentum=0.9, nesterov=True)
    warmup = args.warmup_steps if args.warmup_steps is not None else \
        min(1000, max(1, total // 20))
    use_amp = bool(args.amp and device.type == "cuda")
    scaler = torch.cuda.amp.GradScaler(enabled=use_amp)

    step = 0
    ckpt_path = os.path.join(args.out, "last.pt")
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step = ck["step"]
        print(f"resumed from {ckpt_path} at step {step}", flush=True)

    workers = args.workers
    if workers is None:
        workers = min(16, max((os.cpu_count() or 1) - 1, 0))
    sampler = InfiniteSampler(len(dataset), total * bs, args.seed, start=step * bs)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=bs, sampler=sampler, collate_fn=collate, num_workers=workers,
        pin_memory=device.type == "cuda", drop_last=True, worker_init_fn=_worker_init)

    def save(path, final=False):
        ck = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
              "kind": kind, "cfg": cfg, "args": vars(args),
              "num_classes": dataset.num_classes, "class_names": dataset.class_names}
        if final:
            ck.pop("optimizer")
        tmp = path + ".tmp"
        torch.save(ck, tmp)
        os.replace(tmp, path)

    log = open(os.path.join(args.out, "train.log"), "a", encoding="utf-8")
    print(f"{kind}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters, "
          f"{total} steps of batch {bs} at {args.size}x{args.size} on {device}"
          f"{' (amp)' if use_amp else ''}{' (bf16)' if use_bf16 else ''}, "
          f"{'merged' if getattr(args, 'fast_branches', False) else 'reference'} branches, "
          f"{'channels_last' if memory_format == torch.channels_last else 'NCHW'}, "
          f"{workers} loader workers, "
          f"{torch.get_num_threads()} threads", flush=True)
    model.train()
    t0 = time.time()
    t_last, n_last = t0, step
    sums = {}
    t_data = 0.0
    t_fetch = time.time()
    for images, targets in loader:
        t_data += time.time() - t_fetch
        lr = cosine_lr(step, total, args.lr, warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        images = images.to(device, non_blocking=True).contiguous(memory_format=memory_format)
        targets = _to(targets, device)
        with torch.autocast(device_type=device.type, enabled=use_amp or use_bf16,
                            dtype=torch.bfloat16 if use_bf16 else None):
            losses = loss_fn(model, images, targets)
        loss = sum(losses.values())
        if not torch.isfinite(loss):
            raise SystemExit(f"step {step}: non-finite loss {float(loss)} "
                             f"({ {k: float(v) for k, v in losses.items()} })")
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if args.clip_grad:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad)
        scaler.step(opt)
        scaler.update()
        step += 1
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + float(v)

        if step % args.log_every == 0 or step == total:
            now = time.time()
            n = step - n_last
            sps = (now - t_last) / max(n, 1)
            msg = (f"step {step}/{total} lr {lr:.2e} " +
                   " ".join(f"{k} {v / max(n, 1):.4f}" for k, v in sums.items()) +
                   f" | {sps:.3f} s/step ({t_data / max(n, 1):.3f} waiting for data), "
                   f"{bs / sps:.1f} img/s")
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
            sums, t_last, n_last, t_data = {}, now, step, 0.0
        if step % args.ckpt_every == 0 and step < total:
            save(ckpt_path)
        if args.eval_every and step % args.eval_every == 0 and step < total:
            _eval(model, evaluate_fn, device, step, log)
            model.train()
        t_fetch = time.time()
    elapsed = time.time() - t0
    save(ckpt_path)
    final = os.path.join(args.out, "final.pt")
    save(final, final=True)
    msg = f"trained {step} steps in {elapsed:.1f} s; wrote {final}"
    print(msg, flush=True)
    log.write(msg + "\n")
    metrics = _eval(model, evaluate_fn, device, step, log)
    with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump({"steps": step, "seconds": elapsed, "seconds_per_step":
                   elapsed / max(step, 1), "batch_size": bs, "size": args.size,
                   "device": str(device), "metrics": metrics}, f, indent=1)
    log.close()
    return model


def _worker_init(_):
    # Scene generation is numpy/PIL; torch's intra-op threads would only
    # oversubscribe the cores the other workers need.
    torch.set_num_threads(1)


def _eval(model, evaluate_fn, device, step, log):
    if evaluate_fn is None:
        return {}
    model.eval()
    t = time.time()
    metrics = evaluate_fn(model, device)
    msg = f"eval at step {step}: " + " ".join(
        f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float)) + \
        f" ({time.time() - t:.1f} s)"
    print(msg, flush=True)
    log.write(msg + "\n")
    log.flush()
    return metrics


def _to(targets, device):
    if isinstance(targets, torch.Tensor):
        return targets.to(device, non_blocking=True)
    return [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]


def smoke_overrides(args, size=128):
    """--smoke: tiny images, a handful of steps, one thread, no workers."""
    args.size = min(args.size, size)
    args.steps = args.steps or 6
    args.batch_size = min(args.batch_size, 4)
    args.val_scenes = min(args.val_scenes, 8)
    args.workers = 0 if args.workers is None else args.workers
    args.threads = args.threads or 1
    args.log_every = 1
    args.ckpt_every = max(args.steps // 2, 1)
    return args


