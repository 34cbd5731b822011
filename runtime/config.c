/* config.c: INI configuration, validated against MscOptionSpec schemas.
 *
 * Parsing: a byte-level scan first (size, NUL, UTF-8, line length), then
 * inih's ini_parse_stream over our own line reader. The reader counts
 * lines (inih 55 has no INI_HANDLER_LINENO), strips leading whitespace
 * (inih would otherwise take an indented key as a continuation of the
 * previous value), checks section headers, and hands inih a short
 * "key=v" line while keeping the real value aside: the library's line
 * buffer is 200 bytes, ours is MSC_CONFIG_MAX_LINE. Errors are collected
 * with their line, and the earliest one is reported. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "error.h"
#include "onnx.h"
#include "registry.h"
#include "zoo.h"

#define NAME_MAX_LEN 64

/* KeySpec flags: the internal extension of MscOptionSpec. */
enum {
  K_REQUIRED = 1 << 0, /* must be written in the file */
  K_PATH = 1 << 1,     /* relative to the INI file's folder */
  K_OFF = 1 << 2,      /* accepts "off" (a disabled check) */
  K_RANGE = 1 << 3,    /* min..max inclusive apply */
  K_SHAPES = 1 << 4,   /* NAME=DxD[,NAME=DxD] */
  K_MODEL = 1 << 5,    /* existing file or zoo:NAME */
  K_DIR = 1 << 6,      /* existing directory */
  K_PLUGIN = 1 << 7,   /* declared by a plugin (copied strings, owned) */
  K_FILE = 1 << 8,     /* existing regular file */
  K_FLOATS = 1 << 9,   /* 1-4 comma-separated finite numbers */
};

typedef struct {
  MscOptionSpec opt;
  guint flags;
  double min, max;     /* with K_RANGE; max may be INFINITY */
  const char *choices; /* "a|b" for STRING keys; NULL = any text */
} KeySpec;

typedef struct {
  const char *name;
  const char *doc;
  const KeySpec *keys;
  guint n_keys;
} CoreSection;

#define INF INFINITY

static const KeySpec model_keys[] = {
    {{"path", MSC_OPT_STRING, NULL,
      "ONNX model file (relative to the INI file's folder), or zoo:NAME for a built-in demo model"},
     K_REQUIRED | K_PATH | K_MODEL, 0, 0, NULL},
    {{"shapes", MSC_OPT_STRING, "",
      "shapes of inputs with dynamic dims: NAME=DxD...[,NAME=DxD...]; dims not given default to 1"},
     K_SHAPES, 0, 0, NULL},
};

static const KeySpec dataset_keys[] = {
    {{"source", MSC_OPT_STRING, "random",
      "random: seeded inputs uniform in [-1,1); glyphs / glyphs-nhwc: seeded text-like images as "
      "shared/bench/make-case.js draws them; files: test_data_set_N/input_K.pb folders (or, one-input models, "
      "flat .pb/.npy files) under path; images: PNG/JPEG files under path, resized and normalised; auto: glyphs "
      "for a 4-D float input, else random"},
     0, 0, 0, "random|glyphs|glyphs-nhwc|files|images|auto"},
    {{"path", MSC_OPT_STRING, NULL, "folder of the samples (required when source = files or images)"},
     K_PATH | K_DIR, 0, 0, NULL},
    {{"mean", MSC_OPT_STRING, "0.5", "images: per-channel mean of v/255 (comma list, last repeats)"},
     K_FLOATS, 0, 0, NULL},
    {{"std", MSC_OPT_STRING, "0.5", "images: per-channel std: value = (v/255 - mean) / std"}, K_FLOATS, 0, 0, NULL},
    {{"layout", MSC_OPT_STRING, "auto",
      "images and glyphs: nchw, nhwc, or auto (channels-last when the last dim is 1/3/4 and dim 1 is not)"},
     0, 0, 0, "auto|nchw|nhwc"},
    {{"samples", MSC_OPT_INT, "8", "input samples to use (random: generated; files: at most this many)"},
     K_RANGE, 1, 1000000, NULL},
    {{"seed", MSC_OPT_INT, "0", "PRNG seed of random inputs (sample k uses seed + k)"}, K_RANGE, 0, 4294967295.0,
     NULL},
    {{"labels", MSC_OPT_STRING, NULL,
      "optional text file of class labels, one integer per line (line k: sample k); enables top-1/top-5"},
     K_PATH | K_FILE, 0, 0, NULL},
};

static const KeySpec runner_keys[] = {
    {{"name", MSC_OPT_STRING, "ref",
      "runner that executes the model (registry msc.runner.NAME); its own options go in this section"},
     0, 0, 0, NULL},
};

static const KeySpec checks_keys[] = {
    {{"atol", MSC_OPT_FLOAT, "1e-4",
      "absolute tolerance: an element passes when |got - want| <= atol + rtol * |want|"},
     K_RANGE | K_OFF, 0, INF, NULL},
    {{"rtol", MSC_OPT_FLOAT, "1e-3", "relative tolerance of the element-wise check (off: 0)"}, K_RANGE | K_OFF, 0,
     INF, NULL},
    {{"max_error_rate", MSC_OPT_FLOAT, "0",
      "fraction of elements allowed outside the tolerance (off: count and report only)"},
     K_RANGE | K_OFF, 0, 1, NULL},
    {{"cosine", MSC_OPT_FLOAT, "0.999", "minimum cosine similarity of each output with the reference"},
     K_RANGE | K_OFF, -1, 1, NULL},
    {{"on_fail", MSC_OPT_STRING, "abort", "a failed check stops the pipeline (abort) or is reported (warn)"}, 0, 0,
     0, "abort|warn"},
};

static const KeySpec benchmark_keys[] = {
    {{"warmup", MSC_OPT_INT, "3", "untimed runs before measuring"}, K_RANGE, 0, 100000, NULL},
    {{"repeat", MSC_OPT_INT, "10", "timed runs; the report gives min, median and mean"}, K_RANGE, 1, 1000000, NULL},
};

static const KeySpec export_keys[] = {
    {{"dir", MSC_OPT_STRING, "msc-out",
      "output folder (created; relative to the INI file's folder), or NAME.tar.gz / NAME.tgz for one archive"},
     K_PATH, 0, 0, NULL},
    {{"archive", MSC_OPT_BOOL, "false", "write dir + .tar.gz (one gzip'ed tar, written atomically) instead of a folder"},
     0, 0, 0, NULL},
    {{"format", MSC_OPT_STRING, "onnx",
      "model format written to dir: onnx, or none (plans and reports only; they are always JSON)"},
     0, 0, 0, "onnx|none"},
};

static const CoreSection core_sections[] = {
    {"model", "the model to optimize", model_keys, G_N_ELEMENTS(model_keys)},
    {"dataset", "inputs for calibration, checks and benchmarks", dataset_keys, G_N_ELEMENTS(dataset_keys)},
    {"runner", "the runner that executes the model", runner_keys, G_N_ELEMENTS(runner_keys)},
    {"checks", "accuracy checks of each optimized model against the reference outputs", checks_keys,
     G_N_ELEMENTS(checks_keys)},
    {"benchmark", "latency measurement", benchmark_keys, G_N_ELEMENTS(benchmark_keys)},
    {"export", "where results are written", export_keys, G_N_ELEMENTS(export_keys)},
};

static const char *const core_section_names[] = {"model", "dataset", "runner", "checks", "benchmark", "export",
                                                 NULL};

const char *const *msc_config_core_sections(void) {
  return core_section_names;
}

static const CoreSection *find_core(const char *name) {
  for (guint i = 0; i < G_N_ELEMENTS(core_sections); i++)
    if (!strcmp(core_sections[i].name, name)) return &core_sections[i];
  return NULL;
}

/* ---------------------------------------------------------------------- */
/* Loaded data                                                             */

typedef struct {
  char *key;
  char *value;
  int line;
} Entry;

typedef struct {
  char *name;    /* "checks", "tool.quantizer" */
  int line;      /* header line; 0 = not written in the file */
  KeySpec *keys; /* schema: core keys (static strings) + K_PLUGIN copies */
  guint n_keys;
  char *plugin_doc; /* the runner's or tool's doc (owned), nullable */
  gboolean unresolved; /* its runner/tool is not registered: keys cannot be checked */
  GPtrArray *entries; /* Entry *, file order */
} Section;

struct MscConfig {
  char *source;
  char *base_dir;
  GPtrArray *sections; /* Section *: core ones in canonical order, then tools in file order */
};

static void entry_free(gpointer p) {
  Entry *e = p;
  g_free(e->key);
  g_free(e->value);
  g_free(e);
}

static void section_free(gpointer p) {
  Section *s = p;
  for (guint i = 0; i < s->n_keys; i++)
    if (s->keys[i].flags & K_PLUGIN) {
      g_free((char *)s->keys[i].opt.name);
      g_free((char *)s->keys[i].opt.default_value);
      g_free((char *)s->keys[i].opt.doc);
    }
  g_free(s->keys);
  g_free(s->plugin_doc);
  g_ptr_array_unref(s->entries);
  g_free(s->name);
  g_free(s);
}

void msc_config_free(MscConfig *cfg) {
  if (!cfg) return;
  g_ptr_array_unref(cfg->sections);
  g_free(cfg->source);
  g_free(cfg->base_dir);
  g_free(cfg);
}

static Section *section_new(const char *name, const CoreSection *core) {
  Section *s = g_new0(Section, 1);
  s->name = g_strdup(name);
  s->entries = g_ptr_array_new_with_free_func(entry_free);
  if (core) {
    s->keys = g_new(KeySpec, core->n_keys);
    memcpy(s->keys, core->keys, core->n_keys * sizeof(KeySpec));
    s->n_keys = core->n_keys;
  }
  return s;
}

static Section *find_section(const MscConfig *cfg, const char *name) {
  for (guint i = 0; i < cfg->sections->len; i++) {
    Section *s = g_ptr_array_index(cfg->sections, i);
    if (!strcmp(s->name, name)) return s;
  }
  return NULL;
}

static const KeySpec *find_key(const Section *s, const char *key) {
  for (guint i = 0; i < s->n_keys; i++)
    if (!strcmp(s->keys[i].opt.name, key)) return &s->keys[i];
  return NULL;
}

static const Entry *find_entry(const Section *s, const char *key) {
  for (guint i = 0; i < s->entries->len; i++) {
    const Entry *e = g_ptr_array_index(s->entries, i);
    if (!strcmp(e->key, key)) return e;
  }
  return NULL;
}

static gboolean valid_name(const char *s, size_t n);
static gboolean default_ok(MscOptionType type, const char *v);

/* Appends the plugin's options (copied: the plugin may be unloaded while
 * the config lives). A plugin key that shadows a core key is skipped. */
static void section_add_plugin_keys(Section *s, const MscOptionSpec *opts, uint32_t n, const char *doc) {
  n = MIN(n, 1024u); /* a sane bound on a plugin-declared count */
  s->keys = g_renew(KeySpec, s->keys, s->n_keys + n);
  for (uint32_t i = 0; opts && i < n; i++) {
    /* a name a file could not spell is unusable: skip it */
    if (!opts[i].name || !valid_name(opts[i].name, strlen(opts[i].name)) || find_key(s, opts[i].name)) continue;
    KeySpec *k = &s->keys[s->n_keys++];
    memset(k, 0, sizeof *k);
    k->opt.name = g_strdup(opts[i].name);
    k->opt.type = opts[i].type >= MSC_OPT_BOOL && opts[i].type <= MSC_OPT_STRING ? opts[i].type : MSC_OPT_STRING;
    k->opt.default_value = default_ok(k->opt.type, opts[i].default_value) ? g_strdup(opts[i].default_value) : NULL;
    k->opt.doc = g_strdup(opts[i].doc ? opts[i].doc : "");
    k->flags = K_PLUGIN;
  }
  g_free(s->plugin_doc);
  s->plugin_doc = g_strdup(doc);
}

/* The option table of a registered runner or tool, read only within the
 * struct_size the plugin declares. */
static gboolean plugin_schema(const char *kind, const char *name, const MscOptionSpec **opts, uint32_t *n,
                              const char **doc) {
  g_autofree char *reg = g_strdup_printf("msc.%s.%s", kind, name);
  if (!strcmp(kind, "runner")) {
    const MscRunnerApi *api = msc_registry_get(reg, MSC_REG_RUNNER, TRUE, NULL);
    if (!api) return FALSE;
    gboolean has = api->struct_size >= offsetof(MscRunnerApi, n_options) + sizeof(api->n_options);
    *opts = has ? api->options : NULL;
    *n = has && api->options ? api->n_options : 0;
    *doc = api->struct_size >= offsetof(MscRunnerApi, doc) + sizeof(api->doc) ? api->doc : NULL;
  } else {
    const MscToolApi *api = msc_registry_get(reg, MSC_REG_TOOL, TRUE, NULL);
    if (!api) return FALSE;
    gboolean has = api->struct_size >= offsetof(MscToolApi, n_options) + sizeof(api->n_options);
    *opts = has ? api->options : NULL;
    *n = has && api->options ? api->n_options : 0;
    *doc = api->struct_size >= offsetof(MscToolApi, doc) + sizeof(api->doc) ? api->doc : NULL;
  }
  return TRUE;
}

/* "a, b, c" of registered names under msc.KIND. (transfer full) */
static char *known_plugins(const char *kind) {
  g_autofree char *prefix = g_strdup_printf("msc.%s.", kind);
  g_autoptr(GPtrArray) l = msc_registry_list(prefix, !strcmp(kind, "runner") ? MSC_REG_RUNNER : MSC_REG_TOOL);
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < l->len; i++) {
    const MscRegEntry *e = g_ptr_array_index(l, i);
    g_string_append_printf(s, "%s%s", i ? ", " : "", e->name + strlen(prefix));
  }
  if (!s->len) g_string_append(s, "none registered");
  return g_string_free(s, FALSE);
}

/* ---------------------------------------------------------------------- */
/* Value parsing (strict: the whole string)                                */

static gboolean parse_bool(const char *v, gboolean *out) {
  static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
  for (guint i = 0; i < G_N_ELEMENTS(yes); i++) {
    if (!g_ascii_strcasecmp(v, yes[i])) return *out = TRUE, TRUE;
    if (!g_ascii_strcasecmp(v, no[i])) return *out = FALSE, TRUE;
  }
  return FALSE;
}

/* 0 ok, 1 not an integer, 2 out of the int64 range */
static int parse_int(const char *v, gint64 *out) {
  const char *p = v;
  if (*p == '+' || *p == '-') p++;
  if (!*p) return 1;
  for (; *p; p++)
    if (!g_ascii_isdigit(*p)) return 1;
  errno = 0;
  char *end = NULL;
  gint64 x = g_ascii_strtoll(v, &end, 10);
  if (errno == ERANGE) return 2;
  if (!end || *end) return 1;
  *out = x;
  return 0;
}

/* 0 ok, 1 not a number, 2 out of the double range / not finite */
static int parse_float(const char *v, double *out) {
  gboolean digit = FALSE;
  for (const char *p = v; *p; p++) {
    if (g_ascii_isdigit(*p)) digit = TRUE;
    else if (!strchr("+-.eE", *p)) return 1; /* no hex floats, inf or nan */
  }
  if (!digit) return 1;
  errno = 0;
  char *end = NULL;
  double x = g_ascii_strtod(v, &end);
  if (!end || *end) return 1;
  if ((errno == ERANGE && fabs(x) > 1.0) || !isfinite(x)) return 2;
  *out = errno == ERANGE ? 0.0 : x; /* underflow to 0 is harmless for tolerances */
  return 0;
}

/* Does a comment start at @v[i] of a value? ';' or '#' at its start (right
 * after the '=') or after whitespace: the reader cuts values there, and a
 * default that holds one could not be written back (msc_config_to_ini). */
static gboolean comment_at(const char *v, size_t i) {
  return (v[i] == ';' || v[i] == '#') && (i == 0 || g_ascii_isspace(v[i - 1]));
}

/* A plugin's default is used only when a file could hold it: it parses as
 * its type and survives the INI syntax (no control bytes, no surrounding
 * space, no inline comment). Otherwise the key has no default (the
 * plugin applies its own) and msc_config_to_ini() round-trips. */
static gboolean default_ok(MscOptionType type, const char *v) {
  if (!v || !g_utf8_validate(v, -1, NULL) || strlen(v) > 1024) return FALSE;
  size_t n = strlen(v);
  if (n && (g_ascii_isspace(v[0]) || g_ascii_isspace(v[n - 1]))) return FALSE;
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) return FALSE;
    if (comment_at(v, i)) return FALSE;
  }
  gboolean b;
  gint64 x;
  double d;
  switch (type) {
  case MSC_OPT_BOOL: return parse_bool(v, &b);
  case MSC_OPT_INT: return parse_int(v, &x) == 0;
  case MSC_OPT_FLOAT: return parse_float(v, &d) == 0;
  default: return TRUE;
  }
}

static gboolean is_off(const KeySpec *k, const char *v) {
  return (k->flags & K_OFF) && !g_ascii_strcasecmp(v, "off");
}

static const char *type_name(MscOptionType t) {
  switch (t) {
  case MSC_OPT_BOOL: return "bool";
  case MSC_OPT_INT: return "int";
  case MSC_OPT_FLOAT: return "float";
  default: return "string";
  }
}

static void append_num(GString *s, const KeySpec *k, double x) {
  if (isinf(x)) g_string_append(s, x > 0 ? "inf" : "-inf");
  else if (k->opt.type == MSC_OPT_INT) g_string_append_printf(s, "%.0f", x);
  else g_string_append_printf(s, "%g", x);
}

/* "[0, 1]", "[0, inf)", "abort|warn", with " or off"; "" when unconstrained. (transfer full) */
static char *range_text(const KeySpec *k) {
  GString *s = g_string_new(NULL);
  if (k->flags & K_RANGE) {
    g_string_append_c(s, '[');
    append_num(s, k, k->min);
    g_string_append(s, ", ");
    append_num(s, k, k->max);
    g_string_append_c(s, isinf(k->max) ? ')' : ']');
  } else if (k->choices) {
    g_string_append(s, k->choices);
  }
  if (k->flags & K_OFF) g_string_append(s, s->len ? " or off" : "off");
  return g_string_free(s, FALSE);
}

static gboolean in_choices(const char *choices, const char *v) {
  size_t n = strlen(v);
  for (const char *p = choices; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL) {
    const char *e = strchr(p, '|');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && !strncmp(p, v, n)) return TRUE;
  }
  return FALSE;
}

/* A value as shown in messages: control bytes escaped, cut at 60 bytes on
 * a character boundary. (transfer full) */
static char *show(const char *v) {
  GString *s = g_string_new(NULL);
  const char *p = v;
  for (; *p && s->len < 60; p = g_utf8_next_char(p)) {
    if ((unsigned char)*p < 0x20 || *p == 0x7f) g_string_append_printf(s, "\\x%02x", (unsigned char)*p);
    else g_string_append_len(s, p, g_utf8_next_char(p) - p);
  }
  if (*p) g_string_append(s, "...");
  return g_string_free(s, FALSE);
}

/* ---------------------------------------------------------------------- */
/* Loading                                                                 */

typedef struct {
  MscConfig *cfg;
  const char *data;
  gsize len, pos;
  int lineno;
  Section *cur;          /* section of the lines being read; NULL before any or after a bad header */
  gboolean in_bad;       /* after a refused section header: its keys are skipped */
  char *value;           /* the real value of the current key line (owned) */
  int err_line;          /* line of the earliest error so far; G_MAXINT = none with a line */
  char *err;             /* its message, without the "FILE:LINE: " prefix */
  gboolean have_err;
} Loader;

static void fail(Loader *L, int line, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Keeps the earliest error (line 0 = no line, ranked last). */
static void fail(Loader *L, int line, const char *fmt, ...) {
  int rank = line > 0 ? line : G_MAXINT;
  if (L->have_err && rank >= L->err_line) return;
  va_list ap;
  va_start(ap, fmt);
  g_free(L->err);
  L->err = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  L->err_line = rank;
  L->have_err = TRUE;
}

static gboolean valid_name(const char *s, size_t n) {
  if (n == 0 || n > NAME_MAX_LEN) return FALSE;
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isalnum(s[i]) && !strchr("_-.", s[i])) return FALSE;
  return TRUE;
}

static void begin_section(Loader *L, const char *name, int line) {
  L->cur = NULL;
  L->in_bad = TRUE;
  Section *s = find_section(L->cfg, name);
  if (s && s->line > 0) {
    fail(L, line, "[%s]: duplicate section (first at line %d)", name, s->line);
    return;
  }
  if (!s && g_str_has_prefix(name, "tool.") && name[5]) {
    s = section_new(name, NULL);
    g_ptr_array_add(L->cfg->sections, s);
  }
  if (!s) {
    g_autofree char *tools = known_plugins("tool");
    g_autofree char *core = g_strjoinv(", ", (char **)core_section_names);
    fail(L, line, "[%s]: unknown section (known: %s, tool.NAME; registered tools: %s)", name, core, tools);
    return;
  }
  s->line = line;
  L->cur = s;
  L->in_bad = FALSE;
}

/* Trims ASCII whitespace at both ends of [*p, *p + *n). */
static void trim(const char **p, size_t *n) {
  while (*n && g_ascii_isspace(**p)) (*p)++, (*n)--;
  while (*n && g_ascii_isspace((*p)[*n - 1])) (*n)--;
}

/* inih reader: one line per call, rewritten as described at the top. */
static char *reader(char *str, int num, void *stream) {
  Loader *L = stream;
  if (L->pos >= L->len || num < 4) return NULL;
  const char *line = L->data + L->pos;
  const char *nl = memchr(line, '\n', L->len - L->pos);
  size_t n = nl ? (size_t)(nl - line) : L->len - L->pos;
  L->pos += n + (nl ? 1 : 0);
  L->lineno++;
  if (L->lineno == 1 && n >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) line += 3, n -= 3;
  trim(&line, &n);
  str[0] = '\n', str[1] = '\0';
  g_clear_pointer(&L->value, g_free);
  if (n == 0 || line[0] == ';' || line[0] == '#') return str;
  if (line[0] == '[') {
    const char *close = memchr(line, ']', n);
    if (!close) {
      g_autofree char *raw = g_strndup(line, n);
      g_autofree char *t = show(raw);
      fail(L, L->lineno, "section header without ']' (%s)", t);
      L->cur = NULL, L->in_bad = TRUE;
      return str;
    }
    const char *rest = close + 1;
    size_t rn = n - (size_t)(rest - line);
    trim(&rest, &rn);
    const char *name = line + 1;
    size_t nn = (size_t)(close - name);
    trim(&name, &nn);
    g_autofree char *nm = g_strndup(name, nn);
    if (rn && rest[0] != ';' && rest[0] != '#') {
      g_autofree char *raw = g_strndup(rest, rn);
      g_autofree char *t = show(raw);
      fail(L, L->lineno, "[%s]: text after the section header (%s)", nm, t);
      L->cur = NULL, L->in_bad = TRUE;
    } else if (!valid_name(name, nn)) {
      g_autofree char *t = show(nm);
      fail(L, L->lineno, "bad section name (%s): want 1-%d of A-Z a-z 0-9 _ - .", t, NAME_MAX_LEN);
      L->cur = NULL, L->in_bad = TRUE;
    } else {
      begin_section(L, nm, L->lineno);
      g_snprintf(str, num, "[s]\n"); /* we track sections ourselves */
    }
    return str;
  }
  const char *eq = line;
  while (eq < line + n && *eq != '=' && *eq != ':') eq++;
  if (eq == line + n) {
    g_autofree char *raw = g_strndup(line, n);
    g_autofree char *t = show(raw);
    fail(L, L->lineno, "expected 'key = value' or '[section]' (%s)", t);
    return str;
  }
  const char *key = line;
  size_t kn = (size_t)(eq - line);
  trim(&key, &kn);
  const char *val = eq + 1;
  size_t vn = n - (size_t)(val - line);
  /* inline comment (comment_at): "k =#x" reads as "k = #x" does, the form
   * msc_config_to_ini() writes */
  for (size_t i = 0; i < vn; i++)
    if (comment_at(val, i)) {
      vn = i;
      break;
    }
  trim(&val, &vn);
  g_autofree char *k = g_strndup(key, kn);
  if (!valid_name(key, kn)) {
    g_autofree char *t = show(k);
    fail(L, L->lineno, "bad key name (%s): want 1-%d of A-Z a-z 0-9 _ - .", t, NAME_MAX_LEN);
    return str;
  }
  L->value = g_strndup(val, vn);
  g_snprintf(str, num, "%s=v\n", k);
  return str;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
  Loader *L = user;
  if (!L->value) return 1; /* not ours (cannot happen: every key line sets it) */
  if (L->in_bad) return 1; /* the header's error covers it */
  if (!L->cur) {
    fail(L, L->lineno, "%s: key outside any section (put it under a [section])", name);
    return 1;
  }
  const Entry *prev = find_entry(L->cur, name);
  if (prev) {
    g_autofree char *t = show(L->value);
    fail(L, L->lineno, "[%s] %s: duplicate key (first set at line %d) (%s)", L->cur->name, name, prev->line, t);
    return 1;
  }
  Entry *e = g_new0(Entry, 1);
  e->key = g_strdup(name);
  e->value = g_steal_pointer(&L->value);
  e->line = L->lineno;
  g_ptr_array_add(L->cur->entries, e);
  return 1;
}

/* Makes @v absolute against the config's folder. (transfer full) */
static char *resolve(const MscConfig *cfg, const char *v) {
  if (g_str_has_prefix(v, "zoo:")) return g_strdup(v);
  return g_canonicalize_filename(v, cfg->base_dir);
}

static void check_floats(Loader *L, const Section *s, const Entry *e) {
  g_auto(GStrv) items = g_strsplit(e->value, ",", -1);
  guint n = g_strv_length(items);
  g_autofree char *t = show(e->value);
  if (n < 1 || n > 4) {
    fail(L, e->line, "[%s] %s: want 1 to 4 comma-separated numbers (%s)", s->name, e->key, t);
    return;
  }
  for (char **it = items; *it; it++) {
    double x = 0;
    if (parse_float(g_strstrip(*it), &x) != 0 || (!strcmp(e->key, "std") && x == 0)) {
      fail(L, e->line, "[%s] %s: '%s' is not a finite%s number (%s)", s->name, e->key, *it,
           strcmp(e->key, "std") ? "" : " non-zero", t);
      return;
    }
  }
}

static void check_shapes(Loader *L, const Section *s, const Entry *e) {
  g_auto(GStrv) items = g_strsplit(e->value, ",", -1);
  g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
  for (char **it = items; *it; it++) {
    g_strstrip(*it);
    if (!**it && !items[1]) return; /* "" = no shapes */
    char *eq = strchr(*it, '=');
    g_autofree char *t = show(*it);
    if (!eq || eq == *it) {
      fail(L, e->line, "[%s] %s: want NAME=DxD..., e.g. input=1x3x64x64 (%s)", s->name, e->key, t);
      return;
    }
    *eq = '\0';
    g_strstrip(*it);
    if (g_hash_table_contains(seen, *it)) {
      fail(L, e->line, "[%s] %s: input given twice (%s)", s->name, e->key, *it);
      return;
    }
    g_hash_table_add(seen, *it);
    g_auto(GStrv) dims = g_strsplit(g_strstrip(eq + 1), "x", -1);
    guint rank = g_strv_length(dims);
    if (rank == 0 || rank > MSC_MAX_RANK) {
      fail(L, e->line, "[%s] %s: rank must be 1-%d (%s)", s->name, e->key, MSC_MAX_RANK, t);
      return;
    }
    for (guint d = 0; d < rank; d++) {
      gint64 x = 0;
      if (parse_int(dims[d], &x) != 0 || x < 1 || x > G_MAXINT32) {
        fail(L, e->line, "[%s] %s: dim '%s' is not an integer in [1, %d] (%s)", s->name, e->key, dims[d],
             G_MAXINT32, t);
        return;
      }
    }
  }
}

static void check_model(Loader *L, const Section *s, const Entry *e) {
  if (g_str_has_prefix(e->value, "zoo:")) {
    if (msc_zoo_doc(e->value + 4)) return;
    g_autofree char *known = g_strjoinv(", ", (char **)msc_zoo_names());
    g_autofree char *t = show(e->value);
    fail(L, e->line, "[%s] %s: unknown zoo model (%s; known: %s)", s->name, e->key, t, known);
    return;
  }
  g_autofree char *p = resolve(L->cfg, e->value);
  if (!g_file_test(p, G_FILE_TEST_IS_REGULAR)) {
    g_autofree char *t = show(p);
    fail(L, e->line, "[%s] %s: no such file (%s)", s->name, e->key, t);
  }
}

/* Checks one written value against its key's schema. */
static void check_value(Loader *L, const Section *s, const Entry *e, const KeySpec *k) {
  g_autofree char *t = show(e->value);
  g_autofree char *range = range_text(k);
  if (is_off(k, e->value)) return;
  double x = 0;
  switch (k->opt.type) {
  case MSC_OPT_BOOL: {
    gboolean b;
    if (!parse_bool(e->value, &b))
      fail(L, e->line, "[%s] %s: not a bool: want true|false|yes|no|on|off|1|0 (%s)", s->name, e->key, t);
    return;
  }
  case MSC_OPT_INT: {
    gint64 i = 0;
    int r = parse_int(e->value, &i);
    if (r == 1) {
      fail(L, e->line, "[%s] %s: not an integer%s (%s)", s->name, e->key, k->flags & K_OFF ? " or off" : "", t);
      return;
    }
    if (r == 2) {
      fail(L, e->line, "[%s] %s: out of the 64-bit integer range (%s)", s->name, e->key, t);
      return;
    }
    x = (double)i;
    break;
  }
  case MSC_OPT_FLOAT: {
    int r = parse_float(e->value, &x);
    if (r == 1) {
      fail(L, e->line, "[%s] %s: not a number%s (%s)", s->name, e->key, k->flags & K_OFF ? " or off" : "", t);
      return;
    }
    if (r == 2) {
      fail(L, e->line, "[%s] %s: out of the finite float range (%s)", s->name, e->key, t);
      return;
    }
    break;
  }
  default:
    if (k->choices && !in_choices(k->choices, e->value)) {
      fail(L, e->line, "[%s] %s: not one of %s (%s)", s->name, e->key, k->choices, t);
      return;
    }
    if ((k->flags & K_REQUIRED) && !e->value[0]) {
      fail(L, e->line, "[%s] %s: empty value", s->name, e->key);
      return;
    }
    if (k->flags & K_SHAPES) check_shapes(L, s, e);
    if (k->flags & K_FLOATS) check_floats(L, s, e);
    if (k->flags & K_MODEL) check_model(L, s, e);
    if ((k->flags & K_DIR) && e->value[0]) {
      g_autofree char *p = resolve(L->cfg, e->value);
      if (!g_file_test(p, G_FILE_TEST_IS_DIR)) {
        g_autofree char *tp = show(p);
        fail(L, e->line, "[%s] %s: no such folder (%s)", s->name, e->key, tp);
      }
    }
    if ((k->flags & K_FILE) && e->value[0]) {
      g_autofree char *p = resolve(L->cfg, e->value);
      if (!g_file_test(p, G_FILE_TEST_IS_REGULAR)) {
        g_autofree char *tp = show(p);
        fail(L, e->line, "[%s] %s: no such file (%s)", s->name, e->key, tp);
      }
    }
    return;
  }
  if ((k->flags & K_RANGE) && (x < k->min || x > k->max))
    fail(L, e->line, "[%s] %s: out of range %s (%s)", s->name, e->key, range, t);
}

/* Attaches the runner's and tools' schemas; reports unregistered ones. */
static void attach_plugins(Loader *L) {
  for (guint i = 0; i < L->cfg->sections->len; i++) {
    Section *s = g_ptr_array_index(L->cfg->sections, i);
    const MscOptionSpec *opts = NULL;
    uint32_t n = 0;
    const char *doc = NULL;
    if (!strcmp(s->name, "runner")) {
      const Entry *e = find_entry(s, "name");
      const char *rn = e ? e->value : runner_keys[0].opt.default_value;
      if (plugin_schema("runner", rn, &opts, &n, &doc)) {
        section_add_plugin_keys(s, opts, n, doc);
      } else if (s->line > 0) {
        g_autofree char *known = known_plugins("runner");
        g_autofree char *t = show(rn);
        fail(L, e ? e->line : s->line, "[runner] name: runner not registered (%s; registered: %s)", t, known);
        s->unresolved = TRUE;
      }
    } else if (g_str_has_prefix(s->name, "tool.")) {
      if (plugin_schema("tool", s->name + 5, &opts, &n, &doc)) {
        section_add_plugin_keys(s, opts, n, doc);
      } else {
        g_autofree char *known = known_plugins("tool");
        fail(L, s->line, "[%s]: tool not registered (%s; registered: %s)", s->name, s->name + 5, known);
        s->unresolved = TRUE; /* its keys are not checked: the header line already failed */
      }
    }
  }
}

static void validate(Loader *L) {
  attach_plugins(L);
  for (guint i = 0; i < L->cfg->sections->len; i++) {
    Section *s = g_ptr_array_index(L->cfg->sections, i);
    for (guint j = 0; j < s->entries->len; j++) {
      const Entry *e = g_ptr_array_index(s->entries, j);
      const KeySpec *k = find_key(s, e->key);
      if (k) {
        check_value(L, s, e, k);
      } else if (!s->unresolved) {
        GString *known = g_string_new(NULL);
        for (guint q = 0; q < s->n_keys; q++) g_string_append_printf(known, "%s%s", q ? ", " : "", s->keys[q].opt.name);
        g_autofree char *t = show(e->value);
        fail(L, e->line, "[%s] %s: unknown key (known: %s) (%s)", s->name, e->key, known->len ? known->str : "none",
             t);
        g_string_free(known, TRUE);
      }
    }
    for (guint q = 0; q < s->n_keys; q++) {
      const KeySpec *k = &s->keys[q];
      if (!(k->flags & K_REQUIRED) || find_entry(s, k->opt.name)) continue;
      if (s->line > 0) fail(L, s->line, "[%s] %s: required key missing", s->name, k->opt.name);
      else fail(L, 0, "[%s] %s: required key missing (no [%s] section)", s->name, k->opt.name, s->name);
    }
  }
  /* the one conditional requirement */
  const Section *ds = find_section(L->cfg, "dataset");
  const Entry *src = find_entry(ds, "source");
  if (src && (!strcmp(src->value, "files") || !strcmp(src->value, "images")) && !find_entry(ds, "path"))
    fail(L, src->line, "[dataset] path: required when source = %s", src->value);
}

/* Refuses binary and oversized input before parsing: size, NUL bytes,
 * invalid UTF-8 and long lines, each with its line. */
static gboolean prescan(const char *src, const char *data, gsize len, GError **error) {
  if (len > MSC_CONFIG_MAX_SIZE) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "%s: file too large (%" G_GSIZE_FORMAT " bytes, max %d)", src, len,
                  MSC_CONFIG_MAX_SIZE);
    return FALSE;
  }
  int line = 1;
  for (gsize pos = 0; pos < len; line++) {
    const char *p = data + pos;
    const char *nl = memchr(p, '\n', len - pos);
    gsize n = nl ? (gsize)(nl - p) : len - pos;
    const char *nul = memchr(p, '\0', n);
    if (nul) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "%s:%d: NUL byte at column %d: not a text file", src, line,
                    (int)(nul - p) + 1);
      return FALSE;
    }
    if (n > MSC_CONFIG_MAX_LINE) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "%s:%d: line too long (%" G_GSIZE_FORMAT " bytes, max %d)", src, line,
                    n, MSC_CONFIG_MAX_LINE);
      return FALSE;
    }
    const char *end = NULL;
    if (!g_utf8_validate(p, (gssize)n, &end)) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "%s:%d: invalid UTF-8 at column %d (byte 0x%02x)", src, line,
                    (int)(end - p) + 1, (unsigned char)*end);
      return FALSE;
    }
    pos += n + (nl ? 1 : 0);
  }
  return TRUE;
}

static MscConfig *load(const char *data, gsize len, const char *src, char *base_dir, GError **error) {
  g_autoptr(MscConfig) cfg = g_new0(MscConfig, 1);
  cfg->source = g_strdup(src);
  cfg->base_dir = base_dir;
  cfg->sections = g_ptr_array_new_with_free_func(section_free);
  if (!prescan(src, data, len, error)) return NULL;
  for (guint i = 0; i < G_N_ELEMENTS(core_sections); i++)
    g_ptr_array_add(cfg->sections, section_new(core_sections[i].name, &core_sections[i]));
  Loader L = {.cfg = cfg, .data = data, .len = len};
  ini_parse_stream(reader, &L, handler, &L); /* inih itself never errs: the reader checks each line first */
  g_free(L.value);
  validate(&L); /* even after a parse error: the earliest line wins */
  if (L.have_err) {
    if (L.err_line != G_MAXINT) msc_set_error(error, MSC_ERR_INVALID_ARG, "%s:%d: %s", src, L.err_line, L.err);
    else msc_set_error(error, MSC_ERR_INVALID_ARG, "%s: %s", src, L.err);
    g_free(L.err);
    return NULL;
  }
  return g_steal_pointer(&cfg);
}

MscConfig *msc_config_load_buffer(const char *data, gsize len, const char *source_name, GError **error) {
  g_return_val_if_fail(data != NULL || len == 0, NULL);
  const char *src = source_name ? source_name : "<buffer>";
  char *base = NULL;
  if (source_name && strchr(source_name, '/')) {
    g_autofree char *abs = g_canonicalize_filename(source_name, NULL);
    base = g_path_get_dirname(abs);
  } else {
    base = g_get_current_dir();
  }
  return load(data ? data : "", len, src, base, error);
}

MscConfig *msc_config_load_file(const char *path, GError **error) {
  g_return_val_if_fail(path != NULL, NULL);
  FILE *f = fopen(path, "rb");
  if (!f) {
    msc_set_error(error, MSC_ERR_IO, "%s: cannot open: %s", path, g_strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
    msc_set_error(error, MSC_ERR_IO, "%s: not a regular file", path);
    fclose(f);
    return NULL;
  }
  /* bounded read: works for pipes and refuses /dev/zero-like inputs */
  gsize cap = MSC_CONFIG_MAX_SIZE + 1;
  g_autofree char *buf = g_malloc(cap);
  gsize n = fread(buf, 1, cap, f);
  gboolean bad = ferror(f);
  fclose(f);
  if (bad) {
    msc_set_error(error, MSC_ERR_IO, "%s: read error", path);
    return NULL;
  }
  if (n > MSC_CONFIG_MAX_SIZE) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "%s: file too large (over %d bytes)", path, MSC_CONFIG_MAX_SIZE);
    return NULL;
  }
  g_autofree char *abs = g_canonicalize_filename(path, NULL);
  return load(buf, n, path, g_path_get_dirname(abs), error);
}

/* ---------------------------------------------------------------------- */
/* Accessors                                                               */

const char *msc_config_source(const MscConfig *cfg) {
  g_return_val_if_fail(cfg != NULL, NULL);
  return cfg->source;
}

gboolean msc_config_has_section(const MscConfig *cfg, const char *section) {
  g_return_val_if_fail(cfg != NULL && section != NULL, FALSE);
  const Section *s = find_section(cfg, section);
  return s && s->line > 0;
}

char **msc_config_tools(const MscConfig *cfg) {
  g_return_val_if_fail(cfg != NULL, NULL);
  GPtrArray *a = g_ptr_array_new();
  for (guint i = 0; i < cfg->sections->len; i++) {
    const Section *s = g_ptr_array_index(cfg->sections, i);
    if (g_str_has_prefix(s->name, "tool.")) g_ptr_array_add(a, g_strdup(s->name + 5));
  }
  g_ptr_array_add(a, NULL);
  return (char **)g_ptr_array_free(a, FALSE);
}

/* The section and key spec, or NULL (with a critical for a key outside a
 * known section's schema). */
static const KeySpec *lookup(const MscConfig *cfg, const char *section, const char *key, const Section **out) {
  const Section *s = find_section(cfg, section);
  if (!s) return NULL;
  const KeySpec *k = find_key(s, key);
  if (!k) g_critical("msc_config: [%s] has no key '%s' in its schema", section, key);
  *out = s;
  return k;
}

gboolean msc_config_is_set(const MscConfig *cfg, const char *section, const char *key) {
  g_return_val_if_fail(cfg != NULL && section != NULL && key != NULL, FALSE);
  const Section *s = find_section(cfg, section);
  return s && find_entry(s, key) != NULL;
}

const char *msc_config_get_string(const MscConfig *cfg, const char *section, const char *key) {
  g_return_val_if_fail(cfg != NULL && section != NULL && key != NULL, NULL);
  const Section *s = NULL;
  const KeySpec *k = lookup(cfg, section, key, &s);
  if (!k) return NULL;
  const Entry *e = find_entry(s, key);
  return e ? e->value : k->opt.default_value;
}

gboolean msc_config_get_bool(const MscConfig *cfg, const char *section, const char *key) {
  const char *v = msc_config_get_string(cfg, section, key);
  gboolean b = FALSE;
  return v && parse_bool(v, &b) ? b : FALSE;
}

gint64 msc_config_get_int(const MscConfig *cfg, const char *section, const char *key) {
  const char *v = msc_config_get_string(cfg, section, key);
  gint64 i = 0;
  return v && parse_int(v, &i) == 0 ? i : 0;
}

double msc_config_get_float(const MscConfig *cfg, const char *section, const char *key) {
  const char *v = msc_config_get_string(cfg, section, key);
  double x = NAN;
  return v && parse_float(v, &x) == 0 ? x : NAN;
}

gboolean msc_config_is_off(const MscConfig *cfg, const char *section, const char *key) {
  g_return_val_if_fail(cfg != NULL && section != NULL && key != NULL, FALSE);
  const Section *s = NULL;
  const KeySpec *k = lookup(cfg, section, key, &s);
  const char *v = k ? msc_config_get_string(cfg, section, key) : NULL;
  return v && is_off(k, v);
}

char *msc_config_get_path(const MscConfig *cfg, const char *section, const char *key) {
  const char *v = msc_config_get_string(cfg, section, key);
  return v && v[0] ? resolve(cfg, v) : NULL;
}

char **msc_config_dup_shapes(const MscConfig *cfg) {
  g_return_val_if_fail(cfg != NULL, NULL);
  const char *v = msc_config_get_string(cfg, "model", "shapes");
  GPtrArray *a = g_ptr_array_new();
  g_auto(GStrv) items = g_strsplit(v ? v : "", ",", -1);
  for (char **it = items; *it; it++) {
    char *eq = strchr(*it, '=');
    if (!eq) continue; /* only "" gets here: the value was validated */
    *eq = '\0';
    g_ptr_array_add(a, g_strdup_printf("%s=%s", g_strstrip(*it), g_strstrip(eq + 1)));
  }
  g_ptr_array_add(a, NULL);
  return (char **)g_ptr_array_free(a, FALSE);
}

MscGraph *msc_config_load_model(const MscConfig *cfg, GError **error) {
  g_return_val_if_fail(cfg != NULL, NULL);
  const char *v = msc_config_get_string(cfg, "model", "path");
  if (v && g_str_has_prefix(v, "zoo:")) return msc_zoo_build(v + 4, error);
  g_autofree char *p = msc_config_get_path(cfg, "model", "path");
  if (!p) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "%s: [model] path: not set", cfg->source);
    return NULL;
  }
  return msc_onnx_load_file(p, error);
}

MscOptions *msc_config_to_options(const MscConfig *cfg, const char *section) {
  g_return_val_if_fail(cfg != NULL && section != NULL, NULL);
  const Section *s = find_section(cfg, section);
  if (!s) return NULL;
  gboolean plugin_only = !strcmp(section, "runner");
  /* one block: header, key and value pointer arrays, then the strings */
  gsize n = 0, bytes = 0;
  for (int pass = 0; pass < 2; pass++) {
    char *block = NULL, *strings = NULL;
    MscOptions *o = NULL;
    const char **keys = NULL, **vals = NULL;
    if (pass == 1) {
      gsize head = sizeof(MscOptions) + 2 * (n ? n : 1) * sizeof(char *);
      block = g_malloc0(head + bytes);
      o = (MscOptions *)block;
      keys = (const char **)(block + sizeof(MscOptions));
      vals = keys + (n ? n : 1);
      strings = block + head;
      o->keys = keys;
      o->values = vals;
      o->n = (uint32_t)n;
    }
    n = 0;
    for (guint q = 0; q < s->n_keys; q++) {
      const KeySpec *k = &s->keys[q];
      if (plugin_only && !(k->flags & K_PLUGIN)) continue;
      const Entry *e = find_entry(s, k->opt.name);
      const char *v = e ? e->value : k->opt.default_value;
      if (!v) continue;
      if (pass == 0) {
        bytes += strlen(k->opt.name) + strlen(v) + 2;
      } else {
        keys[n] = strings;
        strings = g_stpcpy(strings, k->opt.name) + 1;
        vals[n] = strings;
        strings = g_stpcpy(strings, v) + 1;
      }
      n++;
    }
    if (pass == 1) return o;
  }
  return NULL;
}

void msc_config_options_free(MscOptions *options) {
  g_free(options);
}

char *msc_config_to_ini(const MscConfig *cfg) {
  g_return_val_if_fail(cfg != NULL, NULL);
  GString *s = g_string_new(NULL);
  g_autofree char *src = show(cfg->source);
  g_string_append_printf(s, "# effective msc configuration from %s (defaults filled in, paths absolute)\n", src);
  for (guint i = 0; i < cfg->sections->len; i++) {
    const Section *sec = g_ptr_array_index(cfg->sections, i);
    g_string_append_printf(s, "\n[%s]\n", sec->name);
    for (guint q = 0; q < sec->n_keys; q++) {
      const KeySpec *k = &sec->keys[q];
      const Entry *e = find_entry(sec, k->opt.name);
      const char *v = e ? e->value : k->opt.default_value;
      if (!v) continue;
      g_autofree char *p = (k->flags & K_PATH) && v[0] ? resolve(cfg, v) : NULL;
      g_string_append_printf(s, "%s = %s\n", k->opt.name, p ? p : v);
    }
  }
  return g_string_free(s, FALSE);
}

gboolean msc_config_write_file(const MscConfig *cfg, const char *path, GError **error) {
  g_return_val_if_fail(cfg != NULL && path != NULL, FALSE);
  g_autofree char *text = msc_config_to_ini(cfg);
  GError *e = NULL;
  if (!g_file_set_contents(path, text, -1, &e)) {
    msc_set_error(error, MSC_ERR_IO, "%s: %s", path, e->message);
    g_error_free(e);
    return FALSE;
  }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Describe                                                                */

static void describe_table(GString *out, const KeySpec *keys, guint n, guint from) {
  static const char *const head[] = {"key", "type", "default", "range", "doc"};
  guint w[4] = {3, 4, 7, 5};
  GPtrArray *cells = g_ptr_array_new_with_free_func(g_free);
  for (guint q = from; q < n; q++) {
    const KeySpec *k = &keys[q];
    g_ptr_array_add(cells, g_strdup(k->opt.name));
    g_ptr_array_add(cells, g_strdup(type_name(k->opt.type)));
    g_ptr_array_add(cells, k->opt.default_value ? (k->opt.default_value[0] ? g_strdup(k->opt.default_value)
                                                                             : g_strdup("\"\""))
                                                : g_strdup(k->flags & K_REQUIRED ? "(required)" : "-"));
    char *r = range_text(k);
    g_ptr_array_add(cells, r[0] ? r : (g_free(r), g_strdup("-")));
    g_ptr_array_add(cells, g_strdup(k->opt.doc ? k->opt.doc : ""));
  }
  guint rows = cells->len / 5;
  for (guint r = 0; r < rows; r++)
    for (guint c = 0; c < 4; c++) w[c] = MAX(w[c], (guint)g_utf8_strlen(g_ptr_array_index(cells, r * 5 + c), -1));
  if (!rows) {
    g_string_append(out, "  (no options)\n");
  } else {
    g_string_append_printf(out, "  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], head[0], w[1], head[1], w[2], head[2], w[3],
                           head[3], head[4]);
    for (guint r = 0; r < rows; r++) {
      char **c = (char **)&cells->pdata[r * 5];
      g_string_append_printf(out, "  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], c[0], w[1], c[1], w[2], c[2], w[3], c[3],
                             c[4]);
    }
  }
  g_ptr_array_unref(cells);
}

static void describe_plugin(GString *out, const char *kind, const char *name) {
  const MscOptionSpec *opts = NULL;
  uint32_t n = 0;
  const char *doc = NULL;
  plugin_schema(kind, name, &opts, &n, &doc);
  Section *tmp = section_new(name, NULL);
  section_add_plugin_keys(tmp, opts, n, doc);
  if (!strcmp(kind, "runner"))
    g_string_append_printf(out, "[runner] name = %s: %s (options go in [runner] too)\n", name,
                           doc && doc[0] ? doc : "runner");
  else
    g_string_append_printf(out, "[tool.%s]: %s\n", name, doc && doc[0] ? doc : "tool");
  describe_table(out, tmp->keys, tmp->n_keys, 0);
  section_free(tmp);
}

char *msc_config_describe(const char *name, GError **error) {
  g_return_val_if_fail(name != NULL, NULL);
  GString *out = g_string_new(NULL);
  const CoreSection *core = find_core(name);
  const MscOptionSpec *o;
  uint32_t n;
  const char *d;
  if (core) {
    g_string_append_printf(out, "[%s]: %s\n", core->name, core->doc);
    describe_table(out, core->keys, core->n_keys, 0);
    if (!strcmp(core->name, "runner"))
      g_string_append(out, "  plus the chosen runner's options (msc config --describe RUNNER)\n");
    return g_string_free(out, FALSE);
  }
  gboolean qual_r = g_str_has_prefix(name, "runner."), qual_t = g_str_has_prefix(name, "tool.");
  const char *bare = qual_r ? name + 7 : qual_t ? name + 5 : name;
  gboolean any = FALSE;
  if (!qual_t && plugin_schema("runner", bare, &o, &n, &d)) describe_plugin(out, "runner", bare), any = TRUE;
  if (!qual_r && plugin_schema("tool", bare, &o, &n, &d)) {
    if (any) g_string_append_c(out, '\n');
    describe_plugin(out, "tool", bare);
    any = TRUE;
  }
  if (any) return g_string_free(out, FALSE);
  g_string_free(out, TRUE);
  g_autofree char *runners = known_plugins("runner");
  g_autofree char *tools = known_plugins("tool");
  g_autofree char *core_list = g_strjoinv(", ", (char **)core_section_names);
  g_autofree char *t = show(name);
  msc_set_error(error, MSC_ERR_INVALID_ARG,
                "%s: not a section, runner or tool (sections: %s; runners: %s; tools: %s)", t, core_list, runners,
                tools);
  return NULL;
}
