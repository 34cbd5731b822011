/* test-runner.c: the demo model zoo, the session API on the `ref` runner,
 * the public embedding API (msc.h), and ONNX round trips of whole models
 * (checked against ONNX Runtime when shared/bench's ORT is installed). */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "error.h"
#include "graph.h"
#include "msc-config.h"
#include "msc.h"
#include "onnx.h"
#include "ops.h"
#include "plugin.h"
#include "registry.h"
#include "session.h"
#include "tensor-io.h"
#include "tensor.h"
#include "zoo.h"

static gboolean have_ref;

#define NEED_REF()                                                                                      \
  do {                                                                                                  \
    if (!have_ref) {                                                                                    \
      g_test_skip("runner 'msc.runner.ref' is not registered (ref plugin not built or refused; see "   \
                  "`msc plugins`)");                                                                   \
      return;                                                                                           \
    }                                                                                                   \
  } while (0)

/* ---------------------------------------------------------------------- */
/* helpers                                                                 */

static MscGraph *build_verified(const char *name) {
  GError *e = NULL;
  MscGraph *g = msc_zoo_build(name, &e);
  g_assert_no_error(e);
  g_assert_nonnull(g);
  msc_graph_verify(g, &e);
  g_assert_no_error(e);
  return g;
}

static MscTensor *make_input(const MscGraph *g, int64_t batch, uint32_t seed) {
  GError *e = NULL;
  MscTensor *t = msc_zoo_make_input(g->inputs[0], batch, seed, &e);
  g_assert_no_error(e);
  return t;
}

/* Runs @g on the ref runner; returns the outputs (g->n_outputs tensors). */
static MscTensor **run_ref(const MscGraph *g, MscTensor *input, const MscRunHooks *hooks, GError **error) {
  MscSession *s = msc_session_new(g, "ref", NULL, error);
  if (!s) return NULL;
  MscTensor **out = NULL;
  const MscTensor *in[1] = {input};
  gboolean ok = msc_session_run(s, in, 1, &out, hooks, error);
  msc_session_free(s);
  return ok ? out : NULL;
}

static void free_outputs(MscTensor **out, uint32_t n) {
  if (!out) return;
  for (uint32_t i = 0; i < n; i++) msc_tensor_free(out[i]);
  g_free(out);
}

static void assert_bitwise_equal(const MscTensor *a, const MscTensor *b) {
  g_assert_cmpint(a->dtype, ==, b->dtype);
  g_assert_cmpint(a->rank, ==, b->rank);
  for (int32_t i = 0; i < a->rank; i++) g_assert_cmpint(a->dims[i], ==, b->dims[i]);
  g_assert_cmpuint(a->nbytes, ==, b->nbytes);
  g_assert_cmpint(memcmp(a->data, b->data, a->nbytes), ==, 0);
}

static gboolean has_node_named(const MscGraph *g, const char *name) {
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (!strcmp(g->nodes[i]->name, name)) return TRUE;
  return FALSE;
}

static uint32_t count_op(const MscGraph *g, const char *op) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) n += !strcmp(g->nodes[i]->op_type, op);
  return n;
}

static int64_t attr_i(const MscNode *n, const char *name, int64_t dflt) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (!strcmp(n->attrs[i].name, name)) return n->attrs[i].i;
  return dflt;
}

/* ---------------------------------------------------------------------- */
/* zoo                                                                     */

static void test_zoo_names(void) {
  g_test_summary("msc_zoo_names lists both models with a description; an unknown name is an error listing them");
  const char *const *names = msc_zoo_names();
  g_assert_cmpstr(names[0], ==, "resnet_mini");
  g_assert_cmpstr(names[1], ==, "mobilenet_mini");
  g_assert_null(names[2]);
  for (int i = 0; names[i]; i++) g_assert_nonnull(msc_zoo_doc(names[i]));
  g_assert_null(msc_zoo_doc("vgg_huge"));
  GError *e = NULL;
  MscGraph *g = msc_zoo_build("vgg_huge", &e);
  g_assert_null(g);
  g_assert_error(e, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(e->message, "'vgg_huge'"));
  g_assert_nonnull(strstr(e->message, "resnet_mini, mobilenet_mini"));
  g_error_free(e);
}

static void test_zoo_deterministic(gconstpointer data) {
  const char *name = data;
  g_test_summary("two builds of a zoo model give the same nodes and bit-identical weights");
  g_autoptr(MscGraph) a = msc_zoo_build(name, NULL);
  g_autoptr(MscGraph) b = msc_zoo_build(name, NULL);
  g_assert_nonnull(a);
  g_assert_nonnull(b);
  g_assert_cmpuint(a->n_nodes, ==, b->n_nodes);
  g_assert_cmpuint(a->n_values, ==, b->n_values);
  for (uint32_t i = 0; i < a->n_nodes; i++) {
    g_assert_cmpstr(a->nodes[i]->name, ==, b->nodes[i]->name);
    g_assert_cmpstr(a->nodes[i]->op_type, ==, b->nodes[i]->op_type);
  }
  uint32_t inits = 0;
  for (uint32_t i = 0; i < a->n_values; i++) {
    const MscValue *va = a->values[i], *vb = b->values[i];
    g_assert_cmpstr(va->name, ==, vb->name);
    if (!(va->flags & MSC_VALUE_INITIALIZER)) continue;
    inits++;
    assert_bitwise_equal(va->value, vb->value);
  }
  g_assert_cmpuint(inits, >, 20);
}

static void test_zoo_well_formed(gconstpointer data) {
  const char *name = data;
  g_test_summary("every node and value is named (uniquely), every node has a doc string, the graph has "
                 "metadata, the input has the symbolic batch dim N, weights are non-trivial");
  g_autoptr(MscGraph) g = msc_zoo_build(name, NULL);
  g_assert_nonnull(g);
  g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    g_assert_cmpuint(strlen(n->name), >, 0);
    g_assert_false(g_hash_table_contains(seen, n->name));
    g_hash_table_add(seen, n->name);
    g_assert_nonnull(n->doc);
    g_assert_cmpuint(strlen(n->doc), >, 5);
    g_assert_cmpint(n->opset, ==, msc_graph_opset(g, ""));
    for (uint32_t k = 0; k < n->n_inputs; k++) g_assert_nonnull(n->inputs[k]);
  }
  for (uint32_t i = 0; i < g->n_values; i++) g_assert_cmpuint(strlen(g->values[i]->name), >, 0);
  g_assert_nonnull(g->doc);
  g_assert_cmpstr(g->producer_name, ==, "msc-zoo");
  g_assert_cmpint(g->ir_version, >=, 7);
  g_assert_cmpuint(g->n_inputs, ==, 1);
  g_assert_cmpuint(g->n_outputs, ==, 1);
  const MscValue *in = g->inputs[0];
  g_assert_cmpstr(in->name, ==, "input");
  g_assert_cmpint(in->dtype, ==, MSC_DTYPE_FLOAT32);
  g_assert_cmpint(in->rank, ==, 4);
  g_assert_cmpint(in->dims[0], ==, -1);
  g_assert_cmpstr(in->dim_params[0], ==, "N");
  g_assert_cmpint(in->dims[1], ==, 3);
  g_assert_cmpint(in->dims[2], ==, 64);
  g_assert_cmpint(in->dims[3], ==, 64);
  /* BatchNorm parameters are not the trivial 1/0/0/1 */
  uint32_t bns = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (strcmp(n->op_type, "BatchNormalization")) continue;
    bns++;
    const MscTensor *scale = n->inputs[1]->value, *mean = n->inputs[3]->value, *var = n->inputs[4]->value;
    g_assert_nonnull(scale);
    gboolean gamma_varies = FALSE, mean_nonzero = FALSE, var_not_one = FALSE;
    for (int64_t c = 0; c < msc_tensor_numel(scale); c++) {
      float s = ((float *)scale->data)[c], m = ((float *)mean->data)[c], v = ((float *)var->data)[c];
      g_assert_cmpfloat(v, >, 0.0f);
      g_assert_cmpfloat(s, >, 0.0f);
      gamma_varies |= fabsf(s - 1.0f) > 0.01f;
      mean_nonzero |= m != 0.0f;
      var_not_one |= fabsf(v - 1.0f) > 0.01f;
    }
    g_assert_true(gamma_varies);
    g_assert_true(mean_nonzero);
    g_assert_true(var_not_one);
  }
  g_assert_cmpuint(bns, >=, 8);
}

static void test_zoo_resnet_structure(void) {
  g_test_summary("resnet_mini: opset 13, stem conv/bn/relu + maxpool, 4 residual adds, 2 projection shortcuts "
                 "(1x1 stride 2), GAP/Flatten/Gemm to 'logits'");
  g_autoptr(MscGraph) g = msc_zoo_build("resnet_mini", NULL);
  g_assert_cmpint(msc_graph_opset(g, ""), ==, 13);
  g_assert_cmpuint(count_op(g, "Add"), ==, 4);
  g_assert_cmpuint(count_op(g, "MaxPool"), ==, 1);
  g_assert_cmpuint(count_op(g, "GlobalAveragePool"), ==, 1);
  g_assert_cmpuint(count_op(g, "Flatten"), ==, 1);
  g_assert_cmpuint(count_op(g, "Gemm"), ==, 1);
  g_assert_cmpuint(count_op(g, "Conv"), ==, count_op(g, "BatchNormalization"));
  g_assert_true(has_node_named(g, "layer2.0.downsample.conv"));
  g_assert_true(has_node_named(g, "layer3.0.downsample.conv"));
  g_assert_false(has_node_named(g, "layer1.0.downsample.conv"));
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (!strcmp(n->name, "layer3.0.downsample.conv")) {
      const MscTensor *w = n->inputs[1]->value;
      g_assert_cmpint(w->dims[0], ==, 64);
      g_assert_cmpint(w->dims[1], ==, 32);
      g_assert_cmpint(w->dims[2], ==, 1);
    }
  }
  g_assert_cmpstr(g->outputs[0]->name, ==, "logits");
}

static void test_zoo_mobilenet_structure(void) {
  g_test_summary("mobilenet_mini: opset 14, depthwise convs (group = channels), Clip(0,6) with min/max inputs, "
                 "HardSwish, 2 residual adds, Softmax to 'probs'");
  g_autoptr(MscGraph) g = msc_zoo_build("mobilenet_mini", NULL);
  g_assert_cmpint(msc_graph_opset(g, ""), ==, 14);
  uint32_t depthwise = 0, dw_stride2 = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (!strcmp(n->op_type, "Conv") && attr_i(n, "group", 1) > 1) {
      const MscTensor *w = n->inputs[1]->value;
      g_assert_cmpint(attr_i(n, "group", 1), ==, w->dims[0]);
      g_assert_cmpint(w->dims[1], ==, 1);
      depthwise++;
      for (uint32_t k = 0; k < n->n_attrs; k++)
        if (!strcmp(n->attrs[k].name, "strides")) dw_stride2 += n->attrs[k].ints[0] == 2;
    }
    if (!strcmp(n->op_type, "Clip")) {
      g_assert_cmpuint(n->n_inputs, ==, 3);
      g_assert_cmpfloat(((float *)n->inputs[1]->value->data)[0], ==, 0.0f);
      g_assert_cmpfloat(((float *)n->inputs[2]->value->data)[0], ==, 6.0f);
      g_assert_cmpint(n->inputs[2]->value->rank, ==, 0);
    }
  }
  g_assert_cmpuint(depthwise, ==, 4);
  g_assert_cmpuint(dw_stride2, ==, 2);
  g_assert_cmpuint(count_op(g, "Clip"), ==, 8);
  g_assert_cmpuint(count_op(g, "HardSwish"), ==, 2);
  g_assert_cmpuint(count_op(g, "Add"), ==, 2);
  g_assert_cmpuint(count_op(g, "Softmax"), ==, 1);
  g_assert_cmpstr(g->outputs[0]->name, ==, "probs");
}

static void test_zoo_verify(gconstpointer data) {
  const char *name = data;
  g_test_summary("a zoo model verifies; inference gives [N,10] outputs; weights < 1 MB; 5..40 MFLOPs at batch 1");
  g_autoptr(MscGraph) g = build_verified(name);
  const MscValue *out = g->outputs[0];
  g_assert_cmpint(out->dtype, ==, MSC_DTYPE_FLOAT32);
  g_assert_cmpint(out->rank, ==, 2);
  g_assert_cmpint(out->dims[0], ==, -1);
  g_assert_cmpint(out->dims[1], ==, 10);
  for (uint32_t i = 0; i < g->n_values; i++) {
    g_assert_cmpint(g->values[i]->dtype, ==, MSC_DTYPE_FLOAT32);
    g_assert_cmpint(g->values[i]->rank, >=, 0);
  }
  int64_t params = msc_graph_param_count(g);
  g_assert_cmpint(params * 4, <, 1 << 20);
  g_assert_cmpint(params, >, 10000);

  /* FLOPs need concrete shapes: fix the batch at 1. */
  g_autoptr(MscGraph) g1 = msc_zoo_build(name, NULL);
  g1->inputs[0]->dims[0] = 1;
  GError *e = NULL;
  msc_graph_verify(g1, &e);
  g_assert_no_error(e);
  int64_t flops = msc_graph_flops(g1);
  g_test_message("%s: %" G_GINT64_FORMAT " params, %.2f MFLOPs", name, params, flops / 1e6);
  g_assert_cmpint(flops, >, 5000000);
  g_assert_cmpint(flops, <, 40000000);
}

/* ---------------------------------------------------------------------- */
/* ref runner through the session API                                      */

static void test_ref_output_shape(gconstpointer data) {
  const char *name = data;
  g_test_summary("a zoo model runs on ref at batch 1 and 3: output [B,10], finite, not constant");
  NEED_REF();
  g_autoptr(MscGraph) g = build_verified(name);
  for (int64_t batch = 1; batch <= 3; batch += 2) {
    g_autoptr(MscTensor) in = make_input(g, batch, 1);
    GError *e = NULL;
    MscTensor **out = run_ref(g, in, NULL, &e);
    g_assert_no_error(e);
    const MscTensor *t = out[0];
    g_assert_cmpint(t->dtype, ==, MSC_DTYPE_FLOAT32);
    g_assert_cmpint(t->rank, ==, 2);
    g_assert_cmpint(t->dims[0], ==, batch);
    g_assert_cmpint(t->dims[1], ==, 10);
    const float *p = t->data;
    float lo = p[0], hi = p[0];
    for (int64_t i = 0; i < msc_tensor_numel(t); i++) {
      g_assert_true(isfinite(p[i]));
      lo = MIN(lo, p[i]);
      hi = MAX(hi, p[i]);
    }
    g_assert_cmpfloat(hi - lo, >, 1e-3);
    free_outputs(out, g->n_outputs);
  }
}

static void test_ref_deterministic(gconstpointer data) {
  const char *name = data;
  g_test_summary("two runs on one session and a run on a fresh session give bitwise equal outputs");
  NEED_REF();
  g_autoptr(MscGraph) g = build_verified(name);
  g_autoptr(MscTensor) in = make_input(g, 2, 42);
  const MscTensor *ins[1] = {in};
  GError *e = NULL;
  MscSession *s = msc_session_new(g, "ref", NULL, &e);
  g_assert_no_error(e);
  MscTensor **a = NULL, **b = NULL;
  msc_session_run(s, ins, 1, &a, NULL, &e);
  g_assert_no_error(e);
  msc_session_run(s, ins, 1, &b, NULL, &e);
  g_assert_no_error(e);
  msc_session_free(s);
  MscTensor **c = run_ref(g, in, NULL, &e);
  g_assert_no_error(e);
  assert_bitwise_equal(a[0], b[0]);
  assert_bitwise_equal(a[0], c[0]);
  free_outputs(a, 1);
  free_outputs(b, 1);
  free_outputs(c, 1);
}

static void test_ref_batch_split(gconstpointer data) {
  const char *name = data;
  g_test_summary("a batch-2 run equals the two batch-1 runs of its halves (rtol 1e-5)");
  NEED_REF();
  g_autoptr(MscGraph) g = build_verified(name);
  g_autoptr(MscTensor) in2 = make_input(g, 2, 7);
  GError *e = NULL;
  MscTensor **o2 = run_ref(g, in2, NULL, &e);
  g_assert_no_error(e);
  size_t half = in2->nbytes / 2;
  for (int b = 0; b < 2; b++) {
    g_autoptr(MscTensor) in1 = make_input(g, 1, 0);
    memcpy(in1->data, (char *)in2->data + b * half, half);
    MscTensor **o1 = run_ref(g, in1, NULL, &e);
    g_assert_no_error(e);
    const float *p1 = o1[0]->data, *p2 = (const float *)o2[0]->data + b * 10;
    for (int i = 0; i < 10; i++) g_assert_cmpfloat_with_epsilon(p1[i], p2[i], 1e-6 + 1e-5 * fabsf(p2[i]));
    free_outputs(o1, 1);
  }
  /* and the halves differ, so the comparison could fail */
  const float *p = o2[0]->data;
  float diff = 0;
  for (int i = 0; i < 10; i++) diff = MAX(diff, fabsf(p[i] - p[10 + i]));
  g_assert_cmpfloat(diff, >, 1e-4);
  free_outputs(o2, 1);
}

static void test_ref_softmax(void) {
  g_test_summary("mobilenet_mini's probs are in [0,1], sum to 1 per row, and are not saturated");
  NEED_REF();
  g_autoptr(MscGraph) g = build_verified("mobilenet_mini");
  g_autoptr(MscTensor) in = make_input(g, 4, 3);
  GError *e = NULL;
  MscTensor **out = run_ref(g, in, NULL, &e);
  g_assert_no_error(e);
  const float *p = out[0]->data;
  for (int b = 0; b < 4; b++) {
    double sum = 0, mx = 0;
    for (int i = 0; i < 10; i++) {
      float v = p[b * 10 + i];
      g_assert_cmpfloat(v, >=, 0.0f);
      g_assert_cmpfloat(v, <=, 1.0f);
      sum += v;
      mx = MAX(mx, v);
    }
    g_assert_cmpfloat_with_epsilon(sum, 1.0, 1e-5);
    g_assert_cmpfloat(mx, <, 0.99); /* well-scaled weights: no one-hot output */
  }
  free_outputs(out, 1);
}

typedef struct {
  const MscGraph *g;
  GArray *events; /* pairs (phase, node index) */
  int stop_phase;  /* -1 never */
  uint32_t stop_node;
  double min_rms, max_rms;
  gboolean all_finite, outputs_ok, inputs_ok;
} HookLog;

static int record_hook(void *user, MscHookPhase phase, const MscNode *node, const MscTensor *const *inputs,
                       uint32_t n_inputs, const MscTensor *const *outputs, uint32_t n_outputs, double elapsed_ms) {
  HookLog *l = user;
  int ev[2] = {(int)phase, (int)node->index};
  g_array_append_vals(l->events, ev, 2);
  if (node != l->g->nodes[node->index]) l->inputs_ok = FALSE;
  if (n_inputs != node->n_inputs) l->inputs_ok = FALSE;
  for (uint32_t k = 0; k < n_inputs; k++)
    if (!inputs[k] || !inputs[k]->data) l->inputs_ok = FALSE;
  if (phase == MSC_HOOK_BEFORE && (outputs || n_outputs)) l->outputs_ok = FALSE;
  if (phase == MSC_HOOK_AFTER) {
    if (n_outputs != node->n_outputs || !outputs || !outputs[0] || elapsed_ms < 0) {
      l->outputs_ok = FALSE;
    } else {
      const MscTensor *t = outputs[0];
      const float *p = t->data;
      double ss = 0;
      int64_t n = msc_tensor_numel(t);
      for (int64_t i = 0; i < n; i++) {
        if (!isfinite(p[i])) l->all_finite = FALSE;
        ss += (double)p[i] * p[i];
      }
      double rms = sqrt(ss / MAX(n, 1));
      l->min_rms = MIN(l->min_rms, rms);
      l->max_rms = MAX(l->max_rms, rms);
    }
  }
  return (int)phase == l->stop_phase && node->index == l->stop_node;
}

static HookLog hook_log_new(const MscGraph *g) {
  HookLog l = {g, g_array_new(FALSE, FALSE, sizeof(int)), -1, 0, INFINITY, 0, TRUE, TRUE, TRUE};
  return l;
}

static void test_ref_hook_order(gconstpointer data) {
  const char *name = data;
  g_test_summary("the node hook sees BEFORE then AFTER for every node in graph order, with inputs, outputs and "
                 "time; every activation is finite with RMS in [0.01, 100]");
  NEED_REF();
  g_autoptr(MscGraph) g = build_verified(name);
  g_autoptr(MscTensor) in = make_input(g, 1, 5);
  HookLog l = hook_log_new(g);
  MscRunHooks hooks = {record_hook, &l};
  GError *e = NULL;
  MscTensor **out = run_ref(g, in, &hooks, &e);
  g_assert_no_error(e);
  g_assert_cmpuint(l.events->len, ==, 4 * g->n_nodes);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    g_assert_cmpint(g_array_index(l.events, int, 4 * i), ==, MSC_HOOK_BEFORE);
    g_assert_cmpint(g_array_index(l.events, int, 4 * i + 1), ==, (int)i);
    g_assert_cmpint(g_array_index(l.events, int, 4 * i + 2), ==, MSC_HOOK_AFTER);
    g_assert_cmpint(g_array_index(l.events, int, 4 * i + 3), ==, (int)i);
  }
  g_assert_true(l.inputs_ok);
  g_assert_true(l.outputs_ok);
  g_assert_true(l.all_finite);
  g_test_message("%s: activation RMS range [%g, %g]", name, l.min_rms, l.max_rms);
  g_assert_cmpfloat(l.min_rms, >, 0.01);
  g_assert_cmpfloat(l.max_rms, <, 100.0);
  g_array_unref(l.events);
  free_outputs(out, 1);
}

static void test_ref_hook_stop(void) {
  g_test_summary("a hook returning non-zero (before or after a node) stops the run with a message naming the "
                 "node; no later node runs");
  NEED_REF();
  g_autoptr(MscGraph) g = build_verified("resnet_mini");
  g_autoptr(MscTensor) in = make_input(g, 1, 5);
  for (int phase = MSC_HOOK_BEFORE; phase <= MSC_HOOK_AFTER; phase++) {
    HookLog l = hook_log_new(g);
    l.stop_phase = phase;
    l.stop_node = 5;
    MscRunHooks hooks = {record_hook, &l};
    GError *e = NULL;
    MscTensor **out = run_ref(g, in, &hooks, &e);
    g_assert_null(out);
    g_assert_error(e, MSC_ERROR, MSC_ERR_INTERNAL);
    g_autofree char *want = g_strdup_printf("node '%s'", g->nodes[5]->name);
    g_assert_nonnull(strstr(e->message, want));
    g_assert_nonnull(strstr(e->message, "stopped by hook"));
    g_error_free(e);
    /* 5 full nodes, then node 5's BEFORE (and AFTER) */
    g_assert_cmpuint(l.events->len, ==, 2 * (2 * 5 + 1 + phase));
    g_array_unref(l.events);
  }
}

static void test_ref_bad_inputs(void) {
  g_test_summary("wrong shape, wrong dtype, a missing (NULL) input and a wrong input count are refused with "
                 "messages naming the input and the values");
  NEED_REF();
  g_autoptr(MscGraph) g = build_verified("resnet_mini");
  GError *e = NULL;
  MscSession *s = msc_session_new(g, "ref", NULL, &e);
  g_assert_no_error(e);
  MscTensor **out = NULL;

  int64_t small[4] = {1, 3, 32, 32};
  g_autoptr(MscTensor) t1 = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, small, NULL);
  const MscTensor *in1[1] = {t1};
  g_assert_false(msc_session_run(s, in1, 1, &out, NULL, &e));
  g_assert_error(e, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(e->message, "input 'input'"));
  g_assert_nonnull(strstr(e->message, "[1,3,32,32]"));
  g_test_message("%s", e->message);
  g_clear_error(&e);

  int64_t good[4] = {1, 3, 64, 64};
  g_autoptr(MscTensor) t2 = msc_tensor_new(MSC_DTYPE_INT64, 4, good, NULL);
  const MscTensor *in2[1] = {t2};
  g_assert_false(msc_session_run(s, in2, 1, &out, NULL, &e));
  g_assert_error(e, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(e->message, "input 'input'"));
  g_assert_nonnull(strstr(e->message, "int64"));
  g_assert_nonnull(strstr(e->message, "float32"));
  g_test_message("%s", e->message);
  g_clear_error(&e);

  const MscTensor *in3[1] = {NULL};
  g_assert_false(msc_session_run(s, in3, 1, &out, NULL, &e));
  g_assert_error(e, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(e->message, "input 'input'"));
  g_test_message("%s", e->message);
  g_clear_error(&e);

  int64_t rank3[3] = {3, 64, 64};
  g_autoptr(MscTensor) t4 = msc_tensor_new(MSC_DTYPE_FLOAT32, 3, rank3, NULL);
  const MscTensor *in4[1] = {t4};
  g_assert_false(msc_session_run(s, in4, 1, &out, NULL, &e));
  g_assert_error(e, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(e->message, "input 'input'"));
  g_clear_error(&e);

  g_assert_false(msc_session_run(s, NULL, 0, &out, NULL, &e));
  g_assert_error(e, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_test_message("%s", e->message);
  g_clear_error(&e);
  g_assert_null(out);
  msc_session_free(s);
}

static void test_ref_unknown_runner(void) {
  g_test_summary("a session on an unregistered runner fails naming the runner");
  g_autoptr(MscGraph) g = msc_zoo_build("resnet_mini", NULL);
  GError *e = NULL;
  MscSession *s = msc_session_new(g, "no_such_runner", NULL, &e);
  g_assert_null(s);
  g_assert_error(e, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(e->message, "no_such_runner"));
  g_error_free(e);
}

/* ---------------------------------------------------------------------- */
/* ONNX round trip and ONNX Runtime                                        */

static void test_onnx_roundtrip(gconstpointer data) {
  const char *name = data;
  g_test_summary("save as ONNX, load, verify, run: outputs bitwise equal to the in-memory graph's");
  NEED_REF();
  g_autoptr(MscGraph) g = build_verified(name);
  g_autofree char *dir = g_dir_make_tmp("msc-test-runner-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(dir, "model.onnx", NULL);
  GError *e = NULL;
  msc_onnx_save_file(g, path, &e);
  g_assert_no_error(e);
  g_autoptr(MscGraph) g2 = msc_onnx_load_file(path, &e);
  g_assert_no_error(e);
  msc_graph_verify(g2, &e);
  g_assert_no_error(e);
  g_assert_cmpuint(g2->n_nodes, ==, g->n_nodes);
  g_assert_cmpstr(g2->inputs[0]->dim_params[0], ==, "N");
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    g_assert_cmpstr(g2->nodes[i]->name, ==, g->nodes[i]->name);
    g_assert_cmpstr(g2->nodes[i]->doc, ==, g->nodes[i]->doc);
  }
  g_autoptr(MscTensor) in = make_input(g, 2, 11);
  MscTensor **a = run_ref(g, in, NULL, &e);
  g_assert_no_error(e);
  MscTensor **b = run_ref(g2, in, NULL, &e);
  g_assert_no_error(e);
  assert_bitwise_equal(a[0], b[0]);
  free_outputs(a, 1);
  free_outputs(b, 1);
  g_unlink(path);
  g_rmdir(dir);
}

static char *ort_dir(void) {
  const char *d = g_getenv("MSC_BENCH_DIR");
  if (d && *d) return g_strdup(d);
  return g_build_filename(g_get_user_cache_dir(), "msc-bench", NULL);
}

static void test_ort_agrees(gconstpointer data) {
  const char *name = data;
  g_test_summary("ONNX Runtime loads the saved model and its outputs match ref (rtol 1e-4, atol 1e-5)");
  NEED_REF();
  const char *shared = g_getenv("MSC_SHARED_DIR");
  g_autofree char *script = shared ? g_build_filename(shared, "bench", "ort-run.js", NULL) : NULL;
  g_autofree char *node = g_find_program_in_path("node");
  g_autofree char *cache = ort_dir();
  g_autofree char *ort_pkg = g_build_filename(cache, "node_modules", "onnxruntime-node", "package.json", NULL);
  if (!script || !g_file_test(script, G_FILE_TEST_EXISTS) || !node || !g_file_test(ort_pkg, G_FILE_TEST_EXISTS)) {
    g_test_skip("ONNX Runtime not available (needs node, MSC_SHARED_DIR/bench/ort-run.js and "
                "`sh shared/bench/setup-ort.sh`)");
    return;
  }
  g_autoptr(MscGraph) g = build_verified(name);
  g_autofree char *dir = g_dir_make_tmp("msc-test-ort-XXXXXX", NULL);
  g_autofree char *model = g_build_filename(dir, "model.onnx", NULL);
  g_autofree char *input = g_build_filename(dir, "input_0.pb", NULL);
  g_autofree char *output = g_build_filename(dir, "output_0.pb", NULL);
  GError *e = NULL;
  msc_onnx_save_file(g, model, &e);
  g_assert_no_error(e);
  g_autoptr(MscTensor) in = make_input(g, 2, 13);
  msc_tensor_save_pb(in, input, &e);
  g_assert_no_error(e);
  const char *argv[] = {node, script, model, dir, input, NULL};
  g_autofree char *out_text = NULL, *err_text = NULL;
  int status = 0;
  g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out_text, &err_text, &status, &e);
  g_assert_no_error(e);
  if (!g_spawn_check_wait_status(status, NULL)) g_test_message("ort-run.js: %s%s", out_text, err_text);
  g_assert_true(g_spawn_check_wait_status(status, NULL));
  g_autoptr(MscTensor) want = msc_tensor_load_pb(output, &e);
  g_assert_no_error(e);
  MscTensor **got = run_ref(g, in, NULL, &e);
  g_assert_no_error(e);
  g_assert_cmpint(got[0]->rank, ==, want->rank);
  g_assert_cmpint(got[0]->dims[0], ==, want->dims[0]);
  g_assert_cmpint(got[0]->dims[1], ==, want->dims[1]);
  const float *p = got[0]->data, *q = want->data;
  double worst = 0;
  for (int64_t i = 0; i < msc_tensor_numel(want); i++) {
    worst = MAX(worst, fabs((double)p[i] - q[i]));
    g_assert_cmpfloat_with_epsilon(p[i], q[i], 1e-5 + 1e-4 * fabsf(q[i]));
  }
  g_test_message("%s: max |ref - ort| = %g", name, worst);
  free_outputs(got, 1);
  g_unlink(output);
  g_unlink(input);
  g_unlink(model);
  g_rmdir(dir);
}

/* ---------------------------------------------------------------------- */
/* the public API (msc.h)                                                  */

static void test_api_version_init(void) {
  g_test_summary("msc_version is the build's version; msc_init succeeds and is idempotent; msc_status_name");
  g_assert_cmpstr(msc_version(), ==, MSC_VERSION);
  char *err = (char *)"unchanged";
  g_assert_cmpint(msc_init(&err), ==, MSC_OK);
  g_assert_null(err);
  g_assert_cmpint(msc_init(NULL), ==, MSC_OK);
  g_assert_cmpstr(msc_status_name(MSC_ERR_IO), ==, "i/o error");
}

static void test_api_run(gconstpointer data) {
  const char *name = data;
  g_test_summary("zoo model through the public API: create, run, outputs equal the session API's; freeing the "
                 "model before the session is safe");
  NEED_REF();
  char *err = NULL;
  MscModel *model = NULL;
  g_assert_cmpint(msc_model_zoo(name, &model, &err), ==, MSC_OK);
  g_assert_null(err);
  const MscGraph *g = msc_model_graph(model);
  g_assert_nonnull(g);
  MscSessionHandle *sess = NULL;
  g_assert_cmpint(msc_session_create(model, NULL, &sess, &err), ==, MSC_OK);
  g_assert_nonnull(sess);

  int64_t dims[4] = {1, 3, 64, 64};
  MscTensor *in = msc_tensor_create(MSC_DTYPE_FLOAT32, 4, dims, &err);
  g_assert_nonnull(in);
  g_autoptr(MscTensor) ref_in = make_input(g, 1, 21);
  memcpy(in->data, ref_in->data, in->nbytes);
  GError *e = NULL;
  MscTensor **want = run_ref(g, ref_in, NULL, &e);
  g_assert_no_error(e);

  msc_model_free(model); /* the session keeps it alive */
  const MscTensor *ins[1] = {in};
  MscTensor **outs = NULL;
  uint32_t n_outs = 0;
  g_assert_cmpint(msc_session_execute(sess, ins, 1, &outs, &n_outs, &err), ==, MSC_OK);
  g_assert_null(err);
  g_assert_cmpuint(n_outs, ==, 1);
  assert_bitwise_equal(outs[0], want[0]);
  for (uint32_t i = 0; i < n_outs; i++) msc_tensor_destroy(outs[i]);
  msc_free(outs);
  free_outputs(want, 1);
  msc_tensor_destroy(in);
  msc_session_destroy(sess);
}

static int api_stop_hook(void *user, MscHookPhase phase, const MscNode *node, const MscTensor *const *inputs,
                         uint32_t n_inputs, const MscTensor *const *outputs, uint32_t n_outputs, double ms) {
  int *calls = user;
  (*calls)++;
  return phase == MSC_HOOK_AFTER && node->index == 2;
}

static void test_api_errors(void) {
  g_test_summary("public API errors: status + one-line message naming the thing; out-params cleared; NULL "
                 "arguments refused, not crashing");
  NEED_REF();
  char *err = NULL;
  MscModel *model = (MscModel *)0x1;

  g_assert_cmpint(msc_model_zoo("nope", &model, &err), ==, MSC_ERR_INVALID_ARG);
  g_assert_null(model);
  g_assert_nonnull(strstr(err, "'nope'"));
  msc_free(err);

  g_assert_cmpint(msc_model_load("/nonexistent/dir/m.onnx", &model, &err), ==, MSC_ERR_IO);
  g_assert_nonnull(strstr(err, "/nonexistent/dir/m.onnx"));
  msc_free(err);

  g_autofree char *dir = g_dir_make_tmp("msc-test-api-XXXXXX", NULL);
  g_autofree char *junk = g_build_filename(dir, "junk.onnx", NULL);
  g_assert_true(g_file_set_contents(junk, "\xff\xff\xff\xff this is not protobuf", -1, NULL));
  g_assert_cmpint(msc_model_load(junk, &model, &err), ==, MSC_ERR_CORRUPT);
  g_assert_nonnull(err);
  g_test_message("%s", err);
  msc_free(err);
  g_unlink(junk);
  g_rmdir(dir);

  g_assert_cmpint(msc_model_load(NULL, &model, &err), ==, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err, "path"));
  msc_free(err);
  g_assert_cmpint(msc_model_save(NULL, "x.onnx", NULL), ==, MSC_ERR_INVALID_ARG);
  g_assert_null(msc_model_graph(NULL));
  msc_model_free(NULL);
  msc_session_destroy(NULL);
  msc_tensor_destroy(NULL);
  msc_free(NULL);

  g_assert_cmpint(msc_model_zoo("resnet_mini", &model, NULL), ==, MSC_OK);
  MscSessionHandle *sess = (MscSessionHandle *)0x1;
  g_assert_cmpint(msc_session_create(model, "no_such_runner", &sess, &err), ==, MSC_ERR_INVALID_ARG);
  g_assert_null(sess);
  g_assert_nonnull(strstr(err, "no_such_runner"));
  msc_free(err);
  g_assert_cmpint(msc_session_create(NULL, "ref", &sess, &err), ==, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err, "model"));
  msc_free(err);

  g_assert_cmpint(msc_session_create(model, "ref", &sess, NULL), ==, MSC_OK);
  MscTensor **outs = (MscTensor **)0x1;
  uint32_t n = 99;
  g_assert_cmpint(msc_session_execute(sess, NULL, 0, &outs, &n, &err), ==, MSC_ERR_INVALID_ARG);
  g_assert_null(outs);
  g_assert_cmpuint(n, ==, 0);
  g_assert_nonnull(strstr(err, "input 'input'"));
  g_test_message("%s", err);
  msc_free(err);
  g_assert_cmpint(msc_session_execute(sess, NULL, 1, &outs, &n, &err), ==, MSC_ERR_INVALID_ARG);
  msc_free(err);

  int64_t bad[4] = {1, 3, 64, 65};
  MscTensor *t = msc_tensor_create(MSC_DTYPE_FLOAT32, 4, bad, NULL);
  const MscTensor *ins[1] = {t};
  g_assert_cmpint(msc_session_execute(sess, ins, 1, &outs, &n, &err), ==, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err, "input 'input'"));
  g_assert_nonnull(strstr(err, "[1,3,64,65]"));
  msc_free(err);
  msc_tensor_destroy(t);

  int64_t good[4] = {1, 3, 64, 64};
  t = msc_tensor_create(MSC_DTYPE_FLOAT32, 4, good, NULL);
  ins[0] = t;
  int calls = 0;
  g_assert_cmpint(msc_session_set_node_hook(sess, api_stop_hook, &calls), ==, MSC_OK);
  g_assert_cmpint(msc_session_execute(sess, ins, 1, &outs, &n, &err), ==, MSC_ERR_INTERNAL);
  g_assert_nonnull(strstr(err, "stopped by hook"));
  g_assert_cmpint(calls, ==, 6);
  msc_free(err);
  g_assert_cmpint(msc_session_set_node_hook(sess, NULL, NULL), ==, MSC_OK);
  g_assert_cmpint(msc_session_execute(sess, ins, 1, &outs, &n, &err), ==, MSC_OK);
  g_assert_cmpuint(n, ==, 1);
  msc_tensor_destroy(outs[0]);
  msc_free(outs);
  msc_tensor_destroy(t);
  g_assert_cmpint(msc_session_set_node_hook(NULL, NULL, NULL), ==, MSC_ERR_INVALID_ARG);
  msc_session_destroy(sess);
  msc_model_free(model);

  int64_t neg[2] = {2, -3};
  g_assert_null(msc_tensor_create(MSC_DTYPE_FLOAT32, 2, neg, &err));
  g_assert_nonnull(strstr(err, "[2,"));
  msc_free(err);
  g_assert_null(msc_tensor_create(MSC_DTYPE_FLOAT32, 9, good, &err));
  g_assert_nonnull(strstr(err, "rank 9"));
  msc_free(err);
  g_assert_null(msc_tensor_create(MSC_DTYPE_FLOAT32, 2, NULL, &err));
  g_assert_nonnull(strstr(err, "dims"));
  msc_free(err);
  MscTensor *scalar = msc_tensor_create(MSC_DTYPE_INT64, 0, NULL, &err);
  g_assert_nonnull(scalar);
  g_assert_cmpuint(scalar->nbytes, ==, 8);
  msc_tensor_destroy(scalar);
}

static void test_api_save_load(void) {
  g_test_summary("msc_model_save then msc_model_load (file and buffer) gives a model whose outputs are bitwise "
                 "equal; msc_tensor_write/read round-trip .npy and .pb");
  NEED_REF();
  char *err = NULL;
  MscModel *m1 = NULL, *m2 = NULL, *m3 = NULL;
  g_assert_cmpint(msc_model_zoo("mobilenet_mini", &m1, &err), ==, MSC_OK);
  g_autofree char *dir = g_dir_make_tmp("msc-test-api-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(dir, "m.onnx", NULL);
  g_autofree char *npy = g_build_filename(dir, "x.npy", NULL);
  g_autofree char *pb = g_build_filename(dir, "x.pb", NULL);
  g_assert_cmpint(msc_model_save(m1, path, &err), ==, MSC_OK);
  g_assert_null(err);
  g_assert_cmpint(msc_model_load(path, &m2, &err), ==, MSC_OK);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(path, &bytes, &len, NULL));
  g_assert_cmpint(msc_model_load_buffer(bytes, len, &m3, &err), ==, MSC_OK);

  g_autoptr(MscTensor) in = make_input(msc_model_graph(m1), 1, 9);
  g_assert_cmpint(msc_tensor_write(in, npy, &err), ==, MSC_OK);
  g_assert_cmpint(msc_tensor_write(in, pb, &err), ==, MSC_OK);
  MscTensor *in_npy = NULL, *in_pb = NULL;
  g_assert_cmpint(msc_tensor_read(npy, &in_npy, &err), ==, MSC_OK);
  g_assert_cmpint(msc_tensor_read(pb, &in_pb, &err), ==, MSC_OK);
  assert_bitwise_equal(in_npy, in);
  assert_bitwise_equal(in_pb, in);

  MscModel *models[3] = {m1, m2, m3};
  const MscTensor *ins[1] = {in_npy};
  MscTensor **first = NULL;
  for (int i = 0; i < 3; i++) {
    MscSessionHandle *s = NULL;
    g_assert_cmpint(msc_session_create(models[i], "ref", &s, &err), ==, MSC_OK);
    MscTensor **outs = NULL;
    g_assert_cmpint(msc_session_execute(s, ins, 1, &outs, NULL, &err), ==, MSC_OK);
    if (!first) {
      first = outs;
    } else {
      assert_bitwise_equal(outs[0], first[0]);
      msc_tensor_destroy(outs[0]);
      msc_free(outs);
    }
    msc_session_destroy(s);
    msc_model_free(models[i]);
  }
  msc_tensor_destroy(first[0]);
  msc_free(first);
  msc_tensor_destroy(in_npy);
  msc_tensor_destroy(in_pb);
  g_unlink(path);
  g_unlink(npy);
  g_unlink(pb);
  g_rmdir(dir);
}

/* ---------------------------------------------------------------------- */

static void add_per_model(const char *path_fmt, GTestDataFunc fn) {
  for (const char *const *n = msc_zoo_names(); *n; n++) {
    g_autofree char *mangled = g_strdelimit(g_strdup(*n), "_", '-');
    g_autofree char *path = g_strdup_printf(path_fmt, mangled);
    g_test_add_data_func(path, *n, fn);
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  GError *e = NULL;
  if (!msc_ops_register_builtins(&e) || !msc_plugins_load_all(&e)) {
    g_printerr("test-runner: init: %s\n", e->message);
    return 1;
  }
  have_ref = msc_registry_get("msc.runner.ref", MSC_REG_RUNNER, TRUE, NULL) != NULL;
  if (!have_ref) g_printerr("# msc.runner.ref is missing: runner tests will be skipped\n");

  g_test_add_func("/runner/zoo/names", test_zoo_names);
  add_per_model("/runner/zoo/%s/deterministic", test_zoo_deterministic);
  add_per_model("/runner/zoo/%s/well-formed", test_zoo_well_formed);
  g_test_add_func("/runner/zoo/resnet-mini/structure", test_zoo_resnet_structure);
  g_test_add_func("/runner/zoo/mobilenet-mini/structure", test_zoo_mobilenet_structure);
  add_per_model("/runner/zoo/%s/verify", test_zoo_verify);
  add_per_model("/runner/ref/%s/output-shape", test_ref_output_shape);
  add_per_model("/runner/ref/%s/deterministic", test_ref_deterministic);
  add_per_model("/runner/ref/%s/batch-2-equals-two-batch-1", test_ref_batch_split);
  g_test_add_func("/runner/ref/mobilenet-mini/softmax-sums-to-one", test_ref_softmax);
  add_per_model("/runner/ref/%s/hook-order", test_ref_hook_order);
  g_test_add_func("/runner/ref/hook-stop", test_ref_hook_stop);
  g_test_add_func("/runner/ref/bad-inputs", test_ref_bad_inputs);
  g_test_add_func("/runner/session/unknown-runner", test_ref_unknown_runner);
  add_per_model("/runner/onnx/%s/roundtrip", test_onnx_roundtrip);
  add_per_model("/runner/ort/%s/agrees", test_ort_agrees);
  g_test_add_func("/runner/api/version-init", test_api_version_init);
  add_per_model("/runner/api/%s/run", test_api_run);
  g_test_add_func("/runner/api/errors", test_api_errors);
  g_test_add_func("/runner/api/save-load", test_api_save_load);
  return g_test_run();
}
