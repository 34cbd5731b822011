/* limits.h: process-wide resource limits for untrusted models and tensors.
 *
 * Every model and tensor file is untrusted input: these limits bound what a
 * file may make us allocate or recurse into, and every refusal is a one-line
 * error naming the file, the limit, the value and the environment variable
 * that raises it. Defaults suit any real CNN; raise them by API
 * (msc_limits_set) or by environment (read once, at first use):
 *
 *   MSC_LIMIT_MODEL_BYTES      model file size             (default 2 GiB)
 *   MSC_LIMIT_TENSOR_ELEMENTS  elements in one tensor      (default 2^31)
 *   MSC_LIMIT_GRAPH_NODES      nodes in a model            (default 1000000)
 *   MSC_LIMIT_TOTAL_BYTES      initializers + declared inputs (default 8 GiB)
 *   MSC_LIMIT_NESTING          protobuf message nesting    (default 64)
 *
 * Values are positive decimal integers with an optional K, M, G or T suffix
 * (powers of 1024), e.g. "4G"; the nesting limit is at most
 * MSC_LIMIT_MAX_NESTING. Bad values are refused with a message on stderr
 * and the default is kept.
 */
#ifndef MSC_LIMITS_H
#define MSC_LIMITS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The GLib types, spelled without <glib.h> (see above). */
struct _GError;

#define MSC_LIMIT_ENV_MODEL_BYTES "MSC_LIMIT_MODEL_BYTES"
#define MSC_LIMIT_ENV_TENSOR_ELEMENTS "MSC_LIMIT_TENSOR_ELEMENTS"
#define MSC_LIMIT_ENV_GRAPH_NODES "MSC_LIMIT_GRAPH_NODES"
#define MSC_LIMIT_ENV_TOTAL_BYTES "MSC_LIMIT_TOTAL_BYTES"
#define MSC_LIMIT_ENV_NESTING "MSC_LIMIT_NESTING"

#define MSC_LIMIT_DEFAULT_MODEL_BYTES ((uint64_t)2 << 30)
#define MSC_LIMIT_DEFAULT_TENSOR_ELEMENTS ((uint64_t)1 << 31)
#define MSC_LIMIT_DEFAULT_GRAPH_NODES ((uint64_t)1000000)
#define MSC_LIMIT_DEFAULT_TOTAL_BYTES ((uint64_t)8 << 30)
#define MSC_LIMIT_DEFAULT_NESTING ((uint64_t)64)

/* The nesting limit cannot be raised above this: protobuf-c's unpack
 * recurses once per level (~1 KiB of stack each), and about 8000 levels
 * already overflow a default 8 MiB stack. Real models stay below 20. */
#define MSC_LIMIT_MAX_NESTING ((uint64_t)1000)

/**
 * MscLimits:
 * @model_bytes: largest model file (or buffer) accepted, in bytes.
 * @tensor_elements: largest element count of one tensor (initializer,
 *   attribute tensor, declared graph value, .pb/.npy tensor file).
 * @graph_nodes: most NodeProto messages in one model (subgraphs included).
 * @total_bytes: most bytes all initializers, attribute tensors and
 *   statically shaped graph inputs of one model may need together.
 * @nesting: deepest protobuf message nesting (ModelProto is depth 1), at
 *   most MSC_LIMIT_MAX_NESTING.
 *
 * Every field is >= 1.
 */
typedef struct {
  uint64_t model_bytes;
  uint64_t tensor_elements;
  uint64_t graph_nodes;
  uint64_t total_bytes;
  uint64_t nesting;
} MscLimits;

/* The built-in defaults (the MSC_LIMIT_DEFAULT_* values), environment ignored. */
MscLimits msc_limits_defaults(void);

/**
 * msc_limits_get:
 *
 * The limits in force (MT-safe). The first call of any msc_limits_*
 * function reads the environment once; bad values are reported on stderr
 * and leave those limits at their defaults.
 *
 * Returns: a copy of the current limits.
 */
MscLimits msc_limits_get(void);

/**
 * msc_limits_set:
 * @limits: (nullable) (transfer none): the new limits; NULL restores the
 *   defaults with the environment applied again.
 *
 * Replaces the process-wide limits (MT-safe; loads already running keep
 * the limits they started with).
 *
 * Returns: FALSE (0), changing nothing, when a field of @limits is 0 or
 * @nesting is above MSC_LIMIT_MAX_NESTING.
 */
int msc_limits_set(const MscLimits *limits);

/**
 * msc_limits_apply_env:
 * @limits: (inout): limits to update from the MSC_LIMIT_* variables.
 * @error: (out) (optional): error location.
 *
 * Parses every set MSC_LIMIT_* variable into @limits. A bad value (empty,
 * not a positive integer, unknown suffix, overflow, zero, a nesting above
 * MSC_LIMIT_MAX_NESTING) leaves its field
 * unchanged; the other variables are still applied.
 *
 * Returns: FALSE (0) with @error set (MSC_ERR_INVALID_ARG, naming the first bad
 * variable, its value and the value kept) when any variable was refused.
 */
int msc_limits_apply_env(MscLimits *limits, struct _GError **error);

/**
 * msc_limits_parse_value:
 * @s: a limit as written in the environment ("1000", "4G").
 * @out: (out): the value.
 *
 * Returns: FALSE (0) for an empty string, a sign, junk, an unknown suffix, zero
 * or a value above 2^64-1.
 */
int msc_limits_parse_value(const char *s, uint64_t *out);

/* A byte count for messages: "2 GiB", "1.5 MiB", "100 bytes" (binary
 * units, ASCII only). (transfer full): free with g_free(). */
char *msc_limits_format_bytes(uint64_t bytes);

#ifdef __cplusplus
}
#endif
#endif /* MSC_LIMITS_H */
