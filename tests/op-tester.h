/* op-tester.h: node building, execution and assertion helpers shared by the
 * operator tests (test-conv2d.c, test-ops-elementwise.c, test-ops-nn.c).
 * Header-only (static inline) so every test binary stays one .c file and a
 * helper a test does not use costs nothing. Each test builds one node in a
 * fresh graph, runs it through msc_node_execute and compares. */
#ifndef MSC_OP_TESTER_H
#define MSC_OP_TESTER_H

#include <glib.h>
#include <math.h>
#include <string.h>

#include "error.h"
#include "graph-builder.h"
#include "graph.h"
#include "tensor.h"

/* ---- attributes (the node takes ownership of the copies) -------------------- */

static inline void
add_attr_int(MscNode *n, const char *name, int64_t v)
{
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_INT;
  a.i = v;
  msc_node_add_attr(n, &a);
}

static inline void
add_attr_float(MscNode *n, const char *name, float v)
{
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_FLOAT;
  a.f = v;
  msc_node_add_attr(n, &a);
}

static inline void
add_attr_ints(MscNode *n, const char *name, const int64_t *v, size_t cnt)
{
  msc_node_add_attr_ints(n, name, cnt, v); /* core/graph.h */
}


/* ---- nodes ------------------------------------------------------------------ */

/* One node @node_name with inputs in0.. (bit i of @absent set: slot i
 * omitted) and @n_out outputs: the single output @out_name when it is not
 * NULL, else out0.. (bit j of @absent_out set: slot j omitted).
 * (transfer none): the graph owns the node. */
static inline MscNode *
ot_make_node(MscGraph *g, const char *node_name, const char *op_type, int64_t opset, uint32_t n_in, uint32_t absent,
             uint32_t n_out, uint32_t absent_out, const char *out_name)
{
  MscNode *n = msc_graph_add_node(g, node_name, op_type, "", opset);
  MscValue *ins[16] = {0}, *outs[8] = {0};
  g_assert_cmpuint(n_in, <=, G_N_ELEMENTS(ins));
  g_assert_cmpuint(n_out, <=, G_N_ELEMENTS(outs));
  for (uint32_t i = 0; i < n_in; i++) {
    if (absent & (1u << i))
      continue;
    char name[16];
    g_snprintf(name, sizeof name, "in%u", i);
    ins[i] = msc_graph_get_or_add_value(g, name);
  }
  if (out_name != NULL) {
    g_assert_cmpuint(n_out, ==, 1);
    outs[0] = msc_graph_get_or_add_value(g, out_name);
  } else {
    for (uint32_t j = 0; j < n_out; j++) {
      if (absent_out & (1u << j))
        continue;
      char name[16];
      g_snprintf(name, sizeof name, "out%u", j);
      outs[j] = msc_graph_get_or_add_value(g, name);
    }
  }
  msc_node_set_io(n, ins, n_in, outs, n_out);
  return n;
}

/* Resolves the graph's ops and executes @n; fills outs[] (node->n_outputs
 * entries, transfer full). FALSE with *err set on failure. */
static inline gboolean
ot_execute(MscGraph *g, MscNode *n, const MscTensor *const *inputs, MscTensor **outs, GError **err)
{
  if (!msc_graph_resolve_ops(g, err))
    return FALSE;
  return msc_node_execute(n, inputs, outs, err);
}

/* Single-output form: (transfer full) the output, or NULL with *err set. */
static inline MscTensor *
ot_execute1(MscGraph *g, MscNode *n, const MscTensor *const *inputs, GError **err)
{
  MscTensor *out[1] = {NULL};
  if (!ot_execute(g, n, inputs, out, err))
    return NULL;
  return out[0];
}

/* ---- tensors and assertions ---------------------------------------------- */

/* Uniform values in [lo, hi) from @r (floored for integer dtypes). */
static inline void
ot_fill_random(MscTensor *t, GRand *r, double lo, double hi)
{
  int64_t n = msc_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    double v = g_rand_double_range(r, lo, hi);
    if (msc_dtype_is_integer(t->dtype))
      v = floor(v);
    msc_tensor_set_f64(t, i, v);
  }
}

static inline void
ot_assert_dims(const MscTensor *t, int32_t rank, const int64_t *dims)
{
  g_assert_cmpint(t->rank, ==, rank);
  for (int32_t d = 0; d < rank; d++)
    g_assert_cmpint(t->dims[d], ==, dims[d]);
}

/* @err is an MSC_ERROR with @code whose message contains @needle; the
 * message is logged when it does not match. Does not free @err. */
static inline void
ot_assert_error(const GError *err, MscStatus code, const char *needle)
{
  g_assert_nonnull(err);
  g_assert_cmpint(err->domain, ==, MSC_ERROR);
  if (err->code != (int)code || strstr(err->message, needle) == NULL)
    g_test_message("error %d: %s (wanted %d with '%s')", err->code, err->message, code, needle);
  g_assert_cmpint(err->code, ==, code);
  g_assert_nonnull(strstr(err->message, needle));
}

#endif /* MSC_OP_TESTER_H */
