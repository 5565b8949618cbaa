"""SSD target assignment and losses for training, following torchvision's
SSDLite320 (shared/SPEC.md "SSDLite"). Anchors and post-processing are the
reference's (reference/ssdlite_ref.py: default_boxes, postprocess), which
are torchvision's own code:

  matching     an anchor takes the ground truth it overlaps most if IoU >= 0.5;
               every ground truth also takes its best anchor (SSDMatcher)
  box coding   BoxCoder weights (10, 10, 5, 5)
  loss         smooth-L1 (beta 1) on the encoded boxes of matched anchors, plus
               softmax cross-entropy on matched anchors and on the 3x as many
               background anchors with the highest loss (hard negatives),
               both divided by the number of matched anchors
"""

import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection._utils import BoxCoder


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


def reanchor_regression(model, size, aspect_ratios, old_ratios, new_ratios,
                        box_coder_weights=(10.0, 10.0, 5.0, 5.0)):
    """Re-expresses @model's box regression, trained for the anchors of
    (min_ratio, max_ratio) @old_ratios, for the anchors of @new_ratios, so that
    every anchor decodes to the same box as before: for an anchor whose width
    goes from w_o to w_n, the x offset (encoded relative to the width) is
    scaled by w_o / w_n and the log-width gains (wx_w) * ln(w_o / w_n); the same
    for y and the height. The anchors' centres do not depend on the scales, so
    this is exact up to float rounding (tested). Each map's last regression conv
    is 1x1 with a bias, its outputs ordered (anchor, dx dy dw dh) as
    ssdlite_ref's _flatten reads them. Returns the width ratios per map."""
    from mobileone_tools.reference import ssdlite_ref
    old = ssdlite_ref.default_boxes((size, size), aspect_ratios, *old_ratios).double()
    new = ssdlite_ref.default_boxes((size, size), aspect_ratios, *new_ratios).double()
    a = model.num_anchors
    _, _, ww, wh = (float(w) for w in box_coder_weights)
    start, ratios = 0, []
    for j, (fh, fw) in enumerate(ssdlite_ref.feature_map_sizes(size, size)):
        o, n = old[start:start + a], new[start:start + a]  # the first location
        rw = (o[:, 2] - o[:, 0]) / (n[:, 2] - n[:, 0])
        rh = (o[:, 3] - o[:, 1]) / (n[:, 3] - n[:, 1])
        conv = model.reg_head[j][1]
        with torch.no_grad():
            w = conv.weight.double().view(a, 4, -1)
            b = conv.bias.double().view(a, 4)
            w[:, 0] *= rw[:, None]
            b[:, 0] *= rw
            w[:, 1] *= rh[:, None]
            b[:, 1] *= rh
            b[:, 2] += ww * torch.log(rw)
            b[:, 3] += wh * torch.log(rh)
            conv.weight.copy_(w.view_as(conv.weight))
            conv.bias.copy_(b.view_as(conv.bias))
        ratios.append(rw.tolist())
        start += fh * fw * a
    return ratios
