/* f32-conv2d-direct.inc.h: the ONE body of the float32 conv kernels,
 * generic over vector width. Each ISA file defines, then includes this:
 *   ISA_SUFFIX          scalar | avx2 | avx512f
 *   MSC_ISA_ENUM        the MscIsa value
 *   VL, MB, RW, RWD     floats per vector; dense tile MB x RW vectors; depthwise step
 *   vec_t               vector type
 *   VZERO() VSET1(f) VLOAD(p) VSTORE(p,v) VBCAST(p) VFMA(a,b,c)=a*b+c
 *   VADD VMUL VMAX VMIN
 * Everything is static except the kernel table, so the same names can be
 * compiled once per ISA with that ISA's target flags. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv2d-kernels.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define KTABLE CAT(msc_f32_conv2d_direct_kernels__, ISA_SUFFIX)

#if defined(__GNUC__) && !defined(__clang__)
#define UNROLL _Pragma("GCC unroll 16")
#elif defined(__clang__)
#define UNROLL _Pragma("unroll")
#else
#define UNROLL
#endif
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Fused activation on one vector. */
static ALWAYS_INLINE vec_t act_vec(vec_t v, MscActivation act, float a, float b) {
  switch (act) {
  case MSC_ACT_NONE:
    return v;
  case MSC_ACT_RELU:
    return VMAX(v, VZERO());
  case MSC_ACT_CLIP:
    return VMIN(VMAX(v, VSET1(a)), VSET1(b));
  case MSC_ACT_LEAKY_RELU: /* max(v,0) + a*min(v,0) holds for any a */
    return VFMA(VSET1(a), VMIN(v, VZERO()), VMAX(v, VZERO()));
  case MSC_ACT_HARD_SWISH:
    return VMUL(v, VMIN(VMAX(VFMA(v, VSET1(1.0f / 6.0f), VSET1(0.5f)), VZERO()), VSET1(1.0f)));
  case MSC_ACT_HARD_SIGMOID:
    return VMIN(VMAX(VFMA(v, VSET1(a), VSET1(b)), VZERO()), VSET1(1.0f));
  case MSC_ACT_SIGMOID: {
    float t[VL];
    VSTORE(t, v);
    for (int i = 0; i < VL; i++)
      t[i] = 1.0f / (1.0f + expf(-t[i]));
    return VLOAD(t);
  }
  }
  return v;
}

static inline float act_scalar(float v, MscActivation act, float a, float b) {
  switch (act) {
  case MSC_ACT_NONE:
    return v;
  case MSC_ACT_RELU:
    return v > 0.0f ? v : 0.0f;
  case MSC_ACT_CLIP:
    return fminf(fmaxf(v, a), b);
  case MSC_ACT_LEAKY_RELU:
    return v < 0.0f ? a * v : v;
  case MSC_ACT_HARD_SWISH:
    return v * fminf(fmaxf(v / 6.0f + 0.5f, 0.0f), 1.0f);
  case MSC_ACT_HARD_SIGMOID:
    return fminf(fmaxf(a * v + b, 0.0f), 1.0f);
  case MSC_ACT_SIGMOID:
    return 1.0f / (1.0f + expf(-v));
  }
  return v;
}

/* Runs CALL(ACT) with ACT a compile-time constant for the activations that
 * have compiled variants (none, Relu, Clip, HardSwish), else with @act
 * itself (act_vec's runtime switch then runs per vector). */
#define ACT_DISPATCH(act, CALL)                                                                                     \
  do {                                                                                                              \
    switch (act) {                                                                                                  \
    case MSC_ACT_NONE: CALL(MSC_ACT_NONE); break;                                                                   \
    case MSC_ACT_RELU: CALL(MSC_ACT_RELU); break;                                                                   \
    case MSC_ACT_CLIP: CALL(MSC_ACT_CLIP); break;                                                                   \
    case MSC_ACT_HARD_SWISH: CALL(MSC_ACT_HARD_SWISH); break;                                                       \
    default: CALL(act); break;                                                                                      \
    }                                                                                                               \
  } while (0)

/* Where the VL grid points from o land in the output plane: *off is the
 * output offset of the first one; TRUE when all VL are real outputs in
 * one contiguous run (a vector store). With Wq == OW (1x1, no pad) the
 * grid is the output itself; otherwise grid columns >= OW are dropped and
 * a vector crossing a row end goes lane by lane. */
static inline gboolean dense_vec_pos(const MscDenseArgs *a, int64_t o, int64_t *oh, int64_t *ow) {
  *oh = o / a->Wq;
  *ow = o - *oh * a->Wq;
  if (o + VL > a->P)
    return FALSE;
  return a->Wq == a->OW || *ow + VL <= a->OW;
}

/* The runs of real outputs among the VL grid points from o (row oh,
 * column ow) when they are not one contiguous output run: a vector
 * crossing a row end (Wq > OW: dropped columns between the rows), several
 * rows when OW < VL, or the grid's end. Lane j of run k belongs at plane
 * offset base[k] + j, for lanes [lo[k], hi[k]). The same for every
 * output channel, so found once per tile vector. */
typedef struct {
  int n, lo[VL], hi[VL];
  intptr_t base[VL];
} DenseRuns;

static inline void dense_runs(const MscDenseArgs *a, int64_t o, int64_t oh, int64_t ow, DenseRuns *r) {
  const int64_t hi = MIN((int64_t) VL, a->P - o); /* lanes inside the grid */
  for (int64_t j = 0, h = oh, w = ow; j < hi;) {
    if (w >= a->OW) { /* dropped grid columns up to the row end */
      j += a->Wq - w;
      w = 0;
      h++;
      continue;
    }
    const int64_t len = MIN(a->OW - w, hi - j);
    r->lo[r->n] = (int) j;
    r->hi[r->n] = (int) (j + len);
    r->base[r->n] = (intptr_t) (h * a->OW + w - j);
    r->n++;
    j += len;
    w += len;
  }
}

/* Stores one accumulator vector of output plane yp over its runs: one
 * range store per run (VSTORE_RANGE) and, with a residual, one masked load.
 * Lane by lane these cost twice the rest of the squeezenet stem's
 * epilogue; with vmaskmovps stores (microcoded on Zen 2/3) the epilogue
 * was 18% of a 0.1 ms net. */
static ALWAYS_INLINE void dense_store_runs(const MscDenseArgs *a, const DenseRuns *r, vec_t acc, vec_t bias,
                                           float *yp, const float *rp, const MscActivation act) {
  /* base addresses may lie before the plane; lanes outside a run are never touched */
#define RUN_PTR(p, k) ((float *) ((uintptr_t) (p) + (uintptr_t) (r->base[k] * (intptr_t) sizeof(float))))
  vec_t v = VADD(acc, bias);
  if (rp)
    for (int k = 0; k < r->n; k++)
      v = VADD(v, VLOAD_MASK(RUN_PTR(rp, k), VMASK_RANGE(r->lo[k], r->hi[k])));
  v = act_vec(v, act, a->act_a, a->act_b);
  for (int k = 0; k < r->n; k++)
    VSTORE_RANGE(RUN_PTR(yp, k), v, r->lo[k], r->hi[k]);
#undef RUN_PTR
}

/* The register-blocked micro-kernel: MB channels x rw vectors, reduction
 * over input channels [c0, c1) x taps; rw is a compile-time constant after
 * inlining. Partial sums live in part[] (one L1-sized [MB][RW*VL] slot per
 * block): the first chunk starts from zero, later ones from the slot, and
 * dense_epilogue() applies bias, residual and activation from the slot.
 * The epilogue is kept out of this function on purpose: with it inlined
 * GCC 12 spilled the 12 AVX2 accumulators of the inner loop to the stack
 * (~500 stack accesses per call; 65% of peak instead of 85-90%). */
static ALWAYS_INLINE void dense_block(const MscDenseArgs *a, int64_t o0, int64_t mblk, const int rw, const int NT,
                                      int64_t c0, int64_t c1, float *part, const int first) {
  vec_t acc[MB][RW];
  UNROLL for (int m = 0; m < MB; m++) {
    UNROLL for (int r = 0; r < rw; r++) acc[m][r] = first ? VZERO() : VLOAD(part + (m * RW + r) * VL);
  }
  const int ntaps = NT ? NT : a->ntaps; /* NT: taps known at compile time (1x1, 3x3) */
  const float *wp = a->w + (mblk * a->C + c0) * ntaps * MB;
  const float *xc = a->x + o0 + c0 * a->cstride;
  const int64_t *toff = a->toff;
  for (int64_t c = c0; c < c1; c++, xc += a->cstride) {
    /* the next tile's lines of this channel: C strided streams are too
     * many for the hardware prefetcher (1x1 layers read x in place) */
    __builtin_prefetch(xc + toff[0] + RW * VL * 2);
    UNROLL for (int t = 0; t < ntaps; t++, wp += MB) {
      const float *xp = NT == 1 ? xc : xc + toff[t];
      vec_t xv[RW];
      UNROLL for (int r = 0; r < rw; r++) xv[r] = VLOAD(xp + r * VL);
      UNROLL for (int m = 0; m < MB; m++) {
        const vec_t wv = VBCAST(wp + m);
        UNROLL for (int r = 0; r < rw; r++) acc[m][r] = VFMA(wv, xv[r], acc[m][r]);
      }
    }
  }
  UNROLL for (int m = 0; m < MB; m++) {
    UNROLL for (int r = 0; r < rw; r++) VSTORE(part + (m * RW + r) * VL, acc[m][r]);
  }
}

/* Lines of the next tile's input one block call fetches (into L2) while
 * it computes, one per reduction step: n channels from p, cs floats
 * apart, DPF_NL lines each (see dense_tiles_packed). */
#define DPF_NL (RW * VL / 16 + 1)
typedef struct {
  const float *p;
  int64_t n, cs;
} DensePf;

/* The packed K loop: acc[m][r] += w[k][m] * x[k][r] over the panel xp
 * ([K][RW*VL]) and the block's weights wp ([K][MB]); rw is a compile-time
 * constant after inlining, acc stays in registers. pf: lines to prefetch
 * (NULL: none). */
static ALWAYS_INLINE void packed_kloop(vec_t acc[MB][RW], const float *xp, const float *wp, int64_t K, const int rw,
                                       const DensePf *pf) {
  const float *pp = pf ? pf->p : NULL;
  const int64_t npf = pf ? pf->n * DPF_NL : 0, pcs = pf ? pf->cs : 0;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 4
#endif
  for (int64_t k = 0; k < K; k++, xp += RW * VL, wp += MB) {
    if (k < npf)
      __builtin_prefetch(pp + k / DPF_NL * pcs + k % DPF_NL * 16, 0, 2);
    vec_t xv[RW];
    UNROLL for (int r = 0; r < rw; r++) xv[r] = VLOAD(xp + r * VL);
    UNROLL for (int m = 0; m < MB; m++) {
      const vec_t wv = VBCAST(wp + m);
      UNROLL for (int r = 0; r < rw; r++) acc[m][r] = VFMA(wv, xv[r], acc[m][r]);
    }
  }
}

/* The same micro-kernel over a packed panel: xp holds the tile's input
 * as [K][RW*VL] (K = channels x taps of the chunk, 64-byte aligned), so
 * every load is aligned and contiguous whatever the taps, stride or
 * channel stride, and the K loop is one uniform stream. */
static ALWAYS_INLINE void dense_block_packed(const float *xp, const float *wp, int64_t K, const int rw, float *part,
                                             const int first, const DensePf *pf) {
  vec_t acc[MB][RW];
  UNROLL for (int m = 0; m < MB; m++) {
    UNROLL for (int r = 0; r < rw; r++) acc[m][r] = first ? VZERO() : VLOAD(part + (m * RW + r) * VL);
  }
  packed_kloop(acc, xp, wp, K, rw, pf);
  UNROLL for (int m = 0; m < MB; m++) {
    UNROLL for (int r = 0; r < rw; r++) VSTORE(part + (m * RW + r) * VL, acc[m][r]);
  }
}

/* The one-vector tail of a row of tiles (rw = 1) for two channel blocks
 * at once: 2*MB accumulators instead of MB, so the FMA latency is hidden
 * (MB = 4 chains ran at half the FMA rate). w2 = the second block's
 * weights; part2 its slot. */
static __attribute__((noinline)) void dense_packed_pair(const float *xp, const float *wp, const float *w2, int64_t K,
                                                        float *part, float *part2, const int first) {
  vec_t acc[2 * MB];
  UNROLL for (int m = 0; m < MB; m++) {
    acc[m] = first ? VZERO() : VLOAD(part + m * RW * VL);
    acc[MB + m] = first ? VZERO() : VLOAD(part2 + m * RW * VL);
  }
  for (int64_t k = 0; k < K; k++, xp += RW * VL, wp += MB, w2 += MB) {
    const vec_t xv = VLOAD(xp);
    UNROLL for (int m = 0; m < MB; m++) {
      acc[m] = VFMA(VBCAST(wp + m), xv, acc[m]);
      acc[MB + m] = VFMA(VBCAST(w2 + m), xv, acc[MB + m]);
    }
  }
  UNROLL for (int m = 0; m < MB; m++) {
    VSTORE(part + m * RW * VL, acc[m]);
    VSTORE(part2 + m * RW * VL, acc[MB + m]);
  }
}

/* The packed micro-kernel with the epilogue in registers, for a full tile
 * (RW vectors; off[r]: the plane offset of vector r, or -1 when it
 * crosses a row end and goes as runs[r]): the reduction's last chunk
 * (part: the earlier chunks' sums, NULL for one chunk) ends in the
 * stores, with no second pass. On ResNet-50's 1x1 64->256 @56 the
 * separate epilogue was 22% of the layer (the slot's stores and reloads,
 * the call, the grid positions found again per call). nxt: plane offset
 * of the next tile's outputs (-1: none), fetched for writing (see
 * dense_epilogue). */
static ALWAYS_INLINE void dense_packed_fused(const MscDenseArgs *a, const float *xp, const float *wp, int64_t K,
                                             int64_t mblk, const int64_t *off, const DenseRuns *runs, int64_t nxt,
                                             const float *part, const DensePf *pf, const MscActivation act,
                                             const int res) {
  vec_t acc[MB][RW];
  UNROLL for (int m = 0; m < MB; m++) {
    UNROLL for (int r = 0; r < RW; r++) acc[m][r] = part ? VLOAD(part + (m * RW + r) * VL) : VZERO();
  }
  packed_kloop(acc, xp, wp, K, RW, pf);
  const int64_t mcount = MIN((int64_t) MB, a->M - mblk * MB);
  UNROLL for (int m = 0; m < MB; m++) {
    if (m >= mcount)
      break;
    const int64_t ch = mblk * MB + m;
    float *yp = a->y + ch * a->OHW;
    const float *rp = res ? a->res + ch * a->OHW : NULL;
    if (nxt >= 0)
      for (int l = 0; l < RW * VL; l += 16) {
        __builtin_prefetch(yp + nxt + l, 1, 3);
        if (res)
          __builtin_prefetch(rp + nxt + l, 0, 3);
      }
    const vec_t bias = VSET1(a->bias[ch]);
    UNROLL for (int r = 0; r < RW; r++) {
      if (off[r] < 0) { /* crosses a row end: its runs */
        dense_store_runs(a, &runs[r], acc[m][r], bias, yp, rp, act);
        continue;
      }
      vec_t v = VADD(acc[m][r], bias);
      if (res)
        v = VADD(v, VLOAD(rp + off[r]));
      VSTORE(yp + off[r], act_vec(v, act, a->act_a, a->act_b));
    }
  }
}

/* One out-of-line function per activation x residual; the part / NULL
 * branch gives each a constant-folded variant of the accumulator start. */
typedef void (*DenseFusedFn)(const MscDenseArgs *a, const float *xp, const float *wp, int64_t K, int64_t mblk,
                             const int64_t *off, const DenseRuns *runs, int64_t nxt, const float *part,
                             const DensePf *pf);
#define DF_FN(NAME, ACT, RES)                                                                                       \
  static __attribute__((noinline)) void dense_fused_##NAME##_##RES(const MscDenseArgs *a, const float *xp,          \
                                                                   const float *wp, int64_t K, int64_t mblk,       \
                                                                   const int64_t *off, const DenseRuns *runs,      \
                                                                   int64_t nxt, const float *part,                 \
                                                                   const DensePf *pf) {                            \
    if (part)                                                                                                       \
      dense_packed_fused(a, xp, wp, K, mblk, off, runs, nxt, part, pf, ACT, RES);                                   \
    else                                                                                                            \
      dense_packed_fused(a, xp, wp, K, mblk, off, runs, nxt, NULL, pf, ACT, RES);                                   \
  }
DF_FN(none, MSC_ACT_NONE, 0)
DF_FN(none, MSC_ACT_NONE, 1)
DF_FN(relu, MSC_ACT_RELU, 0)
DF_FN(relu, MSC_ACT_RELU, 1)
DF_FN(clip, MSC_ACT_CLIP, 0)
DF_FN(clip, MSC_ACT_CLIP, 1)
DF_FN(hswish, MSC_ACT_HARD_SWISH, 0)
DF_FN(hswish, MSC_ACT_HARD_SWISH, 1)
DF_FN(any, a->act, 0)
DF_FN(any, a->act, 1)

/* The fused kernel for @a's activation and residual. */
static DenseFusedFn dense_fused_fn(const MscDenseArgs *a) {
  const int r = a->res != NULL;
  switch (a->act) {
  case MSC_ACT_NONE:
    return r ? dense_fused_none_1 : dense_fused_none_0;
  case MSC_ACT_RELU:
    return r ? dense_fused_relu_1 : dense_fused_relu_0;
  case MSC_ACT_CLIP:
    return r ? dense_fused_clip_1 : dense_fused_clip_0;
  case MSC_ACT_HARD_SWISH:
    return r ? dense_fused_hswish_1 : dense_fused_hswish_0;
  default:
    return r ? dense_fused_any_1 : dense_fused_any_0;
  }
}

/* Plane offset of the outputs of the grid tile after the one of rw
 * vectors at o0, or -1 past the grid's end. */
static inline int64_t dense_next_off(const MscDenseArgs *a, int64_t o0, int rw) {
  const int64_t nxt = o0 + (int64_t) rw * VL;
  if (nxt >= a->P)
    return -1;
  const int64_t nh = nxt / a->Wq;
  return nh * a->OW + MIN(nxt - nh * a->Wq, a->OW);
}

/* Bias, residual and activation of the finished sums of blocks
 * [mb0, mb1) (consecutive MB*RW*VL slots of part[]), stored to the output
 * planes. rw and act are compile-time constants after inlining; the grid
 * positions of the tile's vectors are computed once per call. */
static ALWAYS_INLINE void dense_epilogue(const MscDenseArgs *a, int64_t o0, int64_t mb0, int64_t mb1, const int rw,
                                         const float *part, const MscActivation act) {
  int64_t oh[RW], ow[RW];
  gboolean fast[RW];
  DenseRuns runs[RW];
  UNROLL for (int r = 0; r < rw; r++) {
    fast[r] = dense_vec_pos(a, o0 + r * VL, &oh[r], &ow[r]);
    /* lanes k < n only are read; lane 0 set for GCC's sake (scalar VL = 1) */
    runs[r].n = runs[r].lo[0] = runs[r].hi[0] = 0;
    runs[r].base[0] = 0;
    if (!fast[r])
      dense_runs(a, o0 + r * VL, oh[r], ow[r], &runs[r]);
  }
  /* the next tile's output lines, fetched for writing while this tile's
   * are stored: tiles write MB x groups of planes at once (64 on the
   * squeezenet stem), too many streams for the hardware prefetcher, and
   * past L2 every first store to a line waited on its read for ownership */
  const int64_t nxt = dense_next_off(a, o0, rw);
  const float aa = a->act_a, ab = a->act_b;
  for (int64_t mblk = mb0; mblk < mb1; mblk++, part += MB * RW * VL) {
    const int64_t mcount = MIN((int64_t) MB, a->M - mblk * MB);
    for (int64_t m = 0; m < mcount; m++) {
      const int64_t ch = mblk * MB + m;
      float *yp = a->y + ch * a->OHW;
      const float *rp = a->res ? a->res + ch * a->OHW : NULL;
      if (nxt >= 0) /* prefetches never fault */
        for (int l = 0; l < RW * VL; l += 16) {
          __builtin_prefetch(yp + nxt + l, 1, 3);
          if (rp) /* the residual's lines: as many streams as the output's */
            __builtin_prefetch(rp + nxt + l, 0, 3);
        }
      const vec_t bias = VSET1(a->bias[ch]);
      UNROLL for (int r = 0; r < rw; r++) {
        const vec_t acc = VLOAD(part + (m * RW + r) * VL);
        if (fast[r]) {
          const int64_t off = oh[r] * a->OW + ow[r];
          vec_t v = VADD(acc, bias);
          if (rp)
            v = VADD(v, VLOAD(rp + off));
          VSTORE(yp + off, act_vec(v, act, aa, ab));
        } else {
          dense_store_runs(a, &runs[r], acc, bias, yp, rp, act);
        }
      }
    }
  }
}

/* dense_epilogue with the activation compiled in where it has a variant. */
static ALWAYS_INLINE void dense_epilogue_act(const MscDenseArgs *a, int64_t o0, int64_t mb0, int64_t mb1, const int rw,
                                             const float *part) {
#define DENSE_EPI_CALL(ACT) dense_epilogue(a, o0, mb0, mb1, rw, part, ACT)
  ACT_DISPATCH(a->act, DENSE_EPI_CALL);
#undef DENSE_EPI_CALL
}

/* partial-sum slots per pass over the channel chunks (32 KB) */
#define PART_FLOATS 8192
#define PART_BLOCKS (PART_FLOATS / (MB * RW * VL))

/* One out-of-line function per (rw, taps, first) and per rw for the
 * epilogue: inlined all into one big dense() GCC spills the accumulators. */
typedef void (*DenseBlockFn)(const MscDenseArgs *a, int64_t o0, int64_t mb, int64_t c0, int64_t c1, float *part);
typedef void (*DenseEpiFn)(const MscDenseArgs *a, int64_t o0, int64_t mb0, int64_t mb1, const float *part);
#define DB_FN(R, N, F)                                                                                              \
  static __attribute__((noinline)) void dense_block_##R##_##N##_##F(const MscDenseArgs *a, int64_t o0, int64_t mb, \
                                                                    int64_t c0, int64_t c1, float *part) {         \
    dense_block(a, o0, mb, R, N, c0, c1, part, F);                                                                  \
  }
#define DB_TAPS(R)                                                                                                  \
  DB_FN(R, 0, 0) DB_FN(R, 0, 1) DB_FN(R, 1, 0) DB_FN(R, 1, 1) DB_FN(R, 9, 0) DB_FN(R, 9, 1)                        \
  static __attribute__((noinline)) void dense_epi_##R(const MscDenseArgs *a, int64_t o0, int64_t mb0,              \
                                                      int64_t mb1, const float *part) {                             \
    dense_epilogue_act(a, o0, mb0, mb1, R, part);                                                                   \
  }                                                                                                                 \
  DBP_FN(R, 0) DBP_FN(R, 1)
#define DB_ROW(R, N) {dense_block_##R##_##N##_0, dense_block_##R##_##N##_1}
typedef void (*DensePackedFn)(const float *xp, const float *wp, int64_t K, float *part, const DensePf *pf);
#define DBP_FN(R, F)                                                                                                \
  static __attribute__((noinline)) void dense_packed_##R##_##F(const float *xp, const float *wp, int64_t K,         \
                                                               float *part, const DensePf *pf) {                   \
    dense_block_packed(xp, wp, K, R, part, F, pf);                                                                  \
  }
#define DBP_ROW(R) {dense_packed_##R##_0, dense_packed_##R##_1}
DB_TAPS(1)
#if RW >= 2
DB_TAPS(2)
#endif
#if RW >= 3
DB_TAPS(3)
#endif
#if RW >= 4
DB_TAPS(4)
#endif
#if RW > 4
#error "dense: add rows to the block table for RW > 4"
#endif
/* [taps variant: 0 generic, 1 1x1, 2 3x3][rw-1][first] */
static const DenseBlockFn dense_block_table[3][RW][2] = {
    {DB_ROW(1, 0),
#if RW >= 2
     DB_ROW(2, 0),
#endif
#if RW >= 3
     DB_ROW(3, 0),
#endif
#if RW >= 4
     DB_ROW(4, 0),
#endif
    },
    {DB_ROW(1, 1),
#if RW >= 2
     DB_ROW(2, 1),
#endif
#if RW >= 3
     DB_ROW(3, 1),
#endif
#if RW >= 4
     DB_ROW(4, 1),
#endif
    },
    {DB_ROW(1, 9),
#if RW >= 2
     DB_ROW(2, 9),
#endif
#if RW >= 3
     DB_ROW(3, 9),
#endif
#if RW >= 4
     DB_ROW(4, 9),
#endif
    },
};
static const DensePackedFn dense_packed_table[RW][2] = {
    DBP_ROW(1),
#if RW >= 2
    DBP_ROW(2),
#endif
#if RW >= 3
    DBP_ROW(3),
#endif
#if RW >= 4
    DBP_ROW(4),
#endif
};
static const DenseEpiFn dense_epi_table[RW] = {
    dense_epi_1,
#if RW >= 2
    dense_epi_2,
#endif
#if RW >= 3
    dense_epi_3,
#endif
#if RW >= 4
    dense_epi_4,
#endif
};

/* Input channels are split into chunks whose tile footprint fits in L1
 * (with 256 channels a tile's input is ~100 KB and would be re-read from
 * L2 for every output-channel block); each chunk sweeps the blocks. */
static void dense_tiles(const MscDenseArgs *a, int64_t tile0, int64_t tile1, int64_t mb0, int64_t mb1, int nt,
                        int64_t cb) {
  const int64_t tile_pts = (int64_t) RW * VL;
  float part[PART_FLOATS] __attribute__((aligned(64)));
  if (cb >= a->C)
    cb = a->C;
  for (int64_t tile = tile0; tile < tile1; tile++) {
    const int64_t o0 = tile * tile_pts;
    int64_t rw = (a->P - o0 + VL - 1) / VL;
    if (rw > RW)
      rw = RW;
    const DenseBlockFn *fns = dense_block_table[nt][rw - 1];
    const DenseEpiFn epi = dense_epi_table[rw - 1];
    if (cb == a->C) {
      for (int64_t mb = mb0; mb < mb1; mb++) {
        fns[1](a, o0, mb, 0, a->C, part);
        epi(a, o0, mb, mb + 1, part);
      }
      continue;
    }
    for (int64_t g0 = mb0; g0 < mb1; g0 += PART_BLOCKS) {
      const int64_t g1 = MIN(mb1, g0 + PART_BLOCKS);
      for (int64_t c0 = 0; c0 < a->C; c0 += cb) {
        const int64_t c1 = MIN(a->C, c0 + cb);
        const DenseBlockFn fn = fns[c0 == 0];
        float *pp = part;
        for (int64_t mb = g0; mb < g1; mb++, pp += MB * RW * VL)
          fn(a, o0, mb, c0, c1, pp);
      }
      epi(a, o0, g0, g1, part);
    }
  }
}

/* panel floats: [K][RW*VL] for K = chunk channels x taps (16 KB) */
#define PACK_FLOATS MSC_DENSE_PACK_FLOATS
#define PACK_K (PACK_FLOATS / (RW * VL))

/* Copies rw vectors of grid points from o0 for channels [c0, c1) x taps
 * into the panel (row stride RW*VL). */
static void dense_pack(const MscDenseArgs *a, int64_t o0, int rw, int64_t c0, int64_t c1, float *xp, const int prefetch) {
  const float *xc = a->x + o0 + c0 * a->cstride;
  if (a->x_exact && o0 + rw * VL > a->P) { /* in place, last tile: the partial vector masked */
    const vmask_t m = VMASK_RANGE(0, a->P - (o0 + (rw - 1) * VL));
    for (int64_t c = c0; c < c1; c++, xc += a->cstride, xp += RW * VL) {
      for (int r = 0; r < rw - 1; r++)
        VSTORE(xp + r * VL, VLOAD(xc + r * VL));
      VSTORE(xp + (rw - 1) * VL, VLOAD_MASK(xc + (rw - 1) * VL, m));
    }
    return;
  }
  for (int64_t c = c0; c < c1; c++, xc += a->cstride) {
    for (int t = 0; t < a->ntaps; t++, xp += RW * VL) {
      const float *src = xc + a->toff[t];
      /* the next tile's lines of this tap (prefetches never fault): the
       * tile reads C x taps short runs, too many streams for the hardware
       * prefetcher, and without this ~3/4 of the packing time (7% of
       * ResNet-50) went waiting on those loads */
      if (prefetch)
        UNROLL for (int l = 0; l < DPF_NL; l++)
          __builtin_prefetch(src + RW * VL + l * 16);
      for (int r = 0; r < rw; r++)
        VSTORE(xp + r * VL, VLOAD(src + r * VL));
    }
  }
}

/* dense_pack for MscDenseArgs.xpos: rw vectors of output positions from
 * q0 (position q = oh*OW + ow reads grid point oh*gWq + ow) for channels
 * [c0, c1) x taps. With OW >= VL (the plan's rule) a vector holds at most
 * one row end: its lanes from k on come from a second load at the next
 * grid row, blended in. Aligned stores, the same loads as dense_pack plus
 * one per row end; lanes past the last position read grid points inside
 * the phase grid's extra row and margin, and are dropped. */
static void dense_pack_pos(const MscDenseArgs *a, int64_t q0, int rw, int64_t c0, int64_t c1, float *xp) {
  int64_t sa[RW], sb[RW];
  int brk[RW];
  vmask_t mk[RW];
  for (int r = 0; r < RW; r++) {
    const int64_t q = q0 + r * VL, oh = q / a->OW, ow = q - oh * a->OW, k = a->OW - ow;
    sa[r] = oh * a->gWq + ow;
    brk[r] = k < VL;
    sb[r] = (oh + 1) * a->gWq - k; /* lane k: the next row's first point */
    mk[r] = VMASK_RANGE(brk[r] ? k : VL, VL);
  }
  /* the next tile's first grid point, fetched ahead as dense_pack does */
  const int64_t qn = q0 + RW * VL, nh = qn / a->OW, gn = qn < a->P ? nh * a->gWq + (qn - nh * a->OW) : -1;
  const float *xc = a->x + c0 * a->cstride;
  for (int64_t c = c0; c < c1; c++, xc += a->cstride) {
    for (int t = 0; t < a->ntaps; t++, xp += RW * VL) {
      const float *src = xc + a->toff[t];
      if (gn >= 0)
        UNROLL for (int l = 0; l <= RW * VL / 16; l++)
          __builtin_prefetch(src + gn + l * 16);
      UNROLL for (int r = 0; r < RW; r++) {
        if (r >= rw)
          break;
        vec_t v = VLOAD(src + sa[r]);
        if (brk[r])
          v = VBLEND_M(v, VLOAD(src + sb[r]), mk[r]);
        VSTORE(xp + r * VL, v);
      }
    }
  }
}

/* dense_tiles over packed panels. Output-channel blocks go in groups of
 * up to PART_BLOCKS (the partial-sum slots): per group, per tile and chunk
 * of cb channels (cb * taps <= PACK_K), pack the tile's input once, sweep
 * the group's blocks, then run their epilogues. Every group repacks the
 * tile, so groups are as large as the slots allow and the weights stream
 * from L3 (1-3 bytes per cycle, which L3 sustains). Groups sized to keep
 * the weights in 256 KB of L2 repacked 1x1 1024->256 @14 four times (the
 * pack took 14% of the layer); one group: 0.885-0.93x the time at 1 and
 * 2 threads, 1024->512 @14 0.81-0.90x, no layer of ResNet-50 or SqueezeNet
 * slower (conv-bench --ab). With 3 blocks per group (3x3 512->512) the
 * packing had taken 37%. */
static void dense_tiles_packed(const MscDenseArgs *a, int64_t tile0, int64_t tile1, int64_t mb0, int64_t mb1,
                               int64_t cb) {
  const int64_t tile_pts = (int64_t) RW * VL;
  float part[PART_FLOATS] __attribute__((aligned(64)));
  float xp[PACK_FLOATS] __attribute__((aligned(64)));
  const int64_t kstride = a->ntaps * MB; /* weight floats per input channel of one block */
  const DenseFusedFn ffn = a->fuse ? dense_fused_fn(a) : NULL;
  /* spread the next tile's prefetch over the block calls (1x1 on the grid
   * or in place, an input past L2 (the plan's spread_pf), and enough
   * blocks that a call prefetches on at most every other K step: with 4
   * blocks, 256->32 @27 ran 0.90x) */
  const int64_t nblk = MIN(mb1 - mb0, (int64_t) PART_BLOCKS);
  const gboolean spread = a->ntaps == 1 && !a->xpos && nblk >= 2 * DPF_NL && a->spread_pf;
  for (int64_t g0 = mb0; g0 < mb1; g0 += PART_BLOCKS) {
    const int64_t g1 = MIN(mb1, g0 + PART_BLOCKS);
    for (int64_t tile = tile0; tile < tile1; tile++) {
      const int64_t o0 = tile * tile_pts;
      int64_t rw = (a->P - o0 + VL - 1) / VL;
      if (rw > RW)
        rw = RW;
      const DensePackedFn *fns = dense_packed_table[rw - 1];
      const DenseEpiFn epi = dense_epi_table[rw - 1];
      /* a full tile: the last chunk's kernel stores the outputs
       * (dense_packed_fused); off[r] < 0: vector r crosses a row end */
      int64_t off[RW], oh, ow;
      DenseRuns runs[RW];
      const gboolean fused = ffn && rw == RW;
      for (int r = 0; r < RW && fused; r++) {
        off[r] = -1;
        runs[r].n = 0;
        if (dense_vec_pos(a, o0 + r * VL, &oh, &ow))
          off[r] = oh * a->OW + ow;
        else
          dense_runs(a, o0 + r * VL, oh, ow, &runs[r]);
      }
      const int64_t nxt = fused ? dense_next_off(a, o0, RW) : -1;
      /* 1x1: the next tile's input lines are fetched by the block calls,
       * a share of the chunk's channels each, one line per reduction step
       * (spread_pf); else by the pack, all at once */
      const int64_t onext = o0 + tile_pts;
      const gboolean spread_pf = spread && onext < a->P && tile + 1 < tile1;
      for (int64_t c0 = 0; c0 < a->C; c0 += cb) {
        const int64_t c1 = MIN(a->C, c0 + cb);
        if (a->xpos)
          dense_pack_pos(a, o0, (int) rw, c0, c1, xp);
        else
          dense_pack(a, o0, (int) rw, c0, c1, xp, !spread);
        const DensePackedFn fn = fns[c0 == 0];
        const int64_t K = (c1 - c0) * a->ntaps, share = (c1 - c0 + (g1 - g0) - 1) / (g1 - g0);
        DensePf pf = {a->x + a->toff[0] + onext + c0 * a->cstride, 0, a->cstride};
        const DensePf *pfp = spread_pf ? &pf : NULL;
        float *pp = part;
        if (fused && c1 == a->C) {
          for (int64_t mb = g0; mb < g1; mb++, pp += MB * RW * VL, pf.p += share * a->cstride) {
            pf.n = MAX((int64_t) 0, MIN(share, c1 - c0 - (mb - g0) * share));
            ffn(a, xp, a->w + (mb * a->C + c0) * kstride, K, mb, off, runs, nxt, c0 == 0 ? NULL : pp, pfp);
          }
          break;
        }
        int64_t mb = g0;
        if (rw == 1) /* blocks in pairs (see dense_packed_pair) */
          for (; mb + 1 < g1; mb += 2, pp += 2 * MB * RW * VL)
            dense_packed_pair(xp, a->w + (mb * a->C + c0) * kstride, a->w + ((mb + 1) * a->C + c0) * kstride, K,
                              pp, pp + MB * RW * VL, c0 == 0);
        for (; mb < g1; mb++, pp += MB * RW * VL, pf.p += share * a->cstride) {
          pf.n = MAX((int64_t) 0, MIN(share, c1 - c0 - (mb - g0) * share));
          fn(xp, a->w + (mb * a->C + c0) * kstride, K, pp, pfp);
        }
      }
      if (!fused)
        epi(a, o0, g0, g1, part);
    }
  }
}

static void dense(const MscDenseArgs *a, int64_t tile0, int64_t tile1, int64_t mb0, int64_t mb1) {
  const int mode = a->pack;
  /* packing costs one copy of the tile's input per chunk, amortized over
   * the output-channel blocks: worth it from 4 blocks on */
  if (a->x_exact || a->xpos || (a->ntaps <= PACK_K && (mode == 1 || (mode == 2 && mb1 - mb0 >= 4)))) {
    int64_t cb = PACK_K / a->ntaps;
    if (cb < 1)
      cb = 1;
    if (cb < a->C) { /* equal chunks */
      const int64_t nchunks = (a->C + cb - 1) / cb;
      cb = (a->C + nchunks - 1) / nchunks;
    }
    dense_tiles_packed(a, tile0, tile1, mb0, mb1, cb);
    return;
  }
  /* chunk: ~16 KB of input lines per tile (a tap row spans ~2 lines) */
  const int64_t rows = a->ntaps == 1 ? 1 : (a->ntaps == 9 ? 3 : a->ntaps);
  int64_t cb = 16384 / (rows * 2 * 64);
  if (cb < 8)
    cb = 8;
  /* up to 2 chunks' worth (~32 KB) still fits L1 whole; else equal chunks */
  if (a->C <= 2 * cb) {
    cb = a->C;
  } else {
    const int64_t nchunks = (a->C + cb - 1) / cb;
    cb = (a->C + nchunks - 1) / nchunks;
  }
  const int nt = a->ntaps == 1 && a->toff[0] == 0 ? 1 : a->ntaps == 9 ? 2 : 0;
  dense_tiles(a, tile0, tile1, mb0, mb1, nt, cb);
}

/* Fills the real columns of ring row buffer for input row ih ([sw
 * phases][Wqd]); the pad columns were zeroed once per plane and are never
 * written, since every row of a plane has the same column layout. The
 * column ranges per phase come from the plan (no division per row). */
static ALWAYS_INLINE void dw_build_row(const MscDwArgs *a, const float *x, int64_t ih, float *buf) {
  const int64_t sw = a->sw, W = a->W, pl = a->pl, Wqd = a->Wqd;
  const gboolean zero = ih < 0 || ih >= a->H;
  const float *row = x + (zero ? 0 : ih * W);
  {
    /* the row built a few passes from now (past the plane end: the next
     * channel's first rows; prefetches never fault): a plane per task is
     * too short a stream for the hardware prefetcher to ramp up */
    const char *pf = (const char *) (x + (ih + 2 * (int64_t) a->sh + 2) * W);
    for (int64_t off = 0; off < W * (int64_t) sizeof(float); off += 64)
      __builtin_prefetch(pf + off);
  }
#if defined(VDEINT2_EVEN) && defined(VDEINT2_ODD)
  if (sw == 2 && !zero) {
    /* one pass over the row: row[i] belongs to phase (i+pl)%2, column
     * (i+pl)/2, so evens and odds of each 2*VL block go to one phase each */
    float *be = buf + (pl & 1) * Wqd + (pl >> 1), *bo = buf + ((pl + 1) & 1) * Wqd + ((pl + 1) >> 1);
    int64_t k = 0;
    for (; 2 * (k + VL) <= W; k += VL) {
      VSTORE(be + k, VDEINT2_EVEN(row + 2 * k));
      VSTORE(bo + k, VDEINT2_ODD(row + 2 * k));
    }
    for (; 2 * k < W; k++) {
      be[k] = row[2 * k];
      if (2 * k + 1 < W)
        bo[k] = row[2 * k + 1];
    }
    return;
  }
#endif
  for (int64_t px = 0; px < sw; px++) {
    float *b = buf + px * Wqd;
    const int64_t q0 = a->q0[px], q1 = a->q1[px];
    int64_t q = q0;
    if (zero) {
      for (; q + VL <= q1; q += VL)
        VSTORE(b + q, VZERO());
      for (; q < q1; q++)
        b[q] = 0.0f;
    } else if (sw == 1) {
      const float *src = row + px - pl;
      for (; q + VL <= q1; q += VL)
        VSTORE(b + q, VLOAD(src + q));
      for (; q < q1; q++)
        b[q] = src[q];
    } else {
      const float *src = row + px - pl;
#ifdef VDEINT2_EVEN
      /* stride 2: even lanes of two vectors (src[2q] for VL q's) */
      if (sw == 2)
        for (; q + VL <= q1 && 2 * (q + VL) + px - pl <= W; q += VL)
          VSTORE(b + q, VDEINT2_EVEN(src + 2 * q));
#endif
      for (; q < q1; q++)
        b[q] = src[q * sw];
    }
  }
}

/* Stores output vector v (n of its VL lanes, from the first) at yo:
 * plus the residual at ro (NULL: none), activation ACT. Shared by the
 * depthwise kernels. */
static ALWAYS_INLINE void dw_store(const MscDwArgs *a, vec_t v, float *yo, const float *ro, int64_t n,
                                   const MscActivation ACT) {
  if (n == VL) {
    if (ro)
      v = VADD(v, VLOAD(ro));
    VSTORE(yo, act_vec(v, ACT, a->act_a, a->act_b));
  } else {
    if (ro)
      v = VADD(v, VLOAD_MASK(ro, VMASK_RANGE(0, n)));
    VSTORE_RANGE(yo, act_vec(v, ACT, a->act_a, a->act_b), 0, (int) n);
  }
}

/* nv output vectors of one output row starting at column ow; rows[i]:
 * the input row buffer of kernel row i. tail: valid lanes of the last
 * vector (0 = all). Taps unrolled when KH/KW are compile-time constants. */
static ALWAYS_INLINE void dw_step(const MscDwArgs *a, const float *const *rows, const int64_t *coff, const float *w,
                                  const vec_t vb, const float *rrow, float *yrow, int64_t ow, const int nv,
                                  int64_t tail, const int KH, const int KW, const int UW, const MscActivation ACT) {
  const int kh = KH ? KH : a->kh, kw = KW ? KW : a->kw;
  vec_t acc[RWD];
  UNROLL for (int r = 0; r < nv; r++) acc[r] = vb;
  UNROLL for (int i = 0; i < kh; i++) {
    const float *rp = rows[i] + ow;
    UNROLL for (int j = 0; j < kw; j++) {
      const float *p = rp + (UW ? (int64_t) j : coff[j]);
      const vec_t wv = VBCAST(w + i * kw + j);
      UNROLL for (int r = 0; r < nv; r++) acc[r] = VFMA(wv, VLOAD(p + r * VL), acc[r]);
    }
  }
  UNROLL for (int r = 0; r < nv; r++)
    dw_store(a, acc[r], yrow + ow + r * VL, rrow ? rrow + ow + r * VL : NULL,
             r == nv - 1 && tail ? tail : (int64_t) VL, ACT);
}

/* One output row: full steps of RWD vectors, then one step of the 1..RWD
 * remaining vectors (the last one partial), so no column is computed twice
 * and none past the row but the last vector's lanes. */
static ALWAYS_INLINE void dw_rows(const MscDwArgs *a, const float *const *rows, const int64_t *coff, const float *w,
                                  float bias, const float *rrow, float *yrow, const int KH, const int KW, const int UW,
                                  const MscActivation ACT) {
  const int64_t nfull = a->OW / VL, tail = a->OW % VL, nvec = nfull + (tail ? 1 : 0);
  const vec_t vb = VSET1(bias);
  int64_t v = 0;
  for (; v + RWD <= nfull; v += RWD)
    dw_step(a, rows, coff, w, vb, rrow, yrow, v * VL, RWD, 0, KH, KW, UW, ACT);
  switch (nvec - v) {
#if RWD >= 4
  case 4: dw_step(a, rows, coff, w, vb, rrow, yrow, v * VL, 4, tail, KH, KW, UW, ACT); break;
#endif
#if RWD >= 3
  case 3: dw_step(a, rows, coff, w, vb, rrow, yrow, v * VL, 3, tail, KH, KW, UW, ACT); break;
#endif
#if RWD >= 2
  case 2: dw_step(a, rows, coff, w, vb, rrow, yrow, v * VL, 2, tail, KH, KW, UW, ACT); break;
#endif
  case 1: dw_step(a, rows, coff, w, vb, rrow, yrow, v * VL, 1, tail, KH, KW, UW, ACT); break;
  default: break;
  }
}

/* Picks the compile-time variant: kernel size, unit column offsets,
 * activation (a per-vector switch costs ~10%). 3x3 and 5x5 at stride 1
 * and dilation 1 never come here (f32-conv2d-dw-s1.inc.h). */
#define DW_SHAPES(ACT)                                                                                              \
  do {                                                                                                              \
    if (kh == 3 && kw == 3 && unit)                                                                                 \
      dw_rows(a, rows, coff, w, bias, rrow, yrow, 3, 3, 1, ACT);                                                    \
    else if (kh == 3 && kw == 3)                                                                                    \
      dw_rows(a, rows, coff, w, bias, rrow, yrow, 3, 3, 0, ACT);                                                    \
    else if (kh == 5 && kw == 5)                                                                                    \
      dw_rows(a, rows, coff, w, bias, rrow, yrow, 5, 5, 0, ACT);                                                    \
    else                                                                                                            \
      dw_rows(a, rows, coff, w, bias, rrow, yrow, 0, 0, 0, ACT);                                                    \
  } while (0)

static void dw_dispatch(const MscDwArgs *a, const float *const *rows, const int64_t *coff, const float *w, float bias,
                        const float *rrow, float *yrow) {
  const int kh = a->kh, kw = a->kw;
  const gboolean unit = a->sw == 1 && a->dw == 1;
  switch (a->act) {
  case MSC_ACT_NONE: DW_SHAPES(MSC_ACT_NONE); break;
  case MSC_ACT_RELU: DW_SHAPES(MSC_ACT_RELU); break;
  case MSC_ACT_CLIP: DW_SHAPES(MSC_ACT_CLIP); break;
  case MSC_ACT_HARD_SWISH: DW_SHAPES(MSC_ACT_HARD_SWISH); break;
  default: /* rarer epilogues: the activation stays a runtime switch */
    dw_rows(a, rows, coff, w, bias, rrow, yrow, 0, 0, 0, a->act);
    break;
  }
}

#include "f32-conv2d-dw-s1.inc.h"
#include "f32-conv2d-dw-s2.inc.h"

static void depthwise(const MscDwArgs *a, const float *x, const float *w, float bias, const float *res, float *y,
                      float *scratch) {
  if (msc_dws_supported(a->kh, a->kw, a->sh, a->sw, a->dh, a->dw)) {
    dw_s1(a, x, w, bias, res, y, scratch);
    return;
  }
  if (msc_dws2_supported(a->kh, a->kw, a->sh, a->sw, a->dh, a->dw)) {
    dw_s2(a, x, w, bias, res, y, scratch);
    return;
  }
  const int kh = a->kh, kw = a->kw, dh = a->dh, dw = a->dw, sw = a->sw, nring = a->nring;
  const int64_t rowsz = (int64_t) sw * a->Wqd;
  int64_t coff[64]; /* per-tap column offsets into a row buffer */
  for (int j = 0; j < kw; j++)
    coff[j] = (int64_t) ((j * dw) % sw) * a->Wqd + (j * dw) / sw;
  memset(scratch, 0, sizeof(float) * (size_t) (nring * rowsz));
  /* Ring: input row ih lives in slot (ih + pt) % nring; the slots advance
   * incrementally (no division per row). */
  int64_t next = -a->pt; /* next input row to build */
  int nslot = 0;         /* its slot */
  int slot0 = 0;         /* slot of the first input row of output row oh */
  const int sh_mod = a->sh % nring, dh_mod = dh % nring;
  for (int64_t oh = 0; oh < a->OH; oh++) {
    const int64_t ih0 = oh * a->sh - a->pt;
    const int64_t ihl = ih0 + (int64_t) (kh - 1) * dh;
    if (next < ih0) { /* stride taller than the kernel: skip unused rows */
      nslot = (int) ((nslot + (ih0 - next)) % nring);
      next = ih0;
    }
    for (; next <= ihl; next++) {
      dw_build_row(a, x, next, scratch + nslot * rowsz);
      if (++nslot == nring)
        nslot = 0;
    }
    const float *rows[34];
    int slot = slot0;
    for (int i = 0; i < kh; i++) {
      rows[i] = scratch + slot * rowsz;
      slot += dh_mod;
      if (slot >= nring)
        slot -= nring;
    }
    float *yrow = y + oh * a->OW;
    const float *rrow = res ? res + oh * a->OW : NULL;
    dw_dispatch(a, rows, coff, w, bias, rrow, yrow);
    slot0 += sh_mod;
    if (slot0 >= nring)
      slot0 -= nring;
  }
}

/* Even and odd floats of src[0, 2n) into even[0, n), odd[0, n). A row
 * tail shorter than a vector is one more vector step ending at n (it
 * rewrites a few outputs with the same values): the scalar tail had been
 * half of the phase split of small strided stems (3x64x64: 31 columns per
 * phase row, 7 of them scalar). */
static void deint2(const float *src, int64_t n, float *even, float *odd) {
  int64_t q = 0;
#if defined(VDEINT2_EVEN) && defined(VDEINT2_ODD)
  for (; q + VL <= n; q += VL) {
    VSTORE(even + q, VDEINT2_EVEN(src + 2 * q));
    VSTORE(odd + q, VDEINT2_ODD(src + 2 * q));
  }
  if (q < n && n >= VL) {
    q = n - VL;
    VSTORE(even + q, VDEINT2_EVEN(src + 2 * q));
    VSTORE(odd + q, VDEINT2_ODD(src + 2 * q));
    return;
  }
#endif
  for (; q < n; q++) {
    even[q] = src[2 * q];
    odd[q] = src[2 * q + 1];
  }
}

/* Every other float: even[q] = src[2q] for q < n. The vector steps read 2 VL floats, so they stop
 * while a whole vector still lies before src[2n - 2] (nothing past the last element read is touched:
 * it may end the tensor); the tail is one overlapping vector step and the last element. */
static void pick2(const float *src, int64_t n, float *even) {
  int64_t q = 0;
#if defined(VDEINT2_EVEN)
  for (; q + VL < n; q += VL)
    VSTORE(even + q, VDEINT2_EVEN(src + 2 * q));
  if (q < n - 1 && n > VL) {
    VSTORE(even + n - 1 - VL, VDEINT2_EVEN(src + 2 * (n - 1 - VL)));
    q = n - 1;
  }
#endif
  for (; q < n; q++)
    even[q] = src[2 * q];
}

/* The stride-1 phase grid of one input plane (see MscConv2dKernels.pack_s1):
 * one load (masked at the pad columns) and one store per vector. A row's
 * last vector runs up to VL - 1 floats into the rows after it with zeros,
 * which are written after it; a store that would pass the plane's end
 * (rows narrower than a vector: AVX-512 on a 4x4 map) is cut there, and the
 * zero row past the grid is written exactly: nothing past the plane is
 * touched (the next channel's plane may be another thread's). */
#define PACK_S1_COLS 64 /* column vectors whose load kind and mask are found once per plane */
static void pack_s1(const float *src, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t q0, int64_t q1,
                    int64_t Hq, int64_t Wq, float *dst) {
  const vec_t z = VZERO();
  /* per column vector: 2 whole load, 1 masked, 0 none; the same in every row (on an 8x8 map the masks,
   * found per vector, had been most of this copy: 10% of a 0.16 ms net) */
  const int64_t nv = (Wq + VL - 1) / VL;
  signed char kind[PACK_S1_COLS];
  vmask_t mk[PACK_S1_COLS];
  for (int64_t k = 0; k < nv && k < PACK_S1_COLS; k++) {
    const int64_t q = k * VL, lo = MAX(q0 - q, (int64_t) 0), hi = MIN(q1 - q, (int64_t) VL);
    kind[k] = (signed char) (lo == 0 && hi == VL ? 2 : lo < hi ? 1 : 0);
    mk[k] = VMASK_RANGE(kind[k] == 1 ? lo : 0, kind[k] == 1 ? hi : 0);
  }
  for (int64_t rq = 0; rq < Hq; rq++) {
    const int64_t ih = rq - pt, room = (Hq + 1 - rq) * Wq; /* floats from this row's start to the plane's end */
    float *d = dst + rq * Wq;
    const gboolean real = ih >= 0 && ih < H && q1 > q0;
    /* grid column q reads input column q - pl: the base may lie before the row, only lanes in [q0, q1) are read */
    const uintptr_t base = real ? (uintptr_t) (src + ih * W) - (uintptr_t) pl * sizeof(float) : 0;
    if (real && ih + 2 < H && H * W > MSC_PREFETCH_MIN_PLANE) /* rows a few ahead: every task starts a new
                                                                 plane, too short a stream to ramp up */
      for (int64_t off = 0; off < W; off += 16)
        __builtin_prefetch(src + (ih + 2) * W + off);
    for (int64_t q = 0, k = 0; q < Wq; q += VL, k++) {
      const float *sp = (const float *) (base + (uintptr_t) q * sizeof(float));
      vec_t v = z;
      if (k < PACK_S1_COLS) {
        if (real && kind[k] == 2)
          v = VLOAD(sp);
        else if (real && kind[k] == 1)
          v = VLOAD_MASK(sp, mk[k]);
      } else if (real && q >= q0 && q + VL <= q1) {
        v = VLOAD(sp);
      } else if (real) {
        const int64_t lo = MAX(q0 - q, (int64_t) 0), hi = MIN(q1 - q, (int64_t) VL);
        if (lo < hi)
          v = VLOAD_MASK(sp, VMASK_RANGE(lo, hi));
      }
      if (q + VL <= room)
        VSTORE(d + q, v);
      else
        VSTORE_RANGE(d + q, v, 0, (int) (room - q));
    }
  }
  memset(dst + Hq * Wq, 0, sizeof(float) * (size_t) Wq);
}

/* 12 independent FMA chains of vectors: enough to cover FMA latency x
 * throughput (4 x 2 on current x86 cores) with registers to spare. */
static double fma_loop(int64_t iters) {
  vec_t acc[12];
  UNROLL for (int i = 0; i < 12; i++) acc[i] = VSET1((float) i * 1e-3f);
  const vec_t m = VSET1(0.999999f), c = VSET1(1e-7f);
  for (int64_t it = 0; it < iters; it++) {
    UNROLL for (int i = 0; i < 12; i++) acc[i] = VFMA(acc[i], m, c);
#if defined(__x86_64__) || defined(__i386__)
    /* keeps the chains from being collapsed or hoisted */
    __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]), "+x"(acc[3]), "+x"(acc[4]), "+x"(acc[5]));
#endif
  }
  float t[VL], s = 0.0f;
  UNROLL for (int i = 0; i < 12; i++) {
    VSTORE(t, acc[i]);
    s += t[0];
  }
  volatile float sink = s;
  (void) sink;
  return (double) iters * 12.0 * VL * 2.0;
}

#include "f32-conv2d-winograd.inc.h"
#include "f32-conv2d-cvec.inc.h"

const MscConv2dKernels KTABLE = {
  .isa = MSC_ISA_ENUM,
  .vl = VL,
  .mb = MB,
  .rw = RW,
  .rwd = RWD,
  .dense = dense,
  .cv_np = CV_NP,
  .cv_np2 = CV_NP2,
  .cv_cb = CV_CB,
  .cvec = cvec,
  .depthwise = depthwise,
  .winograd = winograd,
  .wino_input = wino_input_range,
  .wino_pack = wino_pack,
  .deint2 = deint2,
  .pick2 = pick2,
  .pack_s1 = pack_s1,
  .fma_loop = fma_loop,
};
