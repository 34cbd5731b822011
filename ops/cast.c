/* ops/cast.c: Cast and CastLike between float32, float16, double, int8,
 * uint8, int32, int64 and bool.
 *
 * Conversion rules (ONNX leaves out-of-range float->int undefined; we pick
 * numpy astype's behaviour where it is well defined):
 *   float -> int   truncation toward zero; NaN -> 0; 8-bit targets wrap
 *                  (as numpy on x86, through a 32/64-bit integer), int32 and
 *                  int64 targets saturate;
 *   int -> int     two's-complement wrap (numpy astype);
 *   float -> f16   round to nearest even, overflow to +/-inf (double is
 *                  rounded once, directly, not through float32);
 *   x -> bool      x != 0 (NaN is true); bool -> x is 0 or 1.
 * Opset 1 wrote `to` as a string ("FLOAT", "INT64", ...), opset 6+ as the
 * TensorProto.DataType number; both forms are accepted at any opset.
 */
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

static const struct {
  const char *name;
  MscDType dtype;
} dtype_names[] = {
    {"FLOAT", MSC_DTYPE_FLOAT32},   {"UINT8", MSC_DTYPE_UINT8},     {"INT8", MSC_DTYPE_INT8},
    {"UINT16", MSC_DTYPE_UINT16},   {"INT16", MSC_DTYPE_INT16},     {"INT32", MSC_DTYPE_INT32},
    {"INT64", MSC_DTYPE_INT64},     {"STRING", MSC_DTYPE_STRING},   {"BOOL", MSC_DTYPE_BOOL},
    {"FLOAT16", MSC_DTYPE_FLOAT16}, {"DOUBLE", MSC_DTYPE_DOUBLE},   {"UINT32", MSC_DTYPE_UINT32},
    {"UINT64", MSC_DTYPE_UINT64},   {"COMPLEX64", MSC_DTYPE_COMPLEX64}, {"COMPLEX128", MSC_DTYPE_COMPLEX128},
    {"BFLOAT16", MSC_DTYPE_BFLOAT16},
};

static int cast_supported(MscDType d) {
  return d == MSC_DTYPE_FLOAT32 || d == MSC_DTYPE_FLOAT16 || d == MSC_DTYPE_DOUBLE || d == MSC_DTYPE_INT8 ||
         d == MSC_DTYPE_UINT8 || d == MSC_DTYPE_INT32 || d == MSC_DTYPE_INT64 || d == MSC_DTYPE_BOOL;
}

/* Resolves the target dtype of Cast (`to`) or CastLike (input 1). */
static MscStatus cast_target(MscOpCtx *ctx, MscDType *to) {
  char lbuf[32];
  const MscTensor *x = msc_op_input(ctx, 0);
  if (!x) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 0: missing");
  if (!cast_supported(x->dtype))
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input 0: dtype %s not supported", msc_dtype_name(x->dtype));
  int64_t saturate;
  if (msc_op_attr_int(ctx, "saturate", 1, &saturate)) return ctx->status; /* float8 only: no effect here */
  if (strcmp(ctx->node->op_type, "CastLike") == 0) {
    const MscTensor *like = msc_op_input(ctx, 1);
    if (!like) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 1 (target_type): missing");
    *to = like->dtype;
    if (!cast_supported(*to))
      return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "cast to %s not supported", msc_dtype_name(*to));
    return MSC_OK;
  }
  const MscAttr *a = msc_node_find_attr(ctx->node, "to");
  if (!a) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'to': missing (required)");
  int64_t code;
  if (a->type == MSC_ATTR_INT) {
    code = a->i;
  } else if (a->type == MSC_ATTR_STRING) {
    code = -1;
    for (size_t i = 0; i < G_N_ELEMENTS(dtype_names); i++)
      if (g_ascii_strcasecmp(a->s, dtype_names[i].name) == 0) code = dtype_names[i].dtype;
    if (code < 0) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'to': unknown type name '%s'", a->s);
  } else {
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'to': expected int (or string before opset 6)");
  }
  if (code <= MSC_DTYPE_UNDEFINED || code > 23)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'to': %" G_GINT64_FORMAT " is not a tensor type", code);
  if (code > MSC_DTYPE_BFLOAT16 || !cast_supported((MscDType)code))
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "attribute 'to': cast to %s not supported",
                       msc_op_dtype_code_name(code, lbuf, sizeof lbuf));
  *to = (MscDType)code;
  return MSC_OK;
}

static MscStatus cast_infer(MscOpCtx *ctx) {
  MscDType to;
  if (cast_target(ctx, &to)) return ctx->status;
  return msc_op_set_output(ctx, 0, to, ctx->in[0]->rank, ctx->in[0]->dims);
}

#define BLOCK 1024

/* Source block -> double (float32/float16/double sources; exact) or int64
 * (integers, bool). */
static void load_block(const void *src, MscDType dt, int64_t off, int64_t m, double *fb, int64_t *ib) {
  switch (dt) {
    case MSC_DTYPE_FLOAT32:
      for (int64_t i = 0; i < m; i++) fb[i] = ((const float *)src)[off + i];
      break;
    case MSC_DTYPE_FLOAT16:
      for (int64_t i = 0; i < m; i++) fb[i] = msc_f16_to_f32(((const uint16_t *)src)[off + i]);
      break;
    case MSC_DTYPE_DOUBLE: memcpy(fb, (const double *)src + off, (size_t)m * 8); break;
    case MSC_DTYPE_INT8:
      for (int64_t i = 0; i < m; i++) ib[i] = ((const int8_t *)src)[off + i];
      break;
    case MSC_DTYPE_UINT8:
      for (int64_t i = 0; i < m; i++) ib[i] = ((const uint8_t *)src)[off + i];
      break;
    case MSC_DTYPE_BOOL:
      for (int64_t i = 0; i < m; i++) ib[i] = ((const uint8_t *)src)[off + i] != 0;
      break;
    case MSC_DTYPE_INT32:
      for (int64_t i = 0; i < m; i++) ib[i] = ((const int32_t *)src)[off + i];
      break;
    case MSC_DTYPE_INT64: memcpy(ib, (const int64_t *)src + off, (size_t)m * 8); break;
    default: break;
  }
}

/* Truncation toward zero, saturated to [lo, hi] (doubles exact at the
 * bounds used); NaN -> 0. */
static inline int64_t trunc_sat(double v, double lo, double hi) {
  if (v != v) return 0;
  if (v <= lo) return (int64_t)lo;
  if (v >= hi) return hi >= 9.2e18 ? INT64_MAX : (int64_t)hi;
  return (int64_t)v;
}

/* IEEE double -> half, round to nearest even in one step (double -> float
 * -> half could round twice); overflow to +/-inf, NaN stays a quiet NaN. */
static uint16_t f64_to_f16(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  uint16_t sign = (uint16_t)((u >> 48) & 0x8000u);
  int64_t exp = (int64_t)((u >> 52) & 0x7ff);
  uint64_t mant = u & ((UINT64_C(1) << 52) - 1);
  if (exp == 0x7ff) return sign | 0x7c00u | (mant ? 0x200u | (uint16_t)(mant >> 42) : 0u);
  if (exp == 0) return sign; /* double subnormals are far below half's range */
  int64_t e = exp - 1023 + 15;        /* half exponent field */
  if (e >= 31) return sign | 0x7c00u; /* beyond the largest finite half */
  uint64_t m = mant | (UINT64_C(1) << 52);
  int shift = e > 0 ? 42 : (int)(43 - e); /* half subnormal: fewer mantissa bits */
  if (shift > 53) return sign;             /* below half the smallest subnormal */
  uint64_t r = m >> shift, rem = m & ((UINT64_C(1) << shift) - 1), half = UINT64_C(1) << (shift - 1);
  if (rem > half || (rem == half && (r & 1))) r++;
  /* r keeps the implicit bit for normals, so a carry out of the mantissa
   * bumps the exponent (up to inf) by itself. */
  return sign | (uint16_t)(e > 0 ? (uint64_t)(e - 1) * 1024u + r : r);
}

static void store_from_float(void *dst, MscDType dt, int64_t off, int64_t m, const double *fb, int src_double) {
  switch (dt) {
    case MSC_DTYPE_FLOAT32:
      for (int64_t i = 0; i < m; i++) ((float *)dst)[off + i] = (float)fb[i];
      break;
    case MSC_DTYPE_DOUBLE: memcpy((double *)dst + off, fb, (size_t)m * 8); break;
    case MSC_DTYPE_FLOAT16:
      if (src_double)
        for (int64_t i = 0; i < m; i++) ((uint16_t *)dst)[off + i] = f64_to_f16(fb[i]);
      else /* float32/float16 values: the float path is exact and faster */
        for (int64_t i = 0; i < m; i++) ((uint16_t *)dst)[off + i] = msc_f32_to_f16((float)fb[i]);
      break;
    case MSC_DTYPE_BOOL:
      for (int64_t i = 0; i < m; i++) ((uint8_t *)dst)[off + i] = fb[i] != 0.0;
      break;
    case MSC_DTYPE_INT8: /* wrap through int64, as numpy's C cast does on x86 */
      for (int64_t i = 0; i < m; i++)
        ((int8_t *)dst)[off + i] = (int8_t)(uint8_t)trunc_sat(fb[i], -9.2233720368547758e18, 9.2233720368547758e18);
      break;
    case MSC_DTYPE_UINT8:
      for (int64_t i = 0; i < m; i++)
        ((uint8_t *)dst)[off + i] = (uint8_t)trunc_sat(fb[i], -9.2233720368547758e18, 9.2233720368547758e18);
      break;
    case MSC_DTYPE_INT32:
      for (int64_t i = 0; i < m; i++)
        ((int32_t *)dst)[off + i] = (int32_t)trunc_sat(fb[i], -2147483648.0, 2147483647.0);
      break;
    case MSC_DTYPE_INT64:
      for (int64_t i = 0; i < m; i++)
        ((int64_t *)dst)[off + i] = trunc_sat(fb[i], -9.2233720368547758e18, 9.2233720368547758e18);
      break;
    default: break;
  }
}

static void store_from_int(void *dst, MscDType dt, int64_t off, int64_t m, const int64_t *ib) {
  switch (dt) {
    case MSC_DTYPE_FLOAT32:
      for (int64_t i = 0; i < m; i++) ((float *)dst)[off + i] = (float)ib[i];
      break;
    case MSC_DTYPE_DOUBLE:
      for (int64_t i = 0; i < m; i++) ((double *)dst)[off + i] = (double)ib[i];
      break;
    case MSC_DTYPE_FLOAT16:
      for (int64_t i = 0; i < m; i++) ((uint16_t *)dst)[off + i] = msc_f32_to_f16((float)ib[i]);
      break;
    case MSC_DTYPE_BOOL:
      for (int64_t i = 0; i < m; i++) ((uint8_t *)dst)[off + i] = ib[i] != 0;
      break;
    case MSC_DTYPE_INT8:
      for (int64_t i = 0; i < m; i++) ((int8_t *)dst)[off + i] = (int8_t)(uint8_t)ib[i];
      break;
    case MSC_DTYPE_UINT8:
      for (int64_t i = 0; i < m; i++) ((uint8_t *)dst)[off + i] = (uint8_t)ib[i];
      break;
    case MSC_DTYPE_INT32:
      for (int64_t i = 0; i < m; i++) ((int32_t *)dst)[off + i] = (int32_t)(uint32_t)ib[i];
      break;
    case MSC_DTYPE_INT64: memcpy((int64_t *)dst + off, ib, (size_t)m * 8); break;
    default: break;
  }
}

static MscStatus cast_run(MscOpCtx *ctx) {
  MscDType to;
  if (cast_target(ctx, &to)) return ctx->status;
  const MscTensor *x = ctx->in[0];
  MscTensor *y = ctx->out[0];
  int64_t n = msc_tensor_numel(x);
  if (n <= 0) return MSC_OK;
  if (x->dtype == to) {
    memcpy(y->data, x->data, (size_t)n * msc_dtype_size(to));
    return MSC_OK;
  }
  int from_float = msc_dtype_is_float(x->dtype);
  double fb[BLOCK];
  int64_t ib[BLOCK];
  for (int64_t off = 0; off < n; off += BLOCK) {
    int64_t m = n - off < BLOCK ? n - off : BLOCK;
    load_block(x->data, x->dtype, off, m, fb, ib);
    if (from_float) store_from_float(y->data, to, off, m, fb, x->dtype == MSC_DTYPE_DOUBLE);
    else store_from_int(y->data, to, off, m, ib);
  }
  return MSC_OK;
}

static const MscOpDef def_cast = {sizeof(MscOpDef), "", "Cast", 1, 0, 1, 1, 1, 1, 0, cast_infer, cast_run,
                                  "convert to dtype `to`: float truncates toward zero into integers"};
static const MscOpDef def_cast_like = {sizeof(MscOpDef), "", "CastLike", 15, 0, 2, 2, 1, 1, 0, cast_infer, cast_run,
                                       "Cast to the dtype of input 1"};

const MscOpDef *const msc_ops_cast[] = {&def_cast, &def_cast_like, NULL};
