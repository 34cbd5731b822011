/* pad-utils.h: padding and output-size helpers shared by the sliding-window
 * ops (Conv, ConvTranspose, ConvInteger, QLinearConv, the pools): our
 * counterpart of TVM's topi.nn.utils.
 *
 * ONE convention everywhere, the ONNX one: a pads array for n spatial dims
 * has 2n entries, pads[0..n) = begins, pads[n..2n) = ends. For 2-D that is
 * [top, left, bottom, right] (TOPI's get_pad_tuple says (top, left, down,
 * right) but get_pad_tuple_generic says [begins, ends]; ours never differ).
 *
 * auto_pad follows the ONNX spec, not TOPI's "SAME": SAME_* gives
 * out = ceil(in / stride) and total pad = max(0, (out-1)*stride + dk - in)
 * with dk = (k-1)*dilation + 1; SAME_UPPER puts the odd extra at the END,
 * SAME_LOWER at the BEGINNING. All math is integer (no ceilf/floorf).
 *
 * Static inference: an input dim of -1 (unknown) is allowed; the helpers
 * then yield -1 for what depends on it (SAME pads, output dims) instead of
 * failing. Every other negative value is an error.
 *
 * Errors are GError (domain MSC_ERROR, code MSC_ERR_INVALID_ARG) with a
 * one-line message naming the attribute and values; op code forwards it with
 * msc_op_fail(ctx, err->code, "%s", err->message). All functions are pure
 * and MT safe. msc_window_from_attrs() is the front end for op code: it
 * reads the node's window attributes and reports through the MscOpCtx. */
#ifndef MSC_PAD_UTILS_H
#define MSC_PAD_UTILS_H

#include <glib.h>
#include <stdint.h>
#include "msc-op.h"
#include "msc-types.h"

G_BEGIN_DECLS

/* Spatial dims handled by the helpers (Conv/Pool accept 1-D..MSC_MAX_RANK-2). */
#define MSC_PAD_MAX_DIMS (MSC_MAX_RANK - 2)

typedef enum {
  MSC_AUTO_PAD_NOTSET = 0, /* explicit pads (default) */
  MSC_AUTO_PAD_SAME_UPPER, /* out = ceil(in/stride), odd extra at the end */
  MSC_AUTO_PAD_SAME_LOWER, /* out = ceil(in/stride), odd extra at the beginning */
  MSC_AUTO_PAD_VALID,      /* no padding */
} MscAutoPad;

/**
 * msc_auto_pad_parse:
 * @s: (nullable): the attribute string; NULL or "" means NOTSET.
 * @out: (out): the mode; untouched on error.
 * @error: (nullable): MSC_ERR_INVALID_ARG for an unknown string, message
 *   "auto_pad 'X' not in NOTSET|SAME_UPPER|SAME_LOWER|VALID".
 * Returns: FALSE on error.
 */
gboolean msc_auto_pad_parse(const char *s, MscAutoPad *out, GError **error);

/* The ONNX spelling of @mode ("NOTSET", ...); static, never NULL. */
const char *msc_auto_pad_name(MscAutoPad mode);

/**
 * msc_conv_output_dim:
 * @in: input size (-1 = unknown: *out = -1, returns TRUE).
 * @kernel, @stride, @dilation: >= 1.
 * @pad_begin, @pad_end: >= 0.
 * @ceil_mode: 0 floor, 1 ceil (pooling). In ceil mode a last window that
 *   would start in the end padding is dropped (PyTorch and ONNX >= 1.16
 *   reference), so every window overlaps the input or the begin padding.
 * @out: (out): (in + pb + pe - dk) / stride + 1, dk = (kernel-1)*dilation+1.
 * @error: (nullable): MSC_ERR_INVALID_ARG naming the bad value, or when the
 *   window does not fit (result < 1) or overflows.
 * Returns: FALSE on error (*out untouched).
 */
gboolean msc_conv_output_dim(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                             int64_t pad_begin, int64_t pad_end, int ceil_mode, int64_t *out,
                             GError **error);

/**
 * msc_get_pad_tuple_nd:
 * Resolves the pads of @n spatial dims.
 * @n: 1..MSC_PAD_MAX_DIMS.
 * @in: (array length=n): input sizes; -1 allowed (unknown).
 * @kernel: (array length=n): kernel sizes, >= 1.
 * @stride: (array length=n) (nullable): NULL = all 1; entries >= 1.
 * @dilation: (array length=n) (nullable): NULL = all 1; entries >= 1.
 * @auto_pad: the mode.
 * @pads: (array length=n_pads) (nullable): explicit pads (ONNX order),
 *   used with NOTSET; with another mode they must be absent or all zero.
 * @n_pads: 0 (absent) or 2n.
 * @pads_out: (out) (array fixed-size=2n): resolved pads, begins then ends;
 *   -1 for a SAME dim whose input size is unknown.
 * @error: (nullable): MSC_ERR_INVALID_ARG for a bad length, a negative pad,
 *   a non-positive kernel/stride/dilation, or non-zero pads with auto_pad
 *   set (message names the attribute and the values).
 * Returns: FALSE on error (@pads_out contents unspecified).
 */
gboolean msc_get_pad_tuple_nd(int n, const int64_t *in, const int64_t *kernel,
                              const int64_t *stride, const int64_t *dilation, MscAutoPad auto_pad,
                              const int64_t *pads, size_t n_pads, int64_t *pads_out,
                              GError **error);

/* Fixed-rank wrappers of msc_get_pad_tuple_nd (same layout: begins, ends;
 * 2-D = [top, left, bottom, right], 3-D = [front, top, left, back, bottom, right]). */
gboolean msc_get_pad_tuple_1d(const int64_t in[1], const int64_t kernel[1], const int64_t *stride,
                              const int64_t *dilation, MscAutoPad auto_pad, const int64_t *pads,
                              size_t n_pads, int64_t pads_out[2], GError **error);
gboolean msc_get_pad_tuple_2d(const int64_t in[2], const int64_t kernel[2], const int64_t *stride,
                              const int64_t *dilation, MscAutoPad auto_pad, const int64_t *pads,
                              size_t n_pads, int64_t pads_out[4], GError **error);
gboolean msc_get_pad_tuple_3d(const int64_t in[3], const int64_t kernel[3], const int64_t *stride,
                              const int64_t *dilation, MscAutoPad auto_pad, const int64_t *pads,
                              size_t n_pads, int64_t pads_out[6], GError **error);

/**
 * msc_conv_output_shape_nd:
 * One call for a sliding-window op: resolves the pads (as
 * msc_get_pad_tuple_nd) and the @n output sizes. With SAME_* the output is
 * ceil(in/stride) whatever @ceil_mode (ONNX); otherwise msc_conv_output_dim.
 * @ceil_mode: 0 or 1 (pooling); Conv passes 0.
 * @pads_out: (out) (array fixed-size=2n): as msc_get_pad_tuple_nd.
 * @out: (out) (array fixed-size=n): output sizes, -1 where @in is -1.
 * Returns: FALSE with @error set (MSC_ERR_INVALID_ARG) on any bad value.
 */
gboolean msc_conv_output_shape_nd(int n, const int64_t *in, const int64_t *kernel,
                                  const int64_t *stride, const int64_t *dilation,
                                  MscAutoPad auto_pad, const int64_t *pads, size_t n_pads,
                                  int ceil_mode, int64_t *pads_out, int64_t *out, GError **error);

/**
 * msc_infer_pad:
 * The smallest pads that turn inputs @in into outputs @out for the given
 * window (the inverse of msc_conv_output_dim, floor mode). Unlike TOPI
 * (infer_pad halves the total, infer_pad3d does not) every rank returns the
 * same thing: begins then ends with begin = total/2, end = total - begin,
 * or the odd extra at the beginning when @auto_pad is SAME_LOWER.
 * @stride, @dilation: (nullable): NULL = all 1.
 * @pads_out: (out) (array fixed-size=2n).
 * @error: (nullable): MSC_ERR_INVALID_ARG when an @out size is < 1 or is
 *   not reachable with any padding (input already too large), or on a bad
 *   kernel/stride/dilation.
 * Returns: FALSE on error.
 */
gboolean msc_infer_pad(int n, const int64_t *in, const int64_t *out, const int64_t *kernel,
                       const int64_t *stride, const int64_t *dilation, MscAutoPad auto_pad,
                       int64_t *pads_out, GError **error);

/**
 * msc_infer_stride:
 * The stride that maps @in (padded by @pads, nullable = 0) to @out with the
 * given window: (in + pb + pe - dk) / (out - 1); when out == 1,
 * the smallest stride that gives exactly one window (span + 1).
 * @dilation: (nullable): NULL = all 1.
 * @stride_out: (out) (array fixed-size=n).
 * @error: (nullable): MSC_ERR_INVALID_ARG when no integer stride gives
 *   exactly @out (names the dim and the values).
 * Returns: FALSE on error.
 */
gboolean msc_infer_stride(int n, const int64_t *in, const int64_t *out, const int64_t *kernel,
                          const int64_t *dilation, const int64_t *pads, int64_t *stride_out,
                          GError **error);

/**
 * MscWindow: the resolved sliding-window geometry of one Conv/Pool node.
 * @nsp: spatial dims.
 * @pads: begins then ends (-1 for a SAME dim whose input size is unknown).
 * @out: output spatial sizes (-1 unknown, static inference only).
 * @kernel_known: 0 when the kernel size is unknown (static inference with a
 *   weight of unknown shape and no kernel_shape): then @out is all -1.
 */
typedef struct {
  int nsp;
  int kernel_known;
  int64_t kernel[MSC_PAD_MAX_DIMS];
  int64_t stride[MSC_PAD_MAX_DIMS];
  int64_t dilation[MSC_PAD_MAX_DIMS];
  int64_t pads[2 * MSC_PAD_MAX_DIMS];
  int64_t out[MSC_PAD_MAX_DIMS];
  MscAutoPad auto_pad;
  int ceil_mode;
} MscWindow;

/**
 * msc_window_from_attrs:
 * Reads the window attributes of ctx->node (kernel_shape, strides,
 * dilations, pads, auto_pad, and ceil_mode when @with_ceil_mode), checks
 * lengths and values, and resolves pads and output sizes for the input
 * spatial sizes @in as msc_conv_output_shape_nd does.
 * @ctx: the op context; errors go through msc_op_fail.
 * @nsp: spatial dims, 1..MSC_PAD_MAX_DIMS.
 * @in: (array length=nsp): input spatial sizes, -1 allowed.
 * @kernel: (array length=nsp) (nullable): kernel sizes taken from a weight
 *   (Conv: W.dims[2..], -1 unknown). A kernel_shape attribute must then
 *   agree with every known entry. NULL (pooling): kernel_shape is required.
 * @with_ceil_mode: read the ceil_mode attribute (0/1, default 0).
 * @win: (out): the geometry; contents unspecified on error.
 * Returns: MSC_OK, else ctx->status (MSC_ERR_INVALID_ARG with a message
 *   naming the attribute and values, e.g. "attribute 'strides': value 0 at
 *   dim 1 must be >= 1" or "attribute auto_pad 'X' not in NOTSET|...").
 */
MscStatus msc_window_from_attrs(MscOpCtx *ctx, int nsp, const int64_t *in, const int64_t *kernel, int with_ceil_mode,
                                MscWindow *win);

/**
 * msc_op_attr_spatial_ints:
 * Reads the optional per-spatial-dim INTS attribute @name of ctx->node
 * (strides, dilations, output_padding) into @dst: @dflt in every entry when
 * absent; else exactly @nsp values in @min..2^20.
 * Returns: MSC_OK, else ctx->status (MSC_ERR_INVALID_ARG naming the
 *   attribute, e.g. "attribute 'strides': value 0 at dim 1 must be >= 1").
 */
MscStatus msc_op_attr_spatial_ints(MscOpCtx *ctx, const char *name, int nsp, int64_t dflt, int64_t min, int64_t *dst);

/**
 * msc_op_attr_auto_pad:
 * Reads the 'auto_pad' attribute of ctx->node (default NOTSET) into @out.
 * Returns: MSC_OK, else ctx->status (MSC_ERR_INVALID_ARG, "attribute
 *   auto_pad 'X' not in NOTSET|SAME_UPPER|SAME_LOWER|VALID").
 */
MscStatus msc_op_attr_auto_pad(MscOpCtx *ctx, MscAutoPad *out);

G_END_DECLS
#endif /* MSC_PAD_UTILS_H */
