#!/bin/sh
# The README's main job: a GStreamer pipeline classifies a photo with Apple's
# MobileOne-S0 (../shared/weights-ref), draws the label and writes
# mobileone-demo.png; then the engine's summary and speed.
# usage: tools/demo.sh BUILD_DIR
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
cli="$build/mobileone/mobileone-cli"
shared="$top/../shared"
export GST_PLUGIN_PATH="$build/gst"
out="$PWD/mobileone-demo.png"

model="$shared/weights-ref/mobileone-s0-imagenet.yaml"
photo="$shared/data/coco128-seg/images/train2017/000000000036.jpg"
if [ -f "$model" ] && [ -f "$photo" ]; then
  gst-launch-1.0 -q filesrc location="$photo" ! jpegdec ! videoconvert \
    ! mobileoneclassify model="$model" ! mobileoneoverlay ! videoconvert \
    ! pngenc ! filesink location="$out"
else
  echo "(../shared is absent: a random-weight test model on a test pattern)"
  model=$(ls "$top"/tests/data/k1-fused.yaml)
  gst-launch-1.0 -q videotestsrc num-buffers=1 ! video/x-raw,width=320,height=240 \
    ! mobileoneclassify model="$model" ! mobileoneoverlay ! videoconvert \
    ! pngenc ! filesink location="$out"
fi
echo "wrote $out (open it: the class and its confidence are drawn top left)"
"$cli" info "$model" | sed -n '1,12p'
"$cli" bench "$model" --iterations 20 --threads 0 | sed -n '1,2p'
