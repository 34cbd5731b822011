/* ops/concat-split.c: Concat and Split (type-generic byte copies).
 *
 * Concat 'axis': default 1 before opset 4, required from 4.
 * Split sizes: attribute 'split' (opsets 1-12; opset 1 also as input 1),
 * input 'split' from 13, attribute 'num_outputs' from 18. Without sizes the
 * axis is split equally; from opset 18 an uneven axis gives ceil-sized
 * chunks and a smaller last one, before 18 it must divide evenly.
 */
#include <string.h>

#include "ops.h"
#include "op-util.h"
#include "tensor.h"
#include "error.h"

/* ---- Concat ----------------------------------------------------------- */

static MscStatus
concat_axis(MscOpCtx *ctx, int32_t rank, int64_t *axis)
{
  int64_t a;
  if (ctx->node->opset >= 4 && !msc_node_find_attr(ctx->node, "axis"))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'axis' is required from opset 4");
  if (msc_op_attr_int(ctx, "axis", 1, &a))
    return ctx->status;
  return msc_op_norm_axis(ctx, "attribute 'axis'", a, rank, 0, axis);
}

static MscStatus
concat_infer(MscOpCtx *ctx)
{
  const MscTensor *x0 = ctx->in[0];
  int64_t axis, dims[MSC_MAX_RANK];
  char b1[200], b2[200];

  if (!x0)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 0 is missing");
  if (msc_op_check_generic(ctx, 0) || concat_axis(ctx, x0->rank, &axis))
    return ctx->status;
  memcpy(dims, x0->dims, sizeof dims);
  for (uint32_t i = 1; i < ctx->n_in; i++) {
    const MscTensor *x = ctx->in[i];
    if (!x)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u is missing", i);
    if (msc_op_check_same_dtype(ctx, 0, i))
      return ctx->status;
    if (x->rank != x0->rank)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u has rank %d, input 0 rank %d", i, (int)x->rank,
                         (int)x0->rank);
    for (int32_t k = 0; k < x0->rank; k++) {
      if (k == axis) {
        if (dims[k] >= 0 && x->dims[k] >= 0 && __builtin_add_overflow(dims[k], x->dims[k], &dims[k]))
          return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u: the concatenated axis %lld passes INT64_MAX", i,
                             (long long)axis);
        else if (dims[k] < 0 || x->dims[k] < 0)
          dims[k] = -1;
        continue;
      }
      if (dims[k] >= 0 && x->dims[k] >= 0 && dims[k] != x->dims[k])
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u shape %s does not match %s outside axis %lld", i,
                           msc_shape_format(x->rank, x->dims, b1, sizeof b1),
                           msc_shape_format(x0->rank, x0->dims, b2, sizeof b2), (long long)axis);
      if (dims[k] < 0)
        dims[k] = x->dims[k];
    }
  }
  if (msc_op_check_out_size(ctx, x0->dtype, x0->rank, dims))
    return ctx->status;
  return msc_op_set_output(ctx, 0, x0->dtype, x0->rank, dims);
}

static MscStatus
concat_run(MscOpCtx *ctx)
{
  MscTensor *y = ctx->out[0];
  int64_t axis;
  if (concat_axis(ctx, y->rank, &axis))
    return ctx->status;
  size_t es = msc_dtype_size(y->dtype);
  int64_t outer = msc_shape_numel((int32_t)axis, y->dims);
  int64_t inner = msc_shape_numel(y->rank - (int32_t)axis - 1, y->dims + axis + 1);
  size_t out_row = (size_t)(y->dims[axis] * inner) * es;
  if (msc_tensor_numel(y) <= 0)
    return MSC_OK;
  size_t pos = 0; /* byte offset of the current input inside an output row */
  for (uint32_t i = 0; i < ctx->n_in; i++) {
    const MscTensor *x = ctx->in[i];
    size_t chunk = (size_t)(x->dims[axis] * inner) * es;
    if (chunk == 0)
      continue;
    const uint8_t *s = x->data;
    uint8_t *d = (uint8_t *)y->data + pos;
    for (int64_t o = 0; o < outer; o++)
      memcpy(d + (size_t)o * out_row, s + (size_t)o * chunk, chunk);
    pos += chunk;
  }
  return MSC_OK;
}

static const MscOpDef concat_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Concat", .since_version = 1,
  .min_inputs = 1, .max_inputs = 0, .min_outputs = 1, .max_outputs = 1,
  .infer = concat_infer, .run = concat_run,
  .doc = "Concat along 'axis' (default 1 before opset 4, required after; negative from 11)",
};

/* ---- Split ------------------------------------------------------------ */

/* Fills sizes[0..n_out) along the (normalized) axis. *known = 0 when the
 * sizes depend on an unknown dim or split input. */
static MscStatus
split_sizes(MscOpCtx *ctx, int64_t *axis_out, int64_t *sizes, int *known)
{
  const MscTensor *x = ctx->in[0];
  const MscNode *node = ctx->node;
  uint32_t n_out = ctx->n_out;
  int64_t axis, given[256];
  size_t n = 0;
  int have = 0, kn = 1;

  if (n_out > G_N_ELEMENTS(given))
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "%u outputs (at most %zu supported)", n_out,
                       G_N_ELEMENTS(given));
  if (msc_op_attr_int(ctx, "axis", 0, &axis) ||
      msc_op_norm_axis(ctx, "attribute 'axis'", axis, x->rank, 0, axis_out))
    return ctx->status;
  axis = *axis_out;

  if (node->opset < 13 && msc_node_find_attr(node, "split")) {
    const int64_t *a;
    if (msc_op_attr_ints(ctx, "split", &a, &n))
      return ctx->status;
    if (n > G_N_ELEMENTS(given))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'split' has %zu entries for %u outputs", n, n_out);
    memcpy(given, a, n * sizeof *given);
    have = 1;
  } else if ((node->opset >= 13 || node->opset < 2) && msc_op_input(ctx, 1)) {
    const MscTensor *s = ctx->in[1];
    if (s->dtype != MSC_DTYPE_INT64 && s->dtype != MSC_DTYPE_INT32)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'split' must be int64, got %s", msc_dtype_name(s->dtype));
    if (s->rank == 1 && s->dims[0] > (int64_t)G_N_ELEMENTS(given))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'split' has %lld entries for %u outputs",
                         (long long)s->dims[0], n_out);
    if (msc_op_input_ints(ctx, 1, given, G_N_ELEMENTS(given), &n, &kn))
      return ctx->status;
    have = 1;
  }

  if (have) {
    if (!kn) {
      *known = 0;
      return MSC_OK;
    }
    if (n != n_out)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "split has %zu sizes for %u outputs", n, n_out);
    int64_t sum = 0;
    for (size_t j = 0; j < n; j++) {
      if (given[j] < 0)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "split size %lld is negative", (long long)given[j]);
      if (given[j] > INT64_MAX - sum)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "split sizes overflow");
      sum += given[j];
      sizes[j] = given[j];
    }
    if (x->dims[axis] >= 0 && sum != x->dims[axis])
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "split sizes sum to %lld but axis %lld has size %lld",
                         (long long)sum, (long long)axis, (long long)x->dims[axis]);
    *known = 1;
    return MSC_OK;
  }

  if (node->opset >= 18) {
    const MscAttr *a = msc_node_find_attr(node, "num_outputs");
    int64_t num;
    if (msc_op_attr_int(ctx, "num_outputs", n_out, &num))
      return ctx->status;
    if (a && num != (int64_t)n_out)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'num_outputs' = %lld but the node has %u outputs",
                         (long long)num, n_out);
  }
  if (n_out == 0)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "no outputs");
  int64_t d = x->dims[axis];
  if (d < 0) {
    *known = 0;
    return MSC_OK;
  }
  if (node->opset >= 18) {
    int64_t chunk = d / n_out + (d % n_out != 0); /* ceil, without d + n_out - 1 passing INT64_MAX */
    int64_t last = d - chunk * (n_out - 1);
    if (last < 0)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "axis %lld of size %lld cannot be split into %u chunks of %lld",
                         (long long)axis, (long long)d, n_out, (long long)chunk);
    for (uint32_t j = 0; j < n_out; j++)
      sizes[j] = j + 1 < n_out ? chunk : last;
  } else {
    if (d % n_out)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "axis %lld of size %lld does not split evenly into %u outputs",
                         (long long)axis, (long long)d, n_out);
    for (uint32_t j = 0; j < n_out; j++)
      sizes[j] = d / n_out;
  }
  *known = 1;
  return MSC_OK;
}

static MscStatus
split_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  int64_t axis, sizes[256], dims[MSC_MAX_RANK];
  int known = 1;
  if (msc_op_check_generic(ctx, 0) || split_sizes(ctx, &axis, sizes, &known))
    return ctx->status;
  memcpy(dims, x->dims, sizeof dims);
  for (uint32_t j = 0; j < ctx->n_out; j++) {
    if (!ctx->out[j])
      continue;
    dims[axis] = known ? sizes[j] : -1;
    if (msc_op_set_output(ctx, j, x->dtype, x->rank, dims))
      return ctx->status;
  }
  return MSC_OK;
}

static MscStatus
split_run(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  int64_t axis, sizes[256];
  int known = 1;
  if (split_sizes(ctx, &axis, sizes, &known))
    return ctx->status;
  if (!known)
    return msc_op_fail(ctx, MSC_ERR_INTERNAL, "split sizes unknown at run time");
  size_t es = msc_dtype_size(x->dtype);
  int64_t outer = msc_shape_numel((int32_t)axis, x->dims);
  int64_t inner = msc_shape_numel(x->rank - (int32_t)axis - 1, x->dims + axis + 1);
  size_t in_row = (size_t)(x->dims[axis] * inner) * es;
  size_t pos = 0;
  if (msc_tensor_numel(x) <= 0)
    return MSC_OK;
  for (uint32_t j = 0; j < ctx->n_out; j++) {
    size_t chunk = (size_t)(sizes[j] * inner) * es;
    if (ctx->out[j] && chunk) {
      const uint8_t *s = (const uint8_t *)x->data + pos;
      uint8_t *d = ctx->out[j]->data;
      for (int64_t o = 0; o < outer; o++)
        memcpy(d + (size_t)o * chunk, s + (size_t)o * in_row, chunk);
    }
    pos += chunk;
  }
  return MSC_OK;
}

static const MscOpDef split_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Split", .since_version = 1,
  .min_inputs = 1, .max_inputs = 2, .min_outputs = 1, .max_outputs = 0,
  .infer = split_infer, .run = split_run,
  .doc = "Split along 'axis': sizes by attribute (<13) or input (13+), num_outputs (18+), else equal parts",
};

const MscOpDef *const msc_ops_concat_split[] = {&concat_def, &split_def, NULL};
