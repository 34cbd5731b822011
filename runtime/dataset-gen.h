/* dataset-gen.h: sample generators behind msc_dataset_new (dataset.h). */
#ifndef MSC_DATASET_GEN_H
#define MSC_DATASET_GEN_H

#include <glib.h>

#include "msc-types.h"

G_BEGIN_DECLS

enum { MSC_LAYOUT_AUTO = 0, MSC_LAYOUT_NCHW = 1, MSC_LAYOUT_NHWC = 2 };

/* TRUE for a 4-D shape that looks channels-last: last dim 1/3/4 and dim 1
 * not (e.g. [1,128,128,3]). */
gboolean msc_dims_channels_last(int32_t rank, const int64_t *dims);

/**
 * msc_fill_glyphs:
 * @inputs: (transfer none): allocated tensors of one sample, in input order.
 * @seed: one mulberry32 stream for the whole sample, as make-case.js
 *   NAME=SHAPE@SEED:glyphs (4-D float inputs get text-like images in
 *   [-1,1], others its uniform noise).
 * @layout: MSC_LAYOUT_*; AUTO picks NHWC by msc_dims_channels_last.
 * Returns: FALSE with @error only when out of memory.
 */
gboolean msc_fill_glyphs(MscTensor *const *inputs, guint n, uint32_t seed, int layout, GError **error);

/**
 * msc_fill_images:
 * @t: (transfer none): an allocated 4-D float32 input; batch item b gets
 *   @files[b], decoded (PNG/JPEG/... through gdk-pixbuf), resized
 *   bilinearly to the input's H x W and normalised per channel to
 *   (v/255 - mean[c]) / std[c] (last value repeats; none given: 0.5/0.5).
 *   1 channel: grey mean of RGB; 4 channels: RGBA (alpha 255 if absent).
 * Returns: FALSE with @error naming the file on a decode failure.
 */
gboolean msc_fill_images(MscTensor *t, const char *const *files, guint n_files, const double *mean, const double *std,
                         guint n_norm, int layout, GError **error);

G_END_DECLS
#endif
