/* ops/shape-ops.c: shape-only and copying operators: Reshape, Flatten,
 * Squeeze, Unsqueeze, Shape, Size, Identity, Dropout (inference), Expand,
 * Tile.
 *
 * All of them are type-generic: they move whole elements (msc_dtype_size
 * bytes) and never look at values, so every supported dtype works.
 */
#include <string.h>

#include "ops.h"
#include "op-util.h"
#include "tensor.h"
#include "error.h"

/* Upper bound for list inputs (shape, repeats, axes) we accept. */
#define LIST_CAP 64

static int
out_present(MscOpCtx *ctx, uint32_t j)
{
  return j < ctx->n_out && ctx->out[j] != NULL;
}

static const char *
fmt_shape(int32_t rank, const int64_t *dims, char *buf, size_t size)
{
  return msc_shape_format(rank, dims, buf, size);
}


static MscStatus
set_out(MscOpCtx *ctx, uint32_t j, MscDType dtype, int32_t rank, const int64_t *dims)
{
  static const int64_t none[MSC_MAX_RANK] = {0};
  if (!out_present(ctx, j))
    return MSC_OK;
  if (rank > MSC_MAX_RANK)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "output rank %d exceeds the maximum rank %d", (int)rank,
                       MSC_MAX_RANK);
  if (rank >= 0 && msc_op_check_out_size(ctx, dtype, rank, dims))
    return ctx->status;
  return msc_op_set_output(ctx, j, dtype, rank, rank > 0 ? dims : none);
}

/* Copies input 0's bytes to output j (same element count). */
static MscStatus
copy_in0_to(MscOpCtx *ctx, uint32_t j)
{
  const MscTensor *x = ctx->in[0];
  MscTensor *y = ctx->out[j];
  size_t n = x->nbytes < y->nbytes ? x->nbytes : y->nbytes;
  if (n && x->data != y->data)
    memcpy(y->data, x->data, n);
  return MSC_OK;
}

static MscStatus
run_copy(MscOpCtx *ctx)
{
  return copy_in0_to(ctx, 0);
}

/* Reads a 1-D int list input; *known = 0 when its value is not known
 * statically. When unknown, *n is the list length if the input's dims say
 * it (else -1 through *n_hint). */
static MscStatus
read_list(MscOpCtx *ctx, uint32_t i, const char *what, int64_t *buf, size_t *n, int *known, int64_t *n_hint)
{
  const MscTensor *t = msc_op_input(ctx, i);
  *n = 0;
  *known = 0;
  *n_hint = -1;
  if (!t)
    return MSC_OK;
  if (t->dtype != MSC_DTYPE_INT64 && t->dtype != MSC_DTYPE_INT32)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s' must be int64 or int32, got %s", what,
                       msc_dtype_name(t->dtype));
  if (t->rank > 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s' must be 1-D, got rank %d", what, (int)t->rank);
  if (t->rank == 1)
    *n_hint = t->dims[0];
  else if (t->rank == 0)
    *n_hint = 1;
  if (*n_hint > LIST_CAP)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input '%s' has %lld entries (at most %d supported)", what,
                       (long long)*n_hint, LIST_CAP);
  return msc_op_input_ints(ctx, i, buf, LIST_CAP, n, known);
}

/* ---- Reshape ---------------------------------------------------------- */

static MscStatus
reshape_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  int64_t shape[LIST_CAP];
  size_t n = 0;
  int known = 0;
  int64_t n_hint = -1;
  int64_t allowzero = 0;
  char b1[200], b2[200];

  if (msc_op_check_generic(ctx, 0))
    return ctx->status;
  if (ctx->node->opset < 5) {
    const int64_t *a;
    if (msc_op_attr_ints(ctx, "shape", &a, &n))
      return ctx->status;
    if (!msc_node_find_attr(ctx->node, "shape"))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'shape' is required before opset 5");
    if (n > LIST_CAP)
      return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "attribute 'shape' has %zu entries", n);
    memcpy(shape, a, n * sizeof *shape);
    known = 1;
  } else {
    if (!msc_op_input(ctx, 1))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'shape' is required from opset 5");
    if (read_list(ctx, 1, "shape", shape, &n, &known, &n_hint))
      return ctx->status;
    if (ctx->node->opset >= 14 && msc_op_attr_int(ctx, "allowzero", 0, &allowzero))
      return ctx->status;
  }
  if (!known) {
    int64_t dims[MSC_MAX_RANK];
    if (n_hint < 0)
      return set_out(ctx, 0, x->dtype, -1, dims);
    for (int64_t k = 0; k < n_hint && k < MSC_MAX_RANK; k++)
      dims[k] = -1;
    return set_out(ctx, 0, x->dtype, (int32_t)n_hint, dims);
  }
  if (n > MSC_MAX_RANK)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "target shape has %zu dims (maximum rank %d)", n, MSC_MAX_RANK);

  int64_t out[MSC_MAX_RANK];
  int infer_at = -1, out_unknown = 0, has_zero = 0;
  int64_t prod = 1; /* product of the known, non-inferred output dims */
  for (size_t k = 0; k < n; k++) {
    int64_t d = shape[k];
    if (d == -1) {
      if (infer_at >= 0)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "shape %s has more than one -1",
                           fmt_shape((int32_t)n, shape, b1, sizeof b1));
      infer_at = (int)k;
      out[k] = -1;
      continue;
    }
    if (d < -1)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "shape %s has a negative dim %lld",
                         fmt_shape((int32_t)n, shape, b1, sizeof b1), (long long)d);
    if (d == 0 && !allowzero) {
      if ((int32_t)k >= x->rank)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "shape %s copies dim %zu with 0 but the input %s has rank %d",
                           fmt_shape((int32_t)n, shape, b1, sizeof b1), k,
                           fmt_shape(x->rank, x->dims, b2, sizeof b2), (int)x->rank);
      d = x->dims[k];
    }
    if (d == 0)
      has_zero = 1;
    out[k] = d;
    if (d < 0)
      out_unknown = 1;
    else if (!out_unknown) {
      size_t p;
      if (!msc_mul_size((size_t)prod, (size_t)d, &p) || p > (size_t)INT64_MAX)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "shape %s overflows",
                           fmt_shape((int32_t)n, shape, b1, sizeof b1));
      prod = (int64_t)p;
    }
  }
  if (allowzero && has_zero && infer_at >= 0)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "shape %s has both 0 and -1 while allowzero=1",
                       fmt_shape((int32_t)n, shape, b1, sizeof b1));

  int64_t total = msc_shape_numel(x->rank, x->dims); /* -1 unknown */
  if (total == -2)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input shape overflows");
  if (infer_at >= 0) {
    if (total >= 0 && !out_unknown) {
      if (prod == 0)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "cannot infer the -1 in %s from %s: other dims are 0",
                           fmt_shape((int32_t)n, shape, b1, sizeof b1), fmt_shape(x->rank, x->dims, b2, sizeof b2));
      if (total % prod)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "cannot reshape %s (%lld elements) to %s",
                           fmt_shape(x->rank, x->dims, b2, sizeof b2), (long long)total,
                           fmt_shape((int32_t)n, shape, b1, sizeof b1));
      out[infer_at] = total / prod;
    }
  } else if (total >= 0 && !out_unknown && total != prod) {
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "cannot reshape %s (%lld elements) to %s (%lld elements)",
                       fmt_shape(x->rank, x->dims, b2, sizeof b2), (long long)total,
                       fmt_shape((int32_t)n, out, b1, sizeof b1), (long long)prod);
  }
  return set_out(ctx, 0, x->dtype, (int32_t)n, out);
}

static const MscOpDef reshape_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Reshape", .since_version = 1,
  .min_inputs = 1, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1,
  .infer = reshape_infer, .run = run_copy,
  .doc = "Reshape: shape attribute before opset 5, input after; 0 copies a dim unless allowzero; one -1 inferred",
};

/* ---- Flatten ---------------------------------------------------------- */

static MscStatus
flatten_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  int64_t axis, a;
  if (msc_op_check_generic(ctx, 0) || msc_op_attr_int(ctx, "axis", 1, &axis))
    return ctx->status;
  if (axis < 0 && ctx->node->opset < 11)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'axis' = %lld: negative axes need opset 11",
                       (long long)axis);
  /* axis in [-r, r]; negative counts from the back (a + r), so not the
   * insertion-style normalization of msc_op_norm_axis(inclusive) */
  a = axis < 0 ? axis + x->rank : axis;
  if (a < 0 || a > x->rank)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'axis' = %lld out of range [-%d, %d]", (long long)axis,
                       (int)x->rank, (int)x->rank);
  int64_t dims[2];
  dims[0] = msc_shape_numel((int32_t)a, x->dims);
  dims[1] = msc_shape_numel(x->rank - (int32_t)a, x->dims + a);
  if (dims[0] == -2 || dims[1] == -2)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input shape overflows");
  return set_out(ctx, 0, x->dtype, 2, dims);
}

static const MscOpDef flatten_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Flatten", .since_version = 1,
  .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
  .infer = flatten_infer, .run = run_copy,
  .doc = "Flatten to 2-D at 'axis' (negative axis from opset 11)",
};

/* ---- Squeeze / Unsqueeze --------------------------------------------- */

/* Axes of Squeeze/Unsqueeze: attribute before opset 13, input 1 from 13.
 * *present = 0 when not given; *known = 0 when the input is not constant
 * (then *n_hint is its length if known, else -1). */
static MscStatus
read_axes(MscOpCtx *ctx, int64_t *axes, size_t *n, int *present, int *known, int64_t *n_hint)
{
  *present = 0;
  *known = 1;
  *n = 0;
  *n_hint = -1;
  if (ctx->node->opset < 13) {
    const int64_t *a;
    if (msc_op_attr_ints(ctx, "axes", &a, n))
      return ctx->status;
    if (*n > LIST_CAP)
      return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "attribute 'axes' has %zu entries", *n);
    *present = msc_node_find_attr(ctx->node, "axes") != NULL;
    if (*n)
      memcpy(axes, a, *n * sizeof *axes);
    *n_hint = (int64_t)*n;
    return MSC_OK;
  }
  if (!msc_op_input(ctx, 1))
    return MSC_OK;
  *present = 1;
  if (read_list(ctx, 1, "axes", axes, n, known, n_hint))
    return ctx->status;
  if (*known)
    *n_hint = (int64_t)*n;
  return MSC_OK;
}

static MscStatus
squeeze_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  int64_t axes[LIST_CAP], dims[MSC_MAX_RANK];
  size_t n;
  int present, known;
  int64_t n_hint;
  int32_t r = 0;

  if (msc_op_check_generic(ctx, 0) || read_axes(ctx, axes, &n, &present, &known, &n_hint))
    return ctx->status;
  if (!known) {
    if (n_hint < 0 || n_hint > x->rank)
      return set_out(ctx, 0, x->dtype, -1, dims);
    for (int32_t k = 0; k < x->rank - n_hint; k++)
      dims[k] = -1;
    return set_out(ctx, 0, x->dtype, x->rank - (int32_t)n_hint, dims);
  }
  if (!present || n == 0) {
    /* squeeze every dim of size 1; an unknown dim makes the rank unknown */
    for (int32_t k = 0; k < x->rank; k++) {
      if (x->dims[k] < 0)
        return set_out(ctx, 0, x->dtype, -1, dims);
      if (x->dims[k] != 1)
        dims[r++] = x->dims[k];
    }
    return set_out(ctx, 0, x->dtype, r, dims);
  }
  uint32_t drop = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t a;
    if (msc_op_norm_axis(ctx, "axes", axes[i], x->rank, 0, &a))
      return ctx->status;
    if (drop & (1u << a))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "axes: axis %lld is repeated", (long long)axes[i]);
    if (x->dims[a] >= 0 && x->dims[a] != 1)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "axes: cannot squeeze axis %lld of size %lld",
                         (long long)axes[i], (long long)x->dims[a]);
    drop |= 1u << a;
  }
  for (int32_t k = 0; k < x->rank; k++)
    if (!(drop & (1u << k)))
      dims[r++] = x->dims[k];
  return set_out(ctx, 0, x->dtype, r, dims);
}

static MscStatus
unsqueeze_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  int64_t axes[LIST_CAP], dims[MSC_MAX_RANK];
  size_t n;
  int present, known;
  int64_t n_hint;

  if (msc_op_check_generic(ctx, 0) || read_axes(ctx, axes, &n, &present, &known, &n_hint))
    return ctx->status;
  if (!present)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, ctx->node->opset < 13 ? "attribute 'axes' is required"
                                                                         : "input 'axes' is required");
  if (n_hint >= 0 && x->rank + n_hint > MSC_MAX_RANK)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "output rank %lld exceeds the maximum rank %d",
                       (long long)(x->rank + n_hint), MSC_MAX_RANK);
  if (!known) {
    if (n_hint < 0)
      return set_out(ctx, 0, x->dtype, -1, dims);
    for (int32_t k = 0; k < x->rank + n_hint; k++)
      dims[k] = -1;
    return set_out(ctx, 0, x->dtype, x->rank + (int32_t)n_hint, dims);
  }
  int32_t r = x->rank + (int32_t)n;
  uint32_t add = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t a;
    if (msc_op_norm_axis(ctx, "axes", axes[i], r, 0, &a))
      return ctx->status;
    if (add & (1u << a))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "axes: axis %lld is repeated", (long long)axes[i]);
    add |= 1u << a;
  }
  for (int32_t k = 0, s = 0; k < r; k++)
    dims[k] = (add & (1u << k)) ? 1 : x->dims[s++];
  return set_out(ctx, 0, x->dtype, r, dims);
}

static const MscOpDef squeeze_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Squeeze", .since_version = 1,
  .min_inputs = 1, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1,
  .infer = squeeze_infer, .run = run_copy,
  .doc = "Squeeze: axes attribute before opset 13, input from 13; no axes drops every 1",
};

static const MscOpDef unsqueeze_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Unsqueeze", .since_version = 1,
  .min_inputs = 1, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1,
  .infer = unsqueeze_infer, .run = run_copy,
  .doc = "Unsqueeze: axes attribute before opset 13, input from 13; axes index the output rank",
};

/* ---- Shape / Size ----------------------------------------------------- */

static MscStatus
shape_range(MscOpCtx *ctx, int64_t *start, int64_t *end)
{
  int32_t r = ctx->in[0]->rank;
  *start = 0;
  *end = r;
  if (ctx->node->opset >= 15) {
    if (msc_op_attr_int(ctx, "start", 0, start) || msc_op_attr_int(ctx, "end", r, end))
      return ctx->status;
    /* negative counts from the back; out of range clamps (spec) */
    if (*start < 0)
      *start += r;
    if (*end < 0)
      *end += r;
    *start = *start < 0 ? 0 : (*start > r ? r : *start);
    *end = *end < 0 ? 0 : (*end > r ? r : *end);
    if (*end < *start)
      *end = *start;
  }
  return MSC_OK;
}

static MscStatus
shape_infer(MscOpCtx *ctx)
{
  int64_t s, e;
  if (shape_range(ctx, &s, &e))
    return ctx->status;
  int64_t d = e - s;
  return set_out(ctx, 0, MSC_DTYPE_INT64, 1, &d);
}

static MscStatus
shape_run(MscOpCtx *ctx)
{
  int64_t s, e;
  if (shape_range(ctx, &s, &e))
    return ctx->status;
  int64_t *y = ctx->out[0]->data;
  for (int64_t k = s; k < e; k++)
    y[k - s] = ctx->in[0]->dims[k];
  return MSC_OK;
}

static MscStatus
size_infer(MscOpCtx *ctx)
{
  return set_out(ctx, 0, MSC_DTYPE_INT64, 0, NULL);
}

static MscStatus
size_run(MscOpCtx *ctx)
{
  *(int64_t *)ctx->out[0]->data = msc_shape_numel(ctx->in[0]->rank, ctx->in[0]->dims);
  return MSC_OK;
}

static const MscOpDef shape_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Shape", .since_version = 1,
  .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
  .flags = MSC_OP_FOLD_FROM_SHAPE, .infer = shape_infer, .run = shape_run,
  .doc = "Shape as int64 (start/end from opset 15)",
};

static const MscOpDef size_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Size", .since_version = 1,
  .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
  .flags = MSC_OP_FOLD_FROM_SHAPE, .infer = size_infer, .run = size_run,
  .doc = "Element count as an int64 scalar",
};

/* ---- Identity / Dropout ---------------------------------------------- */

static MscStatus
identity_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  if (msc_op_check_generic(ctx, 0))
    return ctx->status;
  return set_out(ctx, 0, x->dtype, x->rank, x->dims);
}

static const MscOpDef identity_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Identity", .since_version = 1,
  .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
  .infer = identity_infer, .run = run_copy,
  .doc = "Identity (tensors only)",
};

/* Dropout is run in inference mode: output = input, mask all true. Opsets
 * 1 and 6 carry is_test; runtimes (and exporters) treat those nodes as
 * inference too, so is_test is accepted and ignored. From opset 12 a
 * training_mode input that is known to be true (with a non-zero ratio)
 * would need random dropout: refused. */
static MscStatus
dropout_check_training(MscOpCtx *ctx)
{
  const MscTensor *t = msc_op_input(ctx, 2);
  if (ctx->node->opset < 12 || !t || !t->data)
    return MSC_OK;
  if (t->dtype != MSC_DTYPE_BOOL)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'training_mode' must be bool, got %s",
                       msc_dtype_name(t->dtype));
  if (msc_tensor_numel(t) < 1 || !((const uint8_t *)t->data)[0])
    return MSC_OK;
  const MscTensor *r = msc_op_input(ctx, 1);
  double ratio = 0.5;
  if (r && r->data && msc_tensor_numel(r) >= 1)
    ratio = msc_tensor_get_f64(r, 0);
  else if (r)
    return MSC_OK; /* ratio not known yet: decide at run time */
  if (ratio != 0.0)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "training mode (training_mode=true, ratio %g) is not supported",
                       ratio);
  return MSC_OK;
}

static MscStatus
dropout_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  float ratio;
  int64_t is_test;
  if (msc_op_check_generic(ctx, 0))
    return ctx->status;
  if (!msc_dtype_is_float(x->dtype))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'data' must be a float tensor, got %s",
                       msc_dtype_name(x->dtype));
  if (ctx->node->opset < 12) {
    if (msc_op_attr_float(ctx, "ratio", 0.5f, &ratio))
      return ctx->status;
    if (!(ratio >= 0.0f && ratio < 1.0f))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'ratio' = %g not in [0, 1)", ratio);
  }
  if (ctx->node->opset < 7 && msc_op_attr_int(ctx, "is_test", 0, &is_test))
    return ctx->status;
  if (ctx->node->opset >= 12) {
    const MscTensor *r = msc_op_input(ctx, 1);
    if (r && !msc_dtype_is_float(r->dtype))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'ratio' must be a float scalar, got %s",
                         msc_dtype_name(r->dtype));
  }
  if (dropout_check_training(ctx))
    return ctx->status;
  if (set_out(ctx, 0, x->dtype, x->rank, x->dims))
    return ctx->status;
  /* the mask is bool from opset 10, the input type before */
  return set_out(ctx, 1, ctx->node->opset >= 10 ? MSC_DTYPE_BOOL : x->dtype, x->rank, x->dims);
}

static MscStatus
dropout_run(MscOpCtx *ctx)
{
  if (dropout_check_training(ctx) || copy_in0_to(ctx, 0))
    return ctx->status;
  if (out_present(ctx, 1)) {
    MscTensor *m = ctx->out[1];
    int64_t n = msc_tensor_numel(m);
    if (m->dtype == MSC_DTYPE_BOOL)
      memset(m->data, 1, (size_t)n);
    else
      for (int64_t i = 0; i < n; i++)
        msc_tensor_set_f64(m, i, 1.0);
  }
  return MSC_OK;
}

static const MscOpDef dropout_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Dropout", .since_version = 1,
  .min_inputs = 1, .max_inputs = 3, .min_outputs = 1, .max_outputs = 2,
  .infer = dropout_infer, .run = dropout_run,
  .doc = "Dropout in inference mode (copy; mask all true); training_mode=true is unsupported",
};

/* ---- Expand ----------------------------------------------------------- */

/* Copies @src (rank rs) broadcast numpy-style to @dst (rank rd >= rs). The
 * innermost dim is either copied as a row or filled with one element. */
static void
broadcast_copy(const uint8_t *src, int32_t rs, const int64_t *ds, uint8_t *dst, int32_t rd, const int64_t *dd,
               size_t es)
{
  int64_t sstr[MSC_MAX_RANK], idx[MSC_MAX_RANK] = {0};
  int64_t acc = 1, soff = 0;
  int64_t numel = msc_shape_numel(rd, dd);
  if (numel <= 0)
    return;
  if (rd == 0) {
    memcpy(dst, src, es);
    return;
  }
  for (int32_t k = rd - 1; k >= 0; k--) {
    int32_t ks = k - (rd - rs);
    int64_t d = ks >= 0 ? ds[ks] : 1;
    sstr[k] = d == 1 ? 0 : acc;
    acc *= d;
  }
  int64_t inner = dd[rd - 1], rows = numel / inner;
  size_t row_bytes = (size_t)inner * es;
  for (int64_t row = 0; row < rows; row++) {
    const uint8_t *s = src + (size_t)soff * es;
    if (sstr[rd - 1])
      memcpy(dst, s, row_bytes);
    else if (es == 4)
      for (int64_t i = 0; i < inner; i++)
        memcpy(dst + i * 4, s, 4);
    else
      for (int64_t i = 0; i < inner; i++)
        memcpy(dst + (size_t)i * es, s, es);
    dst += row_bytes;
    for (int32_t k = rd - 2; k >= 0; k--) {
      soff += sstr[k];
      if (++idx[k] < dd[k])
        break;
      soff -= sstr[k] * dd[k];
      idx[k] = 0;
    }
  }
}

static MscStatus
expand_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  int64_t shape[LIST_CAP], dims[MSC_MAX_RANK];
  size_t n;
  int known;
  int64_t n_hint;
  int32_t r;

  if (msc_op_check_generic(ctx, 0) || read_list(ctx, 1, "shape", shape, &n, &known, &n_hint))
    return ctx->status;
  if (!known) {
    if (n_hint < 0)
      return set_out(ctx, 0, x->dtype, -1, dims);
    if (n_hint > MSC_MAX_RANK)
      return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input 'shape' has %lld dims (maximum rank %d)",
                         (long long)n_hint, MSC_MAX_RANK);
    r = x->rank > n_hint ? x->rank : (int32_t)n_hint;
    /* a known input dim other than 1 survives any legal target dim */
    for (int32_t k = 0; k < r; k++) {
      int32_t kx = k - (r - x->rank);
      dims[k] = (kx >= 0 && x->dims[kx] > 1) ? x->dims[kx] : -1;
    }
    return set_out(ctx, 0, x->dtype, r, dims);
  }
  if (n > MSC_MAX_RANK)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input 'shape' has %zu dims (maximum rank %d)", n, MSC_MAX_RANK);
  for (size_t k = 0; k < n; k++)
    if (shape[k] < 0) {
      char b[200];
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'shape' %s has a negative dim",
                         fmt_shape((int32_t)n, shape, b, sizeof b));
    }
  if (msc_op_broadcast(ctx, x->rank, x->dims, (int32_t)n, shape, &r, dims))
    return ctx->status;
  return set_out(ctx, 0, x->dtype, r, dims);
}

static MscStatus
expand_run(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  MscTensor *y = ctx->out[0];
  broadcast_copy(x->data, x->rank, x->dims, y->data, y->rank, y->dims, msc_dtype_size(x->dtype));
  return MSC_OK;
}

static const MscOpDef expand_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Expand", .since_version = 8,
  .min_inputs = 2, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1,
  .infer = expand_infer, .run = expand_run,
  .doc = "Expand: bidirectional broadcast of the input to the shape input",
};

/* ---- Tile ------------------------------------------------------------- */

/* Repeats per axis. Opset 6+: input 'repeats' (one per dim). Opset 1:
 * inputs 'tiles' (scalar count) and 'axis' (scalar). *known = 0 when the
 * values are not known statically. */
static MscStatus
tile_repeats(MscOpCtx *ctx, int64_t *rep, int *known)
{
  const MscTensor *x = ctx->in[0];
  size_t n;
  int64_t n_hint;
  if (ctx->node->opset < 6) {
    int64_t t[LIST_CAP], a[LIST_CAP];
    size_t nt, na;
    int kt, ka;
    if (!msc_op_input(ctx, 2))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "Tile-1 needs inputs 'tiles' and 'axis'");
    if (read_list(ctx, 1, "tiles", t, &nt, &kt, &n_hint) || read_list(ctx, 2, "axis", a, &na, &ka, &n_hint))
      return ctx->status;
    *known = kt && ka;
    if (!*known)
      return MSC_OK;
    if (nt != 1 || na != 1)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "inputs 'tiles' and 'axis' must be scalars");
    int64_t ax;
    if (msc_op_norm_axis(ctx, "input 'axis'", a[0], x->rank, 0, &ax))
      return ctx->status;
    for (int32_t k = 0; k < x->rank; k++)
      rep[k] = k == ax ? t[0] : 1;
  } else {
    int64_t r[LIST_CAP];
    if (read_list(ctx, 1, "repeats", r, &n, known, &n_hint))
      return ctx->status;
    if (!*known)
      return MSC_OK;
    if ((int64_t)n != x->rank)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'repeats' has %zu entries for an input of rank %d", n,
                         (int)x->rank);
    memcpy(rep, r, n * sizeof *rep);
  }
  for (int32_t k = 0; k < x->rank; k++)
    if (rep[k] < 0)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "repeat %lld for axis %d is negative", (long long)rep[k], (int)k);
  return MSC_OK;
}

static MscStatus
tile_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  int64_t rep[MSC_MAX_RANK], dims[MSC_MAX_RANK];
  int known;
  if (msc_op_check_generic(ctx, 0) || tile_repeats(ctx, rep, &known))
    return ctx->status;
  for (int32_t k = 0; k < x->rank; k++) {
    if (!known || x->dims[k] < 0) {
      dims[k] = (known && (rep[k] == 0)) ? 0 : -1;
      continue;
    }
    size_t d;
    if (!msc_mul_size((size_t)x->dims[k], (size_t)rep[k], &d) || d > (size_t)INT64_MAX)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "axis %d: %lld x %lld repeats overflows", (int)k,
                         (long long)x->dims[k], (long long)rep[k]);
    dims[k] = (int64_t)d;
  }
  return set_out(ctx, 0, x->dtype, x->rank, dims);
}

static MscStatus
tile_run(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  MscTensor *y = ctx->out[0];
  size_t es = msc_dtype_size(x->dtype);
  int32_t r = y->rank;
  int64_t numel = msc_tensor_numel(y), idx[MSC_MAX_RANK] = {0}, str[MSC_MAX_RANK];
  if (numel <= 0 || msc_tensor_numel(x) <= 0)
    return MSC_OK;
  if (r == 0) {
    memcpy(y->data, x->data, es);
    return MSC_OK;
  }
  msc_shape_strides(x->rank, x->dims, str);
  int64_t in_inner = x->dims[r - 1], out_inner = y->dims[r - 1], rows = numel / out_inner;
  const uint8_t *src = x->data;
  uint8_t *dst = y->data;
  for (int64_t row = 0; row < rows; row++) {
    int64_t off = 0;
    for (int32_t k = 0; k < r - 1; k++)
      off += (idx[k] % x->dims[k]) * str[k];
    for (int64_t c = 0; c < out_inner; c += in_inner) {
      memcpy(dst, src + (size_t)off * es, (size_t)in_inner * es);
      dst += (size_t)in_inner * es;
    }
    for (int32_t k = r - 2; k >= 0; k--) {
      if (++idx[k] < y->dims[k])
        break;
      idx[k] = 0;
    }
  }
  return MSC_OK;
}

static const MscOpDef tile_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Tile", .since_version = 1,
  .min_inputs = 2, .max_inputs = 3, .min_outputs = 1, .max_outputs = 1,
  .infer = tile_infer, .run = tile_run,
  .doc = "Tile: repeats input (opset 6+); opset 1 form tiles+axis inputs",
};

const MscOpDef *const msc_ops_shape[] = {
  &reshape_def, &flatten_def, &squeeze_def, &unsqueeze_def, &shape_def, &size_def,
  &identity_def, &dropout_def, &expand_def, &tile_def, NULL,
};
