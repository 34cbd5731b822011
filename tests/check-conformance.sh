#!/bin/sh
# Runs `msc check` over one conformance group and enforces the acceptance
# rule: zero FAIL, and UNSUPPORTED only for cases whose tensors use a dtype
# outside float32/float16/int8/uint8/int32/int64/bool (the message must name
# such a dtype). Exit 77 (meson: skipped) when the corpus is absent.
# usage: check-conformance.sh MSC GROUP_DIR [extra msc check args...]
set -u
msc=$1; dir=$2; shift 2
if [ ! -d "$dir" ]; then
  echo "SKIP: conformance group $dir not found (../shared/conformance absent)"
  exit 77
fi
out=$("$msc" check --failures-only "$dir" "$@" 2>&1)
rc=$?
echo "$out"
bad=$(echo "$out" | grep '^UNSUPPORTED' | grep -Ev '(dtype|to) (double|bfloat16|uint16|int16|uint32|uint64|string|complex64|complex128)( |$)' || true)
if [ -n "$bad" ]; then
  echo "UNSUPPORTED cases not explained by an unsupported dtype:"
  echo "$bad"
  exit 1
fi
if ! echo "$out" | grep -q '^check: '; then
  echo "no summary line from msc check"
  exit 1
fi
exit $rc
