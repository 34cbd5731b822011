/* test-archive.c: .tar.gz exports (runtime/export-archive.c) and their
 * use by the pipeline: round trip of a folder, hostile archives refused
 * with one-line errors and nothing left behind (archives built here byte
 * by byte as ustar + gzip, independent of libarchive), the pipeline
 * writing `[export] dir = out.tar.gz` atomically, re-using its plans, and
 * `msc run --from out.tar.gz`. Skips when libmsc is built without
 * libarchive. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "msc-config.h"

#if defined(MSC_HAVE_LIBARCHIVE) && MSC_HAVE_LIBARCHIVE
#define HAVE_ARCHIVES 1
#include "config.h"
#include "error.h"
#include "export-archive.h"
#include "msc-limits.h"
#include "msc.h"
#include "pipeline.h"
#include "registry.h"
#else
#define HAVE_ARCHIVES 0
#endif

static char *tmp_dir;  /* scratch files of the tests */
static char *priv_tmp; /* TMPDIR of this process: extraction folders land here */

#if HAVE_ARCHIVES

/* ---- helpers ---- */

static char *path_in(const char *name) {
  return g_build_filename(tmp_dir, name, NULL);
}

static void write_file(const char *path, const void *data, gsize len) {
  g_autofree char *dir = g_path_get_dirname(path);
  g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
  g_assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
}

static GBytes *read_bytes(const char *path) {
  char *d = NULL;
  gsize n = 0;
  if (!g_file_get_contents(path, &d, &n, NULL)) return NULL;
  return g_bytes_new_take(d, n);
}

/* Folders named PREFIX* in the private TMPDIR (left-over temp folders). */
static guint count_tmp(const char *prefix) {
  GDir *d = g_dir_open(priv_tmp, 0, NULL);
  g_assert_nonnull(d);
  guint n = 0;
  const char *nm;
  while ((nm = g_dir_read_name(d)))
    if (g_str_has_prefix(nm, prefix)) n++;
  g_dir_close(d);
  return n;
}

/* Files in @dir whose name holds ".tmp" (a half-written archive). */
static guint count_temp_files(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  guint n = 0;
  const char *nm;
  while ((nm = g_dir_read_name(d)))
    if (strstr(nm, ".tmp")) n++;
  g_dir_close(d);
  return n;
}

/* ---- a ustar writer, independent of libarchive ---- */

static void octal(char *field, gsize width, guint64 v) {
  g_autofree char *s = g_strdup_printf("%0*" G_GINT64_MODIFIER "o", (int)width - 1, v);
  memcpy(field, s, width - 1);
  field[width - 1] = 0;
}

/* Appends one header block (and @size bytes of @data, padded) to @tar. */
static void tar_entry(GByteArray *tar, const char *name, char type, guint64 size, const void *data, gsize data_len,
                      const char *link) {
  char h[512];
  memset(h, 0, sizeof h);
  g_assert_cmpuint(strlen(name), <, 100);
  memcpy(h, name, strlen(name));
  octal(h + 100, 8, type == '5' ? 0755 : 0644);
  octal(h + 108, 8, 0);
  octal(h + 116, 8, 0);
  octal(h + 124, 12, size);
  octal(h + 136, 12, 1700000000);
  h[156] = type;
  if (link) memcpy(h + 157, link, strlen(link));
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memset(h + 148, ' ', 8);
  guint sum = 0;
  for (int i = 0; i < 512; i++) sum += (unsigned char)h[i];
  g_snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  g_byte_array_append(tar, (const guint8 *)h, 512);
  if (data_len) {
    g_byte_array_append(tar, data, (guint)data_len);
    static const guint8 zeros[512];
    if (data_len % 512) g_byte_array_append(tar, zeros, (guint)(512 - data_len % 512));
  }
}

static void tar_file(GByteArray *tar, const char *name, const char *text) {
  tar_entry(tar, name, '0', strlen(text), text, strlen(text), NULL);
}

/* A pax extended header ('x') whose path record overrides the next name. */
static void tar_pax_path(GByteArray *tar, const char *path) {
  g_autofree char *rec = NULL;
  gsize len = strlen(" path=\n") + strlen(path);
  gsize total = len + 2; /* two-digit length prefix */
  rec = g_strdup_printf("%zu path=%s\n", total, path);
  g_assert_cmpuint(strlen(rec), ==, total);
  tar_entry(tar, "PaxHeader/x", 'x', total, rec, total, NULL);
}

static void tar_end(GByteArray *tar) {
  static const guint8 zeros[1024];
  g_byte_array_append(tar, zeros, sizeof zeros);
}

static GBytes *gzip(const guint8 *data, gsize len) {
  g_autoptr(GZlibCompressor) z = g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable();
  g_autoptr(GOutputStream) conv = g_converter_output_stream_new(mem, G_CONVERTER(z));
  gsize written = 0;
  g_assert_true(g_output_stream_write_all(conv, data, len, &written, NULL, NULL));
  g_assert_true(g_output_stream_close(conv, NULL, NULL));
  return g_memory_output_stream_steal_as_bytes(G_MEMORY_OUTPUT_STREAM(mem));
}

/* Writes @tar gzip'ed to NAME in tmp_dir; returns the path. */
static char *save_tgz(const char *name, GByteArray *tar) {
  g_autoptr(GBytes) gz = gzip(tar->data, tar->len);
  char *p = path_in(name);
  gsize n = 0;
  const void *d = g_bytes_get_data(gz, &n);
  write_file(p, d, n);
  return p;
}

/* ---- tests ---- */

static void test_name(void) {
  g_test_summary("archive names: .tar.gz and .tgz (any case) are archives; folders and other names are not");
  g_assert_true(msc_export_archive_name("out.tar.gz"));
  g_assert_true(msc_export_archive_name("/a/b/OUT.TAR.GZ"));
  g_assert_true(msc_export_archive_name("x.tgz"));
  g_assert_false(msc_export_archive_name("msc-out"));
  g_assert_false(msc_export_archive_name(".tar.gz"));
  g_assert_false(msc_export_archive_name("out.tar"));
  g_assert_false(msc_export_archive_name("out.gz"));
  g_assert_false(msc_export_archive_name(NULL));
}

static void test_round_trip(void) {
  g_test_summary("a folder packed and extracted comes back byte for byte under one top folder; the write is "
                 "atomic (no temp file left, a failed write keeps the old archive); symlinks are not packed");
  g_autofree char *src = path_in("rt-src");
  GRand *r = g_rand_new_with_seed(7);
  gsize big_len = 300 * 1024 + 17; /* several read chunks, not a multiple of 512 */
  guint8 *big = g_malloc(big_len);
  for (gsize i = 0; i < big_len; i++) big[i] = (guint8)g_rand_int(r);
  g_rand_free(r);
  const char *names[] = {"model.onnx", "config.ini", "plans/p.json", "golden/test_data_set_0/input_0.pb", "empty"};
  const char *texts[] = {NULL, "[model]\npath = x\n", "{}\n", "\x08\x01\x10\x02", ""};
  for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
    g_autofree char *p = g_build_filename(src, names[i], NULL);
    if (texts[i]) write_file(p, texts[i], strlen(texts[i]));
    else write_file(p, big, big_len);
  }
  g_autofree char *empty_dir = g_build_filename(src, "plans", "none", NULL);
  g_assert_cmpint(g_mkdir_with_parents(empty_dir, 0755), ==, 0);

  g_autofree char *arc = path_in("rt.tar.gz");
  g_autoptr(GError) e = NULL;
  g_assert_true(msc_export_archive_write(src, arc, &e));
  g_assert_no_error(e);
  g_assert_cmpuint(count_temp_files(tmp_dir), ==, 0);

  g_autofree char *x = msc_export_archive_extract(arc, &e);
  g_assert_no_error(e);
  g_assert_nonnull(x);
  g_assert_true(g_str_has_prefix(x, priv_tmp));
  GStatBuf st;
  g_assert_cmpint(g_stat(x, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 0777, ==, 0700);
  g_autofree char *root = msc_export_archive_root(x);
  g_autofree char *want_root = g_build_filename(x, "rt", NULL);
  g_assert_cmpstr(root, ==, want_root);
  for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
    g_autofree char *p = g_build_filename(root, names[i], NULL);
    g_autoptr(GBytes) got = read_bytes(p);
    g_assert_nonnull(got);
    gsize n = 0;
    const void *d = g_bytes_get_data(got, &n);
    if (texts[i]) g_assert_cmpmem(d, n, texts[i], strlen(texts[i]));
    else g_assert_cmpmem(d, n, big, big_len);
  }
  g_autofree char *empty_x = g_build_filename(root, "plans", "none", NULL);
  g_assert_true(g_file_test(empty_x, G_FILE_TEST_IS_DIR));
  msc_export_dir_remove(x);
  g_assert_false(g_file_test(x, G_FILE_TEST_EXISTS));

  /* an independent reader agrees on the listing (when tar is installed) */
  g_autofree char *tar = g_find_program_in_path("tar");
  if (tar) {
    g_autofree char *out = NULL;
    int status = 0;
    const char *argv[] = {tar, "-tzf", arc, NULL};
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, NULL));
    g_assert_cmpint(status, ==, 0);
    g_assert_nonnull(strstr(out, "rt/model.onnx\n"));
    g_assert_nonnull(strstr(out, "rt/golden/test_data_set_0/input_0.pb\n"));
  }

  /* a failed write (source folder gone) keeps the old archive as it was */
  g_autoptr(GBytes) before = read_bytes(arc);
  g_autofree char *missing = path_in("rt-missing");
  g_assert_false(msc_export_archive_write(missing, arc, &e));
  g_assert_error(e, MSC_ERROR, MSC_ERR_IO);
  g_assert_null(strchr(e->message, '\n'));
  g_clear_error(&e);
  g_autoptr(GBytes) after = read_bytes(arc);
  g_assert_true(g_bytes_equal(before, after));
  g_assert_cmpuint(count_temp_files(tmp_dir), ==, 0);

  /* a symlink in the folder is an error, not packed (and nothing half-written) */
  g_autofree char *link = g_build_filename(src, "link", NULL);
  g_assert_cmpint(symlink("/etc/passwd", link), ==, 0);
  g_assert_false(msc_export_archive_write(src, arc, &e));
  g_assert_error(e, MSC_ERROR, MSC_ERR_IO);
  g_assert_nonnull(strstr(e->message, "not a regular file or folder"));
  g_clear_error(&e);
  g_autoptr(GBytes) after2 = read_bytes(arc);
  g_assert_true(g_bytes_equal(before, after2));
  g_assert_cmpuint(count_temp_files(tmp_dir), ==, 0);
  g_free(big);
}

typedef struct {
  const char *what;
  const char *expect; /* substring of the error */
  MscStatus code;
} Hostile;

/* Extracting @arc fails with @h's code and message, on one line, and
 * leaves no extraction folder behind. */
static void expect_refused(const char *arc, const Hostile *h) {
  g_autoptr(GError) e = NULL;
  guint before = count_tmp("msc-import-");
  char *x = msc_export_archive_extract(arc, &e);
  if (x) g_error("%s: extracted to %s instead of being refused", h->what, x);
  g_assert_nonnull(e);
  if (!g_error_matches(e, MSC_ERROR, h->code) || !strstr(e->message, h->expect))
    g_error("%s: got '%s' (code %d), want '%s' (code %d)", h->what, e->message, e->code, h->expect, h->code);
  g_assert_null(strchr(e->message, '\n'));
  g_assert_nonnull(strstr(e->message, arc));
  g_assert_cmpuint(count_tmp("msc-import-"), ==, before);
}

static void test_hostile(void) {
  g_test_summary("hostile archives are refused with one-line errors naming archive and entry: absolute paths, "
                 "'..' (also through a pax path record), symlinks, hard links, devices, FIFOs, duplicates, deep "
                 "nesting, control characters, sizes over the limits, truncated and non-tar data");
  static const struct {
    const char *name;
    char type;
    const char *link;
    Hostile h;
  } one[] = {
      {"/tmp/msc-evil", '0', NULL, {"absolute path", "entry '/tmp/msc-evil': absolute path: refused", MSC_ERR_CORRUPT}},
      {"../evil", '0', NULL, {"dot-dot", "entry '../evil': '..' component: refused", MSC_ERR_CORRUPT}},
      {"top/a/../../../evil", '0', NULL, {"inner dot-dot", "'..' component: refused", MSC_ERR_CORRUPT}},
      {"top/link", '2', "/etc/passwd", {"symlink", "entry 'top/link': symlink: refused", MSC_ERR_CORRUPT}},
      {"top/link2", '2', "../../x", {"relative symlink", "symlink: refused", MSC_ERR_CORRUPT}},
      {"top/hard", '1', "/etc/passwd", {"hard link", "entry 'top/hard': hard link: refused", MSC_ERR_CORRUPT}},
      {"top/chr", '3', NULL, {"char device", "character device: refused", MSC_ERR_CORRUPT}},
      {"top/blk", '4', NULL, {"block device", "block device: refused", MSC_ERR_CORRUPT}},
      {"top/fifo", '6', NULL, {"fifo", "FIFO: refused", MSC_ERR_CORRUPT}},
      {"top/a\tb", '0', NULL, {"control character", "control character in the name: refused", MSC_ERR_CORRUPT}},
      {"top\\..\\evil", '0', NULL, {"backslash", "backslash in the name: refused", MSC_ERR_CORRUPT}},
  };
  for (guint i = 0; i < G_N_ELEMENTS(one); i++) {
    GByteArray *t = g_byte_array_new();
    tar_entry(t, "top/", '5', 0, NULL, 0, NULL);
    tar_file(t, "top/config.ini", "[model]\n");
    if (one[i].type == '0') tar_file(t, one[i].name, "x");
    else tar_entry(t, one[i].name, one[i].type, 0, NULL, 0, one[i].link);
    tar_end(t);
    g_autofree char *arc = save_tgz("hostile.tar.gz", t);
    expect_refused(arc, &one[i].h);
    g_byte_array_unref(t);
  }
  /* nothing escaped next to the archive or into / tmp */
  g_autofree char *evil = path_in("evil");
  g_assert_false(g_file_test(evil, G_FILE_TEST_EXISTS));
  g_assert_false(g_file_test("/tmp/msc-evil", G_FILE_TEST_EXISTS));

  /* a pax header overriding a harmless ustar name with "../evil" */
  GByteArray *t = g_byte_array_new();
  tar_pax_path(t, "../evil");
  tar_file(t, "harmless", "x");
  tar_end(t);
  g_autofree char *arc = save_tgz("pax.tar.gz", t);
  expect_refused(arc, &(Hostile){"pax path", "entry '../evil': '..' component: refused", MSC_ERR_CORRUPT});
  g_byte_array_unref(t);

  /* duplicate names, and a file where a folder should be */
  t = g_byte_array_new();
  tar_file(t, "top/a", "1");
  tar_file(t, "./top/a", "2");
  tar_end(t);
  g_free(arc);
  arc = save_tgz("dup.tar.gz", t);
  expect_refused(arc, &(Hostile){"duplicate", "entry './top/a': duplicate entry: refused", MSC_ERR_CORRUPT});
  g_byte_array_unref(t);
  t = g_byte_array_new();
  tar_file(t, "top/a", "1");
  tar_file(t, "top/a/b", "2");
  tar_end(t);
  g_free(arc);
  arc = save_tgz("clash.tar.gz", t);
  expect_refused(arc, &(Hostile){"file in the way", "a file is in the way of a folder: refused", MSC_ERR_CORRUPT});
  g_byte_array_unref(t);

  /* 17 nested folders */
  GString *deep = g_string_new("d");
  for (int i = 0; i < MSC_ARCHIVE_MAX_DEPTH; i++) g_string_append(deep, "/d");
  t = g_byte_array_new();
  tar_file(t, deep->str, "x");
  tar_end(t);
  g_free(arc);
  arc = save_tgz("deep.tar.gz", t);
  expect_refused(arc, &(Hostile){"deep", "nested deeper than 16 folders: refused", MSC_ERR_CORRUPT});
  g_byte_array_unref(t);
  g_string_free(deep, TRUE);

  /* sizes: one entry above model_bytes; entries together above model + total bytes */
  MscLimits saved = msc_limits_get(), small = saved;
  small.model_bytes = 4096;
  small.total_bytes = 4096;
  g_assert_true(msc_limits_set(&small));
  g_autofree char *blob = g_malloc0(5000);
  t = g_byte_array_new();
  tar_entry(t, "top/model.onnx", '0', 5000, blob, 5000, NULL);
  tar_end(t);
  g_free(arc);
  arc = save_tgz("big.tar.gz", t);
  expect_refused(arc, &(Hostile){"file over the limit", "entry 'top/model.onnx': 5000 bytes exceeds the 4 KiB file limit",
                                 MSC_ERR_CORRUPT});
  g_byte_array_unref(t);
  t = g_byte_array_new();
  for (int i = 0; i < 3; i++) {
    g_autofree char *nm = g_strdup_printf("top/f%d", i);
    tar_entry(t, nm, '0', 3000, blob, 3000, NULL);
  }
  tar_end(t);
  g_free(arc);
  arc = save_tgz("total.tar.gz", t);
  expect_refused(arc, &(Hostile){"total over the limit", "entry 'top/f2': the entries exceed the 8 KiB total limit",
                                 MSC_ERR_CORRUPT});
  g_byte_array_unref(t);
  /* a header declaring 8 GiB with no data behind it: refused by size, before any read */
  t = g_byte_array_new();
  tar_entry(t, "top/huge", '0', ((guint64)1 << 33) - 1, NULL, 0, NULL);
  tar_end(t);
  g_free(arc);
  arc = save_tgz("huge.tar.gz", t);
  expect_refused(arc, &(Hostile){"declared 8 GiB", "exceeds the 4 KiB file limit", MSC_ERR_CORRUPT});
  g_byte_array_unref(t);
  g_assert_true(msc_limits_set(&saved));

  /* data shorter than the header says */
  t = g_byte_array_new();
  tar_entry(t, "top/short", '0', 4000, blob, 1000, NULL);
  g_free(arc);
  arc = save_tgz("short.tar.gz", t);
  expect_refused(arc, &(Hostile){"short data", "entry 'top/short'", MSC_ERR_CORRUPT});
  g_byte_array_unref(t);

  /* not a tar at all; a gzip cut in half; an empty archive */
  g_free(arc);
  arc = path_in("junk.tar.gz");
  write_file(arc, "this is not an archive at all, just some text that is long enough\n", 66);
  expect_refused(arc, &(Hostile){"junk", "not a tar archive", MSC_ERR_CORRUPT});
  t = g_byte_array_new();
  for (int i = 0; i < 8; i++) {
    g_autofree char *nm = g_strdup_printf("top/f%d", i);
    tar_entry(t, nm, '0', 3000, blob, 3000, NULL);
  }
  tar_end(t);
  g_autoptr(GBytes) gz = gzip(t->data, t->len);
  gsize gzn = 0;
  const guint8 *gzd = g_bytes_get_data(gz, &gzn);
  g_free(arc);
  arc = path_in("cut.tar.gz");
  write_file(arc, gzd, gzn / 2);
  expect_refused(arc, &(Hostile){"truncated gzip", "cut.tar.gz", MSC_ERR_CORRUPT});
  g_byte_array_unref(t);
  t = g_byte_array_new();
  tar_end(t);
  g_free(arc);
  arc = save_tgz("empty.tar.gz", t);
  expect_refused(arc, &(Hostile){"empty", "empty archive", MSC_ERR_CORRUPT});
  g_byte_array_unref(t);
  g_assert_cmpuint(count_tmp("msc-import-"), ==, 0);
}

/* ---- the pipeline ---- */

static gboolean have_profiler(void) {
  return msc_registry_get("msc.tool.profiler", MSC_REG_TOOL, TRUE, NULL) != NULL;
}

static JsonNode *run_ini(const char *text, gboolean expect_ok) {
  g_autofree char *ini = path_in("arc.ini");
  write_file(ini, text, strlen(text));
  g_autoptr(GError) e = NULL;
  g_autoptr(MscConfig) cfg = msc_config_load_file(ini, &e);
  g_assert_no_error(e);
  JsonNode *rep = NULL;
  gboolean ok = msc_pipeline_run(cfg, NULL, &rep, &e);
  if (ok != expect_ok) g_error("pipeline: want %s, got %s", expect_ok ? "success" : "failure", e ? e->message : "success");
  g_assert_nonnull(rep);
  return rep;
}

static const char *plan_status(JsonNode *rep, const char *tool, const char **file) {
  JsonArray *a = json_object_get_array_member(json_node_get_object(rep), "plans");
  for (guint i = 0; i < json_array_get_length(a); i++) {
    JsonObject *p = json_array_get_object_element(a, i);
    if (!g_strcmp0(json_object_get_string_member(p, "tool"), tool)) {
      if (file) *file = json_object_get_string_member(p, "file");
      return json_object_get_string_member(p, "status");
    }
  }
  return NULL;
}

#define ARC_INI                                                                      \
  "[model]\npath = zoo:resnet_mini\nshapes = input=1x3x64x64\n"                      \
  "[dataset]\nsamples = 2\nseed = 5\n[benchmark]\nwarmup = 0\nrepeat = 2\n"          \
  "[tool.profiler]\ntop = 3\n"

static void test_pipeline(void) {
  g_test_summary("[export] dir = out.tar.gz: the archive holds model, plans, config, report and golden data; "
                 "the second run re-uses its plans; msc run --from the archive re-checks it; temp folders go away");
  if (!have_profiler()) {
    g_test_skip("profiler plugin not built");
    return;
  }
  g_autoptr(JsonNode) r1 = run_ini(ARC_INI "[export]\ndir = out.tar.gz\n", TRUE);
  g_autofree char *arc = path_in("out.tar.gz");
  g_assert_true(g_file_test(arc, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr(json_object_get_string_member(json_node_get_object(r1), "export_dir"), ==, arc);
  const char *file = NULL;
  g_assert_cmpstr(plan_status(r1, "profiler", &file), ==, "re-planned");
  g_autofree char *want_file = g_strconcat(arc, ":plans/profiler.json", NULL);
  g_assert_cmpstr(file, ==, want_file);
  g_assert_cmpuint(count_tmp("msc-export-"), ==, 0);
  g_assert_cmpuint(count_temp_files(tmp_dir), ==, 0);

  g_autoptr(GError) e = NULL;
  g_autofree char *x = msc_export_archive_extract(arc, &e);
  g_assert_no_error(e);
  g_autofree char *root = msc_export_archive_root(x);
  g_assert_true(g_str_has_suffix(root, "/out"));
  const char *files[] = {"model.onnx", "config.ini", "report.json", "plans/profiler.json", "plans/profiler.key.json",
                         "plans/profiler.trace.json", "golden/test_data_set_0/input_0.pb",
                         "golden/test_data_set_1/output_0.pb"};
  for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *p = g_build_filename(root, files[i], NULL);
    if (!g_file_test(p, G_FILE_TEST_IS_REGULAR)) g_error("archive lacks %s", files[i]);
  }
  g_autofree char *rp = g_build_filename(root, "report.json", NULL);
  g_autofree char *rtext = NULL;
  g_assert_true(g_file_get_contents(rp, &rtext, NULL, NULL));
  g_assert_nonnull(strstr(rtext, "\"success\" : true"));
  msc_export_dir_remove(x);

  /* second run: plans taken over from the archive and re-used */
  g_autoptr(JsonNode) r2 = run_ini(ARC_INI "[export]\ndir = out.tar.gz\n", TRUE);
  g_assert_cmpstr(plan_status(r2, "profiler", NULL), ==, "re-used");
  g_assert_cmpuint(count_tmp("msc-export-"), ==, 0);

  /* --from the archive */
  g_autoptr(JsonNode) r3 = NULL;
  g_assert_true(msc_pipeline_rerun(arc, NULL, &r3, &e));
  g_assert_no_error(e);
  JsonObject *o3 = json_node_get_object(r3);
  g_assert_cmpstr(json_object_get_string_member(o3, "mode"), ==, "rerun");
  g_assert_cmpstr(json_object_get_string_member(o3, "export_dir"), ==, arc);
  g_assert_true(json_object_get_boolean_member(o3, "success"));
  g_assert_true(json_object_get_boolean_member(o3, "recorded_checks_passed"));
  JsonObject *st = json_array_get_object_element(json_object_get_array_member(o3, "stages"), 0);
  g_assert_true(json_object_get_boolean_member(json_object_get_object_member(st, "checks"), "passed"));
  g_assert_cmpuint(count_tmp("msc-import-"), ==, 0);

  /* a failing run leaves the archive as it was */
  g_autoptr(GBytes) before = read_bytes(arc);
  g_autofree char *empty = path_in("empty-set");
  g_assert_cmpint(g_mkdir_with_parents(empty, 0755), ==, 0);
  g_autoptr(JsonNode) r4 = run_ini("[model]\npath = zoo:resnet_mini\n[dataset]\nsource = files\npath = empty-set\n"
                                   "[export]\ndir = out.tar.gz\n",
                                   FALSE);
  g_assert_false(json_object_get_boolean_member(json_node_get_object(r4), "success"));
  g_autoptr(GBytes) after = read_bytes(arc);
  g_assert_true(g_bytes_equal(before, after));
  g_assert_cmpuint(count_tmp("msc-export-"), ==, 0);
  g_assert_cmpuint(count_temp_files(tmp_dir), ==, 0);

  /* --from a hostile archive: refused, report says why */
  GByteArray *t = g_byte_array_new();
  tar_file(t, "out/config.ini", "[model]\npath = zoo:resnet_mini\n");
  tar_entry(t, "out/model.onnx", '2', 0, NULL, 0, "/etc/passwd");
  tar_end(t);
  g_autofree char *bad = save_tgz("bad.tar.gz", t);
  g_byte_array_unref(t);
  g_autoptr(JsonNode) r5 = NULL;
  g_assert_false(msc_pipeline_rerun(bad, NULL, &r5, &e));
  g_assert_error(e, MSC_ERROR, MSC_ERR_CORRUPT);
  g_assert_nonnull(strstr(e->message, "entry 'out/model.onnx': symlink: refused"));
  g_assert_nonnull(r5);
  g_assert_false(json_object_get_boolean_member(json_node_get_object(r5), "success"));
  g_assert_cmpstr(json_object_get_string_member(json_node_get_object(r5), "error"), ==, e->message);
  g_assert_cmpuint(count_tmp("msc-import-"), ==, 0);
}

static void test_archive_key(void) {
  g_test_summary("[export] archive = true writes dir + .tar.gz and no folder");
  g_autofree char *schema = msc_config_describe("export", NULL);
  if (!schema || !strstr(schema, "  archive ")) {
    g_test_skip("[export] has no 'archive' key in this build's schema");
    return;
  }
  if (!have_profiler()) {
    g_test_skip("profiler plugin not built");
    return;
  }
  g_autoptr(JsonNode) r = run_ini(ARC_INI "[export]\ndir = keyed\narchive = true\n", TRUE);
  g_autofree char *arc = path_in("keyed.tar.gz"), *dir = path_in("keyed");
  g_assert_true(g_file_test(arc, G_FILE_TEST_IS_REGULAR));
  g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
  g_assert_cmpstr(json_object_get_string_member(json_node_get_object(r), "export_dir"), ==, arc);
  g_assert_cmpuint(count_tmp("msc-export-"), ==, 0);
}

static void rm_rf(const char *path) {
  msc_export_dir_remove(path);
}

#else

static void test_skip(void) {
  g_test_summary("archive exports need libarchive");
  g_test_skip("libmsc built without libarchive (MSC_HAVE_LIBARCHIVE unset or 0): .tar.gz exports not tested");
}

static void rm_rf(const char *path) {
  g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", path);
  (void)!system(cmd);
}

#endif

int main(int argc, char **argv) {
  /* a private TMPDIR, set before GLib reads it: left-over temp folders are countable */
  const char *sys_tmp = g_getenv("TMPDIR");
  priv_tmp = g_build_filename(sys_tmp && *sys_tmp ? sys_tmp : "/tmp", "msc-archive-test-XXXXXX", NULL);
  g_assert_nonnull(g_mkdtemp(priv_tmp));
  g_setenv("TMPDIR", priv_tmp, TRUE);
  g_test_init(&argc, &argv, NULL);
  tmp_dir = g_build_filename(priv_tmp, "work", NULL);
  g_assert_cmpint(g_mkdir_with_parents(tmp_dir, 0755), ==, 0);
#if HAVE_ARCHIVES
  char *err = NULL;
  if (msc_init(&err) != MSC_OK) g_error("msc_init: %s", err);
  g_test_add_func("/archive/name", test_name);
  g_test_add_func("/archive/round-trip", test_round_trip);
  g_test_add_func("/archive/hostile-refused", test_hostile);
  g_test_add_func("/archive/pipeline/export-reuse-from", test_pipeline);
  g_test_add_func("/archive/pipeline/archive-key", test_archive_key);
#else
  g_test_add_func("/archive/skip", test_skip);
#endif
  int rc = g_test_run();
  rm_rf(priv_tmp);
  g_free(tmp_dir);
  g_free(priv_tmp);
  return rc;
}
