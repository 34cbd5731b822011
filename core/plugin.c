/* plugin.c: the plugin loader. The ladder, search order and message
 * format are documented in plugin.h and docs/plugin-abi.md. */
#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "msc-config.h"
#include "registry.h"

/* Deepest subdirectory level scanned below a search directory
 * (build/plugins/runners/ref/x.so is at depth 2). */
#define SCAN_MAX_DEPTH 3
#define NAME_MAX_LEN 64

/* The loader state. Recursive: a plugin's init may call back into the
 * loader (msc_plugin_find, even a nested load) on the same thread. */
static GRecMutex loader_lock;
static GPtrArray *loaded;   /* MscPlugin *, load order */
static GPtrArray *failures; /* MscPluginFailure *, scan order */

void msc_plugin_failure_free(MscPluginFailure *f) {
  if (!f) return;
  g_free(f->path);
  g_free(f->message);
  g_free(f);
}

static void plugin_free(MscPlugin *p) {
  if (!p) return;
  p->magic = 0;
  g_free(p->name);
  g_free(p->path);
  g_free(p->real_path);
  g_free(p->version);
  g_free(p->description);
  g_free(p);
}

static void ensure_state(void) {
  if (!loaded) loaded = g_ptr_array_new();
  if (!failures) failures = g_ptr_array_new_with_free_func((GDestroyNotify)msc_plugin_failure_free);
}

const char *msc_plugin_kind_name(MscPluginKind kind) {
  switch (kind) {
    case MSC_PLUGIN_TOOL: return "tool";
    case MSC_PLUGIN_RUNNER: return "runner";
    case MSC_PLUGIN_OP: return "op";
  }
  return "invalid";
}

static MscPlugin *find_locked(const char *name) {
  for (guint i = 0; loaded && i < loaded->len; i++) {
    MscPlugin *p = g_ptr_array_index(loaded, i);
    if (g_strcmp0(p->name, name) == 0) return p;
  }
  return NULL;
}

static MscPlugin *find_by_real_path_locked(const char *real_path) {
  for (guint i = 0; real_path && loaded && i < loaded->len; i++) {
    MscPlugin *p = g_ptr_array_index(loaded, i);
    if (g_strcmp0(p->real_path, real_path) == 0) return p;
  }
  return NULL;
}

/* Sets the one-line refusal "<file>: <check>: <reason>". */
G_GNUC_PRINTF(5, 6)
static void refuse(GError **error, MscStatus status, const char *file, const char *check, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *reason = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  msc_set_error(error, status, "%s: %s: %s", file, check, reason);
  g_free(reason);
}

static gboolean name_is_valid(const char *name) {
  if (strlen(name) > NAME_MAX_LEN) return FALSE;
  for (const char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')) return FALSE;
  return TRUE;
}

/* A world-writable file or directory lets any local user swap the code
 * we are about to run. The sticky bit does not help for the file itself,
 * so we refuse regardless (like the exec checks of other loaders). */
static gboolean check_not_world_writable(const char *file, const char *dir, GError **error) {
  struct stat st;
  if (stat(dir, &st) == 0 && (st.st_mode & S_IWOTH)) {
    refuse(error, MSC_ERR_ABI, file, "permissions", "directory '%s' is world-writable (mode %04o)", dir,
           (unsigned)(st.st_mode & 07777));
    return FALSE;
  }
  return TRUE;
}

/* dlerror() usually starts with "<path>: "; drop it since our line
 * already names the file. */
static const char *strip_path_prefix(const char *msg, const char *path) {
  size_t n = strlen(path);
  if (msg && strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') return msg + n + 2;
  return msg ? msg : "unknown dlopen error";
}

/* The ladder. Called with the loader lock held. */
static MscPlugin *load_file_locked(const char *path, GError **error) {
  struct stat st;
  ensure_state();

  /* stat */
  if (stat(path, &st) != 0) {
    int e = errno;
    refuse(error, MSC_ERR_IO, path, "stat", "%s", g_strerror(e));
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    refuse(error, MSC_ERR_IO, path, "stat", "not a regular file");
    return NULL;
  }
  g_autofree char *real_path = realpath(path, NULL);
  if (!real_path) {
    int e = errno;
    refuse(error, MSC_ERR_IO, path, "stat", "cannot resolve path: %s", g_strerror(e));
    return NULL;
  }
  MscPlugin *same = find_by_real_path_locked(real_path);
  if (same) return same;

  /* permissions */
  if (st.st_mode & S_IWOTH) {
    refuse(error, MSC_ERR_ABI, path, "permissions", "file is world-writable (mode %04o)",
           (unsigned)(st.st_mode & 07777));
    return NULL;
  }
  g_autofree char *dir = g_path_get_dirname(path);
  g_autofree char *real_dir = g_path_get_dirname(real_path);
  if (!check_not_world_writable(path, dir, error)) return NULL;
  if (strcmp(dir, real_dir) != 0 && !check_not_world_writable(path, real_dir, error)) return NULL;

  /* dlopen: RTLD_LOCAL keeps one plugin's symbols from binding another's */
  dlerror();
  void *handle = dlopen(real_path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *de = dlerror();
    refuse(error, MSC_ERR_ABI, path, "dlopen", "%s", strip_path_prefix(strip_path_prefix(de, real_path), path));
    return NULL;
  }

  /* symbol */
  dlerror();
  const MscPluginDescriptor *desc = dlsym(handle, "msc_plugin_descriptor");
  if (!desc) {
    refuse(error, MSC_ERR_ABI, path, "symbol", "no msc_plugin_descriptor symbol");
    dlclose(handle);
    return NULL;
  }

  /* abi: the first three fields never move, so they are safe to read */
  if (desc->abi_major != MSC_ABI_MAJOR || desc->abi_minor > MSC_ABI_MINOR) {
    refuse(error, MSC_ERR_ABI, path, "abi", "ABI %u.%u, host supports %u.%u%s", (unsigned)desc->abi_major,
           (unsigned)desc->abi_minor, (unsigned)MSC_ABI_MAJOR, (unsigned)MSC_ABI_MINOR,
           desc->abi_major != MSC_ABI_MAJOR ? " (major differs)" : " (plugin needs a newer host)");
    dlclose(handle);
    return NULL;
  }

  /* struct_size: read nothing past what the plugin says it has */
  if (desc->struct_size < sizeof(MscPluginDescriptor)) {
    refuse(error, MSC_ERR_ABI, path, "struct_size", "descriptor is %u bytes, host reads %zu",
           (unsigned)desc->struct_size, sizeof(MscPluginDescriptor));
    dlclose(handle);
    return NULL;
  }

  /* name */
  const char *name = desc->name;
  if (!name || !*name) {
    refuse(error, MSC_ERR_INVALID_ARG, path, "name", "empty name");
    dlclose(handle);
    return NULL;
  }
  if (!name_is_valid(name)) {
    g_autofree char *shown = g_strescape(name, NULL);
    refuse(error, MSC_ERR_INVALID_ARG, path, "name", "'%.80s' is not a valid name (1-%d of [a-z0-9_-])", shown,
           NAME_MAX_LEN);
    dlclose(handle);
    return NULL;
  }
  /* "core" owns the built-ins: a plugin of that name could remove them */
  if (strcmp(name, "core") == 0) {
    refuse(error, MSC_ERR_INVALID_ARG, path, "name", "'core' is reserved for the built-ins");
    dlclose(handle);
    return NULL;
  }
  MscPlugin *taken = find_locked(name);
  if (taken) {
    refuse(error, MSC_ERR_INVALID_ARG, path, "name", "'%s' already taken by the plugin loaded from %s", name,
           taken->path);
    dlclose(handle);
    return NULL;
  }

  /* kind */
  if (desc->kind != MSC_PLUGIN_TOOL && desc->kind != MSC_PLUGIN_RUNNER && desc->kind != MSC_PLUGIN_OP) {
    refuse(error, MSC_ERR_ABI, path, "kind", "invalid kind %d (expected 1=tool, 2=runner, 3=op)", (int)desc->kind);
    dlclose(handle);
    return NULL;
  }
  if (!desc->init) {
    refuse(error, MSC_ERR_ABI, path, "init", "descriptor has no init function");
    dlclose(handle);
    return NULL;
  }

  MscPlugin *p = g_new0(MscPlugin, 1);
  p->magic = MSC_PLUGIN_MAGIC;
  p->name = g_strdup(name);
  p->path = g_strdup(path);
  p->real_path = g_strdup(real_path);
  p->kind = desc->kind;
  p->version = g_strdup(desc->version ? desc->version : "");
  p->description = g_strdup(desc->description ? desc->description : "");
  p->abi_major = desc->abi_major;
  p->abi_minor = desc->abi_minor;
  p->handle = handle;
  p->desc = desc;
  /* Listed before init so the name is taken during init (nested loads). */
  g_ptr_array_add(loaded, p);

  /* init */
  MscMessage msg = {NULL};
  MscStatus st_init = desc->init(msc_host_api(), p, &msg);
  if (st_init != MSC_OK) {
    guint removed = msc_registry_remove_owner(p->name);
    g_autofree char *rolled = removed ? g_strdup_printf(" (rolled back %u registry entr%s)", removed,
                                                        removed == 1 ? "y" : "ies")
                                      : g_strdup("");
    refuse(error, st_init > 0 && st_init <= MSC_ERR_INTERNAL ? st_init : MSC_ERR_INTERNAL, path, "init",
           "failed with %s (%d): %s%s", msc_status_name(st_init), (int)st_init,
           msg.text && *msg.text ? msg.text : "(no message)", rolled);
    g_free(msg.text);
    g_ptr_array_remove(loaded, p);
    plugin_free(p);
    dlclose(handle);
    return NULL;
  }
  g_free(msg.text); /* a message on success carries nothing we keep */
  return p;
}

MscPlugin *msc_plugin_load_file(const char *path, GError **error) {
  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  g_rec_mutex_lock(&loader_lock);
  MscPlugin *p = load_file_locked(path, error);
  g_rec_mutex_unlock(&loader_lock);
  return p;
}

/* Records a refusal once (load_all may run several times). */
static void record_failure_locked(const char *path, const char *message) {
  ensure_state();
  for (guint i = 0; i < failures->len; i++) {
    MscPluginFailure *f = g_ptr_array_index(failures, i);
    if (strcmp(f->path, path) == 0 && strcmp(f->message, message) == 0) return;
  }
  MscPluginFailure *f = g_new0(MscPluginFailure, 1);
  f->path = g_strdup(path);
  f->message = g_strdup(message);
  g_ptr_array_add(failures, f);
}

static gint cmp_str(gconstpointer a, gconstpointer b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Collects "*.so" regular files below @dir in sorted order. Skips hidden
 * entries and meson's "*.p" object dirs. */
static void scan_dir(const char *dir, int depth, GPtrArray *files) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d) return;
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *n;
  while ((n = g_dir_read_name(d))) {
    if (n[0] == '.') continue;
    g_ptr_array_add(names, g_strdup(n));
  }
  g_dir_close(d);
  g_ptr_array_sort(names, cmp_str);
  for (guint i = 0; i < names->len; i++) {
    const char *name = g_ptr_array_index(names, i);
    char *full = g_build_filename(dir, name, NULL);
    if (g_str_has_suffix(name, ".so") && g_file_test(full, G_FILE_TEST_IS_REGULAR)) {
      g_ptr_array_add(files, full);
      continue;
    }
    if (depth < SCAN_MAX_DEPTH && !g_str_has_suffix(name, ".p") && g_file_test(full, G_FILE_TEST_IS_DIR))
      scan_dir(full, depth + 1, files);
    g_free(full);
  }
  g_ptr_array_unref(names);
}

static void load_dir_locked(const char *dir, GHashTable *seen_dirs) {
  g_autofree char *real_dir = realpath(dir, NULL);
  if (!real_dir || !g_file_test(real_dir, G_FILE_TEST_IS_DIR)) {
    g_log(MSC_PLUGIN_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, "plugin dir %s: not a directory, skipped", dir);
    return;
  }
  if (!g_hash_table_add(seen_dirs, g_strdup(real_dir))) return; /* listed twice */
  GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
  scan_dir(dir, 0, files);
  for (guint i = 0; i < files->len; i++) {
    const char *file = g_ptr_array_index(files, i);
    GError *err = NULL;
    MscPlugin *p = load_file_locked(file, &err);
    if (!p) {
      record_failure_locked(file, err->message);
      msc_host_log_text(MSC_LOG_INFO, MSC_PLUGIN_LOG_DOMAIN, err->message);
      g_error_free(err);
    }
  }
  g_ptr_array_unref(files);
}

gboolean msc_plugins_load_all(GError **error) {
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  g_rec_mutex_lock(&loader_lock);
  ensure_state();
  GHashTable *seen_dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

  /* 1. MSC_PLUGIN_PATH */
  const char *env = g_getenv("MSC_PLUGIN_PATH");
  if (env && *env) {
    char **entries = g_strsplit(env, G_SEARCHPATH_SEPARATOR_S, -1);
    for (char **e = entries; *e; e++) {
      if (!**e) continue; /* an empty entry would mean "." in PATH terms: never */
      if (!g_path_is_absolute(*e)) {
        g_autofree char *m = g_strdup_printf(
            "MSC_PLUGIN_PATH: '%s': relative entry refused (the current directory is never searched; use an "
            "absolute path)",
            *e);
        record_failure_locked(*e, m);
        g_log(MSC_PLUGIN_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "%s", m);
        continue;
      }
      load_dir_locked(*e, seen_dirs);
    }
    g_strfreev(entries);
  }

  /* 2. the build tree */
  if (g_strcmp0(g_getenv("MSC_NO_BUILD_PLUGINS"), "1") != 0) load_dir_locked(MSC_BUILD_PLUGIN_DIR, seen_dirs);

  /* 3. the install dir */
  load_dir_locked(MSC_INSTALL_PLUGIN_DIR, seen_dirs);

  g_hash_table_unref(seen_dirs);
  g_rec_mutex_unlock(&loader_lock);
  return TRUE;
}

GPtrArray *msc_plugins_loaded(void) {
  g_rec_mutex_lock(&loader_lock);
  GPtrArray *out = g_ptr_array_new();
  for (guint i = 0; loaded && i < loaded->len; i++) g_ptr_array_add(out, g_ptr_array_index(loaded, i));
  g_rec_mutex_unlock(&loader_lock);
  return out;
}

GPtrArray *msc_plugins_failures(void) {
  g_rec_mutex_lock(&loader_lock);
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)msc_plugin_failure_free);
  for (guint i = 0; failures && i < failures->len; i++) {
    const MscPluginFailure *f = g_ptr_array_index(failures, i);
    MscPluginFailure *c = g_new0(MscPluginFailure, 1);
    c->path = g_strdup(f->path);
    c->message = g_strdup(f->message);
    g_ptr_array_add(out, c);
  }
  g_rec_mutex_unlock(&loader_lock);
  return out;
}

const MscPlugin *msc_plugin_find(const char *name) {
  g_return_val_if_fail(name != NULL, NULL);
  g_rec_mutex_lock(&loader_lock);
  const MscPlugin *p = find_locked(name);
  g_rec_mutex_unlock(&loader_lock);
  return p;
}

char **msc_plugin_dup_registered(const MscPlugin *plugin) {
  g_return_val_if_fail(plugin != NULL, NULL);
  GPtrArray *out = g_ptr_array_new();
  GPtrArray *all = msc_registry_list(NULL, 0);
  for (guint i = 0; i < all->len; i++) {
    const MscRegEntry *e = g_ptr_array_index(all, i);
    if (g_strcmp0(e->owner, plugin->name) == 0) g_ptr_array_add(out, g_strdup(e->name));
  }
  g_ptr_array_unref(all);
  g_ptr_array_add(out, NULL);
  return (char **)g_ptr_array_free(out, FALSE);
}

void msc_plugins_unload_all(void) {
  g_rec_mutex_lock(&loader_lock);
  for (guint i = loaded ? loaded->len : 0; i > 0; i--) {
    MscPlugin *p = g_ptr_array_index(loaded, i - 1);
    msc_registry_remove_owner(p->name);
    void *handle = p->handle;
    plugin_free(p);
    dlclose(handle);
  }
  if (loaded) g_ptr_array_set_size(loaded, 0);
  if (failures) g_ptr_array_set_size(failures, 0);
  g_rec_mutex_unlock(&loader_lock);
}
