/* test-config.c: INI configuration loading, validation messages
 * (FILE:LINE), hostile input, plugin schemas, defaults, write-back and
 * the describe table. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "config.h"
#include "error.h"
#include "graph.h"
#include "ops.h"
#include "plugin.h"
#include "registry.h"

/* A fake tool and runner with one option of each type. */
static const MscOptionSpec fake_tool_opts[] = {
    {"enabled_bool", MSC_OPT_BOOL, "true", "a bool"},
    {"count", MSC_OPT_INT, "5", "an int"},
    {"scale", MSC_OPT_FLOAT, "0.5", "a float"},
    {"label", MSC_OPT_STRING, NULL, "a string without default"},
};
static const MscToolApi fake_tool = {
    .struct_size = sizeof(MscToolApi),
    .name = "faketool",
    .doc = "a tool registered by the test",
    .options = fake_tool_opts,
    .n_options = G_N_ELEMENTS(fake_tool_opts),
};
static const MscOptionSpec fake_runner_opts[] = {
    {"threads", MSC_OPT_INT, "1", "worker threads"},
};
static const MscRunnerApi fake_runner = {
    .struct_size = sizeof(MscRunnerApi),
    .name = "fakerunner",
    .doc = "a runner registered by the test",
    .options = fake_runner_opts,
    .n_options = G_N_ELEMENTS(fake_runner_opts),
};

/* A careless plugin: a default that does not parse, one with an inline
 * comment, and a name no INI file can spell. */
static const MscOptionSpec bad_tool_opts[] = {
    {"level", MSC_OPT_INT, "high", "int with a text default"},
    {"note", MSC_OPT_STRING, "a ; b", "default that reads as a comment"},
    {"tag", MSC_OPT_STRING, "#x", "default that starts with a comment"},
    {"bad name", MSC_OPT_STRING, "x", "unusable name"},
};
static const MscToolApi bad_tool = {
    .struct_size = sizeof(MscToolApi),
    .name = "badtool",
    .doc = "a tool with broken option defaults",
    .options = bad_tool_opts,
    .n_options = G_N_ELEMENTS(bad_tool_opts),
};

static MscConfig *load_str(const char *text, GError **error) {
  return msc_config_load_buffer(text, strlen(text), "t.ini", error);
}

/* Loads @text expecting failure with exactly @message. */
static void expect_error(const char *text, const char *message) {
  GError *e = NULL;
  MscConfig *cfg = load_str(text, &e);
  g_assert_null(cfg);
  g_assert_error(e, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_cmpstr(e->message, ==, message);
  g_error_free(e);
}

/* Loads @text expecting failure with a message starting with @prefix. */
static void expect_error_prefix(const char *text, const char *prefix) {
  GError *e = NULL;
  MscConfig *cfg = load_str(text, &e);
  g_assert_null(cfg);
  g_assert_nonnull(e);
  if (!g_str_has_prefix(e->message, prefix)) g_error("message '%s' does not start with '%s'", e->message, prefix);
  g_error_free(e);
}

#define MODEL "[model]\npath = zoo:resnet_mini\n"

static const char *full_ini =
    "# a full config\n"
    "[model]\n"
    "path = zoo:resnet_mini\n"
    "shapes = input=2x3x64x64\n"
    "[dataset]\n"
    "samples = 4 ; inline comment\n"
    "seed = 7\n"
    "[runner]\n"
    "name = fakerunner\n"
    "threads = 3\n"
    "[checks]\n"
    "atol = 1e-5\n"
    "cosine = off\n"
    "on_fail = warn\n"
    "[benchmark]\n"
    "repeat = 20\n"
    "[export]\n"
    "dir = /tmp/msc-config-test-out\n"
    "[tool.faketool]\n"
    "count = 9\n"
    "label = hello world\n";

static void test_config_load_valid_round_trip(void) {
  g_test_summary("a full config loads, typed getters see values and defaults, to_ini reloads to the same text");
  GError *e = NULL;
  g_autoptr(MscConfig) cfg = load_str(full_ini, &e);
  g_assert_no_error(e);
  g_assert_cmpstr(msc_config_source(cfg), ==, "t.ini");
  g_assert_cmpstr(msc_config_get_string(cfg, "model", "path"), ==, "zoo:resnet_mini");
  g_assert_cmpint(msc_config_get_int(cfg, "dataset", "samples"), ==, 4);
  g_assert_cmpint(msc_config_get_int(cfg, "dataset", "seed"), ==, 7);
  g_assert_cmpstr(msc_config_get_string(cfg, "dataset", "source"), ==, "random");
  g_assert_cmpint(msc_config_get_int(cfg, "runner", "threads"), ==, 3);
  g_assert_cmpfloat_with_epsilon(msc_config_get_float(cfg, "checks", "atol"), 1e-5, 1e-12);
  g_assert_true(msc_config_is_off(cfg, "checks", "cosine"));
  g_assert_true(isnan(msc_config_get_float(cfg, "checks", "cosine")));
  g_assert_false(msc_config_is_off(cfg, "checks", "atol"));
  g_assert_cmpstr(msc_config_get_string(cfg, "checks", "on_fail"), ==, "warn");
  g_assert_cmpint(msc_config_get_int(cfg, "benchmark", "repeat"), ==, 20);
  g_assert_cmpint(msc_config_get_int(cfg, "benchmark", "warmup"), ==, 3);
  g_assert_cmpint(msc_config_get_int(cfg, "tool.faketool", "count"), ==, 9);
  g_assert_true(msc_config_get_bool(cfg, "tool.faketool", "enabled_bool"));
  g_assert_cmpfloat(msc_config_get_float(cfg, "tool.faketool", "scale"), ==, 0.5);
  g_assert_cmpstr(msc_config_get_string(cfg, "tool.faketool", "label"), ==, "hello world");
  g_auto(GStrv) tools = msc_config_tools(cfg);
  g_assert_cmpuint(g_strv_length(tools), ==, 1);
  g_assert_cmpstr(tools[0], ==, "faketool");
  g_auto(GStrv) shapes = msc_config_dup_shapes(cfg);
  g_assert_cmpuint(g_strv_length(shapes), ==, 1);
  g_assert_cmpstr(shapes[0], ==, "input=2x3x64x64");

  g_autofree char *ini = msc_config_to_ini(cfg);
  g_assert_nonnull(strstr(ini, "\n[checks]\natol = 1e-5\nrtol = 1e-3\nmax_error_rate = 0\ncosine = off\n"));
  g_assert_nonnull(strstr(ini, "\n[runner]\nname = fakerunner\nthreads = 3\n"));
  g_autoptr(MscConfig) again = msc_config_load_buffer(ini, strlen(ini), "t.ini", &e);
  g_assert_no_error(e);
  g_autofree char *ini2 = msc_config_to_ini(again);
  g_assert_cmpstr(ini, ==, ini2);

  g_autoptr(MscGraph) g = msc_config_load_model(cfg, &e);
  g_assert_no_error(e);
  g_assert_nonnull(g);
}

static void test_config_comment_after_equals(void) {
  g_test_summary("a ';' or '#' right after '=' starts a comment, as after whitespace, so to_ini's 'k = v' reloads to "
                 "the same text (fuzz-config found '#' kept here and dropped on reload)");
  GError *e = NULL;
  g_autoptr(MscConfig) bad = load_str(MODEL "[tool.faketool]\ncount =;9\n", &e);
  g_assert_null(bad);
  g_assert_nonnull(strstr(e->message, "t.ini:4: [tool.faketool] count: not an integer ()"));
  g_clear_error(&e);
  g_autoptr(MscConfig) cfg = load_str(MODEL "[tool.faketool]\nlabel =#Conv,Gemm\n", &e);
  g_assert_no_error(e);
  g_assert_cmpstr(msc_config_get_string(cfg, "tool.faketool", "label"), ==, "");
  g_autoptr(MscConfig) mid = load_str(MODEL "[tool.faketool]\nlabel = a#b;c\n", &e);
  g_assert_no_error(e);
  g_assert_cmpstr(msc_config_get_string(mid, "tool.faketool", "label"), ==, "a#b;c");
  g_autofree char *ini = msc_config_to_ini(cfg);
  g_autoptr(MscConfig) again = msc_config_load_buffer(ini, strlen(ini), "t.ini", &e);
  g_assert_no_error(e);
  g_autofree char *ini2 = msc_config_to_ini(again);
  g_assert_cmpstr(ini, ==, ini2);
}

static void test_config_defaults(void) {
  g_test_summary("absent sections and keys read as their schema defaults; is_set tells them apart");
  GError *e = NULL;
  g_autoptr(MscConfig) cfg = msc_config_load_buffer(MODEL, strlen(MODEL), "/some/dir/t.ini", &e);
  g_assert_no_error(e);
  g_assert_true(msc_config_has_section(cfg, "model"));
  g_assert_false(msc_config_has_section(cfg, "checks"));
  g_assert_false(msc_config_is_set(cfg, "checks", "atol"));
  g_assert_cmpfloat_with_epsilon(msc_config_get_float(cfg, "checks", "atol"), 1e-4, 1e-12);
  g_assert_cmpfloat_with_epsilon(msc_config_get_float(cfg, "checks", "rtol"), 1e-3, 1e-12);
  g_assert_cmpfloat_with_epsilon(msc_config_get_float(cfg, "checks", "cosine"), 0.999, 1e-12);
  g_assert_cmpstr(msc_config_get_string(cfg, "checks", "on_fail"), ==, "abort");
  g_assert_cmpint(msc_config_get_int(cfg, "benchmark", "warmup"), ==, 3);
  g_assert_cmpint(msc_config_get_int(cfg, "benchmark", "repeat"), ==, 10);
  g_assert_cmpint(msc_config_get_int(cfg, "dataset", "samples"), ==, 8);
  g_assert_cmpstr(msc_config_get_string(cfg, "runner", "name"), ==, "ref");
  g_assert_cmpstr(msc_config_get_string(cfg, "export", "format"), ==, "onnx");
  g_assert_null(msc_config_get_string(cfg, "dataset", "path"));
  g_autofree char *dir = msc_config_get_path(cfg, "export", "dir");
  g_assert_cmpstr(dir, ==, "/some/dir/msc-out");
  g_auto(GStrv) shapes = msc_config_dup_shapes(cfg);
  g_assert_cmpuint(g_strv_length(shapes), ==, 0);
  g_auto(GStrv) tools = msc_config_tools(cfg);
  g_assert_cmpuint(g_strv_length(tools), ==, 0);
}

static void test_config_relative_model_path(void) {
  g_test_summary("a relative [model] path resolves against the INI file's folder; to_ini writes it absolute");
  g_autofree char *dir = g_dir_make_tmp("msc-config-XXXXXX", NULL);
  g_assert_nonnull(dir);
  g_autofree char *sub = g_build_filename(dir, "models", NULL);
  g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
  g_autofree char *model = g_build_filename(sub, "net.onnx", NULL);
  g_assert_true(g_file_set_contents(model, "x", 1, NULL));
  g_autofree char *ini = g_build_filename(dir, "a.ini", NULL);
  g_assert_true(g_file_set_contents(ini, "[model]\npath = models/net.onnx\n[export]\ndir = out\n", -1, NULL));
  GError *e = NULL;
  g_autoptr(MscConfig) cfg = msc_config_load_file(ini, &e);
  g_assert_no_error(e);
  g_autofree char *p = msc_config_get_path(cfg, "model", "path");
  g_assert_cmpstr(p, ==, model);
  g_autofree char *text = msc_config_to_ini(cfg);
  g_autofree char *want = g_strdup_printf("\n[model]\npath = %s\n", model);
  g_assert_nonnull(strstr(text, want));
  /* write-back goes through a file elsewhere and still loads */
  g_autofree char *copy = g_build_filename(sub, "effective.ini", NULL);
  g_assert_true(msc_config_write_file(cfg, copy, &e));
  g_assert_no_error(e);
  g_autoptr(MscConfig) back = msc_config_load_file(copy, &e);
  g_assert_no_error(e);
  g_autofree char *q = msc_config_get_path(back, "export", "dir");
  g_autofree char *want_out = g_build_filename(dir, "out", NULL);
  g_assert_cmpstr(q, ==, want_out);
  /* a missing model file */
  g_autofree char *bad = g_build_filename(dir, "b.ini", NULL);
  g_assert_true(g_file_set_contents(bad, "[model]\npath = nope.onnx\n", -1, NULL));
  g_autoptr(MscConfig) none = msc_config_load_file(bad, &e);
  g_assert_null(none);
  g_autofree char *msg = g_strdup_printf("%s:2: [model] path: no such file (%s/nope.onnx)", bad, dir);
  g_assert_cmpstr(e->message, ==, msg);
  g_clear_error(&e);
  g_remove(copy);
  g_remove(bad);
  g_remove(ini);
  g_remove(model);
  g_rmdir(sub);
  g_rmdir(dir);
}

static void test_config_example_file(void) {
  g_test_summary("etc/example.ini validates");
  const char *root = g_getenv("MSC_SOURCE_ROOT");
  if (!root) {
    g_test_skip("MSC_SOURCE_ROOT not set (run through meson test)");
    return;
  }
  if (!msc_registry_get("msc.runner.ref", MSC_REG_RUNNER, TRUE, NULL)) {
    g_test_skip("runner 'ref' is not registered (ref plugin not built); example.ini names it");
    return;
  }
  g_autofree char *path = g_build_filename(root, "etc", "example.ini", NULL);
  GError *e = NULL;
  g_autoptr(MscConfig) cfg = msc_config_load_file(path, &e);
  g_assert_no_error(e);
  g_assert_cmpstr(msc_config_get_string(cfg, "model", "path"), ==, "zoo:resnet_mini");
  g_assert_cmpint(msc_config_get_int(cfg, "dataset", "seed"), ==, 42);
}

static void test_config_error_classes(void) {
  g_test_summary("each error class gives one line FILE:LINE: [section] key: what (value)");
  expect_error(MODEL "[checks]\natoll = 1\n",
               "t.ini:4: [checks] atoll: unknown key (known: atol, rtol, max_error_rate, cosine, on_fail) (1)");
  expect_error(MODEL "[benchmark]\nrepeat = 5\nwarmup = 1\nrepeat = 6\n",
               "t.ini:6: [benchmark] repeat: duplicate key (first set at line 4) (6)");
  expect_error(MODEL "[checks]\n[model]\n", "t.ini:4: [model]: duplicate section (first at line 1)");
  expect_error(MODEL "[benchmark]\nrepeat = ten\n", "t.ini:4: [benchmark] repeat: not an integer (ten)");
  expect_error(MODEL "[benchmark]\nrepeat = 10x\n", "t.ini:4: [benchmark] repeat: not an integer (10x)");
  expect_error(MODEL "[benchmark]\nrepeat = 1e3\n", "t.ini:4: [benchmark] repeat: not an integer (1e3)");
  expect_error(MODEL "[benchmark]\nrepeat = 0\n", "t.ini:4: [benchmark] repeat: out of range [1, 1000000] (0)");
  expect_error(MODEL "[benchmark]\nwarmup = -1\n", "t.ini:4: [benchmark] warmup: out of range [0, 100000] (-1)");
  expect_error(MODEL "[benchmark]\nrepeat = 99999999999999999999\n",
               "t.ini:4: [benchmark] repeat: out of the 64-bit integer range (99999999999999999999)");
  expect_error(MODEL "[checks]\natol = abc\n", "t.ini:4: [checks] atol: not a number or off (abc)");
  expect_error(MODEL "[checks]\natol = nan\n", "t.ini:4: [checks] atol: not a number or off (nan)");
  expect_error(MODEL "[checks]\natol = 0x10\n", "t.ini:4: [checks] atol: not a number or off (0x10)");
  expect_error(MODEL "[checks]\natol = 1e999\n", "t.ini:4: [checks] atol: out of the finite float range (1e999)");
  expect_error(MODEL "[checks]\natol = -1e-3\n", "t.ini:4: [checks] atol: out of range [0, inf) or off (-1e-3)");
  expect_error(MODEL "[checks]\nmax_error_rate = 1.5\n",
               "t.ini:4: [checks] max_error_rate: out of range [0, 1] or off (1.5)");
  expect_error(MODEL "[checks]\ncosine = -2\n", "t.ini:4: [checks] cosine: out of range [-1, 1] or off (-2)");
  expect_error(MODEL "[checks]\non_fail = stop\n", "t.ini:4: [checks] on_fail: not one of abort|warn (stop)");
  expect_error(MODEL "[checks]\non_fail =\n", "t.ini:4: [checks] on_fail: not one of abort|warn ()");
  expect_error("[model]\nshapes = \n", "t.ini:1: [model] path: required key missing");
  expect_error("[checks]\natol = 1\n", "t.ini: [model] path: required key missing (no [model] section)");
  expect_error("[model]\npath =\n", "t.ini:2: [model] path: empty value");
  expect_error("atol = 1\n" MODEL, "t.ini:1: atol: key outside any section (put it under a [section])");
  expect_error(MODEL "garbage here\n", "t.ini:3: expected 'key = value' or '[section]' (garbage here)");
  expect_error(MODEL "[checks] junk\n", "t.ini:3: [checks]: text after the section header (junk)");
  expect_error(MODEL "[checks\n", "t.ini:3: section header without ']' ([checks)");
  expect_error(MODEL "[che cks]\n", "t.ini:3: bad section name (che cks): want 1-64 of A-Z a-z 0-9 _ - .");
  expect_error(MODEL "[checks]\nat ol = 1\n", "t.ini:4: bad key name (at ol): want 1-64 of A-Z a-z 0-9 _ - .");
  expect_error_prefix(MODEL "[modle]\n", "t.ini:3: [modle]: unknown section (known: model, dataset, runner, checks, "
                                         "benchmark, export, tool.NAME; registered tools: ");
  expect_error_prefix("[model]\npath = zoo:nope\n", "t.ini:2: [model] path: unknown zoo model (zoo:nope; known: ");
  expect_error(MODEL "shapes = input=1x0\n",
               "t.ini:3: [model] shapes: dim '0' is not an integer in [1, 2147483647] (input=1x0)");
  expect_error(MODEL "shapes = 1x3\n", "t.ini:3: [model] shapes: want NAME=DxD..., e.g. input=1x3x64x64 (1x3)");
  expect_error(MODEL "shapes = a=1, a=2\n", "t.ini:3: [model] shapes: input given twice (a)");
  expect_error(MODEL "[dataset]\nsource = files\n", "t.ini:4: [dataset] path: required when source = files");
  expect_error(MODEL "[dataset]\npath = /nonexistent-msc-dir\n",
               "t.ini:4: [dataset] path: no such folder (/nonexistent-msc-dir)");
  expect_error_prefix(MODEL "[runner]\nname = nosuch\nthreads = 2\n",
                      "t.ini:4: [runner] name: runner not registered (nosuch; registered: ");
  expect_error_prefix(MODEL "[tool.nosuch]\nx = 1\n", "t.ini:3: [tool.nosuch]: tool not registered (nosuch; ");
}

static void test_config_error_earliest_wins(void) {
  g_test_summary("with several errors the one on the earliest line is reported, whatever the check order");
  /* line 4 fails in validation (after parsing), line 6 while parsing */
  expect_error(MODEL "[checks]\natol = x\n[export]\n[export]\n", "t.ini:4: [checks] atol: not a number or off (x)");
  expect_error(MODEL "[checks]\n[checks]\natol = x\n", "t.ini:4: [checks]: duplicate section (first at line 3)");
}

static void test_config_syntax_details(void) {
  g_test_summary("indented keys, CRLF, BOM, ':' delimiters and comments parse as documented");
  const char *text = "\xEF\xBB\xBF; comment\r\n[model]\r\n  path = zoo:resnet_mini   # trailing\r\n"
                     "[checks]\n    atol : 0.25\n\trtol=0.5;not a comment\n";
  /* "0.5;not a comment" has no whitespace before ';', so it is the value */
  GError *e = NULL;
  MscConfig *cfg = load_str(text, &e);
  g_assert_null(cfg);
  g_assert_cmpstr(e->message, ==, "t.ini:6: [checks] rtol: not a number or off (0.5;not a comment)");
  g_clear_error(&e);
  const char *ok = "\xEF\xBB\xBF; comment\r\n[model]\r\n  path = zoo:resnet_mini   # trailing\r\n"
                   "[checks]\n    atol : 0.25\n\trtol=0.5 ; comment\n";
  cfg = load_str(ok, &e);
  g_assert_no_error(e);
  g_assert_cmpstr(msc_config_get_string(cfg, "model", "path"), ==, "zoo:resnet_mini");
  g_assert_cmpfloat(msc_config_get_float(cfg, "checks", "atol"), ==, 0.25);
  g_assert_cmpfloat(msc_config_get_float(cfg, "checks", "rtol"), ==, 0.5);
  msc_config_free(cfg);
}

static void test_config_hostile_nul(void) {
  g_test_summary("a NUL byte is refused with its line and column");
  static const char data[] = "[model]\npath = zoo:resnet_mini\nx\0y\n";
  GError *e = NULL;
  MscConfig *cfg = msc_config_load_buffer(data, sizeof data - 1, "t.ini", &e);
  g_assert_null(cfg);
  g_assert_cmpstr(e->message, ==, "t.ini:3: NUL byte at column 2: not a text file");
  g_error_free(e);
}

static void test_config_hostile_long_line(void) {
  g_test_summary("lines over 4096 bytes are refused; long values below the limit load (past inih's 200)");
  GString *s = g_string_new(MODEL "[tool.faketool]\nlabel = ");
  for (int i = 0; i < 4000; i++) g_string_append_c(s, 'a' + i % 26);
  g_string_append_c(s, '\n');
  GError *e = NULL;
  MscConfig *cfg = msc_config_load_buffer(s->str, s->len, "t.ini", &e);
  g_assert_no_error(e);
  g_assert_cmpuint(strlen(msc_config_get_string(cfg, "tool.faketool", "label")), ==, 4000);
  msc_config_free(cfg);
  g_string_truncate(s, s->len - 1);
  for (int i = 0; i < 200; i++) g_string_append_c(s, 'z');
  g_string_append_c(s, '\n');
  cfg = msc_config_load_buffer(s->str, s->len, "t.ini", &e);
  g_assert_null(cfg);
  g_assert_cmpstr(e->message, ==, "t.ini:4: line too long (4208 bytes, max 4096)");
  g_error_free(e);
  g_string_free(s, TRUE);
}

static void test_config_hostile_huge(void) {
  g_test_summary("inputs over 1 MiB are refused, as a buffer and as a file, before parsing");
  gsize n = MSC_CONFIG_MAX_SIZE + 1;
  g_autofree char *big = g_malloc(n);
  memset(big, '\n', n);
  GError *e = NULL;
  MscConfig *cfg = msc_config_load_buffer(big, n, "t.ini", &e);
  g_assert_null(cfg);
  g_assert_cmpstr(e->message, ==, "t.ini: file too large (1048577 bytes, max 1048576)");
  g_clear_error(&e);
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp("msc-config-XXXXXX.ini", &path, NULL);
  g_assert_cmpint(fd, >=, 0);
  close(fd);
  g_assert_true(g_file_set_contents(path, big, (gssize)n, NULL));
  cfg = msc_config_load_file(path, &e);
  g_assert_null(cfg);
  g_autofree char *want = g_strdup_printf("%s: file too large (over 1048576 bytes)", path);
  g_assert_cmpstr(e->message, ==, want);
  g_clear_error(&e);
  g_remove(path);
  /* and the size limit itself is accepted */
  memcpy(big, MODEL, strlen(MODEL));
  cfg = msc_config_load_buffer(big, n - 1, "t.ini", &e);
  g_assert_no_error(e);
  msc_config_free(cfg);
}

static void test_config_hostile_utf8(void) {
  g_test_summary("invalid UTF-8 is refused with line, column and byte");
  const char *data = MODEL "[tool.faketool]\nlabel = caf\xe9\n";
  GError *e = NULL;
  MscConfig *cfg = load_str(data, &e);
  g_assert_null(cfg);
  g_assert_cmpstr(e->message, ==, "t.ini:4: invalid UTF-8 at column 12 (byte 0xe9)");
  g_clear_error(&e);
  const char *good = MODEL "[tool.faketool]\nlabel = caf\xc3\xa9\n";
  cfg = load_str(good, &e);
  g_assert_no_error(e);
  g_assert_cmpstr(msc_config_get_string(cfg, "tool.faketool", "label"), ==, "caf\xc3\xa9");
  msc_config_free(cfg);
}

static void test_config_hostile_files(void) {
  g_test_summary("missing files and directories fail with MSC_ERR_IO, binary junk without crashing");
  GError *e = NULL;
  MscConfig *cfg = msc_config_load_file("/nonexistent/msc.ini", &e);
  g_assert_null(cfg);
  g_assert_error(e, MSC_ERROR, MSC_ERR_IO);
  g_assert_cmpstr(e->message, ==, "/nonexistent/msc.ini: cannot open: No such file or directory");
  g_clear_error(&e);
  cfg = msc_config_load_file("/", &e);
  g_assert_null(cfg);
  g_assert_error(e, MSC_ERROR, MSC_ERR_IO);
  g_clear_error(&e);
  /* random bytes: whatever the first problem is, it is an error, not a crash */
  GRand *r = g_rand_new_with_seed(1);
  char junk[2048];
  for (int round = 0; round < 50; round++) {
    for (gsize i = 0; i < sizeof junk; i++) junk[i] = (char)g_rand_int_range(r, 1, 256);
    cfg = msc_config_load_buffer(junk, sizeof junk, "junk.ini", &e);
    g_assert_null(cfg);
    g_assert_nonnull(e);
    g_assert_true(g_str_has_prefix(e->message, "junk.ini:"));
    g_clear_error(&e);
  }
  g_rand_free(r);
  /* empty input: only the missing [model] */
  expect_error("", "t.ini: [model] path: required key missing (no [model] section)");
}

static void test_config_hostile_token_soup(void) {
  g_test_summary("random INI-like text from config tokens loads or fails with a FILE: message, never crashes");
  static const char *const tok[] = {"[", "]", "=", ":", ";", "#", " ", "\t", "\n", "\r\n", "model", "checks",
                                    "tool.", "faketool", "runner", "path", "atol", "count", "name", "zoo:resnet_mini",
                                    "1e-4", "off", "-", "x", "fakerunner", "\xc3\xa9", "shapes", "a=1x2", ","};
  GRand *r = g_rand_new_with_seed(7);
  int loaded = 0;
  for (int round = 0; round < 400; round++) {
    GString *s = g_string_new(round % 2 ? MODEL : "");
    int n = g_rand_int_range(r, 0, 120);
    for (int i = 0; i < n; i++) g_string_append(s, tok[g_rand_int_range(r, 0, G_N_ELEMENTS(tok))]);
    GError *e = NULL;
    MscConfig *cfg = msc_config_load_buffer(s->str, s->len, "t.ini", &e);
    if (cfg) {
      loaded++;
      g_free(msc_config_to_ini(cfg));
      msc_config_free(cfg);
    } else {
      g_assert_nonnull(e);
      g_assert_true(g_str_has_prefix(e->message, "t.ini"));
      g_assert_null(strchr(e->message, '\n'));
      g_error_free(e);
    }
    g_string_free(s, TRUE);
  }
  g_rand_free(r);
  g_assert_cmpint(loaded, <, 400); /* the soup does hit errors */
}

static void test_config_tool_schema(void) {
  g_test_summary("a [tool.NAME] section is validated against the schema the tool registered");
  expect_error(MODEL "[tool.faketool]\ncount = many\n", "t.ini:4: [tool.faketool] count: not an integer (many)");
  expect_error(MODEL "[tool.faketool]\nenabled_bool = maybe\n",
               "t.ini:4: [tool.faketool] enabled_bool: not a bool: want true|false|yes|no|on|off|1|0 (maybe)");
  expect_error(MODEL "[tool.faketool]\nscale = 1..2\n", "t.ini:4: [tool.faketool] scale: not a number (1..2)");
  expect_error(MODEL "[tool.faketool]\ncolour = red\n",
               "t.ini:4: [tool.faketool] colour: unknown key (known: enabled_bool, count, scale, label) (red)");
  GError *e = NULL;
  g_autoptr(MscConfig) cfg = load_str(MODEL "[tool.faketool]\nenabled_bool = OFF\n", &e);
  g_assert_no_error(e);
  g_assert_false(msc_config_get_bool(cfg, "tool.faketool", "enabled_bool"));
  g_assert_cmpint(msc_config_get_int(cfg, "tool.faketool", "count"), ==, 5);
  g_assert_null(msc_config_get_string(cfg, "tool.faketool", "label"));
  /* options for the plugin call: effective values in schema order, label has none */
  MscOptions *o = msc_config_to_options(cfg, "tool.faketool");
  g_assert_nonnull(o);
  g_assert_cmpuint(o->n, ==, 3);
  g_assert_cmpstr(o->keys[0], ==, "enabled_bool");
  g_assert_cmpstr(o->values[0], ==, "OFF");
  g_assert_cmpstr(o->keys[1], ==, "count");
  g_assert_cmpstr(o->values[1], ==, "5");
  g_assert_cmpstr(o->keys[2], ==, "scale");
  g_assert_cmpstr(o->values[2], ==, "0.5");
  msc_config_options_free(o);
  g_assert_null(msc_config_to_options(cfg, "tool.absent"));
}

static void test_config_bad_plugin_schema(void) {
  g_test_summary("plugin defaults a file could not hold are dropped, unusable names skipped: to_ini still reloads");
  GError *e = NULL;
  g_autoptr(MscConfig) cfg = load_str(MODEL "[tool.badtool]\n", &e);
  g_assert_no_error(e);
  g_assert_null(msc_config_get_string(cfg, "tool.badtool", "level"));
  g_assert_null(msc_config_get_string(cfg, "tool.badtool", "note"));
  g_assert_null(msc_config_get_string(cfg, "tool.badtool", "tag"));
  MscOptions *o = msc_config_to_options(cfg, "tool.badtool");
  g_assert_cmpuint(o->n, ==, 0);
  msc_config_options_free(o);
  g_autofree char *ini = msc_config_to_ini(cfg);
  g_assert_true(g_str_has_suffix(ini, "\n[tool.badtool]\n"));
  g_autoptr(MscConfig) again = msc_config_load_buffer(ini, strlen(ini), "t.ini", &e);
  g_assert_no_error(e);
  expect_error(MODEL "[tool.badtool]\nlevel = high\n", "t.ini:4: [tool.badtool] level: not an integer (high)");
}

static void test_config_runner_options(void) {
  g_test_summary("[runner] keys come from the named runner's schema; to_options leaves out 'name'");
  expect_error(MODEL "[runner]\nthreads = x\nname = fakerunner\n", "t.ini:4: [runner] threads: not an integer (x)");
  expect_error(MODEL "[runner]\nname = fakerunner\nthread = 2\n",
               "t.ini:5: [runner] thread: unknown key (known: name, threads) (2)");
  GError *e = NULL;
  g_autoptr(MscConfig) cfg = load_str(MODEL "[runner]\nname = fakerunner\n", &e);
  g_assert_no_error(e);
  MscOptions *o = msc_config_to_options(cfg, "runner");
  g_assert_cmpuint(o->n, ==, 1);
  g_assert_cmpstr(o->keys[0], ==, "threads");
  g_assert_cmpstr(o->values[0], ==, "1");
  msc_config_options_free(o);
  o = msc_config_to_options(cfg, "benchmark");
  g_assert_cmpuint(o->n, ==, 2);
  g_assert_cmpstr(o->keys[1], ==, "repeat");
  g_assert_cmpstr(o->values[1], ==, "10");
  msc_config_options_free(o);
}

static void test_config_describe(void) {
  g_test_summary("describe prints key/type/default/range/doc tables for core sections, runners and tools");
  GError *e = NULL;
  g_autofree char *checks = msc_config_describe("checks", &e);
  g_assert_no_error(e);
  g_assert_true(g_str_has_prefix(checks, "[checks]: "));
  g_assert_nonnull(strstr(checks, "  key             type    default  range            doc\n"));
  g_assert_nonnull(strstr(checks, "  atol            float   1e-4     [0, inf) or off  absolute tolerance"));
  g_assert_nonnull(strstr(checks, "  on_fail         string  abort    abort|warn       a failed check"));
  g_autofree char *model = msc_config_describe("model", &e);
  g_assert_nonnull(strstr(model, "  path    string  (required)  -      ONNX model file"));
  g_autofree char *tool = msc_config_describe("faketool", &e);
  g_assert_no_error(e);
  g_assert_true(g_str_has_prefix(tool, "[tool.faketool]: a tool registered by the test\n"));
  g_assert_nonnull(strstr(tool, "  count         int     5        -      an int\n"));
  g_autofree char *runner = msc_config_describe("runner.fakerunner", &e);
  g_assert_no_error(e);
  g_assert_true(g_str_has_prefix(runner, "[runner] name = fakerunner: a runner registered by the test"));
  g_assert_nonnull(strstr(runner, "threads"));
  g_autofree char *none = msc_config_describe("tool.fakerunner", &e);
  g_assert_null(none);
  g_assert_error(e, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_true(g_str_has_prefix(e->message, "tool.fakerunner: not a section, runner or tool (sections: model, "));
  g_clear_error(&e);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  GError *e = NULL;
  if (!msc_ops_register_builtins(&e) || !msc_plugins_load_all(&e)) g_error("init: %s", e->message);
  if (!msc_registry_add("msc.tool.faketool", (void *)&fake_tool, MSC_REG_TOOL, "test", fake_tool.doc, FALSE, &e) ||
      !msc_registry_add("msc.runner.fakerunner", (void *)&fake_runner, MSC_REG_RUNNER, "test", fake_runner.doc,
                        FALSE, &e) ||
      !msc_registry_add("msc.tool.badtool", (void *)&bad_tool, MSC_REG_TOOL, "test", bad_tool.doc, FALSE, &e))
    g_error("register: %s", e->message);
  g_test_add_func("/config/load/valid-round-trip", test_config_load_valid_round_trip);
  g_test_add_func("/config/load/comment-after-equals", test_config_comment_after_equals);
  g_test_add_func("/config/load/defaults", test_config_defaults);
  g_test_add_func("/config/load/relative-model-path", test_config_relative_model_path);
  g_test_add_func("/config/load/example-file", test_config_example_file);
  g_test_add_func("/config/load/syntax-details", test_config_syntax_details);
  g_test_add_func("/config/error/classes", test_config_error_classes);
  g_test_add_func("/config/error/earliest-wins", test_config_error_earliest_wins);
  g_test_add_func("/config/hostile/nul-byte", test_config_hostile_nul);
  g_test_add_func("/config/hostile/long-line", test_config_hostile_long_line);
  g_test_add_func("/config/hostile/huge-input", test_config_hostile_huge);
  g_test_add_func("/config/hostile/non-utf8", test_config_hostile_utf8);
  g_test_add_func("/config/hostile/files-and-junk", test_config_hostile_files);
  g_test_add_func("/config/hostile/token-soup", test_config_hostile_token_soup);
  g_test_add_func("/config/schema/tool", test_config_tool_schema);
  g_test_add_func("/config/schema/bad-plugin-defaults", test_config_bad_plugin_schema);
  g_test_add_func("/config/schema/runner", test_config_runner_options);
  g_test_add_func("/config/describe/tables", test_config_describe);
  return g_test_run();
}
