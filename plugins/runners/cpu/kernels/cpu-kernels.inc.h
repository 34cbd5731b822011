/* cpu-kernels.inc.h: the ONE body of the cpu runner's non-conv kernels,
 * generic over vector width. The including file defines KSUFFIX, VL, vec_t
 * and VZERO VSET1 VLOAD VSTORE VFMA(a,b,c)=a*b+c VADD VSUB VMUL VDIV VMAX
 * VMIN VSQRT VHSUM VHMAX, then includes this; only the table is extern. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "cpu-kernels.h"

#define KCAT_(a, b) a##b
#define KCAT(a, b) KCAT_(a, b)
#define KTABLE KCAT(cpu_kernels_, KSUFFIX)
#define KSTR_(a) #a
#define KSTR(a) KSTR_(a)
#define KALWAYS inline __attribute__((always_inline))

/* K_EVEN2(p) / K_ODD2(p): lanes p[0], p[2], ... / p[1], p[3], ... of the
 * 2 VL floats from p, in an ISA-defined lane order that K_ORDER2 puts
 * right (lane-wise ops in between keep it). Portable: gathers. */
#ifndef K_EVEN2
static KALWAYS vec_t k_pick2(const float *p) {
  float t[VL];
  for (int i = 0; i < VL; i++) t[i] = p[2 * i];
  return VLOAD(t);
}
#define K_EVEN2(p) k_pick2(p)
#define K_ODD2(p) k_pick2((p) + 1)
#define K_ORDER2(v) (v)
#endif

static KALWAYS vec_t k_act_vec(vec_t v, MscActivation act, float a, float b) {
  switch (act) {
  case MSC_ACT_NONE: return v;
  case MSC_ACT_RELU: return VMAX(v, VZERO());
  case MSC_ACT_CLIP: return VMIN(VMAX(v, VSET1(a)), VSET1(b));
  case MSC_ACT_LEAKY_RELU: return VFMA(VSET1(a), VMIN(v, VZERO()), VMAX(v, VZERO()));
  case MSC_ACT_HARD_SWISH:
    return VMUL(v, VMIN(VMAX(VFMA(v, VSET1(1.0f / 6.0f), VSET1(0.5f)), VZERO()), VSET1(1.0f)));
  case MSC_ACT_HARD_SIGMOID: return VMIN(VMAX(VFMA(v, VSET1(a), VSET1(b)), VZERO()), VSET1(1.0f));
  case MSC_ACT_SIGMOID: {
    float t[VL];
    VSTORE(t, v);
    for (int i = 0; i < VL; i++) t[i] = 1.0f / (1.0f + expf(-t[i]));
    return VLOAD(t);
  }
  }
  return v;
}

static KALWAYS float k_act(float v, MscActivation act, float a, float b) {
  switch (act) {
  case MSC_ACT_NONE: return v;
  case MSC_ACT_RELU: return v > 0.0f ? v : 0.0f;
  case MSC_ACT_CLIP: return fminf(fmaxf(v, a), b);
  case MSC_ACT_LEAKY_RELU: return v < 0.0f ? a * v : v;
  case MSC_ACT_HARD_SWISH: return v * fminf(fmaxf(v * (1.0f / 6.0f) + 0.5f, 0.0f), 1.0f);
  case MSC_ACT_HARD_SIGMOID: return fminf(fmaxf(a * v + b, 0.0f), 1.0f);
  case MSC_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
  }
  return v;
}

static void k_affine_act(const float *x, float *y, int64_t n, float s, float t, MscActivation act, float a, float b) {
  int64_t i = 0;
  vec_t vs = VSET1(s), vt = VSET1(t);
  for (; i + VL <= n; i += VL) VSTORE(y + i, k_act_vec(VFMA(VLOAD(x + i), vs, vt), act, a, b));
  for (; i < n; i++) y[i] = k_act(x[i] * s + t, act, a, b);
}

static KALWAYS vec_t k_bin_vec(vec_t a, vec_t b, CpuBinOp op) {
  switch (op) {
  case CPU_BIN_ADD: return VADD(a, b);
  case CPU_BIN_SUB: return VSUB(a, b);
  case CPU_BIN_MUL: return VMUL(a, b);
  case CPU_BIN_DIV: return VDIV(a, b);
  }
  return a;
}

static KALWAYS float k_bin(float a, float b, CpuBinOp op) {
  switch (op) {
  case CPU_BIN_ADD: return a + b;
  case CPU_BIN_SUB: return a - b;
  case CPU_BIN_MUL: return a * b;
  case CPU_BIN_DIV: return a / b;
  }
  return a;
}

static void k_binary(const float *a, const float *b, float *y, int64_t n, CpuBinOp op, CpuBcast bc) {
  int64_t i = 0;
  if (bc == CPU_BC_SAME) {
    for (; i + VL <= n; i += VL) VSTORE(y + i, k_bin_vec(VLOAD(a + i), VLOAD(b + i), op));
    for (; i < n; i++) y[i] = k_bin(a[i], b[i], op);
  } else if (bc == CPU_BC_B_SCALAR) {
    float bs = b[0];
    vec_t vb = VSET1(bs);
    for (; i + VL <= n; i += VL) VSTORE(y + i, k_bin_vec(VLOAD(a + i), vb, op));
    for (; i < n; i++) y[i] = k_bin(a[i], bs, op);
  } else {
    float as = a[0];
    vec_t va = VSET1(as);
    for (; i + VL <= n; i += VL) VSTORE(y + i, k_bin_vec(va, VLOAD(b + i), op));
    for (; i < n; i++) y[i] = k_bin(as, b[i], op);
  }
}

/* Taps of a window starting at @start (kernel k, dilation d) landing in
 * [0, lim). */
static KALWAYS int64_t k_taps(int64_t start, int64_t k, int64_t d, int64_t lim) {
  int64_t lo = start < 0 ? (-start + d - 1) / d : 0, hi = start < lim ? (lim - 1 - start) / d + 1 : 0;
  if (lo > k) lo = k;
  if (hi > k) hi = k;
  return hi > lo ? hi - lo : 0;
}

/* Taps landing before @lim, the begin padding included (the
 * count_include_pad divisor). */
static KALWAYS int64_t k_taps_pad(int64_t start, int64_t k, int64_t d, int64_t lim) {
  int64_t hi = start < lim ? (lim - 1 - start) / d + 1 : 0;
  return hi > k ? k : hi;
}

/* Stride-2 window sums of VL output columns from row buffer p (kw taps,
 * dilation 1), in output order: 0 + tap 0 + tap 1 + ..., the scalar
 * code's order. */
static inline vec_t k_avg2_sum(const float *p, int64_t kw) {
  vec_t m = VADD(VZERO(), K_EVEN2(p));
  for (int64_t k = 1; k < kw; k++) m = VADD(m, (k & 1) ? K_ODD2(p + k - 1) : K_EVEN2(p + k));
  return K_ORDER2(m);
}

/* window rows reduced in registers (k_pool2d); taller windows go row by row */
#define K_POOL_ROWS 8

/* Separable pooling: per output row, the kh input rows reduce into @tmp
 * (vectorized over the width, padding filled with -inf or 0), then each
 * output reduces kw entries of @tmp. */
static void k_pool2d(const CpuPool2d *g, const float *x, float *y, float *tmp) {
  const int64_t W = g->W, pl = g->pl, tw = g->tmp_w;
  const float fill = g->avg ? 0.0f : -INFINITY;
  for (int64_t i = 0; i < pl; i++) tmp[i] = fill;
  for (int64_t i = pl + W; i < tw; i++) tmp[i] = fill;
  float *t = tmp + pl;
  for (int64_t oh = 0; oh < g->OH; oh++) {
    int64_t r0 = oh * g->sh - g->pt, nrows = 0;
    if (g->kh <= K_POOL_ROWS) {
      /* the window's rows reduced in registers, one store per vector (in
       * the scalar code's order: row 0, + row 1, ...); the rest of the row
       * as one vector overlapping the last (recomputed from the rows) */
      const float *rows[K_POOL_ROWS];
      for (int64_t i = 0; i < g->kh; i++) {
        int64_t r = r0 + i * g->dh;
        if (r >= 0 && r < g->H) rows[nrows++] = x + r * W;
      }
      if (nrows) {
        int64_t j = 0;
        for (;;) {
          for (; j + VL <= W; j += VL) {
            vec_t m = VLOAD(rows[0] + j);
            if (g->avg)
              for (int64_t i = 1; i < nrows; i++) m = VADD(m, VLOAD(rows[i] + j));
            else
              for (int64_t i = 1; i < nrows; i++) m = VMAX(m, VLOAD(rows[i] + j));
            VSTORE(t + j, m);
          }
          if (j == W || W < VL || j == W - VL) break;
          j = W - VL;
        }
        if (g->avg) {
          for (; j < W; j++) {
            float m = rows[0][j];
            for (int64_t i = 1; i < nrows; i++) m += rows[i][j];
            t[j] = m;
          }
        } else {
          for (; j < W; j++) {
            float m = rows[0][j];
            for (int64_t i = 1; i < nrows; i++) m = rows[i][j] > m ? rows[i][j] : m;
            t[j] = m;
          }
        }
      }
    } else {
      for (int64_t i = 0; i < g->kh; i++) {
        int64_t r = r0 + i * g->dh;
        if (r < 0 || r >= g->H) continue;
        const float *row = x + r * W;
        int64_t j = 0;
        if (!nrows) {
          memcpy(t, row, (size_t)W * sizeof(float));
        } else if (g->avg) {
          for (; j + VL <= W; j += VL) VSTORE(t + j, VADD(VLOAD(t + j), VLOAD(row + j)));
          for (; j < W; j++) t[j] += row[j];
        } else {
          for (; j + VL <= W; j += VL) VSTORE(t + j, VMAX(VLOAD(t + j), VLOAD(row + j)));
          for (; j < W; j++) t[j] = t[j] > row[j] ? t[j] : row[j];
        }
        nrows++;
      }
    }
    float *yr = y + oh * g->OW;
    if (!nrows) { /* the window is all padding */
      for (int64_t ow = 0; ow < g->OW; ow++) yr[ow] = g->avg ? 0.0f : -FLT_MAX;
      continue;
    }
    int64_t rdiv = g->avg && g->count_include_pad ? k_taps_pad(r0, g->kh, g->dh, g->H + g->pb) : nrows;
    if (!g->avg && g->sw == 1 && g->dw == 1) {
      int64_t ow = 0;
      for (; ow + VL <= g->OW; ow += VL) {
        vec_t m = VLOAD(tmp + ow);
        for (int64_t k = 1; k < g->kw; k++) m = VMAX(m, VLOAD(tmp + ow + k));
        VSTORE(yr + ow, m);
      }
      if (ow < g->OW && g->OW >= VL) { /* one vector ending at OW, overlapping (reads up to tmp[OW + kw - 2]) */
        ow = g->OW - VL;
        vec_t m = VLOAD(tmp + ow);
        for (int64_t k = 1; k < g->kw; k++) m = VMAX(m, VLOAD(tmp + ow + k));
        VSTORE(yr + ow, m);
        ow = g->OW;
      }
      for (; ow < g->OW; ow++) {
        float m = tmp[ow];
        for (int64_t k = 1; k < g->kw; k++) m = tmp[ow + k] > m ? tmp[ow + k] : m;
        yr[ow] = m;
      }
    } else if (!g->avg && g->dw == 1 && g->sw == 2) {
      /* stride-2 max: tap k of output vector ow.. is the even (k even) or
       * odd (k odd) lanes of the 2 VL floats from tmp[2 ow + k - (k & 1)];
       * the maxes run in K_EVEN2's lane order, put in place once per vector.
       * Windows over padding only (ow < o_lo, ow >= o_hi) are -FLT_MAX. */
      int64_t o_lo = pl - g->kw + 1 > 0 ? (pl - g->kw + 1 + 1) / 2 : 0;
      int64_t o_hi = (W + pl + 1) / 2;
      if (o_lo > g->OW) o_lo = g->OW;
      if (o_hi > g->OW) o_hi = g->OW;
      if (o_hi < o_lo) o_hi = o_lo;
      int64_t ow = 0;
      for (; ow < o_lo; ow++) yr[ow] = -FLT_MAX;
      /* a vector reads tmp[2 ow .. 2 ow + 2 VL + kw - 2] */
      for (; ow + VL <= o_hi && 2 * ow + 2 * VL + g->kw - 1 <= tw; ow += VL) {
        const float *p = tmp + 2 * ow;
        vec_t m = K_EVEN2(p);
        for (int64_t k = 1; k < g->kw; k++) m = VMAX(m, (k & 1) ? K_ODD2(p + k - 1) : K_EVEN2(p + k));
        VSTORE(yr + ow, K_ORDER2(m));
      }
      /* the rest as one vector ending at o_hi, overlapping the last */
      if (ow < o_hi && o_hi - o_lo >= VL && 2 * o_hi + g->kw - 1 <= tw) {
        const float *p = tmp + 2 * (o_hi - VL);
        vec_t m = K_EVEN2(p);
        for (int64_t k = 1; k < g->kw; k++) m = VMAX(m, (k & 1) ? K_ODD2(p + k - 1) : K_EVEN2(p + k));
        VSTORE(yr + o_hi - VL, K_ORDER2(m));
        ow = o_hi;
      }
      for (; ow < o_hi; ow++) {
        const float *p = tmp + 2 * ow;
        float m = p[0];
        for (int64_t k = 1; k < g->kw; k++) m = p[k] > m ? p[k] : m;
        yr[ow] = m;
      }
      for (; ow < g->OW; ow++) yr[ow] = -FLT_MAX;
    } else if (!g->avg && g->dw == 1) {
      /* strided max: the stride-1 window max in place (vectors; each
       * store lands behind every later load), then every sw-th of it */
      const int64_t nh = (g->OW - 1) * g->sw + 1;
      int64_t j = 0;
      for (; j + VL <= nh; j += VL) {
        vec_t m = VLOAD(tmp + j);
        for (int64_t k = 1; k < g->kw; k++) m = VMAX(m, VLOAD(tmp + j + k));
        VSTORE(tmp + j, m);
      }
      for (; j < nh; j++) {
        float m = tmp[j];
        for (int64_t k = 1; k < g->kw; k++) m = tmp[j + k] > m ? tmp[j + k] : m;
        tmp[j] = m;
      }
      /* windows over padding only (-FLT_MAX, as the reference) lie at the
       * ends: ow < o_lo (ending before column 0) and ow >= o_hi (starting
       * at or past W); the rest is a plain strided pick, no per-column test */
      const int64_t sw = g->sw;
      int64_t o_lo = pl - g->kw + 1 > 0 ? (pl - g->kw + 1 + sw - 1) / sw : 0;
      int64_t o_hi = (W + pl + sw - 1) / sw;
      if (o_lo > g->OW) o_lo = g->OW;
      if (o_hi > g->OW) o_hi = g->OW;
      if (o_hi < o_lo) o_hi = o_lo;
      for (int64_t ow = 0; ow < o_lo; ow++) yr[ow] = -FLT_MAX;
      for (int64_t ow = o_lo; ow < o_hi; ow++) yr[ow] = tmp[ow * sw];
      for (int64_t ow = o_hi; ow < g->OW; ow++) yr[ow] = -FLT_MAX;
      /* the in-place pass overwrote the pad fills the next rows rely on */
      for (int64_t i = 0; i < pl; i++) tmp[i] = fill;
      for (int64_t i = pl + W; i < nh && i < tw; i++) tmp[i] = fill;
    } else {
      int64_t ow = 0, v_lo = 0, v_hi = 0, full_lo = 0, full_hi = 0;
      if (g->avg && g->sw == 2 && g->dw == 1) {
        /* stride-2 average: columns whose window holds kw counted taps
         * (inside the row, or inside its pads with count_include_pad)
         * share one divisor; their sums take even / odd vector picks as
         * the max above, in the scalar code's order (0 + tap 0 + tap 1 ...) */
        const int64_t kw = g->kw;
        v_lo = g->count_include_pad ? 0 : (pl + 1) / 2;
        const int64_t span = g->count_include_pad ? W + pl + g->pr - kw : W + pl - kw;
        v_hi = span >= 0 ? span / 2 + 1 : 0;
        if (v_hi > g->OW) v_hi = g->OW;
        if (v_lo > v_hi) v_lo = v_hi;
        const vec_t div = VSET1((float)(rdiv * kw));
        ow = v_lo;
        for (; ow + VL <= v_hi && 2 * ow + 2 * VL + kw - 1 <= tw; ow += VL)
          VSTORE(yr + ow, VDIV(k_avg2_sum(tmp + 2 * ow, kw), div));
        /* the rest of the range as one vector ending at v_hi, overlapping the
         * last (the same sums again: 14-column rows had 6 of them scalar) */
        if (ow < v_hi && v_hi - v_lo >= VL && 2 * v_hi + kw - 1 <= tw) {
          VSTORE(yr + v_hi - VL, VDIV(k_avg2_sum(tmp + 2 * (v_hi - VL), kw), div));
          ow = v_hi;
        }
        full_lo = v_lo, full_hi = v_hi; /* the scalar columns in there skip the tap counts */
        v_hi = ow; /* [v_lo, v_hi) done */
        ow = 0;
      }
      for (; ow < g->OW; ow++) {
        if (ow == v_lo && v_hi > v_lo) {
          ow = v_hi - 1;
          continue;
        }
        const float *p = tmp + ow * g->sw;
        if (!g->avg) {
          float m = p[0];
          for (int64_t k = 1; k < g->kw; k++) m = p[k * g->dw] > m ? p[k * g->dw] : m;
          yr[ow] = k_taps(ow * g->sw - pl, g->kw, g->dw, W) ? m : -FLT_MAX;
        } else {
          float s = 0.0f;
          for (int64_t k = 0; k < g->kw; k++) s += p[k * g->dw];
          int64_t c0 = ow * g->sw - pl;
          int64_t cnt = ow >= full_lo && ow < full_hi ? rdiv * g->kw
                        : rdiv * (g->count_include_pad ? k_taps_pad(c0, g->kw, g->dw, W + g->pr) : k_taps(c0, g->kw, g->dw, W));
          yr[ow] = cnt > 0 ? s / (float)cnt : 0.0f;
        }
      }
    }
  }
}

static float k_sum(const float *x, int64_t n) {
  vec_t a0 = VZERO(), a1 = VZERO();
  int64_t i = 0;
  for (; i + 2 * VL <= n; i += 2 * VL) {
    a0 = VADD(a0, VLOAD(x + i));
    a1 = VADD(a1, VLOAD(x + i + VL));
  }
  for (; i + VL <= n; i += VL) a0 = VADD(a0, VLOAD(x + i));
  float s = VHSUM(VADD(a0, a1));
  for (; i < n; i++) s += x[i];
  return s;
}

static float k_max(const float *x, int64_t n) {
  float m = -INFINITY;
  int64_t i = 0;
  if (n >= VL) {
    vec_t a = VLOAD(x);
    for (i = VL; i + VL <= n; i += VL) a = VMAX(a, VLOAD(x + i));
    m = VHMAX(a);
  }
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

#define NRV (CPU_GEMM_NR / VL)

/* One MR x NR tile (mr <= MR rows, nc <= NR valid columns). */
static KALWAYS void k_gemm_tile(const float *A, int64_t lda, const float *Bp, int64_t K, const float *bias, float *Y,
                                int64_t ldy, int mr, int64_t nc, MscActivation act, float fa, float fb) {
  vec_t acc[CPU_GEMM_MR][NRV];
  for (int r = 0; r < CPU_GEMM_MR; r++)
    for (int v = 0; v < NRV; v++) acc[r][v] = VZERO();
  if (mr == CPU_GEMM_MR) {
    for (int64_t k = 0; k < K; k++) {
      const float *b = Bp + k * CPU_GEMM_NR;
      vec_t bv[NRV];
      for (int v = 0; v < NRV; v++) bv[v] = VLOAD(b + v * VL);
      for (int r = 0; r < CPU_GEMM_MR; r++) {
        vec_t a = VSET1(A[r * lda + k]);
        for (int v = 0; v < NRV; v++) acc[r][v] = VFMA(a, bv[v], acc[r][v]);
      }
    }
  } else if (mr == 1) {
    /* memory-bound FC: two K halves in flight for more independent chains */
    vec_t acc2[NRV];
    for (int v = 0; v < NRV; v++) acc2[v] = VZERO();
    int64_t k = 0;
    for (; k + 2 <= K; k += 2) {
      const float *b = Bp + k * CPU_GEMM_NR;
      vec_t a0 = VSET1(A[k]), a1 = VSET1(A[k + 1]);
      for (int v = 0; v < NRV; v++) {
        acc[0][v] = VFMA(a0, VLOAD(b + v * VL), acc[0][v]);
        acc2[v] = VFMA(a1, VLOAD(b + CPU_GEMM_NR + v * VL), acc2[v]);
      }
    }
    for (; k < K; k++) {
      const float *b = Bp + k * CPU_GEMM_NR;
      vec_t a0 = VSET1(A[k]);
      for (int v = 0; v < NRV; v++) acc[0][v] = VFMA(a0, VLOAD(b + v * VL), acc[0][v]);
    }
    for (int v = 0; v < NRV; v++) acc[0][v] = VADD(acc[0][v], acc2[v]);
  } else {
    for (int64_t k = 0; k < K; k++) {
      const float *b = Bp + k * CPU_GEMM_NR;
      vec_t bv[NRV];
      for (int v = 0; v < NRV; v++) bv[v] = VLOAD(b + v * VL);
      for (int r = 0; r < mr; r++) {
        vec_t a = VSET1(A[r * lda + k]);
        for (int v = 0; v < NRV; v++) acc[r][v] = VFMA(a, bv[v], acc[r][v]);
      }
    }
  }
  for (int r = 0; r < mr; r++) {
    float out[CPU_GEMM_NR];
    for (int v = 0; v < NRV; v++) {
      vec_t o = acc[r][v];
      if (bias) o = VADD(o, VLOAD(bias + v * VL));
      VSTORE(out + v * VL, k_act_vec(o, act, fa, fb));
    }
    memcpy(Y + r * ldy, out, (size_t)nc * sizeof(float));
  }
}

static void k_gemm(const float *A, int64_t lda, const float *Bp, int64_t K, const float *bias, float *Y, int64_t ldy,
                   int64_t N, int64_t m0, int64_t m1, int64_t p0, int64_t p1, MscActivation act, float a, float b) {
  for (int64_t p = p0; p < p1; p++) {
    int64_t n0 = p * CPU_GEMM_NR, nc = N - n0 < CPU_GEMM_NR ? N - n0 : CPU_GEMM_NR;
    const float *bp = Bp + p * K * CPU_GEMM_NR;
    for (int64_t m = m0; m < m1; m += CPU_GEMM_MR) {
      int mr = (int)(m1 - m < CPU_GEMM_MR ? m1 - m : CPU_GEMM_MR);
      k_gemm_tile(A + m * lda, lda, bp, K, bias ? bias + n0 : NULL, Y + m * ldy + n0, ldy, mr, nc, act, a, b);
    }
  }
}

/* LRN: per channel, the window's sum of squares (recomputed, no running
 * difference, so no cancellation), then the scaling. */
static void k_lrn(const float *x, float *y, int64_t C, int64_t HW, int64_t hw0, int64_t hw1, int64_t size, float alpha,
                  float beta, float bias, float *tmp) {
  const int64_t n = hw1 - hw0, lo = (size - 1) / 2, hi = size - 1 - lo; /* window [c-lo, c+hi] */
  const float as = alpha / (float)size;
  const int b075 = beta == 0.75f;
  for (int64_t c = 0; c < C; c++) {
    int64_t c0 = c - lo < 0 ? 0 : c - lo, c1 = c + hi >= C ? C - 1 : c + hi;
    memset(tmp, 0, (size_t)n * sizeof(float));
    for (int64_t q = c0; q <= c1; q++) {
      const float *xa = x + q * HW + hw0;
      int64_t i = 0;
      for (; i + VL <= n; i += VL) {
        vec_t v = VLOAD(xa + i);
        VSTORE(tmp + i, VFMA(v, v, VLOAD(tmp + i)));
      }
      for (; i < n; i++) tmp[i] += xa[i] * xa[i];
    }
    const float *xc = x + c * HW + hw0;
    float *yc = y + c * HW + hw0;
    int64_t i = 0;
    if (b075)
      for (; i + VL <= n; i += VL) {
        vec_t d = VFMA(VLOAD(tmp + i), VSET1(as), VSET1(bias)); /* d^0.75 = sqrt(d) * sqrt(sqrt(d)) */
        vec_t s = VSQRT(d);
        VSTORE(yc + i, VDIV(VLOAD(xc + i), VMUL(s, VSQRT(s))));
      }
    for (; i < n; i++) yc[i] = xc[i] / powf(bias + as * tmp[i], beta);
  }
}

const CpuKernels KTABLE = {
    .affine_act = k_affine_act,
    .binary = k_binary,
    .pool2d = k_pool2d,
    .sum = k_sum,
    .max = k_max,
    .gemm = k_gemm,
    .lrn = k_lrn,
    .name = KSTR(KSUFFIX),
};
