/* f32-conv2d-dw-s2.inc.h: KxK (K = 3 or 5) stride-2 dilation-1 depthwise
 * kernel, generic over vector width; included by f32-conv2d-direct.inc.h
 * (same ISA macros, VEVEN2, VODD2).
 *
 * Reads the input plane in place: output lane l of tap (i, j) needs input
 * column 2*(ow0 + l) - pl + j, the even lanes of the 2*VL floats from
 * column 2*ow0 - pl + j; taps j and j + 1 share those two loads (even and
 * odd lanes: VEVEN2, VODD2; 3x3: 4 loads per input row, not 6). On AVX2
 * each is one vshufps whose lane order the sums keep until VEVEN2_ORDER
 * puts them in place once per output vector. DWS2_NR
 * output rows per pass share the input rows they overlap on (output row s
 * reads input rows 2s .. 2s + K - 1 of the pass). Rows above/below the
 * image read a zero row; vectors whose 2*VL-float windows cross a row end
 * use masked loads (lanes outside the row read as 0, never touched). The
 * ring-buffer kernel (depthwise()) it replaces for these shapes copied and
 * split every input row into column phases first: per-row bookkeeping made
 * MobileNet-style 3x3/2 layers run at 4-10 GFLOP/s. */
#define DWS2_NR 4

/* One vector column of NR output rows at output column ow0; rp[r]: input
 * row r of the pass at column 2*ow0 - pl (may lie before the row when
 * MASKED; only lanes inside the row are loaded). */
static ALWAYS_INLINE void dws2_vec(const MscDwArgs *a, const float *const *rp, const vec_t *wv, const vec_t vb,
                                   const float *rr, float *yr, int64_t ow0, int64_t n, const int K, const int NR,
                                   const MscActivation ACT, const int MASKED) {
  const int64_t OW = a->OW;
  vec_t acc[DWS2_NR];
  vmask_t mlo[5], mhi[5];
  if (MASKED) {
    UNROLL for (int j = 0; j < K; j++) {
      const int64_t c = 2 * ow0 - a->pl + j; /* column of lane 0 of the low half */
      mlo[j] = VMASK_RANGE(MIN(MAX(-c, (int64_t) 0), (int64_t) VL), MIN(MAX(a->W - c, (int64_t) 0), (int64_t) VL));
      mhi[j] = VMASK_RANGE(MIN(MAX(-c - VL, (int64_t) 0), (int64_t) VL),
                           MIN(MAX(a->W - c - VL, (int64_t) 0), (int64_t) VL));
    }
  }
  UNROLL for (int s = 0; s < NR; s++) acc[s] = vb;
  UNROLL for (int r = 0; r < 2 * (NR - 1) + K; r++) {
    /* taps j and j + 1 from the same 2*VL floats: their even and odd lanes */
    UNROLL for (int j = 0; j < K; j += 2) {
      const float *p = (const float *) ((uintptr_t) rp[r] + (uintptr_t) ((int64_t) j * (int64_t) sizeof(float)));
      const float *q = (const float *) ((uintptr_t) p + (uintptr_t) ((int64_t) VL * (int64_t) sizeof(float)));
      const vec_t lo = MASKED ? VLOAD_MASK(p, mlo[j]) : VLOAD(p), hi = MASKED ? VLOAD_MASK(q, mhi[j]) : VLOAD(q);
      const vec_t xe = VEVEN2(lo, hi);
      UNROLL for (int s = 0; s < NR; s++) {
        const int i = r - 2 * s;
        if (i >= 0 && i < K)
          acc[s] = VFMA(wv[i * K + j], xe, acc[s]);
      }
      if (j + 1 < K) {
        const vec_t xo = VODD2(lo, hi);
        UNROLL for (int s = 0; s < NR; s++) {
          const int i = r - 2 * s;
          if (i >= 0 && i < K)
            acc[s] = VFMA(wv[i * K + j + 1], xo, acc[s]);
        }
      }
    }
  }
  UNROLL for (int s = 0; s < NR; s++)
    dw_store(a, VEVEN2_ORDER(acc[s]), yr + s * OW + ow0, rr ? rr + s * OW + ow0 : NULL, n, ACT);
}

/* NR output rows from oh: vectors whose windows lie inside the row
 * ([i0, i1), msc_dws2_layout) with plain loads, the others masked. */
static ALWAYS_INLINE void dws2_rows(const MscDwArgs *a, const float *x, const float *zrow, const float *w,
                                    float bias, const float *res, float *y, int64_t oh, int64_t i0, int64_t i1,
                                    const int K, const int NR, const MscActivation ACT) {
  const int64_t W = a->W, H = a->H, OW = a->OW, pl = a->pl;
  vec_t wv[25];
  UNROLL for (int t = 0; t < K * K; t++) wv[t] = VSET1(w[t]);
  const vec_t vb = VSET1(bias);
  const float *rows[2 * (DWS2_NR - 1) + 5];
  UNROLL for (int r = 0; r < 2 * (NR - 1) + K; r++) {
    const int64_t ih = 2 * oh - a->pt + r;
    rows[r] = ih >= 0 && ih < H ? x + ih * W : zrow;
  }
  float *yr = y + oh * OW;
  const float *rr = res ? res + oh * OW : NULL;
  const float *rp[2 * (DWS2_NR - 1) + 5];
  for (int64_t ow0 = 0; ow0 < OW; ow0 += VL) {
    const int64_t n = MIN((int64_t) VL, OW - ow0);
    /* rows[r] + 2*ow0 - pl may point before the row: only lanes inside it load */
    UNROLL for (int r = 0; r < 2 * (NR - 1) + K; r++) rp[r] = (const float *) ((uintptr_t) rows[r] + (uintptr_t) ((2 * ow0 - pl) * (int64_t) sizeof(float)));
    if (ow0 >= i0 && ow0 < i1)
      dws2_vec(a, rp, wv, vb, rr, yr, ow0, n, K, NR, ACT, 0);
    else
      dws2_vec(a, rp, wv, vb, rr, yr, ow0, n, K, NR, ACT, 1);
  }
}

/* i0, i1: the interior vectors (msc_dws2_layout), the same for every pass */
typedef void (*Dws2RowsFn)(const MscDwArgs *a, const float *x, const float *zrow, const float *w, float bias,
                           const float *res, float *y, int64_t oh, int64_t i0, int64_t i1);
#define DWS2_FN(K, NR, ACTN, ACT)                                                                                   \
  static __attribute__((noinline)) void dws2_rows_##K##_##NR##_##ACTN(const MscDwArgs *a, const float *x,        \
                                                                       const float *zrow, const float *w,         \
                                                                       float bias, const float *res, float *y,    \
                                                                       int64_t oh, int64_t i0, int64_t i1) {      \
    dws2_rows(a, x, zrow, w, bias, res, y, oh, i0, i1, K, NR, ACT);                                                 \
  }
#define DWS2_ACTS(K, NR)                                                                                            \
  DWS2_FN(K, NR, none, MSC_ACT_NONE) DWS2_FN(K, NR, relu, MSC_ACT_RELU) DWS2_FN(K, NR, clip, MSC_ACT_CLIP)          \
  DWS2_FN(K, NR, hswish, MSC_ACT_HARD_SWISH) DWS2_FN(K, NR, any, a->act)
#define DWS2_K(K) DWS2_ACTS(K, 1) DWS2_ACTS(K, 2) DWS2_ACTS(K, 3) DWS2_ACTS(K, 4)
DWS2_K(3)
DWS2_K(5)
#define DWS2_ROW(K, NR)                                                                                             \
  {dws2_rows_##K##_##NR##_none, dws2_rows_##K##_##NR##_relu, dws2_rows_##K##_##NR##_clip,                          \
   dws2_rows_##K##_##NR##_hswish, dws2_rows_##K##_##NR##_any}
/* [K == 5][rows - 1][activation] */
static const Dws2RowsFn dws2_table[2][DWS2_NR][DW_NACT] = {
    {DWS2_ROW(3, 1), DWS2_ROW(3, 2), DWS2_ROW(3, 3), DWS2_ROW(3, 4)},
    {DWS2_ROW(5, 1), DWS2_ROW(5, 2), DWS2_ROW(5, 3), DWS2_ROW(5, 4)},
};

/* One (image, channel) plane of a KxK stride-2 depthwise conv (see
 * msc_dws2_supported); scratch: msc_dws2_layout()'s ws_floats (the zero
 * row). */
static void dw_s2(const MscDwArgs *a, const float *x, const float *w, float bias, const float *res, float *y,
                  float *scratch) {
  int64_t i0, i1, ws;
  msc_dws2_layout(a->W, a->OW, a->pl, a->kh, VL, &i0, &i1, &ws);
  memset(scratch, 0, sizeof(float) * (size_t) ws);
  const int act = dw_act_index(a->act);
  const Dws2RowsFn(*tab)[DW_NACT] = dws2_table[a->kh == 5];
  int64_t oh = 0;
  for (; oh + DWS2_NR <= a->OH; oh += DWS2_NR)
    tab[DWS2_NR - 1][act](a, x, scratch, w, bias, res, y, oh, i0, i1);
  if (oh < a->OH)
    tab[a->OH - oh - 1][act](a, x, scratch, w, bias, res, y, oh, i0, i1);
}
