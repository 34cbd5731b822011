/* msc-types.h: the plain-C types that cross the plugin ABI and the public API.
 *
 * No GLib types appear here. Structs that plugins read (MscTensor, MscAttr,
 * MscValue, MscNode, MscGraph) are plain arrays and scalars; the core owns
 * every pointer inside them unless a field says otherwise.
 */
#ifndef MSC_TYPES_H
#define MSC_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes at the C ABI edge (public API and plugin ABI). */
typedef enum {
  MSC_OK = 0,
  MSC_ERR_INVALID_ARG = 1,
  MSC_ERR_UNSUPPORTED = 2,
  MSC_ERR_IO = 3,
  MSC_ERR_CORRUPT = 4,
  MSC_ERR_ABI = 5,
  MSC_ERR_NOMEM = 6,
  MSC_ERR_INTERNAL = 7,
} MscStatus;

/* Element types, numbered as ONNX TensorProto.DataType. */
typedef enum {
  MSC_DTYPE_UNDEFINED = 0,
  MSC_DTYPE_FLOAT32 = 1,
  MSC_DTYPE_UINT8 = 2,
  MSC_DTYPE_INT8 = 3,
  MSC_DTYPE_UINT16 = 4,
  MSC_DTYPE_INT16 = 5,
  MSC_DTYPE_INT32 = 6,
  MSC_DTYPE_INT64 = 7,
  MSC_DTYPE_STRING = 8,
  MSC_DTYPE_BOOL = 9,
  MSC_DTYPE_FLOAT16 = 10,
  MSC_DTYPE_DOUBLE = 11,
  MSC_DTYPE_UINT32 = 12,
  MSC_DTYPE_UINT64 = 13,
  MSC_DTYPE_COMPLEX64 = 14,
  MSC_DTYPE_COMPLEX128 = 15,
  MSC_DTYPE_BFLOAT16 = 16,
} MscDType;

#define MSC_MAX_RANK 8

/* MscTensor flags */
#define MSC_TENSOR_OWNS_DATA 1u /* data was allocated by msc_tensor_new and is freed with the tensor */

/**
 * MscTensor:
 * @dtype: element type.
 * @rank: number of dims, 0..MSC_MAX_RANK (0 = scalar, one element).
 *   In static shape inference only, rank may be -1 (unknown).
 * @dims: the dims; in static shape inference only, a dim may be -1 (unknown).
 * @data: the elements, row-major, little-endian. Owned by the tensor when
 *   @flags has MSC_TENSOR_OWNS_DATA (then 64-byte aligned), else borrowed:
 *   the borrower keeps it alive for the tensor's lifetime. NULL when the
 *   tensor only describes a shape (static inference).
 * @nbytes: size of @data in bytes.
 * @name: nullable, owned by the tensor (g_free / msc_free).
 */
typedef struct MscTensor {
  MscDType dtype;
  int32_t rank;
  int64_t dims[MSC_MAX_RANK];
  void *data;
  size_t nbytes;
  uint32_t flags;
  char *name;
} MscTensor;

/* Attribute types, numbered as ONNX AttributeProto.AttributeType. */
typedef enum {
  MSC_ATTR_UNDEFINED = 0,
  MSC_ATTR_FLOAT = 1,
  MSC_ATTR_INT = 2,
  MSC_ATTR_STRING = 3,
  MSC_ATTR_TENSOR = 4,
  MSC_ATTR_GRAPH = 5,
  MSC_ATTR_FLOATS = 6,
  MSC_ATTR_INTS = 7,
  MSC_ATTR_STRINGS = 8,
} MscAttrType;

/**
 * MscAttr: one node attribute; all pointers owned by the graph.
 * @s/@s_len: STRING value (NUL-terminated copy; @s_len excludes the NUL).
 * @t: TENSOR value.
 * @floats/@ints/@strings with @n elements for the list types.
 */
typedef struct MscAttr {
  char *name;
  MscAttrType type;
  float f;
  int64_t i;
  char *s;
  size_t s_len;
  MscTensor *t;
  float *floats;
  int64_t *ints;
  char **strings;
  size_t n;
} MscAttr;

struct MscNode;
struct MscOpDef;

/* MscValue flags */
#define MSC_VALUE_GRAPH_INPUT 1u
#define MSC_VALUE_GRAPH_OUTPUT 2u
#define MSC_VALUE_INITIALIZER 4u

/**
 * MscValue: a named tensor edge of the graph. Owned by its MscGraph.
 * @dtype: MSC_DTYPE_UNDEFINED when not known.
 * @rank: -1 when unknown.
 * @dims: -1 for an unknown dim; @dim_params[i] (nullable, owned) keeps the
 *   model's symbolic name for it.
 * @value: the constant value (initializer, Constant output or folded) or
 *   NULL; owned by the value.
 * @producer: the node producing it, NULL for graph inputs and initializers.
 */
typedef struct MscValue {
  char *name;
  MscDType dtype;
  int32_t rank;
  int64_t dims[MSC_MAX_RANK];
  char *dim_params[MSC_MAX_RANK];
  MscTensor *value;
  struct MscNode *producer;
  uint32_t flags;
  uint32_t index; /* position in MscGraph.values */
} MscValue;

/**
 * MscNode: one operator application. Owned by its MscGraph.
 * @domain: "" for the default ONNX domain (ai.onnx).
 * @opset: the opset version the model imports for @domain.
 * @inputs/@outputs: entries may be NULL where an optional slot is omitted.
 * @op: the operator definition resolved by msc_graph_resolve_ops(), or NULL.
 */
typedef struct MscNode {
  char *name;
  char *op_type;
  char *domain;
  int64_t opset;
  MscValue **inputs;
  uint32_t n_inputs;
  MscValue **outputs;
  uint32_t n_outputs;
  MscAttr *attrs;
  uint32_t n_attrs;
  const struct MscOpDef *op;
  uint32_t index; /* position in MscGraph.nodes */
  char *doc;      /* nullable */
} MscNode;

typedef struct MscOpsetImport {
  char *domain; /* "" for ai.onnx */
  int64_t version;
} MscOpsetImport;

/**
 * MscGraph: a model's main graph plus the model-level metadata we keep.
 * Everything reachable from it is owned by it; free with msc_graph_free().
 * @nodes: in topological order once msc_graph_sort() succeeded.
 * @inputs: graph inputs that are not initializers, in model order.
 */
typedef struct MscGraph {
  char *name;
  MscNode **nodes;
  uint32_t n_nodes;
  MscValue **values;
  uint32_t n_values;
  MscValue **inputs;
  uint32_t n_inputs;
  MscValue **outputs;
  uint32_t n_outputs;
  MscOpsetImport *opsets;
  uint32_t n_opsets;
  int64_t ir_version;
  char *producer_name;
  char *producer_version;
  char *doc;
  void *priv; /* core-private (name index, capacities); never touched by plugins */
} MscGraph;

#ifdef __cplusplus
}
#endif
#endif /* MSC_TYPES_H */
