#!/bin/sh
# Bad input through the `msc` command line: each case must exit with the
# documented status (1 failure, 2 usage), print one clear line naming the
# thing, never crash (status >= 128 or a sanitizer report), and leave no
# half-written output file. usage: cli-errors.sh MSC
set -u
msc=$1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
pass=0; fail=0

# expect STATUS PATTERN -- command...: runs it, checks status and stderr.
expect() {
  want=$1; pattern=$2; shift 3
  "$@" >"$work/out" 2>"$work/err"; got=$?
  lines=$(grep -c . "$work/err")
  if [ "$got" -ne "$want" ] || ! grep -qE -- "$pattern" "$work/err" || [ "$lines" -gt 1 ] || grep -q Sanitizer "$work/err"; then
    echo "not ok: $* -> status $got (want $want), stderr:"; sed 's/^/    /' "$work/err"
    fail=$((fail + 1))
  else
    echo "ok: $* -> $got: $(cat "$work/err")"
    pass=$((pass + 1))
  fi
}

"$msc" -q zoo "$work/zoo" resnet_mini >/dev/null || { echo "cannot write the zoo model"; exit 1; }
model="$work/zoo/resnet_mini.onnx"
size=$(wc -c < "$model")

# usage errors: status 2
expect 2 'no command given' -- "$msc"
expect 2 "unknown command 'frobnicate'" -- "$msc" frobnicate
expect 2 'expected one MODEL' -- "$msc" info
expect 2 'Unknown option|see --help' -- "$msc" info --bogus "$model"
expect 2 'expected MODEL and -o DIR' -- "$msc" infer "$model"
expect 2 "--format 'xml'" -- "$msc" infer "$model" -o "$work/o" -f xml

# missing and corrupt model files: status 1, the file named
expect 1 'nothing.onnx' -- "$msc" info "$work/nothing.onnx"
for n in 1 17 200 $((size / 2)) $((size - 3)); do
  head -c "$n" "$model" > "$work/trunc.onnx"
  expect 1 'trunc.onnx' -- "$msc" info "$work/trunc.onnx"
done
printf 'this is not a model' > "$work/text.onnx"
expect 1 'text.onnx' -- "$msc" info "$work/text.onnx"
: > "$work/empty.onnx"
expect 1 'empty.onnx' -- "$msc" info "$work/empty.onnx"

# bit flips: loaded or refused, never a crash
i=0; crashes=0
while [ $i -lt 40 ]; do
  off=$(( (i * 7919 + 13) % size ))
  cp "$model" "$work/flip.onnx"
  printf '\377' | dd of="$work/flip.onnx" bs=1 seek="$off" conv=notrunc 2>/dev/null
  "$msc" -q infer "$work/flip.onnx" --random 1 -o "$work/flipout" >/dev/null 2>"$work/err"; st=$?
  if [ $st -ge 128 ] || grep -q Sanitizer "$work/err" || { [ $st -ne 0 ] && [ $st -ne 1 ]; }; then
    echo "not ok: bit flip at $off -> status $st"; crashes=$((crashes + 1))
  fi
  i=$((i + 1))
done
if [ $crashes -eq 0 ]; then echo "ok: 40 bit-flipped models loaded or refused without a crash"; pass=$((pass + 1)); else fail=$((fail + 1)); fi

# an unknown op: rename Relu to Relx in place (same length keeps the protobuf valid)
sed 's/Relu/Relx/g' "$model" > "$work/unknown.onnx"
expect 1 "UNSUPPORTED op Relx" -- "$msc" info "$work/unknown.onnx"
expect 1 "UNSUPPORTED op Relx" -- "$msc" infer "$work/unknown.onnx" --random 1 -o "$work/o2"

# inputs: wrong shape, wrong dtype, missing, unknown name, corrupt file
python3 - "$work" <<'PY'
import struct, sys
def npy(path, descr, shape, payload):
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, "".join("%d, " % d for d in shape))
    hdr += " " * (63 - (len(hdr) + 10) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + payload)
w = sys.argv[1]
npy(w + "/small.npy", "<f4", (1, 3, 32, 32), b"\0" * 4 * 3 * 32 * 32)
npy(w + "/ints.npy", "<i8", (1, 3, 64, 64), b"\0" * 8 * 3 * 64 * 64)
npy(w + "/short.npy", "<f4", (1, 3, 64, 64), b"\0" * 100)
npy(w + "/object.npy", "|O", (2,), b"\0" * 16)
PY
expect 1 "input 'input': expected shape \[N,3,64,64\], got \[1,3,32,32\]" -- "$msc" infer "$model" -i input="$work/small.npy" -o "$work/o3"
expect 1 "input 'input': expected dtype float32, got int64" -- "$msc" infer "$model" -i input="$work/ints.npy" -o "$work/o3"
expect 1 "input 'input' missing" -- "$msc" infer "$model" -o "$work/o3"
expect 1 "no input 'nope'" -- "$msc" infer "$model" -i nope="$work/small.npy" -o "$work/o3"
expect 1 'short.npy' -- "$msc" infer "$model" -i input="$work/short.npy" -o "$work/o3"
expect 1 'object.npy' -- "$msc" infer "$model" -i input="$work/object.npy" -o "$work/o3"
expect 1 'missing.npy' -- "$msc" infer "$model" -i input="$work/missing.npy" -o "$work/o3"
[ -e "$work/o3" ] && { echo "not ok: a failed infer left $work/o3"; fail=$((fail + 1)); }

# no half-written output: a failed export leaves no file and keeps an old one
expect 1 'trunc.onnx' -- "$msc" export "$work/trunc.onnx" -o "$work/new.onnx"
if [ -e "$work/new.onnx" ]; then echo "not ok: failed export wrote new.onnx"; fail=$((fail + 1)); else pass=$((pass + 1)); fi
cp "$model" "$work/keep.onnx"
expect 1 'trunc.onnx' -- "$msc" export "$work/trunc.onnx" -o "$work/keep.onnx"
if cmp -s "$model" "$work/keep.onnx"; then pass=$((pass + 1)); else echo "not ok: failed export changed keep.onnx"; fail=$((fail + 1)); fi
ls "$work"/.*tmp* "$work"/*.tmp* 2>/dev/null && { echo "not ok: temporary files left"; fail=$((fail + 1)); }

# bench --against: a missing or corrupt second model is named; run against itself, the JSON line carries
# both medians and a positive paired ratio
expect 1 'nothing.onnx' -- "$msc" bench "$model" --against "$work/nothing.onnx" -n 2 --top 0
expect 1 'trunc.onnx' -- "$msc" bench "$model" --against "$work/trunc.onnx" -n 2 --top 0
if "$msc" bench "$model" --against "$model" -n 4 --json 2>"$work/err" |
   grep -qE '"against_median_ms":[0-9.]+,"against_min_ms":[0-9.]+,"ratio_median":([1-9][0-9]*\.[0-9]+|0\.[0-9]*[1-9])'; then
  pass=$((pass + 1))
else
  echo "not ok: bench --against --json"; cat "$work/err"; fail=$((fail + 1))
fi

# bench --against-env: VAR=VALUE or a usage error naming it; the second session is the model itself
expect 2 "against-env 'MSC_WINOGRAD'" -- "$msc" bench "$model" --against-env MSC_WINOGRAD -n 2 --top 0
if "$msc" bench "$model" --against-env MSC_WINOGRAD=0 -n 4 --top 0 2>"$work/err" |
   grep -qE "^against  .*resnet_mini.onnx with MSC_WINOGRAD=0: median [0-9.]+ ms"; then
  pass=$((pass + 1))
else
  echo "not ok: bench --against-env"; cat "$work/err"; fail=$((fail + 1))
fi

# check: a missing dir, a dir without cases
expect 1 'not a directory' -- "$msc" check "$work/none"
mkdir -p "$work/nocases"
expect 1 'no test case' -- "$msc" check "$work/nocases"

echo "cli-errors: $pass passed, $fail failed"
[ $fail -eq 0 ]
