/* slice.c: physical channel removal.
 *
 * The groups' keep sets become one keep mask per value (the channel axis of
 * every member value); then each node is rewritten from the masks of its
 * own inputs and outputs: Conv weights (output and input channels; a
 * depthwise Conv keeps group = channels), biases, BatchNormalization and
 * InstanceNormalization parameters, Gemm/MatMul weight rows/columns (a
 * flattened input drops whole H*W blocks), per-channel constants of
 * elementwise ops, Resize sizes, Reshape shapes and Split sizes.
 *
 * Constants are replaced where they live: an initializer used once is
 * replaced in place, a Constant node used once gets a new 'value'
 * attribute, a folded constant made of an Unsqueeze/Reshape/Squeeze/
 * Identity chain over a per-channel vector is sliced at its source; any
 * shared constant gets a fresh initializer for this node only. */
#include <string.h>

#include "error.h"
#include "pruner.h"
#include "tensor.h"

void pruner_mask_free(PrunerMask *m) {
  if (!m) return;
  g_free(m->keep);
  g_free(m);
}

GHashTable *pruner_masks_from_groups(GPtrArray *groups, GError **error) {
  GHashTable *masks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)pruner_mask_free);
  for (guint gi = 0; gi < groups->len; gi++) {
    PrunerGroup *g = g_ptr_array_index(groups, gi);
    if (g->blocked || !g->keep || g->keep_n >= g->len) continue;
    for (guint i = 0; i < g->members->len; i++) {
      PrunerMember *mb = &g_array_index(g->members, PrunerMember, i);
      PrunerMask *m = g_hash_table_lookup(masks, mb->value->name);
      int64_t dim = pruner_value_dim(mb->value, mb->axis);
      if (!m) {
        m = g_new0(PrunerMask, 1);
        m->axis = mb->axis;
        m->dim = dim;
        m->keep = g_new(gboolean, dim);
        for (int64_t k = 0; k < dim; k++) m->keep[k] = TRUE;
        g_hash_table_insert(masks, g_strdup(mb->value->name), m);
      } else if (m->axis != mb->axis) {
        msc_set_error(error, MSC_ERR_INTERNAL, "value '%s': two groups prune different axes", mb->value->name);
        g_hash_table_destroy(masks);
        return NULL;
      }
      for (int64_t c = 0; c < g->len; c++)
        if (!g->keep[c])
          for (int64_t b = 0; b < mb->block; b++) m->keep[mb->off + c * mb->block + b] = FALSE;
    }
  }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, masks);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    PrunerMask *m = v;
    m->kept = 0;
    for (int64_t i = 0; i < m->dim; i++) m->kept += m->keep[i] != 0;
  }
  return masks;
}

MscTensor *pruner_tensor_slice(const MscTensor *t, int axis, const gboolean *keep, GError **error) {
  if (axis < 0 || axis >= t->rank || !t->data) {
    msc_set_error(error, MSC_ERR_INTERNAL, "tensor '%s': cannot slice axis %d", t->name ? t->name : "?", axis);
    return NULL;
  }
  int64_t outer = 1, inner = 1, D = t->dims[axis], kept = 0;
  for (int i = 0; i < axis; i++) outer *= t->dims[i];
  for (int i = axis + 1; i < t->rank; i++) inner *= t->dims[i];
  for (int64_t i = 0; i < D; i++) kept += keep[i] != 0;
  int64_t dims[MSC_MAX_RANK];
  memcpy(dims, t->dims, sizeof dims);
  dims[axis] = kept;
  MscTensor *r = msc_tensor_new(t->dtype, t->rank, dims, error);
  if (!r) return NULL;
  msc_tensor_set_name(r, t->name);
  size_t es = msc_dtype_size(t->dtype), row = (size_t)inner * es;
  const uint8_t *src = t->data;
  uint8_t *dst = r->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t d = 0; d < D; d++) {
      if (!keep[d]) continue;
      memcpy(dst, src + ((size_t)(o * D + d)) * row, row);
      dst += row;
    }
  return r;
}

typedef struct {
  MscGraph *g;
  guint *uses; /* by value index (values added later count 1) */
  guint n_uses;
} SCtx;

static guint uses_of(const SCtx *c, const MscValue *v) {
  return v->index < c->n_uses ? c->uses[v->index] : 1;
}

static MscNode *find_producer_constant(MscValue *v) {
  MscNode *p = v->producer;
  if (p && !strcmp(p->op_type, "Constant") && (!p->domain || !p->domain[0])) return p;
  return NULL;
}

/* Installs @t (transfer full) as the value of input @k of @n. */
static gboolean replace_const(SCtx *c, MscNode *n, uint32_t k, MscTensor *t, GError **error) {
  MscValue *v = n->inputs[k];
  if (uses_of(c, v) == 1 && !(v->flags & MSC_VALUE_GRAPH_INPUT)) {
    if (v->flags & MSC_VALUE_INITIALIZER) {
      msc_tensor_set_name(t, v->name);
      msc_graph_add_initializer(c->g, v->name, t);
      return TRUE;
    }
    MscNode *p = find_producer_constant(v);
    if (p) {
      for (uint32_t i = 0; i < p->n_attrs; i++)
        if (!strcmp(p->attrs[i].name, "value") && p->attrs[i].type == MSC_ATTR_TENSOR) {
          MscTensor *copy = msc_tensor_copy(t, error);
          if (!copy) {
            msc_tensor_free(t);
            return FALSE;
          }
          msc_tensor_free(p->attrs[i].t);
          p->attrs[i].t = copy;
          msc_tensor_free(v->value);
          v->value = t;
          v->rank = t->rank;
          memcpy(v->dims, t->dims, sizeof v->dims);
          return TRUE;
        }
    }
  }
  /* shared or computed: a fresh initializer for this node */
  g_autofree char *name = NULL;
  for (guint i = 0; !name || msc_graph_find_value(c->g, name); i++) {
    g_free(name);
    name = g_strdup_printf("%s_pruned%u", v->name, i);
  }
  msc_tensor_set_name(t, name);
  MscValue *nv = msc_graph_add_initializer(c->g, name, t);
  if (v->index < c->n_uses && c->uses[v->index] > 0) c->uses[v->index]--;
  if (v->index < c->n_uses && c->uses[v->index] == 0 && (v->flags & MSC_VALUE_INITIALIZER) &&
      !(v->flags & (MSC_VALUE_GRAPH_INPUT | MSC_VALUE_GRAPH_OUTPUT))) {
    /* the old initializer is now unused: drop it from the model */
    msc_tensor_free(v->value);
    v->value = NULL;
    v->flags &= ~MSC_VALUE_INITIALIZER;
  }
  n->inputs[k] = nv;
  return TRUE;
}

static int non1_axis(int32_t rank, const int64_t *dims) {
  int ax = -1;
  for (int i = 0; i < rank; i++)
    if (dims[i] != 1) {
      if (ax >= 0) return -2;
      ax = i;
    }
  return ax;
}

/* Slices a per-channel vector that reaches @n through a chain of shape-only
 * ops at its source, so the model keeps its form; FALSE when not such a chain. */
static gboolean slice_chain_source(SCtx *c, MscValue *v, int axis, const gboolean *keep, gboolean *done,
                                   GError **error) {
  *done = FALSE;
  if (non1_axis(v->value->rank, v->value->dims) != axis) return TRUE;
  int64_t C = v->value->dims[axis];
  MscValue *cur = v;
  for (int depth = 0; depth < 8; depth++) {
    MscNode *p = cur->producer;
    if (!p || uses_of(c, cur) != 1) return TRUE;
    const char *op = p->op_type;
    if (strcmp(op, "Unsqueeze") && strcmp(op, "Reshape") && strcmp(op, "Squeeze") && strcmp(op, "Identity") &&
        strcmp(op, "Flatten"))
      return TRUE;
    MscValue *src = p->inputs[0];
    if (!src || !src->value) return TRUE;
    int sa = non1_axis(src->value->rank, src->value->dims);
    if (sa < 0 || src->value->dims[sa] != C) return TRUE;
    if ((src->flags & MSC_VALUE_INITIALIZER) || find_producer_constant(src)) {
      if (uses_of(c, src) != 1) return TRUE;
      MscTensor *t = pruner_tensor_slice(src->value, sa, keep, error);
      if (!t) return FALSE;
      if (!replace_const(c, p, 0, t, error)) return FALSE;
      /* refresh the folded copy the consumer reads until re-verification re-folds it */
      MscTensor *fv = pruner_tensor_slice(v->value, axis, keep, error);
      if (!fv) return FALSE;
      msc_tensor_free(v->value);
      v->value = fv;
      *done = TRUE;
      return TRUE;
    }
    cur = src;
  }
  return TRUE;
}

static gboolean slice_view_source(SCtx *c, MscValue *v, int axis, const gboolean *keep, gboolean *done,
                                  GError **error);

static gboolean slice_const(SCtx *c, MscNode *n, uint32_t k, int axis, const gboolean *keep, GError **error) {
  MscValue *v = n->inputs[k];
  if (!v || !v->value) return TRUE;
  if (!(v->flags & MSC_VALUE_INITIALIZER) && !find_producer_constant(v)) {
    gboolean done = FALSE;
    if (!slice_chain_source(c, v, axis, keep, &done, error)) return FALSE;
    if (!done && !slice_view_source(c, v, axis, keep, &done, error)) return FALSE;
    if (done) return TRUE;
  }
  MscTensor *t = pruner_tensor_slice(v->value, axis, keep, error);
  if (!t) {
    g_prefix_error(error, "node '%s' (%s): input '%s': ", n->name, n->op_type, v->name);
    return FALSE;
  }
  return replace_const(c, n, k, t, error);
}

static MscAttr *attr(MscNode *n, const char *name) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
  return NULL;
}

static int64_t attr_i(MscNode *n, const char *name, int64_t def) {
  MscAttr *a = attr(n, name);
  return a && a->type == MSC_ATTR_INT ? a->i : def;
}

static const PrunerMask *mask_of(GHashTable *masks, const MscValue *v) {
  return v ? g_hash_table_lookup(masks, v->name) : NULL;
}

static gboolean fail(GError **error, MscNode *n, const char *what) {
  msc_set_error(error, MSC_ERR_INTERNAL, "node '%s' (%s): %s", n->name, n->op_type, what);
  return FALSE;
}

/* Copy of integer constant @t with entry @i set to @val (int64 or int32). */
static MscTensor *with_entry(const MscTensor *t, int64_t i, int64_t val, GError **error) {
  MscTensor *r = msc_tensor_copy(t, error);
  if (r) msc_tensor_set_f64(r, i, (double)val);
  return r;
}

/* Sets entry @pos of the shape reaching input @k of @n to @val where the
 * literal lives: an initializer or Constant, or through Concat parts and
 * Cast/Identity/Squeeze/Unsqueeze/Reshape of a constant (e.g. Concat(Shape(x)[0:1], [200])),
 * so the computed parts (a dynamic batch) stay computed. */
static gboolean set_shape_entry(SCtx *c, MscNode *n, uint32_t k, int64_t pos, int64_t val, int depth,
                                GError **error) {
  MscValue *v = n->inputs[k];
  if (!v || !v->value || depth > 16) goto fail;
  if ((v->flags & MSC_VALUE_INITIALIZER) || find_producer_constant(v)) {
    MscTensor *t = with_entry(v->value, pos, val, error);
    return t && replace_const(c, n, k, t, error);
  }
  MscNode *p = v->producer;
  if (!p || uses_of(c, v) != 1) goto fail;
  if (!strcmp(p->op_type, "Concat")) {
    int64_t off = 0;
    for (uint32_t j = 0; j < p->n_inputs; j++) {
      MscValue *part = p->inputs[j];
      int64_t len = part && part->rank >= 0 ? msc_shape_numel(part->rank, part->dims) : -1;
      if (len < 0) goto fail;
      if (pos < off + len) {
        gboolean ok = set_shape_entry(c, p, j, pos - off, val, depth + 1, error);
        if (ok) msc_tensor_set_f64(v->value, pos, (double)val); /* the folded copy, until re-folded */
        return ok;
      }
      off += len;
    }
    goto fail;
  }
  if (!strcmp(p->op_type, "Cast") || !strcmp(p->op_type, "Identity") || !strcmp(p->op_type, "Squeeze") ||
      !strcmp(p->op_type, "Unsqueeze") || !strcmp(p->op_type, "Reshape")) {
    MscValue *src = p->inputs[0];
    if (!src || !src->value || msc_tensor_numel(src->value) != msc_tensor_numel(v->value)) goto fail;
    gboolean ok = set_shape_entry(c, p, 0, pos, val, depth + 1, error);
    if (ok) msc_tensor_set_f64(v->value, pos, (double)val);
    return ok;
  }
fail:
  if (error && !*error)
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "shape input '%s' is computed: cannot set its entry %" G_GINT64_FORMAT
                  " to %" G_GINT64_FORMAT " (UNSUPPORTED)", v ? v->name : "?", pos, val);
  return FALSE;
}

/* A weight that is a same-shape view of a constant (Reshape(W, shape) with
 * W already of the view's shape, as caffe2 exports a classifier): slice W
 * itself and, for a Reshape with an explicit size on @axis, that entry of
 * its shape, so the model keeps its form and no stale copy of W remains.
 * *done FALSE when @v is not such a view. */
static gboolean slice_view_source(SCtx *c, MscValue *v, int axis, const gboolean *keep, gboolean *done,
                                  GError **error) {
  *done = FALSE;
  MscNode *p = v->producer;
  if (!p || uses_of(c, v) != 1 || (p->domain && p->domain[0])) return TRUE;
  const char *op = p->op_type;
  if (strcmp(op, "Reshape") && strcmp(op, "Identity") && strcmp(op, "Flatten") && strcmp(op, "Squeeze") &&
      strcmp(op, "Unsqueeze"))
    return TRUE;
  MscValue *src = p->inputs[0];
  if (!src || !src->value || uses_of(c, src) != 1 ||
      (!(src->flags & MSC_VALUE_INITIALIZER) && !find_producer_constant(src)))
    return TRUE;
  const MscTensor *sv = src->value, *vv = v->value;
  /* the same dims up to size-1 axes ([1,1,1000,1024] -> [1000,1024]); sa: @axis in W */
  int sa = -1, j = 0;
  for (int i = 0; i < vv->rank; i++) {
    if (vv->dims[i] == 1) continue;
    while (j < sv->rank && sv->dims[j] == 1) j++;
    if (j >= sv->rank || sv->dims[j] != vv->dims[i]) return TRUE;
    if (i == axis) sa = j;
    j++;
  }
  while (j < sv->rank && sv->dims[j] == 1) j++;
  if (j != sv->rank || sa < 0) return TRUE;
  int64_t kept = 0;
  for (int64_t i = 0; i < vv->dims[axis]; i++) kept += keep[i] != 0;
  if (!strcmp(op, "Reshape")) {
    const MscValue *shp = p->n_inputs > 1 ? p->inputs[1] : NULL;
    if (!shp || !shp->value || msc_tensor_numel(shp->value) != vv->rank) return TRUE;
    double e = msc_tensor_get_f64(shp->value, axis);
    if (e > 0 && !set_shape_entry(c, p, 1, axis, kept, 0, error)) return FALSE;
  }
  MscTensor *t = pruner_tensor_slice(sv, sa, keep, error);
  if (!t || !replace_const(c, p, 0, t, error)) return FALSE;
  MscTensor *fv = pruner_tensor_slice(vv, axis, keep, error); /* the folded copy, until re-verification */
  if (!fv) return FALSE;
  msc_tensor_free(v->value);
  v->value = fv;
  v->dims[axis] = kept;
  *done = TRUE;
  return TRUE;
}

static const char *const eltwise_ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "PRelu", "Pow",
                                          NULL};

static gboolean is_eltwise(const char *op) {
  for (guint i = 0; eltwise_ops[i]; i++)
    if (!strcmp(op, eltwise_ops[i])) return TRUE;
  return FALSE;
}

static gboolean slice_node(SCtx *c, MscNode *n, GHashTable *masks, GError **error) {
  const char *op = n->op_type;
  const PrunerMask *mo = n->n_outputs ? mask_of(masks, n->outputs[0]) : NULL;
  const PrunerMask *mi = n->n_inputs ? mask_of(masks, n->inputs[0]) : NULL;
  if (!mo && !mi) {
    if (!strcmp(op, "Split") && n->n_outputs) {
      for (uint32_t j = 0; j < n->n_outputs; j++)
        if (mask_of(masks, n->outputs[j])) return fail(error, n, "an output lost channels but the input did not");
    }
    return TRUE;
  }
  if (!strcmp(op, "Conv")) {
    int64_t grp = attr_i(n, "group", 1);
    if (grp == 1) {
      if (mo && !slice_const(c, n, 1, 0, mo->keep, error)) return FALSE;
      if (mi && !slice_const(c, n, 1, 1, mi->keep, error)) return FALSE;
    } else {
      if (!mo || !mi || mo->dim != mi->dim || memcmp(mo->keep, mi->keep, sizeof(gboolean) * (size_t)mo->dim))
        return fail(error, n, "grouped Conv with different input and output masks");
      if (!slice_const(c, n, 1, 0, mo->keep, error)) return FALSE;
      attr(n, "group")->i = mo->kept;
    }
    if (mo && n->n_inputs > 2 && n->inputs[2] && !slice_const(c, n, 2, 0, mo->keep, error)) return FALSE;
    return TRUE;
  }
  if (!strcmp(op, "Gemm") || !strcmp(op, "MatMul")) {
    gboolean tb = !strcmp(op, "Gemm") && attr_i(n, "transB", 0);
    if (mi && !slice_const(c, n, 1, tb ? 1 : 0, mi->keep, error)) return FALSE;
    if (mo && !slice_const(c, n, 1, tb ? 0 : 1, mo->keep, error)) return FALSE;
    if (mo && !strcmp(op, "Gemm") && n->n_inputs > 2 && n->inputs[2] && n->inputs[2]->value) {
      const MscTensor *cb = n->inputs[2]->value;
      if (cb->rank >= 1 && cb->dims[cb->rank - 1] == mo->dim && mo->dim > 1 &&
          !slice_const(c, n, 2, cb->rank - 1, mo->keep, error))
        return FALSE;
    }
    return TRUE;
  }
  if (!strcmp(op, "BatchNormalization") || !strcmp(op, "InstanceNormalization")) {
    uint32_t last = !strcmp(op, "BatchNormalization") ? 4 : 2;
    for (uint32_t k = 1; k <= last && k < n->n_inputs; k++)
      if (n->inputs[k] && !slice_const(c, n, k, 0, mo->keep, error)) return FALSE;
    return TRUE;
  }
  if (is_eltwise(op) && mo) {
    int R = n->outputs[0]->rank;
    for (uint32_t k = 0; k < n->n_inputs; k++) {
      MscValue *x = n->inputs[k];
      if (!x || !x->value) continue;
      int ak = mo->axis - (R - x->value->rank);
      if (ak >= 0 && x->value->dims[ak] == mo->dim && mo->dim > 1 && !slice_const(c, n, k, ak, mo->keep, error))
        return FALSE;
    }
    return TRUE;
  }
  if ((!strcmp(op, "Resize") && n->opset >= 11) && mo && n->n_inputs > 3 && n->inputs[3] && n->inputs[3]->value &&
      msc_tensor_numel(n->inputs[3]->value) > mo->axis) {
    MscTensor *t = with_entry(n->inputs[3]->value, mo->axis, mo->kept, error);
    return t && replace_const(c, n, 3, t, error);
  }
  if (!strcmp(op, "Reshape") && mo && n->n_inputs > 1 && n->inputs[1] && n->inputs[1]->value) {
    const MscTensor *s = n->inputs[1]->value;
    if (msc_tensor_numel(s) > mo->axis && msc_tensor_get_i64(s, mo->axis) > 0) {
      if (!set_shape_entry(c, n, 1, mo->axis, mo->kept, 0, error)) {
        g_prefix_error(error, "node '%s' (Reshape): ", n->name);
        return FALSE;
      }
    }
    return TRUE;
  }
  if (!strcmp(op, "Split") && mi) {
    int64_t ax = attr_i(n, "axis", 0);
    if (ax < 0) ax += n->inputs[0]->rank;
    if (ax != mi->axis) return TRUE;
    g_autofree int64_t *sizes = g_new0(int64_t, n->n_outputs);
    int64_t o = 0;
    gboolean equal = TRUE;
    for (uint32_t j = 0; j < n->n_outputs; j++) {
      int64_t d = pruner_value_dim(n->outputs[j], (int)ax);
      for (int64_t i = o; i < o + d; i++) sizes[j] += mi->keep[i] != 0;
      o += d;
      if (j && sizes[j] != sizes[0]) equal = FALSE;
    }
    MscAttr *sa = attr(n, "split");
    if (sa && sa->type == MSC_ATTR_INTS && sa->n == n->n_outputs) {
      for (uint32_t j = 0; j < n->n_outputs; j++) sa->ints[j] = sizes[j];
    } else if (n->n_inputs > 1 && n->inputs[1] && n->inputs[1]->value) {
      MscTensor *t = msc_tensor_copy(n->inputs[1]->value, error);
      if (!t) return FALSE;
      for (uint32_t j = 0; j < n->n_outputs; j++) msc_tensor_set_f64(t, j, (double)sizes[j]);
      if (!replace_const(c, n, 1, t, error)) return FALSE;
    } else if (!equal) {
      return fail(error, n, "equal Split whose outputs keep different channel counts");
    }
    return TRUE;
  }
  return TRUE; /* pass-through ops: nothing to rewrite */
}

gboolean pruner_slice_graph(MscGraph *g, GHashTable *masks, GError **error) {
  SCtx c = {g, g_new0(guint, g->n_values ? g->n_values : 1), g->n_values};
  for (uint32_t i = 0; i < g->n_nodes; i++)
    for (uint32_t k = 0; k < g->nodes[i]->n_inputs; k++)
      if (g->nodes[i]->inputs[k]) c.uses[g->nodes[i]->inputs[k]->index]++;
  for (uint32_t i = 0; i < g->n_outputs; i++) c.uses[g->outputs[i]->index]++;
  /* masks of values that do not exist here (a plan for another model) */
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, masks);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    MscValue *val = msc_graph_find_value(g, k);
    const PrunerMask *m = v;
    if (!val || pruner_value_dim(val, m->axis) != m->dim) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "value '%s': %s (plan for another model?)", (const char *)k,
                    val ? "channel count differs from the plan" : "not in the model");
      g_free(c.uses);
      return FALSE;
    }
  }
  gboolean ok = TRUE;
  for (uint32_t i = 0; i < g->n_nodes && ok; i++) ok = slice_node(&c, g->nodes[i], masks, error);
  g_free(c.uses);
  return ok;
}

void pruner_refit_free(PrunerRefit *r) {
  if (!r) return;
  g_free(r->node_name);
  g_free(r->op_type);
  msc_tensor_free(r->weight);
  msc_tensor_free(r->bias);
  g_free(r);
}

gboolean pruner_install_refits(MscGraph *g, MscNode *const *order, GPtrArray *refits, GError **error) {
  SCtx c = {g, g_new0(guint, g->n_values ? g->n_values : 1), g->n_values};
  for (uint32_t i = 0; i < g->n_nodes; i++)
    for (uint32_t k = 0; k < g->nodes[i]->n_inputs; k++)
      if (g->nodes[i]->inputs[k]) c.uses[g->nodes[i]->inputs[k]->index]++;
  gboolean ok = TRUE;
  for (guint r = 0; refits && r < refits->len && ok; r++) {
    const PrunerRefit *f = g_ptr_array_index(refits, r);
    MscNode *n = f->index < g->n_nodes ? (order ? order : g->nodes)[f->index] : NULL;
    if (!n || strcmp(n->op_type, f->op_type) || strcmp(n->name, f->node_name) || n->n_inputs < 2 || !n->inputs[1] ||
        !n->inputs[1]->value) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "refit of node '%s' (%s) at index %u: no such node in this model",
                    f->node_name, f->op_type, f->index);
      ok = FALSE;
      break;
    }
    const MscTensor *w = n->inputs[1]->value;
    if (w->rank != f->weight->rank || memcmp(w->dims, f->weight->dims, sizeof(int64_t) * (size_t)w->rank)) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "refit of node '%s': weight shape differs from the sliced model",
                    f->node_name);
      ok = FALSE;
      break;
    }
    MscTensor *nw = msc_tensor_copy(f->weight, error);
    ok = nw && replace_const(&c, n, 1, nw, error);
    if (!ok || !f->bias) continue;
    MscTensor *nb = msc_tensor_copy(f->bias, error);
    if (!nb) {
      ok = FALSE;
      break;
    }
    if (n->n_inputs > 2 && n->inputs[2]) {
      const MscTensor *b = n->inputs[2]->value;
      if (!b || msc_tensor_numel(b) != msc_tensor_numel(nb)) {
        msc_tensor_free(nb);
        msc_set_error(error, MSC_ERR_INVALID_ARG, "refit of node '%s': bias shape differs", f->node_name);
        ok = FALSE;
        break;
      }
      nb->rank = b->rank;
      memcpy(nb->dims, b->dims, sizeof nb->dims);
      ok = replace_const(&c, n, 2, nb, error);
    } else {
      g_autofree char *name = NULL;
      for (guint i = 0; !name || msc_graph_find_value(g, name); i++) {
        g_free(name);
        name = g_strdup_printf("%s_refit_bias%u", n->name[0] ? n->name : "node", i);
      }
      msc_tensor_set_name(nb, name);
      MscValue *bv = msc_graph_add_initializer(g, name, nb);
      MscValue *ins[3] = {n->inputs[0], n->inputs[1], bv};
      g_autofree MscValue **outs = g_memdup2(n->outputs, sizeof(MscValue *) * n->n_outputs);
      msc_node_set_io(n, ins, 3, outs, n->n_outputs); /* set_io frees the old arrays first */
    }
  }
  g_free(c.uses);
  return ok;
}
