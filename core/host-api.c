/* host-api.c: the MscHostApi table handed to plugins, on top of the core.
 * Append-only (SQLite's discipline): new entries go at the end of the
 * struct in msc-plugin.h under a "since 1.N" comment; retired slots stay
 * NULL. Every entry converts the core's GError into MscStatus + message. */
#include <stddef.h>
#include <stdarg.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "ops.h"
#include "plugin.h"
#include "registry.h"
#include "tensor.h"

#define DEFAULT_DOMAIN "msc-plugin"

/* Plugins pass their MscPlugin back on calls that act as an owner; a
 * stale or foreign pointer is a plugin bug we report instead of using. */
static gboolean plugin_ok(const MscPlugin *self) {
  return self != NULL && self->magic == MSC_PLUGIN_MAGIC && self->name != NULL;
}

/* Stores a GError (or a fallback) in @msg; returns the status. */
static MscStatus status_from_gerror(MscMessage *msg, GError *err) {
  MscStatus st = err ? msc_status_from_error(err) : MSC_ERR_INTERNAL;
  if (st == MSC_OK) st = MSC_ERR_INTERNAL; /* an error with code 0 is still an error */
  if (msg) {
    g_free(msg->text);
    msg->text = g_strdup(err ? err->message : "unknown error");
  }
  g_clear_error(&err);
  return st;
}

static void host_message_set(MscMessage *msg, const char *fmt, ...) {
  if (!msg || !fmt) return;
  va_list ap;
  va_start(ap, fmt);
  char *text = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  /* messages are one line: fold any newline a plugin slipped in */
  for (char *c = text; *c; c++)
    if (*c == '\n' || *c == '\r') *c = ' ';
  g_free(msg->text);
  msg->text = text;
}

/* Interfaces the host will call later are checked now (Redis-style
 * versioned structs): a struct smaller than the 1.0 layout, or a missing
 * entry point, is refused at registration instead of crashing a run. */
static gboolean check_interface(const MscPlugin *self, const char *name, const void *ptr, MscKind kind,
                                MscMessage *msg) {
  uint32_t have = 0;
  size_t need = 0;
  const char *missing = NULL;
  if (kind == MSC_KIND_RUNNER) {
    const MscRunnerApi *r = ptr;
    have = r->struct_size;
    need = sizeof(MscRunnerApi);
    if (have >= need)
      missing = !r->compile ? "compile" : !r->context_create ? "context_create" : !r->run ? "run"
              : !r->context_destroy ? "context_destroy" : !r->compiled_destroy ? "compiled_destroy" : NULL;
  } else if (kind == MSC_KIND_TOOL) {
    const MscToolApi *t = ptr;
    have = t->struct_size;
    need = offsetof(MscToolApi, begin_stage); /* the 1.0 prefix; later fields are optional */
    if (have >= need)
      missing = !t->setup ? "setup" : !t->observe ? "observe" : !t->plan ? "plan" : !t->apply ? "apply"
              : !t->export_plan ? "export_plan" : !t->destroy ? "destroy" : NULL;
  } else if (kind == MSC_KIND_OP) {
    const MscOpDef *d = ptr;
    have = d->struct_size;
    need = sizeof(MscOpDef);
    if (have >= need) missing = !d->op_type || !*d->op_type ? "op_type" : !d->infer ? "infer" : !d->run ? "run" : NULL;
  } else {
    return TRUE;
  }
  if (have < need) {
    host_message_set(msg, "plugin '%s': registry_add: '%s': struct_size %u, host reads %zu", self->name, name,
                     (unsigned)have, need);
    return FALSE;
  }
  if (missing) {
    host_message_set(msg, "plugin '%s': registry_add: '%s': %s is NULL", self->name, name, missing);
    return FALSE;
  }
  return TRUE;
}

static MscStatus host_registry_add(MscPlugin *self, const char *name, void *ptr, MscKind kind, const char *doc,
                                   int override, MscMessage *msg) {
  if (!plugin_ok(self)) {
    host_message_set(msg, "registry_add: '%s': invalid plugin handle", name ? name : "(null)");
    return MSC_ERR_INVALID_ARG;
  }
  if (!name || !*name || !ptr) {
    host_message_set(msg, "plugin '%s': registry_add: %s", self->name, !ptr ? "NULL pointer" : "empty name");
    return MSC_ERR_INVALID_ARG;
  }
  if (kind < MSC_KIND_FUNCTION || kind > MSC_KIND_OBJECT) {
    host_message_set(msg, "plugin '%s': registry_add: '%s': invalid kind %d (expected 1..5)", self->name, name,
                     (int)kind);
    return MSC_ERR_INVALID_ARG;
  }
  if (!check_interface(self, name, ptr, kind, msg)) return MSC_ERR_ABI;
  GError *err = NULL;
  if (!msc_registry_add(name, ptr, (MscRegKind)kind, self->name, doc, override != 0, &err))
    return status_from_gerror(msg, err);
  return MSC_OK;
}

static void *host_registry_get(const char *name, MscKind kind) {
  if (!name) return NULL;
  return msc_registry_get(name, (MscRegKind)kind, TRUE, NULL);
}

/* Removes @name only when @self owns it: a plugin must not be able to
 * unregister the core's or another plugin's entries. */
static int host_registry_remove(MscPlugin *self, const char *name) {
  if (!plugin_ok(self) || !name) return 0;
  MscRegEntry e = {0};
  if (!msc_registry_lookup(name, &e)) return 0;
  gboolean mine = g_strcmp0(e.owner, self->name) == 0;
  msc_reg_entry_clear(&e);
  if (!mine) return 0;
  return msc_registry_remove(name) ? 1 : 0;
}

/* MSC_LOG threshold: -1 when unset (GLib decides), else 0..3, or -2 for
 * "none". Read on every call so tests and long-lived hosts can change it. */
static int log_threshold(void) {
  const char *v = g_getenv("MSC_LOG");
  if (!v || !*v) return -1;
  if (!g_ascii_strcasecmp(v, "none") || !g_ascii_strcasecmp(v, "quiet") || !strcmp(v, "-1")) return -2;
  if (!g_ascii_strcasecmp(v, "error") || !strcmp(v, "0")) return MSC_LOG_ERROR;
  if (!g_ascii_strcasecmp(v, "warning") || !g_ascii_strcasecmp(v, "warn") || !strcmp(v, "1")) return MSC_LOG_WARNING;
  if (!g_ascii_strcasecmp(v, "info") || !strcmp(v, "2")) return MSC_LOG_INFO;
  if (!g_ascii_strcasecmp(v, "debug") || !strcmp(v, "3")) return MSC_LOG_DEBUG;
  return -1;
}

void msc_host_log_text(MscLogLevel level, const char *domain, const char *text) {
  if (!domain || !*domain) domain = DEFAULT_DOMAIN;
  if (!text) text = "";
  if ((int)level < MSC_LOG_ERROR || level > MSC_LOG_DEBUG) level = MSC_LOG_WARNING;
  int thr = log_threshold();
  if (thr == -2 || (thr >= 0 && (int)level > thr)) return;
  GLogLevelFlags gl;
  switch (level) {
    case MSC_LOG_ERROR:
    case MSC_LOG_WARNING: gl = G_LOG_LEVEL_WARNING; break;
    case MSC_LOG_INFO: gl = G_LOG_LEVEL_INFO; break;
    default: gl = G_LOG_LEVEL_DEBUG; break;
  }
  /* MSC_LOG=info/debug asked for these lines: raise them to MESSAGE so a
   * host on GLib's default handler shows them without G_MESSAGES_DEBUG
   * (the msc CLI's handler files MESSAGE under "info" and still applies
   * its own -q/-v level). */
  if (thr >= MSC_LOG_INFO && level >= MSC_LOG_INFO) gl = G_LOG_LEVEL_MESSAGE;
  if (level == MSC_LOG_ERROR)
    g_log(domain, gl, "error: %s", text);
  else
    g_log(domain, gl, "%s", text);
}

static void host_log(MscLogLevel level, const char *domain, const char *fmt, ...) {
  if (!fmt) return;
  va_list ap;
  va_start(ap, fmt);
  char *text = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  msc_host_log_text(level, domain, text);
  g_free(text);
}

static void *host_alloc(size_t nbytes) {
  return msc_aligned_alloc0(nbytes);
}

static void host_free(void *p) {
  msc_aligned_free(p);
}

static MscTensor *host_tensor_new(MscDType dtype, int32_t rank, const int64_t *dims) {
  return msc_tensor_new(dtype, rank, dims, NULL);
}

static void host_tensor_free(MscTensor *t) {
  msc_tensor_free(t);
}

static const MscOpDef *host_op_lookup(const char *domain, const char *op_type, int64_t opset) {
  if (!op_type) return NULL;
  return msc_op_lookup(domain ? domain : "", op_type, opset);
}

static MscStatus host_op_register(MscPlugin *self, const MscOpDef *def, int override, MscMessage *msg) {
  if (!plugin_ok(self)) {
    host_message_set(msg, "op_register: invalid plugin handle");
    return MSC_ERR_INVALID_ARG;
  }
  if (!def || !def->op_type || !*def->op_type || !def->infer || !def->run) {
    host_message_set(msg, "plugin '%s': op_register: %s", self->name,
                     !def ? "NULL definition" : "definition needs op_type, infer and run");
    return MSC_ERR_INVALID_ARG;
  }
  if (def->struct_size < sizeof(MscOpDef)) {
    host_message_set(msg, "plugin '%s': op_register: %s: struct_size %u, host reads %zu", self->name, def->op_type,
                     (unsigned)def->struct_size, sizeof(MscOpDef));
    return MSC_ERR_ABI;
  }
  GError *err = NULL;
  if (!msc_op_register(def, self->name, override != 0, &err)) return status_from_gerror(msg, err);
  return MSC_OK;
}

static MscStatus host_node_execute(const MscNode *node, const MscTensor *const *inputs, MscTensor **outputs,
                                   MscMessage *msg) {
  if (!node || (node->n_outputs && !outputs) || (node->n_inputs && !inputs)) {
    host_message_set(msg, "node_execute: NULL node or tensor array");
    return MSC_ERR_INVALID_ARG;
  }
  GError *err = NULL;
  if (!msc_node_execute(node, inputs, outputs, &err)) return status_from_gerror(msg, err);
  return MSC_OK;
}

static const MscHostApi host_api = {
    .abi_major = MSC_ABI_MAJOR,
    .abi_minor = MSC_ABI_MINOR,
    .struct_size = (uint32_t)sizeof(MscHostApi),
    /* since 1.0 */
    .registry_add = host_registry_add,
    .registry_get = host_registry_get,
    .registry_remove = host_registry_remove,
    .message_set = host_message_set,
    .log = host_log,
    .alloc = host_alloc,
    .free = host_free,
    .tensor_new = host_tensor_new,
    .tensor_free = host_tensor_free,
    .op_lookup = host_op_lookup,
    .op_register = host_op_register,
    .node_execute = host_node_execute,
};

const MscHostApi *msc_host_api(void) {
  return &host_api;
}
