/* onnx-export.c: MscGraph -> onnx.ModelProto (see onnx.h).
 *
 * The protobuf-c message tree is built in an arena (every allocation is
 * recorded and freed at the end); strings and tensor bytes are borrowed
 * from the graph, which the packer only reads. */
#include "onnx.h"

#include <string.h>

#include "error.h"
#include "graph.h"
#include "onnx.pb-c.h"
#include "tensor-io.h"
#include "tensor.h"

/* ONNX Runtime refuses IR versions below 3 (the first with opset_import). */
#define MIN_IR_VERSION 3
/* IR 4 made listing initializers among the graph inputs optional. */
#define IR_INITIALIZERS_OPTIONAL 4

typedef struct {
  GPtrArray *blocks;  /* g_free'd */
  GPtrArray *tensors; /* Onnx__TensorProto* from msc_tensor_to_proto */
} Arena;

static void *
arena_alloc(Arena *a, size_t size)
{
  void *p = g_malloc0(size ? size : 1);
  g_ptr_array_add(a->blocks, p);
  return p;
}

#define ARENA_NEW(a, T, n) ((T *)arena_alloc((a), sizeof(T) * (size_t)(n)))

static void
arena_clear(Arena *a)
{
  g_ptr_array_free(a->blocks, TRUE);
  for (guint i = 0; i < a->tensors->len; i++)
    msc_tensor_proto_free(a->tensors->pdata[i]);
  g_ptr_array_free(a->tensors, TRUE);
}

/* protobuf-c does not modify messages while packing: borrowing is safe. */
static char *
borrow(const char *s)
{
  return (char *)s;
}

static Onnx__TensorProto *
export_tensor(Arena *a, const MscTensor *t, const char *name, GError **error)
{
  Onnx__TensorProto *tp = msc_tensor_to_proto(t, error);
  if (!tp)
    return NULL;
  g_ptr_array_add(a->tensors, tp);
  if (name) {
    g_free(tp->name);
    tp->name = g_strdup(name);
  }
  return tp;
}

static Onnx__TypeProto *
export_type(Arena *a, MscDType dtype, int32_t rank, const int64_t *dims, char *const *params)
{
  Onnx__TypeProto *tp = ARENA_NEW(a, Onnx__TypeProto, 1);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = ARENA_NEW(a, Onnx__TypeProto__Tensor, 1);
  onnx__type_proto__tensor__init(tt);
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  if (dtype != MSC_DTYPE_UNDEFINED) {
    tt->has_elem_type = TRUE;
    tt->elem_type = (int32_t)dtype;
  }
  if (rank >= 0) {
    Onnx__TensorShapeProto *sp = ARENA_NEW(a, Onnx__TensorShapeProto, 1);
    onnx__tensor_shape_proto__init(sp);
    sp->n_dim = (size_t)rank;
    sp->dim = ARENA_NEW(a, Onnx__TensorShapeProto__Dimension *, rank);
    for (int32_t i = 0; i < rank; i++) {
      Onnx__TensorShapeProto__Dimension *d = ARENA_NEW(a, Onnx__TensorShapeProto__Dimension, 1);
      onnx__tensor_shape_proto__dimension__init(d);
      if (dims[i] >= 0) {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = dims[i];
      } else if (params && params[i]) {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        d->dim_param = borrow(params[i]);
      }
      sp->dim[i] = d;
    }
    tt->shape = sp;
  }
  return tp;
}

static Onnx__ValueInfoProto *
export_value_info(Arena *a, const MscValue *v)
{
  Onnx__ValueInfoProto *vi = ARENA_NEW(a, Onnx__ValueInfoProto, 1);
  onnx__value_info_proto__init(vi);
  vi->name = borrow(v->name);
  if (v->dtype != MSC_DTYPE_UNDEFINED || v->rank >= 0)
    vi->type = export_type(a, v->dtype, v->rank, v->dims, v->dim_params);
  return vi;
}

static gboolean
export_attr(Arena *a, const MscNode *n, const MscAttr *at, Onnx__AttributeProto *ap, GError **error)
{
  onnx__attribute_proto__init(ap);
  ap->name = borrow(at->name);
  ap->has_type = TRUE;
  switch (at->type) {
  case MSC_ATTR_FLOAT:
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    ap->has_f = TRUE;
    ap->f = at->f;
    return TRUE;
  case MSC_ATTR_INT:
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    ap->has_i = TRUE;
    ap->i = at->i;
    return TRUE;
  case MSC_ATTR_STRING:
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    ap->has_s = TRUE;
    ap->s.data = (uint8_t *)at->s;
    ap->s.len = at->s ? at->s_len : 0;
    return TRUE;
  case MSC_ATTR_TENSOR:
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (at->t == NULL) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "node '%s' (%s): attribute '%s' has no tensor",
                    n->name, n->op_type, at->name);
      return FALSE;
    }
    ap->t = export_tensor(a, at->t, NULL, error);
    if (!ap->t) {
      g_prefix_error(error, "node '%s' (%s): attribute '%s': ", n->name, n->op_type, at->name);
      return FALSE;
    }
    return TRUE;
  case MSC_ATTR_FLOATS:
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    ap->n_floats = at->n;
    ap->floats = at->floats;
    return TRUE;
  case MSC_ATTR_INTS:
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    ap->n_ints = at->n;
    ap->ints = at->ints;
    return TRUE;
  case MSC_ATTR_STRINGS:
    ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    ap->n_strings = at->n;
    ap->strings = ARENA_NEW(a, ProtobufCBinaryData, at->n);
    for (size_t i = 0; i < at->n; i++) {
      ap->strings[i].data = (uint8_t *)at->strings[i];
      ap->strings[i].len = at->strings[i] ? strlen(at->strings[i]) : 0;
    }
    return TRUE;
  default:
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "node '%s' (%s): attribute '%s' of type %d cannot be saved",
                  n->name, n->op_type, at->name, (int)at->type);
    return FALSE;
  }
}

static gboolean
export_node(Arena *a, const MscNode *n, Onnx__NodeProto *np, GError **error)
{
  onnx__node_proto__init(np);
  np->name = borrow(n->name);
  np->op_type = borrow(n->op_type);
  np->domain = n->domain && n->domain[0] ? borrow(n->domain) : NULL;
  np->doc_string = n->doc && n->doc[0] ? borrow(n->doc) : NULL;
  np->n_input = n->n_inputs;
  np->input = ARENA_NEW(a, char *, n->n_inputs);
  for (uint32_t j = 0; j < n->n_inputs; j++)
    np->input[j] = borrow(n->inputs[j] ? n->inputs[j]->name : ""); /* "" = omitted */
  np->n_output = n->n_outputs;
  np->output = ARENA_NEW(a, char *, n->n_outputs);
  for (uint32_t j = 0; j < n->n_outputs; j++)
    np->output[j] = borrow(n->outputs[j] ? n->outputs[j]->name : "");
  np->n_attribute = n->n_attrs;
  np->attribute = ARENA_NEW(a, Onnx__AttributeProto *, n->n_attrs);
  for (uint32_t j = 0; j < n->n_attrs; j++) {
    np->attribute[j] = ARENA_NEW(a, Onnx__AttributeProto, 1);
    if (!export_attr(a, n, &n->attrs[j], np->attribute[j], error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
build_model(Arena *a, const MscGraph *g, Onnx__ModelProto *m, GError **error)
{
  onnx__model_proto__init(m);
  m->has_ir_version = TRUE;
  m->ir_version = g->ir_version < MIN_IR_VERSION ? MIN_IR_VERSION : g->ir_version;
  m->producer_name = g->producer_name ? borrow(g->producer_name) : NULL;
  m->producer_version = g->producer_version ? borrow(g->producer_version) : NULL;

  /* opset imports; a graph without any still needs ai.onnx for its nodes */
  gboolean have_default = FALSE, need_default = g->n_opsets == 0;
  for (uint32_t i = 0; i < g->n_opsets; i++)
    have_default |= g->opsets[i].domain == NULL || g->opsets[i].domain[0] == '\0';
  for (uint32_t k = 0; k < g->n_nodes; k++)
    need_default |= !g->nodes[k]->domain || !g->nodes[k]->domain[0];
  m->n_opset_import = g->n_opsets + (have_default || !need_default ? 0 : 1);
  m->opset_import = ARENA_NEW(a, Onnx__OperatorSetIdProto *, m->n_opset_import);
  for (size_t i = 0; i < m->n_opset_import; i++) {
    Onnx__OperatorSetIdProto *op = ARENA_NEW(a, Onnx__OperatorSetIdProto, 1);
    onnx__operator_set_id_proto__init(op);
    op->has_version = TRUE;
    if (i < g->n_opsets) {
      const char *d = g->opsets[i].domain;
      op->domain = borrow(d ? d : "");
      op->version = g->opsets[i].version;
    } else {
      int64_t v = 1;
      for (uint32_t k = 0; k < g->n_nodes; k++)
        if ((!g->nodes[k]->domain || !g->nodes[k]->domain[0]) && g->nodes[k]->opset > v)
          v = g->nodes[k]->opset;
      op->domain = borrow("");
      op->version = v;
    }
    m->opset_import[i] = op;
  }

  Onnx__GraphProto *gp = ARENA_NEW(a, Onnx__GraphProto, 1);
  onnx__graph_proto__init(gp);
  m->graph = gp;
  /* The ONNX checker requires a non-empty graph name. */
  gp->name = borrow(g->name && g->name[0] ? g->name : "main_graph");
  gp->doc_string = g->doc && g->doc[0] ? borrow(g->doc) : NULL;

  gp->n_node = g->n_nodes;
  gp->node = ARENA_NEW(a, Onnx__NodeProto *, g->n_nodes);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    gp->node[i] = ARENA_NEW(a, Onnx__NodeProto, 1);
    if (!export_node(a, g->nodes[i], gp->node[i], error))
      return FALSE;
  }

  /* initializers, in value order (= model order for imported graphs) */
  uint32_t n_init = 0;
  for (uint32_t i = 0; i < g->n_values; i++)
    if ((g->values[i]->flags & MSC_VALUE_INITIALIZER) && g->values[i]->value)
      n_init++;
  gp->n_initializer = n_init;
  gp->initializer = ARENA_NEW(a, Onnx__TensorProto *, n_init);
  n_init = 0;
  for (uint32_t i = 0; i < g->n_values; i++) {
    const MscValue *v = g->values[i];
    if (!(v->flags & MSC_VALUE_INITIALIZER) || !v->value)
      continue;
    Onnx__TensorProto *tp = export_tensor(a, v->value, v->name, error);
    if (!tp) {
      g_prefix_error(error, "initializer '%s': ", v->name);
      return FALSE;
    }
    gp->initializer[n_init++] = tp;
  }

  /* inputs (+ initializers for IR < 4, which requires them listed) */
  gboolean list_inits = m->ir_version < IR_INITIALIZERS_OPTIONAL;
  gp->n_input = g->n_inputs + (list_inits ? n_init : 0);
  gp->input = ARENA_NEW(a, Onnx__ValueInfoProto *, gp->n_input);
  for (uint32_t i = 0; i < g->n_inputs; i++)
    gp->input[i] = export_value_info(a, g->inputs[i]);
  gp->n_input = g->n_inputs;
  if (list_inits) {
    for (uint32_t i = 0; i < n_init; i++) {
      const Onnx__TensorProto *tp = gp->initializer[i];
      const MscValue *v = msc_graph_find_value(g, tp->name);
      if (v->flags & MSC_VALUE_GRAPH_INPUT)
        continue; /* already listed (an input with a default value) */
      Onnx__ValueInfoProto *vi = ARENA_NEW(a, Onnx__ValueInfoProto, 1);
      onnx__value_info_proto__init(vi);
      vi->name = tp->name;
      vi->type = export_type(a, v->value->dtype, v->value->rank, v->value->dims, NULL);
      gp->input[gp->n_input++] = vi;
    }
  }

  gp->n_output = g->n_outputs;
  gp->output = ARENA_NEW(a, Onnx__ValueInfoProto *, g->n_outputs);
  for (uint32_t i = 0; i < g->n_outputs; i++)
    gp->output[i] = export_value_info(a, g->outputs[i]);

  /* value_info for every other value whose type is (partly) known */
  const uint32_t edge = MSC_VALUE_GRAPH_INPUT | MSC_VALUE_GRAPH_OUTPUT | MSC_VALUE_INITIALIZER;
  size_t n_vi = 0;
  for (uint32_t i = 0; i < g->n_values; i++) {
    const MscValue *v = g->values[i];
    if (!(v->flags & edge) && (v->dtype != MSC_DTYPE_UNDEFINED || v->rank >= 0))
      n_vi++;
  }
  gp->n_value_info = n_vi;
  gp->value_info = ARENA_NEW(a, Onnx__ValueInfoProto *, n_vi);
  n_vi = 0;
  for (uint32_t i = 0; i < g->n_values; i++) {
    const MscValue *v = g->values[i];
    if (!(v->flags & edge) && (v->dtype != MSC_DTYPE_UNDEFINED || v->rank >= 0))
      gp->value_info[n_vi++] = export_value_info(a, v);
  }
  return TRUE;
}

gboolean
msc_onnx_save_buffer(const MscGraph *g, uint8_t **data, size_t *len, GError **error)
{
  g_return_val_if_fail(g != NULL && data != NULL && len != NULL, FALSE);
  *data = NULL;
  *len = 0;
  Arena a = {g_ptr_array_new_with_free_func(g_free), g_ptr_array_new()};
  Onnx__ModelProto m;
  gboolean ok = build_model(&a, g, &m, error);
  if (ok) {
    size_t n = onnx__model_proto__get_packed_size(&m);
    if (n > MSC_ONNX_MAX_BYTES) {
      msc_set_error(error, MSC_ERR_UNSUPPORTED,
                    "model of %zu bytes exceeds the 2 GiB protobuf limit", n);
      ok = FALSE;
    } else {
      uint8_t *buf = g_malloc(n ? n : 1);
      size_t w = onnx__model_proto__pack(&m, buf);
      if (w != n) {
        g_free(buf);
        msc_set_error(error, MSC_ERR_INTERNAL, "packed %zu bytes, expected %zu", w, n);
        ok = FALSE;
      } else {
        *data = buf;
        *len = n;
      }
    }
  }
  arena_clear(&a);
  return ok;
}

gboolean
msc_onnx_save_file(const MscGraph *g, const char *path, GError **error)
{
  g_return_val_if_fail(g != NULL && path != NULL, FALSE);
  uint8_t *buf = NULL;
  size_t n = 0;
  if (!msc_onnx_save_buffer(g, &buf, &n, error)) {
    g_prefix_error(error, "%s: ", path);
    return FALSE;
  }
  gboolean ok = msc_file_write_atomic(path, buf, n, error);
  g_free(buf);
  return ok;
}
