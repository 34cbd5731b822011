/* quant.h: the quantizer plugin's internal types shared by its files:
 * options, the plan (what to quantize and with which scales), the node
 * specs the rewrite builds before materializing a graph, and the
 * functions of qdq.c (rewrite), opset.c (opset upgrade) and report.c
 * (accuracy evaluation). Not part of any public API. */
#ifndef MSC_QUANT_H
#define MSC_QUANT_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "calib.h"
#include "msc-plugin.h"

G_BEGIN_DECLS

#define MSC_QUANT_TARGET_OPSET 13
/* Calibration inputs kept for the accuracy-aware search (all of the
 * default 32) and the first ones for the per-layer report (ref runner). */
#define MSC_QUANT_EVAL_SAMPLES 32
#define MSC_QUANT_REPORT_SAMPLES 8

typedef enum { MSC_QFORMAT_QDQ = 0, MSC_QFORMAT_QOPERATOR = 1 } MscQFormat;

/* One tensor's quantization: real = (q - zp) * scale. */
typedef struct {
  float scale;
  int32_t zp;
  double lo, hi; /* the calibrated range (informative) */
  gboolean overridden;
} MscQParam;

typedef struct {
  MscQCalibMethod method;
  double percentile;
  gboolean moving_average, per_tensor, symmetric_activations, keep_first, keep_last, dynamic;
  MscDType act_type; /* MSC_DTYPE_UINT8 or MSC_DTYPE_INT8 */
  int weight_bits;   /* 8, or 7: weights in [-63, 63] */
  char **op_types;   /* NULL-terminated */
  char **exclude;    /* NULL-terminated glob patterns on node names */
  GHashTable *overrides; /* tensor name -> MscQParam* */
  char *overrides_text;
  MscQFormat format;
  char *report;      /* nullable */
  double tolerance;  /* NAN: off */
  double tolerance_margin; /* the search aims at tolerance + margin on the calibration samples */
  gboolean range_alternatives; /* the search tries other range methods before reverting a layer */
  char **tolerance_outputs; /* NULL-terminated output names the tolerance applies to; empty: all */
  gboolean greedy;   /* accuracy-aware search: one-by-one greedy (else sensitivity-ordered) */
  char *search_runner; /* runner of the search's evaluations */
  gboolean guard_discrete; /* outputs read (through float ops) by discrete ops stay float */
} MscQOptions;

/* What apply does; computed by plan or read back by load_plan. */
typedef struct {
  int64_t opset;               /* ai.onnx opset of the rewritten model */
  gboolean per_tensor_weights; /* effective (forced when the opset stays < 13) */
  char *opset_note;            /* nullable: why the opset could not be raised */
  GHashTable *act;             /* tensor name -> MscQParam* (owned) */
  GPtrArray *nodes;            /* char*: statically quantized nodes, graph order */
  GPtrArray *dyn_nodes;        /* char*: dynamically quantized MatMul/Gemm */
  GHashTable *fused;           /* node name -> name of the Relu/Clip folded into its output */
  GHashTable *bn_folded;       /* Conv name -> name of the BatchNormalization folded into its weights */
  GPtrArray *reverted;         /* char*: kept in float by the accuracy-aware mode */
  GPtrArray *skipped;          /* char*: "node: reason" candidates left in float */
  GPtrArray *float_out;        /* char*: quantized nodes whose output stays float (guard_discrete) */
} MscQPlan;

MscQPlan *msc_qplan_new(void);
void msc_qplan_free(MscQPlan *p);

/* ---- options.c ---- */
#define MSC_QUANT_N_OPTIONS 22
/* The option schema (MscToolApi.options). */
extern const MscOptionSpec msc_quant_options[MSC_QUANT_N_OPTIONS];
/**
 * msc_qopt_parse:
 * Fills @o (defaults, then @opts); on a bad key or value sets @msg through
 * @host (naming the option and what it accepts) and returns
 * MSC_ERR_INVALID_ARG. @o must be cleared with msc_qopt_clear either way.
 */
MscStatus msc_qopt_parse(const MscHostApi *host, const MscOptions *opts, MscQOptions *o, MscMessage *msg);
void msc_qopt_clear(MscQOptions *o);
/* (transfer full) the options as the plan and report echo them. */
JsonObject *msc_qopt_to_json(const MscQOptions *o);
/* "minmax", "percentile", "entropy", "mse" (transfer none). */
const char *msc_qcalib_method_name(MscQCalibMethod m);

/* Activation grid of the options: [qmin, qmax] and symmetry. */
void msc_qopt_act_grid(const MscQOptions *o, int *qmin, int *qmax, gboolean *symmetric);

/* ---- node specs (qdq.c, opset.c) ---- */
typedef struct {
  char *name, *op_type, *domain;
  int64_t opset;
  GPtrArray *in, *out; /* char* value names; "" = absent optional slot */
  GArray *attrs;       /* MscAttr, deep copies owned here */
} MscQNode;

typedef struct {
  GPtrArray *nodes;     /* MscQNode* */
  GHashTable *inits;    /* name -> MscTensor* new initializers (owned) */
  const MscGraph *src;  /* names already taken */
  GHashTable *names;    /* new names taken */
} MscQBuild;

MscQNode *msc_qnode_new(const char *name, const char *op_type, const char *domain, int64_t opset);
void msc_qnode_free(MscQNode *n);
void msc_qnode_add_attr_int(MscQNode *n, const char *name, int64_t v);
void msc_qnode_add_attr_str(MscQNode *n, const char *name, const char *s);
MscAttr *msc_qnode_find_attr(MscQNode *n, const char *name);
void msc_qnode_remove_attr(MscQNode *n, const char *name);
/* Deep copy of an attribute. */
void msc_qattr_copy(MscAttr *dst, const MscAttr *src);
/* A name not used in the source graph nor by the build yet (transfer none). */
const char *msc_qbuild_unique(MscQBuild *b, const char *base);
/* Adds an initializer (takes @t) under a unique name derived from @base. */
const char *msc_qbuild_add_init(MscQBuild *b, const char *base, MscTensor *t);

/* ---- opset.c ---- */
/**
 * msc_quant_opset_blocker:
 * Returns: (transfer full) (nullable): NULL when every default-domain node
 * of @g can be rewritten for opset @target, else "node 'x' (Op): why".
 */
char *msc_quant_opset_blocker(const MscGraph *g, int64_t target);
/* Rewrites @n (from a node of opset @n->opset, input ranks from @g) for
 * @target in place; adds constant inputs to @b. FALSE with @error when
 * impossible (the blocker check says so first). */
gboolean msc_quant_opset_upgrade(MscQBuild *b, const MscGraph *g, const MscNode *orig, MscQNode *n, int64_t target,
                                 GError **error);

/* ---- qdq.c ---- */
/**
 * msc_quant_rewrite:
 * @g: (transfer none): the float graph (verified).
 * Returns: (transfer full) (nullable): the quantized graph (QDQ or
 * QOperator per @o->format), unverified; NULL with @error.
 */
MscGraph *msc_quant_rewrite(const MscGraph *g, const MscQOptions *o, const MscQPlan *p, GError **error);
/* Moves @src's contents into @dst (the host's graph) and frees @src and
 * the old contents. */
void msc_quant_graph_swap(MscGraph *dst, MscGraph *src);
/* Per-channel (or per-tensor) symmetric weight scales max|w_c| / qmax
 * (1 for an all-zero channel); (transfer full) g_free, NULL when @w is
 * not float32 or @axis is out of range. */
float *msc_quant_weight_scales(const MscTensor *w, int axis, gboolean per_tensor, int qmax, int64_t *n_out);
/* Folds BatchNormalization @bn (constant float32 [M] parameters) into
 * Conv weights @w [M, ...] and bias @b (nullable): (out) (transfer full)
 * the folded copies. FALSE when not foldable. */
gboolean msc_quant_fold_bn(const MscGraph *g, const MscNode *bn, const MscTensor *w, const MscTensor *b,
                           MscTensor **w_out, MscTensor **b_out);
/* Output channel axis of a quantized node's weight input (-1: none). */
int msc_quant_weight_axis(const MscNode *n, uint32_t input, int32_t rank);

/* ---- report.c ---- */
typedef struct {
  char *name;  /* tensor */
  char *node;  /* producing quantized node, nullable */
  double dot, nf, nq, err2, max_abs;
  int64_t n;
  int64_t top1_agree, top1_total;
} MscQMetric;

/* Cosine, SNR (dB) of a metric. */
double msc_qmetric_cosine(const MscQMetric *m);
double msc_qmetric_snr_db(const MscQMetric *m);

/**
 * msc_quant_evaluate:
 * Runs @float_g and @quant_g on the ref runner over @samples (each an
 * array of graph-input tensors in @float_g's input order) and compares
 * the tensors named in @layer_tensors (char*) and the graph outputs.
 * @layers: (out) (transfer full): MscQMetric* per layer tensor found.
 * @outputs: (out) (transfer full): MscQMetric* per graph output.
 */
gboolean msc_quant_evaluate(const MscGraph *float_g, const MscGraph *quant_g, GPtrArray *samples, guint n_inputs,
                            GPtrArray *layer_tensors, GHashTable *tensor_node, GPtrArray **layers,
                            GPtrArray **outputs, GError **error);
void msc_qmetric_free(MscQMetric *m);
JsonNode *msc_qmetric_to_json(const MscQMetric *m);

/* Output-only evaluation against float outputs computed once: what the
 * accuracy-aware search runs many times. */
typedef struct MscQOutEval MscQOutEval;
/**
 * msc_quant_outeval_new:
 * @float_g: (transfer none): the float graph; its outputs on @samples
 *   (MscTensor** in input order, referenced, not copied) are kept.
 * @runner: runner name ("cpu": the int8 kernels that will run the model).
 * Returns: (transfer full) (nullable): NULL with @error when the runner
 * cannot build or run the float graph.
 */
MscQOutEval *msc_quant_outeval_new(const MscGraph *float_g, GPtrArray *samples, const char *runner, GError **error);
void msc_quant_outeval_free(MscQOutEval *ev);
uint32_t msc_quant_outeval_n_outputs(const MscQOutEval *ev);
/* Cosine per graph output (all samples flattened) of @quant_g against the
 * float outputs, into @cos (n_outputs entries). FALSE with @error. */
gboolean msc_quant_outeval_cosines(MscQOutEval *ev, const MscGraph *quant_g, double *cos, GError **error);

/* ---- search.c: which layers stay in float ---- */
/* Evaluates the model with exactly the nodes in @quantized (char*)
 * quantized: the cosine of every output into @cos. */
typedef gboolean (*MscQEvalFn)(void *user, GPtrArray *quantized, double *cos, GError **error);
/* Switches @node to its alternative @k (0, 1, ...: e.g. another range
 * method for its tensors); FALSE when there is no alternative @k. With
 * @k == MSC_QALT_RESET, returns @node to its default. */
#define MSC_QALT_RESET G_MAXUINT
typedef gboolean (*MscQAltFn)(void *user, const char *node, guint k);

typedef struct {
  GPtrArray *order;    /* char*: candidates by decreasing sensitivity */
  GArray *sensitivity; /* double per entry of @order: worst 1 - cosine with only that node quantized */
  GPtrArray *reverted; /* char*: kept in float, graph order */
  double *cos;         /* n_outputs: cosines of the final choice */
  double initial_min_cos, final_min_cos;
  gboolean met;
  guint evaluations;
  guint failing_alone; /* candidates that miss the tolerance even alone in int8 */
  GPtrArray *alternatives; /* char* "node:k": restored with alternative k */
  JsonArray *steps;    /* {"phase", "reverted" count or node, "min_output_cosine", "met"} */
} MscQSearch;

/**
 * msc_quant_search:
 * @candidates: (transfer none): char* quantizable nodes, graph order.
 * @mask: (nullable): n_outputs flags: the outputs the tolerance applies to
 *   (NULL: all).
 * Sensitivity-ordered mixed precision: each candidate's sensitivity is
 * measured once (only it quantized); the most sensitive are reverted,
 * their number found by bisection, then each reverted node is tried back
 * in int8 (least sensitive first) and kept there when the tolerance still
 * holds, first as is, then with each alternative @alt (nullable) offers.
 * @out is filled (free with msc_qsearch_clear); FALSE only on an
 * evaluation error.
 */
gboolean msc_quant_search(GPtrArray *candidates, guint n_outputs, const gboolean *mask, double tolerance,
                          MscQEvalFn eval, MscQAltFn alt, void *user, MscQSearch *out, GError **error);
void msc_qsearch_clear(MscQSearch *s);

G_END_DECLS
#endif
