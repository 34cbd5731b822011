/* plugin.h: the plugin loader (core-internal API; the ABI is msc-plugin.h).
 *
 * Loading one file walks a ladder of checks and refuses at the first
 * failure with ONE line "<file>: <check>: <reason with both values>":
 *
 *   check         refused when
 *   stat          missing, not a regular file
 *   permissions   the file or its directory is world-writable
 *   dlopen        dlopen(RTLD_NOW|RTLD_LOCAL) fails (not a shared object,
 *                 missing dependency, unresolved symbol): dlerror text
 *   symbol        no `msc_plugin_descriptor` symbol
 *   abi           abi_major differs or abi_minor is newer than the host's
 *                 ("ABI 2.0, host supports 1.0")
 *   struct_size   the descriptor is smaller than the fields the host reads
 *   name          NULL/empty, not [a-z0-9_-]+, reserved ("core"), or taken
 *                 by an already-loaded plugin
 *   kind          not MSC_PLUGIN_TOOL/RUNNER/OP
 *   init          init() returned non-MSC_OK (the plugin's message is
 *                 quoted); everything it registered is removed
 *                 (msc_registry_remove_owner) and the object is dlclosed
 *
 * Search order of msc_plugins_load_all():
 *   1. MSC_PLUGIN_PATH, colon-separated absolute directories (relative
 *      entries are refused with a warning; unset or "" adds nothing);
 *   2. the build tree's plugin dir MSC_BUILD_PLUGIN_DIR (msc-config.h),
 *      unless MSC_NO_BUILD_PLUGINS=1;
 *   3. the install dir MSC_INSTALL_PLUGIN_DIR.
 * Each directory is scanned recursively (depth <= 3) for files ending in
 * ".so", in sorted order. The current directory is never searched. A name
 * already loaded from an earlier file is a name clash: the later file is
 * refused and the scan goes on. Files already loaded (same real path) are
 * skipped silently, so calling load_all twice is harmless.
 *
 * Plugins are owner "<plugin name>" in the registry.
 *
 * MT safe: every function here takes the loader lock (a GRecMutex, so a
 * plugin's init may call back into the loader). Loads are serialized.
 */
#ifndef MSC_PLUGIN_LOADER_H
#define MSC_PLUGIN_LOADER_H

#include <glib.h>
#include "msc-plugin.h"

G_BEGIN_DECLS

/* Log domain of the loader's own messages (refusals at G_LOG_LEVEL_INFO,
 * configuration problems such as relative MSC_PLUGIN_PATH entries at
 * G_LOG_LEVEL_WARNING). */
#define MSC_PLUGIN_LOG_DOMAIN "msc-plugin"

/**
 * MscPlugin: a loaded plugin (the opaque handle of msc-plugin.h; its
 * fields are readable by the core only). Owned by the loader; valid until
 * msc_plugins_unload_all(). Strings are copies (owned by the plugin
 * record), so they stay valid whatever the plugin does.
 * @name: unique plugin name, also the registry owner of its entries.
 * @path: the file as found (absolute in scans; as given to load_file).
 * @real_path: canonical path (realpath), used to skip duplicate loads.
 * @kind: MSC_PLUGIN_TOOL / RUNNER / OP.
 * @version, @description: from the descriptor ("" when NULL there).
 * @abi_major, @abi_minor: the ABI the plugin was built for.
 */
struct MscPlugin {
  guint32 magic; /* MSC_PLUGIN_MAGIC while alive: host calls check it */
  char *name;
  char *path;
  char *real_path;
  MscPluginKind kind;
  char *version;
  char *description;
  guint16 abi_major;
  guint16 abi_minor;
  void *handle; /* dlopen handle */
  const MscPluginDescriptor *desc; /* inside the plugin; valid while loaded */
};

#define MSC_PLUGIN_MAGIC 0x4d53436cu /* "MSCl" */

/**
 * MscPluginFailure: one refused file (or refused MSC_PLUGIN_PATH entry).
 * @path: the file or entry (owned).
 * @message: the one-line refusal "<file>: <check>: <reason>" (owned).
 */
typedef struct MscPluginFailure {
  char *path;
  char *message;
} MscPluginFailure;

void msc_plugin_failure_free(MscPluginFailure *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MscPluginFailure, msc_plugin_failure_free)

/**
 * msc_plugin_load_file:
 * @path: (transfer none): the shared object to load; relative paths are
 *   accepted here (an explicit request, e.g. `msc plugins ./x.so`).
 * @error: (nullable): MSC_ERROR with code MSC_ERR_IO (stat), MSC_ERR_ABI
 *   (permissions, dlopen, symbol, abi, struct_size, kind),
 *   MSC_ERR_INVALID_ARG (name) or the plugin's init status; the message is
 *   the one-line refusal.
 *
 * Loads one plugin through the ladder above. Does not add the refusal to
 * msc_plugins_failures() (the caller holds the error); loading a file
 * that is already loaded (same real path) returns the existing plugin.
 *
 * Returns: (transfer none) (nullable): the plugin, valid until
 * msc_plugins_unload_all(); NULL with @error set when refused. MT safe.
 */
MscPlugin *msc_plugin_load_file(const char *path, GError **error);

/**
 * msc_plugins_load_all:
 * @error: (nullable): set only for a failure of the scan itself (none
 *   today); refusals of single files never set it.
 *
 * Loads every plugin in the search order (see the top of this file),
 * going on after every refusal. Each refusal is recorded (see
 * msc_plugins_failures) and logged at G_LOG_LEVEL_INFO in
 * MSC_PLUGIN_LOG_DOMAIN. Idempotent: files already loaded are skipped,
 * and files refused by an earlier call are not recorded twice.
 *
 * Returns: TRUE. MT safe.
 */
gboolean msc_plugins_load_all(GError **error);

/**
 * msc_plugins_loaded:
 * Returns: (transfer container): a snapshot, in load order, of the loaded
 * plugins (elements `const MscPlugin *`, transfer none, valid until
 * msc_plugins_unload_all). Free with g_ptr_array_unref. MT safe.
 */
GPtrArray *msc_plugins_loaded(void);

/**
 * msc_plugins_failures:
 * Returns: (transfer full): copies of the refusals recorded by
 * msc_plugins_load_all, in scan order (elements MscPluginFailure *, free
 * func set). Free with g_ptr_array_unref. MT safe.
 */
GPtrArray *msc_plugins_failures(void);

/**
 * msc_plugin_find:
 * Returns: (transfer none) (nullable): the loaded plugin named @name. MT safe.
 */
const MscPlugin *msc_plugin_find(const char *name);

/**
 * msc_plugin_dup_registered:
 * Returns: (transfer full): NULL-terminated, sorted registry names whose
 * owner is @plugin (queried live from the registry); free with g_strfreev.
 */
char **msc_plugin_dup_registered(const MscPlugin *plugin);

/* "tool", "runner", "op", or "invalid". Static string. */
const char *msc_plugin_kind_name(MscPluginKind kind);

/**
 * msc_plugins_unload_all:
 * For tests and shutdown: removes every registry entry owned by a loaded
 * plugin, dlcloses the plugins (reverse load order) and forgets recorded
 * failures. Pointers obtained from plugins (registry entries, resolved
 * node->op, runner/tool APIs, compiled models) must no longer be used.
 * MT safe, but not safe against threads still running plugin code.
 */
void msc_plugins_unload_all(void);

/**
 * msc_host_api:
 * Returns: (transfer none): the host API table handed to every plugin's
 * init (static storage; struct_size = sizeof(MscHostApi)).
 */
const MscHostApi *msc_host_api(void);

/**
 * msc_host_log_text:
 * Logs one line as host->log does, honouring MSC_LOG (see
 * docs/plugin-abi.md): "none", "error", "warning", "info" or "debug" drops
 * every line less severe than that level; lines it explicitly enables at
 * info/debug are raised to G_LOG_LEVEL_MESSAGE so GLib's default handler
 * shows them. Unset: GLib's defaults (warnings shown, info/debug only via
 * G_MESSAGES_DEBUG). MSC_LOG_ERROR and MSC_LOG_WARNING map to
 * G_LOG_LEVEL_WARNING (never G_LOG_LEVEL_ERROR, which aborts); errors get
 * an "error: " prefix. The application's log handler has the last word.
 */
void msc_host_log_text(MscLogLevel level, const char *domain, const char *text);

G_END_DECLS
#endif
