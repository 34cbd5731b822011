/* calib.h: calibration statistics for the quantizer: a streaming,
 * fixed-size histogram per tensor (memory bounded whatever the number of
 * samples) and the range-selection methods (min-max, moving-average
 * min-max, percentile, entropy/KL, MSE-optimal clipping), plus the
 * scale/zero-point arithmetic (ONNX Runtime's compute_scale_zp). */
#ifndef MSC_QUANT_CALIB_H
#define MSC_QUANT_CALIB_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define MSC_QHIST_BINS 2048
/* Moving-average min-max: weight of each new sample (ONNX Runtime's 0.01). */
#define MSC_QHIST_EMA 0.01

typedef enum {
  MSC_QCALIB_MINMAX = 0,
  MSC_QCALIB_PERCENTILE = 1,
  MSC_QCALIB_ENTROPY = 2,
  MSC_QCALIB_MSE = 3,
} MscQCalibMethod;

/**
 * MscQHist: running min/max, their moving average and a histogram of
 * @n finite values over [@lo, @lo + @width * MSC_QHIST_BINS). When new
 * values fall outside, the width doubles (pairs of bins merge, bin edges
 * stay aligned, so re-binning is exact) until they fit.
 */
typedef struct MscQHist {
  double min, max;
  double ema_min, ema_max;
  int64_t n, n_nonfinite, n_updates;
  double lo, width;
  double bins[MSC_QHIST_BINS];
} MscQHist;

/* Resets @h to empty. */
void msc_qhist_init(MscQHist *h);
/* Adds @n values (one sample's tensor; non-finite values are counted and
 * skipped). Also updates the moving-average min/max with this batch. */
void msc_qhist_add(MscQHist *h, const float *x, size_t n);

/**
 * msc_qhist_range:
 * @method: how to choose the clipping range.
 * @percentile: for MSC_QCALIB_PERCENTILE, e.g. 99.99: each tail keeps
 *   (100 - p)% of the values outside the range.
 * @moving_average: for MSC_QCALIB_MINMAX, use the moving-average min/max.
 * @qmin, @qmax, @symmetric: the integer grid the range will be mapped to
 *   (entropy and MSE evaluate candidate ranges on it).
 * @lo, @hi: (out): the range, always containing 0.
 * Returns: FALSE when @h saw no finite value (then @lo = @hi = 0).
 */
gboolean msc_qhist_range(const MscQHist *h, MscQCalibMethod method, double percentile, gboolean moving_average,
                         int qmin, int qmax, gboolean symmetric, double *lo, double *hi);

/**
 * msc_qparams_compute:
 * As ONNX Runtime's compute_scale_zp: the range is widened to contain 0;
 * symmetric uses [-max|r|, max|r|]; scale = (rmax - rmin) / (qmax - qmin)
 * (1.0 when the range is empty); zero_point = round(qmin - rmin / scale)
 * (symmetric: round((qmin + qmax) / 2)), clamped to [qmin, qmax].
 */
void msc_qparams_compute(double lo, double hi, int qmin, int qmax, gboolean symmetric, float *scale, int32_t *zp);

/* Round half to even, as QuantizeLinear. */
double msc_qround(double x);

G_END_DECLS
#endif
