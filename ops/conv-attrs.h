/* conv-attrs.h: the input and attribute checks that Conv, ConvTranspose,
 * ConvInteger and QLinearConv share (X/W shapes, group, bias, window), so
 * the four ops accept and refuse the same things with the same messages.
 * Errors go through msc_op_fail (MSC_ERR_INVALID_ARG, first error wins);
 * every function returns MSC_OK or ctx->status. Shape-only inputs (static
 * inference, -1 dims) are fine. */
#ifndef MSC_CONV_ATTRS_H
#define MSC_CONV_ATTRS_H

#include "msc-op.h"
#include "pad-utils.h"

G_BEGIN_DECLS

/**
 * MscConvDims: what the X and W shapes say about a convolution.
 * @nsp: spatial dims (X rank - 2).
 * @N, @C: batch and input channels of X (-1 unknown).
 * @M: output channels (-1 unknown): W.dims[0] for Conv, W.dims[1] * group
 *   for ConvTranspose.
 * @group: the 'group' attribute, >= 1.
 * @in: X's spatial sizes.
 */
typedef struct {
  int nsp;
  int64_t N, C, M, group;
  int64_t in[MSC_PAD_MAX_DIMS];
} MscConvDims;

/**
 * msc_conv_check_xw:
 * Checks X (rank >= 3) and W (same rank), reads 'group' and checks the
 * channels against it: Conv-style W is [M, C/group, k...] (M divisible by
 * group), with @transpose W is [C, M/group, k...] (C divisible by group).
 * An empty W is refused. Does not check dtypes or presence (callers do that
 * first, in their own order).
 * @x, @w: (not nullable): the data and weight inputs.
 * @xn, @wn: their names in messages ("X"/"W", or "x"/"w" for the quantized ops).
 * @transpose: ConvTranspose weight layout.
 * @cd: (out): the dims; contents unspecified on error.
 */
MscStatus msc_conv_check_xw(MscOpCtx *ctx, const MscTensor *x, const MscTensor *w, const char *xn, const char *wn,
                            int transpose, MscConvDims *cd);

/**
 * msc_conv_check_bias:
 * @b: (nullable): the bias input; NULL (absent) is fine.
 * @M: output channels (-1 unknown).
 * @origin: where M comes from, for the message ("W.dims[0]", ...).
 * Checks that B is 1-D with M entries ("input 'B': shape [..], expected [M] (origin)").
 */
MscStatus msc_conv_check_bias(MscOpCtx *ctx, const MscTensor *b, int64_t M, const char *origin);

/**
 * msc_conv_window:
 * msc_window_from_attrs() for a Conv-style op (kernel from W.dims[2..],
 * no ceil_mode); a geometry error ("spatial dim ...") gets the X and W
 * shapes appended, named @xn and @wn.
 * @win: (out): the resolved window.
 */
MscStatus msc_conv_window(MscOpCtx *ctx, const MscTensor *x, const MscTensor *w, const char *xn, const char *wn,
                          const MscConvDims *cd, MscWindow *win);

G_END_DECLS
#endif /* MSC_CONV_ATTRS_H */
