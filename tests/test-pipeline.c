/* test-pipeline.c: the pipeline end to end on zoo:resnet_mini (stages,
 * report, export folder, plan re-use and its reasons, failures naming the
 * stage, re-run of an export), the check arithmetic (cosine, error rate,
 * top-k) and the msc_optimize wrapper. */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "config.h"
#include "error.h"
#include "msc.h"
#include "pipeline.h"
#include "registry.h"
#include "tensor.h"
#include "worker.h"

static char *tmp_dir;

static char *write_ini(const char *name, const char *text) {
  char *p = g_build_filename(tmp_dir, name, NULL);
  g_assert_true(g_file_set_contents(p, text, -1, NULL));
  return p;
}

static gboolean have_tool(const char *name) {
  g_autofree char *k = g_strdup_printf("msc.tool.%s", name);
  return msc_registry_get(k, MSC_REG_TOOL, TRUE, NULL) != NULL;
}

static JsonObject *stage(JsonNode *rep, const char *name) {
  JsonArray *a = json_object_get_array_member(json_node_get_object(rep), "stages");
  for (guint i = 0; i < json_array_get_length(a); i++) {
    JsonObject *s = json_array_get_object_element(a, i);
    if (!g_strcmp0(json_object_get_string_member(s, "name"), name)) return s;
  }
  return NULL;
}

static const char *plan_status(JsonNode *rep, const char *tool) {
  JsonArray *a = json_object_get_array_member(json_node_get_object(rep), "plans");
  for (guint i = 0; i < json_array_get_length(a); i++) {
    JsonObject *p = json_array_get_object_element(a, i);
    if (!g_strcmp0(json_object_get_string_member(p, "tool"), tool)) return json_object_get_string_member(p, "status");
  }
  return NULL;
}

static const char *plan_reason(JsonNode *rep, const char *tool) {
  JsonArray *a = json_object_get_array_member(json_node_get_object(rep), "plans");
  for (guint i = 0; i < json_array_get_length(a); i++) {
    JsonObject *p = json_array_get_object_element(a, i);
    if (!g_strcmp0(json_object_get_string_member(p, "tool"), tool))
      return json_object_get_string_member_with_default(p, "reason", NULL);
  }
  return NULL;
}

static JsonNode *run_ini(const char *path, gboolean expect_ok, GError **error) {
  g_autoptr(MscConfig) cfg = msc_config_load_file(path, error);
  g_assert_nonnull(cfg);
  JsonNode *rep = NULL;
  gboolean ok = msc_pipeline_run(cfg, NULL, &rep, error);
  g_assert_cmpint(ok, ==, expect_ok);
  g_assert_nonnull(rep);
  return rep;
}

#define BASE_INI                                                                     \
  "[model]\npath = zoo:resnet_mini\nshapes = input=1x3x64x64\n"                      \
  "[dataset]\nsamples = 2\nseed = 3\n[benchmark]\nwarmup = 0\nrepeat = 2\n"

static void test_run_reuse(void) {
  g_test_summary("profile-only pipeline on resnet_mini: every stage ok, export files, plans re-used on the "
                 "second run and re-planned when options change");
  if (!have_tool("profiler") || !have_tool("tracker")) {
    g_test_skip("profiler/tracker plugins not built");
    return;
  }
  g_autofree char *ini = write_ini("run.ini", BASE_INI "[export]\ndir = out-run\n[tool.profiler]\ntop = 3\n"
                                              "[tool.tracker]\npattern = layer1*\n");
  GError *e = NULL;
  JsonNode *rep = run_ini(ini, TRUE, &e);
  g_assert_no_error(e);
  const char *names[] = {"setup", "prepare", "parse", "baseline", "optimize", "compile", "summary", "export"};
  for (guint i = 0; i < G_N_ELEMENTS(names); i++)
    g_assert_cmpstr(json_object_get_string_member(stage(rep, names[i]), "status"), ==, "ok");
  JsonObject *checks = json_object_get_object_member(stage(rep, "compile"), "checks");
  g_assert_true(json_object_get_boolean_member(checks, "passed"));
  g_assert_cmpfloat(json_object_get_double_member(checks, "min_cosine"), >=, 0.9999);
  JsonObject *bench = json_object_get_object_member(stage(rep, "compile"), "benchmark");
  g_assert_cmpfloat(json_object_get_double_member(bench, "median_ms"), >, 0);
  g_assert_true(json_object_has_member(bench, "speedup"));
  g_assert_cmpstr(plan_status(rep, "profiler"), ==, "re-planned");
  g_assert_cmpstr(plan_reason(rep, "profiler"), ==, "no saved plan");
  JsonObject *dur = json_object_get_object_member(json_node_get_object(rep), "durations");
  g_assert_cmpuint(json_array_get_length(json_object_get_array_member(dur, "children")), ==, 8);
  json_node_unref(rep);
  const char *files[] = {"model.onnx", "config.ini", "report.json", "plans/profiler.json", "plans/profiler.txt",
                         "plans/profiler.trace.json", "plans/tracker.json", "golden/test_data_set_1/output_0.pb"};
  for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *p = g_build_filename(tmp_dir, "out-run", files[i], NULL);
    g_assert_true(g_file_test(p, G_FILE_TEST_IS_REGULAR));
  }
  /* the trace is JSON with complete events */
  g_autofree char *trace = g_build_filename(tmp_dir, "out-run", "plans", "profiler.trace.json", NULL);
  g_autoptr(JsonParser) jp = json_parser_new();
  g_assert_true(json_parser_load_from_file(jp, trace, NULL));
  JsonArray *ev = json_object_get_array_member(json_node_get_object(json_parser_get_root(jp)), "traceEvents");
  g_assert_cmpuint(json_array_get_length(ev), >, 10);

  rep = run_ini(ini, TRUE, &e);
  g_assert_cmpstr(plan_status(rep, "profiler"), ==, "re-used");
  g_assert_cmpstr(plan_status(rep, "tracker"), ==, "re-used");
  json_node_unref(rep);

  g_autofree char *ini2 = write_ini("run.ini", BASE_INI "[export]\ndir = out-run\n[tool.profiler]\ntop = 4\n"
                                               "[tool.tracker]\npattern = layer1*\n");
  rep = run_ini(ini2, TRUE, &e);
  g_assert_cmpstr(plan_status(rep, "profiler"), ==, "re-planned");
  g_assert_cmpstr(plan_reason(rep, "profiler"), ==, "options changed");
  g_assert_cmpstr(plan_status(rep, "tracker"), ==, "re-used");
  json_node_unref(rep);

  g_autofree char *ini3 = write_ini("run.ini", "[model]\npath = zoo:resnet_mini\nshapes = input=1x3x64x64\n"
                                               "[dataset]\nsamples = 2\nseed = 4\n[benchmark]\nwarmup = 0\nrepeat = 2\n"
                                               "[export]\ndir = out-run\n[tool.profiler]\ntop = 4\n");
  rep = run_ini(ini3, TRUE, &e);
  g_assert_cmpstr(plan_reason(rep, "profiler"), ==, "calibration data changed");
  json_node_unref(rep);

  /* re-run of the export: checks pass, compared with the recorded report */
  g_autofree char *out = g_build_filename(tmp_dir, "out-run", NULL);
  rep = NULL;
  gboolean ok = msc_pipeline_rerun(out, NULL, &rep, &e);
  g_assert_no_error(e);
  g_assert_true(ok);
  g_assert_true(json_object_has_member(json_node_get_object(rep), "recorded_median_ms"));
  json_node_unref(rep);
}

static void test_fail_stage(void) {
  g_test_summary("a failing stage is named, later stages are not run, no model is written");
  g_autofree char *empty = g_build_filename(tmp_dir, "empty-set", NULL);
  g_assert_cmpint(g_mkdir_with_parents(empty, 0755), ==, 0);
  g_autofree char *ini = write_ini("fail.ini", "[model]\npath = zoo:resnet_mini\n[dataset]\nsource = files\n"
                                               "path = empty-set\n[export]\ndir = out-fail\n");
  GError *e = NULL;
  JsonNode *rep = run_ini(ini, FALSE, &e);
  g_assert_error(e, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_true(g_str_has_prefix(e->message, "stage 'prepare': "));
  g_assert_nonnull(strstr(e->message, "no test_data_set_N folder"));
  g_clear_error(&e);
  g_assert_cmpstr(json_object_get_string_member(stage(rep, "prepare"), "status"), ==, "failed");
  g_assert_cmpstr(json_object_get_string_member(stage(rep, "baseline"), "status"), ==, "not run");
  g_assert_cmpstr(json_object_get_string_member(stage(rep, "export"), "status"), ==, "not run");
  g_assert_false(json_object_get_boolean_member(json_node_get_object(rep), "success"));
  json_node_unref(rep);
  g_autofree char *model = g_build_filename(tmp_dir, "out-fail", "model.onnx", NULL);
  g_assert_false(g_file_test(model, G_FILE_TEST_EXISTS));
  g_autofree char *report = g_build_filename(tmp_dir, "out-fail", "report.json", NULL);
  g_assert_true(g_file_test(report, G_FILE_TEST_IS_REGULAR));
}

static MscTensor *vec(const float *v, int64_t n) {
  MscTensor *t = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, &n, NULL);
  memcpy(t->data, v, sizeof(float) * (size_t)n);
  msc_tensor_set_name(t, "y");
  return t;
}

static void test_check_math(void) {
  g_test_summary("checks: error rate over atol+rtol*|ref|, cosine, each check can be off");
  const float want[] = {1, 2, 3, 4}, got[] = {1, 2, 3, 5};
  g_autoptr(MscTensor) w = vec(want, 4), g = vec(got, 4);
  MscCheckSpec spec = {1e-3, 0, 0.3, 0.99};
  MscCheckResult r = {.passed = TRUE, .min_cosine = 1};
  msc_check_accumulate(g, w, &spec, &r);
  g_assert_cmpint(r.n, ==, 4);
  g_assert_cmpint(r.n_bad, ==, 1);
  g_assert_cmpfloat_with_epsilon(r.max_abs, 1.0, 1e-12);
  double cosv = (1 + 4 + 9 + 20) / sqrt(30.0 * 39.0); /* 0.99399 */
  g_assert_cmpfloat_with_epsilon(r.min_cosine, cosv, 1e-9);
  g_assert_true(r.passed); /* cos 0.9934 >= 0.99 */
  spec.cosine = 0.999;
  MscCheckResult r2 = {.passed = TRUE, .min_cosine = 1};
  msc_check_accumulate(g, w, &spec, &r2);
  g_assert_false(r2.passed);
  g_assert_nonnull(strstr(r2.failure, "cosine"));
  spec.cosine = NAN; /* off */
  MscCheckResult r3 = {.passed = TRUE, .min_cosine = 1};
  msc_check_accumulate(g, w, &spec, &r3);
  g_assert_true(r3.passed);
  spec.atol = spec.rtol = NAN; /* element-wise check off: nothing counted bad */
  MscCheckResult r4 = {.passed = TRUE, .min_cosine = 1};
  msc_check_accumulate(g, w, &spec, &r4);
  g_assert_cmpint(r4.n_bad, ==, 0);
}

static void test_topk(void) {
  g_test_summary("top-1/top-5 hits from class scores");
  const float s[] = {0.1f, 0.9f, 0.3f, 0.2f, 0.5f, 0.4f, 0.0f, 0.05f};
  g_autoptr(MscTensor) t = vec(s, 8);
  MscCheckResult r = {0};
  msc_check_topk(t, 1, &r); /* best: top1 and top5 */
  msc_check_topk(t, 2, &r); /* 4th best: top5 only */
  msc_check_topk(t, 6, &r); /* last: neither */
  g_assert_cmpuint(r.n_labeled, ==, 3);
  g_assert_cmpuint(r.top1, ==, 1);
  g_assert_cmpuint(r.top5, ==, 2);
}

static void test_wrapper(void) {
  g_test_summary("msc_optimize: bad config and NULL path are errors with messages, a good one returns a report");
  char *rep = NULL, *err = NULL;
  g_assert_cmpint(msc_optimize(NULL, &rep, &err), ==, MSC_ERR_INVALID_ARG);
  g_assert_null(rep);
  g_assert_nonnull(strstr(err, "config_path"));
  msc_free(err);
  g_autofree char *bad = write_ini("bad.ini", "[model]\npath = zoo:resnet_mini\n[benchmark]\nrepeat = 0\n");
  g_assert_cmpint(msc_optimize(bad, &rep, &err), ==, MSC_ERR_INVALID_ARG);
  g_assert_null(rep);
  g_assert_nonnull(strstr(err, "bad.ini:4: [benchmark] repeat: out of range"));
  msc_free(err);
  g_autofree char *good = write_ini("good.ini", BASE_INI "[export]\ndir = out-wrap\n");
  g_assert_cmpint(msc_optimize(good, &rep, &err), ==, MSC_OK);
  g_assert_null(err);
  g_assert_nonnull(strstr(rep, "\"success\" : true"));
  msc_free(rep);
}

static void rm_rf(const char *path) {
  if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
    GDir *d = g_dir_open(path, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
      g_autofree char *c = g_build_filename(path, n, NULL);
      rm_rf(c);
    }
    if (d) g_dir_close(d);
    g_rmdir(path);
  } else {
    g_unlink(path);
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  char *err = NULL;
  if (msc_init(&err) != MSC_OK) g_error("msc_init: %s", err);
  tmp_dir = g_dir_make_tmp("msc-pipeline-XXXXXX", NULL);
  g_test_add_func("/pipeline/run/profile-reuse", test_run_reuse);
  g_test_add_func("/pipeline/run/fail-stage-named", test_fail_stage);
  g_test_add_func("/pipeline/checks/error-rate-cosine-off", test_check_math);
  g_test_add_func("/pipeline/checks/topk", test_topk);
  g_test_add_func("/pipeline/wrapper/msc-optimize", test_wrapper);
  int rc = g_test_run();
  rm_rf(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
