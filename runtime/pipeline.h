/* pipeline.h: one INI config from a float model to an optimized, checked,
 * exported model (docs/pipeline.md).
 *
 * Stages, in order: setup, prepare (golden dataset), parse (model),
 * baseline (ref runner: check, benchmark, profile), optimize (tools in
 * phases prune -> quantize -> track, plan files re-used when the model
 * hash, the tool's options and the calibration data hash match), compile
 * ([runner]), summary, export. A failing stage stops the pipeline; later
 * stages are reported "not run". */
#ifndef MSC_PIPELINE_H
#define MSC_PIPELINE_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "config.h"

G_BEGIN_DECLS

/* Progress callback: a stage name and a short line ("benchmark: 10 runs"). */
typedef void (*MscProgressFn)(const char *stage, const char *message, void *user);

typedef struct MscPipelineOptions {
  MscProgressFn progress; /* nullable */
  void *user;
} MscPipelineOptions;

/**
 * msc_pipeline_run:
 * @cfg: (transfer none): a loaded config (plugins registered before).
 * @opts: (nullable): progress callback.
 * @report: (out) (transfer full) (optional): the report (also on failure,
 *   with "success": false); free with json_node_unref.
 * @error: (nullable): the failure, "stage 'NAME': ..." (or a failed
 *   check with on_fail = abort).
 *
 * Writes the export folder ([export] dir): model.onnx, plans/, config.ini,
 * golden/, report.json (each file atomically; report.json also on failure
 * once the folder exists).
 *
 * Returns: TRUE when every stage succeeded.
 */
gboolean msc_pipeline_run(const MscConfig *cfg, const MscPipelineOptions *opts, JsonNode **report, GError **error);

/**
 * msc_pipeline_rerun:
 * @export_dir: a folder written by msc_pipeline_run().
 *
 * Re-runs the checks and the benchmark of the exported model
 * (model.onnx, golden/, config.ini) and compares with report.json.
 *
 * Returns: TRUE when the checks pass; @report as for msc_pipeline_run().
 */
gboolean msc_pipeline_rerun(const char *export_dir, const MscPipelineOptions *opts, JsonNode **report,
                            GError **error);

/* A short human-readable table of a report. (transfer full) */
char *msc_pipeline_report_table(JsonNode *report);

/* The report as pretty JSON text. (transfer full) */
char *msc_pipeline_report_text(JsonNode *report);

G_END_DECLS
#endif
