/* fastops.c: the `cpu` runner's fast paths for the non-conv ops, chosen per
 * step when a shape is planned (cpu_fast_prepare) and run on arena buffers
 * (cpu_fast_run): Gemm/MatMul with constant B (packed once into
 * CPU_GEMM_NR-column panels, alpha and beta*C folded), Max/AveragePool 2-D,
 * global pools, elementwise Add/Sub/Mul/Div (same shape, scalar or
 * per-plane broadcast), Concat (plain copies), LRN, Transpose keeping the
 * innermost axes (block copies) or swapping two axis groups (batched 2-D
 * transposes), linear / cubic Resize (ops/resize-planes.h over the pool),
 * and the alias-only ops
 * (Identity, Dropout, Reshape, Flatten, Squeeze, Unsqueeze: the output is a
 * view of the input's buffer). Anything else, or any case these do not
 * cover, runs the reference kernel. Work splits over the context's pool
 * only past a size threshold (waking the pool costs more than tiny ops). */
#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "cpu-internal.h"
#include "pad-utils.h"
#include "resize-planes.h"
#include "tensor.h"

/* elements (or multiply-adds) below which an op runs on the caller alone */
#define POOL_MIN_WORK 65536

static gboolean is_op(const MscNode *n, const char *type) {
  return n->domain[0] == '\0' && !strcmp(n->op_type, type);
}

static const MscAttr *find_attr(const MscNode *n, const char *name) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
  return NULL;
}

static int64_t attr_int(const MscNode *n, const char *name, int64_t dflt) {
  const MscAttr *a = find_attr(n, name);
  return a && a->type == MSC_ATTR_INT ? a->i : dflt;
}

static float attr_float(const MscNode *n, const char *name, float dflt) {
  const MscAttr *a = find_attr(n, name);
  return a && a->type == MSC_ATTR_FLOAT ? a->f : dflt;
}

static const MscTensor *konst_of(const CpuModel *m, const CpuShapePlan *p, const MscValue *v) {
  if (!v) return NULL;
  return cpu_plan_konst(m, p, v->index);
}

/* A planned value with concrete dims of @dt (UNDEFINED: any dtype). */
static gboolean known(const CpuShapePlan *p, const MscValue *v, MscDType dt) {
  return v && p->rank[v->index] >= 0 && msc_shape_numel(p->rank[v->index], p->dims[v->index]) >= 0 &&
         (dt == MSC_DTYPE_UNDEFINED || p->dtype[v->index] == dt);
}

static int64_t numel_of(const CpuShapePlan *p, uint32_t v) {
  return msc_shape_numel(p->rank[v], p->dims[v]);
}

/* ---------------------------------------------------------------------- */
/* preparation                                                             */

static gboolean prep_pool(CpuModel *m, CpuShapePlan *p, const MscNode *n, CpuFast *f) {
  gboolean mx = is_op(n, "MaxPool"), avg = is_op(n, "AveragePool");
  gboolean gmax = is_op(n, "GlobalMaxPool"), gavg = is_op(n, "GlobalAveragePool");
  if (!mx && !avg && !gmax && !gavg) return FALSE;
  if (n->n_inputs != 1 || !known(p, n->inputs[0], MSC_DTYPE_FLOAT32)) return FALSE;
  for (uint32_t j = 1; j < n->n_outputs; j++)
    if (n->outputs[j]) return FALSE; /* MaxPool Indices */
  uint32_t xv = n->inputs[0]->index, yv = n->outputs[0]->index;
  const int64_t *xd = p->dims[xv], *yd = p->dims[yv];
  if (gmax || gavg) {
    if (p->rank[xv] < 3) return FALSE;
    f->kind = CPU_FAST_GPOOL;
    f->gmax = gmax;
    f->planes = xd[0] * xd[1];
    f->inner = msc_shape_numel(p->rank[xv] - 2, xd + 2);
    f->use_pool = f->planes * f->inner >= POOL_MIN_WORK && f->planes > 1;
    return TRUE;
  }
  if (p->rank[xv] != 4 || p->rank[yv] != 4) return FALSE;
  MscOpCtx ctx = {0};
  ctx.node = n;
  ctx.n_in = 1;
  MscWindow win;
  if (msc_window_from_attrs(&ctx, 2, xd + 2, NULL, 1, &win) != MSC_OK || ctx.status != MSC_OK) return FALSE;
  if (win.out[0] != yd[2] || win.out[1] != yd[3]) return FALSE;
  CpuPool2d *g = &f->pool;
  g->H = xd[2];
  g->W = xd[3];
  g->OH = yd[2];
  g->OW = yd[3];
  g->kh = win.kernel[0];
  g->kw = win.kernel[1];
  g->sh = win.stride[0];
  g->sw = win.stride[1];
  g->dh = win.dilation[0];
  g->dw = win.dilation[1];
  g->pt = win.pads[0];
  g->pl = win.pads[1];
  g->pb = win.pads[2];
  g->pr = win.pads[3];
  g->avg = avg;
  g->count_include_pad = avg && n->opset >= 7 ? (int)attr_int(n, "count_include_pad", 0) : 0;
  int64_t end = (g->OW - 1) * g->sw + (g->kw - 1) * g->dw + 1;
  /* + 1 pad column: the stride-2 vector picks read 2 VL floats for VL
   * even (or odd) ones, one past the last window's end */
  g->tmp_w = MAX(end, g->pl + g->W) + 1;
  if (g->tmp_w > CPU_POOL_TMP_MAX) return FALSE;
  f->kind = CPU_FAST_POOL;
  f->planes = xd[0] * xd[1];
  f->use_pool = f->planes > 1 && f->planes * g->OH * g->OW * g->kh * g->kw >= POOL_MIN_WORK;
  (void)m;
  return TRUE;
}

/* Gemm (transA=0) or 2-D MatMul with a constant B: packs alpha*B into
 * panels and folds beta*C into a per-column bias. */
static gboolean prep_gemm(CpuModel *m, CpuShapePlan *p, const MscNode *n, CpuFast *f) {
  gboolean gemm = is_op(n, "Gemm"), mm = is_op(n, "MatMul");
  if (!gemm && !mm) return FALSE;
  if (n->n_inputs < 2 || !known(p, n->inputs[0], MSC_DTYPE_FLOAT32) || n->n_outputs != 1) return FALSE;
  const MscTensor *B = konst_of(m, p, n->inputs[1]);
  if (!B || B->dtype != MSC_DTYPE_FLOAT32 || B->rank != 2) return FALSE;
  uint32_t av = n->inputs[0]->index, yv = n->outputs[0]->index;
  int32_t ar = p->rank[av];
  float alpha = 1.0f, beta = 1.0f;
  int64_t tb = 0;
  if (gemm) {
    if (ar != 2 || attr_int(n, "transA", 0)) return FALSE;
    if (n->opset < 7 && attr_int(n, "broadcast", 0) == 0 && n->n_inputs > 2) return FALSE;
    alpha = attr_float(n, "alpha", 1.0f);
    beta = attr_float(n, "beta", 1.0f);
    tb = attr_int(n, "transB", 0);
  } else if (ar < 2) {
    return FALSE;
  }
  int64_t K = p->dims[av][ar - 1], M = msc_shape_numel(ar - 1, p->dims[av]);
  int64_t Kb = tb ? B->dims[1] : B->dims[0], N = tb ? B->dims[0] : B->dims[1];
  if (Kb != K || K < 1 || N < 1 || M < 1) return FALSE;
  if (numel_of(p, yv) != M * N) return FALSE;
  const float *C = NULL;
  int64_t cn = 0;
  if (gemm && n->n_inputs > 2 && n->inputs[2]) {
    const MscTensor *ct = konst_of(m, p, n->inputs[2]);
    if (!ct || ct->dtype != MSC_DTYPE_FLOAT32) return FALSE;
    cn = msc_tensor_numel(ct);
    /* [N], [1, N] or a scalar: the same bias for every row */
    if (!(cn == 1 || (cn == N && ct->dims[ct->rank - 1] == N))) return FALSE;
    C = ct->data;
  }
  int64_t panels = (N + CPU_GEMM_NR - 1) / CPU_GEMM_NR;
  f->bp = msc_aligned_alloc0((size_t)(panels * K * CPU_GEMM_NR) * sizeof(float));
  f->bias = msc_aligned_alloc0((size_t)(panels * CPU_GEMM_NR) * sizeof(float));
  if (!f->bp || !f->bias) {
    msc_aligned_free(f->bp);
    msc_aligned_free(f->bias);
    f->bp = f->bias = NULL;
    return FALSE;
  }
  const float *b = B->data;
  for (int64_t pn = 0; pn < panels; pn++)
    for (int64_t k = 0; k < K; k++) {
      float *dst = f->bp + (pn * K + k) * CPU_GEMM_NR;
      for (int64_t j = 0; j < CPU_GEMM_NR; j++) {
        int64_t col = pn * CPU_GEMM_NR + j;
        if (col >= N) break;
        float v = tb ? b[col * K + k] : b[k * N + col];
        dst[j] = alpha == 1.0f ? v : alpha * v;
      }
    }
  for (int64_t j = 0; j < N && C; j++) f->bias[j] = beta * C[cn == 1 ? 0 : j];
  f->kind = CPU_FAST_GEMM;
  f->M = M;
  f->K = K;
  f->N = N;
  f->panels = panels;
  f->has_bias = C != NULL;
  f->use_pool = M * N * K >= POOL_MIN_WORK;
  return TRUE;
}

/* Right-aligned dims of @v padded to rank @r with 1s. */
static void aligned_dims(const CpuShapePlan *p, uint32_t v, int32_t r, int64_t *d) {
  int32_t vr = p->rank[v];
  for (int32_t i = 0; i < r; i++) d[i] = i - (r - vr) >= 0 ? p->dims[v][i - (r - vr)] : 1;
}

/* Operand @o of an output of dims @yd (rank r): the same shape, or one
 * value per "plane" (dims after some axis k all 1). Returns the split axis
 * k+1 (r for the same shape), -1 when neither. */
static int32_t bcast_split(const CpuShapePlan *p, uint32_t o, const int64_t *yd, int32_t r, int64_t *ostride) {
  int64_t d[MSC_MAX_RANK];
  aligned_dims(p, o, r, d);
  int32_t k = r;
  while (k > 0 && d[k - 1] == 1) k--;
  for (int32_t i = 0; i < k; i++)
    if (d[i] != yd[i] && d[i] != 1) return -1;
  int64_t st = 1;
  for (int32_t i = k - 1; i >= 0; i--) {
    ostride[i] = d[i] == 1 ? 0 : st;
    st *= d[i];
  }
  return k;
}

static gboolean prep_binary(CpuModel *m, CpuShapePlan *p, const MscNode *n, CpuFast *f) {
  CpuBinOp op;
  if (is_op(n, "Add")) op = CPU_BIN_ADD;
  else if (is_op(n, "Sub")) op = CPU_BIN_SUB;
  else if (is_op(n, "Mul")) op = CPU_BIN_MUL;
  else if (is_op(n, "Div")) op = CPU_BIN_DIV;
  else return FALSE;
  if (n->opset < 7 || n->n_inputs != 2 || n->n_outputs != 1) return FALSE;
  if (!known(p, n->inputs[0], MSC_DTYPE_FLOAT32) || !known(p, n->inputs[1], MSC_DTYPE_FLOAT32)) return FALSE;
  uint32_t a = n->inputs[0]->index, b = n->inputs[1]->index, y = n->outputs[0]->index;
  int32_t r = p->rank[y];
  const int64_t *yd = p->dims[y];
  int64_t total = numel_of(p, y);
  f->op = op;
  f->total = total;
  if (numel_of(p, a) == total && numel_of(p, b) == total) {
    f->bmode = CPU_BMODE_SAME;
  } else if (numel_of(p, b) == 1 && numel_of(p, a) == total) {
    f->bmode = CPU_BMODE_B_SCALAR;
  } else if (numel_of(p, a) == 1 && numel_of(p, b) == total) {
    f->bmode = CPU_BMODE_A_SCALAR;
  } else {
    /* one side full, the other per plane */
    int full = numel_of(p, a) == total ? 0 : numel_of(p, b) == total ? 1 : -1;
    if (full < 0 || r > MSC_MAX_RANK) return FALSE;
    int32_t k = bcast_split(p, full ? a : b, yd, r, f->ostride);
    if (k <= 0 || k >= r) return FALSE;
    f->bmode = full ? CPU_BMODE_A_PLANE : CPU_BMODE_B_PLANE;
    f->split = k;
    f->planes = msc_shape_numel(k, yd);
    f->inner = total / MAX(f->planes, 1);
    memcpy(f->ydims, yd, sizeof f->ydims);
  }
  f->kind = CPU_FAST_BINARY;
  f->use_pool = total >= 4 * POOL_MIN_WORK;
  (void)m;
  return TRUE;
}

static gboolean prep_concat(CpuModel *m, CpuShapePlan *p, const MscNode *n, CpuFast *f) {
  if (!is_op(n, "Concat") || n->n_outputs != 1 || n->n_inputs < 1) return FALSE;
  uint32_t y = n->outputs[0]->index;
  int32_t r = p->rank[y];
  int64_t axis = attr_int(n, "axis", n->opset < 4 ? 1 : G_MININT64);
  if (r < 1 || axis == G_MININT64) return FALSE;
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return FALSE;
  for (uint32_t k = 0; k < n->n_inputs; k++)
    if (!known(p, n->inputs[k], p->dtype[y]) || p->rank[n->inputs[k]->index] != r) return FALSE;
  f->kind = CPU_FAST_CONCAT;
  f->outer = msc_shape_numel((int32_t)axis, p->dims[y]);
  f->esize = (int64_t)msc_dtype_size(p->dtype[y]);
  (void)m;
  return f->esize > 0;
}

static gboolean prep_lrn(CpuModel *m, CpuShapePlan *p, const MscNode *n, CpuFast *f) {
  if (!is_op(n, "LRN") || n->n_inputs != 1 || !known(p, n->inputs[0], MSC_DTYPE_FLOAT32)) return FALSE;
  uint32_t x = n->inputs[0]->index;
  int64_t size = attr_int(n, "size", -1);
  if (p->rank[x] < 2 || size < 1) return FALSE;
  f->kind = CPU_FAST_LRN;
  f->lrn_size = size;
  f->alpha = attr_float(n, "alpha", 1e-4f);
  f->beta = attr_float(n, "beta", 0.75f);
  f->lbias = attr_float(n, "bias", 1.0f);
  f->planes = p->dims[x][0];
  f->C = p->dims[x][1];
  f->inner = msc_shape_numel(p->rank[x] - 2, p->dims[x] + 2);
  f->use_pool = f->planes * f->C * f->inner >= POOL_MIN_WORK;
  (void)m;
  return TRUE;
}

/* perm = (0..k-1, g..r-1, k..g-1): the input as [planes][R][C] (R: axes k..g-1, C: axes g..r-1), the
 * output [planes][C][R] (NHWC -> NCHW: R = H W, C = channels; NCHW -> NHWC: R = channels, C = H W). */
static gboolean prep_transpose2(CpuShapePlan *p, const int64_t *perm, int32_t r, uint32_t x, uint32_t y, CpuFast *f) {
  int32_t k = 0;
  while (k < r && perm[k] == k) k++;
  if (k >= r - 1) return FALSE;
  const int64_t g = perm[k];
  if (g <= k || g >= r) return FALSE;
  for (int32_t i = k; i < r; i++)
    if (perm[i] != (i - k < r - g ? g + (i - k) : k + (i - k) - (r - g))) return FALSE;
  f->kind = CPU_FAST_TRANSPOSE2;
  f->planes = 1, f->M = 1, f->N = 1;
  for (int32_t i = 0; i < k; i++) f->planes *= p->dims[x][i];
  for (int32_t i = k; i < g; i++) f->M *= p->dims[x][i];
  for (int32_t i = (int32_t)g; i < r; i++) f->N *= p->dims[x][i];
  f->esize = (int64_t)msc_dtype_size(p->dtype[y]);
  f->use_pool = f->planes * f->M * f->N >= POOL_MIN_WORK;
  return f->esize == 1 || f->esize == 2 || f->esize == 4 || f->esize == 8;
}

/* Transpose whose last axes stay in place (perm ends with r-t .. r-1,
 * t >= 1: ShuffleNet's channel shuffle [N, g, C/g, H, W] -> [N, C/g, g,
 * H, W]): the output is blocks of `inner` contiguous input elements, one
 * memcpy each, in output order. f->split outer output axes with ydims /
 * ostride (input stride of each, in elements), f->planes blocks. A permuted
 * last axis: prep_transpose2 when it swaps two axis groups, else the
 * reference strided copy. */
static gboolean prep_transpose(CpuModel *m, CpuShapePlan *p, const MscNode *n, CpuFast *f) {
  if (!is_op(n, "Transpose") || n->n_inputs != 1 || n->n_outputs != 1 || !n->inputs[0]) return FALSE;
  uint32_t x = n->inputs[0]->index, y = n->outputs[0]->index;
  int32_t r = p->rank[x];
  if (!known(p, n->inputs[0], p->dtype[y]) || r < 1 || r > MSC_MAX_RANK || p->rank[y] != r) return FALSE;
  int64_t perm[MSC_MAX_RANK];
  const MscAttr *a = find_attr(n, "perm");
  if (a) {
    if (a->type != MSC_ATTR_INTS || (int64_t)a->n != r) return FALSE;
    for (int32_t k = 0; k < r; k++) perm[k] = a->ints[k];
  } else {
    for (int32_t k = 0; k < r; k++) perm[k] = r - 1 - k;
  }
  int32_t split = r; /* output axes [split, r) are input axes [split, r) */
  while (split > 0 && perm[split - 1] == split - 1) split--;
  if (split == r) return prep_transpose2(p, perm, r, x, y, f); /* last axis permuted */
  int64_t xstr[MSC_MAX_RANK];
  msc_shape_strides(r, p->dims[x], xstr);
  f->kind = CPU_FAST_TRANSPOSE;
  f->split = split;
  f->inner = split > 0 ? xstr[split - 1] : numel_of(p, x);
  f->planes = 1;
  for (int32_t k = 0; k < split; k++) {
    if (perm[k] < 0 || perm[k] >= r) return FALSE;
    f->ydims[k] = p->dims[y][k];
    f->ostride[k] = xstr[perm[k]];
    f->planes *= f->ydims[k];
  }
  f->esize = (int64_t)msc_dtype_size(p->dtype[y]);
  f->use_pool = f->planes > 1 && f->planes * f->inner >= POOL_MIN_WORK;
  (void)m;
  return f->esize > 0;
}

/* Resize / Upsample in the plane form of ops/resize.c (the same code as the reference kernel: the same
 * bits), its planes split over the pool; the plan from the planned input dims and the constant (or
 * shape-folded) roi / scales / sizes. The scratch of a task lives on its stack (CPU_RESIZE_TMP_MAX). */
#define CPU_RESIZE_TMP_MAX 16384
static gboolean prep_resize(CpuModel *m, CpuShapePlan *p, const MscNode *n, CpuFast *f) {
  if ((!is_op(n, "Resize") && !is_op(n, "Upsample")) || n->n_inputs < 1 || n->n_inputs > 4 || !n->inputs[0] ||
      n->n_outputs != 1 || !known(p, n->inputs[0], MSC_DTYPE_FLOAT32) || p->dtype[n->outputs[0]->index] != MSC_DTYPE_FLOAT32)
    return FALSE;
  const uint32_t x = n->inputs[0]->index;
  MscTensor xt = {0};
  xt.dtype = MSC_DTYPE_FLOAT32;
  xt.rank = p->rank[x];
  memcpy(xt.dims, p->dims[x], sizeof xt.dims);
  const MscTensor *in[4] = {&xt, NULL, NULL, NULL};
  for (uint32_t i = 1; i < n->n_inputs; i++) {
    if (!n->inputs[i]) continue;
    if (!(in[i] = konst_of(m, p, n->inputs[i]))) return FALSE; /* not known before the run */
  }
  MscOpCtx ctx = {0};
  ctx.node = n;
  ctx.in = in;
  ctx.n_in = n->n_inputs;
  MscResizePlanes *rp = msc_resize_planes_new(&ctx);
  if (!rp) return FALSE;
  const uint32_t y = n->outputs[0]->index;
  if (msc_resize_planes_tmp(rp) > CPU_RESIZE_TMP_MAX || numel_of(p, y) <= 0) {
    msc_resize_planes_free(rp);
    return FALSE;
  }
  f->kind = CPU_FAST_RESIZE;
  f->rp = rp;
  f->planes = msc_resize_planes_count(rp);
  f->use_pool = f->planes > 1 && numel_of(p, y) >= POOL_MIN_WORK;
  return TRUE;
}

/* Ops whose output is the input's bytes under other dims. */
static gboolean prep_alias(CpuModel *m, CpuShapePlan *p, const MscNode *n, CpuFast *f) {
  gboolean dropout = is_op(n, "Dropout");
  if (!dropout && !is_op(n, "Identity") && !is_op(n, "Reshape") && !is_op(n, "Flatten") && !is_op(n, "Squeeze") &&
      !is_op(n, "Unsqueeze"))
    return FALSE;
  if (n->n_inputs < 1 || !n->inputs[0] || !n->outputs[0]) return FALSE;
  if (dropout) {
    for (uint32_t j = 1; j < n->n_outputs; j++)
      if (n->outputs[j] && (m->last[n->outputs[j]->index] > m->def[n->outputs[j]->index] || (n->outputs[j]->flags & MSC_VALUE_GRAPH_OUTPUT)))
        return FALSE; /* the mask is used */
    if (n->n_inputs > 2 && n->inputs[2]) { /* training_mode must be a known false */
      const MscTensor *t = konst_of(m, p, n->inputs[2]);
      if (!t || t->dtype != MSC_DTYPE_BOOL || msc_tensor_numel(t) != 1 || *(const uint8_t *)t->data) return FALSE;
    }
    if (n->opset < 7 && attr_int(n, "is_test", 0) == 0) return FALSE;
  } else if (n->n_outputs != 1) {
    return FALSE;
  }
  uint32_t x = n->inputs[0]->index, y = n->outputs[0]->index;
  if (!known(p, n->inputs[0], p->dtype[y]) || !known(p, n->outputs[0], MSC_DTYPE_UNDEFINED)) return FALSE;
  if (numel_of(p, x) != numel_of(p, y)) return FALSE;
  f->kind = CPU_FAST_ALIAS;
  return TRUE;
}

void cpu_fast_prepare(CpuModel *m, CpuShapePlan *p, uint32_t si) {
  const CpuStep *s = &m->steps[si];
  CpuFast *f = &p->fast[si];
  memset(f, 0, sizeof *f);
  if (!m->fast_ops || s->kind != CPU_STEP_OP || p->skip[si]) return;
  const MscNode *n = s->node;
  if (!n->outputs[0] || n->n_outputs < 1) return;
  uint32_t y = n->outputs[0]->index;
  if (p->offset[y] == -2 || !known(p, n->outputs[0], MSC_DTYPE_UNDEFINED) || p->shape_konst[y]) return;
  for (uint32_t j = 1; j < n->n_outputs; j++)
    if (n->outputs[j] && p->offset[n->outputs[j]->index] == -2) return;
  if (prep_alias(m, p, n, f) || prep_pool(m, p, n, f) || prep_gemm(m, p, n, f) || prep_binary(m, p, n, f) ||
      prep_concat(m, p, n, f) || prep_lrn(m, p, n, f) || prep_transpose(m, p, n, f) || prep_resize(m, p, n, f))
    return;
  memset(f, 0, sizeof *f);
  cpu_host->log(MSC_LOG_DEBUG, "cpu", "node '%s' (%s): reference kernel", n->name, n->op_type);
}

void cpu_fast_free(CpuFast *f) {
  msc_aligned_free(f->bp);
  msc_aligned_free(f->bias);
  f->bp = f->bias = NULL;
  msc_resize_planes_free(f->rp);
  f->rp = NULL;
}

/* ---------------------------------------------------------------------- */
/* running                                                                 */

typedef struct {
  const CpuKernels *k;
  const CpuFast *f;
  const float *a, *b;
  float *y;
  int64_t chunk, n_chunks; /* binary / gemm split */
  int64_t rows_blocks;
} Job;

static void pool_task(void *ctx, int64_t t, int thread) {
  const Job *j = ctx;
  const CpuPool2d *g = &j->f->pool;
  float tmp[CPU_POOL_TMP_MAX];
  (void)thread;
  j->k->pool2d(g, j->a + t * g->H * g->W, j->y + t * g->OH * g->OW, tmp);
}

static void gpool_task(void *ctx, int64_t t, int thread) {
  const Job *j = ctx;
  int64_t n = j->f->inner;
  (void)thread;
  j->y[t] = j->f->gmax ? j->k->max(j->a + t * n, n) : j->k->sum(j->a + t * n, n) / (float)n;
}

static void gemm_task(void *ctx, int64_t t, int thread) {
  const Job *j = ctx;
  const CpuFast *f = j->f;
  int64_t rb = t % j->rows_blocks, pc = t / j->rows_blocks;
  int64_t rows_per = (f->M + j->rows_blocks - 1) / j->rows_blocks;
  rows_per = (rows_per + CPU_GEMM_MR - 1) / CPU_GEMM_MR * CPU_GEMM_MR;
  int64_t m0 = rb * rows_per, m1 = MIN(f->M, m0 + rows_per);
  int64_t p0 = pc * j->chunk, p1 = MIN(f->panels, p0 + j->chunk);
  (void)thread;
  if (m0 < m1 && p0 < p1)
    j->k->gemm(j->a, f->K, f->bp, f->K, f->has_bias ? f->bias : NULL, j->y, f->N, f->N, m0, m1, p0, p1, MSC_ACT_NONE,
               0, 0);
}

static void binary_task(void *ctx, int64_t t, int thread) {
  const Job *j = ctx;
  const CpuFast *f = j->f;
  (void)thread;
  if (f->bmode == CPU_BMODE_A_PLANE || f->bmode == CPU_BMODE_B_PLANE) {
    int64_t p0 = t * j->chunk, p1 = MIN(f->planes, p0 + j->chunk);
    for (int64_t pl = p0; pl < p1; pl++) {
      int64_t off = 0, rem = pl;
      for (int32_t i = f->split - 1; i >= 0; i--) {
        off += (rem % f->ydims[i]) * f->ostride[i];
        rem /= f->ydims[i];
      }
      int64_t base = pl * f->inner;
      if (f->bmode == CPU_BMODE_B_PLANE)
        j->k->binary(j->a + base, j->b + off, j->y + base, f->inner, f->op, CPU_BC_B_SCALAR);
      else
        j->k->binary(j->a + off, j->b + base, j->y + base, f->inner, f->op, CPU_BC_A_SCALAR);
    }
    return;
  }
  int64_t i0 = t * j->chunk, i1 = MIN(f->total, i0 + j->chunk);
  if (i0 >= i1) return;
  CpuBcast bc = f->bmode == CPU_BMODE_B_SCALAR ? CPU_BC_B_SCALAR : f->bmode == CPU_BMODE_A_SCALAR ? CPU_BC_A_SCALAR
                                                                                                   : CPU_BC_SAME;
  j->k->binary(bc == CPU_BC_A_SCALAR ? j->a : j->a + i0, bc == CPU_BC_B_SCALAR ? j->b : j->b + i0, j->y + i0, i1 - i0,
               f->op, bc);
}

static void transpose_task(void *ctx, int64_t t, int thread) {
  const Job *j = ctx;
  const CpuFast *f = j->f;
  const size_t bytes = (size_t)(f->inner * f->esize);
  int64_t p0 = t * j->chunk, p1 = MIN(f->planes, p0 + j->chunk);
  (void)thread;
  for (int64_t pl = p0; pl < p1; pl++) {
    int64_t off = 0, rem = pl;
    for (int32_t i = f->split - 1; i >= 0; i--) {
      off += (rem % f->ydims[i]) * f->ostride[i];
      rem /= f->ydims[i];
    }
    memcpy((char *)j->y + pl * (int64_t)bytes, (const char *)j->a + off * f->esize, bytes);
  }
}

/* CPU_FAST_TRANSPOSE2, task t: plane t / j->n_chunks, output rows (input columns) [c0, c1) of its
 * chunk; input rows in blocks of 256, so a block's lines stay in L1 across the columns read from it. */
#define T2_ROWS 256
#define T2_LOOP(T)                                                                                                \
  do {                                                                                                            \
    const T *xs = (const T *)j->a + pl * R * C;                                                                   \
    T *ys = (T *)j->y + pl * R * C;                                                                               \
    for (int64_t r0 = 0; r0 < R; r0 += T2_ROWS) {                                                                 \
      const int64_t r1 = MIN(R, r0 + T2_ROWS);                                                                    \
      for (int64_t c = c0; c < c1; c++)                                                                           \
        for (int64_t r = r0; r < r1; r++) ys[c * R + r] = xs[r * C + c];                                          \
    }                                                                                                             \
  } while (0)
/* Few columns (C <= T2_NARROW: an NHWC image's channels, 4-byte elements): rows [r0, r1) of plane pl, all C
 * columns per row, so the input is read once in order and each output plane is one sequential stream. 4
 * columns are vectorized by the compiler, 3 by the SSE shuffles below; BlazeFace's 128x128x3 input took
 * 0.031-0.035 ms as column-by-column gathers (T2_LOOP), 0.011-0.016 ms this way. */
#define T2_NARROW 4
static inline gboolean t2_by_rows(const CpuFast *f) { return f->N <= T2_NARROW && f->esize == 4; }
static void t2_rows3(const uint32_t *restrict x, uint32_t *restrict y0, uint32_t *restrict y1, uint32_t *restrict y2,
                     int64_t n) {
  int64_t r = 0;
#if defined(__SSE2__)
  /* 4 rows per step: v0 = a0 b0 c0 a1, v1 = b1 c1 a2 b2, v2 = c2 a3 b3 c3 (GCC leaves stride-3 loads scalar) */
  for (; r + 4 <= n; r += 4) {
    const __m128 v0 = _mm_loadu_ps((const float *)x + 3 * r), v1 = _mm_loadu_ps((const float *)x + 3 * r + 4),
                 v2 = _mm_loadu_ps((const float *)x + 3 * r + 8);
    const __m128 t0 = _mm_shuffle_ps(v1, v2, _MM_SHUFFLE(2, 1, 3, 2)); /* a2 b2 a3 b3 */
    const __m128 t1 = _mm_shuffle_ps(v0, v1, _MM_SHUFFLE(1, 0, 2, 1)); /* b0 c0 b1 c1 */
    _mm_storeu_ps((float *)y0 + r, _mm_shuffle_ps(v0, t0, _MM_SHUFFLE(2, 0, 3, 0)));
    _mm_storeu_ps((float *)y1 + r, _mm_shuffle_ps(t1, t0, _MM_SHUFFLE(3, 1, 2, 0)));
    _mm_storeu_ps((float *)y2 + r, _mm_shuffle_ps(t1, v2, _MM_SHUFFLE(3, 0, 3, 1)));
  }
#endif
  for (; r < n; r++) {
    y0[r] = x[3 * r];
    y1[r] = x[3 * r + 1];
    y2[r] = x[3 * r + 2];
  }
}
static void t2_rows4(const uint32_t *restrict x, uint32_t *restrict y0, uint32_t *restrict y1, uint32_t *restrict y2,
                     uint32_t *restrict y3, int64_t n) {
  for (int64_t r = 0; r < n; r++) {
    y0[r] = x[4 * r];
    y1[r] = x[4 * r + 1];
    y2[r] = x[4 * r + 2];
    y3[r] = x[4 * r + 3];
  }
}
void cpu_t2_rows_f32(const uint32_t *xs, uint32_t *ys, int64_t R, int64_t C, int64_t r0, int64_t r1) {
  if (C == 3) {
    t2_rows3(xs + r0 * 3, ys + r0, ys + R + r0, ys + 2 * R + r0, r1 - r0);
  } else if (C == 4) {
    t2_rows4(xs + r0 * 4, ys + r0, ys + R + r0, ys + 2 * R + r0, ys + 3 * R + r0, r1 - r0);
  } else {
    for (int64_t r = r0; r < r1; r++)
      for (int64_t c = 0; c < C; c++) ys[c * R + r] = xs[r * C + c];
  }
}
static void transpose2_task(void *ctx, int64_t t, int thread) {
  const Job *j = ctx;
  const CpuFast *f = j->f;
  const int64_t R = f->M, C = f->N, pl = t / j->n_chunks;
  (void)thread;
  if (t2_by_rows(f)) { /* chunks of rows */
    const int64_t r0 = (t % j->n_chunks) * j->chunk, r1 = MIN(R, r0 + j->chunk);
    cpu_t2_rows_f32((const uint32_t *)j->a + pl * R * C, (uint32_t *)j->y + pl * R * C, R, C, r0, r1);
    return;
  }
  const int64_t c0 = (t % j->n_chunks) * j->chunk, c1 = MIN(C, c0 + j->chunk);
  switch (f->esize) {
  case 1: T2_LOOP(uint8_t); break;
  case 2: T2_LOOP(uint16_t); break;
  case 4: T2_LOOP(uint32_t); break;
  default: T2_LOOP(uint64_t); break;
  }
}

static void resize_task(void *ctx, int64_t t, int thread) {
  const Job *j = ctx;
  const CpuFast *f = j->f;
  float tmp[CPU_RESIZE_TMP_MAX];
  (void)thread;
  msc_resize_planes_run(f->rp, j->a, j->y, t * j->chunk, MIN(f->planes, (t + 1) * j->chunk), tmp);
}

static void lrn_task(void *ctx, int64_t t, int thread) {
  const Job *j = ctx;
  const CpuFast *f = j->f;
  int64_t n = t / j->n_chunks, c = t % j->n_chunks;
  int64_t h0 = c * j->chunk, h1 = MIN(f->inner, h0 + j->chunk);
  float tmp[CPU_LRN_BLOCK];
  (void)thread;
  if (h0 < h1)
    j->k->lrn(j->a + n * f->C * f->inner, j->y + n * f->C * f->inner, f->C, f->inner, h0, h1, f->lrn_size, f->alpha,
              f->beta, f->lbias, tmp);
}

/* j->chunk = @units / @parts rounded up (at least 1); returns the tasks that cover @units. */
static int64_t chunk_tasks(Job *j, int64_t units, int64_t parts) {
  j->chunk = MAX(1, (units + parts - 1) / MAX(parts, (int64_t)1));
  return (units + j->chunk - 1) / j->chunk;
}

void cpu_fast_run(const CpuFast *f, const CpuKernels *k, MscThreadPool *pool, const MscTensor *const *in,
                  uint32_t n_in, MscTensor *y) {
  Job j = {k, f, in[0] ? in[0]->data : NULL, n_in > 1 && in[1] ? in[1]->data : NULL, y->data, 0, 0, 1};
  MscThreadPool *tp = f->use_pool ? pool : NULL;
  int nt = tp && msc_threadpool_size ? msc_threadpool_size(tp) : 1;
  const int64_t want = nt > 1 ? 4 * nt : 1; /* tasks: about 4 per thread */
  switch (f->kind) {
  case CPU_FAST_NONE:
  case CPU_FAST_ALIAS:
    return;
  case CPU_FAST_POOL:
    msc_threadpool_parallel_for(tp, f->planes, pool_task, &j);
    return;
  case CPU_FAST_GPOOL:
    msc_threadpool_parallel_for(tp, f->planes, gpool_task, &j);
    return;
  case CPU_FAST_GEMM: {
    /* rows split only when there are many; columns (panels) always */
    j.rows_blocks = MAX(1, MIN((f->M + 31) / 32, nt));
    msc_threadpool_parallel_for(tp, j.rows_blocks * chunk_tasks(&j, f->panels, want), gemm_task, &j);
    return;
  }
  case CPU_FAST_BINARY: {
    int64_t units = f->bmode >= CPU_BMODE_A_PLANE ? f->planes : f->total;
    chunk_tasks(&j, units, want);
    if (f->bmode < CPU_BMODE_A_PLANE) j.chunk = (j.chunk + 63) / 64 * 64;
    msc_threadpool_parallel_for(tp, (units + j.chunk - 1) / j.chunk, binary_task, &j);
    return;
  }
  case CPU_FAST_CONCAT: {
    char *dst = y->data;
    for (int64_t o = 0; o < f->outer; o++)
      for (uint32_t i = 0; i < n_in; i++) {
        const MscTensor *t = in[i];
        size_t bytes = (size_t)(msc_tensor_numel(t) / MAX(f->outer, 1) * f->esize);
        const char *src = (const char *)t->data + o * bytes;
        if (bytes && src != dst) memcpy(dst, src, bytes); /* equal: produced in place (plan.c) */
        dst += bytes;
      }
    return;
  }
  case CPU_FAST_TRANSPOSE:
    msc_threadpool_parallel_for(tp, chunk_tasks(&j, f->planes, want), transpose_task, &j);
    return;
  case CPU_FAST_TRANSPOSE2: /* columns (few columns: rows) of each plane in chunks, about 4 tasks per thread */
    j.n_chunks = chunk_tasks(&j, t2_by_rows(f) ? f->M : f->N,
                             MAX((int64_t)1, want / MAX(f->planes, (int64_t)1)));
    msc_threadpool_parallel_for(tp, f->planes * j.n_chunks, transpose2_task, &j);
    return;
  case CPU_FAST_RESIZE:
    msc_threadpool_parallel_for(tp, chunk_tasks(&j, f->planes, want), resize_task, &j);
    return;
  case CPU_FAST_LRN: {
    j.chunk = MIN(f->inner, CPU_LRN_BLOCK);
    j.n_chunks = (f->inner + j.chunk - 1) / MAX(j.chunk, 1);
    msc_threadpool_parallel_for(tp, f->planes * j.n_chunks, lrn_task, &j);
    return;
  }
  }
}
