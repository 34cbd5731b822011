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
typedef __m512 vec_t;
#define VZERO() _mm512_setzero_ps()
#define VSET1(f) _mm512_set1_ps(f)
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VBCAST(p) _mm512_set1_ps(*(const float *) (p))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VMAX(a, b) _mm512_max_ps((a), (b))
#define VMIN(a, b) _mm512_min_ps((a), (b))
/* p[0], p[2], ..., p[30]: stride-2 deinterleave for depthwise rows */
#define VDEINT2_EVEN(p)                                                                                             \
  _mm512_permutex2var_ps(_mm512_loadu_ps(p),                                                                       \
                         _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),             \
                         _mm512_loadu_ps((p) + 16))
/* p[1], p[3], ..., p[31] */
#define VDEINT2_ODD(p)                                                                                              \
  _mm512_permutex2var_ps(_mm512_loadu_ps(p),                                                                       \
                         _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),             \
                         _mm512_loadu_ps((p) + 16))
#include "f32-conv2d-direct.inc.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
