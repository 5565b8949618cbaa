#!/usr/bin/env python3
"""Real-data readers (COCO-style JSON detection, VOC-style PNG segmentation)
on a tiny fixture written to a temporary directory, and the synthetic data
set wrappers.

Run: PYTHONPATH=tools python3 tests/train/test_readers.py   (exit 77 = skipped)
"""

import json
import os
import sys
import tempfile

try:
    import numpy as np
    import torch
    from PIL import Image
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

from mobileone_tools.train import datasets


def write_coco(root):
    os.makedirs(os.path.join(root, "img"))
    rng = np.random.default_rng(0)
    for name, (w, h) in (("a.jpg", (64, 48)), ("b.png", (40, 80)), ("c.jpg", (32, 32))):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(
            os.path.join(root, "img", name))
    data = {
        "images": [{"id": 7, "file_name": "a.jpg", "width": 64, "height": 48},
                   {"id": 3, "file_name": "b.png", "width": 40, "height": 80},
                   {"id": 9, "file_name": "c.jpg", "width": 32, "height": 32}],
        # Sparse category ids, out of order, as in COCO.
        "categories": [{"id": 18, "name": "dog"}, {"id": 1, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 18, "bbox": [8, 4, 16, 24], "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 64, 48], "iscrowd": 0},
            {"id": 3, "image_id": 7, "category_id": 1, "bbox": [1, 1, 5, 5], "iscrowd": 1},
            {"id": 4, "image_id": 3, "category_id": 1, "bbox": [10, 20, 20, 40]},
            {"id": 5, "image_id": 3, "category_id": 18, "bbox": [10, 20, 0.5, 40]},
        ],
    }
    path = os.path.join(root, "instances.json")
    with open(path, "w") as f:
        json.dump(data, f)
    return path


def check_coco(tmp):
    ann = write_coco(tmp)
    ds = datasets.CocoDetection(ann, os.path.join(tmp, "img"), size=32)
    assert ds.class_names == ["background", "person", "dog"], ds.class_names
    assert ds.num_classes == 3 and len(ds) == 3
    # Items are in image-id order: b.png (3), a.jpg (7), c.jpg (9).
    img, t = ds[0]
    assert img.shape == (3, 32, 32) and img.dtype == torch.float32
    assert t["labels"].tolist() == [1]  # the 0.5-px-wide box is dropped
    assert torch.allclose(t["boxes"], torch.tensor([[8.0, 8.0, 24.0, 24.0]])), t["boxes"]
    img, t = ds[1]
    assert t["labels"].tolist() == [2, 1]  # the crowd box is dropped
    assert torch.allclose(t["boxes"], torch.tensor([[4.0, 8 / 3, 12.0, 56 / 3],
                                                    [0.0, 0.0, 32.0, 32.0]])), t["boxes"]
    img, t = ds[2]
    assert t["boxes"].shape == (0, 4) and t["labels"].shape == (0,)
    assert len(datasets.CocoDetection(ann, os.path.join(tmp, "img"), 32,
                                      keep_empty=False)) == 2
    # The normalisation is ImageNet's.
    raw = ds.raw(1)["image"]
    x = torch.from_numpy(raw.astype(np.float32) / 255).permute(2, 0, 1)
    want = (x - torch.tensor(datasets.MEAN).view(3, 1, 1)) / torch.tensor(
        datasets.STD).view(3, 1, 1)
    assert torch.allclose(ds[1][0], want, atol=1e-6)
    images, targets = datasets.detection_collate([ds[0], ds[1]])
    assert images.shape == (2, 3, 32, 32) and len(targets) == 2
    # Flipped boxes stay boxes.
    flip = datasets.CocoDetection(ann, os.path.join(tmp, "img"), 32, hflip=True)
    torch.manual_seed(0)
    for _ in range(6):
        b = flip[1][1]["boxes"]
        assert (b[:, 2] > b[:, 0]).all() and ((b[:, 0] == 4) | (b[:, 0] == 20)).any()
    # An unknown category is an error naming it.
    with open(ann) as f:
        data = json.load(f)
    data["annotations"][0]["category_id"] = 5
    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w") as f:
        json.dump(data, f)
    try:
        datasets.CocoDetection(bad, os.path.join(tmp, "img"))
    except ValueError as e:
        assert "category_id 5" in str(e), e
    else:
        raise AssertionError("unknown category accepted")


def write_voc(root):
    for d in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        os.makedirs(os.path.join(root, d))
    masks = {}
    for i, name in enumerate(("2007_000001", "2007_000002")):
        Image.fromarray(np.full((24, 36, 3), 40 * i, np.uint8)).save(
            os.path.join(root, "JPEGImages", name + ".jpg"))
        m = np.zeros((24, 36), np.uint8)
        m[4:12, 6:18] = 15 if i == 0 else 3
        m[12, :] = 255
        p = Image.fromarray(m, mode="P")
        # VOC's palette PNGs: the colours must not matter, only the indices.
        pal = np.random.default_rng(i).integers(0, 255, 768).astype(np.uint8)
        p.putpalette(pal.tolist())
        p.save(os.path.join(root, "SegmentationClass", name + ".png"))
        masks[name] = m
    with open(os.path.join(root, "ImageSets/Segmentation/train.txt"), "w") as f:
        f.write("2007_000001\n2007_000002\n")
    with open(os.path.join(root, "ImageSets/Segmentation/val.txt"), "w") as f:
        f.write("2007_000002\n")
    return masks


def check_voc(tmp):
    masks = write_voc(tmp)
    ds = datasets.VocSegmentation(tmp, "train", size=24)
    assert len(ds) == 2 and ds.num_classes == 21
    img, m = ds[0]
    assert img.shape == (3, 24, 24) and m.shape == (24, 24) and m.dtype == torch.int64
    assert set(torch.unique(m).tolist()) == {0, 15, 255}
    full = datasets.VocSegmentation(tmp, "val", size=36)
    img, m = full[0]
    # 36x24 -> 36x36 nearest: rows scale by 24/36; check against the source.
    src = masks["2007_000002"]
    pos = (np.arange(36) + 0.5) * 24 / 36
    rows = np.minimum(pos, 23).astype(int)
    clear = np.abs(pos - np.round(pos)) > 0.1  # PIL breaks exact ties its own way
    assert np.array_equal(m.numpy()[clear], src[rows][clear]), "nearest-neighbour resize"
    # A class beyond num_classes is an error.
    small = datasets.VocSegmentation(tmp, "train", size=24, class_names=("bg", "a", "b"))
    try:
        small[0]
    except ValueError as e:
        assert "class 15" in str(e), e
    else:
        raise AssertionError("class out of range accepted")


def check_shapes_wrappers():
    det = datasets.ShapesDetection("val", 6, size=96)
    seen = 0
    for i in range(6):
        img, t = det[i]
        assert img.shape == (3, 96, 96)
        assert t["boxes"].shape[1] == 4 and t["boxes"].dtype == torch.float32
        assert t["labels"].dtype == torch.int64 and len(t["labels"]) == len(t["boxes"])
        seen += len(t["labels"])
    assert seen > 0
    seg = datasets.ShapesSegmentation("val", 3, size=64)
    img, m = seg[1]
    assert img.shape == (3, 64, 64) and m.shape == (64, 64) and m.dtype == torch.int64
    assert int(m.max()) < seg.num_classes
    loader = torch.utils.data.DataLoader(det, batch_size=3,
                                         collate_fn=datasets.detection_collate)
    images, targets = next(iter(loader))
    assert images.shape == (3, 3, 96, 96) and len(targets) == 3


class _Masks(torch.utils.data.Dataset):
    """Masks with known pixel counts per class: 60 of class 0, 20 of 1, 10
    of 2, 0 of 3, 10 ignored, in every item."""
    num_classes = 4

    def __len__(self):
        return 5

    def __getitem__(self, i):
        m = torch.tensor([0] * 60 + [1] * 20 + [2] * 10 + [datasets.IGNORE_INDEX] * 10)
        return torch.zeros(3, 10, 10), m.view(10, 10)


def check_class_weights():
    from mobileone_tools.train import train_segment
    # Frequencies 0.667, 0.222, 0.111 (ignored pixels left out); median 0.222.
    w = train_segment.class_weights(_Masks(), 1.0)
    want = [0.222222 / 0.666667, 1.0, 2.0, 2.0]   # unseen class: the largest
    assert torch.allclose(w, torch.tensor(want), rtol=1e-4), w
    w = train_segment.class_weights(_Masks(), 0.5)
    assert torch.allclose(w, torch.tensor(want) ** 0.5, rtol=1e-4), w


def main():
    torch.set_num_threads(1)
    check_class_weights()
    with tempfile.TemporaryDirectory() as tmp:
        check_coco(os.path.join(tmp, "coco"))
        check_voc(os.path.join(tmp, "voc"))
    check_shapes_wrappers()
    print("test_readers: OK")


if __name__ == "__main__":
    main()
