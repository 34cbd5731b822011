/* ops/slice-gather.c: Slice and Gather (type-generic element copies).
 *
 * Slice: attributes starts/ends/axes before opset 10, inputs starts, ends,
 * axes, steps from 10. Clamping follows the spec: negative starts/ends
 * count from the back; with a positive step they clamp to [0, dim], with a
 * negative step starts clamp to [0, dim-1] and ends to [-1, dim-1], so
 * INT64_MAX / INT64_MIN (or INT32_*) mean "to the end".
 * Gather: 'axis' (negative allowed), int32/int64 indices of any rank,
 * negative indices count from the back.
 */
#include <string.h>

#include "ops.h"
#include "op-util.h"
#include "tensor.h"
#include "error.h"

#define LIST_CAP 64


/* ---- Slice ------------------------------------------------------------ */

typedef struct {
  int64_t start[MSC_MAX_RANK]; /* first input index per axis */
  int64_t step[MSC_MAX_RANK];
  int64_t len[MSC_MAX_RANK];   /* output dim; -1 unknown */
} SlicePlan;

/* Reads one list (attribute before opset 10, input from 10). */
static MscStatus
slice_list(MscOpCtx *ctx, const char *name, uint32_t input, int64_t *buf, size_t *n, int *present, int *known)
{
  *n = 0;
  *present = 0;
  *known = 1;
  if (ctx->node->opset < 10) {
    const int64_t *a;
    if (msc_op_attr_ints(ctx, name, &a, n))
      return ctx->status;
    if (*n > LIST_CAP)
      return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "attribute '%s' has %zu entries", name, *n);
    *present = msc_node_find_attr(ctx->node, name) != NULL;
    if (*n)
      memcpy(buf, a, *n * sizeof *buf);
    return MSC_OK;
  }
  const MscTensor *t = msc_op_input(ctx, input);
  if (!t)
    return MSC_OK;
  *present = 1;
  if (t->dtype != MSC_DTYPE_INT64 && t->dtype != MSC_DTYPE_INT32)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s' must be int32 or int64, got %s", name,
                       msc_dtype_name(t->dtype));
  if (t->rank != 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s' must be 1-D, got rank %d", name, (int)t->rank);
  if (t->dims[0] > LIST_CAP)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input '%s' has %lld entries", name, (long long)t->dims[0]);
  return msc_op_input_ints(ctx, input, buf, LIST_CAP, n, known);
}

static MscStatus
slice_plan(MscOpCtx *ctx, SlicePlan *p)
{
  const MscTensor *x = ctx->in[0];
  int32_t r = x->rank;
  int64_t starts[LIST_CAP], ends[LIST_CAP], axes[LIST_CAP], steps[LIST_CAP];
  size_t ns, ne, na, nst;
  int ps, pe, pa, pst, ks, ke, ka, kst;

  for (int32_t k = 0; k < r; k++) {
    p->start[k] = 0;
    p->step[k] = 1;
    p->len[k] = x->dims[k];
  }
  if (slice_list(ctx, "starts", 1, starts, &ns, &ps, &ks) || slice_list(ctx, "ends", 2, ends, &ne, &pe, &ke) ||
      slice_list(ctx, "axes", 3, axes, &na, &pa, &ka))
    return ctx->status;
  pst = 0;
  kst = 1;
  nst = 0;
  if (ctx->node->opset >= 10 && slice_list(ctx, "steps", 4, steps, &nst, &pst, &kst))
    return ctx->status;
  if (!ps || !pe)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, ctx->node->opset < 10 ? "attributes 'starts' and 'ends' are required"
                                                                         : "inputs 'starts' and 'ends' are required");
  if (!ka) {
    for (int32_t k = 0; k < r; k++)
      p->len[k] = -1; /* which axes are sliced is not known */
    return MSC_OK;
  }
  if (!ks || !ke || !kst) {
    /* axes known, bounds not: only the sliced axes become unknown */
    size_t n = pa ? na : (ks ? ns : (ke ? ne : (size_t)r));
    for (size_t i = 0; i < n; i++) {
      int64_t a = pa ? axes[i] : (int64_t)i;
      if (a < 0)
        a += r;
      if (a >= 0 && a < r)
        p->len[a] = -1;
    }
    return MSC_OK;
  }
  if (ns != ne || (pa && na != ns) || (pst && nst != ns))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "starts (%zu), ends (%zu), axes (%zu) and steps (%zu) lengths differ",
                       ns, ne, pa ? na : ns, pst ? nst : ns);
  uint32_t seen = 0;
  for (size_t i = 0; i < ns; i++) {
    int64_t a;
    if (msc_op_norm_axis(ctx, "axes", pa ? axes[i] : (int64_t)i, r, 0, &a))
      return ctx->status;
    if (seen & (1u << a))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "axes: axis %lld is repeated", (long long)a);
    seen |= 1u << a;
    int64_t step = pst ? steps[i] : 1;
    if (step == 0)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "steps: step for axis %lld is 0", (long long)a);
    p->step[a] = step;
    int64_t d = x->dims[a];
    if (d < 0) {
      p->len[a] = -1;
      continue;
    }
    int64_t s = starts[i], e = ends[i];
    if (s < 0)
      s += d; /* cannot overflow: d >= 0 */
    if (e < 0)
      e += d;
    uint64_t n;
    if (step > 0) {
      s = s < 0 ? 0 : (s > d ? d : s);
      e = e < 0 ? 0 : (e > d ? d : e);
      n = e > s ? ((uint64_t)(e - s) - 1) / (uint64_t)step + 1 : 0;
    } else {
      s = s < 0 ? 0 : (s > d - 1 ? d - 1 : s);
      e = e < -1 ? -1 : (e > d - 1 ? d - 1 : e);
      n = s > e ? ((uint64_t)(s - e) - 1) / ((uint64_t)0 - (uint64_t)step) + 1 : 0;
    }
    p->start[a] = n ? s : 0;
    p->len[a] = (int64_t)n;
  }
  return MSC_OK;
}

static MscStatus
slice_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  SlicePlan p;
  if (msc_op_check_generic(ctx, 0) || slice_plan(ctx, &p))
    return ctx->status;
  return msc_op_set_output(ctx, 0, x->dtype, x->rank, p.len);
}

static MscStatus
slice_run(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  SlicePlan p;
  int64_t xstr[MSC_MAX_RANK], ostr[MSC_MAX_RANK], off = 0;
  int32_t r = x->rank;
  if (slice_plan(ctx, &p))
    return ctx->status;
  msc_shape_strides(r, x->dims, xstr);
  for (int32_t k = 0; k < r; k++) {
    off += p.start[k] * xstr[k];
    ostr[k] = p.step[k] * xstr[k];
  }
  return msc_op_strided_copy(ctx, ctx->out[0], x, off, ostr);
}

static const MscOpDef slice_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Slice", .since_version = 1,
  .min_inputs = 1, .max_inputs = 5, .min_outputs = 1, .max_outputs = 1,
  .infer = slice_infer, .run = slice_run,
  .doc = "Slice: attributes before opset 10, inputs starts/ends/axes/steps from 10 (negative steps, clamping)",
};

/* ---- Gather ----------------------------------------------------------- */

static MscStatus
gather_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0], *ind = ctx->in[1];
  int64_t axis, dims[MSC_MAX_RANK];
  if (msc_op_check_generic(ctx, 0) || msc_op_attr_int(ctx, "axis", 0, &axis) ||
      msc_op_norm_axis(ctx, "attribute 'axis'", axis, x->rank, 0, &axis))
    return ctx->status;
  if (ind->dtype != MSC_DTYPE_INT64 && ind->dtype != MSC_DTYPE_INT32)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'indices' must be int32 or int64, got %s",
                       msc_dtype_name(ind->dtype));
  int32_t r = x->rank - 1 + ind->rank;
  if (r > MSC_MAX_RANK)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "output rank %d exceeds the maximum rank %d", (int)r,
                       MSC_MAX_RANK);
  int32_t k = 0;
  for (int32_t i = 0; i < axis; i++)
    dims[k++] = x->dims[i];
  for (int32_t i = 0; i < ind->rank; i++)
    dims[k++] = ind->dims[i];
  for (int32_t i = (int32_t)axis + 1; i < x->rank; i++)
    dims[k++] = x->dims[i];
  if (msc_op_check_out_size(ctx, x->dtype, r, dims))
    return ctx->status;
  return msc_op_set_output(ctx, 0, x->dtype, r, dims);
}

static MscStatus
gather_run(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0], *ind = ctx->in[1];
  MscTensor *y = ctx->out[0];
  int64_t axis;
  if (msc_op_attr_int(ctx, "axis", 0, &axis) || msc_op_norm_axis(ctx, "attribute 'axis'", axis, x->rank, 0, &axis))
    return ctx->status;
  size_t es = msc_dtype_size(x->dtype);
  int64_t outer = msc_shape_numel((int32_t)axis, x->dims);
  int64_t d = x->dims[axis];
  int64_t inner = msc_shape_numel(x->rank - (int32_t)axis - 1, x->dims + axis + 1);
  int64_t n = msc_tensor_numel(ind);
  size_t block = (size_t)inner * es;
  if (msc_tensor_numel(y) <= 0)
    return MSC_OK;
  /* validate and normalize the indices once */
  int64_t *iv = g_new(int64_t, n);
  for (int64_t i = 0; i < n; i++) {
    int64_t v = ind->dtype == MSC_DTYPE_INT64 ? ((const int64_t *)ind->data)[i] : ((const int32_t *)ind->data)[i];
    if (v < -d || v >= d) {
      g_free(iv);
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "indices[%lld] = %lld out of range [-%lld, %lld) for axis %lld",
                         (long long)i, (long long)v, (long long)d, (long long)d, (long long)axis);
    }
    iv[i] = v < 0 ? v + d : v;
  }
  const uint8_t *s = x->data;
  uint8_t *o = y->data;
  for (int64_t a = 0; a < outer; a++) {
    const uint8_t *base = s + (size_t)(a * d) * block;
    if (es == 4 && inner == 1) {
      for (int64_t i = 0; i < n; i++)
        memcpy(o + i * 4, base + iv[i] * 4, 4);
      o += n * 4;
    } else {
      for (int64_t i = 0; i < n; i++) {
        memcpy(o, base + (size_t)iv[i] * block, block);
        o += block;
      }
    }
  }
  g_free(iv);
  return MSC_OK;
}

static const MscOpDef gather_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Gather", .since_version = 1,
  .min_inputs = 2, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1,
  .infer = gather_infer, .run = gather_run,
  .doc = "Gather along 'axis' with int32/int64 indices of any rank (negative indices allowed)",
};

const MscOpDef *const msc_ops_slice_gather[] = {&slice_def, &gather_def, NULL};
