"""SSD anchors, target assignment, losses and post-processing, following
torchvision's SSDLite320 (shared/SPEC.md "SSDLite"):

  anchors      torchvision DefaultBoxGenerator([[2, 3]] * 6, min_ratio 0.2,
               max_ratio 0.95): 6 per location, xyxy in input pixels
  matching     an anchor takes the ground truth it overlaps most if IoU >= 0.5;
               every ground truth also takes its best anchor (SSDMatcher)
  box coding   BoxCoder weights (10, 10, 5, 5)
  loss         smooth-L1 (beta 1) on the encoded boxes of matched anchors, plus
               softmax cross-entropy on matched anchors and on the 3x as many
               background anchors with the highest loss (hard negatives),
               both divided by the number of matched anchors
  post-process softmax; per class score > threshold, top-k; clip to the
               image; class-wise NMS; the best max_detections
"""

import math

import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection._utils import BoxCoder
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator


def feature_map_sizes(height, width, num_maps=6):
    """(h, w) of SSDLite's maps: stage3 (stride 16), stage4 (32), then each
    extra block halves again (3x3, stride 2, padding 1 => ceil(n / 2))."""
    sizes, h, w = [], height, width
    for i in range(4 + num_maps - 1):
        h, w = math.ceil(h / 2), math.ceil(w / 2)
        if i >= 3:
            sizes.append((h, w))
    return sizes


def make_anchors(height, width, aspect_ratios=(2, 3), min_ratio=0.2, max_ratio=0.95,
                 num_maps=6):
    """[N, 4] anchors (x_min, y_min, x_max, y_max in pixels) in the order of the
    heads' outputs."""
    gen = DefaultBoxGenerator([list(aspect_ratios)] * num_maps, min_ratio, max_ratio)
    boxes = gen._grid_default_boxes(feature_map_sizes(height, width, num_maps),
                                    [height, width], dtype=torch.float32)
    xy = torch.tensor([width, height], dtype=torch.float32)
    return torch.cat([(boxes[:, :2] - 0.5 * boxes[:, 2:]) * xy,
                      (boxes[:, :2] + 0.5 * boxes[:, 2:]) * xy], 1)


class SSDTargets:
    def __init__(self, anchors, box_coder_weights=(10.0, 10.0, 5.0, 5.0), iou_threshold=0.5):
        self.anchors = anchors
        self.coder = BoxCoder(weights=tuple(float(w) for w in box_coder_weights))
        self.iou_threshold = iou_threshold

    def to(self, device):
        self.anchors = self.anchors.to(device)
        return self

    def match(self, gt_boxes):
        """Index of the ground truth of each anchor, -1 for background."""
        n = self.anchors.shape[0]
        if gt_boxes.numel() == 0:
            return torch.full((n,), -1, dtype=torch.int64, device=self.anchors.device)
        iou = torchvision.ops.box_iou(gt_boxes, self.anchors)  # [G, N]
        best_iou, matches = iou.max(0)
        matches[best_iou < self.iou_threshold] = -1
        # Each ground truth keeps its best anchor even below the threshold
        # (a later GT wins a shared anchor, as in torchvision's SSDMatcher).
        best_anchor = iou.argmax(1)
        matches[best_anchor] = torch.arange(gt_boxes.shape[0], device=matches.device)
        return matches

    def loss(self, cls_logits, bbox_regression, targets, neg_pos_ratio=3):
        """Returns (bbox_loss, cls_loss), each normalised by the number of
        matched anchors in the batch (at least 1)."""
        b, n, _ = cls_logits.shape
        cls_t = torch.zeros((b, n), dtype=torch.int64, device=cls_logits.device)
        reg_losses = []
        num_fg = 0
        for i, t in enumerate(targets):
            gt_boxes, gt_labels = t["boxes"], t["labels"]
            m = self.match(gt_boxes)
            fg = torch.nonzero(m >= 0).squeeze(1)
            num_fg += fg.numel()
            if fg.numel():
                cls_t[i, fg] = gt_labels[m[fg]]
                enc = self.coder.encode_single(gt_boxes[m[fg]], self.anchors[fg])
                reg_losses.append(F.smooth_l1_loss(bbox_regression[i, fg], enc,
                                                   reduction="sum"))
        denom = max(num_fg, 1)
        bbox_loss = (torch.stack(reg_losses).sum() if reg_losses
                     else bbox_regression.sum() * 0.0) / denom

        ce = F.cross_entropy(cls_logits.reshape(-1, cls_logits.shape[-1]),
                             cls_t.reshape(-1), reduction="none").view(b, n)
        fg_mask = cls_t > 0
        # Hard negatives: the 3 x num_fg(image) background anchors of highest loss.
        num_neg = neg_pos_ratio * fg_mask.sum(1, keepdim=True)
        neg_ce = ce.clone()
        neg_ce[fg_mask] = -float("inf")
        _, idx = neg_ce.sort(1, descending=True)
        _, rank = idx.sort(1)
        bg_mask = rank < num_neg
        cls_loss = (ce[fg_mask].sum() + ce[bg_mask].sum()) / denom
        return bbox_loss, cls_loss


@torch.no_grad()
def postprocess(cls_logits, bbox_regression, anchors, image_size, coder=None,
                score_threshold=0.001, nms_iou_threshold=0.55, topk_candidates=300,
                max_detections=100):
    """torchvision SSD.postprocess_detections on raw outputs of one image
    ([N, C], [N, 4]). Returns (boxes [K, 4], scores [K], labels [K]) sorted
    by score, boxes in input pixels."""
    coder = coder or BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
    h, w = image_size
    boxes = coder.decode_single(bbox_regression, anchors)
    boxes = torchvision.ops.clip_boxes_to_image(boxes, (h, w))
    scores = F.softmax(cls_logits, -1)
    out_b, out_s, out_l = [], [], []
    for c in range(1, scores.shape[-1]):
        s = scores[:, c]
        keep = s > score_threshold
        s, b = s[keep], boxes[keep]
        k = min(topk_candidates, s.numel())
        s, idx = s.topk(k)
        out_b.append(b[idx])
        out_s.append(s)
        out_l.append(torch.full_like(s, c, dtype=torch.int64))
    b, s, lab = torch.cat(out_b), torch.cat(out_s), torch.cat(out_l)
    keep = torchvision.ops.batched_nms(b, s, lab, nms_iou_threshold)[:max_detections]
    return b[keep], s[keep], lab[keep]
