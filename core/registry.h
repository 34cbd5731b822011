/* registry.h: the global registry of named functions and objects
 * (our tvm.ffi.registry). Names are dotted: "msc.runner.ref",
 * "msc.op.ai.onnx.Conv.11", "msc.tool.quantizer". MT safe. */
#ifndef MSC_REGISTRY_H
#define MSC_REGISTRY_H

#include <glib.h>
#include "msc-types.h"

G_BEGIN_DECLS

typedef enum {
  MSC_REG_FUNCTION = 1, /* a C function pointer */
  MSC_REG_OP = 2,       /* const MscOpDef * */
  MSC_REG_RUNNER = 3,   /* const MscRunnerApi * */
  MSC_REG_TOOL = 4,     /* const MscToolApi * */
  MSC_REG_OBJECT = 5,   /* any other object */
} MscRegKind;

/**
 * MscRegEntry: one entry; strings owned by the registry. Returned copies
 * (msc_registry_list) are owned by the caller (msc_reg_entry_list_free).
 */
typedef struct MscRegEntry {
  char *name;
  void *ptr; /* transfer none: the registrant keeps it alive while registered */
  MscRegKind kind;
  char *owner; /* plugin name, "core" for built-ins */
  char *doc;
} MscRegEntry;

/* Adds an entry. A taken name is MSC_ERR_INVALID_ARG ("name already
 * registered by OWNER") unless @override. Strings are copied. */
gboolean msc_registry_add(const char *name, void *ptr, MscRegKind kind, const char *owner,
                          const char *doc, gboolean override, GError **error);
/* Looks up @name. Missing: NULL, and with !allow_missing an error. Kind
 * mismatch (kind != 0 and differs): NULL + error. (transfer none) */
void *msc_registry_get(const char *name, MscRegKind kind, gboolean allow_missing, GError **error);
/* Copies the entry's metadata into *out (caller frees with msc_reg_entry_clear). */
gboolean msc_registry_lookup(const char *name, MscRegEntry *out);
void msc_reg_entry_clear(MscRegEntry *e);
/* Removes @name; FALSE (no error) when absent. */
gboolean msc_registry_remove(const char *name);
/* Removes every entry whose owner is @owner; returns how many. */
guint msc_registry_remove_owner(const char *owner);
/* Entries sorted by name, filtered by prefix (nullable) and kind (0 = all).
 * (transfer full): GPtrArray of MscRegEntry* with free func set. */
GPtrArray *msc_registry_list(const char *prefix, MscRegKind kind);
/* Drops everything (tests and shutdown). */
void msc_registry_reset(void);

G_END_DECLS
#endif
