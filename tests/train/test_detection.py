#!/usr/bin/env python3
"""SSD anchors, matching, box coding, loss and post-processing against
torchvision's SSDLite320 conventions; mAP and mIoU on known cases.

Run: PYTHONPATH=tools python3 tests/train/test_detection.py   (exit 77 = skipped)
"""

import os
import sys

try:
    import numpy as np
    import torch
    import torchvision
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

from mobileone_tools.reference import ssdlite_ref as ssd
from mobileone_tools.train import datasets
from mobileone_tools.train import detection
from mobileone_tools.train import metrics
from mobileone_tools.train import models
from mobileone_tools.train import segment_ceiling
from mobileone_tools.train import trainer


def check_anchors():
    assert ssd.feature_map_sizes(320, 320) == [(20, 20), (10, 10), (5, 5), (3, 3),
                                               (2, 2), (1, 1)]
    a = ssd.default_boxes((320, 320))
    assert a.shape == (6 * (400 + 100 + 25 + 9 + 4 + 1), 4)
    # The boxes of the detector's own feature maps, a non-square size and
    # the shipped model's ratios included: feature_map_sizes rounds as the
    # network does.
    for (h, w), ratios in (((320, 320), (0.2, 0.95)), ((300, 400), (0.1, 0.95)),
                           ((97, 130), (0.2, 0.9)), ((320, 320), (0.05, 0.95))):
        m = models.build_detector(5, {"size": h, "min_ratio": ratios[0],
                                      "max_ratio": ratios[1]}).eval()
        x = torch.zeros(1, 3, h, w)
        with torch.no_grad():
            want = m.anchors(x, m.features(x))[0]
        got = ssd.default_boxes((h, w), min_ratio=ratios[0], max_ratio=ratios[1])
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-4), (h, w)


def check_model_outputs():
    torch.manual_seed(0)
    m = models.build_detector(5, {"size": 160}).eval()
    with torch.no_grad():
        cls, reg = m(torch.zeros(1, 3, 160, 160))
    anchors = ssd.default_boxes((160, 160))
    n = anchors.shape[0]
    assert cls.shape == (1, n, 5) and reg.shape == (1, n, 4), (cls.shape, reg.shape, n)
    # The reference module's own anchors are the same.
    x = torch.zeros(1, 3, 160, 160)
    with torch.no_grad():
        ref_anchors = m.anchors(x, m.features(x))[0]
    assert torch.allclose(anchors, ref_anchors, atol=1e-4)
    names = set(m.state_dict())
    for want in ("backbone.stage0.rbr_conv.0.conv.weight",
                 "backbone.stage4.1.rbr_conv.3.bn.running_var",
                 "extras.3.2.bn.weight", "extras.0.1.conv.weight",
                 "cls_head.5.0.conv.weight", "cls_head.0.1.bias", "reg_head.2.1.weight"):
        assert want in names, want
    assert not any(k.startswith("backbone.linear") for k in names)
    s = models.build_segmenter(5, {"size": 64})
    names = set(s.state_dict())
    for want in ("backbone.stage3.0.rbr_conv.3.conv.weight", "aspp.convs.0.conv.weight",
                 "aspp.convs.1.dw.conv.weight", "aspp.convs.3.pw.bn.running_mean",
                 "aspp.pool.conv.weight", "aspp.project.bn.bias", "head.conv.weight",
                 "classifier.bias"):
        assert want in names, want
    with torch.no_grad():
        assert s.eval()(torch.zeros(2, 3, 64, 48)).shape == (2, 5, 64, 48)


def check_matching_and_loss():
    anchors = ssd.default_boxes((320, 320))
    t = detection.SSDTargets(anchors)
    gt = torch.tensor([[10.0, 10.0, 74.0, 74.0], [200.0, 100.0, 212.0, 108.0],
                       [0.0, 0.0, 320.0, 320.0]])
    m = t.match(gt)
    iou = torchvision.ops.box_iou(gt, anchors)
    # Every GT owns at least its best anchor, and every match is IoU >= 0.5
    # or a best anchor.
    for g in range(3):
        assert m[iou[g].argmax()] == g
    fg = m >= 0
    best = set(iou.argmax(1).tolist())
    for a in torch.nonzero(fg).squeeze(1).tolist():
        assert iou[m[a], a] >= 0.5 or a in best
    assert (t.match(torch.zeros(0, 4)) == -1).all()

    # Perfect outputs (encoded GT, huge logit on the right class) cost ~0,
    # and post-processing gives the GT back.
    labels = torch.tensor([1, 3, 2])
    n = anchors.shape[0]
    cls = torch.zeros(1, n, 5)
    reg = torch.zeros(1, n, 4)
    cls[0, :, 0] = 20.0
    cls[0, fg, 0] = 0.0
    cls[0, fg, labels[m[fg]]] = 20.0
    reg[0, fg] = t.coder.encode_single(gt[m[fg]], anchors[fg])
    bbox, ce = t.loss(cls, reg, [{"boxes": gt, "labels": labels}])
    assert float(bbox) < 1e-6 and float(ce) < 1e-5, (float(bbox), float(ce))
    d = ssd.postprocess(cls, reg, [anchors], [(320, 320)], score_threshold=0.5)[0]
    got = sorted(zip(d["labels"].tolist(),
                     [tuple(round(v, 3) for v in b) for b in d["boxes"].tolist()]))
    want = sorted(zip(labels.tolist(), [tuple(b) for b in gt.tolist()]))
    assert got == want, (got, want)

    # Hard negatives: 3 per positive, the highest-loss background anchors.
    cls2 = torch.zeros(1, n, 5)
    cls2[0, :, 0] = 5.0
    hard = torch.nonzero(~fg).squeeze(1)[:100]
    cls2[0, hard, 0] = -5.0  # these background anchors look like objects
    _, ce2 = t.loss(cls2, reg, [{"boxes": gt, "labels": labels}])
    lsm = torch.log_softmax(cls2[0], -1)
    n_fg = int(fg.sum())
    fg_ce = -lsm[fg, labels[m[fg]]].sum()
    neg = -lsm[~fg, 0]
    want = (fg_ce + neg.topk(3 * n_fg).values.sum()) / n_fg
    assert torch.allclose(ce2, want, rtol=1e-5), (ce2, want)


def check_postprocess_vs_torchvision():
    """The reference's post-processing (the one every tool uses) gives a real
    torchvision SSDLite320's detections: its thresholds, top-k, detection
    count and box coder reach torchvision under the right names."""
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large
    torch.manual_seed(1)
    tvm = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None,
                                        num_classes=5, score_thresh=0.01,
                                        detections_per_img=50, topk_candidates=100,
                                        nms_thresh=0.55)
    anchors = ssd.default_boxes((320, 320))
    n = anchors.shape[0]
    cls = torch.randn(1, n, 5) * 3
    reg = torch.randn(1, n, 4) * 0.5
    want = tvm.postprocess_detections({"bbox_regression": reg, "cls_logits": cls},
                                      [anchors], [(320, 320)])[0]
    got = ssd.postprocess(cls, reg, [anchors], [(320, 320)], score_threshold=0.01,
                          nms_iou_threshold=0.55, topk_candidates=100,
                          max_detections=50, box_coder_weights=(10.0, 10.0, 5.0, 5.0))[0]
    assert len(want["labels"]) == 50
    assert torch.equal(got["labels"], want["labels"])
    assert torch.allclose(got["scores"], want["scores"])
    assert torch.allclose(got["boxes"], want["boxes"])


def check_map():
    gts = [(np.array([[0, 0, 10, 10], [20, 20, 40, 40]], np.float32), np.array([1, 2])),
           (np.array([[5, 5, 15, 15]], np.float32), np.array([1]))]
    perfect = [(g[0], np.ones(len(g[1])), g[1]) for g in gts]
    r = metrics.detection_map(perfect, gts, 3)
    assert abs(r["map50"] - 1) < 1e-9 and abs(r["map"] - 1) < 1e-9, r
    # The class-2 box at IoU 0.8: a hit at 0.5..0.8, a miss from 0.85 on.
    shifted = list(perfect)
    shifted[0] = (np.array([[0, 0, 10, 10], [20, 20, 36, 40]], np.float32),
                  np.ones(2), np.array([1, 2]))
    r = metrics.detection_map(shifted, gts, 3)
    assert abs(r["per_class_ap50"][2] - 1) < 1e-9
    assert abs(r["per_iou"][6] - 1) < 1e-9 and abs(r["per_iou"][7] - 0.5) < 1e-9, r
    # A false positive ranked first halves the precision at full recall.
    fp = [(np.array([[100, 100, 110, 110], [0, 0, 10, 10]], np.float32),
           np.array([0.9, 0.8]), np.array([1, 1])), (np.zeros((0, 4)), [], [])]
    r = metrics.detection_map(fp, [(np.array([[0, 0, 10, 10]], np.float32),
                                    np.array([1])), (np.zeros((0, 4)), np.array([]))], 2)
    assert abs(r["map50"] - 0.5) < 1e-9, r
    # Nothing detected: 0.
    r = metrics.detection_map([(np.zeros((0, 4)), [], [])] * 2, gts, 3)
    assert r["map50"] == 0.0

    cm = metrics.ConfusionMatrix(3)
    t = np.array([[0, 0, 1, 1], [2, 2, 255, 1]])
    p = np.array([[0, 1, 1, 1], [2, 0, 2, 1]])
    cm.update(t, p)
    # class 0: tp 1, fp 1, fn 1 -> 1/3; class 1: tp 3, fp 1 -> 3/4; class 2: 1/2
    assert np.allclose(cm.iou(), [1 / 3, 3 / 4, 1 / 2]), cm.iou()
    assert abs(cm.miou() - np.mean([1 / 3, 3 / 4, 1 / 2])) < 1e-12


def check_init_from_safetensors(tmp):
    """--init from an exported .safetensors restores every weight and BN
    statistic; a file that lacks a tensor is refused, naming the file."""
    from mobileone_tools.reference import st_io
    torch.manual_seed(3)
    src = models.build_detector(5)
    with torch.no_grad():
        for m in src.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    arrays = {k: v.numpy() for k, v in src.state_dict().items()
              if not k.endswith("num_batches_tracked")}
    path = os.path.join(tmp, "m.safetensors")
    st_io.save_file(arrays, path)
    torch.manual_seed(4)
    dst = models.build_detector(5)
    trainer.load_init(dst, path)
    for k, v in src.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(v, dst.state_dict()[k]), k
    del arrays[sorted(arrays)[0]]
    st_io.save_file(arrays, path)
    try:
        trainer.load_init(models.build_detector(5), path)
    except SystemExit as e:
        assert path in str(e) and "missing" in str(e), e
    else:
        raise AssertionError("a file without a tensor was accepted")


def _random_bn(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) * 2 - 1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)


def check_reanchor():
    """reanchor_regression: weights trained for one set of anchors, re-expressed
    for another, decode every anchor to the same box (random weights, random
    BatchNorm statistics, random regression biases); the class scores do not
    change. Done on a copy of the weights, not on the code's own output."""
    from torchvision.models.detection._utils import BoxCoder
    from mobileone_tools.train import train_detect  # noqa: F401 (imports cleanly)
    torch.manual_seed(5)
    size, old, new = 160, (0.1, 0.95), (0.05, 0.9)
    a = models.build_detector(5, {"size": size, "min_ratio": old[0], "max_ratio": old[1]})
    _random_bn(a, 6)
    a.eval()
    x = torch.rand(2, 3, size, size)
    with torch.no_grad():
        # Random BN statistics make the features huge: scale each map's last
        # regression conv so its outputs are O(1), as a trained head's are
        # (decoding clamps log-sizes beyond log(1000 / 16)).
        for head, f in zip(a.reg_head, a.features(x)):
            y = torch.nn.functional.conv2d(head[0](f), head[1].weight)
            head[1].weight /= y.abs().max()
            head[1].bias.uniform_(-2, 2)
    b = models.build_detector(5, {"size": size, "min_ratio": new[0], "max_ratio": new[1]})
    b.load_state_dict(a.state_dict())
    ratios = detection.reanchor_regression(b, size, [2, 3], old, new)
    assert abs(ratios[0][0] - 2.0) < 1e-6, ratios[0]  # 0.1 / 0.05
    b.eval()
    with torch.no_grad():
        ca, ra = a(x)
        cb, rb = b(x)
    assert torch.equal(ca, cb)
    assert (ra - rb).abs().max() > 0.1  # the encoding did change
    coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
    for i in range(2):
        ba = coder.decode_single(ra[i], ssd.default_boxes((size, size), [2, 3], *old))
        bb = coder.decode_single(rb[i], ssd.default_boxes((size, size), [2, 3], *new))
        err = float((ba - bb).abs().max())
        assert err < 1e-3, f"boxes differ by {err} px"


def check_freeze_backbone():
    """--freeze-backbone: in train mode the backbone computes what the unfused
    backbone computes in eval mode (its fused form, within 1e-4 relative),
    its BatchNorm statistics do not move, it gets no gradient, and the heads
    and extras still do."""
    from mobileone_tools.train import train_detect
    torch.manual_seed(7)
    m = models.build_detector(5, {"size": 96})
    _random_bn(m, 8)
    ref_model = models.build_detector(5, {"size": 96})
    ref_model.load_state_dict(m.state_dict())
    ref_model.eval()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    train_detect.freeze_backbone(m)
    m.train()
    assert m.cls_head.training and not m.backbone.training
    x = torch.rand(2, 3, 96, 96)
    got = m.features(x)
    with torch.no_grad():
        want = ref_model.features(x)
    for g, w in zip(got[:2], want[:2]):
        err = float((g - w).abs().max() / w.abs().max())
        assert err < 1e-4, err
    cls, reg = m(x)
    (cls.square().mean() + reg.square().mean()).backward()
    for k, p in m.named_parameters():
        if k.startswith("backbone."):
            assert not p.requires_grad and p.grad is None, k
        else:
            assert p.grad is not None, k
    for k, v in m.state_dict().items():
        if k.startswith("backbone."):
            assert torch.equal(v, before[k]), k
    assert set(m.state_dict()) == set(before)  # saved and exported unfused


def check_segment_ceiling():
    """segment_ceiling.py: at stride 1 the ideal head is the ground truth;
    coarser strides can only lose (small shapes and edges blur)."""
    ds = datasets.ShapesSegmentation("val", 4, 96)
    got = [segment_ceiling.ceiling(ds, s) for s in (1, 4, 16)]
    assert got[0].miou() == 1.0 and got[0].pixel_accuracy() == 1.0, got[0].mat
    assert 1.0 > got[1].miou() > got[2].miou() > 0.2, [g.miou() for g in got]


def main():
    torch.set_num_threads(1)
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        check_init_from_safetensors(tmp)
    check_anchors()
    check_reanchor()
    check_freeze_backbone()
    check_model_outputs()
    check_matching_and_loss()
    check_postprocess_vs_torchvision()
    check_map()
    check_segment_ceiling()
    print("test_detection: OK")


if __name__ == "__main__":
    main()
