/* zoo.h: small demo CNNs built directly as MscGraph, with deterministic
 * weights, for tests, the demo (`msc zoo OUTDIR`) and the embedding example.
 *
 * Models (input "input" float32 [N,3,64,64], N symbolic):
 *   resnet_mini     opset 13: stem Conv3x3/2-BN-Relu, MaxPool3x3/2, four
 *                   basic blocks 16 -> 16 -> 32/2 -> 32 -> 64/2 (1x1/2
 *                   projection shortcuts where channels change),
 *                   GlobalAveragePool, Flatten, Gemm -> "logits" [N,10].
 *   mobilenet_mini  opset 14 (HardSwish is an opset-14 op): stem
 *                   Conv3x3/2-BN-HardSwish, four MobileNetV2 inverted
 *                   residuals (1x1 expand-BN-Clip(0,6), depthwise 3x3
 *                   (group=C, two with stride 2)-BN-Clip, 1x1 project-BN,
 *                   Add where shapes match), 1x1 head Conv-BN-HardSwish,
 *                   GlobalAveragePool, Flatten, Gemm, Softmax -> "probs" [N,10].
 *
 * Weights come from mulberry32 seeded by the model name; normals are
 * Irwin-Hall (sum of 12 uniforms - 6), so only exact integer and IEEE
 * basic arithmetic is involved and every platform builds bit-identical
 * models. Convs are He-normal (std sqrt(2/fan_in)). BatchNorm running
 * statistics are "calibrated": the builder propagates per-channel mean and
 * variance estimates for an input uniform in [-1,1) through the network
 * and stores them (with a little noise) as running mean/var, the way a
 * trained model's statistics match its data; gamma/beta are drawn around
 * 1/0 (residual-branch last BNs get a small gamma, as in zero-init
 * residual training). Activations therefore stay O(1) at every depth.
 */
#ifndef MSC_ZOO_H
#define MSC_ZOO_H

#include <glib.h>
#include "msc-types.h"

G_BEGIN_DECLS

/**
 * msc_zoo_names:
 *
 * Returns: (transfer none) (array zero-terminated=1): the model names, in
 * a fixed order; static storage. MT safe.
 */
const char *const *msc_zoo_names(void);

/**
 * msc_zoo_doc:
 * @name: a model name.
 *
 * Returns: (transfer none) (nullable): a one-line description of the
 * model (static), or NULL for an unknown name. MT safe.
 */
const char *msc_zoo_doc(const char *name);

/**
 * msc_zoo_build:
 * @name: a name from msc_zoo_names().
 * @error: (out) (optional): error location.
 *
 * Builds the model with its weights as a new graph (nodes in topological
 * order, every node and value named, doc strings on the graph and nodes,
 * opset import set, graph input/output types with the symbolic batch dim
 * "N"). The graph is not verified: call msc_graph_verify() before use.
 * Two calls give bit-identical graphs.
 *
 * Returns: (transfer full) (nullable): the graph, or NULL with @error set
 * to MSC_ERR_INVALID_ARG naming the unknown model and listing the known
 * ones. MT safe (no shared state).
 */
MscGraph *msc_zoo_build(const char *name, GError **error);

/**
 * msc_zoo_make_input:
 * @input: (transfer none): a graph input with known dtype and rank.
 * @batch: the value for unknown (-1) dims, >= 1.
 * @seed: PRNG seed.
 * @error: (out) (optional): error location.
 *
 * Makes a deterministic input tensor named after @input, the same way as
 * shared/bench/make-case.js (`NAME=SHAPE@SEED`): mulberry32(@seed), floats
 * 2r-1 (uniform in [-1,1)), integers floor(10r), bool r >= 0.5.
 *
 * Returns: (transfer full) (nullable): the tensor, or NULL with @error set:
 * MSC_ERR_INVALID_ARG for unknown rank/dtype or @batch < 1,
 * MSC_ERR_UNSUPPORTED for dtypes other than float32/float16/int8/uint8/
 * int32/int64/bool. MT safe.
 */
MscTensor *msc_zoo_make_input(const MscValue *input, int64_t batch, uint32_t seed, GError **error);

G_END_DECLS
#endif /* MSC_ZOO_H */
