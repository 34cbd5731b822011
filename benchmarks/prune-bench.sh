#!/bin/sh
# prune-bench.sh: what structured pruning buys and costs, per net.
#   - at global density 0.5 (refit on): FLOPs removed (msc_graph_flops), the
#     `cpu` runner's latency before/after (msc bench, 1 thread, ~0.4 s of runs
#     each, best median of ROUNDS alternating runs) and latency saving / FLOPs saving;
#   - held-out output cosine vs the unpruned model (msc prune --eval, min
#     over outputs), plain (reconstruct=false) / refitted, at densities 0.75
#     and 0.5;
#   - for the real trained nets: the lowest density on a grid (0.95 down by
#     0.05) at which every output keeps cosine >= 0.98 (refit on), scanning
#     down until the first miss.
# Calibration: --samples 8, held-out: the next 8 samples; inputs uniform in
# [-1,1) (--calib random) for the zoo and _rand nets, whose BatchNorm
# statistics / LSUV scales were set on such noise; glyph images (the
# `msc prune` default) for the real nets. Nets: `msc zoo` + ../shared/conformance/models (when
# present). Long (minutes per conformance net on the ref runner); run idle.
# usage: prune-bench.sh [MSC] [ROUNDS]     (default build/cli/msc, 3)
# PRUNE_BENCH_NETS="resnet_mini squeezenet_rand ..." limits the rows to those nets.
# MSC_BENCH_CLI=PATH times with another msc build than the one pruning.
set -u
here=$(cd "$(dirname "$0")" && pwd)
msc=${1:-$here/../build/cli/msc}
rounds=${2:-3}
benchmsc=${MSC_BENCH_CLI:-$msc}
shared=${MSC_SHARED_DIR:-$here/../../shared}
models="$shared/conformance/models"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
command -v python3 >/dev/null 2>&1 || { echo "prune-bench: needs python3 (JSON)"; exit 1; }

jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# prune NAME MODEL DENSITY RECON EXTRA... -> $work/NAME-D-R.{onnx,json}; prints min held-out cosine
prune() {
  n=$1; m=$2; d=$3; r=$4; shift 4
  out="$work/$n-$d-$r"
  if ! "$msc" -q prune "$m" -o "$out.onnx" --density "$d" --reconstruct "$r" --samples 8 --eval 8 --json "$@" \
       >"$out.json" 2>"$out.err"; then
    echo "ERR"; return 1
  fi
  jget "$out.json" "'%.4f' % min(o['cosine'] for o in d['heldout']['outputs'] if o.get('compared'))"
}

median() { # MODEL [extra] -> median ms (drops --calib X, a prune-only flag)
  mm=$1; shift; bargs=""
  while [ $# -gt 0 ]; do
    if [ "$1" = --calib ]; then shift 2; continue; fi
    bargs="$bargs $1"; shift
  done
  # iterations for ~0.4 s per measurement (at least 20, at most 1000): 20 runs of a 0.07 ms
  # net are a 1.4 ms window, whose median one preemption or cold cache moves by 1.5x
  # shellcheck disable=SC2086
  "$benchmsc" -q bench "$mm" $bargs --runner cpu --threads 1 --warmup 1 --iters 3 --top 0 --json 2>/dev/null \
    > "$work/b.json" || { echo nan; return; }
  it=$(jget "$work/b.json" "max(20, min(1000, int(400 / max(d['median_ms'], 1e-3))))")
  # shellcheck disable=SC2086
  "$benchmsc" -q bench "$mm" $bargs --runner cpu --threads 1 --warmup 10 --iters "$it" --top 0 --json 2>/dev/null \
    > "$work/b.json" || { echo nan; return; }
  jget "$work/b.json" "d['median_ms'] if 'median_ms' in d else d['latency']['median_ms']"
}

best() { python3 -c "import sys; v=[float(x) for x in sys.argv[1:] if x!='nan']; print('%.3f' % min(v) if v else 'nan')" "$@"; }

"$msc" -q zoo "$work/zoo" >/dev/null || { echo "prune-bench: msc zoo failed"; exit 1; }
isa=$("$benchmsc" bench "$work/zoo/resnet_mini.onnx" --runner cpu --threads 1 2>/dev/null | sed -n 's/.*ISA \([a-z0-9_]*\).*/\1/p' | head -1)
echo "prune-bench: $(date -u +%Y-%m-%dT%H:%MZ), cpu runner 1 thread, ISA ${isa:-?}, best median of $rounds alternating rounds"
printf '%-22s %8s %9s %9s %8s %6s | %-15s %-15s | %s\n' net "FLOPs-" "ms-before" "ms-after" "lat-" "ratio" \
  "cos d=.75 p/r" "cos d=.5 p/r" "density@cos>=.98"

row() { # NAME MODEL REAL(0|1) CALIB(random|-) EXTRA(shape args, also for bench)...
  n=$1; m=$2; real=$3; calib=$4; shift 4
  if [ -n "${PRUNE_BENCH_NETS:-}" ]; then
    case " $PRUNE_BENCH_NETS " in *" $n "*) ;; *) return 0 ;; esac
  fi
  [ "$calib" = - ] || set -- "$@" --calib "$calib"
  c50r=$(prune "$n" "$m" 0.5 true "$@")
  c50p=$(prune "$n" "$m" 0.5 false "$@")
  c75r=$(prune "$n" "$m" 0.75 true "$@")
  c75p=$(prune "$n" "$m" 0.75 false "$@")
  j="$work/$n-0.5-true.json"
  if [ -f "$j" ] && [ "$c50r" != ERR ]; then
    fr=$(jget "$j" "'%.3f' % (1 - d['flops_after'] / d['flops_before'])")
    b=""; a=""
    i=0
    while [ $i -lt "$rounds" ]; do
      b="$b $(median "$m" "$@")"; a="$a $(median "$work/$n-0.5-true.onnx" "$@")"; i=$((i + 1))
    done
    mb=$(best $b); ma=$(best $a)
    ls=$(python3 -c "import sys; b,a=float(sys.argv[1]),float(sys.argv[2]); print('%.3f' % (1-a/b))" "$mb" "$ma")
    ratio=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[1])/float(sys.argv[2])))" "$ls" "$fr")
  else
    fr=ERR; mb=-; ma=-; ls=-; ratio=-
  fi
  dens="-"
  if [ "$real" = 1 ]; then
    dens="<0.95"
    for d in 0.95 0.9 0.85 0.8 0.75 0.7 0.65 0.6 0.55 0.5; do
      c=$(prune "$n" "$m" "$d" true "$@")
      ok=$(python3 -c "import sys; print(1 if sys.argv[1] not in ('ERR','') and float(sys.argv[1]) >= 0.98 else 0)" "$c")
      [ "$ok" = 1 ] || break
      dens="$d ($c)"
    done
  fi
  printf '%-22s %8s %9s %9s %8s %6s | %-15s %-15s | %s\n' "$n" "$fr" "$mb" "$ma" "$ls" "$ratio" \
    "$c75p/$c75r" "$c50p/$c50r" "$dens"
}

for z in resnet_mini mobilenet_mini; do row "$z" "$work/zoo/$z.onnx" 0 random; done
if [ -d "$models" ]; then
  for n in squeezenet_rand inception_v1_rand densenet121_rand; do
    [ -f "$models/$n/model.onnx" ] && row "$n" "$models/$n/model.onnx" 0 random
  done
  [ -f "$models/ppocr_cls_mobile_v2/model.onnx" ] && row ppocr_cls_mobile_v2 "$models/ppocr_cls_mobile_v2/model.onnx" 1 - --shape x=1x3x48x192
  for n in blazeface_front_128 mlsd_tiny_320; do
    [ -f "$models/$n/model.onnx" ] && row "$n" "$models/$n/model.onnx" 1 -
  done
else
  echo "(../shared/conformance absent: zoo nets only)"
fi
echo "FLOPs- = FLOPs removed at density 0.5; lat- = latency saving; ratio = lat- / FLOPs-; cos = min held-out output cosine vs the unpruned model, p = plain, r = refitted"
