/* dataset.h: the pipeline's golden dataset: input samples (seeded random
 * or read from test_data_set_N/ folders), reference outputs, optional
 * labels. Bounded: at most MSC_DATASET_MAX_SAMPLES samples and
 * MSC_DATASET_MAX_BYTES of input data are kept. */
#ifndef MSC_DATASET_H
#define MSC_DATASET_H

#include <glib.h>

#include "config.h"
#include "msc-types.h"

G_BEGIN_DECLS

#define MSC_DATASET_MAX_SAMPLES 256
#define MSC_DATASET_MAX_BYTES ((size_t)512 << 20)

typedef struct MscDataset {
  guint n_samples;
  guint n_inputs, n_outputs; /* n_outputs is 0 until golden outputs are set */
  MscTensor ***inputs;       /* [sample][input], owned */
  MscTensor ***golden;       /* [sample][output], owned; NULL until set */
  gint64 *labels;            /* nullable: n_samples class ids */
  char *hash;                /* SHA-256 (hex) of the inputs */
  gboolean truncated;        /* fewer samples kept than asked for */
} MscDataset;

/**
 * msc_dataset_from_config:
 * @cfg: (transfer none): reads [dataset] (source, path, samples, seed,
 *   labels) and [model] shapes.
 * @graph: (transfer none): a verified graph (its inputs give names, dtypes
 *   and ranks; dynamic dims come from shapes, else 1).
 * @error: (nullable): MSC_ERR_IO / MSC_ERR_CORRUPT for unreadable files,
 *   MSC_ERR_INVALID_ARG for a sample that does not fit the graph or a bad
 *   labels file; messages name the file.
 *
 * Returns: (transfer full) (nullable): inputs and labels, no golden
 * outputs yet.
 */
MscDataset *msc_dataset_from_config(const MscConfig *cfg, const MscGraph *graph, GError **error);

/* As msc_dataset_from_config, but @samples samples (0: the config's count)
 * after the first @skip (a held-out split: folders skip files,
 * generators start at seed + @skip). Labels are read only when @skip is 0. */
MscDataset *msc_dataset_from_config_range(const MscConfig *cfg, const MscGraph *graph, guint skip, guint samples,
                                          GError **error);

/**
 * MscDatasetSpec: where samples come from.
 * @source: "random" (uniform [-1,1), sample k seeded @seed + k), "glyphs"
 *   (text-like images exactly as shared/bench/make-case.js :glyphs with
 *   seed @seed + k; layout from @layout), "glyphs-nhwc", "files" (@path
 *   holds test_data_set_N/input_J.{pb,npy} folders, or for one-input
 *   models flat *.pb / *.npy files, one sample each, in name order),
 *   "images" (@path holds *.png / *.jpg / *.jpeg / *.bmp, one batch item
 *   each, in name order); NULL or "auto": glyphs for a 4-D float input,
 *   random otherwise.
 * @samples: how many; @skip: folder sources start after the first @skip
 *   samples, generators at seed + @skip (a held-out split).
 * @shapes: (nullable): NAME=DxD... for dynamic dims (default 1).
 * @mean, @std, @n_norm: images: per-channel normalisation.
 * @layout: "nchw", "nhwc" or NULL (auto) for glyphs and images.
 */
typedef struct MscDatasetSpec {
  const char *source;
  const char *path;
  guint samples, skip;
  guint32 seed;
  char **shapes;
  const double *mean, *std;
  guint n_norm;
  const char *layout;
} MscDatasetSpec;

/**
 * msc_dataset_new:
 * @spec: (transfer none): the samples wanted.
 * @graph: (transfer none): a verified graph (inputs: names, dtypes, ranks).
 * Returns: (transfer full) (nullable): inputs, no golden outputs; NULL
 * with @error (MSC_ERR_IO / CORRUPT / INVALID_ARG naming the file or
 * input) otherwise.
 */
MscDataset *msc_dataset_new(const MscDatasetSpec *spec, const MscGraph *graph, GError **error);

/**
 * msc_dataset_load_dir:
 * @dir: a folder written by msc_dataset_save_dir().
 *
 * Returns: (transfer full) (nullable): inputs, golden outputs and labels.
 */
MscDataset *msc_dataset_load_dir(const char *dir, GError **error);

/* Writes test_data_set_K/{input_J.pb,output_J.pb} and labels.txt under
 * @dir (each file atomically). FALSE with @error (MSC_ERR_IO) on failure. */
gboolean msc_dataset_save_dir(const MscDataset *ds, const char *dir, GError **error);

/* Takes ownership of @outputs (n_outputs tensors) as sample @k's golden
 * outputs; the first call fixes n_outputs. */
void msc_dataset_set_golden(MscDataset *ds, guint k, MscTensor **outputs, guint n_outputs);

void msc_dataset_free(MscDataset *ds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MscDataset, msc_dataset_free)

/* SHA-256 (hex, transfer full) of tensors' dtype, dims and bytes. */
char *msc_tensors_hash(MscTensor *const *const *samples, guint n_samples, guint n_per_sample);

G_END_DECLS
#endif
