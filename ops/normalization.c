/* ops/normalization.c: BatchNormalization, InstanceNormalization, LRN.
 *
 * Layout [N, C, D1, ..., Dn]; statistics are computed in double. Dtypes:
 * float32 and float16 (computed in float); BatchNormalization-15 may give
 * scale/bias and mean/var other float types than X.
 *
 * BatchNormalization modes, per opset (ONNX spec):
 *   1-6   is_test=0 is training (batch statistics), but only when the
 *         training outputs (mean, var, saved_mean, saved_var) are requested:
 *         without them there is nothing to train and the running statistics
 *         given as inputs are used (models exported with a missing is_test).
 *   7-13  training iff any optional output is present ("Output case #1").
 *   14+   training iff training_mode=1; outputs Y, running_mean, running_var.
 * In training, Y uses the batch mean and the population (biased) variance
 * and running_x = input_x * momentum + batch_x * (1 - momentum), as the ONNX
 * reference implementation does. saved_mean/saved_var (opset < 14) receive
 * the batch mean and variance.
 * spatial=0 (opset < 9): scale/B/mean/var hold one value per (C, D1..Dn)
 * element; statistics are then per element over the batch.
 */
#include <math.h>
#include <string.h>

#include "op-util.h"
#include "ops.h"
#include "tensor.h"

/* ---- helpers --------------------------------------------------------------- */

static int is_float_dtype(MscDType t)
{
  return t == MSC_DTYPE_FLOAT32 || t == MSC_DTYPE_FLOAT16;
}

static float get_f(const MscTensor *t, int64_t i)
{
  return t->dtype == MSC_DTYPE_FLOAT16 ? msc_f16_to_f32(((const uint16_t *)t->data)[i])
                                       : ((const float *)t->data)[i];
}

static void set_f(MscTensor *t, int64_t i, float v)
{
  if (t->dtype == MSC_DTYPE_FLOAT16)
    ((uint16_t *)t->data)[i] = msc_f32_to_f16(v);
  else
    ((float *)t->data)[i] = v;
}

/* A float view of @t: the data itself for float32, else a converted copy
 * stored in *@tmp (free with g_free). NULL on allocation failure. */
static const float *float_view(const MscTensor *t, int64_t n, float **tmp)
{
  *tmp = NULL;
  if (t->dtype == MSC_DTYPE_FLOAT32)
    return t->data;
  float *b = g_try_malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  if (!b)
    return NULL;
  for (int64_t i = 0; i < n; i++)
    b[i] = get_f(t, i);
  *tmp = b;
  return b;
}

static MscStatus check_param_dtype(MscOpCtx *ctx, uint32_t i, const char *name)
{
  const MscTensor *t = msc_op_input(ctx, i);
  if (!t)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s' is required", name);
  if (!is_float_dtype(t->dtype))
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input '%s': dtype %s not supported (float32, float16)",
                       name, msc_dtype_name(t->dtype));
  return MSC_OK;
}

/* numel with -1 for unknown dims. */
static int64_t numel_or_unknown(const MscTensor *t)
{
  return msc_shape_numel(t->rank, t->dims);
}

/* ---- BatchNormalization ----------------------------------------------------- */

typedef struct {
  float epsilon, momentum;
  int training;
  int64_t n, c, s;   /* batch, channels, spatial size (product of D1..Dn) */
  int64_t p;         /* number of parameters: c (spatial) or c*s (per element) */
} BnParams;

static const char *const bn_input_names[5] = {"X", "scale", "B", "mean", "var"};

static int any_extra_output(MscOpCtx *ctx)
{
  for (uint32_t j = 1; j < ctx->n_out; j++)
    if (ctx->out[j])
      return 1;
  return 0;
}

static MscStatus bn_params(MscOpCtx *ctx, BnParams *bp)
{
  const MscTensor *x = msc_op_input(ctx, 0);
  int64_t opset = ctx->node->opset;
  int64_t spatial = 1, is_test = 0, training_mode = 0;
  memset(bp, 0, sizeof *bp);

  if (msc_op_attr_float(ctx, "epsilon", 1e-5f, &bp->epsilon) ||
      msc_op_attr_float(ctx, "momentum", 0.9f, &bp->momentum))
    return ctx->status;
  if (opset < 9 && msc_op_attr_int(ctx, "spatial", 1, &spatial))
    return ctx->status;
  if (opset < 7 && msc_op_attr_int(ctx, "is_test", 0, &is_test))
    return ctx->status;
  if (opset >= 14 && msc_op_attr_int(ctx, "training_mode", 0, &training_mode))
    return ctx->status;
  if (!(bp->epsilon >= 0.f) || !isfinite(bp->epsilon))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'epsilon': %g, must be >= 0",
                       (double)bp->epsilon);
  if (spatial != 0 && spatial != 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'spatial': %lld, expected 0 or 1",
                       (long long)spatial);
  if (training_mode != 0 && training_mode != 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'training_mode': %lld, expected 0 or 1",
                       (long long)training_mode);

  if (opset >= 14)
    bp->training = (int)training_mode;
  else if (opset >= 7)
    bp->training = any_extra_output(ctx);
  else
    bp->training = is_test == 0 && any_extra_output(ctx);

  if (msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_UNDEFINED))
    return ctx->status;
  for (uint32_t i = 1; i < 5; i++)
    if (check_param_dtype(ctx, i, bn_input_names[i]))
      return ctx->status;
  if (x->rank < 2)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'X': rank %d, expected [N, C, ...]",
                       (int)x->rank);

  bp->n = x->dims[0];
  bp->c = x->dims[1];
  bp->s = msc_shape_numel(x->rank - 2, &x->dims[2]);
  if (bp->s == -2)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'X': size overflows");
  bp->p = bp->c;
  if (!spatial && bp->s != 1) {
    bp->p = (bp->c < 0 || bp->s < 0) ? -1 : bp->c * bp->s;
    /* A [C] parameter with spatial=0 still normalizes per channel. */
    const MscTensor *sc = msc_op_input(ctx, 1);
    if (bp->c >= 0 && numel_or_unknown(sc) == bp->c)
      bp->p = bp->c;
  }
  for (uint32_t i = 1; i < 5; i++) {
    const MscTensor *t = msc_op_input(ctx, i);
    int64_t ne = numel_or_unknown(t);
    if (ne >= 0 && bp->p >= 0 && ne != bp->p) {
      char b1[200], b2[200];
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "input '%s': shape %s has %lld elements, expected %lld for X %s%s",
                         bn_input_names[i], msc_shape_format(t->rank, t->dims, b1, sizeof b1),
                         (long long)ne, (long long)bp->p,
                         msc_shape_format(x->rank, x->dims, b2, sizeof b2),
                         bp->p == bp->c ? " (one per channel)" : " (spatial=0: one per C x D1..Dn)");
    }
  }
  return MSC_OK;
}

static MscStatus bn_infer(MscOpCtx *ctx)
{
  BnParams bp;
  if (bn_params(ctx, &bp))
    return ctx->status;
  if (ctx->node->opset >= 14 && ctx->n_out > 3)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "%u outputs, opset %lld allows at most 3",
                       ctx->n_out, (long long)ctx->node->opset);
  if (msc_op_same_as_input(ctx, 0, 0))
    return ctx->status;
  for (uint32_t j = 1; j < ctx->n_out; j++) {
    if (!ctx->out[j])
      continue;
    /* running/saved statistics have the shape and type of the mean input */
    const MscTensor *m = msc_op_input(ctx, 3);
    if (msc_op_set_output(ctx, j, m->dtype, m->rank, m->dims))
      return ctx->status;
  }
  return MSC_OK;
}

static MscStatus bn_run(MscOpCtx *ctx)
{
  BnParams bp;
  if (bn_params(ctx, &bp))
    return ctx->status;
  const MscTensor *x = msc_op_input(ctx, 0);
  MscTensor *y = ctx->out[0];
  const int64_t P = bp.p, C = bp.c, S = bp.s, N = bp.n;
  const int per_elem = P != C;
  double *scale = g_try_new(double, 4 * (size_t)(P > 0 ? P : 1) + 2 * (size_t)(P > 0 ? P : 1));
  if (!scale)
    return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory for %lld parameters", (long long)P);
  double *bias = scale + P, *mean = bias + P, *var = mean + P;
  double *bmean = var + P, *bvar = bmean + P;
  for (int64_t i = 0; i < P; i++) {
    scale[i] = get_f(msc_op_input(ctx, 1), i);
    bias[i] = get_f(msc_op_input(ctx, 2), i);
    mean[i] = get_f(msc_op_input(ctx, 3), i);
    var[i] = get_f(msc_op_input(ctx, 4), i);
  }
  float *xtmp = NULL;
  int64_t nx = N * C * S;
  const float *xf = float_view(x, nx, &xtmp);
  if (!xf) {
    g_free(scale);
    return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory converting X");
  }

  if (bp.training) {
    /* batch statistics: per channel over N and D1..Dn, or per element over N */
    int64_t cnt = per_elem ? N : N * S;
    memset(bmean, 0, 2 * (size_t)P * sizeof(double));
    for (int64_t n = 0; n < N; n++)
      for (int64_t c = 0; c < C; c++) {
        const float *xp = xf + (n * C + c) * S;
        for (int64_t s = 0; s < S; s++)
          bmean[per_elem ? c * S + s : c] += xp[s];
      }
    for (int64_t i = 0; i < P; i++)
      bmean[i] = cnt > 0 ? bmean[i] / (double)cnt : 0.0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t c = 0; c < C; c++) {
        const float *xp = xf + (n * C + c) * S;
        for (int64_t s = 0; s < S; s++) {
          int64_t pi = per_elem ? c * S + s : c;
          double dlt = xp[s] - bmean[pi];
          bvar[pi] += dlt * dlt;
        }
      }
    for (int64_t i = 0; i < P; i++)
      bvar[i] = cnt > 0 ? bvar[i] / (double)cnt : 0.0;
  }

  const double *um = bp.training ? bmean : mean, *uv = bp.training ? bvar : var;
  /* y = x * a + b with a = scale / sqrt(var + eps), b = bias - mean * a */
  for (int64_t i = 0; i < P; i++) {
    double a = scale[i] / sqrt(uv[i] + (double)bp.epsilon);
    scale[i] = a;
    bias[i] = bias[i] - um[i] * a;
  }
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++) {
      int64_t base = (n * C + c) * S;
      const float *xp = xf + base;
      if (y->dtype == MSC_DTYPE_FLOAT32) {
        float *yp = (float *)y->data + base;
        if (!per_elem) {
          const float a = (float)scale[c], b = (float)bias[c];
          for (int64_t s = 0; s < S; s++)
            yp[s] = xp[s] * a + b;
        } else {
          for (int64_t s = 0; s < S; s++)
            yp[s] = (float)(xp[s] * scale[c * S + s] + bias[c * S + s]);
        }
      } else {
        for (int64_t s = 0; s < S; s++) {
          int64_t pi = per_elem ? c * S + s : c;
          set_f(y, base + s, (float)(xp[s] * scale[pi] + bias[pi]));
        }
      }
    }

  /* optional outputs */
  const double mom = bp.momentum;
  for (uint32_t j = 1; j < ctx->n_out; j++) {
    MscTensor *o = ctx->out[j];
    if (!o)
      continue;
    for (int64_t i = 0; i < P; i++) {
      double v;
      if (!bp.training)
        v = (j % 2 == 1) ? mean[i] : var[i]; /* statistics unchanged in inference */
      else if (j == 1)
        v = mean[i] * mom + bmean[i] * (1.0 - mom);
      else if (j == 2)
        v = var[i] * mom + bvar[i] * (1.0 - mom);
      else if (j == 3)
        v = bmean[i];
      else
        v = bvar[i];
      set_f(o, i, (float)v);
    }
  }
  g_free(xtmp);
  g_free(scale);
  return MSC_OK;
}

/* ---- InstanceNormalization -------------------------------------------------- */

static MscStatus in_check(MscOpCtx *ctx, float *eps)
{
  const MscTensor *x = msc_op_input(ctx, 0);
  if (msc_op_attr_float(ctx, "epsilon", 1e-5f, eps))
    return ctx->status;
  if (!(*eps >= 0.f) || !isfinite(*eps))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'epsilon': %g, must be >= 0", (double)*eps);
  if (msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_UNDEFINED) ||
      check_param_dtype(ctx, 1, "scale") || check_param_dtype(ctx, 2, "B"))
    return ctx->status;
  if (x->rank < 3)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'input': rank %d, expected [N, C, D1, ...]",
                       (int)x->rank);
  for (uint32_t i = 1; i < 3; i++) {
    const MscTensor *t = msc_op_input(ctx, i);
    int64_t ne = numel_or_unknown(t);
    if (t->rank != 1 || (ne >= 0 && x->dims[1] >= 0 && ne != x->dims[1]))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "input '%s': rank %d with %lld elements, expected 1-D of C = %lld",
                         i == 1 ? "scale" : "B", (int)t->rank, (long long)ne,
                         (long long)x->dims[1]);
  }
  return MSC_OK;
}

static MscStatus instnorm_infer(MscOpCtx *ctx)
{
  float eps;
  if (in_check(ctx, &eps))
    return ctx->status;
  return msc_op_same_as_input(ctx, 0, 0);
}

static MscStatus instnorm_run(MscOpCtx *ctx)
{
  float eps;
  if (in_check(ctx, &eps))
    return ctx->status;
  const MscTensor *x = msc_op_input(ctx, 0);
  MscTensor *y = ctx->out[0];
  int64_t N = x->dims[0], C = x->dims[1], S = msc_shape_numel(x->rank - 2, &x->dims[2]);
  float *xtmp = NULL;
  const float *xf = float_view(x, N * C * S, &xtmp);
  if (!xf)
    return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory converting input");
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++) {
      int64_t base = (n * C + c) * S;
      const float *xp = xf + base;
      double m = 0.0, v = 0.0;
      for (int64_t s = 0; s < S; s++)
        m += xp[s];
      m = S > 0 ? m / (double)S : 0.0;
      for (int64_t s = 0; s < S; s++)
        v += ((double)xp[s] - m) * ((double)xp[s] - m);
      v = S > 0 ? v / (double)S : 0.0;
      double a = get_f(msc_op_input(ctx, 1), c) / sqrt(v + (double)eps);
      double b = get_f(msc_op_input(ctx, 2), c) - m * a;
      if (y->dtype == MSC_DTYPE_FLOAT32) {
        float *yp = (float *)y->data + base;
        for (int64_t s = 0; s < S; s++)
          yp[s] = (float)(xp[s] * a + b);
      } else {
        for (int64_t s = 0; s < S; s++)
          set_f(y, base + s, (float)(xp[s] * a + b));
      }
    }
  g_free(xtmp);
  return MSC_OK;
}

/* ---- LRN -------------------------------------------------------------------- */

typedef struct {
  int64_t size;
  float alpha, beta, bias;
} LrnParams;

static MscStatus lrn_params(MscOpCtx *ctx, LrnParams *lp)
{
  const MscTensor *x = msc_op_input(ctx, 0);
  if (!msc_node_find_attr(ctx->node, "size"))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'size' is required");
  if (msc_op_attr_int(ctx, "size", 1, &lp->size) ||
      msc_op_attr_float(ctx, "alpha", 1e-4f, &lp->alpha) ||
      msc_op_attr_float(ctx, "beta", 0.75f, &lp->beta) ||
      msc_op_attr_float(ctx, "bias", 1.0f, &lp->bias))
    return ctx->status;
  if (lp->size < 1 || lp->size > INT32_MAX)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'size': %lld, must be >= 1",
                       (long long)lp->size);
  if (msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_UNDEFINED))
    return ctx->status;
  if (x->rank < 2)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'X': rank %d, expected [N, C, ...]",
                       (int)x->rank);
  return MSC_OK;
}

static MscStatus lrn_infer(MscOpCtx *ctx)
{
  LrnParams lp;
  if (lrn_params(ctx, &lp))
    return ctx->status;
  return msc_op_same_as_input(ctx, 0, 0);
}

static MscStatus lrn_run(MscOpCtx *ctx)
{
  LrnParams lp;
  if (lrn_params(ctx, &lp))
    return ctx->status;
  const MscTensor *x = msc_op_input(ctx, 0);
  MscTensor *y = ctx->out[0];
  int64_t N = x->dims[0], C = x->dims[1], S = msc_shape_numel(x->rank - 2, &x->dims[2]);
  float *xtmp = NULL;
  const float *xf = float_view(x, N * C * S, &xtmp);
  double *sq = g_try_new0(double, (size_t)(S > 0 ? S : 1));
  if (!xf || !sq) {
    g_free(xtmp);
    g_free(sq);
    return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory for LRN");
  }
  /* window [c - floor((size-1)/2), c + ceil((size-1)/2)], clipped to [0, C) */
  const int64_t before = (lp.size - 1) / 2, after = lp.size - 1 - before;
  const double coef = (double)lp.alpha / (double)lp.size;
  for (int64_t n = 0; n < N; n++) {
    const float *xn = xf + n * C * S;
    for (int64_t c = 0; c < C; c++) {
      int64_t lo = c - before < 0 ? 0 : c - before;
      int64_t hi = c + after >= C ? C - 1 : c + after;
      memset(sq, 0, (size_t)S * sizeof(double));
      for (int64_t cc = lo; cc <= hi; cc++) {
        const float *xp = xn + cc * S;
        for (int64_t s = 0; s < S; s++)
          sq[s] += (double)xp[s] * xp[s];
      }
      const float *xp = xn + c * S;
      int64_t base = (n * C + c) * S;
      for (int64_t s = 0; s < S; s++) {
        double v = xp[s] / pow((double)lp.bias + coef * sq[s], (double)lp.beta);
        set_f(y, base + s, (float)v);
      }
    }
  }
  g_free(xtmp);
  g_free(sq);
  return MSC_OK;
}

/* ---- definitions ------------------------------------------------------------ */

static const MscOpDef op_batchnorm = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "BatchNormalization",
    .since_version = 1,
    .min_inputs = 5,
    .max_inputs = 5,
    .min_outputs = 1,
    .max_outputs = 5,
    .infer = bn_infer,
    .run = bn_run,
    .doc = "Batch normalization, inference and training forms of opsets 1-15 "
           "(is_test, spatial, training_mode); float32/float16",
};

static const MscOpDef op_instnorm = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "InstanceNormalization",
    .since_version = 1,
    .min_inputs = 3,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = instnorm_infer,
    .run = instnorm_run,
    .doc = "Per-instance, per-channel normalization over the spatial dims; float32/float16",
};

static const MscOpDef op_lrn = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "LRN",
    .since_version = 1,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = lrn_infer,
    .run = lrn_run,
    .doc = "Local response normalization across channels (alpha divided by size); "
           "float32/float16",
};

const MscOpDef *const msc_ops_normalization[] = {&op_batchnorm, &op_instnorm, &op_lrn, NULL};
