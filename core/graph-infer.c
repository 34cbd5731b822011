/* graph-infer.c: op resolution, static shape/dtype inference with constant
 * folding, verification, and single-node execution. Static inference and
 * execution share one path: the op's infer() (see msc-op.h). */
#include <string.h>

#include "error.h"
#include "graph.h"
#include "ops.h"
#include "tensor.h"

/* Fold all-constant nodes whose outputs are at most this many elements:
 * enough for shape arithmetic (Shape->Gather->Concat->Reshape), small
 * enough that weight generators (ConstantOfShape) stay lazy. */
#define FOLD_MAX_ELEMS 65536
/* Views of constants (a caffe2 export's Reshape(classifier_w, shape) feeding
 * Gemm) fold up to this size, so tools see such a weight as a constant:
 * a copy, no arithmetic; weight generators stay lazy. */
#define FOLD_MAX_VIEW_ELEMS (16 * 1024 * 1024)

static gboolean is_view_op(const MscNode *n) {
  static const char *const views[] = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", NULL};
  if (n->domain && n->domain[0]) return FALSE;
  for (int i = 0; views[i]; i++)
    if (!strcmp(n->op_type, views[i])) return TRUE;
  return FALSE;
}

static gboolean ensure_builtins(GError **error) {
  return msc_ops_register_builtins(error);
}

gboolean msc_graph_resolve_ops(MscGraph *g, GError **error) {
  if (!ensure_builtins(error)) return FALSE;
  char desc[256];
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    MscNode *n = g->nodes[i];
    n->op = msc_op_lookup(n->domain, n->op_type, n->opset);
    if (!n->op) {
      msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: UNSUPPORTED op %s%s%s at opset %" G_GINT64_FORMAT,
                    msc_node_describe(n, desc, sizeof desc), *n->domain ? n->domain : "", *n->domain ? "." : "",
                    n->op_type, n->opset);
      return FALSE;
    }
  }
  return TRUE;
}

/* Checks arity against the op definition. */
static gboolean check_arity(const MscNode *n, const MscTensor *const *in, GError **error) {
  const MscOpDef *d = n->op;
  char desc[256];
  uint32_t present = n->n_inputs;
  while (present > 0 && !in[present - 1]) present--;
  if (present < d->min_inputs || (d->max_inputs && present > d->max_inputs)) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "%s: %u inputs, expected %u..%u", msc_node_describe(n, desc, sizeof desc),
                  present, d->min_inputs, d->max_inputs);
    return FALSE;
  }
  for (uint32_t i = 0; i < d->min_inputs; i++)
    if (!in[i]) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "%s: required input %u is missing", msc_node_describe(n, desc, sizeof desc), i);
      return FALSE;
    }
  uint32_t outs = n->n_outputs;
  if (outs < d->min_outputs || (d->max_outputs && outs > d->max_outputs)) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "%s: %u outputs, expected %u..%u", msc_node_describe(n, desc, sizeof desc),
                  outs, d->min_outputs, d->max_outputs);
    return FALSE;
  }
  return TRUE;
}

/* Calls the op's infer (@kernel FALSE) or run (@kernel TRUE) on one node;
 * a failure becomes a GError prefixed with the node. */
static gboolean call_op(const MscNode *n, const MscTensor *const *in, MscTensor *const *out, gboolean kernel,
                        int static_infer, GError **error) {
  char desc[256];
  MscOpCtx ctx = {0};
  ctx.node = n;
  ctx.in = in;
  ctx.n_in = n->n_inputs;
  ctx.out = out;
  ctx.n_out = n->n_outputs;
  ctx.static_infer = static_infer;
  MscStatus st = kernel ? n->op->run(&ctx) : n->op->infer(&ctx);
  if (st == MSC_OK) st = ctx.status;
  if (st != MSC_OK) {
    msc_set_error(error, st, "%s: %s", msc_node_describe(n, desc, sizeof desc),
                  ctx.message[0] ? ctx.message : msc_status_name(st));
    return FALSE;
  }
  return TRUE;
}

static gboolean run_infer(const MscNode *n, const MscTensor *const *in, MscTensor *const *out, int static_infer,
                          GError **error) {
  return call_op(n, in, out, FALSE, static_infer, error);
}

static gboolean run_kernel(const MscNode *n, const MscTensor *const *in, MscTensor *const *out, GError **error) {
  return call_op(n, in, out, TRUE, 0, error);
}

gboolean msc_node_execute(const MscNode *n, const MscTensor *const *inputs, MscTensor **outputs, GError **error) {
  char desc[256];
  if (!n->op) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: UNSUPPORTED op (not resolved)", msc_node_describe(n, desc, sizeof desc));
    return FALSE;
  }
  if (!check_arity(n, inputs, error)) return FALSE;
  uint32_t no = n->n_outputs;
  g_autofree MscTensor **out = g_new0(MscTensor *, no ? no : 1);
  for (uint32_t j = 0; j < no; j++) {
    outputs[j] = NULL;
    if (n->outputs[j]) out[j] = msc_tensor_new_info(MSC_DTYPE_UNDEFINED, -1, NULL);
  }
  gboolean ok = run_infer(n, inputs, out, 0, error);
  for (uint32_t j = 0; ok && j < no; j++) {
    if (!out[j]) continue;
    MscTensor *info = out[j];
    if (info->rank < 0 || msc_shape_numel(info->rank, info->dims) < 0 || info->dtype == MSC_DTYPE_UNDEFINED) {
      msc_set_error(error, MSC_ERR_INTERNAL, "%s: output %u shape not inferred", msc_node_describe(n, desc, sizeof desc), j);
      ok = FALSE;
      break;
    }
    GError *e = NULL;
    MscTensor *t = msc_tensor_new(info->dtype, info->rank, info->dims, &e);
    if (!t) {
      msc_set_error(error, msc_status_from_error(e), "%s: output %u: %s", msc_node_describe(n, desc, sizeof desc), j,
                    e->message);
      g_error_free(e);
      ok = FALSE;
      break;
    }
    msc_tensor_set_name(t, n->outputs[j]->name);
    msc_tensor_free(info);
    out[j] = t;
  }
  if (ok) ok = run_kernel(n, inputs, out, error);
  for (uint32_t j = 0; j < no; j++) {
    if (ok) outputs[j] = out[j];
    else msc_tensor_free(out[j]);
  }
  return ok;
}

/* Static inference of one node; returns FALSE only on a real error. */
static gboolean infer_node(MscNode *n, GError **error) {
  uint32_t ni = n->n_inputs, no = n->n_outputs;
  g_autofree MscTensor *infos = g_new0(MscTensor, ni ? ni : 1);
  g_autofree const MscTensor **in = g_new0(const MscTensor *, ni ? ni : 1);
  gboolean all_const = TRUE, all_dims = TRUE;
  for (uint32_t i = 0; i < ni; i++) {
    MscValue *v = n->inputs[i];
    if (!v) continue;
    if (v->value) {
      in[i] = v->value;
      continue;
    }
    all_const = FALSE;
    if (v->rank < 0 || v->dtype == MSC_DTYPE_UNDEFINED) {
      /* unknown: leave outputs unknown, but arity is checkable anyway */
      for (uint32_t k = 0; k < ni; k++) in[k] = n->inputs[k] ? &infos[k] : NULL;
      return check_arity(n, in, error);
    }
    infos[i].dtype = v->dtype;
    infos[i].rank = v->rank;
    memcpy(infos[i].dims, v->dims, sizeof v->dims);
    if (msc_shape_numel(v->rank, v->dims) < 0) all_dims = FALSE;
    in[i] = &infos[i];
  }
  if (!check_arity(n, in, error)) return FALSE;
  g_autofree MscTensor *oinfo = g_new0(MscTensor, no ? no : 1);
  g_autofree MscTensor **out = g_new0(MscTensor *, no ? no : 1);
  for (uint32_t j = 0; j < no; j++) {
    oinfo[j].rank = -1;
    if (n->outputs[j]) out[j] = &oinfo[j];
  }
  if (!run_infer(n, in, out, 1, error)) return FALSE;
  int64_t fold_elems = 0;
  for (uint32_t j = 0; j < no; j++) {
    MscValue *v = n->outputs[j];
    if (!v) continue;
    if (oinfo[j].dtype != MSC_DTYPE_UNDEFINED) v->dtype = oinfo[j].dtype;
    if (oinfo[j].rank >= 0) {
      if (v->rank != oinfo[j].rank) {
        for (int k = 0; k < MSC_MAX_RANK; k++) v->dims[k] = -1;
      }
      v->rank = oinfo[j].rank;
      for (int k = 0; k < v->rank; k++)
        if (oinfo[j].dims[k] >= 0) v->dims[k] = oinfo[j].dims[k];
      int64_t e = msc_shape_numel(v->rank, oinfo[j].dims);
      fold_elems = (e < 0 || fold_elems < 0) ? -1 : fold_elems + e;
    } else {
      fold_elems = -1;
    }
  }
  const int64_t fold_max = all_const && is_view_op(n) ? FOLD_MAX_VIEW_ELEMS : FOLD_MAX_ELEMS;
  gboolean foldable = !(n->op->flags & MSC_OP_NO_FOLD) && fold_elems >= 0 && fold_elems <= fold_max &&
                      (all_const || ((n->op->flags & MSC_OP_FOLD_FROM_SHAPE) && all_dims));
  if (foldable && n->op->flags & MSC_OP_FOLD_FROM_SHAPE && !all_const) {
    /* Shape-only inputs: run the kernel directly, it reads dims only. */
    g_autofree MscTensor **res = g_new0(MscTensor *, no ? no : 1);
    gboolean ok = TRUE;
    for (uint32_t j = 0; j < no && ok; j++)
      if (n->outputs[j]) ok = (res[j] = msc_tensor_new(oinfo[j].dtype, oinfo[j].rank, oinfo[j].dims, NULL)) != NULL;
    if (ok && run_kernel(n, in, res, NULL)) {
      for (uint32_t j = 0; j < no; j++)
        if (n->outputs[j]) {
          msc_tensor_free(n->outputs[j]->value);
          n->outputs[j]->value = g_steal_pointer(&res[j]);
        }
    }
    for (uint32_t j = 0; j < no; j++) msc_tensor_free(res[j]);
  } else if (foldable) {
    g_autofree MscTensor **res = g_new0(MscTensor *, no ? no : 1);
    if (msc_node_execute(n, in, res, NULL)) {
      for (uint32_t j = 0; j < no; j++)
        if (n->outputs[j]) {
          msc_tensor_free(n->outputs[j]->value);
          n->outputs[j]->value = res[j];
        }
    }
  }
  return TRUE;
}

gboolean msc_graph_infer(MscGraph *g, GError **error) {
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (!infer_node(g->nodes[i], error)) return FALSE;
  return TRUE;
}

gboolean msc_graph_verify(MscGraph *g, GError **error) {
  if (!msc_graph_sort(g, error)) return FALSE;
  if (!msc_graph_resolve_ops(g, error)) return FALSE;
  for (uint32_t i = 0; i < g->n_inputs; i++) {
    MscValue *v = g->inputs[i];
    if (v->dtype != MSC_DTYPE_UNDEFINED && !msc_dtype_is_supported(v->dtype)) {
      msc_set_error(error, MSC_ERR_UNSUPPORTED, "graph input '%s': UNSUPPORTED dtype %s", v->name,
                    msc_dtype_name(v->dtype));
      return FALSE;
    }
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    MscValue *v = g->outputs[i];
    if (!v->producer && !(v->flags & (MSC_VALUE_GRAPH_INPUT | MSC_VALUE_INITIALIZER))) {
      msc_set_error(error, MSC_ERR_CORRUPT, "graph output '%s' is not produced by any node", v->name);
      return FALSE;
    }
  }
  return msc_graph_infer(g, error);
}
