/* cmd-export.c: `msc export MODEL -o OUT.onnx`: load, verify and write the
 * model back as ONNX (the writer every tool's output goes through). */
#include <stdio.h>

#include "cli.h"
#include "onnx.h"

int cmd_export(int argc, char **argv) {
  g_autofree char *out = NULL;
  GOptionEntry entries[] = {{"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "the ONNX file to write", "OUT.onnx"},
                            {NULL}};
  g_autoptr(GOptionContext) ctx = g_option_context_new("MODEL - verify a model and write it back as ONNX");
  g_option_context_set_description(ctx, "The file is written to a temporary name and renamed: a failure leaves the "
                                        "old file or nothing.");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!cli_parse(ctx, &argc, &argv)) return CLI_USAGE;
  if (argc != 2 || !out) {
    cli_error("export: expected MODEL and -o OUT.onnx (see --help)");
    return CLI_USAGE;
  }
  GError *e = NULL;
  g_autoptr(MscGraph) g = NULL;
  if (!cli_init(&e) || !(g = cli_load_model(argv[1], &e)) || !msc_onnx_save_file(g, out, &e)) {
    cli_report(e);
    g_error_free(e);
    return CLI_FAIL;
  }
  printf("%s: %u nodes, %u inputs, %u outputs\n", out, g->n_nodes, g->n_inputs, g->n_outputs);
  return CLI_OK;
}
