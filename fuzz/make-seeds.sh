#!/bin/sh
# Writes the seed corpora of the fuzz targets into OUTDIR/<target>/:
#   onnx    every conformance model.onnx up to 1 MB, the zoo models
#           (`msc zoo`), and the regression inputs;
#   tensor  conformance input_*.pb / output_*.pb up to 64 KB, and .npy files
#           written by `msc infer` over a few cases of varied dtypes;
#   exec    hand-made graph encodings (fuzz/make-exec-seeds.py): each op of
#           fuzz-exec.c's list at a few opsets.
# usage: fuzz/make-seeds.sh OUTDIR [MSC_BINARY]
# The conformance corpus is ../shared/conformance beside the repo (or
# $MSC_SHARED_DIR/conformance); parts whose source is missing are skipped.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
out=$1
msc=${2:-$src/build/cli/msc}
conf=${MSC_SHARED_DIR:-$src/../shared}/conformance
mkdir -p "$out/onnx" "$out/tensor" "$out/exec"

# Seed file names: the path below the corpus with / -> _ (stable, unique).
copy_seed() { # FILE DESTDIR RELNAME
  cp "$1" "$2/$(echo "$3" | tr '/' '_')"
}

if [ -d "$conf" ]; then
  find "$conf" -mindepth 3 -maxdepth 3 -name model.onnx -size -1025k | sort | while read -r f; do
    copy_seed "$f" "$out/onnx" "${f#"$conf"/}"
  done
  find "$conf" -mindepth 4 -maxdepth 4 -name '*put_*.pb' -size -65k | sort | awk 'NR % 3 == 1' |
    while read -r f; do copy_seed "$f" "$out/tensor" "${f#"$conf"/}"; done
else
  echo "make-seeds: no conformance corpus at $conf; skipped" >&2
fi

if [ -x "$msc" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if "$msc" -q zoo "$tmp/zoo" >/dev/null 2>&1; then
    for f in "$tmp"/zoo/*.onnx; do copy_seed "$f" "$out/onnx" "zoo_$(basename "$f")"; done
  fi
  # .npy of several dtypes: the outputs of a few node cases
  for c in test_add test_cast_FLOAT_to_FLOAT16 test_cast_FLOAT16_to_DOUBLE test_quantizelinear test_shape \
           test_argmax_default_axis_example test_equal test_not_2d test_relu test_gather_0 test_where_example; do
    d="$conf/node/$c"
    [ -f "$d/model.onnx" ] || continue
    set --
    for i in "$d"/test_data_set_0/input_*.pb; do [ -f "$i" ] && set -- "$@" -i "$i"; done
    if "$msc" -q infer "$d/model.onnx" "$@" -o "$tmp/npy-$c" >/dev/null 2>&1; then
      for f in "$tmp/npy-$c"/*.npy; do [ -f "$f" ] && [ "$(wc -c <"$f")" -le 65536 ] && copy_seed "$f" "$out/tensor" "$c-$(basename "$f")"; done
    fi
  done
else
  echo "make-seeds: no msc binary at $msc; zoo and .npy seeds skipped" >&2
fi

# config: etc/*.ini, the ```ini blocks of docs/config.md, and the INI
# strings of tests/test-config.c are all small valid or invalid configs
mkdir -p "$out/config"
for f in "$src"/etc/*.ini; do [ -f "$f" ] && copy_seed "$f" "$out/config" "etc/$(basename "$f")"; done
[ -f "$src/docs/config.md" ] && awk -v dir="$out/config" '
  /^```ini/ { n++; f = dir "/docs_config_md_" n; inb = 1; next }
  /^```/ { inb = 0; next }
  inb { print > f }' "$src/docs/config.md"
[ -f "$src/tests/test-config.c" ] && python3 - "$src/tests/test-config.c" "$out/config" <<'PY'
import ast, re, sys
text = open(sys.argv[1]).read()
n = 0
# adjacent C string literals that contain an INI section header
for m in re.finditer(r'((?:"(?:[^"\\\n]|\\.)*"\s*)+)', text):
    parts = re.findall(r'"((?:[^"\\\n]|\\.)*)"', m.group(1))
    try:
        s = "".join(ast.literal_eval('"' + p + '"') for p in parts)
    except Exception:
        continue
    if "[" in s and "=" in s:
        n += 1
        open("%s/test_config_%03d" % (sys.argv[2], n), "w").write(s)
PY

python3 "$here/make-exec-seeds.py" "$here/fuzz-exec.c" "$out/exec"

# Past findings are seeds too.
for t in onnx tensor exec config; do
  [ -d "$src/tests/fuzz-regressions/$t" ] || continue
  mkdir -p "$out/$t"
  for f in "$src/tests/fuzz-regressions/$t"/*; do
    case $(basename "$f") in README* | *.md | .*) continue ;; esac
    [ -f "$f" ] && cp "$f" "$out/$t/regression_$(basename "$f")"
  done
done
for t in onnx tensor exec config; do
  echo "make-seeds: $t: $(find "$out/$t" -type f | wc -l) seeds" >&2
done
