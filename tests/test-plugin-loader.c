/* test-plugin-loader.c: the plugin load ladder (one refusal per broken
 * plugin in tests/plugins/), the search order, rollback after a failed
 * init, the host API table, and the example tool plugin.
 *
 * The plugins are found through G_TEST_BUILDDIR (build/tests) and
 * MSC_BUILD_ROOT, which tests/meson.build sets. */
#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "graph.h"
#include "msc-config.h"
#include "ops.h"
#include "plugin.h"
#include "registry.h"
#include "tensor.h"

/* ---------------------------------------------------------------------- */
/* helpers */

static char *plugin_dir(void) {
  return g_test_build_filename(G_TEST_BUILT, "plugins", NULL);
}

static char *plugin_path(const char *file) {
  return g_test_build_filename(G_TEST_BUILT, "plugins", file, NULL);
}

static char *example_path(void) {
  const char *root = g_getenv("MSC_BUILD_ROOT");
  if (root && *root) return g_build_filename(root, "examples", "tool-example", "msc-tool-count-ops.so", NULL);
  return g_test_build_filename(G_TEST_BUILT, "..", "examples", "tool-example", "msc-tool-count-ops.so", NULL);
}

/* Every test starts from no plugins and a search path that sees only what
 * the test asks for. */
static void reset(void) {
  msc_plugins_unload_all();
  g_unsetenv("MSC_PLUGIN_PATH");
  g_setenv("MSC_NO_BUILD_PLUGINS", "1", TRUE);
  g_unsetenv("MSC_LOG");
}

/* Skips (with the reason) when a plugin the build should have made is
 * missing, e.g. when the binary runs outside `meson test`. */
static gboolean require_file(const char *path) {
  if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) return TRUE;
  g_autofree char *why = g_strdup_printf("%s not built (run through `meson test`)", path);
  g_test_skip(why);
  return FALSE;
}

/* Loads @file from the test plugin dir expecting a refusal; checks the
 * error code and that the message is "<path>: <check>: ..." and returns
 * the reason part (after the check). */
static char *expect_refusal(const char *file, MscStatus code, const char *check) {
  g_autofree char *path = plugin_path(file);
  if (!require_file(path)) return NULL;
  GError *err = NULL;
  MscPlugin *p = msc_plugin_load_file(path, &err);
  g_assert_null(p);
  g_assert_error(err, MSC_ERROR, (gint)code);
  g_autofree char *prefix = g_strdup_printf("%s: %s: ", path, check);
  if (!g_str_has_prefix(err->message, prefix))
    g_error("refusal of %s: expected prefix \"%s\", got \"%s\"", file, prefix, err->message);
  g_assert_null(strchr(err->message, '\n')); /* one line */
  char *reason = g_strdup(err->message + strlen(prefix));
  g_error_free(err);
  return reason;
}

static gboolean copy_file(const char *from, const char *to, mode_t mode) {
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents(from, &data, &len, NULL)) return FALSE;
  if (!g_file_set_contents(to, data, (gssize)len, NULL)) return FALSE;
  return chmod(to, mode) == 0;
}

static gboolean registry_has_owner(const char *owner) {
  GPtrArray *all = msc_registry_list(NULL, 0);
  gboolean found = FALSE;
  for (guint i = 0; i < all->len; i++) {
    const MscRegEntry *e = g_ptr_array_index(all, i);
    if (g_strcmp0(e->owner, owner) == 0) found = TRUE;
  }
  g_ptr_array_unref(all);
  return found;
}

/* The failure recorded for @path, or NULL. (transfer full) */
static char *failure_for(const char *path) {
  GPtrArray *f = msc_plugins_failures();
  char *msg = NULL;
  for (guint i = 0; i < f->len && !msg; i++) {
    const MscPluginFailure *x = g_ptr_array_index(f, i);
    if (strcmp(x->path, path) == 0) msg = g_strdup(x->message);
  }
  g_ptr_array_unref(f);
  return msg;
}

static void rm_rf(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (d) {
    const char *n;
    while ((n = g_dir_read_name(d))) {
      g_autofree char *p = g_build_filename(dir, n, NULL);
      if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
        rm_rf(p);
      else
        g_remove(p);
    }
    g_dir_close(d);
  }
  g_rmdir(dir);
}

/* A one-node graph X -> com.example.Twice -> Y, X float32 [2,3]. */
static MscGraph *twice_graph(void) {
  MscGraph *g = msc_graph_new("twice");
  msc_graph_set_opset(g, "", 13);
  msc_graph_set_opset(g, "com.example", 1);
  MscValue *x = msc_graph_get_or_add_value(g, "X");
  x->dtype = MSC_DTYPE_FLOAT32;
  x->rank = 2;
  x->dims[0] = 2;
  x->dims[1] = 3;
  msc_graph_add_input(g, x);
  MscValue *y = msc_graph_get_or_add_value(g, "Y");
  MscNode *n = msc_graph_add_node(g, "twice0", "Twice", "com.example", 1);
  msc_node_set_io(n, &x, 1, &y, 1);
  msc_graph_add_output(g, y);
  return g;
}

static MscTensor *twice_input(void) {
  const int64_t dims[2] = {2, 3};
  MscTensor *t = msc_tensor_new(MSC_DTYPE_FLOAT32, 2, dims, NULL);
  g_assert_nonnull(t);
  float *d = t->data;
  for (int i = 0; i < 6; i++) d[i] = (float)i - 2.5f;
  return t;
}

static void assert_twice(const MscTensor *in, const MscTensor *out) {
  g_assert_nonnull(out);
  g_assert_cmpint(out->dtype, ==, MSC_DTYPE_FLOAT32);
  g_assert_cmpint(out->rank, ==, 2);
  g_assert_cmpint(out->dims[0], ==, 2);
  g_assert_cmpint(out->dims[1], ==, 3);
  const float *a = in->data, *b = out->data;
  for (int i = 0; i < 6; i++) g_assert_cmpfloat(b[i], ==, 2.0f * a[i]);
}

/* ---------------------------------------------------------------------- */
/* loading good plugins */

static void test_plugin_loader_load_good_tool(void) {
  g_test_summary("A good tool plugin loads by path: fields copied, its tool registered under its owner, "
                 "loading the same file again returns the same plugin.");
  reset();
  g_autofree char *path = plugin_path("msc-test-good-tool.so");
  if (!require_file(path)) return;
  GError *err = NULL;
  MscPlugin *p = msc_plugin_load_file(path, &err);
  g_assert_no_error(err);
  g_assert_nonnull(p);
  g_assert_cmpstr(p->name, ==, "test-tool");
  g_assert_cmpint(p->kind, ==, MSC_PLUGIN_TOOL);
  g_assert_cmpstr(msc_plugin_kind_name(p->kind), ==, "tool");
  g_assert_cmpstr(p->version, ==, "0.1.0");
  g_assert_cmpstr(p->description, ==, "good tool plugin for the loader tests");
  g_assert_cmpstr(p->path, ==, path);
  g_assert_cmpuint(p->abi_major, ==, MSC_ABI_MAJOR);
  g_assert_true(msc_plugin_find("test-tool") == p);

  const MscToolApi *api = msc_registry_get("msc.tool.test-tool", MSC_REG_TOOL, FALSE, &err);
  g_assert_no_error(err);
  g_assert_nonnull(api);
  g_assert_cmpstr(api->name, ==, "test-tool");
  MscRegEntry e = {0};
  g_assert_true(msc_registry_lookup("msc.tool.test-tool", &e));
  g_assert_cmpstr(e.owner, ==, "test-tool");
  msc_reg_entry_clear(&e);

  g_auto(GStrv) names = msc_plugin_dup_registered(p);
  g_assert_cmpuint(g_strv_length(names), ==, 1);
  g_assert_cmpstr(names[0], ==, "msc.tool.test-tool");

  /* same file again: the same plugin, not a name clash */
  MscPlugin *again = msc_plugin_load_file(path, &err);
  g_assert_no_error(err);
  g_assert_true(again == p);
  GPtrArray *all = msc_plugins_loaded();
  g_assert_cmpuint(all->len, ==, 1);
  g_ptr_array_unref(all);

  /* the tool works through its API */
  void *state = NULL;
  MscMessage msg = {NULL};
  g_assert_cmpint(api->setup(NULL, &state, &msg), ==, MSC_OK);
  g_assert_cmpint(api->observe(state, NULL, NULL, 0, &msg), ==, MSC_OK);
  api->destroy(state);
  g_assert_null(msg.text);

  msc_plugins_unload_all();
  g_assert_null(msc_plugin_find("test-tool"));
  g_assert_null(msc_registry_get("msc.tool.test-tool", 0, TRUE, NULL));
}

static void test_plugin_loader_load_good_op_executes(void) {
  g_test_summary("The op plugin registers com.example.Twice; a graph using it verifies (infer) and the node "
                 "executes through msc_node_execute and host->node_execute; unloading removes the op.");
  reset();
  g_autofree char *path = plugin_path("msc-test-good-op.so");
  if (!require_file(path)) return;
  GError *err = NULL;
  MscPlugin *p = msc_plugin_load_file(path, &err);
  g_assert_no_error(err);
  g_assert_nonnull(p);
  g_assert_cmpint(p->kind, ==, MSC_PLUGIN_OP);
  const MscOpDef *def = msc_op_lookup("com.example", "Twice", 1);
  g_assert_nonnull(def);
  g_assert_cmpstr(def->op_type, ==, "Twice");
  g_assert_true(msc_host_api()->op_lookup("com.example", "Twice", 7) == def);
  g_assert_true(registry_has_owner("test-op"));

  g_autoptr(MscGraph) g = twice_graph();
  gboolean ok = msc_graph_verify(g, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
  const MscValue *y = msc_graph_find_value(g, "Y");
  g_assert_cmpint(y->dtype, ==, MSC_DTYPE_FLOAT32);
  g_assert_cmpint(y->rank, ==, 2);
  g_assert_cmpint(y->dims[1], ==, 3);

  g_autoptr(MscTensor) x = twice_input();
  const MscTensor *in[1] = {x};
  MscTensor *out[1] = {NULL};
  ok = msc_node_execute(g->nodes[0], in, out, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
  assert_twice(x, out[0]);
  msc_tensor_free(out[0]);

  MscMessage msg = {NULL};
  out[0] = NULL;
  g_assert_cmpint(msc_host_api()->node_execute(g->nodes[0], in, out, &msg), ==, MSC_OK);
  g_assert_null(msg.text);
  assert_twice(x, out[0]);
  msc_host_api()->tensor_free(out[0]);

  /* an unsupported dtype is an error naming the node, not a crash */
  const int64_t dims[1] = {4};
  g_autoptr(MscTensor) xd = msc_tensor_new(MSC_DTYPE_UINT8, 1, dims, NULL);
  const MscTensor *ind[1] = {xd};
  out[0] = NULL;
  g_assert_cmpint(msc_host_api()->node_execute(g->nodes[0], ind, out, &msg), ==, MSC_ERR_UNSUPPORTED);
  g_assert_nonnull(msg.text);
  g_assert_nonnull(strstr(msg.text, "twice0"));
  g_assert_nonnull(strstr(msg.text, "dtype"));
  g_free(msg.text);

  msc_plugins_unload_all();
  g_assert_null(msc_op_lookup("com.example", "Twice", 1));
}

static void test_plugin_loader_load_good_op_ref_runner(void) {
  g_test_summary("A runner (the ref runner from the build tree) compiles and runs a graph with the plugin op "
                 "com.example.Twice.");
  reset();
  g_autofree char *op_path = plugin_path("msc-test-good-op.so");
  if (!require_file(op_path)) return;
  GError *err = NULL;
  g_assert_nonnull(msc_plugin_load_file(op_path, &err));
  g_assert_no_error(err);
  g_unsetenv("MSC_NO_BUILD_PLUGINS");
  g_assert_true(msc_plugins_load_all(&err));
  g_assert_no_error(err);
  const MscRunnerApi *ref = msc_registry_get("msc.runner.ref", MSC_REG_RUNNER, TRUE, NULL);
  if (!ref) {
    g_autofree char *why = g_strdup_printf("msc.runner.ref not registered after scanning %s", MSC_BUILD_PLUGIN_DIR);
    g_test_skip(why);
    msc_plugins_unload_all();
    return;
  }
  g_autoptr(MscGraph) g = twice_graph();
  g_assert_true(msc_graph_verify(g, &err));
  g_assert_no_error(err);
  MscMessage msg = {NULL};
  MscOptions opts = {NULL, NULL, 0};
  void *compiled = NULL, *ctx = NULL;
  MscStatus st = ref->compile(g, &opts, &compiled, &msg);
  if (st != MSC_OK) g_error("compile: %s", msg.text ? msg.text : "(no message)");
  st = ref->context_create(compiled, &ctx, &msg);
  if (st != MSC_OK) g_error("context_create: %s", msg.text ? msg.text : "(no message)");
  g_autoptr(MscTensor) x = twice_input();
  const MscTensor *in[1] = {x};
  MscTensor *out[1] = {NULL};
  st = ref->run(ctx, in, 1, out, 1, NULL, &msg);
  if (st != MSC_OK) g_error("run: %s", msg.text ? msg.text : "(no message)");
  assert_twice(x, out[0]);
  msc_host_api()->tensor_free(out[0]);
  ref->context_destroy(ctx);
  ref->compiled_destroy(compiled);
  g_free(msg.text);
  msc_plugins_unload_all();
}

/* ---------------------------------------------------------------------- */
/* the ladder: one test per refusal */

static void test_plugin_loader_refuse_stat_missing(void) {
  g_test_summary("A missing file is refused at 'stat' with the OS reason.");
  reset();
  g_autofree char *dir = plugin_dir();
  g_autofree char *path = g_build_filename(dir, "does-not-exist.so", NULL);
  GError *err = NULL;
  g_assert_null(msc_plugin_load_file(path, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_IO);
  g_autofree char *want = g_strdup_printf("%s: stat: %s", path, g_strerror(ENOENT));
  g_assert_cmpstr(err->message, ==, want);
  g_error_free(err);
}

static void test_plugin_loader_refuse_stat_not_regular(void) {
  g_test_summary("A directory named like a plugin is refused at 'stat': not a regular file.");
  reset();
  g_autofree char *tmp = g_dir_make_tmp("msc-plugin-XXXXXX", NULL);
  g_assert_nonnull(tmp);
  g_autofree char *path = g_build_filename(tmp, "dir.so", NULL);
  g_assert_cmpint(g_mkdir(path, 0755), ==, 0);
  GError *err = NULL;
  g_assert_null(msc_plugin_load_file(path, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_IO);
  g_autofree char *want = g_strdup_printf("%s: stat: not a regular file", path);
  g_assert_cmpstr(err->message, ==, want);
  g_error_free(err);
  rm_rf(tmp);
}

static void test_plugin_loader_refuse_dlopen_not_shared_object(void) {
  g_test_summary("A text file named .so is refused at 'dlopen' with the dlerror text.");
  reset();
  g_autofree char *reason = expect_refusal("msc-test-not-so.so", MSC_ERR_ABI, "dlopen");
  if (!reason) return;
  g_assert_cmpuint(strlen(reason), >, 0);
  /* glibc: "invalid ELF header" (or "file too short" for tiny files) */
  g_assert_true(strstr(reason, "ELF") != NULL || strstr(reason, "too short") != NULL);
}

static void test_plugin_loader_refuse_no_symbol(void) {
  g_test_summary("A shared object without msc_plugin_descriptor is refused at 'symbol'.");
  reset();
  g_autofree char *reason = expect_refusal("msc-test-no-symbol.so", MSC_ERR_ABI, "symbol");
  if (!reason) return;
  g_assert_cmpstr(reason, ==, "no msc_plugin_descriptor symbol");
}

static void test_plugin_loader_refuse_abi_major(void) {
  g_test_summary("A plugin built for another ABI major is refused at 'abi' naming both versions.");
  reset();
  g_autofree char *reason = expect_refusal("msc-test-abi-major.so", MSC_ERR_ABI, "abi");
  if (!reason) return;
  g_autofree char *want = g_strdup_printf("ABI %d.0, host supports %d.%d (major differs)", MSC_ABI_MAJOR + 1,
                                          MSC_ABI_MAJOR, MSC_ABI_MINOR);
  g_assert_cmpstr(reason, ==, want);
}

static void test_plugin_loader_refuse_abi_minor(void) {
  g_test_summary("A plugin built for a newer ABI minor than the host's is refused at 'abi'.");
  reset();
  g_autofree char *reason = expect_refusal("msc-test-abi-minor.so", MSC_ERR_ABI, "abi");
  if (!reason) return;
  g_autofree char *want = g_strdup_printf("ABI %d.%d, host supports %d.%d (plugin needs a newer host)",
                                          MSC_ABI_MAJOR, MSC_ABI_MINOR + 1, MSC_ABI_MAJOR, MSC_ABI_MINOR);
  g_assert_cmpstr(reason, ==, want);
}

static void test_plugin_loader_refuse_struct_size(void) {
  g_test_summary("A descriptor smaller than what the host reads is refused at 'struct_size' with both sizes.");
  reset();
  g_autofree char *reason = expect_refusal("msc-test-struct-size.so", MSC_ERR_ABI, "struct_size");
  if (!reason) return;
  g_autofree char *want = g_strdup_printf("descriptor is 8 bytes, host reads %zu", sizeof(MscPluginDescriptor));
  g_assert_cmpstr(reason, ==, want);
}

static void test_plugin_loader_refuse_empty_name(void) {
  g_test_summary("An empty plugin name is refused at 'name'.");
  reset();
  g_autofree char *reason = expect_refusal("msc-test-empty-name.so", MSC_ERR_INVALID_ARG, "name");
  if (!reason) return;
  g_assert_cmpstr(reason, ==, "empty name");
}

static void test_plugin_loader_refuse_bad_name(void) {
  g_test_summary("A name outside [a-z0-9_-] is refused at 'name', quoting it.");
  reset();
  g_autofree char *reason = expect_refusal("msc-test-bad-name.so", MSC_ERR_INVALID_ARG, "name");
  if (!reason) return;
  g_assert_cmpstr(reason, ==, "'Bad.Name' is not a valid name (1-64 of [a-z0-9_-])");
}

static void test_plugin_loader_refuse_bad_kind(void) {
  g_test_summary("A kind outside tool/runner/op is refused at 'kind' with the value.");
  reset();
  g_autofree char *reason = expect_refusal("msc-test-bad-kind.so", MSC_ERR_ABI, "kind");
  if (!reason) return;
  g_assert_cmpstr(reason, ==, "invalid kind 9 (expected 1=tool, 2=runner, 3=op)");
  g_assert_null(msc_plugin_find("bad-kind"));
}

static void test_plugin_loader_refuse_duplicate_name(void) {
  g_test_summary("A second plugin with a loaded plugin's name is refused at 'name' naming the first file; "
                 "the first stays loaded and the second's init never runs.");
  reset();
  g_autofree char *a = plugin_path("msc-test-dup-a.so");
  if (!require_file(a)) return;
  GError *err = NULL;
  MscPlugin *pa = msc_plugin_load_file(a, &err);
  g_assert_no_error(err);
  g_assert_nonnull(pa);
  g_autofree char *reason = expect_refusal("msc-test-dup-b.so", MSC_ERR_INVALID_ARG, "name");
  if (!reason) return;
  g_autofree char *want = g_strdup_printf("'dup' already taken by the plugin loaded from %s", a);
  g_assert_cmpstr(reason, ==, want);
  g_assert_true(msc_plugin_find("dup") == pa);
  g_assert_nonnull(msc_registry_get("msc.test.dup.a", MSC_REG_OBJECT, TRUE, NULL));
  g_assert_null(msc_registry_get("msc.test.dup.b", 0, TRUE, NULL));
}

static void test_plugin_loader_refuse_reserved_name(void) {
  g_test_summary("A plugin named 'core' (the built-ins' owner) is refused at 'name'.");
  reset();
  g_autofree char *reason = expect_refusal("msc-test-reserved-name.so", MSC_ERR_INVALID_ARG, "name");
  if (!reason) return;
  g_assert_cmpstr(reason, ==, "'core' is reserved for the built-ins");
}

static void test_plugin_loader_host_api_registry_remove_owned_only(void) {
  g_test_summary("host->registry_remove removes only entries the calling plugin owns: not the core's, not "
                 "missing ones.");
  reset();
  g_autofree char *path = plugin_path("msc-test-good-tool.so");
  if (!require_file(path)) return;
  static int core_obj;
  GError *err = NULL;
  g_assert_true(msc_registry_add("msc.test.core-owned", &core_obj, MSC_REG_OBJECT, "core", "test", FALSE, &err));
  g_assert_no_error(err);
  MscPlugin *p = msc_plugin_load_file(path, &err);
  g_assert_no_error(err);
  const MscHostApi *host = msc_host_api();
  g_assert_cmpint(host->registry_remove(p, "msc.test.core-owned"), ==, 0);
  g_assert_true(msc_registry_get("msc.test.core-owned", MSC_REG_OBJECT, TRUE, NULL) == &core_obj);
  g_assert_cmpint(host->registry_remove(p, "msc.test.no-such-entry"), ==, 0);
  /* its own entry it may remove */
  g_assert_cmpint(host->registry_remove(p, "msc.tool.test-tool"), ==, 1);
  g_assert_null(msc_registry_get("msc.tool.test-tool", 0, TRUE, NULL));
  g_assert_true(msc_registry_remove("msc.test.core-owned"));
}

static void test_plugin_loader_refuse_init_rolls_back(void) {
  g_test_summary("A failing init is refused at 'init' quoting the plugin's message and status; everything it "
                 "registered (a function and an op) is rolled back; good plugins still load after it.");
  reset();
  g_autofree char *reason = expect_refusal("msc-test-init-fail.so", MSC_ERR_INVALID_ARG, "init");
  if (!reason) return;
  g_assert_cmpstr(reason, ==,
                  "failed with invalid argument (1): option 'threshold' missing (needed by init-fail) "
                  "(rolled back 2 registry entries)");
  g_assert_false(registry_has_owner("init-fail"));
  g_assert_null(msc_registry_get("msc.test.init-fail.helper", 0, TRUE, NULL));
  g_assert_null(msc_op_lookup("com.example", "InitFail", 1));
  g_assert_null(msc_plugin_find("init-fail"));

  g_autofree char *good = plugin_path("msc-test-good-op.so");
  GError *err = NULL;
  g_assert_nonnull(msc_plugin_load_file(good, &err));
  g_assert_no_error(err);
}

static void test_plugin_loader_refuse_world_writable_file(void) {
  g_test_summary("A world-writable plugin file is refused at 'permissions' with its mode.");
  reset();
  g_autofree char *src = plugin_path("msc-test-good-tool.so");
  if (!require_file(src)) return;
  g_autofree char *tmp = g_dir_make_tmp("msc-plugin-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(tmp, "ww.so", NULL);
  g_assert_true(copy_file(src, path, 0666));
  GError *err = NULL;
  g_assert_null(msc_plugin_load_file(path, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_ABI);
  g_autofree char *want = g_strdup_printf("%s: permissions: file is world-writable (mode 0666)", path);
  g_assert_cmpstr(err->message, ==, want);
  g_clear_error(&err);
  g_assert_null(msc_plugin_find("test-tool"));
  /* fixed permissions: the same file loads */
  g_assert_cmpint(chmod(path, 0644), ==, 0);
  g_assert_nonnull(msc_plugin_load_file(path, &err));
  g_assert_no_error(err);
  msc_plugins_unload_all();
  rm_rf(tmp);
}

static void test_plugin_loader_refuse_world_writable_dir(void) {
  g_test_summary("A plugin in a world-writable directory is refused at 'permissions' naming the directory.");
  reset();
  g_autofree char *src = plugin_path("msc-test-good-tool.so");
  if (!require_file(src)) return;
  g_autofree char *tmp = g_dir_make_tmp("msc-plugin-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename(tmp, "open", NULL);
  g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
  g_assert_cmpint(chmod(dir, 0777), ==, 0);
  g_autofree char *path = g_build_filename(dir, "tool.so", NULL);
  g_assert_true(copy_file(src, path, 0644));
  GError *err = NULL;
  g_assert_null(msc_plugin_load_file(path, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_ABI);
  g_autofree char *want = g_strdup_printf("%s: permissions: directory '%s' is world-writable (mode 0777)", path, dir);
  g_assert_cmpstr(err->message, ==, want);
  g_clear_error(&err);
  rm_rf(tmp);
}

/* ---------------------------------------------------------------------- */
/* search order */

static void test_plugin_loader_search_plugin_path_mix(void) {
  g_test_summary("MSC_PLUGIN_PATH naming the dir of good and broken plugins: the good ones load, each broken "
                 "file is recorded once with its check, the scan never stops, and a second scan adds nothing.");
  reset();
  g_autofree char *dir = plugin_dir();
  g_autofree char *probe = plugin_path("msc-test-good-tool.so");
  if (!require_file(probe)) return;
  g_setenv("MSC_PLUGIN_PATH", dir, TRUE);
  GError *err = NULL;
  g_assert_true(msc_plugins_load_all(&err));
  g_assert_no_error(err);

  g_assert_nonnull(msc_plugin_find("test-tool"));
  g_assert_nonnull(msc_plugin_find("test-op"));
  const MscPlugin *dup = msc_plugin_find("dup");
  g_assert_nonnull(dup);
  g_assert_true(g_str_has_suffix(dup->path, "msc-test-dup-a.so")); /* sorted scan: a before b */
  g_assert_nonnull(msc_op_lookup("com.example", "Twice", 1));
  g_assert_false(registry_has_owner("init-fail"));

  static const struct {
    const char *file, *check;
  } broken[] = {
      {"msc-test-abi-major.so", "abi"},         {"msc-test-abi-minor.so", "abi"},
      {"msc-test-bad-kind.so", "kind"},         {"msc-test-bad-name.so", "name"},
      {"msc-test-dup-b.so", "name"},            {"msc-test-empty-name.so", "name"},
      {"msc-test-init-fail.so", "init"},        {"msc-test-no-symbol.so", "symbol"},
      {"msc-test-not-so.so", "dlopen"},         {"msc-test-reserved-name.so", "name"},
      {"msc-test-struct-size.so", "struct_size"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(broken); i++) {
    g_autofree char *path = g_build_filename(dir, broken[i].file, NULL);
    g_autofree char *msg = failure_for(path);
    if (!msg) g_error("no failure recorded for %s", path);
    g_autofree char *prefix = g_strdup_printf("%s: %s: ", path, broken[i].check);
    if (!g_str_has_prefix(msg, prefix)) g_error("failure for %s: expected prefix \"%s\": \"%s\"", path, prefix, msg);
  }
  /* nothing else from that dir failed, and nothing is recorded twice */
  GPtrArray *f = msc_plugins_failures();
  guint in_dir = 0;
  for (guint i = 0; i < f->len; i++)
    if (g_str_has_prefix(((MscPluginFailure *)g_ptr_array_index(f, i))->path, dir)) in_dir++;
  g_assert_cmpuint(in_dir, ==, G_N_ELEMENTS(broken));
  guint total = f->len;
  g_ptr_array_unref(f);

  GPtrArray *l = msc_plugins_loaded();
  guint n_loaded = l->len;
  g_ptr_array_unref(l);
  g_assert_true(msc_plugins_load_all(&err));
  g_assert_no_error(err);
  f = msc_plugins_failures();
  g_assert_cmpuint(f->len, ==, total);
  g_ptr_array_unref(f);
  l = msc_plugins_loaded();
  g_assert_cmpuint(l->len, ==, n_loaded);
  g_ptr_array_unref(l);

  msc_plugins_unload_all();
  f = msc_plugins_failures();
  g_assert_cmpuint(f->len, ==, 0);
  g_ptr_array_unref(f);
}

static void test_plugin_loader_search_relative_entry_refused(void) {
  g_test_summary("Relative MSC_PLUGIN_PATH entries ('.' and 'plugins') are refused with a warning and recorded; "
                 "the absolute entry after them is still scanned.");
  reset();
  g_autofree char *dir = plugin_dir();
  g_autofree char *probe = plugin_path("msc-test-good-tool.so");
  if (!require_file(probe)) return;
  g_autofree char *value = g_strdup_printf(".:plugins::%s", dir);
  g_setenv("MSC_PLUGIN_PATH", value, TRUE);
  g_test_expect_message(MSC_PLUGIN_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MSC_PLUGIN_PATH: '.': relative entry refused*");
  g_test_expect_message(MSC_PLUGIN_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                        "MSC_PLUGIN_PATH: 'plugins': relative entry refused*");
  g_assert_true(msc_plugins_load_all(NULL));
  g_test_assert_expected_messages();
  g_autofree char *m1 = failure_for(".");
  g_autofree char *m2 = failure_for("plugins");
  g_assert_nonnull(m1);
  g_assert_nonnull(m2);
  g_assert_nonnull(strstr(m1, "relative entry refused"));
  g_assert_nonnull(msc_plugin_find("test-tool"));
}

static void test_plugin_loader_search_current_dir_never(void) {
  g_test_summary("With the current directory full of plugins and an empty or ':' MSC_PLUGIN_PATH, nothing from "
                 "it is loaded or even tried.");
  reset();
  g_autofree char *dir = plugin_dir();
  g_autofree char *probe = plugin_path("msc-test-good-tool.so");
  if (!require_file(probe)) return;
  g_autofree char *cwd = g_get_current_dir();
  g_assert_cmpint(chdir(dir), ==, 0);
  const char *values[] = {"", ":", "::"};
  for (guint i = 0; i < G_N_ELEMENTS(values); i++) {
    g_setenv("MSC_PLUGIN_PATH", values[i], TRUE);
    g_assert_true(msc_plugins_load_all(NULL));
    g_assert_null(msc_plugin_find("test-tool"));
    g_assert_null(msc_plugin_find("test-op"));
    GPtrArray *f = msc_plugins_failures();
    for (guint k = 0; k < f->len; k++) {
      const MscPluginFailure *x = g_ptr_array_index(f, k);
      g_assert_false(g_str_has_prefix(x->message, "msc-test-"));
      g_assert_false(g_str_has_prefix(x->path, dir));
    }
    g_ptr_array_unref(f);
  }
  g_assert_cmpint(chdir(cwd), ==, 0);
}

static void test_plugin_loader_search_name_clash_across_dirs(void) {
  g_test_summary("The same plugin name in two MSC_PLUGIN_PATH dirs: the earlier dir wins, the later file is "
                 "refused as a name clash naming the earlier file.");
  reset();
  g_autofree char *src = plugin_path("msc-test-good-tool.so");
  if (!require_file(src)) return;
  g_autofree char *dir = plugin_dir();
  g_autofree char *tmp = g_dir_make_tmp("msc-plugin-XXXXXX", NULL);
  g_autofree char *first = g_build_filename(tmp, "sub", "copy-of-tool.so", NULL);
  g_autofree char *sub = g_path_get_dirname(first);
  g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
  g_assert_true(copy_file(src, first, 0644));
  g_autofree char *value = g_strdup_printf("%s:%s", tmp, dir);
  g_setenv("MSC_PLUGIN_PATH", value, TRUE);
  g_assert_true(msc_plugins_load_all(NULL));
  const MscPlugin *p = msc_plugin_find("test-tool");
  g_assert_nonnull(p);
  g_assert_cmpstr(p->path, ==, first); /* found recursively, depth 1 */
  g_autofree char *msg = failure_for(src);
  g_assert_nonnull(msg);
  g_autofree char *want =
      g_strdup_printf("%s: name: 'test-tool' already taken by the plugin loaded from %s", src, first);
  g_assert_cmpstr(msg, ==, want);
  msc_plugins_unload_all();
  rm_rf(tmp);
}

static void test_plugin_loader_search_build_tree(void) {
  g_test_summary("Every .so below the build tree's plugin dir is either loaded or recorded as refused (nothing "
                 "dropped silently); MSC_NO_BUILD_PLUGINS=1 skips the dir.");
  reset();
  GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
  /* what scan_dir should find: *.so regular files, depth <= 3, no *.p dirs */
  GPtrArray *stack = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(stack, g_strdup(MSC_BUILD_PLUGIN_DIR));
  GArray *depths = g_array_new(FALSE, FALSE, sizeof(int));
  int zero = 0;
  g_array_append_val(depths, zero);
  while (stack->len) {
    char *d = g_ptr_array_steal_index(stack, stack->len - 1);
    int depth = g_array_index(depths, int, depths->len - 1);
    g_array_set_size(depths, depths->len - 1);
    GDir *gd = g_dir_open(d, 0, NULL);
    const char *n;
    while (gd && (n = g_dir_read_name(gd))) {
      if (n[0] == '.') continue;
      char *full = g_build_filename(d, n, NULL);
      if (g_str_has_suffix(n, ".so") && g_file_test(full, G_FILE_TEST_IS_REGULAR)) {
        g_ptr_array_add(files, full);
      } else if (depth < 3 && !g_str_has_suffix(n, ".p") && g_file_test(full, G_FILE_TEST_IS_DIR)) {
        g_ptr_array_add(stack, full);
        int nd = depth + 1;
        g_array_append_val(depths, nd);
      } else {
        g_free(full);
      }
    }
    if (gd) g_dir_close(gd);
    g_free(d);
  }
  g_ptr_array_unref(stack);
  g_array_unref(depths);

  g_assert_true(msc_plugins_load_all(NULL)); /* MSC_NO_BUILD_PLUGINS=1 from reset() */
  GPtrArray *l = msc_plugins_loaded();
  for (guint i = 0; i < l->len; i++)
    g_assert_false(g_str_has_prefix(((MscPlugin *)g_ptr_array_index(l, i))->path, MSC_BUILD_PLUGIN_DIR));
  g_ptr_array_unref(l);

  msc_plugins_unload_all();
  g_unsetenv("MSC_NO_BUILD_PLUGINS");
  g_assert_true(msc_plugins_load_all(NULL));
  l = msc_plugins_loaded();
  for (guint i = 0; i < files->len; i++) {
    const char *file = g_ptr_array_index(files, i);
    gboolean seen = FALSE;
    for (guint k = 0; k < l->len; k++)
      if (strcmp(((MscPlugin *)g_ptr_array_index(l, k))->path, file) == 0) seen = TRUE;
    g_autofree char *msg = failure_for(file);
    if (!seen && !msg) g_error("%s: neither loaded nor refused", file);
  }
  g_test_message("%u plugin files under %s", files->len, MSC_BUILD_PLUGIN_DIR);
  g_ptr_array_unref(l);
  g_ptr_array_unref(files);
  msc_plugins_unload_all();
}

/* ---------------------------------------------------------------------- */
/* threads */

static gpointer load_thread(gpointer data) {
  const char *path = data;
  GError *err = NULL;
  MscPlugin *p = NULL;
  for (int i = 0; i < 20; i++) {
    p = msc_plugin_load_file(path, &err);
    g_assert_no_error(err);
    GPtrArray *l = msc_plugins_loaded();
    g_ptr_array_unref(l);
  }
  return p;
}

static void test_plugin_loader_threads_concurrent_loads(void) {
  g_test_summary("Eight threads loading the same two plugins concurrently get one plugin per file.");
  reset();
  g_autofree char *tool = plugin_path("msc-test-good-tool.so");
  g_autofree char *op = plugin_path("msc-test-good-op.so");
  if (!require_file(tool) || !require_file(op)) return;
  GThread *th[8];
  for (int i = 0; i < 8; i++) th[i] = g_thread_new("load", load_thread, i % 2 ? op : tool);
  gpointer res[8];
  for (int i = 0; i < 8; i++) res[i] = g_thread_join(th[i]);
  for (int i = 2; i < 8; i++) g_assert_true(res[i] == res[i % 2]);
  g_assert_true(res[0] != res[1]);
  GPtrArray *l = msc_plugins_loaded();
  g_assert_cmpuint(l->len, ==, 2);
  g_ptr_array_unref(l);
}

/* ---------------------------------------------------------------------- */
/* host API */

static void test_plugin_loader_host_api_table(void) {
  g_test_summary("The host table carries the host ABI and its own size, and every 1.0 entry is set.");
  const MscHostApi *h = msc_host_api();
  g_assert_cmpuint(h->abi_major, ==, MSC_ABI_MAJOR);
  g_assert_cmpuint(h->abi_minor, ==, MSC_ABI_MINOR);
  g_assert_cmpuint(h->struct_size, ==, sizeof(MscHostApi));
  g_assert_true(MSC_HOST_HAS(h, node_execute));
  g_assert_nonnull(h->registry_add);
  g_assert_nonnull(h->registry_get);
  g_assert_nonnull(h->registry_remove);
  g_assert_nonnull(h->message_set);
  g_assert_nonnull(h->log);
  g_assert_nonnull(h->alloc);
  g_assert_nonnull(h->free);
  g_assert_nonnull(h->tensor_new);
  g_assert_nonnull(h->tensor_free);
  g_assert_nonnull(h->op_lookup);
  g_assert_nonnull(h->op_register);
  g_assert_nonnull(h->node_execute);
  /* a plugin built against an older, shorter table sees newer fields as absent */
  MscHostApi shorter = *h;
  shorter.struct_size = (uint32_t)offsetof(MscHostApi, node_execute);
  g_assert_false(MSC_HOST_HAS(&shorter, node_execute));
  g_assert_true(MSC_HOST_HAS(&shorter, op_register));
}

static MscStatus dummy_op_fn(MscOpCtx *ctx) {
  return MSC_OK;
}

static void test_plugin_loader_host_api_registry(void) {
  g_test_summary("host->registry_add records the plugin as owner, rejects a taken name with the registry's "
                 "message and a foreign handle with its own; registry_get filters by kind.");
  reset();
  g_autofree char *path = plugin_path("msc-test-good-tool.so");
  if (!require_file(path)) return;
  MscPlugin *p = msc_plugin_load_file(path, NULL);
  g_assert_nonnull(p);
  const MscHostApi *h = msc_host_api();
  static int obj;
  MscMessage msg = {NULL};
  g_assert_cmpint(h->registry_add(p, "msc.test.host.obj", &obj, MSC_KIND_OBJECT, "doc", 0, &msg), ==, MSC_OK);
  g_assert_null(msg.text);
  MscRegEntry e = {0};
  g_assert_true(msc_registry_lookup("msc.test.host.obj", &e));
  g_assert_cmpstr(e.owner, ==, "test-tool");
  g_assert_cmpstr(e.doc, ==, "doc");
  msc_reg_entry_clear(&e);
  g_assert_true(h->registry_get("msc.test.host.obj", MSC_KIND_OBJECT) == &obj);
  g_assert_null(h->registry_get("msc.test.host.obj", MSC_KIND_RUNNER));
  g_assert_null(h->registry_get("msc.test.host.missing", MSC_KIND_OBJECT));

  g_assert_cmpint(h->registry_add(p, "msc.test.host.obj", &obj, MSC_KIND_OBJECT, "again", 0, &msg), ==,
                  MSC_ERR_INVALID_ARG);
  g_assert_nonnull(msg.text);
  g_assert_nonnull(strstr(msg.text, "test-tool")); /* names the owner */

  MscPlugin fake = {0};
  fake.name = (char *)"test-tool";
  g_assert_cmpint(h->registry_add(&fake, "msc.test.host.fake", &obj, MSC_KIND_OBJECT, NULL, 0, &msg), ==,
                  MSC_ERR_INVALID_ARG);
  g_assert_cmpstr(msg.text, ==, "registry_add: 'msc.test.host.fake': invalid plugin handle");
  g_assert_cmpint(h->registry_add(p, "msc.test.host.kind", &obj, (MscKind)42, NULL, 0, &msg), ==,
                  MSC_ERR_INVALID_ARG);
  g_assert_cmpstr(msg.text, ==, "plugin 'test-tool': registry_add: 'msc.test.host.kind': invalid kind 42 (expected 1..5)");

  /* interfaces are checked at registration: struct_size and entry points */
  MscRunnerApi small_runner = {.struct_size = 8};
  g_assert_cmpint(h->registry_add(p, "msc.runner.small", &small_runner, MSC_KIND_RUNNER, NULL, 0, &msg), ==,
                  MSC_ERR_ABI);
  g_autofree char *want_small =
      g_strdup_printf("plugin 'test-tool': registry_add: 'msc.runner.small': struct_size 8, host reads %zu",
                      sizeof(MscRunnerApi));
  g_assert_cmpstr(msg.text, ==, want_small);
  const MscToolApi *real = msc_registry_get("msc.tool.test-tool", MSC_REG_TOOL, FALSE, NULL);
  MscToolApi partial = *real;
  partial.observe = NULL;
  g_assert_cmpint(h->registry_add(p, "msc.tool.partial", &partial, MSC_KIND_TOOL, NULL, 0, &msg), ==, MSC_ERR_ABI);
  g_assert_cmpstr(msg.text, ==, "plugin 'test-tool': registry_add: 'msc.tool.partial': observe is NULL");
  MscOpDef small_op = {.struct_size = 4, .op_type = "Small"};
  g_assert_cmpint(h->op_register(p, &small_op, 0, &msg), ==, MSC_ERR_INVALID_ARG); /* no infer/run */
  small_op.infer = dummy_op_fn;
  small_op.run = dummy_op_fn;
  g_assert_cmpint(h->op_register(p, &small_op, 0, &msg), ==, MSC_ERR_ABI);
  g_autofree char *want_op =
      g_strdup_printf("plugin 'test-tool': op_register: Small: struct_size 4, host reads %zu", sizeof(MscOpDef));
  g_assert_cmpstr(msg.text, ==, want_op);
  g_assert_null(msc_op_lookup("", "Small", 1));
  g_assert_null(msc_registry_get("msc.runner.small", 0, TRUE, NULL));
  g_assert_null(msc_registry_get("msc.tool.partial", 0, TRUE, NULL));
  g_free(msg.text);

  g_auto(GStrv) names = msc_plugin_dup_registered(p);
  g_assert_cmpuint(g_strv_length(names), ==, 2);
  g_assert_cmpstr(names[0], ==, "msc.test.host.obj");
  g_assert_cmpstr(names[1], ==, "msc.tool.test-tool");
  msc_plugins_unload_all();
  g_assert_null(msc_registry_get("msc.test.host.obj", 0, TRUE, NULL));
}

static void test_plugin_loader_host_api_message_set(void) {
  g_test_summary("message_set formats, replaces (frees) an earlier text and folds newlines into one line.");
  const MscHostApi *h = msc_host_api();
  MscMessage msg = {NULL};
  h->message_set(&msg, "first %d", 1);
  g_assert_cmpstr(msg.text, ==, "first 1");
  h->message_set(&msg, "line one\nline %s", "two");
  g_assert_cmpstr(msg.text, ==, "line one line two");
  h->message_set(NULL, "ignored");
  g_free(msg.text);
}

static void test_plugin_loader_host_api_memory(void) {
  g_test_summary("alloc returns zeroed 64-byte aligned memory; tensor_new validates and allocates.");
  const MscHostApi *h = msc_host_api();
  unsigned char *p = h->alloc(100);
  g_assert_nonnull(p);
  g_assert_cmpuint((uintptr_t)p % 64, ==, 0);
  for (int i = 0; i < 100; i++) g_assert_cmpuint(p[i], ==, 0);
  h->free(p);
  const int64_t dims[2] = {3, 5};
  MscTensor *t = h->tensor_new(MSC_DTYPE_FLOAT32, 2, dims);
  g_assert_nonnull(t);
  g_assert_cmpuint(t->nbytes, ==, 60);
  h->tensor_free(t);
  const int64_t bad[1] = {-4};
  g_assert_null(h->tensor_new(MSC_DTYPE_FLOAT32, 1, bad));
}

static void test_plugin_loader_host_api_log(void) {
  g_test_summary("host->log: warnings and errors reach GLib (errors prefixed, never fatal-level ERROR); "
                 "MSC_LOG=none drops them; MSC_LOG=info shows info but not debug.");
  if (g_test_subprocess()) {
    const MscHostApi *h = msc_host_api();
    const char *mode = g_getenv("MSC_TEST_LOG_MODE");
    if (g_strcmp0(mode, "none") == 0) {
      g_setenv("MSC_LOG", "none", TRUE);
      h->log(MSC_LOG_ERROR, "msc-test", "dropped error"); /* would abort (fatal warnings) if emitted */
      h->log(MSC_LOG_WARNING, "msc-test", "dropped warning");
    } else {
      g_setenv("MSC_LOG", "info", TRUE);
      h->log(MSC_LOG_INFO, "msc-test", "shown info %d", 7);
      h->log(MSC_LOG_DEBUG, "msc-test", "hidden debug");
    }
    return;
  }
  g_unsetenv("MSC_LOG");
  const MscHostApi *h = msc_host_api();
  g_test_expect_message("msc-test", G_LOG_LEVEL_WARNING, "careful 42");
  h->log(MSC_LOG_WARNING, "msc-test", "careful %d", 42);
  g_test_expect_message("msc-test", G_LOG_LEVEL_WARNING, "error: broken");
  h->log(MSC_LOG_ERROR, "msc-test", "broken");
  g_test_assert_expected_messages();

  g_setenv("MSC_TEST_LOG_MODE", "none", TRUE);
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed();
  g_test_trap_assert_stderr_unmatched("*dropped*");
  g_setenv("MSC_TEST_LOG_MODE", "info", TRUE);
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed();
  g_test_trap_assert_stderr("*msc-test-Message*shown info 7*");
  g_test_trap_assert_stderr_unmatched("*hidden debug*");
  g_unsetenv("MSC_TEST_LOG_MODE");
}

/* ---------------------------------------------------------------------- */
/* the example tool plugin */

static void add_node(MscGraph *g, const char *name, const char *op, MscValue *in, MscValue *out) {
  MscNode *n = msc_graph_add_node(g, name, op, "", 13);
  msc_node_set_io(n, &in, 1, &out, 1);
}

static void test_plugin_loader_example_count_ops(void) {
  g_test_summary("examples/tool-example (count-ops) loads, rejects an unknown option naming it, counts observed "
                 "nodes per op type and exports them as JSON.");
  reset();
  g_autofree char *path = example_path();
  if (!require_file(path)) return;
  GError *err = NULL;
  MscPlugin *p = msc_plugin_load_file(path, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(p->name, ==, "count-ops");
  const MscToolApi *api = msc_registry_get("msc.tool.count-ops", MSC_REG_TOOL, FALSE, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(api->n_options, ==, 1);

  MscMessage msg = {NULL};
  void *state = NULL;
  const char *bad_k[] = {"colour"}, *bad_v[] = {"red"};
  MscOptions bad = {bad_k, bad_v, 1};
  g_assert_cmpint(api->setup(&bad, &state, &msg), ==, MSC_ERR_INVALID_ARG);
  g_assert_cmpstr(msg.text, ==, "count-ops: unknown option 'colour' (known: with_domain)");
  g_clear_pointer(&msg.text, g_free);

  /* X -> Relu -> a -> Relu -> b -> Sigmoid -> Y */
  g_autoptr(MscGraph) g = msc_graph_new("chain");
  MscValue *x = msc_graph_get_or_add_value(g, "X"), *a = msc_graph_get_or_add_value(g, "a");
  MscValue *b = msc_graph_get_or_add_value(g, "b"), *y = msc_graph_get_or_add_value(g, "Y");
  add_node(g, "r0", "Relu", x, a);
  add_node(g, "r1", "Relu", a, b);
  add_node(g, "s0", "Sigmoid", b, y);

  const char *k[] = {"with_domain"}, *v[] = {"true"};
  MscOptions opts = {k, v, 1};
  g_assert_cmpint(api->setup(&opts, &state, &msg), ==, MSC_OK);
  const int64_t dims[2] = {2, 5};
  g_autoptr(MscTensor) t = msc_tensor_new(MSC_DTYPE_FLOAT32, 2, dims, NULL);
  const MscTensor *outs[1] = {t};
  for (int sample = 0; sample < 2; sample++)
    for (uint32_t i = 0; i < g->n_nodes; i++) g_assert_cmpint(api->observe(state, g->nodes[i], outs, 1, &msg), ==, MSC_OK);
  g_assert_cmpint(api->plan(state, g, &msg), ==, MSC_OK);
  g_assert_cmpint(api->apply(state, g, &msg), ==, MSC_OK);
  g_assert_cmpuint(g->n_nodes, ==, 3);

  g_autofree char *tmp = g_dir_make_tmp("msc-plugin-XXXXXX", NULL);
  g_autofree char *json = g_build_filename(tmp, "plan.json", NULL);
  g_assert_cmpint(api->export_plan(state, json, &msg), ==, MSC_OK);
  g_autofree char *missing = g_build_filename(tmp, "no", "such", "dir.json", NULL);
  g_assert_cmpint(api->export_plan(state, missing, &msg), ==, MSC_ERR_IO);
  g_assert_nonnull(strstr(msg.text, missing));
  g_clear_pointer(&msg.text, g_free);
  api->destroy(state);

  g_autoptr(JsonParser) parser = json_parser_new();
  g_assert_true(json_parser_load_from_file(parser, json, &err));
  g_assert_no_error(err);
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  g_assert_cmpstr(json_object_get_string_member(root, "tool"), ==, "count-ops");
  g_assert_cmpint(json_object_get_int_member(root, "graph_nodes"), ==, 3);
  JsonArray *ops = json_object_get_array_member(root, "op_types");
  g_assert_cmpuint(json_array_get_length(ops), ==, 2);
  JsonObject *relu = json_array_get_object_element(ops, 0); /* sorted by op type */
  g_assert_cmpstr(json_object_get_string_member(relu, "op_type"), ==, "Relu");
  g_assert_cmpint(json_object_get_int_member(relu, "graph_nodes"), ==, 2);
  g_assert_cmpint(json_object_get_int_member(relu, "nodes"), ==, 2);
  g_assert_cmpint(json_object_get_int_member(relu, "observed"), ==, 4);
  g_assert_cmpint(json_object_get_int_member(relu, "output_elements"), ==, 40);
  JsonObject *sig = json_array_get_object_element(ops, 1);
  g_assert_cmpstr(json_object_get_string_member(sig, "op_type"), ==, "Sigmoid");
  g_assert_cmpint(json_object_get_int_member(sig, "nodes"), ==, 1);
  g_assert_cmpint(json_object_get_int_member(sig, "observed"), ==, 2);
  rm_rf(tmp);
  msc_plugins_unload_all();
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/plugin-loader/load/good-tool", test_plugin_loader_load_good_tool);
  g_test_add_func("/plugin-loader/load/good-op-executes", test_plugin_loader_load_good_op_executes);
  g_test_add_func("/plugin-loader/load/good-op-ref-runner", test_plugin_loader_load_good_op_ref_runner);
  g_test_add_func("/plugin-loader/refuse/stat-missing", test_plugin_loader_refuse_stat_missing);
  g_test_add_func("/plugin-loader/refuse/stat-not-regular", test_plugin_loader_refuse_stat_not_regular);
  g_test_add_func("/plugin-loader/refuse/dlopen-not-shared-object", test_plugin_loader_refuse_dlopen_not_shared_object);
  g_test_add_func("/plugin-loader/refuse/no-symbol", test_plugin_loader_refuse_no_symbol);
  g_test_add_func("/plugin-loader/refuse/abi-major", test_plugin_loader_refuse_abi_major);
  g_test_add_func("/plugin-loader/refuse/abi-minor", test_plugin_loader_refuse_abi_minor);
  g_test_add_func("/plugin-loader/refuse/struct-size", test_plugin_loader_refuse_struct_size);
  g_test_add_func("/plugin-loader/refuse/empty-name", test_plugin_loader_refuse_empty_name);
  g_test_add_func("/plugin-loader/refuse/bad-name", test_plugin_loader_refuse_bad_name);
  g_test_add_func("/plugin-loader/refuse/bad-kind", test_plugin_loader_refuse_bad_kind);
  g_test_add_func("/plugin-loader/refuse/duplicate-name", test_plugin_loader_refuse_duplicate_name);
  g_test_add_func("/plugin-loader/refuse/init-failure-rolls-back", test_plugin_loader_refuse_init_rolls_back);
  g_test_add_func("/plugin-loader/refuse/world-writable-file", test_plugin_loader_refuse_world_writable_file);
  g_test_add_func("/plugin-loader/refuse/world-writable-dir", test_plugin_loader_refuse_world_writable_dir);
  g_test_add_func("/plugin-loader/refuse/reserved-name", test_plugin_loader_refuse_reserved_name);
  g_test_add_func("/plugin-loader/host-api/registry-remove-owned-only",
                  test_plugin_loader_host_api_registry_remove_owned_only);
  g_test_add_func("/plugin-loader/search/plugin-path-mix", test_plugin_loader_search_plugin_path_mix);
  g_test_add_func("/plugin-loader/search/relative-entry-refused", test_plugin_loader_search_relative_entry_refused);
  g_test_add_func("/plugin-loader/search/current-dir-never", test_plugin_loader_search_current_dir_never);
  g_test_add_func("/plugin-loader/search/name-clash-across-dirs", test_plugin_loader_search_name_clash_across_dirs);
  g_test_add_func("/plugin-loader/search/build-tree", test_plugin_loader_search_build_tree);
  g_test_add_func("/plugin-loader/threads/concurrent-loads", test_plugin_loader_threads_concurrent_loads);
  g_test_add_func("/plugin-loader/host-api/table", test_plugin_loader_host_api_table);
  g_test_add_func("/plugin-loader/host-api/registry", test_plugin_loader_host_api_registry);
  g_test_add_func("/plugin-loader/host-api/message-set", test_plugin_loader_host_api_message_set);
  g_test_add_func("/plugin-loader/host-api/memory", test_plugin_loader_host_api_memory);
  g_test_add_func("/plugin-loader/host-api/log", test_plugin_loader_host_api_log);
  g_test_add_func("/plugin-loader/example/count-ops", test_plugin_loader_example_count_ops);
  int rc = g_test_run();
  msc_plugins_unload_all();
  return rc;
}
