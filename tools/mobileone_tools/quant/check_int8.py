"""Accuracy of the int8 engine against its float32 self on real pictures
(docs/int8.md): Apple's MobileOne-S0 from ../shared/weights-ref, calibrated
on the first --calibrate COCO photos of ../shared/data (sorted by name) and
evaluated on the others (a disjoint set) and the Debian photos, through
`mobileone-cli calibrate` and `mobileone-cli image` (decode, resize the
short side to 256, centre-crop 224, normalise).

Prints top-1 agreement and the mean top-5 overlap; exits 1 when the
agreement is below --min-top1 or the overlap below --min-top5, 77 (skip)
when the weights or the photos are absent.

  python3 -m mobileone_tools.quant.check_int8 --cli build/cli/mobileone-cli \\
      --shared ../shared --workdir /tmp/int8 [--min-top1 0.95]

With --int8-weights W.safetensors (fused S0 weights, e.g. qat.py's), the
int8 side runs (and is calibrated with) those weights instead, still
compared with Apple's original fp32 model; the float W's agreement with
the original is printed too.
"""
import argparse
import os
import sys

from mobileone_tools import cli as mo_cli

DEBIAN_PHOTOS = [
    "/usr/lib/python3/dist-packages/skimage/data/chelsea.png",
    "/usr/lib/python3/dist-packages/skimage/data/coffee.png",
    "/usr/share/doc/opencv-doc/examples/data/squirrel_cls.jpg",
    "/usr/share/doc/opencv-doc/examples/data/orange.jpg",
]


def top5(cli, model, picture, precision, threads):
    p = mo_cli.run(cli, ["image", model, picture, "--allow-external-paths",
                         "--precision", precision, "--threads", str(threads)],
                   timeout=120)
    return [int(line.split()[0]) for line in p.stdout.strip().splitlines()[:5]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", default=mo_cli.default_path())
    ap.add_argument("--shared", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--calibrate", type=int, default=32,
                    help="COCO photos (first by name) to calibrate on")
    ap.add_argument("--limit", type=int, default=0,
                    help="evaluate at most this many photos (0: all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--statistic", default=None,
                    help="calibrate's --statistic (default: its default)")
    ap.add_argument("--no-bias-correction", action="store_true",
                    help="calibrate with --no-bias-correction")
    ap.add_argument("--no-equalisation", action="store_true",
                    help="calibrate with --no-equalisation")
    ap.add_argument("--int8-weights", default=None,
                    help="fused S0 weights (safetensors) for the int8 side")
    ap.add_argument("--min-top1", type=float, default=0.0)
    ap.add_argument("--min-top5", type=float, default=0.0)
    args = ap.parse_args()

    shared = os.path.abspath(args.shared)
    wdir = os.path.join(shared, "weights-ref")
    photos_dir = os.path.join(shared, "data", "coco128-seg", "images", "train2017")
    model_src = os.path.join(wdir, "mobileone-s0-imagenet.yaml")
    if not os.path.exists(model_src) or not os.path.isdir(photos_dir):
        print("SKIP: %s or %s is absent" % (model_src, photos_dir))
        return 77
    mo_cli.check_executable(args.cli)
    photos = sorted(f for f in os.listdir(photos_dir)
                    if f.lower().endswith((".jpg", ".jpeg", ".png")))
    cal, held_out = photos[:args.calibrate], photos[args.calibrate:]

    os.makedirs(args.workdir, exist_ok=True)
    cal_dir = os.path.join(args.workdir, "calibration")
    os.makedirs(cal_dir, exist_ok=True)
    for f in os.listdir(cal_dir):
        os.unlink(os.path.join(cal_dir, f))
    for f in cal:
        os.symlink(os.path.join(photos_dir, f), os.path.join(cal_dir, f))

    # A copy of the description naming the shared weights, in the workdir
    # (../shared is never written), with the int8 keys.
    lines = []
    for line in open(model_src):
        key = line.split(":")[0]
        if key == "weights":
            line = "weights: %s\n" % os.path.join(os.path.abspath(wdir),
                                                  line.split(":", 1)[1].strip())
        elif key == "labels":
            line = "labels: %s\n" % os.path.join(os.path.abspath(wdir),
                                                 line.split(":", 1)[1].strip())
        lines.append(line)
    lines += ["precision: int8\n", "int8_scales: s0-int8-scales.safetensors\n"]
    model = os.path.join(args.workdir, "s0.yaml")
    with open(model, "w") as f:
        f.writelines(lines)
    model_i8 = model
    if args.int8_weights:
        if not os.path.exists(args.int8_weights):
            print("error: --int8-weights %s does not exist" % args.int8_weights)
            return 2
        model_i8 = os.path.join(args.workdir, "s0-int8-weights.yaml")
        with open(model_i8, "w") as f:
            for line in lines:
                key = line.split(":")[0]
                if key == "weights":
                    line = "weights: %s\n" % os.path.abspath(args.int8_weights)
                elif key == "int8_scales":
                    line = "int8_scales: s0-int8-weights-int8-scales.safetensors\n"  # calibrate names it so
                f.write(line)
    cal_args = ["calibrate", model_i8, "--images", cal_dir, "--allow-external-paths"]
    if args.statistic:
        cal_args += ["--statistic", args.statistic]
    if args.no_bias_correction:
        cal_args += ["--no-bias-correction"]
    if args.no_equalisation:
        cal_args += ["--no-equalisation"]
    p = mo_cli.run(args.cli, cal_args, timeout=600)
    print(p.stdout.strip().splitlines()[0])

    evals = [os.path.join(photos_dir, f) for f in held_out]
    evals += [p for p in DEBIAN_PHOTOS if os.path.exists(p)]
    if args.limit:
        evals = evals[:args.limit]
    agree = 0
    overlap = 0.0
    f_agree = 0
    for pic in evals:
        f32 = top5(args.cli, model, pic, "fp32", args.threads)
        i8 = top5(args.cli, model_i8, pic, "auto", args.threads)
        if model_i8 != model:
            f_agree += top5(args.cli, model_i8, pic, "fp32", args.threads)[0] == f32[0]
        agree += f32[0] == i8[0]
        overlap += len(set(f32) & set(i8)) / 5.0
        if f32[0] != i8[0]:
            print("differs: %s fp32 %s int8 %s" % (os.path.basename(pic), f32, i8))
    n = len(evals)
    top1, top5o = agree / n, overlap / n
    print("pictures: %d calibration, %d evaluated" % (len(cal), n))
    print("top-1 agreement with fp32: %d/%d = %.1f %%" % (agree, n, 100 * top1))
    print("top-5 overlap with fp32: %.1f %%" % (100 * top5o))
    if model_i8 != model:
        print("the --int8-weights model in fp32, top-1 agreement with the original fp32: "
              "%d/%d = %.1f %%" % (f_agree, n, 100.0 * f_agree / n))
    ok = top1 >= args.min_top1 and top5o >= args.min_top5
    if not ok:
        print("FAIL: below the floor (top-1 %.3f, top-5 %.3f)" % (args.min_top1, args.min_top5))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
