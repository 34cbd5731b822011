/* graph.h: the graph IR (structs in msc-types.h), construction, topological
 * order, op resolution, shape/dtype inference and verification. */
#ifndef MSC_GRAPH_H
#define MSC_GRAPH_H

#include <glib.h>
#include "msc-types.h"
#include "msc-op.h"

G_BEGIN_DECLS

/* (transfer full) empty graph. */
MscGraph *msc_graph_new(const char *name);
void msc_graph_free(MscGraph *g);

/* Value lookup by name; (transfer none), NULL when absent. */
MscValue *msc_graph_find_value(const MscGraph *g, const char *name);
/* Returns the value named @name, creating it (dtype UNDEFINED, rank -1) when
 * absent. (transfer none). */
MscValue *msc_graph_get_or_add_value(MscGraph *g, const char *name);
/* Takes ownership of @t as the initializer of value @name (created if absent). */
MscValue *msc_graph_add_initializer(MscGraph *g, const char *name, MscTensor *t);
void msc_graph_add_input(MscGraph *g, MscValue *v);
void msc_graph_add_output(MscGraph *g, MscValue *v);
/* Appends a node; strings are copied. Inputs/outputs are set with
 * msc_node_set_io. (transfer none). */
MscNode *msc_graph_add_node(MscGraph *g, const char *name, const char *op_type,
                            const char *domain, int64_t opset);
/* Sets the node's inputs and outputs (arrays copied; entries may be NULL). */
void msc_node_set_io(MscNode *n, MscValue **inputs, uint32_t n_inputs,
                     MscValue **outputs, uint32_t n_outputs);
/* Appends an attribute; takes ownership of the pointers inside @a (a shallow
 * struct copy is stored). */
void msc_node_add_attr(MscNode *n, const MscAttr *a);
/* Appends the INTS attribute @name with the @count values @v (both copied; the caller keeps its own). */
void msc_node_add_attr_ints(MscNode *n, const char *name, size_t count, const int64_t *v);
void msc_attr_clear(MscAttr *a);
/* Opset version the graph imports for @domain ("" = ai.onnx), 0 if none. */
int64_t msc_graph_opset(const MscGraph *g, const char *domain);
void msc_graph_set_opset(MscGraph *g, const char *domain, int64_t version);

/* Sorts nodes topologically (stable: keeps model order where allowed).
 * Errors: a cycle, a value produced twice, or an input nobody produces
 * (message names node and value). */
gboolean msc_graph_sort(MscGraph *g, GError **error);

/* Resolves node->op for every node through the op registry. With
 * @unsupported non-NULL, collects (transfer full, g_strfreev) the distinct
 * "domain:OpType(opset N)" strings that have no implementation and returns
 * FALSE with an MSC_ERR_UNSUPPORTED error naming the first. */
gboolean msc_graph_resolve_ops(MscGraph *g, GError **error);

/* Static shape and dtype inference over the sorted graph, with constant
 * folding of small all-constant subgraphs (Shape->Gather->... chains).
 * Fills each MscValue's dtype/rank/dims where knowable. Errors carry the
 * node name and op type. */
gboolean msc_graph_infer(MscGraph *g, GError **error);

/* sort + resolve + infer + structural checks (names unique, outputs
 * produced, supported dtypes at the graph edges). */
gboolean msc_graph_verify(MscGraph *g, GError **error);

/* Runs one node's op (infer, allocate, run) on concrete inputs.
 * @inputs has node->n_inputs entries (NULL for absent); on success
 * @outputs[j] (node->n_outputs entries) receive (transfer full) tensors,
 * NULL for absent outputs. Error messages name the node. */
gboolean msc_node_execute(const MscNode *node, const MscTensor *const *inputs,
                          MscTensor **outputs, GError **error);

/* "node 'name' (OpType)" for messages, in a caller buffer. */
const char *msc_node_describe(const MscNode *n, char *buf, size_t size);

/* Counts for `msc info`: parameters (initializer elements) and FLOPs
 * (multiply-adds count 2) of Conv/ConvTranspose/Gemm/MatMul and their
 * integer forms; unknown (symbolic) dims count as 1, i.e. per batch item. */
int64_t msc_graph_param_count(const MscGraph *g);
int64_t msc_graph_flops(const MscGraph *g);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MscGraph, msc_graph_free)

G_END_DECLS
#endif
