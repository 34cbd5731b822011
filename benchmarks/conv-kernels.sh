#!/bin/sh
# conv-kernels.sh: builds (if meson did not) and runs the conv kernel
# micro-benchmark (benchmarks/conv-kernels.c): direct vs Winograd per 3x3
# layer, depthwise vs copy bandwidth, % of the FP32 peak measured in the run.
# usage: benchmarks/conv-kernels.sh [BUILD_DIR] [conv-kernels args...]
#   e.g. benchmarks/conv-kernels.sh build --isa avx2 --threads 1
#        MSC_ISA=scalar benchmarks/conv-kernels.sh build --crossover
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
case $build in /*) ;; *) build=$src/$build ;; esac
bin=$build/benchmarks/conv-kernels
if [ ! -x "$bin" ] || [ "$src/benchmarks/conv-kernels.c" -nt "$bin" ]; then
  # not (yet) a meson target: compile against the build's libmsc
  bin=$build/conv-kernels-bench
  if [ ! -x "$bin" ] || [ "$src/benchmarks/conv-kernels.c" -nt "$bin" ]; then
    ${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -I"$src/ops" -I"$src/core" -I"$src" \
      $(pkg-config --cflags glib-2.0) "$src/benchmarks/conv-kernels.c" -o "$bin" \
      -L"$build" -Wl,-rpath,"$build" -lmsc $(pkg-config --libs glib-2.0) -lm -pthread
  fi
fi
exec nice "$bin" "$@"
