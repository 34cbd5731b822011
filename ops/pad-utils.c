/* pad-utils.c: padding and output-size helpers (see pad-utils.h for the
 * single begins-then-ends convention and the ONNX auto_pad rules). */
#include "pad-utils.h"

#include <string.h>
#include "error.h"
#include "op-util.h"

/* Sizes beyond this are refused: keeps every product below in int64 range
 * (2^40 * 2^20 < 2^63) without per-operation overflow checks. */
#define PAD_MAX_VALUE ((int64_t)1 << 40)
#define PAD_MAX_FACTOR ((int64_t)1 << 20) /* kernel, stride, dilation */

static const char *const auto_pad_names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};

gboolean
msc_auto_pad_parse(const char *s, MscAutoPad *out, GError **error)
{
  if (s == NULL || s[0] == '\0') {
    *out = MSC_AUTO_PAD_NOTSET;
    return TRUE;
  }
  for (guint i = 0; i < G_N_ELEMENTS(auto_pad_names); i++) {
    if (strcmp(s, auto_pad_names[i]) == 0) {
      *out = (MscAutoPad)i;
      return TRUE;
    }
  }
  msc_set_error(error, MSC_ERR_INVALID_ARG, "auto_pad '%s' not in NOTSET|SAME_UPPER|SAME_LOWER|VALID", s);
  return FALSE;
}

const char *
msc_auto_pad_name(MscAutoPad mode)
{
  if ((guint)mode < G_N_ELEMENTS(auto_pad_names))
    return auto_pad_names[mode];
  return "INVALID";
}

/* kernel/stride/dilation: 1..PAD_MAX_FACTOR. */
static gboolean
check_factor(const char *what, int d, int64_t v, GError **error)
{
  if (v < 1) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "attribute '%s': value %" G_GINT64_FORMAT " at dim %d must be >= 1",
                  what, v, d);
    return FALSE;
  }
  if (v > PAD_MAX_FACTOR) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "attribute '%s': value %" G_GINT64_FORMAT " at dim %d is too large",
                  what, v, d);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_pad(int64_t v, int i, GError **error)
{
  if (v < 0 || v > PAD_MAX_VALUE) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "attribute 'pads': value %" G_GINT64_FORMAT " at index %d %s", v, i,
                  v < 0 ? "must be >= 0" : "is too large");
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_in(int64_t in, int d, GError **error)
{
  if (in < -1 || in > PAD_MAX_VALUE) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "input spatial dim %d has invalid size %" G_GINT64_FORMAT, d, in);
    return FALSE;
  }
  return TRUE;
}

static int64_t
div_ceil(int64_t a, int64_t b)
{
  /* a >= 0, b >= 1 */
  return (a + b - 1) / b;
}

gboolean
msc_conv_output_dim(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                    int64_t pad_end, int ceil_mode, int64_t *out, GError **error)
{
  if (!check_factor("kernel_shape", 0, kernel, error) || !check_factor("strides", 0, stride, error) ||
      !check_factor("dilations", 0, dilation, error) || !check_pad(pad_begin, 0, error) ||
      !check_pad(pad_end, 1, error) || !check_in(in, 0, error))
    return FALSE;
  if (in < 0) {
    *out = -1;
    return TRUE;
  }
  int64_t dk = (kernel - 1) * dilation + 1;
  int64_t span = in + pad_begin + pad_end - dk;
  if (span < 0) {
    msc_set_error(error, MSC_ERR_INVALID_ARG,
                  "window larger than padded input (input %" G_GINT64_FORMAT " + pads %" G_GINT64_FORMAT
                  "+%" G_GINT64_FORMAT " < dilated kernel %" G_GINT64_FORMAT ")",
                  in, pad_begin, pad_end, dk);
    return FALSE;
  }
  int64_t o = (ceil_mode ? div_ceil(span, stride) : span / stride) + 1;
  /* ceil mode: the last window must start inside input or begin padding */
  if (ceil_mode && o > 1 && (o - 1) * stride >= in + pad_begin)
    o--;
  *out = o;
  return TRUE;
}

gboolean
msc_get_pad_tuple_nd(int n, const int64_t *in, const int64_t *kernel, const int64_t *stride,
                     const int64_t *dilation, MscAutoPad auto_pad, const int64_t *pads, size_t n_pads,
                     int64_t *pads_out, GError **error)
{
  g_return_val_if_fail(in != NULL && kernel != NULL && pads_out != NULL, FALSE);
  if (n < 1 || n > MSC_PAD_MAX_DIMS) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "%d spatial dims not in 1..%d", n, MSC_PAD_MAX_DIMS);
    return FALSE;
  }
  if ((guint)auto_pad > MSC_AUTO_PAD_VALID) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "auto_pad value %d not in NOTSET|SAME_UPPER|SAME_LOWER|VALID",
                  (int)auto_pad);
    return FALSE;
  }
  if (pads != NULL && n_pads != 0 && n_pads != (size_t)(2 * n)) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "attribute 'pads': %zu values, expected %d (begins then ends of %d dims)",
                  n_pads, 2 * n, n);
    return FALSE;
  }
  if (pads == NULL)
    n_pads = 0;
  for (int i = 0; i < (int)n_pads; i++)
    if (!check_pad(pads[i], i, error))
      return FALSE;
  for (int d = 0; d < n; d++) {
    if (!check_in(in[d], d, error) || !check_factor("kernel_shape", d, kernel[d], error) ||
        (stride && !check_factor("strides", d, stride[d], error)) ||
        (dilation && !check_factor("dilations", d, dilation[d], error)))
      return FALSE;
  }

  if (auto_pad == MSC_AUTO_PAD_NOTSET) {
    for (int i = 0; i < 2 * n; i++)
      pads_out[i] = n_pads ? pads[i] : 0;
    return TRUE;
  }
  /* explicit pads next to auto_pad would be silently ignored: refuse them */
  for (int i = 0; i < (int)n_pads; i++) {
    if (pads[i] != 0) {
      msc_set_error(error, MSC_ERR_INVALID_ARG,
                    "attribute 'pads': non-zero value %" G_GINT64_FORMAT " at index %d with auto_pad %s (explicit pads need NOTSET)",
                    pads[i], i, msc_auto_pad_name(auto_pad));
      return FALSE;
    }
  }
  for (int d = 0; d < n; d++) {
    int64_t s = stride ? stride[d] : 1;
    int64_t dl = dilation ? dilation[d] : 1;
    if (auto_pad == MSC_AUTO_PAD_VALID) {
      pads_out[d] = pads_out[n + d] = 0;
      continue;
    }
    if (in[d] < 0) {
      pads_out[d] = pads_out[n + d] = -1;
      continue;
    }
    int64_t out = div_ceil(in[d], s);
    int64_t dk = (kernel[d] - 1) * dl + 1;
    int64_t total = (out - 1) * s + dk - in[d];
    if (total < 0)
      total = 0;
    int64_t small = total / 2, big = total - small;
    if (auto_pad == MSC_AUTO_PAD_SAME_UPPER) {
      pads_out[d] = small;
      pads_out[n + d] = big;
    } else {
      pads_out[d] = big;
      pads_out[n + d] = small;
    }
  }
  return TRUE;
}

gboolean
msc_get_pad_tuple_1d(const int64_t in[1], const int64_t kernel[1], const int64_t *stride, const int64_t *dilation,
                     MscAutoPad auto_pad, const int64_t *pads, size_t n_pads, int64_t pads_out[2], GError **error)
{
  return msc_get_pad_tuple_nd(1, in, kernel, stride, dilation, auto_pad, pads, n_pads, pads_out, error);
}

gboolean
msc_get_pad_tuple_2d(const int64_t in[2], const int64_t kernel[2], const int64_t *stride, const int64_t *dilation,
                     MscAutoPad auto_pad, const int64_t *pads, size_t n_pads, int64_t pads_out[4], GError **error)
{
  return msc_get_pad_tuple_nd(2, in, kernel, stride, dilation, auto_pad, pads, n_pads, pads_out, error);
}

gboolean
msc_get_pad_tuple_3d(const int64_t in[3], const int64_t kernel[3], const int64_t *stride, const int64_t *dilation,
                     MscAutoPad auto_pad, const int64_t *pads, size_t n_pads, int64_t pads_out[6], GError **error)
{
  return msc_get_pad_tuple_nd(3, in, kernel, stride, dilation, auto_pad, pads, n_pads, pads_out, error);
}

gboolean
msc_conv_output_shape_nd(int n, const int64_t *in, const int64_t *kernel, const int64_t *stride,
                         const int64_t *dilation, MscAutoPad auto_pad, const int64_t *pads, size_t n_pads,
                         int ceil_mode, int64_t *pads_out, int64_t *out, GError **error)
{
  g_return_val_if_fail(out != NULL, FALSE);
  if (!msc_get_pad_tuple_nd(n, in, kernel, stride, dilation, auto_pad, pads, n_pads, pads_out, error))
    return FALSE;
  for (int d = 0; d < n; d++) {
    int64_t s = stride ? stride[d] : 1;
    int64_t dl = dilation ? dilation[d] : 1;
    if (in[d] < 0) {
      out[d] = -1;
      continue;
    }
    if (auto_pad == MSC_AUTO_PAD_SAME_UPPER || auto_pad == MSC_AUTO_PAD_SAME_LOWER) {
      /* ONNX: ceil(in / stride), independent of kernel and ceil_mode */
      out[d] = div_ceil(in[d], s);
      if (out[d] < 1) {
        msc_set_error(error, MSC_ERR_INVALID_ARG, "input spatial dim %d has size 0", d);
        return FALSE;
      }
      continue;
    }
    GError *local = NULL;
    if (!msc_conv_output_dim(in[d], kernel[d], s, dl, pads_out[d], pads_out[n + d], ceil_mode, &out[d], &local)) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "spatial dim %d: %s", d, local->message);
      g_error_free(local);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
msc_infer_pad(int n, const int64_t *in, const int64_t *out, const int64_t *kernel, const int64_t *stride,
              const int64_t *dilation, MscAutoPad auto_pad, int64_t *pads_out, GError **error)
{
  g_return_val_if_fail(in != NULL && out != NULL && kernel != NULL && pads_out != NULL, FALSE);
  if (n < 1 || n > MSC_PAD_MAX_DIMS) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "%d spatial dims not in 1..%d", n, MSC_PAD_MAX_DIMS);
    return FALSE;
  }
  for (int d = 0; d < n; d++) {
    int64_t s = stride ? stride[d] : 1;
    int64_t dl = dilation ? dilation[d] : 1;
    if (!check_factor("kernel_shape", d, kernel[d], error) || !check_factor("strides", d, s, error) ||
        !check_factor("dilations", d, dl, error))
      return FALSE;
    if (in[d] < 1 || in[d] > PAD_MAX_VALUE || out[d] < 1 || out[d] > PAD_MAX_VALUE) {
      msc_set_error(error, MSC_ERR_INVALID_ARG,
                    "spatial dim %d: input %" G_GINT64_FORMAT " and output %" G_GINT64_FORMAT " must be >= 1", d,
                    in[d], out[d]);
      return FALSE;
    }
    int64_t dk = (kernel[d] - 1) * dl + 1;
    int64_t total = (out[d] - 1) * s + dk - in[d];
    if (total < 0) {
      /* without padding the windows already give more than out[d] when
       * the leftover input covers another full stride */
      if ((in[d] - dk) / s + 1 != out[d]) {
        msc_set_error(error, MSC_ERR_INVALID_ARG,
                      "spatial dim %d: output %" G_GINT64_FORMAT " not reachable from input %" G_GINT64_FORMAT
                      " (kernel %" G_GINT64_FORMAT ", stride %" G_GINT64_FORMAT ", dilation %" G_GINT64_FORMAT ")",
                      d, out[d], in[d], kernel[d], s, dl);
        return FALSE;
      }
      total = 0;
    }
    int64_t small = total / 2, big = total - small;
    pads_out[d] = auto_pad == MSC_AUTO_PAD_SAME_LOWER ? big : small;
    pads_out[n + d] = auto_pad == MSC_AUTO_PAD_SAME_LOWER ? small : big;
  }
  return TRUE;
}

gboolean
msc_infer_stride(int n, const int64_t *in, const int64_t *out, const int64_t *kernel, const int64_t *dilation,
                 const int64_t *pads, int64_t *stride_out, GError **error)
{
  g_return_val_if_fail(in != NULL && out != NULL && kernel != NULL && stride_out != NULL, FALSE);
  if (n < 1 || n > MSC_PAD_MAX_DIMS) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "%d spatial dims not in 1..%d", n, MSC_PAD_MAX_DIMS);
    return FALSE;
  }
  for (int d = 0; d < n; d++) {
    int64_t dl = dilation ? dilation[d] : 1;
    int64_t pb = pads ? pads[d] : 0, pe = pads ? pads[n + d] : 0;
    if (!check_factor("kernel_shape", d, kernel[d], error) || !check_factor("dilations", d, dl, error) ||
        !check_pad(pb, d, error) || !check_pad(pe, n + d, error))
      return FALSE;
    if (in[d] < 1 || in[d] > PAD_MAX_VALUE || out[d] < 1 || out[d] > PAD_MAX_VALUE) {
      msc_set_error(error, MSC_ERR_INVALID_ARG,
                    "spatial dim %d: input %" G_GINT64_FORMAT " and output %" G_GINT64_FORMAT " must be >= 1", d,
                    in[d], out[d]);
      return FALSE;
    }
    int64_t span = in[d] + pb + pe - ((kernel[d] - 1) * dl + 1);
    /* out == 1: one window, the smallest stride that allows no second one */
    int64_t s = span < 0 ? 0 : (out[d] == 1 ? span + 1 : span / (out[d] - 1));
    if (span < 0 || s < 1 || span / s + 1 != out[d]) {
      msc_set_error(error, MSC_ERR_INVALID_ARG,
                    "spatial dim %d: no stride maps input %" G_GINT64_FORMAT " (pads %" G_GINT64_FORMAT
                    "+%" G_GINT64_FORMAT ") to output %" G_GINT64_FORMAT " with kernel %" G_GINT64_FORMAT
                    ", dilation %" G_GINT64_FORMAT,
                    d, in[d], pb, pe, out[d], kernel[d], dl);
      return FALSE;
    }
    stride_out[d] = s;
  }
  return TRUE;
}

MscStatus
msc_op_attr_spatial_ints(MscOpCtx *ctx, const char *name, int nsp, int64_t dflt, int64_t min, int64_t *dst)
{
  const int64_t *v = NULL;
  size_t n = 0;
  if (msc_op_attr_ints(ctx, name, &v, &n))
    return ctx->status;
  if (v == NULL) {
    for (int d = 0; d < nsp; d++)
      dst[d] = dflt;
    return MSC_OK;
  }
  if (n != (size_t)nsp)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute '%s': %zu values, expected %d (one per spatial dim)", name,
                       n, nsp);
  for (int d = 0; d < nsp; d++) {
    if (v[d] < min || v[d] > PAD_MAX_FACTOR)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute '%s': value %" G_GINT64_FORMAT " at dim %d must be %s",
                         name, v[d], d, v[d] > PAD_MAX_FACTOR ? "<= 2^20" : min == 0 ? ">= 0" : ">= 1");
    dst[d] = v[d];
  }
  return MSC_OK;
}

MscStatus
msc_op_attr_auto_pad(MscOpCtx *ctx, MscAutoPad *out)
{
  const char *ap = NULL;
  GError *err = NULL;
  if (msc_op_attr_string(ctx, "auto_pad", "NOTSET", &ap))
    return ctx->status;
  if (!msc_auto_pad_parse(ap, out, &err)) {
    msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute %s", err->message);
    g_error_free(err);
    return ctx->status;
  }
  return MSC_OK;
}

MscStatus
msc_window_from_attrs(MscOpCtx *ctx, int nsp, const int64_t *in, const int64_t *kernel, int with_ceil_mode,
                      MscWindow *win)
{
  g_return_val_if_fail(ctx != NULL && in != NULL && win != NULL, MSC_ERR_INTERNAL);
  memset(win, 0, sizeof *win);
  if (nsp < 1 || nsp > MSC_PAD_MAX_DIMS)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "%d spatial dims not in 1..%d", nsp, MSC_PAD_MAX_DIMS);
  win->nsp = nsp;

  const int64_t *ks = NULL;
  size_t nks = 0;
  if (msc_op_attr_ints(ctx, "kernel_shape", &ks, &nks))
    return ctx->status;
  if (ks == NULL && kernel == NULL)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'kernel_shape' is required");
  if (ks != NULL && nks != (size_t)nsp)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'kernel_shape': %zu values, expected %d (one per spatial dim)",
                       nks, nsp);
  win->kernel_known = 1;
  for (int d = 0; d < nsp; d++) {
    if (ks != NULL) {
      if (ks[d] < 1 || ks[d] > PAD_MAX_FACTOR)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'kernel_shape': value %" G_GINT64_FORMAT " at dim %d must be %s",
                           ks[d], d, ks[d] < 1 ? ">= 1" : "<= 2^20");
      if (kernel != NULL && kernel[d] >= 0 && kernel[d] != ks[d])
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                           "attribute 'kernel_shape': value %" G_GINT64_FORMAT " at dim %d != W spatial dim %" G_GINT64_FORMAT,
                           ks[d], d, kernel[d]);
      win->kernel[d] = ks[d];
    } else {
      win->kernel[d] = kernel[d];
      if (kernel[d] < 0)
        win->kernel_known = 0;
      else if (kernel[d] == 0 || kernel[d] > PAD_MAX_FACTOR)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "kernel size %" G_GINT64_FORMAT " at dim %d (from W) must be in 1..2^20",
                           kernel[d], d);
    }
  }
  if (msc_op_attr_spatial_ints(ctx, "strides", nsp, 1, 1, win->stride) ||
      msc_op_attr_spatial_ints(ctx, "dilations", nsp, 1, 1, win->dilation))
    return ctx->status;
  if (with_ceil_mode) {
    int64_t cm = 0;
    if (msc_op_attr_int(ctx, "ceil_mode", 0, &cm))
      return ctx->status;
    if (cm != 0 && cm != 1)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'ceil_mode': %" G_GINT64_FORMAT " not in 0|1", cm);
    win->ceil_mode = (int)cm;
  }
  if (msc_op_attr_auto_pad(ctx, &win->auto_pad))
    return ctx->status;
  GError *err = NULL;
  const int64_t *pads = NULL;
  size_t npads = 0;
  if (msc_op_attr_ints(ctx, "pads", &pads, &npads))
    return ctx->status;

  /* unknown kernel: check the rest with a stand-in kernel of 1, outputs unknown */
  int64_t one[MSC_PAD_MAX_DIMS];
  for (int d = 0; d < nsp; d++)
    one[d] = 1;
  gboolean ok = win->kernel_known
                    ? msc_conv_output_shape_nd(nsp, in, win->kernel, win->stride, win->dilation, win->auto_pad, pads,
                                               npads, win->ceil_mode, win->pads, win->out, &err)
                    : msc_get_pad_tuple_nd(nsp, in, one, win->stride, win->dilation, win->auto_pad, pads, npads,
                                           win->pads, &err);
  if (!ok) {
    msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "%s", err->message);
    g_error_free(err);
    return ctx->status;
  }
  if (!win->kernel_known)
    for (int d = 0; d < nsp; d++)
      win->out[d] = -1;
  return MSC_OK;
}
