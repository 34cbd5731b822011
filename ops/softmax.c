/* ops/softmax.c: Softmax and LogSoftmax.
 *
 * Two ONNX semantics:
 *   opset < 13: the input is coerced to 2-D [prod(d[:axis]), prod(d[axis:])]
 *               and normalized over the second dim; axis defaults to 1 and
 *               may equal the rank (then each "row" is one element).
 *   opset >= 13: normalized along the single dim @axis, default -1.
 * Numerically stable: the row max is subtracted before exp, sums in double.
 * Dtypes float32 and float16 (computed in float).
 */
#include <math.h>
#include <string.h>

#include "op-util.h"
#include "ops.h"
#include "tensor.h"

typedef struct {
  int64_t outer, len, inner;
} SoftmaxShape;

static MscStatus softmax_shape(MscOpCtx *ctx, SoftmaxShape *sh)
{
  const MscTensor *x = msc_op_input(ctx, 0);
  int legacy = ctx->node->opset < 13;
  int64_t axis, a;
  if (msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_UNDEFINED) ||
      msc_op_attr_int(ctx, "axis", legacy ? 1 : -1, &axis))
    return ctx->status;
  if (x->rank < 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'input': a scalar has no axis to normalize");
  if (legacy) {
    /* [-r, r]: a negative axis counts from the rank (Flatten-like), and
     * axis == r leaves one element per row */
    a = axis < 0 ? axis + x->rank : axis;
    if (a < 0 || a > x->rank)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'axis' %lld out of range for rank %d",
                         (long long)axis, (int)x->rank);
  } else if (msc_op_norm_axis(ctx, "attribute 'axis'", axis, x->rank, 0, &a)) {
    return ctx->status;
  }
  sh->outer = msc_shape_numel((int32_t)a, x->dims);
  if (legacy) {
    sh->len = msc_shape_numel(x->rank - (int32_t)a, &x->dims[a]);
    sh->inner = 1;
  } else {
    sh->len = x->dims[a];
    sh->inner = msc_shape_numel(x->rank - (int32_t)a - 1, &x->dims[a + 1]);
  }
  return MSC_OK;
}

static MscStatus softmax_infer(MscOpCtx *ctx)
{
  SoftmaxShape sh;
  if (softmax_shape(ctx, &sh))
    return ctx->status;
  return msc_op_same_as_input(ctx, 0, 0);
}

/* Normalizes @len rows of @inner contiguous values (stride @inner). */
static void softmax_block(const float *x, float *y, int64_t len, int64_t inner, int log_form,
                          float *mx, double *sum)
{
  if (inner == 1) {
    float m = x[0];
    for (int64_t i = 1; i < len; i++)
      if (x[i] > m)
        m = x[i];
    double s = 0.0;
    if (log_form) {
      for (int64_t i = 0; i < len; i++)
        s += exp((double)(x[i] - m));
      float ls = (float)log(s);
      for (int64_t i = 0; i < len; i++)
        y[i] = x[i] - m - ls;
    } else {
      for (int64_t i = 0; i < len; i++) {
        float e = expf(x[i] - m);
        y[i] = e;
        s += e;
      }
      float inv = (float)(1.0 / s);
      for (int64_t i = 0; i < len; i++)
        y[i] *= inv;
    }
    return;
  }
  /* strided axis: keep a max and a sum per inner position, rows contiguous */
  memcpy(mx, x, (size_t)inner * sizeof(float));
  for (int64_t i = 1; i < len; i++) {
    const float *r = x + i * inner;
    for (int64_t j = 0; j < inner; j++)
      if (r[j] > mx[j])
        mx[j] = r[j];
  }
  memset(sum, 0, (size_t)inner * sizeof(double));
  for (int64_t i = 0; i < len; i++) {
    const float *r = x + i * inner;
    float *o = y + i * inner;
    for (int64_t j = 0; j < inner; j++) {
      float e = expf(r[j] - mx[j]);
      if (!log_form)
        o[j] = e;
      sum[j] += e;
    }
  }
  if (log_form) {
    for (int64_t j = 0; j < inner; j++)
      sum[j] = log(sum[j]);
    for (int64_t i = 0; i < len; i++) {
      const float *r = x + i * inner;
      float *o = y + i * inner;
      for (int64_t j = 0; j < inner; j++)
        o[j] = r[j] - mx[j] - (float)sum[j];
    }
  } else {
    for (int64_t j = 0; j < inner; j++)
      sum[j] = 1.0 / sum[j];
    for (int64_t i = 0; i < len; i++) {
      float *o = y + i * inner;
      for (int64_t j = 0; j < inner; j++)
        o[j] = (float)(o[j] * sum[j]);
    }
  }
}

static MscStatus softmax_run_common(MscOpCtx *ctx, int log_form)
{
  SoftmaxShape sh;
  if (softmax_shape(ctx, &sh))
    return ctx->status;
  const MscTensor *x = msc_op_input(ctx, 0);
  MscTensor *y = ctx->out[0];
  int64_t n = sh.outer * sh.len * sh.inner;
  if (n == 0)
    return MSC_OK;
  float *xb = NULL, *yb = NULL;
  float *mx = g_try_new(float, (size_t)sh.inner);
  double *sum = g_try_new(double, (size_t)sh.inner);
  const float *xf = x->data;
  float *yf = y->data;
  if (x->dtype == MSC_DTYPE_FLOAT16) {
    xb = g_try_new(float, (size_t)n);
    yb = g_try_new(float, (size_t)n);
    if (xb && yb)
      for (int64_t i = 0; i < n; i++)
        xb[i] = msc_f16_to_f32(((const uint16_t *)x->data)[i]);
    xf = xb;
    yf = yb;
  }
  if (!mx || !sum || !xf || !yf) {
    g_free(mx);
    g_free(sum);
    g_free(xb);
    g_free(yb);
    return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory");
  }
  int64_t blk = sh.len * sh.inner;
  for (int64_t o = 0; o < sh.outer; o++)
    softmax_block(xf + o * blk, yf + o * blk, sh.len, sh.inner, log_form, mx, sum);
  if (yb)
    for (int64_t i = 0; i < n; i++)
      ((uint16_t *)y->data)[i] = msc_f32_to_f16(yb[i]);
  g_free(mx);
  g_free(sum);
  g_free(xb);
  g_free(yb);
  return MSC_OK;
}

static MscStatus softmax_run(MscOpCtx *ctx)
{
  return softmax_run_common(ctx, 0);
}

static MscStatus logsoftmax_run(MscOpCtx *ctx)
{
  return softmax_run_common(ctx, 1);
}

static const MscOpDef op_softmax = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "Softmax",
    .since_version = 1,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = softmax_infer,
    .run = softmax_run,
    .doc = "Softmax: 2-D coercion at axis (default 1) before opset 13, single axis "
           "(default -1) from 13; float32/float16",
};

static const MscOpDef op_logsoftmax = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "LogSoftmax",
    .since_version = 1,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = softmax_infer,
    .run = logsoftmax_run,
    .doc = "LogSoftmax with the Softmax axis rules of each opset; float32/float16",
};

const MscOpDef *const msc_ops_softmax[] = {&op_softmax, &op_logsoftmax, NULL};
