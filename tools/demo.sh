#!/bin/sh
# The README's main job: classify a picture with MobileOne-S0.
# usage: tools/demo.sh BUILD_DIR
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cli="$build/mobileone/mobileone-cli"
shared="$top/../shared/weights-ref"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if [ -f "$shared/mobileone-s0-imagenet.yaml" ]; then
  model="$shared/mobileone-s0-imagenet.yaml"
  # apple.bin: a photo of an apple, preprocessed as ImageNet wants.
  python3 - "$shared/mobileone-awkrail/apple.bin" "$out/x.npy" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }"
hdr += " " * (-(len(hdr) + 11) % 64) + "\n"
open(sys.argv[2], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + raw)
PY
  input="$out/x.npy"
else
  echo "(../shared/weights-ref is absent: running a random-weight test model)"
  model=$(ls "$top"/tests/data/*-fused.yaml | head -n 1)
  input=$(ls "$top"/tests/data/input-*.npy | head -n 1)
fi
"$cli" info "$model" | sed -n '1,12p'
echo "--- top-5 classes ---"
"$cli" run "$model" --input "$input" --output-dir "$out/result"
"$cli" bench "$model" --iterations 20 --threads 0
