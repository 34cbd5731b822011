/* graph.c: graph IR construction, ownership and topological order. */
#include "graph.h"

#include <string.h>

#include "error.h"
#include "tensor.h"

typedef struct {
  GHashTable *by_name; /* name -> MscValue* (borrowed from values) */
  uint32_t cap_nodes, cap_values, cap_inputs, cap_outputs;
} GraphPriv;

#define PRIV(g) ((GraphPriv *)(g)->priv)

/* Grows a plain array by one slot (amortized doubling). */
#define APPEND(arr, n, cap, item)                                   \
  do {                                                              \
    if ((n) == (cap)) {                                             \
      (cap) = (cap) ? (cap) * 2 : 8;                                \
      (arr) = g_renew(__typeof__(*(arr)), (arr), (cap));            \
    }                                                               \
    (arr)[(n)++] = (item);                                          \
  } while (0)

MscGraph *msc_graph_new(const char *name) {
  MscGraph *g = g_new0(MscGraph, 1);
  g->name = g_strdup(name ? name : "graph");
  GraphPriv *p = g_new0(GraphPriv, 1);
  p->by_name = g_hash_table_new(g_str_hash, g_str_equal);
  g->priv = p;
  return g;
}

void msc_attr_clear(MscAttr *a) {
  g_free(a->name);
  g_free(a->s);
  msc_tensor_free(a->t);
  g_free(a->floats);
  g_free(a->ints);
  if (a->strings) {
    for (size_t i = 0; i < a->n; i++) g_free(a->strings[i]);
    g_free(a->strings);
  }
  memset(a, 0, sizeof *a);
}

static void node_free(MscNode *n) {
  g_free(n->name);
  g_free(n->op_type);
  g_free(n->domain);
  g_free(n->inputs);
  g_free(n->outputs);
  for (uint32_t i = 0; i < n->n_attrs; i++) msc_attr_clear(&n->attrs[i]);
  g_free(n->attrs);
  g_free(n->doc);
  g_free(n);
}

static void value_free(MscValue *v) {
  g_free(v->name);
  for (int i = 0; i < MSC_MAX_RANK; i++) g_free(v->dim_params[i]);
  msc_tensor_free(v->value);
  g_free(v);
}

void msc_graph_free(MscGraph *g) {
  if (!g) return;
  for (uint32_t i = 0; i < g->n_nodes; i++) node_free(g->nodes[i]);
  for (uint32_t i = 0; i < g->n_values; i++) value_free(g->values[i]);
  g_free(g->nodes);
  g_free(g->values);
  g_free(g->inputs);
  g_free(g->outputs);
  for (uint32_t i = 0; i < g->n_opsets; i++) g_free(g->opsets[i].domain);
  g_free(g->opsets);
  g_free(g->name);
  g_free(g->producer_name);
  g_free(g->producer_version);
  g_free(g->doc);
  if (g->priv) {
    g_hash_table_destroy(PRIV(g)->by_name);
    g_free(g->priv);
  }
  g_free(g);
}

MscValue *msc_graph_find_value(const MscGraph *g, const char *name) {
  return name ? g_hash_table_lookup(PRIV(g)->by_name, name) : NULL;
}

MscValue *msc_graph_get_or_add_value(MscGraph *g, const char *name) {
  MscValue *v = msc_graph_find_value(g, name);
  if (v) return v;
  v = g_new0(MscValue, 1);
  v->name = g_strdup(name);
  v->rank = -1;
  v->index = g->n_values;
  APPEND(g->values, g->n_values, PRIV(g)->cap_values, v);
  g_hash_table_insert(PRIV(g)->by_name, v->name, v);
  return v;
}

MscValue *msc_graph_add_initializer(MscGraph *g, const char *name, MscTensor *t) {
  MscValue *v = msc_graph_get_or_add_value(g, name);
  msc_tensor_free(v->value);
  v->value = t;
  v->flags |= MSC_VALUE_INITIALIZER;
  v->dtype = t->dtype;
  v->rank = t->rank;
  memcpy(v->dims, t->dims, sizeof v->dims);
  return v;
}

void msc_graph_add_input(MscGraph *g, MscValue *v) {
  v->flags |= MSC_VALUE_GRAPH_INPUT;
  APPEND(g->inputs, g->n_inputs, PRIV(g)->cap_inputs, v);
}

void msc_graph_add_output(MscGraph *g, MscValue *v) {
  v->flags |= MSC_VALUE_GRAPH_OUTPUT;
  APPEND(g->outputs, g->n_outputs, PRIV(g)->cap_outputs, v);
}

MscNode *msc_graph_add_node(MscGraph *g, const char *name, const char *op_type, const char *domain, int64_t opset) {
  MscNode *n = g_new0(MscNode, 1);
  n->name = g_strdup(name ? name : "");
  n->op_type = g_strdup(op_type ? op_type : "");
  n->domain = g_strdup(domain && strcmp(domain, "ai.onnx") != 0 ? domain : "");
  n->opset = opset;
  n->index = g->n_nodes;
  APPEND(g->nodes, g->n_nodes, PRIV(g)->cap_nodes, n);
  return n;
}

void msc_node_set_io(MscNode *n, MscValue **inputs, uint32_t n_inputs, MscValue **outputs, uint32_t n_outputs) {
  g_free(n->inputs);
  g_free(n->outputs);
  n->inputs = n_inputs ? g_memdup2(inputs, sizeof(MscValue *) * n_inputs) : NULL;
  n->n_inputs = n_inputs;
  n->outputs = n_outputs ? g_memdup2(outputs, sizeof(MscValue *) * n_outputs) : NULL;
  n->n_outputs = n_outputs;
  for (uint32_t i = 0; i < n_outputs; i++)
    if (outputs[i] && !outputs[i]->producer) outputs[i]->producer = n;
}

void msc_node_add_attr(MscNode *n, const MscAttr *a) {
  n->attrs = g_renew(MscAttr, n->attrs, n->n_attrs + 1);
  n->attrs[n->n_attrs++] = *a;
}

void msc_node_add_attr_ints(MscNode *n, const char *name, size_t count, const int64_t *v) {
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_INTS;
  a.ints = count ? g_memdup2(v, count * sizeof *v) : NULL;
  a.n = count;
  msc_node_add_attr(n, &a);
}

int64_t msc_graph_opset(const MscGraph *g, const char *domain) {
  const char *d = (domain && strcmp(domain, "ai.onnx") != 0) ? domain : "";
  for (uint32_t i = 0; i < g->n_opsets; i++)
    if (strcmp(g->opsets[i].domain, d) == 0) return g->opsets[i].version;
  return 0;
}

void msc_graph_set_opset(MscGraph *g, const char *domain, int64_t version) {
  const char *d = (domain && strcmp(domain, "ai.onnx") != 0) ? domain : "";
  for (uint32_t i = 0; i < g->n_opsets; i++)
    if (strcmp(g->opsets[i].domain, d) == 0) {
      g->opsets[i].version = version;
      return;
    }
  g->opsets = g_renew(MscOpsetImport, g->opsets, g->n_opsets + 1);
  g->opsets[g->n_opsets].domain = g_strdup(d);
  g->opsets[g->n_opsets].version = version;
  g->n_opsets++;
}

const char *msc_node_describe(const MscNode *n, char *buf, size_t size) {
  g_snprintf(buf, size, "node '%s' (%s%s%s)", n->name, n->domain && *n->domain ? n->domain : "",
             n->domain && *n->domain ? "." : "", n->op_type);
  return buf;
}

/* Kahn's algorithm keeping model order among ready nodes: a node becomes
 * ready when all its inputs are graph inputs, initializers or produced. */
gboolean msc_graph_sort(MscGraph *g, GError **error) {
  char desc[256];
  g_autoptr(GHashTable) producer = g_hash_table_new(g_direct_hash, g_direct_equal);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    MscNode *n = g->nodes[i];
    for (uint32_t k = 0; k < n->n_outputs; k++) {
      MscValue *v = n->outputs[k];
      if (!v) continue;
      if (g_hash_table_contains(producer, v) || (v->flags & (MSC_VALUE_GRAPH_INPUT | MSC_VALUE_INITIALIZER))) {
        msc_set_error(error, MSC_ERR_CORRUPT, "%s: output '%s' is already produced elsewhere",
                      msc_node_describe(n, desc, sizeof desc), v->name);
        return FALSE;
      }
      g_hash_table_insert(producer, v, n);
      v->producer = n;
    }
  }
  uint32_t nn = g->n_nodes;
  g_autofree uint32_t *missing = g_new0(uint32_t, nn ? nn : 1);
  g_autoptr(GHashTable) consumers = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                                          (GDestroyNotify)g_ptr_array_unref);
  for (uint32_t i = 0; i < nn; i++) {
    MscNode *n = g->nodes[i];
    n->index = i;
    for (uint32_t k = 0; k < n->n_inputs; k++) {
      MscValue *v = n->inputs[k];
      if (!v) continue;
      if (v->flags & (MSC_VALUE_GRAPH_INPUT | MSC_VALUE_INITIALIZER)) continue;
      if (!g_hash_table_contains(producer, v)) {
        msc_set_error(error, MSC_ERR_CORRUPT, "%s: input '%s' is not produced by any node, graph input or initializer",
                      msc_node_describe(n, desc, sizeof desc), v->name);
        return FALSE;
      }
      GPtrArray *c = g_hash_table_lookup(consumers, v);
      if (!c) {
        c = g_ptr_array_new();
        g_hash_table_insert(consumers, v, c);
      }
      g_ptr_array_add(c, n);
      missing[i]++;
    }
  }
  /* ready set as a min-heap by original index would keep order exactly; a
   * sorted insertion into a small queue is enough here. */
  g_autofree MscNode **order = g_new(MscNode *, nn ? nn : 1);
  g_autoptr(GQueue) ready = g_queue_new();
  for (uint32_t i = 0; i < nn; i++)
    if (missing[i] == 0) g_queue_push_tail(ready, g->nodes[i]);
  uint32_t done = 0;
  while (!g_queue_is_empty(ready)) {
    MscNode *n = g_queue_pop_head(ready);
    order[done++] = n;
    for (uint32_t k = 0; k < n->n_outputs; k++) {
      GPtrArray *c = n->outputs[k] ? g_hash_table_lookup(consumers, n->outputs[k]) : NULL;
      if (!c) continue;
      for (guint j = 0; j < c->len; j++) {
        MscNode *m = g_ptr_array_index(c, j);
        if (--missing[m->index] == 0) g_queue_push_tail(ready, m);
      }
    }
  }
  if (done != nn) {
    for (uint32_t i = 0; i < nn; i++)
      if (missing[i]) {
        msc_set_error(error, MSC_ERR_CORRUPT, "graph '%s': cycle through %s", g->name,
                      msc_node_describe(g->nodes[i], desc, sizeof desc));
        break;
      }
    return FALSE;
  }
  for (uint32_t i = 0; i < nn; i++) {
    g->nodes[i] = order[i];
    order[i]->index = i;
  }
  return TRUE;
}

int64_t msc_graph_param_count(const MscGraph *g) {
  int64_t total = 0;
  for (uint32_t i = 0; i < g->n_values; i++) {
    const MscValue *v = g->values[i];
    if ((v->flags & MSC_VALUE_INITIALIZER) && v->value) total += msc_tensor_numel(v->value);
  }
  return total;
}

/* Element count with unknown (symbolic) dims counted as 1, so a model with
 * a dynamic batch reports its cost per batch item; -1 when rank unknown. */
static int64_t numel_of(const MscValue *v) {
  if (!v || v->rank < 0) return -1;
  int64_t n = 1;
  for (int32_t k = 0; k < v->rank; k++) n *= v->dims[k] >= 0 ? v->dims[k] : 1;
  return n;
}

/* Multiply-adds x2 for the ops that dominate CNN cost; values of unknown
 * rank count 0, unknown dims count 1. */
int64_t msc_graph_flops(const MscGraph *g) {
  int64_t total = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    const char *op = n->op_type;
    if (*n->domain || n->n_outputs < 1 || n->n_inputs < 1) continue; /* the verifier reports malformed nodes */
    if (!strcmp(op, "Conv") || !strcmp(op, "ConvInteger") || !strcmp(op, "QLinearConv")) {
      uint32_t wi = !strcmp(op, "QLinearConv") ? 3 : 1;
      const MscValue *w = wi < n->n_inputs ? n->inputs[wi] : NULL;
      int64_t out = numel_of(n->outputs[0]);
      if (!w || w->rank < 3 || out < 0) continue;
      int64_t per_out = 1; /* C/group * prod(kernel) */
      for (int k = 1; k < w->rank; k++) per_out *= w->dims[k];
      total += 2 * out * per_out;
    } else if (!strcmp(op, "ConvTranspose") && n->n_inputs >= 2) {
      const MscValue *x = n->inputs[0], *w = n->inputs[1];
      int64_t in = numel_of(x);
      if (!w || w->rank < 3 || in < 0) continue;
      int64_t per_in = 1; /* M/group * prod(kernel) */
      for (int k = 1; k < w->rank; k++) per_in *= w->dims[k];
      total += 2 * in * per_in;
    } else if (!strcmp(op, "Gemm") || !strcmp(op, "MatMul") || !strcmp(op, "MatMulInteger") ||
               !strcmp(op, "QLinearMatMul")) {
      const MscValue *a = n->inputs[0];
      int64_t out = numel_of(n->outputs[0]);
      if (!a || a->rank < 1 || out < 0) continue;
      int64_t kdim = a->dims[a->rank - 1];
      if (!strcmp(op, "Gemm")) {
        int64_t ta = 0;
        for (uint32_t k = 0; k < n->n_attrs; k++)
          if (!strcmp(n->attrs[k].name, "transA")) ta = n->attrs[k].i;
        if (a->rank == 2 && ta) kdim = a->dims[0];
      }
      if (kdim > 0) total += 2 * out * kdim;
    }
  }
  return total;
}
