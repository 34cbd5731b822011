/* test-registry.c: the global registry (core/registry.h): add/get/lookup,
 * duplicates and override, allow_missing, kind checks, list by prefix and
 * kind, remove and remove_owner, and concurrent use from 8 threads. */
#include <string.h>

#include "error.h"
#include "registry.h"

static int obj_a, obj_b, obj_c, obj_d;

static void add_ok(const char *name, void *ptr, MscRegKind kind, const char *owner, const char *doc) {
  GError *err = NULL;
  gboolean ok = msc_registry_add(name, ptr, kind, owner, doc, FALSE, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
}

static void test_registry_add_get(void) {
  g_test_summary("An added entry is found by name with its pointer, kind, owner and doc (copied strings).");
  msc_registry_reset();
  char name[] = "msc.test.fn";
  char owner[] = "plugin-a";
  char doc[] = "does things";
  add_ok(name, &obj_a, MSC_REG_FUNCTION, owner, doc);
  /* the registry copied the strings: scribbling on ours changes nothing */
  memset(name, 'x', sizeof name - 1);
  memset(owner, 'x', sizeof owner - 1);
  memset(doc, 'x', sizeof doc - 1);

  GError *err = NULL;
  g_assert_true(msc_registry_get("msc.test.fn", MSC_REG_FUNCTION, FALSE, &err) == &obj_a);
  g_assert_no_error(err);
  g_assert_true(msc_registry_get("msc.test.fn", 0, FALSE, &err) == &obj_a); /* kind 0: any */
  g_assert_no_error(err);

  MscRegEntry e = {0};
  g_assert_true(msc_registry_lookup("msc.test.fn", &e));
  g_assert_cmpstr(e.name, ==, "msc.test.fn");
  g_assert_true(e.ptr == &obj_a);
  g_assert_cmpint(e.kind, ==, MSC_REG_FUNCTION);
  g_assert_cmpstr(e.owner, ==, "plugin-a");
  g_assert_cmpstr(e.doc, ==, "does things");
  msc_reg_entry_clear(&e);
  g_assert_null(e.name);
  g_assert_false(msc_registry_lookup("msc.test.absent", &e));

  /* NULL owner means the core; NULL doc is empty */
  add_ok("msc.test.builtin", &obj_b, MSC_REG_OBJECT, NULL, NULL);
  g_assert_true(msc_registry_lookup("msc.test.builtin", &e));
  g_assert_cmpstr(e.owner, ==, "core");
  g_assert_cmpstr(e.doc, ==, "");
  msc_reg_entry_clear(&e);
}

static void test_registry_add_duplicate_rejected(void) {
  g_test_summary("Adding a taken name without override fails with INVALID_ARG naming the entry and its owner, "
                 "and keeps the first entry.");
  msc_registry_reset();
  add_ok("msc.runner.fast", &obj_a, MSC_REG_RUNNER, "plugin-a", "first");
  GError *err = NULL;
  g_assert_false(msc_registry_add("msc.runner.fast", &obj_b, MSC_REG_RUNNER, "plugin-b", "second", FALSE, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err->message, "msc.runner.fast"));
  g_assert_nonnull(strstr(err->message, "plugin-a"));
  g_assert_null(strchr(err->message, '\n'));
  g_clear_error(&err);
  g_assert_true(msc_registry_get("msc.runner.fast", MSC_REG_RUNNER, FALSE, NULL) == &obj_a);
  MscRegEntry e = {0};
  g_assert_true(msc_registry_lookup("msc.runner.fast", &e));
  g_assert_cmpstr(e.owner, ==, "plugin-a");
  g_assert_cmpstr(e.doc, ==, "first");
  msc_reg_entry_clear(&e);
  /* the same owner registering twice is also a duplicate */
  g_assert_false(msc_registry_add("msc.runner.fast", &obj_a, MSC_REG_RUNNER, "plugin-a", NULL, FALSE, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_clear_error(&err);
}

static void test_registry_add_override(void) {
  g_test_summary("override replaces pointer, kind, owner and doc of a taken name; on a free name it adds.");
  msc_registry_reset();
  add_ok("msc.op.ai.onnx.Relu.14", &obj_a, MSC_REG_OP, "core", "built-in");
  GError *err = NULL;
  g_assert_true(msc_registry_add("msc.op.ai.onnx.Relu.14", &obj_b, MSC_REG_OP, "fast-ops", "vectorized", TRUE, &err));
  g_assert_no_error(err);
  MscRegEntry e = {0};
  g_assert_true(msc_registry_lookup("msc.op.ai.onnx.Relu.14", &e));
  g_assert_true(e.ptr == &obj_b);
  g_assert_cmpstr(e.owner, ==, "fast-ops");
  g_assert_cmpstr(e.doc, ==, "vectorized");
  msc_reg_entry_clear(&e);
  /* the overriding owner now owns it: removing the old owner leaves it */
  g_assert_cmpuint(msc_registry_remove_owner("core"), ==, 0);
  g_assert_true(msc_registry_get("msc.op.ai.onnx.Relu.14", MSC_REG_OP, FALSE, NULL) == &obj_b);
  g_assert_true(msc_registry_add("msc.test.fresh", &obj_c, MSC_REG_OBJECT, "x", NULL, TRUE, &err));
  g_assert_no_error(err);
  g_assert_true(msc_registry_get("msc.test.fresh", MSC_REG_OBJECT, FALSE, NULL) == &obj_c);
}

static void test_registry_add_invalid(void) {
  g_test_summary("Empty or NULL name, NULL pointer and unknown kinds are rejected with INVALID_ARG.");
  msc_registry_reset();
  GError *err = NULL;
  g_assert_false(msc_registry_add("", &obj_a, MSC_REG_OBJECT, "o", NULL, FALSE, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_clear_error(&err);
  g_assert_false(msc_registry_add(NULL, &obj_a, MSC_REG_OBJECT, "o", NULL, FALSE, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_clear_error(&err);
  g_assert_false(msc_registry_add("msc.test.null", NULL, MSC_REG_OBJECT, "o", NULL, FALSE, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err->message, "msc.test.null"));
  g_clear_error(&err);
  g_assert_false(msc_registry_add("msc.test.kind", &obj_a, (MscRegKind)0, "o", NULL, FALSE, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_clear_error(&err);
  g_assert_false(msc_registry_add("msc.test.kind", &obj_a, (MscRegKind)6, "o", NULL, FALSE, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_clear_error(&err);
  GPtrArray *all = msc_registry_list(NULL, 0);
  g_assert_cmpuint(all->len, ==, 0);
  g_ptr_array_unref(all);
  /* the error is optional */
  g_assert_false(msc_registry_add("", &obj_a, MSC_REG_OBJECT, "o", NULL, FALSE, NULL));
}

static void test_registry_get_allow_missing(void) {
  g_test_summary("A missing name is NULL without an error when allow_missing, NULL plus an error naming it "
                 "otherwise.");
  msc_registry_reset();
  GError *err = NULL;
  g_assert_null(msc_registry_get("msc.runner.nope", MSC_REG_RUNNER, TRUE, &err));
  g_assert_no_error(err);
  g_assert_null(msc_registry_get("msc.runner.nope", MSC_REG_RUNNER, FALSE, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err->message, "msc.runner.nope"));
  g_clear_error(&err);
  g_assert_null(msc_registry_get("msc.runner.nope", 0, FALSE, NULL));
}

static void test_registry_get_kind_mismatch(void) {
  g_test_summary("Getting an entry as another kind is NULL with an error naming both kinds, even with "
                 "allow_missing (the name exists).");
  msc_registry_reset();
  add_ok("msc.tool.quantizer", &obj_a, MSC_REG_TOOL, "quant", NULL);
  GError *err = NULL;
  g_assert_null(msc_registry_get("msc.tool.quantizer", MSC_REG_RUNNER, FALSE, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err->message, "msc.tool.quantizer"));
  g_assert_nonnull(strstr(err->message, "tool"));
  g_assert_nonnull(strstr(err->message, "runner"));
  g_clear_error(&err);
  g_assert_null(msc_registry_get("msc.tool.quantizer", MSC_REG_RUNNER, TRUE, &err));
  g_assert_error(err, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_clear_error(&err);
  g_assert_true(msc_registry_get("msc.tool.quantizer", MSC_REG_TOOL, FALSE, &err) == &obj_a);
  g_assert_no_error(err);
}

static void test_registry_list_prefix_and_kind(void) {
  g_test_summary("list filters by name prefix and kind, sorts by name, and returns copies the caller owns.");
  msc_registry_reset();
  /* added out of order on purpose */
  add_ok("msc.b.z", &obj_c, MSC_REG_TOOL, "o2", "z");
  add_ok("msc.a.y", &obj_b, MSC_REG_RUNNER, "o1", "y");
  add_ok("msc.ab", &obj_d, MSC_REG_TOOL, "o1", "ab");
  add_ok("msc.a.x", &obj_a, MSC_REG_TOOL, "o1", "x");
  add_ok("other.a.x", &obj_a, MSC_REG_TOOL, "o3", NULL);

  GPtrArray *l = msc_registry_list("msc.a.", 0);
  g_assert_cmpuint(l->len, ==, 2);
  g_assert_cmpstr(((MscRegEntry *)g_ptr_array_index(l, 0))->name, ==, "msc.a.x");
  g_assert_cmpstr(((MscRegEntry *)g_ptr_array_index(l, 1))->name, ==, "msc.a.y");
  g_assert_true(((MscRegEntry *)g_ptr_array_index(l, 1))->ptr == &obj_b);
  g_assert_cmpstr(((MscRegEntry *)g_ptr_array_index(l, 1))->owner, ==, "o1");
  /* a copy: changing it leaves the registry alone */
  MscRegEntry *first = g_ptr_array_index(l, 0);
  g_free(first->doc);
  first->doc = g_strdup("changed");
  g_ptr_array_unref(l);
  MscRegEntry e = {0};
  g_assert_true(msc_registry_lookup("msc.a.x", &e));
  g_assert_cmpstr(e.doc, ==, "x");
  msc_reg_entry_clear(&e);

  l = msc_registry_list("msc.", MSC_REG_TOOL);
  g_assert_cmpuint(l->len, ==, 3);
  g_assert_cmpstr(((MscRegEntry *)g_ptr_array_index(l, 0))->name, ==, "msc.a.x");
  g_assert_cmpstr(((MscRegEntry *)g_ptr_array_index(l, 1))->name, ==, "msc.ab");
  g_assert_cmpstr(((MscRegEntry *)g_ptr_array_index(l, 2))->name, ==, "msc.b.z");
  g_ptr_array_unref(l);

  l = msc_registry_list(NULL, MSC_REG_RUNNER);
  g_assert_cmpuint(l->len, ==, 1);
  g_ptr_array_unref(l);
  l = msc_registry_list(NULL, 0);
  g_assert_cmpuint(l->len, ==, 5);
  g_assert_cmpstr(((MscRegEntry *)g_ptr_array_index(l, 4))->name, ==, "other.a.x");
  g_ptr_array_unref(l);
  l = msc_registry_list("nothing.", 0);
  g_assert_cmpuint(l->len, ==, 0);
  g_ptr_array_unref(l);
}

static void test_registry_remove(void) {
  g_test_summary("remove drops one entry (TRUE), is FALSE for an absent name, and the name can be reused.");
  msc_registry_reset();
  add_ok("msc.test.rm", &obj_a, MSC_REG_OBJECT, "o", NULL);
  add_ok("msc.test.keep", &obj_b, MSC_REG_OBJECT, "o", NULL);
  g_assert_true(msc_registry_remove("msc.test.rm"));
  g_assert_null(msc_registry_get("msc.test.rm", 0, TRUE, NULL));
  g_assert_false(msc_registry_remove("msc.test.rm"));
  g_assert_false(msc_registry_remove("msc.test.never"));
  g_assert_true(msc_registry_get("msc.test.keep", 0, TRUE, NULL) == &obj_b);
  add_ok("msc.test.rm", &obj_c, MSC_REG_OBJECT, "o2", NULL);
  g_assert_true(msc_registry_get("msc.test.rm", 0, TRUE, NULL) == &obj_c);
}

static void test_registry_remove_owner(void) {
  g_test_summary("remove_owner drops exactly the entries of that owner and returns their count.");
  msc_registry_reset();
  add_ok("msc.p1.a", &obj_a, MSC_REG_OBJECT, "p1", NULL);
  add_ok("msc.p1.b", &obj_b, MSC_REG_FUNCTION, "p1", NULL);
  add_ok("msc.p1.c", &obj_c, MSC_REG_OP, "p1", NULL);
  add_ok("msc.p2.a", &obj_d, MSC_REG_OBJECT, "p2", NULL);
  add_ok("msc.p1x.a", &obj_d, MSC_REG_OBJECT, "p1x", NULL); /* owner match is exact, not a prefix */
  g_assert_cmpuint(msc_registry_remove_owner("p1"), ==, 3);
  g_assert_null(msc_registry_get("msc.p1.a", 0, TRUE, NULL));
  g_assert_null(msc_registry_get("msc.p1.c", 0, TRUE, NULL));
  g_assert_true(msc_registry_get("msc.p2.a", 0, TRUE, NULL) == &obj_d);
  g_assert_true(msc_registry_get("msc.p1x.a", 0, TRUE, NULL) == &obj_d);
  g_assert_cmpuint(msc_registry_remove_owner("p1"), ==, 0);
  g_assert_cmpuint(msc_registry_remove_owner("nobody"), ==, 0);
  GPtrArray *l = msc_registry_list(NULL, 0);
  g_assert_cmpuint(l->len, ==, 2);
  g_ptr_array_unref(l);
}

static void test_registry_reset(void) {
  g_test_summary("reset drops every entry; the registry is usable afterwards.");
  msc_registry_reset();
  add_ok("msc.test.r1", &obj_a, MSC_REG_OBJECT, "o", NULL);
  add_ok("msc.test.r2", &obj_b, MSC_REG_OBJECT, "o", NULL);
  msc_registry_reset();
  GPtrArray *l = msc_registry_list(NULL, 0);
  g_assert_cmpuint(l->len, ==, 0);
  g_ptr_array_unref(l);
  add_ok("msc.test.r1", &obj_c, MSC_REG_OBJECT, "o", NULL);
  g_assert_true(msc_registry_get("msc.test.r1", 0, TRUE, NULL) == &obj_c);
}

/* ---------------------------------------------------------------------- */
/* threads */

#define N_THREADS 8
#define N_PER_THREAD 400

static int slots[N_THREADS][N_PER_THREAD];
static gint shared_wins;

static gpointer registry_thread(gpointer data) {
  int t = GPOINTER_TO_INT(data);
  char owner[32], name[64];
  g_snprintf(owner, sizeof owner, "thread-%d", t);
  /* everyone races for one name: exactly one add must win */
  if (msc_registry_add("msc.thread.shared", &slots[t][0], MSC_REG_OBJECT, owner, NULL, FALSE, NULL))
    g_atomic_int_inc(&shared_wins);
  for (int i = 0; i < N_PER_THREAD; i++) {
    g_snprintf(name, sizeof name, "msc.thread.%d.%d", t, i);
    GError *err = NULL;
    if (!msc_registry_add(name, &slots[t][i], MSC_REG_OBJECT, owner, "t", FALSE, &err))
      g_error("thread %d: add %s: %s", t, name, err ? err->message : "?");
    if (msc_registry_get(name, MSC_REG_OBJECT, FALSE, NULL) != &slots[t][i]) g_error("thread %d: get %s", t, name);
    /* read another thread's entries while it writes them: either absent or right */
    int o = (t + 1) % N_THREADS;
    g_snprintf(name, sizeof name, "msc.thread.%d.%d", o, i);
    void *p = msc_registry_get(name, MSC_REG_OBJECT, TRUE, NULL);
    if (p && p != &slots[o][i]) g_error("thread %d: foreign get %s", t, name);
    if (i % 50 == 0) {
      GPtrArray *l = msc_registry_list("msc.thread.", 0);
      g_ptr_array_unref(l);
    }
  }
  /* drop the odd ones again */
  for (int i = 1; i < N_PER_THREAD; i += 2) {
    g_snprintf(name, sizeof name, "msc.thread.%d.%d", t, i);
    if (!msc_registry_remove(name)) g_error("thread %d: remove %s", t, name);
  }
  return NULL;
}

static void test_registry_threads_concurrent_add_get(void) {
  g_test_summary("8 threads add, get, list and remove concurrently: one winner for a contested name, every "
                 "entry intact afterwards.");
  msc_registry_reset();
  g_atomic_int_set(&shared_wins, 0);
  GThread *th[N_THREADS];
  for (int t = 0; t < N_THREADS; t++) th[t] = g_thread_new("registry", registry_thread, GINT_TO_POINTER(t));
  for (int t = 0; t < N_THREADS; t++) g_thread_join(th[t]);
  g_assert_cmpint(g_atomic_int_get(&shared_wins), ==, 1);
  GPtrArray *l = msc_registry_list("msc.thread.", 0);
  g_assert_cmpuint(l->len, ==, N_THREADS * N_PER_THREAD / 2 + 1);
  g_ptr_array_unref(l);
  MscRegEntry shared = {0};
  g_assert_true(msc_registry_lookup("msc.thread.shared", &shared));
  char name[64];
  for (int t = 0; t < N_THREADS; t++) {
    for (int i = 0; i < N_PER_THREAD; i++) {
      g_snprintf(name, sizeof name, "msc.thread.%d.%d", t, i);
      void *p = msc_registry_get(name, MSC_REG_OBJECT, TRUE, NULL);
      if (i % 2)
        g_assert_null(p);
      else
        g_assert_true(p == &slots[t][i]);
    }
    char owner[32];
    g_snprintf(owner, sizeof owner, "thread-%d", t);
    gboolean winner = strcmp(shared.owner, owner) == 0;
    g_assert_cmpuint(msc_registry_remove_owner(owner), ==, N_PER_THREAD / 2 + (winner ? 1 : 0));
  }
  msc_reg_entry_clear(&shared);
  l = msc_registry_list("msc.thread.", 0);
  g_assert_cmpuint(l->len, ==, 0);
  g_ptr_array_unref(l);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/registry/add/get", test_registry_add_get);
  g_test_add_func("/registry/add/duplicate-rejected", test_registry_add_duplicate_rejected);
  g_test_add_func("/registry/add/override", test_registry_add_override);
  g_test_add_func("/registry/add/invalid", test_registry_add_invalid);
  g_test_add_func("/registry/get/allow-missing", test_registry_get_allow_missing);
  g_test_add_func("/registry/get/kind-mismatch", test_registry_get_kind_mismatch);
  g_test_add_func("/registry/list/prefix-and-kind", test_registry_list_prefix_and_kind);
  g_test_add_func("/registry/remove/one", test_registry_remove);
  g_test_add_func("/registry/remove/owner", test_registry_remove_owner);
  g_test_add_func("/registry/reset/empties", test_registry_reset);
  g_test_add_func("/registry/threads/concurrent-add-get", test_registry_threads_concurrent_add_get);
  return g_test_run();
}
