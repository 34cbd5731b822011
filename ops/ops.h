/* ops.h: the built-in operator library and the op lookup.
 *
 * Each family file (ops/<family>.c) defines a NULL-terminated array
 * `const MscOpDef *const msc_ops_<family>[]`; ops/builtin.c registers them
 * all in the registry under "msc.op.<domain|ai.onnx>.<OpType>.<since>". */
#ifndef MSC_OPS_H
#define MSC_OPS_H

#include <glib.h>
#include "msc-op.h"

G_BEGIN_DECLS

extern const MscOpDef *const msc_ops_conv[];          /* ops/conv2d.c: Conv (1-D/2-D/3-D, groups) */
extern const MscOpDef *const msc_ops_conv_transpose[]; /* ops/conv-transpose.c */
extern const MscOpDef *const msc_ops_conv_quant[];    /* ops/conv-quant.c: ConvInteger, QLinearConv */
extern const MscOpDef *const msc_ops_binary[];        /* ops/binary.c: Add Sub Mul Div Pow ... PRelu, variadic Sum/Max/Min/Mean, comparisons */
extern const MscOpDef *const msc_ops_unary[];         /* ops/unary.c: activations and math */
extern const MscOpDef *const msc_ops_cast[];          /* ops/cast.c: Cast */
extern const MscOpDef *const msc_ops_quantize[];      /* ops/quantize.c: QuantizeLinear, DequantizeLinear */
extern const MscOpDef *const msc_ops_shape[];         /* ops/shape-ops.c: Reshape Flatten Squeeze Unsqueeze Shape Size Identity Dropout Expand Tile */
extern const MscOpDef *const msc_ops_constant[];      /* ops/constant.c: Constant ConstantOfShape */
extern const MscOpDef *const msc_ops_transpose[];     /* ops/transpose.c */
extern const MscOpDef *const msc_ops_concat_split[];  /* ops/concat-split.c */
extern const MscOpDef *const msc_ops_slice_gather[];  /* ops/slice-gather.c */
extern const MscOpDef *const msc_ops_pad[];           /* ops/pad.c */
extern const MscOpDef *const msc_ops_resize[];        /* ops/resize.c: Resize Upsample */
extern const MscOpDef *const msc_ops_pooling[];       /* ops/pooling.c */
extern const MscOpDef *const msc_ops_normalization[]; /* ops/normalization.c: BatchNormalization InstanceNormalization LRN */
extern const MscOpDef *const msc_ops_softmax[];       /* ops/softmax.c: Softmax LogSoftmax */
extern const MscOpDef *const msc_ops_reduce[];        /* ops/reduce.c */
extern const MscOpDef *const msc_ops_gemm[];          /* ops/gemm.c: Gemm MatMul MatMulInteger QLinearMatMul */

/* Registers every built-in op (owner "core"). Idempotent; MT safe. */
gboolean msc_ops_register_builtins(GError **error);

/* Registers one op definition (borrowed; must outlive the registration). */
gboolean msc_op_register(const MscOpDef *def, const char *owner, gboolean override, GError **error);

/* The definition serving (domain, op_type) at @opset: the registered one
 * with the largest since_version <= opset (and max_version >= opset when
 * set). "" and "ai.onnx" are the same domain. (transfer none), NULL if none. */
const MscOpDef *msc_op_lookup(const char *domain, const char *op_type, int64_t opset);

G_END_DECLS
#endif
