/* config.h: the pipeline's INI configuration (docs/config.md).
 *
 * One schema mechanism for every section: core sections ([model],
 * [dataset], [runner], [checks], [benchmark], [export]) are described with
 * MscOptionSpec tables (plus an internal range/choice extension), and
 * plugin sections use the MscOptionSpec tables their runner or tool
 * declares in the registry ("msc.runner.<name>" for [runner] options,
 * "msc.tool.<name>" for [tool.<name>]). Load the plugins (and register
 * built-ins) BEFORE loading a config: an unregistered runner or tool is an
 * error.
 *
 * Every load error is one line "FILE:LINE: [section] key: what is wrong
 * (value)" in domain MSC_ERROR, code MSC_ERR_INVALID_ARG (MSC_ERR_IO when
 * the file cannot be read). The whole file is checked and the error on
 * the earliest line is reported; byte-level problems (NUL bytes, invalid UTF-8, lines over 4096
 * bytes, inputs over 1 MiB) are checked over the whole input first.
 *
 * A loaded MscConfig is immutable: MT safe for concurrent reads.
 */
#ifndef MSC_CONFIG_H
#define MSC_CONFIG_H

#include <glib.h>
#include "msc-plugin.h"

G_BEGIN_DECLS

/* Input limits: larger inputs are refused, never parsed. */
#define MSC_CONFIG_MAX_SIZE (1024 * 1024)
#define MSC_CONFIG_MAX_LINE 4096

typedef struct MscConfig MscConfig;

/**
 * msc_config_load_file:
 * @path: (transfer none): the INI file. Relative paths inside it ([model]
 *   path, [dataset] path, [export] dir) are relative to its folder.
 * @error: (nullable): MSC_ERR_IO when the file cannot be read (missing,
 *   a directory, read error), else MSC_ERR_INVALID_ARG with the one-line
 *   "FILE:LINE: ..." message (also for files over 1 MiB).
 *
 * Returns: (transfer full) (nullable): the validated config, or NULL with
 * @error set. Free with msc_config_free().
 */
MscConfig *msc_config_load_file(const char *path, GError **error);

/**
 * msc_config_load_buffer:
 * @data: (transfer none) (array length=len): INI text; need not be
 *   NUL-terminated (an embedded NUL byte is an error).
 * @len: bytes in @data, at most MSC_CONFIG_MAX_SIZE.
 * @source_name: (nullable): name used in messages ("<buffer>" when NULL);
 *   relative paths resolve against its folder when it has one, else
 *   against the current directory.
 * @error: (nullable): as for msc_config_load_file().
 *
 * Returns: (transfer full) (nullable): the config or NULL with @error set.
 */
MscConfig *msc_config_load_buffer(const char *data, gsize len, const char *source_name, GError **error);

/* Frees @cfg (nullable). */
void msc_config_free(MscConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MscConfig, msc_config_free)

/* The source name given at load. (transfer none), valid while @cfg lives. */
const char *msc_config_source(const MscConfig *cfg);

/**
 * msc_config_has_section:
 * Returns: TRUE when @section ("checks", "tool.quantizer") is written in
 * the file. Core sections are readable (with defaults) even when absent.
 */
gboolean msc_config_has_section(const MscConfig *cfg, const char *section);

/**
 * msc_config_tools:
 * Returns: (transfer full): the tool names of the [tool.<name>] sections,
 * in file order (the pipeline order), NULL-terminated; free with
 * g_strfreev.
 */
char **msc_config_tools(const MscConfig *cfg);

/**
 * msc_config_is_set:
 * Returns: TRUE when @key is written in @section (not a default).
 */
gboolean msc_config_is_set(const MscConfig *cfg, const char *section, const char *key);

/**
 * msc_config_get_string:
 * @section: a core section, "tool.<name>", or "runner" (its "name" key
 *   and the runner's own options).
 * @key: a key of that section's schema; asking for a key outside the
 *   schema is a programming error (g_critical, returns NULL).
 *
 * Returns: (transfer none) (nullable): the value written in the file, else
 * the schema default, else NULL (also for a tool section not in the file). Path keys are returned as written; use
 * msc_config_get_path() for the resolved path. Valid while @cfg lives.
 */
const char *msc_config_get_string(const MscConfig *cfg, const char *section, const char *key);

/* Typed getters over msc_config_get_string(); the value was validated at
 * load, so they cannot fail. A key with no value and no default gives
 * FALSE / 0 / NAN. msc_config_get_float() returns NAN for a check that is
 * set to "off" (see msc_config_is_off). */
gboolean msc_config_get_bool(const MscConfig *cfg, const char *section, const char *key);
gint64 msc_config_get_int(const MscConfig *cfg, const char *section, const char *key);
double msc_config_get_float(const MscConfig *cfg, const char *section, const char *key);

/* TRUE when a key that accepts "off" ([checks] atol, rtol,
 * max_error_rate, cosine) is disabled. */
gboolean msc_config_is_off(const MscConfig *cfg, const char *section, const char *key);

/**
 * msc_config_get_path:
 * Returns: (transfer full) (nullable): a path key's value made absolute
 * against the INI file's folder ("zoo:NAME" model references are returned
 * unchanged); NULL when unset with no default. Free with g_free.
 */
char *msc_config_get_path(const MscConfig *cfg, const char *section, const char *key);

/**
 * msc_config_dup_shapes:
 * Returns: (transfer full): [model] shapes as a NULL-terminated vector of
 * "NAME=DxDxD" strings (empty when unset), the form cli_random_input()
 * takes. Free with g_strfreev.
 */
char **msc_config_dup_shapes(const MscConfig *cfg);

/**
 * msc_config_load_model:
 * @error: (nullable): the zoo builder's or ONNX loader's error.
 *
 * Builds ("zoo:NAME") or reads the [model] path. The graph is not
 * verified.
 *
 * Returns: (transfer full) (nullable): the graph, NULL with @error set.
 */
MscGraph *msc_config_load_model(const MscConfig *cfg, GError **error);

/**
 * msc_config_to_options:
 * @section: "runner" (the runner's own options, without "name"),
 *   "tool.<name>" or a core section.
 *
 * Builds the key=value list for a plugin call: every schema key that has
 * a value or a default, in schema order.
 *
 * Returns: (transfer full) (nullable): one allocation holding the list
 * and copies of its strings (independent of @cfg); free with
 * msc_config_options_free(). NULL for a section that is neither core nor
 * present.
 */
MscOptions *msc_config_to_options(const MscConfig *cfg, const char *section);
void msc_config_options_free(MscOptions *options);

/**
 * msc_config_to_ini:
 *
 * Writes the effective configuration: every core section, then the tool
 * sections in file order, each with every key that has a value or a
 * default (path keys made absolute, so the text can be stored anywhere,
 * e.g. next to an export). Loading the text gives the same config.
 *
 * Returns: (transfer full): the INI text; free with g_free.
 */
char *msc_config_to_ini(const MscConfig *cfg);

/* Writes msc_config_to_ini() to @path (atomically, g_file_set_contents).
 * FALSE with @error (MSC_ERR_IO) on failure. */
gboolean msc_config_write_file(const MscConfig *cfg, const char *path, GError **error);

/**
 * msc_config_core_sections:
 * Returns: (transfer none): NULL-terminated names of the core sections,
 * in canonical order (static storage).
 */
const char *const *msc_config_core_sections(void);

/**
 * msc_config_describe:
 * @name: a core section ("checks"), a runner or tool name ("ref"), or a
 *   qualified "runner.NAME" / "tool.NAME". A bare name that is both a
 *   runner and a tool describes both.
 * @error: (nullable): MSC_ERR_INVALID_ARG naming @name and listing what
 *   is known, when nothing matches.
 *
 * Returns: (transfer full) (nullable): a text table of the schema (key,
 * type, default, range, doc), one header line per section; free with
 * g_free.
 */
char *msc_config_describe(const char *name, GError **error);

G_END_DECLS
#endif /* MSC_CONFIG_H */
