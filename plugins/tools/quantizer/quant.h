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
#define MSC_QUANT_EVAL_SAMPLES 8

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
} MscQPlan;

MscQPlan *msc_qplan_new(void);
void msc_qplan_free(MscQPlan *p);

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

G_END_DECLS
#endif
