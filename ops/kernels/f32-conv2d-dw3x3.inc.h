/* f32-conv2d-dw3x3.inc.h: 3x3 stride-1 dilation-1 depthwise kernel, generic
 * over vector width; included by f32-conv2d-direct.inc.h (same ISA macros).
 *
 * Reads the input plane in place (no row copies): DW3_NR output rows per
 * pass share each loaded input vector (NR+2 rows x 3 taps = 18 loads feed
 * 36 FMAs at NR=4), the 9 weights stay in registers (9 + NR accumulators +
 * 1 input = 14 of AVX2's 16). Rows above/below the image read a zero row
 * (scratch); the first/last vector of a row, whose 3-tap window crosses the
 * left/right edge, uses masked loads (lanes outside the row read as 0 and
 * are never touched). An earlier version copied zero-padded windows per
 * row: its loads spanned two stores still in flight (failed store
 * forwarding), and the 2 edge vectors of a 56-wide row cost more than its
 * 5 interior ones. */
#define DW3_NR 4

/* One vector column of NR output rows at output column ow0; rp[i]: input
 * row i of the pass, already offset to the window start column c0 =
 * ow0 - pl. MASKED (edge vectors): lanes whose column is outside [0, W)
 * are loaded as zeros. */
static ALWAYS_INLINE void dw3_vec(const MscDwArgs *a, const float *const *rp, const vec_t *wv, const vec_t vb,
                                  const float *rr, float *yr, int64_t ow0, int64_t n, const int NR,
                                  const MscActivation ACT, const int MASKED) {
  const int64_t OW = a->OW;
  vec_t acc[DW3_NR];
  vmask_t mk[3];
  if (MASKED) {
    UNROLL for (int j = 0; j < 3; j++) {
      const int64_t c = ow0 - a->pl + j; /* column of lane 0 */
      mk[j] = VMASK_RANGE(MIN(MAX(-c, (int64_t) 0), (int64_t) VL), MIN(MAX(a->W - c, (int64_t) 0), (int64_t) VL));
    }
  }
  UNROLL for (int s = 0; s < NR; s++) acc[s] = vb;
  UNROLL for (int i = 0; i < NR + 2; i++) {
    UNROLL for (int j = 0; j < 3; j++) {
      const vec_t xv = MASKED ? VLOAD_MASK(rp[i] + j, mk[j]) : VLOAD(rp[i] + j);
      UNROLL for (int s = 0; s < NR; s++) {
        if (i - s >= 0 && i - s < 3)
          acc[s] = VFMA(wv[(i - s) * 3 + j], xv, acc[s]);
      }
    }
  }
  UNROLL for (int s = 0; s < NR; s++) {
    float *yo = yr + s * OW + ow0;
    const float *ro = rr ? rr + s * OW + ow0 : NULL;
    vec_t v = acc[s];
    if (n == VL) {
      if (ro)
        v = VADD(v, VLOAD(ro));
      VSTORE(yo, act_vec(v, ACT, a->act_a, a->act_b));
    } else {
      float t[VL];
      if (ro) {
        memset(t, 0, sizeof t);
        memcpy(t, ro, sizeof(float) * (size_t) n);
        v = VADD(v, VLOAD(t));
      }
      VSTORE(t, act_vec(v, ACT, a->act_a, a->act_b));
      memcpy(yo, t, sizeof(float) * (size_t) n);
    }
  }
}

/* NR output rows from oh: the interior vectors straight from x, the
 * edge vectors with masked loads. */
static ALWAYS_INLINE void dw3_rows(const MscDwArgs *a, const float *x, const float *zrow, const float *w,
                                   float bias, const float *res, float *y, int64_t oh, const int NR,
                                   const MscActivation ACT) {
  const int64_t W = a->W, H = a->H, OW = a->OW, pl = a->pl;
  vec_t wv[9];
  UNROLL for (int t = 0; t < 9; t++) wv[t] = VSET1(w[t]);
  const vec_t vb = VSET1(bias);
  const float *rows[DW3_NR + 2];
  UNROLL for (int i = 0; i < NR + 2; i++) {
    const int64_t ih = oh - a->pt + i;
    rows[i] = ih >= 0 && ih < H ? x + ih * W : zrow;
  }
  float *yr = y + oh * OW;
  const float *rr = res ? res + oh * OW : NULL;
  int64_t i0, i1, ws;
  msc_dw3_layout(H, W, OW, pl, VL, &i0, &i1, &ws);
  for (int64_t ow0 = 0; ow0 < OW; ow0 += VL) {
    const float *rp[DW3_NR + 2];
    if (ow0 == i0 && i1 > i0) {
      for (; ow0 < i1; ow0 += VL) {
        UNROLL for (int i = 0; i < NR + 2; i++) rp[i] = rows[i] + ow0 - pl;
        dw3_vec(a, rp, wv, vb, rr, yr, ow0, VL, NR, ACT, 0);
      }
      if (ow0 >= OW)
        break;
    }
    const int64_t n = MIN((int64_t) VL, OW - ow0);
    /* rows[i] + ow0 - pl may point before the row: only lanes inside it load */
    UNROLL for (int i = 0; i < NR + 2; i++) rp[i] = (const float *) ((uintptr_t) rows[i] + (uintptr_t) ((ow0 - pl) * (int64_t) sizeof(float)));
    dw3_vec(a, rp, wv, vb, rr, yr, ow0, n, NR, ACT, 1);
  }
}

typedef void (*Dw3RowsFn)(const MscDwArgs *a, const float *x, const float *zrow, const float *w, float bias,
                          const float *res, float *y, int64_t oh);
#define DW3_FN(NR, ACTN, ACT)                                                                                       \
  static __attribute__((noinline)) void dw3_rows_##NR##_##ACTN(const MscDwArgs *a, const float *x,               \
                                                                const float *zrow, const float *w, float bias,   \
                                                                const float *res, float *y, int64_t oh) {        \
    dw3_rows(a, x, zrow, w, bias, res, y, oh, NR, ACT);                                                             \
  }
#define DW3_ACTS(NR)                                                                                                \
  DW3_FN(NR, none, MSC_ACT_NONE) DW3_FN(NR, relu, MSC_ACT_RELU) DW3_FN(NR, clip, MSC_ACT_CLIP)                      \
  DW3_FN(NR, any, a->act)
DW3_ACTS(1)
DW3_ACTS(2)
DW3_ACTS(3)
DW3_ACTS(4)
#define DW3_ROW(NR) {dw3_rows_##NR##_none, dw3_rows_##NR##_relu, dw3_rows_##NR##_clip, dw3_rows_##NR##_any}
static const Dw3RowsFn dw3_table[DW3_NR][4] = {DW3_ROW(1), DW3_ROW(2), DW3_ROW(3), DW3_ROW(4)};

/* One (image, channel) plane; scratch: msc_dw3_layout()'s ws_floats (the
 * zero row read for rows above and below the image). */
static void dw3x3s1(const MscDwArgs *a, const float *x, const float *w, float bias, const float *res, float *y,
                    float *scratch) {
  memset(scratch, 0, sizeof(float) * (size_t) MAX(a->W, (int64_t) (2 * VL + 2)));
  const int act = a->act == MSC_ACT_NONE ? 0 : a->act == MSC_ACT_RELU ? 1 : a->act == MSC_ACT_CLIP ? 2 : 3;
  int64_t oh = 0;
  for (; oh + DW3_NR <= a->OH; oh += DW3_NR)
    dw3_table[DW3_NR - 1][act](a, x, scratch, w, bias, res, y, oh);
  if (oh < a->OH)
    dw3_table[a->OH - oh - 1][act](a, x, scratch, w, bias, res, y, oh);
}
