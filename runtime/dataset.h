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
