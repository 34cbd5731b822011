/* f32-conv2d-cvec.inc.h: the channel-vectorized dense conv kernel, generic
 * over vector width; included by f32-conv2d-direct.inc.h (same ISA macros).
 *
 * For small output maps (7x7, 13x13, 14x14) the grid kernel's vectors run
 * along padded output rows and lose lanes to the pad columns and the last
 * tile (3x3 @13x13: 169 real of 216 computed points, 78%). Here vectors
 * run along output CHANNELS instead: a register block is CV_NP real output
 * pixels x CV_MV vectors of channels; per reduction step (input channel,
 * tap) it loads CV_MV weight vectors and broadcasts CV_NP input values
 * straight from the phase grid (the same grid and tap offsets as the grid
 * kernel, no packing). The sums come out pixel-major ([pixel][channel]);
 * bias and activation are applied to them in registers, and a transpose
 * pass writes the NCHW planes (adding the residual, if any, there). */

#ifndef CV_NP
#define CV_NP 6 /* pixels per register block */
#endif
#define CV_NP2 (CV_NP - 1) /* the narrower block the plan may take instead (MscConv2dKernels.cv_np2) */
#ifndef CV_MV
#define CV_MV 2 /* channel vectors per register block */
#endif
#define CV_CB (CV_MV * VL) /* output channels per block */

/* bias (+ activation when there is no residual) on a block's NP x CV_CB sums */
static __attribute__((noinline)) void cvec_bias_act(const MscDenseArgs *a, int64_t cb, float *out, const int NP) {
  const float *bp = a->bias + cb * CV_CB;
  for (int v = 0; v < CV_MV; v++) {
    const vec_t bv = VLOAD(bp + v * VL);
    for (int p = 0; p < NP; p++) {
      vec_t s = VADD(VLOAD(out + p * CV_CB + v * VL), bv);
      if (!a->res)
        s = act_vec(s, a->act, a->act_a, a->act_b);
      VSTORE(out + p * CV_CB + v * VL, s);
    }
  }
}

/* One register block: NP (CV_NP or CV_NP2) pixels at grid offsets
 * go[0 .. NP-1] of channel block cb, sums over input channels [c0, c1) x
 * taps, added to out[p][CV_CB] unless first; when last, bias (+ activation
 * when there is no residual) is applied. out is pixel-major, in L1.
 * PANEL: 1x1 on the packed panel (MscDenseArgs.xpanel; go unused). */
static ALWAYS_INLINE void cvec_block(const MscDenseArgs *a, const int64_t *go, int64_t cb, int64_t c0, int64_t c1,
                                     float *out, const int NT, const int first, const int last, const int NP,
                                     const int PANEL) {
  const int ntaps = NT ? NT : a->ntaps;
  const float *xb[CV_NP];
  if (!PANEL)
    UNROLL for (int p = 0; p < NP; p++) xb[p] = a->x + c0 * a->cstride + go[p];
  vec_t acc[CV_NP][CV_MV];
  UNROLL for (int p = 0; p < NP; p++) {
    UNROLL for (int v = 0; v < CV_MV; v++) acc[p][v] = first ? VZERO() : VLOAD(out + p * CV_CB + v * VL);
  }
  const float *wp = a->w + (cb * a->C + c0) * ntaps * CV_CB;
  const int64_t *toff = a->toff, cs = a->cstride;
  /* the next chunk's weights (contiguous after this one's; after the last
   * chunk, the next block's first) into L2, each reduction step's lines
   * (AVX-512: two; one had left half the chunk to the hardware):
   * on 7x7 maps a 16 KB chunk is reused by only ~9 pixel blocks, and its
   * first block waited on the stream from memory */
  const int64_t pf = (c1 - c0) * ntaps * CV_CB;
  if (PANEL) { /* 1x1 on the packed panel: one pointer, the NP broadcasts at constant offsets */
    const float *xq = a->x + c0 * NP;
    for (int64_t c = c0; c < c1; c++, xq += NP, wp += CV_CB) {
      UNROLL for (int l = 0; l < CV_CB; l += 16) __builtin_prefetch(wp + pf + l, 0, 2);
      vec_t wv[CV_MV];
      UNROLL for (int v = 0; v < CV_MV; v++) wv[v] = VLOAD(wp + v * VL);
      UNROLL for (int p = 0; p < NP; p++) {
        const vec_t xv = VBCAST(xq + p);
        UNROLL for (int v = 0; v < CV_MV; v++) acc[p][v] = VFMA(wv[v], xv, acc[p][v]);
      }
    }
  } else {
    for (int64_t c = c0, co = 0; c < c1; c++, co += cs) {
      UNROLL for (int t = 0; t < ntaps; t++, wp += CV_CB) {
        UNROLL for (int l = 0; l < CV_CB; l += 16) __builtin_prefetch(wp + pf + l, 0, 2);
        const int64_t o = co + (NT == 1 ? 0 : toff[t]);
        vec_t wv[CV_MV];
        UNROLL for (int v = 0; v < CV_MV; v++) wv[v] = VLOAD(wp + v * VL);
        UNROLL for (int p = 0; p < NP; p++) {
          const vec_t xv = VBCAST(xb[p] + o);
          UNROLL for (int v = 0; v < CV_MV; v++) acc[p][v] = VFMA(wv[v], xv, acc[p][v]);
        }
      }
    }
  }
  /* the sums go out first and the last chunk's bias and activation run on
   * them from L1: with the epilogue on the live accumulators GCC spilled
   * 7 of them inside the reduction loop (AVX-512, 11 x 2 block) */
  UNROLL for (int p = 0; p < NP; p++) {
    UNROLL for (int v = 0; v < CV_MV; v++) VSTORE(out + p * CV_CB + v * VL, acc[p][v]);
  }
  if (last)
    cvec_bias_act(a, cb, out, NP);
}

typedef void (*CvecBlockFn)(const MscDenseArgs *a, const int64_t *go, int64_t cb, int64_t c0, int64_t c1, float *out);
/* N: the taps (0: any, 1, 9) or P, 1x1 on the packed panel */
#define CVB_NT_0 0
#define CVB_NT_1 1
#define CVB_NT_9 9
#define CVB_NT_P 1
#define CVB_PANEL_0 0
#define CVB_PANEL_1 0
#define CVB_PANEL_9 0
#define CVB_PANEL_P 1
#define CVB_FN(W, NPV, N, F, L)                                                                                     \
  static __attribute__((noinline)) void cvec_block##W##_##N##_##F##L(const MscDenseArgs *a, const int64_t *go,      \
                                                                     int64_t cb, int64_t c0, int64_t c1,            \
                                                                     float *out) {                                  \
    cvec_block(a, go, cb, c0, c1, out, CAT(CVB_NT_, N), F, L, NPV, CAT(CVB_PANEL_, N));                              \
  }
#define CVB_TAPS(W, NPV, N) CVB_FN(W, NPV, N, 0, 0) CVB_FN(W, NPV, N, 0, 1) CVB_FN(W, NPV, N, 1, 0) CVB_FN(W, NPV, N, 1, 1)
CVB_TAPS(, CV_NP, 0)
CVB_TAPS(, CV_NP, 1)
CVB_TAPS(, CV_NP, 9)
CVB_TAPS(, CV_NP, P)
CVB_TAPS(2, CV_NP2, 0)
CVB_TAPS(2, CV_NP2, 1)
CVB_TAPS(2, CV_NP2, 9)
CVB_TAPS(2, CV_NP2, P)
#define CVB_ROW(W, N) {cvec_block##W##_##N##_00, cvec_block##W##_##N##_01, cvec_block##W##_##N##_10, cvec_block##W##_##N##_11}
static const CvecBlockFn cvec_block_table[2][4][4] = {{CVB_ROW(, 0), CVB_ROW(, 1), CVB_ROW(, 9), CVB_ROW(, P)},
                                                      {CVB_ROW(2, 0), CVB_ROW(2, 1), CVB_ROW(2, 9), CVB_ROW(2, P)}};

/* pixels per pass at most (a pass is a whole number of pixel blocks):
 * their pixel-major sums (8-16 KB) stay in L1 */
#define CV_QMAX 128
/* weight floats per block and channel chunk (16 KB, in L1 across the
 * pixel blocks of a pass) */
#define CV_WCHUNK 4096

/* Pixels [q0, q1) of channel blocks [cb0, cb1): per pass of up to
 * qchunk pixels and chunk of input channels, every pixel block of a->cv_np. */
static void cvec(const MscDenseArgs *a, int64_t q0, int64_t q1, int64_t cb0, int64_t cb1) {
  float scratch[(CV_QMAX + CV_NP) * CV_CB] __attribute__((aligned(64)));
  int64_t go[CV_QMAX + CV_NP];
  const int np = a->cv_np == CV_NP2 ? CV_NP2 : CV_NP;
  const int64_t qchunk = CV_QMAX / np * np;
  const CvecBlockFn *fns = cvec_block_table[np == CV_NP2][a->xpanel ? 3 : a->ntaps == 9 ? 2 : a->ntaps == 1 ? 1 : 0];
  int64_t ck = MAX((int64_t) 1, CV_WCHUNK / (a->ntaps * CV_CB));
  if (ck < a->C) { /* equal chunks */
    const int64_t n = (a->C + ck - 1) / ck;
    ck = (a->C + n - 1) / n;
  }
  for (int64_t p0 = q0; p0 < q1; p0 += qchunk) {
    const int64_t p1 = MIN(q1, p0 + qchunk), nq = p1 - p0;
    /* grid offsets of the pass's pixels; past the end: the last pixel again (computed, never stored) */
    int64_t oh = p0 / a->OW, ow = p0 - oh * a->OW;
    for (int64_t i = 0; i < nq; i++) {
      go[i] = oh * a->Wq + ow;
      if (++ow == a->OW) {
        ow = 0;
        oh++;
      }
    }
    for (int64_t i = nq; i < nq + np; i++)
      go[i] = go[nq - 1];
    for (int64_t cb = cb0; cb < cb1; cb++) {
      for (int64_t c0 = 0; c0 < a->C; c0 += ck) {
        const int64_t c1 = MIN(a->C, c0 + ck);
        const CvecBlockFn fn = fns[(c0 == 0) * 2 + (c1 == a->C)];
        if (a->xpanel) { /* 1x1 on the packed panel ([pixel block][C][np]): the block's x is its panel */
          MscDenseArgs pa = *a;
          for (int64_t i = 0; i < nq; i += np) {
            pa.x = a->xpanel + (p0 + i) / np * a->C * np;
            fn(&pa, NULL, cb, c0, c1, scratch + i * CV_CB);
          }
          continue;
        }
        for (int64_t i = 0; i < nq; i += np)
          fn(a, go + i, cb, c0, c1, scratch + i * CV_CB);
      }
      /* transpose [pixel][channel] -> NCHW planes */
      const int64_t m0 = cb * CV_CB, mn = MIN((int64_t) CV_CB, a->M - m0);
      for (int64_t j = 0; j < mn; j++) {
        float *yp = a->y + (m0 + j) * a->OHW + p0;
        const float *sp = scratch + j;
        if (a->res) {
          /* the sums, then the activation in vectors over the run (a
           * scalar activation had a switch per element) */
          const float *rp = a->res + (m0 + j) * a->OHW + p0;
          for (int64_t i = 0; i < nq; i++)
            yp[i] = sp[i * CV_CB] + rp[i];
          if (a->act != MSC_ACT_NONE) {
            int64_t i = 0;
            for (; i + VL <= nq; i += VL)
              VSTORE(yp + i, act_vec(VLOAD(yp + i), a->act, a->act_a, a->act_b));
            if (i < nq) {
              const int r = (int) (nq - i);
              VSTORE_RANGE(yp + i, act_vec(VLOAD_MASK(yp + i, VMASK_RANGE(0, r)), a->act, a->act_a, a->act_b), 0, r);
            }
          }
        } else {
          for (int64_t i = 0; i < nq; i++)
            yp[i] = sp[i * CV_CB];
        }
      }
    }
  }
}
