/* qlut-vbmi.c: 256-entry byte tables (y[i] = t[x[i]]) through AVX512-VBMI: the table in four zmm
 * registers, 64 bytes per two vpermi2b (entries 0-127 and 128-255 by the index's low 7 bits) and one
 * byte blend on the index's top bit, against the AVX2 path's 16 vpshufb + 14 vpsubsb + 16 XORs per
 * 32 bytes (qkern-avx2.c). Tails through masked loads and stores, so every length takes the vector
 * path. Chosen by cpu_qlut / cpu_qlut_rows when cpu_q_vbmi() (qconv.c). GCC and clang. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,avx512f,avx512bw,avx512vbmi"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,avx512f,avx512bw,avx512vbmi")
#endif
#include <immintrin.h>

#include "qconv.h"

typedef struct {
  __m512i t0, t1, t2, t3;
} QLut64;

static inline QLut64 lut_load(const uint8_t *t) {
  QLut64 L = {_mm512_loadu_si512((const void *)t), _mm512_loadu_si512((const void *)(t + 64)),
              _mm512_loadu_si512((const void *)(t + 128)), _mm512_loadu_si512((const void *)(t + 192))};
  return L;
}

static inline __m512i lut64(const QLut64 *L, __m512i x) {
  const __m512i lo = _mm512_permutex2var_epi8(L->t0, x, L->t1);
  const __m512i hi = _mm512_permutex2var_epi8(L->t2, x, L->t3);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi);
}

static inline __mmask64 tail_mask(int64_t n) {
  return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
}

/* one span (@x may equal @y: each 64-byte block is loaded before it is stored) */
static inline void lut_span(const QLut64 *L, const uint8_t *x, uint8_t *y, int64_t n) {
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    _mm512_storeu_si512((void *)(y + i), lut64(L, _mm512_loadu_si512((const void *)(x + i))));
  if (i < n) {
    const __mmask64 m = tail_mask(n - i);
    _mm512_mask_storeu_epi8(y + i, m, lut64(L, _mm512_maskz_loadu_epi8(m, x + i)));
  }
}

void cpu_qlut_vbmi(const uint8_t *t, const uint8_t *x, uint8_t *y, int64_t n) {
  const QLut64 L = lut_load(t);
  lut_span(&L, x, y, n);
}

void cpu_qlut_rows_vbmi(const uint8_t *t, uint8_t *y, int64_t rows, int64_t stride, int64_t n) {
  if (rows > 1 && stride == n) n *= rows, rows = 1; /* contiguous: one row */
  if (n <= 0 || rows <= 0) return;
  const QLut64 L = lut_load(t);
  for (int64_t r = 0; r < rows; r++) lut_span(&L, y + r * stride, y + r * stride, n);
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
