#!/usr/bin/env python3
"""The synthetic shapes data set: deterministic from its seed; boxes, class
maps and instance maps consistent with each other.

Run: PYTHONPATH=tools python3 tests/train/test_shapes.py   (exit 77 = skipped)
"""

import sys

try:
    import numpy as np
    from PIL import Image  # noqa: F401
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

from mobileone_tools.train import shapes

N = 40


def check_determinism():
    a = shapes.ShapesScenes("train", N)
    b = shapes.ShapesScenes("train", N)
    # Random access in a different order gives the same scenes.
    for i in reversed(range(0, N, 7)):
        sa, sb = a[i], b[i]
        for k in sa:
            assert np.array_equal(sa[k], sb[k]), f"scene {i}: {k} differs between runs"
    v = shapes.ShapesScenes("val", N)
    assert shapes.SPLIT_SEEDS["train"] != shapes.SPLIT_SEEDS["val"]
    same = sum(np.array_equal(a[i]["image"], v[i]["image"]) for i in range(5))
    assert same == 0, "train and val splits share scenes"
    other = shapes.ShapesScenes("train", N, seed=123)
    assert not np.array_equal(a[3]["image"], other[3]["image"])


def check_consistency(split, width, height, **options):
    scenes = shapes.ShapesScenes(split, N, width, height, **options)
    nboxes, seen_labels, balls = 0, set(), 0
    for i in range(N):
        s = scenes[i]
        img, cls, inst = s["image"], s["classes"], s["instances"]
        boxes, labels, ids = s["boxes"], s["labels"], s["box_instances"]
        assert img.shape == (height, width, 3) and img.dtype == np.uint8
        assert cls.shape == (height, width) and inst.shape == (height, width)
        assert boxes.shape == (len(labels), 4) and len(ids) == len(labels)
        assert cls.max() < len(shapes.CLASSES)
        assert ((cls == 0) == (inst == 0)).all(), f"scene {i}: class and instance maps differ"
        assert len(set(ids.tolist())) == len(ids)
        for (x0, y0, x1, y1), lab, iid in zip(boxes, labels, ids):
            assert 1 <= lab < len(shapes.CLASSES)
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, (i, x0, y0, x1, y1)
            m = inst == iid
            ys, xs = np.nonzero(m)
            # The box is exactly the extent of the visible pixels of its object...
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x0, y0, x1, y1), i
            # ...which all carry the box's class.
            assert (cls[m] == lab).all(), f"scene {i}: box class {lab} vs class map"
            assert m.sum() >= shapes.MIN_VISIBLE_PIXELS
            nboxes += 1
            seen_labels.add(int(lab))
        # An instance without a box is an almost hidden one, never a big blob.
        for iid in set(np.unique(inst).tolist()) - {0} - set(ids.tolist()):
            assert (inst == iid).sum() < 0.2 * width * height
        balls += int(any(lab == 1 for lab in labels))
    assert nboxes > N, f"only {nboxes} boxes in {N} scenes"
    assert seen_labels == set(range(1, len(shapes.CLASSES))), seen_labels
    assert balls > 0


def check_sizes():
    # Sizes span 8..200 px: look at the largest box side of every box.
    scenes = shapes.ShapesScenes("train", N)
    sides = np.concatenate([np.maximum(s["boxes"][:, 2] - s["boxes"][:, 0],
                                       s["boxes"][:, 3] - s["boxes"][:, 1])
                            for s in (scenes[i] for i in range(N))])
    assert sides.min() <= 14 and sides.max() >= 120, (sides.min(), sides.max())


def check_small_objects():
    """--small-ball-prob / --small-prob at 1: every ball 5..15 px in radius,
    every other object 8..32 px across; at 0 the options draw the same scenes
    as before they existed (the splits the shipped models saw are unchanged)."""
    plain = shapes.ShapesScenes("train", 6)
    zero = shapes.ShapesScenes("train", 6, small_ball_prob=0.0, small_prob=0.0)
    for i in range(6):
        for k, v in plain[i].items():
            assert np.array_equal(v, zero[i][k]), (i, k)
    small = shapes.ShapesScenes("train", N, ball_prob=1.0, small_ball_prob=1.0,
                                small_prob=1.0)
    sides = np.concatenate([np.maximum(s["boxes"][:, 2] - s["boxes"][:, 0],
                                       s["boxes"][:, 3] - s["boxes"][:, 1])
                            for s in (small[i] for i in range(N))])
    # balls: 2 x 15 x sqrt(16/9) x 1.05 + the 2 px ramp on both sides = 46;
    # other objects: 32 x e^0.3 (their aspect) + anti-aliasing = 45.
    assert len(sides) > N and sides.max() <= 46, (len(sides), sides.max())


def check_labels_and_cache(tmp):
    text = shapes.labels_text()
    assert text.splitlines()[0] == "background"
    assert text.splitlines()[1:] == list(shapes.CLASSES[1:])
    cached = shapes.ShapesScenes("val", 3, cache_dir=tmp)
    plain = shapes.ShapesScenes("val", 3)
    for _ in range(2):  # written, then read back
        for k, v in cached[2].items():
            assert np.array_equal(v, plain[2][k]), k


def main():
    import tempfile
    check_determinism()
    check_consistency("train", 320, 320)
    check_consistency("val", 200, 120)
    check_sizes()
    check_small_objects()
    check_consistency("train", 320, 320, ball_prob=0.8, small_ball_prob=0.5, small_prob=0.5)
    with tempfile.TemporaryDirectory() as tmp:
        check_labels_and_cache(tmp)
    print("test_shapes: OK")


if __name__ == "__main__":
    main()
