/* calib.c: streaming histograms and range selection (see calib.h). */
#include "calib.h"

#include <math.h>
#include <string.h>

double msc_qround(double x) { return nearbyint(x); /* default rounding mode: half to even */ }

void msc_qhist_init(MscQHist *h) {
  memset(h, 0, sizeof *h);
  h->min = INFINITY;
  h->max = -INFINITY;
}

/* Doubles the bin width; the old range lands in the upper half when
 * growing downwards, else in the lower half. */
static void grow(MscQHist *h, gboolean down) {
  double nb[MSC_QHIST_BINS] = {0};
  int off = down ? MSC_QHIST_BINS / 2 : 0;
  for (int i = 0; i < MSC_QHIST_BINS; i++) nb[off + i / 2] += h->bins[i];
  memcpy(h->bins, nb, sizeof nb);
  if (down) h->lo -= h->width * MSC_QHIST_BINS;
  h->width *= 2;
}

void msc_qhist_add(MscQHist *h, const float *x, size_t n) {
  double bmin = INFINITY, bmax = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    if (!isfinite(v)) {
      h->n_nonfinite++;
      continue;
    }
    if (v < bmin) bmin = v;
    if (v > bmax) bmax = v;
  }
  if (bmin > bmax) return; /* nothing finite */
  if (h->n_updates == 0) {
    h->ema_min = bmin;
    h->ema_max = bmax;
  } else {
    h->ema_min += MSC_QHIST_EMA * (bmin - h->ema_min);
    h->ema_max += MSC_QHIST_EMA * (bmax - h->ema_max);
  }
  h->n_updates++;
  if (bmin < h->min) h->min = bmin;
  if (bmax > h->max) h->max = bmax;
  if (h->width == 0) {
    h->lo = bmin;
    h->width = (bmax - bmin) / MSC_QHIST_BINS;
    double floor_w = fmax(fabs(bmin), fabs(bmax)) * 1e-7;
    if (h->width < floor_w || h->width == 0) h->width = floor_w > 0 ? floor_w : 1e-30;
  }
  /* Doubling terminates: the width grows geometrically. */
  while (bmin < h->lo) grow(h, TRUE);
  while (bmax >= h->lo + h->width * MSC_QHIST_BINS) grow(h, FALSE);
  const double inv = 1.0 / h->width;
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    if (!isfinite(v)) continue;
    long b = (long)((v - h->lo) * inv);
    if (b < 0) b = 0;
    if (b >= MSC_QHIST_BINS) b = MSC_QHIST_BINS - 1;
    h->bins[b] += 1;
    h->n++;
  }
}

void msc_qparams_compute(double lo, double hi, int qmin, int qmax, gboolean symmetric, float *scale, int32_t *zp) {
  double rmin = fmin(lo, 0), rmax = fmax(hi, 0);
  if (symmetric) {
    double a = fmax(fabs(rmin), fabs(rmax));
    rmin = -a;
    rmax = a;
  }
  double s = (rmax - rmin) / (double)(qmax - qmin);
  float sf = (float)s;
  if (!(sf > 0) || !isfinite(sf)) {
    *scale = 1.0f;
    *zp = symmetric ? (int32_t)msc_qround((qmin + qmax) / 2.0) : (qmin > 0 ? qmin : (qmax < 0 ? qmax : 0));
    if (!symmetric && qmin < 0 && qmax > 0) *zp = 0;
    return;
  }
  double z = symmetric ? msc_qround((qmin + qmax) / 2.0) : msc_qround(qmin - rmin / (double)sf);
  if (z < qmin) z = qmin;
  if (z > qmax) z = qmax;
  *scale = sf;
  *zp = (int32_t)z;
}

/* Expected squared quantization error of the histogram on the grid given
 * by range [a, b] (bin centres stand for their values). */
static double range_mse(const MscQHist *h, double a, double b, int qmin, int qmax, gboolean symmetric) {
  float s;
  int32_t z;
  msc_qparams_compute(a, b, qmin, qmax, symmetric, &s, &z);
  double err = 0;
  for (int i = 0; i < MSC_QHIST_BINS; i++) {
    if (h->bins[i] == 0) continue;
    double c = h->lo + (i + 0.5) * h->width;
    if (c < h->min) c = h->min;
    if (c > h->max) c = h->max;
    double q = msc_qround(c / s) + z;
    if (q < qmin) q = qmin;
    if (q > qmax) q = qmax;
    double d = c - (q - z) * s;
    err += h->bins[i] * d * d;
  }
  return err;
}

/* Bin holding 0 (clamped: an all-positive histogram has it at bin 0). */
static int zero_bin(const MscQHist *h) {
  double zb = (0 - h->lo) / h->width;
  if (zb < 0) return 0;
  if (zb >= MSC_QHIST_BINS) return MSC_QHIST_BINS;
  return (int)zb;
}

/* Candidate clipping ranges shrink both sides towards 0 by fraction t. */
static void candidate(const MscQHist *h, double t, double *a, double *b) {
  *a = fmin(h->min, 0) * t;
  *b = fmax(h->max, 0) * t;
}

/* KL(P || Q) of the histogram clipped to bins [ia, ib) (outliers folded
 * into the edge bins) against its quantization to @levels levels
 * (TensorRT's entropy calibration, generalized to a two-sided range). */
static double range_kl(const MscQHist *h, int ia, int ib, int levels) {
  int nb = ib - ia;
  if (nb < levels) return INFINITY;
  double *p = g_new0(double, nb), *q = g_new0(double, nb);
  double left = 0, right = 0, total = 0;
  for (int i = 0; i < ia; i++) left += h->bins[i];
  for (int i = ib; i < MSC_QHIST_BINS; i++) right += h->bins[i];
  for (int i = 0; i < nb; i++) p[i] = h->bins[ia + i];
  /* Q from the clipped bins without the outliers, spread over the
   * non-empty bins of each level. */
  for (int l = 0; l < levels; l++) {
    int s = (int)((int64_t)l * nb / levels), e = (int)((int64_t)(l + 1) * nb / levels);
    double sum = 0;
    int nz = 0;
    for (int i = s; i < e; i++) {
      sum += p[i];
      nz += p[i] != 0;
    }
    for (int i = s; i < e; i++) q[i] = (p[i] != 0 && nz) ? sum / nz : 0;
  }
  p[0] += left;
  p[nb - 1] += right;
  double sp = 0, sq = 0;
  for (int i = 0; i < nb; i++) {
    sp += p[i];
    sq += q[i];
  }
  total = sp;
  double kl = 0;
  if (total > 0 && sq > 0) {
    const double eps = 1e-4 / nb; /* smoothing where Q is empty but P is not */
    for (int i = 0; i < nb; i++) {
      if (p[i] == 0) continue;
      double pi = p[i] / sp, qi = q[i] / sq;
      if (qi <= 0) qi = eps;
      kl += pi * log(pi / qi);
    }
  } else {
    kl = INFINITY;
  }
  g_free(p);
  g_free(q);
  return kl;
}

gboolean msc_qhist_range(const MscQHist *h, MscQCalibMethod method, double percentile, gboolean moving_average,
                         int qmin, int qmax, gboolean symmetric, double *lo, double *hi) {
  *lo = *hi = 0;
  if (h->n == 0) return FALSE;
  double a = h->min, b = h->max;
  switch (method) {
  case MSC_QCALIB_MINMAX:
    if (moving_average) {
      a = h->ema_min;
      b = h->ema_max;
    }
    break;
  case MSC_QCALIB_PERCENTILE: {
    double tail = (100.0 - percentile) / 100.0 * (double)h->n, acc = 0;
    int i;
    for (i = 0; i < MSC_QHIST_BINS - 1; i++) {
      if (acc + h->bins[i] > tail) break;
      acc += h->bins[i];
    }
    a = fmax(h->min, h->lo + i * h->width);
    acc = 0;
    for (i = MSC_QHIST_BINS - 1; i > 0; i--) {
      if (acc + h->bins[i] > tail) break;
      acc += h->bins[i];
    }
    b = fmin(h->max, h->lo + (i + 1) * h->width);
    break;
  }
  case MSC_QCALIB_ENTROPY: {
    int z = zero_bin(h), levels = qmax - qmin;
    double best = INFINITY, ba = a, bb = b;
    for (int k = 128; k >= 8; k--) {
      double t = k / 128.0;
      int ia = z - (int)ceil(z * t), ib = z + (int)ceil((MSC_QHIST_BINS - z) * t);
      if (ia < 0) ia = 0;
      if (ib > MSC_QHIST_BINS) ib = MSC_QHIST_BINS;
      double kl = range_kl(h, ia, ib, levels);
      if (kl < best) {
        best = kl;
        ba = fmax(h->min, h->lo + ia * h->width);
        bb = fmin(h->max, h->lo + ib * h->width);
      }
    }
    a = ba;
    b = bb;
    break;
  }
  case MSC_QCALIB_MSE: {
    double best = INFINITY, ba = a, bb = b;
    for (int k = 200; k >= 10; k--) {
      double t = k / 200.0, ca, cb;
      candidate(h, t, &ca, &cb);
      double e = range_mse(h, ca, cb, qmin, qmax, symmetric);
      if (e < best * (1 - 1e-12)) {
        best = e;
        ba = ca;
        bb = cb;
      }
    }
    a = ba;
    b = bb;
    break;
  }
  }
  *lo = fmin(a, 0);
  *hi = fmax(b, 0);
  return TRUE;
}
