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
#include "zoo.h"

#define N_THREADS 8
#define N_RUNS 500

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
  g_autoptr(MscGraph) g = msc_zoo_build("mobilenet_mini", &e);
  g_assert_no_error(e);
  g_assert_true(msc_graph_verify(g, &e));
  void *compiled = NULL;
  MscMessage m = {0};
  MscOptions none = {0};
  g_assert_cmpint(api->compile(g, &none, &compiled, &m), ==, MSC_OK);
  /* a different input per thread, each with its own single-threaded reference */
  Worker w[N_THREADS];
  MscTensor *inputs[N_THREADS], *expects[N_THREADS];
  for (int t = 0; t < N_THREADS; t++) {
    inputs[t] = msc_zoo_make_input(g->inputs[0], 1, 100 + t, &e);
    g_assert_no_error(e);
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

/* x[1,8,16,16] -> Conv 3x3 -> Relu -> GlobalAveragePool -> Flatten: fast enough for 10,000 runs. */
static MscGraph *tiny_net(void) {
  MscGraph *g = msc_graph_new("tiny");
  msc_graph_set_opset(g, "", 13);
  MscValue *x = msc_graph_get_or_add_value(g, "x");
  x->dtype = MSC_DTYPE_FLOAT32;
  x->rank = 4;
  int64_t xd[] = {1, 8, 16, 16}, wd[] = {8, 8, 3, 3};
  memcpy(x->dims, xd, sizeof xd);
  msc_graph_add_input(g, x);
  MscTensor *w = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, wd, NULL);
  msc_tensor_fill_random(w, 7);
  MscValue *wv = msc_graph_add_initializer(g, "w", w);
  const char *ops[] = {"Conv", "Relu", "GlobalAveragePool", "Flatten"};
  MscValue *prev = x;
  for (int i = 0; i < 4; i++) {
    g_autofree char *name = g_strdup_printf("v%d", i);
    MscValue *out = msc_graph_get_or_add_value(g, name);
    MscNode *n = msc_graph_add_node(g, ops[i], ops[i], "", 13);
    MscValue *ins[2] = {prev, wv};
    msc_node_set_io(n, ins, i == 0 ? 2 : 1, &out, 1);
    prev = out;
  }
  msc_graph_add_output(g, prev);
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
