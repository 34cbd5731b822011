/* test-profiler.c: the profiler tool through its ABI table, fed per-node
 * times by hand (three runs of a Conv and a Relu): the JSON plan's mean,
 * median, FLOPs, bytes, GFLOP/s, % of total and top-N flags, and the
 * Chrome trace in the format Perfetto / chrome://tracing load
 * (traceEvents; complete events "ph":"X" with ts and dur in microseconds,
 * pid and tid; thread_name metadata per stage). */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "msc-plugin.h"
#include "msc.h"
#include "registry.h"

static char *tmp_dir;

static MscTensor tensor4(int64_t a, int64_t b, int64_t c, int64_t d) {
  MscTensor t = {0};
  t.dtype = MSC_DTYPE_FLOAT32;
  t.rank = 4;
  t.dims[0] = a, t.dims[1] = b, t.dims[2] = c, t.dims[3] = d;
  t.nbytes = (size_t)(a * b * c * d) * sizeof(float);
  return t; /* data stays NULL: the profiler reads shapes only */
}

static JsonObject *node_row(JsonArray *nodes, const char *name) {
  for (guint i = 0; i < json_array_get_length(nodes); i++) {
    JsonObject *o = json_array_get_object_element(nodes, i);
    if (!g_strcmp0(json_object_get_string_member(o, "name"), name)) return o;
  }
  g_error("node %s not in the plan", name);
  return NULL;
}

static void test_profile_trace(void) {
  g_test_summary("profiler: mean/median per node over runs, FLOPs, bytes, GFLOP/s, percent, top-N; the Chrome trace "
                 "has X events with ts/dur in microseconds, pid and tid, one named track per stage");
  const MscToolApi *api = msc_registry_get("msc.tool.profiler", MSC_REG_TOOL, TRUE, NULL);
  if (!api) {
    g_test_skip("profiler plugin not built");
    return;
  }
  const char *k[1] = {"top"}, *v[1] = {"1"};
  MscOptions o = {k, v, 1};
  void *st = NULL;
  MscMessage msg = {0};
  g_assert_cmpint(api->setup(&o, &st, &msg), ==, MSC_OK);
  g_assert_cmpint(api->begin_stage(st, "baseline", &msg), ==, MSC_OK);

  /* Conv 3 -> 8 channels, 3x3 kernel, 10x10 output: 2 * 800 * 27 FLOPs */
  MscTensor x = tensor4(1, 3, 12, 12), w = tensor4(8, 3, 3, 3), y = tensor4(1, 8, 10, 10), r = tensor4(1, 8, 10, 10);
  MscNode conv = {.name = (char *)"conv0", .op_type = (char *)"Conv", .domain = (char *)"", .index = 0};
  MscNode relu = {.name = (char *)"relu0", .op_type = (char *)"Relu", .domain = (char *)"", .index = 1};
  const MscTensor *conv_in[2] = {&x, &w}, *conv_out[1] = {&y}, *relu_in[1] = {&y}, *relu_out[1] = {&r};
  const double conv_ms[3] = {1.0, 3.0, 2.0}, relu_ms[3] = {0.5, 0.5, 2.0};
  for (int run = 0; run < 3; run++) {
    g_assert_cmpint(api->on_node(st, &conv, conv_in, 2, conv_out, 1, conv_ms[run], &msg), ==, MSC_OK);
    g_assert_cmpint(api->on_node(st, &relu, relu_in, 1, relu_out, 1, relu_ms[run], &msg), ==, MSC_OK);
  }
  g_autofree char *path = g_build_filename(tmp_dir, "profiler.json", NULL);
  g_assert_cmpint(api->export_plan(st, path, &msg), ==, MSC_OK);
  api->destroy(st);

  g_autoptr(JsonParser) jp = json_parser_new();
  g_autoptr(GError) e = NULL;
  g_assert_true(json_parser_load_from_file(jp, path, &e));
  g_assert_no_error(e);
  JsonObject *plan = json_node_get_object(json_parser_get_root(jp));
  JsonObject *s0 = json_array_get_object_element(json_object_get_array_member(plan, "stages"), 0);
  g_assert_cmpstr(json_object_get_string_member(s0, "stage"), ==, "baseline");
  g_assert_cmpint(json_object_get_int_member(s0, "runs"), ==, 3);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(s0, "total_ms"), 3.0, 1e-9); /* 2 + 1 */
  JsonArray *nodes = json_object_get_array_member(s0, "nodes");
  g_assert_cmpuint(json_array_get_length(nodes), ==, 2);
  /* sorted by time: conv first, and only it is in the top-1 */
  g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(nodes, 0), "name"), ==, "conv0");
  JsonObject *c = node_row(nodes, "conv0"), *rl = node_row(nodes, "relu0");
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(c, "mean_ms"), 2.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(c, "median_ms"), 2.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(rl, "mean_ms"), 1.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(rl, "median_ms"), 0.5, 1e-9);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(c, "flops"), 2.0 * 800 * 27, 0.5);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(rl, "flops"), 0, 0.5);
  double conv_bytes = (double)(x.nbytes + w.nbytes + y.nbytes);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(c, "bytes"), conv_bytes, 0.5);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(rl, "bytes"), (double)(y.nbytes + r.nbytes), 0.5);
  /* 43200 FLOP in 2 ms = 0.0216 GFLOP/s */
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(c, "gflops_per_s"), 43200 / 2e-3 / 1e9, 1e-4);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(c, "percent"), 100.0 * 2 / 3, 1e-3);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(rl, "percent"), 100.0 / 3, 1e-3);
  g_assert_true(json_object_get_boolean_member(c, "top"));
  g_assert_false(json_object_get_boolean_member(rl, "top"));

  /* the text table lists the top-1 only */
  g_autofree char *txt_path = g_build_filename(tmp_dir, "profiler.txt", NULL);
  g_autofree char *txt = NULL;
  g_assert_true(g_file_get_contents(txt_path, &txt, NULL, NULL));
  g_assert_nonnull(strstr(txt, "conv0"));
  g_assert_null(strstr(txt, "relu0"));

  /* Chrome trace */
  g_autofree char *trace_path = g_build_filename(tmp_dir, "profiler.trace.json", NULL);
  g_autoptr(JsonParser) tp = json_parser_new();
  g_assert_true(json_parser_load_from_file(tp, trace_path, &e));
  g_assert_no_error(e);
  JsonObject *trace = json_node_get_object(json_parser_get_root(tp));
  JsonArray *ev = json_object_get_array_member(trace, "traceEvents");
  g_assert_nonnull(ev);
  guint n_x = 0, n_thread_names = 0;
  for (guint i = 0; i < json_array_get_length(ev); i++) {
    JsonObject *o = json_array_get_object_element(ev, i);
    const char *ph = json_object_get_string_member(o, "ph");
    g_assert_nonnull(ph);
    g_assert_true(json_object_has_member(o, "pid"));
    g_assert_true(json_object_has_member(o, "tid"));
    g_assert_true(json_object_has_member(o, "name"));
    if (!strcmp(ph, "M")) {
      if (!strcmp(json_object_get_string_member(o, "name"), "thread_name")) {
        n_thread_names++;
        g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(o, "args"), "name"), ==,
                        "baseline");
      }
      continue;
    }
    g_assert_cmpstr(ph, ==, "X");
    n_x++;
    const char *name = json_object_get_string_member(o, "name");
    double ts = json_object_get_double_member(o, "ts"), dur = json_object_get_double_member(o, "dur");
    /* the first run, laid end to end, in microseconds */
    if (!strcmp(name, "conv0")) {
      g_assert_cmpfloat_with_epsilon(ts, 0, 1e-6);
      g_assert_cmpfloat_with_epsilon(dur, 1000, 1e-6);
      g_assert_cmpstr(json_object_get_string_member(o, "cat"), ==, "Conv");
    } else {
      g_assert_cmpstr(name, ==, "relu0");
      g_assert_cmpfloat_with_epsilon(ts, 1000, 1e-6);
      g_assert_cmpfloat_with_epsilon(dur, 500, 1e-6);
    }
  }
  g_assert_cmpuint(n_x, ==, 2);
  g_assert_cmpuint(n_thread_names, ==, 1);
  const char *files[] = {"profiler.json", "profiler.txt", "profiler.trace.json"};
  for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *p = g_build_filename(tmp_dir, files[i], NULL);
    g_unlink(p);
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  char *err = NULL;
  if (msc_init(&err) != MSC_OK) g_error("msc_init: %s", err);
  tmp_dir = g_dir_make_tmp("msc-profiler-XXXXXX", NULL);
  g_test_add_func("/profiler/plan-and-chrome-trace", test_profile_trace);
  int rc = g_test_run();
  g_rmdir(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
