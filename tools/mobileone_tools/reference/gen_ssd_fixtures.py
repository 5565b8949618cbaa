"""Regenerates the SSDLite test fixtures in tests/data/ssd/ (and its README.md).

  /usr/bin/python3 -m mobileone_tools.reference.gen_ssd_fixtures [--out tests/data/ssd]

Deterministic (fixed seeds). One narrow model (backbone channels 8/8/8/16/32,
extras 24/16/16/8, 4 classes with background) at a wide odd size and at the
smallest square size SSDLite accepts (257x257: the six maps must shrink one
after the other), each post-processed by torchvision with several parameter
sets so that both of batched_nms's paths, the top-k cut, the max_detections
cut and an empty result are covered.
"""

import argparse
import glob
import os

from mobileone_tools import ROOT
from mobileone_tools.reference import make_ssd_case

MAX_BYTES = 1024 * 1024

CASE = dict(name="ssd", num_classes=4, width_multipliers=(0.125, 0.0625, 0.0625, 0.0625),
            k=1, extra_channels=(24, 16, 16, 8), sizes=[(263, 97), (257, 257)], seed=3,
            input_dtype="f16",
            yaml_params=dict(score_threshold=0.4, nms_iou_threshold=0.45,
                             topk_candidates=100, max_detections=50))

# (name, parameters overriding the YAML's): what each covers.
RUNS = [
    ("many", dict(score_threshold=0.2, nms_iou_threshold=0.5, topk_candidates=400,
                  max_detections=150)),     # > 1000 candidates at 257x257: per-class NMS
    ("few", dict(score_threshold=0.3, nms_iou_threshold=0.6, topk_candidates=20,
                 max_detections=5)),        # top-k cut and max_detections cut
    ("no-nms", dict(score_threshold=0.5, nms_iou_threshold=1.0, topk_candidates=50,
                    max_detections=300)),   # IoU > 1 never: nothing suppressed
    ("top", dict(score_threshold=0.8, nms_iou_threshold=0.5, topk_candidates=10,
                 max_detections=10)),       # few, well separated: engine outputs too
    ("empty", dict(score_threshold=0.99999)),  # every score below: no detection
]

PATTERNS = ("*.safetensors", "*.yaml", "*.npy", "*.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "ssd"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for pat in PATTERNS:
        for p in glob.glob(os.path.join(a.out, pat)):
            os.remove(p)
    c = dict(CASE)
    make_ssd_case.make_ssd_case(a.out, c.pop("name"), extra_runs=RUNS, **c)

    import json
    for w, h in CASE["sizes"]:
        doc = json.load(open(os.path.join(a.out, f"ssd-detections-{w}x{h}.json")))
        runs = {r["name"]: r for r in doc["runs"]}
        yaml, few, nonms = runs["yaml"], runs["few"], runs["no-nms"]
        if runs["empty"]["detections"] or not yaml["detections"]:
            raise SystemExit(f"{w}x{h}: the 'empty' run must be empty and 'yaml' not")
        if yaml["after_nms"] >= yaml["candidates"]:
            raise SystemExit(f"{w}x{h}: NMS suppressed nothing in 'yaml'")
        if nonms["after_nms"] != nonms["candidates"]:
            raise SystemExit(f"{w}x{h}: 'no-nms' suppressed something")
        if few["after_nms"] <= few["params"]["max_detections"] or few["candidates"] < 20:
            raise SystemExit(f"{w}x{h}: 'few' must cut at max_detections and top-k")
    big = json.load(open(os.path.join(a.out, "ssd-detections-257x257.json")))
    if next(r for r in big["runs"] if r["name"] == "many")["nms_path"] != "vanilla":
        raise SystemExit("257x257 'many' must take batched_nms's per-class path")

    files = sorted(os.path.basename(p) for pat in PATTERNS
                   for p in glob.glob(os.path.join(a.out, pat)))
    nbytes = sum(os.path.getsize(os.path.join(a.out, f)) for f in files)
    runs = "\n".join(f"  - `{n}`: " + ", ".join(f"{k} {v}" for k, v in p.items())
                     for n, p in RUNS)
    with open(os.path.join(a.out, "README.md"), "w") as f:
        f.write(f"""# SSDLite test fixtures (generated)

Written by `mobileone_tools.reference.gen_ssd_fixtures` with `make_ssd_case`
(PyTorch reference `tools/mobileone_tools/reference/ssdlite_ref.py`,
torchvision's anchors, box coder and post-processing); do not edit by hand.
Read by `tests/test-ssdlite.c`.

Model `ssd`: backbone width multipliers {CASE['width_multipliers']}, k = {CASE['k']},
tensor names under "backbone."; extras {CASE['extra_channels']}; {CASE['num_classes']}
classes (background at 0); 6 anchors per location; random weights and random BN
statistics (seed {CASE['seed']}), F32.

- `ssd-unfused.*`, `ssd-fused.*`: checkpoints and descriptions (YAML thresholds
  {CASE['yaml_params']}).
- `input-WxH.npy`: float16 [1, 3, H, W] network input (already normalised).
- `ssd-cls_logits-WxH.npy` [1, N, 4], `ssd-bbox_regression-WxH.npy` [1, N, 4]:
  float32, the unfused model in float64, torchvision's order.
- `ssd-detections-WxH.json`: torchvision's post-processing of exactly those
  arrays, run "yaml" with the YAML's thresholds and these others:
{runs}
  Each run records its candidate count, which batched_nms path torchvision took
  (more than 1000 candidates: per class) and its margins to the decision
  boundaries.

Sizes: {', '.join(f'{w}x{h}' for w, h in CASE['sizes'])}; {len(files)} files, {nbytes} bytes.
""")
    print(f"{len(files)} files, {nbytes} bytes")
    if nbytes >= MAX_BYTES:
        raise SystemExit(f"{a.out}: over the 1 MB budget")


if __name__ == "__main__":
    main()
