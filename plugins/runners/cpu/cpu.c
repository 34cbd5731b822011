/* cpu.c: the `cpu` runner plugin: entry point, options, compile, contexts.
 *
 * Unlike `ref`, this runner links libmsc: the fast conv kernels
 * (ops/kernels/conv2d-plan.h) and the thread pool (core/threadpool.h) live
 * there. They are weak references, so the plugin still loads (running the
 * reference Conv kernel with its own epilogue) on a libmsc without them. */
#include <stdlib.h>
#include <string.h>

#include "cpu-internal.h"
#include "tensor.h"


const MscHostApi *cpu_host;

gboolean cpu_have_fast_conv(void) {
  return msc_conv2d_plan_create && msc_conv2d_plan_free && msc_conv2d_plan_run && msc_conv2d_plan_workspace_size &&
         msc_isa_detect && msc_isa_supported && msc_isa_name;
}

gboolean cpu_have_threadpool(void) {
  return msc_threadpool_new && msc_threadpool_free && msc_threadpool_parallel_for;
}

/* ---------------------------------------------------------------------- */
/* process-wide stats ("msc.runner.cpu.stats")                              */

static GMutex stats_lock;
static MscCpuStats stats_last;

void cpu_stats_note_compile(const CpuModel *m) {
  g_mutex_lock(&stats_lock);
  uint64_t built = stats_last.plans_built, allocs = stats_last.run_allocs;
  stats_last = m->stats;
  stats_last.plans_built = built;
  stats_last.run_allocs = allocs;
  g_mutex_unlock(&stats_lock);
}

void cpu_stats_note_plan(const CpuModel *m, const CpuShapePlan *p) {
  g_mutex_lock(&stats_lock);
  stats_last.plans_built++;
  stats_last.n_fast_convs = p->n_fast;
  stats_last.n_buffers = p->n_buffers;
  stats_last.arena_bytes = p->arena_bytes;
  stats_last.lower_bound_bytes = p->lower_bound;
  stats_last.sum_bytes = p->sum_bytes;
  stats_last.overlap_ok = p->overlap_ok;
  stats_last.n_fast_ops = p->n_fast_ops;
  stats_last.n_alias = p->n_alias;
  stats_last.n_concat_inplace = p->n_concat_inplace;
  g_mutex_unlock(&stats_lock);
}

void cpu_stats_note_run_alloc(void) {
  g_mutex_lock(&stats_lock);
  stats_last.run_allocs++;
  g_mutex_unlock(&stats_lock);
}

static void cpu_stats_get(MscCpuStats *out) {
  if (!out) return;
  uint32_t size = out->struct_size && out->struct_size < sizeof *out ? out->struct_size : sizeof *out;
  g_mutex_lock(&stats_lock);
  MscCpuStats s = stats_last;
  g_mutex_unlock(&stats_lock);
  s.struct_size = size;
  memcpy(out, &s, size);
}

/* ---------------------------------------------------------------------- */
/* options                                                                  */

static const MscOptionSpec cpu_options[] = {
    {"threads", MSC_OPT_INT, "1", "threads per context for the conv kernels (persistent pool), 1..256"},
    {"isa", MSC_OPT_STRING, "auto",
     "kernel ISA: auto (best this CPU has, lowered by MSC_ISA), scalar, avx2, avx512"},
    {"fast_conv", MSC_OPT_BOOL, "true", "use the fast conv kernels (false: reference Conv kernel + fused epilogue)"},
    {"fast_ops", MSC_OPT_BOOL, "true",
     "fast non-conv kernels (Gemm/MatMul, pools, elementwise, Concat, LRN), affine chains and alias-only ops "
     "(false: reference kernels, for checking)"},
    {"int8", MSC_OPT_BOOL, "true",
     "run QDQ groups and QLinearConv/ConvInteger/QLinearMatMul/MatMulInteger as int8 steps (false: the float "
     "simulation node by node, for checking; docs/int8.md)"},
};

static gboolean parse_bool(const char *s, gboolean *out) {
  if (!g_ascii_strcasecmp(s, "true") || !strcmp(s, "1") || !g_ascii_strcasecmp(s, "yes")) *out = TRUE;
  else if (!g_ascii_strcasecmp(s, "false") || !strcmp(s, "0") || !g_ascii_strcasecmp(s, "no")) *out = FALSE;
  else return FALSE;
  return TRUE;
}

static MscStatus parse_options(CpuModel *m, const MscOptions *o, MscMessage *msg) {
  m->threads = 1;
  const char *isa = "auto";
  gboolean fast = TRUE, fast_ops = TRUE, int8 = TRUE;
  for (uint32_t i = 0; o && i < o->n; i++) {
    const char *k = o->keys[i], *v = o->values[i] ? o->values[i] : "";
    if (!strcmp(k, "threads")) {
      char *end = NULL;
      long t = strtol(v, &end, 10);
      if (!*v || *end || t < 1 || t > 256) {
        cpu_host->message_set(msg, "option 'threads': '%s' is not an integer in 1..256", v);
        return MSC_ERR_INVALID_ARG;
      }
      m->threads = (int)t;
    } else if (!strcmp(k, "isa")) {
      isa = v;
    } else if (!strcmp(k, "fast_conv")) {
      if (!parse_bool(v, &fast)) {
        cpu_host->message_set(msg, "option 'fast_conv': '%s' is not true|false", v);
        return MSC_ERR_INVALID_ARG;
      }
    } else if (!strcmp(k, "fast_ops")) {
      if (!parse_bool(v, &fast_ops)) {
        cpu_host->message_set(msg, "option 'fast_ops': '%s' is not true|false", v);
        return MSC_ERR_INVALID_ARG;
      }
    } else if (!strcmp(k, "int8")) {
      if (!parse_bool(v, &int8)) {
        cpu_host->message_set(msg, "option 'int8': '%s' is not true|false", v);
        return MSC_ERR_INVALID_ARG;
      }
    } else {
      cpu_host->message_set(msg, "unknown option '%s' (options: threads, isa, fast_conv, fast_ops, int8)", k);
      return MSC_ERR_INVALID_ARG;
    }
  }
  int want = -1;
  if (!strcmp(isa, "scalar")) want = MSC_ISA_SCALAR;
  else if (!strcmp(isa, "avx2")) want = MSC_ISA_AVX2;
  else if (!strcmp(isa, "avx512")) want = MSC_ISA_AVX512;
  else if (strcmp(isa, "auto")) {
    cpu_host->message_set(msg, "option 'isa': '%s' not in auto|scalar|avx2|avx512", isa);
    return MSC_ERR_INVALID_ARG;
  }
  m->fast = fast && cpu_have_fast_conv();
  if (cpu_have_fast_conv()) {
    if (want >= 0 && !msc_isa_supported((MscIsa)want)) {
      cpu_host->message_set(msg, "option 'isa': this CPU cannot run %s kernels", isa);
      return MSC_ERR_UNSUPPORTED;
    }
    m->isa = want >= 0 ? (MscIsa)want : msc_isa_detect();
    g_strlcpy(m->stats.isa, m->fast ? msc_isa_name(m->isa) : "none", sizeof m->stats.isa);
  } else {
    m->isa = MSC_ISA_SCALAR;
    g_strlcpy(m->stats.isa, "none", sizeof m->stats.isa);
  }
  m->fast_ops = fast_ops;
  m->int8 = int8;
  m->kern = cpu_kernels_get(m->isa);
  return MSC_OK;
}

/* ---------------------------------------------------------------------- */
/* runner API                                                               */

void cpu_model_plans_free(CpuModel *m);

static void cpu_compiled_destroy(void *p) {
  CpuModel *m = p;
  if (!m) return;
  cpu_model_plans_free(m);
  cpu_steps_free(m);
  for (uint32_t v = 0; m->owned_konst && v < m->nv; v++) msc_tensor_free(m->owned_konst[v]);
  g_free(m->owned_konst);
  g_free(m->konst);
  g_mutex_clear(&m->lock);
  g_free(m);
}

static MscStatus cpu_compile(const MscGraph *g, const MscOptions *opts, void **out, MscMessage *msg) {
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i]->op) {
      cpu_host->message_set(msg, "node '%s' (%s): UNSUPPORTED op", g->nodes[i]->name, g->nodes[i]->op_type);
      return MSC_ERR_UNSUPPORTED;
    }
  CpuModel *m = g_new0(CpuModel, 1);
  g_mutex_init(&m->lock);
  m->g = g;
  m->nv = g->n_values;
  m->stats.struct_size = sizeof m->stats;
  m->plans = g_ptr_array_new();
  MscStatus st = parse_options(m, opts, msg);
  if (st != MSC_OK) {
    cpu_compiled_destroy(m);
    return st;
  }
  m->konst = g_new0(const MscTensor *, m->nv ? m->nv : 1);
  m->owned_konst = g_new0(MscTensor *, m->nv ? m->nv : 1);
  for (uint32_t v = 0; v < m->nv; v++)
    if (!(g->values[v]->flags & MSC_VALUE_GRAPH_INPUT)) m->konst[v] = g->values[v]->value;
  st = cpu_passes_run(m, msg);
  if (st != MSC_OK) {
    cpu_compiled_destroy(m);
    return st;
  }
  cpu_stats_note_compile(m);
  /* static input shapes: plan now, so the conv plans (packed weights) are made at compile time */
  gboolean fixed = TRUE;
  for (uint32_t i = 0; i < g->n_inputs; i++) {
    const MscValue *v = g->inputs[i];
    fixed &= v->rank >= 0 && msc_shape_numel(v->rank, v->dims) >= 0 && v->dtype != MSC_DTYPE_UNDEFINED;
  }
  if (fixed && g->n_inputs <= 64) {
    MscTensor shp[64];
    const MscTensor *ins[64];
    for (uint32_t i = 0; i < g->n_inputs; i++) {
      memset(&shp[i], 0, sizeof shp[i]);
      shp[i].dtype = g->inputs[i]->dtype;
      shp[i].rank = g->inputs[i]->rank;
      memcpy(shp[i].dims, g->inputs[i]->dims, sizeof shp[i].dims);
      ins[i] = &shp[i];
    }
    CpuShapePlan *p = cpu_shape_plan_build(m, ins, msg);
    if (!p) {
      cpu_compiled_destroy(m);
      return MSC_ERR_INVALID_ARG;
    }
    g_ptr_array_add(m->plans, p);
    cpu_stats_note_plan(m, p);
  }
  *out = m;
  return MSC_OK;
}

static void cpu_context_destroy(void *p) {
  CpuContext *x = p;
  if (!x) return;
  if (x->pool) msc_threadpool_free(x->pool);
  msc_aligned_free(x->arena);
  g_free(x->views);
  g_free(x->slot);
  if (x->dyn) g_ptr_array_free(x->dyn, TRUE);
  g_free(x);
}

static MscStatus cpu_context_create(void *compiled, void **out, MscMessage *msg) {
  CpuModel *m = compiled;
  CpuContext *x = g_new0(CpuContext, 1);
  x->m = m;
  x->views = g_new0(MscTensor, m->nv ? m->nv : 1);
  x->slot = g_new0(const MscTensor *, m->nv ? m->nv : 1);
  x->dyn = g_ptr_array_new_with_free_func((GDestroyNotify)msc_tensor_free);
  if (m->threads > 1 && cpu_have_threadpool()) {
    x->pool = msc_threadpool_new(m->threads);
    if (!x->pool) {
      cpu_context_destroy(x);
      cpu_host->message_set(msg, "cpu: cannot start %d threads", m->threads);
      return MSC_ERR_NOMEM;
    }
    x->hold = msc_threadpool_hold && cpu_q_switch_on("MSC_POOL_HOLD");
  }
  *out = x;
  return MSC_OK;
}

static MscStatus cpu_run_api(void *context, const MscTensor *const *inputs, uint32_t n_inputs, MscTensor **outputs,
                             uint32_t n_outputs, const MscRunHooks *hooks, MscMessage *msg) {
  return cpu_run(context, inputs, n_inputs, outputs, n_outputs, hooks, msg);
}

static const MscRunnerApi cpu_runner = {
    .struct_size = sizeof(MscRunnerApi),
    .name = "cpu",
    .doc = "fast CPU runner: BN folding, fused conv epilogues, int8 QDQ execution, static memory plan, threads; a "
           "fused group calls the node hook once, naming its first node (the Conv) with the group's output (int8 "
           "steps: the op node, with the 8-bit input tensors)",
    .options = cpu_options,
    .n_options = G_N_ELEMENTS(cpu_options),
    .compile = cpu_compile,
    .context_create = cpu_context_create,
    .run = cpu_run_api,
    .context_destroy = cpu_context_destroy,
    .compiled_destroy = cpu_compiled_destroy,
};

static MscStatus cpu_init(const MscHostApi *h, MscPlugin *self, MscMessage *msg) {
  cpu_host = h;
  MscStatus st =
      h->registry_add(self, "msc.runner.cpu", (void *)&cpu_runner, MSC_KIND_RUNNER, cpu_runner.doc, 0, msg);
  if (st != MSC_OK) return st;
  return h->registry_add(self, "msc.runner.cpu.stats", (void *)cpu_stats_get, MSC_KIND_FUNCTION,
                         "MscCpuStatsFn: the cpu runner's last compile and memory plan (cpu-stats.h)", 0, msg);
}

MSC_PLUGIN_DEFINE("cpu", MSC_PLUGIN_RUNNER, "0.1.0", "fast CPU runner (fused convs, memory plan, threads)", cpu_init);
