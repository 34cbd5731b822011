/* tool-run.c: one tool on one model (see tool-run.h). */
#include "tool-run.h"

#include <math.h>
#include <string.h>

#include "dataset.h"
#include "error.h"
#include "graph.h"
#include "tensor-io.h"
#include "tensor.h"
#include "worker.h"

#define CALIB_DEFAULT 32

/* Output j of both models over every held-out sample. */
typedef struct {
  double dot, n1, n2, max_abs;
  guint top1_agree, top1_total;
  gboolean compared;
} OutStat;

static gint64 argmax_row(const float *p, gint64 n) {
  gint64 best = 0;
  for (gint64 i = 1; i < n; i++)
    if (p[i] > p[best]) best = i;
  return best;
}

static void accumulate(OutStat *s, const MscTensor *a, const MscTensor *b) {
  if (a->dtype != MSC_DTYPE_FLOAT32 || b->dtype != MSC_DTYPE_FLOAT32 || a->nbytes != b->nbytes) return;
  s->compared = TRUE;
  const float *x = a->data, *y = b->data;
  gint64 n = msc_tensor_numel(a);
  for (gint64 i = 0; i < n; i++) {
    s->dot += (double)x[i] * y[i];
    s->n1 += (double)x[i] * x[i];
    s->n2 += (double)y[i] * y[i];
    s->max_abs = fmax(s->max_abs, fabs((double)x[i] - y[i]));
  }
  /* class scores: [N, classes] (or [classes]) */
  gint64 cls = a->rank >= 1 ? a->dims[a->rank - 1] : 0;
  if ((a->rank == 2 || a->rank == 1) && cls > 1)
    for (gint64 r = 0; r < n / cls; r++) {
      s->top1_total++;
      s->top1_agree += argmax_row(x + r * cls, cls) == argmax_row(y + r * cls, cls);
    }
}

static double cosine(const OutStat *s) {
  if (s->n1 == 0 && s->n2 == 0) return 1.0;
  if (s->n1 == 0 || s->n2 == 0) return 0.0;
  return s->dot / sqrt(s->n1 * s->n2);
}

/* Runs both models on @ds and fills "heldout". */
static JsonObject *evaluate(MscWorker *before, MscWorker *after, const MscDataset *ds, const char *runner,
                            GError **error) {
  if (!msc_worker_build(before, runner, NULL, error) || !msc_worker_build(after, runner, NULL, error)) return NULL;
  const MscGraph *g = msc_worker_graph(before);
  guint no = g->n_outputs;
  g_autofree OutStat *st = g_new0(OutStat, MAX(no, 1));
  for (guint k = 0; k < ds->n_samples; k++) {
    MscTensor **a = NULL, **b = NULL;
    if (!msc_worker_run(before, ds->inputs[k], &a, NULL, error)) return NULL;
    if (!msc_worker_run(after, ds->inputs[k], &b, NULL, error)) {
      for (guint j = 0; j < no; j++) msc_tensor_free(a[j]);
      g_free(a);
      return NULL;
    }
    for (guint j = 0; j < no; j++) {
      if (a[j] && b[j]) accumulate(&st[j], a[j], b[j]);
      msc_tensor_free(a[j]);
      msc_tensor_free(b[j]);
    }
    g_free(a);
    g_free(b);
  }
  JsonObject *h = json_object_new();
  json_object_set_int_member(h, "samples", ds->n_samples);
  json_object_set_string_member(h, "runner", runner);
  JsonArray *outs = json_array_new();
  for (guint j = 0; j < no; j++) {
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "name", g->outputs[j]->name);
    json_object_set_boolean_member(o, "compared", st[j].compared);
    if (st[j].compared) {
      json_object_set_double_member(o, "cosine", cosine(&st[j]));
      json_object_set_double_member(o, "max_abs", st[j].max_abs);
      if (st[j].top1_total) {
        json_object_set_int_member(o, "top1_agree", st[j].top1_agree);
        json_object_set_int_member(o, "top1_total", st[j].top1_total);
      }
    }
    json_array_add_object_element(outs, o);
  }
  json_object_set_array_member(h, "outputs", outs);
  return h;
}

static gboolean write_json_object(JsonObject *o, const char *path, GError **error) {
  g_autoptr(JsonNode) n = json_node_init_object(json_node_alloc(), o);
  g_autofree char *text = json_to_string(n, TRUE);
  g_autofree char *nl = g_strconcat(text, "\n", NULL);
  return msc_file_write_atomic(path, (const uint8_t *)nl, strlen(nl), error);
}

/* Adds "heldout" to the tool's own JSON report at @path. */
static gboolean merge_report(const char *path, JsonObject *heldout, GError **error) {
  g_autoptr(JsonParser) p = json_parser_new();
  g_autoptr(GError) e = NULL;
  if (!json_parser_load_from_file(p, path, &e) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: the tool's report is not a JSON object%s%s", path, e ? ": " : "",
                  e ? e->message : "");
    return FALSE;
  }
  JsonObject *o = json_node_get_object(json_parser_get_root(p));
  json_object_set_object_member(o, "heldout", json_object_ref(heldout));
  return write_json_object(o, path, error);
}

/* The tool's option @key as set in @cfg, NULL when unset. (transfer full) */
static char *option_value(const MscConfig *cfg, const char *section, const char *key) {
  MscOptions *o = msc_config_to_options(cfg, section);
  char *v = NULL;
  for (uint32_t i = 0; o && i < o->n && !v; i++)
    if (!strcmp(o->keys[i], key)) v = g_strdup(o->values[i]);
  msc_config_options_free(o);
  return v;
}

static gboolean step_failed(GError **error, const char *step) {
  if (error && *error) g_prefix_error(error, "%s: ", step);
  return FALSE;
}

static void graph_counts(JsonObject *s, const char *suffix, const MscGraph *g, size_t bytes) {
  char key[32];
  g_snprintf(key, sizeof key, "params_%s", suffix);
  json_object_set_int_member(s, key, msc_graph_param_count(g));
  g_snprintf(key, sizeof key, "flops_%s", suffix);
  json_object_set_int_member(s, key, msc_graph_flops(g));
  g_snprintf(key, sizeof key, "bytes_%s", suffix);
  json_object_set_int_member(s, key, (gint64)bytes);
}

gboolean msc_tool_run(const MscConfig *cfg, const MscToolRun *run, JsonObject **summary, GError **error) {
  g_autofree char *section = g_strdup_printf("tool.%s", run->tool);
  MscGraph *graph = msc_config_load_model(cfg, error);
  if (!graph) return step_failed(error, "load");
  g_autoptr(MscWorker) w = msc_worker_new(graph, error);
  if (!w) return step_failed(error, "load");
  uint8_t *orig = NULL;
  size_t orig_len = 0;
  if (!msc_worker_serialize(w, &orig, &orig_len, NULL, error)) return step_failed(error, "load");
  g_autofree uint8_t *orig_bytes = orig;
  g_autoptr(JsonObject) sum = json_object_new();
  json_object_set_string_member(sum, "tool", run->tool);
  json_object_set_string_member(sum, "output", run->output);
  graph_counts(sum, "before", msc_worker_graph(w), orig_len);

  MscOptions *opts = msc_config_to_options(cfg, section);
  MscToolHandle *t = msc_tool_handle_new(run->tool, opts, error);
  msc_config_options_free(opts);
  if (!t) return FALSE; /* the message names the tool and setup */
  gboolean ok = FALSE;
  g_autofree char *plan = run->plan_out ? g_strdup(run->plan_out) : g_strdup_printf("%s.plan.json", run->output);
  g_autofree char *stage = g_strdup_printf("%s:%s", run->phase, run->tool);
  if (run->plan_in) {
    if (!msc_tool_load_plan(t, run->plan_in, error)) {
      step_failed(error, "load plan");
      goto out;
    }
    json_object_set_string_member(sum, "plan", run->plan_in);
    json_object_set_boolean_member(sum, "plan_reused", TRUE);
  } else {
    g_autoptr(MscDataset) calib = msc_dataset_from_config_range(cfg, msc_worker_graph(w), 0, 0, error);
    if (!calib) {
      step_failed(error, "calibration data");
      goto out;
    }
    json_object_set_int_member(sum, "calibration_samples", calib->n_samples);
    if (!msc_worker_build(w, "ref", NULL, error) || !msc_tool_begin_stage(t, stage, error) ||
        !msc_worker_observe(w, calib, calib->n_samples, &t, 1, error)) {
      step_failed(error, "calibrate");
      goto out;
    }
    if (!msc_tool_plan(t, msc_worker_graph(w), error)) {
      step_failed(error, "plan");
      goto out;
    }
    if (!msc_tool_export_plan(t, plan, error)) {
      step_failed(error, "export plan");
      goto out;
    }
    json_object_set_string_member(sum, "plan", plan);
    json_object_set_boolean_member(sum, "plan_reused", FALSE);
  }
  if (!msc_worker_apply_tool(w, t, error)) {
    step_failed(error, "apply");
    goto out;
  }
  uint8_t *after = NULL;
  size_t after_len = 0;
  if (!msc_worker_serialize(w, &after, &after_len, NULL, error)) {
    step_failed(error, "write");
    goto out;
  }
  gboolean written = msc_file_write_atomic(run->output, after, after_len, error);
  g_free(after);
  if (!written) {
    step_failed(error, "write");
    goto out;
  }
  graph_counts(sum, "after", msc_worker_graph(w), after_len);
  if (run->eval_samples) {
    guint skip = run->plan_in ? 0 : (guint)json_object_get_int_member(sum, "calibration_samples");
    g_autoptr(GError) e = NULL;
    g_autoptr(MscDataset) held = msc_dataset_from_config_range(cfg, msc_worker_graph(w), skip, run->eval_samples, &e);
    if (!held) {
      /* a folder with no samples left: say so, the model is written */
      json_object_set_string_member(sum, "heldout_skipped", e->message);
    } else {
      g_autoptr(MscWorker) before = msc_worker_new_from_buffer(orig_bytes, orig_len, "original", error);
      if (!before) {
        step_failed(error, "evaluate");
        goto out;
      }
      JsonObject *h = evaluate(before, w, held, run->eval_runner ? run->eval_runner : "ref", error);
      if (!h) {
        step_failed(error, "evaluate");
        goto out;
      }
      json_object_set_object_member(sum, "heldout", h);
      g_autofree char *report = option_value(cfg, section, "report");
      if (report && *report && g_file_test(report, G_FILE_TEST_IS_REGULAR) && !merge_report(report, h, error)) {
        step_failed(error, "report");
        goto out;
      }
    }
  }
  ok = TRUE;
out:
  msc_tool_handle_free(t);
  if (ok && summary) *summary = g_steal_pointer(&sum);
  return ok;
}
