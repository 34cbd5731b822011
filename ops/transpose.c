/* ops/transpose.c: Transpose (perm defaults to reversing the dims). */
#include <string.h>

#include "ops.h"
#include "op-util.h"
#include "tensor.h"

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
  if (msc_op_check_generic(ctx, 0) || get_perm(ctx, x->rank, perm))
    return ctx->status;
  for (int32_t k = 0; k < x->rank; k++)
    dims[k] = x->dims[perm[k]];
  return msc_op_set_output(ctx, 0, x->dtype, x->rank, dims);
}

/* Walks the output in order; the innermost loop reads the input with the
 * stride of the axis that lands last. */
static MscStatus
transpose_run(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  int64_t perm[MSC_MAX_RANK], xstr[MSC_MAX_RANK], ostr[MSC_MAX_RANK];
  int32_t r = x->rank;
  if (get_perm(ctx, r, perm))
    return ctx->status;
  msc_shape_strides(r, x->dims, xstr);
  for (int32_t k = 0; k < r; k++)
    ostr[k] = xstr[perm[k]]; /* input stride of output axis k */
  return msc_op_strided_copy(ctx, ctx->out[0], x, 0, ostr);
}

static const MscOpDef transpose_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Transpose", .since_version = 1,
  .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
  .infer = transpose_infer, .run = transpose_run,
  .doc = "Transpose by 'perm' (default: reverse the dims)",
};

const MscOpDef *const msc_ops_transpose[] = {&transpose_def, NULL};
