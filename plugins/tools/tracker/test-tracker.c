/* test-tracker.c: the tracker tool through its ABI table, on fabricated
 * stages whose drift is known: rounding noise in prune, an error that
 * starts at one layer and grows in quantize, the same plus noise in
 * compile. The plan must name the layer where the error jumps, the first
 * below the cosine threshold and the stage where accuracy broke, with
 * relative errors matching an independent computation. */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "msc-plugin.h"
#include "msc.h"
#include "registry.h"

#define N_LAYERS 6
#define N_ELEMS 1000

static char *tmp_dir;

typedef struct {
  MscValue values[N_LAYERS];
  MscValue *outs[N_LAYERS];
  MscNode nodes[N_LAYERS];
  char names[N_LAYERS][16], node_names[N_LAYERS][16];
  float base[N_LAYERS][N_ELEMS];
} Net;

static void net_init(Net *n) {
  memset(n, 0, sizeof *n);
  GRand *r = g_rand_new_with_seed(11);
  for (int l = 0; l < N_LAYERS; l++) {
    g_snprintf(n->names[l], 16, "t%d", l);
    g_snprintf(n->node_names[l], 16, "conv%d", l);
    n->values[l].name = n->names[l];
    n->values[l].dtype = MSC_DTYPE_FLOAT32;
    n->outs[l] = &n->values[l];
    n->nodes[l].name = n->node_names[l];
    n->nodes[l].op_type = (char *)"Conv";
    n->nodes[l].domain = (char *)"";
    n->nodes[l].outputs = &n->outs[l];
    n->nodes[l].n_outputs = 1;
    n->nodes[l].index = (uint32_t)l;
    for (int i = 0; i < N_ELEMS; i++) n->base[l][i] = (float)g_rand_double_range(r, -1, 1);
  }
  g_rand_free(r);
}

/* @x = base + rel * ||base|| / sqrt(n) * (+-1 pattern): ||x - base|| = rel * ||base||. */
static void perturb(const float *base, float *x, double rel, guint32 seed) {
  double nb = 0;
  for (int i = 0; i < N_ELEMS; i++) nb += (double)base[i] * base[i];
  double step = rel * sqrt(nb / N_ELEMS);
  GRand *r = g_rand_new_with_seed(seed);
  for (int i = 0; i < N_ELEMS; i++) x[i] = (float)(base[i] + (g_rand_boolean(r) ? step : -step));
  g_rand_free(r);
}

/* Independent reference: relative L2 error and cosine in double. */
static void ref_drift(const float *x, const float *y, double *rel, double *cosv) {
  double d = 0, ny = 0, nx = 0, dot = 0;
  for (int i = 0; i < N_ELEMS; i++) {
    d += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    ny += (double)y[i] * y[i];
    nx += (double)x[i] * x[i];
    dot += (double)x[i] * y[i];
  }
  *rel = sqrt(d / ny);
  *cosv = dot / sqrt(nx * ny);
}

static const MscToolApi *tracker_api(void) {
  return msc_registry_get("msc.tool.tracker", MSC_REG_TOOL, TRUE, NULL);
}

static void observe_stage(const MscToolApi *api, void *st, const char *stage, Net *n, float (*data)[N_ELEMS]) {
  MscMessage msg = {0};
  g_assert_cmpint(api->begin_stage(st, stage, &msg), ==, MSC_OK);
  for (int l = 0; l < N_LAYERS; l++) {
    MscTensor t = {0};
    t.dtype = MSC_DTYPE_FLOAT32;
    t.rank = 2;
    t.dims[0] = 1;
    t.dims[1] = N_ELEMS;
    t.data = data[l];
    t.nbytes = sizeof data[l];
    const MscTensor *outs[1] = {&t};
    g_assert_cmpint(api->observe(st, &n->nodes[l], outs, 1, &msg), ==, MSC_OK);
  }
}

static JsonObject *find_stage(JsonObject *plan, const char *name) {
  JsonArray *a = json_object_get_array_member(plan, "stages");
  for (guint i = 0; i < json_array_get_length(a); i++) {
    JsonObject *s = json_array_get_object_element(a, i);
    if (!g_strcmp0(json_object_get_string_member(s, "stage"), name)) return s;
  }
  g_error("stage %s not in the plan", name);
  return NULL;
}

static const char *layer_name(JsonObject *s, const char *member) {
  JsonNode *n = json_object_get_member(s, member);
  g_assert_nonnull(n);
  if (JSON_NODE_HOLDS_NULL(n)) return NULL;
  return json_object_get_string_member(json_node_get_object(n), "name");
}

static void test_drift(void) {
  g_test_summary("tracker: per-layer relative error and cosine vs baseline per stage; names the layer where the "
                 "error jumps, the first below the cosine threshold and the stage where accuracy broke");
  const MscToolApi *api = tracker_api();
  if (!api) {
    g_test_skip("tracker plugin not built");
    return;
  }
  static Net n;
  net_init(&n);
  static float prune[N_LAYERS][N_ELEMS], quant[N_LAYERS][N_ELEMS], comp[N_LAYERS][N_ELEMS];
  /* prune: rounding only; quantize: exact until t2, 1e-2 there, growing after */
  const double q_rel[N_LAYERS] = {0, 2e-7, 1e-2, 2e-2, 5e-2, 0.2};
  for (int l = 0; l < N_LAYERS; l++) {
    perturb(n.base[l], prune[l], 1e-7, 100 + l);
    perturb(n.base[l], quant[l], q_rel[l], 200 + l);
    for (int i = 0; i < N_ELEMS; i++) comp[l][i] = quant[l][i] * (1.0f + 1e-7f);
  }
  void *st = NULL;
  MscMessage msg = {0};
  g_assert_cmpint(api->setup(NULL, &st, &msg), ==, MSC_OK);
  observe_stage(api, st, "baseline", &n, n.base);
  observe_stage(api, st, "prune:pruner", &n, prune);
  observe_stage(api, st, "quantize:quantizer", &n, quant);
  observe_stage(api, st, "compile:cpu", &n, comp);
  g_autofree char *path = g_build_filename(tmp_dir, "tracker.json", NULL);
  g_assert_cmpint(api->export_plan(st, path, &msg), ==, MSC_OK);
  api->destroy(st);

  g_autoptr(JsonParser) jp = json_parser_new();
  g_autoptr(GError) e = NULL;
  g_assert_true(json_parser_load_from_file(jp, path, &e));
  g_assert_no_error(e);
  JsonObject *plan = json_node_get_object(json_parser_get_root(jp));
  g_assert_cmpstr(json_object_get_string_member(plan, "reference"), ==, "baseline");
  g_assert_cmpint(json_object_get_int_member(plan, "tracked"), ==, N_LAYERS);

  JsonObject *pr = find_stage(plan, "prune:pruner");
  g_assert_null(layer_name(pr, "first_jump"));
  g_assert_null(layer_name(pr, "first_below_cosine"));

  JsonObject *q = find_stage(plan, "quantize:quantizer");
  g_assert_cmpint(json_object_get_int_member(q, "compared"), ==, N_LAYERS);
  JsonArray *ts = json_object_get_array_member(q, "tensors");
  for (int l = 0; l < N_LAYERS; l++) {
    JsonObject *t = json_array_get_object_element(ts, l);
    g_assert_cmpstr(json_object_get_string_member(t, "name"), ==, n.names[l]);
    double rel, cosv;
    ref_drift(quant[l], n.base[l], &rel, &cosv);
    g_assert_cmpfloat_with_epsilon(json_object_get_double_member(t, "rel_error"), rel, 1e-6 + 1e-6 * rel);
    g_assert_cmpfloat_with_epsilon(json_object_get_double_member(t, "cosine"), cosv, 1e-8);
    g_assert_cmpint(json_object_get_boolean_member_with_default(t, "jump", FALSE), ==, l == 2);
  }
  g_assert_cmpstr(layer_name(q, "first_jump"), ==, "t2");
  g_assert_cmpstr(layer_name(q, "first_below_cosine"), ==, "t4"); /* rel 5e-2: cosine ~0.9988 */
  g_assert_cmpstr(layer_name(q, "worst_layer"), ==, "t5");
  g_assert_cmpstr(json_object_get_string_member(q, "first_drifted"), ==, "t4");
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(q, "max_rel_error"), 0.2, 1e-6);

  JsonObject *c = find_stage(plan, "compile:cpu");
  g_assert_cmpstr(layer_name(c, "first_jump"), ==, "t2");

  JsonObject *broke = json_object_get_object_member(plan, "broke_at");
  g_assert_nonnull(broke);
  g_assert_cmpstr(json_object_get_string_member(broke, "stage"), ==, "quantize:quantizer");
  JsonObject *layer = json_object_get_object_member(broke, "layer");
  g_assert_cmpstr(json_object_get_string_member(layer, "name"), ==, "t2");
  g_assert_cmpstr(json_object_get_string_member(layer, "node"), ==, "conv2");

  g_autofree char *txt_path = g_build_filename(tmp_dir, "tracker.txt", NULL);
  g_autofree char *txt = NULL;
  g_assert_true(g_file_get_contents(txt_path, &txt, NULL, NULL));
  g_assert_nonnull(strstr(txt, "accuracy broke at stage quantize:quantizer, layer t2 (node conv2, Conv)"));
}

static void test_options(void) {
  g_test_summary("tracker options: jump and cosine out of range and unknown keys are refused with a message");
  const MscToolApi *api = tracker_api();
  if (!api) {
    g_test_skip("tracker plugin not built");
    return;
  }
  const char *keys[][2] = {{"jump", "0.5"}, {"cosine", "2"}, {"max_tensors", "0"}, {"nope", "1"}};
  const char *want[] = {"option 'jump'", "option 'cosine'", "option 'max_tensors'", "unknown option 'nope'"};
  for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
    const char *k[1] = {keys[i][0]}, *v[1] = {keys[i][1]};
    MscOptions o = {k, v, 1};
    MscMessage msg = {0};
    void *st = NULL;
    g_assert_cmpint(api->setup(&o, &st, &msg), ==, MSC_ERR_INVALID_ARG);
    g_assert_nonnull(msg.text);
    g_assert_nonnull(strstr(msg.text, want[i]));
    msc_free(msg.text);
  }
  const char *k[1] = {"jump"}, *v[1] = {"100"};
  MscOptions o = {k, v, 1};
  MscMessage msg = {0};
  void *st = NULL;
  g_assert_cmpint(api->setup(&o, &st, &msg), ==, MSC_OK);
  api->destroy(st);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  char *err = NULL;
  if (msc_init(&err) != MSC_OK) g_error("msc_init: %s", err);
  tmp_dir = g_dir_make_tmp("msc-tracker-XXXXXX", NULL);
  g_test_add_func("/tracker/drift/first-jump-broke-at", test_drift);
  g_test_add_func("/tracker/options/refused", test_options);
  int rc = g_test_run();
  const char *files[] = {"tracker.json", "tracker.txt"};
  for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *p = g_build_filename(tmp_dir, files[i], NULL);
    g_unlink(p);
  }
  g_rmdir(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
