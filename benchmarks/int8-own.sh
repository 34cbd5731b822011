#!/bin/sh
# int8-own.sh: our quantizer's models of the three trained nets (the
# commands of benchmarks/quant-accuracy.sh: ppocr-minmax.onnx,
# blaze-aware.onnx, mlsd-minmax.onnx in DIR) at 1 and 2 threads, wall time,
# alternating msc cpu int8 / msc cpu fp32 (the float model) / ONNX Runtime
# on the same QDQ model; best median of REPEATS (benchmarks only, never a
# test). Usage: benchmarks/int8-own.sh MSC DIR [REPEATS] [THREADS...]
# Needs ../shared/conformance/models (else exits 77); the ORT column needs
# node and the peer (../shared/bench/setup-ort.sh), else it prints "-".
MSC=${1:?usage: int8-own.sh MSC DIR [REPEATS] [THREADS...]}
DIR=${2:?usage: int8-own.sh MSC DIR [REPEATS] [THREADS...]}
REP=${3:-3}
shift 3 2>/dev/null || shift $#
THREADS=${*:-1 2}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${MSC_SHARED_DIR:-$HERE/../shared}
F=$SHARED/conformance/models
[ -d "$F" ] || { echo "SKIP: $F is absent"; exit 77; }
ORT=
if command -v node >/dev/null 2>&1 && [ -f "$SHARED/bench/ort-bench.js" ]; then ORT="$SHARED/bench/ort-bench.js"; fi
median() { sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p' | head -1; }
best() { tr ' ' '\n' | grep . | sort -g | head -1; }
echo "int8-own: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), wall time, best median of $REP (ms)"
printf '%-8s %3s %10s %10s %10s %9s %8s\n' model thr msc-int8 msc-fp32 ort-qdq fp32/int8 ort/int8
for c in "ppocr|ppocr_cls_mobile_v2|ppocr-minmax.onnx|x=1x3x48x192" "blaze|blazeface_front_128|blaze-aware.onnx|" \
         "mlsd|mlsd_tiny_320|mlsd-minmax.onnx|"; do
  n=${c%%|*}; r=${c#*|}; fm=$F/${r%%|*}/model.onnx; r=${r#*|}; q=$DIR/${r%%|*}; shp=${r#*|}
  [ -f "$q" ] || { echo "$n: $q missing"; continue; }
  it=30; [ "$n" = mlsd ] && it=10
  for t in $THREADS; do
    i=; f=; o=; k=0
    while [ $k -lt "$REP" ]; do
      if [ -n "$shp" ]; then
        i="$i $(nice "$MSC" bench "$q" --threads "$t" --iters $it --top 0 --json --shape "$shp" 2>/dev/null | median)"
        f="$f $(nice "$MSC" bench "$fm" --threads "$t" --iters $it --top 0 --json --shape "$shp" 2>/dev/null | median)"
        [ -n "$ORT" ] && o="$o $(nice node "$ORT" "$q" --threads "$t" --iters $it --shape "$shp" 2>/dev/null | median)"
      else
        i="$i $(nice "$MSC" bench "$q" --threads "$t" --iters $it --top 0 --json 2>/dev/null | median)"
        f="$f $(nice "$MSC" bench "$fm" --threads "$t" --iters $it --top 0 --json 2>/dev/null | median)"
        [ -n "$ORT" ] && o="$o $(nice node "$ORT" "$q" --threads "$t" --iters $it 2>/dev/null | median)"
      fi
      k=$((k + 1))
    done
    bi=$(echo "$i" | best); bf=$(echo "$f" | best); bo=$(echo "$o" | best)
    printf '%-8s %3s %10s %10s %10s %9s %8s\n' "$n" "$t" "$bi" "$bf" "${bo:--}" \
      "$(awk -v a="$bf" -v b="$bi" 'BEGIN{ if (b > 0) printf "%.2fx", a / b; else print "-" }')" \
      "$(awk -v a="$bo" -v b="$bi" 'BEGIN{ if (a > 0 && b > 0) printf "%.2fx", a / b; else print "-" }')"
  done
done
