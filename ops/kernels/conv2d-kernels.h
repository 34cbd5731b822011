/* conv2d-kernels.h: internal interface between the conv2d plan and the
 * per-ISA kernel files (f32-conv2d-direct-<isa>.c, all generated from the
 * one template f32-conv2d-direct.inc.h). Not installed. */
#ifndef MSC_CONV2D_KERNELS_H
#define MSC_CONV2D_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "conv2d-plan.h"

/* Dense direct convolution over a "phase grid".
 *
 * The padded input is split by stride phase (space-to-depth) into
 * [C][sh*sw phases][Hq+1][Wq] planes, so every tap of every conv (any
 * stride, dilation, pad) reads CONTIGUOUS input along the flattened output
 * grid o = oh*Wq + ow: x[c*cstride + toff[tap] + o]. Grid columns ow >= OW
 * are computed and dropped (Wq is chosen as small as the zero padding
 * allows, see conv2d-plan.c). Output vectors run along o, output channels
 * are register-blocked (MB channels x RW vectors of accumulators). */
typedef struct {
  const float *x;      /* phase-split input of this image, channel 0 of this group */
  int64_t cstride;     /* floats between input channels */
  int64_t C;           /* input channels in the group */
  const int64_t *toff; /* per tap offsets into a channel */
  int ntaps;
  const float *w;    /* this group's packed weights: [mblocks][C][ntaps][MB] (cvec: [..][cv_cb]) */
  const float *bias; /* this group's bias, mblocks*MB entries (zero padded) */
  const float *res;  /* (nullable) residual, NCHW, this image + group */
  float *y;          /* output, NCHW, this image + group */
  int64_t M;         /* output channels in the group */
  int64_t P;         /* grid points: OH*Wq */
  int64_t Wq, OW, OHW;
  MscActivation act;
  float act_a, act_b;
  /* x is read in place with nothing readable past a channel's P points
   * (1x1/s1/p0, P not a multiple of VL): the kernel must take the packed
   * path, which loads the last partial vector masked */
  int x_exact;
  /* channel-vectorized 1x1 (nullable): this image + group's input packed
   * as [pixel block][C][cv_np] by the plan (conv2d-plan.c, cvec_pack_task):
   * each reduction step's cv_np broadcasts read one contiguous run, and a
   * block's whole reduction is one sequential stream */
  const float *xpanel;
  int cv_np;         /* cvec: pixels per register block, the table's cv_np or cv_np2 (the plan's choice) */
  gboolean fuse; /* dense: full tiles' epilogue in the last chunk's kernel (MSC_DENSE_FUSE=0 at plan time: off) */
  gboolean spread_pf; /* dense 1x1: the next tile's prefetch spread over the block calls (MSC_DENSE_SPREAD_PF=0: off) */
  int pack;      /* dense: packed panels 0 never, 1 always, 2 by shape (MSC_DENSE_PACK at plan time, unset: 2) */
  /* dense, packed path only: tiles run over the OUTPUT positions q =
   * oh*OW + ow, not over the grid, so the Wq - OW dropped columns of each
   * row are neither computed nor packed; the pack reads position q at grid
   * point oh*gWq + ow. Wq and P above are then OW and OH*OW (the output
   * side is the grid of a 1x1 conv), gWq the phase grid's row width. */
  int xpos;
  int64_t gWq;
} MscDenseArgs;

/* Floats of the dense kernel's packed panel ([K][rw*vl], K = channels x
 * taps of a chunk): a conv with more taps than MSC_DENSE_PACK_FLOATS /
 * (rw*vl) cannot take the packed path. */
#define MSC_DENSE_PACK_FLOATS 4096
/* Input planes of at most this many floats (32 KB) are copied into the phase grid without row
 * prefetches (pack_task, pack_s1): they come from L1 / L2, and on a 3x64x64 stem the prefetch loop
 * held a third of the copy's samples. */
#define MSC_PREFETCH_MIN_PLANE 8192

/* Depthwise: one (image, channel) plane per call. Input rows are padded
 * and phase-split on the fly into a small ring of row buffers (scratch),
 * so the inner loop is contiguous and branch-free. */
#define MSC_DW_MAX_SW 16 /* wider strides take the dense path */
typedef struct {
  int64_t H, W, OH, OW;
  int kh, kw, sh, sw, dh, dw;
  int64_t pt, pl;
  int64_t Wqd;  /* floats per phase in a row buffer */
  int nring;    /* rows in the ring: the dilated kernel height */
  int64_t q0[MSC_DW_MAX_SW], q1[MSC_DW_MAX_SW]; /* real columns [q0, q1) of each phase */
  MscActivation act;
  float act_a, act_b;
  /* 3x3 stride-1 pad-1 depthwise on small planes (msc_dwf_supported):
   * per flat output position o < fnpad, bit masks (all-ones or 0) of the
   * left tap (column != 0) at fmask[o] and of the right tap (column !=
   * W - 1) at fmask[fnpad + o]; NULL: not this kernel */
  const uint32_t *fmask;
  int64_t fnpad;
} MscDwArgs;

/* 3x3 stride-1 depthwise with pad 1 on every side on planes of at most
 * 16 columns (f32-conv2d-dw-s1.inc.h, dw_flat3): vectors run along the
 * flattened plane, whatever the row width. */
static inline gboolean msc_dwf_supported(int64_t H, int64_t W, int kh, int kw, int sh, int sw, int dh, int dw,
                                         int64_t pt, int64_t pl, int64_t pb, int64_t pr) {
  return kh == 3 && kw == 3 && sh == 1 && sw == 1 && dh == 1 && dw == 1 && pt == 1 && pl == 1 && pb == 1 &&
         pr == 1 && W >= 1 && W <= 16 && H >= 1;
}

/* KxK stride-1 depthwise (f32-conv2d-dw-s1.inc.h): square 3x3 or 5x5
 * kernels, stride 1, dilation 1. */
static inline gboolean msc_dws_supported(int kh, int kw, int sh, int sw, int dh, int dw) {
  return kh == kw && (kh == 3 || kh == 5) && sh == 1 && sw == 1 && dh == 1 && dw == 1;
}

/* Its layout: output vectors at ow0 = 0, VL, 2VL, ...; the interior ones
 * [i0, i1) read x with plain loads, the others ("edges", whose K-tap
 * window crosses a row end) with masked loads. Returns the edge count;
 * *ws_floats: scratch floats one plane needs (a zero row). */
static inline int64_t msc_dws_layout(int64_t W, int64_t OW, int64_t pl, int64_t K, int64_t vl, int64_t *i0,
                                     int64_t *i1, int64_t *ws_floats) {
  *i0 = (pl + vl - 1) / vl * vl;
  const int64_t last = W + pl - vl - (K - 1) < OW - vl ? W + pl - vl - (K - 1) : OW - vl; /* largest interior ow0 */
  *i1 = last >= *i0 ? *i0 + ((last - *i0) / vl + 1) * vl : *i0;
  if (*i1 > OW) /* no interior vector fits: every vector is an edge */
    *i0 = *i1 = 0;
  const int64_t ne = *i0 / vl + (OW > *i1 ? (OW - *i1 + vl - 1) / vl : 0);
  *ws_floats = W > 2 * vl + K - 1 ? W : 2 * vl + K - 1;
  return ne;
}

/* KxK stride-2 depthwise (f32-conv2d-dw-s2.inc.h): square 3x3 or 5x5
 * kernels, stride 2, dilation 1. */
static inline gboolean msc_dws2_supported(int kh, int kw, int sh, int sw, int dh, int dw) {
  return kh == kw && (kh == 3 || kh == 5) && sh == 2 && sw == 2 && dh == 1 && dw == 1;
}

/* Its layout: output vector ow0 (0, VL, 2VL, ...) reads input columns
 * [2*ow0 - pl, 2*ow0 - pl + K - 1 + 2*VL); [i0, i1): the vectors for
 * which that lies inside [0, W) (plain loads; the others masked). Returns
 * the masked vector count; *ws_floats: scratch floats one plane needs
 * (the zero row read for rows above and below the image). */
static inline int64_t msc_dws2_layout(int64_t W, int64_t OW, int64_t pl, int64_t K, int64_t vl, int64_t *i0,
                                      int64_t *i1, int64_t *ws_floats) {
  *i0 = ((pl + 1) / 2 + vl - 1) / vl * vl; /* first vector start with 2*ow0 >= pl */
  const int64_t num = W - K + 1 + pl - 2 * vl; /* interior: 2*ow0 <= num */
  int64_t last = num < 0 ? -1 : num / 2;
  if (last > OW - 1)
    last = OW - 1;
  *i1 = last >= *i0 ? (last / vl + 1) * vl : *i0;
  const int64_t nvec = (OW + vl - 1) / vl;
  *ws_floats = W > 2 * vl + K ? W : 2 * vl + K;
  return nvec - (*i1 - *i0) / vl;
}

/* Winograd F(4,3) for 3x3 stride-1 convs (f32-conv2d-winograd.inc.h).
 *
 * The padded input is phase-split 4x4 (the dense "phase grid" with stride
 * 4), so the 6x6 input patch of output tile (th, tw) is 36 loads at fixed
 * offsets toff[] from grid point g = th*TWq + tw, contiguous over g: tiles
 * are the vector lanes of every stage. Grid columns tw >= TW are computed
 * and dropped. One call runs one block of TB grid points for output-channel
 * blocks [mb0, mb1): input transform (all C) -> 36 GEMMs -> output
 * transform with the fused epilogue, in sub-chunks of output channels. */
#define MSC_WINO_T 6   /* input tile side (F(4,3): 4 + 3 - 1) */
#define MSC_WINO_R 4   /* output tile side */
#define MSC_WINO_XI 36 /* transformed points */
typedef struct {
  const float *xp;   /* phase grid of this image, channel 0 */
  int64_t cstride;   /* floats between channels of xp */
  int64_t toff[MSC_WINO_XI]; /* patch tap (i, j) offset from grid point g */
  int64_t C, M;
  const float *u;    /* transformed weights [36][mblocks][C][MB] */
  int64_t mblocks;
  const float *bias; /* mblocks*MB (zero padded) */
  const float *res;  /* (nullable) residual, NCHW, this image */
  float *y;          /* output, NCHW, this image */
  int64_t P;         /* grid points TH*TWq */
  int64_t TWq, TW, OH, OW;
  int64_t TB;        /* grid points per block, a multiple of RW*VL */
  int64_t msub;      /* output-channel blocks per GEMM/output sub-chunk */
  MscActivation act;
  float act_a, act_b;
} MscWinoArgs;

typedef struct {
  MscIsa isa;
  int vl; /* floats per vector */
  int mb; /* output channels per register block (dense) */
  int rw; /* vectors along the grid per register block (dense) */
  int rwd; /* vectors per step (depthwise) */
  /* Runs grid tiles [tile0, tile1) (tile = rw*vl grid points) for output-channel blocks [mb0, mb1). */
  void (*dense)(const MscDenseArgs *a, int64_t tile0, int64_t tile1, int64_t mb0, int64_t mb1);
  int cv_np; /* pixels per register block (channel-vectorized) */
  int cv_np2; /* the other block width the cvec kernel is built for (cv_np - 1): the plan takes the one that
               * computes fewer padding pixels (7x7: 10 blocks of 5 = 50, not 9 of 6 = 54) */
  int cv_cb; /* output channels per register block (channel-vectorized) */
  /* Channel-vectorized dense conv (f32-conv2d-cvec.inc.h) for small maps:
   * the same arguments (phase grid, tap offsets) as dense, but vectors run
   * along output channels: a block is cv_np real output pixels (pixel
   * q = oh*OW + ow reads grid point oh*Wq + ow) x cv_cb channels, and the
   * weights are [cblocks][C][ntaps][cv_cb]. Output pixels [q0, q1) of
   * channel blocks [cb0, cb1). */
  void (*cvec)(const MscDenseArgs *a, int64_t q0, int64_t q1, int64_t cb0, int64_t cb1);
  /* x: one input plane [H][W]; w: kh*kw taps; scratch: nring*sw*Wqd floats. */
  void (*depthwise)(const MscDwArgs *a, const float *x, const float *w, float bias, const float *res, float *y,
                    float *scratch);
  /* Winograd block at grid point g0 (see MscWinoArgs); v: 36*C*TB floats,
   * mo: 36*msub*MB*TB floats of scratch; @have_v: v already holds the
   * block's input transform (wino_input), else it is computed into v. */
  void (*winograd)(const MscWinoArgs *a, int64_t g0, int64_t mb0, int64_t mb1, float *v, float *mo, int have_v);
  /* The input transform of the block at g0 for channels [c0, c1) into v. */
  void (*wino_input)(const MscWinoArgs *a, int64_t g0, int64_t c0, int64_t c1, float *v);
  /* Pads and 4x4-phase-splits one input plane into a zeroed channel of
   * the Winograd phase grid (nrows grid rows of TWq per phase plane). */
  void (*wino_pack)(const float *src, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t TWq, int64_t plane,
                    int64_t nrows, float *dst);
  /* even[q] = src[2q], odd[q] = src[2q+1] for q < n (reads src[0 .. 2n-1]):
   * the two column phases of a stride-2 input row. */
  void (*deint2)(const float *src, int64_t n, float *even, float *odd);
  /* even[q] = src[2q], q < n (stride-2 phase rows when the odd phase is not read: 1x1/2 convs); reads
   * src[0, 2n - 1) only */
  void (*pick2)(const float *src, int64_t n, float *even);
  /* The stride-1 phase grid of one input plane src [H][W] (top pad pt, left
   * pad pl): grid rows rq < Hq of Wq floats hold input row rq - pt at grid
   * columns [q0, q1) (column q = input column q - pl) and zeros elsewhere,
   * then one zero row; writes exactly (Hq + 1) * Wq floats at dst. */
  void (*pack_s1)(const float *src, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t q0, int64_t q1,
                  int64_t Hq, int64_t Wq, float *dst);
  /* Register-resident FMA loop; returns the FLOPs it did (for peak measurement). */
  double (*fma_loop)(int64_t iters);
} MscConv2dKernels;

extern const MscConv2dKernels msc_f32_conv2d_direct_kernels__scalar;
#if defined(__x86_64__) || defined(__i386__)
extern const MscConv2dKernels msc_f32_conv2d_direct_kernels__avx2;
extern const MscConv2dKernels msc_f32_conv2d_direct_kernels__avx512f;
#endif

/* The kernel table for @isa (which must be supported), from config.c. */
const MscConv2dKernels *msc_conv2d_kernels_get(MscIsa isa);

#endif
