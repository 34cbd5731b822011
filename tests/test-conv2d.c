/* test-conv2d.c: Conv, ConvTranspose, ConvInteger, QLinearConv against naive
 * references. A tester struct with defaults (XNNPACK's ConvolutionOperatorTester
 * in C) builds one node, runs it through msc_node_execute and compares with
 * a direct 7-loop reference that resolves auto_pad on its own. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "op-tester.h"
#include "ops.h"
#include "tensor.h"

#define MAXSP 3

/* ---- node building (shared helpers in op-tester.h) ---------------------- */

/* One node with @n_in inputs (named in0.., @present: NULL = all) and one
 * output "y". */
static MscNode *
make_node(MscGraph *g, const char *op_type, int64_t opset, uint32_t n_in, const gboolean *present)
{
  uint32_t absent = 0;
  for (uint32_t i = 0; present && i < n_in; i++)
    if (!present[i])
      absent |= 1u << i;
  return ot_make_node(g, "n0", op_type, opset, n_in, absent, 1, 0, "y");
}

/* Resolves SAME/VALID/explicit pads and the output size of one dim, on its
 * own (not through pad-utils) so the helpers get checked too. */
static void
ref_resolve(const char *auto_pad, int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, int64_t *rpb,
            int64_t *rout)
{
  int64_t dk = (k - 1) * d + 1;
  if (auto_pad && (!strcmp(auto_pad, "SAME_UPPER") || !strcmp(auto_pad, "SAME_LOWER"))) {
    int64_t out = (in + s - 1) / s;
    int64_t total = MAX(0, (out - 1) * s + dk - in);
    *rpb = !strcmp(auto_pad, "SAME_UPPER") ? total / 2 : total - total / 2;
    *rout = out;
    return;
  }
  if (auto_pad && !strcmp(auto_pad, "VALID"))
    pb = pe = 0;
  *rpb = pb;
  *rout = (in + pb + pe - dk) / s + 1;
}

/* ---- Conv tester ---------------------------------------------------------- */

typedef struct {
  int nsp;
  int64_t N, C, M, group;
  int64_t in[MAXSP], kernel[MAXSP], stride[MAXSP], dilation[MAXSP], pads[2 * MAXSP];
  const char *auto_pad; /* NULL: attribute absent */
  gboolean has_bias, set_strides, set_dilations, set_pads, set_kernel_shape;
  MscDType dtype;
  int64_t opset;
  guint32 seed;
  int64_t expect_out[MAXSP]; /* checked when [0] > 0 */
} ConvTester;

static ConvTester
conv_tester(int nsp)
{
  ConvTester t = {0};
  t.nsp = nsp;
  t.N = 1;
  t.C = 4;
  t.M = 8;
  t.group = 1;
  for (int d = 0; d < MAXSP; d++) {
    t.in[d] = 9;
    t.kernel[d] = 3;
    t.stride[d] = 1;
    t.dilation[d] = 1;
  }
  t.has_bias = TRUE;
  t.set_strides = t.set_dilations = t.set_pads = t.set_kernel_shape = TRUE;
  t.dtype = MSC_DTYPE_FLOAT32;
  t.opset = 11;
  t.seed = 42;
  return t;
}

typedef struct {
  MscGraph *g;
  MscNode *node;
  MscTensor *x, *w, *b;
} ConvCase;

static void
conv_case_build(const ConvTester *t, ConvCase *c)
{
  GRand *r = g_rand_new_with_seed(t->seed);
  int64_t xd[MAXSP + 2] = {t->N, t->C}, wd[MAXSP + 2] = {t->M, t->group > 0 ? t->C / t->group : t->C};
  for (int d = 0; d < t->nsp; d++) {
    xd[2 + d] = t->in[d];
    wd[2 + d] = t->kernel[d];
  }
  c->x = msc_tensor_new(t->dtype, t->nsp + 2, xd, NULL);
  c->w = msc_tensor_new(t->dtype, t->nsp + 2, wd, NULL);
  int64_t bd = t->M;
  c->b = t->has_bias ? msc_tensor_new(t->dtype, 1, &bd, NULL) : NULL;
  ot_fill_random(c->x, r, -1, 1);
  ot_fill_random(c->w, r, -1, 1);
  if (c->b)
    ot_fill_random(c->b, r, -1, 1);
  g_rand_free(r);

  c->g = msc_graph_new("conv");
  gboolean present[3] = {TRUE, TRUE, t->has_bias};
  c->node = make_node(c->g, "Conv", t->opset, t->has_bias ? 3 : 2, present);
  if (t->group != 1)
    add_attr_int(c->node, "group", t->group);
  if (t->set_kernel_shape)
    add_attr_ints(c->node, "kernel_shape", t->kernel, t->nsp);
  if (t->set_strides)
    add_attr_ints(c->node, "strides", t->stride, t->nsp);
  if (t->set_dilations)
    add_attr_ints(c->node, "dilations", t->dilation, t->nsp);
  if (t->set_pads)
    add_attr_ints(c->node, "pads", t->pads, 2 * t->nsp);
  if (t->auto_pad)
    add_attr_string(c->node, "auto_pad", t->auto_pad);
}

static void
conv_case_clear(ConvCase *c)
{
  msc_tensor_free(c->x);
  msc_tensor_free(c->w);
  msc_tensor_free(c->b);
  msc_graph_free(c->g);
}

/* Naive N-D reference in double over a 3-D view (missing dims size 1). */
static double *
conv_reference(const ConvTester *t, const ConvCase *c, int64_t *out)
{
  int64_t in[MAXSP], k[MAXSP], s[MAXSP], dl[MAXSP], pb[MAXSP];
  for (int d = 0; d < MAXSP; d++) {
    if (d < t->nsp) {
      in[d] = t->in[d];
      k[d] = t->kernel[d];
      s[d] = t->stride[d];
      dl[d] = t->dilation[d];
      ref_resolve(t->auto_pad, in[d], k[d], s[d], dl[d], t->pads[d], t->pads[t->nsp + d], &pb[d], &out[d]);
    } else {
      in[d] = k[d] = s[d] = dl[d] = out[d] = 1;
      pb[d] = 0;
    }
  }
  int64_t Cg = t->C / t->group, Mg = t->M / t->group;
  int64_t P = out[0] * out[1] * out[2], S = in[0] * in[1] * in[2], KS = k[0] * k[1] * k[2];
  double *y = g_new0(double, t->N * t->M * P);
  for (int64_t n = 0; n < t->N; n++)
    for (int64_t m = 0; m < t->M; m++) {
      int64_t gi = m / Mg;
      for (int64_t o0 = 0; o0 < out[0]; o0++)
        for (int64_t o1 = 0; o1 < out[1]; o1++)
          for (int64_t o2 = 0; o2 < out[2]; o2++) {
            double acc = c->b ? msc_tensor_get_f64(c->b, m) : 0.0;
            for (int64_t ci = 0; ci < Cg; ci++)
              for (int64_t k0 = 0; k0 < k[0]; k0++)
                for (int64_t k1 = 0; k1 < k[1]; k1++)
                  for (int64_t k2 = 0; k2 < k[2]; k2++) {
                    int64_t i0 = o0 * s[0] - pb[0] + k0 * dl[0];
                    int64_t i1 = o1 * s[1] - pb[1] + k1 * dl[1];
                    int64_t i2 = o2 * s[2] - pb[2] + k2 * dl[2];
                    if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2])
                      continue;
                    int64_t xi = ((n * t->C + gi * Cg + ci) * S) + (i0 * in[1] + i1) * in[2] + i2;
                    int64_t wi = (m * Cg + ci) * KS + (k0 * k[1] + k1) * k[2] + k2;
                    acc += msc_tensor_get_f64(c->x, xi) * msc_tensor_get_f64(c->w, wi);
                  }
            y[(n * t->M + m) * P + (o0 * out[1] + o1) * out[2] + o2] = acc;
          }
    }
  return y;
}

static void
conv_tester_test(const ConvTester *t)
{
  ConvCase c;
  conv_case_build(t, &c);
  const MscTensor *ins[3] = {c.x, c.w, c.b};
  GError *err = NULL;
  MscTensor *y = ot_execute1(c.g, c.node, ins, &err);
  g_assert_no_error(err);
  g_assert_nonnull(y);

  int64_t out[MAXSP];
  double *ref = conv_reference(t, &c, out);
  g_assert_cmpint(y->rank, ==, t->nsp + 2);
  g_assert_cmpint(y->dtype, ==, t->dtype);
  g_assert_cmpint(y->dims[0], ==, t->N);
  g_assert_cmpint(y->dims[1], ==, t->M);
  for (int d = 0; d < t->nsp; d++) {
    g_assert_cmpint(y->dims[2 + d], ==, out[d]);
    if (t->expect_out[0] > 0)
      g_assert_cmpint(y->dims[2 + d], ==, t->expect_out[d]);
  }
  int64_t n = msc_tensor_numel(y);
  double tol = t->dtype == MSC_DTYPE_FLOAT16 ? 2e-2 : 1e-4;
  /* worst error and where, for a useful failure message */
  double worst = 0;
  int64_t worst_i = 0;
  for (int64_t i = 0; i < n; i++) {
    double e = fabs(msc_tensor_get_f64(y, i) - ref[i]) / (1.0 + fabs(ref[i]));
    if (e > worst) {
      worst = e;
      worst_i = i;
    }
  }
  if (worst > tol)
    g_test_message("worst error %g at %" G_GINT64_FORMAT ": got %g want %g", worst, worst_i,
                   msc_tensor_get_f64(y, worst_i), ref[worst_i]);
  g_assert_cmpfloat(worst, <=, tol);
  g_free(ref);
  msc_tensor_free(y);
  conv_case_clear(&c);
}

/* Runs and expects failure with @code and @needle in the message. */
static void
conv_tester_expect_error(const ConvTester *t, MscStatus code, const char *needle)
{
  ConvCase c;
  conv_case_build(t, &c);
  const MscTensor *ins[3] = {c.x, c.w, c.b};
  GError *err = NULL;
  MscTensor *y = ot_execute1(c.g, c.node, ins, &err);
  g_assert_null(y);
  ot_assert_error(err, code, needle);
  g_assert_nonnull(strstr(err->message, "node 'n0' (Conv)"));
  g_clear_error(&err);
  conv_case_clear(&c);
}

/* ---- Conv cases ------------------------------------------------------------ */

static void
test_conv2d_3x3(void)
{
  g_test_summary("2-D 3x3 stride 1 no padding with bias, 9x9 -> 7x7");
  ConvTester t = conv_tester(2);
  t.expect_out[0] = t.expect_out[1] = 7;
  conv_tester_test(&t);
}

static void
test_conv2d_hand_computed(void)
{
  g_test_summary("ONNX doc example: 5x5 ramp, 3x3 ones, pads 1 -> known 5x5 sums");
  g_autoptr(MscGraph) g = msc_graph_new("conv");
  MscNode *n = make_node(g, "Conv", 11, 2, NULL);
  int64_t k[2] = {3, 3}, pads[4] = {1, 1, 1, 1};
  add_attr_ints(n, "kernel_shape", k, 2);
  add_attr_ints(n, "pads", pads, 4);
  int64_t xd[4] = {1, 1, 5, 5}, wd[4] = {1, 1, 3, 3};
  g_autoptr(MscTensor) x = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, xd, NULL);
  g_autoptr(MscTensor) w = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, wd, NULL);
  for (int i = 0; i < 25; i++)
    ((float *)x->data)[i] = (float)i;
  for (int i = 0; i < 9; i++)
    ((float *)w->data)[i] = 1.0f;
  const MscTensor *ins[2] = {x, w};
  GError *err = NULL;
  g_autoptr(MscTensor) y = ot_execute1(g, n, ins, &err);
  g_assert_no_error(err);
  static const float want[25] = {12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108,
                                 117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84};
  for (int i = 0; i < 25; i++)
    g_assert_cmpfloat(((float *)y->data)[i], ==, want[i]);
}

static void
test_conv2d_depthwise_3x3s2_same_upper(void)
{
  g_test_summary("depthwise (group = C = M) 3x3 stride 2 SAME_UPPER on an even input (odd total pad at the end)");
  ConvTester t = conv_tester(2);
  t.C = t.M = t.group = 6;
  t.in[0] = 10;
  t.in[1] = 8;
  t.stride[0] = t.stride[1] = 2;
  t.set_pads = FALSE;
  t.auto_pad = "SAME_UPPER";
  t.expect_out[0] = 5;
  t.expect_out[1] = 4;
  conv_tester_test(&t);
}

static void
test_conv2d_depthwise_3x3s2_same_lower(void)
{
  g_test_summary("depthwise 3x3 stride 2 SAME_LOWER: odd total pad at the beginning");
  ConvTester t = conv_tester(2);
  t.C = t.M = t.group = 3;
  t.in[0] = 10;
  t.in[1] = 7;
  t.stride[0] = t.stride[1] = 2;
  t.set_pads = FALSE;
  t.auto_pad = "SAME_LOWER";
  conv_tester_test(&t);
}

static void
test_conv2d_depthwise_multiplier(void)
{
  g_test_summary("depthwise with channel multiplier 2 (M = 2C, group = C)");
  ConvTester t = conv_tester(2);
  t.C = t.group = 4;
  t.M = 8;
  t.pads[0] = t.pads[1] = t.pads[2] = t.pads[3] = 1;
  conv_tester_test(&t);
}

static void
test_conv2d_grouped(void)
{
  g_test_summary("grouped 3x3: group 2, C 6, M 10 (5 rows per group: one 4-row panel + a leftover row)");
  ConvTester t = conv_tester(2);
  t.C = 6;
  t.M = 10;
  t.group = 2;
  t.pads[0] = t.pads[2] = 1;
  conv_tester_test(&t);
}

static void
test_conv2d_dilated(void)
{
  g_test_summary("3x3 dilation 2x3 with padding 2");
  ConvTester t = conv_tester(2);
  t.in[0] = 11;
  t.in[1] = 12;
  t.dilation[0] = 2;
  t.dilation[1] = 3;
  for (int i = 0; i < 4; i++)
    t.pads[i] = 2;
  conv_tester_test(&t);
}

static void
test_conv2d_dilated_same_upper_s2(void)
{
  g_test_summary("SAME_UPPER with dilation 2 and stride 2 (total pad from the dilated kernel)");
  ConvTester t = conv_tester(2);
  t.in[0] = 10;
  t.in[1] = 9;
  t.stride[0] = t.stride[1] = 2;
  t.dilation[0] = t.dilation[1] = 2;
  t.set_pads = FALSE;
  t.auto_pad = "SAME_UPPER";
  t.expect_out[0] = 5;
  t.expect_out[1] = 5;
  conv_tester_test(&t);
}

static void
test_conv2d_asymmetric_pads(void)
{
  g_test_summary("asymmetric pads [top 0, left 1, bottom 2, right 3] with stride 2");
  ConvTester t = conv_tester(2);
  t.in[0] = 7;
  t.in[1] = 5;
  t.stride[0] = t.stride[1] = 2;
  t.pads[0] = 0;
  t.pads[1] = 1;
  t.pads[2] = 2;
  t.pads[3] = 3;
  t.expect_out[0] = 4; /* (7+2-3)/2+1 */
  t.expect_out[1] = 4; /* (5+4-3)/2+1 */
  conv_tester_test(&t);
}

static void
test_conv2d_stride_gt_kernel(void)
{
  g_test_summary("stride 3 > kernel 2: windows skip input columns");
  ConvTester t = conv_tester(2);
  t.kernel[0] = t.kernel[1] = 2;
  t.stride[0] = t.stride[1] = 3;
  t.in[0] = 11;
  t.in[1] = 10;
  conv_tester_test(&t);
}

static void
test_conv2d_1x1(void)
{
  g_test_summary("pointwise 1x1, 2 images, M not a multiple of 4, P not a multiple of 8");
  ConvTester t = conv_tester(2);
  t.N = 2;
  t.C = 5;
  t.M = 7;
  t.kernel[0] = t.kernel[1] = 1;
  t.in[0] = 5;
  t.in[1] = 3;
  conv_tester_test(&t);
}

static void
test_conv2d_1x1_s2(void)
{
  g_test_summary("1x1 stride 2 (ResNet downsample shortcut)");
  ConvTester t = conv_tester(2);
  t.kernel[0] = t.kernel[1] = 1;
  t.stride[0] = t.stride[1] = 2;
  t.in[0] = t.in[1] = 8;
  t.expect_out[0] = t.expect_out[1] = 4;
  conv_tester_test(&t);
}

static void
test_conv2d_no_bias_no_attrs(void)
{
  g_test_summary("no bias, no kernel_shape/strides/dilations/pads attributes (kernel inferred from W)");
  ConvTester t = conv_tester(2);
  t.has_bias = FALSE;
  t.set_kernel_shape = t.set_strides = t.set_dilations = t.set_pads = FALSE;
  t.kernel[0] = 2;
  t.kernel[1] = 4;
  t.opset = 1;
  conv_tester_test(&t);
}

static void
test_conv2d_valid(void)
{
  g_test_summary("auto_pad VALID: no padding");
  ConvTester t = conv_tester(2);
  t.set_pads = FALSE;
  t.auto_pad = "VALID";
  t.stride[0] = 2;
  conv_tester_test(&t);
}

static void
test_conv2d_large_k(void)
{
  g_test_summary("K = 64*9 spanning several micro-kernel panels and column blocks, 2 images");
  ConvTester t = conv_tester(2);
  t.N = 2;
  t.C = 64;
  t.M = 20;
  t.in[0] = t.in[1] = 23;
  for (int i = 0; i < 4; i++)
    t.pads[i] = 1;
  conv_tester_test(&t);
}

static void
test_conv2d_1d(void)
{
  g_test_summary("1-D: kernel 3, stride 2, dilation 2, pads [1, 2]");
  ConvTester t = conv_tester(1);
  t.in[0] = 17;
  t.stride[0] = 2;
  t.dilation[0] = 2;
  t.pads[0] = 1;
  t.pads[1] = 2;
  conv_tester_test(&t);
}

static void
test_conv2d_1d_grouped_same_lower(void)
{
  g_test_summary("1-D grouped (2) SAME_LOWER with kernel 4");
  ConvTester t = conv_tester(1);
  t.group = 2;
  t.kernel[0] = 4;
  t.in[0] = 10;
  t.set_pads = FALSE;
  t.auto_pad = "SAME_LOWER";
  conv_tester_test(&t);
}

static void
test_conv2d_1d_depthwise(void)
{
  g_test_summary("1-D depthwise (direct path) stride 2 dilation 2 asymmetric pads");
  ConvTester t = conv_tester(1);
  t.C = t.M = t.group = 5;
  t.in[0] = 20;
  t.stride[0] = 2;
  t.dilation[0] = 2;
  t.pads[0] = 3;
  t.pads[1] = 0;
  conv_tester_test(&t);
}

static void
test_conv2d_3d_depthwise(void)
{
  g_test_summary("3-D depthwise (GEMM path with single-row kernel)");
  ConvTester t = conv_tester(3);
  t.C = t.M = t.group = 3;
  t.in[0] = 4;
  t.in[1] = 5;
  t.in[2] = 6;
  t.stride[2] = 2;
  for (int i = 0; i < 6; i++)
    t.pads[i] = i % 2;
  conv_tester_test(&t);
}

static void
test_conv2d_single_channel_wide(void)
{
  g_test_summary("C = 1, M = 6 (direct path with several outputs per channel), stride 3 > kernel 2 horizontally");
  ConvTester t = conv_tester(2);
  t.C = 1;
  t.M = 6;
  t.kernel[0] = 3;
  t.kernel[1] = 2;
  t.stride[1] = 3;
  t.in[0] = 7;
  t.in[1] = 14;
  t.pads[1] = 2;
  t.pads[3] = 1;
  conv_tester_test(&t);
}

static void
test_conv2d_3d(void)
{
  g_test_summary("3-D: 3x3x3, stride (1,2,1), pads (1,0,1,1,1,0), 2 images");
  ConvTester t = conv_tester(3);
  t.N = 2;
  t.in[0] = 5;
  t.in[1] = 7;
  t.in[2] = 6;
  t.stride[1] = 2;
  int64_t pads[6] = {1, 0, 1, 1, 1, 0};
  memcpy(t.pads, pads, sizeof pads);
  conv_tester_test(&t);
}

static void
test_conv2d_3d_grouped_dilated(void)
{
  g_test_summary("3-D grouped (4) dilated (2,1,2) SAME_UPPER");
  ConvTester t = conv_tester(3);
  t.C = t.M = 8;
  t.group = 4;
  t.dilation[0] = t.dilation[2] = 2;
  t.in[0] = t.in[1] = t.in[2] = 6;
  t.set_pads = FALSE;
  t.auto_pad = "SAME_UPPER";
  conv_tester_test(&t);
}

static void
test_conv2d_float16(void)
{
  g_test_summary("float16 inputs computed in float32, output float16");
  ConvTester t = conv_tester(2);
  t.dtype = MSC_DTYPE_FLOAT16;
  t.pads[0] = t.pads[3] = 1;
  conv_tester_test(&t);
}

/* ---- Conv errors ------------------------------------------------------------ */

static void
test_conv2d_error_group_channels(void)
{
  g_test_summary("group not dividing channels: C != W.dims[1] * group names both");
  ConvTester t = conv_tester(2);
  t.C = 6;
  t.group = 4; /* W gets C/group = 1 channel: 1*4 != 6 */
  t.M = 8;
  conv_tester_expect_error(&t, MSC_ERR_INVALID_ARG, "input channels 6 of 'X' [1,6,9,9] != W.dims[1] 1 * group 4");
}

static void
test_conv2d_error_group_m(void)
{
  g_test_summary("output channels not divisible by group");
  ConvTester t = conv_tester(2);
  t.C = 4;
  t.group = 2;
  t.M = 5;
  conv_tester_expect_error(&t, MSC_ERR_INVALID_ARG, "output channels 5 (W.dims[0]) not divisible by group 2");
}

static void
test_conv2d_error_zero_stride(void)
{
  g_test_summary("zero stride is refused naming the attribute and dim");
  ConvTester t = conv_tester(2);
  t.stride[1] = 0;
  conv_tester_expect_error(&t, MSC_ERR_INVALID_ARG, "attribute 'strides': value 0 at dim 1 must be >= 1");
}

static void
test_conv2d_error_negative_dilation(void)
{
  g_test_summary("negative dilation is refused");
  ConvTester t = conv_tester(2);
  t.dilation[0] = -1;
  conv_tester_expect_error(&t, MSC_ERR_INVALID_ARG, "attribute 'dilations': value -1 at dim 0");
}

static void
test_conv2d_error_w_rank(void)
{
  g_test_summary("W rank differs from X rank");
  ConvTester t = conv_tester(2);
  t.set_kernel_shape = FALSE;
  ConvCase c;
  conv_case_build(&t, &c);
  int64_t wd[3] = {8, 4, 3};
  MscTensor *w3 = msc_tensor_new(MSC_DTYPE_FLOAT32, 3, wd, NULL);
  const MscTensor *ins[3] = {c.x, w3, c.b};
  GError *err = NULL;
  g_assert_null(ot_execute1(c.g, c.node, ins, &err));
  ot_assert_error(err, MSC_ERR_INVALID_ARG, "input 'W': rank 3 [8,4,3] does not match input 'X' rank 4 [1,4,9,9]");
  g_clear_error(&err);
  msc_tensor_free(w3);
  conv_case_clear(&c);
}

static void
test_conv2d_error_bad_auto_pad(void)
{
  g_test_summary("unknown auto_pad string is named in the error");
  ConvTester t = conv_tester(2);
  t.set_pads = FALSE;
  t.auto_pad = "SAME_MIDDLE";
  conv_tester_expect_error(&t, MSC_ERR_INVALID_ARG, "auto_pad 'SAME_MIDDLE' not in NOTSET|SAME_UPPER|SAME_LOWER|VALID");
}

static void
test_conv2d_error_pads_length(void)
{
  g_test_summary("pads with the wrong number of values");
  ConvTester t = conv_tester(2);
  t.set_pads = FALSE;
  ConvCase c;
  conv_case_build(&t, &c);
  int64_t pads[2] = {1, 1};
  add_attr_ints(c.node, "pads", pads, 2);
  const MscTensor *ins[3] = {c.x, c.w, c.b};
  GError *err = NULL;
  g_assert_null(ot_execute1(c.g, c.node, ins, &err));
  ot_assert_error(err, MSC_ERR_INVALID_ARG, "attribute 'pads': 2 values, expected 4");
  g_clear_error(&err);
  conv_case_clear(&c);
}

static void
test_conv2d_error_kernel_shape_mismatch(void)
{
  g_test_summary("kernel_shape that disagrees with W");
  ConvTester t = conv_tester(2);
  t.set_kernel_shape = FALSE;
  ConvCase c;
  conv_case_build(&t, &c);
  int64_t ks[2] = {3, 5};
  add_attr_ints(c.node, "kernel_shape", ks, 2);
  const MscTensor *ins[3] = {c.x, c.w, c.b};
  GError *err = NULL;
  g_assert_null(ot_execute1(c.g, c.node, ins, &err));
  ot_assert_error(err, MSC_ERR_INVALID_ARG, "attribute 'kernel_shape': value 5 at dim 1 != W spatial dim 3");
  g_clear_error(&err);
  conv_case_clear(&c);
}

static void
test_conv2d_error_bias_length(void)
{
  g_test_summary("bias length differs from M");
  ConvTester t = conv_tester(2);
  ConvCase c;
  conv_case_build(&t, &c);
  int64_t bd = 7;
  MscTensor *b7 = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, &bd, NULL);
  const MscTensor *ins[3] = {c.x, c.w, b7};
  GError *err = NULL;
  g_assert_null(ot_execute1(c.g, c.node, ins, &err));
  ot_assert_error(err, MSC_ERR_INVALID_ARG, "input 'B': shape [7], expected [8]");
  g_clear_error(&err);
  msc_tensor_free(b7);
  conv_case_clear(&c);
}

static void
test_conv2d_error_window_too_large(void)
{
  g_test_summary("kernel larger than the padded input");
  ConvTester t = conv_tester(2);
  t.in[0] = 2;
  conv_tester_expect_error(&t, MSC_ERR_INVALID_ARG, "window larger than padded input");
}

static void
test_conv2d_error_dtype(void)
{
  g_test_summary("int32 Conv is UNSUPPORTED naming the dtype");
  ConvTester t = conv_tester(2);
  t.dtype = MSC_DTYPE_INT32;
  conv_tester_expect_error(&t, MSC_ERR_UNSUPPORTED, "int32");
}

static void
test_conv2d_error_rank2(void)
{
  g_test_summary("X of rank 2 is refused");
  g_autoptr(MscGraph) g = msc_graph_new("conv");
  MscNode *n = make_node(g, "Conv", 11, 2, NULL);
  int64_t d2[2] = {3, 4};
  g_autoptr(MscTensor) x = msc_tensor_new(MSC_DTYPE_FLOAT32, 2, d2, NULL);
  g_autoptr(MscTensor) w = msc_tensor_new(MSC_DTYPE_FLOAT32, 2, d2, NULL);
  const MscTensor *ins[2] = {x, w};
  GError *err = NULL;
  g_assert_null(ot_execute1(g, n, ins, &err));
  ot_assert_error(err, MSC_ERR_INVALID_ARG, "input 'X': rank 2, expected >= 3");
  g_clear_error(&err);
}

/* ---- static inference --------------------------------------------------- */

/* Graph X -> op -> y with X of dims @xd (-1 unknown) and W given as an
 * initializer (@w_init) or as a graph input of unknown spatial dims. */
static void
static_infer_case(const char *op, const int64_t *xd, const int64_t *wd, gboolean w_init, const int64_t *ks,
                  const char *auto_pad, const int64_t *st, const int64_t *want)
{
  g_autoptr(MscGraph) g = msc_graph_new("static");
  MscValue *x = msc_graph_get_or_add_value(g, "x");
  x->dtype = MSC_DTYPE_FLOAT32;
  x->rank = 4;
  memcpy(x->dims, xd, 4 * sizeof *xd);
  msc_graph_add_input(g, x);
  MscValue *w;
  if (w_init) {
    w = msc_graph_add_initializer(g, "w", msc_tensor_new(MSC_DTYPE_FLOAT32, 4, wd, NULL));
  } else {
    w = msc_graph_get_or_add_value(g, "w");
    w->dtype = MSC_DTYPE_FLOAT32;
    w->rank = 4;
    memcpy(w->dims, wd, 4 * sizeof *wd);
    msc_graph_add_input(g, w);
  }
  MscValue *y = msc_graph_get_or_add_value(g, "y");
  MscNode *n = msc_graph_add_node(g, "n0", op, "", 11);
  MscValue *ins[2] = {x, w};
  msc_node_set_io(n, ins, 2, &y, 1);
  if (ks)
    add_attr_ints(n, "kernel_shape", ks, 2);
  if (st)
    add_attr_ints(n, "strides", st, 2);
  if (auto_pad)
    add_attr_string(n, "auto_pad", auto_pad);
  msc_graph_add_output(g, y);
  GError *err = NULL;
  g_assert_cmpint(msc_graph_resolve_ops(g, &err), ==, TRUE);
  g_assert_no_error(err);
  g_assert_cmpint(msc_graph_infer(g, &err), ==, TRUE);
  g_assert_no_error(err);
  g_assert_cmpint(y->dtype, ==, MSC_DTYPE_FLOAT32);
  g_assert_cmpint(y->rank, ==, 4);
  for (int i = 0; i < 4; i++)
    g_assert_cmpint(y->dims[i], ==, want[i]);
}

static void
test_conv2d_static_infer(void)
{
  g_test_summary("static inference: unknown batch/height propagate as -1, known dims resolve (SAME_UPPER s2)");
  int64_t xd[4] = {-1, 4, -1, 9}, wd[4] = {8, 4, 3, 3}, st[2] = {2, 2};
  int64_t want[4] = {-1, 8, -1, 5};
  static_infer_case("Conv", xd, wd, TRUE, NULL, "SAME_UPPER", st, want);
}

static void
test_conv2d_static_infer_unknown_w(void)
{
  g_test_summary("static inference: W of unknown spatial shape gives -1 outputs, unless kernel_shape is set");
  int64_t xd[4] = {1, 4, 9, 9}, wd[4] = {8, 4, -1, -1}, ks[2] = {3, 5};
  int64_t want_unknown[4] = {1, 8, -1, -1}, want_known[4] = {1, 8, 7, 5};
  static_infer_case("Conv", xd, wd, FALSE, NULL, NULL, NULL, want_unknown);
  static_infer_case("Conv", xd, wd, FALSE, ks, NULL, NULL, want_known);
}

static void
test_convt_static_infer(void)
{
  g_test_summary("static inference of ConvTranspose SAME_UPPER s2: unknown height -1, width in*stride");
  int64_t xd[4] = {2, 4, -1, 5}, wd[4] = {4, 3, 3, 3}, st[2] = {2, 2};
  int64_t want[4] = {2, 3, -1, 10};
  static_infer_case("ConvTranspose", xd, wd, TRUE, NULL, "SAME_UPPER", st, want);
}

/* ---- ConvTranspose -------------------------------------------------------- */

typedef struct {
  int nsp;
  int64_t N, C, M, group; /* M = output channels = W.dims[1] * group */
  int64_t in[MAXSP], kernel[MAXSP], stride[MAXSP], dilation[MAXSP], pads[2 * MAXSP], out_pad[MAXSP],
      output_shape[MAXSP];
  const char *auto_pad;
  gboolean has_bias, set_pads, set_out_pad, set_output_shape;
  guint32 seed;
  int64_t expect_out[MAXSP]; /* checked when [0] > 0 */
} ConvTTester;

static ConvTTester
convt_tester(int nsp)
{
  ConvTTester t = {0};
  t.nsp = nsp;
  t.N = 1;
  t.C = 3;
  t.M = 4;
  t.group = 1;
  for (int d = 0; d < MAXSP; d++) {
    t.in[d] = 4;
    t.kernel[d] = 3;
    t.stride[d] = 1;
    t.dilation[d] = 1;
  }
  t.has_bias = TRUE;
  t.set_pads = TRUE;
  t.seed = 7;
  return t;
}

static int64_t
floor_div2(int64_t a)
{
  return a >= 0 ? a / 2 : -((-a + 1) / 2);
}

static void
convt_tester_test(const ConvTTester *t)
{
  GRand *r = g_rand_new_with_seed(t->seed);
  int64_t Cg = t->C / t->group, Mg = t->M / t->group;
  int64_t xd[MAXSP + 2] = {t->N, t->C}, wd[MAXSP + 2] = {t->C, Mg};
  for (int d = 0; d < t->nsp; d++) {
    xd[2 + d] = t->in[d];
    wd[2 + d] = t->kernel[d];
  }
  g_autoptr(MscTensor) x = msc_tensor_new(MSC_DTYPE_FLOAT32, t->nsp + 2, xd, NULL);
  g_autoptr(MscTensor) w = msc_tensor_new(MSC_DTYPE_FLOAT32, t->nsp + 2, wd, NULL);
  int64_t bd = t->M;
  g_autoptr(MscTensor) b = t->has_bias ? msc_tensor_new(MSC_DTYPE_FLOAT32, 1, &bd, NULL) : NULL;
  ot_fill_random(x, r, -1, 1);
  ot_fill_random(w, r, -1, 1);
  if (b)
    ot_fill_random(b, r, -1, 1);
  g_rand_free(r);

  g_autoptr(MscGraph) g = msc_graph_new("convt");
  MscNode *n = make_node(g, "ConvTranspose", 11, t->has_bias ? 3 : 2, NULL);
  if (t->group != 1)
    add_attr_int(n, "group", t->group);
  add_attr_ints(n, "strides", t->stride, t->nsp);
  add_attr_ints(n, "dilations", t->dilation, t->nsp);
  if (t->set_pads)
    add_attr_ints(n, "pads", t->pads, 2 * t->nsp);
  if (t->set_out_pad)
    add_attr_ints(n, "output_padding", t->out_pad, t->nsp);
  if (t->set_output_shape)
    add_attr_ints(n, "output_shape", t->output_shape, t->nsp);
  if (t->auto_pad)
    add_attr_string(n, "auto_pad", t->auto_pad);
  const MscTensor *ins[3] = {x, w, b};
  GError *err = NULL;
  g_autoptr(MscTensor) y = ot_execute1(g, n, ins, &err);
  g_assert_no_error(err);

  /* reference: resolve pads/out per the spec, then scatter */
  int64_t in[MAXSP], k[MAXSP], s[MAXSP], dl[MAXSP], pb[MAXSP], out[MAXSP];
  for (int d = 0; d < MAXSP; d++) {
    if (d >= t->nsp) {
      in[d] = k[d] = s[d] = dl[d] = out[d] = 1;
      pb[d] = 0;
      continue;
    }
    in[d] = t->in[d];
    k[d] = t->kernel[d];
    s[d] = t->stride[d];
    dl[d] = t->dilation[d];
    int64_t op = t->set_out_pad ? t->out_pad[d] : 0;
    int64_t full = s[d] * (in[d] - 1) + op + (k[d] - 1) * dl[d] + 1;
    gboolean same = t->auto_pad && !strncmp(t->auto_pad, "SAME", 4);
    if (t->set_pads && !t->auto_pad) {
      pb[d] = t->pads[d];
      out[d] = t->set_output_shape ? t->output_shape[d] : full - t->pads[d] - t->pads[t->nsp + d];
    } else if (t->set_output_shape || same) {
      out[d] = t->set_output_shape ? t->output_shape[d] : in[d] * s[d];
      int64_t total = full - out[d];
      pb[d] = (t->auto_pad && !strcmp(t->auto_pad, "SAME_UPPER")) ? floor_div2(total) : total - floor_div2(total);
    } else {
      pb[d] = 0;
      out[d] = full;
    }
  }
  g_assert_cmpint(y->rank, ==, t->nsp + 2);
  g_assert_cmpint(y->dims[1], ==, t->M);
  for (int d = 0; d < t->nsp; d++) {
    g_assert_cmpint(y->dims[2 + d], ==, out[d]);
    if (t->expect_out[0] > 0)
      g_assert_cmpint(y->dims[2 + d], ==, t->expect_out[d]);
  }
  int64_t P = out[0] * out[1] * out[2], S = in[0] * in[1] * in[2], KS = k[0] * k[1] * k[2];
  double *ref = g_new0(double, t->N * t->M * P);
  for (int64_t nn = 0; nn < t->N; nn++)
    for (int64_t m = 0; m < t->M; m++)
      for (int64_t i = 0; i < P; i++)
        ref[(nn * t->M + m) * P + i] = b ? msc_tensor_get_f64(b, m) : 0.0;
  for (int64_t nn = 0; nn < t->N; nn++)
    for (int64_t c = 0; c < t->C; c++) {
      int64_t gi = c / Cg;
      for (int64_t i0 = 0; i0 < in[0]; i0++)
        for (int64_t i1 = 0; i1 < in[1]; i1++)
          for (int64_t i2 = 0; i2 < in[2]; i2++) {
            double xv = msc_tensor_get_f64(x, (nn * t->C + c) * S + (i0 * in[1] + i1) * in[2] + i2);
            for (int64_t mg = 0; mg < Mg; mg++)
              for (int64_t k0 = 0; k0 < k[0]; k0++)
                for (int64_t k1 = 0; k1 < k[1]; k1++)
                  for (int64_t k2 = 0; k2 < k[2]; k2++) {
                    int64_t o0 = i0 * s[0] + k0 * dl[0] - pb[0];
                    int64_t o1 = i1 * s[1] + k1 * dl[1] - pb[1];
                    int64_t o2 = i2 * s[2] + k2 * dl[2] - pb[2];
                    if (o0 < 0 || o0 >= out[0] || o1 < 0 || o1 >= out[1] || o2 < 0 || o2 >= out[2])
                      continue;
                    double wv = msc_tensor_get_f64(w, (c * Mg + mg) * KS + (k0 * k[1] + k1) * k[2] + k2);
                    ref[(nn * t->M + gi * Mg + mg) * P + (o0 * out[1] + o1) * out[2] + o2] += xv * wv;
                  }
          }
    }
  double worst = 0;
  for (int64_t i = 0; i < msc_tensor_numel(y); i++)
    worst = MAX(worst, fabs(msc_tensor_get_f64(y, i) - ref[i]) / (1.0 + fabs(ref[i])));
  g_assert_cmpfloat(worst, <=, 1e-5);
  g_free(ref);
}

static void
test_convt_2d_s2_pads(void)
{
  g_test_summary("2-D ConvTranspose stride 2 with asymmetric pads and bias");
  ConvTTester t = convt_tester(2);
  t.stride[0] = t.stride[1] = 2;
  int64_t pads[4] = {1, 0, 0, 2};
  memcpy(t.pads, pads, sizeof pads);
  t.expect_out[0] = 8; /* 2*3+3-1 */
  t.expect_out[1] = 7; /* 2*3+3-2 */
  convt_tester_test(&t);
}

static void
test_convt_same_upper_hand(void)
{
  g_test_summary("SAME_UPPER stride 2 on the ONNX 3x3 ramp: output 6x6, the odd total crop is at the END");
  g_autoptr(MscGraph) g = msc_graph_new("convt");
  MscNode *n = make_node(g, "ConvTranspose", 11, 2, NULL);
  int64_t st[2] = {2, 2};
  add_attr_ints(n, "strides", st, 2);
  add_attr_string(n, "auto_pad", "SAME_UPPER");
  int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 2, 3, 3};
  g_autoptr(MscTensor) x = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, xd, NULL);
  g_autoptr(MscTensor) w = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, wd, NULL);
  for (int i = 0; i < 9; i++)
    ((float *)x->data)[i] = (float)i;
  for (int i = 0; i < 18; i++)
    ((float *)w->data)[i] = 1.0f;
  const MscTensor *ins[2] = {x, w};
  GError *err = NULL;
  g_autoptr(MscTensor) y = ot_execute1(g, n, ins, &err);
  g_assert_no_error(err);
  g_assert_cmpint(y->dims[2], ==, 6);
  g_assert_cmpint(y->dims[3], ==, 6);
  /* uncropped row 0 is 0 0 1 1 3 2 2; SAME_UPPER drops the last column */
  static const float row0[6] = {0, 0, 1, 1, 3, 2};
  static const float row2[6] = {3, 3, 8, 5, 12, 7};
  for (int i = 0; i < 6; i++) {
    g_assert_cmpfloat(((float *)y->data)[i], ==, row0[i]);
    g_assert_cmpfloat(((float *)y->data)[12 + i], ==, row2[i]);
  }
}

static void
test_convt_same_lower(void)
{
  g_test_summary("SAME_LOWER stride 2 kernel 4: output in*stride, odd crop at the beginning");
  ConvTTester t = convt_tester(2);
  t.kernel[0] = 4;
  t.stride[0] = t.stride[1] = 2;
  t.set_pads = FALSE;
  t.auto_pad = "SAME_LOWER";
  t.expect_out[0] = t.expect_out[1] = 8;
  convt_tester_test(&t);
}

static void
test_convt_output_padding(void)
{
  g_test_summary("output_padding (1, 2) with stride 3: extra rows/cols at the high end");
  ConvTTester t = convt_tester(2);
  t.stride[0] = t.stride[1] = 3;
  t.set_out_pad = TRUE;
  t.out_pad[0] = 1;
  t.out_pad[1] = 2;
  t.expect_out[0] = 13; /* 3*3+1+3 */
  t.expect_out[1] = 14;
  convt_tester_test(&t);
}

static void
test_convt_output_shape(void)
{
  g_test_summary("output_shape larger (zeros at the end) and smaller (cropped, extra at the start) than natural");
  ConvTTester t = convt_tester(2);
  t.stride[0] = 3;
  t.stride[1] = 2;
  t.set_pads = FALSE;
  t.set_output_shape = TRUE;
  t.output_shape[0] = 13; /* natural 12 */
  t.output_shape[1] = 6;  /* natural 9: total 3, begin 2, end 1 */
  convt_tester_test(&t);
}

static void
test_convt_grouped_dilated(void)
{
  g_test_summary("grouped (2) dilated (2, 1) ConvTranspose, 2 images");
  ConvTTester t = convt_tester(2);
  t.N = 2;
  t.C = 4;
  t.M = 6;
  t.group = 2;
  t.dilation[0] = 2;
  t.stride[1] = 2;
  t.pads[0] = t.pads[3] = 1;
  convt_tester_test(&t);
}

static void
test_convt_1d(void)
{
  g_test_summary("1-D ConvTranspose stride 2 pads (1, 1)");
  ConvTTester t = convt_tester(1);
  t.in[0] = 7;
  t.stride[0] = 2;
  t.pads[0] = t.pads[1] = 1;
  convt_tester_test(&t);
}

static void
test_convt_3d(void)
{
  g_test_summary("3-D ConvTranspose strides (1, 2, 3) no bias");
  ConvTTester t = convt_tester(3);
  t.has_bias = FALSE;
  t.in[0] = 3;
  t.stride[1] = 2;
  t.stride[2] = 3;
  t.kernel[2] = 2;
  convt_tester_test(&t);
}

static void
test_convt_error_channels(void)
{
  g_test_summary("ConvTranspose: X channels != W.dims[0], and group not dividing C");
  g_autoptr(MscGraph) g = msc_graph_new("convt");
  MscNode *n = make_node(g, "ConvTranspose", 11, 2, NULL);
  int64_t xd[4] = {1, 3, 4, 4}, wd[4] = {2, 2, 3, 3};
  g_autoptr(MscTensor) x = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, xd, NULL);
  g_autoptr(MscTensor) w = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, wd, NULL);
  const MscTensor *ins[2] = {x, w};
  GError *err = NULL;
  g_assert_null(ot_execute1(g, n, ins, &err));
  ot_assert_error(err, MSC_ERR_INVALID_ARG, "input channels 3 of 'X' [1,3,4,4] != W.dims[0] 2");
  g_clear_error(&err);

  g_autoptr(MscGraph) g2 = msc_graph_new("convt");
  MscNode *n2 = make_node(g2, "ConvTranspose", 11, 2, NULL);
  add_attr_int(n2, "group", 2);
  int64_t wd3[4] = {3, 2, 3, 3};
  g_autoptr(MscTensor) w3 = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, wd3, NULL);
  const MscTensor *ins2[2] = {x, w3};
  g_assert_null(ot_execute1(g2, n2, ins2, &err));
  ot_assert_error(err, MSC_ERR_INVALID_ARG, "input channels 3 not divisible by group 2");
  g_clear_error(&err);
}

/* ---- ConvInteger / QLinearConv --------------------------------------------- */

typedef struct {
  gboolean qlinear;
  int nsp;
  int64_t N, C, M, group;
  int64_t in[MAXSP], kernel[MAXSP], stride[MAXSP], pads[2 * MAXSP];
  const char *auto_pad;
  MscDType xdt, wdt, ydt;
  gboolean has_xzp;
  int wzp_mode;          /* 0 absent (ConvInteger only), 1 scalar, 2 per channel */
  gboolean ws_per_channel;
  gboolean has_bias;
  guint32 seed;
} QConvTester;

static QConvTester
qconv_tester(gboolean qlinear)
{
  QConvTester t = {0};
  t.qlinear = qlinear;
  t.nsp = 2;
  t.N = 1;
  t.C = 4;
  t.M = 6;
  t.group = 1;
  for (int d = 0; d < MAXSP; d++) {
    t.in[d] = 7;
    t.kernel[d] = 3;
    t.stride[d] = 1;
  }
  t.xdt = t.wdt = t.ydt = MSC_DTYPE_UINT8;
  t.has_xzp = TRUE;
  t.wzp_mode = 1;
  t.has_bias = qlinear;
  t.seed = 3;
  return t;
}

static MscTensor *
q_scalar_or_vec(MscDType dt, int64_t n, GRand *r, double lo, double hi)
{
  MscTensor *t = n ? msc_tensor_new(dt, 1, &n, NULL) : msc_tensor_new(dt, 0, NULL, NULL);
  ot_fill_random(t, r, lo, hi);
  return t;
}

static double
q_lo(MscDType dt)
{
  return dt == MSC_DTYPE_UINT8 ? 0 : -128;
}

static void
qconv_tester_test(const QConvTester *t)
{
  GRand *r = g_rand_new_with_seed(t->seed);
  int64_t Cg = t->C / t->group, Mg = t->M / t->group;
  int64_t xd[MAXSP + 2] = {t->N, t->C}, wd[MAXSP + 2] = {t->M, Cg};
  for (int d = 0; d < t->nsp; d++) {
    xd[2 + d] = t->in[d];
    wd[2 + d] = t->kernel[d];
  }
  g_autoptr(MscTensor) x = msc_tensor_new(t->xdt, t->nsp + 2, xd, NULL);
  g_autoptr(MscTensor) w = msc_tensor_new(t->wdt, t->nsp + 2, wd, NULL);
  ot_fill_random(x, r, q_lo(t->xdt), q_lo(t->xdt) + 256);
  ot_fill_random(w, r, q_lo(t->wdt), q_lo(t->wdt) + 256);
  g_autoptr(MscTensor) xzp = t->has_xzp ? q_scalar_or_vec(t->xdt, 0, r, q_lo(t->xdt), q_lo(t->xdt) + 256) : NULL;
  g_autoptr(MscTensor) wzp =
      t->wzp_mode ? q_scalar_or_vec(t->wdt, t->wzp_mode == 2 ? t->M : 0, r, q_lo(t->wdt), q_lo(t->wdt) + 256) : NULL;
  g_autoptr(MscTensor) xs = q_scalar_or_vec(MSC_DTYPE_FLOAT32, 0, r, 0.01, 0.05);
  g_autoptr(MscTensor) ws = q_scalar_or_vec(MSC_DTYPE_FLOAT32, t->ws_per_channel ? t->M : 0, r, 0.001, 0.01);
  g_autoptr(MscTensor) ys = q_scalar_or_vec(MSC_DTYPE_FLOAT32, 0, r, 0.05, 0.2);
  g_autoptr(MscTensor) yzp = q_scalar_or_vec(t->ydt, 0, r, q_lo(t->ydt) + 100, q_lo(t->ydt) + 156);
  int64_t bd = t->M;
  g_autoptr(MscTensor) b = t->has_bias ? msc_tensor_new(MSC_DTYPE_INT32, 1, &bd, NULL) : NULL;
  if (b)
    ot_fill_random(b, r, -3000, 3000);
  g_rand_free(r);

  g_autoptr(MscGraph) g = msc_graph_new("qconv");
  MscNode *n;
  const MscTensor *ins[9] = {0};
  if (t->qlinear) {
    n = make_node(g, "QLinearConv", 10, t->has_bias ? 9 : 8, NULL);
    const MscTensor *q[9] = {x, xs, xzp, w, ws, wzp, ys, yzp, b};
    memcpy(ins, q, sizeof q);
  } else {
    gboolean present[4] = {TRUE, TRUE, t->has_xzp, t->wzp_mode != 0};
    n = make_node(g, "ConvInteger", 10, 4, present);
    const MscTensor *q[4] = {x, w, xzp, wzp};
    memcpy(ins, q, sizeof q);
  }
  if (t->group != 1)
    add_attr_int(n, "group", t->group);
  add_attr_ints(n, "strides", t->stride, t->nsp);
  if (t->auto_pad)
    add_attr_string(n, "auto_pad", t->auto_pad);
  else
    add_attr_ints(n, "pads", t->pads, 2 * t->nsp);
  GError *err = NULL;
  g_autoptr(MscTensor) y = ot_execute1(g, n, ins, &err);
  g_assert_no_error(err);
  g_assert_cmpint(y->dtype, ==, t->qlinear ? t->ydt : MSC_DTYPE_INT32);

  /* exact int64 reference; padding contributes 0 after the shift */
  int64_t in[MAXSP], k[MAXSP], s[MAXSP], pb[MAXSP], out[MAXSP];
  for (int d = 0; d < MAXSP; d++) {
    if (d < t->nsp) {
      in[d] = t->in[d];
      k[d] = t->kernel[d];
      s[d] = t->stride[d];
      ref_resolve(t->auto_pad, in[d], k[d], s[d], 1, t->pads[d], t->pads[t->nsp + d], &pb[d], &out[d]);
      g_assert_cmpint(y->dims[2 + d], ==, out[d]);
    } else {
      in[d] = k[d] = s[d] = out[d] = 1;
      pb[d] = 0;
    }
  }
  int64_t P = out[0] * out[1] * out[2], S = in[0] * in[1] * in[2], KS = k[0] * k[1] * k[2];
  int64_t xz = xzp ? msc_tensor_get_i64(xzp, 0) : 0;
  int64_t mismatches = 0;
  for (int64_t nn = 0; nn < t->N; nn++)
    for (int64_t m = 0; m < t->M; m++) {
      int64_t gi = m / Mg, wz = wzp ? msc_tensor_get_i64(wzp, t->wzp_mode == 2 ? m : 0) : 0;
      for (int64_t o0 = 0; o0 < out[0]; o0++)
        for (int64_t o1 = 0; o1 < out[1]; o1++)
          for (int64_t o2 = 0; o2 < out[2]; o2++) {
            int64_t acc = 0;
            for (int64_t ci = 0; ci < Cg; ci++)
              for (int64_t k0 = 0; k0 < k[0]; k0++)
                for (int64_t k1 = 0; k1 < k[1]; k1++)
                  for (int64_t k2 = 0; k2 < k[2]; k2++) {
                    int64_t i0 = o0 * s[0] - pb[0] + k0, i1 = o1 * s[1] - pb[1] + k1, i2 = o2 * s[2] - pb[2] + k2;
                    if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2])
                      continue;
                    int64_t xv = msc_tensor_get_i64(x, (nn * t->C + gi * Cg + ci) * S + (i0 * in[1] + i1) * in[2] + i2);
                    int64_t wv = msc_tensor_get_i64(w, (m * Cg + ci) * KS + (k0 * k[1] + k1) * k[2] + k2);
                    acc += (xv - xz) * (wv - wz);
                  }
            int64_t yi = (nn * t->M + m) * P + (o0 * out[1] + o1) * out[2] + o2;
            int64_t want;
            if (t->qlinear) {
              acc += b ? msc_tensor_get_i64(b, m) : 0;
              float mult = (float)msc_tensor_get_f64(xs, 0) * (float)msc_tensor_get_f64(ws, t->ws_per_channel ? m : 0) /
                           (float)msc_tensor_get_f64(ys, 0);
              double v = nearbyintf((float)acc * mult) + (double)msc_tensor_get_i64(yzp, 0);
              want = (int64_t)CLAMP(v, q_lo(t->ydt), q_lo(t->ydt) + 255);
            } else {
              want = acc;
            }
            if (msc_tensor_get_i64(y, yi) != want && mismatches++ < 5)
              g_test_message("y[%" G_GINT64_FORMAT "] = %" G_GINT64_FORMAT ", want %" G_GINT64_FORMAT, yi,
                             msc_tensor_get_i64(y, yi), want);
          }
    }
  g_assert_cmpint(mismatches, ==, 0);
}

static void
test_conv_integer_u8_pad1(void)
{
  g_test_summary("ConvInteger uint8 3x3 pads 1 with scalar zero points (padding = x_zero_point), exact");
  QConvTester t = qconv_tester(FALSE);
  for (int i = 0; i < 4; i++)
    t.pads[i] = 1;
  qconv_tester_test(&t);
}

static void
test_conv_integer_per_channel_grouped(void)
{
  g_test_summary("ConvInteger int8 x/w, per-output-channel w_zero_point, group 2, stride 2");
  QConvTester t = qconv_tester(FALSE);
  t.xdt = t.wdt = MSC_DTYPE_INT8;
  t.wzp_mode = 2;
  t.group = 2;
  t.stride[0] = t.stride[1] = 2;
  t.in[0] = 9;
  qconv_tester_test(&t);
}

static void
test_conv_integer_mixed_depthwise(void)
{
  g_test_summary("ConvInteger uint8 x, int8 w, depthwise 3x3 s2 SAME_UPPER (direct path)");
  QConvTester t = qconv_tester(FALSE);
  t.wdt = MSC_DTYPE_INT8;
  t.C = t.M = t.group = 5;
  t.in[0] = 8;
  t.stride[0] = t.stride[1] = 2;
  t.auto_pad = "SAME_UPPER";
  qconv_tester_test(&t);
}

static void
test_conv_integer_no_zero_points(void)
{
  g_test_summary("ConvInteger without zero-point inputs, 1-D and 3-D");
  QConvTester t = qconv_tester(FALSE);
  t.has_xzp = FALSE;
  t.wzp_mode = 0;
  t.nsp = 1;
  t.in[0] = 12;
  t.pads[0] = 2;
  qconv_tester_test(&t);
  QConvTester t3 = qconv_tester(FALSE);
  t3.nsp = 3;
  t3.in[0] = 4;
  t3.in[1] = 5;
  t3.in[2] = 6;
  t3.pads[1] = t3.pads[5] = 1;
  qconv_tester_test(&t3);
}

static void
test_conv_integer_extremes(void)
{
  g_test_summary("ConvInteger extremes: x 255 zp 0, w -128 zp 127 over K = 64*9: |acc| = 576*255*255 exact");
  g_autoptr(MscGraph) g = msc_graph_new("ci");
  MscNode *n = make_node(g, "ConvInteger", 10, 4, NULL);
  int64_t xd[4] = {1, 64, 3, 3}, wd[4] = {5, 64, 3, 3}, one = 1;
  g_autoptr(MscTensor) x = msc_tensor_new(MSC_DTYPE_UINT8, 4, xd, NULL);
  g_autoptr(MscTensor) w = msc_tensor_new(MSC_DTYPE_INT8, 4, wd, NULL);
  g_autoptr(MscTensor) xzp = msc_tensor_new(MSC_DTYPE_UINT8, 1, &one, NULL);
  g_autoptr(MscTensor) wzp = msc_tensor_new(MSC_DTYPE_INT8, 0, NULL, NULL);
  memset(x->data, 255, x->nbytes);
  memset(w->data, 0x80, w->nbytes); /* -128 */
  ((int8_t *)wzp->data)[0] = 127;
  const MscTensor *ins[4] = {x, w, xzp, wzp};
  GError *err = NULL;
  g_autoptr(MscTensor) y = ot_execute1(g, n, ins, &err);
  g_assert_no_error(err);
  g_assert_cmpint(msc_tensor_numel(y), ==, 5);
  for (int i = 0; i < 5; i++)
    g_assert_cmpint(((int32_t *)y->data)[i], ==, -(576 * 255 * 255));
}

static void
test_qlinear_conv_u8(void)
{
  g_test_summary("QLinearConv uint8 per-tensor scales, int32 bias, pads 1");
  QConvTester t = qconv_tester(TRUE);
  for (int i = 0; i < 4; i++)
    t.pads[i] = 1;
  qconv_tester_test(&t);
}

static void
test_qlinear_conv_i8_per_channel(void)
{
  g_test_summary("QLinearConv int8 x/w/y, per-channel w_scale and w_zero_point, group 3, stride 2");
  QConvTester t = qconv_tester(TRUE);
  t.xdt = t.wdt = t.ydt = MSC_DTYPE_INT8;
  t.wzp_mode = 2;
  t.ws_per_channel = TRUE;
  t.C = 6;
  t.group = 3;
  t.stride[0] = t.stride[1] = 2;
  t.in[1] = 10;
  qconv_tester_test(&t);
}

static void
test_qlinear_conv_depthwise_no_bias(void)
{
  g_test_summary("QLinearConv uint8 depthwise SAME_LOWER without bias, uint8 x with int8 w");
  QConvTester t = qconv_tester(TRUE);
  t.wdt = MSC_DTYPE_INT8;
  t.C = t.M = t.group = 4;
  t.has_bias = FALSE;
  t.auto_pad = "SAME_LOWER";
  qconv_tester_test(&t);
}

/* 1x1 conv of one channel: y = requant(x * w) for hand-picked values. */
static MscTensor *
qlinear_1x1(MscDType ydt, const uint8_t *xv, int nx, int xzp_val, float y_scale, int yzp_val, GError **err)
{
  MscGraph *g = msc_graph_new("q");
  MscNode *n = make_node(g, "QLinearConv", 10, 8, NULL);
  int64_t xd[4] = {1, 1, 1, nx}, wd[4] = {1, 1, 1, 1};
  MscTensor *x = msc_tensor_new(MSC_DTYPE_UINT8, 4, xd, NULL);
  memcpy(x->data, xv, (size_t)nx);
  MscTensor *w = msc_tensor_new(MSC_DTYPE_UINT8, 4, wd, NULL);
  ((uint8_t *)w->data)[0] = 1;
  MscTensor *xs = msc_tensor_new(MSC_DTYPE_FLOAT32, 0, NULL, NULL), *ws = msc_tensor_new(MSC_DTYPE_FLOAT32, 0, NULL, NULL);
  MscTensor *ys = msc_tensor_new(MSC_DTYPE_FLOAT32, 0, NULL, NULL);
  MscTensor *xzp = msc_tensor_new(MSC_DTYPE_UINT8, 0, NULL, NULL), *wzp = msc_tensor_new(MSC_DTYPE_UINT8, 0, NULL, NULL);
  MscTensor *yzp = msc_tensor_new(ydt, 0, NULL, NULL);
  ((float *)xs->data)[0] = 1.0f;
  ((float *)ws->data)[0] = 1.0f;
  ((float *)ys->data)[0] = y_scale;
  msc_tensor_set_f64(yzp, 0, yzp_val);
  msc_tensor_set_f64(xzp, 0, xzp_val);
  const MscTensor *ins[8] = {x, xs, xzp, w, ws, wzp, ys, yzp};
  MscTensor *y = ot_execute1(g, n, ins, err);
  MscTensor *all[] = {x, w, xs, ws, ys, xzp, wzp, yzp};
  for (guint i = 0; i < G_N_ELEMENTS(all); i++)
    msc_tensor_free(all[i]);
  msc_graph_free(g);
  return y;
}

static void
test_qlinear_conv_round_saturate(void)
{
  g_test_summary("QLinearConv rounds half to even before adding y_zero_point, and saturates both ends");
  /* y_scale 2: x/2 = 0.5 1.5 2.5 3.5 -> 0 2 2 4; 255/2 -> 128 */
  static const uint8_t xv[6] = {1, 3, 5, 7, 255, 0};
  GError *err = NULL;
  g_autoptr(MscTensor) y = qlinear_1x1(MSC_DTYPE_UINT8, xv, 6, 0, 2.0f, 1, &err);
  g_assert_no_error(err);
  static const int want[6] = {1, 3, 3, 5, 129, 1}; /* round(x/2) + zp 1 */
  for (int i = 0; i < 6; i++)
    g_assert_cmpint(((uint8_t *)y->data)[i], ==, want[i]);
  /* y_scale 0.5 -> 2x: 510 saturates at 255 */
  g_autoptr(MscTensor) y2 = qlinear_1x1(MSC_DTYPE_UINT8, xv, 6, 0, 0.5f, 0, &err);
  g_assert_no_error(err);
  g_assert_cmpint(((uint8_t *)y2->data)[4], ==, 255);
  g_assert_cmpint(((uint8_t *)y2->data)[3], ==, 14);
  /* int8 output with zero point -100: 0 -> -100, 255*2-100 -> 127, 1*2-100 = -98 */
  g_autoptr(MscTensor) y3 = qlinear_1x1(MSC_DTYPE_INT8, xv, 6, 0, 0.5f, -100, &err);
  g_assert_no_error(err);
  g_assert_cmpint(((int8_t *)y3->data)[5], ==, -100);
  g_assert_cmpint(((int8_t *)y3->data)[4], ==, 127);
  g_assert_cmpint(((int8_t *)y3->data)[0], ==, -98);
  /* x_zp 128 makes x - x_zp negative: (0 - 128) * 4 = -512 saturates at -128 (int8) and 0 (uint8),
   * (255 - 128) * 4 = 508 at 127; 1 - 128 = -127 -> -508 */
  g_autoptr(MscTensor) y4 = qlinear_1x1(MSC_DTYPE_INT8, xv, 6, 128, 0.25f, 0, &err);
  g_assert_no_error(err);
  g_assert_cmpint(((int8_t *)y4->data)[5], ==, -128);
  g_assert_cmpint(((int8_t *)y4->data)[4], ==, 127);
  g_autoptr(MscTensor) y5 = qlinear_1x1(MSC_DTYPE_UINT8, xv, 6, 128, 0.25f, 3, &err);
  g_assert_no_error(err);
  g_assert_cmpint(((uint8_t *)y5->data)[0], ==, 0);
  /* half to even on negatives: (125 - 128) / 2 = -1.5 -> -2, (127 - 128)/2 = -0.5 -> -0 */
  static const uint8_t xn[2] = {125, 127};
  g_autoptr(MscTensor) y6 = qlinear_1x1(MSC_DTYPE_INT8, xn, 2, 128, 2.0f, 0, &err);
  g_assert_no_error(err);
  g_assert_cmpint(((int8_t *)y6->data)[0], ==, -2);
  g_assert_cmpint(((int8_t *)y6->data)[1], ==, 0);
}

static void
test_qlinear_conv_error_w_scale(void)
{
  g_test_summary("QLinearConv w_scale of the wrong length, and a float x, are refused");
  QConvTester t = qconv_tester(TRUE);
  g_autoptr(MscGraph) g = msc_graph_new("q");
  MscNode *n = make_node(g, "QLinearConv", 10, 8, NULL);
  int64_t xd[4] = {1, 4, 5, 5}, wd[4] = {6, 4, 3, 3}, five = 5;
  g_autoptr(MscTensor) x = msc_tensor_new(MSC_DTYPE_UINT8, 4, xd, NULL);
  g_autoptr(MscTensor) w = msc_tensor_new(MSC_DTYPE_UINT8, 4, wd, NULL);
  g_autoptr(MscTensor) s0 = msc_tensor_new(MSC_DTYPE_FLOAT32, 0, NULL, NULL);
  g_autoptr(MscTensor) ws5 = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, &five, NULL);
  g_autoptr(MscTensor) zp = msc_tensor_new(MSC_DTYPE_UINT8, 0, NULL, NULL);
  const MscTensor *ins[8] = {x, s0, zp, w, ws5, zp, s0, zp};
  GError *err = NULL;
  g_assert_null(ot_execute1(g, n, ins, &err));
  ot_assert_error(err, MSC_ERR_INVALID_ARG, "input 'w_scale': shape [5], expected a scalar or [6]");
  g_clear_error(&err);
  g_autoptr(MscTensor) xf = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, xd, NULL);
  const MscTensor *ins2[8] = {xf, s0, zp, w, s0, zp, s0, zp};
  g_assert_null(ot_execute1(g, n, ins2, &err));
  ot_assert_error(err, MSC_ERR_UNSUPPORTED, "input 'x': dtype float32 not supported (uint8 or int8)");
  g_clear_error(&err);
  (void)t;
}

static void
test_conv_integer_error_xzp(void)
{
  g_test_summary("ConvInteger: per-channel x_zero_point and a zero point of another dtype are refused");
  g_autoptr(MscGraph) g = msc_graph_new("ci");
  MscNode *n = make_node(g, "ConvInteger", 10, 4, NULL);
  int64_t xd[4] = {1, 4, 5, 5}, wd[4] = {6, 4, 3, 3}, four = 4;
  g_autoptr(MscTensor) x = msc_tensor_new(MSC_DTYPE_UINT8, 4, xd, NULL);
  g_autoptr(MscTensor) w = msc_tensor_new(MSC_DTYPE_UINT8, 4, wd, NULL);
  g_autoptr(MscTensor) xzp4 = msc_tensor_new(MSC_DTYPE_UINT8, 1, &four, NULL);
  g_autoptr(MscTensor) wzp = msc_tensor_new(MSC_DTYPE_UINT8, 0, NULL, NULL);
  g_autoptr(MscTensor) wzp_i8 = msc_tensor_new(MSC_DTYPE_INT8, 0, NULL, NULL);
  const MscTensor *ins[4] = {x, w, xzp4, wzp};
  GError *err = NULL;
  g_assert_null(ot_execute1(g, n, ins, &err));
  ot_assert_error(err, MSC_ERR_INVALID_ARG, "input 'x_zero_point': shape [4], expected a scalar");
  g_clear_error(&err);
  const MscTensor *ins2[4] = {x, w, NULL, wzp_i8};
  g_assert_null(ot_execute1(g, n, ins2, &err));
  ot_assert_error(err, MSC_ERR_INVALID_ARG, "input 'w_zero_point': dtype int8, expected uint8");
  g_clear_error(&err);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ops/conv2d/3x3", test_conv2d_3x3);
  g_test_add_func("/ops/conv2d/hand-computed-5x5-pad1", test_conv2d_hand_computed);
  g_test_add_func("/ops/conv2d/depthwise-3x3s2-same-upper", test_conv2d_depthwise_3x3s2_same_upper);
  g_test_add_func("/ops/conv2d/depthwise-3x3s2-same-lower", test_conv2d_depthwise_3x3s2_same_lower);
  g_test_add_func("/ops/conv2d/depthwise-multiplier2", test_conv2d_depthwise_multiplier);
  g_test_add_func("/ops/conv2d/grouped-g2", test_conv2d_grouped);
  g_test_add_func("/ops/conv2d/dilated-3x3d2x3", test_conv2d_dilated);
  g_test_add_func("/ops/conv2d/dilated-3x3s2d2-same-upper", test_conv2d_dilated_same_upper_s2);
  g_test_add_func("/ops/conv2d/asymmetric-pads-s2", test_conv2d_asymmetric_pads);
  g_test_add_func("/ops/conv2d/stride-gt-kernel-2x2s3", test_conv2d_stride_gt_kernel);
  g_test_add_func("/ops/conv2d/1x1", test_conv2d_1x1);
  g_test_add_func("/ops/conv2d/1x1s2", test_conv2d_1x1_s2);
  g_test_add_func("/ops/conv2d/no-bias-no-attrs-opset1", test_conv2d_no_bias_no_attrs);
  g_test_add_func("/ops/conv2d/valid", test_conv2d_valid);
  g_test_add_func("/ops/conv2d/large-k-multi-block", test_conv2d_large_k);
  g_test_add_func("/ops/conv2d/1d-k3s2d2", test_conv2d_1d);
  g_test_add_func("/ops/conv2d/1d-grouped-same-lower", test_conv2d_1d_grouped_same_lower);
  g_test_add_func("/ops/conv2d/1d-depthwise-s2d2", test_conv2d_1d_depthwise);
  g_test_add_func("/ops/conv2d/single-channel-m6-s1x3", test_conv2d_single_channel_wide);
  g_test_add_func("/ops/conv2d/3d-3x3x3", test_conv2d_3d);
  g_test_add_func("/ops/conv2d/3d-depthwise", test_conv2d_3d_depthwise);
  g_test_add_func("/ops/conv2d/3d-grouped-dilated-same-upper", test_conv2d_3d_grouped_dilated);
  g_test_add_func("/ops/conv2d/float16", test_conv2d_float16);
  g_test_add_func("/ops/conv2d/error/group-not-dividing-channels", test_conv2d_error_group_channels);
  g_test_add_func("/ops/conv2d/error/group-not-dividing-m", test_conv2d_error_group_m);
  g_test_add_func("/ops/conv2d/error/zero-stride", test_conv2d_error_zero_stride);
  g_test_add_func("/ops/conv2d/error/negative-dilation", test_conv2d_error_negative_dilation);
  g_test_add_func("/ops/conv2d/error/w-rank-mismatch", test_conv2d_error_w_rank);
  g_test_add_func("/ops/conv2d/error/bad-auto-pad", test_conv2d_error_bad_auto_pad);
  g_test_add_func("/ops/conv2d/error/pads-length", test_conv2d_error_pads_length);
  g_test_add_func("/ops/conv2d/error/kernel-shape-mismatch", test_conv2d_error_kernel_shape_mismatch);
  g_test_add_func("/ops/conv2d/error/bias-length", test_conv2d_error_bias_length);
  g_test_add_func("/ops/conv2d/error/window-too-large", test_conv2d_error_window_too_large);
  g_test_add_func("/ops/conv2d/error/int32-unsupported", test_conv2d_error_dtype);
  g_test_add_func("/ops/conv2d/error/x-rank2", test_conv2d_error_rank2);
  g_test_add_func("/ops/conv2d/static-infer/unknown-dims", test_conv2d_static_infer);
  g_test_add_func("/ops/conv2d/static-infer/unknown-w", test_conv2d_static_infer_unknown_w);
  g_test_add_func("/ops/conv-transpose/static-infer", test_convt_static_infer);
  g_test_add_func("/ops/conv-transpose/2d-s2-asymmetric-pads", test_convt_2d_s2_pads);
  g_test_add_func("/ops/conv-transpose/same-upper-hand-computed", test_convt_same_upper_hand);
  g_test_add_func("/ops/conv-transpose/same-lower-k4s2", test_convt_same_lower);
  g_test_add_func("/ops/conv-transpose/output-padding", test_convt_output_padding);
  g_test_add_func("/ops/conv-transpose/output-shape", test_convt_output_shape);
  g_test_add_func("/ops/conv-transpose/grouped-dilated", test_convt_grouped_dilated);
  g_test_add_func("/ops/conv-transpose/1d", test_convt_1d);
  g_test_add_func("/ops/conv-transpose/3d", test_convt_3d);
  g_test_add_func("/ops/conv-transpose/error/channels", test_convt_error_channels);
  g_test_add_func("/ops/conv-integer/u8-3x3-pad1", test_conv_integer_u8_pad1);
  g_test_add_func("/ops/conv-integer/i8-per-channel-zp-grouped-s2", test_conv_integer_per_channel_grouped);
  g_test_add_func("/ops/conv-integer/u8x-i8w-depthwise-s2-same-upper", test_conv_integer_mixed_depthwise);
  g_test_add_func("/ops/conv-integer/no-zero-points-1d-3d", test_conv_integer_no_zero_points);
  g_test_add_func("/ops/conv-integer/extremes-exact", test_conv_integer_extremes);
  g_test_add_func("/ops/conv-integer/error/zero-points", test_conv_integer_error_xzp);
  g_test_add_func("/ops/qlinear-conv/u8-bias-pad1", test_qlinear_conv_u8);
  g_test_add_func("/ops/qlinear-conv/i8-per-channel-grouped-s2", test_qlinear_conv_i8_per_channel);
  g_test_add_func("/ops/qlinear-conv/depthwise-same-lower-no-bias", test_qlinear_conv_depthwise_no_bias);
  g_test_add_func("/ops/qlinear-conv/round-half-even-saturate", test_qlinear_conv_round_saturate);
  g_test_add_func("/ops/qlinear-conv/error/w-scale-and-dtype", test_qlinear_conv_error_w_scale);
  return g_test_run();
}
