/* msc.c: the public embedding API (msc.h) over the GLib core. This file is
 * the edge where a GError becomes an MscStatus plus a message the caller
 * frees with msc_free(). */
#include "msc.h"

#include <string.h>

#include "error.h"
#include "graph.h"
#include "msc-config.h"
#include "onnx.h"
#include "config.h"
#include "pipeline.h"
#include "ops.h"
#include "plugin.h"
#include "session.h"
#include "tensor-io.h"
#include "tensor.h"
#include "zoo.h"

struct MscModel {
  gint refs; /* atomic: the caller's reference plus one per session */
  MscGraph *graph;
};

struct MscSessionHandle {
  MscModel *model; /* a reference */
  MscSession *session;
  MscRunHooks hooks;
};

/* Maps @e (consumed) to its status and hands its message to the caller. */
static MscStatus edge(GError *e, char **error_message) {
  MscStatus st = msc_status_from_error(e);
  if (st == MSC_OK) st = MSC_ERR_INTERNAL; /* a failure always has a non-OK status */
  if (error_message) *error_message = g_strdup(e ? e->message : msc_status_name(st));
  if (e) g_error_free(e);
  return st;
}

static MscStatus fail(char **error_message, MscStatus st, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static MscStatus fail(char **error_message, MscStatus st, const char *fmt, ...) {
  if (error_message) {
    va_list ap;
    va_start(ap, fmt);
    *error_message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
  }
  return st;
}

static void clear_message(char **error_message) {
  if (error_message) *error_message = NULL;
}

const char *msc_version(void) {
  return MSC_VERSION;
}

void msc_free(void *ptr) {
  g_free(ptr);
}

MscStatus msc_init(char **error_message) {
  static GMutex lock;
  static gboolean done;
  static MscStatus first_status = MSC_OK;
  static char *first_message;
  clear_message(error_message);
  g_mutex_lock(&lock);
  if (!done) {
    GError *e = NULL;
    if (!msc_ops_register_builtins(&e) || !msc_plugins_load_all(&e)) {
      first_status = msc_status_from_error(e);
      if (first_status == MSC_OK) first_status = MSC_ERR_INTERNAL;
      first_message = g_strdup_printf("msc_init: %s", e ? e->message : msc_status_name(first_status));
      g_clear_error(&e);
    }
    done = TRUE;
  }
  MscStatus st = first_status;
  if (st != MSC_OK && error_message) *error_message = g_strdup(first_message);
  g_mutex_unlock(&lock);
  return st;
}

static MscModel *model_wrap(MscGraph *g) {
  MscModel *m = g_new0(MscModel, 1);
  m->refs = 1;
  m->graph = g;
  return m;
}

static MscModel *model_ref(MscModel *m) {
  g_atomic_int_inc(&m->refs);
  return m;
}

static void model_unref(MscModel *m) {
  if (m && g_atomic_int_dec_and_test(&m->refs)) {
    msc_graph_free(m->graph);
    g_free(m);
  }
}

/* Verifies @g (consumed) and wraps it; @what prefixes verify errors. */
static MscStatus model_finish(MscGraph *g, const char *what, MscModel **out, char **error_message) {
  GError *e = NULL;
  if (!msc_graph_verify(g, &e)) {
    g_prefix_error(&e, "%s: ", what);
    msc_graph_free(g);
    return edge(e, error_message);
  }
  *out = model_wrap(g);
  return MSC_OK;
}

MscStatus msc_model_load(const char *path, MscModel **out, char **error_message) {
  clear_message(error_message);
  if (out) *out = NULL;
  if (!path || !out)
    return fail(error_message, MSC_ERR_INVALID_ARG, "msc_model_load: %s is NULL", !path ? "path" : "out");
  MscStatus st = msc_init(error_message);
  if (st != MSC_OK) return st;
  GError *e = NULL;
  MscGraph *g = msc_onnx_load_file(path, &e);
  if (!g) return edge(e, error_message);
  return model_finish(g, path, out, error_message);
}

MscStatus msc_model_load_buffer(const void *data, size_t len, MscModel **out, char **error_message) {
  clear_message(error_message);
  if (out) *out = NULL;
  if ((!data && len) || !out)
    return fail(error_message, MSC_ERR_INVALID_ARG, "msc_model_load_buffer: %s is NULL", !out ? "out" : "data");
  MscStatus st = msc_init(error_message);
  if (st != MSC_OK) return st;
  GError *e = NULL;
  MscGraph *g = msc_onnx_load_buffer(data, len, "<buffer>", &e);
  if (!g) return edge(e, error_message);
  return model_finish(g, "<buffer>", out, error_message);
}

MscStatus msc_model_zoo(const char *name, MscModel **out, char **error_message) {
  clear_message(error_message);
  if (out) *out = NULL;
  if (!name || !out)
    return fail(error_message, MSC_ERR_INVALID_ARG, "msc_model_zoo: %s is NULL", !name ? "name" : "out");
  MscStatus st = msc_init(error_message);
  if (st != MSC_OK) return st;
  GError *e = NULL;
  MscGraph *g = msc_zoo_build(name, &e);
  if (!g) return edge(e, error_message);
  g_autofree char *what = g_strdup_printf("zoo model '%s'", name);
  return model_finish(g, what, out, error_message);
}

MscStatus msc_model_save(const MscModel *model, const char *path, char **error_message) {
  clear_message(error_message);
  if (!model || !path)
    return fail(error_message, MSC_ERR_INVALID_ARG, "msc_model_save: %s is NULL", !model ? "model" : "path");
  GError *e = NULL;
  if (!msc_onnx_save_file(model->graph, path, &e)) return edge(e, error_message);
  return MSC_OK;
}

const MscGraph *msc_model_graph(const MscModel *model) {
  return model ? model->graph : NULL;
}

void msc_model_free(MscModel *model) {
  model_unref(model);
}

MscStatus msc_session_create_with_options(MscModel *model, const char *runner, const char *const *keys,
                                          const char *const *values, uint32_t n_options, MscSessionHandle **out,
                                          char **error_message) {
  clear_message(error_message);
  if (out) *out = NULL;
  if (!model || !out)
    return fail(error_message, MSC_ERR_INVALID_ARG, "msc_session_create: %s is NULL", !model ? "model" : "out");
  if (n_options && (!keys || !values))
    return fail(error_message, MSC_ERR_INVALID_ARG, "msc_session_create: %u options but %s is NULL", n_options,
                !keys ? "keys" : "values");
  for (uint32_t i = 0; i < n_options; i++)
    if (!keys[i] || !values[i])
      return fail(error_message, MSC_ERR_INVALID_ARG, "msc_session_create: option %u has a NULL %s", i,
                  !keys[i] ? "key" : "value");
  MscStatus st = msc_init(error_message);
  if (st != MSC_OK) return st;
  MscOptions opts = {keys, values, n_options};
  GError *e = NULL;
  MscSession *s = msc_session_new(model->graph, runner ? runner : "ref", &opts, &e);
  if (!s) return edge(e, error_message);
  MscSessionHandle *h = g_new0(MscSessionHandle, 1);
  h->model = model_ref(model);
  h->session = s;
  *out = h;
  return MSC_OK;
}

MscStatus msc_session_create(MscModel *model, const char *runner, MscSessionHandle **out, char **error_message) {
  return msc_session_create_with_options(model, runner, NULL, NULL, 0, out, error_message);
}

MscStatus msc_session_set_node_hook(MscSessionHandle *session, MscNodeHook hook, void *user) {
  if (!session) return MSC_ERR_INVALID_ARG;
  session->hooks.on_node = hook;
  session->hooks.user = hook ? user : NULL;
  return MSC_OK;
}

MscStatus msc_session_execute(MscSessionHandle *session, const MscTensor *const *inputs, uint32_t n_inputs,
                              MscTensor ***outputs, uint32_t *n_outputs, char **error_message) {
  clear_message(error_message);
  if (outputs) *outputs = NULL;
  if (n_outputs) *n_outputs = 0;
  if (!session || !outputs || (n_inputs && !inputs))
    return fail(error_message, MSC_ERR_INVALID_ARG, "msc_session_execute: %s is NULL",
                !session ? "session" : !outputs ? "outputs" : "inputs");
  /* Name what is missing or extra: "model takes 1 inputs, got 0" alone
   * does not tell the caller which tensor to pass. */
  const MscGraph *g = session->model->graph;
  if (n_inputs != g->n_inputs) {
    g_autoptr(GString) names = g_string_new(NULL);
    for (uint32_t i = 0; i < g->n_inputs; i++)
      g_string_append_printf(names, "%s'%s'", i ? ", " : "", g->inputs[i]->name);
    if (n_inputs < g->n_inputs)
      return fail(error_message, MSC_ERR_INVALID_ARG, "input '%s': missing (the model takes %u inputs: %s; got %u)",
                  g->inputs[n_inputs]->name, g->n_inputs, names->str, n_inputs);
    return fail(error_message, MSC_ERR_INVALID_ARG, "model takes %u inputs (%s), got %u", g->n_inputs,
                g->n_inputs ? names->str : "none", n_inputs);
  }
  GError *e = NULL;
  MscTensor **out = NULL;
  const MscRunHooks *hooks = session->hooks.on_node ? &session->hooks : NULL;
  if (!msc_session_run(session->session, inputs, n_inputs, &out, hooks, &e)) return edge(e, error_message);
  *outputs = out;
  if (n_outputs) *n_outputs = session->model->graph->n_outputs;
  return MSC_OK;
}

void msc_session_destroy(MscSessionHandle *session) {
  if (!session) return;
  msc_session_free(session->session);
  model_unref(session->model);
  g_free(session);
}

MscTensor *msc_tensor_create(MscDType dtype, int32_t rank, const int64_t *dims, char **error_message) {
  clear_message(error_message);
  if (rank > 0 && !dims) {
    fail(error_message, MSC_ERR_INVALID_ARG, "msc_tensor_create: dims is NULL for rank %d", rank);
    return NULL;
  }
  GError *e = NULL;
  MscTensor *t = msc_tensor_new(dtype, rank, dims, &e);
  if (!t) edge(e, error_message);
  return t;
}

void msc_tensor_destroy(MscTensor *tensor) {
  msc_tensor_free(tensor);
}

MscStatus msc_tensor_read(const char *path, MscTensor **out, char **error_message) {
  clear_message(error_message);
  if (out) *out = NULL;
  if (!path || !out)
    return fail(error_message, MSC_ERR_INVALID_ARG, "msc_tensor_read: %s is NULL", !path ? "path" : "out");
  GError *e = NULL;
  MscTensor *t = msc_tensor_load_file(path, &e);
  if (!t) return edge(e, error_message);
  *out = t;
  return MSC_OK;
}

MscStatus msc_tensor_write(const MscTensor *tensor, const char *path, char **error_message) {
  clear_message(error_message);
  if (!tensor || !path)
    return fail(error_message, MSC_ERR_INVALID_ARG, "msc_tensor_write: %s is NULL", !tensor ? "tensor" : "path");
  GError *e = NULL;
  if (!msc_tensor_save_file(tensor, path, &e)) return edge(e, error_message);
  return MSC_OK;
}

MscStatus msc_optimize(const char *config_path, char **report_json, char **error_message) {
  if (report_json) *report_json = NULL;
  if (error_message) *error_message = NULL;
  if (!config_path) {
    if (error_message) *error_message = g_strdup("msc_optimize: config_path is NULL");
    return MSC_ERR_INVALID_ARG;
  }
  MscStatus st = msc_init(error_message);
  if (st != MSC_OK) return st;
  GError *e = NULL;
  MscConfig *cfg = msc_config_load_file(config_path, &e);
  JsonNode *report = NULL;
  gboolean ok = cfg && msc_pipeline_run(cfg, NULL, &report, &e);
  msc_config_free(cfg);
  if (report && report_json) *report_json = msc_pipeline_report_text(report);
  if (report) json_node_unref(report);
  if (ok) return MSC_OK;
  st = e ? msc_status_from_error(e) : MSC_ERR_INTERNAL;
  if (st == MSC_OK) st = MSC_ERR_INTERNAL;
  if (error_message) *error_message = g_strdup(e ? e->message : "msc_optimize: failed");
  g_clear_error(&e);
  return st;
}
