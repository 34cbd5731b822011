/* ops/pooling.c: MaxPool, AveragePool, LpPool and their Global* forms.
 *
 * Layout NCHW-style: [N, C, D1, ..., Dn] with n = 1..3 spatial dims. Every
 * kernel is written for 3 spatial dims; 1-D and 2-D inputs are run as 3-D
 * with leading size-1 dims, which keeps one code path for all ranks.
 *
 * Shapes and pads come from ops/pad-utils.h (ONNX pads order, auto_pad per
 * spec, ceil_mode with the "last window starts inside input or begin
 * padding" rule). Padding never takes part in a max; for averages it is
 * counted only with count_include_pad=1, and then only the explicit pads,
 * not the ceil_mode overhang past the end padding (PyTorch and onnxruntime
 * divide the same way).
 *
 * Dtypes: float32, float16 (computed in float); MaxPool also int8/uint8
 * (exact in float). Anything else is MSC_ERR_UNSUPPORTED.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "op-util.h"
#include "ops.h"
#include "pad-utils.h"
#include "tensor.h"

#define POOL_MAX_SP 3 /* spatial dims handled by the kernels */

typedef enum { POOL_MAX, POOL_AVG, POOL_LP } PoolKind;

/* Resolved geometry, always 3 spatial dims (leading dims padded with 1s). */
typedef struct {
  int nsp;                        /* spatial dims of the real input (1..3) */
  int64_t batch, channels;        /* N, C (may be -1 in static inference) */
  int64_t in[POOL_MAX_SP], out[POOL_MAX_SP];
  int64_t k[POOL_MAX_SP], s[POOL_MAX_SP], d[POOL_MAX_SP];
  int64_t pb[POOL_MAX_SP], pe[POOL_MAX_SP];
} PoolGeom;

typedef struct {
  PoolKind kind;
  int global;
  int count_include_pad;
  int storage_order;
  float p; /* LpPool exponent */
} PoolParams;

/* ---- dtype helpers ------------------------------------------------------- */

/* Copies @n elements of @t (float32/float16/int8/uint8) into float @dst. */
static void load_as_float(const MscTensor *t, float *dst, int64_t n)
{
  switch (t->dtype) {
  case MSC_DTYPE_FLOAT32:
    memcpy(dst, t->data, (size_t)n * sizeof(float));
    break;
  case MSC_DTYPE_FLOAT16: {
    const uint16_t *h = t->data;
    for (int64_t i = 0; i < n; i++)
      dst[i] = msc_f16_to_f32(h[i]);
    break;
  }
  case MSC_DTYPE_INT8: {
    const int8_t *q = t->data;
    for (int64_t i = 0; i < n; i++)
      dst[i] = q[i];
    break;
  }
  case MSC_DTYPE_UINT8: {
    const uint8_t *q = t->data;
    for (int64_t i = 0; i < n; i++)
      dst[i] = q[i];
    break;
  }
  default:
    break;
  }
}

static void store_from_float(MscTensor *t, const float *src, int64_t n)
{
  switch (t->dtype) {
  case MSC_DTYPE_FLOAT32:
    memcpy(t->data, src, (size_t)n * sizeof(float));
    break;
  case MSC_DTYPE_FLOAT16: {
    uint16_t *h = t->data;
    for (int64_t i = 0; i < n; i++)
      h[i] = msc_f32_to_f16(src[i]);
    break;
  }
  case MSC_DTYPE_INT8: {
    int8_t *q = t->data;
    for (int64_t i = 0; i < n; i++)
      q[i] = (int8_t)(src[i] < -128.f ? -128.f : src[i] > 127.f ? 127.f : src[i]);
    break;
  }
  case MSC_DTYPE_UINT8: {
    uint8_t *q = t->data;
    for (int64_t i = 0; i < n; i++)
      q[i] = (uint8_t)(src[i] < 0.f ? 0.f : src[i] > 255.f ? 255.f : src[i]);
    break;
  }
  default:
    break;
  }
}

static MscStatus check_pool_dtype(MscOpCtx *ctx, PoolKind kind)
{
  if (kind == POOL_MAX)
    return msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_INT8,
                              MSC_DTYPE_UINT8, MSC_DTYPE_UNDEFINED);
  return msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_UNDEFINED);
}

/* ---- geometry ------------------------------------------------------------- */

static MscStatus check_input_rank(MscOpCtx *ctx, const MscTensor *x)
{
  if (x->rank < 3 || x->rank > 2 + POOL_MAX_SP)
    return msc_op_fail(ctx, x->rank < 3 ? MSC_ERR_INVALID_ARG : MSC_ERR_UNSUPPORTED,
                       "input 'X': rank %d, expected [N, C, D1...] with 1 to %d spatial dims",
                       (int)x->rank, POOL_MAX_SP);
  return MSC_OK;
}

/* Reads the window attributes and resolves pads and output size. */
static MscStatus pool_geometry(MscOpCtx *ctx, PoolKind kind, PoolGeom *g)
{
  const MscTensor *x = msc_op_input(ctx, 0);
  const int64_t *kernel, *strides, *dilations, *pads;
  size_t nk, ns, nd, np;
  const char *auto_pad_s;
  int64_t ceil_mode;
  MscAutoPad auto_pad;
  GError *err = NULL;

  if (check_input_rank(ctx, x))
    return ctx->status;
  int nsp = (int)x->rank - 2;

  if (msc_op_attr_ints(ctx, "kernel_shape", &kernel, &nk) ||
      msc_op_attr_ints(ctx, "strides", &strides, &ns) ||
      msc_op_attr_ints(ctx, "dilations", &dilations, &nd) ||
      msc_op_attr_ints(ctx, "pads", &pads, &np) ||
      msc_op_attr_string(ctx, "auto_pad", "NOTSET", &auto_pad_s) ||
      msc_op_attr_int(ctx, "ceil_mode", 0, &ceil_mode))
    return ctx->status;

  if (nk == 0)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'kernel_shape' is required");
  if ((int)nk != nsp)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                       "attribute 'kernel_shape': %zu values for %d spatial dims of input rank %d",
                       nk, nsp, (int)x->rank);
  if (ns != 0 && (int)ns != nsp)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'strides': %zu values, expected %d", ns,
                       nsp);
  if (nd != 0 && (int)nd != nsp)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'dilations': %zu values, expected %d",
                       nd, nsp);
  if (np != 0 && (int)np != 2 * nsp)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'pads': %zu values, expected %d", np,
                       2 * nsp);
  if (ceil_mode != 0 && ceil_mode != 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'ceil_mode': %lld, expected 0 or 1",
                       (long long)ceil_mode);
  /* Bound every window value so the integer shape math cannot overflow. */
  for (int i = 0; i < nsp; i++) {
    if (kernel[i] < 1 || kernel[i] > INT32_MAX)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'kernel_shape'[%d] = %lld, must be >= 1",
                         i, (long long)kernel[i]);
    if (ns && (strides[i] < 1 || strides[i] > INT32_MAX))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'strides'[%d] = %lld, must be >= 1", i,
                         (long long)strides[i]);
    if (nd && (dilations[i] < 1 || dilations[i] > INT32_MAX))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'dilations'[%d] = %lld, must be >= 1",
                         i, (long long)dilations[i]);
  }
  for (size_t i = 0; i < np; i++)
    if (pads[i] < 0 || pads[i] > INT32_MAX)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'pads'[%zu] = %lld, must be >= 0", i,
                         (long long)pads[i]);
  if (!msc_auto_pad_parse(auto_pad_s, &auto_pad, &err)) {
    msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute %s", err->message);
    g_error_free(err);
    return ctx->status;
  }

  /* The clear "kernel larger than padded input" message (pad-utils would
   * also refuse it, less specifically). */
  if (auto_pad == MSC_AUTO_PAD_NOTSET || auto_pad == MSC_AUTO_PAD_VALID) {
    for (int i = 0; i < nsp; i++) {
      int64_t in = x->dims[2 + i];
      if (in < 0)
        continue;
      int64_t dil = nd ? dilations[i] : 1;
      int64_t dk = (kernel[i] - 1) * dil + 1;
      int64_t b = (auto_pad == MSC_AUTO_PAD_NOTSET && np) ? pads[i] : 0;
      int64_t e = (auto_pad == MSC_AUTO_PAD_NOTSET && np) ? pads[nsp + i] : 0;
      if (dk > in + b + e)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                           "attribute 'kernel_shape'[%d]: window %lld (kernel %lld, dilation %lld) "
                           "larger than padded input %lld (input %lld + pads %lld + %lld)",
                           i, (long long)dk, (long long)kernel[i], (long long)dil,
                           (long long)(in + b + e), (long long)in, (long long)b, (long long)e);
    }
  }

  int64_t pads_out[2 * POOL_MAX_SP], out[POOL_MAX_SP];
  if (!msc_conv_output_shape_nd(nsp, &x->dims[2], kernel, ns ? strides : NULL,
                                nd ? dilations : NULL, auto_pad, np ? pads : NULL, np,
                                (int)ceil_mode, pads_out, out, &err)) {
    msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "%s", err->message);
    g_error_free(err);
    return ctx->status;
  }

  memset(g, 0, sizeof *g);
  g->nsp = nsp;
  g->batch = x->dims[0];
  g->channels = x->dims[1];
  int off = POOL_MAX_SP - nsp;
  for (int i = 0; i < POOL_MAX_SP; i++) {
    g->in[i] = g->out[i] = g->k[i] = g->s[i] = g->d[i] = 1;
    g->pb[i] = g->pe[i] = 0;
  }
  for (int i = 0; i < nsp; i++) {
    g->in[off + i] = x->dims[2 + i];
    g->out[off + i] = out[i];
    g->k[off + i] = kernel[i];
    g->s[off + i] = ns ? strides[i] : 1;
    g->d[off + i] = nd ? dilations[i] : 1;
    g->pb[off + i] = pads_out[i];
    g->pe[off + i] = pads_out[nsp + i];
  }
  (void)kind;
  return MSC_OK;
}

/* Global pools: one window covering every spatial position. */
static MscStatus global_geometry(MscOpCtx *ctx, PoolGeom *g)
{
  const MscTensor *x = msc_op_input(ctx, 0);
  if (check_input_rank(ctx, x))
    return ctx->status;
  memset(g, 0, sizeof *g);
  g->nsp = (int)x->rank - 2;
  g->batch = x->dims[0];
  g->channels = x->dims[1];
  int off = POOL_MAX_SP - g->nsp;
  for (int i = 0; i < POOL_MAX_SP; i++) {
    int64_t in = i >= off ? x->dims[2 + i - off] : 1;
    g->in[i] = in;
    g->out[i] = g->s[i] = g->d[i] = 1;
    g->k[i] = in; /* -1 in static inference: never used for a kernel then */
  }
  return MSC_OK;
}

static MscStatus pool_params(MscOpCtx *ctx, PoolKind kind, int global, PoolParams *p)
{
  int64_t cip = 0, so = 0;
  memset(p, 0, sizeof *p);
  p->kind = kind;
  p->global = global;
  p->p = 2.f;
  if (kind == POOL_AVG && !global) {
    /* AveragePool-1 had no count_include_pad: it always excluded padding. */
    if (msc_op_attr_int(ctx, "count_include_pad", 0, &cip))
      return ctx->status;
    if (cip != 0 && cip != 1)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "attribute 'count_include_pad': %lld, expected 0 or 1", (long long)cip);
    p->count_include_pad = (int)cip;
  }
  if (kind == POOL_MAX && !global) {
    if (msc_op_attr_int(ctx, "storage_order", 0, &so))
      return ctx->status;
    if (so != 0 && so != 1)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "attribute 'storage_order': %lld, expected 0 (row major) or 1 (column major)",
                         (long long)so);
    p->storage_order = (int)so;
  }
  if (kind == POOL_LP) {
    const MscAttr *a = msc_node_find_attr(ctx->node, "p");
    if (a && a->type == MSC_ATTR_FLOAT) /* LpPool-1 declared p as a float */
      p->p = a->f;
    else if (a && a->type == MSC_ATTR_INT)
      p->p = (float)a->i;
    else if (a)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'p': expected an int");
    if (!(p->p > 0.f) || !isfinite(p->p))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'p': %g, must be > 0", (double)p->p);
  }
  return MSC_OK;
}

static MscStatus set_pool_outputs(MscOpCtx *ctx, const PoolGeom *g)
{
  const MscTensor *x = msc_op_input(ctx, 0);
  int64_t dims[MSC_MAX_RANK];
  dims[0] = g->batch;
  dims[1] = g->channels;
  for (int i = 0; i < g->nsp; i++)
    dims[2 + i] = g->out[POOL_MAX_SP - g->nsp + i];
  if (msc_op_set_output(ctx, 0, x->dtype, x->rank, dims))
    return ctx->status;
  if (ctx->n_out > 1 && ctx->out[1] &&
      msc_op_set_output(ctx, 1, MSC_DTYPE_INT64, x->rank, dims))
    return ctx->status;
  return MSC_OK;
}

/* ---- kernel ---------------------------------------------------------------- */

/* Per spatial axis and output position: the range [kmin, kmax) of kernel
 * taps that land inside the input, and how many taps land inside the
 * explicitly padded input (count_include_pad divisor). */
typedef struct {
  int64_t *kmin, *kmax, *kpad;
} AxisTaps;

static void axis_taps(const PoolGeom *g, int a, AxisTaps *t)
{
  for (int64_t o = 0; o < g->out[a]; o++) {
    int64_t start = o * g->s[a] - g->pb[a];
    int64_t lo = 0, hi = 0, padded = 0;
    /* first tap with start + k*d >= 0 */
    if (start < 0)
      lo = (-start + g->d[a] - 1) / g->d[a];
    if (lo > g->k[a])
      lo = g->k[a];
    /* taps with start + k*d < in */
    if (start < g->in[a])
      hi = (g->in[a] - 1 - start) / g->d[a] + 1;
    if (hi > g->k[a])
      hi = g->k[a];
    if (hi < lo)
      hi = lo;
    /* taps with start + k*d < in + pad_end (start >= -pad_begin always) */
    int64_t lim = g->in[a] + g->pe[a];
    if (start < lim)
      padded = (lim - 1 - start) / g->d[a] + 1;
    if (padded > g->k[a])
      padded = g->k[a];
    t->kmin[o] = lo;
    t->kmax[o] = hi;
    t->kpad[o] = padded;
  }
}

/* Pools one [D0, D1, D2] plane @x into @y (and argmax into @idx when not
 * NULL, offset by @idx_base). */
static void pool_plane(const PoolGeom *g, const PoolParams *p, AxisTaps taps[POOL_MAX_SP],
                       const float *x, float *y, int64_t *idx, int64_t idx_base)
{
  const int64_t in1 = g->in[1], in2 = g->in[2];
  const int64_t s12 = in1 * in2;
  int64_t oi = 0;
  for (int64_t o0 = 0; o0 < g->out[0]; o0++) {
    int64_t st0 = o0 * g->s[0] - g->pb[0];
    for (int64_t o1 = 0; o1 < g->out[1]; o1++) {
      int64_t st1 = o1 * g->s[1] - g->pb[1];
      for (int64_t o2 = 0; o2 < g->out[2]; o2++, oi++) {
        int64_t st2 = o2 * g->s[2] - g->pb[2];
        int64_t a0 = taps[0].kmin[o0], b0 = taps[0].kmax[o0];
        int64_t a1 = taps[1].kmin[o1], b1 = taps[1].kmax[o1];
        int64_t a2 = taps[2].kmin[o2], b2 = taps[2].kmax[o2];
        if (p->kind == POOL_MAX) {
          float best = -FLT_MAX; /* empty window (all padding): lowest, index -1 */
          int64_t besti = -1;
          for (int64_t k0 = a0; k0 < b0; k0++) {
            int64_t i0 = st0 + k0 * g->d[0];
            for (int64_t k1 = a1; k1 < b1; k1++) {
              int64_t i1 = st1 + k1 * g->d[1];
              const float *row = x + i0 * s12 + i1 * in2;
              for (int64_t k2 = a2; k2 < b2; k2++) {
                int64_t i2 = st2 + k2 * g->d[2];
                float v = row[i2];
                if (v > best || besti < 0) {
                  best = v;
                  besti = i0 * s12 + i1 * in2 + i2;
                }
              }
            }
          }
          y[oi] = best;
          if (idx) {
            int64_t r = besti;
            if (besti >= 0 && p->storage_order == 1) {
              /* column major: the first spatial dim varies fastest */
              int64_t i0 = besti / s12, i1 = (besti / in2) % in1, i2 = besti % in2;
              int off = POOL_MAX_SP - g->nsp;
              int64_t c[POOL_MAX_SP] = {i0, i1, i2};
              r = 0;
              int64_t mul = 1;
              for (int a = off; a < POOL_MAX_SP; a++) {
                r += c[a] * mul;
                mul *= g->in[a];
              }
            }
            idx[oi] = besti >= 0 ? idx_base + r : -1;
          }
        } else {
          double acc = 0.0;
          for (int64_t k0 = a0; k0 < b0; k0++) {
            int64_t i0 = st0 + k0 * g->d[0];
            for (int64_t k1 = a1; k1 < b1; k1++) {
              int64_t i1 = st1 + k1 * g->d[1];
              const float *row = x + i0 * s12 + i1 * in2;
              if (p->kind == POOL_AVG) {
                for (int64_t k2 = a2; k2 < b2; k2++)
                  acc += row[st2 + k2 * g->d[2]];
              } else if (p->p == 2.f) {
                for (int64_t k2 = a2; k2 < b2; k2++) {
                  double v = row[st2 + k2 * g->d[2]];
                  acc += v * v;
                }
              } else {
                for (int64_t k2 = a2; k2 < b2; k2++)
                  acc += pow(fabs((double)row[st2 + k2 * g->d[2]]), p->p);
              }
            }
          }
          if (p->kind == POOL_AVG) {
            int64_t cnt;
            if (p->count_include_pad)
              cnt = taps[0].kpad[o0] * taps[1].kpad[o1] * taps[2].kpad[o2];
            else
              cnt = (b0 - a0) * (b1 - a1) * (b2 - a2);
            /* A window entirely in padding has no element to average. */
            y[oi] = cnt > 0 ? (float)(acc / (double)cnt) : 0.f;
          } else {
            y[oi] = (float)(p->p == 2.f ? sqrt(acc) : pow(acc, 1.0 / p->p));
          }
        }
      }
    }
  }
}

/* Global pools over a contiguous plane of @n elements. */
static float global_plane(PoolKind kind, float p, const float *x, int64_t n)
{
  if (kind == POOL_MAX) {
    float best = -FLT_MAX;
    for (int64_t i = 0; i < n; i++)
      if (x[i] > best || i == 0)
        best = x[i];
    return best;
  }
  double acc = 0.0;
  if (kind == POOL_AVG) {
    for (int64_t i = 0; i < n; i++)
      acc += x[i];
    return n > 0 ? (float)(acc / (double)n) : 0.f;
  }
  for (int64_t i = 0; i < n; i++)
    acc += p == 2.f ? (double)x[i] * x[i] : pow(fabs((double)x[i]), p);
  return (float)(p == 2.f ? sqrt(acc) : pow(acc, 1.0 / p));
}

static MscStatus pool_run_common(MscOpCtx *ctx, const PoolGeom *g, const PoolParams *pp)
{
  const MscTensor *x = msc_op_input(ctx, 0);
  MscTensor *y = ctx->out[0];
  MscTensor *ind = (ctx->n_out > 1) ? ctx->out[1] : NULL;
  int64_t planes = g->batch * g->channels;
  int64_t in_plane = g->in[0] * g->in[1] * g->in[2];
  int64_t out_plane = g->out[0] * g->out[1] * g->out[2];
  int64_t nx = planes * in_plane, ny = planes * out_plane;
  float *xbuf = NULL, *ybuf = NULL;
  const float *xf;
  float *yf;
  MscStatus st = MSC_OK;

  if (nx == 0 || ny == 0)
    return MSC_OK;
  if (x->dtype == MSC_DTYPE_FLOAT32) {
    xf = x->data;
    yf = y->data;
  } else {
    xbuf = g_try_malloc((size_t)nx * sizeof(float));
    ybuf = g_try_malloc((size_t)ny * sizeof(float));
    if (!xbuf || !ybuf) {
      st = msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory converting %s input to float",
                       msc_dtype_name(x->dtype));
      goto out;
    }
    load_as_float(x, xbuf, nx);
    xf = xbuf;
    yf = ybuf;
  }

  if (pp->global) {
    for (int64_t pl = 0; pl < planes; pl++)
      yf[pl] = global_plane(pp->kind, pp->p, xf + pl * in_plane, in_plane);
  } else {
    AxisTaps taps[POOL_MAX_SP];
    int64_t tot = g->out[0] + g->out[1] + g->out[2];
    int64_t *tapbuf = g_try_malloc((size_t)tot * 3 * sizeof(int64_t));
    if (!tapbuf) {
      st = msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory for pooling windows");
      goto out;
    }
    int64_t *cur = tapbuf;
    for (int a = 0; a < POOL_MAX_SP; a++) {
      taps[a].kmin = cur;
      taps[a].kmax = cur + g->out[a];
      taps[a].kpad = cur + 2 * g->out[a];
      cur += 3 * g->out[a];
      axis_taps(g, a, &taps[a]);
    }
    int64_t *idx = ind ? ind->data : NULL;
    for (int64_t pl = 0; pl < planes; pl++)
      pool_plane(g, pp, taps, xf + pl * in_plane, yf + pl * out_plane,
                 idx ? idx + pl * out_plane : NULL, pl * in_plane);
    g_free(tapbuf);
  }

  if (ybuf)
    store_from_float(y, ybuf, ny);
out:
  g_free(xbuf);
  g_free(ybuf);
  return st;
}

/* ---- op entry points ------------------------------------------------------ */

/* infer/run of one pool kind; @global: Global*Pool (the whole spatial
 * extent, no window attributes). */
static MscStatus pool_infer_kind(MscOpCtx *ctx, PoolKind kind, int global)
{
  PoolGeom g;
  PoolParams pp;
  if (check_pool_dtype(ctx, kind) || pool_params(ctx, kind, global, &pp) ||
      (global ? global_geometry(ctx, &g) : pool_geometry(ctx, kind, &g)))
    return ctx->status;
  if (kind == POOL_MAX && !global && ctx->node->opset < 8 && ctx->n_out > 1 && ctx->out[1])
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                       "output 'Indices' exists only from opset 8 (model opset %lld)",
                       (long long)ctx->node->opset);
  return set_pool_outputs(ctx, &g);
}

static MscStatus pool_run_kind(MscOpCtx *ctx, PoolKind kind, int global)
{
  PoolGeom g;
  PoolParams pp;
  if (pool_params(ctx, kind, global, &pp) ||
      (global ? global_geometry(ctx, &g) : pool_geometry(ctx, kind, &g)))
    return ctx->status;
  return pool_run_common(ctx, &g, &pp);
}

#define POOL_FNS(name, KIND, GLOBAL)                                                      \
  static MscStatus name##_infer(MscOpCtx *ctx) { return pool_infer_kind(ctx, KIND, GLOBAL); } \
  static MscStatus name##_run(MscOpCtx *ctx) { return pool_run_kind(ctx, KIND, GLOBAL); }

POOL_FNS(maxpool, POOL_MAX, 0)
POOL_FNS(avgpool, POOL_AVG, 0)
POOL_FNS(lppool, POOL_LP, 0)
POOL_FNS(global_maxpool, POOL_MAX, 1)
POOL_FNS(global_avgpool, POOL_AVG, 1)
POOL_FNS(global_lppool, POOL_LP, 1)

#define POOL_DEF(var, type, since, maxout, inf, rn, docstr)                               \
  static const MscOpDef var = {                                                           \
      .struct_size = sizeof(MscOpDef),                                                    \
      .domain = "",                                                                       \
      .op_type = type,                                                                    \
      .since_version = since,                                                             \
      .max_version = 0,                                                                   \
      .min_inputs = 1,                                                                    \
      .max_inputs = 1,                                                                    \
      .min_outputs = 1,                                                                   \
      .max_outputs = maxout,                                                              \
      .flags = 0,                                                                         \
      .infer = inf,                                                                       \
      .run = rn,                                                                          \
      .doc = docstr,                                                                      \
  }

POOL_DEF(op_maxpool, "MaxPool", 1, 2, maxpool_infer, maxpool_run,
         "Max pooling, 1-3 spatial dims; dilations, ceil_mode, optional int64 Indices "
         "(storage_order 0/1); float32/float16/int8/uint8");
POOL_DEF(op_avgpool, "AveragePool", 1, 1, avgpool_infer, avgpool_run,
         "Average pooling, 1-3 spatial dims; count_include_pad, ceil_mode, dilations; "
         "float32/float16");
POOL_DEF(op_lppool, "LpPool", 1, 1, lppool_infer, lppool_run,
         "Lp pooling (p float at opset 1, int after); float32/float16");
POOL_DEF(op_global_maxpool, "GlobalMaxPool", 1, 1, global_maxpool_infer, global_maxpool_run,
         "Max over all spatial dims; float32/float16/int8/uint8");
POOL_DEF(op_global_avgpool, "GlobalAveragePool", 1, 1, global_avgpool_infer,
         global_avgpool_run, "Mean over all spatial dims; float32/float16");
POOL_DEF(op_global_lppool, "GlobalLpPool", 1, 1, global_lppool_infer, global_lppool_run,
         "Lp norm over all spatial dims; float32/float16");

/* The family table read by ops/builtin.c (see ops.h). */
const MscOpDef *const msc_ops_pooling[] = {
    &op_maxpool, &op_avgpool, &op_lppool, &op_global_maxpool, &op_global_avgpool, &op_global_lppool,
    NULL,
};
