/* ops/binary.c: elementwise ops with numpy broadcasting.
 *
 * Add Sub Mul Div Pow Mod PRelu, variadic Sum Max Min Mean, comparisons
 * (Equal Greater Less GreaterOrEqual LessOrEqual), logic (And Or Xor) and
 * Where. One definition per op serves every opset; the opset-dependent parts
 * are the pre-7 `broadcast`/`axis` form (B aligned onto A) and PRelu's pre-7
 * per-channel slope.
 *
 * Execution: operand shapes are padded to the output rank, size-1 output dims
 * dropped and adjacent dims merged when every operand is contiguous across
 * them, so the inner kernel runs over the longest possible run with operand
 * strides 0 (broadcast) or 1. Same-shape and bias/scalar cases thus become
 * one or a few long contiguous loops. float16 is computed in float32,
 * double in double (never through float: its values need the precision).
 */
#include <math.h>
#include <stdlib.h>
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

typedef enum {
  OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_MOD, OP_FMOD, OP_PRELU, OP_MAX, OP_MIN,
  OP_SUM, OP_MEAN, OP_EQ, OP_GT, OP_LT, OP_GE, OP_LE, OP_AND, OP_OR, OP_XOR, OP_WHERE,
  OP_COUNT
} OpId;

typedef enum { OPK_ARITH, OPK_VARIADIC, OPK_CMP, OPK_LOGIC, OPK_WHERE } OpKind;

static const struct {
  const char *name;
  OpId id;
  OpKind kind;
} op_names[] = {
    {"Add", OP_ADD, OPK_ARITH},        {"Sub", OP_SUB, OPK_ARITH},
    {"Mul", OP_MUL, OPK_ARITH},        {"Div", OP_DIV, OPK_ARITH},
    {"Pow", OP_POW, OPK_ARITH},        {"Mod", OP_MOD, OPK_ARITH},
    {"PRelu", OP_PRELU, OPK_ARITH},    {"Max", OP_MAX, OPK_VARIADIC},
    {"Min", OP_MIN, OPK_VARIADIC},     {"Sum", OP_SUM, OPK_VARIADIC},
    {"Mean", OP_MEAN, OPK_VARIADIC},   {"Equal", OP_EQ, OPK_CMP},
    {"Greater", OP_GT, OPK_CMP},       {"Less", OP_LT, OPK_CMP},
    {"GreaterOrEqual", OP_GE, OPK_CMP}, {"LessOrEqual", OP_LE, OPK_CMP},
    {"And", OP_AND, OPK_LOGIC},        {"Or", OP_OR, OPK_LOGIC},
    {"Xor", OP_XOR, OPK_LOGIC},        {"Where", OP_WHERE, OPK_WHERE},
};

static int op_lookup(const char *op_type, OpId *id, OpKind *kind) {
  for (size_t i = 0; i < G_N_ELEMENTS(op_names); i++)
    if (strcmp(op_names[i].name, op_type) == 0) {
      *id = op_names[i].id;
      *kind = op_names[i].kind;
      return 1;
    }
  return 0;
}

/* ---- kernel types -------------------------------------------------------- */

/* Compute types; float16 is widened to K_F32 before a kernel sees it. */
typedef enum { K_F32, K_F64, K_I8, K_U8, K_I32, K_I64, K_BOOL, K_N } KType;

static int ktype_of(MscDType d) {
  switch (d) {
    case MSC_DTYPE_FLOAT32: case MSC_DTYPE_FLOAT16: return K_F32;
    case MSC_DTYPE_DOUBLE: return K_F64;
    case MSC_DTYPE_INT8: return K_I8;
    case MSC_DTYPE_UINT8: return K_U8;
    case MSC_DTYPE_INT32: return K_I32;
    case MSC_DTYPE_INT64: return K_I64;
    case MSC_DTYPE_BOOL: return K_BOOL;
    default: return -1;
  }
}

/* out[i] = f(a[i*sa], b[i*sb]) for i < n; sa, sb in {0, 1} (any value works). */
typedef void (*BinFn)(void *o, const void *a, int64_t sa, const void *b, int64_t sb, int64_t n);

/* The four stride cases get their own loops so the compiler vectorizes the
 * contiguous and the scalar-broadcast ones. No restrict: the variadic ops
 * accumulate in place (o == a). */
#define DEF_BIN(fname, TA, TB, TO, EXPR)                                               \
  static void fname(void *o_, const void *a_, int64_t sa, const void *b_, int64_t sb, \
                    int64_t n) {                                                       \
    TO *o = o_;                                                                        \
    const TA *a = a_;                                                                  \
    const TB *b = b_;                                                                  \
    if (sa == 1 && sb == 1) {                                                          \
      for (int64_t i = 0; i < n; i++) {                                                \
        TA x = a[i];                                                                   \
        TB y = b[i];                                                                   \
        o[i] = (TO)(EXPR);                                                             \
      }                                                                                \
    } else if (sa == 0 && sb == 1) {                                                   \
      TA x = a[0];                                                                     \
      for (int64_t i = 0; i < n; i++) {                                                \
        TB y = b[i];                                                                   \
        o[i] = (TO)(EXPR);                                                             \
      }                                                                                \
    } else if (sa == 1 && sb == 0) {                                                   \
      TB y = b[0];                                                                     \
      for (int64_t i = 0; i < n; i++) {                                                \
        TA x = a[i];                                                                   \
        o[i] = (TO)(EXPR);                                                             \
      }                                                                                \
    } else {                                                                           \
      for (int64_t i = 0; i < n; i++) {                                                \
        TA x = a[i * sa];                                                              \
        TB y = b[i * sb];                                                              \
        o[i] = (TO)(EXPR);                                                             \
      }                                                                                \
    }                                                                                  \
  }

/* Integer add/sub/mul wrap like numpy: compute in the unsigned type. */
#define DEF_INT_WRAP(op, OPC)                                                          \
  DEF_BIN(op##_i8, int8_t, int8_t, int8_t, (int8_t)(uint8_t)((uint8_t)x OPC(uint8_t) y)) \
  DEF_BIN(op##_u8, uint8_t, uint8_t, uint8_t, (uint8_t)(x OPC y))                      \
  DEF_BIN(op##_i32, int32_t, int32_t, int32_t, (int32_t)((uint32_t)x OPC(uint32_t) y))  \
  DEF_BIN(op##_i64, int64_t, int64_t, int64_t, (int64_t)((uint64_t)x OPC(uint64_t) y))

#define DEF_INT_PLAIN(op, EXPR)                          \
  DEF_BIN(op##_i8, int8_t, int8_t, int8_t, EXPR)         \
  DEF_BIN(op##_u8, uint8_t, uint8_t, uint8_t, EXPR)      \
  DEF_BIN(op##_i32, int32_t, int32_t, int32_t, EXPR)     \
  DEF_BIN(op##_i64, int64_t, int64_t, int64_t, EXPR)

#define DEF_CMP(op, EXPR)                                \
  DEF_BIN(op##_f32, float, float, uint8_t, EXPR)         \
  DEF_BIN(op##_f64, double, double, uint8_t, EXPR)       \
  DEF_BIN(op##_i8, int8_t, int8_t, uint8_t, EXPR)        \
  DEF_BIN(op##_u8, uint8_t, uint8_t, uint8_t, EXPR)      \
  DEF_BIN(op##_i32, int32_t, int32_t, uint8_t, EXPR)     \
  DEF_BIN(op##_i64, int64_t, int64_t, uint8_t, EXPR)     \
  DEF_BIN(op##_bool, uint8_t, uint8_t, uint8_t, EXPR)

DEF_BIN(add_f32, float, float, float, x + y)
DEF_BIN(sub_f32, float, float, float, x - y)
DEF_BIN(mul_f32, float, float, float, x * y)
DEF_BIN(div_f32, float, float, float, x / y)
DEF_BIN(pow_f32, float, float, float, powf(x, y))
DEF_BIN(fmod_f32, float, float, float, fmodf(x, y))
DEF_BIN(prelu_f32, float, float, float, x < 0 ? x * y : x)
/* NaN propagates, as numpy's maximum/minimum. */
DEF_BIN(max_f32, float, float, float, (x > y || x != x) ? x : y)
DEF_BIN(min_f32, float, float, float, (x < y || x != x) ? x : y)
DEF_BIN(add_f64, double, double, double, x + y)
DEF_BIN(sub_f64, double, double, double, x - y)
DEF_BIN(mul_f64, double, double, double, x * y)
DEF_BIN(div_f64, double, double, double, x / y)
DEF_BIN(fmod_f64, double, double, double, fmod(x, y))
DEF_BIN(prelu_f64, double, double, double, x < 0 ? x * y : x)
DEF_BIN(max_f64, double, double, double, (x > y || x != x) ? x : y)
DEF_BIN(min_f64, double, double, double, (x < y || x != x) ? x : y)
DEF_INT_WRAP(add, +)
DEF_INT_WRAP(sub, -)
DEF_INT_WRAP(mul, *)
/* Integer Div truncates toward zero (ONNX reference: divide, then astype).
 * Zero divisors are refused before the kernel runs; x / -1 is negation so
 * INT_MIN / -1 wraps instead of trapping. */
DEF_BIN(div_i8, int8_t, int8_t, int8_t, (int8_t)(x / y))
DEF_BIN(div_u8, uint8_t, uint8_t, uint8_t, x / y)
DEF_BIN(div_i32, int32_t, int32_t, int32_t, y == -1 ? (int32_t)(0u - (uint32_t)x) : x / y)
DEF_BIN(div_i64, int64_t, int64_t, int64_t, y == -1 ? (int64_t)(0u - (uint64_t)x) : x / y)
/* Mod with fmod=0 takes the divisor's sign (numpy/Python %), fmod=1 the
 * dividend's (C %). */
DEF_BIN(mod_i8, int8_t, int8_t, int8_t, (x % y != 0 && ((x % y < 0) != (y < 0))) ? x % y + y : x % y)
DEF_BIN(mod_u8, uint8_t, uint8_t, uint8_t, x % y)
DEF_BIN(mod_i32, int32_t, int32_t, int32_t,
        y == -1 ? 0 : ((x % y != 0 && ((x % y < 0) != (y < 0))) ? x % y + y : x % y))
DEF_BIN(mod_i64, int64_t, int64_t, int64_t,
        y == -1 ? 0 : ((x % y != 0 && ((x % y < 0) != (y < 0))) ? x % y + y : x % y))
DEF_BIN(fmod_i8, int8_t, int8_t, int8_t, x % y)
DEF_BIN(fmod_u8, uint8_t, uint8_t, uint8_t, x % y)
DEF_BIN(fmod_i32, int32_t, int32_t, int32_t, y == -1 ? 0 : x % y)
DEF_BIN(fmod_i64, int64_t, int64_t, int64_t, y == -1 ? 0 : x % y)
DEF_INT_PLAIN(max, x > y ? x : y)
DEF_INT_PLAIN(min, x < y ? x : y)
DEF_BIN(prelu_i32, int32_t, int32_t, int32_t, x < 0 ? (int32_t)((uint32_t)x * (uint32_t)y) : x)
DEF_BIN(prelu_i64, int64_t, int64_t, int64_t, x < 0 ? (int64_t)((uint64_t)x * (uint64_t)y) : x)
DEF_CMP(eq, x == y)
DEF_CMP(gt, x > y)
DEF_CMP(lt, x < y)
DEF_CMP(ge, x >= y)
DEF_CMP(le, x <= y)
DEF_BIN(and_bool, uint8_t, uint8_t, uint8_t, (x != 0) & (y != 0))
DEF_BIN(or_bool, uint8_t, uint8_t, uint8_t, (x != 0) | (y != 0))
DEF_BIN(xor_bool, uint8_t, uint8_t, uint8_t, (x != 0) ^ (y != 0))

static int64_t ipow64(int64_t x, int64_t e) {
  if (e < 0) return x == 1 ? 1 : x == -1 ? ((e & 1) ? -1 : 1) : 0; /* trunc(x^e) */
  uint64_t r = 1, b = (uint64_t)x;
  while (e) {
    if (e & 1) r *= b;
    b *= b;
    e >>= 1;
  }
  return (int64_t)r;
}
DEF_BIN(pow_i64, int64_t, int64_t, int64_t, ipow64(x, y))
DEF_BIN(pow_f64, double, double, double, pow(x, y))

#define ARITH_ROW(op) \
  {[K_F32] = op##_f32, [K_F64] = op##_f64, [K_I8] = op##_i8, [K_U8] = op##_u8, [K_I32] = op##_i32, [K_I64] = op##_i64}
#define CMP_ROW(op)                                                                                              \
  {[K_F32] = op##_f32, [K_F64] = op##_f64, [K_I8] = op##_i8, [K_U8] = op##_u8, [K_I32] = op##_i32, [K_I64] = op##_i64, \
   [K_BOOL] = op##_bool}

/* Kernels by op and compute type; NULL = dtype not allowed for the op.
 * Pow is dispatched separately (mixed dtypes). Sum/Mean reuse Add. */
static const BinFn kernels[OP_COUNT][K_N] = {
    [OP_ADD] = ARITH_ROW(add),
    [OP_SUB] = ARITH_ROW(sub),
    [OP_MUL] = ARITH_ROW(mul),
    [OP_DIV] = ARITH_ROW(div),
    [OP_MOD] = {[K_I8] = mod_i8, [K_U8] = mod_u8, [K_I32] = mod_i32, [K_I64] = mod_i64},
    [OP_FMOD] = ARITH_ROW(fmod),
    [OP_PRELU] = {[K_F32] = prelu_f32, [K_F64] = prelu_f64, [K_I32] = prelu_i32, [K_I64] = prelu_i64},
    [OP_MAX] = ARITH_ROW(max),
    [OP_MIN] = ARITH_ROW(min),
    [OP_SUM] = ARITH_ROW(add),
    [OP_MEAN] = {[K_F32] = add_f32, [K_F64] = add_f64},
    [OP_EQ] = CMP_ROW(eq),
    [OP_GT] = CMP_ROW(gt),
    [OP_LT] = CMP_ROW(lt),
    [OP_GE] = CMP_ROW(ge),
    [OP_LE] = CMP_ROW(le),
    [OP_AND] = {[K_BOOL] = and_bool},
    [OP_OR] = {[K_BOOL] = or_bool},
    [OP_XOR] = {[K_BOOL] = xor_bool},
};

/* ---- broadcast plan ------------------------------------------------------- */

#define MAX_OPS 3

/* The output iteration space after dropping size-1 dims and merging dims
 * that are contiguous for every operand; st[k][d] is operand k's stride (in
 * elements) along dim d, 0 where it is broadcast. rank 0 = one element. */
typedef struct {
  int32_t rank;
  int64_t dims[MSC_MAX_RANK];
  int64_t st[MAX_OPS][MSC_MAX_RANK];
  int nops;
} Plan;

/* Operand shapes must already be broadcast-compatible with the output
 * (checked in infer): each operand dim is 1 or the output dim. */
static void plan_init(Plan *p, int32_t ro, const int64_t *dout, int nops, const int32_t *ranks,
                      const int64_t *const *dims) {
  int64_t st[MAX_OPS][MSC_MAX_RANK];
  p->nops = nops;
  for (int k = 0; k < nops; k++) {
    int64_t s = 1;
    for (int32_t d = ro - 1; d >= 0; d--) {
      int32_t id = d - (ro - ranks[k]);
      int64_t dim = id >= 0 ? dims[k][id] : 1;
      st[k][d] = dim == 1 ? 0 : s;
      s *= dim;
    }
  }
  p->rank = 0;
  for (int32_t d = 0; d < ro; d++) {
    if (dout[d] == 1) continue;
    int merge = p->rank > 0;
    for (int k = 0; k < nops && merge; k++)
      if (p->st[k][p->rank - 1] != st[k][d] * dout[d]) merge = 0;
    if (merge) {
      p->dims[p->rank - 1] *= dout[d];
      for (int k = 0; k < nops; k++) p->st[k][p->rank - 1] = st[k][d];
    } else {
      p->dims[p->rank] = dout[d];
      for (int k = 0; k < nops; k++) p->st[k][p->rank] = st[k][d];
      p->rank++;
    }
  }
}

/* Runs fn over the plan: out contiguous with element size eo, operands a, b
 * with element sizes ea, eb. */
static void plan_run2(const Plan *p, void *out, size_t eo, const void *a, size_t ea, const void *b, size_t eb,
                      BinFn fn) {
  if (p->rank == 0) {
    fn(out, a, 0, b, 0, 1);
    return;
  }
  int32_t r = p->rank;
  int64_t n = p->dims[r - 1], sa = p->st[0][r - 1], sb = p->st[1][r - 1];
  int64_t outer = 1;
  for (int32_t d = 0; d < r - 1; d++) outer *= p->dims[d];
  int64_t idx[MSC_MAX_RANK] = {0}, offa = 0, offb = 0;
  char *o = out;
  for (int64_t it = 0; it < outer; it++) {
    fn(o + (size_t)(it * n) * eo, (const char *)a + (size_t)offa * ea, sa, (const char *)b + (size_t)offb * eb, sb, n);
    for (int32_t d = r - 2; d >= 0; d--) {
      offa += p->st[0][d];
      offb += p->st[1][d];
      if (++idx[d] < p->dims[d]) break;
      offa -= p->st[0][d] * p->dims[d];
      offb -= p->st[1][d] * p->dims[d];
      idx[d] = 0;
    }
  }
}

/* ---- dtype conversion (float16 widening, Pow's mixed types) --------------- */

static double load_f64(const void *p, MscDType dt, int64_t i) {
  switch (dt) {
    case MSC_DTYPE_FLOAT32: return ((const float *)p)[i];
    case MSC_DTYPE_FLOAT16: return msc_f16_to_f32(((const uint16_t *)p)[i]);
    case MSC_DTYPE_DOUBLE: return ((const double *)p)[i];
    case MSC_DTYPE_INT8: return ((const int8_t *)p)[i];
    case MSC_DTYPE_UINT8: case MSC_DTYPE_BOOL: return ((const uint8_t *)p)[i];
    case MSC_DTYPE_INT32: return ((const int32_t *)p)[i];
    case MSC_DTYPE_INT64: return (double)((const int64_t *)p)[i];
    default: return 0;
  }
}

static int64_t load_i64(const void *p, MscDType dt, int64_t i) {
  switch (dt) {
    case MSC_DTYPE_INT8: return ((const int8_t *)p)[i];
    case MSC_DTYPE_UINT8: case MSC_DTYPE_BOOL: return ((const uint8_t *)p)[i];
    case MSC_DTYPE_INT32: return ((const int32_t *)p)[i];
    case MSC_DTYPE_INT64: return ((const int64_t *)p)[i];
    default: {
      double v = load_f64(p, dt, i);
      if (v != v) return 0;
      if (v >= 9.2233720368547758e18) return INT64_MAX;
      if (v <= -9.2233720368547758e18) return INT64_MIN;
      return (int64_t)v; /* truncation toward zero, like numpy astype */
    }
  }
}

/* (transfer full) g_malloc'd copy of @n elements converted to float32,
 * float64 or int64 (@to). */
static void *convert_alloc(const void *src, MscDType from, int64_t n, MscDType to) {
  size_t es = to == MSC_DTYPE_FLOAT32 ? 4 : 8;
  void *dst = g_malloc((size_t)(n > 0 ? n : 1) * es);
  for (int64_t i = 0; i < n; i++) {
    if (to == MSC_DTYPE_FLOAT32) ((float *)dst)[i] = (float)load_f64(src, from, i);
    else if (to == MSC_DTYPE_DOUBLE) ((double *)dst)[i] = load_f64(src, from, i);
    else ((int64_t *)dst)[i] = load_i64(src, from, i);
  }
  return dst;
}

/* Stores @n computed elements (float32, float64 or int64 @from) into @dst of
 * dtype @to: floats narrowed, float->int truncated, int->int wrapped. */
static void convert_store(void *dst, MscDType to, const void *src, MscDType from, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    int64_t iv;
    double fv;
    if (from == MSC_DTYPE_INT64) {
      iv = ((const int64_t *)src)[i];
      fv = (double)iv;
    } else {
      fv = from == MSC_DTYPE_FLOAT32 ? ((const float *)src)[i] : ((const double *)src)[i];
      iv = fv != fv ? 0 : fv >= 9.2233720368547758e18 ? INT64_MAX : fv <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)fv;
    }
    switch (to) {
      case MSC_DTYPE_FLOAT32: ((float *)dst)[i] = (float)fv; break;
      case MSC_DTYPE_FLOAT16: ((uint16_t *)dst)[i] = msc_f32_to_f16((float)fv); break;
      case MSC_DTYPE_DOUBLE: ((double *)dst)[i] = fv; break;
      case MSC_DTYPE_INT8: ((int8_t *)dst)[i] = (int8_t)(uint8_t)iv; break;
      case MSC_DTYPE_UINT8: ((uint8_t *)dst)[i] = (uint8_t)iv; break;
      case MSC_DTYPE_INT32: ((int32_t *)dst)[i] = (int32_t)(uint32_t)iv; break;
      case MSC_DTYPE_INT64: ((int64_t *)dst)[i] = iv; break;
      case MSC_DTYPE_BOOL: ((uint8_t *)dst)[i] = fv != 0; break;
      default: break;
    }
  }
}

/* ---- shapes --------------------------------------------------------------- */

static const char *fmt_shape(const MscTensor *t, char *buf, size_t size) {
  return msc_shape_format(t->rank, t->dims, buf, size);
}

/* Effective operand shapes (after the pre-7 broadcast/axis and PRelu
 * channel forms) and the output shape. */
typedef struct {
  uint32_t n;                 /* operands present */
  const MscTensor *t[MAX_OPS]; /* Where: cond, X, Y; variadic ops use the fold below */
  int32_t rank[MAX_OPS];
  int64_t dims[MAX_OPS][MSC_MAX_RANK];
  int32_t out_rank;
  int64_t out_dims[MSC_MAX_RANK];
} Shapes;

/* dim compatibility for a unidirectional broadcast of b onto a (-1 unknown). */
static int dim_fits(int64_t a, int64_t b) {
  return b == 1 || a == b || a == -1 || b == -1;
}

/* B placed onto A's rank at @axis (or suffix aligned), each dim 1 or equal:
 * the opset<7 `broadcast=1` rule. Writes B's padded shape. */
static MscStatus old_broadcast(MscOpCtx *ctx, const MscTensor *a, const MscTensor *b, int has_axis, int64_t axis,
                               const char *what, int64_t *bdims) {
  char sa[200], sb[200];
  if (b->rank > a->rank)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "%s: input B %s has a higher rank than input A %s", what,
                       fmt_shape(b, sb, sizeof sb), fmt_shape(a, sa, sizeof sa));
  int64_t start = a->rank - b->rank;
  if (has_axis) {
    int64_t ax = axis < 0 ? axis + a->rank : axis;
    if (ax < 0 || ax + b->rank > a->rank)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "%s: attribute 'axis' %" G_GINT64_FORMAT " does not place B %s inside A %s", what, axis,
                         fmt_shape(b, sb, sizeof sb), fmt_shape(a, sa, sizeof sa));
    start = ax;
  }
  for (int32_t d = 0; d < a->rank; d++) bdims[d] = 1;
  for (int32_t d = 0; d < b->rank; d++) {
    bdims[start + d] = b->dims[d];
    if (!dim_fits(a->dims[start + d], b->dims[d]))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "%s: input B %s cannot broadcast onto input A %s at axis %" G_GINT64_FORMAT, what,
                         fmt_shape(b, sb, sizeof sb), fmt_shape(a, sa, sizeof sa), start);
  }
  return MSC_OK;
}

static void shapes_set(Shapes *s, int k, const MscTensor *t, int32_t rank, const int64_t *dims) {
  s->t[k] = t;
  s->rank[k] = rank;
  if (rank > 0) memcpy(s->dims[k], dims, sizeof(int64_t) * (size_t)rank);
}

/* Numpy broadcast of all operands into s->out_*. */
static MscStatus shapes_broadcast(MscOpCtx *ctx, Shapes *s) {
  s->out_rank = s->rank[0];
  memcpy(s->out_dims, s->dims[0], sizeof s->out_dims);
  for (uint32_t k = 1; k < s->n; k++) {
    int32_t r;
    int64_t d[MSC_MAX_RANK];
    if (msc_op_broadcast(ctx, s->out_rank, s->out_dims, s->rank[k], s->dims[k], &r, d)) return ctx->status;
    s->out_rank = r;
    memcpy(s->out_dims, d, sizeof d);
  }
  return MSC_OK;
}

/* Two-operand shapes for Add..Xor and PRelu, with the old forms. */
static MscStatus shapes_binary(MscOpCtx *ctx, OpId op, Shapes *s) {
  const MscTensor *a = ctx->in[0], *b = ctx->in[1];
  char sa[200], sb[200];
  int64_t opset = ctx->node->opset;
  memset(s, 0, sizeof *s);
  s->n = 2;
  shapes_set(s, 0, a, a->rank, a->dims);
  if (op == OP_PRELU) {
    int64_t bd[MSC_MAX_RANK];
    int64_t bn = msc_shape_numel(b->rank, b->dims);
    if (opset < 7 && bn == 1) { /* PRelu-1/6: a size-1 slope is shared by all channels */
      shapes_set(s, 1, b, 0, bd);
    } else if (opset < 7 && b->rank == 1 && a->rank >= 2 && b->dims[0] == a->dims[1]) {
      /* PRelu-1/6 (PyTorch exports): one slope per channel, channels at axis 1 */
      for (int32_t d = 0; d < a->rank; d++) bd[d] = d == 1 ? b->dims[0] : 1;
      shapes_set(s, 1, b, a->rank, bd);
    } else {
      shapes_set(s, 1, b, b->rank, b->dims);
    }
    if (shapes_broadcast(ctx, s)) return ctx->status;
    /* unidirectional: the slope broadcasts to X, the output is X's shape */
    int ok = s->out_rank == a->rank;
    for (int32_t d = 0; ok && d < a->rank; d++)
      if (a->dims[d] >= 0 && s->out_dims[d] != a->dims[d]) ok = 0;
    if (!ok)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "slope %s does not broadcast to input X %s",
                         fmt_shape(b, sb, sizeof sb), fmt_shape(a, sa, sizeof sa));
    s->out_rank = a->rank;
    memcpy(s->out_dims, a->dims, sizeof s->out_dims);
    return MSC_OK;
  }
  if (opset < 7 && op != OP_MOD && op != OP_GE && op != OP_LE) {
    /* Pre-7 Add/Sub/Mul/Div/Pow/And/Or/Xor/Equal/Greater/Less. */
    int64_t bcast;
    const MscAttr *axis_attr = msc_node_find_attr(ctx->node, "axis");
    int64_t axis = 0;
    if (msc_op_attr_int(ctx, "broadcast", 0, &bcast)) return ctx->status;
    if (msc_op_attr_int(ctx, "axis", 0, &axis)) return ctx->status;
    if (bcast != 0 && bcast != 1)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'broadcast': %" G_GINT64_FORMAT " not in 0|1", bcast);
    if (bcast == 0) {
      int same = a->rank == b->rank;
      for (int32_t d = 0; same && d < a->rank; d++)
        if (a->dims[d] != b->dims[d] && a->dims[d] != -1 && b->dims[d] != -1) same = 0;
      if (!same)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                           "shapes %s and %s differ and attribute 'broadcast' is 0 (opset %" G_GINT64_FORMAT
                           " broadcasts only with broadcast=1)",
                           fmt_shape(a, sa, sizeof sa), fmt_shape(b, sb, sizeof sb), opset);
      shapes_set(s, 1, b, b->rank, b->dims);
    } else {
      int64_t bd[MSC_MAX_RANK];
      if (old_broadcast(ctx, a, b, axis_attr != NULL, axis, "broadcast=1", bd)) return ctx->status;
      shapes_set(s, 1, b, a->rank, bd);
    }
    s->out_rank = a->rank;
    memcpy(s->out_dims, a->dims, sizeof s->out_dims);
    for (int32_t d = 0; d < a->rank; d++) /* a -1 in A may be resolved by B */
      if (s->out_dims[d] == -1 && s->dims[1][d] > 1) s->out_dims[d] = s->dims[1][d];
    return MSC_OK;
  }
  shapes_set(s, 1, b, b->rank, b->dims);
  return shapes_broadcast(ctx, s);
}

/* ---- dtype rules ---------------------------------------------------------- */

static MscStatus dtype_unsupported(MscOpCtx *ctx, uint32_t i, MscDType dt) {
  return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input %u: dtype %s not supported", i, msc_dtype_name(dt));
}

static int is_numeric(MscDType dt) {
  int k = ktype_of(dt);
  return k >= 0 && k != K_BOOL;
}

/* Checks input dtypes and returns the output dtype. */
static MscStatus check_dtypes(MscOpCtx *ctx, OpId op, OpKind kind, MscDType *out_dt) {
  MscDType d0 = ctx->in[0]->dtype;
  switch (kind) {
    case OPK_WHERE: {
      if (ctx->in[0]->dtype != MSC_DTYPE_BOOL)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 0 (condition): dtype %s, expected bool",
                           msc_dtype_name(ctx->in[0]->dtype));
      MscDType dx = ctx->in[1]->dtype;
      if (ktype_of(dx) < 0) return dtype_unsupported(ctx, 1, dx);
      if (msc_op_check_same_dtype(ctx, 1, 2)) return ctx->status;
      *out_dt = dx;
      return MSC_OK;
    }
    case OPK_LOGIC:
      for (uint32_t i = 0; i < 2; i++)
        if (ctx->in[i]->dtype != MSC_DTYPE_BOOL)
          return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u: dtype %s, expected bool", i,
                             msc_dtype_name(ctx->in[i]->dtype));
      *out_dt = MSC_DTYPE_BOOL;
      return MSC_OK;
    case OPK_CMP:
      if (ktype_of(d0) < 0 || (d0 == MSC_DTYPE_BOOL && op != OP_EQ)) return dtype_unsupported(ctx, 0, d0);
      if (msc_op_check_same_dtype(ctx, 0, 1)) return ctx->status;
      *out_dt = MSC_DTYPE_BOOL;
      return MSC_OK;
    case OPK_VARIADIC:
      for (uint32_t i = 0; i < ctx->n_in; i++) {
        if (!ctx->in[i]) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u: missing", i);
        MscDType di = ctx->in[i]->dtype;
        if (!is_numeric(di) || (op == OP_MEAN && !msc_dtype_is_float(di))) return dtype_unsupported(ctx, i, di);
        if (msc_op_check_same_dtype(ctx, 0, i)) return ctx->status;
      }
      *out_dt = d0;
      return MSC_OK;
    case OPK_ARITH:
      break;
  }
  if (!is_numeric(d0)) return dtype_unsupported(ctx, 0, d0);
  if (op == OP_POW) {
    MscDType d1 = ctx->in[1]->dtype;
    if (!is_numeric(d1)) return dtype_unsupported(ctx, 1, d1);
    if (d0 == MSC_DTYPE_INT8 || d0 == MSC_DTYPE_UINT8) return dtype_unsupported(ctx, 0, d0);
    if (ctx->node->opset < 12 && d1 != d0)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "inputs 0 and 1: dtypes differ (%s vs %s); mixed Pow types need opset 12",
                         msc_dtype_name(d0), msc_dtype_name(d1));
  } else {
    if (msc_op_check_same_dtype(ctx, 0, 1)) return ctx->status;
  }
  if (op == OP_PRELU && kernels[OP_PRELU][ktype_of(d0)] == NULL) return dtype_unsupported(ctx, 0, d0);
  *out_dt = d0;
  return MSC_OK;
}

/* ---- infer ---------------------------------------------------------------- */

static MscStatus resolve_mod(MscOpCtx *ctx, OpId *op) {
  int64_t fm;
  if (msc_op_attr_int(ctx, "fmod", 0, &fm)) return ctx->status;
  if (fm != 0 && fm != 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'fmod': %" G_GINT64_FORMAT " not in 0|1", fm);
  if (fm == 0 && msc_dtype_is_float(ctx->in[0]->dtype))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'fmod': must be 1 for %s inputs",
                       msc_dtype_name(ctx->in[0]->dtype));
  *op = fm ? OP_FMOD : OP_MOD;
  return MSC_OK;
}

static MscStatus prepare(MscOpCtx *ctx, OpId *op, OpKind *kind, Shapes *s, MscDType *out_dt) {
  if (!op_lookup(ctx->node->op_type, op, kind))
    return msc_op_fail(ctx, MSC_ERR_INTERNAL, "op type '%s' not served by ops/binary.c", ctx->node->op_type);
  if (ctx->n_in < 1) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "no inputs");
  for (uint32_t i = 0; i < ctx->n_in; i++)
    if (!ctx->in[i]) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input %u: missing", i);
  uint32_t need = *kind == OPK_VARIADIC ? 1 : *kind == OPK_WHERE ? 3 : 2;
  if (ctx->n_in < need || (*kind != OPK_VARIADIC && ctx->n_in != need))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "%u inputs, expected %u", ctx->n_in, need);
  if (check_dtypes(ctx, *op, *kind, out_dt)) return ctx->status;
  if (*op == OP_MOD && resolve_mod(ctx, op)) return ctx->status;
  if (*kind == OPK_VARIADIC || *kind == OPK_WHERE) {
    memset(s, 0, sizeof *s);
    /* variadic: only the output shape matters here (operands are folded one by one) */
    s->n = 0;
    s->out_rank = ctx->in[0]->rank;
    memcpy(s->out_dims, ctx->in[0]->dims, sizeof s->out_dims);
    for (uint32_t k = 1; k < ctx->n_in; k++) {
      int32_t r;
      int64_t d[MSC_MAX_RANK];
      if (msc_op_broadcast(ctx, s->out_rank, s->out_dims, ctx->in[k]->rank, ctx->in[k]->dims, &r, d))
        return ctx->status;
      s->out_rank = r;
      memcpy(s->out_dims, d, sizeof d);
    }
    if (*kind == OPK_WHERE) {
      s->n = 3;
      for (int k = 0; k < 3; k++) shapes_set(s, k, ctx->in[k], ctx->in[k]->rank, ctx->in[k]->dims);
    }
    return MSC_OK;
  }
  return shapes_binary(ctx, *op, s);
}

static MscStatus elementwise_infer(MscOpCtx *ctx) {
  OpId op;
  OpKind kind;
  Shapes s;
  MscDType out_dt;
  if (prepare(ctx, &op, &kind, &s, &out_dt)) return ctx->status;
  return msc_op_set_output(ctx, 0, out_dt, s.out_rank, s.out_dims);
}

/* ---- run ------------------------------------------------------------------ */

/* Integer Div/Mod: a zero divisor is an error, not a trap. */
static MscStatus check_no_zero(MscOpCtx *ctx, const MscTensor *b) {
  int64_t n = msc_tensor_numel(b);
  for (int64_t i = 0; i < n; i++)
    if (load_i64(b->data, b->dtype, i) == 0)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 1: integer division by zero (element %" G_GINT64_FORMAT ")",
                         i);
  return MSC_OK;
}

/* The data of @t as the compute type (float16 widened, into *tmp). */
static const void *compute_view(const MscTensor *t, void **tmp) {
  if (t->dtype != MSC_DTYPE_FLOAT16) return t->data;
  *tmp = convert_alloc(t->data, t->dtype, msc_tensor_numel(t), MSC_DTYPE_FLOAT32);
  return *tmp;
}

static size_t ksize(MscDType dt) {
  return dt == MSC_DTYPE_FLOAT16 ? 4 : msc_dtype_size(dt);
}

/* out = fn(a, b) with a/b of effective shapes (ra, da)/(rb, db). */
static void run_pair(const MscTensor *out, void *obuf, size_t eo, const void *a, size_t ea, int32_t ra,
                     const int64_t *da, const void *b, size_t eb, int32_t rb, const int64_t *db, BinFn fn) {
  Plan p;
  int32_t ranks[2] = {ra, rb};
  const int64_t *dims[2] = {da, db};
  plan_init(&p, out->rank, out->dims, 2, ranks, dims);
  plan_run2(&p, obuf, eo, a, ea, b, eb, fn);
}

static MscStatus run_pow(MscOpCtx *ctx, const Shapes *s) {
  const MscTensor *a = ctx->in[0], *b = ctx->in[1];
  MscTensor *out = ctx->out[0];
  int64_t n = msc_tensor_numel(out), na = msc_tensor_numel(a), nb = msc_tensor_numel(b);
  if (a->dtype == MSC_DTYPE_FLOAT32 && b->dtype == MSC_DTYPE_FLOAT32) {
    run_pair(out, out->data, 4, a->data, 4, s->rank[0], s->dims[0], b->data, 4, s->rank[1], s->dims[1], pow_f32);
    return MSC_OK;
  }
  if (a->dtype == MSC_DTYPE_DOUBLE && b->dtype == MSC_DTYPE_DOUBLE) {
    run_pair(out, out->data, 8, a->data, 8, s->rank[0], s->dims[0], b->data, 8, s->rank[1], s->dims[1], pow_f64);
    return MSC_OK;
  }
  /* Compute type: float64 when either side is double or an integer base has
   * a float exponent (numpy promotes both to float64); float32 for a
   * float32/float16 base; int64 for integers only. */
  MscDType ct;
  if (a->dtype == MSC_DTYPE_DOUBLE || b->dtype == MSC_DTYPE_DOUBLE) ct = MSC_DTYPE_DOUBLE;
  else if (msc_dtype_is_float(a->dtype)) ct = MSC_DTYPE_FLOAT32;
  else ct = msc_dtype_is_float(b->dtype) ? MSC_DTYPE_DOUBLE : MSC_DTYPE_INT64;
  BinFn fn = ct == MSC_DTYPE_FLOAT32 ? pow_f32 : ct == MSC_DTYPE_DOUBLE ? pow_f64 : pow_i64;
  size_t es = ct == MSC_DTYPE_FLOAT32 ? 4 : 8;
  void *ca = convert_alloc(a->data, a->dtype, na, ct);
  void *cb = convert_alloc(b->data, b->dtype, nb, ct);
  void *co = g_malloc((size_t)(n > 0 ? n : 1) * es);
  run_pair(out, co, es, ca, es, s->rank[0], s->dims[0], cb, es, s->rank[1], s->dims[1], fn);
  convert_store(out->data, out->dtype, co, ct, n);
  g_free(ca);
  g_free(cb);
  g_free(co);
  return MSC_OK;
}

static void where_run(const Plan *p, void *out, size_t es, const uint8_t *c, const void *x, const void *y) {
  int32_t r = p->rank;
  int64_t n = r ? p->dims[r - 1] : 1;
  int64_t sc = r ? p->st[0][r - 1] : 0, sx = r ? p->st[1][r - 1] : 0, sy = r ? p->st[2][r - 1] : 0;
  int64_t outer = 1;
  for (int32_t d = 0; d < r - 1; d++) outer *= p->dims[d];
  int64_t idx[MSC_MAX_RANK] = {0}, oc = 0, ox = 0, oy = 0;
  for (int64_t it = 0; it < outer; it++) {
    char *o = (char *)out + (size_t)(it * n) * es;
    const char *xp = (const char *)x + (size_t)ox * es, *yp = (const char *)y + (size_t)oy * es;
    const uint8_t *cp = c + oc;
    switch (es) {
#define WHERE_LOOP(T)                                                                              \
  for (int64_t i = 0; i < n; i++)                                                                  \
    ((T *)o)[i] = cp[i * sc] ? ((const T *)xp)[i * sx] : ((const T *)yp)[i * sy];                 \
  break;
      case 1: WHERE_LOOP(uint8_t)
      case 2: WHERE_LOOP(uint16_t)
      case 4: WHERE_LOOP(uint32_t)
      default: WHERE_LOOP(uint64_t)
#undef WHERE_LOOP
    }
    for (int32_t d = r - 2; d >= 0; d--) {
      oc += p->st[0][d];
      ox += p->st[1][d];
      oy += p->st[2][d];
      if (++idx[d] < p->dims[d]) break;
      oc -= p->st[0][d] * p->dims[d];
      ox -= p->st[1][d] * p->dims[d];
      oy -= p->st[2][d] * p->dims[d];
      idx[d] = 0;
    }
  }
}

/* Broadcast copy of @in into the output buffer (a variadic op with one
 * input): Where with a scalar true condition. */
static void copy_broadcast(const MscTensor *out, void *obuf, size_t es, const void *in, int32_t rin,
                           const int64_t *din) {
  static const uint8_t one = 1;
  Plan p;
  int32_t ranks[3] = {0, rin, rin};
  const int64_t *dims[3] = {NULL, din, din};
  plan_init(&p, out->rank, out->dims, 3, ranks, dims);
  where_run(&p, obuf, es, &one, in, in);
}

static MscStatus elementwise_run(MscOpCtx *ctx) {
  OpId op;
  OpKind kind;
  Shapes s;
  MscDType out_dt;
  if (prepare(ctx, &op, &kind, &s, &out_dt)) return ctx->status;
  MscTensor *out = ctx->out[0];
  int64_t n = msc_tensor_numel(out);
  if (n <= 0) return MSC_OK;

  if (kind == OPK_WHERE) {
    Plan p;
    int32_t ranks[3] = {s.rank[0], s.rank[1], s.rank[2]};
    const int64_t *dims[3] = {s.dims[0], s.dims[1], s.dims[2]};
    plan_init(&p, out->rank, out->dims, 3, ranks, dims);
    where_run(&p, out->data, msc_dtype_size(out->dtype), ctx->in[0]->data, ctx->in[1]->data, ctx->in[2]->data);
    return MSC_OK;
  }
  if (op == OP_POW) return run_pow(ctx, &s);

  MscDType in_dt = ctx->in[0]->dtype;
  BinFn fn = kernels[op][ktype_of(in_dt)];
  if (!fn) return dtype_unsupported(ctx, 0, in_dt);
  if ((op == OP_DIV || op == OP_MOD || op == OP_FMOD) && msc_dtype_is_integer(in_dt)) {
    for (uint32_t k = 1; k < ctx->n_in; k++)
      if (check_no_zero(ctx, ctx->in[k])) return ctx->status;
  }
  size_t ein = ksize(in_dt), eo = ksize(out_dt);
  void *obuf = out->dtype == MSC_DTYPE_FLOAT16 ? g_malloc((size_t)n * 4) : out->data;

  if (kind == OPK_VARIADIC) {
    void *t0 = NULL;
    const void *d0 = compute_view(ctx->in[0], &t0);
    if (ctx->n_in == 1) {
      copy_broadcast(out, obuf, eo, d0, ctx->in[0]->rank, ctx->in[0]->dims);
    }
    for (uint32_t k = 1; k < ctx->n_in; k++) {
      void *tk = NULL;
      const MscTensor *ik = ctx->in[k];
      const void *dk = compute_view(ik, &tk);
      if (k == 1) /* out = in0 op in1, both broadcast to the final shape */
        run_pair(out, obuf, eo, d0, ein, ctx->in[0]->rank, ctx->in[0]->dims, dk, ein, ik->rank, ik->dims, fn);
      else /* accumulate in place: out = out op in_k */
        run_pair(out, obuf, eo, obuf, eo, out->rank, out->dims, dk, ein, ik->rank, ik->dims, fn);
      g_free(tk);
    }
    g_free(t0);
    if (op == OP_MEAN && in_dt == MSC_DTYPE_DOUBLE) {
      double count = (double)ctx->n_in, *o = obuf;
      for (int64_t i = 0; i < n; i++) o[i] /= count;
    } else if (op == OP_MEAN) {
      float count = (float)ctx->n_in, *o = obuf;
      for (int64_t i = 0; i < n; i++) o[i] /= count; /* divide (not * 1/n) as the reference does */
    }
  } else {
    void *ta = NULL, *tb = NULL;
    const void *da = compute_view(ctx->in[0], &ta), *db = compute_view(ctx->in[1], &tb);
    run_pair(out, obuf, eo, da, ein, s.rank[0], s.dims[0], db, ein, s.rank[1], s.dims[1], fn);
    g_free(ta);
    g_free(tb);
  }
  if (obuf != out->data) {
    convert_store(out->data, MSC_DTYPE_FLOAT16, obuf, MSC_DTYPE_FLOAT32, n);
    g_free(obuf);
  }
  return MSC_OK;
}

/* ---- definitions ---------------------------------------------------------- */

#define ELEM_OP(var, name, since, min_in, max_in, doc_)                                                      \
  static const MscOpDef var = {sizeof(MscOpDef), "", name, since, 0, min_in, max_in, 1, 1, 0, elementwise_infer, \
                               elementwise_run, doc_};

ELEM_OP(def_add, "Add", 1, 2, 2, "A + B, numpy broadcast (opset<7: broadcast/axis attributes)")
ELEM_OP(def_sub, "Sub", 1, 2, 2, "A - B, numpy broadcast (opset<7: broadcast/axis attributes)")
ELEM_OP(def_mul, "Mul", 1, 2, 2, "A * B, numpy broadcast (opset<7: broadcast/axis attributes)")
ELEM_OP(def_div, "Div", 1, 2, 2, "A / B; integers truncate toward zero")
ELEM_OP(def_pow, "Pow", 1, 2, 2, "A ^ B; from opset 12 the exponent may have another numeric dtype")
ELEM_OP(def_mod, "Mod", 10, 2, 2, "remainder; fmod=0 takes the divisor's sign, fmod=1 the dividend's")
ELEM_OP(def_prelu, "PRelu", 1, 2, 2, "x < 0 ? slope * x : x; opset<7 slope per channel (axis 1)")
ELEM_OP(def_max, "Max", 1, 1, 0, "elementwise maximum of all inputs, numpy broadcast")
ELEM_OP(def_min, "Min", 1, 1, 0, "elementwise minimum of all inputs, numpy broadcast")
ELEM_OP(def_sum, "Sum", 1, 1, 0, "elementwise sum of all inputs, numpy broadcast")
ELEM_OP(def_mean, "Mean", 1, 1, 0, "elementwise mean of all inputs, numpy broadcast")
ELEM_OP(def_equal, "Equal", 1, 2, 2, "A == B -> bool")
ELEM_OP(def_greater, "Greater", 1, 2, 2, "A > B -> bool")
ELEM_OP(def_less, "Less", 1, 2, 2, "A < B -> bool")
ELEM_OP(def_greater_eq, "GreaterOrEqual", 12, 2, 2, "A >= B -> bool")
ELEM_OP(def_less_eq, "LessOrEqual", 12, 2, 2, "A <= B -> bool")
ELEM_OP(def_and, "And", 1, 2, 2, "logical and of bool tensors")
ELEM_OP(def_or, "Or", 1, 2, 2, "logical or of bool tensors")
ELEM_OP(def_xor, "Xor", 1, 2, 2, "logical xor of bool tensors")
ELEM_OP(def_where, "Where", 9, 3, 3, "condition ? X : Y, three-way numpy broadcast")

const MscOpDef *const msc_ops_binary[] = {
    &def_add,   &def_sub,  &def_mul,     &def_div,  &def_pow,        &def_mod,         &def_prelu,
    &def_max,   &def_min,  &def_sum,     &def_mean, &def_equal,      &def_greater,     &def_less,
    &def_greater_eq, &def_less_eq, &def_and, &def_or, &def_xor, &def_where, NULL,
};
