/* count-ops: an example msc tool plugin.
 *
 * While a runner executes the model, observe() counts, per op type, how
 * many distinct nodes ran, how often they ran and how many output
 * elements they produced; plan() adds the static node count per op type;
 * export_plan() writes it all as JSON. apply() leaves the graph alone.
 *
 * Built against the ABI headers only (msc-plugin.h, msc-op.h,
 * msc-types.h): no GLib, no libmsc link. Every host service goes through
 * the MscHostApi table received in init. Private state uses plain libc
 * memory: only memory that crosses the ABI (tensors) must come from the
 * host.
 *
 * Options: with_domain (bool, default false) keys counts by
 * "domain:OpType" for non-ONNX domains.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msc-plugin.h"

static const MscHostApi *host; /* set once in init; static storage in the host */

typedef struct {
  char *key;             /* "Conv" or "com.example:Twice" */
  uint64_t graph_nodes;  /* from plan(): nodes of this type in the graph */
  uint64_t nodes;        /* distinct nodes observed */
  uint64_t observed;     /* observe() calls (nodes x samples) */
  uint64_t out_elements; /* output elements produced, summed */
} OpCount;

typedef struct {
  int with_domain;
  OpCount *ops;
  uint32_t n_ops, cap_ops;
  unsigned char *seen; /* one byte per node index: observed already */
  uint32_t n_seen;
  uint64_t graph_total;
} CountState;

static const MscOptionSpec count_ops_options[] = {
    {"with_domain", MSC_OPT_BOOL, "false", "key counts by domain:OpType for non-ONNX domains"},
};

static int parse_bool(const char *v, int *out) {
  if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on")) return *out = 1, 1;
  if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off")) return *out = 0, 1;
  return 0;
}

static void count_ops_destroy(void *state) {
  CountState *s = state;
  if (!s) return;
  for (uint32_t i = 0; i < s->n_ops; i++) free(s->ops[i].key);
  free(s->ops);
  free(s->seen);
  free(s);
}

static MscStatus count_ops_setup(const MscOptions *options, void **state, MscMessage *msg) {
  CountState *s = calloc(1, sizeof *s);
  if (!s) {
    host->message_set(msg, "count-ops: out of memory");
    return MSC_ERR_NOMEM;
  }
  for (uint32_t i = 0; options && i < options->n; i++) {
    const char *k = options->keys[i], *v = options->values[i];
    if (!strcmp(k, "with_domain")) {
      if (!parse_bool(v, &s->with_domain)) {
        host->message_set(msg, "count-ops: option 'with_domain': '%s' is not a bool (true|false|1|0)", v);
        count_ops_destroy(s);
        return MSC_ERR_INVALID_ARG;
      }
    } else {
      host->message_set(msg, "count-ops: unknown option '%s' (known: with_domain)", k);
      count_ops_destroy(s);
      return MSC_ERR_INVALID_ARG;
    }
  }
  *state = s;
  return MSC_OK;
}

/* Finds or adds the entry for @node's op type; NULL on out of memory. */
static OpCount *entry_for(CountState *s, const MscNode *node) {
  char key[256];
  if (s->with_domain && node->domain && node->domain[0] && strcmp(node->domain, "ai.onnx") != 0)
    snprintf(key, sizeof key, "%s:%s", node->domain, node->op_type);
  else
    snprintf(key, sizeof key, "%s", node->op_type);
  for (uint32_t i = 0; i < s->n_ops; i++)
    if (!strcmp(s->ops[i].key, key)) return &s->ops[i];
  if (s->n_ops == s->cap_ops) {
    uint32_t cap = s->cap_ops ? 2 * s->cap_ops : 16;
    OpCount *ops = realloc(s->ops, cap * sizeof *ops);
    if (!ops) return NULL;
    s->ops = ops;
    s->cap_ops = cap;
  }
  OpCount *e = &s->ops[s->n_ops];
  memset(e, 0, sizeof *e);
  size_t len = strlen(key) + 1; /* strdup is not C11 */
  e->key = malloc(len);
  if (!e->key) return NULL;
  memcpy(e->key, key, len);
  s->n_ops++;
  return e;
}

static MscStatus count_ops_observe(void *state, const MscNode *node, const MscTensor *const *outputs,
                                   uint32_t n_outputs, MscMessage *msg) {
  CountState *s = state;
  OpCount *e = entry_for(s, node);
  if (!e) {
    host->message_set(msg, "count-ops: out of memory");
    return MSC_ERR_NOMEM;
  }
  if (node->index >= s->n_seen) {
    uint32_t n = node->index + 64;
    unsigned char *seen = realloc(s->seen, n);
    if (!seen) {
      host->message_set(msg, "count-ops: out of memory");
      return MSC_ERR_NOMEM;
    }
    memset(seen + s->n_seen, 0, n - s->n_seen);
    s->seen = seen;
    s->n_seen = n;
  }
  if (!s->seen[node->index]) {
    s->seen[node->index] = 1;
    e->nodes++;
  }
  e->observed++;
  /* outputs are borrowed for this call only: read, never keep */
  for (uint32_t j = 0; j < n_outputs; j++) {
    const MscTensor *t = outputs[j];
    if (!t) continue;
    uint64_t numel = 1;
    for (int32_t d = 0; d < t->rank; d++) numel *= (uint64_t)t->dims[d];
    e->out_elements += numel;
  }
  return MSC_OK;
}

static MscStatus count_ops_plan(void *state, const MscGraph *graph, MscMessage *msg) {
  CountState *s = state;
  for (uint32_t i = 0; i < s->n_ops; i++) s->ops[i].graph_nodes = 0;
  s->graph_total = graph->n_nodes;
  for (uint32_t i = 0; i < graph->n_nodes; i++) {
    OpCount *e = entry_for(s, graph->nodes[i]);
    if (!e) {
      host->message_set(msg, "count-ops: out of memory");
      return MSC_ERR_NOMEM;
    }
    e->graph_nodes++;
  }
  return MSC_OK;
}

static MscStatus count_ops_apply(void *state, MscGraph *graph, MscMessage *msg) {
  return MSC_OK; /* an analysis tool: nothing to rewrite */
}

static int cmp_key(const void *a, const void *b) {
  return strcmp(((const OpCount *)a)->key, ((const OpCount *)b)->key);
}

/* Writes @str as a JSON string literal. */
static void json_string(FILE *f, const char *str) {
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)str; *c; c++) {
    if (*c == '"' || *c == '\\')
      fprintf(f, "\\%c", *c);
    else if (*c < 0x20)
      fprintf(f, "\\u%04x", *c);
    else
      fputc(*c, f);
  }
  fputc('"', f);
}

static MscStatus count_ops_export(void *state, const char *path, MscMessage *msg) {
  CountState *s = state;
  FILE *f = fopen(path, "w");
  if (!f) {
    host->message_set(msg, "%s: count-ops: cannot open for writing", path);
    return MSC_ERR_IO;
  }
  qsort(s->ops, s->n_ops, sizeof *s->ops, cmp_key); /* stable output for diffs */
  fprintf(f, "{\n  \"tool\": \"count-ops\",\n  \"graph_nodes\": %llu,\n  \"op_types\": [",
          (unsigned long long)s->graph_total);
  for (uint32_t i = 0; i < s->n_ops; i++) {
    const OpCount *e = &s->ops[i];
    fprintf(f, "%s\n    {\"op_type\": ", i ? "," : "");
    json_string(f, e->key);
    fprintf(f, ", \"graph_nodes\": %llu, \"nodes\": %llu, \"observed\": %llu, \"output_elements\": %llu}",
            (unsigned long long)e->graph_nodes, (unsigned long long)e->nodes, (unsigned long long)e->observed,
            (unsigned long long)e->out_elements);
  }
  fprintf(f, "%s]\n}\n", s->n_ops ? "\n  " : "");
  if (fclose(f) != 0) {
    host->message_set(msg, "%s: count-ops: write failed", path);
    return MSC_ERR_IO;
  }
  return MSC_OK;
}

/* Static storage: the registry borrows it while the plugin is loaded. */
static const MscToolApi count_ops_api = {
    .struct_size = sizeof(MscToolApi),
    .name = "count-ops",
    .doc = "counts nodes by op type while a runner executes the model; exports JSON",
    .options = count_ops_options,
    .n_options = sizeof count_ops_options / sizeof count_ops_options[0],
    .setup = count_ops_setup,
    .observe = count_ops_observe,
    .plan = count_ops_plan,
    .apply = count_ops_apply,
    .export_plan = count_ops_export,
    .destroy = count_ops_destroy,
};

static MscStatus count_ops_init(const MscHostApi *h, MscPlugin *self, MscMessage *msg) {
  host = h;
  return h->registry_add(self, "msc.tool.count-ops", (void *)&count_ops_api, MSC_KIND_TOOL, count_ops_api.doc, 0,
                         msg);
}

MSC_PLUGIN_DEFINE("count-ops", MSC_PLUGIN_TOOL, "1.0.0", "example tool: counts nodes by op type",
                  count_ops_init);
