/* qwino-avx2.c: exact integer Winograd F(2x2, 3x3) for dense int8 3x3 convs
 * (stride 1, dilation 1), AVX2.
 *
 * With d = x - zx (padding 0) and w' = w - zw:
 *   V = B^T d B  (4x4 input tile; |V| <= 4 * 255, int16)
 *   U = G' w' G'^T with G' = 2G = [2 0 0; 1 1 1; 1 -1 1; 0 0 2]  (= 4 G w' G^T, integers, |U| <= 9 * 255)
 *   M_k = sum_c U_k[m][c] V_k[c]  (16 products per 2x2 output tile instead of 36; vpmaddwd on channel pairs)
 *   Y = A^T M A = 4 * (the 2x2 outputs' exact sums)
 * All in int32 with wrap-around adds: two's complement addition is exact modulo 2^32, so Y is exact
 * whenever the true value fits, i.e. |4 * acc| < 2^31 (checked at plan time from the weights and
 * the input range); vpmaddwd cannot saturate (|U * V| pairs < 2^23). Y / 4 (exact shift) + bias is the
 * integer the direct kernel computes, requantized the same way: bit-identical outputs.
 *
 * Run: the input is rewritten once as int16 padded planes split into even / odd columns (shared by
 * the threads); then per block of tile rows (one task): input transform (16 tiles per vector) into
 * V[k][channel pair][tile][2], 16 GEMMs of MR=6 output channels x 16 tiles, output transform,
 * requantization and stores into the NCHW output rows (plus the fused table, if any). */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#include <immintrin.h>
#include <string.h>

#include "qconv.h"
#include "tensor.h"


/* the GEMM micro-tile: 6 output channels x 16 tiles (2 vectors): 12 accumulators, 2 x vectors, the
 * broadcast weight word and the product are the 16 ymm registers (6 x 3 or 4 x 3 spill) */
#define QW_MR 6
#define QW_NR 16

static size_t qw_align(size_t n) {
  return (n + 63) / 64 * 64;
}

gboolean cpu_qwino_fits(const CpuQConvDesc *d, const CpuQWeights *w) {
  if (d->kh != 3 || d->kw != 3 || d->sh != 1 || d->sw != 1 || d->dh != 1 || d->dw != 1 || d->group != 1 ||
      d->ydt == MSC_DTYPE_INT32 || d->N < 1)
    return FALSE;
  int64_t wmax = MAX(-(int64_t)w->wmin, (int64_t)w->wmax);
  int64_t xmax = d->xdt == MSC_DTYPE_INT8 ? MAX(127 - d->zx, d->zx + 128) : MAX(255 - d->zx, d->zx);
  if (wmax > 255 || xmax > 255) return FALSE;
  /* |4 * acc| < 2^31 with |acc| <= C * 9 * xmax * wmax (the bias is added after the shift) */
  return (double)d->C * 9.0 * (double)xmax * (double)wmax * 4.0 < 2147483647.0;
}

void cpu_qwino_setup(CpuQConv *q, const CpuQWeights *w) {
  const CpuQConvDesc *d = &q->d;
  const int64_t C = d->C, M = d->M, CP = (C + 1) / 2, MB = (M + QW_MR - 1) / QW_MR;
  q->wino = 1;
  q->wTW = (q->OW + 1) / 2, q->wTH = (q->OH + 1) / 2;
  q->wTWr = (q->wTW + 7) / 8 * 8;
  q->wRS = (q->wTWr + 17 + 15) / 16 * 16;
  q->wPH = 2 * q->wTH + 2;
  /* tile rows per block: the V buffer about 192 KB (L2), at least 8 blocks per image when rows allow
   * (threads), an even count when a row is not a multiple of QW_NR tiles (so only the last chunk of
   * a block is short) */
  int64_t per_tile = 16 * 2 * 2 * CP, rmax = MAX((int64_t)1, (196608 / per_tile) / q->wTWr);
  int64_t R = MIN(rmax, MAX((int64_t)2, q->wTH / 8));
  if (q->wTWr % QW_NR && R > 1) R -= R % 2;
  q->wR = MIN(q->wTH, R);
  q->wNTBp = (q->wR * q->wTWr + QW_NR - 1) / QW_NR * QW_NR;
  q->wu = msc_aligned_alloc0((size_t)(16 * MB * CP * QW_MR) * sizeof(int32_t) + 64);
  q->wbias = g_new(int32_t, M);
  for (int64_t m = 0; m < M; m++) {
    int64_t s = 0;
    for (int64_t k = 0; k < C * 9; k++) s += w->w[m * C * 9 + k];
    q->wbias[m] = (int32_t)(q->corr[m] + (int64_t)q->xpad * s); /* corr = bias - xpad * sum w' */
    for (int64_t c = 0; c < C; c++) {
      const int16_t *g = w->w + (m * C + c) * 9;
      int32_t t[4][3], u[4][4]; /* G' g, then (G' g) G'^T */
      for (int j = 0; j < 3; j++) {
        t[0][j] = 2 * g[j];
        t[1][j] = g[j] + g[3 + j] + g[6 + j];
        t[2][j] = g[j] - g[3 + j] + g[6 + j];
        t[3][j] = 2 * g[6 + j];
      }
      for (int i = 0; i < 4; i++) {
        u[i][0] = 2 * t[i][0];
        u[i][1] = t[i][0] + t[i][1] + t[i][2];
        u[i][2] = t[i][0] - t[i][1] + t[i][2];
        u[i][3] = 2 * t[i][2];
      }
      for (int k = 0; k < 16; k++) {
        int16_t *e = (int16_t *)(void *)(q->wu + ((k * MB + m / QW_MR) * CP + c / 2) * QW_MR + m % QW_MR);
        e[c % 2] = (int16_t)u[k / 4][k % 4];
      }
    }
  }
}

size_t cpu_qwino_workspace(const CpuQConv *q, int n_threads) {
  const int64_t CP = (q->d.C + 1) / 2;
  size_t plane = qw_align((size_t)(q->d.N * CP * 2 * q->wPH * 2 * q->wRS) * sizeof(int16_t));
  size_t per = qw_align((size_t)(16 * CP * q->wNTBp * 2) * sizeof(int16_t)) +
               qw_align((size_t)(16 * QW_MR * q->wNTBp) * sizeof(int32_t));
  return plane + per * (size_t)(n_threads < 1 ? 1 : n_threads);
}

typedef struct {
  const CpuQConv *q;
  const uint8_t *x;
  uint8_t *y;
  char *ws;
  int64_t nblk;
} QwJob;

/* plane [n][c][row][2 phases][RS] of d = x - zx, zero padding; channel C (odd C) all zero */
static void plane_task(void *ctx, int64_t t, int thread) {
  (void)thread;
  const QwJob *j = ctx;
  const CpuQConv *q = j->q;
  const CpuQConvDesc *d = &q->d;
  const int64_t CP = (d->C + 1) / 2, n = t / (2 * CP), c = t % (2 * CP), RS = q->wRS;
  int16_t *pl = (int16_t *)(void *)j->ws + ((n * 2 * CP + c) * q->wPH) * 2 * RS;
  memset(pl, 0, (size_t)(q->wPH * 2 * RS) * sizeof(int16_t));
  if (c >= d->C) return;
  const uint8_t *x = j->x + (n * d->C + c) * d->H * d->W;
  const int sgn = d->xdt == MSC_DTYPE_INT8;
  const int16_t zx = (int16_t)d->zx;
  const int64_t iw0 = d->pl & 1; /* first input column at an even padded column */
  const __m128i eo = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  const __m256i vz = _mm256_set1_epi16(zx);
  for (int64_t ih = 0; ih < d->H; ih++) {
    int16_t *row = pl + (ih + d->pt) * 2 * RS;
    const uint8_t *src = x + ih * d->W;
    int64_t iw = 0;
    for (; iw < iw0 && iw < d->W; iw++) {
      int64_t pc = iw + d->pl;
      row[(pc & 1) * RS + pc / 2] = (int16_t)((sgn ? (int16_t)(int8_t)src[iw] : (int16_t)src[iw]) - zx);
    }
    for (; iw + 16 <= d->W; iw += 16) {
      int64_t c0 = (iw + d->pl) / 2;
      __m128i b = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(src + iw)), eo);
      __m256i v = sgn ? _mm256_cvtepi8_epi16(b) : _mm256_cvtepu8_epi16(b);
      v = _mm256_sub_epi16(v, vz);
      _mm_storeu_si128((__m128i *)(void *)(row + c0), _mm256_castsi256_si128(v));
      _mm_storeu_si128((__m128i *)(void *)(row + RS + c0), _mm256_extracti128_si256(v, 1));
    }
    for (; iw < d->W; iw++) {
      int64_t pc = iw + d->pl;
      row[(pc & 1) * RS + pc / 2] = (int16_t)((sgn ? (int16_t)(int8_t)src[iw] : (int16_t)src[iw]) - zx);
    }
  }
}

#define LD16(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))

/* V of 16 tiles (tx0..) of tile row ty for one channel plane: v[k], k = 4 * i + j. */
static inline __attribute__((always_inline)) void in_tf(const int16_t *pl, int64_t RS, int64_t ty, int64_t tx0,
                                                         __m256i v[16]) {
  __m256i t[4][4];
  for (int r = 0; r < 4; r++) {
    const int16_t *row = pl + (2 * ty + r) * 2 * RS + tx0;
    __m256i e = LD16(row), e1 = LD16(row + 1), o = LD16(row + RS), o1 = LD16(row + RS + 1);
    t[r][0] = _mm256_sub_epi16(e, e1);  /* d0 - d2 */
    t[r][1] = _mm256_add_epi16(o, e1);  /* d1 + d2 */
    t[r][2] = _mm256_sub_epi16(e1, o);  /* d2 - d1 */
    t[r][3] = _mm256_sub_epi16(o, o1);  /* d1 - d3 */
  }
  for (int j = 0; j < 4; j++) {
    v[0 + j] = _mm256_sub_epi16(t[0][j], t[2][j]);
    v[4 + j] = _mm256_add_epi16(t[1][j], t[2][j]);
    v[8 + j] = _mm256_sub_epi16(t[2][j], t[1][j]);
    v[12 + j] = _mm256_sub_epi16(t[1][j], t[3][j]);
  }
}

/* requantize Y_i0 (even columns) and Y_i1 (odd columns) of 8 tiles into 16 bytes in column order */
static inline __attribute__((always_inline)) __m128i out_q(__m256i y0, __m256i y1, __m256i bias, __m256 vm, float fb,
                                                          __m256 lo, __m256 hi, __m256i zy, int fast, int osgn,
                                                          __m128i blo, __m128i bhi) {
  __m256i r[2] = {y0, y1};
  for (int i = 0; i < 2; i++) {
    __m256i a = _mm256_add_epi32(_mm256_srai_epi32(r[i], 2), bias);
    __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(a), vm);
    __asm__("" : "+x"(f));
    if (fb != 0.0f) f = _mm256_add_ps(f, _mm256_set1_ps(fb));
    if (!fast) f = _mm256_min_ps(_mm256_max_ps(f, lo), hi);
    r[i] = _mm256_add_epi32(_mm256_cvtps_epi32(f), zy);
  }
  __m256i l = _mm256_unpacklo_epi32(r[0], r[1]), h = _mm256_unpackhi_epi32(r[0], r[1]);
  __m256i p = _mm256_packs_epi32(l, h); /* lane 0: outputs 0-7, lane 1: 8-15 */
  __m256i b = osgn ? _mm256_packs_epi16(p, p) : _mm256_packus_epi16(p, p);
  __m128i o = _mm256_castsi256_si128(_mm256_permute4x64_epi64(b, 0x08));
  return osgn ? _mm_min_epi8(_mm_max_epi8(o, blo), bhi) : _mm_min_epu8(_mm_max_epu8(o, blo), bhi);
}

/* 6 output channels x 8 tiles from t0: o[r * NTBp + t] = sum_cp w[cp][r] . v[cp][t] (pairs) */
static void qw_gemm8(const int32_t *wk, const int16_t *vk, int32_t *o, int64_t CP, int64_t NTBp, int64_t t0) {
  __m256i acc[QW_MR];
  for (int r = 0; r < QW_MR; r++) acc[r] = _mm256_setzero_si256();
  for (int64_t cp = 0; cp < CP; cp++) {
    const __m256i x = LD16(vk + (((t0 / QW_NR) * CP + cp) * QW_NR) * 2); /* chunk-major: sequential reads */
    for (int r = 0; r < QW_MR; r++)
      acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(x, _mm256_set1_epi32(wk[cp * QW_MR + r])));
  }
  for (int r = 0; r < QW_MR; r++) _mm256_storeu_si256((__m256i *)(void *)(o + r * NTBp + t0), acc[r]);
}

/* One weight row r of the 6 x 16 micro-tile: broadcast, two vpmaddwd, two vpaddd. */
#define QW_ROW(r, a, b)                                                                                   \
  "vpbroadcastd " #r "*4(%[wp]), %[w]\n\t"                                                              \
  "vpmaddwd %[x0], %[w], %[p]\n\tvpaddd %[p], %[" #a "], %[" #a "]\n\t"                                 \
  "vpmaddwd %[x1], %[w], %[p]\n\tvpaddd %[p], %[" #b "], %[" #b "]\n\t"

/* 6 output channels x 16 tiles (one chunk) from t0. The loop body is asm: 12 accumulators, the two x
 * vectors, the weight word and the product are the 16 ymm registers, and GCC's own allocation of the
 * same C loop kept half the accumulators on the stack. */
static void qw_gemm16(const int32_t *wk, const int16_t *vk, int32_t *o, int64_t CP, int64_t NTBp, int64_t t0) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
          a9 = a0, a10 = a0, a11 = a0;
  const int16_t *xv = vk + ((t0 / QW_NR) * CP) * QW_NR * 2; /* chunk-major: sequential reads */
  for (int64_t cp = 0; cp < CP; cp++, xv += QW_NR * 2) {
    const __m256i x0 = LD16(xv), x1 = LD16(xv + 16);
    const int32_t *wp = wk + cp * QW_MR;
    __m256i w, p;
    __asm__(QW_ROW(0, a0, a1) QW_ROW(1, a2, a3) QW_ROW(2, a4, a5) QW_ROW(3, a6, a7) QW_ROW(4, a8, a9)
                QW_ROW(5, a10, a11)
            : [a0] "+x"(a0), [a1] "+x"(a1), [a2] "+x"(a2), [a3] "+x"(a3), [a4] "+x"(a4), [a5] "+x"(a5),
              [a6] "+x"(a6), [a7] "+x"(a7), [a8] "+x"(a8), [a9] "+x"(a9), [a10] "+x"(a10), [a11] "+x"(a11),
              [w] "=&x"(w), [p] "=&x"(p)
            : [x0] "x"(x0), [x1] "x"(x1), [wp] "r"(wp), "m"(*(const int32_t(*)[QW_MR])wp));
  }
  const __m256i out[QW_MR][2] = {{a0, a1}, {a2, a3}, {a4, a5}, {a6, a7}, {a8, a9}, {a10, a11}};
  for (int r = 0; r < QW_MR; r++)
    for (int v = 0; v < 2; v++) _mm256_storeu_si256((__m256i *)(void *)(o + r * NTBp + t0 + 8 * v), out[r][v]);
}

static void block_task(void *ctx, int64_t t, int thread) {
  const QwJob *j = ctx;
  const CpuQConv *q = j->q;
  const CpuQConvDesc *d = &q->d;
  const int64_t C = d->C, M = d->M, CP = (C + 1) / 2, MB = (M + QW_MR - 1) / QW_MR;
  const int64_t RS = q->wRS, TWr = q->wTWr, NTBp = q->wNTBp, OW = q->OW, OH = q->OH, P = q->P;
  const int64_t nb = (q->wTH + q->wR - 1) / q->wR, n = t / nb, ty0 = (t % nb) * q->wR,
                ty1 = MIN(ty0 + q->wR, q->wTH), nrows = ty1 - ty0;
  size_t plane = qw_align((size_t)(d->N * CP * 2 * q->wPH * 2 * RS) * sizeof(int16_t));
  size_t vbytes = qw_align((size_t)(16 * CP * NTBp * 2) * sizeof(int16_t));
  size_t per = vbytes + qw_align((size_t)(16 * QW_MR * NTBp) * sizeof(int32_t));
  int16_t *V = (int16_t *)(void *)(j->ws + plane + (size_t)thread * per);
  int32_t *Mb = (int32_t *)(void *)((char *)V + vbytes);
  const int16_t *pl0 = (const int16_t *)(const void *)j->ws + (n * 2 * CP) * q->wPH * 2 * RS;
  const int64_t used = nrows * TWr, nch = NTBp / QW_NR;
  /* input transform */
  for (int64_t cp = 0; cp < CP; cp++) {
    const int16_t *pa = pl0 + (2 * cp) * q->wPH * 2 * RS, *pb = pa + q->wPH * 2 * RS;
    for (int64_t rr = 0; rr < nrows; rr++)
      for (int64_t tx0 = 0; tx0 < TWr; tx0 += 16) {
        __m256i va[16], vb[16];
        in_tf(pa, RS, ty0 + rr, tx0, va);
        in_tf(pb, RS, ty0 + rr, tx0, vb);
        const int64_t tl = rr * TWr + tx0;
        const int full = tx0 + 16 <= TWr;
        for (int k = 0; k < 16; k++) {
          __m256i lo = _mm256_unpacklo_epi16(va[k], vb[k]), hi = _mm256_unpackhi_epi16(va[k], vb[k]);
          /* V[k][tile chunk of 16][channel pair][16 tiles][2]: 8-tile pieces never straddle chunks */
          int16_t *o = V + (((k * nch + tl / QW_NR) * CP + cp) * QW_NR + tl % QW_NR) * 2;
          _mm256_storeu_si256((__m256i *)(void *)o, _mm256_permute2x128_si256(lo, hi, 0x20));
          if (full) {
            const int64_t t8 = tl + 8;
            o = V + (((k * nch + t8 / QW_NR) * CP + cp) * QW_NR + t8 % QW_NR) * 2;
            _mm256_storeu_si256((__m256i *)(void *)o, _mm256_permute2x128_si256(lo, hi, 0x31));
          }
        }
      }
  }
  /* per block of MR output channels: 16 GEMMs into Mb[k][r][tile] (16 tiles per micro-tile, then 8),
   * then the output transform, requantization and stores of those channels */
  const int osgn = d->ydt == MSC_DTYPE_INT8;
  const __m256 lo = _mm256_set1_ps(q->flo), hi = _mm256_set1_ps(q->fhi);
  const __m256i zy = _mm256_set1_epi32(d->zy);
  const __m128i blo = _mm_set1_epi8((char)d->lo), bhi = _mm_set1_epi8((char)d->hi);
  uint8_t *yimg = j->y + n * M * P;
  for (int64_t mb = 0; mb < MB; mb++) {
    for (int64_t k = 0; k < 16; k++) {
      const int32_t *wk = q->wu + (k * MB + mb) * CP * QW_MR;
      const int16_t *vk = V + k * nch * CP * QW_NR * 2;
      int32_t *ok = Mb + k * QW_MR * NTBp;
      int64_t t0 = 0;
      for (; t0 + QW_NR <= used; t0 += QW_NR) qw_gemm16(wk, vk, ok, CP, NTBp, t0);
      if (used - t0 == 8) qw_gemm8(wk, vk, ok, CP, NTBp, t0);
    }
    for (int64_t m = mb * QW_MR; m < MIN(M, (mb + 1) * QW_MR); m++) {
    const float mult = q->mult[m], fb = q->fbias[m];
    const int fast = mult < 0.25f && mult > -0.25f && fb < 536870912.0f && fb > -536870912.0f;
    const __m256 vm = _mm256_set1_ps(mult);
    const __m256i bias = _mm256_set1_epi32(q->wbias[m]);
    uint8_t *ym = yimg + m * P;
    for (int64_t rr = 0; rr < nrows; rr++) {
      const int64_t oh = 2 * (ty0 + rr);
      for (int64_t tx0 = 0; tx0 < q->wTW; tx0 += 8) {
        const int32_t *mk = Mb + (m - mb * QW_MR) * NTBp + rr * TWr + tx0;
        __m256i mv[16], rw[2][4];
        for (int k = 0; k < 16; k++) mv[k] = LD16(mk + k * QW_MR * NTBp);
        for (int c = 0; c < 4; c++) {
          rw[0][c] = _mm256_add_epi32(_mm256_add_epi32(mv[c], mv[4 + c]), mv[8 + c]);
          rw[1][c] = _mm256_sub_epi32(_mm256_sub_epi32(mv[4 + c], mv[8 + c]), mv[12 + c]);
        }
        const int64_t ow = 2 * tx0, cnt = MIN((int64_t)16, OW - ow);
        for (int i = 0; i < 2 && oh + i < OH; i++) {
          __m256i y0 = _mm256_add_epi32(_mm256_add_epi32(rw[i][0], rw[i][1]), rw[i][2]);
          __m256i y1 = _mm256_sub_epi32(_mm256_sub_epi32(rw[i][1], rw[i][2]), rw[i][3]);
          __m128i b = out_q(y0, y1, bias, vm, fb, lo, hi, zy, fast, osgn, blo, bhi);
          uint8_t *dst = ym + (oh + i) * OW + ow;
          if (cnt == 16) {
            _mm_storeu_si128((__m128i *)(void *)dst, b);
          } else {
            uint8_t tmp[16];
            _mm_storeu_si128((__m128i *)(void *)tmp, b);
            memcpy(dst, tmp, (size_t)cnt);
          }
        }
      }
    }
    if (d->post) {
      const int64_t r0 = 2 * ty0, r1 = MIN(2 * ty1, OH);
      cpu_qlut_rows(d->post, ym + r0 * OW, 1, (r1 - r0) * OW, (r1 - r0) * OW);
    }
    }
  }
}

void cpu_qwino_run(const CpuQConv *q, const uint8_t *x, uint8_t *y, void *ws, MscThreadPool *pool) {
  const int64_t CP = (q->d.C + 1) / 2, nb = (q->wTH + q->wR - 1) / q->wR;
  QwJob j = {q, x, y, ws, nb};
  cpu_q_for(pool, q->d.N * 2 * CP, plane_task, &j);
  cpu_q_for(pool, q->d.N * nb, block_task, &j);
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
