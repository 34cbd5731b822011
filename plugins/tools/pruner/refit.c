/* refit.c: recovery without training, and the whole-model output error.
 *
 * The unpruned graph, the plainly sliced graph and (with reconstruct) a
 * second sliced graph that gets refitted are run side by side, node by
 * node in topological order, on the captured samples (msc_node_execute,
 * the reference kernels). When the refitted graph reaches a Conv (group 1),
 * Gemm or MatMul with a constant weight whose input channels were pruned
 * (or, with refit_drift, whose input drifted), its weights and bias are
 * solved first, in the "channel pruning" / ThiNet formulation applied
 * sequentially: the target is the UNPRUNED layer's pre-activation output
 * (on the unpruned inputs), the regressors are the REFITTED graph's own
 * inputs (pruned, already corrected upstream), so each fit also absorbs
 * the drift of the layers before it. Then the layer runs with its new
 * weights and the walk goes on.
 *
 * The captured samples are split: the first three quarters give the
 * fitting rows, the last quarter (from 4 samples on) the validation rows
 * (output positions sampled without replacement, a bounded number per
 * layer). Normal equations are accumulated in double; ridges of 0.01x to
 * 100x `ridge` (relative to the mean input energy, pulling towards the
 * plainly sliced weights), a bias-only fit and the affine fit (the sliced
 * weights rescaled per output channel, plus a bias) are solved, and each
 * output channel keeps the candidate with the lowest validation error --
 * or its plainly sliced weights when none beats them (the guard; the
 * report lists per layer the validation error before/after and how many
 * channels stayed plain). A layer with fewer fitting rows than weights
 * (one row per sample: squeeze-excitation, classifiers) only tries the
 * bias-only and affine fits. The chosen candidates are re-solved on
 * fitting + validation rows. Last, the model-level guard: when the
 * refitted model's outputs are further from the unpruned ones than the
 * plainly sliced model's on the validation samples, every refit is
 * dropped. Memory: only live tensors are kept (freed after their last
 * consumer). */
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

/* ---- least squares ----
 * Normal equations accumulated in double from blocks of rows: G = X'X
 * (upper triangle), XY = X'Y, yy = per target column sum of y^2. Four rows
 * at a time per G row keep the update in cache for wide layers. */

#define LSQ_BLOCK 64

typedef struct {
  int D, M;
  double *G;  /* D x D, upper triangle accumulated */
  double *XY; /* D x M */
  double *yy; /* M */
  int64_t rows;
  int nb;            /* buffered rows */
  double *Xb, *Yb;   /* LSQ_BLOCK x D, LSQ_BLOCK x M */
} Lsq;

static void lsq_init(Lsq *l, int D, int M) {
  memset(l, 0, sizeof *l);
  l->D = D;
  l->M = M;
  l->G = g_new0(double, (size_t)D * D);
  l->XY = g_new0(double, (size_t)D * M);
  l->yy = g_new0(double, M);
  l->Xb = g_new0(double, (size_t)LSQ_BLOCK * D);
  l->Yb = g_new0(double, (size_t)LSQ_BLOCK * M);
}

static void lsq_clear(Lsq *l) {
  g_free(l->G);
  g_free(l->XY);
  g_free(l->yy);
  g_free(l->Xb);
  g_free(l->Yb);
  memset(l, 0, sizeof *l);
}

static void lsq_flush(Lsq *l) {
  const int D = l->D, M = l->M;
  if (!l->nb) return;
  while (l->nb % 4) { /* zero rows add nothing */
    memset(l->Xb + (size_t)l->nb * D, 0, sizeof(double) * D);
    memset(l->Yb + (size_t)l->nb * M, 0, sizeof(double) * M);
    l->nb++;
  }
  enum { TA = 16 };
  for (int a0 = 0; a0 < D; a0 += TA) {
    const int a1 = MIN(D, a0 + TA);
    for (int r = 0; r < l->nb; r += 4) {
      const double *restrict x0 = l->Xb + (size_t)r * D, *restrict x1 = x0 + D, *restrict x2 = x1 + D,
                             *restrict x3 = x2 + D;
      const double *restrict y0 = l->Yb + (size_t)r * M, *restrict y1 = y0 + M, *restrict y2 = y1 + M,
                             *restrict y3 = y2 + M;
      for (int a = a0; a < a1; a++) {
        const double c0 = x0[a], c1 = x1[a], c2 = x2[a], c3 = x3[a];
        if (c0 == 0 && c1 == 0 && c2 == 0 && c3 == 0) continue;
        double *restrict g = l->G + (size_t)a * D;
        for (int b = a; b < D; b++) g[b] += c0 * x0[b] + c1 * x1[b] + c2 * x2[b] + c3 * x3[b];
        double *restrict xy = l->XY + (size_t)a * M;
        for (int m = 0; m < M; m++) xy[m] += c0 * y0[m] + c1 * y1[m] + c2 * y2[m] + c3 * y3[m];
      }
    }
  }
  for (int r = 0; r < l->nb; r++)
    for (int m = 0; m < M; m++) l->yy[m] += l->Yb[(size_t)r * M + m] * l->Yb[(size_t)r * M + m];
  l->nb = 0;
}

/* Adds one row; @x and @y are copied (D and M entries). */
static inline double *lsq_row_x(Lsq *l) {
  return l->Xb + (size_t)l->nb * l->D;
}
static inline double *lsq_row_y(Lsq *l) {
  return l->Yb + (size_t)l->nb * l->M;
}
static inline void lsq_row_done(Lsq *l) {
  l->rows++;
  if (++l->nb == LSQ_BLOCK) lsq_flush(l);
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

/* Mean diagonal of the weight part of G (the ridge scale). */
static double lsq_mean_diag(const Lsq *l, int Dw) {
  double tr = 0;
  for (int a = 0; a < Dw; a++) tr += l->G[(size_t)a * l->D + a];
  double md = Dw > 0 ? tr / Dw : 1.0;
  return md > 0 && isfinite(md) ? md : 1.0;
}

/* Solves (G_a [+ G_b] + lambda*I_w + eps*I_b) W = XY_a [+ XY_b] + lambda*W0 + eps*W0_b
 * for all M columns into @sol (D x M). The bias row (last when @bias) gets a
 * tiny ridge. Raises lambda tenfold while the matrix is not positive
 * definite (at most 6 times); FALSE when it never is. */
static gboolean lsq_solve(const Lsq *la, const Lsq *lb, const double *W0, double lambda, gboolean bias,
                          double mean_diag, double *sol) {
  const int D = la->D, M = la->M, Dw = bias ? D - 1 : D;
  const double eps_b = 1e-6 * mean_diag + 1e-12;
  g_autofree double *A = g_new(double, (size_t)D * D);
  g_autofree double *z = g_new(double, D);
  for (int attempt = 0; attempt < 6; attempt++, lambda *= 10) {
    for (int a = 0; a < D; a++)
      for (int b = 0; b < D; b++) {
        size_t ix = a <= b ? (size_t)a * D + b : (size_t)b * D + a;
        A[(size_t)a * D + b] = la->G[ix] + (lb ? lb->G[ix] : 0.0);
      }
    for (int a = 0; a < Dw; a++) A[(size_t)a * D + a] += lambda;
    if (bias) A[(size_t)(D - 1) * D + D - 1] += eps_b;
    if (!cholesky(A, D)) continue;
    for (int m = 0; m < M; m++) {
      for (int a = 0; a < D; a++) {
        size_t ix = (size_t)a * M + m;
        double rhs = la->XY[ix] + (lb ? lb->XY[ix] : 0.0) + (a < Dw ? lambda : eps_b) * W0[ix];
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

/* Squared error per column of W (D x M) on the rows of @l: w'Gw - 2w'xy + yy.
 * @Gf: @l's G made symmetric (D x D); @T: scratch D x M. */
static void lsq_col_err(const Lsq *l, const double *Gf, const double *W, double *T, double *err) {
  const int D = l->D, M = l->M;
  memset(T, 0, sizeof(double) * (size_t)D * M);
  for (int a = 0; a < D; a++) {
    double *restrict t = T + (size_t)a * M;
    for (int b = 0; b < D; b++) {
      const double gab = Gf[(size_t)a * D + b];
      if (gab == 0) continue;
      const double *restrict w = W + (size_t)b * M;
      for (int m = 0; m < M; m++) t[m] += gab * w[m];
    }
  }
  for (int m = 0; m < M; m++) err[m] = l->yy[m];
  for (int a = 0; a < D; a++) {
    const double *w = W + (size_t)a * M, *t = T + (size_t)a * M, *xy = l->XY + (size_t)a * M;
    for (int m = 0; m < M; m++) err[m] += w[m] * (t[m] - 2.0 * xy[m]);
  }
  for (int m = 0; m < M; m++) err[m] = MAX(err[m], 0.0);
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
  guint S, S_fit; /* samples [0, S_fit) fit the weights, [S_fit, S) validate them */
  GHashTable *masks;
  const PrunerOptions *o;
  uint32_t seed;
  GArray *stats; /* PrunerFitStat */
} Fit;

/* Rows per layer from the fitting samples (the validation samples give
 * proportionally as many): several per regressor, bounded for time. */
static int64_t row_budget(int D) {
  int64_t r = 8 * (int64_t)D;
  return CLAMP(r, 2048, 16384);
}

/* Regression rows of one layer: output position @p of sample @s gives the
 * refitted graph's input patch (x, plus the constant 1 of the bias) and the
 * unpruned graph's kept outputs (y). */
typedef struct {
  gboolean conv;
  const MscNode *n0, *n1;
  const Run *r0, *r1;
  int D, M;
  const int64_t *ko; /* kept output index of each target */
  gboolean bias;
  /* conv */
  int64_t C1, KH, KW, H, W, Ho, Wo, stride[2], dil[2], pads[4];
  /* dense */
  int64_t K1;
} RowSrc;

static int64_t src_positions(const RowSrc *r, guint s) {
  const MscTensor *X = get(r->r1, s, r->n1->inputs[0]), *Y = get(r->r0, s, r->n0->outputs[0]);
  if (!X || !Y || X->dtype != MSC_DTYPE_FLOAT32 || Y->dtype != MSC_DTYPE_FLOAT32) return 0;
  if (r->conv) {
    if (X->rank != 4 || Y->rank != 4 || X->dims[1] != r->C1 || X->dims[2] != r->H || X->dims[3] != r->W ||
        Y->dims[2] != r->Ho || Y->dims[3] != r->Wo || Y->dims[0] != X->dims[0])
      return 0;
    return X->dims[0] * r->Ho * r->Wo;
  }
  if (X->dims[X->rank - 1] != r->K1 || msc_tensor_numel(X) / r->K1 != msc_tensor_numel(Y) / Y->dims[Y->rank - 1])
    return 0;
  return msc_tensor_numel(X) / r->K1;
}

static void src_row(const RowSrc *r, guint s, int64_t p, double *x, double *y) {
  const MscTensor *X = get(r->r1, s, r->n1->inputs[0]), *Y = get(r->r0, s, r->n0->outputs[0]);
  const float *xd = X->data, *yd = Y->data;
  if (r->conv) {
    const int64_t Ho = r->Ho, Wo = r->Wo, H = r->H, W = r->W, C1 = r->C1, Mfull = Y->dims[1];
    const int64_t nb = p / (Ho * Wo), oh = (p / Wo) % Ho, ow = p % Wo;
    int q = 0;
    for (int64_t c = 0; c < C1; c++)
      for (int64_t ky = 0; ky < r->KH; ky++) {
        const int64_t ih = oh * r->stride[0] - r->pads[0] + ky * r->dil[0];
        for (int64_t kx = 0; kx < r->KW; kx++) {
          const int64_t iw = ow * r->stride[1] - r->pads[1] + kx * r->dil[1];
          x[q++] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? xd[((nb * C1 + c) * H + ih) * W + iw] : 0.0;
        }
      }
    if (r->bias) x[q] = 1.0;
    for (int m = 0; m < r->M; m++) y[m] = yd[((nb * Mfull + r->ko[m]) * Ho + oh) * Wo + ow];
  } else {
    const int64_t Nfull = Y->dims[Y->rank - 1];
    for (int64_t k = 0; k < r->K1; k++) x[k] = xd[p * r->K1 + k];
    if (r->bias) x[r->K1] = 1.0;
    for (int m = 0; m < r->M; m++) y[m] = yd[p * Nfull + r->ko[m]];
  }
}

/* Rows of samples [s0, s1) into @l: every position when a sample has at most
 * @per, else @per distinct positions drawn at random. */
static void collect(const RowSrc *src, guint s0, guint s1, int64_t per, Lsq *l, uint32_t *st) {
  for (guint s = s0; s < s1; s++) {
    const int64_t P = src_positions(src, s);
    if (P <= 0) continue;
    const int64_t take = MIN(P, per);
    g_autofree int64_t *idx = NULL;
    if (take < P) { /* partial Fisher-Yates */
      idx = g_new(int64_t, P);
      for (int64_t t = 0; t < P; t++) idx[t] = t;
      for (int64_t t = 0; t < take; t++) {
        int64_t j = t + (int64_t)(msc_mulberry32(st) % (uint32_t)(P - t));
        int64_t tmp = idx[t];
        idx[t] = idx[j];
        idx[j] = tmp;
      }
    }
    for (int64_t t = 0; t < take; t++) {
      src_row(src, s, idx ? idx[t] : t, lsq_row_x(l), lsq_row_y(l));
      lsq_row_done(l);
    }
  }
  lsq_flush(l);
}

/* The "affine" candidate: every target column keeps the direction of its
 * plainly sliced weights and only gets a scale and (with @bias) a new
 * bias, y ~ a * (w0'x) + b, solved from the normal equations of @la (+ @lb)
 * with a small ridge pulling a to 1. Two unknowns per column: well-posed
 * with any number of rows, so it is the refit of layers fed one row per
 * sample (squeeze-excitation, classifiers) where a full fit would memorize
 * the samples, and it absorbs the gain and mean shift the removed
 * channels leave. */
static void lsq_affine(const Lsq *la, const Lsq *lb, const double *W0, gboolean bias, double *W) {
  const int D = la->D, M = la->M, Dw = bias ? D - 1 : D;
#define GSYM(l, a, b) ((l)->G[(a) <= (b) ? (size_t)(a) * D + (b) : (size_t)(b) * D + (a)])
#define GALL(a, b) (GSYM(la, a, b) + (lb ? GSYM(lb, a, b) : 0.0))
#define XYALL(a, m) (la->XY[(size_t)(a) * M + (m)] + (lb ? lb->XY[(size_t)(a) * M + (m)] : 0.0))
  g_autofree double *Gw = g_new0(double, (size_t)Dw * M); /* G_ww W0_w, column by column */
  for (int a = 0; a < Dw; a++)
    for (int b = 0; b < Dw; b++) {
      const double g = GALL(a, b);
      if (g == 0) continue;
      for (int m = 0; m < M; m++) Gw[(size_t)a * M + m] += g * W0[(size_t)b * M + m];
    }
  for (int m = 0; m < M; m++) {
    double zz = 0, zy = 0, z1 = 0;
    for (int a = 0; a < Dw; a++) {
      const double w = W0[(size_t)a * M + m];
      zz += w * Gw[(size_t)a * M + m];
      zy += w * XYALL(a, m);
      if (bias) z1 += w * GALL(a, Dw);
    }
    const double lam = 1e-6 * zz + 1e-30; /* towards a = 1 (stability only) */
    double sc = 1.0, b = 0.0;
    if (bias) {
      const double n = GALL(Dw, Dw), y1 = XYALL(Dw, m), b0 = W0[(size_t)Dw * M + m];
      const double e = 1e-6 * n + 1e-30; /* towards b = b0 */
      const double A00 = zz + lam, A01 = z1, A11 = n + e, r0 = zy + lam, r1 = y1 + e * b0;
      const double det = A00 * A11 - A01 * A01;
      if (det > 0 && isfinite(det)) {
        sc = (r0 * A11 - A01 * r1) / det;
        b = (A00 * r1 - A01 * r0) / det;
      } else {
        b = b0;
      }
    } else if (zz > 0) {
      sc = (zy + lam) / (zz + lam);
    }
    if (!isfinite(sc) || !isfinite(b)) {
      sc = 1.0;
      b = bias ? W0[(size_t)Dw * M + m] : 0.0;
    }
    for (int a = 0; a < Dw; a++) W[(size_t)a * M + m] = sc * W0[(size_t)a * M + m];
    if (bias) W[(size_t)Dw * M + m] = b;
  }
#undef GSYM
#undef GALL
#undef XYALL
}

/* Solves the refit of one layer into @sol (D x M, W0's layout). With
 * validation rows, each target column takes the ridge, the affine fit (or
 * the plainly sliced weights) with the lowest error on them, and the chosen columns are
 * re-solved on fitting + validation rows. FALSE when no column changed. */
static gboolean solve_layer(const Fit *f, Lsq *lf, Lsq *lv, const double *W0, gboolean bias, double *sol,
                            PrunerFitStat *st) {
  const int D = lf->D, M = lf->M, Dw = bias ? D - 1 : D;
  const double md = lsq_mean_diag(lf, Dw), ridge = f->o->ridge;
  st->rows_fit = lf->rows;
  st->rows_val = lv->rows;
  if (lf->rows == 0) return FALSE;
  if (lv->rows == 0) { /* no validation split: one ridge */
    double lambda = ridge * md * MAX(1.0, (double)Dw / (double)lf->rows) + 1e-12 * md;
    /* fewer rows than weights (a classifier fed one row per sample): keep
     * the weights, fit the bias (the mean shift the removed channels leave) */
    if (lf->rows < Dw) lambda = 1e6 * md;
    st->cols_plain = 0;
    return lsq_solve(lf, NULL, W0, lambda, bias, md, sol);
  }
  double lam[8];
  int nl = 0;
  static const double mult[] = {1e-2, 1e-1, 1.0, 10.0, 100.0};
  const gboolean wide = (double)D * D * (D + M) > 4e9; /* Cholesky + error per candidate */
  /* fewer fitting rows than weights (squeeze-excitation, a classifier fed
   * one row per sample): a full fit memorizes them, only the bias-only and
   * affine candidates are tried */
  const gboolean few = lf->rows < Dw;
  for (guint k = 0; k < G_N_ELEMENTS(mult) && !few; k++)
    if (!wide || mult[k] == 1.0 || mult[k] == 10.0) lam[nl++] = ridge * mult[k] * md + 1e-12 * md;
  if (bias) lam[nl++] = 1e6 * md; /* plain weights, refitted bias */
  g_autofree double *Gv = g_new(double, (size_t)D * D);
  for (int a = 0; a < D; a++)
    for (int b = 0; b < D; b++) Gv[(size_t)a * D + b] = lv->G[a <= b ? (size_t)a * D + b : (size_t)b * D + a];
  g_autofree double *T = g_new(double, (size_t)D * M);
  g_autofree double *W = g_new(double, (size_t)D * M);
  g_autofree double *e = g_new(double, M);
  g_autofree double *best = g_new(double, M);
  g_autofree int *choice = g_new(int, M);
  lsq_col_err(lv, Gv, W0, T, best);
  double e_plain = 0, yy = 0;
  for (int m = 0; m < M; m++) {
    choice[m] = -1;
    e_plain += best[m];
    yy += lv->yy[m];
  }
  const int n_cand = nl + 1; /* the ridges, then the affine candidate */
  for (int k = 0; k < n_cand; k++) {
    if (k < nl ? !lsq_solve(lf, NULL, W0, lam[k], bias, md, W) : (lsq_affine(lf, NULL, W0, bias, W), FALSE)) continue;
    lsq_col_err(lv, Gv, W, T, e);
    for (int m = 0; m < M; m++)
      if (e[m] < best[m]) {
        best[m] = e[m];
        choice[m] = k;
      }
  }
  memcpy(sol, W0, sizeof(double) * (size_t)D * M);
  double e_fit = 0;
  st->cols_plain = 0;
  for (int m = 0; m < M; m++) {
    e_fit += best[m];
    st->cols_plain += choice[m] < 0;
  }
  st->err_plain = yy > 0 ? e_plain / yy : NAN;
  st->err_fit = yy > 0 ? e_fit / yy : NAN;
  if (st->cols_plain == M) return FALSE;
  for (int k = 0; k < n_cand; k++) {
    gboolean used = FALSE;
    for (int m = 0; m < M && !used; m++) used = choice[m] == k;
    if (!used) continue;
    if (k == nl) {
      lsq_affine(lf, lv, W0, bias, W);
    } else if (!lsq_solve(lf, lv, W0, lam[k], bias, md, W)) { /* keep the fitting-rows solution */
      if (!lsq_solve(lf, NULL, W0, lam[k], bias, md, W)) return FALSE;
    }
    for (int a = 0; a < D; a++)
      for (int m = 0; m < M; m++)
        if (choice[m] == k) sol[(size_t)a * M + m] = W[(size_t)a * M + m];
  }
  return TRUE;
}

static PrunerRefit *refit_new(const MscNode *n1, uint32_t i) {
  PrunerRefit *r = g_new0(PrunerRefit, 1);
  r->index = i;
  r->node_name = g_strdup(n1->name);
  r->op_type = g_strdup(n1->op_type);
  return r;
}

/* Conv (group 1, 2-D): returns the refit or NULL (not fittable or no column improved; no error) */
static PrunerRefit *fit_conv(Fit *f, uint32_t i, PrunerFitStat *st, GError **error) {
  const MscNode *n0 = f->g0->nodes[i], *n1 = f->r1->order[i];
  const MscTensor *w1 = n1->inputs[1]->value;
  if (!w1 || w1->rank != 4 || w1->dtype != MSC_DTYPE_FLOAT32) return NULL;
  const MscTensor *b1 = n1->n_inputs > 2 && n1->inputs[2] ? n1->inputs[2]->value : NULL;
  if (n1->n_inputs > 2 && n1->inputs[2] && !b1) return NULL; /* computed bias */
  const MscTensor *x_first = get(f->r1, 0, n1->inputs[0]);
  const MscTensor *y_first = get(f->r0, 0, n0->outputs[0]);
  if (!x_first || !y_first || x_first->rank != 4 || y_first->rank != 4 || x_first->dtype != MSC_DTYPE_FLOAT32)
    return NULL;
  RowSrc src = {.conv = TRUE, .n0 = n0, .n1 = n1, .r0 = f->r0, .r1 = f->r1, .bias = TRUE};
  src.C1 = w1->dims[1];
  src.KH = w1->dims[2];
  src.KW = w1->dims[3];
  src.H = x_first->dims[2];
  src.W = x_first->dims[3];
  src.Ho = y_first->dims[2];
  src.Wo = y_first->dims[3];
  if (x_first->dims[1] != src.C1) return NULL;
  int64_t kernel[2] = {src.KH, src.KW}, in[2] = {src.H, src.W};
  src.stride[0] = src.stride[1] = src.dil[0] = src.dil[1] = 1;
  const MscAttr *a;
  if ((a = attr_ints(n1, "strides")) && a->n == 2) memcpy(src.stride, a->ints, sizeof src.stride);
  if ((a = attr_ints(n1, "dilations")) && a->n == 2) memcpy(src.dil, a->ints, sizeof src.dil);
  MscAutoPad ap = MSC_AUTO_PAD_NOTSET;
  for (uint32_t k = 0; k < n1->n_attrs; k++)
    if (!strcmp(n1->attrs[k].name, "auto_pad") && n1->attrs[k].type == MSC_ATTR_STRING &&
        !msc_auto_pad_parse(n1->attrs[k].s, &ap, NULL))
      return NULL;
  const MscAttr *pa = attr_ints(n1, "pads");
  if (!msc_get_pad_tuple_2d(in, kernel, src.stride, src.dil, ap, pa ? pa->ints : NULL, pa ? pa->n : 0, src.pads,
                            NULL))
    return NULL;
  int64_t n_kept = 0;
  g_autofree int64_t *ko = kept_outputs(f->masks, n1->outputs[0], y_first->dims[1], &n_kept);
  if (n_kept != w1->dims[0]) return NULL;
  src.ko = ko;
  const int Dw = (int)(src.C1 * src.KH * src.KW), D = Dw + 1, M = (int)n_kept;
  src.D = D;
  src.M = M;
  st->regressors = D;
  st->targets = M;
  Lsq lf, lv;
  lsq_init(&lf, D, M);
  lsq_init(&lv, D, M);
  const int64_t per = (row_budget(D) + f->S_fit - 1) / f->S_fit;
  uint32_t rs = f->seed ^ (i * 2654435761u);
  collect(&src, 0, f->S_fit, per, &lf, &rs);
  collect(&src, f->S_fit, f->S, per, &lv, &rs);
  g_autofree double *W0 = g_new0(double, (size_t)D * M);
  g_autofree double *sol = g_new0(double, (size_t)D * M);
  const float *wd = w1->data;
  for (int m = 0; m < M; m++) {
    for (int a2 = 0; a2 < Dw; a2++) W0[(size_t)a2 * M + m] = wd[(size_t)m * Dw + a2];
    W0[(size_t)Dw * M + m] = b1 ? msc_tensor_get_f64(b1, m) : 0.0;
  }
  gboolean ok = solve_layer(f, &lf, &lv, W0, TRUE, sol, st);
  lsq_clear(&lf);
  lsq_clear(&lv);
  if (!ok) return NULL;
  PrunerRefit *r = refit_new(n1, i);
  r->weight = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, w1->dims, error);
  int64_t bd[1] = {M};
  r->bias = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, bd, error);
  if (!r->weight || !r->bias) {
    pruner_refit_free(r);
    return NULL;
  }
  float *nw = r->weight->data, *nbias = r->bias->data;
  for (int m = 0; m < M; m++) {
    for (int a2 = 0; a2 < Dw; a2++) nw[(size_t)m * Dw + a2] = (float)sol[(size_t)a2 * M + m];
    nbias[m] = (float)sol[(size_t)Dw * M + m];
  }
  return r;
}

/* Gemm (transA 0) / MatMul with a constant 2-D weight. */
static PrunerRefit *fit_dense(Fit *f, uint32_t i, PrunerFitStat *st, GError **error) {
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
  if (!y_first || y_first->rank < 1) return NULL;
  int64_t n_kept = 0;
  g_autofree int64_t *ko = kept_outputs(f->masks, n1->outputs[0], y_first->dims[y_first->rank - 1], &n_kept);
  if (n_kept != N1) return NULL;
  const int D = (int)K1 + (bias ? 1 : 0), M = (int)N1;
  RowSrc src = {.conv = FALSE, .n0 = n0, .n1 = n1, .r0 = f->r0, .r1 = f->r1, .D = D, .M = M, .ko = ko,
                .bias = bias, .K1 = K1};
  st->regressors = D;
  st->targets = M;
  Lsq lf, lv;
  lsq_init(&lf, D, M);
  lsq_init(&lv, D, M);
  const int64_t per = (row_budget(D) + f->S_fit - 1) / f->S_fit;
  uint32_t rs = f->seed ^ (i * 2654435761u);
  collect(&src, 0, f->S_fit, per, &lf, &rs);
  collect(&src, f->S_fit, f->S, per, &lv, &rs);
  g_autofree double *W0 = g_new0(double, (size_t)D * M);
  g_autofree double *sol = g_new0(double, (size_t)D * M);
  const float *bd = b->data;
  for (int64_t k = 0; k < K1; k++)
    for (int m = 0; m < M; m++) W0[(size_t)k * M + m] = alpha * (tb ? bd[(size_t)m * K1 + k] : bd[(size_t)k * N1 + m]);
  if (bias)
    for (int m = 0; m < M; m++) W0[(size_t)K1 * M + m] = c1 ? beta * msc_tensor_get_f64(c1, m) : 0.0;
  gboolean ok = solve_layer(f, &lf, &lv, W0, bias, sol, st);
  lsq_clear(&lf);
  lsq_clear(&lv);
  if (!ok) return NULL;
  PrunerRefit *r = refit_new(n1, i);
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

/* Conv (group 1), Gemm, MatMul with a constant weight. */
static gboolean fittable(const MscNode *n) {
  if (n->n_inputs < 2 || !n->inputs[0] || !n->inputs[1] || !n->inputs[1]->value || !n->n_outputs || !n->outputs[0])
    return FALSE;
  if (!strcmp(n->op_type, "Conv")) return attr_i(n, "group", 1) == 1;
  return !strcmp(n->op_type, "Gemm") || !strcmp(n->op_type, "MatMul");
}

/* Input channels of @n were pruned. */
static gboolean input_pruned(const MscNode *n, GHashTable *masks) {
  const PrunerMask *mi = g_hash_table_lookup(masks, n->inputs[0]->name);
  return mi && mi->kept < mi->dim;
}

/* The refitted graph's input of node @i differs from the unpruned one's (first samples). */
static gboolean input_drifted(const Fit *f, uint32_t i) {
  const MscNode *n0 = f->g0->nodes[i], *n1 = f->r1->order[i];
  for (guint s = 0; s < MIN(f->S, 2u); s++) {
    const MscTensor *a = get(f->r0, s, n0->inputs[0]), *b = get(f->r1, s, n1->inputs[0]);
    if (!a || !b || a->dtype != MSC_DTYPE_FLOAT32 || b->dtype != MSC_DTYPE_FLOAT32 ||
        msc_tensor_numel(a) != msc_tensor_numel(b))
      return FALSE;
    const float *x = a->data, *y = b->data;
    double d = 0, n = 0;
    for (int64_t k = 0; k < msc_tensor_numel(a); k++) {
      d += ((double)x[k] - y[k]) * ((double)x[k] - y[k]);
      n += (double)x[k] * x[k];
    }
    if (d > 1e-10 * n) return TRUE;
  }
  return FALSE;
}

/* Output error of run @r against @r0 on samples [s0, s1): per output, the
 * cosine of all samples flattened together (as the held-out evaluation). */
static void measure(const Run *r0, const Run *r, guint s0, guint s1, PrunerError *e) {
  const MscGraph *g = r0->g;
  pruner_error_clear(e);
  e->valid = TRUE;
  e->n_outputs = g->n_outputs;
  e->n_samples = s1 - s0;
  e->cosine = g_new(double, g->n_outputs ? g->n_outputs : 1);
  e->maxabs = g_new0(double, g->n_outputs ? g->n_outputs : 1);
  e->min_cosine = 1.0;
  for (uint32_t j = 0; j < g->n_outputs; j++) {
    double dot = 0, na = 0, nb = 0, mx = 0;
    gboolean bad = FALSE;
    for (guint s = s0; s < s1; s++) {
      const MscTensor *a = get(r0, s, g->outputs[j]), *b = get(r, s, r->g->outputs[j]);
      if (!a || !b || msc_tensor_numel(a) != msc_tensor_numel(b) || !msc_dtype_is_float(a->dtype)) {
        bad = TRUE;
        continue;
      }
      for (int64_t k = 0; k < msc_tensor_numel(a); k++) {
        double x = msc_tensor_get_f64(a, k), y = msc_tensor_get_f64(b, k);
        dot += x * y;
        na += x * x;
        nb += y * y;
        mx = MAX(mx, fabs(x - y));
      }
    }
    e->cosine[j] = bad ? NAN : na == 0 && nb == 0 ? 1.0 : (na == 0 || nb == 0) ? 0.0 : dot / sqrt(na * nb);
    e->maxabs[j] = mx;
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

gboolean pruner_error_worse(const PrunerError *a, const PrunerError *b) {
  if (!a->valid || !b->valid || a->n_outputs != b->n_outputs || !a->n_outputs) return FALSE;
  double ea = 0, eb = 0;
  for (guint j = 0; j < a->n_outputs; j++) {
    ea += isfinite(a->cosine[j]) ? 1.0 - a->cosine[j] : 2.0;
    eb += isfinite(b->cosine[j]) ? 1.0 - b->cosine[j] : 2.0;
  }
  return ea > eb;
}

void pruner_fit_result_clear(PrunerFitResult *r) {
  if (r->refits) g_ptr_array_unref(r->refits);
  if (r->stats) {
    for (guint i = 0; i < r->stats->len; i++) {
      g_free(g_array_index(r->stats, PrunerFitStat, i).node_name);
      g_free(g_array_index(r->stats, PrunerFitStat, i).op_type);
    }
    g_array_unref(r->stats);
  }
  pruner_error_clear(&r->plain);
  pruner_error_clear(&r->fitted);
  pruner_error_clear(&r->val_plain);
  pruner_error_clear(&r->val_fitted);
  memset(r, 0, sizeof *r);
}

gboolean pruner_refit_run(const MscGraph *g0, GHashTable *masks, MscTensor ***inputs, guint S,
                          const PrunerOptions *o, PrunerFitResult *res, GString *notes, GError **error) {
  pruner_fit_result_clear(res);
  res->refits = g_ptr_array_new_with_free_func((GDestroyNotify)pruner_refit_free);
  res->stats = g_array_new(FALSE, TRUE, sizeof(PrunerFitStat));
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
  /* a quarter of the samples (from 4 on) validates every layer's refit */
  const guint n_val = S >= 4 ? S / 4 : 0;
  res->n_fit = S - n_val;
  res->n_val = n_val;
  Run r0, rp, rf = {0};
  run_init(&r0, (MscGraph *)g0, g_memdup2(g0->nodes, sizeof(MscNode *) * g0->n_nodes), inputs, S);
  run_init(&rp, gp, op, inputs, S);
  if (gf) run_init(&rf, gf, of, inputs, S);
  Fit fit = {g0, &r0, &rf, S, S - n_val, masks, o, 0x9e3779b9u, res->stats};
  gboolean ok = TRUE;
  for (uint32_t i = 0; i < g0->n_nodes && ok; i++) {
    for (guint s = 0; s < S && ok; s++) ok = exec_node(&r0, i, s, error) && exec_node(&rp, i, s, error);
    if (!ok) break;
    if (gf) {
      const MscNode *n1 = rf.order[i];
      gboolean pruned = fittable(n1) && input_pruned(n1, masks);
      gboolean drift = !pruned && o->refit_drift && fittable(n1) && input_drifted(&fit, i);
      if (pruned || drift) {
        PrunerFitStat st = {0};
        st.node_name = g_strdup(n1->name);
        st.op_type = g_strdup(n1->op_type);
        st.err_plain = st.err_fit = NAN;
        st.drift_only = drift;
        PrunerRefit *r = !strcmp(n1->op_type, "Conv") ? fit_conv(&fit, i, &st, error) : fit_dense(&fit, i, &st, error);
        if (r) {
          GPtrArray *one = g_ptr_array_new();
          g_ptr_array_add(one, r);
          ok = pruner_install_refits(gf, rf.order, one, error);
          g_ptr_array_unref(one);
          g_ptr_array_add(res->refits, r);
          st.refitted = TRUE;
        } else if (notes && pruned && st.rows_fit == 0) {
          g_string_append_printf(notes, "node '%s' (%s): not refitted (unsupported layout); ", n1->name,
                                 n1->op_type);
        }
        g_array_append_val(res->stats, st);
      }
      for (guint s = 0; s < S && ok; s++) ok = exec_node(&rf, i, s, error);
      release(&rf, i, S);
    }
    release(&r0, i, S);
    release(&rp, i, S);
  }
  if (ok) {
    measure(&r0, &rp, 0, S, &res->plain);
    if (gf) measure(&r0, &rf, 0, S, &res->fitted);
    if (n_val) {
      measure(&r0, &rp, S - n_val, S, &res->val_plain);
      if (gf) measure(&r0, &rf, S - n_val, S, &res->val_fitted);
    }
    /* the model-level guard: every layer's refit lowered its own error on
     * the validation samples, but the errors compound differently; keep the
     * refits only when the whole model's outputs are closer to the unpruned
     * ones on the validation samples too */
    if (gf && n_val && res->refits->len && pruner_error_worse(&res->val_fitted, &res->val_plain)) {
      res->rejected = TRUE;
      g_ptr_array_set_size(res->refits, 0);
      for (guint k = 0; k < res->stats->len; k++) g_array_index(res->stats, PrunerFitStat, k).refitted = FALSE;
      if (notes)
        g_string_append_printf(notes, "refit rejected: validation output cosine %.4f refitted < %.4f plain "
                                      "(plainly sliced weights kept); ",
                               res->val_fitted.min_cosine, res->val_plain.min_cosine);
    }
  }
  run_clear(&r0, S);
  run_clear(&rp, S);
  if (gf) run_clear(&rf, S);
  return ok;
}
