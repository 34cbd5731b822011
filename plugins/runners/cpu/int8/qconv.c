/* qconv.c: int8 conv plans (see qconv.h): weights prepared once, kernel
 * choice by ISA and weight range (7-bit weights take vpmaddubsw on AVX2
 * automatically), the direct dense path (input re-blocked once per run,
 * tiles of output channels x positions over the thread pool), the panel
 * path for gemm-shaped steps, and depthwise (one input channel per group:
 * per-ISA kernels, AVX2 in qkern-avx2.c). */
#include "qconv.h"

#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "tensor.h"

#pragma weak msc_threadpool_size

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
  static const CpuQKernelId order2[] = {CPU_QK_AVXVNNI, CPU_QK_AVX2_U7, CPU_QK_AVX2};
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
  msc_aligned_free(q->wu);
  g_free(q->wbias);
  g_free(q->toff);
  msc_aligned_free(q->wg);
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
  q->qfast = q->qnofb = 1;
  for (int64_t m = 0; m < d->M; m++) {
    const float mu = q->mult[m], fb = q->fbias[m];
    if (!(mu < 0.25f && mu > -0.25f && fb < 536870912.0f && fb > -536870912.0f)) q->qfast = 0;
    if (fb != 0.0f) q->qnofb = 0;
  }
  for (int64_t m = 0; m < d->M; m++) {
    int64_t s = 0;
    for (int64_t k = 0; k < q->K; k++) s += w->w[m * q->K + k];
    q->corr[m] = (int32_t)(w->bias[m] - (int64_t)(q->depthwise ? d->zx : q->xpad) * s);
  }
  /* stride-phase geometry (direct dense kernel and the vector depthwise kernels) */
  int kg = q->k->kg;
  int64_t PH = d->H + d->pt + d->pb, PW = d->W + d->pl + d->pr;
  q->T = d->kh * d->kw;
  q->Gc = q->depthwise ? 1 : (q->Cg + kg - 1) / kg;
  q->PHs = (PH + d->sh - 1) / d->sh;
  q->PWs = (PW + d->sw - 1) / d->sw;
  q->PS = q->PHs * q->PWs;
  if (!q->depthwise) q->PS = (q->PS + 15) / 16 * 16; /* 16 positions = 64 bytes of KG=2 or KG=4 words */
  /* an odd number of 64-byte lines from one channel group's plane to the next: at a power-of-two stride
   * (a 64x64 plane: 16 KB) a tile's loads of all groups fell into one L1 set (8 ways), and a tile of
   * 12+ groups left L1 before the next weight block read it again (MSC_INT8_PSODD=0: off) */
  if (!q->depthwise && (q->PS / 16) % 2 == 0 && cpu_q_switch_on("MSC_INT8_PSODD")) q->PS += 16;
  q->nph = d->sh * d->sw;
  q->nf = (OH - 1) * q->PWs + OW;
  q->toff = g_new(int64_t, q->T);
  for (int64_t i = 0; i < d->kh; i++)
    for (int64_t j = 0; j < d->kw; j++) {
      int64_t a = i * d->dh, b = j * d->dw, ph = (a % d->sh) * d->sw + b % d->sw;
      q->toff[i * d->kw + j] = ph * q->Gc * q->PS + (a / d->sh) * q->PWs + b / d->sw;
    }
  if (q->depthwise) {
    q->wd = g_memdup2(w->w, (size_t)(d->M * q->K) * sizeof(int16_t));
    /* generic kernel: padded plane + one int32 row; vector kernels: phase planes + flat output */
    size_t generic = qalign((size_t)(PH * PW) * sizeof(int16_t)) + qalign((size_t)OW * sizeof(int32_t));
    size_t vec = qalign((size_t)(q->nph * q->PS + CPU_QDW_SLACK + q->PWs) * sizeof(float)) +
                 qalign((size_t)(q->nf + CPU_QDW_SLACK) * sizeof(int32_t));
    q->ws_per_thread = MAX(generic, vec);
#if defined(__x86_64__) || defined(__i386__)
    if (q->k->dw == cpu_qdw_avx2 && cpu_qdw_rows_fits(d) && cpu_q_switch_on("MSC_INT8_DWROWS")) {
      q->dwrows = 1;
      q->dwskip = cpu_q_switch_on("MSC_INT8_DWSKIP");
      q->dwmrow = cpu_q_switch_on("MSC_INT8_DWMROW");
      q->dwwide = cpu_q_switch_on("MSC_INT8_DWWIDE");
      q->dwcol6 = cpu_q_switch_on("MSC_INT8_DWCOL6");
      q->dws2blk = cpu_q_switch_on("MSC_INT8_DWS2BLK");
      q->dwb3s2 = cpu_q_switch_on("MSC_INT8_DWB3S2");
      q->dwspec = cpu_q_switch_on("MSC_INT8_DWSPEC");
      q->dw512 = (kid == CPU_QK_AVX512 || kid == CPU_QK_AVX512VNNI) && cpu_q_switch_on("MSC_INT8_DW512");
      q->dwb512 = (kid == CPU_QK_AVX512 || kid == CPU_QK_AVX512VNNI) && cpu_q_switch_on("MSC_INT8_DWB512");
      q->ws_per_thread = MAX(q->ws_per_thread, qalign(cpu_qdw_rows_ws(q)));
    }
#endif
    return q;
  }
#if defined(__x86_64__) || defined(__i386__)
  { /* integer Winograd for 3x3 stride-1 convs on planes of at least 8x8 with 16+ channels in and out
     * (MSC_INT8_WINO=0 never, =1 whenever it fits); the 256-bit kernels only */
    const char *wenv = g_getenv("MSC_INT8_WINO");
    gboolean want = wenv && *wenv ? strcmp(wenv, "0") != 0 : (d->C >= 16 && d->M >= 16 && OH >= 12 && OW >= 12);
    if (want && (kid == CPU_QK_AVX2 || kid == CPU_QK_AVX2_U7 || kid == CPU_QK_AVXVNNI) && cpu_qwino_fits(d, w)) {
      cpu_qwino_setup(q, w);
      return q;
    }
  }
#endif
  q->xs2 = q->k->kg == 2 && q->xoff == 0 && cpu_q_switch_on("MSC_INT8_XS2");
  q->xs4s2 = q->k->kg == 4 && cpu_q_switch_on("MSC_INT8_XS4S2");
  q->tfull = cpu_q_switch_on("MSC_INT8_TILE_REGS");
  q->pack3 = cpu_q_switch_on("MSC_INT8_PACK3");
  q->splitrow = cpu_q_switch_on("MSC_INT8_SPLITROW");
  q->corrinit = cpu_q_switch_on("MSC_INT8_CORRINIT");
  q->qspec = cpu_q_switch_on("MSC_INT8_QSPEC");
  q->dshort = cpu_q_switch_on("MSC_INT8_DSHORT");
  q->d6 = q->corrinit && d->ydt != MSC_DTYPE_INT32 && cpu_q_switch_on("MSC_INT8_D6");
  q->direct = !(d->H == 1 && d->W == 1 && d->kh == 1 && d->kw == 1) && cpu_q_switch_on("MSC_INT8_DIRECT");
  /* column pairs (KG=2, stride-2 columns, few input channels): the (channel, kernel column) pairs of
   * the stems cost fewer vpmaddwd than channel pairs (5x5/2, 3 channels: 5 rows x 3 column pairs x 3
   * channels = 45 words against 25 taps x 2 channel pairs = 50) */
  q->cpair = q->direct && kg == 2 && q->xoff == 0 && !q->depthwise && d->group == 1 && d->sw == 2 && d->dw == 1 &&
             d->kh * ((d->kw + 1) / 2) * q->Cg < q->T * q->Gc && cpu_q_switch_on("MSC_INT8_CPAIR");
  if (q->cpair) { /* row phases only; plane (rp, c) rows are padded int16 rows: word u = columns 2u, 2u + 1 */
    const int64_t kwp = (d->kw + 1) / 2;
    q->T = d->kh * kwp;
    q->Gc = q->Cg;
    q->nph = d->sh;
    g_free(q->toff);
    q->toff = g_new(int64_t, q->T);
    for (int64_t i = 0; i < d->kh; i++)
      for (int64_t jp = 0; jp < kwp; jp++) {
        int64_t a = i * d->dh;
        q->toff[i * kwp + jp] = (a % d->sh) * q->Gc * q->PS + (a / d->sh) * q->PWs + jp;
      }
  }
  /* im2w (a kernel larger than 1x1 over few channels: the stems): a word holds kg of the K = Cg kh kw
   * products of an output position in weight order, so the kernel reads ceil(K / kg) words per position
   * (3x3 over 3 channels, KG=2: 14 against 9 taps x 2 channel pairs = 18; KG=4: 7 against 9) with the
   * tap loop's overhead gone; the input becomes one plane per word over the output positions and the
   * direct kernel runs it as a 1x1 conv (MSC_INT8_IM2W=0: off). Worth it while the words are at most 0.8x
   * (and their planes, 4 bytes per output position each, stay few): BlazeFace's 5x5/2 stem at KG=2, 38
   * words against 45 column pairs, ran 1.11x the time (made in L2-sized bands too: no better) */
  const int64_t im2w_words = (q->K + kg - 1) / kg;
  q->im2w = q->direct && d->group == 1 && q->T > 1 && 5 * im2w_words <= 4 * q->T * q->Gc && im2w_words <= 48 &&
            cpu_q_switch_on("MSC_INT8_IM2W");
  if (q->im2w) {
    q->cpair = 0;
    q->T = 1;
    q->Gc = im2w_words;
    q->nph = 1;
    q->PHs = OH, q->PWs = OW;
    q->PS = (OH * OW + 15) / 16 * 16;
    if ((q->PS / 16) % 2 == 0 && cpu_q_switch_on("MSC_INT8_PSODD")) q->PS += 16;
    q->nf = OH * OW;
    q->toff[0] = 0;
  }
  if (q->direct) {
    q->Kg = q->T * q->Gc;
    q->xin_elems = (size_t)((q->nph * q->Gc * q->PS + q->k->nr + q->PWs + 16) * kg);
    const int64_t MR = q->k->mr, nbg = (q->Mg + MR - 1) / MR;
    q->wp = msc_aligned_alloc0((size_t)(d->group * nbg * MR * q->Kg) * sizeof(int32_t) + QALIGN);
    for (int64_t m = 0; m < d->M; m++)
      for (int64_t t = 0; t < q->T; t++)
        for (int64_t g = 0; g < q->Gc; g++) {
          int32_t word = 0;
          int16_t e2[2] = {0, 0};
          int8_t e4[4] = {0, 0, 0, 0};
          for (int e = 0; e < kg; e++) {
            int64_t c = g * kg + e;
            int16_t v = c < q->Cg ? w->w[(m * q->Cg + c) * q->T + t] : 0;
            if (q->im2w) v = c < q->K ? w->w[m * q->K + c] : 0; /* product c of the position */
            if (q->cpair) { /* tap t = (i, jp): channel g, kernel columns 2 jp + e (past kw: 0) */
              const int64_t kwp = (d->kw + 1) / 2, i = t / kwp, jj = 2 * (t % kwp) + e;
              v = jj < d->kw ? w->w[((m * q->Cg + g) * d->kh + i) * d->kw + jj] : 0;
            }
            if (kg == 2) e2[e] = v;
            else e4[e] = (int8_t)v;
          }
          memcpy(&word, kg == 2 ? (void *)e2 : (void *)e4, 4);
          int64_t grp = m / q->Mg, ml = m % q->Mg;
          q->wp[((grp * nbg + ml / MR) * q->Kg + t * q->Gc + g) * MR + ml % MR] = word;
        }
    q->ws_per_thread = 0;
    q->runs = q->PWs != q->OW && cpu_q_switch_on("MSC_INT8_RUNS");
    return q;
  }
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
  if (OH * OW == 1 && d->group == 1 && d->ydt != MSC_DTYPE_INT32 && cpu_q_switch_on("MSC_INT8_GEMV")) {
    q->Kp = (q->K + 15) / 16 * 16;
    q->wg = msc_aligned_alloc0((size_t)(d->M * q->Kp) * sizeof(int16_t) + QALIGN);
    for (int64_t m = 0; m < d->M; m++) memcpy(q->wg + m * q->Kp, w->w + m * q->K, (size_t)q->K * sizeof(int16_t));
    q->gemv = 1;
#if defined(__x86_64__) || defined(__i386__)
    if (kid != CPU_QK_SCALAR && kid != CPU_QK_EMU4) q->gemv = 2; /* every such kernel's CPU has AVX2 */
#endif
  }
  return q;
}

/* q->gemv in C: the same integers and requantization as the panel kernels. */
static void gemv_c(const CpuQConv *q, const uint8_t *x, uint8_t *y) {
  const int sgn = q->d.xdt == MSC_DTYPE_INT8, osg = q->d.ydt == MSC_DTYPE_INT8;
  for (int64_t m = 0; m < q->d.M; m++) {
    const int16_t *w = q->wg + m * q->Kp;
    int32_t acc = 0;
    for (int64_t k = 0; k < q->K; k++) acc += w[k] * ((sgn ? (int32_t)(int8_t)x[k] : (int32_t)x[k]) + q->xoff);
    int32_t v = cpu_qrequant(acc + q->corr[m], q->mult[m], q->fbias[m], q->flo, q->fhi, q->d.zy);
    uint8_t b = osg ? (uint8_t)(int8_t)v : (uint8_t)v;
    y[m] = q->d.post ? q->d.post[b] : b;
  }
}

size_t cpu_qconv_workspace(const CpuQConv *q, int n_threads) {
#if defined(__x86_64__) || defined(__i386__)
  if (q->wino) return cpu_qwino_workspace(q, n_threads);
#endif
  if (q->direct) return qalign(q->xin_elems * (size_t)q->k->esize) * (size_t)(q->d.N * q->d.group);
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
  const uint8_t *skip; /* the residual add's other input (desc.vadd), NULL: none */
} QJob;

/* y[i] = vadd(y[i], skip[i]) (the conv's bytes as input vside) in place. */
static void vadd_inplace(const CpuQConv *q, const uint8_t *skip, uint8_t *y, int64_t n) {
  if (q->d.vside == 0) cpu_qvadd_span(q->d.vadd, y, skip, y, n);
  else cpu_qvadd_span(q->d.vadd, skip, y, y, n);
}

static size_t ysize(const CpuQConv *q) {
  return q->d.ydt == MSC_DTYPE_INT32 ? 4 : 1;
}

gboolean cpu_q_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
  static int have = -1;
  if (have < 0) {
    const char *isa = g_getenv("MSC_ISA");
    have = cpu_has(CPU_QK_AVX2) && !(isa && (!strcmp(isa, "scalar") || !strcmp(isa, "sse2") || !strcmp(isa, "generic")));
  }
  return have;
#else
  return FALSE;
#endif
}

gboolean cpu_q_vbmi(void) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  static int have = -1;
  if (have < 0) {
    const char *isa = g_getenv("MSC_ISA");
    __builtin_cpu_init();
    have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi") &&
           !(isa && (!strcmp(isa, "scalar") || !strcmp(isa, "sse2") || !strcmp(isa, "generic") || !strcmp(isa, "avx2")));
  }
  return have;
#else
  return FALSE;
#endif
}

void cpu_qlut(const uint8_t *t, const uint8_t *x, uint8_t *y, int64_t n) {
#if defined(__x86_64__) || defined(__i386__)
  if (n >= 16 && cpu_q_vbmi()) {
    cpu_qlut_vbmi(t, x, y, n);
    return;
  }
  if (n >= 64 && cpu_q_avx2()) {
    cpu_qlut_avx2(t, x, y, n);
    return;
  }
#endif
  for (int64_t i = 0; i < n; i++) y[i] = t[x[i]];
}

void cpu_qlut_rows(const uint8_t *t, uint8_t *y, int64_t rows, int64_t stride, int64_t n) {
#if defined(__x86_64__) || defined(__i386__)
  /* the vector rows from 2 vectors' worth in all (the setup is 16 row loads) */
  if (rows * n >= 16 && cpu_q_vbmi()) {
    cpu_qlut_rows_vbmi(t, y, rows, stride, n);
    return;
  }
  if (rows * n >= 64 && cpu_q_avx2()) {
    cpu_qlut_rows_avx2(t, y, rows, stride, n);
    return;
  }
#endif
  for (int64_t r = 0; r < rows; r++)
    for (int64_t i = 0; i < n; i++) y[r * stride + i] = t[y[r * stride + i]];
}

void cpu_qvadd_span(const CpuQVAdd *v, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n) {
#if defined(__x86_64__) || defined(__i386__)
  if (cpu_q_avx2()) {
    cpu_qvadd_avx2(v, a, b, y, n);
    return;
  }
#endif
  const int sa = v->adt[0] == MSC_DTYPE_INT8, sb = v->adt[1] == MSC_DTYPE_INT8;
  for (int64_t i = 0; i < n; i++) {
    int32_t va = sa ? (int8_t)a[i] : a[i], vb = sb ? (int8_t)b[i] : b[i];
    y[i] = (uint8_t)cpu_qvadd1(v, va, vb);
  }
}

static void dw_task(void *ctx, int64_t t, int thread) {
  const QJob *j = ctx;
  const CpuQConv *q = j->q;
  int64_t n = t / q->d.M, oc = t % q->d.M, cin = oc / q->Mg;
  uint8_t *y = j->y + (n * q->d.M + oc) * q->P * ysize(q);
  q->k->dw(q, j->x + (n * q->d.C + cin) * q->d.H * q->d.W, oc, y, j->ws + (size_t)thread * q->ws_per_thread);
#if defined(__x86_64__) || defined(__i386__)
  const gboolean done = q->k->dw == cpu_qdw_avx2; /* applies the table in its copy-out */
#else
  const gboolean done = FALSE;
#endif
  if (q->d.post && !done) cpu_qlut_rows(q->d.post, y, 1, q->P, q->P);
}

static void gemm_task(void *ctx, int64_t t, int thread) {
  const QJob *j = ctx;
  const CpuQConv *q = j->q;
  int64_t pan = t % j->panels, ng = t / j->panels;
  int64_t n = ng / q->d.group, g = ng % q->d.group;
  int64_t nr = q->k->nr, p0 = pan * nr, np = MIN(nr, q->P - p0);
  void *xp = j->ws + (size_t)thread * q->ws_per_thread;
  q->k->pack(q, j->x + (n * q->d.C + g * q->Cg) * q->d.H * q->d.W, p0, np, xp);
  uint8_t *y = j->y + (n * q->d.M * q->P + p0) * ysize(q);
  q->k->panel(q, xp, q->wp, g * q->Mg, (g + 1) * q->Mg, y, np);
  if (q->d.post)
    cpu_qlut_rows(q->d.post, y + g * q->Mg * q->P, q->Mg, q->P, np);
}

/* Elements [e0, e1) of the kernel's element size at @dst (xin) = the pad value xpad. */
static void xin_fill(const CpuQConv *q, void *dst, size_t e0, size_t e1) {
  if (q->k->esize == 1) {
    if (e1 > e0) memset((uint8_t *)dst + e0, (uint8_t)q->xpad, e1 - e0);
    return;
  }
  for (size_t i = e0; i < e1; i++) ((int16_t *)dst)[i] = (int16_t)q->xpad;
}

/* The slack after the last plane of xin (read by the tiles past the last position) = xpad. */
static void xin_slack(const CpuQConv *q, void *dst) {
  xin_fill(q, dst, (size_t)(q->nph * q->Gc * q->PS * q->k->kg), q->xin_elems);
}

/* Blocked input of the direct kernel, one task per (image, group, channel
 * group): stride phases of the padded planes, kg channels interleaved,
 * padding = xpad (zx, + 128 for int8 inputs of the KG=4 kernels). Rows are
 * copied phase by phase with the kg channels innermost (contiguous writes). */
#define XFORM_BODY(T_, KG_)                                                                                      \
  do {                                                                                                          \
    T_ *dst = (T_ *)(void *)(j->ws + (size_t)ng * xb);                                                          \
    const T_ pad = (T_)q->xpad;                                                                                 \
    const int32_t xo = q->xoff;                                                                                 \
    if (d->sh == 1 && d->sw == 1 && (gc + 1) * KG_ <= q->Cg) { /* only the border is not written below */     \
      T_ *pl = dst + (size_t)(gc * q->PS) * KG_;                                                                \
      const int64_t W_ = q->PWs * KG_, a = d->pl * KG_, b = (d->pl + d->W) * KG_, top_ = d->pt * W_,            \
                    bot_ = (d->pt + d->H) * W_, psk_ = q->PS * KG_, r1_ = d->pt + d->H;                           \
      for (int64_t i = 0; i < top_; i++) pl[i] = pad;                                                           \
      for (int64_t i = bot_; i < psk_; i++) pl[i] = pad;                                                        \
      for (int64_t r = d->pt; r < r1_ && (a || b < W_); r++) {                                                  \
        for (int64_t i = 0; i < a; i++) pl[r * W_ + i] = pad;                                                   \
        for (int64_t i = b; i < W_; i++) pl[r * W_ + i] = pad;                                                  \
      }                                                                                                         \
    } else { /* every phase plane: pad first (the bounds in locals: a byte store may alias q, and a loop    \
              * re-reading q->PS per byte stored took as long as M-LSD's 4-channel stem conv itself) */       \
      const int64_t nph_ = q->nph, psk_ = q->PS * KG_, gcs_ = q->Gc;                                           \
      for (int64_t ph = 0; ph < nph_; ph++) {                                                                   \
        T_ *pl = dst + (size_t)((ph * gcs_ + gc) * psk_);                                                      \
        for (int64_t i = 0; i < psk_; i++) pl[i] = pad;                                                         \
      }                                                                                                         \
    }                                                                                                           \
    if (gc == q->Gc - 1) xin_slack(q, dst);                                                                    \
    const uint8_t *xr[KG_];                                                                                     \
    int ne = (int)MIN((int64_t)KG_, q->Cg - gc * KG_);                                                          \
    for (int e = 0; e < KG_; e++)                                                                               \
      xr[e] = j->x + ((n * d->C + g * q->Cg + gc * KG_ + (e < ne ? e : 0)) * d->H) * d->W;                      \
    if (ne == KG_ && d->sh == 1 && d->sw == 1) { /* stride 1: rows without divisions, one span when unpadded */ \
      const int64_t rows = d->pl || d->pr ? d->H : 1, cnt = d->pl || d->pr ? d->W : d->H * d->W;                 \
      for (int64_t ih = 0; ih < rows; ih++)                                                                     \
        XFORM_SPAN_##KG_(dst + (gc * q->PS + (ih + d->pt) * q->PWs + d->pl) * KG_, xr, ih * d->W, cnt, sgn, xo);   \
      break;                                                                                                    \
    }                                                                                                           \
    for (int64_t ih = 0; ih < d->H; ih++) {                                                                     \
      int64_t rh = ih + d->pt;                                                                                  \
      if (KG_ == 2 && d->sw == 2 && q->xs2 && d->W >= 2) { /* both column phases of the row at once */          \
        const int64_t iw0 = d->pl & 1, ph0 = (rh % d->sh) * 2;                                                  \
        int16_t *o0 = (int16_t *)(void *)dst + ((ph0 * q->Gc + gc) * q->PS + (rh / d->sh) * q->PWs + (iw0 + d->pl) / 2) * 2; \
        int16_t *o1 = (int16_t *)(void *)dst + (((ph0 + 1) * q->Gc + gc) * q->PS + (rh / d->sh) * q->PWs + (iw0 + d->pl) / 2) * 2; \
        if (iw0) { /* input column 0 is an odd padded column */                                                 \
          int16_t *oo = (int16_t *)(void *)dst + (((ph0 + 1) * q->Gc + gc) * q->PS + (rh / d->sh) * q->PWs + d->pl / 2) * 2; \
          for (int e = 0; e < ne; e++) oo[e] = (int16_t)(sgn ? (int8_t)xr[e][ih * d->W] : xr[e][ih * d->W]);   \
        }                                                                                                       \
        xform_row_s2(o0, o1, xr[0] + ih * d->W + iw0, ne > 1 ? xr[1] + ih * d->W + iw0 : NULL, d->W - iw0, sgn,  \
                     (int16_t)q->xpad);                                                                          \
        continue;                                                                                               \
      }                                                                                                         \
      for (int64_t pw = 0; pw < d->sw; pw++) {                                                                  \
        int64_t iw0 = ((pw - d->pl) % d->sw + d->sw) % d->sw; /* first iw with (iw + pl) % sw == pw */         \
        if (iw0 >= d->W) continue;                                                                              \
        int64_t ph = (rh % d->sh) * d->sw + pw;                                                                 \
        T_ *o = dst + ((ph * q->Gc + gc) * q->PS + (rh / d->sh) * q->PWs + (iw0 + d->pl) / d->sw) * KG_;        \
        int64_t cnt = (d->W - iw0 + d->sw - 1) / d->sw, sw_ = d->sw;                                            \
        const int64_t rb = ih * d->W + iw0;                                                                     \
        if (ne == KG_ && sw_ == 1) {                                                                            \
          if (sgn)                                                                                              \
            for (int64_t u = 0; u < cnt; u++)                                                                   \
              for (int e = 0; e < KG_; e++) o[u * KG_ + e] = (T_)((int8_t)xr[e][rb + u] + xo);                  \
          else                                                                                                  \
            for (int64_t u = 0; u < cnt; u++)                                                                   \
              for (int e = 0; e < KG_; e++) o[u * KG_ + e] = (T_)(xr[e][rb + u] + xo);                          \
        } else if (ne == KG_ && KG_ == 4 && sw_ == 2) { /* bytes: int8 and uint8 alike (+ xo mod 256) */      \
          xform_span4_s2((uint8_t *)(void *)o, xr, rb, cnt, d->W - iw0, xo, q->xs4s2);                          \
        } else if (ne == KG_) {                                                                                 \
          if (sgn)                                                                                              \
            for (int64_t u = 0; u < cnt; u++)                                                                   \
              for (int e = 0; e < KG_; e++) o[u * KG_ + e] = (T_)((int8_t)xr[e][rb + u * sw_] + xo);            \
          else                                                                                                  \
            for (int64_t u = 0; u < cnt; u++)                                                                   \
              for (int e = 0; e < KG_; e++) o[u * KG_ + e] = (T_)(xr[e][rb + u * sw_] + xo);                    \
        } else {                                                                                                \
          for (int64_t u = 0; u < cnt; u++)                                                                     \
            for (int e = 0; e < ne; e++) {                                                                      \
              int32_t v = sgn ? (int32_t)(int8_t)xr[e][rb + u * sw_] : (int32_t)xr[e][rb + u * sw_];            \
              o[u * KG_ + e] = (T_)(v + xo);                                                                    \
            }                                                                                                   \
        }                                                                                                       \
      }                                                                                                         \
    }                                                                                                           \
  } while (0)

/* Stride-2 columns, KG = 2 (xoff 0): the n bytes a[0..n) (and b, NULL: the pad value) of one row as the
 * int16 pairs (a[2u], b[2u]) at o0[2u..] (even phase) and (a[2u + 1], b[2u + 1]) at o1[2u..] (odd
 * phase); int8 inputs sign-extended. 16 bytes per channel at a time (SSE2), then the tail. */
static void xform_row_s2(int16_t *restrict o0, int16_t *restrict o1, const uint8_t *a, const uint8_t *b, int64_t n,
                         int sgn, int16_t pad) {
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128i m = _mm_set1_epi16(0xff), vp = _mm_set1_epi16(pad);
  for (; i + 16 <= n; i += 16) {
    __m128i va = _mm_loadu_si128((const __m128i *)(const void *)(a + i)), ea, oa, eb, ob;
    if (sgn) ea = _mm_srai_epi16(_mm_slli_epi16(va, 8), 8), oa = _mm_srai_epi16(va, 8);
    else ea = _mm_and_si128(va, m), oa = _mm_srli_epi16(va, 8);
    if (b) {
      __m128i vb = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
      if (sgn) eb = _mm_srai_epi16(_mm_slli_epi16(vb, 8), 8), ob = _mm_srai_epi16(vb, 8);
      else eb = _mm_and_si128(vb, m), ob = _mm_srli_epi16(vb, 8);
    } else {
      eb = ob = vp;
    }
    _mm_storeu_si128((__m128i *)(void *)(o0 + i), _mm_unpacklo_epi16(ea, eb));
    _mm_storeu_si128((__m128i *)(void *)(o0 + i + 8), _mm_unpackhi_epi16(ea, eb));
    _mm_storeu_si128((__m128i *)(void *)(o1 + i), _mm_unpacklo_epi16(oa, ob));
    _mm_storeu_si128((__m128i *)(void *)(o1 + i + 8), _mm_unpackhi_epi16(oa, ob));
  }
#endif
  for (; i < n; i++) {
    int16_t *o = (i & 1) ? o1 : o0;
    int64_t u = i >> 1;
    o[2 * u] = (int16_t)(sgn ? (int8_t)a[i] : a[i]);
    o[2 * u + 1] = b ? (int16_t)(sgn ? (int8_t)b[i] : b[i]) : pad;
  }
}

/* o[u * KG + e] = xr[e][rb + u] (+ xo; int8 inputs sign-extended), u < cnt. */
static void xform_span2(int16_t *restrict o, const uint8_t *const *xr, int64_t rb, int64_t cnt, int sgn, int32_t xo) {
  const uint8_t *restrict a = xr[0] + rb, *restrict b = xr[1] + rb;
  if (sgn)
    for (int64_t u = 0; u < cnt; u++) o[2 * u] = (int16_t)((int8_t)a[u] + xo), o[2 * u + 1] = (int16_t)((int8_t)b[u] + xo);
  else
    for (int64_t u = 0; u < cnt; u++) o[2 * u] = (int16_t)(a[u] + xo), o[2 * u + 1] = (int16_t)(b[u] + xo);
}
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
/* o[4 u + e] = v_e[u], u < 32: two rounds of byte / word unpacks within the 128-bit lanes, then the
 * lane halves put in position order. */
__attribute__((target("avx2"))) static inline void interleave4_avx2(uint8_t *o, __m256i va, __m256i vb, __m256i vc,
                                                                    __m256i ve) {
  const __m256i ab0 = _mm256_unpacklo_epi8(va, vb), ab1 = _mm256_unpackhi_epi8(va, vb);
  const __m256i ce0 = _mm256_unpacklo_epi8(vc, ve), ce1 = _mm256_unpackhi_epi8(vc, ve);
  /* positions 0-3 | 16-19, 4-7 | 20-23, 8-11 | 24-27, 12-15 | 28-31 */
  const __m256i q0 = _mm256_unpacklo_epi16(ab0, ce0), q1 = _mm256_unpackhi_epi16(ab0, ce0);
  const __m256i q2 = _mm256_unpacklo_epi16(ab1, ce1), q3 = _mm256_unpackhi_epi16(ab1, ce1);
  __m256i *dst = (__m256i *)(void *)o;
  _mm256_storeu_si256(dst, _mm256_permute2x128_si256(q0, q1, 0x20));
  _mm256_storeu_si256(dst + 1, _mm256_permute2x128_si256(q2, q3, 0x20));
  _mm256_storeu_si256(dst + 2, _mm256_permute2x128_si256(q0, q1, 0x31));
  _mm256_storeu_si256(dst + 3, _mm256_permute2x128_si256(q2, q3, 0x31));
}

/* im2w_row's KG=4 vector loop 32 positions at a time, from @ow while every source's 32 * sw bytes lie
 * inside the image (the caller's border fix-up then covers these positions too). Returns the next ow. */
__attribute__((target("avx2"))) static int64_t im2w4_avx2(uint8_t *restrict o4, const uint8_t *x, int64_t n,
                                                           const int64_t *ro, const int64_t *iw0, int64_t ow,
                                                           int64_t OW, int64_t sw, uint8_t pad, uint8_t xo) {
  int64_t lim = OW; /* ow + 32 <= lim */
  for (int e = 0; e < 4; e++)
    if (ro[e] >= 0) lim = MIN(lim, (n - ro[e] - iw0[e]) / sw);
  const __m256i flip = _mm256_set1_epi8((char)xo), vpad = _mm256_set1_epi8((char)pad), m = _mm256_set1_epi16(0xff);
  const int64_t ow0 = ow;
  for (;; ow += 32) {
    if (ow + 32 > lim) { /* the row's last positions: one step moved back to end at OW (the same words again
                          * for the positions it repeats), where its reads stay in the input */
      if (ow >= OW || lim < OW || OW - 32 < ow0) break;
      ow = OW - 32;
    }
    __m256i v[4];
    for (int e = 0; e < 4; e++) {
      if (ro[e] < 0) {
        v[e] = vpad;
        continue;
      }
      const uint8_t *src = x + ro[e] + iw0[e] + ow * sw;
      __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)src);
      if (sw == 2) { /* the even bytes of 64 */
        const __m256i h = _mm256_loadu_si256((const __m256i *)(const void *)(src + 32));
        b = _mm256_permute4x64_epi64(_mm256_packus_epi16(_mm256_and_si256(b, m), _mm256_and_si256(h, m)), 0xD8);
      }
      v[e] = _mm256_xor_si256(b, flip); /* xo is 0 or 128: + xo mod 256 */
    }
    interleave4_avx2(o4 + 4 * ow, v[0], v[1], v[2], v[3]);
    if (ow + 32 >= OW) return OW;
  }
  return ow;
}

/* xform_span4 32 positions at a time (GCC's SSE2 vectorization of the scalar loop spilled its unpacks),
 * the last step moved back to end at @cnt. Returns the positions done: @cnt when it is at least 32. */
__attribute__((target("avx2"))) static int64_t xform_span4_avx2(uint8_t *restrict o, const uint8_t *restrict a,
                                                                 const uint8_t *restrict b, const uint8_t *restrict c,
                                                                 const uint8_t *restrict e, int64_t cnt, uint8_t f) {
  const __m256i vf = _mm256_set1_epi8((char)f);
  int64_t u = 0;
  for (;; u += 32) {
    if (u + 32 > cnt) { /* the last positions: one step moved back to end at cnt (the same bytes again) */
      if (u >= cnt || cnt < 32) break;
      u = cnt - 32;
    }
#define XS4_LOAD(p) _mm256_add_epi8(_mm256_loadu_si256((const __m256i *)(const void *)((p) + u)), vf)
    const __m256i va = XS4_LOAD(a), vb = XS4_LOAD(b), vc = XS4_LOAD(c), ve = XS4_LOAD(e);
#undef XS4_LOAD
    interleave4_avx2(o + 4 * u, va, vb, vc, ve);
    if (u + 32 >= cnt) return cnt;
  }
  return u;
}

/* xform_span4_s2 32 positions at a time while the 64 source bytes of each lie in the @avail bytes of the
 * row: the even bytes of each source (stride 2), + f, interleaved. Returns the positions done. */
__attribute__((target("avx2"))) static int64_t xform_span4_s2_avx2(uint8_t *restrict o, const uint8_t *restrict a,
                                                                    const uint8_t *restrict b, const uint8_t *restrict c,
                                                                    const uint8_t *restrict e, int64_t cnt,
                                                                    int64_t avail, uint8_t f) {
  const __m256i vf = _mm256_set1_epi8((char)f), m = _mm256_set1_epi16(0xff);
  int64_t u = 0;
  for (; u + 32 <= cnt && 2 * u + 64 <= avail; u += 32) {
#define XS4_EVEN(p)                                                                                             \
  _mm256_add_epi8(_mm256_permute4x64_epi64(                                                                    \
                      _mm256_packus_epi16(                                                                     \
                          _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(const void *)((p) + 2 * u)), m), \
                          _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(const void *)((p) + 2 * u + 32)), m)), \
                      0xD8),                                                                                   \
                  vf)
    const __m256i va = XS4_EVEN(a), vb = XS4_EVEN(b), vc = XS4_EVEN(c), ve = XS4_EVEN(e);
#undef XS4_EVEN
    interleave4_avx2(o + 4 * u, va, vb, vc, ve);
  }
  return u;
}
#endif

/* o[u * 4 + e] = xr[e][rb + 2 u] + xo (mod 256), u < cnt: one column phase of a stride-2 row, the @avail
 * bytes of the row from rb readable (M-LSD's 4-channel 320 x 320 stem: the scalar loop took as long as
 * the conv). */
static void xform_span4_s2(uint8_t *restrict o, const uint8_t *const *xr, int64_t rb, int64_t cnt, int64_t avail,
                           int32_t xo, int vec) {
  const uint8_t *restrict a = xr[0] + rb, *restrict b = xr[1] + rb, *restrict c = xr[2] + rb, *restrict e = xr[3] + rb;
  const uint8_t f = (uint8_t)xo;
  int64_t u = 0;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  if (vec && cnt >= 32 && cpu_q_avx2()) u = xform_span4_s2_avx2(o, a, b, c, e, cnt, avail, f);
#endif
  for (; u < cnt; u++)
    o[4 * u] = (uint8_t)(a[2 * u] + f), o[4 * u + 1] = (uint8_t)(b[2 * u] + f), o[4 * u + 2] = (uint8_t)(c[2 * u] + f),
                 o[4 * u + 3] = (uint8_t)(e[2 * u] + f);
}

static void xform_span4(uint8_t *restrict o, const uint8_t *const *xr, int64_t rb, int64_t cnt, int sgn, int32_t xo) {
  const uint8_t *restrict a = xr[0] + rb, *restrict b = xr[1] + rb, *restrict c = xr[2] + rb, *restrict e = xr[3] + rb;
  const uint8_t f = (uint8_t)xo; /* mod 256: (int8)v + 128 and v + 128 are the same byte */
  (void)sgn;
  int64_t u = 0;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  if (cnt >= 32 && cpu_q_avx2()) u = xform_span4_avx2(o, a, b, c, e, cnt, f);
#endif
  for (; u < cnt; u++)
    o[4 * u] = (uint8_t)(a[u] + f), o[4 * u + 1] = (uint8_t)(b[u] + f), o[4 * u + 2] = (uint8_t)(c[u] + f),
                 o[4 * u + 3] = (uint8_t)(e[u] + f);
}
#define XFORM_SPAN_2 xform_span2
#define XFORM_SPAN_4 xform_span4

/* q->cpair: channel @c of one image as sh row-phase planes of padded int16 rows (PWs words of two
 * columns), padding (rows, columns, the plane rows past the padded height and the slack after the last
 * plane) = xpad. */
static void xform_cpair(const CpuQConv *q, const uint8_t *x, int16_t *dst, int64_t c) {
  const CpuQConvDesc *d = &q->d;
  const int sgn = d->xdt == MSC_DTYPE_INT8;
  const int16_t pad = (int16_t)q->xpad;
  const int64_t RW = 2 * q->PWs, PH = d->H + d->pt + d->pb;
  for (int64_t rp = 0; rp < d->sh; rp++)
    for (int64_t k = 0; k < q->PHs; k++) {
      const int64_t r = rp + k * d->sh, ih = r - d->pt;
      int16_t *o = dst + ((rp * q->Gc + c) * q->PS + k * q->PWs) * 2;
      if (r >= PH || ih < 0 || ih >= d->H) {
        for (int64_t i = 0; i < RW; i++) o[i] = pad;
        continue;
      }
      for (int64_t i = 0; i < d->pl; i++) o[i] = pad;
      for (int64_t i = d->pl + d->W; i < RW; i++) o[i] = pad;
      const uint8_t *src = x + ih * d->W;
      int16_t *v = o + d->pl;
      int64_t u = 0;
#if defined(__SSE4_1__)
      for (; u + 8 <= d->W; u += 8) {
        __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(src + u));
        _mm_storeu_si128((__m128i *)(void *)(v + u), sgn ? _mm_cvtepi8_epi16(b) : _mm_cvtepu8_epi16(b));
      }
#elif defined(__SSE2__)
      for (; u + 8 <= d->W; u += 8) {
        __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(src + u));
        b = _mm_unpacklo_epi8(b, b);
        _mm_storeu_si128((__m128i *)(void *)(v + u), sgn ? _mm_srai_epi16(b, 8) : _mm_srli_epi16(b, 8));
      }
#endif
      if (sgn)
        for (; u < d->W; u++) v[u] = (int8_t)src[u];
      else
        for (; u < d->W; u++) v[u] = src[u];
    }
  if (c == q->Gc - 1) xin_slack(q, dst);
}

/* One output row of an im2w word plane, KG (2 or 4) sources: word element e of position ow is
 * x[ro[e] + iw0[e] + ow * sw], or the pad value where that column is outside [0, W) or ro[e] < 0 (no source
 * row); @x: the image's @n bytes. KG=2: int16 elements (int8 inputs sign-extended); KG=4: bytes + xo (mod
 * 256: int8 inputs flipped to unsigned, xo = 128). Strides 1 and 2 take 8 positions at a time (SSE2)
 * wherever the 8 * sw bytes read lie inside the image, across row ends too (the next or previous row's
 * bytes), and then set the positions whose column is outside the row to the pad value: the few border
 * columns stay out of the scalar loop. */
static void im2w_row(void *restrict ov, int kg, const uint8_t *x, int64_t n, const int64_t *ro, const int64_t *iw0,
                     int64_t OW, int64_t W, int64_t sw, int sgn, int32_t xo, int32_t pad) {
  int16_t *o2 = ov;
  uint8_t *o4 = ov;
  int64_t ow = 0;
#define IM2W_AT(e_, ow_)                                                                                   \
  (ro[e_] >= 0 && iw0[e_] + (ow_) * sw >= 0 && iw0[e_] + (ow_) * sw < W                                      \
       ? (sgn ? (int32_t)(int8_t)x[ro[e_] + iw0[e_] + (ow_) * sw] : (int32_t)x[ro[e_] + iw0[e_] + (ow_) * sw]) + xo \
       : pad)
#define IM2W_SET(ow_, e_, v_)                                                                              \
  do {                                                                                                     \
    if (kg == 2) o2[2 * (ow_) + (e_)] = (int16_t)(v_);                                                     \
    else o4[4 * (ow_) + (e_)] = (uint8_t)(v_);                                                             \
  } while (0)
#if defined(__SSE2__)
  if (sw <= 2) {
    int64_t start = 0; /* the first vector's reads start inside the image */
    for (int e = 0; e < kg; e++)
      if (ro[e] >= 0 && ro[e] + iw0[e] < 0) start = MAX(start, (-(ro[e] + iw0[e]) + sw - 1) / sw);
    for (; ow < start && ow < OW; ow++)
      for (int e = 0; e < kg; e++) IM2W_SET(ow, e, IM2W_AT(e, ow));
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    if (kg == 4 && ow < OW && cpu_q_avx2()) ow = im2w4_avx2(o4, x, n, ro, iw0, ow, OW, sw, (uint8_t)pad, (uint8_t)xo);
#endif
    const __m128i m = _mm_set1_epi16(0xff), vp2 = _mm_set1_epi16((int16_t)pad), vp4 = _mm_set1_epi8((char)pad);
    const __m128i flip = _mm_set1_epi8((char)xo);
    for (; ow + 8 <= OW; ow += 8) {
      int inside = 1;
      for (int e = 0; e < kg; e++)
        if (ro[e] >= 0 && ro[e] + iw0[e] + (ow + 8) * sw > n) inside = 0;
      if (!inside) break;
      __m128i v[4];
      for (int e = 0; e < kg; e++) {
        if (ro[e] < 0) {
          v[e] = kg == 2 ? vp2 : vp4;
          continue;
        }
        const uint8_t *s = x + ro[e] + iw0[e] + ow * sw;
        __m128i b = sw == 1 ? _mm_loadl_epi64((const __m128i *)(const void *)s)
                            : _mm_loadu_si128((const __m128i *)(const void *)s);
        if (kg == 2) { /* 8 int16 */
          if (sw == 1) b = _mm_unpacklo_epi8(b, b), v[e] = sgn ? _mm_srai_epi16(b, 8) : _mm_srli_epi16(b, 8);
          else v[e] = sgn ? _mm_srai_epi16(_mm_slli_epi16(b, 8), 8) : _mm_and_si128(b, m); /* even bytes */
        } else { /* 8 bytes (low half), + xo */
          if (sw == 2) b = _mm_packus_epi16(_mm_and_si128(b, m), _mm_and_si128(b, m));
          v[e] = _mm_xor_si128(b, flip); /* xo is 0 or 128: + xo mod 256 */
        }
      }
      if (kg == 2) {
        _mm_storeu_si128((__m128i *)(void *)(o2 + 2 * ow), _mm_unpacklo_epi16(v[0], v[1]));
        _mm_storeu_si128((__m128i *)(void *)(o2 + 2 * ow + 8), _mm_unpackhi_epi16(v[0], v[1]));
      } else {
        const __m128i ab = _mm_unpacklo_epi8(v[0], v[1]), cd = _mm_unpacklo_epi8(v[2], v[3]);
        _mm_storeu_si128((__m128i *)(void *)(o4 + 4 * ow), _mm_unpacklo_epi16(ab, cd));
        _mm_storeu_si128((__m128i *)(void *)(o4 + 4 * ow + 16), _mm_unpackhi_epi16(ab, cd));
      }
    }
    for (int e = 0; e < kg; e++) { /* the vectors' positions whose column is outside the row */
      if (ro[e] < 0) continue;
      for (int64_t u = start; u < ow && iw0[e] + u * sw < 0; u++) IM2W_SET(u, e, pad);
      for (int64_t u = MAX(start, (W - iw0[e] + sw - 1) / sw); u < ow; u++) IM2W_SET(u, e, pad);
    }
  }
#endif
  for (; ow < OW; ow++)
    for (int e = 0; e < kg; e++) IM2W_SET(ow, e, IM2W_AT(e, ow));
#undef IM2W_AT
#undef IM2W_SET
}

/* q->im2w: word plane @g of one image (@x at channel 0): position f = oh * OW + ow holds the input values
 * of products k = kg g .. kg g + kg - 1 (k = (c * kh + i) * kw + j reads x[c][oh sh + i dh - pt][ow sw + j dw
 * - pl]) as the direct kernel's kg-element words (+ xoff), the pad value (xpad) where that is padding;
 * products past K read product K - 1 (their weights are 0); positions P..PS and (last plane) the slack
 * after = pad (written, so no word the kernel reads is uninitialized). */
static void xform_im2w(const CpuQConv *q, const uint8_t *x, void *dst, int64_t g) {
  const CpuQConvDesc *d = &q->d;
  const int kg = q->k->kg, esz = q->k->esize;
  const int64_t khw = d->kh * d->kw;
  uint8_t *pl = (uint8_t *)dst + (size_t)(g * q->PS * kg * esz);
  int64_t c[4], i[4], iw0[4], ro[4];
  for (int e = 0; e < kg; e++) {
    const int64_t k = MIN(g * kg + e, q->K - 1);
    c[e] = k / khw, i[e] = k % khw / d->kw, iw0[e] = k % d->kw * d->dw - d->pl;
  }
  const int sgn = d->xdt == MSC_DTYPE_INT8;
  for (int64_t oh = 0; oh < q->OH; oh++) {
    for (int e = 0; e < kg; e++) {
      const int64_t ih = oh * d->sh + i[e] * d->dh - d->pt;
      ro[e] = ih >= 0 && ih < d->H ? (c[e] * d->H + ih) * d->W : -1;
    }
    im2w_row(pl + (size_t)(oh * q->OW * kg * esz), kg, x, d->C * d->H * d->W, ro, iw0, q->OW, d->W, d->sw, sgn,
             q->xoff, q->xpad);
  }
  xin_fill(q, pl, (size_t)(q->P * kg), (size_t)(q->PS * kg));
  if (g == q->Gc - 1) xin_slack(q, dst);
}

static void xform_task(void *ctx, int64_t t, int thread) {
  (void)thread;
  const QJob *j = ctx;
  const CpuQConv *q = j->q;
  const CpuQConvDesc *d = &q->d;
  int64_t gc = t % q->Gc, ng = t / q->Gc, n = ng / d->group, g = ng % d->group;
  int sgn = d->xdt == MSC_DTYPE_INT8;
  size_t xb = qalign(q->xin_elems * (size_t)q->k->esize);
  if (q->im2w) {
    xform_im2w(q, j->x + n * d->C * d->H * d->W, j->ws + (size_t)ng * xb, gc);
    return;
  }
  if (q->cpair) {
    xform_cpair(q, j->x + ((n * d->C + g * q->Cg + gc) * d->H) * d->W, (int16_t *)(void *)(j->ws + (size_t)ng * xb), gc);
    return;
  }
  if (q->k->kg == 2) XFORM_BODY(int16_t, 2);
  else XFORM_BODY(uint8_t, 4);
}

/* Row-wise depthwise: one task per (image, range of dwchunk channels). */
static void dwrows_task(void *ctx, int64_t t, int thread) {
  const QJob *j = ctx;
  const CpuQConv *q = j->q;
  int64_t nch = (q->d.M + j->panels - 1) / j->panels, n = t / nch, c0 = (t % nch) * j->panels;
#if defined(__x86_64__) || defined(__i386__)
  cpu_qdw_rows_avx2(q, j->x + n * q->d.C * q->d.H * q->d.W, c0, MIN(c0 + j->panels, q->d.M), j->y + n * q->d.M * q->P,
                    j->ws + (size_t)thread * q->ws_per_thread);
#else
  (void)n, (void)c0, (void)thread;
#endif
}

typedef struct {
  const QJob *j;
  int64_t ftiles, fchunk, mchunk, nfc, nmc;
} QDirect;

static void direct_task(void *ctx, int64_t t, int thread) {
  (void)thread;
  const QDirect *dj = ctx;
  const QJob *j = dj->j;
  const CpuQConv *q = j->q;
  int64_t mc = t % dj->nmc, fc = (t / dj->nmc) % dj->nfc, ng = t / (dj->nmc * dj->nfc);
  int64_t n = ng / q->d.group, g = ng % q->d.group, nr = q->k->nr;
  int64_t f0 = fc * dj->fchunk * nr, f1 = MIN(f0 + dj->fchunk * nr, dj->ftiles * nr);
  int64_t m0 = g * q->Mg + mc * dj->mchunk, m1 = MIN(m0 + dj->mchunk, (g + 1) * q->Mg);
  size_t xb = qalign(q->xin_elems * (size_t)q->k->esize);
  if (m0 >= m1) return;
  uint8_t *y = j->y + (size_t)(n * q->d.M * q->P) * ysize(q);
  const uint8_t *sk = j->skip ? j->skip + (size_t)(n * q->d.M * q->P) : NULL;
  /* the kernel applies the residual add itself unless a table comes first */
  q->k->direct(q, j->ws + (size_t)ng * xb, f0, f1, m0, m1, y, q->d.post ? NULL : sk);
  if (q->d.post) { /* the fused table (and then the residual add) on the positions just written (in cache):
                    * per output row segment, all the task's channels in one table call */
    const int64_t PWs = q->PWs, OW = q->OW, P = q->P, fe = MIN(f1, q->nf);
    if (PWs == OW && !sk) {
      cpu_qlut_rows(q->d.post, y + m0 * P + f0, m1 - m0, P, fe - f0);
      return;
    }
    for (int64_t oh = f0 / PWs; oh * PWs < fe; oh++) {
      int64_t a = MAX(f0 - oh * PWs, 0), b = MIN(fe - oh * PWs, OW);
      if (a >= b) continue;
      cpu_qlut_rows(q->d.post, y + m0 * P + oh * OW + a, m1 - m0, P, b - a);
      if (sk)
        for (int64_t m = m0; m < m1; m++) vadd_inplace(q, sk + m * P + oh * OW + a, y + m * P + oh * OW + a, b - a);
    }
  }
}

static void run_direct(const CpuQConv *q, QJob *j, MscThreadPool *pool) {
  gboolean par = pool && msc_threadpool_parallel_for;
  int64_t ng = q->d.N * q->d.group, tasks = ng * q->Gc;
  cpu_q_for(pool, tasks, xform_task, j);
  QDirect dj = {j, (q->nf + q->k->nr - 1) / q->k->nr, 4, q->Mg, 0, 1};
  dj.nfc = (dj.ftiles + dj.fchunk - 1) / dj.fchunk;
  if (par && ng * dj.nfc < 16) { /* split output channels too (multiples of 2 weight blocks) */
    int64_t want = (16 + ng * dj.nfc - 1) / (ng * dj.nfc), a = 2 * q->k->mr;
    dj.mchunk = MAX(a, ((q->Mg + want - 1) / want + a - 1) / a * a);
  }
  { /* a task's weights within about 192 KB (L2): its tiles run outer, weight blocks inner */
    const int64_t mr = q->k->mr, per = q->T * q->Gc * 4 * mr;
    const int64_t cap = MAX((int64_t)1, 196608 / per) * mr;
    if (dj.mchunk > cap) dj.mchunk = cap;
  }
  dj.nmc = (q->Mg + dj.mchunk - 1) / dj.mchunk;
  cpu_q_for(pool, ng * dj.nfc * dj.nmc, direct_task, &dj);
}

void cpu_qconv_run(const CpuQConv *q, const void *x, void *y, void *ws, MscThreadPool *pool) {
  cpu_qconv_run_add(q, x, NULL, y, ws, pool);
}

static void run_rest(const CpuQConv *q, QJob *j, MscThreadPool *pool);

void cpu_qconv_run_add(const CpuQConv *q, const void *x, const uint8_t *skip, void *y, void *ws, MscThreadPool *pool) {
  if (!q->d.vadd || q->d.ydt == MSC_DTYPE_INT32) skip = NULL;
  QJob j = {q, x, y, ws, (q->P + q->k->nr - 1) / q->k->nr, skip};
  if (q->direct) { /* the add per tile, on bytes still in cache */
    run_direct(q, &j, pool);
    return;
  }
  j.skip = NULL;
  run_rest(q, &j, pool);
  if (skip) vadd_inplace(q, skip, y, q->d.N * q->d.M * q->P); /* after the whole conv */
}

static void run_rest(const CpuQConv *q, QJob *jp, MscThreadPool *pool) {
  QJob j = *jp;
  const void *x = j.x;
  void *y = j.y, *ws = j.ws;
#if defined(__x86_64__) || defined(__i386__)
  if (q->wino) {
    cpu_qwino_run(q, x, y, ws, pool);
    return;
  }
#else
  (void)x, (void)y, (void)ws;
#endif
  if (q->dwrows) { /* j.panels: channels per task (about 4 tasks per thread) */
    gboolean par = pool && msc_threadpool_parallel_for && msc_threadpool_size && msc_threadpool_size(pool) > 1;
    int64_t per = par ? MAX((int64_t)1, q->d.N * q->d.M / (4 * msc_threadpool_size(pool))) : q->d.M;
    j.panels = MIN(per, q->d.M);
    int64_t tasks = q->d.N * ((q->d.M + j.panels - 1) / j.panels);
    cpu_q_for(par ? pool : NULL, tasks, dwrows_task, &j);
    return;
  }
  if (q->depthwise) {
    int64_t tasks = q->d.N * q->d.M;
    cpu_q_for(pool, tasks, dw_task, &j);
    return;
  }
  if (q->gemv) { /* tiny: one thread */
    for (int64_t n = 0; n < q->d.N; n++) {
      const uint8_t *xn = (const uint8_t *)x + n * q->d.C;
      uint8_t *yn = (uint8_t *)y + n * q->d.M;
#if defined(__x86_64__) || defined(__i386__)
      if (q->gemv == 2) {
        cpu_qgemv_avx2(q, xn, yn);
        continue;
      }
#endif
      gemv_c(q, xn, yn);
    }
    return;
  }
  int64_t tasks = q->d.N * q->d.group * j.panels;
  cpu_q_for(pool, tasks, gemm_task, &j);
}
