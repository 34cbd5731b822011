/* test-conv-kernels.c: the fast conv plans (ops/kernels) at every ISA level
 * this CPU supports, against a naive double-accumulating NCHW reference,
 * plus the thread pool. Cases are named by shape, XNNPACK-style:
 * /conv-kernels/<isa>/<shape>; /conv-kernels/<isa>/winograd/<shape> force
 * Winograd F(4,3), /conv-kernels/<isa>/cvec/<shape> the channel-vectorized
 * direct kernel, /conv-kernels/<isa>/xpos/<shape> the grid kernel over
 * output positions. Tolerance: max |error| <= 1e-4 x max |reference| for
 * every algorithm; Winograd's measured worst is ~2e-5 (benchmarks/
 * conv-kernels, random data, C up to 512), direct/depthwise ~1e-6. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* posix_memalign */
#endif
#include <glib.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/conv2d-kernels.h"
#include "kernels/conv2d-plan.h"
#include "threadpool.h"

/* ---- tester ------------------------------------------------------------- */

typedef struct {
  const char *name;
  int64_t n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups;
  MscActivation act;
  float act_a, act_b;
  gboolean residual, no_bias;
  int force; /* FORCE_*: the plan's own rule, or an algorithm that must be chosen */
} ConvCase;

enum {
  FORCE_NONE,
  FORCE_WINO /* MSC_WINOGRAD=2 */,
  FORCE_CVEC /* MSC_CONV_CVEC=2 */,
  FORCE_XPOS /* MSC_DENSE_XPOS=2 */
};
static const char *const force_env[] = {NULL, "MSC_WINOGRAD", "MSC_CONV_CVEC", "MSC_DENSE_XPOS"};
static const char *const force_desc[] = {NULL, "winograd", "cvec", "xpos"};

typedef struct {
  ConvCase cc;
  MscIsa isa;
} ConvTest;

static float act_ref(double v, MscActivation act, float a, float b) {
  switch (act) {
  case MSC_ACT_NONE: return (float) v;
  case MSC_ACT_RELU: return (float) (v > 0 ? v : 0);
  case MSC_ACT_CLIP: return (float) fmin(fmax(v, a), b);
  case MSC_ACT_LEAKY_RELU: return (float) (v < 0 ? a * v : v);
  case MSC_ACT_HARD_SWISH: return (float) (v * fmin(fmax(v / 6 + 0.5, 0), 1));
  case MSC_ACT_HARD_SIGMOID: return (float) fmin(fmax(a * v + b, 0), 1);
  case MSC_ACT_SIGMOID: return (float) (1 / (1 + exp(-v)));
  }
  return (float) v;
}

static void conv_ref(const ConvCase *t, int64_t oh_n, int64_t ow_n, const float *x, const float *w, const float *bias,
                     const float *res, float *y) {
  const int64_t cg = t->c / t->groups, mg = t->m / t->groups;
  for (int64_t n = 0; n < t->n; n++)
    for (int64_t m = 0; m < t->m; m++) {
      const int64_t g = m / mg;
      for (int64_t oh = 0; oh < oh_n; oh++)
        for (int64_t ow = 0; ow < ow_n; ow++) {
          double s = bias ? bias[m] : 0.0;
          for (int64_t c = 0; c < cg; c++)
            for (int64_t i = 0; i < t->kh; i++) {
              const int64_t ih = oh * t->sh - t->pt + i * t->dh;
              if (ih < 0 || ih >= t->h)
                continue;
              for (int64_t j = 0; j < t->kw; j++) {
                const int64_t iw = ow * t->sw - t->pl + j * t->dw;
                if (iw < 0 || iw >= t->w)
                  continue;
                s += (double) x[((n * t->c + g * cg + c) * t->h + ih) * t->w + iw] *
                     (double) w[((m * cg + c) * t->kh + i) * t->kw + j];
              }
            }
          const int64_t o = ((n * t->m + m) * oh_n + oh) * ow_n + ow;
          if (res)
            s += res[o];
          y[o] = act_ref(s, t->act, t->act_a, t->act_b);
        }
    }
}

static void fill(GRand *r, float *p, size_t n, double lo, double hi) {
  for (size_t i = 0; i < n; i++)
    p[i] = (float) g_rand_double_range(r, lo, hi);
}

static MscConv2dParams params_of(const ConvCase *t) {
  MscConv2dParams p = {
      .batch = t->n, .in_channels = t->c, .in_h = t->h, .in_w = t->w, .out_channels = t->m,
      .kernel_h = t->kh, .kernel_w = t->kw, .stride_h = t->sh, .stride_w = t->sw,
      .dilation_h = t->dh, .dilation_w = t->dw, .pad_top = t->pt, .pad_left = t->pl,
      .pad_bottom = t->pb, .pad_right = t->pr, .groups = t->groups,
      .act = t->act, .act_a = t->act_a, .act_b = t->act_b,
  };
  return p;
}

/* Puts environment variable @name back to @saved (a g_strdup of its old
 * value, NULL: it was unset) and frees @saved. */
static void env_restore(const char *name, char *saved) {
  if (saved)
    g_setenv(name, saved, TRUE);
  else
    g_unsetenv(name);
  g_free(saved);
}

/* Runs the case inline and on a 2-thread pool (y aliasing the residual on
 * the pooled run) and compares both with the reference. */
static void test_conv_kernels_case(gconstpointer data) {
  const ConvTest *ct = data;
  const ConvCase *t = &ct->cc;
  g_test_summary("fast conv plan matches the naive double reference for this shape, ISA, epilogue, 1 and 2 threads");
  GRand *rng = g_rand_new_with_seed(1234);
  const MscConv2dParams p = params_of(t);
  const int64_t cg = t->c / t->groups;
  const size_t nx = (size_t) (t->n * t->c * t->h * t->w), nw = (size_t) (t->m * cg * t->kh * t->kw);
  float *x = g_new(float, nx), *w = g_new(float, nw), *bias = g_new(float, t->m);
  fill(rng, x, nx, -1, 1);
  fill(rng, w, nw, -1, 1);
  fill(rng, bias, (size_t) t->m, -1, 1);

  GError *err = NULL;
  const char *env = force_env[t->force];
  char *saved = env ? g_strdup(g_getenv(env)) : NULL;
  /* a forced direct kernel (cvec, xpos) with Winograd off: the rule would take some of their shapes */
  const gboolean wino_off = t->force > 1;
  char *saved_wino = wino_off ? g_strdup(g_getenv("MSC_WINOGRAD")) : NULL;
  if (env)
    g_setenv(env, "2", TRUE);
  if (wino_off)
    g_setenv("MSC_WINOGRAD", "0", TRUE);
  MscConv2dPlan *plan = msc_conv2d_plan_create(&p, w, t->no_bias ? NULL : bias, ct->isa, &err);
  if (env)
    env_restore(env, saved);
  if (wino_off)
    env_restore("MSC_WINOGRAD", saved_wino);
  g_assert_no_error(err);
  g_assert_nonnull(plan);
  if (t->force)
    g_assert_nonnull(strstr(msc_conv2d_plan_describe(plan), force_desc[t->force]));
  int64_t dims[4];
  msc_conv2d_plan_output_shape(plan, dims);
  const int64_t oh = (t->h + t->pt + t->pb - ((t->kh - 1) * t->dh + 1)) / t->sh + 1;
  const int64_t ow = (t->w + t->pl + t->pr - ((t->kw - 1) * t->dw + 1)) / t->sw + 1;
  g_assert_cmpint(dims[0], ==, t->n);
  g_assert_cmpint(dims[1], ==, t->m);
  g_assert_cmpint(dims[2], ==, oh);
  g_assert_cmpint(dims[3], ==, ow);
  const size_t ny = (size_t) (t->n * t->m * oh * ow);
  float *res = NULL;
  if (t->residual) {
    res = g_new(float, ny);
    fill(rng, res, ny, -2, 2);
  }
  float *ref = g_new(float, ny), *y = g_new(float, ny);
  conv_ref(t, oh, ow, x, w, t->no_bias ? NULL : bias, res, ref);
  double scale = 0;
  for (size_t i = 0; i < ny; i++)
    scale = fmax(scale, fabs(ref[i]));
  const double tol = 1e-4 * fmax(scale, 1e-2);

  size_t wsb = msc_conv2d_plan_workspace_size(plan);
  void *ws = NULL;
  g_assert_cmpint(posix_memalign(&ws, 64, wsb + 64), ==, 0);

  /* run 0 inline, run 1 on 2 threads (y aliasing the residual), run 2 on
   * 3 threads: more threads than the per-thread scratch slots of a
   * Winograd plan on this 2-core machine */
  MscThreadPool *pool = msc_threadpool_new(2), *pool3 = msc_threadpool_new(3);
  double worst_rel = 0;
  for (int run = 0; run < 3; run++) {
    float *out = y;
    const float *r = res;
    if (run == 1 && res) { /* y may alias the residual */
      memcpy(y, res, ny * sizeof(float));
      r = y;
    } else {
      for (size_t i = 0; i < ny; i++)
        y[i] = NAN; /* every output must be written */
    }
    msc_conv2d_plan_run(plan, x, r, out, ws, run == 0 ? NULL : run == 1 ? pool : pool3);
    double maxerr = 0;
    size_t worst = 0;
    for (size_t i = 0; i < ny; i++) {
      double e = fabs((double) out[i] - ref[i]);
      if (!(e <= maxerr)) { /* catches NaN too */
        maxerr = isnan(e) ? INFINITY : e;
        worst = i;
      }
    }
    if (maxerr > tol)
      g_test_message("%s (%s, run %d): worst at %zu: got %g want %g", t->name, msc_conv2d_plan_describe(plan), run,
                     worst, out[worst], ref[worst]);
    g_assert_cmpfloat(maxerr, <=, tol);
    worst_rel = fmax(worst_rel, maxerr / fmax(scale, 1e-2));
  }
  g_test_message("%s: max |error| / max |ref| = %.2e (%s)", t->name, worst_rel, msc_conv2d_plan_describe(plan));
  msc_threadpool_free(pool);
  msc_threadpool_free(pool3);
  free(ws);
  msc_conv2d_plan_free(plan);
  g_free(x);
  g_free(w);
  g_free(bias);
  g_free(res);
  g_free(ref);
  g_free(y);
  g_rand_free(rng);
}

#define D(nm, N, C, H, W, M, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, G)                                               \
  {.name = nm, .n = N, .c = C, .h = H, .w = W, .m = M, .kh = KH, .kw = KW, .sh = SH, .sw = SW, .dh = DH, .dw = DW,     \
   .pt = PT, .pl = PL, .pb = PB, .pr = PR, .groups = G}

static const ConvCase cases[] = {
    D("3x3s1-c64-m64-p1-14x14", 1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    D("3x3s1-c16-m24-p1-13x17", 1, 16, 13, 17, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    D("3x3s1-c5-m7-p0-9x11", 1, 5, 9, 11, 7, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    D("3x3s1-c8-m8-p1-7x7", 1, 8, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    D("3x3s1-c4-m4-p1-1x1", 1, 4, 1, 1, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    D("3x3s2-c16-m32-p1-15x15", 1, 16, 15, 15, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),
    D("3x3s2-c8-m8-same-upper-16x16", 1, 8, 16, 16, 8, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1),
    D("3x3s3-c4-m6-p1-20x19", 1, 4, 20, 19, 6, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1),
    D("1x1-c64-m32-14x14", 1, 64, 14, 14, 32, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    D("1x1-c32-m16-16x16-direct", 1, 32, 16, 16, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    D("1x1-c24-m144-8x8", 1, 24, 8, 8, 144, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    /* 1x1 past one panel chunk (C > 170): the last chunk's kernel stores
     * the outputs from registers after the earlier chunks' sums; 22
     * channels: a last block of 2 */
    D("1x1-c256-m22-12x12-chunks", 1, 256, 12, 12, 22, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    /* more output channels than the partial-sum slots of one group (AVX2:
     * 85 blocks of 4): two groups, each repacking the tile, two chunks */
    D("1x1-c200-m360-10x10-groups", 1, 200, 10, 10, 360, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    D("1x1s2-c16-m32-15x15", 1, 16, 15, 15, 32, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1),
    /* rows of 19 every-other columns: the vector steps of pick2 and its overlapping tail (AVX-512 too) */
    D("1x1s2-c8-m12-9x37", 1, 8, 9, 37, 12, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1),
    D("1x1s2-p1-c5-m6-7x38", 1, 5, 7, 38, 6, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1),
    D("7x7s2-c3-m16-p3-32x32", 1, 3, 32, 32, 16, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1),
    D("7x7s2-c3-m64-p3-33x35", 1, 3, 33, 35, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1),
    D("5x5s1-c6-m10-p2-12x12", 1, 6, 12, 12, 10, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1),
    D("3x3d2-c8-m8-p2-13x13", 1, 8, 13, 13, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1),
    D("3x3s2d2-c8-m12-p2-17x16", 1, 8, 17, 16, 12, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1),
    D("3x1-c8-m8-p1x0-10x12", 1, 8, 10, 12, 8, 3, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1),
    D("1x3s1x2-c8-m8-p0x1-10x12", 1, 8, 10, 12, 8, 1, 3, 1, 2, 1, 1, 0, 1, 0, 1, 1),
    D("3x3-asym-pads-c8-m8-11x9", 1, 8, 11, 9, 8, 3, 3, 1, 1, 1, 1, 0, 2, 2, 0, 1),
    D("3x3-g4-c32-m32-p1-10x10", 1, 32, 10, 10, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4),
    D("3x3-g2-c16-m8-p1-9x9", 1, 16, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2),
    D("1x1-g3-c24-m12-7x7", 1, 24, 7, 7, 12, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 3),
    D("3x3s1-c16-m16-p1-batch2", 2, 16, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    D("1x1-c32-m16-batch2", 2, 32, 8, 8, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    D("depthwise-3x3s1-c24-p1-19x23", 1, 24, 19, 23, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 24),
    D("depthwise-3x3s2-c16-p1-20x21", 1, 16, 20, 21, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 16),
    D("depthwise-3x3s2-c8-same-upper-16x16", 1, 8, 16, 16, 8, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 8),
    D("depthwise-5x5s1-c8-p2-14x14", 1, 8, 14, 14, 8, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 8),
    D("depthwise-5x5s2-c8-p2-17x17", 1, 8, 17, 17, 8, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 8),
    D("depthwise-3x3d2-c8-p2-12x12", 1, 8, 12, 12, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 8),
    D("depthwise-3x3s1-c4-p1-3x40", 1, 4, 3, 40, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4),
    D("depthwise-3x3s1-c8-p1-batch2", 2, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8),
    D("depthwise-mult2-3x3-c8-m16-p1", 1, 8, 10, 10, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8),
    /* 3x3 stride-1 depthwise reads x in place: interior vectors, edge
     * windows, partial vectors, 4-row passes with 1..3 rows left over */
    D("depthwise-3x3s1-c3-p1-14x70", 1, 3, 14, 70, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3),
    D("depthwise-3x3s1-c2-p0-7x33", 1, 2, 7, 33, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 2),
    D("depthwise-3x3s1-c2-asym-p-10x17", 1, 2, 10, 17, 2, 3, 3, 1, 1, 1, 1, 0, 2, 2, 0, 2),
    D("depthwise-3x3s1-c2-p2-5x9", 1, 2, 5, 9, 2, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 2),
    D("depthwise-3x3s1-c3-p1-6x1", 1, 3, 6, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3),
    D("depthwise-3x3s1-c3-p1-1x2", 1, 3, 1, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3),
    D("depthwise-3x3s1-c4-p1-9x16", 1, 4, 9, 16, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4),
    /* 3x3 stride-1 pad-1 on planes of <= 16 columns: the flat kernel
     * (vectors across row ends, masked left/right taps; 9x16, 9x9, 6x1,
     * 1x2 above also take it) */
    D("depthwise-3x3s1-c5-p1-14x14-flat", 1, 5, 14, 14, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5),
    D("depthwise-3x3s1-c3-p1-7x7-flat", 1, 3, 7, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3),
    D("depthwise-3x3s1-c3-p1-13x11-batch2-flat", 2, 3, 13, 11, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3),
    D("depthwise-3x3s2-c4-p1-11x37", 1, 4, 11, 37, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 4),
    /* 3x3 / 5x5 stride-2 depthwise in place: interior and masked vectors,
     * odd output widths, no padding, a narrow all-edge map */
    D("depthwise-3x3s2-c3-p1-9x70", 1, 3, 9, 70, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3),
    D("depthwise-5x5s2-c2-p2-7x75", 1, 2, 7, 75, 2, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 2),
    D("depthwise-3x3s2-c2-p0-5x6", 1, 2, 5, 6, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 2),
    D("depthwise-5x5s2-c2-p2-batch2-10x41", 2, 2, 10, 41, 2, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 2),
    /* 5x5 stride-1 depthwise in place: 2-row maps (PP-OCR), all-edge
     * narrow rows, asymmetric pads */
    D("depthwise-5x5s1-c3-p2-2x37", 1, 3, 2, 37, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 3),
    D("depthwise-5x5s1-c2-p2-3x5", 1, 2, 3, 5, 2, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 2),
    D("depthwise-5x5s1-c2-asym-p-9x29", 1, 2, 9, 29, 2, 5, 5, 1, 1, 1, 1, 1, 3, 3, 1, 2),
    /* output rows shorter than a vector: one vector's grid points span
     * several rows, stored as up to VL separate runs (every epilogue) */
    D("3x3s1-c16-m12-p1-4x5", 1, 16, 4, 5, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
};

#define WINO(...) {.cc = D(__VA_ARGS__), .force = FORCE_WINO}
#define CVEC(...) {.cc = D(__VA_ARGS__), .force = FORCE_CVEC}
#define XPOS(...) {.cc = D(__VA_ARGS__), .force = FORCE_XPOS}
/* Forced algorithms. Winograd F(4,3): 3x3 stride-1 dense, any pads and
 * sizes. Channel-vectorized direct: any dense conv; pixel counts and
 * channel counts off the block sizes, channel chunks (C x taps past one
 * 16 KB weight chunk), pixel passes past 128, groups, batches. */
static const struct {
  ConvCase cc;
  int force;
} forced_cases[] = {
    WINO("c16-m24-p1-13x17", 1, 16, 13, 17, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    WINO("c32-m32-p1-28x28", 1, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    WINO("c17-m33-p0-9x23", 1, 17, 9, 23, 33, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    WINO("c16-m16-asym-pads-11x9", 1, 16, 11, 9, 16, 3, 3, 1, 1, 1, 1, 0, 2, 2, 0, 1),
    WINO("c8-m12-p2-10x10", 1, 8, 10, 10, 12, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 1),
    WINO("c16-m16-p1-batch2-12x12", 2, 16, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    WINO("c5-m7-p1-batch2-7x30", 2, 5, 7, 30, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    WINO("c16-m8-p1-1x1", 1, 16, 1, 1, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    WINO("c4-m4-p0-3x3", 1, 4, 3, 3, 4, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    WINO("c3-m70-p1-6x5", 1, 3, 6, 5, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    WINO("c64-m64-p1-14x14", 1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    CVEC("3x3-c48-m40-p1-13x13", 1, 48, 13, 13, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    CVEC("3x3-c64-m64-p1-14x14", 1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    CVEC("3x3-c70-m17-p1-7x7", 1, 70, 7, 7, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    CVEC("1x1-c300-m33-9x9", 1, 300, 9, 9, 33, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    CVEC("1x1-c16-m16-16x16-direct", 1, 16, 16, 16, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    CVEC("3x3s2-c16-m24-p1-15x15", 1, 16, 15, 15, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),
    CVEC("5x5d2-c6-m10-p4-11x12", 1, 6, 11, 12, 10, 5, 5, 1, 1, 2, 2, 4, 4, 4, 4, 1),
    CVEC("3x3-g2-c32-m48-p1-batch2-9x9", 2, 32, 9, 9, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2),
    CVEC("1x1-c3-m5-1x1", 1, 3, 1, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    /* 1x1 on the packed panel: strided (phase grid), groups and batch (panel per image + group), 2+ passes */
    CVEC("1x1s2-g2-c40-m36-batch2-13x11", 2, 40, 13, 11, 36, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 2),
    CVEC("1x1-c70-m20-17x16", 1, 70, 17, 16, 20, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),
    /* 7x7 maps take the narrower pixel block (MscConv2dKernels.cv_np2: 10 x 5 pixels on AVX2, not 9 x 6):
     * the packed 1x1 panel with groups and a batch, and the 3x3 grid read over 2 images */
    CVEC("1x1-g2-c24-m40-batch2-7x7-np2", 2, 48, 7, 7, 80, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2),
    CVEC("3x3-c20-m36-p1-batch2-7x7-np2", 2, 20, 7, 7, 36, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    /* grid kernel over output positions (no dropped grid columns): rows
     * ending inside a vector (blended from the next grid row), strides,
     * dilation, 5x5 / 7x7, a partial last tile and block, several channel
     * chunks, groups and batch; OW >= 16 so every ISA takes it */
    XPOS("3x3s1-c16-m24-p1-13x17", 1, 16, 13, 17, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    XPOS("3x3s2-c12-m20-p1-35x36", 1, 12, 35, 36, 20, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),
    XPOS("5x5s1-c6-m10-p2-16x18", 1, 6, 16, 18, 10, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1),
    XPOS("7x7s2-c3-m16-p3-40x36", 1, 3, 40, 36, 16, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1),
    XPOS("3x3d2-c8-m8-p2-17x16", 1, 8, 17, 16, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1),
    XPOS("3x3s1-c200-m8-p1-17x16-chunks", 1, 200, 17, 16, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    XPOS("3x3-g2-c16-m12-p1-batch2-17x20", 2, 16, 17, 20, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2),
};

/* the shapes of cases[] that run with every epilogue */
static gboolean every_epilogue(const char *name) {
  static const char *const names[] = {"3x3s1-c16-m24-p1-13x17",       "1x1-c32-m16-16x16-direct",
                                      "7x7s2-c3-m16-p3-32x32",        "depthwise-3x3s1-c24-p1-19x23",
                                      "depthwise-3x3s2-c3-p1-9x70",   "depthwise-5x5s1-c2-asym-p-9x29",
                                      "depthwise-3x3s2-c16-p1-20x21", "3x3s1-c16-m12-p1-4x5",
                                      "depthwise-3x3s1-c5-p1-14x14-flat", "1x1-c256-m22-12x12-chunks"};
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
    if (strcmp(name, names[i]) == 0)
      return TRUE;
  return FALSE;
}

typedef struct {
  const char *suffix;
  MscActivation act;
  float a, b;
  gboolean residual, no_bias;
} Epilogue;

static const Epilogue epilogues[] = {
    {"residual-relu", MSC_ACT_RELU, 0, 0, TRUE, FALSE},
    {"clip-relu6", MSC_ACT_CLIP, 0, 6, FALSE, FALSE},
    {"residual-leaky-relu", MSC_ACT_LEAKY_RELU, 0.1f, 0, TRUE, FALSE},
    {"hard-swish", MSC_ACT_HARD_SWISH, 0, 0, FALSE, FALSE},
    {"hard-sigmoid", MSC_ACT_HARD_SIGMOID, 0.2f, 0.5f, FALSE, FALSE},
    {"residual-sigmoid-no-bias", MSC_ACT_SIGMOID, 0, 0, TRUE, TRUE},
};

/* ---- plan errors -------------------------------------------------------- */

static void test_conv_kernels_bad_params(void) {
  g_test_summary("invalid conv params are refused with MSC_ERR_INVALID_ARG, not crashes");
  const ConvCase good = D("x", 1, 8, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  float w[8 * 8 * 9] = {0};
  for (int k = 0; k < 6; k++) {
    MscConv2dParams p = params_of(&good);
    switch (k) {
    case 0: p.stride_h = 0; break;
    case 1: p.groups = 3; break;
    case 2: p.pad_left = -1; break;
    case 3: p.kernel_w = 20; break; /* larger than the padded input */
    case 4: p.in_channels = 0; break;
    case 5: p.dilation_w = 0; break;
    }
    GError *err = NULL;
    MscConv2dPlan *plan = msc_conv2d_plan_create(&p, w, NULL, MSC_ISA_SCALAR, &err);
    g_assert_null(plan);
    g_assert_nonnull(err);
    g_assert_cmpint(err->code, ==, 1 /* MSC_ERR_INVALID_ARG */);
    g_error_free(err);
  }
}

/* pack_s1 of every ISA this CPU runs: the padded rows, the zero row past
 * the grid, and not one float past the plane (rows narrower than a vector
 * store their last vector into the rows after them; past the plane lies
 * the next channel, another thread's). */
static void test_conv_kernels_pack_s1(void) {
  g_test_summary("the stride-1 phase-grid pack writes the padded plane and nothing past it, for grid rows of 1-40 floats");
  float src[40 * 6];
  for (int i = 0; i < 40 * 6; i++)
    src[i] = (float) (i + 1);
  for (int isa = MSC_ISA_SCALAR; isa <= MSC_ISA_AVX512; isa++) {
    if (!msc_isa_supported((MscIsa) isa))
      continue;
    const MscConv2dKernels *k = msc_conv2d_kernels_get((MscIsa) isa);
    for (int64_t H = 1; H <= 6; H++)
      for (int64_t W = 1; W <= 34; W++)
        for (int64_t pt = 0; pt <= 2; pt++)
          for (int64_t pl = 0; pl <= 2; pl++) {
            const int64_t pr = (W + pl) % 3, Wq = pl + W + pr, Hq = pt + H + (H % 2), n = (Hq + 1) * Wq;
            float dst[64 * 10 + 64];
            for (int64_t i = 0; i < (int64_t) G_N_ELEMENTS(dst); i++)
              dst[i] = -7.0f;
            k->pack_s1(src, H, W, pt, pl, pl, pl + W, Hq, Wq, dst);
            for (int64_t r = 0; r <= Hq; r++)
              for (int64_t q = 0; q < Wq; q++) {
                const int64_t ih = r - pt, iw = q - pl;
                const float want = ih >= 0 && ih < H && iw >= 0 && iw < W ? src[ih * W + iw] : 0.0f;
                g_assert_cmpfloat(dst[r * Wq + q], ==, want);
              }
            for (int64_t i = n; i < (int64_t) G_N_ELEMENTS(dst); i++)
              g_assert_cmpfloat(dst[i], ==, -7.0f);
          }
  }
}

static void test_conv_kernels_winograd_rule(void) {
  g_test_summary("Winograd follows the measured rule by default (=1), MSC_WINOGRAD=0 turns it off, 2 forces eligible shapes");
  float *w = g_new0(float, 256 * 288 * 9);
  const ConvCase big = D("x", 1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const ConvCase few_ch = D("x", 1, 8, 56, 56, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const ConvCase strided = D("x", 1, 64, 56, 56, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
  /* 12x12 to 16x16 (9-16 tiles): 64+ output and 32+ input channels */
  const ConvCase small_map = D("x", 1, 64, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const ConvCase wide_14 = D("x", 1, 144, 14, 14, 288, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const ConvCase deep_14 = D("x", 1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const ConvCase few_out_14 = D("x", 1, 128, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const ConvCase narrow_in_14 = D("x", 1, 32, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const ConvCase in24_14 = D("x", 1, 24, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const ConvCase map_7 = D("x", 1, 256, 7, 7, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  /* 28x28 (49 tiles): 16+ output channels; 8 are too few */
  const ConvCase thin_28 = D("x", 1, 64, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const ConvCase m8_28 = D("x", 1, 64, 28, 28, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  char *saved = g_strdup(g_getenv("MSC_WINOGRAD"));
  g_unsetenv("MSC_WINOGRAD");
  const struct {
    const ConvCase *c;
    const char *env;
    gboolean want;
  } rows[] = {{&big, NULL, TRUE},        {&big, "1", TRUE},       {&big, "0", FALSE},
              {&few_ch, "1", FALSE},     {&few_ch, "2", TRUE},    {&strided, "1", FALSE},
              {&strided, "2", FALSE},    {&small_map, NULL, FALSE}, {&small_map, "2", TRUE},
              {&thin_28, NULL, TRUE},    {&m8_28, NULL, FALSE},   {&wide_14, NULL, TRUE},  {&deep_14, NULL, TRUE},
              {&few_out_14, NULL, FALSE}, {&narrow_in_14, NULL, TRUE}, {&map_7, NULL, FALSE},
              {&in24_14, NULL, FALSE}};
  for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
    if (rows[i].env)
      g_setenv("MSC_WINOGRAD", rows[i].env, TRUE);
    else
      g_unsetenv("MSC_WINOGRAD");
    MscConv2dParams p = params_of(rows[i].c);
    GError *err = NULL;
    MscConv2dPlan *plan = msc_conv2d_plan_create(&p, w, NULL, MSC_ISA_SCALAR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(strstr(msc_conv2d_plan_describe(plan), "winograd") != NULL, ==, rows[i].want);
    msc_conv2d_plan_free(plan);
  }
  env_restore("MSC_WINOGRAD", saved);
  g_free(w);
}

static void test_conv_kernels_cvec_rule(void) {
  g_test_summary("the channel-vectorized kernel takes small maps with long reductions by default, MSC_CONV_CVEC=0 "
                 "never, 2 always (dense only)");
  float *w = g_new0(float, 512 * 512 * 9);
  const ConvCase c14 = D("x", 1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* 256 -> 128+ @14: grid */
  const ConvCase wide14 = D("x", 1, 512, 14, 14, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1); /* 512 in: cvec */
  const ConvCase few14 = D("x", 1, 128, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);   /* 32 out: cvec */
  const ConvCase c7 = D("x", 1, 512, 7, 7, 2048, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1);
  const ConvCase narrow7 = D("x", 1, 512, 7, 7, 128, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1); /* 1x1, < 512 out: grid */
  const ConvCase c28 = D("x", 1, 256, 28, 28, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1); /* 14x14 out: grid */
  const ConvCase s14 = D("x", 1, 256, 14, 14, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1); /* 7x7 out: cvec */
  const ConvCase c56 = D("x", 1, 64, 56, 56, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
  const ConvCase short_k = D("x", 1, 16, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const ConvCase dw = D("x", 1, 32, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32);
  const ConvCase pw14 = D("x", 1, 1024, 14, 14, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1); /* 1x1 @14: grid */
  char *saved = g_strdup(g_getenv("MSC_CONV_CVEC"));
  char *saved_wino = g_strdup(g_getenv("MSC_WINOGRAD"));
  g_setenv("MSC_WINOGRAD", "0", TRUE); /* the direct kernels' choice (wide 3x3 @14 is Winograd's) */
  const struct {
    const ConvCase *c;
    const char *env;
    gboolean want;
  } rows[] = {{&c14, NULL, FALSE}, {&wide14, NULL, TRUE}, {&few14, NULL, TRUE}, {&c14, "2", TRUE}, {&c7, NULL, TRUE},        {&c28, "1", FALSE}, {&s14, NULL, TRUE}, {&c14, "0", FALSE},
              {&c56, NULL, FALSE}, {&c56, "2", TRUE},        {&short_k, NULL, FALSE}, {&dw, "2", FALSE},
              {&pw14, NULL, FALSE}, {&narrow7, NULL, FALSE}, {&narrow7, "2", TRUE}};
  for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
    if (rows[i].env)
      g_setenv("MSC_CONV_CVEC", rows[i].env, TRUE);
    else
      g_unsetenv("MSC_CONV_CVEC");
    MscConv2dParams p = params_of(rows[i].c);
    GError *err = NULL;
    MscConv2dPlan *plan = msc_conv2d_plan_create(&p, w, NULL, msc_isa_detect(), &err);
    g_assert_no_error(err);
    g_assert_cmpint(strstr(msc_conv2d_plan_describe(plan), "cvec") != NULL, ==, rows[i].want);
    msc_conv2d_plan_free(plan);
  }
  env_restore("MSC_CONV_CVEC", saved);
  env_restore("MSC_WINOGRAD", saved_wino);
  g_free(w);
}

static void test_conv_kernels_isa_env(void) {
  g_test_summary("MSC_ISA lowers the detected level and never raises it");
  const char *old = g_getenv("MSC_ISA");
  char *saved = old ? g_strdup(old) : NULL;
  g_unsetenv("MSC_ISA");
  MscIsa best = msc_isa_detect();
  g_assert_true(msc_isa_supported(best));
  g_setenv("MSC_ISA", "scalar", TRUE);
  g_assert_cmpint(msc_isa_detect(), ==, MSC_ISA_SCALAR);
  g_setenv("MSC_ISA", "avx512", TRUE);
  g_assert_cmpint(msc_isa_detect(), ==, best); /* not above what the CPU has */
  g_assert_true(msc_isa_supported(MSC_ISA_SCALAR));
  env_restore("MSC_ISA", saved);
}

/* ---- thread pool -------------------------------------------------------- */

typedef struct {
  _Atomic int64_t *hits;
  _Atomic int64_t sum;
  int n_threads;
  _Atomic int bad_thread;
} PoolCtx;

static void pool_fn(void *vctx, int64_t task, int thread) {
  PoolCtx *c = vctx;
  atomic_fetch_add(&c->hits[task], 1);
  atomic_fetch_add(&c->sum, task);
  if (thread < 0 || thread >= c->n_threads)
    atomic_store(&c->bad_thread, 1);
}

static void pool_check(int n_threads, int64_t n_tasks, int repeats) {
  MscThreadPool *pool = msc_threadpool_new(n_threads);
  g_assert_cmpint(msc_threadpool_size(pool), ==, n_threads);
  PoolCtx c = {.n_threads = n_threads};
  c.hits = g_new0(_Atomic int64_t, n_tasks > 0 ? n_tasks : 1);
  for (int r = 0; r < repeats; r++)
    msc_threadpool_parallel_for(pool, n_tasks, pool_fn, &c);
  for (int64_t t = 0; t < n_tasks; t++)
    g_assert_cmpint(atomic_load(&c.hits[t]), ==, repeats);
  g_assert_cmpint(atomic_load(&c.sum), ==, (int64_t) repeats * n_tasks * (n_tasks - 1) / 2);
  g_assert_cmpint(atomic_load(&c.bad_thread), ==, 0);
  g_free(c.hits);
  msc_threadpool_free(pool);
}

static void test_conv_kernels_pool_1_thread(void) {
  g_test_summary("a 1-thread pool runs every task exactly once on the caller");
  pool_check(1, 100, 3);
}
static void test_conv_kernels_pool_2_threads(void) {
  g_test_summary("a 2-thread pool runs every task exactly once");
  pool_check(2, 1000, 3);
}
static void test_conv_kernels_pool_8_threads(void) {
  g_test_summary("an 8-thread pool (more threads than cores) runs every task exactly once");
  pool_check(8, 5000, 3);
}
static void test_conv_kernels_pool_tiny_tasks(void) {
  g_test_summary("many tiny tasks: 100000 tasks of a few nanoseconds each, counted exactly");
  pool_check(4, 100000, 1);
}
static void test_conv_kernels_pool_reuse(void) {
  g_test_summary("one pool reused by 1000 back-to-back parallel_for calls (incl. 0 and 1 task)");
  pool_check(3, 7, 1000);
  pool_check(2, 1, 1000);
  pool_check(2, 0, 10);
}
static void pool_fn_b(void *vctx, int64_t task, int thread) {
  PoolCtx *c = vctx;
  atomic_fetch_add(&c->hits[task], 1);
  atomic_fetch_add(&c->sum, 2 * task + 1);
  if (thread < 0 || thread >= c->n_threads)
    atomic_store(&c->bad_thread, 1);
}

static void test_conv_kernels_pool_alternating(void) {
  g_test_summary("back-to-back jobs alternating fn, ctx and task count: a worker that wakes late never runs a task "
                 "of the wrong job, twice, or out of range");
  MscThreadPool *pool = msc_threadpool_new(3);
  PoolCtx a = {.n_threads = 3}, b = {.n_threads = 3};
  a.hits = g_new0(_Atomic int64_t, 2);
  b.hits = g_new0(_Atomic int64_t, 7);
  const int rounds = 20000;
  for (int r = 0; r < rounds; r++) {
    msc_threadpool_parallel_for(pool, 2, pool_fn, &a);
    msc_threadpool_parallel_for(pool, 7, pool_fn_b, &b);
  }
  for (int t = 0; t < 2; t++)
    g_assert_cmpint(atomic_load(&a.hits[t]), ==, rounds);
  for (int t = 0; t < 7; t++)
    g_assert_cmpint(atomic_load(&b.hits[t]), ==, rounds);
  g_assert_cmpint(atomic_load(&a.sum), ==, (int64_t) rounds * 1);
  g_assert_cmpint(atomic_load(&b.sum), ==, (int64_t) rounds * 49);
  g_assert_cmpint(atomic_load(&a.bad_thread) + atomic_load(&b.bad_thread), ==, 0);
  g_free(a.hits);
  g_free(b.hits);
  msc_threadpool_free(pool);
}

static void test_conv_kernels_pool_null(void) {
  g_test_summary("a NULL pool runs inline with thread index 0");
  PoolCtx c = {.n_threads = 1};
  c.hits = g_new0(_Atomic int64_t, 10);
  msc_threadpool_parallel_for(NULL, 10, pool_fn, &c);
  g_assert_cmpint(atomic_load(&c.sum), ==, 45);
  g_assert_cmpint(atomic_load(&c.bad_thread), ==, 0);
  g_free(c.hits);
  g_assert_cmpint(msc_threadpool_size(NULL), ==, 1);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  /* The env var must not hide levels from the test: loop to the CPU's best. */
  g_unsetenv("MSC_ISA");
  const MscIsa top = msc_isa_detect();
  for (int isa = MSC_ISA_SCALAR; isa <= (int) top; isa++) {
    if (!msc_isa_supported((MscIsa) isa))
      continue;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
      ConvTest *ct = g_new0(ConvTest, 1); /* freed with the test (g_free) */
      ct->cc = cases[i];
      ct->isa = (MscIsa) isa;
      char *path = g_strdup_printf("/conv-kernels/%s/%s", msc_isa_name((MscIsa) isa), cases[i].name);
      g_test_add_data_func_full(path, ct, test_conv_kernels_case, g_free);
      g_free(path);
      /* every epilogue on some dense and depthwise shapes */
      if (every_epilogue(cases[i].name)) {
        for (size_t e = 0; e < G_N_ELEMENTS(epilogues); e++) {
          ConvTest *ce = g_new0(ConvTest, 1);
          ce->cc = cases[i];
          ce->cc.act = epilogues[e].act;
          ce->cc.act_a = epilogues[e].a;
          ce->cc.act_b = epilogues[e].b;
          ce->cc.residual = epilogues[e].residual;
          ce->cc.no_bias = epilogues[e].no_bias;
          ce->isa = (MscIsa) isa;
          path = g_strdup_printf("/conv-kernels/%s/%s-%s", msc_isa_name((MscIsa) isa), cases[i].name,
                                 epilogues[e].suffix);
          g_test_add_data_func_full(path, ce, test_conv_kernels_case, g_free);
          g_free(path);
        }
      }
    }
  }
  for (int isa = MSC_ISA_SCALAR; isa <= (int) top; isa++) {
    if (!msc_isa_supported((MscIsa) isa))
      continue;
    for (size_t i = 0; i < G_N_ELEMENTS(forced_cases); i++) {
      const int force = forced_cases[i].force;
      /* every epilogue on the first shape of each forced algorithm */
      const gboolean all_epi = i == 0 || forced_cases[i - 1].force != force;
      for (size_t e = 0; e <= (all_epi ? G_N_ELEMENTS(epilogues) : 0); e++) {
        ConvTest *ct = g_new0(ConvTest, 1);
        ct->cc = forced_cases[i].cc;
        ct->cc.force = force;
        ct->isa = (MscIsa) isa;
        if (e > 0) {
          const Epilogue *ep = &epilogues[e - 1];
          ct->cc.act = ep->act;
          ct->cc.act_a = ep->a;
          ct->cc.act_b = ep->b;
          ct->cc.residual = ep->residual;
          ct->cc.no_bias = ep->no_bias;
        }
        char *path = g_strdup_printf("/conv-kernels/%s/%s/%s%s%s", msc_isa_name((MscIsa) isa), force_desc[force],
                                     ct->cc.name, e > 0 ? "-" : "", e > 0 ? epilogues[e - 1].suffix : "");
        g_test_add_data_func_full(path, ct, test_conv_kernels_case, g_free);
        g_free(path);
      }
    }
  }
  g_test_add_func("/conv-kernels/pack-s1", test_conv_kernels_pack_s1);
  g_test_add_func("/conv-kernels/plan/winograd-rule", test_conv_kernels_winograd_rule);
  g_test_add_func("/conv-kernels/plan/cvec-rule", test_conv_kernels_cvec_rule);
  g_test_add_func("/conv-kernels/plan/bad-params", test_conv_kernels_bad_params);
  g_test_add_func("/conv-kernels/isa/env-lowers-only", test_conv_kernels_isa_env);
  g_test_add_func("/conv-kernels/threadpool/1-thread", test_conv_kernels_pool_1_thread);
  g_test_add_func("/conv-kernels/threadpool/2-threads", test_conv_kernels_pool_2_threads);
  g_test_add_func("/conv-kernels/threadpool/8-threads", test_conv_kernels_pool_8_threads);
  g_test_add_func("/conv-kernels/threadpool/many-tiny-tasks", test_conv_kernels_pool_tiny_tasks);
  g_test_add_func("/conv-kernels/threadpool/reuse-1000-calls", test_conv_kernels_pool_reuse);
  g_test_add_func("/conv-kernels/threadpool/null-pool-inline", test_conv_kernels_pool_null);
  g_test_add_func("/conv-kernels/threadpool/alternating-jobs", test_conv_kernels_pool_alternating);
  return g_test_run();
}
