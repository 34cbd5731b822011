/* limits.c: process-wide resource limits (see limits.h). */
#include "msc-limits.h"

#include <glib.h>

#include "error.h"

static GMutex limits_lock;
static gboolean limits_ready; /* guarded by limits_lock */
static MscLimits limits_now;  /* guarded by limits_lock */

MscLimits
msc_limits_defaults(void)
{
  MscLimits l = {
    .model_bytes = MSC_LIMIT_DEFAULT_MODEL_BYTES,
    .tensor_elements = MSC_LIMIT_DEFAULT_TENSOR_ELEMENTS,
    .graph_nodes = MSC_LIMIT_DEFAULT_GRAPH_NODES,
    .total_bytes = MSC_LIMIT_DEFAULT_TOTAL_BYTES,
    .nesting = MSC_LIMIT_DEFAULT_NESTING,
  };
  return l;
}

int
msc_limits_parse_value(const char *s, uint64_t *out)
{
  if (s == NULL || out == NULL || !g_ascii_isdigit(s[0]))
    return FALSE;
  uint64_t v = 0;
  const char *p = s;
  for (; g_ascii_isdigit(*p); p++) {
    uint64_t d = (uint64_t)(*p - '0');
    if (v > (G_MAXUINT64 - d) / 10)
      return FALSE;
    v = v * 10 + d;
  }
  unsigned shift = 0;
  switch (*p) {
  case '\0': break;
  case 'k': case 'K': shift = 10; p++; break;
  case 'm': case 'M': shift = 20; p++; break;
  case 'g': case 'G': shift = 30; p++; break;
  case 't': case 'T': shift = 40; p++; break;
  default: return FALSE;
  }
  if (*p != '\0' || v == 0)
    return FALSE;
  if (shift && v > (G_MAXUINT64 >> shift))
    return FALSE;
  *out = v << shift;
  return TRUE;
}

int
msc_limits_apply_env(MscLimits *limits, GError **error)
{
  g_return_val_if_fail(limits != NULL, FALSE);
  struct {
    const char *name;
    uint64_t *field;
  } vars[] = {
    {MSC_LIMIT_ENV_MODEL_BYTES, &limits->model_bytes},
    {MSC_LIMIT_ENV_TENSOR_ELEMENTS, &limits->tensor_elements},
    {MSC_LIMIT_ENV_GRAPH_NODES, &limits->graph_nodes},
    {MSC_LIMIT_ENV_TOTAL_BYTES, &limits->total_bytes},
    {MSC_LIMIT_ENV_NESTING, &limits->nesting},
  };
  gboolean ok = TRUE;
  for (size_t i = 0; i < G_N_ELEMENTS(vars); i++) {
    const char *s = g_getenv(vars[i].name);
    if (s == NULL)
      continue;
    uint64_t v = 0;
    gboolean parsed = msc_limits_parse_value(s, &v);
    gboolean too_deep = parsed && vars[i].field == &limits->nesting && v > MSC_LIMIT_MAX_NESTING;
    if (parsed && !too_deep) {
      *vars[i].field = v;
      continue;
    }
    if (ok) { /* report the first bad one; keep applying the rest */
      g_autofree char *shown = g_strescape(s, NULL);
      if (too_deep)
        msc_set_error(error, MSC_ERR_INVALID_ARG,
                      "%s='%s' ignored: above the maximum %" G_GUINT64_FORMAT
                      " (deeper nesting would overflow the parser's stack); keeping %" G_GUINT64_FORMAT,
                      vars[i].name, shown, MSC_LIMIT_MAX_NESTING, *vars[i].field);
      else
        msc_set_error(error, MSC_ERR_INVALID_ARG,
                      "%s='%s' ignored: not a positive integer (optional K/M/G/T suffix); "
                      "keeping %" G_GUINT64_FORMAT,
                      vars[i].name, shown, *vars[i].field);
    }
    ok = FALSE;
  }
  return ok;
}

/* Defaults plus environment; reports a bad variable once on stderr (a
 * library has no better channel at first use, and a silent default would
 * hide the typo). Called with limits_lock held. */
static void
limits_load_locked(void)
{
  MscLimits l = msc_limits_defaults();
  GError *err = NULL;
  if (!msc_limits_apply_env(&l, &err)) {
    g_printerr("msc: %s\n", err->message);
    g_error_free(err);
  }
  limits_now = l;
  limits_ready = TRUE;
}

MscLimits
msc_limits_get(void)
{
  g_mutex_lock(&limits_lock);
  if (!limits_ready)
    limits_load_locked();
  MscLimits l = limits_now;
  g_mutex_unlock(&limits_lock);
  return l;
}

int
msc_limits_set(const MscLimits *limits)
{
  if (limits && (limits->model_bytes == 0 || limits->tensor_elements == 0 ||
                 limits->graph_nodes == 0 || limits->total_bytes == 0 || limits->nesting == 0 ||
                 limits->nesting > MSC_LIMIT_MAX_NESTING))
    return FALSE;
  g_mutex_lock(&limits_lock);
  if (limits) {
    limits_now = *limits;
    limits_ready = TRUE;
  } else {
    limits_load_locked();
  }
  g_mutex_unlock(&limits_lock);
  return TRUE;
}

char *
msc_limits_format_bytes(uint64_t bytes)
{
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024)
    return g_strdup_printf("%" G_GUINT64_FORMAT " bytes", bytes);
  unsigned u = 0;
  while (u + 1 < G_N_ELEMENTS(units) && bytes >= ((uint64_t)1024 << (10 * (u + 1))))
    u++;
  uint64_t unit = (uint64_t)1024 << (10 * u);
  if (bytes % unit == 0)
    return g_strdup_printf("%" G_GUINT64_FORMAT " %s", bytes / unit, units[u]);
  return g_strdup_printf("%.1f %s", (double)bytes / (double)unit, units[u]);
}
