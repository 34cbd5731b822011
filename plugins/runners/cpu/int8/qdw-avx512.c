/* qdw-avx512.c: the row-wise int8 depthwise kernel's stride-1-column channels at 512 bits, for the
 * AVX-512 int8 kernels (q->dw512): the same float phase plane of x - zx that qdw-avx2.c loads (its
 * geometry, RS covering 64-column blocks), rows of 16+ columns; tiles of four output rows x two vectors of 16 columns (8
 * independent FMA chains; the last rows two or one x four vectors), each input row loaded once per tap
 * column for all the tile's rows, one FMA per tap with the broadcast weight w - zw, then the requantization
 * of qdw-avx2.c's dwr_requant1 / the fast byte clamp, stored 16 bytes per vector (masked at the row end).
 * Exact as qdw-avx2.c: the caller takes this path only for channels whose every partial sum is an integer
 * below 2^24, so the float sums are the exact integers in any order and the bytes are the 256-bit
 * kernel's. Input rows that are padding add exact zeros and are skipped (PP-OCR's 5x5 on 2-3 row
 * planes). GCC and clang. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl")
#endif
#include <immintrin.h>
#include <math.h>

#include "qconv.h"

#define DW5_AI static inline __attribute__((always_inline))

typedef struct {
  __m512 vm, vfb, lo, hi;
  __m512i zy, ilo, ihi;
  int hasfb, fast;
} Dw5Req;

/* bytes of one accumulator vector: * mult (+ fb, never contracted), clamped in float (or, fast, the
 * rounded value clamped to [lo, hi] in int32: the same bytes), rounded half to even, + zy */
DW5_AI __m128i dw5_bytes(__m512 acc, const Dw5Req *r) {
  __m512 t = _mm512_mul_ps(acc, r->vm);
  __asm__("" : "+v"(t));
  if (r->hasfb) t = _mm512_add_ps(t, r->vfb);
  if (!r->fast) t = _mm512_min_ps(_mm512_max_ps(t, r->lo), r->hi);
  __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(t), r->zy);
  if (r->fast) i = _mm512_min_epi32(_mm512_max_epi32(i, r->ilo), r->ihi);
  return _mm512_cvtepi32_epi8(i); /* in [lo, hi]: the low byte is the value (int8 or uint8) */
}

/* The requantization constants of channel @oc (@fast: the int32 clamp after rounding may replace the float one) */
static inline Dw5Req dw5_req(const CpuQConv *q, int64_t oc, int fast) {
  const CpuQConvDesc *d = &q->d;
  Dw5Req rq;
  rq.vm = _mm512_set1_ps(q->mult[oc]), rq.vfb = _mm512_set1_ps(q->fbias[oc]);
  rq.lo = _mm512_set1_ps(q->flo), rq.hi = _mm512_set1_ps(q->fhi);
  rq.zy = _mm512_set1_epi32(d->zy), rq.ilo = _mm512_set1_epi32(d->lo), rq.ihi = _mm512_set1_epi32(d->hi);
  rq.hasfb = q->fbias[oc] != 0.0f;
  rq.fast = fast;
  return rq;
}

/* Columns j.. j + 15 of the 32 in (lo, hi): valignd, so that every load of the tile is an aligned one (a
 * 64-byte load at a column offset of 1..4 floats crosses a cache line every time; the loads at each tap
 * column kept the kernel at about the 256-bit one's speed). A switch, so that the immediate is a
 * constant at any optimization level. */
static inline __m512 dw5_shift(__m512 lo, __m512 hi, int j) {
  const __m512i l = _mm512_castps_si512(lo), h = _mm512_castps_si512(hi);
  switch (j) {
  case 1: return _mm512_castsi512_ps(_mm512_alignr_epi32(h, l, 1));
  case 2: return _mm512_castsi512_ps(_mm512_alignr_epi32(h, l, 2));
  case 3: return _mm512_castsi512_ps(_mm512_alignr_epi32(h, l, 3));
  case 4: return _mm512_castsi512_ps(_mm512_alignr_epi32(h, l, 4));
  default: return lo;
  }
}

/* R output rows from @oh x NV vectors from column ow (n columns stored). Each input row of the tile is
 * loaded once per tap column and used by every output row it feeds (with stride-1 rows a 3x3 tile of
 * 4 rows loads 6 rows: 0.5 loads per FMA, where one load per FMA kept the loads the bound); input rows
 * outside [rlo, rhi) (padding: zeros) are skipped when @skip. */
DW5_AI void dw5_tile(const float *pl, int64_t RS, int64_t oh, int64_t ow, const __m512 *w, __m512 vb, const int K,
                     const int SH, const int R, const int NV, int64_t rlo, int64_t rhi, int skip, const Dw5Req *rq,
                     uint8_t *y, int64_t OW, int64_t n) {
  __m512 acc[8][4];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[r][v] = vb;
#pragma GCC unroll 24
  for (int ir = 0; ir < (R - 1) * SH + K; ir++) {
    const int64_t prow = oh * SH + ir;
    if (skip && (prow < rlo || prow >= rhi)) continue;
    const float *s = pl + prow * RS + ow; /* 64-byte aligned (dwr_geo: RS a multiple of 16) */
    __m512 a[5];
#pragma GCC unroll 5
    for (int v = 0; v <= NV; v++) a[v] = _mm512_load_ps(s + 16 * v);
#pragma GCC unroll 8
    for (int j = 0; j < K; j++) {
      __m512 xv[4];
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) xv[v] = dw5_shift(a[v], a[v + 1], j);
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) {
        const int i = ir - r * SH;
        if (i < 0 || i >= K) continue;
        const __m512 wv = w[i * K + j];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(xv[v], wv, acc[r][v]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    uint8_t *yr = y + (oh + r) * OW + ow;
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      const int64_t m = n - 16 * v;
      const __m128i b = dw5_bytes(acc[r][v], rq);
      if (m >= 16) _mm_storeu_si128((__m128i *)(void *)(yr + 16 * v), b);
      else if (m > 0) _mm_mask_storeu_epi8(yr + 16 * v, (__mmask16)((1u << m) - 1u), b);
    }
  }
}

/* The rows of one channel: tiles of 4 rows x 32 columns (rows of <= 16 columns: 8 rows x 16 first), the
 * last rows as tiles of 2 (or 1) x 64 */
DW5_AI void dw5_rows(const CpuQConv *q, const float *pl, int64_t RS, const __m512 *w, __m512 vb, const Dw5Req *rq,
                     uint8_t *y, const int K, const int SH) {
  const CpuQConvDesc *d = &q->d;
  const int64_t OH = q->OH, OW = q->OW, rlo = d->pt, rhi = d->pt + d->H;
  const int skip = q->dwskip;
  int64_t oh = 0;
  if (OW <= 16) /* one vector per row: tiles of 8 rows (8 chains) */
    for (; oh + 8 <= OH; oh += 8) dw5_tile(pl, RS, oh, 0, w, vb, K, SH, 8, 1, rlo, rhi, skip, rq, y, OW, OW);
  for (; oh + 4 <= OH; oh += 4)
    for (int64_t ow = 0; ow < OW; ow += 32) {
      const int64_t n = MIN((int64_t)32, OW - ow);
      if (n > 16) dw5_tile(pl, RS, oh, ow, w, vb, K, SH, 4, 2, rlo, rhi, skip, rq, y, OW, n);
      else dw5_tile(pl, RS, oh, ow, w, vb, K, SH, 4, 1, rlo, rhi, skip, rq, y, OW, n);
    }
  for (; oh < OH;) {
    const int R = oh + 2 <= OH ? 2 : 1;
    for (int64_t ow = 0; ow < OW; ow += 64) {
      const int64_t n = MIN((int64_t)64, OW - ow);
      const int nv = (int)((n + 15) / 16);
#define DW5_T(R_, NV_) dw5_tile(pl, RS, oh, ow, w, vb, K, SH, R_, NV_, rlo, rhi, skip, rq, y, OW, n)
      if (R == 2) {
        if (nv == 4) DW5_T(2, 4);
        else if (nv == 3) DW5_T(2, 3);
        else if (nv == 2) DW5_T(2, 2);
        else DW5_T(2, 1);
      } else {
        if (nv == 4) DW5_T(1, 4);
        else if (nv == 3) DW5_T(1, 3);
        else if (nv == 2) DW5_T(1, 2);
        else DW5_T(1, 1);
      }
#undef DW5_T
    }
    oh += R;
  }
}

DW5_AI void dw5_channel(const CpuQConv *q, const float *pl, int64_t RS, const int16_t *wt, float bias, int64_t oc,
                        uint8_t *y, const int K) {
  const CpuQConvDesc *d = &q->d;
  const Dw5Req rq = dw5_req(q, oc, fabsf(q->mult[oc]) * 16777216.0f + fabsf(q->fbias[oc]) < 1073741824.0f); /* as dwr_fast */
  const __m512 vb = _mm512_set1_ps(bias);
  __m512 w[25];
  for (int t = 0; t < K * K; t++) w[t] = _mm512_set1_ps((float)wt[t]);
  if (d->sh == 1) dw5_rows(q, pl, RS, w, vb, &rq, y, K, 1);
  else dw5_rows(q, pl, RS, w, vb, &rq, y, K, 2);
}

void cpu_qdw_load_plane_avx512(const CpuQConv *q, int64_t RS, const uint8_t *x, float *pl) {
  const CpuQConvDesc *d = &q->d;
  const int64_t W = d->W;
  const __m512i vzx = _mm512_set1_epi32(d->zx);
  const int sgn = d->xdt == MSC_DTYPE_INT8;
  for (int64_t ih = 0; ih < d->H; ih++) {
    const uint8_t *src = x + ih * W;
    float *o = pl + (ih + d->pt) * RS + d->pl;
    for (int64_t u = 0;; u += 16) { /* a last block short of 16 overlaps the one before (same values) */
      if (u + 16 > W) u = W - 16;
      const __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(src + u));
      const __m512i v = sgn ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
      _mm512_storeu_ps(o + u, _mm512_cvtepi32_ps(_mm512_sub_epi32(v, vzx)));
      if (u + 16 >= W) break;
    }
  }
}

/* 3x3 stride 2 from the bytes (qdw-avx2.c's dwb_channel_3s2 at 512 bits): 16 outputs per vector, their
 * 16 byte pairs (2 ow, 2 ow + 1) of a kernel row as 32 words (vpmovzxbw / vpmovsxbw of 32 bytes) times the
 * weight pair (w0, w1), and the pairs one further on times (w2, 0): two vpmaddwd per kernel row per 16
 * outputs (the 256-bit kernel: per 8). Two vectors per step (four chains). The same int32 sums and the
 * same requantization (dwr_requant1: * mult, + fb apart, clamped in float, rounded, + zy; the clamp keeps
 * the value in the type, so the low byte is the saturated one): the same bytes. @bp: the zx-padded byte
 * plane (row stride @BW, its rows at least 2 * OW rounded up to 16, + 34). */
void cpu_qdwb_channel_3s2_avx512(const CpuQConv *q, const uint8_t *bp, int64_t BW, const int16_t *wt, int64_t oc,
                                 uint8_t *y) {
  const CpuQConvDesc *d = &q->d;
  const int64_t OH = q->OH, OW = q->OW;
  const int sgn = d->xdt == MSC_DTYPE_INT8;
  __m512i wa[3], wb[3];
  for (int i = 0; i < 3; i++) {
    wa[i] = _mm512_set1_epi32((int32_t)(((uint32_t)(uint16_t)wt[3 * i + 1] << 16) | (uint16_t)wt[3 * i]));
    wb[i] = _mm512_set1_epi32((int32_t)(uint16_t)wt[3 * i + 2]);
  }
  const __m512i vc = _mm512_set1_epi32(q->corr[oc]);
  const Dw5Req rq = dw5_req(q, oc, 0); /* the float clamp, as dwr_requant1 */
#define DWB5_PAIRS(p) (sgn ? _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(p))) \
                           : _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(p))))
#define DWB5_BYTES(acc) dw5_bytes(_mm512_cvtepi32_ps(acc), &rq)
  for (int64_t oh = 0; oh < OH; oh++) {
    const uint8_t *r0 = bp + 2 * oh * BW;
    uint8_t *yr = y + oh * OW;
    for (int64_t ow = 0; ow < OW; ow += 32) {
      const int one = OW - ow <= 16; /* the row's last 16 or fewer outputs: one vector */
      __m512i a0 = vc, a1 = vc, b0 = _mm512_setzero_si512(), b1 = b0;
      for (int i = 0; i < 3; i++) {
        const uint8_t *p = r0 + i * BW + 2 * ow;
        a0 = _mm512_add_epi32(a0, _mm512_madd_epi16(DWB5_PAIRS(p), wa[i]));
        b0 = _mm512_add_epi32(b0, _mm512_madd_epi16(DWB5_PAIRS(p + 2), wb[i]));
        if (one) continue;
        a1 = _mm512_add_epi32(a1, _mm512_madd_epi16(DWB5_PAIRS(p + 32), wa[i]));
        b1 = _mm512_add_epi32(b1, _mm512_madd_epi16(DWB5_PAIRS(p + 34), wb[i]));
      }
      const __m128i o0 = DWB5_BYTES(_mm512_add_epi32(a0, b0));
      const int64_t n0 = MIN((int64_t)16, OW - ow);
      if (n0 == 16) _mm_storeu_si128((__m128i *)(void *)(yr + ow), o0);
      else _mm_mask_storeu_epi8(yr + ow, (__mmask16)((1u << n0) - 1u), o0);
      if (one) continue;
      const __m128i o1 = DWB5_BYTES(_mm512_add_epi32(a1, b1));
      const int64_t n1 = MIN((int64_t)16, OW - ow - 16);
      if (n1 == 16) _mm_storeu_si128((__m128i *)(void *)(yr + ow + 16), o1);
      else _mm_mask_storeu_epi8(yr + ow + 16, (__mmask16)((1u << n1) - 1u), o1);
    }
  }
#undef DWB5_PAIRS
#undef DWB5_BYTES
}

void cpu_qdw_channel_avx512(const CpuQConv *q, const float *pl, int64_t RS, const int16_t *wt, float bias,
                            int64_t oc, uint8_t *y) {
  if (q->d.kh == 3) dw5_channel(q, pl, RS, wt, bias, oc, y, 3);
  else dw5_channel(q, pl, RS, wt, bias, oc, y, 5);
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
