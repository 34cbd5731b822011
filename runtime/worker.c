/* worker.c: a model with its runner build, checks, benchmark and tools. */
#include "worker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "onnx.h"
#include "registry.h"
#include "session.h"
#include "tensor.h"

struct MscWorker {
  MscGraph *graph;
  MscSession *session;
  char *runner;
};

struct MscToolHandle {
  char *name;
  const MscToolApi *api;
  void *state;
};

static gboolean tool_fail(GError **error, const MscToolHandle *t, const char *step, MscStatus st, MscMessage *m) {
  msc_set_error(error, st, "tool '%s': %s: %s", t->name, step, m->text ? m->text : msc_status_name(st));
  g_free(m->text);
  m->text = NULL;
  return FALSE;
}

MscWorker *msc_worker_new(MscGraph *graph, GError **error) {
  if (!msc_graph_verify(graph, error)) {
    msc_graph_free(graph);
    return NULL;
  }
  MscWorker *w = g_new0(MscWorker, 1);
  w->graph = graph;
  return w;
}

MscWorker *msc_worker_new_from_buffer(const uint8_t *data, size_t len, const char *name, GError **error) {
  MscGraph *g = msc_onnx_load_buffer(data, len, name, error);
  return g ? msc_worker_new(g, error) : NULL;
}

void msc_worker_free(MscWorker *w) {
  if (!w) return;
  msc_session_free(w->session);
  msc_graph_free(w->graph);
  g_free(w->runner);
  g_free(w);
}

const MscGraph *msc_worker_graph(const MscWorker *w) {
  return w->graph;
}

const char *msc_worker_runner(const MscWorker *w) {
  return w->session ? w->runner : NULL;
}

gboolean msc_worker_serialize(const MscWorker *w, uint8_t **data, size_t *len, char **sha256, GError **error) {
  if (!msc_onnx_save_buffer(w->graph, data, len, error)) return FALSE;
  if (sha256) *sha256 = g_compute_checksum_for_data(G_CHECKSUM_SHA256, *data, *len);
  return TRUE;
}

gboolean msc_worker_build(MscWorker *w, const char *runner, const MscOptions *options, GError **error) {
  msc_session_free(w->session);
  w->session = NULL;
  g_free(w->runner);
  w->runner = g_strdup(runner);
  w->session = msc_session_new(w->graph, runner, options, error);
  return w->session != NULL;
}

gboolean msc_worker_run(MscWorker *w, MscTensor *const *inputs, MscTensor ***outputs, const MscRunHooks *hooks,
                        GError **error) {
  if (!w->session && !msc_worker_build(w, "ref", NULL, error)) return FALSE;
  if (!msc_session_check_inputs(w->graph, (const MscTensor *const *)inputs, w->graph->n_inputs, error)) return FALSE;
  return msc_session_run(w->session, (const MscTensor *const *)inputs, w->graph->n_inputs, outputs, hooks, error);
}

static void free_outputs(const MscWorker *w, MscTensor **out) {
  for (uint32_t j = 0; out && j < w->graph->n_outputs; j++) msc_tensor_free(out[j]);
  g_free(out);
}

static gint cmp_double(gconstpointer a, gconstpointer b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

gboolean msc_worker_benchmark(MscWorker *w, MscTensor *const *inputs, int warmup, int repeat, MscBenchResult *out,
                              GError **error) {
  memset(out, 0, sizeof *out);
  out->warmup = warmup;
  out->repeat = repeat;
  g_autofree double *ms = g_new(double, MAX(repeat, 1));
  for (int i = 0; i < warmup + repeat; i++) {
    MscTensor **o = NULL;
    gint64 t0 = g_get_monotonic_time();
    if (!msc_worker_run(w, inputs, &o, NULL, error)) return FALSE;
    gint64 t1 = g_get_monotonic_time();
    free_outputs(w, o);
    if (i >= warmup) ms[i - warmup] = (double)(t1 - t0) / 1e3;
  }
  qsort(ms, (size_t)repeat, sizeof *ms, (GCompareFunc)cmp_double);
  double sum = 0;
  for (int i = 0; i < repeat; i++) sum += ms[i];
  out->min_ms = ms[0];
  out->median_ms = repeat % 2 ? ms[repeat / 2] : (ms[repeat / 2 - 1] + ms[repeat / 2]) / 2;
  out->mean_ms = sum / repeat;
  return TRUE;
}

void msc_check_accumulate(const MscTensor *got, const MscTensor *want, const MscCheckSpec *spec, MscCheckResult *r) {
  char a[160], b[160];
  if (got->dtype != want->dtype || got->rank != want->rank ||
      memcmp(got->dims, want->dims, sizeof(int64_t) * (size_t)got->rank)) {
    r->passed = FALSE;
    if (!r->failure[0])
      g_snprintf(r->failure, sizeof r->failure, "output '%s': got %s %s, want %s %s", want->name ? want->name : "?",
                 msc_dtype_name(got->dtype), msc_shape_format(got->rank, got->dims, a, sizeof a),
                 msc_dtype_name(want->dtype), msc_shape_format(want->rank, want->dims, b, sizeof b));
    return;
  }
  gboolean elementwise = !isnan(spec->atol) || !isnan(spec->rtol);
  double atol = isnan(spec->atol) ? 0 : spec->atol, rtol = isnan(spec->rtol) ? 0 : spec->rtol;
  MscCompareResult c = {0};
  msc_tensor_compare(got, want, rtol, atol, &c);
  r->n += c.n;
  if (elementwise) r->n_bad += c.n_bad;
  if (c.max_abs > r->max_abs || isnan(c.max_abs)) r->max_abs = c.max_abs;
  if (c.max_rel > r->max_rel || isnan(c.max_rel)) r->max_rel = c.max_rel;
  if (msc_dtype_is_float(want->dtype)) {
    double dot = 0, ng = 0, nw = 0;
    int64_t n = msc_tensor_numel(want);
    for (int64_t i = 0; i < n; i++) {
      double x = msc_tensor_get_f64(got, i), y = msc_tensor_get_f64(want, i);
      dot += x * y;
      ng += x * x;
      nw += y * y;
    }
    /* two zero tensors agree; one zero tensor is orthogonal to the other */
    double cosv = ng == 0 && nw == 0 ? 1.0 : (ng == 0 || nw == 0) ? 0.0 : dot / sqrt(ng * nw);
    if (isnan(cosv) || cosv < r->min_cosine) r->min_cosine = cosv;
    if (!isnan(spec->cosine) && !(cosv >= spec->cosine)) {
      r->passed = FALSE;
      if (!r->failure[0])
        g_snprintf(r->failure, sizeof r->failure, "output '%s': cosine %.6f < %g", want->name ? want->name : "?", cosv,
                   spec->cosine);
    }
  }
}

void msc_check_topk(const MscTensor *logits, gint64 label, MscCheckResult *r) {
  if (!logits || logits->rank < 1 || !msc_dtype_is_float(logits->dtype)) return;
  int64_t c = logits->dims[logits->rank - 1];
  if (c <= 0 || label < 0) return;
  r->n_labeled++;
  if (label >= c) return;
  double v = msc_tensor_get_f64(logits, label);
  int64_t above = 0;
  for (int64_t i = 0; i < c; i++) {
    double x = msc_tensor_get_f64(logits, i);
    if (x > v || (x == v && i < label)) above++;
  }
  if (above < 1) r->top1++;
  if (above < 5) r->top5++;
}

gboolean msc_worker_check(MscWorker *w, const MscDataset *ds, const MscCheckSpec *spec, MscCheckResult *out,
                          GError **error) {
  memset(out, 0, sizeof *out);
  out->passed = TRUE;
  out->min_cosine = 1.0;
  if (ds->n_outputs != w->graph->n_outputs) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "the model has %u outputs, the golden data %u", w->graph->n_outputs,
                  ds->n_outputs);
    return FALSE;
  }
  /* element-wise checks per sample; the cosine per output over all samples
   * flattened together (one borderline sample of a 2-class softmax does
   * not decide it alone) */
  MscCheckSpec elementwise = *spec;
  elementwise.cosine = NAN;
  g_autofree double *acc = g_new0(double, 3 * (gsize)MAX(ds->n_outputs, 1));
  for (guint k = 0; k < ds->n_samples; k++) {
    MscTensor **o = NULL;
    if (!msc_worker_run(w, ds->inputs[k], &o, NULL, error)) {
      g_prefix_error(error, "sample %u: ", k);
      return FALSE;
    }
    for (guint j = 0; j < ds->n_outputs; j++) {
      const MscTensor *got = o[j], *want = ds->golden[k][j];
      msc_check_accumulate(got, want, &elementwise, out);
      if (!got || !msc_dtype_is_float(want->dtype) || msc_tensor_numel(got) != msc_tensor_numel(want)) continue;
      for (int64_t i = 0, n = msc_tensor_numel(want); i < n; i++) {
        double x = msc_tensor_get_f64(got, i), y = msc_tensor_get_f64(want, i);
        acc[3 * j] += x * y;
        acc[3 * j + 1] += x * x;
        acc[3 * j + 2] += y * y;
      }
    }
    if (ds->labels && ds->n_outputs > 0) msc_check_topk(o[0], ds->labels[k], out);
    free_outputs(w, o);
  }
  out->min_cosine = 1.0; /* the per-sample values msc_check_accumulate kept */
  for (guint j = 0; j < ds->n_outputs && ds->n_samples; j++) {
    if (!msc_dtype_is_float(ds->golden[0][j]->dtype)) continue;
    double dot = acc[3 * j], ng = acc[3 * j + 1], nw = acc[3 * j + 2];
    double cosv = ng == 0 && nw == 0 ? 1.0 : (ng == 0 || nw == 0) ? 0.0 : dot / sqrt(ng * nw);
    if (isnan(cosv) || cosv < out->min_cosine) out->min_cosine = cosv;
    if (!isnan(spec->cosine) && !(cosv >= spec->cosine)) {
      out->passed = FALSE;
      if (!out->failure[0])
        g_snprintf(out->failure, sizeof out->failure, "output '%s': cosine %.6f < %g over %u samples",
                   ds->golden[0][j]->name ? ds->golden[0][j]->name : "?", cosv, spec->cosine, ds->n_samples);
    }
  }
  out->error_rate = out->n ? (double)out->n_bad / (double)out->n : 0;
  if (!isnan(spec->max_error_rate) && out->error_rate > spec->max_error_rate) {
    if (!out->failure[0])
      g_snprintf(out->failure, sizeof out->failure,
                 "%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " elements outside atol+rtol*|ref| (rate %.3g > %g; max abs error %.3g)",
                 out->n_bad, out->n, out->error_rate, spec->max_error_rate, out->max_abs);
    out->passed = FALSE;
  }
  return TRUE;
}

/* ---- tools ---- */

typedef struct {
  MscToolHandle *const *tools;
  guint n;
  MscMessage msg;
  guint failed; /* index + 1 of the tool that stopped the run */
} ObserveCtx;

static int observe_hook(void *user, MscHookPhase phase, const MscNode *node, const MscTensor *const *in, uint32_t ni,
                        const MscTensor *const *out, uint32_t no, double ms) {
  ObserveCtx *c = user;
  if (phase != MSC_HOOK_AFTER) return 0;
  for (guint i = 0; i < c->n; i++) {
    const MscToolHandle *t = c->tools[i];
    MscStatus st = t->api->observe(t->state, node, out, no, &c->msg);
    if (st == MSC_OK && MSC_TOOL_HAS(t->api, on_node)) st = t->api->on_node(t->state, node, in, ni, out, no, ms, &c->msg);
    if (st != MSC_OK) {
      c->failed = i + 1;
      return 1;
    }
  }
  return 0;
}

gboolean msc_worker_observe(MscWorker *w, const MscDataset *ds, guint max_samples, MscToolHandle *const *tools,
                            guint n_tools, GError **error) {
  ObserveCtx c = {tools, n_tools, {0}, 0};
  MscRunHooks hooks = {observe_hook, &c};
  guint n = MIN(max_samples, ds->n_samples);
  for (guint k = 0; k < n; k++) {
    MscTensor **o = NULL;
    if (!msc_worker_run(w, ds->inputs[k], &o, &hooks, error)) {
      if (c.failed) {
        g_clear_error(error);
        return tool_fail(error, tools[c.failed - 1], "observe", MSC_ERR_INVALID_ARG, &c.msg);
      }
      g_free(c.msg.text);
      return FALSE;
    }
    free_outputs(w, o);
  }
  g_free(c.msg.text);
  return TRUE;
}

gboolean msc_worker_apply_tool(MscWorker *w, MscToolHandle *t, GError **error) {
  MscMessage m = {0};
  /* runners may point into the graph until compiled_destroy: drop the
   * build before the tool rewrites it */
  msc_session_free(w->session);
  w->session = NULL;
  MscStatus st = t->api->apply(t->state, w->graph, &m);
  if (st != MSC_OK) return tool_fail(error, t, "apply", st, &m);
  if (!msc_graph_verify(w->graph, error)) {
    g_prefix_error(error, "tool '%s': apply: the rewritten graph does not verify: ", t->name);
    return FALSE;
  }
  return TRUE;
}

gboolean msc_worker_export(const MscWorker *w, const char *path, GError **error) {
  return msc_onnx_save_file(w->graph, path, error);
}

MscToolHandle *msc_tool_handle_new(const char *name, const MscOptions *options, GError **error) {
  g_autofree char *key = g_strdup_printf("msc.tool.%s", name);
  const MscToolApi *api = msc_registry_get(key, MSC_REG_TOOL, TRUE, NULL);
  if (!api) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "tool '%s' is not registered (see `msc plugins`)", name);
    return NULL;
  }
  MscToolHandle *t = g_new0(MscToolHandle, 1);
  t->name = g_strdup(name);
  t->api = api;
  MscMessage m = {0};
  MscOptions none = {0};
  MscStatus st = api->setup(options ? options : &none, &t->state, &m);
  if (st != MSC_OK) {
    tool_fail(error, t, "setup", st, &m);
    t->state = NULL;
    msc_tool_handle_free(t);
    return NULL;
  }
  return t;
}

void msc_tool_handle_free(MscToolHandle *t) {
  if (!t) return;
  if (t->state) t->api->destroy(t->state);
  g_free(t->name);
  g_free(t);
}

const char *msc_tool_handle_name(const MscToolHandle *t) {
  return t->name;
}

gboolean msc_tool_handle_can_load(const MscToolHandle *t) {
  return MSC_TOOL_HAS(t->api, load_plan);
}

gboolean msc_tool_begin_stage(MscToolHandle *t, const char *stage, GError **error) {
  if (!MSC_TOOL_HAS(t->api, begin_stage)) return TRUE;
  MscMessage m = {0};
  MscStatus st = t->api->begin_stage(t->state, stage, &m);
  return st == MSC_OK || tool_fail(error, t, "begin_stage", st, &m);
}

gboolean msc_tool_plan(MscToolHandle *t, const MscGraph *g, GError **error) {
  MscMessage m = {0};
  MscStatus st = t->api->plan(t->state, g, &m);
  return st == MSC_OK || tool_fail(error, t, "plan", st, &m);
}

gboolean msc_tool_load_plan(MscToolHandle *t, const char *path, GError **error) {
  if (!msc_tool_handle_can_load(t)) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "tool '%s' cannot load plans", t->name);
    return FALSE;
  }
  MscMessage m = {0};
  MscStatus st = t->api->load_plan(t->state, path, &m);
  return st == MSC_OK || tool_fail(error, t, "load_plan", st, &m);
}

gboolean msc_tool_export_plan(MscToolHandle *t, const char *path, GError **error) {
  MscMessage m = {0};
  MscStatus st = t->api->export_plan(t->state, path, &m);
  return st == MSC_OK || tool_fail(error, t, "export_plan", st, &m);
}
