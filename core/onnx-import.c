/* onnx-import.c: onnx.ModelProto -> MscGraph (see onnx.h).
 *
 * Everything read from the file is untrusted: protobuf-c checks the wire
 * format, then every name, type, dim and tensor size is validated here
 * before it reaches the graph, so a corrupt file gives one error line and
 * never a crash. Ordering/resolution is left to msc_graph_verify(). */
#include "onnx.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "error.h"
#include "graph.h"
#include "msc-limits.h"
#include "onnx.pb-c.h"
#include "tensor-io.h"
#include "tensor.h"

/* ONNX data types past MscDType's last (float8 x4, uint4, int4, float4). */
#define ONNX_DTYPE_LAST_KNOWN 23

typedef struct {
  const char *src;       /* file name for messages */
  const char *model_dir; /* folder of the model file; NULL for a buffer (no external data) */
  MscGraph *g;
  GHashTable *node_names; /* char* (owned by the graph) -> NULL: names in use */
  GHashTable *produced;   /* MscValue* -> MscNode* producing it */
} Importer;

static const char *
str_or_empty(const char *s)
{
  return s ? s : "";
}

/* "node 'name' (OpType)" / "(domain.OpType)" like msc_node_describe(). */
static char *
describe_node(const char *name, const char *domain, const char *op_type)
{
  return g_strdup_printf("node '%s' (%s%s%s)", str_or_empty(name), str_or_empty(domain),
                         domain && domain[0] ? "." : "", str_or_empty(op_type));
}

static gboolean
is_default_domain(const char *d)
{
  return d == NULL || d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
}

/* ------------------------------------------------------------------ */
/* wire-format pre-scan */

/* One open message: its type and where its bytes end. */
typedef struct {
  const ProtobufCMessageDescriptor *desc;
  size_t end;
  gboolean ext_entry; /* a TensorProto.external_data entry: no NULs in key/value */
} ScanFrame;

/* Reads a base-128 varint of at most 10 bytes ending before @end. */
static gboolean
scan_varint(const uint8_t *d, size_t *p, size_t end, uint64_t *out)
{
  uint64_t v = 0;
  for (unsigned i = 0; i < 10; i++) {
    if (*p >= end)
      return FALSE;
    uint8_t b = d[(*p)++];
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *out = v;
      return TRUE;
    }
  }
  return FALSE; /* more than 10 bytes: not a varint */
}

gboolean
msc_onnx_scan_buffer(const uint8_t *data, size_t len, const char *source_name,
                     MscOnnxScanInfo *info, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, FALSE);
  const char *src = source_name ? source_name : "<buffer>";
  MscLimits lim = msc_limits_get();
  MscOnnxScanInfo st = {.max_depth = 1, .n_messages = 1, .n_nodes = 0};
  /* An explicit stack instead of recursion: the point is to survive any depth. */
  GArray *stack = g_array_sized_new(FALSE, FALSE, sizeof(ScanFrame), 16);
  ScanFrame top = {&onnx__model_proto__descriptor, len, FALSE};
  g_array_append_val(stack, top);
  size_t p = 0;
  gboolean ok = TRUE;
  while (ok && stack->len > 0) {
    ScanFrame *f = &g_array_index(stack, ScanFrame, stack->len - 1);
    if (p == f->end) {
      g_array_set_size(stack, stack->len - 1);
      continue;
    }
    size_t at = p;
    uint64_t key = 0, v = 0;
    if (!scan_varint(data, &p, f->end, &key)) {
      msc_set_error(error, MSC_ERR_CORRUPT,
                    "%s: not a valid ONNX model (protobuf parse failed: truncated or overlong "
                    "field key at offset %zu)",
                    src, at);
      ok = FALSE;
      break;
    }
    uint64_t field = key >> 3;
    unsigned wt = (unsigned)(key & 7);
    if (field == 0 || field > 536870911u) {
      msc_set_error(error, MSC_ERR_CORRUPT,
                    "%s: not a valid ONNX model (protobuf parse failed: field number %" G_GUINT64_FORMAT
                    " at offset %zu)",
                    src, field, at);
      ok = FALSE;
      break;
    }
    switch (wt) {
    case 0: { /* varint */
      size_t vat = p;
      if (!scan_varint(data, &p, f->end, &v)) {
        msc_set_error(error, MSC_ERR_CORRUPT,
                      "%s: not a valid ONNX model (protobuf parse failed: truncated or overlong "
                      "varint at offset %zu)",
                      src, vat);
        ok = FALSE;
      }
      break;
    }
    case 1: /* 64-bit */
    case 5: /* 32-bit */ {
      size_t n = wt == 1 ? 8 : 4;
      if (f->end - p < n) {
        msc_set_error(error, MSC_ERR_CORRUPT,
                      "%s: not a valid ONNX model (protobuf parse failed: %zu-byte field at "
                      "offset %zu runs past the end of its message)",
                      src, n, at);
        ok = FALSE;
      } else {
        p += n;
      }
      break;
    }
    case 2: { /* length-delimited: bytes, string, packed array or a message */
      size_t lat = p;
      if (!scan_varint(data, &p, f->end, &v)) {
        msc_set_error(error, MSC_ERR_CORRUPT,
                      "%s: not a valid ONNX model (protobuf parse failed: truncated or overlong "
                      "length at offset %zu)",
                      src, lat);
        ok = FALSE;
        break;
      }
      if (v > (uint64_t)(f->end - p)) {
        msc_set_error(error, MSC_ERR_CORRUPT,
                      "%s: not a valid ONNX model (protobuf parse failed: length %" G_GUINT64_FORMAT
                      " at offset %zu runs past the end of its message, %zu bytes left)",
                      src, v, lat, f->end - p);
        ok = FALSE;
        break;
      }
      const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(f->desc, (unsigned)field);
      if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
        if ((uint64_t)stack->len + 1 > lim.nesting) {
          msc_set_error(error, MSC_ERR_UNSUPPORTED,
                        "%s: protobuf messages nested deeper than the limit of %" G_GUINT64_FORMAT
                        " (%s inside %s at offset %zu; set " MSC_LIMIT_ENV_NESTING
                        " to raise it)",
                        src, lim.nesting, ((const ProtobufCMessageDescriptor *)fd->descriptor)->name,
                        f->desc->name, at);
          ok = FALSE;
          break;
        }
        ScanFrame child = {fd->descriptor, p + (size_t)v,
                           f->desc == &onnx__tensor_proto__descriptor && field == 13};
        st.n_messages++;
        if (child.desc == &onnx__node_proto__descriptor && ++st.n_nodes > lim.graph_nodes) {
          msc_set_error(error, MSC_ERR_UNSUPPORTED,
                        "%s: model has more than %" G_GUINT64_FORMAT
                        " nodes, the limit (set " MSC_LIMIT_ENV_GRAPH_NODES " to raise it)",
                        src, lim.graph_nodes);
          ok = FALSE;
          break;
        }
        g_array_append_val(stack, child);
        if (stack->len > st.max_depth)
          st.max_depth = stack->len;
        break; /* p now points at the child's first field */
      }
      /* protobuf-c keeps the string up to the first NUL: a location could
       * then name another file than the one the bytes spell. */
      if (f->ext_entry && memchr(data + p, 0, (size_t)v) != NULL) {
        msc_set_error(error, MSC_ERR_CORRUPT,
                      "%s: tensor external_data entry at offset %zu contains a NUL byte", src, at);
        ok = FALSE;
        break;
      }
      p += (size_t)v;
      break;
    }
    default: /* 3/4 (groups) are not used by ONNX and refused by protobuf-c too */
      msc_set_error(error, MSC_ERR_CORRUPT,
                    "%s: not a valid ONNX model (protobuf parse failed: wire type %u at offset %zu)",
                    src, wt, at);
      ok = FALSE;
      break;
    }
  }
  g_array_free(stack, TRUE);
  if (ok && info)
    *info = st;
  return ok;
}

/* ------------------------------------------------------------------ */
/* types */

static gboolean
check_elem_type(Importer *im, int32_t code, const char *what, GError **error)
{
  if (code >= 0 && code <= MSC_DTYPE_BFLOAT16)
    return TRUE;
  if (code > MSC_DTYPE_BFLOAT16 && code <= ONNX_DTYPE_LAST_KNOWN) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: %s: element type %d not supported", im->src,
                  what, (int)code);
    return FALSE;
  }
  msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: unknown element type %d", im->src, what, (int)code);
  return FALSE;
}

/* Applies a TypeProto to @v. @edge: a graph input/output, where only tensor
 * types make sense; value_info entries of other kinds are ignored. */
static gboolean
apply_type(Importer *im, MscValue *v, const Onnx__TypeProto *tp, gboolean edge, const char *kind,
           GError **error)
{
  if (tp == NULL || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET)
    return TRUE;
  g_autofree char *what = g_strdup_printf("%s '%s'", kind, v->name);
  if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
    if (!edge)
      return TRUE;
    const char *k = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? "sequence"
                    : tp->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE ? "map"
                    : tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE ? "optional"
                    : tp->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE ? "sparse tensor"
                                                                                   : "non-tensor";
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: %s has a %s type (only tensors are supported)",
                  im->src, what, k);
    return FALSE;
  }
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  if (tt == NULL)
    return TRUE;
  MscDType dt = MSC_DTYPE_UNDEFINED;
  if (tt->has_elem_type) {
    if (!check_elem_type(im, tt->elem_type, what, error))
      return FALSE;
    dt = (MscDType)tt->elem_type;
  }
  int32_t rank = -1;
  int64_t dims[MSC_MAX_RANK];
  char *params[MSC_MAX_RANK] = {NULL};
  if (tt->shape) {
    if (tt->shape->n_dim > MSC_MAX_RANK) {
      msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: %s: rank %zu above the limit %d", im->src,
                    what, tt->shape->n_dim, MSC_MAX_RANK);
      return FALSE;
    }
    rank = (int32_t)tt->shape->n_dim;
    for (int32_t i = 0; i < rank; i++) {
      const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
      dims[i] = -1;
      if (d == NULL)
        continue;
      if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
        if (d->dim_value < 0) {
          msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: negative dim %lld at axis %d", im->src,
                        what, (long long)d->dim_value, (int)i);
          return FALSE;
        }
        dims[i] = d->dim_value;
      } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                 d->dim_param && d->dim_param[0]) {
        params[i] = d->dim_param;
      }
    }
  }
  if (rank >= 0) { /* a fully static shape must fit the per-tensor limit */
    size_t numel = 1;
    gboolean known = TRUE, over = FALSE;
    for (int32_t i = 0; i < rank; i++)
      known = known && dims[i] > 0; /* unknown or empty: nothing to bound */
    for (int32_t i = 0; known && i < rank; i++)
      over = over || !msc_mul_size(numel, (size_t)dims[i], &numel);
    MscLimits lim = msc_limits_get();
    if (known && (over || (uint64_t)numel > lim.tensor_elements)) {
      char sbuf[8 * 24];
      msc_set_error(error, MSC_ERR_UNSUPPORTED,
                    "%s: %s: shape %s has more than %" G_GUINT64_FORMAT
                    " elements, the per-tensor limit (set " MSC_LIMIT_ENV_TENSOR_ELEMENTS
                    " to raise it)",
                    im->src, what, msc_shape_format(rank, dims, sbuf, sizeof sbuf),
                    lim.tensor_elements);
      return FALSE;
    }
  }
  v->dtype = dt;
  v->rank = rank;
  for (int32_t i = 0; i < MSC_MAX_RANK; i++) {
    g_clear_pointer(&v->dim_params[i], g_free);
    v->dims[i] = i < rank ? dims[i] : 0;
    if (i < rank && params[i])
      v->dim_params[i] = g_strdup(params[i]);
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* attributes */

/* Old producers (IR 1) left AttributeProto.type unset; infer it from the
 * field that is present. */
static int
attr_kind(const Onnx__AttributeProto *ap)
{
  if (ap->has_type && ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
    return (int)ap->type;
  if (ap->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  if (ap->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  if (ap->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  if (ap->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
  if (ap->g) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
  if (ap->sparse_tensor) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR;
  if (ap->tp) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO;
  if (ap->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
  if (ap->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  if (ap->n_strings) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
  if (ap->n_tensors) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS;
  if (ap->n_graphs) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
  if (ap->n_sparse_tensors) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS;
  if (ap->n_type_protos) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS;
  return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

static const char *
attr_kind_name(int k)
{
  switch (k) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return "GRAPH";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return "GRAPHS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: return "SPARSE_TENSOR";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS: return "SPARSE_TENSORS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO: return "TYPE_PROTO";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: return "TYPE_PROTOS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: return "TENSORS";
  default: return "?";
  }
}

static char *
bytes_to_str(const ProtobufCBinaryData *b, size_t *len_out)
{
  /* Keep embedded NULs in the copy; s_len tells the real length. */
  char *s = g_malloc(b->len + 1);
  if (b->len)
    memcpy(s, b->data, b->len);
  s[b->len] = '\0';
  if (len_out)
    *len_out = b->len;
  return s;
}

/* Fills @a (zeroed by the caller) from @ap; on error @a may hold partial
 * allocations, which the caller releases with msc_attr_clear(). */
static gboolean
convert_attr(Importer *im, const char *node_desc, const Onnx__AttributeProto *ap, MscAttr *a,
             GError **error)
{
  const char *aname = ap->name;
  int k = attr_kind(ap);
  a->name = g_strdup(aname);
  switch (k) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
    a->type = MSC_ATTR_FLOAT;
    a->f = ap->f;
    return TRUE;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
    a->type = MSC_ATTR_INT;
    a->i = ap->i;
    return TRUE;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
    a->type = MSC_ATTR_STRING;
    a->s = bytes_to_str(&ap->s, &a->s_len);
    return TRUE;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
    a->type = MSC_ATTR_TENSOR;
    if (ap->t == NULL) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: attribute '%s' of type TENSOR has no tensor",
                    im->src, node_desc, aname);
      return FALSE;
    }
    g_autofree char *where = g_strdup_printf("%s: %s: attribute '%s'", im->src, node_desc, aname);
    a->t = msc_tensor_from_proto_in_dir(ap->t, where, im->model_dir, error);
    return a->t != NULL;
  }
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
    a->type = MSC_ATTR_FLOATS;
    a->n = ap->n_floats;
    a->floats = g_new(float, ap->n_floats + 1);
    if (ap->n_floats)
      memcpy(a->floats, ap->floats, ap->n_floats * sizeof(float));
    return TRUE;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
    a->type = MSC_ATTR_INTS;
    a->n = ap->n_ints;
    a->ints = g_new(int64_t, ap->n_ints + 1);
    if (ap->n_ints)
      memcpy(a->ints, ap->ints, ap->n_ints * sizeof(int64_t));
    return TRUE;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
    a->type = MSC_ATTR_STRINGS;
    a->n = ap->n_strings;
    a->strings = g_new0(char *, ap->n_strings + 1); /* NULL-terminated too (g_strfreev) */
    for (size_t i = 0; i < ap->n_strings; i++)
      a->strings[i] = bytes_to_str(&ap->strings[i], NULL);
    return TRUE;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS:
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR:
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS:
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS:
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO:
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS:
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: %s: attribute '%s' has type %s, not supported",
                  im->src, node_desc, aname, attr_kind_name(k));
    return FALSE;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED:
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: attribute '%s' has no type and no value",
                  im->src, node_desc, aname);
    return FALSE;
  default:
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: attribute '%s' has unknown type %d", im->src,
                  node_desc, aname, k);
    return FALSE;
  }
}

/* ------------------------------------------------------------------ */
/* graph pieces */

static gboolean
import_opsets(Importer *im, const Onnx__ModelProto *m, GError **error)
{
  if (m->n_opset_import == 0) {
    /* IR < 3 had no opset_import: the default domain at version 1. */
    msc_graph_set_opset(im->g, "", 1);
    return TRUE;
  }
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *op = m->opset_import[i];
    const char *dom = is_default_domain(op->domain) ? "" : op->domain;
    if (!op->has_version || op->version < 1) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: opset_import for domain '%s' has %s version %lld",
                    im->src, dom[0] ? dom : "ai.onnx", op->has_version ? "invalid" : "no",
                    (long long)op->version);
      return FALSE;
    }
    int64_t prev = msc_graph_opset(im->g, dom);
    if (prev != 0 && prev != op->version) {
      msc_set_error(error, MSC_ERR_CORRUPT,
                    "%s: opset_import lists domain '%s' twice (versions %lld and %lld)", im->src,
                    dom[0] ? dom : "ai.onnx", (long long)prev, (long long)op->version);
      return FALSE;
    }
    msc_graph_set_opset(im->g, dom, op->version);
  }
  return TRUE;
}

/* Bytes a statically shaped graph input will take (0 when not static). */
static size_t
declared_input_bytes(const Onnx__TypeProto *tp, gboolean *overflow)
{
  if (tp == NULL || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || tp->tensor_type == NULL)
    return 0;
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  if (!tt->has_elem_type || tt->elem_type <= 0 || tt->elem_type > MSC_DTYPE_BFLOAT16 ||
      tt->shape == NULL || tt->shape->n_dim > MSC_MAX_RANK)
    return 0;
  size_t n = msc_dtype_size((MscDType)tt->elem_type);
  for (size_t i = 0; i < tt->shape->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
    if (d == NULL || d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
        d->dim_value < 0)
      return 0;
    if (d->dim_value == 0)
      return 0;
  }
  for (size_t i = 0; i < tt->shape->n_dim; i++)
    if (!msc_mul_size(n, (size_t)tt->shape->dim[i]->dim_value, &n)) {
      *overflow = TRUE;
      return 0;
    }
  return n;
}

/* Refuses, before any tensor is allocated, a model whose nodes, tensors
 * or total memory exceed the limits, or whose tensors claim more embedded
 * bytes than the file holds. Initializers get every check of the real load
 * (same messages); attribute tensors with problems are left to
 * import_node(), which names the node. */
static gboolean
check_budget(Importer *im, const Onnx__GraphProto *gp, size_t file_len, GError **error)
{
  MscLimits lim = msc_limits_get();
  if ((uint64_t)gp->n_node > lim.graph_nodes) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED,
                  "%s: model has %zu nodes, above the limit of %" G_GUINT64_FORMAT
                  " (set " MSC_LIMIT_ENV_GRAPH_NODES " to raise it)",
                  im->src, gp->n_node, lim.graph_nodes);
    return FALSE;
  }
  size_t total = 0, wire = 0;
  gboolean over = FALSE;
  g_autoptr(GHashTable) inits = g_hash_table_new(g_str_hash, g_str_equal);
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    MscTensorProtoInfo info;
    if (!msc_tensor_proto_check(tp, im->src, im->model_dir, &info, error))
      return FALSE;
    over = over || !msc_add_size(total, info.nbytes, &total);
    over = over || !msc_add_size(wire, info.wire_bytes, &wire);
    if (tp->name)
      g_hash_table_add(inits, tp->name);
  }
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *np = gp->node[i];
    for (size_t j = 0; j < np->n_attribute; j++) {
      const Onnx__AttributeProto *ap = np->attribute[j];
      MscTensorProtoInfo info;
      if (ap->t == NULL || attr_kind(ap) != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR ||
          !msc_tensor_proto_check(ap->t, im->src, im->model_dir, &info, NULL))
        continue;
      over = over || !msc_add_size(total, info.nbytes, &total);
      over = over || !msc_add_size(wire, info.wire_bytes, &wire);
    }
  }
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (vi->name == NULL || g_hash_table_contains(inits, vi->name))
      continue;
    size_t n = declared_input_bytes(vi->type, &over);
    over = over || !msc_add_size(total, n, &total);
  }
  if (over || (uint64_t)total > lim.total_bytes) {
    g_autofree char *need = over ? g_strdup("more than 2^64 bytes")
                                 : g_strdup_printf("%" G_GUINT64_FORMAT " bytes", (guint64)total);
    g_autofree char *cap = msc_limits_format_bytes(lim.total_bytes);
    msc_set_error(error, MSC_ERR_UNSUPPORTED,
                  "%s: initializers, constants and graph inputs need %s, above the %s total "
                  "limit (%" G_GUINT64_FORMAT " bytes; set " MSC_LIMIT_ENV_TOTAL_BYTES
                  " to raise it)",
                  im->src, need, cap, lim.total_bytes);
    return FALSE;
  }
  if (wire > file_len) { /* implied by the per-tensor checks; kept as a cheap backstop */
    msc_set_error(error, MSC_ERR_CORRUPT,
                  "%s: tensors declare at least %zu bytes of embedded data, but the file has only "
                  "%zu bytes",
                  im->src, wire, file_len);
    return FALSE;
  }
  return TRUE;
}

static gboolean
import_initializers(Importer *im, const Onnx__GraphProto *gp, GError **error)
{
  if (gp->n_sparse_initializer > 0) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: sparse initializers not supported (%zu)",
                  im->src, gp->n_sparse_initializer);
    return FALSE;
  }
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    if (tp->name == NULL || tp->name[0] == '\0') {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: initializer %zu has no name", im->src, i);
      return FALSE;
    }
    MscValue *old = msc_graph_find_value(im->g, tp->name);
    if (old && (old->flags & MSC_VALUE_INITIALIZER)) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: initializer '%s' is listed twice", im->src,
                    tp->name);
      return FALSE;
    }
    MscTensor *t = msc_tensor_from_proto_in_dir(tp, im->src, im->model_dir, error);
    if (!t)
      return FALSE;
    msc_graph_add_initializer(im->g, tp->name, t);
  }
  return TRUE;
}

static gboolean
import_inputs(Importer *im, const Onnx__GraphProto *gp, GError **error)
{
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (vi->name == NULL || vi->name[0] == '\0') {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: graph input %zu has no name", im->src, i);
      return FALSE;
    }
    MscValue *v = msc_graph_find_value(im->g, vi->name);
    if (v && (v->flags & MSC_VALUE_INITIALIZER))
      continue; /* IR < 4 lists initializers as inputs too: not a real input */
    if (v && (v->flags & MSC_VALUE_GRAPH_INPUT)) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: graph input '%s' is listed twice", im->src,
                    vi->name);
      return FALSE;
    }
    v = msc_graph_get_or_add_value(im->g, vi->name);
    if (!apply_type(im, v, vi->type, TRUE, "graph input", error))
      return FALSE;
    msc_graph_add_input(im->g, v);
  }
  return TRUE;
}

/* Name for an unnamed node: "<OpType>_<index>", suffixed until unique. */
static char *
unique_node_name(Importer *im, const char *op_type, size_t index)
{
  char *name = g_strdup_printf("%s_%zu", op_type, index);
  for (unsigned k = 1; g_hash_table_contains(im->node_names, name); k++) {
    g_free(name);
    name = g_strdup_printf("%s_%zu_%u", op_type, index, k);
  }
  return name;
}

static MscValue *
io_value(Importer *im, const char *name)
{
  if (name == NULL || name[0] == '\0')
    return NULL; /* an omitted optional input/output */
  return msc_graph_get_or_add_value(im->g, name);
}

static gboolean
import_node(Importer *im, size_t index, const Onnx__NodeProto *np, GError **error)
{
  if (np->op_type == NULL || np->op_type[0] == '\0') {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: node %zu ('%s') has no op_type", im->src, index,
                  str_or_empty(np->name));
    return FALSE;
  }
  const char *dom = is_default_domain(np->domain) ? "" : np->domain;
  /* Name an unnamed node first, so messages name it as later tools will. */
  g_autofree char *gen = NULL;
  const char *name = np->name;
  if (name == NULL || name[0] == '\0')
    name = gen = unique_node_name(im, np->op_type, index);
  g_autofree char *desc = describe_node(name, dom, np->op_type);
  int64_t opset = msc_graph_opset(im->g, dom);
  if (opset == 0) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: domain '%s' has no opset_import", im->src, desc,
                  dom[0] ? dom : "ai.onnx");
    return FALSE;
  }
  if (np->n_input > G_MAXUINT32 || np->n_output > G_MAXUINT32 || np->n_attribute > G_MAXUINT32) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: too many inputs/outputs/attributes", im->src,
                  desc);
    return FALSE;
  }

  /* Validate outputs before touching the graph further. */
  for (size_t j = 0; j < np->n_output; j++) {
    const char *on = np->output[j];
    if (on == NULL || on[0] == '\0')
      continue;
    MscValue *v = msc_graph_find_value(im->g, on);
    if (v == NULL)
      continue;
    if (v->flags & MSC_VALUE_INITIALIZER) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: output '%s' is also an initializer", im->src,
                    desc, on);
      return FALSE;
    }
    if (v->flags & MSC_VALUE_GRAPH_INPUT) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: output '%s' is also a graph input", im->src,
                    desc, on);
      return FALSE;
    }
    MscNode *other = g_hash_table_lookup(im->produced, v);
    if (other) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: output '%s' is already produced by node '%s'",
                    im->src, desc, on, other->name);
      return FALSE;
    }
    for (size_t k = 0; k < j; k++)
      if (np->output[k] && strcmp(np->output[k], on) == 0) {
        msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: output '%s' is listed twice", im->src, desc,
                      on);
        return FALSE;
      }
  }
  for (size_t j = 0; j < np->n_attribute; j++) {
    const char *an = np->attribute[j]->name;
    if (an == NULL || an[0] == '\0') {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: attribute %zu has no name", im->src, desc, j);
      return FALSE;
    }
    for (size_t k = 0; k < j; k++)
      if (strcmp(np->attribute[k]->name, an) == 0) {
        msc_set_error(error, MSC_ERR_CORRUPT, "%s: %s: attribute '%s' is listed twice", im->src,
                      desc, an);
        return FALSE;
      }
  }

  /* Convert attributes first: a failure then leaves no half-built node. */
  MscAttr *attrs = g_new0(MscAttr, np->n_attribute + 1);
  for (size_t j = 0; j < np->n_attribute; j++) {
    if (!convert_attr(im, desc, np->attribute[j], &attrs[j], error)) {
      for (size_t k = 0; k <= j; k++)
        msc_attr_clear(&attrs[k]);
      g_free(attrs);
      return FALSE;
    }
  }

  MscNode *n = msc_graph_add_node(im->g, name, np->op_type, dom, opset);
  g_hash_table_add(im->node_names, n->name);
  if (np->doc_string && np->doc_string[0] && n->doc == NULL)
    n->doc = g_strdup(np->doc_string);

  MscValue **ins = g_new0(MscValue *, np->n_input + 1);
  MscValue **outs = g_new0(MscValue *, np->n_output + 1);
  for (size_t j = 0; j < np->n_input; j++)
    ins[j] = io_value(im, np->input[j]);
  for (size_t j = 0; j < np->n_output; j++) {
    outs[j] = io_value(im, np->output[j]);
    if (outs[j])
      g_hash_table_insert(im->produced, outs[j], n);
  }
  msc_node_set_io(n, ins, (uint32_t)np->n_input, outs, (uint32_t)np->n_output);
  g_free(ins);
  g_free(outs);
  for (size_t j = 0; j < np->n_attribute; j++)
    msc_node_add_attr(n, &attrs[j]);
  g_free(attrs);
  return TRUE;
}

static gboolean
import_outputs(Importer *im, const Onnx__GraphProto *gp, GError **error)
{
  for (size_t i = 0; i < gp->n_output; i++) {
    const Onnx__ValueInfoProto *vi = gp->output[i];
    if (vi->name == NULL || vi->name[0] == '\0') {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: graph output %zu has no name", im->src, i);
      return FALSE;
    }
    MscValue *v = msc_graph_get_or_add_value(im->g, vi->name);
    if (v->flags & MSC_VALUE_GRAPH_OUTPUT) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: graph output '%s' is listed twice", im->src,
                    vi->name);
      return FALSE;
    }
    /* An initializer's type is its tensor's; trust that over the listing. */
    if (!(v->flags & MSC_VALUE_INITIALIZER) &&
        !apply_type(im, v, vi->type, TRUE, "graph output", error))
      return FALSE;
    msc_graph_add_output(im->g, v);
  }
  return TRUE;
}

static gboolean
import_value_info(Importer *im, const Onnx__GraphProto *gp, GError **error)
{
  for (size_t i = 0; i < gp->n_value_info; i++) {
    const Onnx__ValueInfoProto *vi = gp->value_info[i];
    if (vi->name == NULL || vi->name[0] == '\0')
      continue;
    MscValue *v = msc_graph_find_value(im->g, vi->name);
    /* Only values the graph uses; edges and initializers keep their types. */
    if (v == NULL ||
        (v->flags & (MSC_VALUE_INITIALIZER | MSC_VALUE_GRAPH_INPUT | MSC_VALUE_GRAPH_OUTPUT)))
      continue;
    if (!apply_type(im, v, vi->type, FALSE, "value_info", error))
      return FALSE;
  }
  return TRUE;
}

/* "... exceeds the limit of 2.0 GiB (...; set MSC_LIMIT_MODEL_BYTES ...)" */
static void
set_model_size_error(GError **error, const char *src, uint64_t size, uint64_t limit)
{
  g_autofree char *cap = msc_limits_format_bytes(limit);
  msc_set_error(error, MSC_ERR_UNSUPPORTED,
                "%s: model of %" G_GUINT64_FORMAT " bytes exceeds the %s limit (%" G_GUINT64_FORMAT
                " bytes; set " MSC_LIMIT_ENV_MODEL_BYTES " to raise it)",
                src, size, cap, limit);
}

/* The load: @model_dir is the folder external data may come from (NULL:
 * none allowed). */
static MscGraph *
load_model(const uint8_t *data, size_t len, const char *src, const char *model_dir, GError **error)
{
  MscLimits lim = msc_limits_get();
  if ((uint64_t)len > lim.model_bytes) {
    set_model_size_error(error, src, len, lim.model_bytes);
    return NULL;
  }
  static const uint8_t empty = 0;
  if (data == NULL)
    data = &empty;
  /* protobuf-c's unpack recurses once per nested message with no bound:
   * check depth, node count and framing iteratively before calling it. */
  if (!msc_onnx_scan_buffer(data, len, src, NULL, error))
    return NULL;
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, data);
  if (m == NULL) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: not a valid ONNX model (protobuf parse failed)", src);
    return NULL;
  }
  if (m->graph == NULL) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: model has no graph", src);
    onnx__model_proto__free_unpacked(m, NULL);
    return NULL;
  }
  const Onnx__GraphProto *gp = m->graph;
  Importer im = {
    .src = src,
    .model_dir = model_dir,
    .g = msc_graph_new(gp->name && gp->name[0] ? gp->name : NULL),
    .node_names = g_hash_table_new(g_str_hash, g_str_equal),
    .produced = g_hash_table_new(g_direct_hash, g_direct_equal),
  };
  MscGraph *g = im.g;
  g->ir_version = m->has_ir_version ? m->ir_version : 0;
  if (m->producer_name && m->producer_name[0])
    g->producer_name = g_strdup(m->producer_name);
  if (m->producer_version && m->producer_version[0])
    g->producer_version = g_strdup(m->producer_version);
  if (gp->doc_string && gp->doc_string[0])
    g->doc = g_strdup(gp->doc_string);
  else if (m->doc_string && m->doc_string[0])
    g->doc = g_strdup(m->doc_string);

  /* Explicit node names are reserved first so generated ones avoid them. */
  for (size_t i = 0; i < gp->n_node; i++)
    if (gp->node[i]->name && gp->node[i]->name[0])
      g_hash_table_add(im.node_names, gp->node[i]->name);

  gboolean ok = import_opsets(&im, m, error) && check_budget(&im, gp, len, error) &&
                import_initializers(&im, gp, error) && import_inputs(&im, gp, error);
  for (size_t i = 0; ok && i < gp->n_node; i++)
    ok = import_node(&im, i, gp->node[i], error);
  ok = ok && import_outputs(&im, gp, error) && import_value_info(&im, gp, error);

  g_hash_table_destroy(im.node_names);
  g_hash_table_destroy(im.produced);
  onnx__model_proto__free_unpacked(m, NULL);
  if (!ok) {
    msc_graph_free(g);
    return NULL;
  }
  return g;
}

MscGraph *
msc_onnx_load_buffer(const uint8_t *data, size_t len, const char *source_name, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, NULL);
  return load_model(data, len, source_name ? source_name : "<buffer>", NULL, error);
}

MscGraph *
msc_onnx_load_file(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  GStatBuf st;
  if (g_stat(path, &st) != 0) {
    int e = errno;
    msc_set_error(error, MSC_ERR_IO, "%s: cannot open: %s", path, g_strerror(e));
    return NULL;
  }
  if (S_ISDIR(st.st_mode)) {
    msc_set_error(error, MSC_ERR_IO, "%s: is a directory", path);
    return NULL;
  }
  MscLimits lim = msc_limits_get();
  if ((uint64_t)st.st_size > lim.model_bytes) { /* before mapping anything */
    set_model_size_error(error, path, (uint64_t)st.st_size, lim.model_bytes);
    return NULL;
  }
  GError *local = NULL;
  GMappedFile *mf = g_mapped_file_new(path, FALSE, &local);
  if (mf == NULL) {
    msc_set_error(error, MSC_ERR_IO, "%s: cannot open: %s", path, local->message);
    g_error_free(local);
    return NULL;
  }
  size_t len = g_mapped_file_get_length(mf);
  const uint8_t *data = (const uint8_t *)g_mapped_file_get_contents(mf);
  g_autofree char *dir = g_path_get_dirname(path);
  MscGraph *g = load_model(len ? data : NULL, len, path, dir, error);
  g_mapped_file_unref(mf);
  return g;
}
