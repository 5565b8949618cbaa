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

import torch

from mobileone_tools.reference import ssdlite_ref
from mobileone_tools.train import datasets
from mobileone_tools.train import detection
from mobileone_tools.train import evaluate
from mobileone_tools.train import models
from mobileone_tools.train import trainer


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
                                             scene_size=args.scene_size)
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
