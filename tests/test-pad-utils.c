/* test-pad-utils.c: ops/pad-utils (auto_pad per ONNX, one begins-then-ends
 * convention, integer output sizes, infer_pad/infer_stride) and a test per
 * TOPI trap of STYLE.md section 5. */
#include <glib.h>
#include <string.h>

#include "error.h"
#include "op-util.h"
#include "pad-utils.h"

static void
assert_pads(const int64_t *got, const int64_t *want, int n2)
{
  for (int i = 0; i < n2; i++)
    g_assert_cmpint(got[i], ==, want[i]);
}

/* The error is MSC_ERR_INVALID_ARG and its message contains @needle. */
static void
assert_error(GError *err, const char *needle)
{
  g_assert_nonnull(err);
  g_assert_cmpint(err->domain, ==, MSC_ERROR);
  g_assert_cmpint(err->code, ==, MSC_ERR_INVALID_ARG);
  if (strstr(err->message, needle) == NULL)
    g_test_message("message: %s", err->message);
  g_assert_nonnull(strstr(err->message, needle));
}

/* one dim with SAME-style auto_pad: returns begin/end */
static void
same_1d(MscAutoPad mode, int64_t in, int64_t k, int64_t s, int64_t d, int64_t *pb, int64_t *pe)
{
  int64_t pads[2] = {-7, -7};
  GError *err = NULL;
  gboolean ok = msc_get_pad_tuple_1d(&in, &k, &s, &d, mode, NULL, 0, pads, &err);
  g_assert_no_error(err);
  g_assert_cmpint(ok, ==, TRUE);
  *pb = pads[0];
  *pe = pads[1];
}

static void
test_pad_utils_auto_pad_parse(void)
{
  g_test_summary("every ONNX auto_pad spelling parses, NULL/\"\" is NOTSET, names round-trip");
  const char *names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
  for (int i = 0; i < 4; i++) {
    MscAutoPad m = 99;
    GError *err = NULL;
    g_assert_cmpint(msc_auto_pad_parse(names[i], &m, &err), ==, TRUE);
    g_assert_no_error(err);
    g_assert_cmpint(m, ==, i);
    g_assert_cmpstr(msc_auto_pad_name(m), ==, names[i]);
  }
  MscAutoPad m = MSC_AUTO_PAD_VALID;
  g_assert_cmpint(msc_auto_pad_parse(NULL, &m, NULL), ==, TRUE);
  g_assert_cmpint(m, ==, MSC_AUTO_PAD_NOTSET);
  m = MSC_AUTO_PAD_VALID;
  g_assert_cmpint(msc_auto_pad_parse("", &m, NULL), ==, TRUE);
  g_assert_cmpint(m, ==, MSC_AUTO_PAD_NOTSET);
}

static void
test_pad_utils_auto_pad_unknown(void)
{
  g_test_summary("an unknown auto_pad string is an error naming it; lowercase is not accepted");
  GError *err = NULL;
  MscAutoPad m = MSC_AUTO_PAD_VALID;
  g_assert_cmpint(msc_auto_pad_parse("SAME_MIDDLE", &m, &err), ==, FALSE);
  assert_error(err, "auto_pad 'SAME_MIDDLE' not in NOTSET|SAME_UPPER|SAME_LOWER|VALID");
  g_assert_cmpint(m, ==, MSC_AUTO_PAD_VALID); /* untouched */
  g_clear_error(&err);
  g_assert_cmpint(msc_auto_pad_parse("same_upper", &m, &err), ==, FALSE);
  assert_error(err, "same_upper");
  g_clear_error(&err);
  /* a NULL error pointer must not change the result */
  g_assert_cmpint(msc_auto_pad_parse("SAME", &m, NULL), ==, FALSE);
}

static void
test_pad_utils_notset_explicit(void)
{
  g_test_summary("NOTSET keeps explicit asymmetric pads in ONNX order; absent pads are zeros");
  int64_t in[2] = {7, 9}, k[2] = {3, 3}, pads[4] = {1, 2, 3, 4}, out[4];
  GError *err = NULL;
  g_assert_cmpint(msc_get_pad_tuple_2d(in, k, NULL, NULL, MSC_AUTO_PAD_NOTSET, pads, 4, out, &err), ==, TRUE);
  g_assert_no_error(err);
  assert_pads(out, pads, 4);
  g_assert_cmpint(msc_get_pad_tuple_2d(in, k, NULL, NULL, MSC_AUTO_PAD_NOTSET, NULL, 0, out, &err), ==, TRUE);
  int64_t zeros[4] = {0, 0, 0, 0};
  assert_pads(out, zeros, 4);
}

static void
test_pad_utils_same_upper_odd(void)
{
  g_test_summary("SAME_UPPER with an odd total puts the extra at the end");
  int64_t pb, pe;
  same_1d(MSC_AUTO_PAD_SAME_UPPER, 5, 4, 1, 1, &pb, &pe); /* total 3 */
  g_assert_cmpint(pb, ==, 1);
  g_assert_cmpint(pe, ==, 2);
  same_1d(MSC_AUTO_PAD_SAME_UPPER, 5, 3, 1, 1, &pb, &pe); /* even total 2 */
  g_assert_cmpint(pb, ==, 1);
  g_assert_cmpint(pe, ==, 1);
}

static void
test_pad_utils_same_lower_odd(void)
{
  g_test_summary("SAME_LOWER with an odd total puts the extra at the beginning");
  int64_t pb, pe;
  same_1d(MSC_AUTO_PAD_SAME_LOWER, 5, 4, 1, 1, &pb, &pe);
  g_assert_cmpint(pb, ==, 2);
  g_assert_cmpint(pe, ==, 1);
  same_1d(MSC_AUTO_PAD_SAME_LOWER, 5, 2, 1, 1, &pb, &pe); /* total 1 */
  g_assert_cmpint(pb, ==, 1);
  g_assert_cmpint(pe, ==, 0);
}

static void
test_pad_utils_same_stride2(void)
{
  g_test_summary("SAME with stride 2: total = (ceil(in/2)-1)*2 + k - in, depends on the input size");
  int64_t pb, pe;
  same_1d(MSC_AUTO_PAD_SAME_UPPER, 7, 3, 2, 1, &pb, &pe); /* out 4, total 2 */
  g_assert_cmpint(pb, ==, 1);
  g_assert_cmpint(pe, ==, 1);
  same_1d(MSC_AUTO_PAD_SAME_UPPER, 8, 3, 2, 1, &pb, &pe); /* out 4, total 1 */
  g_assert_cmpint(pb, ==, 0);
  g_assert_cmpint(pe, ==, 1);
  same_1d(MSC_AUTO_PAD_SAME_LOWER, 8, 3, 2, 1, &pb, &pe);
  g_assert_cmpint(pb, ==, 1);
  g_assert_cmpint(pe, ==, 0);
  /* 224 -> 112 with k=7 s=2 (ResNet stem): total 5 */
  same_1d(MSC_AUTO_PAD_SAME_UPPER, 224, 7, 2, 1, &pb, &pe);
  g_assert_cmpint(pb, ==, 2);
  g_assert_cmpint(pe, ==, 3);
}

static void
test_pad_utils_same_dilation(void)
{
  g_test_summary("SAME with dilation uses the dilated kernel (k-1)*d+1, alone and with stride");
  int64_t pb, pe;
  same_1d(MSC_AUTO_PAD_SAME_UPPER, 10, 3, 1, 2, &pb, &pe); /* dk 5, total 4 */
  g_assert_cmpint(pb, ==, 2);
  g_assert_cmpint(pe, ==, 2);
  same_1d(MSC_AUTO_PAD_SAME_UPPER, 10, 3, 2, 2, &pb, &pe); /* out 5, total 8+5-10 = 3 */
  g_assert_cmpint(pb, ==, 1);
  g_assert_cmpint(pe, ==, 2);
  same_1d(MSC_AUTO_PAD_SAME_LOWER, 10, 3, 2, 2, &pb, &pe);
  g_assert_cmpint(pb, ==, 2);
  g_assert_cmpint(pe, ==, 1);
}

static void
test_pad_utils_same_clamped(void)
{
  g_test_summary("SAME total is clamped at 0 when stride > kernel leaves input over");
  int64_t pb, pe;
  same_1d(MSC_AUTO_PAD_SAME_UPPER, 5, 1, 3, 1, &pb, &pe); /* (2-1)*3+1-5 = -1 */
  g_assert_cmpint(pb, ==, 0);
  g_assert_cmpint(pe, ==, 0);
  int64_t in = 5, k = 1, s = 3, pads[2], out;
  g_assert_cmpint(msc_conv_output_shape_nd(1, &in, &k, &s, NULL, MSC_AUTO_PAD_SAME_UPPER, NULL, 0, 0, pads, &out,
                                           NULL), ==, TRUE);
  g_assert_cmpint(out, ==, 2);
}

static void
test_pad_utils_valid(void)
{
  g_test_summary("VALID means no padding whatever the kernel; output floor((in-dk)/s)+1");
  int64_t in[2] = {7, 8}, k[2] = {3, 2}, s[2] = {2, 3}, pads[4], out[2];
  GError *err = NULL;
  g_assert_cmpint(msc_conv_output_shape_nd(2, in, k, s, NULL, MSC_AUTO_PAD_VALID, NULL, 0, 0, pads, out, &err), ==,
                  TRUE);
  g_assert_no_error(err);
  int64_t zeros[4] = {0, 0, 0, 0};
  assert_pads(pads, zeros, 4);
  g_assert_cmpint(out[0], ==, 3);
  g_assert_cmpint(out[1], ==, 3);
}

static void
test_pad_utils_1d_3d(void)
{
  g_test_summary("1-D and 3-D wrappers equal the N-D core, begins then ends");
  int64_t in3[3] = {5, 8, 10}, k3[3] = {4, 3, 3}, s3[3] = {1, 2, 2}, d3[3] = {1, 1, 2};
  int64_t a[6], b[6];
  g_assert_cmpint(msc_get_pad_tuple_3d(in3, k3, s3, d3, MSC_AUTO_PAD_SAME_UPPER, NULL, 0, a, NULL), ==, TRUE);
  g_assert_cmpint(msc_get_pad_tuple_nd(3, in3, k3, s3, d3, MSC_AUTO_PAD_SAME_UPPER, NULL, 0, b, NULL), ==, TRUE);
  int64_t want[6] = {1, 0, 1, 2, 1, 2}; /* totals 3, 1, 3 */
  assert_pads(a, want, 6);
  assert_pads(b, want, 6);
  int64_t in1 = 8, k1 = 3, s1 = 2, p1[2];
  g_assert_cmpint(msc_get_pad_tuple_1d(&in1, &k1, &s1, NULL, MSC_AUTO_PAD_SAME_UPPER, NULL, 0, p1, NULL), ==, TRUE);
  g_assert_cmpint(p1[0], ==, a[1]);
  g_assert_cmpint(p1[1], ==, a[4]);
}

static void
test_pad_utils_output_dim(void)
{
  g_test_summary("integer output sizes: floor, ceil, ceil dropping a window that starts in end padding");
  int64_t o = 0;
  g_assert_cmpint(msc_conv_output_dim(7, 3, 2, 1, 1, 1, 0, &o, NULL), ==, TRUE);
  g_assert_cmpint(o, ==, 4);
  g_assert_cmpint(msc_conv_output_dim(6, 3, 2, 1, 0, 0, 0, &o, NULL), ==, TRUE);
  g_assert_cmpint(o, ==, 2);
  g_assert_cmpint(msc_conv_output_dim(6, 3, 2, 1, 0, 0, 1, &o, NULL), ==, TRUE);
  g_assert_cmpint(o, ==, 3);
  g_assert_cmpint(msc_conv_output_dim(10, 3, 1, 4, 0, 0, 0, &o, NULL), ==, TRUE); /* dk 9 */
  g_assert_cmpint(o, ==, 2);
  /* in 2, k 2, s 2, end pad 1: ceil gives 2 but window 2 would start at 2 = in + pb */
  g_assert_cmpint(msc_conv_output_dim(2, 2, 2, 1, 0, 1, 1, &o, NULL), ==, TRUE);
  g_assert_cmpint(o, ==, 1);
  /* stride > kernel: windows skip input */
  g_assert_cmpint(msc_conv_output_dim(10, 2, 5, 1, 0, 0, 0, &o, NULL), ==, TRUE);
  g_assert_cmpint(o, ==, 2);
  /* static inference: unknown input -> unknown output */
  g_assert_cmpint(msc_conv_output_dim(-1, 3, 1, 1, 1, 1, 0, &o, NULL), ==, TRUE);
  g_assert_cmpint(o, ==, -1);
}

static void
test_pad_utils_output_dim_invalid(void)
{
  g_test_summary("non-positive results and bad values are errors naming the attribute");
  int64_t o = 123;
  GError *err = NULL;
  g_assert_cmpint(msc_conv_output_dim(2, 5, 1, 1, 0, 0, 0, &o, &err), ==, FALSE);
  assert_error(err, "window larger than padded input");
  g_assert_cmpint(o, ==, 123);
  g_clear_error(&err);
  g_assert_cmpint(msc_conv_output_dim(5, 3, 1, 3, 0, 0, 0, &o, &err), ==, FALSE); /* dk 7 > 5 */
  assert_error(err, "dilated kernel 7");
  g_clear_error(&err);
  g_assert_cmpint(msc_conv_output_dim(5, 3, 0, 1, 0, 0, 0, &o, &err), ==, FALSE);
  assert_error(err, "'strides'");
  g_clear_error(&err);
  g_assert_cmpint(msc_conv_output_dim(5, 3, 1, 0, 0, 0, 0, &o, &err), ==, FALSE);
  assert_error(err, "'dilations'");
  g_clear_error(&err);
  g_assert_cmpint(msc_conv_output_dim(5, 0, 1, 1, 0, 0, 0, &o, &err), ==, FALSE);
  assert_error(err, "'kernel_shape'");
  g_clear_error(&err);
  g_assert_cmpint(msc_conv_output_dim(5, 3, 1, 1, -1, 0, 0, &o, &err), ==, FALSE);
  assert_error(err, "'pads'");
  g_clear_error(&err);
  g_assert_cmpint(msc_conv_output_dim(-2, 3, 1, 1, 0, 0, 0, &o, &err), ==, FALSE);
  assert_error(err, "invalid size -2");
  g_clear_error(&err);
  g_assert_cmpint(msc_conv_output_dim(INT64_MAX, 3, 1, 1, 0, 0, 0, &o, &err), ==, FALSE);
  g_clear_error(&err);
  g_assert_cmpint(msc_conv_output_dim(5, INT64_MAX, 1, 1, 0, 0, 0, &o, &err), ==, FALSE);
  assert_error(err, "too large");
  g_clear_error(&err);
}

static void
test_pad_utils_pad_tuple_invalid(void)
{
  g_test_summary("bad pads length, negative pads, zero stride/dilation, pads with auto_pad, bad rank");
  int64_t in[2] = {7, 7}, k[2] = {3, 3}, s0[2] = {1, 0}, d0[2] = {0, 1}, out[4];
  int64_t pads3[3] = {1, 1, 1}, padsneg[4] = {0, -1, 0, 0}, pads1[4] = {1, 0, 0, 0}, pads0[4] = {0};
  GError *err = NULL;
  g_assert_cmpint(msc_get_pad_tuple_2d(in, k, NULL, NULL, MSC_AUTO_PAD_NOTSET, pads3, 3, out, &err), ==, FALSE);
  assert_error(err, "3 values, expected 4");
  g_clear_error(&err);
  g_assert_cmpint(msc_get_pad_tuple_2d(in, k, NULL, NULL, MSC_AUTO_PAD_NOTSET, padsneg, 4, out, &err), ==, FALSE);
  assert_error(err, "value -1 at index 1");
  g_clear_error(&err);
  g_assert_cmpint(msc_get_pad_tuple_2d(in, k, s0, NULL, MSC_AUTO_PAD_SAME_UPPER, NULL, 0, out, &err), ==, FALSE);
  assert_error(err, "attribute 'strides': value 0 at dim 1");
  g_clear_error(&err);
  g_assert_cmpint(msc_get_pad_tuple_2d(in, k, NULL, d0, MSC_AUTO_PAD_NOTSET, NULL, 0, out, &err), ==, FALSE);
  assert_error(err, "attribute 'dilations': value 0 at dim 0");
  g_clear_error(&err);
  g_assert_cmpint(msc_get_pad_tuple_2d(in, k, NULL, NULL, MSC_AUTO_PAD_SAME_LOWER, pads1, 4, out, &err), ==, FALSE);
  assert_error(err, "with auto_pad SAME_LOWER");
  g_clear_error(&err);
  /* all-zero pads next to auto_pad are harmless and accepted */
  g_assert_cmpint(msc_get_pad_tuple_2d(in, k, NULL, NULL, MSC_AUTO_PAD_VALID, pads0, 4, out, &err), ==, TRUE);
  g_assert_no_error(err);
  g_assert_cmpint(msc_get_pad_tuple_nd(0, in, k, NULL, NULL, MSC_AUTO_PAD_NOTSET, NULL, 0, out, &err), ==, FALSE);
  assert_error(err, "0 spatial dims");
  g_clear_error(&err);
  g_assert_cmpint(msc_get_pad_tuple_nd(2, in, k, NULL, NULL, (MscAutoPad)17, NULL, 0, out, &err), ==, FALSE);
  assert_error(err, "auto_pad value 17");
  g_clear_error(&err);
}

static void
test_pad_utils_unknown_input(void)
{
  g_test_summary("static inference: an unknown input dim gives -1 SAME pads and -1 output, others resolve");
  int64_t in[2] = {-1, 8}, k[2] = {3, 3}, s[2] = {2, 2}, pads[4], out[2];
  GError *err = NULL;
  g_assert_cmpint(msc_conv_output_shape_nd(2, in, k, s, NULL, MSC_AUTO_PAD_SAME_UPPER, NULL, 0, 0, pads, out, &err),
                  ==, TRUE);
  g_assert_no_error(err);
  int64_t want[4] = {-1, 0, -1, 1};
  assert_pads(pads, want, 4);
  g_assert_cmpint(out[0], ==, -1);
  g_assert_cmpint(out[1], ==, 4);
}

static void
test_pad_utils_output_shape_same_ceil(void)
{
  g_test_summary("SAME output is ceil(in/stride) even in ceil mode; NOTSET follows the pads");
  int64_t in[2] = {5, 6}, k[2] = {1, 3}, s[2] = {3, 2}, pads[4], out[2];
  g_assert_cmpint(msc_conv_output_shape_nd(2, in, k, s, NULL, MSC_AUTO_PAD_SAME_LOWER, NULL, 0, 1, pads, out, NULL),
                  ==, TRUE);
  g_assert_cmpint(out[0], ==, 2);
  g_assert_cmpint(out[1], ==, 3);
  int64_t ex[4] = {1, 0, 1, 0};
  g_assert_cmpint(msc_conv_output_shape_nd(2, in, k, s, NULL, MSC_AUTO_PAD_NOTSET, ex, 4, 0, pads, out, NULL), ==,
                  TRUE);
  g_assert_cmpint(out[0], ==, 3); /* (5+2-1)/3+1 */
  g_assert_cmpint(out[1], ==, 2); /* (6-3)/2+1 */
  GError *err = NULL;
  int64_t big[2] = {2, 2}, kk[2] = {3, 3};
  g_assert_cmpint(msc_conv_output_shape_nd(2, big, kk, NULL, NULL, MSC_AUTO_PAD_VALID, NULL, 0, 0, pads, out, &err),
                  ==, FALSE);
  assert_error(err, "spatial dim 0");
  g_clear_error(&err);
}

static void
test_pad_utils_infer_pad(void)
{
  g_test_summary("infer_pad: the smallest pads giving the output, begins then ends; unreachable is an error");
  int64_t in[2] = {7, 8}, out[2] = {7, 4}, k[2] = {3, 3}, s[2] = {1, 2}, pads[4];
  GError *err = NULL;
  g_assert_cmpint(msc_infer_pad(2, in, out, k, s, NULL, MSC_AUTO_PAD_SAME_UPPER, pads, &err), ==, TRUE);
  g_assert_no_error(err);
  int64_t want[4] = {1, 0, 1, 1};
  assert_pads(pads, want, 4);
  g_assert_cmpint(msc_infer_pad(2, in, out, k, s, NULL, MSC_AUTO_PAD_SAME_LOWER, pads, &err), ==, TRUE);
  int64_t want_lower[4] = {1, 1, 1, 0};
  assert_pads(pads, want_lower, 4);
  /* round trip: those pads give back the requested output */
  int64_t o;
  g_assert_cmpint(msc_conv_output_dim(in[1], k[1], s[1], 1, pads[1], pads[3], 0, &o, NULL), ==, TRUE);
  g_assert_cmpint(o, ==, out[1]);
  /* 9 -> 2 with k 3 s 1 cannot be reached: no padding already gives 7 */
  int64_t in1 = 9, out1 = 2, k1 = 3, p[2];
  g_assert_cmpint(msc_infer_pad(1, &in1, &out1, &k1, NULL, NULL, MSC_AUTO_PAD_NOTSET, p, &err), ==, FALSE);
  assert_error(err, "output 2 not reachable from input 9");
  g_clear_error(&err);
  out1 = 0;
  g_assert_cmpint(msc_infer_pad(1, &in1, &out1, &k1, NULL, NULL, MSC_AUTO_PAD_NOTSET, p, &err), ==, FALSE);
  assert_error(err, "must be >= 1");
  g_clear_error(&err);
}

static void
test_pad_utils_infer_stride(void)
{
  g_test_summary("infer_stride: (in+pads-dk)/(out-1) checked exact; out 1 and impossible cases");
  int64_t in[2] = {224, 7}, out[2] = {112, 1}, k[2] = {7, 3}, pads[4] = {3, 0, 2, 0}, st[2];
  GError *err = NULL;
  g_assert_cmpint(msc_infer_stride(2, in, out, k, NULL, pads, st, &err), ==, TRUE);
  g_assert_no_error(err);
  g_assert_cmpint(st[0], ==, 2);
  g_assert_cmpint(st[1], ==, 5); /* span 4: any stride > 4 gives exactly one window */
  int64_t o;
  g_assert_cmpint(msc_conv_output_dim(in[1], k[1], st[1], 1, 0, 0, 0, &o, NULL), ==, TRUE);
  g_assert_cmpint(o, ==, 1);
  int64_t in1 = 6, out1 = 4, k1 = 1;
  g_assert_cmpint(msc_infer_stride(1, &in1, &out1, &k1, NULL, NULL, st, &err), ==, FALSE);
  assert_error(err, "no stride maps input 6");
  g_clear_error(&err);
}

/* --- TOPI traps (STYLE.md section 5), one test each --- */

static void
test_pad_utils_trap_layout(void)
{
  g_test_summary("trap: TOPI get_pad_tuple is (top,left,down,right) but generic is [begins,ends]; ours are one layout");
  /* distinct totals per dim so a swapped layout cannot pass */
  int64_t in[2] = {5, 9}, k[2] = {4, 2}, out2[4], outn[4];
  g_assert_cmpint(msc_get_pad_tuple_2d(in, k, NULL, NULL, MSC_AUTO_PAD_SAME_UPPER, NULL, 0, out2, NULL), ==, TRUE);
  g_assert_cmpint(msc_get_pad_tuple_nd(2, in, k, NULL, NULL, MSC_AUTO_PAD_SAME_UPPER, NULL, 0, outn, NULL), ==, TRUE);
  int64_t want[4] = {1, 0, 2, 1}; /* begins (h, w), then ends (h, w) */
  assert_pads(out2, want, 4);
  assert_pads(outn, want, 4);
  /* each 1-D call gives the matching (begin, end) pair of the 2-D result */
  for (int d = 0; d < 2; d++) {
    int64_t p[2];
    g_assert_cmpint(msc_get_pad_tuple_1d(&in[d], &k[d], NULL, NULL, MSC_AUTO_PAD_SAME_UPPER, NULL, 0, p, NULL), ==,
                    TRUE);
    g_assert_cmpint(p[0], ==, out2[d]);
    g_assert_cmpint(p[1], ==, out2[2 + d]);
  }
}

static void
test_pad_utils_trap_infer_pad_rank(void)
{
  g_test_summary("trap: TOPI infer_pad halves the total, infer_pad3d does not; ours agree across ranks");
  int64_t in3[3] = {9, 9, 9}, out3[3] = {9, 9, 9}, k3[3] = {5, 5, 5}, p3[6], p2[4], p1[2];
  g_assert_cmpint(msc_infer_pad(3, in3, out3, k3, NULL, NULL, MSC_AUTO_PAD_NOTSET, p3, NULL), ==, TRUE);
  g_assert_cmpint(msc_infer_pad(2, in3, out3, k3, NULL, NULL, MSC_AUTO_PAD_NOTSET, p2, NULL), ==, TRUE);
  g_assert_cmpint(msc_infer_pad(1, in3, out3, k3, NULL, NULL, MSC_AUTO_PAD_NOTSET, p1, NULL), ==, TRUE);
  /* total 4 each: begin 2, end 2, in every rank (not 4, not 1) */
  for (int i = 0; i < 6; i++)
    g_assert_cmpint(p3[i], ==, 2);
  for (int i = 0; i < 4; i++)
    g_assert_cmpint(p2[i], ==, 2);
  g_assert_cmpint(p1[0], ==, 2);
  g_assert_cmpint(p1[1], ==, 2);
}

static void
test_pad_utils_trap_same_stride(void)
{
  g_test_summary("trap: TOPI SAME is kernel-1 whatever stride/dilation; ONNX SAME depends on them and the input");
  int64_t pb, pe;
  /* k 3: TOPI says total 2; ONNX with stride 2 on 8 gives 1 */
  same_1d(MSC_AUTO_PAD_SAME_UPPER, 8, 3, 2, 1, &pb, &pe);
  g_assert_cmpint(pb + pe, ==, 1);
  /* k 3 dilation 2: TOPI says 2; ONNX gives 4 */
  same_1d(MSC_AUTO_PAD_SAME_UPPER, 8, 3, 1, 2, &pb, &pe);
  g_assert_cmpint(pb + pe, ==, 4);
  /* same kernel and stride, other input size: other total */
  same_1d(MSC_AUTO_PAD_SAME_UPPER, 7, 3, 2, 1, &pb, &pe);
  g_assert_cmpint(pb + pe, ==, 2);
}

static void
test_pad_utils_trap_same_odd_side(void)
{
  g_test_summary("trap: TOPI puts SAME's odd extra at the beginning; ONNX SAME_UPPER at the end");
  int64_t pb, pe;
  same_1d(MSC_AUTO_PAD_SAME_UPPER, 6, 2, 1, 1, &pb, &pe); /* total 1 */
  g_assert_cmpint(pb, ==, 0);
  g_assert_cmpint(pe, ==, 1);
  same_1d(MSC_AUTO_PAD_SAME_LOWER, 6, 2, 1, 1, &pb, &pe);
  g_assert_cmpint(pb, ==, 1);
  g_assert_cmpint(pe, ==, 0);
}

/* --- msc_window_from_attrs (the node-attribute front end) --- */

typedef struct {
  MscAttr attrs[8];
  MscNode node;
  MscOpCtx ctx;
} WindowCase;

static void
window_case_init(WindowCase *c)
{
  memset(c, 0, sizeof *c);
  c->node.name = "pool0";
  c->node.op_type = "MaxPool";
  c->node.domain = "";
  c->node.opset = 12;
  c->node.attrs = c->attrs;
  c->ctx.node = &c->node;
}

static void
window_case_ints(WindowCase *c, const char *name, int64_t *v, size_t n)
{
  MscAttr *a = &c->attrs[c->node.n_attrs++];
  a->name = (char *)name;
  a->type = MSC_ATTR_INTS;
  a->ints = v;
  a->n = n;
}

static void
window_case_int(WindowCase *c, const char *name, int64_t v)
{
  MscAttr *a = &c->attrs[c->node.n_attrs++];
  a->name = (char *)name;
  a->type = MSC_ATTR_INT;
  a->i = v;
}

static void
test_pad_utils_window_pool(void)
{
  g_test_summary("window from node attributes: pooling style (kernel_shape required, ceil_mode read)");
  WindowCase c;
  window_case_init(&c);
  int64_t ks[2] = {3, 3}, st[2] = {2, 2}, in[2] = {6, 7};
  window_case_ints(&c, "kernel_shape", ks, 2);
  window_case_ints(&c, "strides", st, 2);
  window_case_int(&c, "ceil_mode", 1);
  MscWindow w;
  g_assert_cmpint(msc_window_from_attrs(&c.ctx, 2, in, NULL, 1, &w), ==, MSC_OK);
  g_assert_cmpint(w.ceil_mode, ==, 1);
  g_assert_cmpint(w.out[0], ==, 3); /* ceil(3/2)+1 */
  g_assert_cmpint(w.out[1], ==, 3); /* ceil(4/2)+1 */
  g_assert_cmpint(w.dilation[0], ==, 1);
  /* without with_ceil_mode the attribute is not read: floor */
  g_assert_cmpint(msc_window_from_attrs(&c.ctx, 2, in, NULL, 0, &w), ==, MSC_OK);
  g_assert_cmpint(w.out[0], ==, 2);
}

static void
test_pad_utils_window_errors(void)
{
  g_test_summary("window from node attributes: missing kernel_shape, bad ceil_mode, W mismatch, bad auto_pad");
  int64_t in[2] = {6, 7}, ks[2] = {3, 3}, w_kernel[2] = {3, 5};
  WindowCase c;
  window_case_init(&c);
  MscWindow w;
  g_assert_cmpint(msc_window_from_attrs(&c.ctx, 2, in, NULL, 1, &w), ==, MSC_ERR_INVALID_ARG);
  g_assert_cmpstr(c.ctx.message, ==, "attribute 'kernel_shape' is required");

  window_case_init(&c);
  window_case_ints(&c, "kernel_shape", ks, 2);
  window_case_int(&c, "ceil_mode", 2);
  g_assert_cmpint(msc_window_from_attrs(&c.ctx, 2, in, NULL, 1, &w), ==, MSC_ERR_INVALID_ARG);
  g_assert_cmpstr(c.ctx.message, ==, "attribute 'ceil_mode': 2 not in 0|1");

  window_case_init(&c);
  window_case_ints(&c, "kernel_shape", ks, 2);
  g_assert_cmpint(msc_window_from_attrs(&c.ctx, 2, in, w_kernel, 0, &w), ==, MSC_ERR_INVALID_ARG);
  g_assert_cmpstr(c.ctx.message, ==, "attribute 'kernel_shape': value 3 at dim 1 != W spatial dim 5");

  window_case_init(&c);
  MscAttr *a = &c.attrs[c.node.n_attrs++];
  a->name = "auto_pad";
  a->type = MSC_ATTR_STRING;
  a->s = "SAME";
  g_assert_cmpint(msc_window_from_attrs(&c.ctx, 2, in, w_kernel, 0, &w), ==, MSC_ERR_INVALID_ARG);
  g_assert_cmpstr(c.ctx.message, ==, "attribute auto_pad 'SAME' not in NOTSET|SAME_UPPER|SAME_LOWER|VALID");

  /* kernel from W of unknown size (static inference): outputs unknown, no error */
  window_case_init(&c);
  int64_t unknown[2] = {-1, -1};
  g_assert_cmpint(msc_window_from_attrs(&c.ctx, 2, in, unknown, 0, &w), ==, MSC_OK);
  g_assert_cmpint(w.kernel_known, ==, 0);
  g_assert_cmpint(w.out[0], ==, -1);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/pad-utils/auto-pad/parse", test_pad_utils_auto_pad_parse);
  g_test_add_func("/pad-utils/auto-pad/unknown-rejected", test_pad_utils_auto_pad_unknown);
  g_test_add_func("/pad-utils/notset/explicit-asymmetric", test_pad_utils_notset_explicit);
  g_test_add_func("/pad-utils/same-upper/odd-total", test_pad_utils_same_upper_odd);
  g_test_add_func("/pad-utils/same-lower/odd-total", test_pad_utils_same_lower_odd);
  g_test_add_func("/pad-utils/same/stride2", test_pad_utils_same_stride2);
  g_test_add_func("/pad-utils/same/dilation2", test_pad_utils_same_dilation);
  g_test_add_func("/pad-utils/same/stride-gt-kernel-clamped", test_pad_utils_same_clamped);
  g_test_add_func("/pad-utils/valid", test_pad_utils_valid);
  g_test_add_func("/pad-utils/1d-3d-wrappers", test_pad_utils_1d_3d);
  g_test_add_func("/pad-utils/output-dim/floor-ceil", test_pad_utils_output_dim);
  g_test_add_func("/pad-utils/output-dim/invalid", test_pad_utils_output_dim_invalid);
  g_test_add_func("/pad-utils/pad-tuple/invalid", test_pad_utils_pad_tuple_invalid);
  g_test_add_func("/pad-utils/pad-tuple/unknown-input", test_pad_utils_unknown_input);
  g_test_add_func("/pad-utils/output-shape/same-ceil-mode", test_pad_utils_output_shape_same_ceil);
  g_test_add_func("/pad-utils/infer-pad", test_pad_utils_infer_pad);
  g_test_add_func("/pad-utils/infer-stride", test_pad_utils_infer_stride);
  g_test_add_func("/pad-utils/trap/layout-begins-then-ends", test_pad_utils_trap_layout);
  g_test_add_func("/pad-utils/trap/infer-pad-same-across-ranks", test_pad_utils_trap_infer_pad_rank);
  g_test_add_func("/pad-utils/trap/same-depends-on-stride-dilation", test_pad_utils_trap_same_stride);
  g_test_add_func("/pad-utils/trap/same-upper-odd-at-end", test_pad_utils_trap_same_odd_side);
  g_test_add_func("/pad-utils/window/pool-attrs", test_pad_utils_window_pool);
  g_test_add_func("/pad-utils/window/errors", test_pad_utils_window_errors);
  return g_test_run();
}
