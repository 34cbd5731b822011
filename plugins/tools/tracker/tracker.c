/* tracker: an msc tool plugin that follows chosen tensors through the
 * pipeline's stages and reports how far each drifts from the baseline.
 *
 * The host announces each stage (begin_stage: "baseline", "prune:X",
 * "quantize:Y", "compile:RUNNER"); observe records, for the first sample
 * of each stage, the float32 outputs of nodes whose output name matches
 * `pattern`. export_plan writes, per later stage and in execution order,
 * each tensor's max abs error, relative L2 error (||x - ref|| / ||ref||)
 * and cosine vs the first stage; per stage the first tensor whose cosine
 * falls below `cosine`, the first tensor whose relative error jumps (more
 * than `jump` times the largest relative error of the tensors before it,
 * counting at least JUMP_FLOOR so float rounding is no jump: the layer
 * where the error is introduced), and the worst one; and "broke_at", the
 * first stage and layer where that happened. A text table goes to
 * PLAN.txt. apply leaves the graph alone; load_plan accepts a plan it
 * exported.
 *
 * Options: pattern (string, default "*"): comma-separated globs over
 * output value names; max_tensors (int, default 256) per stage;
 * cosine (float, default 0.999) drift threshold; jump (float, default 10)
 * error growth factor that marks a layer.
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
#define JUMP_FLOOR 1e-5      /* relative errors below this are rounding, never a jump */

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
  double jump;
  Stage *stages;
  uint32_t n_stages;
} Tracker;

static const MscOptionSpec tracker_options[] = {
    {"pattern", MSC_OPT_STRING, "*", "comma-separated globs over output tensor names to track"},
    {"max_tensors", MSC_OPT_INT, "256", "tensors recorded per stage at most"},
    {"cosine", MSC_OPT_FLOAT, "0.999", "a tensor whose cosine vs baseline is below this has drifted"},
    {"jump", MSC_OPT_FLOAT, "10",
     "a tensor whose relative error exceeds this many times the largest one before it (at least 1e-5) is where the "
     "error jumps"},
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
  t->jump = 10;
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
    } else if (!strcmp(k, "jump")) {
      double j = strtod(v, &end);
      if (!end || *end || !(j >= 1 && j <= 1e12)) {
        host->message_set(msg, "tracker: option 'jump': '%s' is not a number in [1, 1e12]", v);
        tracker_destroy(t);
        return MSC_ERR_INVALID_ARG;
      }
      t->jump = j;
    } else {
      host->message_set(msg, "tracker: unknown option '%s' (known: pattern, max_tensors, cosine, jump)", k);
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

/* Drift of one tensor vs its reference. */
typedef struct {
  const Rec *r;
  double max_abs, rel, cosv;
  int jump; /* the stage's first jump */
} Drift;

static Drift drift_of(const Rec *r, const Rec *b) {
  Drift d = {r, 0, 0, 1, 0};
  double dot = 0, na = 0, nb = 0, nd = 0;
  for (int64_t e = 0; e < r->n; e++) {
    double x = r->data[e], y = b->data[e], a = fabs(x - y);
    if (a > d.max_abs || isnan(a)) d.max_abs = a;
    dot += x * y;
    na += x * x;
    nb += y * y;
    nd += (x - y) * (x - y);
  }
  d.cosv = na == 0 && nb == 0 ? 1 : (na == 0 || nb == 0) ? 0 : dot / sqrt(na * nb);
  d.rel = nb > 0 ? sqrt(nd / nb) : nd > 0 ? INFINITY : 0;
  return d;
}

static void json_num(FILE *f, const char *key, double v) {
  if (isfinite(v)) fprintf(f, ", \"%s\": %.9g", key, v);
  else fprintf(f, ", \"%s\": null", key);
}

static void json_layer(FILE *f, const char *key, const Drift *d) {
  fprintf(f, ", \"%s\": ", key);
  if (!d) {
    fprintf(f, "null");
    return;
  }
  fprintf(f, "{\"name\": ");
  json_str(f, d->r->name);
  fprintf(f, ", \"node\": ");
  json_str(f, d->r->node);
  fprintf(f, ", \"op_type\": ");
  json_str(f, d->r->op_type);
  json_num(f, "rel_error", d->rel);
  json_num(f, "cosine", d->cosv);
  fprintf(f, "}");
}

static void text_layer(FILE *t, const char *what, const Drift *d) {
  if (!t) return;
  if (!d) fprintf(t, "  %-22s none\n", what);
  else
    fprintf(t, "  %-22s %s (node %s, %s): rel error %.3g, cosine %.6f\n", what, d->r->name, d->r->node,
            d->r->op_type, d->rel, d->cosv);
}

/* Writes @path via PATH.tmp + rename. */
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
    host->message_set(msg, "%s: tracker: write failed", path);
    return MSC_ERR_IO;
  }
  free(tmp);
  return MSC_OK;
}

static MscStatus tracker_export(void *state, const char *path, MscMessage *msg) {
  Tracker *t = state;
  char *tmp = NULL;
  FILE *f = open_tmp(path, &tmp);
  if (!f) {
    free(tmp);
    host->message_set(msg, "%s: tracker: cannot open for writing", path);
    return MSC_ERR_IO;
  }
  size_t pl = strlen(path);
  char *txt_path = malloc(pl + 5), *txt_tmp = NULL;
  if (txt_path) {
    memcpy(txt_path, path, pl + 1);
    if (pl > 5 && !strcmp(txt_path + pl - 5, ".json")) txt_path[pl - 5] = 0;
    strcat(txt_path, ".txt");
  }
  FILE *tx = txt_path ? open_tmp(txt_path, &txt_tmp) : NULL;
  const Stage *ref = t->n_stages ? &t->stages[0] : NULL;
  fprintf(f, "{\n  \"tool\": \"tracker\",\n  \"reference\": ");
  json_str(f, ref ? ref->name : "");
  fprintf(f, ",\n  \"cosine_threshold\": %g,\n  \"jump_factor\": %g,\n  \"tracked\": %u,\n  \"stages\": [", t->cosine,
          t->jump, ref ? ref->n_recs : 0);
  if (tx) fprintf(tx, "tracker: %u tensors of stage %s as reference\n", ref ? ref->n_recs : 0, ref ? ref->name : "-");
  Drift broke = {0};
  const char *broke_stage = NULL;
  for (uint32_t si = 1; si < t->n_stages; si++) {
    const Stage *s = &t->stages[si];
    Drift *ds = calloc(s->n_recs ? s->n_recs : 1, sizeof *ds);
    if (!ds) {
      fclose(f);
      remove(tmp);
      free(tmp);
      if (tx) {
        fclose(tx);
        remove(txt_tmp);
      }
      free(txt_tmp);
      free(txt_path);
      return MSC_ERR_NOMEM;
    }
    uint32_t k = 0;
    int first_bad = -1, first_jump = -1, worst = -1;
    double prev_max = 0, max_rel = 0;
    for (uint32_t i = 0; i < s->n_recs; i++) {
      const Rec *r = &s->recs[i], *b = find_rec(ref, r->name);
      if (!b || b->n != r->n) continue;
      ds[k] = drift_of(r, b);
      Drift *d = &ds[k];
      if (first_bad < 0 && !(d->cosv >= t->cosine)) first_bad = (int)k;
      if (worst < 0 || !(d->cosv >= ds[worst].cosv)) worst = (int)k;
      double floor = prev_max > JUMP_FLOOR ? prev_max : JUMP_FLOOR;
      if (first_jump < 0 && !(d->rel <= t->jump * floor)) {
        first_jump = (int)k;
        d->jump = 1;
      }
      if (!(d->rel <= prev_max)) prev_max = isnan(d->rel) ? INFINITY : d->rel;
      k++;
    }
    max_rel = prev_max;
    fprintf(f, "%s\n    {\"stage\": ", si > 1 ? "," : "");
    json_str(f, s->name);
    fprintf(f, ", \"compared\": %u", k);
    json_num(f, "max_rel_error", max_rel);
    fprintf(f, ", \"tensors\": [");
    for (uint32_t i = 0; i < k; i++) {
      const Drift *d = &ds[i];
      fprintf(f, "%s\n      {\"name\": ", i ? "," : "");
      json_str(f, d->r->name);
      fprintf(f, ", \"node\": ");
      json_str(f, d->r->node);
      fprintf(f, ", \"op_type\": ");
      json_str(f, d->r->op_type);
      json_num(f, "max_abs", d->max_abs);
      json_num(f, "rel_error", d->rel);
      json_num(f, "cosine", d->cosv);
      if (d->jump) fprintf(f, ", \"jump\": true");
      fprintf(f, "}");
    }
    fprintf(f, "%s]", k ? "\n    " : "");
    /* kept as plain names for readers of the first version */
    fprintf(f, ", \"first_drifted\": ");
    if (first_bad >= 0) json_str(f, ds[first_bad].r->name);
    else fprintf(f, "null");
    fprintf(f, ", \"worst\": ");
    if (worst >= 0) json_str(f, ds[worst].r->name);
    else fprintf(f, "null");
    json_layer(f, "first_jump", first_jump >= 0 ? &ds[first_jump] : NULL);
    json_layer(f, "first_below_cosine", first_bad >= 0 ? &ds[first_bad] : NULL);
    json_layer(f, "worst_layer", worst >= 0 ? &ds[worst] : NULL);
    fprintf(f, "}");
    if (tx) {
      fprintf(tx, "stage %s: %u tensors compared, max rel error %.3g\n", s->name, k, max_rel);
      text_layer(tx, "error jumps at", first_jump >= 0 ? &ds[first_jump] : NULL);
      text_layer(tx, "first below cosine", first_bad >= 0 ? &ds[first_bad] : NULL);
      text_layer(tx, "worst", worst >= 0 ? &ds[worst] : NULL);
    }
    int at = first_jump >= 0 && first_jump < first_bad ? first_jump : first_bad;
    if (!broke_stage && at >= 0) {
      broke_stage = s->name;
      broke = ds[at];
    }
    free(ds);
  }
  fprintf(f, "%s]", t->n_stages > 1 ? "\n  " : "");
  /* the first stage where a tensor fell below the cosine threshold, and
   * there the layer where the error jumped (or the first one below it) */
  fprintf(f, ",\n  \"broke_at\": ");
  if (broke_stage) {
    fprintf(f, "{\"stage\": ");
    json_str(f, broke_stage);
    json_layer(f, "layer", &broke);
    fprintf(f, "}");
  } else {
    fprintf(f, "null");
  }
  fprintf(f, "\n}\n");
  if (tx) {
    if (broke_stage)
      fprintf(tx, "accuracy broke at stage %s, layer %s (node %s, %s)\n", broke_stage, broke.r->name, broke.r->node,
              broke.r->op_type);
    else
      fprintf(tx, "no tensor fell below cosine %g in any stage\n", t->cosine);
  }
  MscStatus st = commit(f, tmp, path, msg);
  if (tx) {
    MscStatus st2 = commit(tx, txt_tmp, txt_path, msg);
    if (st == MSC_OK) st = st2;
  } else {
    free(txt_tmp);
  }
  free(txt_path);
  return st;
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
