/* refit.c: recovery without training, and the whole-model output error.
 *
 * The unpruned graph, the plainly sliced graph and (with reconstruct) a
 * second sliced graph that gets refitted are run side by side, node by
 * node in topological order, on the captured samples (msc_node_execute,
 * the reference kernels). When the refitted graph reaches a layer whose
 * input channels were pruned (Conv with group=1, Gemm, MatMul with a
 * constant weight), its new weights are solved first, ThiNet-style but
 * sequential: the target is the unpruned layer's output on the unpruned
 * inputs, the regressors are the refitted graph's own (pruned, already
 * corrected upstream) inputs, so each fit also absorbs the drift of the
 * layers before it. Output positions are sampled (a bounded number of rows
 * per layer), the normal equations are accumulated and solved in double
 * (Cholesky) with a ridge that pulls towards the plainly sliced weights,
 * and the bias is fitted too (it absorbs the mean contribution of the
 * removed channels). Then the refitted layer runs and the walk goes on.
 * Memory: only live tensors are kept (freed after their last consumer). */
#pragma GCC optimize("O3")
#include <math.h>
#include <string.h>

#include "error.h"
#include "onnx.h"
#include "pad-utils.h"
#include "pruner.h"
#include "tensor.h"

typedef struct {
  MscGraph *g;
  MscNode **order;  /* position i: the node matching the unpruned graph's node i */
  MscTensor ***env; /* [sample][value index] (values existing at start) */
  guint n_values;
  uint32_t *last_use; /* by value index: last position reading it */
} Run;

void pruner_error_clear(PrunerError *e) {
  g_free(e->cosine);
  g_free(e->maxabs);
  memset(e, 0, sizeof *e);
}

static void run_init(Run *r, MscGraph *g, MscNode **order, MscTensor ***inputs, guint S) {
  r->g = g;
  r->order = order;
  r->n_values = g->n_values;
  r->env = g_new0(MscTensor **, S);
  for (guint s = 0; s < S; s++) {
    r->env[s] = g_new0(MscTensor *, g->n_values);
    for (uint32_t i = 0; i < g->n_inputs; i++) r->env[s][g->inputs[i]->index] = msc_tensor_copy(inputs[s][i], NULL);
  }
  r->last_use = g_new0(uint32_t, g->n_values);
  for (uint32_t i = 0; i < g->n_nodes; i++)
    for (uint32_t k = 0; k < order[i]->n_inputs; k++) {
      MscValue *v = order[i]->inputs[k];
      if (v && v->index < r->n_values) r->last_use[v->index] = i;
    }
  for (uint32_t i = 0; i < g->n_outputs; i++) r->last_use[g->outputs[i]->index] = G_MAXUINT32;
}

static void run_clear(Run *r, guint S) {
  for (guint s = 0; r->env && s < S; s++) {
    for (guint v = 0; v < r->n_values; v++) msc_tensor_free(r->env[s][v]);
    g_free(r->env[s]);
  }
  g_free(r->env);
  g_free(r->last_use);
  g_free(r->order);
  memset(r, 0, sizeof *r);
}

static const MscTensor *get(const Run *r, guint s, const MscValue *v) {
  if (!v) return NULL;
  if (v->value) return v->value;
  return v->index < r->n_values ? r->env[s][v->index] : NULL;
}

static gboolean exec_node(Run *r, uint32_t i, guint s, GError **error) {
  const MscNode *n = r->order[i];
  gboolean all_const = TRUE;
  for (uint32_t j = 0; j < n->n_outputs; j++)
    if (n->outputs[j] && !n->outputs[j]->value) all_const = FALSE;
  if (all_const) return TRUE;
  g_autofree const MscTensor **in = g_new0(const MscTensor *, n->n_inputs + 1);
  for (uint32_t k = 0; k < n->n_inputs; k++) {
    in[k] = get(r, s, n->inputs[k]);
    if (n->inputs[k] && !in[k]) {
      msc_set_error(error, MSC_ERR_INTERNAL, "node '%s' (%s): input '%s' not computed", n->name, n->op_type,
                    n->inputs[k]->name);
      return FALSE;
    }
  }
  g_autofree MscTensor **out = g_new0(MscTensor *, n->n_outputs + 1);
  if (!msc_node_execute(n, in, out, error)) return FALSE;
  for (uint32_t j = 0; j < n->n_outputs; j++) {
    MscValue *v = n->outputs[j];
    if (v && v->index < r->n_values && !v->value) {
      msc_tensor_free(r->env[s][v->index]);
      r->env[s][v->index] = out[j];
    } else {
      msc_tensor_free(out[j]);
    }
  }
  return TRUE;
}

static void release(Run *r, uint32_t i, guint S) {
  const MscNode *n = r->order[i];
  for (uint32_t k = 0; k < n->n_inputs; k++) {
    MscValue *v = n->inputs[k];
    if (!v || v->index >= r->n_values || r->last_use[v->index] != i) continue;
    for (guint s = 0; s < S; s++) {
      msc_tensor_free(r->env[s][v->index]);
      r->env[s][v->index] = NULL;
    }
  }
}

/* ---- least squares ---- */

typedef struct {
  int D, M;   /* regressors (incl. the bias column when used), targets */
  double *G;  /* D x D, upper triangle accumulated */
  double *XY; /* D x M */
  int64_t rows;
} Lsq;

static void lsq_init(Lsq *l, int D, int M) {
  l->D = D;
  l->M = M;
  l->G = g_new0(double, (size_t)D * D);
  l->XY = g_new0(double, (size_t)D * M);
  l->rows = 0;
}

static void lsq_clear(Lsq *l) {
  g_free(l->G);
  g_free(l->XY);
}

static void lsq_add(Lsq *l, const double *x, const double *y) {
  const int D = l->D, M = l->M;
  for (int a = 0; a < D; a++) {
    const double xa = x[a];
    if (xa == 0) continue;
    double *restrict ga = l->G + (size_t)a * D;
    for (int b = a; b < D; b++) ga[b] += xa * x[b];
    double *restrict xy = l->XY + (size_t)a * M;
    for (int m = 0; m < M; m++) xy[m] += xa * y[m];
  }
  l->rows++;
}

/* In-place Cholesky of the D x D SPD matrix A (lower). FALSE when not positive definite. */
static gboolean cholesky(double *A, int D) {
  for (int j = 0; j < D; j++) {
    double *aj = A + (size_t)j * D;
    double d = aj[j];
    for (int k = 0; k < j; k++) d -= aj[k] * aj[k];
    if (!(d > 0)) return FALSE;
    d = sqrt(d);
    aj[j] = d;
    for (int i = j + 1; i < D; i++) {
      double *ai = A + (size_t)i * D;
      double s = ai[j];
      for (int k = 0; k < j; k++) s -= ai[k] * aj[k];
      ai[j] = s / d;
    }
  }
  return TRUE;
}

/* Solves (G + lambda*I_w + lambda_b*I_b) W = XY + lambda*W0 for W (D x M), in @sol.
 * @bias: the last regressor is the constant 1 (small ridge on it). */
static gboolean lsq_solve(const Lsq *l, const double *W0, double ridge, gboolean bias, double *sol) {
  const int D = l->D, M = l->M, Dw = bias ? D - 1 : D;
  double tr = 0;
  for (int a = 0; a < Dw; a++) tr += l->G[(size_t)a * D + a];
  double mean_diag = Dw > 0 ? tr / Dw : 1.0;
  if (!(mean_diag > 0)) mean_diag = 1.0;
  double scale = MAX(1.0, (double)Dw / (double)MAX(l->rows, 1));
  double lambda = ridge * mean_diag * scale + 1e-12 * mean_diag;
  /* fewer rows than weights (a classifier fed one row per sample): the
   * weights would only memorize the samples; keep them and fit the bias,
   * i.e. correct the mean shift the removed channels leave */
  if (l->rows < Dw) lambda = 1e6 * mean_diag;
  g_autofree double *A = g_new(double, (size_t)D * D);
  for (int attempt = 0; attempt < 6; attempt++, lambda *= 10) {
    for (int a = 0; a < D; a++)
      for (int b = 0; b < D; b++) A[(size_t)a * D + b] = a <= b ? l->G[(size_t)a * D + b] : l->G[(size_t)b * D + a];
    for (int a = 0; a < Dw; a++) A[(size_t)a * D + a] += lambda;
    if (bias) A[(size_t)(D - 1) * D + D - 1] += 1e-6 * mean_diag + 1e-12;
    if (!cholesky(A, D)) continue;
    g_autofree double *z = g_new(double, D);
    for (int m = 0; m < M; m++) {
      for (int a = 0; a < D; a++) {
        double rhs = l->XY[(size_t)a * M + m] + (a < Dw ? lambda : 1e-6 * mean_diag) * W0[(size_t)a * M + m];
        for (int k = 0; k < a; k++) rhs -= A[(size_t)a * D + k] * z[k];
        z[a] = rhs / A[(size_t)a * D + a];
      }
      for (int a = D - 1; a >= 0; a--) {
        double v = z[a];
        for (int k = a + 1; k < D; k++) v -= A[(size_t)k * D + a] * sol[(size_t)k * M + m];
        sol[(size_t)a * M + m] = v / A[(size_t)a * D + a];
      }
    }
    return TRUE;
  }
  return FALSE;
}

static int64_t attr_i(const MscNode *n, const char *name, int64_t def) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (!strcmp(n->attrs[i].name, name) && n->attrs[i].type == MSC_ATTR_INT) return n->attrs[i].i;
  return def;
}

static float attr_f(const MscNode *n, const char *name, float def) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (!strcmp(n->attrs[i].name, name) && n->attrs[i].type == MSC_ATTR_FLOAT) return n->attrs[i].f;
  return def;
}

static const MscAttr *attr_ints(const MscNode *n, const char *name) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (!strcmp(n->attrs[i].name, name) && n->attrs[i].type == MSC_ATTR_INTS) return &n->attrs[i];
  return NULL;
}

/* Kept output indices of @n (into the unpruned output), count in *n_kept. */
static int64_t *kept_outputs(GHashTable *masks, const MscValue *y, int64_t full, int64_t *n_kept) {
  const PrunerMask *m = g_hash_table_lookup(masks, y->name);
  int64_t *idx = g_new(int64_t, full);
  int64_t k = 0;
  for (int64_t i = 0; i < full; i++)
    if (!m || m->keep[i]) idx[k++] = i;
  *n_kept = k;
  return idx;
}

typedef struct {
  const MscGraph *g0;
  Run *r0, *r1;
  guint S;
  GHashTable *masks;
  const PrunerOptions *o;
  uint32_t seed;
} Fit;

static int64_t row_budget(int D) {
  int64_t r = 2 * (int64_t)D;
  return CLAMP(r, 512, 4096);
}

/* Conv (group 1, 2-D): returns the refit or NULL (not fittable, no error) */
static PrunerRefit *fit_conv(Fit *f, uint32_t i, GError **error) {
  const MscNode *n0 = f->g0->nodes[i], *n1 = f->r1->order[i];
  const MscTensor *w1 = n1->inputs[1]->value;
  if (!w1 || w1->rank != 4 || w1->dtype != MSC_DTYPE_FLOAT32) return NULL;
  const int64_t M1 = w1->dims[0], C1 = w1->dims[1], KH = w1->dims[2], KW = w1->dims[3];
  const MscTensor *b1 = n1->n_inputs > 2 && n1->inputs[2] ? n1->inputs[2]->value : NULL;
  const MscTensor *x_first = get(f->r1, 0, n1->inputs[0]);
  const MscTensor *y_first = get(f->r0, 0, n0->outputs[0]);
  if (!x_first || !y_first || x_first->rank != 4 || y_first->rank != 4 || x_first->dtype != MSC_DTYPE_FLOAT32)
    return NULL;
  int64_t H = x_first->dims[2], W = x_first->dims[3], Ho = y_first->dims[2], Wo = y_first->dims[3];
  int64_t stride[2] = {1, 1}, dil[2] = {1, 1}, kernel[2] = {KH, KW}, in[2] = {H, W}, pads[4] = {0};
  const MscAttr *a;
  if ((a = attr_ints(n1, "strides")) && a->n == 2) memcpy(stride, a->ints, sizeof stride);
  if ((a = attr_ints(n1, "dilations")) && a->n == 2) memcpy(dil, a->ints, sizeof dil);
  MscAutoPad ap = MSC_AUTO_PAD_NOTSET;
  for (uint32_t k = 0; k < n1->n_attrs; k++)
    if (!strcmp(n1->attrs[k].name, "auto_pad") && n1->attrs[k].type == MSC_ATTR_STRING &&
        !msc_auto_pad_parse(n1->attrs[k].s, &ap, NULL))
      return NULL;
  const MscAttr *pa = attr_ints(n1, "pads");
  if (!msc_get_pad_tuple_2d(in, kernel, stride, dil, ap, pa ? pa->ints : NULL, pa ? pa->n : 0, pads, NULL))
    return NULL;
  int64_t n_kept = 0;
  g_autofree int64_t *ko = kept_outputs(f->masks, n1->outputs[0], y_first->dims[1], &n_kept);
  if (n_kept != M1) return NULL;
  const int D = (int)(C1 * KH * KW) + 1, M = (int)M1;
  Lsq l;
  lsq_init(&l, D, M);
  g_autofree double *x = g_new(double, D);
  g_autofree double *y = g_new(double, M);
  int64_t per = (row_budget(D) + f->S - 1) / f->S;
  uint32_t st = f->seed ^ (i * 2654435761u);
  for (guint s = 0; s < f->S; s++) {
    const MscTensor *X = get(f->r1, s, n1->inputs[0]), *Y = get(f->r0, s, n0->outputs[0]);
    if (!X || !Y) continue;
    const float *xd = X->data, *yd = Y->data;
    int64_t N = X->dims[0], P = N * Ho * Wo, Mfull = Y->dims[1];
    int64_t take = MIN(P, per);
    for (int64_t t = 0; t < take; t++) {
      int64_t p = take == P ? t : (int64_t)(msc_mulberry32(&st) % (uint32_t)P);
      int64_t nb = p / (Ho * Wo), oh = (p / Wo) % Ho, ow = p % Wo;
      int q = 0;
      for (int64_t c = 0; c < C1; c++)
        for (int64_t ky = 0; ky < KH; ky++) {
          int64_t ih = oh * stride[0] - pads[0] + ky * dil[0];
          for (int64_t kx = 0; kx < KW; kx++) {
            int64_t iw = ow * stride[1] - pads[1] + kx * dil[1];
            x[q++] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? xd[((nb * C1 + c) * H + ih) * W + iw] : 0.0;
          }
        }
      x[q] = 1.0;
      for (int m = 0; m < M; m++) y[m] = yd[((nb * Mfull + ko[m]) * Ho + oh) * Wo + ow];
      lsq_add(&l, x, y);
    }
  }
  g_autofree double *W0 = g_new0(double, (size_t)D * M);
  g_autofree double *sol = g_new0(double, (size_t)D * M);
  const float *wd = w1->data;
  for (int m = 0; m < M; m++) {
    for (int a2 = 0; a2 < D - 1; a2++) W0[(size_t)a2 * M + m] = wd[(size_t)m * (D - 1) + a2];
    W0[(size_t)(D - 1) * M + m] = b1 ? msc_tensor_get_f64(b1, m) : 0.0;
  }
  gboolean ok = l.rows > 0 && lsq_solve(&l, W0, f->o->ridge, TRUE, sol);
  lsq_clear(&l);
  if (!ok) return NULL;
  PrunerRefit *r = g_new0(PrunerRefit, 1);
  r->index = i;
  r->node_name = g_strdup(n1->name);
  r->op_type = g_strdup(n1->op_type);
  r->weight = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, w1->dims, error);
  int64_t bd[1] = {M1};
  r->bias = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, bd, error);
  if (!r->weight || !r->bias) {
    pruner_refit_free(r);
    return NULL;
  }
  float *nw = r->weight->data, *nbias = r->bias->data;
  for (int m = 0; m < M; m++) {
    for (int a2 = 0; a2 < D - 1; a2++) nw[(size_t)m * (D - 1) + a2] = (float)sol[(size_t)a2 * M + m];
    nbias[m] = (float)sol[(size_t)(D - 1) * M + m];
  }
  return r;
}

/* Gemm (transA 0) / MatMul with a constant 2-D weight. */
static PrunerRefit *fit_dense(Fit *f, uint32_t i, GError **error) {
  const MscNode *n0 = f->g0->nodes[i], *n1 = f->r1->order[i];
  gboolean gemm = !strcmp(n1->op_type, "Gemm");
  const MscTensor *b = n1->inputs[1]->value;
  if (!b || b->rank != 2 || b->dtype != MSC_DTYPE_FLOAT32 || (gemm && attr_i(n1, "transA", 0))) return NULL;
  gboolean tb = gemm && attr_i(n1, "transB", 0);
  const int64_t K1 = tb ? b->dims[1] : b->dims[0], N1 = tb ? b->dims[0] : b->dims[1];
  double alpha = gemm ? attr_f(n1, "alpha", 1.0f) : 1.0, beta = gemm ? attr_f(n1, "beta", 1.0f) : 0.0;
  const MscTensor *c1 = gemm && n1->n_inputs > 2 && n1->inputs[2] ? n1->inputs[2]->value : NULL;
  if (gemm && n1->n_inputs > 2 && n1->inputs[2] && !c1) return NULL; /* computed C */
  gboolean bias = gemm && beta != 0 && (!c1 || msc_tensor_numel(c1) == N1) && alpha != 0;
  if (alpha == 0) return NULL;
  const MscTensor *y_first = get(f->r0, 0, n0->outputs[0]);
  if (!y_first) return NULL;
  int64_t n_kept = 0;
  g_autofree int64_t *ko = kept_outputs(f->masks, n1->outputs[0], y_first->dims[y_first->rank - 1], &n_kept);
  if (n_kept != N1) return NULL;
  const int D = (int)K1 + (bias ? 1 : 0), M = (int)N1;
  Lsq l;
  lsq_init(&l, D, M);
  g_autofree double *x = g_new(double, D);
  g_autofree double *y = g_new(double, M);
  int64_t per = (row_budget(D) + f->S - 1) / f->S;
  uint32_t st = f->seed ^ (i * 2654435761u);
  for (guint s = 0; s < f->S; s++) {
    const MscTensor *X = get(f->r1, s, n1->inputs[0]), *Y = get(f->r0, s, n0->outputs[0]);
    if (!X || !Y || X->dtype != MSC_DTYPE_FLOAT32 || X->dims[X->rank - 1] != K1) continue;
    const float *xd = X->data, *yd = Y->data;
    int64_t P = msc_tensor_numel(X) / K1, Nfull = Y->dims[Y->rank - 1];
    int64_t take = MIN(P, per);
    for (int64_t t = 0; t < take; t++) {
      int64_t p = take == P ? t : (int64_t)(msc_mulberry32(&st) % (uint32_t)P);
      for (int64_t k = 0; k < K1; k++) x[k] = xd[p * K1 + k];
      if (bias) x[K1] = 1.0;
      for (int m = 0; m < M; m++) y[m] = yd[p * Nfull + ko[m]];
      lsq_add(&l, x, y);
    }
  }
  g_autofree double *W0 = g_new0(double, (size_t)D * M);
  g_autofree double *sol = g_new0(double, (size_t)D * M);
  const float *bd = b->data;
  for (int64_t k = 0; k < K1; k++)
    for (int m = 0; m < M; m++) W0[(size_t)k * M + m] = alpha * (tb ? bd[(size_t)m * K1 + k] : bd[(size_t)k * N1 + m]);
  if (bias)
    for (int m = 0; m < M; m++) W0[(size_t)K1 * M + m] = c1 ? beta * msc_tensor_get_f64(c1, m) : 0.0;
  gboolean ok = l.rows > 0 && lsq_solve(&l, W0, f->o->ridge, bias, sol);
  lsq_clear(&l);
  if (!ok) return NULL;
  PrunerRefit *r = g_new0(PrunerRefit, 1);
  r->index = i;
  r->node_name = g_strdup(n1->name);
  r->op_type = g_strdup(n1->op_type);
  r->weight = msc_tensor_new(MSC_DTYPE_FLOAT32, 2, b->dims, error);
  if (!r->weight) {
    pruner_refit_free(r);
    return NULL;
  }
  float *nw = r->weight->data;
  for (int64_t k = 0; k < K1; k++)
    for (int m = 0; m < M; m++) {
      float v = (float)(sol[(size_t)k * M + m] / alpha);
      if (tb) nw[(size_t)m * K1 + k] = v;
      else nw[(size_t)k * N1 + m] = v;
    }
  if (bias) {
    int64_t bdims[1] = {N1};
    r->bias = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, bdims, error);
    if (!r->bias) {
      pruner_refit_free(r);
      return NULL;
    }
    for (int m = 0; m < M; m++) ((float *)r->bias->data)[m] = (float)(sol[(size_t)K1 * M + m] / beta);
  }
  return r;
}

static gboolean refit_target(const MscNode *n, GHashTable *masks) {
  const PrunerMask *mi = n->n_inputs ? g_hash_table_lookup(masks, n->inputs[0] ? n->inputs[0]->name : "") : NULL;
  if (!mi || mi->kept >= mi->dim || n->n_inputs < 2 || !n->inputs[1] || !n->inputs[1]->value) return FALSE;
  if (!strcmp(n->op_type, "Conv")) return attr_i(n, "group", 1) == 1;
  return !strcmp(n->op_type, "Gemm") || !strcmp(n->op_type, "MatMul");
}

static void measure(const Run *r0, const Run *r, guint S, PrunerError *e) {
  const MscGraph *g = r0->g;
  pruner_error_clear(e);
  e->valid = TRUE;
  e->n_outputs = g->n_outputs;
  e->n_samples = S;
  e->cosine = g_new(double, g->n_outputs ? g->n_outputs : 1);
  e->maxabs = g_new0(double, g->n_outputs ? g->n_outputs : 1);
  e->min_cosine = 1.0;
  for (uint32_t j = 0; j < g->n_outputs; j++) {
    e->cosine[j] = 1.0;
    for (guint s = 0; s < S; s++) {
      const MscTensor *a = get(r0, s, g->outputs[j]), *b = get(r, s, r->g->outputs[j]);
      if (!a || !b || msc_tensor_numel(a) != msc_tensor_numel(b) || !msc_dtype_is_float(a->dtype)) {
        e->cosine[j] = NAN;
        continue;
      }
      double dot = 0, na = 0, nb = 0, mx = 0;
      for (int64_t k = 0; k < msc_tensor_numel(a); k++) {
        double x = msc_tensor_get_f64(a, k), y = msc_tensor_get_f64(b, k);
        dot += x * y;
        na += x * x;
        nb += y * y;
        mx = MAX(mx, fabs(x - y));
      }
      double c = na == 0 && nb == 0 ? 1.0 : (na == 0 || nb == 0) ? 0.0 : dot / sqrt(na * nb);
      if (c < e->cosine[j] || isnan(c)) e->cosine[j] = c;
      e->maxabs[j] = MAX(e->maxabs[j], mx);
    }
    if (!(e->cosine[j] >= e->min_cosine)) e->min_cosine = e->cosine[j];
    e->max_abs = MAX(e->max_abs, e->maxabs[j]);
  }
}

static MscGraph *sliced_copy(const MscGraph *g0, GHashTable *masks, MscNode ***order_out, GError **error) {
  g_autofree uint8_t *buf = NULL;
  size_t len = 0;
  if (!msc_onnx_save_buffer(g0, &buf, &len, error)) return NULL;
  g_autoptr(MscGraph) g = msc_onnx_load_buffer(buf, len, "pruner-copy", error);
  if (!g || !msc_graph_verify(g, error)) return NULL;
  if (!pruner_slice_graph(g, masks, error)) return NULL;
  if (!msc_graph_verify(g, error)) {
    g_prefix_error(error, "the sliced graph does not verify: ");
    return NULL;
  }
  if (g->n_nodes != g0->n_nodes) {
    msc_set_error(error, MSC_ERR_INTERNAL, "copy of the graph has %u nodes, the original %u", g->n_nodes, g0->n_nodes);
    return NULL;
  }
  /* re-verification may reorder nodes (a computed shape became a constant):
   * match them by their first output, run them in the original order */
  g_autoptr(GHashTable) by_out = g_hash_table_new(g_str_hash, g_str_equal);
  for (uint32_t i = 0; i < g->n_nodes; i++)
    for (uint32_t j = 0; j < g->nodes[i]->n_outputs; j++)
      if (g->nodes[i]->outputs[j]) g_hash_table_insert(by_out, g->nodes[i]->outputs[j]->name, g->nodes[i]);
  MscNode **order = g_new0(MscNode *, g->n_nodes + 1);
  for (uint32_t i = 0; i < g0->n_nodes; i++) {
    const MscNode *n0 = g0->nodes[i];
    for (uint32_t j = 0; j < n0->n_outputs && !order[i]; j++)
      if (n0->outputs[j]) order[i] = g_hash_table_lookup(by_out, n0->outputs[j]->name);
    if (!order[i] || strcmp(order[i]->op_type, n0->op_type)) {
      msc_set_error(error, MSC_ERR_INTERNAL, "copy of the graph: no match for node %u '%s' (%s)", i, n0->name,
                    n0->op_type);
      g_free(order);
      return NULL;
    }
  }
  *order_out = order;
  return g_steal_pointer(&g);
}

gboolean pruner_refit_run(const MscGraph *g0, GHashTable *masks, MscTensor ***inputs, guint S,
                          const PrunerOptions *o, GPtrArray **refits, PrunerError *plain, PrunerError *fitted,
                          GString *notes, GError **error) {
  *refits = g_ptr_array_new_with_free_func((GDestroyNotify)pruner_refit_free);
  MscNode **op = NULL, **of = NULL;
  g_autoptr(MscGraph) gp = sliced_copy(g0, masks, &op, error);
  if (!gp) return FALSE;
  g_autoptr(MscGraph) gf = o->reconstruct ? sliced_copy(g0, masks, &of, error) : NULL;
  if (o->reconstruct && !gf) {
    g_free(op);
    return FALSE;
  }
  if (S == 0) {
    g_free(op);
    g_free(of);
    return TRUE;
  }
  Run r0, rp, rf = {0};
  run_init(&r0, (MscGraph *)g0, g_memdup2(g0->nodes, sizeof(MscNode *) * g0->n_nodes), inputs, S);
  run_init(&rp, gp, op, inputs, S);
  if (gf) run_init(&rf, gf, of, inputs, S);
  Fit fit = {g0, &r0, &rf, S, masks, o, 0x9e3779b9u};
  gboolean ok = TRUE;
  for (uint32_t i = 0; i < g0->n_nodes && ok; i++) {
    for (guint s = 0; s < S && ok; s++) ok = exec_node(&r0, i, s, error) && exec_node(&rp, i, s, error);
    if (!ok) break;
    if (gf) {
      const MscNode *n1 = rf.order[i];
      if (refit_target(n1, masks)) {
        PrunerRefit *r = !strcmp(n1->op_type, "Conv") ? fit_conv(&fit, i, error) : fit_dense(&fit, i, error);
        if (r) {
          GPtrArray *one = g_ptr_array_new();
          g_ptr_array_add(one, r);
          ok = pruner_install_refits(gf, rf.order, one, error);
          g_ptr_array_unref(one);
          g_ptr_array_add(*refits, r);
        } else if (notes) {
          g_string_append_printf(notes, "node '%s' (%s): not refitted; ", n1->name, n1->op_type);
        }
      }
      for (guint s = 0; s < S && ok; s++) ok = exec_node(&rf, i, s, error);
      release(&rf, i, S);
    }
    release(&r0, i, S);
    release(&rp, i, S);
  }
  if (ok) {
    measure(&r0, &rp, S, plain);
    if (gf) measure(&r0, &rf, S, fitted);
  }
  run_clear(&r0, S);
  run_clear(&rp, S);
  if (gf) run_clear(&rf, S);
  return ok;
}
