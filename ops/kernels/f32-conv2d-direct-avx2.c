/* f32-conv2d-direct-avx2.c: AVX2+FMA instantiation of the conv template.
 * Tile 4 channels x 3 vectors = 12 ymm accumulators + 3 input + 1 weight =
 * all 16 registers; per tap 3 loads + 4 broadcasts feed 12 FMAs. */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,prfchw"))), apply_to = function)
#else
#pragma GCC target("avx2,fma,prfchw") /* prefetchw: a NOP hint where absent */
#endif
#include <immintrin.h>
#define ISA_SUFFIX avx2
#define MSC_ISA_ENUM MSC_ISA_AVX2
#define VL 8
#define MB 4
#define RW 3
#define RWD 4
#define CV_NP 6 /* channel-vectorized block: pixels x channel vectors */
#define CV_MV 2
typedef __m256 vec_t;
#define VZERO() _mm256_setzero_ps()
#define VSET1(f) _mm256_set1_ps(f)
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VBCAST(p) _mm256_broadcast_ss(p)
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VSUB(a, b) _mm256_sub_ps((a), (b))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VMAX(a, b) _mm256_max_ps((a), (b))
#define VMIN(a, b) _mm256_min_ps((a), (b))
#define VAND(a, b) _mm256_and_ps((a), (b)) /* bitwise: lanes of a where b is all-ones, else +0 */
/* lanes [lo, hi) of a load (0 <= lo, hi <= VL), the others read as 0 and never touched */
typedef __m256i vmask_t;
#define VMASK_RANGE(lo, hi)                                                                                         \
  _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int) (hi)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),    \
                   _mm256_cmpgt_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int) (lo) - 1)))
#define VLOAD_MASK(p, m) _mm256_maskload_ps((p), (m))
#define VBLEND_M(a, b, m) _mm256_blendv_ps((a), (b), _mm256_castsi256_ps(m)) /* lanes of b where m is set */
/* lanes [lo, hi) of v to p[lo..hi) (0 <= lo < hi <= VL), nothing else touched. Not
 * vmaskmovps: on Zen 2/3 its store form is microcoded (~12 cycles a store; it was 18% of
 * a small net's run in the conv epilogue); one lane permute and at most three plain
 * 16/8/4-byte stores instead. */
static inline void vstore_range(float *p, __m256 v, int lo, int hi) {
  float *q = p + lo;
  int n = hi - lo;
  if (n == 8) {
    _mm256_storeu_ps(q, v);
    return;
  }
  const __m256 s = _mm256_permutevar8x32_ps(v, _mm256_add_epi32(_mm256_set1_epi32(lo), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
  __m128 x = _mm256_castps256_ps128(s);
  if (n >= 4) {
    _mm_storeu_ps(q, x);
    q += 4;
    n -= 4;
    x = _mm256_extractf128_ps(s, 1);
  }
  if (n >= 2) {
    _mm_storel_pi((__m64 *) q, x);
    q += 2;
    n -= 2;
    x = _mm_movehl_ps(x, x);
  }
  if (n)
    _mm_store_ss(q, x);
}
#define VSTORE_RANGE(p, v, lo, hi) vstore_range((p), (v), (lo), (hi))
/* the even lanes of the 16 floats lo, hi in a fixed lane order (lo[0], lo[2], hi[0], hi[2],
 * lo[4], lo[6], hi[4], hi[6]): one vshufps; lane-wise sums of such vectors are put in natural
 * order once by VEVEN2_ORDER (vpermpd, 2 uops on Zen 3) instead of once per load */
#define VEVEN2(lo, hi) _mm256_shuffle_ps((lo), (hi), 0x88)
#define VEVEN2_ORDER(v) _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8))
/* the odd lanes of lo, hi in VEVEN2's lane order (sums of both are put in place by VEVEN2_ORDER) */
#define VODD2(lo, hi) _mm256_shuffle_ps((lo), (hi), 0xDD)
/* p[0], p[2], ..., p[14]: stride-2 deinterleave for depthwise rows */
#define VDEINT2_EVEN(p)                                                                                             \
  _mm256_castpd_ps(_mm256_permute4x64_pd(                                                                          \
      _mm256_castps_pd(_mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps((p) + 8), 0x88)), 0xD8))
/* p[1], p[3], ..., p[15] */
#define VDEINT2_ODD(p)                                                                                              \
  _mm256_castpd_ps(_mm256_permute4x64_pd(                                                                          \
      _mm256_castps_pd(_mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps((p) + 8), 0xDD)), 0xD8))
/* o0..o3 = the 32 floats b0[0] b1[0] b2[0] b3[0] b0[1] ... b3[7] */
#define VINTERLEAVE4(b0, b1, b2, b3, o0, o1, o2, o3)                                                               \
  do {                                                                                                              \
    const __m256 t0_ = _mm256_unpacklo_ps((b0), (b1)), t1_ = _mm256_unpackhi_ps((b0), (b1));                        \
    const __m256 t2_ = _mm256_unpacklo_ps((b2), (b3)), t3_ = _mm256_unpackhi_ps((b2), (b3));                        \
    const __m256 u0_ = _mm256_shuffle_ps(t0_, t2_, 0x44), u1_ = _mm256_shuffle_ps(t0_, t2_, 0xEE);                  \
    const __m256 u2_ = _mm256_shuffle_ps(t1_, t3_, 0x44), u3_ = _mm256_shuffle_ps(t1_, t3_, 0xEE);                  \
    (o0) = _mm256_permute2f128_ps(u0_, u1_, 0x20);                                                                  \
    (o1) = _mm256_permute2f128_ps(u2_, u3_, 0x20);                                                                  \
    (o2) = _mm256_permute2f128_ps(u0_, u1_, 0x31);                                                                  \
    (o3) = _mm256_permute2f128_ps(u2_, u3_, 0x31);                                                                  \
  } while (0)
/* inverse: p0..p3 with pk[l] = x[4l + k] for the 32 floats at x */
#define VDEINTERLEAVE4(x, p0, p1, p2, p3)                                                                          \
  do {                                                                                                              \
    const __m256 o0_ = _mm256_loadu_ps(x), o1_ = _mm256_loadu_ps((x) + 8);                                          \
    const __m256 o2_ = _mm256_loadu_ps((x) + 16), o3_ = _mm256_loadu_ps((x) + 24);                                  \
    const __m256 u0_ = _mm256_permute2f128_ps(o0_, o2_, 0x20), u1_ = _mm256_permute2f128_ps(o0_, o2_, 0x31);        \
    const __m256 u2_ = _mm256_permute2f128_ps(o1_, o3_, 0x20), u3_ = _mm256_permute2f128_ps(o1_, o3_, 0x31);        \
    const __m256 t0_ = _mm256_unpacklo_ps(u0_, u1_), t1_ = _mm256_unpackhi_ps(u0_, u1_);                            \
    const __m256 t2_ = _mm256_unpacklo_ps(u2_, u3_), t3_ = _mm256_unpackhi_ps(u2_, u3_);                            \
    (p0) = _mm256_shuffle_ps(t0_, t2_, 0x44);                                                                       \
    (p1) = _mm256_shuffle_ps(t0_, t2_, 0xEE);                                                                       \
    (p2) = _mm256_shuffle_ps(t1_, t3_, 0x44);                                                                       \
    (p3) = _mm256_shuffle_ps(t1_, t3_, 0xEE);                                                                       \
  } while (0)
#include "f32-conv2d-direct.inc.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
