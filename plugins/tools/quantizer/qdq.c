/* qdq.c: the graph rewrite of the quantizer. Builds node specs from the
 * float graph and the plan, then materializes a new graph:
 *  - activations: QuantizeLinear -> DequantizeLinear pairs named as ONNX
 *    Runtime's quantize_static names them (T_QuantizeLinear_Output,
 *    T_DequantizeLinear_Output, T_scale, T_zero_point); every consumer of
 *    T reads the DequantizeLinear output, graph outputs keep T;
 *  - weights: int8 initializers W_quantized (symmetric, per output
 *    channel: axis 0 for Conv, grouped and depthwise included; Gemm B
 *    axis 0 with transB=1 else 1; MatMul B its last axis) and a
 *    DequantizeLinear with `axis`;
 *  - biases: int32 B_quantized with scale s_x * s_w[c], zero point 0;
 *  - a Relu (or Clip) right after a quantized op is folded into the
 *    output quantization when that is exact (zero point at the grid
 *    minimum, range inside the Clip bounds), as ONNX Runtime does;
 *  - QOperator form: QLinearConv / QLinearMatMul where input, weight and
 *    output are quantized, QuantizeLinear/DequantizeLinear at the float
 *    boundaries; dead Q/DQ nodes are pruned;
 *  - dynamic MatMul/Gemm: the activation's scale and zero point are
 *    computed per call (DynamicQuantizeLinear's definition in standard
 *    ops: ReduceMin/ReduceMax/Div/Round/Clip/Cast) feeding a
 *    QuantizeLinear -> DequantizeLinear pair.
 */
#include <math.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "quant.h"
#include "tensor.h"

/* ---- node specs ---------------------------------------------------------------------------- */

MscQNode *msc_qnode_new(const char *name, const char *op_type, const char *domain, int64_t opset) {
  MscQNode *n = g_new0(MscQNode, 1);
  n->name = g_strdup(name ? name : "");
  n->op_type = g_strdup(op_type);
  n->domain = g_strdup(domain ? domain : "");
  n->opset = opset;
  n->in = g_ptr_array_new_with_free_func(g_free);
  n->out = g_ptr_array_new_with_free_func(g_free);
  n->attrs = g_array_new(FALSE, TRUE, sizeof(MscAttr));
  return n;
}

void msc_qnode_free(MscQNode *n) {
  if (!n) return;
  g_free(n->name);
  g_free(n->op_type);
  g_free(n->domain);
  g_ptr_array_unref(n->in);
  g_ptr_array_unref(n->out);
  for (guint i = 0; i < n->attrs->len; i++) msc_attr_clear(&g_array_index(n->attrs, MscAttr, i));
  g_array_unref(n->attrs);
  g_free(n);
}

void msc_qattr_copy(MscAttr *d, const MscAttr *s) {
  *d = *s;
  d->name = g_strdup(s->name);
  d->s = s->s ? g_memdup2(s->s, s->s_len + 1) : NULL;
  d->t = s->t ? msc_tensor_copy(s->t, NULL) : NULL;
  d->floats = s->floats ? g_memdup2(s->floats, sizeof(float) * s->n) : NULL;
  d->ints = s->ints ? g_memdup2(s->ints, sizeof(int64_t) * s->n) : NULL;
  if (s->strings) {
    d->strings = g_new0(char *, s->n + 1);
    for (size_t i = 0; i < s->n; i++) d->strings[i] = g_strdup(s->strings[i]);
  }
}

void msc_qnode_add_attr_int(MscQNode *n, const char *name, int64_t v) {
  msc_qnode_remove_attr(n, name);
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_INT;
  a.i = v;
  g_array_append_val(n->attrs, a);
}

void msc_qnode_add_attr_str(MscQNode *n, const char *name, const char *s) {
  msc_qnode_remove_attr(n, name);
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_STRING;
  a.s = g_strdup(s);
  a.s_len = strlen(s);
  g_array_append_val(n->attrs, a);
}

MscAttr *msc_qnode_find_attr(MscQNode *n, const char *name) {
  for (guint i = 0; i < n->attrs->len; i++) {
    MscAttr *a = &g_array_index(n->attrs, MscAttr, i);
    if (strcmp(a->name, name) == 0) return a;
  }
  return NULL;
}

void msc_qnode_remove_attr(MscQNode *n, const char *name) {
  for (guint i = 0; i < n->attrs->len; i++) {
    MscAttr *a = &g_array_index(n->attrs, MscAttr, i);
    if (strcmp(a->name, name) == 0) {
      msc_attr_clear(a);
      g_array_remove_index(n->attrs, i);
      return;
    }
  }
}

static const char *in_name(const MscQNode *n, guint i) {
  return i < n->in->len ? g_ptr_array_index(n->in, i) : "";
}

static void set_in(MscQNode *n, guint i, const char *name) {
  while (n->in->len <= i) g_ptr_array_add(n->in, g_strdup(""));
  g_free(n->in->pdata[i]);
  n->in->pdata[i] = g_strdup(name);
}

const char *msc_qbuild_unique(MscQBuild *b, const char *base) {
  char *name = g_strdup(base);
  for (int k = 1; msc_graph_find_value(b->src, name) || g_hash_table_contains(b->names, name); k++) {
    g_free(name);
    name = g_strdup_printf("%s_%d", base, k);
  }
  g_hash_table_add(b->names, name);
  return name;
}

const char *msc_qbuild_add_init(MscQBuild *b, const char *base, MscTensor *t) {
  const char *name = msc_qbuild_unique(b, base);
  g_hash_table_insert(b->inits, g_strdup(name), t);
  return name;
}

static MscQNode *add_node(MscQBuild *b, const char *base, const char *op, int64_t opset) {
  MscQNode *n = msc_qnode_new(msc_qbuild_unique(b, base), op, "", opset);
  g_ptr_array_add(b->nodes, n);
  return n;
}

static void io(MscQNode *n, const char *i0, const char *i1, const char *i2, const char *o0) {
  if (i0) g_ptr_array_add(n->in, g_strdup(i0));
  if (i1) g_ptr_array_add(n->in, g_strdup(i1));
  if (i2) g_ptr_array_add(n->in, g_strdup(i2));
  if (o0) g_ptr_array_add(n->out, g_strdup(o0));
}

/* ---- scalars and weights -------------------------------------------------------------------- */

static MscTensor *scalar(MscDType dt, double v) {
  MscTensor *t = msc_tensor_new(dt, 0, NULL, NULL);
  msc_tensor_set_f64(t, 0, v);
  return t;
}

int msc_quant_weight_axis(const MscNode *n, uint32_t input, int32_t rank) {
  if (strcmp(n->op_type, "Conv") == 0) return input == 1 && rank >= 3 ? 0 : -1;
  if (strcmp(n->op_type, "Gemm") == 0) {
    if (input != 1 || rank != 2) return -1;
    for (uint32_t i = 0; i < n->n_attrs; i++)
      if (strcmp(n->attrs[i].name, "transB") == 0 && n->attrs[i].i) return 0;
    return 1;
  }
  if (strcmp(n->op_type, "MatMul") == 0) return input == 1 && rank >= 2 ? rank - 1 : -1;
  return -1;
}

typedef struct {
  char *dq;       /* DequantizeLinear output name */
  char *qname;    /* the int8 initializer */
  char *sname, *zname;
  float *scales;  /* per channel (1 when per-tensor) */
  int64_t n_ch;
} QWeight;

static void qweight_free(QWeight *w) {
  g_free(w->dq);
  g_free(w->qname);
  g_free(w->sname);
  g_free(w->zname);
  g_free(w->scales);
  g_free(w);
}

float *msc_quant_weight_scales(const MscTensor *w, int axis, gboolean per_tensor, int qmax, int64_t *n_out) {
  if (w->dtype != MSC_DTYPE_FLOAT32 || axis < 0 || axis >= w->rank) return NULL;
  int64_t numel = msc_tensor_numel(w), C = per_tensor ? 1 : w->dims[axis], inner = 1;
  for (int i = axis + 1; i < w->rank; i++) inner *= w->dims[i];
  if (per_tensor) inner = numel;
  if (C <= 0 || numel <= 0) return NULL;
  const float *x = w->data;
  float *s = g_new0(float, C);
  for (int64_t i = 0; i < numel; i++) {
    int64_t c = (i / inner) % C;
    float a = fabsf(x[i]);
    if (a > s[c]) s[c] = a;
  }
  for (int64_t c = 0; c < C; c++) {
    s[c] = s[c] / (float)qmax;
    if (!(s[c] > 0) || !isfinite(s[c])) s[c] = 1.0f;
  }
  if (n_out) *n_out = C;
  return s;
}

/* Symmetric int8 quantization of @w along @axis (per tensor when
 * @per_tensor): scale = max|w_c| / qmax (1 when all zero), q = round(w/s). */
static QWeight *quant_weight(MscQBuild *b, const char *wname, const MscTensor *w, int axis, gboolean per_tensor,
                             int qmax, int64_t opset) {
  if (w->dtype != MSC_DTYPE_FLOAT32 || axis < 0 || axis >= w->rank) return NULL;
  int64_t numel = msc_tensor_numel(w), C = per_tensor ? 1 : w->dims[axis], inner = 1;
  for (int i = axis + 1; i < w->rank; i++) inner *= w->dims[i];
  if (per_tensor) inner = numel;
  if (C <= 0 || numel <= 0) return NULL;
  const float *x = w->data;
  float *s = msc_quant_weight_scales(w, axis, per_tensor, qmax, NULL);
  MscTensor *q = msc_tensor_new(MSC_DTYPE_INT8, w->rank, w->dims, NULL);
  int8_t *qd = q->data;
  for (int64_t i = 0; i < numel; i++) {
    float v = nearbyintf(x[i] / s[(i / inner) % C]);
    qd[i] = (int8_t)(v > qmax ? qmax : v < -qmax ? -qmax : v);
  }
  QWeight *qw = g_new0(QWeight, 1);
  qw->scales = s;
  qw->n_ch = C;
  g_autofree char *bq = g_strdup_printf("%s_quantized", wname), *bs = g_strdup_printf("%s_scale", wname),
                  *bz = g_strdup_printf("%s_zero_point", wname), *bn = g_strdup_printf("%s_DequantizeLinear", wname),
                  *bo = g_strdup_printf("%s_DequantizeLinear_Output", wname);
  MscTensor *st, *zt;
  if (per_tensor) {
    st = scalar(MSC_DTYPE_FLOAT32, s[0]);
    zt = scalar(MSC_DTYPE_INT8, 0);
  } else {
    st = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, &C, NULL);
    memcpy(st->data, s, sizeof(float) * C);
    zt = msc_tensor_new(MSC_DTYPE_INT8, 1, &C, NULL);
  }
  qw->qname = g_strdup(msc_qbuild_add_init(b, bq, q));
  qw->sname = g_strdup(msc_qbuild_add_init(b, bs, st));
  qw->zname = g_strdup(msc_qbuild_add_init(b, bz, zt));
  MscQNode *dq = add_node(b, bn, "DequantizeLinear", opset);
  qw->dq = g_strdup(msc_qbuild_unique(b, bo));
  io(dq, qw->qname, qw->sname, qw->zname, qw->dq);
  if (!per_tensor) msc_qnode_add_attr_int(dq, "axis", axis);
  return qw;
}

/* int32 bias with scale s_x * s_w[c], zero point 0 (NULL when the bias
 * is not a 1-D float32 initializer matching the channels). */
static char *quant_bias(MscQBuild *b, const char *bname, const MscTensor *bt, float sx, const QWeight *qw,
                        const char *node, char **q_out, int64_t opset) {
  if (!bt || bt->dtype != MSC_DTYPE_FLOAT32 || bt->rank != 1) return NULL;
  int64_t C = bt->dims[0];
  if (qw->n_ch != 1 && qw->n_ch != C) return NULL;
  gboolean per_ch = qw->n_ch != 1;
  MscTensor *q = msc_tensor_new(MSC_DTYPE_INT32, 1, &C, NULL);
  MscTensor *st = per_ch ? msc_tensor_new(MSC_DTYPE_FLOAT32, 1, &C, NULL) : scalar(MSC_DTYPE_FLOAT32, sx * qw->scales[0]);
  MscTensor *zt = per_ch ? msc_tensor_new(MSC_DTYPE_INT32, 1, &C, NULL) : scalar(MSC_DTYPE_INT32, 0);
  const float *x = bt->data;
  for (int64_t c = 0; c < C; c++) {
    float s = sx * qw->scales[per_ch ? c : 0];
    if (per_ch) ((float *)st->data)[c] = s;
    double v = s > 0 ? nearbyint((double)(x[c] / s)) : 0;
    if (v > INT32_MAX) v = INT32_MAX;
    if (v < INT32_MIN) v = INT32_MIN;
    ((int32_t *)q->data)[c] = (int32_t)v;
  }
  /* A bias shared by nodes with different input scales gets one copy each. */
  g_autofree char *base = g_strdup(bname);
  g_autofree char *bq = g_strdup_printf("%s_quantized", base), *bs = g_strdup_printf("%s_scale", base),
                  *bz = g_strdup_printf("%s_zero_point", base), *bn = g_strdup_printf("%s_DequantizeLinear", base),
                  *bo = g_strdup_printf("%s_DequantizeLinear_Output", base);
  (void)node;
  const char *qn = msc_qbuild_add_init(b, bq, q), *sn = msc_qbuild_add_init(b, bs, st),
             *zn = msc_qbuild_add_init(b, bz, zt);
  MscQNode *dq = add_node(b, bn, "DequantizeLinear", opset);
  const char *out = msc_qbuild_unique(b, bo);
  io(dq, qn, sn, zn, out);
  if (per_ch) msc_qnode_add_attr_int(dq, "axis", 0);
  if (q_out) *q_out = g_strdup(qn);
  return g_strdup(out);
}

/* ---- activations ---------------------------------------------------------------------------- */

typedef struct {
  char *q, *dq, *s, *z;
  gboolean q_emitted;
} QAct;

static void qact_free(QAct *a) {
  g_free(a->q);
  g_free(a->dq);
  g_free(a->s);
  g_free(a->z);
  g_free(a);
}

typedef struct {
  MscQBuild *b;
  const MscQOptions *o;
  const MscQPlan *p;
  int64_t opset;
  GHashTable *acts;    /* tensor -> QAct* */
  GHashTable *weights; /* "W@axis" -> QWeight* */
  GHashTable *qlinear_out; /* tensor whose Q output a QLinear op produces */
} Rw;

static QAct *act_names(Rw *rw, const char *t) {
  QAct *a = g_hash_table_lookup(rw->acts, t);
  if (a) return a;
  const MscQParam *qp = g_hash_table_lookup(rw->p->act, t);
  if (!qp) return NULL;
  a = g_new0(QAct, 1);
  g_autofree char *bq = g_strdup_printf("%s_QuantizeLinear_Output", t), *bd = g_strdup_printf("%s_DequantizeLinear_Output", t),
                  *bs = g_strdup_printf("%s_scale", t), *bz = g_strdup_printf("%s_zero_point", t);
  a->q = g_strdup(msc_qbuild_unique(rw->b, bq));
  a->dq = g_strdup(msc_qbuild_unique(rw->b, bd));
  a->s = g_strdup(msc_qbuild_add_init(rw->b, bs, scalar(MSC_DTYPE_FLOAT32, qp->scale)));
  a->z = g_strdup(msc_qbuild_add_init(rw->b, bz, scalar(rw->o->act_type, qp->zp)));
  g_hash_table_insert(rw->acts, g_strdup(t), a);
  return a;
}

/* Emits T's QuantizeLinear (unless a QLinear op produces its output) and
 * DequantizeLinear. */
static void emit_qdq(Rw *rw, const char *t, gboolean q_by_qlinear) {
  QAct *a = act_names(rw, t);
  if (!a) return;
  g_autofree char *qn = g_strdup_printf("%s_QuantizeLinear", t), *dn = g_strdup_printf("%s_DequantizeLinear", t);
  if (!q_by_qlinear) io(add_node(rw->b, qn, "QuantizeLinear", rw->opset), t, a->s, a->z, a->q);
  io(add_node(rw->b, dn, "DequantizeLinear", rw->opset), a->q, a->s, a->z, a->dq);
}

static const MscNode *producer_of(const MscGraph *g, const char *name) {
  MscValue *v = msc_graph_find_value(g, name);
  return v ? v->producer : NULL;
}

/* Initializers, Constant outputs and values the verifier folded. */
static const MscTensor *const_of(const MscGraph *g, const char *name) {
  MscValue *v = name && *name ? msc_graph_find_value(g, name) : NULL;
  return v ? v->value : NULL;
}

static gboolean in_list(GPtrArray *a, const char *s) {
  for (guint i = 0; a && i < a->len; i++)
    if (strcmp(g_ptr_array_index(a, i), s) == 0) return TRUE;
  return FALSE;
}

static QWeight *weight_for(Rw *rw, const MscNode *n, const char *wn, const MscTensor *w) {
  if (!w) return NULL;
  int axis = msc_quant_weight_axis(n, 1, w->rank);
  if (axis < 0) return NULL;
  gboolean pt = rw->p->per_tensor_weights;
  g_autofree char *key = g_strdup_printf("%s@%d%s", wn, axis, pt ? "t" : "c");
  QWeight *qw = g_hash_table_lookup(rw->weights, key);
  if (qw) return qw;
  int qmax = rw->o->weight_bits == 7 ? 63 : 127;
  qw = quant_weight(rw->b, wn, w, axis, pt, qmax, rw->opset);
  if (qw) g_hash_table_insert(rw->weights, g_strdup(key), qw);
  return qw;
}

static const MscTensor *bn_param(const MscGraph *g, const MscNode *bn, uint32_t i, int64_t M) {
  const MscTensor *t = i < bn->n_inputs && bn->inputs[i] ? const_of(g, bn->inputs[i]->name) : NULL;
  return t && t->dtype == MSC_DTYPE_FLOAT32 && msc_tensor_numel(t) == M ? t : NULL;
}

/* Folds BatchNormalization @bn into Conv weights @w and bias @b (nullable):
 * k = gamma / sqrt(var + eps); W' = W * k[m]; b' = (b - mean) * k + beta.
 * Returns FALSE when the parameters are not constant float32 [M]. */
gboolean msc_quant_fold_bn(const MscGraph *g, const MscNode *bn, const MscTensor *w, const MscTensor *b,
                           MscTensor **w_out, MscTensor **b_out) {
  if (!w || w->dtype != MSC_DTYPE_FLOAT32 || w->rank < 3 || (b && (b->dtype != MSC_DTYPE_FLOAT32 || b->rank != 1)))
    return FALSE;
  int64_t M = w->dims[0];
  if (b && b->dims[0] != M) return FALSE;
  const MscTensor *gm = bn_param(g, bn, 1, M), *be = bn_param(g, bn, 2, M), *mu = bn_param(g, bn, 3, M),
                  *va = bn_param(g, bn, 4, M);
  if (!gm || !be || !mu || !va || bn->n_outputs < 1) return FALSE;
  for (uint32_t i = 1; i < bn->n_outputs; i++)
    if (bn->outputs[i]) return FALSE;
  double eps = 1e-5;
  for (uint32_t i = 0; i < bn->n_attrs; i++) {
    if (!strcmp(bn->attrs[i].name, "epsilon")) eps = bn->attrs[i].f;
    if (!strcmp(bn->attrs[i].name, "training_mode") && bn->attrs[i].i) return FALSE;
  }
  MscTensor *wo = msc_tensor_copy(w, NULL), *bo = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, &M, NULL);
  int64_t inner = msc_tensor_numel(w) / M;
  float *wd = wo->data, *bd = bo->data;
  for (int64_t m = 0; m < M; m++) {
    float k = (float)(((const float *)gm->data)[m] / sqrt((double)((const float *)va->data)[m] + eps));
    for (int64_t i = 0; i < inner; i++) wd[m * inner + i] *= k;
    float b0 = b ? ((const float *)b->data)[m] : 0.0f;
    bd[m] = (b0 - ((const float *)mu->data)[m]) * k + ((const float *)be->data)[m];
  }
  *w_out = wo;
  *b_out = bo;
  return TRUE;
}

/* Dynamic activation quantization of @x (uint8, per call): the
 * definition of DynamicQuantizeLinear in standard ops. Returns the
 * DequantizeLinear output. */
static const char *dyn_name(MscQBuild *b, const char *node, const char *what) {
  g_autofree char *base = g_strdup_printf("%s_dyn_%s", node, what);
  return msc_qbuild_unique(b, base);
}

static char *emit_dynamic(Rw *rw, const char *x, const char *node) {
  MscQBuild *b = rw->b;
  int64_t op = rw->opset;
  const char *zero = msc_qbuild_add_init(b, "dyn_zero", scalar(MSC_DTYPE_FLOAT32, 0));
  const char *qr = msc_qbuild_add_init(b, "dyn_qrange", scalar(MSC_DTYPE_FLOAT32, 255));
  const char *tiny = msc_qbuild_add_init(b, "dyn_tiny", scalar(MSC_DTYPE_FLOAT32, 1e-30));
  const char *qlo = msc_qbuild_add_init(b, "dyn_qmin", scalar(MSC_DTYPE_FLOAT32, 0));
  const char *qhi = msc_qbuild_add_init(b, "dyn_qmax", scalar(MSC_DTYPE_FLOAT32, 255));
  const char *mn0 = dyn_name(b, node, "min0"), *mx0 = dyn_name(b, node, "max0"), *mn = dyn_name(b, node, "min"),
             *mx = dyn_name(b, node, "max"), *rng = dyn_name(b, node, "range"), *s0 = dyn_name(b, node, "scale0"),
             *s = dyn_name(b, node, "scale"), *z0 = dyn_name(b, node, "zp_div"), *z1 = dyn_name(b, node, "zp_neg"),
             *z2 = dyn_name(b, node, "zp_round"), *z3 = dyn_name(b, node, "zp_clip"),
             *z = dyn_name(b, node, "zero_point"), *q = dyn_name(b, node, "QuantizeLinear_Output"),
             *dq = dyn_name(b, node, "DequantizeLinear_Output");
  MscQNode *n;
  n = add_node(b, mn0, "ReduceMin", op), io(n, x, NULL, NULL, mn0), msc_qnode_add_attr_int(n, "keepdims", 0);
  n = add_node(b, mx0, "ReduceMax", op), io(n, x, NULL, NULL, mx0), msc_qnode_add_attr_int(n, "keepdims", 0);
  io(add_node(b, mn, "Min", op), mn0, zero, NULL, mn);
  io(add_node(b, mx, "Max", op), mx0, zero, NULL, mx);
  io(add_node(b, rng, "Sub", op), mx, mn, NULL, rng);
  io(add_node(b, s0, "Div", op), rng, qr, NULL, s0);
  io(add_node(b, s, "Max", op), s0, tiny, NULL, s);
  io(add_node(b, z0, "Div", op), mn, s, NULL, z0);
  io(add_node(b, z1, "Neg", op), z0, NULL, NULL, z1);
  io(add_node(b, z2, "Round", op), z1, NULL, NULL, z2);
  io(add_node(b, z3, "Clip", op), z2, qlo, qhi, z3);
  n = add_node(b, z, "Cast", op), io(n, z3, NULL, NULL, z), msc_qnode_add_attr_int(n, "to", MSC_DTYPE_UINT8);
  io(add_node(b, q, "QuantizeLinear", op), x, s, z, q);
  io(add_node(b, dq, "DequantizeLinear", op), q, s, z, dq);
  return g_strdup(dq);
}

/* ---- the rewrite ---------------------------------------------------------------------------- */

static MscQNode *spec_of(const MscNode *n, int64_t opset) {
  MscQNode *s = msc_qnode_new(n->name, n->op_type, n->domain, n->domain && *n->domain ? n->opset : opset);
  for (uint32_t i = 0; i < n->n_inputs; i++) g_ptr_array_add(s->in, g_strdup(n->inputs[i] ? n->inputs[i]->name : ""));
  for (uint32_t i = 0; i < n->n_outputs; i++)
    g_ptr_array_add(s->out, g_strdup(n->outputs[i] ? n->outputs[i]->name : ""));
  for (uint32_t i = 0; i < n->n_attrs; i++) {
    MscAttr a;
    msc_qattr_copy(&a, &n->attrs[i]);
    g_array_append_val(s->attrs, a);
  }
  return s;
}

static gboolean is_graph_output(const MscGraph *g, const char *name) {
  MscValue *v = msc_graph_find_value(g, name);
  return v && (v->flags & MSC_VALUE_GRAPH_OUTPUT);
}

/* Removes Q/DQ/Constant nodes whose outputs nobody reads (QOperator
 * leftovers, Constant weights replaced by their quantized form). */
static void prune_dead(MscQBuild *b, const MscGraph *g) {
  for (gboolean changed = TRUE; changed;) {
    changed = FALSE;
    GHashTable *used = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < b->nodes->len; i++) {
      MscQNode *n = g_ptr_array_index(b->nodes, i);
      for (guint j = 0; j < n->in->len; j++) g_hash_table_add(used, g_ptr_array_index(n->in, j));
    }
    for (guint i = b->nodes->len; i-- > 0;) {
      MscQNode *n = g_ptr_array_index(b->nodes, i);
      if (strcmp(n->op_type, "QuantizeLinear") != 0 && strcmp(n->op_type, "DequantizeLinear") != 0 &&
          strcmp(n->op_type, "Constant") != 0)
        continue;
      const char *o = g_ptr_array_index(n->out, 0);
      if (g_hash_table_contains(used, o) || is_graph_output(g, o)) continue;
      g_ptr_array_remove_index(b->nodes, i);
      changed = TRUE;
    }
    g_hash_table_unref(used);
  }
}

static void copy_value_info(MscValue *d, const MscValue *s) {
  d->dtype = s->dtype;
  d->rank = s->rank;
  memcpy(d->dims, s->dims, sizeof d->dims);
  for (int i = 0; i < MSC_MAX_RANK; i++) {
    g_free(d->dim_params[i]);
    d->dim_params[i] = g_strdup(s->dim_params[i]);
  }
}

static MscGraph *materialize(MscQBuild *b, const MscGraph *g, int64_t opset) {
  MscGraph *ng = msc_graph_new(g->name);
  ng->ir_version = g->ir_version;
  if (opset >= 13 && ng->ir_version < 7) ng->ir_version = 7;
  ng->producer_name = g_strdup(g->producer_name);
  ng->producer_version = g_strdup(g->producer_version);
  ng->doc = g_strdup(g->doc);
  for (uint32_t i = 0; i < g->n_opsets; i++) msc_graph_set_opset(ng, g->opsets[i].domain, g->opsets[i].version);
  msc_graph_set_opset(ng, "", opset);
  for (uint32_t i = 0; i < g->n_inputs; i++) {
    MscValue *v = msc_graph_get_or_add_value(ng, g->inputs[i]->name);
    copy_value_info(v, g->inputs[i]);
    msc_graph_add_input(ng, v);
  }
  GHashTable *used = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < b->nodes->len; i++) {
    MscQNode *n = g_ptr_array_index(b->nodes, i);
    for (guint j = 0; j < n->in->len; j++) g_hash_table_add(used, g_ptr_array_index(n->in, j));
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) g_hash_table_add(used, g->outputs[i]->name);
  /* initializers: the source's still read, in source order, then the new ones sorted */
  for (uint32_t i = 0; i < g->n_values; i++) {
    MscValue *v = g->values[i];
    if (!(v->flags & MSC_VALUE_INITIALIZER) || !v->value || !g_hash_table_contains(used, v->name)) continue;
    msc_graph_add_initializer(ng, v->name, msc_tensor_copy(v->value, NULL));
  }
  GList *keys = g_list_sort(g_hash_table_get_keys(b->inits), (GCompareFunc)strcmp);
  for (GList *l = keys; l; l = l->next) {
    MscTensor *t = g_hash_table_lookup(b->inits, l->data);
    g_hash_table_steal(b->inits, l->data);
    if (g_hash_table_contains(used, l->data)) msc_graph_add_initializer(ng, l->data, t);
    else msc_tensor_free(t);
    g_free(l->data);
  }
  g_list_free(keys);
  g_hash_table_unref(used);
  for (guint i = 0; i < b->nodes->len; i++) {
    MscQNode *s = g_ptr_array_index(b->nodes, i);
    MscNode *n = msc_graph_add_node(ng, s->name, s->op_type, s->domain, s->opset);
    MscValue **ins = g_new0(MscValue *, s->in->len + 1), **outs = g_new0(MscValue *, s->out->len + 1);
    for (guint j = 0; j < s->in->len; j++) {
      const char *nm = g_ptr_array_index(s->in, j);
      ins[j] = *nm ? msc_graph_get_or_add_value(ng, nm) : NULL;
    }
    for (guint j = 0; j < s->out->len; j++) {
      const char *nm = g_ptr_array_index(s->out, j);
      outs[j] = *nm ? msc_graph_get_or_add_value(ng, nm) : NULL;
    }
    msc_node_set_io(n, ins, s->in->len, outs, s->out->len);
    g_free(ins);
    g_free(outs);
    for (guint j = 0; j < s->attrs->len; j++) msc_node_add_attr(n, &g_array_index(s->attrs, MscAttr, j));
    g_array_set_size(s->attrs, 0); /* ownership moved */
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    MscValue *v = msc_graph_get_or_add_value(ng, g->outputs[i]->name);
    copy_value_info(v, g->outputs[i]);
    msc_graph_add_output(ng, v);
  }
  return ng;
}

static void emit_node(Rw *rw, const MscGraph *g, const MscNode *n, GHashTable *qset, GHashTable *dset,
                      GHashTable *fused_by, GHashTable *remap, GError **error, gboolean *ok) {
  MscQBuild *b = rw->b;
  MscQNode *s = spec_of(n, rw->opset);
  if (!*n->domain && n->opset < rw->opset && !msc_quant_opset_upgrade(b, g, n, s, rw->opset, error)) {
    msc_qnode_free(s);
    *ok = FALSE;
    return;
  }
  /* the folded BatchNormalization's / activation's output becomes this node's output */
  const char *act = g_hash_table_lookup(rw->p->fused, n->name), *bnn = g_hash_table_lookup(rw->p->bn_folded, n->name);
  const MscNode *act_node = act ? g_hash_table_lookup(fused_by, act) : NULL;
  const MscNode *bn_node = bnn ? g_hash_table_lookup(fused_by, bnn) : NULL;
  const MscNode *last = act_node ? act_node : bn_node;
  if (last && n->n_outputs >= 1) {
    g_free(s->out->pdata[0]);
    s->out->pdata[0] = g_strdup(last->outputs[0]->name);
  }
  /* activation inputs read the dequantized tensors */
  for (guint i = 0; i < s->in->len; i++) {
    const char *r = g_hash_table_lookup(remap, in_name(s, i));
    if (r) set_in(s, i, r);
  }
  gboolean quantized = g_hash_table_contains(qset, n->name), dynamic = g_hash_table_contains(dset, n->name);
  gboolean qlinear = FALSE;
  char *qlinear_y = NULL; /* float name of a QLinear op's output */
  if (quantized || dynamic) {
    const char *wn = n->n_inputs > 1 && n->inputs[1] ? n->inputs[1]->name : "";
    const MscTensor *w = const_of(g, wn);
    const char *bname = n->n_inputs > 2 && n->inputs[2] ? n->inputs[2]->name : NULL;
    const MscTensor *bias = bname ? const_of(g, bname) : NULL;
    g_autoptr(MscTensor) wf = NULL;
    g_autoptr(MscTensor) bf = NULL;
    g_autofree char *wfn = NULL, *bfn = NULL;
    if (bn_node) {
      if (!msc_quant_fold_bn(g, bn_node, w, bias, &wf, &bf)) {
        msc_set_error(error, MSC_ERR_INVALID_ARG, "quantizer: cannot fold BatchNormalization '%s' into '%s'", bnn,
                      n->name);
        msc_qnode_free(s);
        *ok = FALSE;
        return;
      }
      wfn = g_strdup_printf("%s_bnfold", wn);
      bfn = g_strdup_printf("%s_bnfold_bias", bn_node->outputs[0]->name);
      w = wf;
      wn = wfn;
      bias = bf;
      bname = bfn;
    }
    QWeight *qw = weight_for(rw, n, wn, w);
    if (qw) set_in(s, 1, qw->dq);
    else if (wf) set_in(s, 1, msc_qbuild_add_init(b, wfn, msc_tensor_copy(wf, NULL)));
    if (dynamic && n->inputs[0]) {
      g_autofree char *dq = emit_dynamic(rw, n->inputs[0]->name, n->name);
      set_in(s, 0, dq);
    }
    const MscQParam *xp = n->n_inputs && n->inputs[0] ? g_hash_table_lookup(rw->p->act, n->inputs[0]->name) : NULL;
    char *bq = NULL, *bdq = NULL;
    gboolean unit_gemm = TRUE;
    if (strcmp(n->op_type, "Gemm") == 0)
      for (uint32_t i = 0; i < n->n_attrs; i++)
        if ((strcmp(n->attrs[i].name, "alpha") == 0 || strcmp(n->attrs[i].name, "beta") == 0) && n->attrs[i].f != 1.0f)
          unit_gemm = FALSE;
    if (quantized && qw && xp && bias && unit_gemm &&
        (strcmp(n->op_type, "Conv") == 0 || strcmp(n->op_type, "Gemm") == 0))
      bdq = quant_bias(b, bname, bias, xp->scale, qw, n->name, &bq, rw->opset);
    if (bdq) set_in(s, 2, bdq);
    else if (bf) set_in(s, 2, msc_qbuild_add_init(b, bfn, msc_tensor_copy(bf, NULL)));
    /* QOperator: Conv / MatMul with quantized input, weight and output */
    const char *yname = g_ptr_array_index(s->out, 0);
    QAct *ya = quantized && rw->o->format == MSC_QFORMAT_QOPERATOR ? act_names(rw, yname) : NULL;
    QAct *xa = ya && n->inputs[0] ? act_names(rw, n->inputs[0]->name) : NULL;
    gboolean is_conv = strcmp(n->op_type, "Conv") == 0, is_mm = strcmp(n->op_type, "MatMul") == 0;
    if (ya && xa && qw && (is_conv || is_mm) && (!is_conv || !bias || bq)) {
      MscQNode *ql = msc_qnode_new(n->name, is_conv ? "QLinearConv" : "QLinearMatMul", "", rw->opset);
      const char *ins[9] = {xa->q, xa->s, xa->z, qw->qname, qw->sname, qw->zname, ya->s, ya->z, bq};
      for (int i = 0; i < (bq ? 9 : 8); i++) g_ptr_array_add(ql->in, g_strdup(ins[i]));
      g_ptr_array_add(ql->out, g_strdup(ya->q));
      for (guint i = 0; i < s->attrs->len; i++) {
        MscAttr a;
        msc_qattr_copy(&a, &g_array_index(s->attrs, MscAttr, i));
        g_array_append_val(ql->attrs, a);
      }
      qlinear_y = g_strdup(yname);
      msc_qnode_free(s);
      s = ql;
      qlinear = TRUE;
    }
    g_free(bq);
    g_free(bdq);
  }
  g_ptr_array_add(b->nodes, s);
  for (guint j = 0; j < s->out->len; j++) {
    const char *o = qlinear && j == 0 ? qlinear_y : g_ptr_array_index(s->out, j);
    if (*o && g_hash_table_contains(rw->p->act, o)) emit_qdq(rw, o, qlinear && j == 0);
  }
  g_free(qlinear_y);
}

MscGraph *msc_quant_rewrite(const MscGraph *g, const MscQOptions *o, const MscQPlan *p, GError **error) {
  MscQBuild b = {g_ptr_array_new_with_free_func((GDestroyNotify)msc_qnode_free),
                 g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)msc_tensor_free), g,
                 g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
  Rw rw = {&b, o, p, p->opset, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)qact_free),
           g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)qweight_free), NULL};
  GHashTable *qset = g_hash_table_new(g_str_hash, g_str_equal), *dset = g_hash_table_new(g_str_hash, g_str_equal);
  GHashTable *fused_by = g_hash_table_new(g_str_hash, g_str_equal), *remap = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < p->nodes->len; i++) g_hash_table_add(qset, g_ptr_array_index(p->nodes, i));
  for (guint i = 0; i < p->dyn_nodes->len; i++) g_hash_table_add(dset, g_ptr_array_index(p->dyn_nodes, i));
  GHashTable *act_nodes = g_hash_table_new(g_str_hash, g_str_equal);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, p->fused);
  while (g_hash_table_iter_next(&it, &k, &v)) g_hash_table_add(act_nodes, v);
  g_hash_table_iter_init(&it, p->bn_folded);
  while (g_hash_table_iter_next(&it, &k, &v)) g_hash_table_add(act_nodes, v);
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (g_hash_table_contains(act_nodes, g->nodes[i]->name)) g_hash_table_insert(fused_by, g->nodes[i]->name, g->nodes[i]);
  /* every quantized tensor is read through its DequantizeLinear */
  GList *tensors = g_list_sort(g_hash_table_get_keys(p->act), (GCompareFunc)strcmp);
  for (GList *l = tensors; l; l = l->next) {
    QAct *a = act_names(&rw, l->data);
    g_hash_table_insert(remap, l->data, a->dq);
  }
  g_list_free(tensors);
  for (uint32_t i = 0; i < g->n_inputs; i++)
    if (g_hash_table_contains(p->act, g->inputs[i]->name)) emit_qdq(&rw, g->inputs[i]->name, FALSE);
  gboolean ok = TRUE;
  for (uint32_t i = 0; i < g->n_nodes && ok; i++) {
    const MscNode *n = g->nodes[i];
    if (g_hash_table_contains(act_nodes, n->name)) continue;
    emit_node(&rw, g, n, qset, dset, fused_by, remap, error, &ok);
  }
  (void)producer_of;
  (void)in_list;
  MscGraph *ng = NULL;
  if (ok) {
    prune_dead(&b, g);
    ng = materialize(&b, g, p->opset);
  }
  g_hash_table_unref(act_nodes);
  g_hash_table_unref(qset);
  g_hash_table_unref(dset);
  g_hash_table_unref(fused_by);
  g_hash_table_unref(remap);
  g_hash_table_unref(rw.acts);
  g_hash_table_unref(rw.weights);
  g_ptr_array_unref(b.nodes);
  g_hash_table_unref(b.inits);
  g_hash_table_unref(b.names);
  return ng;
}

void msc_quant_graph_swap(MscGraph *dst, MscGraph *src) {
  MscGraph tmp = *dst;
  *dst = *src;
  *src = tmp;
  msc_graph_free(src);
}
