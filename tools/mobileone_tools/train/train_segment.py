"""Trains MobileOne-S0 (training form: k = 4 branches, BatchNorm) + DeepLabv3
from scratch on the synthetic shapes (or a VOC-style data set).

  python3 -m mobileone_tools.train.train_segment --out runs/segment --steps 20000 \\
      --batch-size 32 --amp
  python3 -m mobileone_tools.train.train_segment --out runs/segment-smoke --smoke
  python3 -m mobileone_tools.train.train_segment --out runs/voc \\
      --voc VOCdevkit/VOC2012 --size 512 \\
      --backbone mobileone_s0_unfused.pth.tar --epochs 50

then mobileone_tools.train.export runs/segment/final.pt and
mobileone_tools.train.evaluate models/shapes-segment.yaml.
"""

import argparse

import torch
import torch.nn.functional as F

from mobileone_tools.train import datasets
from mobileone_tools.train import evaluate
from mobileone_tools.train import models
from mobileone_tools.train import trainer


def class_weights(dataset, power, samples=64):
    """(median frequency / frequency) ** power per class over @samples items
    (spread over the data set); classes never seen get the largest weight."""
    counts = torch.zeros(dataset.num_classes, dtype=torch.float64)
    step = max(1, len(dataset) // samples)
    for i in range(0, min(len(dataset), samples * step), step):
        _, mask = dataset[i]
        m = mask[mask != datasets.IGNORE_INDEX]
        counts += torch.bincount(m.flatten(), minlength=dataset.num_classes)[
            :dataset.num_classes].double()
    freq = counts / counts.sum().clamp(min=1)
    seen = freq > 0
    w = torch.ones(dataset.num_classes, dtype=torch.float64)
    if seen.any():
        med = freq[seen].median()
        w[seen] = (med / freq[seen]) ** power
        w[~seen] = w[seen].max()
    return w.float()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    trainer.add_common_args(ap, default_size=320, default_bs=16, default_lr=2e-3)
    ap.add_argument("--voc", metavar="ROOT", help="train on a VOC-style data set "
                    "(ImageSets/Segmentation/train.txt) instead of the shapes")
    ap.add_argument("--dense-aspp", action="store_true",
                    help="dense 3x3 atrous ASPP branches (default: separable)")
    ap.add_argument("--output-stride", type=int, choices=(8, 16), default=16)
    ap.add_argument("--class-weights", type=float, default=0.0, metavar="POWER",
                    help="weigh the cross-entropy of class c by (median frequency / "
                         "frequency of c) ** POWER, frequencies counted on 64 training "
                         "samples (0: unweighted; 0.5 softens median-frequency "
                         "balancing, which keeps rare shapes from being folded into "
                         "the most frequent one)")
    ap.add_argument("--crop", type=int, default=0,
                    help="train on random CROP x CROP windows of the --size scenes "
                         "(0: whole scenes); validation always sees whole scenes")
    args = ap.parse_args()
    if args.smoke:
        trainer.smoke_overrides(args)

    if args.voc:
        train_set = datasets.VocSegmentation(args.voc, "train", args.size, hflip=True)
        val_set = datasets.VocSegmentation(args.voc, "val", args.size)
    else:
        n = args.train_scenes or (args.steps or 1) * args.batch_size
        if not args.train_scenes and args.steps is None:
            raise SystemExit("with fresh scenes (--train-scenes 0) give --steps")
        train_set = datasets.ShapesSegmentation("train", n, args.size, seed=args.train_seed,
                                                crop=args.crop)
        val_set = datasets.ShapesSegmentation("val", args.val_scenes, args.size,
                                                seed=args.val_seed)

    cfg = dict(models.SEGMENT_DEFAULTS, size=args.size, output_stride=args.output_stride,
               aspp_separable=not args.dense_aspp)
    model = models.build_segmenter(train_set.num_classes, cfg)
    if args.backbone:
        models.load_backbone(model, args.backbone)

    weight = None
    if args.class_weights:
        weight = class_weights(train_set, args.class_weights)
        print("class weights: " + ", ".join(
            f"{n} {w:.3f}" for n, w in zip(train_set.class_names, weight.tolist())),
            flush=True)

    def loss_fn(model, images, masks):
        logits = model(images)
        w = weight.to(logits.device) if weight is not None else None
        return {"ce": F.cross_entropy(logits.float(), masks, weight=w,
                                      ignore_index=datasets.IGNORE_INDEX)}

    def evaluate_fn(model, device):
        m, _ = evaluate.eval_segment_torch(model, val_set, device,
                                           limit=min(len(val_set), 500))
        return {"miou": m["miou"], "pixel_accuracy": m["pixel_accuracy"]}

    trainer.train(args, model, train_set, None, loss_fn, evaluate_fn, cfg, "segment")


if __name__ == "__main__":
    torch.backends.cudnn.benchmark = True
    main()
