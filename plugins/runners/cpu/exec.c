/* exec.c: the `cpu` runner's run loop. Activations live in the context's
 * arena at the offsets of the shape plan; nothing is allocated per run once
 * a shape has been planned (only the outputs handed to the caller, and
 * values whose size no plan can know, e.g. NonZero). Conv steps run the
 * fast plan (fused epilogue inside) or the reference Conv kernel followed
 * by the epilogue here; every other step runs the reference op kernel
 * directly on arena buffers. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "cpu-internal.h"
#include "tensor.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline float act_apply(float v, MscActivation act, float a, float b) {
  switch (act) {
  case MSC_ACT_NONE: return v;
  case MSC_ACT_RELU: return v > 0.0f ? v : 0.0f;
  case MSC_ACT_CLIP: return fminf(fmaxf(v, a), b);
  case MSC_ACT_LEAKY_RELU: return v < 0.0f ? a * v : v;
  case MSC_ACT_HARD_SWISH: return v * fminf(fmaxf(v / 6.0f + 0.5f, 0.0f), 1.0f);
  case MSC_ACT_HARD_SIGMOID: return fminf(fmaxf(a * v + b, 0.0f), 1.0f);
  case MSC_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
  }
  return v;
}

/* y = act(y + bias[m] (+ res)) over [N, M, HW]. */
static void epilogue(float *y, const float *bias, const float *res, int64_t N, int64_t M, int64_t HW,
                     MscActivation act, float a, float b) {
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < M; c++) {
      float *p = y + (n * M + c) * HW;
      const float *r = res ? res + (n * M + c) * HW : NULL;
      float bc = bias[c];
      if (r)
        for (int64_t i = 0; i < HW; i++) p[i] += bc + r[i];
      else
        for (int64_t i = 0; i < HW; i++) p[i] += bc;
      if (act != MSC_ACT_NONE)
        for (int64_t i = 0; i < HW; i++) p[i] = act_apply(p[i], act, a, b);
    }
}

static int call_hook(const MscRunHooks *hooks, MscHookPhase ph, const MscNode *n, const MscTensor *const *in,
                     uint32_t ni, const MscTensor *const *out, uint32_t no, double ms, MscMessage *msg) {
  if (!hooks || !hooks->on_node) return 0;
  if (!hooks->on_node(hooks->user, ph, n, in, ni, out, no, ms)) return 0;
  cpu_host->message_set(msg, "node '%s' (%s): stopped by hook", n->name, n->op_type);
  return 1;
}

static CpuShapePlan *find_plan(CpuModel *m, const MscTensor *const *inputs, MscMessage *msg, MscStatus *st) {
  const MscGraph *g = m->g;
  int64_t key[256];
  uint32_t kl = 0;
  for (uint32_t i = 0; i < g->n_inputs; i++) {
    if (kl + 2 + (uint32_t)inputs[i]->rank > G_N_ELEMENTS(key)) {
      kl = UINT32_MAX;
      break;
    }
    key[kl++] = inputs[i]->dtype;
    key[kl++] = inputs[i]->rank;
    for (int32_t d = 0; d < inputs[i]->rank; d++) key[kl++] = inputs[i]->dims[d];
  }
  *st = MSC_OK;
  g_mutex_lock(&m->lock);
  CpuShapePlan *found = NULL;
  for (guint i = 0; kl != UINT32_MAX && i < m->plans->len && !found; i++) {
    CpuShapePlan *p = g_ptr_array_index(m->plans, i);
    if (p->key_len == kl && !memcmp(p->key, key, kl * sizeof *key)) found = p;
  }
  if (!found) {
    found = cpu_shape_plan_build(m, inputs, msg);
    if (found) {
      g_ptr_array_add(m->plans, found);
      cpu_stats_note_plan(m, found);
    } else {
      *st = MSC_ERR_INVALID_ARG;
    }
  }
  g_mutex_unlock(&m->lock);
  return found;
}

/* A reference op on arena buffers: infer (checks the planned dims), zero
 * the outputs (kernels may rely on it), run. */
static MscStatus run_op(CpuContext *x, const CpuShapePlan *p, const MscNode *n, const MscTensor *const *in,
                        MscTensor **out, MscMessage *msg) {
  CpuModel *m = x->m;
  MscTensor info[64];
  MscTensor *iptr[64];
  for (uint32_t j = 0; j < n->n_outputs; j++) {
    memset(&info[j], 0, sizeof info[j]);
    info[j].rank = -1;
    iptr[j] = n->outputs[j] ? &info[j] : NULL;
  }
  MscOpCtx ctx = {0};
  ctx.node = n;
  ctx.in = in;
  ctx.n_in = n->n_inputs;
  ctx.out = iptr;
  ctx.n_out = n->n_outputs;
  MscStatus st = n->op->infer(&ctx);
  if (st == MSC_OK) st = ctx.status;
  if (st != MSC_OK) goto fail;
  for (uint32_t j = 0; j < n->n_outputs; j++) {
    out[j] = NULL;
    if (!n->outputs[j]) continue;
    uint32_t v = n->outputs[j]->index;
    int64_t numel = info[j].rank >= 0 ? msc_shape_numel(info[j].rank, info[j].dims) : -1;
    if (numel < 0 || info[j].dtype == MSC_DTYPE_UNDEFINED) {
      cpu_host->message_set(msg, "node '%s' (%s): output %u shape not inferred", n->name, n->op_type, j);
      return MSC_ERR_INTERNAL;
    }
    if (p->offset[v] >= 0 && info[j].rank == p->rank[v] && info[j].dtype == p->dtype[v] &&
        !memcmp(info[j].dims, p->dims[v], sizeof(int64_t) * (size_t)info[j].rank)) {
      MscTensor *t = &x->views[v];
      t->dtype = info[j].dtype;
      t->rank = info[j].rank;
      memcpy(t->dims, info[j].dims, sizeof t->dims);
      t->data = (char *)x->arena + p->offset[v];
      t->nbytes = p->nbytes[v];
      memset(t->data, 0, t->nbytes);
      out[j] = t;
    } else {
      GError *e = NULL;
      MscTensor *t = msc_tensor_new(info[j].dtype, info[j].rank, info[j].dims, &e);
      if (!t) {
        cpu_host->message_set(msg, "node '%s' (%s): output %u: %s", n->name, n->op_type, j, e->message);
        g_error_free(e);
        return MSC_ERR_NOMEM;
      }
      g_ptr_array_add(x->dyn, t);
      cpu_stats_note_run_alloc();
      out[j] = t;
    }
  }
  (void)m;
  memset(&ctx, 0, sizeof ctx);
  ctx.node = n;
  ctx.in = in;
  ctx.n_in = n->n_inputs;
  ctx.out = out;
  ctx.n_out = n->n_outputs;
  st = n->op->run(&ctx);
  if (st == MSC_OK) st = ctx.status;
  if (st == MSC_OK) return MSC_OK;
fail:
  cpu_host->message_set(msg, "node '%s' (%s): %s", n->name, n->op_type, ctx.message[0] ? ctx.message : "failed");
  return st;
}

/* The channel shuffle of conv step @si written out, as the tensor of the
 * conv node's input value (which the fused Reshape / Transpose / Reshape
 * never produce): plane c of each image is plane msc_conv2d_shuffle_src(c)
 * of the step's x. Into the workspace's start when the plan reserved it
 * (the conv plan cannot read through the shuffle), else (hooks only: they
 * show the Conv its input) into a tensor of this run. */
static MscStatus shuffle_out(CpuContext *x, const CpuShapePlan *p, uint32_t si, MscMessage *msg) {
  const CpuStep *s = &x->m->steps[si];
  const MscTensor *src = x->slot[s->x];
  const int64_t N = s->shuffle_dims[0], C = s->shuffle_dims[1], hw = s->shuffle_dims[2] * s->shuffle_dims[3];
  MscTensor *v = &x->views[s->node->inputs[0]->index];
  if (p->xcopy_bytes[si]) {
    v->dtype = MSC_DTYPE_FLOAT32;
    v->rank = 4;
    memset(v->dims, 0, sizeof v->dims);
    memcpy(v->dims, s->shuffle_dims, sizeof s->shuffle_dims);
    v->data = (char *)x->arena + p->ws_offset[si];
    v->nbytes = (size_t)(N * C * hw) * sizeof(float);
  } else {
    GError *e = NULL;
    v = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, s->shuffle_dims, &e);
    if (!v) {
      cpu_host->message_set(msg, "node '%s' (Reshape): %s", s->shuffle_node->name, e->message);
      g_error_free(e);
      return MSC_ERR_NOMEM;
    }
    g_ptr_array_add(x->dyn, v);
    cpu_stats_note_run_alloc();
  }
  float *dst = v->data;
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      memcpy(dst + (n * C + c) * hw,
             (const float *)src->data + (n * C + msc_conv2d_shuffle_src(c, C, s->shuffle_g)) * hw,
             (size_t)hw * sizeof(float));
  x->slot[s->node->inputs[0]->index] = v;
  return MSC_OK;
}

MscStatus cpu_run_kernel(const MscNode *n, const MscTensor *const *in, uint32_t n_in, MscTensor *y, MscMessage *msg) {
  MscTensor *out[1] = {y};
  MscOpCtx ctx = {0};
  ctx.node = n;
  ctx.in = in;
  ctx.n_in = n_in;
  ctx.out = out;
  ctx.n_out = 1;
  MscStatus st = n->op->run(&ctx);
  if (st == MSC_OK) st = ctx.status;
  if (st != MSC_OK)
    cpu_host->message_set(msg, "node '%s' (%s): %s", n->name, n->op_type, ctx.message[0] ? ctx.message : "failed");
  return st;
}

static MscStatus run_conv(CpuContext *x, const CpuShapePlan *p, uint32_t si, MscTensor *y, MscMessage *msg) {
  const CpuStep *s = &x->m->steps[si];
  /* a fused channel shuffle: read through by the plan, or written out (shuffle_out) */
  const gboolean shuf_copy = s->shuffle_g && !p->shuf_direct[si];
  const MscTensor *xt = shuf_copy ? x->slot[s->node->inputs[0]->index] : x->slot[s->x];
  const MscTensor *rt = s->res >= 0 ? x->slot[s->res] : NULL;
  if (p->conv[si]) {
    msc_conv2d_plan_run(p->conv[si], xt->data, rt ? rt->data : NULL, y->data,
                        p->ws_offset[si] >= 0 ? (char *)x->arena + p->ws_offset[si] + p->xcopy_bytes[si] : NULL,
                        p->use_pool[si] ? x->pool : NULL);
    return MSC_OK;
  }
  /* reference Conv kernel on the folded weights, then the epilogue */
  const MscNode *n = s->node;
  MscTensor padded;
  if (s->pad_node) { /* a folded Pad: its output written out (the workspace's start) for the reference kernel */
    const MscNode *pn = s->pad_node;
    const MscTensor *pin[4] = {NULL};
    for (uint32_t k = 0; k < pn->n_inputs && k < 4; k++) pin[k] = pn->inputs[k] ? x->slot[pn->inputs[k]->index] : NULL;
    padded = *xt;
    padded.dims[2] += s->xpad[0] + s->xpad[2];
    padded.dims[3] += s->xpad[1] + s->xpad[3];
    padded.nbytes = (size_t)msc_shape_numel(4, padded.dims) * sizeof(float);
    padded.data = (char *)x->arena + p->ws_offset[si];
    MscStatus st = cpu_run_kernel(pn, pin, pn->n_inputs < 4 ? pn->n_inputs : 4, &padded, msg);
    if (st != MSC_OK) return st;
    xt = &padded;
  }
  const MscTensor *in[3] = {xt, s->w_t, NULL};
  memset(y->data, 0, y->nbytes);
  MscStatus st = cpu_run_kernel(n, in, n->n_inputs < 3 ? n->n_inputs : 3, y, msg);
  if (st != MSC_OK) return st;
  epilogue(y->data, s->bias, rt ? rt->data : NULL, y->dims[0], y->dims[1], y->dims[2] * y->dims[3], s->act, s->act_a,
           s->act_b);
  return MSC_OK;
}

typedef struct {
  const CpuStep *s;
  const CpuKernels *k;
  const float *x;
  float *y;
  int64_t inner, planes, chunk;
} AffineJob;

static void affine_task(void *ctx, int64_t t, int thread) {
  const AffineJob *j = ctx;
  const CpuStep *s = j->s;
  (void)thread;
  if (s->n_ch == 1) { /* one scalar pair: chunks of the whole tensor */
    int64_t i0 = t * j->chunk, i1 = MIN(j->inner, i0 + j->chunk);
    if (i0 < i1) j->k->affine_act(j->x + i0, j->y + i0, i1 - i0, s->scale[0], s->shift[0], s->act, s->act_a, s->act_b);
    return;
  }
  int64_t p0 = t * j->chunk, p1 = MIN(j->planes, p0 + j->chunk);
  for (int64_t pl = p0; pl < p1; pl++) {
    int64_t c = pl % s->n_ch;
    j->k->affine_act(j->x + pl * j->inner, j->y + pl * j->inner, j->inner, s->scale[c], s->shift[c], s->act, s->act_a,
                     s->act_b);
  }
}

static void run_affine(CpuContext *x, const CpuShapePlan *p, uint32_t si, MscTensor *y) {
  const CpuStep *s = &x->m->steps[si];
  const MscTensor *xt = x->slot[s->x];
  int64_t total = msc_tensor_numel(xt);
  AffineJob j = {s, x->m->kern, xt->data, y->data, total, 1, 1};
  MscThreadPool *tp = p->use_pool[si] ? x->pool : NULL;
  int nt = tp && msc_threadpool_size ? msc_threadpool_size(tp) : 1;
  if (s->n_ch > 1) {
    j.planes = xt->dims[0] * xt->dims[1];
    j.inner = j.planes ? total / j.planes : 0;
  }
  int64_t units = s->n_ch > 1 ? j.planes : total, want = nt > 1 ? 4 * nt : 1;
  j.chunk = MAX(1, (units + want - 1) / want);
  if (s->n_ch == 1) j.chunk = (j.chunk + 63) / 64 * 64;
  msc_threadpool_parallel_for(tp, (units + j.chunk - 1) / j.chunk, affine_task, &j);
}

/* The planned view of value @v in the arena (or, for an alias, over @src). */
static MscTensor *plan_view(CpuContext *x, const CpuShapePlan *p, uint32_t v, const MscTensor *src) {
  MscTensor *t = &x->views[v];
  t->dtype = p->dtype[v];
  t->rank = p->rank[v];
  memcpy(t->dims, p->dims[v], sizeof t->dims);
  t->data = src ? src->data : (char *)x->arena + p->offset[v];
  t->nbytes = p->nbytes[v];
  return t;
}

MscStatus cpu_run(CpuContext *x, const MscTensor *const *inputs, uint32_t n_inputs, MscTensor **outputs,
                  uint32_t n_outputs, const MscRunHooks *hooks, MscMessage *msg) {
  CpuModel *m = x->m;
  const MscGraph *g = m->g;
  for (uint32_t j = 0; j < n_outputs; j++) outputs[j] = NULL;
  if (n_inputs != g->n_inputs || n_outputs != g->n_outputs) {
    cpu_host->message_set(msg, "cpu: got %u inputs and %u outputs, graph has %u and %u", n_inputs, n_outputs,
                          g->n_inputs, g->n_outputs);
    return MSC_ERR_INVALID_ARG;
  }
  MscStatus st = MSC_OK;
  CpuShapePlan *p = find_plan(m, inputs, msg, &st);
  if (!p) return st;
  if (x->arena_size < p->arena_bytes) { /* first run of a larger shape */
    msc_aligned_free(x->arena);
    x->arena = msc_aligned_alloc0(p->arena_bytes);
    if (!x->arena) {
      x->arena_size = 0;
      cpu_host->message_set(msg, "cpu: cannot allocate the %zu-byte activation arena", p->arena_bytes);
      return MSC_ERR_NOMEM;
    }
    x->arena_size = p->arena_bytes;
  }
  for (uint32_t v = 0; v < m->nv; v++) x->slot[v] = cpu_plan_konst(m, p, v);
  for (uint32_t i = 0; i < n_inputs; i++) x->slot[g->inputs[i]->index] = inputs[i];
  const MscTensor *in_buf[64];
  MscTensor *out_buf[64];
  /* the workers spin through the serial steps of this run (no futex sleep and wake between two
   * parallel steps); released at the end */
  const gboolean hold = x->pool && x->hold;
  if (hold) msc_threadpool_hold(x->pool, TRUE);
  for (uint32_t si = 0; si < m->n_steps && st == MSC_OK; si++) {
    const CpuStep *s = &m->steps[si];
    if (p->skip[si]) continue;
    const MscNode *n = s->node;
    if (n->n_inputs > 64 || n->n_outputs > 64) {
      cpu_host->message_set(msg, "node '%s' (%s): more than 64 inputs or outputs", n->name, n->op_type);
      st = MSC_ERR_UNSUPPORTED;
      break;
    }
    uint32_t ni = n->n_inputs;
    if (s->kind == CPU_STEP_CONV && s->shuffle_g && (hooks || !p->shuf_direct[si]) &&
        (st = shuffle_out(x, p, si, msg)) != MSC_OK)
      break;
    if (s->q) { /* int8 step: its 8-bit inputs (the float ones never exist) */
      ni = s->q->n_x;
      for (uint32_t k = 0; k < ni; k++) in_buf[k] = x->slot[s->q->xs[k]];
    } else {
      for (uint32_t k = 0; k < ni; k++) in_buf[k] = n->inputs[k] ? x->slot[n->inputs[k]->index] : NULL;
    }
    /* a conv with a fused residual add shows hooks its input x only (a Conv's in[1] reads as its weights) */
    const uint32_t nh = s->q && s->q->fvadd ? 1 : ni;
    if (call_hook(hooks, MSC_HOOK_BEFORE, n, in_buf, nh, NULL, 0, 0.0, msg)) {
      st = MSC_ERR_INTERNAL;
      break;
    }
    double t0 = hooks && hooks->on_node ? now_ms() : 0;
    uint32_t no;
    if (s->kind == CPU_STEP_CONV) {
      MscTensor *y = &x->views[s->y];
      y->dtype = MSC_DTYPE_FLOAT32;
      y->rank = 4;
      memcpy(y->dims, p->dims[s->y], sizeof y->dims);
      y->data = (char *)x->arena + p->offset[s->y];
      y->nbytes = p->nbytes[s->y];
      st = run_conv(x, p, si, y, msg);
      out_buf[0] = y;
      no = 1;
      x->slot[s->y] = y;
    } else if (s->q) {
      MscTensor *y = plan_view(x, p, (uint32_t)s->y, NULL);
      st = cpu_q_run(s, p->qprep[si], in_buf, y, p->ws_offset[si] >= 0 ? (char *)x->arena + p->ws_offset[si] : NULL,
                     p->use_pool[si] ? x->pool : NULL, msg);
      out_buf[0] = y;
      no = 1;
      x->slot[s->y] = y;
    } else if (s->kind == CPU_STEP_AFFINE) {
      MscTensor *y = plan_view(x, p, (uint32_t)s->y, NULL);
      run_affine(x, p, si, y);
      out_buf[0] = y;
      no = 1;
      x->slot[s->y] = y;
    } else if (p->fast[si].kind != CPU_FAST_NONE) {
      const CpuFast *f = &p->fast[si];
      uint32_t yv = n->outputs[0]->index;
      MscTensor *y = plan_view(x, p, yv, f->kind == CPU_FAST_ALIAS ? in_buf[0] : NULL);
      cpu_fast_run(f, m->kern, x->pool, in_buf, n->n_inputs, y);
      for (uint32_t j = 0; j < n->n_outputs; j++) out_buf[j] = NULL; /* unused extra outputs (Dropout mask) */
      out_buf[0] = y;
      no = 1;
      x->slot[yv] = y;
    } else {
      st = run_op(x, p, n, in_buf, out_buf, msg);
      no = n->n_outputs;
      for (uint32_t j = 0; st == MSC_OK && j < no; j++)
        if (n->outputs[j]) x->slot[n->outputs[j]->index] = out_buf[j];
    }
    if (st != MSC_OK) break;
    double dt = hooks && hooks->on_node ? now_ms() - t0 : 0;
    if (call_hook(hooks, MSC_HOOK_AFTER, n, in_buf, nh, (const MscTensor *const *)out_buf, no, dt, msg))
      st = MSC_ERR_INTERNAL;
  }
  for (uint32_t j = 0; st == MSC_OK && j < n_outputs; j++) {
    const MscTensor *t = x->slot[g->outputs[j]->index];
    if (!t) {
      cpu_host->message_set(msg, "cpu: graph output '%s' was not computed", g->outputs[j]->name);
      st = MSC_ERR_INTERNAL;
      break;
    }
    outputs[j] = cpu_host->tensor_new(t->dtype, t->rank, t->dims);
    if (!outputs[j]) {
      st = MSC_ERR_NOMEM;
      break;
    }
    if (t->nbytes) memcpy(outputs[j]->data, t->data, t->nbytes);
  }
  if (st != MSC_OK)
    for (uint32_t j = 0; j < n_outputs; j++) {
      if (outputs[j]) cpu_host->tensor_free(outputs[j]);
      outputs[j] = NULL;
    }
  g_ptr_array_set_size(x->dyn, 0);
  if (hold) msc_threadpool_hold(x->pool, FALSE);
  return st;
}
