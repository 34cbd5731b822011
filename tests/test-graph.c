/* test-graph.c: graph IR, topological order, op resolution, static
 * inference with constant folding, verifier messages, cost counts. */
#include <string.h>

#include "error.h"
#include "graph.h"
#include "graph-builder.h"
#include "ops.h"
#include "tensor.h"


static void input(MscGraph *g, const char *name, int32_t rank, const int64_t *dims) {
  MscValue *v = val(g, name);
  v->dtype = MSC_DTYPE_FLOAT32;
  v->rank = rank;
  memcpy(v->dims, dims, sizeof(int64_t) * (size_t)rank);
  msc_graph_add_input(g, v);
}

static void init_f32(MscGraph *g, const char *name, int32_t rank, const int64_t *dims, float fill) {
  MscTensor *t = msc_tensor_new(MSC_DTYPE_FLOAT32, rank, dims, NULL);
  for (int64_t i = 0; i < msc_tensor_numel(t); i++) ((float *)t->data)[i] = fill;
  msc_graph_add_initializer(g, name, t);
}

static void init_i64(MscGraph *g, const char *name, int64_t n, const int64_t *v) {
  MscTensor *t = msc_tensor_new(MSC_DTYPE_INT64, 1, &n, NULL);
  memcpy(t->data, v, sizeof(int64_t) * (size_t)n);
  msc_graph_add_initializer(g, name, t);
}

/* x[N,3,8,8] -> Conv(4,3x3,pad1) -> Relu -> y */
static MscGraph *small_conv(void) {
  MscGraph *g = msc_graph_new("small");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {-1, 3, 8, 8}, wd[] = {4, 3, 3, 3}, bd[] = {4};
  input(g, "x", 4, xd);
  val(g, "x")->dim_params[0] = g_strdup("N");
  init_f32(g, "w", 4, wd, 0.1f);
  init_f32(g, "b", 1, bd, 0.5f);
  /* added out of order on purpose: sort must fix it */
  node(g, "relu", "Relu", "c", "y");
  MscNode *c = node(g, "conv", "Conv", "x,w,b", "c");
  int64_t pads[] = {1, 1, 1, 1};
  msc_node_add_attr_ints(c, "pads", 4, pads);
  msc_graph_add_output(g, val(g, "y"));
  return g;
}

static void test_graph_sort_and_infer(void) {
  g_test_summary("nodes added out of order are sorted; shapes infer with the symbolic batch kept unknown");
  g_autoptr(MscGraph) g = small_conv();
  g_autoptr(GError) e = NULL;
  g_assert_true(msc_graph_verify(g, &e));
  g_assert_no_error(e);
  g_assert_cmpstr(g->nodes[0]->name, ==, "conv");
  g_assert_cmpstr(g->nodes[1]->name, ==, "relu");
  MscValue *y = msc_graph_find_value(g, "y");
  g_assert_cmpint(y->dtype, ==, MSC_DTYPE_FLOAT32);
  g_assert_cmpint(y->rank, ==, 4);
  g_assert_cmpint(y->dims[0], ==, -1);
  g_assert_cmpint(y->dims[1], ==, 4);
  g_assert_cmpint(y->dims[2], ==, 8);
  g_assert_cmpint(y->dims[3], ==, 8);
  g_assert_cmpint(msc_graph_param_count(g), ==, 4 * 27 + 4);
  g_assert_cmpint(msc_graph_flops(g), ==, 2 * (4 * 8 * 8) * 27); /* per batch item */
}

static void test_graph_sort_errors(void) {
  g_test_summary("a cycle, a value produced twice and an undefined input are refused naming node and value");
  {
    g_autoptr(MscGraph) g = msc_graph_new("cyc");
    int64_t d[] = {2};
    input(g, "x", 1, d);
    node(g, "a", "Add", "x,q", "p");
    node(g, "b", "Relu", "p", "q");
    msc_graph_add_output(g, val(g, "q"));
    g_autoptr(GError) e = NULL;
    g_assert_false(msc_graph_sort(g, &e));
    g_assert_error(e, MSC_ERROR, MSC_ERR_CORRUPT);
    g_assert_nonnull(strstr(e->message, "cycle"));
  }
  {
    g_autoptr(MscGraph) g = msc_graph_new("twice");
    int64_t d[] = {2};
    input(g, "x", 1, d);
    node(g, "a", "Relu", "x", "y");
    node(g, "b", "Relu", "x", "y");
    g_autoptr(GError) e = NULL;
    g_assert_false(msc_graph_sort(g, &e));
    g_assert_nonnull(strstr(e->message, "'y' is already produced"));
    g_assert_nonnull(strstr(e->message, "node 'b' (Relu)"));
  }
  {
    g_autoptr(MscGraph) g = msc_graph_new("undef");
    int64_t d[] = {2};
    input(g, "x", 1, d);
    node(g, "a", "Add", "x,ghost", "y");
    g_autoptr(GError) e = NULL;
    g_assert_false(msc_graph_sort(g, &e));
    g_assert_nonnull(strstr(e->message, "input 'ghost' is not produced"));
  }
}

static void test_graph_verify_errors(void) {
  g_test_summary("unknown op, bad attribute, wrong arity and an unproduced output give clear messages");
  {
    g_autoptr(MscGraph) g = small_conv();
    g_free(g->nodes[0]->op_type);
    g->nodes[0]->op_type = g_strdup("Frobnicate");
    g_autoptr(GError) e = NULL;
    g_assert_false(msc_graph_verify(g, &e));
    g_assert_error(e, MSC_ERROR, MSC_ERR_UNSUPPORTED);
    g_assert_nonnull(strstr(e->message, "UNSUPPORTED op Frobnicate at opset 13"));
  }
  {
    g_autoptr(MscGraph) g = small_conv();
    int64_t zero[] = {0, 1};
    msc_node_add_attr_ints(g->nodes[1], "strides", 2, zero);
    g_autoptr(GError) e = NULL;
    g_assert_false(msc_graph_verify(g, &e));
    g_assert_nonnull(strstr(e->message, "node 'conv' (Conv)"));
    g_assert_nonnull(strstr(e->message, "strides"));
  }
  {
    g_autoptr(MscGraph) g = msc_graph_new("arity");
    int64_t d[] = {1, 3, 4, 4};
    input(g, "x", 4, d);
    node(g, "c", "Conv", "x", "y");
    msc_graph_add_output(g, val(g, "y"));
    g_autoptr(GError) e = NULL;
    g_assert_false(msc_graph_verify(g, &e));
    g_assert_nonnull(strstr(e->message, "node 'c' (Conv)"));
    g_assert_nonnull(strstr(e->message, "inputs"));
  }
  {
    g_autoptr(MscGraph) g = small_conv();
    msc_graph_add_output(g, val(g, "nowhere"));
    g_autoptr(GError) e = NULL;
    g_assert_false(msc_graph_verify(g, &e));
    g_assert_nonnull(strstr(e->message, "graph output 'nowhere'"));
  }
}

static void test_graph_fold_shape_chain(void) {
  g_test_summary("Shape->Gather->Unsqueeze->Concat->Reshape folds to a known shape when input dims are known");
  g_autoptr(MscGraph) g = msc_graph_new("fold");
  msc_graph_set_opset(g, "", 13);
  int64_t xd[] = {2, 3, 4, 5};
  input(g, "x", 4, xd);
  int64_t zero = 0, minus1 = -1, axes0 = 0;
  init_i64(g, "idx0", 1, &zero);
  init_i64(g, "m1", 1, &minus1);
  init_i64(g, "ax", 1, &axes0);
  node(g, "shape", "Shape", "x", "s");
  node(g, "gather", "Gather", "s,idx0", "n");       /* [2] */
  node(g, "concat", "Concat", "n,m1", "target");    /* [2,-1] */
  MscNode *cat = g->nodes[2];
  MscAttr a = {0};
  a.name = g_strdup("axis");
  a.type = MSC_ATTR_INT;
  a.i = 0;
  msc_node_add_attr(cat, &a);
  node(g, "reshape", "Reshape", "x,target", "y");
  msc_graph_add_output(g, val(g, "y"));
  g_autoptr(GError) e = NULL;
  g_assert_true(msc_graph_verify(g, &e));
  MscValue *t = msc_graph_find_value(g, "target");
  g_assert_nonnull(t->value); /* folded */
  g_assert_cmpint(((int64_t *)t->value->data)[0], ==, 2);
  MscValue *y = msc_graph_find_value(g, "y");
  g_assert_cmpint(y->rank, ==, 2);
  g_assert_cmpint(y->dims[0], ==, 2);
  g_assert_cmpint(y->dims[1], ==, 60);
}

static void test_graph_concat_overflow(void) {
  g_test_summary("static inference refuses a Concat whose declared axis sizes sum past INT64_MAX (empty tensors, so no size limit catches it first)");
  g_autoptr(MscGraph) g = msc_graph_new("cat");
  int64_t d[] = {INT64_MAX, 0};
  input(g, "a", 2, d);
  input(g, "b", 2, d);
  node(g, "concat", "Concat", "a,b", "y");
  MscAttr a = {0};
  a.name = g_strdup("axis");
  a.type = MSC_ATTR_INT;
  a.i = 0;
  msc_node_add_attr(g->nodes[0], &a);
  msc_graph_add_output(g, val(g, "y"));
  g_autoptr(GError) e = NULL;
  g_assert_false(msc_graph_verify(g, &e));
  g_assert_nonnull(e);
  g_assert_nonnull(strstr(e->message, "passes INT64_MAX"));
}

static void test_graph_node_execute(void) {
  g_test_summary("node_execute infers, allocates and runs one node; errors name the node");
  g_autoptr(MscGraph) g = small_conv();
  g_assert_true(msc_graph_verify(g, NULL));
  const MscNode *conv = g->nodes[0];
  int64_t xd[] = {1, 3, 8, 8};
  g_autoptr(MscTensor) x = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, xd, NULL);
  for (int i = 0; i < 192; i++) ((float *)x->data)[i] = 1.0f;
  const MscTensor *in[] = {x, msc_graph_find_value(g, "w")->value, msc_graph_find_value(g, "b")->value};
  MscTensor *out[1] = {NULL};
  g_autoptr(GError) e = NULL;
  g_assert_true(msc_node_execute(conv, in, out, &e));
  g_assert_cmpint(out[0]->dims[1], ==, 4);
  /* centre pixel: 27 taps of 1*0.1 + bias 0.5; corner: 12 taps */
  float *y = out[0]->data;
  g_assert_cmpfloat_with_epsilon(y[3 * 8 + 3], 3.2f, 1e-5);
  g_assert_cmpfloat_with_epsilon(y[0], 1.7f, 1e-5);
  msc_tensor_free(out[0]);
  int64_t bad[] = {1, 5, 8, 8}; /* 5 channels vs W's 3 */
  g_autoptr(MscTensor) xb = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, bad, NULL);
  in[0] = xb;
  g_autoptr(GError) e2 = NULL;
  g_assert_false(msc_node_execute(conv, in, out, &e2));
  g_assert_nonnull(strstr(e2->message, "node 'conv' (Conv)"));
  g_assert_null(out[0]);
}

static void test_graph_op_lookup_opsets(void) {
  g_test_summary("op lookup picks the newest definition not newer than the opset; unknown ops are NULL");
  g_assert_true(msc_ops_register_builtins(NULL));
  g_assert_nonnull(msc_op_lookup("", "Conv", 1));
  g_assert_nonnull(msc_op_lookup("ai.onnx", "Conv", 21));
  g_assert_null(msc_op_lookup("", "Frobnicate", 13));
  g_assert_null(msc_op_lookup("com.example", "Conv", 13));
  const MscOpDef *old = msc_op_lookup("", "Squeeze", 11), *new = msc_op_lookup("", "Squeeze", 13);
  g_assert_nonnull(old);
  g_assert_nonnull(new);
  g_assert_cmpint(old->since_version, <=, 11);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/graph/sort-and-infer/conv-relu", test_graph_sort_and_infer);
  g_test_add_func("/graph/sort/errors", test_graph_sort_errors);
  g_test_add_func("/graph/verify/errors", test_graph_verify_errors);
  g_test_add_func("/graph/infer/fold-shape-chain", test_graph_fold_shape_chain);
  g_test_add_func("/graph/node-execute/conv", test_graph_node_execute);
  g_test_add_func("/graph/infer/concat-overflow", test_graph_concat_overflow);
  g_test_add_func("/graph/op-lookup/opsets", test_graph_op_lookup_opsets);
  return g_test_run();
}
