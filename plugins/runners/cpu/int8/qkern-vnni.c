/* qkern-vnni.c: the VNNI int8 conv kernels (vpdpbusd: uint8 x int8 quads
 * summed into int32 without intermediate saturation: exact), 256-bit
 * (AVX-VNNI) and 512-bit (AVX512-VNNI), plus the 512-bit vpmaddwd kernel
 * (AVX512BW, int16 pairs). Each block has its own target; they are chosen
 * at run time only on CPUs that report the features (qconv.c). GCC only
 * (clang builds leave them out). */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

#include "qconv.h"

/* ---------------- AVX-VNNI, 256-bit ---------------- */
#pragma GCC push_options
#pragma GCC target("avx2,fma,avxvnni")
#define VL 8
#define acc_t __m256i
#define xv_t __m256i
#define w_t __m256i
#define AZERO() _mm256_setzero_si256()
#define XLOAD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define WSET1(w) _mm256_set1_epi32(w)
#define ACC_ADD(a, c) _mm256_add_epi32((a), _mm256_set1_epi32(c))
static inline void qv_store_i32(int32_t *dst, __m256i a, int64_t n) {
  int32_t t[VL];
  _mm256_storeu_si256((__m256i *)(void *)t, a);
  memcpy(dst, t, (size_t)n * sizeof(int32_t));
}
static inline void qv_store_q(uint8_t *dst, __m256i a, float mult, float fbias, float flo, float fhi, int32_t zy,
                              int sgn, int64_t n) {
  __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(a), _mm256_set1_ps(mult));
  f = _mm256_add_ps(f, _mm256_set1_ps(fbias));
  f = _mm256_min_ps(_mm256_max_ps(f, _mm256_set1_ps(flo)), _mm256_set1_ps(fhi));
  __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(f), _mm256_set1_epi32(zy));
  __m128i s16 = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
  __m128i b = sgn ? _mm_packs_epi16(s16, s16) : _mm_packus_epi16(s16, s16);
  uint8_t t[16];
  _mm_storeu_si128((__m128i *)(void *)t, b);
  memcpy(dst, t, (size_t)n);
}
#define STORE_I32 qv_store_i32
#define STORE_Q qv_store_q
#define QDW_CUSTOM cpu_qdw_avx2
#define KSUF avxvnni
#define QKNAME "avxvnni"
#define KG 4
#define NV 3
#define MR 4
#define XELEM uint8_t
#define MADD(a, x, w) _mm256_dpbusd_avx_epi32((a), (x), (w))
#include "qkern.inc.h"
#include "qkern-undef.h"
#pragma GCC pop_options

/* ---------------- AVX-512, 512-bit ---------------- */
#pragma GCC push_options
#pragma GCC target("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")
#define VL 16
#define acc_t __m512i
#define xv_t __m512i
#define w_t __m512i
#define AZERO() _mm512_setzero_si512()
#define XLOAD(p) _mm512_loadu_si512((const void *)(p))
#define WSET1(w) _mm512_set1_epi32(w)
#define ACC_ADD(a, c) _mm512_add_epi32((a), _mm512_set1_epi32(c))
static inline void q5_store_i32(int32_t *dst, __m512i a, int64_t n) {
  _mm512_mask_storeu_epi32(dst, (__mmask16)((1u << n) - 1u), a);
}
static inline void q5_store_q(uint8_t *dst, __m512i a, float mult, float fbias, float flo, float fhi, int32_t zy,
                              int sgn, int64_t n) {
  __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(a), _mm512_set1_ps(mult));
  f = _mm512_add_ps(f, _mm512_set1_ps(fbias));
  f = _mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps(flo)), _mm512_set1_ps(fhi));
  __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(f), _mm512_set1_epi32(zy));
  __m128i b = sgn ? _mm512_cvtsepi32_epi8(i) : _mm512_cvtusepi32_epi8(i);
  _mm_mask_storeu_epi8(dst, (__mmask16)((1u << n) - 1u), b);
}
#define STORE_I32 q5_store_i32
#define STORE_Q q5_store_q
/* depthwise: the 256-bit float-FMA kernels (qdw-avx2.c) serve the 512-bit kernels too; the generic
 * int16 loop they replace measured 8-16x slower than fp32 on an AVX512-VNNI Xeon */
#define QDW_CUSTOM cpu_qdw_avx2
#define KSUF avx512
#define QKNAME "avx512"
#define KG 2
#define NV 3
#define MR 8
#define XELEM int16_t
#define MADD(a, x, w) _mm512_add_epi32((a), _mm512_madd_epi16((x), (w)))
#include "qkern.inc.h"
#undef KSUF
#undef QKNAME
#undef KG
#undef MADD
#undef XELEM
#define KSUF avx512vnni
#define QKNAME "avx512vnni"
#define KG 4
#define XELEM uint8_t
#define MADD(a, x, w) _mm512_dpbusd_epi32((a), (x), (w))
#include "qkern.inc.h"
#include "qkern-undef.h"
#pragma GCC pop_options
#endif
