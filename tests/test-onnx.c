/* test-onnx.c: ONNX import/export (core/onnx-import.c, core/onnx-export.c). */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "graph.h"
#include "onnx.h"
#include "onnx.pb-c.h"
#include "tensor.h"

/* ------------------------------------------------------------------ */
/* A hand-built model ("mini") exercising every import rule. Its protobuf
 * message tree lives in an arena so tests can mutate it before packing. */

static GPtrArray *arena;

static void *
A(size_t n)
{
  void *p = g_malloc0(n ? n : 1);
  g_ptr_array_add(arena, p);
  return p;
}

#define NEW(T) ((T *)A(sizeof(T)))
#define NEWV(T, n) ((T *)A(sizeof(T) * (n)))

static char **
strv(size_t n, const char *const *s)
{
  char **v = NEWV(char *, n);
  for (size_t i = 0; i < n; i++)
    v[i] = (char *)s[i];
  return v;
}

static Onnx__TypeProto *
ttype(int32_t elem, int rank, const int64_t *dims, const char *const *params)
{
  Onnx__TypeProto *tp = NEW(Onnx__TypeProto);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = NEW(Onnx__TypeProto__Tensor);
  onnx__type_proto__tensor__init(tt);
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  if (elem >= 0) {
    tt->has_elem_type = 1;
    tt->elem_type = elem;
  }
  if (rank >= 0) {
    Onnx__TensorShapeProto *sp = NEW(Onnx__TensorShapeProto);
    onnx__tensor_shape_proto__init(sp);
    sp->n_dim = (size_t)rank;
    sp->dim = NEWV(Onnx__TensorShapeProto__Dimension *, rank);
    for (int i = 0; i < rank; i++) {
      Onnx__TensorShapeProto__Dimension *d = NEW(Onnx__TensorShapeProto__Dimension);
      onnx__tensor_shape_proto__dimension__init(d);
      if (params && params[i]) {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        d->dim_param = (char *)params[i];
      } else if (dims[i] >= 0) {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = dims[i];
      }
      sp->dim[i] = d;
    }
    tt->shape = sp;
  }
  return tp;
}

static Onnx__ValueInfoProto *
vinfo(const char *name, Onnx__TypeProto *type)
{
  Onnx__ValueInfoProto *vi = NEW(Onnx__ValueInfoProto);
  onnx__value_info_proto__init(vi);
  vi->name = (char *)name;
  vi->type = type;
  return vi;
}

static Onnx__TensorProto *
tensor_raw(const char *name, int32_t dtype, int rank, const int64_t *dims, const void *data, size_t n)
{
  Onnx__TensorProto *t = NEW(Onnx__TensorProto);
  onnx__tensor_proto__init(t);
  t->name = (char *)name;
  t->has_data_type = 1;
  t->data_type = dtype;
  t->n_dims = (size_t)rank;
  t->dims = NEWV(int64_t, rank);
  if (rank > 0) memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
  t->has_raw_data = 1;
  t->raw_data.len = n;
  t->raw_data.data = A(n);
  if (n > 0) memcpy(t->raw_data.data, data, n);
  return t;
}

static Onnx__AttributeProto *
attr(const char *name, int type)
{
  Onnx__AttributeProto *a = NEW(Onnx__AttributeProto);
  onnx__attribute_proto__init(a);
  a->name = (char *)name;
  a->has_type = 1;
  a->type = type;
  return a;
}

static Onnx__NodeProto *
node(const char *name, const char *op, const char *domain, size_t ni, const char *const *in, size_t no,
     const char *const *out)
{
  Onnx__NodeProto *n = NEW(Onnx__NodeProto);
  onnx__node_proto__init(n);
  n->name = (char *)name;
  n->op_type = (char *)op;
  n->domain = (char *)domain;
  n->n_input = ni;
  n->input = strv(ni, in);
  n->n_output = no;
  n->output = strv(no, out);
  return n;
}

static void
node_add_attr(Onnx__NodeProto *n, Onnx__AttributeProto *a)
{
  Onnx__AttributeProto **v = NEWV(Onnx__AttributeProto *, n->n_attribute + 1);
  if (n->n_attribute)
    memcpy(v, n->attribute, sizeof(*v) * n->n_attribute);
  v[n->n_attribute++] = a;
  n->attribute = v;
}

static float W_DATA[18];

static Onnx__ModelProto *
build_mini(void)
{
  Onnx__ModelProto *m = NEW(Onnx__ModelProto);
  onnx__model_proto__init(m);
  m->has_ir_version = 1;
  m->ir_version = 3;
  m->producer_name = "test-builder";
  m->producer_version = "0.1";
  m->n_opset_import = 2;
  m->opset_import = NEWV(Onnx__OperatorSetIdProto *, 2);
  const char *doms[] = {"", "com.example"};
  int64_t vers[] = {13, 1};
  for (int i = 0; i < 2; i++) {
    Onnx__OperatorSetIdProto *op = NEW(Onnx__OperatorSetIdProto);
    onnx__operator_set_id_proto__init(op);
    op->domain = (char *)doms[i];
    op->has_version = 1;
    op->version = vers[i];
    m->opset_import[i] = op;
  }
  Onnx__GraphProto *g = NEW(Onnx__GraphProto);
  onnx__graph_proto__init(g);
  m->graph = g;
  g->name = "mini";
  g->doc_string = "a graph for tests";

  /* initializers: W raw, B float_data, S int64_data */
  for (int i = 0; i < 18; i++)
    W_DATA[i] = (float)i * 0.25f - 2.0f;
  const int64_t wd[] = {2, 1, 3, 3};
  Onnx__TensorProto *W = tensor_raw("W", MSC_DTYPE_FLOAT32, 4, wd, W_DATA, sizeof W_DATA);
  Onnx__TensorProto *B = NEW(Onnx__TensorProto);
  onnx__tensor_proto__init(B);
  B->name = "B", B->has_data_type = 1, B->data_type = MSC_DTYPE_FLOAT32;
  B->n_dims = 1, B->dims = NEWV(int64_t, 1), B->dims[0] = 2;
  B->n_float_data = 2, B->float_data = NEWV(float, 2), B->float_data[0] = 0.5f, B->float_data[1] = -1.5f;
  Onnx__TensorProto *S = NEW(Onnx__TensorProto);
  onnx__tensor_proto__init(S);
  S->name = "S", S->has_data_type = 1, S->data_type = MSC_DTYPE_INT64;
  S->n_dims = 1, S->dims = NEWV(int64_t, 1), S->dims[0] = 2;
  S->n_int64_data = 2, S->int64_data = NEWV(int64_t, 2), S->int64_data[0] = -1, S->int64_data[1] = 50;
  g->n_initializer = 3;
  g->initializer = NEWV(Onnx__TensorProto *, 3);
  g->initializer[0] = W, g->initializer[1] = B, g->initializer[2] = S;

  /* inputs: X with a symbolic batch, plus the initializers (IR 3 style) */
  const char *xp[] = {"N", NULL, NULL, NULL};
  const int64_t xd[] = {-1, 1, 5, 5};
  const int64_t bd[] = {2}, sd[] = {2};
  g->n_input = 4;
  g->input = NEWV(Onnx__ValueInfoProto *, 4);
  g->input[0] = vinfo("X", ttype(MSC_DTYPE_FLOAT32, 4, xd, xp));
  g->input[1] = vinfo("W", ttype(MSC_DTYPE_FLOAT32, 4, wd, NULL));
  g->input[2] = vinfo("B", ttype(MSC_DTYPE_FLOAT32, 1, bd, NULL));
  g->input[3] = vinfo("S", ttype(MSC_DTYPE_INT64, 1, sd, NULL));

  /* nodes */
  g->n_node = 7;
  g->node = NEWV(Onnx__NodeProto *, 7);
  {
    const char *in[] = {"X", "W", "B"}, *out[] = {"C"};
    Onnx__NodeProto *n = node("conv", "Conv", NULL, 3, in, 1, out);
    n->doc_string = "first conv";
    Onnx__AttributeProto *a = attr("kernel_shape", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = 2, a->ints = NEWV(int64_t, 2), a->ints[0] = 3, a->ints[1] = 3;
    node_add_attr(n, a);
    a = attr("pads", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = 4, a->ints = NEWV(int64_t, 4);
    for (int i = 0; i < 4; i++)
      a->ints[i] = 1;
    node_add_attr(n, a);
    a = attr("auto_pad", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1, a->s.data = (uint8_t *)"NOTSET", a->s.len = 6;
    node_add_attr(n, a);
    /* IR 1 style: no type field, the kind follows from the value */
    a = attr("group", 0);
    a->has_type = 0, a->has_i = 1, a->i = 1;
    node_add_attr(n, a);
    g->node[0] = n;
  }
  {
    const char *in[] = {"C"}, *out[] = {"R"};
    g->node[1] = node("", "Relu", "ai.onnx", 1, in, 1, out);
  }
  {
    const char *out[] = {"M"};
    Onnx__NodeProto *n = node(NULL, "Constant", NULL, 0, NULL, 1, out);
    Onnx__AttributeProto *a = attr("value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    float six = 6.0f;
    a->t = tensor_raw("six", MSC_DTYPE_FLOAT32, 0, NULL, &six, 4);
    node_add_attr(n, a);
    g->node[2] = n;
  }
  {
    const char *in[] = {"R", "", "M"}, *out[] = {"Y"};
    g->node[3] = node("", "Clip", "", 3, in, 1, out);
  }
  {
    const char *in[] = {"Z"}, *out[] = {"Z2"};
    g->node[4] = node("", "Relu", NULL, 1, in, 1, out); /* "Relu_4" is taken below */
  }
  {
    const char *in[] = {"Y", "S"}, *out[] = {"Z", ""};
    Onnx__NodeProto *n = node("Relu_4", "Foo", "com.example", 2, in, 2, out);
    Onnx__AttributeProto *a = attr("alpha", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1, a->f = 0.5f;
    node_add_attr(n, a);
    a = attr("names", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    a->n_strings = 2, a->strings = NEWV(ProtobufCBinaryData, 2);
    a->strings[0].data = (uint8_t *)"a", a->strings[0].len = 1;
    a->strings[1].data = (uint8_t *)"bc", a->strings[1].len = 2;
    node_add_attr(n, a);
    a = attr("scales", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = 2, a->floats = NEWV(float, 2), a->floats[0] = 1.0f, a->floats[1] = 2.5f;
    node_add_attr(n, a);
    a = attr("empty", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    node_add_attr(n, a);
    a = attr("t", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    Onnx__TensorProto *t = NEW(Onnx__TensorProto);
    onnx__tensor_proto__init(t);
    t->has_data_type = 1, t->data_type = MSC_DTYPE_INT8, t->n_dims = 1, t->dims = NEWV(int64_t, 1);
    t->dims[0] = 3, t->n_int32_data = 3, t->int32_data = NEWV(int32_t, 3);
    t->int32_data[0] = -128, t->int32_data[1] = 0, t->int32_data[2] = 127;
    a->t = t;
    node_add_attr(n, a);
    g->node[5] = n;
  }
  {
    const char *in[] = {"Z2"}, *out[] = {"Z3"};
    g->node[6] = node("", "Identity", NULL, 1, in, 1, out);
  }

  /* outputs: Z3 typed with a symbolic dim, Y untyped */
  const char *zp[] = {"N", NULL, NULL, NULL};
  const int64_t zd[] = {-1, 2, 5, 5};
  g->n_output = 2;
  g->output = NEWV(Onnx__ValueInfoProto *, 2);
  g->output[0] = vinfo("Z3", ttype(MSC_DTYPE_FLOAT32, 4, zd, zp));
  g->output[1] = vinfo("Y", NULL);

  /* value_info: C with an anonymous dim, R dtype only, W (initializer:
   * ignored), ghost (unused: dropped) */
  const int64_t cd[] = {-1, 2, 5, 5};
  g->n_value_info = 4;
  g->value_info = NEWV(Onnx__ValueInfoProto *, 4);
  g->value_info[0] = vinfo("C", ttype(MSC_DTYPE_FLOAT32, 4, cd, NULL));
  g->value_info[1] = vinfo("R", ttype(MSC_DTYPE_FLOAT32, -1, NULL, NULL));
  g->value_info[2] = vinfo("W", ttype(MSC_DTYPE_INT8, 1, bd, NULL));
  g->value_info[3] = vinfo("ghost", ttype(MSC_DTYPE_FLOAT32, 1, bd, NULL));
  return m;
}

static uint8_t *
pack_model(const Onnx__ModelProto *m, size_t *len)
{
  *len = onnx__model_proto__get_packed_size(m);
  uint8_t *buf = g_malloc(*len + 1);
  g_assert_cmpuint(onnx__model_proto__pack(m, buf), ==, *len);
  return buf;
}

static MscGraph *
load_model(const Onnx__ModelProto *m, GError **error)
{
  size_t len = 0;
  uint8_t *buf = pack_model(m, &len);
  MscGraph *g = msc_onnx_load_buffer(buf, len, "mini.onnx", error);
  g_free(buf);
  return g;
}

static void
arena_begin(void)
{
  arena = g_ptr_array_new_with_free_func(g_free);
}

static void
arena_end(void)
{
  g_ptr_array_free(arena, TRUE);
  arena = NULL;
}

/* ------------------------------------------------------------------ */
/* helpers */

static MscNode *
find_node(const MscGraph *g, const char *name)
{
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (strcmp(g->nodes[i]->name, name) == 0)
      return g->nodes[i];
  return NULL;
}

static const MscAttr *
find_attr(const MscNode *n, const char *name)
{
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0)
      return &n->attrs[i];
  return NULL;
}

static void
expect_error(GError *err, MscStatus code, const char *prefix, const char *const *needles)
{
  g_assert_nonnull(err);
  g_assert_true(err->domain == MSC_ERROR);
  if (err->code != (int)code)
    g_error("expected code %d, got %d: %s", code, err->code, err->message);
  g_assert_null(strchr(err->message, '\n'));
  if (prefix)
    g_assert_true(g_str_has_prefix(err->message, prefix));
  for (size_t i = 0; needles && needles[i]; i++)
    if (!strstr(err->message, needles[i]))
      g_error("message '%s' lacks '%s'", err->message, needles[i]);
}

static gboolean
tensor_equal(const MscTensor *a, const MscTensor *b)
{
  if (!a || !b)
    return a == b;
  if (a->dtype != b->dtype || a->rank != b->rank ||
      memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank) != 0)
    return FALSE;
  size_t n = (size_t)msc_tensor_numel(a) * msc_dtype_size(a->dtype);
  return g_strcmp0(a->name, b->name) == 0 && (n == 0 || memcmp(a->data, b->data, n) == 0);
}

static gboolean
attr_equal(const MscAttr *a, const MscAttr *b)
{
  if (g_strcmp0(a->name, b->name) != 0 || a->type != b->type)
    return FALSE;
  switch (a->type) {
  case MSC_ATTR_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0; /* bitwise: NaN too */
  case MSC_ATTR_INT: return a->i == b->i;
  case MSC_ATTR_STRING: return a->s_len == b->s_len && memcmp(a->s, b->s, a->s_len) == 0;
  case MSC_ATTR_TENSOR: return tensor_equal(a->t, b->t);
  case MSC_ATTR_FLOATS: return a->n == b->n && (a->n == 0 || memcmp(a->floats, b->floats, a->n * 4) == 0);
  case MSC_ATTR_INTS: return a->n == b->n && (a->n == 0 || memcmp(a->ints, b->ints, a->n * 8) == 0);
  case MSC_ATTR_STRINGS:
    if (a->n != b->n)
      return FALSE;
    for (size_t i = 0; i < a->n; i++)
      if (g_strcmp0(a->strings[i], b->strings[i]) != 0)
        return FALSE;
    return TRUE;
  default: return FALSE;
  }
}

static const char *
vname(const MscValue *v)
{
  return v ? v->name : "(none)";
}

/* NULL when equal, else (transfer full) a description of the first difference. */
static char *
graph_diff(const MscGraph *a, const MscGraph *b)
{
  int64_t ira = a->ir_version < 3 ? 3 : a->ir_version;
  if (ira != b->ir_version)
    return g_strdup_printf("ir_version %lld vs %lld", (long long)ira, (long long)b->ir_version);
  if (g_strcmp0(a->name, b->name) || g_strcmp0(a->producer_name, b->producer_name) ||
      g_strcmp0(a->producer_version, b->producer_version) || g_strcmp0(a->doc, b->doc))
    return g_strdup("graph name/producer/doc differ");
  if (a->n_opsets != b->n_opsets)
    return g_strdup_printf("%u vs %u opsets", a->n_opsets, b->n_opsets);
  for (uint32_t i = 0; i < a->n_opsets; i++)
    if (g_strcmp0(a->opsets[i].domain, b->opsets[i].domain) || a->opsets[i].version != b->opsets[i].version)
      return g_strdup_printf("opset %u differs", i);
  if (a->n_nodes != b->n_nodes)
    return g_strdup_printf("%u vs %u nodes", a->n_nodes, b->n_nodes);
  for (uint32_t i = 0; i < a->n_nodes; i++) {
    const MscNode *x = a->nodes[i], *y = b->nodes[i];
    if (g_strcmp0(x->name, y->name) || g_strcmp0(x->op_type, y->op_type) ||
        g_strcmp0(x->domain, y->domain) || x->opset != y->opset || g_strcmp0(x->doc, y->doc))
      return g_strdup_printf("node %u '%s' vs '%s' differs in name/op/domain/opset/doc", i, x->name, y->name);
    if (x->n_inputs != y->n_inputs || x->n_outputs != y->n_outputs || x->n_attrs != y->n_attrs)
      return g_strdup_printf("node '%s': io/attr counts differ", x->name);
    for (uint32_t k = 0; k < x->n_inputs; k++)
      if (g_strcmp0(x->inputs[k] ? x->inputs[k]->name : NULL, y->inputs[k] ? y->inputs[k]->name : NULL))
        return g_strdup_printf("node '%s': input %u '%s' vs '%s'", x->name, k, vname(x->inputs[k]),
                               vname(y->inputs[k]));
    for (uint32_t k = 0; k < x->n_outputs; k++)
      if (g_strcmp0(x->outputs[k] ? x->outputs[k]->name : NULL, y->outputs[k] ? y->outputs[k]->name : NULL))
        return g_strdup_printf("node '%s': output %u differs", x->name, k);
    for (uint32_t k = 0; k < x->n_attrs; k++)
      if (!attr_equal(&x->attrs[k], &y->attrs[k]))
        return g_strdup_printf("node '%s': attribute '%s' differs", x->name, x->attrs[k].name);
  }
  if (a->n_values != b->n_values)
    return g_strdup_printf("%u vs %u values", a->n_values, b->n_values);
  for (uint32_t i = 0; i < a->n_values; i++) {
    const MscValue *x = a->values[i], *y = b->values[i];
    if (g_strcmp0(x->name, y->name) || x->flags != y->flags || x->dtype != y->dtype || x->rank != y->rank)
      return g_strdup_printf("value %u '%s' vs '%s': name/flags/dtype/rank differ", i, x->name, y->name);
    for (int32_t k = 0; k < x->rank; k++)
      if (x->dims[k] != y->dims[k] || g_strcmp0(x->dim_params[k], y->dim_params[k]))
        return g_strdup_printf("value '%s': dim %d differs", x->name, k);
    if ((x->flags & MSC_VALUE_INITIALIZER) && !tensor_equal(x->value, y->value)) {
      /* the initializer tensor's own name may be unset on one side */
      if (!x->value || !y->value || x->value->dtype != y->value->dtype || x->value->nbytes != y->value->nbytes ||
          memcmp(x->value->data, y->value->data, x->value->nbytes) != 0)
        return g_strdup_printf("initializer '%s' differs", x->name);
    }
  }
  if (a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs)
    return g_strdup("graph input/output counts differ");
  for (uint32_t i = 0; i < a->n_inputs; i++)
    if (g_strcmp0(a->inputs[i]->name, b->inputs[i]->name))
      return g_strdup_printf("graph input %u differs", i);
  for (uint32_t i = 0; i < a->n_outputs; i++)
    if (g_strcmp0(a->outputs[i]->name, b->outputs[i]->name))
      return g_strdup_printf("graph output %u differs", i);
  return NULL;
}

/* Touches every reachable pointer (ASan/valgrind find dangling ones) and
 * checks the invariants a consumer relies on. */
static void
walk_graph(const MscGraph *g)
{
  size_t total = 0;
  for (uint32_t i = 0; i < g->n_values; i++) {
    const MscValue *v = g->values[i];
    g_assert_nonnull(v->name);
    total += strlen(v->name);
    g_assert_cmpint(v->rank, >=, -1);
    g_assert_cmpint(v->rank, <=, MSC_MAX_RANK);
    for (int32_t k = 0; k < v->rank; k++)
      total += v->dim_params[k] ? strlen(v->dim_params[k]) : 0;
    if (v->value)
      g_assert_cmpuint(v->value->nbytes, >=,
                       (size_t)msc_tensor_numel(v->value) * msc_dtype_size(v->value->dtype));
  }
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    g_assert_nonnull(n->name);
    g_assert_cmpuint(strlen(n->op_type), >, 0);
    g_assert_cmpint(n->opset, >, 0);
    for (uint32_t k = 0; k < n->n_inputs; k++)
      total += n->inputs[k] ? strlen(n->inputs[k]->name) : 0;
    for (uint32_t k = 0; k < n->n_outputs; k++)
      total += n->outputs[k] ? strlen(n->outputs[k]->name) : 0;
    for (uint32_t k = 0; k < n->n_attrs; k++) {
      const MscAttr *a = &n->attrs[k];
      total += strlen(a->name);
      if (a->type == MSC_ATTR_STRINGS)
        for (size_t j = 0; j < a->n; j++)
          total += strlen(a->strings[j]);
      if (a->type == MSC_ATTR_STRING)
        total += strlen(a->s);
      if (a->type == MSC_ATTR_TENSOR)
        g_assert_nonnull(a->t);
    }
  }
  g_assert_cmpuint(total, <, G_MAXSIZE);
}

/* ------------------------------------------------------------------ */
/* load */

static void
test_onnx_load_mini(void)
{
  g_test_summary("The hand-built model loads with every import rule applied");
  arena_begin();
  g_autoptr(GError) err = NULL;
  g_autoptr(MscGraph) g = load_model(build_mini(), &err);
  g_assert_no_error(err);
  g_assert_nonnull(g);

  g_assert_cmpstr(g->name, ==, "mini");
  g_assert_cmpint(g->ir_version, ==, 3);
  g_assert_cmpstr(g->producer_name, ==, "test-builder");
  g_assert_cmpstr(g->producer_version, ==, "0.1");
  g_assert_cmpstr(g->doc, ==, "a graph for tests");
  g_assert_cmpint(msc_graph_opset(g, ""), ==, 13);
  g_assert_cmpint(msc_graph_opset(g, "com.example"), ==, 1);

  /* initializers listed as inputs (IR 3) are not graph inputs */
  g_assert_cmpuint(g->n_inputs, ==, 1);
  const MscValue *x = g->inputs[0];
  g_assert_cmpstr(x->name, ==, "X");
  g_assert_cmpint(x->dtype, ==, MSC_DTYPE_FLOAT32);
  g_assert_cmpint(x->rank, ==, 4);
  g_assert_cmpint(x->dims[0], ==, -1);
  g_assert_cmpstr(x->dim_params[0], ==, "N");
  g_assert_cmpint(x->dims[3], ==, 5);
  g_assert_null(x->dim_params[1]);
  const MscValue *w = msc_graph_find_value(g, "W");
  g_assert_cmpuint(w->flags, ==, MSC_VALUE_INITIALIZER);
  g_assert_cmpint(w->dtype, ==, MSC_DTYPE_FLOAT32); /* value_info's int8 ignored */
  g_assert_cmpmem(w->value->data, sizeof W_DATA, W_DATA, sizeof W_DATA);
  const MscValue *b = msc_graph_find_value(g, "B");
  g_assert_cmpfloat(((float *)b->value->data)[1], ==, -1.5f);
  const MscValue *s = msc_graph_find_value(g, "S");
  g_assert_cmpint(((int64_t *)s->value->data)[1], ==, 50);

  /* nodes: file order, generated unique names, domains, NULL slots */
  g_assert_cmpuint(g->n_nodes, ==, 7);
  const char *names[] = {"conv", "Relu_1", "Constant_2", "Clip_3", "Relu_4_1", "Relu_4", "Identity_6"};
  for (uint32_t i = 0; i < 7; i++)
    g_assert_cmpstr(g->nodes[i]->name, ==, names[i]);
  const MscNode *conv = g->nodes[0];
  g_assert_cmpstr(conv->doc, ==, "first conv");
  g_assert_cmpint(conv->opset, ==, 13);
  g_assert_cmpuint(conv->n_attrs, ==, 4);
  const MscAttr *ks = find_attr(conv, "kernel_shape");
  g_assert_cmpint(ks->type, ==, MSC_ATTR_INTS);
  g_assert_cmpuint(ks->n, ==, 2);
  g_assert_cmpint(ks->ints[1], ==, 3);
  const MscAttr *ap = find_attr(conv, "auto_pad");
  g_assert_cmpint(ap->type, ==, MSC_ATTR_STRING);
  g_assert_cmpstr(ap->s, ==, "NOTSET");
  g_assert_cmpuint(ap->s_len, ==, 6);
  const MscAttr *grp = find_attr(conv, "group");
  g_assert_cmpint(grp->type, ==, MSC_ATTR_INT);
  g_assert_cmpint(grp->i, ==, 1);
  g_assert_cmpstr(g->nodes[1]->domain, ==, ""); /* "ai.onnx" is the default domain */
  g_assert_cmpint(g->nodes[1]->opset, ==, 13);
  const MscAttr *val = find_attr(g->nodes[2], "value");
  g_assert_cmpint(val->type, ==, MSC_ATTR_TENSOR);
  g_assert_cmpint(val->t->rank, ==, 0);
  g_assert_cmpfloat(*(float *)val->t->data, ==, 6.0f);
  const MscNode *clip = g->nodes[3];
  g_assert_cmpuint(clip->n_inputs, ==, 3);
  g_assert_null(clip->inputs[1]);
  g_assert_cmpstr(clip->inputs[2]->name, ==, "M");
  const MscNode *foo = find_node(g, "Relu_4");
  g_assert_cmpstr(foo->op_type, ==, "Foo");
  g_assert_cmpstr(foo->domain, ==, "com.example");
  g_assert_cmpint(foo->opset, ==, 1);
  g_assert_cmpuint(foo->n_outputs, ==, 2);
  g_assert_null(foo->outputs[1]);
  g_assert_cmpfloat(find_attr(foo, "alpha")->f, ==, 0.5f);
  const MscAttr *ns = find_attr(foo, "names");
  g_assert_cmpint(ns->type, ==, MSC_ATTR_STRINGS);
  g_assert_cmpuint(ns->n, ==, 2);
  g_assert_cmpstr(ns->strings[1], ==, "bc");
  const MscAttr *sc = find_attr(foo, "scales");
  g_assert_cmpuint(sc->n, ==, 2);
  g_assert_cmpfloat(sc->floats[1], ==, 2.5f);
  const MscAttr *em = find_attr(foo, "empty");
  g_assert_cmpint(em->type, ==, MSC_ATTR_INTS);
  g_assert_cmpuint(em->n, ==, 0);
  const MscAttr *t = find_attr(foo, "t");
  g_assert_cmpint(t->t->dtype, ==, MSC_DTYPE_INT8);
  g_assert_cmpint(((int8_t *)t->t->data)[0], ==, -128);

  /* outputs and value types */
  g_assert_cmpuint(g->n_outputs, ==, 2);
  const MscValue *z = g->outputs[0];
  g_assert_cmpstr(z->name, ==, "Z3");
  g_assert_cmpstr(z->dim_params[0], ==, "N");
  g_assert_cmpint(z->dims[1], ==, 2);
  const MscValue *y = g->outputs[1];
  g_assert_cmpint(y->rank, ==, -1);
  g_assert_cmpint(y->dtype, ==, MSC_DTYPE_UNDEFINED);
  const MscValue *c = msc_graph_find_value(g, "C");
  g_assert_cmpint(c->rank, ==, 4);
  g_assert_cmpint(c->dims[0], ==, -1);
  g_assert_null(c->dim_params[0]);
  const MscValue *r = msc_graph_find_value(g, "R");
  g_assert_cmpint(r->dtype, ==, MSC_DTYPE_FLOAT32);
  g_assert_cmpint(r->rank, ==, -1);
  g_assert_null(msc_graph_find_value(g, "ghost"));
  walk_graph(g);
  arena_end();
}

static void
test_onnx_load_no_opset_import(void)
{
  g_test_summary("A model without opset_import (IR < 3) gets ai.onnx opset 1");
  arena_begin();
  Onnx__ModelProto *m = build_mini();
  m->n_opset_import = 0;
  m->graph->n_node = 2; /* drop the com.example node and what follows */
  m->graph->n_output = 0;
  g_autoptr(GError) err = NULL;
  g_autoptr(MscGraph) g = load_model(m, &err);
  g_assert_no_error(err);
  g_assert_cmpint(msc_graph_opset(g, ""), ==, 1);
  g_assert_cmpint(g->nodes[0]->opset, ==, 1);
  arena_end();
}

typedef void (*Mutator)(Onnx__ModelProto *m);

static void mut_no_graph(Onnx__ModelProto *m) { m->graph = NULL; }
static void mut_no_op_type(Onnx__ModelProto *m) { m->graph->node[1]->op_type = ""; }
static void
mut_graph_attr(Onnx__ModelProto *m)
{
  Onnx__AttributeProto *a = attr("then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
  Onnx__GraphProto *sub = NEW(Onnx__GraphProto);
  onnx__graph_proto__init(sub);
  sub->name = "sub";
  a->g = sub;
  node_add_attr(m->graph->node[0], a);
}
static void
mut_sparse_attr(Onnx__ModelProto *m)
{
  Onnx__AttributeProto *a = attr("sparse_value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR);
  Onnx__SparseTensorProto *sp = NEW(Onnx__SparseTensorProto);
  onnx__sparse_tensor_proto__init(sp);
  a->sparse_tensor = sp;
  node_add_attr(m->graph->node[2], a);
}
static void mut_unknown_init_dtype(Onnx__ModelProto *m) { m->graph->initializer[0]->data_type = 99; }
static void
mut_unknown_input_dtype(Onnx__ModelProto *m)
{
  m->graph->input[0]->type->tensor_type->elem_type = 1234;
}
static void mut_raw_lies(Onnx__ModelProto *m) { m->graph->initializer[0]->raw_data.len -= 4; }
static void
mut_external(Onnx__ModelProto *m)
{
  Onnx__TensorProto *t = m->graph->initializer[0];
  Onnx__StringStringEntryProto *e = NEW(Onnx__StringStringEntryProto);
  onnx__string_string_entry_proto__init(e);
  e->key = "location", e->value = "w.bin";
  t->n_external_data = 1;
  t->external_data = NEWV(Onnx__StringStringEntryProto *, 1);
  t->external_data[0] = e;
  t->has_data_location = 1;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  t->has_raw_data = 0, t->raw_data.len = 0;
}
static void mut_produced_twice(Onnx__ModelProto *m) { m->graph->node[6]->output[0] = "C"; }
static void mut_output_is_init(Onnx__ModelProto *m) { m->graph->node[1]->output[0] = "W"; }
static void mut_output_is_input(Onnx__ModelProto *m) { m->graph->node[1]->output[0] = "X"; }
static void mut_no_domain_import(Onnx__ModelProto *m) { m->n_opset_import = 1; }
static void mut_attr_no_name(Onnx__ModelProto *m) { m->graph->node[0]->attribute[1]->name = ""; }
static void mut_attr_twice(Onnx__ModelProto *m) { m->graph->node[0]->attribute[1]->name = "kernel_shape"; }
static void mut_init_twice(Onnx__ModelProto *m) { m->graph->initializer[1]->name = "W"; }
static void mut_init_no_name(Onnx__ModelProto *m) { m->graph->initializer[1]->name = NULL; }
static void mut_input_no_name(Onnx__ModelProto *m) { m->graph->input[0]->name = ""; }
static void
mut_string_init(Onnx__ModelProto *m)
{
  Onnx__TensorProto *t = m->graph->initializer[2];
  t->data_type = MSC_DTYPE_STRING;
  t->n_int64_data = 0;
  t->n_string_data = 2;
  t->string_data = NEWV(ProtobufCBinaryData, 2);
}
static void
mut_sequence_input(Onnx__ModelProto *m)
{
  Onnx__TypeProto *tp = m->graph->input[0]->type;
  Onnx__TypeProto__Sequence *sq = NEW(Onnx__TypeProto__Sequence);
  onnx__type_proto__sequence__init(sq);
  tp->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
  tp->sequence_type = sq;
}
static void
mut_sparse_init(Onnx__ModelProto *m)
{
  Onnx__SparseTensorProto *sp = NEW(Onnx__SparseTensorProto);
  onnx__sparse_tensor_proto__init(sp);
  m->graph->n_sparse_initializer = 1;
  m->graph->sparse_initializer = NEWV(Onnx__SparseTensorProto *, 1);
  m->graph->sparse_initializer[0] = sp;
}
static void mut_rank9_input(Onnx__ModelProto *m)
{
  const int64_t d[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  m->graph->input[0]->type = ttype(MSC_DTYPE_FLOAT32, 9, d, NULL);
}
static void mut_neg_dim(Onnx__ModelProto *m)
{
  m->graph->input[0]->type->tensor_type->shape->dim[2]->dim_value = -5;
}
static void mut_attr_tensor_lies(Onnx__ModelProto *m)
{
  static uint8_t eight[8];
  m->graph->node[2]->attribute[0]->t->raw_data.data = eight;
  m->graph->node[2]->attribute[0]->t->raw_data.len = 8;
}
static void mut_opset_no_version(Onnx__ModelProto *m) { m->opset_import[1]->has_version = 0; }
static void mut_output_twice(Onnx__ModelProto *m) { m->graph->output[1]->name = "Z3"; }

static void
test_onnx_load_refused(void)
{
  g_test_summary("Broken or unsupported models are refused with one-line '<file>: <what>' errors");
  const struct {
    const char *what;
    Mutator mut;
    MscStatus code;
    const char *needle1, *needle2;
  } cases[] = {
    {"no graph", mut_no_graph, MSC_ERR_CORRUPT, "model has no graph", NULL},
    {"no op_type", mut_no_op_type, MSC_ERR_CORRUPT, "node 1", "no op_type"},
    {"graph attr", mut_graph_attr, MSC_ERR_UNSUPPORTED, "node 'conv' (Conv)", "attribute 'then_branch' has type GRAPH"},
    {"sparse attr", mut_sparse_attr, MSC_ERR_UNSUPPORTED, "(Constant)", "'sparse_value' has type SPARSE_TENSOR"},
    {"unknown init dtype", mut_unknown_init_dtype, MSC_ERR_CORRUPT, "tensor 'W'", "unknown data_type 99"},
    {"unknown input dtype", mut_unknown_input_dtype, MSC_ERR_CORRUPT, "graph input 'X'", "unknown element type 1234"},
    {"raw lies", mut_raw_lies, MSC_ERR_CORRUPT, "tensor 'W'", "raw_data has 68 bytes, expected 72"},
    {"external (buffer)", mut_external, MSC_ERR_UNSUPPORTED, "tensor 'W'", "external data not supported without the model's folder"},
    {"produced twice", mut_produced_twice, MSC_ERR_CORRUPT, "output 'C'", "already produced by node 'conv'"},
    {"output is init", mut_output_is_init, MSC_ERR_CORRUPT, "output 'W'", "initializer"},
    {"output is input", mut_output_is_input, MSC_ERR_CORRUPT, "output 'X'", "graph input"},
    {"no domain import", mut_no_domain_import, MSC_ERR_CORRUPT, "domain 'com.example'", "no opset_import"},
    {"attr no name", mut_attr_no_name, MSC_ERR_CORRUPT, "node 'conv' (Conv)", "attribute 1 has no name"},
    {"attr twice", mut_attr_twice, MSC_ERR_CORRUPT, "attribute 'kernel_shape'", "listed twice"},
    {"init twice", mut_init_twice, MSC_ERR_CORRUPT, "initializer 'W'", "listed twice"},
    {"init no name", mut_init_no_name, MSC_ERR_CORRUPT, "initializer 1", "no name"},
    {"input no name", mut_input_no_name, MSC_ERR_CORRUPT, "graph input 0", "no name"},
    {"string init", mut_string_init, MSC_ERR_UNSUPPORTED, "tensor 'S'", "string tensors"},
    {"sequence input", mut_sequence_input, MSC_ERR_UNSUPPORTED, "graph input 'X'", "sequence type"},
    {"sparse init", mut_sparse_init, MSC_ERR_UNSUPPORTED, "sparse initializers", NULL},
    {"rank 9", mut_rank9_input, MSC_ERR_UNSUPPORTED, "graph input 'X'", "rank 9"},
    {"negative dim", mut_neg_dim, MSC_ERR_CORRUPT, "graph input 'X'", "negative dim -5"},
    {"attr tensor lies", mut_attr_tensor_lies, MSC_ERR_CORRUPT, "node 'Constant_2' (Constant): attribute 'value'", "expected 4"},
    {"opset no version", mut_opset_no_version, MSC_ERR_CORRUPT, "com.example", "no version"},
    {"output twice", mut_output_twice, MSC_ERR_CORRUPT, "graph output 'Z3'", "twice"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    arena_begin();
    Onnx__ModelProto *m = build_mini();
    cases[i].mut(m);
    g_autoptr(GError) err = NULL;
    MscGraph *g = load_model(m, &err);
    if (g)
      g_error("case '%s' was accepted", cases[i].what);
    const char *needles[] = {cases[i].needle1, cases[i].needle2, NULL};
    expect_error(err, cases[i].code, "mini.onnx: ", needles);
    arena_end();
  }
}

static void
test_onnx_load_not_protobuf(void)
{
  g_test_summary("Garbage, empty and missing files are refused (CORRUPT / IO), not crashed on");
  g_autoptr(GError) err = NULL;
  const char junk[] = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff not a model";
  g_assert_null(msc_onnx_load_buffer((const uint8_t *)junk, sizeof junk, "junk.onnx", &err));
  const char *n1[] = {"protobuf parse failed", NULL};
  expect_error(err, MSC_ERR_CORRUPT, "junk.onnx: ", n1);
  g_clear_error(&err);
  g_assert_null(msc_onnx_load_buffer(NULL, 0, "empty.onnx", &err));
  const char *n2[] = {"model has no graph", NULL};
  expect_error(err, MSC_ERR_CORRUPT, "empty.onnx: ", n2);
  g_clear_error(&err);
  g_assert_null(msc_onnx_load_file("/nonexistent/dir/model.onnx", &err));
  expect_error(err, MSC_ERR_IO, "/nonexistent/dir/model.onnx: ", NULL);
}

static void
test_onnx_load_too_large(void)
{
  g_test_summary("A file above 2 GiB is refused before it is read (sparse file, no disk use)");
  g_autoptr(GError) err = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp("msc-big-XXXXXX.onnx", &path, &err);
  g_assert_no_error(err);
  if (ftruncate(fd, (off_t)MSC_ONNX_MAX_BYTES + 1) != 0) {
    close(fd);
    g_unlink(path);
    g_free(path);
    g_test_skip("cannot create a sparse 2 GiB file here");
    return;
  }
  close(fd);
  g_assert_null(msc_onnx_load_file(path, &err));
  const char *n[] = {"exceeds the 2 GiB limit", "set MSC_LIMIT_MODEL_BYTES to raise it", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, path, n);
  g_unlink(path);
  g_free(path);
}

/* Fuzz helpers: a load must give a graph (that walks and sorts without
 * crashing) or a one-line MSC error naming the source. */
static gboolean
load_fuzzed(const uint8_t *buf, size_t len, const char *src)
{
  g_autoptr(GError) err = NULL;
  MscGraph *g = msc_onnx_load_buffer(buf, len, src, &err);
  if (g) {
    g_assert_no_error(err);
    walk_graph(g);
    g_autoptr(GError) serr = NULL;
    (void)msc_graph_sort(g, &serr); /* either result; it must not crash */
    /* and it serializes again */
    uint8_t *out = NULL;
    size_t olen = 0;
    g_autoptr(GError) werr = NULL;
    if (msc_onnx_save_buffer(g, &out, &olen, &werr))
      g_free(out);
    msc_graph_free(g);
    return TRUE;
  }
  g_assert_nonnull(err);
  g_assert_true(err->domain == MSC_ERROR);
  g_assert_true(err->code == MSC_ERR_CORRUPT || err->code == MSC_ERR_UNSUPPORTED);
  g_assert_null(strchr(err->message, '\n'));
  g_assert_true(g_str_has_prefix(err->message, src));
  return FALSE;
}

static void
test_onnx_load_truncated(void)
{
  g_test_summary("Every truncation of a model gives a graph or a clean error, mostly an error");
  arena_begin();
  size_t len = 0;
  uint8_t *buf = pack_model(build_mini(), &len);
  guint refused = 0, n = 0;
  for (size_t cut = 0; cut < len; cut++, n++) {
    uint8_t *copy = g_memdup2(buf, cut ? cut : 1); /* exact-size copy: ASan sees overreads */
    if (!load_fuzzed(copy, cut, "cut.onnx"))
      refused++;
    g_free(copy);
  }
  /* protobuf can only end cleanly at field boundaries of the top message,
   * and the graph is one field: nearly every cut must fail. */
  g_assert_cmpuint(refused, >=, n - 8);
  g_free(buf);
  arena_end();
}

static GBytes *
read_bytes(const char *path)
{
  gchar *c = NULL;
  gsize n = 0;
  if (!g_file_get_contents(path, &c, &n, NULL))
    return NULL;
  return g_bytes_new_take(c, n);
}

static char *
shared_path(const char *rel)
{
  const char *shared = g_getenv("MSC_SHARED_DIR");
  if (!shared)
    return NULL;
  char *p = g_build_filename(shared, "conformance", rel, NULL);
  if (!g_file_test(p, G_FILE_TEST_EXISTS)) {
    g_free(p);
    return NULL;
  }
  return p;
}

static void
test_onnx_load_bit_flips(void)
{
  g_test_summary("Bit-flipped models (and bytes truncated mid-file) never crash the importer");
  gboolean quick = g_getenv("MSC_TEST_QUICK") != NULL;
  arena_begin();
  size_t mlen = 0;
  uint8_t *mini = pack_model(build_mini(), &mlen);
  GPtrArray *inputs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  g_ptr_array_add(inputs, g_bytes_new_take(mini, mlen));
  const char *rel[] = {"node/test_conv_with_strides_padding/model.onnx",
                       "light/light_squeezenet/model.onnx",
                       "models/ppocr_cls_mobile_v2/model.onnx"};
  for (size_t i = 0; i < G_N_ELEMENTS(rel); i++) {
    g_autofree char *p = shared_path(rel[i]);
    GBytes *b = p ? read_bytes(p) : NULL;
    if (b)
      g_ptr_array_add(inputs, b);
  }
  GRand *rng = g_rand_new_with_seed(20240611);
  guint refused = 0, total = 0;
  for (guint k = 0; k < inputs->len; k++) {
    gsize len = 0;
    const uint8_t *orig = g_bytes_get_data(inputs->pdata[k], &len);
    guint rounds = quick ? 40 : (len > 100000 ? 60 : 300);
    for (guint r = 0; r < rounds; r++, total++) {
      uint8_t *copy = g_memdup2(orig, len);
      guint flips = 1 + (r % 4); /* 1..4 bits */
      for (guint f = 0; f < flips; f++) {
        /* bias half of the flips into the first 2 KiB, where the graph
         * structure (not tensor payload) of a typical model lives */
        gsize span = (r & 1) && len > 2048 ? 2048 : len;
        gsize pos = (gsize)g_rand_int_range(rng, 0, (gint32)span);
        copy[pos] ^= (uint8_t)(1u << g_rand_int_range(rng, 0, 8));
      }
      if (!load_fuzzed(copy, len, "flip.onnx"))
        refused++;
      g_free(copy);
    }
  }
  g_rand_free(rng);
  g_ptr_array_free(inputs, TRUE);
  /* some flips must be caught (lengths, tags, sizes), else nothing is checked */
  g_assert_cmpuint(refused, >, total / 20);
  g_test_message("%u of %u bit-flipped models refused", refused, total);
  arena_end();
}

/* ------------------------------------------------------------------ */
/* save / round trip */

static void
test_onnx_round_trip_mini(void)
{
  g_test_summary("load -> save -> load of the hand-built model gives an identical graph");
  arena_begin();
  g_autoptr(GError) err = NULL;
  g_autoptr(MscGraph) g = load_model(build_mini(), &err);
  g_assert_no_error(err);
  uint8_t *buf = NULL;
  size_t len = 0;
  g_assert_true(msc_onnx_save_buffer(g, &buf, &len, &err));
  g_assert_no_error(err);

  /* IR 3 requires the initializers among the graph inputs */
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
  g_assert_nonnull(m);
  g_assert_cmpint(m->ir_version, ==, 3);
  g_assert_cmpuint(m->graph->n_input, ==, 4);
  g_assert_cmpuint(m->graph->n_initializer, ==, 3);
  g_assert_true(m->graph->initializer[1]->has_raw_data); /* typed fields become raw_data */
  g_assert_cmpuint(m->graph->n_value_info, >=, 2);
  onnx__model_proto__free_unpacked(m, NULL);

  g_autoptr(MscGraph) h = msc_onnx_load_buffer(buf, len, "saved.onnx", &err);
  g_assert_no_error(err);
  g_autofree char *diff = graph_diff(g, h);
  g_assert_cmpstr(diff, ==, NULL);
  g_free(buf);
  arena_end();
}

/* The round-trip tests are only as strong as graph_diff(): check that it
 * sees each kind of difference. */
static void
test_onnx_save_diff_detects(void)
{
  g_test_summary("The graph comparison used by the round-trip tests detects every kind of change");
  arena_begin();
  size_t len = 0;
  uint8_t *buf = pack_model(build_mini(), &len);
  g_autoptr(GError) err = NULL;
  g_autoptr(MscGraph) g = msc_onnx_load_buffer(buf, len, "a.onnx", &err);
  g_assert_no_error(err);
  for (int k = 0; k < 9; k++) {
    g_autoptr(MscGraph) h = msc_onnx_load_buffer(buf, len, "b.onnx", &err);
    g_assert_no_error(err);
    g_autofree char *same = graph_diff(g, h);
    g_assert_cmpstr(same, ==, NULL);
    switch (k) {
    case 0: ((MscAttr *)find_attr(h->nodes[0], "group"))->i = 2; break;
    case 1: ((uint8_t *)msc_graph_find_value(h, "W")->value->data)[70] ^= 1; break;
    case 2: g_free(h->inputs[0]->dim_params[0]); h->inputs[0]->dim_params[0] = g_strdup("batch"); break;
    case 3: h->nodes[0]->inputs[2] = NULL; break;
    case 4: msc_graph_find_value(h, "R")->dtype = MSC_DTYPE_FLOAT16; break;
    case 5: h->opsets[1].version = 2; break;
    case 6: ((MscAttr *)find_attr(h->nodes[5], "names"))->strings[0][0] = 'z'; break;
    case 7: ((int8_t *)find_attr(h->nodes[5], "t")->t->data)[2] = 0; break;
    case 8: msc_graph_find_value(h, "C")->dims[2] = 6; break;
    }
    g_autofree char *diff = graph_diff(g, h);
    if (!diff)
      g_error("change %d not detected", k);
  }
  g_free(buf);
  arena_end();
}

static void
test_onnx_save_ir_version(void)
{
  g_test_summary("Export writes ir_version >= 3 and lists initializers as inputs only below IR 4");
  g_autoptr(MscGraph) g = msc_graph_new("g");
  g->ir_version = 0;
  msc_graph_set_opset(g, "", 11);
  const int64_t d[] = {2};
  g_autoptr(GError) err = NULL;
  MscTensor *t = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, d, &err);
  msc_graph_add_initializer(g, "w", t);
  MscValue *x = msc_graph_get_or_add_value(g, "x");
  x->dtype = MSC_DTYPE_FLOAT32;
  x->rank = 1;
  x->dims[0] = 2;
  msc_graph_add_input(g, x);
  MscValue *y = msc_graph_get_or_add_value(g, "y");
  MscNode *n = msc_graph_add_node(g, "add", "Add", "", 11);
  MscValue *ins[] = {x, msc_graph_find_value(g, "w")}, *outs[] = {y};
  msc_node_set_io(n, ins, 2, outs, 1);
  msc_graph_add_output(g, y);
  for (int ir = 0; ir <= 1; ir++) {
    g->ir_version = ir ? 7 : 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    g_assert_true(msc_onnx_save_buffer(g, &buf, &len, &err));
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    g_assert_nonnull(m);
    g_assert_cmpint(m->ir_version, ==, ir ? 7 : 3);
    g_assert_cmpuint(m->graph->n_input, ==, ir ? 1 : 2);
    g_assert_cmpuint(m->n_opset_import, ==, 1);
    g_assert_cmpint(m->opset_import[0]->version, ==, 11);
    g_assert_null(m->graph->output[0]->type); /* unknown type: none written */
    onnx__model_proto__free_unpacked(m, NULL);
    g_free(buf);
  }
}

static void
test_onnx_save_atomic(void)
{
  g_test_summary("save_file writes through a temp file: a failed save leaves nothing behind");
  arena_begin();
  g_autoptr(GError) err = NULL;
  g_autoptr(MscGraph) g = load_model(build_mini(), &err);
  g_assert_no_error(err);
  g_autofree char *dir = g_dir_make_tmp("msc-onnx-XXXXXX", &err);
  g_assert_no_error(err);
  g_autofree char *target = g_build_filename(dir, "m.onnx", NULL);
  g_assert_cmpint(g_mkdir(target, 0755), ==, 0); /* rename onto a directory fails */
  g_assert_false(msc_onnx_save_file(g, target, &err));
  expect_error(err, MSC_ERR_IO, target, NULL);
  g_clear_error(&err);
  GDir *d = g_dir_open(dir, 0, NULL);
  guint entries = 0;
  while (g_dir_read_name(d))
    entries++;
  g_dir_close(d);
  g_assert_cmpuint(entries, ==, 1); /* only the directory itself, no temp file */
  g_rmdir(target);
  g_assert_true(msc_onnx_save_file(g, target, &err));
  g_assert_no_error(err);
  g_autoptr(MscGraph) h = msc_onnx_load_file(target, &err);
  g_assert_no_error(err);
  g_autofree char *diff = graph_diff(g, h);
  g_assert_cmpstr(diff, ==, NULL);
  g_unlink(target);
  g_rmdir(dir);
  arena_end();
}

static void
test_onnx_round_trip_conformance(void)
{
  g_test_summary("Every conformance model loads, and load -> save -> load is identical");
  const char *shared = g_getenv("MSC_SHARED_DIR");
  g_autofree char *root = shared ? g_build_filename(shared, "conformance", NULL) : NULL;
  if (!root || !g_file_test(root, G_FILE_TEST_IS_DIR)) {
    g_test_skip("conformance corpus not found (set MSC_SHARED_DIR)");
    return;
  }
  gboolean quick = g_getenv("MSC_TEST_QUICK") != NULL;
  g_autoptr(GError) err = NULL;
  g_autofree char *tmp = g_dir_make_tmp("msc-onnx-rt-XXXXXX", &err);
  g_assert_no_error(err);
  g_autofree char *out = g_build_filename(tmp, "rt.onnx", NULL);
  guint models = 0;
  GDir *groups = g_dir_open(root, 0, NULL);
  const char *grp;
  while ((grp = g_dir_read_name(groups))) {
    g_autofree char *gdir = g_build_filename(root, grp, NULL);
    GDir *cases = g_dir_open(gdir, 0, NULL);
    if (!cases)
      continue;
    const char *c;
    while ((c = g_dir_read_name(cases))) {
      g_autofree char *path = g_build_filename(gdir, c, "model.onnx", NULL);
      if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
        continue;
      if (quick && g_strcmp0(grp, "models") == 0)
        continue; /* the 30 MB ones dominate the ASan run */
      MscGraph *g = msc_onnx_load_file(path, &err);
      if (!g)
        g_error("%s", err->message);
      if (!msc_onnx_save_file(g, out, &err))
        g_error("%s: save: %s", path, err->message);
      MscGraph *h = msc_onnx_load_file(out, &err);
      if (!h)
        g_error("%s: reload: %s", path, err->message);
      g_autofree char *diff = graph_diff(g, h);
      if (diff)
        g_error("%s: round trip differs: %s", path, diff);
      /* saving is deterministic: a second save gives the same bytes */
      uint8_t *b1 = NULL, *b2 = NULL;
      size_t l1 = 0, l2 = 0;
      g_assert_true(msc_onnx_save_buffer(g, &b1, &l1, &err));
      g_assert_true(msc_onnx_save_buffer(h, &b2, &l2, &err));
      g_assert_cmpmem(b1, l1, b2, l2);
      g_free(b1);
      g_free(b2);
      msc_graph_free(g);
      msc_graph_free(h);
      models++;
    }
    g_dir_close(cases);
  }
  g_dir_close(groups);
  g_unlink(out);
  g_rmdir(tmp);
  g_test_message("%u conformance models round-tripped", models);
  g_assert_cmpuint(models, >, 400);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/onnx/load/mini", test_onnx_load_mini);
  g_test_add_func("/onnx/load/no-opset-import", test_onnx_load_no_opset_import);
  g_test_add_func("/onnx/load/refused", test_onnx_load_refused);
  g_test_add_func("/onnx/load/not-protobuf", test_onnx_load_not_protobuf);
  g_test_add_func("/onnx/load/too-large", test_onnx_load_too_large);
  g_test_add_func("/onnx/load/truncated", test_onnx_load_truncated);
  g_test_add_func("/onnx/load/bit-flips", test_onnx_load_bit_flips);
  g_test_add_func("/onnx/save/round-trip-mini", test_onnx_round_trip_mini);
  g_test_add_func("/onnx/save/diff-detects", test_onnx_save_diff_detects);
  g_test_add_func("/onnx/save/ir-version", test_onnx_save_ir_version);
  g_test_add_func("/onnx/save/atomic", test_onnx_save_atomic);
  g_test_add_func("/onnx/save/round-trip-conformance", test_onnx_round_trip_conformance);
  return g_test_run();
}
