/* ops/pad.c: Pad.
 *
 * Forms: opset 1 attribute 'paddings' + 'value'; opsets 2-10 attribute
 * 'pads' + 'value'; opset 11+ input 'pads' + optional input
 * 'constant_value'; opset 18 optional input 'axes'. pads are
 * [x1_begin, x2_begin, ..., x1_end, x2_end, ...]. Modes: constant,
 * reflect, edge, and wrap from opset 19. Negative pads crop; as in
 * onnxruntime the crop happens first and reflect/edge/wrap then read the
 * cropped tensor.
 */
#include <string.h>

#include "ops.h"
#include "op-util.h"
#include "tensor.h"
#include "error.h"

#define LIST_CAP (2 * MSC_MAX_RANK)

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct {
  int mode;
  int known;                  /* pads (and axes) known */
  int64_t pb[MSC_MAX_RANK];   /* begin pads per axis */
  int64_t pe[MSC_MAX_RANK];   /* end pads per axis */
  int64_t out[MSC_MAX_RANK];  /* output dims; -1 unknown */
} PadPlan;


static MscStatus
pad_mode(MscOpCtx *ctx, int *mode)
{
  const char *m;
  if (msc_op_attr_string(ctx, "mode", "constant", &m))
    return ctx->status;
  if (!strcmp(m, "constant"))
    *mode = PAD_CONSTANT;
  else if (!strcmp(m, "reflect"))
    *mode = PAD_REFLECT;
  else if (!strcmp(m, "edge"))
    *mode = PAD_EDGE;
  else if (!strcmp(m, "wrap") && ctx->node->opset >= 19)
    *mode = PAD_WRAP;
  else if (!strcmp(m, "wrap"))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'mode' = 'wrap' needs opset 19 (model has %lld)",
                       (long long)ctx->node->opset);
  else
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'mode' = '%s' not in constant|reflect|edge%s", m,
                       ctx->node->opset >= 19 ? "|wrap" : "");
  return MSC_OK;
}

static MscStatus
pad_plan(MscOpCtx *ctx, PadPlan *p)
{
  const MscTensor *x = ctx->in[0];
  int32_t r = x->rank;
  int64_t pads[LIST_CAP], axes[MSC_MAX_RANK];
  size_t n = 0, na = (size_t)r;
  int known = 1;

  memset(p, 0, sizeof *p);
  if (pad_mode(ctx, &p->mode))
    return ctx->status;
  for (int32_t k = 0; k < r; k++)
    axes[k] = k;

  if (ctx->node->opset < 11) {
    const char *name = ctx->node->opset < 2 ? "paddings" : "pads";
    const int64_t *a;
    if (!msc_node_find_attr(ctx->node, name))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute '%s' is required", name);
    if (msc_op_attr_ints(ctx, name, &a, &n))
      return ctx->status;
    if (n > LIST_CAP)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute '%s' has %zu entries for rank %d", name, n, (int)r);
    memcpy(pads, a, n * sizeof *pads);
  } else {
    const MscTensor *t = msc_op_input(ctx, 1);
    if (!t)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'pads' is required");
    if (t->dtype != MSC_DTYPE_INT64)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'pads' must be int64, got %s", msc_dtype_name(t->dtype));
    if (t->rank != 1 || t->dims[0] > LIST_CAP)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'pads' must be 1-D with at most %d entries", LIST_CAP);
    if (msc_op_input_ints(ctx, 1, pads, LIST_CAP, &n, &known))
      return ctx->status;
    const MscTensor *ta = ctx->node->opset >= 18 ? msc_op_input(ctx, 3) : NULL;
    if (ta) {
      int ka;
      if (ta->dtype != MSC_DTYPE_INT64 && ta->dtype != MSC_DTYPE_INT32)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'axes' must be int32 or int64, got %s",
                           msc_dtype_name(ta->dtype));
      if (ta->rank != 1 || ta->dims[0] > MSC_MAX_RANK)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'axes' must be 1-D with at most %d entries", (int)r);
      if (msc_op_input_ints(ctx, 3, axes, MSC_MAX_RANK, &na, &ka))
        return ctx->status;
      if (!ka) {
        for (int32_t k = 0; k < r; k++)
          p->out[k] = -1;
        return MSC_OK;
      }
      uint32_t seen = 0;
      for (size_t i = 0; i < na; i++) {
        if (msc_op_norm_axis(ctx, "axes", axes[i], r, 0, &axes[i]))
          return ctx->status;
        if (seen & (1u << axes[i]))
          return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "axes: axis %lld is repeated", (long long)axes[i]);
        seen |= 1u << axes[i];
      }
    }
  }
  for (int32_t k = 0; k < r; k++)
    p->out[k] = x->dims[k];
  p->known = known;
  if (!known) {
    for (size_t i = 0; i < na; i++)
      p->out[axes[i]] = -1;
    return MSC_OK;
  }
  if (n != 2 * na)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "pads has %zu entries, expected %zu (2 per padded axis)", n, 2 * na);
  for (size_t i = 0; i < na; i++) {
    int64_t a = axes[i], b = pads[i], e = pads[i + na], d = x->dims[a];
    if (b < -INT64_MAX / 4 || b > INT64_MAX / 4 || e < -INT64_MAX / 4 || e > INT64_MAX / 4)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "pads for axis %lld (%lld, %lld) are out of range", (long long)a,
                         (long long)b, (long long)e);
    p->pb[a] = b;
    p->pe[a] = e;
    if (d < 0)
      continue;
    int64_t o = d + b + e;
    if (o < 0)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "pads (%lld, %lld) crop axis %lld of size %lld below zero",
                         (long long)b, (long long)e, (long long)a, (long long)d);
    int64_t kept = d - (b < 0 ? -b : 0) - (e < 0 ? -e : 0);
    if (p->mode != PAD_CONSTANT && kept <= 0 && (b > 0 || e > 0))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "mode %s: axis %lld has no elements left to pad from",
                         p->mode == PAD_REFLECT ? "reflect" : p->mode == PAD_EDGE ? "edge" : "wrap", (long long)a);
    p->out[a] = o;
  }
  return msc_op_check_out_size(ctx, x->dtype, r, p->out);
}

static MscStatus
pad_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  PadPlan p;
  if (msc_op_check_generic(ctx, 0) || pad_plan(ctx, &p))
    return ctx->status;
  if (ctx->node->opset >= 11 && msc_op_input(ctx, 2) && msc_op_check_same_dtype(ctx, 0, 2))
    return ctx->status;
  return msc_op_set_output(ctx, 0, x->dtype, x->rank, p.out);
}

/* The constant as bytes of the data dtype. */
static MscStatus
pad_value(MscOpCtx *ctx, MscDType dtype, uint8_t *v)
{
  memset(v, 0, 8);
  if (ctx->node->opset >= 11) {
    const MscTensor *t = msc_op_input(ctx, 2);
    if (t && t->data && msc_tensor_numel(t) >= 1)
      memcpy(v, t->data, msc_dtype_size(dtype));
    return MSC_OK;
  }
  float f;
  if (msc_op_attr_float(ctx, "value", 0.0f, &f))
    return ctx->status;
  if (!msc_op_scalar_bytes(dtype, f, v))
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "dtype %s is not supported", msc_dtype_name(dtype));
  return MSC_OK;
}

/* Source index along one axis for output index o, or -1 for the constant. */
static int64_t
pad_source(int mode, int64_t o, int64_t pb, int64_t pe, int64_t d)
{
  int64_t lo = pb < 0 ? -pb : 0;
  int64_t len = d - lo - (pe < 0 ? -pe : 0); /* kept (cropped) length */
  int64_t s = o - (pb > 0 ? pb : 0);
  if (s >= 0 && s < len)
    return lo + s;
  switch (mode) {
  case PAD_EDGE:
    return lo + (s < 0 ? 0 : len - 1);
  case PAD_REFLECT: {
    if (len == 1)
      return lo;
    int64_t period = 2 * (len - 1), m = s % period;
    if (m < 0)
      m += period;
    return lo + (m < len ? m : period - m);
  }
  case PAD_WRAP: {
    int64_t m = s % len;
    return lo + (m < 0 ? m + len : m);
  }
  default:
    return -1;
  }
}

static MscStatus
pad_run(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  MscTensor *y = ctx->out[0];
  PadPlan p;
  uint8_t cval[8];
  int64_t *tab[MSC_MAX_RANK] = {0};
  int32_t r = x->rank;
  if (pad_plan(ctx, &p) || pad_value(ctx, x->dtype, cval))
    return ctx->status;
  int64_t numel = msc_tensor_numel(y);
  if (numel <= 0)
    return MSC_OK;
  if (r == 0) {
    memcpy(y->data, x->data, msc_dtype_size(x->dtype));
    return MSC_OK;
  }
  int empty_in = msc_tensor_numel(x) <= 0;
  for (int32_t k = 0; k < r; k++) {
    tab[k] = g_new(int64_t, y->dims[k]);
    for (int64_t o = 0; o < y->dims[k]; o++)
      tab[k][o] = empty_in ? -1 : pad_source(p.mode, o, p.pb[k], p.pe[k], x->dims[k]);
  }
  MscStatus st = msc_op_table_gather(ctx, y, x, tab, cval);
  for (int32_t k = 0; k < r; k++)
    g_free(tab[k]);
  return st;
}

static const MscOpDef pad_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Pad", .since_version = 1,
  .min_inputs = 1, .max_inputs = 4, .min_outputs = 1, .max_outputs = 1,
  .infer = pad_infer, .run = pad_run,
  .doc = "Pad: constant/reflect/edge (wrap from 19); pads attribute before opset 11, input after; negative pads crop",
};

const MscOpDef *const msc_ops_pad[] = {&pad_def, NULL};
