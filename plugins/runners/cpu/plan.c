/* plan.c: the `cpu` runner's static memory plan. For each concrete input
 * shape: propagate dims through the steps (ops' infer), fold what becomes
 * constant for that shape (Shape -> Gather -> Reshape chains), create the
 * fast conv plans (weights packed once per shape), then place every
 * activation and conv workspace in one arena, reusing memory by liveness. */
#include <stdlib.h>
#include <string.h>

#include "cpu-internal.h"
#include "error.h"
#include "graph.h"
#include "pad-utils.h"
#include "tensor.h"

#define ALIGN 64

static size_t align_up(size_t n) {
  return (n + ALIGN - 1) / ALIGN * ALIGN;
}

/* Orderings tried by the planner; the smallest arena wins. */
typedef enum { ORDER_SIZE, ORDER_FIRST, ORDER_AREA, N_ORDERS } PlanOrder;

static const CpuBuf *sort_bufs;
static PlanOrder sort_order;
static int cmp_order(const void *a, const void *b) {
  uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
  const CpuBuf *x = &sort_bufs[ia], *y = &sort_bufs[ib];
  if (sort_order == ORDER_FIRST && x->first != y->first) return x->first < y->first ? -1 : 1;
  if (sort_order == ORDER_AREA) {
    double ax = (double)x->size * (x->last - x->first + 1), ay = (double)y->size * (y->last - y->first + 1);
    if (ax != ay) return ax < ay ? 1 : -1;
  }
  if (x->size != y->size) return x->size < y->size ? 1 : -1;
  if (x->first != y->first) return x->first < y->first ? -1 : 1;
  return ia < ib ? -1 : 1;
}

static int cmp_off(const void *a, const void *b) {
  const CpuBuf *x = *(const CpuBuf *const *)a, *y = *(const CpuBuf *const *)b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* One greedy pass in @order: each buffer goes into the smallest gap
 * between buffers already placed that are live at the same time. */
static size_t place(CpuBuf *bufs, uint32_t n, const uint32_t *order, const CpuBuf **placed) {
  size_t arena = 0;
  for (uint32_t i = 0; i < n; i++) bufs[i].offset = -1;
  for (uint32_t oi = 0; oi < n; oi++) {
    CpuBuf *b = &bufs[order[oi]];
    uint32_t np = 0;
    for (uint32_t j = 0; j < oi; j++) {
      const CpuBuf *o = &bufs[order[j]];
      if (o->first <= b->last && b->first <= o->last && o->size) placed[np++] = o;
    }
    qsort(placed, np, sizeof *placed, cmp_off);
    size_t pos = 0, best = SIZE_MAX, best_gap = SIZE_MAX;
    for (uint32_t j = 0; j < np; j++) {
      size_t start = (size_t)placed[j]->offset;
      if (start > pos && start - pos >= b->size && start - pos < best_gap) {
        best = pos;
        best_gap = start - pos;
      }
      pos = MAX(pos, start + placed[j]->size);
    }
    b->offset = (int64_t)(best != SIZE_MAX ? best : pos);
    arena = MAX(arena, (size_t)b->offset + b->size);
  }
  return arena;
}

size_t cpu_plan_arena(CpuBuf *bufs, uint32_t n, size_t align, size_t *lower_bound) {
  uint32_t *order = g_new(uint32_t, n ? n : 1);
  const CpuBuf **placed = g_new(const CpuBuf *, n ? n : 1);
  int64_t *best_off = g_new(int64_t, n ? n : 1);
  int32_t max_step = 0;
  for (uint32_t i = 0; i < n; i++) {
    bufs[i].size = (bufs[i].size + align - 1) / align * align;
    max_step = MAX(max_step, bufs[i].last);
  }
  size_t arena = SIZE_MAX;
  for (PlanOrder po = 0; po < N_ORDERS; po++) {
    for (uint32_t i = 0; i < n; i++) order[i] = i;
    sort_bufs = bufs; /* qsort has no context argument in C11 */
    sort_order = po;
    qsort(order, n, sizeof *order, cmp_order);
    size_t a = place(bufs, n, order, placed);
    if (a < arena) {
      arena = a;
      for (uint32_t i = 0; i < n; i++) best_off[i] = bufs[i].offset;
    }
  }
  for (uint32_t i = 0; i < n; i++) bufs[i].offset = best_off[i];
  if (!n) arena = 0;
  if (lower_bound) {
    size_t lb = 0;
    for (int32_t t = 0; t <= max_step; t++) {
      size_t live = 0;
      for (uint32_t i = 0; i < n; i++)
        if (bufs[i].first <= t && t <= bufs[i].last) live += bufs[i].size;
      lb = MAX(lb, live);
    }
    *lower_bound = lb;
  }
  g_free(order);
  g_free(placed);
  g_free(best_off);
  return arena;
}

gboolean cpu_plan_check(const CpuBuf *bufs, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t j = i + 1; j < n; j++) {
      const CpuBuf *a = &bufs[i], *b = &bufs[j];
      if (!a->size || !b->size || a->first > b->last || b->first > a->last) continue;
      if (a->offset < b->offset + (int64_t)b->size && b->offset < a->offset + (int64_t)a->size) return FALSE;
    }
  return TRUE;
}

MscStatus cpu_conv_params(const CpuStep *s, const int64_t *xd, MscConv2dParams *p, MscMessage *msg) {
  MscOpCtx ctx = {0};
  ctx.node = s->node;
  ctx.n_in = s->node->n_inputs;
  MscWindow win;
  int64_t kernel[2] = {s->kh, s->kw};
  const int64_t *xp = s->xpad, in[2] = {xd[2] + xp[0] + xp[2], xd[3] + xp[1] + xp[3]}; /* a folded Pad's output */
  if (msc_window_from_attrs(&ctx, 2, in, kernel, 0, &win) != MSC_OK || ctx.status != MSC_OK) {
    cpu_host->message_set(msg, "node '%s' (Conv): %s", s->node->name, ctx.message);
    return ctx.status ? ctx.status : MSC_ERR_INVALID_ARG;
  }
  if (xd[1] != s->C) {
    cpu_host->message_set(msg, "node '%s' (Conv): input has %" G_GINT64_FORMAT " channels, weights want %" G_GINT64_FORMAT,
                          s->node->name, xd[1], s->C);
    return MSC_ERR_INVALID_ARG;
  }
  memset(p, 0, sizeof *p);
  p->batch = xd[0];
  p->in_channels = s->C;
  p->in_h = xd[2];
  p->in_w = xd[3];
  p->out_channels = s->M;
  p->kernel_h = s->kh;
  p->kernel_w = s->kw;
  p->stride_h = win.stride[0];
  p->stride_w = win.stride[1];
  p->dilation_h = win.dilation[0];
  p->dilation_w = win.dilation[1];
  p->pad_top = win.pads[0] + xp[0];
  p->pad_left = win.pads[1] + xp[1];
  p->pad_bottom = win.pads[2] + xp[2];
  p->pad_right = win.pads[3] + xp[3];
  p->groups = s->group;
  p->act = s->act;
  p->act_a = s->act_a;
  p->act_b = s->act_b;
  return MSC_OK;
}

void cpu_shape_plan_free(CpuShapePlan *p) {
  if (!p) return;
  g_free(p->key);
  g_free(p->rank);
  g_free(p->dims);
  g_free(p->dtype);
  g_free(p->nbytes);
  g_free(p->offset);
  g_free(p->skip);
  g_free(p->ws_offset);
  g_free(p->xcopy_bytes);
  g_free(p->shuf_direct);
  g_free(p->use_pool);
  g_free(p->shape_konst);
  g_free(p->conv);
  g_free(p->fast);
  g_free(p->qprep);
  g_free(p);
}

static void plan_free_full(CpuModel *m, CpuShapePlan *p) {
  if (!p) return;
  for (uint32_t v = 0; p->shape_konst && v < m->nv; v++) msc_tensor_free(p->shape_konst[v]);
  for (uint32_t s = 0; p->conv && s < m->n_steps; s++)
    if (p->conv[s]) msc_conv2d_plan_free(p->conv[s]);
  for (uint32_t s = 0; p->fast && s < m->n_steps; s++) cpu_fast_free(&p->fast[s]);
  for (uint32_t s = 0; p->qprep && s < m->n_steps; s++)
    if (m->steps[s].q) cpu_q_prep_free(&m->steps[s], p->qprep[s]);
  g_free(p->conv);
  p->conv = NULL;
  g_free(p->shape_konst);
  p->shape_konst = NULL;
  cpu_shape_plan_free(p);
}

/* Shape propagation through one CPU_STEP_OP (static inference with the
 * shape's concrete dims); folds the node when its inputs are all known. */
static MscStatus propagate_op(CpuModel *m, CpuShapePlan *p, uint32_t si, MscMessage *msg) {
  const MscNode *n = m->steps[si].node;
  uint32_t ni = n->n_inputs, no = n->n_outputs;
  MscTensor infos[64], oinfo[64];
  const MscTensor *in[64];
  MscTensor *out[64];
  if (ni > 64 || no > 64) {
    cpu_host->message_set(msg, "node '%s' (%s): more than 64 inputs or outputs", n->name, n->op_type);
    return MSC_ERR_UNSUPPORTED;
  }
  gboolean all_const = TRUE, all_dims = TRUE;
  for (uint32_t k = 0; k < ni; k++) {
    const MscValue *v = n->inputs[k];
    in[k] = NULL;
    if (!v) continue;
    const MscTensor *c = cpu_plan_konst(m, p, v->index);
    if (c) {
      in[k] = c;
      continue;
    }
    all_const = FALSE;
    memset(&infos[k], 0, sizeof infos[k]);
    infos[k].dtype = p->dtype[v->index];
    infos[k].rank = p->rank[v->index];
    memcpy(infos[k].dims, p->dims[v->index], sizeof infos[k].dims);
    if (infos[k].rank < 0) {
      cpu_host->message_set(msg, "node '%s' (%s): input '%s' has an unknown rank", n->name, n->op_type, v->name);
      return MSC_ERR_UNSUPPORTED;
    }
    if (msc_shape_numel(infos[k].rank, infos[k].dims) < 0) all_dims = FALSE;
    in[k] = &infos[k];
  }
  for (uint32_t j = 0; j < no; j++) {
    memset(&oinfo[j], 0, sizeof oinfo[j]);
    oinfo[j].rank = -1;
    out[j] = n->outputs[j] ? &oinfo[j] : NULL;
  }
  MscOpCtx ctx = {0};
  ctx.node = n;
  ctx.in = in;
  ctx.n_in = ni;
  ctx.out = out;
  ctx.n_out = no;
  ctx.static_infer = 1;
  MscStatus st = n->op->infer(&ctx);
  if (st == MSC_OK) st = ctx.status;
  if (st != MSC_OK) {
    cpu_host->message_set(msg, "node '%s' (%s): %s", n->name, n->op_type, ctx.message[0] ? ctx.message : "infer failed");
    return st;
  }
  int64_t total = 0;
  for (uint32_t j = 0; j < no; j++) {
    if (!out[j]) continue;
    uint32_t v = n->outputs[j]->index;
    p->dtype[v] = oinfo[j].dtype;
    p->rank[v] = oinfo[j].rank;
    memcpy(p->dims[v], oinfo[j].dims, sizeof p->dims[v]);
    int64_t e = oinfo[j].rank >= 0 ? msc_shape_numel(oinfo[j].rank, oinfo[j].dims) : -1;
    size_t es = msc_dtype_size(oinfo[j].dtype);
    p->nbytes[v] = e >= 0 && es ? (size_t)e * es : 0;
    if (e < 0 || !es) p->offset[v] = -2; /* size unknown: allocated at run time */
    total = (e < 0 || total < 0) ? -1 : total + e;
  }
  /* per-shape folding: small all-constant nodes, and dims-only ops */
  gboolean fold = !(n->op->flags & MSC_OP_NO_FOLD) && total >= 0 && total <= 65536 &&
                  (all_const || ((n->op->flags & MSC_OP_FOLD_FROM_SHAPE) && all_dims));
  if (!fold) return MSC_OK;
  MscTensor *res[64] = {0};
  gboolean ok = TRUE;
  if (all_const) {
    ok = msc_node_execute(n, in, res, NULL);
  } else {
    for (uint32_t j = 0; j < no && ok; j++)
      if (n->outputs[j]) ok = (res[j] = msc_tensor_new(oinfo[j].dtype, oinfo[j].rank, oinfo[j].dims, NULL)) != NULL;
    if (ok) {
      MscOpCtx rc = {0};
      rc.node = n;
      rc.in = in;
      rc.n_in = ni;
      rc.out = res;
      rc.n_out = no;
      ok = n->op->run(&rc) == MSC_OK && rc.status == MSC_OK;
    }
  }
  if (!ok) {
    for (uint32_t j = 0; j < no; j++) msc_tensor_free(res[j]);
    return MSC_OK; /* not foldable after all: it runs */
  }
  for (uint32_t j = 0; j < no; j++) {
    if (!n->outputs[j]) continue;
    uint32_t v = n->outputs[j]->index;
    p->shape_konst[v] = res[j];
    p->offset[v] = -1;
  }
  p->skip[si] = 1;
  return MSC_OK;
}

/* The value whose buffer holds @v (v itself when not an in-place Concat
 * member), and v's byte offset in it. */
static int32_t concat_root(const int32_t *cat_in, const int64_t *cat_off, uint32_t v, int64_t *off) {
  int32_t r = (int32_t)v;
  *off = 0;
  while (cat_in[r] >= 0) {
    *off += cat_off[r];
    r = cat_in[r];
  }
  return r;
}

/* In-place Concat. With nothing outside the concatenated axis (outer == 1:
 * batch 1 on the channel axis), input k of a Concat is bytes
 * [off_k, off_k + size_k) of its output, so a member is produced straight
 * there and the Concat copies nothing for it. A member must be float32,
 * written into its own arena buffer by the step that defines it (conv,
 * affine chain or op; not an alias view or a view's root, not an input or
 * constant), appear once in the Concat and be in no other. A Concat output
 * can itself be a member of a later Concat (DenseNet's growing chains):
 * the chain resolves to one root buffer (concat_root), live from its first
 * member's definition to the last read of any of them. @cat_in[v]: the
 * Concat output v lives in, or -1; @cat_off[v]: its byte offset there.
 * Returns the number of members placed. */
static uint32_t plan_concat_inplace(const CpuModel *m, const CpuShapePlan *p, const int32_t *alias, int32_t *cat_in,
                                    int64_t *cat_off) {
  const uint32_t nv = m->nv;
  uint32_t count = 0;
  for (uint32_t v = 0; v < nv; v++) cat_in[v] = -1;
  /* MSC_CONCAT_INPLACE=0: every Concat copies (A/B measurements) */
  if (getenv("MSC_CONCAT_INPLACE") && atoi(getenv("MSC_CONCAT_INPLACE")) == 0) return 0;
  unsigned char *viewed = g_new0(unsigned char, nv ? nv : 1);
  for (uint32_t v = 0; v < nv; v++)
    if (alias[v] >= 0) viewed[alias[v]] = 1;
  /* an output with views stays a root (the views' reads extend its buffer) */
#define OWN_BUF(v)                                                                                                   \
  (m->def[v] >= 0 && !m->konst[v] && !p->shape_konst[v] && p->offset[v] != -2 && alias[v] < 0 &&                   \
   !p->skip[m->def[v]] && p->dtype[v] == MSC_DTYPE_FLOAT32)
#define IN_ARENA(v) (OWN_BUF(v) && !viewed[v])
  for (uint32_t si = 0; si < m->n_steps; si++) {
    const CpuFast *f = &p->fast[si];
    if (p->skip[si] || f->kind != CPU_FAST_CONCAT || f->outer != 1) continue;
    const MscNode *n = m->steps[si].node;
    const uint32_t y = n->outputs[0]->index;
    if (!OWN_BUF(y)) continue;
    int64_t off = 0;
    for (uint32_t k = 0; k < n->n_inputs; k++) {
      const uint32_t v = n->inputs[k]->index;
      const size_t bytes = p->nbytes[v];
      if (!IN_ARENA(v) || cat_in[v] >= 0 || v == y) {
        off += (int64_t)bytes;
        continue;
      }
      /* the defining step writes v into its planned buffer */
      const CpuStep *d = &m->steps[m->def[v]];
      gboolean own = d->kind == CPU_STEP_OP || ((d->kind == CPU_STEP_CONV || d->kind == CPU_STEP_AFFINE) &&
                                                d->y == (int32_t)v);
      for (uint32_t j = k + 1; own && j < n->n_inputs; j++)
        own = n->inputs[j]->index != v;
      if (own && d->kind == CPU_STEP_OP && p->fast[m->def[v]].kind == CPU_FAST_ALIAS) own = FALSE;
      if (own) {
        cat_in[v] = (int32_t)y;
        cat_off[v] = off;
        count++;
      }
      off += (int64_t)bytes;
    }
  }
#undef IN_ARENA
#undef OWN_BUF
  g_free(viewed);
  return count;
}

CpuShapePlan *cpu_shape_plan_build(CpuModel *m, const MscTensor *const *inputs, MscMessage *msg) {
  const char *pf = getenv("MSC_POOL_FLOPS"); /* conv FLOPs from which a conv splits over the pool (A/B) */
  const double pool_min_flops = pf && *pf ? atof(pf) : 3e5;
  const MscGraph *g = m->g;
  CpuShapePlan *p = g_new0(CpuShapePlan, 1);
  p->pool_min_flops = pool_min_flops;
  uint32_t nv = m->nv ? m->nv : 1, ns = m->n_steps ? m->n_steps : 1;
  p->key_len = 0;
  for (uint32_t i = 0; i < g->n_inputs; i++) p->key_len += 2 + (uint32_t)inputs[i]->rank;
  p->key = g_new(int64_t, p->key_len ? p->key_len : 1);
  for (uint32_t i = 0, k = 0; i < g->n_inputs; i++) {
    p->key[k++] = inputs[i]->dtype;
    p->key[k++] = inputs[i]->rank;
    for (int32_t d = 0; d < inputs[i]->rank; d++) p->key[k++] = inputs[i]->dims[d];
  }
  p->rank = g_new(int32_t, nv);
  p->dims = g_malloc0_n(nv, sizeof *p->dims);
  p->dtype = g_new0(MscDType, nv);
  p->nbytes = g_new0(size_t, nv);
  p->offset = g_new(int64_t, nv);
  p->shape_konst = g_new0(MscTensor *, nv);
  p->skip = g_new0(unsigned char, ns);
  p->conv = g_new0(MscConv2dPlan *, ns);
  p->ws_offset = g_new0(int64_t, ns);
  p->xcopy_bytes = g_new0(size_t, ns);
  p->shuf_direct = g_new0(unsigned char, ns);
  p->use_pool = g_new0(unsigned char, ns);
  p->fast = g_new0(CpuFast, ns);
  p->qprep = g_new0(void *, ns);
  size_t *ws = g_new0(size_t, ns);
  for (uint32_t v = 0; v < m->nv; v++) {
    const MscValue *val = g->values[v];
    const MscTensor *c = m->konst[v];
    p->offset[v] = -1;
    p->rank[v] = c ? c->rank : val->rank;
    p->dtype[v] = c ? c->dtype : val->dtype;
    memcpy(p->dims[v], c ? c->dims : val->dims, sizeof p->dims[v]);
  }
  for (uint32_t i = 0; i < g->n_inputs; i++) {
    uint32_t v = g->inputs[i]->index;
    p->rank[v] = inputs[i]->rank;
    p->dtype[v] = inputs[i]->dtype;
    memcpy(p->dims[v], inputs[i]->dims, sizeof p->dims[v]);
  }
  MscStatus st = MSC_OK;
  for (uint32_t si = 0; si < m->n_steps && st == MSC_OK; si++) {
    CpuStep *s = &m->steps[si];
    if (s->kind == CPU_STEP_OP) {
      st = propagate_op(m, p, si, msg);
      if (st == MSC_OK) cpu_fast_prepare(m, p, si);
      if (p->fast[si].kind == CPU_FAST_ALIAS) p->n_alias++;
      else if (p->fast[si].kind != CPU_FAST_NONE) p->n_fast_ops++;
      continue;
    }
    if (s->kind == CPU_STEP_QCONV || s->kind == CPU_STEP_QOP) {
      st = cpu_q_prepare(m, p, si, &ws[si], msg);
      if (st == MSC_OK && s->kind == CPU_STEP_QCONV && !s->q->gemm) p->n_fast++;
      continue;
    }
    if (s->kind == CPU_STEP_AFFINE) {
      int64_t e = p->rank[s->x] >= 0 ? msc_shape_numel(p->rank[s->x], p->dims[s->x]) : -1;
      if (e < 0 || p->dtype[s->x] != MSC_DTYPE_FLOAT32 ||
          (s->n_ch > 1 && (p->rank[s->x] < 2 || p->dims[s->x][1] != s->n_ch))) {
        cpu_host->message_set(msg, "node '%s' (%s): input shape does not fit the per-channel parameters",
                              s->node->name, s->node->op_type);
        st = MSC_ERR_INVALID_ARG;
        break;
      }
      p->rank[s->y] = p->rank[s->x];
      p->dtype[s->y] = MSC_DTYPE_FLOAT32;
      memcpy(p->dims[s->y], p->dims[s->x], sizeof p->dims[s->y]);
      p->nbytes[s->y] = (size_t)e * sizeof(float);
      p->use_pool[si] = e >= 262144;
      continue;
    }
    MscConv2dParams cp;
    if (p->rank[s->x] != 4) {
      cpu_host->message_set(msg, "node '%s' (Conv): input rank %d, expected 4", s->node->name, p->rank[s->x]);
      st = MSC_ERR_INVALID_ARG;
      break;
    }
    if (s->shuffle_g && memcmp(p->dims[s->x], s->shuffle_dims, sizeof s->shuffle_dims)) {
      const int64_t *d = p->dims[s->x], *e = s->shuffle_dims;
      cpu_host->message_set(msg,
                            "node '%s' (Reshape): channel shuffle of a [%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                            ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "] input, the model's shapes want [%" G_GINT64_FORMAT
                            ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "]",
                            s->shuffle_node->name, d[0], d[1], d[2], d[3], e[0], e[1], e[2], e[3]);
      st = MSC_ERR_INVALID_ARG;
      break;
    }
    st = cpu_conv_params(s, p->dims[s->x], &cp, msg);
    if (st != MSC_OK) break;
    int64_t od[4] = {cp.batch, cp.out_channels,
                     (cp.in_h + cp.pad_top + cp.pad_bottom - ((cp.kernel_h - 1) * cp.dilation_h + 1)) / cp.stride_h + 1,
                     (cp.in_w + cp.pad_left + cp.pad_right - ((cp.kernel_w - 1) * cp.dilation_w + 1)) / cp.stride_w + 1};
    if (s->res >= 0 && (p->rank[s->res] != 4 || memcmp(p->dims[s->res], od, sizeof od))) {
      cpu_host->message_set(msg, "node '%s' (Add): fused residual shape differs from the conv output", s->last->name);
      st = MSC_ERR_UNSUPPORTED;
      break;
    }
    p->rank[s->y] = 4;
    p->dtype[s->y] = MSC_DTYPE_FLOAT32;
    memcpy(p->dims[s->y], od, sizeof od);
    p->nbytes[s->y] = (size_t)(od[0] * od[1] * od[2] * od[3]) * sizeof(float);
    /* waking the pool costs more than tiny convs take. The pool's workers
     * spin briefly between jobs and the caller claims tasks too, so the
     * bar is low: 3e5 FLOPs instead of 2e6 ran the zoo's resnet_mini and
     * mobilenet_mini at 2 threads in 0.77x the time, PP-OCR cls 0.83-0.87x,
     * ShuffleNet 0.84-0.91x, DenseNet / inception 0.90-0.99x (alternated,
     * AVX2, msc bench); 1e5 was mixed (resnet_mini 0.89-1.10).
     * MSC_POOL_FLOPS overrides it (A/B). */
    double flops = 2.0 * (double)(od[0] * od[1] * od[2] * od[3]) * (double)(s->C / s->group * s->kh * s->kw);
    p->use_pool[si] = flops >= pool_min_flops;
    if (m->fast && cp.batch > 0 && od[2] > 0 && od[3] > 0) {
      GError *e = NULL;
      p->conv[si] = msc_conv2d_plan_create(&cp, s->w, s->bias, m->isa, &e);
      if (!p->conv[si]) {
        cpu_host->log(MSC_LOG_DEBUG, "cpu", "node '%s': reference conv kernel (%s)", s->node->name,
                      e ? e->message : "no plan");
      } else {
        ws[si] = msc_conv2d_plan_workspace_size(p->conv[si]);
        p->n_fast++;
        p->shuf_direct[si] = s->shuffle_g && msc_conv2d_plan_set_input_shuffle &&
                             msc_conv2d_plan_set_input_shuffle(p->conv[si], s->shuffle_g);
      }
      g_clear_error(&e);
    }
    if (s->shuffle_g && !p->shuf_direct[si]) { /* room for the shuffled input when the plan cannot read through it */
      p->xcopy_bytes[si] = ((size_t)(cp.batch * cp.in_channels * cp.in_h * cp.in_w) * sizeof(float) + 63) & ~(size_t)63;
      ws[si] += p->xcopy_bytes[si];
    } else if (s->pad_node && !p->conv[si]) { /* the reference kernel reads the Pad's output: room for it */
      const int64_t *xp = s->xpad;
      p->xcopy_bytes[si] = ((size_t)(cp.batch * cp.in_channels * (cp.in_h + xp[0] + xp[2]) * (cp.in_w + xp[1] + xp[3])) *
                                sizeof(float) + 63) & ~(size_t)63;
      ws[si] += p->xcopy_bytes[si];
    }
  }
  if (st != MSC_OK) {
    g_free(ws);
    plan_free_full(m, p);
    return NULL;
  }
  /* the arena: every produced, non-constant value with a known size, plus workspaces */
  CpuBuf *bufs = g_new0(CpuBuf, m->nv + m->n_steps + 1);
  int32_t *buf_of = g_new(int32_t, nv); /* value -> buffer */
  uint32_t nb = 0;
  /* alias steps: the output shares its input's storage (root of the chain) */
  int32_t *alias = g_new(int32_t, nv);
  for (uint32_t v = 0; v < nv; v++) alias[v] = -1;
  for (uint32_t si = 0; si < m->n_steps; si++) {
    if (p->fast[si].kind != CPU_FAST_ALIAS) continue;
    uint32_t in = m->steps[si].node->inputs[0]->index, out = m->steps[si].node->outputs[0]->index;
    alias[out] = alias[in] >= 0 ? alias[in] : (int32_t)in;
  }
  /* in-place Concat: members produced straight into the output's storage */
  int32_t *cat_in = g_new(int32_t, nv);
  int64_t *cat_off = g_new0(int64_t, nv);
  p->n_concat_inplace = plan_concat_inplace(m, p, alias, cat_in, cat_off);
  for (uint32_t v = 0; v < m->nv; v++) {
    buf_of[v] = -1;
    if (alias[v] >= 0) {
      p->offset[v] = -3;
      continue;
    }
    if (cat_in[v] >= 0) continue; /* lives in its Concat's buffer (offset set below) */
    if (m->def[v] < 0 || m->konst[v] || p->shape_konst[v] || p->offset[v] == -2) continue;
    if (p->skip[m->def[v]]) continue;
    bufs[nb].size = p->nbytes[v];
    bufs[nb].first = m->def[v];
    bufs[nb].last = m->last[v];
    buf_of[v] = (int32_t)nb++;
  }
  for (uint32_t v = 0; v < m->nv; v++) /* a root lives as long as its views */
    if (alias[v] >= 0 && buf_of[alias[v]] >= 0)
      bufs[buf_of[alias[v]]].last = MAX(bufs[buf_of[alias[v]]].last, m->last[v]);
  for (uint32_t v = 0; v < m->nv; v++) { /* a Concat's buffer lives over its members' lifetimes */
    if (cat_in[v] < 0) continue;
    int64_t off;
    CpuBuf *b = &bufs[buf_of[concat_root(cat_in, cat_off, v, &off)]];
    b->first = MIN(b->first, m->def[v]);
    b->last = MAX(b->last, m->last[v]);
  }
  g_free(alias);
  int32_t *buf_of_ws = g_new(int32_t, ns);
  for (uint32_t si = 0; si < m->n_steps; si++) {
    buf_of_ws[si] = -1;
    if (!ws[si]) continue;
    bufs[nb].size = ws[si];
    bufs[nb].first = bufs[nb].last = (int32_t)si;
    buf_of_ws[si] = (int32_t)nb++;
  }
  for (uint32_t i = 0; i < nb; i++) p->sum_bytes += align_up(bufs[i].size);
  p->arena_bytes = cpu_plan_arena(bufs, nb, ALIGN, &p->lower_bound);
  p->overlap_ok = cpu_plan_check(bufs, nb);
  p->n_buffers = nb;
  for (uint32_t v = 0; v < m->nv; v++)
    if (buf_of[v] >= 0) p->offset[v] = bufs[buf_of[v]].offset;
  for (uint32_t v = 0; v < m->nv; v++) {
    if (cat_in[v] < 0) continue;
    int64_t off;
    int32_t r = concat_root(cat_in, cat_off, v, &off);
    p->offset[v] = p->offset[r] + off;
  }
  g_free(cat_in);
  g_free(cat_off);
  for (uint32_t si = 0; si < m->n_steps; si++) p->ws_offset[si] = buf_of_ws[si] >= 0 ? bufs[buf_of_ws[si]].offset : -1;
  g_free(bufs);
  g_free(buf_of);
  g_free(buf_of_ws);
  g_free(ws);
  cpu_host->log(MSC_LOG_INFO, "cpu",
                "%s: memory plan: arena %.2f MB (lower bound %.2f MB, %.3fx; %.2f MB without reuse), %u buffers, "
                "%u of %u convs on fast kernels",
                g->name ? g->name : "graph", p->arena_bytes / 1e6, p->lower_bound / 1e6,
                p->lower_bound ? (double)p->arena_bytes / p->lower_bound : 1.0, p->sum_bytes / 1e6, p->n_buffers,
                p->n_fast, m->stats.n_convs);
  return p;
}

void cpu_model_plans_free(CpuModel *m);
void cpu_model_plans_free(CpuModel *m) {
  for (guint i = 0; m->plans && i < m->plans->len; i++) plan_free_full(m, g_ptr_array_index(m->plans, i));
  if (m->plans) g_ptr_array_free(m->plans, TRUE);
  m->plans = NULL;
}
