#!/bin/sh
# prune-accuracy.sh: what the least-squares refit buys, per net, density and
# output, measured on held-out inputs the pruner never saw.
#   1. at global densities 0.75 and 0.5: held-out cosine of every output vs
#      the unpruned model, plain (reconstruct=false) and refitted, and the
#      FLOPs removed;
#   2. for the real trained nets (PP-OCR cls, BlazeFace, M-LSD): the lowest
#      density on a grid (0.95 down to 0.5) at which EVERY output keeps
#      cosine >= 0.98 with the refit, and the FLOPs removed there (the scan
#      goes down to the first density that misses; densities that prune
#      nothing are skipped), per criterion (SCAN, default "l1 activation")
#      with round_to 8 and with round_to 1 + min_channels 4.
# Calibration: glyph images (text-like, the generator of
# ../shared/bench/make-case.js :glyphs); the refit uses the captured ones
# (fewer on big nets: about 200 GFLOP of refit passes, at least 16), the
# last quarter of those validates each layer's refit and the whole model;
# held-out: the next glyph images. Small nets (zoo, PP-OCR, BlazeFace: a few
# ms per sample) use 64 calibration + 64 held-out samples (a 2-class softmax
# on 16 samples moves by +-0.1 between seeds); the big ones the `msc prune`
# defaults, 32 + 16. CALIB=random uses uniform
# noise instead (on random-weight nets noise has no redundancy to exploit:
# expect no recovery). Nets: `msc zoo` + ../shared/conformance/models when
# present. Slow on the ref runner (M-LSD and DenseNet take minutes per
# run): run it on an idle machine, or name a few nets.
# usage: prune-accuracy.sh [MSC] [NET...]      (default build/cli/msc, all nets)
set -u
here=$(cd "$(dirname "$0")" && pwd)
msc=${1:-$here/../build/cli/msc}
[ $# -gt 0 ] && shift
shared=${MSC_SHARED_DIR:-$here/../../shared}
models="$shared/conformance/models"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
command -v python3 >/dev/null 2>&1 || { echo "prune-accuracy: needs python3 (JSON)"; exit 1; }
"$msc" -q zoo "$work/zoo" >/dev/null || { echo "prune-accuracy: msc zoo failed"; exit 1; }

nets=${*:-"resnet_mini mobilenet_mini squeezenet_rand inception_v1_rand densenet121_rand ppocr_cls_mobile_v2 blazeface_front_128 mlsd_tiny_320"}

model_of() { # NAME -> path and extra args on stdout ("" when absent)
  case $1 in
    resnet_mini|mobilenet_mini) echo "$work/zoo/$1.onnx" ;;
    ppocr_cls_mobile_v2) [ -f "$models/$1/model.onnx" ] && echo "$models/$1/model.onnx --shape x=1x3x48x192" ;;
    *) [ -f "$models/$1/model.onnx" ] && echo "$models/$1/model.onnx" ;;
  esac
}

samples_of() { # NAME -> calibration / held-out sample options
  case $1 in
    resnet_mini|mobilenet_mini|ppocr_cls_mobile_v2|blazeface_front_128) echo "--samples 64 --eval 64" ;;
    *) echo "" ;;
  esac
}

# prune NAME DENSITY RECON MODEL [ARGS] -> $work/NAME-D-R.json; prints "ERR" on failure
prune() {
  n=$1; d=$2; r=$3; m=$4; shift 4
  # shellcheck disable=SC2046
  set -- "$@" $(samples_of "$n") --density "$d" --reconstruct "$r" --json
  [ "${CALIB:-}" = random ] && set -- "$@" --calib random
  if ! nice "$msc" -q prune "$m" -o "$work/$n-$d-$r.onnx" "$@" >"$work/$n-$d-$r.json" 2>"$work/$n-$d-$r.err"; then
    echo ERR; return 1
  fi
}

# outputs JSON... -> "name plain refit" lines (cosines), FLOPs removed last
table() {
  python3 - "$@" <<'EOF'
import json, sys
p, r = (json.load(open(f)) for f in sys.argv[1:3])
for a, b in zip(p['heldout']['outputs'], r['heldout']['outputs']):
    print('%s %.4f %.4f' % (a['name'], a['cosine'], b['cosine']))
print('FLOPS %.3f' % (1 - r['flops_after'] / r['flops_before']))
EOF
}

echo "prune-accuracy: $(date -u +%Y-%m-%dT%H:%MZ), calibration ${CALIB:-glyphs} (64 samples + 64 held-out on the small nets, else 32 + 16), ref runner"
printf '%-20s %5s %7s %-22s %8s %8s %8s\n' net dens FLOPs- output plain refit gain
for n in $nets; do
  spec=$(model_of "$n")
  [ -n "$spec" ] || { echo "$n: absent, skipped"; continue; }
  for d in 0.75 0.5; do
    # shellcheck disable=SC2086
    if [ "$(prune "$n" "$d" false $spec)" = ERR ] || [ "$(prune "$n" "$d" true $spec)" = ERR ]; then
      printf '%-20s %5s ERROR: %s\n' "$n" "$d" "$(tail -n 1 "$work/$n-$d-"*.err | tr '\n' ' ')"; continue
    fi
    fl=$(table "$work/$n-$d-false.json" "$work/$n-$d-true.json" | sed -n 's/^FLOPS //p')
    table "$work/$n-$d-false.json" "$work/$n-$d-true.json" | grep -v '^FLOPS ' | while read -r o cp cr; do
      g=$(python3 -c "import sys; print('%+.4f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$cp" "$cr")
      printf '%-20s %5s %7s %-22s %8s %8s %8s\n' "$n" "$d" "$fl" "$o" "$cp" "$cr" "$g"
    done
  done
done

echo
echo "density at which every output keeps held-out cosine >= 0.98 (refit on; grid 0.95..0.5, down to the first miss;"
echo "a density where nothing is pruned is skipped; variants: SCAN='l1 activation' x round_to 8 / round_to 1 + min_channels 4)"
for n in ppocr_cls_mobile_v2 blazeface_front_128 mlsd_tiny_320; do
  case " $nets " in *" $n "*) ;; *) continue ;; esac
  spec=$(model_of "$n")
  [ -n "$spec" ] || continue
  for crit in ${SCAN:-l1 activation}; do
    for rnd in 8 1; do
      best="none (above 0.95)"; miss=""
      for d in 0.95 0.9 0.85 0.8 0.75 0.7 0.65 0.6 0.55 0.5; do
        # shellcheck disable=SC2086
        [ "$(prune "$n" "$d" true $spec --criterion "$crit" --round-to "$rnd" --min-channels $((rnd == 1 ? 4 : 8)))" = ERR ] && break
        line=$(python3 - "$work/$n-$d-true.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
c = min(o['cosine'] for o in r['heldout']['outputs'])
print('%d %.4f %.3f' % (c >= 0.98, c, 1 - r['flops_after'] / r['flops_before']))
EOF
)
        set -- $line
        [ "$3" = 0.000 ] && continue # nothing pruned at this density
        if [ "$1" != 1 ]; then miss="$d (min cosine $2)"; break; fi
        best="$d (min cosine $2, FLOPs removed $3)"
      done
      printf '%-20s %-10s round_to %s: %s; first miss: %s\n' "$n" "$crit" "$rnd" "$best" "${miss:--}"
    done
  done
done
