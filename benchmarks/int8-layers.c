/* int8-layers.c: per-layer speed of the cpu runner's int8 conv (exact int16
 * vpmaddwd kernel (integer Winograd F(2x2,3x3) on 3x3 stride-1 layers of 12x12+, row-wise depthwise),
 * 7-bit-weight vpmaddubsw kernel, and the old paths: im2col panels, no Winograd, the per-channel
 * flat depthwise kernel)
 * against the fp32 conv plans of ops/kernels (direct: MSC_WINOGRAD=0, and
 * the default choice, which may be Winograd), on ResNet-50 and MobileNet
 * layer shapes, N=1. Variants alternate inside every round; each time is the
 * best over rounds of the median over iters (1 thread: thread CPU time;
 * more: wall time). Benchmark only, never a test.
 *
 * Build (from the source root, with a configured build dir B):
 *   cc -O2 -Icore -Iops -Iplugins/runners/cpu -Iplugins/runners/cpu/int8 $(pkg-config --cflags glib-2.0) \
 *      benchmarks/int8-layers.c B/plugins/runners/cpu/libmsc-cpu-int8.a -LB -lmsc -Wl,-rpath,$PWD/B \
 *      $(pkg-config --libs glib-2.0) -lm -o /tmp/int8-layers
 * Usage: int8-layers [--rounds R] [--iters I] [--threads T] [--only SUBSTR] [--add] [--ab VAR=VALUE] [--cold]
 * --cold: 4 MB written before every timed run, untimed (L1 and L2 cold, the layer's data in L3 at best: as
 * in a whole model, where the layers between evict a layer's weights and its input lands from the one before)
 * --add: the int8 convs also apply a fused residual add of an 8-bit tensor (cpu_qconv_run_add, Relu,
 * division-free quotient) as BlazeFace's blocks do; the fp32 columns stay plain convs.
 * --ab VAR=VALUE: one more column, the exact int8 conv built with that environment switch (A/B of a
 * kernel choice in one process: the variants alternate within every round).
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
#include "qconv.h"
#include "tensor.h"
#include "threadpool.h"

typedef BenchLayer Layer;

static const Layer layers[] = {
    {"sq-3x3s2-c3-m64@224", 3, 224, 224, 64, 3, 2, 0, 1},
    {"sq-1x1-c512-m1000@13", 512, 13, 13, 1000, 1, 1, 0, 1},
    {"sq-1x1-c64-m256@13", 64, 13, 13, 256, 1, 1, 0, 1},
    {"sq-1x1-c16-m64@55", 16, 55, 55, 64, 1, 1, 0, 1},
    {"sq-1x1-c128-m16@55", 128, 55, 55, 16, 1, 1, 0, 1},
    {"sq-1x1-c64-m16@55", 64, 55, 55, 16, 1, 1, 0, 1},
    {"sq-1x1-c32-m128@27", 32, 27, 27, 128, 1, 1, 0, 1},
    {"sq-3x3-c16-m64@55", 16, 55, 55, 64, 3, 1, 1, 1},
    {"r50-3x3-c64-m64@56", 64, 56, 56, 64, 3, 1, 1, 1},
    {"r50-3x3-c128-m128@28", 128, 28, 28, 128, 3, 1, 1, 1},
    {"r50-3x3-c256-m256@14", 256, 14, 14, 256, 3, 1, 1, 1},
    {"r50-3x3-c512-m512@7", 512, 7, 7, 512, 3, 1, 1, 1},
    {"r50-3x3s2-c128-m128@56", 128, 56, 56, 128, 3, 2, 1, 1},
    {"r50-1x1-c256-m64@56", 256, 56, 56, 64, 1, 1, 0, 1},
    {"r50-1x1-c64-m256@56", 64, 56, 56, 256, 1, 1, 0, 1},
    {"r50-1x1-c512-m128@28", 512, 28, 28, 128, 1, 1, 0, 1},
    {"r50-1x1-c1024-m256@14", 1024, 14, 14, 256, 1, 1, 0, 1},
    {"1x1-c128-m256@28", 128, 28, 28, 256, 1, 1, 0, 1},
    {"3x3-c64-m128@56", 64, 56, 56, 128, 3, 1, 1, 1},
    {"mnv2-1x1-c144-m24@56", 144, 56, 56, 24, 1, 1, 0, 1},
    {"mnv2-1x1-c24-m144@56", 24, 56, 56, 144, 1, 1, 0, 1},
    {"mnv2-1x1-c192-m32@28", 192, 28, 28, 32, 1, 1, 0, 1},
    {"mnv2-dw3x3-c144@56", 144, 56, 56, 144, 3, 1, 1, 144},
    {"mnv2-dw3x3s2-c96@112", 96, 112, 112, 96, 3, 2, 1, 96},
    {"mnv2-dw3x3-c384@14", 384, 14, 14, 384, 3, 1, 1, 384},
    {"blaze-1x1-c24-m28@64", 24, 64, 64, 28, 1, 1, 0, 1},
    {"blaze-1x1-c36-m42@32", 36, 32, 32, 42, 1, 1, 0, 1},
    {"blaze-1x1-c96-m96@8", 96, 8, 8, 96, 1, 1, 0, 1},
    {"blaze-dw3x3-c24@64", 24, 64, 64, 24, 3, 1, 1, 24},
    {"blaze-dw3x3-c96@8", 96, 8, 8, 96, 3, 1, 1, 96},
    {"blaze-dw3x3-c72@16", 72, 16, 16, 72, 3, 1, 1, 72},
    {"blaze-dw3x3s2-c28@64", 28, 64, 64, 28, 3, 2, 1, 28},
    {"blaze-dw3x3s2-c88@16", 88, 16, 16, 88, 3, 2, 1, 88},
    {"blaze-stem-5x5s2-c3-m24@128", 3, 128, 128, 24, 5, 2, 2, 1},
    {"ppocr-stem-3x3s2-c3-m8@48x192", 3, 48, 192, 8, 3, 2, 1, 1},
    {"ppocr-dw5x5-c200@2x96", 200, 2, 96, 200, 5, 1, 2, 200},
    {"ppocr-1x1-c32-m200@2x96", 32, 2, 96, 200, 1, 1, 0, 1},
    {"ppocr-1x1-c16-m88@3x96", 16, 3, 96, 88, 1, 1, 0, 1},
    {"ppocr-1x1-c8-m32@6x96", 8, 6, 96, 32, 1, 1, 0, 1},
    {"mlsd-stem-3x3s2-c4-m32@320", 4, 320, 320, 32, 3, 2, 1, 1},
    {"mlsd-1x1-c16-m96@160", 16, 160, 160, 96, 1, 1, 0, 1},
    {"mlsd-dw3x3s2-c96@160", 96, 160, 160, 96, 3, 2, 1, 96},
    {"mlsd-dw3x3-c144@80", 144, 80, 80, 144, 3, 1, 1, 144},
    {"mlsd-dw3x3-c32@160", 32, 160, 160, 32, 3, 1, 1, 32},
    {"mlsd-3x3-c64-m64@80", 64, 80, 80, 64, 3, 1, 1, 1},
    {"mlsd-3x3-c128-m128@40", 128, 40, 40, 128, 3, 1, 1, 1},
};

static int threads = 1;
static double now_seconds(void) {
  return bench_now(threads == 1);
}

enum { V_F32_DIRECT, V_F32_DEFAULT, V_I8_EXACT, V_I8_U7, V_I8_IM2COL, V_I8_AB, V_N };
static const char *vnames[V_N] = {"f32-direct", "f32-default", "i8-exact", "i8-w7", "i8-im2col", "i8-exact-B"};

typedef struct {
  MscConv2dPlan *fp;
  CpuQConv *qp;
  void *ws;
} Variant;

int main(int argc, char **argv) {
  int rounds = 5, iters = 7;
  const char *only = NULL;
  int with_add = 0, cold = 0;
  const char *ab = NULL; /* --ab VAR=VALUE: one more exact int8 variant built with that environment switch */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "--add")) with_add = 1;
    else if (!strcmp(argv[i], "--cold")) cold = 1;
    else if (!strcmp(argv[i], "--ab") && i + 1 < argc && strchr(argv[i + 1], '=')) ab = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--rounds R] [--iters I] [--threads T] [--only SUBSTR] [--add] [--ab VAR=VALUE] [--cold]\n",
              argv[0]);
      return 2;
    }
  }
  if (rounds < 1) rounds = 1;
  if (iters < 1) iters = 1;
  const size_t evict_bytes = (size_t)4 << 20;
  uint8_t *evict = cold ? g_malloc(evict_bytes) : NULL;
  MscIsa isa = msc_isa_detect();
  MscThreadPool *pool = threads > 1 ? msc_threadpool_new(threads) : NULL;
  printf("int8-layers: ISA %s, %d thread(s), best of %d medians of %d; ms and speed-up vs f32-direct\n",
         msc_isa_name(isa), threads, rounds, iters);
  if (ab) printf("i8-exact-B: i8-exact built with %s\n", ab);
  if (cold) printf("cold: 4 MB written before every timed run\n");
  printf("%-24s", "layer");
  for (int v = 0; v < (ab ? V_N : V_I8_AB); v++) printf(" %11s", vnames[v]);
  printf("   x(exact) x(w7) [kernels]\n");
  for (size_t li = 0; li < G_N_ELEMENTS(layers); li++) {
    const Layer *L = &layers[li];
    if (only && !strstr(L->name, only)) continue;
    int64_t Cg = L->c / L->groups, K = Cg * L->k * L->k, nw = L->m * K;
    int64_t OH = (L->h + 2 * L->p - L->k) / L->s + 1, OW = (L->w + 2 * L->p - L->k) / L->s + 1;
    int64_t nx = L->c * L->h * L->w, ny = L->m * OH * OW;
    float *xf = g_new(float, nx), *wf = g_new(float, nw), *bf = g_new0(float, L->m), *yf = g_new(float, ny);
    uint8_t *xq = g_new(uint8_t, nx), *yq = g_new(uint8_t, ny);
    int8_t *wq = g_new(int8_t, nw), *wq7 = g_new(int8_t, nw);
    uint32_t st = 1234u + (uint32_t)li;
    for (int64_t i = 0; i < nx; i++) {
      st = st * 1664525u + 1013904223u;
      xq[i] = (uint8_t)(st >> 24);
      xf[i] = (float)xq[i] / 255.0f;
    }
    for (int64_t i = 0; i < nw; i++) {
      st = st * 1664525u + 1013904223u;
      wq[i] = (int8_t)(st >> 24);
      wq7[i] = (int8_t)(wq[i] / 2);
      wf[i] = (float)wq[i] / 512.0f;
    }
    float *mult = g_new(float, L->m);
    for (int64_t m = 0; m < L->m; m++) mult[m] = 1.0f / (float)(K * 64);
    MscConv2dParams p = {1, L->c, L->h, L->w, L->m, L->k, L->k, L->s, L->s, 1, 1, L->p, L->p, L->p, L->p,
                         L->groups, MSC_ACT_RELU, 0, 0};
    /* the residual add of --add: uint8 in and out, Relu, the two-FMA quotient, no clamp needed (as
     * vadd_try finds for these scales); the conv's output zero point (0) is the add's */
    static CpuQVAdd va = {.vs = {0.02f, 0.03f}, .vsy = 0.04f, .vinv = 25.0f, .vz = {0, 128}, .vzy = 110, .vrelu = 1,
                          .vdivfree = 1, .vnoclamp = 1, .adt = {MSC_DTYPE_UINT8, MSC_DTYPE_UINT8},
                          .ydt = MSC_DTYPE_UINT8};
    uint8_t *skq = g_malloc0((size_t)ny);
    CpuQConvDesc d = {1, L->c, L->h, L->w, L->m, L->k, L->k, L->s, L->s, 1, 1, L->p, L->p, L->p, L->p, L->groups,
                      MSC_DTYPE_UINT8, 128, MSC_DTYPE_UINT8, 0, 0, 255};
    if (with_add) d.vadd = &va;
    Variant var[V_N];
    memset(var, 0, sizeof var);
    GError *e = NULL;
    g_setenv("MSC_WINOGRAD", "0", TRUE);
    var[V_F32_DIRECT].fp = msc_conv2d_plan_create(&p, wf, bf, isa, &e);
    g_clear_error(&e);
    g_unsetenv("MSC_WINOGRAD");
    var[V_F32_DEFAULT].fp = msc_conv2d_plan_create(&p, wf, bf, isa, &e);
    g_clear_error(&e);
    CpuQWeights *qw = cpu_qweights_new(L->m, Cg, L->k, L->k, MSC_DTYPE_INT8, wq, NULL, 1, NULL, NULL, mult);
    CpuQWeights *qw7 = cpu_qweights_new(L->m, Cg, L->k, L->k, MSC_DTYPE_INT8, wq7, NULL, 1, NULL, NULL, mult);
    int lvl = isa >= MSC_ISA_AVX512 ? 2 : isa >= MSC_ISA_AVX2 ? 1 : 0;
    var[V_I8_EXACT].qp = cpu_qconv_new(&d, qw, cpu_qkernel_pick(lvl, qw), &e);
    g_clear_error(&e);
    var[V_I8_U7].qp = cpu_qconv_new(&d, qw7, cpu_qkernel_pick(lvl, qw7), &e);
    g_clear_error(&e);
    g_setenv("MSC_INT8_DIRECT", "0", TRUE);
    g_setenv("MSC_INT8_WINO", "0", TRUE);
    g_setenv("MSC_INT8_DWROWS", "0", TRUE);
    var[V_I8_IM2COL].qp = cpu_qconv_new(&d, qw, cpu_qkernel_pick(lvl, qw), &e);
    g_clear_error(&e);
    g_unsetenv("MSC_INT8_DIRECT");
    g_unsetenv("MSC_INT8_WINO");
    g_unsetenv("MSC_INT8_DWROWS");
    if (ab) {
      g_autofree char *var_name = g_strndup(ab, (gsize)(strchr(ab, '=') - ab));
      const char *old = g_getenv(var_name);
      g_autofree char *saved = old ? g_strdup(old) : NULL;
      g_setenv(var_name, strchr(ab, '=') + 1, TRUE);
      var[V_I8_AB].qp = cpu_qconv_new(&d, qw, cpu_qkernel_pick(lvl, qw), &e);
      g_clear_error(&e);
      if (saved) g_setenv(var_name, saved, TRUE);
      else g_unsetenv(var_name);
    }
    for (int v = 0; v < V_N; v++) {
      size_t b = var[v].fp ? msc_conv2d_plan_workspace_size(var[v].fp)
                 : var[v].qp ? cpu_qconv_workspace(var[v].qp, threads) : 0;
      var[v].ws = msc_aligned_alloc0(b + 64);
    }
    double best[V_N], *t = g_new(double, iters);
    for (int v = 0; v < V_N; v++) best[v] = 1e30;
    for (int r = 0; r <= rounds; r++) /* round 0: warm-up */
      for (int v = 0; v < V_N; v++) {
        if (!var[v].fp && !var[v].qp) continue;
        for (int i = 0; i < iters; i++) {
          if (cold) memset(evict, i + r, evict_bytes);
          double t0 = now_seconds();
          if (var[v].fp) msc_conv2d_plan_run(var[v].fp, xf, NULL, yf, var[v].ws, pool);
          else cpu_qconv_run_add(var[v].qp, xq, skq, yq, var[v].ws, pool);
          t[i] = now_seconds() - t0;
        }
        qsort(t, (size_t)iters, sizeof(double), bench_cmp_double);
        if (r > 0 && t[iters / 2] < best[v]) best[v] = t[iters / 2];
      }
    printf("%-24s", L->name);
    for (int v = 0; v < (ab ? V_N : V_I8_AB); v++)
      if (best[v] < 1e29) printf(" %11.3f", best[v] * 1e3);
      else printf(" %11s", "-");
    double f = best[V_F32_DIRECT];
    printf("   %5.2fx %5.2fx [%s %s; %s]\n", f / best[V_I8_EXACT], f / best[V_I8_U7],
           var[V_I8_EXACT].qp ? cpu_qkernel_name(var[V_I8_EXACT].qp->kid) : "-",
           var[V_I8_U7].qp ? cpu_qkernel_name(var[V_I8_U7].qp->kid) : "-",
           var[V_F32_DEFAULT].fp ? msc_conv2d_plan_describe(var[V_F32_DEFAULT].fp) : "-");
    fflush(stdout);
    for (int v = 0; v < V_N; v++) {
      msc_conv2d_plan_free(var[v].fp);
      cpu_qconv_free(var[v].qp);
      msc_aligned_free(var[v].ws);
    }
    cpu_qweights_free(qw);
    cpu_qweights_free(qw7);
    g_free(skq);
    g_free(t), g_free(xf), g_free(wf), g_free(bf), g_free(yf), g_free(xq), g_free(yq), g_free(wq), g_free(wq7);
    g_free(mult);
  }
  if (pool) msc_threadpool_free(pool);
  g_free(evict);
  return 0;
}
