#!/usr/bin/python3
"""Trains MobileOne-S0 (training form: k = 4 branches, BatchNorm) + DeepLabv3
from scratch on the synthetic shapes (or a VOC-style data set).

  train_segment.py --out runs/segment --steps 20000 --batch-size 32 --amp
  train_segment.py --out runs/segment-smoke --smoke
  train_segment.py --out runs/voc --voc VOCdevkit/VOC2012 --size 512 \\
      --backbone mobileone_s0_unfused.pth.tar --epochs 50

then export.py runs/segment/final.pt and evaluate.py models/shapes-segment.yaml.
"""

import argparse
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets  # noqa: E402
import evaluate  # noqa: E402
import models  # noqa: E402
import trainer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    trainer.add_common_args(ap, default_size=320, default_bs=16, default_lr=2e-3)
    ap.add_argument("--voc", metavar="ROOT", help="train on a VOC-style data set "
                    "(ImageSets/Segmentation/train.txt) instead of the shapes")
    ap.add_argument("--dense-aspp", action="store_true",
                    help="dense 3x3 atrous ASPP branches (default: separable)")
    ap.add_argument("--output-stride", type=int, choices=(8, 16), default=16)
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

    def loss_fn(model, images, masks):
        logits = model(images)
        return {"ce": F.cross_entropy(logits.float(), masks,
                                      ignore_index=datasets.IGNORE_INDEX)}

    def evaluate_fn(model, device):
        m, _ = evaluate.eval_segment_torch(model, val_set, device,
                                           limit=min(len(val_set), 500))
        return {"miou": m["miou"], "pixel_accuracy": m["pixel_accuracy"]}

    trainer.train(args, model, train_set, None, loss_fn, evaluate_fn, cfg, "segment")


if __name__ == "__main__":
    torch.backends.cudnn.benchmark = True
    main()
