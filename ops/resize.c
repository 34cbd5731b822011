/* ops/resize.c: Resize (opsets 10, 11, 13, 18, 19) and Upsample (1, 7, 9).
 *
 * Every axis maps output index o to an input coordinate x with the
 * coordinate_transformation_mode, then:
 *   nearest: one source index chosen by nearest_mode, clamped (any dtype,
 *            done as a gather);
 *   linear:  taps floor(x), floor(x)+1 with weights 1-t, t;
 *   cubic:   4 taps with the Keys kernel of parameter cubic_coeff_a,
 *            optionally renormalized without taps outside the input
 *            (exclude_outside).
 * Taps outside the input are clamped to the edge (the ONNX reference pads
 * with 'edge'), and an integer x uses the taps left of it with t = 1, as
 * the reference does. linear/cubic run separably, one axis at a time, on a
 * float buffer (float32, float16 inputs).
 *
 * Output size is floor(in * scale) from scales, or sizes (opset 18
 * keep_aspect_ratio_policy: one scale for the listed axes,
 * out = round_half_up(scale * in)). The scale in the coordinate formulas is
 * the given scale, or out/in with sizes. For align_corners and
 * tf_crop_and_resize the "resized length" is scale * in (not rounded),
 * which is what the ONNX reference (and the conformance data) use; it only
 * differs from out when in * scale is not an integer.
 *
 * Before opset 11 (Resize-10, Upsample) coordinates are asymmetric and
 * nearest picks floor(x) when upsampling, ceil(x) when downsampling (the
 * "simple" rule of onnxruntime).
 *
 * Unsupported: antialias with an actual downscale in linear/cubic mode.
 */
#include <string.h>
#include <math.h>

#include "ops.h"
#include "op-util.h"
#include "tensor.h"
#include "error.h"
#include "resize-planes.h"

typedef enum { MODE_NEAREST, MODE_LINEAR, MODE_CUBIC } ResizeMode;

typedef enum {
  CT_HALF_PIXEL,
  CT_PYTORCH_HALF_PIXEL,
  CT_ALIGN_CORNERS,
  CT_ASYMMETRIC,
  CT_TF_HALF_PIXEL_FOR_NN,
  CT_TF_CROP_AND_RESIZE,
  CT_HALF_PIXEL_SYMMETRIC,
} CoordMode;

typedef enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE } NearestMode;

typedef struct {
  ResizeMode mode;
  CoordMode coord;
  NearestMode nearest;
  double cubic_a;
  int exclude_outside;
  float extrapolation;
  int antialias;
  int known;                        /* scales/sizes known: out and scale valid */
  int from_sizes;                   /* output sizes were given */
  int32_t rank;
  int64_t out[MSC_MAX_RANK];        /* -1 unknown */
  double scale[MSC_MAX_RANK];
  double roi_start[MSC_MAX_RANK];
  double roi_end[MSC_MAX_RANK];
} ResizePlan;

static int
is_upsample(const MscOpCtx *ctx)
{
  return strcmp(ctx->node->op_type, "Upsample") == 0;
}


/* Reads a float input (float32/float16/double) of up to @cap entries.
 * *n = 0 when absent or empty (an empty tensor means "not given" in
 * Resize-11); *known = 0 when the value is not known statically. */
static MscStatus
read_floats(MscOpCtx *ctx, uint32_t i, const char *what, double *buf, size_t cap, size_t *n, int *known)
{
  const MscTensor *t = msc_op_input(ctx, i);
  *n = 0;
  *known = 1;
  if (!t)
    return MSC_OK;
  if (t->dtype != MSC_DTYPE_FLOAT32 && t->dtype != MSC_DTYPE_FLOAT16 && t->dtype != MSC_DTYPE_DOUBLE)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s' must be float, got %s", what, msc_dtype_name(t->dtype));
  if (t->rank != 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s' must be 1-D, got rank %d", what, (int)t->rank);
  if (t->dims[0] == 0)
    return MSC_OK;
  if (t->dims[0] > (int64_t)cap)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s' has %lld entries (at most %zu expected)", what,
                       (long long)t->dims[0], cap);
  if (!t->data) {
    *known = 0;
    *n = t->dims[0] > 0 ? (size_t)t->dims[0] : 1; /* unknown length: still "given" */
    return MSC_OK;
  }
  *n = (size_t)t->dims[0];
  for (size_t k = 0; k < *n; k++) {
    if (t->dtype == MSC_DTYPE_FLOAT32)
      buf[k] = ((const float *)t->data)[k];
    else if (t->dtype == MSC_DTYPE_FLOAT16)
      buf[k] = msc_f16_to_f32(((const uint16_t *)t->data)[k]);
    else
      buf[k] = ((const double *)t->data)[k];
  }
  return MSC_OK;
}

static MscStatus
parse_attrs(MscOpCtx *ctx, ResizePlan *p)
{
  const MscNode *node = ctx->node;
  int64_t opset = node->opset;
  const char *s;
  float f;
  int64_t i;

  if (msc_op_attr_string(ctx, "mode", "nearest", &s))
    return ctx->status;
  if (!strcmp(s, "nearest"))
    p->mode = MODE_NEAREST;
  else if (!strcmp(s, "linear") || (!strcmp(s, "bilinear") && is_upsample(ctx) && opset < 7))
    p->mode = MODE_LINEAR;
  else if (!strcmp(s, "cubic") && !is_upsample(ctx) && opset >= 11)
    p->mode = MODE_CUBIC;
  else
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'mode' = '%s' not in %s", s,
                       is_upsample(ctx) ? (opset < 7 ? "nearest|bilinear" : "nearest|linear")
                                        : (opset < 11 ? "nearest|linear" : "nearest|linear|cubic"));

  p->cubic_a = -0.75;
  p->coord = CT_ASYMMETRIC;
  p->nearest = NM_SIMPLE;
  if (is_upsample(ctx) || opset < 11)
    return MSC_OK;

  if (msc_op_attr_string(ctx, "coordinate_transformation_mode", "half_pixel", &s))
    return ctx->status;
  if (!strcmp(s, "half_pixel"))
    p->coord = CT_HALF_PIXEL;
  else if (!strcmp(s, "pytorch_half_pixel"))
    p->coord = CT_PYTORCH_HALF_PIXEL;
  else if (!strcmp(s, "align_corners"))
    p->coord = CT_ALIGN_CORNERS;
  else if (!strcmp(s, "asymmetric"))
    p->coord = CT_ASYMMETRIC;
  else if (!strcmp(s, "tf_crop_and_resize"))
    p->coord = CT_TF_CROP_AND_RESIZE;
  else if (!strcmp(s, "tf_half_pixel_for_nn") && opset < 13)
    p->coord = CT_TF_HALF_PIXEL_FOR_NN;
  else if (!strcmp(s, "half_pixel_symmetric") && opset >= 19)
    p->coord = CT_HALF_PIXEL_SYMMETRIC;
  else
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                       "attribute 'coordinate_transformation_mode' = '%s' not in "
                       "half_pixel|pytorch_half_pixel|align_corners|asymmetric|tf_crop_and_resize%s",
                       s, opset < 13 ? "|tf_half_pixel_for_nn" : opset >= 19 ? "|half_pixel_symmetric" : "");

  if (msc_op_attr_string(ctx, "nearest_mode", "round_prefer_floor", &s))
    return ctx->status;
  if (!strcmp(s, "round_prefer_floor"))
    p->nearest = NM_ROUND_PREFER_FLOOR;
  else if (!strcmp(s, "round_prefer_ceil"))
    p->nearest = NM_ROUND_PREFER_CEIL;
  else if (!strcmp(s, "floor"))
    p->nearest = NM_FLOOR;
  else if (!strcmp(s, "ceil"))
    p->nearest = NM_CEIL;
  else
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                       "attribute 'nearest_mode' = '%s' not in round_prefer_floor|round_prefer_ceil|floor|ceil", s);

  if (msc_op_attr_float(ctx, "cubic_coeff_a", -0.75f, &f))
    return ctx->status;
  p->cubic_a = f;
  if (msc_op_attr_int(ctx, "exclude_outside", 0, &i))
    return ctx->status;
  p->exclude_outside = i != 0;
  if (msc_op_attr_float(ctx, "extrapolation_value", 0.0f, &p->extrapolation))
    return ctx->status;
  if (opset >= 18) {
    if (msc_op_attr_int(ctx, "antialias", 0, &i))
      return ctx->status;
    p->antialias = i != 0;
  }
  return MSC_OK;
}

/* Builds the plan: attributes, then output dims and per-axis scales. */
static MscStatus
resize_plan(MscOpCtx *ctx, ResizePlan *p)
{
  const MscTensor *x = ctx->in[0];
  const MscNode *node = ctx->node;
  int64_t opset = node->opset;
  int32_t r = x->rank;
  int64_t axes[MSC_MAX_RANK];
  size_t na = (size_t)r;
  double scales[2 * MSC_MAX_RANK], roi[2 * MSC_MAX_RANK];
  int64_t sizes[MSC_MAX_RANK];
  size_t ns = 0, nz = 0, nr = 0;
  int ks = 1, kz = 1, kr = 1;

  memset(p, 0, sizeof *p);
  p->rank = r;
  if (parse_attrs(ctx, p))
    return ctx->status;
  for (int32_t k = 0; k < r; k++) {
    axes[k] = k;
    p->out[k] = x->dims[k];
    p->scale[k] = 1.0;
    p->roi_start[k] = 0.0;
    p->roi_end[k] = 1.0;
  }

  if (is_upsample(ctx) && opset < 7) {
    float h, w;
    if (!msc_node_find_attr(node, "height_scale") || !msc_node_find_attr(node, "width_scale"))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attributes 'height_scale' and 'width_scale' are required");
    if (msc_op_attr_float(ctx, "height_scale", 1.0f, &h) || msc_op_attr_float(ctx, "width_scale", 1.0f, &w))
      return ctx->status;
    if (r != 4)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "Upsample-1 needs a 4-D input, got rank %d", (int)r);
    scales[0] = scales[1] = 1.0;
    scales[2] = h;
    scales[3] = w;
    ns = 4;
  } else if (is_upsample(ctx) && opset < 9) {
    const float *a;
    if (!msc_node_find_attr(node, "scales"))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'scales' is required");
    if (msc_op_attr_floats(ctx, "scales", &a, &ns))
      return ctx->status;
    if (ns > (size_t)r)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'scales' has %zu entries for rank %d", ns, (int)r);
    for (size_t k = 0; k < ns; k++)
      scales[k] = a[k];
  } else if (is_upsample(ctx) || opset < 11) {
    if (!msc_op_input(ctx, 1))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'scales' is required");
    if (read_floats(ctx, 1, "scales", scales, G_N_ELEMENTS(scales), &ns, &ks))
      return ctx->status;
  } else {
    if (read_floats(ctx, 1, "roi", roi, G_N_ELEMENTS(roi), &nr, &kr) ||
        read_floats(ctx, 2, "scales", scales, G_N_ELEMENTS(scales), &ns, &ks))
      return ctx->status;
    const MscTensor *tz = msc_op_input(ctx, 3);
    if (tz) {
      if (tz->dtype != MSC_DTYPE_INT64)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'sizes' must be int64, got %s", msc_dtype_name(tz->dtype));
      if (tz->rank != 1 || tz->dims[0] > MSC_MAX_RANK)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'sizes' must be 1-D with at most %d entries",
                           MSC_MAX_RANK);
      if (msc_op_input_ints(ctx, 3, sizes, MSC_MAX_RANK, &nz, &kz))
        return ctx->status;
      if (!kz)
        nz = tz->dims[0] > 0 ? (size_t)tz->dims[0] : 1;
    }
    if (opset >= 18 && msc_node_find_attr(node, "axes")) {
      const int64_t *a;
      uint32_t seen = 0;
      if (msc_op_attr_ints(ctx, "axes", &a, &na))
        return ctx->status;
      if (na > (size_t)r)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'axes' has %zu entries for rank %d", na, (int)r);
      for (size_t k = 0; k < na; k++) {
        if (msc_op_norm_axis(ctx, "attribute 'axes'", a[k], r, 0, &axes[k]))
          return ctx->status;
        if (seen & (1u << axes[k]))
          return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute 'axes': axis %lld is repeated", (long long)a[k]);
        seen |= 1u << axes[k];
      }
    }
    if (ns && nz && ks && kz)
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "only one of 'scales' and 'sizes' may be given");
    if (p->coord == CT_TF_CROP_AND_RESIZE && nr) {
      if (!kr)
        ks = 0; /* coordinates unknown: treat the plan as unknown */
      else if (nr != 2 * na)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'roi' has %zu entries, expected %zu", nr, 2 * na);
      else
        for (size_t k = 0; k < na; k++) {
          p->roi_start[axes[k]] = roi[k];
          p->roi_end[axes[k]] = roi[na + k];
        }
    }
  }

  if (!ns && !nz)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "one of 'scales' or 'sizes' is required");
  if (!ks || !kz) {
    for (size_t k = 0; k < na; k++)
      p->out[axes[k]] = -1;
    return MSC_OK;
  }
  if ((ns ? ns : nz) != na)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "%s has %zu entries, expected %zu", ns ? "scales" : "sizes",
                       ns ? ns : nz, na);
  p->known = 1;

  if (ns) {
    for (size_t k = 0; k < na; k++) {
      int64_t a = axes[k], d = x->dims[a];
      double s = scales[k];
      if (!(s > 0.0) || !isfinite(s))
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "scale %g for axis %lld must be positive", s, (long long)a);
      if (is_upsample(ctx) && s < 1.0)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "Upsample scale %g for axis %lld must be >= 1", s,
                           (long long)a);
      p->scale[a] = s;
      if (d >= 0) {
        double o = floor(s * (double)d);
        if (o > 9.0e15)
          return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "scale %g makes axis %lld too large", s, (long long)a);
        p->out[a] = (int64_t)o;
      }
    }
  } else {
    const char *policy = "stretch";
    p->from_sizes = 1;
    if (opset >= 18 && msc_op_attr_string(ctx, "keep_aspect_ratio_policy", "stretch", &policy))
      return ctx->status;
    for (size_t k = 0; k < na; k++)
      if (sizes[k] < 0)
        return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "sizes: %lld for axis %lld is negative", (long long)sizes[k],
                           (long long)axes[k]);
    if (!strcmp(policy, "stretch")) {
      for (size_t k = 0; k < na; k++) {
        int64_t a = axes[k], d = x->dims[a];
        p->out[a] = sizes[k];
        if (d > 0)
          p->scale[a] = (double)sizes[k] / (double)d;
        else if (d == 0 && sizes[k] > 0)
          return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "cannot resize empty axis %lld to %lld", (long long)a,
                             (long long)sizes[k]);
      }
    } else if (!strcmp(policy, "not_larger") || !strcmp(policy, "not_smaller")) {
      int larger = policy[4] == 's';
      double sc = larger ? 0.0 : INFINITY;
      for (size_t k = 0; k < na; k++) {
        int64_t d = x->dims[axes[k]];
        if (d < 0) {
          p->known = 0;
          for (size_t j = 0; j < na; j++)
            p->out[axes[j]] = -1;
          return MSC_OK;
        }
        if (d == 0)
          return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "keep_aspect_ratio_policy needs non-empty axes");
        double s = (double)sizes[k] / (double)d;
        sc = larger ? fmax(sc, s) : fmin(sc, s);
      }
      for (size_t k = 0; k < na; k++) {
        int64_t a = axes[k];
        double o = sc * (double)x->dims[a] + 0.5;
        if (!(o <= 9.0e15)) /* the cast of a larger double would be undefined */
          return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "sizes make axis %lld too large", (long long)a);
        p->scale[a] = sc;
        p->out[a] = (int64_t)o;
      }
    } else {
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "attribute 'keep_aspect_ratio_policy' = '%s' not in stretch|not_larger|not_smaller", policy);
    }
  }

  if (p->antialias && p->mode != MODE_NEAREST)
    for (int32_t k = 0; k < r; k++)
      if (p->scale[k] < 1.0)
        return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "antialias=1 when downscaling (axis %d, scale %g) is not supported",
                           (int)k, p->scale[k]);
  return msc_op_check_out_size(ctx, x->dtype, r, p->out);
}

static MscStatus
resize_infer(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  ResizePlan p;
  if (msc_op_check_generic(ctx, 0) || resize_plan(ctx, &p))
    return ctx->status;
  if (p.mode != MODE_NEAREST && x->dtype != MSC_DTYPE_FLOAT32 && x->dtype != MSC_DTYPE_FLOAT16)
    return msc_op_fail(ctx, MSC_ERR_UNSUPPORTED, "mode '%s' on %s input is not supported (float only)",
                       p.mode == MODE_LINEAR ? "linear" : "cubic", msc_dtype_name(x->dtype));
  return msc_op_set_output(ctx, 0, x->dtype, x->rank, p.out);
}

/* ---- coordinates and taps ------------------------------------------- */

/* Input coordinate of output index o along axis a. */
static double
resize_coord(const ResizePlan *p, int32_t a, int64_t o, int64_t in, int64_t out)
{
  double s = p->scale[a];
  /* resized length as the reference computes it (see the file comment) */
  double len = p->from_sizes ? (double)out : s * (double)in;
  double xo = (double)o;
  switch (p->coord) {
  case CT_HALF_PIXEL:
    return (xo + 0.5) / s - 0.5;
  case CT_PYTORCH_HALF_PIXEL:
    return out > 1 ? (xo + 0.5) / s - 0.5 : 0.0;
  case CT_ALIGN_CORNERS:
    return len == 1.0 ? 0.0 : xo * (double)(in - 1) / (len - 1.0);
  case CT_ASYMMETRIC:
    return xo / s;
  case CT_TF_HALF_PIXEL_FOR_NN:
    return (xo + 0.5) / s;
  case CT_TF_CROP_AND_RESIZE: {
    double rs = p->roi_start[a], re = p->roi_end[a];
    if (len == 1.0)
      return 0.5 * (rs + re) * (double)(in - 1);
    return rs * (double)(in - 1) + xo * (re - rs) * (double)(in - 1) / (len - 1.0);
  }
  case CT_HALF_PIXEL_SYMMETRIC: {
    double adj = (double)out / len;
    double offset = (double)in / 2.0 * (1.0 - adj);
    return offset + (xo + 0.5) / s - 0.5;
  }
  }
  return 0.0;
}

static int
outside(const ResizePlan *p, double x, int64_t in)
{
  return p->coord == CT_TF_CROP_AND_RESIZE && (x < 0.0 || x > (double)(in - 1));
}

static int64_t
clamp_index(int64_t i, int64_t in)
{
  return i < 0 ? 0 : (i >= in ? in - 1 : i);
}

/* Nearest source index for coordinate x (unclamped). */
static int64_t
nearest_index(const ResizePlan *p, double x, double scale)
{
  double f = floor(x);
  if (x == f)
    return (int64_t)f;
  double t = x - f;
  switch (p->nearest) {
  case NM_ROUND_PREFER_FLOOR:
    return (int64_t)(t <= 0.5 ? f : f + 1.0);
  case NM_ROUND_PREFER_CEIL:
    return (int64_t)(t < 0.5 ? f : f + 1.0);
  case NM_FLOOR:
    return (int64_t)f;
  case NM_CEIL:
    return (int64_t)f + 1;
  case NM_SIMPLE:
    return scale < 1.0 ? (int64_t)ceil(x) : (int64_t)f;
  }
  return (int64_t)f;
}

/* Taps of one output index for linear/cubic: *nt entries of idx/w. */
static void
interp_taps(const ResizePlan *p, double x, int64_t in, int64_t *idx, double *w, int *nt)
{
  double f = floor(x), t = x - f;
  int64_t base = (int64_t)f;
  if (t == 0.0) { /* the reference keeps t in (0, 1] */
    base -= 1;
    t = 1.0;
  }
  if (p->mode == MODE_LINEAR) {
    *nt = 2;
    idx[0] = base;
    idx[1] = base + 1;
    w[0] = 1.0 - t;
    w[1] = t;
  } else {
    double A = p->cubic_a, u = 1.0 - t;
    *nt = 4;
    for (int k = 0; k < 4; k++)
      idx[k] = base - 1 + k;
    w[0] = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
    w[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
    w[2] = ((A + 2) * u - (A + 3)) * u * u + 1;
    w[3] = ((A * (u + 1) - 5 * A) * (u + 1) + 8 * A) * (u + 1) - 4 * A;
  }
  if (p->exclude_outside) {
    double sum = 0.0;
    for (int k = 0; k < *nt; k++) {
      if (idx[k] < 0 || idx[k] >= in)
        w[k] = 0.0;
      sum += w[k];
    }
    if (sum != 0.0)
      for (int k = 0; k < *nt; k++)
        w[k] /= sum;
  }
  for (int k = 0; k < *nt; k++)
    idx[k] = clamp_index(idx[k], in);
}

/* ---- nearest: gather for any dtype ------------------------------------ */

static void
value_bytes(MscDType dtype, float f, uint8_t *v)
{
  if (!msc_op_scalar_bytes(dtype, f, v)) /* any other dtype: the int64 bits */
    msc_op_scalar_bytes(MSC_DTYPE_INT64, f, v);
}

static MscStatus
run_nearest(MscOpCtx *ctx, const ResizePlan *p)
{
  const MscTensor *x = ctx->in[0];
  MscTensor *y = ctx->out[0];
  int32_t r = x->rank;
  int64_t *tab[MSC_MAX_RANK] = {0};
  uint8_t cval[8];

  value_bytes(x->dtype, p->extrapolation, cval);
  for (int32_t k = 0; k < r; k++) {
    int64_t in = x->dims[k], out = y->dims[k];
    tab[k] = g_new(int64_t, out > 0 ? out : 1);
    for (int64_t o = 0; o < out; o++) {
      double c = resize_coord(p, k, o, in, out);
      tab[k][o] = outside(p, c, in) ? -1 : clamp_index(nearest_index(p, c, p->scale[k]), in);
    }
  }
  MscStatus st = msc_op_table_gather(ctx, y, x, tab, cval);
  for (int32_t k = 0; k < r; k++)
    g_free(tab[k]);
  return st;
}

/* ---- linear / cubic: separable passes on floats ------------------------ */

/* Taps of one axis with the zero weights dropped (a zero weight is skipped, not added: 0 * inf): per
 * output index up to 4 (idx, w) pairs, their count, and whether it extrapolates. */
typedef struct {
  int64_t *idx;
  float *w;
  uint8_t *n, *ext;
} AxisTaps;

static int
axis_taps(const ResizePlan *p, int32_t a, int64_t in, int64_t out, AxisTaps *t)
{
  t->idx = g_try_new(int64_t, (size_t)out * 4 + 1);
  t->w = g_try_new(float, (size_t)out * 4 + 1);
  t->n = g_try_new0(uint8_t, (size_t)out + 1);
  t->ext = g_try_new0(uint8_t, (size_t)out + 1);
  if (!t->idx || !t->w || !t->n || !t->ext)
    return 0;
  for (int64_t o = 0; o < out; o++) {
    double c = resize_coord(p, a, o, in, out), w[4];
    int64_t id[4];
    int nt = 2;
    t->ext[o] = (uint8_t)outside(p, c, in);
    interp_taps(p, c, in, id, w, &nt);
    for (int k = 0; k < nt; k++)
      if ((float)w[k] != 0.0f) {
        t->idx[o * 4 + t->n[o]] = id[k];
        t->w[o * 4 + t->n[o]] = (float)w[k];
        t->n[o]++;
      }
  }
  return 1;
}

static void
axis_taps_free(AxisTaps *t)
{
  g_free(t->idx);
  g_free(t->w);
  g_free(t->n);
  g_free(t->ext);
}

/* Output index @o of an axis from its taps: @n values d[i] = 0, then + w * s[i] per tap, s the input
 * line at the tap's index (@stride values apart in @src); or the extrapolation value. */
static void
axis_line(const AxisTaps *t, int64_t o, const float *src, int64_t stride, float *d, int64_t n, float extrapolation)
{
  if (t->ext[o]) {
    for (int64_t i = 0; i < n; i++)
      d[i] = extrapolation;
    return;
  }
  for (int64_t i = 0; i < n; i++)
    d[i] = 0.0f;
  for (int k = 0; k < t->n[o]; k++) {
    const float w = t->w[o * 4 + k], *s = src + t->idx[o * 4 + k] * stride;
    for (int64_t i = 0; i < n; i++)
      d[i] += w * s[i];
  }
}

/* One pass along axis a: cur (dims cd) -> returned buffer with cd[a] = out. */
static float *
interp_axis(const ResizePlan *p, const float *cur, const int64_t *cd, int32_t r, int32_t a, int64_t out)
{
  int64_t in = cd[a];
  int64_t outer = msc_shape_numel(a, cd), inner = msc_shape_numel(r - a - 1, cd + a + 1);
  size_t total = (size_t)outer * (size_t)out * (size_t)inner;
  float *dst = g_try_new(float, total ? total : 1);
  AxisTaps t = {0};
  if (!dst || !axis_taps(p, a, in, out, &t)) {
    g_free(dst);
    axis_taps_free(&t);
    return NULL;
  }
  for (int64_t b = 0; b < outer; b++) {
    const float *src = cur + (size_t)b * (size_t)in * (size_t)inner;
    for (int64_t o = 0; o < out; o++)
      axis_line(&t, o, src, inner, dst + ((size_t)b * (size_t)out + (size_t)o) * (size_t)inner, inner,
                p->extrapolation);
  }
  axis_taps_free(&t);
  return dst;
}

/* An axis whose every output maps exactly onto the same input index. */
static int
axis_is_identity(const ResizePlan *p, int32_t a, int64_t in, int64_t out)
{
  if (in != out)
    return 0;
  for (int64_t o = 0; o < out; o++) {
    double c = resize_coord(p, a, o, in, out);
    if (c != (double)o || outside(p, c, in))
      return 0;
  }
  return 1;
}

/* float32, every axis but the last two the identity: plane by plane, with the same operations in the
 * same order as interp_axis (the last axis, then the one before, each through axis_line), so the same
 * bits, without two whole-tensor temporaries and a loop per element of the last
 * axis (M-LSD's 64 x 40 x 40 -> 80 x 80 took 2.4-2.7 ms). resize-planes.h. */
struct MscResizePlanes {
  float extrapolation;
  int64_t H, W, OH, OW, planes;
  int idw, idh, two; /* identity axes; two: the last axis has two nonzero taps everywhere, no extrapolation */
  AxisTaps tw, th;
  /* two: the last axis' taps as int32 indices and weights, one array per tap (gather loops); per block of 8
   * outputs whose taps all lie in the 8 inputs from blk[b] (>= 0; -1: not so), the taps as offsets from it
   * (o0, o1: in-register permutes instead of gathers; perm: those tables are made, the CPU has AVX2) */
  int32_t *i0, *i1, *o0, *o1, *blk;
  int perm;
  float *w0, *w1;
};

static int
planes_apply(const ResizePlan *p, const MscTensor *x)
{
  if (p->mode == MODE_NEAREST || x->dtype != MSC_DTYPE_FLOAT32 || x->rank < 2 || !p->known)
    return 0;
  for (int32_t a = 0; a < x->rank - 2; a++)
    if (!axis_is_identity(p, a, x->dims[a], p->out[a]))
      return 0;
  return 1;
}

static MscResizePlanes *
planes_new(const ResizePlan *p, const MscTensor *x)
{
  int32_t r = x->rank;
  MscResizePlanes *rp = g_new0(MscResizePlanes, 1);
  rp->extrapolation = p->extrapolation;
  rp->H = x->dims[r - 2], rp->W = x->dims[r - 1], rp->OH = p->out[r - 2], rp->OW = p->out[r - 1];
  rp->planes = rp->H * rp->W > 0 ? msc_tensor_numel(x) / (rp->H * rp->W) : 0;
  rp->idw = axis_is_identity(p, r - 1, rp->W, rp->OW);
  rp->idh = axis_is_identity(p, r - 2, rp->H, rp->OH);
  if ((!rp->idw && !axis_taps(p, r - 1, rp->W, rp->OW, &rp->tw)) ||
      (!rp->idh && !axis_taps(p, r - 2, rp->H, rp->OH, &rp->th))) {
    msc_resize_planes_free(rp);
    return NULL;
  }
  rp->two = !rp->idw && rp->W <= INT32_MAX;
  for (int64_t o = 0; rp->two && o < rp->OW; o++)
    rp->two = rp->tw.n[o] == 2 && !rp->tw.ext[o];
  if (rp->two) {
    rp->i0 = g_new(int32_t, rp->OW), rp->i1 = g_new(int32_t, rp->OW);
    rp->w0 = g_new(float, rp->OW), rp->w1 = g_new(float, rp->OW);
    for (int64_t o = 0; o < rp->OW; o++) {
      rp->i0[o] = (int32_t)rp->tw.idx[o * 4], rp->i1[o] = (int32_t)rp->tw.idx[o * 4 + 1];
      rp->w0[o] = rp->tw.w[o * 4], rp->w1[o] = rp->tw.w[o * 4 + 1];
    }
  }
#if defined(__GNUC__) && defined(__x86_64__)
  rp->perm = rp->two && rp->W >= 8 && __builtin_cpu_supports("avx2");
#endif
  if (rp->perm) {
    const int64_t nb = rp->OW / 8;
    rp->blk = g_new(int32_t, nb + 1), rp->o0 = g_new(int32_t, rp->OW), rp->o1 = g_new(int32_t, rp->OW);
    for (int64_t b = 0; b < nb; b++) {
      int32_t lo = INT32_MAX, hi = -1;
      for (int64_t o = 8 * b; o < 8 * b + 8; o++) {
        lo = MIN(lo, MIN(rp->i0[o], rp->i1[o]));
        hi = MAX(hi, MAX(rp->i0[o], rp->i1[o]));
      }
      lo = (int32_t)MIN((int64_t)lo, rp->W - 8); /* the 8 inputs read lie inside the row */
      rp->blk[b] = lo >= 0 && hi < lo + 8 ? lo : -1;
      for (int64_t o = 8 * b; o < 8 * b + 8; o++)
        rp->o0[o] = rp->i0[o] - rp->blk[b], rp->o1[o] = rp->i1[o] - rp->blk[b];
    }
  }
  return rp;
}

MscResizePlanes *
msc_resize_planes_new(MscOpCtx *ctx)
{
  ResizePlan p;
  if (resize_plan(ctx, &p) || !planes_apply(&p, ctx->in[0]))
    return NULL;
  return planes_new(&p, ctx->in[0]);
}

void
msc_resize_planes_free(MscResizePlanes *rp)
{
  if (!rp)
    return;
  axis_taps_free(&rp->tw);
  axis_taps_free(&rp->th);
  g_free(rp->i0), g_free(rp->i1), g_free(rp->w0), g_free(rp->w1), g_free(rp->o0), g_free(rp->o1), g_free(rp->blk);
  g_free(rp);
}

int64_t
msc_resize_planes_count(const MscResizePlanes *rp)
{
  return rp->planes;
}

size_t
msc_resize_planes_tmp(const MscResizePlanes *rp)
{
  return rp->idw ? 1 : (size_t)(rp->H * rp->OW);
}

/* The plane loops (the same operations in the same order as axis_line: a sum from 0.0f, then + w * s per
 * tap, never contracted into an FMA) get an AVX2 clone picked at load time (x86-64 GCC): 8 lanes, the
 * last axis' two taps as gathers. M-LSD's 64 x 40 x 40 -> 80 x 80 upsamplings took ~2 cycles per value
 * in the SSE2 loops. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("tree-vectorize")
#endif
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define R_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define R_CLONES
#endif

/* d[o] = (0 + w0[o] * s[i0[o]]) + w1[o] * s[i1[o]], o < n. */
R_CLONES static void
two_taps_row(float *restrict d, const float *restrict s, const int32_t *restrict i0, const int32_t *restrict i1,
             const float *restrict w0, const float *restrict w1, int64_t n)
{
  for (int64_t o = 0; o < n; o++) {
    float v = 0.0f;
    v += w0[o] * s[i0[o]];
    v += w1[o] * s[i1[o]];
    d[o] = v;
  }
}

/* d[i] = (0 + wa * a[i]) + wb * b[i], i < n: axis_line of two taps in one pass. */
R_CLONES static void
two_rows(float *restrict d, const float *restrict a, const float *restrict b, float wa, float wb, int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    float v = 0.0f;
    v += wa * a[i];
    v += wb * b[i];
    d[i] = v;
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
/* two_taps_row for blocks of 8 outputs whose taps lie in 8 consecutive inputs (upsampling): one load, two
 * in-register permutes (vpermps) instead of 16 element loads; the same mul and add per tap, no FMA.
 * Blocks that do not fit and the tail take the scalar formula. */
__attribute__((target("avx2"))) static void
two_taps_row_perm(float *restrict d, const float *restrict s, const MscResizePlanes *rp)
{
  const int64_t n = rp->OW, nb = n / 8;
  for (int64_t b = 0; b < nb; b++) {
    const int64_t o = 8 * b;
    if (rp->blk[b] < 0) {
      for (int64_t k = o; k < o + 8; k++) {
        float v = 0.0f;
        v += rp->w0[k] * s[rp->i0[k]];
        v += rp->w1[k] * s[rp->i1[k]];
        d[k] = v;
      }
      continue;
    }
    const __m256 x = _mm256_loadu_ps(s + rp->blk[b]);
    const __m256 g0 = _mm256_permutevar8x32_ps(x, _mm256_loadu_si256((const __m256i *)(const void *)(rp->o0 + o)));
    const __m256 g1 = _mm256_permutevar8x32_ps(x, _mm256_loadu_si256((const __m256i *)(const void *)(rp->o1 + o)));
    __m256 v = _mm256_add_ps(_mm256_setzero_ps(), _mm256_mul_ps(_mm256_loadu_ps(rp->w0 + o), g0));
    v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_loadu_ps(rp->w1 + o), g1));
    _mm256_storeu_ps(d + o, v);
  }
  for (int64_t k = 8 * nb; k < n; k++) {
    float v = 0.0f;
    v += rp->w0[k] * s[rp->i0[k]];
    v += rp->w1[k] * s[rp->i1[k]];
    d[k] = v;
  }
}
#endif

void
msc_resize_planes_run(const MscResizePlanes *rp, const float *x, float *y, int64_t p0, int64_t p1, float *tmp)
{
  const int64_t H = rp->H, W = rp->W, OH = rp->OH, OW = rp->OW;
  const AxisTaps *tw = &rp->tw, *th = &rp->th;
  for (int64_t b = p0; b < p1; b++) {
    const float *src = x + b * H * W, *rows = src;
    float *dst = y + b * OH * OW;
    if (rp->two) {
#if defined(__GNUC__) && defined(__x86_64__)
      if (rp->perm) {
        for (int64_t h = 0; h < H; h++)
          two_taps_row_perm(tmp + h * OW, src + h * W, rp);
        rows = tmp;
      } else
#endif
      {
        for (int64_t h = 0; h < H; h++)
          two_taps_row(tmp + h * OW, src + h * W, rp->i0, rp->i1, rp->w0, rp->w1, OW);
        rows = tmp;
      }
    } else if (!rp->idw) {
      for (int64_t h = 0; h < H; h++)
        for (int64_t o = 0; o < OW; o++)
          axis_line(tw, o, src + h * W, 1, tmp + h * OW + o, 1, rp->extrapolation);
      rows = tmp;
    }
    if (rp->idh) {
      memcpy(dst, rows, (size_t)(OH * OW) * sizeof(float));
      continue;
    }
    for (int64_t o = 0; o < OH; o++) {
      if (th->n[o] == 2 && !th->ext[o])
        two_rows(dst + o * OW, rows + th->idx[o * 4] * OW, rows + th->idx[o * 4 + 1] * OW, th->w[o * 4],
                 th->w[o * 4 + 1], OW);
      else
        axis_line(th, o, rows, OW, dst + o * OW, OW, rp->extrapolation);
    }
  }
}

static MscStatus
run_interp_planes(MscOpCtx *ctx, const ResizePlan *p)
{
  MscResizePlanes *rp = planes_new(p, ctx->in[0]);
  float *tmp = rp ? g_try_new(float, msc_resize_planes_tmp(rp)) : NULL;
  if (!tmp) {
    msc_resize_planes_free(rp);
    return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory resizing");
  }
  msc_resize_planes_run(rp, ctx->in[0]->data, ctx->out[0]->data, 0, rp->planes, tmp);
  g_free(tmp);
  msc_resize_planes_free(rp);
  return MSC_OK;
}

static MscStatus
run_interp(MscOpCtx *ctx, const ResizePlan *p)
{
  const MscTensor *x = ctx->in[0];
  MscTensor *y = ctx->out[0];
  int32_t r = x->rank;
  int64_t cd[MSC_MAX_RANK];
  int64_t n_in = msc_tensor_numel(x), n_out = msc_tensor_numel(y);
  float *cur;
  int owned = 0;

  memcpy(cd, x->dims, sizeof cd);
  if (y->dtype == MSC_DTYPE_FLOAT32 && planes_apply(p, x))
    return run_interp_planes(ctx, p);
  if (x->dtype == MSC_DTYPE_FLOAT32) {
    cur = x->data;
  } else {
    cur = g_try_new(float, (size_t)n_in);
    if (!cur)
      return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory converting the input");
    owned = 1;
    for (int64_t i = 0; i < n_in; i++)
      cur[i] = msc_f16_to_f32(((const uint16_t *)x->data)[i]);
  }
  /* innermost axis first, as the reference recursion does */
  for (int32_t a = r - 1; a >= 0; a--) {
    if (axis_is_identity(p, a, cd[a], y->dims[a]))
      continue;
    float *next = interp_axis(p, cur, cd, r, a, y->dims[a]);
    if (owned)
      g_free(cur);
    if (!next)
      return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory resizing axis %d", (int)a);
    cur = next;
    owned = 1;
    cd[a] = y->dims[a];
  }
  if (y->dtype == MSC_DTYPE_FLOAT32)
    memcpy(y->data, cur, (size_t)n_out * sizeof(float));
  else
    for (int64_t i = 0; i < n_out; i++)
      ((uint16_t *)y->data)[i] = msc_f32_to_f16(cur[i]);
  if (owned)
    g_free(cur);
  return MSC_OK;
}

static MscStatus
resize_run(MscOpCtx *ctx)
{
  const MscTensor *x = ctx->in[0];
  MscTensor *y = ctx->out[0];
  ResizePlan p;
  if (resize_plan(ctx, &p))
    return ctx->status;
  if (!p.known)
    return msc_op_fail(ctx, MSC_ERR_INTERNAL, "resize plan unknown at run time");
  if (msc_tensor_numel(y) <= 0)
    return MSC_OK;
  if (msc_tensor_numel(x) <= 0)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "cannot resize an empty input to a non-empty output");
  if (x->rank == 0) {
    memcpy(y->data, x->data, msc_dtype_size(x->dtype));
    return MSC_OK;
  }
  return p.mode == MODE_NEAREST ? run_nearest(ctx, &p) : run_interp(ctx, &p);
}

static const MscOpDef resize_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Resize", .since_version = 10,
  .min_inputs = 1, .max_inputs = 4, .min_outputs = 1, .max_outputs = 1,
  .infer = resize_infer, .run = resize_run,
  .doc = "Resize: nearest/linear/cubic with the ONNX coordinate transformation modes (antialias unsupported)",
};

static const MscOpDef upsample_def = {
  .struct_size = sizeof(MscOpDef), .domain = "", .op_type = "Upsample", .since_version = 1,
  .min_inputs = 1, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1,
  .infer = resize_infer, .run = resize_run,
  .doc = "Upsample (deprecated at opset 10): nearest/linear, asymmetric coordinates",
};

const MscOpDef *const msc_ops_resize[] = {&resize_def, &upsample_def, NULL};
