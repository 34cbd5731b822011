/* f32-conv2d-winograd.inc.h: Winograd F(4,3) block kernel, generic over
 * vector width. Included by f32-conv2d-direct.inc.h (same ISA macros, same
 * act_vec/act_scalar); optional per-ISA macros:
 *   VINTERLEAVE4(b0..b3, o0..o3)  o_k[i] = b_(i%4)[2k*VL/8...]: 4 vectors of
 *                                 tile columns -> 4*VL contiguous outputs
 * Without it the interleave goes through a small buffer.
 *
 * Transforms (Toom-Cook, Lavin & Gray) on the points 0, +-1/2, +-2 and
 * infinity: V = B^T d B, U = G g G^T, Y = A^T M A with
 *   B^T = [1 0 -17/4 0 1 0; 0 -2 -4 1/2 1 0; 0 2 -4 -1/2 1 0;
 *          0 -1/2 -1/4 2 1 0; 0 1/2 -1/4 -2 1 0; 0 1 0 -17/4 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1/2 -1/2 2 -2 0; 0 1/4 1/4 4 4 0;
 *          0 1/8 -1/8 8 -8 1]
 * Every coefficient is exact in binary. Against the usual points 0, +-1,
 * +-2 the float32 result's error is 1.5x lower (rms) and 2-3x lower (max)
 * on random data (C = 32..128, a float32 simulation of both, 3200 tiles):
 * the 58 chained 3x3 convs of DenseNet-121 stay within tolerance with
 * Winograd on their 28x28 layers too.
 * (U is computed at plan creation, in conv2d-plan.c). Tiles are the lanes. */

/* Pads and 4x4-phase-splits one input plane [H][W] into dst (16 planes of
 * `plane` floats, rows of TWq; the caller zeroed dst): padded (r, c) goes
 * to phase (r%4, c%4), grid row r/4, column c/4 (< TWq; rows < nrows). */
static void wino_pack(const float *src, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t TWq, int64_t plane,
                      int64_t nrows, float *dst) {
  const int64_t iw0 = (4 - pl % 4) % 4; /* first column of phase 0 */
  for (int64_t ih = 0; ih < H; ih++) {
    const int64_t pr = ih + pt, rq = pr / 4;
    if (rq >= nrows)
      break;
    const float *srow = src + ih * W;
    float *drow = dst + (pr % 4) * 4 * plane + rq * TWq;
    int64_t iw = 0;
    for (; iw < MIN(iw0, W); iw++) {
      const int64_t pc = iw + pl;
      if (pc / 4 < TWq)
        drow[(pc % 4) * plane + pc / 4] = srow[iw];
    }
#ifdef VDEINTERLEAVE4
    for (; iw + 4 * VL <= W && (iw + pl) / 4 + VL <= TWq; iw += 4 * VL) {
      const int64_t q = (iw + pl) / 4;
      vec_t p0, p1, p2, p3;
      VDEINTERLEAVE4(srow + iw, p0, p1, p2, p3);
      VSTORE(drow + q, p0);
      VSTORE(drow + plane + q, p1);
      VSTORE(drow + 2 * plane + q, p2);
      VSTORE(drow + 3 * plane + q, p3);
    }
#endif
    for (; iw < W; iw++) {
      const int64_t pc = iw + pl;
      if (pc / 4 < TWq)
        drow[(pc % 4) * plane + pc / 4] = srow[iw];
    }
  }
}

/* 1-D input transform: 6 -> 6 (B^T above: even and odd parts of the
 * +-1/2 and +-2 rows). */
static ALWAYS_INLINE void wino_bt(const vec_t d0, const vec_t d1, const vec_t d2, const vec_t d3, const vec_t d4,
                                  const vec_t d5, vec_t *o) {
  const vec_t m4 = VSET1(-4.0f), m17 = VSET1(-4.25f), mq = VSET1(-0.25f), h = VSET1(0.5f), p2 = VSET1(2.0f);
  const vec_t t1 = VFMA(m4, d2, d4);                  /* d4 - 4 d2 */
  const vec_t t2 = VFMA(h, d3, VMUL(VSET1(-2.0f), d1)); /* d3/2 - 2 d1 */
  const vec_t t3 = VFMA(mq, d2, d4);                  /* d4 - d2/4 */
  const vec_t t4 = VFMA(p2, d3, VMUL(VSET1(-0.5f), d1)); /* 2 d3 - d1/2 */
  o[0] = VADD(d0, VFMA(m17, d2, d4));
  o[1] = VADD(t1, t2);
  o[2] = VSUB(t1, t2);
  o[3] = VADD(t3, t4);
  o[4] = VSUB(t3, t4);
  o[5] = VADD(d1, VFMA(m17, d3, d5));
}

/* 1-D output transform: 6 -> 4 (A^T above). */
static ALWAYS_INLINE void wino_at(const vec_t m0, const vec_t m1, const vec_t m2, const vec_t m3, const vec_t m4,
                                  const vec_t m5, vec_t *o) {
  const vec_t s12 = VADD(m1, m2), d12 = VSUB(m1, m2), s34 = VADD(m3, m4), d34 = VSUB(m3, m4);
  o[0] = VADD(VADD(m0, s12), s34);
  o[1] = VFMA(VSET1(0.5f), d12, VADD(d34, d34));
  o[2] = VFMA(VSET1(0.25f), s12, VMUL(VSET1(4.0f), s34));
  o[3] = VFMA(VSET1(0.125f), d12, VFMA(VSET1(8.0f), d34, m5));
}

/* Input transform of nv tile vectors of channels [c0, c1) into v[36][C][TB]. */
static void wino_input(const MscWinoArgs *a, int64_t g0, int64_t nv, int64_t c0, int64_t c1, float *v) {
  const int64_t TB = a->TB, C = a->C;
  for (int64_t c = c0; c < c1; c++) {
    const float *xc = a->xp + c * a->cstride + g0;
    float *vc = v + c * TB;
    for (int64_t k = 0; k < nv; k++) {
      const float *xk = xc + k * VL;
      vec_t t[6][6];
      /* columns: B^T over the rows i of each column j */
      UNROLL for (int j = 0; j < 6; j++) {
        vec_t o[6];
        wino_bt(VLOAD(xk + a->toff[0 * 6 + j]), VLOAD(xk + a->toff[1 * 6 + j]), VLOAD(xk + a->toff[2 * 6 + j]),
                VLOAD(xk + a->toff[3 * 6 + j]), VLOAD(xk + a->toff[4 * 6 + j]), VLOAD(xk + a->toff[5 * 6 + j]), o);
        UNROLL for (int i = 0; i < 6; i++) t[i][j] = o[i];
      }
      /* rows: B over the columns */
      UNROLL for (int i = 0; i < 6; i++) {
        vec_t o[6];
        wino_bt(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], o);
        UNROLL for (int j = 0; j < 6; j++) VSTORE(vc + (int64_t) (i * 6 + j) * C * TB + k * VL, o[j]);
      }
    }
  }
}

/* One register block of one transformed point: MB channels x rw vectors,
 * reduction over all C. */
static ALWAYS_INLINE void wino_gemm_block(const float *vx, const float *ux, float *mx, int64_t C, int64_t TB,
                                          const int rw) {
  vec_t acc[MB][RW];
  UNROLL for (int m = 0; m < MB; m++) {
    UNROLL for (int r = 0; r < rw; r++) acc[m][r] = VZERO();
  }
  for (int64_t c = 0; c < C; c++, vx += TB, ux += MB) {
    vec_t xv[RW];
    UNROLL for (int r = 0; r < rw; r++) xv[r] = VLOAD(vx + r * VL);
    UNROLL for (int m = 0; m < MB; m++) {
      const vec_t wv = VBCAST(ux + m);
      UNROLL for (int r = 0; r < rw; r++) acc[m][r] = VFMA(wv, xv[r], acc[m][r]);
    }
  }
  UNROLL for (int m = 0; m < MB; m++) {
    UNROLL for (int r = 0; r < rw; r++) VSTORE(mx + m * TB + r * VL, acc[m][r]);
  }
}

typedef void (*WinoGemmFn)(const float *vx, const float *ux, float *mx, int64_t C, int64_t TB);
#define WG_FN(R)                                                                                                    \
  static __attribute__((noinline)) void wino_gemm_##R(const float *vx, const float *ux, float *mx, int64_t C,      \
                                                       int64_t TB) {                                                \
    wino_gemm_block(vx, ux, mx, C, TB, R);                                                                          \
  }
WG_FN(1)
#if RW >= 2
WG_FN(2)
#endif
#if RW >= 3
WG_FN(3)
#endif
#if RW >= 4
WG_FN(4)
#endif
static const WinoGemmFn wino_gemm_table[RW] = {
    wino_gemm_1,
#if RW >= 2
    wino_gemm_2,
#endif
#if RW >= 3
    wino_gemm_3,
#endif
#if RW >= 4
    wino_gemm_4,
#endif
};

/* Epilogue on n contiguous outputs: y = act(t + res); t may be read up to
 * VL - 1 floats past n (wino_output's ti has that slack). The last partial
 * vector is one masked residual load and one range store: a scalar loop
 * (with the activation's switch per element) took about half of
 * wino_output on squeezenet's 55x55 and 27x27 maps, whose tile runs end
 * 3 columns into a vector. */
static ALWAYS_INLINE void wino_epilogue_run(const MscWinoArgs *a, const float *t, float *yp, const float *rp,
                                            int64_t n, const MscActivation ACT) {
  int64_t k = 0;
  for (; k + VL <= n; k += VL) {
    vec_t v = VLOAD(t + k);
    if (rp)
      v = VADD(v, VLOAD(rp + k));
    VSTORE(yp + k, act_vec(v, ACT, a->act_a, a->act_b));
  }
  if (k < n) {
    const int r = (int) (n - k);
    vec_t v = VLOAD(t + k);
    if (rp)
      v = VADD(v, VLOAD_MASK(rp + k, VMASK_RANGE(0, r)));
    VSTORE_RANGE(yp + k, act_vec(v, ACT, a->act_a, a->act_b), 0, r);
  }
}

/* Output transform of nv tile vectors of channels [m0, m1) from
 * mo[36][msub*MB][TB] (channel m at row m - mbase). The 4x4 tiles of a
 * vector are interleaved into 4 output rows of 4*VL floats (ti), then every
 * run of lanes that are adjacent tiles of one tile row is one contiguous
 * output segment per row: the epilogue stays vectorized even when a vector
 * spans two tile rows or the image edge. */
static ALWAYS_INLINE void wino_output_act(const MscWinoArgs *a, int64_t g0, int64_t nv, const float *mo,
                                          int64_t mbase, int64_t m0, int64_t m1, const MscActivation ACT) {
  const int64_t TB = a->TB, rows = a->msub * MB, OHW = a->OH * a->OW, stride = rows * TB;
  /* lane runs depend on the grid point only: the same for every channel */
  int64_t nruns = 0;
  int64_t *runs = g_alloca(sizeof(int64_t) * 4 * (size_t) (nv * VL)); /* k, l0, th, tw0 and ncols packed below */
  for (int64_t k = 0; k < nv; k++) {
    for (int l = 0; l < VL;) {
      const int64_t g = g0 + k * VL + l, th = g / a->TWq, tw = g - th * a->TWq;
      if (g >= a->P)
        break;
      if (tw >= a->TW) {
        l++;
        continue;
      }
      const int l0 = l;
      while (l < VL && g0 + k * VL + l < a->P && tw + (l - l0) < a->TW)
        l++;
      const int64_t ncols = MIN(4 * (int64_t) (l - l0), a->OW - 4 * tw);
      runs[4 * nruns + 0] = k * 4 * 4 * VL + 4 * l0; /* offset into the interleaved buffer */
      runs[4 * nruns + 1] = th;
      runs[4 * nruns + 2] = 4 * tw;
      runs[4 * nruns + 3] = ncols;
      nruns++;
    }
  }
  float *ti = g_alloca(sizeof(float) * (size_t) (nv * 16 * VL + VL));
  for (int64_t m = m0; m < m1; m++) {
    const float *mm = mo + (m - mbase) * TB;
    float *ym = a->y + m * OHW;
    const float *rm = a->res ? a->res + m * OHW : NULL;
    const vec_t vb = VSET1(a->bias[m]);
    for (int64_t k = 0; k < nv; k++) {
      vec_t t[4][6];
      UNROLL for (int j = 0; j < 6; j++) {
        vec_t o[4];
        const float *p = mm + k * VL + j * stride;
        wino_at(VLOAD(p), VLOAD(p + 6 * stride), VLOAD(p + 12 * stride), VLOAD(p + 18 * stride),
                VLOAD(p + 24 * stride), VLOAD(p + 30 * stride), o);
        UNROLL for (int i = 0; i < 4; i++) t[i][j] = o[i];
      }
      float *tk = ti + k * 16 * VL;
      UNROLL for (int i = 0; i < 4; i++) {
        vec_t o[4], o4[4];
        wino_at(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], o);
        UNROLL for (int j = 0; j < 4; j++) o[j] = VADD(o[j], vb);
#ifdef VINTERLEAVE4
        VINTERLEAVE4(o[0], o[1], o[2], o[3], o4[0], o4[1], o4[2], o4[3]);
#else
        float tb[4][VL], tt[4 * VL];
        UNROLL for (int j = 0; j < 4; j++) VSTORE(tb[j], o[j]);
        for (int l = 0; l < VL; l++)
          for (int j = 0; j < 4; j++)
            tt[4 * l + j] = tb[j][l];
        UNROLL for (int j = 0; j < 4; j++) o4[j] = VLOAD(tt + j * VL);
#endif
        UNROLL for (int j = 0; j < 4; j++) VSTORE(tk + i * 4 * VL + j * VL, o4[j]);
      }
    }
    for (int64_t r = 0; r < nruns; r++) {
      const int64_t k4 = runs[4 * r], th = runs[4 * r + 1], c0 = runs[4 * r + 2], ncols = runs[4 * r + 3];
      const int64_t kk = k4 / (16 * VL), l4 = k4 - kk * 16 * VL;
      for (int i = 0; i < 4 && 4 * th + i < a->OH; i++) {
        const int64_t off = (4 * th + i) * a->OW + c0;
        wino_epilogue_run(a, ti + kk * 16 * VL + i * 4 * VL + l4, ym + off, rm ? rm + off : NULL, ncols, ACT);
      }
    }
  }
}

/* wino_output with the activation a compile-time constant for the common
 * ones: a runtime act_vec switch per vector of 1-4-vector runs was the
 * hottest spot of wino_output after the tail fix (perf, squeezenet). */
static void wino_output(const MscWinoArgs *a, int64_t g0, int64_t nv, const float *mo, int64_t mbase, int64_t m0,
                        int64_t m1) {
#define WINO_OUT_CALL(ACT) wino_output_act(a, g0, nv, mo, mbase, m0, m1, ACT)
  ACT_DISPATCH(a->act, WINO_OUT_CALL);
#undef WINO_OUT_CALL
}

/* The block's input transform for channels [c0, c1) only (a block shared by several output-channel
 * chunks: winograd() with @have_v then skips it). */
static void wino_input_range(const MscWinoArgs *a, int64_t g0, int64_t c0, int64_t c1, float *v) {
  const int64_t npts = MIN(a->TB, a->P - g0);
  wino_input(a, g0, (npts + VL - 1) / VL, c0, c1, v);
}

static void winograd(const MscWinoArgs *a, int64_t g0, int64_t mb0, int64_t mb1, float *v, float *mo, int have_v) {
  const int64_t TB = a->TB, C = a->C;
  const int64_t npts = MIN(TB, a->P - g0), nv = (npts + VL - 1) / VL;
  const int64_t rows = a->msub * MB;
  if (!have_v)
    wino_input(a, g0, nv, 0, C, v);
  for (int64_t s0 = mb0; s0 < mb1; s0 += a->msub) {
    const int64_t s1 = MIN(mb1, s0 + a->msub);
    for (int xi = 0; xi < MSC_WINO_XI; xi++) {
      const float *vx = v + (int64_t) xi * C * TB;
      for (int64_t mb = s0; mb < s1; mb++) {
        const float *ux = a->u + ((int64_t) xi * a->mblocks + mb) * C * MB;
        float *mx = mo + ((int64_t) xi * rows + (mb - s0) * MB) * TB;
        for (int64_t k = 0; k < nv; k += RW) {
          const int64_t rw = MIN((int64_t) RW, nv - k);
          wino_gemm_table[rw - 1](vx + k * VL, ux, mx + k * VL, C, TB);
        }
      }
    }
    wino_output(a, g0, nv, mo, s0 * MB, s0 * MB, MIN(a->M, s1 * MB));
  }
}
