#!/bin/sh
# quant-accuracy.sh: issue 5's accuracy table for the three trained nets
# (benchmarks only, never a test): calibrate on 32 glyph images, compare on
# 16 held-out ones (`msc quantize --eval 16`, cosine per output over all
# samples flattened, top-1 for the classifier), the layers the
# accuracy-aware search kept in float, and latency (1 thread, best median
# of REPEATS alternated runs): msc cpu on the int8 model, msc cpu on the
# fp32 model, ONNX Runtime on the same QDQ model.
# Usage: benchmarks/quant-accuracy.sh [MSC] [REPEATS] [OUTDIR]
#   (MSC default build/cli/msc; OUTDIR default a temporary folder, kept)
# Needs ../shared/conformance/models (else exits 77); the ORT column needs
# node and the peer (../shared/bench/setup-ort.sh), else it prints "-".
# M-LSD takes minutes (its searches evaluate 50-90 candidate models);
# ONLY="ppocr blazeface" limits the run to models whose name contains a word.
MSC=${1:-build/cli/msc}
REP=${2:-3}
OUT=${3:-$(mktemp -d /tmp/msc-quant-acc-XXXXXX)}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${MSC_SHARED_DIR:-$HERE/../shared}
F=$SHARED/conformance/models
[ -d "$F" ] || { echo "SKIP: $F is absent"; exit 77; }
ORT=
if command -v node >/dev/null 2>&1 && [ -f "$SHARED/bench/ort-bench.js" ]; then ORT="$SHARED/bench/ort-bench.js"; fi
mkdir -p "$OUT"
median() { sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p' | head -1; }
best() { tr ' ' '\n' | grep . | sort -g | head -1; }
echo "quant-accuracy: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), outputs in $OUT"
# name | shape flag | tool options
run_case() {
  name=$1; shape=$2; tag=$3; shift 3
  if [ -n "${ONLY:-}" ]; then
    hit=; for w in $ONLY; do case "$name" in *"$w"*) hit=1;; esac; done
    [ -n "$hit" ] || return 0
  fi
  m=$F/$name/model.onnx; q=$OUT/$name-$tag.onnx
  # shellcheck disable=SC2086
  "$MSC" -q quantize "$m" -o "$q" $shape --eval 16 --eval-runner cpu --report "$OUT/$name-$tag.json" --json "$@" \
    > "$OUT/$name-$tag.summary.json" || { echo "$name $tag: quantize failed"; return; }
  python3 - "$OUT/$name-$tag.summary.json" "$OUT/$name-$tag.json" "$name $tag" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
outs = ", ".join("%s %.4f%s" % (o["name"], o["cosine"], " top-1 %d/%d" % (o["top1_agree"], o["top1_total"]) if o.get("top1_total") else "") for o in s["heldout"]["outputs"])
aa = r.get("accuracy_aware", {})
rev = r.get("reverted", [])
print("%-32s held-out: %s" % (sys.argv[3], outs))
print("%-32s float: %d layers (%.1f%% of quantizable MACs)%s%s" % ("", len(rev), 100 * aa.get("float_macs_share", 0),
      ", search %d evals %.0f s, met on calibration: %s" % (aa["evaluations"], aa["seconds"], aa["met"]) if "evaluations" in aa else "",
      (": " + " ".join(x.split("/")[-2] if "/" in x else x for x in rev)) if rev else ""))
if r.get("float_outputs"): print("%-32s float outputs (guard_discrete): %s" % ("", " ".join(r["float_outputs"])))
EOF
  sflag=; case "$shape" in --shape*) sflag="$shape";; esac
  shp=${shape#--shape }
  i=; f=; o=; k=0
  while [ $k -lt "$REP" ]; do
    # shellcheck disable=SC2086
    i="$i $(nice "$MSC" bench "$q" --threads 1 --iters 20 --top 0 --json $sflag 2>/dev/null | median)"
    # shellcheck disable=SC2086
    f="$f $(nice "$MSC" bench "$m" --threads 1 --iters 20 --top 0 --json $sflag 2>/dev/null | median)"
    if [ -n "$ORT" ]; then
      if [ -n "$sflag" ]; then o="$o $(nice node "$ORT" "$q" --threads 1 --iters 20 --shape "$shp" 2>/dev/null | median)"
      else o="$o $(nice node "$ORT" "$q" --threads 1 --iters 20 2>/dev/null | median)"; fi
    fi
    k=$((k + 1))
  done
  ib=$(echo $i | best); fb=$(echo $f | best); ob=$(echo $o | best)
  printf '%-32s 1 thread ms: msc int8 %s, msc fp32 %s (fp32/int8 %s), ORT QDQ %s (ORT/msc %s)\n' "" "${ib:--}" "${fb:--}" \
    "$(awk -v a="$fb" -v b="$ib" 'BEGIN{ if (a>0 && b>0) printf "%.2fx", a/b; else print "-" }')" "${ob:--}" \
    "$(awk -v a="$ob" -v b="$ib" 'BEGIN{ if (a>0 && b>0) printf "%.2fx", a/b; else print "-" }')"
}
run_case ppocr_cls_mobile_v2 "--shape x=1x3x48x192" minmax
run_case blazeface_front_128 "" aware-0.98 --method percentile --tolerance 0.98
run_case mlsd_tiny_320 "" minmax
run_case mlsd_tiny_320 "" aware-offsets --tolerance 0.98 --tolerance-outputs offsets
run_case mlsd_tiny_320 "" aware-all --tolerance 0.98
