/* passes.c: graph passes of the `cpu` runner, on a private step list (the
 * host graph is never modified): compile-time constant folding, dead-node
 * removal, BatchNormalization folded into the preceding Conv, the conv
 * epilogue fusion Conv [-> BN] [-> Add(other)] [-> activation], and a
 * channel shuffle (Reshape -> Transpose -> Reshape) read in place by the
 * depthwise conv after it. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "cpu-internal.h"
#include "graph.h"
#include "tensor.h"

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

static gboolean is_f32_const(const CpuModel *m, const MscValue *v, int64_t numel) {
  if (!v) return FALSE;
  const MscTensor *t = m->konst[v->index];
  return t && t->dtype == MSC_DTYPE_FLOAT32 && (numel < 0 || msc_tensor_numel(t) == numel);
}

typedef struct {
  uint32_t *readers;   /* per value: live nodes reading it */
  unsigned char *dead; /* per node: folded or dead */
  int32_t *owner;      /* per node: conv head index of the fused group absorbing it, -1 */
  int32_t *group_last; /* per conv head: index of the group's last node */
} Pass;

/* The only live reader of @v, when @v has exactly one and is no graph output. */
static const MscNode *sole_reader(const CpuModel *m, const Pass *p, const MscValue *v) {
  if (!v || (v->flags & MSC_VALUE_GRAPH_OUTPUT) || p->readers[v->index] != 1) return NULL;
  const MscGraph *g = m->g;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (p->dead[i]) continue;
    uint32_t uses = 0;
    for (uint32_t k = 0; k < n->n_inputs; k++) uses += n->inputs[k] == v;
    if (uses) return uses == 1 && p->owner[i] < 0 ? n : NULL; /* not already in a fused group */
  }
  return NULL;
}

/* Only output 0 of @n is used. */
static gboolean single_output(const Pass *p, const MscNode *n) {
  for (uint32_t j = 1; j < n->n_outputs; j++)
    if (n->outputs[j] && (p->readers[n->outputs[j]->index] || (n->outputs[j]->flags & MSC_VALUE_GRAPH_OUTPUT)))
      return FALSE;
  return n->n_outputs >= 1 && n->outputs[0];
}

/* Compile-time folding: nodes whose inputs are all constants. */
static void fold_constants(CpuModel *m, Pass *p) {
  const MscGraph *g = m->g;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (n->op && (n->op->flags & MSC_OP_NO_FOLD)) continue;
    gboolean all = TRUE, known = TRUE;
    for (uint32_t k = 0; k < n->n_inputs && all; k++)
      if (n->inputs[k] && !m->konst[n->inputs[k]->index]) all = FALSE;
    if (!all) continue;
    for (uint32_t j = 0; j < n->n_outputs; j++)
      if (n->outputs[j] && !m->konst[n->outputs[j]->index]) known = FALSE;
    if (!known) {
      const MscTensor *in[64];
      MscTensor *out[64];
      if (n->n_inputs > 64 || n->n_outputs > 64) continue;
      for (uint32_t k = 0; k < n->n_inputs; k++) in[k] = n->inputs[k] ? m->konst[n->inputs[k]->index] : NULL;
      if (!msc_node_execute(n, in, out, NULL)) continue; /* the error shows at run time */
      for (uint32_t j = 0; j < n->n_outputs; j++) {
        if (!n->outputs[j]) continue;
        uint32_t v = n->outputs[j]->index;
        m->owned_konst[v] = out[j];
        m->konst[v] = out[j];
      }
    }
    p->dead[i] = 1;
    m->stats.n_const_folded++;
  }
}

/* Live readers per value. */
static void recount_readers(CpuModel *m, Pass *p) {
  const MscGraph *g = m->g;
  memset(p->readers, 0, m->nv * sizeof *p->readers);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    if (p->dead[i]) continue;
    const MscNode *n = g->nodes[i];
    for (uint32_t k = 0; k < n->n_inputs; k++)
      if (n->inputs[k]) p->readers[n->inputs[k]->index]++;
  }
}

/* Dead-node removal: keep nodes some graph output depends on. */
static void remove_dead(CpuModel *m, Pass *p) {
  const MscGraph *g = m->g;
  unsigned char *need = g_new0(unsigned char, m->nv ? m->nv : 1);
  for (uint32_t i = 0; i < g->n_outputs; i++) need[g->outputs[i]->index] = 1;
  for (uint32_t i = g->n_nodes; i-- > 0;) {
    const MscNode *n = g->nodes[i];
    if (p->dead[i]) continue;
    gboolean live = FALSE;
    for (uint32_t j = 0; j < n->n_outputs; j++) live |= n->outputs[j] && need[n->outputs[j]->index];
    if (!live) {
      p->dead[i] = 1;
      m->stats.n_dead++;
      continue;
    }
    for (uint32_t k = 0; k < n->n_inputs; k++)
      if (n->inputs[k]) need[n->inputs[k]->index] = 1;
  }
  g_free(need);
  memset(p->readers, 0, m->nv * sizeof *p->readers);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    if (p->dead[i]) continue;
    const MscNode *n = g->nodes[i];
    for (uint32_t k = 0; k < n->n_inputs; k++)
      if (n->inputs[k]) p->readers[n->inputs[k]->index]++;
  }
}

/* Reads a fusable activation; FALSE when @n is none. */
static gboolean activation_of(const CpuModel *m, const MscNode *n, MscActivation *act, float *a, float *b) {
  if (is_op(n, "Relu")) {
    *act = MSC_ACT_RELU;
    return TRUE;
  }
  if (is_op(n, "Sigmoid")) {
    *act = MSC_ACT_SIGMOID;
    return TRUE;
  }
  if (is_op(n, "HardSwish")) {
    *act = MSC_ACT_HARD_SWISH;
    return TRUE;
  }
  if (is_op(n, "LeakyRelu")) {
    *act = MSC_ACT_LEAKY_RELU;
    *a = attr_float(n, "alpha", 0.01f);
    return TRUE;
  }
  if (is_op(n, "HardSigmoid")) {
    *act = MSC_ACT_HARD_SIGMOID;
    *a = attr_float(n, "alpha", 0.2f);
    *b = attr_float(n, "beta", 0.5f);
    return TRUE;
  }
  if (is_op(n, "Clip")) {
    float lo = -INFINITY, hi = INFINITY;
    if (n->opset < 11) {
      lo = attr_float(n, "min", -FLT_MAX);
      hi = attr_float(n, "max", FLT_MAX);
    } else {
      for (uint32_t k = 1; k < n->n_inputs && k < 3; k++) {
        if (!n->inputs[k]) continue;
        if (!is_f32_const(m, n->inputs[k], 1)) return FALSE;
        float v = *(const float *)m->konst[n->inputs[k]->index]->data;
        if (k == 1) lo = v;
        else hi = v;
      }
    }
    if (isnan(lo) || isnan(hi)) return FALSE;
    *act = MSC_ACT_CLIP;
    *a = lo;
    *b = hi;
    return TRUE;
  }
  return FALSE;
}

/* Same static dims (unknown dims must be unknown in both). */
static gboolean same_dims(const MscValue *a, const MscValue *b) {
  if (a->rank != b->rank || a->rank < 0) return FALSE;
  for (int32_t k = 0; k < a->rank; k++)
    if (a->dims[k] != b->dims[k]) return FALSE;
  return TRUE;
}

/* Folds BN parameters into w/bias (double math). */
static void fold_bn(const CpuModel *m, const MscNode *bn, CpuStep *s) {
  const float *gamma = m->konst[bn->inputs[1]->index]->data, *beta = m->konst[bn->inputs[2]->index]->data;
  const float *mean = m->konst[bn->inputs[3]->index]->data, *var = m->konst[bn->inputs[4]->index]->data;
  double eps = attr_float(bn, "epsilon", 1e-5f);
  int64_t per = (s->C / s->group) * s->kh * s->kw;
  for (int64_t o = 0; o < s->M; o++) {
    double sc = gamma[o] / sqrt((double)var[o] + eps);
    for (int64_t k = 0; k < per; k++) s->w[o * per + k] = (float)(s->w[o * per + k] * sc);
    s->bias[o] = (float)(((double)s->bias[o] - mean[o]) * sc + beta[o]);
  }
}

gboolean cpu_pad_const(const CpuModel *m, const MscNode *n, int32_t rank, int64_t *pads, float *value) {
  if (!is_op(n, "Pad") || rank < 1 || rank > MSC_MAX_RANK || n->n_inputs < 1) return FALSE;
  const MscAttr *mode = find_attr(n, "mode");
  if (mode && (mode->type != MSC_ATTR_STRING || strcmp(mode->s, "constant"))) return FALSE;
  *value = 0.0f;
  if (n->opset < 11) {
    const MscAttr *pa = find_attr(n, "pads");
    if (!pa || pa->type != MSC_ATTR_INTS || pa->n != (size_t)(2 * rank)) return FALSE;
    memcpy(pads, pa->ints, (size_t)(2 * rank) * sizeof(int64_t));
    *value = attr_float(n, "value", 0.0f);
  } else {
    const MscTensor *t = n->n_inputs > 1 && n->inputs[1] ? m->konst[n->inputs[1]->index] : NULL;
    if (!t || t->dtype != MSC_DTYPE_INT64 || msc_tensor_numel(t) != 2 * rank) return FALSE;
    memcpy(pads, t->data, (size_t)(2 * rank) * sizeof(int64_t));
    if (n->n_inputs > 2 && n->inputs[2]) {
      const MscTensor *c = m->konst[n->inputs[2]->index];
      if (!c || c->dtype != MSC_DTYPE_FLOAT32 || msc_tensor_numel(c) != 1) return FALSE;
      *value = *(const float *)c->data;
    }
    if (n->n_inputs > 3 && n->inputs[3]) return FALSE; /* axes */
  }
  for (int32_t i = 0; i < 2 * rank; i++)
    if (pads[i] < 0) return FALSE;
  return TRUE;
}

gboolean cpu_pad_foldable(const CpuModel *m, const MscNode *n, const MscNode *conv, gboolean any_fill, int64_t xpad[4]) {
  int64_t pads[8];
  float value;
  if (!n->inputs[0] || n->inputs[0]->rank != 4 || !cpu_pad_const(m, n, 4, pads, &value)) return FALSE;
  if (!any_fill && value != 0.0f) return FALSE;
  if (pads[0] || pads[1] || pads[4] || pads[5]) return FALSE; /* batch or channels */
  const MscAttr *ap = find_attr(conv, "auto_pad");
  if (ap && (ap->type != MSC_ATTR_STRING || strcmp(ap->s, "NOTSET"))) return FALSE;
  const MscTensor *wt = conv->n_inputs > 1 && conv->inputs[1] ? m->konst[conv->inputs[1]->index] : NULL;
  if (!wt || wt->rank != 4) return FALSE;
  const MscAttr *dl = find_attr(conv, "dilations");
  for (int a = 0; a < 2; a++) {
    int64_t d = dl && dl->type == MSC_ATTR_INTS && dl->n == 2 ? dl->ints[a] : 1;
    int64_t extent = (wt->dims[2 + a] - 1) * d + 1;
    if (pads[2 + a] >= extent || pads[6 + a] >= extent) return FALSE;
  }
  xpad[0] = pads[2], xpad[1] = pads[3], xpad[2] = pads[6], xpad[3] = pads[7];
  return TRUE;
}

/* A zero-padding Pad read only by float Conv @conv: the conv reads the Pad's input with the Pad's
 * spatial pads added to its own (no padded copy; M-LSD's stride-2 depthwise convs, 3 Pads of 160x160x96,
 * 80x80x144 and 40x40x192). */
static gboolean pad_in(CpuModel *m, Pass *p, const MscNode *conv, CpuStep *s) {
  if (!cpu_q_switch_on("MSC_FOLD_PAD")) return FALSE; /* 0: Pad nodes stay steps of their own (A/B; int8 too) */
  const MscNode *pad = conv->inputs[0]->producer;
  if (!pad || p->dead[pad->index] || p->owner[pad->index] >= 0 || !single_output(p, pad) ||
      sole_reader(m, p, pad->outputs[0]) != conv || !cpu_pad_foldable(m, pad, conv, FALSE, s->xpad))
    return FALSE;
  const MscValue *v = pad->inputs[0];
  if (v->dtype != MSC_DTYPE_FLOAT32 || m->konst[v->index]) return FALSE;
  s->x = (int32_t)v->index;
  s->pad_node = pad;
  p->owner[pad->index] = (int32_t)conv->index;
  s->n_group++;
  m->stats.n_pads_folded++;
  g_strlcpy(s->desc, "Pad+Conv", sizeof s->desc);
  return TRUE;
}

/* Conv eligible for a CPU_STEP_CONV: 2-D, float32, constant weights. */
static gboolean conv_eligible(const CpuModel *m, const MscNode *n) {
  if (!is_op(n, "Conv") || n->n_inputs < 2 || !n->inputs[0] || !n->outputs[0] || n->n_outputs != 1) return FALSE;
  const MscValue *x = n->inputs[0], *w = n->inputs[1];
  if (x->dtype != MSC_DTYPE_FLOAT32 || x->rank != 4 || m->konst[x->index]) return FALSE;
  if (!is_f32_const(m, w, -1) || m->konst[w->index]->rank != 4) return FALSE;
  const MscTensor *wt = m->konst[w->index];
  int64_t group = attr_int(n, "group", 1);
  if (group < 1 || wt->dims[0] % group || (x->dims[1] >= 0 && x->dims[1] != wt->dims[1] * group)) return FALSE;
  if (n->n_inputs > 2 && n->inputs[2] && !is_f32_const(m, n->inputs[2], wt->dims[0])) return FALSE;
  return msc_tensor_numel(wt) > 0;
}

/* The scalar value of a one-element float constant input, or NAN. */
static float scalar_const(const CpuModel *m, const MscValue *v) {
  return is_f32_const(m, v, 1) ? *(const float *)m->konst[v->index]->data : NAN;
}

/* HardSwish written out, as exporters emit it (PaddlePaddle's p2o, older
 * PyTorch): y = Mul(x, Clip(Add(x, 3), 0, 6)) / 6 (Div by 6 or Mul by
 * 1/6, operands in either order), x read by exactly the Add and the Mul.
 * Fills @nodes (Add, Clip, Mul, Div) and returns TRUE when @x heads one.
 * Fused, it becomes the epilogue's HardSwish x * clip(x/6 + 1/2, 0, 1):
 * the same function, rounded differently (within float tolerance, not
 * bitwise). */
static gboolean hardswish_tail(const CpuModel *m, const Pass *p, const MscValue *x, const MscNode *nodes[4]) {
  if (!x || (x->flags & MSC_VALUE_GRAPH_OUTPUT) || p->readers[x->index] != 2) return FALSE;
  const MscGraph *g = m->g;
  const MscNode *add = NULL, *mul = NULL;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (p->dead[i] || n->n_inputs != 2 || (n->inputs[0] != x && n->inputs[1] != x)) continue;
    if (p->owner[i] >= 0 || !single_output(p, n)) return FALSE;
    if (is_op(n, "Add") && !add) add = n;
    else if (is_op(n, "Mul") && !mul) mul = n;
    else return FALSE;
  }
  if (!add || !mul || scalar_const(m, add->inputs[add->inputs[0] == x ? 1 : 0]) != 3.0f) return FALSE;
  const MscNode *clip = sole_reader(m, p, add->outputs[0]);
  MscActivation act;
  float lo = 0, hi = 0;
  if (!clip || clip->inputs[0] != add->outputs[0] || !single_output(p, clip) || !activation_of(m, clip, &act, &lo, &hi) ||
      act != MSC_ACT_CLIP || lo != 0.0f || hi != 6.0f)
    return FALSE;
  if (sole_reader(m, p, clip->outputs[0]) != mul || mul->inputs[mul->inputs[0] == x ? 1 : 0] != clip->outputs[0])
    return FALSE;
  const MscNode *div = sole_reader(m, p, mul->outputs[0]);
  if (!div || div->n_inputs != 2 || div->inputs[0] != mul->outputs[0] || !single_output(p, div)) return FALSE;
  const float k = scalar_const(m, div->inputs[1]);
  if (!(is_op(div, "Div") && k == 6.0f) && !(is_op(div, "Mul") && fabsf(k - 1.0f / 6.0f) < 1e-6f)) return FALSE;
  if (!same_dims(div->outputs[0], x)) return FALSE;
  nodes[0] = add, nodes[1] = clip, nodes[2] = mul, nodes[3] = div;
  return TRUE;
}

/* The explicit shape (every entry > 0) of Reshape @n into *@d, @rank
 * entries, or FALSE. */
static gboolean reshape_dims(const CpuModel *m, const MscNode *n, int rank, int64_t *d) {
  if (!is_op(n, "Reshape") || n->n_inputs != 2 || !n->inputs[1] || n->n_outputs != 1 || !n->outputs[0]) return FALSE;
  const MscTensor *t = m->konst[n->inputs[1]->index];
  if (!t || t->dtype != MSC_DTYPE_INT64 || t->rank != 1 || t->dims[0] != rank) return FALSE;
  for (int k = 0; k < rank; k++)
    if ((d[k] = ((const int64_t *)t->data)[k]) <= 0) return FALSE;
  return TRUE;
}

/* A channel shuffle feeding depthwise conv @conv (C channels): its input
 * is Reshape [N, C, H, W] <- Transpose (0, 2, 1, 3, 4) <- Reshape
 * [N, g, C/g, h, w] (h*w = H*W) of a float value, each link read only by
 * the next (ShuffleNet v1). The depthwise kernel reads through it with no
 * copy (msc_conv2d_plan_set_input_shuffle). Sets @s's shuffle fields and
 * absorbs the three nodes. */
static gboolean shuffle_in(CpuModel *m, Pass *p, const MscNode *conv, CpuStep *s) {
  if (s->group != s->C || s->M != s->C || s->C < 2) return FALSE;
  const MscNode *r2 = conv->inputs[0]->producer;
  int64_t d2[4], d1[5];
  if (!r2 || p->dead[r2->index] || p->owner[r2->index] >= 0 || !reshape_dims(m, r2, 4, d2)) return FALSE;
  const MscNode *t = r2->inputs[0] ? r2->inputs[0]->producer : NULL;
  if (!t || !is_op(t, "Transpose") || t->n_inputs != 1 || !single_output(p, t) || p->owner[t->index] >= 0 ||
      sole_reader(m, p, t->outputs[0]) != r2)
    return FALSE;
  const MscAttr *perm = find_attr(t, "perm");
  static const int64_t want[5] = {0, 2, 1, 3, 4};
  if (!perm || perm->type != MSC_ATTR_INTS || perm->n != 5 || memcmp(perm->ints, want, sizeof want)) return FALSE;
  const MscNode *r1 = t->inputs[0] ? t->inputs[0]->producer : NULL;
  if (!r1 || p->owner[r1->index] >= 0 || !reshape_dims(m, r1, 5, d1) || sole_reader(m, p, r1->outputs[0]) != t)
    return FALSE;
  const MscValue *v = r1->inputs[0];
  if (sole_reader(m, p, r2->outputs[0]) != conv || !v || v->dtype != MSC_DTYPE_FLOAT32 || m->konst[v->index] ||
      d1[0] != d2[0] || d1[1] * d1[2] != s->C || d2[1] != s->C || d1[3] * d1[4] != d2[2] * d2[3])
    return FALSE;
  s->x = (int32_t)v->index;
  s->shuffle_g = d1[1];
  memcpy(s->shuffle_dims, d2, sizeof d2);
  s->shuffle_node = r1;
  p->owner[r1->index] = p->owner[t->index] = p->owner[r2->index] = (int32_t)conv->index;
  s->n_group += 3;
  m->stats.n_shuffles_fused++;
  g_strlcpy(s->desc, "Shuffle+Conv", sizeof s->desc);
  return TRUE;
}

static void build_conv_group(CpuModel *m, Pass *p, const MscNode *conv, CpuStep *s) {
  const MscTensor *wt = m->konst[conv->inputs[1]->index];
  memset(s, 0, sizeof *s);
  s->kind = CPU_STEP_CONV;
  s->node = s->last = conv;
  s->n_group = 1;
  s->M = wt->dims[0];
  s->C = wt->dims[1] * attr_int(conv, "group", 1);
  s->group = attr_int(conv, "group", 1);
  s->kh = wt->dims[2];
  s->kw = wt->dims[3];
  s->x = (int32_t)conv->inputs[0]->index;
  s->res = -1;
  s->w = g_memdup2(wt->data, wt->nbytes);
  s->bias = g_new0(float, s->M);
  if (conv->n_inputs > 2 && conv->inputs[2]) memcpy(s->bias, m->konst[conv->inputs[2]->index]->data, s->M * sizeof(float));
  g_strlcpy(s->desc, "Conv", sizeof s->desc);
  if (!pad_in(m, p, conv, s)) shuffle_in(m, p, conv, s);
  const MscValue *cur = conv->outputs[0];
  const MscNode *nx = sole_reader(m, p, cur);
  /* BatchNormalization (inference form) */
  if (nx && is_op(nx, "BatchNormalization") && nx->n_inputs == 5 && nx->inputs[0] == cur && single_output(p, nx) &&
      attr_int(nx, "training_mode", 0) == 0 && attr_int(nx, "spatial", 1) == 1 && is_f32_const(m, nx->inputs[1], s->M) &&
      is_f32_const(m, nx->inputs[2], s->M) && is_f32_const(m, nx->inputs[3], s->M) &&
      is_f32_const(m, nx->inputs[4], s->M) && nx->outputs[0]->dtype == MSC_DTYPE_FLOAT32) {
    fold_bn(m, nx, s);
    p->owner[nx->index] = (int32_t)conv->index;
    s->last = nx;
    s->n_group++;
    m->stats.n_bn_folded++;
    g_strlcat(s->desc, "+BN", sizeof s->desc);
    cur = nx->outputs[0];
    nx = sole_reader(m, p, cur);
  }
  /* residual Add(cur, other) (or a 2-input Sum) with the same shape */
  if (nx && (is_op(nx, "Add") || is_op(nx, "Sum")) && nx->n_inputs == 2 && nx->inputs[0] && nx->inputs[1] && nx->inputs[0] != nx->inputs[1] &&
      nx->outputs[0]) { /* equal shapes below: old-opset broadcast/axis attributes are moot */
    const MscValue *o = nx->inputs[0] == cur ? nx->inputs[1] : nx->inputs[0];
    if (o->dtype == MSC_DTYPE_FLOAT32 && !m->konst[o->index] && same_dims(o, cur) &&
        same_dims(nx->outputs[0], cur)) {
      s->res = (int32_t)o->index;
      p->owner[nx->index] = (int32_t)conv->index;
      s->last = nx;
      s->n_group++;
      m->stats.n_add_fused++;
      g_strlcat(s->desc, "+Add", sizeof s->desc);
      cur = nx->outputs[0];
      nx = sole_reader(m, p, cur);
    }
  }
  MscActivation act;
  float a = 0, b = 0;
  if (nx && nx->n_inputs >= 1 && nx->inputs[0] == cur && nx->n_outputs == 1 && nx->outputs[0] &&
      activation_of(m, nx, &act, &a, &b)) {
    s->act = act;
    s->act_a = a;
    s->act_b = b;
    p->owner[nx->index] = (int32_t)conv->index;
    s->last = nx;
    s->n_group++;
    m->stats.n_act_fused++;
    g_strlcat(s->desc, "+", sizeof s->desc);
    g_strlcat(s->desc, nx->op_type, sizeof s->desc);
    cur = nx->outputs[0];
  } else if (!nx) {
    const MscNode *hs[4];
    if (hardswish_tail(m, p, cur, hs)) {
      s->act = MSC_ACT_HARD_SWISH;
      for (int k = 0; k < 4; k++) p->owner[hs[k]->index] = (int32_t)conv->index;
      s->last = hs[3];
      s->n_group += 4;
      m->stats.n_act_fused++;
      g_strlcat(s->desc, "+HardSwish(4 nodes)", sizeof s->desc);
      cur = hs[3]->outputs[0];
    }
  }
  s->y = (int32_t)cur->index;
  int64_t wd[4] = {s->M, s->C / s->group, s->kh, s->kw};
  s->w_t = msc_tensor_new_borrowed(MSC_DTYPE_FLOAT32, 4, wd, s->w);
  m->stats.n_convs++;
}

/* ---------------------------------------------------------------------- */
/* affine chains: per-channel (axis 1) or scalar affine ops + activation   */

/* Per-channel parameter of an input of rank @r: numel 1, or one non-1 dim
 * that lands on axis 1 when right-aligned. Sets *n_ch (1 or C). */
static gboolean channel_param(const MscTensor *t, int32_t r, int64_t *n_ch) {
  int64_t ne = msc_tensor_numel(t);
  if (ne == 1 && t->rank <= r) {
    *n_ch = 1;
    return TRUE;
  }
  if (r < 2 || t->rank > r || ne < 1) return FALSE;
  for (int32_t i = 0; i < t->rank; i++) {
    int32_t ax = i + (r - t->rank);
    if (t->dims[i] != 1 && ax != 1) return FALSE;
  }
  *n_ch = ne;
  return TRUE;
}

/* One affine link y = x*s + t (s, t per channel, length n) read from @n
 * applied to the value @cur, or FALSE. */
static gboolean affine_link(const CpuModel *m, const MscNode *n, const MscValue *cur, double **s, double **t,
                            int64_t *n_ch) {
  if (n->n_outputs < 1 || !n->outputs[0] || n->outputs[0]->dtype != MSC_DTYPE_FLOAT32) return FALSE;
  int32_t r = cur->rank;
  if (r < 0) return FALSE;
  if (is_op(n, "BatchNormalization")) {
    if (n->n_inputs != 5 || n->inputs[0] != cur || n->n_outputs != 1 || attr_int(n, "training_mode", 0) ||
        attr_int(n, "spatial", 1) != 1 || (n->opset < 7 && attr_int(n, "is_test", 0) == 0) || r < 2)
      return FALSE;
    const MscTensor *p[4];
    for (int i = 0; i < 4; i++) {
      if (!is_f32_const(m, n->inputs[1 + i], -1)) return FALSE;
      p[i] = m->konst[n->inputs[1 + i]->index];
      if (p[i]->rank != 1 || (i && p[i]->dims[0] != p[0]->dims[0])) return FALSE;
    }
    int64_t C = p[0]->dims[0];
    if (cur->dims[1] >= 0 && cur->dims[1] != C) return FALSE;
    double eps = attr_float(n, "epsilon", 1e-5f);
    *n_ch = C;
    *s = g_new(double, C);
    *t = g_new(double, C);
    const float *g = p[0]->data, *b = p[1]->data, *mu = p[2]->data, *var = p[3]->data;
    for (int64_t c = 0; c < C; c++) {
      (*s)[c] = g[c] / sqrt((double)var[c] + eps);
      (*t)[c] = b[c] - mu[c] * (*s)[c];
    }
    return TRUE;
  }
  int op = is_op(n, "Add") ? 0 : is_op(n, "Sub") ? 1 : is_op(n, "Mul") ? 2 : is_op(n, "Div") ? 3 : -1;
  if (op < 0 || n->opset < 7 || n->n_inputs != 2 || n->n_outputs != 1) return FALSE;
  int ci = n->inputs[0] == cur ? 1 : n->inputs[1] == cur ? 0 : -1;
  if (ci < 0 || n->inputs[0] == n->inputs[1] || !is_f32_const(m, n->inputs[ci], -1)) return FALSE;
  if (cur->dtype != MSC_DTYPE_FLOAT32) return FALSE;
  const MscTensor *k = m->konst[n->inputs[ci]->index];
  if (!channel_param(k, r, n_ch)) return FALSE;
  if (*n_ch > 1 && cur->dims[1] >= 0 && cur->dims[1] != *n_ch) return FALSE;
  if (*n_ch > 1 && cur->dims[1] < 0) return FALSE;
  if (op == 3 && ci == 0) return FALSE; /* k / x is no affine map */
  const float *kv = k->data;
  *s = g_new(double, *n_ch);
  *t = g_new(double, *n_ch);
  for (int64_t c = 0; c < *n_ch; c++) {
    double v = kv[c];
    switch (op) {
    case 0: (*s)[c] = 1, (*t)[c] = v; break;
    case 1: (*s)[c] = ci == 1 ? 1 : -1, (*t)[c] = ci == 1 ? -v : v; break;
    case 2: (*s)[c] = v, (*t)[c] = 0; break;
    default: (*s)[c] = 1 / v, (*t)[c] = 0; break;
    }
  }
  return TRUE;
}

/* Chains starting at @head (not in a group yet): links while each output
 * has a sole reader, then an optional activation. */
static gboolean build_affine_group(CpuModel *m, Pass *p, const MscNode *head, CpuStep *st) {
  const MscValue *x = head->n_inputs ? head->inputs[0] : NULL;
  double *S = NULL, *T = NULL;
  int64_t nc = 1;
  const MscNode *n = head, *last = NULL;
  uint32_t count = 0;
  char desc[96] = "";
  /* the chain input: the non-constant operand of the head */
  if (!x) return FALSE;
  if ((is_op(head, "Add") || is_op(head, "Mul") || is_op(head, "Sub") || is_op(head, "Div")) && head->n_inputs == 2 &&
      m->konst[x->index])
    x = head->inputs[1];
  if (m->konst[x->index] || x->dtype != MSC_DTYPE_FLOAT32) return FALSE;
  const MscValue *cur = x;
  while (n) {
    double *s1, *t1;
    int64_t n1;
    if (!affine_link(m, n, cur, &s1, &t1, &n1)) break;
    if (!S) {
      S = s1, T = t1, nc = n1;
    } else {
      int64_t nn = MAX(nc, n1);
      double *S2 = g_new(double, nn), *T2 = g_new(double, nn);
      for (int64_t c = 0; c < nn; c++) {
        double a = S[nc == 1 ? 0 : c], b = T[nc == 1 ? 0 : c], s = s1[n1 == 1 ? 0 : c], t = t1[n1 == 1 ? 0 : c];
        S2[c] = a * s;
        T2[c] = b * s + t;
      }
      g_free(S), g_free(T), g_free(s1), g_free(t1);
      S = S2, T = T2, nc = nn;
    }
    if (count) p->owner[n->index] = (int32_t)head->index;
    g_strlcat(desc, count ? "+" : "", sizeof desc);
    g_strlcat(desc, n->op_type, sizeof desc);
    count++;
    last = n;
    cur = n->outputs[0];
    n = sole_reader(m, p, cur);
  }
  MscActivation act = MSC_ACT_NONE;
  float a = 0, b = 0;
  if (n && n->n_inputs >= 1 && n->inputs[0] == cur && n->n_outputs == 1 && n->outputs[0] &&
      activation_of(m, n, &act, &a, &b)) {
    if (count) p->owner[n->index] = (int32_t)head->index;
    g_strlcat(desc, count ? "+" : "", sizeof desc);
    g_strlcat(desc, n->op_type, sizeof desc);
    count++;
    last = n;
    cur = n->outputs[0];
  } else {
    act = MSC_ACT_NONE;
  }
  if (!count || (count == 1 && act == MSC_ACT_NONE && nc == 1 && !is_op(head, "BatchNormalization"))) {
    /* a lone scalar Add/Mul: the binary fast path does it exactly */
    for (uint32_t i = 0; i < m->g->n_nodes; i++)
      if (p->owner[i] == (int32_t)head->index) p->owner[i] = -1;
    g_free(S), g_free(T);
    return FALSE;
  }
  memset(st, 0, sizeof *st);
  st->kind = CPU_STEP_AFFINE;
  st->node = head;
  st->last = last;
  st->n_group = count;
  st->x = (int32_t)x->index;
  st->y = (int32_t)cur->index;
  st->res = -1;
  st->act = act;
  st->act_a = a;
  st->act_b = b;
  st->n_ch = nc;
  st->scale = g_new(float, nc);
  st->shift = g_new(float, nc);
  for (int64_t c = 0; c < nc; c++) {
    st->scale[c] = S ? (float)S[c] : 1.0f;
    st->shift[c] = T ? (float)T[c] : 0.0f;
  }
  g_free(S), g_free(T);
  g_strlcpy(st->desc, desc, sizeof st->desc);
  m->stats.n_affine_steps++;
  m->stats.n_affine_nodes += count;
  return TRUE;
}

/* The affine group (head node index) whose last node is @a, or -1. */
static int32_t affine_group_of(const Pass *p, const CpuStep *groups, const gboolean *is_head, const MscNode *a) {
  int32_t h = is_head[a->index] ? (int32_t)a->index : p->owner[a->index];
  return h >= 0 && groups[h].kind == CPU_STEP_AFFINE && groups[h].last == a ? h : -1;
}

/* An NHWC model's input pipeline (BlazeFace, M-LSD: x [-> Mul -> Sub] -> Transpose (0, 3, 1, 2) ->
 * QuantizeLinear) as one step: the int8 QUANT step reads the NHWC floats, applies the scalar affine chain
 * with the affine step's kernel, quantizes and writes the NCHW bytes (qops.c): one pass over the input
 * instead of three float tensors through memory. Same operations on the same values: the same bytes
 * (MSC_INT8_QINPUT=0: off). */
static void fuse_input_quant(CpuModel *m, Pass *p, CpuStep *groups, gboolean *is_head) {
  const MscGraph *g = m->g;
  if (!cpu_q_switch_on("MSC_INT8_QINPUT")) return;
  static const int64_t perm_nchw[4] = {0, 3, 1, 2};
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    CpuQStep *qs = is_head[i] && !p->dead[i] ? groups[i].q : NULL;
    if (!qs || qs->kind != CPU_Q_QUANT || qs->n_x != 1 || qs->nhwc) continue;
    const MscValue *v = g->values[qs->xs[0]];
    const MscNode *t = v->producer;
    if (!t || !is_op(t, "Transpose") || p->dead[t->index] || p->owner[t->index] >= 0 || is_head[t->index] ||
        t->n_inputs != 1 || !t->inputs[0] || !single_output(p, t) || p->readers[v->index] != 1 ||
        (v->flags & MSC_VALUE_GRAPH_OUTPUT))
      continue;
    const MscAttr *perm = find_attr(t, "perm");
    const MscValue *u = t->inputs[0];
    if (!perm || perm->type != MSC_ATTR_INTS || perm->n != 4 || memcmp(perm->ints, perm_nchw, sizeof perm_nchw) ||
        u->rank != 4 || u->dtype != MSC_DTYPE_FLOAT32 || m->konst[u->index])
      continue;
    const MscNode *a = u->producer;
    const int32_t h = a && p->readers[u->index] == 1 && !(u->flags & MSC_VALUE_GRAPH_OUTPUT)
                          ? affine_group_of(p, groups, is_head, a) : -1;
    const MscNode *keep[CPU_Q_MAX_NODES];
    uint32_t nk = 0;
    if (h >= 0 && groups[h].n_ch == 1 && groups[h].n_group + 2 <= CPU_Q_MAX_NODES) {
      CpuStep *as = &groups[h];
      qs->aff = 1;
      qs->as = as->scale[0], qs->at = as->shift[0], qs->aact = as->act, qs->aa = as->act_a, qs->ab = as->act_b;
      qs->xs[0] = as->x;
      groups[i].n_group += as->n_group;
      m->stats.n_affine_steps--;
      m->stats.n_affine_nodes -= as->n_group;
      for (uint32_t k = 0; k < g->n_nodes; k++)
        if ((int32_t)k == h || p->owner[k] == h) {
          p->owner[k] = (int32_t)i;
          keep[nk++] = g->nodes[k];
        }
      is_head[h] = FALSE;
      g_free(as->scale), g_free(as->shift);
      memset(as, 0, sizeof *as);
    } else {
      qs->xs[0] = (int32_t)u->index;
    }
    qs->nhwc = 1;
    p->owner[t->index] = (int32_t)i;
    groups[i].n_group++;
    groups[i].x = qs->xs[0];
    keep[nk++] = t; /* shape propagation walks the absorbed nodes in order, then the QuantizeLinear */
    for (uint32_t k = 0; k < qs->n_nodes && nk < CPU_Q_MAX_NODES; k++) keep[nk++] = qs->nodes[k];
    memcpy(qs->nodes, keep, nk * sizeof keep[0]);
    qs->n_nodes = nk;
    g_snprintf(groups[i].desc, sizeof groups[i].desc, "QuantizeLinear int8 (%sNHWC->NCHW, one pass)",
               qs->aff ? "affine, " : "");
  }
}

MscStatus cpu_passes_run(CpuModel *m, MscMessage *msg) {
  const MscGraph *g = m->g;
  Pass p = {0};
  uint32_t nn = g->n_nodes ? g->n_nodes : 1;
  p.readers = g_new0(uint32_t, m->nv ? m->nv : 1);
  p.dead = g_new0(unsigned char, nn);
  p.owner = g_new(int32_t, nn);
  for (uint32_t i = 0; i < g->n_nodes; i++) p.owner[i] = -1;
  CpuStep *groups = g_new0(CpuStep, nn);
  gboolean *is_head = g_new0(gboolean, nn);

  fold_constants(m, &p);
  remove_dead(m, &p);
  if (m->int8) {
    cpu_qpass_run(m, p.readers, p.dead, p.owner, is_head, groups);
    recount_readers(m, &p);
  }
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (p.dead[i] || p.owner[i] >= 0 || is_head[i] || !conv_eligible(m, n)) continue;
    build_conv_group(m, &p, n, &groups[i]);
    is_head[i] = TRUE;
  }
  for (uint32_t i = 0; i < g->n_nodes && m->fast_ops; i++) {
    const MscNode *n = g->nodes[i];
    if (p.dead[i] || p.owner[i] >= 0 || is_head[i]) continue;
    if (build_affine_group(m, &p, n, &groups[i])) is_head[i] = TRUE;
  }
  if (m->int8) fuse_input_quant(m, &p, groups, is_head);
  /* emit steps in node order; a fused group takes its last node's place */
  m->steps = g_new0(CpuStep, nn);
  m->n_steps = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (p.dead[i]) continue;
    if (is_head[i]) {
      if (groups[i].last == n) m->steps[m->n_steps++] = groups[i];
      continue;
    }
    if (p.owner[i] >= 0) {
      const CpuStep *gs = &groups[p.owner[i]];
      if (gs->last == n) m->steps[m->n_steps++] = *gs;
      continue;
    }
    CpuStep *s = &m->steps[m->n_steps++];
    s->kind = CPU_STEP_OP;
    s->node = s->last = n;
    s->n_group = 1;
    s->res = -1;
    g_strlcpy(s->desc, n->op_type, sizeof s->desc);
  }
  /* liveness per value over steps */
  m->def = g_new(int32_t, m->nv ? m->nv : 1);
  m->last = g_new(int32_t, m->nv ? m->nv : 1);
  for (uint32_t v = 0; v < m->nv; v++) m->def[v] = m->last[v] = -1;
  for (uint32_t si = 0; si < m->n_steps; si++) {
    const CpuStep *s = &m->steps[si];
    if (s->kind == CPU_STEP_QCONV || s->kind == CPU_STEP_QOP) {
      for (uint32_t k = 0; k < s->q->n_x; k++) m->last[s->q->xs[k]] = (int32_t)si;
      m->def[s->y] = (int32_t)si;
    } else if (s->kind == CPU_STEP_CONV || s->kind == CPU_STEP_AFFINE) {
      m->last[s->x] = (int32_t)si;
      if (s->res >= 0) m->last[s->res] = (int32_t)si;
      m->def[s->y] = (int32_t)si;
    } else {
      for (uint32_t k = 0; k < s->node->n_inputs; k++)
        if (s->node->inputs[k]) m->last[s->node->inputs[k]->index] = (int32_t)si;
      for (uint32_t j = 0; j < s->node->n_outputs; j++)
        if (s->node->outputs[j]) m->def[s->node->outputs[j]->index] = (int32_t)si;
    }
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) m->last[g->outputs[i]->index] = (int32_t)m->n_steps;
  for (uint32_t v = 0; v < m->nv; v++)
    if (m->def[v] >= 0 && m->last[v] < m->def[v]) m->last[v] = m->def[v];
  m->stats.n_nodes = g->n_nodes;
  m->stats.n_steps = m->n_steps;
  g_free(groups);
  g_free(is_head);
  g_free(p.readers);
  g_free(p.dead);
  g_free(p.owner);
  (void)msg;
  return MSC_OK;
}

void cpu_steps_free(CpuModel *m) {
  for (uint32_t i = 0; m->steps && i < m->n_steps; i++) {
    CpuStep *s = &m->steps[i];
    g_free(s->scale);
    g_free(s->shift);
    cpu_qstep_free(s->q);
    if (s->kind != CPU_STEP_CONV) continue;
    msc_tensor_free(s->w_t);
    g_free(s->w);
    g_free(s->bias);
  }
  g_free(m->steps);
  g_free(m->def);
  g_free(m->last);
  m->steps = NULL;
}
