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
  const float *w;    /* this group's packed weights: [mblocks][C][ntaps][MB] */
  const float *bias; /* this group's bias, mblocks*MB entries (zero padded) */
  const float *res;  /* (nullable) residual, NCHW, this image + group */
  float *y;          /* output, NCHW, this image + group */
  int64_t M;         /* output channels in the group */
  int64_t P;         /* grid points: OH*Wq */
  int64_t Wq, OW, OHW;
  MscActivation act;
  float act_a, act_b;
} MscDenseArgs;

/* Depthwise: one (image, channel) plane per call. Input rows are padded
 * and phase-split on the fly into a small ring of row buffers (scratch),
 * so the inner loop is contiguous and branch-free. */
#define MSC_DW_MAX_SW 16 /* wider strides take the dense path */
typedef struct {
  int64_t H, W, OH, OW;
  int kh, kw, sh, sw, dh, dw;
  int64_t pt, pl;
  int64_t Wqd;  /* floats per phase in a row buffer */
  int nring;    /* rows in the ring: dilated kernel height + 1 */
  int64_t q0[MSC_DW_MAX_SW], q1[MSC_DW_MAX_SW]; /* real columns [q0, q1) of each phase */
  MscActivation act;
  float act_a, act_b;
} MscDwArgs;

typedef struct {
  MscIsa isa;
  int vl; /* floats per vector */
  int mb; /* output channels per register block (dense) */
  int rw; /* vectors along the grid per register block (dense) */
  int rwd; /* vectors per step (depthwise) */
  /* Runs grid tiles [tile0, tile1) (tile = rw*vl grid points) for output-channel blocks [mb0, mb1). */
  void (*dense)(const MscDenseArgs *a, int64_t tile0, int64_t tile1, int64_t mb0, int64_t mb1);
  /* x: one input plane [H][W]; w: kh*kw taps; scratch: nring*sw*Wqd floats. */
  void (*depthwise)(const MscDwArgs *a, const float *x, const float *w, float bias, const float *res, float *y,
                    float *scratch);
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
