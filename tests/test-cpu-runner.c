/* test-cpu-runner.c: the `cpu` runner plugin against `ref`: fusion passes
 * (Conv+BN+Relu, Conv+Add+Relu, the zoo models), constant folding and
 * dead-node removal, the memory plan (bounds, no overlap, re-plan per input
 * shape, no allocation in the run loop), threads, every ISA level this CPU
 * supports, node hooks and options; the non-conv fast paths (pools, Gemm,
 * MatMul, elementwise, affine chains, LRN, Concat, aliases). */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "../plugins/runners/cpu/cpu-stats.h"
#include "graph.h"
#include "graph-builder.h"
#include "kernels/conv2d-plan.h"
#include "ops.h"
#include "plugin.h"
#include "registry.h"
#include "session.h"
#include "tensor.h"
#include "zoo.h"

#pragma weak msc_isa_supported
#pragma weak msc_isa_name

static gboolean have_cpu;
static MscCpuStatsFn stats_fn;

#define NEED_CPU()                                                                                      \
  do {                                                                                                  \
    if (!have_cpu) {                                                                                    \
      g_test_skip("runner 'msc.runner.cpu' is not registered (see `msc plugins`)");                  \
      return;                                                                                           \
    }                                                                                                   \
  } while (0)

static MscCpuStats stats(void) {
  MscCpuStats s = {.struct_size = sizeof s};
  stats_fn(&s);
  return s;
}

/* ---------------------------------------------------------------------- */
/* graph building                                                          */


static void input(MscGraph *g, const char *name, int32_t rank, const int64_t *dims) {
  MscValue *v = val(g, name);
  v->dtype = MSC_DTYPE_FLOAT32;
  v->rank = rank;
  memcpy(v->dims, dims, sizeof(int64_t) * (size_t)rank);
  msc_graph_add_input(g, v);
}

/* A random initializer in [lo, hi). */
static void init_rand(MscGraph *g, const char *name, int32_t rank, const int64_t *dims, float lo, float hi,
                      uint32_t seed) {
  MscTensor *t = msc_tensor_new(MSC_DTYPE_FLOAT32, rank, dims, NULL);
  uint32_t st = seed;
  for (int64_t i = 0; i < msc_tensor_numel(t); i++)
    ((float *)t->data)[i] = lo + (hi - lo) * (float)(msc_mulberry32(&st) >> 8) / 16777216.0f;
  msc_graph_add_initializer(g, name, t);
}

static void verify(MscGraph *g) {
  GError *e = NULL;
  msc_graph_verify(g, &e);
  g_assert_no_error(e);
}

/* x[N,8,10,10] -> Conv(16, 3x3, pad 1) -> BN -> Relu -> y */
static MscGraph *conv_bn_relu(void) {
  MscGraph *g = msc_graph_new("conv-bn-relu");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {-1, 8, 10, 10}, wd[] = {16, 8, 3, 3}, cd[] = {16}, pads[] = {1, 1, 1, 1};
  input(g, "x", 4, xd);
  init_rand(g, "w", 4, wd, -0.3f, 0.3f, 1);
  init_rand(g, "b", 1, cd, -0.5f, 0.5f, 2);
  init_rand(g, "gamma", 1, cd, 0.5f, 1.5f, 3);
  init_rand(g, "beta", 1, cd, -0.5f, 0.5f, 4);
  init_rand(g, "mean", 1, cd, -0.2f, 0.2f, 5);
  init_rand(g, "var", 1, cd, 0.5f, 2.0f, 6);
  msc_node_add_attr_ints(node(g, "conv", "Conv", "x,w,b", "c"), "pads", 4, pads);
  node(g, "bn", "BatchNormalization", "c,gamma,beta,mean,var", "n");
  node(g, "relu", "Relu", "n", "y");
  msc_graph_add_output(g, val(g, "y"));
  verify(g);
  return g;
}

/* x[N,8,10,10] -> Conv1(8, 3x3) -> Relu -> a; Conv2(8, 1x1)(a) -> Add(x) -> Relu -> y,
 * plus a dead branch (Sigmoid of x, unused) and a constant subgraph
 * (Mul of two initializers) feeding the second Add. */
static MscGraph *conv_add_relu(void) {
  MscGraph *g = msc_graph_new("conv-add-relu");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {-1, 8, 10, 10}, w1[] = {8, 8, 3, 3}, w2[] = {8, 8, 1, 1}, cd[] = {8}, pads[] = {1, 1, 1, 1};
  int64_t kd[] = {1, 8, 1, 1};
  input(g, "x", 4, xd);
  init_rand(g, "w1", 4, w1, -0.3f, 0.3f, 11);
  init_rand(g, "b1", 1, cd, -0.5f, 0.5f, 12);
  init_rand(g, "w2", 4, w2, -0.3f, 0.3f, 13);
  init_rand(g, "k1", 4, kd, -1.0f, 1.0f, 14);
  init_rand(g, "k2", 4, kd, -1.0f, 1.0f, 15);
  msc_node_add_attr_ints(node(g, "conv1", "Conv", "x,w1,b1", "c1"), "pads", 4, pads);
  node(g, "relu1", "Relu", "c1", "a");
  node(g, "conv2", "Conv", "a,w2", "c2");
  node(g, "add", "Add", "x,c2", "s");
  node(g, "relu2", "Relu", "s", "r");
  node(g, "dead", "Sigmoid", "x", "unused");
  node(g, "kmul", "Mul", "k1,k2", "k");
  node(g, "add2", "Add", "r,k", "y");
  msc_graph_add_output(g, val(g, "y"));
  verify(g);
  return g;
}


static void attr_int(MscNode *n, const char *name, int64_t v) {
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_INT;
  a.i = v;
  msc_node_add_attr(n, &a);
}

static void attr_float(MscNode *n, const char *name, float v) {
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_FLOAT;
  a.f = v;
  msc_node_add_attr(n, &a);
}

static void init_i64(MscGraph *g, const char *name, int64_t n, const int64_t *v) {
  int64_t d[1] = {n};
  MscTensor *t = msc_tensor_new(MSC_DTYPE_INT64, 1, d, NULL);
  memcpy(t->data, v, (size_t)n * sizeof *v);
  msc_graph_add_initializer(g, name, t);
}

/* Every non-conv fast path: x[N,16,48,48] -> MaxPool / AveragePool
 * (count_include_pad) -> Concat -> BN+Relu (affine chain) -> Mul[C,1,1] +
 * Add[1,C,1,1] + Clip (affine chain) -> GlobalAveragePool -> Mul per plane
 * (runtime) -> Add (same shape) -> LRN -> GlobalMaxPool -> Flatten ->
 * Dropout -> Gemm(transB, alpha, beta) -> Sub(scalar, .) -> MatMul -> y;
 * also Reshape -> Gemm -> y3 and the Concat output as a graph output. */
static MscGraph *fastops_graph(void) {
  MscGraph *g = msc_graph_new("fastops");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {-1, 16, 48, 48}, k3[] = {3, 3}, s2[] = {2, 2}, p1[] = {1, 1, 1, 1}, c32[] = {32};
  int64_t kc[] = {32, 1, 1}, kc4[] = {1, 32, 1, 1}, wd[] = {20, 32}, bd[] = {20}, md[] = {20, 10}, one[] = {1};
  int64_t w2[] = {8, 32 * 24 * 24}, shp[] = {0, -1};
  input(g, "x", 4, xd);
  MscNode *n = node(g, "mp", "MaxPool", "x", "mp");
  msc_node_add_attr_ints(n, "kernel_shape", 2, k3);
  msc_node_add_attr_ints(n, "strides", 2, s2);
  msc_node_add_attr_ints(n, "pads", 4, p1);
  n = node(g, "ap", "AveragePool", "x", "ap");
  msc_node_add_attr_ints(n, "kernel_shape", 2, k3);
  msc_node_add_attr_ints(n, "strides", 2, s2);
  msc_node_add_attr_ints(n, "pads", 4, p1);
  attr_int(n, "count_include_pad", 1);
  attr_int(node(g, "cat", "Concat", "mp,ap", "cat"), "axis", 1);
  init_rand(g, "gamma", 1, c32, 0.5f, 1.5f, 21);
  init_rand(g, "beta", 1, c32, -0.5f, 0.5f, 22);
  init_rand(g, "mean", 1, c32, -0.2f, 0.2f, 23);
  init_rand(g, "var", 1, c32, 0.5f, 2.0f, 24);
  node(g, "bn", "BatchNormalization", "cat,gamma,beta,mean,var", "bn");
  node(g, "relu", "Relu", "bn", "r");
  init_rand(g, "k1", 3, kc, 0.5f, 2.0f, 25);
  init_rand(g, "k2", 4, kc4, -1.0f, 1.0f, 26);
  init_rand(g, "lo", 0, one, 0.0f, 0.1f, 27);
  init_rand(g, "hi", 0, one, 3.0f, 4.0f, 28);
  node(g, "mul", "Mul", "k1,r", "m1");
  node(g, "add", "Add", "m1,k2", "a1");
  node(g, "clip", "Clip", "a1,lo,hi", "c1");
  node(g, "gap", "GlobalAveragePool", "c1", "gp");
  node(g, "se", "Mul", "c1,gp", "se");
  node(g, "res", "Add", "se,c1", "s2");
  n = node(g, "lrn", "LRN", "s2", "l");
  attr_int(n, "size", 5), attr_float(n, "alpha", 1e-3f), attr_float(n, "beta", 0.75f), attr_float(n, "bias", 2.0f);
  node(g, "gmp", "GlobalMaxPool", "l", "gm");
  node(g, "flat", "Flatten", "gm", "f");
  node(g, "drop", "Dropout", "f", "d");
  init_rand(g, "w", 2, wd, -0.3f, 0.3f, 29);
  init_rand(g, "b", 1, bd, -0.5f, 0.5f, 30);
  n = node(g, "gemm", "Gemm", "d,w,b", "g1");
  attr_int(n, "transB", 1), attr_float(n, "alpha", 0.5f), attr_float(n, "beta", 2.0f);
  init_rand(g, "ks", 0, one, 1.0f, 2.0f, 31);
  node(g, "neg", "Sub", "ks,g1", "ng");
  init_rand(g, "bm", 2, md, -0.3f, 0.3f, 32);
  node(g, "mm", "MatMul", "ng,bm", "y");
  init_i64(g, "shape", 2, shp);
  node(g, "reshape", "Reshape", "s2,shape", "rs");
  init_rand(g, "w2", 2, w2, -0.01f, 0.01f, 33);
  attr_int(node(g, "gemm2", "Gemm", "rs,w2", "y3"), "transB", 1);
  msc_graph_add_output(g, val(g, "y"));
  msc_graph_add_output(g, val(g, "y3"));
  msc_graph_add_output(g, val(g, "cat"));
  verify(g);
  return g;
}

/* ---------------------------------------------------------------------- */
/* running                                                                 */

/* One run of @g on @runner with options @keys/@vals and (nullable) @hooks; its outputs. */
static MscTensor **run_on_hooks(const MscGraph *g, const char *runner, const char *const *keys,
                                const char *const *vals, uint32_t n_opts, MscTensor *const *in,
                                const MscRunHooks *hooks) {
  GError *e = NULL;
  MscOptions o = {keys, vals, n_opts};
  MscSession *s = msc_session_new(g, runner, &o, &e);
  g_assert_no_error(e);
  MscTensor **out = NULL;
  const gboolean ok = msc_session_run(s, (const MscTensor *const *)in, g->n_inputs, &out, hooks, &e);
  g_assert_no_error(e);
  g_assert_true(ok);
  msc_session_free(s);
  return out;
}

static MscTensor **run_on(const MscGraph *g, const char *runner, const char *const *keys, const char *const *vals,
                          uint32_t n_opts, MscTensor *const *in) {
  return run_on_hooks(g, runner, keys, vals, n_opts, in, NULL);
}

static void free_outputs(MscTensor **out, uint32_t n) {
  for (uint32_t i = 0; out && i < n; i++) msc_tensor_free(out[i]);
  g_free(out);
}

static MscTensor *rand_input(const MscValue *v, int64_t batch, uint32_t seed) {
  GError *e = NULL;
  MscTensor *t = msc_zoo_make_input(v, batch, seed, &e);
  g_assert_no_error(e);
  return t;
}

/* Normwise closeness: |got - exp| <= 1e-4 * max|exp| + 1e-5 everywhere. */
/* @a and @b (@n outputs each) are the same tensors, bit for bit. */
static void assert_same_outputs(MscTensor *const *a, MscTensor *const *b, uint32_t n) {
  for (uint32_t j = 0; j < n; j++) {
    g_assert_cmpuint(a[j]->nbytes, ==, b[j]->nbytes);
    g_assert_cmpint(a[j]->rank, ==, b[j]->rank);
    g_assert_cmpint(memcmp(a[j]->dims, b[j]->dims, sizeof(int64_t) * (size_t)b[j]->rank), ==, 0);
    g_assert_cmpint(memcmp(a[j]->data, b[j]->data, b[j]->nbytes), ==, 0);
  }
}

static void assert_close(const MscTensor *got, const MscTensor *exp) {
  g_assert_cmpint(got->dtype, ==, exp->dtype);
  g_assert_cmpint(got->rank, ==, exp->rank);
  for (int32_t k = 0; k < got->rank; k++) g_assert_cmpint(got->dims[k], ==, exp->dims[k]);
  double scale = 0;
  int64_t n = msc_tensor_numel(exp);
  for (int64_t i = 0; i < n; i++) scale = MAX(scale, fabs(msc_tensor_get_f64(exp, i)));
  for (int64_t i = 0; i < n; i++) {
    double d = fabs(msc_tensor_get_f64(got, i) - msc_tensor_get_f64(exp, i));
    if (d > 1e-4 * scale + 1e-5)
      g_assert_cmpfloat(d, <=, 1e-4 * scale + 1e-5); /* fails, printing the values */
  }
}

/* cpu with @keys/@vals against ref on @g, batch @batch. */
static void check_against_ref(const MscGraph *g, int64_t batch, const char *const *keys, const char *const *vals,
                              uint32_t n_opts) {
  MscTensor *in[8];
  g_assert_cmpuint(g->n_inputs, <=, 8);
  for (uint32_t i = 0; i < g->n_inputs; i++) in[i] = rand_input(g->inputs[i], batch, 7 + i);
  MscTensor **want = run_on(g, "ref", NULL, NULL, 0, in);
  MscTensor **got = run_on(g, "cpu", keys, vals, n_opts, in);
  for (uint32_t j = 0; j < g->n_outputs; j++) assert_close(got[j], want[j]);
  free_outputs(want, g->n_outputs);
  free_outputs(got, g->n_outputs);
  for (uint32_t i = 0; i < g->n_inputs; i++) msc_tensor_free(in[i]);
}

/* The ISA levels to test: every one this CPU runs, plus the reference conv path. */
static const char *const isa_levels[] = {"scalar", "avx2", "avx512", NULL};

static gboolean isa_ok(int level) {
  return msc_isa_supported && msc_isa_supported((MscIsa)level);
}

static void check_every_isa(const MscGraph *g, int64_t batch) {
  const char *k_ref[] = {"fast_conv"}, *v_ref[] = {"false"};
  check_against_ref(g, batch, k_ref, v_ref, 1);
  for (int l = 0; isa_levels[l]; l++) {
    if (!isa_ok(l)) continue;
    const char *k[] = {"isa"}, *v[] = {isa_levels[l]};
    check_against_ref(g, batch, k, v, 1);
  }
}

/* ---------------------------------------------------------------------- */
/* tests                                                                   */

static void test_conv_bn_relu(void) {
  g_test_summary("Conv+BN+Relu becomes one step (BN folded, Relu fused) and matches ref at every ISA level");
  NEED_CPU();
  g_autoptr(MscGraph) g = conv_bn_relu();
  check_every_isa(g, 2);
  MscCpuStats s = stats();
  g_assert_cmpuint(s.n_nodes, ==, 3);
  g_assert_cmpuint(s.n_steps, ==, 1);
  g_assert_cmpuint(s.n_bn_folded, ==, 1);
  g_assert_cmpuint(s.n_act_fused, ==, 1);
  g_assert_cmpuint(s.n_convs, ==, 1);
}

static void test_conv_add_relu(void) {
  g_test_summary("Conv->Add(x)->Relu fuses the residual, a constant subgraph folds, a dead node goes; same "
                 "outputs as ref");
  NEED_CPU();
  g_autoptr(MscGraph) g = conv_add_relu();
  check_every_isa(g, 3);
  MscCpuStats s = stats();
  g_assert_cmpuint(s.n_add_fused, ==, 1);
  g_assert_cmpuint(s.n_act_fused, ==, 2);
  g_assert_cmpuint(s.n_dead, ==, 1);
  g_assert_cmpuint(s.n_const_folded, >=, 1);
  g_assert_cmpuint(s.n_steps, ==, 3); /* conv1+relu, conv2+add+relu, add2 */
}

/* Conv -> x; y = Mul(x, Clip(Add(x, k3), 0, 6)) / k6, the written-out
 * HardSwish, in the operand order @swap picks (Add(3, x), Mul(clip, x),
 * Mul by 1/6 instead of Div by 6); @k3 != 3 makes it not a HardSwish. */
static MscGraph *hardswish_graph(gboolean swap, float k3) {
  MscGraph *g = msc_graph_new("hardswish");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {-1, 8, 9, 9}, wd[] = {12, 8, 3, 3}, cd[] = {12}, pads[] = {1, 1, 1, 1}, one[] = {1};
  input(g, "x", 4, xd);
  init_rand(g, "w", 4, wd, -0.6f, 0.6f, 51);
  init_rand(g, "b", 1, cd, -0.5f, 0.5f, 52);
  init_rand(g, "k3", 0, one, k3, k3, 53);
  init_rand(g, "lo", 0, one, 0.0f, 0.0f, 54);
  init_rand(g, "hi", 0, one, 6.0f, 6.0f, 55);
  init_rand(g, "k6", 0, one, swap ? 1.0f / 6.0f : 6.0f, swap ? 1.0f / 6.0f : 6.0f, 56);
  msc_node_add_attr_ints(node(g, "conv", "Conv", "x,w,b", "c"), "pads", 4, pads);
  node(g, "add", "Add", swap ? "k3,c" : "c,k3", "a");
  node(g, "clip", "Clip", "a,lo,hi", "r6");
  node(g, "mul", "Mul", swap ? "r6,c" : "c,r6", "m");
  node(g, swap ? "scale" : "div", swap ? "Mul" : "Div", "m,k6", "y");
  msc_graph_add_output(g, val(g, "y"));
  verify(g);
  return g;
}

static void test_conv_hardswish(void) {
  g_test_summary("the written-out HardSwish x * Clip(x + 3, 0, 6) / 6 after a Conv (either operand order, Div by 6 "
                 "or Mul by 1/6) fuses into the conv epilogue as one step and matches ref at every ISA level; with "
                 "+2 instead of +3 it is not fused");
  NEED_CPU();
  for (int swap = 0; swap < 2; swap++) {
    g_autoptr(MscGraph) g = hardswish_graph(swap, 3.0f);
    check_every_isa(g, 2);
    MscCpuStats s = stats();
    g_assert_cmpuint(s.n_steps, ==, 1);
    g_assert_cmpuint(s.n_act_fused, ==, 1);
  }
  g_autoptr(MscGraph) g = hardswish_graph(FALSE, 2.0f);
  check_every_isa(g, 2);
  MscCpuStats s = stats();
  g_assert_cmpuint(s.n_act_fused, ==, 0);
  g_assert_cmpuint(s.n_steps, >, 1);
}

static void test_no_fusion_when_shared(void) {
  g_test_summary("a conv output read twice is not fused away; outputs still match ref");
  NEED_CPU();
  g_autoptr(MscGraph) g = msc_graph_new("shared");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {1, 4, 6, 6}, wd[] = {4, 4, 3, 3}, cd[] = {4}, pads[] = {1, 1, 1, 1};
  input(g, "x", 4, xd);
  init_rand(g, "w", 4, wd, -0.5f, 0.5f, 21);
  init_rand(g, "b", 1, cd, -0.5f, 0.5f, 22);
  msc_node_add_attr_ints(node(g, "conv", "Conv", "x,w,b", "c"), "pads", 4, pads);
  node(g, "relu", "Relu", "c", "r");
  node(g, "add", "Add", "c,r", "y");
  msc_graph_add_output(g, val(g, "y"));
  verify(g);
  check_against_ref(g, 1, NULL, NULL, 0);
  MscCpuStats s = stats();
  g_assert_cmpuint(s.n_act_fused, ==, 0);
  g_assert_cmpuint(s.n_add_fused, ==, 0);
  g_assert_cmpuint(s.n_steps, ==, 3);
}

static void test_zoo(gconstpointer data) {
  g_test_summary("a zoo model on cpu (every ISA level, and the reference conv path) matches ref, batch 2");
  NEED_CPU();
  GError *e = NULL;
  g_autoptr(MscGraph) g = msc_zoo_build(data, &e);
  g_assert_no_error(e);
  verify(g);
  check_every_isa(g, 2);
  MscCpuStats s = stats();
  g_assert_cmpuint(s.n_bn_folded, >, 0);
  g_assert_cmpuint(s.n_steps, <, s.n_nodes);
}

static void test_plan_bounds(gconstpointer data) {
  g_test_summary("memory plan: lower bound <= arena <= sum of buffers, live buffers never overlap, reuse pays");
  NEED_CPU();
  GError *e = NULL;
  g_autoptr(MscGraph) g = msc_zoo_build(data, &e);
  g_assert_no_error(e);
  verify(g);
  check_against_ref(g, 4, NULL, NULL, 0);
  MscCpuStats s = stats();
  g_assert_cmpuint(s.n_buffers, >, 4);
  g_assert_cmpuint(s.arena_bytes, >=, s.lower_bound_bytes);
  g_assert_cmpuint(s.arena_bytes, <=, s.sum_bytes);
  g_assert_cmpuint(s.arena_bytes, <, s.sum_bytes / 2);
  g_assert_cmpint(s.overlap_ok, ==, 1);
  g_assert_cmpuint(s.arena_bytes * 4, <=, s.lower_bound_bytes * 5); /* within 1.25x of the bound */
}

static void test_replan(void) {
  g_test_summary("a new input shape builds a new plan; a shape seen before reuses its plan; no allocation in "
                 "the run loop");
  NEED_CPU();
  GError *e = NULL;
  g_autoptr(MscGraph) g = msc_zoo_build("resnet_mini", &e);
  g_assert_no_error(e);
  verify(g);
  MscSession *s = msc_session_new(g, "cpu", NULL, &e);
  g_assert_no_error(e);
  const int64_t batches[] = {1, 1, 3, 1, 3, 2};
  const int expect_new[] = {1, 0, 1, 0, 0, 1};
  for (size_t i = 0; i < G_N_ELEMENTS(batches); i++) {
    MscTensor *in = rand_input(g->inputs[0], batches[i], 5);
    MscCpuStats before = stats();
    MscTensor **out = NULL;
    msc_session_run(s, (const MscTensor *const *)&in, 1, &out, NULL, &e);
    g_assert_no_error(e);
    MscCpuStats after = stats();
    g_assert_cmpuint(after.plans_built - before.plans_built, ==, (guint64)expect_new[i]);
    g_assert_cmpuint(after.run_allocs, ==, before.run_allocs);
    g_assert_cmpint(out[0]->dims[0], ==, batches[i]);
    free_outputs(out, g->n_outputs);
    msc_tensor_free(in);
  }
  msc_session_free(s);
}

static void test_threads_identical(gconstpointer data) {
  g_test_summary("threads=1 and threads=2 give bitwise identical outputs");
  NEED_CPU();
  GError *e = NULL;
  g_autoptr(MscGraph) g = msc_zoo_build(data, &e);
  g_assert_no_error(e);
  verify(g);
  MscTensor *in = rand_input(g->inputs[0], 2, 9);
  const char *k[] = {"threads"}, *v1[] = {"1"}, *v2[] = {"2"};
  MscTensor **a = run_on(g, "cpu", k, v1, 1, &in);
  MscTensor **b = run_on(g, "cpu", k, v2, 1, &in);
  assert_same_outputs(a, b, g->n_outputs);
  free_outputs(a, g->n_outputs);
  free_outputs(b, g->n_outputs);
  msc_tensor_free(in);
}

typedef struct {
  int before, after;
  const MscNode *first_after;
  int stop_at;
} HookLog;

static int hook(void *user, MscHookPhase ph, const MscNode *n, const MscTensor *const *in, uint32_t ni,
                const MscTensor *const *out, uint32_t no, double ms) {
  HookLog *h = user;
  if (ph == MSC_HOOK_BEFORE) {
    h->before++;
    g_assert_cmpuint(ni, ==, n->n_inputs);
  } else {
    h->after++;
    g_assert_cmpuint(no, >=, 1);
    g_assert_nonnull(out[0]);
    g_assert_cmpfloat(ms, >=, 0.0);
    if (!h->first_after) h->first_after = n;
  }
  return h->stop_at && h->after == h->stop_at;
}

static void test_hooks(void) {
  g_test_summary("hooks: one BEFORE/AFTER pair per executed step, a fused group names its Conv; non-zero stops");
  NEED_CPU();
  g_autoptr(MscGraph) g = conv_bn_relu();
  GError *e = NULL;
  MscSession *s = msc_session_new(g, "cpu", NULL, &e);
  g_assert_no_error(e);
  MscTensor *in = rand_input(g->inputs[0], 1, 3);
  HookLog h = {0};
  MscRunHooks hooks = {hook, &h};
  MscTensor **out = NULL;
  msc_session_run(s, (const MscTensor *const *)&in, 1, &out, &hooks, &e);
  g_assert_no_error(e);
  free_outputs(out, 1);
  g_assert_cmpint(h.before, ==, 1);
  g_assert_cmpint(h.after, ==, 1);
  g_assert_cmpstr(h.first_after->name, ==, "conv");
  HookLog stop = {.stop_at = 1};
  hooks.user = &stop;
  out = NULL;
  g_assert_false(msc_session_run(s, (const MscTensor *const *)&in, 1, &out, &hooks, &e));
  g_assert_nonnull(e);
  g_assert_nonnull(strstr(e->message, "stopped by hook"));
  g_clear_error(&e);
  msc_session_free(s);
  msc_tensor_free(in);
}

static void test_bad_options(void) {
  g_test_summary("bad runner options are refused at compile with a message naming the option");
  NEED_CPU();
  g_autoptr(MscGraph) g = conv_bn_relu();
  const char *cases[][2] = {{"threads", "0"}, {"threads", "x"}, {"isa", "sse9"}, {"fast_conv", "maybe"}, {"bogus", "1"}};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    GError *e = NULL;
    MscOptions o = {&cases[i][0], &cases[i][1], 1};
    MscSession *s = msc_session_new(g, "cpu", &o, &e);
    g_assert_null(s);
    g_assert_nonnull(e);
    g_assert_nonnull(strstr(e->message, cases[i][0]));
    g_error_free(e);
  }
}


static void test_fastops(void) {
  g_test_summary("Pools, Concat, affine chains (BN+Relu, Mul+Add+Clip), per-plane and same-shape binary ops, LRN, "
                 "Flatten/Dropout/Reshape aliases, Gemm and MatMul on fast kernels match ref at every ISA level");
  NEED_CPU();
  g_autoptr(MscGraph) g = fastops_graph();
  check_every_isa(g, 2);
  check_every_isa(g, 1);
  const char *k[] = {"fast_ops"}, *v[] = {"false"};
  check_against_ref(g, 2, k, v, 1);
  /* the passes took the fast paths (batch 1: the last plan) */
  check_against_ref(g, 1, NULL, NULL, 0);
  MscCpuStats st = stats();
  g_assert_cmpuint(st.n_affine_steps, ==, 2); /* BN+Relu, Mul+Add+Clip */
  g_assert_cmpuint(st.n_affine_nodes, ==, 5);
  g_assert_cmpuint(st.n_alias, ==, 3);                         /* Flatten, Dropout, Reshape */
  g_assert_cmpuint(st.n_fast_ops, ==, 12); /* every other non-conv step */
  g_assert_cmpuint(st.arena_bytes, <=, st.sum_bytes);
  g_assert_cmpint(st.overlap_ok, ==, 1);
}

static void test_fastops_threads(void) {
  g_test_summary("the fast non-conv kernels give bitwise identical outputs at 1 and 2 threads (sizes past the "
                 "pool threshold), and Concat/aliases are bitwise equal to ref");
  NEED_CPU();
  g_autoptr(MscGraph) g = fastops_graph();
  MscTensor *in = rand_input(g->inputs[0], 3, 5);
  const char *k[] = {"threads"}, *v1[] = {"1"}, *v2[] = {"2"};
  MscTensor **a = run_on(g, "cpu", k, v1, 1, &in);
  MscTensor **b = run_on(g, "cpu", k, v2, 1, &in);
  MscTensor **r = run_on(g, "ref", NULL, NULL, 0, &in);
  assert_same_outputs(a, b, g->n_outputs);
  /* output 2 is the Concat of MaxPool (exact) and AveragePool: the MaxPool half is bitwise */
  size_t half = r[2]->nbytes / 2 / 3; /* per image: [16 max | 16 avg] planes */
  for (int n = 0; n < 3; n++)
    g_assert_cmpint(memcmp((char *)a[2]->data + 2 * n * half, (char *)r[2]->data + 2 * n * half, half), ==, 0);
  free_outputs(a, g->n_outputs);
  free_outputs(b, g->n_outputs);
  free_outputs(r, g->n_outputs);
  msc_tensor_free(in);
}

/* In-place Concat (plan.c): x[N,8,10,10] -> conv a (4 ch), conv b (6 ch,
 * relu) -> cat1 = Concat(a, b, x) -> conv c (5 ch) -> cat2 = Concat(cat1,
 * c) (nested), cat3 = Concat(c, c) (c already placed; duplicate), d =
 * Sigmoid(x) viewed by a Reshape -> cat4 = Concat(d, a2) with a2 = conv(x);
 * cat5 = Concat(a, a2) on axis 2 (outer > 1). Outputs: cat2, cat3, cat4, cat5 and
 * the Reshape view. */
static MscGraph *concat_graph(void) {
  MscGraph *g = msc_graph_new("concat-inplace");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {-1, 8, 10, 10}, wa[] = {4, 8, 3, 3}, wb[] = {6, 8, 1, 1}, wc[] = {5, 18, 3, 3}, pads[] = {1, 1, 1, 1};
  int64_t shp[] = {0, -1};
  input(g, "x", 4, xd);
  init_rand(g, "wa", 4, wa, -0.3f, 0.3f, 41);
  init_rand(g, "wb", 4, wb, -0.3f, 0.3f, 42);
  init_rand(g, "wc", 4, wc, -0.3f, 0.3f, 43);
  msc_node_add_attr_ints(node(g, "ca", "Conv", "x,wa", "a"), "pads", 4, pads);
  node(g, "cb", "Conv", "x,wb", "b0");
  node(g, "rb", "Relu", "b0", "b");
  attr_int(node(g, "cat1", "Concat", "a,b,x", "cat1"), "axis", 1);
  msc_node_add_attr_ints(node(g, "cc", "Conv", "cat1,wc", "c"), "pads", 4, pads);
  attr_int(node(g, "cat2", "Concat", "cat1,c", "cat2"), "axis", 1);
  attr_int(node(g, "cat3", "Concat", "c,c", "cat3"), "axis", 1);
  node(g, "sig", "Sigmoid", "x", "d");
  init_i64(g, "shape", 2, shp);
  node(g, "rs", "Reshape", "d,shape", "dv");
  msc_node_add_attr_ints(node(g, "ca2", "Conv", "x,wa", "a2"), "pads", 4, pads);
  attr_int(node(g, "cat4", "Concat", "d,a2", "cat4"), "axis", 1);
  attr_int(node(g, "cat5", "Concat", "a,a2", "cat5"), "axis", 2);
  msc_graph_add_output(g, val(g, "cat2"));
  msc_graph_add_output(g, val(g, "cat3"));
  msc_graph_add_output(g, val(g, "cat4"));
  msc_graph_add_output(g, val(g, "cat5"));
  msc_graph_add_output(g, val(g, "dv"));
  verify(g);
  return g;
}

static void test_concat_inplace(void) {
  g_test_summary("Concat inputs produced straight into the Concat's output (nested chains, duplicates, views, graph "
                 "inputs and outer > 1 excluded) give ref's values at every ISA level and batch 1 and 2, with a "
                 "valid arena");
  NEED_CPU();
  g_autoptr(MscGraph) g = concat_graph();
  check_every_isa(g, 1);
  /* batch 1: a, b in cat1; cat1, c in cat2; a2 in cat4; not x (input), c again (cat3), d (viewed), cat5 (axis 2) */
  check_against_ref(g, 1, NULL, NULL, 0);
  MscCpuStats st = stats();
  g_assert_cmpuint(st.n_concat_inplace, ==, 5);
  g_assert_cmpint(st.overlap_ok, ==, 1);
  g_assert_cmpuint(st.arena_bytes, >=, st.lower_bound_bytes);
  check_every_isa(g, 2); /* outer = 2: every Concat copies */
  st = stats();
  g_assert_cmpuint(st.n_concat_inplace, ==, 0);
}

/* Transposes: the channel shuffle x[N,6,5,7] -> Reshape [N,2,3,5,7] ->
 * perm (0,2,1,3,4) -> Reshape [N,6,5,7] (blocks of 35), perm (0,2,1,3)
 * (blocks of 7), perm (1,0,2,3) (batch moved; blocks of 210); and the last
 * axis permuted as a swap of two axis groups (batched 2-D transposes):
 * (0,1,3,2), NCHW -> NHWC (0,2,3,1), NHWC -> NCHW (0,3,1,2). */
static void test_transpose(void) {
  g_test_summary("Transpose keeping the innermost axes runs as block copies (shuffle, middle-axis swap, batch "
                 "swap), swaps of two axis groups as batched 2-D transposes; all bitwise equal to ref at batch 1 "
                 "and 3");
  NEED_CPU();
  g_autoptr(MscGraph) g = msc_graph_new("transpose");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {-1, 6, 5, 7}, s5[] = {0, 2, 3, 5, 7}, s4[] = {0, 6, 5, 7};
  int64_t p5[] = {0, 2, 1, 3, 4}, pa[] = {0, 2, 1, 3}, pb[] = {1, 0, 2, 3}, pc[] = {0, 1, 3, 2};
  int64_t pd[] = {0, 2, 3, 1}, pe[] = {0, 3, 1, 2};
  input(g, "x", 4, xd);
  init_i64(g, "s5", 5, s5);
  init_i64(g, "s4", 4, s4);
  node(g, "r5", "Reshape", "x,s5", "x5");
  msc_node_add_attr_ints(node(g, "sh", "Transpose", "x5", "t5"), "perm", 5, p5);
  node(g, "r4", "Reshape", "t5,s4", "y1");
  msc_node_add_attr_ints(node(g, "ta", "Transpose", "x", "y2"), "perm", 4, pa);
  msc_node_add_attr_ints(node(g, "tb", "Transpose", "x", "y3"), "perm", 4, pb);
  msc_node_add_attr_ints(node(g, "tc", "Transpose", "x", "y4"), "perm", 4, pc);
  msc_node_add_attr_ints(node(g, "td", "Transpose", "x", "y5"), "perm", 4, pd);
  msc_node_add_attr_ints(node(g, "te", "Transpose", "x", "y6"), "perm", 4, pe);
  msc_graph_add_output(g, val(g, "y1"));
  msc_graph_add_output(g, val(g, "y2"));
  msc_graph_add_output(g, val(g, "y3"));
  msc_graph_add_output(g, val(g, "y4"));
  msc_graph_add_output(g, val(g, "y5"));
  msc_graph_add_output(g, val(g, "y6"));
  verify(g);
  for (int64_t batch = 1; batch <= 3; batch += 2) {
    MscTensor *in = rand_input(g->inputs[0], batch, 17);
    MscTensor **a = run_on(g, "cpu", NULL, NULL, 0, &in);
    MscCpuStats st = stats();
    g_assert_cmpuint(st.n_fast_ops, ==, 6); /* three block-copy transposes, three group swaps */
    MscTensor **r = run_on(g, "ref", NULL, NULL, 0, &in);
    assert_same_outputs(a, r, g->n_outputs);
    free_outputs(a, g->n_outputs);
    free_outputs(r, g->n_outputs);
    msc_tensor_free(in);
  }
}

/* Runs @g (batch 1, input from @seed) on cpu at 1 and 2 threads: @n_fast fast ops, outputs bitwise
 * equal to ref. */
static void threads_vs_ref(MscGraph *g, uint32_t seed, uint32_t n_fast) {
  MscTensor *in = rand_input(g->inputs[0], 1, seed);
  MscTensor **r = run_on(g, "ref", NULL, NULL, 0, &in);
  const char *k[] = {"threads"}, *v[][1] = {{"1"}, {"2"}};
  for (int t = 0; t < 2; t++) {
    MscTensor **a = run_on(g, "cpu", k, v[t], 1, &in);
    g_assert_cmpuint(stats().n_fast_ops, ==, n_fast);
    assert_same_outputs(a, r, g->n_outputs);
    free_outputs(a, g->n_outputs);
  }
  free_outputs(r, g->n_outputs);
  msc_tensor_free(in);
}

/* Group-swap transposes big enough for the pool (NHWC <-> NCHW of [1, 40, 40, 48] and a batch of 3
 * [40, 48] matrices), at 1 and 2 threads, against ref. */
static void test_transpose_threads(void) {
  g_test_summary("NHWC <-> NCHW transposes of 76800 elements split over 2 threads (column chunks per plane) "
                 "equal ref bitwise");
  NEED_CPU();
  g_autoptr(MscGraph) g = msc_graph_new("transpose2");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {1, 40, 40, 48}, pd[] = {0, 3, 1, 2}, pe[] = {0, 2, 3, 1}, pf[] = {0, 1, 3, 2};
  input(g, "x", 4, xd);
  msc_node_add_attr_ints(node(g, "td", "Transpose", "x", "y1"), "perm", 4, pd);
  msc_node_add_attr_ints(node(g, "te", "Transpose", "x", "y2"), "perm", 4, pe);
  msc_node_add_attr_ints(node(g, "tf", "Transpose", "x", "y3"), "perm", 4, pf);
  msc_graph_add_output(g, val(g, "y1"));
  msc_graph_add_output(g, val(g, "y2"));
  msc_graph_add_output(g, val(g, "y3"));
  verify(g);
  threads_vs_ref(g, 23, 3);
}

/* NHWC -> NCHW with 2, 3 and 4 channels (images): rows of all channels per task, the 3- and 4-channel
 * shuffles; 181 x 183 pixels: not a multiple of the 4-row step (the scalar tail runs too) and at least 65536
 * elements, so 2 threads split the rows. */
static void test_transpose_narrow(void) {
  g_test_summary("NHWC -> NCHW transposes of 2, 3 and 4 channels (row chunks, vector shuffles and tail) equal ref "
                 "bitwise at 1 and 2 threads");
  NEED_CPU();
  for (int64_t c = 2; c <= 4; c++) {
    g_autoptr(MscGraph) g = msc_graph_new("transpose-narrow");
    msc_graph_set_opset(g, "", 13);
    int64_t xd[] = {1, 181, 183, c}, pe[] = {0, 3, 1, 2};
    input(g, "x", 4, xd);
    msc_node_add_attr_ints(node(g, "te", "Transpose", "x", "y"), "perm", 4, pe);
    msc_graph_add_output(g, val(g, "y"));
    verify(g);
    threads_vs_ref(g, (uint32_t)(29 + c), 1);
  }
}

/* Resize on the pool: x[1,24,32,48] -> linear half_pixel x(2, 1.5) (scales; 110592 outputs: the pool)
 * -> y1; cubic to sizes [1,24,13,17] (downscale: zero-weight taps, exclude_outside) -> y2; nearest x2
 * -> y3 (the reference kernel); y1 -> Resize linear align_corners back to [32,48] -> y4 (reads a
 * planned, not constant, input). */
static void test_resize_pool(void) {
  g_test_summary("Resize linear / cubic over the last two axes splits its planes over the pool: bitwise equal to "
                 "ref at 1 and 2 threads; nearest stays on the reference kernel");
  NEED_CPU();
  g_autoptr(MscGraph) g = msc_graph_new("resize");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {1, 24, 32, 48}, one[] = {4};
  input(g, "x", 4, xd);
  MscTensor *sc = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, one, NULL), *s2 = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, one, NULL);
  const float scv[4] = {1, 1, 2, 1.5f}, s2v[4] = {1, 1, 2, 2};
  memcpy(sc->data, scv, sizeof scv);
  memcpy(s2->data, s2v, sizeof s2v);
  msc_graph_add_initializer(g, "sc", sc);
  msc_graph_add_initializer(g, "s2", s2);
  init_i64(g, "sz", 4, (const int64_t[]){1, 24, 13, 17});
  init_i64(g, "back", 4, (const int64_t[]){1, 24, 32, 48});
  add_attr_string(node(g, "r1", "Resize", "x,-,sc", "y1"), "mode", "linear");
  MscNode *r2 = node(g, "r2", "Resize", "x,-,-,sz", "y2");
  add_attr_string(r2, "mode", "cubic");
  attr_int(r2, "exclude_outside", 1);
  node(g, "r3", "Resize", "x,-,s2", "y3");
  MscNode *r4 = node(g, "r4", "Resize", "y1,-,-,back", "y4");
  add_attr_string(r4, "mode", "linear");
  add_attr_string(r4, "coordinate_transformation_mode", "align_corners");
  for (int k = 1; k <= 4; k++) {
    char nm[4] = {'y', (char)('0' + k), 0};
    msc_graph_add_output(g, val(g, nm));
  }
  verify(g);
  threads_vs_ref(g, 29, 3); /* fast: r1, r2, r4 */
}

/* ShuffleNet v1's unit head: x[1,12,H,W] -> Conv 1x1 group 3 -> Relu ->
 * Reshape [1,3,4,10,10] -> Transpose (0,2,1,3,4) -> Reshape [1,12,10,10]
 * -> depthwise Conv 3x3 pad 1 -> y (H = W = @hw, -1: unknown). @also_out:
 * the Transpose output is a graph output too (the shuffle must then stay a
 * step of its own). */
static MscGraph *shuffle_dw(gboolean also_out, int64_t hw) {
  MscGraph *g = msc_graph_new("shuffle-dw");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {1, 12, hw, hw}, w1[] = {12, 4, 1, 1}, w2[] = {12, 1, 3, 3}, cd[] = {12}, pads[] = {1, 1, 1, 1};
  int64_t s5[] = {1, 3, 4, 10, 10}, s4[] = {1, 12, 10, 10}, perm[] = {0, 2, 1, 3, 4};
  input(g, "x", 4, xd);
  init_rand(g, "w1", 4, w1, -0.5f, 0.5f, 41);
  init_rand(g, "b1", 1, cd, -0.2f, 0.2f, 42);
  init_rand(g, "w2", 4, w2, -0.5f, 0.5f, 43);
  init_i64(g, "s5", 5, s5);
  init_i64(g, "s4", 4, s4);
  attr_int(node(g, "gconv", "Conv", "x,w1,b1", "c1"), "group", 3);
  node(g, "relu", "Relu", "c1", "a");
  node(g, "split", "Reshape", "a,s5", "r1");
  msc_node_add_attr_ints(node(g, "shuffle", "Transpose", "r1", "t"), "perm", 5, perm);
  node(g, "merge", "Reshape", "t,s4", "r2");
  MscNode *dw = node(g, "dw", "Conv", "r2,w2", "y");
  attr_int(dw, "group", 12);
  msc_node_add_attr_ints(dw, "pads", 4, pads);
  msc_graph_add_output(g, val(g, "y"));
  if (also_out)
    msc_graph_add_output(g, val(g, "t"));
  verify(g);
  return g;
}

/* Pad (spatial pads t, l, b, r) of @in -> @out, fill @fill (NULL: none, zeros). */
static void pad_spatial(MscGraph *g, const char *name, const char *in, const char *out, const int64_t tlbr[4],
                        const char *fill) {
  g_autofree char *pn = g_strdup_printf("%s_pads", name);
  g_autofree char *ins = fill ? g_strdup_printf("%s,%s,%s", in, pn, fill) : g_strdup_printf("%s,%s", in, pn);
  const int64_t pv[8] = {0, 0, tlbr[0], tlbr[1], 0, 0, tlbr[2], tlbr[3]};
  init_i64(g, pn, 8, pv);
  node(g, name, "Pad", ins, out);
}

/* Zero Pads before convs (M-LSD's stride-2 depthwise blocks): x[1,8,15,14] -> Pad (bottom, right 1) ->
 * depthwise 3x3 stride 2 -> y; x -> Pad (top 1, left 2, right 1) -> 3x3 conv 8 -> 6 with pads (1, 0, 0, 1)
 * -> Relu -> y2 (both folded); x -> Pad fill 0.5 -> 3x3 conv -> y3, x -> Pad -> 3x3 conv -> y4 with the
 * Pad's output a graph output too, x -> Pad of 3 rows -> 3x3 conv -> y5 (a pad reaching past the kernel's
 * extent) (not folded). */
static MscGraph *pad_conv(void) {
  MscGraph *g = msc_graph_new("pad-conv");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {1, 8, 15, 14}, wd[] = {8, 1, 3, 3}, wc[] = {6, 8, 3, 3}, cd[] = {8}, c6[] = {6};
  input(g, "x", 4, xd);
  init_rand(g, "wd", 4, wd, -0.5f, 0.5f, 51);
  init_rand(g, "bd", 1, cd, -0.2f, 0.2f, 52);
  init_rand(g, "wc", 4, wc, -0.5f, 0.5f, 53);
  init_rand(g, "bc", 1, c6, -0.2f, 0.2f, 54);
  MscTensor *half = msc_tensor_new(MSC_DTYPE_FLOAT32, 0, NULL, NULL);
  *(float *)half->data = 0.5f;
  msc_graph_add_initializer(g, "half", half);
  pad_spatial(g, "pad1", "x", "p1", (const int64_t[]){0, 0, 1, 1}, NULL);
  MscNode *dw = node(g, "dw", "Conv", "p1,wd,bd", "y");
  attr_int(dw, "group", 8);
  msc_node_add_attr_ints(dw, "strides", 2, (const int64_t[]){2, 2});
  pad_spatial(g, "pad2", "x", "p2", (const int64_t[]){1, 2, 0, 1}, NULL);
  msc_node_add_attr_ints(node(g, "c2", "Conv", "p2,wc,bc", "c2o"), "pads", 4, (const int64_t[]){1, 0, 0, 1});
  node(g, "relu", "Relu", "c2o", "y2");
  pad_spatial(g, "pad3", "x", "p3", (const int64_t[]){1, 1, 1, 1}, "half");
  node(g, "c3", "Conv", "p3,wc,bc", "y3");
  pad_spatial(g, "pad4", "x", "p4", (const int64_t[]){1, 1, 1, 1}, NULL);
  node(g, "c4", "Conv", "p4,wc,bc", "y4");
  pad_spatial(g, "pad5", "x", "p5", (const int64_t[]){3, 0, 0, 0}, NULL);
  node(g, "c5", "Conv", "p5,wc,bc", "y5");
  const char *outs[] = {"y", "y2", "y3", "y4", "p4", "y5"};
  for (int i = 0; i < 6; i++) msc_graph_add_output(g, val(g, outs[i]));
  verify(g);
  return g;
}

static void test_pad_conv(void) {
  g_test_summary("a zero Pad read only by a conv is folded into the conv's padding (bottom/right before a "
                 "stride-2 depthwise conv, asymmetric before a conv with pads of its own): matches ref at every "
                 "ISA level; a Pad with another fill, a Pad whose output is also read, or wider than the kernel stays");
  NEED_CPU();
  g_autoptr(MscGraph) g = pad_conv();
  check_every_isa(g, 1);
  MscCpuStats st = stats();
  g_assert_cmpuint(st.n_pads_folded, ==, 2);
  check_every_isa(g, 2); /* batch 2 */
  g_setenv("MSC_FOLD_PAD", "0", TRUE);
  check_every_isa(g, 1);
  g_unsetenv("MSC_FOLD_PAD");
  g_assert_cmpuint(stats().n_pads_folded, ==, 0);
}

typedef struct {
  float c1[1200];   /* the group conv's output, as its AFTER hook saw it */
  gboolean seen_dw; /* the depthwise conv's BEFORE hook checked its input */
} ShuffleHook;

static int shuffle_hook(void *user, MscHookPhase ph, const MscNode *n, const MscTensor *const *in, uint32_t ni,
                        const MscTensor *const *out, uint32_t no, double ms) {
  ShuffleHook *h = user;
  (void)no, (void)ms;
  if (ph == MSC_HOOK_AFTER && !strcmp(n->name, "gconv")) memcpy(h->c1, out[0]->data, sizeof h->c1);
  if (ph == MSC_HOOK_BEFORE && !strcmp(n->name, "dw")) {
    /* the Conv is shown its own input: the shuffled planes */
    g_assert_cmpuint(ni, >=, 1);
    g_assert_nonnull(in[0]);
    g_assert_cmpint(in[0]->rank, ==, 4);
    g_assert_cmpint(in[0]->dims[1], ==, 12);
    for (int c = 0; c < 12; c++)
      g_assert_cmpint(memcmp((const float *)in[0]->data + c * 100, h->c1 + ((c % 3) * 4 + c / 3) * 100,
                             100 * sizeof(float)), ==, 0);
    h->seen_dw = TRUE;
  }
  return 0;
}

static void test_shuffle_dw(void) {
  g_test_summary("a channel shuffle (Reshape, Transpose, Reshape) feeding a depthwise conv is read in place: "
                 "matches ref at every ISA level and on the reference conv path, hooks see the shuffled input, "
                 "not fused when the Transpose output is also read, a wrong input size is a clean error");
  NEED_CPU();
  g_autoptr(MscGraph) g = shuffle_dw(FALSE, 10);
  check_every_isa(g, 1);
  MscCpuStats st = stats();
  g_assert_cmpuint(st.n_shuffles_fused, ==, 1);
  g_assert_cmpuint(st.n_steps, ==, 2); /* Conv+Relu, Shuffle+Conv */
  /* hooks: the depthwise conv's input is the shuffle of the group conv's output */
  MscTensor *in = rand_input(g->inputs[0], 1, 3);
  ShuffleHook h = {0};
  const MscRunHooks hooks = {shuffle_hook, &h};
  free_outputs(run_on_hooks(g, "cpu", NULL, NULL, 0, &in, &hooks), 1);
  g_assert_true(h.seen_dw);
  msc_tensor_free(in);
  /* the shuffle's output read elsewhere too: a step of its own */
  g_autoptr(MscGraph) g2 = shuffle_dw(TRUE, 10);
  check_every_isa(g2, 1);
  g_assert_cmpuint(stats().n_shuffles_fused, ==, 0);
  /* an input whose size the Reshape constants do not fit: an error naming the Reshape */
  g_autoptr(MscGraph) g3 = shuffle_dw(FALSE, -1); /* H, W unknown until run */
  GError *e = NULL;
  MscSession *s = msc_session_new(g3, "cpu", NULL, &e);
  g_assert_no_error(e);
  const int64_t d12[] = {1, 12, 12, 12};
  in = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, d12, NULL);
  MscTensor **out = NULL;
  g_assert_false(msc_session_run(s, (const MscTensor *const *)&in, 1, &out, NULL, &e));
  g_assert_nonnull(e);
  g_assert_nonnull(strstr(e->message, "'split' (Reshape)"));
  g_clear_error(&e);
  msc_session_free(s);
  msc_tensor_free(in);
}

/* Pool shapes around the stride-2 vector paths (windows 2, 3 and 5;
 * widths below, at and past whole vectors, odd and even; pads on either
 * side, ceil mode with a last window over padding only) and a stride-3
 * case on the generic path. MaxPool: bitwise equal to ref at every ISA
 * level. AveragePool (count_include_pad 0 and 1): within the tolerance
 * of ref (another summation order) and bitwise equal across ISA levels
 * (the vector sums keep the scalar order). */
static void test_pool_shapes(void) {
  g_test_summary("Max/AveragePool strides 1, 2 (vector even/odd picks) and 3 match ref (max: exactly) at every "
                 "ISA level over windows 2/3/5, odd and even widths, pads, ceil mode and count_include_pad");
  NEED_CPU();
  /* H, W, k, s, pad left/right (top/bottom alike), ceil_mode */
  static const int64_t cases[][7] = {
      {111, 111, 3, 2, 0, 0, 0}, {48, 48, 3, 2, 1, 1, 0}, {13, 37, 3, 2, 0, 0, 1}, {9, 40, 2, 2, 0, 0, 0},
      {7, 35, 5, 2, 2, 2, 0},    {6, 17, 3, 2, 1, 0, 1},  {5, 3, 3, 2, 1, 1, 0},   {10, 70, 3, 3, 1, 1, 1},
      {28, 28, 3, 2, 1, 1, 0}, /* 14 columns: a last vector overlapping the one before */
      {27, 27, 3, 2, 0, 0, 0}, /* max: 13 columns, an overlapping last vector */
      /* stride 1 (inception's pool branches): overlapping last vectors in both passes */
      {14, 14, 3, 1, 1, 1, 0}, {7, 9, 3, 1, 1, 1, 0}, {12, 29, 3, 1, 1, 1, 1}, {10, 20, 2, 1, 0, 0, 0},
  };
  static const char *const ops[] = {"MaxPool", "AveragePool", "AveragePool"};
  for (size_t o = 0; o < G_N_ELEMENTS(ops); o++)
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
      const int64_t *c = cases[i];
      g_autoptr(MscGraph) g = msc_graph_new("pool");
      msc_graph_set_opset(g, "", 13);
      int64_t xd[] = {-1, 3, c[0], c[1]}, k[] = {c[2], c[2]}, s[] = {c[3], c[3]}, pads[] = {c[4], c[4], c[5], c[5]};
      input(g, "x", 4, xd);
      MscNode *n = node(g, "pool", ops[o], "x", "y");
      msc_node_add_attr_ints(n, "kernel_shape", 2, k);
      msc_node_add_attr_ints(n, "strides", 2, s);
      msc_node_add_attr_ints(n, "pads", 4, pads);
      attr_int(n, "ceil_mode", c[6]);
      if (o == 2)
        attr_int(n, "count_include_pad", 1);
      msc_graph_add_output(g, val(g, "y"));
      verify(g);
      MscTensor *in = rand_input(g->inputs[0], 2, 11 + (uint32_t)i);
      MscTensor **r = run_on(g, "ref", NULL, NULL, 0, &in);
      MscTensor **first = NULL;
      for (int l = 0; isa_levels[l]; l++) {
        if (!isa_ok(l)) continue;
        const char *kk[] = {"isa"}, *vv[] = {isa_levels[l]};
        MscTensor **a = run_on(g, "cpu", kk, vv, 1, &in);
        g_assert_cmpuint(a[0]->nbytes, ==, r[0]->nbytes);
        if (o == 0 && memcmp(a[0]->data, r[0]->data, r[0]->nbytes) != 0)
          g_error("%s case %zu (%s): cpu differs from ref", ops[o], i, isa_levels[l]);
        assert_close(a[0], r[0]);
        if (first && memcmp(a[0]->data, first[0]->data, r[0]->nbytes) != 0)
          g_error("%s case %zu: %s differs from scalar", ops[o], i, isa_levels[l]);
        if (first)
          free_outputs(a, 1);
        else
          first = a;
      }
      MscCpuStats st = stats();
      g_assert_cmpuint(st.n_fast_ops, ==, 1); /* the fast pool ran, not a fallback */
      free_outputs(first, 1);
      free_outputs(r, 1);
      msc_tensor_free(in);
    }
}

/* x -> Reshape -> Flatten -> Identity -> y: views only, bitwise the input */
static void test_alias_chain(void) {
  g_test_summary("Reshape -> Flatten -> Identity run as views of the input (no buffers) and give its bytes");
  NEED_CPU();
  g_autoptr(MscGraph) g = msc_graph_new("alias");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {2, 4, 6, 6}, shp[] = {2, 4, 36};
  input(g, "x", 4, xd);
  init_i64(g, "shape", 3, shp);
  node(g, "rs", "Reshape", "x,shape", "r");
  node(g, "fl", "Flatten", "r", "f");
  node(g, "id", "Identity", "f", "y");
  msc_graph_add_output(g, val(g, "y"));
  verify(g);
  MscTensor *in = rand_input(g->inputs[0], 2, 3);
  MscTensor **a = run_on(g, "cpu", NULL, NULL, 0, &in);
  MscCpuStats st = stats();
  g_assert_cmpuint(st.n_alias, ==, 3);
  g_assert_cmpuint(st.n_buffers, ==, 0);
  g_assert_cmpint(a[0]->rank, ==, 2);
  g_assert_cmpint(a[0]->dims[1], ==, 4 * 36);
  g_assert_cmpuint(a[0]->nbytes, ==, in->nbytes);
  g_assert_cmpint(memcmp(a[0]->data, in->data, in->nbytes), ==, 0);
  free_outputs(a, 1);
  msc_tensor_free(in);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  GError *e = NULL;
  if (!msc_ops_register_builtins(&e) || !msc_plugins_load_all(&e)) {
    g_printerr("test-cpu-runner: init: %s\n", e->message);
    return 1;
  }
  have_cpu = msc_registry_get("msc.runner.cpu", MSC_REG_RUNNER, TRUE, NULL) != NULL &&
             msc_registry_get("msc.runner.ref", MSC_REG_RUNNER, TRUE, NULL) != NULL;
  void *fp = msc_registry_get("msc.runner.cpu.stats", MSC_REG_FUNCTION, TRUE, NULL);
  memcpy(&stats_fn, &fp, sizeof fp);
  have_cpu = have_cpu && stats_fn;
  g_test_add_func("/cpu/fusion/conv-bn-relu", test_conv_bn_relu);
  g_test_add_func("/cpu/fusion/conv-add-relu-fold-dead", test_conv_add_relu);
  g_test_add_func("/cpu/fusion/not-when-shared", test_no_fusion_when_shared);
  g_test_add_func("/cpu/fusion/conv-hardswish-written-out", test_conv_hardswish);
  for (const char *const *n = msc_zoo_names(); *n; n++) {
    g_autofree char *m = g_strdelimit(g_strdup(*n), "_", '-');
    g_autofree char *p1 = g_strdup_printf("/cpu/zoo/%s/matches-ref-every-isa", m);
    g_autofree char *p2 = g_strdup_printf("/cpu/plan/%s/bounds", m);
    g_autofree char *p3 = g_strdup_printf("/cpu/threads/%s/1-vs-2-identical", m);
    g_test_add_data_func(p1, *n, test_zoo);
    g_test_add_data_func(p2, *n, test_plan_bounds);
    g_test_add_data_func(p3, *n, test_threads_identical);
  }
  g_test_add_func("/cpu/plan/replan-per-shape", test_replan);
  g_test_add_func("/cpu/hooks/fused-group", test_hooks);
  g_test_add_func("/cpu/options/bad", test_bad_options);
  g_test_add_func("/cpu/fastops/match-ref-every-isa", test_fastops);
  g_test_add_func("/cpu/fastops/threads-identical", test_fastops_threads);
  g_test_add_func("/cpu/fastops/alias-chain", test_alias_chain);
  g_test_add_func("/cpu/fastops/pool-shapes", test_pool_shapes);
  g_test_add_func("/cpu/passes/shuffle-depthwise", test_shuffle_dw);
  g_test_add_func("/cpu/passes/pad-conv", test_pad_conv);
  g_test_add_func("/cpu/plan/concat-inplace", test_concat_inplace);
  g_test_add_func("/cpu/fastops/transpose", test_transpose);
  g_test_add_func("/cpu/fastops/transpose-threads", test_transpose_threads);
  g_test_add_func("/cpu/fastops/transpose-narrow", test_transpose_narrow);
  g_test_add_func("/cpu/fastops/resize-pool", test_resize_pool);
  return g_test_run();
}
