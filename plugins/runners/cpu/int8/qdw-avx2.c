/* qdw-avx2.c: row-wise AVX2 depthwise kernel for 3x3 and 5x5 int8 convs
 * (stride 1 or 2 per axis, dilation 1), used by the 256-bit kernels
 * (avx2, avx2-u7, avxvnni, and the 512-bit avx512, avx512vnni) instead of cpu_qdw_avx2 when the geometry fits.
 *
 * Exact through float FMAs, as cpu_qdw_avx2: the channel's padded plane is
 * held as floats x - zx (padding 0.0), split into the sw column phases
 * (phase p holds padded columns p, p + sw, ...), rows kept whole (a row
 * stride sh is a row step). Each output row is computed in blocks of 32
 * (then 8) columns: accumulators start at the bias, one FMA per tap with
 * the broadcast weight w - zw reading the phase plane directly (no flat
 * position trick, no dropped columns, no copy-out: bytes are stored
 * straight into the output row). Every product is an integer with
 * |p| <= 255 * |w|, so when |bias| + sum_t |w_t| * max|x - zx| <= 2^24
 * (checked per channel; else that channel takes cpu_qdw_avx2) every partial
 * sum is an exactly represented integer and the float result is the exact
 * acc + bias, requantized as the integer kernels do (bit-identical).
 * The workspace plane is zeroed once per task (channel range); channels
 * only overwrite its interior, so the padding stays 0.0. */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "qconv.h"

#define DWR_AI static inline __attribute__((always_inline))
/* rows of more output columns than this take qdw-avx512.c on the AVX-512 int8 kernels (q->dw512):
 * int8-layers --ab MSC_INT8_DW512, 512 / 256-bit time: BlazeFace 3x3 72@16 0.76, MobileNetV2 384@14 1.10
 * (16-lane vectors over 14-column rows) */
#define DW512_MIN_OW 15

/* Plane geometry: sw column phases of PH rows x RS floats. */
typedef struct {
  int64_t PH, RS, ncols;
} DwGeo;

/* TRUE when the channels of @q run qdw-avx512.c's kernel (the plane then has its 64-column geometry) */
static inline int dw512_takes(const CpuQConv *q) {
  return q->dw512 && q->d.sw == 1 && q->OW > DW512_MIN_OW;
}

static DwGeo dwr_geo(const CpuQConv *q) {
  const CpuQConvDesc *d = &q->d;
  DwGeo g;
  /* 32-column blocks stay in the row; qdw-avx512.c's 64-column blocks where it runs */
  const int wide = dw512_takes(q);
  int64_t PW = d->W + d->pl + d->pr, owr = wide ? (q->OW + 63) / 64 * 64 : (q->OW + 31) / 32 * 32;
  g.PH = d->H + d->pt + d->pb;
  g.ncols = (PW + d->sw - 1) / d->sw;
  /* qdw-avx512.c reads 16 floats past a block, from 64-byte aligned rows */
  g.RS = MAX(g.ncols, owr + MAX((d->kw - 1) / d->sw, wide ? (int64_t)16 : 0));
  g.RS = wide ? (g.RS + 15) / 16 * 16 : (g.RS + 7) / 8 * 8;
  return g;
}

gboolean cpu_qdw_rows_fits(const CpuQConvDesc *d) {
  return d->kh == d->kw && (d->kh == 3 || d->kh == 5) && d->dh == 1 && d->dw == 1 && (d->sh == 1 || d->sh == 2) &&
         (d->sw == 1 || d->sw == 2) && d->ydt != MSC_DTYPE_INT32 && d->C == d->group;
}

/* The byte plane of the 3x3 stride-2 pair kernel: BH rows x BW bytes, image pixel (ih, iw) at
 * (ih + pt, iw + pl), zx around it; BW covers the reads of 16-output steps up to OW rounded to 16. */
static void dwb_geo(const CpuQConv *q, int64_t *BH, int64_t *BW) {
  *BH = 2 * (q->OH - 1) + 3;
  *BW = ((2 * ((q->OW + 15) / 16 * 16) + 34) + 31) / 32 * 32;
  *BW = MAX(*BW, (q->d.W + q->d.pl + 31) / 32 * 32);
}

size_t cpu_qdw_rows_ws(const CpuQConv *q) {
  DwGeo g = dwr_geo(q);
  int64_t BH, BW;
  dwb_geo(q, &BH, &BW);
  return MAX((size_t)(q->d.sw * g.PH * g.RS) * sizeof(float), (size_t)(BH * BW)) + 64;
}

/* Input plane @x (H x W bytes) into the phase planes' interior as x - zx. */
static void dwr_load_plane(const CpuQConv *q, const DwGeo *g, const uint8_t *x, float *pl) {
  const CpuQConvDesc *d = &q->d;
  const int64_t W = d->W, sw = d->sw, PHRS = g->PH * g->RS;
  const int sgn = d->xdt == MSC_DTYPE_INT8;
  const int32_t zx = d->zx;
  const __m256i vzx = _mm256_set1_epi32(zx);
  /* stride 2: first input column whose padded column is even, then pairs */
  const int64_t iw0 = sw == 2 ? (d->pl & 1) : 0;
  const __m128i eo = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  for (int64_t ih = 0; ih < d->H; ih++) {
    const uint8_t *src = x + ih * W;
    float *row = pl + (ih + d->pt) * g->RS;
    if (sw == 1) {
      float *o = row + d->pl;
      int64_t u = 0;
      /* 8 columns at a time; a last block short of 8 overlaps the one before (the same values written
       * twice), so no scalar tail (a 14-column row had 6 scalar conversions: 45% of this function on
       * MobileNetV2's 3x3 384 @ 14x14) */
      for (int64_t e = W >= 8 ? W : 0; u < e; u += 8) {
        if (u + 8 > W) u = W - 8;
        __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(src + u));
        __m256i v = sgn ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
        _mm256_storeu_ps(o + u, _mm256_cvtepi32_ps(_mm256_sub_epi32(v, vzx)));
      }
      if (sgn)
        for (; u < W; u++) o[u] = (float)((int8_t)src[u] - zx);
      else
        for (; u < W; u++) o[u] = (float)(src[u] - zx);
      continue;
    }
    if (q->dws2blk && W >= 16) {
      /* 16 input columns per block from any column: the bytes at even offsets go to the phase of
       * (iw + pl), the odd ones to the other; the last block overlaps the one before (the same values
       * written twice), so no scalar tail (BlazeFace's 16- and 32-column rows had 15 of them) */
      for (int64_t iw = 0;; iw += 16) {
        if (iw + 16 > W) iw = W - 16;
        const int64_t pc = iw + d->pl;
        __m128i b = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(src + iw)), eo);
        __m256i ve = sgn ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
        __m128i bh = _mm_unpackhi_epi64(b, b);
        __m256i vo = sgn ? _mm256_cvtepi8_epi32(bh) : _mm256_cvtepu8_epi32(bh);
        _mm256_storeu_ps(row + (pc & 1) * PHRS + pc / 2, _mm256_cvtepi32_ps(_mm256_sub_epi32(ve, vzx)));
        _mm256_storeu_ps(row + ((pc + 1) & 1) * PHRS + (pc + 1) / 2, _mm256_cvtepi32_ps(_mm256_sub_epi32(vo, vzx)));
        if (iw + 16 >= W) break;
      }
      continue;
    }
    for (int64_t iw = 0; iw < iw0 && iw < W; iw++) { /* odd padded column */
      int64_t pc = iw + d->pl;
      row[PHRS + pc / 2] = (float)((sgn ? (int32_t)(int8_t)src[iw] : (int32_t)src[iw]) - zx);
    }
    int64_t iw = iw0;
    float *e = row + (iw0 + d->pl) / 2, *od = row + PHRS + (iw0 + d->pl) / 2;
    for (; iw + 16 <= W; iw += 16, e += 8, od += 8) {
      __m128i b = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(src + iw)), eo);
      __m256i ve = sgn ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
      __m128i bh = _mm_unpackhi_epi64(b, b);
      __m256i vo = sgn ? _mm256_cvtepi8_epi32(bh) : _mm256_cvtepu8_epi32(bh);
      _mm256_storeu_ps(e, _mm256_cvtepi32_ps(_mm256_sub_epi32(ve, vzx)));
      _mm256_storeu_ps(od, _mm256_cvtepi32_ps(_mm256_sub_epi32(vo, vzx)));
    }
    for (; iw < W; iw++) {
      int64_t pc = iw + d->pl;
      row[(pc & 1) * PHRS + pc / 2] = (float)((sgn ? (int32_t)(int8_t)src[iw] : (int32_t)src[iw]) - zx);
    }
  }
}

/* Byte clamp of the fast requantization. */
typedef struct {
  __m256i blo, bhi;
  int fast;
} DwClamp;

/* The 32 bytes of two packs (lanes in vpack order: 0 4 1 5 2 6 3 7 by dword) put in order and
 * stored at @y, @n (< 32: through a stack copy) of them. */
static inline void store_bytes32(uint8_t *y, __m256i b, int64_t n) {
  b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  if (n >= 32) {
    _mm256_storeu_si256((__m256i *)(void *)y, b);
  } else {
    uint8_t t[32];
    _mm256_storeu_si256((__m256i *)(void *)t, b);
    cpu_qseg_bytes(y, t, n); /* no memcpy call for the row ends */
  }
}

/* The requantization of one accumulator vector (exact acc + bias as floats): * mult, + fb (kept
 * apart: never contracted into an FMA; + 0.0 changes no result, so skipped without a float bias),
 * clamped to [lo - zy, hi - zy], rounded half to even (cvtps2dq), + zy in int32. */
DWR_AI __m256i dwr_requant1(__m256 acc, const __m256 vm, const __m256 vfb, int hasfb, const __m256 lo,
                            const __m256 hi, const __m256i zy) {
  __m256 t = _mm256_mul_ps(acc, vm);
  __asm__("" : "+x"(t)); /* never contracted with the bias add */
  if (hasfb) t = _mm256_add_ps(t, vfb);
  t = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(t), zy);
}

/* Requantized bytes of 4 accumulator vectors, in vpack order (store_bytes32 puts them in order). */
DWR_AI __m256i dwr_pack4(const __m256 *acc, const __m256 vm, const __m256 vfb, int hasfb, const __m256 lo,
                         const __m256 hi, const __m256i zy, int osgn, const DwClamp bl) {
  __m256i q[4];
  if (bl.fast) {
    /* |acc * mult + fb| < 2^30: round, + zy in int32, saturating packs, then the byte clamp: the same
     * bytes as clamping in float first (lo - zy, hi - zy are integers; rounding is monotone) */
    for (int v = 0; v < 4; v++) {
      __m256 t = _mm256_mul_ps(acc[v], vm);
      __asm__("" : "+x"(t));
      if (hasfb) t = _mm256_add_ps(t, vfb);
      q[v] = _mm256_add_epi32(_mm256_cvtps_epi32(t), zy);
    }
    __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
    __m256i b = osgn ? _mm256_packs_epi16(p01, p23) : _mm256_packus_epi16(p01, p23);
    return osgn ? _mm256_min_epi8(_mm256_max_epi8(b, bl.blo), bl.bhi) : _mm256_min_epu8(_mm256_max_epu8(b, bl.blo), bl.bhi);
  }
  for (int v = 0; v < 4; v++) q[v] = dwr_requant1(acc[v], vm, vfb, hasfb, lo, hi, zy);
  __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
  return osgn ? _mm256_packs_epi16(p01, p23) : _mm256_packus_epi16(p01, p23);
}

/* Short rows (OW <= 16, BlazeFace's 16x16 and 8x8 planes): a tile of 4 vectors over NR = 4 / CV output
 * rows x CV vectors (8 columns each) from row @oh, so that every tile has 4 independent FMA chains (one
 * vector per row left the 9-FMA chain's latency exposed). Every vector has the taps of the one-row
 * kernel in the same order from the same bias (all K kernel rows: those reading padding add exact
 * zeros), so the same bytes. Row r of the tile gets bytes [8 * CV * r, + min(8 * CV, OW)). */
DWR_AI void dwr_tile_rows(const float *pl, int64_t RS, int64_t PHRS, int64_t oh, int64_t sh, const __m256 *wv,
                          __m256 bias, const int K, const int SW, const int CV, const __m256 vm, const __m256 vfb,
                          int hasfb, const __m256 lo, const __m256 hi, const __m256i zy, int osgn, const DwClamp bl,
                          uint8_t *y, int64_t OW) {
  __m256 acc[4];
  for (int v = 0; v < 4; v++) acc[v] = bias;
  for (int i = 0; i < K; i++)
    for (int j = 0; j < K; j++) {
      const __m256 w = wv[i * K + j];
      for (int v = 0; v < 4; v++) {
        const float *s = pl + ((oh + v / CV) * sh + i) * RS + 8 * (v % CV) + (j % SW) * PHRS + j / SW;
        acc[v] = _mm256_fmadd_ps(_mm256_loadu_ps(s), w, acc[v]);
      }
    }
  __m256i b = _mm256_permutevar8x32_epi32(dwr_pack4(acc, vm, vfb, hasfb, lo, hi, zy, osgn, bl),
                                          _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  uint8_t t[32];
  _mm256_storeu_si256((__m256i *)(void *)t, b);
  const int64_t n = MIN(OW, (int64_t)(8 * CV));
  if (n == 8 * CV) /* full rows: constant-size copies (plain stores) */
    for (int r = 0; r < 4 / CV; r++) memcpy(y + (oh + r) * OW, t + 8 * CV * r, (size_t)(8 * CV));
  else
    for (int r = 0; r < 4 / CV; r++) cpu_qseg_bytes(y + (oh + r) * OW, t + 8 * CV * r, n);
}

/* 8 * NV outputs of one row from @r (row pointers of the K taps' rows,
 * already at column ow; phase p at + p * PHRS), stored at @y (n valid). */
DWR_AI void dwr_block(const float *const *r, int64_t PHRS, const __m256 *wv, __m256 bias, const int KH, const int K,
              const int SW, const int NV, const __m256 vm, const __m256 vfb, int hasfb, const __m256 lo,
              const __m256 hi, const __m256i zy, int osgn, const DwClamp bl, uint8_t *y, int64_t n) {
  __m256 acc[4];
  for (int v = 0; v < NV; v++) acc[v] = bias;
  for (int i = 0; i < KH; i++)
    for (int j = 0; j < K; j++) {
      const float *s = r[i] + (j % SW) * PHRS + j / SW;
      const __m256 w = wv[i * K + j];
      for (int v = 0; v < NV; v++) acc[v] = _mm256_fmadd_ps(_mm256_loadu_ps(s + 8 * v), w, acc[v]);
    }
  if (NV == 4) {
    store_bytes32(y, dwr_pack4(acc, vm, vfb, hasfb, lo, hi, zy, osgn, bl), n);
    return;
  }
  __m256i q[4];
  for (int v = 0; v < NV; v++) q[v] = dwr_requant1(acc[v], vm, vfb, hasfb, lo, hi, zy);
  for (int v = 0; v < NV; v++) {
    __m128i s16 = _mm_packs_epi32(_mm256_castsi256_si128(q[v]), _mm256_extracti128_si256(q[v], 1));
    __m128i b = osgn ? _mm_packs_epi16(s16, s16) : _mm_packus_epi16(s16, s16);
    int64_t m = n - 8 * v;
    if (m >= 8) {
      _mm_storel_epi64((__m128i *)(void *)(y + 8 * v), b);
    } else if (m > 0) {
      uint8_t t[16];
      _mm_storeu_si128((__m128i *)(void *)t, b);
      cpu_qseg_bytes(y + 8 * v, t, m);
    }
  }
}

/* 3x3, rows of more than 24 columns: two output rows (oh, oh + 1) x 32 columns from @ow (the last tile of a
 * row partly past its end: those columns are read from the plane's row padding and not stored), 8 accumulators
 * (the one-row block's 4 chains of 9 dependent FMAs left the FMA units half idle). Each vector has the
 * one-row kernel's taps in the same order from the same bias (all 3 kernel rows: rows of padding add
 * exact zeros), requantized by dwr_pack4: the same bytes. */
DWR_AI void dwr_tile_wide(const float *pl, int64_t RS, int64_t PHRS, int64_t oh, int64_t ow, int64_t sh,
                          const __m256 *wv, __m256 bias, const int SW, const __m256 vm, const __m256 vfb, int hasfb,
                          const __m256 lo, const __m256 hi, const __m256i zy, int osgn, const DwClamp bl, uint8_t *y,
                          int64_t OW) {
  __m256 acc[8];
  for (int v = 0; v < 8; v++) acc[v] = bias;
  const float *r0 = pl + oh * sh * RS + ow, *r1 = pl + (oh + 1) * sh * RS + ow;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      const __m256 w = wv[i * 3 + j];
      const float *s0 = r0 + i * RS + (j % SW) * PHRS + j / SW, *s1 = r1 + i * RS + (j % SW) * PHRS + j / SW;
      for (int v = 0; v < 4; v++) acc[v] = _mm256_fmadd_ps(_mm256_loadu_ps(s0 + 8 * v), w, acc[v]);
      for (int v = 0; v < 4; v++) acc[4 + v] = _mm256_fmadd_ps(_mm256_loadu_ps(s1 + 8 * v), w, acc[4 + v]);
    }
  store_bytes32(y + oh * OW + ow, dwr_pack4(acc, vm, vfb, hasfb, lo, hi, zy, osgn, bl), OW - ow);
  store_bytes32(y + (oh + 1) * OW + ow, dwr_pack4(acc + 4, vm, vfb, hasfb, lo, hi, zy, osgn, bl), OW - ow);
}

/* 3x3 stride 1: six output rows (oh..oh + 5) x 8 columns from @ow. Each input vector (8 rows x 3 taps:
 * 24 loads) feeds every output row that uses it (54 FMAs): 6 accumulators + 9 weights + the input are
 * the 16 ymm registers. The one- and two-row tiles load one vector per FMA, which bounded them by the
 * load ports (MobileNetV2's 144@56: 0.68-0.73x time; at stride 2, 39 loads for the 54 FMAs measured
 * 1.3x slower than the two-row tiles, so those keep stride 2). Every partial sum is an exact integer
 * (dwr_channel's check), so the tap order changes no result: the same bytes. Columns past OW (the
 * plane's row padding) are not stored. */
DWR_AI void dwr_tile_col6(const float *pl, int64_t RS, int64_t oh, int64_t ow, const __m256 *wv, __m256 bias,
                          const __m256 vm, const __m256 vfb, int hasfb, const __m256 lo, const __m256 hi,
                          const __m256i zy, int osgn, const DwClamp bl, uint8_t *y, int64_t OW) {
  __m256 acc[6];
  for (int s = 0; s < 6; s++) acc[s] = bias;
  const float *r0 = pl + oh * RS + ow;
#pragma GCC unroll 8 /* fully: the row tests below must be compile-time */
  for (int i = 0; i < 8; i++)
#pragma GCC unroll 3
    for (int j = 0; j < 3; j++) {
      const __m256 xv = _mm256_loadu_ps(r0 + i * RS + j);
#pragma GCC unroll 6
      for (int s = 0; s < 6; s++)
        if (i - s >= 0 && i - s < 3) acc[s] = _mm256_fmadd_ps(wv[(i - s) * 3 + j], xv, acc[s]);
    }
  const __m256 hi2[4] = {acc[4], acc[5], acc[4], acc[5]};
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  /* rows 0-3 in b0, rows 4-5 in b1's low half: 8 bytes each, in order */
  const __m256i b0 = _mm256_permutevar8x32_epi32(dwr_pack4(acc, vm, vfb, hasfb, lo, hi, zy, osgn, bl), perm);
  const __m256i b1 = _mm256_permutevar8x32_epi32(dwr_pack4(hi2, vm, vfb, hasfb, lo, hi, zy, osgn, bl), perm);
  uint8_t *yo = y + oh * OW + ow;
  if (OW - ow >= 8) {
    const __m128i q0 = _mm256_castsi256_si128(b0), q1 = _mm256_extracti128_si256(b0, 1), q2 = _mm256_castsi256_si128(b1);
    /* 8-byte stores through _mm_storel_epi64 (an unaligned type; _mm_storeh_pd stores a double, which
     * UBSan rightly flags at odd addresses) */
    _mm_storel_epi64((__m128i *)(void *)yo, q0);
    _mm_storel_epi64((__m128i *)(void *)(yo + OW), _mm_unpackhi_epi64(q0, q0));
    _mm_storel_epi64((__m128i *)(void *)(yo + 2 * OW), q1);
    _mm_storel_epi64((__m128i *)(void *)(yo + 3 * OW), _mm_unpackhi_epi64(q1, q1));
    _mm_storel_epi64((__m128i *)(void *)(yo + 4 * OW), q2);
    _mm_storel_epi64((__m128i *)(void *)(yo + 5 * OW), _mm_unpackhi_epi64(q2, q2));
    return;
  }
  uint8_t t[64]; /* the row ends: row s at bytes [8 s, 8 s + 8) */
  _mm256_storeu_si256((__m256i *)(void *)t, b0);
  _mm256_storeu_si256((__m256i *)(void *)(t + 32), b1);
  for (int s = 0; s < 6; s++) cpu_qseg_bytes(yo + s * OW, t + 8 * s, OW - ow);
}

/* Channel @oc's requantized values stay below 2^30 for any exact sum (|acc| <= 2^24): the byte clamp
 * after rounding gives the float clamp's bytes (DwClamp.fast). */
static inline int dwr_fast(const CpuQConv *q, int64_t oc) {
  return fabsf(q->mult[oc]) * 16777216.0f + fabsf(q->fbias[oc]) < 1073741824.0f;
}

/* The common requantization of a channel (dwr_spec): no float bias, uint8 out, the fast clamp. */
static inline int dwr_spec(const CpuQConv *q, int64_t oc) {
  return q->dwspec && q->fbias[oc] == 0.0f && q->d.ydt == MSC_DTYPE_UINT8 && dwr_fast(q, oc);
}

/* @spec: the channel passed dwr_spec, and its flags are compile-time constants (each a compare and
 * branch per tile otherwise: perm on BlazeFace's 3x3 24 @ 64x64 showed them around the requantization) */
DWR_AI void dwr_channel(const CpuQConv *q, const DwGeo *g, const float *pl, const int16_t *wt, float bias, int64_t oc,
                uint8_t *y, const int K, const int SW, const int spec) {
  const CpuQConvDesc *d = &q->d;
  const int64_t OH = q->OH, OW = q->OW, RS = g->RS, PHRS = g->PH * g->RS, sh = d->sh;
  const __m256 vb = _mm256_set1_ps(bias), vm = _mm256_set1_ps(q->mult[oc]), vfb = _mm256_set1_ps(q->fbias[oc]);
  const int hasfb = spec ? 0 : q->fbias[oc] != 0.0f; /* + 0.0 changes no result */
  const __m256 lo = _mm256_set1_ps(q->flo), hi = _mm256_set1_ps(q->fhi);
  const __m256i zy = _mm256_set1_epi32(d->zy);
  const int osgn = spec ? 0 : d->ydt == MSC_DTYPE_INT8;
  DwClamp bl = {_mm256_set1_epi8((char)d->lo), _mm256_set1_epi8((char)d->hi),
                spec || dwr_fast(q, oc)};
  /* the broadcast weights made here, from the int16 ones: kept in registers (the byte stores below alias
   * everything else); copying a prebuilt array was a `rep movsq` costing a quarter of an 8x8 channel */
  __m256 w[25];
  for (int t = 0; t < K * K; t++) w[t] = _mm256_set1_ps((float)wt[t]);
  const int64_t pt = d->pt, H = d->H;
  int64_t oh = 0;
  if (q->dwmrow && OW <= 16) {
    if (OW > 8)
      for (; oh + 2 <= OH; oh += 2) dwr_tile_rows(pl, RS, PHRS, oh, sh, w, vb, K, SW, 2, vm, vfb, hasfb, lo, hi, zy, osgn, bl, y, OW);
    else
      for (; oh + 4 <= OH; oh += 4) dwr_tile_rows(pl, RS, PHRS, oh, sh, w, vb, K, SW, 1, vm, vfb, hasfb, lo, hi, zy, osgn, bl, y, OW);
  }
  if (q->dwcol6 && K == 3 && SW == 1 && sh == 1 && OW > 16) /* six rows at a time while six are left */
    for (; oh + 6 <= OH; oh += 6)
      for (int64_t ow = 0; ow < OW; ow += 8)
        dwr_tile_col6(pl, RS, oh, ow, w, vb, vm, vfb, hasfb, lo, hi, zy, osgn, bl, y, OW);
  /* 3x3 rows of 25+ columns: pairs of rows in 32-column tiles of 8 accumulators across the whole row
   * (the last tile stored in part); the rows below then start at owide (= past the row) */
  const int wide = q->dwwide && K == 3 && OW > 24;
  int64_t pair_end = -1, owide = 0;
  for (; oh < OH; oh++) {
    int64_t ow = 0;
    if (wide && oh >= pair_end && oh + 1 < OH) {
      for (owide = 0; owide < OW; owide += 32) /* the last tile partly past the row: stored in part */
        dwr_tile_wide(pl, RS, PHRS, oh, owide, sh, w, vb, SW, vm, vfb, hasfb, lo, hi, zy, osgn, bl, y, OW);
      pair_end = oh + 2;
    }
    if (oh < pair_end) ow = owide;
    /* kernel rows i0..i1 - 1 read image rows; the others read only padding (0.0): their products are
     * zeros, adding them changes no sum, so they are skipped (short planes: PP-OCR's 5x5 on 2-3 rows
     * read 2-3 of 5 rows) */
    int i0 = (int)MAX((int64_t)0, pt - oh * sh), i1 = (int)MIN((int64_t)K, pt + H - oh * sh);
    if (!q->dwskip) i0 = 0, i1 = K;
    if (i1 <= i0) i0 = 0, i1 = 1; /* no image row (all padding): one zero row gives bias-only sums */
    const float *r[5];
    for (int i = i0; i < i1; i++) r[i - i0] = pl + (oh * sh + i) * RS;
    const __m256 *wr = w + i0 * K;
    uint8_t *yr = y + oh * OW;
#define DWR_ROWS(NV_)                                                                                      \
  do {                                                                                                     \
    const float *rr[5];                                                                                    \
    for (int i = 0; i < i1 - i0; i++) rr[i] = r[i] + ow;                                                   \
    switch (i1 - i0) {                                                                                     \
    case 1: dwr_block(rr, PHRS, wr, vb, 1, K, SW, NV_, vm, vfb, hasfb, lo, hi, zy, osgn, bl, yr + ow, OW - ow); break; \
    case 2: dwr_block(rr, PHRS, wr, vb, 2, K, SW, NV_, vm, vfb, hasfb, lo, hi, zy, osgn, bl, yr + ow, OW - ow); break; \
    case 3: dwr_block(rr, PHRS, wr, vb, 3, K, SW, NV_, vm, vfb, hasfb, lo, hi, zy, osgn, bl, yr + ow, OW - ow); break; \
    case 4: dwr_block(rr, PHRS, wr, vb, 4 < K ? 4 : K, K, SW, NV_, vm, vfb, hasfb, lo, hi, zy, osgn, bl, yr + ow, OW - ow); break; \
    default: dwr_block(rr, PHRS, wr, vb, K, K, SW, NV_, vm, vfb, hasfb, lo, hi, zy, osgn, bl, yr + ow, OW - ow); break; \
    }                                                                                                      \
  } while (0)
    /* 32-column blocks; the last one 4, 2 or 1 vectors as the columns left need (stored in part): single
     * vectors were 3 per 56-column row, each a 9-FMA latency chain and a requantization of its own */
    for (; ow < OW; ow += 32) {
      if (OW - ow > 16) DWR_ROWS(4);
      else if (OW - ow > 8) DWR_ROWS(2);
      else DWR_ROWS(1);
    }
#undef DWR_ROWS
  }
}

#define CHANNEL_FN(K, SW)                                                                                         \
  static __attribute__((noinline)) void channel_##K##_##SW(const CpuQConv *q, const DwGeo *g, const float *pl, \
                                                           const int16_t *wt, float bias, int64_t oc, uint8_t *y) { \
    if (dwr_spec(q, oc)) dwr_channel(q, g, pl, wt, bias, oc, y, K, SW, 1);                                          \
    else dwr_channel(q, g, pl, wt, bias, oc, y, K, SW, 0);                                                            \
  }
CHANNEL_FN(3, 1)
CHANNEL_FN(3, 2)
CHANNEL_FN(5, 1)
CHANNEL_FN(5, 2)

/* 3x3 stride 2 straight from the bytes: with the plane zx-padded, output column ow reads plane columns
 * 2 ow .. 2 ow + 2, so the taps (0, 1) of a kernel row are the natural byte pair 2 ow, 2 ow + 1
 * (vpmovzxbw of 16 bytes: the pairs of 8 outputs) and tap 2 the low byte of the pair one further on
 * (weight pair (w2, 0)): per kernel row two vpmaddwd per 8 outputs, 6 against the float kernel's 9 FMAs,
 * and no float plane (whose stride-2 split cost as much as the FMAs). acc = corr + sum w * x (raw x,
 * padding zx: corr = bias - zx * sum w) in int32, exact for any operands (|pair| <= 2 * 255 * 255);
 * requantized as the integer kernels: (float)acc * mult (+ fb), clamped, rounded, + zy. */
static void dwb_load_plane(const CpuQConv *q, const uint8_t *x, uint8_t *bp, int64_t BH, int64_t BW) {
  const CpuQConvDesc *d = &q->d;
  const int64_t W = d->W, pl = d->pl;
  const __m256i vz = _mm256_set1_epi8((char)d->zx);
  for (int64_t r = 0; r < BH; r++) { /* BW is a multiple of 32: zx rows, then each image row over them */
    uint8_t *row = bp + r * BW;
    for (int64_t c = 0; c < BW; c += 32) _mm256_storeu_si256((__m256i *)(void *)(row + c), vz);
    const int64_t ih = r - d->pt;
    if (ih < 0 || ih >= d->H) continue;
    cpu_qseg_bytes(row + pl, x + ih * W, W); /* inlined 16-byte and overlapping copies, no memcpy call */
  }
}

static __attribute__((noinline)) void dwb_channel_3s2(const CpuQConv *q, const uint8_t *bp, int64_t BW,
                                                      const int16_t *wt, int64_t oc, uint8_t *y) {
  const CpuQConvDesc *d = &q->d;
  const int64_t OH = q->OH, OW = q->OW;
  const int sgn = d->xdt == MSC_DTYPE_INT8, osgn = d->ydt == MSC_DTYPE_INT8;
  __m256i wa[3], wb[3];
  for (int i = 0; i < 3; i++) {
    wa[i] = _mm256_set1_epi32((int32_t)(((uint32_t)(uint16_t)wt[3 * i + 1] << 16) | (uint16_t)wt[3 * i]));
    wb[i] = _mm256_set1_epi32((int32_t)(uint16_t)wt[3 * i + 2]);
  }
  const __m256i vc = _mm256_set1_epi32(q->corr[oc]), zy = _mm256_set1_epi32(d->zy);
  const __m256 vm = _mm256_set1_ps(q->mult[oc]), vfb = _mm256_set1_ps(q->fbias[oc]);
  const int hasfb = q->fbias[oc] != 0.0f;
  const __m256 lo = _mm256_set1_ps(q->flo), hi = _mm256_set1_ps(q->fhi);
#define DWB_PAIRS(p) (sgn ? _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(p))) \
                          : _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(p))))
  for (int64_t oh = 0; oh < OH; oh++) {
    const uint8_t *r0 = bp + 2 * oh * BW;
    uint8_t *yr = y + oh * OW;
    for (int64_t ow = 0; ow < OW; ow += 16) {
      const int half = OW - ow <= 8; /* the row's last 8 or fewer outputs: one vector */
      __m256i a0 = vc, a1 = vc, b0 = _mm256_setzero_si256(), b1 = b0;
      for (int i = 0; i < 3; i++) {
        const uint8_t *p = r0 + i * BW + 2 * ow;
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(DWB_PAIRS(p), wa[i]));
        b0 = _mm256_add_epi32(b0, _mm256_madd_epi16(DWB_PAIRS(p + 2), wb[i]));
        if (half) continue;
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(DWB_PAIRS(p + 16), wa[i]));
        b1 = _mm256_add_epi32(b1, _mm256_madd_epi16(DWB_PAIRS(p + 18), wb[i]));
      }
      const __m256i q0 = dwr_requant1(_mm256_cvtepi32_ps(_mm256_add_epi32(a0, b0)), vm, vfb, hasfb, lo, hi, zy);
      const __m256i q1 = half ? q0 : dwr_requant1(_mm256_cvtepi32_ps(_mm256_add_epi32(a1, b1)), vm, vfb, hasfb, lo, hi, zy);
      const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8); /* q0's 8, q1's 8 */
      const __m256i b8 = osgn ? _mm256_packs_epi16(w16, w16) : _mm256_packus_epi16(w16, w16);
      const __m128i o16 = _mm256_castsi256_si128(_mm256_permute4x64_epi64(b8, 0x08));
      if (OW - ow >= 16) {
        _mm_storeu_si128((__m128i *)(void *)(yr + ow), o16);
      } else {
        uint8_t t[16];
        _mm_storeu_si128((__m128i *)(void *)t, o16);
        cpu_qseg_bytes(yr + ow, t, OW - ow);
      }
    }
  }
#undef DWB_PAIRS
}

void cpu_qdw_rows_avx2(const CpuQConv *q, const uint8_t *x, int64_t oc0, int64_t oc1, uint8_t *y, void *ws) {
  const CpuQConvDesc *d = &q->d;
  const DwGeo g = dwr_geo(q);
  const int64_t T = q->T, P = q->P, HW = d->H * d->W;
  float *pl = (float *)(void *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
  const size_t plane_bytes = (size_t)(d->sw * g.PH * g.RS) * sizeof(float);
  const int sgn = d->xdt == MSC_DTYPE_INT8;
  const int64_t xmax = sgn ? MAX(127 - d->zx, d->zx + 128) : MAX(255 - d->zx, d->zx);
  int zeroed = 0;
  int64_t loaded = -1;
  if (q->dwb3s2 && d->kh == 3 && d->sh == 2 && d->sw == 2) { /* the byte-pair kernel: any weights, exact */
    int64_t BH, BW;
    dwb_geo(q, &BH, &BW);
    uint8_t *bp = (uint8_t *)pl;
    for (int64_t oc = oc0; oc < oc1; oc++) {
      const int64_t cin = oc / q->Mg;
      uint8_t *yc = y + oc * P;
      if (loaded != cin) dwb_load_plane(q, x + cin * HW, bp, BH, BW), loaded = cin;
      if (q->dwb512) cpu_qdwb_channel_3s2_avx512(q, bp, BW, q->wd + oc * T, oc, yc);
      else dwb_channel_3s2(q, bp, BW, q->wd + oc * T, oc, yc);
      if (d->post) cpu_qlut_rows(d->post, yc, 1, P, P);
    }
    return;
  }
  for (int64_t oc = oc0; oc < oc1; oc++) {
    const int16_t *wt = q->wd + oc * T;
    int64_t wsum = 0, wabs = 0;
    for (int64_t t = 0; t < T; t++) wsum += wt[t], wabs += wt[t] < 0 ? -wt[t] : wt[t];
    const int64_t bias = (int64_t)q->corr[oc] + (int64_t)d->zx * wsum; /* corr = bias - zx * sum w */
    const int64_t cin = oc / q->Mg;
    uint8_t *yc = y + oc * P;
    if ((bias < 0 ? -bias : bias) + wabs * xmax > (1 << 24)) { /* sums could pass 2^24: the general kernel */
      cpu_qdw_avx2(q, x + cin * HW, oc, yc, ws);
      zeroed = 0, loaded = -1;
      continue;
    }
    if (!zeroed) memset(pl, 0, plane_bytes), zeroed = 1;
    if (loaded != cin) {
      if (q->dw512 && d->sw == 1 && d->W >= 16) cpu_qdw_load_plane_avx512(q, g.RS, x + cin * HW, pl);
      else dwr_load_plane(q, &g, x + cin * HW, pl);
      loaded = cin;
    }
    if (dw512_takes(q)) cpu_qdw_channel_avx512(q, pl, g.RS, wt, (float)bias, oc, yc);
    else if (d->kh == 3) (d->sw == 1 ? channel_3_1 : channel_3_2)(q, &g, pl, wt, (float)bias, oc, yc);
    else (d->sw == 1 ? channel_5_1 : channel_5_2)(q, &g, pl, wt, (float)bias, oc, yc);
    if (d->post) cpu_qlut_rows(d->post, yc, 1, P, P);
  }
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
