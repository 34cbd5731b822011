/* conv-quant.c: ONNX ConvInteger (opset 10) and QLinearConv (opset 10), NCHW,
 * 1-D/2-D/3-D, groups, dilations, strides, pads / auto_pad as Conv.
 *
 *   ConvInteger: y(int32) = conv(x - x_zp, w - w_zp)
 *   QLinearConv: y = saturate(round(conv(x - x_zp, w - w_zp) + B)
 *                              * x_scale * w_scale[m] / y_scale) + y_zp)
 *
 * x and w are uint8 or int8 (independently); x_zp is a scalar, w_zp and
 * w_scale are scalars or per output channel ([M]). Padding contributes 0
 * after the zero-point shift (padding with x_zp), as the ONNX reference.
 * Accumulation is exact int32 (wrapping on overflow, never UB): operands
 * are int16 after the shift, products fit in int32.
 * Requantization follows onnxruntime and QuantizeLinear: the multiplier is
 * x_scale * w_scale / y_scale in float, the product acc * multiplier is
 * float, rounded half to even, then y_zp added and the result saturated.
 *
 * Shape: parse -> shape -> kernel -> dispatch, as ops/conv2d.c. */
#include <math.h>
#include <string.h>

#include "conv-attrs.h"
#include "error.h"
#include "op-util.h"
#include "ops.h"
#include "pad-utils.h"
#include "tensor.h"

#define QC_MR 4
#define QC_NR 8
#define QC_BLOCK_ELEMS (256 * 1024)

typedef struct {
  int qlinear;    /* 1: QLinearConv, 0: ConvInteger */
  MscConvDims cd; /* nsp, N, C, M, group, in */
  MscWindow win;
} QConvParams;

/* input slots */
enum { CI_X = 0, CI_W = 1, CI_XZP = 2, CI_WZP = 3 };
enum { QL_X = 0, QL_XS = 1, QL_XZP = 2, QL_W = 3, QL_WS = 4, QL_WZP = 5, QL_YS = 6, QL_YZP = 7, QL_B = 8 };

/* ---- parse ---------------------------------------------------------------- */

/* A scalar or 1-element 1-D tensor (per-tensor parameter). */
static int
is_scalar(const MscTensor *t)
{
  return t->rank == 0 || (t->rank == 1 && t->dims[0] == 1);
}

/* Per-tensor ([], [1]) or per-output-channel ([M]) parameter @t named @what. */
static MscStatus
check_per_channel(MscOpCtx *ctx, const MscTensor *t, const char *what, int64_t M)
{
  char s[200];
  if (is_scalar(t) || (t->rank == 1 && (t->dims[0] < 0 || M < 0 || t->dims[0] == M)))
    return MSC_OK;
  return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s': shape %s, expected a scalar or [%" G_GINT64_FORMAT "] (per output channel)",
                     what, msc_shape_format(t->rank, t->dims, s, sizeof s), M);
}

static MscStatus
check_scalar(MscOpCtx *ctx, const MscTensor *t, const char *what)
{
  char s[200];
  if (is_scalar(t) || (t->rank == 1 && t->dims[0] < 0))
    return MSC_OK;
  return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s': shape %s, expected a scalar (per-tensor only)", what,
                     msc_shape_format(t->rank, t->dims, s, sizeof s));
}

static MscStatus
check_dtype(MscOpCtx *ctx, const MscTensor *t, const char *what, MscDType a, MscDType b)
{
  if (t->dtype == a || t->dtype == b)
    return MSC_OK;
  if (b == MSC_DTYPE_UNDEFINED)
    return msc_op_fail(ctx, msc_dtype_is_supported(t->dtype) ? MSC_ERR_INVALID_ARG : MSC_ERR_UNSUPPORTED,
                       "input '%s': dtype %s, expected %s", what, msc_dtype_name(t->dtype), msc_dtype_name(a));
  return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "input '%s': dtype %s not supported (uint8 or int8)", what,
                     msc_dtype_name(t->dtype));
}

static MscStatus
qconv_parse(MscOpCtx *ctx, int qlinear, QConvParams *p)
{
  memset(p, 0, sizeof *p);
  p->qlinear = qlinear;
  int xi = 0, wi = qlinear ? QL_W : CI_W;
  const MscTensor *x = msc_op_input(ctx, xi), *w = msc_op_input(ctx, wi);
  if (x == NULL || w == NULL)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "inputs 'x' and 'w' are required");
  if (check_dtype(ctx, x, "x", MSC_DTYPE_UINT8, MSC_DTYPE_INT8) || check_dtype(ctx, w, "w", MSC_DTYPE_UINT8, MSC_DTYPE_INT8))
    return ctx->status;
  if (msc_conv_check_xw(ctx, x, w, "x", "w", 0, &p->cd))
    return ctx->status;

  /* zero points, scales, bias */
  const MscTensor *xzp = msc_op_input(ctx, qlinear ? QL_XZP : CI_XZP), *wzp = msc_op_input(ctx, qlinear ? QL_WZP : CI_WZP);
  if (xzp && (check_dtype(ctx, xzp, "x_zero_point", x->dtype, MSC_DTYPE_UNDEFINED) ||
              check_scalar(ctx, xzp, "x_zero_point")))
    return ctx->status;
  if (wzp && (check_dtype(ctx, wzp, "w_zero_point", w->dtype, MSC_DTYPE_UNDEFINED) ||
              check_per_channel(ctx, wzp, "w_zero_point", p->cd.M)))
    return ctx->status;
  if (qlinear) {
    const MscTensor *xs = msc_op_input(ctx, QL_XS), *ws = msc_op_input(ctx, QL_WS), *ys = msc_op_input(ctx, QL_YS);
    const MscTensor *yzp = msc_op_input(ctx, QL_YZP), *b = msc_op_input(ctx, QL_B);
    if (xs == NULL || ws == NULL || ys == NULL || yzp == NULL)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "inputs x_scale, w_scale, y_scale and y_zero_point are required");
    if (check_dtype(ctx, xs, "x_scale", MSC_DTYPE_FLOAT32, MSC_DTYPE_UNDEFINED) || check_scalar(ctx, xs, "x_scale") ||
        check_dtype(ctx, ws, "w_scale", MSC_DTYPE_FLOAT32, MSC_DTYPE_UNDEFINED) ||
        check_per_channel(ctx, ws, "w_scale", p->cd.M) ||
        check_dtype(ctx, ys, "y_scale", MSC_DTYPE_FLOAT32, MSC_DTYPE_UNDEFINED) || check_scalar(ctx, ys, "y_scale") ||
        check_dtype(ctx, yzp, "y_zero_point", MSC_DTYPE_UINT8, MSC_DTYPE_INT8) || check_scalar(ctx, yzp, "y_zero_point"))
      return ctx->status;
    if (b != NULL &&
        (check_dtype(ctx, b, "B", MSC_DTYPE_INT32, MSC_DTYPE_UNDEFINED) || msc_conv_check_bias(ctx, b, p->cd.M, "w.dims[0]")))
      return ctx->status;
  }

  return msc_conv_window(ctx, x, w, "x", "w", &p->cd, &p->win);
}

/* ---- shape ---------------------------------------------------------------- */

static MscStatus
qconv_infer_common(MscOpCtx *ctx, int qlinear)
{
  QConvParams p;
  if (qconv_parse(ctx, qlinear, &p))
    return ctx->status;
  int64_t dims[MSC_MAX_RANK];
  dims[0] = p.cd.N;
  dims[1] = p.cd.M;
  for (int d = 0; d < p.cd.nsp; d++)
    dims[2 + d] = p.win.out[d];
  MscDType dt = qlinear ? msc_op_input(ctx, QL_YZP)->dtype : MSC_DTYPE_INT32;
  return msc_op_set_output(ctx, 0, dt, p.cd.nsp + 2, dims);
}

static MscStatus
conv_integer_infer(MscOpCtx *ctx)
{
  return qconv_infer_common(ctx, 0);
}

static MscStatus
qlinear_conv_infer(MscOpCtx *ctx)
{
  return qconv_infer_common(ctx, 1);
}

/* ---- kernel --------------------------------------------------------------- */

/* Element i of a uint8/int8 tensor as int32. */
static inline int32_t
q_at(const void *data, MscDType dt, int64_t i)
{
  return dt == MSC_DTYPE_UINT8 ? (int32_t)((const uint8_t *)data)[i] : (int32_t)((const int8_t *)data)[i];
}

/* 4x8 tile of int16 panels, exact int32 sum (uint32 arithmetic wraps). */
static void
s16_gemm_ukernel_4x8(int64_t k, const int16_t *restrict a, const int16_t *restrict b, int32_t *restrict tile)
{
  uint32_t acc[QC_MR][QC_NR];
  memset(acc, 0, sizeof acc);
  for (int64_t i = 0; i < k; i++) {
    const int16_t *ai = a + i * QC_MR, *bi = b + i * QC_NR;
    for (int r = 0; r < QC_MR; r++) {
      int32_t av = ai[r];
      for (int j = 0; j < QC_NR; j++)
        acc[r][j] += (uint32_t)(av * (int32_t)bi[j]);
    }
  }
  for (int r = 0; r < QC_MR; r++)
    for (int j = 0; j < QC_NR; j++)
      tile[r * QC_NR + j] = (int32_t)acc[r][j];
}

static void
s16_gemm_ukernel_1x8(int64_t k, const int16_t *restrict a, const int16_t *restrict b, int32_t *restrict row)
{
  uint32_t acc[QC_NR] = {0};
  for (int64_t i = 0; i < k; i++) {
    int32_t av = a[i];
    const int16_t *bi = b + i * QC_NR;
    for (int j = 0; j < QC_NR; j++)
      acc[j] += (uint32_t)(av * (int32_t)bi[j]);
  }
  for (int j = 0; j < QC_NR; j++)
    row[j] = (int32_t)acc[j];
}

typedef struct {
  const QConvParams *p;
  int64_t Cg, Mg, ksize, K, P, S;
  const void *x;
  MscDType xdt;
  int32_t xzp;
} QGeom;

/* im2col of (x - x_zp) into k-major panels of NR columns; padding -> 0. */
static void
qconv_pack_cols(const QGeom *g, int64_t xoff, int64_t p0, int64_t npanels, int16_t *dst)
{
  const MscWindow *wn = &g->p->win;
  const int nsp = g->p->cd.nsp;
  int64_t base[QC_NR][MSC_PAD_MAX_DIMS], off[QC_NR];
  for (int64_t np = 0; np < npanels; np++) {
    int16_t *panel = dst + np * g->K * QC_NR;
    int valid[QC_NR];
    for (int j = 0; j < QC_NR; j++) {
      int64_t col = p0 + np * QC_NR + j;
      valid[j] = col < g->P;
      for (int d = nsp - 1; d >= 0; d--) {
        int64_t o = col % wn->out[d];
        col /= wn->out[d];
        base[j][d] = o * wn->stride[d] - wn->pads[d];
      }
    }
    int64_t tap[MSC_PAD_MAX_DIMS] = {0};
    for (int64_t kk = 0; kk < g->ksize; kk++) {
      for (int j = 0; j < QC_NR; j++) {
        int64_t lin = 0;
        int inside = valid[j];
        for (int d = 0; d < nsp && inside; d++) {
          int64_t i = base[j][d] + tap[d] * wn->dilation[d];
          inside = i >= 0 && i < g->p->cd.in[d];
          lin = lin * g->p->cd.in[d] + i;
        }
        off[j] = inside ? lin : -1;
      }
      int16_t *out = panel + kk * QC_NR;
      for (int64_t c = 0; c < g->Cg; c++, out += g->ksize * QC_NR) {
        int64_t xc = xoff + c * g->S;
        for (int j = 0; j < QC_NR; j++)
          out[j] = off[j] >= 0 ? (int16_t)(q_at(g->x, g->xdt, xc + off[j]) - g->xzp) : 0;
      }
      for (int d = nsp - 1; d >= 0; d--) {
        if (++tap[d] < wn->kernel[d])
          break;
        tap[d] = 0;
      }
    }
  }
}

/* acc[N, M, P] = conv(x - xzp, w - wzp[m]) in int32. @wq holds the shifted
 * weights (M x K, int16). Returns FALSE on allocation failure. */
static gboolean
qconv_accumulate(const QConvParams *p, const void *x, MscDType xdt, int32_t xzp, const int16_t *wq, int32_t *acc)
{
  const MscWindow *wn = &p->win;
  QGeom g = {.p = p, .x = x, .xdt = xdt, .xzp = xzp};
  g.Cg = p->cd.C / p->cd.group;
  g.Mg = p->cd.M / p->cd.group;
  g.ksize = g.P = g.S = 1;
  for (int d = 0; d < p->cd.nsp; d++) {
    g.ksize *= wn->kernel[d];
    g.P *= wn->out[d];
    g.S *= p->cd.in[d];
  }
  g.K = g.Cg * g.ksize;
  if (g.P == 0 || p->cd.N == 0)
    return TRUE;

  if (g.Cg == 1 && p->cd.nsp <= 2) {
    /* depthwise: direct loops over contiguous output rows, as conv2d.c */
    int two = p->cd.nsp == 2;
    int64_t H = two ? p->cd.in[0] : 1, W = p->cd.in[two];
    int64_t KH = two ? wn->kernel[0] : 1, KW = wn->kernel[two];
    int64_t SH = two ? wn->stride[0] : 1, SW = wn->stride[two];
    int64_t DH = two ? wn->dilation[0] : 1, DW = wn->dilation[two];
    int64_t PH = two ? wn->pads[0] : 0, PW = wn->pads[two];
    int64_t OH = two ? wn->out[0] : 1, OW = wn->out[two];
    for (int64_t n = 0; n < p->cd.N; n++)
      for (int64_t m = 0; m < p->cd.M; m++) {
        int64_t xc = (n * p->cd.C + m / g.Mg) * H * W;
        const int16_t *wm = wq + m * KH * KW;
        uint32_t *ym = (uint32_t *)acc + (n * p->cd.M + m) * OH * OW;
        memset(ym, 0, (size_t)(OH * OW) * sizeof *ym);
        for (int64_t oh = 0; oh < OH; oh++)
          for (int64_t kh = 0; kh < KH; kh++) {
            int64_t ih = oh * SH - PH + kh * DH;
            if (ih < 0 || ih >= H)
              continue;
            int64_t xrow = xc + ih * W;
            for (int64_t kw = 0; kw < KW; kw++) {
              int32_t wv = wm[kh * KW + kw];
              int64_t off = kw * DW - PW;
              int64_t lo = off >= 0 ? 0 : (-off + SW - 1) / SW;
              int64_t hi = W - 1 - off < 0 ? 0 : MIN(OW, (W - 1 - off) / SW + 1);
              uint32_t *yrow = ym + oh * OW;
              for (int64_t ow = lo; ow < hi; ow++)
                yrow[ow] += (uint32_t)(wv * (q_at(x, xdt, xrow + ow * SW + off) - xzp));
            }
          }
      }
    return TRUE;
  }

  int64_t npanels_total = (g.P + QC_NR - 1) / QC_NR;
  int64_t block_panels = CLAMP(QC_BLOCK_ELEMS / (g.K * QC_NR), 1, npanels_total);
  int64_t full_m = g.Mg / QC_MR;
  int16_t *cols = msc_aligned_alloc0((size_t)(block_panels * g.K * QC_NR) * sizeof(int16_t));
  int16_t *wpack = msc_aligned_alloc0((size_t)((full_m ? full_m : 1) * g.K * QC_MR) * sizeof(int16_t));
  if (cols == NULL || wpack == NULL) {
    msc_aligned_free(cols);
    msc_aligned_free(wpack);
    return FALSE;
  }
  int32_t tile[QC_MR * QC_NR];
  for (int64_t gi = 0; gi < p->cd.group; gi++) {
    const int16_t *wg = wq + gi * g.Mg * g.K;
    for (int64_t mp = 0; mp < full_m; mp++)
      for (int64_t k = 0; k < g.K; k++)
        for (int r = 0; r < QC_MR; r++)
          wpack[(mp * g.K + k) * QC_MR + r] = wg[(mp * QC_MR + r) * g.K + k];
    for (int64_t n = 0; n < p->cd.N; n++) {
      int64_t xoff = (n * p->cd.C + gi * g.Cg) * g.S;
      int32_t *yg = acc + (n * p->cd.M + gi * g.Mg) * g.P;
      for (int64_t pb = 0; pb < npanels_total; pb += block_panels) {
        int64_t nb = MIN(block_panels, npanels_total - pb);
        qconv_pack_cols(&g, xoff, pb * QC_NR, nb, cols);
        for (int64_t np = 0; np < nb; np++) {
          const int16_t *bp = cols + np * g.K * QC_NR;
          int64_t c0 = (pb + np) * QC_NR;
          int ncols = (int)MIN(QC_NR, g.P - c0);
          for (int64_t mp = 0; mp < full_m; mp++) {
            s16_gemm_ukernel_4x8(g.K, wpack + mp * g.K * QC_MR, bp, tile);
            for (int r = 0; r < QC_MR; r++)
              memcpy(yg + (mp * QC_MR + r) * g.P + c0, tile + r * QC_NR, (size_t)ncols * sizeof(int32_t));
          }
          for (int64_t m = full_m * QC_MR; m < g.Mg; m++) {
            s16_gemm_ukernel_1x8(g.K, wg + m * g.K, bp, tile);
            memcpy(yg + m * g.P + c0, tile, (size_t)ncols * sizeof(int32_t));
          }
        }
      }
    }
  }
  msc_aligned_free(cols);
  msc_aligned_free(wpack);
  return TRUE;
}

/* Zero point value: absent -> 0; per-channel tensors indexed by @m. */
static int32_t
zp_at(const MscTensor *zp, int64_t m)
{
  if (zp == NULL)
    return 0;
  return q_at(zp->data, zp->dtype, is_scalar(zp) ? 0 : m);
}

/* The weights shifted by their zero point, as int16 (M x K); NULL on OOM. */
static int16_t *
qconv_shift_weights(const QConvParams *p, const MscTensor *w, const MscTensor *wzp)
{
  int64_t K = msc_tensor_numel(w) / p->cd.M;
  int16_t *wq = msc_aligned_alloc0((size_t)(p->cd.M * K) * sizeof(int16_t));
  if (wq == NULL)
    return NULL;
  for (int64_t m = 0; m < p->cd.M; m++) {
    int32_t z = zp_at(wzp, m);
    for (int64_t k = 0; k < K; k++)
      wq[m * K + k] = (int16_t)(q_at(w->data, w->dtype, m * K + k) - z);
  }
  return wq;
}

/* ---- dispatch ------------------------------------------------------------- */

static MscStatus
conv_integer_run(MscOpCtx *ctx)
{
  QConvParams p;
  if (qconv_parse(ctx, 0, &p))
    return ctx->status;
  const MscTensor *x = msc_op_input(ctx, CI_X), *w = msc_op_input(ctx, CI_W);
  int16_t *wq = qconv_shift_weights(&p, w, msc_op_input(ctx, CI_WZP));
  if (wq == NULL)
    return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory for shifted weights");
  gboolean ok = qconv_accumulate(&p, x->data, x->dtype, zp_at(msc_op_input(ctx, CI_XZP), 0), wq, ctx->out[0]->data);
  msc_aligned_free(wq);
  return ok ? MSC_OK : msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory for the im2col block");
}

static MscStatus
qlinear_conv_run(MscOpCtx *ctx)
{
  QConvParams p;
  if (qconv_parse(ctx, 1, &p))
    return ctx->status;
  const MscTensor *x = msc_op_input(ctx, QL_X), *w = msc_op_input(ctx, QL_W), *b = msc_op_input(ctx, QL_B);
  const MscTensor *ws = msc_op_input(ctx, QL_WS), *yzp_t = msc_op_input(ctx, QL_YZP);
  MscTensor *y = ctx->out[0];
  float xs = *(const float *)msc_op_input(ctx, QL_XS)->data, ys = *(const float *)msc_op_input(ctx, QL_YS)->data;
  if (!(ys > 0.0f) || !isfinite(ys))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'y_scale': %g must be positive and finite", (double)ys);

  int64_t ny = msc_tensor_numel(y);
  int64_t P = ny / (p.cd.N > 0 ? p.cd.N * p.cd.M : 1);
  int32_t *acc = msc_aligned_alloc0((size_t)(ny > 0 ? ny : 1) * sizeof(int32_t));
  int16_t *wq = qconv_shift_weights(&p, w, msc_op_input(ctx, QL_WZP));
  float *mult = g_try_new(float, p.cd.M);
  gboolean ok = acc && wq && mult &&
                qconv_accumulate(&p, x->data, x->dtype, zp_at(msc_op_input(ctx, QL_XZP), 0), wq, acc);
  if (ok) {
    const float *wsv = ws->data;
    for (int64_t m = 0; m < p.cd.M; m++)
      mult[m] = xs * wsv[is_scalar(ws) ? 0 : m] / ys;
    const int32_t *bias = b ? b->data : NULL;
    int32_t yzp = zp_at(yzp_t, 0);
    int is_u8 = y->dtype == MSC_DTYPE_UINT8;
    int32_t lo = is_u8 ? 0 : -128, hi = is_u8 ? 255 : 127;
    for (int64_t n = 0; n < p.cd.N; n++)
      for (int64_t m = 0; m < p.cd.M; m++) {
        int64_t base = (n * p.cd.M + m) * P;
        uint32_t bv = bias ? (uint32_t)bias[m] : 0;
        for (int64_t i = 0; i < P; i++) {
          int32_t a = (int32_t)((uint32_t)acc[base + i] + bv);
          /* nearbyintf: round half to even in the default rounding mode */
          float r = nearbyintf((float)a * mult[m]) + (float)yzp;
          int32_t q = r >= (float)hi ? hi : r > (float)lo ? (int32_t)r : lo; /* NaN -> lo */
          if (is_u8)
            ((uint8_t *)y->data)[base + i] = (uint8_t)q;
          else
            ((int8_t *)y->data)[base + i] = (int8_t)q;
        }
      }
  }
  msc_aligned_free(acc);
  msc_aligned_free(wq);
  g_free(mult);
  return ok ? MSC_OK : msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory for the int32 accumulator");
}

static const MscOpDef conv_integer_def = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "ConvInteger",
    .since_version = 10,
    .max_version = 0,
    .min_inputs = 2,
    .max_inputs = 4,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = conv_integer_infer,
    .run = conv_integer_run,
    .doc = "ConvInteger (opset 10-21): uint8/int8 x and w with zero points (w per output channel) -> int32, exact",
};

static const MscOpDef qlinear_conv_def = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "QLinearConv",
    .since_version = 10,
    .max_version = 0,
    .min_inputs = 8,
    .max_inputs = 9,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = qlinear_conv_infer,
    .run = qlinear_conv_run,
    .doc = "QLinearConv (opset 10-21): uint8/int8, per-tensor or per-channel w scale/zero point, int32 bias, "
           "round half to even, saturation",
};

const MscOpDef *const msc_ops_conv_quant[] = {&conv_integer_def, &qlinear_conv_def, NULL};
