/* quantizer.c: the `quantizer` tool plugin (msc.tool.quantizer):
 * post-training static (and dynamic MatMul/Gemm) quantization to a
 * standard ONNX QDQ or QOperator model. Life cycle:
 *   setup(options) -> on_node per node per calibration sample (bounded
 *   statistics: calib.c) -> plan(graph) (selection, scales, optional
 *   accuracy report and accuracy-aware reverts: report.c) ->
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

static const MscOptionSpec options[] = {
    {"method", MSC_OPT_STRING, "minmax", "activation range: minmax | percentile | entropy | mse"},
    {"percentile", MSC_OPT_FLOAT, "99.99", "percentile method: % of values kept inside the range (each tail)"},
    {"moving_average", MSC_OPT_BOOL, "false", "minmax: moving average (0.01) of per-sample min/max"},
    {"per_tensor", MSC_OPT_BOOL, "false", "per-tensor weights (default per output channel)"},
    {"symmetric_activations", MSC_OPT_BOOL, "false", "symmetric activation ranges"},
    {"activation_type", MSC_OPT_STRING, "uint8", "activation integer type: uint8 | int8"},
    {"weight_bits", MSC_OPT_INT, "8", "8, or 7: weights in [-63, 63] so AVX2 vpmaddubsw never saturates"},
    {"op_types", MSC_OPT_STRING, "Conv,Gemm,MatMul", "comma-separated op types to quantize"},
    {"exclude", MSC_OPT_STRING, "", "comma-separated glob patterns of node names kept in float"},
    {"keep_first", MSC_OPT_BOOL, "false", "keep the first quantizable layer(s) (reached from the inputs) in float"},
    {"keep_last", MSC_OPT_BOOL, "false", "keep the last quantizable layer(s) (reaching an output) in float"},
    {"overrides", MSC_OPT_STRING, "", "per-tensor parameters: NAME:SCALE:ZERO_POINT;NAME2:SCALE:ZP"},
    {"format", MSC_OPT_STRING, "qdq", "qdq (QuantizeLinear/DequantizeLinear pairs) | qoperator (QLinearConv ...)"},
    {"report", MSC_OPT_STRING, NULL, "accuracy report JSON path (per layer and per output)"},
    {"tolerance", MSC_OPT_FLOAT, NULL, "accuracy-aware: revert layers to float until every output cosine >= this"},
    {"dynamic", MSC_OPT_BOOL, "false", "dynamic quantization of MatMul/Gemm (activation scale per call)"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

typedef struct {
  MscQOptions o;
  GHashTable *stats; /* tensor name -> MscQHist* */
  gint last_index;
  guint64 sample; /* current sample number (1-based once running) */
  GHashTable *seen_in_sample; /* tensor name -> sample number last counted */
  GPtrArray *captured;        /* GHashTable* name -> MscTensor*, at most MSC_QUANT_EVAL_SAMPLES */
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

static void qopt_clear(MscQOptions *o) {
  g_strfreev(o->op_types);
  g_strfreev(o->exclude);
  if (o->overrides) g_hash_table_unref(o->overrides);
  g_free(o->overrides_text);
  g_free(o->report);
  memset(o, 0, sizeof *o);
}

static gboolean parse_bool(const char *v, gboolean *out) {
  if (!g_ascii_strcasecmp(v, "true") || !strcmp(v, "1") || !g_ascii_strcasecmp(v, "yes") || !*v) *out = TRUE;
  else if (!g_ascii_strcasecmp(v, "false") || !strcmp(v, "0") || !g_ascii_strcasecmp(v, "no")) *out = FALSE;
  else return FALSE;
  return TRUE;
}

static gboolean parse_double(const char *v, double *out) {
  char *end = NULL;
  *out = g_ascii_strtod(v, &end);
  return end && end != v && *end == '\0' && isfinite(*out);
}

static char **split_list(const char *v) {
  char **parts = g_strsplit(v, ",", -1);
  GPtrArray *a = g_ptr_array_new();
  for (char **p = parts; *p; p++) {
    char *s = g_strstrip(*p);
    if (*s) g_ptr_array_add(a, g_strdup(s));
  }
  g_strfreev(parts);
  g_ptr_array_add(a, NULL);
  return (char **)g_ptr_array_free(a, FALSE);
}

/* "NAME:SCALE:ZP;..." parsed from the right (tensor names may hold ':'). */
static gboolean parse_overrides(const char *v, GHashTable *out, char **bad) {
  char **items = g_strsplit(v, ";", -1);
  gboolean ok = TRUE;
  for (char **it = items; *it && ok; it++) {
    char *s = g_strstrip(*it);
    if (!*s) continue;
    char *c2 = strrchr(s, ':');
    char *c1 = NULL;
    if (c2) {
      *c2 = '\0';
      c1 = strrchr(s, ':');
    }
    double scale, zp;
    if (!c1 || c1 == s || !parse_double(c1 + 1, &scale) || !parse_double(c2 + 1, &zp) || !(scale > 0) ||
        zp != floor(zp)) {
      if (c2) *c2 = ':';
      *bad = g_strdup(s);
      ok = FALSE;
      break;
    }
    *c1 = '\0';
    MscQParam *p = g_new0(MscQParam, 1);
    p->scale = (float)scale;
    p->zp = (int32_t)zp;
    p->overridden = TRUE;
    g_hash_table_insert(out, g_strdup(s), p);
  }
  g_strfreev(items);
  return ok;
}

static MscStatus bad_option(MscMessage *msg, const char *key, const char *value, const char *accepted) {
  host->message_set(msg, "quantizer: option '%s': invalid value '%s' (accepted: %s)", key, value, accepted);
  return MSC_ERR_INVALID_ARG;
}

static MscStatus parse_options(const MscOptions *opts, MscQOptions *o, MscMessage *msg) {
  o->method = MSC_QCALIB_MINMAX;
  o->percentile = 99.99;
  o->act_type = MSC_DTYPE_UINT8;
  o->weight_bits = 8;
  o->op_types = split_list("Conv,Gemm,MatMul");
  o->exclude = split_list("");
  o->overrides = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  o->tolerance = NAN;
  for (uint32_t i = 0; opts && i < opts->n; i++) {
    const char *k = opts->keys[i], *v = opts->values[i] ? opts->values[i] : "";
    double d;
    gboolean b;
    if (!strcmp(k, "method")) {
      if (!strcmp(v, "minmax")) o->method = MSC_QCALIB_MINMAX;
      else if (!strcmp(v, "percentile")) o->method = MSC_QCALIB_PERCENTILE;
      else if (!strcmp(v, "entropy") || !strcmp(v, "kl")) o->method = MSC_QCALIB_ENTROPY;
      else if (!strcmp(v, "mse")) o->method = MSC_QCALIB_MSE;
      else return bad_option(msg, k, v, "minmax|percentile|entropy|mse");
    } else if (!strcmp(k, "percentile")) {
      if (!parse_double(v, &d) || d <= 50 || d > 100) return bad_option(msg, k, v, "a number in (50, 100]");
      o->percentile = d;
    } else if (!strcmp(k, "moving_average") || !strcmp(k, "per_tensor") || !strcmp(k, "symmetric_activations") ||
               !strcmp(k, "keep_first") || !strcmp(k, "keep_last") || !strcmp(k, "dynamic")) {
      if (!parse_bool(v, &b)) return bad_option(msg, k, v, "true|false");
      if (!strcmp(k, "moving_average")) o->moving_average = b;
      else if (!strcmp(k, "per_tensor")) o->per_tensor = b;
      else if (!strcmp(k, "symmetric_activations")) o->symmetric_activations = b;
      else if (!strcmp(k, "keep_first")) o->keep_first = b;
      else if (!strcmp(k, "keep_last")) o->keep_last = b;
      else o->dynamic = b;
    } else if (!strcmp(k, "activation_type")) {
      if (!strcmp(v, "uint8")) o->act_type = MSC_DTYPE_UINT8;
      else if (!strcmp(v, "int8")) o->act_type = MSC_DTYPE_INT8;
      else return bad_option(msg, k, v, "uint8|int8");
    } else if (!strcmp(k, "weight_bits")) {
      if (!strcmp(v, "8")) o->weight_bits = 8;
      else if (!strcmp(v, "7")) o->weight_bits = 7;
      else return bad_option(msg, k, v, "8|7");
    } else if (!strcmp(k, "op_types")) {
      g_strfreev(o->op_types);
      o->op_types = split_list(v);
      if (!o->op_types[0]) return bad_option(msg, k, v, "a comma-separated list of op types, e.g. Conv,Gemm,MatMul");
      for (char **t = o->op_types; *t; t++)
        if (!strcmp(*t, "QuantizeLinear") || !strcmp(*t, "DequantizeLinear"))
          return bad_option(msg, k, v, "op types other than QuantizeLinear/DequantizeLinear");
    } else if (!strcmp(k, "exclude")) {
      g_strfreev(o->exclude);
      o->exclude = split_list(v);
    } else if (!strcmp(k, "overrides")) {
      g_autofree char *bad = NULL;
      g_free(o->overrides_text);
      o->overrides_text = g_strdup(v);
      if (!parse_overrides(v, o->overrides, &bad)) {
        host->message_set(msg, "quantizer: option 'overrides': invalid entry '%s' (expected NAME:SCALE:ZERO_POINT, "
                          "scale > 0, integer zero point; entries separated by ';')", bad);
        return MSC_ERR_INVALID_ARG;
      }
    } else if (!strcmp(k, "format")) {
      if (!strcmp(v, "qdq")) o->format = MSC_QFORMAT_QDQ;
      else if (!strcmp(v, "qoperator")) o->format = MSC_QFORMAT_QOPERATOR;
      else return bad_option(msg, k, v, "qdq|qoperator");
    } else if (!strcmp(k, "report")) {
      g_free(o->report);
      o->report = *v ? g_strdup(v) : NULL;
    } else if (!strcmp(k, "tolerance")) {
      if (!*v || !g_ascii_strcasecmp(v, "off")) o->tolerance = NAN;
      else if (!parse_double(v, &d) || d <= -1 || d > 1) return bad_option(msg, k, v, "a cosine in (-1, 1], or off");
      else o->tolerance = d;
    } else {
      host->message_set(msg, "quantizer: unknown option '%s' (known: method, percentile, moving_average, per_tensor, "
                        "symmetric_activations, activation_type, weight_bits, op_types, exclude, keep_first, "
                        "keep_last, overrides, format, report, tolerance, dynamic)", k);
      return MSC_ERR_INVALID_ARG;
    }
  }
  /* overrides must fit the activation grid */
  int qmin, qmax;
  gboolean sym;
  msc_qopt_act_grid(o, &qmin, &qmax, &sym);
  GHashTableIter it;
  gpointer key, val;
  g_hash_table_iter_init(&it, o->overrides);
  while (g_hash_table_iter_next(&it, &key, &val)) {
    MscQParam *p = val;
    if (p->zp < qmin || p->zp > qmax) {
      host->message_set(msg, "quantizer: option 'overrides': tensor '%s': zero point %d outside [%d, %d] of %s",
                        (char *)key, p->zp, qmin, qmax, o->act_type == MSC_DTYPE_INT8 ? "int8" : "uint8");
      return MSC_ERR_INVALID_ARG;
    }
    p->lo = (qmin - p->zp) * (double)p->scale;
    p->hi = (qmax - p->zp) * (double)p->scale;
  }
  return MSC_OK;
}

/* ---- setup / observe ------------------------------------------------------------------------ */

static void state_free(QState *st) {
  if (!st) return;
  qopt_clear(&st->o);
  g_hash_table_unref(st->stats);
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
  st->seen_in_sample = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  st->captured = g_ptr_array_new_with_free_func(captured_free);
  st->last_index = G_MAXINT;
  MscStatus s = parse_options(opts, &st->o, msg);
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

static MscStatus q_on_node(void *state, const MscNode *node, const MscTensor *const *inputs, uint32_t n_inputs,
                           const MscTensor *const *outputs, uint32_t n_outputs, double ms, MscMessage *msg) {
  QState *st = state;
  /* Nodes run in topological order: a lower index starts a new sample. */
  if ((gint)node->index <= st->last_index) {
    st->sample++;
    if (st->sample > 1 && (st->sample - 1) % PROGRESS_EVERY == 0)
      host->log(MSC_LOG_INFO, "quantizer", "calibration: %llu samples observed, %u tensors tracked",
                (unsigned long long)(st->sample - 1), g_hash_table_size(st->stats));
    if (st->captured->len < MSC_QUANT_EVAL_SAMPLES)
      g_ptr_array_add(st->captured,
                      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)msc_tensor_free));
    else if (st->captured->len == MSC_QUANT_EVAL_SAMPLES)
      g_ptr_array_add(st->captured, NULL); /* sentinel: stop capturing */
  }
  st->last_index = (gint)node->index;
  GHashTable *cap = st->captured->len && st->captured->len <= MSC_QUANT_EVAL_SAMPLES
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
  if (!h || !msc_qhist_range(h, st->o.method, st->o.percentile, st->o.moving_average, qmin, qmax, sym, &p->lo, &p->hi)) {
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

/* Fills plan->act and plan->fused for plan->nodes (and dynamic nodes). */
static void plan_tensors(QState *st, const MscGraph *g, Topo *t, MscQPlan *p) {
  g_hash_table_remove_all(p->act);
  g_hash_table_remove_all(p->fused);
  g_hash_table_remove_all(p->bn_folded);
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

static GPtrArray *samples_in_order(QState *st, const MscGraph *g) {
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  for (guint k = 0; k < st->captured->len && k < MSC_QUANT_EVAL_SAMPLES; k++) {
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

static const char *method_name(MscQCalibMethod m) {
  static const char *const n[] = {"minmax", "percentile", "entropy", "mse"};
  return n[m];
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

static JsonObject *options_json(const MscQOptions *o) {
  JsonObject *j = json_object_new();
  json_object_set_string_member(j, "activation_type", o->act_type == MSC_DTYPE_INT8 ? "int8" : "uint8");
  json_object_set_boolean_member(j, "dynamic", o->dynamic);
  g_autofree char *ex = g_strjoinv(",", o->exclude);
  json_object_set_string_member(j, "exclude", ex);
  json_object_set_string_member(j, "format", o->format == MSC_QFORMAT_QOPERATOR ? "qoperator" : "qdq");
  json_object_set_boolean_member(j, "keep_first", o->keep_first);
  json_object_set_boolean_member(j, "keep_last", o->keep_last);
  json_object_set_string_member(j, "method", method_name(o->method));
  json_object_set_boolean_member(j, "moving_average", o->moving_average);
  g_autofree char *ops = g_strjoinv(",", o->op_types);
  json_object_set_string_member(j, "op_types", ops);
  json_object_set_string_member(j, "overrides", o->overrides_text ? o->overrides_text : "");
  json_object_set_double_member(j, "percentile", o->percentile);
  json_object_set_boolean_member(j, "per_tensor", o->per_tensor);
  json_object_set_boolean_member(j, "symmetric_activations", o->symmetric_activations);
  if (!isnan(o->tolerance)) json_object_set_double_member(j, "tolerance", o->tolerance);
  json_object_set_int_member(j, "weight_bits", o->weight_bits);
  return j;
}

static gboolean report_and_refine(QState *st, const MscGraph *g, GError **error) {
  gboolean want_report = st->o.report != NULL, aware = !isnan(st->o.tolerance);
  if (!want_report && !aware) return TRUE;
  g_autoptr(GPtrArray) samples = samples_in_order(st, g);
  JsonObject *r = json_object_new();
  json_object_set_string_member(r, "tool", "quantizer");
  json_object_set_object_member(r, "options", options_json(&st->o));
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
    ok = evaluate(st, g, samples, tn, &e, error);
    if (ok && aware) {
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
    if (ok) {
      json_object_set_array_member(r, "layers", metrics_json(e.layers, TRUE));
      json_object_set_array_member(r, "outputs", metrics_json(e.outputs, FALSE));
      json_object_set_double_member(r, "min_output_cosine", e.min_cos);
    }
  }
  json_object_set_int_member(r, "quantized_nodes", st->plan->nodes->len);
  json_object_set_int_member(r, "dynamic_nodes", st->plan->dyn_nodes->len);
  json_object_set_array_member(r, "reverted", strv_json(st->plan->reverted));
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
  json_object_set_object_member(r, "options", options_json(&st->o));
  json_object_set_int_member(r, "opset", p->opset);
  if (p->opset_note) json_object_set_string_member(r, "opset_note", p->opset_note);
  json_object_set_boolean_member(r, "per_tensor_weights", p->per_tensor_weights);
  json_object_set_array_member(r, "nodes", strv_json(p->nodes));
  json_object_set_array_member(r, "dynamic_nodes", strv_json(p->dyn_nodes));
  json_object_set_array_member(r, "reverted", strv_json(p->reverted));
  json_object_set_array_member(r, "skipped", strv_json(p->skipped));
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
                read_strv(r, "reverted", p->reverted, path, error) && read_strv(r, "skipped", p->skipped, path, error);
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
    .options = options,
    .n_options = N_OPTIONS,
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
