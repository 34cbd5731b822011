/* conv2d-plan.h: the fast float32 2-D convolution used by the `cpu` runner.
 *
 * Lifecycle (XNNPACK-style): a plan is created once per conv node at compile
 * time (validates the shape, picks the kernel for the ISA, pre-packs the
 * weights into the kernel's layout, folds bias and the fused epilogue), then
 * run many times. Tensors at the plan boundary are NCHW float32, so any
 * internal blocked layout stays inside the plan.
 *
 * Epilogue, in order: y = conv(x, w) + bias; y += residual (if given); y =
 * act(y). Kernel files: ops/kernels/f32-conv2d-<algo>-<tile>-<isa>.c;
 * dispatch in ops/kernels/config.c (runtime CPU detection, never
 * -march=native; MSC_ISA=scalar|avx2|avx512 forces a lower level).
 */
#ifndef MSC_CONV2D_PLAN_H
#define MSC_CONV2D_PLAN_H

#include <glib.h>
#include <stdint.h>

#include "threadpool.h"

G_BEGIN_DECLS

typedef enum {
  MSC_ISA_SCALAR = 0,
  MSC_ISA_AVX2 = 1,   /* AVX2 + FMA */
  MSC_ISA_AVX512 = 2, /* AVX-512 F/BW/DQ/VL (+VNNI reported separately) */
} MscIsa;

/* The best ISA this CPU supports, lowered by MSC_ISA if set. */
MscIsa msc_isa_detect(void);
const char *msc_isa_name(MscIsa isa);
/* TRUE if this CPU can run kernels of @isa. */
gboolean msc_isa_supported(MscIsa isa);
/* Measures the single-thread FP32 FMA peak of @isa on this machine
 * (register-resident FMA chains, best of a few ~@seconds runs, timed in
 * thread CPU time so a loaded machine does not lower it) in GFLOP/s;
 * 0 if @isa is not supported. Takes about 5 x @seconds. */
double msc_isa_fma_peak_gflops(MscIsa isa, double seconds);

typedef enum {
  MSC_ACT_NONE = 0,
  MSC_ACT_RELU,
  MSC_ACT_CLIP,       /* min(max(y, a), b): Relu6 is CLIP(0, 6) */
  MSC_ACT_LEAKY_RELU, /* y < 0 ? a*y : y */
  MSC_ACT_HARD_SWISH, /* y * clip(y/6 + 0.5, 0, 1) */
  MSC_ACT_HARD_SIGMOID, /* clip(a*y + b, 0, 1) */
  MSC_ACT_SIGMOID,
} MscActivation;

typedef struct MscConv2dParams {
  int64_t batch, in_channels, in_h, in_w;
  int64_t out_channels, kernel_h, kernel_w;
  int64_t stride_h, stride_w, dilation_h, dilation_w;
  int64_t pad_top, pad_left, pad_bottom, pad_right;
  int64_t groups;
  MscActivation act;
  float act_a, act_b;
} MscConv2dParams;

typedef struct MscConv2dPlan MscConv2dPlan;

/**
 * msc_conv2d_plan_create:
 * @p: the convolution (output size derived from it).
 * @weights: (transfer none): [out_channels, in_channels/groups, kh, kw] float32; copied/packed.
 * @bias: (transfer none) (nullable): [out_channels]; copied.
 * @isa: the kernel family to use (must be supported by this CPU).
 * Returns: (transfer full) (nullable): NULL with @error for invalid params
 * or an unsupported combination (MSC_ERR_UNSUPPORTED).
 */
MscConv2dPlan *msc_conv2d_plan_create(const MscConv2dParams *p, const float *weights, const float *bias, MscIsa isa,
                                      GError **error);
void msc_conv2d_plan_free(MscConv2dPlan *plan);
/* Bytes of scratch memory one run needs (the runner's memory plan provides it). */
size_t msc_conv2d_plan_workspace_size(const MscConv2dPlan *plan);
/* Output dims [N, M, OH, OW]. */
void msc_conv2d_plan_output_shape(const MscConv2dPlan *plan, int64_t dims[4]);
/* A short description: algorithm, tile and ISA ("direct-nchw8c-6x16 avx2"). Static or plan-owned. */
const char *msc_conv2d_plan_describe(const MscConv2dPlan *plan);
/**
 * msc_conv2d_plan_set_input_shuffle:
 * @groups: g of a channel shuffle (ShuffleNet's Reshape [N, g, C/g, H, W]
 *   -> Transpose (0, 2, 1, 3, 4) -> Reshape [N, C, H, W]).
 * The plan then reads its input through the shuffle, with no copy: input
 * channel c is plane (c % g) * (C / g) + c / g of x. Depthwise plans only
 * (the one kernel that reads planes one at a time); returns FALSE and
 * changes nothing for any other plan, or when g < 1 or g does not divide
 * C. Call before the plan runs (not MT safe against running it).
 */
gboolean msc_conv2d_plan_set_input_shuffle(MscConv2dPlan *plan, int64_t groups);
/* The input plane that channel @c of @C reads through a channel shuffle
 * of @groups groups (0: none): (c % g) * (C / g) + c / g. */
static inline int64_t msc_conv2d_shuffle_src(int64_t c, int64_t C, int64_t groups) {
  return groups ? (c % groups) * (C / groups) + c / groups : c;
}

/**
 * msc_conv2d_plan_run:
 * @x: [N, C, H, W]; @residual: (nullable) [N, M, OH, OW]; @y: [N, M, OH, OW]
 *   (may alias @residual, never @x); @workspace: msc_conv2d_plan_workspace_size
 *   bytes, 64-byte aligned; @pool: (nullable) threads to split the work over.
 * MT safe for distinct y/workspace (a plan is read-only after create).
 */
void msc_conv2d_plan_run(const MscConv2dPlan *plan, const float *x, const float *residual, float *y, void *workspace,
                         MscThreadPool *pool);

G_END_DECLS
#endif
