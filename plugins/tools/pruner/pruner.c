/* pruner.c: the msc.tool.pruner plugin: structured channel pruning that
 * removes channels physically (docs/pruner.md).
 *
 * Life cycle (docs/tool.md): setup parses the options; observe gathers
 * per-channel mean |activation| of every node output (criterion
 * activation); on_node keeps up to refit_samples (<= 64) graph-input
 * samples; plan finds the dependency groups, scores and sizes them, turns
 * them into per-value keep masks, and (with samples) runs the unpruned, the
 * plainly pruned and the refitted model side by side to solve the
 * least-squares refits and measure both output errors; apply slices the
 * host graph, installs the refitted weights and writes the report;
 * export_plan / load_plan save and re-read masks and refitted weights.
 *
 * Links libmsc (graph editing, node execution, JSON) like the cpu runner. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pruner.h"
#include "tensor.h"

static const MscHostApi *host;

typedef struct {
  PrunerOptions o;
  char *options_text;
  GHashTable *stats; /* value name -> PrunerActStats */
  /* captured graph inputs: per sample, value name -> tensor */
  GPtrArray *captured; /* GHashTable* */
  uint32_t last_index;
  gboolean in_run, capturing;
  double sample_flops; /* Conv/Gemm/MatMul FLOPs of the first captured sample (from its tensors) */
  /* plan */
  gboolean planned;
  GPtrArray *groups;
  GHashTable *masks;
  GPtrArray *refits; /* the plan's refits: fit.refits, or read from a plan */
  PrunerFitResult fit;
  double chosen_density;
  GString *notes;
} Pruner;

static const MscOptionSpec pruner_options[] = {
    {"density", MSC_OPT_FLOAT, NULL, "fraction of channels kept in every group, (0, 1]; default 0.5 (exclusive with flops_target)"},
    {"flops_target", MSC_OPT_FLOAT, NULL, "fraction of the model's FLOPs to remove, (0, 1): searches the global density"},
    {"layer_density", MSC_OPT_STRING, NULL, "per-layer densities 'NAME:0.6;GLOB*:0.8' on source node names (first match wins)"},
    {"criterion", MSC_OPT_STRING, "l1", "channel importance: l1 | l2 | fpgm | activation"},
    {"round_to", MSC_OPT_INT, "8", "round kept channel counts to a multiple of this (1 = no rounding)"},
    {"min_channels", MSC_OPT_INT, "8", "never keep fewer channels than this in a group"},
    {"exclude", MSC_OPT_STRING, NULL, "comma-separated globs on node names: groups touching them stay whole"},
    {"exclude_ops", MSC_OPT_STRING, NULL, "comma-separated op types: groups touching them stay whole"},
    {"reconstruct", MSC_OPT_BOOL, "true", "re-fit the consumers of pruned channels by least squares on calibration data"},
    {"report", MSC_OPT_STRING, NULL, "write a JSON report (layers, totals, groups, output error) to this path"},
    {"refit_samples", MSC_OPT_INT, "64", "at most this many calibration samples are kept for the refit and the error report (0..64; the last quarter validates each layer's refit); unless given, fewer on big models (about 200 GFLOP of refit passes, never below 16)"},
    {"ridge", MSC_OPT_FLOAT, "0.01", "middle ridge of the refit, relative to the mean input energy (pulls to the sliced weights); 0.01x..100x are tried per output channel on the validation samples"},
    {"refit_drift", MSC_OPT_BOOL, "true", "also refit Conv/Gemm layers whose input kept its channels but drifted (each guarded by the validation samples)"},
};

static void stats_free(PrunerActStats *s) {
  if (!s) return;
  g_free(s->sum_abs);
  g_free(s);
}

static void options_clear(PrunerOptions *o) {
  for (guint i = 0; i < o->n_layer; i++) g_free(o->layer[i].pattern);
  g_free(o->layer);
  g_strfreev(o->exclude);
  g_strfreev(o->exclude_ops);
  g_free(o->report);
}

static void plan_clear(Pruner *p) {
  if (p->groups) g_ptr_array_unref(p->groups);
  if (p->masks) g_hash_table_unref(p->masks);
  if (p->refits) g_ptr_array_unref(p->refits);
  p->groups = NULL;
  p->masks = NULL;
  p->refits = NULL;
  pruner_fit_result_clear(&p->fit);
  g_string_truncate(p->notes, 0);
  p->planned = FALSE;
}

static void pruner_destroy(void *state) {
  Pruner *p = state;
  if (!p) return;
  plan_clear(p);
  options_clear(&p->o);
  g_free(p->options_text);
  g_hash_table_unref(p->stats);
  g_ptr_array_unref(p->captured);
  g_string_free(p->notes, TRUE);
  g_free(p);
}

static MscStatus bad(MscMessage *msg, const char *opt, const char *val, const char *want) {
  host->message_set(msg, "pruner: option '%s': '%s' %s", opt, val, want);
  return MSC_ERR_INVALID_ARG;
}

static gboolean parse_double(const char *v, double *out) {
  char *end = NULL;
  *out = g_ascii_strtod(v, &end);
  return end && end != v && !*end && isfinite(*out);
}

static gboolean parse_int(const char *v, int lo, int hi, int *out) {
  char *end = NULL;
  long x = strtol(v, &end, 10);
  if (!end || end == v || *end || x < lo || x > hi) return FALSE;
  *out = (int)x;
  return TRUE;
}

static char **split_list(const char *v) {
  char **parts = g_strsplit(v, ",", -1);
  GPtrArray *a = g_ptr_array_new();
  for (guint i = 0; parts[i]; i++) {
    char *s = g_strstrip(parts[i]);
    if (*s) g_ptr_array_add(a, g_strdup(s));
  }
  g_strfreev(parts);
  g_ptr_array_add(a, NULL);
  return (char **)g_ptr_array_free(a, FALSE);
}

static MscStatus parse_layer_density(PrunerOptions *o, const char *v, MscMessage *msg) {
  g_auto(GStrv) items = g_strsplit(v, ";", -1);
  for (guint i = 0; items[i]; i++) {
    char *it = g_strstrip(items[i]);
    if (!*it) continue;
    char *colon = strrchr(it, ':');
    double d = 0;
    if (!colon || colon == it || !parse_double(colon + 1, &d) || !(d > 0 && d <= 1))
      return bad(msg, "layer_density", it, "is not NAME:DENSITY with DENSITY in (0, 1]");
    o->layer = g_renew(PrunerLayerDensity, o->layer, o->n_layer + 1);
    o->layer[o->n_layer].pattern = g_strndup(it, (gsize)(colon - it));
    o->layer[o->n_layer].density = d;
    o->n_layer++;
  }
  return MSC_OK;
}

static MscStatus parse_options(PrunerOptions *o, const MscOptions *opts, GString *canon, MscMessage *msg) {
  gboolean has_density = FALSE;
  o->density = 0.5;
  o->criterion = PRUNER_L1;
  o->round_to = 8;
  o->min_channels = 8;
  o->reconstruct = TRUE;
  o->refit_samples = 64;
  o->ridge = 0.01;
  o->refit_drift = TRUE;
  for (uint32_t i = 0; opts && i < opts->n; i++) {
    const char *k = opts->keys[i], *v = opts->values[i];
    MscStatus st = MSC_OK;
    if (!strcmp(k, "density")) {
      if (!parse_double(v, &o->density) || !(o->density > 0 && o->density <= 1)) return bad(msg, k, v, "is not a number in (0, 1]");
      has_density = TRUE;
    } else if (!strcmp(k, "flops_target")) {
      if (!parse_double(v, &o->flops_target) || !(o->flops_target > 0 && o->flops_target < 1))
        return bad(msg, k, v, "is not a fraction in (0, 1)");
    } else if (!strcmp(k, "layer_density")) {
      st = parse_layer_density(o, v, msg);
    } else if (!strcmp(k, "criterion")) {
      if (!strcmp(v, "l1")) o->criterion = PRUNER_L1;
      else if (!strcmp(v, "l2")) o->criterion = PRUNER_L2;
      else if (!strcmp(v, "fpgm")) o->criterion = PRUNER_FPGM;
      else if (!strcmp(v, "activation")) o->criterion = PRUNER_ACTIVATION;
      else return bad(msg, k, v, "not in l1|l2|fpgm|activation");
    } else if (!strcmp(k, "round_to")) {
      if (!parse_int(v, 1, 4096, &o->round_to)) return bad(msg, k, v, "is not an integer in 1..4096");
    } else if (!strcmp(k, "min_channels")) {
      if (!parse_int(v, 1, 1 << 20, &o->min_channels)) return bad(msg, k, v, "is not an integer >= 1");
    } else if (!strcmp(k, "exclude")) {
      g_strfreev(o->exclude);
      o->exclude = split_list(v);
    } else if (!strcmp(k, "exclude_ops")) {
      g_strfreev(o->exclude_ops);
      o->exclude_ops = split_list(v);
    } else if (!strcmp(k, "reconstruct") || !strcmp(k, "refit_drift")) {
      gboolean *dst = !strcmp(k, "reconstruct") ? &o->reconstruct : &o->refit_drift;
      if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on")) *dst = TRUE;
      else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off")) *dst = FALSE;
      else return bad(msg, k, v, "is not a bool (true|false)");
    } else if (!strcmp(k, "report")) {
      if (!*v) return bad(msg, k, v, "is an empty path");
      g_free(o->report);
      o->report = g_strdup(v);
    } else if (!strcmp(k, "refit_samples")) {
      if (!parse_int(v, 0, PRUNER_MAX_CAPTURE, &o->refit_samples)) return bad(msg, k, v, "is not an integer in 0..64");
      o->refit_samples_set = TRUE;
    } else if (!strcmp(k, "ridge")) {
      if (!parse_double(v, &o->ridge) || !(o->ridge >= 0 && o->ridge <= 1e6)) return bad(msg, k, v, "is not a number in [0, 1e6]");
    } else {
      host->message_set(msg, "pruner: unknown option '%s' (known: density, flops_target, layer_density, criterion, "
                             "round_to, min_channels, exclude, exclude_ops, reconstruct, report, refit_samples, ridge, refit_drift)", k);
      return MSC_ERR_INVALID_ARG;
    }
    if (st != MSC_OK) return st;
    if (strcmp(k, "report")) g_string_append_printf(canon, "%s%s=%s", canon->len ? ";" : "", k, v);
  }
  if (has_density && o->flops_target > 0) {
    host->message_set(msg, "pruner: options 'density' and 'flops_target' exclude each other (give one)");
    return MSC_ERR_INVALID_ARG;
  }
  return MSC_OK;
}

static MscStatus pruner_setup(const MscOptions *opts, void **state, MscMessage *msg) {
  Pruner *p = g_new0(Pruner, 1);
  p->stats = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)stats_free);
  p->captured = g_ptr_array_new_with_free_func((GDestroyNotify)g_hash_table_unref);
  p->notes = g_string_new(NULL);
  GString *canon = g_string_new(NULL);
  MscStatus st = parse_options(&p->o, opts, canon, msg);
  p->options_text = g_string_free(canon, FALSE);
  if (st != MSC_OK) {
    pruner_destroy(p);
    return st;
  }
  *state = p;
  return MSC_OK;
}

static MscStatus pruner_begin_stage(void *state, const char *stage, MscMessage *msg) {
  Pruner *p = state;
  p->in_run = FALSE;
  return MSC_OK;
}

static MscStatus pruner_observe(void *state, const MscNode *node, const MscTensor *const *outputs, uint32_t n_outputs,
                                MscMessage *msg) {
  Pruner *p = state;
  if (p->o.criterion != PRUNER_ACTIVATION) return MSC_OK;
  for (uint32_t j = 0; j < n_outputs; j++) {
    const MscTensor *t = outputs[j];
    if (!t || !node->outputs[j] || t->dtype != MSC_DTYPE_FLOAT32 || t->rank < 2 || !t->data) continue;
    int64_t N = t->dims[0], C = t->dims[1], inner = 1;
    for (int k = 2; k < t->rank; k++) inner *= t->dims[k];
    if (C <= 0 || N <= 0 || inner <= 0) continue;
    PrunerActStats *s = g_hash_table_lookup(p->stats, node->outputs[j]->name);
    if (s && s->channels != C) continue; /* shape changed between samples: keep the first */
    if (!s) {
      s = g_new0(PrunerActStats, 1);
      s->channels = C;
      s->sum_abs = g_new0(double, C);
      g_hash_table_insert(p->stats, g_strdup(node->outputs[j]->name), s);
    }
    const float *d = t->data;
    for (int64_t n = 0; n < N; n++)
      for (int64_t c = 0; c < C; c++) {
        const float *row = d + (n * C + c) * inner;
        double acc = 0;
        for (int64_t i = 0; i < inner; i++) acc += fabsf(row[i]);
        s->sum_abs[c] += acc;
      }
    s->count += (double)(N * inner);
  }
  return MSC_OK;
}

/* FLOPs of one Conv/Gemm/MatMul execution from its actual tensors (the
 * graph's dims may be symbolic). */
static double node_flops(const MscNode *n, const MscTensor *const *in, uint32_t n_in, const MscTensor *const *out,
                         uint32_t n_out) {
  if (n_in < 2 || n_out < 1 || !in[0] || !in[1] || !out[0]) return 0;
  const double o = (double)msc_tensor_numel(out[0]);
  if (!strcmp(n->op_type, "Conv") && in[1]->rank >= 3 && in[1]->dims[0] > 0)
    return 2.0 * o * (double)msc_tensor_numel(in[1]) / (double)in[1]->dims[0];
  if ((!strcmp(n->op_type, "Gemm") || !strcmp(n->op_type, "MatMul")) && in[0]->rank >= 1) {
    int64_t k = in[0]->dims[in[0]->rank - 1];
    if (!strcmp(n->op_type, "Gemm") && in[0]->rank == 2) {
      for (uint32_t i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, "transA") && n->attrs[i].type == MSC_ATTR_INT && n->attrs[i].i) k = in[0]->dims[0];
    }
    return 2.0 * o * (double)k;
  }
  return 0;
}

static MscStatus pruner_on_node(void *state, const MscNode *node, const MscTensor *const *inputs, uint32_t n_inputs,
                                const MscTensor *const *outputs, uint32_t n_outputs, double ms, MscMessage *msg) {
  Pruner *p = state;
  if (!p->in_run || node->index <= p->last_index) { /* a new sample starts */
    p->in_run = TRUE;
    p->capturing = (int)p->captured->len < p->o.refit_samples;
    if (p->capturing)
      g_ptr_array_add(p->captured, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)msc_tensor_free));
  }
  p->last_index = node->index;
  if (!p->capturing) return MSC_OK;
  if (p->captured->len == 1) p->sample_flops += node_flops(node, inputs, n_inputs, outputs, n_outputs);
  GHashTable *cur = g_ptr_array_index(p->captured, p->captured->len - 1);
  for (uint32_t k = 0; k < n_inputs; k++) {
    const MscValue *v = node->inputs[k];
    if (!v || !inputs[k] || !(v->flags & MSC_VALUE_GRAPH_INPUT) || g_hash_table_contains(cur, v->name)) continue;
    GError *e = NULL;
    MscTensor *c = msc_tensor_copy(inputs[k], &e);
    if (!c) {
      host->message_set(msg, "pruner: cannot keep graph input '%s': %s", v->name, e->message);
      g_error_free(e);
      return MSC_ERR_NOMEM;
    }
    g_hash_table_insert(cur, g_strdup(v->name), c);
  }
  return MSC_OK;
}

/* Samples the refit uses: all captured ones when refit_samples was given,
 * else as many as about PRUNER_REFIT_FLOPS of forward passes allow (three
 * models run side by side), at least PRUNER_REFIT_MIN_SAMPLES. */
static guint refit_sample_count(const Pruner *p, guint captured) {
  if (p->o.refit_samples_set || p->sample_flops <= 0) return captured;
  double cap = floor(PRUNER_REFIT_FLOPS / (3.0 * p->sample_flops));
  guint n = cap >= captured ? captured : MAX((guint)cap, (guint)PRUNER_REFIT_MIN_SAMPLES);
  return MIN(n, captured);
}

/* Samples with every graph input captured, as [sample][input]; count in *n. */
static MscTensor ***captured_inputs(Pruner *p, const MscGraph *g, guint *n) {
  MscTensor ***s = g_new0(MscTensor **, p->captured->len + 1);
  guint k = 0;
  for (guint i = 0; i < p->captured->len; i++) {
    GHashTable *h = g_ptr_array_index(p->captured, i);
    MscTensor **row = g_new0(MscTensor *, g->n_inputs + 1);
    gboolean all = TRUE;
    for (uint32_t j = 0; j < g->n_inputs; j++)
      if (!(row[j] = g_hash_table_lookup(h, g->inputs[j]->name))) all = FALSE;
    if (all) s[k++] = row;
    else g_free(row);
  }
  *n = k;
  return s;
}

static MscStatus fail_error(MscMessage *msg, GError *e) {
  MscStatus st = msc_status_from_error(e);
  host->message_set(msg, "pruner: %s", e->message);
  g_error_free(e);
  return st == MSC_OK ? MSC_ERR_INTERNAL : st;
}

static MscStatus pruner_plan(void *state, const MscGraph *graph, MscMessage *msg) {
  Pruner *p = state;
  GError *e = NULL;
  plan_clear(p);
  p->groups = pruner_groups_build(graph, &p->o);
  if (!pruner_score_groups(p->groups, &p->o, p->stats, p->notes, &e)) return fail_error(msg, e);
  if (p->o.criterion == PRUNER_ACTIVATION && g_hash_table_size(p->stats) == 0)
    g_string_append(p->notes, "criterion activation without calibration samples: scored by l1; ");
  if (!pruner_select(p->groups, graph, &p->o, &p->chosen_density, &e)) return fail_error(msg, e);
  p->masks = pruner_masks_from_groups(p->groups, &e);
  if (!p->masks) return fail_error(msg, e);
  guint n = 0;
  MscTensor ***samples = captured_inputs(p, graph, &n);
  if (n == 0) g_string_append(p->notes, "no calibration samples captured: no refit and no output error; ");
  guint used = refit_sample_count(p, n);
  if (used < n)
    g_string_append_printf(p->notes, "refit on %u of %u captured samples (%.2f GFLOP per sample); ", used, n,
                           p->sample_flops / 1e9);
  for (guint i = used; i < n; i++) g_free(samples[i]);
  n = used;
  gboolean ok = pruner_refit_run(graph, p->masks, samples, n, &p->o, &p->fit, p->notes, &e);
  if (ok) p->refits = g_ptr_array_ref(p->fit.refits);
  for (guint i = 0; i < n; i++) g_free(samples[i]);
  g_free(samples);
  if (!ok) return fail_error(msg, e);
  p->planned = TRUE;
  return MSC_OK;
}

static MscStatus pruner_apply(void *state, MscGraph *graph, MscMessage *msg) {
  Pruner *p = state;
  GError *e = NULL;
  if (!p->planned) {
    host->message_set(msg, "pruner: apply without a plan (call plan or load_plan first)");
    return MSC_ERR_INVALID_ARG;
  }
  GArray *rows = pruner_layer_rows(graph);
  double params_before = (double)msc_graph_param_count(graph), flops_before = (double)msc_graph_flops(graph);
  gboolean ok = pruner_slice_graph(graph, p->masks, &e) && pruner_install_refits(graph, NULL, p->refits, &e) &&
                msc_graph_verify(graph, &e);
  if (!ok) {
    pruner_layer_rows_free(rows);
    return fail_error(msg, e);
  }
  pruner_layer_rows_after(rows, graph);
  if (p->o.report) {
    PrunerReportData d = {p->groups, p->masks, p->refits, &p->fit, p->chosen_density, rows,
                          params_before, (double)msc_graph_param_count(graph), flops_before,
                          (double)msc_graph_flops(graph), &p->o, p->options_text, p->notes};
    ok = pruner_report_write(p->o.report, &d, &e);
  }
  pruner_layer_rows_free(rows);
  return ok ? MSC_OK : fail_error(msg, e);
}

static MscStatus pruner_export_plan(void *state, const char *path, MscMessage *msg) {
  Pruner *p = state;
  GError *e = NULL;
  if (!p->planned) {
    host->message_set(msg, "%s: pruner: nothing planned yet", path);
    return MSC_ERR_INVALID_ARG;
  }
  PrunerReportData d = {p->groups, p->masks, p->refits, NULL, p->chosen_density, NULL, 0, 0, 0, 0, &p->o,
                        p->options_text, p->notes};
  return pruner_plan_write(path, &d, &e) ? MSC_OK : fail_error(msg, e);
}

static MscStatus pruner_load_plan(void *state, const char *path, MscMessage *msg) {
  Pruner *p = state;
  GError *e = NULL;
  plan_clear(p);
  if (!pruner_plan_read(path, &p->masks, &p->refits, &e)) return fail_error(msg, e);
  g_string_append(p->notes, "applied from a saved plan: no output error measured; ");
  p->chosen_density = NAN;
  p->planned = TRUE;
  return MSC_OK;
}

static const MscToolApi pruner_api = {
    .struct_size = sizeof(MscToolApi),
    .name = "pruner",
    .doc = "structured channel pruning with physical removal, dependency groups and least-squares refit",
    .options = pruner_options,
    .n_options = G_N_ELEMENTS(pruner_options),
    .setup = pruner_setup,
    .observe = pruner_observe,
    .plan = pruner_plan,
    .apply = pruner_apply,
    .export_plan = pruner_export_plan,
    .destroy = pruner_destroy,
    .begin_stage = pruner_begin_stage,
    .on_node = pruner_on_node,
    .load_plan = pruner_load_plan,
};

static MscStatus pruner_init(const MscHostApi *h, MscPlugin *self, MscMessage *msg) {
  host = h;
  return h->registry_add(self, "msc.tool.pruner", (void *)&pruner_api, MSC_KIND_TOOL, pruner_api.doc, 0, msg);
}

MSC_PLUGIN_DEFINE("pruner", MSC_PLUGIN_TOOL, "0.1.0", "structured channel pruner (physical removal, refit)",
                  pruner_init);
