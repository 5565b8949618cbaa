"""PyTorch data sets for training and evaluation.

Synthetic:  ShapesDetection, ShapesSegmentation (shapes.py scenes)
Real data:  CocoDetection   -- COCO-style JSON (instances_*.json) + image folder
            YoloDetection   -- Ultralytics YOLO(-seg) folders (images/SPLIT/*.jpg,
                               labels/SPLIT/*.txt: boxes or polygons), e.g.
                               ../shared/data/coco128-seg
            VocSegmentation -- VOC-style JPEGImages/ + SegmentationClass/*.png
                               class maps (palette or grey PNG, 255 = ignore)

Every item is (image, target): image a float32 [3, H, W] tensor normalised
with ImageNet mean/std (what the YAML's input.mean/std tell the engine), at
the model's input size (a plain resize, as the engine and the elements do);
target for detection {"boxes": float32 [N, 4] x_min, y_min, x_max, y_max in
input pixels, "labels": int64 [N], 1-based, 0 being background}, for
segmentation an int64 [H, W] class map (255 = ignore).
"""

import json
import os

import numpy as np
import torch
from PIL import Image

from mobileone_tools.train import shapes

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
IGNORE_INDEX = 255


def to_tensor(image_u8):
    """uint8 [H, W, 3] RGB -> normalised float32 [3, H, W]."""
    x = torch.from_numpy(np.array(image_u8, dtype=np.float32)).permute(2, 0, 1) / 255.0
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    return (x - mean) / std


def to_nchw_numpy(image_u8):
    """The same normalised input as to_tensor, as float32 [1, 3, H, W] numpy
    (what `mobileone-cli run --input X.npy` takes)."""
    return to_tensor(image_u8).unsqueeze(0).numpy()


def detection_collate(batch):
    images = torch.stack([b[0] for b in batch])
    return images, [b[1] for b in batch]


def _hflip_boxes(boxes, width):
    if len(boxes) == 0:
        return boxes
    out = boxes.copy()
    out[:, 0] = width - boxes[:, 2]
    out[:, 2] = width - boxes[:, 0]
    return out


class ShapesDetection(torch.utils.data.Dataset):
    """Scenes drawn at @scene_size (default @size) and, when the two differ,
    resized to @size with their boxes: training at 224 on 320-pixel scenes
    keeps the objects' sizes relative to the frame (so the same anchors take
    them) and costs half as much as training at 320."""

    def __init__(self, split="train", length=10000, size=320, seed=None, cache_dir=None,
                 hflip=False, scene_size=None, ball_prob=0.35, small_ball_prob=0.0,
                 small_prob=0.0):
        scene_size = scene_size or size
        self.scenes = shapes.ShapesScenes(split, length, scene_size, scene_size, seed=seed,
                                          cache_dir=cache_dir, ball_prob=ball_prob,
                                          small_ball_prob=small_ball_prob,
                                          small_prob=small_prob)
        self.size, self.scene_size = size, scene_size
        self.hflip = hflip
        self.num_classes = len(shapes.CLASSES)
        self.class_names = list(shapes.CLASSES)

    def __len__(self):
        return len(self.scenes)

    def raw(self, index):
        return self.scenes[index]

    def __getitem__(self, index):
        s = self.scenes[index]
        image, boxes = s["image"], s["boxes"]
        if self.size != self.scene_size:
            image = np.asarray(Image.fromarray(image).resize((self.size, self.size),
                                                             Image.BILINEAR))
            boxes = boxes * np.float32(self.size / self.scene_size)
        # The scenes are already random in every respect; flipping is only
        # for the real-data readers' sake and off by default.
        if self.hflip and torch.rand(()) < 0.5:
            image = image[:, ::-1]
            boxes = _hflip_boxes(boxes, image.shape[1])
        return to_tensor(image), {"boxes": torch.from_numpy(np.ascontiguousarray(boxes)),
                                  "labels": torch.from_numpy(s["labels"])}


class ShapesSegmentation(torch.utils.data.Dataset):
    """With @crop, each item is a random @crop x @crop window of a @size
    scene at its own scale: the network is fully convolutional, so training
    on crops teaches it the same pixels for a fraction of the cost."""

    def __init__(self, split="train", length=10000, size=320, seed=None, cache_dir=None,
                 crop=None):
        self.scenes = shapes.ShapesScenes(split, length, size, size, seed=seed,
                                          cache_dir=cache_dir)
        self.crop = crop if crop and crop < size else None
        self.num_classes = len(shapes.CLASSES)
        self.class_names = list(shapes.CLASSES)

    def __len__(self):
        return len(self.scenes)

    def raw(self, index):
        return self.scenes[index]

    def __getitem__(self, index):
        s = self.scenes[index]
        image, classes = s["image"], s["classes"]
        if self.crop:
            c = self.crop
            y, x = (int(v) for v in torch.randint(0, image.shape[0] - c + 1, (2,)))
            image, classes = image[y:y + c, x:x + c], classes[y:y + c, x:x + c]
        return to_tensor(image), torch.from_numpy(classes.astype(np.int64))


# --------------------------------------------------------------------------
# COCO-style detection
# --------------------------------------------------------------------------

class CocoDetection(torch.utils.data.Dataset):
    """COCO "instances" JSON: images[{id, file_name, width, height}],
    annotations[{image_id, category_id, bbox: [x, y, w, h], iscrowd}],
    categories[{id, name}]. Category ids (sparse in COCO: 1..90) map to
    contiguous labels 1..K in increasing id order; `class_names[0]` is
    "background". Crowd boxes and boxes under @min_size pixels are dropped.
    Images are resized to @size x @size (boxes scaled along)."""

    def __init__(self, annotation_file, image_dir, size=320, hflip=False, min_size=1.0,
                 keep_empty=True):
        with open(annotation_file, "r", encoding="utf-8") as f:
            data = json.load(f)
        cats = sorted(data.get("categories", []), key=lambda c: c["id"])
        self.cat_to_label = {c["id"]: i + 1 for i, c in enumerate(cats)}
        self.class_names = ["background"] + [c["name"] for c in cats]
        self.num_classes = len(self.class_names)
        anns = {}
        for a in data.get("annotations", []):
            anns.setdefault(a["image_id"], []).append(a)
        self.items = []
        for img in sorted(data["images"], key=lambda i: i["id"]):
            boxes, labels = [], []
            for a in anns.get(img["id"], []):
                if a.get("iscrowd", 0):
                    continue
                if a["category_id"] not in self.cat_to_label:
                    raise ValueError(f"{annotation_file}: annotation {a.get('id')}: "
                                     f"unknown category_id {a['category_id']}")
                x, y, w, h = (float(v) for v in a["bbox"])
                if w < min_size or h < min_size:
                    continue
                boxes.append([x, y, x + w, y + h])
                labels.append(self.cat_to_label[a["category_id"]])
            if not boxes and not keep_empty:
                continue
            self.items.append((os.path.join(image_dir, img["file_name"]),
                               np.array(boxes, np.float32).reshape(-1, 4),
                               np.array(labels, np.int64)))
        self.size = size
        self.hflip = hflip

    def __len__(self):
        return len(self.items)

    def load(self, index):
        """(uint8 [size, size, 3] resized image, boxes in resized pixels, labels)."""
        path, boxes, labels = self.items[index]
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            im = im.resize((self.size, self.size), Image.BILINEAR)
            image = np.asarray(im).copy()
        scale = np.array([self.size / w, self.size / h] * 2, np.float32)
        boxes = np.clip(boxes * scale, 0, self.size)
        return image, boxes, labels

    def raw(self, index):
        image, boxes, labels = self.load(index)
        return {"image": image, "boxes": boxes, "labels": labels}

    def __getitem__(self, index):
        image, boxes, labels = self.load(index)
        if self.hflip and torch.rand(()) < 0.5:
            image = image[:, ::-1]
            boxes = _hflip_boxes(boxes, self.size)
        return to_tensor(image), {"boxes": torch.from_numpy(np.ascontiguousarray(boxes)),
                                  "labels": torch.from_numpy(labels)}


# --------------------------------------------------------------------------
# Ultralytics YOLO / YOLO-seg folders
# --------------------------------------------------------------------------

def read_yolo_classes(path):
    """Class names of a YOLO data set: a classes.txt of "index [coco_id] name"
    lines (as ../shared/data/coco128-seg has; '#' starts a comment) or plain
    one-name-per-line (coco.names style). Returns names in index order."""
    names = {}
    with open(path, "r", encoding="utf-8") as f:
        lines = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    for i, ln in enumerate(lines):
        parts = ln.split()
        if parts[0].isdigit() and len(parts) >= 2:
            idx = int(parts[0])
            rest = parts[1:]
            if len(rest) >= 2 and rest[0].isdigit():
                rest = rest[1:]
            names[idx] = " ".join(rest)
        else:
            names[i] = ln
    if sorted(names) != list(range(len(names))):
        raise ValueError(f"{path}: class indices are not 0..{len(names) - 1}")
    return [names[i] for i in range(len(names))]


class YoloDetection(torch.utils.data.Dataset):
    """An Ultralytics YOLO folder: root/images/SPLIT/NAME.jpg and
    root/labels/SPLIT/NAME.txt, one object per line: "class xc yc w h"
    (detection) or "class x1 y1 ... xn yn" (YOLO-seg polygon), coordinates
    normalised by the image's width and height. The box of a polygon is the
    extent of its vertices. Class i becomes label i + 1 (0 is background);
    names come from root/classes.txt. Images without a label file have no
    objects; label files without an image are ignored. Images are resized
    to @size x @size (boxes scaled along), as CocoDetection does."""

    IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")

    def __init__(self, root, split="train2017", size=320, hflip=False, min_size=1.0,
                 classes_file=None):
        self.class_names = ["background"] + read_yolo_classes(
            classes_file or os.path.join(root, "classes.txt"))
        self.num_classes = len(self.class_names)
        image_dir = os.path.join(root, "images", split)
        label_dir = os.path.join(root, "labels", split)
        names = sorted(n for n in os.listdir(image_dir)
                       if n.lower().endswith(self.IMAGE_EXTS))
        if not names:
            raise ValueError(f"{image_dir}: no images")
        self.items = []
        for n in names:
            lpath = os.path.join(label_dir, os.path.splitext(n)[0] + ".txt")
            boxes, labels = self._read_labels(lpath) if os.path.exists(lpath) else \
                (np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
            self.items.append((os.path.join(image_dir, n), boxes, labels))
        self.size = size
        self.hflip = hflip
        self.min_size = min_size

    def _read_labels(self, path):
        boxes, labels = [], []
        with open(path, "r", encoding="utf-8") as f:
            for lineno, ln in enumerate(f, 1):
                parts = ln.split()
                if not parts:
                    continue
                try:
                    cls = int(parts[0])
                    v = [float(t) for t in parts[1:]]
                except ValueError:
                    raise ValueError(f"{path}:{lineno}: not numbers: {ln.strip()[:60]!r}")
                if not 0 <= cls < self.num_classes - 1:
                    raise ValueError(f"{path}:{lineno}: class {cls} outside 0.."
                                     f"{self.num_classes - 2}")
                if len(v) == 4:
                    xc, yc, w, h = v
                    box = [xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2]
                elif len(v) >= 6 and len(v) % 2 == 0:
                    xs, ys = v[0::2], v[1::2]
                    box = [min(xs), min(ys), max(xs), max(ys)]
                else:
                    raise ValueError(f"{path}:{lineno}: {len(v)} coordinates: neither a "
                                     "box (4) nor a polygon (an even number >= 6)")
                boxes.append([min(max(c, 0.0), 1.0) for c in box])
                labels.append(cls + 1)
        return (np.array(boxes, np.float32).reshape(-1, 4), np.array(labels, np.int64))

    def __len__(self):
        return len(self.items)

    def load(self, index):
        """(uint8 [size, size, 3] resized image, boxes in resized pixels, labels)."""
        path, boxes, labels = self.items[index]
        with Image.open(path) as im:
            image = np.asarray(im.convert("RGB").resize((self.size, self.size),
                                                          Image.BILINEAR)).copy()
        boxes = boxes * np.float32(self.size)
        keep = ((boxes[:, 2] - boxes[:, 0]) >= self.min_size) & \
            ((boxes[:, 3] - boxes[:, 1]) >= self.min_size)
        return image, boxes[keep], labels[keep]

    def raw(self, index):
        image, boxes, labels = self.load(index)
        return {"image": image, "boxes": boxes, "labels": labels}

    def __getitem__(self, index):
        image, boxes, labels = self.load(index)
        if self.hflip and torch.rand(()) < 0.5:
            image = image[:, ::-1]
            boxes = _hflip_boxes(boxes, self.size)
        return to_tensor(image), {"boxes": torch.from_numpy(np.ascontiguousarray(boxes)),
                                  "labels": torch.from_numpy(labels)}


# --------------------------------------------------------------------------
# VOC-style segmentation
# --------------------------------------------------------------------------

VOC_CLASSES = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus",
               "car", "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike",
               "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor")


class VocSegmentation(torch.utils.data.Dataset):
    """root/ImageSets/Segmentation/{split}.txt lists ids; the image is
    root/JPEGImages/{id}.jpg and the class map root/SegmentationClass/{id}.png,
    whose pixel values (palette indices for VOC's palette PNGs, grey levels
    otherwise) are class indices, 255 marking borders to ignore. Images are
    resized bilinearly to @size x @size and class maps with nearest
    neighbour."""

    def __init__(self, root, split="train", size=512, hflip=False, class_names=VOC_CLASSES,
                 image_ext=".jpg"):
        list_file = os.path.join(root, "ImageSets", "Segmentation", split + ".txt")
        with open(list_file, "r", encoding="utf-8") as f:
            ids = [line.strip() for line in f if line.strip()]
        self.items = [(os.path.join(root, "JPEGImages", i + image_ext),
                       os.path.join(root, "SegmentationClass", i + ".png")) for i in ids]
        self.class_names = list(class_names)
        self.num_classes = len(self.class_names)
        self.size = size
        self.hflip = hflip

    def __len__(self):
        return len(self.items)

    def load(self, index):
        ipath, mpath = self.items[index]
        with Image.open(ipath) as im:
            image = np.asarray(im.convert("RGB").resize((self.size, self.size),
                                                          Image.BILINEAR)).copy()
        with Image.open(mpath) as m:
            if m.mode not in ("P", "L"):
                raise ValueError(f"{mpath}: class map must be a palette or grey PNG, "
                                 f"not {m.mode}")
            # Palette PNGs: the indices, not the colours.
            mask = np.asarray(m.resize((self.size, self.size), Image.NEAREST)).copy()
        bad = (mask >= self.num_classes) & (mask != IGNORE_INDEX)
        if bad.any():
            raise ValueError(f"{mpath}: class {int(mask[bad].max())} >= "
                             f"{self.num_classes} classes")
        return image, mask

    def raw(self, index):
        image, mask = self.load(index)
        return {"image": image, "classes": mask}

    def __getitem__(self, index):
        image, mask = self.load(index)
        if self.hflip and torch.rand(()) < 0.5:
            image, mask = image[:, ::-1], mask[:, ::-1]
        return to_tensor(image), torch.from_numpy(np.ascontiguousarray(mask).astype(np.int64))
