/* tool-run.h: one optimization tool applied to one model outside a
 * pipeline (`msc quantize`, `msc prune`): calibrate, plan, apply, write,
 * then compare the rewritten model with the original on held-out samples.
 * The steps are those of the pipeline's optimize stage (pipeline.c). */
#ifndef MSC_TOOL_RUN_H
#define MSC_TOOL_RUN_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "config.h"

G_BEGIN_DECLS

/**
 * MscToolRun:
 * @tool: registered tool name ("quantizer": msc.tool.quantizer).
 * @phase: stage prefix for begin_stage ("quantize" -> "quantize:quantizer").
 * @output: the rewritten ONNX model, written atomically.
 * @plan_out: (nullable): where the plan is exported (default OUTPUT.plan.json).
 * @plan_in: (nullable): re-apply this saved plan (load_plan) instead of
 *   calibrating and planning.
 * @eval_samples: held-out samples compared after the rewrite (0: none);
 *   they follow the calibration samples (folders: the next files;
 *   generators: the next seeds).
 * @eval_runner: (nullable): runner of the comparison (default "ref").
 */
typedef struct MscToolRun {
  const char *tool;
  const char *phase;
  const char *output;
  const char *plan_out;
  const char *plan_in;
  guint eval_samples;
  const char *eval_runner;
} MscToolRun;

/**
 * msc_tool_run:
 * @cfg: (transfer none): [model], [dataset] (the calibration samples) and
 *   [tool.NAME] (the tool's options; a `report` option names the tool's
 *   JSON report, to which the held-out summary is added as "heldout").
 * @summary: (out) (transfer full) (optional): {"tool", "output", "plan",
 *   "plan_reused", "calibration_samples", "params_before", "params_after",
 *   "flops_before", "flops_after", "bytes_before", "bytes_after",
 *   "heldout": {"samples", "outputs": [{"name", "cosine", "max_abs",
 *   "top1_agree", "top1_total"}]}}.
 * @error: (nullable): the failing step named (load, calibrate, plan,
 *   apply, write, evaluate).
 * Returns: TRUE when the model was written.
 */
gboolean msc_tool_run(const MscConfig *cfg, const MscToolRun *run, JsonObject **summary, GError **error);

G_END_DECLS
#endif
