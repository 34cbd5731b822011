/* ops/quantize.c: QuantizeLinear and DequantizeLinear (opsets 10, 13, 19, 21).
 *
 *   QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
 *   DequantizeLinear: y = (x - zero_point) * scale
 *
 * Granularity follows the scale's shape: a scalar (or one element) is
 * per-tensor; a 1-D scale of length dims[axis] is per-axis (opset 13+); a
 * scale of x's rank with dims[axis] = ceil(D / block_size) is blocked
 * (opset 21+, `block_size` > 0). The quantized type is the zero point's
 * (uint8 or int8); without a zero point it is `output_dtype` (21+) or uint8.
 * float8/int4/int16 types are UNSUPPORTED. Division (not multiplication by
 * 1/scale) matches the ONNX reference bit for bit; NaN quantizes to the
 * zero point.
 */
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

typedef enum { GRAN_TENSOR, GRAN_AXIS, GRAN_BLOCK } Gran;

typedef struct {
  int quantize;        /* 1: QuantizeLinear, 0: DequantizeLinear */
  MscDType q_dtype;    /* the integer side: uint8/int8 (and int32 for Dequantize) */
  MscDType out_dtype;
  Gran gran;
  int64_t axis;        /* normalized; valid for GRAN_AXIS/GRAN_BLOCK */
  int64_t block;       /* block size for GRAN_BLOCK */
} QPlan;

/* Checks scale/zero-point shapes and picks the granularity. */
static MscStatus q_granularity(MscOpCtx *ctx, QPlan *qp, const MscTensor *x, const MscTensor *scale,
                               const MscTensor *zp) {
  char sx[200], ss[200], sz[200];
  int64_t axis, block;
  if (msc_op_attr_int(ctx, "axis", 1, &axis)) return ctx->status;
  if (msc_op_attr_int(ctx, "block_size", 0, &block)) return ctx->status;
  if (block < 0) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'block_size': %" G_GINT64_FORMAT " < 0", block);
  int64_t ns = msc_shape_numel(scale->rank, scale->dims);
  if (zp && !(ns == 1 && msc_shape_numel(zp->rank, zp->dims) == 1)) { /* [] vs [1] is still per-tensor */
    int same = zp->rank == scale->rank;
    for (int32_t d = 0; same && d < zp->rank; d++)
      if (zp->dims[d] != scale->dims[d] && zp->dims[d] != -1 && scale->dims[d] != -1) same = 0;
    if (!same)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "zero point shape %s differs from scale shape %s",
                         msc_shape_format(zp->rank, zp->dims, sz, sizeof sz),
                         msc_shape_format(scale->rank, scale->dims, ss, sizeof ss));
  }
  if (block == 0 && (scale->rank == 0 || (scale->rank == 1 && ns == 1))) {
    qp->gran = GRAN_TENSOR;
    return MSC_OK;
  }
  if (msc_op_norm_axis(ctx, "attribute 'axis'", axis, x->rank, 0, &qp->axis)) return ctx->status;
  if (block == 0) {
    if (ctx->node->opset < 13)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "scale shape %s: opset %" G_GINT64_FORMAT
                         " takes a scalar scale (per-axis needs opset 13)",
                         msc_shape_format(scale->rank, scale->dims, ss, sizeof ss), ctx->node->opset);
    int64_t d = x->dims[qp->axis];
    if (scale->rank != 1 || (scale->dims[0] != d && scale->dims[0] != -1 && d != -1))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "scale shape %s: per-axis scale must be 1-D of length %" G_GINT64_FORMAT
                         " (axis %" G_GINT64_FORMAT " of input %s)",
                         msc_shape_format(scale->rank, scale->dims, ss, sizeof ss), d, qp->axis,
                         msc_shape_format(x->rank, x->dims, sx, sizeof sx));
    qp->gran = GRAN_AXIS;
    return MSC_OK;
  }
  if (ctx->node->opset < 21)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'block_size': needs opset 21, model has %" G_GINT64_FORMAT,
                       ctx->node->opset);
  int ok = scale->rank == x->rank;
  for (int32_t d = 0; ok && d < x->rank; d++) {
    int64_t xd = x->dims[d], sd = scale->dims[d];
    if (xd == -1 || sd == -1) continue;
    if (d == qp->axis) ok = sd == (xd + block - 1) / block;
    else ok = sd == xd;
  }
  if (!ok)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                       "scale shape %s does not block input %s along axis %" G_GINT64_FORMAT
                       " with block_size %" G_GINT64_FORMAT,
                       msc_shape_format(scale->rank, scale->dims, ss, sizeof ss),
                       msc_shape_format(x->rank, x->dims, sx, sizeof sx), qp->axis, block);
  qp->gran = GRAN_BLOCK;
  qp->block = block;
  return MSC_OK;
}

static MscStatus q_prepare(MscOpCtx *ctx, QPlan *qp) {
  char lbuf[32];
  memset(qp, 0, sizeof *qp);
  qp->quantize = strcmp(ctx->node->op_type, "QuantizeLinear") == 0;
  const MscTensor *x = msc_op_input(ctx, 0), *scale = msc_op_input(ctx, 1), *zp = msc_op_input(ctx, 2);
  if (!x) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 0: missing");
  if (!scale) return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 1 (scale): missing");
  if (scale->dtype != MSC_DTYPE_FLOAT32 && scale->dtype != MSC_DTYPE_FLOAT16)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input 1 (scale): dtype %s not supported",
                       msc_dtype_name(scale->dtype));
  if (scale->dtype == MSC_DTYPE_FLOAT16 && ctx->node->opset < 19)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 1 (scale): float16 scale needs opset 19");
  int64_t out_attr;
  if (msc_op_attr_int(ctx, "output_dtype", 0, &out_attr)) return ctx->status;
  int64_t saturate;
  if (msc_op_attr_int(ctx, "saturate", 1, &saturate)) return ctx->status; /* float8 only */

  if (qp->quantize) {
    if (x->dtype != MSC_DTYPE_FLOAT32 && x->dtype != MSC_DTYPE_FLOAT16 && x->dtype != MSC_DTYPE_INT32)
      return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input 0: dtype %s not supported", msc_dtype_name(x->dtype));
    MscDType q = zp ? zp->dtype : out_attr ? (MscDType)out_attr : MSC_DTYPE_UINT8;
    if (zp && out_attr && out_attr != zp->dtype)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'output_dtype' %s differs from zero point dtype %s",
                         msc_op_dtype_code_name(out_attr, lbuf, sizeof lbuf), msc_dtype_name(zp->dtype));
    if (q != MSC_DTYPE_UINT8 && q != MSC_DTYPE_INT8)
      return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "quantized dtype %s not supported (uint8, int8)",
                         msc_op_dtype_code_name(zp ? zp->dtype : out_attr, lbuf, sizeof lbuf));
    qp->q_dtype = q;
    qp->out_dtype = q;
  } else {
    if (x->dtype != MSC_DTYPE_UINT8 && x->dtype != MSC_DTYPE_INT8 && x->dtype != MSC_DTYPE_INT32)
      return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input 0: dtype %s not supported", msc_dtype_name(x->dtype));
    if (zp && zp->dtype != x->dtype)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 2 (zero point): dtype %s differs from input 0's %s",
                         msc_dtype_name(zp->dtype), msc_dtype_name(x->dtype));
    qp->q_dtype = x->dtype;
    qp->out_dtype = scale->dtype;
    if (out_attr) {
      if (out_attr != MSC_DTYPE_FLOAT32 && out_attr != MSC_DTYPE_FLOAT16)
        return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "attribute 'output_dtype': %s not supported",
                           msc_op_dtype_code_name(out_attr, lbuf, sizeof lbuf));
      qp->out_dtype = (MscDType)out_attr;
    }
  }
  return q_granularity(ctx, qp, x, scale, zp);
}

static MscStatus q_infer(MscOpCtx *ctx) {
  QPlan qp;
  if (q_prepare(ctx, &qp)) return ctx->status;
  return msc_op_set_output(ctx, 0, qp.out_dtype, ctx->in[0]->rank, ctx->in[0]->dims);
}

static inline float load_f(const void *p, MscDType dt, int64_t i) {
  switch (dt) {
    case MSC_DTYPE_FLOAT32: return ((const float *)p)[i];
    case MSC_DTYPE_FLOAT16: return msc_f16_to_f32(((const uint16_t *)p)[i]);
    case MSC_DTYPE_INT32: return (float)((const int32_t *)p)[i];
    default: return 0.0f;
  }
}

static inline int32_t load_q(const void *p, MscDType dt, int64_t i) {
  switch (dt) {
    case MSC_DTYPE_UINT8: return ((const uint8_t *)p)[i];
    case MSC_DTYPE_INT8: return ((const int8_t *)p)[i];
    case MSC_DTYPE_INT32: return ((const int32_t *)p)[i];
    default: return 0;
  }
}

/* Quantizes one value already divided by the scale: round half to even,
 * + zero point, saturate; NaN -> the zero point. Branch-free so the span
 * loops vectorize: NaN becomes 0 (then + zero point), v is clamped to
 * +-2^20 (past which every result saturates anyway) and rounded by the
 * 1.5 * 2^23 trick (exact for |v| < 2^22 in the default rounding mode)
 * instead of nearbyintf, a libm call per element. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("tree-vectorize", "no-trapping-math")
#endif
/* The float <-> 8-bit spans also get an AVX2 clone, picked at load time
 * (ifunc): 8 lanes per divide instead of SSE2's 4 (x86-64 GCC only). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define Q_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define Q_CLONES
#endif
static inline float q_value(float v, float zf, float lo, float hi) {
  v = v == v ? v : 0.0f;
  v = v < -1048576.0f ? -1048576.0f : v;
  v = v > 1048576.0f ? 1048576.0f : v;
  const float magic = 12582912.0f;
  v = (v + magic) - magic;
  v += zf;
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

/* One run of @m contiguous elements sharing scale @s and zero point @z;
 * float32 -> uint8/int8 (the QDQ hot path) gets its own loops. */
Q_CLONES static void quantize_run_span(const void *x, MscDType xdt, void *y, MscDType ydt, int64_t off, int64_t m, float s,
                              int32_t z) {
  float lo = ydt == MSC_DTYPE_UINT8 ? 0.0f : -128.0f, hi = ydt == MSC_DTYPE_UINT8 ? 255.0f : 127.0f;
  float zf = (float)z;
  if (xdt == MSC_DTYPE_FLOAT32 && ydt == MSC_DTYPE_UINT8) {
    const float *xs = (const float *)x + off;
    uint8_t *ys = (uint8_t *)y + off;
    for (int64_t i = 0; i < m; i++) ys[i] = (uint8_t)q_value(xs[i] / s, zf, lo, hi);
    return;
  }
  if (xdt == MSC_DTYPE_FLOAT32 && ydt == MSC_DTYPE_INT8) {
    const float *xs = (const float *)x + off;
    int8_t *ys = (int8_t *)y + off;
    for (int64_t i = 0; i < m; i++) ys[i] = (int8_t)q_value(xs[i] / s, zf, lo, hi);
    return;
  }
  for (int64_t i = 0; i < m; i++) {
    float v = q_value(load_f(x, xdt, off + i) / s, zf, lo, hi);
    if (ydt == MSC_DTYPE_UINT8) ((uint8_t *)y)[off + i] = (uint8_t)v;
    else ((int8_t *)y)[off + i] = (int8_t)v;
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

static void dequantize_run_span(const void *x, MscDType xdt, void *y, MscDType ydt, int64_t off, int64_t m, float s,
                                int32_t z) {
  if (ydt == MSC_DTYPE_FLOAT32 && xdt == MSC_DTYPE_UINT8) {
    const uint8_t *xs = (const uint8_t *)x + off;
    float *ys = (float *)y + off;
    for (int64_t i = 0; i < m; i++) ys[i] = (float)((int32_t)xs[i] - z) * s;
    return;
  }
  if (ydt == MSC_DTYPE_FLOAT32 && xdt == MSC_DTYPE_INT8) {
    const int8_t *xs = (const int8_t *)x + off;
    float *ys = (float *)y + off;
    for (int64_t i = 0; i < m; i++) ys[i] = (float)((int32_t)xs[i] - z) * s;
    return;
  }
  for (int64_t i = 0; i < m; i++) {
    float v = (float)((int64_t)load_q(x, xdt, off + i) - z) * s;
    if (ydt == MSC_DTYPE_FLOAT32) ((float *)y)[off + i] = v;
    else ((uint16_t *)y)[off + i] = msc_f32_to_f16(v);
  }
}

static MscStatus q_run(MscOpCtx *ctx) {
  QPlan qp;
  if (q_prepare(ctx, &qp)) return ctx->status;
  const MscTensor *x = ctx->in[0], *scale = ctx->in[1], *zp = msc_op_input(ctx, 2);
  MscTensor *y = ctx->out[0];
  int64_t n = msc_tensor_numel(x);
  if (n <= 0) return MSC_OK;
  /* x as [outer, D, inner] around the axis; per-tensor is one span */
  int64_t outer = 1, D = 1, inner = n;
  if (qp.gran != GRAN_TENSOR) {
    D = x->dims[qp.axis];
    inner = 1;
    for (int32_t d = 0; d < qp.axis; d++) outer *= x->dims[d];
    for (int32_t d = (int32_t)qp.axis + 1; d < x->rank; d++) inner *= x->dims[d];
  }
  int64_t nblocks = qp.gran == GRAN_BLOCK ? (D + qp.block - 1) / qp.block : 1;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t d = 0; d < D; d++) {
      int64_t off = (o * D + d) * inner;
      if (qp.gran == GRAN_BLOCK) {
        /* scale laid out as [outer, nblocks, inner]: one scale per element of the span */
        int64_t sbase = (o * nblocks + d / qp.block) * inner;
        for (int64_t i = 0; i < inner; i++) {
          float s = load_f(scale->data, scale->dtype, sbase + i);
          int32_t z = zp ? load_q(zp->data, zp->dtype, sbase + i) : 0;
          if (qp.quantize) quantize_run_span(x->data, x->dtype, y->data, qp.out_dtype, off + i, 1, s, z);
          else dequantize_run_span(x->data, x->dtype, y->data, qp.out_dtype, off + i, 1, s, z);
        }
        continue;
      }
      int64_t si = qp.gran == GRAN_AXIS ? d : 0;
      float s = load_f(scale->data, scale->dtype, si);
      int32_t z = zp ? load_q(zp->data, zp->dtype, si) : 0;
      if (qp.quantize) quantize_run_span(x->data, x->dtype, y->data, qp.out_dtype, off, inner, s, z);
      else dequantize_run_span(x->data, x->dtype, y->data, qp.out_dtype, off, inner, s, z);
    }
  return MSC_OK;
}

static const MscOpDef def_quantize = {
    sizeof(MscOpDef), "", "QuantizeLinear", 10, 0, 2, 3, 1, 1, 0, q_infer, q_run,
    "y = saturate(round_half_even(x / scale) + zero_point); per-tensor, per-axis (13) or blocked (21)"};
static const MscOpDef def_dequantize = {
    sizeof(MscOpDef), "", "DequantizeLinear", 10, 0, 2, 3, 1, 1, 0, q_infer, q_run,
    "y = (x - zero_point) * scale; per-tensor, per-axis (13) or blocked (21)"};

const MscOpDef *const msc_ops_quantize[] = {&def_quantize, &def_dequantize, NULL};
