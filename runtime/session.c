/* session.c: binds a graph to a runner plugin (compile + one run context). */
#include "session.h"

#include "error.h"
#include "registry.h"
#include "tensor.h"

struct MscSession {
  const MscGraph *graph;
  const MscRunnerApi *api;
  void *compiled;
  void *context;
};

static gboolean fail_msg(GError **error, MscStatus st, const char *prefix, MscMessage *m) {
  msc_set_error(error, st, "%s: %s", prefix, m->text ? m->text : msc_status_name(st));
  g_free(m->text);
  m->text = NULL;
  return FALSE;
}

MscSession *msc_session_new(const MscGraph *graph, const char *runner, const MscOptions *options, GError **error) {
  g_autofree char *key = g_strdup_printf("msc.runner.%s", runner);
  const MscRunnerApi *api = msc_registry_get(key, MSC_REG_RUNNER, TRUE, NULL);
  if (!api) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "runner '%s' is not available (see `msc plugins`)", runner);
    return NULL;
  }
  MscSession *s = g_new0(MscSession, 1);
  s->graph = graph;
  s->api = api;
  MscMessage m = {0};
  MscOptions none = {0};
  MscStatus st = api->compile(graph, options ? options : &none, &s->compiled, &m);
  if (st != MSC_OK) {
    g_autofree char *p = g_strdup_printf("runner '%s': compile", runner);
    fail_msg(error, st, p, &m);
    g_free(s);
    return NULL;
  }
  st = api->context_create(s->compiled, &s->context, &m);
  if (st != MSC_OK) {
    g_autofree char *p = g_strdup_printf("runner '%s': context", runner);
    fail_msg(error, st, p, &m);
    api->compiled_destroy(s->compiled);
    g_free(s);
    return NULL;
  }
  return s;
}

void msc_session_free(MscSession *s) {
  if (!s) return;
  if (s->context) s->api->context_destroy(s->context);
  if (s->compiled) s->api->compiled_destroy(s->compiled);
  g_free(s);
}

/* A graph value's declared shape with symbolic dims by name: [N,3,64,64]. */
static char *value_shape(const MscValue *v, char *buf, size_t size) {
  if (v->rank < 0) return msc_shape_format(v->rank, v->dims, buf, size);
  size_t off = g_strlcpy(buf, "[", size);
  for (int32_t k = 0; k < v->rank && off < size; k++) {
    if (v->dims[k] >= 0) off += g_snprintf(buf + off, size - off, "%s%" G_GINT64_FORMAT, k ? "," : "", v->dims[k]);
    else off += g_snprintf(buf + off, size - off, "%s%s", k ? "," : "", v->dim_params[k] ? v->dim_params[k] : "?");
  }
  if (off < size) g_strlcpy(buf + off, "]", size - off);
  return buf;
}

gboolean msc_session_check_inputs(const MscGraph *g, const MscTensor *const *inputs, uint32_t n, GError **error) {
  char a[200], b[200];
  if (n != g->n_inputs) {
    g_autoptr(GString) names = g_string_new("");
    for (uint32_t i = 0; i < g->n_inputs; i++) g_string_append_printf(names, "%s'%s'", i ? ", " : "", g->inputs[i]->name);
    msc_set_error(error, MSC_ERR_INVALID_ARG, "model takes %u input%s (%s), got %u", g->n_inputs,
                  g->n_inputs == 1 ? "" : "s", names->str, n);
    return FALSE;
  }
  for (uint32_t i = 0; i < n; i++) {
    const MscValue *v = g->inputs[i];
    const MscTensor *t = inputs[i];
    if (!t || !t->data) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "input '%s': missing", v->name);
      return FALSE;
    }
    if (v->dtype != MSC_DTYPE_UNDEFINED && t->dtype != v->dtype) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "input '%s': expected dtype %s, got %s", v->name,
                    msc_dtype_name(v->dtype), msc_dtype_name(t->dtype));
      return FALSE;
    }
    if (!msc_dtype_is_supported(t->dtype)) {
      msc_set_error(error, MSC_ERR_UNSUPPORTED, "input '%s': UNSUPPORTED dtype %s", v->name, msc_dtype_name(t->dtype));
      return FALSE;
    }
    gboolean ok = v->rank < 0 || v->rank == t->rank;
    for (int32_t k = 0; ok && v->rank >= 0 && k < v->rank; k++) ok = v->dims[k] < 0 || v->dims[k] == t->dims[k];
    int64_t numel = msc_shape_numel(t->rank, t->dims);
    if (ok && (numel < 0 || (size_t)numel * msc_dtype_size(t->dtype) > t->nbytes)) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "input '%s': shape %s does not match its %zu data bytes", v->name,
                    msc_shape_format(t->rank, t->dims, b, sizeof b), t->nbytes);
      return FALSE;
    }
    if (!ok) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "input '%s': expected shape %s, got %s", v->name,
                    value_shape(v, a, sizeof a), msc_shape_format(t->rank, t->dims, b, sizeof b));
      return FALSE;
    }
  }
  return TRUE;
}

gboolean msc_session_run(MscSession *s, const MscTensor *const *inputs, uint32_t n_inputs, MscTensor ***outputs,
                         const MscRunHooks *hooks, GError **error) {
  if (!msc_session_check_inputs(s->graph, inputs, n_inputs, error)) return FALSE;
  uint32_t no = s->graph->n_outputs;
  MscTensor **out = g_new0(MscTensor *, no ? no : 1);
  MscMessage m = {0};
  MscStatus st = s->api->run(s->context, inputs, n_inputs, out, no, hooks, &m);
  if (st != MSC_OK) {
    g_free(out);
    g_autofree char *p = g_strdup_printf("runner '%s'", s->api->name);
    return fail_msg(error, st, p, &m);
  }
  *outputs = out;
  return TRUE;
}
