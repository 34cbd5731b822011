/* conv-attrs.c: checks shared by the convolution ops (see conv-attrs.h). */
#include "conv-attrs.h"

#include <string.h>

#include "error.h"
#include "op-util.h"
#include "tensor.h"

MscStatus
msc_conv_check_xw(MscOpCtx *ctx, const MscTensor *x, const MscTensor *w, const char *xn, const char *wn,
                  int transpose, MscConvDims *cd)
{
  char sx[200], sw[200];
  memset(cd, 0, sizeof *cd);
  if (x->rank < 3)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s': rank %d, expected >= 3 (N, C, spatial...)", xn, x->rank);
  if (w->rank != x->rank)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s': rank %d %s does not match input '%s' rank %d %s", wn,
                       w->rank, msc_shape_format(w->rank, w->dims, sw, sizeof sw), xn, x->rank,
                       msc_shape_format(x->rank, x->dims, sx, sizeof sx));
  cd->nsp = x->rank - 2;
  cd->N = x->dims[0];
  cd->C = x->dims[1];
  for (int d = 0; d < cd->nsp; d++)
    cd->in[d] = x->dims[2 + d];
  if (msc_op_attr_int(ctx, "group", 1, &cd->group))
    return ctx->status;
  if (cd->group < 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'group': %" G_GINT64_FORMAT " must be >= 1", cd->group);

  if (transpose) {
    /* W is [C, M/group, k...] */
    if (cd->C >= 0 && w->dims[0] >= 0 && cd->C != w->dims[0])
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "input channels %" G_GINT64_FORMAT " of '%s' %s != %s.dims[0] %" G_GINT64_FORMAT " (%s %s)",
                         cd->C, xn, msc_shape_format(x->rank, x->dims, sx, sizeof sx), wn, w->dims[0], wn,
                         msc_shape_format(w->rank, w->dims, sw, sizeof sw));
    if (cd->C >= 0 && cd->C % cd->group != 0)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "input channels %" G_GINT64_FORMAT " not divisible by group %" G_GINT64_FORMAT, cd->C,
                         cd->group);
    if (w->dims[0] == 0 || w->dims[1] == 0)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s': empty shape %s", wn,
                         msc_shape_format(w->rank, w->dims, sw, sizeof sw));
    if (w->dims[1] >= 0 && __builtin_mul_overflow(w->dims[1], cd->group, &cd->M))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "input '%s': dims[1] %" G_GINT64_FORMAT " * group %" G_GINT64_FORMAT " overflows", wn,
                         w->dims[1], cd->group);
    if (w->dims[1] < 0) cd->M = -1;
    return MSC_OK;
  }
  /* W is [M, C/group, k...] */
  cd->M = w->dims[0];
  int64_t cg = 0;
  if (w->dims[1] >= 0 && __builtin_mul_overflow(w->dims[1], cd->group, &cg))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                       "input '%s': dims[1] %" G_GINT64_FORMAT " * group %" G_GINT64_FORMAT " overflows", wn,
                       w->dims[1], cd->group);
  if (cd->C >= 0 && w->dims[1] >= 0 && cd->C != cg)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                       "input channels %" G_GINT64_FORMAT " of '%s' %s != %s.dims[1] %" G_GINT64_FORMAT
                       " * group %" G_GINT64_FORMAT " (%s %s)",
                       cd->C, xn, msc_shape_format(x->rank, x->dims, sx, sizeof sx), wn, w->dims[1], cd->group, wn,
                       msc_shape_format(w->rank, w->dims, sw, sizeof sw));
  if (cd->M >= 0 && cd->M % cd->group != 0)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                       "output channels %" G_GINT64_FORMAT " (%s.dims[0]) not divisible by group %" G_GINT64_FORMAT,
                       cd->M, wn, cd->group);
  if (cd->M == 0 || w->dims[1] == 0)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s': empty shape %s", wn,
                       msc_shape_format(w->rank, w->dims, sw, sizeof sw));
  return MSC_OK;
}

MscStatus
msc_conv_check_bias(MscOpCtx *ctx, const MscTensor *b, int64_t M, const char *origin)
{
  char sb[200];
  if (b != NULL && (b->rank != 1 || (M >= 0 && b->dims[0] >= 0 && b->dims[0] != M)))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'B': shape %s, expected [%" G_GINT64_FORMAT "] (%s)",
                       msc_shape_format(b->rank, b->dims, sb, sizeof sb), M, origin);
  return MSC_OK;
}

MscStatus
msc_conv_window(MscOpCtx *ctx, const MscTensor *x, const MscTensor *w, const char *xn, const char *wn,
                const MscConvDims *cd, MscWindow *win)
{
  char sx[200], sw[200];
  if (msc_window_from_attrs(ctx, cd->nsp, cd->in, w->dims + 2, 0, win)) {
    /* add the shapes to geometry errors ("window larger than ...") */
    if (strstr(ctx->message, "spatial dim") == ctx->message) {
      size_t len = strlen(ctx->message);
      g_snprintf(ctx->message + len, sizeof ctx->message - len, " (%s %s, %s %s)", xn,
                 msc_shape_format(x->rank, x->dims, sx, sizeof sx), wn,
                 msc_shape_format(w->rank, w->dims, sw, sizeof sw));
    }
    return ctx->status;
  }
  return MSC_OK;
}
