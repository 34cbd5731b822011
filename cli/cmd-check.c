/* cmd-check.c: `msc check DIR... [--runner R] [--rtol X] [--atol Y]` runs
 * ONNX backend-test cases (CASE/model.onnx + CASE/test_data_set_N/
 * {input,output}_K.pb): PASS, FAIL (with the worst error) or UNSUPPORTED
 * (naming the op or dtype) per case, then a total line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "cli.h"
#include "error.h"
#include "session.h"
#include "tensor-io.h"
#include "tensor.h"

typedef enum { CASE_PASS, CASE_FAIL, CASE_UNSUPPORTED } Outcome;

/* Per-case tolerances from an INI file: [GROUP/CASE] rtol= atol=
 * atol_scale= reason=. A case matches when its path ends with the section
 * name. atol_scale adds that fraction of the output's largest |expected|
 * to atol: a normwise bound for deep nets whose outputs span magnitudes. */
typedef struct {
  char *name;
  double rtol, atol, atol_scale;
  char *reason;
} CaseTol;

static int tol_handler(void *user, const char *section, const char *key, const char *value) {
  GPtrArray *tols = user;
  CaseTol *t = tols->len ? g_ptr_array_index(tols, tols->len - 1) : NULL;
  if (!t || strcmp(t->name, section) != 0) {
    t = g_new0(CaseTol, 1);
    t->name = g_strdup(section);
    t->rtol = t->atol = -1;
    g_ptr_array_add(tols, t);
  }
  char *end = NULL;
  if (!strcmp(key, "rtol") || !strcmp(key, "atol") || !strcmp(key, "atol_scale")) {
    double v = g_ascii_strtod(value, &end);
    if (!end || *end || v < 0) return 0;
    if (!strcmp(key, "rtol")) t->rtol = v;
    else if (!strcmp(key, "atol")) t->atol = v;
    else t->atol_scale = v;
  } else if (!strcmp(key, "reason")) {
    g_free(t->reason);
    t->reason = g_strdup(value);
  } else {
    return 0;
  }
  return 1;
}

static void case_tol_free(gpointer p) {
  CaseTol *t = p;
  g_free(t->name);
  g_free(t->reason);
  g_free(t);
}

static const CaseTol *find_tol(GPtrArray *tols, const char *dir) {
  size_t ld = strlen(dir);
  while (ld > 1 && dir[ld - 1] == '/') ld--; /* "models/x/" is case models/x too */
  for (guint i = 0; tols && i < tols->len; i++) {
    const CaseTol *t = g_ptr_array_index(tols, i);
    size_t ln = strlen(t->name);
    if (ld >= ln && !strncmp(dir + ld - ln, t->name, ln) && (ld == ln || dir[ld - ln - 1] == '/')) return t;
  }
  return NULL;
}

static gint cmp_str(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts "name_K.pb" files by K numerically. */
static gint cmp_numbered(gconstpointer a, gconstpointer b) {
  const char *x = strrchr(*(char *const *)a, '_'), *y = strrchr(*(char *const *)b, '_');
  long kx = x ? strtol(x + 1, NULL, 10) : 0, ky = y ? strtol(y + 1, NULL, 10) : 0;
  return kx < ky ? -1 : kx > ky;
}

/* Sorted entries of @dir whose names start with @prefix (full paths). */
static GPtrArray *list_dir(const char *dir, const char *prefix, gboolean dirs) {
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  if (!d) return out;
  const char *name;
  while ((name = g_dir_read_name(d))) {
    if (!g_str_has_prefix(name, prefix)) continue;
    char *p = g_build_filename(dir, name, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR) == dirs) g_ptr_array_add(out, p);
    else g_free(p);
  }
  g_ptr_array_sort(out, cmp_str);
  return out;
}

static void collect_cases(const char *dir, int depth, GPtrArray *cases) {
  g_autofree char *model = g_build_filename(dir, "model.onnx", NULL);
  if (g_file_test(model, G_FILE_TEST_IS_REGULAR)) {
    g_ptr_array_add(cases, g_strdup(dir));
    return;
  }
  if (depth >= 4) return;
  g_autoptr(GPtrArray) subs = list_dir(dir, "", TRUE);
  for (guint i = 0; i < subs->len; i++) collect_cases(g_ptr_array_index(subs, i), depth + 1, cases);
}

static Outcome classify(const GError *e) {
  return msc_status_from_error(e) == MSC_ERR_UNSUPPORTED ? CASE_UNSUPPORTED : CASE_FAIL;
}

/* Runs one data set; returns the outcome and a detail line in *detail. */
static Outcome run_set(const MscGraph *g, MscSession *s, const char *set_dir, double rtol, double atol,
                       double atol_scale, double *max_abs, char **detail) {
  GError *e = NULL;
  g_autoptr(GPtrArray) in_files = list_dir(set_dir, "input_", FALSE);
  g_autoptr(GPtrArray) out_files = list_dir(set_dir, "output_", FALSE);
  g_ptr_array_sort(in_files, cmp_numbered);
  g_ptr_array_sort(out_files, cmp_numbered);
  uint32_t ni = g->n_inputs;
  g_autofree MscTensor **inputs = g_new0(MscTensor *, ni ? ni : 1);
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func((GDestroyNotify)msc_tensor_free);
  Outcome oc = CASE_PASS;
  for (guint k = 0; k < in_files->len; k++) {
    MscTensor *t = msc_tensor_load_pb(g_ptr_array_index(in_files, k), &e);
    if (!t) {
      *detail = g_strdup(e->message);
      oc = classify(e);
      g_error_free(e);
      return oc;
    }
    g_ptr_array_add(owned, t);
    int slot = -1;
    for (uint32_t i = 0; t->name && i < ni; i++)
      if (!strcmp(g->inputs[i]->name, t->name)) slot = (int)i;
    if (slot < 0 && k < ni && !inputs[k]) slot = (int)k;
    if (slot < 0 || inputs[slot]) {
      *detail = g_strdup_printf("%s: no graph input left for it", (char *)g_ptr_array_index(in_files, k));
      return CASE_FAIL;
    }
    inputs[slot] = t;
  }
  MscTensor **outputs = NULL;
  if (!msc_session_run(s, (const MscTensor *const *)inputs, ni, &outputs, NULL, &e)) {
    *detail = g_strdup(e->message);
    oc = classify(e);
    g_error_free(e);
    return oc;
  }
  uint32_t no = g->n_outputs;
  if (out_files->len != no) {
    *detail = g_strdup_printf("%u expected outputs in %s, model has %u", out_files->len, set_dir, no);
    oc = CASE_FAIL;
  }
  for (uint32_t j = 0; oc == CASE_PASS && j < no; j++) {
    g_autoptr(MscTensor) exp = msc_tensor_load_pb(g_ptr_array_index(out_files, j), &e);
    if (!exp) {
      *detail = g_strdup(e->message);
      g_error_free(e);
      oc = CASE_FAIL;
      break;
    }
    double scale = 0;
    for (int64_t i = 0; atol_scale > 0 && msc_dtype_is_float(exp->dtype) && i < msc_tensor_numel(exp); i++)
      scale = MAX(scale, fabs(msc_tensor_get_f64(exp, i)));
    MscCompareResult r;
    if (!msc_tensor_compare(outputs[j], exp, rtol, atol + atol_scale * scale, &r)) {
      char a[200], b[200];
      if (!r.dtype_ok && !msc_dtype_is_supported(exp->dtype)) {
        *detail = g_strdup_printf("output '%s': UNSUPPORTED dtype %s", g->outputs[j]->name, msc_dtype_name(exp->dtype));
        oc = CASE_UNSUPPORTED;
      } else if (!r.dtype_ok || !r.shape_ok) {
        *detail = g_strdup_printf("output '%s': got %s%s, expected %s%s", g->outputs[j]->name,
                                  msc_dtype_name(outputs[j]->dtype),
                                  msc_shape_format(outputs[j]->rank, outputs[j]->dims, a, sizeof a),
                                  msc_dtype_name(exp->dtype), msc_shape_format(exp->rank, exp->dims, b, sizeof b));
        oc = CASE_FAIL;
      } else {
        *detail = g_strdup_printf("output '%s': %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                                  " elements off, max abs err %.3g, max rel err %.3g, worst at %" G_GINT64_FORMAT
                                  " (got %.7g, expected %.7g)",
                                  g->outputs[j]->name, r.n_bad, r.n, r.max_abs, r.max_rel, r.worst, r.got_worst,
                                  r.exp_worst);
        oc = CASE_FAIL;
      }
    }
    if (r.max_abs > *max_abs) *max_abs = r.max_abs;
  }
  for (uint32_t j = 0; j < no; j++) msc_tensor_free(outputs[j]);
  g_free(outputs);
  return oc;
}

static Outcome run_case(const char *dir, const char *runner, double rtol, double atol, double atol_scale, char **detail,
                        int *n_sets, double *max_abs) {
  GError *e = NULL;
  g_autofree char *model = g_build_filename(dir, "model.onnx", NULL);
  g_autoptr(MscGraph) g = cli_load_model(model, &e);
  if (!g) {
    *detail = g_strdup(e->message);
    Outcome oc = classify(e);
    g_error_free(e);
    return oc;
  }
  MscSession *s = msc_session_new(g, runner, NULL, &e);
  if (!s) {
    *detail = g_strdup(e->message);
    Outcome oc = classify(e);
    g_error_free(e);
    return oc;
  }
  g_autoptr(GPtrArray) sets = list_dir(dir, "test_data_set_", TRUE);
  Outcome oc = CASE_PASS;
  *n_sets = (int)sets->len;
  if (sets->len == 0) {
    *detail = g_strdup_printf("%s: no test_data_set_N folder", dir);
    oc = CASE_FAIL;
  }
  for (guint i = 0; i < sets->len && oc == CASE_PASS; i++) {
    oc = run_set(g, s, g_ptr_array_index(sets, i), rtol, atol, atol_scale, max_abs, detail);
    if (oc != CASE_PASS) {
      g_autofree char *base = g_path_get_basename(g_ptr_array_index(sets, i));
      char *d = g_strdup_printf("%s: %s", base, *detail);
      g_free(*detail);
      *detail = d;
    }
  }
  msc_session_free(s);
  return oc;
}

int cmd_check(int argc, char **argv) {
  g_autofree char *runner_arg = NULL, *tol_arg = NULL;
  double rtol = 1e-3, atol = 1e-5;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
      {"tolerances", 't', 0, G_OPTION_ARG_FILENAME, &tol_arg,
       "INI file of per-case tolerances: [GROUP/CASE] rtol= atol= atol_scale= reason=", "FILE"},
      {"runner", 'r', 0, G_OPTION_ARG_STRING, &runner_arg, "runner plugin to use (default ref)", "R"},
      {"rtol", 0, 0, G_OPTION_ARG_DOUBLE, &rtol, "relative tolerance (default 1e-3)", "X"},
      {"atol", 0, 0, G_OPTION_ARG_DOUBLE, &atol, "absolute tolerance (default 1e-5)", "Y"},
      {"failures-only", 0, 0, G_OPTION_ARG_NONE, &quiet, "print only FAIL and UNSUPPORTED lines", NULL},
      {NULL}};
  g_autoptr(GOptionContext) ctx =
      g_option_context_new("DIR... - run ONNX backend-test cases (a case dir or folders of them)");
  g_option_context_set_description(ctx, "A case passes when every test_data_set_N matches: floats within "
                                        "|got-exp| <= atol + rtol*|exp|, integers exactly.\nExit status 1 on any FAIL.");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!cli_parse(ctx, &argc, &argv)) return CLI_USAGE;
  const char *runner = runner_arg ? runner_arg : "ref", *tol_file = tol_arg;
  if (argc < 2) {
    cli_error("check: expected at least one DIR (see --help)");
    return CLI_USAGE;
  }
  GError *e = NULL;
  if (!cli_init(&e)) {
    cli_report(e);
    g_error_free(e);
    return CLI_FAIL;
  }
  g_autoptr(GPtrArray) tols = g_ptr_array_new_with_free_func(case_tol_free);
  if (tol_file) {
    int line = ini_parse(tol_file, tol_handler, tols);
    if (line != 0) {
      cli_error("check: %s%s%d: %s", tol_file, line > 0 ? ":" : "", line > 0 ? line : 0,
                line < 0 ? "cannot open" : "bad entry (keys: rtol, atol, atol_scale (numbers >= 0), reason)");
      return CLI_FAIL;
    }
  }
  g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func(g_free);
  for (int i = 1; i < argc; i++) {
    if (!g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
      cli_error("check: %s: not a directory", argv[i]);
      return CLI_FAIL;
    }
    guint before = cases->len;
    collect_cases(argv[i], 0, cases);
    if (cases->len == before) {
      cli_error("check: %s: no test case (model.onnx) found", argv[i]);
      return CLI_FAIL;
    }
  }
  int n_pass = 0, n_fail = 0, n_unsup = 0;
  for (guint i = 0; i < cases->len; i++) {
    const char *dir = g_ptr_array_index(cases, i);
    char *detail = NULL;
    int n_sets = 0;
    double max_abs = 0;
    gint64 t0 = g_get_monotonic_time();
    const CaseTol *t = find_tol(tols, dir);
    double c_rtol = t && t->rtol >= 0 ? t->rtol : rtol, c_atol = t && t->atol >= 0 ? t->atol : atol;
    double c_scale = t ? t->atol_scale : 0;
    Outcome oc = run_case(dir, runner, c_rtol, c_atol, c_scale, &detail, &n_sets, &max_abs);
    double ms = (g_get_monotonic_time() - t0) / 1000.0;
    if (oc == CASE_PASS) {
      n_pass++;
      if (!quiet) printf("PASS        %s (%d set%s, max abs err %.3g, %.1f ms)\n", dir, n_sets, n_sets == 1 ? "" : "s",
                         max_abs, ms);
      if (!quiet && t)
        printf("            tolerance rtol %g atol %g + %g x max|expected| for this case: %s\n", c_rtol, c_atol, c_scale,
               t->reason ? t->reason : "");
    } else if (oc == CASE_UNSUPPORTED) {
      n_unsup++;
      printf("UNSUPPORTED %s: %s\n", dir, detail);
    } else {
      n_fail++;
      printf("FAIL        %s: %s\n", dir, detail);
    }
    fflush(stdout);
    g_free(detail);
  }
  printf("check: %d passed, %d failed, %d unsupported (%u cases, runner %s, rtol %g, atol %g)\n", n_pass, n_fail,
         n_unsup, cases->len, runner, rtol, atol);
  return n_fail ? CLI_FAIL : CLI_OK;
}
