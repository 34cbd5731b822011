/* cmd-zoo.c: `msc zoo OUTDIR [NAME...]` writes the built-in demo CNNs
 * (deterministic weights) as ONNX models. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "onnx.h"
#include "zoo.h"

int cmd_zoo(int argc, char **argv) {
  g_autoptr(GOptionContext) ctx = g_option_context_new("OUTDIR [NAME...] - write small demo CNNs as ONNX models");
  g_autoptr(GString) desc = g_string_new("Models:");
  for (const char *const *n = msc_zoo_names(); *n; n++) g_string_append_printf(desc, " %s", *n);
  g_option_context_set_description(ctx, desc->str);
  if (!cli_parse(ctx, &argc, &argv)) return CLI_USAGE;
  if (argc < 2) {
    cli_error("zoo: expected OUTDIR (see --help)");
    return CLI_USAGE;
  }
  GError *e = NULL;
  if (!cli_init(&e)) {
    cli_report(e);
    g_error_free(e);
    return CLI_FAIL;
  }
  if (g_mkdir_with_parents(argv[1], 0755) != 0) {
    cli_error("zoo: %s: cannot create directory", argv[1]);
    return CLI_FAIL;
  }
  const char *const *names = msc_zoo_names();
  g_autoptr(GPtrArray) want = g_ptr_array_new();
  for (int i = 2; i < argc; i++) g_ptr_array_add(want, argv[i]);
  if (want->len == 0)
    for (const char *const *n = names; *n; n++) g_ptr_array_add(want, (gpointer)*n);
  for (guint i = 0; i < want->len; i++) {
    const char *name = g_ptr_array_index(want, i);
    g_autoptr(MscGraph) g = msc_zoo_build(name, &e);
    if (!g || !msc_graph_verify(g, &e)) {
      cli_error("zoo: %s: %s", name, e->message);
      g_error_free(e);
      return CLI_FAIL;
    }
    g_autofree char *file = g_strdup_printf("%s.onnx", name);
    g_autofree char *path = g_build_filename(argv[1], file, NULL);
    if (!msc_onnx_save_file(g, path, &e)) {
      cli_report(e);
      g_error_free(e);
      return CLI_FAIL;
    }
    printf("%s: %u nodes, %.2f M params, %.1f MFLOP\n", path, g->n_nodes, msc_graph_param_count(g) / 1e6,
           msc_graph_flops(g) / 1e6);
  }
  return CLI_OK;
}
