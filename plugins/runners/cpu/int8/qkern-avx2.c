/* qkern-avx2.c: AVX2 int8 conv kernels (this file's own target; never
 * -march=native). cpu_qkernel_avx2: int16 pairs through vpmaddwd (exact for
 * any int8/uint8 operands). cpu_qkernel_avx2_u7: uint8 x int8 quads through
 * vpmaddubsw + vpmaddwd(1): vpmaddubsw saturates its int16 pair sums, so the
 * plan uses it only when every weight (w - zw) is in [-64, 63]
 * (255 * 64 * 2 = 32640 < 32767). */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#include <immintrin.h>

#include "qconv.h"

#define VL 8
#define acc_t __m256i
#define xv_t __m256i
#define w_t __m256i
#define AZERO() _mm256_setzero_si256()
#define XLOAD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define WSET1(w) _mm256_set1_epi32(w)
#define ACC_ADD(a, c) _mm256_add_epi32((a), _mm256_set1_epi32(c))
static inline void q2_store_i32(int32_t *dst, __m256i a, int64_t n) {
  if (n == VL) {
    _mm256_storeu_si256((__m256i *)(void *)dst, a);
  } else {
    int32_t t[VL];
    _mm256_storeu_si256((__m256i *)(void *)t, a);
    memcpy(dst, t, (size_t)n * sizeof(int32_t));
  }
}
static inline void q2_store_q(uint8_t *dst, __m256i a, float mult, float fbias, float flo, float fhi, int32_t zy,
                              int sgn, int64_t n) {
  __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(a), _mm256_set1_ps(mult));
  f = _mm256_add_ps(f, _mm256_set1_ps(fbias));
  f = _mm256_min_ps(_mm256_max_ps(f, _mm256_set1_ps(flo)), _mm256_set1_ps(fhi));
  __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(f), _mm256_set1_epi32(zy));
  __m128i s16 = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
  __m128i b = sgn ? _mm_packs_epi16(s16, s16) : _mm_packus_epi16(s16, s16);
  if (n == VL) {
    _mm_storel_epi64((__m128i *)(void *)dst, b);
  } else {
    uint8_t t[16];
    _mm_storeu_si128((__m128i *)(void *)t, b);
    memcpy(dst, t, (size_t)n);
  }
}
#define STORE_I32 q2_store_i32
#define STORE_Q q2_store_q

/* Depthwise (one input channel per group) for the 256-bit kernels: the
 * channel's padded plane as int16 stride-phase planes (taps read contiguous
 * positions), output positions f = oh * PWs + ow in blocks of 16, taps in
 * pairs: vpunpck{l,h}wd of the two taps' inputs, vpmaddwd with the pair of
 * weights (exact: |x| <= 255, |w - zw| <= 255), int32 sums; requantized into a
 * flat row buffer, then the OW valid positions of each row are copied out. */
void cpu_qdw_avx2(const CpuQConv *q, const uint8_t *x, int64_t oc, uint8_t *y, void *ws) {
  const CpuQConvDesc *d = &q->d;
  const int64_t PS = q->PS, PWs = q->PWs, nph = q->nph, nf = q->nf, OW = q->OW, T = q->T;
  int16_t *pl = ws;
  const size_t plen = (size_t)(nph * PS + CPU_QDW_SLACK + PWs);
  void *tmp = (char *)ws + (plen * sizeof(int16_t) + 63) / 64 * 64;
  const int sgn = d->xdt == MSC_DTYPE_INT8;
  const int16_t zx = (int16_t)d->zx;
  if (nph == 1) { /* stride 1: only the border and the slack are not written below */
    int64_t a = d->pl, b = d->pl + d->W;
    for (int64_t i = 0; i < d->pt * PWs; i++) pl[i] = zx;
    for (size_t i = (size_t)((d->pt + d->H) * PWs); i < plen; i++) pl[i] = zx;
    for (int64_t r = d->pt; r < d->pt + d->H && (a || b < PWs); r++) {
      for (int64_t i = 0; i < a; i++) pl[r * PWs + i] = zx;
      for (int64_t i = b; i < PWs; i++) pl[r * PWs + i] = zx;
    }
  } else {
    for (size_t i = 0; i < plen; i++) pl[i] = zx;
  }
  for (int64_t ih = 0; ih < d->H; ih++) {
    int64_t rh = ih + d->pt;
    for (int64_t pw = 0; pw < d->sw; pw++) {
      int64_t iw0 = ((pw - d->pl) % d->sw + d->sw) % d->sw;
      if (iw0 >= d->W) continue;
      int64_t ph = (rh % d->sh) * d->sw + pw, cnt = (d->W - iw0 + d->sw - 1) / d->sw, sw = d->sw;
      int16_t *o = pl + ph * PS + (rh / d->sh) * PWs + (iw0 + d->pl) / sw;
      const uint8_t *src = x + ih * d->W + iw0;
      int64_t u = 0;
      if (sw == 2) { /* every other byte, 16 at a time (reads stay inside the row) */
        const __m256i even = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1, 0, 2, 4, 6, 8,
                                              10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
        for (; u + 16 <= cnt && iw0 + 2 * u + 32 <= d->W; u += 16) {
          __m256i v = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(const void *)(src + 2 * u)), even);
          __m128i b = _mm256_castsi256_si128(_mm256_permute4x64_epi64(v, 0x08)); /* qwords 0, 2 */
          __m256i w16 = sgn ? _mm256_cvtepi8_epi16(b) : _mm256_cvtepu8_epi16(b);
          _mm256_storeu_si256((__m256i *)(void *)(o + u), w16);
        }
      }
      if (sw == 1 && sgn)
        for (int64_t k = 0; k < cnt; k++) o[k] = (int8_t)src[k];
      else if (sw == 1)
        for (int64_t k = 0; k < cnt; k++) o[k] = src[k];
      else if (sgn)
        for (; u < cnt; u++) o[u] = (int8_t)src[u * sw];
      else
        for (; u < cnt; u++) o[u] = src[u * sw];
    }
  }
  const int16_t *wt = q->wd + oc * T;
  int64_t np = (T + 1) / 2;
  __m256i wv[32];
  int64_t oa[32], ob[32];
  if (np > 32) np = 32; /* taps beyond 64: handled below in plain C */
  for (int64_t p = 0; p < np; p++) {
    int64_t ta = 2 * p, tb = 2 * p + 1 < T ? 2 * p + 1 : 2 * p;
    int16_t e[2] = {wt[ta], 2 * p + 1 < T ? wt[tb] : (int16_t)0};
    int32_t word;
    memcpy(&word, e, 4);
    wv[p] = _mm256_set1_epi32(word);
    oa[p] = q->toff[ta], ob[p] = q->toff[tb];
  }
  const __m256i corr = _mm256_set1_epi32(q->corr[oc]);
  const int i32 = d->ydt == MSC_DTYPE_INT32, osgn = d->ydt == MSC_DTYPE_INT8;
  const float mult = q->mult[oc], fb = q->fbias[oc];
  for (int64_t f = 0; f < nf; f += 16) {
    __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
    for (int64_t p = 0; p < np; p++) {
      __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(pl + oa[p] + f));
      __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(pl + ob[p] + f));
      lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), wv[p]));
      hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), wv[p]));
    }
    __m256i o0 = _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x20), corr);
    __m256i o1 = _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x31), corr);
    if (T > 64) { /* rare: more than 64 taps, the rest in plain C */
      int32_t t32[16];
      _mm256_storeu_si256((__m256i *)(void *)t32, o0);
      _mm256_storeu_si256((__m256i *)(void *)(t32 + 8), o1);
      for (int64_t t = 64; t < T; t++)
        for (int l = 0; l < 16; l++) t32[l] += (int32_t)pl[q->toff[t] + f + l] * wt[t];
      o0 = _mm256_loadu_si256((const __m256i *)(const void *)t32);
      o1 = _mm256_loadu_si256((const __m256i *)(const void *)(t32 + 8));
    }
    if (i32) {
      _mm256_storeu_si256((__m256i *)(void *)((int32_t *)tmp + f), o0);
      _mm256_storeu_si256((__m256i *)(void *)((int32_t *)tmp + f + 8), o1);
    } else {
      q2_store_q((uint8_t *)tmp + f, o0, mult, fb, q->flo, q->fhi, d->zy, osgn, 8);
      q2_store_q((uint8_t *)tmp + f + 8, o1, mult, fb, q->flo, q->fhi, d->zy, osgn, 8);
    }
  }
  size_t ys = i32 ? 4 : 1;
  for (int64_t oh = 0; oh < q->OH; oh++)
    memcpy(y + (size_t)(oh * OW) * ys, (char *)tmp + (size_t)(oh * PWs) * ys, (size_t)OW * ys);
}
#define QDW_CUSTOM cpu_qdw_avx2

#define KSUF avx2
#define QKNAME "avx2"
#define KG 2
#define NV 3
#define MR 4
#define XELEM int16_t
#define MADD(a, x, w) _mm256_add_epi32((a), _mm256_madd_epi16((x), (w)))
#include "qkern.inc.h"
#undef KSUF
#undef QKNAME
#undef KG
#undef NV
#undef MR
#undef MADD
#undef XELEM

#define KSUF avx2_u7
#define QKNAME "avx2-u7"
#define KG 4
#define NV 2
#define MR 4
#define XELEM uint8_t
#define MADD(a, x, w) _mm256_add_epi32((a), _mm256_madd_epi16(_mm256_maddubs_epi16((x), (w)), _mm256_set1_epi16(1)))
#include "qkern.inc.h"
#include "qkern-undef.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
