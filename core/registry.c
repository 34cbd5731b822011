/* registry.c: the global registry of named functions and objects. MT safe:
 * one mutex around a name-keyed hash table. */
#include "registry.h"

#include <string.h>

#include "error.h"

static GMutex reg_lock;
static GHashTable *reg_table; /* name -> MscRegEntry* (owned) */

static void entry_free(gpointer p) {
  MscRegEntry *e = p;
  msc_reg_entry_clear(e);
  g_free(e);
}

void msc_reg_entry_clear(MscRegEntry *e) {
  if (!e) return;
  g_clear_pointer(&e->name, g_free);
  g_clear_pointer(&e->owner, g_free);
  g_clear_pointer(&e->doc, g_free);
  e->ptr = NULL;
}

static GHashTable *table_locked(void) {
  if (!reg_table) reg_table = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, entry_free);
  return reg_table;
}

static const char *kind_name(MscRegKind k) {
  switch (k) {
    case MSC_REG_FUNCTION: return "function";
    case MSC_REG_OP: return "op";
    case MSC_REG_RUNNER: return "runner";
    case MSC_REG_TOOL: return "tool";
    case MSC_REG_OBJECT: return "object";
  }
  return "unknown";
}

gboolean msc_registry_add(const char *name, void *ptr, MscRegKind kind, const char *owner, const char *doc,
                          gboolean override, GError **error) {
  if (!name || !*name) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "registry: empty name");
    return FALSE;
  }
  if (!ptr) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "registry: '%s': NULL pointer", name);
    return FALSE;
  }
  if (kind < MSC_REG_FUNCTION || kind > MSC_REG_OBJECT) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "registry: '%s': unknown kind %d", name, (int)kind);
    return FALSE;
  }
  g_mutex_lock(&reg_lock);
  GHashTable *t = table_locked();
  MscRegEntry *old = g_hash_table_lookup(t, name);
  if (old && !override) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "registry: '%s' already registered by %s", name,
                  old->owner ? old->owner : "?");
    g_mutex_unlock(&reg_lock);
    return FALSE;
  }
  MscRegEntry *e = g_new0(MscRegEntry, 1);
  e->name = g_strdup(name);
  e->ptr = ptr;
  e->kind = kind;
  e->owner = g_strdup(owner ? owner : "core");
  e->doc = g_strdup(doc ? doc : "");
  g_hash_table_replace(t, e->name, e); /* frees the old entry */
  g_mutex_unlock(&reg_lock);
  return TRUE;
}

void *msc_registry_get(const char *name, MscRegKind kind, gboolean allow_missing, GError **error) {
  void *ptr = NULL;
  g_mutex_lock(&reg_lock);
  MscRegEntry *e = name ? g_hash_table_lookup(table_locked(), name) : NULL;
  if (!e) {
    if (!allow_missing) msc_set_error(error, MSC_ERR_INVALID_ARG, "registry: '%s' is not registered", name ? name : "(null)");
  } else if (kind && e->kind != kind) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "registry: '%s' is a %s, not a %s", name, kind_name(e->kind),
                  kind_name(kind));
  } else {
    ptr = e->ptr;
  }
  g_mutex_unlock(&reg_lock);
  return ptr;
}

gboolean msc_registry_lookup(const char *name, MscRegEntry *out) {
  gboolean found = FALSE;
  g_mutex_lock(&reg_lock);
  MscRegEntry *e = name ? g_hash_table_lookup(table_locked(), name) : NULL;
  if (e) {
    out->name = g_strdup(e->name);
    out->ptr = e->ptr;
    out->kind = e->kind;
    out->owner = g_strdup(e->owner);
    out->doc = g_strdup(e->doc);
    found = TRUE;
  }
  g_mutex_unlock(&reg_lock);
  return found;
}

gboolean msc_registry_remove(const char *name) {
  g_mutex_lock(&reg_lock);
  gboolean r = name && g_hash_table_remove(table_locked(), name);
  g_mutex_unlock(&reg_lock);
  return r;
}

static gboolean owned_by(gpointer key, gpointer value, gpointer owner) {
  return g_strcmp0(((MscRegEntry *)value)->owner, owner) == 0;
}

guint msc_registry_remove_owner(const char *owner) {
  g_mutex_lock(&reg_lock);
  guint n = g_hash_table_foreach_remove(table_locked(), owned_by, (gpointer)owner);
  g_mutex_unlock(&reg_lock);
  return n;
}

static gint cmp_entry(gconstpointer a, gconstpointer b) {
  return strcmp((*(MscRegEntry *const *)a)->name, (*(MscRegEntry *const *)b)->name);
}

GPtrArray *msc_registry_list(const char *prefix, MscRegKind kind) {
  GPtrArray *out = g_ptr_array_new_with_free_func(entry_free);
  g_mutex_lock(&reg_lock);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, table_locked());
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    MscRegEntry *e = v;
    if (prefix && !g_str_has_prefix(e->name, prefix)) continue;
    if (kind && e->kind != kind) continue;
    MscRegEntry *c = g_new0(MscRegEntry, 1);
    c->name = g_strdup(e->name);
    c->ptr = e->ptr;
    c->kind = e->kind;
    c->owner = g_strdup(e->owner);
    c->doc = g_strdup(e->doc);
    g_ptr_array_add(out, c);
  }
  g_mutex_unlock(&reg_lock);
  g_ptr_array_sort(out, cmp_entry);
  return out;
}

void msc_registry_reset(void) {
  g_mutex_lock(&reg_lock);
  if (reg_table) g_hash_table_remove_all(reg_table);
  g_mutex_unlock(&reg_lock);
}
