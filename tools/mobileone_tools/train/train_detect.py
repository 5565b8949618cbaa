"""Trains MobileOne-S0 (training form: k = 4 branches, BatchNorm) + SSDLite
from scratch on the synthetic shapes (or a COCO-style data set).

  python3 -m mobileone_tools.train.train_detect --out runs/detect --steps 30000 \\
      --batch-size 64 --amp
  python3 -m mobileone_tools.train.train_detect --out runs/detect-smoke --smoke
  python3 -m mobileone_tools.train.train_detect --out runs/coco \\
      --coco instances_train2017.json train2017/ \\
      --backbone mobileone_s0_unfused.pth.tar --epochs 50
  python3 -m mobileone_tools.train.train_detect --out runs/coco128 \\
      --yolo ../shared/data/coco128-seg \\
      --backbone ../shared/weights-ref/mobileone-s0-imagenet-fused.safetensors --epochs 30

then mobileone_tools.train.export runs/detect/final.pt and
mobileone_tools.train.evaluate models/shapes-detect.yaml.
"""

import argparse
import os

import torch

from mobileone_tools.reference import ssdlite_ref
from mobileone_tools.train import datasets
from mobileone_tools.train import detection
from mobileone_tools.train import evaluate
from mobileone_tools.train import models
from mobileone_tools.train import trainer


def freeze_backbone(model):
    """Trains only @model's extras and heads from now on: the backbone's
    parameters need no gradient and model.train() leaves the backbone in eval
    mode (BatchNorm statistics frozen). A backbone in eval mode is a plain
    function of its input, so it runs in its inference form (one conv per
    block: the same outputs to float rounding), built at the first train()
    call, i.e. after the trainer has loaded --init or --resume; the module
    keeps the unfused weights, which are what is saved and exported."""
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    plain_train = model.train
    fused = []

    def train_keeping_backbone_frozen(mode=True):
        plain_train(mode)
        model.backbone.train(False)
        if not fused:
            fb = ssdlite_ref.fused_model(model).backbone.to(
                next(model.parameters()).device)
            for p in fb.parameters():
                p.requires_grad_(False)
            fused.append(fb)
            for name in ("stage0", "stage1", "stage2", "stage3", "stage4"):
                getattr(model.backbone, name).forward = getattr(fb, name).forward
        return model
    model.train = train_keeping_backbone_frozen
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    trainer.add_common_args(ap, default_size=320, default_bs=32, default_lr=2e-3)
    ap.add_argument("--coco", nargs=2, metavar=("ANNOTATIONS.json", "IMAGE_DIR"),
                    help="train on a COCO-style data set instead of the shapes")
    ap.add_argument("--yolo", metavar="ROOT", help="train on an Ultralytics YOLO / YOLO-seg "
                    "folder (ROOT/images/SPLIT, ROOT/labels/SPLIT, ROOT/classes.txt; "
                    "e.g. ../shared/data/coco128-seg) instead of the shapes")
    ap.add_argument("--max-images", type=int, default=0,
                    help="use only the first N images of --coco/--yolo (smoke tests)")
    ap.add_argument("--yolo-split", default="train2017", help="SPLIT of --yolo")
    # The shapes are 8..200 px at 320x320: anchors from 0.1 (32 px) to 0.95
    # cover them better than torchvision's 0.2 (64 px), which leaves every
    # object under ~30 px to a single, poorly overlapping best anchor.
    ap.add_argument("--min-ratio", type=float, default=None,
                    help="smallest anchor scale (default 0.1 for the shapes, 0.2 for COCO)")
    ap.add_argument("--max-ratio", type=float, default=0.95)
    ap.add_argument("--scene-size", type=int, default=320,
                    help="draw the shapes at this size and resize them to --size "
                         "(objects keep their size relative to the frame)")
    # Small objects (issue 20): more, and smaller, videotestsrc-like balls and
    # more objects under 32 px in the training scenes (validation unchanged).
    ap.add_argument("--ball-prob", type=float, default=0.35,
                    help="share of the training scenes with a videotestsrc-like ball")
    ap.add_argument("--small-ball-prob", type=float, default=0.0,
                    help="share of those balls with a radius of 5..15 px (the ball of a "
                         "640x480..1280x720 frame at a 320 input)")
    ap.add_argument("--small-prob", type=float, default=0.0,
                    help="share of the other training objects drawn 8..32 px across "
                         "instead of 8..200")
    ap.add_argument("--init-anchors", type=float, nargs=2, metavar=("MIN", "MAX"),
                    help="the min_ratio and max_ratio the --init weights were trained "
                         "with, when they differ from --min-ratio/--max-ratio: their box "
                         "regression is re-expressed for the new anchors first (the same "
                         "boxes come out), e.g. --init models/shapes-detect.safetensors "
                         "--init-anchors 0.1 0.95 --min-ratio 0.05")
    ap.add_argument("--freeze-backbone", action="store_true",
                    help="train only the extras and the heads: the backbone keeps its "
                         "weights and runs in eval mode (BatchNorm statistics frozen), "
                         "in its fused (inference) form")
    args = ap.parse_args()
    if args.smoke:
        trainer.smoke_overrides(args)
        args.scene_size = args.size

    if args.coco:
        train_set = datasets.CocoDetection(args.coco[0], args.coco[1], args.size, hflip=True)
        val_set = None
    elif args.yolo:
        train_set = datasets.YoloDetection(args.yolo, args.yolo_split, args.size, hflip=True)
        val_set = None
    else:
        bs = args.batch_size
        n = args.train_scenes or (args.steps or 1) * bs
        if not args.train_scenes and args.steps is None:
            raise SystemExit("with fresh scenes (--train-scenes 0) give --steps")
        train_set = datasets.ShapesDetection("train", n, args.size, seed=args.train_seed,
                                             scene_size=args.scene_size,
                                             ball_prob=args.ball_prob,
                                             small_ball_prob=args.small_ball_prob,
                                             small_prob=args.small_prob)
        val_set = datasets.ShapesDetection("val", args.val_scenes, args.size,
                                           seed=args.val_seed, scene_size=args.scene_size)

    if args.max_images and (args.coco or args.yolo):
        train_set.items = train_set.items[:args.max_images]
    min_ratio = args.min_ratio if args.min_ratio is not None else (0.2 if args.coco or args.yolo else 0.1)
    cfg = dict(models.DETECT_DEFAULTS, size=args.size, min_ratio=min_ratio,
               max_ratio=args.max_ratio)
    model = models.build_detector(train_set.num_classes, cfg)
    if args.backbone:
        models.load_backbone(model, args.backbone)
    if args.init_anchors:
        if not args.init:
            raise SystemExit("--init-anchors needs --init")
        if not (args.resume and os.path.exists(os.path.join(args.out, "last.pt"))):
            print(f"initialised from {args.init} ({trainer.load_init(model, args.init)})",
                  flush=True)
            r = detection.reanchor_regression(
                model, args.size, cfg["aspect_ratios"], tuple(args.init_anchors),
                (cfg["min_ratio"], cfg["max_ratio"]), cfg["box_coder_weights"])
            print("box regression re-expressed for the new anchors (old/new widths of "
                  "the first map's anchors: " + ", ".join(f"{x:.2f}" for x in r[0]) + ")",
                  flush=True)
        args.init = None  # loaded (or resumed below)
    if args.freeze_backbone:
        freeze_backbone(model)
    targets = detection.SSDTargets(
        ssdlite_ref.default_boxes((args.size, args.size), cfg["aspect_ratios"],
                                  cfg["min_ratio"], cfg["max_ratio"]),
        cfg["box_coder_weights"])
    device = trainer.pick_device(args.device)
    targets.to(device)

    def loss_fn(model, images, tgts):
        cls, reg = model(images)
        assert cls.shape[1] == targets.anchors.shape[0], \
            f"{cls.shape[1]} outputs for {targets.anchors.shape[0]} anchors"
        bbox, ce = targets.loss(cls.float(), reg.float(), tgts)
        return {"bbox": bbox, "cls": ce}

    def evaluate_fn(model, device):
        if val_set is None:
            return {}
        m, _ = evaluate.eval_detect_torch(model, val_set, cfg, device)
        return {"map50": m["map50"], "map": m["map"]}

    trainer.train(args, model, train_set, datasets.detection_collate, loss_fn,
                  evaluate_fn, cfg, "detect")


if __name__ == "__main__":
    torch.backends.cudnn.benchmark = True
    main()
