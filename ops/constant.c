/* ops/constant.c: Constant and ConstantOfShape.
 *
 * Constant takes exactly one of value (tensor), value_float(s),
 * value_int(s) (the scalar/list forms from opset 12); sparse_value and
 * the string forms are not supported. ConstantOfShape fills a shape given
 * as an int64 input with the one element of its 'value' tensor (float32 0
 * by default).
 */
#include <string.h>

#include "ops.h"
#include "op-util.h"
#include "tensor.h"
#include "error.h"

#define LIST_CAP 64


static MscStatus
check_dtype(MscOpCtx *ctx, const char *what, MscDType dtype)
{
  if (!msc_dtype_is_supported(dtype))
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "%s: dtype %s is not supported", what, msc_dtype_name(dtype));
  return MSC_OK;
}

/* ---- Constant --------------------------------------------------------- */

typedef struct {
  const MscAttr *attr; /* the one value attribute */
  MscDType dtype;
  int32_t rank;
  int64_t dims[MSC_MAX_RANK];
} ConstantForm;

static MscStatus
constant_form(MscOpCtx *ctx, ConstantForm *f)
{
  static const char *const unsupported[] = {"sparse_value", "value_string", "value_strings"};
  static const char *const forms[] = {"value", "value_float", "value_floats", "value_int", "value_ints"};
  const MscNode *node = ctx->node;
  int found = 0;

  for (size_t i = 0; i < G_N_ELEMENTS(unsupported); i++)
    if (msc_node_find_attr(node, unsupported[i]))
      return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "attribute '%s' is not supported", unsupported[i]);
  memset(f, 0, sizeof *f);
  for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
    const MscAttr *a = msc_node_find_attr(node, forms[i]);
    if (!a)
      continue;
    if (i > 0 && node->opset < 12)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute '%s' needs opset 12 (model has %lld)", forms[i],
                         (long long)node->opset);
    if (found++)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "exactly one value attribute may be set ('%s' and '%s')",
                         f->attr->name, a->name);
    f->attr = a;
  }
  if (!f->attr)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'value' is required");

  const MscAttr *a = f->attr;
  const char *name = a->name;
  if (!strcmp(name, "value")) {
    const MscTensor *t;
    if (msc_op_attr_tensor(ctx, "value", &t))
      return ctx->status;
    if (!t)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'value' has no tensor");
    if (check_dtype(ctx, "attribute 'value'", t->dtype))
      return ctx->status;
    int64_t numel = msc_shape_numel(t->rank, t->dims);
    if (numel < 0 || t->rank < 0 || t->rank > MSC_MAX_RANK ||
        (numel > 0 && (!t->data || t->nbytes != (size_t)numel * msc_dtype_size(t->dtype))))
      return msc_op_fail(ctx, MSC_ERR_CORRUPT, "attribute 'value': tensor data does not match its shape");
    f->dtype = t->dtype;
    f->rank = t->rank;
    memcpy(f->dims, t->dims, sizeof f->dims);
  } else if (!strcmp(name, "value_float") || !strcmp(name, "value_int")) {
    int is_f = name[6] == 'f';
    if (a->type != (is_f ? MSC_ATTR_FLOAT : MSC_ATTR_INT))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute '%s' has the wrong type", name);
    f->dtype = is_f ? MSC_DTYPE_FLOAT32 : MSC_DTYPE_INT64;
    f->rank = 0;
  } else {
    int is_f = name[6] == 'f';
    if (a->type != (is_f ? MSC_ATTR_FLOATS : MSC_ATTR_INTS))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute '%s' has the wrong type", name);
    f->dtype = is_f ? MSC_DTYPE_FLOAT32 : MSC_DTYPE_INT64;
    f->rank = 1;
    f->dims[0] = (int64_t)a->n;
  }
  return msc_op_check_out_size(ctx, f->dtype, f->rank, f->dims);
}

static MscStatus
constant_infer(MscOpCtx *ctx)
{
  ConstantForm f;
  if (constant_form(ctx, &f))
    return ctx->status;
  return msc_op_set_output(ctx, 0, f.dtype, f.rank, f.dims);
}

static MscStatus
constant_run(MscOpCtx *ctx)
{
  ConstantForm f;
  MscTensor *y = ctx->out[0];
  if (constant_form(ctx, &f))
    return ctx->status;
  const MscAttr *a = f.attr;
  if (a->type == MSC_ATTR_TENSOR) {
    size_t n = a->t->nbytes < y->nbytes ? a->t->nbytes : y->nbytes;
    if (n)
      memcpy(y->data, a->t->data, n);
  } else if (a->type == MSC_ATTR_FLOAT) {
    *(float *)y->data = a->f;
  } else if (a->type == MSC_ATTR_INT) {
    *(int64_t *)y->data = a->i;
  } else if (a->type == MSC_ATTR_FLOATS) {
    if (a->n)
      memcpy(y->data, a->floats, a->n * sizeof(float));
  } else if (a->n) {
    memcpy(y->data, a->ints, a->n * sizeof(int64_t));
  }
  return MSC_OK;
}

static const MscOpDef constant_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Constant", .since_version = 1,
  .min_inputs = 0, .max_inputs = 0, .min_outputs = 1, .max_outputs = 1,
  .infer = constant_infer, .run = constant_run,
  .doc = "Constant: value tensor; value_float(s)/value_int(s) from opset 12; sparse and strings unsupported",
};

/* ---- ConstantOfShape -------------------------------------------------- */

/* The fill value: attribute 'value' (one element) or float32 0. */
static MscStatus
cos_value(MscOpCtx *ctx, const MscTensor **value)
{
  const MscTensor *t;
  if (msc_op_attr_tensor(ctx, "value", &t))
    return ctx->status;
  *value = t;
  if (!t)
    return MSC_OK;
  if (check_dtype(ctx, "attribute 'value'", t->dtype))
    return ctx->status;
  if (msc_shape_numel(t->rank, t->dims) != 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'value' must hold exactly one element");
  if (!t->data || t->nbytes < msc_dtype_size(t->dtype))
    return msc_op_fail(ctx, MSC_ERR_CORRUPT, "attribute 'value': tensor has no data");
  return MSC_OK;
}

static MscStatus
cos_infer(MscOpCtx *ctx)
{
  const MscTensor *value, *s = ctx->in[0];
  int64_t shape[LIST_CAP];
  size_t n;
  int known;
  if (cos_value(ctx, &value))
    return ctx->status;
  MscDType dtype = value ? value->dtype : MSC_DTYPE_FLOAT32;
  if (s->dtype != MSC_DTYPE_INT64)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'input' must be int64, got %s", msc_dtype_name(s->dtype));
  if (s->rank != 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'input' must be 1-D, got rank %d", (int)s->rank);
  if (s->dims[0] > MSC_MAX_RANK)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input 'input' has %lld dims (maximum rank %d)",
                       (long long)s->dims[0], MSC_MAX_RANK);
  if (msc_op_input_ints(ctx, 0, shape, LIST_CAP, &n, &known))
    return ctx->status;
  if (!known) {
    int64_t dims[MSC_MAX_RANK];
    if (s->dims[0] < 0)
      return msc_op_set_output(ctx, 0, dtype, -1, dims);
    for (int64_t k = 0; k < s->dims[0]; k++)
      dims[k] = -1;
    return msc_op_set_output(ctx, 0, dtype, (int32_t)s->dims[0], dims);
  }
  if (n > MSC_MAX_RANK)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input 'input' has %zu dims (maximum rank %d)", n, MSC_MAX_RANK);
  for (size_t k = 0; k < n; k++)
    if (shape[k] < 0) {
      char b[200];
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "shape %s has a negative dim",
                         msc_shape_format((int32_t)n, shape, b, sizeof b));
    }
  if (msc_op_check_out_size(ctx, dtype, (int32_t)n, shape))
    return ctx->status;
  return msc_op_set_output(ctx, 0, dtype, (int32_t)n, shape);
}

static MscStatus
cos_run(MscOpCtx *ctx)
{
  const MscTensor *value;
  MscTensor *y = ctx->out[0];
  if (cos_value(ctx, &value))
    return ctx->status;
  int64_t n = msc_tensor_numel(y);
  size_t es = msc_dtype_size(y->dtype);
  if (!value || n <= 0)
    return MSC_OK; /* output is zero-filled by the caller */
  uint8_t *d = y->data;
  int zero = 1;
  for (size_t b = 0; b < es; b++)
    zero &= ((const uint8_t *)value->data)[b] == 0;
  if (zero)
    return MSC_OK;
  if (es == 1) {
    memset(d, *(const uint8_t *)value->data, (size_t)n);
    return MSC_OK;
  }
  memcpy(d, value->data, es);
  /* doubling copies: log2(n) memcpy calls */
  for (int64_t done = 1; done < n;) {
    int64_t c = done < n - done ? done : n - done;
    memcpy(d + (size_t)done * es, d, (size_t)c * es);
    done += c;
  }
  return MSC_OK;
}

static const MscOpDef constant_of_shape_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "ConstantOfShape", .since_version = 9,
  .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
  .infer = cos_infer, .run = cos_run,
  .doc = "ConstantOfShape: int64 shape input filled with the one-element 'value' (float32 0 by default)",
};

const MscOpDef *const msc_ops_constant[] = {&constant_def, &constant_of_shape_def, NULL};
