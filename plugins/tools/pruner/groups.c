/* groups.c: dependency groups of channels that must be pruned together.
 *
 * A group starts at a channel source (the output of a Conv with group=1,
 * a Gemm or a MatMul with a constant weight) and follows the channel axis
 * through the graph in both directions (breadth first): pass-through ops
 * (BatchNormalization, activations, pooling, Pad, Resize, depthwise Conv,
 * Transpose) carry it unchanged, elementwise ops tie every non-constant
 * operand that has the channel axis (residual Add, SE Mul), Concat and
 * Split shift it by the operand's offset, Flatten (or a flatten-like
 * Reshape) turns a channel into a block of H*W features, and Conv/Gemm/
 * MatMul inputs end it (sinks). Anything else that touches the channels, a
 * graph input or output, a grouped (not depthwise) Conv, or an excluded
 * node leaves the whole group unpruned with the reason recorded. */
#include <string.h>

#include "pruner.h"
#include "tensor.h"

typedef struct {
  const MscNode *node;
  uint32_t input;
} Use;

typedef struct {
  const MscGraph *g;
  const PrunerOptions *o;
  GPtrArray **uses; /* by value index: Use* */
  PrunerGroup *grp;
  GHashTable *seen;   /* MscValue* -> member index + 1 */
  GHashTable *nodes;  /* "role:ptr:off" keys of sources / sinks; pass nodes */
  GQueue queue;       /* member indices (GUINT_TO_POINTER(i + 1)) */
} Ctx;

void pruner_group_free(PrunerGroup *g) {
  if (!g) return;
  g_array_unref(g->members);
  g_array_unref(g->sources);
  g_array_unref(g->sinks);
  g_ptr_array_unref(g->passes);
  g_free(g->blocked);
  g_free(g->score);
  g_free(g->keep);
  g_free(g);
}

gboolean pruner_glob_any(char **globs, const char *name) {
  for (guint i = 0; globs && globs[i]; i++)
    if (g_pattern_match_simple(globs[i], name ? name : "")) return TRUE;
  return FALSE;
}

static gboolean excluded(const Ctx *c, const MscNode *n) {
  if (pruner_glob_any(c->o->exclude, n->name)) return TRUE;
  for (guint i = 0; c->o->exclude_ops && c->o->exclude_ops[i]; i++)
    if (!strcmp(c->o->exclude_ops[i], n->op_type)) return TRUE;
  return FALSE;
}

int64_t pruner_value_dim(const MscValue *v, int axis) {
  if (!v || v->rank < 0 || axis < 0 || axis >= v->rank) return -1;
  return v->dims[axis];
}

static void block(Ctx *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void block(Ctx *c, const char *fmt, ...) {
  if (c->grp->blocked) return;
  va_list ap;
  va_start(ap, fmt);
  c->grp->blocked = g_strdup_vprintf(fmt, ap);
  va_end(ap);
}

static const MscAttr *attr(const MscNode *n, const char *name) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
  return NULL;
}

static int64_t attr_i(const MscNode *n, const char *name, int64_t def) {
  const MscAttr *a = attr(n, name);
  return a && a->type == MSC_ATTR_INT ? a->i : def;
}

static gboolean is_const(const MscValue *v) {
  return v && v->value != NULL;
}

static void add_member(Ctx *c, MscValue *v, int axis, int64_t off, int64_t block_) {
  if (!v) return;
  gpointer idx = g_hash_table_lookup(c->seen, v);
  if (idx) {
    PrunerMember *m = &g_array_index(c->grp->members, PrunerMember, GPOINTER_TO_UINT(idx) - 1);
    if (m->axis != axis || m->off != off || m->block != block_)
      block(c, "value '%s' is reached at two channel positions (axis %d offset %" G_GINT64_FORMAT
               " and axis %d offset %" G_GINT64_FORMAT ")", v->name, m->axis, m->off, axis, off);
    return;
  }
  PrunerMember m = {v, axis, off, block_};
  g_array_append_val(c->grp->members, m);
  guint i = c->grp->members->len;
  g_hash_table_insert(c->seen, v, GUINT_TO_POINTER(i));
  g_queue_push_tail(&c->queue, GUINT_TO_POINTER(i));
}

static void add_ref(Ctx *c, gboolean source, const MscNode *n, int64_t off, int64_t block_) {
  char *key = g_strdup_printf("%c:%p:%" G_GINT64_FORMAT, source ? 's' : 'k', (const void *)n, off);
  if (g_hash_table_contains(c->nodes, key)) {
    g_free(key);
    return;
  }
  g_hash_table_add(c->nodes, key);
  PrunerNodeRef r = {n, off, block_};
  g_array_append_val(source ? c->grp->sources : c->grp->sinks, r);
  if (source && excluded(c, n)) block(c, "source node '%s' (%s) is excluded", n->name, n->op_type);
}

static void add_pass(Ctx *c, const MscNode *n) {
  char *key = g_strdup_printf("p:%p", (const void *)n);
  if (g_hash_table_contains(c->nodes, key)) {
    g_free(key);
    return;
  }
  g_hash_table_add(c->nodes, key);
  g_ptr_array_add(c->grp->passes, (gpointer)n);
  if (excluded(c, n)) block(c, "node '%s' (%s) on the channel path is excluded", n->name, n->op_type);
}

static gboolean in_list(const char *op, const char *const *list) {
  for (guint i = 0; list[i]; i++)
    if (!strcmp(op, list[i])) return TRUE;
  return FALSE;
}

static const char *const unary_ops[] = {
    "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Celu", "Softplus",
    "Softsign", "Exp", "Log", "Sqrt", "Abs", "Neg", "Erf", "Floor", "Ceil", "Round", "Reciprocal", "Identity",
    "Dropout", "Cast", "Clip", "Gelu", "Mish", "ThresholdedRelu", "Sin", "Cos", NULL};
static const char *const spatial_ops[] = {"MaxPool",         "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                                          "LpPool",          "GlobalLpPool", "Resize",           "Upsample",
                                          "BatchNormalization", "InstanceNormalization", NULL};
static const char *const eltwise_ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "PRelu", "Pow",
                                          NULL};

/* Relates input 0 and output 0 of @n at the same position. */
static void relate_io0(Ctx *c, const MscNode *n, const PrunerMember *m) {
  add_pass(c, n);
  add_member(c, n->inputs[0], m->axis, m->off, m->block);
  add_member(c, n->outputs[0], m->axis, m->off, m->block);
}

static gboolean used(const Ctx *c, const MscValue *v) {
  return v && ((c->uses[v->index] && c->uses[v->index]->len) || (v->flags & MSC_VALUE_GRAPH_OUTPUT));
}

/* Offsets of the operands of a Concat / outputs of a Split along @axis; FALSE when a dim is unknown. */
static gboolean offsets_of(MscValue *const *vals, uint32_t n, int axis, int64_t *offs) {
  int64_t o = 0;
  for (uint32_t i = 0; i < n; i++) {
    int64_t d = pruner_value_dim(vals[i], axis);
    if (d < 0) return FALSE;
    offs[i] = o;
    o += d;
  }
  offs[n] = o;
  return TRUE;
}

static void visit_concat_like(Ctx *c, const MscNode *n, gboolean from_whole, uint32_t k, const PrunerMember *m,
                              MscValue *const *parts, uint32_t n_parts, MscValue *whole, int axis) {
  add_pass(c, n);
  if (m->axis != axis) { /* concatenated along another axis: every operand carries the channels */
    for (uint32_t i = 0; i < n_parts; i++) {
      if (is_const(parts[i])) {
        block(c, "%s '%s' has a constant operand on the channel path", n->op_type, n->name);
        return;
      }
      add_member(c, parts[i], m->axis, m->off, m->block);
    }
    add_member(c, whole, m->axis, m->off, m->block);
    return;
  }
  g_autofree int64_t *offs = g_new0(int64_t, n_parts + 1);
  if (!offsets_of(parts, n_parts, axis, offs)) {
    block(c, "%s '%s': unknown operand sizes", n->op_type, n->name);
    return;
  }
  if (!from_whole) {
    add_member(c, whole, axis, m->off + offs[k], m->block);
    return;
  }
  int64_t end = m->off + c->grp->len * m->block;
  for (uint32_t i = 0; i < n_parts; i++)
    if (offs[i] <= m->off && end <= offs[i + 1]) {
      if (is_const(parts[i])) break;
      add_member(c, parts[i], axis, m->off - offs[i], m->block);
      return;
    }
  block(c, "%s '%s': channel range [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ") spans several operands", n->op_type,
        n->name, m->off, end);
}

/* Flatten-like: [N, C, ...] <-> [N, C*inner] (axis 1), or a Reshape keeping dims 0 and 1. */
static void visit_flatten(Ctx *c, const MscNode *n, gboolean from_output, const PrunerMember *m) {
  MscValue *x = n->inputs[0], *y = n->outputs[0];
  if (!x || !y || x->rank < 2 || y->rank < 2 || m->axis != 1) {
    block(c, "%s '%s' moves the channel axis", n->op_type, n->name);
    return;
  }
  int64_t inner = 1;
  for (int i = 2; i < x->rank; i++) inner *= x->dims[i];
  int64_t cdim = x->dims[1];
  if (inner <= 0 || cdim <= 0 || x->dims[0] != y->dims[0]) {
    block(c, "%s '%s': unknown or batch-changing shape", n->op_type, n->name);
    return;
  }
  if (!strcmp(n->op_type, "Reshape") && !is_const(n->inputs[1])) {
    block(c, "Reshape '%s' has a computed shape", n->op_type);
    return;
  }
  if (!strcmp(n->op_type, "Flatten") && attr_i(n, "axis", 1) != 1) {
    block(c, "Flatten '%s' with axis %" G_GINT64_FORMAT " (only 1)", n->name, attr_i(n, "axis", 1));
    return;
  }
  int64_t f = -1;
  if (y->rank == 2 && y->dims[1] == cdim * inner) f = inner; /* flatten */
  else if (y->dims[1] == cdim) f = 1;                         /* channels kept on axis 1 */
  if (f < 0) {
    block(c, "%s '%s' mixes the channel axis with others", n->op_type, n->name);
    return;
  }
  add_pass(c, n);
  if (!from_output) {
    add_member(c, y, 1, m->off * f, m->block * f);
  } else if (m->off % f == 0 && m->block % f == 0) {
    add_member(c, x, 1, m->off / f, m->block / f);
  } else {
    block(c, "%s '%s': feature range does not map to whole channels", n->op_type, n->name);
  }
}

static void visit_eltwise(Ctx *c, const MscNode *n, gboolean from_output, uint32_t k, const PrunerMember *m) {
  MscValue *y = n->outputs[0];
  if (!y || y->rank < 0) {
    block(c, "%s '%s': unknown output shape", n->op_type, n->name);
    return;
  }
  int R = y->rank, axis_out = m->axis;
  if (!from_output) {
    MscValue *x = n->inputs[k];
    axis_out = m->axis + (R - x->rank);
    if (axis_out < 0 || pruner_value_dim(x, m->axis) != pruner_value_dim(y, axis_out)) {
      block(c, "%s '%s' broadcasts the channel axis", n->op_type, n->name);
      return;
    }
  }
  int64_t C = pruner_value_dim(y, axis_out);
  add_pass(c, n);
  for (uint32_t j = 0; j < n->n_inputs; j++) {
    MscValue *x = n->inputs[j];
    if (!x) continue;
    if (x->rank < 0) {
      block(c, "%s '%s': operand of unknown rank", n->op_type, n->name);
      return;
    }
    int aj = axis_out - (R - x->rank);
    int64_t d = aj >= 0 ? x->dims[aj] : 1;
    if (d == 1 && C != 1) continue; /* broadcast along the channels: not tied */
    if (d != C) {
      block(c, "%s '%s': operand '%s' has %" G_GINT64_FORMAT " on the channel axis, output %" G_GINT64_FORMAT,
            n->op_type, n->name, x->name, d, C);
      return;
    }
    if (is_const(x)) continue; /* sliced with the output's mask */
    add_member(c, x, aj, m->off, m->block);
  }
  add_member(c, y, axis_out, m->off, m->block);
}

static void visit_node(Ctx *c, const MscNode *n, gboolean from_output, uint32_t k, const PrunerMember *m) {
  const char *op = n->op_type;
  if (n->domain && n->domain[0]) {
    block(c, "node '%s' (%s:%s) is UNSUPPORTED on the channel path", n->name, n->domain, op);
    return;
  }
  if (!strcmp(op, "Shape") && !from_output) {
    /* reads dims only: whatever it computes is re-derived from the pruned
     * tensor (re-verification re-folds it; a Resize or Reshape fed by it
     * is checked on its own) */
    return;
  }
  if (!strcmp(op, "Conv")) {
    MscValue *x = n->inputs[0], *w = n->n_inputs > 1 ? n->inputs[1] : NULL;
    int64_t grp = attr_i(n, "group", 1);
    if (!w || !is_const(w) || w->rank < 3 || !x) {
      block(c, "Conv '%s' has a computed weight", n->name);
      return;
    }
    if (m->axis != 1 || m->block != 1 || (!from_output && k != 0)) {
      block(c, "Conv '%s' reached off its channel axis", n->name);
      return;
    }
    if (grp == 1) {
      add_ref(c, from_output, n, m->off, 1);
      return;
    }
    int64_t cin = pruner_value_dim(x, 1);
    if (grp == cin && w->dims[0] == cin) { /* depthwise: channels pass through */
      relate_io0(c, n, m);
      return;
    }
    block(c, "grouped Conv '%s' (group=%" G_GINT64_FORMAT ") is left unpruned", n->name, grp);
    return;
  }
  if (!strcmp(op, "Gemm") || !strcmp(op, "MatMul")) {
    gboolean gemm = !strcmp(op, "Gemm");
    MscValue *a = n->inputs[0], *b = n->n_inputs > 1 ? n->inputs[1] : NULL;
    if (!b || !is_const(b) || b->rank != 2 || !a || a->rank < 2 || (gemm && (a->rank != 2 || attr_i(n, "transA", 0)))) {
      block(c, "%s '%s' is not x * constant 2-D weight (%s)", op, n->name,
            !b || !is_const(b) ? "weight computed, not constant" : b->rank != 2 ? "weight not 2-D" : "transA or input rank");
      return;
    }
    int want = from_output ? n->outputs[0]->rank - 1 : a->rank - 1;
    if (m->axis != want || (!from_output && k != 0) || (from_output && m->block != 1)) {
      block(c, "%s '%s' reached off its feature axis", op, n->name);
      return;
    }
    add_ref(c, from_output, n, m->off, m->block);
    return;
  }
  if (in_list(op, unary_ops)) {
    if (!from_output && k != 0) {
      block(c, "%s '%s': channels reach a parameter input", op, n->name);
      return;
    }
    for (uint32_t j = 1; j < n->n_outputs; j++)
      if (used(c, n->outputs[j])) {
        block(c, "%s '%s': second output is used", op, n->name);
        return;
      }
    relate_io0(c, n, m);
    return;
  }
  if (in_list(op, spatial_ops)) {
    if (m->axis != 1 || (!from_output && k != 0)) {
      block(c, "%s '%s' reached off the channel axis (axis %d)", op, n->name, m->axis);
      return;
    }
    for (uint32_t j = 1; j < n->n_outputs; j++)
      if (used(c, n->outputs[j])) {
        block(c, "%s '%s': second output is used", op, n->name);
        return;
      }
    if (!strcmp(op, "Resize") || !strcmp(op, "Upsample")) {
      uint32_t si = (!strcmp(op, "Upsample") || n->opset < 11) ? 1 : 2;
      for (uint32_t j = 1; j < n->n_inputs; j++) {
        const MscValue *s = n->inputs[j];
        if (!s || (s->rank >= 0 && msc_shape_numel(s->rank, s->dims) == 0)) continue; /* absent / empty */
        if (!is_const(s)) {
          block(c, "%s '%s': computed roi/scales/sizes", op, n->name);
          return;
        }
        if (j == si && msc_tensor_numel(s->value) > m->axis && msc_tensor_get_f64(s->value, m->axis) != 1.0) {
          block(c, "%s '%s' scales the channel axis", op, n->name);
          return;
        }
      }
    }
    relate_io0(c, n, m);
    return;
  }
  if (!strcmp(op, "Pad")) {
    if (!from_output && k != 0) {
      block(c, "Pad '%s': channels reach a parameter input", n->name);
      return;
    }
    const MscAttr *pa = attr(n, "pads");
    int r = n->inputs[0]->rank;
    if (pa && pa->type == MSC_ATTR_INTS && (int)pa->n == 2 * r) {
      if (pa->ints[m->axis] || pa->ints[m->axis + r]) {
        block(c, "Pad '%s' pads the channel axis", n->name);
        return;
      }
    } else if (n->n_inputs > 1 && is_const(n->inputs[1]) && msc_tensor_numel(n->inputs[1]->value) == 2 * r) {
      if (msc_tensor_get_i64(n->inputs[1]->value, m->axis) || msc_tensor_get_i64(n->inputs[1]->value, m->axis + r)) {
        block(c, "Pad '%s' pads the channel axis", n->name);
        return;
      }
      if (n->n_inputs > 3 && n->inputs[3]) {
        block(c, "Pad '%s' with axes", n->name);
        return;
      }
    } else {
      block(c, "Pad '%s': pads not constant", n->name);
      return;
    }
    relate_io0(c, n, m);
    return;
  }
  if (in_list(op, eltwise_ops)) {
    visit_eltwise(c, n, from_output, k, m);
    return;
  }
  if (!strcmp(op, "Concat")) {
    int64_t ax = attr_i(n, "axis", 0);
    int r = n->outputs[0]->rank;
    if (ax < 0) ax += r;
    visit_concat_like(c, n, from_output, k, m, n->inputs, n->n_inputs, n->outputs[0], (int)ax);
    return;
  }
  if (!strcmp(op, "Split")) {
    int64_t ax = attr_i(n, "axis", 0);
    int r = n->inputs[0]->rank;
    if (ax < 0) ax += r;
    if (!from_output && k != 0) {
      block(c, "Split '%s': channels reach the split sizes", n->name);
      return;
    }
    uint32_t j = 0;
    if (from_output)
      for (j = 0; j < n->n_outputs && n->outputs[j] != m->value; j++) {
      }
    /* from an output: the output is the "part", the input is the "whole" */
    visit_concat_like(c, n, !from_output, j, m, n->outputs, n->n_outputs, n->inputs[0], (int)ax);
    return;
  }
  if (!strcmp(op, "Flatten") || !strcmp(op, "Reshape")) {
    if (!from_output && k != 0) {
      block(c, "Reshape '%s': channels reach the shape input", n->name);
      return;
    }
    visit_flatten(c, n, from_output, m);
    return;
  }
  if (!strcmp(op, "Transpose")) {
    const MscAttr *p = attr(n, "perm");
    int r = n->inputs[0]->rank;
    if (!p || p->type != MSC_ATTR_INTS || (int)p->n != r) {
      block(c, "Transpose '%s' without perm", n->name);
      return;
    }
    add_pass(c, n);
    if (from_output) {
      add_member(c, n->inputs[0], (int)p->ints[m->axis], m->off, m->block);
    } else {
      for (int j = 0; j < r; j++)
        if (p->ints[j] == m->axis) add_member(c, n->outputs[0], j, m->off, m->block);
    }
    return;
  }
  block(c, "%s '%s' %s the channels: UNSUPPORTED for pruning", op, n->name, from_output ? "produces" : "consumes");
}

static void process_member(Ctx *c, guint mi) {
  PrunerMember m = g_array_index(c->grp->members, PrunerMember, mi);
  MscValue *v = m.value;
  if (v->flags & MSC_VALUE_GRAPH_OUTPUT) block(c, "channels reach graph output '%s'", v->name);
  if (v->flags & MSC_VALUE_GRAPH_INPUT) block(c, "channels come from graph input '%s'", v->name);
  if (v->value) block(c, "value '%s' is constant", v->name);
  int64_t d = pruner_value_dim(v, m.axis);
  if (d < 0 || m.off + c->grp->len * m.block > d) {
    block(c, "value '%s': unknown or too small channel axis", v->name);
    return;
  }
  if (v->producer) {
    uint32_t j = 0;
    while (j < v->producer->n_outputs && v->producer->outputs[j] != v) j++;
    visit_node(c, v->producer, TRUE, j, &m);
  }
  GPtrArray *u = c->uses[v->index];
  for (guint i = 0; u && i < u->len; i++) {
    const Use *use = g_ptr_array_index(u, i);
    visit_node(c, use->node, FALSE, use->input, &m);
  }
}

/* A channel source: Conv group=1, Gemm, MatMul with a constant 2-D weight; output channel count or -1. */
static int64_t source_channels(const MscNode *n) {
  if (n->domain && n->domain[0]) return -1;
  if (n->n_outputs < 1 || !n->outputs[0] || n->n_inputs < 2 || !n->inputs[0] || !n->inputs[1]) return -1;
  const MscValue *w = n->inputs[1], *y = n->outputs[0];
  if (!w->value) return -1;
  if (!strcmp(n->op_type, "Conv") && attr_i(n, "group", 1) == 1 && w->rank >= 3) return w->dims[0];
  if ((!strcmp(n->op_type, "Gemm") || !strcmp(n->op_type, "MatMul")) && w->rank == 2 && y->rank >= 1)
    return y->dims[y->rank - 1];
  return -1;
}

/* Ranges of different groups on the same value must not overlap. */
static void block_overlaps(GPtrArray *groups) {
  GHashTable *by_value = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
  for (guint gi = 0; gi < groups->len; gi++) {
    PrunerGroup *g = g_ptr_array_index(groups, gi);
    for (guint i = 0; i < g->members->len; i++) {
      PrunerMember *m = &g_array_index(g->members, PrunerMember, i);
      GPtrArray *l = g_hash_table_lookup(by_value, m->value);
      if (!l) g_hash_table_insert(by_value, m->value, l = g_ptr_array_new());
      for (guint j = 0; j < l->len; j += 2) {
        PrunerGroup *o = g_ptr_array_index(l, j);
        PrunerMember *om = g_ptr_array_index(l, j + 1);
        if (o == g) continue;
        int64_t a0 = m->off, a1 = m->off + g->len * m->block, b0 = om->off, b1 = om->off + o->len * om->block;
        if (om->axis != m->axis || (a0 < b1 && b0 < a1)) {
          if (!g->blocked)
            g->blocked = g_strdup_printf("value '%s' shares channels with group %u", m->value->name, o->id);
          if (!o->blocked)
            o->blocked = g_strdup_printf("value '%s' shares channels with group %u", m->value->name, g->id);
        }
      }
      g_ptr_array_add(l, g);
      g_ptr_array_add(l, m);
    }
  }
  g_hash_table_destroy(by_value);
}

GPtrArray *pruner_groups_build(const MscGraph *g, const PrunerOptions *o) {
  GPtrArray *groups = g_ptr_array_new_with_free_func((GDestroyNotify)pruner_group_free);
  Ctx c = {g, o, g_new0(GPtrArray *, g->n_values ? g->n_values : 1), NULL, NULL, NULL, G_QUEUE_INIT};
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    for (uint32_t k = 0; k < n->n_inputs; k++) {
      const MscValue *v = n->inputs[k];
      if (!v) continue;
      if (!c.uses[v->index]) c.uses[v->index] = g_ptr_array_new_with_free_func(g_free);
      Use *u = g_new(Use, 1);
      u->node = n;
      u->input = k;
      g_ptr_array_add(c.uses[v->index], u);
    }
  }
  GHashTable *started = g_hash_table_new(g_direct_hash, g_direct_equal); /* values already in a group */
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    int64_t cout = source_channels(n);
    if (cout <= 0 || g_hash_table_contains(started, n->outputs[0])) continue;
    PrunerGroup *grp = g_new0(PrunerGroup, 1);
    grp->id = groups->len;
    grp->len = cout;
    grp->members = g_array_new(FALSE, FALSE, sizeof(PrunerMember));
    grp->sources = g_array_new(FALSE, FALSE, sizeof(PrunerNodeRef));
    grp->sinks = g_array_new(FALSE, FALSE, sizeof(PrunerNodeRef));
    grp->passes = g_ptr_array_new();
    c.grp = grp;
    c.seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    c.nodes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int ax = n->outputs[0]->rank - 1;
    if (!strcmp(n->op_type, "Conv")) ax = 1;
    add_member(&c, n->outputs[0], ax, 0, 1);
    gpointer p;
    guint steps = 0;
    while ((p = g_queue_pop_head(&c.queue))) {
      process_member(&c, GPOINTER_TO_UINT(p) - 1);
      if (++steps > 100000) {
        block(&c, "group too large");
        break;
      }
    }
    g_queue_clear(&c.queue);
    for (guint m = 0; m < grp->members->len; m++)
      g_hash_table_add(started, g_array_index(grp->members, PrunerMember, m).value);
    if (!grp->blocked && grp->sources->len == 0) grp->blocked = g_strdup("no prunable source");
    g_hash_table_destroy(c.seen);
    g_hash_table_destroy(c.nodes);
    g_ptr_array_add(groups, grp);
  }
  block_overlaps(groups);
  g_hash_table_destroy(started);
  for (uint32_t i = 0; i < g->n_values; i++)
    if (c.uses[i]) g_ptr_array_unref(c.uses[i]);
  g_free(c.uses);
  return groups;
}
