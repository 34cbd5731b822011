#!/bin/sh
# Builds the libFuzzer targets (fuzz/fuzz-*.c) into a separate build dir with
# clang -fsanitize=fuzzer,address,undefined; the project's sources (the lists
# in core/, ops/, runtime/ meson.build) are compiled with the same
# instrumentation. Incremental (make with dependency files).
#   usage: fuzz/build.sh [BUILD_DIR]     (default: build-fuzz in the repo root)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
out=${1:-$src/build-fuzz}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
jobs=${FUZZ_BUILD_JOBS:-2}

if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz/build.sh: clang is missing (scripts/install-deps installs clang and libclang-rt-14-dev)" >&2
  exit 1
fi
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
    clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
  echo "fuzz/build.sh: clang cannot link -fsanitize=fuzzer (install libclang-rt-14-dev)" >&2
  exit 1
fi

mkdir -p "$out/gen"
# onnx.pb-c.[ch] from the schema, as core/meson.build does
proto=$(sed -n "s/.*'onnx_proto'.*value *: *'\([^']*\)'.*/\1/p" "$src/meson_options.txt")
proto=${FUZZ_ONNX_PROTO:-${proto:-/usr/include/onnx/onnx.proto}}
if [ ! -f "$out/gen/onnx.pb-c.c" ] || [ "$proto" -nt "$out/gen/onnx.pb-c.c" ]; then
  protoc-c --proto_path="$(dirname "$proto")" --c_out="$out/gen" "$proto"
fi
# msc-config.h as the top meson.build writes it; plugins come from the normal
# build (they link only libc, so a gcc-built plugin loads into these binaries)
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -n 1)
cfg="$out/gen/msc-config.h.tmp"
{
  echo "#pragma once"
  echo "#define MSC_VERSION \"${version:-0}\""
  echo "#define MSC_BUILD_PLUGIN_DIR \"${FUZZ_PLUGIN_DIR:-$src/build/plugins}\""
  echo "#define MSC_INSTALL_PLUGIN_DIR \"$out/plugins-installed\""
  # as meson's conf.set10(): 1 when runtime/export-archive.c builds with libarchive
  if grep -q "'export-archive.c'" "$src/runtime/meson.build"; then
    if pkg-config --exists libarchive; then echo "#define MSC_HAVE_LIBARCHIVE 1"; else echo "#define MSC_HAVE_LIBARCHIVE 0"; fi
  fi
} >"$cfg"
if cmp -s "$cfg" "$out/gen/msc-config.h"; then rm -f "$cfg"; else mv "$cfg" "$out/gen/msc-config.h"; fi

sources=""
incs=""
for mb in $(cd "$src" && find core ops runtime -name meson.build | sort); do
  d=$(dirname "$mb")
  case $d in
    */*) # a nested dir counts once its parent's meson.build has subdir('NAME')
      grep -q "subdir *( *'$(basename "$d")' *)" "$src/$(dirname "$d")/meson.build" || continue ;;
  esac
  for f in $(grep -oE "'[A-Za-z0-9_./-]+\.c'" "$src/$mb" | tr -d "'"); do
    [ -f "$src/$d/$f" ] && sources="$sources $d/$f"
  done
done
for d in $(cd "$src" && find core ops runtime -name '*.h' -exec dirname {} \; | sort -u); do
  incs="$incs -I$src/$d"
done
targets=""
for f in "$here"/fuzz-*.c; do
  t=$(basename "$f" .c)
  targets="$targets ${t#fuzz-}"
done
exec make --no-print-directory -j"$jobs" -f "$here/fuzz.mk" SRCDIR="$src" OUT="$out" \
  SOURCES="$sources" TARGETS="$targets" INCS="$incs"
