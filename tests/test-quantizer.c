/* test-quantizer.c: the quantizer tool plugin (plugins/tools/quantizer):
 * calibration methods against hand-computed values (calib.c is compiled
 * in), per-channel axes and int32 biases of the rewrite, selection
 * (exclude, keep_first), option errors, the plan file round trip, and QDQ
 * models of the demo CNNs staying close to float on the ref runner. */
#include <math.h>
#include <string.h>

#include "error.h"
#include "msc.h"
#include "graph.h"
#include "onnx.h"
#include "plugin.h"
#include "tensor.h"
#include "worker.h"
#include "zoo.h"

#include "../plugins/tools/quantizer/calib.c"

static char *tmp_dir;

/* ---- calibration ------------------------------------------------------------------------- */

static void test_calib_minmax(void) {
  g_test_summary("min-max and its moving average follow the data; the histogram keeps every value when it grows");
  MscQHist h;
  msc_qhist_init(&h);
  float a[4] = {0.5f, 1.0f, 2.0f, 0.25f}, b[3] = {-8.0f, 3.0f, NAN};
  msc_qhist_add(&h, a, 4);
  msc_qhist_add(&h, b, 3);
  g_assert_cmpfloat(h.min, ==, -8.0);
  g_assert_cmpfloat(h.max, ==, 3.0);
  g_assert_cmpint(h.n, ==, 6);
  g_assert_cmpint(h.n_nonfinite, ==, 1);
  double total = 0;
  for (int i = 0; i < MSC_QHIST_BINS; i++) total += h.bins[i];
  g_assert_cmpfloat(total, ==, 6.0); /* re-binning lost nothing */
  /* EMA: first batch [0.25, 2], then 0.01 towards [-8, 3] */
  g_assert_cmpfloat_with_epsilon(h.ema_min, 0.25 + 0.01 * (-8.0 - 0.25), 1e-12);
  g_assert_cmpfloat_with_epsilon(h.ema_max, 2.0 + 0.01 * (3.0 - 2.0), 1e-12);
  double lo, hi;
  g_assert_true(msc_qhist_range(&h, MSC_QCALIB_MINMAX, 99.99, FALSE, 0, 255, FALSE, &lo, &hi));
  g_assert_cmpfloat(lo, ==, -8.0);
  g_assert_cmpfloat(hi, ==, 3.0);
  g_assert_true(msc_qhist_range(&h, MSC_QCALIB_MINMAX, 99.99, TRUE, 0, 255, FALSE, &lo, &hi));
  g_assert_cmpfloat(lo, ==, 0.0); /* the EMA minimum 0.1675 > 0: the range is widened to hold 0 */
  g_assert_cmpfloat_with_epsilon(hi, h.ema_max, 1e-12);
  MscQHist e;
  msc_qhist_init(&e);
  g_assert_false(msc_qhist_range(&e, MSC_QCALIB_MINMAX, 99.99, FALSE, 0, 255, FALSE, &lo, &hi));
}

static void test_calib_qparams(void) {
  g_test_summary("scale and zero point as ONNX Runtime's compute_scale_zp");
  float s;
  int32_t z;
  msc_qparams_compute(-1.0, 3.0, 0, 255, FALSE, &s, &z);
  g_assert_cmpfloat_with_epsilon(s, 4.0 / 255, 1e-7);
  g_assert_cmpint(z, ==, 64); /* round(1 / (4/255)) = round(63.75) */
  msc_qparams_compute(0.5, 2.0, 0, 255, FALSE, &s, &z); /* widened to contain 0 */
  g_assert_cmpfloat_with_epsilon(s, 2.0 / 255, 1e-7);
  g_assert_cmpint(z, ==, 0);
  msc_qparams_compute(-2.0, 1.0, -127, 127, TRUE, &s, &z);
  g_assert_cmpfloat_with_epsilon(s, 4.0 / 254, 1e-7);
  g_assert_cmpint(z, ==, 0);
  msc_qparams_compute(-2.0, 1.0, 0, 255, TRUE, &s, &z);
  g_assert_cmpint(z, ==, 128); /* round(127.5), half to even */
  msc_qparams_compute(0, 0, 0, 255, FALSE, &s, &z);
  g_assert_cmpfloat(s, ==, 1.0f);
  g_assert_cmpint(z, ==, 0);
}

/* 100000 values uniform on [0, 1) plus @n_out outliers at 100. */
static void uniform_with_outliers(MscQHist *h, int n_out) {
  msc_qhist_init(h);
  float *x = g_new(float, 100000 + n_out);
  for (int i = 0; i < 100000; i++) x[i] = (i + 0.5f) / 100000;
  for (int i = 0; i < n_out; i++) x[100000 + i] = 100.0f;
  msc_qhist_add(h, x, 100000 + n_out);
  g_free(x);
}

static void test_calib_percentile(void) {
  g_test_summary("percentile: each tail keeps (100 - p)% outside; on uniform [0,1) the 99% point is 0.99");
  MscQHist h;
  uniform_with_outliers(&h, 0);
  double lo, hi;
  g_assert_true(msc_qhist_range(&h, MSC_QCALIB_PERCENTILE, 99.0, FALSE, 0, 255, FALSE, &lo, &hi));
  g_assert_cmpfloat(lo, ==, 0.0);
  g_assert_cmpfloat_with_epsilon(hi, 0.99, 1.0 / MSC_QHIST_BINS + 1e-9);
  /* 10 outliers at 100 among 100010 values: 99.99% clips them */
  uniform_with_outliers(&h, 10);
  g_assert_true(msc_qhist_range(&h, MSC_QCALIB_PERCENTILE, 99.99, FALSE, 0, 255, FALSE, &lo, &hi));
  g_assert_cmpfloat(hi, <, 1.1);
  g_assert_cmpfloat(hi, >, 0.95);
}

static void test_calib_mse(void) {
  g_test_summary("MSE-optimal clipping ignores rare outliers and keeps the full range of uniform data");
  MscQHist h;
  double lo, hi;
  uniform_with_outliers(&h, 0);
  g_assert_true(msc_qhist_range(&h, MSC_QCALIB_MSE, 99.99, FALSE, 0, 255, FALSE, &lo, &hi));
  g_assert_cmpfloat(hi, >, 0.97); /* clipping uniform data only adds error */
  /* 3 outliers at 100: clipping them to c costs 3 (100 - c)^2, more than the
   * rounding error it saves (100000 (c/255)^2 / 12 ~ 13 at c = 100): kept */
  uniform_with_outliers(&h, 3);
  g_assert_true(msc_qhist_range(&h, MSC_QCALIB_MSE, 99.99, FALSE, 0, 255, FALSE, &lo, &hi));
  g_assert_cmpfloat(hi, >, 90.0);
  /* 2e6 values uniform on [0,1) and one at 2: range 2 costs 2e6 (2/255)^2/12
   * = 10.3; clipping at 1 costs 2e6 (1/255)^2/12 + 1 = 3.6; below 1 the
   * clipped bulk costs more: the optimum is 1 */
  msc_qhist_init(&h);
  float *x = g_new(float, 2000001);
  for (int i = 0; i < 2000000; i++) x[i] = (i + 0.5f) / 2000000;
  x[2000000] = 2.0f;
  msc_qhist_add(&h, x, 2000001);
  g_free(x);
  g_assert_true(msc_qhist_range(&h, MSC_QCALIB_MSE, 99.99, FALSE, 0, 255, FALSE, &lo, &hi));
  g_assert_cmpfloat(hi, >, 0.95);
  g_assert_cmpfloat(hi, <, 1.2);
}

static void test_calib_entropy(void) {
  g_test_summary("entropy (KL) keeps the bulk of a distribution and drops a far tail");
  MscQHist h;
  msc_qhist_init(&h);
  /* a triangular bulk on [0, 2] plus 0.01% values near 50 */
  float *x = g_new(float, 200020);
  uint32_t st = 7;
  for (int i = 0; i < 200000; i++) x[i] = (msc_mulberry32(&st) / 4294967296.0f) + (msc_mulberry32(&st) / 4294967296.0f);
  for (int i = 0; i < 20; i++) x[200000 + i] = 50.0f - i * 0.1f;
  msc_qhist_add(&h, x, 200020);
  g_free(x);
  double lo, hi;
  g_assert_true(msc_qhist_range(&h, MSC_QCALIB_ENTROPY, 99.99, FALSE, 0, 255, FALSE, &lo, &hi));
  g_assert_cmpfloat(lo, ==, 0.0);
  g_assert_cmpfloat(hi, <, 25.0); /* the far tail is clipped ... */
  g_assert_cmpfloat(hi, >, 1.5);  /* ... the bulk is not */
}

/* ---- graphs ------------------------------------------------------------------------------ */

static MscTensor *randn(int rank, const int64_t *dims, uint32_t seed) {
  MscTensor *t = msc_tensor_new(MSC_DTYPE_FLOAT32, rank, dims, NULL);
  msc_tensor_fill_random(t, seed);
  return t;
}

static MscNode *node(MscGraph *g, const char *name, const char *op, const char *in0, const char *in1, const char *in2,
                     const char *out) {
  MscNode *n = msc_graph_add_node(g, name, op, "", 13);
  MscValue *ins[3] = {msc_graph_get_or_add_value(g, in0), in1 ? msc_graph_get_or_add_value(g, in1) : NULL,
                      in2 ? msc_graph_get_or_add_value(g, in2) : NULL};
  MscValue *o = msc_graph_get_or_add_value(g, out);
  msc_node_set_io(n, ins, in2 ? 3 : in1 ? 2 : 1, &o, 1);
  return n;
}

static void attr_int(MscNode *n, const char *name, int64_t v) {
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_INT;
  a.i = v;
  msc_node_add_attr(n, &a);
}

/* x[1,4,6,6] -> conv1 (dense) -> relu -> conv2 (group 2) -> conv3
 * (depthwise) -> Flatten -> gemm1 (transB=1) -> gemm2 (transB=0) ->
 * matmul -> y[1,2]. Biases on every conv and gemm. */
static MscGraph *axes_graph(void) {
  MscGraph *g = msc_graph_new("axes");
  msc_graph_set_opset(g, "", 13);
  g->ir_version = 8;
  int64_t xd[4] = {1, 4, 8, 8}, w1[4] = {4, 4, 3, 3}, w2[4] = {4, 2, 3, 3}, w3[4] = {4, 1, 3, 3}, b4 = 4;
  int64_t g1[2] = {5, 16}, g2[2] = {5, 3}, m[2] = {3, 2}, b5 = 5, b3 = 3;
  MscValue *x = msc_graph_get_or_add_value(g, "x");
  x->dtype = MSC_DTYPE_FLOAT32;
  x->rank = 4;
  memcpy(x->dims, xd, sizeof xd);
  msc_graph_add_input(g, x);
  msc_graph_add_initializer(g, "w1", randn(4, w1, 1));
  msc_graph_add_initializer(g, "w2", randn(4, w2, 2));
  msc_graph_add_initializer(g, "w3", randn(4, w3, 3));
  msc_graph_add_initializer(g, "b1", randn(1, &b4, 4));
  msc_graph_add_initializer(g, "b2", randn(1, &b4, 5));
  msc_graph_add_initializer(g, "b3", randn(1, &b4, 6));
  msc_graph_add_initializer(g, "g1w", randn(2, g1, 7));
  msc_graph_add_initializer(g, "g1b", randn(1, &b5, 8));
  msc_graph_add_initializer(g, "g2w", randn(2, g2, 9));
  msc_graph_add_initializer(g, "g2b", randn(1, &b3, 10));
  msc_graph_add_initializer(g, "mw", randn(2, m, 11));
  MscNode *n;
  n = node(g, "conv1", "Conv", "x", "w1", "b1", "c1");
  n = node(g, "relu1", "Relu", "c1", NULL, NULL, "r1");
  n = node(g, "conv2", "Conv", "r1", "w2", "b2", "c2");
  attr_int(n, "group", 2);
  n = node(g, "conv3", "Conv", "c2", "w3", "b3", "c3");
  attr_int(n, "group", 4);
  node(g, "flat", "Flatten", "c3", NULL, NULL, "f");
  n = node(g, "gemm1", "Gemm", "f", "g1w", "g1b", "h1");
  attr_int(n, "transB", 1);
  node(g, "gemm2", "Gemm", "h1", "g2w", "g2b", "h2");
  node(g, "matmul", "MatMul", "h2", "mw", NULL, "y");
  msc_graph_add_output(g, msc_graph_get_or_add_value(g, "y"));
  return g;
}

static MscGraph *graph_copy(const MscGraph *g) {
  uint8_t *data = NULL;
  size_t len = 0;
  GError *e = NULL;
  g_assert_true(msc_onnx_save_buffer(g, &data, &len, &e));
  MscGraph *c = msc_onnx_load_buffer(data, len, "copy", &e);
  g_assert_no_error(e);
  g_free(data);
  return c;
}

static MscDataset *random_dataset(const MscGraph *g, guint n, uint32_t seed) {
  MscDataset *ds = g_new0(MscDataset, 1);
  ds->n_samples = n;
  ds->n_inputs = g->n_inputs;
  ds->inputs = g_new0(MscTensor **, n);
  for (guint k = 0; k < n; k++) {
    ds->inputs[k] = g_new0(MscTensor *, g->n_inputs);
    for (uint32_t i = 0; i < g->n_inputs; i++) {
      const MscValue *v = g->inputs[i];
      int64_t dims[MSC_MAX_RANK];
      for (int d = 0; d < v->rank; d++) dims[d] = v->dims[d] > 0 ? v->dims[d] : 1;
      ds->inputs[k][i] = randn(v->rank, dims, seed + k);
    }
  }
  return ds;
}

/* Calibrates a copy of @g on @n random samples with @opts, plans, exports
 * the plan to @plan_path (nullable) and returns the applied graph. */
static MscGraph *quantize(const MscGraph *g, const char *const *kv, guint n, const char *plan_path,
                          MscToolHandle **keep) {
  GError *e = NULL;
  guint nk = 0;
  while (kv && kv[2 * nk]) nk++;
  const char *keys[16], *vals[16];
  for (guint i = 0; i < nk; i++) keys[i] = kv[2 * i], vals[i] = kv[2 * i + 1];
  MscOptions o = {keys, vals, nk};
  MscToolHandle *t = msc_tool_handle_new("quantizer", &o, &e);
  g_assert_no_error(e);
  g_autoptr(MscWorker) w = msc_worker_new(graph_copy(g), &e);
  g_assert_no_error(e);
  g_assert_true(msc_worker_build(w, "ref", NULL, &e));
  g_autoptr(MscDataset) ds = random_dataset(msc_worker_graph(w), n, 100);
  g_assert_true(msc_tool_begin_stage(t, "quantize:quantizer", &e));
  g_assert_true(msc_worker_observe(w, ds, n, &t, 1, &e));
  g_assert_no_error(e);
  g_assert_true(msc_tool_plan(t, msc_worker_graph(w), &e));
  g_assert_no_error(e);
  if (plan_path) g_assert_true(msc_tool_export_plan(t, plan_path, &e));
  /* apply on a fresh, never-built worker (the rewrite replaces the graph) */
  g_autoptr(MscWorker) w2 = msc_worker_new(graph_copy(msc_worker_graph(w)), &e);
  g_assert_true(msc_worker_apply_tool(w2, t, &e));
  g_assert_no_error(e);
  if (keep) *keep = t;
  else msc_tool_handle_free(t);
  return graph_copy(msc_worker_graph(w2));
}

static const MscNode *find(const MscGraph *g, const char *name) {
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (!strcmp(g->nodes[i]->name, name)) return g->nodes[i];
  return NULL;
}

static int64_t attr_i(const MscNode *n, const char *name, int64_t dflt) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (!strcmp(n->attrs[i].name, name)) return n->attrs[i].i;
  return dflt;
}

/* The DequantizeLinear feeding input @k of node @name, NULL when float. */
static const MscNode *dq_of(const MscGraph *g, const char *name, uint32_t k) {
  const MscNode *n = find(g, name);
  g_assert_nonnull(n);
  g_assert_cmpuint(k, <, n->n_inputs);
  const MscNode *p = n->inputs[k] ? n->inputs[k]->producer : NULL;
  return p && !strcmp(p->op_type, "DequantizeLinear") ? p : NULL;
}

static const MscTensor *init_of(const MscNode *n, uint32_t k) { return n->inputs[k]->value; }

static void check_weight(const MscGraph *g, const char *node_name, int64_t axis, int64_t channels) {
  const MscNode *dq = dq_of(g, node_name, 1);
  g_assert_nonnull(dq);
  g_assert_cmpint(init_of(dq, 0)->dtype, ==, MSC_DTYPE_INT8);
  g_assert_cmpint(attr_i(dq, "axis", -99), ==, axis);
  g_assert_cmpint(msc_tensor_numel(init_of(dq, 1)), ==, channels);
  g_assert_cmpint(init_of(dq, 2)->dtype, ==, MSC_DTYPE_INT8);
  /* symmetric: every channel's largest |q| is 127 */
  const MscTensor *q = init_of(dq, 0);
  int64_t n = msc_tensor_numel(q), inner = 1;
  for (int d = (int)axis + 1; d < q->rank; d++) inner *= q->dims[d];
  for (int64_t c = 0; c < channels; c++) {
    int mx = 0;
    for (int64_t i = 0; i < n; i++)
      if ((i / inner) % channels == c) mx = MAX(mx, abs(((const int8_t *)q->data)[i]));
    g_assert_cmpint(mx, ==, 127);
  }
}

static void test_rewrite_axes(void) {
  g_test_summary("per-channel weight axes: Conv, grouped and depthwise Conv on axis 0, Gemm transB=1 on 0, "
                 "transB=0 on 1, MatMul on its last axis; int32 biases with scale s_x * s_w[c]");
  g_autoptr(MscGraph) g = axes_graph();
  GError *e = NULL;
  msc_graph_verify(g, &e);
  g_assert_no_error(e);
  g_autoptr(MscGraph) q = quantize(g, NULL, 4, NULL, NULL);
  check_weight(q, "conv1", 0, 4);
  check_weight(q, "conv2", 0, 4);
  check_weight(q, "conv3", 0, 4);
  check_weight(q, "gemm1", 0, 5);
  check_weight(q, "gemm2", 1, 3);
  check_weight(q, "matmul", 1, 2);
  /* conv2's bias: int32, scale = s_x * s_w[c], zero point 0, axis 0 */
  const MscNode *bdq = dq_of(q, "conv2", 2), *xdq = dq_of(q, "conv2", 0), *wdq = dq_of(q, "conv2", 1);
  g_assert_nonnull(bdq);
  g_assert_nonnull(xdq);
  g_assert_cmpint(init_of(bdq, 0)->dtype, ==, MSC_DTYPE_INT32);
  g_assert_cmpint(init_of(bdq, 2)->dtype, ==, MSC_DTYPE_INT32);
  float sx = *(const float *)init_of(xdq, 1)->data;
  const float *sw = init_of(wdq, 1)->data, *sb = init_of(bdq, 1)->data;
  const float *b = find(g, "conv2")->inputs[2]->value->data;
  for (int c = 0; c < 4; c++) {
    g_assert_cmpfloat(sb[c], ==, sx * sw[c]);
    g_assert_cmpint(((const int32_t *)init_of(bdq, 0)->data)[c], ==, (int32_t)nearbyintf(b[c] / (sx * sw[c])));
    g_assert_cmpint(((const int32_t *)init_of(bdq, 2)->data)[c], ==, 0);
  }
  /* conv1's Relu is folded into the uint8 quantization of its output (zero point 0) */
  g_assert_null(find(q, "relu1"));
  g_assert_cmpint(msc_graph_opset(q, ""), ==, 13);
  /* the graph output stays float: produced by the MatMul, not a DequantizeLinear */
  g_assert_cmpstr(q->outputs[0]->producer->op_type, ==, "MatMul");
}

static void test_select(void) {
  g_test_summary("exclude (glob) and keep_first leave layers in float; per_tensor gives scalar weight scales");
  g_autoptr(MscGraph) g = axes_graph();
  GError *e = NULL;
  msc_graph_verify(g, &e);
  g_assert_no_error(e);
  const char *kv[] = {"exclude", "gemm*", "keep_first", "true", "per_tensor", "true", NULL};
  g_autoptr(MscGraph) q = quantize(g, kv, 3, NULL, NULL);
  g_assert_null(dq_of(q, "conv1", 1));  /* keep_first */
  g_assert_null(dq_of(q, "gemm1", 1));  /* excluded */
  g_assert_null(dq_of(q, "gemm2", 1));
  const MscNode *dq = dq_of(q, "conv2", 1);
  g_assert_nonnull(dq);
  g_assert_cmpint(init_of(dq, 1)->rank, ==, 0);
  g_assert_cmpint(attr_i(dq, "axis", -99), ==, -99);
  g_assert_nonnull(dq_of(q, "matmul", 1));
  const char *kv2[] = {"keep_last", "1", NULL};
  g_autoptr(MscGraph) q2 = quantize(g, kv2, 3, NULL, NULL);
  g_assert_null(dq_of(q2, "matmul", 1));
  g_assert_nonnull(dq_of(q2, "gemm2", 1));
}

static void test_options_invalid(void) {
  g_test_summary("unknown options and bad values are refused naming the option");
  const char *cases[][2] = {{"method", "median"}, {"percentile", "120"}, {"weight_bits", "4"},
                            {"activation_type", "int16"}, {"format", "onnx"}, {"tolerance", "2"},
                            {"overrides", "x:0:3"}, {"per_tensor", "maybe"}, {"no_such_option", "1"}};
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    MscOptions o = {&cases[i][0], &cases[i][1], 1};
    GError *e = NULL;
    MscToolHandle *t = msc_tool_handle_new("quantizer", &o, &e);
    g_assert_null(t);
    g_assert_error(e, MSC_ERROR, MSC_ERR_INVALID_ARG);
    g_assert_nonnull(strstr(e->message, cases[i][0]));
    g_error_free(e);
  }
}

static void test_plan_round_trip(void) {
  g_test_summary("export_plan -> load_plan in a fresh tool -> apply gives the identical model bytes");
  g_autoptr(MscGraph) g = axes_graph();
  GError *e = NULL;
  msc_graph_verify(g, &e);
  g_assert_no_error(e);
  g_autofree char *plan = g_build_filename(tmp_dir, "plan.json", NULL);
  const char *kv[] = {"method", "percentile", "overrides", "h1:0.05:100", NULL};
  g_autoptr(MscGraph) q1 = quantize(g, kv, 4, plan, NULL);
  /* fresh tool: load the plan, apply without observation */
  MscToolHandle *t = msc_tool_handle_new("quantizer", NULL, &e);
  g_assert_no_error(e);
  g_assert_true(msc_tool_load_plan(t, plan, &e));
  g_assert_no_error(e);
  g_autoptr(MscWorker) w = msc_worker_new(graph_copy(g), &e);
  g_assert_true(msc_worker_apply_tool(w, t, &e));
  g_assert_no_error(e);
  msc_tool_handle_free(t);
  uint8_t *a = NULL, *b = NULL;
  size_t la = 0, lb = 0;
  g_assert_true(msc_onnx_save_buffer(q1, &a, &la, &e));
  g_autoptr(MscGraph) q2 = graph_copy(msc_worker_graph(w));
  g_assert_true(msc_onnx_save_buffer(q2, &b, &lb, &e));
  g_assert_cmpmem(a, la, b, lb);
  g_free(a);
  g_free(b);
  /* the override is used as given */
  const MscNode *dq = dq_of(q1, "gemm2", 0);
  g_assert_nonnull(dq);
  g_assert_cmpfloat(*(const float *)init_of(dq, 1)->data, ==, 0.05f);
  g_assert_cmpint(*(const uint8_t *)init_of(dq, 2)->data, ==, 100);
  /* a broken plan is refused naming the file */
  g_autofree char *bad = g_build_filename(tmp_dir, "bad.json", NULL);
  g_assert_true(g_file_set_contents(bad, "{\"tool\": \"pruner\"}", -1, NULL));
  t = msc_tool_handle_new("quantizer", NULL, &e);
  g_assert_false(msc_tool_load_plan(t, bad, &e));
  g_assert_nonnull(e);
  g_assert_nonnull(strstr(e->message, "bad.json"));
  g_clear_error(&e);
  msc_tool_handle_free(t);
}

/* Cosine of the outputs of @a and @b over @n random samples. */
static double output_cosine(const MscGraph *a, const MscGraph *b, guint n) {
  GError *e = NULL;
  g_autoptr(MscWorker) wa = msc_worker_new(graph_copy(a), &e);
  g_autoptr(MscWorker) wb = msc_worker_new(graph_copy(b), &e);
  g_assert_no_error(e);
  g_assert_true(msc_worker_build(wa, "ref", NULL, &e));
  g_assert_true(msc_worker_build(wb, "ref", NULL, &e));
  g_autoptr(MscDataset) ds = random_dataset(msc_worker_graph(wa), n, 5000);
  double dot = 0, na = 0, nb = 0;
  for (guint k = 0; k < n; k++) {
    MscTensor **oa = NULL, **ob = NULL;
    g_assert_true(msc_worker_run(wa, ds->inputs[k], &oa, NULL, &e));
    g_assert_true(msc_worker_run(wb, ds->inputs[k], &ob, NULL, &e));
    g_assert_no_error(e);
    const float *x = oa[0]->data, *y = ob[0]->data;
    for (int64_t i = 0; i < msc_tensor_numel(oa[0]); i++) dot += x[i] * y[i], na += x[i] * x[i], nb += y[i] * y[i];
    for (uint32_t j = 0; j < a->n_outputs; j++) msc_tensor_free(oa[j]), msc_tensor_free(ob[j]);
    g_free(oa);
    g_free(ob);
  }
  return dot / sqrt(na * nb);
}

static void test_zoo_close(gconstpointer data) {
  const char *name = data;
  g_test_summary("the QDQ model of a demo CNN runs on ref and stays close to float (cosine >= 0.99)");
  GError *e = NULL;
  g_autoptr(MscGraph) g = msc_zoo_build(name, &e);
  g_assert_no_error(e);
  /* fix the batch dim for the random samples */
  g->inputs[0]->dims[0] = 1;
  msc_graph_verify(g, &e);
  g_assert_no_error(e);
  g_autofree char *report = g_build_filename(tmp_dir, "report.json", NULL);
  const char *kv[] = {"report", report, NULL};
  g_autoptr(MscGraph) q = quantize(g, kv, 8, NULL, NULL);
  int n_q = 0, n_dq = 0;
  for (uint32_t i = 0; i < q->n_nodes; i++) {
    n_q += !strcmp(q->nodes[i]->op_type, "QuantizeLinear");
    n_dq += !strcmp(q->nodes[i]->op_type, "DequantizeLinear");
  }
  g_assert_cmpint(n_q, >, 5);
  g_assert_cmpint(n_dq, >, n_q);
  double cos = output_cosine(g, q, 4);
  g_test_message("%s: output cosine %.5f", name, cos);
  g_assert_cmpfloat(cos, >=, 0.99);
  /* the report names every quantized layer with its metrics */
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(report, &text, NULL, NULL));
  g_assert_nonnull(strstr(text, "\"layers\""));
  g_assert_nonnull(strstr(text, "\"snr_db\""));
  g_assert_nonnull(strstr(text, "\"min_output_cosine\""));
}

static void test_accuracy_aware(void) {
  g_test_summary("accuracy-aware mode reverts layers until the outputs meet the tolerance and reports them");
  GError *e = NULL;
  g_autoptr(MscGraph) g = msc_zoo_build("resnet_mini", &e);
  g->inputs[0]->dims[0] = 1;
  msc_graph_verify(g, &e);
  g_assert_no_error(e);
  g_autofree char *report = g_build_filename(tmp_dir, "aware.json", NULL);
  /* an unreachable tolerance: every layer ends up reverted, outputs exact */
  const char *kv[] = {"report", report, "tolerance", "1.0", NULL};
  g_autoptr(MscGraph) q = quantize(g, kv, 2, NULL, NULL);
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(report, &text, NULL, NULL));
  g_assert_nonnull(strstr(text, "\"accuracy_aware\""));
  g_assert_nonnull(strstr(text, "\"reverted\""));
  for (uint32_t i = 0; i < q->n_nodes; i++)
    if (!strcmp(q->nodes[i]->op_type, "Conv")) g_assert_null(dq_of(q, q->nodes[i]->name, 1));
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  char *err = NULL;
  if (msc_init(&err) != MSC_OK) g_error("msc_init: %s", err);
  tmp_dir = g_dir_make_tmp("msc-quantizer-XXXXXX", NULL);
  g_test_add_func("/quantizer/calib/minmax", test_calib_minmax);
  g_test_add_func("/quantizer/calib/scale-zero-point", test_calib_qparams);
  g_test_add_func("/quantizer/calib/percentile", test_calib_percentile);
  g_test_add_func("/quantizer/calib/mse", test_calib_mse);
  g_test_add_func("/quantizer/calib/entropy", test_calib_entropy);
  g_test_add_func("/quantizer/rewrite/per-channel-axes-bias", test_rewrite_axes);
  g_test_add_func("/quantizer/select/exclude-keep-first-last", test_select);
  g_test_add_func("/quantizer/options/invalid", test_options_invalid);
  g_test_add_func("/quantizer/plan/round-trip", test_plan_round_trip);
  g_test_add_data_func("/quantizer/zoo/resnet-mini-close-to-float", "resnet_mini", test_zoo_close);
  g_test_add_data_func("/quantizer/zoo/mobilenet-mini-close-to-float", "mobilenet_mini", test_zoo_close);
  g_test_add_func("/quantizer/accuracy-aware/revert", test_accuracy_aware);
  int rc = g_test_run();
  g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp_dir);
  (void)!system(cmd);
  g_free(tmp_dir);
  return rc;
}
