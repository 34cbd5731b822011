/* conv-transpose.c: ONNX ConvTranspose (opset 1..21), NCHW, 1-D/2-D/3-D (up
 * to MSC_MAX_RANK-2 spatial dims), groups, dilations, strides, pads,
 * auto_pad, output_padding, output_shape, optional bias; float32, float16.
 *
 * Shape (ONNX spec), per spatial dim with dk = (k-1)*dilation + 1:
 *   natural = stride*(in-1) + output_padding + dk - pad_begin - pad_end
 *   output_shape given, or SAME_* (output_shape = in*stride): pads come from
 *   total = stride*(in-1) + output_padding + dk - output_shape, split as the
 *   spec writes it with floor division: SAME_UPPER begin = total/2, else
 *   begin = total - total/2 (SAME_UPPER: odd extra at the END, as the ONNX
 *   test data has it; onnxruntime puts it at the head). A negative total
 *   (output larger than the natural size) leaves zeros past the contributions.
 *   Explicit pads next to output_shape are kept, like the ONNX reference.
 *
 * Kernel: a scatter ("col2im" without the col buffer): every input element
 * adds w * x to the outputs its taps reach. The inner loop runs over a
 * contiguous input row; output positions step by the stride. */
#include <string.h>

#include "conv-attrs.h"
#include "error.h"
#include "op-util.h"
#include "ops.h"
#include "pad-utils.h"
#include "tensor.h"

/* Limits so that stride*(in-1) + (k-1)*dilation stays far inside int64:
 * sizes and pads up to 2^40, kernel/stride/dilation/output_padding 2^20. */
#define CT_MAX_DIM ((int64_t)1 << 40)
#define CT_MAX_FACTOR ((int64_t)1 << 20)

typedef struct {
  MscConvDims cd; /* nsp, N, C, M = W.dims[1] * group, group, in */
  int kernel_known;
  int64_t kernel[MSC_PAD_MAX_DIMS], stride[MSC_PAD_MAX_DIMS], dilation[MSC_PAD_MAX_DIMS],
      out_pad[MSC_PAD_MAX_DIMS], out[MSC_PAD_MAX_DIMS];
  int64_t pad_begin[MSC_PAD_MAX_DIMS]; /* may be negative (output shifted) */
  MscAutoPad auto_pad;
} ConvTParams;

/* ---- parse ---------------------------------------------------------------- */

/* floor(a / 2) for any sign (the spec's formulas are Python's //). */
static int64_t
floor_half(int64_t a)
{
  return a >= 0 ? a / 2 : -((-a + 1) / 2);
}

static MscStatus
ct_parse(MscOpCtx *ctx, ConvTParams *p)
{
  const MscTensor *x = msc_op_input(ctx, 0), *w = msc_op_input(ctx, 1), *b = msc_op_input(ctx, 2);
  char sw[200];
  memset(p, 0, sizeof *p);
  if (x == NULL || w == NULL)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "inputs 'X' and 'W' are required");
  if (msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_UNDEFINED) ||
      msc_op_check_same_dtype(ctx, 0, 1) || (b && msc_op_check_same_dtype(ctx, 0, 2)))
    return ctx->status;
  if (msc_conv_check_xw(ctx, x, w, "X", "W", 1, &p->cd) || msc_conv_check_bias(ctx, b, p->cd.M, "W.dims[1] * group"))
    return ctx->status;

  const int64_t *ks = NULL;
  size_t nks = 0;
  if (msc_op_attr_ints(ctx, "kernel_shape", &ks, &nks))
    return ctx->status;
  p->kernel_known = 1;
  if (ks != NULL) {
    if (nks != (size_t)p->cd.nsp)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'kernel_shape': %zu values, expected %d (one per spatial dim)",
                         nks, p->cd.nsp);
    for (int d = 0; d < p->cd.nsp; d++) {
      if (ks[d] < 1 || ks[d] > CT_MAX_FACTOR || (w->dims[2 + d] >= 0 && w->dims[2 + d] != ks[d]))
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                           "attribute 'kernel_shape': value %" G_GINT64_FORMAT " at dim %d != W spatial dim %" G_GINT64_FORMAT
                           " (W %s)",
                           ks[d], d, w->dims[2 + d], msc_shape_format(w->rank, w->dims, sw, sizeof sw));
      p->kernel[d] = ks[d];
    }
  } else {
    for (int d = 0; d < p->cd.nsp; d++) {
      p->kernel[d] = w->dims[2 + d];
      if (p->kernel[d] < 0)
        p->kernel_known = 0;
      else if (p->kernel[d] == 0 || p->kernel[d] > CT_MAX_FACTOR)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'W': bad kernel %s",
                           msc_shape_format(w->rank, w->dims, sw, sizeof sw));
    }
  }
  if (msc_op_attr_spatial_ints(ctx, "strides", p->cd.nsp, 1, 1, p->stride) || msc_op_attr_spatial_ints(ctx, "dilations", p->cd.nsp, 1, 1, p->dilation) ||
      msc_op_attr_spatial_ints(ctx, "output_padding", p->cd.nsp, 0, 0, p->out_pad))
    return ctx->status;

  if (msc_op_attr_auto_pad(ctx, &p->auto_pad))
    return ctx->status;
  const int64_t *pads = NULL;
  size_t npads = 0;
  if (msc_op_attr_ints(ctx, "pads", &pads, &npads))
    return ctx->status;
  if (pads != NULL) {
    if (npads != (size_t)(2 * p->cd.nsp))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'pads': %zu values, expected %d (begins then ends of %d dims)",
                         npads, 2 * p->cd.nsp, p->cd.nsp);
    for (size_t i = 0; i < npads; i++)
      if (pads[i] < 0 || pads[i] > CT_MAX_DIM)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'pads': value %" G_GINT64_FORMAT " at index %zu must be >= 0",
                           pads[i], i);
  }
  /* output_shape: spatial dims, or (older exporters) the full N, C, spatial */
  const int64_t *os = NULL;
  size_t nos = 0;
  if (msc_op_attr_ints(ctx, "output_shape", &os, &nos))
    return ctx->status;
  if (os != NULL) {
    if (nos == (size_t)(p->cd.nsp + 2))
      os += 2;
    else if (nos != (size_t)p->cd.nsp)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'output_shape': %zu values, expected %d (spatial dims)", nos,
                         p->cd.nsp);
    for (int d = 0; d < p->cd.nsp; d++)
      if (os[d] < 1 || os[d] > CT_MAX_DIM)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'output_shape': value %" G_GINT64_FORMAT " at dim %d must be >= 1",
                           os[d], d);
  }
  int same = p->auto_pad == MSC_AUTO_PAD_SAME_UPPER || p->auto_pad == MSC_AUTO_PAD_SAME_LOWER;
  if (pads != NULL && p->auto_pad != MSC_AUTO_PAD_NOTSET) {
    for (int i = 0; i < 2 * p->cd.nsp; i++)
      if (pads[i] != 0)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                           "attribute 'pads': non-zero value %" G_GINT64_FORMAT " at index %d with auto_pad %s (explicit pads need NOTSET)",
                           pads[i], i, msc_auto_pad_name(p->auto_pad));
  }

  for (int d = 0; d < p->cd.nsp; d++) {
    if (p->cd.in[d] > CT_MAX_DIM)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'X': spatial dim %d too large", d);
    if (!p->kernel_known || p->cd.in[d] < 0) {
      /* the output is known from output_shape alone; pads are not needed statically */
      p->out[d] = os ? os[d] : (same && p->cd.in[d] >= 0 ? p->cd.in[d] * p->stride[d] : -1);
      continue;
    }
    int64_t dk = (p->kernel[d] - 1) * p->dilation[d] + 1;
    int64_t full = p->stride[d] * (p->cd.in[d] - 1) + p->out_pad[d] + dk; /* output before cropping */
    if (pads != NULL && p->auto_pad == MSC_AUTO_PAD_NOTSET) {
      p->pad_begin[d] = pads[d];
      p->out[d] = os ? os[d] : full - pads[d] - pads[p->cd.nsp + d];
    } else if (os != NULL || same) {
      p->out[d] = os ? os[d] : p->cd.in[d] * p->stride[d];
      int64_t total = full - p->out[d];
      p->pad_begin[d] = p->auto_pad == MSC_AUTO_PAD_SAME_UPPER ? floor_half(total) : total - floor_half(total);
    } else {
      /* NOTSET without pads, or VALID */
      p->pad_begin[d] = 0;
      p->out[d] = full;
    }
    if (p->out[d] < 1)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "spatial dim %d: output size %" G_GINT64_FORMAT " < 1 (input %" G_GINT64_FORMAT
                         ", kernel %" G_GINT64_FORMAT ", stride %" G_GINT64_FORMAT ", pads too large)",
                         d, p->out[d], p->cd.in[d], p->kernel[d], p->stride[d]);
  }
  return MSC_OK;
}

/* ---- shape ---------------------------------------------------------------- */

static MscStatus
ct_infer(MscOpCtx *ctx)
{
  ConvTParams p;
  if (ct_parse(ctx, &p))
    return ctx->status;
  int64_t dims[MSC_MAX_RANK];
  dims[0] = p.cd.N;
  dims[1] = p.cd.M;
  for (int d = 0; d < p.cd.nsp; d++)
    dims[2 + d] = p.out[d];
  return msc_op_set_output(ctx, 0, msc_op_input(ctx, 0)->dtype, p.cd.nsp + 2, dims);
}

/* ---- kernel --------------------------------------------------------------- */

static void
ct_f32(const ConvTParams *p, const float *x, const float *w, const float *bias, float *y)
{
  const int nsp = p->cd.nsp, last = nsp - 1;
  int64_t Cg = p->cd.C / p->cd.group, Mg = p->cd.M / p->cd.group;
  int64_t S = 1, P = 1, ks = 1, rows = 1;
  for (int d = 0; d < nsp; d++) {
    S *= p->cd.in[d];
    P *= p->out[d];
    ks *= p->kernel[d];
    if (d < last)
      rows *= p->cd.in[d];
  }
  const int64_t Win = p->cd.in[last], Wout = p->out[last], sw = p->stride[last];

  for (int64_t n = 0; n < p->cd.N; n++) {
    for (int64_t m = 0; m < p->cd.M; m++) {
      int64_t gi = m / Mg, mg = m % Mg;
      float *ym = y + (n * p->cd.M + m) * P;
      float bv = bias ? bias[m] : 0.0f;
      for (int64_t i = 0; i < P; i++)
        ym[i] = bv;
      for (int64_t c = 0; c < Cg; c++) {
        const float *xc = x + (n * p->cd.C + gi * Cg + c) * S;
        const float *wc = w + ((gi * Cg + c) * Mg + mg) * ks; /* W[c][mg][taps] */
        int64_t tap[MSC_PAD_MAX_DIMS] = {0};
        for (int64_t kk = 0; kk < ks; kk++) {
          float wv = wc[kk];
          /* last dim: o = i*sw + off; inputs whose output lands inside */
          int64_t off = tap[last] * p->dilation[last] - p->pad_begin[last];
          int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
          int64_t hi = Wout - 1 - off < 0 ? 0 : MIN(Win, (Wout - 1 - off) / sw + 1);
          if (lo < hi) {
            /* odometer over the leading input dims */
            int64_t idx[MSC_PAD_MAX_DIMS] = {0};
            for (int64_t r = 0; r < rows; r++) {
              int64_t orow = 0;
              int inside = 1;
              for (int d = 0; d < last; d++) {
                int64_t o = idx[d] * p->stride[d] + tap[d] * p->dilation[d] - p->pad_begin[d];
                if (o < 0 || o >= p->out[d]) {
                  inside = 0;
                  break;
                }
                orow = orow * p->out[d] + o;
              }
              if (inside) {
                const float *xr = xc + r * Win;
                float *yr = ym + orow * Wout;
                for (int64_t i = lo; i < hi; i++)
                  yr[i * sw + off] += wv * xr[i];
              }
              for (int d = last - 1; d >= 0; d--) {
                if (++idx[d] < p->cd.in[d])
                  break;
                idx[d] = 0;
              }
            }
          }
          for (int d = last; d >= 0; d--) {
            if (++tap[d] < p->kernel[d])
              break;
            tap[d] = 0;
          }
        }
      }
    }
  }
}

static float *
ct_f16_to_f32(const MscTensor *t)
{
  int64_t n = msc_tensor_numel(t);
  float *f = msc_aligned_alloc0((size_t)(n > 0 ? n : 1) * sizeof(float));
  if (f == NULL)
    return NULL;
  const uint16_t *h = t->data;
  for (int64_t i = 0; i < n; i++)
    f[i] = msc_f16_to_f32(h[i]);
  return f;
}

/* ---- dispatch ------------------------------------------------------------- */

static MscStatus
ct_run(MscOpCtx *ctx)
{
  ConvTParams p;
  if (ct_parse(ctx, &p))
    return ctx->status;
  const MscTensor *x = msc_op_input(ctx, 0), *w = msc_op_input(ctx, 1), *b = msc_op_input(ctx, 2);
  MscTensor *y = ctx->out[0];
  if (msc_tensor_numel(y) == 0)
    return MSC_OK;
  if (x->dtype == MSC_DTYPE_FLOAT32) {
    ct_f32(&p, x->data, w->data, b ? b->data : NULL, y->data);
    return MSC_OK;
  }
  float *xf = ct_f16_to_f32(x), *wf = ct_f16_to_f32(w), *bf = b ? ct_f16_to_f32(b) : NULL;
  int64_t ny = msc_tensor_numel(y);
  float *yf = msc_aligned_alloc0((size_t)ny * sizeof(float));
  MscStatus st = MSC_OK;
  if (xf == NULL || wf == NULL || (b && bf == NULL) || yf == NULL) {
    st = msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory converting float16 operands");
  } else {
    ct_f32(&p, xf, wf, bf, yf);
    uint16_t *yh = y->data;
    for (int64_t i = 0; i < ny; i++)
      yh[i] = msc_f32_to_f16(yf[i]);
  }
  msc_aligned_free(xf);
  msc_aligned_free(wf);
  msc_aligned_free(bf);
  msc_aligned_free(yf);
  return st;
}

static const MscOpDef conv_transpose_def = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "ConvTranspose",
    .since_version = 1,
    .max_version = 0,
    .min_inputs = 2,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = ct_infer,
    .run = ct_run,
    .doc = "ConvTranspose (opset 1-21): N-D NCHW transposed convolution, groups, dilations, strides, pads/auto_pad, "
           "output_padding, output_shape, optional bias; float32, float16",
};

const MscOpDef *const msc_ops_conv_transpose[] = {&conv_transpose_def, NULL};
