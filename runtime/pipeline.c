/* pipeline.c: the msc pipeline (see pipeline.h and docs/pipeline.md). */
#include "pipeline.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "dataset.h"
#include "error.h"
#include "graph.h"
#include "msc-config.h"
#include "tensor-io.h"
#include "tensor.h"
#include "worker.h"

/* .tar.gz exports: runtime/export-archive.c, built when the top meson.build
 * defines MSC_HAVE_LIBARCHIVE (1 with libarchive, 0 without). */
#ifdef MSC_HAVE_LIBARCHIVE
#include "export-archive.h"
#define ARCHIVES_BUILT MSC_HAVE_LIBARCHIVE
#else
#define ARCHIVES_BUILT 0
static gboolean msc_export_archive_name(const char *path) {
  return g_str_has_suffix(path, ".tar.gz") || g_str_has_suffix(path, ".tgz");
}
static gboolean msc_export_archive_write(const char *dir, const char *archive_path, GError **error) {
  msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: UNSUPPORTED: .tar.gz exports are not built in", archive_path);
  return FALSE;
}
static char *msc_export_archive_extract(const char *archive_path, GError **error) {
  msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: UNSUPPORTED: .tar.gz exports are not built in", archive_path);
  return NULL;
}
static char *msc_export_archive_root(const char *dir) {
  return g_strdup(dir);
}
static void msc_export_dir_remove(const char *dir) {
}
#endif

/* Calibration samples a tool observes (bounded: observation costs a run
 * with hooks per sample). */
#define CALIB_MAX_SAMPLES 16

typedef struct {
  char *stage; /* "baseline", "prune:NAME", ... */
  GBytes *bytes;
  char *hash;
} Snapshot;

typedef struct {
  const MscConfig *cfg;
  const MscPipelineOptions *opts;
  char *export_dir;    /* the folder written (a private temp one for an archive) */
  char *archive;       /* [export] dir naming a .tar.gz (or archive = true), else NULL */
  char *work_dir;      /* with an archive: the temp folder holding export_dir */
  gboolean export_ready;
  MscDataset *ds;
  MscWorker *base; /* the float model on the ref runner */
  MscWorker *cur;  /* the model being optimized */
  GPtrArray *snapshots;
  MscCheckSpec spec;
  gboolean warn_only;
  MscBenchResult base_bench;
  double base_bytes, cur_bytes;
  JsonArray *plans;
  guint n_warn;
} Pipe;

typedef gboolean (*StageFn)(Pipe *p, JsonObject *st, GError **error);

static void snapshot_free(gpointer d) {
  Snapshot *s = d;
  g_free(s->stage);
  g_bytes_unref(s->bytes);
  g_free(s->hash);
  g_free(s);
}

static double now_ms(void) {
  return (double)g_get_monotonic_time() / 1e3;
}

static void progress(Pipe *p, const char *stage, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void progress(Pipe *p, const char *stage, const char *fmt, ...) {
  if (!p->opts || !p->opts->progress) return;
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *m = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  p->opts->progress(stage, m, p->opts->user);
}

static void set_double(JsonObject *o, const char *k, double v) {
  if (isfinite(v)) json_object_set_double_member(o, k, v);
  else json_object_set_null_member(o, k);
}

/* ---- checks and benchmarks shared by stages ---- */

static JsonObject *check_json(const MscCheckSpec *spec, const MscCheckResult *r) {
  JsonObject *o = json_object_new();
  json_object_set_boolean_member(o, "passed", r->passed);
  json_object_set_int_member(o, "elements", r->n);
  json_object_set_int_member(o, "bad_elements", r->n_bad);
  set_double(o, "error_rate", r->error_rate);
  set_double(o, "max_abs_error", r->max_abs);
  set_double(o, "max_rel_error", r->max_rel);
  set_double(o, "min_cosine", r->min_cosine);
  JsonObject *lim = json_object_new();
  const char *names[] = {"atol", "rtol", "max_error_rate", "cosine"};
  double vals[] = {spec->atol, spec->rtol, spec->max_error_rate, spec->cosine};
  for (guint i = 0; i < 4; i++) {
    if (isnan(vals[i])) json_object_set_string_member(lim, names[i], "off");
    else json_object_set_double_member(lim, names[i], vals[i]);
  }
  json_object_set_object_member(o, "limits", lim);
  if (r->n_labeled) {
    set_double(o, "top1", (double)r->top1 / r->n_labeled);
    set_double(o, "top5", (double)r->top5 / r->n_labeled);
    json_object_set_int_member(o, "labeled_samples", r->n_labeled);
  }
  if (r->failure[0]) json_object_set_string_member(o, "failure", r->failure);
  return o;
}

/* Checks @w against the golden outputs; a failed check is an error with
 * on_fail = abort, a warning (stage status "warn") otherwise. */
static gboolean run_checks(Pipe *p, const char *stage, MscWorker *w, JsonObject *st, GError **error) {
  MscCheckResult r;
  progress(p, stage, "checking %u samples on %s", p->ds->n_samples, msc_worker_runner(w) ? msc_worker_runner(w) : "ref");
  if (!msc_worker_check(w, p->ds, &p->spec, &r, error)) return FALSE;
  json_object_set_object_member(st, "checks", check_json(&p->spec, &r));
  if (r.passed) return TRUE;
  if (p->warn_only) {
    json_object_set_string_member(st, "status", "warn");
    p->n_warn++;
    progress(p, stage, "warning: check failed: %s", r.failure);
    return TRUE;
  }
  msc_set_error(error, MSC_ERR_INVALID_ARG, "check failed: %s", r.failure);
  return FALSE;
}

static gboolean run_bench(Pipe *p, const char *stage, MscWorker *w, JsonObject *st, MscBenchResult *out,
                          GError **error) {
  int warmup = (int)msc_config_get_int(p->cfg, "benchmark", "warmup");
  int repeat = (int)msc_config_get_int(p->cfg, "benchmark", "repeat");
  progress(p, stage, "benchmark: %d warm-up + %d timed runs on %s", warmup, repeat, msc_worker_runner(w));
  MscBenchResult b;
  if (!msc_worker_benchmark(w, p->ds->inputs[0], warmup, repeat, &b, error)) return FALSE;
  JsonObject *o = json_object_new();
  json_object_set_string_member(o, "runner", msc_worker_runner(w));
  json_object_set_int_member(o, "warmup", warmup);
  json_object_set_int_member(o, "repeat", repeat);
  set_double(o, "min_ms", b.min_ms);
  set_double(o, "median_ms", b.median_ms);
  set_double(o, "mean_ms", b.mean_ms);
  if (p->base_bench.median_ms > 0) set_double(o, "speedup", p->base_bench.median_ms / b.median_ms);
  json_object_set_object_member(st, "benchmark", o);
  if (out) *out = b;
  return TRUE;
}

/* ---- stages ---- */

/* Where the export goes, as the report shows it: the archive or the folder. */
static const char *shown_dir(const Pipe *p) {
  return p->archive ? p->archive : p->export_dir;
}

/* A file of the export as the report shows it ("out.tar.gz:plans/x.json"
 * for an archive). (transfer full) */
static char *shown_file(const Pipe *p, const char *path) {
  if (!p->archive || !g_str_has_prefix(path, p->export_dir)) return g_strdup(path);
  return g_strdup_printf("%s:%s", p->archive, path + strlen(p->export_dir) + 1);
}

/* An archive export: the files are written into a private temp folder and
 * packed at the end (pipeline_pack). The plans of an existing archive are
 * taken over so that they can be re-used; an unreadable old archive only
 * means re-planning. */
static gboolean setup_archive(Pipe *p, char *path, GError **error) {
#if ARCHIVES_BUILT
  if (!msc_export_archive_name(path)) {
    p->archive = g_strconcat(path, ".tar.gz", NULL);
    g_free(path);
  } else {
    p->archive = path;
  }
  g_autoptr(GError) te = NULL;
  p->work_dir = g_dir_make_tmp("msc-export-XXXXXX", &te);
  if (!p->work_dir) {
    msc_set_error(error, MSC_ERR_IO, "%s: cannot create a temp folder: %s", p->archive, te->message);
    return FALSE;
  }
  p->export_dir = g_build_filename(p->work_dir, "export", NULL);
  if (!g_file_test(p->archive, G_FILE_TEST_EXISTS)) return TRUE;
  g_autoptr(GError) xe = NULL;
  g_autofree char *old = msc_export_archive_extract(p->archive, &xe);
  if (!old) {
    progress(p, "setup", "previous archive not used (plans are made again): %s", xe->message);
    return TRUE;
  }
  g_autofree char *root = msc_export_archive_root(old);
  g_autofree char *plans = g_build_filename(root, "plans", NULL);
  g_autofree char *dest = g_build_filename(p->export_dir, "plans", NULL);
  if (g_file_test(plans, G_FILE_TEST_IS_DIR) && g_mkdir_with_parents(p->export_dir, 0700) == 0 &&
      g_rename(plans, dest) == 0)
    progress(p, "setup", "plans of %s taken over for re-use", p->archive);
  msc_export_dir_remove(old);
  return TRUE;
#else
  msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: UNSUPPORTED: .tar.gz exports need libarchive (this libmsc is built without it)",
                path);
  g_free(path);
  return FALSE;
#endif
}

/* After report.json: packs the archive of a successful run (a failed run
 * leaves an existing archive as it was) and removes the temp folder. */
static gboolean pipeline_pack(Pipe *p, gboolean success, GError **error) {
  gboolean ok = TRUE;
  if (success) {
    progress(p, "export", "packing %s", p->archive);
    ok = msc_export_archive_write(p->export_dir, p->archive, error);
  }
  msc_export_dir_remove(p->work_dir);
  return ok;
}

/* [export] archive = true, when the schema has that key (runtime/config.c). */
static gboolean archive_key_set(const MscConfig *c) {
  static gsize known;
  static gboolean have;
  if (g_once_init_enter(&known)) {
    g_autofree char *d = msc_config_describe("export", NULL);
    g_auto(GStrv) lines = g_strsplit(d ? d : "", "\n", -1);
    for (char **l = lines; *l; l++)
      if (g_str_has_prefix(g_strchug(*l), "archive ")) have = TRUE;
    g_once_init_leave(&known, 1);
  }
  return have && msc_config_get_bool(c, "export", "archive");
}

static gboolean stage_setup(Pipe *p, JsonObject *st, GError **error) {
  const MscConfig *c = p->cfg;
  char *dir = msc_config_get_path(c, "export", "dir");
  if (msc_export_archive_name(dir) || archive_key_set(c)) {
    if (!setup_archive(p, dir, error)) return FALSE;
  } else {
    p->export_dir = dir;
  }
  if (g_mkdir_with_parents(p->export_dir, 0755) != 0) {
    msc_set_error(error, MSC_ERR_IO, "%s: cannot create the export folder: %s", p->export_dir, g_strerror(errno));
    return FALSE;
  }
  g_autofree char *plans = g_build_filename(p->export_dir, "plans", NULL);
  if (g_mkdir_with_parents(plans, 0755) != 0) {
    msc_set_error(error, MSC_ERR_IO, "%s: cannot create folder: %s", plans, g_strerror(errno));
    return FALSE;
  }
  p->export_ready = TRUE;
  p->spec.atol = msc_config_get_float(c, "checks", "atol");
  p->spec.rtol = msc_config_get_float(c, "checks", "rtol");
  p->spec.max_error_rate = msc_config_get_float(c, "checks", "max_error_rate");
  p->spec.cosine = msc_config_get_float(c, "checks", "cosine");
  p->warn_only = !g_strcmp0(msc_config_get_string(c, "checks", "on_fail"), "warn");
  json_object_set_string_member(st, "export_dir", shown_dir(p));
  json_object_set_string_member(st, "runner", msc_config_get_string(c, "runner", "name"));
  return TRUE;
}

static gboolean stage_prepare(Pipe *p, JsonObject *st, GError **error) {
  MscGraph *g = msc_config_load_model(p->cfg, error);
  if (!g) return FALSE;
  p->base = msc_worker_new(g, error);
  if (!p->base) return FALSE;
  p->ds = msc_dataset_from_config(p->cfg, msc_worker_graph(p->base), error);
  if (!p->ds) return FALSE;
  if (!msc_worker_build(p->base, "ref", NULL, error)) return FALSE;
  progress(p, "prepare", "reference outputs of %u samples (ref runner)", p->ds->n_samples);
  for (guint k = 0; k < p->ds->n_samples; k++) {
    MscTensor **o = NULL;
    if (!msc_worker_run(p->base, p->ds->inputs[k], &o, NULL, error)) {
      g_prefix_error(error, "sample %u: ", k);
      return FALSE;
    }
    msc_dataset_set_golden(p->ds, k, o, msc_worker_graph(p->base)->n_outputs);
  }
  json_object_set_string_member(st, "source", msc_config_get_string(p->cfg, "dataset", "source"));
  json_object_set_int_member(st, "samples", p->ds->n_samples);
  json_object_set_boolean_member(st, "truncated", p->ds->truncated);
  json_object_set_boolean_member(st, "labels", p->ds->labels != NULL);
  json_object_set_string_member(st, "data_sha256", p->ds->hash);
  return TRUE;
}

static void add_snapshot(Pipe *p, const char *stage, uint8_t *data, size_t len, char *hash) {
  Snapshot *s = g_new0(Snapshot, 1);
  s->stage = g_strdup(stage);
  s->bytes = g_bytes_new_take(data, len);
  s->hash = hash;
  g_ptr_array_add(p->snapshots, s);
}

static gboolean stage_parse(Pipe *p, JsonObject *st, GError **error) {
  uint8_t *data = NULL;
  size_t len = 0;
  char *hash = NULL;
  if (!msc_worker_serialize(p->base, &data, &len, &hash, error)) return FALSE;
  /* the model being optimized is a copy through ONNX: what export writes */
  p->cur = msc_worker_new_from_buffer(data, len, "model", error);
  if (!p->cur) {
    g_free(data);
    g_free(hash);
    return FALSE;
  }
  add_snapshot(p, "baseline", data, len, hash);
  p->base_bytes = (double)len;
  MscGraph *g = (MscGraph *)msc_worker_graph(p->cur);
  g_autofree char *path = msc_config_get_path(p->cfg, "model", "path");
  json_object_set_string_member(st, "model", path);
  json_object_set_int_member(st, "nodes", g->n_nodes);
  json_object_set_int_member(st, "inputs", g->n_inputs);
  json_object_set_int_member(st, "outputs", g->n_outputs);
  json_object_set_int_member(st, "parameters", msc_graph_param_count(g));
  json_object_set_int_member(st, "flops", msc_graph_flops(g));
  json_object_set_int_member(st, "opset", msc_graph_opset(g, ""));
  json_object_set_int_member(st, "onnx_bytes", (gint64)len);
  json_object_set_string_member(st, "model_sha256", hash);
  return TRUE;
}

typedef struct {
  GHashTable *ms; /* op_type -> double* */
  double total;
} OpProfile;

static int op_profile_hook(void *user, MscHookPhase phase, const MscNode *node, const MscTensor *const *in,
                           uint32_t ni, const MscTensor *const *out, uint32_t no, double ms) {
  OpProfile *op = user;
  if (phase != MSC_HOOK_AFTER) return 0;
  double *v = g_hash_table_lookup(op->ms, node->op_type);
  if (!v) {
    v = g_new0(double, 1);
    g_hash_table_insert(op->ms, node->op_type, v);
  }
  *v += ms;
  op->total += ms;
  return 0;
}

static gboolean stage_baseline(Pipe *p, JsonObject *st, GError **error) {
  if (!run_checks(p, "baseline", p->base, st, error)) return FALSE;
  if (!run_bench(p, "baseline", p->base, st, &p->base_bench, error)) return FALSE;
  /* a per-op-type profile of one run (node hooks cost time: not in the benchmark) */
  OpProfile op = {g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free), 0};
  MscRunHooks hooks = {op_profile_hook, &op};
  MscTensor **o = NULL;
  gboolean ok = msc_worker_run(p->base, p->ds->inputs[0], &o, &hooks, error);
  for (uint32_t j = 0; o && j < msc_worker_graph(p->base)->n_outputs; j++) msc_tensor_free(o[j]);
  g_free(o);
  if (ok) {
    JsonObject *prof = json_object_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, op.ms);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      JsonObject *e = json_object_new();
      set_double(e, "ms", *(double *)v);
      set_double(e, "percent", op.total > 0 ? 100.0 * *(double *)v / op.total : 0);
      json_object_set_object_member(prof, k, e);
    }
    json_object_set_object_member(st, "op_profile", prof);
  }
  g_hash_table_unref(op.ms);
  return ok;
}

typedef enum { PHASE_PRUNE, PHASE_QUANTIZE, PHASE_TRACK } Phase;
static const char *const phase_names[] = {"prune", "quantize", "track"};

static Phase tool_phase(const char *name) {
  if (g_str_has_prefix(name, "prune")) return PHASE_PRUNE;
  if (g_str_has_prefix(name, "quant")) return PHASE_QUANTIZE;
  return PHASE_TRACK;
}

static char *options_text(const MscOptions *o) {
  GString *s = g_string_new(NULL);
  for (uint32_t i = 0; o && i < o->n; i++) g_string_append_printf(s, "%s=%s\n", o->keys[i], o->values[i]);
  return g_string_free(s, FALSE);
}

static JsonNode *read_json(const char *path) {
  g_autoptr(JsonParser) jp = json_parser_new();
  if (!json_parser_load_from_file(jp, path, NULL)) return NULL;
  JsonNode *root = json_parser_get_root(jp);
  return root ? json_node_copy(root) : NULL;
}

static gboolean write_json(JsonNode *node, const char *path, GError **error) {
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_root(gen, node);
  gsize len = 0;
  g_autofree char *text = json_generator_to_data(gen, &len);
  GString *s = g_string_new_len(text, len);
  g_string_append_c(s, '\n');
  gboolean ok = msc_file_write_atomic(path, (const uint8_t *)s->str, s->len, error);
  g_string_free(s, TRUE);
  return ok;
}

/* Why the saved plan cannot be used; NULL when it can. */
static const char *key_mismatch(const char *key_path, const char *plan_path, JsonObject *want) {
  if (!g_file_test(plan_path, G_FILE_TEST_IS_REGULAR) || !g_file_test(key_path, G_FILE_TEST_IS_REGULAR))
    return "no saved plan";
  g_autoptr(JsonNode) have = read_json(key_path);
  if (!have || !JSON_NODE_HOLDS_OBJECT(have)) return "saved plan key unreadable";
  JsonObject *h = json_node_get_object(have);
  static const char *const members[][2] = {
      {"model_sha256", "model changed"}, {"options_sha256", "options changed"}, {"data_sha256", "calibration data changed"}};
  for (guint i = 0; i < G_N_ELEMENTS(members); i++)
    if (g_strcmp0(json_object_get_string_member_with_default(h, members[i][0], ""),
                  json_object_get_string_member(want, members[i][0])))
      return members[i][1];
  return NULL;
}

/* Observes: every snapshot on ref, then the current model on the chosen runner. */
static gboolean observe_track(Pipe *p, MscToolHandle *t, GError **error) {
  for (guint i = 0; i < p->snapshots->len; i++) {
    Snapshot *s = p->snapshots->pdata[i];
    gsize len = 0;
    const uint8_t *data = g_bytes_get_data(s->bytes, &len);
    g_autoptr(MscWorker) w = msc_worker_new_from_buffer(data, len, s->stage, error);
    if (!w || !msc_worker_build(w, "ref", NULL, error) || !msc_tool_begin_stage(t, s->stage, error)) return FALSE;
    if (!msc_worker_observe(w, p->ds, CALIB_MAX_SAMPLES, &t, 1, error)) return FALSE;
  }
  const char *runner = msc_config_get_string(p->cfg, "runner", "name");
  MscOptions *ro = msc_config_to_options(p->cfg, "runner");
  gboolean ok = msc_worker_build(p->cur, runner, ro, error);
  msc_config_options_free(ro);
  g_autofree char *stage = g_strdup_printf("compile:%s", runner);
  return ok && msc_tool_begin_stage(t, stage, error) &&
         msc_worker_observe(p->cur, p->ds, CALIB_MAX_SAMPLES, &t, 1, error);
}

/* One tool sub-stage: plan (or re-use the saved plan), apply, check. */
static gboolean run_tool(Pipe *p, const char *name, Phase phase, JsonObject *sub, GError **error) {
  g_autofree char *section = g_strdup_printf("tool.%s", name);
  MscOptions *opts = msc_config_to_options(p->cfg, section);
  g_autofree char *otext = options_text(opts);
  MscToolHandle *t = msc_tool_handle_new(name, opts, error);
  msc_config_options_free(opts);
  if (!t) return FALSE;
  gboolean ok = FALSE;
  g_autofree char *plan_path = g_strdup_printf("%s/plans/%s.json", p->export_dir, name);
  g_autofree char *key_path = g_strdup_printf("%s/plans/%s.key.json", p->export_dir, name);
  /* the model a tool plans on: the current one; track tools see every
   * snapshot and the chosen runner */
  GChecksum *mh = g_checksum_new(G_CHECKSUM_SHA256);
  if (phase == PHASE_TRACK) {
    for (guint i = 0; i < p->snapshots->len; i++) {
      Snapshot *s = p->snapshots->pdata[i];
      g_checksum_update(mh, (const guchar *)s->stage, -1);
      g_checksum_update(mh, (const guchar *)s->hash, -1);
    }
    g_checksum_update(mh, (const guchar *)msc_config_get_string(p->cfg, "runner", "name"), -1);
  } else {
    Snapshot *last = p->snapshots->pdata[p->snapshots->len - 1];
    g_checksum_update(mh, (const guchar *)last->hash, -1);
  }
  JsonObject *key = json_object_new();
  json_object_set_string_member(key, "tool", name);
  json_object_set_string_member(key, "model_sha256", g_checksum_get_string(mh));
  g_autofree char *oh = g_compute_checksum_for_string(G_CHECKSUM_SHA256, otext, -1);
  json_object_set_string_member(key, "options_sha256", oh);
  json_object_set_string_member(key, "data_sha256", p->ds->hash);
  g_checksum_free(mh);
  JsonNode *key_node = json_node_init_object(json_node_alloc(), key);
  json_object_unref(key);

  const char *why = key_mismatch(key_path, plan_path, key);
  if (!why && !msc_tool_handle_can_load(t)) why = "tool cannot load plans";
  gboolean reused = FALSE;
  g_autoptr(GError) load_err = NULL;
  if (!why) {
    reused = msc_tool_load_plan(t, plan_path, &load_err);
    if (!reused) why = "saved plan unreadable";
  }
  g_autofree char *stage = g_strdup_printf("%s:%s", phase_names[phase], name);
  g_autofree char *plan_shown = shown_file(p, plan_path);
  if (reused) {
    progress(p, "optimize", "%s: re-using plan %s (model, options and calibration data unchanged)", stage, plan_shown);
  } else {
    progress(p, "optimize", "%s: planning (%s)", stage, why);
    g_remove(key_path); /* a plan without a matching key is never re-used */
    if (phase == PHASE_TRACK) {
      if (!observe_track(p, t, error)) goto out;
    } else {
      if (!msc_worker_build(p->cur, "ref", NULL, error) || !msc_tool_begin_stage(t, stage, error) ||
          !msc_worker_observe(p->cur, p->ds, CALIB_MAX_SAMPLES, &t, 1, error))
        goto out;
    }
    if (!msc_tool_plan(t, msc_worker_graph(p->cur), error)) goto out;
    if (!msc_tool_export_plan(t, plan_path, error)) goto out;
    if (!write_json(key_node, key_path, error)) goto out;
  }
  json_object_set_string_member(sub, "plan", plan_shown);
  json_object_set_boolean_member(sub, "plan_reused", reused);
  json_object_set_string_member(sub, "plan_status", reused ? "re-used" : "re-planned");
  if (why) json_object_set_string_member(sub, "plan_reason", load_err ? load_err->message : why);
  if (!msc_worker_apply_tool(p->cur, t, error)) goto out;
  JsonObject *pl = json_object_new();
  json_object_set_string_member(pl, "tool", name);
  json_object_set_string_member(pl, "phase", phase_names[phase]);
  json_object_set_string_member(pl, "file", plan_shown);
  json_object_set_string_member(pl, "status", reused ? "re-used" : "re-planned");
  if (why) json_object_set_string_member(pl, "reason", why);
  json_array_add_object_element(p->plans, pl);
  if (phase != PHASE_TRACK) {
    /* a rewritten model: snapshot, check and benchmark it on ref */
    uint8_t *data = NULL;
    size_t len = 0;
    char *hash = NULL;
    if (!msc_worker_serialize(p->cur, &data, &len, &hash, error)) goto out;
    add_snapshot(p, stage, data, len, hash);
    if (!msc_worker_build(p->cur, "ref", NULL, error)) goto out;
    if (!run_checks(p, "optimize", p->cur, sub, error)) goto out;
    if (!run_bench(p, "optimize", p->cur, sub, NULL, error)) goto out;
  }
  ok = TRUE;
out:
  json_node_unref(key_node);
  msc_tool_handle_free(t);
  return ok;
}

static gboolean stage_optimize(Pipe *p, JsonObject *st, GError **error) {
  g_auto(GStrv) tools = msc_config_tools(p->cfg);
  JsonArray *subs = json_array_new();
  json_object_set_array_member(st, "substages", subs);
  guint n = 0;
  for (Phase ph = PHASE_PRUNE; ph <= PHASE_TRACK; ph++)
    for (char **t = tools; *t; t++) {
      if (tool_phase(*t) != ph) continue;
      JsonObject *sub = json_object_new();
      g_autofree char *nm = g_strdup_printf("%s:%s", phase_names[ph], *t);
      json_object_set_string_member(sub, "name", nm);
      json_array_add_object_element(subs, sub);
      double t0 = now_ms();
      gboolean ok = run_tool(p, *t, ph, sub, error);
      set_double(sub, "duration_ms", now_ms() - t0);
      if (!json_object_has_member(sub, "status")) json_object_set_string_member(sub, "status", ok ? "ok" : "failed");
      if (!ok) {
        json_object_set_string_member(sub, "status", "failed");
        g_prefix_error(error, "%s: ", nm);
        return FALSE;
      }
      if (!g_strcmp0(json_object_get_string_member(sub, "status"), "warn"))
        json_object_set_string_member(st, "status", "warn");
      n++;
    }
  json_object_set_int_member(st, "tools", n);
  return TRUE;
}

static gboolean stage_compile(Pipe *p, JsonObject *st, GError **error) {
  const char *runner = msc_config_get_string(p->cfg, "runner", "name");
  MscOptions *ro = msc_config_to_options(p->cfg, "runner");
  progress(p, "compile", "compiling for runner %s", runner);
  gboolean ok = msc_worker_build(p->cur, runner, ro, error);
  msc_config_options_free(ro);
  if (!ok) return FALSE;
  json_object_set_string_member(st, "runner", runner);
  return run_checks(p, "compile", p->cur, st, error) && run_bench(p, "compile", p->cur, st, NULL, error);
}

static gboolean stage_summary(Pipe *p, JsonObject *st, GError **error) {
  uint8_t *data = NULL;
  size_t len = 0;
  g_autofree char *hash = NULL;
  if (!msc_worker_serialize(p->cur, &data, &len, &hash, error)) return FALSE;
  g_free(data);
  json_object_set_int_member(st, "onnx_bytes_before", (gint64)p->base_bytes);
  json_object_set_int_member(st, "onnx_bytes_after", (gint64)len);
  json_object_set_string_member(st, "model_sha256", hash);
  json_object_set_int_member(st, "warnings", p->n_warn);
  guint reused = 0;
  for (guint i = 0; i < json_array_get_length(p->plans); i++)
    if (!g_strcmp0(json_object_get_string_member(json_array_get_object_element(p->plans, i), "status"), "re-used"))
      reused++;
  json_object_set_int_member(st, "plans", json_array_get_length(p->plans));
  json_object_set_int_member(st, "plans_reused", reused);
  return TRUE;
}

static gboolean stage_export(Pipe *p, JsonObject *st, GError **error) {
  JsonArray *files = json_array_new();
  json_object_set_array_member(st, "files", files);
  if (!g_strcmp0(msc_config_get_string(p->cfg, "export", "format"), "onnx")) {
    g_autofree char *m = g_build_filename(p->export_dir, "model.onnx", NULL);
    if (!msc_worker_export(p->cur, m, error)) return FALSE;
    json_array_add_string_element(files, "model.onnx");
  }
  g_autofree char *golden = g_build_filename(p->export_dir, "golden", NULL);
  progress(p, "export", "golden data -> %s", golden);
  if (!msc_dataset_save_dir(p->ds, golden, error)) return FALSE;
  json_array_add_string_element(files, "golden/");
  g_autofree char *ini = g_build_filename(p->export_dir, "config.ini", NULL);
  if (!msc_config_write_file(p->cfg, ini, error)) return FALSE;
  json_array_add_string_element(files, "config.ini");
  json_array_add_string_element(files, "plans/");
  json_array_add_string_element(files, "report.json");
  if (p->archive) json_object_set_string_member(st, "archive", p->archive);
  return TRUE;
}

static const struct {
  const char *name;
  StageFn fn;
} stages[] = {
    {"setup", stage_setup},       {"prepare", stage_prepare}, {"parse", stage_parse},
    {"baseline", stage_baseline}, {"optimize", stage_optimize}, {"compile", stage_compile},
    {"summary", stage_summary},   {"export", stage_export},
};

/* Nested durations: each stage's and sub-stage's share of its parent. */
static JsonObject *durations(JsonArray *st_arr, double total) {
  JsonObject *root = json_object_new();
  json_object_set_string_member(root, "name", "total");
  set_double(root, "ms", total);
  set_double(root, "percent", 100);
  JsonArray *ch = json_array_new();
  for (guint i = 0; i < json_array_get_length(st_arr); i++) {
    JsonObject *s = json_array_get_object_element(st_arr, i);
    double ms = json_object_get_double_member_with_default(s, "duration_ms", 0);
    set_double(s, "percent", total > 0 ? 100 * ms / total : 0);
    JsonObject *d = json_object_new();
    json_object_set_string_member(d, "name", json_object_get_string_member(s, "name"));
    set_double(d, "ms", ms);
    set_double(d, "percent", total > 0 ? 100 * ms / total : 0);
    if (json_object_has_member(s, "substages")) {
      JsonArray *subs = json_object_get_array_member(s, "substages"), *dch = json_array_new();
      for (guint j = 0; j < json_array_get_length(subs); j++) {
        JsonObject *u = json_array_get_object_element(subs, j), *du = json_object_new();
        double ums = json_object_get_double_member_with_default(u, "duration_ms", 0);
        set_double(u, "percent", ms > 0 ? 100 * ums / ms : 0);
        json_object_set_string_member(du, "name", json_object_get_string_member(u, "name"));
        set_double(du, "ms", ums);
        set_double(du, "percent", ms > 0 ? 100 * ums / ms : 0);
        json_array_add_object_element(dch, du);
      }
      json_object_set_array_member(d, "children", dch);
    }
    json_array_add_object_element(ch, d);
  }
  json_object_set_array_member(root, "children", ch);
  return root;
}

gboolean msc_pipeline_run(const MscConfig *cfg, const MscPipelineOptions *opts, JsonNode **report, GError **error) {
  Pipe p = {0};
  p.cfg = cfg;
  p.opts = opts;
  p.snapshots = g_ptr_array_new_with_free_func(snapshot_free);
  p.plans = json_array_new();
  JsonObject *rep = json_object_new();
  JsonArray *st_arr = json_array_new();
  json_object_set_string_member(rep, "msc_version", MSC_VERSION);
  json_object_set_string_member(rep, "mode", "run");
  json_object_set_string_member(rep, "config", msc_config_source(cfg));
  g_autofree char *model = msc_config_get_path(cfg, "model", "path");
  json_object_set_string_member(rep, "model", model);
  json_object_set_string_member(rep, "runner", msc_config_get_string(cfg, "runner", "name"));
  GError *err = NULL;
  const char *failed = NULL;
  double t_start = now_ms();
  for (guint i = 0; i < G_N_ELEMENTS(stages); i++) {
    JsonObject *st = json_object_new();
    json_object_set_string_member(st, "name", stages[i].name);
    json_array_add_object_element(st_arr, st);
    if (failed) {
      json_object_set_string_member(st, "status", "not run");
      continue;
    }
    progress(&p, stages[i].name, "start");
    double t0 = now_ms();
    gboolean ok = stages[i].fn(&p, st, &err);
    set_double(st, "duration_ms", now_ms() - t0);
    if (!ok) {
      failed = stages[i].name;
      json_object_set_string_member(st, "status", "failed");
      g_prefix_error(&err, "stage '%s': ", failed);
      json_object_set_string_member(st, "error", err->message);
      progress(&p, stages[i].name, "FAILED");
    } else if (!json_object_has_member(st, "status")) {
      json_object_set_string_member(st, "status", "ok");
    }
  }
  double total = now_ms() - t_start;
  json_object_set_boolean_member(rep, "success", failed == NULL);
  if (failed) {
    json_object_set_string_member(rep, "failed_stage", failed);
    json_object_set_string_member(rep, "error", err->message);
  } else {
    json_object_set_null_member(rep, "error");
  }
  json_object_set_int_member(rep, "warnings", p.n_warn);
  if (p.export_dir) json_object_set_string_member(rep, "export_dir", shown_dir(&p));
  json_object_set_object_member(rep, "durations", durations(st_arr, total));
  json_object_set_array_member(rep, "stages", st_arr);
  json_object_set_array_member(rep, "plans", json_array_ref(p.plans));
  JsonNode *root = json_node_init_object(json_node_alloc(), rep);
  json_object_unref(rep);
  if (p.export_ready) {
    g_autofree char *rp = g_build_filename(p.export_dir, "report.json", NULL);
    GError *we = NULL;
    if (!write_json(root, rp, &we)) {
      if (!err) err = we;
      else g_error_free(we);
      failed = failed ? failed : "export";
    }
  }
  if (p.archive) {
    GError *ae = NULL;
    if (!pipeline_pack(&p, failed == NULL, &ae)) {
      g_prefix_error(&ae, "stage 'export': ");
      json_object_set_boolean_member(rep, "success", FALSE);
      json_object_set_string_member(rep, "failed_stage", "export");
      json_object_set_string_member(rep, "error", ae->message);
      failed = "export";
      if (!err) err = ae;
      else g_error_free(ae);
    }
  }
  json_array_unref(p.plans);
  g_ptr_array_unref(p.snapshots);
  msc_worker_free(p.base);
  msc_worker_free(p.cur);
  msc_dataset_free(p.ds);
  g_free(p.export_dir);
  g_free(p.archive);
  g_free(p.work_dir);
  if (report) *report = root;
  else json_node_unref(root);
  if (err) g_propagate_error(error, err);
  return failed == NULL;
}

/* ---- re-run of an export ---- */

/* config.ini of an export, with [model] path pointing at model.onnx and
 * the dataset made independent of the original files. */
static MscConfig *export_config(const char *dir, GError **error) {
  g_autofree char *ini = g_build_filename(dir, "config.ini", NULL);
  g_autofree char *model = g_build_filename(dir, "model.onnx", NULL);
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(GError) e = NULL;
  if (!g_file_get_contents(ini, &text, &len, &e)) {
    msc_set_error(error, MSC_ERR_IO, "%s: %s", ini, e->message);
    return NULL;
  }
  if (!g_file_test(model, G_FILE_TEST_IS_REGULAR)) {
    msc_set_error(error, MSC_ERR_IO, "%s: no exported model (was [export] format = none?)", model);
    return NULL;
  }
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  GString *out = g_string_new(NULL);
  char section[80] = "";
  for (char **l = lines; *l; l++) {
    g_autofree char *s = g_strstrip(g_strdup(*l));
    if (s[0] == '[') {
      g_strlcpy(section, s, sizeof section);
    } else {
      g_auto(GStrv) kv = g_strsplit(s, "=", 2);
      const char *k = kv[0] ? g_strstrip(kv[0]) : "";
      if (!strcmp(section, "[model]") && !strcmp(k, "path")) {
        g_string_append_printf(out, "path = %s\n", model);
        continue;
      }
      if (!strcmp(section, "[dataset]") && (!strcmp(k, "path") || !strcmp(k, "labels") || !strcmp(k, "source")))
        continue;
      if (!strcmp(section, "[export]") && !strcmp(k, "dir")) {
        g_string_append_printf(out, "dir = %s\n", dir);
        continue;
      }
    }
    g_string_append_printf(out, "%s\n", *l);
  }
  MscConfig *cfg = msc_config_load_buffer(out->str, out->len, ini, error);
  g_string_free(out, TRUE);
  return cfg;
}

/* The re-run of an export folder; @shown is what the report names. */
static gboolean rerun_dir(const char *export_dir, const char *shown, const MscPipelineOptions *opts, JsonNode **report,
                          GError **error) {
  JsonObject *rep = json_object_new();
  json_object_set_string_member(rep, "msc_version", MSC_VERSION);
  json_object_set_string_member(rep, "mode", "rerun");
  json_object_set_string_member(rep, "export_dir", shown);
  Pipe p = {0};
  p.opts = opts;
  GError *err = NULL;
  gboolean ok = FALSE;
  g_autoptr(MscConfig) cfg = export_config(export_dir, &err);
  g_autofree char *golden = g_build_filename(export_dir, "golden", NULL);
  g_autofree char *rp = g_build_filename(export_dir, "report.json", NULL);
  g_autoptr(JsonNode) recorded = read_json(rp);
  JsonObject *st = json_object_new();
  json_object_set_string_member(st, "name", "rerun");
  if (cfg) {
    p.cfg = cfg;
    p.spec.atol = msc_config_get_float(cfg, "checks", "atol");
    p.spec.rtol = msc_config_get_float(cfg, "checks", "rtol");
    p.spec.max_error_rate = msc_config_get_float(cfg, "checks", "max_error_rate");
    p.spec.cosine = msc_config_get_float(cfg, "checks", "cosine");
    p.ds = msc_dataset_load_dir(golden, &err);
    MscGraph *g = p.ds ? msc_config_load_model(cfg, &err) : NULL;
    p.cur = g ? msc_worker_new(g, &err) : NULL;
    const char *runner = msc_config_get_string(cfg, "runner", "name");
    MscOptions *ro = msc_config_to_options(cfg, "runner");
    ok = p.cur && msc_worker_build(p.cur, runner, ro, &err);
    msc_config_options_free(ro);
    json_object_set_string_member(rep, "runner", runner);
    if (ok && recorded && JSON_NODE_HOLDS_OBJECT(recorded)) {
      /* the recorded baseline median gives the speed-up on this machine's scale */
      JsonArray *rs = json_object_get_array_member(json_node_get_object(recorded), "stages");
      for (guint i = 0; rs && i < json_array_get_length(rs); i++) {
        JsonObject *s = json_array_get_object_element(rs, i);
        if (!strcmp(json_object_get_string_member_with_default(s, "name", ""), "compile") &&
            json_object_has_member(s, "benchmark")) {
          JsonObject *b = json_object_get_object_member(s, "benchmark");
          json_object_set_double_member(rep, "recorded_median_ms",
                                        json_object_get_double_member_with_default(b, "median_ms", 0));
        }
        if (!strcmp(json_object_get_string_member_with_default(s, "name", ""), "compile") &&
            json_object_has_member(s, "checks"))
          json_object_set_boolean_member(
              rep, "recorded_checks_passed",
              json_object_get_boolean_member_with_default(json_object_get_object_member(s, "checks"), "passed", FALSE));
      }
    }
    if (ok) ok = run_checks(&p, "rerun", p.cur, st, &err);
    if (ok) ok = run_bench(&p, "rerun", p.cur, st, NULL, &err);
    if (ok && json_object_has_member(rep, "recorded_median_ms")) {
      double rec = json_object_get_double_member(rep, "recorded_median_ms");
      double now = json_object_get_double_member(json_object_get_object_member(st, "benchmark"), "median_ms");
      if (rec > 0 && now > 0) json_object_set_double_member(rep, "median_ratio_vs_recorded", now / rec);
    }
  }
  json_object_set_string_member(st, "status", ok ? (p.n_warn ? "warn" : "ok") : "failed");
  JsonArray *arr = json_array_new();
  json_array_add_object_element(arr, st);
  json_object_set_array_member(rep, "stages", arr);
  json_object_set_boolean_member(rep, "success", ok);
  if (!ok) json_object_set_string_member(rep, "error", err ? err->message : "failed");
  JsonNode *root = json_node_init_object(json_node_alloc(), rep);
  json_object_unref(rep);
  msc_worker_free(p.cur);
  msc_dataset_free(p.ds);
  if (report) *report = root;
  else json_node_unref(root);
  if (err) g_propagate_error(error, err);
  return ok;
}

/* A report for a re-run that could not start (the archive was refused). */
static JsonNode *rerun_failure(const char *shown, const GError *e) {
  JsonObject *rep = json_object_new();
  json_object_set_string_member(rep, "msc_version", MSC_VERSION);
  json_object_set_string_member(rep, "mode", "rerun");
  json_object_set_string_member(rep, "export_dir", shown);
  json_object_set_array_member(rep, "stages", json_array_new());
  json_object_set_boolean_member(rep, "success", FALSE);
  json_object_set_string_member(rep, "error", e->message);
  JsonNode *root = json_node_init_object(json_node_alloc(), rep);
  json_object_unref(rep);
  return root;
}

gboolean msc_pipeline_rerun(const char *export_path, const MscPipelineOptions *opts, JsonNode **report,
                            GError **error) {
  g_autofree char *path = g_canonicalize_filename(export_path, NULL);
  if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) return rerun_dir(path, path, opts, report, error);
  /* an archive: extracted (and checked) into a private temp folder */
  GError *e = NULL;
  g_autofree char *tmp = msc_export_archive_extract(path, &e);
  if (!tmp) {
    if (report) *report = rerun_failure(path, e);
    g_propagate_error(error, e);
    return FALSE;
  }
  g_autofree char *root = msc_export_archive_root(tmp);
  gboolean ok = rerun_dir(root, path, opts, report, error);
  msc_export_dir_remove(tmp);
  return ok;
}

/* ---- text ---- */

char *msc_pipeline_report_text(JsonNode *report) {
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_root(gen, report);
  return json_generator_to_data(gen, NULL);
}

static void table_row(GString *s, JsonObject *st, const char *indent) {
  const char *name = json_object_get_string_member_with_default(st, "name", "?");
  const char *status = json_object_get_string_member_with_default(st, "status", "?");
  g_autofree char *label = g_strconcat(indent, name, NULL);
  g_string_append_printf(s, "%-24s %-8s", label, status);
  if (json_object_has_member(st, "duration_ms"))
    g_string_append_printf(s, " %10.1f %5.1f%%", json_object_get_double_member(st, "duration_ms"),
                           json_object_get_double_member_with_default(st, "percent", 0));
  else
    g_string_append_printf(s, " %10s %6s", "-", "");
  if (json_object_has_member(st, "checks")) {
    JsonObject *c = json_object_get_object_member(st, "checks");
    g_string_append_printf(s, "  %-4s cos %.6f maxabs %.2g", json_object_get_boolean_member(c, "passed") ? "pass" : "FAIL",
                           json_object_get_double_member_with_default(c, "min_cosine", NAN),
                           json_object_get_double_member_with_default(c, "max_abs_error", NAN));
    if (json_object_has_member(c, "top1"))
      g_string_append_printf(s, " top1 %.3f top5 %.3f", json_object_get_double_member(c, "top1"),
                             json_object_get_double_member(c, "top5"));
  }
  if (json_object_has_member(st, "benchmark")) {
    JsonObject *b = json_object_get_object_member(st, "benchmark");
    g_string_append_printf(s, "  median %.3f ms", json_object_get_double_member(b, "median_ms"));
    if (json_object_has_member(b, "speedup"))
      g_string_append_printf(s, " x%.2f", json_object_get_double_member(b, "speedup"));
  }
  if (json_object_has_member(st, "plan_status"))
    g_string_append_printf(s, "  plan %s", json_object_get_string_member(st, "plan_status"));
  g_string_append_c(s, '\n');
}

char *msc_pipeline_report_table(JsonNode *report) {
  GString *s = g_string_new(NULL);
  if (!report || !JSON_NODE_HOLDS_OBJECT(report)) return g_string_free(s, FALSE);
  JsonObject *r = json_node_get_object(report);
  g_string_append_printf(s, "%-24s %-8s %10s %6s  %s\n", "stage", "status", "time ms", "%", "checks / benchmark");
  JsonArray *arr = json_object_get_array_member(r, "stages");
  for (guint i = 0; arr && i < json_array_get_length(arr); i++) {
    JsonObject *st = json_array_get_object_element(arr, i);
    table_row(s, st, "");
    if (json_object_has_member(st, "substages")) {
      JsonArray *subs = json_object_get_array_member(st, "substages");
      for (guint j = 0; j < json_array_get_length(subs); j++) table_row(s, json_array_get_object_element(subs, j), "  ");
    }
  }
  JsonArray *plans = json_object_has_member(r, "plans") ? json_object_get_array_member(r, "plans") : NULL;
  for (guint i = 0; plans && i < json_array_get_length(plans); i++) {
    JsonObject *pl = json_array_get_object_element(plans, i);
    g_string_append_printf(s, "plan %s: %s (%s)%s%s\n", json_object_get_string_member(pl, "tool"),
                           json_object_get_string_member(pl, "status"), json_object_get_string_member(pl, "file"),
                           json_object_has_member(pl, "reason") ? ": " : "",
                           json_object_get_string_member_with_default(pl, "reason", ""));
  }
  if (json_object_has_member(r, "recorded_median_ms"))
    g_string_append_printf(s, "recorded median %.3f ms, now x%.2f of it\n",
                           json_object_get_double_member(r, "recorded_median_ms"),
                           json_object_get_double_member_with_default(r, "median_ratio_vs_recorded", NAN));
  gboolean ok = json_object_get_boolean_member_with_default(r, "success", FALSE);
  g_string_append_printf(s, "%s%s%s\n", ok ? "success" : "FAILED: ",
                         ok ? "" : json_object_get_string_member_with_default(r, "error", ""),
                         ok && json_object_has_member(r, "export_dir") ? "" : "");
  if (ok && json_object_has_member(r, "export_dir") && !g_strcmp0(json_object_get_string_member(r, "mode"), "run"))
    g_string_append_printf(s, "export: %s\n", json_object_get_string_member(r, "export_dir"));
  return g_string_free(s, FALSE);
}
