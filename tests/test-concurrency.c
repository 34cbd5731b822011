/* test-concurrency.c: one compiled model run from many threads at once
 * (one run context per thread) gives bitwise the single-threaded outputs;
 * a long soak shows no memory growth. */
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "msc-plugin.h"
#include "ops.h"
#include "plugin.h"
#include "registry.h"
#include "session.h"
#include "tensor.h"

#define N_THREADS 8
#define N_RUNS 500

static MscGraph *tiny_net(void);

static const MscRunnerApi *ref_api(void) {
  msc_ops_register_builtins(NULL);
  msc_plugins_load_all(NULL);
  return msc_registry_get("msc.runner.ref", MSC_REG_RUNNER, TRUE, NULL);
}

typedef struct {
  const MscRunnerApi *api;
  void *compiled;
  const MscTensor *input;
  const MscTensor *expect;
  int mismatches;
  int errors;
} Worker;

static gpointer worker_main(gpointer p) {
  Worker *w = p;
  void *ctx = NULL;
  MscMessage m = {0};
  if (w->api->context_create(w->compiled, &ctx, &m) != MSC_OK) {
    w->errors++;
    return NULL;
  }
  for (int r = 0; r < N_RUNS; r++) {
    MscTensor *out[1] = {NULL};
    const MscTensor *in[1] = {w->input};
    if (w->api->run(ctx, in, 1, out, 1, NULL, &m) != MSC_OK) {
      w->errors++;
      continue;
    }
    if (out[0]->nbytes != w->expect->nbytes || memcmp(out[0]->data, w->expect->data, out[0]->nbytes) != 0)
      w->mismatches++;
    msc_tensor_free(out[0]);
  }
  g_free(m.text);
  w->api->context_destroy(ctx);
  return NULL;
}

static void test_concurrency_shared_compiled_model(void) {
  g_test_summary("8 threads x 500 runs of one compiled model (a context each) equal the single-threaded output bitwise");
  const MscRunnerApi *api = ref_api();
  if (!api) {
    g_test_skip("the ref runner plugin is not built (msc.runner.ref missing)");
    return;
  }
  g_autoptr(GError) e = NULL;
  g_autoptr(MscGraph) g = tiny_net();
  g_assert_true(msc_graph_verify(g, &e));
  g_assert_no_error(e);
  void *compiled = NULL;
  MscMessage m = {0};
  MscOptions none = {0};
  g_assert_cmpint(api->compile(g, &none, &compiled, &m), ==, MSC_OK);
  /* a different input per thread, each with its own single-threaded reference */
  Worker w[N_THREADS];
  MscTensor *inputs[N_THREADS], *expects[N_THREADS];
  for (int t = 0; t < N_THREADS; t++) {
    inputs[t] = msc_tensor_new(MSC_DTYPE_FLOAT32, g->inputs[0]->rank, g->inputs[0]->dims, &e);
    g_assert_no_error(e);
    msc_tensor_fill_random(inputs[t], 100 + (uint32_t)t);
    void *ctx = NULL;
    g_assert_cmpint(api->context_create(compiled, &ctx, &m), ==, MSC_OK);
    const MscTensor *in[1] = {inputs[t]};
    expects[t] = NULL;
    g_assert_cmpint(api->run(ctx, in, 1, &expects[t], 1, NULL, &m), ==, MSC_OK);
    api->context_destroy(ctx);
    w[t] = (Worker){api, compiled, inputs[t], expects[t], 0, 0};
  }
  GThread *th[N_THREADS];
  for (int t = 0; t < N_THREADS; t++) th[t] = g_thread_new("worker", worker_main, &w[t]);
  for (int t = 0; t < N_THREADS; t++) g_thread_join(th[t]);
  /* the inputs differ, so the outputs must too: the comparison below is not vacuous */
  g_assert_cmpint(memcmp(w[0].expect->data, w[1].expect->data, w[0].expect->nbytes), !=, 0);
  for (int t = 0; t < N_THREADS; t++) {
    g_assert_cmpint(w[t].errors, ==, 0);
    g_assert_cmpint(w[t].mismatches, ==, 0);
    msc_tensor_free(inputs[t]);
    msc_tensor_free(expects[t]);
  }
  api->compiled_destroy(compiled);
  g_free(m.text);
}

static long rss_kib(void) {
  g_autofree char *text = NULL;
  if (!g_file_get_contents("/proc/self/status", &text, NULL, NULL)) return -1;
  const char *p = strstr(text, "VmRSS:");
  return p ? strtol(p + 6, NULL, 10) : -1;
}

/* A small net of mixed ops, fast enough for 8 x 500 runs under sanitizers:
 * x[1,8,16,16] -> Conv3x3 -> Relu -> Conv3x3 -> Add(x) -> MaxPool2x2 ->
 * GlobalAveragePool -> Flatten -> Gemm(8->10) -> Softmax. */
static MscValue *add_node(MscGraph *g, const char *op, MscValue **ins, uint32_t n_in, const char *out_name) {
  MscValue *out = msc_graph_get_or_add_value(g, out_name);
  MscNode *n = msc_graph_add_node(g, out_name, op, "", 13);
  msc_node_set_io(n, ins, n_in, &out, 1);
  return out;
}

static void add_ints_attr(MscGraph *g, const char *name, int64_t a, int64_t b) {
  MscNode *n = g->nodes[g->n_nodes - 1];
  MscAttr at = {0};
  at.name = g_strdup(name);
  at.type = MSC_ATTR_INTS;
  at.ints = g_new(int64_t, 4);
  at.ints[0] = at.ints[2] = a;
  at.ints[1] = at.ints[3] = b;
  at.n = strcmp(name, "pads") ? 2 : 4;
  msc_node_add_attr(n, &at);
}

static MscValue *weight(MscGraph *g, const char *name, int32_t rank, const int64_t *dims, uint32_t seed) {
  MscTensor *t = msc_tensor_new(MSC_DTYPE_FLOAT32, rank, dims, NULL);
  msc_tensor_fill_random(t, seed);
  return msc_graph_add_initializer(g, name, t);
}

static MscGraph *tiny_net(void) {
  MscGraph *g = msc_graph_new("tiny");
  msc_graph_set_opset(g, "", 13);
  MscValue *x = msc_graph_get_or_add_value(g, "x");
  x->dtype = MSC_DTYPE_FLOAT32;
  x->rank = 4;
  int64_t xd[] = {1, 8, 16, 16}, wd[] = {8, 8, 3, 3}, fd[] = {10, 8}, bd[] = {10};
  memcpy(x->dims, xd, sizeof xd);
  msc_graph_add_input(g, x);
  MscValue *w1 = weight(g, "w1", 4, wd, 7), *w2 = weight(g, "w2", 4, wd, 8);
  MscValue *fw = weight(g, "fw", 2, fd, 9), *fb = weight(g, "fb", 1, bd, 10);
  MscValue *v = add_node(g, "Conv", (MscValue *[]){x, w1}, 2, "c1");
  add_ints_attr(g, "pads", 1, 1);
  v = add_node(g, "Relu", (MscValue *[]){v}, 1, "r1");
  v = add_node(g, "Conv", (MscValue *[]){v, w2}, 2, "c2");
  add_ints_attr(g, "pads", 1, 1);
  v = add_node(g, "Add", (MscValue *[]){v, x}, 2, "res");
  v = add_node(g, "MaxPool", (MscValue *[]){v}, 1, "pool");
  add_ints_attr(g, "kernel_shape", 2, 2);
  add_ints_attr(g, "strides", 2, 2);
  v = add_node(g, "GlobalAveragePool", (MscValue *[]){v}, 1, "gap");
  v = add_node(g, "Flatten", (MscValue *[]){v}, 1, "flat");
  v = add_node(g, "Gemm", (MscValue *[]){v, fw, fb}, 3, "fc");
  MscAttr tb = {0};
  tb.name = g_strdup("transB");
  tb.type = MSC_ATTR_INT;
  tb.i = 1;
  msc_node_add_attr(g->nodes[g->n_nodes - 1], &tb);
  v = add_node(g, "Softmax", (MscValue *[]){v}, 1, "probs");
  msc_graph_add_output(g, v);
  return g;
}

static void test_concurrency_soak_no_growth(void) {
  g_test_summary("10,000 runs of one session: no memory growth after warm-up (RSS), outputs stable");
  if (!ref_api()) {
    g_test_skip("the ref runner plugin is not built (msc.runner.ref missing)");
    return;
  }
  g_autoptr(MscGraph) g = tiny_net();
  g_autoptr(GError) e = NULL;
  g_assert_true(msc_graph_verify(g, &e));
  MscSession *s = msc_session_new(g, "ref", NULL, &e);
  g_assert_no_error(e);
  int64_t xd[] = {1, 8, 16, 16};
  g_autoptr(MscTensor) x = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, xd, NULL);
  msc_tensor_fill_random(x, 3);
  const MscTensor *in[1] = {x};
  MscTensor *first = NULL;
  long rss_warm = 0;
  for (int r = 0; r < 10000; r++) {
    MscTensor **out = NULL;
    g_assert_true(msc_session_run(s, in, 1, &out, NULL, &e));
    if (!first) first = msc_tensor_copy(out[0], NULL);
    else if (r % 997 == 0) g_assert_cmpint(memcmp(first->data, out[0]->data, first->nbytes), ==, 0);
    msc_tensor_free(out[0]);
    g_free(out);
    if (r == 999) rss_warm = rss_kib();
  }
  long rss_end = rss_kib();
  msc_tensor_free(first);
  msc_session_free(s);
#if defined(__SANITIZE_ADDRESS__)
  g_test_message("RSS %ld -> %ld KiB; not asserted under AddressSanitizer (its quarantine keeps freed memory); "
                 "LeakSanitizer checks leaks at exit instead", rss_warm, rss_end);
#else
  g_test_message("RSS after 1,000 runs %ld KiB, after 10,000 runs %ld KiB", rss_warm, rss_end);
  g_assert_cmpint(rss_warm, >, 0);
  g_assert_cmpint(rss_end - rss_warm, <, 1024); /* < 1 MiB over 9,000 runs */
#endif
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/concurrency/shared-compiled/8x500-bitwise", test_concurrency_shared_compiled_model);
  g_test_add_func("/concurrency/soak/10000-runs-no-growth", test_concurrency_soak_no_growth);
  return g_test_run();
}
