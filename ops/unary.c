/* ops/unary.c: elementwise activations and math functions, and Clip.
 *
 * Float math runs in float32 (expf, erff, ...); float16 tensors are widened
 * block by block. double has its own kernels in double math (exp, erf, ...)
 * so its results keep double precision. Ops whose later opsets admit integer types (Relu-14, Abs,
 * Neg, Sign, Clip-12) have integer kernels too. The opset-1 attribute
 * `consumed_inputs` is accepted and ignored (it only described in-place
 * reuse); Clip reads min/max from attributes before opset 11 and from the
 * optional inputs 1 and 2 from then on.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "op-util.h"
#include "ops.h"
#include "tensor.h"

/* GCC 12's -O2 uses the "very cheap" vectorizer cost model, which leaves
 * these elementwise loops scalar (they need alias/epilogue checks); asking
 * for the vectorizer here gives baseline-SSE2 code 2-4x faster. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize")
#endif

typedef struct {
  float alpha, beta, gamma;
} UParams;

typedef void (*UnaryF32)(float *o, const float *x, int64_t n, const UParams *p);
typedef void (*UnaryF64)(double *o, const double *x, int64_t n, const UParams *p);
typedef void (*UnaryAny)(void *o, const void *x, int64_t n, const UParams *p);

typedef enum { K_I8, K_U8, K_I32, K_I64, K_BOOL, K_N } KInt;

static int kint_of(MscDType d) {
  switch (d) {
    case MSC_DTYPE_INT8: return K_I8;
    case MSC_DTYPE_UINT8: return K_U8;
    case MSC_DTYPE_INT32: return K_I32;
    case MSC_DTYPE_INT64: return K_I64;
    case MSC_DTYPE_BOOL: return K_BOOL;
    default: return -1;
  }
}

#define DEF_UF(fname, EXPR)                                                                      \
  static void fname(float *restrict o, const float *restrict x, int64_t n, const UParams *p) {  \
    (void)p;                                                                                     \
    for (int64_t i = 0; i < n; i++) {                                                            \
      float v = x[i];                                                                            \
      o[i] = (EXPR);                                                                             \
    }                                                                                            \
  }

/* double kernels: float attributes (alpha, ...) are widened to double. */
#define DEF_UD(fname, EXPR)                                                                       \
  static void fname(double *restrict o, const double *restrict x, int64_t n, const UParams *p) { \
    (void)p;                                                                                      \
    for (int64_t i = 0; i < n; i++) {                                                             \
      double v = x[i];                                                                            \
      o[i] = (EXPR);                                                                              \
    }                                                                                             \
  }

#define DEF_UI(fname, T, EXPR)                                                                  \
  static void fname(void *restrict o_, const void *restrict x_, int64_t n, const UParams *p) { \
    (void)p;                                                                                    \
    T *o = o_;                                                                                  \
    const T *x = x_;                                                                            \
    for (int64_t i = 0; i < n; i++) {                                                           \
      T v = x[i];                                                                               \
      o[i] = (T)(EXPR);                                                                         \
    }                                                                                           \
  }

static inline float softplus_f(float v) {
  /* log(1 + e^v) without overflow for large v */
  return fmaxf(v, 0.0f) + log1pf(expf(-fabsf(v)));
}

static inline float clampf01(float v) {
  return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

static inline double softplus_d(double v) {
  return fmax(v, 0.0) + log1p(exp(-fabs(v)));
}

static inline double clampd01(double v) {
  return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

DEF_UF(relu_f32, v > 0.0f ? v : (v != v ? v : 0.0f))
DEF_UF(leaky_relu_f32, v < 0.0f ? v * p->alpha : v)
DEF_UF(sigmoid_f32, 1.0f / (1.0f + expf(-v)))
DEF_UF(hard_sigmoid_f32, clampf01(p->alpha * v + p->beta))
DEF_UF(hard_swish_f32, v * clampf01(v * (1.0f / 6.0f) + 0.5f))
DEF_UF(tanh_f32, tanhf(v))
DEF_UF(elu_f32, v < 0.0f ? p->alpha * expm1f(v) : v)
DEF_UF(selu_f32, v > 0.0f ? p->gamma * v : p->gamma * (p->alpha * expf(v) - p->alpha))
DEF_UF(celu_f32, fmaxf(0.0f, v) + fminf(0.0f, p->alpha * expm1f(v / p->alpha)))
DEF_UF(thresholded_relu_f32, v > p->alpha ? v : 0.0f)
DEF_UF(softplus_f32, softplus_f(v))
DEF_UF(softsign_f32, v / (1.0f + fabsf(v)))
DEF_UF(mish_f32, v * tanhf(softplus_f(v)))
DEF_UF(exp_f32, expf(v))
DEF_UF(log_f32, logf(v))
DEF_UF(sqrt_f32, sqrtf(v))
DEF_UF(abs_f32, fabsf(v))
DEF_UF(neg_f32, -v)
DEF_UF(sign_f32, v > 0.0f ? 1.0f : v < 0.0f ? -1.0f : v * 0.0f) /* 0 stays 0, NaN stays NaN */
DEF_UF(erf_f32, erff(v))
DEF_UF(reciprocal_f32, 1.0f / v)
DEF_UF(floor_f32, floorf(v))
DEF_UF(ceil_f32, ceilf(v))
DEF_UF(round_f32, nearbyintf(v)) /* default rounding mode: half to even, as numpy.round */
DEF_UF(sin_f32, sinf(v))
DEF_UF(cos_f32, cosf(v))
DEF_UF(shrink_f32, v < -p->gamma ? v + p->beta : v > p->gamma ? v - p->beta : 0.0f)

DEF_UD(relu_f64, v > 0.0 ? v : (v != v ? v : 0.0))
DEF_UD(leaky_relu_f64, v < 0.0 ? v * (double)p->alpha : v)
DEF_UD(sigmoid_f64, 1.0 / (1.0 + exp(-v)))
DEF_UD(hard_sigmoid_f64, clampd01((double)p->alpha * v + (double)p->beta))
DEF_UD(hard_swish_f64, v * clampd01(v * (1.0 / 6.0) + 0.5))
DEF_UD(tanh_f64, tanh(v))
DEF_UD(elu_f64, v < 0.0 ? (double)p->alpha * expm1(v) : v)
DEF_UD(selu_f64, v > 0.0 ? (double)p->gamma * v : (double)p->gamma * ((double)p->alpha * exp(v) - (double)p->alpha))
DEF_UD(celu_f64, fmax(0.0, v) + fmin(0.0, (double)p->alpha * expm1(v / (double)p->alpha)))
DEF_UD(thresholded_relu_f64, v > (double)p->alpha ? v : 0.0)
DEF_UD(softplus_f64, softplus_d(v))
DEF_UD(softsign_f64, v / (1.0 + fabs(v)))
DEF_UD(mish_f64, v * tanh(softplus_d(v)))
DEF_UD(exp_f64, exp(v))
DEF_UD(log_f64, log(v))
DEF_UD(sqrt_f64, sqrt(v))
DEF_UD(abs_f64, fabs(v))
DEF_UD(neg_f64, -v)
DEF_UD(sign_f64, v > 0.0 ? 1.0 : v < 0.0 ? -1.0 : v * 0.0)
DEF_UD(erf_f64, erf(v))
DEF_UD(reciprocal_f64, 1.0 / v)
DEF_UD(floor_f64, floor(v))
DEF_UD(ceil_f64, ceil(v))
DEF_UD(round_f64, nearbyint(v))
DEF_UD(sin_f64, sin(v))
DEF_UD(cos_f64, cos(v))
DEF_UD(shrink_f64, v < -(double)p->gamma ? v + (double)p->beta : v > (double)p->gamma ? v - (double)p->beta : 0.0)

/* Integer kernels: negation wraps (abs(INT_MIN) == INT_MIN, like numpy). */
#define DEF_UI_SIGNED(op, EXPR8, EXPR32, EXPR64) \
  DEF_UI(op##_i8, int8_t, EXPR8)                 \
  DEF_UI(op##_i32, int32_t, EXPR32)              \
  DEF_UI(op##_i64, int64_t, EXPR64)

DEF_UI_SIGNED(relu, v > 0 ? v : 0, v > 0 ? v : 0, v > 0 ? v : 0)
DEF_UI_SIGNED(neg, (int8_t)(uint8_t)(0u - (uint8_t)v), (int32_t)(0u - (uint32_t)v), (int64_t)(0u - (uint64_t)v))
DEF_UI_SIGNED(abs, v < 0 ? (int8_t)(uint8_t)(0u - (uint8_t)v) : v, v < 0 ? (int32_t)(0u - (uint32_t)v) : v,
              v < 0 ? (int64_t)(0u - (uint64_t)v) : v)
DEF_UI_SIGNED(sign, (v > 0) - (v < 0), (v > 0) - (v < 0), (v > 0) - (v < 0))
DEF_UI(abs_u8, uint8_t, v)
DEF_UI(sign_u8, uint8_t, v > 0)
DEF_UI(not_bool, uint8_t, v == 0)

typedef MscStatus (*ParamFn)(MscOpCtx *ctx, UParams *p);

static MscStatus params_alpha(MscOpCtx *ctx, UParams *p, float dflt) {
  return msc_op_attr_float(ctx, "alpha", dflt, &p->alpha);
}
static MscStatus params_leaky(MscOpCtx *ctx, UParams *p) {
  return params_alpha(ctx, p, 0.01f);
}
static MscStatus params_alpha1(MscOpCtx *ctx, UParams *p) {
  return params_alpha(ctx, p, 1.0f);
}
static MscStatus params_celu(MscOpCtx *ctx, UParams *p) {
  if (params_alpha(ctx, p, 1.0f)) return ctx->status;
  if (p->alpha == 0.0f) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'alpha': must not be 0");
  return MSC_OK;
}
static MscStatus params_hard_sigmoid(MscOpCtx *ctx, UParams *p) {
  if (params_alpha(ctx, p, 0.2f)) return ctx->status;
  return msc_op_attr_float(ctx, "beta", 0.5f, &p->beta);
}
static MscStatus params_selu(MscOpCtx *ctx, UParams *p) {
  if (params_alpha(ctx, p, 1.67326319217681884765625f)) return ctx->status;
  return msc_op_attr_float(ctx, "gamma", 1.05070102214813232421875f, &p->gamma);
}
static MscStatus params_shrink(MscOpCtx *ctx, UParams *p) {
  if (msc_op_attr_float(ctx, "bias", 0.0f, &p->beta)) return ctx->status;
  return msc_op_attr_float(ctx, "lambd", 0.5f, &p->gamma);
}

typedef struct {
  const char *name;
  int since;
  UnaryF32 f32; /* NULL: no float kernel (Not) */
  UnaryF64 f64; /* double; NULL when f32 is */
  UnaryAny ints[K_N];
  ParamFn params;
  int int_since; /* first opset admitting the integer kernels (0: always) */
} UnaryDef;

#define INTS_SIGNED(op) {[K_I8] = op##_i8, [K_I32] = op##_i32, [K_I64] = op##_i64}
#define INTS_ALL(op) {[K_I8] = op##_i8, [K_U8] = op##_u8, [K_I32] = op##_i32, [K_I64] = op##_i64}

static const UnaryDef unary_defs[] = {
    {"Relu", 1, relu_f32, relu_f64, INTS_SIGNED(relu), NULL, 14},
    {"LeakyRelu", 1, leaky_relu_f32, leaky_relu_f64, {0}, params_leaky, 0},
    {"Sigmoid", 1, sigmoid_f32, sigmoid_f64, {0}, NULL, 0},
    {"HardSigmoid", 1, hard_sigmoid_f32, hard_sigmoid_f64, {0}, params_hard_sigmoid, 0},
    {"HardSwish", 14, hard_swish_f32, hard_swish_f64, {0}, NULL, 0},
    {"Tanh", 1, tanh_f32, tanh_f64, {0}, NULL, 0},
    {"Elu", 1, elu_f32, elu_f64, {0}, params_alpha1, 0},
    {"Selu", 1, selu_f32, selu_f64, {0}, params_selu, 0},
    {"Celu", 12, celu_f32, celu_f64, {0}, params_celu, 0},
    {"ThresholdedRelu", 10, thresholded_relu_f32, thresholded_relu_f64, {0}, params_alpha1, 0},
    {"Softplus", 1, softplus_f32, softplus_f64, {0}, NULL, 0},
    {"Softsign", 1, softsign_f32, softsign_f64, {0}, NULL, 0},
    {"Mish", 18, mish_f32, mish_f64, {0}, NULL, 0},
    {"Exp", 1, exp_f32, exp_f64, {0}, NULL, 0},
    {"Log", 1, log_f32, log_f64, {0}, NULL, 0},
    {"Sqrt", 1, sqrt_f32, sqrt_f64, {0}, NULL, 0},
    {"Abs", 1, abs_f32, abs_f64, INTS_ALL(abs), NULL, 6},
    {"Neg", 1, neg_f32, neg_f64, INTS_SIGNED(neg), NULL, 6},
    {"Sign", 9, sign_f32, sign_f64, INTS_ALL(sign), NULL, 0},
    {"Erf", 9, erf_f32, erf_f64, {0}, NULL, 0},
    {"Reciprocal", 1, reciprocal_f32, reciprocal_f64, {0}, NULL, 0},
    {"Floor", 1, floor_f32, floor_f64, {0}, NULL, 0},
    {"Ceil", 1, ceil_f32, ceil_f64, {0}, NULL, 0},
    {"Round", 11, round_f32, round_f64, {0}, NULL, 0},
    {"Sin", 7, sin_f32, sin_f64, {0}, NULL, 0},
    {"Cos", 7, cos_f32, cos_f64, {0}, NULL, 0},
    {"Shrink", 9, shrink_f32, shrink_f64, {0}, params_shrink, 0},
    {"Not", 1, NULL, NULL, {[K_BOOL] = not_bool}, NULL, 0},
};

static const UnaryDef *unary_find(const char *op_type) {
  for (size_t i = 0; i < G_N_ELEMENTS(unary_defs); i++)
    if (strcmp(unary_defs[i].name, op_type) == 0) return &unary_defs[i];
  return NULL;
}

static MscStatus unary_prepare(MscOpCtx *ctx, const UnaryDef **def, UParams *p) {
  memset(p, 0, sizeof *p);
  *def = unary_find(ctx->node->op_type);
  if (!*def) return msc_op_fail(ctx, MSC_ERR_INTERNAL, "op type '%s' not served by ops/unary.c", ctx->node->op_type);
  const MscTensor *x = msc_op_input(ctx, 0);
  if (!x) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 0: missing");
  int ok;
  if (x->dtype == MSC_DTYPE_FLOAT32 || x->dtype == MSC_DTYPE_FLOAT16) {
    ok = (*def)->f32 != NULL;
  } else if (x->dtype == MSC_DTYPE_DOUBLE) {
    ok = (*def)->f64 != NULL;
  } else {
    int k = kint_of(x->dtype);
    ok = k >= 0 && (*def)->ints[k] != NULL && ctx->node->opset >= (*def)->int_since;
  }
  if (!ok)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input 0: dtype %s not supported", msc_dtype_name(x->dtype));
  if ((*def)->params && (*def)->params(ctx, p)) return ctx->status;
  return MSC_OK;
}

static MscStatus unary_infer(MscOpCtx *ctx) {
  const UnaryDef *def;
  UParams p;
  if (unary_prepare(ctx, &def, &p)) return ctx->status;
  return msc_op_same_as_input(ctx, 0, 0);
}

/* float16 in float32 blocks of this many elements (stack buffers). */
#define F16_BLOCK 1024

static MscStatus unary_run(MscOpCtx *ctx) {
  const UnaryDef *def;
  UParams p;
  if (unary_prepare(ctx, &def, &p)) return ctx->status;
  const MscTensor *x = ctx->in[0];
  MscTensor *y = ctx->out[0];
  int64_t n = msc_tensor_numel(x);
  if (n <= 0) return MSC_OK;
  if (x->dtype == MSC_DTYPE_FLOAT32) {
    def->f32(y->data, x->data, n, &p);
  } else if (x->dtype == MSC_DTYPE_DOUBLE) {
    def->f64(y->data, x->data, n, &p);
  } else if (x->dtype == MSC_DTYPE_FLOAT16) {
    float a[F16_BLOCK], b[F16_BLOCK];
    const uint16_t *xs = x->data;
    uint16_t *ys = y->data;
    for (int64_t i0 = 0; i0 < n; i0 += F16_BLOCK) {
      int64_t m = n - i0 < F16_BLOCK ? n - i0 : F16_BLOCK;
      for (int64_t i = 0; i < m; i++) a[i] = msc_f16_to_f32(xs[i0 + i]);
      def->f32(b, a, m, &p);
      for (int64_t i = 0; i < m; i++) ys[i0 + i] = msc_f32_to_f16(b[i]);
    }
  } else {
    def->ints[kint_of(x->dtype)](y->data, x->data, n, &p);
  }
  return MSC_OK;
}

/* ---- Clip ------------------------------------------------------------------ */

/* Bounds as double (exact for every supported dtype but int64 beyond 2^53,
 * which Clip bounds never need) and as int64 for the integer kernels. */
typedef struct {
  int has_lo, has_hi;
  double lo, hi;
} ClipBounds;

static MscStatus clip_bound_input(MscOpCtx *ctx, uint32_t i, int *has, double *v) {
  const MscTensor *b = msc_op_input(ctx, i);
  *has = 0;
  if (!b) return MSC_OK;
  const char *what = i == 1 ? "min" : "max";
  if (b->dtype != ctx->in[0]->dtype)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u (%s): dtype %s differs from input 0's %s", i, what,
                       msc_dtype_name(b->dtype), msc_dtype_name(ctx->in[0]->dtype));
  int64_t n = msc_shape_numel(b->rank, b->dims);
  if (n != 1 && n != -1) /* a scalar; a 1-element 1-D tensor is tolerated */
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u (%s): expected a scalar, got %" G_GINT64_FORMAT " elements",
                       i, what, n);
  if (!b->data) return MSC_OK; /* static inference: value unknown */
  *has = 1;
  *v = msc_tensor_get_f64(b, 0);
  return MSC_OK;
}

static MscStatus clip_prepare(MscOpCtx *ctx, ClipBounds *cb) {
  const MscTensor *x = msc_op_input(ctx, 0);
  memset(cb, 0, sizeof *cb);
  if (!x) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 0: missing");
  int is_float = x->dtype == MSC_DTYPE_FLOAT32 || x->dtype == MSC_DTYPE_FLOAT16 || x->dtype == MSC_DTYPE_DOUBLE;
  int is_int = x->dtype == MSC_DTYPE_INT8 || x->dtype == MSC_DTYPE_UINT8 || x->dtype == MSC_DTYPE_INT32 ||
               x->dtype == MSC_DTYPE_INT64;
  if (!is_float && !(is_int && ctx->node->opset >= 11))
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input 0: dtype %s not supported", msc_dtype_name(x->dtype));
  if (ctx->node->opset < 11) {
    float lo, hi;
    if (ctx->n_in > 1)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "%u inputs: before opset 11 min/max are attributes", ctx->n_in);
    if (msc_op_attr_float(ctx, "min", -FLT_MAX, &lo)) return ctx->status;
    if (msc_op_attr_float(ctx, "max", FLT_MAX, &hi)) return ctx->status;
    cb->has_lo = cb->has_hi = 1;
    cb->lo = lo;
    cb->hi = hi;
    return MSC_OK;
  }
  if (clip_bound_input(ctx, 1, &cb->has_lo, &cb->lo)) return ctx->status;
  if (clip_bound_input(ctx, 2, &cb->has_hi, &cb->hi)) return ctx->status;
  return MSC_OK;
}

static MscStatus clip_infer(MscOpCtx *ctx) {
  ClipBounds cb;
  if (clip_prepare(ctx, &cb)) return ctx->status;
  return msc_op_same_as_input(ctx, 0, 0);
}

/* min(max(v, lo), hi): with lo > hi every element becomes hi (numpy.clip);
 * NaN passes through. */
#define CLIP_LOOP(T, LO, HI)                      \
  do {                                            \
    const T *xs = x->data;                        \
    T *ys = y->data, lo_ = (LO), hi_ = (HI);      \
    for (int64_t i = 0; i < n; i++) {             \
      T v = xs[i];                                \
      v = v < lo_ ? lo_ : v;                      \
      ys[i] = v > hi_ ? hi_ : v;                  \
    }                                             \
  } while (0)

static int64_t clamp_i64(double v, int64_t lo, int64_t hi) {
  return v <= (double)lo ? lo : v >= (double)hi ? hi : (int64_t)v;
}

static MscStatus clip_run(MscOpCtx *ctx) {
  ClipBounds cb;
  if (clip_prepare(ctx, &cb)) return ctx->status;
  const MscTensor *x = ctx->in[0];
  MscTensor *y = ctx->out[0];
  int64_t n = msc_tensor_numel(x);
  if (n <= 0) return MSC_OK;
  double lo = cb.has_lo ? cb.lo : -INFINITY, hi = cb.has_hi ? cb.hi : INFINITY;
  switch (x->dtype) {
    case MSC_DTYPE_FLOAT32: CLIP_LOOP(float, (float)lo, (float)hi); break;
    case MSC_DTYPE_DOUBLE: CLIP_LOOP(double, lo, hi); break;
    case MSC_DTYPE_FLOAT16: {
      const uint16_t *xs = x->data;
      uint16_t *ys = y->data;
      float flo = (float)lo, fhi = (float)hi;
      for (int64_t i = 0; i < n; i++) {
        float v = msc_f16_to_f32(xs[i]);
        v = v < flo ? flo : v;
        ys[i] = msc_f32_to_f16(v > fhi ? fhi : v);
      }
      break;
    }
    case MSC_DTYPE_INT8: CLIP_LOOP(int8_t, (int8_t)clamp_i64(lo, INT8_MIN, INT8_MAX), (int8_t)clamp_i64(hi, INT8_MIN, INT8_MAX)); break;
    case MSC_DTYPE_UINT8: CLIP_LOOP(uint8_t, (uint8_t)clamp_i64(lo, 0, UINT8_MAX), (uint8_t)clamp_i64(hi, 0, UINT8_MAX)); break;
    case MSC_DTYPE_INT32: CLIP_LOOP(int32_t, (int32_t)clamp_i64(lo, INT32_MIN, INT32_MAX), (int32_t)clamp_i64(hi, INT32_MIN, INT32_MAX)); break;
    case MSC_DTYPE_INT64: {
      /* exact int64 bounds (double would round beyond 2^53) */
      int64_t ilo = cb.has_lo ? msc_tensor_get_i64(ctx->in[1], 0) : INT64_MIN;
      int64_t ihi = cb.has_hi ? msc_tensor_get_i64(ctx->in[2], 0) : INT64_MAX;
      CLIP_LOOP(int64_t, ilo, ihi);
      break;
    }
    default: return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input 0: dtype %s not supported", msc_dtype_name(x->dtype));
  }
  return MSC_OK;
}

/* ---- definitions ------------------------------------------------------------ */

#define UNARY_OP(var, name, since, doc_) \
  static const MscOpDef var = {sizeof(MscOpDef), "", name, since, 0, 1, 1, 1, 1, 0, unary_infer, unary_run, doc_};

UNARY_OP(def_relu, "Relu", 1, "max(x, 0); integer types from opset 14")
UNARY_OP(def_leaky_relu, "LeakyRelu", 1, "x < 0 ? alpha * x : x (alpha 0.01)")
UNARY_OP(def_sigmoid, "Sigmoid", 1, "1 / (1 + exp(-x))")
UNARY_OP(def_hard_sigmoid, "HardSigmoid", 1, "clamp(alpha * x + beta, 0, 1) (alpha 0.2, beta 0.5)")
UNARY_OP(def_hard_swish, "HardSwish", 14, "x * clamp(x / 6 + 0.5, 0, 1)")
UNARY_OP(def_tanh, "Tanh", 1, "tanh(x)")
UNARY_OP(def_elu, "Elu", 1, "x < 0 ? alpha * (exp(x) - 1) : x (alpha 1)")
UNARY_OP(def_selu, "Selu", 1, "gamma * (x > 0 ? x : alpha * (exp(x) - 1))")
UNARY_OP(def_celu, "Celu", 12, "max(0, x) + min(0, alpha * (exp(x / alpha) - 1))")
UNARY_OP(def_thresholded_relu, "ThresholdedRelu", 10, "x > alpha ? x : 0 (alpha 1)")
UNARY_OP(def_softplus, "Softplus", 1, "log(1 + exp(x))")
UNARY_OP(def_softsign, "Softsign", 1, "x / (1 + |x|)")
UNARY_OP(def_mish, "Mish", 18, "x * tanh(softplus(x))")
UNARY_OP(def_exp, "Exp", 1, "exp(x)")
UNARY_OP(def_log, "Log", 1, "natural logarithm")
UNARY_OP(def_sqrt, "Sqrt", 1, "square root")
UNARY_OP(def_abs, "Abs", 1, "absolute value (integers wrap at the minimum)")
UNARY_OP(def_neg, "Neg", 1, "-x")
UNARY_OP(def_sign, "Sign", 9, "-1, 0 or 1")
UNARY_OP(def_erf, "Erf", 9, "error function")
UNARY_OP(def_reciprocal, "Reciprocal", 1, "1 / x")
UNARY_OP(def_floor, "Floor", 1, "floor(x)")
UNARY_OP(def_ceil, "Ceil", 1, "ceil(x)")
UNARY_OP(def_round, "Round", 11, "round half to even")
UNARY_OP(def_sin, "Sin", 7, "sin(x)")
UNARY_OP(def_cos, "Cos", 7, "cos(x)")
UNARY_OP(def_shrink, "Shrink", 9, "x < -lambd ? x + bias : x > lambd ? x - bias : 0")
UNARY_OP(def_not, "Not", 1, "logical not of a bool tensor")

static const MscOpDef def_clip = {sizeof(MscOpDef), "", "Clip", 1, 0, 1, 3, 1, 1, 0, clip_infer, clip_run,
                                  "clamp to [min, max]: attributes before opset 11, optional inputs from 11"};

const MscOpDef *const msc_ops_unary[] = {
    &def_relu,  &def_leaky_relu, &def_sigmoid,    &def_hard_sigmoid, &def_hard_swish, &def_tanh,  &def_elu,
    &def_selu,  &def_celu,       &def_thresholded_relu, &def_softplus, &def_softsign, &def_mish, &def_exp,
    &def_log,   &def_sqrt,       &def_abs,        &def_neg,          &def_sign,       &def_erf,   &def_reciprocal,
    &def_floor, &def_ceil,       &def_round,      &def_sin,          &def_cos,        &def_shrink, &def_not,
    &def_clip,  NULL,
};
