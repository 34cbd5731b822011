/* test-ops-elementwise.c: binary/variadic/comparison ops with broadcasting,
 * unary activations, Clip, Cast, QuantizeLinear/DequantizeLinear.
 *
 * Each case builds one node, runs it through msc_node_execute and compares
 * with a naive reference (multi-index broadcasting through
 * msc_broadcast_offset, double-precision formulas) or hand-computed values. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "op-tester.h"
#include "op-util.h"
#include "ops.h"
#include "tensor.h"

/* ---- helpers --------------------------------------------------------------- */

typedef struct {
  const char *name;
  MscAttrType type;
  int64_t i;
  float f;
  const char *s;
  const int64_t *ints;
  size_t n;
} TAttr;

#define A_INT(nm, v) {.name = (nm), .type = MSC_ATTR_INT, .i = (v)}
#define A_FLOAT(nm, v) {.name = (nm), .type = MSC_ATTR_FLOAT, .f = (v)}
#define A_STR(nm, v) {.name = (nm), .type = MSC_ATTR_STRING, .s = (v)}

static MscNode *
build_node(MscGraph *g, const char *op, int64_t opset, uint32_t n_in, const MscTensor *const *in, const TAttr *attrs,
           size_t n_attrs)
{
  uint32_t absent = 0;
  for (uint32_t i = 0; i < n_in; i++)
    if (!in[i])
      absent |= 1u << i;
  MscNode *n = ot_make_node(g, "node0", op, opset, n_in, absent, 1, 0, "y");
  for (size_t k = 0; k < n_attrs; k++) {
    MscAttr a = {0};
    a.name = g_strdup(attrs[k].name);
    a.type = attrs[k].type;
    a.i = attrs[k].i;
    a.f = attrs[k].f;
    if (attrs[k].type == MSC_ATTR_STRING) {
      a.s = g_strdup(attrs[k].s);
      a.s_len = strlen(attrs[k].s);
    }
    if (attrs[k].type == MSC_ATTR_INTS) {
      a.ints = g_memdup2(attrs[k].ints, attrs[k].n * sizeof(int64_t));
      a.n = attrs[k].n;
    }
    msc_node_add_attr(n, &a);
  }
  return n;
}

/* Runs one node; (transfer full) output, or NULL with *err set. */
static MscTensor *
run_op(const char *op, int64_t opset, const MscTensor *const *in, uint32_t n_in, const TAttr *attrs, size_t n_attrs,
       GError **err)
{
  g_autoptr(MscGraph) g = msc_graph_new("t");
  MscNode *n = build_node(g, op, opset, n_in, in, attrs, n_attrs);
  return ot_execute1(g, n, in, err);
}

/* Like run_op but asserts success. */
static MscTensor *
run_ok(const char *op, int64_t opset, const MscTensor *const *in, uint32_t n_in, const TAttr *attrs, size_t n_attrs)
{
  GError *err = NULL;
  MscTensor *t = run_op(op, opset, in, n_in, attrs, n_attrs, &err);
  if (err)
    g_test_message("%s: %s", op, err->message);
  g_assert_no_error(err);
  g_assert_nonnull(t);
  return t;
}

static void
assert_fails(const char *op, int64_t opset, const MscTensor *const *in, uint32_t n_in, const TAttr *attrs,
             size_t n_attrs, MscStatus code, const char *needle1, const char *needle2)
{
  GError *err = NULL;
  MscTensor *t = run_op(op, opset, in, n_in, attrs, n_attrs, &err);
  g_assert_null(t);
  g_assert_nonnull(err);
  g_test_message("%s: expected error: %s", op, err->message);
  g_assert_cmpint(err->domain, ==, MSC_ERROR);
  g_assert_cmpint(err->code, ==, code);
  if (needle1)
    g_assert_nonnull(strstr(err->message, needle1));
  if (needle2)
    g_assert_nonnull(strstr(err->message, needle2));
  g_error_free(err);
}

static MscTensor *
mk(MscDType dt, int32_t rank, const int64_t *dims, const double *vals)
{
  GError *err = NULL;
  MscTensor *t = msc_tensor_new(dt, rank, dims, &err);
  g_assert_no_error(err);
  int64_t n = msc_tensor_numel(t);
  if (vals)
    for (int64_t i = 0; i < n; i++)
      msc_tensor_set_f64(t, i, vals[i]);
  return t;
}

/* Raw integer setter (msc_tensor_set_f64 saturates; tests need exact bits). */
static MscTensor *
mk_i64(MscDType dt, int32_t rank, const int64_t *dims, const int64_t *vals)
{
  MscTensor *t = mk(dt, rank, dims, NULL);
  int64_t n = msc_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    switch (dt) {
      case MSC_DTYPE_INT8: ((int8_t *)t->data)[i] = (int8_t)vals[i]; break;
      case MSC_DTYPE_UINT8: case MSC_DTYPE_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)vals[i]; break;
      case MSC_DTYPE_INT32: ((int32_t *)t->data)[i] = (int32_t)vals[i]; break;
      case MSC_DTYPE_INT64: ((int64_t *)t->data)[i] = vals[i]; break;
      default: g_assert_not_reached();
    }
  }
  return t;
}

static MscTensor *
mk_random(MscDType dt, int32_t rank, const int64_t *dims, GRand *r, double lo, double hi)
{
  MscTensor *t = mk(dt, rank, dims, NULL);
  ot_fill_random(t, r, lo, hi);
  return t;
}

static void
assert_values(const MscTensor *t, const double *want, int64_t n, double tol)
{
  g_assert_cmpint(msc_tensor_numel(t), ==, n);
  for (int64_t i = 0; i < n; i++) {
    double got = msc_tensor_get_f64(t, i);
    double w = want[i];
    /* exact expectations are written in decimal: compare in the output's precision */
    if (t->dtype == MSC_DTYPE_FLOAT32)
      w = (float)w;
    else if (t->dtype == MSC_DTYPE_FLOAT16)
      w = msc_f16_to_f32(msc_f32_to_f16((float)w));
    if (isnan(w)) {
      g_assert_true(isnan(got));
      continue;
    }
    if (fabs(got - w) > tol * (1.0 + fabs(w)))
      g_test_message("element %" G_GINT64_FORMAT ": got %.9g, want %.9g", i, got, w);
    if (tol == 0)
      g_assert_cmpfloat(got, ==, w);
    else
      g_assert_cmpfloat_with_epsilon(got, w, tol * (1.0 + fabs(w)));
  }
}

static void
assert_ints(const MscTensor *t, const int64_t *want, int64_t n)
{
  g_assert_cmpint(msc_tensor_numel(t), ==, n);
  for (int64_t i = 0; i < n; i++)
    g_assert_cmpint(msc_tensor_get_i64(t, i), ==, want[i]);
}

/* ---- naive broadcasting reference ------------------------------------------ */

typedef double (*RefFn)(double, double);

static double ref_add(double a, double b) { return a + b; }
static double ref_sub(double a, double b) { return a - b; }
static double ref_mul(double a, double b) { return a * b; }
static double ref_div(double a, double b) { return a / b; }
static double ref_max(double a, double b) { return a > b ? a : b; }
static double ref_min(double a, double b) { return a < b ? a : b; }
static double ref_pow(double a, double b) { return pow(a, b); }
static double ref_prelu(double a, double b) { return a < 0 ? a * b : a; }
static double ref_gt(double a, double b) { return a > b; }
static double ref_eq(double a, double b) { return a == b; }

/* Output shape by the numpy rule, computed independently of msc_op_broadcast. */
static void
ref_broadcast_shape(int32_t ra, const int64_t *da, int32_t rb, const int64_t *db, int32_t *ro, int64_t *dout)
{
  *ro = MAX(ra, rb);
  for (int32_t k = 0; k < *ro; k++) {
    int64_t a = k - (*ro - ra) >= 0 ? da[k - (*ro - ra)] : 1;
    int64_t b = k - (*ro - rb) >= 0 ? db[k - (*ro - rb)] : 1;
    dout[k] = a == 1 ? b : a;
  }
}

/* out[idx] = f(a[bcast idx], b[bcast idx]) over every output multi-index. */
static void
ref_binary(const MscTensor *a, const MscTensor *b, const MscTensor *out, RefFn f, double *res)
{
  int64_t n = msc_tensor_numel(out), idx[MSC_MAX_RANK] = {0};
  for (int64_t i = 0; i < n; i++) {
    int64_t rem = i;
    for (int32_t d = out->rank - 1; d >= 0; d--) {
      idx[d] = rem % out->dims[d];
      rem /= out->dims[d];
    }
    double x = msc_tensor_get_f64(a, msc_broadcast_offset(out->rank, idx, a->rank, a->dims));
    double y = msc_tensor_get_f64(b, msc_broadcast_offset(out->rank, idx, b->rank, b->dims));
    res[i] = f(x, y);
  }
}

typedef struct {
  const char *label;
  int32_t ra;
  int64_t da[5];
  int32_t rb;
  int64_t db[5];
} ShapePair;

static const ShapePair shape_pairs[] = {
    {"same", 3, {2, 3, 4}, 3, {2, 3, 4}},
    {"scalar-right", 3, {2, 3, 4}, 0, {0}},
    {"scalar-left", 0, {0}, 2, {3, 5}},
    {"both-scalar", 0, {0}, 0, {0}},
    {"trailing", 3, {3, 4, 5}, 1, {5}},
    {"bias-nchw", 4, {2, 3, 4, 5}, 3, {3, 1, 1}},
    {"middle", 4, {2, 3, 4, 5}, 2, {4, 1}},
    {"both-sides", 3, {3, 1, 5}, 3, {1, 4, 1}},
    {"leading-ones", 3, {1, 1, 4}, 2, {3, 1}},
    {"size1-everywhere", 4, {1, 3, 1, 7}, 4, {2, 1, 6, 1}},
    {"rank5-column", 5, {2, 1, 3, 2, 4}, 2, {2, 1}},
    {"empty", 2, {0, 3}, 1, {3}},
};

/* @unidirectional: only pairs whose output is A's shape (PRelu's slope). */
static void
check_broadcast_pairs(const char *op, RefFn f, MscDType dt, double lo, double hi, double tol, gboolean unidirectional)
{
  g_autoptr(GRand) r = g_rand_new_with_seed(42);
  for (size_t p = 0; p < G_N_ELEMENTS(shape_pairs); p++) {
    const ShapePair *sp = &shape_pairs[p];
    int32_t ro;
    int64_t dout[MSC_MAX_RANK];
    ref_broadcast_shape(sp->ra, sp->da, sp->rb, sp->db, &ro, dout);
    if (unidirectional && (ro != sp->ra || memcmp(dout, sp->da, sizeof(int64_t) * (size_t)ro) != 0))
      continue;
    g_autoptr(MscTensor) a = mk_random(dt, sp->ra, sp->da, r, lo, hi);
    g_autoptr(MscTensor) b = mk_random(dt, sp->rb, sp->db, r, lo, hi);
    const MscTensor *in[2] = {a, b};
    g_autoptr(MscTensor) out = run_ok(op, 14, in, 2, NULL, 0);
    ot_assert_dims(out, ro, dout);
    int64_t n = msc_tensor_numel(out);
    g_autofree double *want = g_new0(double, n + 1);
    ref_binary(a, b, out, f, want);
    g_test_message("%s %s", op, sp->label);
    assert_values(out, want, n, tol);
  }
}

/* ---- binary ops -------------------------------------------------------------- */

static void
test_binary_broadcast_shapes(void)
{
  g_test_summary("Add/Sub/Mul/Div/Max/Min/Pow/Greater/Equal over scalar, trailing, middle, both-sided and "
                 "size-1 broadcasts match a multi-index reference (float32)");
  check_broadcast_pairs("Add", ref_add, MSC_DTYPE_FLOAT32, -3, 3, 1e-6, FALSE);
  check_broadcast_pairs("Sub", ref_sub, MSC_DTYPE_FLOAT32, -3, 3, 1e-6, FALSE);
  check_broadcast_pairs("Mul", ref_mul, MSC_DTYPE_FLOAT32, -3, 3, 1e-6, FALSE);
  check_broadcast_pairs("Div", ref_div, MSC_DTYPE_FLOAT32, 0.5, 3, 1e-6, FALSE);
  check_broadcast_pairs("Max", ref_max, MSC_DTYPE_FLOAT32, -3, 3, 0, FALSE);
  check_broadcast_pairs("Min", ref_min, MSC_DTYPE_FLOAT32, -3, 3, 0, FALSE);
  check_broadcast_pairs("Pow", ref_pow, MSC_DTYPE_FLOAT32, 0.5, 2, 1e-6, FALSE);
  check_broadcast_pairs("Greater", ref_gt, MSC_DTYPE_FLOAT32, -3, 3, 0, FALSE);
  check_broadcast_pairs("Equal", ref_eq, MSC_DTYPE_INT32, 0, 3, 0, FALSE);
}

static void
test_binary_int_dtypes(void)
{
  g_test_summary("integer Add/Sub/Mul/Max broadcast like float and wrap on overflow (numpy)");
  check_broadcast_pairs("Add", ref_add, MSC_DTYPE_INT64, -100, 100, 0, FALSE);
  check_broadcast_pairs("Mul", ref_mul, MSC_DTYPE_INT32, -100, 100, 0, FALSE);
  check_broadcast_pairs("Sub", ref_sub, MSC_DTYPE_INT8, -50, 50, 0, FALSE);
  check_broadcast_pairs("Max", ref_max, MSC_DTYPE_UINT8, 0, 255, 0, FALSE);
  int64_t d[1] = {3};
  g_autoptr(MscTensor) a = mk_i64(MSC_DTYPE_UINT8, 1, d, (int64_t[]){200, 255, 0});
  g_autoptr(MscTensor) b = mk_i64(MSC_DTYPE_UINT8, 1, d, (int64_t[]){100, 1, 1});
  const MscTensor *in[2] = {a, b};
  g_autoptr(MscTensor) s = run_ok("Add", 14, in, 2, NULL, 0);
  assert_ints(s, (int64_t[]){44, 0, 1}, 3);
  g_autoptr(MscTensor) u = run_ok("Sub", 14, (const MscTensor *[]){b, a}, 2, NULL, 0);
  assert_ints(u, (int64_t[]){156, 2, 1}, 3);
  g_autoptr(MscTensor) c = mk_i64(MSC_DTYPE_INT32, 1, d, (int64_t[]){INT32_MAX, INT32_MIN, 5});
  g_autoptr(MscTensor) e = mk_i64(MSC_DTYPE_INT32, 1, d, (int64_t[]){1, -1, 7});
  g_autoptr(MscTensor) w = run_ok("Add", 14, (const MscTensor *[]){c, e}, 2, NULL, 0);
  assert_ints(w, (int64_t[]){INT32_MIN, INT32_MAX, 12}, 3);
}

static void
test_binary_large_same_shape(void)
{
  g_test_summary("a 1x64x56x56 float32 Add (contiguous fast path) and a per-channel bias Mul are exact");
  g_autoptr(GRand) r = g_rand_new_with_seed(7);
  int64_t da[4] = {1, 64, 56, 56}, db[3] = {64, 1, 1};
  g_autoptr(MscTensor) a = mk_random(MSC_DTYPE_FLOAT32, 4, da, r, -1, 1);
  g_autoptr(MscTensor) b = mk_random(MSC_DTYPE_FLOAT32, 4, da, r, -1, 1);
  g_autoptr(MscTensor) c = mk_random(MSC_DTYPE_FLOAT32, 3, db, r, -1, 1);
  g_autoptr(MscTensor) s = run_ok("Add", 13, (const MscTensor *[]){a, b}, 2, NULL, 0);
  g_autoptr(MscTensor) m = run_ok("Mul", 13, (const MscTensor *[]){a, c}, 2, NULL, 0);
  const float *pa = a->data, *pb = b->data, *pc = c->data, *ps = s->data, *pm = m->data;
  for (int64_t i = 0; i < 64 * 56 * 56; i++) {
    g_assert_cmpfloat(ps[i], ==, pa[i] + pb[i]);
    g_assert_cmpfloat(pm[i], ==, pa[i] * pc[i / (56 * 56)]);
  }
}

static void
test_binary_incompatible(void)
{
  g_test_summary("an incompatible broadcast is INVALID_ARG naming both shapes");
  int64_t da[2] = {2, 3}, db[1] = {4};
  g_autoptr(MscTensor) a = mk(MSC_DTYPE_FLOAT32, 2, da, NULL);
  g_autoptr(MscTensor) b = mk(MSC_DTYPE_FLOAT32, 1, db, NULL);
  assert_fails("Add", 14, (const MscTensor *[]){a, b}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "[2,3]", "[4]");
  assert_fails("Sum", 13, (const MscTensor *[]){a, a, b}, 3, NULL, 0, MSC_ERR_INVALID_ARG, "[2,3]", "[4]");
  g_autoptr(MscTensor) c = mk(MSC_DTYPE_INT32, 2, da, NULL);
  assert_fails("Add", 14, (const MscTensor *[]){a, c}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "float32", "int32");
}

static void
test_binary_unsupported_dtype(void)
{
  g_test_summary("int16/bfloat16 inputs are UNSUPPORTED naming the dtype; double is refused by Not and Mod fmod=0");
  int64_t d[1] = {2};
  g_autoptr(MscTensor) a = mk(MSC_DTYPE_BFLOAT16, 1, d, NULL);
  g_autoptr(MscTensor) b = mk(MSC_DTYPE_INT16, 1, d, NULL);
  g_autoptr(MscTensor) f64 = mk(MSC_DTYPE_DOUBLE, 1, d, NULL);
  assert_fails("Add", 14, (const MscTensor *[]){a, a}, 2, NULL, 0, MSC_ERR_UNSUPPORTED, "bfloat16", NULL);
  assert_fails("Max", 13, (const MscTensor *[]){b, b}, 2, NULL, 0, MSC_ERR_UNSUPPORTED, "int16", NULL);
  assert_fails("Relu", 14, (const MscTensor *[]){a}, 1, NULL, 0, MSC_ERR_UNSUPPORTED, "bfloat16", NULL);
  assert_fails("Not", 1, (const MscTensor *[]){f64}, 1, NULL, 0, MSC_ERR_UNSUPPORTED, "double", NULL);
  assert_fails("Mod", 13, (const MscTensor *[]){f64, f64}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "fmod", "double");
  g_autoptr(MscTensor) c = mk(MSC_DTYPE_BOOL, 1, d, NULL);
  assert_fails("Greater", 13, (const MscTensor *[]){c, c}, 2, NULL, 0, MSC_ERR_UNSUPPORTED, "bool", NULL);
}

static void
test_binary_old_broadcast(void)
{
  g_test_summary("opset<7 broadcast=1 aligns B at 'axis' (or the suffix); broadcast=0 needs equal shapes");
  g_autoptr(GRand) r = g_rand_new_with_seed(3);
  int64_t da[4] = {2, 3, 4, 5}, db[2] = {3, 4}, ds[1] = {5}, d2[2] = {2, 3}, d21[2] = {2, 1};
  g_autoptr(MscTensor) a = mk_random(MSC_DTYPE_FLOAT32, 4, da, r, -1, 1);
  g_autoptr(MscTensor) b = mk_random(MSC_DTYPE_FLOAT32, 2, db, r, -1, 1);
  TAttr ax1[] = {A_INT("broadcast", 1), A_INT("axis", 1), {.name = "consumed_inputs", .type = MSC_ATTR_INTS,
                                                           .ints = (const int64_t[]){0, 0}, .n = 2}};
  g_autoptr(MscTensor) o = run_ok("Add", 6, (const MscTensor *[]){a, b}, 2, ax1, 3);
  ot_assert_dims(o, 4, da);
  const float *pa = a->data, *pb = b->data, *po = o->data;
  for (int64_t i = 0; i < 120; i++) {
    int64_t c = (i / 20) % 3, h = (i / 5) % 4;
    g_assert_cmpfloat(po[i], ==, pa[i] + pb[c * 4 + h]);
  }
  /* axis counted from the back */
  TAttr axm3[] = {A_INT("broadcast", 1), A_INT("axis", -3)};
  g_autoptr(MscTensor) o2 = run_ok("Sub", 6, (const MscTensor *[]){a, b}, 2, axm3, 2);
  const float *po2 = o2->data;
  for (int64_t i = 0; i < 120; i++)
    g_assert_cmpfloat(po2[i], ==, pa[i] - pb[((i / 20) % 3) * 4 + (i / 5) % 4]);
  /* no axis: suffix aligned */
  g_autoptr(MscTensor) s = mk_random(MSC_DTYPE_FLOAT32, 1, ds, r, -1, 1);
  TAttr bc[] = {A_INT("broadcast", 1)};
  g_autoptr(MscTensor) o3 = run_ok("Mul", 1, (const MscTensor *[]){a, s}, 2, bc, 1);
  const float *ps = s->data, *po3 = o3->data;
  for (int64_t i = 0; i < 120; i++)
    g_assert_cmpfloat(po3[i], ==, pa[i] * ps[i % 5]);
  /* PyTorch's size-1 form: A [2,3] + B [2,1] at axis 0 */
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_FLOAT32, 2, d2, (double[]){1, 2, 3, 4, 5, 6});
  g_autoptr(MscTensor) y = mk(MSC_DTYPE_FLOAT32, 2, d21, (double[]){10, 20});
  TAttr ax0[] = {A_INT("broadcast", 1), A_INT("axis", 0)};
  g_autoptr(MscTensor) o4 = run_ok("Add", 6, (const MscTensor *[]){x, y}, 2, ax0, 2);
  assert_values(o4, (double[]){11, 12, 13, 24, 25, 26}, 6, 0);
  /* errors */
  assert_fails("Add", 6, (const MscTensor *[]){a, b}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "broadcast", "[3,4]");
  TAttr ax2[] = {A_INT("broadcast", 1), A_INT("axis", 3)};
  assert_fails("Add", 6, (const MscTensor *[]){a, b}, 2, ax2, 2, MSC_ERR_INVALID_ARG, "axis", "[2,3,4,5]");
  TAttr ax0b[] = {A_INT("broadcast", 1), A_INT("axis", 0)};
  assert_fails("Add", 6, (const MscTensor *[]){a, b}, 2, ax0b, 2, MSC_ERR_INVALID_ARG, "[3,4]", "[2,3,4,5]");
  assert_fails("Add", 6, (const MscTensor *[]){b, a}, 2, bc, 1, MSC_ERR_INVALID_ARG, "higher rank", NULL);
  /* the same shapes broadcast numpy-style from opset 7 */
  g_autoptr(MscTensor) o5 = run_ok("Add", 7, (const MscTensor *[]){a, s}, 2, NULL, 0);
  ot_assert_dims(o5, 4, da);
}

static void
test_prelu_forms(void)
{
  g_test_summary("PRelu: opset<7 per-channel slope [C] on axis 1 and size-1 slope; numpy from opset 7");
  int64_t dx[3] = {2, 3, 2}, dc[1] = {3}, d1[1] = {1}, dl[1] = {2};
  double xv[12] = {-1, 2, -3, 4, -5, 6, 7, -8, 9, -10, 11, -12};
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_FLOAT32, 3, dx, xv);
  g_autoptr(MscTensor) sc = mk(MSC_DTYPE_FLOAT32, 1, dc, (double[]){0.1, 0.2, 0.3});
  g_autoptr(MscTensor) o = run_ok("PRelu", 6, (const MscTensor *[]){x, sc}, 2, NULL, 0);
  double want[12];
  for (int i = 0; i < 12; i++) {
    double s = 0.1 * (1 + (i / 2) % 3);
    want[i] = xv[i] < 0 ? xv[i] * s : xv[i];
  }
  assert_values(o, want, 12, 1e-6);
  g_autoptr(MscTensor) s1 = mk(MSC_DTYPE_FLOAT32, 1, d1, (double[]){0.5});
  g_autoptr(MscTensor) o1 = run_ok("PRelu", 1, (const MscTensor *[]){x, s1}, 2, NULL, 0);
  for (int i = 0; i < 12; i++)
    want[i] = xv[i] < 0 ? xv[i] * 0.5 : xv[i];
  assert_values(o1, want, 12, 1e-6);
  /* opset 9: numpy, slope [2] on the last axis */
  g_autoptr(MscTensor) sl = mk(MSC_DTYPE_FLOAT32, 1, dl, (double[]){0.1, 0.2});
  g_autoptr(MscTensor) o2 = run_ok("PRelu", 9, (const MscTensor *[]){x, sl}, 2, NULL, 0);
  for (int i = 0; i < 12; i++)
    want[i] = xv[i] < 0 ? xv[i] * (i % 2 ? 0.2 : 0.1) : xv[i];
  assert_values(o2, want, 12, 1e-6);
  /* opset 9 with a channel slope [3] against [2,3,2] does not broadcast */
  assert_fails("PRelu", 9, (const MscTensor *[]){x, sc}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "[2,3,2]", "[3]");
  /* the slope may not grow the output */
  int64_t db[4] = {2, 2, 3, 2};
  g_autoptr(MscTensor) big = mk(MSC_DTYPE_FLOAT32, 4, db, NULL);
  assert_fails("PRelu", 16, (const MscTensor *[]){x, big}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "slope", NULL);
  check_broadcast_pairs("PRelu", ref_prelu, MSC_DTYPE_FLOAT32, -2, 2, 1e-6, TRUE);
}

static void
test_div_int(void)
{
  g_test_summary("integer Div truncates toward zero, INT_MIN/-1 wraps, a zero divisor is an error");
  int64_t d[6] = {6};
  g_autoptr(MscTensor) a = mk_i64(MSC_DTYPE_INT32, 1, d, (int64_t[]){7, -7, 7, -7, INT32_MIN, 0});
  g_autoptr(MscTensor) b = mk_i64(MSC_DTYPE_INT32, 1, d, (int64_t[]){2, 2, -2, -2, -1, 5});
  g_autoptr(MscTensor) o = run_ok("Div", 14, (const MscTensor *[]){a, b}, 2, NULL, 0);
  assert_ints(o, (int64_t[]){3, -3, -3, 3, INT32_MIN, 0}, 6);
  g_autoptr(MscTensor) a8 = mk_i64(MSC_DTYPE_INT8, 1, d, (int64_t[]){-128, -7, 100, 9, 1, -1});
  g_autoptr(MscTensor) b8 = mk_i64(MSC_DTYPE_INT8, 1, d, (int64_t[]){-1, 3, -7, 10, 1, 2});
  g_autoptr(MscTensor) o8 = run_ok("Div", 14, (const MscTensor *[]){a8, b8}, 2, NULL, 0);
  assert_ints(o8, (int64_t[]){-128, -2, -14, 0, 1, 0}, 6);
  g_autoptr(MscTensor) u = mk_i64(MSC_DTYPE_UINT8, 1, d, (int64_t[]){255, 23, 7, 0, 100, 9});
  g_autoptr(MscTensor) v = mk_i64(MSC_DTYPE_UINT8, 1, d, (int64_t[]){2, 24, 7, 3, 1, 4});
  g_autoptr(MscTensor) ou = run_ok("Div", 14, (const MscTensor *[]){u, v}, 2, NULL, 0);
  assert_ints(ou, (int64_t[]){127, 0, 1, 0, 100, 2}, 6);
  int64_t d1[1] = {1};
  g_autoptr(MscTensor) z = mk_i64(MSC_DTYPE_INT64, 1, d1, (int64_t[]){0});
  g_autoptr(MscTensor) a64 = mk_i64(MSC_DTYPE_INT64, 1, d, (int64_t[]){1, 2, 3, 4, 5, 6});
  assert_fails("Div", 14, (const MscTensor *[]){a64, z}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "division by zero", NULL);
}

static void
test_mod(void)
{
  g_test_summary("Mod: fmod=0 takes the divisor's sign (numpy), fmod=1 the dividend's (C); floats need fmod=1");
  int64_t d[6] = {6};
  g_autoptr(MscTensor) a = mk_i64(MSC_DTYPE_INT32, 1, d, (int64_t[]){-4, 7, 5, 4, -7, 8});
  g_autoptr(MscTensor) b = mk_i64(MSC_DTYPE_INT32, 1, d, (int64_t[]){2, -3, 8, -2, 3, 5});
  g_autoptr(MscTensor) m0 = run_ok("Mod", 13, (const MscTensor *[]){a, b}, 2, NULL, 0);
  assert_ints(m0, (int64_t[]){0, -2, 5, 0, 2, 3}, 6);
  TAttr f1[] = {A_INT("fmod", 1)};
  g_autoptr(MscTensor) m1 = run_ok("Mod", 13, (const MscTensor *[]){a, b}, 2, f1, 1);
  assert_ints(m1, (int64_t[]){0, 1, 5, 0, -1, 3}, 6);
  g_autoptr(MscTensor) fa = mk(MSC_DTYPE_FLOAT32, 1, d, (double[]){-4.5, 7.5, 5, 4, -7, 8});
  g_autoptr(MscTensor) fb = mk(MSC_DTYPE_FLOAT32, 1, d, (double[]){2, -3, 8, -2, 3, 5});
  g_autoptr(MscTensor) mf = run_ok("Mod", 13, (const MscTensor *[]){fa, fb}, 2, f1, 1);
  assert_values(mf, (double[]){-0.5, 1.5, 5, 0, -1, 3}, 6, 1e-6);
  assert_fails("Mod", 13, (const MscTensor *[]){fa, fb}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "fmod", NULL);
}

static void
test_pow_mixed(void)
{
  g_test_summary("Pow: float base with int exponent, int base with float exponent (truncated), int^int");
  int64_t d[4] = {4};
  g_autoptr(MscTensor) fb = mk(MSC_DTYPE_FLOAT32, 1, d, (double[]){2, -3, 0.5, 10});
  g_autoptr(MscTensor) ie = mk_i64(MSC_DTYPE_INT64, 1, d, (int64_t[]){3, 2, -1, 0});
  g_autoptr(MscTensor) o1 = run_ok("Pow", 15, (const MscTensor *[]){fb, ie}, 2, NULL, 0);
  g_assert_cmpint(o1->dtype, ==, MSC_DTYPE_FLOAT32);
  assert_values(o1, (double[]){8, 9, 2, 1}, 4, 1e-6);
  g_autoptr(MscTensor) ib = mk_i64(MSC_DTYPE_INT32, 1, d, (int64_t[]){2, 3, 4, -2});
  g_autoptr(MscTensor) fe = mk(MSC_DTYPE_FLOAT32, 1, d, (double[]){0.5, 2, 1.5, 3});
  g_autoptr(MscTensor) o2 = run_ok("Pow", 15, (const MscTensor *[]){ib, fe}, 2, NULL, 0);
  g_assert_cmpint(o2->dtype, ==, MSC_DTYPE_INT32);
  assert_ints(o2, (int64_t[]){1, 9, 8, -8}, 4);
  g_autoptr(MscTensor) i64 = mk_i64(MSC_DTYPE_INT64, 1, d, (int64_t[]){3, -2, 2, 7});
  g_autoptr(MscTensor) e64 = mk_i64(MSC_DTYPE_INT64, 1, d, (int64_t[]){4, 3, 62, 0});
  g_autoptr(MscTensor) o3 = run_ok("Pow", 15, (const MscTensor *[]){i64, e64}, 2, NULL, 0);
  assert_ints(o3, (int64_t[]){81, -8, (int64_t)1 << 62, 1}, 4);
  assert_fails("Pow", 11, (const MscTensor *[]){fb, ie}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "opset 12", NULL);
}

static void
test_variadic(void)
{
  g_test_summary("Sum/Mean/Max/Min over three inputs of shapes [3,1], [1,4], [4] and over one input");
  g_autoptr(GRand) r = g_rand_new_with_seed(5);
  int64_t da[2] = {3, 1}, db[2] = {1, 4}, dc[1] = {4};
  g_autoptr(MscTensor) a = mk_random(MSC_DTYPE_FLOAT32, 2, da, r, -2, 2);
  g_autoptr(MscTensor) b = mk_random(MSC_DTYPE_FLOAT32, 2, db, r, -2, 2);
  g_autoptr(MscTensor) c = mk_random(MSC_DTYPE_FLOAT32, 1, dc, r, -2, 2);
  const MscTensor *in[3] = {a, b, c};
  const char *ops[4] = {"Sum", "Mean", "Max", "Min"};
  for (int k = 0; k < 4; k++) {
    g_autoptr(MscTensor) o = run_ok(ops[k], 13, in, 3, NULL, 0);
    int64_t want_dims[2] = {3, 4};
    ot_assert_dims(o, 2, want_dims);
    double want[12];
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 4; j++) {
        double x = msc_tensor_get_f64(a, i), y = msc_tensor_get_f64(b, j), z = msc_tensor_get_f64(c, j);
        want[i * 4 + j] = k == 0 ? x + y + z
                        : k == 1 ? (x + y + z) / 3
                        : k == 2 ? MAX(x, MAX(y, z))
                                 : MIN(x, MIN(y, z));
      }
    assert_values(o, want, 12, 1e-6);
  }
  /* the first pair broadcasts along a dim only the third input has */
  g_autoptr(MscTensor) s3 = run_ok("Sum", 13, (const MscTensor *[]){a, a, b}, 3, NULL, 0);
  double want3[12];
  for (int i = 0; i < 12; i++)
    want3[i] = 2 * (double)(float)msc_tensor_get_f64(a, i / 4) + msc_tensor_get_f64(b, i % 4);
  assert_values(s3, want3, 12, 1e-6);
  g_autoptr(MscTensor) one = run_ok("Mean", 8, (const MscTensor *[]){b}, 1, NULL, 0);
  ot_assert_dims(one, 2, db);
  for (int j = 0; j < 4; j++)
    g_assert_cmpfloat(msc_tensor_get_f64(one, j), ==, msc_tensor_get_f64(b, j));
  /* Mean of integers is not defined */
  int64_t d1[1] = {2};
  g_autoptr(MscTensor) ii = mk(MSC_DTYPE_INT32, 1, d1, NULL);
  assert_fails("Mean", 13, (const MscTensor *[]){ii, ii}, 2, NULL, 0, MSC_ERR_UNSUPPORTED, "int32", NULL);
}

static void
test_float16(void)
{
  g_test_summary("float16 Add/Max/Sigmoid/Clip are computed in float32 and rounded once");
  int64_t d[4] = {4};
  g_autoptr(MscTensor) a = mk(MSC_DTYPE_FLOAT16, 1, d, (double[]){1, 0.5, -2, 1000});
  g_autoptr(MscTensor) b = mk(MSC_DTYPE_FLOAT16, 1, d, (double[]){0.25, 0.125, 3, 0.25});
  g_autoptr(MscTensor) s = run_ok("Add", 14, (const MscTensor *[]){a, b}, 2, NULL, 0);
  g_assert_cmpint(s->dtype, ==, MSC_DTYPE_FLOAT16);
  assert_values(s, (double[]){1.25, 0.625, 1, 1000}, 4, 0); /* 1000.25 rounds to even 1000 in half */
  g_autoptr(MscTensor) m = run_ok("Max", 13, (const MscTensor *[]){a, b}, 2, NULL, 0);
  assert_values(m, (double[]){1, 0.5, 3, 1000}, 4, 0);
  g_autoptr(MscTensor) sg = run_ok("Sigmoid", 13, (const MscTensor *[]){a}, 1, NULL, 0);
  double want[4];
  for (int i = 0; i < 4; i++)
    want[i] = msc_f16_to_f32(msc_f32_to_f16((float)(1.0 / (1.0 + exp(-msc_tensor_get_f64(a, i))))));
  assert_values(sg, want, 4, 0);
  g_autoptr(MscTensor) lt = run_ok("Less", 13, (const MscTensor *[]){a, b}, 2, NULL, 0);
  g_assert_cmpint(lt->dtype, ==, MSC_DTYPE_BOOL);
  assert_ints(lt, (int64_t[]){0, 0, 1, 0}, 4);
}

static void
test_compare_logic_where(void)
{
  g_test_summary("comparisons give bool with broadcast; And/Or/Xor on bool; Where broadcasts three ways");
  int64_t d3[1] = {3}, d23[2] = {2, 3}, d21[2] = {2, 1};
  g_autoptr(MscTensor) a = mk(MSC_DTYPE_FLOAT32, 2, d23, (double[]){1, 2, 3, 4, 5, 6});
  g_autoptr(MscTensor) b = mk(MSC_DTYPE_FLOAT32, 1, d3, (double[]){2, 2, 5});
  const char *ops[5] = {"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"};
  const int64_t want[5][6] = {{0, 1, 0, 0, 0, 0}, {0, 0, 0, 1, 1, 1}, {1, 0, 1, 0, 0, 0}, {0, 1, 0, 1, 1, 1},
                              {1, 1, 1, 0, 0, 0}};
  for (int k = 0; k < 5; k++) {
    g_autoptr(MscTensor) o = run_ok(ops[k], 13, (const MscTensor *[]){a, b}, 2, NULL, 0);
    g_assert_cmpint(o->dtype, ==, MSC_DTYPE_BOOL);
    ot_assert_dims(o, 2, d23);
    assert_ints(o, want[k], 6);
  }
  g_autoptr(MscTensor) p = mk_i64(MSC_DTYPE_BOOL, 1, d3, (int64_t[]){1, 0, 1});
  g_autoptr(MscTensor) q = mk_i64(MSC_DTYPE_BOOL, 2, d21, (int64_t[]){1, 0});
  g_autoptr(MscTensor) o_and = run_ok("And", 7, (const MscTensor *[]){p, q}, 2, NULL, 0);
  assert_ints(o_and, (int64_t[]){1, 0, 1, 0, 0, 0}, 6);
  g_autoptr(MscTensor) o_or = run_ok("Or", 7, (const MscTensor *[]){p, q}, 2, NULL, 0);
  assert_ints(o_or, (int64_t[]){1, 1, 1, 1, 0, 1}, 6);
  g_autoptr(MscTensor) o_xor = run_ok("Xor", 7, (const MscTensor *[]){p, q}, 2, NULL, 0);
  assert_ints(o_xor, (int64_t[]){0, 1, 0, 1, 0, 1}, 6);
  g_autoptr(MscTensor) o_eq = run_ok("Equal", 11, (const MscTensor *[]){p, q}, 2, NULL, 0);
  assert_ints(o_eq, (int64_t[]){1, 0, 1, 0, 1, 0}, 6);
  assert_fails("And", 7, (const MscTensor *[]){a, a}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "bool", NULL);
  /* Where(cond [3], X [2,1], Y scalar) -> [2,3] */
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_FLOAT32, 2, d21, (double[]){10, 20});
  g_autoptr(MscTensor) y = mk(MSC_DTYPE_FLOAT32, 0, NULL, (double[]){-1});
  g_autoptr(MscTensor) w = run_ok("Where", 16, (const MscTensor *[]){p, x, y}, 3, NULL, 0);
  ot_assert_dims(w, 2, d23);
  assert_values(w, (double[]){10, -1, 10, 20, -1, 20}, 6, 0);
  g_autoptr(MscTensor) xi = mk_i64(MSC_DTYPE_INT64, 1, d3, (int64_t[]){1, 2, 3});
  g_autoptr(MscTensor) yi = mk_i64(MSC_DTYPE_INT64, 2, d21, (int64_t[]){7, 8});
  g_autoptr(MscTensor) wi = run_ok("Where", 9, (const MscTensor *[]){q, xi, yi}, 3, NULL, 0);
  assert_ints(wi, (int64_t[]){1, 2, 3, 8, 8, 8}, 6);
  assert_fails("Where", 9, (const MscTensor *[]){a, x, y}, 3, NULL, 0, MSC_ERR_INVALID_ARG, "bool", NULL);
}

static void
test_static_infer(void)
{
  g_test_summary("static inference propagates unknown (-1) dims through broadcasting and keeps known ones");
  g_autoptr(MscGraph) g = msc_graph_new("t");
  int64_t da[2] = {-1, 3}, db[3] = {4, 1, 3};
  g_autoptr(MscTensor) a = msc_tensor_new_info(MSC_DTYPE_FLOAT32, 2, da);
  g_autoptr(MscTensor) b = msc_tensor_new_info(MSC_DTYPE_FLOAT32, 3, db);
  const MscTensor *in[2] = {a, b};
  MscNode *n = build_node(g, "Add", 14, 2, in, NULL, 0);
  GError *err = NULL;
  g_assert_true(msc_graph_resolve_ops(g, &err));
  g_assert_no_error(err);
  g_autoptr(MscTensor) out = msc_tensor_new_info(MSC_DTYPE_UNDEFINED, -1, NULL);
  MscTensor *outs[1] = {out};
  MscOpCtx ctx = {.node = n, .in = in, .n_in = 2, .out = outs, .n_out = 1, .static_infer = 1};
  g_assert_cmpint(n->op->infer(&ctx), ==, MSC_OK);
  int64_t want[3] = {4, -1, 3};
  ot_assert_dims(out, 3, want);
  g_assert_cmpint(out->dtype, ==, MSC_DTYPE_FLOAT32);
  /* Clip with a min whose value is unknown */
  g_autoptr(MscGraph) g2 = msc_graph_new("t2");
  g_autoptr(MscTensor) lo = msc_tensor_new_info(MSC_DTYPE_FLOAT32, 0, NULL);
  const MscTensor *in2[2] = {a, lo};
  MscNode *n2 = build_node(g2, "Clip", 13, 2, in2, NULL, 0);
  g_assert_true(msc_graph_resolve_ops(g2, &err));
  MscOpCtx ctx2 = {.node = n2, .in = in2, .n_in = 2, .out = outs, .n_out = 1, .static_infer = 1};
  g_assert_cmpint(n2->op->infer(&ctx2), ==, MSC_OK);
  ot_assert_dims(out, 2, da);
  /* QuantizeLinear: output dtype from the zero point */
  g_autoptr(MscGraph) g3 = msc_graph_new("t3");
  g_autoptr(MscTensor) zp = msc_tensor_new_info(MSC_DTYPE_INT8, 0, NULL);
  const MscTensor *in3[3] = {a, lo, zp};
  MscNode *n3 = build_node(g3, "QuantizeLinear", 13, 3, in3, NULL, 0);
  g_assert_true(msc_graph_resolve_ops(g3, &err));
  MscOpCtx ctx3 = {.node = n3, .in = in3, .n_in = 3, .out = outs, .n_out = 1, .static_infer = 1};
  g_assert_cmpint(n3->op->infer(&ctx3), ==, MSC_OK);
  g_assert_cmpint(out->dtype, ==, MSC_DTYPE_INT8);
  ot_assert_dims(out, 2, da);
}

/* ---- unary ---------------------------------------------------------------- */

typedef double (*URef)(double);
static double u_relu(double x) { return x > 0 ? x : 0; }
static double u_leaky(double x) { return x < 0 ? 0.1 * x : x; }
static double u_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double u_hsig(double x) { return fmax(0, fmin(1, 0.2 * x + 0.5)); }
static double u_hswish(double x) { return x * fmax(0, fmin(1, x / 6 + 0.5)); }
static double u_elu(double x) { return x < 0 ? 2.0 * (exp(x) - 1) : x; }
static double u_selu(double x) {
  return x > 0 ? 1.0507009873554804934193349852946 * x
               : 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717 * (exp(x) - 1);
}
static double u_softplus(double x) { return log(1 + exp(x)); }
static double u_softsign(double x) { return x / (1 + fabs(x)); }
static double u_erf(double x) { return erf(x); }
static double u_recip(double x) { return 1 / x; }
static double u_neg(double x) { return -x; }
static double u_sign(double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }
static double u_shrink(double x) { return x < -1.5 ? x + 1.5 : x > 1.5 ? x - 1.5 : 0; }

static void
test_unary_reference(void)
{
  g_test_summary("activations and math ops match double-precision formulas within float32 accuracy");
  g_autoptr(GRand) r = g_rand_new_with_seed(11);
  int64_t d[3] = {3, 7, 11};
  g_autoptr(MscTensor) x = mk_random(MSC_DTYPE_FLOAT32, 3, d, r, -6, 6);
  g_autoptr(MscTensor) xp = mk_random(MSC_DTYPE_FLOAT32, 3, d, r, 0.1, 9);
  const struct {
    const char *op;
    int64_t opset;
    URef f;
    int positive;
    TAttr attrs[2];
    size_t n_attrs;
  } cases[] = {
      {"Relu", 6, u_relu, 0, {{0}}, 0},
      {"LeakyRelu", 16, u_leaky, 0, {A_FLOAT("alpha", 0.1f)}, 1},
      {"Sigmoid", 13, u_sigmoid, 0, {{0}}, 0},
      {"HardSigmoid", 6, u_hsig, 0, {{0}}, 0},
      {"HardSwish", 14, u_hswish, 0, {{0}}, 0},
      {"Tanh", 13, tanh, 0, {{0}}, 0},
      {"Elu", 6, u_elu, 0, {A_FLOAT("alpha", 2.0f)}, 1},
      {"Selu", 6, u_selu, 0, {{0}}, 0},
      {"Softplus", 1, u_softplus, 0, {{0}}, 0},
      {"Softsign", 1, u_softsign, 0, {{0}}, 0},
      {"Exp", 13, exp, 0, {{0}}, 0},
      {"Log", 13, log, 1, {{0}}, 0},
      {"Sqrt", 13, sqrt, 1, {{0}}, 0},
      {"Abs", 13, fabs, 0, {{0}}, 0},
      {"Neg", 13, u_neg, 0, {{0}}, 0},
      {"Sign", 13, u_sign, 0, {{0}}, 0},
      {"Erf", 13, u_erf, 0, {{0}}, 0},
      {"Reciprocal", 13, u_recip, 1, {{0}}, 0},
      {"Floor", 13, floor, 0, {{0}}, 0},
      {"Ceil", 13, ceil, 0, {{0}}, 0},
      {"Shrink", 9, u_shrink, 0, {A_FLOAT("bias", 1.5f), A_FLOAT("lambd", 1.5f)}, 2},
  };
  int64_t n = msc_tensor_numel(x);
  g_autofree double *want = g_new(double, n);
  for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
    const MscTensor *src = cases[c].positive ? xp : x;
    g_autoptr(MscTensor) o = run_ok(cases[c].op, cases[c].opset, &src, 1, cases[c].attrs, cases[c].n_attrs);
    ot_assert_dims(o, 3, d);
    for (int64_t i = 0; i < n; i++)
      want[i] = cases[c].f(msc_tensor_get_f64(src, i));
    g_test_message("%s", cases[c].op);
    assert_values(o, want, n, 2e-6);
  }
}

static void
test_unary_special(void)
{
  g_test_summary("Round halves to even; integer Relu (opset 14), Abs/Neg wrap at INT_MIN; consumed_inputs ignored");
  int64_t d[7] = {7};
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_FLOAT32, 1, d, (double[]){0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6});
  g_autoptr(MscTensor) o = run_ok("Round", 11, (const MscTensor *[]){x}, 1, NULL, 0);
  assert_values(o, (double[]){0, 2, 2, -0.0, -2, 2, -3}, 7, 0);
  int64_t d4[1] = {4};
  g_autoptr(MscTensor) i8 = mk_i64(MSC_DTYPE_INT8, 1, d4, (int64_t[]){-128, -3, 0, 127});
  g_autoptr(MscTensor) r8 = run_ok("Relu", 14, (const MscTensor *[]){i8}, 1, NULL, 0);
  assert_ints(r8, (int64_t[]){0, 0, 0, 127}, 4);
  assert_fails("Relu", 13, (const MscTensor *[]){i8}, 1, NULL, 0, MSC_ERR_UNSUPPORTED, "int8", NULL);
  g_autoptr(MscTensor) a8 = run_ok("Abs", 13, (const MscTensor *[]){i8}, 1, NULL, 0);
  assert_ints(a8, (int64_t[]){-128, 3, 0, 127}, 4);
  g_autoptr(MscTensor) n8 = run_ok("Neg", 13, (const MscTensor *[]){i8}, 1, NULL, 0);
  assert_ints(n8, (int64_t[]){-128, 3, 0, -127}, 4);
  g_autoptr(MscTensor) s8 = run_ok("Sign", 13, (const MscTensor *[]){i8}, 1, NULL, 0);
  assert_ints(s8, (int64_t[]){-1, -1, 0, 1}, 4);
  TAttr ci[] = {{.name = "consumed_inputs", .type = MSC_ATTR_INTS, .ints = (const int64_t[]){0}, .n = 1}};
  g_autoptr(MscTensor) r1 = run_ok("Relu", 1, (const MscTensor *[]){x}, 1, ci, 1);
  assert_values(r1, (double[]){0.5, 1.5, 2.5, 0, 0, 2.4, 0}, 7, 1e-7);
  /* NaN survives Relu/Clip as in numpy */
  int64_t d1[1] = {1};
  g_autoptr(MscTensor) nan = mk(MSC_DTYPE_FLOAT32, 1, d1, (double[]){NAN});
  g_autoptr(MscTensor) rn = run_ok("Relu", 6, (const MscTensor *[]){nan}, 1, NULL, 0);
  g_assert_true(isnan(msc_tensor_get_f64(rn, 0)));
  /* a later op is not served at an earlier opset */
  assert_fails("HardSwish", 13, (const MscTensor *[]){x}, 1, NULL, 0, MSC_ERR_UNSUPPORTED, "HardSwish", NULL);
}

static void
test_clip_forms(void)
{
  g_test_summary("Clip: min/max attributes before opset 11, optional inputs from 11, int8, min > max gives max");
  int64_t d[5] = {5};
  double xv[5] = {-3, -0.5, 0, 0.7, 4};
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_FLOAT32, 1, d, xv);
  TAttr mm[] = {A_FLOAT("min", -1.0f), A_FLOAT("max", 0.5f)};
  g_autoptr(MscTensor) o6 = run_ok("Clip", 6, (const MscTensor *[]){x}, 1, mm, 2);
  assert_values(o6, (double[]){-1, -0.5, 0, 0.5, 0.5}, 5, 0);
  TAttr only_max[] = {A_FLOAT("max", 0.0f)};
  g_autoptr(MscTensor) o1 = run_ok("Clip", 1, (const MscTensor *[]){x}, 1, only_max, 1);
  assert_values(o1, (double[]){-3, -0.5, 0, 0, 0}, 5, 0);
  g_autoptr(MscTensor) lo = mk(MSC_DTYPE_FLOAT32, 0, NULL, (double[]){-1});
  g_autoptr(MscTensor) hi = mk(MSC_DTYPE_FLOAT32, 0, NULL, (double[]){0.5});
  g_autoptr(MscTensor) o11 = run_ok("Clip", 11, (const MscTensor *[]){x, lo, hi}, 3, NULL, 0);
  assert_values(o11, (double[]){-1, -0.5, 0, 0.5, 0.5}, 5, 0);
  g_autoptr(MscTensor) omax = run_ok("Clip", 13, (const MscTensor *[]){x, NULL, hi}, 3, NULL, 0);
  assert_values(omax, (double[]){-3, -0.5, 0, 0.5, 0.5}, 5, 0);
  g_autoptr(MscTensor) omin = run_ok("Clip", 13, (const MscTensor *[]){x, lo}, 2, NULL, 0);
  assert_values(omin, (double[]){-1, -0.5, 0, 0.7, 4}, 5, 0);
  g_autoptr(MscTensor) none = run_ok("Clip", 13, (const MscTensor *[]){x}, 1, NULL, 0);
  assert_values(none, xv, 5, 0);
  g_autoptr(MscTensor) inv = run_ok("Clip", 13, (const MscTensor *[]){x, hi, lo}, 3, NULL, 0);
  assert_values(inv, (double[]){-1, -1, -1, -1, -1}, 5, 0);
  g_autoptr(MscTensor) i8 = mk_i64(MSC_DTYPE_INT8, 1, d, (int64_t[]){-128, -5, 0, 5, 127});
  g_autoptr(MscTensor) l8 = mk_i64(MSC_DTYPE_INT8, 0, NULL, (int64_t[]){-4});
  g_autoptr(MscTensor) h8 = mk_i64(MSC_DTYPE_INT8, 0, NULL, (int64_t[]){100});
  g_autoptr(MscTensor) o8 = run_ok("Clip", 12, (const MscTensor *[]){i8, l8, h8}, 3, NULL, 0);
  assert_ints(o8, (int64_t[]){-4, -4, 0, 5, 100}, 5);
  /* errors: mixed dtypes, non-scalar bound, inputs at opset 6 */
  assert_fails("Clip", 13, (const MscTensor *[]){i8, lo}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "int8", "float32");
  assert_fails("Clip", 13, (const MscTensor *[]){x, x}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "scalar", NULL);
  assert_fails("Clip", 6, (const MscTensor *[]){x, lo}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "attributes", NULL);
}

/* ---- Cast ------------------------------------------------------------------ */

static void
test_cast_edges(void)
{
  g_test_summary("Cast: float->int truncates toward zero, 8-bit targets wrap, NaN->0, int narrowing wraps, bool");
  int64_t d[8] = {8};
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_FLOAT32, 1, d, (double[]){1.9, -1.9, 2.5, -2.5, 300.7, -1.0, NAN, 1e20});
  TAttr to_i32[] = {A_INT("to", MSC_DTYPE_INT32)};
  g_autoptr(MscTensor) i32 = run_ok("Cast", 13, (const MscTensor *[]){x}, 1, to_i32, 1);
  g_assert_cmpint(i32->dtype, ==, MSC_DTYPE_INT32);
  assert_ints(i32, (int64_t[]){1, -1, 2, -2, 300, -1, 0, INT32_MAX}, 8);
  TAttr to_u8[] = {A_INT("to", MSC_DTYPE_UINT8)};
  g_autoptr(MscTensor) u8 = run_ok("Cast", 13, (const MscTensor *[]){x}, 1, to_u8, 1);
  int64_t want_u8[7] = {1, 255, 2, 254, 44, 255, 0};
  for (int i = 0; i < 7; i++)
    g_assert_cmpint(((uint8_t *)u8->data)[i], ==, want_u8[i]);
  TAttr to_bool[] = {A_INT("to", MSC_DTYPE_BOOL)};
  g_autoptr(MscTensor) bo = run_ok("Cast", 13, (const MscTensor *[]){x}, 1, to_bool, 1);
  assert_ints(bo, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1}, 8);
  int64_t d4[1] = {4};
  g_autoptr(MscTensor) wide = mk_i64(MSC_DTYPE_INT64, 1, d4, (int64_t[]){200, -129, 65536 + 7, 0});
  TAttr to_i8[] = {A_INT("to", MSC_DTYPE_INT8)};
  g_autoptr(MscTensor) i8 = run_ok("Cast", 13, (const MscTensor *[]){wide}, 1, to_i8, 1);
  assert_ints(i8, (int64_t[]){-56, 127, 7, 0}, 4);
  TAttr to_f32[] = {A_INT("to", MSC_DTYPE_FLOAT32)};
  g_autoptr(MscTensor) f = run_ok("Cast", 13, (const MscTensor *[]){i8}, 1, to_f32, 1);
  assert_values(f, (double[]){-56, 127, 7, 0}, 4, 0);
  g_autoptr(MscTensor) b = mk_i64(MSC_DTYPE_BOOL, 1, d4, (int64_t[]){1, 0, 1, 0});
  g_autoptr(MscTensor) bf = run_ok("Cast", 13, (const MscTensor *[]){b}, 1, to_f32, 1);
  assert_values(bf, (double[]){1, 0, 1, 0}, 4, 0);
  /* float16 round trip: 1/3 -> nearest half, 70000 -> inf */
  g_autoptr(MscTensor) fx = mk(MSC_DTYPE_FLOAT32, 1, d4, (double[]){1.0 / 3.0, 70000, -0.0, 65504});
  TAttr to_f16[] = {A_INT("to", MSC_DTYPE_FLOAT16)};
  g_autoptr(MscTensor) h = run_ok("Cast", 13, (const MscTensor *[]){fx}, 1, to_f16, 1);
  g_assert_cmpint(h->dtype, ==, MSC_DTYPE_FLOAT16);
  g_assert_cmphex(((uint16_t *)h->data)[0], ==, 0x3555);
  g_assert_cmphex(((uint16_t *)h->data)[1], ==, 0x7c00);
  g_assert_cmphex(((uint16_t *)h->data)[2], ==, 0x8000);
  g_assert_cmphex(((uint16_t *)h->data)[3], ==, 0x7bff);
  g_autoptr(MscTensor) hi = run_ok("Cast", 13, (const MscTensor *[]){h}, 1, to_i32, 1);
  assert_ints(hi, (int64_t[]){0, INT32_MAX, 0, 65504}, 4);
}

static void
test_cast_forms_and_errors(void)
{
  g_test_summary("Cast: opset-1 string 'to', CastLike; missing 'to' is INVALID_ARG; bfloat16/float8/string "
                 "are UNSUPPORTED naming the dtype");
  int64_t d[2] = {2};
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_FLOAT32, 1, d, (double[]){-7.5, 3.25});
  TAttr s64[] = {A_STR("to", "INT64")};
  g_autoptr(MscTensor) o = run_ok("Cast", 1, (const MscTensor *[]){x}, 1, s64, 1);
  g_assert_cmpint(o->dtype, ==, MSC_DTYPE_INT64);
  assert_ints(o, (int64_t[]){-7, 3}, 2);
  g_autoptr(MscTensor) like = mk(MSC_DTYPE_INT8, 0, NULL, NULL);
  g_autoptr(MscTensor) o2 = run_ok("CastLike", 15, (const MscTensor *[]){x, like}, 2, NULL, 0);
  g_assert_cmpint(o2->dtype, ==, MSC_DTYPE_INT8);
  assert_ints(o2, (int64_t[]){-7, 3}, 2);
  assert_fails("Cast", 13, (const MscTensor *[]){x}, 1, NULL, 0, MSC_ERR_INVALID_ARG, "'to'", NULL);
  TAttr bad[] = {A_STR("to", "FLOAT33")};
  assert_fails("Cast", 1, (const MscTensor *[]){x}, 1, bad, 1, MSC_ERR_INVALID_ARG, "FLOAT33", NULL);
  TAttr bf[] = {A_INT("to", MSC_DTYPE_BFLOAT16)};
  assert_fails("Cast", 13, (const MscTensor *[]){x}, 1, bf, 1, MSC_ERR_UNSUPPORTED, "bfloat16", NULL);
  TAttr f8[] = {A_INT("to", 17)};
  assert_fails("Cast", 19, (const MscTensor *[]){x}, 1, f8, 1, MSC_ERR_UNSUPPORTED, "float8e4m3fn", NULL);
  TAttr sstr[] = {A_STR("to", "STRING")};
  assert_fails("Cast", 1, (const MscTensor *[]){x}, 1, sstr, 1, MSC_ERR_UNSUPPORTED, "string", NULL);
  g_autoptr(MscTensor) i16 = mk(MSC_DTYPE_INT16, 1, d, NULL);
  TAttr tf[] = {A_INT("to", MSC_DTYPE_FLOAT32)};
  assert_fails("Cast", 13, (const MscTensor *[]){i16}, 1, tf, 1, MSC_ERR_UNSUPPORTED, "int16", NULL);
  TAttr neg[] = {A_INT("to", -3)};
  assert_fails("Cast", 13, (const MscTensor *[]){x}, 1, neg, 1, MSC_ERR_INVALID_ARG, "-3", NULL);
}

/* ---- Quantize / Dequantize -------------------------------------------------- */

static void
test_quantize_rounding(void)
{
  g_test_summary("QuantizeLinear rounds x/scale half to even (0.5, 1.5, -0.5, 2.5) and saturates uint8/int8");
  int64_t d[8] = {8};
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_FLOAT32, 1, d, (double[]){0.5, 1.5, -0.5, 2.5, -1.5, -2.5, 1000, -1000});
  g_autoptr(MscTensor) s1 = mk(MSC_DTYPE_FLOAT32, 0, NULL, (double[]){1});
  g_autoptr(MscTensor) z8 = mk_i64(MSC_DTYPE_INT8, 0, NULL, (int64_t[]){0});
  g_autoptr(MscTensor) q8 = run_ok("QuantizeLinear", 13, (const MscTensor *[]){x, s1, z8}, 3, NULL, 0);
  g_assert_cmpint(q8->dtype, ==, MSC_DTYPE_INT8);
  assert_ints(q8, (int64_t[]){0, 2, 0, 2, -2, -2, 127, -128}, 8);
  g_autoptr(MscTensor) zu = mk_i64(MSC_DTYPE_UINT8, 0, NULL, (int64_t[]){128});
  g_autoptr(MscTensor) s2 = mk(MSC_DTYPE_FLOAT32, 0, NULL, (double[]){2});
  g_autoptr(MscTensor) qu = run_ok("QuantizeLinear", 10, (const MscTensor *[]){x, s2, zu}, 3, NULL, 0);
  g_assert_cmpint(qu->dtype, ==, MSC_DTYPE_UINT8);
  /* 0.25->0, 0.75->1, -0.25->0, 1.25->1, -0.75->-1, -1.25->-1 */
  assert_ints(qu, (int64_t[]){128, 129, 128, 129, 127, 127, 255, 0}, 8);
  /* no zero point: uint8 with zero point 0 */
  g_autoptr(MscTensor) qn = run_ok("QuantizeLinear", 10, (const MscTensor *[]){x, s1}, 2, NULL, 0);
  g_assert_cmpint(qn->dtype, ==, MSC_DTYPE_UINT8);
  assert_ints(qn, (int64_t[]){0, 2, 0, 2, 0, 0, 255, 0}, 8);
  /* opset 21 output_dtype without a zero point */
  TAttr od[] = {A_INT("output_dtype", MSC_DTYPE_INT8)};
  g_autoptr(MscTensor) qo = run_ok("QuantizeLinear", 21, (const MscTensor *[]){x, s1}, 2, od, 1);
  g_assert_cmpint(qo->dtype, ==, MSC_DTYPE_INT8);
  assert_ints(qo, (int64_t[]){0, 2, 0, 2, -2, -2, 127, -128}, 8);
  /* NaN quantizes to the zero point */
  int64_t d1[1] = {1};
  g_autoptr(MscTensor) xn = mk(MSC_DTYPE_FLOAT32, 1, d1, (double[]){NAN});
  g_autoptr(MscTensor) qnan = run_ok("QuantizeLinear", 13, (const MscTensor *[]){xn, s2, zu}, 3, NULL, 0);
  assert_ints(qnan, (int64_t[]){128}, 1);
}

static void
test_quantize_per_axis(void)
{
  g_test_summary("per-axis QuantizeLinear/DequantizeLinear on axis 1 and -1 round-trip against a reference");
  int64_t dx[3] = {2, 3, 4}, dc[1] = {3}, dl[1] = {4};
  g_autoptr(GRand) r = g_rand_new_with_seed(9);
  g_autoptr(MscTensor) x = mk_random(MSC_DTYPE_FLOAT32, 3, dx, r, -5, 5);
  g_autoptr(MscTensor) sc = mk(MSC_DTYPE_FLOAT32, 1, dc, (double[]){0.05, 0.1, 0.5});
  g_autoptr(MscTensor) zc = mk_i64(MSC_DTYPE_UINT8, 1, dc, (int64_t[]){100, 128, 3});
  g_autoptr(MscTensor) q = run_ok("QuantizeLinear", 13, (const MscTensor *[]){x, sc, zc}, 3, NULL, 0);
  const float *px = x->data, *ps = sc->data;
  const uint8_t *pz = zc->data, *pq = q->data;
  for (int i = 0; i < 24; i++) {
    int c = (i / 4) % 3;
    double v = nearbyint(px[i] / ps[c]) + pz[c];
    g_assert_cmpint(pq[i], ==, (int)fmin(255, fmax(0, v)));
  }
  g_autoptr(MscTensor) dq = run_ok("DequantizeLinear", 13, (const MscTensor *[]){q, sc, zc}, 3, NULL, 0);
  g_assert_cmpint(dq->dtype, ==, MSC_DTYPE_FLOAT32);
  const float *pd = dq->data;
  for (int i = 0; i < 24; i++) {
    int c = (i / 4) % 3;
    g_assert_cmpfloat(pd[i], ==, (float)(pq[i] - pz[c]) * ps[c]);
  }
  /* axis -1, int8, no zero point */
  g_autoptr(MscTensor) sl = mk(MSC_DTYPE_FLOAT32, 1, dl, (double[]){1, 2, 4, 8});
  g_autoptr(MscTensor) zl = mk_i64(MSC_DTYPE_INT8, 1, dl, (int64_t[]){0, -1, 1, 0});
  TAttr axm1[] = {A_INT("axis", -1)};
  g_autoptr(MscTensor) ql = run_ok("QuantizeLinear", 13, (const MscTensor *[]){x, sl, zl}, 3, axm1, 1);
  const int8_t *pql = ql->data;
  for (int i = 0; i < 24; i++) {
    int c = i % 4;
    double v = nearbyint(px[i] / msc_tensor_get_f64(sl, c)) + msc_tensor_get_f64(zl, c);
    g_assert_cmpint(pql[i], ==, (int)fmin(127, fmax(-128, v)));
  }
  /* per-axis needs opset 13; scale length must match */
  assert_fails("QuantizeLinear", 10, (const MscTensor *[]){x, sc, zc}, 3, NULL, 0, MSC_ERR_INVALID_ARG, "opset 13",
               NULL);
  assert_fails("QuantizeLinear", 13, (const MscTensor *[]){x, sl}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "[4]",
               "[2,3,4]");
  assert_fails("QuantizeLinear", 13, (const MscTensor *[]){x, sc, zl}, 3, NULL, 0, MSC_ERR_INVALID_ARG, "zero point",
               NULL);
}

static void
test_quantize_blocked_and_types(void)
{
  g_test_summary("opset-21 blocked quantization, int32 and float16-scale dequantization, unsupported zero points");
  int64_t dx[2] = {2, 5}, ds[2] = {2, 3};
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_FLOAT32, 2, dx, (double[]){1, 2, 3, 4, 5, -1, -2, -3, -4, -5});
  g_autoptr(MscTensor) s = mk(MSC_DTYPE_FLOAT32, 2, ds, (double[]){1, 2, 4, 0.5, 1, 2});
  TAttr blk[] = {A_INT("axis", 1), A_INT("block_size", 2)};
  g_autoptr(MscTensor) z = mk_i64(MSC_DTYPE_INT8, 2, ds, (int64_t[]){0, 0, 0, 0, 0, 0});
  g_autoptr(MscTensor) q = run_ok("QuantizeLinear", 21, (const MscTensor *[]){x, s, z}, 3, blk, 2);
  /* blocks along axis 1: [0,1] [2,3] [4] */
  assert_ints(q, (int64_t[]){1, 2, 2, 2, 1, -2, -4, -3, -4, -2}, 10);
  g_autoptr(MscTensor) dq = run_ok("DequantizeLinear", 21, (const MscTensor *[]){q, s, z}, 3, blk, 2);
  assert_values(dq, (double[]){1, 2, 4, 4, 4, -1, -2, -3, -4, -4}, 10, 0);
  assert_fails("QuantizeLinear", 19, (const MscTensor *[]){x, s, z}, 3, blk, 2, MSC_ERR_INVALID_ARG, "block_size",
               NULL);
  int64_t d3[1] = {3};
  g_autoptr(MscTensor) i32 = mk_i64(MSC_DTYPE_INT32, 1, d3, (int64_t[]){-1000000, 0, 7});
  g_autoptr(MscTensor) sc = mk(MSC_DTYPE_FLOAT32, 0, NULL, (double[]){0.5});
  g_autoptr(MscTensor) d32 = run_ok("DequantizeLinear", 10, (const MscTensor *[]){i32, sc}, 2, NULL, 0);
  assert_values(d32, (double[]){-500000, 0, 3.5}, 3, 0);
  g_autoptr(MscTensor) sh = mk(MSC_DTYPE_FLOAT16, 0, NULL, (double[]){0.5});
  g_autoptr(MscTensor) i32s = mk_i64(MSC_DTYPE_INT32, 1, d3, (int64_t[]){-100, 0, 7});
  g_autoptr(MscTensor) dh = run_ok("DequantizeLinear", 19, (const MscTensor *[]){i32s, sh}, 2, NULL, 0);
  g_assert_cmpint(dh->dtype, ==, MSC_DTYPE_FLOAT16);
  assert_values(dh, (double[]){-50, 0, 3.5}, 3, 0);
  assert_fails("DequantizeLinear", 13, (const MscTensor *[]){i32s, sh}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "opset 19",
               NULL);
  g_autoptr(MscTensor) z16 = mk(MSC_DTYPE_INT16, 0, NULL, NULL);
  assert_fails("QuantizeLinear", 21, (const MscTensor *[]){x, sc, z16}, 3, NULL, 0, MSC_ERR_UNSUPPORTED, "int16",
               NULL);
  TAttr f8[] = {A_INT("output_dtype", 17)};
  assert_fails("QuantizeLinear", 21, (const MscTensor *[]){x, sc}, 2, f8, 1, MSC_ERR_UNSUPPORTED, "float8", NULL);
  g_autoptr(MscTensor) xd = mk(MSC_DTYPE_DOUBLE, 1, d3, NULL);
  assert_fails("QuantizeLinear", 13, (const MscTensor *[]){xd, sc}, 2, NULL, 0, MSC_ERR_UNSUPPORTED, "double", NULL);
}

/* ---- double (float64) ------------------------------------------------------ */

/* Raw double bits in and out: the helpers above go through msc_tensor_set_f64,
 * which is exact for double too, but these tests must see every bit. */
static double
dv(const MscTensor *t, int64_t i)
{
  g_assert_cmpint(t->dtype, ==, MSC_DTYPE_DOUBLE);
  return ((const double *)t->data)[i];
}

static void
test_double_binary(void)
{
  g_test_summary("double Add/Sub/Mul/Div/Max/Min/Pow/Greater/Equal broadcast and are computed in double "
                 "(bit-exact against the double reference; float math would differ)");
  check_broadcast_pairs("Add", ref_add, MSC_DTYPE_DOUBLE, -3, 3, 0, FALSE);
  check_broadcast_pairs("Sub", ref_sub, MSC_DTYPE_DOUBLE, -3, 3, 0, FALSE);
  check_broadcast_pairs("Mul", ref_mul, MSC_DTYPE_DOUBLE, -3, 3, 0, FALSE);
  check_broadcast_pairs("Div", ref_div, MSC_DTYPE_DOUBLE, 0.5, 3, 0, FALSE);
  check_broadcast_pairs("Max", ref_max, MSC_DTYPE_DOUBLE, -3, 3, 0, FALSE);
  check_broadcast_pairs("Min", ref_min, MSC_DTYPE_DOUBLE, -3, 3, 0, FALSE);
  check_broadcast_pairs("Pow", ref_pow, MSC_DTYPE_DOUBLE, 0.5, 2, 0, FALSE);
  check_broadcast_pairs("Greater", ref_gt, MSC_DTYPE_DOUBLE, -3, 3, 0, FALSE);
  check_broadcast_pairs("Equal", ref_eq, MSC_DTYPE_DOUBLE, 0, 3, 0, FALSE);
  check_broadcast_pairs("PRelu", ref_prelu, MSC_DTYPE_DOUBLE, -2, 2, 0, TRUE);
  /* values float cannot hold: 0.1 + 0.2, 1e300 * 10, 1 + 1e-12 > 1 */
  int64_t d[3] = {3};
  g_autoptr(MscTensor) a = mk(MSC_DTYPE_DOUBLE, 1, d, (double[]){0.1, 1e300, 1 + 1e-12});
  g_autoptr(MscTensor) b = mk(MSC_DTYPE_DOUBLE, 1, d, (double[]){0.2, 10, 1});
  g_autoptr(MscTensor) s = run_ok("Add", 14, (const MscTensor *[]){a, b}, 2, NULL, 0);
  g_assert_cmpfloat(dv(s, 0), ==, 0.1 + 0.2);
  g_assert_cmpfloat(dv(s, 0), !=, 0.3);
  g_autoptr(MscTensor) m = run_ok("Mul", 14, (const MscTensor *[]){a, b}, 2, NULL, 0);
  g_assert_cmpfloat(dv(m, 1), ==, 1e300 * 10.0);
  g_assert_true(isfinite(dv(m, 1)));
  g_autoptr(MscTensor) gt = run_ok("Greater", 13, (const MscTensor *[]){a, b}, 2, NULL, 0);
  g_assert_cmpint(gt->dtype, ==, MSC_DTYPE_BOOL);
  assert_ints(gt, (int64_t[]){0, 1, 1}, 3);
  g_autoptr(MscTensor) eq = run_ok("Equal", 13, (const MscTensor *[]){a, b}, 2, NULL, 0);
  assert_ints(eq, (int64_t[]){0, 0, 0}, 3);
  g_autoptr(MscTensor) sub = run_ok("Sub", 13, (const MscTensor *[]){a, b}, 2, NULL, 0);
  g_assert_cmpfloat(dv(sub, 2), ==, (1 + 1e-12) - 1.0);
  /* Mod fmod=1 is C fmod in double; NaN propagates through Max/Min */
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_DOUBLE, 1, d, (double[]){7.5, -7.5, NAN});
  g_autoptr(MscTensor) y = mk(MSC_DTYPE_DOUBLE, 1, d, (double[]){2.25, 2.25, 1});
  TAttr fm[] = {A_INT("fmod", 1)};
  g_autoptr(MscTensor) md = run_ok("Mod", 13, (const MscTensor *[]){x, y}, 2, fm, 1);
  g_assert_cmpfloat(dv(md, 0), ==, fmod(7.5, 2.25));
  g_assert_cmpfloat(dv(md, 1), ==, fmod(-7.5, 2.25));
  g_autoptr(MscTensor) mx = run_ok("Max", 13, (const MscTensor *[]){x, y}, 2, NULL, 0);
  g_assert_cmpfloat(dv(mx, 0), ==, 7.5);
  g_assert_cmpfloat(dv(mx, 1), ==, 2.25);
  g_assert_true(isnan(dv(mx, 2)));
  /* mixed dtypes are still an error */
  g_autoptr(MscTensor) f = mk(MSC_DTYPE_FLOAT32, 1, d, NULL);
  assert_fails("Add", 14, (const MscTensor *[]){a, f}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "double", "float32");
}

static void
test_double_old_broadcast(void)
{
  g_test_summary("opset<7 broadcast=1 with axis (and the suffix form) on double inputs: exact double results");
  g_autoptr(GRand) r = g_rand_new_with_seed(13);
  int64_t da[4] = {2, 3, 4, 5}, db[2] = {3, 4}, ds[1] = {5}, d2[2] = {2, 3}, d21[2] = {2, 1};
  g_autoptr(MscTensor) a = mk_random(MSC_DTYPE_DOUBLE, 4, da, r, -1, 1);
  g_autoptr(MscTensor) b = mk_random(MSC_DTYPE_DOUBLE, 2, db, r, -1, 1);
  TAttr ax1[] = {A_INT("broadcast", 1), A_INT("axis", 1)};
  g_autoptr(MscTensor) o = run_ok("Add", 6, (const MscTensor *[]){a, b}, 2, ax1, 2);
  ot_assert_dims(o, 4, da);
  g_autoptr(MscTensor) o2 = run_ok("Div", 1, (const MscTensor *[]){a, b}, 2, ax1, 2);
  for (int64_t i = 0; i < 120; i++) {
    int64_t k = ((i / 20) % 3) * 4 + (i / 5) % 4;
    g_assert_cmpfloat(dv(o, i), ==, dv(a, i) + dv(b, k));
    g_assert_cmpfloat(dv(o2, i), ==, dv(a, i) / dv(b, k));
  }
  g_autoptr(MscTensor) s = mk_random(MSC_DTYPE_DOUBLE, 1, ds, r, -1, 1);
  TAttr bc[] = {A_INT("broadcast", 1)};
  g_autoptr(MscTensor) o3 = run_ok("Mul", 6, (const MscTensor *[]){a, s}, 2, bc, 1);
  for (int64_t i = 0; i < 120; i++)
    g_assert_cmpfloat(dv(o3, i), ==, dv(a, i) * dv(s, i % 5));
  /* PyTorch's add_size1 form: [2,3] + [2,1] at axis 0 */
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_DOUBLE, 2, d2, (double[]){0.1, 0.2, 0.3, 0.4, 0.5, 0.6});
  g_autoptr(MscTensor) y = mk(MSC_DTYPE_DOUBLE, 2, d21, (double[]){1e-10, 2e-10});
  TAttr ax0[] = {A_INT("broadcast", 1), A_INT("axis", 0)};
  g_autoptr(MscTensor) o4 = run_ok("Add", 6, (const MscTensor *[]){x, y}, 2, ax0, 2);
  for (int64_t i = 0; i < 6; i++)
    g_assert_cmpfloat(dv(o4, i), ==, dv(x, i) + dv(y, i / 3));
  g_assert_cmpfloat(dv(o4, 0), !=, (double)(float)dv(o4, 0)); /* 0.1 + 1e-10 kept beyond float precision */
  /* broadcast=0 still needs equal shapes */
  assert_fails("Add", 6, (const MscTensor *[]){a, b}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "broadcast", "[3,4]");
}

static void
test_double_variadic_pow_where(void)
{
  g_test_summary("double Sum/Mean/Max/Min over three broadcast inputs, Pow with mixed dtypes, Where on double");
  g_autoptr(GRand) r = g_rand_new_with_seed(17);
  int64_t da[2] = {3, 1}, db[2] = {1, 4}, dc[1] = {4};
  g_autoptr(MscTensor) a = mk_random(MSC_DTYPE_DOUBLE, 2, da, r, -2, 2);
  g_autoptr(MscTensor) b = mk_random(MSC_DTYPE_DOUBLE, 2, db, r, -2, 2);
  g_autoptr(MscTensor) c = mk_random(MSC_DTYPE_DOUBLE, 1, dc, r, -2, 2);
  const char *ops[4] = {"Sum", "Mean", "Max", "Min"};
  for (int k = 0; k < 4; k++) {
    g_autoptr(MscTensor) o = run_ok(ops[k], 13, (const MscTensor *[]){a, b, c}, 3, NULL, 0);
    int64_t d34[2] = {3, 4};
    ot_assert_dims(o, 2, d34);
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 4; j++) {
        double x = dv(a, i), y = dv(b, j), z = dv(c, j);
        double want = k == 0 ? x + y + z : k == 1 ? (x + y + z) / 3 : k == 2 ? MAX(x, MAX(y, z)) : MIN(x, MIN(y, z));
        g_assert_cmpfloat(dv(o, i * 4 + j), ==, want);
      }
  }
  /* Pow: double^double, double base with int64 exponent (-> double), float32 base with a double exponent
   * (computed in double, stored as float32) */
  int64_t d[3] = {3};
  g_autoptr(MscTensor) base = mk(MSC_DTYPE_DOUBLE, 1, d, (double[]){1.1, 2, -3});
  g_autoptr(MscTensor) ex = mk_i64(MSC_DTYPE_INT64, 1, d, (int64_t[]){30, -2, 3});
  g_autoptr(MscTensor) p1 = run_ok("Pow", 15, (const MscTensor *[]){base, ex}, 2, NULL, 0);
  g_assert_cmpint(p1->dtype, ==, MSC_DTYPE_DOUBLE);
  g_assert_cmpfloat(dv(p1, 0), ==, pow(1.1, 30));
  g_assert_cmpfloat(dv(p1, 1), ==, 0.25);
  g_assert_cmpfloat(dv(p1, 2), ==, -27);
  g_autoptr(MscTensor) fb = mk(MSC_DTYPE_FLOAT32, 1, d, (double[]){2, 9, 10});
  g_autoptr(MscTensor) de = mk(MSC_DTYPE_DOUBLE, 1, d, (double[]){0.5, 0.5, -1});
  g_autoptr(MscTensor) p2 = run_ok("Pow", 15, (const MscTensor *[]){fb, de}, 2, NULL, 0);
  g_assert_cmpint(p2->dtype, ==, MSC_DTYPE_FLOAT32);
  assert_values(p2, (double[]){sqrt(2.0), 3, 0.1}, 3, 0);
  assert_fails("Pow", 11, (const MscTensor *[]){base, ex}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "opset 12", NULL);
  /* Where picks whole 8-byte elements */
  g_autoptr(MscTensor) cond = mk_i64(MSC_DTYPE_BOOL, 1, d, (int64_t[]){1, 0, 1});
  g_autoptr(MscTensor) y = mk(MSC_DTYPE_DOUBLE, 0, NULL, (double[]){1e-300});
  g_autoptr(MscTensor) w = run_ok("Where", 16, (const MscTensor *[]){cond, base, y}, 3, NULL, 0);
  g_assert_cmpfloat(dv(w, 0), ==, 1.1);
  g_assert_cmpfloat(dv(w, 1), ==, 1e-300);
  g_assert_cmpfloat(dv(w, 2), ==, -3);
}

static double u_leaky25(double x) { return x < 0 ? 0.25 * x : x; }
static double u_hsig_q(double x) { return fmax(0, fmin(1, 0.25 * x + 0.5)); }
static double u_selu_q(double x) { return x > 0 ? 2.0 * x : 2.0 * (1.5 * exp(x) - 1.5); }
static double u_softplus_d(double x) { return fmax(x, 0) + log1p(exp(-fabs(x))); }
static double u_mish(double x) { return x * tanh(u_softplus_d(x)); }
static double u_thr(double x) { return x > 1 ? x : 0; }

static void
test_double_unary(void)
{
  g_test_summary("unary math/activations on double match double formulas to 1e-15 (float32 math would not); "
                 "Clip on double with attribute and input bounds");
  g_autoptr(GRand) r = g_rand_new_with_seed(19);
  int64_t d[2] = {5, 13};
  g_autoptr(MscTensor) x = mk_random(MSC_DTYPE_DOUBLE, 2, d, r, -6, 6);
  g_autoptr(MscTensor) xp = mk_random(MSC_DTYPE_DOUBLE, 2, d, r, 0.1, 9);
  /* attributes exactly representable in float, so the references need no float rounding */
  const struct {
    const char *op;
    int64_t opset;
    URef f;
    int positive;
    TAttr attrs[2];
    size_t n_attrs;
  } cases[] = {
      {"Relu", 14, u_relu, 0, {{0}}, 0},
      {"LeakyRelu", 16, u_leaky25, 0, {A_FLOAT("alpha", 0.25f)}, 1},
      {"Sigmoid", 13, u_sigmoid, 0, {{0}}, 0},
      {"HardSigmoid", 6, u_hsig_q, 0, {A_FLOAT("alpha", 0.25f), A_FLOAT("beta", 0.5f)}, 2},
      {"HardSwish", 14, u_hswish, 0, {{0}}, 0},
      {"Tanh", 13, tanh, 0, {{0}}, 0},
      {"Elu", 6, u_elu, 0, {A_FLOAT("alpha", 2.0f)}, 1},
      {"Selu", 6, u_selu_q, 0, {A_FLOAT("alpha", 1.5f), A_FLOAT("gamma", 2.0f)}, 2},
      {"ThresholdedRelu", 10, u_thr, 0, {{0}}, 0},
      {"Softplus", 1, u_softplus_d, 0, {{0}}, 0},
      {"Softsign", 1, u_softsign, 0, {{0}}, 0},
      {"Mish", 18, u_mish, 0, {{0}}, 0},
      {"Exp", 13, exp, 0, {{0}}, 0},
      {"Log", 13, log, 1, {{0}}, 0},
      {"Sqrt", 13, sqrt, 1, {{0}}, 0},
      {"Abs", 13, fabs, 0, {{0}}, 0},
      {"Neg", 13, u_neg, 0, {{0}}, 0},
      {"Sign", 13, u_sign, 0, {{0}}, 0},
      {"Erf", 13, u_erf, 0, {{0}}, 0},
      {"Reciprocal", 13, u_recip, 1, {{0}}, 0},
      {"Floor", 13, floor, 0, {{0}}, 0},
      {"Ceil", 13, ceil, 0, {{0}}, 0},
      {"Round", 11, nearbyint, 0, {{0}}, 0},
      {"Sin", 7, sin, 0, {{0}}, 0},
      {"Cos", 7, cos, 0, {{0}}, 0},
      {"Shrink", 9, u_shrink, 0, {A_FLOAT("bias", 1.5f), A_FLOAT("lambd", 1.5f)}, 2},
  };
  int64_t n = msc_tensor_numel(x);
  g_autofree double *want = g_new(double, n);
  for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
    const MscTensor *src = cases[c].positive ? xp : x;
    g_autoptr(MscTensor) o = run_ok(cases[c].op, cases[c].opset, &src, 1, cases[c].attrs, cases[c].n_attrs);
    g_assert_cmpint(o->dtype, ==, MSC_DTYPE_DOUBLE);
    ot_assert_dims(o, 2, d);
    for (int64_t i = 0; i < n; i++)
      want[i] = cases[c].f(dv(src, i));
    g_test_message("%s", cases[c].op);
    assert_values(o, want, n, 1e-15);
  }
  /* Clip: attributes (opset 6) and double bound inputs (opset 13) */
  int64_t d5[1] = {5};
  g_autoptr(MscTensor) cx = mk(MSC_DTYPE_DOUBLE, 1, d5, (double[]){-3, -0.1, 1e-9, 0.7, 4});
  TAttr mm[] = {A_FLOAT("min", -1.0f), A_FLOAT("max", 0.5f)};
  g_autoptr(MscTensor) c6 = run_ok("Clip", 6, (const MscTensor *[]){cx}, 1, mm, 2);
  assert_values(c6, (double[]){-1, -0.1, 1e-9, 0.5, 0.5}, 5, 0);
  g_autoptr(MscTensor) lo = mk(MSC_DTYPE_DOUBLE, 0, NULL, (double[]){-0.1});
  g_autoptr(MscTensor) hi = mk(MSC_DTYPE_DOUBLE, 0, NULL, (double[]){0.7});
  g_autoptr(MscTensor) c13 = run_ok("Clip", 13, (const MscTensor *[]){cx, lo, hi}, 3, NULL, 0);
  const double want13[5] = {-0.1, -0.1, 1e-9, 0.7, 0.7};
  for (int i = 0; i < 5; i++)
    g_assert_cmpfloat(dv(c13, i), ==, want13[i]);
  g_autoptr(MscTensor) flo = mk(MSC_DTYPE_FLOAT32, 0, NULL, (double[]){-0.1});
  assert_fails("Clip", 13, (const MscTensor *[]){cx, flo}, 2, NULL, 0, MSC_ERR_INVALID_ARG, "float32", "double");
}

static void
test_double_cast(void)
{
  g_test_summary("Cast to and from double: exact widening, one rounding to float32/float16, truncation into "
                 "integers beyond float precision, int64 -> double, string 'DOUBLE', CastLike");
  int64_t d4[1] = {4};
  TAttr to_d[] = {A_INT("to", MSC_DTYPE_DOUBLE)};
  /* float32 -> double is exact: 0.1f stays 0.100000001490116... */
  g_autoptr(MscTensor) f = mk(MSC_DTYPE_FLOAT32, 1, d4, (double[]){0.1, -1e30, INFINITY, NAN});
  g_autoptr(MscTensor) fd = run_ok("Cast", 13, (const MscTensor *[]){f}, 1, to_d, 1);
  g_assert_cmpint(fd->dtype, ==, MSC_DTYPE_DOUBLE);
  g_assert_cmpfloat(dv(fd, 0), ==, (double)0.1f);
  g_assert_cmpfloat(dv(fd, 1), ==, (double)-1e30f);
  g_assert_cmpfloat(dv(fd, 2), ==, INFINITY);
  g_assert_true(isnan(dv(fd, 3)));
  /* float16 -> double */
  g_autoptr(MscTensor) h = mk(MSC_DTYPE_FLOAT16, 1, d4, (double[]){1.0 / 3.0, 65504, -0.5, 6e-8});
  g_autoptr(MscTensor) hd = run_ok("Cast", 13, (const MscTensor *[]){h}, 1, to_d, 1);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat(dv(hd, i), ==, (double)msc_f16_to_f32(((const uint16_t *)h->data)[i]));
  /* double -> float32 rounds once */
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_DOUBLE, 1, d4, (double[]){0.1, 1e300, -1e-300, 16777217.0});
  TAttr to_f[] = {A_INT("to", MSC_DTYPE_FLOAT32)};
  g_autoptr(MscTensor) xf = run_ok("Cast", 13, (const MscTensor *[]){x}, 1, to_f, 1);
  const float *pf = xf->data;
  g_assert_cmpfloat(pf[0], ==, 0.1f);
  g_assert_cmpfloat(pf[1], ==, INFINITY);
  g_assert_cmpfloat(pf[2], ==, -0.0f);
  g_assert_true(signbit(pf[2]));
  g_assert_cmpfloat(pf[3], ==, 16777216.0f);
  /* double -> float16 rounds directly: 1 + 2^-11 + 2^-40 is just above the halfway point between 1 and
   * 1 + 2^-10 (rounds up), but through float32 it becomes the tie 1 + 2^-11 (rounds to even: 1) */
  g_autoptr(MscTensor) y = mk(MSC_DTYPE_DOUBLE, 1, d4, (double[]){1 + ldexp(1, -11) + ldexp(1, -40), 65520, -1e-9, NAN});
  TAttr to_h[] = {A_INT("to", MSC_DTYPE_FLOAT16)};
  g_autoptr(MscTensor) yh = run_ok("Cast", 13, (const MscTensor *[]){y}, 1, to_h, 1);
  const uint16_t *ph = yh->data;
  g_assert_cmphex(ph[0], ==, 0x3c01);
  g_assert_cmphex(ph[1], ==, 0x7c00); /* 65520 is halfway to the next (inf) binade: rounds to inf */
  g_assert_cmphex(ph[2], ==, 0x8000);
  g_assert_cmphex(ph[3] & 0x7c00, ==, 0x7c00);
  g_assert_cmphex(ph[3] & 0x3ff, !=, 0);
  /* double -> integers truncate toward zero with the precision of double */
  g_autoptr(MscTensor) z = mk(MSC_DTYPE_DOUBLE, 1, d4, (double[]){16777217.9, -2.5, 1e15 + 0.5, NAN});
  TAttr to_i32[] = {A_INT("to", MSC_DTYPE_INT32)}, to_i64[] = {A_INT("to", MSC_DTYPE_INT64)},
        to_b[] = {A_INT("to", MSC_DTYPE_BOOL)};
  g_autoptr(MscTensor) zi = run_ok("Cast", 13, (const MscTensor *[]){z}, 1, to_i32, 1);
  assert_ints(zi, (int64_t[]){16777217, -2, INT32_MAX, 0}, 4);
  g_autoptr(MscTensor) zl = run_ok("Cast", 13, (const MscTensor *[]){z}, 1, to_i64, 1);
  assert_ints(zl, (int64_t[]){16777217, -2, 1000000000000000, 0}, 4);
  g_autoptr(MscTensor) zb = run_ok("Cast", 13, (const MscTensor *[]){z}, 1, to_b, 1);
  assert_ints(zb, (int64_t[]){1, 1, 1, 1}, 4);
  /* int64 -> double keeps 53 bits (float32 would give 123456790528) */
  g_autoptr(MscTensor) w = mk_i64(MSC_DTYPE_INT64, 1, d4, (int64_t[]){123456789012, -1, 0, (INT64_C(1) << 53) + 2});
  g_autoptr(MscTensor) wd = run_ok("Cast", 13, (const MscTensor *[]){w}, 1, to_d, 1);
  g_assert_cmpfloat(dv(wd, 0), ==, 123456789012.0);
  g_assert_cmpfloat(dv(wd, 3), ==, 9007199254740994.0);
  /* opset-1 string form, CastLike, identity cast */
  TAttr s_d[] = {A_STR("to", "DOUBLE")};
  g_autoptr(MscTensor) sd = run_ok("Cast", 1, (const MscTensor *[]){f}, 1, s_d, 1);
  g_assert_cmpfloat(dv(sd, 0), ==, (double)0.1f);
  g_autoptr(MscTensor) like = mk(MSC_DTYPE_DOUBLE, 0, NULL, NULL);
  g_autoptr(MscTensor) cl = run_ok("CastLike", 15, (const MscTensor *[]){w, like}, 2, NULL, 0);
  g_assert_cmpfloat(dv(cl, 0), ==, 123456789012.0);
  g_autoptr(MscTensor) same = run_ok("Cast", 13, (const MscTensor *[]){x}, 1, to_d, 1);
  g_assert_cmpmem(same->data, 32, x->data, 32);
}

/* Adds a TENSOR attribute holding a copy of @t (the node owns the copy). */
static void
add_tensor_attr(MscNode *n, const char *name, const MscTensor *t)
{
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_TENSOR;
  a.t = msc_tensor_copy(t, NULL);
  msc_node_add_attr(n, &a);
}

static void
test_double_constant_and_movement(void)
{
  g_test_summary("Constant/ConstantOfShape with a double value, and Reshape/Transpose/Concat/Slice/Gather/Identity "
                 "moving double elements bit-exactly");
  int64_t d3[1] = {3};
  g_autoptr(MscTensor) v = mk(MSC_DTYPE_DOUBLE, 1, d3, (double[]){0.1, -1e300, 1e-310});
  {
    g_autoptr(MscGraph) g = msc_graph_new("c");
    MscNode *n = build_node(g, "Constant", 13, 0, NULL, NULL, 0);
    add_tensor_attr(n, "value", v);
    GError *err = NULL;
    g_assert_true(msc_graph_resolve_ops(g, &err));
    MscTensor *out[1] = {NULL};
    g_assert_true(msc_node_execute(n, NULL, out, &err));
    g_assert_no_error(err);
    g_autoptr(MscTensor) o = out[0];
    ot_assert_dims(o, 1, d3);
    g_assert_cmpmem(o->data, 24, v->data, 24);
  }
  {
    g_autoptr(MscTensor) one = mk(MSC_DTYPE_DOUBLE, 1, (int64_t[]){1}, (double[]){0.1});
    int64_t d1[1] = {2};
    g_autoptr(MscTensor) shape = mk_i64(MSC_DTYPE_INT64, 1, d1, (int64_t[]){2, 3});
    g_autoptr(MscGraph) g = msc_graph_new("cos");
    const MscTensor *in[1] = {shape};
    MscNode *n = build_node(g, "ConstantOfShape", 9, 1, in, NULL, 0);
    add_tensor_attr(n, "value", one);
    GError *err = NULL;
    g_assert_true(msc_graph_resolve_ops(g, &err));
    MscTensor *out[1] = {NULL};
    g_assert_true(msc_node_execute(n, in, out, &err));
    g_assert_no_error(err);
    g_autoptr(MscTensor) o = out[0];
    g_assert_cmpint(o->dtype, ==, MSC_DTYPE_DOUBLE);
    ot_assert_dims(o, 2, (int64_t[]){2, 3});
    for (int i = 0; i < 6; i++)
      g_assert_cmpfloat(dv(o, i), ==, 0.1);
  }
  int64_t d23[2] = {2, 3};
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_DOUBLE, 2, d23, (double[]){0.1, 0.2, 0.3, 1e-300, 1e300, -0.7});
  const double *px = x->data;
  g_autoptr(MscTensor) id = run_ok("Identity", 13, (const MscTensor *[]){x}, 1, NULL, 0);
  g_assert_cmpmem(id->data, 48, x->data, 48);
  g_autoptr(MscTensor) shp = mk_i64(MSC_DTYPE_INT64, 1, (int64_t[]){1}, (int64_t[]){-1});
  g_autoptr(MscTensor) rs = run_ok("Reshape", 14, (const MscTensor *[]){x, shp}, 2, NULL, 0);
  ot_assert_dims(rs, 1, (int64_t[]){6});
  g_assert_cmpmem(rs->data, 48, x->data, 48);
  g_autoptr(MscTensor) tr = run_ok("Transpose", 13, (const MscTensor *[]){x}, 1, NULL, 0);
  ot_assert_dims(tr, 2, (int64_t[]){3, 2});
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++)
      g_assert_cmpfloat(dv(tr, i * 2 + j), ==, px[j * 3 + i]);
  TAttr ax1[] = {A_INT("axis", 1)};
  g_autoptr(MscTensor) cc = run_ok("Concat", 13, (const MscTensor *[]){x, x}, 2, ax1, 1);
  ot_assert_dims(cc, 2, (int64_t[]){2, 6});
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat(dv(cc, i), ==, px[(i / 6) * 3 + (i % 6) % 3]);
  g_autoptr(MscTensor) st = mk_i64(MSC_DTYPE_INT64, 1, (int64_t[]){1}, (int64_t[]){1});
  g_autoptr(MscTensor) en = mk_i64(MSC_DTYPE_INT64, 1, (int64_t[]){1}, (int64_t[]){3});
  g_autoptr(MscTensor) axs = mk_i64(MSC_DTYPE_INT64, 1, (int64_t[]){1}, (int64_t[]){1});
  g_autoptr(MscTensor) sl = run_ok("Slice", 13, (const MscTensor *[]){x, st, en, axs}, 4, NULL, 0);
  ot_assert_dims(sl, 2, (int64_t[]){2, 2});
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat(dv(sl, i), ==, px[(i / 2) * 3 + 1 + i % 2]);
  g_autoptr(MscTensor) idx = mk_i64(MSC_DTYPE_INT64, 1, (int64_t[]){2}, (int64_t[]){2, 0});
  g_autoptr(MscTensor) ga = run_ok("Gather", 13, (const MscTensor *[]){x, idx}, 2, ax1, 1);
  ot_assert_dims(ga, 2, (int64_t[]){2, 2});
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat(dv(ga, i), ==, px[(i / 2) * 3 + (i % 2 ? 0 : 2)]);
}

static void
test_double_heavy_refused(void)
{
  g_test_summary("compute-heavy ops (Conv, Gemm, MatMul, MaxPool, AveragePool, GlobalAveragePool, Softmax) refuse "
                 "double as UNSUPPORTED naming the dtype");
  int64_t d4[4] = {1, 1, 4, 4}, d2[2] = {4, 4};
  g_autoptr(MscTensor) x = mk(MSC_DTYPE_DOUBLE, 4, d4, NULL);
  g_autoptr(MscTensor) m = mk(MSC_DTYPE_DOUBLE, 2, d2, NULL);
  assert_fails("Conv", 11, (const MscTensor *[]){x, x}, 2, NULL, 0, MSC_ERR_UNSUPPORTED, "double", NULL);
  assert_fails("Gemm", 11, (const MscTensor *[]){m, m}, 2, NULL, 0, MSC_ERR_UNSUPPORTED, "double", NULL);
  assert_fails("MatMul", 13, (const MscTensor *[]){m, m}, 2, NULL, 0, MSC_ERR_UNSUPPORTED, "double", NULL);
  TAttr k2[] = {{.name = "kernel_shape", .type = MSC_ATTR_INTS, .ints = (const int64_t[]){2, 2}, .n = 2}};
  assert_fails("MaxPool", 12, (const MscTensor *[]){x}, 1, k2, 1, MSC_ERR_UNSUPPORTED, "double", NULL);
  assert_fails("AveragePool", 11, (const MscTensor *[]){x}, 1, k2, 1, MSC_ERR_UNSUPPORTED, "double", NULL);
  assert_fails("GlobalAveragePool", 1, (const MscTensor *[]){x}, 1, NULL, 0, MSC_ERR_UNSUPPORTED, "double", NULL);
  assert_fails("Softmax", 13, (const MscTensor *[]){m}, 1, NULL, 0, MSC_ERR_UNSUPPORTED, "double", NULL);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ops/elementwise/broadcast/shapes-f32", test_binary_broadcast_shapes);
  g_test_add_func("/ops/elementwise/broadcast/int-dtypes-wrap", test_binary_int_dtypes);
  g_test_add_func("/ops/elementwise/broadcast/large-same-shape-and-bias", test_binary_large_same_shape);
  g_test_add_func("/ops/elementwise/broadcast/incompatible", test_binary_incompatible);
  g_test_add_func("/ops/elementwise/broadcast/old-axis-form", test_binary_old_broadcast);
  g_test_add_func("/ops/elementwise/broadcast/static-infer-unknown-dims", test_static_infer);
  g_test_add_func("/ops/elementwise/dtype/unsupported", test_binary_unsupported_dtype);
  g_test_add_func("/ops/elementwise/dtype/float16", test_float16);
  g_test_add_func("/ops/elementwise/prelu/channel-and-numpy-forms", test_prelu_forms);
  g_test_add_func("/ops/elementwise/div/int-truncation", test_div_int);
  g_test_add_func("/ops/elementwise/mod/fmod-0-and-1", test_mod);
  g_test_add_func("/ops/elementwise/pow/mixed-dtypes", test_pow_mixed);
  g_test_add_func("/ops/elementwise/variadic/sum-mean-max-min", test_variadic);
  g_test_add_func("/ops/elementwise/compare-logic-where", test_compare_logic_where);
  g_test_add_func("/ops/unary/reference", test_unary_reference);
  g_test_add_func("/ops/unary/round-int-consumed-inputs", test_unary_special);
  g_test_add_func("/ops/unary/clip/attr-and-input-forms", test_clip_forms);
  g_test_add_func("/ops/cast/edge-values", test_cast_edges);
  g_test_add_func("/ops/cast/forms-and-errors", test_cast_forms_and_errors);
  g_test_add_func("/ops/elementwise/double/broadcast-exact", test_double_binary);
  g_test_add_func("/ops/elementwise/double/old-broadcast-axis", test_double_old_broadcast);
  g_test_add_func("/ops/elementwise/double/variadic-pow-where", test_double_variadic_pow_where);
  g_test_add_func("/ops/unary/double/reference-and-clip", test_double_unary);
  g_test_add_func("/ops/cast/double/to-and-from", test_double_cast);
  g_test_add_func("/ops/elementwise/double/constant-and-data-movement", test_double_constant_and_movement);
  g_test_add_func("/ops/elementwise/double/heavy-ops-refuse", test_double_heavy_refused);
  g_test_add_func("/ops/quantize/rounding-ties-saturation", test_quantize_rounding);
  g_test_add_func("/ops/quantize/per-axis", test_quantize_per_axis);
  g_test_add_func("/ops/quantize/blocked-and-types", test_quantize_blocked_and_types);
  return g_test_run();
}
