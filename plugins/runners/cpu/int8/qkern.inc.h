/* qkern.inc.h: the int8 conv kernels, included once per ISA file (see
 * qconv.h). The including file defines:
 *   KSUF      name suffix
 *   KG        k-values per 32-bit weight word (2: int16 pairs, 4: u8 x s8 quads)
 *   XELEM     packed activation element (int16_t for KG 2, uint8_t for KG 4)
 *   VL, NV    int32 lanes per vector, vectors per panel (NR = VL * NV pixels)
 *   MR        output channels per micro-tile
 *   acc_t, xv_t, w_t and AZERO(), XLOAD(p), WSET1(word), MADD(acc, x, w),
 *   ACC_ADD(acc, int32), STORE_I32(dst, acc, n), STORE_Q(dst, acc, mult, fbias, flo, fhi, zy, sgn, n)
 * Packed panel: element (g, j, e) at ((g * NR + j) * KG + e) = x at k = g*KG+e
 * for pixel p0 + j (k >= K: 0). Weights: wp[m * Kg + g] = KG values of w'. */
#include <string.h>

#define QCAT2(a, b) a##_##b
#define QCAT(a, b) QCAT2(a, b)
#define QFN(name) QCAT(name, KSUF)
#define NR (VL * NV)

static inline XELEM QFN(xval)(uint8_t b, int sgn, int32_t xoff) {
  int32_t v = sgn ? (int32_t)(int8_t)b : (int32_t)b;
  return (XELEM)(v + xoff);
}

static void QFN(pack)(const CpuQConv *q, const uint8_t *x, int64_t p0, int64_t np, void *xpv) {
  XELEM *xp = xpv;
  const CpuQConvDesc *d = &q->d;
  const int64_t H = d->H, W = d->W, OW = q->OW, kh = d->kh, kw = d->kw, dh = d->dh, dw = d->dw;
  const int sgn = d->xdt == MSC_DTYPE_INT8;
  const int32_t xoff = q->xoff;
  const XELEM pad = (XELEM)q->xpad;
  int64_t ih0[NR], iw0[NR], off[NR];
  int interior = 1;
  for (int64_t j = 0; j < NR; j++) {
    int64_t p = p0 + (j < np ? j : np - 1); /* tail: repeat the last pixel */
    int64_t oh = p / OW, ow = p % OW;
    ih0[j] = oh * d->sh - d->pt;
    iw0[j] = ow * d->sw - d->pl;
    off[j] = ih0[j] * W + iw0[j];
    if (ih0[j] < 0 || ih0[j] + (kh - 1) * dh >= H || iw0[j] < 0 || iw0[j] + (kw - 1) * dw >= W) interior = 0;
  }
  int64_t k = 0;
  for (int64_t c = 0; c < q->Cg; c++) {
    const uint8_t *xc = x + c * H * W;
    for (int64_t i = 0; i < kh; i++)
      for (int64_t jj = 0; jj < kw; jj++, k++) {
        XELEM *dst = xp + (k / KG) * NR * KG + k % KG;
        int64_t dk = i * dh * W + jj * dw;
        if (interior) {
          for (int64_t j = 0; j < NR; j++) dst[j * KG] = QFN(xval)(xc[off[j] + dk], sgn, xoff);
        } else {
          for (int64_t j = 0; j < NR; j++) {
            int64_t ih = ih0[j] + i * dh, iw = iw0[j] + jj * dw;
            dst[j * KG] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? QFN(xval)(xc[ih * W + iw], sgn, xoff) : pad;
          }
        }
      }
  }
  for (; k < q->Kg * KG; k++) {
    XELEM *dst = xp + (k / KG) * NR * KG + k % KG;
    for (int64_t j = 0; j < NR; j++) dst[j * KG] = 0;
  }
}

static inline __attribute__((always_inline)) void QFN(tile)(const CpuQConv *q, const XELEM *xp, const int32_t *wp,
                                                            int64_t m, const int rows, void *y, int64_t np) {
  acc_t acc[MR][NV];
  const int64_t Kg = q->Kg, P = q->P;
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = AZERO();
  const int32_t *wr = wp + m * Kg;
  for (int64_t g = 0; g < Kg; g++) {
    xv_t xv[NV];
    for (int v = 0; v < NV; v++) xv[v] = XLOAD(xp + (g * NR + v * VL) * KG);
    for (int r = 0; r < rows; r++) {
      w_t wv = WSET1(wr[r * Kg + g]);
      for (int v = 0; v < NV; v++) acc[r][v] = MADD(acc[r][v], xv[v], wv);
    }
  }
  const int sgn = q->d.ydt == MSC_DTYPE_INT8;
  for (int r = 0; r < rows; r++) {
    int64_t oc = m + r;
    for (int v = 0; v < NV; v++) {
      int64_t n = np - v * VL;
      if (n <= 0) break;
      if (n > VL) n = VL;
      acc_t a = ACC_ADD(acc[r][v], q->corr[oc]);
      if (q->d.ydt == MSC_DTYPE_INT32)
        STORE_I32((int32_t *)y + oc * P + v * VL, a, n);
      else
        STORE_Q((uint8_t *)y + oc * P + v * VL, a, q->mult[oc], q->fbias[oc], q->flo, q->fhi, q->d.zy, sgn, n);
    }
  }
}

/* Rows m0..m1 (absolute output channels) of one packed panel; @y points at
 * pixel p0 of channel 0 of this image. */
static void QFN(panel)(const CpuQConv *q, const void *xpv, const int32_t *wp, int64_t m0, int64_t m1, void *y,
                       int64_t np) {
  const XELEM *xp = xpv;
  int64_t m = m0;
  for (; m + MR <= m1; m += MR) QFN(tile)(q, xp, wp, m, MR, y, np);
  for (; m < m1; m++) QFN(tile)(q, xp, wp, m, 1, y, np);
}

/* ---------------------------------------------------------------------- */
/* direct dense conv (no im2col) on the blocked input of cpu_qconv_xform:  */
/* xin[phase][g][PS][KG]: KG consecutive input channels of one (strided-   */
/* phase) padded position; output position f = oh * PWs + ow (ow >= OW:   */
/* computed and dropped). Tap t reads position f + toff[t]. Accumulators   */
/* are MR output channels x NR consecutive positions; weights are          */
/* broadcast 32-bit words wp[m][t][g].                                     */

/* y[i] = vadd(y[i], sk[i]) for n bytes, the conv's bytes as input vside. */
static inline void QFN(vadd_at)(const CpuQConv *q, const uint8_t *sk, uint8_t *yp, int64_t n) {
  if (q->d.vside == 0) cpu_qvadd_span(q->d.vadd, yp, sk, yp, n);
  else cpu_qvadd_span(q->d.vadd, sk, yp, yp, n);
}

/* The output offset (in one channel's plane) of the tile of NR positions from @f0 when the whole tile
 * lies in one output row, else -1 (the tile crosses a row end or the last position). */
static inline int64_t QFN(tile_at)(const CpuQConv *q, int64_t f0) {
  const int64_t PWs = q->PWs, OW = q->OW;
  if (f0 + NR > q->nf || (PWs != OW && f0 % PWs + NR > OW)) return -1;
  return PWs == OW ? f0 : f0 / PWs * OW + f0 % PWs;
}

#ifdef STORE_QTILE
/* The ISA file's tile epilogues for the requantized (and residual-added) tile @a of @rows channels from
 * position @f0: the whole tile inside one output row (STORE_QTILE), or across row ends as masked runs
 * stores (STORE_QSPLIT, when q->runs; it may decline). Returns 0 when neither applies (the
 * caller's row buffers). @y, @skip: the image's output / skip at channel 0. */
static inline __attribute__((always_inline)) int QFN(tile_store)(const CpuQConv *q, uint8_t *y, const uint8_t *skip,
                                                                 int64_t f0, int64_t m, int rows,
                                                                 const acc_t (*a)[NV], int ci, int sgn) {
  const int64_t trow = QFN(tile_at)(q, f0);
  if (trow >= 0) {
    const int64_t at = m * q->P + trow;
    if (skip) STORE_QTILE(q, y + at, skip + at, q->P, m, rows, a, ci, sgn);
    else STORE_QTILE(q, y + at, NULL, q->P, m, rows, a, ci, sgn); /* (inlined apart) */
    return 1;
  }
#ifdef STORE_QSPLIT
  if (q->runs) return skip ? STORE_QSPLIT(q, y, skip, f0, m, rows, a, ci, sgn) : STORE_QSPLIT(q, y, NULL, f0, m, rows, a, ci, sgn);
#endif
  return 0;
}
#endif

/* @mr: the weight block's rows computed (a constant at each call: MR, or fewer for the last block of a
 * group whose channel count is not a multiple of MR; rows <= mr are stored) */
static inline __attribute__((always_inline)) void QFN(dtile)(const CpuQConv *q, const XELEM *xin, int64_t f0,
                                                             const int32_t *wb, int64_t m, int rows, uint8_t *y,
                                                             const uint8_t *skip, const int mr) {
#ifdef DTILE_FAST6 /* the ISA file's full tile of 6 rows within one output row (d6: set once per conv) */
  const int64_t at6 = mr == 6 && rows == 6 && q->d6 ? QFN(tile_at)(q, f0) : -1;
  if (at6 >= 0) {
    const int64_t at = at6 + m * q->P;
    DTILE_FAST6(q, xin + f0 * KG, wb, m, y + at, skip ? skip + at : NULL, q->P, q->d.ydt == MSC_DTYPE_INT8);
    return;
  }
#endif
  acc_t acc[MR][NV];
  const int64_t Gc = q->Gc, T = q->T, gs = q->PS * KG;
  /* q->corrinit: the accumulators start at corr (the same int32 sums: integer adds commute), the
   * epilogue adds nothing; else from 0, corr added per vector in the epilogue */
  const int ci = q->corrinit;
  for (int r = 0; r < mr; r++) {
    const acc_t a0 = ci && r < rows ? ACC_ADD(AZERO(), q->corr[m + r]) : AZERO();
    for (int v = 0; v < NV; v++) acc[r][v] = a0;
  }
  for (int64_t t = 0; t < T; t++) {
    const XELEM *xt = xin + (q->toff[t] + f0) * KG;
    const int32_t *wt = wb + t * Gc * MR;
    for (int64_t g = 0; g < Gc; g++) {
      xv_t xv[NV];
      for (int v = 0; v < NV; v++) xv[v] = XLOAD(xt + g * gs + v * VL * KG);
      for (int r = 0; r < mr; r++) {
        w_t wv = WSET1(wt[g * MR + r]);
        for (int v = 0; v < NV; v++) acc[r][v] = MADD(acc[r][v], xv[v], wv);
      }
    }
  }
  const int sgn = q->d.ydt == MSC_DTYPE_INT8;
  const int i32 = q->d.ydt == MSC_DTYPE_INT32;
#if defined(STORE_QTILE) && defined(QTILE_FULL_DIRECT)
  /* a full tile: stored from the registers (constant row count: no stack copy) */
  if (mr == MR && rows == MR && !i32 && q->tfull && QFN(tile_store)(q, y, skip, f0, m, MR, (const acc_t(*)[NV])acc, ci, sgn))
    return;
#endif
  /* the epilogue indexes rows at run time (rows <= mr): a copy, so that only it lives in memory and
   * the accumulators stay in registers through the tap loop (indexing acc itself made GCC store
   * every accumulator to the stack on every iteration) */
  acc_t out[MR][NV];
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < NV; v++) out[r][v] = acc[r][v];
  const size_t ys = i32 ? 4 : 1;
  const int64_t P = q->P, PWs = q->PWs, OW = q->OW, nf = q->nf;
#ifdef STORE_QTILE /* requantized (and residual-added) a tile at a time */
  if (!i32 && QFN(tile_store)(q, y, skip, f0, m, rows, (const acc_t(*)[NV])out, ci, sgn)) return;
  if (!i32 && q->splitrow && f0 + NR <= nf) { /* a whole tile across row ends: requantized at once into
                                                * row buffers (the same bytes), then their valid row segments */
    uint8_t tb[MR][NR] __attribute__((aligned(64))), sb[MR][NR] __attribute__((aligned(64)));
    const int64_t oh0 = f0 / PWs, ow0 = f0 % PWs;
    if (skip) {
      memset(sb, 0, sizeof sb); /* the dropped positions: any value, their result is not stored */
      for (int r = 0; r < rows; r++) cpu_qseg_copy(sb[r], (uint8_t *)(uintptr_t)(skip + (m + r) * P), oh0, ow0, NR, PWs, OW, 1);
    }
    STORE_QTILE(q, tb[0], skip ? sb[0] : NULL, NR, m, rows, (const acc_t(*)[NV])out, ci, sgn); /* one copy: rarer */
    for (int r = 0; r < rows; r++) cpu_qseg_copy(tb[r], y + (m + r) * P, oh0, ow0, NR, PWs, OW, 0);
    return;
  }
#endif
  /* the tile's first position as (row, column): one division per tile, the vectors step from it */
  int64_t oh = PWs == OW ? 0 : f0 / PWs, ow = PWs == OW ? f0 : f0 - oh * PWs;
  for (int v = 0; v < NV; v++) {
    int64_t fv = f0 + v * VL, n = nf - fv;
    if (v) /* the previous vector's start + VL */
      for (ow += VL; PWs != OW && ow >= PWs; ow -= PWs) oh++;
    if (n <= 0) break;
    if (n > VL) n = VL;
    int contig = PWs == OW || ow + n <= OW; /* one output row segment */
    for (int r = 0; r < rows; r++) {
      int64_t oc = m + r;
      acc_t a = ci ? out[r][v] : ACC_ADD(out[r][v], q->corr[oc]);
      uint8_t *yr = y + (size_t)(oc * P) * ys;
      if (contig) {
        int64_t at = PWs == OW ? fv : oh * OW + ow;
        int64_t cnt = PWs == OW ? n : MIN(n, OW - ow);
        if (cnt <= 0) continue;
        if (i32) STORE_I32((int32_t *)(void *)yr + at, a, cnt);
#ifdef STORE_QADD /* the ISA file's requantization with the residual add in registers */
        else if (skip) {
          STORE_QADD(q, yr + at, skip + oc * P + at, a, oc, cnt);
          continue;
        }
#endif
        else STORE_Q(yr + at, a, q->mult[oc], q->fbias[oc], q->flo, q->fhi, q->d.zy, sgn, cnt);
        if (skip && !i32) QFN(vadd_at)(q, skip + oc * P + at, yr + at, cnt);
        continue;
      }
      int32_t tmp[VL];
      uint8_t *tb = (uint8_t *)tmp;
#ifdef STORE_QADD /* a vector across a row end: the skip bytes gathered, added in registers, scattered */
      if (skip && !i32) {
        uint8_t sb[VL];
        for (int64_t l = 0, h = oh, w = ow; l < n; l++) {
          sb[l] = w < OW ? skip[oc * P + h * OW + w] : 0; /* positions past the row: dropped */
          if (++w == PWs) w = 0, h++;
        }
        STORE_QADD(q, tb, sb, a, oc, n);
        for (int64_t l = 0, h = oh, w = ow; l < n; l++) {
          if (w < OW) yr[h * OW + w] = tb[l];
          if (++w == PWs) w = 0, h++;
        }
        continue;
      }
#endif
      if (i32) STORE_I32(tmp, a, n);
      else STORE_Q(tb, a, q->mult[oc], q->fbias[oc], q->flo, q->fhi, q->d.zy, sgn, n);
      int64_t h = oh, w = ow;
      for (int64_t l = 0; l < n; l++) {
        if (w < OW) {
          if (i32) ((int32_t *)(void *)yr)[h * OW + w] = tmp[l];
          else yr[h * OW + w] = tb[l];
          if (skip && !i32) QFN(vadd_at)(q, skip + oc * P + h * OW + w, yr + h * OW + w, 1);
        }
        if (++w == PWs) w = 0, h++;
      }
    }
  }
}

/* Output channels m0..m1 (absolute; m0 - group start a multiple of MR) x
 * tiles [f0, f1) of NR positions of one image and group; @y: the image's
 * output at channel 0. Weights: blocks of MR channels (zero rows past the
 * group's end), words [t][g][MR]. */
static void QFN(direct)(const CpuQConv *q, const void *xinv, int64_t f0, int64_t f1, int64_t m0, int64_t m1,
                        void *y, const uint8_t *skip) {
  const XELEM *xin = xinv;
  const int64_t grp = m0 / q->Mg, nbg = (q->Mg + MR - 1) / MR;
  for (int64_t f = f0; f < f1; f += NR) /* the tile's x stays in L1 across the weight blocks */
    for (int64_t m = m0; m < m1; m += MR) {
      const int32_t *wb = q->wp + (grp * nbg + (m - grp * q->Mg) / MR) * q->Kg * MR;
      int rows = (int)MIN((int64_t)MR, m1 - m);
      /* a short last block computes only its rows, rounded up to 2 or 4 (8 channels as 6 + 2, not 6 + 6) */
      const int mr = !q->dshort || rows > 4 ? MR : rows > 2 ? 4 : 2;
      if (mr == MR) QFN(dtile)(q, xin, f, wb, m, rows, y, skip, MR);
      else if (mr == 4) QFN(dtile)(q, xin, f, wb, m, rows, y, skip, 4);
      else QFN(dtile)(q, xin, f, wb, m, rows, y, skip, 2);
    }
}

/* ---------------------------------------------------------------------- */
/* depthwise: one input channel per group, direct (compiled per ISA)      */

/* QDW_CUSTOM (optional): an ISA file's own depthwise kernel replaces this one */
#ifdef QDW_CUSTOM
#define QDW_FN QDW_CUSTOM
#else
#define QDW_FN QFN(dw)
static void QFN(dw)(const CpuQConv *q, const uint8_t *x, int64_t oc, uint8_t *y, void *ws) {
  const CpuQConvDesc *d = &q->d;
  int64_t PH = d->H + d->pt + d->pb, PW = d->W + d->pl + d->pr, OW = q->OW, kh = d->kh, kw = d->kw;
  int16_t *pad = ws;
  int32_t *acc = (int32_t *)(void *)((char *)ws + (((size_t)(PH * PW) * sizeof(int16_t) + 63) / 64 * 64));
  int sgn = d->xdt == MSC_DTYPE_INT8;
  int16_t zx = (int16_t)d->zx;
  for (int64_t i = 0; i < PH; i++) {
    int16_t *row = pad + i * PW;
    int64_t ih = i - d->pt;
    if (ih < 0 || ih >= d->H) {
      for (int64_t j = 0; j < PW; j++) row[j] = zx;
      continue;
    }
    for (int64_t j = 0; j < d->pl; j++) row[j] = zx;
    const uint8_t *src = x + ih * d->W;
    if (sgn)
      for (int64_t j = 0; j < d->W; j++) row[d->pl + j] = (int8_t)src[j];
    else
      for (int64_t j = 0; j < d->W; j++) row[d->pl + j] = src[j];
    for (int64_t j = d->pl + d->W; j < PW; j++) row[j] = zx;
  }
  const int16_t *wt = q->wd + oc * kh * kw;
  int32_t c = q->corr[oc];
  int osgn = d->ydt == MSC_DTYPE_INT8;
  for (int64_t oh = 0; oh < q->OH; oh++) {
    for (int64_t ow = 0; ow < OW; ow++) acc[ow] = c;
    for (int64_t i = 0; i < kh; i++)
      for (int64_t j = 0; j < kw; j++) {
        int32_t wv = wt[i * kw + j];
        if (!wv) continue;
        const int16_t *src = pad + (oh * d->sh + i * d->dh) * PW + j * d->dw;
        if (d->sw == 1)
          for (int64_t ow = 0; ow < OW; ow++) acc[ow] += src[ow] * wv;
        else
          for (int64_t ow = 0; ow < OW; ow++) acc[ow] += src[ow * d->sw] * wv;
      }
    if (d->ydt == MSC_DTYPE_INT32) {
      memcpy((int32_t *)(void *)y + oh * OW, acc, (size_t)OW * sizeof(int32_t));
      continue;
    }
    uint8_t *dst = y + oh * OW;
    float mult = q->mult[oc], fb = q->fbias[oc];
    for (int64_t ow = 0; ow < OW; ow++) {
      int32_t v = cpu_qrequant(acc[ow], mult, fb, q->flo, q->fhi, d->zy);
      dst[ow] = osgn ? (uint8_t)(int8_t)v : (uint8_t)v;
    }
  }
}

#endif

const CpuQKernel QCAT(cpu_qkernel, KSUF) = {KG,        (int)sizeof(XELEM), NR,          VL,    MR,
                                           QKNAME,    QFN(pack),          QFN(panel), QFN(direct), QDW_FN};
#undef QDW_FN

#undef NR
