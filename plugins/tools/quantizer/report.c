/* report.c: accuracy of a quantized graph against its float original:
 * both run on the ref runner over the captured calibration inputs; per
 * quantized layer (its output tensor, before QuantizeLinear) and per
 * graph output: cosine similarity, SNR (dB), max abs error, and top-1
 * agreement for [N, C] outputs. Statistics accumulate over all samples
 * flattened together; memory holds one sample's float layer outputs. */
#include <math.h>
#include <string.h>

#include "error.h"
#include "onnx.h"
#include "quant.h"
#include "tensor.h"
#include "worker.h"

double msc_qmetric_cosine(const MscQMetric *m) {
  if (m->nf == 0 && m->nq == 0) return 1.0;
  if (m->nf == 0 || m->nq == 0) return 0.0;
  return m->dot / sqrt(m->nf * m->nq);
}

double msc_qmetric_snr_db(const MscQMetric *m) {
  if (m->err2 == 0) return 200.0;
  if (m->nf == 0) return -200.0;
  double s = 10 * log10(m->nf / m->err2);
  return s > 200 ? 200 : s < -200 ? -200 : s;
}

void msc_qmetric_free(MscQMetric *m) {
  if (!m) return;
  g_free(m->name);
  g_free(m->node);
  g_free(m);
}

JsonNode *msc_qmetric_to_json(const MscQMetric *m) {
  JsonObject *o = json_object_new();
  json_object_set_string_member(o, "tensor", m->name);
  if (m->node) json_object_set_string_member(o, "node", m->node);
  json_object_set_double_member(o, "cosine", msc_qmetric_cosine(m));
  json_object_set_double_member(o, "snr_db", msc_qmetric_snr_db(m));
  json_object_set_double_member(o, "max_abs", m->max_abs);
  json_object_set_int_member(o, "elements", m->n);
  if (m->top1_total) {
    json_object_set_int_member(o, "top1_agree", m->top1_agree);
    json_object_set_int_member(o, "top1_total", m->top1_total);
  }
  JsonNode *n = json_node_new(JSON_NODE_OBJECT);
  json_node_take_object(n, o);
  return n;
}

static void accumulate(MscQMetric *m, const MscTensor *f, const MscTensor *q) {
  if (!f || !q || f->dtype != MSC_DTYPE_FLOAT32 || q->dtype != MSC_DTYPE_FLOAT32) return;
  int64_t n = msc_tensor_numel(f);
  if (n != msc_tensor_numel(q)) return;
  const float *a = f->data, *b = q->data;
  for (int64_t i = 0; i < n; i++) {
    double x = a[i], y = b[i];
    if (!isfinite(x) || !isfinite(y)) continue;
    m->dot += x * y;
    m->nf += x * x;
    m->nq += y * y;
    m->err2 += (x - y) * (x - y);
    if (fabs(x - y) > m->max_abs) m->max_abs = fabs(x - y);
  }
  m->n += n;
  /* top-1 over rows of [N, C] outputs */
  if (f->rank == 2 && f->dims[1] > 1) {
    int64_t C = f->dims[1];
    for (int64_t r = 0; r < f->dims[0]; r++) {
      int64_t ia = 0, ib = 0;
      for (int64_t c = 1; c < C; c++) {
        if (a[r * C + c] > a[r * C + ia]) ia = c;
        if (b[r * C + c] > b[r * C + ib]) ib = c;
      }
      m->top1_agree += ia == ib;
      m->top1_total++;
    }
  }
}

typedef struct {
  gboolean compare;
  GHashTable *want;  /* tensor name -> GINT index+1 (float pass) */
  GHashTable *want_q; /* quantized graph: the tensor's DequantizeLinear output, else itself */
  MscTensor **store; /* float outputs of the current sample */
  GPtrArray *metrics;
} EvalHook;

static int eval_hook(void *user, MscHookPhase phase, const MscNode *node, const MscTensor *const *in, uint32_t ni,
                     const MscTensor *const *out, uint32_t no, double ms) {
  EvalHook *h = user;
  if (phase != MSC_HOOK_AFTER) return 0;
  for (uint32_t j = 0; j < no && j < node->n_outputs; j++) {
    if (!out[j] || !node->outputs[j]) continue;
    int idx = GPOINTER_TO_INT(g_hash_table_lookup(h->compare ? h->want_q : h->want, node->outputs[j]->name)) - 1;
    if (idx < 0) continue;
    if (!h->compare) {
      msc_tensor_free(h->store[idx]);
      h->store[idx] = msc_tensor_copy(out[j], NULL);
    } else {
      accumulate(g_ptr_array_index(h->metrics, idx), h->store[idx], out[j]);
    }
  }
  return 0;
}

static MscWorker *worker_on(const MscGraph *g, const char *runner, GError **error) {
  uint8_t *data = NULL;
  size_t len = 0;
  if (!msc_onnx_save_buffer(g, &data, &len, error)) return NULL;
  MscWorker *w = msc_worker_new_from_buffer(data, len, g->name ? g->name : "model", error);
  g_free(data);
  if (w && !msc_worker_build(w, runner, NULL, error)) {
    msc_worker_free(w);
    return NULL;
  }
  return w;
}

static MscWorker *worker_for(const MscGraph *g, GError **error) { return worker_on(g, "ref", error); }

static void free_outputs(MscTensor **o, uint32_t n) {
  if (!o) return;
  for (uint32_t i = 0; i < n; i++) msc_tensor_free(o[i]);
  g_free(o);
}

gboolean msc_quant_evaluate(const MscGraph *float_g, const MscGraph *quant_g, GPtrArray *samples, guint n_inputs,
                            GPtrArray *layer_tensors, GHashTable *tensor_node, GPtrArray **layers,
                            GPtrArray **outputs, GError **error) {
  g_autoptr(MscWorker) wf = worker_for(float_g, error);
  if (!wf) return FALSE;
  g_autoptr(MscWorker) wq = worker_for(quant_g, error);
  if (!wq) {
    g_prefix_error(error, "quantized graph: ");
    return FALSE;
  }
  (void)n_inputs;
  guint nl = layer_tensors ? layer_tensors->len : 0;
  EvalHook h = {FALSE, g_hash_table_new(g_str_hash, g_str_equal), g_hash_table_new(g_str_hash, g_str_equal),
                g_new0(MscTensor *, nl + 1), g_ptr_array_new_with_free_func((GDestroyNotify)msc_qmetric_free)};
  /* What consumers of T read in the quantized graph: DQ(Q(T)) (this also
   * applies a Relu/Clip folded into the quantization). */
  GHashTable *dq_of = g_hash_table_new(g_str_hash, g_str_equal);
  const MscGraph *qgv = msc_worker_graph(wq);
  for (uint32_t i = 0; i < qgv->n_nodes; i++) {
    const MscNode *n = qgv->nodes[i];
    if (strcmp(n->op_type, "DequantizeLinear") || !n->inputs[0] || !n->inputs[0]->producer) continue;
    const MscNode *q = n->inputs[0]->producer;
    if (!strcmp(q->op_type, "QuantizeLinear") && q->inputs[0])
      g_hash_table_insert(dq_of, q->inputs[0]->name, n->outputs[0]->name);
  }
  for (guint i = 0; i < nl; i++) {
    const char *t = g_ptr_array_index(layer_tensors, i);
    g_hash_table_insert(h.want, (gpointer)t, GINT_TO_POINTER(i + 1));
    const char *tq = g_hash_table_lookup(dq_of, t);
    g_hash_table_insert(h.want_q, (gpointer)(tq ? tq : t), GINT_TO_POINTER(i + 1));
    MscQMetric *m = g_new0(MscQMetric, 1);
    m->name = g_strdup(t);
    m->node = g_strdup(tensor_node ? g_hash_table_lookup(tensor_node, t) : NULL);
    g_ptr_array_add(h.metrics, m);
  }
  uint32_t no = float_g->n_outputs;
  GPtrArray *om = g_ptr_array_new_with_free_func((GDestroyNotify)msc_qmetric_free);
  for (uint32_t j = 0; j < no; j++) {
    MscQMetric *m = g_new0(MscQMetric, 1);
    m->name = g_strdup(float_g->outputs[j]->name);
    g_ptr_array_add(om, m);
  }
  gboolean ok = TRUE;
  MscRunHooks hooks = {eval_hook, &h};
  for (guint k = 0; k < samples->len && ok; k++) {
    MscTensor *const *in = g_ptr_array_index(samples, k);
    MscTensor **fo = NULL, **qo = NULL;
    h.compare = FALSE;
    ok = msc_worker_run(wf, in, &fo, nl ? &hooks : NULL, error);
    if (ok) {
      h.compare = TRUE;
      ok = msc_worker_run(wq, in, &qo, nl ? &hooks : NULL, error);
      if (!ok) g_prefix_error(error, "quantized graph: ");
    }
    if (ok)
      for (uint32_t j = 0; j < no; j++) accumulate(g_ptr_array_index(om, j), fo[j], qo[j]);
    free_outputs(fo, no);
    free_outputs(qo, no);
  }
  for (guint i = 0; i < nl; i++) msc_tensor_free(h.store[i]);
  g_free(h.store);
  g_hash_table_unref(h.want);
  g_hash_table_unref(h.want_q);
  g_hash_table_unref(dq_of);
  if (!ok) {
    g_ptr_array_unref(h.metrics);
    g_ptr_array_unref(om);
    return FALSE;
  }
  *layers = h.metrics;
  *outputs = om;
  return TRUE;
}

/* ---- output-only evaluation (the accuracy-aware search) ------------------------------------- */

struct MscQOutEval {
  char *runner;
  GPtrArray *samples;   /* MscTensor** (borrowed) */
  MscTensor ***ref;     /* [sample][output] float outputs */
  uint32_t n_outputs;
};

MscQOutEval *msc_quant_outeval_new(const MscGraph *float_g, GPtrArray *samples, const char *runner, GError **error) {
  g_autoptr(MscWorker) w = worker_on(float_g, runner, error);
  if (!w) return NULL;
  MscQOutEval *ev = g_new0(MscQOutEval, 1);
  ev->runner = g_strdup(runner);
  ev->samples = g_ptr_array_ref(samples);
  ev->n_outputs = float_g->n_outputs;
  ev->ref = g_new0(MscTensor **, samples->len + 1);
  for (guint k = 0; k < samples->len; k++)
    if (!msc_worker_run(w, g_ptr_array_index(samples, k), &ev->ref[k], NULL, error)) {
      msc_quant_outeval_free(ev);
      return NULL;
    }
  return ev;
}

void msc_quant_outeval_free(MscQOutEval *ev) {
  if (!ev) return;
  for (guint k = 0; k < ev->samples->len; k++) free_outputs(ev->ref[k], ev->n_outputs);
  g_free(ev->ref);
  g_ptr_array_unref(ev->samples);
  g_free(ev->runner);
  g_free(ev);
}

uint32_t msc_quant_outeval_n_outputs(const MscQOutEval *ev) { return ev->n_outputs; }

gboolean msc_quant_outeval_cosines(MscQOutEval *ev, const MscGraph *quant_g, double *cos, GError **error) {
  g_autoptr(MscWorker) w = worker_on(quant_g, ev->runner, error);
  if (!w) {
    g_prefix_error(error, "quantized graph: ");
    return FALSE;
  }
  MscQMetric *m = g_new0(MscQMetric, ev->n_outputs);
  gboolean ok = TRUE;
  for (guint k = 0; k < ev->samples->len && ok; k++) {
    MscTensor **qo = NULL;
    ok = msc_worker_run(w, g_ptr_array_index(ev->samples, k), &qo, NULL, error);
    for (uint32_t j = 0; ok && j < ev->n_outputs; j++) accumulate(&m[j], ev->ref[k][j], qo[j]);
    free_outputs(qo, ev->n_outputs);
  }
  for (uint32_t j = 0; ok && j < ev->n_outputs; j++) cos[j] = msc_qmetric_cosine(&m[j]);
  g_free(m);
  return ok;
}
