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
