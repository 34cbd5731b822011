/* report.c: the pruning report (per layer channels, params and FLOPs
 * before/after, model totals, groups and why some stay whole, output error
 * of the plainly pruned and the refitted model) and the plan file (masks per
 * value and refitted weights, enough to re-apply without re-planning).
 * Both are JSON written atomically (msc_file_write_atomic); entries are
 * sorted so plans diff well. */
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "error.h"
#include "pruner.h"
#include "tensor-io.h"
#include "tensor.h"

static int64_t attr_i(const MscNode *n, const char *name, int64_t def) {
  for (uint32_t i = 0; i < n->n_attrs; i++)
    if (!strcmp(n->attrs[i].name, name) && n->attrs[i].type == MSC_ATTR_INT) return n->attrs[i].i;
  return def;
}

static gboolean is_layer(const MscNode *n) {
  return (!n->domain || !n->domain[0]) && n->n_inputs >= 2 && n->n_outputs >= 1 && n->inputs[0] && n->outputs[0] &&
         (!strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "ConvTranspose") || !strcmp(n->op_type, "Gemm") ||
          !strcmp(n->op_type, "MatMul"));
}

static void fill(PrunerLayerRow *r, const MscNode *n, gboolean after) {
  gboolean conv = !strncmp(n->op_type, "Conv", 4);
  const MscValue *x = n->inputs[0], *y = n->outputs[0];
  int64_t in = pruner_value_dim(x, conv ? 1 : x->rank - 1), out = pruner_value_dim(y, conv ? 1 : y->rank - 1);
  if (!strcmp(n->op_type, "Gemm") && attr_i(n, "transA", 0)) in = pruner_value_dim(x, 0);
  double params = 0;
  for (uint32_t k = 1; k < n->n_inputs; k++)
    if (n->inputs[k] && n->inputs[k]->value) params += (double)msc_tensor_numel(n->inputs[k]->value);
  double fl = pruner_node_flops(n);
  if (after) {
    r->in_after = in;
    r->out_after = out;
    r->params_after = params;
    r->flops_after = fl;
  } else {
    r->in_before = in;
    r->out_before = out;
    r->params_before = params;
    r->flops_before = fl;
  }
}

GArray *pruner_layer_rows(const MscGraph *g) {
  GArray *rows = g_array_new(FALSE, TRUE, sizeof(PrunerLayerRow));
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (!is_layer(n)) continue;
    PrunerLayerRow r = {0};
    r.name = g_strdup(n->name);
    r.op_type = g_strdup(n->op_type);
    fill(&r, n, FALSE);
    g_array_append_val(rows, r);
  }
  return rows;
}

void pruner_layer_rows_after(GArray *rows, const MscGraph *g) {
  guint j = 0;
  for (uint32_t i = 0; i < g->n_nodes && j < rows->len; i++) {
    const MscNode *n = g->nodes[i];
    if (!is_layer(n)) continue;
    fill(&g_array_index(rows, PrunerLayerRow, j++), n, TRUE);
  }
}

void pruner_layer_rows_free(GArray *rows) {
  if (!rows) return;
  for (guint i = 0; i < rows->len; i++) {
    g_free(g_array_index(rows, PrunerLayerRow, i).name);
    g_free(g_array_index(rows, PrunerLayerRow, i).op_type);
  }
  g_array_unref(rows);
}

static gboolean write_json(const char *path, JsonBuilder *b, GError **error) {
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_root(gen, root);
  gsize len = 0;
  g_autofree char *text = json_generator_to_data(gen, &len);
  g_autofree char *withnl = g_strconcat(text, "\n", NULL);
  return msc_file_write_atomic(path, (const uint8_t *)withnl, len + 1, error);
}

static void add_double(JsonBuilder *b, const char *k, double v) {
  json_builder_set_member_name(b, k);
  if (isfinite(v)) json_builder_add_double_value(b, v);
  else json_builder_add_null_value(b);
}

static void add_int(JsonBuilder *b, const char *k, int64_t v) {
  json_builder_set_member_name(b, k);
  json_builder_add_int_value(b, v);
}

static void add_str(JsonBuilder *b, const char *k, const char *v) {
  json_builder_set_member_name(b, k);
  if (v) json_builder_add_string_value(b, v);
  else json_builder_add_null_value(b);
}

static void add_error(JsonBuilder *b, const char *k, const PrunerError *e) {
  json_builder_set_member_name(b, k);
  if (!e->valid) {
    json_builder_add_null_value(b);
    return;
  }
  json_builder_begin_object(b);
  add_double(b, "min_cosine", e->min_cosine);
  add_double(b, "max_abs", e->max_abs);
  json_builder_set_member_name(b, "per_output");
  json_builder_begin_array(b);
  for (guint j = 0; j < e->n_outputs; j++) {
    json_builder_begin_object(b);
    add_double(b, "cosine", e->cosine[j]);
    add_double(b, "max_abs", e->maxabs[j]);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
}

/* "refit_layers": every layer the refit considered, with its validation error. */
static void add_fit_stats(JsonBuilder *b, GArray *stats) {
  json_builder_set_member_name(b, "refit_layers");
  json_builder_begin_array(b);
  for (guint i = 0; stats && i < stats->len; i++) {
    const PrunerFitStat *st = &g_array_index(stats, PrunerFitStat, i);
    json_builder_begin_object(b);
    add_str(b, "name", st->node_name);
    add_str(b, "op_type", st->op_type);
    add_str(b, "why", st->drift_only ? "input drifted" : "input channels pruned");
    add_int(b, "regressors", st->regressors);
    add_int(b, "targets", st->targets);
    add_int(b, "rows_fit", st->rows_fit);
    add_int(b, "rows_validation", st->rows_val);
    add_double(b, "validation_rel_error_plain", st->err_plain);
    add_double(b, "validation_rel_error_refit", st->err_fit);
    add_int(b, "targets_kept_plain", st->cols_plain);
    json_builder_set_member_name(b, "refitted");
    json_builder_add_boolean_value(b, st->refitted);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
}

static void add_groups(JsonBuilder *b, GPtrArray *groups) {
  json_builder_set_member_name(b, "groups");
  json_builder_begin_array(b);
  for (guint gi = 0; groups && gi < groups->len; gi++) {
    const PrunerGroup *g = g_ptr_array_index(groups, gi);
    json_builder_begin_object(b);
    add_int(b, "id", g->id);
    add_int(b, "channels", g->len);
    add_int(b, "kept", g->blocked ? g->len : g->keep_n);
    json_builder_set_member_name(b, "sources");
    json_builder_begin_array(b);
    for (guint i = 0; i < g->sources->len; i++)
      json_builder_add_string_value(b, g_array_index(g->sources, PrunerNodeRef, i).node->name);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "sinks");
    json_builder_begin_array(b);
    for (guint i = 0; i < g->sinks->len; i++)
      json_builder_add_string_value(b, g_array_index(g->sinks, PrunerNodeRef, i).node->name);
    json_builder_end_array(b);
    add_str(b, "unpruned_because", g->blocked);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
}

gboolean pruner_report_write(const char *path, const PrunerReportData *d, GError **error) {
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_str(b, "tool", "pruner");
  add_str(b, "options", d->options_text);
  add_double(b, "density", d->chosen_density);
  json_builder_set_member_name(b, "model");
  json_builder_begin_object(b);
  add_double(b, "params_before", d->params_before);
  add_double(b, "params_after", d->params_after);
  add_double(b, "params_removed", d->params_before > 0 ? 1.0 - d->params_after / d->params_before : 0.0);
  add_double(b, "flops_before", d->flops_before);
  add_double(b, "flops_after", d->flops_after);
  add_double(b, "flops_removed", d->flops_before > 0 ? 1.0 - d->flops_after / d->flops_before : 0.0);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "output_error");
  json_builder_begin_object(b);
  const PrunerError none = {0};
  const PrunerFitResult *f = d->fit;
  add_int(b, "samples", f && f->plain.valid ? f->plain.n_samples : 0);
  add_error(b, "plain", f ? &f->plain : &none);
  add_error(b, "reconstructed", f ? &f->fitted : &none);
  add_int(b, "refitted_layers", d->refits ? d->refits->len : 0);
  if (f) {
    json_builder_set_member_name(b, "refit_rejected");
    json_builder_add_boolean_value(b, f->rejected);
  }
  /* the last quarter of the captured samples: each layer's refit was
   * checked on them (not fitted on them) */
  json_builder_set_member_name(b, "validation");
  json_builder_begin_object(b);
  add_int(b, "samples", f ? f->n_val : 0);
  add_error(b, "plain", f ? &f->val_plain : &none);
  add_error(b, "reconstructed", f ? &f->val_fitted : &none);
  json_builder_end_object(b);
  json_builder_end_object(b);
  add_fit_stats(b, f ? f->stats : NULL);
  json_builder_set_member_name(b, "layers");
  json_builder_begin_array(b);
  for (guint i = 0; d->rows && i < d->rows->len; i++) {
    const PrunerLayerRow *r = &g_array_index(d->rows, PrunerLayerRow, i);
    json_builder_begin_object(b);
    add_str(b, "name", r->name);
    add_str(b, "op_type", r->op_type);
    add_int(b, "out_channels_before", r->out_before);
    add_int(b, "out_channels_after", r->out_after);
    add_int(b, "in_channels_before", r->in_before);
    add_int(b, "in_channels_after", r->in_after);
    add_double(b, "params_before", r->params_before);
    add_double(b, "params_after", r->params_after);
    add_double(b, "flops_before", r->flops_before);
    add_double(b, "flops_after", r->flops_after);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  add_groups(b, d->groups);
  add_str(b, "notes", d->notes && d->notes->len ? d->notes->str : NULL);
  json_builder_end_object(b);
  return write_json(path, b, error);
}

static void add_tensor(JsonBuilder *b, const char *k, const MscTensor *t) {
  json_builder_set_member_name(b, k);
  if (!t) {
    json_builder_add_null_value(b);
    return;
  }
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "dims");
  json_builder_begin_array(b);
  for (int i = 0; i < t->rank; i++) json_builder_add_int_value(b, t->dims[i]);
  json_builder_end_array(b);
  g_autofree char *b64 = g_base64_encode(t->data, t->nbytes);
  add_str(b, "float32_le_base64", b64);
  json_builder_end_object(b);
}

static gint cmp_str(gconstpointer a, gconstpointer b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

gboolean pruner_plan_write(const char *path, const PrunerReportData *d, GError **error) {
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_str(b, "tool", "pruner");
  add_int(b, "plan_version", 1);
  add_str(b, "options", d->options_text);
  add_double(b, "density", d->chosen_density);
  json_builder_set_member_name(b, "masks");
  json_builder_begin_array(b);
  g_autoptr(GPtrArray) names = g_ptr_array_new();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, d->masks);
  while (g_hash_table_iter_next(&it, &k, &v)) g_ptr_array_add(names, k);
  g_ptr_array_sort(names, cmp_str);
  for (guint i = 0; i < names->len; i++) {
    const PrunerMask *m = g_hash_table_lookup(d->masks, g_ptr_array_index(names, i));
    json_builder_begin_object(b);
    add_str(b, "value", g_ptr_array_index(names, i));
    add_int(b, "axis", m->axis);
    add_int(b, "dim", m->dim);
    json_builder_set_member_name(b, "keep");
    json_builder_begin_array(b);
    for (int64_t c = 0; c < m->dim; c++)
      if (m->keep[c]) json_builder_add_int_value(b, c);
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "refits");
  json_builder_begin_array(b);
  for (guint i = 0; d->refits && i < d->refits->len; i++) {
    const PrunerRefit *r = g_ptr_array_index(d->refits, i);
    json_builder_begin_object(b);
    add_int(b, "index", r->index);
    add_str(b, "node", r->node_name);
    add_str(b, "op_type", r->op_type);
    add_tensor(b, "weight", r->weight);
    add_tensor(b, "bias", r->bias);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  add_groups(b, d->groups);
  json_builder_end_object(b);
  return write_json(path, b, error);
}

static MscTensor *read_tensor(JsonObject *o, const char *k, const char *path, GError **error) {
  if (!json_object_has_member(o, k) || JSON_NODE_HOLDS_NULL(json_object_get_member(o, k))) return NULL;
  JsonObject *t = json_object_get_object_member(o, k);
  JsonArray *dims = t ? json_object_get_array_member(t, "dims") : NULL;
  const char *b64 = t ? json_object_get_string_member_with_default(t, "float32_le_base64", NULL) : NULL;
  if (!dims || !b64 || json_array_get_length(dims) > MSC_MAX_RANK) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: refit '%s': malformed tensor", path, k);
    return NULL;
  }
  int64_t d[MSC_MAX_RANK];
  int rank = (int)json_array_get_length(dims);
  for (int i = 0; i < rank; i++) d[i] = json_array_get_int_element(dims, i);
  gsize n = 0;
  g_autofree guchar *raw = g_base64_decode(b64, &n);
  MscTensor *r = msc_tensor_new(MSC_DTYPE_FLOAT32, rank, d, error);
  if (!r) return NULL;
  if (n != r->nbytes) {
    msc_tensor_free(r);
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: refit '%s': %zu data bytes for dims needing %zu", path, k, (size_t)n,
                  r ? r->nbytes : 0);
    return NULL;
  }
  memcpy(r->data, raw, n);
  return r;
}

gboolean pruner_plan_read(const char *path, GHashTable **masks_out, GPtrArray **refits_out, GError **error) {
  g_autoptr(JsonParser) p = json_parser_new();
  GError *e = NULL;
  if (!json_parser_load_from_file(p, path, &e)) {
    msc_set_error(error, MSC_ERR_IO, "%s: %s", path, e->message);
    g_error_free(e);
    return FALSE;
  }
  JsonNode *root = json_parser_get_root(p);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  if (!o || g_strcmp0(json_object_get_string_member_with_default(o, "tool", ""), "pruner") ||
      !json_object_has_member(o, "masks")) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: not a pruner plan (no \"tool\": \"pruner\" with masks)", path);
    return FALSE;
  }
  g_autoptr(GHashTable) masks =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)pruner_mask_free);
  g_autoptr(GPtrArray) refits = g_ptr_array_new_with_free_func((GDestroyNotify)pruner_refit_free);
  JsonArray *ma = json_object_get_array_member(o, "masks");
  for (guint i = 0; ma && i < json_array_get_length(ma); i++) {
    JsonObject *m = json_array_get_object_element(ma, i);
    const char *name = m ? json_object_get_string_member_with_default(m, "value", NULL) : NULL;
    int64_t dim = m ? json_object_get_int_member_with_default(m, "dim", -1) : -1;
    int64_t axis = m ? json_object_get_int_member_with_default(m, "axis", -1) : -1;
    JsonArray *keep = m && json_object_has_member(m, "keep") ? json_object_get_array_member(m, "keep") : NULL;
    if (!name || dim <= 0 || dim > ((int64_t)1 << 31) || axis < 0 || axis >= MSC_MAX_RANK || !keep) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: masks[%u]: needs value, axis, dim and keep", path, i);
      return FALSE;
    }
    PrunerMask *pm = g_new0(PrunerMask, 1);
    pm->axis = (int)axis;
    pm->dim = dim;
    pm->keep = g_new0(gboolean, dim);
    g_hash_table_insert(masks, g_strdup(name), pm);
    for (guint j = 0; j < json_array_get_length(keep); j++) {
      int64_t c = json_array_get_int_element(keep, j);
      if (c < 0 || c >= dim) {
        msc_set_error(error, MSC_ERR_CORRUPT, "%s: mask of '%s': channel %" G_GINT64_FORMAT " outside 0..%" G_GINT64_FORMAT,
                      path, name, c, dim - 1);
        return FALSE;
      }
      if (!pm->keep[c]) pm->kept++;
      pm->keep[c] = TRUE;
    }
    if (pm->kept == 0) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: mask of '%s' keeps no channel", path, name);
      return FALSE;
    }
  }
  JsonArray *ra = json_object_has_member(o, "refits") ? json_object_get_array_member(o, "refits") : NULL;
  for (guint i = 0; ra && i < json_array_get_length(ra); i++) {
    JsonObject *r = json_array_get_object_element(ra, i);
    const char *node = r ? json_object_get_string_member_with_default(r, "node", NULL) : NULL;
    const char *op = r ? json_object_get_string_member_with_default(r, "op_type", NULL) : NULL;
    int64_t idx = r ? json_object_get_int_member_with_default(r, "index", -1) : -1;
    if (!node || !op || idx < 0 || idx > G_MAXUINT32) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: refits[%u]: needs index, node and op_type", path, i);
      return FALSE;
    }
    PrunerRefit *f = g_new0(PrunerRefit, 1);
    f->index = (guint)idx;
    f->node_name = g_strdup(node);
    f->op_type = g_strdup(op);
    g_ptr_array_add(refits, f);
    GError *te = NULL;
    f->weight = read_tensor(r, "weight", path, &te);
    if (!te) f->bias = read_tensor(r, "bias", path, &te);
    if (te || !f->weight) {
      if (!te) msc_set_error(&te, MSC_ERR_CORRUPT, "%s: refits[%u]: no weight", path, i);
      g_propagate_error(error, te);
      return FALSE;
    }
  }
  *masks_out = g_steal_pointer(&masks);
  *refits_out = g_steal_pointer(&refits);
  return TRUE;
}
