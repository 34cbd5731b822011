/* dataset.c: golden dataset for the pipeline (see dataset.h). */
#include "dataset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataset-gen.h"
#include "error.h"
#include "tensor-io.h"
#include "tensor.h"

static void free_row(MscTensor **row, guint n) {
  if (!row) return;
  for (guint j = 0; j < n; j++) msc_tensor_free(row[j]);
  g_free(row);
}

void msc_dataset_free(MscDataset *ds) {
  if (!ds) return;
  for (guint k = 0; k < ds->n_samples; k++) {
    free_row(ds->inputs ? ds->inputs[k] : NULL, ds->n_inputs);
    free_row(ds->golden ? ds->golden[k] : NULL, ds->n_outputs);
  }
  g_free(ds->inputs);
  g_free(ds->golden);
  g_free(ds->labels);
  g_free(ds->hash);
  g_free(ds);
}

char *msc_tensors_hash(MscTensor *const *const *samples, guint n_samples, guint n_per_sample) {
  GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
  for (guint k = 0; k < n_samples; k++)
    for (guint j = 0; j < n_per_sample; j++) {
      const MscTensor *t = samples[k][j];
      int32_t head[2] = {t ? (int32_t)t->dtype : -1, t ? t->rank : -1};
      g_checksum_update(c, (const guchar *)head, sizeof head);
      if (!t) continue;
      g_checksum_update(c, (const guchar *)t->dims, sizeof(int64_t) * (size_t)t->rank);
      if (t->data && t->nbytes) g_checksum_update(c, t->data, t->nbytes);
    }
  char *hex = g_strdup(g_checksum_get_string(c));
  g_checksum_free(c);
  return hex;
}

void msc_dataset_set_golden(MscDataset *ds, guint k, MscTensor **outputs, guint n_outputs) {
  if (!ds->golden) {
    ds->golden = g_new0(MscTensor **, ds->n_samples);
    ds->n_outputs = n_outputs;
  }
  free_row(ds->golden[k], ds->n_outputs);
  ds->golden[k] = outputs;
}

/* An input tensor for @v (zeroed): dims from "NAME=DxD" in @shapes, else
 * the declared dim, else 1. */
static MscTensor *alloc_input(const MscValue *v, char **shapes, GError **error) {
  int64_t dims[MSC_MAX_RANK];
  int32_t rank = v->rank;
  const char *given = NULL;
  size_t nl = strlen(v->name);
  for (char **s = shapes; s && *s; s++)
    if (!strncmp(*s, v->name, nl) && (*s)[nl] == '=') given = *s + nl + 1;
  if (given) {
    g_auto(GStrv) parts = g_strsplit(given, "x", -1);
    rank = (int32_t)g_strv_length(parts);
    if (rank > MSC_MAX_RANK || (v->rank >= 0 && rank != v->rank)) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "[model] shapes: %s=%s has rank %d, the input has rank %d", v->name,
                    given, rank, v->rank);
      return NULL;
    }
    for (int32_t k = 0; k < rank; k++) {
      char *end = NULL;
      dims[k] = g_ascii_strtoll(parts[k], &end, 10);
      if (!end || *end || end == parts[k] || dims[k] < 0 ||
          (v->rank >= 0 && v->dims[k] >= 0 && v->dims[k] != dims[k])) {
        msc_set_error(error, MSC_ERR_INVALID_ARG, "[model] shapes: %s=%s: dim %d must be %" G_GINT64_FORMAT, v->name,
                      given, k, v->rank >= 0 && v->dims[k] >= 0 ? v->dims[k] : (gint64)1);
        return NULL;
      }
    }
  } else {
    if (rank < 0) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "input '%s' has no declared shape: give [model] shapes = %s=...",
                    v->name, v->name);
      return NULL;
    }
    for (int32_t k = 0; k < rank; k++) dims[k] = v->dims[k] >= 0 ? v->dims[k] : 1;
  }
  MscTensor *t = msc_tensor_new(v->dtype == MSC_DTYPE_UNDEFINED ? MSC_DTYPE_FLOAT32 : v->dtype, rank, dims, error);
  if (t) msc_tensor_set_name(t, v->name);
  return t;
}

static gint cmp_str(gconstpointer a, gconstpointer b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted numerically: test_data_set_2 before test_data_set_10. */
static gint cmp_set(gconstpointer a, gconstpointer b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  gint64 i = g_ascii_strtoll(x + strlen("test_data_set_"), NULL, 10);
  gint64 j = g_ascii_strtoll(y + strlen("test_data_set_"), NULL, 10);
  return i < j ? -1 : i > j ? 1 : strcmp(x, y);
}

/* The test_data_set_N folders of @dir, sorted. (transfer full) */
static GPtrArray *list_sets(const char *dir, GError **error) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d) {
    msc_set_error(error, MSC_ERR_IO, "%s: cannot open the dataset folder", dir);
    return NULL;
  }
  GPtrArray *sets = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(d)))
    if (g_str_has_prefix(name, "test_data_set_")) g_ptr_array_add(sets, g_strdup(name));
  g_dir_close(d);
  g_ptr_array_sort(sets, cmp_set);
  return sets;
}

/* input_J.pb or input_J.npy (prefix "input" or "output") of a set folder. */
static char *tensor_file(const char *set_dir, const char *prefix, guint j) {
  static const char *const exts[] = {"pb", "npy"};
  for (guint e = 0; e < G_N_ELEMENTS(exts); e++) {
    char base[64];
    g_snprintf(base, sizeof base, "%s_%u.%s", prefix, j, exts[e]);
    char *p = g_build_filename(set_dir, base, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_REGULAR)) return p;
    g_free(p);
  }
  return NULL;
}

static gboolean check_fits(const MscValue *v, const MscTensor *t, const char *file, GError **error) {
  gboolean ok = t->dtype == v->dtype && (v->rank < 0 || t->rank == v->rank);
  for (int32_t k = 0; ok && v->rank >= 0 && k < v->rank; k++)
    if (v->dims[k] >= 0 && v->dims[k] != t->dims[k]) ok = FALSE;
  if (!ok) {
    char a[160], b[160];
    msc_set_error(error, MSC_ERR_INVALID_ARG, "%s: does not fit input '%s' (%s %s, the model wants %s %s)", file,
                  v->name, msc_dtype_name(t->dtype), msc_shape_format(t->rank, t->dims, a, sizeof a),
                  msc_dtype_name(v->dtype), msc_shape_format(v->rank, v->dims, b, sizeof b));
  }
  return ok;
}

static gboolean read_labels(MscDataset *ds, const char *path, GError **error) {
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(GError) e = NULL;
  if (!g_file_get_contents(path, &text, &len, &e)) {
    msc_set_error(error, MSC_ERR_IO, "%s: %s", path, e->message);
    return FALSE;
  }
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  ds->labels = g_new0(gint64, ds->n_samples);
  guint n = 0, line = 0;
  for (char **l = lines; *l && n < ds->n_samples; l++) {
    line++;
    char *s = g_strstrip(*l);
    if (!*s || *s == '#') continue;
    char *end = NULL;
    errno = 0;
    gint64 v = g_ascii_strtoll(s, &end, 10);
    if (errno || !end || *end || v < 0) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "%s:%u: not a class id (a non-negative integer): '%s'", path, line, s);
      return FALSE;
    }
    ds->labels[n++] = v;
  }
  if (n < ds->n_samples) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "%s: %u labels for %u samples", path, n, ds->n_samples);
    return FALSE;
  }
  return TRUE;
}

/* Files of @dir whose names end in one of @exts, sorted by name. */
static GPtrArray *list_files(const char *dir, const char *const *exts, GError **error) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d) {
    msc_set_error(error, MSC_ERR_IO, "%s: cannot open the dataset folder", dir);
    return NULL;
  }
  GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(d))) {
    g_autofree char *lower = g_ascii_strdown(name, -1);
    for (const char *const *e = exts; *e; e++)
      if (g_str_has_suffix(lower, *e)) {
        char *p = g_build_filename(dir, name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_REGULAR)) g_ptr_array_add(files, p);
        else g_free(p);
        break;
      }
  }
  g_dir_close(d);
  g_ptr_array_sort(files, cmp_str);
  return files;
}

static gboolean load_sets(MscDataset *ds, const MscDatasetSpec *spec, const MscGraph *g, guint n, GError **error) {
  g_autoptr(GPtrArray) sets = list_sets(spec->path, error);
  if (!sets) return FALSE;
  gboolean flat = sets->len == 0;
  static const char *const tensor_exts[] = {".pb", ".npy", NULL};
  g_autoptr(GPtrArray) files = flat ? list_files(spec->path, tensor_exts, error) : NULL;
  if (flat && !files) return FALSE;
  if (flat && (files->len == 0 || g->n_inputs != 1)) {
    msc_set_error(error, MSC_ERR_INVALID_ARG,
                  files->len ? "%s: flat tensor files need a one-input model (this one has %u inputs): use "
                               "test_data_set_N/input_J.pb folders"
                             : "%s: no test_data_set_N folder and no .pb/.npy file",
                  spec->path, g->n_inputs);
    return FALSE;
  }
  guint have = flat ? files->len : sets->len;
  if (spec->skip >= have) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "%s: %u samples, none left after skipping %u", spec->path, have,
                  spec->skip);
    return FALSE;
  }
  n = MIN(n, have - spec->skip);
  size_t bytes = 0;
  for (guint k = 0; k < n && bytes <= MSC_DATASET_MAX_BYTES; k++) {
    g_autofree char *set_dir = flat ? NULL : g_build_filename(spec->path, (char *)sets->pdata[spec->skip + k], NULL);
    ds->inputs[k] = g_new0(MscTensor *, MAX(g->n_inputs, 1));
    ds->n_samples = k + 1;
    for (guint j = 0; j < g->n_inputs; j++) {
      g_autofree char *f = flat ? g_strdup(files->pdata[spec->skip + k]) : tensor_file(set_dir, "input", j);
      if (!f) {
        msc_set_error(error, MSC_ERR_IO, "%s: no input_%u.pb or input_%u.npy (the model has %u inputs)", set_dir, j, j,
                      g->n_inputs);
        return FALSE;
      }
      MscTensor *t = msc_tensor_load_file(f, error);
      if (!t) return FALSE;
      ds->inputs[k][j] = t;
      if (!check_fits(g->inputs[j], t, f, error)) return FALSE;
      bytes += t->nbytes;
    }
  }
  return TRUE;
}

static int layout_of(const char *s) {
  return !g_strcmp0(s, "nhwc") ? MSC_LAYOUT_NHWC : !g_strcmp0(s, "nchw") ? MSC_LAYOUT_NCHW : MSC_LAYOUT_AUTO;
}

/* Generated (random, glyphs) or image samples. */
static gboolean make_samples(MscDataset *ds, const MscDatasetSpec *spec, const char *source, const MscGraph *g, guint n,
                             GError **error) {
  gboolean images = !strcmp(source, "images");
  g_autoptr(GPtrArray) files = NULL;
  if (images) {
    static const char *const image_exts[] = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", NULL};
    files = list_files(spec->path, image_exts, error);
    if (!files) return FALSE;
    if (g->n_inputs != 1) {
      msc_set_error(error, MSC_ERR_INVALID_ARG, "%s: images need a one-input model (this one has %u inputs)",
                    spec->path, g->n_inputs);
      return FALSE;
    }
  }
  int layout = !strcmp(source, "glyphs-nhwc") ? MSC_LAYOUT_NHWC : layout_of(spec->layout);
  size_t bytes = 0;
  guint next_image = 0;
  for (guint k = 0; k < n && bytes <= MSC_DATASET_MAX_BYTES; k++) {
    ds->inputs[k] = g_new0(MscTensor *, MAX(g->n_inputs, 1));
    ds->n_samples = k + 1;
    for (guint j = 0; j < g->n_inputs; j++) {
      MscTensor *t = alloc_input(g->inputs[j], spec->shapes, error);
      if (!t) return FALSE;
      ds->inputs[k][j] = t;
      bytes += t->nbytes;
    }
    guint32 seed = spec->seed + spec->skip + k;
    if (images) {
      MscTensor *t = ds->inputs[k][0];
      guint batch = t->rank == 4 ? (guint)MAX(t->dims[0], 1) : 1;
      if (k == 0) next_image = spec->skip * batch;
      if (next_image + batch > files->len) {
        ds->n_samples = k; /* fewer images than samples asked for */
        msc_tensor_free(t);
        g_free(ds->inputs[k]);
        ds->inputs[k] = NULL;
        if (k == 0) {
          msc_set_error(error, MSC_ERR_INVALID_ARG, "%s: %u images, none left after skipping %u samples", spec->path,
                        files->len, spec->skip);
          return FALSE;
        }
        break;
      }
      if (!msc_fill_images(t, (const char *const *)files->pdata + next_image, batch, spec->mean, spec->std,
                           spec->n_norm, layout, error))
        return FALSE;
      next_image += batch;
    } else if (g_str_has_prefix(source, "glyphs")) {
      if (!msc_fill_glyphs(ds->inputs[k], g->n_inputs, seed, layout, error)) return FALSE;
    } else {
      /* inputs of one sample differ by j */
      for (guint j = 0; j < g->n_inputs; j++) msc_tensor_fill_random(ds->inputs[k][j], seed + 7919u * j);
    }
  }
  return TRUE;
}

/* auto: glyphs when an input is a 4-D float image, else random. */
static const char *auto_source(const MscGraph *g) {
  for (guint j = 0; j < g->n_inputs; j++)
    if (g->inputs[j]->dtype == MSC_DTYPE_FLOAT32 && g->inputs[j]->rank == 4) return "glyphs";
  return "random";
}

MscDataset *msc_dataset_new(const MscDatasetSpec *spec, const MscGraph *g, GError **error) {
  const char *source = spec->source && g_strcmp0(spec->source, "auto") ? spec->source : auto_source(g);
  static const char *const known[] = {"random", "glyphs", "glyphs-nhwc", "files", "images"};
  gboolean ok = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS(known); i++) ok |= !strcmp(source, known[i]);
  if (!ok) {
    msc_set_error(error, MSC_ERR_INVALID_ARG,
                  "dataset source '%s': unknown (random, glyphs, glyphs-nhwc, files, images, auto)", source);
    return NULL;
  }
  if ((!strcmp(source, "files") || !strcmp(source, "images")) && !spec->path) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "dataset source '%s' needs a folder", source);
    return NULL;
  }
  g_autoptr(MscDataset) ds = g_new0(MscDataset, 1);
  ds->n_inputs = g->n_inputs;
  guint n = MIN(spec->samples, MSC_DATASET_MAX_SAMPLES);
  ds->inputs = g_new0(MscTensor **, MAX(n, 1));
  if (!strcmp(source, "files") ? !load_sets(ds, spec, g, n, error) : !make_samples(ds, spec, source, g, n, error))
    return NULL;
  ds->truncated = ds->n_samples < spec->samples;
  ds->hash = msc_tensors_hash((MscTensor *const *const *)ds->inputs, ds->n_samples, ds->n_inputs);
  return g_steal_pointer(&ds);
}

/* "0.5,0.5,0.5" into @out (at most 4); the config validated the text. */
static guint parse_floats(const char *s, double *out) {
  if (!s || !*s) return 0;
  g_auto(GStrv) parts = g_strsplit(s, ",", 4);
  guint n = 0;
  for (char **p = parts; *p && n < 4; p++) out[n++] = g_ascii_strtod(*p, NULL);
  return n;
}

MscDataset *msc_dataset_from_config(const MscConfig *cfg, const MscGraph *g, GError **error) {
  return msc_dataset_from_config_range(cfg, g, 0, 0, error);
}

MscDataset *msc_dataset_from_config_range(const MscConfig *cfg, const MscGraph *g, guint skip, guint samples,
                                          GError **error) {
  g_autofree char *dir = msc_config_get_path(cfg, "dataset", "path");
  g_auto(GStrv) shapes = msc_config_dup_shapes(cfg);
  gint64 want = msc_config_get_int(cfg, "dataset", "samples");
  double mean[4], std[4];
  guint nm = parse_floats(msc_config_get_string(cfg, "dataset", "mean"), mean);
  guint ns = parse_floats(msc_config_get_string(cfg, "dataset", "std"), std);
  /* the last value repeats over the remaining channels */
  for (guint c = MAX(nm, 1); c < 4; c++) mean[c] = nm ? mean[nm - 1] : 0.5;
  for (guint c = MAX(ns, 1); c < 4; c++) std[c] = ns ? std[ns - 1] : 0.5;
  if (!nm) mean[0] = 0.5;
  if (!ns) std[0] = 0.5;
  MscDatasetSpec spec = {
      .source = msc_config_get_string(cfg, "dataset", "source"),
      .path = dir,
      .samples = samples ? samples : (guint)MIN(want, (gint64)G_MAXUINT),
      .skip = skip,
      .seed = (guint32)msc_config_get_int(cfg, "dataset", "seed"),
      .shapes = shapes,
      .mean = mean,
      .std = std,
      .n_norm = 4,
      .layout = msc_config_get_string(cfg, "dataset", "layout"),
  };
  g_autoptr(MscDataset) ds = msc_dataset_new(&spec, g, error);
  if (!ds) return NULL;
  g_autofree char *labels = msc_config_get_path(cfg, "dataset", "labels");
  if (labels && skip == 0 && !read_labels(ds, labels, error)) return NULL;
  return g_steal_pointer(&ds);
}

gboolean msc_dataset_save_dir(const MscDataset *ds, const char *dir, GError **error) {
  for (guint k = 0; k < ds->n_samples; k++) {
    char name[64];
    g_snprintf(name, sizeof name, "test_data_set_%u", k);
    g_autofree char *set_dir = g_build_filename(dir, name, NULL);
    if (g_mkdir_with_parents(set_dir, 0755) != 0) {
      msc_set_error(error, MSC_ERR_IO, "%s: cannot create folder: %s", set_dir, g_strerror(errno));
      return FALSE;
    }
    for (guint j = 0; j < ds->n_inputs; j++) {
      g_snprintf(name, sizeof name, "input_%u.pb", j);
      g_autofree char *p = g_build_filename(set_dir, name, NULL);
      if (!msc_tensor_save_pb(ds->inputs[k][j], p, error)) return FALSE;
    }
    for (guint j = 0; ds->golden && j < ds->n_outputs; j++) {
      g_snprintf(name, sizeof name, "output_%u.pb", j);
      g_autofree char *p = g_build_filename(set_dir, name, NULL);
      if (!msc_tensor_save_pb(ds->golden[k][j], p, error)) return FALSE;
    }
  }
  if (ds->labels) {
    GString *s = g_string_new(NULL);
    for (guint k = 0; k < ds->n_samples; k++) g_string_append_printf(s, "%" G_GINT64_FORMAT "\n", ds->labels[k]);
    g_autofree char *p = g_build_filename(dir, "labels.txt", NULL);
    gboolean ok = msc_file_write_atomic(p, (const uint8_t *)s->str, s->len, error);
    g_string_free(s, TRUE);
    if (!ok) return FALSE;
  }
  return TRUE;
}

MscDataset *msc_dataset_load_dir(const char *dir, GError **error) {
  g_autoptr(GPtrArray) sets = list_sets(dir, error);
  if (!sets) return NULL;
  if (sets->len == 0) {
    msc_set_error(error, MSC_ERR_IO, "%s: no test_data_set_N folder", dir);
    return NULL;
  }
  g_autoptr(MscDataset) ds = g_new0(MscDataset, 1);
  guint n = MIN(sets->len, MSC_DATASET_MAX_SAMPLES);
  ds->inputs = g_new0(MscTensor **, n);
  ds->golden = g_new0(MscTensor **, n);
  for (guint k = 0; k < n; k++) {
    g_autofree char *set_dir = g_build_filename(dir, (char *)sets->pdata[k], NULL);
    guint ni = 0, no = 0;
    while (TRUE) {
      g_autofree char *f = tensor_file(set_dir, "input", ni);
      if (!f) break;
      ni++;
    }
    while (TRUE) {
      g_autofree char *f = tensor_file(set_dir, "output", no);
      if (!f) break;
      no++;
    }
    if (k == 0) {
      ds->n_inputs = ni;
      ds->n_outputs = no;
    } else if (ni != ds->n_inputs || no != ds->n_outputs) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: %u inputs and %u outputs, the first set has %u and %u", set_dir, ni,
                    no, ds->n_inputs, ds->n_outputs);
      return NULL;
    }
    ds->inputs[k] = g_new0(MscTensor *, MAX(ni, 1));
    ds->golden[k] = g_new0(MscTensor *, MAX(no, 1));
    ds->n_samples = k + 1;
    for (guint j = 0; j < ni + no; j++) {
      gboolean in = j < ni;
      g_autofree char *f = tensor_file(set_dir, in ? "input" : "output", in ? j : j - ni);
      MscTensor *t = msc_tensor_load_file(f, error);
      if (!t) return NULL;
      if (in) ds->inputs[k][j] = t;
      else ds->golden[k][j - ni] = t;
    }
  }
  g_autofree char *labels = g_build_filename(dir, "labels.txt", NULL);
  if (g_file_test(labels, G_FILE_TEST_IS_REGULAR) && !read_labels(ds, labels, error)) return NULL;
  ds->hash = msc_tensors_hash((MscTensor *const *const *)ds->inputs, ds->n_samples, ds->n_inputs);
  return g_steal_pointer(&ds);
}
