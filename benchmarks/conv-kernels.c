/* conv-kernels.c: direct vs Winograd, and depthwise vs copy bandwidth, per
 * CNN layer shape, through the public conv2d plan API (ops/kernels).
 *
 * For every 3x3 stride-1 layer it builds two plans of the same conv, the
 * direct one (MSC_WINOGRAD=0 at creation) and the Winograd one
 * (MSC_WINOGRAD=2 forces it), times them alternately (best over rounds of
 * the median of iters runs) and prints effective GFLOP/s (direct FLOPs /
 * time: Winograd may exceed 100% of peak), % of the FP32 FMA peak measured
 * in the same run, and the error of Winograd against the direct output on
 * the same random data (max |diff| / max |direct|). Depthwise layers print
 * GB/s (input + output bytes / time) next to memcpy of the same bytes,
 * timed alternately. One thread: thread CPU time (a shared machine); more:
 * wall time. Built by hand or by benchmarks/meson.build; see
 * benchmarks/conv-kernels.sh and docs/kernels.md.
 *
 * Usage: conv-kernels [--isa scalar|avx2|avx512] [--threads N] [--rounds R] [--iters I] [--only SUBSTR]
 *                     [--crossover]   (also sweep channel/size grids for the Winograd rule)
 *                     [--crossover-m M]  (the same sweep with M output channels fixed)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-util.h"
#include "kernels/conv2d-plan.h"
#include "threadpool.h"

typedef BenchLayer Layer;

/* N=1, square kernels, symmetric pads */
static const Layer layers[] = {
    {"resnet50-3x3-c64@56", 64, 56, 56, 64, 3, 1, 1, 1},
    {"resnet50-3x3-c128@28", 128, 28, 28, 128, 3, 1, 1, 1},
    {"resnet50-3x3-c256@14", 256, 14, 14, 256, 3, 1, 1, 1},
    {"resnet50-3x3-c512@7", 512, 7, 7, 512, 3, 1, 1, 1},
    {"vgg-3x3-c64@224", 64, 224, 224, 64, 3, 1, 1, 1},
    {"vgg-3x3-c128@112", 128, 112, 112, 128, 3, 1, 1, 1},
    {"vgg-3x3-c256@56", 256, 56, 56, 256, 3, 1, 1, 1},
    {"mbv2-dw-3x3s1-c144@56", 144, 56, 56, 144, 3, 1, 1, 144},
    {"mbv2-dw-3x3s2-c96@112", 96, 112, 112, 96, 3, 2, 1, 96},
    {"mbv2-dw-3x3s1-c192@28", 192, 28, 28, 192, 3, 1, 1, 192},
    {"mbv2-dw-3x3s2-c144@56", 144, 56, 56, 144, 3, 2, 1, 144},
    {"mbv2-dw-3x3s1-c384@14", 384, 14, 14, 384, 3, 1, 1, 384},
    {"mbv2-dw-3x3s1-c960@7", 960, 7, 7, 960, 3, 1, 1, 960},
    {"mbv1-dw-3x3s1-c32@112", 32, 112, 112, 32, 3, 1, 1, 32},
};

static gboolean use_cpu_clock;

/* median of iters runs */
static double time_median(BenchFn fn, void *ctx, int iters) {
  return bench_median(fn, ctx, iters, use_cpu_clock);
}

typedef struct {
  MscConv2dPlan *plan;
  const float *x;
  float *y;
  void *ws;
  MscThreadPool *pool;
} ConvRun;

static void conv_run(void *vctx) {
  ConvRun *c = vctx;
  msc_conv2d_plan_run(c->plan, c->x, NULL, c->y, c->ws, c->pool);
}

typedef struct {
  char *src, *dst;
  size_t n;
} CopyRun;

static void copy_run(void *vctx) {
  CopyRun *c = vctx;
  memcpy(c->dst, c->src, c->n);
}

static MscConv2dPlan *make_plan(const Layer *l, const float *w, const float *b, MscIsa isa, const char *wino,
                                void **ws) {
  MscConv2dParams p = {
      .batch = 1, .in_channels = l->c, .in_h = l->h, .in_w = l->w, .out_channels = l->m,
      .kernel_h = l->k, .kernel_w = l->k, .stride_h = l->s, .stride_w = l->s, .dilation_h = 1, .dilation_w = 1,
      .pad_top = l->p, .pad_left = l->p, .pad_bottom = l->p, .pad_right = l->p, .groups = l->groups,
      .act = MSC_ACT_RELU,
  };
  g_setenv("MSC_WINOGRAD", wino, TRUE);
  GError *err = NULL;
  MscConv2dPlan *plan = msc_conv2d_plan_create(&p, w, b, isa, &err);
  g_unsetenv("MSC_WINOGRAD");
  if (!plan) {
    fprintf(stderr, "conv-kernels: %s: %s\n", l->name, err ? err->message : "no plan");
    g_clear_error(&err);
    return NULL;
  }
  *ws = bench_xalloc(msc_conv2d_plan_workspace_size(plan) + 64);
  return plan;
}

typedef struct {
  double direct_s, wino_s, max_abs, max_ref;
  char direct_desc[96], wino_desc[96];
} DenseResult;

/* times direct and Winograd plans of @l alternately; FALSE if a plan failed */
static gboolean bench_dense(const Layer *l, MscIsa isa, MscThreadPool *pool, int rounds, int iters, DenseResult *res) {
  GRand *rng = g_rand_new_with_seed(42);
  const int64_t oh = (l->h + 2 * l->p - l->k) / l->s + 1, ow = (l->w + 2 * l->p - l->k) / l->s + 1;
  const size_t nx = (size_t) (l->c * l->h * l->w), ny = (size_t) (l->m * oh * ow);
  const size_t nw = (size_t) (l->m * (l->c / l->groups) * l->k * l->k);
  float *x = bench_xalloc(nx * 4), *w = bench_xalloc(nw * 4), *b = bench_xalloc((size_t) l->m * 4);
  float *y0 = bench_xalloc(ny * 4), *y1 = bench_xalloc(ny * 4);
  const double wscale = 1.0 / sqrt((double) (l->c / l->groups * l->k * l->k));
  for (size_t i = 0; i < nx; i++)
    x[i] = (float) g_rand_double_range(rng, -1, 1);
  for (size_t i = 0; i < nw; i++)
    w[i] = (float) (g_rand_double_range(rng, -1, 1) * wscale);
  for (int64_t i = 0; i < l->m; i++)
    b[i] = (float) g_rand_double_range(rng, -0.1, 0.1);
  void *ws0 = NULL, *ws1 = NULL;
  MscConv2dPlan *p0 = make_plan(l, w, b, isa, "0", &ws0), *p1 = make_plan(l, w, b, isa, "2", &ws1);
  gboolean ok = p0 && p1;
  if (ok) {
    ConvRun r0 = {p0, x, y0, ws0, pool}, r1 = {p1, x, y1, ws1, pool};
    conv_run(&r0);
    conv_run(&r1);
    res->max_abs = res->max_ref = 0;
    for (size_t i = 0; i < ny; i++) {
      res->max_abs = fmax(res->max_abs, fabs((double) y1[i] - y0[i]));
      res->max_ref = fmax(res->max_ref, fabs((double) y0[i]));
    }
    res->direct_s = res->wino_s = 1e30;
    for (int rd = 0; rd < rounds; rd++) {
      res->direct_s = fmin(res->direct_s, time_median(conv_run, &r0, iters));
      res->wino_s = fmin(res->wino_s, time_median(conv_run, &r1, iters));
    }
    g_strlcpy(res->direct_desc, msc_conv2d_plan_describe(p0), sizeof res->direct_desc);
    g_strlcpy(res->wino_desc, msc_conv2d_plan_describe(p1), sizeof res->wino_desc);
  }
  msc_conv2d_plan_free(p0);
  msc_conv2d_plan_free(p1);
  free(ws0);
  free(ws1);
  free(x);
  free(w);
  free(b);
  free(y0);
  free(y1);
  g_rand_free(rng);
  return ok;
}

static double layer_flops(const Layer *l) {
  const int64_t oh = (l->h + 2 * l->p - l->k) / l->s + 1, ow = (l->w + 2 * l->p - l->k) / l->s + 1;
  return 2.0 * (double) l->m * (double) (oh * ow) * (double) (l->c / l->groups * l->k * l->k);
}

static void bench_depthwise(const Layer *l, MscIsa isa, MscThreadPool *pool, int rounds, int iters, double peak,
                            int nthreads) {
  const int64_t oh = (l->h + 2 * l->p - l->k) / l->s + 1, ow = (l->w + 2 * l->p - l->k) / l->s + 1;
  const size_t nx = (size_t) (l->c * l->h * l->w), ny = (size_t) (l->m * oh * ow);
  float *x = bench_xalloc(nx * 4), *w = bench_xalloc((size_t) (l->m * l->k * l->k) * 4), *y = bench_xalloc(ny * 4);
  for (size_t i = 0; i < nx; i++)
    x[i] = (float) (i % 13) * 0.1f;
  void *ws = NULL;
  MscConv2dPlan *plan = make_plan(l, w, NULL, isa, "1", &ws);
  if (!plan)
    return;
  const size_t bytes = (nx + ny) * sizeof(float);
  CopyRun cr = {bench_xalloc(bytes), bench_xalloc(bytes), bytes};
  ConvRun r = {plan, x, y, ws, pool};
  conv_run(&r);
  copy_run(&cr);
  double t = 1e30, tc = 1e30;
  for (int rd = 0; rd < rounds; rd++) {
    t = fmin(t, time_median(conv_run, &r, iters));
    tc = fmin(tc, time_median(copy_run, &cr, iters));
  }
  const double gf = layer_flops(l) / t * 1e-9, gbs = (double) bytes / t * 1e-9, cgbs = (double) bytes / tc * 1e-9;
  printf("[%-6s] %-26s %3d %8.3f %8.1f %6.1f%%   %6.1f GB/s = %3.0f%% of copy %5.1f GB/s (%.2f MB)  %s\n",
         msc_isa_name(isa), l->name, nthreads, t * 1e3, gf, 100.0 * gf / (peak * nthreads), gbs, 100.0 * gbs / cgbs,
         cgbs, (double) bytes / 1e6, msc_conv2d_plan_describe(plan));
  msc_conv2d_plan_free(plan);
  free(ws);
  free(x);
  free(w);
  free(y);
  free(cr.src);
  free(cr.dst);
}

/* Winograd/direct speed ratio over a grid of channels x sizes: the data
 * behind the rule in conv2d-winograd.c (msc_conv2d_winograd_wanted). */
static void crossover(MscIsa isa, MscThreadPool *pool, int rounds, int iters, int64_t fixed_m) {
  static const int64_t chans[] = {8, 16, 24, 32, 64, 128, 256};
  static const int64_t sizes[] = {4, 7, 8, 12, 14, 16, 28, 56};
  if (fixed_m > 0)
    printf("[%-6s] crossover: direct time / Winograd time (> 1: Winograd faster), M = %" G_GINT64_FORMAT ", 3x3 p1\n",
           msc_isa_name(isa), fixed_m);
  else
    printf("[%-6s] crossover: direct time / Winograd time (> 1: Winograd faster), C = M, 3x3 p1\n", msc_isa_name(isa));
  printf("[%-6s] %6s", msc_isa_name(isa), "C\\HxW");
  for (size_t j = 0; j < G_N_ELEMENTS(sizes); j++)
    printf(" %6" G_GINT64_FORMAT, sizes[j]);
  printf("\n");
  for (size_t i = 0; i < G_N_ELEMENTS(chans); i++) {
    printf("[%-6s] %6" G_GINT64_FORMAT, msc_isa_name(isa), chans[i]);
    for (size_t j = 0; j < G_N_ELEMENTS(sizes); j++) {
      Layer l = {"x", chans[i], sizes[j], sizes[j], fixed_m > 0 ? fixed_m : chans[i], 3, 1, 1, 1};
      DenseResult r;
      if (bench_dense(&l, isa, pool, rounds, iters, &r))
        printf(" %6.2f", r.direct_s / r.wino_s);
      else
        printf(" %6s", "-");
      fflush(stdout);
    }
    printf("\n");
  }
}

int main(int argc, char **argv) {
  const char *isa_arg = NULL, *only = NULL;
  int rounds = 5, iters = 7, nthreads = 1;
  gboolean cross = FALSE;
  int64_t cross_m = 0; /* --crossover-m M: fixed output channels (default M = C) */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--isa") && i + 1 < argc)
      isa_arg = argv[++i];
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
      iters = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      nthreads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else if (!strcmp(argv[i], "--crossover"))
      cross = TRUE;
    else if (!strcmp(argv[i], "--crossover-m") && i + 1 < argc) {
      cross = TRUE;
      cross_m = atoi(argv[++i]);
    }
    else {
      fprintf(stderr,
              "usage: %s [--isa scalar|avx2|avx512] [--threads N] [--rounds R] [--iters I] [--only SUBSTR] "
              "[--crossover] [--crossover-m M]\n",
              argv[0]);
      return 2;
    }
  }
  rounds = MAX(rounds, 1);
  iters = MAX(iters, 1);
  nthreads = MAX(nthreads, 1);
  MscIsa isa = msc_isa_detect();
  if (isa_arg) {
    gboolean found = FALSE;
    for (int i = MSC_ISA_SCALAR; i <= MSC_ISA_AVX512; i++)
      if (!strcmp(isa_arg, msc_isa_name((MscIsa) i))) {
        isa = (MscIsa) i;
        found = TRUE;
      }
    if (!found || !msc_isa_supported(isa)) {
      fprintf(stderr, "conv-kernels: --isa %s: not supported here (best: %s)\n", isa_arg,
              msc_isa_name(msc_isa_detect()));
      return 1;
    }
  }
  use_cpu_clock = nthreads == 1;
  MscThreadPool *pool = nthreads > 1 ? msc_threadpool_new(nthreads) : NULL;
  const double peak = msc_isa_fma_peak_gflops(isa, 0.05);
  printf("[%s] fp32 FMA peak (1 thread, measured): %.1f GFLOP/s; %d thread(s); best of %d medians of %d runs, "
         "direct and Winograd alternated; effective GFLOP/s = direct FLOPs / time\n",
         msc_isa_name(isa), peak, nthreads, rounds, iters);
  if (cross) {
    crossover(isa, pool, rounds, iters, cross_m);
  } else {
    printf("[%-6s] %-26s %3s %8s %8s %7s | %8s %8s %7s | %6s | %s\n", msc_isa_name(isa), "layer", "thr", "dir ms",
           "GFLOP/s", "%peak", "wino ms", "eff GF/s", "%peak", "speedup", "wino err: max|d|/max|ref| (abs)");
    for (size_t li = 0; li < G_N_ELEMENTS(layers); li++) {
      const Layer *l = &layers[li];
      if (only && !strstr(l->name, only))
        continue;
      if (l->groups > 1) {
        bench_depthwise(l, isa, pool, rounds, iters, peak, nthreads);
        continue;
      }
      DenseResult r;
      if (!bench_dense(l, isa, pool, rounds, iters, &r))
        continue;
      const double f = layer_flops(l), g0 = f / r.direct_s * 1e-9, g1 = f / r.wino_s * 1e-9;
      printf("[%-6s] %-26s %3d %8.3f %8.1f %6.1f%% | %8.3f %8.1f %6.1f%% | %6.2fx | %.2e (%.2e)  [%s | %s]\n",
             msc_isa_name(isa), l->name, nthreads, r.direct_s * 1e3, g0, 100 * g0 / (peak * nthreads),
             r.wino_s * 1e3, g1, 100 * g1 / (peak * nthreads), r.direct_s / r.wino_s, r.max_abs / r.max_ref,
             r.max_abs, r.direct_desc, r.wino_desc);
      fflush(stdout);
    }
  }
  if (pool)
    msc_threadpool_free(pool);
  return 0;
}
