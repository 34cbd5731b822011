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
#include <string.h>

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
  if (fbias != 0.0f) f = _mm256_add_ps(f, _mm256_set1_ps(fbias)); /* + 0.0 changes no rounding result */
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

/* cpu_qvadd1 from the first operand's DQ product @fa = (a - za) * sa (already rounded) on 8 lanes:
 * + (b - zb) * sb, [max 0], / sy (the quotient through two FMAs when @divfree: checked equal to the
 * division on all pairs when the step was built), clamped to +-2^20 (skipped when @noclamp: the step
 * checked that no pair's quotient comes near it), rounded half to even (cvtps2dq), + zy. The asm
 * barriers keep GCC from contracting the products into the add or the quotient's first product into
 * the FMA: the same float operations as the scalar cpu_qvadd1, so the same bytes. */
static inline __m256i qvadd8f(__m256 fa, __m256i b, __m256i zb, __m256 sb, int relu, int divfree, int noclamp,
                              __m256 sy, __m256 inv, __m256i zy) {
  __m256 fb = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(b, zb)), sb);
  __asm__("" : "+x"(fa), "+x"(fb));
  __m256 f = _mm256_add_ps(fa, fb);
  if (relu) f = _mm256_max_ps(f, _mm256_setzero_ps());
  __m256 q;
  if (divfree) {
    __m256 q0 = _mm256_mul_ps(f, inv);
    __asm__("" : "+x"(q0));
    q = _mm256_fmadd_ps(_mm256_fnmadd_ps(q0, sy, f), inv, q0);
  } else {
    q = _mm256_div_ps(f, sy);
  }
  if (!noclamp) q = _mm256_min_ps(_mm256_max_ps(q, _mm256_set1_ps(-1048576.0f)), _mm256_set1_ps(1048576.0f));
  return _mm256_add_epi32(_mm256_cvtps_epi32(q), zy);
}

/* cpu_qvadd1 on 8 int32 lanes a, b. */
static inline __m256i qvadd8(__m256i a, __m256i za, __m256 sa, __m256i b, __m256i zb, __m256 sb, int relu,
                             int divfree, __m256 sy, __m256 inv, __m256i zy) {
  return qvadd8f(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(a, za)), sa), b, zb, sb, relu, divfree, 0, sy,
                 inv, zy);
}

/* A whole tile of @rows channels x 16 positions (NV = 2), row r of it stored at @y + r * P (an output
 * row segment, or a row buffer): per channel acc + corr, * mult (+ fb), rounded, + zy in int32;
 * with @sk (the skip bytes, same offsets) the conv's value clamped in float, then the residual add
 * (qvadd8: cpu_qvadd1's operations); two channels per saturating pack, permute and store pair, then
 * (without the add) the clamp to [lo, hi] on the bytes. When every channel has |mult| < 1/4 and
 * |fb| < 2^29 (q->qfast) the float value of any int32 accumulator stays below 2^30 in magnitude, so
 * nothing overflows and clamping after rounding gives the same bytes as clamping in float first
 * (lo - zy, hi - zy are integers and rounding is monotone); otherwise the float clamp is applied
 * too. The conv's and the add's constants are loaded once per tile (the byte stores may alias
 * them) and the zero-bias test made once per conv (q->qnofb). */
typedef struct {
  int fast, nofb, relu, divfree, noclamp, zsame, ssg;
} Q2Flags;

static inline __attribute__((always_inline)) void q2_store_tile_f(const CpuQConv *q, uint8_t *y, const uint8_t *sk,
                                                                  int64_t P, int64_t m, int rows,
                                                                  const __m256i (*a)[2], int ci, int sgn,
                                                                  const Q2Flags fl) {
  const __m256i vz = _mm256_set1_epi32(q->d.zy), perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i bl = _mm256_set1_epi8((char)q->d.lo), bh = _mm256_set1_epi8((char)q->d.hi);
  const __m256 flo = _mm256_set1_ps(q->flo), fhi = _mm256_set1_ps(q->fhi);
  const int fast = fl.fast, nofb = fl.nofb;
  const float *mult = q->mult + m, *fbias = q->fbias + m;
  const int32_t *corr = q->corr + m;
  const CpuQVAdd *va = sk ? q->d.vadd : NULL;
  const int side = sk ? q->d.vside : 0;
  __m256 sc = _mm256_setzero_ps(), ss = sc, sy = sc, inv = sc;
  __m256i zc = _mm256_setzero_si256(), zs = zc, zo = zc;
  const int ssg = fl.ssg, relu = fl.relu, divfree = fl.divfree, noclamp = fl.noclamp, zsame = fl.zsame;
  if (va) {
    sc = _mm256_set1_ps(va->vs[side]), ss = _mm256_set1_ps(va->vs[!side]), sy = _mm256_set1_ps(va->vsy);
    inv = _mm256_set1_ps(va->vinv);
    zc = _mm256_set1_epi32(va->vz[side]), zs = _mm256_set1_epi32(va->vz[!side]), zo = _mm256_set1_epi32(va->vzy);
  }
  for (int r = 0; r < rows; r += 2) {
    const int r1 = r + 1 < rows ? r + 1 : r;
    __m256i v[4];
    for (int h = 0; h < 2; h++) {
      const int rr = h ? r1 : r;
      const __m256 vm = _mm256_set1_ps(mult[rr]);
      for (int u = 0; u < 2; u++) {
        const __m256i acc = ci ? a[rr][u] : _mm256_add_epi32(a[rr][u], _mm256_set1_epi32(corr[rr]));
        __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), vm);
        if (!nofb) f = _mm256_add_ps(f, _mm256_set1_ps(fbias[rr]));
        if (!fast) f = _mm256_min_ps(_mm256_max_ps(f, flo), fhi);
        if (va) { /* the residual add on the conv's value and the skip byte (a + b = b + a exactly) */
          const __m128i s8 = _mm_loadl_epi64((const __m128i *)(const void *)(sk + rr * P + 8 * u));
          const __m256i si = ssg ? _mm256_cvtepi8_epi32(s8) : _mm256_cvtepu8_epi32(s8);
          /* its DQ (v - zc) * sc with v = round(f) + zy and zc = zy (checked when the tile set up):
           * round(f) * sc, f already clamped, rounded in place (the current mode, as cvtps2dq) */
          const __m256 fa = zsame ? _mm256_mul_ps(_mm256_round_ps(f, _MM_FROUND_CUR_DIRECTION), sc)
                                  : _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(
                                                      _mm256_add_epi32(_mm256_cvtps_epi32(f), vz), zc)), sc);
          v[2 * h + u] = qvadd8f(fa, si, zs, ss, relu, divfree, noclamp, sy, inv, zo);
        } else {
          v[2 * h + u] = _mm256_add_epi32(_mm256_cvtps_epi32(f), vz); /* the conv's byte value */
        }
      }
    }
    const __m256i p0 = _mm256_packs_epi32(v[0], v[1]), p1 = _mm256_packs_epi32(v[2], v[3]);
    __m256i b = sgn ? _mm256_packs_epi16(p0, p1) : _mm256_packus_epi16(p0, p1);
    if (!va) b = sgn ? _mm256_min_epi8(_mm256_max_epi8(b, bl), bh) : _mm256_min_epu8(_mm256_max_epu8(b, bl), bh);
    b = _mm256_permutevar8x32_epi32(b, perm); /* row r in the low half, row r1 in the high half */
    _mm_storeu_si128((__m128i *)(void *)(y + r * P), _mm256_castsi256_si128(b));
    if (r1 != r) _mm_storeu_si128((__m128i *)(void *)(y + r1 * P), _mm256_extracti128_si256(b, 1));
  }
}

/* q2_store_tile_f with the tile's flags read from the plan, and the two common sets as constants (the
 * epilogue of a small-K 1x1 conv costs as much as its products: every runtime flag a branch per
 * vector): no add, |mult| < 1/4, no float bias, uint8 out, accumulators from corr; and the residual
 * add of uint8 tensors with Relu, the two-FMA quotient, no clamp, the conv's zero point the add's. */
static inline __attribute__((always_inline)) void q2_store_tile(const CpuQConv *q, uint8_t *y, const uint8_t *sk,
                                                                int64_t P, int64_t m, int rows,
                                                                const __m256i (*a)[2], int ci, int sgn) {
  const CpuQVAdd *va = sk ? q->d.vadd : NULL;
  Q2Flags fl = {q->qfast && !sk, q->qnofb, 0, 0, 0, 0, 0};
  if (va) {
    const int side = q->d.vside;
    fl.ssg = va->adt[!side] == MSC_DTYPE_INT8, fl.relu = va->vrelu, fl.divfree = va->vdivfree;
    fl.noclamp = va->vnoclamp, fl.zsame = va->vz[side] == q->d.zy;
    sgn = va->ydt == MSC_DTYPE_INT8;
  }
  if (!q->qspec) q2_store_tile_f(q, y, sk, P, m, rows, a, ci, sgn, fl);
  else if (!va && ci && !sgn && fl.fast && fl.nofb)
    q2_store_tile_f(q, y, NULL, P, m, rows, a, 1, 0, (Q2Flags){1, 1, 0, 0, 0, 0, 0});
  else if (va && ci && !sgn && fl.nofb && !fl.ssg && fl.relu && fl.divfree && fl.noclamp && fl.zsame)
    q2_store_tile_f(q, y, sk, P, m, rows, a, 1, 0, (Q2Flags){0, 1, 1, 1, 1, 1, 0});
  else
    q2_store_tile_f(q, y, sk, P, m, rows, a, ci, sgn, fl);
}
#define STORE_QTILE(q, y, sk, P, m, rows, a, ci, sgn) q2_store_tile(q, y, sk, P, m, rows, a, ci, sgn)

/* y[i] = t[x[i]] for 32 bytes at a time, the table as 16 rows of 16 bytes (one vpshufb each). vpshufb
 * reads an index byte's low nibble and gives 0 where the byte's top bit is set; the low nibble of
 * x - 16 j is x's own, so the rows are stored as differences: R_j = T_j ^ T_(j-1) within each half
 * (R_0 = T_0, R_8 = T_8). For x < 128, x - 16 j (signed saturating) keeps its top bit clear exactly
 * for j <= x >> 4, so the XOR of vpshufb(R_j, x - 16 j), j = 0..7, is the prefix XOR T_(x >> 4) at the
 * low nibble; and for x >= 128 (negative as a signed byte, saturating stays negative) every term is
 * 0. The upper half does the same on x ^ 0x80. 16 vpshufb, 14 vpsubsb and 16 XORs per 32 bytes
 * against the blend tree's 16 vpshufb and 15 vpblendvb: 0.157 against 0.194 ns/byte (38 KB, Zen 3). */
typedef struct {
  __m256i r[16];
} QLut;

static inline void qlut_setup(QLut *L, const uint8_t *t) {
  for (int k = 0; k < 16; k++) {
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(t + 16 * k));
    if (k % 8) a = _mm_xor_si128(a, _mm_loadu_si128((const __m128i *)(const void *)(t + 16 * (k - 1))));
    L->r[k] = _mm256_broadcastsi128_si256(a);
  }
}

static inline __attribute__((always_inline)) __m256i qlut32(const QLut *L, __m256i v) {
  const __m256i h = _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80));
  __m256i a0 = _mm256_shuffle_epi8(L->r[0], v), a1 = _mm256_shuffle_epi8(L->r[8], h);
  for (int j = 1; j < 8; j++) {
    const __m256i c = _mm256_set1_epi8((char)(16 * j));
    a0 = _mm256_xor_si256(a0, _mm256_shuffle_epi8(L->r[j], _mm256_subs_epi8(v, c)));
    a1 = _mm256_xor_si256(a1, _mm256_shuffle_epi8(L->r[8 + j], _mm256_subs_epi8(h, c)));
  }
  return _mm256_xor_si256(a0, a1);
}

/* @x may equal @y. */
void cpu_qlut_avx2(const uint8_t *t, const uint8_t *x, uint8_t *y, int64_t n) {
  int64_t i = 0;
  if (n >= 64) {
    QLut L;
    qlut_setup(&L, t);
    for (; i + 32 <= n; i += 32)
      _mm256_storeu_si256((__m256i *)(void *)(y + i),
                          qlut32(&L, _mm256_loadu_si256((const __m256i *)(const void *)(x + i))));
  }
  for (; i < n; i++) y[i] = t[x[i]];
}

/* In place over @rows rows of @n bytes, @stride apart; the table set up once. A row of 32+ bytes ends
 * with one vector at n - 32, computed before the row's other stores (so from the row's own bytes) and
 * stored last; shorter rows go through a 32-byte copy. */
void cpu_qlut_rows_avx2(const uint8_t *t, uint8_t *y, int64_t rows, int64_t stride, int64_t n) {
  if (rows > 1 && stride == n) n *= rows, rows = 1; /* contiguous: one row */
  if (n <= 0 || rows <= 0) return;
  QLut L;
  qlut_setup(&L, t);
  for (int64_t r = 0; r < rows; r++) {
    uint8_t *p = y + r * stride;
    if (n < 32) {
      uint8_t b[32] = {0};
      memcpy(b, p, (size_t)n);
      _mm256_storeu_si256((__m256i *)(void *)b, qlut32(&L, _mm256_loadu_si256((const __m256i *)(const void *)b)));
      memcpy(p, b, (size_t)n);
      continue;
    }
    const __m256i tail = qlut32(&L, _mm256_loadu_si256((const __m256i *)(const void *)(p + n - 32)));
    for (int64_t i = 0; i + 32 <= n; i += 32)
      _mm256_storeu_si256((__m256i *)(void *)(p + i), qlut32(&L, _mm256_loadu_si256((const __m256i *)(const void *)(p + i))));
    _mm256_storeu_si256((__m256i *)(void *)(p + n - 32), tail);
  }
}

/* q->gemv: 8 output channels at a time, each a dot product of the K input values (int16, 16 at a
 * time, the tail through a zero-padded copy) with its zero-padded weight row through vpmaddwd
 * (exact), then acc + corr requantized on 8 lanes with each channel's mult / fb: the same float
 * operations as q2_store_q (multiply, then the add, kept apart), the clamp, cvtps2dq, + zy, packs. */
void cpu_qgemv_avx2(const CpuQConv *q, const uint8_t *x, uint8_t *y) {
  const int64_t K = q->K, Kp = q->Kp, M = q->d.M;
  const int sgn = q->d.xdt == MSC_DTYPE_INT8, osg = q->d.ydt == MSC_DTYPE_INT8;
  int16_t xs[4096];
  const int16_t *xv = xs;
  int16_t *xbuf = Kp <= 4096 ? xs : g_malloc((size_t)Kp * sizeof(int16_t));
  const int32_t xo = q->xoff; /* corr holds - (zx + xoff) * sum w */
  for (int64_t k = 0; k < K; k++) xbuf[k] = (int16_t)((sgn ? (int32_t)(int8_t)x[k] : (int32_t)x[k]) + xo);
  for (int64_t k = K; k < Kp; k++) xbuf[k] = 0;
  xv = xbuf;
  const __m256 flo = _mm256_set1_ps(q->flo), fhi = _mm256_set1_ps(q->fhi);
  const __m256i zy = _mm256_set1_epi32(q->d.zy);
  for (int64_t m0 = 0; m0 < M; m0 += 8) {
    int32_t s[8] = {0};
    const int nm = (int)MIN((int64_t)8, M - m0);
    for (int r = 0; r < nm; r += 4) { /* 4 rows per pass: independent accumulators */
      __m256i a[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
      const int rr = MIN(4, nm - r);
      for (int64_t k = 0; k < Kp; k += 16) {
        const __m256i xk = _mm256_loadu_si256((const __m256i *)(const void *)(xv + k));
        for (int i = 0; i < rr; i++)
          a[i] = _mm256_add_epi32(a[i], _mm256_madd_epi16(xk, _mm256_loadu_si256((const __m256i *)(const void *)(
                                                                  q->wg + (m0 + r + i) * Kp + k))));
      }
      for (int i = 0; i < rr; i++) {
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(a[i]), _mm256_extracti128_si256(a[i], 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
        s[r + i] = _mm_cvtsi128_si32(h);
      }
    }
    int32_t cr[8] = {0};
    float mu[8] = {0}, fb[8] = {0};
    memcpy(cr, q->corr + m0, (size_t)nm * sizeof(int32_t));
    memcpy(mu, q->mult + m0, (size_t)nm * sizeof(float));
    memcpy(fb, q->fbias + m0, (size_t)nm * sizeof(float));
    __m256i acc = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(const void *)s),
                                   _mm256_loadu_si256((const __m256i *)(const void *)cr));
    __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(mu));
    __asm__("" : "+x"(f)); /* never contracted with the bias add */
    f = _mm256_add_ps(f, _mm256_loadu_ps(fb)); /* + 0.0 (no float bias) changes no rounding result */
    f = _mm256_min_ps(_mm256_max_ps(f, flo), fhi);
    __m256i iv = _mm256_add_epi32(_mm256_cvtps_epi32(f), zy);
    __m128i s16 = _mm_packs_epi32(_mm256_castsi256_si128(iv), _mm256_extracti128_si256(iv, 1));
    __m128i b = osg ? _mm_packs_epi16(s16, s16) : _mm_packus_epi16(s16, s16);
    uint8_t t[16];
    _mm_storeu_si128((__m128i *)(void *)t, b);
    for (int i = 0; i < nm; i++) y[m0 + i] = q->d.post ? q->d.post[t[i]] : t[i];
  }
  if (xbuf != xs) g_free(xbuf);
}

/* cpu_qvadd1 on 8 lanes: the same float operations in the same order (the quotient through two
 * FMAs when v->vdivfree: checked equal to the division on all pairs); cvtps2dq rounds half to even
 * like the 1.5 * 2^23 trick (|v| <= 2^20); + zy in int32, then the saturating packs are the clamp
 * to the output type's range. Parameters in locals: the byte stores may alias *v. */
void cpu_qvadd_avx2(const CpuQVAdd *v, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n) {
  const __m256 s0 = _mm256_set1_ps(v->vs[0]), s1 = _mm256_set1_ps(v->vs[1]), sy = _mm256_set1_ps(v->vsy);
  const __m256 inv = _mm256_set1_ps(v->vinv);
  const __m256i z0 = _mm256_set1_epi32(v->vz[0]), z1 = _mm256_set1_epi32(v->vz[1]);
  const __m256i zi = _mm256_set1_epi32(v->vzy);
  const int osg = v->ydt == MSC_DTYPE_INT8, sa = v->adt[0] == MSC_DTYPE_INT8, sb = v->adt[1] == MSC_DTYPE_INT8;
  const int relu = v->vrelu, divfree = v->vdivfree;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i a8 = _mm_loadl_epi64((const __m128i *)(const void *)(a + i));
    __m128i b8 = _mm_loadl_epi64((const __m128i *)(const void *)(b + i));
    __m256i ai = sa ? _mm256_cvtepi8_epi32(a8) : _mm256_cvtepu8_epi32(a8);
    __m256i bi = sb ? _mm256_cvtepi8_epi32(b8) : _mm256_cvtepu8_epi32(b8);
    __m256i r = qvadd8(ai, z0, s0, bi, z1, s1, relu, divfree, sy, inv, zi);
    __m128i r16 = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    __m128i r8 = osg ? _mm_packs_epi16(r16, r16) : _mm_packus_epi16(r16, r16);
    _mm_storel_epi64((__m128i *)(void *)(y + i), r8);
  }
  for (; i < n; i++) {
    int32_t va = sa ? (int8_t)a[i] : a[i], vb = sb ? (int8_t)b[i] : b[i];
    y[i] = (uint8_t)cpu_qvadd1(v, va, vb);
  }
}

/* Rows of OW bytes from the flat buffer (row stride PWs) through the fused table @t. */
static void copy_post(const uint8_t *restrict t, uint8_t *restrict y, const void *tmpv, int64_t OH, int64_t OW,
                      int64_t PWs) {
  const uint8_t *restrict src = tmpv;
  if (OW >= 64 || PWs == OW) {
    if (PWs == OW) cpu_qlut_avx2(t, src, y, OH * OW);
    else
      for (int64_t oh = 0; oh < OH; oh++) cpu_qlut_avx2(t, src + oh * PWs, y + oh * OW, OW);
    return;
  }
  for (int64_t oh = 0; oh < OH; oh++) {
    const uint8_t *restrict r = src + oh * PWs;
    uint8_t *restrict o = y + oh * OW;
    int64_t i = 0;
    for (; i + 4 <= OW; i += 4) {
      uint8_t a = t[r[i]], b = t[r[i + 1]], c = t[r[i + 2]], e = t[r[i + 3]];
      o[i] = a, o[i + 1] = b, o[i + 2] = c, o[i + 3] = e;
    }
    for (; i < OW; i++) o[i] = t[r[i]];
  }
}

static void qdw_i16(const CpuQConv *q, const uint8_t *x, int64_t oc, uint8_t *y, void *ws) {
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
  if (!i32 && d->post) {
    copy_post(d->post, y, tmp, q->OH, OW, PWs);
    return;
  }
  for (int64_t oh = 0; oh < q->OH; oh++)
    memcpy(y + (size_t)(oh * OW) * ys, (char *)tmp + (size_t)(oh * PWs) * ys, (size_t)OW * ys);
}

/* Depthwise through float FMAs, exact: the plane holds x - zx as floats
 * (padding 0.0), weights w - zw; every product has |p| <= 255 * 255 and
 * with T <= 258 taps every partial sum stays below 2^24, so the float sums
 * are the exact integers (FMA rounds only unrepresentable results). The
 * sums are converted back to int32 (exact), the bias added in int32 and
 * requantized as the integer kernels do: bit-identical to them. */
void cpu_qdw_avx2(const CpuQConv *q, const uint8_t *x, int64_t oc, uint8_t *y, void *ws) {
  const CpuQConvDesc *d = &q->d;
  const int64_t PS = q->PS, PWs = q->PWs, nph = q->nph, nf = q->nf, OW = q->OW, T = q->T;
  if (T > 258) {
    qdw_i16(q, x, oc, y, ws);
    return;
  }
  float *pl = ws;
  const size_t plen = (size_t)(nph * PS + CPU_QDW_SLACK + PWs);
  void *tmp = (char *)ws + (plen * sizeof(float) + 63) / 64 * 64;
  const int sgn = d->xdt == MSC_DTYPE_INT8;
  const int32_t zx = d->zx;
  if (nph == 1) { /* stride 1: only the border and the slack are not written below */
    int64_t a = d->pl, b = d->pl + d->W;
    memset(pl, 0, (size_t)(d->pt * PWs) * sizeof(float));
    memset(pl + (d->pt + d->H) * PWs, 0, (plen - (size_t)((d->pt + d->H) * PWs)) * sizeof(float));
    for (int64_t r = d->pt; r < d->pt + d->H && (a || b < PWs); r++) {
      for (int64_t i = 0; i < a; i++) pl[r * PWs + i] = 0.0f;
      for (int64_t i = b; i < PWs; i++) pl[r * PWs + i] = 0.0f;
    }
  }
  const __m256i vzx = _mm256_set1_epi32(zx);
  const __m128i even = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
  /* per column phase: first input column, count, plane column (no divisions per row) */
  int64_t iw0s[16], cnts[16], ocol[16];
  const int64_t sw = d->sw, sh = d->sh;
  if (sw > 16) {
    qdw_i16(q, x, oc, y, ws);
    return;
  }
  for (int64_t pw = 0; pw < sw; pw++) {
    iw0s[pw] = ((pw - d->pl) % sw + sw) % sw;
    cnts[pw] = iw0s[pw] < d->W ? (d->W - iw0s[pw] + sw - 1) / sw : 0;
    ocol[pw] = (iw0s[pw] + d->pl) / sw;
  }
  if (nph > 1) { /* strided: per phase plane, zero only what the rows below do not write */
    for (int64_t rp = 0; rp < sh; rp++) {
      int64_t f = d->pt + ((rp - d->pt) % sh + sh) % sh; /* first padded row of this row phase */
      int64_t r0 = f < d->pt + d->H ? f / sh : q->PHs, r1 = r0;
      if (f < d->pt + d->H) r1 = (d->pt + d->H - 1 - rp) / sh + 1;
      for (int64_t pw = 0; pw < sw; pw++) {
        float *P = pl + (rp * sw + pw) * PS;
        int64_t a = cnts[pw] ? ocol[pw] : PWs, b = cnts[pw] ? ocol[pw] + cnts[pw] : PWs;
        memset(P, 0, (size_t)(r0 * PWs) * sizeof(float));
        if (r1 < q->PHs) memset(P + r1 * PWs, 0, (size_t)((q->PHs - r1) * PWs) * sizeof(float));
        for (int64_t r = r0; r < r1; r++) {
          for (int64_t i = 0; i < a; i++) P[r * PWs + i] = 0.0f;
          for (int64_t i = b; i < PWs; i++) P[r * PWs + i] = 0.0f;
        }
      }
    }
    memset(pl + nph * PS, 0, (plen - (size_t)(nph * PS)) * sizeof(float));
  }
  int64_t rph = d->pt % sh, prow = d->pt / sh;
  for (int64_t ih = 0; ih < d->H; ih++) {
    for (int64_t pw = 0; pw < sw; pw++) {
      const int64_t iw0 = iw0s[pw], cnt = cnts[pw];
      if (!cnt) continue;
      float *o = pl + (rph * sw + pw) * PS + prow * PWs + ocol[pw];
      const uint8_t *src = x + ih * d->W + iw0;
      int64_t u = 0;
      if (sw == 1)
        for (; u + 8 <= cnt; u += 8) {
          __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(src + u));
          __m256i v = sgn ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
          _mm256_storeu_ps(o + u, _mm256_cvtepi32_ps(_mm256_sub_epi32(v, vzx)));
        }
      else if (sw == 2)
        for (; u + 8 <= cnt && iw0 + 2 * u + 16 <= d->W; u += 8) {
          __m128i b = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(src + 2 * u)), even);
          __m256i v = sgn ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
          _mm256_storeu_ps(o + u, _mm256_cvtepi32_ps(_mm256_sub_epi32(v, vzx)));
        }
      if (sgn)
        for (; u < cnt; u++) o[u] = (float)((int8_t)src[u * sw] - zx);
      else
        for (; u < cnt; u++) o[u] = (float)(src[u * sw] - zx);
    }
    if (++rph == sh) rph = 0, prow++;
  }
  const int16_t *wt = q->wd + oc * T;
  __m256 wv[258];
  int32_t wsum = 0;
  for (int64_t t = 0; t < T; t++) {
    if (wt[t] > 255 || wt[t] < -255) { /* not 8-bit data: the sums could pass 2^24 */
      qdw_i16(q, x, oc, y, ws);
      return;
    }
    wv[t] = _mm256_set1_ps((float)wt[t]);
    wsum += wt[t];
  }
  const int64_t *toff = q->toff;
  /* corr = bias - zx * sum w (the integer kernels' constant): the bias alone here */
  const __m256i bias = _mm256_set1_epi32((int32_t)((int64_t)q->corr[oc] + (int64_t)zx * wsum));
  const int i32 = d->ydt == MSC_DTYPE_INT32, osgn = d->ydt == MSC_DTYPE_INT8;
  const float mult = q->mult[oc], fb = q->fbias[oc];
  const int64_t bias64 = (int64_t)q->corr[oc] + (int64_t)zx * wsum;
  if (!i32 && (bias64 < 0 ? -bias64 : bias64) + T * 255 * 255 <= (1 << 24)) {
    /* the bias as the accumulators' start: every partial sum is an integer below 2^24, so the
     * float sum is the exact acc + bias, which the integer kernels convert to float (exact
     * too); 32 outputs packed at once */
    const __m256 fbias = _mm256_set1_ps((float)bias64), vm = _mm256_set1_ps(mult), vfb = _mm256_set1_ps(fb);
    const __m256 lo = _mm256_set1_ps(q->flo), hi = _mm256_set1_ps(q->fhi);
    const __m256i zy = _mm256_set1_epi32(d->zy), perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t f = 0; f < nf; f += 32) {
      __m256 a[4] = {fbias, fbias, fbias, fbias};
      for (int64_t t = 0; t < T; t++) {
        const float *p = pl + toff[t] + f;
        for (int j = 0; j < 4; j++) a[j] = _mm256_fmadd_ps(_mm256_loadu_ps(p + 8 * j), wv[t], a[j]);
      }
      __m256i r[4];
      for (int j = 0; j < 4; j++) {
        __m256 v = _mm256_mul_ps(a[j], vm);
        __asm__("" : "+x"(v));
        if (fb != 0.0f) v = _mm256_add_ps(v, vfb);
        v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
        r[j] = _mm256_add_epi32(_mm256_cvtps_epi32(v), zy);
      }
      __m256i p01 = _mm256_packs_epi32(r[0], r[1]), p23 = _mm256_packs_epi32(r[2], r[3]);
      __m256i b = osgn ? _mm256_packs_epi16(p01, p23) : _mm256_packus_epi16(p01, p23);
      _mm256_storeu_si256((__m256i *)(void *)((uint8_t *)tmp + f), _mm256_permutevar8x32_epi32(b, perm));
    }
    if (d->post) copy_post(d->post, y, tmp, q->OH, OW, PWs);
    else
      for (int64_t oh = 0; oh < q->OH; oh++) memcpy(y + oh * OW, (char *)tmp + oh * PWs, (size_t)OW);
    return;
  }
  for (int64_t f = 0; f < nf; f += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t t = 0; t < T; t++) {
      const float *p = pl + toff[t] + f;
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p), wv[t], a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 8), wv[t], a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 16), wv[t], a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 24), wv[t], a3);
    }
    __m256i o[4] = {_mm256_add_epi32(_mm256_cvtps_epi32(a0), bias), _mm256_add_epi32(_mm256_cvtps_epi32(a1), bias),
                    _mm256_add_epi32(_mm256_cvtps_epi32(a2), bias), _mm256_add_epi32(_mm256_cvtps_epi32(a3), bias)};
    for (int j = 0; j < 4; j++) {
      if (f + 8 * j >= nf) break;
      if (i32) _mm256_storeu_si256((__m256i *)(void *)((int32_t *)tmp + f + 8 * j), o[j]);
      else q2_store_q((uint8_t *)tmp + f + 8 * j, o[j], mult, fb, q->flo, q->fhi, d->zy, osgn, 8);
    }
  }
  size_t ys = i32 ? 4 : 1;
  if (!i32 && d->post) {
    copy_post(d->post, y, tmp, q->OH, OW, PWs);
    return;
  }
  for (int64_t oh = 0; oh < q->OH; oh++)
    memcpy(y + (size_t)(oh * OW) * ys, (char *)tmp + (size_t)(oh * PWs) * ys, (size_t)OW * ys);
}
#define QDW_CUSTOM cpu_qdw_avx2

/* A full direct tile of the int16 kernel (6 output channels x 16 positions of one output row,
 * accumulators from corr): the pair loop scheduled by hand, then q2_store_tile with the row count and
 * corr flag as constants (the same epilogue, so the same bytes). Per channel pair the two x vectors,
 * then per row one broadcast weight word, two vpmaddwd into two temporaries and two vpaddd. Against the
 * generic tile: 0.82-0.92x the time on 1x1 layers with K 8-32 (Zen 3, int8-layers --ab MSC_INT8_D6=0);
 * the same tile with GCC's loop instead of the asm measured ~3% slower, so most of that is the
 * specialization. The 12 accumulators are asm operands (an in-out operand counts twice, 30 at most), the
 * x vectors and temporaries ymm12-15. @xt: the tile's x at tap 0; @y, @sk: row 0 of the tile's output
 * and skip bytes (@sk NULL: no residual add). */
#define Q2_PAIR(o, a, b)                                                                               \
  "vpbroadcastd " o "(%[w]), %%ymm14\n\t"                                                              \
  "vpmaddwd %%ymm14, %%ymm12, %%ymm15\n\t"                                                             \
  "vpmaddwd %%ymm14, %%ymm13, %%ymm14\n\t"                                                             \
  "vpaddd %%ymm15, %[" a "], %[" a "]\n\t"                                                             \
  "vpaddd %%ymm14, %[" b "], %[" b "]\n\t"

static inline __attribute__((always_inline)) void q2_tile6(const CpuQConv *q, const int16_t *xt, const int32_t *wb,
                                                           int64_t m, uint8_t *y, const uint8_t *sk, int64_t P,
                                                           int sgn) {
  const int64_t Gc = q->Gc, T = q->T, gsb = q->PS * 2 * (int64_t)sizeof(int16_t);
  const int32_t *corr = q->corr + m;
  __m256i a[6][2];
  for (int r = 0; r < 6; r++) a[r][0] = a[r][1] = _mm256_set1_epi32(corr[r]);
  for (int64_t t = 0; t < T; t++) {
    const int16_t *qx = xt + q->toff[t] * 2;
    const int32_t *qw = wb + t * Gc * 6, *qe = qw + 6 * Gc;
    __asm__("1:\n\t"
            "vmovdqu (%[x]), %%ymm12\n\t"
            "vmovdqu 32(%[x]), %%ymm13\n\t" Q2_PAIR("0", "a00", "a01") Q2_PAIR("4", "a10", "a11")
                Q2_PAIR("8", "a20", "a21") Q2_PAIR("12", "a30", "a31") Q2_PAIR("16", "a40", "a41")
                    Q2_PAIR("20", "a50", "a51") "add %[s], %[x]\n\t"
                                                "add $24, %[w]\n\t"
                                                "cmp %[e], %[w]\n\t"
                                                "jne 1b\n\t"
            : [a00] "+x"(a[0][0]), [a01] "+x"(a[0][1]), [a10] "+x"(a[1][0]), [a11] "+x"(a[1][1]), [a20] "+x"(a[2][0]),
              [a21] "+x"(a[2][1]), [a30] "+x"(a[3][0]), [a31] "+x"(a[3][1]), [a40] "+x"(a[4][0]), [a41] "+x"(a[4][1]),
              [a50] "+x"(a[5][0]), [a51] "+x"(a[5][1]), [x] "+r"(qx), [w] "+r"(qw)
            : [s] "r"(gsb), [e] "r"(qe)
            : "cc", "memory", "xmm12", "xmm13", "xmm14", "xmm15");
  }
  /* the epilogue indexes rows at run time: a copy, so that @a stays in registers through the taps */
  __m256i out[6][2];
  for (int r = 0; r < 6; r++) out[r][0] = a[r][0], out[r][1] = a[r][1];
  q2_store_tile(q, y, sk, P, m, 6, (const __m256i(*)[2])out, 1, sgn);
}
#define DTILE_FAST6 q2_tile6

#define KSUF avx2
#define QKNAME "avx2"
#define KG 2
#define NV 2
#define MR 6
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
#undef DTILE_FAST6

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
