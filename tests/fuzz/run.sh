#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan), replays the committed
# corpus and every reproducer, then fuzzes each target for a while from
# seeds made of the test fixtures. docs/security.md says how to run longer.
#
# usage: tests/fuzz/run.sh [SECONDS_PER_TARGET (default 15)] [BUILD_DIR (default build-fuzz)]
#   FUZZ_TARGETS="yaml model" limits the targets; FUZZ_JOBS=N runs N
#   fuzzing processes per target (libFuzzer -jobs/-workers).
# A crash leaves its input in BUILD_DIR/artifacts/: fix the bug, then commit
# the input as tests/fuzz/reproducers/TARGET-what-it-is.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-15}
build=${2:-build-fuzz}
targets=${FUZZ_TARGETS:-safetensors yaml npy model}
jobs=${FUZZ_JOBS:-1}

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzzing=true -Dgst=disabled \
    -Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false >/dev/null
fi
ninja -C "$build" $(for t in $targets; do echo tests/fuzz/fuzz-$t; done) >/dev/null

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp

# Seeds from the fixtures (not committed twice): the model target takes a
# 4-byte little-endian YAML length, the YAML, then the weights.
seeds=$build/fuzz-seeds
rm -rf "$seeds"
mkdir -p "$seeds"/{safetensors,yaml,npy,model}
cp tests/data/k1-fused.safetensors tests/data/k3-fused.safetensors \
  tests/data/bf16-fused.safetensors "$seeds/safetensors/"
cp tests/data/*.yaml tests/data/ssd/*.yaml tests/data/deeplab/*.yaml models/*.yaml \
  "$seeds/yaml/"
cp tests/data/*-logits-31x17.npy tests/data/bf16-logits-65x49.npy \
  tests/data/input-31x17.npy "$seeds/npy/"
python3 - "$seeds/model" tests/data/k1-fused.yaml tests/data/k3-fused.yaml \
  tests/data/ssd/ssd-fused.yaml tests/data/deeplab/dense-fused.yaml <<'PY'
import os, re, struct, sys
out = sys.argv[1]
for y in sys.argv[2:]:
    text = open(y).read()
    w = re.search(r"^weights: *(\S+)", text, re.M).group(1)
    st = open(os.path.join(os.path.dirname(y), w), "rb").read()
    text = re.sub(r"^weights: *\S+", "weights: w.safetensors", text, flags=re.M)
    text = re.sub(r"^labels: *\S+\n", "", text, flags=re.M).encode()
    with open(os.path.join(out, os.path.basename(y)[:-5]), "wb") as f:
        f.write(struct.pack("<I", len(text)) + text + st)
PY

# -jobs writes fuzz-N.log into the working directory: only when asked.
par=
[ "$jobs" -gt 1 ] && par="-jobs=$jobs -workers=$jobs"
status=0
mkdir -p "$build/artifacts"
for t in $targets; do
  exe=$build/tests/fuzz/fuzz-$t
  # Replay: the committed corpus and this target's reproducers, once each.
  replay=()
  corpus=()
  if [ -d tests/fuzz/corpus/$t ]; then
    corpus=(tests/fuzz/corpus/$t)
    replay+=(tests/fuzz/corpus/$t/*)
  fi
  for r in tests/fuzz/reproducers/$t-*; do [ -e "$r" ] && replay+=("$r"); done
  if [ ${#replay[@]} -gt 0 ]; then
    "$exe" -runs=1 "${replay[@]}" >"$build/fuzz-$t-replay.log" 2>&1 \
      || { echo "fuzz-$t: replay FAILED ($build/fuzz-$t-replay.log)"; tail -30 "$build/fuzz-$t-replay.log"; status=1; continue; }
  fi
  # Fuzz: new inputs go to a scratch corpus, never into the committed one.
  work=$build/fuzz-corpus/$t
  mkdir -p "$work"
  start=$(date +%s)
  if "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 \
      -malloc_limit_mb=2048 $par -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t-" "$work" "$seeds/$t" \
      ${corpus[@]+"${corpus[@]}"} >"$build/fuzz-$t.log" 2>&1; then
    echo "fuzz-$t: ok, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz-$t.log" | tail -1 | grep -o '[0-9]*$') runs in $(( $(date +%s) - start )) s, ${#replay[@]} replayed"
  else
    echo "fuzz-$t: FAILED ($build/fuzz-$t.log; input in $build/artifacts/)"
    tail -40 "$build/fuzz-$t.log"
    status=1
  fi
done
exit $status
