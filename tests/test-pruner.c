/* test-pruner.c: the pruner tool plugin (msc.tool.pruner): dependency
 * groups on hand-built graphs (residual Add, Concat offsets, depthwise,
 * Flatten->Gemm, graph outputs and unknown ops left whole), physical
 * slicing against a masked reference, the criteria on crafted weights,
 * round_to / min_channels, the FLOPs target, option errors, the plan
 * round trip and the least-squares refit on zoo models and the
 * conformance nets (skipped when ../shared/conformance is absent). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "dataset.h"
#include "error.h"
#include "graph.h"
#include "msc.h"
#include "onnx.h"
#include "registry.h"
#include "tensor.h"
#include "worker.h"
#include "zoo.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MscToolHandle, msc_tool_handle_free)

static char *tmp_dir;

static gboolean have_pruner(void) {
  return msc_registry_get("msc.tool.pruner", MSC_REG_TOOL, TRUE, NULL) != NULL;
}

#define NEED_PRUNER()                                              \
  do {                                                             \
    if (!have_pruner()) {                                          \
      g_test_skip("msc.tool.pruner is not built (plugins/tools/pruner)"); \
      return;                                                      \
    }                                                              \
  } while (0)

static gboolean quick(void) {
  return g_getenv("MSC_TEST_QUICK") != NULL;
}

/* ---- graph building helpers ---- */

static uint32_t rng_state = 12345;

static float frand(void) {
  return (float)(msc_mulberry32(&rng_state) >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static MscValue *init_rand(MscGraph *g, const char *name, int rank, const int64_t *dims) {
  MscTensor *t = msc_tensor_new(MSC_DTYPE_FLOAT32, rank, dims, NULL);
  float *d = t->data;
  for (int64_t i = 0; i < msc_tensor_numel(t); i++) d[i] = frand();
  msc_tensor_set_name(t, name);
  return msc_graph_add_initializer(g, name, t);
}

static void attr_int(MscNode *n, const char *name, int64_t v) {
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_INT;
  a.i = v;
  msc_node_add_attr(n, &a);
}

static MscValue *val(MscGraph *g, const char *name) {
  return msc_graph_get_or_add_value(g, name);
}

static MscNode *node1(MscGraph *g, const char *name, const char *op, MscValue *in0, MscValue *in1, MscValue *in2,
                      const char *out) {
  MscNode *n = msc_graph_add_node(g, name, op, "", 13);
  MscValue *ins[3] = {in0, in1, in2};
  uint32_t ni = in2 ? 3 : in1 ? 2 : 1;
  MscValue *o = val(g, out);
  msc_node_set_io(n, ins, ni, &o, 1);
  return n;
}

/* Conv kxk (pad k/2), group @grp, with bias, from @x (C channels) to @m channels. */
static MscValue *conv(MscGraph *g, const char *name, MscValue *x, int64_t c, int64_t m, int64_t k, int64_t grp) {
  int64_t wd[4] = {m, c / grp, k, k}, bd[1] = {m};
  g_autofree char *wn = g_strdup_printf("%s.w", name), *bn = g_strdup_printf("%s.b", name),
                  *on = g_strdup_printf("%s.y", name);
  MscValue *w = init_rand(g, wn, 4, wd), *b = init_rand(g, bn, 1, bd);
  MscNode *n = node1(g, name, "Conv", x, w, b, on);
  int64_t pads[4] = {k / 2, k / 2, k / 2, k / 2};
  msc_node_add_attr_ints(n, "pads", 4, pads);
  if (grp != 1) attr_int(n, "group", grp);
  return n->outputs[0];
}

static MscValue *relu(MscGraph *g, const char *name, MscValue *x) {
  g_autofree char *on = g_strdup_printf("%s.y", name);
  return node1(g, name, "Relu", x, NULL, NULL, on)->outputs[0];
}

static MscGraph *new_graph(const char *name, int64_t c, int64_t hw, MscValue **x) {
  MscGraph *g = msc_graph_new(name);
  msc_graph_set_opset(g, "", 13);
  *x = val(g, "x");
  (*x)->dtype = MSC_DTYPE_FLOAT32;
  (*x)->rank = 4;
  int64_t d[4] = {1, c, hw, hw};
  memcpy((*x)->dims, d, sizeof d);
  msc_graph_add_input(g, *x);
  return g;
}

static void finish(MscGraph *g, MscValue *y) {
  msc_graph_add_output(g, y);
  g_autoptr(GError) err = NULL;
  gboolean ok = msc_graph_verify(g, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
}

static MscGraph *copy_graph(const MscGraph *g) {
  g_autofree uint8_t *buf = NULL;
  size_t len = 0;
  g_autoptr(GError) err = NULL;
  g_assert_true(msc_onnx_save_buffer(g, &buf, &len, &err));
  MscGraph *c = msc_onnx_load_buffer(buf, len, "copy", &err);
  g_assert_no_error(err);
  g_assert_true(msc_graph_verify(c, &err));
  return c;
}

/* ---- running the tool ---- */

static MscDataset *random_dataset(const MscGraph *g, guint n, uint32_t seed) {
  MscDataset *ds = g_new0(MscDataset, 1);
  ds->n_samples = n;
  ds->n_inputs = g->n_inputs;
  ds->inputs = g_new0(MscTensor **, n);
  for (guint k = 0; k < n; k++) {
    ds->inputs[k] = g_new0(MscTensor *, g->n_inputs);
    for (uint32_t i = 0; i < g->n_inputs; i++) {
      g_autoptr(GError) err = NULL;
      ds->inputs[k][i] = msc_zoo_make_input(g->inputs[i], 1, seed + k, &err);
      g_assert_no_error(err);
    }
  }
  return ds;
}

typedef struct {
  MscGraph *pruned;      /* owned */
  JsonNode *report;      /* nullable, owned */
  char *plan_path;       /* owned */
} Pruned;

static void pruned_clear(Pruned *p) {
  msc_graph_free(p->pruned);
  if (p->report) json_node_unref(p->report);
  g_free(p->plan_path);
  memset(p, 0, sizeof *p);
}

static JsonNode *load_json(const char *path) {
  g_autoptr(JsonParser) p = json_parser_new();
  g_autoptr(GError) err = NULL;
  g_assert_true(json_parser_load_from_file(p, path, &err));
  g_assert_no_error(err);
  return json_node_copy(json_parser_get_root(p));
}

/* Runs the pruner on a copy of @g with options "k=v" (NULL-terminated),
 * @n_calib calibration samples; apply on a second copy (a fresh worker).
 * Returns FALSE with @error on a tool error. */
static gboolean run_pruner_ds(const MscGraph *g, const char *const *kv, MscDataset *ds, guint n_calib, const char *tag,
                              Pruned *out, GError **error);

static gboolean run_pruner(const MscGraph *g, const char *const *kv, guint n_calib, const char *tag, Pruned *out,
                           GError **error) {
  g_autoptr(MscDataset) ds = random_dataset(g, n_calib, 100);
  return run_pruner_ds(g, kv, ds, n_calib, tag, out, error);
}

/* As run_pruner, calibrating on the first @n_calib samples of @ds. */
static gboolean run_pruner_ds(const MscGraph *g, const char *const *kv, MscDataset *ds, guint n_calib, const char *tag,
                              Pruned *out, GError **error) {
  memset(out, 0, sizeof *out);
  guint nkv = kv ? g_strv_length((char **)kv) : 0;
  g_autofree const char **keys = g_new0(const char *, nkv + 2);
  g_autofree const char **vals = g_new0(const char *, nkv + 2);
  g_auto(GStrv) split = g_new0(char *, 2 * nkv + 1);
  for (guint i = 0; i < nkv; i++) {
    const char *eq = strchr(kv[i], '=');
    split[2 * i] = g_strndup(kv[i], (gsize)(eq - kv[i]));
    split[2 * i + 1] = g_strdup(eq + 1);
    keys[i] = split[2 * i];
    vals[i] = split[2 * i + 1];
  }
  g_autofree char *report = g_strdup_printf("%s/%s.report.json", tmp_dir, tag);
  keys[nkv] = "report";
  vals[nkv] = report;
  MscOptions opts = {keys, vals, nkv + 1};
  g_autoptr(MscToolHandle) t = msc_tool_handle_new("pruner", &opts, error);
  if (!t) return FALSE;
  g_autoptr(MscWorker) wa = msc_worker_new(copy_graph(g), error);
  g_assert_nonnull(wa);
  MscToolHandle *tools[1] = {t};
  if (!msc_tool_begin_stage(t, "prune:pruner", error)) return FALSE;
  if (n_calib && !msc_worker_observe(wa, ds, n_calib, tools, 1, error)) return FALSE;
  if (!msc_tool_plan(t, msc_worker_graph(wa), error)) return FALSE;
  out->plan_path = g_strdup_printf("%s/%s.plan.json", tmp_dir, tag);
  if (!msc_tool_export_plan(t, out->plan_path, error)) return FALSE;
  g_autoptr(MscWorker) wb = msc_worker_new(copy_graph(g), error);
  if (!msc_worker_apply_tool(wb, t, error)) return FALSE;
  out->pruned = copy_graph(msc_worker_graph(wb));
  out->report = load_json(report);
  return TRUE;
}

/* Runs @g on the ref runner. (transfer full) outputs. */
static MscTensor **run_graph(const MscGraph *g, MscTensor *const *inputs) {
  g_autoptr(GError) err = NULL;
  g_autoptr(MscWorker) w = msc_worker_new(copy_graph(g), &err);
  g_assert_no_error(err);
  MscTensor **o = NULL;
  gboolean ok = msc_worker_run(w, inputs, &o, NULL, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
  return o;
}

static double cosine(const MscTensor *a, const MscTensor *b) {
  g_assert_cmpint(msc_tensor_numel(a), ==, msc_tensor_numel(b));
  double d = 0, na = 0, nb = 0;
  for (int64_t i = 0; i < msc_tensor_numel(a); i++) {
    double x = msc_tensor_get_f64(a, i), y = msc_tensor_get_f64(b, i);
    d += x * y;
    na += x * x;
    nb += y * y;
  }
  return na == 0 && nb == 0 ? 1.0 : d / sqrt(na * nb);
}

static double max_abs_diff(const MscTensor *a, const MscTensor *b) {
  double m = 0;
  for (int64_t i = 0; i < msc_tensor_numel(a); i++)
    m = MAX(m, fabs(msc_tensor_get_f64(a, i) - msc_tensor_get_f64(b, i)));
  return m;
}

static void free_outputs(const MscGraph *g, MscTensor **o) {
  for (uint32_t j = 0; o && j < g->n_outputs; j++) msc_tensor_free(o[j]);
  g_free(o);
}

static JsonObject *report_obj(const Pruned *p) {
  return json_node_get_object(p->report);
}

static double model_num(const Pruned *p, const char *k) {
  return json_object_get_double_member(json_object_get_object_member(report_obj(p), "model"), k);
}

/* ---- tests ---- */

static void test_pruner_zoo_end_to_end(void) {
  g_test_summary("zoo nets at density 0.5: valid, fewer FLOPs, refit raises the cosine on held-out inputs");
  NEED_PRUNER();
  for (const char *const *name = msc_zoo_names(); *name; name++) {
    g_autoptr(GError) err = NULL;
    g_autoptr(MscGraph) g = msc_zoo_build(*name, &err);
    g_assert_no_error(err);
    g_assert_true(msc_graph_verify(g, &err));
    const char *kv[] = {"density=0.5", NULL};
    Pruned p;
    gboolean ok = run_pruner(g, kv, 8, *name, &p, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    double removed = model_num(&p, "flops_removed");
    g_test_message("%s: flops removed %.3f", *name, removed);
    g_assert_cmpfloat(removed, >=, 0.4);
    g_assert_cmpfloat((double)msc_graph_flops(p.pruned), <, (double)msc_graph_flops(g));
    pruned_clear(&p);
  }
}


/* ---- hand-built graphs ---- */

/* x(3) -> convA(16) -> relu r1 -> convB(16) -> add(convB, r1) -> relu -> convC(16) -> relu
 *   -> GlobalAveragePool -> Flatten -> Gemm(16 -> 10) = y */
static MscGraph *residual_graph(void) {
  MscValue *x;
  MscGraph *g = new_graph("residual", 3, 8, &x);
  MscValue *r1 = relu(g, "ra", conv(g, "convA", x, 3, 16, 3, 1));
  MscValue *b = conv(g, "convB", r1, 16, 16, 3, 1);
  MscValue *s = node1(g, "add", "Add", b, r1, NULL, "add.y")->outputs[0];
  MscValue *c = relu(g, "rc", conv(g, "convC", relu(g, "rs", s), 16, 16, 3, 1));
  MscValue *p = node1(g, "gap", "GlobalAveragePool", c, NULL, NULL, "gap.y")->outputs[0];
  MscValue *f = node1(g, "flat", "Flatten", p, NULL, NULL, "flat.y")->outputs[0];
  int64_t wd[2] = {10, 16}, bd[1] = {10};
  MscNode *fc = node1(g, "fc", "Gemm", f, init_rand(g, "fc.w", 2, wd), init_rand(g, "fc.b", 1, bd), "y");
  attr_int(fc, "transB", 1);
  finish(g, fc->outputs[0]);
  return g;
}

/* x(3) -> conv1(16), conv2(24) -> concat(40) -> relu -> dw(40, group 40) -> relu -> conv3(40 -> 16)
 *   -> relu -> maxpool 2x2 -> Flatten (16*4*4) -> Gemm(256 -> 10) = y */
static MscGraph *concat_graph(void) {
  MscValue *x;
  MscGraph *g = new_graph("concat", 3, 8, &x);
  MscValue *a = relu(g, "r1", conv(g, "conv1", x, 3, 16, 3, 1));
  MscValue *b = relu(g, "r2", conv(g, "conv2", x, 3, 24, 1, 1));
  MscNode *cat = msc_graph_add_node(g, "cat", "Concat", "", 13);
  MscValue *ins[2] = {a, b}, *co = val(g, "cat.y");
  msc_node_set_io(cat, ins, 2, &co, 1);
  attr_int(cat, "axis", 1);
  MscValue *d = relu(g, "rd", conv(g, "dw", relu(g, "rcat", co), 40, 40, 3, 40));
  MscValue *c3 = relu(g, "r3", conv(g, "conv3", d, 40, 16, 1, 1));
  MscNode *mp = node1(g, "pool", "MaxPool", c3, NULL, NULL, "pool.y");
  int64_t k[2] = {2, 2};
  msc_node_add_attr_ints(mp, "kernel_shape", 2, k);
  msc_node_add_attr_ints(mp, "strides", 2, k);
  MscValue *f = node1(g, "flat", "Flatten", mp->outputs[0], NULL, NULL, "flat.y")->outputs[0];
  int64_t wd[2] = {256, 10}, bd[1] = {10};
  MscNode *fc = node1(g, "fc", "Gemm", f, init_rand(g, "fc.w", 2, wd), init_rand(g, "fc.b", 1, bd), "y");
  finish(g, fc->outputs[0]);
  return g;
}

static const MscTensor *weight_of(const MscGraph *g, const char *node) {
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (!strcmp(g->nodes[i]->name, node)) return g->nodes[i]->inputs[1]->value;
  g_assert_not_reached();
  return NULL;
}

static int64_t attr_of(const MscGraph *g, const char *node, const char *name) {
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (!strcmp(g->nodes[i]->name, node))
      for (uint32_t k = 0; k < g->nodes[i]->n_attrs; k++)
        if (!strcmp(g->nodes[i]->attrs[k].name, name)) return g->nodes[i]->attrs[k].i;
  return -1;
}

static JsonObject *group_with_source(const Pruned *p, const char *src) {
  JsonArray *a = json_object_get_array_member(report_obj(p), "groups");
  for (guint i = 0; i < json_array_get_length(a); i++) {
    JsonObject *gr = json_array_get_object_element(a, i);
    JsonArray *s = json_object_get_array_member(gr, "sources");
    for (guint j = 0; j < json_array_get_length(s); j++)
      if (!strcmp(json_array_get_string_element(s, j), src)) return gr;
  }
  return NULL;
}

static void test_pruner_groups_residual(void) {
  g_test_summary("a residual Add ties both convs' channels; Flatten->Gemm columns follow; the graph output stays whole");
  NEED_PRUNER();
  g_autoptr(MscGraph) g = residual_graph();
  const char *kv[] = {"density=0.5", "reconstruct=false", NULL};
  Pruned p;
  g_autoptr(GError) err = NULL;
  gboolean ok = run_pruner(g, kv, 2, "residual", &p, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
  JsonObject *ga = group_with_source(&p, "convA");
  g_assert_nonnull(ga);
  g_assert_true(group_with_source(&p, "convB") == ga);
  g_assert_cmpint(json_object_get_int_member(ga, "kept"), ==, 8);
  g_assert_cmpint(weight_of(p.pruned, "convA")->dims[0], ==, 8);
  g_assert_cmpint(weight_of(p.pruned, "convB")->dims[0], ==, 8);
  g_assert_cmpint(weight_of(p.pruned, "convB")->dims[1], ==, 8);
  g_assert_cmpint(weight_of(p.pruned, "convC")->dims[1], ==, 8);
  g_assert_cmpint(weight_of(p.pruned, "convC")->dims[0], ==, 8);
  g_assert_cmpint(weight_of(p.pruned, "fc")->dims[0], ==, 10);
  g_assert_cmpint(weight_of(p.pruned, "fc")->dims[1], ==, 8);
  JsonObject *gfc = group_with_source(&p, "fc");
  g_assert_nonnull(gfc);
  g_assert_nonnull(strstr(json_object_get_string_member(gfc, "unpruned_because"), "graph output"));
  pruned_clear(&p);
}

/* Reads the plan's masks: value name -> GArray of kept channel ints. */
static GHashTable *plan_masks(const char *path) {
  g_autoptr(JsonNode) root = load_json(path);
  GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_array_unref);
  JsonArray *a = json_object_get_array_member(json_node_get_object(root), "masks");
  for (guint i = 0; i < json_array_get_length(a); i++) {
    JsonObject *m = json_array_get_object_element(a, i);
    JsonArray *k = json_object_get_array_member(m, "keep");
    GArray *keep = g_array_new(FALSE, TRUE, sizeof(int64_t));
    for (guint j = 0; j < json_array_get_length(k); j++) {
      int64_t c = json_array_get_int_element(k, j);
      g_array_append_val(keep, c);
    }
    g_hash_table_insert(h, g_strdup(json_object_get_string_member(m, "value")), keep);
  }
  return h;
}

static gboolean kept(GArray *keep, int64_t c) {
  for (guint i = 0; keep && i < keep->len; i++)
    if (g_array_index(keep, int64_t, i) == c) return TRUE;
  return keep == NULL;
}

/* The unpruned graph with the removed output channels of every Conv zeroed
 * (weights and bias): those channels are exactly 0 after the Conv, so Relu,
 * Add, Concat, depthwise, pooling and Flatten carry exact zeros. */
static MscGraph *masked_reference(const MscGraph *g, GHashTable *masks) {
  MscGraph *m = copy_graph(g);
  for (uint32_t i = 0; i < m->n_nodes; i++) {
    MscNode *n = m->nodes[i];
    if (strcmp(n->op_type, "Conv")) continue;
    GArray *keep = g_hash_table_lookup(masks, n->outputs[0]->name);
    if (!keep) continue;
    MscTensor *w = n->inputs[1]->value, *b = n->n_inputs > 2 ? n->inputs[2]->value : NULL;
    int64_t per = msc_tensor_numel(w) / w->dims[0];
    for (int64_t o = 0; o < w->dims[0]; o++) {
      if (kept(keep, o)) continue;
      for (int64_t k = 0; k < per; k++) ((float *)w->data)[o * per + k] = 0;
      if (b) ((float *)b->data)[o] = 0;
    }
  }
  return m;
}

static void check_masked_equivalence(const MscGraph *g, const Pruned *p, double tol) {
  g_autoptr(GHashTable) masks = plan_masks(p->plan_path);
  g_assert_cmpuint(g_hash_table_size(masks), >, 0);
  g_autoptr(MscGraph) ref = masked_reference(g, masks);
  g_autoptr(MscDataset) ds = random_dataset(g, 3, 900);
  for (guint k = 0; k < ds->n_samples; k++) {
    MscTensor **a = run_graph(ref, ds->inputs[k]);
    MscTensor **b = run_graph(p->pruned, ds->inputs[k]);
    for (uint32_t j = 0; j < g->n_outputs; j++) {
      double m = max_abs_diff(a[j], b[j]);
      g_assert_cmpfloat(m, <=, tol);
    }
    free_outputs(g, a);
    free_outputs(p->pruned, b);
  }
}

static void test_pruner_groups_concat_depthwise(void) {
  g_test_summary("Concat offsets, a depthwise Conv after it, MaxPool and Flatten->Gemm blocks of H*W features");
  NEED_PRUNER();
  g_autoptr(MscGraph) g = concat_graph();
  const char *kv[] = {"density=0.5", "reconstruct=false", NULL};
  Pruned p;
  g_autoptr(GError) err = NULL;
  gboolean ok = run_pruner(g, kv, 2, "concat", &p, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
  /* conv1 16 -> 8, conv2 24 -> 16 (12 rounded to a multiple of 8), conv3 16 -> 8 */
  g_assert_cmpint(weight_of(p.pruned, "conv1")->dims[0], ==, 8);
  g_assert_cmpint(weight_of(p.pruned, "conv2")->dims[0], ==, 16);
  g_assert_cmpint(weight_of(p.pruned, "dw")->dims[0], ==, 24);
  g_assert_cmpint(weight_of(p.pruned, "dw")->dims[1], ==, 1);
  g_assert_cmpint(attr_of(p.pruned, "dw", "group"), ==, 24);
  g_assert_cmpint(weight_of(p.pruned, "conv3")->dims[1], ==, 24);
  g_assert_cmpint(weight_of(p.pruned, "conv3")->dims[0], ==, 8);
  g_assert_cmpint(weight_of(p.pruned, "fc")->dims[0], ==, 8 * 16);
  /* the channels removed are the ones a masked reference zeroes, at the right offsets */
  check_masked_equivalence(g, &p, 1e-4);
  pruned_clear(&p);
}

/* A caffe2-style classifier: Gemm(flatten(GAP(conv)), Reshape(W[1,1,N,C], [N,C]), transB=1),
 * the weight a view of a constant larger than the small-tensor fold limit. */
static MscGraph *reshaped_fc_graph(void) {
  MscValue *x;
  MscGraph *g = new_graph("reshaped_fc", 3, 8, &x);
  MscValue *a = relu(g, "r1", conv(g, "conv1", x, 3, 1024, 3, 1));
  MscValue *gp = node1(g, "gap", "GlobalAveragePool", a, NULL, NULL, "gap.y")->outputs[0];
  MscValue *f = node1(g, "flat", "Flatten", gp, NULL, NULL, "flat.y")->outputs[0];
  int64_t wd[4] = {1, 1, 100, 1024}, sd[1] = {2}, bd[1] = {100};
  MscValue *w4 = init_rand(g, "fc.w4", 4, wd);
  MscTensor *st = msc_tensor_new(MSC_DTYPE_INT64, 1, sd, NULL);
  ((int64_t *)st->data)[0] = 100;
  ((int64_t *)st->data)[1] = 1024;
  msc_tensor_set_name(st, "fc.shape");
  MscValue *shape = msc_graph_add_initializer(g, "fc.shape", st);
  MscValue *w = node1(g, "fc.reshape", "Reshape", w4, shape, NULL, "fc.w")->outputs[0];
  MscNode *fc = node1(g, "fc", "Gemm", f, w, init_rand(g, "fc.b", 1, bd), "y");
  attr_int(fc, "transB", 1);
  finish(g, fc->outputs[0]);
  return g;
}

static void test_pruner_slice_reshaped_weight(void) {
  g_test_summary("a classifier weight that is Reshape(constant) (caffe2 export) is pruned at its source: "
                 "no stale copy of the weight stays in the model");
  NEED_PRUNER();
  g_autoptr(MscGraph) g = reshaped_fc_graph();
  const char *kv[] = {"density=0.5", "reconstruct=false", NULL};
  Pruned p;
  g_autoptr(GError) err = NULL;
  gboolean ok = run_pruner(g, kv, 2, "reshaped-fc", &p, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
  g_assert_cmpint(weight_of(p.pruned, "conv1")->dims[0], ==, 512);
  /* the Reshape still feeds the Gemm; its source and its shape were sliced */
  const MscNode *rs = NULL, *fc = NULL;
  for (uint32_t i = 0; i < p.pruned->n_nodes; i++) {
    if (!strcmp(p.pruned->nodes[i]->name, "fc.reshape")) rs = p.pruned->nodes[i];
    if (!strcmp(p.pruned->nodes[i]->name, "fc")) fc = p.pruned->nodes[i];
  }
  g_assert_nonnull(rs);
  g_assert_nonnull(fc);
  g_assert_true(fc->inputs[1]->producer == rs);
  g_assert_nonnull(rs->inputs[0]->value);
  g_assert_cmpint(rs->inputs[0]->value->dims[3], ==, 512);
  g_assert_cmpint(rs->inputs[0]->value->dims[2], ==, 100);
  g_assert_cmpint(((const int64_t *)rs->inputs[1]->value->data)[1], ==, 512);
  /* half the parameters: no stale 100x1024 copy */
  const int64_t before = msc_graph_param_count(g), after = msc_graph_param_count(p.pruned);
  g_assert_cmpint(after, <, before * 55 / 100);
  check_masked_equivalence(g, &p, 1e-4);
  pruned_clear(&p);
}

static void test_pruner_slice_masked_equivalence(void) {
  g_test_summary("pruned residual model == unpruned model with the removed channels' weights and biases zeroed");
  NEED_PRUNER();
  g_autoptr(MscGraph) g = residual_graph();
  const char *kv[] = {"density=0.5", "reconstruct=false", "criterion=l2", NULL};
  Pruned p;
  g_autoptr(GError) err = NULL;
  gboolean ok = run_pruner(g, kv, 2, "masked", &p, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
  check_masked_equivalence(g, &p, 1e-4);
  /* the export is smaller */
  g_autofree uint8_t *b0 = NULL, *b1 = NULL;
  size_t n0 = 0, n1 = 0;
  g_assert_true(msc_onnx_save_buffer(g, &b0, &n0, NULL));
  g_assert_true(msc_onnx_save_buffer(p.pruned, &b1, &n1, NULL));
  g_assert_cmpuint(n1, <, n0);
  pruned_clear(&p);
}

static void test_pruner_groups_blocked(void) {
  g_test_summary("channels reaching an op the pruner does not know (LRN) or a graph output stay whole, with a reason");
  NEED_PRUNER();
  MscValue *x;
  g_autoptr(MscGraph) g = new_graph("blocked", 3, 8, &x);
  MscValue *a = relu(g, "r1", conv(g, "conv1", x, 3, 16, 3, 1));
  MscNode *lrn = node1(g, "lrn", "LRN", a, NULL, NULL, "lrn.y");
  attr_int(lrn, "size", 3);
  MscValue *b = conv(g, "conv2", lrn->outputs[0], 16, 16, 3, 1);
  finish(g, b);
  const char *kv[] = {"density=0.5", NULL};
  Pruned p;
  g_autoptr(GError) err = NULL;
  gboolean ok = run_pruner(g, kv, 1, "blocked", &p, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
  JsonObject *g1 = group_with_source(&p, "conv1"), *g2 = group_with_source(&p, "conv2");
  g_assert_nonnull(strstr(json_object_get_string_member(g1, "unpruned_because"), "LRN"));
  g_assert_nonnull(strstr(json_object_get_string_member(g2, "unpruned_because"), "graph output"));
  g_assert_cmpint(weight_of(p.pruned, "conv1")->dims[0], ==, 16);
  g_assert_cmpfloat(model_num(&p, "flops_removed"), ==, 0.0);
  pruned_clear(&p);
}

/* One 1x1 conv with 16 crafted filters over 4 inputs -> relu -> conv2 -> y. */
static MscGraph *crafted_graph(const float (*filters)[4]) {
  MscValue *x;
  MscGraph *g = new_graph("crafted", 4, 4, &x);
  MscValue *a = relu(g, "r1", conv(g, "conv1", x, 4, 16, 1, 1));
  MscValue *b = conv(g, "conv2", a, 16, 8, 1, 1);
  finish(g, b);
  MscTensor *w = g->nodes[0]->inputs[1]->value;
  memcpy(w->data, filters, sizeof(float) * 64);
  return g;
}

typedef struct {
  int64_t idx;
  double s;
} Ranked;

static gint ranked_desc(gconstpointer a, gconstpointer b) {
  const Ranked *x = a, *y = b;
  return x->s != y->s ? (x->s > y->s ? -1 : 1) : (x->idx > y->idx) - (x->idx < y->idx);
}

static void check_criterion(const char *crit, const float (*f)[4], int keep_n) {
  double s[16];
  for (int i = 0; i < 16; i++) {
    double l1 = 0, l2 = 0, gm = 0;
    for (int k = 0; k < 4; k++) {
      l1 += fabs(f[i][k]);
      l2 += (double)f[i][k] * f[i][k];
    }
    for (int j = 0; j < 16; j++) {
      double d = 0;
      for (int k = 0; k < 4; k++) d += ((double)f[i][k] - f[j][k]) * ((double)f[i][k] - f[j][k]);
      gm += sqrt(d);
    }
    s[i] = !strcmp(crit, "l1") ? l1 : !strcmp(crit, "l2") ? sqrt(l2) : gm;
  }
  Ranked r[16];
  for (int i = 0; i < 16; i++) r[i] = (Ranked){i, s[i]};
  qsort(r, 16, sizeof *r, (int (*)(const void *, const void *))ranked_desc);
  gboolean want[16] = {0};
  for (int i = 0; i < keep_n; i++) want[r[i].idx] = TRUE;
  g_autoptr(MscGraph) g = crafted_graph(f);
  g_autofree char *c = g_strdup_printf("criterion=%s", crit);
  g_autofree char *d = g_strdup_printf("density=%g", keep_n / 16.0);
  const char *kv[] = {c, d, "round_to=1", "min_channels=1", "reconstruct=false", NULL};
  Pruned p;
  g_autoptr(GError) err = NULL;
  gboolean ok = run_pruner(g, kv, 0, crit, &p, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
  g_autoptr(GHashTable) masks = plan_masks(p.plan_path);
  GArray *keep = g_hash_table_lookup(masks, "conv1.y");
  g_assert_nonnull(keep);
  g_assert_cmpuint(keep->len, ==, (guint)keep_n);
  for (int i = 0; i < 16; i++) g_assert_cmpint(kept(keep, i), ==, want[i]);
  pruned_clear(&p);
}

static void test_pruner_criteria(void) {
  g_test_summary("l1, l2 and fpgm keep the channels an independent computation ranks highest on crafted filters");
  NEED_PRUNER();
  /* l1 and l2 disagree on spread vs peaked filters; fpgm drops the ones near the median */
  float f[16][4];
  for (int i = 0; i < 16; i++) {
    float a = 0.1f + 0.05f * (float)i;
    if (i % 2) {
      for (int k = 0; k < 4; k++) f[i][k] = a; /* spread: l1 = 4a, l2 = 2a */
    } else {
      f[i][0] = 2.6f * a; /* peaked: l1 = l2 = 2.6a */
      f[i][1] = f[i][2] = f[i][3] = 0;
    }
  }
  check_criterion("l1", (const float (*)[4])f, 6);
  check_criterion("l2", (const float (*)[4])f, 6);
  check_criterion("fpgm", (const float (*)[4])f, 6);
}

static void test_pruner_criteria_activation(void) {
  g_test_summary("activation keeps the channels that carry signal; l1 keeps the large filters even when Relu zeroes them");
  NEED_PRUNER();
  float f[16][4];
  for (int i = 0; i < 16; i++)
    for (int k = 0; k < 4; k++) f[i][k] = (i < 8 ? 2.0f : 0.5f) * (k % 2 ? -1.0f : 1.0f);
  g_autoptr(MscGraph) g = crafted_graph((const float (*)[4])f);
  MscTensor *b = g->nodes[0]->inputs[2]->value;
  for (int i = 0; i < 16; i++) ((float *)b->data)[i] = i < 8 ? -100.0f : 0.1f; /* channels 0..7: always 0 after Relu */
  const char *crit[2] = {"criterion=activation", "criterion=l1"};
  for (int c = 0; c < 2; c++) {
    const char *kv[] = {crit[c], "density=0.5", "round_to=1", "min_channels=1", "reconstruct=false", NULL};
    Pruned p;
    g_autoptr(GError) err = NULL;
    gboolean ok = run_pruner(g, kv, 4, "act", &p, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    g_autoptr(GHashTable) masks = plan_masks(p.plan_path);
    GArray *keep = g_hash_table_lookup(masks, "conv1.y");
    g_assert_nonnull(keep);
    for (int i = 0; i < 16; i++) g_assert_cmpint(kept(keep, i), ==, c == 0 ? i >= 8 : i < 8);
    pruned_clear(&p);
  }
}

static void test_pruner_targets_round_to(void) {
  g_test_summary("kept channel counts are multiples of round_to (or the whole group), never below min_channels");
  NEED_PRUNER();
  g_autoptr(GError) err = NULL;
  g_autoptr(MscGraph) g = msc_zoo_build("mobilenet_mini", &err);
  g_assert_true(msc_graph_verify(g, &err));
  const int rounds[2] = {8, 4};
  for (int r = 0; r < 2; r++) {
    g_autofree char *rt = g_strdup_printf("round_to=%d", rounds[r]);
    const char *kv[] = {"density=0.3", rt, "min_channels=8", "reconstruct=false", NULL};
    Pruned p;
    gboolean ok = run_pruner(g, kv, 0, "round", &p, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    JsonArray *a = json_object_get_array_member(report_obj(&p), "groups");
    guint pruned = 0;
    for (guint i = 0; i < json_array_get_length(a); i++) {
      JsonObject *gr = json_array_get_object_element(a, i);
      int64_t len = json_object_get_int_member(gr, "channels"), k = json_object_get_int_member(gr, "kept");
      if (k == len) continue;
      pruned++;
      g_assert_cmpint(k % rounds[r], ==, 0);
      g_assert_cmpint(k, >=, 8);
    }
    g_assert_cmpuint(pruned, >, 3);
    pruned_clear(&p);
  }
}

static void test_pruner_targets_flops(void) {
  g_test_summary("flops_target: the removed FLOPs fraction (counted on the pruned graph) reaches the target");
  NEED_PRUNER();
  g_autoptr(GError) err = NULL;
  g_autoptr(MscGraph) g = msc_zoo_build("resnet_mini", &err);
  g_assert_true(msc_graph_verify(g, &err));
  const double targets[2] = {0.3, 0.6};
  for (int t = 0; t < 2; t++) {
    g_autofree char *ft = g_strdup_printf("flops_target=%g", targets[t]);
    const char *kv[] = {ft, "reconstruct=false", NULL};
    Pruned p;
    gboolean ok = run_pruner(g, kv, 0, "flops", &p, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    double removed = 1.0 - (double)msc_graph_flops(p.pruned) / (double)msc_graph_flops(g);
    g_assert_cmpfloat(removed, >=, targets[t]);
    g_assert_cmpfloat(fabs(removed - model_num(&p, "flops_removed")), <, 1e-9);
    pruned_clear(&p);
  }
  const char *kv[] = {"flops_target=0.99", NULL};
  Pruned p;
  g_assert_false(run_pruner(g, kv, 0, "flops-high", &p, &err));
  g_assert_nonnull(strstr(err->message, "flops_target"));
  pruned_clear(&p);
}

static void test_pruner_options_errors(void) {
  g_test_summary("bad options are refused naming the option");
  NEED_PRUNER();
  static const char *const cases[][3] = {
      {"criterion", "l3", "criterion"},       {"density", "1.5", "density"},
      {"density", "abc", "density"},          {"round_to", "0", "round_to"},
      {"layer_density", "conv:2", "layer_density"}, {"flops_target", "1", "flops_target"},
      {"bogus", "1", "bogus"},                {"reconstruct", "maybe", "reconstruct"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    const char *keys[1] = {cases[i][0]}, *vals[1] = {cases[i][1]};
    MscOptions o = {keys, vals, 1};
    g_autoptr(GError) err = NULL;
    g_autoptr(MscToolHandle) t = msc_tool_handle_new("pruner", &o, &err);
    g_assert_null(t);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, cases[i][2]));
  }
  const char *keys[2] = {"density", "flops_target"}, *vals[2] = {"0.5", "0.4"};
  MscOptions o = {keys, vals, 2};
  g_autoptr(GError) err = NULL;
  g_autoptr(MscToolHandle) t = msc_tool_handle_new("pruner", &o, &err);
  g_assert_null(t);
  g_assert_nonnull(strstr(err->message, "flops_target"));
}

static void test_pruner_plan_round_trip(void) {
  g_test_summary("a saved plan (masks and refitted weights) re-applied on a fresh model gives the same model");
  NEED_PRUNER();
  g_autoptr(GError) err = NULL;
  g_autoptr(MscGraph) g = msc_zoo_build("mobilenet_mini", &err);
  g_assert_true(msc_graph_verify(g, &err));
  const char *kv[] = {"density=0.5", NULL};
  Pruned p;
  g_assert_true(run_pruner(g, kv, 4, "plan", &p, &err));
  g_assert_no_error(err);
  g_autoptr(MscToolHandle) t = msc_tool_handle_new("pruner", NULL, &err);
  g_assert_nonnull(t);
  g_assert_true(msc_tool_load_plan(t, p.plan_path, &err));
  g_assert_no_error(err);
  g_autoptr(MscWorker) w = msc_worker_new(copy_graph(g), &err);
  g_assert_true(msc_worker_apply_tool(w, t, &err));
  g_assert_no_error(err);
  g_autofree uint8_t *b0 = NULL, *b1 = NULL;
  size_t n0 = 0, n1 = 0;
  g_assert_true(msc_onnx_save_buffer(p.pruned, &b0, &n0, NULL));
  g_assert_true(msc_onnx_save_buffer(msc_worker_graph(w), &b1, &n1, NULL));
  g_assert_cmpuint(n0, ==, n1);
  g_assert_cmpint(memcmp(b0, b1, n0), ==, 0);
  /* a plan for another model is refused naming the value */
  g_autoptr(MscGraph) other = msc_zoo_build("resnet_mini", &err);
  g_assert_true(msc_graph_verify(other, &err));
  g_autoptr(MscToolHandle) t2 = msc_tool_handle_new("pruner", NULL, &err);
  g_assert_true(msc_tool_load_plan(t2, p.plan_path, &err));
  g_autoptr(MscWorker) w2 = msc_worker_new(copy_graph(other), &err);
  g_assert_false(msc_worker_apply_tool(w2, t2, &err));
  g_assert_nonnull(strstr(err->message, "value '"));
  pruned_clear(&p);
}

/* Held-out cosine of @p against @g (min over outputs and samples). */
static double heldout_cosine(const MscGraph *g, const MscGraph *pruned, guint n, uint32_t seed) {
  g_autoptr(MscDataset) ds = random_dataset(g, n, seed);
  double worst = 1.0;
  for (guint k = 0; k < n; k++) {
    MscTensor **a = run_graph(g, ds->inputs[k]);
    MscTensor **b = run_graph(pruned, ds->inputs[k]);
    for (uint32_t j = 0; j < g->n_outputs; j++) worst = MIN(worst, cosine(a[j], b[j]));
    free_outputs(g, a);
    free_outputs(pruned, b);
  }
  return worst;
}

static void test_pruner_refit_zoo(void) {
  g_test_summary("the least-squares refit raises the held-out output cosine of the zoo nets at density 0.5");
  NEED_PRUNER();
  for (const char *const *name = msc_zoo_names(); *name; name++) {
    g_autoptr(GError) err = NULL;
    g_autoptr(MscGraph) g = msc_zoo_build(*name, &err);
    g_assert_true(msc_graph_verify(g, &err));
    const char *plain_kv[] = {"density=0.5", "reconstruct=false", NULL}, *fit_kv[] = {"density=0.5", NULL};
    Pruned a, b;
    g_assert_true(run_pruner(g, plain_kv, 8, "plain", &a, &err));
    g_assert_true(run_pruner(g, fit_kv, 8, "fit", &b, &err));
    double ca = heldout_cosine(g, a.pruned, 4, 5000), cb = heldout_cosine(g, b.pruned, 4, 5000);
    g_test_message("%s: held-out cosine plain %.4f, reconstructed %.4f", *name, ca, cb);
    g_assert_cmpfloat(cb, >, ca);
    /* the report measured the same direction on the calibration samples */
    JsonObject *oe = json_object_get_object_member(report_obj(&b), "output_error");
    double rp = json_object_get_double_member(json_object_get_object_member(oe, "plain"), "min_cosine");
    double rr = json_object_get_double_member(json_object_get_object_member(oe, "reconstructed"), "min_cosine");
    g_assert_cmpfloat(rr, >, rp);
    g_assert_cmpint(json_object_get_int_member(oe, "refitted_layers"), >, 0);
    pruned_clear(&a);
    pruned_clear(&b);
  }
}

/* Samples [skip, skip + n) of the glyph generator (text-like images, the
 * `msc prune` default for 4-D float inputs). */
static MscDataset *glyph_dataset(const MscGraph *g, guint n, guint skip) {
  MscDatasetSpec spec = {0};
  spec.source = "glyphs";
  spec.samples = n;
  spec.skip = skip;
  spec.seed = 1;
  g_autoptr(GError) err = NULL;
  MscDataset *ds = msc_dataset_new(&spec, g, &err);
  g_assert_no_error(err);
  return ds;
}

/* Held-out cosine of @pruned against @g on @ds: per output, all samples
 * flattened together (as `msc prune` reports it), min over outputs. */
static double heldout_cosine_ds(const MscGraph *g, const MscGraph *pruned, const MscDataset *ds) {
  g_autofree double *dot = g_new0(double, g->n_outputs), *na = g_new0(double, g->n_outputs),
                    *nb = g_new0(double, g->n_outputs);
  for (guint k = 0; k < ds->n_samples; k++) {
    MscTensor **a = run_graph(g, ds->inputs[k]);
    MscTensor **b = run_graph(pruned, ds->inputs[k]);
    for (uint32_t j = 0; j < g->n_outputs; j++) {
      g_assert_cmpint(msc_tensor_numel(a[j]), ==, msc_tensor_numel(b[j]));
      for (int64_t i = 0; i < msc_tensor_numel(a[j]); i++) {
        double x = msc_tensor_get_f64(a[j], i), y = msc_tensor_get_f64(b[j], i);
        dot[j] += x * y;
        na[j] += x * x;
        nb[j] += y * y;
      }
    }
    free_outputs(g, a);
    free_outputs(pruned, b);
  }
  double worst = 1.0;
  for (uint32_t j = 0; j < g->n_outputs; j++)
    worst = MIN(worst, na[j] == 0 && nb[j] == 0 ? 1.0 : (na[j] == 0 || nb[j] == 0) ? 0.0 : dot[j] / sqrt(na[j] * nb[j]));
  return worst;
}

static void test_pruner_refit_squeezenet(void) {
  g_test_summary("squeezenet_rand (random weights, glyph inputs): the refit raises the held-out output cosine at "
                 "densities 0.75 and 0.5, and every refitted layer lowered its error on the validation samples");
  NEED_PRUNER();
  const char *shared = g_getenv("MSC_SHARED_DIR");
  g_autofree char *path = g_build_filename(shared ? shared : "../shared", "conformance", "models", "squeezenet_rand",
                                           "model.onnx", NULL);
  if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
    g_test_skip("../shared/conformance/models/squeezenet_rand absent");
    return;
  }
  if (quick()) {
    g_test_skip("MSC_TEST_QUICK: the squeezenet refit (~10 s) is left out of the sanitizer run");
    return;
  }
  g_autoptr(GError) err = NULL;
  g_autoptr(MscGraph) g = msc_onnx_load_file(path, &err);
  g_assert_no_error(err);
  g_assert_true(msc_graph_verify(g, &err));
  g_autoptr(MscDataset) calib = glyph_dataset(g, 8, 0);
  g_autoptr(MscDataset) held = glyph_dataset(g, 6, 1000); /* never seen by the pruner */
  static const char *const dens[] = {"density=0.75", "density=0.5"};
  for (guint d = 0; d < G_N_ELEMENTS(dens); d++) {
    const char *plain_kv[] = {dens[d], "reconstruct=false", "refit_samples=0", NULL};
    const char *fit_kv[] = {dens[d], "refit_samples=8", NULL};
    Pruned a, b;
    g_assert_true(run_pruner_ds(g, plain_kv, calib, 0, "sq-plain", &a, &err));
    g_assert_no_error(err);
    g_assert_true(run_pruner_ds(g, fit_kv, calib, 8, "sq-fit", &b, &err));
    g_assert_no_error(err);
    double ca = heldout_cosine_ds(g, a.pruned, held), cb = heldout_cosine_ds(g, b.pruned, held);
    g_test_message("squeezenet_rand %s: held-out softmax cosine plain %.4f, reconstructed %.4f", dens[d], ca, cb);
    g_assert_cmpfloat(cb, >, ca + 0.1);
    JsonArray *layers = json_object_get_array_member(report_obj(&b), "refit_layers");
    guint refitted = 0;
    for (guint i = 0; i < json_array_get_length(layers); i++) {
      JsonObject *l = json_array_get_object_element(layers, i);
      if (!json_object_get_boolean_member(l, "refitted")) continue;
      refitted++;
      g_assert_cmpint(json_object_get_int_member(l, "rows_validation"), >, 0);
      g_assert_cmpfloat(json_object_get_double_member(l, "validation_rel_error_refit"), <,
                        json_object_get_double_member(l, "validation_rel_error_plain"));
    }
    g_assert_cmpuint(refitted, >=, 20); /* 25 layers lose input channels */
    pruned_clear(&a);
    pruned_clear(&b);
  }
}

/* x(4) -> conv 1x1 (16 channels, filter k = s_k * f: every channel is a
 * scaled copy of one) -> relu -> GlobalAveragePool -> Flatten -> Gemm(16 -> 3) = y.
 * The classifier sees one row per sample and its target after pruning is
 * an exact per-output rescaling of the plainly sliced output. */
static MscGraph *scaled_copies_graph(void) {
  MscValue *x;
  MscGraph *g = new_graph("scaled-copies", 4, 6, &x);
  int64_t wd[4] = {16, 4, 1, 1}, bd[1] = {16};
  MscValue *w = init_rand(g, "conv.w", 4, wd), *b = init_rand(g, "conv.b", 1, bd);
  float *wv = w->value->data, *bv = b->value->data;
  wv[0] = fabsf(wv[0]) + 0.5f; /* a positive response on average: the GAP rows vary around a mean */
  for (int k = 0; k < 16; k++) {
    bv[k] = 0;
    /* filter k = (1 + 0.4 k) * filter 0: distinct L1 norms, the 8 largest are kept */
    for (int c = 0; c < 4 && k > 0; c++) wv[k * 4 + c] = wv[c] * (1.0f + 0.4f * (float)k);
  }
  MscNode *cv = node1(g, "conv", "Conv", x, w, b, "conv.y");
  MscValue *r = relu(g, "r", cv->outputs[0]);
  MscValue *p = node1(g, "gap", "GlobalAveragePool", r, NULL, NULL, "gap.y")->outputs[0];
  MscValue *f = node1(g, "flat", "Flatten", p, NULL, NULL, "flat.y")->outputs[0];
  int64_t fd[2] = {3, 16}, fb[1] = {3};
  MscValue *fw = init_rand(g, "fc.w", 2, fd);
  float *fwv = fw->value->data;
  for (int64_t i = 0; i < 3 * 16; i++) fwv[i] = 0.2f + fabsf(fwv[i]); /* no cancellation among the kept */
  MscNode *fc = node1(g, "fc", "Gemm", f, fw, init_rand(g, "fc.b", 1, fb), "y");
  attr_int(fc, "transB", 1);
  finish(g, fc->outputs[0]);
  return g;
}

static void test_pruner_refit_affine(void) {
  g_test_summary("a layer with fewer calibration rows than weights (a classifier after GAP) gets the affine refit: "
                 "its sliced weights rescaled per output (not memorized), exact on a target that is a rescaling");
  NEED_PRUNER();
  g_autoptr(MscGraph) g = scaled_copies_graph();
  g_autoptr(GError) err = NULL;
  const char *plain_kv[] = {"density=0.5", "reconstruct=false", NULL};
  const char *fit_kv[] = {"density=0.5", "refit_samples=8", NULL};
  Pruned a, b;
  g_assert_true(run_pruner(g, plain_kv, 8, "affine-plain", &a, &err));
  g_assert_no_error(err);
  g_assert_true(run_pruner(g, fit_kv, 8, "affine-fit", &b, &err));
  g_assert_no_error(err);
  JsonArray *layers = json_object_get_array_member(report_obj(&b), "refit_layers");
  gboolean seen = FALSE;
  for (guint i = 0; i < json_array_get_length(layers); i++) {
    JsonObject *l = json_array_get_object_element(layers, i);
    if (strcmp(json_object_get_string_member(l, "name"), "fc")) continue;
    seen = TRUE;
    g_assert_true(json_object_get_boolean_member(l, "refitted"));
    g_assert_cmpint(json_object_get_int_member(l, "rows_fit"), <, json_object_get_int_member(l, "regressors"));
    g_assert_cmpfloat(json_object_get_double_member(l, "validation_rel_error_plain"), >, 1e-3);
    g_assert_cmpfloat(json_object_get_double_member(l, "validation_rel_error_refit"), <, 1e-4);
  }
  g_assert_true(seen);
  /* refitted weights = plainly sliced ones times one factor per output (> 1:
   * the removed copies' share moves to the kept ones) */
  const MscTensor *wp = weight_of(a.pruned, "fc"), *wf = weight_of(b.pruned, "fc");
  g_assert_cmpint(wp->dims[0], ==, 3);
  g_assert_cmpint(wp->dims[1], ==, 8);
  g_assert_cmpint(wf->dims[1], ==, 8);
  for (int m = 0; m < 3; m++) {
    const float *rp = (const float *)wp->data + m * 8, *rf = (const float *)wf->data + m * 8;
    const double ratio = rf[0] / rp[0];
    g_assert_cmpfloat(ratio, >, 1.2);
    for (int k = 1; k < 8; k++) g_assert_cmpfloat(fabs(rf[k] / rp[k] - ratio), <, 1e-4 * ratio);
  }
  /* and the outputs follow on inputs the pruner never saw */
  g_autoptr(MscDataset) held = random_dataset(g, 4, 9000);
  for (guint k = 0; k < held->n_samples; k++) {
    MscTensor **y0 = run_graph(g, held->inputs[k]), **y1 = run_graph(b.pruned, held->inputs[k]);
    double peak = 0;
    for (int64_t i = 0; i < msc_tensor_numel(y0[0]); i++) peak = MAX(peak, fabs(msc_tensor_get_f64(y0[0], i)));
    g_assert_cmpfloat(max_abs_diff(y0[0], y1[0]), <, 1e-3 * (1.0 + peak));
    free_outputs(g, y0);
    free_outputs(b.pruned, y1);
  }
  pruned_clear(&a);
  pruned_clear(&b);
}

/* ppocr_cls_mobile_v2 loaded with its real input size, NULL when absent. */
static MscGraph *load_ppocr(void) {
  const char *shared = g_getenv("MSC_SHARED_DIR");
  g_autofree char *path = g_build_filename(shared ? shared : "../shared", "conformance", "models",
                                           "ppocr_cls_mobile_v2", "model.onnx", NULL);
  if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) return NULL;
  g_autoptr(GError) err = NULL;
  MscGraph *g = msc_onnx_load_file(path, &err);
  g_assert_no_error(err);
  g_assert_true(msc_graph_verify(g, &err));
  for (uint32_t k = 0; k < g->n_inputs; k++)
    if (g->inputs[k]->rank == 4 && g->inputs[k]->dims[2] < 0) {
      g->inputs[k]->dims[0] = 1;
      g->inputs[k]->dims[2] = 48;
      g->inputs[k]->dims[3] = 192;
    }
  g_assert_true(msc_graph_verify(g, &err));
  return g;
}

static double val_cosine(const Pruned *p, const char *which) {
  JsonObject *oe = json_object_get_object_member(report_obj(p), "output_error");
  JsonObject *v = json_object_get_object_member(json_object_get_object_member(oe, "validation"), which);
  return json_object_get_double_member(v, "min_cosine");
}

static void test_pruner_refit_guard(void) {
  g_test_summary("PP-OCR cls at densities 0.75 and 0.5: the installed model is never further from the unpruned one than the "
                 "plainly sliced model on the validation samples (a refit that is worse there is rejected whole)");
  NEED_PRUNER();
  g_autoptr(MscGraph) g = load_ppocr();
  if (!g) {
    g_test_skip("../shared/conformance/models/ppocr_cls_mobile_v2 absent");
    return;
  }
  g_autoptr(MscDataset) calib = glyph_dataset(g, 16, 0);
  g_autoptr(MscDataset) probe = glyph_dataset(g, 1, 500);
  /* on these samples: density 0.75 with 12 samples gives a refit that is
   * worse on the validation samples (rejected), 0.5 with 16 a better one */
  static const struct {
    const char *density, *count;
  } cfg[] = {{"density=0.75", "refit_samples=12"}, {"density=0.5", "refit_samples=16"}};
  guint rejected = 0;
  for (guint c = 0; c < G_N_ELEMENTS(cfg); c++) {
    const char *n = cfg[c].count + strlen("refit_samples=");
    const char *plain_kv[] = {cfg[c].density, "reconstruct=false", cfg[c].count, NULL};
    const char *fit_kv[] = {cfg[c].density, cfg[c].count, NULL};
    Pruned a, b;
    g_autoptr(GError) err = NULL;
    g_assert_true(run_pruner_ds(g, plain_kv, calib, (guint)atoi(n), "guard-plain", &a, &err));
    g_assert_no_error(err);
    g_assert_true(run_pruner_ds(g, fit_kv, calib, (guint)atoi(n), "guard-fit", &b, &err));
    g_assert_no_error(err);
    JsonObject *oe = json_object_get_object_member(report_obj(&b), "output_error");
    gboolean rej = json_object_get_boolean_member_with_default(oe, "refit_rejected", FALSE);
    double vp = val_cosine(&b, "plain"), vf = val_cosine(&b, "reconstructed");
    g_test_message("ppocr %s %s: validation cosine plain %.4f, refitted %.4f, rejected %d", cfg[c].density,
                   cfg[c].count, vp, vf, rej);
    g_assert_cmpfloat(vp, ==, val_cosine(&a, "plain"));
    if (rej) {
      rejected++;
      g_assert_cmpfloat(vf, <, vp);
      g_assert_cmpint(json_object_get_int_member(oe, "refitted_layers"), ==, 0);
      /* the installed model is the plainly sliced one */
      MscTensor **ya = run_graph(a.pruned, probe->inputs[0]), **yb = run_graph(b.pruned, probe->inputs[0]);
      g_assert_cmpfloat(max_abs_diff(ya[0], yb[0]), ==, 0.0);
      free_outputs(a.pruned, ya);
      free_outputs(b.pruned, yb);
    } else {
      g_assert_cmpfloat(vf, >=, vp);
      g_assert_cmpint(json_object_get_int_member(oe, "refitted_layers"), >, 0);
    }
    pruned_clear(&a);
    pruned_clear(&b);
  }
  g_assert_cmpuint(rejected, ==, 1);
}

static void test_pruner_conformance_models(void) {
  g_test_summary("conformance nets (random-weight and real): valid pruned graphs that run, FLOPs removed on the _rand nets");
  NEED_PRUNER();
  const char *shared = g_getenv("MSC_SHARED_DIR");
  g_autofree char *dir = g_build_filename(shared ? shared : "../shared", "conformance", "models", NULL);
  if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
    g_test_skip("../shared/conformance/models absent");
    return;
  }
  static const char *const nets[] = {"squeezenet_rand", "ppocr_cls_mobile_v2", "blazeface_front_128",
                                     "mlsd_tiny_320", "inception_v1_rand", "densenet121_rand", NULL};
  for (guint i = 0; nets[i]; i++) {
    if (quick() && i >= 3) break; /* the big ones are left out of the sanitizer run */
    g_autofree char *path = g_build_filename(dir, nets[i], "model.onnx", NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(MscGraph) g = msc_onnx_load_file(path, &err);
    g_assert_no_error(err);
    g_assert_true(msc_graph_verify(g, &err));
    /* dynamic dims (ppocr) default to 1 in zoo inputs: give the real sizes */
    for (uint32_t k = 0; k < g->n_inputs; k++)
      if (g->inputs[k]->rank == 4 && g->inputs[k]->dims[2] < 0) {
        g->inputs[k]->dims[0] = 1;
        g->inputs[k]->dims[2] = 48;
        g->inputs[k]->dims[3] = 192;
      }
    g_assert_true(msc_graph_verify(g, &err));
    const char *kv[] = {"density=0.5", "reconstruct=false", "refit_samples=1", NULL};
    Pruned p;
    gboolean ok = run_pruner(g, kv, 1, nets[i], &p, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    double removed = model_num(&p, "flops_removed");
    g_test_message("%s: flops removed %.3f", nets[i], removed);
    if (g_str_has_suffix(nets[i], "_rand")) g_assert_cmpfloat(removed, >=, 0.4);
    g_autoptr(MscDataset) ds = random_dataset(g, 1, 77);
    MscTensor **o = run_graph(p.pruned, ds->inputs[0]);
    free_outputs(p.pruned, o);
    pruned_clear(&p);
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  char *err = NULL;
  if (msc_init(&err) != MSC_OK) g_error("msc_init: %s", err);
  tmp_dir = g_dir_make_tmp("test-pruner-XXXXXX", NULL);
  g_test_add_func("/pruner/zoo/end-to-end", test_pruner_zoo_end_to_end);
  g_test_add_func("/pruner/groups/residual-add", test_pruner_groups_residual);
  g_test_add_func("/pruner/groups/concat-depthwise-flatten", test_pruner_groups_concat_depthwise);
  g_test_add_func("/pruner/groups/blocked", test_pruner_groups_blocked);
  g_test_add_func("/pruner/slice/masked-equivalence", test_pruner_slice_masked_equivalence);
  g_test_add_func("/pruner/slice/reshaped-weight", test_pruner_slice_reshaped_weight);
  g_test_add_func("/pruner/criteria/l1-l2-fpgm", test_pruner_criteria);
  g_test_add_func("/pruner/criteria/activation", test_pruner_criteria_activation);
  g_test_add_func("/pruner/targets/round-to", test_pruner_targets_round_to);
  g_test_add_func("/pruner/targets/flops", test_pruner_targets_flops);
  g_test_add_func("/pruner/options/errors", test_pruner_options_errors);
  g_test_add_func("/pruner/plan/round-trip", test_pruner_plan_round_trip);
  g_test_add_func("/pruner/refit/zoo", test_pruner_refit_zoo);
  g_test_add_func("/pruner/refit/squeezenet-rand", test_pruner_refit_squeezenet);
  g_test_add_func("/pruner/refit/affine", test_pruner_refit_affine);
  g_test_add_func("/pruner/refit/guard", test_pruner_refit_guard);
  g_test_add_func("/pruner/conformance/models", test_pruner_conformance_models);
  int rc = g_test_run();
  g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp_dir);
  if (!g_getenv("PRUNER_KEEP_TMP") && system(cmd) != 0) g_printerr("could not remove %s\n", tmp_dir);
  g_free(tmp_dir);
  return rc;
}
