/* tracker: an msc tool plugin that follows chosen tensors through the
 * pipeline's stages and reports how far each drifts from the baseline.
 *
 * The host announces each stage (begin_stage: "baseline", "prune:X",
 * "quantize:Y", "compile:RUNNER"); observe records, for the first sample
 * of each stage, the float32 outputs of nodes whose output name matches
 * `pattern`. export_plan writes, per later stage and in execution order,
 * each tensor's max abs error and cosine vs the first stage, the first
 * tensor whose cosine falls below `cosine` (where accuracy broke) and the
 * worst one. apply leaves the graph alone; load_plan accepts a plan it
 * exported.
 *
 * Options: pattern (string, default "*"): comma-separated globs over
 * output value names; max_tensors (int, default 256) per stage;
 * cosine (float, default 0.999) drift threshold.
 *
 * ABI headers only (no GLib). */
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msc-plugin.h"

static const MscHostApi *host;

#define MAX_ELEMS (1 << 24) /* tensors larger than this are not kept */

typedef struct {
  char *name, *node, *op_type;
  float *data;
  int64_t n;
} Rec;

typedef struct {
  char *name;
  Rec *recs;
  uint32_t n_recs;
  unsigned char *seen; /* by node index: recorded in this stage already */
  uint32_t n_seen;
} Stage;

typedef struct {
  char *pattern;
  uint32_t max_tensors;
  double cosine;
  Stage *stages;
  uint32_t n_stages;
} Tracker;

static const MscOptionSpec tracker_options[] = {
    {"pattern", MSC_OPT_STRING, "*", "comma-separated globs over output tensor names to track"},
    {"max_tensors", MSC_OPT_INT, "256", "tensors recorded per stage at most"},
    {"cosine", MSC_OPT_FLOAT, "0.999", "a tensor whose cosine vs baseline is below this has drifted"},
};

static char *dupstr(const char *s) {
  size_t n = strlen(s ? s : "") + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s ? s : "", n);
  return d;
}

static void tracker_destroy(void *state) {
  Tracker *t = state;
  if (!t) return;
  for (uint32_t s = 0; s < t->n_stages; s++) {
    Stage *st = &t->stages[s];
    for (uint32_t i = 0; i < st->n_recs; i++) {
      free(st->recs[i].name);
      free(st->recs[i].node);
      free(st->recs[i].op_type);
      free(st->recs[i].data);
    }
    free(st->recs);
    free(st->seen);
    free(st->name);
  }
  free(t->stages);
  free(t->pattern);
  free(t);
}

static MscStatus tracker_setup(const MscOptions *o, void **state, MscMessage *msg) {
  Tracker *t = calloc(1, sizeof *t);
  if (!t) return MSC_ERR_NOMEM;
  t->pattern = dupstr("*");
  t->max_tensors = 256;
  t->cosine = 0.999;
  for (uint32_t i = 0; o && i < o->n; i++) {
    const char *k = o->keys[i], *v = o->values[i];
    char *end = NULL;
    if (!strcmp(k, "pattern")) {
      free(t->pattern);
      t->pattern = dupstr(v);
    } else if (!strcmp(k, "max_tensors")) {
      long n = strtol(v, &end, 10);
      if (!end || *end || n < 1 || n > 1000000) {
        host->message_set(msg, "tracker: option 'max_tensors': '%s' is not an integer in 1..1000000", v);
        tracker_destroy(t);
        return MSC_ERR_INVALID_ARG;
      }
      t->max_tensors = (uint32_t)n;
    } else if (!strcmp(k, "cosine")) {
      double c = strtod(v, &end);
      if (!end || *end || !(c >= -1 && c <= 1)) {
        host->message_set(msg, "tracker: option 'cosine': '%s' is not a number in [-1, 1]", v);
        tracker_destroy(t);
        return MSC_ERR_INVALID_ARG;
      }
      t->cosine = c;
    } else {
      host->message_set(msg, "tracker: unknown option '%s' (known: pattern, max_tensors, cosine)", k);
      tracker_destroy(t);
      return MSC_ERR_INVALID_ARG;
    }
  }
  *state = t;
  return MSC_OK;
}

static MscStatus tracker_begin_stage(void *state, const char *stage, MscMessage *msg) {
  Tracker *t = state;
  Stage *s = realloc(t->stages, (t->n_stages + 1) * sizeof *s);
  if (!s) return MSC_ERR_NOMEM;
  t->stages = s;
  memset(&s[t->n_stages], 0, sizeof *s);
  s[t->n_stages].name = dupstr(stage);
  t->n_stages++;
  return MSC_OK;
}

static int matches(const char *pattern, const char *name) {
  char buf[512];
  const char *p = pattern;
  while (*p) {
    size_t n = strcspn(p, ",");
    if (n < sizeof buf) {
      memcpy(buf, p, n);
      buf[n] = 0;
      char *b = buf;
      while (*b == ' ') b++;
      char *e = b + strlen(b);
      while (e > b && e[-1] == ' ') *--e = 0;
      if (*b && fnmatch(b, name, 0) == 0) return 1;
    }
    p += n;
    if (*p == ',') p++;
  }
  return 0;
}

static MscStatus tracker_observe(void *state, const MscNode *node, const MscTensor *const *out, uint32_t no,
                                 MscMessage *msg) {
  Tracker *t = state;
  if (!t->n_stages && tracker_begin_stage(t, "run", msg) != MSC_OK) return MSC_ERR_NOMEM;
  Stage *s = &t->stages[t->n_stages - 1];
  if (node->index >= s->n_seen) {
    uint32_t n = node->index + 64;
    unsigned char *seen = realloc(s->seen, n);
    if (!seen) return MSC_ERR_NOMEM;
    memset(seen + s->n_seen, 0, n - s->n_seen);
    s->seen = seen;
    s->n_seen = n;
  }
  if (s->seen[node->index]) return MSC_OK; /* later samples: the first one is tracked */
  s->seen[node->index] = 1;
  for (uint32_t j = 0; j < no && j < node->n_outputs; j++) {
    const MscTensor *x = out[j];
    const MscValue *v = node->outputs[j];
    if (!x || !v || x->dtype != MSC_DTYPE_FLOAT32 || s->n_recs >= t->max_tensors) continue;
    if (!matches(t->pattern, v->name)) continue;
    int64_t n = 1;
    for (int32_t d = 0; d < x->rank; d++) n *= x->dims[d];
    if (n > MAX_ELEMS) continue;
    Rec *r = realloc(s->recs, (s->n_recs + 1) * sizeof *r);
    if (!r) return MSC_ERR_NOMEM;
    s->recs = r;
    Rec *e = &r[s->n_recs];
    e->name = dupstr(v->name);
    e->node = dupstr(node->name);
    e->op_type = dupstr(node->op_type);
    e->n = n;
    e->data = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!e->name || !e->node || !e->op_type || !e->data) return MSC_ERR_NOMEM;
    memcpy(e->data, x->data, (size_t)n * sizeof(float)); /* borrowed: copy */
    s->n_recs++;
  }
  return MSC_OK;
}

static MscStatus tracker_plan(void *state, const MscGraph *graph, MscMessage *msg) {
  return MSC_OK; /* drift is computed when exporting */
}

static MscStatus tracker_apply(void *state, MscGraph *graph, MscMessage *msg) {
  return MSC_OK;
}

static const Rec *find_rec(const Stage *s, const char *name) {
  for (uint32_t i = 0; i < s->n_recs; i++)
    if (!strcmp(s->recs[i].name, name)) return &s->recs[i];
  return NULL;
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

static MscStatus tracker_export(void *state, const char *path, MscMessage *msg) {
  Tracker *t = state;
  size_t pl = strlen(path);
  char *tmp = malloc(pl + 5);
  if (!tmp) return MSC_ERR_NOMEM;
  sprintf(tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    free(tmp);
    host->message_set(msg, "%s: tracker: cannot open for writing", path);
    return MSC_ERR_IO;
  }
  const Stage *ref = t->n_stages ? &t->stages[0] : NULL;
  fprintf(f, "{\n  \"tool\": \"tracker\",\n  \"reference\": ");
  json_str(f, ref ? ref->name : "");
  fprintf(f, ",\n  \"cosine_threshold\": %g,\n  \"tracked\": %u,\n  \"stages\": [", t->cosine, ref ? ref->n_recs : 0);
  for (uint32_t si = 1; si < t->n_stages; si++) {
    const Stage *s = &t->stages[si];
    const char *first_bad = NULL, *worst = NULL;
    double worst_cos = 2;
    fprintf(f, "%s\n    {\"stage\": ", si > 1 ? "," : "");
    json_str(f, s->name);
    fprintf(f, ", \"tensors\": [");
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->n_recs; i++) {
      const Rec *r = &s->recs[i], *b = find_rec(ref, r->name);
      if (!b || b->n != r->n) continue;
      double maxabs = 0, dot = 0, na = 0, nb = 0;
      for (int64_t e = 0; e < r->n; e++) {
        double x = r->data[e], y = b->data[e], d = fabs(x - y);
        if (d > maxabs || isnan(d)) maxabs = d;
        dot += x * y;
        na += x * x;
        nb += y * y;
      }
      double cosv = na == 0 && nb == 0 ? 1 : (na == 0 || nb == 0) ? 0 : dot / sqrt(na * nb);
      if (!first_bad && !(cosv >= t->cosine)) first_bad = r->name;
      if (!(cosv >= worst_cos)) {
        worst_cos = cosv;
        worst = r->name;
      }
      fprintf(f, "%s\n      {\"name\": ", k++ ? "," : "");
      json_str(f, r->name);
      fprintf(f, ", \"node\": ");
      json_str(f, r->node);
      fprintf(f, ", \"op_type\": ");
      json_str(f, r->op_type);
      if (isfinite(maxabs) && isfinite(cosv)) fprintf(f, ", \"max_abs\": %.9g, \"cosine\": %.9f}", maxabs, cosv);
      else fprintf(f, ", \"max_abs\": null, \"cosine\": null}");
    }
    fprintf(f, "%s], \"first_drifted\": ", k ? "\n    " : "");
    if (first_bad) json_str(f, first_bad);
    else fprintf(f, "null");
    fprintf(f, ", \"worst\": ");
    if (worst) json_str(f, worst);
    else fprintf(f, "null");
    fprintf(f, "}");
  }
  fprintf(f, "%s]\n}\n", t->n_stages > 1 ? "\n  " : "");
  int bad = ferror(f) | (fclose(f) != 0);
  if (bad || rename(tmp, path) != 0) {
    remove(tmp);
    free(tmp);
    host->message_set(msg, "%s: tracker: write failed", path);
    return MSC_ERR_IO;
  }
  free(tmp);
  return MSC_OK;
}

static MscStatus tracker_load_plan(void *state, const char *path, MscMessage *msg) {
  FILE *f = fopen(path, "r");
  if (!f) {
    host->message_set(msg, "%s: tracker: cannot open", path);
    return MSC_ERR_IO;
  }
  char head[128] = {0};
  size_t n = fread(head, 1, sizeof head - 1, f);
  fclose(f);
  head[n] = 0;
  if (!strstr(head, "\"tool\": \"tracker\"")) {
    host->message_set(msg, "%s: tracker: not a tracker plan", path);
    return MSC_ERR_CORRUPT;
  }
  return MSC_OK;
}

static const MscToolApi tracker_api = {
    .struct_size = sizeof(MscToolApi),
    .name = "tracker",
    .doc = "records chosen tensors at every stage; per-layer drift (max abs, cosine) vs the baseline",
    .options = tracker_options,
    .n_options = sizeof tracker_options / sizeof tracker_options[0],
    .setup = tracker_setup,
    .observe = tracker_observe,
    .plan = tracker_plan,
    .apply = tracker_apply,
    .export_plan = tracker_export,
    .destroy = tracker_destroy,
    .begin_stage = tracker_begin_stage,
    .load_plan = tracker_load_plan,
};

static MscStatus tracker_init(const MscHostApi *h, MscPlugin *self, MscMessage *msg) {
  host = h;
  return h->registry_add(self, "msc.tool.tracker", (void *)&tracker_api, MSC_KIND_TOOL, tracker_api.doc, 0, msg);
}

MSC_PLUGIN_DEFINE("tracker", MSC_PLUGIN_TOOL, "1.0.0", "tracks tensors across pipeline stages (drift vs baseline)",
                  tracker_init);
