/* opset.c: raising a model's ai.onnx opset for the quantized rewrite.
 * Per-axis DequantizeLinear (per-channel weights) needs opset 13 and
 * QuantizeLinear needs 10, while many exported CNNs import 9-12. Ops
 * whose semantics changed on the way are converted (attributes that
 * became inputs: Clip 11, Slice 10, Pad 11, TopK 10, Squeeze, Unsqueeze,
 * Split and ReduceSum 13; Softmax-family axis semantics 13 where the
 * coerced-2-D form equals the single-axis one; Dropout 12); ops that
 * only gained types or optional attributes are kept; anything else
 * blocks the upgrade (the caller then keeps the opset and per-tensor
 * weights, or refuses below 10). */
#include <math.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "quant.h"
#include "tensor.h"

/* Ops whose definitions between opset 7 and 13 only added types,
 * optional attributes or optional inputs with the old default. */
static const char *const compatible[] = {
    "Abs", "Acos", "Add", "And", "ArgMax", "ArgMin", "Asin", "Atan", "AveragePool", "BatchNormalization", "Cast",
    "Ceil", "Concat", "Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "CumSum", "DepthToSpace",
    "DequantizeLinear", "Div", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather",
    "GatherElements", "GatherND", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Greater", "GreaterOrEqual",
    "HardSigmoid", "Identity", "InstanceNormalization", "IsInf", "IsNaN", "LRN", "LeakyRelu", "Less", "LessOrEqual",
    "Log", "MatMul", "MatMulInteger", "Max", "MaxPool", "Mean", "Min", "Mod", "Mul", "Neg", "NonZero", "Not", "Or",
    "PRelu", "Pow", "QLinearConv", "QLinearMatMul", "ConvInteger", "QuantizeLinear", "Range", "Reciprocal",
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd",
    "ReduceSumSquare", "Relu", "Reshape", "Resize", "Round", "ScatterElements", "ScatterND", "Selu", "Shape",
    "Sigmoid", "Sign", "Sin", "Size", "Softplus", "Softsign", "SpaceToDepth", "Sqrt", "Sub", "Sum", "Tan", "Tanh",
    "Tile", "Transpose", "Where", "Xor", "Dropout", "Clip", "Slice", "Pad", "TopK", "Squeeze", "Unsqueeze", "Split",
    "ReduceSum", "Softmax", "LogSoftmax", "Hardmax", NULL};

static gboolean is_compatible(const char *op) {
  for (int i = 0; compatible[i]; i++)
    if (strcmp(compatible[i], op) == 0) return TRUE;
  return FALSE;
}

static const MscAttr *attr(const MscNode *n, const char *name) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

/* Softmax before 13 coerces the input to 2-D at `axis`: the same as the
 * single-axis form only when every dim after the axis is 1 or the axis
 * is the last one. Returns the equivalent axis or -1. */
static int64_t softmax_axis(const MscNode *n) {
  const MscAttr *a = attr(n, "axis");
  int64_t axis = a ? a->i : 1;
  const MscValue *x = n->n_inputs ? n->inputs[0] : NULL;
  if (!x || x->rank < 1) return -1;
  if (axis < 0) axis += x->rank;
  if (axis < 0 || axis >= x->rank) return -1;
  int64_t after = 1;
  for (int i = axis + 1; i < x->rank; i++) {
    if (x->dims[i] < 0) return -1;
    after *= x->dims[i];
  }
  if (after == 1) return axis;
  return -1;
}

static const char *node_blocker(const MscNode *n, int64_t target, char *buf, size_t size) {
  if (n->domain && *n->domain) return NULL;
  if (n->opset < 7) return "opsets below 7 (broadcast attributes) are not converted";
  if (!is_compatible(n->op_type)) return "no conversion to the target opset is known for this op";
  if (strcmp(n->op_type, "BatchNormalization") == 0 && n->opset < 9) return "BatchNormalization before opset 9";
  if (strcmp(n->op_type, "Resize") == 0 && n->opset < 11) return "Resize-10 (coordinate mode differs)";
  if ((strcmp(n->op_type, "Softmax") == 0 || strcmp(n->op_type, "LogSoftmax") == 0 ||
       strcmp(n->op_type, "Hardmax") == 0) && n->opset < 13 && softmax_axis(n) < 0)
    return "axis semantics changed in opset 13 and the input's trailing dims are not 1";
  if (strcmp(n->op_type, "Upsample") == 0) return "Upsample was removed";
  (void)target;
  (void)buf;
  (void)size;
  return NULL;
}

char *msc_quant_opset_blocker(const MscGraph *g, int64_t target) {
  char buf[256];
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (n->domain && *n->domain) continue;
    if (n->opset >= target) continue;
    const char *why = node_blocker(n, target, buf, sizeof buf);
    if (why) return g_strdup_printf("%s: %s", msc_node_describe(n, buf, sizeof buf), why);
  }
  return NULL;
}

static const char *int64_input(MscQBuild *b, const MscNode *n, const char *what, const int64_t *v, size_t len) {
  int64_t d = (int64_t)len;
  MscTensor *t = msc_tensor_new(MSC_DTYPE_INT64, 1, &d, NULL);
  if (len) memcpy(t->data, v, sizeof(int64_t) * len);
  g_autofree char *base = g_strdup_printf("%s_%s", n->name && *n->name ? n->name : n->op_type, what);
  return msc_qbuild_add_init(b, base, t);
}

static const char *float_input(MscQBuild *b, const MscNode *n, const char *what, float v) {
  MscTensor *t = msc_tensor_new(MSC_DTYPE_FLOAT32, 0, NULL, NULL);
  *(float *)t->data = v;
  g_autofree char *base = g_strdup_printf("%s_%s", n->name && *n->name ? n->name : n->op_type, what);
  return msc_qbuild_add_init(b, base, t);
}

static void set_input(MscQNode *s, guint i, const char *name) {
  while (s->in->len <= i) g_ptr_array_add(s->in, g_strdup(""));
  g_free(s->in->pdata[i]);
  s->in->pdata[i] = g_strdup(name);
}

/* Moves an ints attribute to input @slot (absent attribute: slot left empty). */
static void ints_to_input(MscQBuild *b, const MscNode *n, MscQNode *s, const char *aname, guint slot) {
  const MscAttr *a = attr(n, aname);
  if (a) set_input(s, slot, int64_input(b, n, aname, a->ints, a->n));
  msc_qnode_remove_attr(s, aname);
}

gboolean msc_quant_opset_upgrade(MscQBuild *b, const MscGraph *g, const MscNode *n, MscQNode *s, int64_t target,
                                 GError **error) {
  char buf[256];
  const char *why = node_blocker(n, target, buf, sizeof buf);
  if (why) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: cannot raise opset %lld to %lld: %s",
                  msc_node_describe(n, buf, sizeof buf), (long long)n->opset, (long long)target, why);
    return FALSE;
  }
  (void)g;
  const char *op = n->op_type;
  s->opset = target;
  if (strcmp(op, "Clip") == 0 && n->opset < 11) {
    const MscAttr *lo = attr(n, "min"), *hi = attr(n, "max");
    if (lo) set_input(s, 1, float_input(b, n, "min", lo->f));
    if (hi) set_input(s, 2, float_input(b, n, "max", hi->f));
    msc_qnode_remove_attr(s, "min");
    msc_qnode_remove_attr(s, "max");
  } else if (strcmp(op, "Slice") == 0 && n->opset < 10) {
    ints_to_input(b, n, s, "starts", 1);
    ints_to_input(b, n, s, "ends", 2);
    ints_to_input(b, n, s, "axes", 3);
  } else if (strcmp(op, "Pad") == 0 && n->opset < 11) {
    ints_to_input(b, n, s, "pads", 1);
    const MscAttr *v = attr(n, "value");
    if (v) set_input(s, 2, float_input(b, n, "value", v->f));
    msc_qnode_remove_attr(s, "value");
  } else if (strcmp(op, "TopK") == 0 && n->opset < 10) {
    const MscAttr *k = attr(n, "k");
    int64_t kv = k ? k->i : 1;
    set_input(s, 1, int64_input(b, n, "k", &kv, 1));
    msc_qnode_remove_attr(s, "k");
  } else if ((strcmp(op, "Squeeze") == 0 || strcmp(op, "Unsqueeze") == 0 || strcmp(op, "ReduceSum") == 0) &&
             n->opset < 13) {
    ints_to_input(b, n, s, "axes", 1);
  } else if (strcmp(op, "Split") == 0 && n->opset < 13) {
    ints_to_input(b, n, s, "split", 1);
  } else if ((strcmp(op, "Softmax") == 0 || strcmp(op, "LogSoftmax") == 0 || strcmp(op, "Hardmax") == 0) &&
             n->opset < 13) {
    msc_qnode_add_attr_int(s, "axis", softmax_axis(n));
  } else if (strcmp(op, "Dropout") == 0 && n->opset < 12) {
    msc_qnode_remove_attr(s, "ratio");
    msc_qnode_remove_attr(s, "is_test");
  } else if (strcmp(op, "BatchNormalization") == 0) {
    msc_qnode_remove_attr(s, "spatial");
  }
  return TRUE;
}
