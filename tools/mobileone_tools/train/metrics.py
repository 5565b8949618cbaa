"""Detection mAP (COCO-style, 101-point interpolation) and segmentation mIoU,
in numpy, so that the PyTorch model and the C engine are scored by the same
code.

Detection: for each class and IoU threshold, detections of all images are
sorted by score and greedily matched (highest-IoU still unmatched ground
truth of that class in the same image, IoU >= threshold), as pycocotools
does without crowd regions or area ranges. AP is the mean of the
interpolated precision at recall 0, 0.01, ..., 1; mAP the mean over the
classes that have ground truth; mAP@[.5:.95] the mean over IoU 0.5..0.95.
"""

import numpy as np

COCO_IOUS = np.round(np.arange(0.5, 0.951, 0.05), 2)


def box_iou(a, b):
    """IoU matrix of boxes a [N, 4] and b [M, 4] (x_min, y_min, x_max, y_max)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _ap_101(tp, n_gt):
    """Average precision from the tp flags of score-sorted detections."""
    if n_gt == 0:
        return float("nan")
    if len(tp) == 0:
        return 0.0
    tps = np.cumsum(tp)
    fps = np.cumsum(1 - tp)
    recall = tps / n_gt
    precision = tps / np.maximum(tps + fps, 1e-12)
    # Monotone (non-increasing from the right) precision envelope.
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    rs = np.linspace(0, 1, 101)
    idx = np.searchsorted(recall, rs, side="left")
    return float(np.mean([precision[i] if i < len(precision) else 0.0 for i in idx]))


def detection_map(predictions, ground_truths, num_classes, iou_thresholds=COCO_IOUS):
    """predictions: per image (boxes [K, 4], scores [K], labels [K]);
    ground_truths: per image (boxes [G, 4], labels [G]); labels 1..num_classes-1.
    Returns {"map50": .., "map": .. (mean over iou_thresholds), "per_class_ap50":
    {label: ap}, "per_iou": [..]}."""
    assert len(predictions) == len(ground_truths)
    ious_t = np.asarray(iou_thresholds, np.float64)
    ap = np.full((len(ious_t), num_classes), np.nan)
    for c in range(1, num_classes):
        dets = []  # (score, image, box)
        gts = {}
        n_gt = 0
        for i, ((pb, ps, pl), (gb, gl)) in enumerate(zip(predictions, ground_truths)):
            pb, ps, pl = np.asarray(pb).reshape(-1, 4), np.asarray(ps), np.asarray(pl)
            gb, gl = np.asarray(gb).reshape(-1, 4), np.asarray(gl)
            sel = pl == c
            for b, s in zip(pb[sel], ps[sel]):
                dets.append((float(s), i, b))
            g = gb[gl == c]
            if len(g):
                gts[i] = g
                n_gt += len(g)
        if n_gt == 0:
            continue
        # Stable sort by score, highest first (ties keep image order, as COCO).
        order = sorted(range(len(dets)), key=lambda k: -dets[k][0])
        dets = [dets[k] for k in order]
        iou_cache = {}
        for t_i, thr in enumerate(ious_t):
            used = {i: np.zeros(len(g), bool) for i, g in gts.items()}
            tp = np.zeros(len(dets))
            for k, (_, i, b) in enumerate(dets):
                if i not in gts:
                    continue
                if k not in iou_cache:
                    iou_cache[k] = box_iou(b[None], gts[i])[0]
                iou = np.where(used[i], -1.0, iou_cache[k])
                j = int(np.argmax(iou))
                if iou[j] >= thr - 1e-12:
                    used[i][j] = True
                    tp[k] = 1
            ap[t_i, c] = _ap_101(tp, n_gt)
    valid = ~np.isnan(ap[0])
    per_iou = [float(np.mean(ap[t][valid])) if valid.any() else 0.0
               for t in range(len(ious_t))]
    i50 = int(np.argmin(np.abs(ious_t - 0.5)))
    return {
        "map50": per_iou[i50],
        "map": float(np.mean(per_iou)),
        "per_iou": per_iou,
        "per_class_ap50": {c: float(ap[i50, c]) for c in range(1, num_classes)
                           if valid[c]},
    }


class ConfusionMatrix:
    """Accumulates a confusion matrix; ignore_index pixels are skipped."""

    def __init__(self, num_classes, ignore_index=255):
        self.n = num_classes
        self.ignore_index = ignore_index
        self.mat = np.zeros((num_classes, num_classes), np.int64)

    def update(self, target, pred):
        t = np.asarray(target).reshape(-1).astype(np.int64)
        p = np.asarray(pred).reshape(-1).astype(np.int64)
        keep = t != self.ignore_index
        t, p = t[keep], p[keep]
        if len(t) and (t.max() >= self.n or p.max() >= self.n or p.min() < 0):
            raise ValueError("class index out of range")
        self.mat += np.bincount(t * self.n + p, minlength=self.n * self.n).reshape(
            self.n, self.n)

    def iou(self):
        inter = np.diag(self.mat).astype(np.float64)
        union = self.mat.sum(0) + self.mat.sum(1) - np.diag(self.mat)
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)

    def miou(self):
        """Mean IoU over the classes present in the targets or predictions."""
        iou = self.iou()
        return float(np.nanmean(iou)) if not np.isnan(iou).all() else 0.0

    def pixel_accuracy(self):
        return float(np.diag(self.mat).sum() / max(self.mat.sum(), 1))
