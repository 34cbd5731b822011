/* conv2d-plan-private.h: the conv2d plan struct, shared by the plan files
 * (conv2d-plan.c: validation, direct and depthwise setup, run loop;
 * conv2d-winograd.c: Winograd setup and run). Not installed. */
#ifndef MSC_CONV2D_PLAN_PRIVATE_H
#define MSC_CONV2D_PLAN_PRIVATE_H

#include "conv2d-kernels.h"
#include "tensor.h"

typedef enum { ALGO_DENSE, ALGO_CVEC, ALGO_DEPTHWISE, ALGO_WINOGRAD } Algo;

struct MscConv2dPlan {
  MscConv2dParams p;
  const MscConv2dKernels *k;
  Algo algo;
  int64_t OH, OW, Cg, Mg;
  /* dense and channel-vectorized (mblocks counts blocks of MB or cv_cb channels) */
  int64_t Hq, Wq, P, cstride, mblocks, ntiles;
  gboolean direct_input; /* 1x1/s1/p0: the kernel reads x in place */
  gboolean cvec_panel;   /* channel-vectorized 1x1: input packed per pixel block (MscDenseArgs.xpanel) */
  gboolean dense_fuse;   /* MscDenseArgs.fuse */
  gboolean dense_spread; /* MscDenseArgs.spread_pf */
  int dense_pack;        /* MscDenseArgs.pack */
  gboolean dense_xpos;   /* MscDenseArgs.xpos (ntiles counts tiles of output positions) */
  int cv_np;             /* cvec: pixels per register block (k->cv_np or k->cv_np2) */
  int64_t npblocks;      /* pixel blocks of cv_np per image */
  size_t panel_off;      /* floats into the workspace: [N][G][npblocks][Cg][cv_np] */
  int ntaps;
  int64_t *toff;
  /* phase grid (not direct_input): phase_used[py * sw + px] nonzero when
   * a tap reads that stride phase; phase_q[2 px], [2 px + 1]: the real
   * columns [q0, q1) of column phase px. Made once per plan: pack_task
   * runs per (image, channel) plane, and the modulo and division loops
   * cost as much as copying a 16x16 plane. */
  guint8 *phase_used;
  int64_t *phase_q;
  float *wpack; /* [G][mblocks][Cg][ntaps][MB]; channel-vectorized: [G][mblocks][Cg][ntaps][cv_cb] */
  int64_t block_ch; /* channels per weight block: MB, or cv_cb when channel-vectorized */
  float *bias;  /* [G][mblocks*MB] */
  /* depthwise */
  MscDwArgs dw;
  float *wdw;   /* [C][kh*kw] */
  uint32_t *dwmask; /* flat 3x3 kernel's column masks (MscDwArgs.fmask) */
  /* winograd */
  MscWinoArgs wa;      /* per-image fields filled at run time */
  float *wu;           /* [36][mblocks][C][MB] */
  int64_t wplane;      /* floats per phase plane of the 4x4 phase grid */
  int64_t wnblocks;    /* grid blocks per image */
  int64_t wnmc_forced; /* MSC_WINO_NMC (0: wino_split chooses) */
  int64_t wslots;      /* per-thread scratch slots */
  size_t wslot_floats; /* v + mo of one slot */
  size_t wshared_floats; /* one block's input transform (36*C*TB), shared by its output-channel chunks; 0 when
                          * a run has more than WINO_SHARED_BLOCKS blocks
                          * (MSC_WINO_SHARED=0: 0, every chunk transforms the block itself; A/B) */
  size_t ws_floats;
  size_t dw_task_floats; /* depthwise: scratch floats per (image, channel) task */
  int64_t shuffle_g;     /* depthwise: input read through a channel shuffle of g groups (0: none) */
  char desc[96];
};

/* Winograd F(4,3) (conv2d-winograd.c). */
/* TRUE if @p is a 3x3 stride-1 dilation-1 dense conv where Winograd is
 * expected to beat the direct kernel, and MSC_WINOGRAD is not "0". */
gboolean msc_conv2d_winograd_wanted(const MscConv2dParams *p, int64_t OH, int64_t OW, const MscConv2dKernels *k);
/* (transfer full) @n zeroed floats for packed weights, huge pages from
 * 2 MiB (msc_aligned_alloc0); aborts when out of memory like g_new0.
 * Free with msc_aligned_free. */
float *msc_conv2d_weights_alloc(size_t n);
/* Transforms the weights and sizes the workspace; sets algo/desc. */
void msc_conv2d_winograd_setup(MscConv2dPlan *pl, const float *weights, const float *bias);
void msc_conv2d_winograd_run(const MscConv2dPlan *pl, const float *x, const float *res, float *y, float *ws,
                             MscThreadPool *pool);

#endif
