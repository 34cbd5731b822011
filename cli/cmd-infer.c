/* cmd-infer.c: `msc infer MODEL -i [NAME=]FILE ... -o DIR [--runner R]`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "session.h"
#include "tensor-io.h"
#include "tensor.h"

/* A file name from a tensor name: keeps [A-Za-z0-9._-], replaces the rest. */
static char *safe_name(const char *name) {
  char *s = g_strdup(name && *name ? name : "output");
  for (char *p = s; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-') *p = '_';
  if (s[0] == '.') s[0] = '_';
  return s;
}

/* One line about an output: argmax per row for [N,C] class scores, else
 * min/mean/max. */
static char *summarize(const MscTensor *t) {
  int64_t n = msc_tensor_numel(t);
  if (n <= 0) return g_strdup("empty");
  GString *s = g_string_new("");
  if (t->rank == 2 && t->dims[1] > 1 && t->dims[0] <= 8) {
    g_string_append(s, "top-1 per row:");
    for (int64_t r = 0; r < t->dims[0]; r++) {
      int64_t best = 0;
      for (int64_t c = 1; c < t->dims[1]; c++)
        if (msc_tensor_get_f64(t, r * t->dims[1] + c) > msc_tensor_get_f64(t, r * t->dims[1] + best)) best = c;
      g_string_append_printf(s, " class %" G_GINT64_FORMAT " (%.4g)", best, msc_tensor_get_f64(t, r * t->dims[1] + best));
    }
    return g_string_free(s, FALSE);
  }
  double lo = msc_tensor_get_f64(t, 0), hi = lo, sum = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = msc_tensor_get_f64(t, i);
    lo = MIN(lo, v);
    hi = MAX(hi, v);
    sum += v;
  }
  g_string_append_printf(s, "min %.4g, mean %.4g, max %.4g", lo, sum / n, hi);
  return g_string_free(s, FALSE);
}

static int fail_with(GError *e) {
  cli_report(e);
  g_error_free(e);
  return CLI_FAIL;
}

int cmd_infer(int argc, char **argv) {
  g_autofree char *runner_arg = NULL, *outdir = NULL, *format_arg = NULL;
  g_auto(GStrv) ins = NULL;
  g_auto(GStrv) shapes = NULL;
  gint64 seed = -1;
  GOptionEntry entries[] = {
      {"input", 'i', 0, G_OPTION_ARG_STRING_ARRAY, &ins, "an input as NAME=FILE or FILE (by position); .npy or .pb",
       "[NAME=]FILE"},
      {"output-dir", 'o', 0, G_OPTION_ARG_FILENAME, &outdir, "directory for the outputs (created)", "DIR"},
      {"runner", 'r', 0, G_OPTION_ARG_STRING, &runner_arg, "runner plugin (default ref)", "R"},
      {"random", 0, 0, G_OPTION_ARG_INT64, &seed,
       "fill inputs not given as shared/bench/make-case.js does: mulberry32(SEED+k) for input k, floats uniform [-1,1), ints 0..9", "SEED"},
      {"shape", 0, 0, G_OPTION_ARG_STRING_ARRAY, &shapes, "shape for a random input with dynamic dims", "NAME=1x3x64x64"},
      {"format", 'f', 0, G_OPTION_ARG_STRING, &format_arg, "npy (NAME.npy) or pb (output_K.pb); default npy", "FMT"},
      {NULL}};
  g_autoptr(GOptionContext) ctx = g_option_context_new("MODEL - run a model on input files, write one file per output");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!cli_parse(ctx, &argc, &argv)) return CLI_USAGE;
  const char *runner = runner_arg ? runner_arg : "ref", *format = format_arg ? format_arg : "npy";
  if (argc != 2 || !outdir) {
    cli_error("infer: expected MODEL and -o DIR (see --help)");
    return CLI_USAGE;
  }
  if (strcmp(format, "npy") && strcmp(format, "pb")) {
    cli_error("infer: --format '%s' not in npy|pb", format);
    return CLI_USAGE;
  }
  GError *e = NULL;
  if (!cli_init(&e)) return fail_with(e);
  g_autoptr(MscGraph) g = cli_load_model(argv[1], &e);
  if (!g) return fail_with(e);
  uint32_t ni = g->n_inputs;
  g_autofree MscTensor **inputs = g_new0(MscTensor *, ni ? ni : 1);
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func((GDestroyNotify)msc_tensor_free);
  guint pos = 0;
  for (char **a = ins; a && *a; a++) {
    const char *eq = strchr(*a, '=');
    g_autofree char *name = eq ? g_strndup(*a, eq - *a) : NULL;
    const char *file = eq ? eq + 1 : *a;
    int slot = -1;
    if (name) {
      for (uint32_t i = 0; i < ni; i++)
        if (!strcmp(g->inputs[i]->name, name)) slot = (int)i;
      if (slot < 0) {
        cli_error("infer: %s: the model has no input '%s'", argv[1], name);
        return CLI_FAIL;
      }
    } else {
      while (pos < ni && inputs[pos]) pos++;
      if (pos >= ni) {
        cli_error("infer: %s: more input files than the model's %u inputs", file, ni);
        return CLI_FAIL;
      }
      slot = (int)pos;
    }
    if (inputs[slot]) {
      cli_error("infer: input '%s' given twice", g->inputs[slot]->name);
      return CLI_FAIL;
    }
    MscTensor *t = msc_tensor_load_file(file, &e);
    if (!t) return fail_with(e);
    g_ptr_array_add(owned, t);
    inputs[slot] = t;
  }
  for (uint32_t i = 0; i < ni; i++) {
    if (inputs[i]) continue;
    if (seed < 0) {
      cli_error("infer: %s: input '%s' missing (give -i %s=FILE or --random SEED)", argv[1], g->inputs[i]->name,
                g->inputs[i]->name);
      return CLI_FAIL;
    }
    MscTensor *t = cli_random_input(g->inputs[i], (const char *const *)shapes, (guint64)seed + i, &e);
    if (!t) return fail_with(e);
    g_ptr_array_add(owned, t);
    inputs[i] = t;
  }
  MscSession *s = msc_session_new(g, runner, NULL, &e);
  if (!s) return fail_with(e);
  MscTensor **outputs = NULL;
  gboolean ok = msc_session_run(s, (const MscTensor *const *)inputs, ni, &outputs, NULL, &e);
  msc_session_free(s);
  if (!ok) return fail_with(e);
  if (g_mkdir_with_parents(outdir, 0755) != 0) {
    cli_error("infer: %s: cannot create directory", outdir);
    ok = FALSE;
  }
  for (uint32_t j = 0; ok && j < g->n_outputs; j++) {
    g_autofree char *safe = safe_name(g->outputs[j]->name);
    g_autofree char *base = strcmp(format, "pb") == 0 ? g_strdup_printf("output_%u.pb", j)
                                                      : g_strdup_printf("%s.npy", safe);
    g_autofree char *path = g_build_filename(outdir, base, NULL);
    msc_tensor_set_name(outputs[j], g->outputs[j]->name);
    if (!msc_tensor_save_file(outputs[j], path, &e)) {
      ok = FALSE;
      break;
    }
    char sb[200];
    g_autofree char *summary = summarize(outputs[j]);
    printf("%s: %s %s%s: %s\n", path, g->outputs[j]->name, msc_dtype_name(outputs[j]->dtype),
           msc_shape_format(outputs[j]->rank, outputs[j]->dims, sb, sizeof sb), summary);
  }
  for (uint32_t j = 0; j < g->n_outputs; j++) msc_tensor_free(outputs[j]);
  g_free(outputs);
  if (!ok && e) return fail_with(e);
  return ok ? CLI_OK : CLI_FAIL;
}
