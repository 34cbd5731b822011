/* bench-util.h: what the C micro-benchmarks (conv-bench.c, conv-kernels.c,
 * int8-layers.c) share: the layer-shape row, the clock, medians and
 * aligned buffers. Header-only: conv-kernels.sh also builds its benchmark
 * by hand, outside meson. */
#ifndef MSC_BENCH_UTIL_H
#define MSC_BENCH_UTIL_H

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One conv layer: N=1, square kernels (k), stride s, symmetric pads p. */
typedef struct {
  const char *name;
  int64_t c, h, w, m, k, s, p, groups;
} BenchLayer;

/* Seconds: the calling thread's CPU time with @cpu_clock (one thread on a
 * shared machine: time-slicing by others does not count), else wall time. */
static inline double bench_now(gboolean cpu_clock) {
  struct timespec ts;
  clock_gettime(cpu_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

/* qsort order for doubles, ascending. */
static inline int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

typedef void (*BenchFn)(void *ctx);

/* Median of @n values (sorts @v in place). */
static inline double bench_median_of(double *v, int n) {
  qsort(v, (size_t) n, sizeof(double), bench_cmp_double);
  return v[n / 2];
}

/* Median of @iters timed runs of @fn, in seconds. */
static inline double bench_median(BenchFn fn, void *ctx, int iters, gboolean cpu_clock) {
  double *t = g_new(double, iters);
  for (int i = 0; i < iters; i++) {
    double t0 = bench_now(cpu_clock);
    fn(ctx);
    t[i] = bench_now(cpu_clock) - t0;
  }
  double m = bench_median_of(t, iters);
  g_free(t);
  return m;
}

/* @bytes zeroed, 64-byte aligned (free()); aborts when out of memory. */
static inline void *bench_xalloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
    abort();
  memset(p, 0, bytes);
  return p;
}

#endif
