#!/bin/sh
# int8-bench.sh: int8 execution speed, side by side in one run, alternating,
# best median of several repeats (benchmarks only, never a test):
#   ORT on the QDQ model | msc cpu on the QDQ model | msc cpu on the float model
# for squeezenet_rand_qdq and ppocr_cls_mobile_v2_qdq, at 1 and 2 threads.
# Usage: benchmarks/int8-bench.sh [MSC] [REPEATS] [OWN]   (MSC default build/cli/msc)
# OWN: a folder with the three trained nets as our quantizer writes them
# (ppocr-minmax.onnx, blaze-aware.onnx, mlsd-minmax.onnx: the commands of
# benchmarks/quant-accuracy.sh); then a second table compares them at 1
# thread in thread CPU time (--cpu-time), alternating int8 / fp32 / ORT.
# Needs ../shared/conformance (else exits 77); ORT columns need node and the
# peer (../shared/bench/setup-ort.sh), else they print "-".
MSC=${1:-build/cli/msc}
REP=${2:-3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${MSC_SHARED_DIR:-$HERE/../shared}
Q=$SHARED/conformance/quantized
F=$SHARED/conformance/models
[ -d "$Q" ] || { echo "SKIP: $Q is absent"; exit 77; }
ORT=
if command -v node >/dev/null 2>&1 && [ -f "$SHARED/bench/ort-bench.js" ]; then ORT="$SHARED/bench/ort-bench.js"; fi
median() { sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p' | head -1; }
best() { sort -g | head -1; }
isa=$("$MSC" bench "$Q/squeezenet_rand_qdq/model.onnx" --iters 1 --warmup 0 --top 0 2>/dev/null | sed -n 's/.*ISA \([a-z0-9]*\).*/\1/p')
echo "int8 bench: ISA $isa, $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), best median of $REP repeats (ms)"
printf '%-26s %3s %10s %10s %10s %8s %8s\n' model thr ort-qdq msc-int8 msc-fp32 fp32/int8 ort/int8
for case in squeezenet_rand:1x3x224x224:data_0 ppocr_cls_mobile_v2:1x3x48x192:x; do
  name=${case%%:*}; rest=${case#*:}; shape=${rest%%:*}; input=${rest#*:}
  qm=$Q/${name}_qdq/model.onnx; fm=$F/$name/model.onnx
  for t in 1 2; do
    o=; i=; f=
    r=0
    while [ $r -lt "$REP" ]; do
      [ -n "$ORT" ] && o="$o $(node "$ORT" "$qm" --threads $t --iters 20 --shape "$input=$shape" 2>/dev/null | median)"
      i="$i $("$MSC" bench "$qm" --threads $t --iters 20 --top 0 --json --shape "$input=$shape" 2>/dev/null | median)"
      f="$f $("$MSC" bench "$fm" --threads $t --iters 20 --top 0 --json --shape "$input=$shape" 2>/dev/null | median)"
      r=$((r + 1))
    done
    ob=$(echo $o | tr ' ' '\n' | grep . | best); ib=$(echo $i | tr ' ' '\n' | grep . | best)
    fb=$(echo $f | tr ' ' '\n' | grep . | best)
    printf '%-26s %3s %10s %10s %10s %8s %8s\n' "${name}_qdq" $t "${ob:--}" "${ib:--}" "${fb:--}" \
      "$(awk -v a="$fb" -v b="$ib" 'BEGIN{ if (a>0 && b>0) printf "%.2fx", a/b; else print "-" }')" \
      "$(awk -v a="$ob" -v b="$ib" 'BEGIN{ if (a>0 && b>0) printf "%.2fx", a/b; else print "-" }')"
  done
done

OWN=${3:-}
[ -n "$OWN" ] || exit 0
echo "our quantizer's models, 1 thread, msc: thread CPU time (--cpu-time); ORT: wall time"
printf '%-26s %10s %10s %10s %8s %8s\n' model ort-qdq msc-int8 msc-fp32 fp32/int8 ort/int8
for case in ppocr_cls_mobile_v2:ppocr-minmax:x=1x3x48x192 blazeface_front_128:blaze-aware: mlsd_tiny_320:mlsd-minmax:; do
  name=${case%%:*}; rest=${case#*:}; own=${rest%%:*}; shape=${rest#*:}
  qm=$OWN/$own.onnx; fm=$F/$name/model.onnx
  [ -f "$qm" ] || { echo "$qm: absent"; continue; }
  sf=; [ -n "$shape" ] && sf="--shape $shape"
  o=; i=; f=; r=0
  while [ $r -lt "$REP" ]; do
    # shellcheck disable=SC2086
    i="$i $(nice "$MSC" bench "$qm" --threads 1 --cpu-time --iters 30 --top 0 --json $sf 2>/dev/null | median)"
    # shellcheck disable=SC2086
    f="$f $(nice "$MSC" bench "$fm" --threads 1 --cpu-time --iters 30 --top 0 --json $sf 2>/dev/null | median)"
    # shellcheck disable=SC2086
    [ -n "$ORT" ] && o="$o $(nice node "$ORT" "$qm" --threads 1 --iters 30 $sf 2>/dev/null | median)"
    r=$((r + 1))
  done
  ob=$(echo $o | tr ' ' '\n' | grep . | best); ib=$(echo $i | tr ' ' '\n' | grep . | best)
  fb=$(echo $f | tr ' ' '\n' | grep . | best)
  printf '%-26s %10s %10s %10s %8s %8s\n' "$own" "${ob:--}" "${ib:--}" "${fb:--}" \
    "$(awk -v a="$fb" -v b="$ib" 'BEGIN{ if (a>0 && b>0) printf "%.2fx", a/b; else print "-" }')" \
    "$(awk -v a="$ob" -v b="$ib" 'BEGIN{ if (a>0 && b>0) printf "%.2fx", a/b; else print "-" }')"
done
