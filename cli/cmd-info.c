/* cmd-info.c: `msc info MODEL [--json]`. */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tensor.h"

static char *format_dims(const MscValue *v) {
  GString *s = g_string_new("[");
  if (v->rank < 0) {
    g_string_assign(s, "[?]");
    return g_string_free(s, FALSE);
  }
  for (int32_t k = 0; k < v->rank; k++) {
    if (k) g_string_append_c(s, ',');
    if (v->dims[k] >= 0) g_string_append_printf(s, "%" G_GINT64_FORMAT, v->dims[k]);
    else g_string_append(s, v->dim_params[k] ? v->dim_params[k] : "?");
  }
  g_string_append_c(s, ']');
  return g_string_free(s, FALSE);
}

static JsonNode *value_json(const MscValue *v) {
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "name");
  json_builder_add_string_value(b, v->name);
  json_builder_set_member_name(b, "dtype");
  json_builder_add_string_value(b, msc_dtype_name(v->dtype));
  json_builder_set_member_name(b, "shape");
  json_builder_begin_array(b);
  for (int32_t k = 0; k < v->rank; k++) {
    if (v->dims[k] >= 0) json_builder_add_int_value(b, v->dims[k]);
    else if (v->dim_params[k]) json_builder_add_string_value(b, v->dim_params[k]);
    else json_builder_add_null_value(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

/* Op histogram sorted by count (desc) then name. */
static gint cmp_hist(gconstpointer a, gconstpointer b, gpointer user) {
  GHashTable *h = user;
  int ca = GPOINTER_TO_INT(g_hash_table_lookup(h, *(char **)a));
  int cb = GPOINTER_TO_INT(g_hash_table_lookup(h, *(char **)b));
  return ca != cb ? cb - ca : strcmp(*(char **)a, *(char **)b);
}

int cmd_info(int argc, char **argv) {
  gboolean json = FALSE;
  GOptionEntry entries[] = {{"json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL}, {NULL}};
  g_autoptr(GOptionContext) ctx = g_option_context_new("MODEL - show a model's inputs, outputs, ops, params, FLOPs");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!cli_parse(ctx, &argc, &argv)) return CLI_USAGE;
  if (argc != 2) {
    cli_error("info: expected one MODEL (see --help)");
    return CLI_USAGE;
  }
  GError *e = NULL;
  if (!cli_init(&e)) {
    cli_report(e);
    g_error_free(e);
    return CLI_FAIL;
  }
  g_autoptr(MscGraph) g = cli_load_model(argv[1], &e);
  if (!g) {
    cli_report(e);
    g_error_free(e);
    return CLI_FAIL;
  }
  g_autoptr(GHashTable) hist = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    char *key = *n->domain ? g_strdup_printf("%s.%s", n->domain, n->op_type) : g_strdup(n->op_type);
    int c = GPOINTER_TO_INT(g_hash_table_lookup(hist, key));
    g_hash_table_replace(hist, key, GINT_TO_POINTER(c + 1));
  }
  g_autoptr(GPtrArray) keys = g_ptr_array_new();
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init(&it, hist);
  while (g_hash_table_iter_next(&it, &k, NULL)) g_ptr_array_add(keys, k);
  g_ptr_array_sort_with_data(keys, cmp_hist, hist);
  int64_t params = msc_graph_param_count(g), flops = msc_graph_flops(g);

  if (json) {
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "model");
    json_builder_add_string_value(b, argv[1]);
    json_builder_set_member_name(b, "inputs");
    json_builder_begin_array(b);
    for (uint32_t i = 0; i < g->n_inputs; i++) json_builder_add_value(b, value_json(g->inputs[i]));
    json_builder_end_array(b);
    json_builder_set_member_name(b, "outputs");
    json_builder_begin_array(b);
    for (uint32_t i = 0; i < g->n_outputs; i++) json_builder_add_value(b, value_json(g->outputs[i]));
    json_builder_end_array(b);
    json_builder_set_member_name(b, "ops");
    json_builder_begin_object(b);
    for (guint i = 0; i < keys->len; i++) {
      json_builder_set_member_name(b, g_ptr_array_index(keys, i));
      json_builder_add_int_value(b, GPOINTER_TO_INT(g_hash_table_lookup(hist, g_ptr_array_index(keys, i))));
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "nodes");
    json_builder_add_int_value(b, g->n_nodes);
    json_builder_set_member_name(b, "params");
    json_builder_add_int_value(b, params);
    json_builder_set_member_name(b, "flops");
    json_builder_add_int_value(b, flops);
    json_builder_set_member_name(b, "opsets");
    json_builder_begin_object(b);
    for (uint32_t i = 0; i < g->n_opsets; i++) {
      json_builder_set_member_name(b, *g->opsets[i].domain ? g->opsets[i].domain : "ai.onnx");
      json_builder_add_int_value(b, g->opsets[i].version);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    g_autofree char *text = json_generator_to_data(gen, NULL);
    printf("%s\n", text);
    return CLI_OK;
  }
  printf("model: %s\n", argv[1]);
  printf("producer: %s %s, ir_version %" G_GINT64_FORMAT ", opsets:", g->producer_name ? g->producer_name : "?",
         g->producer_version ? g->producer_version : "", g->ir_version);
  for (uint32_t i = 0; i < g->n_opsets; i++)
    printf(" %s=%" G_GINT64_FORMAT, *g->opsets[i].domain ? g->opsets[i].domain : "ai.onnx", g->opsets[i].version);
  printf("\ninputs:\n");
  for (uint32_t i = 0; i < g->n_inputs; i++) {
    g_autofree char *d = format_dims(g->inputs[i]);
    printf("  %-24s %-8s %s\n", g->inputs[i]->name, msc_dtype_name(g->inputs[i]->dtype), d);
  }
  printf("outputs:\n");
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    g_autofree char *d = format_dims(g->outputs[i]);
    printf("  %-24s %-8s %s\n", g->outputs[i]->name, msc_dtype_name(g->outputs[i]->dtype), d);
  }
  printf("ops (%u nodes):\n", g->n_nodes);
  for (guint i = 0; i < keys->len; i++)
    printf("  %-24s %d\n", (char *)g_ptr_array_index(keys, i),
           GPOINTER_TO_INT(g_hash_table_lookup(hist, g_ptr_array_index(keys, i))));
  printf("params: %" G_GINT64_FORMAT " (%.2f M)\n", params, params / 1e6);
  printf("flops:  %" G_GINT64_FORMAT " (%.3f GFLOP per run, multiply-add = 2%s)\n", flops, flops / 1e9,
         flops ? "" : "; shapes unknown or no conv/gemm");
  return CLI_OK;
}
