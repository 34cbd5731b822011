/* op-util.c: helpers shared by operator implementations. */
#include "op-util.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "tensor.h"

MscStatus msc_op_fail(MscOpCtx *ctx, MscStatus status, const char *fmt, ...) {
  if (ctx->status == MSC_OK) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->message, sizeof ctx->message, fmt, ap);
    va_end(ap);
    ctx->status = status;
  }
  return ctx->status;
}

const MscAttr *msc_node_find_attr(const MscNode *n, const char *name) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

static const char *attr_type_name(MscAttrType t) {
  static const char *names[] = {"undefined", "float", "int", "string", "tensor", "graph", "floats", "ints", "strings"};
  return (t >= 0 && t <= MSC_ATTR_STRINGS) ? names[t] : "unknown";
}

static MscStatus wrong_type(MscOpCtx *ctx, const MscAttr *a, MscAttrType want) {
  return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute '%s': expected %s, got %s", a->name, attr_type_name(want),
                     attr_type_name(a->type));
}

MscStatus msc_op_attr_int(MscOpCtx *ctx, const char *name, int64_t dflt, int64_t *out) {
  const MscAttr *a = msc_node_find_attr(ctx->node, name);
  *out = dflt;
  if (!a) return MSC_OK;
  if (a->type != MSC_ATTR_INT) return wrong_type(ctx, a, MSC_ATTR_INT);
  *out = a->i;
  return MSC_OK;
}

MscStatus msc_op_attr_float(MscOpCtx *ctx, const char *name, float dflt, float *out) {
  const MscAttr *a = msc_node_find_attr(ctx->node, name);
  *out = dflt;
  if (!a) return MSC_OK;
  if (a->type == MSC_ATTR_INT) { /* some exporters write integral floats as ints */
    *out = (float)a->i;
    return MSC_OK;
  }
  if (a->type != MSC_ATTR_FLOAT) return wrong_type(ctx, a, MSC_ATTR_FLOAT);
  *out = a->f;
  return MSC_OK;
}

MscStatus msc_op_attr_string(MscOpCtx *ctx, const char *name, const char *dflt, const char **out) {
  const MscAttr *a = msc_node_find_attr(ctx->node, name);
  *out = dflt;
  if (!a) return MSC_OK;
  if (a->type != MSC_ATTR_STRING) return wrong_type(ctx, a, MSC_ATTR_STRING);
  *out = a->s;
  return MSC_OK;
}

MscStatus msc_op_attr_ints(MscOpCtx *ctx, const char *name, const int64_t **out, size_t *n) {
  const MscAttr *a = msc_node_find_attr(ctx->node, name);
  *out = NULL;
  *n = 0;
  if (!a) return MSC_OK;
  if (a->type != MSC_ATTR_INTS) return wrong_type(ctx, a, MSC_ATTR_INTS);
  *out = a->ints;
  *n = a->n;
  return MSC_OK;
}

MscStatus msc_op_attr_floats(MscOpCtx *ctx, const char *name, const float **out, size_t *n) {
  const MscAttr *a = msc_node_find_attr(ctx->node, name);
  *out = NULL;
  *n = 0;
  if (!a) return MSC_OK;
  if (a->type != MSC_ATTR_FLOATS) return wrong_type(ctx, a, MSC_ATTR_FLOATS);
  *out = a->floats;
  *n = a->n;
  return MSC_OK;
}

MscStatus msc_op_attr_tensor(MscOpCtx *ctx, const char *name, const MscTensor **out) {
  const MscAttr *a = msc_node_find_attr(ctx->node, name);
  *out = NULL;
  if (!a) return MSC_OK;
  if (a->type != MSC_ATTR_TENSOR) return wrong_type(ctx, a, MSC_ATTR_TENSOR);
  *out = a->t;
  return MSC_OK;
}

const MscTensor *msc_op_input(MscOpCtx *ctx, uint32_t i) {
  return i < ctx->n_in ? ctx->in[i] : NULL;
}

MscStatus msc_op_input_ints(MscOpCtx *ctx, uint32_t i, int64_t *buf, size_t cap, size_t *n, int *known) {
  const MscTensor *t = msc_op_input(ctx, i);
  *n = 0;
  *known = 0;
  if (!t) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u: missing", i);
  if (t->dtype != MSC_DTYPE_INT64 && t->dtype != MSC_DTYPE_INT32)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u: expected int64 or int32, got %s", i,
                       msc_dtype_name(t->dtype));
  if (t->rank > 1) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u: expected a 1-D tensor, got rank %d", i, t->rank);
  if (!t->data) return MSC_OK;
  int64_t cnt = msc_tensor_numel(t);
  if (cnt < 0 || (size_t)cnt > cap)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u: %" G_GINT64_FORMAT " values, at most %zu allowed", i, cnt, cap);
  for (int64_t k = 0; k < cnt; k++) buf[k] = msc_tensor_get_i64(t, k);
  *n = (size_t)cnt;
  *known = 1;
  return MSC_OK;
}

MscStatus msc_op_check_out_size(MscOpCtx *ctx, MscDType dtype, int32_t rank, const int64_t *dims) {
  size_t n = msc_dtype_size(dtype) ? msc_dtype_size(dtype) : 1;
  char buf[200];
  for (int32_t k = 0; k < rank; k++) {
    if (dims[k] < 0) continue;
    if (!msc_mul_size(n, (size_t)dims[k], &n) || n > MSC_TENSOR_MAX_BYTES)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "output shape %s is too large (limit %zu bytes)",
                         msc_shape_format(rank, dims, buf, sizeof buf), (size_t)MSC_TENSOR_MAX_BYTES);
  }
  return MSC_OK;
}

MscStatus msc_op_set_output(MscOpCtx *ctx, uint32_t j, MscDType dtype, int32_t rank, const int64_t *dims) {
  if (j >= ctx->n_out || !ctx->out[j]) return MSC_OK; /* absent optional output */
  if (rank > MSC_MAX_RANK) return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "output %u: rank %d above %d", j, rank, MSC_MAX_RANK);
  MscTensor *o = ctx->out[j];
  o->dtype = dtype;
  o->rank = rank;
  for (int32_t k = 0; k < rank; k++) {
    if (dims[k] < -1) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "output %u: negative dim %" G_GINT64_FORMAT, j, dims[k]);
    o->dims[k] = dims[k];
  }
  return msc_op_check_out_size(ctx, dtype, rank, dims);
}

MscStatus msc_op_same_as_input(MscOpCtx *ctx, uint32_t j, uint32_t i) {
  const MscTensor *t = msc_op_input(ctx, i);
  if (!t) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u: missing", i);
  return msc_op_set_output(ctx, j, t->dtype, t->rank, t->dims);
}

MscStatus msc_op_check_dtype(MscOpCtx *ctx, uint32_t i, ...) {
  const MscTensor *t = msc_op_input(ctx, i);
  if (!t) return MSC_OK;
  va_list ap;
  va_start(ap, i);
  for (;;) {
    int d = va_arg(ap, int);
    if (d == MSC_DTYPE_UNDEFINED) break;
    if ((MscDType)d == t->dtype) {
      va_end(ap);
      return MSC_OK;
    }
  }
  va_end(ap);
  return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input %u: dtype %s not supported", i, msc_dtype_name(t->dtype));
}

MscStatus msc_op_check_same_dtype(MscOpCtx *ctx, uint32_t i, uint32_t k) {
  const MscTensor *a = msc_op_input(ctx, i), *b = msc_op_input(ctx, k);
  if (a && b && a->dtype != b->dtype)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "inputs %u and %u: dtypes differ (%s vs %s)", i, k,
                       msc_dtype_name(a->dtype), msc_dtype_name(b->dtype));
  return MSC_OK;
}

MscStatus msc_op_norm_axis(MscOpCtx *ctx, const char *what, int64_t axis, int32_t rank, int inclusive, int64_t *out) {
  int64_t hi = inclusive ? rank + 1 : rank;
  int64_t a = axis < 0 ? axis + hi : axis;
  if (a < 0 || a >= hi)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "%s %" G_GINT64_FORMAT " out of range for rank %d", what, axis, rank);
  *out = a;
  return MSC_OK;
}

MscStatus msc_op_broadcast(MscOpCtx *ctx, int32_t ra, const int64_t *da, int32_t rb, const int64_t *db, int32_t *rank,
                           int64_t *dims) {
  int32_t r = ra > rb ? ra : rb;
  for (int32_t k = 0; k < r; k++) {
    int32_t ia = k - (r - ra), ib = k - (r - rb);
    int64_t a = ia >= 0 ? da[ia] : 1, b = ib >= 0 ? db[ib] : 1;
    int64_t d;
    if (a == b) d = a;
    else if (a == 1) d = b;
    else if (b == 1) d = a;
    else if (a == -1 || b == -1) d = (a == -1) ? (b == 1 ? -1 : b) : a; /* unknown: the known non-1 dim wins */
    else {
      char sa[200], sb[200];
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "shapes %s and %s cannot broadcast (dim %d: %" G_GINT64_FORMAT
                         " vs %" G_GINT64_FORMAT ")", msc_shape_format(ra, da, sa, sizeof sa),
                         msc_shape_format(rb, db, sb, sizeof sb), k, a, b);
    }
    dims[k] = d;
  }
  *rank = r;
  return MSC_OK;
}

int64_t msc_broadcast_offset(int32_t ro, const int64_t *idx, int32_t r, const int64_t *d) {
  int64_t off = 0, stride = 1;
  for (int32_t k = r - 1; k >= 0; k--) {
    int64_t i = idx[k + (ro - r)];
    if (d[k] != 1) off += i * stride;
    stride *= d[k];
  }
  return off;
}
