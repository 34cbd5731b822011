/* quantizer.c: the `quantizer` tool plugin (msc.tool.quantizer):
 * post-training static (and dynamic MatMul/Gemm) quantization to a
 * standard ONNX QDQ or QOperator model. Life cycle:
 *   setup(options: options.c) -> on_node per node per calibration sample
 *   (bounded statistics: calib.c) -> plan(graph) (selection, scales,
 *   outputs kept float before discrete ops, optional accuracy report:
 *   report.c, accuracy-aware choice of float layers: search.c) ->
 *   export_plan / load_plan (JSON of every scale and zero point) ->
 *   apply(graph) (qdq.c; the host re-verifies).
 * One state is used from one thread at a time (the host's contract). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "quant.h"
#include "tensor-io.h"
#include "tensor.h"

static const MscHostApi *host;

#define PROGRESS_EVERY 8


typedef struct {
  MscQOptions o;
  GHashTable *stats; /* tensor name -> MscQHist* */
  GHashTable *method_of; /* tensor name -> GINT method + 1: the search's per-tensor range method */
  gint last_index;
  guint64 sample; /* current sample number (1-based once running) */
  GHashTable *seen_in_sample; /* tensor name -> sample number last counted */
  GPtrArray *captured;        /* GHashTable* name -> MscTensor*, at most capture_max() */
  MscQPlan *plan;
  JsonObject *weights_info; /* for the plan JSON */
  int64_t model_opset;
} QState;

/* ---- plan struct ------------------------------------------------------------------------- */

MscQPlan *msc_qplan_new(void) {
  MscQPlan *p = g_new0(MscQPlan, 1);
  p->act = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  p->nodes = g_ptr_array_new_with_free_func(g_free);
  p->dyn_nodes = g_ptr_array_new_with_free_func(g_free);
  p->fused = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  p->bn_folded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  p->reverted = g_ptr_array_new_with_free_func(g_free);
  p->skipped = g_ptr_array_new_with_free_func(g_free);
  p->float_out = g_ptr_array_new_with_free_func(g_free);
  return p;
}

void msc_qplan_free(MscQPlan *p) {
  if (!p) return;
  g_hash_table_unref(p->act);
  g_ptr_array_unref(p->nodes);
  g_ptr_array_unref(p->dyn_nodes);
  g_hash_table_unref(p->fused);
  g_hash_table_unref(p->bn_folded);
  g_ptr_array_unref(p->reverted);
  g_ptr_array_unref(p->skipped);
  g_ptr_array_unref(p->float_out);
  g_free(p->opset_note);
  g_free(p);
}

void msc_qopt_act_grid(const MscQOptions *o, int *qmin, int *qmax, gboolean *symmetric) {
  *symmetric = o->symmetric_activations;
  if (o->act_type == MSC_DTYPE_INT8) {
    *qmin = o->symmetric_activations ? -127 : -128;
    *qmax = 127;
  } else {
    *qmin = 0;
    *qmax = 255;
  }
}

/* ---- options ----------------------------------------------------------------------------- */


/* ---- setup / observe ------------------------------------------------------------------------ */

static void state_free(QState *st) {
  if (!st) return;
  msc_qopt_clear(&st->o);
  g_hash_table_unref(st->stats);
  g_hash_table_unref(st->method_of);
  g_hash_table_unref(st->seen_in_sample);
  g_ptr_array_unref(st->captured);
  msc_qplan_free(st->plan);
  if (st->weights_info) json_object_unref(st->weights_info);
  g_free(st);
}

static void captured_free(gpointer h) {
  if (h) g_hash_table_unref(h); /* NULL: the end-of-capture sentinel */
}

static MscStatus q_setup(const MscOptions *opts, void **state, MscMessage *msg) {
  QState *st = g_new0(QState, 1);
  st->stats = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  st->method_of = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  st->seen_in_sample = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  st->captured = g_ptr_array_new_with_free_func(captured_free);
  st->last_index = G_MAXINT;
  MscStatus s = msc_qopt_parse(host, opts, &st->o, msg);
  if (s != MSC_OK) {
    state_free(st);
    return s;
  }
  *state = st;
  return MSC_OK;
}

static gboolean op_selected(const MscQOptions *o, const char *op_type) {
  for (char **t = o->op_types; *t; t++)
    if (!strcmp(*t, op_type)) return TRUE;
  return FALSE;
}

static void track(QState *st, const MscValue *v, const MscTensor *t) {
  if (!v || !t || t->dtype != MSC_DTYPE_FLOAT32 || !t->data || (v->flags & MSC_VALUE_INITIALIZER)) return;
  gpointer last = g_hash_table_lookup(st->seen_in_sample, v->name);
  if (last && (guint64)GPOINTER_TO_SIZE(last) == st->sample) return; /* once per sample */
  g_hash_table_insert(st->seen_in_sample, g_strdup(v->name), GSIZE_TO_POINTER((gsize)st->sample));
  MscQHist *h = g_hash_table_lookup(st->stats, v->name);
  if (!h) {
    h = g_new(MscQHist, 1);
    msc_qhist_init(h);
    g_hash_table_insert(st->stats, g_strdup(v->name), h);
  }
  msc_qhist_add(h, t->data, (size_t)msc_tensor_numel(t));
}

static MscStatus q_observe(void *state, const MscNode *node, const MscTensor *const *outputs, uint32_t n_outputs,
                           MscMessage *msg) {
  return MSC_OK; /* everything happens in on_node, which also sees the inputs */
}

static MscStatus q_begin_stage(void *state, const char *stage, MscMessage *msg) {
  QState *st = state;
  st->last_index = G_MAXINT;
  return MSC_OK;
}

/* Calibration inputs kept for evaluation: all the search uses, the
 * report's first ones, or none. */
static guint capture_max(const QState *st) {
  if (!isnan(st->o.tolerance)) return st->o.greedy ? MSC_QUANT_REPORT_SAMPLES : MSC_QUANT_EVAL_SAMPLES;
  return st->o.report ? MSC_QUANT_REPORT_SAMPLES : 0;
}

static MscStatus q_on_node(void *state, const MscNode *node, const MscTensor *const *inputs, uint32_t n_inputs,
                           const MscTensor *const *outputs, uint32_t n_outputs, double ms, MscMessage *msg) {
  QState *st = state;
  /* Nodes run in topological order: a lower index starts a new sample. */
  if ((gint)node->index <= st->last_index) {
    st->sample++;
    if (st->sample > 1 && (st->sample - 1) % PROGRESS_EVERY == 0)
      host->log(MSC_LOG_INFO, "quantizer", "calibration: %llu samples observed, %u tensors tracked",
                (unsigned long long)(st->sample - 1), g_hash_table_size(st->stats));
    if (st->captured->len < capture_max(st))
      g_ptr_array_add(st->captured,
                      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)msc_tensor_free));
    else if (st->captured->len == capture_max(st))
      g_ptr_array_add(st->captured, NULL); /* sentinel: stop capturing */
  }
  st->last_index = (gint)node->index;
  GHashTable *cap = st->captured->len && st->captured->len <= capture_max(st)
                        ? g_ptr_array_index(st->captured, st->captured->len - 1) : NULL;
  for (uint32_t i = 0; i < n_inputs && i < node->n_inputs; i++) {
    const MscValue *v = node->inputs[i];
    if (cap && v && (v->flags & MSC_VALUE_GRAPH_INPUT) && inputs[i] && !g_hash_table_contains(cap, v->name))
      g_hash_table_insert(cap, g_strdup(v->name), msc_tensor_copy(inputs[i], NULL));
  }
  gboolean sel = op_selected(&st->o, node->op_type);
  gboolean act = !strcmp(node->op_type, "Relu") || !strcmp(node->op_type, "Clip") ||
                 !strcmp(node->op_type, "BatchNormalization");
  if (!sel && !act) return MSC_OK;
  if (sel)
    for (uint32_t i = 0; i < n_inputs && i < node->n_inputs; i++) track(st, node->inputs[i], inputs[i]);
  for (uint32_t j = 0; j < n_outputs && j < node->n_outputs; j++) track(st, node->outputs[j], outputs[j]);
  return MSC_OK;
}

/* ---- planning -------------------------------------------------------------------------------- */

static gboolean excluded(const MscQOptions *o, const char *name) {
  for (char **p = o->exclude; *p; p++)
    if (g_pattern_match_simple(*p, name)) return TRUE;
  return FALSE;
}

typedef struct {
  GHashTable *consumers; /* value name -> GPtrArray of const MscNode* */
} Topo;

static void topo_init(Topo *t, const MscGraph *g) {
  t->consumers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    for (uint32_t j = 0; j < n->n_inputs; j++) {
      if (!n->inputs[j]) continue;
      GPtrArray *a = g_hash_table_lookup(t->consumers, n->inputs[j]->name);
      if (!a) g_hash_table_insert(t->consumers, n->inputs[j]->name, a = g_ptr_array_new());
      if (!a->len || g_ptr_array_index(a, a->len - 1) != n) g_ptr_array_add(a, (gpointer)n);
    }
  }
}

static GPtrArray *consumers(Topo *t, const char *name) { return g_hash_table_lookup(t->consumers, name); }

/* Candidates reached from the graph inputs (forward) or reaching an
 * output (backward) without crossing another candidate. */
static void edge_layers(const MscGraph *g, Topo *t, GHashTable *cand, gboolean forward, GHashTable *out) {
  GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
  GQueue q = G_QUEUE_INIT;
  if (forward) {
    for (uint32_t i = 0; i < g->n_inputs; i++) g_queue_push_tail(&q, g->inputs[i]);
  } else {
    for (uint32_t i = 0; i < g->n_outputs; i++) g_queue_push_tail(&q, g->outputs[i]);
  }
  while (!g_queue_is_empty(&q)) {
    MscValue *v = g_queue_pop_head(&q);
    if (g_hash_table_contains(seen, v)) continue;
    g_hash_table_add(seen, v);
    if (forward) {
      GPtrArray *cs = consumers(t, v->name);
      for (guint i = 0; cs && i < cs->len; i++) {
        const MscNode *n = g_ptr_array_index(cs, i);
        if (g_hash_table_contains(cand, n->name)) {
          g_hash_table_add(out, n->name);
          continue;
        }
        for (uint32_t j = 0; j < n->n_outputs; j++)
          if (n->outputs[j]) g_queue_push_tail(&q, n->outputs[j]);
      }
    } else {
      const MscNode *n = v->producer;
      if (!n) continue;
      if (g_hash_table_contains(cand, n->name)) {
        g_hash_table_add(out, n->name);
        continue;
      }
      for (uint32_t j = 0; j < n->n_inputs; j++)
        if (n->inputs[j] && !(n->inputs[j]->flags & MSC_VALUE_INITIALIZER)) g_queue_push_tail(&q, n->inputs[j]);
    }
  }
  g_hash_table_unref(seen);
}

/* Activation inputs of a quantized node: the float, non-constant ones
 * (Conv: the data input, and the weight when it is not constant). */
static gboolean is_act_input(const MscNode *n, uint32_t i) {
  const MscValue *v = n->inputs[i];
  if (!v || (v->flags & MSC_VALUE_INITIALIZER) || v->value) return FALSE;
  if (v->dtype != MSC_DTYPE_FLOAT32 && v->dtype != MSC_DTYPE_UNDEFINED) return FALSE;
  if (!strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "Gemm")) return i <= 1;
  if (!strcmp(n->op_type, "MatMul")) return i <= 1;
  return TRUE;
}

static MscQParam *param_for(QState *st, const char *name) {
  const MscQParam *ov = g_hash_table_lookup(st->o.overrides, name);
  MscQParam *p = g_new0(MscQParam, 1);
  if (ov) {
    *p = *ov;
    return p;
  }
  const MscQHist *h = g_hash_table_lookup(st->stats, name);
  int qmin, qmax;
  gboolean sym;
  msc_qopt_act_grid(&st->o, &qmin, &qmax, &sym);
  int mo = GPOINTER_TO_INT(g_hash_table_lookup(st->method_of, name));
  MscQCalibMethod method = mo ? (MscQCalibMethod)(mo - 1) : st->o.method;
  if (!h || !msc_qhist_range(h, method, st->o.percentile, st->o.moving_average, qmin, qmax, sym, &p->lo, &p->hi)) {
    g_free(p);
    return NULL;
  }
  msc_qparams_compute(p->lo, p->hi, qmin, qmax, sym, &p->scale, &p->zp);
  return p;
}

static gboolean clip_bounds(const MscNode *n, double *lo, double *hi) {
  *lo = -INFINITY;
  *hi = INFINITY;
  if (!strcmp(n->op_type, "Relu")) {
    *lo = 0;
    return TRUE;
  }
  for (uint32_t i = 0; i < n->n_attrs; i++) {
    if (!strcmp(n->attrs[i].name, "min")) *lo = n->attrs[i].f;
    if (!strcmp(n->attrs[i].name, "max")) *hi = n->attrs[i].f;
  }
  for (uint32_t i = 1; i < 3 && i < n->n_inputs; i++) {
    const MscValue *v = n->inputs[i];
    if (!v) continue;
    if (!v->value || msc_tensor_numel(v->value) != 1) return FALSE;
    double x = msc_tensor_get_f64(v->value, 0);
    if (i == 1) *lo = x;
    else *hi = x;
  }
  return TRUE;
}

static gboolean is_discrete(const MscNode *n) {
  static const char *const ops[] = {"Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "ArgMax",
                                    "ArgMin", "TopK", "NonMaxSuppression"};
  if (n->domain && *n->domain) return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS(ops); i++)
    if (!strcmp(n->op_type, ops[i])) return TRUE;
  return FALSE;
}

/* TRUE when @v reaches a discrete op through nodes outside @qset only. */
static gboolean reaches_discrete(Topo *t, const MscValue *v, GHashTable *qset) {
  GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
  GQueue q = G_QUEUE_INIT;
  g_queue_push_tail(&q, (gpointer)v);
  gboolean found = FALSE;
  while (!found && !g_queue_is_empty(&q)) {
    const MscValue *x = g_queue_pop_head(&q);
    if (g_hash_table_contains(seen, x)) continue;
    g_hash_table_add(seen, (gpointer)x);
    GPtrArray *cs = consumers(t, x->name);
    for (guint i = 0; cs && i < cs->len && !found; i++) {
      const MscNode *n = g_ptr_array_index(cs, i);
      if (g_hash_table_contains(qset, n->name)) continue;
      if (is_discrete(n)) found = TRUE;
      for (uint32_t j = 0; j < n->n_outputs; j++)
        if (n->outputs[j]) g_queue_push_tail(&q, n->outputs[j]);
    }
  }
  g_queue_clear(&q);
  g_hash_table_unref(seen);
  return found;
}

/* TRUE when a node of @qset reads @v. */
static gboolean read_by(Topo *t, const MscValue *v, GHashTable *qset) {
  GPtrArray *cs = consumers(t, v->name);
  for (guint i = 0; cs && i < cs->len; i++)
    if (g_hash_table_contains(qset, ((const MscNode *)g_ptr_array_index(cs, i))->name)) return TRUE;
  return FALSE;
}

/* Fills plan->act and plan->fused for plan->nodes (and dynamic nodes). */
static void plan_tensors(QState *st, const MscGraph *g, Topo *t, MscQPlan *p) {
  g_hash_table_remove_all(p->act);
  g_hash_table_remove_all(p->fused);
  g_hash_table_remove_all(p->bn_folded);
  g_ptr_array_set_size(p->float_out, 0);
  GHashTable *qset = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint k = 0; k < p->nodes->len; k++) g_hash_table_add(qset, g_ptr_array_index(p->nodes, k));
  int qmin, qmax;
  gboolean sym;
  msc_qopt_act_grid(&st->o, &qmin, &qmax, &sym);
  for (guint k = 0; k < p->nodes->len; k++) {
    const char *name = g_ptr_array_index(p->nodes, k);
    const MscNode *n = NULL;
    for (uint32_t i = 0; i < g->n_nodes && !n; i++)
      if (!strcmp(g->nodes[i]->name, name)) n = g->nodes[i];
    if (!n) continue;
    for (uint32_t i = 0; i < n->n_inputs; i++) {
      if (!is_act_input(n, i) || g_hash_table_contains(p->act, n->inputs[i]->name)) continue;
      MscQParam *qp = param_for(st, n->inputs[i]->name);
      if (qp) g_hash_table_insert(p->act, g_strdup(n->inputs[i]->name), qp);
    }
    for (uint32_t j = 0; j < n->n_outputs; j++) {
      const MscValue *y = n->outputs[j];
      if (!y || (y->flags & MSC_VALUE_GRAPH_OUTPUT) || (y->dtype != MSC_DTYPE_FLOAT32 && y->dtype != MSC_DTYPE_UNDEFINED))
        continue;
      GPtrArray *cs = consumers(t, y->name);
      const MscNode *a = cs && cs->len == 1 && j == 0 ? g_ptr_array_index(cs, 0) : NULL;
      /* Conv -> BatchNormalization: folded into the weights (exact up to rounding) */
      if (a && !strcmp(n->op_type, "Conv") && !strcmp(a->op_type, "BatchNormalization") && a->inputs[0] == y &&
          a->outputs[0] && !(a->outputs[0]->flags & MSC_VALUE_GRAPH_OUTPUT) &&
          g_hash_table_contains(st->stats, a->outputs[0]->name)) {
        MscTensor *wf = NULL, *bf = NULL;
        const MscTensor *w = n->inputs[1] ? n->inputs[1]->value : NULL;
        const MscTensor *b = n->n_inputs > 2 && n->inputs[2] ? n->inputs[2]->value : NULL;
        if (w && msc_quant_fold_bn(g, a, w, b, &wf, &bf)) {
          msc_tensor_free(wf);
          msc_tensor_free(bf);
          g_hash_table_insert(p->bn_folded, g_strdup(n->name), g_strdup(a->name));
          y = a->outputs[0];
          cs = consumers(t, y->name);
          a = cs && cs->len == 1 ? g_ptr_array_index(cs, 0) : NULL;
        }
      }
      if (st->o.guard_discrete && !read_by(t, y, qset) && reaches_discrete(t, y, qset)) {
        g_ptr_array_add(p->float_out, g_strdup(n->name));
        continue;
      }
      double clo, chi;
      if (a && (!strcmp(a->op_type, "Relu") || !strcmp(a->op_type, "Clip")) && a->inputs[0] == y &&
          a->outputs[0] && !(a->outputs[0]->flags & MSC_VALUE_GRAPH_OUTPUT) && clip_bounds(a, &clo, &chi) &&
          !g_hash_table_contains(p->fused, n->name)) {
        MscQParam *up = param_for(st, a->outputs[0]->name);
        if (up) {
          double rlo = (qmin - up->zp) * (double)up->scale, rhi = (qmax - up->zp) * (double)up->scale;
          double tol = 1e-5 * fmax(1.0, fabs(chi) < INFINITY ? fabs(chi) : 1.0);
          if (rlo >= clo - tol && rhi <= chi + tol) {
            g_hash_table_insert(p->fused, g_strdup(n->name), g_strdup(a->name));
            g_hash_table_replace(p->act, g_strdup(a->outputs[0]->name), up);
            continue;
          }
          g_free(up);
        }
      }
      if (g_hash_table_contains(p->act, y->name)) continue;
      MscQParam *qp = param_for(st, y->name);
      if (qp) g_hash_table_insert(p->act, g_strdup(y->name), qp);
    }
  }
  g_hash_table_unref(qset);
}

/* The tensor a quantized node's result is compared on (after a folded activation). */
static const char *layer_tensor(const MscGraph *g, const MscQPlan *p, const MscNode *n) {
  const char *act = g_hash_table_lookup(p->fused, n->name);
  if (!act) act = g_hash_table_lookup(p->bn_folded, n->name);
  if (act)
    for (uint32_t i = 0; i < g->n_nodes; i++)
      if (!strcmp(g->nodes[i]->name, act)) return g->nodes[i]->outputs[0]->name;
  return n->n_outputs && n->outputs[0] ? n->outputs[0]->name : NULL;
}

static const MscNode *find_node(const MscGraph *g, const char *name) {
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (!strcmp(g->nodes[i]->name, name)) return g->nodes[i];
  return NULL;
}

static gboolean plan_select(QState *st, const MscGraph *g, Topo *t, GError **error) {
  MscQPlan *p = st->plan;
  st->model_opset = msc_graph_opset(g, "");
  p->opset = st->model_opset;
  p->per_tensor_weights = st->o.per_tensor;
  if (st->model_opset < MSC_QUANT_TARGET_OPSET) {
    g_autofree char *blocker = msc_quant_opset_blocker(g, MSC_QUANT_TARGET_OPSET);
    if (!blocker) {
      p->opset = MSC_QUANT_TARGET_OPSET;
    } else if (st->model_opset >= 10) {
      p->per_tensor_weights = TRUE;
      p->opset_note = g_strdup_printf("opset %lld kept (raising it to 13 for per-channel DequantizeLinear is blocked by "
                                      "%s): weights quantized per tensor", (long long)st->model_opset, blocker);
    } else {
      msc_set_error(error, MSC_ERR_UNSUPPORTED,
                    "quantizer: model opset %lld has no QuantizeLinear and raising it is blocked by %s",
                    (long long)st->model_opset, blocker);
      return FALSE;
    }
  }
  GHashTable *cand = g_hash_table_new(g_str_hash, g_str_equal);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (n->domain && *n->domain) continue;
    if (!op_selected(&st->o, n->op_type)) continue;
    if (!*n->name) continue; /* plans name nodes; unnamed nodes stay float */
    g_hash_table_add(cand, n->name);
  }
  GHashTable *first = g_hash_table_new(g_str_hash, g_str_equal), *last = g_hash_table_new(g_str_hash, g_str_equal);
  if (st->o.keep_first) edge_layers(g, t, cand, TRUE, first);
  if (st->o.keep_last) edge_layers(g, t, cand, FALSE, last);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (!g_hash_table_contains(cand, n->name)) continue;
    const char *why = NULL;
    if (excluded(&st->o, n->name)) why = "excluded";
    else if (g_hash_table_contains(first, n->name)) why = "keep_first";
    else if (g_hash_table_contains(last, n->name)) why = "keep_last";
    if (!why && st->o.dynamic && (!strcmp(n->op_type, "MatMul") || !strcmp(n->op_type, "Gemm")) && n->n_inputs > 1 &&
        n->inputs[1] && n->inputs[1]->value && n->inputs[0] && p->opset >= 11) {
      g_ptr_array_add(p->dyn_nodes, g_strdup(n->name));
      continue;
    }
    char buf[512];
    for (uint32_t j = 0; !why && j < n->n_inputs; j++) {
      if (!is_act_input(n, j)) continue;
      MscQParam *qp = param_for(st, n->inputs[j]->name);
      if (!qp) {
        g_snprintf(buf, sizeof buf, "no calibration data for input '%s'", n->inputs[j]->name);
        why = buf;
      }
      g_free(qp);
    }
    if (why) g_ptr_array_add(p->skipped, g_strdup_printf("%s: %s", n->name, why));
    else g_ptr_array_add(p->nodes, g_strdup(n->name));
  }
  g_hash_table_unref(cand);
  g_hash_table_unref(first);
  g_hash_table_unref(last);
  plan_tensors(st, g, t, p);
  return TRUE;
}

/* Weight scales for the plan JSON (informative: apply recomputes them). */
static void collect_weights(QState *st, const MscGraph *g) {
  if (st->weights_info) json_object_unref(st->weights_info);
  st->weights_info = json_object_new();
  GPtrArray *all = g_ptr_array_new();
  for (guint k = 0; k < st->plan->nodes->len; k++) g_ptr_array_add(all, g_ptr_array_index(st->plan->nodes, k));
  for (guint k = 0; k < st->plan->dyn_nodes->len; k++) g_ptr_array_add(all, g_ptr_array_index(st->plan->dyn_nodes, k));
  for (guint k = 0; k < all->len; k++) {
    const MscNode *n = find_node(g, g_ptr_array_index(all, k));
    if (!n || n->n_inputs < 2 || !n->inputs[1] || !n->inputs[1]->value) continue;
    const MscTensor *w = n->inputs[1]->value;
    int axis = w ? msc_quant_weight_axis(n, 1, w->rank) : -1;
    int64_t C = 0;
    float *s = axis >= 0 ? msc_quant_weight_scales(w, axis, st->plan->per_tensor_weights,
                                                    st->o.weight_bits == 7 ? 63 : 127, &C) : NULL;
    if (!s) continue;
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "node", n->name);
    if (!st->plan->per_tensor_weights) json_object_set_int_member(o, "axis", axis);
    JsonArray *a = json_array_new();
    for (int64_t c = 0; c < C; c++) json_array_add_double_element(a, s[c]);
    json_object_set_array_member(o, "scales", a);
    json_object_set_int_member(o, "zero_point", 0);
    json_object_set_object_member(st->weights_info, n->inputs[1]->name, o);
    g_free(s);
  }
  g_ptr_array_unref(all);
}

/* ---- evaluation and accuracy-aware mode ---------------------------------------------------- */

static GPtrArray *samples_in_order(QState *st, const MscGraph *g, guint max) {
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  for (guint k = 0; k < st->captured->len && k < max; k++) {
    GHashTable *cap = g_ptr_array_index(st->captured, k);
    if (!cap) break;
    MscTensor **arr = g_new0(MscTensor *, g->n_inputs + 1);
    gboolean ok = TRUE;
    for (uint32_t i = 0; i < g->n_inputs; i++) ok &= (arr[i] = g_hash_table_lookup(cap, g->inputs[i]->name)) != NULL;
    if (ok) g_ptr_array_add(out, arr);
    else g_free(arr);
  }
  return out;
}

typedef struct {
  GPtrArray *layers, *outputs;
  double min_cos;
} Eval;

static void eval_clear(Eval *e) {
  if (e->layers) g_ptr_array_unref(e->layers);
  if (e->outputs) g_ptr_array_unref(e->outputs);
  memset(e, 0, sizeof *e);
}

static gboolean evaluate(QState *st, const MscGraph *g, GPtrArray *samples, GHashTable *tensor_node, Eval *e,
                         GError **error) {
  eval_clear(e);
  MscQOptions o = st->o;
  o.format = MSC_QFORMAT_QDQ; /* metrics on the QDQ form */
  g_autoptr(MscGraph) qg = msc_quant_rewrite(g, &o, st->plan, error);
  if (!qg) return FALSE;
  GPtrArray *tensors = g_ptr_array_new();
  g_hash_table_remove_all(tensor_node);
  for (guint k = 0; k < st->plan->nodes->len; k++) {
    const MscNode *n = find_node(g, g_ptr_array_index(st->plan->nodes, k));
    const char *t = n ? layer_tensor(g, st->plan, n) : NULL;
    if (!t || g_hash_table_contains(tensor_node, t)) continue;
    g_hash_table_insert(tensor_node, (gpointer)t, n->name);
    g_ptr_array_add(tensors, (gpointer)t);
    for (uint32_t i = 0; i < n->n_inputs; i++) /* inputs too: local error = output's minus inputs' */
      if (is_act_input(n, i) && !g_ptr_array_find_with_equal_func(tensors, n->inputs[i]->name, g_str_equal, NULL))
        g_ptr_array_add(tensors, n->inputs[i]->name);
  }
  gboolean ok = msc_quant_evaluate(g, qg, samples, g->n_inputs, tensors, tensor_node, &e->layers, &e->outputs, error);
  g_ptr_array_unref(tensors);
  if (!ok) return FALSE;
  e->min_cos = 1.0;
  for (guint j = 0; j < e->outputs->len; j++) e->min_cos = fmin(e->min_cos, msc_qmetric_cosine(g_ptr_array_index(e->outputs, j)));
  return TRUE;
}

static const MscQMetric *metric_of(const Eval *e, const char *tensor) {
  for (guint i = 0; i < e->layers->len; i++) {
    const MscQMetric *m = g_ptr_array_index(e->layers, i);
    if (!strcmp(m->name, tensor)) return m;
  }
  return NULL;
}

/* The quantized node adding the most error by itself: 1 - cosine of its
 * output minus the worst 1 - cosine of its inputs. */
static const char *most_sensitive(QState *st, const MscGraph *g, const Eval *e, double *score) {
  const char *best = NULL;
  *score = -INFINITY;
  for (guint k = 0; k < st->plan->nodes->len; k++) {
    const MscNode *n = find_node(g, g_ptr_array_index(st->plan->nodes, k));
    const char *t = n ? layer_tensor(g, st->plan, n) : NULL;
    const MscQMetric *m = t ? metric_of(e, t) : NULL;
    if (!m) continue;
    double in_err = 0;
    for (uint32_t i = 0; i < n->n_inputs; i++) {
      const MscQMetric *mi = is_act_input(n, i) ? metric_of(e, n->inputs[i]->name) : NULL;
      if (mi) in_err = fmax(in_err, 1 - msc_qmetric_cosine(mi));
    }
    double s = (1 - msc_qmetric_cosine(m)) - in_err;
    if (s > *score) {
      *score = s;
      best = n->name;
    }
  }
  return best;
}

static JsonArray *metrics_json(GPtrArray *ms, gboolean layers_only) {
  JsonArray *a = json_array_new();
  for (guint i = 0; ms && i < ms->len; i++) {
    const MscQMetric *m = g_ptr_array_index(ms, i);
    if (layers_only && !m->node) continue;
    json_array_add_element(a, msc_qmetric_to_json(m));
  }
  return a;
}

static JsonArray *strv_json(GPtrArray *a) {
  JsonArray *j = json_array_new();
  for (guint i = 0; a && i < a->len; i++) json_array_add_string_element(j, g_ptr_array_index(a, i));
  return j;
}


static gboolean write_json(const char *path, JsonNode *root, GError **error) {
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_root(gen, root);
  gsize len = 0;
  g_autofree char *text = json_generator_to_data(gen, &len);
  g_autofree char *withnl = g_strconcat(text, "\n", NULL);
  return msc_file_write_atomic(path, (const uint8_t *)withnl, len + 1, error);
}


/* ---- sensitivity search --------------------------------------------------------------------- */

typedef struct {
  QState *st;
  const MscGraph *g;
  MscQOutEval *ev;
  Topo t;
  GHashTable *saved; /* tensor -> GINT previous method_of entry (0: none) */
} SearchCtx;

static void set_nodes(MscQPlan *p, GPtrArray *names) {
  g_ptr_array_set_size(p->nodes, 0);
  for (guint i = 0; i < names->len; i++) g_ptr_array_add(p->nodes, g_strdup(g_ptr_array_index(names, i)));
}

static void replan(QState *st, const MscGraph *g) {
  Topo t;
  topo_init(&t, g);
  plan_tensors(st, g, &t, st->plan);
  g_hash_table_unref(t.consumers);
}

static gboolean search_eval(void *user, GPtrArray *set, double *cos, GError **error) {
  SearchCtx *c = user;
  set_nodes(c->st->plan, set);
  replan(c->st, c->g);
  MscQOptions o = c->st->o;
  o.format = MSC_QFORMAT_QDQ;
  g_autoptr(MscGraph) qg = msc_quant_rewrite(c->g, &o, c->st->plan, error);
  return qg && msc_quant_outeval_cosines(c->ev, qg, cos, error);
}

/* The activation tensors a quantized node reads and writes: its float
 * inputs, its output and the outputs of a sole BatchNormalization /
 * Relu / Clip chain after it (where its quantization may be folded). */
static GPtrArray *node_tensors(Topo *t, const MscNode *n) {
  GPtrArray *a = g_ptr_array_new();
  for (uint32_t i = 0; i < n->n_inputs; i++)
    if (is_act_input(n, i)) g_ptr_array_add(a, n->inputs[i]->name);
  const MscValue *y = n->n_outputs ? n->outputs[0] : NULL;
  for (int depth = 0; y && depth < 3; depth++) {
    g_ptr_array_add(a, y->name);
    GPtrArray *cs = consumers(t, y->name);
    const MscNode *c = cs && cs->len == 1 ? g_ptr_array_index(cs, 0) : NULL;
    y = c && (!strcmp(c->op_type, "BatchNormalization") || !strcmp(c->op_type, "Relu") || !strcmp(c->op_type, "Clip"))
            ? c->outputs[0] : NULL;
  }
  return a;
}

/* Alternative k of a node: the k-th of minmax, percentile, mse other than
 * the configured method, for all its tensors. */
static gboolean search_alt(void *user, const char *name, guint k) {
  SearchCtx *c = user;
  const MscNode *n = find_node(c->g, name);
  if (!n) return FALSE;
  g_autoptr(GPtrArray) ts = node_tensors(&c->t, n);
  if (k == MSC_QALT_RESET) {
    for (guint i = 0; i < ts->len; i++) {
      gpointer prev;
      if (!g_hash_table_lookup_extended(c->saved, g_ptr_array_index(ts, i), NULL, &prev)) continue;
      if (GPOINTER_TO_INT(prev)) g_hash_table_insert(c->st->method_of, g_strdup(g_ptr_array_index(ts, i)), prev);
      else g_hash_table_remove(c->st->method_of, g_ptr_array_index(ts, i));
    }
    g_hash_table_remove_all(c->saved);
    return TRUE;
  }
  static const MscQCalibMethod alts[] = {MSC_QCALIB_MINMAX, MSC_QCALIB_PERCENTILE, MSC_QCALIB_MSE};
  MscQCalibMethod m = 0;
  guint seen = 0;
  gboolean found = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS(alts) && !found; i++)
    if (alts[i] != c->st->o.method && seen++ == k) m = alts[i], found = TRUE;
  if (!found) return FALSE;
  if (k == 0) {
    g_hash_table_remove_all(c->saved);
    for (guint i = 0; i < ts->len; i++)
      g_hash_table_insert(c->saved, g_ptr_array_index(ts, i),
                          g_hash_table_lookup(c->st->method_of, g_ptr_array_index(ts, i)));
  }
  for (guint i = 0; i < ts->len; i++)
    g_hash_table_insert(c->st->method_of, g_strdup(g_ptr_array_index(ts, i)), GINT_TO_POINTER((int)m + 1));
  return TRUE;
}

/* Multiply-adds of a Conv / Gemm / MatMul node (0 when shapes are unknown). */
static double node_macs(const MscNode *n) {
  if (!n->n_outputs || !n->outputs[0] || n->outputs[0]->rank < 1 || n->n_inputs < 2 || !n->inputs[1] ||
      n->inputs[1]->rank < 1)
    return 0;
  double out = 1;
  for (int d = 0; d < n->outputs[0]->rank; d++) out *= n->outputs[0]->dims[d] > 0 ? n->outputs[0]->dims[d] : 1;
  const MscValue *w = n->inputs[1];
  double k = 1;
  if (!strcmp(n->op_type, "Conv")) {
    for (int d = 1; d < w->rank; d++) k *= w->dims[d] > 0 ? w->dims[d] : 1;
  } else {
    const MscValue *x = n->inputs[0];
    k = x && x->rank > 0 && x->dims[x->rank - 1] > 0 ? x->dims[x->rank - 1] : 1;
  }
  return out * k;
}

static gboolean sensitivity_search(QState *st, const MscGraph *g, GPtrArray *samples, JsonObject *aa, GError **error) {
  const char *runner = st->o.search_runner;
  GError *e1 = NULL;
  MscQOutEval *ev = msc_quant_outeval_new(g, samples, runner, &e1);
  if (!ev && strcmp(runner, "ref") != 0) {
    host->log(MSC_LOG_WARNING, "quantizer", "accuracy-aware: runner '%s' unavailable (%s): using ref", runner,
              e1->message);
    g_clear_error(&e1);
    runner = "ref";
    ev = msc_quant_outeval_new(g, samples, runner, &e1);
  }
  if (!ev) {
    g_propagate_error(error, e1);
    return FALSE;
  }
  GPtrArray *cands = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < st->plan->nodes->len; i++)
    g_ptr_array_add(cands, g_strdup(g_ptr_array_index(st->plan->nodes, i)));
  SearchCtx c = {st, g, ev, {0}, g_hash_table_new(g_str_hash, g_str_equal)};
  topo_init(&c.t, g);
  guint no = msc_quant_outeval_n_outputs(ev);
  gint64 t0 = g_get_monotonic_time();
  gboolean *mask = g_new0(gboolean, no + 1), ok = TRUE;
  guint n_named = g_strv_length(st->o.tolerance_outputs);
  for (guint j = 0; j < no; j++)
    mask[j] = n_named == 0 || g_strv_contains((const char *const *)st->o.tolerance_outputs, g->outputs[j]->name);
  for (guint i = 0; i < n_named && ok; i++) {
    gboolean found = FALSE;
    for (guint j = 0; j < no; j++) found |= !strcmp(g->outputs[j]->name, st->o.tolerance_outputs[i]);
    if (!found) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "quantizer: option 'tolerance_outputs': '%s' is not a graph output",
                    st->o.tolerance_outputs[i]);
      ok = FALSE;
    }
  }
  MscQSearch s = {0};
  double target = st->o.tolerance + fmin(st->o.tolerance_margin, (1.0 - st->o.tolerance) / 2);
  if (ok) ok = msc_quant_search(cands, no, mask, target, search_eval, st->o.range_alternatives ? search_alt : NULL, &c,
                                &s, error);
  if (ok) {
    GHashTable *rev = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < s.reverted->len; i++) g_hash_table_add(rev, g_ptr_array_index(s.reverted, i));
    GPtrArray *keep = g_ptr_array_new();
    double macs_all = 0, macs_rev = 0;
    for (guint i = 0; i < cands->len; i++) {
      const char *nm = g_ptr_array_index(cands, i);
      const MscNode *n = find_node(g, nm);
      double m = n ? node_macs(n) : 0;
      macs_all += m;
      if (g_hash_table_contains(rev, nm)) macs_rev += m;
      else g_ptr_array_add(keep, (gpointer)nm);
    }
    set_nodes(st->plan, keep);
    for (guint i = 0; i < s.reverted->len; i++)
      g_ptr_array_add(st->plan->reverted, g_strdup(g_ptr_array_index(s.reverted, i)));
    replan(st, g);
    json_object_set_string_member(aa, "search", "sensitivity");
    json_object_set_double_member(aa, "target_on_calibration", target);
    json_object_set_string_member(aa, "runner", runner);
    json_object_set_int_member(aa, "evaluation_samples", samples->len);
    json_object_set_int_member(aa, "evaluations", s.evaluations);
    json_object_set_double_member(aa, "seconds", (g_get_monotonic_time() - t0) / 1e6);
    json_object_set_double_member(aa, "initial_min_output_cosine", s.initial_min_cos);
    json_object_set_double_member(aa, "final_min_output_cosine", s.final_min_cos);
    JsonArray *oc = json_array_new();
    for (guint j = 0; j < no; j++) {
      JsonObject *o = json_object_new();
      json_object_set_string_member(o, "tensor", g->outputs[j]->name);
      json_object_set_double_member(o, "cosine", s.cos[j]);
      json_object_set_boolean_member(o, "in_tolerance", mask[j]);
      json_array_add_object_element(oc, o);
    }
    json_object_set_array_member(aa, "final_outputs", oc);
    JsonArray *sa = json_array_new();
    for (guint i = 0; i < s.order->len; i++) {
      JsonObject *o = json_object_new();
      json_object_set_string_member(o, "node", g_ptr_array_index(s.order, i));
      json_object_set_double_member(o, "sensitivity", g_array_index(s.sensitivity, double, i));
      json_array_add_object_element(sa, o);
    }
    json_object_set_array_member(aa, "sensitivity", sa);
    json_object_set_array_member(aa, "steps", json_array_ref(s.steps));
    json_object_set_array_member(aa, "reverted", strv_json(s.reverted));
    JsonArray *alts = json_array_new();
    for (guint i = 0; i < s.alternatives->len; i++) {
      const char *a = g_ptr_array_index(s.alternatives, i), *colon = strrchr(a, ':');
      g_autofree char *node = g_strndup(a, colon - a);
      const MscNode *n = find_node(g, node);
      g_autoptr(GPtrArray) ts = n ? node_tensors(&c.t, n) : g_ptr_array_new();
      JsonObject *o = json_object_new();
      json_object_set_string_member(o, "node", node);
      int mo = ts->len ? GPOINTER_TO_INT(g_hash_table_lookup(st->method_of, g_ptr_array_index(ts, 0))) : 0;
      json_object_set_string_member(o, "method", mo ? msc_qcalib_method_name((MscQCalibMethod)(mo - 1)) : "?");
      json_array_add_object_element(alts, o);
    }
    json_object_set_array_member(aa, "range_alternatives", alts);
    json_object_set_int_member(aa, "candidates", cands->len);
    json_object_set_int_member(aa, "failing_alone", s.failing_alone);
    json_object_set_double_member(aa, "float_macs_share", macs_all > 0 ? macs_rev / macs_all : 0);
    json_object_set_boolean_member(aa, "met", s.met);
    host->log(MSC_LOG_INFO, "quantizer",
              "accuracy-aware (sensitivity search, %u evaluations on %s): %u of %u layers kept in float "
              "(%.1f%% of their multiply-adds), min output cosine %.5f -> %.5f (target %.4f)%s",
              s.evaluations, runner, s.reverted->len, cands->len, macs_all > 0 ? 100 * macs_rev / macs_all : 0.0,
              s.initial_min_cos, s.final_min_cos, target, s.met ? "" : " (tolerance NOT met)");
    g_ptr_array_unref(keep);
    g_hash_table_unref(rev);
  }
  msc_qsearch_clear(&s);
  g_hash_table_unref(c.t.consumers);
  g_hash_table_unref(c.saved);
  g_free(mask);
  g_ptr_array_unref(cands);
  msc_quant_outeval_free(ev);
  return ok;
}

static gboolean report_and_refine(QState *st, const MscGraph *g, GError **error) {
  gboolean want_report = st->o.report != NULL, aware = !isnan(st->o.tolerance);
  if (!want_report && !aware) return TRUE;
  g_autoptr(GPtrArray) samples = samples_in_order(st, g, MSC_QUANT_REPORT_SAMPLES);
  g_autoptr(GPtrArray) search_samples = samples_in_order(st, g, MSC_QUANT_EVAL_SAMPLES);
  JsonObject *r = json_object_new();
  json_object_set_string_member(r, "tool", "quantizer");
  json_object_set_object_member(r, "options", msc_qopt_to_json(&st->o));
  json_object_set_int_member(r, "calibration_samples", (gint64)st->sample);
  json_object_set_int_member(r, "evaluation_samples", samples->len);
  json_object_set_string_member(r, "evaluation", "QDQ model vs float on the ref runner, over the first calibration "
                                                 "samples (at most 8); see 'heldout' for held-out data when present");
  JsonObject *opset = json_object_new();
  json_object_set_int_member(opset, "model", st->model_opset);
  json_object_set_int_member(opset, "quantized", st->plan->opset);
  if (st->plan->opset_note) json_object_set_string_member(opset, "note", st->plan->opset_note);
  json_object_set_object_member(r, "opset", opset);
  json_object_set_string_member(r, "weights",
                                st->o.weight_bits == 7
                                    ? "int8 symmetric, limited to 7 bits ([-63, 63]): u8 x s8 pair sums stay below "
                                      "32767, so AVX2 vpmaddubsw never saturates"
                                    : "int8 symmetric, full range [-127, 127] (AVX2 vpmaddubsw may saturate on "
                                      "such weights: int8 kernels must avoid it)");
  json_object_set_boolean_member(r, "per_channel_weights", !st->plan->per_tensor_weights);
  json_object_set_array_member(r, "skipped", strv_json(st->plan->skipped));
  gboolean ok = TRUE;
  Eval e = {0};
  GHashTable *tn = g_hash_table_new(g_str_hash, g_str_equal);
  if (samples->len == 0) {
    json_object_set_string_member(r, "note", "no captured calibration inputs: nothing evaluated");
  } else {
    if (aware && !st->o.greedy) {
      JsonObject *aa = json_object_new();
      json_object_set_double_member(aa, "tolerance", st->o.tolerance);
      ok = sensitivity_search(st, g, search_samples, aa, error);
      json_object_set_object_member(r, "accuracy_aware", aa);
    }
    if (ok && (want_report || st->o.greedy)) ok = evaluate(st, g, samples, tn, &e, error);
    if (ok && aware && st->o.greedy) {
      JsonObject *aa = json_object_new();
      json_object_set_double_member(aa, "tolerance", st->o.tolerance);
      json_object_set_array_member(aa, "initial_outputs", metrics_json(e.outputs, FALSE));
      JsonArray *steps = json_array_new();
      while (ok && e.min_cos < st->o.tolerance && st->plan->nodes->len) {
        double score;
        const char *worst = most_sensitive(st, g, &e, &score);
        if (!worst) break;
        char *name = g_strdup(worst);
        for (guint k = 0; k < st->plan->nodes->len; k++)
          if (!strcmp(g_ptr_array_index(st->plan->nodes, k), name)) {
            g_ptr_array_remove_index(st->plan->nodes, k);
            break;
          }
        g_ptr_array_add(st->plan->reverted, name);
        Topo t;
        topo_init(&t, g);
        plan_tensors(st, g, &t, st->plan);
        g_hash_table_unref(t.consumers);
        ok = evaluate(st, g, samples, tn, &e, error);
        JsonObject *s = json_object_new();
        json_object_set_string_member(s, "reverted", name);
        json_object_set_double_member(s, "local_error", score);
        if (ok) json_object_set_double_member(s, "min_output_cosine", e.min_cos);
        json_array_add_object_element(steps, s);
        host->log(MSC_LOG_INFO, "quantizer", "accuracy-aware: reverted '%s' to float: min output cosine %.5f", name,
                  ok ? e.min_cos : NAN);
      }
      json_object_set_array_member(aa, "steps", steps);
      json_object_set_array_member(aa, "reverted", strv_json(st->plan->reverted));
      json_object_set_boolean_member(aa, "met", ok && e.min_cos >= st->o.tolerance);
      json_object_set_object_member(r, "accuracy_aware", aa);
    }
    if (ok && e.layers) {
      json_object_set_array_member(r, "layers", metrics_json(e.layers, TRUE));
      json_object_set_array_member(r, "outputs", metrics_json(e.outputs, FALSE));
      json_object_set_double_member(r, "min_output_cosine", e.min_cos);
    }
  }
  json_object_set_int_member(r, "quantized_nodes", st->plan->nodes->len);
  json_object_set_int_member(r, "dynamic_nodes", st->plan->dyn_nodes->len);
  json_object_set_array_member(r, "reverted", strv_json(st->plan->reverted));
  json_object_set_array_member(r, "float_outputs", strv_json(st->plan->float_out));
  eval_clear(&e);
  g_hash_table_unref(tn);
  if (ok && want_report) {
    JsonNode *root = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(root, r);
    ok = write_json(st->o.report, root, error);
    json_node_unref(root);
  } else {
    json_object_unref(r);
  }
  return ok;
}

static MscStatus fail(MscMessage *msg, GError *e) {
  MscStatus s = e->domain == MSC_ERROR ? (MscStatus)e->code : MSC_ERR_INTERNAL;
  host->message_set(msg, "%s", e->message);
  g_error_free(e);
  return s;
}

static MscStatus q_plan(void *state, const MscGraph *graph, MscMessage *msg) {
  QState *st = state;
  msc_qplan_free(st->plan);
  st->plan = msc_qplan_new();
  g_hash_table_remove_all(st->method_of);
  GError *e = NULL;
  Topo t;
  topo_init(&t, graph);
  gboolean ok = plan_select(st, graph, &t, &e);
  g_hash_table_unref(t.consumers);
  if (ok) collect_weights(st, graph);
  if (ok) ok = report_and_refine(st, graph, &e);
  if (!ok) {
    msc_qplan_free(st->plan);
    st->plan = NULL;
    return fail(msg, e);
  }
  host->log(MSC_LOG_INFO, "quantizer", "plan: %u nodes quantized (%u dynamic), %u activation tensors, %u kept in float",
            st->plan->nodes->len, st->plan->dyn_nodes->len, g_hash_table_size(st->plan->act),
            st->plan->skipped->len + st->plan->reverted->len);
  return MSC_OK;
}

/* ---- apply ----------------------------------------------------------------------------------- */

static MscStatus q_apply(void *state, MscGraph *graph, MscMessage *msg) {
  QState *st = state;
  if (!st->plan) {
    host->message_set(msg, "quantizer: apply: no plan (call plan or load_plan first)");
    return MSC_ERR_INVALID_ARG;
  }
  GError *e = NULL;
  MscGraph *ng = msc_quant_rewrite(graph, &st->o, st->plan, &e);
  if (!ng) return fail(msg, e);
  msc_quant_graph_swap(graph, ng);
  return MSC_OK;
}

/* ---- plan file ------------------------------------------------------------------------------- */

static gint cmp_str(gconstpointer a, gconstpointer b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* (transfer container) the keys of @h, sorted. */
static GPtrArray *sorted_keys(GHashTable *h) {
  GPtrArray *a = g_ptr_array_new();
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init(&it, h);
  while (g_hash_table_iter_next(&it, &k, NULL)) g_ptr_array_add(a, k);
  g_ptr_array_sort(a, cmp_str);
  return a;
}

static MscStatus q_export_plan(void *state, const char *path, MscMessage *msg) {
  QState *st = state;
  if (!st->plan) {
    host->message_set(msg, "%s: quantizer: no plan to export (call plan first)", path);
    return MSC_ERR_INVALID_ARG;
  }
  MscQPlan *p = st->plan;
  JsonObject *r = json_object_new();
  json_object_set_string_member(r, "tool", "quantizer");
  json_object_set_int_member(r, "version", 1);
  json_object_set_object_member(r, "options", msc_qopt_to_json(&st->o));
  json_object_set_int_member(r, "opset", p->opset);
  if (p->opset_note) json_object_set_string_member(r, "opset_note", p->opset_note);
  json_object_set_boolean_member(r, "per_tensor_weights", p->per_tensor_weights);
  json_object_set_array_member(r, "nodes", strv_json(p->nodes));
  json_object_set_array_member(r, "dynamic_nodes", strv_json(p->dyn_nodes));
  json_object_set_array_member(r, "reverted", strv_json(p->reverted));
  json_object_set_array_member(r, "skipped", strv_json(p->skipped));
  json_object_set_array_member(r, "float_outputs", strv_json(p->float_out));
  JsonObject *fu = json_object_new();
  g_autoptr(GPtrArray) keys = sorted_keys(p->fused);
  for (guint i = 0; i < keys->len; i++)
    json_object_set_string_member(fu, g_ptr_array_index(keys, i), g_hash_table_lookup(p->fused, g_ptr_array_index(keys, i)));
  json_object_set_object_member(r, "fused", fu);
  JsonObject *bo = json_object_new();
  g_autoptr(GPtrArray) bk = sorted_keys(p->bn_folded);
  for (guint i = 0; i < bk->len; i++)
    json_object_set_string_member(bo, g_ptr_array_index(bk, i), g_hash_table_lookup(p->bn_folded, g_ptr_array_index(bk, i)));
  json_object_set_object_member(r, "bn_folded", bo);
  JsonObject *acts = json_object_new();
  g_autoptr(GPtrArray) ak = sorted_keys(p->act);
  for (guint i = 0; i < ak->len; i++) {
    const MscQParam *q = g_hash_table_lookup(p->act, g_ptr_array_index(ak, i));
    JsonObject *o = json_object_new();
    json_object_set_double_member(o, "scale", q->scale);
    json_object_set_int_member(o, "zero_point", q->zp);
    json_object_set_double_member(o, "min", q->lo);
    json_object_set_double_member(o, "max", q->hi);
    if (q->overridden) json_object_set_boolean_member(o, "override", TRUE);
    json_object_set_object_member(acts, g_ptr_array_index(ak, i), o);
  }
  json_object_set_object_member(r, "activations", acts);
  json_object_set_object_member(r, "weights", st->weights_info ? json_object_ref(st->weights_info) : json_object_new());
  JsonNode *root = json_node_new(JSON_NODE_OBJECT);
  json_node_take_object(root, r);
  GError *e = NULL;
  gboolean ok = write_json(path, root, &e);
  json_node_unref(root);
  return ok ? MSC_OK : fail(msg, e);
}

static gboolean read_strv(JsonObject *r, const char *member, GPtrArray *out, const char *path, GError **error) {
  if (!json_object_has_member(r, member)) return TRUE;
  JsonNode *n = json_object_get_member(r, member);
  if (!JSON_NODE_HOLDS_ARRAY(n)) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: member '%s' is not an array", path, member);
    return FALSE;
  }
  JsonArray *a = json_node_get_array(n);
  for (guint i = 0; i < json_array_get_length(a); i++) {
    JsonNode *e = json_array_get_element(a, i);
    if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_STRING) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: '%s'[%u] is not a string", path, member, i);
      return FALSE;
    }
    g_ptr_array_add(out, g_strdup(json_node_get_string(e)));
  }
  return TRUE;
}

static gboolean read_map(JsonObject *r, const char *member, GHashTable *out, const char *path, GError **error) {
  if (!json_object_has_member(r, member)) return TRUE;
  JsonNode *fn = json_object_get_member(r, member);
  if (!JSON_NODE_HOLDS_OBJECT(fn)) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: member '%s' is not an object", path, member);
    return FALSE;
  }
  JsonObject *fo = json_node_get_object(fn);
  g_autoptr(GList) members = json_object_get_members(fo);
  for (GList *l = members; l; l = l->next) {
    JsonNode *v = json_object_get_member(fo, l->data);
    if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s['%s'] is not a string", path, member, (char *)l->data);
      return FALSE;
    }
    g_hash_table_insert(out, g_strdup(l->data), g_strdup(json_node_get_string(v)));
  }
  return TRUE;
}

static gboolean num_member(JsonObject *o, const char *m, double *out) {
  JsonNode *n = json_object_get_member(o, m);
  if (!n || !JSON_NODE_HOLDS_VALUE(n)) return FALSE;
  GType t = json_node_get_value_type(n);
  if (t == G_TYPE_DOUBLE) *out = json_node_get_double(n);
  else if (t == G_TYPE_INT64) *out = (double)json_node_get_int(n);
  else return FALSE;
  return isfinite(*out);
}

static gboolean load_plan_file(QState *st, const char *path, GError **error) {
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_file(parser, path, error)) {
    if (error && *error) {
      GError *e = *error;
      *error = NULL;
      msc_set_error(error, e->domain == G_FILE_ERROR ? MSC_ERR_IO : MSC_ERR_CORRUPT, "%s: %s", path, e->message);
      g_error_free(e);
    }
    return FALSE;
  }
  JsonNode *root = json_parser_get_root(parser);
  JsonObject *r = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  if (!r || g_strcmp0(json_object_get_string_member_with_default(r, "tool", ""), "quantizer") != 0) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: not a quantizer plan (member 'tool' is not \"quantizer\")", path);
    return FALSE;
  }
  if (json_object_get_int_member_with_default(r, "version", 0) != 1) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: unsupported plan version (expected 1)", path);
    return FALSE;
  }
  MscQPlan *p = msc_qplan_new();
  double d;
  if (!num_member(r, "opset", &d) || d < 10 || d > 1000) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: member 'opset' missing or below 10", path);
    msc_qplan_free(p);
    return FALSE;
  }
  p->opset = (int64_t)d;
  p->per_tensor_weights = json_object_get_boolean_member_with_default(r, "per_tensor_weights", FALSE);
  const char *note = json_object_get_string_member_with_default(r, "opset_note", NULL);
  p->opset_note = g_strdup(note);
  gboolean ok = read_strv(r, "nodes", p->nodes, path, error) && read_strv(r, "dynamic_nodes", p->dyn_nodes, path, error) &&
                read_strv(r, "reverted", p->reverted, path, error) && read_strv(r, "skipped", p->skipped, path, error) &&
                read_strv(r, "float_outputs", p->float_out, path, error);
  /* the options that shape the rewrite come from the plan */
  JsonObject *po = ok && json_object_has_member(r, "options") ? json_object_get_object_member(r, "options") : NULL;
  if (po) {
    const char *at = json_object_get_string_member_with_default(po, "activation_type", "uint8");
    st->o.act_type = !strcmp(at, "int8") ? MSC_DTYPE_INT8 : MSC_DTYPE_UINT8;
    st->o.weight_bits = json_object_get_int_member_with_default(po, "weight_bits", 8) == 7 ? 7 : 8;
    st->o.symmetric_activations = json_object_get_boolean_member_with_default(po, "symmetric_activations", FALSE);
    st->o.per_tensor = json_object_get_boolean_member_with_default(po, "per_tensor", FALSE);
    st->o.dynamic = json_object_get_boolean_member_with_default(po, "dynamic", FALSE);
    const char *fmt = json_object_get_string_member_with_default(po, "format", "qdq");
    st->o.format = !strcmp(fmt, "qoperator") ? MSC_QFORMAT_QOPERATOR : MSC_QFORMAT_QDQ;
  }
  ok = ok && read_map(r, "fused", p->fused, path, error) && read_map(r, "bn_folded", p->bn_folded, path, error);
  int qmin, qmax;
  gboolean sym;
  msc_qopt_act_grid(&st->o, &qmin, &qmax, &sym);
  JsonNode *an = ok ? json_object_get_member(r, "activations") : NULL;
  if (ok && (!an || !JSON_NODE_HOLDS_OBJECT(an))) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: member 'activations' missing or not an object", path);
    ok = FALSE;
  }
  if (ok) {
    JsonObject *ao = json_node_get_object(an);
    g_autoptr(GList) members = json_object_get_members(ao);
    for (GList *l = members; l && ok; l = l->next) {
      JsonNode *tn = json_object_get_member(ao, l->data);
      JsonObject *to = JSON_NODE_HOLDS_OBJECT(tn) ? json_node_get_object(tn) : NULL;
      double s, z;
      if (!to || !num_member(to, "scale", &s) || !num_member(to, "zero_point", &z) || !(s > 0) || z != floor(z) ||
          z < qmin || z > qmax) {
        msc_set_error(error, MSC_ERR_CORRUPT,
                      "%s: activations['%s']: needs a positive 'scale' and an integer 'zero_point' in [%d, %d]", path,
                      (char *)l->data, qmin, qmax);
        ok = FALSE;
        break;
      }
      MscQParam *q = g_new0(MscQParam, 1);
      q->scale = (float)s;
      q->zp = (int32_t)z;
      if (!num_member(to, "min", &q->lo)) q->lo = (qmin - z) * s;
      if (!num_member(to, "max", &q->hi)) q->hi = (qmax - z) * s;
      q->overridden = json_object_get_boolean_member_with_default(to, "override", FALSE);
      g_hash_table_insert(p->act, g_strdup(l->data), q);
    }
  }
  if (!ok) {
    msc_qplan_free(p);
    return FALSE;
  }
  msc_qplan_free(st->plan);
  st->plan = p;
  return TRUE;
}

static MscStatus q_load_plan(void *state, const char *path, MscMessage *msg) {
  GError *e = NULL;
  if (!load_plan_file(state, path, &e)) return fail(msg, e);
  return MSC_OK;
}

static void q_destroy(void *state) { state_free(state); }

static const MscToolApi api = {
    .struct_size = sizeof(MscToolApi),
    .name = "quantizer",
    .doc = "post-training quantization to ONNX QDQ / QOperator: calibration (minmax, percentile, entropy, mse), "
           "per-channel int8 weights, accuracy report and accuracy-aware mode",
    .options = msc_quant_options,
    .n_options = G_N_ELEMENTS(msc_quant_options),
    .setup = q_setup,
    .observe = q_observe,
    .plan = q_plan,
    .apply = q_apply,
    .export_plan = q_export_plan,
    .destroy = q_destroy,
    .begin_stage = q_begin_stage,
    .on_node = q_on_node,
    .load_plan = q_load_plan,
};

static MscStatus q_init(const MscHostApi *h, MscPlugin *self, MscMessage *msg) {
  host = h;
  return h->registry_add(self, "msc.tool.quantizer", (void *)&api, MSC_KIND_TOOL, api.doc, 0, msg);
}

MSC_PLUGIN_DEFINE("quantizer", MSC_PLUGIN_TOOL, "0.1.0", "post-training quantization tool (QDQ / QOperator ONNX)",
                  q_init);
