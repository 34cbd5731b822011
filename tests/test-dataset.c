/* test-dataset.c: dataset sources (runtime/dataset.h): glyph images equal
 * shared/bench/make-case.js's byte for byte, NHWC is the transpose of
 * NCHW, held-out splits, flat tensor folders, images through gdk-pixbuf,
 * and clear errors for bad folders. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "dataset.h"
#include "error.h"
#include "graph.h"
#include "msc.h"
#include "tensor-io.h"
#include "tensor.h"
#include "onnx.h"
#include "zoo.h"

/* rm -r of a test's temporary folder (flat or one level deep). */
static void msc_remove_tree(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(dir, name, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK)) msc_remove_tree(p);
    else g_unlink(p);
  }
  if (d) g_dir_close(d);
  g_rmdir(dir);
}

/* A verified one-input graph: Identity over a float input of @dims. */
static MscGraph *identity_graph(int32_t rank, const int64_t *dims) {
  MscGraph *g = msc_graph_new("id");
  msc_graph_set_opset(g, "", 13);
  MscValue *x = msc_graph_get_or_add_value(g, "x");
  x->dtype = MSC_DTYPE_FLOAT32;
  x->rank = rank;
  memcpy(x->dims, dims, sizeof(int64_t) * (size_t)rank);
  msc_graph_add_input(g, x);
  MscValue *y = msc_graph_get_or_add_value(g, "y");
  MscNode *n = msc_graph_add_node(g, "id", "Identity", "", 13);
  msc_node_set_io(n, &x, 1, &y, 1);
  msc_graph_add_output(g, y);
  g_autoptr(GError) e = NULL;
  gboolean ok = msc_graph_verify(g, &e);
  g_assert_no_error(e);
  g_assert_true(ok);
  return g;
}

static MscDataset *make(const MscGraph *g, const char *source, const char *path, guint n, guint skip, guint32 seed,
                        const char *layout, GError **error) {
  MscDatasetSpec spec = {.source = source, .path = path, .samples = n, .skip = skip, .seed = seed, .layout = layout};
  return msc_dataset_new(&spec, g, error);
}

static void test_glyphs_match_make_case(void) {
  g_test_summary("glyph inputs equal make-case.js NAME=SHAPE@SEED:glyphs output (needs node + the ORT peer)");
  const char *bench = g_getenv("MSC_BENCH_DIR");
  g_autofree char *home_bench = g_build_filename(g_get_home_dir(), ".cache", "msc-bench", NULL);
  const char *dir = bench ? bench : home_bench;
  g_autofree char *mod = g_build_filename(dir, "node_modules", "onnxruntime-node", NULL);
  g_autofree char *make_case = g_build_filename(g_getenv("MSC_SHARED_DIR") ? g_getenv("MSC_SHARED_DIR") : "../shared",
                                                "bench", "make-case.js", NULL);
  g_autofree char *node = g_find_program_in_path("node");
  if (!node || !g_file_test(mod, G_FILE_TEST_IS_DIR) || !g_file_test(make_case, G_FILE_TEST_IS_REGULAR)) {
    g_test_skip("node, the ORT peer or shared/bench/make-case.js is absent");
    return;
  }
  g_autofree char *tmp = g_dir_make_tmp("msc-ds-XXXXXX", NULL);
  g_autoptr(GError) e = NULL;
  g_autoptr(MscGraph) zg = msc_zoo_build("resnet_mini", &e);
  g_assert_no_error(e);
  g_autofree char *model = g_build_filename(tmp, "m.onnx", NULL);
  g_assert_true(msc_onnx_save_file(zg, model, &e));
  g_assert_no_error(e);
  g_autofree char *out = g_build_filename(tmp, "case", NULL);
  g_autofree char *env_dir = g_strdup_printf("MSC_BENCH_DIR=%s", dir);
  const char *argv[] = {"env", env_dir, node, make_case, model, out, "input=2x3x64x64@5:glyphs", "input=1x3x64x64@77:glyphs",
                        NULL};
  gint status = 0;
  g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
               &status, &e);
  g_assert_no_error(e);
  g_assert_cmpint(status, ==, 0);
  const guint32 seeds[2] = {5, 77};
  const int64_t batch[2] = {2, 1};
  for (guint k = 0; k < 2; k++) {
    g_autofree char *f = g_strdup_printf("%s/test_data_set_%u/input_0.pb", out, k);
    g_autoptr(MscTensor) want = msc_tensor_load_file(f, &e);
    g_assert_no_error(e);
    int64_t dims[4] = {batch[k], 3, 64, 64};
    g_autoptr(MscGraph) g = identity_graph(4, dims);
    g_autoptr(MscDataset) ds = make(g, "glyphs", NULL, 1, 0, seeds[k], NULL, &e);
    g_assert_no_error(e);
    g_assert_cmpuint(ds->inputs[0][0]->nbytes, ==, want->nbytes);
    g_assert_cmpmem(ds->inputs[0][0]->data, want->nbytes, want->data, want->nbytes);
  }
  msc_remove_tree(tmp);
}

static void test_glyphs_nhwc_is_transpose(void) {
  g_test_summary("glyphs-nhwc (and auto layout of [1,H,W,3]) is the NHWC transpose of the NCHW glyph image");
  g_autoptr(GError) e = NULL;
  int64_t nchw[4] = {1, 3, 40, 56}, nhwc[4] = {1, 40, 56, 3};
  g_autoptr(MscGraph) g1 = identity_graph(4, nchw);
  g_autoptr(MscGraph) g2 = identity_graph(4, nhwc);
  g_autoptr(MscDataset) a = make(g1, "glyphs", NULL, 1, 0, 9, NULL, &e);
  g_autoptr(MscDataset) b = make(g2, "glyphs-nhwc", NULL, 1, 0, 9, NULL, &e);
  g_autoptr(MscDataset) c = make(g2, NULL, NULL, 1, 0, 9, NULL, &e); /* auto: glyphs, layout from dims */
  g_assert_no_error(e);
  const float *x = a->inputs[0][0]->data, *y = b->inputs[0][0]->data;
  guint ink = 0;
  for (int ch = 0; ch < 3; ch++)
    for (int i = 0; i < 40; i++)
      for (int j = 0; j < 56; j++) {
        float v = x[(ch * 40 + i) * 56 + j];
        g_assert_cmpfloat(v, ==, y[(i * 56 + j) * 3 + ch]);
        g_assert_cmpfloat(v, >=, -1.0f);
        g_assert_cmpfloat(v, <=, 1.0f);
        ink += v < 0;
      }
  g_assert_cmpuint(ink, >, 100); /* strokes were drawn */
  g_assert_cmpmem(b->inputs[0][0]->data, b->inputs[0][0]->nbytes, c->inputs[0][0]->data, c->inputs[0][0]->nbytes);
}

static void test_heldout_split(void) {
  g_test_summary("skip = K continues the generator: samples [K, K+n) of a longer run, never the first K");
  g_autoptr(GError) e = NULL;
  int64_t dims[4] = {1, 3, 16, 16};
  g_autoptr(MscGraph) g = identity_graph(4, dims);
  g_autoptr(MscDataset) all = make(g, "random", NULL, 6, 0, 3, NULL, &e);
  g_autoptr(MscDataset) tail = make(g, "random", NULL, 2, 4, 3, NULL, &e);
  g_assert_no_error(e);
  g_assert_cmpuint(tail->n_samples, ==, 2);
  for (guint k = 0; k < 2; k++)
    g_assert_cmpmem(tail->inputs[k][0]->data, tail->inputs[k][0]->nbytes, all->inputs[4 + k][0]->data,
                    all->inputs[4 + k][0]->nbytes);
  g_assert_cmpstr(tail->hash, !=, all->hash);
}

static void test_flat_folder_and_errors(void) {
  g_test_summary("a folder of flat .npy/.pb files gives one sample each in name order; bad folders fail naming them");
  g_autoptr(GError) e = NULL;
  int64_t dims[2] = {2, 3};
  g_autoptr(MscGraph) g = identity_graph(2, dims);
  g_autofree char *tmp = g_dir_make_tmp("msc-ds-XXXXXX", NULL);
  for (int k = 0; k < 3; k++) {
    g_autoptr(MscTensor) t = msc_tensor_new(MSC_DTYPE_FLOAT32, 2, dims, &e);
    for (int i = 0; i < 6; i++) ((float *)t->data)[i] = (float)(10 * k + i);
    g_autofree char *f = g_strdup_printf("%s/s%d.%s", tmp, k, k == 1 ? "pb" : "npy");
    g_assert_true(k == 1 ? msc_tensor_save_pb(t, f, &e) : msc_tensor_save_npy(t, f, &e));
  }
  g_autoptr(MscDataset) ds = make(g, "files", tmp, 10, 1, 0, NULL, &e);
  g_assert_no_error(e);
  g_assert_cmpuint(ds->n_samples, ==, 2);
  g_assert_true(ds->truncated);
  g_assert_cmpfloat(((float *)ds->inputs[0][0]->data)[5], ==, 15.0f);
  g_assert_cmpfloat(((float *)ds->inputs[1][0]->data)[0], ==, 20.0f);
  /* a sample that does not fit the input */
  int64_t other[2] = {3, 3};
  g_autoptr(MscGraph) g2 = identity_graph(2, other);
  g_autoptr(MscDataset) bad = make(g2, "files", tmp, 1, 0, 0, NULL, &e);
  g_assert_null(bad);
  g_assert_error(e, MSC_ERROR, MSC_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(e->message, "s0.npy"));
  g_clear_error(&e);
  g_autoptr(MscDataset) none = make(g, "files", tmp, 1, 3, 0, NULL, &e);
  g_assert_null(none);
  g_assert_nonnull(strstr(e->message, "none left"));
  g_clear_error(&e);
  g_autoptr(MscDataset) unk = make(g, "noise", NULL, 1, 0, 0, NULL, &e);
  g_assert_null(unk);
  g_assert_nonnull(strstr(e->message, "noise"));
  g_clear_error(&e);
  msc_remove_tree(tmp);
}

static void test_images(void) {
  g_test_summary("images are decoded, resized to the input and normalised (v/255-mean)/std, NCHW and NHWC");
  g_autoptr(GError) e = NULL;
  g_autofree char *tmp = g_dir_make_tmp("msc-ds-XXXXXX", NULL);
  /* a 4x2 image: left half red (255,0,0), right half (0,0,255) */
  g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new(GDK_COLORSPACE_RGB, FALSE, 8, 4, 2);
  guchar *px = gdk_pixbuf_get_pixels(pb);
  int stride = gdk_pixbuf_get_rowstride(pb);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 4; x++) {
      guchar *p = px + y * stride + x * 3;
      p[0] = x < 2 ? 255 : 0;
      p[1] = 0;
      p[2] = x < 2 ? 0 : 255;
    }
  g_autofree char *f = g_build_filename(tmp, "a.png", NULL);
  g_assert_true(gdk_pixbuf_save(pb, f, "png", &e, NULL));
  g_autofree char *junk = g_build_filename(tmp, "b.png", NULL);
  g_assert_true(g_file_set_contents(junk, "not a png", -1, &e));
  int64_t nchw[4] = {1, 3, 2, 4}, nhwc[4] = {1, 2, 4, 3};
  double mean[4] = {0.5, 0.5, 0.5, 0.5}, std[4] = {0.5, 0.5, 0.5, 0.5};
  g_autoptr(MscGraph) g1 = identity_graph(4, nchw);
  g_autoptr(MscGraph) g2 = identity_graph(4, nhwc);
  MscDatasetSpec s = {.source = "images", .path = tmp, .samples = 1, .mean = mean, .std = std, .n_norm = 4};
  g_autoptr(MscDataset) a = msc_dataset_new(&s, g1, &e);
  g_assert_no_error(e);
  g_autoptr(MscDataset) b = msc_dataset_new(&s, g2, &e);
  g_assert_no_error(e);
  const float *x = a->inputs[0][0]->data, *y = b->inputs[0][0]->data;
  g_assert_cmpfloat_with_epsilon(x[0], 1.0f, 1e-6);          /* R at (0,0) */
  g_assert_cmpfloat_with_epsilon(x[16 + 0], -1.0f, 1e-6);    /* B at (0,0) */
  g_assert_cmpfloat_with_epsilon(x[16 + 3], 1.0f, 1e-6);     /* B at (0,3) */
  g_assert_cmpfloat_with_epsilon(y[3 * 3 + 2], 1.0f, 1e-6);  /* NHWC B at (0,3) */
  g_assert_cmpfloat_with_epsilon(y[3 * 3 + 0], -1.0f, 1e-6); /* NHWC R at (0,3) */
  /* the second image is corrupt: named in the error */
  s.samples = 2;
  g_autoptr(MscDataset) c = msc_dataset_new(&s, g1, &e);
  g_assert_null(c);
  g_assert_error(e, MSC_ERROR, MSC_ERR_CORRUPT);
  g_assert_nonnull(strstr(e->message, "b.png"));
  msc_remove_tree(tmp);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/dataset/glyphs/make-case", test_glyphs_match_make_case);
  g_test_add_func("/dataset/glyphs/nhwc", test_glyphs_nhwc_is_transpose);
  g_test_add_func("/dataset/split/heldout", test_heldout_split);
  g_test_add_func("/dataset/files/flat", test_flat_folder_and_errors);
  g_test_add_func("/dataset/images/decode", test_images);
  return g_test_run();
}
