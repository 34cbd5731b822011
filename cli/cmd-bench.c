/* cmd-bench.c: `msc bench MODEL [--runner R] [--threads N] [--warmup W]
 * [--iters I] [--shape NAME=1x3x224x224] [--json]`: latency of a model on a
 * runner with random inputs (median and min over I timed runs after W
 * warm-up runs), throughput, GFLOP/s, and a per-node time table from extra
 * profiled runs (node hooks cost time, so they are not in the timed runs).
 * --json prints one line with the keys of shared/bench/ort-bench.js. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../plugins/runners/cpu/cpu-stats.h"
#include "cli.h"
#include "kernels/conv2d-plan.h"
#include "registry.h"
#include "session.h"
#include "tensor.h"

/* The kernel layer may be absent from this libmsc: then no ISA is shown. */
#pragma weak msc_isa_detect
#pragma weak msc_isa_name
#pragma weak msc_isa_fma_peak_gflops

typedef struct {
  const MscNode *node;
  double ms;
  int64_t calls;
  double flops;   /* per run (first profiled run) */
  char shape[48]; /* conv: "KxK/S C->M @HxW" of the run's tensors */
} NodeTime;

typedef struct {
  GHashTable *by_node; /* MscNode* -> NodeTime* */
  gboolean count_flops; /* on the first profiled run only */
  double flops;
  double t_before; /* --cpu-time: CPU ms at the node's BEFORE hook */
} Profile;

static int64_t numel(const MscTensor *t) {
  return t ? msc_tensor_numel(t) : 0;
}

/* The dims of a node's weights: the tensor the runner passed (in[1]), else
 * the static shape of the graph value (an int8 step shows hooks only its
 * 8-bit input; QLinearConv / ConvInteger / QLinearMatMul keep theirs at
 * input 3 / 1 / 3). Returns the rank, 0 when unknown. */
static int32_t weight_dims(const MscNode *n, const MscTensor *const *in, uint32_t ni, const int64_t **dims) {
  const char *op = n->op_type;
  uint32_t wi = !strcmp(op, "QLinearConv") || !strcmp(op, "QLinearMatMul") ? 3 : 1;
  if (wi == 1 && ni > 1 && in[1]) {
    *dims = in[1]->dims;
    return in[1]->rank;
  }
  const MscValue *v = wi < n->n_inputs ? n->inputs[wi] : NULL;
  if (!v || v->rank < 1) return 0;
  for (int32_t i = 0; i < v->rank; i++)
    if (v->dims[i] <= 0) return 0;
  *dims = v->dims;
  return v->rank;
}

static gboolean is_conv(const char *op) {
  return !strcmp(op, "Conv") || !strcmp(op, "QLinearConv") || !strcmp(op, "ConvInteger");
}

/* FLOPs of one node on its concrete tensors (multiply-adds count 2), as
 * msc_graph_flops counts them but with the run's real dims. */
static double node_flops(const MscNode *n, const MscTensor *const *in, uint32_t ni, const MscTensor *const *out) {
  const char *op = n->op_type;
  const MscTensor *a = ni > 0 ? in[0] : NULL;
  const int64_t *wd = NULL;
  int32_t wr = weight_dims(n, in, ni, &wd);
  if (!a || !wr || !out[0] || n->domain[0]) return 0;
  if (is_conv(op) && wr >= 3) {
    double k = 1;
    for (int32_t i = 1; i < wr; i++) k *= (double)wd[i];
    return 2.0 * (double)numel(out[0]) * k;
  }
  if (!strcmp(op, "ConvTranspose") && wr >= 3) {
    double k = 1;
    for (int32_t i = 1; i < wr; i++) k *= (double)wd[i];
    return 2.0 * (double)numel(a) * k;
  }
  if ((!strcmp(op, "MatMul") || !strcmp(op, "QLinearMatMul") || !strcmp(op, "MatMulInteger")) && a->rank >= 1)
    return 2.0 * (double)numel(out[0]) * (double)a->dims[a->rank - 1];
  if (!strcmp(op, "Gemm") && a->rank == 2) {
    int64_t ta = 0;
    for (uint32_t i = 0; i < n->n_attrs; i++)
      if (!strcmp(n->attrs[i].name, "transA")) ta = n->attrs[i].i;
    return 2.0 * (double)numel(out[0]) * (double)(ta ? a->dims[0] : a->dims[1]);
  }
  return 0;
}

/* --cpu-time (1 thread only): the calling thread's CPU time, which the
 * runner's 1-thread pool runs on, so time-slicing by other processes on a
 * shared machine does not count. */
static gboolean use_cpu_time;
static double now_ms(void) {
  struct timespec ts;
  clock_gettime(use_cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int profile_hook(void *user, MscHookPhase phase, const MscNode *node, const MscTensor *const *in, uint32_t ni,
                        const MscTensor *const *out, uint32_t no, double ms) {
  Profile *p = user;
  if (use_cpu_time) { /* per node in thread CPU time too */
    if (phase == MSC_HOOK_BEFORE) {
      p->t_before = now_ms();
      return 0;
    }
    if (phase == MSC_HOOK_AFTER) ms = now_ms() - p->t_before;
  }
  if (phase != MSC_HOOK_AFTER) return 0;
  NodeTime *t = g_hash_table_lookup(p->by_node, node);
  if (!t) {
    t = g_new0(NodeTime, 1);
    t->node = node;
    g_hash_table_insert(p->by_node, (gpointer)node, t);
  }
  t->ms += ms;
  t->calls++;
  if (p->count_flops) {
    t->flops = node_flops(node, in, ni, out);
    p->flops += t->flops;
    const MscTensor *y = no > 0 ? out[0] : NULL;
    const int64_t *wd = NULL;
    if (is_conv(node->op_type) && !node->domain[0] && weight_dims(node, in, ni, &wd) == 4 && y && y->rank == 4 &&
        ni > 0 && in[0] && in[0]->rank == 4) {
      int64_t s = 1;
      for (uint32_t i = 0; i < node->n_attrs; i++)
        if (!strcmp(node->attrs[i].name, "strides") && node->attrs[i].n > 0) s = node->attrs[i].ints[0];
      g_snprintf(t->shape, sizeof t->shape, "%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
                 " %" G_GINT64_FORMAT "->%" G_GINT64_FORMAT "%s @%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
                 wd[2], wd[3], s, in[0]->dims[1], y->dims[1],
                 wd[1] != in[0]->dims[1] ? (wd[1] == 1 ? " dw" : " grp") : "", y->dims[2], y->dims[3]);
    }
  }
  return 0;
}

static gint cmp_time_desc(gconstpointer a, gconstpointer b) {
  const NodeTime *x = *(NodeTime *const *)a, *y = *(NodeTime *const *)b;
  return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

static gint cmp_double(gconstpointer a, gconstpointer b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int fail_with(GError *e) {
  cli_report(e);
  g_error_free(e);
  return CLI_FAIL;
}

static gboolean run_once(MscSession *s, const MscGraph *g, MscTensor **inputs, const MscRunHooks *hooks, GError **e) {
  MscTensor **out = NULL;
  if (!msc_session_run(s, (const MscTensor *const *)inputs, g->n_inputs, &out, hooks, e)) return FALSE;
  for (uint32_t j = 0; j < g->n_outputs; j++) msc_tensor_free(out[j]);
  g_free(out);
  return TRUE;
}

/* Sorts the @n values of @v; returns their median and sets *min (nullable). */
static double sort_median(double *v, int n, double *min) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  if (min) *min = v[0];
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static gboolean runner_has_option(const MscRunnerApi *api, const char *name) {
  for (uint32_t i = 0; api && i < api->n_options; i++)
    if (!strcmp(api->options[i].name, name)) return TRUE;
  return FALSE;
}

int cmd_bench(int argc, char **argv) {
  g_autofree char *runner_arg = NULL, *against = NULL;
  g_auto(GStrv) shapes = NULL, opt_args = NULL, against_env = NULL;
  gint threads = 1, warmup = 3, iters = 20, top = 15, profile_iters = -1;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
      {"runner", 'r', 0, G_OPTION_ARG_STRING, &runner_arg, "runner plugin (default cpu)", "R"},
      {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (the runner's 'threads' option; default 1)", "N"},
      {"warmup", 'w', 0, G_OPTION_ARG_INT, &warmup, "untimed runs first (default 3)", "W"},
      {"iters", 'n', 0, G_OPTION_ARG_INT, &iters, "timed runs (default 20)", "I"},
      {"shape", 0, 0, G_OPTION_ARG_STRING_ARRAY, &shapes, "shape of an input with dynamic dims (others: 1)",
       "NAME=1x3x224x224"},
      {"option", 'O', 0, G_OPTION_ARG_STRING_ARRAY, &opt_args, "a runner option", "KEY=VALUE"},
      {"top", 0, 0, G_OPTION_ARG_INT, &top, "nodes in the per-node table (default 15, 0: none)", "K"},
      {"profile-iters", 0, 0, G_OPTION_ARG_INT, &profile_iters,
       "profiled runs for the per-node table and FLOP count (default min(iters, 5), at least 1)", "P"},
      {"json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON line (ort-bench.js keys)", NULL},
      {"cpu-time", 0, 0, G_OPTION_ARG_NONE, &use_cpu_time,
       "time with the thread's CPU time instead of wall time (1 thread; for A/B runs on a loaded machine)", NULL},
      {"against", 0, 0, G_OPTION_ARG_FILENAME, &against,
       "a second model run alternately with MODEL in the same process (e.g. its int8 form): both medians and the "
       "median of the paired time ratios MODEL2 / MODEL",
       "MODEL2"},
      {"against-env", 0, 0, G_OPTION_ARG_STRING_ARRAY, &against_env,
       "make the --against session (MODEL itself when --against is not given) with this environment variable set: "
       "an A/B of a switch the runner reads when it makes its plan",
       "VAR=VALUE"},
      {NULL}};
  g_autoptr(GOptionContext) ctx = g_option_context_new("MODEL - measure a model's latency on a runner");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!cli_parse(ctx, &argc, &argv)) return CLI_USAGE;
  const char *runner = runner_arg ? runner_arg : "cpu";
  if (argc != 2) {
    cli_error("bench: expected one MODEL (see --help)");
    return CLI_USAGE;
  }
  if (threads < 1 || threads > 256 || warmup < 0 || iters < 1 || top < 0) {
    cli_error("bench: --threads must be in 1..256, --iters >= 1, --warmup and --top >= 0");
    return CLI_USAGE;
  }
  if (use_cpu_time && threads != 1) {
    cli_error("bench: --cpu-time measures one thread: use it with --threads 1");
    return CLI_USAGE;
  }
  for (char **a = against_env; a && *a; a++)
    if (!strchr(*a, '=') || **a == '=') {
      cli_error("bench: --against-env '%s': expected VAR=VALUE", *a);
      return CLI_USAGE;
    }
  if (against_env && !against) against = g_strdup(argv[1]);
  if (profile_iters < 0) profile_iters = MIN(iters, 5);
  GError *e = NULL;
  if (!cli_init(&e)) return fail_with(e);
  g_autofree char *reg_name = g_strdup_printf("msc.runner.%s", runner);
  const MscRunnerApi *api = msc_registry_get(reg_name, MSC_REG_RUNNER, TRUE, NULL);
  if (!api) {
    cli_error("bench: no runner '%s' (see `msc plugins`)", runner);
    return CLI_FAIL;
  }
  /* runner options: threads (when the runner has it) and -O KEY=VALUE */
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GPtrArray) vals = g_ptr_array_new_with_free_func(g_free);
  if (runner_has_option(api, "threads")) {
    g_ptr_array_add(keys, g_strdup("threads"));
    g_ptr_array_add(vals, g_strdup_printf("%d", threads));
  } else if (threads != 1) {
    cli_error("bench: runner '%s' has no 'threads' option", runner);
    return CLI_USAGE;
  }
  for (char **o = opt_args; o && *o; o++) {
    const char *eq = strchr(*o, '=');
    if (!eq) {
      cli_error("bench: --option '%s': expected KEY=VALUE", *o);
      return CLI_USAGE;
    }
    g_ptr_array_add(keys, g_strndup(*o, eq - *o));
    g_ptr_array_add(vals, g_strdup(eq + 1));
  }
  MscOptions opts = {(const char *const *)keys->pdata, (const char *const *)vals->pdata, keys->len};

  g_autoptr(MscGraph) g = cli_load_model(argv[1], &e);
  if (!g) return fail_with(e);
  uint32_t ni = g->n_inputs;
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func((GDestroyNotify)msc_tensor_free);
  g_autofree MscTensor **inputs = g_new0(MscTensor *, ni ? ni : 1);
  int64_t batch = 1;
  gboolean dyn_batch = FALSE;
  GString *shape_desc = g_string_new("");
  for (uint32_t i = 0; i < ni; i++) {
    MscTensor *t = cli_random_input(g->inputs[i], (const char *const *)shapes, 12345 + i, &e);
    if (!t) {
      g_string_free(shape_desc, TRUE);
      return fail_with(e);
    }
    g_ptr_array_add(owned, t);
    inputs[i] = t;
    if (i == 0 && t->rank > 0) {
      batch = t->dims[0];
      dyn_batch = g->inputs[i]->rank > 0 && g->inputs[i]->dims[0] < 0;
    }
    g_string_append_printf(shape_desc, "%s%s=", i ? " " : "", g->inputs[i]->name);
    for (int32_t k = 0; k < t->rank; k++) g_string_append_printf(shape_desc, "%s%" G_GINT64_FORMAT, k ? "x" : "", t->dims[k]);
  }
  g_autofree char *shape_str = g_string_free(shape_desc, FALSE);
  /* FLOPs: counted on the concrete tensors of the first profiled run; this
   * static count (unknown dims as 1) is the fallback */
  double flops = (double)msc_graph_flops(g) * (dyn_batch ? (double)batch : 1.0);

  /* --against: MODEL2's session made and warmed up first (the runner's stats then describe MODEL) */
  g_autoptr(MscGraph) g2 = NULL;
  g_autofree MscTensor **inputs2 = NULL;
  MscSession *s2 = NULL;
  if (against) {
    if (!(g2 = cli_load_model(against, &e))) return fail_with(e);
    inputs2 = g_new0(MscTensor *, g2->n_inputs ? g2->n_inputs : 1);
    for (uint32_t i = 0; i < g2->n_inputs; i++) {
      if (!(inputs2[i] = cli_random_input(g2->inputs[i], (const char *const *)shapes, 12345 + i, &e))) return fail_with(e);
      g_ptr_array_add(owned, inputs2[i]);
    }
    /* --against-env: set while MODEL2's session is made and warmed up (its plan), then restored */
    g_autoptr(GPtrArray) vars = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) saved = g_ptr_array_new_with_free_func(g_free);
    for (char **a = against_env; a && *a; a++) {
      char *var = g_strndup(*a, strchr(*a, '=') - *a);
      g_ptr_array_add(vars, var);
      g_ptr_array_add(saved, g_strdup(g_getenv(var))); /* NULL: unset before */
      g_setenv(var, strchr(*a, '=') + 1, TRUE);
    }
    gboolean made = (s2 = msc_session_new(g2, runner, &opts, &e)) != NULL;
    for (int i = 0; made && i < warmup; i++) made = run_once(s2, g2, inputs2, NULL, &e);
    for (guint k = 0; k < vars->len; k++) {
      if (saved->pdata[k]) g_setenv(vars->pdata[k], saved->pdata[k], TRUE);
      else g_unsetenv(vars->pdata[k]);
    }
    if (!made) {
      if (s2) msc_session_free(s2);
      return fail_with(e);
    }
  }
  double tc = now_ms();
  MscSession *s = msc_session_new(g, runner, &opts, &e);
  if (!s) {
    if (s2) msc_session_free(s2);
    return fail_with(e);
  }
  double compile_ms = now_ms() - tc;
  double first_ms = 0;
  g_autofree double *t = g_new(double, iters), *t2 = g_new(double, iters), *ratio = g_new(double, iters);
  gboolean ok = TRUE;
  for (int i = 0; ok && i < warmup; i++) {
    double t0 = now_ms();
    ok = run_once(s, g, inputs, NULL, &e);
    if (i == 0) first_ms = now_ms() - t0;
  }
  for (int i = 0; ok && i < iters; i++) { /* with --against: A B, then B A, ... */
    for (int k = 0; ok && k < (s2 ? 2 : 1); k++) {
      const gboolean second = s2 && ((i + k) % 2 == 1);
      double t0 = now_ms();
      ok = second ? run_once(s2, g2, inputs2, NULL, &e) : run_once(s, g, inputs, NULL, &e);
      (second ? t2 : t)[i] = now_ms() - t0;
    }
    if (s2) ratio[i] = t2[i] / t[i];
  }
  if (s2) msc_session_free(s2);
  Profile prof = {g_hash_table_new_full(NULL, NULL, NULL, g_free), TRUE, 0, 0};
  MscRunHooks hooks = {profile_hook, &prof};
  int n_prof = MAX(profile_iters, 1);
  for (int i = 0; ok && i < n_prof; i++) {
    ok = run_once(s, g, inputs, &hooks, &e);
    prof.count_flops = FALSE;
  }
  if (ok && prof.flops > 0) flops = prof.flops;
  msc_session_free(s);
  if (!ok) {
    g_hash_table_destroy(prof.by_node);
    return fail_with(e);
  }
  double best, median = sort_median(t, iters, &best);
  double median2 = 0, best2 = 0, ratio_med = 0;
  if (s2) {
    median2 = sort_median(t2, iters, &best2);
    ratio_med = sort_median(ratio, iters, NULL);
  }
  const char *isa = msc_isa_detect && msc_isa_name ? msc_isa_name(msc_isa_detect()) : "unknown";
  MscCpuStats cs = {.struct_size = sizeof cs};
  MscCpuStatsFn stats_fn = NULL;
  if (!strcmp(runner, "cpu")) {
    void *fp = msc_registry_get("msc.runner.cpu.stats", MSC_REG_FUNCTION, TRUE, NULL);
    memcpy(&stats_fn, &fp, sizeof fp);
  }
  if (stats_fn) {
    stats_fn(&cs);
    isa = cs.isa;
  }
  /* this machine's FP32 FMA peak per core, measured now (thread CPU time):
   * at the ISA the runner used, for "% of peak" (x threads) */
  double peak = 0;
  if (msc_isa_fma_peak_gflops && msc_isa_detect) {
    MscIsa pi = msc_isa_detect();
    if (!strcmp(isa, "scalar")) pi = MSC_ISA_SCALAR;
    else if (!strcmp(isa, "avx2")) pi = MSC_ISA_AVX2;
    peak = msc_isa_fma_peak_gflops(pi, 0.05);
  }
  double pct = peak > 0 && flops > 0 ? 100.0 * (flops / 1e6 / median) / (peak * threads) : 0;
  if (json) {
    g_autofree char *model_esc = g_strescape(argv[1], NULL);
    printf("{\"model\":\"%s\",\"runner\":\"%s\",\"threads\":%d,\"median_ms\":%.3f,\"min_ms\":%.3f,\"iters\":%d,"
           "\"isa\":\"%s\",\"gflop\":%.3f,\"peak_gflops\":%.2f,\"pct_peak\":%.2f,\"inputs\":\"%s\"",
           model_esc, runner, threads, median, best, iters, isa, flops / 1e9, peak, pct, shape_str);
    if (s2) {
      g_autofree char *against_esc = g_strescape(against, NULL);
      printf(",\"against\":\"%s\",\"against_median_ms\":%.3f,\"against_min_ms\":%.3f,\"ratio_median\":%.4f",
             against_esc, median2, best2, ratio_med);
    }
    printf("}\n");
    g_hash_table_destroy(prof.by_node);
    return CLI_OK;
  }
  printf("model    %s\ninputs   %s\nrunner   %s, %d thread%s, ISA %s\n", argv[1], shape_str, runner, threads,
         threads > 1 ? "s" : "", isa);
  printf("compile  %.2f ms, first run %.2f ms\n", compile_ms, first_ms);
  printf("latency  median %.3f ms, min %.3f ms (%d runs after %d warm-up)\n", median, best, iters, warmup);
  if (s2) {
    g_autofree char *env_desc = against_env ? g_strjoinv(" ", against_env) : NULL;
    printf("against  %s%s%s: median %.3f ms, min %.3f ms (run alternately with MODEL); its time / MODEL's: median of "
           "the %d paired ratios %.3f, of the medians %.3f, of the mins %.3f\n",
           against, env_desc ? " with " : "", env_desc ? env_desc : "", median2, best2, iters, ratio_med,
           median2 / median, best2 / best);
  }
  printf("through  %.1f inferences/s (batch %" G_GINT64_FORMAT ")\n", 1e3 * (double)batch / median, batch);
  if (flops > 0)
    printf("compute  %.3f GFLOP per run, %.2f GFLOP/s at the median, %.2f at the min\n", flops / 1e9,
           flops / 1e6 / median, flops / 1e6 / best);
  if (peak > 0)
    printf("peak     %.1f GFLOP/s FP32 FMA per core (%s, measured now); median = %.1f%% of %d x peak\n", peak, isa,
           pct, threads);
  if (stats_fn)
    printf("plan     arena %.2f MB (lower bound %.2f MB, %.3fx; %.2f MB without reuse); %u nodes -> %u steps "
           "(%u BN folded, %u Add + %u activations fused, %u of %u convs on fast kernels, %u const-folded, %u dead)\n",
           cs.arena_bytes / 1e6, cs.lower_bound_bytes / 1e6,
           cs.lower_bound_bytes ? (double)cs.arena_bytes / cs.lower_bound_bytes : 1.0, cs.sum_bytes / 1e6, cs.n_nodes,
           cs.n_steps, cs.n_bn_folded, cs.n_add_fused, cs.n_act_fused, cs.n_fast_convs, cs.n_convs,
           cs.n_const_folded, cs.n_dead);
  if (stats_fn && cs.struct_size >= offsetof(MscCpuStats, n_pads_folded) + sizeof cs.n_pads_folded)
    printf("         %u affine chains (%u nodes), %u non-conv steps on fast kernels, %u alias-only steps, "
           "%u Concat inputs produced in place, %u channel shuffles read in place, %u Pads folded into convs\n",
           cs.n_affine_steps, cs.n_affine_nodes, cs.n_fast_ops, cs.n_alias, cs.n_concat_inplace, cs.n_shuffles_fused,
           cs.n_pads_folded);
  if (stats_fn && cs.struct_size >= offsetof(MscCpuStats, n_int8_fused_tables) + sizeof cs.n_int8_fused_tables &&
      cs.n_int8_steps > 0)
    printf("         %u int8 steps, %u activation DequantizeLinear removed, %u table steps fused into the next\n",
           cs.n_int8_steps, cs.n_int8_dq_removed, cs.n_int8_fused_tables);
  if (top > 0) {
    g_autoptr(GPtrArray) rows = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, prof.by_node);
    while (g_hash_table_iter_next(&it, &k, &v)) g_ptr_array_add(rows, v);
    g_ptr_array_sort(rows, cmp_time_desc);
    double total = 0;
    for (guint i = 0; i < rows->len; i++) total += ((NodeTime *)g_ptr_array_index(rows, i))->ms;
    printf("\nper node (mean of %d profiled runs, hooks on; %u timed steps, %.3f ms total):\n", n_prof,
           rows->len, total / n_prof);
    printf("  %9s %6s %8s  %-18s %-28s %s\n", "ms", "%", "GFLOP/s", "op", "shape", "node");
    for (guint i = 0; i < rows->len && i < (guint)top; i++) {
      NodeTime *r = g_ptr_array_index(rows, i);
      const double ms = r->ms / n_prof;
      char gf[16] = "";
      if (r->flops > 0 && ms > 0) g_snprintf(gf, sizeof gf, "%.1f", r->flops / 1e6 / ms);
      printf("  %9.3f %5.1f%% %8s  %-18s %-28s %s\n", ms, total > 0 ? 100 * r->ms / total : 0, gf,
             r->node->op_type, r->shape, r->node->name);
    }
  }
  g_hash_table_destroy(prof.by_node);
  return CLI_OK;
}
