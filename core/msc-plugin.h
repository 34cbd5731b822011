/* msc-plugin.h: the plugin ABI. No GLib types.
 *
 * A plugin is a shared object exporting exactly one symbol,
 * `msc_plugin_descriptor` (an MscPluginDescriptor), normally emitted by
 * MSC_PLUGIN_DEFINE. The loader checks, in this order, and refuses at the
 * first failure with one line naming the file, the check and the values:
 *   dlopen -> symbol -> abi_major equal and abi_minor not newer than the
 *   host's -> struct_size large enough -> name non-empty and not taken ->
 *   init(host, self, msg) returns MSC_OK.
 * init registers what the plugin provides through host->registry_add
 * (never from a constructor: that runs at dlopen, before the ABI check).
 * A failed init rolls back everything registered under the plugin's name.
 *
 * Versioning (SQLite's discipline): structs that cross the ABI begin with
 * fields that never move; MscHostApi grows only at the end, each block
 * marked with the minor version that added it; retired slots stay NULL.
 * Test for a newer host entry with MSC_HOST_HAS(host, field).
 */
#ifndef MSC_PLUGIN_H
#define MSC_PLUGIN_H

#include "msc-types.h"
#include "msc-op.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MSC_ABI_MAJOR 1
#define MSC_ABI_MINOR 1

typedef enum {
  MSC_PLUGIN_TOOL = 1,
  MSC_PLUGIN_RUNNER = 2,
  MSC_PLUGIN_OP = 3,
} MscPluginKind;

/* Registry kinds as seen by plugins (same values as the core's). */
typedef enum {
  MSC_KIND_ANY = 0, /* lookups only: match any kind */
  MSC_KIND_FUNCTION = 1,
  MSC_KIND_OP = 2,
  MSC_KIND_RUNNER = 3,
  MSC_KIND_TOOL = 4,
  MSC_KIND_OBJECT = 5,
} MscKind;

/**
 * MscMessage: an error message slot handed to plugin calls. Set it only
 * with host->message_set (the host allocates; the host frees). One line.
 */
typedef struct MscMessage {
  char *text;
} MscMessage;

typedef struct MscPlugin MscPlugin; /* opaque handle of a loaded plugin */
typedef struct MscHostApi MscHostApi;

typedef MscStatus (*MscPluginInitFn)(const MscHostApi *host, MscPlugin *self, MscMessage *msg);

/* The descriptor. The first three fields never move. All strings static. */
typedef struct MscPluginDescriptor {
  uint16_t abi_major;
  uint16_t abi_minor;
  uint32_t struct_size;
  const char *name;
  MscPluginKind kind;
  const char *version;
  const char *description;
  MscPluginInitFn init;
} MscPluginDescriptor;

#define MSC_PLUGIN_DEFINE(name_, kind_, version_, description_, init_)                      \
  __attribute__((visibility("default"))) const MscPluginDescriptor msc_plugin_descriptor = { \
      MSC_ABI_MAJOR, MSC_ABI_MINOR, (uint32_t)sizeof(MscPluginDescriptor),                   \
      (name_),       (kind_),       (version_),                                              \
      (description_), (init_)}

/* ---------------------------------------------------------------------- */
/* Options: declared as a schema; values passed as key=value strings.     */

typedef enum {
  MSC_OPT_BOOL = 1,
  MSC_OPT_INT = 2,
  MSC_OPT_FLOAT = 3,
  MSC_OPT_STRING = 4,
} MscOptionType;

typedef struct MscOptionSpec {
  const char *name;
  MscOptionType type;
  const char *default_value; /* as text; NULL = no default */
  const char *doc;
} MscOptionSpec;

/* A key=value list; the caller owns it for the duration of the call. */
typedef struct MscOptions {
  const char *const *keys;
  const char *const *values;
  uint32_t n;
} MscOptions;

/* ---------------------------------------------------------------------- */
/* Runner interface: registered as "msc.runner.<name>", kind RUNNER.      */

typedef enum {
  MSC_HOOK_BEFORE = 0,
  MSC_HOOK_AFTER = 1,
} MscHookPhase;

/**
 * MscNodeHook: called before and after each node when set. Tensors are
 * borrowed for the call only. @elapsed_ms is the node's time (AFTER only).
 * Return non-zero to stop the run (the runner then fails with
 * MSC_ERR_INTERNAL "stopped by hook").
 */
typedef int (*MscNodeHook)(void *user, MscHookPhase phase, const MscNode *node,
                           const MscTensor *const *inputs, uint32_t n_inputs,
                           const MscTensor *const *outputs, uint32_t n_outputs, double elapsed_ms);

typedef struct MscRunHooks {
  MscNodeHook on_node;
  void *user;
} MscRunHooks;

/**
 * MscRunnerApi: static storage in the plugin.
 * compile: reads @graph (borrowed: the host keeps the graph alive and
 *   unchanged until compiled_destroy) and returns an opaque executable.
 * context_create: one per host thread that runs the compiled model.
 * run: @inputs (borrowed) in graph-input order; on MSC_OK, @outputs[j]
 *   receive tensors the caller owns (free with host->tensor_free).
 *   @hooks nullable.
 */
typedef struct MscRunnerApi {
  uint32_t struct_size;
  const char *name;
  const char *doc;
  const MscOptionSpec *options;
  uint32_t n_options;
  MscStatus (*compile)(const MscGraph *graph, const MscOptions *options, void **compiled, MscMessage *msg);
  MscStatus (*context_create)(void *compiled, void **context, MscMessage *msg);
  MscStatus (*run)(void *context, const MscTensor *const *inputs, uint32_t n_inputs, MscTensor **outputs,
                   uint32_t n_outputs, const MscRunHooks *hooks, MscMessage *msg);
  void (*context_destroy)(void *context);
  void (*compiled_destroy)(void *compiled);
} MscRunnerApi;

/* ---------------------------------------------------------------------- */
/* Tool interface (MSC life-cycle): registered as "msc.tool.<name>".      */

/**
 * MscToolApi: static storage in the plugin.
 * setup: parse options; returns an opaque tool state.
 * observe: sees tensors while a runner executes (the runner's node hook
 *   forwards to it); called once per node per sample during planning.
 * plan: after observing data, compute the plan (calibration, pruning mask).
 * apply: rewrite @graph in place according to the plan (host graph API).
 * export_plan: write the plan as JSON to @path.
 */
typedef struct MscToolApi {
  uint32_t struct_size;
  const char *name;
  const char *doc;
  const MscOptionSpec *options;
  uint32_t n_options;
  MscStatus (*setup)(const MscOptions *options, void **state, MscMessage *msg);
  MscStatus (*observe)(void *state, const MscNode *node, const MscTensor *const *outputs, uint32_t n_outputs,
                       MscMessage *msg);
  MscStatus (*plan)(void *state, const MscGraph *graph, MscMessage *msg);
  MscStatus (*apply)(void *state, MscGraph *graph, MscMessage *msg);
  MscStatus (*export_plan)(void *state, const char *path, MscMessage *msg);
  void (*destroy)(void *state);
  /* since 1.1: appended, optional (NULL, or absent when struct_size is
   * smaller: test with MSC_TOOL_HAS). Hosts that predate them never call
   * them; registration requires only the 1.0 prefix up to destroy.
   * begin_stage: the following observe/on_node calls come from pipeline
   *   stage @stage ("baseline", "prune:NAME", "quantize:NAME",
   *   "compile:RUNNER"); tools that compare stages (tracker) key on it.
   * on_node: called after observe for each node with the node's inputs
   *   and its elapsed time (ms), all borrowed for the call (profiler).
   * load_plan: read back a plan this tool exported earlier, instead of
   *   observe + plan, when the pipeline re-uses a saved plan file (same
   *   model hash, options and calibration data); then apply is called. */
  MscStatus (*begin_stage)(void *state, const char *stage, MscMessage *msg);
  MscStatus (*on_node)(void *state, const MscNode *node, const MscTensor *const *inputs, uint32_t n_inputs,
                       const MscTensor *const *outputs, uint32_t n_outputs, double elapsed_ms, MscMessage *msg);
  MscStatus (*load_plan)(void *state, const char *path, MscMessage *msg);
} MscToolApi;

/* TRUE when @api (an MscToolApi *) was built with @field and sets it. */
#define MSC_TOOL_HAS(api, field) \
  ((api)->struct_size >= offsetof(MscToolApi, field) + sizeof(((MscToolApi *)0)->field) && (api)->field)

/* ---------------------------------------------------------------------- */
/* Host API table handed to init.                                          */

typedef enum {
  MSC_LOG_ERROR = 0,
  MSC_LOG_WARNING = 1,
  MSC_LOG_INFO = 2,
  MSC_LOG_DEBUG = 3,
} MscLogLevel;

struct MscHostApi {
  uint16_t abi_major;
  uint16_t abi_minor;
  uint32_t struct_size;
  /* since 1.0: registry. @self is the registering plugin (owner). Strings copied. */
  MscStatus (*registry_add)(MscPlugin *self, const char *name, void *ptr, MscKind kind, const char *doc,
                            int override, MscMessage *msg);
  void *(*registry_get)(const char *name, MscKind kind); /* NULL when missing */
  int (*registry_remove)(MscPlugin *self, const char *name);
  /* since 1.0: messages and logging */
  void (*message_set)(MscMessage *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
  void (*log)(MscLogLevel level, const char *domain, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
  /* since 1.0: memory (64-byte aligned) and tensors */
  void *(*alloc)(size_t nbytes);
  void (*free)(void *p);
  MscTensor *(*tensor_new)(MscDType dtype, int32_t rank, const int64_t *dims); /* NULL on failure */
  void (*tensor_free)(MscTensor *t);
  /* since 1.0: operators */
  const MscOpDef *(*op_lookup)(const char *domain, const char *op_type, int64_t opset);
  MscStatus (*op_register)(MscPlugin *self, const MscOpDef *def, int override, MscMessage *msg);
  /* since 1.0: run one node on concrete inputs (infer + allocate + run);
   * outputs[j] receive owned tensors. */
  MscStatus (*node_execute)(const MscNode *node, const MscTensor *const *inputs, MscTensor **outputs,
                            MscMessage *msg);
};

#define MSC_HOST_HAS(host, field) \
  ((host)->struct_size >= offsetof(MscHostApi, field) + sizeof(((MscHostApi *)0)->field))

#ifdef __cplusplus
}
#endif
#endif
