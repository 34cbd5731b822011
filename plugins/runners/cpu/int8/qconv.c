/* qconv.c: int8 conv plans (see qconv.h): weights prepared once, kernel
 * choice by ISA and weight range, panel packing + micro-kernels split over
 * the thread pool, and the direct depthwise kernel (one input channel per
 * group), which is plain C (int16 products into int32 rows). */
#include "qconv.h"

#include <math.h>
#include <string.h>

#include "tensor.h"

#pragma weak msc_threadpool_parallel_for

#define QALIGN 64

static size_t qalign(size_t n) {
  return (n + QALIGN - 1) / QALIGN * QALIGN;
}

CpuQWeights *cpu_qweights_new(int64_t M, int64_t Cg, int64_t kh, int64_t kw, MscDType wdt, const void *w,
                              const int32_t *wzp, int64_t n_wzp, const int32_t *bias, const float *fbias,
                              const float *mult) {
  CpuQWeights *q = g_new0(CpuQWeights, 1);
  int64_t K = Cg * kh * kw;
  q->M = M, q->Cg = Cg, q->kh = kh, q->kw = kw;
  q->w = g_new(int16_t, M * K > 0 ? M * K : 1);
  q->bias = g_new0(int32_t, M ? M : 1);
  q->fbias = g_new0(float, M ? M : 1);
  q->mult = g_new(float, M ? M : 1);
  q->wmin = INT32_MAX;
  q->wmax = INT32_MIN;
  for (int64_t m = 0; m < M; m++) {
    int32_t z = wzp ? wzp[n_wzp == 1 ? 0 : m] : 0;
    for (int64_t k = 0; k < K; k++) {
      int32_t v = wdt == MSC_DTYPE_INT8 ? ((const int8_t *)w)[m * K + k] : ((const uint8_t *)w)[m * K + k];
      v -= z;
      q->w[m * K + k] = (int16_t)v;
      q->wmin = MIN(q->wmin, v);
      q->wmax = MAX(q->wmax, v);
    }
    q->bias[m] = bias ? bias[m] : 0;
    q->fbias[m] = fbias ? fbias[m] : 0.0f;
    q->mult[m] = mult ? mult[m] : 1.0f;
  }
  if (M * K == 0) q->wmin = q->wmax = 0;
  return q;
}

void cpu_qweights_free(CpuQWeights *w) {
  if (!w) return;
  g_free(w->w);
  g_free(w->bias);
  g_free(w->fbias);
  g_free(w->mult);
  g_free(w);
}

static const CpuQKernel *kernel_of(CpuQKernelId id) {
  switch (id) {
  case CPU_QK_SCALAR: return &cpu_qkernel_scalar;
  case CPU_QK_EMU4: return &cpu_qkernel_emu4;
#if defined(__x86_64__) || defined(__i386__)
  case CPU_QK_AVX2: return &cpu_qkernel_avx2;
  case CPU_QK_AVX2_U7: return &cpu_qkernel_avx2_u7;
#if defined(__GNUC__) && !defined(__clang__)
  case CPU_QK_AVXVNNI: return &cpu_qkernel_avxvnni;
  case CPU_QK_AVX512: return &cpu_qkernel_avx512;
  case CPU_QK_AVX512VNNI: return &cpu_qkernel_avx512vnni;
#endif
#endif
  default: return NULL;
  }
}

const char *cpu_qkernel_name(CpuQKernelId id) {
  static const char *names[CPU_QK_N] = {"scalar", "emu4", "avx2", "avx2-u7", "avxvnni", "avx512", "avx512vnni"};
  return id >= 0 && id < CPU_QK_N ? names[id] : "unknown";
}

static gboolean cpu_has(CpuQKernelId id) {
  if (!kernel_of(id)) return FALSE;
  if (id == CPU_QK_SCALAR || id == CPU_QK_EMU4) return TRUE;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  __builtin_cpu_init();
  gboolean avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  gboolean avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  switch (id) {
  case CPU_QK_AVX2:
  case CPU_QK_AVX2_U7: return avx2;
#if !defined(__clang__)
  case CPU_QK_AVXVNNI: return avx2 && __builtin_cpu_supports("avxvnni");
  case CPU_QK_AVX512VNNI: return avx512 && __builtin_cpu_supports("avx512vnni");
#endif
  case CPU_QK_AVX512: return avx512;
  default: return FALSE;
  }
#else
  return FALSE;
#endif
}

gboolean cpu_qkernel_usable(CpuQKernelId id, const CpuQWeights *w) {
  if (!cpu_has(id)) return FALSE;
  switch (id) {
  case CPU_QK_AVX2_U7: return w->wmin >= -64 && w->wmax <= 63;
  case CPU_QK_EMU4:
  case CPU_QK_AVXVNNI:
  case CPU_QK_AVX512VNNI: return w->wmin >= -128 && w->wmax <= 127;
  default: return w->wmin >= -32768 && w->wmax <= 32767;
  }
}

CpuQKernelId cpu_qkernel_pick(int isa, const CpuQWeights *w) {
  const char *env = g_getenv("MSC_INT8_KERNEL");
  if (env && *env)
    for (int i = 0; i < CPU_QK_N; i++)
      if (!strcmp(env, cpu_qkernel_name(i)) && cpu_qkernel_usable(i, w)) return i;
  static const CpuQKernelId order512[] = {CPU_QK_AVX512VNNI, CPU_QK_AVX512};
  static const CpuQKernelId order2[] = {CPU_QK_AVXVNNI, CPU_QK_AVX2};
  if (isa >= 2)
    for (unsigned i = 0; i < G_N_ELEMENTS(order512); i++)
      if (cpu_qkernel_usable(order512[i], w)) return order512[i];
  if (isa >= 1)
    for (unsigned i = 0; i < G_N_ELEMENTS(order2); i++)
      if (cpu_qkernel_usable(order2[i], w)) return order2[i];
  return CPU_QK_SCALAR;
}

void cpu_qconv_free(CpuQConv *q) {
  if (!q) return;
  msc_aligned_free(q->wp);
  g_free(q->wd);
  g_free(q->corr);
  g_free(q->mult);
  g_free(q->fbias);
  g_free(q);
}

CpuQConv *cpu_qconv_new(const CpuQConvDesc *d, const CpuQWeights *w, CpuQKernelId kid, GError **error) {
  if (d->group < 1 || d->C % d->group || d->M % d->group || d->C / d->group != w->Cg || d->M != w->M ||
      d->kh != w->kh || d->kw != w->kw || d->sh < 1 || d->sw < 1 || d->dh < 1 || d->dw < 1 ||
      (d->xdt != MSC_DTYPE_UINT8 && d->xdt != MSC_DTYPE_INT8) ||
      (d->ydt != MSC_DTYPE_UINT8 && d->ydt != MSC_DTYPE_INT8 && d->ydt != MSC_DTYPE_INT32)) {
    g_set_error(error, g_quark_from_static_string("msc-error"), MSC_ERR_INVALID_ARG, "int8 conv: inconsistent geometry");
    return NULL;
  }
  int64_t eh = (d->kh - 1) * d->dh + 1, ew = (d->kw - 1) * d->dw + 1;
  int64_t OH = (d->H + d->pt + d->pb - eh) / d->sh + 1, OW = (d->W + d->pl + d->pr - ew) / d->sw + 1;
  if (d->H + d->pt + d->pb < eh || d->W + d->pl + d->pr < ew || OH < 1 || OW < 1) {
    g_set_error(error, g_quark_from_static_string("msc-error"), MSC_ERR_INVALID_ARG, "int8 conv: empty output");
    return NULL;
  }
  if (!cpu_qkernel_usable(kid, w)) {
    g_set_error(error, g_quark_from_static_string("msc-error"), MSC_ERR_UNSUPPORTED,
                "int8 conv: kernel %s cannot run these weights exactly here", cpu_qkernel_name(kid));
    return NULL;
  }
  CpuQConv *q = g_new0(CpuQConv, 1);
  q->d = *d;
  q->kid = kid;
  q->k = kernel_of(kid);
  q->OH = OH, q->OW = OW, q->P = OH * OW;
  q->Cg = w->Cg, q->Mg = d->M / d->group;
  q->K = w->Cg * d->kh * d->kw;
  q->depthwise = w->Cg == 1;
  q->xoff = (q->k->kg == 4 && d->xdt == MSC_DTYPE_INT8) ? 128 : 0;
  q->xpad = d->zx + q->xoff;
  q->corr = g_new(int32_t, d->M);
  q->mult = g_memdup2(w->mult, (size_t)d->M * sizeof(float));
  q->fbias = g_memdup2(w->fbias, (size_t)d->M * sizeof(float));
  q->flo = (float)(d->lo - d->zy);
  q->fhi = (float)(d->hi - d->zy);
  for (int64_t m = 0; m < d->M; m++) {
    int64_t s = 0;
    for (int64_t k = 0; k < q->K; k++) s += w->w[m * q->K + k];
    q->corr[m] = (int32_t)(w->bias[m] - (int64_t)(q->depthwise ? d->zx : q->xpad) * s);
  }
  if (q->depthwise) {
    q->wd = g_memdup2(w->w, (size_t)(d->M * q->K) * sizeof(int16_t));
    int64_t PH = d->H + d->pt + d->pb, PW = d->W + d->pl + d->pr;
    q->ws_per_thread = qalign((size_t)(PH * PW) * sizeof(int16_t)) + qalign((size_t)OW * sizeof(int32_t));
    return q;
  }
  int kg = q->k->kg;
  q->Kg = (q->K + kg - 1) / kg;
  q->wp = msc_aligned_alloc0((size_t)(d->M * q->Kg) * sizeof(int32_t) + QALIGN);
  for (int64_t m = 0; m < d->M; m++)
    for (int64_t g = 0; g < q->Kg; g++) {
      int32_t word = 0;
      if (kg == 2) {
        int16_t e[2] = {0, 0};
        for (int i = 0; i < 2; i++)
          if (g * 2 + i < q->K) e[i] = w->w[m * q->K + g * 2 + i];
        memcpy(&word, e, 4);
      } else {
        int8_t e[4] = {0, 0, 0, 0};
        for (int i = 0; i < 4; i++)
          if (g * 4 + i < q->K) e[i] = (int8_t)w->w[m * q->K + g * 4 + i];
        memcpy(&word, e, 4);
      }
      q->wp[m * q->Kg + g] = word;
    }
  q->ws_per_thread = qalign((size_t)(q->Kg * q->k->nr * kg * q->k->esize));
  return q;
}

size_t cpu_qconv_workspace(const CpuQConv *q, int n_threads) {
  return q->ws_per_thread * (size_t)(n_threads < 1 ? 1 : n_threads);
}

/* ---------------------------------------------------------------------- */
/* run                                                                      */

typedef struct {
  const CpuQConv *q;
  const uint8_t *x;
  uint8_t *y;
  char *ws;
  int64_t panels;
} QJob;

static size_t ysize(const CpuQConv *q) {
  return q->d.ydt == MSC_DTYPE_INT32 ? 4 : 1;
}

static void dw_task(void *ctx, int64_t t, int thread) {
  const QJob *j = ctx;
  const CpuQConv *q = j->q;
  int64_t n = t / q->d.M, oc = t % q->d.M, cin = oc / q->Mg;
  q->k->dw(q, j->x + (n * q->d.C + cin) * q->d.H * q->d.W, oc, j->y + (n * q->d.M + oc) * q->P * ysize(q),
           j->ws + (size_t)thread * q->ws_per_thread);
}

static void gemm_task(void *ctx, int64_t t, int thread) {
  const QJob *j = ctx;
  const CpuQConv *q = j->q;
  int64_t pan = t % j->panels, ng = t / j->panels;
  int64_t n = ng / q->d.group, g = ng % q->d.group;
  int64_t nr = q->k->nr, p0 = pan * nr, np = MIN(nr, q->P - p0);
  void *xp = j->ws + (size_t)thread * q->ws_per_thread;
  q->k->pack(q, j->x + (n * q->d.C + g * q->Cg) * q->d.H * q->d.W, p0, np, xp);
  q->k->panel(q, xp, q->wp, g * q->Mg, (g + 1) * q->Mg, j->y + (n * q->d.M * q->P + p0) * ysize(q), np);
}

void cpu_qconv_run(const CpuQConv *q, const void *x, void *y, void *ws, MscThreadPool *pool) {
  QJob j = {q, x, y, ws, (q->P + q->k->nr - 1) / q->k->nr};
  if (q->depthwise) {
    int64_t tasks = q->d.N * q->d.M;
    if (pool && msc_threadpool_parallel_for) msc_threadpool_parallel_for(pool, tasks, dw_task, &j);
    else
      for (int64_t t = 0; t < tasks; t++) dw_task(&j, t, 0);
    return;
  }
  int64_t tasks = q->d.N * q->d.group * j.panels;
  if (pool && msc_threadpool_parallel_for) msc_threadpool_parallel_for(pool, tasks, gemm_task, &j);
  else
    for (int64_t t = 0; t < tasks; t++) gemm_task(&j, t, 0);
}
