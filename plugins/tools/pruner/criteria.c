/* criteria.c: channel importance (L1, L2, FPGM, activation) and the
 * targets (per-layer density, global density, FLOPs target) that turn
 * scores into kept channel sets.
 *
 * A group's score per channel is the mean over its members of each
 * member's score normalized by its own mean, so layers of different scale
 * weigh the same:
 *  - l1 / l2: norm of the source filter (Conv output channel, Gemm/MatMul
 *    output column);
 *  - fpgm: sum of the filter's distances to the other filters of the same
 *    layer (He et al. 2019: filters near the geometric median are the most
 *    replaceable, so they get the lowest score);
 *  - activation: for every sink, mean |input| of the channel over the
 *    calibration samples times the norm of the sink's weights reading it,
 *    i.e. the channel's average contribution to the next layer's output. */
#include <math.h>
#include <string.h>

#include "error.h"
#include "pruner.h"
#include "tensor.h"

static int64_t attr_i(const MscNode *n, const char *name, int64_t def) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (!strcmp(n->attrs[i].name, name) && n->attrs[i].type == MSC_ATTR_INT) return n->attrs[i].i;
  return def;
}

/* Weight layout of a source/sink: element (out o, in f) at base + o*so + f*sf; fan_in entries per out. */
typedef struct {
  const float *w;
  int64_t n_out, n_in; /* for Conv: n_in = C*prod(kernel) ... in "feature" units below */
  int64_t so, sf;      /* strides in floats */
  int64_t ksz;         /* Conv: prod(kernel) (per input channel), else 1 */
} WView;

static gboolean weight_view(const MscNode *n, WView *v, GError **error) {
  const MscValue *wv = n->inputs[1];
  const MscTensor *t = wv ? wv->value : NULL;
  if (!t || t->dtype != MSC_DTYPE_FLOAT32) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "node '%s' (%s): weight is not a float32 constant: UNSUPPORTED",
                  n->name, n->op_type);
    return FALSE;
  }
  memset(v, 0, sizeof *v);
  v->w = t->data;
  if (!strcmp(n->op_type, "Conv")) {
    v->n_out = t->dims[0];
    v->ksz = 1;
    for (int i = 2; i < t->rank; i++) v->ksz *= t->dims[i];
    v->n_in = t->dims[1];
    v->so = t->dims[1] * v->ksz;
    v->sf = v->ksz;
  } else {
    gboolean tb = !strcmp(n->op_type, "Gemm") && attr_i(n, "transB", 0);
    v->ksz = 1;
    v->n_out = tb ? t->dims[0] : t->dims[1];
    v->n_in = tb ? t->dims[1] : t->dims[0];
    v->so = tb ? t->dims[1] : 1;
    v->sf = tb ? 1 : t->dims[1];
  }
  return TRUE;
}

/* Copies output row @o (all inputs, all kernel taps) to @buf (n_in*ksz entries). */
static void out_row(const WView *v, int64_t o, double *buf) {
  for (int64_t f = 0; f < v->n_in; f++)
    for (int64_t k = 0; k < v->ksz; k++) buf[f * v->ksz + k] = v->w[o * v->so + f * v->sf + k];
}

static void normalize_add(double *acc, double *s, int64_t len) {
  double mean = 0;
  for (int64_t i = 0; i < len; i++) mean += s[i];
  mean /= (double)len;
  for (int64_t i = 0; i < len; i++) acc[i] += mean > 0 ? s[i] / mean : 0;
}

static gboolean score_source(const PrunerGroup *g, const PrunerNodeRef *r, PrunerCriterion crit, double *acc,
                             GError **error) {
  WView v;
  if (!weight_view(r->node, &v, error)) return FALSE;
  if (r->off + g->len > v.n_out) {
    msc_set_error(error, MSC_ERR_INTERNAL, "node '%s': channel range past the weight", r->node->name);
    return FALSE;
  }
  int64_t fan = v.n_in * v.ksz;
  g_autofree double *s = g_new0(double, g->len);
  g_autofree double *rows = g_new(double, g->len * fan);
  for (int64_t i = 0; i < g->len; i++) out_row(&v, r->off + i, rows + i * fan);
  for (int64_t i = 0; i < g->len; i++) {
    const double *a = rows + i * fan;
    double x = 0;
    if (crit == PRUNER_FPGM) {
      for (int64_t j = 0; j < g->len; j++) {
        const double *b = rows + j * fan;
        double d = 0;
        for (int64_t f = 0; f < fan; f++) d += (a[f] - b[f]) * (a[f] - b[f]);
        x += sqrt(d);
      }
    } else if (crit == PRUNER_L2) {
      for (int64_t f = 0; f < fan; f++) x += a[f] * a[f];
      x = sqrt(x);
    } else {
      for (int64_t f = 0; f < fan; f++) x += fabs(a[f]);
    }
    s[i] = x;
  }
  normalize_add(acc, s, g->len);
  return TRUE;
}

/* Activation criterion for one sink; FALSE (no error) when its input has no statistics. */
static gboolean score_sink(const PrunerGroup *g, const PrunerNodeRef *r, GHashTable *stats, double *acc,
                           gboolean *have, GError **error) {
  const MscValue *x = r->node->inputs[0];
  const PrunerActStats *st = stats ? g_hash_table_lookup(stats, x->name) : NULL;
  *have = FALSE;
  if (!st || st->count <= 0 || x->rank < 2) return TRUE;
  int feat_axis = !strcmp(r->node->op_type, "MatMul") ? x->rank - 1 : 1;
  if (feat_axis != 1 || st->channels != x->dims[1]) return TRUE;
  WView v;
  if (!weight_view(r->node, &v, error)) return FALSE;
  g_autofree double *s = g_new0(double, g->len);
  for (int64_t i = 0; i < g->len; i++) {
    double x_sum = 0;
    for (int64_t b = 0; b < r->block; b++) {
      int64_t f = r->off + i * r->block + b;
      if (f >= v.n_in || f >= st->channels) continue;
      double col = 0;
      for (int64_t o = 0; o < v.n_out; o++)
        for (int64_t k = 0; k < v.ksz; k++) {
          double w = v.w[o * v.so + f * v.sf + k];
          col += w * w;
        }
      x_sum += st->sum_abs[f] / st->count * sqrt(col);
    }
    s[i] = x_sum;
  }
  normalize_add(acc, s, g->len);
  *have = TRUE;
  return TRUE;
}

gboolean pruner_score_groups(GPtrArray *groups, const PrunerOptions *o, GHashTable *stats, GString *notes,
                             GError **error) {
  for (guint gi = 0; gi < groups->len; gi++) {
    PrunerGroup *g = g_ptr_array_index(groups, gi);
    if (g->blocked) continue;
    g_free(g->score);
    g->score = g_new0(double, g->len);
    guint n = 0;
    if (o->criterion == PRUNER_ACTIVATION) {
      for (guint i = 0; i < g->sinks->len; i++) {
        gboolean have = FALSE;
        if (!score_sink(g, &g_array_index(g->sinks, PrunerNodeRef, i), stats, g->score, &have, error)) return FALSE;
        n += have;
      }
      if (n == 0 && notes)
        g_string_append_printf(notes, "group %u: no activation statistics for its consumers, scored by l1; ", g->id);
    }
    if (n == 0) {
      PrunerCriterion c = o->criterion == PRUNER_ACTIVATION ? PRUNER_L1 : o->criterion;
      for (guint i = 0; i < g->sources->len; i++) {
        if (!score_source(g, &g_array_index(g->sources, PrunerNodeRef, i), c, g->score, error)) return FALSE;
        n++;
      }
    }
    for (int64_t i = 0; i < g->len && n; i++) g->score[i] /= n;
  }
  return TRUE;
}

int64_t pruner_keep_count(int64_t len, double density, const PrunerOptions *o) {
  int64_t r = o->round_to > 0 ? o->round_to : 1;
  double want = density * (double)len;
  int64_t k = r * (int64_t)floor(want / (double)r + 0.5);
  if (k < r) k = r;
  /* the whole group is a valid count too: a small group (12 channels at
   * density 0.95) is not cut to 8 when keeping all 12 is nearer */
  if ((double)len - want < fabs(want - (double)k)) k = len;
  int64_t floor_ = MIN(len, (int64_t)MAX(o->min_channels, 1));
  if (k < floor_) k = floor_;
  if (k > len) k = len;
  return k;
}

static double group_density(const PrunerGroup *g, const PrunerOptions *o, double global) {
  for (guint l = 0; l < o->n_layer; l++)
    for (guint i = 0; i < g->sources->len; i++)
      if (g_pattern_match_simple(o->layer[l].pattern, g_array_index(g->sources, PrunerNodeRef, i).node->name))
        return o->layer[l].density;
  return global;
}

typedef struct {
  int64_t idx;
  double s;
} Ranked;

static gint by_score_desc(gconstpointer a, gconstpointer b) {
  const Ranked *x = a, *y = b;
  if (x->s != y->s) return x->s > y->s ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void choose(PrunerGroup *g) {
  g_free(g->keep);
  g->keep = g_new0(gboolean, g->len);
  g_autofree Ranked *r = g_new(Ranked, g->len);
  for (int64_t i = 0; i < g->len; i++) {
    r[i].idx = i;
    r[i].s = g->score ? g->score[i] : 0;
  }
  qsort(r, (size_t)g->len, sizeof *r, (int (*)(const void *, const void *))by_score_desc);
  for (int64_t i = 0; i < g->keep_n; i++) g->keep[r[i].idx] = TRUE;
}

static void set_density(GPtrArray *groups, const PrunerOptions *o, double d) {
  for (guint gi = 0; gi < groups->len; gi++) {
    PrunerGroup *g = g_ptr_array_index(groups, gi);
    g->density = g->blocked ? 1.0 : group_density(g, o, d);
    g->keep_n = g->blocked ? g->len : pruner_keep_count(g->len, g->density, o);
  }
}

gboolean pruner_select(GPtrArray *groups, const MscGraph *graph, const PrunerOptions *o, double *chosen_density,
                       GError **error) {
  double d = o->density;
  if (o->flops_target > 0) {
    double before = pruner_flops_estimate(graph, groups, FALSE);
    gboolean met = FALSE;
    for (int step = 100; step >= 1; step--) {
      d = step / 100.0;
      set_density(groups, o, d);
      double after = pruner_flops_estimate(graph, groups, TRUE);
      if (before > 0 && 1.0 - after / before >= o->flops_target - 1e-12) {
        met = TRUE;
        break;
      }
    }
    if (!met) {
      set_density(groups, o, d);
      double after = pruner_flops_estimate(graph, groups, TRUE);
      msc_set_error(error, MSC_ERR_INVALID_ARG,
                    "option 'flops_target': %.3f not reachable (at most %.3f of the FLOPs can be removed with "
                    "round_to=%d min_channels=%d and the groups found)",
                    o->flops_target, before > 0 ? 1.0 - after / before : 0.0, o->round_to, o->min_channels);
      return FALSE;
    }
  } else {
    set_density(groups, o, d);
  }
  if (chosen_density) *chosen_density = d;
  for (guint gi = 0; gi < groups->len; gi++) {
    PrunerGroup *g = g_ptr_array_index(groups, gi);
    choose(g);
  }
  return TRUE;
}

static double numel_of(const MscValue *v) {
  if (!v || v->rank < 0) return -1;
  double n = 1;
  for (int k = 0; k < v->rank; k++) n *= v->dims[k] >= 0 ? (double)v->dims[k] : 1.0;
  return n;
}

double pruner_node_flops(const MscNode *n) {
  const char *op = n->op_type;
  if ((n->domain && *n->domain) || n->n_outputs < 1 || n->n_inputs < 2 || !n->inputs[0] || !n->inputs[1]) return 0;
  const MscValue *a = n->inputs[0], *w = n->inputs[1];
  double out = numel_of(n->outputs[0]);
  if (!strcmp(op, "Conv")) {
    if (w->rank < 3 || out < 0) return 0;
    double per = 1;
    for (int k = 1; k < w->rank; k++) per *= (double)w->dims[k];
    return 2 * out * per;
  }
  if (!strcmp(op, "ConvTranspose")) {
    double in = numel_of(a);
    if (w->rank < 3 || in < 0) return 0;
    double per = 1;
    for (int k = 1; k < w->rank; k++) per *= (double)w->dims[k];
    return 2 * in * per;
  }
  if (!strcmp(op, "Gemm") || !strcmp(op, "MatMul")) {
    if (a->rank < 1 || out < 0) return 0;
    int64_t kd = a->dims[a->rank - 1];
    if (!strcmp(op, "Gemm") && a->rank == 2 && attr_i(n, "transA", 0)) kd = a->dims[0];
    return kd > 0 ? 2 * out * (double)kd : 0;
  }
  return 0;
}

double pruner_flops_estimate(const MscGraph *g, GPtrArray *groups, gboolean after) {
  GHashTable *removed = g_hash_table_new(g_direct_hash, g_direct_equal); /* value -> removed count */
  for (guint gi = 0; after && gi < groups->len; gi++) {
    PrunerGroup *gr = g_ptr_array_index(groups, gi);
    if (gr->blocked || gr->keep_n >= gr->len) continue;
    for (guint i = 0; i < gr->members->len; i++) {
      PrunerMember *m = &g_array_index(gr->members, PrunerMember, i);
      gint64 r = GPOINTER_TO_SIZE(g_hash_table_lookup(removed, m->value));
      r += (gr->len - gr->keep_n) * m->block;
      g_hash_table_insert(removed, m->value, GSIZE_TO_POINTER((gsize)r));
    }
  }
  double total = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    double f = pruner_node_flops(n);
    if (f <= 0) continue;
    if (after) {
      const MscValue *x = n->inputs[0], *y = n->outputs[0];
      int xa = !strcmp(n->op_type, "Conv") ? 1 : x->rank - 1, ya = !strcmp(n->op_type, "Conv") ? 1 : y->rank - 1;
      double xd = (double)pruner_value_dim(x, xa), yd = (double)pruner_value_dim(y, ya);
      double xr = (double)GPOINTER_TO_SIZE(g_hash_table_lookup(removed, x));
      double yr = (double)GPOINTER_TO_SIZE(g_hash_table_lookup(removed, y));
      gboolean grouped = !strcmp(n->op_type, "Conv") && attr_i(n, "group", 1) > 1;
      if (yd > 0) f *= (yd - yr) / yd;
      if (xd > 0 && !grouped) f *= (xd - xr) / xd;
    }
    total += f;
  }
  g_hash_table_destroy(removed);
  return total;
}
