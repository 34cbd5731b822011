/* pruner.h: internals of the pruner tool plugin (msc.tool.pruner), shared
 * by its sources. Not installed, not ABI: the plugin links libmsc and uses
 * the core graph API (graph.h) directly.
 *
 * Model of a pruning decision: every tensor edge (MscValue) that loses
 * channels gets a keep mask over one axis (PrunerMask). Channels that must
 * go together form a group (PrunerGroup): channel i of the group is the
 * index range [off + i*block, off + (i+1)*block) on the member value's
 * axis (block > 1 after a Flatten, where one channel is H*W features).
 * Groups are found by groups.c, scored by criteria.c, sized by the targets
 * (criteria.c), turned into per-value masks (slice.c), applied physically
 * (slice.c), refitted (refit.c) and reported / saved (report.c). */
#ifndef MSC_PRUNER_H
#define MSC_PRUNER_H

#include <glib.h>

#include "graph.h"
#include "msc-plugin.h"

G_BEGIN_DECLS

#define PRUNER_MAX_CAPTURE 64 /* graph-input samples kept for the refit and the report */
#define PRUNER_REFIT_FLOPS 2e11 /* FLOPs of forward passes the refit spends by default */
#define PRUNER_REFIT_MIN_SAMPLES 16

typedef enum { PRUNER_L1, PRUNER_L2, PRUNER_FPGM, PRUNER_ACTIVATION } PrunerCriterion;

typedef struct {
  char *pattern; /* glob on source node names */
  double density;
} PrunerLayerDensity;

typedef struct {
  double density;      /* global keep fraction, (0, 1] */
  double flops_target; /* fraction of FLOPs to remove, 0 = unset */
  PrunerLayerDensity *layer;
  guint n_layer;
  PrunerCriterion criterion;
  int round_to, min_channels;
  char **exclude;     /* globs on node names (NULL-terminated, may be NULL) */
  char **exclude_ops; /* op types */
  gboolean reconstruct;
  char *report; /* nullable path */
  int refit_samples;
  gboolean refit_samples_set; /* given by the user: use exactly that many */
  double ridge;
  gboolean refit_drift; /* also refit layers whose inputs kept their channels but drifted */
} PrunerOptions;

/* Channel i of a group <-> [off + i*block, off + (i+1)*block) on @axis of @value. */
typedef struct {
  MscValue *value;
  int axis;
  int64_t off, block;
} PrunerMember;

/* A node whose output channels (source) or input channels (sink) the group drives. */
typedef struct {
  const MscNode *node;
  int64_t off, block;
} PrunerNodeRef;

typedef struct {
  guint id;
  int64_t len;        /* channels */
  GArray *members;    /* PrunerMember */
  GArray *sources;    /* PrunerNodeRef: Conv/Gemm/MatMul producing the channels */
  GArray *sinks;      /* PrunerNodeRef: Conv/Gemm/MatMul consuming them */
  GPtrArray *passes;  /* const MscNode*: nodes in between (BN, depthwise, Concat, ...) */
  char *blocked;      /* NULL when prunable, else why not (owned) */
  double *score;      /* len entries after scoring */
  double density;     /* target keep fraction */
  int64_t keep_n;     /* channels kept */
  gboolean *keep;     /* len entries */
} PrunerGroup;

/* Keep mask of one value along @axis (@dim entries). */
typedef struct {
  int axis;
  int64_t dim, kept;
  gboolean *keep;
} PrunerMask;

/* Per-channel activation statistics of one value (axis 1), from observe. */
typedef struct {
  int64_t channels;
  double *sum_abs; /* per channel */
  double count;    /* elements per channel summed over samples */
} PrunerActStats;

/* A refitted layer: replaces the weight (and bias) of node @index (position
 * in the unpruned graph's node order) after slicing. */
typedef struct {
  guint index;
  char *node_name, *op_type;
  MscTensor *weight; /* sliced layout, owned */
  MscTensor *bias;   /* nullable, owned */
} PrunerRefit;

/* Whole-model output error of one variant on the captured samples. */
typedef struct {
  gboolean valid;
  double min_cosine, max_abs;
  double *cosine; /* per graph output (n_outputs), owned */
  double *maxabs;
  guint n_outputs, n_samples;
} PrunerError;

void pruner_group_free(PrunerGroup *g);
void pruner_mask_free(PrunerMask *m);
void pruner_refit_free(PrunerRefit *r);

/* groups.c */
/**
 * pruner_groups_build:
 * @g: (transfer none): a verified graph.
 * @o: (transfer none): options (exclusions).
 * Returns: (transfer full): PrunerGroup* array (free func set); blocked groups included with a reason.
 */
GPtrArray *pruner_groups_build(const MscGraph *g, const PrunerOptions *o);
/* Channel axis dim of @v (-1 when unknown). */
int64_t pruner_value_dim(const MscValue *v, int axis);
/* TRUE when @name matches one of the NULL-terminated globs. */
gboolean pruner_glob_any(char **globs, const char *name);

/* criteria.c */
/* Scores every prunable group (group->score); @stats (nullable) maps value name -> PrunerActStats. */
gboolean pruner_score_groups(GPtrArray *groups, const PrunerOptions *o, GHashTable *stats, GString *notes,
                             GError **error);
/* Keep count of @len channels at @density with round_to / min_channels. */
int64_t pruner_keep_count(int64_t len, double density, const PrunerOptions *o);
/* Sets keep_n / keep of every prunable group per the targets; for a FLOPs
 * target, searches the global density. @chosen_density (out, nullable). */
gboolean pruner_select(GPtrArray *groups, const MscGraph *g, const PrunerOptions *o, double *chosen_density,
                       GError **error);
/* FLOPs of @g's Conv/Gemm/MatMul after the groups' current keep_n (no slicing). */
double pruner_flops_estimate(const MscGraph *g, GPtrArray *groups, gboolean after);
/* FLOPs of one node (multiply-add = 2) from its value dims. */
double pruner_node_flops(const MscNode *n);

/* slice.c */
/* value name -> PrunerMask (transfer full) from the groups' keep sets; FALSE on overlapping groups. */
GHashTable *pruner_masks_from_groups(GPtrArray *groups, GError **error);
/**
 * pruner_slice_graph:
 * @g: (transfer none): a verified graph, rewritten in place (initializers
 *   replaced, Constant attributes replaced, shape constants fixed).
 * @masks: (transfer none): value name -> PrunerMask.
 * Returns: FALSE with @error naming the node when a mask cannot be honoured.
 * The caller re-verifies @g.
 */
gboolean pruner_slice_graph(MscGraph *g, GHashTable *masks, GError **error);
/* Installs refitted weights on the sliced graph @g (node index, name and op
 * checked). Refit indices are positions in the unpruned graph's node order:
 * @order (nullable) maps them to @g's nodes, NULL = g->nodes (a graph sliced
 * but not yet re-verified keeps the original order). */
gboolean pruner_install_refits(MscGraph *g, MscNode *const *order, GPtrArray *refits, GError **error);
/* Copy of @t keeping @keep entries along @axis. (transfer full) */
MscTensor *pruner_tensor_slice(const MscTensor *t, int axis, const gboolean *keep, GError **error);

/* One layer the refit considered (its input channels were pruned, or its
 * input drifted with refit_drift). Errors are the layer output's squared
 * error relative to its energy on the validation rows (NAN without them). */
typedef struct {
  char *node_name, *op_type;
  int regressors, targets;
  int64_t rows_fit, rows_val;
  double err_plain, err_fit;
  int cols_plain;       /* target columns left with the plainly sliced weights */
  gboolean refitted;    /* new weights installed */
  gboolean drift_only;  /* input channels kept, input drifted */
} PrunerFitStat;

/* Everything the refit run produces. */
typedef struct {
  GPtrArray *refits;                  /* PrunerRefit* */
  GArray *stats;                      /* PrunerFitStat */
  PrunerError plain, fitted;          /* vs the unpruned model, all captured samples */
  PrunerError val_plain, val_fitted;  /* the validation split only (valid when n_val > 0) */
  guint n_fit, n_val;
  gboolean rejected; /* the refitted model was worse on the validation split: refits dropped */
} PrunerFitResult;

/* refit.c */
/**
 * pruner_refit_run:
 * @g0: (transfer none): the unpruned, verified graph.
 * @masks: value name -> PrunerMask.
 * @inputs: captured samples [n_samples][g0->n_inputs]; the last quarter
 *   (from 4 samples on) is the validation split.
 * @o: options (reconstruct, ridge, refit_drift).
 * @res: (out caller-allocates): refits, per-layer statistics, output errors
 *   of the plainly sliced and the refitted model vs @g0; cleared first.
 *   When the refitted model is worse than the plain one on the validation
 *   split, the refits are dropped (res->rejected, a note says so).
 * @notes: (nullable): layers that could not be refitted are appended.
 * Returns: FALSE with @error when a graph copy or a node run fails.
 */
gboolean pruner_refit_run(const MscGraph *g0, GHashTable *masks, MscTensor ***inputs, guint n_samples,
                          const PrunerOptions *o, PrunerFitResult *res, GString *notes, GError **error);
/* Frees the members of @r and zeroes it. */
void pruner_fit_result_clear(PrunerFitResult *r);
void pruner_error_clear(PrunerError *e);
/* TRUE when @a's outputs are further from the reference than @b's: the sum
 * over outputs of 1 - cosine is larger (FALSE when either is not valid). */
gboolean pruner_error_worse(const PrunerError *a, const PrunerError *b);

/* report.c */
typedef struct {
  char *name, *op_type;
  int64_t out_before, out_after, in_before, in_after;
  double params_before, params_after, flops_before, flops_after;
} PrunerLayerRow;

/* Per-node rows for Conv/ConvTranspose/Gemm/MatMul of @g. (transfer full) GArray of PrunerLayerRow (before fields). */
GArray *pruner_layer_rows(const MscGraph *g);
/* Fills the after fields from the rewritten graph (same node order). */
void pruner_layer_rows_after(GArray *rows, const MscGraph *g);
void pruner_layer_rows_free(GArray *rows);

typedef struct {
  GPtrArray *groups;
  GHashTable *masks;
  GPtrArray *refits;
  const PrunerFitResult *fit; /* nullable (a loaded plan) */
  double chosen_density;
  GArray *rows;
  double params_before, params_after, flops_before, flops_after;
  const PrunerOptions *opts;
  const char *options_text; /* canonical "k=v;..." */
  GString *notes;
} PrunerReportData;

/* Writes the report JSON atomically to @path. */
gboolean pruner_report_write(const char *path, const PrunerReportData *d, GError **error);
/* Writes the plan JSON (masks, refits, group summary) atomically. */
gboolean pruner_plan_write(const char *path, const PrunerReportData *d, GError **error);
/* Reads a plan: masks (value name -> PrunerMask) and refits. */
gboolean pruner_plan_read(const char *path, GHashTable **masks, GPtrArray **refits, GError **error);

G_END_DECLS
#endif
