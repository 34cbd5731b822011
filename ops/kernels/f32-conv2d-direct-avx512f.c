/* f32-conv2d-direct-avx512f.c: AVX-512 instantiation of the conv template.
 * 32 zmm registers: 8 channels x 3 vectors = 24 accumulators + 3 input +
 * 1 weight; per tap 3 loads + 8 broadcasts feed 24 FMAs. */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma")
#endif
#include <immintrin.h>
#define ISA_SUFFIX avx512f
#define MSC_ISA_ENUM MSC_ISA_AVX512
#define VL 16
#define MB 8
#define RW 3
#define RWD 4
#define CV_NP 12 /* channel-vectorized block: pixels x channel vectors */
#define CV_MV 2
typedef __m512 vec_t;
#define VZERO() _mm512_setzero_ps()
#define VSET1(f) _mm512_set1_ps(f)
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VBCAST(p) _mm512_set1_ps(*(const float *) (p))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VSUB(a, b) _mm512_sub_ps((a), (b))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VMAX(a, b) _mm512_max_ps((a), (b))
#define VMIN(a, b) _mm512_min_ps((a), (b))
#define VAND(a, b) _mm512_and_ps((a), (b)) /* bitwise: lanes of a where b is all-ones, else +0 */
/* lanes [lo, hi) of a load (0 <= lo, hi <= VL), the others read as 0 and never touched */
typedef __mmask16 vmask_t;
#define VMASK_RANGE(lo, hi) ((__mmask16) (((1u << (unsigned) (hi)) - 1u) & ~((1u << (unsigned) (lo)) - 1u)))
#define VLOAD_MASK(p, m) _mm512_maskz_loadu_ps((m), (p))
#define VBLEND_M(a, b, m) _mm512_mask_blend_ps((m), (a), (b)) /* lanes of b where m is set */
/* lanes [lo, hi) of v to p[lo..hi) */
#define VSTORE_RANGE(p, v, lo, hi) _mm512_mask_storeu_ps((p), VMASK_RANGE((lo), (hi)), (v))
/* p[0], p[2], ..., p[30]: stride-2 deinterleave for depthwise rows */
/* the even lanes of the 32 floats lo, hi */
#define VEVEN2(lo, hi)                                                                                              \
  _mm512_permutex2var_ps((lo), _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), (hi))
#define VEVEN2_ORDER(v) (v) /* VEVEN2's lanes are in natural order */
/* the odd lanes of the 32 floats lo, hi */
#define VODD2(lo, hi)                                                                                               \
  _mm512_permutex2var_ps((lo), _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), (hi))
#define VDEINT2_EVEN(p)                                                                                             \
  _mm512_permutex2var_ps(_mm512_loadu_ps(p),                                                                       \
                         _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),             \
                         _mm512_loadu_ps((p) + 16))
/* p[1], p[3], ..., p[31] */
#define VDEINT2_ODD(p)                                                                                              \
  _mm512_permutex2var_ps(_mm512_loadu_ps(p),                                                                       \
                         _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),             \
                         _mm512_loadu_ps((p) + 16))
/* o0..o3 = the 64 floats b0[0] b1[0] b2[0] b3[0] b0[1] ... b3[15]: the
 * AVX2 4x4 transpose in every 128-bit lane, then a 4x4 transpose of lanes */
#define VINTERLEAVE4(b0, b1, b2, b3, o0, o1, o2, o3)                                                               \
  do {                                                                                                              \
    const __m512 t0_ = _mm512_unpacklo_ps((b0), (b1)), t1_ = _mm512_unpackhi_ps((b0), (b1));                        \
    const __m512 t2_ = _mm512_unpacklo_ps((b2), (b3)), t3_ = _mm512_unpackhi_ps((b2), (b3));                        \
    const __m512 u0_ = _mm512_shuffle_ps(t0_, t2_, 0x44), u1_ = _mm512_shuffle_ps(t0_, t2_, 0xEE);                  \
    const __m512 u2_ = _mm512_shuffle_ps(t1_, t3_, 0x44), u3_ = _mm512_shuffle_ps(t1_, t3_, 0xEE);                  \
    const __m512 w0_ = _mm512_shuffle_f32x4(u0_, u1_, 0x44), w1_ = _mm512_shuffle_f32x4(u0_, u1_, 0xEE);            \
    const __m512 w2_ = _mm512_shuffle_f32x4(u2_, u3_, 0x44), w3_ = _mm512_shuffle_f32x4(u2_, u3_, 0xEE);            \
    (o0) = _mm512_shuffle_f32x4(w0_, w2_, 0x88);                                                                    \
    (o1) = _mm512_shuffle_f32x4(w0_, w2_, 0xDD);                                                                    \
    (o2) = _mm512_shuffle_f32x4(w1_, w3_, 0x88);                                                                    \
    (o3) = _mm512_shuffle_f32x4(w1_, w3_, 0xDD);                                                                    \
  } while (0)
#include "f32-conv2d-direct.inc.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
