#!/bin/sh
# pipeline-cli.sh MSC SOURCE_ROOT CONFORMANCE_DIR: `msc run` end to end.
#  - etc/profile-only.ini (zoo:resnet_mini) twice: the second run re-uses
#    the plan files and says so; `msc run --from` re-checks the export.
#  - the PP-OCR cls model (etc/profile-only-ppocr.ini, cpu runner or ref)
#    twice; skipped when the corpus is absent.
#  - failures: a bad config is one line naming FILE:LINE; a failing stage
#    is named; nothing half-written (no temp files, no model.onnx).
set -u
MSC=$1
SRC=$2
CORPUS=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$T/etc"
cp "$SRC/etc/profile-only.ini" "$T/etc/"
"$MSC" run -q "$T/etc/profile-only.ini" >"$T/out1" 2>"$T/err1" || { cat "$T/out1" "$T/err1"; fail "profile-only run 1"; }
grep -q "plan profiler: re-planned" "$T/out1" || fail "run 1 should plan the profiler"
"$MSC" run "$T/etc/profile-only.ini" >"$T/out2" 2>"$T/err2" || { cat "$T/out2" "$T/err2"; fail "profile-only run 2"; }
grep -q "plan profiler: re-used" "$T/out2" || { cat "$T/out2"; fail "run 2 should re-use the profiler plan"; }
grep -q "plan tracker: re-used" "$T/out2" || fail "run 2 should re-use the tracker plan"
grep -q "re-using plan" "$T/err2" || fail "run 2 progress should say it re-uses plans"
OUT="$T/msc-out/profile-only"
for f in model.onnx config.ini report.json plans/profiler.json plans/profiler.trace.json plans/tracker.json \
         golden/test_data_set_0/input_0.pb golden/test_data_set_0/output_0.pb; do
  [ -f "$OUT/$f" ] || fail "export lacks $f"
done
grep -q '"success" : true' "$OUT/report.json" || fail "report.json success"
"$MSC" run -q --from "$OUT" >"$T/out3" 2>&1 || { cat "$T/out3"; fail "run --from"; }
grep -q "recorded median" "$T/out3" || fail "run --from should compare with the recorded report"
echo "ok: profile-only on zoo:resnet_mini, plan re-use, --from"

# PP-OCR cls model (path relative to etc/: ../../shared/conformance)
if [ -f "$CORPUS/models/ppocr_cls_mobile_v2/model.onnx" ]; then
  mkdir -p "$T/p/etc"
  RUNNER=cpu
  "$MSC" plugins 2>/dev/null | grep -q "msc.runner.cpu" || RUNNER=ref
  sed -e "s#^path = ../../shared/conformance#path = $CORPUS#" -e "s#^name = cpu#name = $RUNNER#" \
    "$SRC/etc/profile-only-ppocr.ini" >"$T/p/etc/profile-only-ppocr.ini"
  "$MSC" run -q "$T/p/etc/profile-only-ppocr.ini" >"$T/p1" 2>&1 || { cat "$T/p1"; fail "ppocr run 1"; }
  "$MSC" run -q "$T/p/etc/profile-only-ppocr.ini" >"$T/p2" 2>&1 || { cat "$T/p2"; fail "ppocr run 2"; }
  grep -q "plan profiler: re-used" "$T/p2" || { cat "$T/p2"; fail "ppocr run 2 should re-use plans"; }
  grep -q "^compile .*pass" "$T/p2" || fail "ppocr compile check"
  echo "ok: ppocr_cls_mobile_v2 on $RUNNER, plan re-use"
else
  echo "skip: ppocr_cls_mobile_v2 not found under $CORPUS"
fi

# bad config: one line naming FILE:LINE
printf '[model]\npath = zoo:resnet_mini\n[benchmark]\nrepeat = zero\n' >"$T/bad.ini"
"$MSC" run "$T/bad.ini" >"$T/b.out" 2>"$T/b.err" && fail "bad config should fail"
[ "$(wc -l <"$T/b.err")" -eq 1 ] || { cat "$T/b.err"; fail "bad config: one line expected"; }
grep -q "bad.ini:4: \[benchmark\] repeat" "$T/b.err" || { cat "$T/b.err"; fail "bad config: FILE:LINE"; }

# failing stage: named, later stages not run, nothing half-written
mkdir -p "$T/emptyset"
printf '[model]\npath = zoo:resnet_mini\n[dataset]\nsource = files\npath = emptyset\n[export]\ndir = out-fail\n' >"$T/fail.ini"
"$MSC" run -q "$T/fail.ini" >"$T/f.out" 2>"$T/f.err" && fail "failing stage should fail"
grep -q "stage 'prepare'" "$T/f.err" || { cat "$T/f.err"; fail "failing stage not named"; }
grep -q "^export  *not run" "$T/f.out" || { cat "$T/f.out"; fail "later stages should be 'not run'"; }
[ ! -e "$T/out-fail/model.onnx" ] || fail "model.onnx written by a failed run"
if find "$T" -name '*.tmp*' | grep -q .; then fail "temp files left behind"; fi
echo "ok: failures"
exit 0
