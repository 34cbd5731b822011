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
/* acc * mult + fb, clamped to [flo, fhi], rounded, + zy: cpu_qrequant on 16 lanes */
static inline __m512i q5_requant(__m512i a, float mult, float fbias, float flo, float fhi, int32_t zy) {
  __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(a), _mm512_set1_ps(mult));
  f = _mm512_add_ps(f, _mm512_set1_ps(fbias));
  f = _mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps(flo)), _mm512_set1_ps(fhi));
  return _mm512_add_epi32(_mm512_cvtps_epi32(f), _mm512_set1_epi32(zy));
}
static inline void q5_store_q(uint8_t *dst, __m512i a, float mult, float fbias, float flo, float fhi, int32_t zy,
                              int sgn, int64_t n) {
  const __m512i i = q5_requant(a, mult, fbias, flo, fhi, zy);
  __m128i b = sgn ? _mm512_cvtsepi32_epi8(i) : _mm512_cvtusepi32_epi8(i);
  _mm_mask_storeu_epi8(dst, (__mmask16)((1u << n) - 1u), b);
}
/* The conv's requantized value (q5_store_q's operations) and the residual add of the skip bytes @sk on
 * it (cpu_qvadd1's operations, as the 256-bit q2_store_tile_f does them), @n <= 16 bytes stored: the
 * add in registers, not a cpu_qvadd_span call per vector of every tile (which made a conv with a fused
 * add 2x slower than the same conv without, M-LSD on an AVX512-VNNI Xeon). The conv's byte value is
 * clamped to [lo, hi] as a byte of its own would be; the sum saturates to the add's output type. */
static inline void q5_store_qadd(const CpuQConv *q, uint8_t *dst, const uint8_t *sk, __m512i a, int64_t oc,
                                 int64_t n) {
  const CpuQVAdd *va = q->d.vadd;
  const int side = q->d.vside;
  const __mmask16 k = (__mmask16)((1u << n) - 1u);
  const __m512i v = q5_requant(a, q->mult[oc], q->fbias[oc], q->flo, q->fhi, q->d.zy);
  __m512 fa = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v, _mm512_set1_epi32(va->vz[side]))),
                            _mm512_set1_ps(va->vs[side]));
  const __m128i s8 = _mm_maskz_loadu_epi8(k, sk);
  const __m512i si = va->adt[!side] == MSC_DTYPE_INT8 ? _mm512_cvtepi8_epi32(s8) : _mm512_cvtepu8_epi32(s8);
  __m512 fb = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(si, _mm512_set1_epi32(va->vz[!side]))),
                            _mm512_set1_ps(va->vs[!side]));
  __asm__("" : "+v"(fa), "+v"(fb));
  __m512 sum = _mm512_add_ps(fa, fb);
  if (va->vrelu) sum = _mm512_max_ps(sum, _mm512_setzero_ps());
  const __m512 sy = _mm512_set1_ps(va->vsy);
  __m512 r;
  if (va->vdivfree) {
    const __m512 inv = _mm512_set1_ps(va->vinv);
    __m512 q0 = _mm512_mul_ps(sum, inv);
    __asm__("" : "+v"(q0));
    r = _mm512_fmadd_ps(_mm512_fnmadd_ps(q0, sy, sum), inv, q0);
  } else {
    r = _mm512_div_ps(sum, sy);
  }
  if (!va->vnoclamp)
    r = _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(-1048576.0f)), _mm512_set1_ps(1048576.0f));
  const __m512i o = _mm512_add_epi32(_mm512_cvtps_epi32(r), _mm512_set1_epi32(va->vzy));
  const __m128i b = va->ydt == MSC_DTYPE_INT8 ? _mm512_cvtsepi32_epi8(o)
                                               : _mm512_cvtusepi32_epi8(_mm512_max_epi32(o, _mm512_setzero_si512()));
  _mm_mask_storeu_epi8(dst, k, b);
}
/* The residual-add epilogue of a tile's @rows channels (row r at @y + r * P, its skip bytes at @sk + r * P):
 * vector v at offset 16 v, all 16 lanes (@k NULL), or at @off[v] with the lanes of @k[v] compressed. */
static inline __attribute__((always_inline)) void q5_qadd_rows(const CpuQConv *q, uint8_t *y, const uint8_t *sk,
                                                               int64_t P, int64_t m, int rows, const __m512i (*a)[3],
                                                               int ci, const int64_t *off, const __mmask16 *k) {
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < 3; v++) {
      if (k && !k[v]) continue;
      __m512i acc = ci ? a[r][v] : _mm512_add_epi32(a[r][v], _mm512_set1_epi32(q->corr[m + r]));
      if (k) acc = _mm512_maskz_compress_epi32(k[v], acc);
      const int64_t o = r * P + (off ? off[v] : 16 * v);
      q5_store_qadd(q, y + o, sk + o, acc, m + r, k ? __builtin_popcount(k[v]) : 16);
    }
}

/* The epilogue constants of a tile (q5_store_rows). */
typedef struct {
  __m512 flo, fhi;
  __m512i vz;
  __m128i bl, bh;
  int fast, nofb, bclamp, pack3;
} Q5Epi;

static inline __attribute__((always_inline)) Q5Epi q5_epi(const CpuQConv *q, int sgn) {
  Q5Epi e;
  e.flo = _mm512_set1_ps(q->flo), e.fhi = _mm512_set1_ps(q->fhi);
  e.vz = _mm512_set1_epi32(q->d.zy);
  e.bl = _mm_set1_epi8((char)q->d.lo), e.bh = _mm_set1_epi8((char)q->d.hi);
  e.fast = q->qfast, e.nofb = q->qnofb;
  /* fast: the byte clamp only where [lo, hi] is narrower than the type (a Relu / Relu6 range) */
  e.bclamp = e.fast && (sgn ? q->d.lo > -128 || q->d.hi < 127 : q->d.lo > 0 || q->d.hi < 255);
  e.pack3 = q->pack3;
  return e;
}

/* Accumulator vector @a (+ @vc unless @ci) * vm (+ vb), clamped unless fast, rounded, + zy: int32 lanes. */
static inline __attribute__((always_inline)) __m512i q5_lanes(const Q5Epi *e, __m512i a, __m512i vc, __m512 vm,
                                                              __m512 vb, int ci) {
  __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(ci ? a : _mm512_add_epi32(a, vc)), vm);
  if (!e->nofb) f = _mm512_add_ps(f, vb); /* + 0.0f changes nothing the rounding can see */
  if (!e->fast) f = _mm512_min_ps(_mm512_max_ps(f, e->flo), e->fhi);
  return _mm512_add_epi32(_mm512_cvtps_epi32(f), e->vz);
}

/* int32 lanes to saturated bytes (and the byte clamp when fast). */
static inline __attribute__((always_inline)) __m128i q5_bytes(const Q5Epi *e, __m512i i, int sgn) {
  __m128i b;
  if (sgn) {
    b = _mm512_cvtsepi32_epi8(i);
    if (e->bclamp) b = _mm_min_epi8(_mm_max_epi8(b, e->bl), e->bh);
  } else {
    b = _mm512_cvtusepi32_epi8(_mm512_max_epi32(i, _mm512_setzero_si512()));
    if (e->bclamp) b = _mm_min_epu8(_mm_max_epu8(b, e->bl), e->bh);
  }
  return b;
}

/* The three int32 vectors of a tile row (positions 0-15, 16-31, 32-47) as 48 saturated bytes in order (and
 * the byte clamp when fast): two int32 -> int16 packs, one int16 -> int8 pack (each saturating: the same
 * clamp to the type as the per-vector narrowing) and one dword permute, 4 shuffles instead of 3 maxes and
 * 3 two-uop narrowing moves. */
static inline __attribute__((always_inline)) __m512i q5_pack3(const Q5Epi *e, __m512i i0, __m512i i1, __m512i i2,
                                                              int sgn) {
  const __m512i w01 = _mm512_packs_epi32(i0, i1), w22 = _mm512_packs_epi32(i2, i2);
  __m512i b = sgn ? _mm512_packs_epi16(w01, w22) : _mm512_packus_epi16(w01, w22);
  /* 128-bit lane k holds dwords (i0 group k, i1 group k, i2 group k, i2 group k) */
  b = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), b);
  if (e->bclamp) {
    const __m512i lo = _mm512_broadcast_i32x4(e->bl), hi = _mm512_broadcast_i32x4(e->bh);
    b = sgn ? _mm512_min_epi8(_mm512_max_epi8(b, lo), hi) : _mm512_min_epu8(_mm512_max_epu8(b, lo), hi);
  }
  return b;
}

/* The epilogue of @rows channels x 3 vectors, row r at @y + r * P (and its skip bytes at @sk + r * P when
 * the residual add is fused): per channel acc (+ corr), * mult (+ fb), clamped, rounded, + zy, saturated,
 * as q5_store_q does it per vector, with the constants in registers and no per-vector branch (the generic
 * epilogue's run-time tests, the reloads after every byte store and its masks cost more than the
 * products of a 1x1 conv with 16 input channels). Vector v goes to offset 16 v, all 16 lanes (@k NULL:
 * a whole tile, a row's three vectors narrowed together when pack3), or to @off[v] with the lanes of
 * @k[v] compressed (vpcompressd; every step is lane-wise, so compressing first changes no byte). When
 * q->qfast (|mult| < 1/4, |fb| < 2^29: nothing overflows) the clamp is made on the bytes after rounding,
 * the same bytes (lo - zy, hi - zy are integers and rounding is monotone), as the 256-bit tile does. */
static inline __attribute__((always_inline)) void q5_store_rows(const CpuQConv *q, uint8_t *y, const uint8_t *sk,
                                                                int64_t P, int64_t m, int rows,
                                                                const __m512i (*a)[3], int ci, int sgn,
                                                                const int64_t *off, const __mmask16 *k) {
  if (sk) {
    q5_qadd_rows(q, y, sk, P, m, rows, a, ci, off, k);
    return;
  }
  const Q5Epi e = q5_epi(q, sgn);
  const float *mult = q->mult + m, *fbias = q->fbias + m;
  const int32_t *corr = q->corr + m;
  for (int r = 0; r < rows; r++) {
    const __m512 vm = _mm512_set1_ps(mult[r]), vb = _mm512_set1_ps(fbias[r]);
    const __m512i vc = _mm512_set1_epi32(ci ? 0 : corr[r]);
    uint8_t *yr = y + r * P;
    if (!k && e.pack3) {
      const __m512i b = q5_pack3(&e, q5_lanes(&e, a[r][0], vc, vm, vb, ci), q5_lanes(&e, a[r][1], vc, vm, vb, ci),
                                 q5_lanes(&e, a[r][2], vc, vm, vb, ci), sgn);
      _mm512_mask_storeu_epi8(yr, (__mmask64)0xFFFFFFFFFFFFull, b);
      continue;
    }
    for (int v = 0; v < 3; v++) {
      if (k && !k[v]) continue;
      __m512i i = q5_lanes(&e, a[r][v], vc, vm, vb, ci);
      if (k) {
        i = _mm512_maskz_compress_epi32(k[v], i);
        _mm_mask_storeu_epi8(yr + off[v], (__mmask16)((1u << __builtin_popcount(k[v])) - 1u), q5_bytes(&e, i, sgn));
      } else {
        _mm_storeu_si128((__m128i *)(void *)(yr + 16 * v), q5_bytes(&e, i, sgn));
      }
    }
  }
}

/* A tile of positions f0.. across output row ends (padded rows of PWs positions, OW of them stored):
 * per vector the lanes of stored columns (q->cmask by the vector's first column, and none past the last
 * position), stored compressed at their output offset: the stored positions of a vector are consecutive
 * in the NCHW output, whatever rows they belong to. The same bytes as the row-buffer path
 * (MSC_INT8_COMPRESS=0), without the buffers and the per-row segment copies. @y, @sk: the image's output
 * / skip at channel 0. */
static inline __attribute__((always_inline)) void q5_store_split(const CpuQConv *q, uint8_t *y, const uint8_t *sk,
                                                                 int64_t f0, int64_t m, int rows,
                                                                 const __m512i (*a)[3], int ci, int sgn) {
  const int64_t PWs = q->PWs, OW = q->OW, P = q->P, nf = q->nf;
  int64_t off[3];
  __mmask16 k[3];
  int64_t h = f0 / PWs, c = f0 - h * PWs;
  for (int v = 0; v < 3; v++) {
    if (v)
      for (c += 16; c >= PWs; c -= PWs) h++;
    const int64_t n = nf - (f0 + 16 * v);
    __mmask16 mk = n <= 0 ? 0 : q->cmask[c];
    if (n > 0 && n < 16) mk &= (__mmask16)((1u << n) - 1u);
    k[v] = mk;
    off[v] = h * OW + (c < OW ? c : OW);
  }
  q5_store_rows(q, y + m * P, sk ? sk + m * P : NULL, P, m, rows, a, ci, sgn, off, k);
}
#define STORE_I32 q5_store_i32
#define STORE_Q q5_store_q
#define STORE_QADD q5_store_qadd
/* a whole tile (an output row segment or a row buffer) */
#define STORE_QTILE(q, y, sk, P, m, rows, a, ci, sgn) q5_store_rows(q, y, sk, P, m, rows, a, ci, sgn, NULL, NULL)
#define QTILE_FULL_DIRECT
#define STORE_QSPLIT q5_store_split
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
