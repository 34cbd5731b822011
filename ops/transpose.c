/* ops/transpose.c: Transpose (perm defaults to reversing the dims). */
#include <string.h>

#include "ops.h"
#include "op-util.h"
#include "tensor.h"

/* Type-generic ops move whole elements: any dtype the core supports. */
static MscStatus
check_generic(MscOpCtx *ctx, uint32_t i)
{
  const MscTensor *t = msc_op_input(ctx, i);
  if (t && !msc_dtype_is_supported(t->dtype))
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input %u: dtype %s is not supported", i, msc_dtype_name(t->dtype));
  return MSC_OK;
}


static MscStatus
get_perm(MscOpCtx *ctx, int32_t rank, int64_t *perm)
{
  const int64_t *p;
  size_t n;
  if (msc_op_attr_ints(ctx, "perm", &p, &n))
    return ctx->status;
  if (!msc_node_find_attr(ctx->node, "perm")) {
    for (int32_t k = 0; k < rank; k++)
      perm[k] = rank - 1 - k;
    return MSC_OK;
  }
  if ((int64_t)n != rank)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'perm' has %zu entries for an input of rank %d", n,
                       (int)rank);
  uint32_t seen = 0;
  for (int32_t k = 0; k < rank; k++) {
    if (p[k] < 0 || p[k] >= rank)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'perm': entry %lld not in [0, %d)",
                         (long long)p[k], (int)rank);
    if (seen & (1u << p[k]))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'perm': %lld appears twice, not a permutation",
                         (long long)p[k]);
    seen |= 1u << p[k];
    perm[k] = p[k];
  }
  return MSC_OK;
}

static MscStatus
transpose_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  int64_t perm[MSC_MAX_RANK], dims[MSC_MAX_RANK];
  if (check_generic(ctx, 0) || get_perm(ctx, x->rank, perm))
    return ctx->status;
  for (int32_t k = 0; k < x->rank; k++)
    dims[k] = x->dims[perm[k]];
  return msc_op_set_output(ctx, 0, x->dtype, x->rank, dims);
}

/* Walks the output in order; the innermost loop reads the input with the
 * stride of the axis that lands last. */
#define TRANSPOSE_LOOP(T)                                                                        \
  do {                                                                                           \
    const T *s = x->data;                                                                        \
    T *d = y->data;                                                                              \
    for (int64_t row = 0; row < rows; row++) {                                                   \
      const T *p = s + off;                                                                      \
      for (int64_t i = 0; i < inner; i++)                                                        \
        d[i] = p[i * istr];                                                                      \
      d += inner;                                                                                \
      for (int32_t k = r - 2; k >= 0; k--) {                                                     \
        off += ostr[k];                                                                          \
        if (++idx[k] < y->dims[k])                                                               \
          break;                                                                                 \
        off -= ostr[k] * y->dims[k];                                                             \
        idx[k] = 0;                                                                              \
      }                                                                                          \
    }                                                                                            \
  } while (0)

static MscStatus
transpose_run(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  MscTensor *y = ctx->out[0];
  int64_t perm[MSC_MAX_RANK], xstr[MSC_MAX_RANK], ostr[MSC_MAX_RANK], idx[MSC_MAX_RANK] = {0};
  int32_t r = x->rank;
  int64_t numel = msc_tensor_numel(x), off = 0;
  if (get_perm(ctx, r, perm))
    return ctx->status;
  if (numel <= 0)
    return MSC_OK;
  if (r == 0) {
    memcpy(y->data, x->data, msc_dtype_size(x->dtype));
    return MSC_OK;
  }
  msc_shape_strides(r, x->dims, xstr);
  for (int32_t k = 0; k < r; k++)
    ostr[k] = xstr[perm[k]]; /* input stride of output axis k */
  int64_t inner = y->dims[r - 1], rows = numel / inner, istr = ostr[r - 1];
  switch (msc_dtype_size(x->dtype)) {
  case 1:
    TRANSPOSE_LOOP(uint8_t);
    break;
  case 2:
    TRANSPOSE_LOOP(uint16_t);
    break;
  case 4:
    TRANSPOSE_LOOP(uint32_t);
    break;
  case 8:
    TRANSPOSE_LOOP(uint64_t);
    break;
  default:
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "dtype %s is not supported", msc_dtype_name(x->dtype));
  }
  return MSC_OK;
}

static const MscOpDef transpose_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Transpose", .since_version = 1,
  .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
  .infer = transpose_infer, .run = transpose_run,
  .doc = "Transpose by 'perm' (default: reverse the dims)",
};

const MscOpDef *const msc_ops_transpose[] = {&transpose_def, NULL};
