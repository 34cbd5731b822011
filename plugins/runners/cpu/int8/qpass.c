/* qpass.c: the `cpu` runner's int8 pass: recognizes QDQ groups
 * (DequantizeLinear -> op -> QuantizeLinear, as ONNX Runtime's
 * quantize_static and our quantizer write them) and the QOperator nodes
 * QLinearConv, ConvInteger, QLinearMatMul, MatMulInteger, and turns each
 * into one int8 step (qstep.h). Runs after constant folding (weight and
 * bias DequantizeLinear nodes are folded; their integer inputs are read
 * here) and before the float conv fusion. DequantizeLinear nodes left
 * without readers are removed. */
#include <math.h>
#include <string.h>

#include "../cpu-internal.h"
#include "graph.h"
#include "tensor.h"

typedef struct {
  CpuModel *m;
  const uint32_t *readers;
  unsigned char *dead;
  int32_t *owner;
  gboolean *is_head;
  CpuStep *groups;
} QPass;

static gboolean is_op(const MscNode *n, const char *type) {
  return n && n->domain[0] == '\0' && !strcmp(n->op_type, type);
}

static const MscAttr *find_attr(const MscNode *n, const char *name) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
  return NULL;
}

static int64_t attr_int(const MscNode *n, const char *name, int64_t dflt) {
  const MscAttr *a = find_attr(n, name);
  return a && a->type == MSC_ATTR_INT ? a->i : dflt;
}

static float attr_float(const MscNode *n, const char *name, float dflt) {
  const MscAttr *a = find_attr(n, name);
  return a && a->type == MSC_ATTR_FLOAT ? a->f : dflt;
}

static const MscTensor *kon(const QPass *q, const MscValue *v) {
  return v ? q->m->konst[v->index] : NULL;
}

static gboolean is8(MscDType dt) {
  return dt == MSC_DTYPE_UINT8 || dt == MSC_DTYPE_INT8;
}

static int32_t byte_val(const MscTensor *t, int64_t i) {
  return t->dtype == MSC_DTYPE_INT8 ? ((const int8_t *)t->data)[i] : ((const uint8_t *)t->data)[i];
}

static gboolean free_node(const QPass *q, const MscNode *n) {
  return n && !q->dead[n->index] && q->owner[n->index] < 0 && !q->is_head[n->index];
}

/* Per-tensor parameters of a QuantizeLinear / DequantizeLinear node. */
static gboolean qparams(const QPass *q, const MscNode *n, float *scale, int32_t *zp, MscDType *dt) {
  if (n->n_inputs < 2 || n->n_outputs != 1 || !n->outputs[0]) return FALSE;
  const MscTensor *s = kon(q, n->inputs[1]);
  if (!s || s->dtype != MSC_DTYPE_FLOAT32 || msc_tensor_numel(s) != 1) return FALSE;
  *scale = *(const float *)s->data;
  if (!(*scale > 0) || !isfinite(*scale)) return FALSE;
  const MscTensor *z = n->n_inputs > 2 ? kon(q, n->inputs[2]) : NULL;
  if (n->n_inputs > 2 && n->inputs[2] && !z) return FALSE;
  if (z) {
    if (!is8(z->dtype) || msc_tensor_numel(z) != 1) return FALSE;
    *zp = byte_val(z, 0);
    *dt = z->dtype;
  } else {
    *zp = 0;
    *dt = is_op(n, "DequantizeLinear") ? n->inputs[0]->dtype : n->outputs[0]->dtype;
    if (*dt == MSC_DTYPE_UNDEFINED) *dt = MSC_DTYPE_UINT8;
  }
  return is8(*dt);
}

/* The live DequantizeLinear producing @v from a non-constant 8-bit tensor. */
static const MscNode *act_dq(const QPass *q, const MscValue *v, float *s, int32_t *z, MscDType *dt) {
  const MscNode *d = v ? v->producer : NULL;
  if (!is_op(d, "DequantizeLinear") || q->dead[d->index] || !d->inputs[0] || kon(q, d->inputs[0])) return NULL;
  if (!qparams(q, d, s, z, dt) || d->inputs[0]->dtype != *dt) return NULL;
  return d;
}

/* The only live reader of @v (no graph output). */
static const MscNode *sole(const QPass *q, const MscValue *v) {
  if (!v || (v->flags & MSC_VALUE_GRAPH_OUTPUT) || q->readers[v->index] != 1) return NULL;
  const MscGraph *g = q->m->g;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (q->dead[i]) continue;
    uint32_t uses = 0;
    for (uint32_t k = 0; k < n->n_inputs; k++) uses += n->inputs[k] == v;
    if (uses) return uses == 1 && free_node(q, n) ? n : NULL;
  }
  return NULL;
}

/* The QuantizeLinear that solely reads @v, with per-tensor params. */
static const MscNode *q_reader(const QPass *q, const MscValue *v, float *s, int32_t *z, MscDType *dt) {
  const MscNode *r = sole(q, v);
  if (!is_op(r, "QuantizeLinear") || r->inputs[0] != v || !qparams(q, r, s, z, dt)) return NULL;
  if (r->outputs[0]->dtype != MSC_DTYPE_UNDEFINED && r->outputs[0]->dtype != *dt) return NULL;
  return r;
}

static int32_t quantize1(float v, float s, int32_t z, MscDType dt) {
  float r = nearbyintf(v / s) + (float)z;
  float lo = dt == MSC_DTYPE_INT8 ? -128.0f : 0.0f, hi = dt == MSC_DTYPE_INT8 ? 127.0f : 255.0f;
  return (int32_t)(r < lo ? lo : r > hi ? hi : r);
}

static void mark(QPass *q, const MscNode *head, const MscNode *n) {
  if (n && n != head) q->owner[n->index] = (int32_t)head->index;
}

static CpuStep *new_step(QPass *q, const MscNode *head, const MscNode *last, CpuStepKind kind, CpuQStep *qs) {
  CpuStep *s = &q->groups[head->index];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->node = head;
  s->last = last;
  s->res = -1;
  s->q = qs;
  s->x = qs->xs[0];
  s->y = qs->y;
  q->is_head[head->index] = TRUE;
  return s;
}

/* ---------------------------------------------------------------------- */
/* conv / gemm                                                              */

/* Per-channel (n == M) or per-tensor float / 8-bit / int32 constants. */
static gboolean chan_f(const MscTensor *t, int64_t M, float *out) {
  int64_t ne = t ? msc_tensor_numel(t) : -1;
  if (!t || t->dtype != MSC_DTYPE_FLOAT32 || (ne != 1 && ne != M)) return FALSE;
  for (int64_t m = 0; m < M; m++) out[m] = ((const float *)t->data)[ne == 1 ? 0 : m];
  return TRUE;
}

static gboolean chan_i(const MscTensor *t, int64_t M, int32_t *out) {
  int64_t ne = t ? msc_tensor_numel(t) : -1;
  if (!t || (ne != 1 && ne != M)) return FALSE;
  for (int64_t m = 0; m < M; m++) {
    int64_t i = ne == 1 ? 0 : m;
    if (is8(t->dtype)) out[m] = byte_val(t, i);
    else if (t->dtype == MSC_DTYPE_INT32) out[m] = ((const int32_t *)t->data)[i];
    else return FALSE;
  }
  return TRUE;
}

typedef struct {
  const MscTensor *wq; /* 8-bit weights */
  float *ws;           /* [M] */
  int32_t *wz;         /* [M] */
  int transpose;       /* wq is [K, M] */
} QW;

/* Constant weights from a folded DequantizeLinear (per channel on @axis). */
static gboolean weights_dq(const QPass *q, const MscValue *v, int64_t M, int axis, int transpose, QW *w) {
  const MscNode *d = v ? v->producer : NULL;
  if (!is_op(d, "DequantizeLinear") || d->n_inputs < 2) return FALSE;
  const MscTensor *wq = kon(q, d->inputs[0]);
  if (!wq || !is8(wq->dtype)) return FALSE;
  const MscTensor *s = kon(q, d->inputs[1]), *z = d->n_inputs > 2 ? kon(q, d->inputs[2]) : NULL;
  if (d->n_inputs > 2 && d->inputs[2] && !z) return FALSE;
  if (!s || (msc_tensor_numel(s) > 1 && ((attr_int(d, "axis", 1) + wq->rank) % wq->rank) != axis)) return FALSE;
  w->wq = wq;
  w->transpose = transpose;
  w->ws = g_new(float, M);
  w->wz = g_new0(int32_t, M);
  if (!chan_f(s, M, w->ws) || (z && (z->dtype != wq->dtype || !chan_i(z, M, w->wz)))) {
    g_free(w->ws), g_free(w->wz);
    return FALSE;
  }
  for (int64_t m = 0; m < M; m++)
    if (!(w->ws[m] > 0) || !isfinite(w->ws[m])) {
      g_free(w->ws), g_free(w->wz);
      return FALSE;
    }
  return TRUE;
}

/* Bias: int32 through DequantizeLinear (integer when its scale is sx*sw),
 * or a float constant. Fills the integer and float parts. */
static gboolean bias_of(const QPass *q, const MscValue *v, int64_t M, float sx, const float *ws, float sy,
                        int32_t *bi, float *bf) {
  if (!v) return TRUE;
  const MscTensor *c = kon(q, v);
  const MscNode *d = v->producer;
  if (is_op(d, "DequantizeLinear") && d->n_inputs >= 2) {
    const MscTensor *b = kon(q, d->inputs[0]), *s = kon(q, d->inputs[1]);
    const MscTensor *z = d->n_inputs > 2 ? kon(q, d->inputs[2]) : NULL;
    if (d->n_inputs > 2 && d->inputs[2] && !z) return FALSE;
    if (b && b->dtype == MSC_DTYPE_INT32 && msc_tensor_numel(b) == M && s) {
      float *sb = g_new(float, M);
      int32_t *zb = g_new0(int32_t, M);
      gboolean ok = chan_f(s, M, sb) && (!z || chan_i(z, M, zb));
      for (int64_t m = 0; ok && m < M; m++) {
        int64_t iv = (int64_t)((const int32_t *)b->data)[m] - zb[m];
        float prod = sx * ws[m];
        if (fabsf(sb[m] - prod) <= 1e-6f * fabsf(prod) && iv >= INT32_MIN / 2 && iv <= INT32_MAX / 2)
          bi[m] = (int32_t)iv;
        else
          bf[m] = (float)((double)iv * sb[m] / sy);
      }
      g_free(sb), g_free(zb);
      return ok;
    }
  }
  if (c && c->dtype == MSC_DTYPE_FLOAT32 && msc_tensor_numel(c) == M) {
    for (int64_t m = 0; m < M; m++) bf[m] = ((const float *)c->data)[m] / sy;
    return TRUE;
  }
  return FALSE;
}

/* Builds the weights [M][K] (transposing [K][M] when asked). */
static CpuQWeights *make_weights(const QW *w, int64_t M, int64_t Cg, int64_t kh, int64_t kw, const int32_t *bi,
                                 const float *bf, const float *mult) {
  int64_t K = Cg * kh * kw;
  const void *src = w->wq->data;
  uint8_t *tmp = NULL;
  if (w->transpose) {
    tmp = g_new(uint8_t, M * K);
    for (int64_t k = 0; k < K; k++)
      for (int64_t m = 0; m < M; m++) tmp[m * K + k] = ((const uint8_t *)w->wq->data)[k * M + m];
    src = tmp;
  }
  CpuQWeights *r = cpu_qweights_new(M, Cg, kh, kw, w->wq->dtype, src, w->wz, M, bi, bf, mult);
  g_free(tmp);
  return r;
}

/* Relu / Clip after the op: folded into the output clamp. */
static const MscNode *clamp_act(const QPass *q, const MscNode *a, float *lo, float *hi) {
  if (is_op(a, "Relu")) {
    *lo = 0.0f, *hi = INFINITY;
    return a;
  }
  if (!is_op(a, "Clip")) return NULL;
  *lo = -INFINITY, *hi = INFINITY;
  if (a->opset < 11) {
    *lo = attr_float(a, "min", -INFINITY);
    *hi = attr_float(a, "max", INFINITY);
    return a;
  }
  for (uint32_t k = 1; k < a->n_inputs && k < 3; k++) {
    if (!a->inputs[k]) continue;
    const MscTensor *t = kon(q, a->inputs[k]);
    if (!t || t->dtype != MSC_DTYPE_FLOAT32 || msc_tensor_numel(t) != 1) return NULL;
    if (k == 1) *lo = *(const float *)t->data;
    else *hi = *(const float *)t->data;
  }
  return isnan(*lo) || isnan(*hi) ? NULL : a;
}

static void set_range(CpuQStep *s, MscDType ydt, int32_t zy, float sy, float flo, float fhi) {
  s->ydt = ydt;
  s->zy = zy;
  s->lo = ydt == MSC_DTYPE_INT8 ? -128 : 0;
  s->hi = ydt == MSC_DTYPE_INT8 ? 127 : 255;
  if (flo > -INFINITY) s->lo = MAX(s->lo, quantize1(flo, sy, zy, ydt));
  if (fhi < INFINITY) s->hi = MIN(s->hi, quantize1(fhi, sy, zy, ydt));
  if (s->hi < s->lo) s->hi = s->lo;
}

static gboolean try_conv_qdq(QPass *q, const MscNode *n) {
  gboolean conv = is_op(n, "Conv"), mm = is_op(n, "MatMul"), gemm = is_op(n, "Gemm");
  if ((!conv && !mm && !gemm) || n->n_inputs < 2 || n->n_outputs != 1 || !n->outputs[0]) return FALSE;
  float sx, sy;
  int32_t zx, zy;
  MscDType xdt, ydt;
  const MscNode *dqx = act_dq(q, n->inputs[0], &sx, &zx, &xdt);
  if (!dqx) return FALSE;
  const MscValue *wv = n->inputs[1];
  const MscTensor *wf = kon(q, wv);
  if (!wf || wf->dtype != MSC_DTYPE_FLOAT32) return FALSE;
  int64_t M, Cg, kh = 1, kw = 1, group = 1;
  int axis, transpose = 0;
  if (conv) {
    if (n->inputs[0]->rank != 4 || wf->rank != 4) return FALSE;
    group = attr_int(n, "group", 1);
    M = wf->dims[0], Cg = wf->dims[1], kh = wf->dims[2], kw = wf->dims[3];
    axis = 0;
  } else {
    if (wf->rank != 2 || n->inputs[0]->rank < 1) return FALSE;
    if (gemm && (attr_int(n, "transA", 0) || attr_float(n, "alpha", 1.0f) != 1.0f ||
                 attr_float(n, "beta", 1.0f) != 1.0f || n->inputs[0]->rank != 2))
      return FALSE;
    int tb = gemm && attr_int(n, "transB", 0);
    M = tb ? wf->dims[0] : wf->dims[1];
    Cg = tb ? wf->dims[1] : wf->dims[0];
    axis = tb ? 0 : 1;
    transpose = !tb;
  }
  if (M < 1 || Cg < 1 || group < 1 || M % group) return FALSE;
  /* output chain: [Relu|Clip] -> QuantizeLinear */
  const MscValue *cur = n->outputs[0];
  const MscNode *nx = sole(q, cur), *act = NULL, *qn;
  float flo = -INFINITY, fhi = INFINITY;
  if (nx && nx->inputs[0] == cur && (act = clamp_act(q, nx, &flo, &fhi))) cur = act->outputs[0];
  if (!(qn = q_reader(q, cur, &sy, &zy, &ydt))) return FALSE;
  QW w;
  if (!weights_dq(q, wv, M, axis, transpose, &w)) return FALSE;
  int32_t *bi = g_new0(int32_t, M);
  float *bf = g_new0(float, M), *mult = g_new(float, M);
  gboolean ok = bias_of(q, (conv || gemm) && n->n_inputs > 2 ? n->inputs[2] : NULL, M, sx, w.ws, sy, bi, bf);
  if (ok && gemm && n->n_inputs > 2 && n->inputs[2] && kon(q, n->inputs[2]) &&
      msc_tensor_numel(kon(q, n->inputs[2])) != M)
    ok = FALSE;
  for (int64_t m = 0; m < M; m++) mult[m] = (float)((double)sx * w.ws[m] / sy);
  if (ok) {
    CpuQStep *s = g_new0(CpuQStep, 1);
    s->kind = CPU_Q_CONV;
    s->op = n;
    s->xs[0] = (int32_t)dqx->inputs[0]->index;
    s->n_x = 1;
    s->y = (int32_t)qn->outputs[0]->index;
    s->xdt = xdt;
    s->zx = zx;
    s->gemm = !conv;
    set_range(s, ydt, zy, sy, flo, fhi);
    s->w = make_weights(&w, M, Cg, kh, kw, bi, bf, mult);
    CpuStep *st = new_step(q, n, qn, CPU_STEP_QCONV, s);
    st->M = M, st->C = Cg * group, st->kh = kh, st->kw = kw, st->group = group;
    st->n_group = act ? 3 : 2;
    mark(q, n, act);
    mark(q, n, qn);
    g_snprintf(st->desc, sizeof st->desc, "QDQ %s%s%s int8 (%s)", n->op_type, act ? "+" : "", act ? act->op_type : "",
               cpu_qkernel_name(cpu_qkernel_pick(q->m->isa, s->w)));
    q->m->stats.n_convs += conv;
  }
  g_free(w.ws), g_free(w.wz), g_free(bi), g_free(bf), g_free(mult);
  return ok;
}

/* QLinearConv, ConvInteger, QLinearMatMul, MatMulInteger with constant weights. */
static gboolean try_qlinear(QPass *q, const MscNode *n) {
  gboolean qconv = is_op(n, "QLinearConv"), cint = is_op(n, "ConvInteger");
  gboolean qmm = is_op(n, "QLinearMatMul"), mint = is_op(n, "MatMulInteger");
  if (!qconv && !cint && !qmm && !mint) return FALSE;
  if (n->n_outputs != 1 || !n->outputs[0] || !n->inputs[0] || kon(q, n->inputs[0])) return FALSE;
  const MscValue *x = n->inputs[0];
  gboolean lin = qconv || qmm;
  const MscValue *wv = lin ? (n->n_inputs > 3 ? n->inputs[3] : NULL) : (n->n_inputs > 1 ? n->inputs[1] : NULL);
  const MscTensor *wq = kon(q, wv);
  if (!wq || !is8(wq->dtype) || !is8(x->dtype)) return FALSE;
  gboolean conv = qconv || cint;
  if (conv && (wq->rank != 4 || x->rank != 4)) return FALSE;
  if (!conv && (wq->rank != 2 || x->rank < 1)) return FALSE;
  int64_t M = conv ? wq->dims[0] : wq->dims[1], Cg = conv ? wq->dims[1] : wq->dims[0];
  int64_t kh = conv ? wq->dims[2] : 1, kw = conv ? wq->dims[3] : 1, group = conv ? attr_int(n, "group", 1) : 1;
  if (M < 1 || group < 1 || M % group) return FALSE;
  /* zero points / scales */
  const MscTensor *xs = NULL, *xz, *ws = NULL, *wz, *ys = NULL, *yz = NULL, *b = NULL;
  if (lin) {
    if (n->n_inputs < 8) return FALSE;
    xs = kon(q, n->inputs[1]), xz = kon(q, n->inputs[2]), ws = kon(q, n->inputs[4]), wz = kon(q, n->inputs[5]);
    ys = kon(q, n->inputs[6]), yz = kon(q, n->inputs[7]);
    if (qconv && n->n_inputs > 8 && n->inputs[8] && !(b = kon(q, n->inputs[8]))) return FALSE;
    if (!xs || !xz || !ws || !wz || !ys || !yz || msc_tensor_numel(xs) != 1 || msc_tensor_numel(ys) != 1 ||
        msc_tensor_numel(yz) != 1 || !is8(yz->dtype))
      return FALSE;
  } else {
    xz = n->n_inputs > 2 && n->inputs[2] ? kon(q, n->inputs[2]) : NULL;
    wz = n->n_inputs > 3 && n->inputs[3] ? kon(q, n->inputs[3]) : NULL;
    if ((n->n_inputs > 2 && n->inputs[2] && !xz) || (n->n_inputs > 3 && n->inputs[3] && !wz)) return FALSE;
  }
  if (xz && (msc_tensor_numel(xz) != 1 || !is8(xz->dtype))) return FALSE;
  QW w = {wq, g_new(float, M), g_new0(int32_t, M), !conv};
  int32_t *bi = g_new0(int32_t, M);
  float *mult = g_new(float, M);
  gboolean ok = (!wz || (wz->dtype == wq->dtype && chan_i(wz, M, w.wz))) && (!ws || chan_f(ws, M, w.ws));
  ok = ok && (!b || (b->dtype == MSC_DTYPE_INT32 && msc_tensor_numel(b) == M && chan_i(b, M, bi)));
  float sx = xs ? *(const float *)xs->data : 1.0f, sy = ys ? *(const float *)ys->data : 1.0f;
  for (int64_t m = 0; ok && m < M; m++) mult[m] = lin ? (float)((double)sx * w.ws[m] / sy) : 1.0f;
  if (ok) {
    CpuQStep *s = g_new0(CpuQStep, 1);
    s->kind = CPU_Q_CONV;
    s->op = n;
    s->xs[0] = (int32_t)x->index;
    s->n_x = 1;
    s->y = (int32_t)n->outputs[0]->index;
    s->xdt = x->dtype;
    s->zx = xz ? byte_val(xz, 0) : 0;
    s->gemm = !conv;
    if (lin) {
      set_range(s, yz->dtype, byte_val(yz, 0), sy, -INFINITY, INFINITY);
    } else {
      s->ydt = MSC_DTYPE_INT32;
    }
    s->w = make_weights(&w, M, Cg, kh, kw, bi, NULL, mult);
    CpuStep *st = new_step(q, n, n, CPU_STEP_QCONV, s);
    st->M = M, st->C = Cg * group, st->kh = kh, st->kw = kw, st->group = group;
    st->n_group = 1;
    g_snprintf(st->desc, sizeof st->desc, "%s int8 (%s)", n->op_type,
               cpu_qkernel_name(cpu_qkernel_pick(q->m->isa, s->w)));
    q->m->stats.n_convs += conv;
  }
  g_free(w.ws), g_free(w.wz), g_free(bi), g_free(mult);
  return ok;
}

/* ---------------------------------------------------------------------- */
/* table-driven ops                                                         */

static gboolean elementwise1(const MscNode *n) {
  static const char *ops[] = {"Relu", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish", "Sigmoid", "Tanh", "Add",
                              "Sub", "Mul", "Div", "Abs", "Neg", "Elu", "Selu", "Softplus", "Softsign", "Exp",
                              "Erf", "Sqrt", "Pow", "Max", "Min", "PRelu"};
  for (unsigned i = 0; i < G_N_ELEMENTS(ops); i++)
    if (is_op(n, ops[i])) return TRUE;
  return FALSE;
}

static gboolean view_op(const MscNode *n) {
  return is_op(n, "Reshape") || is_op(n, "Flatten") || is_op(n, "Squeeze") || is_op(n, "Unsqueeze") ||
         is_op(n, "Identity");
}

/* Runs @n on @in (inputs it does not list come from constants). */
static MscTensor *exec1(const QPass *q, const MscNode *n, const MscValue *v, MscTensor *t, const MscValue *v2,
                        MscTensor *t2) {
  const MscTensor *in[16];
  MscTensor *out[4] = {0};
  if (n->n_inputs > 16 || n->n_outputs > 4) return NULL;
  for (uint32_t k = 0; k < n->n_inputs; k++) {
    const MscValue *iv = n->inputs[k];
    in[k] = !iv ? NULL : iv == v ? t : (v2 && iv == v2) ? t2 : kon(q, iv);
    if (iv && !in[k]) return NULL;
  }
  if (!msc_node_execute(n, in, out, NULL)) return NULL;
  for (uint32_t j = 1; j < n->n_outputs; j++) msc_tensor_free(out[j]);
  return out[0];
}

/* All 8-bit values as a [dims] tensor: along axis @ax of a rank-2 [256,1]/[1,256] or [256]. */
static MscTensor *all_values(MscDType dt, int rank, int ax) {
  int64_t d[2] = {1, 1};
  d[ax] = 256;
  MscTensor *t = msc_tensor_new(dt, rank, rank == 1 ? (int64_t[]){256} : d, NULL);
  for (int i = 0; i < 256; i++) ((uint8_t *)t->data)[i] = (uint8_t)i;
  return t;
}

/* lut[v] = Q(op(DQ(v))) (op NULL: identity) through the graph's kernels. */
static uint8_t *table1(const QPass *q, const MscNode *dq, const MscNode *op, const MscNode *qn, MscDType xdt) {
  MscTensor *t = all_values(xdt, 1, 0), *f = exec1(q, dq, dq->inputs[0], t, NULL, NULL), *g = NULL, *r = NULL;
  uint8_t *lut = NULL;
  if (f) g = op ? exec1(q, op, dq->outputs[0], f, NULL, NULL) : f;
  if (g && g->dtype == MSC_DTYPE_FLOAT32 && msc_tensor_numel(g) == 256) r = exec1(q, qn, qn->inputs[0], g, NULL, NULL);
  if (r && msc_tensor_numel(r) == 256 && r->nbytes == 256) lut = g_memdup2(r->data, 256);
  msc_tensor_free(t);
  if (g != f) msc_tensor_free(g);
  msc_tensor_free(f);
  msc_tensor_free(r);
  return lut;
}

static uint8_t *table2(const QPass *q, const MscNode *da, const MscNode *db, const MscNode *op, const MscNode *qn,
                       MscDType adt, MscDType bdt) {
  MscTensor *ta = all_values(adt, 2, 0), *tb = all_values(bdt, 2, 1);
  MscTensor *fa = exec1(q, da, da->inputs[0], ta, NULL, NULL), *fb = exec1(q, db, db->inputs[0], tb, NULL, NULL);
  MscTensor *g = NULL, *r = NULL;
  uint8_t *lut = NULL;
  if (fa && fb) g = exec1(q, op, da->outputs[0], fa, db->outputs[0], fb);
  if (g && g->dtype == MSC_DTYPE_FLOAT32 && msc_tensor_numel(g) == 65536)
    r = exec1(q, qn, qn->inputs[0], g, NULL, NULL);
  if (r && r->nbytes == 65536) lut = g_memdup2(r->data, 65536);
  msc_tensor_free(ta), msc_tensor_free(tb), msc_tensor_free(fa), msc_tensor_free(fb), msc_tensor_free(g),
      msc_tensor_free(r);
  return lut;
}

static CpuQStep *qop_new(CpuQKind kind, const MscNode *op, const MscNode *qn, MscDType ydt) {
  CpuQStep *s = g_new0(CpuQStep, 1);
  s->kind = kind;
  s->op = op;
  s->y = (int32_t)qn->outputs[0]->index;
  s->ydt = ydt;
  return s;
}

static void add_node(CpuQStep *s, const MscNode *n) {
  for (uint32_t i = 0; i < s->n_nodes; i++)
    if (s->nodes[i] == n) return;
  if (s->n_nodes < CPU_Q_MAX_NODES) s->nodes[s->n_nodes++] = n;
}

/* DQ(a) + DQ(b) [-> Relu] -> Q as the LUT2 step @s (table s->lut[a << 8 | b]; @sx, @zx, @xdt: a's and b's
 * quantization): the vector float path when cpu_qvadd1 equals the table everywhere (else the table stays). */
static void vadd_try(CpuQStep *s, const float *sx, const int32_t *zx, const MscDType *xdt, int relu, float sy,
                     int32_t zy) {
  CpuQVAdd *v = &s->va;
  v->vrelu = relu;
  v->vs[0] = sx[0], v->vs[1] = sx[1], v->vz[0] = zx[0], v->vz[1] = zx[1];
  v->vsy = sy, v->vzy = zy;
  v->adt[0] = xdt[0], v->adt[1] = xdt[1], v->ydt = s->ydt;
  for (int a = 0; a < 256; a++)
    for (int b = 0; b < 256; b++) {
      int32_t va = xdt[0] == MSC_DTYPE_INT8 ? (int8_t)a : a, vb = xdt[1] == MSC_DTYPE_INT8 ? (int8_t)b : b;
      if ((uint8_t)cpu_qvadd1(v, va, vb) != s->lut[a << 8 | b]) return;
    }
  s->vadd = 1;
  /* the division by vsy as a reciprocal multiply corrected by two FMAs (Markstein): used only when it
   * gives the quotient bit for bit on every pair (so the bytes stay those of the division) */
  const float inv = 1.0f / sy;
  float qmax = 0.0f;
  for (int a = 0; a < 256; a++)
    for (int b = 0; b < 256; b++) {
      int32_t va = xdt[0] == MSC_DTYPE_INT8 ? (int8_t)a : a, vb = xdt[1] == MSC_DTYPE_INT8 ? (int8_t)b : b;
      float f = cpu_qvadd_sum(v, va, vb);
      volatile float d = f / sy; /* the division as the float kernel does it */
      if (cpu_qdivfree(f, sy, inv) != d) return;
      qmax = MAX(qmax, fabsf(d));
    }
  v->vnoclamp = qmax < 524288.0f; /* (NaN: no) */
  v->vinv = inv;
  v->vdivfree = cpu_q_switch_on("MSC_INT8_DIVFREE");
}

static gboolean try_table_op(QPass *q, const MscNode *n) {
  if (n->n_outputs < 1 || !n->outputs[0] || n->n_inputs < 1 || !n->inputs[0]) return FALSE;
  for (uint32_t j = 1; j < n->n_outputs; j++)
    if (n->outputs[j] && (q->readers[n->outputs[j]->index] || (n->outputs[j]->flags & MSC_VALUE_GRAPH_OUTPUT)))
      return FALSE;
  gboolean concat = is_op(n, "Concat"), maxpool = is_op(n, "MaxPool"), gap = is_op(n, "GlobalAveragePool");
  gboolean elem = elementwise1(n), view = view_op(n);
  if (!concat && !maxpool && !gap && !elem && !view) return FALSE;
  float sy;
  int32_t zy;
  MscDType ydt;
  const MscNode *qn = q_reader(q, n->outputs[0], &sy, &zy, &ydt);
  if (!qn) return FALSE;
  /* the quantized inputs */
  const MscNode *dq[CPU_Q_MAX_IN];
  float sx[CPU_Q_MAX_IN];
  int32_t zx[CPU_Q_MAX_IN];
  MscDType xdt[CPU_Q_MAX_IN];
  uint32_t nq = 0;
  for (uint32_t k = 0; k < n->n_inputs; k++) {
    const MscValue *v = n->inputs[k];
    if (!v || kon(q, v)) continue;
    if (nq >= CPU_Q_MAX_IN || !(dq[nq] = act_dq(q, v, &sx[nq], &zx[nq], &xdt[nq]))) return FALSE;
    nq++;
  }
  if (!nq) return FALSE;
  CpuQStep *s = NULL;
  if (concat) {
    if (nq != n->n_inputs) return FALSE;
    s = qop_new(CPU_Q_CONCAT, n, qn, ydt);
    s->lut = g_malloc(256 * (size_t)nq);
    for (uint32_t k = 0; k < nq && s; k++) {
      uint8_t *t = table1(q, dq[k], NULL, qn, xdt[k]);
      if (!t) {
        cpu_qstep_free(s);
        return FALSE;
      }
      memcpy(s->lut + 256 * k, t, 256);
      g_free(t);
    }
  } else if (maxpool || view || (elem && nq == 1)) {
    if (nq != 1 || n->inputs[0] != dq[0]->outputs[0]) {
      if (!(elem && nq == 1)) return FALSE;
    }
    if (maxpool && (n->inputs[0]->rank != 4 || attr_int(n, "storage_order", 0))) return FALSE;
    if (elem) /* scalar constants only: the output has the input's shape */
      for (uint32_t k = 0; k < n->n_inputs; k++) {
        const MscTensor *c = kon(q, n->inputs[k]);
        if (n->inputs[k] && c && (msc_tensor_numel(c) != 1 || c->rank > n->inputs[0]->rank)) return FALSE;
      }
    uint8_t *t = table1(q, dq[0], (maxpool || view) ? NULL : n, qn, xdt[0]);
    if (!t) return FALSE;
    s = qop_new(maxpool ? CPU_Q_MAXPOOL : CPU_Q_LUT1, n, qn, ydt);
    s->lut = t;
  } else if (elem && nq == 2 && n->n_inputs == 2) {
    uint8_t *t = table2(q, dq[0], dq[1], n, qn, xdt[0], xdt[1]);
    if (!t) return FALSE;
    s = qop_new(CPU_Q_LUT2, n, qn, ydt);
    s->lut = t;
    /* a plain residual DQ(a) + DQ(b) -> Q (PP-OCR's shortcuts): the vector add, then fusable into the conv
     * producing a or b (fuse_vadd); MSC_INT8_TABLE_VADD=0 keeps the 64K table (A/B) */
    if (is_op(n, "Add") && cpu_q_switch_on("MSC_INT8_TABLE_VADD")) vadd_try(s, sx, zx, xdt, 0, sy, zy);
  } else if (gap && nq == 1) {
    if (n->inputs[0]->rank < 3) return FALSE;
    s = qop_new(CPU_Q_GAP, n, qn, ydt);
    s->sx = sx[0], s->zx = zx[0], s->sy = sy, s->zy = zy;
  } else {
    return FALSE;
  }
  for (uint32_t k = 0; k < nq; k++) {
    s->xs[k] = (int32_t)dq[k]->inputs[0]->index;
    add_node(s, dq[k]);
  }
  s->n_x = nq;
  s->xdt = xdt[0];
  add_node(s, n);
  add_node(s, qn);
  CpuStep *st = new_step(q, n, qn, CPU_STEP_QOP, s);
  st->n_group = 2;
  mark(q, n, qn);
  g_snprintf(st->desc, sizeof st->desc, "QDQ %s int8", n->op_type);
  return TRUE;
}


/* ---------------------------------------------------------------------- */
/* elementwise regions: float nodes between activation DQs and one Q       */

#define REGION_MAX (CPU_Q_MAX_NODES - 4)

typedef struct {
  const MscNode *nodes[REGION_MAX]; /* interior nodes, graph order */
  uint32_t n;
  const MscNode *dq[2]; /* leaves: the DequantizeLinear (for a Concat leaf: of its inputs) */
  const MscValue *lv[2]; /* the float value the region reads */
  int32_t xv[2];         /* the 8-bit value the step reads */
  const MscNode *cat[2]; /* Concat leaf (CATFILL) or NULL */
  const MscNode *mp[2];  /* MaxPool leaf (MaxPool of the DQ: the 8-bit max pool) or NULL */
  float sx[2];
  int32_t zx[2];
  MscDType xdt[2];
  uint32_t nleaf;
} Region;

/* An elementwise node a region may hold: one output, other inputs scalar constants. */
static gboolean region_node_ok(const QPass *q, const MscNode *n) {
  if (!n || !elementwise1(n) || q->dead[n->index] || !free_node(q, n) || n->n_outputs != 1 || !n->outputs[0])
    return FALSE;
  for (uint32_t k = 0; k < n->n_inputs; k++) {
    const MscTensor *c = kon(q, n->inputs[k]);
    if (n->inputs[k] && c && msc_tensor_numel(c) != 1) return FALSE;
  }
  return TRUE;
}

/* Collects the region producing @v: its nodes down to (at most 2) activation DequantizeLinear leaves. */
/* TRUE when every element of @t is +0.0f. */
static gboolean all_zero(const MscTensor *t) {
  if (!t || t->dtype != MSC_DTYPE_FLOAT32) return FALSE;
  for (int64_t i = 0; i < msc_tensor_numel(t); i++) {
    uint32_t b;
    memcpy(&b, (const float *)t->data + i, 4);
    if (b) return FALSE;
  }
  return TRUE;
}

/* MaxPool(DQ(x)) producing @v, read once (no graph output): DQ is increasing, so it equals DQ of the
 * max pool of the raw bytes (the same values, no rounding): the MaxPool node, its DQ in @dq. */
static const MscNode *maxpool_dq(const QPass *q, const MscValue *v, const MscNode **dq, float *s, int32_t *z,
                                 MscDType *dt) {
  const MscNode *n = v ? v->producer : NULL;
  if (!is_op(n, "MaxPool") || !free_node(q, n) || n->n_inputs != 1 || n->outputs[0] != v ||
      (n->n_outputs > 1 && n->outputs[1]) || q->readers[v->index] != 1 || (v->flags & MSC_VALUE_GRAPH_OUTPUT) ||
      !n->inputs[0] || n->inputs[0]->rank != 4 || attr_int(n, "storage_order", 0))
    return NULL;
  *dq = act_dq(q, n->inputs[0], s, z, dt);
  return *dq ? n : NULL;
}

/* An 8-bit MaxPool @mp of value @x (@xdt) with no QuantizeLinear after it (identity table: the bytes
 * keep their scale and zero point), writing @mp's own output value as @ydt. */
static CpuQStep *own_pool_step(QPass *q, const MscNode *mp, int32_t x, MscDType xdt, MscDType ydt, const char *desc) {
  CpuQStep *ps = qop_new(CPU_Q_MAXPOOL, mp, mp, ydt);
  ps->lut = g_malloc(256);
  for (int i = 0; i < 256; i++) ps->lut[i] = (uint8_t)i;
  ps->xs[0] = x;
  ps->n_x = 1;
  ps->xdt = xdt;
  ps->ownpool = 1;
  add_node(ps, mp);
  CpuStep *pt = new_step(q, mp, mp, CPU_STEP_QOP, ps);
  pt->n_group = 1;
  g_strlcpy(pt->desc, desc, sizeof pt->desc);
  return ps;
}

/* The 8-bit MaxPool of a MaxPool leaf, writing the MaxPool's own output value as 8-bit. */
static void leaf_pool_step(QPass *q, const MscNode *mp, const MscNode *dq, MscDType xdt) {
  add_node(own_pool_step(q, mp, (int32_t)dq->inputs[0]->index, xdt, xdt, "MaxPool int8 (region leaf)"), dq);
}

/* Concat(DQ(x_k) with one scale / zero point, all-zero constants) read only by the region:
 * the DQ of the first input (for the leaf's table) or NULL. */
static const MscNode *zero_concat(const QPass *q, const MscNode *n, const MscValue *v, float *s, int32_t *z,
                                  MscDType *dt) {
  if (!is_op(n, "Concat") || !free_node(q, n) || n->n_outputs != 1 || n->n_inputs > CPU_Q_MAX_IN ||
      q->readers[v->index] != 1 || (v->flags & MSC_VALUE_GRAPH_OUTPUT) || !find_attr(n, "axis"))
    return NULL;
  const MscNode *first = NULL;
  for (uint32_t k = 0; k < n->n_inputs; k++) {
    const MscValue *iv = n->inputs[k];
    if (!iv) return NULL;
    if (kon(q, iv)) {
      if (!all_zero(kon(q, iv))) return NULL;
      continue;
    }
    float s2;
    int32_t z2;
    MscDType d2;
    const MscNode *d = act_dq(q, iv, &s2, &z2, &d2);
    if (!d && !maxpool_dq(q, iv, &d, &s2, &z2, &d2)) return NULL;
    if (!first) first = d, *s = s2, *z = z2, *dt = d2;
    else if (s2 != *s || z2 != *z || d2 != *dt) return NULL;
  }
  return first;
}

static gboolean region_collect(const QPass *q, const MscValue *v, Region *r) {
  if (!v || kon(q, v)) return TRUE;
  float s;
  int32_t z;
  MscDType dt;
  const MscNode *d = act_dq(q, v, &s, &z, &dt), *cat = NULL, *mp = NULL;
  if (!d && (d = zero_concat(q, v->producer, v, &s, &z, &dt))) cat = v->producer;
  if (!d && (mp = maxpool_dq(q, v, &d, &s, &z, &dt)) == NULL) d = NULL;
  if (d) {
    for (uint32_t i = 0; i < r->nleaf; i++)
      if (r->lv[i] == v) return TRUE;
    if (r->nleaf >= 2) return FALSE;
    uint32_t i = r->nleaf++;
    r->dq[i] = d, r->sx[i] = s, r->zx[i] = z, r->xdt[i] = dt, r->lv[i] = v, r->cat[i] = cat, r->mp[i] = mp;
    r->xv[i] = cat || mp ? (int32_t)v->index : (int32_t)d->inputs[0]->index;
    return TRUE;
  }
  const MscNode *n = v->producer;
  if (!region_node_ok(q, n)) return FALSE;
  for (uint32_t i = 0; i < r->n; i++)
    if (r->nodes[i] == n) return TRUE;
  if (r->n >= REGION_MAX) return FALSE;
  r->nodes[r->n++] = n;
  for (uint32_t k = 0; k < n->n_inputs; k++)
    if (!region_collect(q, n->inputs[k], r)) return FALSE;
  return TRUE;
}

static int node_cmp(const void *a, const void *b) {
  const MscNode *x = *(const MscNode *const *)a, *y = *(const MscNode *const *)b;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* Runs the region on the leaves' 8-bit inputs @t (DQ, then each node in graph
 * order, the graph's own kernels); returns the float value @out. */
static MscTensor *region_eval(const QPass *q, const Region *r, MscTensor **t, const MscValue *out) {
  const MscValue *vals[REGION_MAX + 2];
  MscTensor *ts[REGION_MAX + 2];
  uint32_t nv = 0;
  MscTensor *res = NULL;
  gboolean ok = TRUE;
  for (uint32_t i = 0; i < r->nleaf && ok; i++) {
    MscTensor *f = exec1(q, r->dq[i], r->dq[i]->inputs[0], t[i], NULL, NULL);
    vals[nv] = r->lv[i], ts[nv++] = f;
    ok = f && f->dtype == MSC_DTYPE_FLOAT32;
  }
  for (uint32_t i = 0; i < r->n && ok; i++) {
    const MscNode *n = r->nodes[i];
    const MscTensor *in[16];
    MscTensor *o[4] = {0};
    if (n->n_inputs > 16) {
      ok = FALSE;
      break;
    }
    for (uint32_t k = 0; k < n->n_inputs && ok; k++) {
      const MscValue *iv = n->inputs[k];
      in[k] = NULL;
      if (!iv) continue;
      if ((in[k] = kon(q, iv))) continue;
      for (uint32_t j = 0; j < nv; j++)
        if (vals[j] == iv) in[k] = ts[j];
      ok = in[k] != NULL;
    }
    if (!ok || !msc_node_execute(n, in, o, NULL) || !o[0] || o[0]->dtype != MSC_DTYPE_FLOAT32) {
      msc_tensor_free(o[0]);
      ok = FALSE;
      break;
    }
    vals[nv] = n->outputs[0], ts[nv++] = o[0];
  }
  for (uint32_t j = 0; j < nv; j++) {
    if (ok && vals[j] == out && !res) res = ts[j];
    else msc_tensor_free(ts[j]);
  }
  return res;
}

/* Region Add(a, b) [-> Relu] of the two leaves: vadd_try. */
static void vadd_check(const Region *r, CpuQStep *s, float sy, int32_t zy) {
  const MscNode *add = r->nodes[0];
  if (!is_op(add, "Add") || add->n_inputs != 2 || (r->n == 2 && !is_op(r->nodes[1], "Relu")) || r->n > 2) return;
  if (r->n == 2 && r->nodes[1]->inputs[0] != add->outputs[0]) return;
  int swap = add->inputs[0] == r->lv[1];
  if (add->inputs[swap] != r->lv[0] || add->inputs[!swap] != r->lv[1]) return;
  vadd_try(s, r->sx, r->zx, r->xdt, r->n == 2, sy, zy);
}

/* The output @v of elementwise node @n ends a float region (a graph output, or read by nothing that a
 * region could take in: no QuantizeLinear, no elementwise node). */
static gboolean float_sink(const QPass *q, const MscNode *n, const MscValue *v) {
  if (v->flags & MSC_VALUE_GRAPH_OUTPUT) return TRUE;
  const MscGraph *g = q->m->g;
  gboolean any = FALSE;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *r = g->nodes[i];
    if (r == n || q->dead[i]) continue;
    for (uint32_t k = 0; k < r->n_inputs; k++)
      if (r->inputs[k] == v) {
        if (is_op(r, "QuantizeLinear") || elementwise1(r)) return FALSE;
        any = TRUE;
      }
  }
  return any;
}

/* The step of a float region @r of one 8-bit input ending at @n (its table set by the caller). */
static CpuQStep *region_step(QPass *q, const MscNode *n, const Region *r, CpuQKind kind, MscDType ydt,
                             const char *what) {
  CpuQStep *s = qop_new(kind, n, n, ydt);
  s->region = 1;
  s->xs[0] = r->xv[0];
  s->n_x = 1;
  s->xdt = r->xdt[0];
  add_node(s, r->dq[0]);
  for (uint32_t i = 0; i < r->n; i++) add_node(s, r->nodes[i]);
  CpuStep *st = new_step(q, n, n, CPU_STEP_QOP, s);
  st->n_group = r->n;
  g_snprintf(st->desc, sizeof st->desc, "float %s region (%u nodes) of an 8-bit input: %s", n->op_type, r->n, what);
  return s;
}

/* The region's output @v read by one MaxPool only (PP-OCR's head: hardswish -> MaxPool -> GAP), its table
 * @ft free of NaN: that MaxPool, else NULL. The max of ft[x] over a window is ft at the byte of the largest
 * order rank (rank_tables), so the pool runs on 8-bit ranks (CPU_Q_MAXPOOL) and only its output becomes
 * float; padding is left out of the window on both paths. MSC_INT8_RANKPOOL=0: off. */
static const MscNode *rank_pool(const QPass *q, const MscValue *v, const float *ft) {
  if ((v->flags & MSC_VALUE_GRAPH_OUTPUT) || q->readers[v->index] != 1 || !cpu_q_switch_on("MSC_INT8_RANKPOOL"))
    return NULL;
  for (int i = 0; i < 256; i++)
    if (isnan(ft[i])) return NULL;
  const MscGraph *g = q->m->g;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *r = g->nodes[i];
    if (q->dead[i] || r->n_inputs < 1 || r->inputs[0] != v) continue;
    if (!is_op(r, "MaxPool") || !free_node(q, r) || r->n_outputs != 1 || !r->outputs[0]) return NULL;
    const MscAttr *sd = find_attr(r, "storage_order");
    if (sd && sd->type == MSC_ATTR_INT && sd->i != 0) return NULL;
    return r;
  }
  return NULL;
}

/* rank[v]: the order of ft[v] among the 256 values (equal values, +0 and -0 too, share a rank); inv[rank]:
 * the value (the first byte's of equal ones). */
static void rank_tables(const float *ft, uint8_t *rank, float *inv) {
  uint8_t idx[256];
  for (int i = 0; i < 256; i++) { /* insertion sort of the bytes by value */
    int j = i;
    for (; j > 0 && ft[idx[j - 1]] > ft[i]; j--) idx[j] = idx[j - 1];
    idx[j] = (uint8_t)i;
  }
  int r = -1;
  for (int i = 0; i < 256; i++) {
    if (i == 0 || ft[idx[i]] != ft[idx[i - 1]]) inv[++r] = ft[idx[i]];
    rank[idx[i]] = (uint8_t)r;
  }
  for (int i = r + 1; i < 256; i++) inv[i] = inv[r];
}

/* DQ(x) -> elementwise float nodes ending at a float sink (float_sink) as one CPU_Q_FLUT step: the float
 * table of the region, made by running its own nodes on all 256 inputs (bit-identical to running them).
 * MSC_INT8_FLOAT_REGION=0: off. */
static gboolean try_float_region(QPass *q, const MscNode *n) {
  if (!region_node_ok(q, n)) return FALSE;
  const MscValue *v = n->outputs[0];
  if (!v || kon(q, v) || (v->dtype != MSC_DTYPE_FLOAT32 && v->dtype != MSC_DTYPE_UNDEFINED) || !float_sink(q, n, v))
    return FALSE;
  Region r = {0};
  if (!region_collect(q, v, &r) || r.n == 0 || r.nleaf != 1 || r.cat[0] || r.mp[0]) return FALSE;
  int32_t maxr = MAX(1, r.lv[0]->rank);
  for (uint32_t i = 0; i < r.n; i++)
    for (uint32_t k = 0; k < r.nodes[i]->n_inputs; k++) {
      const MscTensor *c = kon(q, r.nodes[i]->inputs[k]);
      if (c && c->rank > maxr) return FALSE;
    }
  qsort(r.nodes, r.n, sizeof r.nodes[0], node_cmp);
  if (r.nodes[r.n - 1] != n) return FALSE;
  MscTensor *t = all_values(r.xdt[0], 1, 0);
  MscTensor *f = region_eval(q, &r, &t, v);
  msc_tensor_free(t);
  if (!f || msc_tensor_numel(f) != 256 || f->dtype != MSC_DTYPE_FLOAT32) {
    msc_tensor_free(f);
    return FALSE;
  }
  const MscNode *mp = rank_pool(q, v, f->data);
  if (mp) { /* the region in order ranks (8-bit), the MaxPool on them, its float values from the ranks */
    float inv[256];
    uint8_t rank[256];
    rank_tables(f->data, rank, inv);
    msc_tensor_free(f);
    region_step(q, n, &r, CPU_Q_LUT1, MSC_DTYPE_UINT8, "order ranks")->lut = g_memdup2(rank, 256);
    own_pool_step(q, mp, (int32_t)v->index, MSC_DTYPE_UINT8, MSC_DTYPE_FLOAT32,
                  "MaxPool of order ranks int8, float values")->ftab = g_memdup2(inv, sizeof inv);
    return TRUE;
  }
  region_step(q, n, &r, CPU_Q_FLUT, MSC_DTYPE_FLOAT32, "table")->ftab = g_memdup2(f->data, 256 * sizeof(float));
  msc_tensor_free(f);
  return TRUE;
}

/* DQ(x) [, DQ(y)] -> elementwise nodes -> [GlobalAveragePool ->] QuantizeLinear as
 * one LUT1 / LUT2 / GAPT step (@qn: the QuantizeLinear). */
static gboolean try_region(QPass *q, const MscNode *qn) {
  float sy;
  int32_t zy;
  MscDType ydt;
  if (!is_op(qn, "QuantizeLinear") || !free_node(q, qn) || !qparams(q, qn, &sy, &zy, &ydt)) return FALSE;
  const MscValue *v = qn->inputs[0];
  if (!v || kon(q, v) || !v->producer || (v->flags & MSC_VALUE_GRAPH_OUTPUT)) return FALSE;
  if (qn->outputs[0]->dtype != MSC_DTYPE_UNDEFINED && qn->outputs[0]->dtype != ydt) return FALSE;
  const MscNode *gap = NULL;
  if (is_op(v->producer, "GlobalAveragePool")) {
    gap = v->producer;
    if (!free_node(q, gap) || q->readers[v->index] != 1 || gap->n_outputs != 1) return FALSE;
    v = gap->inputs[0];
    if (!v || !v->producer || is_op(v->producer, "DequantizeLinear")) return FALSE; /* plain GAP: try_table_op */
  }
  Region r = {0};
  if (!region_collect(q, v, &r) || r.n == 0 || r.nleaf == 0 || (gap && r.nleaf != 1)) return FALSE;
  /* scalar constants must not raise the rank (the step's output has its inputs' shape) */
  int32_t maxr = 1;
  for (uint32_t i = 0; i < r.nleaf; i++) maxr = i == 0 ? MAX(1, r.lv[i]->rank) : MIN(maxr, MAX(1, r.lv[i]->rank));
  for (uint32_t i = 0; i < r.n; i++)
    for (uint32_t k = 0; k < r.nodes[i]->n_inputs; k++) {
      const MscTensor *c = kon(q, r.nodes[i]->inputs[k]);
      if (c && c->rank > maxr) return FALSE;
    }
  qsort(r.nodes, r.n, sizeof r.nodes[0], node_cmp);
  CpuQStep *s = NULL;
  MscTensor *t[2] = {0};
  if (r.nleaf == 1) {
    t[0] = all_values(r.xdt[0], 1, 0);
    MscTensor *f = region_eval(q, &r, t, v);
    if (f && msc_tensor_numel(f) == 256) {
      if (gap) {
        s = qop_new(CPU_Q_GAPT, gap, qn, ydt);
        s->ftab = g_memdup2(f->data, 256 * sizeof(float));
        s->sy = sy, s->zy = zy;
      } else {
        MscTensor *o = exec1(q, qn, qn->inputs[0], f, NULL, NULL);
        if (o && o->nbytes == 256) {
          s = qop_new(CPU_Q_LUT1, r.nodes[r.n - 1], qn, ydt);
          s->lut = g_memdup2(o->data, 256);
        }
        msc_tensor_free(o);
      }
    }
    msc_tensor_free(f);
  } else {
    t[0] = all_values(r.xdt[0], 2, 0);
    t[1] = all_values(r.xdt[1], 2, 1);
    MscTensor *f = region_eval(q, &r, t, v);
    if (f && msc_tensor_numel(f) == 65536) {
      MscTensor *o = exec1(q, qn, qn->inputs[0], f, NULL, NULL);
      if (o && o->nbytes == 65536) {
        s = qop_new(CPU_Q_LUT2, r.nodes[r.n - 1], qn, ydt);
        s->lut = g_memdup2(o->data, 65536);
        vadd_check(&r, s, sy, zy);
      }
      msc_tensor_free(o);
    }
    msc_tensor_free(f);
  }
  msc_tensor_free(t[0]);
  msc_tensor_free(t[1]);
  if (!s) return FALSE;
  s->region = 1;
  for (uint32_t k = 0; k < r.nleaf; k++) {
    s->xs[k] = r.xv[k];
    add_node(s, r.cat[k] ? r.cat[k] : r.mp[k] ? r.mp[k] : r.dq[k]);
  }
  s->n_x = r.nleaf;
  s->xdt = r.xdt[0];
  for (uint32_t i = 0; i < r.n; i++) add_node(s, r.nodes[i]);
  if (gap) add_node(s, gap);
  add_node(s, qn);
  /* the step sits at the QuantizeLinear (interior nodes may feed other readers: they stay until the sweep) */
  CpuStep *st = new_step(q, qn, qn, CPU_STEP_QOP, s);
  st->n_group = r.n + 1 + (gap != NULL);
  g_snprintf(st->desc, sizeof st->desc, "QDQ %s%s region (%u nodes) int8", gap ? "GlobalAveragePool of " : "",
             r.nodes[r.n - 1]->op_type, r.n);
  q->m->stats.n_int8_fused_tables += r.n - 1;
  for (uint32_t k = 0; k < r.nleaf; k++) /* MaxPool leaves: the 8-bit max pool */
    if (r.mp[k]) leaf_pool_step(q, r.mp[k], r.dq[k], r.xdt[k]);
  for (uint32_t k = 0; k < r.nleaf; k++) { /* Concat leaves: the 8-bit concat, zero point for the zeros */
    const MscNode *c = r.cat[k];
    if (!c) continue;
    CpuQStep *cs = qop_new(CPU_Q_CATFILL, c, c, r.xdt[k]);
    cs->fill = (uint8_t)r.zx[k];
    cs->xdt = r.xdt[k];
    for (uint32_t i = 0; i < c->n_inputs; i++) {
      if (kon(q, c->inputs[i])) {
        cs->cin[i] = -1;
        continue;
      }
      cs->cin[i] = (int8_t)cs->n_x;
      const MscNode *pdq = NULL;
      float ps;
      int32_t pz;
      MscDType pdt;
      const MscNode *mp = maxpool_dq(q, c->inputs[i], &pdq, &ps, &pz, &pdt);
      if (mp) { /* a MaxPool input: its 8-bit max pool writes the MaxPool's value */
        leaf_pool_step(q, mp, pdq, pdt);
        cs->xs[cs->n_x++] = (int32_t)c->inputs[i]->index;
      } else {
        cs->xs[cs->n_x++] = (int32_t)c->inputs[i]->producer->inputs[0]->index;
      }
    }
    cs->n_cin = c->n_inputs;
    add_node(cs, c);
    CpuStep *ct = new_step(q, c, c, CPU_STEP_QOP, cs);
    ct->n_group = 1;
    g_snprintf(ct->desc, sizeof ct->desc, "QDQ Concat with zeros int8");
  }
  return TRUE;
}

/* Step @s of the group DequantizeLinear @dq -> @n -> QuantizeLinear @qn reading dq's 8-bit input (@xdt),
 * @n_group graph nodes run, described as @desc. */
static void dq_op_q_step(QPass *q, CpuQStep *s, const MscNode *dq, const MscNode *n, const MscNode *qn, MscDType xdt,
                         uint32_t n_group, const char *desc) {
  s->xs[0] = (int32_t)dq->inputs[0]->index;
  s->n_x = 1;
  s->xdt = xdt;
  add_node(s, dq);
  add_node(s, n);
  add_node(s, qn);
  CpuStep *st = new_step(q, n, qn, CPU_STEP_QOP, s);
  st->n_group = n_group;
  mark(q, n, qn);
  g_strlcpy(st->desc, desc, sizeof st->desc);
}

/* DQ(x) -> Pad(constant, non-negative pads) -> Q: bytes through the requant table, fill Q(value). */
static gboolean try_pad(QPass *q, const MscNode *n) {
  if (!is_op(n, "Pad") || n->n_outputs != 1 || !n->outputs[0] || n->n_inputs < 1 || !n->inputs[0]) return FALSE;
  float sx, sy;
  int32_t zx, zy;
  MscDType xdt, ydt;
  const MscNode *dq = act_dq(q, n->inputs[0], &sx, &zx, &xdt);
  const MscNode *qn = dq ? q_reader(q, n->outputs[0], &sy, &zy, &ydt) : NULL;
  if (!qn) return FALSE;
  float val;
  int64_t pads[2 * MSC_MAX_RANK];
  if (!cpu_pad_const(q->m, n, n->inputs[0]->rank, pads, &val)) return FALSE;
  uint8_t *t = table1(q, dq, NULL, qn, xdt);
  MscTensor *fv = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, (int64_t[]){1}, NULL);
  *(float *)fv->data = val;
  MscTensor *fq = t ? exec1(q, qn, qn->inputs[0], fv, NULL, NULL) : NULL;
  msc_tensor_free(fv);
  if (!fq || fq->nbytes != 1) {
    g_free(t);
    msc_tensor_free(fq);
    return FALSE;
  }
  CpuQStep *s = qop_new(CPU_Q_PAD, n, qn, ydt);
  s->lut = t;
  s->fill = *(const uint8_t *)fq->data;
  msc_tensor_free(fq);
  dq_op_q_step(q, s, dq, n, qn, xdt, 2, "QDQ Pad int8");
  return TRUE;
}

/* DQ(x) (per tensor) -> Resize (linear or cubic; roi, scales, sizes constant) -> Q (per tensor) as one
 * CPU_Q_RESIZE step (MSC_INT8_RESIZE=0: three steps). */
static gboolean try_resize(QPass *q, const MscNode *n) {
  if (!is_op(n, "Resize") || n->n_outputs != 1 || !n->outputs[0] || n->n_inputs < 1 || !n->inputs[0]) return FALSE;
  const MscAttr *mode = find_attr(n, "mode");
  if (!mode || mode->type != MSC_ATTR_STRING || (strcmp(mode->s, "linear") && strcmp(mode->s, "cubic"))) return FALSE;
  for (uint32_t k = 1; k < n->n_inputs; k++)
    if (n->inputs[k] && !kon(q, n->inputs[k])) return FALSE;
  float sx, sy;
  int32_t zx, zy;
  MscDType xdt, ydt;
  const MscNode *dq = act_dq(q, n->inputs[0], &sx, &zx, &xdt);
  const MscNode *qn = dq ? q_reader(q, n->outputs[0], &sy, &zy, &ydt) : NULL;
  if (!qn || find_attr(qn, "output_dtype") || find_attr(qn, "block_size")) return FALSE;
  MscTensor *t = all_values(xdt, 1, 0), *f = exec1(q, dq, dq->inputs[0], t, NULL, NULL);
  msc_tensor_free(t);
  if (!f || f->dtype != MSC_DTYPE_FLOAT32 || msc_tensor_numel(f) != 256) {
    msc_tensor_free(f);
    return FALSE;
  }
  CpuQStep *s = qop_new(CPU_Q_RESIZE, n, qn, ydt);
  s->ftab = g_memdup2(f->data, 256 * sizeof(float));
  msc_tensor_free(f);
  s->sy = sy, s->zy = zy;
  dq_op_q_step(q, s, dq, n, qn, xdt, 3, "QDQ Resize int8 (float planes)");
  return TRUE;
}

void cpu_qstep_free(CpuQStep *q) {
  if (!q) return;
  cpu_qweights_free(q->w);
  g_free(q->lut);
  g_free(q->ftab);
  g_free(q);
}

/* ---------------------------------------------------------------------- */
/* table fusion: a chain of 8-bit table steps is one table                */

/* The live int8 step (head index) of kind @kind that writes value @v, or -1. */
static int32_t step_producer(const QPass *q, CpuQKind kind, int32_t v) {
  const MscGraph *g = q->m->g;
  for (uint32_t j = 0; j < g->n_nodes; j++) {
    const CpuQStep *s = q->is_head[j] && !q->dead[j] ? q->groups[j].q : NULL;
    if (s && s->kind == kind && s->y == v) return (int32_t)j;
  }
  return -1;
}

/* The LUT1 step (head index) of one input that writes value @v, or -1. */
static int32_t lut1_producer(const QPass *q, int32_t v) {
  const int32_t j = step_producer(q, CPU_Q_LUT1, v);
  return j >= 0 && q->groups[j].q->n_x == 1 ? j : -1;
}

/* The DequantizeLinear of @v inside step @s exists and only nodes of @s read its output. */
static gboolean dq_private(const QPass *q, const CpuQStep *s, int32_t v) {
  const MscGraph *g = q->m->g;
  for (uint32_t k = 0; k < s->n_nodes; k++) {
    const MscNode *d = s->nodes[k];
    if (!is_op(d, "DequantizeLinear") || !d->inputs[0] || (int32_t)d->inputs[0]->index != v) continue;
    const MscValue *o = d->outputs[0];
    if (!o || (o->flags & MSC_VALUE_GRAPH_OUTPUT)) return FALSE;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
      const MscNode *r = g->nodes[i];
      if (q->dead[i]) continue;
      gboolean reads = FALSE, inside = FALSE;
      for (uint32_t a = 0; a < r->n_inputs; a++) reads |= r->inputs[a] == o;
      for (uint32_t b = 0; b < s->n_nodes && reads; b++) inside |= s->nodes[b] == r;
      if (reads && !inside) return FALSE;
    }
    return TRUE;
  }
  return FALSE;
}

/* The CONV step (head index) with an 8-bit output @v, or -1. */
static int32_t conv_producer(const QPass *q, int32_t v) {
  const int32_t j = step_producer(q, CPU_Q_CONV, v);
  return j >= 0 && q->groups[j].q->ydt != MSC_DTYPE_INT32 ? j : -1;
}

/* Step @s may take over producer @j's input when the value @v between
 * them is read by nothing else: one DequantizeLinear, inside @s, whose
 * output only @s's op reads, and no graph output. */
static gboolean private_link(const QPass *q, const CpuQStep *s, int32_t j, int32_t v) {
  const CpuStep *ps = &q->groups[j];
  if (!ps->last || !ps->last->outputs[0] || (ps->last->outputs[0]->flags & MSC_VALUE_GRAPH_OUTPUT)) return FALSE;
  if (q->readers[v] != 1 || ps->q->n_nodes + s->n_nodes > CPU_Q_MAX_NODES) return FALSE;
  return dq_private(q, s, v);
}

/* Step @s absorbs producer @j: its nodes go first (shape propagation
 * walks them in order) and the producer's op and Q nodes stop running. */
static void absorb(QPass *q, CpuQStep *s, int32_t j) {
  CpuQStep *p = q->groups[j].q;
  const MscNode *keep[CPU_Q_MAX_NODES];
  uint32_t n = 0;
  for (uint32_t k = 0; k < p->n_nodes; k++) keep[n++] = p->nodes[k];
  for (uint32_t k = 0; k < s->n_nodes; k++) keep[n++] = s->nodes[k];
  memcpy(s->nodes, keep, sizeof(keep[0]) * n);
  s->n_nodes = n;
  q->dead[j] = 1;
  if (q->groups[j].last) q->dead[q->groups[j].last->index] = 1;
  q->is_head[j] = FALSE;
  cpu_qstep_free(p);
  q->groups[j].q = NULL;
}

/* In node order: a LUT1 step whose input comes from a LUT1 step through a
 * private link composes the two tables (y = t2[t1[x]]); a LUT2 step whose
 * two inputs are x and t1[x] (hardswish x * hsig(x), x * x, ...) becomes
 * the LUT1 y = t2[x, t1[x]]. Bit-identical: the tables are the same maps. */
static void fuse_tables(QPass *q) {
  const MscGraph *g = q->m->g;
  const gboolean fuse_conv = cpu_q_switch_on("MSC_INT8_FUSE_CONV"); /* 0: no table fused into a conv */
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    CpuQStep *s = q->is_head[i] && !q->dead[i] ? q->groups[i].q : NULL;
    if (!s) continue;
    if (s->kind == CPU_Q_LUT1 && s->n_x == 1) {
      const int32_t j = lut1_producer(q, s->xs[0]);
      const int32_t c = j < 0 && fuse_conv ? conv_producer(q, s->xs[0]) : -1;
      if (c >= 0 && q->groups[c].last && q->groups[c].last->outputs[0] &&
          !(q->groups[c].last->outputs[0]->flags & MSC_VALUE_GRAPH_OUTPUT) && q->readers[s->xs[0]] == 1 &&
          dq_private(q, s, s->xs[0])) {
        /* the conv applies the table to its requantized bytes and writes this step's output */
        CpuQStep *cs = q->groups[c].q;
        if (cs->lut)
          for (int v = 0; v < 256; v++) cs->lut[v] = s->lut[cs->lut[v]];
        else
          cs->lut = g_memdup2(s->lut, 256);
        cs->pydt = s->ydt;
        cs->y = s->y;
        q->groups[c].y = s->y;
        q->dead[i] = 1;
        if (q->groups[i].last) q->dead[q->groups[i].last->index] = 1;
        q->is_head[i] = FALSE;
        cpu_qstep_free(s);
        q->groups[i].q = NULL;
        q->m->stats.n_int8_fused_tables++;
        continue;
      }
      if (j < 0 || q->groups[j].q->region != s->region || !private_link(q, s, j, s->xs[0])) continue;
      const CpuQStep *p = q->groups[j].q;
      uint8_t t[256];
      for (int v = 0; v < 256; v++) t[v] = s->lut[p->lut[v]];
      memcpy(s->lut, t, 256);
      s->xs[0] = p->xs[0];
      s->xdt = p->xdt;
      q->groups[i].x = s->xs[0];
      absorb(q, s, j);
      q->m->stats.n_int8_fused_tables++;
    } else if (s->kind == CPU_Q_LUT2 && s->n_x == 2) {
      uint8_t *t = g_malloc(256);
      int32_t x = -1, j = -1;
      if (s->xs[0] == s->xs[1]) {
        for (int v = 0; v < 256; v++) t[v] = s->lut[v << 8 | v];
        x = s->xs[0];
      } else if ((j = lut1_producer(q, s->xs[1])) >= 0 && q->groups[j].q->xs[0] == s->xs[0] &&
                 private_link(q, s, j, s->xs[1])) {
        for (int v = 0; v < 256; v++) t[v] = s->lut[v << 8 | q->groups[j].q->lut[v]];
        x = s->xs[0];
      } else if ((j = lut1_producer(q, s->xs[0])) >= 0 && q->groups[j].q->xs[0] == s->xs[1] &&
                 private_link(q, s, j, s->xs[0])) {
        for (int v = 0; v < 256; v++) t[v] = s->lut[(int)q->groups[j].q->lut[v] << 8 | v];
        x = s->xs[1];
        s->xdt = q->groups[j].q->xdt;
      }
      if (x < 0) {
        g_free(t);
        continue;
      }
      g_free(s->lut);
      s->lut = t;
      s->kind = CPU_Q_LUT1;
      s->xs[0] = x;
      s->n_x = 1;
      q->groups[i].x = x;
      if (j >= 0) absorb(q, s, j);
      q->m->stats.n_int8_fused_tables++;
    }
  }
}

/* An int8 conv whose input comes from an 8-bit Pad step through a private link, where the Pad's table is
 * the identity (same scale, zero point and type on both sides) and its fill is the conv's input zero point
 * (Q(0.0): what the conv pads with), reads the Pad's input with the Pad's spatial pads added to its own:
 * the same bytes in every window, no padded copy (M-LSD's stride-2 depthwise convs; MSC_FOLD_PAD=0: off). */
static void fuse_pad(QPass *q) {
  const MscGraph *g = q->m->g;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    CpuQStep *s = q->is_head[i] && !q->dead[i] ? q->groups[i].q : NULL;
    if (!s || s->kind != CPU_Q_CONV || s->gemm || s->n_x < 1) continue;
    const int32_t j = step_producer(q, CPU_Q_PAD, s->xs[0]);
    if (j < 0) continue;
    const CpuQStep *ps = q->groups[j].q;
    const MscNode *pad = ps->op;
    gboolean same = ps->xdt == ps->ydt && ps->xdt == s->xdt && ps->fill == (uint8_t)s->zx;
    for (int v = 0; v < 256 && same; v++) same = ps->lut[v] == v;
    int64_t xpad[4];
    /* the link: the Pad's bytes are read only by the conv's own DequantizeLinear, which only the conv reads */
    const MscValue *dqo = s->op->inputs[0];
    const MscNode *dq = dqo ? dqo->producer : NULL;
    const MscValue *pv = q->m->g->values[s->xs[0]];
    if (!same || !dq || !is_op(dq, "DequantizeLinear") || dq->inputs[0] != pv || q->readers[pv->index] != 1 ||
        q->readers[dqo->index] != 1 || ((pv->flags | dqo->flags) & MSC_VALUE_GRAPH_OUTPUT) ||
        !cpu_pad_foldable(q->m, pad, s->op, TRUE, xpad))
      continue;
    s->xs[0] = ps->xs[0];
    q->groups[i].x = s->xs[0];
    memcpy(q->groups[i].xpad, xpad, sizeof xpad);
    q->groups[i].pad_node = pad;
    q->groups[i].n_group += q->groups[j].n_group;
    absorb(q, s, j);
    q->m->stats.n_pads_folded++;
    g_strlcat(q->groups[i].desc, " + Pad", sizeof q->groups[i].desc);
  }
}

/* @a and @b have the same rank and, per axis, the same known size or both an unknown one (dynamic
 * models: PP-OCR's residual adds); the fused step checks the real shapes are equal per shape plan. */
static gboolean alike_shapes(const MscValue *a, const MscValue *b) {
  if (!a || !b || a->rank < 1 || a->rank != b->rank) return FALSE;
  for (int32_t i = 0; i < a->rank; i++) {
    gboolean ka = a->dims[i] > 0 && !a->dim_params[i], kb = b->dims[i] > 0 && !b->dim_params[i];
    if (ka != kb || (ka && a->dims[i] != b->dims[i])) return FALSE;
  }
  return TRUE;
}

/* A residual-add step (LUT2 with the vector add) whose one input comes from an int8 conv through a
 * private link (only the add's DequantizeLinear reads it) becomes part of that conv: the conv applies
 * the add to its requantized bytes (per tile, in cache) with the other input, and writes the add's
 * output. The fused step takes the add's place in the step order (both inputs exist there). Same
 * operations on the same bytes: bit-identical (MSC_INT8_FUSE_ADD=0: off). */
static void fuse_vadd(QPass *q) {
  const MscGraph *g = q->m->g;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    CpuQStep *s = q->is_head[i] && !q->dead[i] ? q->groups[i].q : NULL;
    if (!s || s->kind != CPU_Q_LUT2 || !s->vadd || s->n_x != 2 || s->xs[0] == s->xs[1]) continue;
    const MscNode *last = q->groups[i].last;
    if (!last || !last->outputs[0]) continue;
    if (!alike_shapes(g->values[s->xs[0]], g->values[s->xs[1]])) continue;
    for (int k = 0; k < 2; k++) {
      const int32_t c = conv_producer(q, s->xs[k]);
      if (c < 0) continue;
      CpuQStep *cs = q->groups[c].q;
      const CpuStep *cg = &q->groups[c];
      if (cs->gemm || cs->fvadd || cs->n_x != 1 || !cg->last || !cg->last->outputs[0] ||
          (cg->last->outputs[0]->flags & MSC_VALUE_GRAPH_OUTPUT) || q->readers[s->xs[k]] != 1 || !dq_private(q, s, s->xs[k]))
        continue;
      if ((cs->lut ? cs->pydt : cs->ydt) != s->va.adt[k]) continue;
      cs->xs[1] = s->xs[1 - k];
      cs->n_x = 2;
      cs->va = s->va;
      cs->vside = k;
      cs->fvadd = 1;
      cs->pydt = s->ydt;
      cs->y = s->y;
      q->groups[c].y = s->y;
      /* emitted at the add's place (its last node, possibly its head); the add's nodes now belong to
       * the conv's group */
      q->groups[c].last = last;
      for (uint32_t k2 = 0; k2 < g->n_nodes; k2++)
        if (q->owner[k2] == (int32_t)i) q->owner[k2] = c;
      q->owner[last->index] = c;
      if (last->index != i) q->dead[i] = 1;
      else q->owner[i] = c;
      q->is_head[i] = FALSE;
      cpu_qstep_free(s);
      memset(&q->groups[i], 0, sizeof q->groups[i]);
      g_strlcat(q->groups[c].desc, " + residual Add", sizeof q->groups[c].desc);
      break;
    }
  }
}

/* A QuantizeLinear (float32 input) or DequantizeLinear (8-bit activation input, float32 output) that
 * no int8 step took (a layer kept in float, the model's input or output), per-tensor: its own step
 * with the same float operations as the graph's kernel, 8 lanes at a time (MSC_INT8_QSTEP=0: off). */
static gboolean try_qdq_step(QPass *q, const MscNode *n) {
  float sc;
  int32_t zp;
  MscDType dt;
  gboolean quant = is_op(n, "QuantizeLinear");
  if (!(quant || is_op(n, "DequantizeLinear")) || !n->inputs[0] || kon(q, n->inputs[0]) || !qparams(q, n, &sc, &zp, &dt))
    return FALSE;
  if (find_attr(n, "axis") && n->inputs[1] && kon(q, n->inputs[1]) && msc_tensor_numel(kon(q, n->inputs[1])) != 1)
    return FALSE;
  if (find_attr(n, "output_dtype") || find_attr(n, "block_size")) return FALSE;
  if (quant) {
    if (n->inputs[0]->dtype != MSC_DTYPE_FLOAT32) return FALSE;
    if (n->outputs[0]->dtype != MSC_DTYPE_UNDEFINED && n->outputs[0]->dtype != dt) return FALSE;
  } else {
    if (n->inputs[0]->dtype != dt) return FALSE;
    if (n->outputs[0]->dtype != MSC_DTYPE_UNDEFINED && n->outputs[0]->dtype != MSC_DTYPE_FLOAT32) return FALSE;
  }
  CpuQStep *s = qop_new(quant ? CPU_Q_QUANT : CPU_Q_DEQ, n, n, quant ? dt : MSC_DTYPE_FLOAT32);
  s->xs[0] = (int32_t)n->inputs[0]->index;
  s->n_x = 1;
  s->xdt = quant ? MSC_DTYPE_FLOAT32 : dt;
  if (quant) s->sy = sc, s->zy = zp;
  else s->sx = sc, s->zx = zp;
  add_node(s, n);
  CpuStep *st = new_step(q, n, n, CPU_STEP_QOP, s);
  st->n_group = 1;
  g_snprintf(st->desc, sizeof st->desc, quant ? "QuantizeLinear int8 (AVX2)" : "DequantizeLinear int8 (AVX2)");
  return TRUE;
}

void cpu_qpass_run(CpuModel *m, const uint32_t *readers, unsigned char *dead, int32_t *owner, gboolean *is_head,
                   CpuStep *groups) {
  QPass q = {m, readers, dead, owner, is_head, groups};
  const MscGraph *g = m->g;
  const gboolean resize = cpu_q_switch_on("MSC_INT8_RESIZE"); /* 0: DQ, Resize, Q stay three steps */
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (!free_node(&q, n)) continue;
    if (try_conv_qdq(&q, n) || try_qlinear(&q, n) || try_pad(&q, n) || (resize && try_resize(&q, n))) continue;
    try_table_op(&q, n);
  }
  const gboolean regions = cpu_q_switch_on("MSC_INT8_REGION"); /* 0: no elementwise regions */
  if (regions)
    for (uint32_t i = 0; i < g->n_nodes; i++)
      if (!dead[i]) try_region(&q, g->nodes[i]);
  if (regions && cpu_q_switch_on("MSC_INT8_FLOAT_REGION")) /* 0: float regions of 8-bit inputs node by node */
    for (uint32_t i = 0; i < g->n_nodes; i++)
      if (!dead[i]) try_float_region(&q, g->nodes[i]);
  if (cpu_q_switch_on("MSC_INT8_FUSE")) fuse_tables(&q);     /* 0: keep every table step */
  if (cpu_q_switch_on("MSC_INT8_FUSE_ADD")) fuse_vadd(&q); /* 0: residual adds stay their own steps */
  if (cpu_q_switch_on("MSC_FOLD_PAD")) fuse_pad(&q); /* 0: Pad steps stay their own steps (fp32 too: passes.c) */
  /* Nodes whose every reader went into an int8 step (which reads the 8-bit
   * tensors) or is itself removed: activation DequantizeLinear nodes and the
   * float interiors of tabulated regions. Reverse graph order: readers first.
   * The 8-bit inputs of int8 steps are read. */
  unsigned char *needed = g_new0(unsigned char, m->nv ? m->nv : 1);
  for (uint32_t j = 0; j < g->n_nodes; j++)
    if (!dead[j] && is_head[j] && groups[j].q)
      for (uint32_t k = 0; k < groups[j].q->n_x; k++) needed[groups[j].q->xs[k]] = 1;
  for (uint32_t i = g->n_nodes; i-- > 0;) {
    const MscNode *n = g->nodes[i];
    if (dead[i] || owner[i] >= 0 || is_head[i] || n->n_outputs == 0) continue;
    gboolean used = FALSE;
    for (uint32_t o = 0; o < n->n_outputs && !used; o++) {
      const MscValue *v = n->outputs[o];
      if (!v) continue;
      if ((v->flags & MSC_VALUE_GRAPH_OUTPUT) || needed[v->index]) used = TRUE;
      for (uint32_t j = i + 1; j < g->n_nodes && !used; j++) {
        const MscNode *r = g->nodes[j];
        if (dead[j] || (is_head[j] && groups[j].q) || (owner[j] >= 0 && groups[owner[j]].q)) continue;
        for (uint32_t k = 0; k < r->n_inputs; k++)
          if (r->inputs[k] == v) used = TRUE;
      }
    }
    if (!used) {
      dead[i] = 1;
      m->stats.n_dead++;
      if (is_op(n, "DequantizeLinear")) m->stats.n_int8_dq_removed++;
    }
  }
  g_free(needed);
  if (cpu_q_switch_on("MSC_INT8_QSTEP"))
    for (uint32_t i = 0; i < g->n_nodes; i++)
      if (free_node(&q, g->nodes[i])) try_qdq_step(&q, g->nodes[i]);
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (is_head[i] && groups[i].q) m->stats.n_int8_steps++;
}
