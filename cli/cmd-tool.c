/* cmd-tool.c: `msc quantize` and `msc prune` (and `msc tool NAME`): one
 * tool plugin applied to one model (runtime/tool-run.h). Generic flags
 * describe the model, calibration data and outputs; every other --flag
 * is an option of the tool (--per-tensor -> per_tensor=true,
 * --density 0.5 -> density=0.5), validated by the same schema as a
 * [tool.NAME] section of a pipeline INI. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "msc-plugin.h"
#include "registry.h"
#include "tool-run.h"

static const char *const generic_flags[] = {"-o", "--output", "--calib", "--samples", "--eval", "--seed", "--shape",
                                            "--plan", "--load-plan", "--mean", "--std", "--layout", "--eval-runner",
                                            NULL};

static void usage(FILE *f, const char *cmd, const MscToolApi *api) {
  fprintf(f,
          "Usage: msc %s MODEL -o OUT.onnx [OPTIONS] [--TOOL-OPTION VALUE]...\n\n"
          "MODEL is an .onnx file or zoo:NAME. Options:\n"
          "  -o, --output FILE      the rewritten model (written atomically)\n"
          "  --calib SRC            calibration data: a folder (test_data_set_N/ folders, flat .pb/.npy files,\n"
          "                         or PNG/JPEG images), or random | glyphs | glyphs-nhwc (default: glyphs for\n"
          "                         a 4-D float input, else random)\n"
          "  --samples N            calibration samples (default 32; 64 for prune)\n"
          "  --eval N               held-out samples compared with the original model (default 16, 0: none)\n"
          "  --eval-runner NAME     runner of that comparison (default ref)\n"
          "  --seed S               first generator seed (sample k uses S + k; held-out ones follow)\n"
          "  --shape NAME=DxD...    dims of dynamic inputs (repeatable)\n"
          "  --mean M[,M..] --std S[,S..] --layout auto|nchw|nhwc   image normalisation and layout\n"
          "  --plan FILE            where to write the plan (default OUT.onnx.plan.json)\n"
          "  --load-plan FILE       apply a saved plan instead of calibrating and planning\n"
          "  --json                 print the summary as JSON\n",
          cmd);
  if (!api) return;
  fprintf(f, "\nOptions of tool '%s' (%s):\n", api->name, api->doc ? api->doc : "");
  for (uint32_t i = 0; i < api->n_options; i++) {
    const MscOptionSpec *o = &api->options[i];
    g_autofree char *flag = g_strdelimit(g_strdup(o->name), "_", '-');
    fprintf(f, "  --%-20s %s%s%s%s\n", flag, o->doc ? o->doc : "", o->default_value ? " (default " : "",
            o->default_value ? o->default_value : "", o->default_value ? ")" : "");
  }
}

static const MscOptionSpec *find_option(const MscToolApi *api, const char *name) {
  for (uint32_t i = 0; i < api->n_options; i++)
    if (!strcmp(api->options[i].name, name)) return &api->options[i];
  return NULL;
}

static gboolean is_generic(const char *a) {
  for (const char *const *g = generic_flags; *g; g++)
    if (!strcmp(a, *g)) return TRUE;
  return FALSE;
}

static void print_summary(JsonObject *s) {
  printf("wrote %s: params %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ", FLOPs %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT
         ", file bytes %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT "\n",
         json_object_get_string_member(s, "output"), json_object_get_int_member(s, "params_before"),
         json_object_get_int_member(s, "params_after"), json_object_get_int_member(s, "flops_before"),
         json_object_get_int_member(s, "flops_after"), json_object_get_int_member(s, "bytes_before"),
         json_object_get_int_member(s, "bytes_after"));
  printf("plan %s (%s)\n", json_object_get_string_member(s, "plan"),
         json_object_get_boolean_member(s, "plan_reused") ? "re-applied" : "planned");
  if (json_object_has_member(s, "heldout_skipped"))
    printf("held-out comparison skipped: %s\n", json_object_get_string_member(s, "heldout_skipped"));
  if (!json_object_has_member(s, "heldout")) return;
  JsonObject *h = json_object_get_object_member(s, "heldout");
  printf("held-out samples: %" G_GINT64_FORMAT " (runner %s), rewritten vs original model:\n",
         json_object_get_int_member(h, "samples"), json_object_get_string_member(h, "runner"));
  JsonArray *outs = json_object_get_array_member(h, "outputs");
  for (guint j = 0; j < json_array_get_length(outs); j++) {
    JsonObject *o = json_array_get_object_element(outs, j);
    if (!json_object_get_boolean_member(o, "compared")) {
      printf("  %-24s not compared (not float32)\n", json_object_get_string_member(o, "name"));
      continue;
    }
    printf("  %-24s cosine %.6f  max abs %.4g", json_object_get_string_member(o, "name"),
           json_object_get_double_member(o, "cosine"), json_object_get_double_member(o, "max_abs"));
    if (json_object_has_member(o, "top1_total"))
      printf("  top-1 agree %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT, json_object_get_int_member(o, "top1_agree"),
             json_object_get_int_member(o, "top1_total"));
    printf("\n");
  }
}

/* Which dataset source a --calib folder is: images or tensor files. */
static const char *folder_source(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d) return "files";
  const char *name, *src = "files";
  static const char *const image_exts[] = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm"};
  while ((name = g_dir_read_name(d))) {
    g_autofree char *l = g_ascii_strdown(name, -1);
    for (guint i = 0; i < G_N_ELEMENTS(image_exts); i++)
      if (g_str_has_suffix(l, image_exts[i])) src = "images";
    if (g_str_has_prefix(name, "test_data_set_") || g_str_has_suffix(l, ".pb") || g_str_has_suffix(l, ".npy")) {
      src = "files";
      break;
    }
  }
  g_dir_close(d);
  return src;
}

static int run_tool_cmd(int argc, char **argv, const char *cmd, const char *tool, const char *phase) {
  GError *e = NULL;
  if (!cli_init(&e)) {
    cli_report(e);
    g_error_free(e);
    return CLI_FAIL;
  }
  g_autofree char *key = g_strdup_printf("msc.tool.%s", tool);
  const MscToolApi *api = msc_registry_get(key, MSC_REG_TOOL, TRUE, NULL);
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout, cmd, api);
      return CLI_OK;
    }
  if (!api) {
    cli_error("%s: tool '%s' is not registered (is its plugin built? see `msc plugins`)", cmd, tool);
    return CLI_FAIL;
  }
  const char *model = NULL, *output = NULL, *calib = NULL, *plan = NULL, *load_plan = NULL, *eval_runner = NULL;
  /* the pruner's least-squares refit needs more rows than calibration
   * statistics do: PP-OCR cls at density 0.5 went 0.795 -> 0.840 held-out
   * with 64 samples, 0.780 -> 0.740 (worse) with 32 */
  const char *samples = !strcmp(tool, "pruner") ? "64" : "32", *eval = "16", *seed = "0", *mean = NULL, *std = NULL, *layout = NULL;
  gboolean json = FALSE;
  g_autoptr(GPtrArray) shapes = g_ptr_array_new();
  g_autoptr(GString) tool_ini = g_string_new(NULL);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--json")) {
      json = TRUE;
      continue;
    }
    if (a[0] != '-' || !a[1]) {
      if (model) {
        cli_error("%s: more than one MODEL ('%s' and '%s')", cmd, model, a);
        return CLI_USAGE;
      }
      model = a;
      continue;
    }
    if (is_generic(a)) {
      if (i + 1 >= argc) {
        cli_error("%s: %s needs a value", cmd, a);
        return CLI_USAGE;
      }
      const char *v = argv[++i];
      if (!strcmp(a, "-o") || !strcmp(a, "--output")) output = v;
      else if (!strcmp(a, "--calib")) calib = v;
      else if (!strcmp(a, "--samples")) samples = v;
      else if (!strcmp(a, "--eval")) eval = v;
      else if (!strcmp(a, "--seed")) seed = v;
      else if (!strcmp(a, "--shape")) g_ptr_array_add(shapes, (gpointer)v);
      else if (!strcmp(a, "--plan")) plan = v;
      else if (!strcmp(a, "--load-plan")) load_plan = v;
      else if (!strcmp(a, "--mean")) mean = v;
      else if (!strcmp(a, "--std")) std = v;
      else if (!strcmp(a, "--layout")) layout = v;
      else if (!strcmp(a, "--eval-runner")) eval_runner = v;
      continue;
    }
    /* a tool option: --name-with-dashes [VALUE] */
    const char *flag = a + (a[1] == '-' ? 2 : 1);
    g_autofree char *name = g_strdelimit(g_strdup(flag), "-", '_');
    char *eq = strchr(name, '=');
    const char *value = NULL;
    if (eq) {
      *eq = '\0';
      value = eq + 1;
    }
    const MscOptionSpec *o = find_option(api, name);
    if (!o) {
      cli_error("%s: unknown option '%s' (tool '%s' has no option '%s'; see --help)", cmd, a, tool, name);
      return CLI_USAGE;
    }
    if (!value) {
      gboolean takes_value = o->type != MSC_OPT_BOOL ||
                             (i + 1 < argc && (!strcmp(argv[i + 1], "true") || !strcmp(argv[i + 1], "false")));
      if (takes_value && i + 1 >= argc) {
        cli_error("%s: %s needs a value", cmd, a);
        return CLI_USAGE;
      }
      value = takes_value ? argv[++i] : "true";
    }
    if (strpbrk(value, "\n\r")) {
      cli_error("%s: %s: the value has a line break", cmd, a);
      return CLI_USAGE;
    }
    g_string_append_printf(tool_ini, "%s = %s\n", name, value);
  }
  if (!model || !output) {
    cli_error("%s: expected MODEL and -o OUT.onnx (see --help)", cmd);
    return CLI_USAGE;
  }
  char *end = NULL;
  guint64 n_eval = g_ascii_strtoull(eval, &end, 10);
  if (!end || *end || end == eval || n_eval > 1000) {
    cli_error("%s: --eval: want a count in [0, 1000] ('%s')", cmd, eval);
    return CLI_USAGE;
  }
  /* one validated config, as a pipeline INI would say it */
  g_autoptr(GString) ini = g_string_new("[model]\n");
  g_autofree char *abs_model = g_str_has_prefix(model, "zoo:") ? g_strdup(model) : g_canonicalize_filename(model, NULL);
  g_string_append_printf(ini, "path = %s\n", abs_model);
  if (shapes->len) {
    g_ptr_array_add(shapes, NULL);
    g_autofree char *joined = g_strjoinv(",", (char **)shapes->pdata);
    g_string_append_printf(ini, "shapes = %s\n", joined);
  }
  g_string_append(ini, "[dataset]\n");
  static const char *const generators[] = {"random", "glyphs", "glyphs-nhwc", "auto"};
  gboolean generator = FALSE;
  for (guint i = 0; calib && i < G_N_ELEMENTS(generators); i++) generator |= !strcmp(calib, generators[i]);
  if (calib && !generator && !g_file_test(calib, G_FILE_TEST_IS_DIR)) {
    cli_error("%s: --calib %s: no such folder, and not a generator (random, glyphs, glyphs-nhwc)", cmd, calib);
    return CLI_USAGE;
  }
  if (calib && g_file_test(calib, G_FILE_TEST_IS_DIR)) {
    g_autofree char *abs = g_canonicalize_filename(calib, NULL);
    g_string_append_printf(ini, "source = %s\npath = %s\n", folder_source(calib), abs);
  } else {
    g_string_append_printf(ini, "source = %s\n", calib ? calib : "auto");
  }
  g_string_append_printf(ini, "samples = %s\nseed = %s\n", samples, seed);
  if (mean) g_string_append_printf(ini, "mean = %s\n", mean);
  if (std) g_string_append_printf(ini, "std = %s\n", std);
  if (layout) g_string_append_printf(ini, "layout = %s\n", layout);
  g_string_append_printf(ini, "[tool.%s]\n%s", tool, tool_ini->str);
  g_autoptr(MscConfig) cfg = msc_config_load_buffer(ini->str, ini->len, "command line", &e);
  if (!cfg) {
    /* "command line:N: [section] key: why" -> name the flag instead */
    const char *msg = e->message, *brk = strstr(msg, ": [");
    cli_error("%s: %s", cmd, brk ? brk + 2 : msg);
    g_error_free(e);
    return CLI_USAGE;
  }
  MscToolRun run = {tool, phase, output, plan, load_plan, (guint)n_eval, eval_runner};
  JsonObject *summary = NULL;
  if (!msc_tool_run(cfg, &run, &summary, &e)) {
    cli_error("%s: %s", cmd, e->message);
    g_error_free(e);
    return CLI_FAIL;
  }
  if (json) {
    g_autoptr(JsonNode) n = json_node_init_object(json_node_alloc(), summary);
    g_autofree char *text = json_to_string(n, FALSE);
    printf("%s\n", text);
  } else {
    print_summary(summary);
  }
  json_object_unref(summary);
  return CLI_OK;
}

int cmd_quantize(int argc, char **argv) { return run_tool_cmd(argc, argv, "quantize", "quantizer", "quantize"); }

int cmd_prune(int argc, char **argv) { return run_tool_cmd(argc, argv, "prune", "pruner", "prune"); }

/* `msc tool NAME MODEL -o OUT ...`: any registered tool (e.g. a user plugin). */
int cmd_tool(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') {
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
      usage(stdout, "tool NAME", NULL);
      return CLI_OK;
    }
    cli_error("tool: expected a tool NAME first (see `msc plugins`)");
    return CLI_USAGE;
  }
  const char *name = argv[1];
  argv[1] = argv[0];
  return run_tool_cmd(argc - 1, argv + 1, "tool", name, "tool");
}
