"""The best mIoU a DeepLabv3 head can reach at a given output stride on the
synthetic validation set: an ideal head that knows, for every output cell,
the exact share of each class among the cell's stride x stride pixels, then
upsamples those scores bilinearly (as the head does) and takes the argmax.
Small shapes and edges blur at the cell size, so this is an upper bound for
any trained model at that stride.

  python3 -m mobileone_tools.train.segment_ceiling    # 200 scenes, strides 16, 8, 4
  python3 -m mobileone_tools.train.segment_ceiling --scenes 500 --stride 16

Scored like evaluate.py: mean IoU over the five classes, same scenes.
"""

import argparse

import torch.nn.functional as F

from mobileone_tools.train import datasets
from mobileone_tools.train import metrics


def ceiling(dataset, stride):
    """The ideal head's confusion matrix over every scene of @dataset."""
    n = dataset.num_classes
    cm = metrics.ConfusionMatrix(n)
    for i in range(len(dataset)):
        _, target = dataset[i]
        h, w = target.shape
        onehot = F.one_hot(target, n).permute(2, 0, 1)[None].float()
        # class shares per cell; a partial cell at the border averages what it has
        cells = F.avg_pool2d(onehot, stride, ceil_mode=True)
        up = F.interpolate(cells, size=(h, w), mode="bilinear", align_corners=False)
        cm.update(target.numpy(), up.argmax(1)[0].numpy())
    return cm


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenes", type=int, default=200)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--val-seed", type=int, default=None)
    ap.add_argument("--stride", type=int, action="append",
                    help="output stride (repeatable; default 16, 8 and 4)")
    args = ap.parse_args()
    if args.scenes < 1 or args.size < 16:
        ap.error("--scenes must be >= 1 and --size >= 16")
    strides = args.stride or [16, 8, 4]
    if min(strides) < 1:
        ap.error("--stride must be >= 1")
    ds = datasets.ShapesSegmentation("val", args.scenes, args.size, seed=args.val_seed)
    for s in strides:
        cm = ceiling(ds, s)
        per = " ".join(f"{name} {v:.3f}" for name, v in zip(ds.class_names, cm.iou()))
        print(f"output stride {s}: mIoU {100 * cm.miou():.2f} ({per})")


if __name__ == "__main__":
    main()
