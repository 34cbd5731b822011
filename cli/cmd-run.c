/* cmd-run.c: `msc run CONFIG.ini` runs the pipeline (docs/pipeline.md);
 * `msc run --from EXPORT_DIR` re-runs the checks and the benchmark of an
 * export and compares with its recorded report. Prints progress lines on
 * stderr, a table on stdout (or the report with --json). */
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "pipeline.h"

static void on_progress(const char *stage, const char *message, void *user) {
  if (*(gboolean *)user) return;
  fprintf(stderr, "msc: [%s] %s\n", stage, message);
}

int cmd_run(int argc, char **argv) {
  g_autofree char *from = NULL;
  gboolean json = FALSE, quiet = FALSE;
  GOptionEntry entries[] = {
      {"from", 0, 0, G_OPTION_ARG_FILENAME, &from, "re-run the checks and benchmark of an export folder or .tar.gz", "DIR|ARCHIVE"},
      {"json", 0, 0, G_OPTION_ARG_NONE, &json, "print the report JSON instead of the table", NULL},
      {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no progress lines", NULL},
      {NULL}};
  g_autoptr(GOptionContext) ctx = g_option_context_new("CONFIG.ini | --from DIR|ARCHIVE - run the optimization pipeline");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!cli_parse(ctx, &argc, &argv)) return CLI_USAGE;
  if ((from && argc != 1) || (!from && argc != 2)) {
    cli_error("run: expected one CONFIG.ini, or --from DIR|ARCHIVE (see --help)");
    return CLI_USAGE;
  }
  GError *e = NULL;
  if (!cli_init(&e)) {
    cli_report(e);
    g_error_free(e);
    return CLI_FAIL;
  }
  MscPipelineOptions opts = {on_progress, &quiet};
  JsonNode *report = NULL;
  gboolean ok;
  if (from) {
    ok = msc_pipeline_rerun(from, &opts, &report, &e);
  } else {
    g_autoptr(MscConfig) cfg = msc_config_load_file(argv[1], &e);
    if (!cfg) {
      cli_report(e);
      g_error_free(e);
      return CLI_FAIL;
    }
    ok = msc_pipeline_run(cfg, &opts, &report, &e);
  }
  g_autofree char *text = json ? msc_pipeline_report_text(report) : msc_pipeline_report_table(report);
  fputs(text, stdout);
  if (json) fputc('\n', stdout);
  json_node_unref(report);
  if (!ok) {
    cli_report(e);
    g_error_free(e);
    return CLI_FAIL;
  }
  return CLI_OK;
}
