/* dataset-gen.c: input samples from generators (random, text-like glyph
 * images as shared/bench/make-case.js draws them) and from image files
 * (PNG/JPEG through gdk-pixbuf, resized and normalised). See dataset.h. */
#include "dataset-gen.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <string.h>

#include "error.h"
#include "tensor.h"

gboolean msc_dims_channels_last(int32_t rank, const int64_t *dims) {
  if (rank != 4) return FALSE;
  gboolean c_last = dims[3] == 1 || dims[3] == 3 || dims[3] == 4;
  gboolean c_first = dims[1] == 1 || dims[1] == 3 || dims[1] == 4;
  return c_last && !c_first;
}

/* JS Math.round for the non-negative values make-case.js rounds. */
static double js_round(double x) { return floor(x + 0.5); }

static double rnd(uint32_t *state) { return msc_mulberry32(state) / 4294967296.0; }

/* One NCHW text-like batch: white background (1.0), rows of dark random
 * strokes, noise; the same draws in the same order as make-case.js
 * glyphData, so a seed gives the same image there and here. */
static void glyph_nchw(float *a, int64_t N, int64_t C, int64_t H, int64_t W, uint32_t *st) {
  float *img = g_new(float, (gsize)(H * W));
  for (int64_t n = 0; n < N; n++) {
    for (int64_t i = 0; i < H * W; i++) img[i] = 1.0f;
    double denom = fmax(1.0, js_round((double)H / 48.0));
    int64_t lineH = (int64_t)fmax(8.0, fmin((double)H, js_round((double)H * (0.5 + 0.4 * rnd(st)) / denom)));
    for (int64_t y0 = (int64_t)floor(rnd(st) * (double)lineH * 0.3); (double)y0 + (double)lineH * 0.6 < (double)H;
         y0 += (int64_t)js_round((double)lineH * (1.2 + rnd(st)))) {
      int64_t gh = (int64_t)js_round((double)lineH * (0.6 + 0.3 * rnd(st)));
      int64_t x = (int64_t)floor(rnd(st) * (double)W * 0.2);
      int64_t xEnd = W - (int64_t)floor(rnd(st) * (double)W * 0.3);
      float ink = (float)(-1.0 + 0.4 * rnd(st));
      while (x + gh < xEnd) {
        int64_t gw = (int64_t)js_round((double)gh * (0.5 + 0.5 * rnd(st)));
        int64_t strokes = 2 + (int64_t)floor(rnd(st) * 4.0);
        int64_t sw = (int64_t)fmax(1.0, js_round((double)gh / 10.0));
        for (int64_t s = 0; s < strokes; s++) {
          gboolean vertical = rnd(st) < 0.5;
          int64_t px = x + (int64_t)floor(rnd(st) * (double)gw), py = y0 + (int64_t)floor(rnd(st) * (double)gh);
          int64_t len = (int64_t)js_round((double)(vertical ? gh : gw) * (0.4 + 0.6 * rnd(st)));
          for (int64_t t = 0; t < len; t++)
            for (int64_t u = 0; u < sw; u++) {
              int64_t yy = vertical ? y0 + MIN(gh - 1, t) : py + u, xx = vertical ? px + u : x + MIN(gw - 1, t);
              if (yy < H && xx < W && yy >= 0 && xx >= 0) img[yy * W + xx] = ink;
            }
        }
        x += gw + (int64_t)js_round((double)gh * (0.1 + 0.4 * rnd(st))) + (rnd(st) < 0.15 ? gh : 0);
      }
    }
    for (int64_t c = 0; c < C; c++) {
      float *o = a + (n * C + c) * H * W;
      for (int64_t i = 0; i < H * W; i++) o[i] = (float)fmax(-1.0, fmin(1.0, (double)img[i] + 0.1 * (rnd(st) - 0.5)));
    }
  }
  g_free(img);
}

/* make-case.js randomData for one tensor from the shared stream. */
static void random_fill(MscTensor *t, uint32_t *st) {
  int64_t n = msc_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    double r = rnd(st);
    switch (t->dtype) {
      case MSC_DTYPE_FLOAT32: ((float *)t->data)[i] = (float)(2 * r - 1); break;
      case MSC_DTYPE_DOUBLE: ((double *)t->data)[i] = 2 * r - 1; break;
      case MSC_DTYPE_BOOL: ((uint8_t *)t->data)[i] = r < 0.5 ? 0 : 1; break;
      case MSC_DTYPE_INT64: ((int64_t *)t->data)[i] = (int64_t)floor(r * 10); break;
      case MSC_DTYPE_INT32: ((int32_t *)t->data)[i] = (int32_t)floor(r * 10); break;
      case MSC_DTYPE_INT8: ((int8_t *)t->data)[i] = (int8_t)floor(r * 10); break;
      case MSC_DTYPE_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)floor(r * 10); break;
      default: memset(t->data, 0, t->nbytes); return;
    }
  }
}

gboolean msc_fill_glyphs(MscTensor *const *inputs, guint n, uint32_t seed, int layout, GError **error) {
  uint32_t st = seed;
  for (guint j = 0; j < n; j++) {
    MscTensor *t = inputs[j];
    gboolean img = t->dtype == MSC_DTYPE_FLOAT32 && t->rank == 4;
    if (!img) {
      random_fill(t, &st);
      continue;
    }
    gboolean nhwc = layout == MSC_LAYOUT_NHWC || (layout == MSC_LAYOUT_AUTO && msc_dims_channels_last(4, t->dims));
    const int64_t *d = t->dims;
    if (!nhwc) {
      glyph_nchw(t->data, d[0], d[1], d[2], d[3], &st);
      continue;
    }
    int64_t N = d[0], H = d[1], W = d[2], C = d[3];
    float *tmp = g_try_malloc(t->nbytes);
    if (!tmp) {
      msc_set_error(error, MSC_ERR_NOMEM, "glyphs: cannot allocate %zu bytes", t->nbytes);
      return FALSE;
    }
    glyph_nchw(tmp, N, C, H, W, &st);
    float *o = t->data;
    for (int64_t b = 0; b < N; b++)
      for (int64_t c = 0; c < C; c++)
        for (int64_t y = 0; y < H; y++)
          for (int64_t x = 0; x < W; x++) o[((b * H + y) * W + x) * C + c] = tmp[((b * C + c) * H + y) * W + x];
    g_free(tmp);
  }
  return TRUE;
}

gboolean msc_fill_images(MscTensor *t, const char *const *files, guint n_files, const double *mean, const double *std,
                         guint n_norm, int layout, GError **error) {
  if (t->dtype != MSC_DTYPE_FLOAT32 || t->rank != 4) {
    char b[128];
    msc_set_error(error, MSC_ERR_INVALID_ARG, "images: input '%s' is %s %s, images need a 4-D float32 input",
                  t->name ? t->name : "?", msc_dtype_name(t->dtype), msc_shape_format(t->rank, t->dims, b, sizeof b));
    return FALSE;
  }
  gboolean nhwc = layout == MSC_LAYOUT_NHWC || (layout == MSC_LAYOUT_AUTO && msc_dims_channels_last(4, t->dims));
  int64_t N = t->dims[0], C = nhwc ? t->dims[3] : t->dims[1];
  int64_t H = nhwc ? t->dims[1] : t->dims[2], W = nhwc ? t->dims[2] : t->dims[3];
  if (C != 1 && C != 3 && C != 4) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "images: input '%s' has %" G_GINT64_FORMAT " channels (1, 3 or 4 needed)",
                  t->name ? t->name : "?", C);
    return FALSE;
  }
  if ((guint64)N > n_files) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "images: batch %" G_GINT64_FORMAT " needs more images than %u", N, n_files);
    return FALSE;
  }
  if (H > 16384 || W > 16384) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "images: input size %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " too large", H, W);
    return FALSE;
  }
  float *o = t->data;
  for (int64_t b = 0; b < N; b++) {
    g_autoptr(GError) e = NULL;
    g_autoptr(GdkPixbuf) src = gdk_pixbuf_new_from_file(files[b], &e);
    if (!src) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: cannot decode the image: %s", files[b], e ? e->message : "unknown");
      return FALSE;
    }
    g_autoptr(GdkPixbuf) pb = gdk_pixbuf_scale_simple(src, (int)W, (int)H, GDK_INTERP_BILINEAR);
    if (!pb) {
      msc_set_error(error, MSC_ERR_NOMEM, "%s: cannot resize to %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT, files[b], W, H);
      return FALSE;
    }
    int nch = gdk_pixbuf_get_n_channels(pb), stride = gdk_pixbuf_get_rowstride(pb);
    const guchar *px = gdk_pixbuf_read_pixels(pb);
    for (int64_t y = 0; y < H; y++)
      for (int64_t x = 0; x < W; x++) {
        const guchar *p = px + y * stride + x * nch;
        for (int64_t c = 0; c < C; c++) {
          double v;
          if (C == 1) v = nch >= 3 ? (p[0] + p[1] + p[2]) / 3.0 : p[0];
          else if (c < 3) v = p[nch >= 3 ? c : 0];
          else v = nch == 4 ? p[3] : 255.0;
          double m = n_norm ? mean[MIN((guint)c, n_norm - 1)] : 0.5, s = n_norm ? std[MIN((guint)c, n_norm - 1)] : 0.5;
          float f = (float)((v / 255.0 - m) / s);
          if (nhwc) o[((b * H + y) * W + x) * C + c] = f;
          else o[((b * C + c) * H + y) * W + x] = f;
        }
      }
  }
  return TRUE;
}
