/* conv-bench.c: conv micro-benchmark over real CNN layer shapes.
 *
 * Measures, in the same run, this machine's single-thread FP32 FMA peak per
 * ISA (register-resident FMA loop) and the memcpy bandwidth on a buffer the
 * size of each depthwise layer's input+output, then times each layer of the
 * table through msc_conv2d_plan_run at 1 and 2 threads. Prints GFLOP/s, %
 * of peak (x threads) and, for depthwise, % of the copy bandwidth. Times are
 * the best of R medians of I runs each (shared machines are noisy).
 *
 * Usage: conv-bench [--isa all|scalar|avx2|avx512] [--rounds R] [--iters I] [--threads 1,2] [--only SUBSTR]
 *                   [--layer C,H,W,M,K,S,P[,G]]   (one custom layer instead of the table)
 *                   [--ab VAR=VALUE]
 *
 * --ab VAR=VALUE: A/B an environment switch in one process. Each layer gets
 * two plans, A built with the environment as it is and B with VAR=VALUE
 * set (for switches read when the plan is built), and single runs of A and
 * B alternate (VAR=VALUE set around each B run, for switches read at run
 * time), rounds x iters pairs. Prints the median of each and the median of
 * the per-pair ratios B/A: on a noisy machine both sides see the same noise.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-util.h"
#include "kernels/conv2d-plan.h"
#include "threadpool.h"

typedef BenchLayer Layer;

/* N=1; square kernels; symmetric pads. */
static const Layer layers[] = {
    {"resnet50-stem-7x7s2-c3-m64@224", 3, 224, 224, 64, 7, 2, 3, 1},
    {"resnet50-3x3s1-c64-m64@56", 64, 56, 56, 64, 3, 1, 1, 1},
    {"resnet50-1x1-c256-m64@56", 256, 56, 56, 64, 1, 1, 0, 1},
    {"resnet50-3x3s1-c256-m256@14", 256, 14, 14, 256, 3, 1, 1, 1},
    {"mobilenetv2-dw-3x3s1-c144@56", 144, 56, 56, 144, 3, 1, 1, 144},
    {"mobilenetv2-dw-3x3s2-c96@112", 96, 112, 112, 96, 3, 2, 1, 96},
    {"mobilenetv2-1x1-c144-m24@56", 144, 56, 56, 24, 1, 1, 0, 1},
};

/* 1 thread: thread CPU time (the machine is shared: wall time would time
 * the scheduler); more threads: wall time. */
static gboolean use_cpu_clock;

/* best over rounds of the median over iters, in seconds */
static double time_best_median(BenchFn fn, void *ctx, int rounds, int iters) {
  double best = 1e30;
  fn(ctx); /* warm-up: page faults, caches */
  for (int r = 0; r < rounds; r++) {
    const double m = bench_median(fn, ctx, iters, use_cpu_clock);
    if (m < best)
      best = m;
  }
  return best;
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

/* Sets @var back to @saved, or unsets it when @saved is NULL. */
static void env_restore(const char *var, const char *saved) {
  if (saved)
    setenv(var, saved, 1);
  else
    unsetenv(var);
}

/* --cold: before every timed run of --ab, this buffer (twice the L3 of
 * today's machines) is written, so the weights and the input come from
 * memory as they do inside a large model (ResNet-50 streams ~100 MB of
 * weights per inference, more than any L3) */
static char *cold_buf;
#define COLD_BYTES ((size_t) 64 << 20)

static void evict_caches(void) {
  if (cold_buf)
    for (size_t i = 0; i < COLD_BYTES; i += 64)
      cold_buf[i]++;
}

/* --ab: alternates single runs of @a (environment as it is) and @b
 * (@var=@val set around it); medians of each, and of the pair ratios. */
static void ab_time(ConvRun *a, ConvRun *b, const char *var, const char *val, int pairs, double *ma, double *mb,
                    double *mratio) {
  const char *old = getenv(var);
  char *saved = old ? g_strdup(old) : NULL;
  double *ta = g_new(double, pairs), *tb = g_new(double, pairs), *tr = g_new(double, pairs);
  conv_run(a);
  setenv(var, val, 1);
  conv_run(b);
  for (int i = 0; i < pairs; i++) {
    env_restore(var, saved);
    evict_caches();
    double t0 = bench_now(use_cpu_clock);
    conv_run(a);
    ta[i] = bench_now(use_cpu_clock) - t0;
    setenv(var, val, 1);
    evict_caches();
    t0 = bench_now(use_cpu_clock);
    conv_run(b);
    tb[i] = bench_now(use_cpu_clock) - t0;
    tr[i] = tb[i] / ta[i];
  }
  env_restore(var, saved);
  *ma = bench_median_of(ta, pairs);
  *mb = bench_median_of(tb, pairs);
  *mratio = bench_median_of(tr, pairs);
  g_free(ta);
  g_free(tb);
  g_free(tr);
  g_free(saved);
}

static void copy_run(void *vctx) {
  CopyRun *c = vctx;
  memcpy(c->dst, c->src, c->n);
}

int main(int argc, char **argv) {
  const char *isa_arg = NULL, *threads_arg = "1,2", *only = NULL;
  char *ab_var = NULL, *ab_val = NULL;
  Layer custom;
  const Layer *table = layers;
  size_t n_layers = G_N_ELEMENTS(layers);
  int rounds = 5, iters = 7;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--isa") && i + 1 < argc)
      isa_arg = argv[++i];
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
      iters = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      threads_arg = argv[++i];
    else if (!strcmp(argv[i], "--cold"))
      cold_buf = g_malloc0(COLD_BYTES);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else if (!strcmp(argv[i], "--ab") && i + 1 < argc) {
      const char *eq = strchr(argv[++i], '=');
      if (!eq || eq == argv[i]) {
        fprintf(stderr, "conv-bench: --ab wants VAR=VALUE, got '%s'\n", argv[i]);
        return 2;
      }
      ab_var = g_strndup(argv[i], (gsize) (eq - argv[i]));
      ab_val = g_strdup(eq + 1);
    }
    else if (!strcmp(argv[i], "--layer") && i + 1 < argc) {
      /* a custom shape C,H,W,M,K,S,P[,G] replaces the table */
      long v[8] = {0, 0, 0, 0, 0, 0, 0, 1};
      int n = sscanf(argv[++i], "%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                     &v[7]);
      if (n < 7 || v[0] < 1 || v[1] < 1 || v[2] < 1 || v[3] < 1 || v[4] < 1 || v[5] < 1 || v[6] < 0 || v[7] < 1) {
        fprintf(stderr, "conv-bench: --layer wants C,H,W,M,K,S,P[,G] (positive), got '%s'\n", argv[i]);
        return 2;
      }
      custom = (Layer){argv[i], v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
      table = &custom;
      n_layers = 1;
    }
    else {
      fprintf(stderr, "usage: %s [--isa all|scalar|avx2|avx512] [--rounds R] [--iters I] [--threads 1,2] [--only SUBSTR] [--layer C,H,W,M,K,S,P[,G]] [--ab VAR=VALUE [--cold]]\n", argv[0]);
      return 2;
    }
  }
  if (rounds < 1)
    rounds = 1;
  if (iters < 1)
    iters = 1;
  const MscIsa top = msc_isa_detect();
  MscIsa isas[3];
  int n_isas = 0;
  if (isa_arg && !strcmp(isa_arg, "all")) {
    for (int i = (int) top; i >= MSC_ISA_SCALAR; i--)
      isas[n_isas++] = (MscIsa) i;
  } else if (isa_arg) {
    for (int i = MSC_ISA_SCALAR; i <= MSC_ISA_AVX512; i++)
      if (!strcmp(isa_arg, msc_isa_name((MscIsa) i)))
        isas[n_isas++] = (MscIsa) i;
    if (n_isas == 0 || !msc_isa_supported(isas[0])) {
      fprintf(stderr, "conv-bench: --isa %s: not supported here (best: %s)\n", isa_arg, msc_isa_name(top));
      return 1;
    }
  } else {
    isas[n_isas++] = top;
  }
  int threads[8], n_threads = 0;
  char **tv = g_strsplit(threads_arg, ",", 8);
  for (int i = 0; tv[i] && n_threads < 8; i++)
    if (atoi(tv[i]) >= 1)
      threads[n_threads++] = atoi(tv[i]);
  g_strfreev(tv);

  for (int ii = 0; ii < n_isas; ii++) {
    const MscIsa isa = isas[ii];
    const char *iname = msc_isa_name(isa);
    const double peak = msc_isa_fma_peak_gflops(isa, 0.05);
    printf("[%s] fp32 fma peak (1 thread, measured): %.1f GFLOP/s; times: best of %d medians of %d runs, "
           "thread CPU time at 1 thread, wall time above\n", iname, peak, rounds, iters);
    printf("[%-6s] %-34s %3s %9s %9s %8s %s\n", iname, "layer", "thr", "ms", "GFLOP/s", "%peak", "(algo / depthwise: GB/s, %copy-bw)");
    for (size_t li = 0; li < n_layers; li++) {
      const Layer *L = &table[li];
      if (only && !strstr(L->name, only))
        continue;
      MscConv2dParams p = {
          .batch = 1, .in_channels = L->c, .in_h = L->h, .in_w = L->w, .out_channels = L->m, .kernel_h = L->k,
          .kernel_w = L->k, .stride_h = L->s, .stride_w = L->s, .dilation_h = 1, .dilation_w = 1,
          .pad_top = L->p, .pad_left = L->p, .pad_bottom = L->p, .pad_right = L->p, .groups = L->groups,
          .act = MSC_ACT_RELU,
      };
      const size_t nw = (size_t) (L->m * (L->c / L->groups) * L->k * L->k);
      float *w = g_new(float, nw), *b = g_new(float, L->m);
      for (size_t i = 0; i < nw; i++)
        w[i] = (float) ((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
      for (int64_t i = 0; i < L->m; i++)
        b[i] = 0.01f * (float) i;
      GError *err = NULL;
      MscConv2dPlan *plan = msc_conv2d_plan_create(&p, w, b, isa, &err);
      if (!plan) {
        printf("[%s] %s: %s\n", iname, L->name, err->message);
        g_clear_error(&err);
        continue;
      }
      int64_t d[4];
      msc_conv2d_plan_output_shape(plan, d);
      const size_t nx = (size_t) (L->c * L->h * L->w), ny = (size_t) (d[1] * d[2] * d[3]);
      float *x = bench_xalloc(nx * sizeof(float)), *y = bench_xalloc(ny * sizeof(float));
      for (size_t i = 0; i < nx; i++)
        x[i] = (float) (i % 17) * 0.1f - 0.8f;
      void *ws = bench_xalloc(msc_conv2d_plan_workspace_size(plan) + 64);
      const double flops = 2.0 * (double) ny * (double) (L->c / L->groups) * (double) (L->k * L->k);
      const gboolean dw = L->groups == L->c && L->groups == L->m;
      double copy_gbs = 0;
      const double bytes = (double) (nx + ny) * sizeof(float);
      if (dw) {
        /* memcpy between two halves of an (in+out)-sized footprint */
        CopyRun cr = {.n = (nx + ny) * sizeof(float) / 2};
        use_cpu_clock = TRUE;
        cr.src = bench_xalloc(cr.n);
        cr.dst = bench_xalloc(cr.n);
        double t = time_best_median(copy_run, &cr, rounds, iters * 3);
        copy_gbs = 2.0 * (double) cr.n / t * 1e-9;
        free(cr.src);
        free(cr.dst);
      }
      for (int ti = 0; ti < n_threads; ti++) {
        MscThreadPool *pool = msc_threadpool_new(threads[ti]);
        ConvRun cr = {.plan = plan, .x = x, .y = y, .ws = ws, .pool = pool};
        use_cpu_clock = threads[ti] == 1;
        if (ab_var) {
          const char *old = getenv(ab_var);
          char *saved = old ? g_strdup(old) : NULL;
          setenv(ab_var, ab_val, 1);
          MscConv2dPlan *pb = msc_conv2d_plan_create(&p, w, b, isa, NULL);
          env_restore(ab_var, saved);
          g_free(saved);
          void *wsb = bench_xalloc(msc_conv2d_plan_workspace_size(pb) + 64);
          ConvRun cb = {.plan = pb, .x = x, .y = y, .ws = wsb, .pool = pool};
          double ma, mb, mr;
          ab_time(&cr, &cb, ab_var, ab_val, rounds * iters, &ma, &mb, &mr);
          printf("[%-6s] %-34s %3d A %.3f ms %.1f%% (%s) | B %s=%s %.3f ms %.1f%% (%s) | B/A %.3f (median of %d "
                 "pair ratios)\n",
                 iname, L->name, threads[ti], ma * 1e3, 100.0 * flops / ma * 1e-9 / (peak * threads[ti]),
                 msc_conv2d_plan_describe(plan), ab_var, ab_val, mb * 1e3,
                 100.0 * flops / mb * 1e-9 / (peak * threads[ti]), msc_conv2d_plan_describe(pb), mr, rounds * iters);
          free(wsb);
          msc_conv2d_plan_free(pb);
          msc_threadpool_free(pool);
          continue;
        }
        int it = iters;
        if (isa == MSC_ISA_SCALAR)
          it = 3; /* the fallback is ~10x slower; keep the run short */
        double t = time_best_median(conv_run, &cr, isa == MSC_ISA_SCALAR ? 1 : rounds, it);
        const double gf = flops / t * 1e-9;
        printf("[%-6s] %-34s %3d %9.3f %9.1f %7.1f%% (%s", iname, L->name, threads[ti], t * 1e3, gf,
               100.0 * gf / (peak * threads[ti]), msc_conv2d_plan_describe(plan));
        if (dw)
          printf("; %.1f GB/s = %.0f%% of copy %.1f GB/s", bytes / t * 1e-9, 100.0 * bytes / t * 1e-9 / copy_gbs,
                 copy_gbs);
        printf(")\n");
        msc_threadpool_free(pool);
      }
      fflush(stdout);
      msc_conv2d_plan_free(plan);
      free(x);
      free(y);
      free(ws);
      g_free(w);
      g_free(b);
    }
  }
  g_free(ab_var);
  g_free(cold_buf);
  g_free(ab_val);
  return 0;
}
