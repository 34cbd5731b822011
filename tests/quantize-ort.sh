#!/bin/sh
# Our QDQ output runs in ONNX Runtime: quantize the demo CNNs (msc zoo) with
# `msc quantize`, then run each QDQ model in ONNX Runtime (make-case.js writes
# the inputs and ORT's outputs) and in our ref runner on the same inputs; the
# outputs must agree within one output quantization step ((max - min) / 255
# of our output) on >= 99% of the elements (quantize-ort.js).
# Weights are limited to 7 bits (--weight-bits 7): ONNX Runtime's u8 x s8
# kernels on AVX2 machines without VNNI use vpmaddubsw, which saturates on
# full-range int8 weights (measured here: up to 229 output steps off on
# mobilenet_mini), so only 7-bit weights are comparable on every machine.
# Skips (77) without node + onnxruntime-node.
# usage: quantize-ort.sh MSC
set -u
msc=$1
here=$(cd "$(dirname "$0")" && pwd)
shared=${MSC_SHARED_DIR:-$here/../../shared}
command -v node >/dev/null 2>&1 || { echo "SKIP: node not installed"; exit 77; }
[ -f "$shared/bench/make-case.js" ] || { echo "SKIP: ../shared/bench absent"; exit 77; }
node -e "require('$shared/bench/lib/ort-load').loadOrt()" 2>/dev/null ||
  { echo "SKIP: onnxruntime-node not installed (sh ../shared/bench/setup-ort.sh)"; exit 77; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$msc" -q zoo "$work/zoo" >/dev/null || { echo "FAIL: msc zoo"; exit 1; }
fail=0
for net in resnet_mini mobilenet_mini; do
  for fmt in qdq qoperator; do
    q="$work/$net-$fmt.onnx"
    if ! "$msc" -q quantize "$work/zoo/$net.onnx" -o "$q" --shape input=1x3x64x64 --samples 8 --eval 0 \
        --format "$fmt" --weight-bits 7 >"$work/log" 2>&1; then
      echo "FAIL $net ($fmt): msc quantize: $(cat "$work/log")"; fail=$((fail + 1)); continue
    fi
    case="$work/case-$net-$fmt"
    if ! node "$shared/bench/make-case.js" "$q" "$case" input=1x3x64x64@101:glyphs input=1x3x64x64@102:glyphs \
        input=1x3x64x64@103 >"$work/log" 2>&1; then
      echo "FAIL $net ($fmt): ONNX Runtime does not run our model: $(tail -3 "$work/log")"; fail=$((fail + 1)); continue
    fi
    for s in "$case"/test_data_set_*; do
      "$msc" -q infer "$q" -i "$s/input_0.pb" -f pb -o "$s/ref" >/dev/null 2>"$work/log" ||
        { echo "FAIL $net ($fmt): msc infer: $(cat "$work/log")"; fail=$((fail + 1)); }
    done
    node "$here/quantize-ort.js" "$net-$fmt" "$case" || fail=$((fail + 1))
  done
done
[ $fail -eq 0 ]
