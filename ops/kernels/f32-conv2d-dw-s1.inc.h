/* f32-conv2d-dw-s1.inc.h: KxK (K = 3 or 5) stride-1 dilation-1 depthwise
 * kernel, generic over vector width; included by f32-conv2d-direct.inc.h
 * (same ISA macros).
 *
 * Reads the input plane in place (no row copies): DWS_NR output rows per
 * pass share each loaded input vector (3x3 at NR=6: 8 rows x 3 taps = 24
 * loads feed 54 FMAs; the 9 weights stay in registers, 9 + 6 accumulators
 * + 1 input = all 16 of AVX2's ymm; at NR=4 the 4 chains of 9 dependent
 * FMAs kept it near 1 FMA a cycle; 5x5 at NR=4: 8 x 5 = 40 loads feed 100
 * FMAs, the 25 weights partly from the stack). Rows above/below the image read a zero
 * row (scratch); a vector whose K-tap window crosses the left/right edge
 * uses masked loads (lanes outside the row read as 0 and are never
 * touched). An earlier 3x3 version copied zero-padded windows per row: its
 * loads spanned two stores still in flight (failed store forwarding), and
 * the 2 edge vectors of a 56-wide row cost more than its 5 interior ones.
 * The ring-buffer kernel (depthwise()) ran PP-OCR's 5x5 layers on 2-3 row
 * maps at 15 GFLOP/s: per-plane ring setup and per-row dispatch. */
#define DWS_NR 6 /* rows per pass at most: 3x3 takes 6, 5x5 4 (DWS_NR5) */
#define DWS_NR5 4

/* Row kernels per activation: none, Relu, Clip, HardSwish compiled in;
 * the rest a runtime switch per vector. */
#define DW_NACT 5
static inline int dw_act_index(MscActivation act) {
  switch (act) {
  case MSC_ACT_NONE: return 0;
  case MSC_ACT_RELU: return 1;
  case MSC_ACT_CLIP: return 2;
  case MSC_ACT_HARD_SWISH: return 3;
  default: return 4;
  }
}

/* One vector column of NR output rows at output column ow0; rp[i]: input
 * row i of the pass, already offset to the window start column c0 =
 * ow0 - pl; STRIDED (a pass whose input rows all lie in the image): row i
 * at p + i*W instead, one base and the stride (with the 8 row pointers of
 * rp live GCC spilled them and the accumulators: 476 stack accesses in
 * dws_rows_3_6_relu). MASKED (edge vectors): lanes whose column is
 * outside [0, W) are loaded as zeros; n: output lanes to store (< VL on
 * the last). OW is passed in: output stores may alias *a. */
static ALWAYS_INLINE void dws_vec(const MscDwArgs *a, const float *const *rp, const float *p, int64_t W, int64_t OW,
                                  const vec_t *wv, const vec_t vb, const float *rr, float *yr, int64_t ow0, int64_t n,
                                  const int K, const int NR, const MscActivation ACT, const int MASKED,
                                  const int STRIDED) {
  vec_t acc[DWS_NR];
  vmask_t mk[5];
  if (MASKED) {
    UNROLL for (int j = 0; j < K; j++) {
      const int64_t c = ow0 - a->pl + j; /* column of lane 0 */
      mk[j] = VMASK_RANGE(MIN(MAX(-c, (int64_t) 0), (int64_t) VL), MIN(MAX(a->W - c, (int64_t) 0), (int64_t) VL));
    }
  }
  UNROLL for (int s = 0; s < NR; s++) acc[s] = vb;
  UNROLL for (int i = 0; i < NR + K - 1; i++) {
    const float *row = STRIDED ? p + i * W : rp[i];
    UNROLL for (int j = 0; j < K; j++) {
      const vec_t xv = MASKED ? VLOAD_MASK(row + j, mk[j]) : VLOAD(row + j);
      UNROLL for (int s = 0; s < NR; s++) {
        if (i - s >= 0 && i - s < K)
          acc[s] = VFMA(wv[(i - s) * K + j], xv, acc[s]);
      }
    }
  }
  UNROLL for (int s = 0; s < NR; s++)
    dw_store(a, acc[s], yr + s * OW + ow0, rr ? rr + s * OW + ow0 : NULL, n, ACT);
}

/* NR output rows from oh: the interior vectors straight from x, the
 * edge vectors with masked loads. */
static ALWAYS_INLINE void dws_rows(const MscDwArgs *a, const float *x, const float *zrow, const float *w,
                                   float bias, const float *res, float *y, int64_t oh, int64_t i0, int64_t i1,
                                   const int K, const int NR, const MscActivation ACT) {
  const int64_t W = a->W, H = a->H, OW = a->OW, pl = a->pl;
  vec_t wv[25];
  UNROLL for (int t = 0; t < K * K; t++) wv[t] = VSET1(w[t]);
  const vec_t vb = VSET1(bias);
  const float *rows[DWS_NR + 4];
  UNROLL for (int i = 0; i < NR + K - 1; i++) {
    const int64_t ih = oh - a->pt + i;
    rows[i] = ih >= 0 && ih < H ? x + ih * W : zrow;
  }
  float *yr = y + oh * OW;
  const float *rr = res ? res + oh * OW : NULL;
  const gboolean inside = oh - a->pt >= 0 && oh - a->pt + NR + K - 1 <= H; /* every input row in the image */
  const float *xin = x + (oh - a->pt) * W - pl; /* (the geometry in locals: output stores may alias *a) */
  for (int64_t ow0 = 0; ow0 < OW; ow0 += VL) {
    const float *rp[DWS_NR + 4];
    if (ow0 == i0 && i1 > i0) {
      if (inside)
        for (; ow0 < i1; ow0 += VL)
          dws_vec(a, NULL, xin + ow0, W, OW, wv, vb, rr, yr, ow0, VL, K, NR, ACT, 0, 1);
      for (; ow0 < i1; ow0 += VL) {
        UNROLL for (int i = 0; i < NR + K - 1; i++) rp[i] = rows[i] + ow0 - pl;
        dws_vec(a, rp, NULL, 0, OW, wv, vb, rr, yr, ow0, VL, K, NR, ACT, 0, 0);
      }
      if (ow0 >= OW)
        break;
    }
    const int64_t n = MIN((int64_t) VL, OW - ow0);
    /* rows[i] + ow0 - pl may point before the row: only lanes inside it load */
    UNROLL for (int i = 0; i < NR + K - 1; i++) rp[i] = (const float *) ((uintptr_t) rows[i] + (uintptr_t) ((ow0 - pl) * (int64_t) sizeof(float)));
    dws_vec(a, rp, NULL, 0, OW, wv, vb, rr, yr, ow0, n, K, NR, ACT, 1, 0);
  }
}

/* i0, i1: the interior vectors (msc_dws_layout), the same for every pass */
typedef void (*DwsRowsFn)(const MscDwArgs *a, const float *x, const float *zrow, const float *w, float bias,
                          const float *res, float *y, int64_t oh, int64_t i0, int64_t i1);
#define DWS_FN(K, NR, ACTN, ACT)                                                                                    \
  static __attribute__((noinline)) void dws_rows_##K##_##NR##_##ACTN(const MscDwArgs *a, const float *x,         \
                                                                      const float *zrow, const float *w,          \
                                                                      float bias, const float *res, float *y,     \
                                                                      int64_t oh, int64_t i0, int64_t i1) {       \
    dws_rows(a, x, zrow, w, bias, res, y, oh, i0, i1, K, NR, ACT);                                                  \
  }
#define DWS_ACTS(K, NR)                                                                                             \
  DWS_FN(K, NR, none, MSC_ACT_NONE) DWS_FN(K, NR, relu, MSC_ACT_RELU) DWS_FN(K, NR, clip, MSC_ACT_CLIP)             \
  DWS_FN(K, NR, hswish, MSC_ACT_HARD_SWISH) DWS_FN(K, NR, any, a->act)
DWS_ACTS(3, 1) DWS_ACTS(3, 2) DWS_ACTS(3, 3) DWS_ACTS(3, 4) DWS_ACTS(3, 5) DWS_ACTS(3, 6)
DWS_ACTS(5, 1) DWS_ACTS(5, 2) DWS_ACTS(5, 3) DWS_ACTS(5, 4)
#define DWS_ROW(K, NR)                                                                                              \
  {dws_rows_##K##_##NR##_none, dws_rows_##K##_##NR##_relu, dws_rows_##K##_##NR##_clip, dws_rows_##K##_##NR##_hswish, \
   dws_rows_##K##_##NR##_any}
/* [K == 5][rows - 1][activation] */
static const DwsRowsFn dws_table[2][DWS_NR][DW_NACT] = {
    {DWS_ROW(3, 1), DWS_ROW(3, 2), DWS_ROW(3, 3), DWS_ROW(3, 4), DWS_ROW(3, 5), DWS_ROW(3, 6)},
    {DWS_ROW(5, 1), DWS_ROW(5, 2), DWS_ROW(5, 3), DWS_ROW(5, 4)},
};

/* 3x3 stride 1, pad 1, planes of at most 16 columns (msc_dwf_supported):
 * the row kernel above spends a masked vector pair per row there (14x14:
 * ~1000 cycles per 196-output plane for ~110 of FMAs). Here vectors run
 * along the flattened plane: output o reads o + (i-1) W + (j-1) from a
 * copy of the plane framed by zeros (a zero row above and below, so the
 * top and bottom taps need nothing), and the left / right taps AND their
 * loads with the plan's per-position column masks (a tap crossing a row
 * end would read the neighbouring row's last / first column). A bitwise
 * AND, not a multiply: 0 * inf would be NaN. scratch: DWF_SCRATCH. */
#define DWF_LEAD(W) (VL + (W) + 1) /* zeros before the plane: o - W - 1 >= -DWF_LEAD + VL */
static ALWAYS_INLINE void dw_flat3(const MscDwArgs *a, const float *x, const float *w, float bias, const float *res,
                                   float *y, float *scratch, const MscActivation ACT) {
  const int64_t W = a->W, n = a->H * W, lead = DWF_LEAD(W);
  /* zeros, the plane, zeros up to the last vector's furthest read */
  memset(scratch, 0, sizeof(float) * (size_t) lead);
  memcpy(scratch + lead, x, sizeof(float) * (size_t) n);
  memset(scratch + lead + n, 0, sizeof(float) * (size_t) (a->fnpad - n + W + 1 + VL));
  vec_t wv[9];
  UNROLL for (int t = 0; t < 9; t++) wv[t] = VSET1(w[t]);
  const vec_t vb = VSET1(bias);
  const float *ml = (const float *) a->fmask, *mr = (const float *) (a->fmask + a->fnpad);
  for (int64_t o = 0; o < n; o += VL) {
    const float *p = scratch + lead + o;
    const vec_t kl = VLOAD(ml + o), kr = VLOAD(mr + o);
    vec_t acc0 = vb, acc1 = VZERO(), acc2 = VZERO(); /* one chain per kernel row */
    acc0 = VFMA(wv[0], VAND(VLOAD(p - W - 1), kl), acc0);
    acc0 = VFMA(wv[1], VLOAD(p - W), acc0);
    acc0 = VFMA(wv[2], VAND(VLOAD(p - W + 1), kr), acc0);
    acc1 = VFMA(wv[3], VAND(VLOAD(p - 1), kl), acc1);
    acc1 = VFMA(wv[4], VLOAD(p), acc1);
    acc1 = VFMA(wv[5], VAND(VLOAD(p + 1), kr), acc1);
    acc2 = VFMA(wv[6], VAND(VLOAD(p + W - 1), kl), acc2);
    acc2 = VFMA(wv[7], VLOAD(p + W), acc2);
    acc2 = VFMA(wv[8], VAND(VLOAD(p + W + 1), kr), acc2);
    dw_store(a, VADD(VADD(acc0, acc1), acc2), y + o, res ? res + o : NULL, MIN((int64_t) VL, n - o), ACT);
  }
}

static __attribute__((noinline)) void dw_flat3_any(const MscDwArgs *a, const float *x, const float *w, float bias,
                                                   const float *res, float *y, float *scratch) {
#define DWF_CALL(ACT) dw_flat3(a, x, w, bias, res, y, scratch, ACT)
  ACT_DISPATCH(a->act, DWF_CALL);
#undef DWF_CALL
}

/* One (image, channel) plane of a KxK stride-1 depthwise conv (see
 * msc_dws_supported); scratch: msc_dws_layout()'s ws_floats (the zero row
 * read for rows above and below the image), or the flat kernel's. */
static void dw_s1(const MscDwArgs *a, const float *x, const float *w, float bias, const float *res, float *y,
                  float *scratch) {
  if (a->fmask) {
    dw_flat3_any(a, x, w, bias, res, y, scratch);
    return;
  }
  int64_t i0, i1, ws;
  msc_dws_layout(a->W, a->OW, a->pl, a->kh, VL, &i0, &i1, &ws);
  memset(scratch, 0, sizeof(float) * (size_t) ws);
  const int act = dw_act_index(a->act);
  const DwsRowsFn(*tab)[DW_NACT] = dws_table[a->kh == 5];
  const int nr = a->kh == 5 ? DWS_NR5 : DWS_NR;
  int64_t oh = 0;
  for (; oh + nr <= a->OH; oh += nr)
    tab[nr - 1][act](a, x, scratch, w, bias, res, y, oh, i0, i1);
  if (oh < a->OH)
    tab[a->OH - oh - 1][act](a, x, scratch, w, bias, res, y, oh, i0, i1);
}
