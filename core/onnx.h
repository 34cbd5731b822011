/* onnx.h: ONNX model files <-> MscGraph.
 *
 * Import builds the graph with the construction API of graph.h and checks
 * what is local to the file (parse, names, types, tensors, attribute kinds);
 * topological order, op resolution and inference are msc_graph_verify()'s
 * job, called by whoever loads. Export writes a model ONNX Runtime accepts
 * (IR version >= 3) whose re-import gives an identical graph.
 *
 * Errors: MSC_ERROR domain, code an MscStatus; one-line messages
 * "<file>: <what>" (e.g. "m.onnx: node 'conv_3' (Conv): attribute 'body'
 * has type GRAPH, not supported").
 */
#ifndef MSC_ONNX_H
#define MSC_ONNX_H

#include <glib.h>
#include "msc-types.h"

G_BEGIN_DECLS

/* Protobuf messages are limited to 2 GiB: the export refuses larger models.
 * Loading is bounded by the model_bytes limit (limits.h), 2 GiB by default. */
#define MSC_ONNX_MAX_BYTES ((size_t)2 << 30)

/**
 * MscOnnxScanInfo:
 * @max_depth: deepest message nesting seen (ModelProto is 1).
 * @n_messages: messages seen, the ModelProto included.
 * @n_nodes: NodeProto messages seen (subgraphs and functions included).
 */
typedef struct {
  size_t max_depth;
  size_t n_messages;
  size_t n_nodes;
} MscOnnxScanInfo;

/**
 * msc_onnx_scan_buffer:
 * @data: (array length=len) (transfer none): a serialized onnx.ModelProto.
 * @source_name: (nullable): name used in messages ("<buffer>" when NULL).
 * @info: (out) (optional): what the scan saw.
 * @error: (out) (optional): error location.
 *
 * Walks the protobuf wire format iteratively (constant stack, whatever the
 * nesting), descending only into the fields the ONNX schema declares as
 * messages (others are skipped as bytes). Run by the loaders before
 * protobuf-c, whose recursive unpack has no depth bound.
 *
 * Returns: FALSE with @error set: MSC_ERR_CORRUPT for a malformed varint,
 * a length or fixed-size field past the end of its enclosing message, field
 * number 0, a group or unknown wire type, a NUL byte in an external_data
 * entry; MSC_ERR_UNSUPPORTED for nesting deeper than the nesting limit or
 * more NodeProtos than the graph_nodes limit (limits.h).
 */
gboolean msc_onnx_scan_buffer(const uint8_t *data, size_t len, const char *source_name,
                              MscOnnxScanInfo *info, GError **error);

/**
 * msc_onnx_load_buffer:
 * @data: (array length=len) (transfer none): a serialized onnx.ModelProto.
 * @source_name: (nullable): the file name used in messages ("<buffer>"
 *   when NULL).
 * @error: (out) (optional): error location.
 *
 * Parses a model into a new graph: opset imports per domain ("" and
 * "ai.onnx" are the same; a model without any gets ai.onnx opset 1),
 * initializers, graph inputs (minus those that are initializers, as old IR
 * versions list both), nodes in file order (empty input/output names are
 * NULL slots; an unnamed node is named "<OpType>_<index>", made unique),
 * all attribute kinds except graphs/sparse tensors/type protos, graph
 * outputs, and value types from inputs/outputs/value_info (a symbolic dim
 * is -1 with its name in dim_params; no shape is rank -1).
 *
 * The resource limits of limits.h are enforced before anything big is
 * allocated: the wire format is pre-scanned (msc_onnx_scan_buffer: nesting,
 * node count, framing), then every initializer is checked and the total of
 * initializers, constant attribute tensors and statically shaped graph
 * inputs is compared to the total_bytes limit.
 *
 * Returns: (transfer full) (nullable): the graph, or NULL with @error set:
 * MSC_ERR_CORRUPT (protobuf parse failure, no graph, node without op_type,
 * unknown data type, bad tensor sizes, empty/duplicate names, a value
 * produced twice or produced while being an input/initializer, a domain
 * without opset import), MSC_ERR_UNSUPPORTED (a limit exceeded, external
 * data (a buffer has no folder to read it from), string tensors,
 * GRAPH/SPARSE_TENSOR attributes, sparse initializers, non-tensor graph
 * inputs/outputs, rank above MSC_MAX_RANK).
 */
MscGraph *msc_onnx_load_buffer(const uint8_t *data, size_t len, const char *source_name,
                               GError **error);

/**
 * msc_onnx_load_file:
 * @path: an .onnx file.
 *
 * As msc_onnx_load_buffer() on the file's contents (memory-mapped; a file
 * above the model_bytes limit is refused before mapping), and tensors with
 * external data (data_location EXTERNAL) are read from files inside the
 * model's folder only (see msc_tensor_from_proto_in_dir() for the rules).
 * Returns: (transfer full) (nullable): the graph, or NULL with @error set
 * (additionally MSC_ERR_IO when the file or an external data file cannot
 * be read).
 */
MscGraph *msc_onnx_load_file(const char *path, GError **error);

/**
 * msc_onnx_save_buffer:
 * @g: (transfer none): the graph.
 * @data: (out) (transfer full): the serialized model, free with g_free().
 * @len: (out): its size.
 *
 * Serializes @g as an onnx.ModelProto: ir_version max(model's, 3), the
 * opset imports, nodes with all attributes, initializers in raw_data form,
 * graph inputs with types (for IR < 4 the initializers are listed as inputs
 * too, as that IR requires), outputs, and value_info for every other value
 * whose dtype or rank is known.
 *
 * Returns: FALSE with @error set (*data NULL) on failure: MSC_ERR_UNSUPPORTED
 * for tensors that cannot be serialized or a model above 2 GiB.
 */
gboolean msc_onnx_save_buffer(const MscGraph *g, uint8_t **data, size_t *len, GError **error);

/**
 * msc_onnx_save_file:
 * @g: (transfer none): the graph.
 * @path: destination; written to a temp file in the same directory, then
 *   renamed, so a failure never leaves a partial file.
 *
 * Returns: FALSE with @error set on failure (also MSC_ERR_IO).
 */
gboolean msc_onnx_save_file(const MscGraph *g, const char *path, GError **error);

G_END_DECLS
#endif /* MSC_ONNX_H */
