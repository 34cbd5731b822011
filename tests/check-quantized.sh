#!/bin/sh
# check-quantized.sh MSC [SHARED_DIR]: the QDQ models of ../shared/conformance/quantized
# on the `cpu` runner (int8 steps) and on `ref` (float simulation), against ONNX
# Runtime's stored outputs, reported with `msc check` at 1 and 3 output
# quantization steps (1/255 for both models' softmax outputs).
# Pass criterion (honest, see docs/int8.md): both runners load and run both models
# (no error, no UNSUPPORTED). The element-wise agreement with ORT is REPORTED, not
# required: ORT runs these graphs with fused integer kernels whose rounding
# differs from the float simulation by one step in intermediate tensors, and
# these nets amplify that: ORT's own float simulation (--opt disabled) is off
# by up to 0.37 (ppocr) / 0.32 (squeezenet) on the same outputs. The strict
# checks (cpu int8 vs ref tensor by tensor, kernels bit-exact) are in test-int8.
MSC=${1:?usage: check-quantized.sh MSC [SHARED_DIR]}
SHARED=${2:-${MSC_SHARED_DIR:-$(dirname "$0")/../../shared}}
Q=$SHARED/conformance/quantized
if [ ! -d "$Q" ]; then echo "SKIP: $Q is absent"; exit 77; fi
rc=0
for r in cpu ref; do
  for atol in 0.00393 0.0118; do
    out=$("$MSC" check --runner $r --rtol 0 --atol $atol "$Q"/*/ 2>&1)
    echo "$out" | sed "s|^|[$r, atol $atol = $( [ $atol = 0.00393 ] && echo 1 || echo 3 ) step(s)] |"
    if echo "$out" | grep -q "UNSUPPORTED\|error\|cannot"; then rc=1; fi
  done
done
exit $rc
