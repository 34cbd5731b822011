/* ops/reduce.c: ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp,
 * ArgMax, ArgMin.
 *
 * Axes: an attribute up to opset 12 (ReduceSum) / 17 (the others), the
 * optional second input from opset 13 (ReduceSum) / 18 (the others), with
 * noop_with_empty_axes deciding whether empty axes mean "all" (0) or
 * "identity" (1). keepdims defaults to 1.
 * Empty reductions give the identity of the operation (Sum 0, Prod 1, Max
 * -inf, Min +inf, LogSum(Exp) -inf; Mean of nothing is NaN).
 * Dtypes: float32/float16 (accumulated in double), int32/int64 (int64
 * accumulators, Mean truncates) for Sum/Mean/Max/Min/Prod, plus int8/uint8
 * for Max/Min. L1/L2/SumSquare/LogSum/LogSumExp: float32/float16 only.
 */
#include <math.h>
#include <string.h>

#include "op-util.h"
#include "ops.h"
#include "tensor.h"

typedef enum {
  RED_SUM, RED_MEAN, RED_MAX, RED_MIN, RED_PROD,
  RED_L1, RED_L2, RED_SUMSQ, RED_LOGSUM, RED_LOGSUMEXP,
} RedKind;

typedef struct {
  int identity;                 /* noop_with_empty_axes with empty axes */
  int keepdims;
  uint8_t reduced[MSC_MAX_RANK];
  int n_reduced;                /* -1: axes not known (static inference) */
  int n_axes_unknown_count;     /* when n_reduced == -1: number of axes or -1 */
} RedPlan;

static RedKind op_kind(const char *t)
{
  static const struct { const char *n; RedKind k; } tab[] = {
      {"ReduceSum", RED_SUM},       {"ReduceMean", RED_MEAN},
      {"ReduceMax", RED_MAX},       {"ReduceMin", RED_MIN},
      {"ReduceProd", RED_PROD},     {"ReduceL1", RED_L1},
      {"ReduceL2", RED_L2},         {"ReduceSumSquare", RED_SUMSQ},
      {"ReduceLogSum", RED_LOGSUM}, {"ReduceLogSumExp", RED_LOGSUMEXP},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(tab); i++)
    if (strcmp(t, tab[i].n) == 0)
      return tab[i].k;
  return RED_SUM;
}

/* First opset where axes is an input. */
static int64_t axes_input_since(RedKind k)
{
  return k == RED_SUM ? 13 : 18;
}

static MscStatus check_dtype(MscOpCtx *ctx, RedKind k)
{
  switch (k) {
  case RED_MAX:
  case RED_MIN:
    return msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_INT32,
                              MSC_DTYPE_INT64, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, MSC_DTYPE_UNDEFINED);
  case RED_SUM:
  case RED_MEAN:
  case RED_PROD:
    return msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_INT32,
                              MSC_DTYPE_INT64, MSC_DTYPE_UNDEFINED);
  default:
    return msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_UNDEFINED);
  }
}

static MscStatus red_plan(MscOpCtx *ctx, RedKind k, RedPlan *pl)
{
  const MscTensor *x = msc_op_input(ctx, 0);
  int64_t keepdims, noop = 0;
  int64_t axbuf[MSC_MAX_RANK * 2];
  const int64_t *axes = NULL;
  size_t n_axes = 0;
  int known = 1;

  memset(pl, 0, sizeof *pl);
  if (check_dtype(ctx, k) || msc_op_attr_int(ctx, "keepdims", 1, &keepdims))
    return ctx->status;
  if (keepdims != 0 && keepdims != 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'keepdims': %lld, expected 0 or 1",
                       (long long)keepdims);
  pl->keepdims = (int)keepdims;

  if (ctx->node->opset >= axes_input_since(k)) {
    if (msc_op_attr_int(ctx, "noop_with_empty_axes", 0, &noop))
      return ctx->status;
    if (msc_node_find_attr(ctx->node, "axes"))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "attribute 'axes' is an input from opset %lld (model opset %lld)",
                         (long long)axes_input_since(k), (long long)ctx->node->opset);
    const MscTensor *at = msc_op_input(ctx, 1);
    if (at) {
      if (at->dtype != MSC_DTYPE_INT64)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'axes': dtype %s, expected int64",
                           msc_dtype_name(at->dtype));
      if (at->rank > 1)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'axes': rank %d, expected 1-D",
                           (int)at->rank);
      if (msc_op_input_ints(ctx, 1, axbuf, G_N_ELEMENTS(axbuf), &n_axes, &known))
        return ctx->status;
      axes = axbuf;
      if (!known) {
        pl->n_reduced = -1;
        pl->n_axes_unknown_count = (at->rank == 1) ? (int)at->dims[0] : -1;
        if (pl->n_axes_unknown_count == 0) {
          /* an empty axes tensor is known even without its value */
          pl->n_reduced = 0;
          known = 1;
          n_axes = 0;
        } else {
          return MSC_OK;
        }
      }
    }
  } else {
    if (ctx->n_in > 1 && ctx->in[1])
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "input 'axes' exists only from opset %lld (model opset %lld); use the "
                         "attribute", (long long)axes_input_since(k), (long long)ctx->node->opset);
    if (msc_op_attr_ints(ctx, "axes", &axes, &n_axes))
      return ctx->status;
  }
  if (noop != 0 && noop != 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                       "attribute 'noop_with_empty_axes': %lld, expected 0 or 1", (long long)noop);

  if (n_axes == 0) {
    if (noop) {
      pl->identity = 1;
      pl->n_reduced = 0;
      return MSC_OK;
    }
    for (int d = 0; d < x->rank; d++)
      pl->reduced[d] = 1;
    pl->n_reduced = x->rank;
    return MSC_OK;
  }
  for (size_t i = 0; i < n_axes; i++) {
    int64_t a;
    if (msc_op_norm_axis(ctx, "axes", axes[i], x->rank, 0, &a))
      return ctx->status;
    if (pl->reduced[a])
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "axes: axis %lld given twice", (long long)axes[i]);
    pl->reduced[a] = 1;
    pl->n_reduced++;
  }
  return MSC_OK;
}

static void out_dims(const MscTensor *x, const RedPlan *pl, int32_t *rank, int64_t *dims)
{
  int32_t r = 0;
  for (int d = 0; d < x->rank; d++) {
    if (!pl->reduced[d])
      dims[r++] = x->dims[d];
    else if (pl->keepdims)
      dims[r++] = 1;
  }
  *rank = r;
}

static MscStatus reduce_infer(MscOpCtx *ctx)
{
  RedKind k = op_kind(ctx->node->op_type);
  const MscTensor *x = msc_op_input(ctx, 0);
  RedPlan pl;
  int64_t dims[MSC_MAX_RANK];
  int32_t r;
  if (red_plan(ctx, k, &pl))
    return ctx->status;
  if (pl.n_reduced < 0) {
    /* axes value unknown: rank known with keepdims or a known axes length */
    for (int d = 0; d < MSC_MAX_RANK; d++)
      dims[d] = -1;
    if (pl.keepdims)
      return msc_op_set_output(ctx, 0, x->dtype, x->rank, dims);
    if (pl.n_axes_unknown_count > 0 && pl.n_axes_unknown_count <= x->rank)
      return msc_op_set_output(ctx, 0, x->dtype, x->rank - pl.n_axes_unknown_count, dims);
    return msc_op_set_output(ctx, 0, x->dtype, -1, dims);
  }
  if (pl.identity)
    return msc_op_same_as_input(ctx, 0, 0);
  out_dims(x, &pl, &r, dims);
  return msc_op_set_output(ctx, 0, x->dtype, r, dims);
}

static double load_f(const MscTensor *t, int64_t i)
{
  switch (t->dtype) {
  case MSC_DTYPE_FLOAT32: return ((const float *)t->data)[i];
  case MSC_DTYPE_FLOAT16: return msc_f16_to_f32(((const uint16_t *)t->data)[i]);
  default: return 0.0;
  }
}

static int64_t load_i(const MscTensor *t, int64_t i)
{
  switch (t->dtype) {
  case MSC_DTYPE_INT32: return ((const int32_t *)t->data)[i];
  case MSC_DTYPE_INT64: return ((const int64_t *)t->data)[i];
  case MSC_DTYPE_INT8: return ((const int8_t *)t->data)[i];
  case MSC_DTYPE_UINT8: return ((const uint8_t *)t->data)[i];
  default: return 0;
  }
}

/* Calls the accumulate step for every input element with the output
 * offset it reduces into; the innermost dim runs as a tight loop. */
#define RED_WALK(x, ostride, BODY)                                                      \
  do {                                                                                  \
    int32_t r_ = (x)->rank;                                                             \
    int64_t idx_[MSC_MAX_RANK] = {0};                                                   \
    int64_t n_ = msc_tensor_numel(x);                                                   \
    int64_t last_ = r_ > 0 ? (x)->dims[r_ - 1] : 1;                                     \
    int64_t ls_ = r_ > 0 ? (ostride)[r_ - 1] : 0;                                       \
    int64_t base_ = 0;                                                                  \
    for (int64_t i_ = 0; i_ < n_ && last_ > 0; i_ += last_) {                           \
      for (int64_t j_ = 0; j_ < last_; j_++) {                                          \
        const int64_t xi = i_ + j_;                                                     \
        const int64_t oi = base_ + j_ * ls_;                                            \
        BODY;                                                                           \
      }                                                                                 \
      for (int d_ = r_ - 2; d_ >= 0; d_--) {                                            \
        idx_[d_]++;                                                                     \
        base_ += (ostride)[d_];                                                         \
        if (idx_[d_] < (x)->dims[d_])                                                   \
          break;                                                                        \
        base_ -= idx_[d_] * (ostride)[d_];                                              \
        idx_[d_] = 0;                                                                   \
      }                                                                                 \
    }                                                                                   \
  } while (0)

static MscStatus reduce_run(MscOpCtx *ctx)
{
  RedKind k = op_kind(ctx->node->op_type);
  const MscTensor *x = msc_op_input(ctx, 0);
  MscTensor *y = ctx->out[0];
  RedPlan pl;
  if (red_plan(ctx, k, &pl))
    return ctx->status;
  if (pl.n_reduced < 0)
    return msc_op_fail(ctx, MSC_ERR_INTERNAL, "input 'axes' has no value at run time");
  if (pl.identity) {
    memcpy(y->data, x->data, y->nbytes < x->nbytes ? y->nbytes : x->nbytes);
    return MSC_OK;
  }

  /* output stride of each input dim (0 where reduced) and the count */
  int64_t ostride[MSC_MAX_RANK], count = 1, s = 1;
  for (int d = x->rank - 1; d >= 0; d--) {
    if (pl.reduced[d]) {
      ostride[d] = 0;
      count *= x->dims[d];
    } else {
      ostride[d] = s;
      s *= x->dims[d];
    }
  }
  int64_t ny = msc_tensor_numel(y);
  if (ny == 0)
    return MSC_OK;
  int is_int = !(x->dtype == MSC_DTYPE_FLOAT32 || x->dtype == MSC_DTYPE_FLOAT16);

  if (is_int) {
    int64_t *acc = g_try_new(int64_t, (size_t)ny);
    if (!acc)
      return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory");
    int64_t init = k == RED_PROD ? 1 : k == RED_MAX ? INT64_MIN : k == RED_MIN ? INT64_MAX : 0;
    for (int64_t i = 0; i < ny; i++)
      acc[i] = init;
    switch (k) {
    case RED_MAX:
      RED_WALK(x, ostride, { int64_t v = load_i(x, xi); if (v > acc[oi]) acc[oi] = v; });
      break;
    case RED_MIN:
      RED_WALK(x, ostride, { int64_t v = load_i(x, xi); if (v < acc[oi]) acc[oi] = v; });
      break;
    case RED_PROD:
      RED_WALK(x, ostride, { acc[oi] = (int64_t)((uint64_t)acc[oi] * (uint64_t)load_i(x, xi)); });
      break;
    default:
      RED_WALK(x, ostride, { acc[oi] = (int64_t)((uint64_t)acc[oi] + (uint64_t)load_i(x, xi)); });
      break;
    }
    for (int64_t i = 0; i < ny; i++) {
      int64_t v = acc[i];
      if (k == RED_MEAN)
        v = count > 0 ? v / count : 0;
      switch (y->dtype) {
      case MSC_DTYPE_INT64: ((int64_t *)y->data)[i] = v; break;
      case MSC_DTYPE_INT32: ((int32_t *)y->data)[i] = (int32_t)v; break;
      case MSC_DTYPE_INT8: ((int8_t *)y->data)[i] = (int8_t)v; break;
      case MSC_DTYPE_UINT8: ((uint8_t *)y->data)[i] = (uint8_t)v; break;
      default: break;
      }
    }
    g_free(acc);
    return MSC_OK;
  }

  double *acc = g_try_new(double, (size_t)ny * (k == RED_LOGSUMEXP ? 2 : 1));
  if (!acc)
    return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory");
  double init = k == RED_PROD ? 1.0 : k == RED_MAX ? -INFINITY : k == RED_MIN ? INFINITY : 0.0;
  for (int64_t i = 0; i < ny; i++)
    acc[i] = init;
  double *mx = NULL;
  switch (k) {
  case RED_MAX:
    RED_WALK(x, ostride, { double v = load_f(x, xi); if (v > acc[oi] || isnan(v)) acc[oi] = v; });
    break;
  case RED_MIN:
    RED_WALK(x, ostride, { double v = load_f(x, xi); if (v < acc[oi] || isnan(v)) acc[oi] = v; });
    break;
  case RED_PROD:
    RED_WALK(x, ostride, { acc[oi] *= load_f(x, xi); });
    break;
  case RED_L1:
    RED_WALK(x, ostride, { acc[oi] += fabs(load_f(x, xi)); });
    break;
  case RED_L2:
  case RED_SUMSQ:
    RED_WALK(x, ostride, { double v = load_f(x, xi); acc[oi] += v * v; });
    break;
  case RED_LOGSUMEXP:
    mx = acc + ny;
    for (int64_t i = 0; i < ny; i++)
      mx[i] = -INFINITY;
    RED_WALK(x, ostride, { double v = load_f(x, xi); if (v > mx[oi]) mx[oi] = v; });
    RED_WALK(x, ostride, {
      if (isfinite(mx[oi]))
        acc[oi] += exp(load_f(x, xi) - mx[oi]);
    });
    break;
  default: /* SUM, MEAN, LOGSUM */
    if (x->dtype == MSC_DTYPE_FLOAT32) {
      const float *xf = x->data;
      RED_WALK(x, ostride, { acc[oi] += xf[xi]; });
    } else {
      RED_WALK(x, ostride, { acc[oi] += load_f(x, xi); });
    }
    break;
  }
  for (int64_t i = 0; i < ny; i++) {
    double v = acc[i];
    switch (k) {
    case RED_MEAN: v = v / (double)count; break;
    case RED_L2: v = sqrt(v); break;
    case RED_LOGSUM: v = log(v); break;
    case RED_LOGSUMEXP: v = isfinite(mx[i]) ? mx[i] + log(v) : mx[i]; break;
    default: break;
    }
    if (y->dtype == MSC_DTYPE_FLOAT32)
      ((float *)y->data)[i] = (float)v;
    else
      ((uint16_t *)y->data)[i] = msc_f32_to_f16((float)v);
  }
  g_free(acc);
  return MSC_OK;
}

/* ---- ArgMax / ArgMin --------------------------------------------------------- */

typedef struct {
  int64_t axis;
  int keepdims, last;
} ArgParams;

static MscStatus arg_params(MscOpCtx *ctx, ArgParams *ap)
{
  const MscTensor *x = msc_op_input(ctx, 0);
  int64_t axis, keepdims, last = 0;
  if (msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_INT32,
                         MSC_DTYPE_INT64, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, MSC_DTYPE_UNDEFINED) ||
      msc_op_attr_int(ctx, "axis", 0, &axis) || msc_op_attr_int(ctx, "keepdims", 1, &keepdims) ||
      msc_op_attr_int(ctx, "select_last_index", 0, &last))
    return ctx->status;
  if (x->rank < 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'data': a scalar has no axis");
  if (msc_op_norm_axis(ctx, "attribute 'axis'", axis, x->rank, 0, &ap->axis))
    return ctx->status;
  if (keepdims != 0 && keepdims != 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'keepdims': %lld, expected 0 or 1",
                       (long long)keepdims);
  if (last != 0 && last != 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                       "attribute 'select_last_index': %lld, expected 0 or 1", (long long)last);
  ap->keepdims = (int)keepdims;
  ap->last = (int)last;
  return MSC_OK;
}

static MscStatus arg_infer(MscOpCtx *ctx)
{
  const MscTensor *x = msc_op_input(ctx, 0);
  ArgParams ap;
  int64_t dims[MSC_MAX_RANK];
  int32_t r = 0;
  if (arg_params(ctx, &ap))
    return ctx->status;
  for (int d = 0; d < x->rank; d++) {
    if (d != ap.axis)
      dims[r++] = x->dims[d];
    else if (ap.keepdims)
      dims[r++] = 1;
  }
  if (x->dims[ap.axis] == 0)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'data': axis %lld has size 0",
                       (long long)ap.axis);
  return msc_op_set_output(ctx, 0, MSC_DTYPE_INT64, r, dims);
}

static MscStatus arg_run(MscOpCtx *ctx)
{
  const MscTensor *x = msc_op_input(ctx, 0);
  int is_max = strcmp(ctx->node->op_type, "ArgMax") == 0;
  ArgParams ap;
  if (arg_params(ctx, &ap))
    return ctx->status;
  int64_t outer = msc_shape_numel((int32_t)ap.axis, x->dims);
  int64_t len = x->dims[ap.axis];
  int64_t inner = msc_shape_numel(x->rank - (int32_t)ap.axis - 1, &x->dims[ap.axis + 1]);
  int64_t *y = ctx->out[0]->data;
  int is_f = x->dtype == MSC_DTYPE_FLOAT32 || x->dtype == MSC_DTYPE_FLOAT16;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * len * inner + in, best = 0;
      double bf = is_f ? load_f(x, base) : 0.0;
      int64_t bi = is_f ? 0 : load_i(x, base);
      for (int64_t i = 1; i < len; i++) {
        int better, equal;
        if (is_f) {
          double v = load_f(x, base + i * inner);
          better = is_max ? v > bf : v < bf;
          equal = v == bf;
          if (better || (equal && ap.last))
            bf = v;
        } else {
          int64_t v = load_i(x, base + i * inner);
          better = is_max ? v > bi : v < bi;
          equal = v == bi;
          if (better || (equal && ap.last))
            bi = v;
        }
        if (better || (equal && ap.last))
          best = i;
      }
      y[o * inner + in] = best;
    }
  return MSC_OK;
}

/* ---- definitions ------------------------------------------------------------ */

#define REDUCE_DEF(var, name, docstr)                                                     \
  static const MscOpDef var = {                                                           \
      .struct_size = sizeof(MscOpDef),                                                    \
      .domain = "",                                                                       \
      .op_type = name,                                                                    \
      .since_version = 1,                                                                 \
      .min_inputs = 1,                                                                    \
      .max_inputs = 2,                                                                    \
      .min_outputs = 1,                                                                   \
      .max_outputs = 1,                                                                   \
      .infer = reduce_infer,                                                              \
      .run = reduce_run,                                                                  \
      .doc = docstr,                                                                      \
  }

REDUCE_DEF(op_rsum, "ReduceSum", "Sum over axes (attribute < 13, input >= 13)");
REDUCE_DEF(op_rmean, "ReduceMean", "Mean over axes (attribute < 18, input >= 18)");
REDUCE_DEF(op_rmax, "ReduceMax", "Max over axes (attribute < 18, input >= 18)");
REDUCE_DEF(op_rmin, "ReduceMin", "Min over axes (attribute < 18, input >= 18)");
REDUCE_DEF(op_rprod, "ReduceProd", "Product over axes (attribute < 18, input >= 18)");
REDUCE_DEF(op_rl1, "ReduceL1", "Sum of |x| over axes; float only");
REDUCE_DEF(op_rl2, "ReduceL2", "sqrt(sum x^2) over axes; float only");
REDUCE_DEF(op_rsumsq, "ReduceSumSquare", "Sum of x^2 over axes; float only");
REDUCE_DEF(op_rlogsum, "ReduceLogSum", "log(sum x) over axes; float only");
REDUCE_DEF(op_rlogsumexp, "ReduceLogSumExp", "log(sum exp x) over axes, max-shifted; float only");

static const MscOpDef op_argmax = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "ArgMax",
    .since_version = 1,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = arg_infer,
    .run = arg_run,
    .doc = "Index of the max along axis (int64); select_last_index from opset 12",
};

static const MscOpDef op_argmin = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "ArgMin",
    .since_version = 1,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = arg_infer,
    .run = arg_run,
    .doc = "Index of the min along axis (int64); select_last_index from opset 12",
};

const MscOpDef *const msc_ops_reduce[] = {
    &op_rsum, &op_rmean, &op_rmax, &op_rmin, &op_rprod, &op_rl1, &op_rl2,
    &op_rsumsq, &op_rlogsum, &op_rlogsumexp, &op_argmax, &op_argmin, NULL,
};
