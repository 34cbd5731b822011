/* qops.c: per-shape preparation and running of the `cpu` runner's int8
 * steps (qstep.h): conv plans (qconv.h), and the table-driven ops
 * (elementwise tables, max pool, concat) and the integer global average. */
#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <string.h>

#include "../cpu-internal.h"
#include "pad-utils.h"
#include "resize-planes.h"
#include "tensor.h"

/* bytes per task of the 8-bit Concat (concat_task) */
#define CAT_PIECE ((int64_t)65536)
#define SPAN_CHUNK ((int64_t)16384) /* elementwise steps: elements per task (span_all) */

typedef enum { QB_SAME = 0, QB_A_SCALAR, QB_B_SCALAR, QB_A_PLANE, QB_B_PLANE } QBMode;

typedef struct {
  int64_t numel, outer, inner, planes;
  QBMode bmode;
  uint8_t *lut_t; /* LUT2 with b broadcast: the table transposed, lut_t[b << 8 | a], so a fixed b reads 256
                   * contiguous bytes instead of 256 cache lines */
  int64_t cat_inner[CPU_Q_MAX_IN]; /* concat: bytes per outer step of each input */
  /* pad: input dims, output strides, leading pads (rank r) */
  int32_t r;
  int64_t xd[MSC_MAX_RANK], ost[MSC_MAX_RANK], pb[MSC_MAX_RANK];
  /* GAPT: ftab[v] = gk[v] * gu exactly and |sum| < 2^53 * gu for planes of inner elements: the
   * double sum is exact in any order, so integer sums of gk give it (gexact) */
  int64_t gk[256];
  double gu;
  int gexact;
  CpuPool2d pool;
  /* resize: the plane form (NULL: the whole tensor through the Resize kernel), per-thread scratch bytes
   * (plane form) or the float input's bytes (whole tensor), the Resize's float output dims and its
   * constant inputs (borrowed from the plan) */
  struct MscResizePlanes *rp;
  size_t rs_per, rs_xf, rs_yf; /* plane form: bytes per thread, offsets of the scratch and the output plane */
  int32_t ryr;
  int64_t ryd[MSC_MAX_RANK];
  const MscTensor *rk[4];
  /* QUANT of an NHWC input (nhwc): [N, H, W, C], rows of W * C per task piece (a multiple of 64 elements
   * from the tensor's start, as the affine step's pieces), float scratch bytes per thread, the affine kernel */
  int64_t qn, qh, qw, qc, qrows;
  size_t qper;
  void (*qaff)(const float *x, float *y, int64_t n, float s, float t, MscActivation act, float a, float b);
} QPrep;

static size_t a64(size_t n) {
  return (n + 63) & ~(size_t)63;
}

/* Static infer of @n on the plan's dims; writes its outputs' dims. */
static MscStatus infer_node(CpuModel *m, CpuShapePlan *p, const MscNode *n, MscMessage *msg) {
  MscTensor infos[16], oinfo[4];
  const MscTensor *in[16];
  MscTensor *out[4];
  if (n->n_inputs > 16 || n->n_outputs > 4) return MSC_ERR_UNSUPPORTED;
  for (uint32_t k = 0; k < n->n_inputs; k++) {
    const MscValue *v = n->inputs[k];
    in[k] = NULL;
    if (!v) continue;
    const MscTensor *c = cpu_plan_konst(m, p, v->index);
    if (c) {
      in[k] = c;
      continue;
    }
    memset(&infos[k], 0, sizeof infos[k]);
    infos[k].dtype = p->dtype[v->index];
    infos[k].rank = p->rank[v->index];
    memcpy(infos[k].dims, p->dims[v->index], sizeof infos[k].dims);
    in[k] = &infos[k];
  }
  for (uint32_t j = 0; j < n->n_outputs; j++) {
    memset(&oinfo[j], 0, sizeof oinfo[j]);
    oinfo[j].rank = -1;
    out[j] = n->outputs[j] ? &oinfo[j] : NULL;
  }
  MscOpCtx ctx = {0};
  ctx.node = n;
  ctx.in = in;
  ctx.n_in = n->n_inputs;
  ctx.out = out;
  ctx.n_out = n->n_outputs;
  ctx.static_infer = 1;
  MscStatus st = n->op->infer(&ctx);
  if (st == MSC_OK) st = ctx.status;
  if (st != MSC_OK) {
    cpu_host->message_set(msg, "node '%s' (%s): %s", n->name, n->op_type, ctx.message[0] ? ctx.message : "infer failed");
    return st;
  }
  for (uint32_t j = 0; j < n->n_outputs; j++) {
    if (!out[j]) continue;
    uint32_t v = n->outputs[j]->index;
    p->dtype[v] = oinfo[j].dtype;
    p->rank[v] = oinfo[j].rank;
    memcpy(p->dims[v], oinfo[j].dims, sizeof p->dims[v]);
  }
  return MSC_OK;
}

static int64_t numel_v(const CpuShapePlan *p, int32_t v) {
  return p->rank[v] >= 0 ? msc_shape_numel(p->rank[v], p->dims[v]) : -1;
}

static MscStatus fail(const CpuStep *s, MscMessage *msg, const char *what) {
  cpu_host->message_set(msg, "node '%s' (%s): int8: %s", s->node->name, s->node->op_type, what);
  return MSC_ERR_INVALID_ARG;
}

/* b (full rank-aligned dims @bd) is one value per plane of y: dims after
 * some axis all 1, dims before it equal to y's. Returns the planes, -1. */
static int64_t plane_of(const CpuShapePlan *p, int32_t b, int32_t y) {
  int32_t r = p->rank[y], br = p->rank[b];
  if (br > r) return -1;
  int64_t d[MSC_MAX_RANK];
  for (int32_t i = 0; i < r; i++) d[i] = i - (r - br) >= 0 ? p->dims[b][i - (r - br)] : 1;
  int32_t k = r;
  while (k > 0 && d[k - 1] == 1) k--;
  for (int32_t i = 0; i < k; i++)
    if (d[i] != p->dims[y][i]) return -1;
  return msc_shape_numel(k, p->dims[y]);
}

/* Output dims of region steps (elementwise: the inputs' broadcast shape;
 * GAPT: [N, C, 1...]) and of CATFILL (the Concat of its inputs and zero
 * constants), set in @p without running the float nodes' inference. */
static MscStatus region_dims(CpuModel *m, CpuShapePlan *p, const CpuStep *s, MscMessage *msg) {
  const CpuQStep *q = s->q;
  int32_t y = s->y, r = 0;
  int64_t d[MSC_MAX_RANK];
  if (q->kind == CPU_Q_CATFILL) {
    const MscNode *n = q->op;
    int64_t axis = 0;
    for (uint32_t i = 0; i < n->n_attrs; i++)
      if (!strcmp(n->attrs[i].name, "axis")) axis = n->attrs[i].i;
    for (uint32_t k = 0; k < q->n_cin; k++) {
      const MscTensor *c = q->cin[k] < 0 ? m->konst[n->inputs[k]->index] : NULL;
      int32_t xv = q->cin[k] >= 0 ? q->xs[q->cin[k]] : -1;
      int32_t rk = c ? c->rank : p->rank[xv];
      const int64_t *kd = c ? c->dims : p->dims[xv];
      if (k == 0) {
        r = rk;
        if (axis < 0) axis += r;
        if (axis < 0 || axis >= r) return fail(s, msg, "concat axis out of range");
        memcpy(d, kd, sizeof(int64_t) * (size_t)r);
        continue;
      }
      if (rk != r) return fail(s, msg, "concat inputs of different ranks");
      for (int32_t i = 0; i < r; i++)
        if (i != axis && kd[i] != d[i]) return fail(s, msg, "concat inputs of different shapes");
      d[axis] += kd[axis];
    }
  } else if (q->kind == CPU_Q_GAPT || q->n_x == 1) {
    r = p->rank[q->xs[0]];
    memcpy(d, p->dims[q->xs[0]], sizeof(int64_t) * (size_t)r);
    if (q->kind == CPU_Q_GAPT)
      for (int32_t i = 2; i < r; i++) d[i] = 1;
  } else {
    int32_t a = q->xs[0], b = q->xs[1];
    r = MAX(p->rank[a], p->rank[b]);
    for (int32_t i = 0; i < r; i++) {
      int32_t ia = i - (r - p->rank[a]), ib = i - (r - p->rank[b]);
      int64_t da = ia >= 0 ? p->dims[a][ia] : 1, db = ib >= 0 ? p->dims[b][ib] : 1;
      if (da != db && da != 1 && db != 1) return fail(s, msg, "inputs do not broadcast");
      d[i] = da == 1 ? db : da;
    }
  }
  p->rank[y] = r;
  memcpy(p->dims[y], d, sizeof(int64_t) * (size_t)r);
  p->dtype[y] = q->ydt;
  return MSC_OK;
}

MscStatus cpu_q_prepare(CpuModel *m, CpuShapePlan *p, uint32_t si, size_t *ws, MscMessage *msg) {
  CpuStep *s = &m->steps[si];
  CpuQStep *q = s->q;
  *ws = 0;
  for (uint32_t k = 0; k < q->n_x; k++)
    if (p->rank[q->xs[k]] < 0 || numel_v(p, q->xs[k]) < 0 ||
        !(q->kind == CPU_Q_QUANT ? p->dtype[q->xs[k]] == MSC_DTYPE_FLOAT32
                                 : (p->dtype[q->xs[k]] == MSC_DTYPE_UINT8 || p->dtype[q->xs[k]] == MSC_DTYPE_INT8)))
      return fail(s, msg, "input shape or dtype unknown");
  if (q->kind == CPU_Q_DEQ && p->dtype[q->xs[0]] != q->xdt) return fail(s, msg, "input dtype differs from its zero point's");
  if (q->kind == CPU_Q_CONV) {
    int32_t x = q->xs[0];
    CpuQConvDesc d = {0};
    int64_t yd[MSC_MAX_RANK];
    int32_t yr;
    if (p->dtype[x] != q->xdt) return fail(s, msg, "input dtype differs from its zero point's");
    if (q->gemm) {
      int32_t r = p->rank[x];
      if (r < 1 || p->dims[x][r - 1] != s->C) return fail(s, msg, "input's last dim differs from the weights' K");
      d.N = numel_v(p, x) / s->C;
      d.C = s->C, d.H = d.W = 1;
      yr = r;
      memcpy(yd, p->dims[x], sizeof yd);
      yd[r - 1] = s->M;
      d.kh = d.kw = d.sh = d.sw = d.dh = d.dw = 1;
      d.group = 1;
    } else {
      MscConv2dParams cp;
      if (p->rank[x] != 4) return fail(s, msg, "input rank is not 4");
      MscStatus st = cpu_conv_params(s, p->dims[x], &cp, msg);
      if (st != MSC_OK) return st;
      d.N = cp.batch, d.C = cp.in_channels, d.H = cp.in_h, d.W = cp.in_w, d.kh = cp.kernel_h, d.kw = cp.kernel_w;
      d.sh = cp.stride_h, d.sw = cp.stride_w, d.dh = cp.dilation_h, d.dw = cp.dilation_w;
      d.pt = cp.pad_top, d.pl = cp.pad_left, d.pb = cp.pad_bottom, d.pr = cp.pad_right, d.group = cp.groups;
      yr = 4;
    }
    d.M = s->M;
    d.xdt = q->xdt, d.zx = q->zx, d.ydt = q->ydt, d.zy = q->zy, d.lo = q->lo, d.hi = q->hi;
    d.post = q->ydt == MSC_DTYPE_INT32 ? NULL : q->lut;
    if (q->fvadd) { /* fused residual add: the other input has the conv output's dtype and size (checked below) */
      if (q->ydt == MSC_DTYPE_INT32 || p->dtype[q->xs[1]] != q->va.adt[!q->vside])
        return fail(s, msg, "fused residual add: input dtype differs from its zero point's");
      d.vadd = &q->va;
      d.vside = q->vside;
    }
    GError *e = NULL;
    CpuQConv *c = cpu_qconv_new(&d, q->w, cpu_qkernel_pick(m->isa, q->w), &e);
    if (!c) {
      MscStatus st = fail(s, msg, e ? e->message : "no plan");
      g_clear_error(&e);
      return st;
    }
    if (!q->gemm) {
      yd[0] = d.N, yd[1] = d.M, yd[2] = c->OH, yd[3] = c->OW;
    }
    if (q->fvadd && (p->rank[q->xs[1]] != yr || memcmp(p->dims[q->xs[1]], yd, sizeof(int64_t) * (size_t)yr))) {
      cpu_qconv_free(c);
      return fail(s, msg, "fused residual add: inputs of different shapes");
    }
    p->rank[s->y] = yr;
    memcpy(p->dims[s->y], yd, sizeof yd);
    p->dtype[s->y] = (q->lut || q->fvadd) && q->ydt != MSC_DTYPE_INT32 ? q->pydt : q->ydt;
    p->nbytes[s->y] = (size_t)msc_shape_numel(yr, yd) * (q->ydt == MSC_DTYPE_INT32 ? 4 : 1);
    p->qprep[si] = c;
    *ws = cpu_qconv_workspace(c, m->threads);
    double macs = (double)msc_shape_numel(yr, yd) * (double)(c->K);
    /* the fp32 convs' bar (plan.c): 1e6 MACs before the pool's workers spun through the run
     * (msc_threadpool_hold) left PP-OCR cls int8 at 2 threads no faster than at 1 */
    p->use_pool[si] = 2.0 * macs >= p->pool_min_flops;
    return MSC_OK;
  }
  if (q->region || q->kind == CPU_Q_CATFILL) {
    MscStatus st = region_dims(m, p, s, msg);
    if (st != MSC_OK) return st;
  } else {
    for (uint32_t i = 0; i < q->n_nodes; i++) {
      MscStatus st = infer_node(m, p, q->nodes[i], msg);
      if (st != MSC_OK) return st;
    }
  }
  int32_t y = s->y;
  int64_t ny = numel_v(p, y);
  /* the MaxPool's value holds the 8-bit max pool (a region leaf), or the float values of the max ranks */
  if (q->ownpool && ny >= 0) p->dtype[y] = q->ydt;
  if (ny < 0 || p->dtype[y] != q->ydt) return fail(s, msg, "output shape not inferred");
  p->nbytes[y] = (size_t)ny * (q->ydt == MSC_DTYPE_FLOAT32 ? sizeof(float) : 1); /* DEQ, FLUT, rank MaxPool */
  QPrep *r = g_new0(QPrep, 1);
  r->numel = ny;
  gboolean ok = TRUE;
  switch (q->kind) {
  case CPU_Q_QUANT:
    if (q->nhwc) {
      const int32_t x = q->xs[0];
      const int64_t *xd = p->dims[x], *yd = p->dims[y];
      ok = p->rank[x] == 4 && p->rank[y] == 4 && yd[0] == xd[0] && yd[1] == xd[3] && yd[2] == xd[1] && yd[3] == xd[2];
      if (!ok) break;
      r->qn = xd[0], r->qh = xd[1], r->qw = xd[2], r->qc = xd[3];
      int64_t wc = r->qw * r->qc, k = 1;
      while (wc > 0 && (k * wc) % 64) k++; /* rows per piece: k * W * C a multiple of 64 (k <= 64) */
      r->qrows = k;
      r->qper = 2 * a64((size_t)(k * wc) * sizeof(float));
      r->qaff = m->kern ? m->kern->affine_act : NULL;
      if (q->aff && !r->qaff) {
        ok = FALSE;
        break;
      }
      *ws = r->qper * (size_t)MAX(m->threads, 1);
      p->use_pool[si] = ny >= 2 * SPAN_CHUNK;
      break;
    }
    /* fall through */
  case CPU_Q_LUT1:
  case CPU_Q_FLUT:
  case CPU_Q_DEQ:
    ok = numel_v(p, q->xs[0]) == ny;
    p->use_pool[si] = ny >= 2 * SPAN_CHUNK; /* span_all's pieces */
    break;
  case CPU_Q_LUT2: {
    int64_t na = numel_v(p, q->xs[0]), nb = numel_v(p, q->xs[1]);
    if (na == ny && nb == ny) r->bmode = QB_SAME, p->use_pool[si] = ny >= 2 * SPAN_CHUNK;
    else if (na == ny && nb == 1) r->bmode = QB_B_SCALAR;
    else if (nb == ny && na == 1) r->bmode = QB_A_SCALAR;
    else if (na == ny && (r->planes = plane_of(p, q->xs[1], y)) > 0 && r->planes == nb) r->bmode = QB_B_PLANE;
    else if (nb == ny && (r->planes = plane_of(p, q->xs[0], y)) > 0 && r->planes == na) r->bmode = QB_A_PLANE;
    else ok = FALSE;
    if (ok && r->planes) r->inner = ny / r->planes;
    if (ok && r->planes > 1 && ny >= SPAN_CHUNK) p->use_pool[si] = 1; /* planes over the pool (planes_all) */
    if (ok && (r->bmode == QB_B_PLANE || r->bmode == QB_B_SCALAR)) {
      r->lut_t = g_malloc(65536);
      for (int a = 0; a < 256; a++)
        for (int b = 0; b < 256; b++) r->lut_t[b << 8 | a] = q->lut[a << 8 | b];
    }
    break;
  }
  case CPU_Q_MAXPOOL: {
    int32_t x = q->xs[0];
    const MscNode *n = q->op;
    if (p->rank[x] != 4 || p->rank[y] != 4) {
      ok = FALSE;
      break;
    }
    MscOpCtx ctx = {0};
    ctx.node = n;
    ctx.n_in = 1;
    MscWindow win;
    if (msc_window_from_attrs(&ctx, 2, p->dims[x] + 2, NULL, 1, &win) != MSC_OK || ctx.status != MSC_OK ||
        win.out[0] != p->dims[y][2] || win.out[1] != p->dims[y][3]) {
      ok = FALSE;
      break;
    }
    CpuPool2d *g = &r->pool;
    g->H = p->dims[x][2], g->W = p->dims[x][3], g->OH = p->dims[y][2], g->OW = p->dims[y][3];
    g->kh = win.kernel[0], g->kw = win.kernel[1], g->sh = win.stride[0], g->sw = win.stride[1];
    g->dh = win.dilation[0], g->dw = win.dilation[1], g->pt = win.pads[0], g->pl = win.pads[1];
    r->planes = p->dims[x][0] * p->dims[x][1];
    /* one column-max row per thread, and with float output (ftab: a MaxPool of order ranks) the plane's
     * bytes before their values */
    *ws = (size_t)(g->W + 64 + (q->ftab ? g->OH * g->OW + 64 : 0)) * (size_t)MAX(m->threads, 1);
    /* the pool from 2e5 window elements (~60 us on one core): SqueezeNet's 3x3/2 pools of 0.8e6 and 0.4e6
     * ran on one thread at 2 under the earlier 1e6 */
    p->use_pool[si] = r->planes > 1 && (double)r->planes * (double)(g->OH * g->OW * g->kh * g->kw) >= 2e5;
    break;
  }
  case CPU_Q_CATFILL: {
    int64_t axis = 0;
    for (uint32_t i = 0; i < q->op->n_attrs; i++)
      if (!strcmp(q->op->attrs[i].name, "axis")) axis = q->op->attrs[i].i;
    if (axis < 0) axis += p->rank[y];
    r->outer = msc_shape_numel((int32_t)axis, p->dims[y]);
    for (uint32_t k = 0; k < q->n_cin && ok; k++) {
      int64_t nk = q->cin[k] < 0 ? msc_tensor_numel(m->konst[q->op->inputs[k]->index]) : numel_v(p, q->xs[q->cin[k]]);
      r->cat_inner[k] = r->outer ? nk / r->outer : 0;
    }
    break;
  }
  case CPU_Q_CONCAT: {
    int32_t rk = p->rank[y];
    int64_t axis = 0;
    for (uint32_t i = 0; i < q->op->n_attrs; i++)
      if (!strcmp(q->op->attrs[i].name, "axis")) axis = q->op->attrs[i].i;
    if (axis < 0) axis += rk;
    if (axis < 0 || axis >= rk) {
      ok = FALSE;
      break;
    }
    r->outer = msc_shape_numel((int32_t)axis, p->dims[y]);
    for (uint32_t k = 0; k < q->n_x && ok; k++) r->cat_inner[k] = r->outer ? numel_v(p, q->xs[k]) / r->outer : 0;
    p->use_pool[si] = numel_v(p, y) >= 2 * CAT_PIECE; /* pieces for both threads (concat_task) */
    break;
  }
  case CPU_Q_GAP:
  case CPU_Q_GAPT: {
    int32_t x = q->xs[0];
    if (p->rank[x] < 3) {
      ok = FALSE;
      break;
    }
    r->planes = p->dims[x][0] * p->dims[x][1];
    r->inner = r->planes ? numel_v(p, x) / r->planes : 0;
    ok = r->planes == ny;
    p->use_pool[si] = r->planes > 1 && numel_v(p, x) >= SPAN_CHUNK; /* planes_all */
    if (ok && q->kind == CPU_Q_GAPT) {
      int emin = INT32_MAX;
      double amax = 0;
      for (int v = 0; v < 256; v++) {
        float f = q->ftab[v];
        if (f == 0.0f || !isfinite(f)) {
          if (!isfinite(f)) emin = INT32_MIN;
          continue;
        }
        int e;
        frexpf(f, &e);
        emin = MIN(emin, MAX(e - 24, -149));
        amax = MAX(amax, fabs((double)f));
      }
      if (emin == INT32_MAX) emin = 0; /* all zero */
      if (emin != INT32_MIN && amax * (double)r->inner < ldexp(1.0, 52 + emin)) {
        r->gu = ldexp(1.0, emin);
        for (int v = 0; v < 256; v++) r->gk[v] = (int64_t)((double)q->ftab[v] / r->gu);
        r->gexact = 1;
      }
    }
    break;
  }
  case CPU_Q_PAD: {
    int32_t x = q->xs[0], rk = p->rank[x];
    int64_t pads[2 * MSC_MAX_RANK] = {0};
    float fill;
    if (rk < 1 || p->rank[y] != rk || !cpu_pad_const(m, q->op, rk, pads, &fill)) {
      ok = FALSE;
      break;
    }
    r->r = rk;
    int64_t st = 1;
    for (int32_t d = rk - 1; d >= 0; d--) {
      r->xd[d] = p->dims[x][d];
      r->pb[d] = pads[d];
      r->ost[d] = st;
      st *= p->dims[y][d];
      if (p->dims[y][d] != p->dims[x][d] + pads[d] + pads[d + rk]) ok = FALSE;
    }
    p->use_pool[si] = ny >= 2 * SPAN_CHUNK; /* rows over the pool (pad_task) */
    break;
  }
  case CPU_Q_RESIZE: {
    const MscNode *n = q->op;
    const int32_t x = q->xs[0], rv = (int32_t)n->outputs[0]->index;
    MscTensor xt = {0};
    xt.dtype = MSC_DTYPE_FLOAT32;
    xt.rank = p->rank[x];
    memcpy(xt.dims, p->dims[x], sizeof xt.dims);
    const MscTensor *in[4] = {&xt, NULL, NULL, NULL};
    for (uint32_t i = 1; i < n->n_inputs && i < 4; i++)
      if (n->inputs[i]) r->rk[i] = in[i] = cpu_plan_konst(m, p, n->inputs[i]->index);
    MscOpCtx ctx = {0};
    ctx.node = n;
    ctx.in = in;
    ctx.n_in = n->n_inputs < 4 ? n->n_inputs : 4;
    r->rp = msc_resize_planes_new(&ctx);
    const int64_t nx = numel_v(p, x);
    if (n->n_inputs > 4 || p->rank[rv] != p->rank[y] || numel_v(p, rv) != ny || nx < 0) {
      ok = FALSE;
      break;
    }
    r->ryr = p->rank[rv];
    memcpy(r->ryd, p->dims[rv], sizeof r->ryd);
    if (r->rp && msc_resize_planes_count(r->rp) > 0) { /* per thread: a float input plane, the resize scratch, a
                                                         * float output plane */
      r->planes = msc_resize_planes_count(r->rp);
      r->inner = nx / r->planes, r->outer = ny / r->planes;
      r->rs_xf = a64((size_t)r->inner * sizeof(float));
      r->rs_yf = r->rs_xf + a64(msc_resize_planes_tmp(r->rp) * sizeof(float));
      r->rs_per = r->rs_yf + a64((size_t)r->outer * sizeof(float));
      *ws = r->rs_per * (size_t)MAX(m->threads, 1);
      p->use_pool[si] = r->planes > 1 && ny >= 2 * SPAN_CHUNK;
    } else { /* the whole float input and output */
      msc_resize_planes_free(r->rp);
      r->rp = NULL;
      r->rs_xf = a64((size_t)nx * sizeof(float));
      *ws = r->rs_xf + a64((size_t)ny * sizeof(float));
    }
    break;
  }
  default: ok = FALSE;
  }
  if (!ok) {
    msc_resize_planes_free(r->rp);
    g_free(r);
    return fail(s, msg, "shapes not supported by the int8 step");
  }
  p->qprep[si] = r;
  return MSC_OK;
}

void cpu_q_prep_free(const CpuStep *s, void *prep) {
  if (!prep) return;
  if (s->q->kind == CPU_Q_CONV) {
    cpu_qconv_free(prep);
    return;
  }
  g_free(((QPrep *)prep)->lut_t);
  msc_resize_planes_free(((QPrep *)prep)->rp);
  g_free(prep);
}

/* Max over raw values (signed ones biased by 0x80 so bytes compare
 * unsigned): per output row, the column max over the window's rows, then
 * the window max along the row; out-of-range positions never win. */
/* TRUE when the 256-entry table maps every value to itself. */
static gboolean lut_identity(const uint8_t *lut) {
  for (int v = 0; v < 256; v++)
    if (lut[v] != v) return FALSE;
  return TRUE;
}

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
/* Outputs [o0, o1) of one row of a 2- or 3-wide stride-2 max pool straight from its @nr input rows:
 * per step the column max of 32 (then 16) bytes of each row, then each word's two bytes and, 3-wide,
 * the byte two further on, kept in the low byte and packed: 16 (8) outputs. The third byte comes as the
 * high byte of the words loaded one byte further on (shifted down once after the row max), so a step at
 * output o reads row bytes [c0 + 2 o, c0 + 2 o + 32 (16) + kw - 2): inside the windows of outputs
 * o .. o + 15 (7); the steps cover [o0, o1), the last step moved back to end there (rewriting some
 * outputs with the same bytes). (The third byte loaded at + 2 read one byte past the last window, so the
 * last 3-wide output of every row took the scalar path: ~1% of SqueezeNet's int8 time.) Signed values
 * compare signed (vpmaxsb). Returns the first output not written (o1 when a step fitted, else o0). */
#define MP_STEP(V, LOADU, MAXS, MAXU, SRLI, AND, STORE_PACKED)                                                    \
  do {                                                                                                        \
    const int64_t c = c0 + 2 * o;                                                                             \
    V v = LOADU(rows[0] + c), w = v;                                                                          \
    if (kw == 3) w = LOADU(rows[0] + c + 1);                                                                  \
    for (int r = 1; r < nr; r++) {                                                                            \
      const V a = LOADU(rows[r] + c);                                                                         \
      v = sgn ? MAXS(v, a) : MAXU(v, a);                                                                      \
      if (kw == 3) {                                                                                          \
        const V b = LOADU(rows[r] + c + 1);                                                                   \
        w = sgn ? MAXS(w, b) : MAXU(w, b);                                                                    \
      }                                                                                                       \
    }                                                                                                         \
    if (kw == 3) w = SRLI(w, 8); /* each word's high byte: the byte two on from the word's first */          \
    V h = sgn ? MAXS(v, SRLI(v, 8)) : MAXU(v, SRLI(v, 8));                                                    \
    if (kw == 3) h = sgn ? MAXS(h, w) : MAXU(h, w);                                                           \
    STORE_PACKED(yr + o, AND(h)); /* words 0..255: packus keeps the bytes as they are */                     \
  } while (0)
#define MP_LD256(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define MP_LD128(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define MP_AND256(h) _mm256_and_si256((h), _mm256_set1_epi16(0xff))
#define MP_AND128(h) _mm_and_si128((h), _mm_set1_epi16(0xff))
#define MP_ST256(p, h) \
  _mm_storeu_si128((__m128i *)(void *)(p), _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi16((h), (h)), 0x08)))
#define MP_ST128(p, h) _mm_storel_epi64((__m128i *)(void *)(p), _mm_packus_epi16((h), (h)))
__attribute__((target("avx2"))) static int64_t mp_row_s2_avx2(const uint8_t *const *rows, int nr, int64_t c0,
                                                               int kw, int sgn, uint8_t *yr, int64_t o0, int64_t o1) {
  const int64_t end = o1; /* outputs the steps may write */
  if (end - o0 >= 16) {
    for (int64_t o = o0;; o += 16) {
      if (o + 16 > end) o = end - 16;
      MP_STEP(__m256i, MP_LD256, _mm256_max_epi8, _mm256_max_epu8, _mm256_srli_epi16, MP_AND256, MP_ST256);
      if (o + 16 >= end) return end;
    }
  }
  if (end - o0 >= 8) {
    for (int64_t o = o0;; o += 8) {
      if (o + 8 > end) o = end - 8;
      MP_STEP(__m128i, MP_LD128, _mm_max_epi8, _mm_max_epu8, _mm_srli_epi16, MP_AND128, MP_ST128);
      if (o + 8 >= end) return end;
    }
  }
  return o0;
}
#undef MP_STEP
#undef MP_LD256
#undef MP_LD128
#undef MP_AND256
#undef MP_AND128
#undef MP_ST256
#undef MP_ST128
#endif

/* One output of a max pool from the valid rows @rows, window columns iw0 + j * dw (those in [0, W)). */
static inline uint8_t mp_one(const uint8_t *const *rows, int nr, int64_t iw0, int64_t kw, int64_t dw, int64_t W,
                             uint8_t bias) {
  uint8_t best = 0;
  for (int r = 0; r < nr; r++)
    for (int64_t j = 0; j < kw; j++) {
      const int64_t iw = iw0 + j * dw;
      if (iw < 0 || iw >= W) continue;
      const uint8_t v = rows[r][iw] ^ bias;
      best = v > best ? v : best;
    }
  return best ^ bias;
}

static void maxpool_plane(const CpuPool2d *g, const uint8_t *restrict x, uint8_t *restrict y, int sgn,
                          const uint8_t *restrict lut, int ident, uint8_t *restrict colmax /* W */) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  /* 2- and 3-wide stride 2 (SqueezeNet, BlazeFace, ResNet stems) on AVX2: every output row straight
   * from its input rows (the column-max pass below stored and reloaded each row kh times: the
   * pools were 2x ORT's NHWC ones in SqueezeNet's QDQ profile) */
  if (g->sw == 2 && g->dw == 1 && (g->kw == 2 || g->kw == 3) && g->kh <= 8 && cpu_q_avx2()) {
    const int64_t W = g->W, H = g->H, OW = g->OW, OH = g->OH, kh = g->kh, kw = g->kw, sh = g->sh, dh = g->dh;
    const int64_t pt = g->pt, pl = g->pl;
    const uint8_t bias = sgn ? 0x80 : 0;
    int64_t lo = (pl + 1) / 2, hi = (W - 1 + pl - (kw - 1)) / 2 + 1; /* windows inside the row: [lo, hi) */
    lo = MIN(lo, OW), hi = MAX(lo, MIN(hi, OW));
    for (int64_t oh = 0; oh < OH; oh++) {
      const uint8_t *rows[8];
      int nr = 0;
      for (int64_t i = 0; i < kh; i++) {
        const int64_t ih = oh * sh - pt + i * dh;
        if (ih >= 0 && ih < H) rows[nr++] = x + ih * W;
      }
      uint8_t *restrict yr = y + oh * OW;
      if (nr == 0) { /* a window of padding only: the max over nothing, as the plane path (0 ^ bias) */
        memset(yr, bias, (size_t)OW);
        continue;
      }
      int64_t o = mp_row_s2_avx2(rows, nr, -pl, (int)kw, sgn, yr, lo, hi);
      for (int64_t ow = 0; ow < lo; ow++) yr[ow] = mp_one(rows, nr, 2 * ow - pl, kw, 1, W, bias);
      for (; o < OW; o++) yr[o] = mp_one(rows, nr, 2 * o - pl, kw, 1, W, bias);
    }
    if (!ident) cpu_qlut_rows(lut, y, 1, OH * OW, OH * OW);
    return;
  }
#endif
  /* geometry in locals: byte stores may alias *g, which would keep the loops scalar */
  const uint8_t bias = sgn ? 0x80 : 0;
  const int64_t W = g->W, H = g->H, OW = g->OW, OH = g->OH, kh = g->kh, kw = g->kw, sh = g->sh, sw = g->sw;
  const int64_t dh = g->dh, dw = g->dw, pt = g->pt, pl = g->pl;
  /* windows fully inside the row: [lo, hi) */
  int64_t lo = (pl + sw - 1) / sw, hi = (W - 1 + pl - (kw - 1) * dw) / sw + 1;
  lo = MIN(lo, OW), hi = MAX(lo, MIN(hi, OW));
  for (int64_t oh = 0; oh < OH; oh++) {
    int any = 0;
    for (int64_t i = 0; i < kh; i++) {
      int64_t ih = oh * sh - pt + i * dh;
      if (ih < 0 || ih >= H) continue;
      const uint8_t *restrict row = x + ih * W;
      if (!any)
        for (int64_t w = 0; w < W; w++) colmax[w] = row[w] ^ bias;
      else
        for (int64_t w = 0; w < W; w++) {
          uint8_t v = row[w] ^ bias;
          colmax[w] = v > colmax[w] ? v : colmax[w];
        }
      any = 1;
    }
    uint8_t *restrict yr = y + oh * OW;
    const uint8_t *restrict c0 = colmax + lo * sw - pl;
    if (sw == 2 && dw == 1 && kw == 2) { /* 2-wide stride 2 (BlazeFace): max of byte pairs, 8 per step */
      int64_t o = 0;
#if defined(__SSE2__)
      const __m128i m = _mm_set1_epi16(0xff);
      for (; o + 8 <= hi - lo; o += 8) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(c0 + 2 * o));
        v = _mm_and_si128(_mm_max_epu8(v, _mm_srli_epi16(v, 8)), m);
        v = _mm_xor_si128(_mm_packus_epi16(v, v), _mm_set1_epi8((char)bias));
        _mm_storel_epi64((__m128i *)(void *)(yr + lo + o), v);
      }
#endif
      for (; o < hi - lo; o++) {
        uint8_t a = c0[2 * o], b = c0[2 * o + 1];
        yr[lo + o] = (a > b ? a : b) ^ bias;
      }
    } else if (sw == 2 && dw == 1 && kw == 3) { /* 3-wide stride 2 (SqueezeNet, ResNet stems): 8 per step */
      int64_t o = 0;
#if defined(__SSE2__)
      const __m128i m = _mm_set1_epi16(0xff);
      for (; o + 8 <= hi - lo; o += 8) { /* word k: max(bytes 2k, 2k + 1 of v, byte 2k of v shifted by 2) */
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(c0 + 2 * o));
        __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(c0 + 2 * o + 2));
        v = _mm_and_si128(_mm_max_epu8(_mm_max_epu8(v, _mm_srli_epi16(v, 8)), w), m);
        v = _mm_xor_si128(_mm_packus_epi16(v, v), _mm_set1_epi8((char)bias));
        _mm_storel_epi64((__m128i *)(void *)(yr + lo + o), v);
      }
#endif
      for (; o < hi - lo; o++) {
        uint8_t a = c0[2 * o], b = c0[2 * o + 1], c = c0[2 * o + 2];
        a = a > b ? a : b;
        yr[lo + o] = (a > c ? a : c) ^ bias;
      }
    } else
      for (int64_t o = 0; o < hi - lo; o++) {
        uint8_t best = c0[o * sw];
        for (int64_t j = 1; j < kw; j++) best = c0[o * sw + j * dw] > best ? c0[o * sw + j * dw] : best;
        yr[lo + o] = best ^ bias;
      }
    for (int64_t ow = 0; ow < OW; ow++) {
      if (ow == lo) ow = hi;
      if (ow >= OW) break;
      uint8_t best = 0;
      for (int64_t j = 0; j < kw; j++) {
        int64_t iw = ow * sw - pl + j * dw;
        if (iw < 0 || iw >= W) continue;
        best = colmax[iw] > best ? colmax[iw] : best;
      }
      yr[ow] = (uint8_t)(best ^ bias);
    }
  }
  if (!ident) cpu_qlut_rows(lut, y, 1, OH * OW, OH * OW); /* the requantization table, once over the plane */
}

typedef struct {
  const CpuPool2d *g;
  const uint8_t *x, *lut;
  uint8_t *y, *ws;
  int sgn, ident;
  const float *ftab; /* nullable: float output ftab[byte] */
} MpJob;

static void flut_span(const float *ft, const uint8_t *x, float *y, int64_t n);

static void maxpool_task(void *ctx, int64_t pl, int thread) {
  const MpJob *j = ctx;
  const CpuPool2d *g = j->g;
  const int64_t np = g->OH * g->OW;
  uint8_t *ws = j->ws + (size_t)thread * (size_t)(g->W + 64 + (j->ftab ? np + 64 : 0));
  if (j->ftab) {
    maxpool_plane(g, j->x + pl * g->H * g->W, ws + g->W + 64, j->sgn, j->lut, j->ident, ws);
    flut_span(j->ftab, ws + g->W + 64, (float *)(void *)j->y + pl * np, np);
    return;
  }
  maxpool_plane(g, j->x + pl * g->H * g->W, j->y + pl * np, j->sgn, j->lut, j->ident, ws);
}

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
/* QuantizeLinear as ops/quantize.c computes it (x / s; NaN -> 0; clamped to +-2^20; rounded half to
 * even; + z; saturated), 8 lanes: cvtps2dq rounds half to even like the 1.5 * 2^23 trick for
 * |v| <= 2^20, and + z then the saturating packs equal the float clamp to the type's range. */
__attribute__((target("avx2"))) static void quant_avx2(const float *x, uint8_t *y, int64_t n, float s, int32_t z,
                                                       int sgn) {
  const __m256 vs = _mm256_set1_ps(s), big = _mm256_set1_ps(1048576.0f), nbig = _mm256_set1_ps(-1048576.0f);
  const __m256i vz = _mm256_set1_epi32(z);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i r[2];
    for (int h = 0; h < 2; h++) {
      __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i + 8 * h), vs);
      v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> 0 */
      v = _mm256_min_ps(_mm256_max_ps(v, nbig), big);
      r[h] = _mm256_add_epi32(_mm256_cvtps_epi32(v), vz);
    }
    __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(r[0], r[1]), 0xd8); /* 16 int16 in order */
    __m128i lo = _mm256_castsi256_si128(p), hi = _mm256_extracti128_si256(p, 1);
    __m128i b = sgn ? _mm_packs_epi16(lo, hi) : _mm_packus_epi16(lo, hi);
    _mm_storeu_si128((__m128i *)(void *)(y + i), b);
  }
  const float lo = sgn ? -128.0f : 0.0f, hi = sgn ? 127.0f : 255.0f, zf = (float)z;
  for (; i < n; i++) {
    float v = x[i] / s;
    v = v == v ? v : 0.0f;
    v = v < -1048576.0f ? -1048576.0f : v > 1048576.0f ? 1048576.0f : v;
    v = __builtin_nearbyintf(v) + zf;
    v = v < lo ? lo : v > hi ? hi : v;
    y[i] = sgn ? (uint8_t)(int8_t)v : (uint8_t)v;
  }
}

/* y[i] = ft[x[i]] (floats), 8 lanes through vgatherdps: the scalar loop's one 4-byte store per element
 * ran at ~4.5 cycles per element here (its stores alias the table's lines modulo 4K). */
__attribute__((target("avx2"))) static void flut_avx2(const float *ft, const uint8_t *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(x + i)));
    _mm256_storeu_ps(y + i, _mm256_i32gather_ps(ft, idx, 4));
  }
  for (; i < n; i++) y[i] = ft[x[i]];
}

/* DequantizeLinear: (float)(x - z) * s, 8 lanes. */
__attribute__((target("avx2"))) static void deq_avx2(const uint8_t *x, float *y, int64_t n, float s, int32_t z,
                                                     int sgn) {
  const __m256 vs = _mm256_set1_ps(s);
  const __m256i vz = _mm256_set1_epi32(z);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(x + i));
    __m256i v = _mm256_sub_epi32(sgn ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b), vz);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(v), vs));
  }
  for (; i < n; i++) y[i] = (float)((sgn ? (int32_t)(int8_t)x[i] : (int32_t)x[i]) - z) * s;
}
#endif

/* y[i] = ft[x[i]] (floats). */
static void flut_span(const float *ft, const uint8_t *x, float *y, int64_t n) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  if (cpu_q_avx2()) {
    flut_avx2(ft, x, y, n);
    return;
  }
#endif
  for (int64_t i = 0; i < n; i++) y[i] = ft[x[i]];
}

/* QuantizeLinear of one value as ops/quantize.c computes it: x / s; NaN -> 0; clamped to +-2^20; rounded
 * half to even (the 1.5 * 2^23 trick: no libm call); + z; saturated to the type. */
static inline uint8_t quant1(float x, float s, int32_t z, int sgn) {
  const float lo = sgn ? -128.0f : 0.0f, hi = sgn ? 127.0f : 255.0f;
  float v = x / s;
  v = v == v ? v : 0.0f;
  v = v < -1048576.0f ? -1048576.0f : v > 1048576.0f ? 1048576.0f : v;
  v = (v + 12582912.0f) - 12582912.0f;
  v += (float)z;
  v = v < lo ? lo : v > hi ? hi : v;
  return sgn ? (uint8_t)(int8_t)v : (uint8_t)v;
}

static void quant_c(const float *x, uint8_t *y, int64_t n, float s, int32_t z, int sgn) {
  for (int64_t i = 0; i < n; i++) y[i] = quant1(x[i], s, z, sgn);
}

/* QuantizeLinear (per tensor) of n floats, AVX2 where the CPU has it (the same bytes as quant_c). */
static void quant_span(const float *x, uint8_t *y, int64_t n, float s, int32_t z, int sgn) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  if (cpu_q_avx2()) {
    quant_avx2(x, y, n, s, z, sgn);
    return;
  }
#endif
  quant_c(x, y, n, s, z, sgn);
}

/* sum of k[row[i]], four independent chains; scalar on purpose (GCC's SSE2 vectorization of the
 * 64-bit table gathers moved every value through the vector unit: slower) */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
static int64_t gk_sum(const int64_t *restrict k, const uint8_t *restrict row, int64_t n) {
  int64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = 0;
  for (; i + 4 <= n; i += 4) s0 += k[row[i]], s1 += k[row[i + 1]], s2 += k[row[i + 2]], s3 += k[row[i + 3]];
  for (; i < n; i++) s0 += k[row[i]];
  return s0 + s1 + s2 + s3;
}

/* y[i] = t[x[i]]: locals and restrict (a byte store may alias anything, which would reload every
 * bound per element), four per iteration. */
static void lut1_span(const uint8_t *restrict t, const uint8_t *restrict x, uint8_t *restrict y, int64_t n) {
  if (n >= 64) {
    cpu_qlut(t, x, y, n);
    return;
  }
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint8_t a = t[x[i]], b = t[x[i + 1]], c = t[x[i + 2]], d = t[x[i + 3]];
    y[i] = a, y[i + 1] = b, y[i + 2] = c, y[i + 3] = d;
  }
  for (; i < n; i++) y[i] = t[x[i]];
}

/* Concat with requantization: every output row (one outer step: the inputs' runs one after the other)
 * is cut into pieces of CAT_PIECE bytes (top of the file), one task each; a piece copies (same scale and zero point) or
 * maps through its input's table (lut1_span: the vector table). ORT's squeezenet QDQ concatenates
 * inputs of different scales: the scalar per-byte loop before took 2% of the model per Concat. */
typedef struct {
  const CpuQStep *q;
  const QPrep *r;
  const MscTensor *const *in;
  uint8_t *y;
  const uint8_t *lut;
  int64_t row, pieces; /* bytes per output row; pieces per row */
} CatJob;

static void concat_task(void *ctx, int64_t t, int thread) {
  (void)thread;
  const CatJob *j = ctx;
  const int64_t o = t / j->pieces, p0 = (t % j->pieces) * CAT_PIECE, p1 = MIN(j->row, p0 + CAT_PIECE);
  int64_t at = 0; /* start of input k's run in the row */
  for (uint32_t k = 0; k < j->q->n_x && at < p1; k++) {
    const int64_t n = j->r->cat_inner[k], a = MAX(p0, at), b = MIN(p1, at + n);
    if (a < b) {
      const uint8_t *x = (const uint8_t *)j->in[k]->data + o * n + (a - at), *tk = j->lut + 256 * k;
      uint8_t *y = j->y + o * j->row + a;
      if (lut_identity(tk)) memcpy(y, x, (size_t)(b - a)); /* same scale and zero point */
      else lut1_span(tk, x, y, b - a);
    }
    at += n;
  }
}

/* The elementwise steps (LUT1, Quantize, Dequantize, same-shape LUT2 / residual add) on elements
 * [i0, i0 + n): each element independent of the others, so any split gives the same bytes. */
typedef struct {
  const CpuQStep *q;
  const uint8_t *lut;
  const void *x, *b;
  void *y;
  int64_t n;
} SpanJob;

static void span_run(const SpanJob *j, int64_t i0, int64_t n) {
  const CpuQStep *q = j->q;
  uint8_t *y = (uint8_t *)j->y + i0;
  switch (q->kind) {
  case CPU_Q_LUT1: lut1_span(j->lut, (const uint8_t *)j->x + i0, y, n); return;
  case CPU_Q_FLUT: flut_span(q->ftab, (const uint8_t *)j->x + i0, (float *)j->y + i0, n); return; /* f(DQ(x)) */
  case CPU_Q_QUANT: quant_span((const float *)j->x + i0, y, n, q->sy, q->zy, q->ydt == MSC_DTYPE_INT8); return;
  case CPU_Q_DEQ: {
    const int sgn = q->xdt == MSC_DTYPE_INT8;
    const uint8_t *x = (const uint8_t *)j->x + i0;
    float *yf = (float *)j->y + i0;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    if (cpu_q_avx2()) {
      deq_avx2(x, yf, n, q->sx, q->zx, sgn);
      return;
    }
#endif
    for (int64_t i = 0; i < n; i++) yf[i] = (float)((sgn ? (int32_t)(int8_t)x[i] : (int32_t)x[i]) - q->zx) * q->sx;
    return;
  }
  default: { /* CPU_Q_LUT2, same shapes */
    const uint8_t *restrict pa = (const uint8_t *)j->x + i0, *restrict pb = (const uint8_t *)j->b + i0,
                            *restrict t2 = j->lut;
    uint8_t *restrict py = y;
    if (q->vadd) {
      cpu_qvadd_span(&q->va, pa, pb, py, n);
      return;
    }
    for (int64_t i = 0; i < n; i++) py[i] = t2[pa[i] << 8 | pb[i]];
    return;
  }
  }
}

static void span_task(void *ctx, int64_t t, int thread) {
  (void)thread;
  const SpanJob *j = ctx;
  const int64_t i0 = t * SPAN_CHUNK;
  span_run(j, i0, MIN(SPAN_CHUNK, j->n - i0));
}

/* One elementwise step over all its elements, in SPAN_CHUNK pieces (over the pool when there are
 * two or more). */
static void span_all(MscThreadPool *pool, const SpanJob *j) {
  cpu_q_for(pool, (j->n + SPAN_CHUNK - 1) / SPAN_CHUNK, span_task, (void *)j);
}

/* The per-plane steps (LUT2 with one operand per plane, GAPT), plane by plane: each plane independent
 * of the others, so any split gives the same bytes. */
typedef struct {
  const CpuQStep *q;
  const QPrep *r;
  const uint8_t *a, *b;
  uint8_t *y;
} PlaneJob;

static void plane_run(const PlaneJob *j, int64_t pl) {
  const CpuQStep *q = j->q;
  const QPrep *r = j->r;
  const int64_t inner = r->inner;
  if (q->kind == CPU_Q_LUT2) {
    if (r->bmode == QB_B_PLANE) lut1_span(r->lut_t + ((size_t)j->b[pl] << 8), j->a + pl * inner, j->y + pl * inner, inner);
    else lut1_span(q->lut + ((size_t)j->a[pl] << 8), j->b + pl * inner, j->y + pl * inner, inner);
    return;
  }
  /* GAPT, as the float kernel: double sum in element order, float mean, then Q */
  const uint8_t *row = j->a + pl * inner;
  const int osgn = q->ydt == MSC_DTYPE_INT8;
  double acc = 0.0;
  if (r->gexact) { /* the same (exact) sum with four independent integer chains */
    acc = (double)gk_sum(r->gk, row, inner) * r->gu;
  } else {
    for (int64_t i = 0; i < inner; i++) acc += q->ftab[row[i]];
  }
  float mean = inner > 0 ? (float)(acc / (double)inner) : 0.0f;
  j->y[pl] = quant1(mean, q->sy, q->zy, osgn);
}

static void plane_task(void *ctx, int64_t t, int thread) {
  (void)thread;
  plane_run(ctx, t);
}

static void planes_all(MscThreadPool *pool, const PlaneJob *j) {
  const int64_t planes = j->r->planes;
  cpu_q_for(pool, planes, plane_task, (void *)j);
}

/* CPU_Q_PAD: output rows (lines of the last axis) [t * PAD_ROWS, + PAD_ROWS): a row inside the input
 * on every leading axis is its pad fill, the input row (copied, or mapped through the requantization
 * table) and the fill; any other row all fill. Rows are independent: any split gives the same bytes
 * (the whole output memset, then the rows copied, took M-LSD's 96 x 161 x 161 pad twice through memory
 * on one thread). */
#define PAD_ROWS ((int64_t)64)
typedef struct {
  const CpuQStep *q;
  const QPrep *r;
  const uint8_t *x;
  uint8_t *y;
  int ident;
} PadJob;

/* Bytes of one output row (the last axis) of a pad. */
static int64_t pad_row(const QPrep *r) {
  return r->r > 1 ? r->ost[r->r - 2] : r->numel;
}

static void pad_task(void *ctx, int64_t t, int thread) {
  (void)thread;
  const PadJob *j = ctx;
  const QPrep *r = j->r;
  const int32_t rk = r->r;
  const int64_t W = r->xd[rk - 1], pl = r->pb[rk - 1], OW = pad_row(r);
  const int64_t orows = r->numel / OW, o0 = t * PAD_ROWS, o1 = MIN(orows, o0 + PAD_ROWS);
  for (int64_t o = o0; o < o1; o++) {
    uint8_t *yr = j->y + o * OW;
    int64_t rem = o, src = 0, xs = 1; /* the input row (src), or -1: all fill */
    for (int32_t d = rk - 2; d >= 0; d--) {
      const int64_t yd = d ? r->ost[d - 1] / r->ost[d] : r->numel / r->ost[0], c = rem % yd - r->pb[d];
      rem /= yd;
      if (c < 0 || c >= r->xd[d]) {
        src = -1;
        break;
      }
      src += c * xs;
      xs *= r->xd[d];
    }
    if (src < 0 || W <= 0) {
      memset(yr, j->q->fill, (size_t)OW);
      continue;
    }
    memset(yr, j->q->fill, (size_t)pl);
    const uint8_t *xr = j->x + src * W;
    if (j->ident) memcpy(yr + pl, xr, (size_t)W);
    else lut1_span(j->q->lut, xr, yr + pl, W);
    memset(yr + pl + W, j->q->fill, (size_t)(OW - pl - W));
  }
}

/* A per-piece step with per-thread scratch (qin_task, resize_task): input (floats or bytes), output bytes. */
typedef struct {
  const CpuQStep *q;
  const QPrep *r;
  const void *x;
  uint8_t *y;
  char *ws;
} ScratchJob;

/* CPU_Q_QUANT of an NHWC input: piece t = rows [t * qrows, + qrows) of the N * H rows of W * C floats:
 * the affine chain (its kernel, from a multiple of 64 elements as the affine step runs it), channels
 * de-interleaved, each channel's row quantized into its NCHW row. */
static void qin_task(void *ctx, int64_t t, int thread) {
  const ScratchJob *j = ctx;
  const CpuQStep *q = j->q;
  const QPrep *r = j->r;
  const int64_t W = r->qw, C = r->qc, H = r->qh, wc = W * C, r0 = t * r->qrows,
                r1 = MIN(r0 + r->qrows, r->qn * H);
  float *a = (float *)(void *)(j->ws + (size_t)thread * r->qper), *b = a + r->qper / 2 / sizeof(float);
  const float *src = (const float *)j->x + r0 * wc;
  if (q->aff) {
    r->qaff(src, a, (r1 - r0) * wc, q->as, q->at, q->aact, q->aa, q->ab);
    src = a;
  }
  const int sgn = q->ydt == MSC_DTYPE_INT8;
  const int64_t R = (r1 - r0) * W; /* positions of the piece */
  cpu_t2_rows_f32((const uint32_t *)(const void *)src, (uint32_t *)(void *)b, R, C, 0, R);
  for (int64_t row = r0; row < r1; row++) {
    const int64_t n = row / H, h = row % H;
    for (int64_t c = 0; c < C; c++)
      quant_span(b + c * R + (row - r0) * W, j->y + ((n * C + c) * H + h) * W, W, q->sy, q->zy, sgn);
  }
}

/* CPU_Q_RESIZE, plane form: plane t dequantized through ftab into the thread's scratch, resized there,
 * quantized into the output. Planes are independent: any split gives the same bytes. */
static void resize_task(void *ctx, int64_t t, int thread) {
  const ScratchJob *j = ctx;
  const QPrep *r = j->r;
  char *w = j->ws + (size_t)thread * r->rs_per;
  float *xf = (float *)(void *)w, *tmp = (float *)(void *)(w + r->rs_xf), *yf = (float *)(void *)(w + r->rs_yf);
  flut_span(j->q->ftab, (const uint8_t *)j->x + t * r->inner, xf, r->inner);
  msc_resize_planes_run(r->rp, xf, yf, 0, 1, tmp);
  quant_span(yf, j->y + t * r->outer, r->outer, j->q->sy, j->q->zy, j->q->ydt == MSC_DTYPE_INT8);
}

/* CPU_Q_RESIZE, whole tensor (shapes the plane form does not take): DQ, the graph's Resize kernel, Q; a
 * failure of the kernel (shapes and constants were checked when planned) is reported, nothing stored. */
static MscStatus resize_whole(const CpuQStep *q, const QPrep *r, const MscTensor *x, uint8_t *y, char *ws,
                              MscMessage *msg) {
  float *xf = (float *)(void *)ws, *yf = (float *)(void *)(ws + r->rs_xf);
  const int64_t nx = msc_tensor_numel(x);
  flut_span(q->ftab, x->data, xf, nx);
  MscTensor xt = *x, yt = {0};
  xt.dtype = MSC_DTYPE_FLOAT32;
  xt.data = xf;
  xt.nbytes = (size_t)nx * sizeof(float);
  yt.dtype = MSC_DTYPE_FLOAT32;
  yt.rank = r->ryr;
  memcpy(yt.dims, r->ryd, sizeof yt.dims);
  yt.data = yf;
  yt.nbytes = (size_t)r->numel * sizeof(float);
  const MscTensor *in[4] = {&xt, r->rk[1], r->rk[2], r->rk[3]};
  MscStatus st = cpu_run_kernel(q->op, in, q->op->n_inputs < 4 ? q->op->n_inputs : 4, &yt, msg);
  if (st == MSC_OK) quant_span(yf, y, r->numel, q->sy, q->zy, q->ydt == MSC_DTYPE_INT8);
  return st;
}

MscStatus cpu_q_run(const CpuStep *s, const void *prep, const MscTensor *const *in, MscTensor *yt, void *ws,
                    MscThreadPool *pool, MscMessage *msg) {
  const CpuQStep *q = s->q;
  if (q->kind == CPU_Q_CONV) {
    cpu_qconv_run_add(prep, in[0]->data, q->fvadd ? in[1]->data : NULL, yt->data, ws, pool);
    return MSC_OK;
  }
  const QPrep *r = prep;
  uint8_t *y = yt->data;
  const uint8_t *lut = q->lut;
  switch (q->kind) {
  case CPU_Q_LUT1: {
    const uint8_t *x = in[0]->data;
    if (lut_identity(lut)) {
      if (y != x) memmove(y, x, (size_t)r->numel);
      return MSC_OK;
    }
    span_all(pool, &(SpanJob){q, lut, x, NULL, y, r->numel});
    return MSC_OK;
  }
  case CPU_Q_QUANT:
    if (q->nhwc) {
      cpu_q_for(pool, (r->qn * r->qh + r->qrows - 1) / r->qrows, qin_task, &(ScratchJob){q, r, in[0]->data, y, ws});
      return MSC_OK;
    }
    /* fall through */
  case CPU_Q_DEQ: span_all(pool, &(SpanJob){q, lut, in[0]->data, NULL, y, r->numel}); return MSC_OK;
  case CPU_Q_LUT2: {
    const uint8_t *a = in[0]->data, *b = in[1]->data;
    switch (r->bmode) {
    case QB_SAME: span_all(pool, &(SpanJob){q, lut, a, b, y, r->numel}); return MSC_OK;
    case QB_B_SCALAR:
      lut1_span(r->lut_t + ((size_t)b[0] << 8), a, y, r->numel);
      return MSC_OK;
    case QB_A_SCALAR:
      lut1_span(lut + ((size_t)a[0] << 8), b, y, r->numel);
      return MSC_OK;
    case QB_B_PLANE:
    case QB_A_PLANE: planes_all(pool, &(PlaneJob){q, r, a, b, y}); return MSC_OK;
    }
    return MSC_OK;
  }
  case CPU_Q_MAXPOOL: {
    const CpuPool2d *g = &r->pool;
    const uint8_t *x = in[0]->data;
    int ident = lut_identity(lut); /* same scale and zero point in and out (the usual QDQ MaxPool) */
    MpJob j = {g, x, lut, y, ws, q->xdt == MSC_DTYPE_INT8, ident, q->ydt == MSC_DTYPE_FLOAT32 ? q->ftab : NULL};
    cpu_q_for(pool, r->planes, maxpool_task, &j);
    return MSC_OK;
  }
  case CPU_Q_CATFILL: {
    for (int64_t o = 0; o < r->outer; o++)
      for (uint32_t k = 0; k < q->n_cin; k++) {
        if (q->cin[k] < 0) memset(y, q->fill, (size_t)r->cat_inner[k]);
        else memcpy(y, (const uint8_t *)in[q->cin[k]]->data + o * r->cat_inner[k], (size_t)r->cat_inner[k]);
        y += r->cat_inner[k];
      }
    return MSC_OK;
  }
  case CPU_Q_CONCAT: {
    CatJob j = {q, r, in, y, lut, 0, 0};
    for (uint32_t k = 0; k < q->n_x; k++) j.row += r->cat_inner[k];
    j.pieces = (j.row + CAT_PIECE - 1) / CAT_PIECE;
    const int64_t tasks = r->outer * j.pieces;
    cpu_q_for(pool, tasks, concat_task, &j);
    return MSC_OK;
  }
  case CPU_Q_FLUT: span_all(pool, &(SpanJob){q, NULL, in[0]->data, NULL, y, r->numel}); return MSC_OK;
  case CPU_Q_GAPT: planes_all(pool, &(PlaneJob){q, r, in[0]->data, NULL, y}); return MSC_OK;
  case CPU_Q_RESIZE:
    if (!r->rp) return resize_whole(q, r, in[0], y, ws, msg);
    cpu_q_for(pool, r->planes, resize_task, &(ScratchJob){q, r, in[0]->data, y, ws});
    return MSC_OK;
  case CPU_Q_PAD: {
    PadJob j = {q, r, in[0]->data, y, lut_identity(lut)};
    const int64_t tasks = (r->numel / pad_row(r) + PAD_ROWS - 1) / PAD_ROWS;
    cpu_q_for(pool, tasks, pad_task, &j);
    return MSC_OK;
  }
  case CPU_Q_GAP: {
    const uint8_t *x = in[0]->data;
    int sgn = in[0]->dtype == MSC_DTYPE_INT8, osgn = q->ydt == MSC_DTYPE_INT8;
    for (int64_t pl = 0; pl < r->planes; pl++) {
      const uint8_t *row = x + pl * r->inner;
      int64_t sum = 0;
      if (sgn)
        for (int64_t i = 0; i < r->inner; i++) sum += (int8_t)row[i];
      else
        for (int64_t i = 0; i < r->inner; i++) sum += row[i];
      float mean = (float)((double)(sum - r->inner * (int64_t)q->zx) * q->sx / (double)r->inner);
      y[pl] = quant1(mean, q->sy, q->zy, osgn);
    }
    return MSC_OK;
  }
  default: return MSC_OK;
  }
}
