/* profiler: an msc tool plugin that profiles every node of a model.
 *
 * Driven through the runner's per-node hook: the host forwards each
 * node's inputs, outputs and elapsed time to on_node (MscToolApi,
 * appended entry), per pipeline stage (begin_stage). For each stage it
 * keeps per node: time per run (mean, median), FLOPs (Conv, ConvTranspose,
 * MatMul, Gemm: multiply-adds count 2), bytes moved (inputs + outputs),
 * achieved GFLOP/s and % of the total. export_plan writes the JSON plan
 * (nodes sorted by time, the top-N first), a text table PLAN.txt and a
 * Chrome trace PLAN.trace.json (chrome://tracing, ui.perfetto.dev) of the
 * first run of each stage (one track per stage). apply leaves the graph
 * alone. load_plan accepts a plan it exported (the pipeline then skips the
 * profiling runs).
 *
 * Options: top (int, default 10): rows of the top-N table; trace (bool,
 * default true): write the Chrome trace.
 *
 * ABI headers only (no GLib), like examples/tool-example. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msc-plugin.h"

static const MscHostApi *host;

typedef struct {
  char *name, *op_type;
  double *ms; /* one per run */
  uint32_t n_ms, cap_ms;
  double flops, bytes; /* per run (first run) */
  double first_start;  /* trace: start of the node in the first run */
  int seen;
} NodeProf;

typedef struct {
  char *name;
  NodeProf *nodes; /* by node->index */
  uint32_t n_nodes;
  uint32_t runs;
  double clock; /* trace: time into the first run */
} StageProf;

typedef struct {
  int top, trace;
  StageProf *stages;
  uint32_t n_stages;
} Profiler;

static const MscOptionSpec profiler_options[] = {
    {"top", MSC_OPT_INT, "10", "rows of the top-N table (nodes by time)"},
    {"trace", MSC_OPT_BOOL, "true", "also write a Chrome trace JSON (PLAN.trace.json)"},
};

static char *dupstr(const char *s) {
  size_t n = strlen(s ? s : "") + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s ? s : "", n);
  return d;
}

static void profiler_destroy(void *state) {
  Profiler *p = state;
  if (!p) return;
  for (uint32_t s = 0; s < p->n_stages; s++) {
    StageProf *st = &p->stages[s];
    for (uint32_t i = 0; i < st->n_nodes; i++) {
      free(st->nodes[i].name);
      free(st->nodes[i].op_type);
      free(st->nodes[i].ms);
    }
    free(st->nodes);
    free(st->name);
  }
  free(p->stages);
  free(p);
}

static MscStatus profiler_setup(const MscOptions *o, void **state, MscMessage *msg) {
  Profiler *p = calloc(1, sizeof *p);
  if (!p) return MSC_ERR_NOMEM;
  p->top = 10;
  p->trace = 1;
  for (uint32_t i = 0; o && i < o->n; i++) {
    const char *k = o->keys[i], *v = o->values[i];
    if (!strcmp(k, "top")) {
      char *end = NULL;
      long t = strtol(v, &end, 10);
      if (!end || *end || t < 0 || t > 100000) {
        host->message_set(msg, "profiler: option 'top': '%s' is not an integer in 0..100000", v);
        profiler_destroy(p);
        return MSC_ERR_INVALID_ARG;
      }
      p->top = (int)t;
    } else if (!strcmp(k, "trace")) {
      if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on")) p->trace = 1;
      else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off")) p->trace = 0;
      else {
        host->message_set(msg, "profiler: option 'trace': '%s' is not a bool (true|false)", v);
        profiler_destroy(p);
        return MSC_ERR_INVALID_ARG;
      }
    } else {
      host->message_set(msg, "profiler: unknown option '%s' (known: top, trace)", k);
      profiler_destroy(p);
      return MSC_ERR_INVALID_ARG;
    }
  }
  *state = p;
  return MSC_OK;
}

static MscStatus profiler_begin_stage(void *state, const char *stage, MscMessage *msg) {
  Profiler *p = state;
  StageProf *s = realloc(p->stages, (p->n_stages + 1) * sizeof *s);
  if (!s) return MSC_ERR_NOMEM;
  p->stages = s;
  memset(&s[p->n_stages], 0, sizeof *s);
  s[p->n_stages].name = dupstr(stage);
  p->n_stages++;
  return MSC_OK;
}

static MscStatus profiler_observe(void *state, const MscNode *node, const MscTensor *const *outputs,
                                  uint32_t n_outputs, MscMessage *msg) {
  return MSC_OK; /* everything happens in on_node, which has the time */
}

static double numel(const MscTensor *t) {
  double n = 1;
  for (int32_t i = 0; t && i < t->rank; i++) n *= (double)t->dims[i];
  return t ? n : 0;
}

static double node_flops(const MscNode *n, const MscTensor *const *in, uint32_t ni, const MscTensor *const *out,
                         uint32_t no) {
  const MscTensor *a = ni > 0 ? in[0] : NULL, *w = ni > 1 ? in[1] : NULL;
  if (!a || !w || no < 1 || !out[0] || (n->domain && n->domain[0])) return 0;
  const char *op = n->op_type;
  if ((!strcmp(op, "Conv") || !strcmp(op, "ConvTranspose")) && w->rank >= 3) {
    double k = 1;
    for (int32_t i = 1; i < w->rank; i++) k *= (double)w->dims[i];
    return 2.0 * numel(!strcmp(op, "Conv") ? out[0] : a) * k;
  }
  if (!strcmp(op, "MatMul") && a->rank >= 1) return 2.0 * numel(out[0]) * (double)a->dims[a->rank - 1];
  if (!strcmp(op, "Gemm") && a->rank == 2) {
    int64_t ta = 0;
    for (uint32_t i = 0; i < n->n_attrs; i++)
      if (!strcmp(n->attrs[i].name, "transA")) ta = n->attrs[i].i;
    return 2.0 * numel(out[0]) * (double)(ta ? a->dims[0] : a->dims[1]);
  }
  return 0;
}

static MscStatus profiler_on_node(void *state, const MscNode *node, const MscTensor *const *in, uint32_t ni,
                                  const MscTensor *const *out, uint32_t no, double ms, MscMessage *msg) {
  Profiler *p = state;
  if (!p->n_stages && profiler_begin_stage(p, "run", msg) != MSC_OK) return MSC_ERR_NOMEM;
  StageProf *s = &p->stages[p->n_stages - 1];
  if (node->index >= s->n_nodes) {
    uint32_t n = node->index + 64;
    NodeProf *nodes = realloc(s->nodes, n * sizeof *nodes);
    if (!nodes) return MSC_ERR_NOMEM;
    memset(nodes + s->n_nodes, 0, (n - s->n_nodes) * sizeof *nodes);
    s->nodes = nodes;
    s->n_nodes = n;
  }
  NodeProf *np = &s->nodes[node->index];
  if (!np->seen) {
    np->seen = 1;
    np->name = dupstr(node->name);
    np->op_type = dupstr(node->op_type);
    np->flops = node_flops(node, in, ni, out, no);
    for (uint32_t j = 0; j < ni; j++)
      if (in[j] && in[j]->nbytes) np->bytes += (double)in[j]->nbytes;
    for (uint32_t j = 0; j < no; j++)
      if (out[j]) np->bytes += (double)out[j]->nbytes;
    np->first_start = s->clock;
    s->clock += ms;
  }
  if (np->n_ms == np->cap_ms) {
    uint32_t cap = np->cap_ms ? 2 * np->cap_ms : 8;
    double *v = realloc(np->ms, cap * sizeof *v);
    if (!v) return MSC_ERR_NOMEM;
    np->ms = v;
    np->cap_ms = cap;
  }
  np->ms[np->n_ms++] = ms;
  if (np->n_ms > s->runs) s->runs = np->n_ms;
  return MSC_OK;
}

static MscStatus profiler_plan(void *state, const MscGraph *graph, MscMessage *msg) {
  return MSC_OK;
}

static MscStatus profiler_apply(void *state, MscGraph *graph, MscMessage *msg) {
  return MSC_OK; /* analysis only */
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct {
  const NodeProf *n;
  double mean, median;
} Row;

static int cmp_row(const void *a, const void *b) {
  const Row *x = a, *y = b;
  if (x->mean != y->mean) return x->mean < y->mean ? 1 : -1;
  return strcmp(x->n->name, y->n->name);
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
    else if (*c < 0x20) fprintf(f, "\\u%04x", *c);
    else fputc(*c, f);
  }
  fputc('"', f);
}

/* Rows of @s sorted by mean time (descending); (transfer full, free). */
static Row *stage_rows(const StageProf *s, uint32_t *n_rows, double *total) {
  Row *rows = calloc(s->n_nodes ? s->n_nodes : 1, sizeof *rows);
  uint32_t n = 0;
  *total = 0;
  for (uint32_t i = 0; rows && i < s->n_nodes; i++) {
    const NodeProf *np = &s->nodes[i];
    if (!np->seen) continue;
    double *sorted = malloc(np->n_ms * sizeof *sorted);
    if (!sorted) continue;
    memcpy(sorted, np->ms, np->n_ms * sizeof *sorted);
    qsort(sorted, np->n_ms, sizeof *sorted, cmp_d);
    double sum = 0;
    for (uint32_t k = 0; k < np->n_ms; k++) sum += sorted[k];
    rows[n].n = np;
    rows[n].mean = sum / np->n_ms;
    rows[n].median = np->n_ms % 2 ? sorted[np->n_ms / 2] : (sorted[np->n_ms / 2 - 1] + sorted[np->n_ms / 2]) / 2;
    *total += rows[n].mean;
    free(sorted);
    n++;
  }
  if (rows) qsort(rows, n, sizeof *rows, cmp_row);
  *n_rows = n;
  return rows;
}

/* "PATH" with its ".json" suffix replaced by @suffix. (transfer full) */
static char *sibling(const char *path, const char *suffix) {
  size_t n = strlen(path);
  if (n > 5 && !strcmp(path + n - 5, ".json")) n -= 5;
  char *s = malloc(n + strlen(suffix) + 1);
  if (!s) return NULL;
  memcpy(s, path, n);
  strcpy(s + n, suffix);
  return s;
}

/* fopen of PATH.tmp; commit() renames it over PATH. */
static FILE *open_tmp(const char *path, char **tmp) {
  *tmp = malloc(strlen(path) + 5);
  if (!*tmp) return NULL;
  sprintf(*tmp, "%s.tmp", path);
  return fopen(*tmp, "w");
}

static MscStatus commit(FILE *f, char *tmp, const char *path, MscMessage *msg) {
  int bad = ferror(f) | (fclose(f) != 0);
  if (bad || rename(tmp, path) != 0) {
    remove(tmp);
    free(tmp);
    host->message_set(msg, "%s: profiler: write failed", path);
    return MSC_ERR_IO;
  }
  free(tmp);
  return MSC_OK;
}

static MscStatus profiler_export(void *state, const char *path, MscMessage *msg) {
  Profiler *p = state;
  char *tmp = NULL;
  FILE *f = open_tmp(path, &tmp);
  if (!f) {
    free(tmp);
    host->message_set(msg, "%s: profiler: cannot open for writing", path);
    return MSC_ERR_IO;
  }
  char *txt_path = sibling(path, ".txt"), *txt_tmp = NULL;
  FILE *t = txt_path ? open_tmp(txt_path, &txt_tmp) : NULL;
  fprintf(f, "{\n  \"tool\": \"profiler\",\n  \"top\": %d,\n  \"stages\": [", p->top);
  for (uint32_t si = 0; si < p->n_stages; si++) {
    const StageProf *s = &p->stages[si];
    uint32_t n = 0;
    double total = 0;
    Row *rows = stage_rows(s, &n, &total);
    fprintf(f, "%s\n    {\"stage\": ", si ? "," : "");
    json_str(f, s->name);
    fprintf(f, ", \"runs\": %u, \"total_ms\": %.6f, \"nodes\": [", s->runs, total);
    if (t) {
      fprintf(t, "stage %s: %u runs, %.3f ms per run (sum of node means)\n", s->name, s->runs, total);
      fprintf(t, "  %-32s %-16s %10s %10s %7s %10s %10s %9s\n", "node", "op", "mean ms", "median ms", "%", "MFLOP",
              "KiB", "GFLOP/s");
    }
    for (uint32_t i = 0; rows && i < n; i++) {
      const Row *r = &rows[i];
      double gflops = r->mean > 0 ? r->n->flops / (r->mean * 1e6) : 0;
      double pct = total > 0 ? 100 * r->mean / total : 0;
      fprintf(f, "%s\n      {\"name\": ", i ? "," : "");
      json_str(f, r->n->name);
      fprintf(f, ", \"op_type\": ");
      json_str(f, r->n->op_type);
      fprintf(f,
              ", \"mean_ms\": %.6f, \"median_ms\": %.6f, \"percent\": %.3f, \"flops\": %.0f, \"bytes\": %.0f, "
              "\"gflops_per_s\": %.4f, \"top\": %s}",
              r->mean, r->median, pct, r->n->flops, r->n->bytes, gflops, (int)i < p->top ? "true" : "false");
      if (t && (int)i < p->top)
        fprintf(t, "  %-32.32s %-16.16s %10.4f %10.4f %6.2f%% %10.3f %10.1f %9.3f\n", r->n->name, r->n->op_type,
                r->mean, r->median, pct, r->n->flops / 1e6, r->n->bytes / 1024, gflops);
    }
    fprintf(f, "%s]}", n ? "\n    " : "");
    free(rows);
  }
  fprintf(f, "%s]\n}\n", p->n_stages ? "\n  " : "");
  MscStatus st = commit(f, tmp, path, msg);
  if (t) {
    MscStatus st2 = commit(t, txt_tmp, txt_path, msg);
    if (st == MSC_OK) st = st2;
  } else {
    free(txt_tmp);
  }
  free(txt_path);
  if (st != MSC_OK || !p->trace) return st;
  /* Chrome trace: complete events ("ph":"X", microseconds), one track per stage */
  char *trace_path = sibling(path, ".trace.json");
  if (!trace_path) return MSC_ERR_NOMEM;
  f = open_tmp(trace_path, &tmp);
  if (!f) {
    free(tmp);
    host->message_set(msg, "%s: profiler: cannot open for writing", trace_path);
    free(trace_path);
    return MSC_ERR_IO;
  }
  fprintf(f, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n"
             "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 0, \"args\": {\"name\": \"msc profiler\"}}");
  int first = 0;
  for (uint32_t si = 0; si < p->n_stages; si++) {
    const StageProf *s = &p->stages[si];
    fprintf(f, "%s\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %u, \"args\": {\"name\": ",
            first ? "" : ",", si + 1);
    json_str(f, s->name);
    fprintf(f, "}}");
    first = 0;
    for (uint32_t i = 0; i < s->n_nodes; i++) {
      const NodeProf *np = &s->nodes[i];
      if (!np->seen || !np->n_ms) continue;
      fprintf(f, ",\n{\"name\": ");
      json_str(f, np->name);
      fprintf(f, ", \"cat\": ");
      json_str(f, np->op_type);
      fprintf(f, ", \"ph\": \"X\", \"ts\": %.3f, \"dur\": %.3f, \"pid\": 1, \"tid\": %u, \"args\": {\"flops\": %.0f}}",
              np->first_start * 1e3, np->ms[0] * 1e3, si + 1, np->flops);
    }
  }
  fprintf(f, "\n]}\n");
  st = commit(f, tmp, trace_path, msg);
  free(trace_path);
  return st;
}

static MscStatus profiler_load_plan(void *state, const char *path, MscMessage *msg) {
  FILE *f = fopen(path, "r");
  if (!f) {
    host->message_set(msg, "%s: profiler: cannot open", path);
    return MSC_ERR_IO;
  }
  char head[256] = {0};
  size_t n = fread(head, 1, sizeof head - 1, f);
  fclose(f);
  head[n] = 0;
  if (!strstr(head, "\"tool\": \"profiler\"")) {
    host->message_set(msg, "%s: profiler: not a profiler plan", path);
    return MSC_ERR_CORRUPT;
  }
  return MSC_OK; /* the saved profile stands; nothing to apply */
}

static const MscToolApi profiler_api = {
    .struct_size = sizeof(MscToolApi),
    .name = "profiler",
    .doc = "per-node time (mean/median), FLOPs, bytes, GFLOP/s and % of total per stage; top-N table; Chrome trace",
    .options = profiler_options,
    .n_options = sizeof profiler_options / sizeof profiler_options[0],
    .setup = profiler_setup,
    .observe = profiler_observe,
    .plan = profiler_plan,
    .apply = profiler_apply,
    .export_plan = profiler_export,
    .destroy = profiler_destroy,
    .begin_stage = profiler_begin_stage,
    .on_node = profiler_on_node,
    .load_plan = profiler_load_plan,
};

static MscStatus profiler_init(const MscHostApi *h, MscPlugin *self, MscMessage *msg) {
  host = h;
  return h->registry_add(self, "msc.tool.profiler", (void *)&profiler_api, MSC_KIND_TOOL, profiler_api.doc, 0, msg);
}

MSC_PLUGIN_DEFINE("profiler", MSC_PLUGIN_TOOL, "1.0.0", "per-node profiler tool with Chrome trace output",
                  profiler_init);
