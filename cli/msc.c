/* msc.c: the `msc` command-line tool: dispatch, logging, shared helpers. */
#include <stdio.h>
#include <math.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "msc-config.h"
#include "msc-plugin.h"
#include "onnx.h"
#include "ops.h"
#include "plugin.h"
#include "tensor.h"

static int log_level = 1; /* 0 error, 1 warning, 2 info, 3 debug */

static void log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user) {
  int l = (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) ? 0
          : (level & G_LOG_LEVEL_WARNING)                     ? 1
          : (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)) ? 2
                                                              : 3;
  if (l > log_level) return;
  static const char *names[] = {"error", "warning", "info", "debug"};
  fprintf(stderr, "msc: %s: %s%s%s\n", names[l], domain ? domain : "", domain ? ": " : "", message);
}

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *m = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  fprintf(stderr, "msc: %s\n", m);
  g_free(m);
}

void cli_report(const GError *e) {
  gboolean unsup = msc_status_from_error(e) == MSC_ERR_UNSUPPORTED && !strstr(e->message, "UNSUPPORTED");
  cli_error("%s%s", unsup ? "UNSUPPORTED: " : "", e->message);
}

gboolean cli_init(GError **error) {
  if (!msc_ops_register_builtins(error)) return FALSE;
  return msc_plugins_load_all(error);
}

MscGraph *cli_load_model(const char *path, GError **error) {
  g_autoptr(MscGraph) g = msc_onnx_load_file(path, error);
  if (!g) return NULL;
  if (!msc_graph_verify(g, error)) {
    g_prefix_error(error, "%s: ", path);
    return NULL;
  }
  return g_steal_pointer(&g);
}

MscTensor *cli_random_input(const MscValue *v, const char *const *shapes, guint64 seed, GError **error) {
  int64_t dims[MSC_MAX_RANK];
  int32_t rank = v->rank;
  const char *given = NULL;
  for (const char *const *s = shapes; s && *s; s++) {
    const char *eq = strchr(*s, '=');
    if (eq && (size_t)(eq - *s) == strlen(v->name) && !strncmp(*s, v->name, eq - *s)) given = eq + 1;
  }
  if (given) {
    g_auto(GStrv) parts = g_strsplit(given, "x", -1);
    rank = (int32_t)g_strv_length(parts);
    if (rank > MSC_MAX_RANK || (v->rank >= 0 && rank != v->rank)) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "--shape %s=%s: rank %d, the input has rank %d", v->name, given, rank,
                    v->rank);
      return NULL;
    }
    for (int32_t k = 0; k < rank; k++) {
      char *end = NULL;
      dims[k] = g_ascii_strtoll(parts[k], &end, 10);
      if (!end || *end || dims[k] < 0 || (v->rank >= 0 && v->dims[k] >= 0 && v->dims[k] != dims[k])) {
        msc_set_error(error, MSC_ERR_INVALID_ARG, "--shape %s=%s: bad or mismatching dim '%s'", v->name, given,
                      parts[k]);
        return NULL;
      }
    }
  } else {
    if (rank < 0) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "input '%s' has no declared shape: give --shape %s=...", v->name,
                    v->name);
      return NULL;
    }
    for (int32_t k = 0; k < rank; k++) dims[k] = v->dims[k] >= 0 ? v->dims[k] : 1;
  }
  MscTensor *t = msc_tensor_new(v->dtype == MSC_DTYPE_UNDEFINED ? MSC_DTYPE_FLOAT32 : v->dtype, rank, dims, error);
  if (!t) return NULL;
  msc_tensor_fill_random(t, (uint32_t)seed);
  msc_tensor_set_name(t, v->name);
  return t;
}

gboolean cli_parse(GOptionContext *ctx, int *argc, char ***argv) {
  GError *e = NULL;
  if (!g_option_context_parse(ctx, argc, argv, &e)) {
    cli_error("%s (see --help)", e->message);
    g_error_free(e);
    return FALSE;
  }
  return TRUE;
}

static const struct {
  const char *name;
  int (*fn)(int, char **);
  const char *summary;
} commands[] = {
    {"info", cmd_info, "inputs, outputs, op histogram, parameters and FLOPs of a model"},
    {"infer", cmd_infer, "run a model on input files and write its outputs"},
    {"check", cmd_check, "run ONNX backend-test cases and compare with their outputs"},
    {"plugins", cmd_plugins, "list plugins found, what they registered, and load failures"},
    {"export", cmd_export, "verify a model and write it back as ONNX"},
    {"zoo", cmd_zoo, "write small demo CNNs as ONNX models"},
    {"config", cmd_config, "describe configuration schemas and check INI files"},
    {"bench", cmd_bench, "measure a model's latency on a runner, with a per-node time table"},
    {"run", cmd_run, "run the optimization pipeline of an INI config (or re-check an export)"},
    {"quantize", cmd_quantize, "post-training int8 quantization of a model (tool plugin quantizer)"},
    {"prune", cmd_prune, "structured channel pruning of a model (tool plugin pruner)"},
    {"tool", cmd_tool, "apply any tool plugin to a model: msc tool NAME MODEL -o OUT"},
};

static void usage(FILE *f) {
  fprintf(f,
          "Usage: msc [-v|-q] COMMAND [OPTIONS] ...\n\n"
          "msc: take an ONNX CNN, check, optimize, profile and export it.\n\nCommands:\n");
  for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(f,
          "\nGlobal options:\n  -v, --verbose   more messages (repeat for debug)\n  -q, --quiet     errors only\n"
          "  --version       print the version\n  -h, --help      this help; `msc COMMAND --help` for a command\n"
          "\nEnvironment: MSC_LOG=error|warning|info|debug, MSC_PLUGIN_PATH=DIR[:DIR...] (absolute dirs)\n");
}

int main(int argc, char **argv) {
  const char *env = g_getenv("MSC_LOG");
  if (env) {
    if (!g_ascii_strcasecmp(env, "error")) log_level = 0;
    else if (!g_ascii_strcasecmp(env, "warning")) log_level = 1;
    else if (!g_ascii_strcasecmp(env, "info")) log_level = 2;
    else if (!g_ascii_strcasecmp(env, "debug")) log_level = 3;
  }
  g_log_set_default_handler(log_handler, NULL);
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) log_level = MIN(log_level + 1, 3);
    else if (!strcmp(a, "-vv")) log_level = 3;
    else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) log_level = 0;
    else if (!strcmp(a, "--version")) {
      printf("msc %s (plugin ABI %d.%d)\n", MSC_VERSION, MSC_ABI_MAJOR, MSC_ABI_MINOR);
      return CLI_OK;
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return CLI_OK;
    } else {
      cli_error("unknown option '%s' (see --help)", a);
      return CLI_USAGE;
    }
  }
  if (i >= argc) {
    cli_error("no command given (see --help)");
    return CLI_USAGE;
  }
  for (size_t c = 0; c < G_N_ELEMENTS(commands); c++)
    if (!strcmp(argv[i], commands[c].name)) {
      /* commands parse their own options; argv[0] becomes "msc CMD" */
      g_autofree char *prog = g_strdup_printf("msc %s", commands[c].name);
      argv[i] = prog;
      g_set_prgname(prog);
      return commands[c].fn(argc - i, argv + i);
    }
  cli_error("unknown command '%s' (see --help)", argv[i]);
  return CLI_USAGE;
}
