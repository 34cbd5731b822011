/* worker.h: one model and its runners, as the pipeline uses them:
 * build (compile on a runner), run, benchmark, check against golden
 * outputs, apply a tool, export. Also the tool handle (setup, stages,
 * observe through the runner's node hook, plan, load/export plan, apply).
 * Not MT safe: one worker per thread. */
#ifndef MSC_WORKER_H
#define MSC_WORKER_H

#include <glib.h>

#include "dataset.h"
#include "msc-plugin.h"

G_BEGIN_DECLS

typedef struct MscWorker MscWorker;
typedef struct MscToolHandle MscToolHandle;

/* Check thresholds; NAN disables a check (atol and rtol NAN: no
 * element-wise check). */
typedef struct MscCheckSpec {
  double atol, rtol, max_error_rate, cosine;
} MscCheckSpec;

typedef struct MscCheckResult {
  gboolean passed;
  int64_t n, n_bad;
  double error_rate, max_abs, max_rel, min_cosine;
  guint n_labeled, top1, top5; /* labels: hits over n_labeled samples */
  char failure[256];           /* first failed check, "" when passed */
} MscCheckResult;

typedef struct MscBenchResult {
  int warmup, repeat;
  double min_ms, median_ms, mean_ms;
} MscBenchResult;

/**
 * msc_worker_new:
 * @graph: (transfer full): the model; verified here.
 * Returns: (transfer full) (nullable): NULL with @error when the graph
 * does not verify (@graph is freed then).
 */
MscWorker *msc_worker_new(MscGraph *graph, GError **error);
/* Loads a serialized ONNX model (e.g. a snapshot) into a new worker. */
MscWorker *msc_worker_new_from_buffer(const uint8_t *data, size_t len, const char *name, GError **error);
void msc_worker_free(MscWorker *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MscWorker, msc_worker_free)

/* (transfer none) the worker's graph. */
const MscGraph *msc_worker_graph(const MscWorker *w);

/**
 * msc_worker_serialize:
 * @data: (out) (transfer full): the ONNX bytes (g_free).
 * @sha256: (out) (optional) (transfer full): their SHA-256 hex (g_free).
 */
gboolean msc_worker_serialize(const MscWorker *w, uint8_t **data, size_t *len, char **sha256, GError **error);

/* Compiles the model on @runner (options nullable); replaces a previous
 * build. The runner name is kept for messages (msc_worker_runner). */
gboolean msc_worker_build(MscWorker *w, const char *runner, const MscOptions *options, GError **error);
const char *msc_worker_runner(const MscWorker *w); /* nullable: not built */

/* Runs one sample; @outputs receives (transfer full) graph-output
 * tensors (free each and the array with msc_tensor_free / g_free). */
gboolean msc_worker_run(MscWorker *w, MscTensor *const *inputs, MscTensor ***outputs, const MscRunHooks *hooks,
                        GError **error);

/* Median/min/mean latency over @repeat timed runs of @inputs after
 * @warmup untimed ones. */
gboolean msc_worker_benchmark(MscWorker *w, MscTensor *const *inputs, int warmup, int repeat, MscBenchResult *out,
                              GError **error);

/* Runs every sample of @ds and compares with its golden outputs: atol/rtol
 * per element, the cosine per output over all samples flattened together
 * (min_cosine: the lowest over outputs). FALSE
 * only on a run error; a failed check is out->passed == FALSE. */
gboolean msc_worker_check(MscWorker *w, const MscDataset *ds, const MscCheckSpec *spec, MscCheckResult *out,
                          GError **error);

/* Compares one output of one sample with its reference (element-wise
 * checks and this sample's cosine). */
void msc_check_accumulate(const MscTensor *got, const MscTensor *want, const MscCheckSpec *spec, MscCheckResult *r);
/* Top-1/top-5 hits of @logits (class scores on its last axis, first row)
 * against @label. */
void msc_check_topk(const MscTensor *logits, gint64 label, MscCheckResult *r);

/* Runs samples [0, max_samples) of @ds with the tools observing (observe
 * and on_node). */
gboolean msc_worker_observe(MscWorker *w, const MscDataset *ds, guint max_samples, MscToolHandle *const *tools,
                            guint n_tools, GError **error);

/* Applies @tool's plan to the graph, re-verifies it, drops the build. */
gboolean msc_worker_apply_tool(MscWorker *w, MscToolHandle *tool, GError **error);

/* Writes the model as ONNX (atomically). */
gboolean msc_worker_export(const MscWorker *w, const char *path, GError **error);

/* ---- tool handles ---- */

/* Looks up "msc.tool.NAME" and calls setup(@options). */
MscToolHandle *msc_tool_handle_new(const char *name, const MscOptions *options, GError **error);
void msc_tool_handle_free(MscToolHandle *t); /* calls destroy */
const char *msc_tool_handle_name(const MscToolHandle *t);
gboolean msc_tool_handle_can_load(const MscToolHandle *t);
gboolean msc_tool_begin_stage(MscToolHandle *t, const char *stage, GError **error); /* no-op without the entry */
gboolean msc_tool_plan(MscToolHandle *t, const MscGraph *g, GError **error);
gboolean msc_tool_load_plan(MscToolHandle *t, const char *path, GError **error);
gboolean msc_tool_export_plan(MscToolHandle *t, const char *path, GError **error);

G_END_DECLS
#endif
