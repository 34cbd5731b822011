/* op-util.c: helpers shared by operator implementations. */
#include "op-util.h"

#include <math.h>
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

MscStatus msc_op_check_generic(MscOpCtx *ctx, uint32_t i) {
  const MscTensor *t = msc_op_input(ctx, i);
  if (t && !msc_dtype_is_supported(t->dtype))
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input %u: dtype %s is not supported", i, msc_dtype_name(t->dtype));
  return MSC_OK;
}

const char *msc_op_dtype_code_name(int64_t code, char *buf, size_t size) {
  static const char *const later[] = {"float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz",
                                      "uint4",        "int4",           "float4e2m1"};
  if (code >= MSC_DTYPE_UNDEFINED && code <= MSC_DTYPE_BFLOAT16) return msc_dtype_name((MscDType)code);
  if (code >= 17 && code <= 23) return later[code - 17];
  g_snprintf(buf, size, "dtype(%" G_GINT64_FORMAT ")", code);
  return buf;
}

#define STRIDED_LOOP(T)                                                                          \
  do {                                                                                           \
    const T *s = x->data;                                                                        \
    T *d = y->data;                                                                              \
    for (int64_t row = 0; row < rows; row++) {                                                   \
      const T *q = s + off;                                                                      \
      if (istep == 1)                                                                            \
        memcpy(d, q, (size_t)inner * sizeof(T));                                                 \
      else                                                                                       \
        for (int64_t i = 0; i < inner; i++) d[i] = q[i * istep];                                 \
      d += inner;                                                                                \
      for (int32_t k = r - 2; k >= 0; k--) {                                                     \
        off += step[k];                                                                          \
        if (++idx[k] < y->dims[k]) break;                                                        \
        off -= step[k] * y->dims[k];                                                             \
        idx[k] = 0;                                                                              \
      }                                                                                          \
    }                                                                                            \
  } while (0)

MscStatus msc_op_strided_copy(MscOpCtx *ctx, MscTensor *y, const MscTensor *x, int64_t off, const int64_t *step) {
  int64_t idx[MSC_MAX_RANK] = {0};
  int32_t r = y->rank;
  int64_t numel = msc_tensor_numel(y);
  if (numel <= 0) return MSC_OK;
  if (r == 0) {
    memcpy(y->data, x->data, msc_dtype_size(x->dtype));
    return MSC_OK;
  }
  int64_t inner = y->dims[r - 1], rows = numel / inner, istep = step[r - 1];
  switch (msc_dtype_size(x->dtype)) {
  case 1: STRIDED_LOOP(uint8_t); break;
  case 2: STRIDED_LOOP(uint16_t); break;
  case 4: STRIDED_LOOP(uint32_t); break;
  case 8: STRIDED_LOOP(uint64_t); break;
  default: return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "dtype %s is not supported", msc_dtype_name(x->dtype));
  }
  return MSC_OK;
}

/* Runs of the innermost table: [i0, i0 + len) of a row reads source [src, src + len) (src >= 0), or
 * is the fill (src < 0). Pad's table is three runs (fill, the row, fill): copied as blocks instead of
 * one table lookup and branch per element (2.65 ms -> block copies on M-LSD's 96 x 160 x 160 Pad). */
typedef struct {
  int64_t i0, len, src;
} GatherRun;

/* The runs of @tl (@inner entries) into @runs (at most @cap); returns their count, or -1 past @cap. */
static int64_t gather_runs(const int64_t *tl, int64_t inner, GatherRun *runs, int64_t cap) {
  int64_t n = 0;
  for (int64_t i = 0; i < inner;) {
    int64_t j = i + 1;
    if (tl[i] < 0)
      while (j < inner && tl[j] < 0) j++;
    else
      while (j < inner && tl[j] == tl[j - 1] + 1) j++;
    if (n == cap) return -1;
    runs[n++] = (GatherRun){i, j - i, tl[i] < 0 ? -1 : tl[i]};
    i = j;
  }
  return n;
}

#define GATHER_LOOP(T)                                                                           \
  do {                                                                                           \
    T cv;                                                                                        \
    memcpy(&cv, fill, sizeof(T));                                                                \
    const T *s = x->data;                                                                        \
    T *d = y->data;                                                                              \
    const int64_t *tl = tab[r - 1];                                                              \
    for (int64_t row = 0; row < rows; row++) {                                                   \
      int64_t src = 0;                                                                           \
      for (int32_t k = 0; k < r - 1 && src >= 0; k++) {                                          \
        int64_t t = tab[k][idx[k]];                                                              \
        src = t < 0 ? -1 : src + t * xstr[k];                                                    \
      }                                                                                          \
      if (src < 0) {                                                                             \
        for (int64_t i = 0; i < inner; i++) d[i] = cv;                                           \
      } else if (nruns > 0) {                                                                    \
        const T *q = s + src;                                                                    \
        for (int64_t u = 0; u < nruns; u++) {                                                    \
          T *o = d + runs[u].i0;                                                                 \
          if (runs[u].src >= 0) memcpy(o, q + runs[u].src, (size_t)runs[u].len * sizeof(T));    \
          else for (int64_t i = 0; i < runs[u].len; i++) o[i] = cv;                              \
        }                                                                                        \
      } else {                                                                                   \
        const T *q = s + src;                                                                    \
        for (int64_t i = 0; i < inner; i++) d[i] = tl[i] >= 0 ? q[tl[i]] : cv;                   \
      }                                                                                          \
      d += inner;                                                                                \
      for (int32_t k = r - 2; k >= 0; k--) {                                                     \
        if (++idx[k] < y->dims[k]) break;                                                        \
        idx[k] = 0;                                                                              \
      }                                                                                          \
    }                                                                                            \
  } while (0)

MscStatus msc_op_table_gather(MscOpCtx *ctx, MscTensor *y, const MscTensor *x, int64_t *const *tab, const void *fill) {
  int64_t xstr[MSC_MAX_RANK], idx[MSC_MAX_RANK] = {0};
  int32_t r = x->rank;
  msc_shape_strides(r, x->dims, xstr);
  int64_t inner = y->dims[r - 1], rows = msc_tensor_numel(y) / inner;
  /* block copies when the innermost table is a few long runs (8+ elements each on average) */
  GatherRun runs[8];
  int64_t nruns = gather_runs(tab[r - 1], inner, runs, 8);
  if (nruns > 0 && inner / nruns < 8) nruns = -1;
  switch (msc_dtype_size(x->dtype)) {
  case 1: GATHER_LOOP(uint8_t); break;
  case 2: GATHER_LOOP(uint16_t); break;
  case 4: GATHER_LOOP(uint32_t); break;
  case 8: GATHER_LOOP(uint64_t); break;
  default: return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "dtype %s is not supported", msc_dtype_name(x->dtype));
  }
  return MSC_OK;
}

int msc_op_scalar_bytes(MscDType dtype, float f, uint8_t *v) {
  double r = nearbyint((double)f);
  memset(v, 0, 8);
  switch (dtype) {
  case MSC_DTYPE_FLOAT32: memcpy(v, &f, 4); break;
  case MSC_DTYPE_FLOAT16: {
    uint16_t h = msc_f32_to_f16(f);
    memcpy(v, &h, 2);
    break;
  }
  case MSC_DTYPE_DOUBLE: {
    double d = f;
    memcpy(v, &d, 8);
    break;
  }
  case MSC_DTYPE_INT8: *(int8_t *)v = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r); break;
  case MSC_DTYPE_UINT8: *v = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r); break;
  case MSC_DTYPE_BOOL: *v = f != 0.0f; break;
  case MSC_DTYPE_INT32: {
    int32_t i = (int32_t)(r < INT32_MIN ? INT32_MIN : r > INT32_MAX ? INT32_MAX : r);
    memcpy(v, &i, 4);
    break;
  }
  case MSC_DTYPE_INT64: {
    int64_t i = (int64_t)(r < -9.2e18 ? -9.2e18 : r > 9.2e18 ? 9.2e18 : r);
    memcpy(v, &i, 8);
    break;
  }
  default: return 0;
  }
  return 1;
}
