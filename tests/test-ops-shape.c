/* test-ops-shape.c: shape and data-movement operators (Reshape, Flatten,
 * Squeeze, Unsqueeze, Shape, Size, Identity, Dropout, Expand, Tile,
 * Constant, ConstantOfShape, Transpose, Concat, Split, Slice, Gather, Pad,
 * Resize, Upsample).
 *
 * Each case builds one node, runs it through msc_node_execute and compares
 * with values worked out by hand (the comments show the arithmetic), or
 * checks that a bad attribute / absurd size is refused with a message that
 * names the problem. A few cases run static inference on a small graph. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "ops.h"
#include "tensor.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})
#define F(...) ((const float[]){__VA_ARGS__})
#define L(...) ((const int64_t[]){__VA_ARGS__})
#define NDIMS(a) ((int32_t)(sizeof(a) / sizeof((a)[0])))

/* ---- tensors ------------------------------------------------------------- */

static MscTensor *
mk(MscDType dt, int32_t rank, const int64_t *dims, const void *vals)
{
  g_autoptr(GError) err = NULL;
  MscTensor *t = msc_tensor_new(dt, rank, dims, &err);
  g_assert_no_error(err);
  g_assert_nonnull(t);
  if (vals && t->nbytes)
    memcpy(t->data, vals, t->nbytes);
  return t;
}

static MscTensor *
mk_f32(int32_t rank, const int64_t *dims, const float *vals)
{
  return mk(MSC_DTYPE_FLOAT32, rank, dims, vals);
}

static MscTensor *
mk_i64(int32_t rank, const int64_t *dims, const int64_t *vals)
{
  return mk(MSC_DTYPE_INT64, rank, dims, vals);
}

/* 1-D int64 list */
static MscTensor *
mk_list(size_t n, const int64_t *vals)
{
  int64_t d = (int64_t)n;
  return mk_i64(1, &d, vals);
}

/* 0, 1, 2, ... as float32 */
static MscTensor *
mk_iota(int32_t rank, const int64_t *dims)
{
  MscTensor *t = mk_f32(rank, dims, NULL);
  int64_t n = msc_tensor_numel(t);
  for (int64_t i = 0; i < n; i++)
    ((float *)t->data)[i] = (float)i;
  return t;
}

static void
assert_shape(const MscTensor *t, int32_t rank, const int64_t *dims)
{
  char a[200], b[200];
  g_assert_nonnull(t);
  msc_shape_format(t->rank, t->dims, a, sizeof a);
  msc_shape_format(rank, dims, b, sizeof b);
  g_assert_cmpstr(a, ==, b);
}

static void
assert_f32(const MscTensor *t, const float *exp, int64_t n, double tol)
{
  g_assert_cmpint(t->dtype, ==, MSC_DTYPE_FLOAT32);
  g_assert_cmpint(msc_tensor_numel(t), ==, n);
  for (int64_t i = 0; i < n; i++) {
    double got = ((const float *)t->data)[i];
    if (fabs(got - exp[i]) > tol) {
      g_test_message("element %" G_GINT64_FORMAT ": got %.9g expected %.9g (tol %g)", i, got, (double)exp[i], tol);
      g_assert_cmpfloat(got, ==, exp[i]);
    }
  }
}

static void
assert_i64(const MscTensor *t, const int64_t *exp, int64_t n)
{
  g_assert_cmpint(msc_tensor_numel(t), ==, n);
  for (int64_t i = 0; i < n; i++)
    g_assert_cmpint(msc_tensor_get_i64(t, i), ==, exp[i]);
}

static void
assert_error(GError *err, MscStatus code, const char *needle)
{
  g_assert_nonnull(err);
  g_assert_cmpint(err->domain, ==, MSC_ERROR);
  if (err->code != (int)code || (needle && !strstr(err->message, needle)))
    g_test_message("error %d: %s", err->code, err->message);
  g_assert_cmpint(err->code, ==, code);
  if (needle)
    g_assert_nonnull(strstr(err->message, needle));
}

/* ---- one-node cases ------------------------------------------------------ */

typedef struct {
  MscGraph *g;
  MscNode *n;
  MscTensor *in[8]; /* owned; NULL = absent input */
  uint32_t n_in, n_out;
  MscTensor *out[8]; /* owned results */
} Case;

static Case *
case_new(const char *op, int64_t opset, uint32_t n_out)
{
  Case *c = g_new0(Case, 1);
  c->g = msc_graph_new("t");
  msc_graph_set_opset(c->g, "", opset);
  c->n = msc_graph_add_node(c->g, "n0", op, "", opset);
  c->n_out = n_out;
  return c;
}

/* Sets input i (takes ownership; NULL leaves the slot absent). */
static void
case_in(Case *c, uint32_t i, MscTensor *t)
{
  g_assert_cmpuint(i, <, G_N_ELEMENTS(c->in));
  c->in[i] = t;
  if (i + 1 > c->n_in)
    c->n_in = i + 1;
}

static void
case_free(Case *c)
{
  for (uint32_t i = 0; i < G_N_ELEMENTS(c->in); i++) {
    msc_tensor_free(c->in[i]);
    msc_tensor_free(c->out[i]);
  }
  msc_graph_free(c->g);
  g_free(c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Case, case_free)

static void
attr_int(Case *c, const char *name, int64_t v)
{
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_INT;
  a.i = v;
  msc_node_add_attr(c->n, &a);
}

static void
attr_float(Case *c, const char *name, float v)
{
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_FLOAT;
  a.f = v;
  msc_node_add_attr(c->n, &a);
}

static void
attr_ints(Case *c, const char *name, size_t n, const int64_t *v)
{
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_INTS;
  a.ints = g_memdup2(v, n * sizeof *v);
  a.n = n;
  msc_node_add_attr(c->n, &a);
}

static void
attr_floats(Case *c, const char *name, size_t n, const float *v)
{
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_FLOATS;
  a.floats = g_memdup2(v, n * sizeof *v);
  a.n = n;
  msc_node_add_attr(c->n, &a);
}

static void
attr_string(Case *c, const char *name, const char *s)
{
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_STRING;
  a.s = g_strdup(s);
  a.s_len = strlen(s);
  msc_node_add_attr(c->n, &a);
}

/* Takes ownership of @t. */
static void
attr_tensor(Case *c, const char *name, MscTensor *t)
{
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_TENSOR;
  a.t = t;
  msc_node_add_attr(c->n, &a);
}

/* Wires the node, resolves and executes it. TRUE on success (results in
 * c->out), else FALSE with *err set. */
static gboolean
case_run(Case *c, GError **err)
{
  MscValue *ins[8] = {0}, *outs[8] = {0};
  for (uint32_t i = 0; i < c->n_in; i++) {
    if (!c->in[i])
      continue;
    char name[16];
    g_snprintf(name, sizeof name, "in%u", i);
    ins[i] = msc_graph_get_or_add_value(c->g, name);
  }
  for (uint32_t j = 0; j < c->n_out; j++) {
    char name[16];
    g_snprintf(name, sizeof name, "out%u", j);
    outs[j] = msc_graph_get_or_add_value(c->g, name);
  }
  msc_node_set_io(c->n, ins, c->n_in, outs, c->n_out);
  if (!msc_graph_resolve_ops(c->g, err))
    return FALSE;
  return msc_node_execute(c->n, (const MscTensor *const *)c->in, c->out, err);
}

static void
case_ok(Case *c)
{
  g_autoptr(GError) err = NULL;
  gboolean ok = case_run(c, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
}

static void
case_fails(Case *c, MscStatus code, const char *needle)
{
  g_autoptr(GError) err = NULL;
  gboolean ok = case_run(c, &err);
  if (ok)
    g_test_message("%s (opset %" G_GINT64_FORMAT ") succeeded, expected an error containing '%s'", c->n->op_type,
                   c->n->opset, needle ? needle : "");
  g_assert_false(ok);
  assert_error(err, code, needle);
}

/* ---- Reshape ------------------------------------------------------------- */

static void
test_reshape_minus_one_inferred(void)
{
  g_test_summary("Reshape [2,3,4] to [4,-1] infers 6 and keeps the data order");
  g_autoptr(Case) c = case_new("Reshape", 13, 1);
  case_in(c, 0, mk_iota(3, D(2, 3, 4)));
  case_in(c, 1, mk_list(2, L(4, -1)));
  case_ok(c);
  assert_shape(c->out[0], 2, D(4, 6));
  g_assert_cmpfloat(((float *)c->out[0]->data)[23], ==, 23.0f);
}

static void
test_reshape_zero_copies_dim(void)
{
  g_test_summary("Reshape shape 0 copies the input dim when allowzero=0");
  g_autoptr(Case) c = case_new("Reshape", 14, 1);
  case_in(c, 0, mk_iota(3, D(2, 3, 4)));
  case_in(c, 1, mk_list(2, L(0, -1)));
  case_ok(c);
  assert_shape(c->out[0], 2, D(2, 12));
}

static void
test_reshape_allowzero(void)
{
  g_test_summary("Reshape allowzero=1 keeps a literal 0 dim; 0 with -1 is refused");
  {
    g_autoptr(Case) c = case_new("Reshape", 14, 1);
    attr_int(c, "allowzero", 1);
    case_in(c, 0, mk_f32(3, D(0, 3, 4), NULL));
    case_in(c, 1, mk_list(3, L(3, 4, 0)));
    case_ok(c);
    assert_shape(c->out[0], 3, D(3, 4, 0));
  }
  {
    g_autoptr(Case) c = case_new("Reshape", 14, 1);
    attr_int(c, "allowzero", 1);
    case_in(c, 0, mk_f32(3, D(0, 3, 4), NULL));
    case_in(c, 1, mk_list(2, L(0, -1)));
    case_fails(c, MSC_ERR_INVALID_ARG, "allowzero");
  }
  {
    /* before opset 14 allowzero does not exist: 0 copies */
    g_autoptr(Case) c = case_new("Reshape", 13, 1);
    case_in(c, 0, mk_iota(2, D(2, 3)));
    case_in(c, 1, mk_list(2, L(0, 3)));
    case_ok(c);
    assert_shape(c->out[0], 2, D(2, 3));
  }
}

static void
test_reshape_opset1_attribute(void)
{
  g_test_summary("Reshape-1 takes the shape from the attribute");
  g_autoptr(Case) c = case_new("Reshape", 1, 1);
  attr_ints(c, "shape", 3, L(3, -1, 2));
  case_in(c, 0, mk_iota(1, D(12)));
  case_ok(c);
  assert_shape(c->out[0], 3, D(3, 2, 2));
}

static void
test_reshape_count_mismatch(void)
{
  g_test_summary("Reshape with a different element count names both shapes");
  {
    g_autoptr(Case) c = case_new("Reshape", 13, 1);
    case_in(c, 0, mk_iota(2, D(2, 3)));
    case_in(c, 1, mk_list(2, L(4, 2)));
    g_autoptr(GError) err = NULL;
    g_assert_false(case_run(c, &err));
    assert_error(err, MSC_ERR_INVALID_ARG, "[2,3]");
    g_assert_nonnull(strstr(err->message, "[4,2]"));
    g_assert_nonnull(strstr(err->message, "Reshape"));
  }
  {
    g_autoptr(Case) c = case_new("Reshape", 13, 1);
    case_in(c, 0, mk_iota(2, D(2, 3)));
    case_in(c, 1, mk_list(2, L(4, -1)));
    case_fails(c, MSC_ERR_INVALID_ARG, "[2,3]");
  }
  {
    g_autoptr(Case) c = case_new("Reshape", 13, 1);
    case_in(c, 0, mk_iota(2, D(2, 3)));
    case_in(c, 1, mk_list(3, L(-1, -1, 1)));
    case_fails(c, MSC_ERR_INVALID_ARG, "more than one -1");
  }
  {
    g_autoptr(Case) c = case_new("Reshape", 13, 1);
    case_in(c, 0, mk_iota(2, D(2, 3)));
    case_in(c, 1, mk_list(2, L(-2, 3)));
    case_fails(c, MSC_ERR_INVALID_ARG, "negative");
  }
}

/* ---- Flatten / Squeeze / Unsqueeze --------------------------------------- */

static void
test_flatten_axes(void)
{
  g_test_summary("Flatten at axis 0, 3 and negative -1 / -3 of a [2,3,4] tensor");
  static const struct {
    int64_t axis, d0, d1;
  } cases[] = {{0, 1, 24}, {3, 24, 1}, {-1, 6, 4}, {-3, 1, 24}, {1, 2, 12}};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(Case) c = case_new("Flatten", 13, 1);
    attr_int(c, "axis", cases[i].axis);
    case_in(c, 0, mk_iota(3, D(2, 3, 4)));
    case_ok(c);
    assert_shape(c->out[0], 2, D(cases[i].d0, cases[i].d1));
  }
  g_autoptr(Case) c = case_new("Flatten", 13, 1);
  attr_int(c, "axis", 4);
  case_in(c, 0, mk_iota(3, D(2, 3, 4)));
  case_fails(c, MSC_ERR_INVALID_ARG, "axis");
}

static void
test_squeeze_forms(void)
{
  g_test_summary("Squeeze axes attribute (opset 11), input (13), none, and a non-1 axis refused");
  {
    g_autoptr(Case) c = case_new("Squeeze", 11, 1);
    attr_ints(c, "axes", 1, L(-1));
    case_in(c, 0, mk_iota(3, D(1, 3, 1)));
    case_ok(c);
    assert_shape(c->out[0], 2, D(1, 3));
  }
  {
    g_autoptr(Case) c = case_new("Squeeze", 13, 1);
    case_in(c, 0, mk_iota(3, D(1, 3, 1)));
    case_in(c, 1, mk_list(1, L(0)));
    case_ok(c);
    assert_shape(c->out[0], 2, D(3, 1));
  }
  {
    g_autoptr(Case) c = case_new("Squeeze", 13, 1);
    case_in(c, 0, mk_iota(3, D(1, 3, 1)));
    case_ok(c);
    assert_shape(c->out[0], 1, D(3));
    assert_f32(c->out[0], F(0, 1, 2), 3, 0);
  }
  {
    g_autoptr(Case) c = case_new("Squeeze", 13, 1);
    case_in(c, 0, mk_iota(3, D(1, 3, 1)));
    case_in(c, 1, mk_list(1, L(1)));
    case_fails(c, MSC_ERR_INVALID_ARG, "size 3");
  }
}

static void
test_unsqueeze_forms(void)
{
  g_test_summary("Unsqueeze axes index the output rank (negative too); repeats refused");
  {
    g_autoptr(Case) c = case_new("Unsqueeze", 13, 1);
    case_in(c, 0, mk_iota(2, D(3, 4)));
    case_in(c, 1, mk_list(2, L(-1, 0)));
    case_ok(c);
    assert_shape(c->out[0], 4, D(1, 3, 4, 1));
  }
  {
    g_autoptr(Case) c = case_new("Unsqueeze", 11, 1);
    attr_ints(c, "axes", 2, L(1, 3));
    case_in(c, 0, mk_iota(2, D(3, 4)));
    case_ok(c);
    assert_shape(c->out[0], 4, D(3, 1, 4, 1));
  }
  {
    g_autoptr(Case) c = case_new("Unsqueeze", 13, 1);
    case_in(c, 0, mk_iota(2, D(3, 4)));
    case_in(c, 1, mk_list(2, L(0, -4)));
    case_fails(c, MSC_ERR_INVALID_ARG, "repeated");
  }
  {
    g_autoptr(Case) c = case_new("Unsqueeze", 13, 1);
    case_in(c, 0, mk_iota(2, D(3, 4)));
    case_in(c, 1, mk_list(1, L(3)));
    case_fails(c, MSC_ERR_INVALID_ARG, "axes");
  }
}

/* ---- Shape / Size / Identity / Dropout ----------------------------------- */

static void
test_shape_start_end(void)
{
  g_test_summary("Shape start/end (opset 15) count from the back and clamp");
  static const struct {
    gboolean has_s, has_e;
    int64_t s, e, n, v[3];
  } cases[] = {
    {FALSE, FALSE, 0, 0, 3, {2, 3, 4}}, {TRUE, FALSE, -1, 0, 1, {4}},   {TRUE, TRUE, 1, -1, 1, {3}},
    {TRUE, TRUE, -10, 10, 3, {2, 3, 4}}, {TRUE, TRUE, 2, 1, 0, {0}},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(Case) c = case_new("Shape", 15, 1);
    if (cases[i].has_s)
      attr_int(c, "start", cases[i].s);
    if (cases[i].has_e)
      attr_int(c, "end", cases[i].e);
    case_in(c, 0, mk_f32(3, D(2, 3, 4), NULL));
    case_ok(c);
    g_assert_cmpint(c->out[0]->dtype, ==, MSC_DTYPE_INT64);
    assert_shape(c->out[0], 1, D(cases[i].n));
    assert_i64(c->out[0], cases[i].v, cases[i].n);
  }
}

static void
test_size_identity(void)
{
  g_test_summary("Size is an int64 scalar; Identity copies int8 bytes");
  {
    g_autoptr(Case) c = case_new("Size", 13, 1);
    case_in(c, 0, mk_f32(3, D(2, 3, 4), NULL));
    case_ok(c);
    g_assert_cmpint(c->out[0]->rank, ==, 0);
    g_assert_cmpint(*(int64_t *)c->out[0]->data, ==, 24);
  }
  {
    static const int8_t v[4] = {-128, -1, 0, 127};
    g_autoptr(Case) c = case_new("Identity", 16, 1);
    case_in(c, 0, mk(MSC_DTYPE_INT8, 1, D(4), v));
    case_ok(c);
    g_assert_cmpint(c->out[0]->dtype, ==, MSC_DTYPE_INT8);
    g_assert_cmpmem(c->out[0]->data, 4, v, 4);
  }
}

static void
test_dropout_inference(void)
{
  g_test_summary("Dropout copies; mask all true (bool from opset 10, input type before)");
  {
    g_autoptr(Case) c = case_new("Dropout", 13, 2);
    case_in(c, 0, mk_f32(1, D(3), F(-1, 0, 2.5f)));
    float r = 0.3f;
    case_in(c, 1, mk_f32(0, NULL, &r));
    case_ok(c);
    assert_f32(c->out[0], F(-1, 0, 2.5f), 3, 0);
    g_assert_cmpint(c->out[1]->dtype, ==, MSC_DTYPE_BOOL);
    g_assert_cmpmem(c->out[1]->data, 3, ((const uint8_t[]){1, 1, 1}), 3);
  }
  {
    g_autoptr(Case) c = case_new("Dropout", 7, 2);
    attr_float(c, "ratio", 0.2f);
    case_in(c, 0, mk_f32(1, D(2), F(4, 5)));
    case_ok(c);
    assert_f32(c->out[1], F(1, 1), 2, 0);
  }
  {
    g_autoptr(Case) c = case_new("Dropout", 6, 1);
    attr_int(c, "is_test", 1);
    case_in(c, 0, mk_f32(1, D(2), F(4, 5)));
    case_ok(c);
    assert_f32(c->out[0], F(4, 5), 2, 0);
  }
}

static void
test_dropout_training_mode(void)
{
  g_test_summary("Dropout training_mode=true is refused unless the ratio is 0");
  uint8_t yes = 1;
  {
    g_autoptr(Case) c = case_new("Dropout", 13, 1);
    float r = 0.5f;
    case_in(c, 0, mk_f32(1, D(2), F(1, 2)));
    case_in(c, 1, mk_f32(0, NULL, &r));
    case_in(c, 2, mk(MSC_DTYPE_BOOL, 0, NULL, &yes));
    case_fails(c, MSC_ERR_UNSUPPORTED, "training mode");
  }
  {
    g_autoptr(Case) c = case_new("Dropout", 13, 1);
    float r = 0.0f;
    case_in(c, 0, mk_f32(1, D(2), F(1, 2)));
    case_in(c, 1, mk_f32(0, NULL, &r));
    case_in(c, 2, mk(MSC_DTYPE_BOOL, 0, NULL, &yes));
    case_ok(c);
    assert_f32(c->out[0], F(1, 2), 2, 0);
  }
  {
    uint8_t no = 0;
    g_autoptr(Case) c = case_new("Dropout", 12, 1);
    case_in(c, 0, mk_f32(1, D(2), F(1, 2)));
    case_in(c, 2, mk(MSC_DTYPE_BOOL, 0, NULL, &no));
    case_ok(c);
    assert_f32(c->out[0], F(1, 2), 2, 0);
  }
}

/* ---- Expand / Tile ------------------------------------------------------- */

static void
test_expand_bidirectional(void)
{
  g_test_summary("Expand [3,1] to shape [2,1,6] broadcasts both ways to [2,3,6]");
  g_autoptr(Case) c = case_new("Expand", 13, 1);
  case_in(c, 0, mk_f32(2, D(3, 1), F(1, 2, 3)));
  case_in(c, 1, mk_list(3, L(2, 1, 6)));
  case_ok(c);
  assert_shape(c->out[0], 3, D(2, 3, 6));
  const float *y = c->out[0]->data;
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 6; j++)
        g_assert_cmpfloat(y[(b * 3 + i) * 6 + j], ==, (float)(i + 1));
  /* a row broadcast along the leading dim: [1,3] -> [2,3] copies rows */
  g_autoptr(Case) c2 = case_new("Expand", 8, 1);
  case_in(c2, 0, mk(MSC_DTYPE_INT64, 2, D(1, 3), L(7, 8, 9)));
  case_in(c2, 1, mk_list(2, L(2, 1)));
  case_ok(c2);
  assert_i64(c2->out[0], L(7, 8, 9, 7, 8, 9), 6);
}

static void
test_expand_errors(void)
{
  g_test_summary("Expand: incompatible dims and absurd sizes are refused cleanly");
  {
    g_autoptr(Case) c = case_new("Expand", 13, 1);
    case_in(c, 0, mk_f32(1, D(3), F(1, 2, 3)));
    case_in(c, 1, mk_list(1, L(4)));
    case_fails(c, MSC_ERR_INVALID_ARG, "broadcast");
  }
  {
    g_autoptr(Case) c = case_new("Expand", 13, 1);
    case_in(c, 0, mk_f32(1, D(1), F(1)));
    case_in(c, 1, mk_list(3, L(1 << 20, 1 << 20, 1 << 20)));
    case_fails(c, MSC_ERR_INVALID_ARG, "too large");
  }
  {
    g_autoptr(Case) c = case_new("Expand", 13, 1);
    case_in(c, 0, mk_f32(1, D(1), F(1)));
    case_in(c, 1, mk_list(3, L(INT64_MAX, INT64_MAX, 2)));
    case_fails(c, MSC_ERR_INVALID_ARG, "too large");
  }
}

static void
test_tile_forms(void)
{
  g_test_summary("Tile repeats (opset 6+) and the opset 1 tiles+axis form; huge repeats refused");
  {
    g_autoptr(Case) c = case_new("Tile", 13, 1);
    case_in(c, 0, mk_f32(2, D(2, 2), F(1, 2, 3, 4)));
    case_in(c, 1, mk_list(2, L(2, 3)));
    case_ok(c);
    assert_shape(c->out[0], 2, D(4, 6));
    static const float exp[24] = {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4};
    assert_f32(c->out[0], exp, 24, 0);
  }
  {
    int64_t tiles = 3, axis = 0;
    g_autoptr(Case) c = case_new("Tile", 1, 1);
    case_in(c, 0, mk_f32(2, D(1, 2), F(5, 6)));
    case_in(c, 1, mk_i64(0, NULL, &tiles));
    case_in(c, 2, mk_i64(0, NULL, &axis));
    case_ok(c);
    assert_shape(c->out[0], 2, D(3, 2));
    assert_f32(c->out[0], F(5, 6, 5, 6, 5, 6), 6, 0);
  }
  {
    g_autoptr(Case) c = case_new("Tile", 13, 1);
    case_in(c, 0, mk_f32(2, D(2, 2), F(1, 2, 3, 4)));
    case_in(c, 1, mk_list(2, L(INT64_MAX / 2, 4)));
    case_fails(c, MSC_ERR_INVALID_ARG, NULL);
  }
  {
    g_autoptr(Case) c = case_new("Tile", 13, 1);
    case_in(c, 0, mk_f32(2, D(2, 2), F(1, 2, 3, 4)));
    case_in(c, 1, mk_list(1, L(2)));
    case_fails(c, MSC_ERR_INVALID_ARG, "repeats");
  }
}

/* ---- Constant / ConstantOfShape ----------------------------------------- */

static void
test_constant_forms(void)
{
  g_test_summary("Constant value tensor, value_floats/value_int (opset 12); sparse and two values refused");
  {
    g_autoptr(Case) c = case_new("Constant", 13, 1);
    attr_tensor(c, "value", mk(MSC_DTYPE_INT32, 2, D(1, 2), ((const int32_t[]){-3, 9})));
    case_ok(c);
    g_assert_cmpint(c->out[0]->dtype, ==, MSC_DTYPE_INT32);
    assert_shape(c->out[0], 2, D(1, 2));
    assert_i64(c->out[0], L(-3, 9), 2);
  }
  {
    g_autoptr(Case) c = case_new("Constant", 12, 1);
    attr_floats(c, "value_floats", 3, F(0.5f, -1, 2));
    case_ok(c);
    assert_shape(c->out[0], 1, D(3));
    assert_f32(c->out[0], F(0.5f, -1, 2), 3, 0);
  }
  {
    g_autoptr(Case) c = case_new("Constant", 13, 1);
    attr_int(c, "value_int", -7);
    case_ok(c);
    g_assert_cmpint(c->out[0]->rank, ==, 0);
    g_assert_cmpint(c->out[0]->dtype, ==, MSC_DTYPE_INT64);
    g_assert_cmpint(*(int64_t *)c->out[0]->data, ==, -7);
  }
  {
    g_autoptr(Case) c = case_new("Constant", 11, 1);
    attr_int(c, "value_int", 1);
    case_fails(c, MSC_ERR_INVALID_ARG, "opset 12");
  }
  {
    g_autoptr(Case) c = case_new("Constant", 13, 1);
    MscAttr a = {0};
    a.name = g_strdup("sparse_value");
    a.type = MSC_ATTR_UNDEFINED;
    msc_node_add_attr(c->n, &a);
    case_fails(c, MSC_ERR_UNSUPPORTED, "sparse_value");
  }
  {
    g_autoptr(Case) c = case_new("Constant", 13, 1);
    attr_int(c, "value_int", 1);
    attr_float(c, "value_float", 1);
    case_fails(c, MSC_ERR_INVALID_ARG, "exactly one");
  }
  {
    g_autoptr(Case) c = case_new("Constant", 13, 1);
    int16_t v = 1;
    attr_tensor(c, "value", mk(MSC_DTYPE_INT16, 0, NULL, &v));
    case_fails(c, MSC_ERR_UNSUPPORTED, "int16");
  }
}

static void
test_constant_of_shape(void)
{
  g_test_summary("ConstantOfShape: default float 0, int64 value, empty shape = scalar, bad/huge shapes refused");
  {
    g_autoptr(Case) c = case_new("ConstantOfShape", 9, 1);
    case_in(c, 0, mk_list(2, L(2, 3)));
    case_ok(c);
    g_assert_cmpint(c->out[0]->dtype, ==, MSC_DTYPE_FLOAT32);
    assert_f32(c->out[0], F(0, 0, 0, 0, 0, 0), 6, 0);
  }
  {
    g_autoptr(Case) c = case_new("ConstantOfShape", 9, 1);
    int64_t v = 7;
    attr_tensor(c, "value", mk_i64(1, D(1), &v));
    case_in(c, 0, mk_list(1, L(5)));
    case_ok(c);
    assert_i64(c->out[0], L(7, 7, 7, 7, 7), 5);
  }
  {
    g_autoptr(Case) c = case_new("ConstantOfShape", 9, 1);
    float v = 1.5f;
    attr_tensor(c, "value", mk_f32(1, D(1), &v));
    case_in(c, 0, mk_list(0, NULL));
    case_ok(c);
    g_assert_cmpint(c->out[0]->rank, ==, 0);
    g_assert_cmpfloat(*(float *)c->out[0]->data, ==, 1.5f);
  }
  {
    g_autoptr(Case) c = case_new("ConstantOfShape", 9, 1);
    case_in(c, 0, mk_list(2, L(3, -1)));
    case_fails(c, MSC_ERR_INVALID_ARG, "negative");
  }
  {
    g_autoptr(Case) c = case_new("ConstantOfShape", 9, 1);
    case_in(c, 0, mk_list(3, L(1 << 30, 1 << 30, 1 << 30)));
    case_fails(c, MSC_ERR_INVALID_ARG, "too large");
  }
  {
    g_autoptr(Case) c = case_new("ConstantOfShape", 9, 1);
    attr_tensor(c, "value", mk_f32(1, D(2), F(1, 2)));
    case_in(c, 0, mk_list(1, L(2)));
    case_fails(c, MSC_ERR_INVALID_ARG, "one element");
  }
}

/* ---- Transpose ----------------------------------------------------------- */

static void
test_transpose_perms(void)
{
  g_test_summary("Transpose default reverses dims; explicit perm matches a naive index map");
  {
    g_autoptr(Case) c = case_new("Transpose", 13, 1);
    case_in(c, 0, mk_iota(2, D(2, 3)));
    case_ok(c);
    assert_shape(c->out[0], 2, D(3, 2));
    assert_f32(c->out[0], F(0, 3, 1, 4, 2, 5), 6, 0);
  }
  {
    g_autoptr(Case) c = case_new("Transpose", 13, 1);
    attr_ints(c, "perm", 4, L(0, 2, 3, 1));
    case_in(c, 0, mk_iota(4, D(2, 3, 4, 5)));
    case_ok(c);
    assert_shape(c->out[0], 4, D(2, 4, 5, 3));
    const float *y = c->out[0]->data;
    for (int n = 0; n < 2; n++)
      for (int h = 0; h < 4; h++)
        for (int w = 0; w < 5; w++)
          for (int ch = 0; ch < 3; ch++)
            g_assert_cmpfloat(y[((n * 4 + h) * 5 + w) * 3 + ch], ==, (float)(((n * 3 + ch) * 4 + h) * 5 + w));
  }
}

static void
test_transpose_bad_perm(void)
{
  g_test_summary("Transpose refuses a repeated entry, an out-of-range entry and a wrong length");
  static const int64_t bad[3][3] = {{0, 0, 1}, {0, 1, 3}, {0, 1, -1}};
  for (int i = 0; i < 3; i++) {
    g_autoptr(Case) c = case_new("Transpose", 13, 1);
    attr_ints(c, "perm", 3, bad[i]);
    case_in(c, 0, mk_iota(3, D(2, 3, 4)));
    case_fails(c, MSC_ERR_INVALID_ARG, "perm");
  }
  g_autoptr(Case) c = case_new("Transpose", 13, 1);
  attr_ints(c, "perm", 2, L(1, 0));
  case_in(c, 0, mk_iota(3, D(2, 3, 4)));
  case_fails(c, MSC_ERR_INVALID_ARG, "perm");
}

/* ---- Concat / Split ------------------------------------------------------ */

static void
test_concat_axes(void)
{
  g_test_summary("Concat on axis -1 of int64, opset 1 default axis 1, a zero-size input, mismatches refused");
  {
    g_autoptr(Case) c = case_new("Concat", 13, 1);
    attr_int(c, "axis", -1);
    case_in(c, 0, mk(MSC_DTYPE_INT64, 2, D(2, 1), L(1, 2)));
    case_in(c, 1, mk(MSC_DTYPE_INT64, 2, D(2, 2), L(3, 4, 5, 6)));
    case_in(c, 2, mk(MSC_DTYPE_INT64, 2, D(2, 0), NULL));
    case_ok(c);
    assert_shape(c->out[0], 2, D(2, 3));
    assert_i64(c->out[0], L(1, 3, 4, 2, 5, 6), 6);
  }
  {
    g_autoptr(Case) c = case_new("Concat", 1, 1);
    case_in(c, 0, mk_f32(2, D(1, 1), F(1)));
    case_in(c, 1, mk_f32(2, D(1, 2), F(2, 3)));
    case_ok(c);
    assert_f32(c->out[0], F(1, 2, 3), 3, 0);
  }
  {
    g_autoptr(Case) c = case_new("Concat", 13, 1);
    case_in(c, 0, mk_f32(2, D(1, 1), F(1)));
    case_in(c, 1, mk_f32(2, D(1, 2), F(2, 3)));
    case_fails(c, MSC_ERR_INVALID_ARG, "'axis' is required");
  }
  {
    g_autoptr(Case) c = case_new("Concat", 13, 1);
    attr_int(c, "axis", 0);
    case_in(c, 0, mk_f32(2, D(1, 1), F(1)));
    case_in(c, 1, mk_f32(2, D(1, 2), F(2, 3)));
    case_fails(c, MSC_ERR_INVALID_ARG, "does not match");
  }
}

static void
test_split_forms(void)
{
  g_test_summary("Split sizes by attribute (11) and input (13), equal parts, opset 18 num_outputs with a short last chunk");
  {
    g_autoptr(Case) c = case_new("Split", 13, 2);
    attr_int(c, "axis", 1);
    case_in(c, 0, mk_iota(2, D(2, 4)));
    case_in(c, 1, mk_list(2, L(1, 3)));
    case_ok(c);
    assert_shape(c->out[0], 2, D(2, 1));
    assert_shape(c->out[1], 2, D(2, 3));
    assert_f32(c->out[0], F(0, 4), 2, 0);
    assert_f32(c->out[1], F(1, 2, 3, 5, 6, 7), 6, 0);
  }
  {
    g_autoptr(Case) c = case_new("Split", 11, 2);
    attr_int(c, "axis", -1);
    attr_ints(c, "split", 2, L(3, 1));
    case_in(c, 0, mk_iota(2, D(2, 4)));
    case_ok(c);
    assert_f32(c->out[1], F(3, 7), 2, 0);
  }
  {
    g_autoptr(Case) c = case_new("Split", 13, 3);
    case_in(c, 0, mk_iota(1, D(6)));
    case_ok(c);
    assert_f32(c->out[2], F(4, 5), 2, 0);
  }
  {
    g_autoptr(Case) c = case_new("Split", 18, 3);
    attr_int(c, "num_outputs", 3);
    case_in(c, 0, mk_iota(1, D(7)));
    case_ok(c);
    /* ceil(7/3) = 3: chunks 3, 3, 1 */
    assert_shape(c->out[0], 1, D(3));
    assert_shape(c->out[1], 1, D(3));
    assert_f32(c->out[2], F(6), 1, 0);
  }
}

static void
test_split_errors(void)
{
  g_test_summary("Split refuses sizes not summing to the axis, an uneven equal split before 18, a wrong count, sizes whose sum overflows");
  {
    g_autoptr(Case) c = case_new("Split", 13, 2);
    case_in(c, 0, mk_iota(1, D(5)));
    case_in(c, 1, mk_list(2, L(2, 2)));
    case_fails(c, MSC_ERR_INVALID_ARG, "sum to 4");
  }
  {
    g_autoptr(Case) c = case_new("Split", 13, 3);
    case_in(c, 0, mk_iota(1, D(7)));
    case_fails(c, MSC_ERR_INVALID_ARG, "evenly");
  }
  {
    g_autoptr(Case) c = case_new("Split", 11, 3);
    attr_ints(c, "split", 2, L(3, 4));
    case_in(c, 0, mk_iota(1, D(7)));
    case_fails(c, MSC_ERR_INVALID_ARG, "2 sizes for 3 outputs");
  }
  {
    g_autoptr(Case) c = case_new("Split", 18, 2);
    attr_int(c, "num_outputs", 3);
    case_in(c, 0, mk_iota(1, D(6)));
    case_fails(c, MSC_ERR_INVALID_ARG, "num_outputs");
  }
  {
    /* sizes whose sum passes INT64_MAX: refused before the sum overflows
     * (UBSan's signed-overflow check catches the add otherwise) */
    g_autoptr(Case) c = case_new("Split", 11, 2);
    attr_ints(c, "split", 2, L(INT64_MAX, 4));
    case_in(c, 0, mk_iota(1, D(7)));
    case_fails(c, MSC_ERR_INVALID_ARG, "overflow");
  }
}

/* ---- Slice / Gather ------------------------------------------------------ */

static void
test_slice_negative_steps(void)
{
  g_test_summary("Slice with step -2 from -1 to INT64_MIN walks back to the start");
  g_autoptr(Case) c = case_new("Slice", 13, 1);
  case_in(c, 0, mk_iota(1, D(10)));
  case_in(c, 1, mk_list(1, L(-1)));
  case_in(c, 2, mk_list(1, L(INT64_MIN)));
  case_in(c, 3, mk_list(1, L(0)));
  case_in(c, 4, mk_list(1, L(-2)));
  case_ok(c);
  assert_f32(c->out[0], F(9, 7, 5, 3, 1), 5, 0);
}

static void
test_slice_clamping(void)
{
  g_test_summary("Slice clamps huge starts/ends (int32 and int64), negative axes, empty results");
  {
    /* [3,4]: axis -1 from -100 (clamped 0) to INT32_MAX step 3 -> cols 0, 3 */
    g_autoptr(Case) c = case_new("Slice", 13, 1);
    case_in(c, 0, mk_iota(2, D(3, 4)));
    case_in(c, 1, mk(MSC_DTYPE_INT32, 1, D(1), ((const int32_t[]){-100})));
    case_in(c, 2, mk(MSC_DTYPE_INT32, 1, D(1), ((const int32_t[]){INT32_MAX})));
    case_in(c, 3, mk(MSC_DTYPE_INT32, 1, D(1), ((const int32_t[]){-1})));
    case_in(c, 4, mk(MSC_DTYPE_INT32, 1, D(1), ((const int32_t[]){3})));
    case_ok(c);
    assert_shape(c->out[0], 2, D(3, 2));
    assert_f32(c->out[0], F(0, 3, 4, 7, 8, 11), 6, 0);
  }
  {
    /* negative step with start beyond the end clamps to dim-1 */
    g_autoptr(Case) c = case_new("Slice", 13, 1);
    case_in(c, 0, mk_iota(1, D(4)));
    case_in(c, 1, mk_list(1, L(100)));
    case_in(c, 2, mk_list(1, L(-100)));
    case_in(c, 3, NULL);
    case_in(c, 4, mk_list(1, L(-1)));
    case_ok(c);
    assert_f32(c->out[0], F(3, 2, 1, 0), 4, 0);
  }
  {
    g_autoptr(Case) c = case_new("Slice", 13, 1);
    case_in(c, 0, mk_iota(1, D(4)));
    case_in(c, 1, mk_list(1, L(3)));
    case_in(c, 2, mk_list(1, L(1)));
    case_ok(c);
    assert_shape(c->out[0], 1, D(0));
  }
  {
    /* opset 1: attributes, default axes */
    g_autoptr(Case) c = case_new("Slice", 1, 1);
    attr_ints(c, "starts", 2, L(1, -2));
    attr_ints(c, "ends", 2, L(1000, 1000));
    case_in(c, 0, mk_iota(2, D(3, 4)));
    case_ok(c);
    assert_f32(c->out[0], F(6, 7, 10, 11), 4, 0);
  }
}

static void
test_slice_errors(void)
{
  g_test_summary("Slice refuses step 0, repeated axes and length mismatches");
  {
    g_autoptr(Case) c = case_new("Slice", 13, 1);
    case_in(c, 0, mk_iota(1, D(4)));
    case_in(c, 1, mk_list(1, L(0)));
    case_in(c, 2, mk_list(1, L(2)));
    case_in(c, 3, mk_list(1, L(0)));
    case_in(c, 4, mk_list(1, L(0)));
    case_fails(c, MSC_ERR_INVALID_ARG, "step");
  }
  {
    g_autoptr(Case) c = case_new("Slice", 13, 1);
    case_in(c, 0, mk_iota(2, D(2, 2)));
    case_in(c, 1, mk_list(2, L(0, 0)));
    case_in(c, 2, mk_list(2, L(1, 1)));
    case_in(c, 3, mk_list(2, L(1, -1)));
    case_fails(c, MSC_ERR_INVALID_ARG, "repeated");
  }
  {
    g_autoptr(Case) c = case_new("Slice", 13, 1);
    case_in(c, 0, mk_iota(2, D(2, 2)));
    case_in(c, 1, mk_list(2, L(0, 0)));
    case_in(c, 2, mk_list(1, L(1)));
    case_fails(c, MSC_ERR_INVALID_ARG, "lengths differ");
  }
}

static void
test_gather_indices(void)
{
  g_test_summary("Gather: negative indices, 2-D int32 indices on axis 1, out of range refused");
  {
    g_autoptr(Case) c = case_new("Gather", 13, 1);
    case_in(c, 0, mk_iota(2, D(3, 2)));
    case_in(c, 1, mk_list(3, L(-1, 0, -3)));
    case_ok(c);
    assert_shape(c->out[0], 2, D(3, 2));
    assert_f32(c->out[0], F(4, 5, 0, 1, 0, 1), 6, 0);
  }
  {
    g_autoptr(Case) c = case_new("Gather", 13, 1);
    attr_int(c, "axis", -1);
    case_in(c, 0, mk_iota(2, D(2, 3)));
    case_in(c, 1, mk(MSC_DTYPE_INT32, 2, D(2, 2), ((const int32_t[]){2, 0, 1, 1})));
    case_ok(c);
    assert_shape(c->out[0], 3, D(2, 2, 2));
    assert_f32(c->out[0], F(2, 0, 1, 1, 5, 3, 4, 4), 8, 0);
  }
  {
    /* scalar index drops the axis */
    int64_t i = 1;
    g_autoptr(Case) c = case_new("Gather", 13, 1);
    case_in(c, 0, mk_iota(2, D(2, 3)));
    case_in(c, 1, mk_i64(0, NULL, &i));
    case_ok(c);
    assert_shape(c->out[0], 1, D(3));
    assert_f32(c->out[0], F(3, 4, 5), 3, 0);
  }
  {
    g_autoptr(Case) c = case_new("Gather", 13, 1);
    case_in(c, 0, mk_iota(2, D(3, 2)));
    case_in(c, 1, mk_list(2, L(0, 3)));
    case_fails(c, MSC_ERR_INVALID_ARG, "out of range");
  }
  {
    g_autoptr(Case) c = case_new("Gather", 13, 1);
    case_in(c, 0, mk_iota(2, D(3, 2)));
    case_in(c, 1, mk_list(1, L(-4)));
    case_fails(c, MSC_ERR_INVALID_ARG, "out of range");
  }
}

/* ---- Pad ----------------------------------------------------------------- */

static MscTensor *
pad_run_1d(const char *mode, int64_t opset, const float *x, int64_t n, int64_t b, int64_t e, GError **err)
{
  g_autoptr(Case) c = case_new("Pad", opset, 1);
  attr_string(c, "mode", mode);
  case_in(c, 0, mk_f32(1, &n, x));
  case_in(c, 1, mk_list(2, L(b, e)));
  if (!case_run(c, err))
    return NULL;
  return g_steal_pointer(&c->out[0]);
}

static void
test_pad_modes(void)
{
  g_test_summary("Pad reflect/edge/wrap on [1,2,3,4] with pads (2,3), by hand");
  static const struct {
    const char *mode;
    int64_t opset;
    float exp[9];
  } cases[] = {
    {"reflect", 11, {3, 2, 1, 2, 3, 4, 3, 2, 1}},
    {"edge", 11, {1, 1, 1, 2, 3, 4, 4, 4, 4}},
    {"wrap", 19, {3, 4, 1, 2, 3, 4, 1, 2, 3}},
    {"constant", 11, {0, 0, 1, 2, 3, 4, 0, 0, 0}},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) err = NULL;
    g_autoptr(MscTensor) y = pad_run_1d(cases[i].mode, cases[i].opset, F(1, 2, 3, 4), 4, 2, 3, &err);
    g_assert_no_error(err);
    assert_f32(y, cases[i].exp, 9, 0);
  }
  /* reflect wider than the axis keeps bouncing: [1,2] pads (3,0) -> 2,1,2,1,2 */
  g_autoptr(GError) err = NULL;
  g_autoptr(MscTensor) y = pad_run_1d("reflect", 11, F(1, 2), 2, 3, 0, &err);
  g_assert_no_error(err);
  assert_f32(y, F(2, 1, 2, 1, 2), 5, 0);
  g_autoptr(GError) err2 = NULL;
  g_autoptr(MscTensor) y2 = pad_run_1d("wrap", 18, F(1, 2), 2, 1, 0, &err2);
  g_assert_null(y2);
  assert_error(err2, MSC_ERR_INVALID_ARG, "wrap");
}

static void
test_pad_forms(void)
{
  g_test_summary("Pad opset 2 attributes, opset 11 constant_value, opset 18 axes, negative pads crop");
  {
    /* [2,2] pads attr [1,0,0,1] value 9 -> [3,3] */
    g_autoptr(Case) c = case_new("Pad", 2, 1);
    attr_ints(c, "pads", 4, L(1, 0, 0, 1));
    attr_float(c, "value", 9);
    case_in(c, 0, mk_f32(2, D(2, 2), F(1, 2, 3, 4)));
    case_ok(c);
    assert_f32(c->out[0], F(9, 9, 9, 1, 2, 9, 3, 4, 9), 9, 0);
  }
  {
    g_autoptr(Case) c = case_new("Pad", 1, 1);
    attr_ints(c, "paddings", 2, L(1, 1));
    case_in(c, 0, mk(MSC_DTYPE_INT64, 1, D(1), L(5)));
    case_ok(c);
    assert_i64(c->out[0], L(0, 5, 0), 3);
  }
  {
    int32_t v = -1;
    g_autoptr(Case) c = case_new("Pad", 11, 1);
    case_in(c, 0, mk(MSC_DTYPE_INT32, 2, D(1, 2), ((const int32_t[]){7, 8})));
    case_in(c, 1, mk_list(4, L(0, 1, 0, 0)));
    case_in(c, 2, mk(MSC_DTYPE_INT32, 0, NULL, &v));
    case_ok(c);
    assert_i64(c->out[0], L(-1, 7, 8), 3);
  }
  {
    /* axes [-1] pads only the last axis */
    g_autoptr(Case) c = case_new("Pad", 18, 1);
    attr_string(c, "mode", "edge");
    case_in(c, 0, mk_f32(2, D(2, 2), F(1, 2, 3, 4)));
    case_in(c, 1, mk_list(2, L(1, 0)));
    case_in(c, 2, NULL);
    case_in(c, 3, mk_list(1, L(-1)));
    case_ok(c);
    assert_shape(c->out[0], 2, D(2, 3));
    assert_f32(c->out[0], F(1, 1, 2, 3, 3, 4), 6, 0);
  }
  {
    /* crop 1 at the front, reflect-pad 2 at the back of the cropped [2,3,4] */
    g_autoptr(GError) err = NULL;
    g_autoptr(MscTensor) y = pad_run_1d("reflect", 11, F(1, 2, 3, 4), 4, -1, 2, &err);
    g_assert_no_error(err);
    assert_f32(y, F(2, 3, 4, 3, 2), 5, 0);
  }
}

static void
test_pad_long_rows(void)
{
  g_test_summary("Pad constant on [2,3,4,20] (long rows: block copies of the row runs), cropped and uint8 rows: "
                 "every element against the definition");
  const int64_t H = 4, W = 20, P = 6;
  float *x = g_new(float, P * H * W);
  for (int64_t i = 0; i < P * H * W; i++)
    x[i] = (float)i;
  /* pads (begin H, W; end H, W) = (1, 5; 2, 3), value 7; and (0, -2; 1, -4): crops 2 and 4 columns */
  static const int64_t pads[2][4] = {{1, 5, 2, 3}, {0, -2, 1, -4}};
  for (int k = 0; k < 2; k++) {
    const int64_t *pd = pads[k], OH = H + pd[0] + pd[2], OW = W + pd[1] + pd[3];
    float v = 7;
    g_autoptr(Case) c = case_new("Pad", 11, 1);
    case_in(c, 0, mk_f32(4, D(2, 3, H, W), x));
    case_in(c, 1, mk_list(8, L(0, 0, pd[0], pd[1], 0, 0, pd[2], pd[3])));
    case_in(c, 2, mk_f32(0, NULL, &v));
    case_ok(c);
    assert_shape(c->out[0], 4, D(2, 3, OH, OW));
    const float *y = c->out[0]->data;
    for (int64_t p = 0; p < P; p++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          int64_t ih = oh - pd[0], iw = ow - pd[1];
          float want = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[(p * H + ih) * W + iw] : 7.0f;
          g_assert_cmpfloat(y[(p * OH + oh) * OW + ow], ==, want);
        }
  }
  g_free(x);
  {
    /* uint8 rows of 40: the one-byte copies */
    uint8_t xb[40];
    for (int i = 0; i < 40; i++)
      xb[i] = (uint8_t)(i + 1);
    g_autoptr(Case) c = case_new("Pad", 11, 1);
    case_in(c, 0, mk(MSC_DTYPE_UINT8, 2, D(1, 40), xb));
    case_in(c, 1, mk_list(4, L(0, 3, 0, 9)));
    case_ok(c);
    const uint8_t *y = c->out[0]->data;
    for (int i = 0; i < 52; i++)
      g_assert_cmpint(y[i], ==, i < 3 || i >= 43 ? 0 : i - 2);
  }
}

static void
test_pad_errors(void)
{
  g_test_summary("Pad refuses crops below zero, wrong pads length, an unknown mode and huge pads");
  g_autoptr(GError) e1 = NULL, e3 = NULL;
  g_autoptr(MscTensor) y1 = pad_run_1d("constant", 11, F(1, 2), 2, -2, -1, &e1);
  assert_error(e1, MSC_ERR_INVALID_ARG, "below zero");
  g_autoptr(MscTensor) y3 = pad_run_1d("mirror", 11, F(1, 2), 2, 1, 1, &e3);
  assert_error(e3, MSC_ERR_INVALID_ARG, "mirror");
  {
    g_autoptr(Case) c = case_new("Pad", 11, 1);
    case_in(c, 0, mk_f32(2, D(1, 2), F(1, 2)));
    case_in(c, 1, mk_list(2, L(1, 1)));
    case_fails(c, MSC_ERR_INVALID_ARG, "pads has 2 entries");
  }
  {
    g_autoptr(Case) c = case_new("Pad", 11, 1);
    case_in(c, 0, mk_f32(2, D(1, 2), F(1, 2)));
    case_in(c, 1, mk_list(4, L(0, 1LL << 40, 0, 1LL << 40)));
    case_fails(c, MSC_ERR_INVALID_ARG, "too large");
  }
  {
    g_autoptr(Case) c = case_new("Pad", 11, 1);
    case_in(c, 0, mk_f32(1, D(2), F(1, 2)));
    case_in(c, 1, mk_list(2, L(INT64_MAX, 0)));
    case_fails(c, MSC_ERR_INVALID_ARG, NULL);
  }
  {
    /* edge padding of an empty axis has nothing to copy */
    g_autoptr(Case) c = case_new("Pad", 11, 1);
    attr_string(c, "mode", "edge");
    case_in(c, 0, mk_f32(1, D(0), NULL));
    case_in(c, 1, mk_list(2, L(1, 0)));
    case_fails(c, MSC_ERR_INVALID_ARG, "no elements");
  }
}

/* ---- Resize / Upsample --------------------------------------------------- */

/* Resize-13 of a 1-D float tensor with scales or sizes. */
static Case *
resize_1d(const float *x, int64_t n, double scale, int64_t size, const char *mode, const char *coord)
{
  Case *c = case_new("Resize", 13, 1);
  attr_string(c, "mode", mode);
  if (coord)
    attr_string(c, "coordinate_transformation_mode", coord);
  case_in(c, 0, mk_f32(1, &n, x));
  case_in(c, 1, NULL);
  if (size > 0) {
    case_in(c, 2, NULL);
    case_in(c, 3, mk_list(1, &size));
  } else {
    float s = (float)scale;
    case_in(c, 2, mk_f32(1, D(1), &s));
  }
  return c;
}

static void
test_resize_linear_half_pixel(void)
{
  g_test_summary("Resize linear half_pixel [1,3] x2: x=(o+.5)/2-.5 -> -.25,.25,.75,1.25 clamp -> 1,1.5,2.5,3");
  g_autoptr(Case) c = resize_1d(F(1, 3), 2, 2.0, 0, "linear", NULL);
  case_ok(c);
  assert_f32(c->out[0], F(1, 1.5f, 2.5f, 3), 4, 1e-6);

  /* align_corners to 3: x = o*(2-1)/(3-1) -> 1, 2, 3 */
  g_autoptr(Case) c2 = resize_1d(F(1, 3), 2, 0, 3, "linear", "align_corners");
  case_ok(c2);
  assert_f32(c2->out[0], F(1, 2, 3), 3, 1e-6);

  /* 2-D bilinear [2,2] -> [4,4] half_pixel, separable: rows 1,1.5,2.5,3 style */
  g_autoptr(Case) c3 = case_new("Resize", 13, 1);
  attr_string(c3, "mode", "linear");
  case_in(c3, 0, mk_f32(4, D(1, 1, 2, 2), F(1, 2, 3, 4)));
  case_in(c3, 1, NULL);
  case_in(c3, 2, mk_f32(1, D(4), F(1, 1, 2, 2)));
  case_ok(c3);
  static const float exp[16] = {1,   1.25f, 1.75f, 2,   1.5f, 1.75f, 2.25f, 2.5f,
                                2.5f, 2.75f, 3.25f, 3.5f, 3,    3.25f, 3.75f, 4};
  assert_shape(c3->out[0], 4, D(1, 1, 4, 4));
  assert_f32(c3->out[0], exp, 16, 1e-6);
}

static void
test_resize_cubic(void)
{
  g_test_summary("Resize cubic A=-0.75 x2 on 0,1,2,3: output 3 at x=1.25 is 1.296875; exclude_outside renormalizes");
  /* t = .25: weights -0.10546875, 0.87890625, 0.26171875, -0.03515625 on
   * inputs 0..3 -> 0.87890625 + 2*0.26171875 - 3*0.03515625 = 1.296875 */
  g_autoptr(Case) c = resize_1d(F(0, 1, 2, 3), 4, 2.0, 0, "cubic", NULL);
  case_ok(c);
  assert_shape(c->out[0], 1, D(8));
  g_assert_cmpfloat_with_epsilon(((float *)c->out[0]->data)[3], 1.296875, 1e-6);

  /* output 0: x = -.25, taps -2..1 with t = .75; exclude_outside keeps taps
   * 0 and 1 (weights 0.87890625, -0.10546875), so y = -0.10546875/0.7734375 */
  g_autoptr(Case) c2 = resize_1d(F(0, 1, 2, 3), 4, 2.0, 0, "cubic", NULL);
  attr_int(c2, "exclude_outside", 1);
  case_ok(c2);
  g_assert_cmpfloat_with_epsilon(((float *)c2->out[0]->data)[0], -27.0 / 198.0, 1e-6);
}

static void
test_resize_nearest_modes(void)
{
  g_test_summary("Resize nearest_mode at x = .5 and 1.5 (asymmetric x2 of 10,20,30)");
  static const struct {
    const char *mode;
    float exp[6];
  } cases[] = {
    {"round_prefer_floor", {10, 10, 20, 20, 30, 30}},
    {"round_prefer_ceil", {10, 20, 20, 30, 30, 30}},
    {"floor", {10, 10, 20, 20, 30, 30}},
    {"ceil", {10, 20, 20, 30, 30, 30}},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(Case) c = resize_1d(F(10, 20, 30), 3, 2.0, 0, "nearest", "asymmetric");
    attr_string(c, "nearest_mode", cases[i].mode);
    case_ok(c);
    assert_f32(c->out[0], cases[i].exp, 6, 0);
  }
}

/* The separable linear half_pixel resize as the ONNX reference defines it, in float in the reference's
 * order (last axis first; per output 0, then + w * x per nonzero tap, the tap left of an integer
 * coordinate with t = 1, taps clamped to the edge): an oracle independent of ops/resize.c. */
static void
linear_taps(int64_t o, int64_t in, double scale, int64_t i[2], float w[2])
{
  double x = ((double)o + 0.5) / scale - 0.5, f = floor(x), t = x - f;
  int64_t base = (int64_t)f;
  if (t == 0.0) {
    base -= 1;
    t = 1.0;
  }
  i[0] = base < 0 ? 0 : base >= in ? in - 1 : base;
  i[1] = base + 1 < 0 ? 0 : base + 1 >= in ? in - 1 : base + 1;
  w[0] = (float)(1.0 - t);
  w[1] = (float)t;
}

/* Output @o of one axis (input @in, output @out, elements @stride apart from @s): an identity axis is
 * skipped, else 0 + w * x per nonzero tap. */
static float
linear_at(const float *s, int64_t stride, int64_t o, int64_t in, int64_t out, double scale)
{
  if (in == out && scale == 1.0)
    return s[o * stride];
  int64_t i[2];
  float w[2], v = 0.0f;
  linear_taps(o, in, scale, i, w);
  for (int t = 0; t < 2; t++)
    if (w[t] != 0.0f)
      v += w[t] * s[i[t] * stride];
  return v;
}

static void
test_resize_planes_bits(void)
{
  g_test_summary("Resize linear half_pixel on [2,3,H,W] (the plane-by-plane path): every output bit equals the "
                 "separable reference computed in the test, up- and downscaling, with zero-weight taps");
  static const struct {
    int64_t H, W;
    float sh, sw;
  } cases[] = {{5, 7, 2.0f, 1.5f}, {9, 8, 0.5f, 0.75f}, {4, 6, 3.0f, 1.0f}, {6, 4, 1.0f, 3.0f}};
  for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
    const int64_t H = cases[k].H, W = cases[k].W, P = 6;
    const int64_t OH = (int64_t)floor((double)H * cases[k].sh), OW = (int64_t)floor((double)W * cases[k].sw);
    float *x = g_new(float, P * H * W);
    for (int64_t i = 0; i < P * H * W; i++)
      x[i] = (float)((i * 7919) % 1000 - 500) / 37.0f; /* mixed signs, not exact in binary */
    g_autoptr(Case) c = case_new("Resize", 13, 1);
    attr_string(c, "mode", "linear");
    case_in(c, 0, mk_f32(4, D(2, 3, H, W), x));
    case_in(c, 1, NULL);
    case_in(c, 2, mk_f32(1, D(4), F(1, 1, cases[k].sh, cases[k].sw)));
    case_ok(c);
    assert_shape(c->out[0], 4, D(2, 3, OH, OW));
    const float *y = c->out[0]->data;
    float *tmp = g_new(float, H * OW);
    for (int64_t p = 0; p < P; p++) {
      const float *xp = x + p * H * W;
      for (int64_t h = 0; h < H; h++)
        for (int64_t o = 0; o < OW; o++)
          tmp[h * OW + o] = linear_at(xp + h * W, 1, o, W, OW, cases[k].sw);
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t o = 0; o < OW; o++) {
          const float v = linear_at(tmp + o, OW, oh, H, OH, cases[k].sh);
          const float got = y[(p * OH + oh) * OW + o];
          if (memcmp(&got, &v, sizeof v))
            g_error("case %zu plane %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "): %.9g, want %.9g",
                    k, p, oh, o, got, v);
        }
    }
    g_free(tmp);
    g_free(x);
  }
}

static void
test_resize_tf_crop_and_resize(void)
{
  g_test_summary("Resize tf_crop_and_resize roi [.5,1.5] on 1,2,3,4 to 3: x = 1.5, 3, 4.5 -> 2.5, 4, extrapolation");
  for (int nearest = 0; nearest < 2; nearest++) {
    g_autoptr(Case) c = case_new("Resize", 13, 1);
    attr_string(c, "mode", nearest ? "nearest" : "linear");
    attr_string(c, "coordinate_transformation_mode", "tf_crop_and_resize");
    attr_float(c, "extrapolation_value", 10);
    case_in(c, 0, mk_f32(1, D(4), F(1, 2, 3, 4)));
    case_in(c, 1, mk_f32(1, D(2), F(0.5f, 1.5f)));
    case_in(c, 2, NULL);
    case_in(c, 3, mk_list(1, L(3)));
    case_ok(c);
    /* nearest: x = 1.5 rounds (prefer floor) to 1 -> 2 */
    if (nearest)
      assert_f32(c->out[0], F(2, 4, 10), 3, 1e-6);
    else
      assert_f32(c->out[0], F(2.5f, 4, 10), 3, 1e-6);
  }
}

static void
test_resize_types_and_policies(void)
{
  g_test_summary("Resize nearest on int8, float16 linear, keep_aspect_ratio_policy, linear on int8 refused");
  {
    static const int8_t x[2] = {-5, 7};
    g_autoptr(Case) c = case_new("Resize", 13, 1);
    case_in(c, 0, mk(MSC_DTYPE_INT8, 1, D(2), x));
    case_in(c, 1, NULL);
    case_in(c, 2, mk_f32(1, D(1), F(2)));
    case_ok(c);
    g_assert_cmpint(c->out[0]->dtype, ==, MSC_DTYPE_INT8);
    assert_i64(c->out[0], L(-5, -5, 7, 7), 4);
  }
  {
    uint16_t h[2] = {msc_f32_to_f16(1.0f), msc_f32_to_f16(3.0f)};
    g_autoptr(Case) c = case_new("Resize", 13, 1);
    attr_string(c, "mode", "linear");
    case_in(c, 0, mk(MSC_DTYPE_FLOAT16, 1, D(2), h));
    case_in(c, 1, NULL);
    case_in(c, 2, mk_f32(1, D(1), F(2)));
    case_ok(c);
    g_assert_cmpint(c->out[0]->dtype, ==, MSC_DTYPE_FLOAT16);
    g_assert_cmpfloat(msc_f16_to_f32(((uint16_t *)c->out[0]->data)[1]), ==, 1.5f);
  }
  {
    /* not_larger: scale = min(4/4, 4/8) = .5 on both axes -> [2,4] */
    g_autoptr(Case) c = case_new("Resize", 18, 1);
    attr_string(c, "keep_aspect_ratio_policy", "not_larger");
    case_in(c, 0, mk_iota(2, D(4, 8)));
    case_in(c, 1, NULL);
    case_in(c, 2, NULL);
    case_in(c, 3, mk_list(2, L(4, 4)));
    case_ok(c);
    assert_shape(c->out[0], 2, D(2, 4));
  }
  {
    /* axes (18): sizes for the last axis only */
    g_autoptr(Case) c = case_new("Resize", 18, 1);
    attr_ints(c, "axes", 1, L(-1));
    case_in(c, 0, mk_iota(2, D(2, 2)));
    case_in(c, 1, NULL);
    case_in(c, 2, NULL);
    case_in(c, 3, mk_list(1, L(4)));
    case_ok(c);
    assert_shape(c->out[0], 2, D(2, 4));
    assert_f32(c->out[0], F(0, 0, 1, 1, 2, 2, 3, 3), 8, 0);
  }
  {
    static const int8_t x[2] = {1, 2};
    g_autoptr(Case) c = case_new("Resize", 13, 1);
    attr_string(c, "mode", "linear");
    case_in(c, 0, mk(MSC_DTYPE_INT8, 1, D(2), x));
    case_in(c, 1, NULL);
    case_in(c, 2, mk_f32(1, D(1), F(2)));
    case_fails(c, MSC_ERR_UNSUPPORTED, "int8");
  }
}

static void
test_resize_errors(void)
{
  g_test_summary("Resize refuses antialias downscaling, scales with sizes, bad modes and huge sizes");
  {
    g_autoptr(Case) c = case_new("Resize", 18, 1);
    attr_string(c, "mode", "linear");
    attr_int(c, "antialias", 1);
    case_in(c, 0, mk_iota(1, D(4)));
    case_in(c, 1, NULL);
    case_in(c, 2, mk_f32(1, D(1), F(0.5f)));
    case_fails(c, MSC_ERR_UNSUPPORTED, "antialias");
  }
  {
    /* antialias with upscaling is plain linear */
    g_autoptr(Case) c = case_new("Resize", 18, 1);
    attr_string(c, "mode", "linear");
    attr_int(c, "antialias", 1);
    case_in(c, 0, mk_f32(1, D(2), F(1, 3)));
    case_in(c, 1, NULL);
    case_in(c, 2, mk_f32(1, D(1), F(2)));
    case_ok(c);
    assert_f32(c->out[0], F(1, 1.5f, 2.5f, 3), 4, 1e-6);
  }
  {
    g_autoptr(Case) c = case_new("Resize", 13, 1);
    case_in(c, 0, mk_iota(1, D(4)));
    case_in(c, 1, NULL);
    case_in(c, 2, mk_f32(1, D(1), F(2)));
    case_in(c, 3, mk_list(1, L(8)));
    case_fails(c, MSC_ERR_INVALID_ARG, "only one");
  }
  {
    g_autoptr(Case) c = resize_1d(F(1, 2), 2, 2.0, 0, "bicubic", NULL);
    case_fails(c, MSC_ERR_INVALID_ARG, "bicubic");
  }
  {
    g_autoptr(Case) c = resize_1d(F(1, 2), 2, 2.0, 0, "linear", "half_pixel_symmetric");
    case_fails(c, MSC_ERR_INVALID_ARG, "half_pixel_symmetric");
  }
  {
    g_autoptr(Case) c = resize_1d(F(1, 2), 2, 0, 1LL << 40, "nearest", NULL);
    case_fails(c, MSC_ERR_INVALID_ARG, "too large");
  }
  {
    g_autoptr(Case) c = resize_1d(F(1, 2), 2, -1.0, 0, "nearest", NULL);
    case_fails(c, MSC_ERR_INVALID_ARG, "positive");
  }
}

static void
test_upsample_forms(void)
{
  g_test_summary("Upsample-9 scales input, Upsample-7 attribute, Resize-10 downsample ceil rule, scale < 1 refused");
  {
    g_autoptr(Case) c = case_new("Upsample", 9, 1);
    case_in(c, 0, mk_f32(4, D(1, 1, 2, 2), F(1, 2, 3, 4)));
    case_in(c, 1, mk_f32(1, D(4), F(1, 1, 2, 3)));
    case_ok(c);
    static const float exp[24] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
    assert_shape(c->out[0], 4, D(1, 1, 4, 6));
    assert_f32(c->out[0], exp, 24, 0);
  }
  {
    /* linear asymmetric x2: x = o/2 -> 1, 2, 3, 3 */
    g_autoptr(Case) c = case_new("Upsample", 7, 1);
    attr_string(c, "mode", "linear");
    attr_floats(c, "scales", 1, F(2));
    case_in(c, 0, mk_f32(1, D(2), F(1, 3)));
    case_ok(c);
    assert_f32(c->out[0], F(1, 2, 3, 3), 4, 1e-6);
  }
  {
    /* Resize-10 nearest x0.5 on 0..3: out 2, x = o/.5 = 0, 2 -> ceil keeps 0, 2 */
    g_autoptr(Case) c = case_new("Resize", 10, 1);
    case_in(c, 0, mk_iota(1, D(4)));
    case_in(c, 1, mk_f32(1, D(1), F(0.5f)));
    case_ok(c);
    assert_f32(c->out[0], F(0, 2), 2, 0);
  }
  {
    g_autoptr(Case) c = case_new("Upsample", 9, 1);
    case_in(c, 0, mk_f32(1, D(2), F(1, 2)));
    case_in(c, 1, mk_f32(1, D(1), F(0.5f)));
    case_fails(c, MSC_ERR_INVALID_ARG, ">= 1");
  }
}

/* ---- static inference ---------------------------------------------------- */

static MscValue *
graph_input(MscGraph *g, const char *name, MscDType dt, int32_t rank, const int64_t *dims)
{
  MscValue *v = msc_graph_get_or_add_value(g, name);
  v->dtype = dt;
  v->rank = rank;
  for (int32_t k = 0; k < rank; k++)
    v->dims[k] = dims[k];
  msc_graph_add_input(g, v);
  return v;
}

static MscNode *
graph_node(MscGraph *g, const char *op, MscValue **ins, uint32_t n_in, const char *out)
{
  MscNode *n = msc_graph_add_node(g, out, op, "", 13);
  MscValue *o = msc_graph_get_or_add_value(g, out);
  msc_node_set_io(n, ins, n_in, &o, 1);
  return n;
}

static void
test_static_infer_shapes(void)
{
  g_test_summary("Static inference: Shape folds into Reshape; unknown shape inputs give -1 dims with the right rank");
  g_autoptr(MscGraph) g = msc_graph_new("s");
  g_autoptr(GError) err = NULL;
  msc_graph_set_opset(g, "", 13);
  MscValue *x = graph_input(g, "x", MSC_DTYPE_FLOAT32, 3, D(2, 3, 4));
  MscValue *z = graph_input(g, "z", MSC_DTYPE_FLOAT32, 1, D(12));
  MscValue *sh = graph_input(g, "sh", MSC_DTYPE_INT64, 1, D(3));
  MscValue *u = graph_input(g, "u", MSC_DTYPE_FLOAT32, 2, D(-1, 1));
  MscNode *s = graph_node(g, "Shape", &x, 1, "s");
  MscValue *one = msc_graph_add_initializer(g, "one", mk_list(1, L(1)));
  MscValue *big = msc_graph_add_initializer(g, "big", mk_list(1, L(INT64_MAX)));
  MscValue *sl_in[3] = {s->outputs[0], one, big};
  MscNode *sl = graph_node(g, "Slice", sl_in, 3, "tail");
  MscValue *r_in[2] = {z, sl->outputs[0]};
  MscNode *r = graph_node(g, "Reshape", r_in, 2, "r");
  MscValue *r2_in[2] = {z, sh};
  MscNode *r2 = graph_node(g, "Reshape", r2_in, 2, "r2");
  MscValue *e_in[2] = {x, sh};
  MscNode *e = graph_node(g, "Expand", e_in, 2, "e");
  MscNode *q = graph_node(g, "Squeeze", &u, 1, "q");
  MscValue *sc = graph_input(g, "sc", MSC_DTYPE_FLOAT32, 1, D(-1));
  MscValue *rs_in[3] = {x, NULL, sc};
  MscNode *rs = graph_node(g, "Resize", rs_in, 3, "rs");
  msc_graph_add_output(g, r->outputs[0]);
  msc_graph_add_output(g, r2->outputs[0]);
  msc_graph_add_output(g, e->outputs[0]);
  msc_graph_add_output(g, q->outputs[0]);
  msc_graph_add_output(g, rs->outputs[0]);
  g_assert_true(msc_graph_verify(g, &err));
  g_assert_no_error(err);

  /* Shape -> Slice folded to [3,4], Reshape dims known */
  g_assert_nonnull(sl->outputs[0]->value);
  assert_i64(sl->outputs[0]->value, L(3, 4), 2);
  MscValue *rv = r->outputs[0];
  assert_shape(&(MscTensor){.rank = rv->rank, .dims = {rv->dims[0], rv->dims[1]}}, 2, D(3, 4));
  /* shape input not constant: rank 3 from its length, dims unknown */
  g_assert_cmpint(r2->outputs[0]->rank, ==, 3);
  g_assert_cmpint(r2->outputs[0]->dims[0], ==, -1);
  /* Expand with an unknown shape of length 3: input dims > 1 survive */
  MscValue *ev = e->outputs[0];
  g_assert_cmpint(ev->rank, ==, 3);
  g_assert_cmpint(ev->dims[0], ==, 2);
  g_assert_cmpint(ev->dims[1], ==, 3);
  g_assert_cmpint(ev->dims[2], ==, 4);
  /* Squeeze without axes over an unknown dim: rank unknown */
  g_assert_cmpint(q->outputs[0]->rank, ==, -1);
  /* Resize with scales of unknown value and length: rank kept, dims unknown */
  g_assert_cmpint(rs->outputs[0]->rank, ==, 3);
  g_assert_cmpint(rs->outputs[0]->dims[2], ==, -1);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ops/reshape/minus-one-inferred", test_reshape_minus_one_inferred);
  g_test_add_func("/ops/reshape/zero-copies-dim", test_reshape_zero_copies_dim);
  g_test_add_func("/ops/reshape/allowzero", test_reshape_allowzero);
  g_test_add_func("/ops/reshape/opset1-attribute", test_reshape_opset1_attribute);
  g_test_add_func("/ops/reshape/count-mismatch-names-shapes", test_reshape_count_mismatch);
  g_test_add_func("/ops/flatten/axes", test_flatten_axes);
  g_test_add_func("/ops/squeeze/forms", test_squeeze_forms);
  g_test_add_func("/ops/unsqueeze/forms", test_unsqueeze_forms);
  g_test_add_func("/ops/shape/start-end", test_shape_start_end);
  g_test_add_func("/ops/size-identity/basic", test_size_identity);
  g_test_add_func("/ops/dropout/inference", test_dropout_inference);
  g_test_add_func("/ops/dropout/training-mode", test_dropout_training_mode);
  g_test_add_func("/ops/expand/bidirectional", test_expand_bidirectional);
  g_test_add_func("/ops/expand/errors", test_expand_errors);
  g_test_add_func("/ops/tile/forms", test_tile_forms);
  g_test_add_func("/ops/constant/forms", test_constant_forms);
  g_test_add_func("/ops/constant-of-shape/forms", test_constant_of_shape);
  g_test_add_func("/ops/transpose/perms", test_transpose_perms);
  g_test_add_func("/ops/transpose/bad-perm", test_transpose_bad_perm);
  g_test_add_func("/ops/concat/axes", test_concat_axes);
  g_test_add_func("/ops/split/forms", test_split_forms);
  g_test_add_func("/ops/split/errors", test_split_errors);
  g_test_add_func("/ops/slice/negative-steps", test_slice_negative_steps);
  g_test_add_func("/ops/slice/clamping", test_slice_clamping);
  g_test_add_func("/ops/slice/errors", test_slice_errors);
  g_test_add_func("/ops/gather/indices", test_gather_indices);
  g_test_add_func("/ops/pad/modes-1d", test_pad_modes);
  g_test_add_func("/ops/pad/forms", test_pad_forms);
  g_test_add_func("/ops/pad/errors", test_pad_errors);
  g_test_add_func("/ops/pad/long-rows", test_pad_long_rows);
  g_test_add_func("/ops/resize/linear-half-pixel", test_resize_linear_half_pixel);
  g_test_add_func("/ops/resize/cubic", test_resize_cubic);
  g_test_add_func("/ops/resize/nearest-modes", test_resize_nearest_modes);
  g_test_add_func("/ops/resize/tf-crop-and-resize", test_resize_tf_crop_and_resize);
  g_test_add_func("/ops/resize/planes-bits", test_resize_planes_bits);
  g_test_add_func("/ops/resize/types-and-policies", test_resize_types_and_policies);
  g_test_add_func("/ops/resize/errors", test_resize_errors);
  g_test_add_func("/ops/upsample/forms", test_upsample_forms);
  g_test_add_func("/ops/static-infer/shapes", test_static_infer_shapes);
  return g_test_run();
}
