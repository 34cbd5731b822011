/* fuzz-exec.c: small fuzzed graphs through verification and the reference
 * kernels. The input is decoded (see Reader) into a graph of 1-4 nodes taken
 * from a fixed op list, with fuzzed attributes, 1-3 graph inputs of small
 * shapes (each dim 0..4, rank 0..4; sometimes declared symbolic, or declared
 * huge (INT64_MAX, 2^62, 2^40, ...): such graphs are only verified) and a few
 * small initializers; it is verified (static inference, constant folding)
 * and then run node by node with msc_node_execute, as the ref runner does.
 * Errors are fine; crashes, UB, leaks are bugs, and so is a run-time output
 * whose dtype or shape contradicts what static inference promised. */
#include <math.h>
#include <string.h>

#include "fuzz-common.h"
#include "graph.h"
#include "tensor.h"

/* Each node's outputs are capped at this many elements (checked with the
 * op's own infer() before the kernel runs) so every run stays fast. */
#define FUZZ_MAX_OUT_ELEMS 16384

typedef struct {
  const uint8_t *p;
  size_t n;
} Reader;

static uint8_t rd_u8(Reader *r) {
  if (!r->n) return 0;
  r->n--;
  return *r->p++;
}

static uint16_t rd_u16(Reader *r) {
  return (uint16_t)(rd_u8(r) | (rd_u8(r) << 8));
}

static int64_t rd_int(Reader *r) {
  static const int64_t special[] = {0, 1, -1, 2, 3, -2, 4, 5, INT64_MAX, INT64_MIN, INT32_MAX, INT32_MIN,
                                    (int64_t)1 << 40, -((int64_t)1 << 40), 1000000, 255, 256, 65536};
  uint8_t b = rd_u8(r);
  if (b < 0x80) return b % 5;                          /* 0..4: dims, axes, kernels */
  if (b < 0xc0) return (int64_t)(int8_t)(b << 2) / 4; /* -32..31 */
  return special[(b - 0xc0) % G_N_ELEMENTS(special)];
}

static float rd_float(Reader *r) {
  static const float special[] = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, -0.5f, 3.0f, 1e-6f, 1e30f, -1e30f,
                                  INFINITY, -INFINITY, NAN, -0.0f, 127.5f, 1e-40f, 65504.0f, 1e10f};
  uint8_t b = rd_u8(r);
  if (b < 0x80) return (float)((int)b - 64) / 8.0f;
  if (b < 0xf0) return special[(b - 0x80) % G_N_ELEMENTS(special)];
  uint32_t bits = (uint32_t)rd_u16(r) | ((uint32_t)rd_u16(r) << 16);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static const MscDType dtypes[] = {
    MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT32, MSC_DTYPE_INT64, MSC_DTYPE_INT64,
    MSC_DTYPE_FLOAT16, MSC_DTYPE_INT32,   MSC_DTYPE_INT8,    MSC_DTYPE_UINT8,   MSC_DTYPE_BOOL,  MSC_DTYPE_DOUBLE,
    MSC_DTYPE_UINT16,  MSC_DTYPE_BFLOAT16, MSC_DTYPE_UINT32, MSC_DTYPE_INT16,
};

static MscDType rd_dtype(Reader *r) {
  return dtypes[rd_u8(r) % G_N_ELEMENTS(dtypes)];
}

/* Fills a tensor's elements from the reader (zeros once it runs dry). */
static void fill_tensor(Reader *r, MscTensor *t) {
  int64_t n = msc_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    if (msc_dtype_is_float(t->dtype)) msc_tensor_set_f64(t, i, rd_float(r));
    else msc_tensor_set_f64(t, i, (double)rd_int(r));
  }
}

static const char *const ops[] = {
    "Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "Gemm", "MatMul", "MatMulInteger", "QLinearMatMul",
    "Add", "Sub", "Mul", "Div", "Pow", "Mod", "PRelu", "Sum", "Max", "Min", "Mean", "Equal", "Greater", "Less",
    "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Not", "Where",
    "Abs", "Neg", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Sign",
    "Erf", "Sin", "Cos", "Elu", "Selu", "Celu", "LeakyRelu", "HardSigmoid", "HardSwish", "Softplus", "Softsign",
    "ThresholdedRelu", "Shrink", "Mish", "Clip",
    "Cast", "CastLike", "QuantizeLinear", "DequantizeLinear",
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Shape", "Size", "Identity", "Dropout", "Expand", "Tile",
    "Constant", "ConstantOfShape", "Transpose", "Concat", "Split", "Slice", "Gather", "Pad", "Resize", "Upsample",
    "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool",
    "BatchNormalization", "InstanceNormalization", "LRN", "Softmax", "LogSoftmax",
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceLogSum",
    "ReduceLogSumExp", "ArgMax", "ArgMin",
};

typedef struct {
  const char *name;
  MscAttrType type;
} AttrSpec;

/* Every attribute name the kernels read, with its ONNX type. */
static const AttrSpec attr_specs[] = {
    {"alpha", MSC_ATTR_FLOAT}, {"beta", MSC_ATTR_FLOAT}, {"bias", MSC_ATTR_FLOAT}, {"cubic_coeff_a", MSC_ATTR_FLOAT},
    {"epsilon", MSC_ATTR_FLOAT}, {"extrapolation_value", MSC_ATTR_FLOAT}, {"gamma", MSC_ATTR_FLOAT},
    {"height_scale", MSC_ATTR_FLOAT}, {"lambd", MSC_ATTR_FLOAT}, {"max", MSC_ATTR_FLOAT}, {"min", MSC_ATTR_FLOAT},
    {"momentum", MSC_ATTR_FLOAT}, {"ratio", MSC_ATTR_FLOAT}, {"value", MSC_ATTR_FLOAT}, {"width_scale", MSC_ATTR_FLOAT},
    {"scales", MSC_ATTR_FLOATS}, {"allowzero", MSC_ATTR_INT}, {"antialias", MSC_ATTR_INT}, {"axis", MSC_ATTR_INT},
    {"block_size", MSC_ATTR_INT}, {"broadcast", MSC_ATTR_INT}, {"ceil_mode", MSC_ATTR_INT},
    {"count_include_pad", MSC_ATTR_INT}, {"end", MSC_ATTR_INT}, {"exclude_outside", MSC_ATTR_INT},
    {"fmod", MSC_ATTR_INT}, {"group", MSC_ATTR_INT}, {"is_test", MSC_ATTR_INT}, {"keepdims", MSC_ATTR_INT},
    {"noop_with_empty_axes", MSC_ATTR_INT}, {"num_outputs", MSC_ATTR_INT}, {"output_dtype", MSC_ATTR_INT},
    {"saturate", MSC_ATTR_INT}, {"select_last_index", MSC_ATTR_INT}, {"size", MSC_ATTR_INT}, {"spatial", MSC_ATTR_INT},
    {"start", MSC_ATTR_INT}, {"storage_order", MSC_ATTR_INT}, {"training_mode", MSC_ATTR_INT}, {"p", MSC_ATTR_INT},
    {"to", MSC_ATTR_INT}, {"transA", MSC_ATTR_INT}, {"transB", MSC_ATTR_INT}, {"axes", MSC_ATTR_INTS},
    {"dilations", MSC_ATTR_INTS}, {"kernel_shape", MSC_ATTR_INTS}, {"output_shape", MSC_ATTR_INTS},
    {"output_padding", MSC_ATTR_INTS}, {"pads", MSC_ATTR_INTS}, {"perm", MSC_ATTR_INTS}, {"shape", MSC_ATTR_INTS},
    {"split", MSC_ATTR_INTS}, {"strides", MSC_ATTR_INTS}, {"starts", MSC_ATTR_INTS}, {"ends", MSC_ATTR_INTS},
    {"auto_pad", MSC_ATTR_STRING}, {"coordinate_transformation_mode", MSC_ATTR_STRING},
    {"keep_aspect_ratio_policy", MSC_ATTR_STRING}, {"mode", MSC_ATTR_STRING}, {"nearest_mode", MSC_ATTR_STRING},
    {"value", MSC_ATTR_TENSOR}, {"value_int", MSC_ATTR_INT}, {"value_float", MSC_ATTR_FLOAT},
    {"value_ints", MSC_ATTR_INTS}, {"value_floats", MSC_ATTR_FLOATS},
};

static const char *const strings[] = {
    "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "constant", "reflect", "edge", "wrap", "nearest", "linear",
    "bilinear", "cubic", "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
    "tf_crop_and_resize", "tf_half_pixel_for_nn", "round_prefer_floor", "round_prefer_ceil", "floor", "ceil",
    "stretch", "not_larger", "not_smaller", "", "bogus",
};

static MscTensor *rd_small_tensor(Reader *r, int want_ints) {
  MscDType dt = want_ints ? MSC_DTYPE_INT64 : rd_dtype(r);
  int32_t rank = rd_u8(r) % 3 == 0 ? 0 : 1;
  int64_t dims[1] = {rd_u8(r) % 9};
  MscTensor *t = msc_tensor_new(dt, rank, dims, NULL);
  if (t) fill_tensor(r, t);
  return t;
}

/* Attribute names worth trying first for some ops (space-separated): a
 * global pick rarely hits e.g. a kernel_shape of the right length. */
static const struct {
  const char *op_prefix;
  const char *names;
} attr_hints[] = {
    {"Conv", "kernel_shape strides pads dilations group auto_pad output_padding output_shape"},
    {"QLinearConv", "kernel_shape strides pads dilations group auto_pad"},
    {"MaxPool", "kernel_shape strides pads dilations ceil_mode auto_pad storage_order"},
    {"AveragePool", "kernel_shape strides pads ceil_mode count_include_pad auto_pad dilations"},
    {"LpPool", "kernel_shape strides pads p auto_pad ceil_mode dilations"},
    {"GlobalLpPool", "p"},
    {"Resize", "mode coordinate_transformation_mode nearest_mode cubic_coeff_a exclude_outside extrapolation_value antialias axes keep_aspect_ratio_policy"},
    {"Upsample", "mode scales height_scale width_scale"},
    {"Reduce", "axes keepdims noop_with_empty_axes"},
    {"Arg", "axis keepdims select_last_index"},
    {"Gemm", "alpha beta transA transB broadcast"},
    {"Split", "axis split num_outputs"},
    {"Slice", "starts ends axes"},
    {"Pad", "pads mode value"},
    {"Clip", "min max"},
    {"Cast", "to saturate"},
    {"Quantize", "axis saturate output_dtype block_size"},
    {"Dequantize", "axis block_size"},
    {"Constant", "value value_int value_float value_ints value_floats"},
    {"BatchNormalization", "epsilon momentum spatial is_test training_mode"},
    {"InstanceNormalization", "epsilon"},
    {"LRN", "size alpha beta bias"},
    {"Transpose", "perm"},
    {"Reshape", "shape allowzero"},
    {"Squeeze", "axes"},
    {"Unsqueeze", "axes"},
    {"Shape", "start end"},
    {"Mod", "fmod"},
};

static const AttrSpec *pick_attr(Reader *r, const char *op) {
  uint8_t b = rd_u8(r);
  if (b & 1) {
    for (size_t h = 0; h < G_N_ELEMENTS(attr_hints); h++) {
      if (strncmp(op, attr_hints[h].op_prefix, strlen(attr_hints[h].op_prefix)) != 0) continue;
      char **names = g_strsplit(attr_hints[h].names, " ", -1);
      const char *want = names[(b >> 1) % g_strv_length(names)];
      const AttrSpec *found = NULL;
      for (size_t k = 0; k < G_N_ELEMENTS(attr_specs) && !found; k++)
        if (strcmp(attr_specs[k].name, want) == 0 && (strcmp(want, "value") != 0 || (b & 0x80) ||
                                                      strcmp(op, "Constant") != 0 || attr_specs[k].type == MSC_ATTR_TENSOR))
          found = &attr_specs[k];
      g_strfreev(names);
      if (found) return found;
    }
  }
  return &attr_specs[(b >> 1) % G_N_ELEMENTS(attr_specs)];
}

static void add_attr(Reader *r, MscNode *n) {
  const AttrSpec *s = pick_attr(r, n->op_type);
  MscAttr a = {0};
  a.name = g_strdup(s->name);
  a.type = s->type;
  uint8_t mode = rd_u8(r);
  if (mode >= 0xf8) a.type = (MscAttrType)(1 + mode % 8); /* the wrong type now and then */
  switch (a.type) {
  case MSC_ATTR_FLOAT: a.f = rd_float(r); break;
  case MSC_ATTR_INT: a.i = rd_int(r); break;
  case MSC_ATTR_STRING:
    a.s = g_strdup(strings[rd_u8(r) % G_N_ELEMENTS(strings)]);
    a.s_len = strlen(a.s);
    break;
  case MSC_ATTR_TENSOR: a.t = rd_small_tensor(r, 0); break;
  case MSC_ATTR_FLOATS:
    a.n = rd_u8(r) % 7;
    a.floats = g_new0(float, a.n ? a.n : 1);
    for (size_t i = 0; i < a.n; i++) a.floats[i] = rd_float(r);
    break;
  case MSC_ATTR_INTS:
    a.n = rd_u8(r) % 9;
    a.ints = g_new0(int64_t, a.n ? a.n : 1);
    for (size_t i = 0; i < a.n; i++) a.ints[i] = rd_int(r);
    break;
  case MSC_ATTR_STRINGS:
    a.n = rd_u8(r) % 3;
    a.strings = g_new0(char *, a.n + 1);
    for (size_t i = 0; i < a.n; i++) a.strings[i] = g_strdup(strings[rd_u8(r) % G_N_ELEMENTS(strings)]);
    break;
  default: a.type = MSC_ATTR_GRAPH; break; /* a type the kernels must refuse */
  }
  msc_node_add_attr(n, &a);
}

#define MAX_VALUES 32

/* Runs one node after checking with the op's own infer() that its outputs
 * stay small. Returns FALSE when the graph run stops (error or too big). */
static gboolean run_node(const MscNode *n, MscTensor **slots, gboolean *owned) {
  const MscTensor *in[8] = {0};
  MscTensor *out[4] = {0};
  MscTensor info[4];
  MscTensor *outp[4] = {0};
  if (n->n_inputs > 8 || n->n_outputs > 4) return FALSE;
  for (uint32_t k = 0; k < n->n_inputs; k++) in[k] = n->inputs[k] ? slots[n->inputs[k]->index] : NULL;
  memset(info, 0, sizeof info);
  for (uint32_t j = 0; j < n->n_outputs; j++) {
    info[j].rank = -1;
    if (n->outputs[j]) outp[j] = &info[j];
  }
  uint32_t present = n->n_inputs;
  while (present > 0 && !in[present - 1]) present--;
  if (present < n->op->min_inputs || (n->op->max_inputs && present > n->op->max_inputs)) return FALSE;
  for (uint32_t k = 0; k < n->op->min_inputs; k++)
    if (!in[k]) return FALSE;
  MscOpCtx ctx = {0};
  ctx.node = n;
  ctx.in = in;
  ctx.n_in = n->n_inputs;
  ctx.out = outp;
  ctx.n_out = n->n_outputs;
  if (n->op->infer(&ctx) != MSC_OK || ctx.status != MSC_OK) return FALSE;
  for (uint32_t j = 0; j < n->n_outputs; j++) {
    if (!outp[j]) continue;
    int64_t e = msc_shape_numel(info[j].rank, info[j].dims);
    if (info[j].rank < 0 || e < 0 || e > FUZZ_MAX_OUT_ELEMS) return FALSE;
  }
  GError *err = NULL;
  if (!msc_node_execute(n, in, out, &err)) {
    if (!err || !err->message) fuzz_bug("msc_node_execute failed without an error message");
    g_error_free(err);
    return FALSE;
  }
  for (uint32_t j = 0; j < n->n_outputs; j++) {
    const MscValue *v = n->outputs[j];
    if (!v) {
      if (out[j]) fuzz_bug("node '%s' (%s): output %u is absent but got a tensor", n->name, n->op_type, j);
      continue;
    }
    MscTensor *t = out[j];
    if (!t) fuzz_bug("node '%s' (%s): output %u missing after success", n->name, n->op_type, j);
    int64_t e = msc_shape_numel(t->rank, t->dims);
    if (e < 0 || t->nbytes != (size_t)e * msc_dtype_size(t->dtype))
      fuzz_bug("node '%s' (%s): output %u nbytes %zu does not match its shape", n->name, n->op_type, j, t->nbytes);
    /* static inference must agree with what the kernel produced */
    if (v->dtype != MSC_DTYPE_UNDEFINED && v->dtype != t->dtype)
      fuzz_bug("node '%s' (%s) opset %" G_GINT64_FORMAT ": output %u dtype %s, static inference said %s", n->name,
               n->op_type, n->opset, j, msc_dtype_name(t->dtype), msc_dtype_name(v->dtype));
    if (v->rank >= 0) {
      if (v->rank != t->rank)
        fuzz_bug("node '%s' (%s) opset %" G_GINT64_FORMAT ": output %u rank %d, static inference said %d", n->name,
                 n->op_type, n->opset, j, t->rank, v->rank);
      for (int k = 0; k < t->rank; k++)
        if (v->dims[k] >= 0 && v->dims[k] != t->dims[k])
          fuzz_bug("node '%s' (%s) opset %" G_GINT64_FORMAT ": output %u dim %d is %" G_GINT64_FORMAT
                   ", static inference said %" G_GINT64_FORMAT,
                   n->name, n->op_type, n->opset, j, k, t->dims[k], v->dims[k]);
    }
    /* a folded constant must equal the computed value */
    if (v->value && v->value->nbytes == t->nbytes && v->value->dtype == t->dtype && t->dtype != MSC_DTYPE_FLOAT32 &&
        t->dtype != MSC_DTYPE_FLOAT16 && t->dtype != MSC_DTYPE_DOUBLE && memcmp(v->value->data, t->data, t->nbytes) != 0)
      fuzz_bug("node '%s' (%s): output %u differs from its folded constant", n->name, n->op_type, j);
    volatile uint8_t sum = 0;
    for (size_t b = 0; b < t->nbytes; b++) sum += ((const uint8_t *)t->data)[b];
    (void)sum;
    if (slots[v->index] && owned[v->index]) msc_tensor_free(slots[v->index]);
    slots[v->index] = t;
    owned[v->index] = TRUE;
  }
  return TRUE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init_once();
  Reader rd = {data, size}, *r = &rd;
  MscGraph *g = msc_graph_new("fuzz");
  int64_t opset = 1 + rd_u8(r) % 21;
  msc_graph_set_opset(g, "", opset);
  MscValue *vals[MAX_VALUES];
  uint32_t nv = 0;
  char name[32];

  /* graph inputs; the concrete dims are kept aside, the declared ones may be symbolic */
  int64_t in_dims[3][MSC_MAX_RANK];
  int32_t in_rank[3];
  gboolean declared_only = FALSE; /* declared dims no concrete input can have: verified, never run */
  uint32_t n_in = 1 + rd_u8(r) % 3;
  for (uint32_t i = 0; i < n_in; i++) {
    g_snprintf(name, sizeof name, "x%u", i);
    MscValue *v = msc_graph_get_or_add_value(g, name);
    v->dtype = rd_dtype(r);
    v->rank = in_rank[i] = rd_u8(r) % 5;
    uint8_t sym = rd_u8(r);
    for (int k = 0; k < v->rank; k++) {
      uint8_t b = rd_u8(r) % 8;
      in_dims[i][k] = b == 0 ? 0 : (b + 1) / 2; /* 0..4, zero rarely */
      v->dims[k] = (sym & (1u << k)) && sym >= 0xc0 ? -1 : in_dims[i][k];
      if ((sym & (1u << k)) && sym >= 0xa0 && sym < 0xc0) { /* a huge declared dim: static inference only */
        static const int64_t huge[] = {INT64_MAX, INT64_MAX - 1, (int64_t)1 << 62, (int64_t)1 << 40, (int64_t)INT32_MAX + 1};
        v->dims[k] = huge[rd_u8(r) % G_N_ELEMENTS(huge)];
        declared_only = TRUE;
      }
    }
    if (sym == 0xff) v->rank = -1; /* no shape declared at all */
    msc_graph_add_input(g, v);
    vals[nv++] = v;
  }
  uint32_t n_init = rd_u8(r) % 4;
  for (uint32_t i = 0; i < n_init; i++) {
    g_snprintf(name, sizeof name, "c%u", i);
    MscTensor *t = rd_small_tensor(r, rd_u8(r) < 0xa0);
    if (!t) continue;
    vals[nv++] = msc_graph_add_initializer(g, name, t);
  }
  uint32_t n_nodes = 1 + rd_u8(r) % 4;
  MscNode *last = NULL;
  for (uint32_t i = 0; i < n_nodes; i++) {
    const char *op = ops[rd_u8(r) % G_N_ELEMENTS(ops)];
    const MscOpDef *def = msc_op_lookup("", op, opset);
    uint32_t min_in = def ? def->min_inputs : 1, max_in = def && def->max_inputs ? def->max_inputs : min_in + 3;
    uint32_t min_out = def ? def->min_outputs : 1, max_out = def && def->max_outputs ? def->max_outputs : min_out + 2;
    if (max_in > 8) max_in = 8;
    if (max_out > 4) max_out = 4;
    if (min_in > max_in) min_in = max_in;
    if (min_out > max_out) min_out = max_out;
    uint32_t ni = min_in + rd_u8(r) % (max_in - min_in + 1);
    uint32_t no = min_out + rd_u8(r) % (max_out - min_out + 1);
    if (nv + no > MAX_VALUES) break;
    MscValue *ins[8], *outs[4];
    for (uint32_t k = 0; k < ni; k++) {
      uint8_t b = rd_u8(r);
      ins[k] = (b >= 0xf0 && k > 0) ? NULL : vals[b % nv];
    }
    g_snprintf(name, sizeof name, "n%u", i);
    MscNode *n = msc_graph_add_node(g, name, op, "", opset);
    for (uint32_t j = 0; j < no; j++) {
      g_snprintf(name, sizeof name, "y%u_%u", i, j);
      outs[j] = (j > 0 && rd_u8(r) >= 0xf0) ? NULL : msc_graph_get_or_add_value(g, name);
    }
    msc_node_set_io(n, ins, ni, outs, no);
    for (uint32_t j = 0; j < no; j++)
      if (outs[j]) vals[nv++] = outs[j];
    uint32_t na = rd_u8(r) % 6;
    for (uint32_t k = 0; k < na; k++) add_attr(r, n);
    last = n;
  }
  for (uint32_t j = 0; last && j < last->n_outputs; j++)
    if (last->outputs[j]) msc_graph_add_output(g, last->outputs[j]);

  GError *err = NULL;
  if (!msc_graph_verify(g, &err)) {
    if (!err || !err->message) fuzz_bug("msc_graph_verify failed without an error message");
    g_error_free(err);
    msc_graph_free(g);
    return 0;
  }
  if (declared_only) {
    msc_graph_free(g);
    return 0;
  }

  /* run it, with concrete inputs filled from the rest of the data */
  MscTensor **slots = g_new0(MscTensor *, g->n_values);
  gboolean *owned = g_new0(gboolean, g->n_values);
  gboolean ok = TRUE;
  for (uint32_t i = 0; i < g->n_inputs && ok; i++) {
    MscValue *v = g->inputs[i];
    MscTensor *t = msc_tensor_new(v->dtype, in_rank[i], in_dims[i], NULL);
    if (!t) {
      ok = FALSE;
      break;
    }
    fill_tensor(r, t);
    slots[v->index] = t;
    owned[v->index] = TRUE;
  }
  for (uint32_t i = 0; i < g->n_values; i++)
    if (g->values[i]->flags & MSC_VALUE_INITIALIZER) slots[i] = g->values[i]->value;
  for (uint32_t i = 0; i < g->n_nodes && ok; i++) ok = run_node(g->nodes[i], slots, owned);
  for (uint32_t i = 0; i < g->n_values; i++)
    if (owned[i]) msc_tensor_free(slots[i]);
  g_free(slots);
  g_free(owned);
  msc_graph_free(g);
  return 0;
}
