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
/* The conv's requantized value (q5_store_q's operations) and the residual add of the skip bytes @s8 on
 * it (cpu_qvadd1's operations, as the 256-bit q2_store_tile_f does them): the 16 result bytes. The add
 * in registers, not a cpu_qvadd_span call per vector of every tile (which made a conv with a fused add
 * 2x slower than the same conv without, M-LSD on an AVX512-VNNI Xeon). The conv's byte value is clamped
 * to [lo, hi] as a byte of its own would be; the sum saturates to the add's output type. */
static inline __m128i q5_qadd_bytes(const CpuQConv *q, __m512i a, __m128i s8, int64_t oc) {
  const CpuQVAdd *va = q->d.vadd;
  const int side = q->d.vside;
  const __m512i v = q5_requant(a, q->mult[oc], q->fbias[oc], q->flo, q->fhi, q->d.zy);
  __m512 fa = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v, _mm512_set1_epi32(va->vz[side]))),
                            _mm512_set1_ps(va->vs[side]));
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
  return va->ydt == MSC_DTYPE_INT8 ? _mm512_cvtsepi32_epi8(o)
                                   : _mm512_cvtusepi32_epi8(_mm512_max_epi32(o, _mm512_setzero_si512()));
}
/* q5_qadd_bytes on the @n <= 16 skip bytes at @sk, stored at @dst */
static inline void q5_store_qadd(const CpuQConv *q, uint8_t *dst, const uint8_t *sk, __m512i a, int64_t oc,
                                 int64_t n) {
  const __mmask16 k = (__mmask16)((1u << n) - 1u);
  _mm_mask_storeu_epi8(dst, k, q5_qadd_bytes(q, a, _mm_maskz_loadu_epi8(k, sk), oc));
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

#define Q5_RUNS 8
/* The stored runs of a tile of 48 positions: run j takes the tile's bytes k[j] (consecutive positions of
 * one output row) to the output offsets at[j] + (byte index in the tile). */
typedef struct {
  int n;
  int64_t at[Q5_RUNS];
  __mmask64 k[Q5_RUNS];
} Q5Runs;

/* Masked byte store of the tile row @b by the runs @rs at @y (no byte outside a run's mask is written, and
 * a masked store touches no memory through masked-out bytes: the address at[j] before a run's first
 * byte may lie before the buffer). */
static inline __attribute__((always_inline)) void q5_store_runs(uint8_t *y, __m512i b, const Q5Runs *rs) {
  for (int j = 0; j < rs->n; j++) _mm512_mask_storeu_epi8((void *)((uintptr_t)y + (uintptr_t)rs->at[j]), rs->k[j], b);
}

/* q5_store_rows' requantization of @rows channels x 48 positions (no residual add) with the flags of @e: an
 * always-inlined body, so that a call with constant flags (the common set) has no per-vector test. */
static inline __attribute__((always_inline)) void q5_rows_q(uint8_t *y, int64_t P, const float *mult, const float *fbias,
                                                            const int32_t *corr, int rows, const __m512i (*a)[3],
                                                            int ci, int sgn, const Q5Runs *rs, const Q5Epi *ep) {
  const Q5Epi e = *ep;
  for (int r = 0; r < rows; r++) {
    const __m512 vm = _mm512_set1_ps(mult[r]), vb = _mm512_set1_ps(fbias[r]);
    const __m512i vc = _mm512_set1_epi32(ci ? 0 : corr[r]);
    __m512i b;
    if (e.pack3) {
      b = q5_pack3(&e, q5_lanes(&e, a[r][0], vc, vm, vb, ci), q5_lanes(&e, a[r][1], vc, vm, vb, ci),
                   q5_lanes(&e, a[r][2], vc, vm, vb, ci), sgn);
    } else {
      b = _mm512_castsi128_si512(q5_bytes(&e, q5_lanes(&e, a[r][0], vc, vm, vb, ci), sgn));
      b = _mm512_inserti32x4(b, q5_bytes(&e, q5_lanes(&e, a[r][1], vc, vm, vb, ci), sgn), 1);
      b = _mm512_inserti32x4(b, q5_bytes(&e, q5_lanes(&e, a[r][2], vc, vm, vb, ci), sgn), 2);
    }
    q5_store_runs(y + r * P, b, rs);
  }
}

/* The epilogue of @rows channels x 3 vectors (48 positions), channel r's output at @y + r * P (and its skip
 * bytes at @sk + r * P when the residual add is fused), stored by the runs @rs: per channel acc (+ corr),
 * * mult (+ fb), clamped, rounded, + zy, saturated, as q5_store_q does it per vector, with the constants in
 * registers and no per-vector branch (the generic epilogue's run-time tests, the reloads after every byte
 * store and its masks cost more than the products of a 1x1 conv with 16 input channels); the row's 48
 * bytes narrowed together when pack3. Every step is lane-wise, so the lanes of dropped positions (past a
 * row's end) are computed and not stored. When q->qfast (|mult| < 1/4, |fb| < 2^29: nothing overflows)
 * the clamp is made on the bytes after rounding, the same bytes (lo - zy, hi - zy are integers and rounding
 * is monotone), as the 256-bit tile does. */
static inline __attribute__((always_inline)) void q5_store_rows(const CpuQConv *q, uint8_t *y, const uint8_t *sk,
                                                                int64_t P, int64_t m, int rows,
                                                                const __m512i (*a)[3], int ci, int sgn,
                                                                const Q5Runs *rs) {
  const float *mult = q->mult + m, *fbias = q->fbias + m;
  const int32_t *corr = q->corr + m;
  if (sk) {
    for (int r = 0; r < rows; r++) {
      __m512i s = _mm512_setzero_si512();
      for (int j = 0; j < rs->n; j++)
        s = _mm512_mask_loadu_epi8(s, rs->k[j], (const void *)((uintptr_t)(sk + r * P) + (uintptr_t)rs->at[j]));
      const __m512i vc = _mm512_set1_epi32(ci ? 0 : corr[r]); /* (immediate lane indices: no loop over v) */
      __m512i b = _mm512_castsi128_si512(q5_qadd_bytes(q, _mm512_add_epi32(a[r][0], vc), _mm512_castsi512_si128(s), m + r));
      b = _mm512_inserti32x4(b, q5_qadd_bytes(q, _mm512_add_epi32(a[r][1], vc), _mm512_extracti32x4_epi32(s, 1), m + r), 1);
      b = _mm512_inserti32x4(b, q5_qadd_bytes(q, _mm512_add_epi32(a[r][2], vc), _mm512_extracti32x4_epi32(s, 2), m + r), 2);
      q5_store_runs(y + r * P, b, rs);
    }
    return;
  }
  Q5Epi e = q5_epi(q, sgn);
  if (q->qspec && ci && !sgn && e.fast && e.nofb && e.pack3) { /* the common set, its flags as constants */
    e.fast = 1, e.nofb = 1, e.pack3 = 1;
    q5_rows_q(y, P, mult, fbias, corr, rows, a, 1, 0, rs, &e);
  } else {
    q5_rows_q(y, P, mult, fbias, corr, rows, a, ci, sgn, rs, &e);
  }
}

/* A whole tile at @y (one output row segment, or a row buffer): one run of 48 bytes */
static inline __attribute__((always_inline)) void q5_store_tile(const CpuQConv *q, uint8_t *y, const uint8_t *sk,
                                                                int64_t P, int64_t m, int rows,
                                                                const __m512i (*a)[3], int ci, int sgn) {
  const Q5Runs rs = {1, {0}, {(__mmask64)0xFFFFFFFFFFFFull}};
  q5_store_rows(q, y, sk, P, m, rows, a, ci, sgn, &rs);
}

/* A tile of positions f0.. across output row ends (padded rows of PWs positions, OW of them stored, nf in
 * all): the runs of its stored positions (one per output row it touches), each a masked store of the
 * tile row's bytes at that row's offset, the residual add's skip bytes gathered by the same masks; the
 * same bytes as the row buffers (MSC_INT8_RUNS=0), without them and their per-row copies. Returns 0 (the
 * caller's row buffers) for rows of fewer than 48 / (Q5_RUNS - 1) padded positions. @y, @sk: the image's
 * output / skip at channel 0. */
static inline __attribute__((always_inline)) int q5_store_split(const CpuQConv *q, uint8_t *y, const uint8_t *sk,
                                                                int64_t f0, int64_t m, int rows,
                                                                const __m512i (*a)[3], int ci, int sgn) {
  const int64_t PWs = q->PWs, OW = q->OW, end = MIN((int64_t)48, q->nf - f0);
  Q5Runs rs;
  rs.n = 0;
  int64_t h = f0 / PWs, c = f0 - h * PWs;
  for (int64_t p = 0; p < end; p += PWs - c, c = 0, h++) { /* p: the tile byte of column c of row h */
    if (c >= OW) continue;
    if (rs.n == Q5_RUNS) return 0;
    const int64_t len = MIN(OW - c, end - p);
    rs.k[rs.n] = (__mmask64)((((uint64_t)1 << len) - 1) << p);
    rs.at[rs.n++] = h * OW + c - p;
  }
  q5_store_rows(q, y + m * q->P, sk ? sk + m * q->P : NULL, q->P, m, rows, a, ci, sgn, &rs);
  return 1;
}
#define STORE_I32 q5_store_i32
#define STORE_Q q5_store_q
#define STORE_QADD q5_store_qadd
/* a whole tile (an output row segment or a row buffer) */
#define STORE_QTILE q5_store_tile
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
