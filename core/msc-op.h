/* msc-op.h: the operator interface (ABI-visible; no GLib types).
 *
 * An operator definition gives, for one (domain, op_type, opset range):
 *   infer: output dtypes and shapes from input descriptions and attributes;
 *          also validates attributes (a bad attribute is an error here, so a
 *          model is refused at load/verify time, not at run time);
 *   run:   the reference kernel.
 *
 * One mechanism serves static inference and execution. In both, ctx->in[i]
 * describes input i (NULL when the optional input is absent):
 *   - at run time every input is a concrete tensor (data != NULL, no -1 dims);
 *   - in static inference in[i]->data is NULL unless the value is a known
 *     constant, and dims may be -1 (unknown). in[i]->rank is never -1: the
 *     graph skips nodes with an input of unknown rank.
 * infer writes out[j]->dtype, rank and dims (-1 for a dim it cannot know
 * statically, e.g. Reshape with a non-constant shape input). At run time
 * the caller then allocates out[j]->data (zero-filled, 64-byte aligned) with
 * those dims and calls run. infer must not touch out[j]->data.
 */
#ifndef MSC_OP_H
#define MSC_OP_H

#include "msc-types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MscOpCtx MscOpCtx;

typedef MscStatus (*MscOpInferFn)(MscOpCtx *ctx);
typedef MscStatus (*MscOpRunFn)(MscOpCtx *ctx);

/* MscOpDef flags */
#define MSC_OP_FOLD_FROM_SHAPE 1u /* output value is known once input dims are (Shape, Size) */
#define MSC_OP_NO_FOLD 2u         /* never constant-fold (e.g. random ops) */

/**
 * MscOpDef: an operator implementation. Static storage, owned by whoever
 * registers it (the core for built-ins, the plugin for plugin ops); must
 * outlive its registration.
 * @domain: "" for ai.onnx, else e.g. "com.example".
 * @since_version: first opset this definition serves; lookup picks the
 *   definition with the largest since_version <= the node's opset.
 * @max_version: last opset served (0 = no limit).
 * @min_inputs/@max_inputs, @min_outputs/@max_outputs: arity, checked by
 *   the core before infer (max 0 = unlimited/variadic).
 */
typedef struct MscOpDef {
  uint32_t struct_size;
  const char *domain;
  const char *op_type;
  int32_t since_version;
  int32_t max_version;
  uint32_t min_inputs, max_inputs;
  uint32_t min_outputs, max_outputs;
  uint32_t flags;
  MscOpInferFn infer;
  MscOpRunFn run;
  const char *doc;
} MscOpDef;

/**
 * MscOpCtx: what infer/run see. Owned by the caller (graph inference or a
 * runner); valid only during the call.
 * @node: the node (attributes, name, opset).
 * @in/@n_in: input descriptions (entries NULL for absent optional inputs).
 *   n_in equals node->n_inputs.
 * @out/@n_out: outputs (entries NULL for absent optional outputs).
 * @status/@message: set through msc_op_fail(); message owned by the ctx.
 * @scratch: per-call scratch allocator state, core-private.
 */
struct MscOpCtx {
  const MscNode *node;
  const MscTensor *const *in;
  uint32_t n_in;
  MscTensor *const *out;
  uint32_t n_out;
  MscStatus status;
  char message[512];
  int static_infer; /* 1 during static inference, 0 at run time */
  void *priv;
};

#ifdef __cplusplus
}
#endif
#endif /* MSC_OP_H */
