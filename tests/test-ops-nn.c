/* test-ops-nn.c: pooling, normalization, softmax, reductions, Gemm/MatMul
 * and the integer matmuls, each against a naive reference written here or
 * against hand-computed values (several taken from the ONNX operator docs).
 * Every case builds one node, runs it through msc_node_execute and compares;
 * error cases check the status code and a piece of the message. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "op-tester.h"
#include "ops.h"
#include "tensor.h"

#define MAXSP 3

/* ---- node building (shared helpers in op-tester.h) ------------------------- */

/* One node "n0" with inputs in0.. (bit i of @absent set: slot i omitted)
 * and outputs out0.. (same for @absent_out). */
static MscNode *
make_node(MscGraph *g, const char *op_type, int64_t opset, uint32_t n_in, uint32_t absent,
          uint32_t n_out, uint32_t absent_out)
{
  return ot_make_node(g, "n0", op_type, opset, n_in, absent, n_out, absent_out, NULL);
}

/* Single-output convenience: returns the output or fails the test. */
static MscTensor *
exec1(MscGraph *g, MscNode *n, const MscTensor *const *inputs)
{
  GError *err = NULL;
  MscTensor *outs[8] = {0};
  gboolean ok = ot_execute(g, n, inputs, outs, &err);
  if (!ok)
    g_test_message("exec failed: %s", err ? err->message : "?");
  g_assert_no_error(err);
  g_assert_true(ok);
  for (uint32_t j = 1; j < n->n_outputs; j++)
    msc_tensor_free(outs[j]);
  return outs[0];
}

static void
expect_error(MscGraph *g, MscNode *n, const MscTensor *const *inputs, MscStatus code,
             const char *needle)
{
  GError *err = NULL;
  MscTensor *outs[8] = {0};
  gboolean ok = ot_execute(g, n, inputs, outs, &err);
  g_assert_false(ok);
  ot_assert_error(err, code, needle);
  g_error_free(err);
}

/* ---- tensors ----------------------------------------------------------------- */

static MscTensor *
tensor_f32(int32_t rank, const int64_t *dims, const float *data)
{
  MscTensor *t = msc_tensor_new(MSC_DTYPE_FLOAT32, rank, dims, NULL);
  g_assert_nonnull(t);
  if (data)
    memcpy(t->data, data, t->nbytes);
  return t;
}

static MscTensor *
tensor_typed(MscDType dt, int32_t rank, const int64_t *dims, const double *vals)
{
  MscTensor *t = msc_tensor_new(dt, rank, dims, NULL);
  g_assert_nonnull(t);
  int64_t n = msc_tensor_numel(t);
  for (int64_t i = 0; vals && i < n; i++)
    msc_tensor_set_f64(t, i, vals[i]);
  return t;
}

static MscTensor *
tensor_i64(int32_t rank, const int64_t *dims, const int64_t *vals)
{
  MscTensor *t = msc_tensor_new(MSC_DTYPE_INT64, rank, dims, NULL);
  g_assert_nonnull(t);
  memcpy(t->data, vals, t->nbytes);
  return t;
}

static MscTensor *
tensor_rand(MscDType dt, int32_t rank, const int64_t *dims, guint32 seed, double lo, double hi)
{
  MscTensor *t = msc_tensor_new(dt, rank, dims, NULL);
  g_assert_nonnull(t);
  GRand *r = g_rand_new_with_seed(seed);
  ot_fill_random(t, r, lo, hi);
  g_rand_free(r);
  return t;
}

/* |got - exp| <= atol + rtol * |exp| for every element, worst reported. */
static void
assert_close(const MscTensor *got, const float *exp, int64_t n, double rtol, double atol)
{
  g_assert_cmpint(msc_tensor_numel(got), ==, n);
  int64_t worst = -1;
  double werr = 0;
  for (int64_t i = 0; i < n; i++) {
    double gv = msc_tensor_get_f64(got, i), ev = exp[i];
    double e = fabs(gv - ev);
    if (isnan(ev) && isnan(gv))
      continue;
    if (!(e <= atol + rtol * fabs(ev)) && (worst < 0 || !(e <= werr))) {
      worst = i;
      werr = e;
    }
  }
  if (worst >= 0)
    g_test_message("worst at %" G_GINT64_FORMAT ": got %g expected %g", worst,
                   msc_tensor_get_f64(got, worst), (double)exp[worst]);
  g_assert_cmpint(worst, ==, -1);
}

static float *
to_floats(const MscTensor *t)
{
  int64_t n = msc_tensor_numel(t);
  float *f = g_new(float, n > 0 ? n : 1);
  for (int64_t i = 0; i < n; i++)
    f[i] = (float)msc_tensor_get_f64(t, i);
  return f;
}

/* ---- pooling reference ---------------------------------------------------------- */

typedef struct {
  int nsp;
  int64_t N, C;
  int64_t in[MAXSP], k[MAXSP], s[MAXSP], d[MAXSP], pads[2 * MAXSP];
  const char *auto_pad;
  int ceil_mode, count_include_pad, storage_order;
  int kind; /* 0 max, 1 avg, 2 lp2 */
} PoolRef;

static PoolRef
pool_ref(int nsp, int kind)
{
  PoolRef p = {0};
  p.nsp = nsp;
  p.kind = kind;
  p.N = 1;
  p.C = 2;
  for (int i = 0; i < MAXSP; i++) {
    p.in[i] = 7;
    p.k[i] = 3;
    p.s[i] = 1;
    p.d[i] = 1;
  }
  return p;
}

/* Output size and begin pads per the spec, computed independently. */
static void
pool_ref_geometry(const PoolRef *p, int64_t *out, int64_t *pb)
{
  for (int i = 0; i < p->nsp; i++) {
    int64_t dk = (p->k[i] - 1) * p->d[i] + 1;
    if (p->auto_pad && g_str_has_prefix(p->auto_pad, "SAME")) {
      out[i] = (p->in[i] + p->s[i] - 1) / p->s[i];
      int64_t tot = MAX(0, (out[i] - 1) * p->s[i] + dk - p->in[i]);
      pb[i] = !strcmp(p->auto_pad, "SAME_UPPER") ? tot / 2 : tot - tot / 2;
      continue;
    }
    int valid = p->auto_pad && !strcmp(p->auto_pad, "VALID");
    int64_t b = valid ? 0 : p->pads[i], e = valid ? 0 : p->pads[p->nsp + i];
    int64_t span = p->in[i] + b + e - dk;
    out[i] = (p->ceil_mode ? (span + p->s[i] - 1) / p->s[i] : span / p->s[i]) + 1;
    if (p->ceil_mode && (out[i] - 1) * p->s[i] >= p->in[i] + b)
      out[i]--; /* last window must start inside input or left padding */
    pb[i] = b;
  }
}

/* Brute force: every tap tested against the input bounds. */
static void
pool_ref_run(const PoolRef *p, const float *x, float *y, int64_t *idx)
{
  int64_t out[MAXSP], pb[MAXSP], pe[MAXSP];
  pool_ref_geometry(p, out, pb);
  for (int i = 0; i < p->nsp; i++) {
    /* end padding as counted by count_include_pad: explicit or SAME pads */
    int64_t dk = (p->k[i] - 1) * p->d[i] + 1;
    if (p->auto_pad && g_str_has_prefix(p->auto_pad, "SAME"))
      pe[i] = MAX(0, (out[i] - 1) * p->s[i] + dk - p->in[i]) - pb[i];
    else if (p->auto_pad && !strcmp(p->auto_pad, "VALID"))
      pe[i] = 0;
    else
      pe[i] = p->pads[p->nsp + i];
  }
  int64_t in_plane = 1, out_plane = 1;
  for (int i = 0; i < p->nsp; i++) {
    in_plane *= p->in[i];
    out_plane *= out[i];
  }
  for (int64_t pl = 0; pl < p->N * p->C; pl++) {
    for (int64_t o = 0; o < out_plane; o++) {
      int64_t oc[MAXSP], rem = o;
      for (int i = p->nsp - 1; i >= 0; i--) {
        oc[i] = rem % out[i];
        rem /= out[i];
      }
      int64_t ktot = 1;
      for (int i = 0; i < p->nsp; i++)
        ktot *= p->k[i];
      double acc = 0, best = -INFINITY;
      int64_t besti = -1, cnt = 0, cnt_pad = 0;
      for (int64_t kk = 0; kk < ktot; kk++) {
        int64_t kc[MAXSP], r2 = kk;
        for (int i = p->nsp - 1; i >= 0; i--) {
          kc[i] = r2 % p->k[i];
          r2 /= p->k[i];
        }
        int inside = 1, inpad = 1;
        int64_t pos[MAXSP];
        for (int i = 0; i < p->nsp; i++) {
          pos[i] = oc[i] * p->s[i] - pb[i] + kc[i] * p->d[i];
          if (pos[i] < 0 || pos[i] >= p->in[i])
            inside = 0;
          if (pos[i] < -pb[i] || pos[i] >= p->in[i] + pe[i])
            inpad = 0;
        }
        cnt_pad += inpad;
        if (!inside)
          continue;
        int64_t flat = 0, colmaj = 0, mul = 1;
        for (int i = 0; i < p->nsp; i++)
          flat = flat * p->in[i] + pos[i];
        for (int i = 0; i < p->nsp; i++) {
          colmaj += pos[i] * mul;
          mul *= p->in[i];
        }
        float v = x[pl * in_plane + flat];
        cnt++;
        acc += p->kind == 2 ? (double)v * v : v;
        if (v > best) {
          best = v;
          besti = pl * in_plane + (p->storage_order ? colmaj : flat);
        }
      }
      float r;
      if (p->kind == 0)
        r = (float)best;
      else if (p->kind == 1)
        r = (float)(acc / (double)(p->count_include_pad ? cnt_pad : cnt));
      else
        r = (float)sqrt(acc);
      y[pl * out_plane + o] = r;
      if (idx)
        idx[pl * out_plane + o] = besti;
    }
  }
}

static const char *
pool_op_name(int kind)
{
  return kind == 0 ? "MaxPool" : kind == 1 ? "AveragePool" : "LpPool";
}

/* Builds the node from @p, runs it on random data and compares with the
 * reference (values and, for MaxPool with @with_indices, the indices). */
static void
pool_check(const PoolRef *p, int64_t opset, gboolean with_indices)
{
  int64_t xd[2 + MAXSP] = {p->N, p->C};
  for (int i = 0; i < p->nsp; i++)
    xd[2 + i] = p->in[i];
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, p->nsp + 2, xd, 7, -4, 4);
  MscGraph *g = msc_graph_new("pool");
  MscNode *n = make_node(g, pool_op_name(p->kind), opset, 1, 0, with_indices ? 2 : 1, 0);
  add_attr_ints(n, "kernel_shape", p->k, p->nsp);
  add_attr_ints(n, "strides", p->s, p->nsp);
  gboolean any_dil = FALSE;
  for (int i = 0; i < p->nsp; i++)
    any_dil |= p->d[i] != 1;
  if (any_dil)
    add_attr_ints(n, "dilations", p->d, p->nsp);
  if (p->auto_pad)
    add_attr_string(n, "auto_pad", p->auto_pad);
  else
    add_attr_ints(n, "pads", p->pads, 2 * p->nsp);
  if (p->ceil_mode)
    add_attr_int(n, "ceil_mode", 1);
  if (p->count_include_pad)
    add_attr_int(n, "count_include_pad", 1);
  if (p->storage_order)
    add_attr_int(n, "storage_order", 1);

  int64_t out[MAXSP], pb[MAXSP];
  pool_ref_geometry(p, out, pb);
  int64_t yd[2 + MAXSP] = {p->N, p->C}, ny = p->N * p->C;
  for (int i = 0; i < p->nsp; i++) {
    yd[2 + i] = out[i];
    ny *= out[i];
  }
  float *ey = g_new(float, ny);
  int64_t *ei = g_new(int64_t, ny);
  pool_ref_run(p, x->data, ey, ei);

  const MscTensor *ins[1] = {x};
  MscTensor *outs[2] = {0};
  GError *err = NULL;
  gboolean ok = ot_execute(g, n, ins, outs, &err);
  if (!ok)
    g_test_message("%s", err->message);
  g_assert_no_error(err);
  g_assert_true(ok);
  ot_assert_dims(outs[0], p->nsp + 2, yd);
  assert_close(outs[0], ey, ny, 1e-5, 1e-6);
  if (with_indices) {
    g_assert_cmpint(outs[1]->dtype, ==, MSC_DTYPE_INT64);
    ot_assert_dims(outs[1], p->nsp + 2, yd);
    const int64_t *gi = outs[1]->data;
    for (int64_t i = 0; i < ny; i++)
      g_assert_cmpint(gi[i], ==, ei[i]);
  }
  msc_tensor_free(outs[0]);
  msc_tensor_free(outs[1]);
  g_free(ey);
  g_free(ei);
  msc_tensor_free(x);
  msc_graph_free(g);
}

/* ---- pooling tests ------------------------------------------------------------------ */

static void
test_pool_maxpool_3x3s2_pads1(void)
{
  g_test_summary("MaxPool 3x3 s2 pads 1 (ResNet stem) on 2x3x12x11 vs brute force");
  PoolRef p = pool_ref(2, 0);
  p.N = 2;
  p.C = 3;
  p.in[0] = 12;
  p.in[1] = 11;
  p.s[0] = p.s[1] = 2;
  for (int i = 0; i < 4; i++)
    p.pads[i] = 1;
  pool_check(&p, 12, FALSE);
}

/* x = 1..16 as 4x4 (the ONNX *_2d_ceil / *_2d_dilations input). */
static MscTensor *
iota_4x4(void)
{
  float v[16];
  for (int i = 0; i < 16; i++)
    v[i] = (float)(i + 1);
  int64_t d[4] = {1, 1, 4, 4};
  return tensor_f32(4, d, v);
}

static void
test_pool_maxpool_ceil_hand(void)
{
  g_test_summary("MaxPool 3x3 s2 ceil_mode on 4x4: [[11,12],[15,16]] (ONNX maxpool_2d_ceil)");
  MscTensor *x = iota_4x4();
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "MaxPool", 12, 1, 0, 1, 0);
  int64_t k[2] = {3, 3}, s[2] = {2, 2};
  add_attr_ints(n, "kernel_shape", k, 2);
  add_attr_ints(n, "strides", s, 2);
  add_attr_int(n, "ceil_mode", 1);
  const MscTensor *ins[1] = {x};
  MscTensor *y = exec1(g, n, ins);
  int64_t yd[4] = {1, 1, 2, 2};
  ot_assert_dims(y, 4, yd);
  const float e[4] = {11, 12, 15, 16};
  assert_close(y, e, 4, 0, 0);
  msc_tensor_free(y);
  msc_tensor_free(x);
  msc_graph_free(g);
}

static void
test_pool_avgpool_ceil_hand(void)
{
  g_test_summary("AveragePool 3x3 s2 ceil_mode on 4x4 divides by in-input taps: "
                 "[[6,7.5],[12,13.5]] (ONNX averagepool_2d_ceil)");
  MscTensor *x = iota_4x4();
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "AveragePool", 11, 1, 0, 1, 0);
  int64_t k[2] = {3, 3}, s[2] = {2, 2};
  add_attr_ints(n, "kernel_shape", k, 2);
  add_attr_ints(n, "strides", s, 2);
  add_attr_int(n, "ceil_mode", 1);
  const MscTensor *ins[1] = {x};
  MscTensor *y = exec1(g, n, ins);
  const float e[4] = {6, 7.5f, 12, 13.5f};
  assert_close(y, e, 4, 1e-6, 0);
  msc_tensor_free(y);
  msc_tensor_free(x);
  msc_graph_free(g);
}

static void
test_pool_ceil_drops_window_in_end_pad(void)
{
  g_test_summary("ceil_mode: a last window that would start in the end padding is dropped "
                 "(in 5, k2 s2 pads 0/1 -> 3 not 4)");
  PoolRef p = pool_ref(1, 0);
  p.in[0] = 5;
  p.k[0] = 2;
  p.s[0] = 2;
  p.pads[0] = 0;
  p.pads[1] = 1;
  p.ceil_mode = 1;
  int64_t out[1], pb[1];
  pool_ref_geometry(&p, out, pb);
  g_assert_cmpint(out[0], ==, 3);
  pool_check(&p, 12, FALSE);
  p.kind = 1;
  pool_check(&p, 12, FALSE);
}

static void
test_pool_maxpool_dilation_hand(void)
{
  g_test_summary("MaxPool 2x2 dilation 2 on 4x4: [[11,12],[15,16]] (ONNX maxpool_2d_dilations)");
  MscTensor *x = iota_4x4();
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "MaxPool", 12, 1, 0, 1, 0);
  int64_t k[2] = {2, 2}, d[2] = {2, 2};
  add_attr_ints(n, "kernel_shape", k, 2);
  add_attr_ints(n, "dilations", d, 2);
  const MscTensor *ins[1] = {x};
  MscTensor *y = exec1(g, n, ins);
  const float e[4] = {11, 12, 15, 16};
  assert_close(y, e, 4, 0, 0);
  msc_tensor_free(y);
  msc_tensor_free(x);
  msc_graph_free(g);
}

static void
test_pool_maxpool_2d_dilated_strided_padded(void)
{
  g_test_summary("MaxPool 3x4 k, dilation 2x3, stride 2x3, asymmetric pads, ceil vs brute force");
  PoolRef p = pool_ref(2, 0);
  p.in[0] = 17;
  p.in[1] = 23;
  p.k[0] = 3;
  p.k[1] = 4;
  p.d[0] = 2;
  p.d[1] = 3;
  p.s[0] = 2;
  p.s[1] = 3;
  int64_t pads[4] = {1, 2, 3, 0};
  memcpy(p.pads, pads, sizeof pads);
  pool_check(&p, 12, TRUE);
  p.ceil_mode = 1;
  pool_check(&p, 12, TRUE);
}

static void
test_pool_maxpool_1d_k20d5_pad10(void)
{
  g_test_summary("MaxPool 1-D k20 d5 s3 pads 10 (PyTorch MaxPool1d dilation case, smaller)");
  PoolRef p = pool_ref(1, 0);
  p.in[0] = 300;
  p.k[0] = 20;
  p.d[0] = 5;
  p.s[0] = 3;
  p.pads[0] = p.pads[1] = 10;
  pool_check(&p, 12, TRUE);
}

static void
test_pool_avgpool_pads_exclude(void)
{
  g_test_summary("AveragePool 3x3 pads 2 excludes padding by default (opset 11)");
  PoolRef p = pool_ref(2, 1);
  p.in[0] = 9;
  p.in[1] = 8;
  for (int i = 0; i < 4; i++)
    p.pads[i] = 2;
  pool_check(&p, 11, FALSE);
}

static void
test_pool_avgpool_pads_include(void)
{
  g_test_summary("AveragePool 3x3 pads 2 count_include_pad=1 divides by 9");
  PoolRef p = pool_ref(2, 1);
  p.in[0] = 9;
  p.in[1] = 8;
  for (int i = 0; i < 4; i++)
    p.pads[i] = 2;
  p.count_include_pad = 1;
  pool_check(&p, 11, FALSE);
}

static void
test_pool_avgpool_include_pad_ceil_overhang(void)
{
  g_test_summary("count_include_pad with ceil_mode counts explicit pads but not the overhang "
                 "past the end padding (PyTorch / onnxruntime rule)");
  PoolRef p = pool_ref(2, 1);
  p.in[0] = 6;
  p.in[1] = 7;
  p.k[0] = p.k[1] = 3;
  p.s[0] = p.s[1] = 2;
  for (int i = 0; i < 4; i++)
    p.pads[i] = 1;
  p.ceil_mode = 1;
  p.count_include_pad = 1;
  pool_check(&p, 11, FALSE);
}

static void
test_pool_avgpool_opset1_excludes_pad(void)
{
  g_test_summary("AveragePool-1 (no count_include_pad attribute) excludes padding");
  PoolRef p = pool_ref(2, 1);
  for (int i = 0; i < 4; i++)
    p.pads[i] = 1;
  pool_check(&p, 1, FALSE);
}

static void
test_pool_avgpool_same_upper_3x3s2(void)
{
  g_test_summary("AveragePool 3x3 s2 SAME_UPPER on 8x7 vs brute force");
  PoolRef p = pool_ref(2, 1);
  p.in[0] = 8;
  p.in[1] = 7;
  p.s[0] = p.s[1] = 2;
  p.auto_pad = "SAME_UPPER";
  pool_check(&p, 11, FALSE);
}

static void
test_pool_maxpool_same_lower_2x2(void)
{
  g_test_summary("MaxPool 2x2 s1 SAME_LOWER puts the odd pad at the beginning");
  PoolRef p = pool_ref(2, 0);
  p.k[0] = p.k[1] = 2;
  p.auto_pad = "SAME_LOWER";
  pool_check(&p, 11, TRUE);
  p.kind = 1;
  pool_check(&p, 11, FALSE);
}

static void
test_pool_valid_2x2s2(void)
{
  g_test_summary("AveragePool / MaxPool VALID 2x2 s2 on odd sizes");
  PoolRef p = pool_ref(2, 1);
  p.k[0] = p.k[1] = 2;
  p.s[0] = p.s[1] = 2;
  p.in[0] = 9;
  p.in[1] = 5;
  p.auto_pad = "VALID";
  pool_check(&p, 11, FALSE);
  p.kind = 0;
  pool_check(&p, 11, FALSE);
}

static void
test_pool_3d_2x2x2(void)
{
  g_test_summary("3-D pooling 2x2x2 s(1,2,2) pads 1 avg/max vs brute force");
  PoolRef p = pool_ref(3, 1);
  p.in[0] = 5;
  p.in[1] = 6;
  p.in[2] = 7;
  p.k[0] = p.k[1] = p.k[2] = 2;
  p.s[1] = p.s[2] = 2;
  for (int i = 0; i < 6; i++)
    p.pads[i] = 1;
  pool_check(&p, 11, FALSE);
  p.kind = 0;
  pool_check(&p, 12, TRUE);
}

static void
test_pool_avgpool_dilation(void)
{
  g_test_summary("AveragePool-19 dilations 2 with pads vs brute force");
  PoolRef p = pool_ref(2, 1);
  p.in[0] = 10;
  p.in[1] = 9;
  p.d[0] = p.d[1] = 2;
  for (int i = 0; i < 4; i++)
    p.pads[i] = 1;
  pool_check(&p, 19, FALSE);
}

static void
test_pool_lppool_p2(void)
{
  g_test_summary("LpPool p=2 3x3 s1 pads 1 equals sqrt of the window's sum of squares");
  PoolRef p = pool_ref(2, 2);
  for (int i = 0; i < 4; i++)
    p.pads[i] = 1;
  pool_check(&p, 11, FALSE);
}

static void
test_pool_indices_row_major_hand(void)
{
  g_test_summary("MaxPool Indices 5x5 k5 pads 2 (ONNX maxpool_with_argmax_2d_precomputed_pads)");
  float v[25];
  for (int i = 0; i < 25; i++)
    v[i] = (float)(i + 1);
  int64_t d[4] = {1, 1, 5, 5};
  MscTensor *x = tensor_f32(4, d, v);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "MaxPool", 12, 1, 0, 2, 0);
  int64_t k[2] = {5, 5}, pads[4] = {2, 2, 2, 2};
  add_attr_ints(n, "kernel_shape", k, 2);
  add_attr_ints(n, "pads", pads, 4);
  const MscTensor *ins[1] = {x};
  MscTensor *outs[2] = {0};
  g_assert_true(ot_execute(g, n, ins, outs, NULL));
  const int64_t e[25] = {12, 13, 14, 14, 14, 17, 18, 19, 19, 19, 22, 23, 24, 24, 24,
                         22, 23, 24, 24, 24, 22, 23, 24, 24, 24};
  const int64_t *gi = outs[1]->data;
  for (int i = 0; i < 25; i++) {
    g_assert_cmpint(gi[i], ==, e[i]);
    g_assert_cmpfloat(((float *)outs[0]->data)[i], ==, (float)(e[i] + 1));
  }
  msc_tensor_free(outs[0]);
  msc_tensor_free(outs[1]);
  msc_tensor_free(x);
  msc_graph_free(g);
}

static void
test_pool_indices_column_major_hand(void)
{
  g_test_summary("MaxPool Indices storage_order=1 (column major): 5x5 k2 s2 -> [[6,16],[8,18]] "
                 "(ONNX maxpool_with_argmax_2d_precomputed_strides)");
  float v[25];
  for (int i = 0; i < 25; i++)
    v[i] = (float)(i + 1);
  int64_t d[4] = {1, 1, 5, 5};
  MscTensor *x = tensor_f32(4, d, v);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "MaxPool", 12, 1, 0, 2, 0);
  int64_t k[2] = {2, 2}, s[2] = {2, 2};
  add_attr_ints(n, "kernel_shape", k, 2);
  add_attr_ints(n, "strides", s, 2);
  add_attr_int(n, "storage_order", 1);
  const MscTensor *ins[1] = {x};
  MscTensor *outs[2] = {0};
  g_assert_true(ot_execute(g, n, ins, outs, NULL));
  const int64_t e[4] = {6, 16, 8, 18};
  const float ev[4] = {7, 9, 17, 19};
  for (int i = 0; i < 4; i++) {
    g_assert_cmpint(((int64_t *)outs[1]->data)[i], ==, e[i]);
    g_assert_cmpfloat(((float *)outs[0]->data)[i], ==, ev[i]);
  }
  msc_tensor_free(outs[0]);
  msc_tensor_free(outs[1]);
  msc_tensor_free(x);
  msc_graph_free(g);
}

static void
test_pool_indices_batch_channel_offset(void)
{
  g_test_summary("MaxPool Indices include the (n*C + c) plane offset, both storage orders");
  PoolRef p = pool_ref(2, 0);
  p.N = 2;
  p.C = 3;
  p.in[0] = 6;
  p.in[1] = 5;
  p.k[0] = p.k[1] = 2;
  p.s[0] = p.s[1] = 2;
  pool_check(&p, 12, TRUE);
  p.storage_order = 1;
  pool_check(&p, 12, TRUE);
}

static void
test_pool_maxpool_uint8_and_float16(void)
{
  g_test_summary("MaxPool on uint8 (exact) and float16 inputs keeps the dtype");
  int64_t d[4] = {1, 2, 6, 6};
  for (int pass = 0; pass < 2; pass++) {
    MscDType dt = pass ? MSC_DTYPE_FLOAT16 : MSC_DTYPE_UINT8;
    MscTensor *x = tensor_rand(dt, 4, d, 3, 0, 250);
    MscGraph *g = msc_graph_new("t");
    MscNode *n = make_node(g, "MaxPool", 12, 1, 0, 1, 0);
    int64_t k[2] = {3, 3}, pads[4] = {1, 1, 1, 1};
    add_attr_ints(n, "kernel_shape", k, 2);
    add_attr_ints(n, "pads", pads, 4);
    const MscTensor *ins[1] = {x};
    MscTensor *y = exec1(g, n, ins);
    g_assert_cmpint(y->dtype, ==, dt);
    PoolRef p = pool_ref(2, 0);
    p.in[0] = p.in[1] = 6;
    for (int i = 0; i < 4; i++)
      p.pads[i] = 1;
    float *xf = to_floats(x), ey[72];
    pool_ref_run(&p, xf, ey, NULL);
    assert_close(y, ey, 72, 0, 0);
    g_free(xf);
    msc_tensor_free(y);
    msc_tensor_free(x);
    msc_graph_free(g);
  }
}

static void
test_pool_global(void)
{
  g_test_summary("GlobalAveragePool / GlobalMaxPool on 2x3x4x5 -> [2,3,1,1]");
  int64_t d[4] = {2, 3, 4, 5};
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 4, d, 11, -3, 3);
  const float *xf = x->data;
  for (int op = 0; op < 2; op++) {
    MscGraph *g = msc_graph_new("t");
    MscNode *n = make_node(g, op ? "GlobalMaxPool" : "GlobalAveragePool", 1, 1, 0, 1, 0);
    const MscTensor *ins[1] = {x};
    MscTensor *y = exec1(g, n, ins);
    int64_t yd[4] = {2, 3, 1, 1};
    ot_assert_dims(y, 4, yd);
    float e[6];
    for (int pl = 0; pl < 6; pl++) {
      double s = 0, m = -INFINITY;
      for (int i = 0; i < 20; i++) {
        s += xf[pl * 20 + i];
        m = MAX(m, xf[pl * 20 + i]);
      }
      e[pl] = (float)(op ? m : s / 20);
    }
    assert_close(y, e, 6, 1e-6, 1e-7);
    msc_tensor_free(y);
    msc_graph_free(g);
  }
  msc_tensor_free(x);
}

static void
test_pool_error_kernel_too_large(void)
{
  g_test_summary("kernel larger than the padded input is INVALID_ARG naming both sizes");
  int64_t d[4] = {1, 1, 4, 4};
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 4, d, 1, 0, 1);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "MaxPool", 12, 1, 0, 1, 0);
  int64_t k[2] = {3, 7}, pads[4] = {0, 1, 0, 1};
  add_attr_ints(n, "kernel_shape", k, 2);
  add_attr_ints(n, "pads", pads, 4);
  const MscTensor *ins[1] = {x};
  expect_error(g, n, ins, MSC_ERR_INVALID_ARG, "larger than padded input 6");
  msc_tensor_free(x);
  msc_graph_free(g);
}

static void
test_pool_error_bad_attrs(void)
{
  g_test_summary("zero stride, unknown auto_pad, missing kernel_shape, wrong pads length are refused");
  int64_t d[4] = {1, 1, 4, 4};
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 4, d, 1, 0, 1);
  const MscTensor *ins[1] = {x};
  int64_t k[2] = {2, 2}, s0[2] = {1, 0}, p3[3] = {0, 0, 0};
  struct {
    const char *needle;
    int what;
  } cases[] = {{"strides", 0}, {"SAME_MIDDLE", 1}, {"kernel_shape", 2}, {"pads", 3}};
  for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
    MscGraph *g = msc_graph_new("t");
    MscNode *n = make_node(g, "AveragePool", 11, 1, 0, 1, 0);
    if (cases[c].what != 2)
      add_attr_ints(n, "kernel_shape", k, 2);
    if (cases[c].what == 0)
      add_attr_ints(n, "strides", s0, 2);
    if (cases[c].what == 1)
      add_attr_string(n, "auto_pad", "SAME_MIDDLE");
    if (cases[c].what == 3)
      add_attr_ints(n, "pads", p3, 3);
    expect_error(g, n, ins, MSC_ERR_INVALID_ARG, cases[c].needle);
    msc_graph_free(g);
  }
  msc_tensor_free(x);
}

static void
test_pool_error_dtype(void)
{
  g_test_summary("AveragePool on int8 and MaxPool on double are UNSUPPORTED naming the dtype");
  int64_t d[4] = {1, 1, 4, 4};
  for (int pass = 0; pass < 2; pass++) {
    MscTensor *x = msc_tensor_new(pass ? MSC_DTYPE_DOUBLE : MSC_DTYPE_INT8, 4, d, NULL);
    MscGraph *g = msc_graph_new("t");
    MscNode *n = make_node(g, pass ? "MaxPool" : "AveragePool", 12, 1, 0, 1, 0);
    int64_t k[2] = {2, 2};
    add_attr_ints(n, "kernel_shape", k, 2);
    const MscTensor *ins[1] = {x};
    expect_error(g, n, ins, MSC_ERR_UNSUPPORTED, pass ? "double" : "int8");
    msc_tensor_free(x);
    msc_graph_free(g);
  }
}

/* Static inference through msc_graph_infer with an unknown batch dim and an
 * unknown spatial dim. */
static void
test_pool_static_infer_unknown_dims(void)
{
  g_test_summary("static inference: MaxPool keeps -1 dims, computes the known ones");
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "MaxPool", 12, 1, 0, 1, 0);
  MscValue *in = n->inputs[0];
  in->dtype = MSC_DTYPE_FLOAT32;
  in->rank = 4;
  int64_t d[4] = {-1, 8, 224, -1};
  memcpy(in->dims, d, sizeof d);
  msc_graph_add_input(g, in);
  msc_graph_add_output(g, n->outputs[0]);
  int64_t k[2] = {3, 3}, s[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
  add_attr_ints(n, "kernel_shape", k, 2);
  add_attr_ints(n, "strides", s, 2);
  add_attr_ints(n, "pads", pads, 4);
  GError *err = NULL;
  g_assert_true(msc_graph_resolve_ops(g, &err));
  g_assert_true(msc_graph_infer(g, &err));
  g_assert_no_error(err);
  MscValue *y = n->outputs[0];
  g_assert_cmpint(y->rank, ==, 4);
  g_assert_cmpint(y->dims[0], ==, -1);
  g_assert_cmpint(y->dims[1], ==, 8);
  g_assert_cmpint(y->dims[2], ==, 112);
  g_assert_cmpint(y->dims[3], ==, -1);
  msc_graph_free(g);
}

/* ---- normalization -------------------------------------------------------------------- */

/* BatchNormalization inference reference, per channel. */
static void
bn_ref(const float *x, int64_t N, int64_t C, int64_t S, const float *sc, const float *b,
       const float *m, const float *v, float eps, float *y)
{
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t s = 0; s < S; s++) {
        int64_t i = (n * C + c) * S + s;
        y[i] = (float)((x[i] - m[c]) / sqrt((double)v[c] + eps) * sc[c] + b[c]);
      }
}

static void
bn_case(int64_t opset, gboolean old_attrs)
{
  int64_t xd[4] = {2, 3, 4, 5}, pd = 3;
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 4, xd, 5, -2, 2);
  MscTensor *sc = tensor_rand(MSC_DTYPE_FLOAT32, 1, &pd, 6, 0.5, 1.5);
  MscTensor *b = tensor_rand(MSC_DTYPE_FLOAT32, 1, &pd, 7, -1, 1);
  MscTensor *m = tensor_rand(MSC_DTYPE_FLOAT32, 1, &pd, 8, -0.5, 0.5);
  MscTensor *v = tensor_rand(MSC_DTYPE_FLOAT32, 1, &pd, 9, 0.1, 2);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "BatchNormalization", opset, 5, 0, 1, 0);
  add_attr_float(n, "epsilon", 1e-3f);
  if (old_attrs) {
    int64_t ci[2] = {3, 4};
    add_attr_ints(n, "consumed_inputs", ci, 2);
    add_attr_int(n, "is_test", 1);
    add_attr_int(n, "spatial", 1);
    add_attr_float(n, "momentum", 0.9f);
  }
  const MscTensor *ins[5] = {x, sc, b, m, v};
  MscTensor *y = exec1(g, n, ins);
  float e[120];
  bn_ref(x->data, 2, 3, 20, sc->data, b->data, m->data, v->data, 1e-3f, e);
  assert_close(y, e, 120, 1e-5, 1e-6);
  msc_tensor_free(y);
  msc_tensor_free(x);
  msc_tensor_free(sc);
  msc_tensor_free(b);
  msc_tensor_free(m);
  msc_tensor_free(v);
  msc_graph_free(g);
}

static void
test_batchnorm_inference_opset15(void)
{
  g_test_summary("BatchNormalization-15 inference on 2x3x4x5 vs reference");
  bn_case(15, FALSE);
}

static void
test_batchnorm_inference_opset6_old_attrs(void)
{
  g_test_summary("BatchNormalization-1/6 with consumed_inputs, is_test=1, spatial=1");
  bn_case(1, TRUE);
  bn_case(6, TRUE);
}

static void
test_batchnorm_spatial0_per_element(void)
{
  g_test_summary("BatchNormalization-7 spatial=0: parameters per (C, H, W) element");
  int64_t xd[4] = {2, 2, 2, 3}, pd[3] = {2, 2, 3};
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 4, xd, 1, -2, 2);
  MscTensor *p[4];
  for (int i = 0; i < 4; i++)
    p[i] = tensor_rand(MSC_DTYPE_FLOAT32, 3, pd, 20 + i, i == 3 ? 0.2 : -1, 1.5);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "BatchNormalization", 7, 5, 0, 1, 0);
  add_attr_int(n, "spatial", 0);
  const MscTensor *ins[5] = {x, p[0], p[1], p[2], p[3]};
  MscTensor *y = exec1(g, n, ins);
  float e[24];
  const float *xf = x->data, *sc = p[0]->data, *b = p[1]->data, *m = p[2]->data, *v = p[3]->data;
  for (int nn = 0; nn < 2; nn++)
    for (int j = 0; j < 12; j++)
      e[nn * 12 + j] = (float)((xf[nn * 12 + j] - m[j]) / sqrt(v[j] + 1e-5) * sc[j] + b[j]);
  assert_close(y, e, 24, 1e-5, 1e-6);
  msc_tensor_free(y);
  msc_tensor_free(x);
  for (int i = 0; i < 4; i++)
    msc_tensor_free(p[i]);
  msc_graph_free(g);
}

static void
test_batchnorm_training_mode(void)
{
  g_test_summary("BatchNormalization-15 training_mode=1: batch statistics (biased var) and "
                 "running = input*momentum + batch*(1-momentum)");
  int64_t xd[3] = {4, 2, 5}, pd = 2;
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 3, xd, 3, -3, 5);
  const float scv[2] = {1.5f, 0.5f}, bv[2] = {0.25f, -1.f}, mv[2] = {0.1f, -0.2f}, vv[2] = {1.f, 2.f};
  MscTensor *sc = tensor_f32(1, &pd, scv), *b = tensor_f32(1, &pd, bv);
  MscTensor *m = tensor_f32(1, &pd, mv), *v = tensor_f32(1, &pd, vv);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "BatchNormalization", 15, 5, 0, 3, 0);
  add_attr_int(n, "training_mode", 1);
  add_attr_float(n, "momentum", 0.8f);
  const MscTensor *ins[5] = {x, sc, b, m, v};
  MscTensor *outs[3] = {0};
  GError *err = NULL;
  g_assert_true(ot_execute(g, n, ins, outs, &err));
  g_assert_no_error(err);
  const float *xf = x->data;
  float bm[2], bvv[2], ey[40], erm[2], erv[2];
  for (int c = 0; c < 2; c++) {
    double s = 0, q = 0;
    for (int nn = 0; nn < 4; nn++)
      for (int i = 0; i < 5; i++)
        s += xf[(nn * 2 + c) * 5 + i];
    s /= 20;
    for (int nn = 0; nn < 4; nn++)
      for (int i = 0; i < 5; i++)
        q += pow(xf[(nn * 2 + c) * 5 + i] - s, 2);
    bm[c] = (float)s;
    bvv[c] = (float)(q / 20);
    erm[c] = mv[c] * 0.8f + bm[c] * 0.2f;
    erv[c] = vv[c] * 0.8f + bvv[c] * 0.2f;
  }
  bn_ref(xf, 4, 2, 5, scv, bv, bm, bvv, 1e-5f, ey);
  assert_close(outs[0], ey, 40, 1e-5, 1e-5);
  assert_close(outs[1], erm, 2, 1e-5, 1e-6);
  assert_close(outs[2], erv, 2, 1e-5, 1e-6);
  for (int i = 0; i < 3; i++)
    msc_tensor_free(outs[i]);
  msc_tensor_free(x);
  msc_tensor_free(sc);
  msc_tensor_free(b);
  msc_tensor_free(m);
  msc_tensor_free(v);
  msc_graph_free(g);
}

static void
test_batchnorm_error_param_size(void)
{
  g_test_summary("a scale with the wrong element count is INVALID_ARG naming the input");
  int64_t xd[4] = {1, 3, 2, 2}, pd = 3, bad = 4;
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 4, xd, 1, 0, 1);
  MscTensor *ok = tensor_rand(MSC_DTYPE_FLOAT32, 1, &pd, 2, 0.5, 1);
  MscTensor *wrong = tensor_rand(MSC_DTYPE_FLOAT32, 1, &bad, 3, 0.5, 1);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "BatchNormalization", 15, 5, 0, 1, 0);
  const MscTensor *ins[5] = {x, wrong, ok, ok, ok};
  expect_error(g, n, ins, MSC_ERR_INVALID_ARG, "input 'scale'");
  msc_tensor_free(x);
  msc_tensor_free(ok);
  msc_tensor_free(wrong);
  msc_graph_free(g);
}

static void
test_instancenorm(void)
{
  g_test_summary("InstanceNormalization per (n, c) over the spatial dims vs reference");
  int64_t xd[4] = {2, 3, 4, 5}, pd = 3;
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 4, xd, 4, -2, 3);
  MscTensor *sc = tensor_rand(MSC_DTYPE_FLOAT32, 1, &pd, 5, 0.5, 1.5);
  MscTensor *b = tensor_rand(MSC_DTYPE_FLOAT32, 1, &pd, 6, -1, 1);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "InstanceNormalization", 6, 3, 0, 1, 0);
  add_attr_float(n, "epsilon", 1e-2f);
  const MscTensor *ins[3] = {x, sc, b};
  MscTensor *y = exec1(g, n, ins);
  const float *xf = x->data, *s = sc->data, *bb = b->data;
  float e[120];
  for (int pl = 0; pl < 6; pl++) {
    double m = 0, v = 0;
    for (int i = 0; i < 20; i++)
      m += xf[pl * 20 + i];
    m /= 20;
    for (int i = 0; i < 20; i++)
      v += pow(xf[pl * 20 + i] - m, 2);
    v /= 20;
    for (int i = 0; i < 20; i++)
      e[pl * 20 + i] = (float)((xf[pl * 20 + i] - m) / sqrt(v + 1e-2) * s[pl % 3] + bb[pl % 3]);
  }
  assert_close(y, e, 120, 1e-5, 1e-5);
  msc_tensor_free(y);
  msc_tensor_free(x);
  msc_tensor_free(sc);
  msc_tensor_free(b);
  msc_graph_free(g);
}

static void
test_lrn_size3(void)
{
  g_test_summary("LRN size 3 (window c-1..c+1), alpha divided by size, vs the spec formula");
  int64_t xd[4] = {2, 5, 3, 3};
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 4, xd, 8, -3, 3);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "LRN", 13, 1, 0, 1, 0);
  add_attr_int(n, "size", 3);
  add_attr_float(n, "alpha", 0.02f);
  add_attr_float(n, "beta", 0.6f);
  add_attr_float(n, "bias", 2.f);
  const MscTensor *ins[1] = {x};
  MscTensor *y = exec1(g, n, ins);
  const float *xf = x->data;
  float e[90];
  for (int nn = 0; nn < 2; nn++)
    for (int c = 0; c < 5; c++)
      for (int s = 0; s < 9; s++) {
        double sq = 0;
        for (int cc = MAX(0, c - 1); cc <= MIN(4, c + 1); cc++)
          sq += pow(xf[(nn * 5 + cc) * 9 + s], 2);
        int i = (nn * 5 + c) * 9 + s;
        e[i] = (float)(xf[i] / pow(2.0 + 0.02 / 3 * sq, 0.6));
      }
  assert_close(y, e, 90, 1e-5, 1e-6);
  msc_tensor_free(y);
  msc_tensor_free(x);
  msc_graph_free(g);
}

/* ---- softmax ----------------------------------------------------------------------------- */

/* softmax over groups: element (o, i, in) of [outer, len, inner]. */
static void
softmax_ref(const float *x, int64_t outer, int64_t len, int64_t inner, int log_form, float *y)
{
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      double m = -INFINITY, s = 0;
      for (int64_t i = 0; i < len; i++)
        m = MAX(m, x[(o * len + i) * inner + in]);
      for (int64_t i = 0; i < len; i++)
        s += exp(x[(o * len + i) * inner + in] - m);
      for (int64_t i = 0; i < len; i++) {
        int64_t k = (o * len + i) * inner + in;
        y[k] = (float)(log_form ? x[k] - m - log(s) : exp(x[k] - m) / s);
      }
    }
}

static void
softmax_case(const char *op, int64_t opset, gboolean set_axis, int64_t axis, int64_t outer,
             int64_t len, int64_t inner, double scale)
{
  int64_t xd[3] = {2, 3, 4};
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 3, xd, 9, -scale, scale);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, op, opset, 1, 0, 1, 0);
  if (set_axis)
    add_attr_int(n, "axis", axis);
  const MscTensor *ins[1] = {x};
  MscTensor *y = exec1(g, n, ins);
  float e[24];
  softmax_ref(x->data, outer, len, inner, !strcmp(op, "LogSoftmax"), e);
  ot_assert_dims(y, 3, xd);
  assert_close(y, e, 24, 1e-5, 1e-6);
  msc_tensor_free(y);
  msc_tensor_free(x);
  msc_graph_free(g);
}

static void
test_softmax_opset11_axis1_flattens(void)
{
  g_test_summary("Softmax-11 axis=1 on [2,3,4] normalizes over the 12 flattened elements");
  softmax_case("Softmax", 11, TRUE, 1, 2, 12, 1, 2);
  softmax_case("Softmax", 11, FALSE, 0, 2, 12, 1, 2); /* default axis 1 */
}

static void
test_softmax_opset13_axis1_single(void)
{
  g_test_summary("Softmax-13 axis=1 on [2,3,4] normalizes over the 3 elements of dim 1 only");
  softmax_case("Softmax", 13, TRUE, 1, 2, 3, 4, 2);
}

static void
test_softmax_opset13_default_last(void)
{
  g_test_summary("Softmax-13 default axis -1; Softmax-6 axis -1 counts from the rank");
  softmax_case("Softmax", 13, FALSE, 0, 6, 4, 1, 2);
  softmax_case("Softmax", 6, TRUE, -1, 6, 4, 1, 2);
  softmax_case("Softmax", 11, TRUE, 0, 1, 24, 1, 2);
}

static void
test_softmax_large_values_stable(void)
{
  g_test_summary("Softmax/LogSoftmax of values near 1e4 stay finite (max subtracted)");
  softmax_case("Softmax", 13, TRUE, 2, 6, 4, 1, 1e4);
  softmax_case("LogSoftmax", 13, TRUE, 0, 1, 2, 12, 1e4);
}

static void
test_logsoftmax_both_semantics(void)
{
  g_test_summary("LogSoftmax-11 axis=2 / LogSoftmax-13 axis=0 and axis=1");
  softmax_case("LogSoftmax", 11, TRUE, 2, 6, 4, 1, 3);
  softmax_case("LogSoftmax", 13, TRUE, 0, 1, 2, 12, 3);
  softmax_case("LogSoftmax", 13, TRUE, -2, 2, 3, 4, 3);
}

static void
test_softmax_error_axis(void)
{
  g_test_summary("Softmax-13 axis 3 on rank 3 is INVALID_ARG");
  int64_t xd[3] = {2, 3, 4};
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 3, xd, 9, -1, 1);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "Softmax", 13, 1, 0, 1, 0);
  add_attr_int(n, "axis", 3);
  const MscTensor *ins[1] = {x};
  expect_error(g, n, ins, MSC_ERR_INVALID_ARG, "axis");
  msc_tensor_free(x);
  msc_graph_free(g);
}

/* ---- reductions ---------------------------------------------------------------------------- */

/* Reference: reduce x[2,3,4] over the axes in @mask (bit d), returns count. */
static void
reduce_ref(const float *x, unsigned mask, const char *op, float *y, int64_t *ny)
{
  const int64_t d[3] = {2, 3, 4};
  int64_t od[3];
  for (int i = 0; i < 3; i++)
    od[i] = (mask >> i) & 1 ? 1 : d[i];
  *ny = od[0] * od[1] * od[2];
  for (int64_t o = 0; o < *ny; o++) {
    int64_t oc[3] = {o / (od[1] * od[2]), (o / od[2]) % od[1], o % od[2]};
    double acc = !strcmp(op, "ReduceProd") ? 1 : !strcmp(op, "ReduceMax") ? -INFINITY
                 : !strcmp(op, "ReduceMin") ? INFINITY : 0;
    double mx = -INFINITY;
    int64_t cnt = 0;
    for (int64_t i = 0; i < 24; i++) {
      int64_t ic[3] = {i / 12, (i / 4) % 3, i % 4};
      gboolean hit = TRUE;
      for (int k = 0; k < 3; k++)
        if (!((mask >> k) & 1) && ic[k] != oc[k])
          hit = FALSE;
      if (!hit)
        continue;
      double v = x[i];
      cnt++;
      mx = MAX(mx, v);
      if (!strcmp(op, "ReduceSum") || !strcmp(op, "ReduceMean") || !strcmp(op, "ReduceLogSum"))
        acc += v;
      else if (!strcmp(op, "ReduceProd"))
        acc *= v;
      else if (!strcmp(op, "ReduceMax"))
        acc = MAX(acc, v);
      else if (!strcmp(op, "ReduceMin"))
        acc = MIN(acc, v);
      else if (!strcmp(op, "ReduceL1"))
        acc += fabs(v);
      else if (!strcmp(op, "ReduceL2") || !strcmp(op, "ReduceSumSquare"))
        acc += v * v;
    }
    if (!strcmp(op, "ReduceLogSumExp")) {
      acc = 0;
      for (int64_t i = 0; i < 24; i++) {
        int64_t ic[3] = {i / 12, (i / 4) % 3, i % 4};
        gboolean hit = TRUE;
        for (int k = 0; k < 3; k++)
          if (!((mask >> k) & 1) && ic[k] != oc[k])
            hit = FALSE;
        if (hit)
          acc += exp(x[i] - mx);
      }
      acc = mx + log(acc);
    }
    if (!strcmp(op, "ReduceMean"))
      acc /= (double)cnt;
    if (!strcmp(op, "ReduceL2"))
      acc = sqrt(acc);
    if (!strcmp(op, "ReduceLogSum"))
      acc = log(acc);
    y[o] = (float)acc;
  }
}

/* Runs @op on a random [2,3,4] with @axes given as attribute (@as_input 0)
 * or input; checks dims for @keepdims and values. */
static void
reduce_case(const char *op, int64_t opset, const int64_t *axes, size_t n_axes, gboolean as_input,
            int keepdims, double lo, double hi)
{
  int64_t xd[3] = {2, 3, 4};
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 3, xd, 13, lo, hi);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, op, opset, as_input ? 2 : 1, 0, 1, 0);
  MscTensor *at = NULL;
  if (n_axes && as_input) {
    int64_t ad = (int64_t)n_axes;
    at = tensor_i64(1, &ad, axes);
  } else if (n_axes) {
    add_attr_ints(n, "axes", axes, n_axes);
  }
  if (keepdims >= 0)
    add_attr_int(n, "keepdims", keepdims);
  unsigned mask = 0;
  for (size_t i = 0; i < n_axes; i++)
    mask |= 1u << ((axes[i] + 3) % 3);
  if (!n_axes)
    mask = 7;
  const MscTensor *ins[2] = {x, at};
  MscTensor *y = exec1(g, n, ins);
  float e[24];
  int64_t ne;
  reduce_ref(x->data, mask, op, e, &ne);
  if (keepdims != 0) {
    int64_t od[3];
    for (int i = 0; i < 3; i++)
      od[i] = (mask >> i) & 1 ? 1 : xd[i];
    ot_assert_dims(y, 3, od);
  } else {
    int32_t r = 0;
    for (int i = 0; i < 3; i++)
      if (!((mask >> i) & 1))
        g_assert_cmpint(y->dims[r++], ==, xd[i]);
    g_assert_cmpint(y->rank, ==, r);
  }
  assert_close(y, e, ne, 1e-5, 1e-6);
  msc_tensor_free(y);
  msc_tensor_free(x);
  msc_tensor_free(at);
  msc_graph_free(g);
}

static void
test_reduce_mean_axes_attr_keepdims(void)
{
  g_test_summary("ReduceMean-11 axes attribute [1] keepdims default 1, and [0,2] keepdims 0");
  const int64_t a1[1] = {1}, a02[2] = {0, -1};
  reduce_case("ReduceMean", 11, a1, 1, FALSE, -1, -2, 2);
  reduce_case("ReduceMean", 11, a02, 2, FALSE, 0, -2, 2);
  reduce_case("ReduceMean", 18, a02, 2, TRUE, 1, -2, 2);
}

static void
test_reduce_sum_axes_input_opset13(void)
{
  g_test_summary("ReduceSum-13 axes as input (with keepdims 0); ReduceSum-11 as attribute");
  const int64_t a[2] = {-1, 0};
  reduce_case("ReduceSum", 13, a, 2, TRUE, 0, -2, 2);
  reduce_case("ReduceSum", 11, a, 2, FALSE, 1, -2, 2);
}

static void
test_reduce_all_when_axes_absent(void)
{
  g_test_summary("no axes reduces everything: Max, Min, Prod, L1, L2, SumSquare, LogSum(Exp)");
  const char *ops[] = {"ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                       "ReduceSumSquare", "ReduceLogSumExp"};
  for (size_t i = 0; i < G_N_ELEMENTS(ops); i++)
    reduce_case(ops[i], 13, NULL, 0, FALSE, -1, 0.5, 1.5);
  reduce_case("ReduceLogSum", 13, NULL, 0, FALSE, 0, 0.5, 1.5);
  const int64_t a[1] = {2};
  reduce_case("ReduceLogSumExp", 13, a, 1, FALSE, 1, 5000, 6000); /* exp would overflow unshifted */
  reduce_case("ReduceMax", 18, a, 1, TRUE, 0, -3, 3);
}

static void
test_reduce_noop_with_empty_axes(void)
{
  g_test_summary("ReduceSum-13 noop_with_empty_axes=1 without axes is the identity");
  int64_t xd[3] = {2, 3, 4};
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 3, xd, 1, -1, 1);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "ReduceSum", 13, 1, 0, 1, 0);
  add_attr_int(n, "noop_with_empty_axes", 1);
  const MscTensor *ins[1] = {x};
  MscTensor *y = exec1(g, n, ins);
  ot_assert_dims(y, 3, xd);
  assert_close(y, x->data, 24, 0, 0);
  msc_tensor_free(y);
  msc_tensor_free(x);
  msc_graph_free(g);
}

static void
test_reduce_int32(void)
{
  g_test_summary("ReduceSum / ReduceMax on int32 are exact");
  int64_t xd[2] = {3, 4};
  double v[12] = {1, -2, 3, 40, 5, 6, -7, 8, 9, 10, 11, -120};
  MscTensor *x = tensor_typed(MSC_DTYPE_INT32, 2, xd, v);
  const int64_t ax[1] = {1};
  for (int op = 0; op < 2; op++) {
    MscGraph *g = msc_graph_new("t");
    MscNode *n = make_node(g, op ? "ReduceMax" : "ReduceSum", 11, 1, 0, 1, 0);
    add_attr_ints(n, "axes", ax, 1);
    add_attr_int(n, "keepdims", 0);
    const MscTensor *ins[1] = {x};
    MscTensor *y = exec1(g, n, ins);
    g_assert_cmpint(y->dtype, ==, MSC_DTYPE_INT32);
    const int32_t e0[3] = {42, 12, -90}, e1[3] = {40, 8, 11};
    for (int i = 0; i < 3; i++)
      g_assert_cmpint(((int32_t *)y->data)[i], ==, op ? e1[i] : e0[i]);
    msc_tensor_free(y);
    msc_graph_free(g);
  }
  msc_tensor_free(x);
}

static void
test_reduce_errors(void)
{
  g_test_summary("duplicate axis, out-of-range axis and an axes input before opset 13 are refused");
  int64_t xd[3] = {2, 3, 4};
  MscTensor *x = tensor_rand(MSC_DTYPE_FLOAT32, 3, xd, 1, -1, 1);
  const int64_t dup[2] = {1, -2}, oor[1] = {3};
  int64_t ad = 1;
  MscTensor *at = tensor_i64(1, &ad, oor);
  for (int c = 0; c < 3; c++) {
    MscGraph *g = msc_graph_new("t");
    MscNode *n = make_node(g, c == 2 ? "ReduceSum" : "ReduceMean", 11, c == 2 ? 2 : 1, 0, 1, 0);
    if (c == 0)
      add_attr_ints(n, "axes", dup, 2);
    if (c == 1)
      add_attr_ints(n, "axes", oor, 1);
    const MscTensor *ins[2] = {x, at};
    expect_error(g, n, ins, MSC_ERR_INVALID_ARG, c == 0 ? "twice" : c == 1 ? "out of range" : "opset 13");
    msc_graph_free(g);
  }
  msc_tensor_free(at);
  msc_tensor_free(x);
}

static void
test_reduce_static_infer_unknown_axes(void)
{
  g_test_summary("static inference: ReduceSum-13 with a non-constant axes input keeps the rank "
                 "(keepdims 1) or uses the axes length (keepdims 0)");
  for (int keep = 0; keep < 2; keep++) {
    MscGraph *g = msc_graph_new("t");
    MscNode *n = make_node(g, "ReduceSum", 13, 2, 0, 1, 0);
    add_attr_int(n, "keepdims", keep);
    MscValue *x = n->inputs[0], *a = n->inputs[1];
    x->dtype = MSC_DTYPE_FLOAT32;
    x->rank = 4;
    int64_t d[4] = {1, 3, 8, 8};
    memcpy(x->dims, d, sizeof d);
    a->dtype = MSC_DTYPE_INT64;
    a->rank = 1;
    a->dims[0] = 2;
    msc_graph_add_input(g, x);
    msc_graph_add_input(g, a);
    msc_graph_add_output(g, n->outputs[0]);
    GError *err = NULL;
    g_assert_true(msc_graph_resolve_ops(g, &err));
    g_assert_true(msc_graph_infer(g, &err));
    g_assert_no_error(err);
    g_assert_cmpint(n->outputs[0]->rank, ==, keep ? 4 : 2);
    g_assert_cmpint(n->outputs[0]->dims[0], ==, -1);
    msc_graph_free(g);
  }
}

static void
test_argmax_select_last_index(void)
{
  g_test_summary("ArgMax/ArgMin with ties: first index by default, last with select_last_index");
  int64_t xd[2] = {2, 4};
  const float v[8] = {1, 5, 5, 0, 2, -1, 2, -1};
  MscTensor *x = tensor_f32(2, xd, v);
  const int64_t e[4][2] = {{1, 0}, {2, 2}, {3, 1}, {3, 3}};
  for (int c = 0; c < 4; c++) {
    MscGraph *g = msc_graph_new("t");
    MscNode *n = make_node(g, c < 2 ? "ArgMax" : "ArgMin", 12, 1, 0, 1, 0);
    add_attr_int(n, "axis", 1);
    add_attr_int(n, "select_last_index", c % 2);
    const MscTensor *ins[1] = {x};
    MscTensor *y = exec1(g, n, ins);
    int64_t yd[2] = {2, 1};
    ot_assert_dims(y, 2, yd);
    g_assert_cmpint(((int64_t *)y->data)[0], ==, e[c][0]);
    g_assert_cmpint(((int64_t *)y->data)[1], ==, e[c][1]);
    msc_tensor_free(y);
    msc_graph_free(g);
  }
  msc_tensor_free(x);
}

/* ---- Gemm / MatMul ------------------------------------------------------------------------- */

/* y[M,N] = alpha * op(A) op(B) + beta * C(broadcast cm x cn), in double. */
static void
gemm_ref(const float *a, const float *b, const float *c, int64_t cm, int64_t cn, int64_t M,
         int64_t N, int64_t K, int ta, int tb, float alpha, float beta, float *y)
{
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double s = 0;
      for (int64_t k = 0; k < K; k++)
        s += (double)(ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
      s *= alpha;
      if (c)
        s += beta * c[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
      y[i * N + j] = (float)s;
    }
}

static void
gemm_case(int64_t M, int64_t N, int64_t K, int ta, int tb, float alpha, float beta, int c_rank,
          int64_t cm, int64_t cn, int64_t opset, MscDType dt)
{
  int64_t ad[2] = {ta ? K : M, ta ? M : K}, bd[2] = {tb ? N : K, tb ? K : N};
  int64_t cdims[2] = {cm, cn};
  MscTensor *a = tensor_rand(dt, 2, ad, 21, -1, 1), *b = tensor_rand(dt, 2, bd, 22, -1, 1);
  MscTensor *c = c_rank >= 0 ? tensor_rand(dt, c_rank, c_rank == 1 ? &cdims[1] : cdims, 23, -1, 1)
                             : NULL;
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "Gemm", opset, c ? 3 : 2, 0, 1, 0);
  if (ta)
    add_attr_int(n, "transA", 1);
  if (tb)
    add_attr_int(n, "transB", 1);
  if (alpha != 1.f)
    add_attr_float(n, "alpha", alpha);
  if (beta != 1.f)
    add_attr_float(n, "beta", beta);
  if (opset < 7 && c)
    add_attr_int(n, "broadcast", 1);
  const MscTensor *ins[3] = {a, b, c};
  MscTensor *y = exec1(g, n, ins);
  int64_t yd[2] = {M, N};
  ot_assert_dims(y, 2, yd);
  g_assert_cmpint(y->dtype, ==, dt);
  float *af = to_floats(a), *bf = to_floats(b), *cf = c ? to_floats(c) : NULL;
  float *e = g_new(float, M * N);
  gemm_ref(af, bf, cf, c_rank == 2 ? cm : 1, c_rank >= 1 ? cn : 1, M, N, K, ta, tb, alpha, beta, e);
  if (dt == MSC_DTYPE_FLOAT16)
    assert_close(y, e, M * N, 5e-3, 5e-3);
  else
    assert_close(y, e, M * N, 1e-4, 1e-5);
  g_free(af);
  g_free(bf);
  g_free(cf);
  g_free(e);
  msc_tensor_free(y);
  msc_tensor_free(a);
  msc_tensor_free(b);
  msc_tensor_free(c);
  msc_graph_free(g);
}

static void
test_gemm_transposes_blocked(void)
{
  g_test_summary("Gemm 37x530x300 (crosses the K and N blocks, M edge) with all transA/transB");
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      gemm_case(37, 530, 300, ta, tb, 0.75f, 0.5f, 2, 37, 530, 13, MSC_DTYPE_FLOAT32);
}

static void
test_gemm_broadcast_c(void)
{
  g_test_summary("Gemm C as [N], [1,N], [M,1], scalar; none at opset 11");
  gemm_case(5, 7, 3, 0, 0, 1.f, 1.f, 1, 1, 7, 13, MSC_DTYPE_FLOAT32);
  gemm_case(5, 7, 3, 0, 1, 1.f, 0.35f, 2, 1, 7, 13, MSC_DTYPE_FLOAT32);
  gemm_case(5, 7, 3, 1, 0, 0.25f, 1.f, 2, 5, 1, 13, MSC_DTYPE_FLOAT32);
  gemm_case(5, 7, 3, 0, 0, 1.f, 2.f, 0, 1, 1, 13, MSC_DTYPE_FLOAT32);
  gemm_case(5, 7, 3, 0, 0, 1.f, 1.f, -1, 1, 1, 11, MSC_DTYPE_FLOAT32);
}

static void
test_gemm_m1_transb_fc(void)
{
  g_test_summary("Gemm M=1..3 with transB (batch-1 FC, no packing) and without");
  for (int64_t m = 1; m <= 3; m++) {
    gemm_case(m, 100, 515, 0, 1, 1.f, 1.f, 1, 1, 100, 9, MSC_DTYPE_FLOAT32);
    gemm_case(m, 101, 67, 0, 0, 1.f, 1.f, 1, 1, 101, 9, MSC_DTYPE_FLOAT32);
  }
}

static void
test_gemm_opset6_broadcast(void)
{
  g_test_summary("Gemm-6 with broadcast=1 and a [N] bias (PyTorch Linear export)");
  gemm_case(4, 8, 10, 0, 1, 1.f, 1.f, 1, 1, 8, 6, MSC_DTYPE_FLOAT32);
}

static void
test_gemm_float16(void)
{
  g_test_summary("Gemm on float16 computes in float and stores float16");
  gemm_case(6, 9, 11, 0, 1, 1.f, 1.f, 1, 1, 9, 13, MSC_DTYPE_FLOAT16);
}

static void
test_gemm_errors(void)
{
  g_test_summary("Gemm: missing C before opset 11, inner dims mismatch, bad C shape");
  int64_t ad[2] = {3, 4}, bd[2] = {5, 6}, bok[2] = {4, 6}, cd[2] = {2, 6};
  MscTensor *a = tensor_rand(MSC_DTYPE_FLOAT32, 2, ad, 1, 0, 1);
  MscTensor *b = tensor_rand(MSC_DTYPE_FLOAT32, 2, bd, 1, 0, 1);
  MscTensor *b2 = tensor_rand(MSC_DTYPE_FLOAT32, 2, bok, 1, 0, 1);
  MscTensor *c = tensor_rand(MSC_DTYPE_FLOAT32, 2, cd, 1, 0, 1);
  for (int k = 0; k < 3; k++) {
    MscGraph *g = msc_graph_new("t");
    MscNode *n = make_node(g, "Gemm", k == 0 ? 9 : 13, k == 2 ? 3 : 2, 0, 1, 0);
    const MscTensor *ins[3] = {a, k == 1 ? b : b2, c};
    expect_error(g, n, ins, MSC_ERR_INVALID_ARG,
                 k == 0 ? "input 'C' is required" : k == 1 ? "[3,4]" : "input 'C' [2,6]");
    msc_graph_free(g);
  }
  msc_tensor_free(a);
  msc_tensor_free(b);
  msc_tensor_free(b2);
  msc_tensor_free(c);
}

/* MatMul reference with numpy broadcasting for ranks up to 4 (batch up to 2). */
static void
matmul_check(int32_t ra, const int64_t *ad, int32_t rb, const int64_t *bd, int32_t ry,
             const int64_t *yd, MscDType dt)
{
  MscTensor *a = tensor_rand(dt, ra, ad, 31, -3, 3), *b = tensor_rand(dt, rb, bd, 32, -3, 3);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "MatMul", 13, 2, 0, 1, 0);
  const MscTensor *ins[2] = {a, b};
  MscTensor *y = exec1(g, n, ins);
  ot_assert_dims(y, ry, yd);
  g_assert_cmpint(y->dtype, ==, dt);
  /* promote to 4-D [b0, b1, M, K] x [b0, b1, K, N] */
  int64_t A4[4] = {1, 1, 1, 1}, B4[4] = {1, 1, 1, 1};
  if (ra == 1)
    A4[3] = ad[0];
  else
    for (int i = 0; i < ra; i++)
      A4[4 - ra + i] = ad[i];
  if (rb == 1)
    B4[2] = bd[0];
  else
    for (int i = 0; i < rb; i++)
      B4[4 - rb + i] = bd[i];
  int64_t M = A4[2], K = A4[3], N = B4[3];
  int64_t b0 = MAX(A4[0], B4[0]), b1 = MAX(A4[1], B4[1]);
  float *af = to_floats(a), *bf = to_floats(b), *e = g_new(float, b0 * b1 * M * N);
  for (int64_t i0 = 0; i0 < b0; i0++)
    for (int64_t i1 = 0; i1 < b1; i1++) {
      int64_t ao = ((A4[0] == 1 ? 0 : i0) * A4[1] + (A4[1] == 1 ? 0 : i1)) * M * K;
      int64_t bo = ((B4[0] == 1 ? 0 : i0) * B4[1] + (B4[1] == 1 ? 0 : i1)) * K * N;
      for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
          double s = 0;
          for (int64_t k = 0; k < K; k++)
            s += (double)af[ao + i * K + k] * bf[bo + k * N + j];
          e[((i0 * b1 + i1) * M + i) * N + j] = (float)s;
        }
    }
  assert_close(y, e, b0 * b1 * M * N, dt == MSC_DTYPE_INT32 ? 0 : 1e-4, dt == MSC_DTYPE_INT32 ? 0 : 1e-4);
  g_free(af);
  g_free(bf);
  g_free(e);
  msc_tensor_free(y);
  msc_tensor_free(a);
  msc_tensor_free(b);
  msc_graph_free(g);
}

static void
test_matmul_batch_broadcast(void)
{
  g_test_summary("MatMul [2,1,5,7] x [3,7,4] -> [2,3,5,4]; [2,3,6,9] x [9,5] folds A's batch");
  int64_t ad[4] = {2, 1, 5, 7}, bd[3] = {3, 7, 4}, yd[4] = {2, 3, 5, 4};
  matmul_check(4, ad, 3, bd, 4, yd, MSC_DTYPE_FLOAT32);
  int64_t ad2[4] = {2, 3, 6, 9}, bd2[2] = {9, 5}, yd2[4] = {2, 3, 6, 5};
  matmul_check(4, ad2, 2, bd2, 4, yd2, MSC_DTYPE_FLOAT32);
  int64_t ad3[2] = {40, 33}, bd3[3] = {2, 33, 21}, yd3[3] = {2, 40, 21};
  matmul_check(2, ad3, 3, bd3, 3, yd3, MSC_DTYPE_FLOAT32);
}

static void
test_matmul_1d(void)
{
  g_test_summary("MatMul 1-D promotion: [K]x[K] scalar, [K]x[2,K,N], [M,K]x[K]");
  int64_t k[1] = {6}, ad[2] = {5, 6}, bd[3] = {2, 6, 4}, yd1[2] = {2, 4}, yd2[1] = {5};
  matmul_check(1, k, 1, k, 0, NULL, MSC_DTYPE_FLOAT32);
  matmul_check(1, k, 3, bd, 2, yd1, MSC_DTYPE_FLOAT32);
  matmul_check(2, ad, 1, k, 1, yd2, MSC_DTYPE_FLOAT32);
}

static void
test_matmul_int32_and_float16(void)
{
  g_test_summary("MatMul on int32 is exact; float16 within half precision");
  int64_t ad[3] = {2, 3, 5}, bd[2] = {5, 4}, yd[3] = {2, 3, 4};
  matmul_check(3, ad, 2, bd, 3, yd, MSC_DTYPE_INT32);
  MscTensor *a = tensor_rand(MSC_DTYPE_FLOAT16, 3, ad, 1, -1, 1);
  MscTensor *b = tensor_rand(MSC_DTYPE_FLOAT16, 2, bd, 2, -1, 1);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "MatMul", 13, 2, 0, 1, 0);
  const MscTensor *ins[2] = {a, b};
  MscTensor *y = exec1(g, n, ins);
  g_assert_cmpint(y->dtype, ==, MSC_DTYPE_FLOAT16);
  float *af = to_floats(a), *bf = to_floats(b), e[24];
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 4; j++) {
      double s = 0;
      for (int k = 0; k < 5; k++)
        s += af[i * 5 + k] * bf[k * 4 + j];
      e[i * 4 + j] = (float)s;
    }
  assert_close(y, e, 24, 2e-3, 2e-3);
  g_free(af);
  g_free(bf);
  msc_tensor_free(y);
  msc_tensor_free(a);
  msc_tensor_free(b);
  msc_graph_free(g);
}

static void
test_matmul_error_inner_mismatch(void)
{
  g_test_summary("MatMul inner dims mismatch names both shapes; batch mismatch too");
  int64_t ad[2] = {2, 3}, bd[2] = {4, 5}, a3[3] = {2, 2, 3}, b3[3] = {3, 3, 5};
  for (int c = 0; c < 2; c++) {
    MscTensor *a = tensor_rand(MSC_DTYPE_FLOAT32, c ? 3 : 2, c ? a3 : ad, 1, 0, 1);
    MscTensor *b = tensor_rand(MSC_DTYPE_FLOAT32, c ? 3 : 2, c ? b3 : bd, 1, 0, 1);
    MscGraph *g = msc_graph_new("t");
    MscNode *n = make_node(g, "MatMul", 13, 2, 0, 1, 0);
    const MscTensor *ins[2] = {a, b};
    expect_error(g, n, ins, MSC_ERR_INVALID_ARG, c ? "[2,2,3] vs B [3,3,5]" : "[2,3]");
    if (!c)
      expect_error(g, n, ins, MSC_ERR_INVALID_ARG, "[4,5]");
    msc_tensor_free(a);
    msc_tensor_free(b);
    msc_graph_free(g);
  }
}

static void
test_matmul_static_infer_unknown_batch(void)
{
  g_test_summary("static inference: MatMul [-1,?,7] x [7,3] -> [-1,?,3]");
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "MatMul", 13, 2, 0, 1, 0);
  MscValue *a = n->inputs[0], *b = n->inputs[1];
  a->dtype = b->dtype = MSC_DTYPE_FLOAT32;
  a->rank = 3;
  a->dims[0] = -1;
  a->dims[1] = -1;
  a->dims[2] = 7;
  b->rank = 2;
  b->dims[0] = 7;
  b->dims[1] = 3;
  msc_graph_add_input(g, a);
  msc_graph_add_input(g, b);
  msc_graph_add_output(g, n->outputs[0]);
  GError *err = NULL;
  g_assert_true(msc_graph_resolve_ops(g, &err));
  g_assert_true(msc_graph_infer(g, &err));
  g_assert_no_error(err);
  MscValue *y = n->outputs[0];
  g_assert_cmpint(y->rank, ==, 3);
  g_assert_cmpint(y->dims[0], ==, -1);
  g_assert_cmpint(y->dims[1], ==, -1);
  g_assert_cmpint(y->dims[2], ==, 3);
  msc_graph_free(g);
}

/* ---- integer matmuls ------------------------------------------------------------------------- */

static void
test_matmulinteger_onnx_example(void)
{
  g_test_summary("MatMulInteger uint8 with scalar zero points (ONNX doc example)");
  int64_t ad[2] = {4, 3}, bd[2] = {3, 2}, zd[1] = {1};
  double av[12] = {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0};
  double bv[6] = {1, 4, 2, 5, 3, 6}, azv = 12, bzv = 0;
  MscTensor *a = tensor_typed(MSC_DTYPE_UINT8, 2, ad, av), *b = tensor_typed(MSC_DTYPE_UINT8, 2, bd, bv);
  MscTensor *az = tensor_typed(MSC_DTYPE_UINT8, 1, zd, &azv), *bz = tensor_typed(MSC_DTYPE_UINT8, 1, zd, &bzv);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "MatMulInteger", 10, 4, 0, 1, 0);
  const MscTensor *ins[4] = {a, b, az, bz};
  MscTensor *y = exec1(g, n, ins);
  g_assert_cmpint(y->dtype, ==, MSC_DTYPE_INT32);
  const int32_t e[8] = {-38, -83, -44, -98, -50, -113, -56, -128};
  for (int i = 0; i < 8; i++)
    g_assert_cmpint(((int32_t *)y->data)[i], ==, e[i]);
  msc_tensor_free(y);
  msc_tensor_free(a);
  msc_tensor_free(b);
  msc_tensor_free(az);
  msc_tensor_free(bz);
  msc_graph_free(g);
}

static void
test_matmulinteger_per_row_col(void)
{
  g_test_summary("MatMulInteger int8 A with per-row zero points [M], uint8 B per-column [N], "
                 "batched [2,M,K] x [K,N], exact");
  int64_t ad[3] = {2, 3, 5}, bd[2] = {5, 4}, azd[1] = {3}, bzd[1] = {4};
  MscTensor *a = tensor_rand(MSC_DTYPE_INT8, 3, ad, 41, -128, 128);
  MscTensor *b = tensor_rand(MSC_DTYPE_UINT8, 2, bd, 42, 0, 256);
  double azv[3] = {-3, 0, 7}, bzv[4] = {128, 0, 255, 17};
  MscTensor *az = tensor_typed(MSC_DTYPE_INT8, 1, azd, azv), *bz = tensor_typed(MSC_DTYPE_UINT8, 1, bzd, bzv);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "MatMulInteger", 10, 4, 0, 1, 0);
  const MscTensor *ins[4] = {a, b, az, bz};
  MscTensor *y = exec1(g, n, ins);
  const int8_t *av = a->data;
  const uint8_t *bv = b->data;
  for (int bt = 0; bt < 2; bt++)
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 4; j++) {
        int32_t s = 0;
        for (int k = 0; k < 5; k++)
          s += (av[(bt * 3 + i) * 5 + k] - (int32_t)azv[i]) * (bv[k * 4 + j] - (int32_t)bzv[j]);
        g_assert_cmpint(((int32_t *)y->data)[(bt * 3 + i) * 4 + j], ==, s);
      }
  msc_tensor_free(y);
  msc_tensor_free(a);
  msc_tensor_free(b);
  msc_tensor_free(az);
  msc_tensor_free(bz);
  msc_graph_free(g);
}

static MscTensor *
scalar_like(MscDType dt, double v)
{
  int64_t d[1] = {1};
  return tensor_typed(dt, 1, d, &v);
}

static void
test_qlinearmatmul_onnx_example(void)
{
  g_test_summary("QLinearMatMul 2-D uint8 (ONNX doc example) is exact");
  int64_t ad[2] = {2, 4}, bd[2] = {4, 3};
  double av[8] = {208, 236, 0, 238, 3, 214, 255, 29};
  double bv[12] = {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247};
  MscTensor *in[8];
  in[0] = tensor_typed(MSC_DTYPE_UINT8, 2, ad, av);
  in[1] = scalar_like(MSC_DTYPE_FLOAT32, 0.0066);
  in[2] = scalar_like(MSC_DTYPE_UINT8, 113);
  in[3] = tensor_typed(MSC_DTYPE_UINT8, 2, bd, bv);
  in[4] = scalar_like(MSC_DTYPE_FLOAT32, 0.00705);
  in[5] = scalar_like(MSC_DTYPE_UINT8, 114);
  in[6] = scalar_like(MSC_DTYPE_FLOAT32, 0.0107);
  in[7] = scalar_like(MSC_DTYPE_UINT8, 118);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "QLinearMatMul", 10, 8, 0, 1, 0);
  MscTensor *y = exec1(g, n, (const MscTensor *const *)in);
  g_assert_cmpint(y->dtype, ==, MSC_DTYPE_UINT8);
  const uint8_t e[6] = {168, 115, 255, 1, 66, 151};
  for (int i = 0; i < 6; i++)
    g_assert_cmpint(((uint8_t *)y->data)[i], ==, e[i]);
  msc_tensor_free(y);
  for (int i = 0; i < 8; i++)
    msc_tensor_free(in[i]);
  msc_graph_free(g);
}

static void
test_qlinearmatmul_per_row_col_int8(void)
{
  g_test_summary("QLinearMatMul int8 with per-row a scale/zp and per-column b scale/zp vs a "
                 "reference (round half to even, saturate; within 1 step)");
  int64_t ad[2] = {3, 16}, bd[2] = {16, 5}, md[1] = {3}, nd[1] = {5};
  double as[3] = {0.02, 0.05, 0.011}, az[3] = {-5, 0, 3};
  double bs[5] = {0.01, 0.03, 0.02, 0.004, 0.05}, bz[5] = {0, 1, -2, 4, 0};
  MscTensor *in[8];
  in[0] = tensor_rand(MSC_DTYPE_INT8, 2, ad, 51, -128, 128);
  in[1] = tensor_typed(MSC_DTYPE_FLOAT32, 1, md, as);
  in[2] = tensor_typed(MSC_DTYPE_INT8, 1, md, az);
  in[3] = tensor_rand(MSC_DTYPE_INT8, 2, bd, 52, -128, 128);
  in[4] = tensor_typed(MSC_DTYPE_FLOAT32, 1, nd, bs);
  in[5] = tensor_typed(MSC_DTYPE_INT8, 1, nd, bz);
  in[6] = scalar_like(MSC_DTYPE_FLOAT32, 0.25);
  in[7] = scalar_like(MSC_DTYPE_INT8, -3);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "QLinearMatMul", 10, 8, 0, 1, 0);
  MscTensor *y = exec1(g, n, (const MscTensor *const *)in);
  g_assert_cmpint(y->dtype, ==, MSC_DTYPE_INT8);
  const int8_t *a = in[0]->data, *b = in[3]->data;
  int saturated = 0;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 5; j++) {
      double s = 0;
      for (int k = 0; k < 16; k++)
        s += (a[i * 16 + k] - az[i]) * as[i] * (b[k * 5 + j] - bz[j]) * bs[j];
      double q = nearbyint(s / 0.25) - 3;
      q = CLAMP(q, -128, 127);
      saturated += q == -128 || q == 127;
      int got = ((int8_t *)y->data)[i * 5 + j];
      g_assert_cmpfloat(fabs(got - q), <=, 1.0);
    }
  g_assert_cmpint(saturated, <, 15); /* the data must exercise the non-saturated path */
  msc_tensor_free(y);
  for (int i = 0; i < 8; i++)
    msc_tensor_free(in[i]);
  msc_graph_free(g);
}

static void
test_qlinearmatmul_error_scale_shape(void)
{
  g_test_summary("QLinearMatMul a_scale of neither 1 nor M entries is INVALID_ARG");
  int64_t ad[2] = {3, 4}, bd[2] = {4, 2}, bad[1] = {2};
  double two[2] = {0.1, 0.2};
  MscTensor *in[8];
  in[0] = tensor_rand(MSC_DTYPE_UINT8, 2, ad, 1, 0, 255);
  in[1] = tensor_typed(MSC_DTYPE_FLOAT32, 1, bad, two);
  in[2] = scalar_like(MSC_DTYPE_UINT8, 0);
  in[3] = tensor_rand(MSC_DTYPE_UINT8, 2, bd, 2, 0, 255);
  in[4] = scalar_like(MSC_DTYPE_FLOAT32, 0.1);
  in[5] = scalar_like(MSC_DTYPE_UINT8, 0);
  in[6] = scalar_like(MSC_DTYPE_FLOAT32, 0.1);
  in[7] = scalar_like(MSC_DTYPE_UINT8, 0);
  MscGraph *g = msc_graph_new("t");
  MscNode *n = make_node(g, "QLinearMatMul", 10, 8, 0, 1, 0);
  expect_error(g, n, (const MscTensor *const *)in, MSC_ERR_INVALID_ARG, "a_scale");
  for (int i = 0; i < 8; i++)
    msc_tensor_free(in[i]);
  msc_graph_free(g);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ops/pool/maxpool-3x3s2-pads1", test_pool_maxpool_3x3s2_pads1);
  g_test_add_func("/ops/pool/maxpool-3x3s2-ceil-hand", test_pool_maxpool_ceil_hand);
  g_test_add_func("/ops/pool/avgpool-3x3s2-ceil-hand", test_pool_avgpool_ceil_hand);
  g_test_add_func("/ops/pool/ceil-drops-window-in-end-pad", test_pool_ceil_drops_window_in_end_pad);
  g_test_add_func("/ops/pool/maxpool-2x2d2-hand", test_pool_maxpool_dilation_hand);
  g_test_add_func("/ops/pool/maxpool-3x4d2x3s2x3-asym-pads", test_pool_maxpool_2d_dilated_strided_padded);
  g_test_add_func("/ops/pool/maxpool-1d-k20d5s3-pads10", test_pool_maxpool_1d_k20d5_pad10);
  g_test_add_func("/ops/pool/avgpool-3x3-pads2-exclude-pad", test_pool_avgpool_pads_exclude);
  g_test_add_func("/ops/pool/avgpool-3x3-pads2-count-include-pad", test_pool_avgpool_pads_include);
  g_test_add_func("/ops/pool/avgpool-3x3s2-ceil-include-pad-overhang", test_pool_avgpool_include_pad_ceil_overhang);
  g_test_add_func("/ops/pool/avgpool-opset1-excludes-pad", test_pool_avgpool_opset1_excludes_pad);
  g_test_add_func("/ops/pool/avgpool-3x3s2-same-upper", test_pool_avgpool_same_upper_3x3s2);
  g_test_add_func("/ops/pool/pool-2x2-same-lower", test_pool_maxpool_same_lower_2x2);
  g_test_add_func("/ops/pool/pool-2x2s2-valid", test_pool_valid_2x2s2);
  g_test_add_func("/ops/pool/pool-3d-2x2x2-pads1", test_pool_3d_2x2x2);
  g_test_add_func("/ops/pool/avgpool-3x3d2-opset19", test_pool_avgpool_dilation);
  g_test_add_func("/ops/pool/lppool-p2-3x3", test_pool_lppool_p2);
  g_test_add_func("/ops/pool/maxpool-indices-5x5-pads2-hand", test_pool_indices_row_major_hand);
  g_test_add_func("/ops/pool/maxpool-indices-column-major-hand", test_pool_indices_column_major_hand);
  g_test_add_func("/ops/pool/maxpool-indices-batch-channel-offset", test_pool_indices_batch_channel_offset);
  g_test_add_func("/ops/pool/maxpool-uint8-float16", test_pool_maxpool_uint8_and_float16);
  g_test_add_func("/ops/pool/global-avg-max", test_pool_global);
  g_test_add_func("/ops/pool/error/kernel-larger-than-padded-input", test_pool_error_kernel_too_large);
  g_test_add_func("/ops/pool/error/bad-attributes", test_pool_error_bad_attrs);
  g_test_add_func("/ops/pool/error/dtype", test_pool_error_dtype);
  g_test_add_func("/ops/pool/static-infer-unknown-dims", test_pool_static_infer_unknown_dims);
  g_test_add_func("/ops/batchnorm/inference-opset15", test_batchnorm_inference_opset15);
  g_test_add_func("/ops/batchnorm/inference-opset1-6-old-attrs", test_batchnorm_inference_opset6_old_attrs);
  g_test_add_func("/ops/batchnorm/spatial0-per-element", test_batchnorm_spatial0_per_element);
  g_test_add_func("/ops/batchnorm/training-mode-opset15", test_batchnorm_training_mode);
  g_test_add_func("/ops/batchnorm/error/param-size", test_batchnorm_error_param_size);
  g_test_add_func("/ops/instancenorm/2x3x4x5-eps1e-2", test_instancenorm);
  g_test_add_func("/ops/lrn/size3", test_lrn_size3);
  g_test_add_func("/ops/softmax/opset11-axis1-flattens", test_softmax_opset11_axis1_flattens);
  g_test_add_func("/ops/softmax/opset13-axis1-single-axis", test_softmax_opset13_axis1_single);
  g_test_add_func("/ops/softmax/default-and-negative-axis", test_softmax_opset13_default_last);
  g_test_add_func("/ops/softmax/large-values-stable", test_softmax_large_values_stable);
  g_test_add_func("/ops/softmax/logsoftmax-both-semantics", test_logsoftmax_both_semantics);
  g_test_add_func("/ops/softmax/error/axis-out-of-range", test_softmax_error_axis);
  g_test_add_func("/ops/reduce/mean-axes-attr-keepdims", test_reduce_mean_axes_attr_keepdims);
  g_test_add_func("/ops/reduce/sum-axes-input-opset13", test_reduce_sum_axes_input_opset13);
  g_test_add_func("/ops/reduce/all-when-axes-absent", test_reduce_all_when_axes_absent);
  g_test_add_func("/ops/reduce/noop-with-empty-axes", test_reduce_noop_with_empty_axes);
  g_test_add_func("/ops/reduce/int32-exact", test_reduce_int32);
  g_test_add_func("/ops/reduce/errors", test_reduce_errors);
  g_test_add_func("/ops/reduce/static-infer-unknown-axes", test_reduce_static_infer_unknown_axes);
  g_test_add_func("/ops/reduce/argmax-argmin-select-last-index", test_argmax_select_last_index);
  g_test_add_func("/ops/gemm/37x530x300-transposes-blocked", test_gemm_transposes_blocked);
  g_test_add_func("/ops/gemm/broadcast-c", test_gemm_broadcast_c);
  g_test_add_func("/ops/gemm/m1-3-fc", test_gemm_m1_transb_fc);
  g_test_add_func("/ops/gemm/opset6-broadcast", test_gemm_opset6_broadcast);
  g_test_add_func("/ops/gemm/float16", test_gemm_float16);
  g_test_add_func("/ops/gemm/errors", test_gemm_errors);
  g_test_add_func("/ops/matmul/batch-broadcast", test_matmul_batch_broadcast);
  g_test_add_func("/ops/matmul/1d-promotion", test_matmul_1d);
  g_test_add_func("/ops/matmul/int32-float16", test_matmul_int32_and_float16);
  g_test_add_func("/ops/matmul/error/inner-mismatch", test_matmul_error_inner_mismatch);
  g_test_add_func("/ops/matmul/static-infer-unknown-batch", test_matmul_static_infer_unknown_batch);
  g_test_add_func("/ops/matmulinteger/uint8-onnx-example", test_matmulinteger_onnx_example);
  g_test_add_func("/ops/matmulinteger/int8-per-row-uint8-per-col-batched", test_matmulinteger_per_row_col);
  g_test_add_func("/ops/qlinearmatmul/2d-uint8-onnx-example", test_qlinearmatmul_onnx_example);
  g_test_add_func("/ops/qlinearmatmul/int8-per-row-per-col", test_qlinearmatmul_per_row_col_int8);
  g_test_add_func("/ops/qlinearmatmul/error/scale-shape", test_qlinearmatmul_error_scale_shape);
  return g_test_run();
}
