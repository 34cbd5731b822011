#!/bin/sh
# Round trip of every conformance model through our ONNX writer:
#   msc export CASE/model.onnx -> OUT/model.onnx, then
#   - where ONNX Runtime runs the original, it must run the export with the
#     same outputs (tests/ort-roundtrip.js);
#   - where it refuses the original (opset < 7 forms it no longer runs), our
#     own loader and ref runner must pass the case on the exported model.
# Skips (77) without the corpus or without node + onnxruntime-node.
# usage: ort-roundtrip.sh MSC GROUP_DIR...
set -u
msc=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
shared=${MSC_SHARED_DIR:-$here/../../shared}
[ -d "$shared/conformance" ] || { echo "SKIP: ../shared/conformance absent"; exit 77; }
command -v node >/dev/null 2>&1 || { echo "SKIP: node not installed"; exit 77; }
node -e "require('$shared/bench/lib/ort-load').loadOrt()" 2>/dev/null ||
  { echo "SKIP: onnxruntime-node not installed (sh ../shared/bench/setup-ort.sh)"; exit 77; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
manifest="$work/manifest"; : > "$manifest"
n=0; fail=0
for group in "$@"; do
  for case in "$group"/*/; do
    case=${case%/}
    [ -f "$case/model.onnx" ] || continue
    out="$work/$(basename "$group")/$(basename "$case")"
    mkdir -p "$out"
    if ! "$msc" -q export "$case/model.onnx" -o "$out/model.onnx" >/dev/null 2>"$out/err"; then
      if grep -q UNSUPPORTED "$out/err"; then continue; fi  # refused at load: counted by the conformance tests
      echo "EXPORT-FAILED $case: $(cat "$out/err")"; fail=$((fail + 1)); continue
    fi
    for s in "$case"/test_data_set_*; do ln -s "$(cd "$s" && pwd)" "$out/$(basename "$s")"; done
    echo "$case/model.onnx $out/model.onnx $case" >> "$manifest"
    n=$((n + 1))
  done
done
node "$here/ort-roundtrip.js" "$manifest" > "$work/ort.txt"; rc=$?
cat "$work/ort.txt"
[ $rc -le 1 ] || { echo "ort-roundtrip.js crashed (exit $rc)"; exit 1; }
same=$(grep -c '^SAME' "$work/ort.txt"); refused=$(grep -c '^ORIGINAL-REFUSED' "$work/ort.txt")
# cases ONNX Runtime no longer runs: our own loader + runner on the export
for c in $(grep '^ORIGINAL-REFUSED' "$work/ort.txt" | sed 's/^ORIGINAL-REFUSED \(.*\): .*/\1/'); do
  out="$work/$(basename "$(dirname "$c")")/$(basename "$c")"
  "$msc" check --failures-only "$out" | grep -v '^check:' || true
  "$msc" -q check "$out" >/dev/null 2>&1 || { echo "FAIL (msc on export) $c"; fail=$((fail + 1)); }
done
echo "round trip: $n exported, $same identical under ONNX Runtime, $refused checked with msc (ORT refuses the original), rc $rc, $fail other failures"
[ $rc -eq 0 ] && [ $fail -eq 0 ]
