/* test-limits.c: resource limits for untrusted models (core/limits.c), the
 * wire-format pre-scan and budget checks of core/onnx-import.c, the tensor
 * element limit of core/tensor-io.c, and external data confinement. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "graph.h"
#include "msc-limits.h"
#include "onnx.h"
#include "onnx.pb-c.h"
#include "tensor-io.h"
#include "tensor.h"

static const char *const ENV_VARS[] = {
  MSC_LIMIT_ENV_MODEL_BYTES, MSC_LIMIT_ENV_TENSOR_ELEMENTS, MSC_LIMIT_ENV_GRAPH_NODES,
  MSC_LIMIT_ENV_TOTAL_BYTES, MSC_LIMIT_ENV_NESTING,
};

/* Checks domain, code, one line, and that every needle is in the message. */
static void
expect_error(const GError *err, MscStatus code, const char *const *needles)
{
  g_assert_nonnull(err);
  g_assert_true(err->domain == MSC_ERROR);
  if (err->code != (int)code)
    g_error("expected code %d (%s), got %d: %s", code, msc_status_name(code), err->code,
            err->message);
  g_assert_null(strchr(err->message, '\n'));
  for (size_t i = 0; needles && needles[i]; i++)
    if (!strstr(err->message, needles[i]))
      g_error("message '%s' lacks '%s'", err->message, needles[i]);
}

static void
restore_limits(void)
{
  g_assert_true(msc_limits_set(NULL));
}

/* ------------------------------------------------------------------ */
/* A small model: X[1,4] -> Add(X, W) -> Add(.., W) ... -> Y, W a float[4]
 * initializer held in raw_data or, with ext_location, in an external file. */

typedef struct {
  int n_nodes;              /* >= 1 */
  const char *ext_location; /* non-NULL: W is external */
  const char *ext_offset, *ext_length;
  gboolean ext_and_raw; /* external AND raw_data (contradiction) */
  int64_t x_dim1;       /* X's second dim (4 unless set) */
} Mini;

static const float W_VALUES[4] = {0.5f, -1.25f, 3.0f, 42.0f};

static uint8_t *
mini_model(const Mini *o, size_t *len)
{
  int64_t wdims[1] = {4};
  Onnx__TensorProto w = ONNX__TENSOR_PROTO__INIT;
  w.name = "W";
  w.has_data_type = 1, w.data_type = MSC_DTYPE_FLOAT32;
  w.n_dims = 1, w.dims = wdims;
  Onnx__StringStringEntryProto e_loc = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
  Onnx__StringStringEntryProto e_off = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
  Onnx__StringStringEntryProto e_len = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
  Onnx__StringStringEntryProto e_sum = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
  Onnx__StringStringEntryProto *ext[4];
  if (o->ext_location) {
    size_t n = 0;
    e_loc.key = "location", e_loc.value = (char *)o->ext_location;
    ext[n++] = &e_loc;
    if (o->ext_offset) {
      e_off.key = "offset", e_off.value = (char *)o->ext_offset;
      ext[n++] = &e_off;
    }
    if (o->ext_length) {
      e_len.key = "length", e_len.value = (char *)o->ext_length;
      ext[n++] = &e_len;
    }
    e_sum.key = "checksum", e_sum.value = "ignored";
    ext[n++] = &e_sum;
    w.n_external_data = n, w.external_data = ext;
    w.has_data_location = 1, w.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  }
  if (!o->ext_location || o->ext_and_raw) {
    w.has_raw_data = 1;
    w.raw_data.len = sizeof W_VALUES;
    w.raw_data.data = (uint8_t *)W_VALUES;
  }
  Onnx__TensorProto *inits[] = {&w};

  int64_t xd[2] = {1, o->x_dim1 ? o->x_dim1 : 4};
  Onnx__TensorShapeProto__Dimension d0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
  Onnx__TensorShapeProto__Dimension d1 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
  d0.value_case = d1.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  d0.dim_value = xd[0], d1.dim_value = xd[1];
  Onnx__TensorShapeProto__Dimension *dims[] = {&d0, &d1};
  Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
  shape.n_dim = 2, shape.dim = dims;
  Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
  tt.has_elem_type = 1, tt.elem_type = MSC_DTYPE_FLOAT32, tt.shape = &shape;
  Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
  type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, type.tensor_type = &tt;
  Onnx__ValueInfoProto x = ONNX__VALUE_INFO_PROTO__INIT;
  x.name = "X", x.type = &type;
  Onnx__ValueInfoProto *ins[] = {&x};

  int n = o->n_nodes > 0 ? o->n_nodes : 1;
  Onnx__NodeProto *nodes = g_new0(Onnx__NodeProto, n);
  Onnx__NodeProto **np = g_new0(Onnx__NodeProto *, n);
  char **names = g_new0(char *, 2 * n + 1);
  char ***ios = g_new0(char **, 2 * n);
  for (int i = 0; i < n; i++) {
    onnx__node_proto__init(&nodes[i]);
    nodes[i].op_type = "Add";
    names[2 * i] = g_strdup_printf("add%d", i);
    names[2 * i + 1] = g_strdup_printf("y%d", i);
    nodes[i].name = names[2 * i];
    ios[2 * i] = g_new0(char *, 2);
    ios[2 * i][0] = i == 0 ? "X" : names[2 * i - 1];
    ios[2 * i][1] = "W";
    ios[2 * i + 1] = g_new0(char *, 1);
    ios[2 * i + 1][0] = names[2 * i + 1];
    nodes[i].n_input = 2, nodes[i].input = ios[2 * i];
    nodes[i].n_output = 1, nodes[i].output = ios[2 * i + 1];
    np[i] = &nodes[i];
  }
  Onnx__ValueInfoProto y = ONNX__VALUE_INFO_PROTO__INIT;
  y.name = names[2 * n - 1];
  Onnx__ValueInfoProto *outs[] = {&y};

  Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
  g.name = "mini";
  g.n_node = (size_t)n, g.node = np;
  g.n_initializer = 1, g.initializer = inits;
  g.n_input = 1, g.input = ins;
  g.n_output = 1, g.output = outs;
  Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  op.domain = "", op.has_version = 1, op.version = 13;
  Onnx__OperatorSetIdProto *ops[] = {&op};
  Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
  m.has_ir_version = 1, m.ir_version = 7;
  m.n_opset_import = 1, m.opset_import = ops;
  m.graph = &g;

  *len = onnx__model_proto__get_packed_size(&m);
  uint8_t *buf = g_malloc(*len + 1);
  g_assert_cmpuint(onnx__model_proto__pack(&m, buf), ==, *len);
  for (int i = 0; i < 2 * n; i++)
    g_free(ios[i]);
  g_free(ios);
  g_strfreev(names);
  g_free(np);
  g_free(nodes);
  return buf;
}

static char *
make_tmpdir(void)
{
  g_autoptr(GError) err = NULL;
  char *dir = g_dir_make_tmp("msc-limits-XXXXXX", &err);
  g_assert_no_error(err);
  return dir;
}

static void
rm_rf(const char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  if (d) {
    const char *e;
    while ((e = g_dir_read_name(d))) {
      g_autofree char *p = g_build_filename(dir, e, NULL);
      if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
        rm_rf(p);
      else
        g_unlink(p);
    }
    g_dir_close(d);
  }
  g_rmdir(dir);
}

static void
write_file(const char *path, const void *data, size_t len)
{
  g_autoptr(GError) err = NULL;
  g_assert_true(g_file_set_contents(path, data, (gssize)len, &err));
  g_assert_no_error(err);
}

/* Writes @o's model to DIR/model.onnx and returns that path (g_free). */
static char *
write_mini(const char *dir, const Mini *o)
{
  size_t len = 0;
  g_autofree uint8_t *buf = mini_model(o, &len);
  char *path = g_build_filename(dir, "model.onnx", NULL);
  write_file(path, buf, len);
  return path;
}

static const char *
shared_model(const char *rel)
{
  static char path[4096];
  const char *shared = g_getenv("MSC_SHARED_DIR");
  if (shared == NULL)
    return NULL;
  g_snprintf(path, sizeof path, "%s/conformance/%s", shared, rel);
  return g_file_test(path, G_FILE_TEST_IS_REGULAR) ? path : NULL;
}

/* ------------------------------------------------------------------ */
/* the limits themselves */

static void
test_limits_defaults_and_set(void)
{
  g_test_summary("Defaults are as documented; set/get round-trip; a zero field is refused; NULL restores");
  MscLimits d = msc_limits_defaults();
  g_assert_cmpuint(d.model_bytes, ==, (guint64)2 << 30);
  g_assert_cmpuint(d.tensor_elements, ==, (guint64)1 << 31);
  g_assert_cmpuint(d.graph_nodes, ==, 1000000);
  g_assert_cmpuint(d.total_bytes, ==, (guint64)8 << 30);
  g_assert_cmpuint(d.nesting, ==, 64);
  MscLimits now = msc_limits_get();
  g_assert_cmpmem(&now, sizeof now, &d, sizeof d); /* main() clears the environment */

  MscLimits l = {11, 22, 33, 44, 55};
  g_assert_true(msc_limits_set(&l));
  now = msc_limits_get();
  g_assert_cmpmem(&now, sizeof now, &l, sizeof l);
  MscLimits z = l;
  z.nesting = 0;
  g_assert_false(msc_limits_set(&z));
  now = msc_limits_get();
  g_assert_cmpuint(now.nesting, ==, 55);
  restore_limits();
  now = msc_limits_get();
  g_assert_cmpmem(&now, sizeof now, &d, sizeof d);
}

static void
test_limits_parse_value(void)
{
  g_test_summary("Limit values: positive decimal with optional K/M/G/T; junk, signs, zero, overflow refused");
  const struct {
    const char *s;
    gboolean ok;
    guint64 v;
  } cases[] = {
    {"1", TRUE, 1},
    {"64", TRUE, 64},
    {"2k", TRUE, 2048},
    {"3M", TRUE, 3u << 20},
    {"4G", TRUE, (guint64)4 << 30},
    {"1t", TRUE, (guint64)1 << 40},
    {"18446744073709551615", TRUE, G_MAXUINT64},
    {"", FALSE, 0},
    {"0", FALSE, 0},
    {"0G", FALSE, 0},
    {"-1", FALSE, 0},
    {"+5", FALSE, 0},
    {" 5", FALSE, 0},
    {"5 ", FALSE, 0},
    {"1.5G", FALSE, 0},
    {"12x", FALSE, 0},
    {"1GB", FALSE, 0},
    {"0x10", FALSE, 0},
    {"18446744073709551616", FALSE, 0},
    {"17179869184G", FALSE, 0}, /* 2^34 * 2^30 */
    {"abc", FALSE, 0},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    guint64 v = 12345;
    gboolean ok = msc_limits_parse_value(cases[i].s, &v);
    if (ok != cases[i].ok)
      g_error("'%s': expected %s", cases[i].s, cases[i].ok ? "accepted" : "refused");
    g_assert_cmpuint(v, ==, cases[i].ok ? cases[i].v : 12345);
  }
}

static void
test_limits_env(void)
{
  g_test_summary("MSC_LIMIT_* are applied; a bad one is refused by name and value, its default kept");
  g_setenv(MSC_LIMIT_ENV_MODEL_BYTES, "1M", TRUE);
  g_setenv(MSC_LIMIT_ENV_TENSOR_ELEMENTS, "1000", TRUE);
  g_setenv(MSC_LIMIT_ENV_GRAPH_NODES, "-5", TRUE);
  g_setenv(MSC_LIMIT_ENV_TOTAL_BYTES, "2G", TRUE);
  g_setenv(MSC_LIMIT_ENV_NESTING, "lots", TRUE);
  MscLimits l = msc_limits_defaults();
  g_autoptr(GError) err = NULL;
  g_assert_false(msc_limits_apply_env(&l, &err));
  const char *n[] = {"MSC_LIMIT_GRAPH_NODES='-5'", "not a positive integer", "keeping 1000000", NULL};
  expect_error(err, MSC_ERR_INVALID_ARG, n);
  g_assert_cmpuint(l.model_bytes, ==, 1u << 20);
  g_assert_cmpuint(l.tensor_elements, ==, 1000);
  g_assert_cmpuint(l.graph_nodes, ==, MSC_LIMIT_DEFAULT_GRAPH_NODES);
  g_assert_cmpuint(l.total_bytes, ==, (guint64)2 << 30);
  g_assert_cmpuint(l.nesting, ==, MSC_LIMIT_DEFAULT_NESTING);
  /* all good */
  g_setenv(MSC_LIMIT_ENV_GRAPH_NODES, "7", TRUE);
  g_setenv(MSC_LIMIT_ENV_NESTING, "16", TRUE);
  l = msc_limits_defaults();
  g_clear_error(&err);
  g_assert_true(msc_limits_apply_env(&l, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(l.graph_nodes, ==, 7);
  g_assert_cmpuint(l.nesting, ==, 16);
  for (size_t i = 0; i < G_N_ELEMENTS(ENV_VARS); i++)
    g_unsetenv(ENV_VARS[i]);
  /* a nesting above the hard maximum is refused */
  g_setenv(MSC_LIMIT_ENV_NESTING, "5000", TRUE);
  l = msc_limits_defaults();
  g_clear_error(&err);
  g_assert_false(msc_limits_apply_env(&l, &err));
  const char *nm[] = {"MSC_LIMIT_NESTING='5000' ignored: above the maximum 1000", "keeping 64", NULL};
  expect_error(err, MSC_ERR_INVALID_ARG, nm);
  g_assert_cmpuint(l.nesting, ==, 64);
  g_setenv(MSC_LIMIT_ENV_NESTING, "1000", TRUE);
  g_assert_true(msc_limits_apply_env(&l, NULL));
  g_assert_cmpuint(l.nesting, ==, 1000);
  g_unsetenv(MSC_LIMIT_ENV_NESTING);
  /* a variable set to the empty string is bad too */
  g_setenv(MSC_LIMIT_ENV_NESTING, "", TRUE);
  l = msc_limits_defaults();
  g_assert_false(msc_limits_apply_env(&l, NULL));
  g_assert_cmpuint(l.nesting, ==, 64);
  g_unsetenv(MSC_LIMIT_ENV_NESTING);
}

/* In a fresh process: the first use reads the environment. */
static void
test_limits_env_at_startup(void)
{
  g_test_summary("A fresh process picks MSC_LIMIT_* up at first use and reports a bad value on stderr");
  if (g_test_subprocess()) {
    MscLimits l = msc_limits_get();
    g_print("nesting=%" G_GUINT64_FORMAT " nodes=%" G_GUINT64_FORMAT "\n", (guint64)l.nesting,
            (guint64)l.graph_nodes);
    return;
  }
  g_setenv(MSC_LIMIT_ENV_NESTING, "12", TRUE);
  g_setenv(MSC_LIMIT_ENV_GRAPH_NODES, "many", TRUE);
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_unsetenv(MSC_LIMIT_ENV_NESTING);
  g_unsetenv(MSC_LIMIT_ENV_GRAPH_NODES);
  g_test_trap_assert_passed();
  g_test_trap_assert_stdout("*nesting=12 nodes=1000000*");
  g_test_trap_assert_stderr("*MSC_LIMIT_GRAPH_NODES='many' ignored*keeping 1000000*");
}

static gpointer
limits_thread(gpointer data)
{
  const MscLimits *pair = data; /* two sets of limits, all fields equal within each */
  for (int i = 0; i < 20000; i++) {
    if (i % 2)
      msc_limits_set(&pair[i % 4 == 1]);
    MscLimits l = msc_limits_get();
    /* a torn copy would mix the fields of both sets */
    if (!(l.model_bytes == l.tensor_elements && l.tensor_elements == l.graph_nodes &&
          l.graph_nodes == l.total_bytes && l.total_bytes == l.nesting))
      return GINT_TO_POINTER(1);
  }
  return NULL;
}

static void
test_limits_threads(void)
{
  g_test_summary("Concurrent set/get never see a half-written set of limits");
  MscLimits pair[2] = {{1000, 1000, 1000, 1000, 1000}, {777, 777, 777, 777, 777}};
  g_assert_true(msc_limits_set(&pair[0]));
  GThread *t[4];
  for (int i = 0; i < 4; i++)
    t[i] = g_thread_new("limits", limits_thread, pair);
  int bad = 0;
  for (int i = 0; i < 4; i++)
    bad += GPOINTER_TO_INT(g_thread_join(t[i]));
  g_assert_cmpint(bad, ==, 0);
  restore_limits();
}

static void
test_limits_format_bytes(void)
{
  g_test_summary("Byte counts in messages are ASCII binary units");
  const struct {
    guint64 v;
    const char *s;
  } cases[] = {
    {0, "0 bytes"}, {1023, "1023 bytes"}, {1024, "1 KiB"}, {1536, "1.5 KiB"},
    {(guint64)2 << 30, "2 GiB"}, {(guint64)8 << 30, "8 GiB"}, {((guint64)5 << 40) + ((guint64)1 << 39), "5.5 TiB"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *s = msc_limits_format_bytes(cases[i].v);
    g_assert_cmpstr(s, ==, cases[i].s);
  }
}

/* ------------------------------------------------------------------ */
/* each limit on models */

static void
test_limits_model_bytes(void)
{
  g_test_summary("model_bytes: files and buffers above it are refused naming file, limit, value, variable");
  g_autofree char *dir = make_tmpdir();
  Mini o = {.n_nodes = 1};
  g_autofree char *path = write_mini(dir, &o);
  size_t len = 0;
  g_autofree uint8_t *buf = mini_model(&o, &len);
  MscLimits l = msc_limits_defaults();
  l.model_bytes = len - 1;
  g_assert_true(msc_limits_set(&l));
  g_autoptr(GError) err = NULL;
  g_assert_null(msc_onnx_load_file(path, &err));
  g_autofree char *size_s = g_strdup_printf("model of %zu bytes", len);
  g_autofree char *lim_s = g_strdup_printf("(%zu bytes; set MSC_LIMIT_MODEL_BYTES to raise it)", len - 1);
  const char *n[] = {path, size_s, lim_s, NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, n);
  g_clear_error(&err);
  g_assert_null(msc_onnx_load_buffer(buf, len, "buf.onnx", &err));
  const char *nb[] = {"buf.onnx: ", size_s, "MSC_LIMIT_MODEL_BYTES", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, nb);
  g_clear_error(&err);
  l.model_bytes = len;
  g_assert_true(msc_limits_set(&l));
  g_autoptr(MscGraph) g = msc_onnx_load_file(path, &err);
  g_assert_no_error(err);
  g_assert_nonnull(g);
  restore_limits();

  const char *conf = shared_model("models/squeezenet_rand/model.onnx");
  if (conf) {
    l = msc_limits_defaults();
    l.model_bytes = 1 << 20;
    g_assert_true(msc_limits_set(&l));
    g_assert_null(msc_onnx_load_file(conf, &err));
    const char *nc[] = {conf, "exceeds the 1 MiB limit", "MSC_LIMIT_MODEL_BYTES", NULL};
    expect_error(err, MSC_ERR_UNSUPPORTED, nc);
    restore_limits();
  }
  rm_rf(dir);
}

static void
test_limits_tensor_elements(void)
{
  g_test_summary("tensor_elements: initializers, declared inputs, .pb and .npy tensors above it are refused");
  MscLimits l = msc_limits_defaults();
  l.tensor_elements = 3;
  g_assert_true(msc_limits_set(&l));
  Mini o = {.n_nodes = 1, .x_dim1 = 2};
  size_t len = 0;
  g_autofree uint8_t *buf = mini_model(&o, &len);
  g_autoptr(GError) err = NULL;
  g_assert_null(msc_onnx_load_buffer(buf, len, "m.onnx", &err));
  const char *n[] = {"m.onnx: tensor 'W': 4 elements exceed the limit of 3 elements per tensor",
                     "MSC_LIMIT_TENSOR_ELEMENTS", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, n);
  g_clear_error(&err);

  /* a declared graph input shape */
  l.tensor_elements = 4;
  g_assert_true(msc_limits_set(&l));
  Mini o2 = {.n_nodes = 1, .x_dim1 = 5};
  g_autofree uint8_t *buf2 = mini_model(&o2, &len);
  g_assert_null(msc_onnx_load_buffer(buf2, len, "m.onnx", &err));
  const char *n2[] = {"m.onnx: graph input 'X': shape [1,5] has more than 4 elements",
                      "MSC_LIMIT_TENSOR_ELEMENTS", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, n2);
  g_clear_error(&err);

  /* .pb and .npy tensor files */
  int64_t dims[2] = {2, 3};
  g_autoptr(MscTensor) t = msc_tensor_new(MSC_DTYPE_FLOAT32, 2, dims, &err);
  g_assert_no_error(err);
  uint8_t *pb = NULL, *npy = NULL;
  size_t pb_len = 0, npy_len = 0;
  g_assert_true(msc_tensor_save_pb_buffer(t, &pb, &pb_len, &err));
  g_assert_true(msc_tensor_save_npy_buffer(t, &npy, &npy_len, &err));
  g_assert_null(msc_tensor_load_pb_buffer(pb, pb_len, "t.pb", &err));
  const char *n3[] = {"t.pb: tensor '': 6 elements exceed the limit of 4", "MSC_LIMIT_TENSOR_ELEMENTS", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, n3);
  g_clear_error(&err);
  g_assert_null(msc_tensor_load_npy_buffer(npy, npy_len, "t.npy", &err));
  const char *n4[] = {"t.npy: .npy shape [2,3] has 6 elements, above the limit of 4",
                      "MSC_LIMIT_TENSOR_ELEMENTS", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, n4);
  g_clear_error(&err);
  l.tensor_elements = 6;
  g_assert_true(msc_limits_set(&l));
  g_autoptr(MscTensor) a = msc_tensor_load_pb_buffer(pb, pb_len, "t.pb", &err);
  g_assert_no_error(err);
  g_autoptr(MscTensor) b = msc_tensor_load_npy_buffer(npy, npy_len, "t.npy", &err);
  g_assert_no_error(err);
  g_assert_cmpint(msc_tensor_numel(a) + msc_tensor_numel(b), ==, 12);
  g_free(pb);
  g_free(npy);
  restore_limits();
}

/* An .npy of @len bytes whose header claims 2^40 float32 elements. */
static GByteArray *
npy_liar(size_t len)
{
  const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }";
  GByteArray *b = g_byte_array_new();
  const uint8_t magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  g_byte_array_append(b, magic, 8);
  uint16_t hl = (uint16_t)strlen(dict);
  uint8_t hlb[2] = {(uint8_t)(hl & 0xff), (uint8_t)(hl >> 8)};
  g_byte_array_append(b, hlb, 2);
  g_byte_array_append(b, (const uint8_t *)dict, hl);
  while (b->len < len) {
    uint8_t z = 0;
    g_byte_array_append(b, &z, 1);
  }
  return b;
}

static void
test_limits_huge_headers(void)
{
  g_test_summary("Headers declaring 2^40 elements in ~100-byte files fail before any big allocation");
  g_autoptr(GByteArray) b = npy_liar(100);
  g_assert_cmpuint(b->len, ==, 100);
  g_autoptr(GError) err = NULL;
  g_assert_null(msc_tensor_load_npy_buffer(b->data, b->len, "liar.npy", &err));
  const char *n[] = {"liar.npy", "expected 4398046511104", NULL};
  expect_error(err, MSC_ERR_CORRUPT, n);
  g_clear_error(&err);
  /* even with the element limit raised past the claim */
  MscLimits l = msc_limits_defaults();
  l.tensor_elements = (guint64)1 << 41;
  g_assert_true(msc_limits_set(&l));
  g_assert_null(msc_tensor_load_npy_buffer(b->data, b->len, "liar.npy", &err));
  expect_error(err, MSC_ERR_CORRUPT, n);
  g_clear_error(&err);
  restore_limits();

  /* .pb: dims [2^40], float_data with 3 entries */
  int64_t dims[1] = {(int64_t)1 << 40};
  float fd[3] = {1, 2, 3};
  Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
  tp.n_dims = 1, tp.dims = dims, tp.has_data_type = 1, tp.data_type = MSC_DTYPE_FLOAT32;
  tp.n_float_data = 3, tp.float_data = fd;
  uint8_t pb[128];
  size_t n_pb = onnx__tensor_proto__get_packed_size(&tp);
  g_assert_cmpuint(n_pb, <=, sizeof pb);
  onnx__tensor_proto__pack(&tp, pb);
  g_assert_null(msc_tensor_load_pb_buffer(pb, n_pb, "liar.pb", &err));
  const char *np[] = {"liar.pb", "float_data has 3 elements, expected 1099511627776", NULL};
  expect_error(err, MSC_ERR_CORRUPT, np);
}

static void
test_limits_graph_nodes(void)
{
  g_test_summary("graph_nodes: a model with more nodes is refused by the pre-scan");
  MscLimits l = msc_limits_defaults();
  l.graph_nodes = 5;
  g_assert_true(msc_limits_set(&l));
  Mini o = {.n_nodes = 6};
  size_t len = 0;
  g_autofree uint8_t *buf = mini_model(&o, &len);
  g_autoptr(GError) err = NULL;
  g_assert_null(msc_onnx_load_buffer(buf, len, "m.onnx", &err));
  const char *n[] = {"m.onnx: model has more than 5 nodes", "MSC_LIMIT_GRAPH_NODES", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, n);
  g_clear_error(&err);
  Mini o5 = {.n_nodes = 5};
  g_autofree uint8_t *buf5 = mini_model(&o5, &len);
  g_autoptr(MscGraph) g = msc_onnx_load_buffer(buf5, len, "m.onnx", &err);
  g_assert_no_error(err);
  g_assert_cmpuint(g->n_nodes, ==, 5);

  const char *conf = shared_model("light/light_squeezenet/model.onnx");
  if (conf) {
    g_assert_null(msc_onnx_load_file(conf, &err));
    const char *nc[] = {conf, "more than 5 nodes", "MSC_LIMIT_GRAPH_NODES", NULL};
    expect_error(err, MSC_ERR_UNSUPPORTED, nc);
  }
  restore_limits();
}

static void
test_limits_total_bytes(void)
{
  g_test_summary("total_bytes: initializers + static graph inputs above it are refused before loading");
  /* W is 16 bytes, X [1,4] float 16 bytes: 32 in all */
  Mini o = {.n_nodes = 1};
  size_t len = 0;
  g_autofree uint8_t *buf = mini_model(&o, &len);
  MscLimits l = msc_limits_defaults();
  l.total_bytes = 31;
  g_assert_true(msc_limits_set(&l));
  g_autoptr(GError) err = NULL;
  g_assert_null(msc_onnx_load_buffer(buf, len, "m.onnx", &err));
  const char *n[] = {"m.onnx: initializers, constants and graph inputs need 32 bytes",
                     "above the 31 bytes total limit", "MSC_LIMIT_TOTAL_BYTES", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, n);
  g_clear_error(&err);
  l.total_bytes = 32;
  g_assert_true(msc_limits_set(&l));
  g_autoptr(MscGraph) g = msc_onnx_load_buffer(buf, len, "m.onnx", &err);
  g_assert_no_error(err);
  restore_limits();

  const char *conf = shared_model("models/squeezenet_rand/model.onnx");
  if (conf) {
    l = msc_limits_defaults();
    l.total_bytes = 1 << 20;
    g_assert_true(msc_limits_set(&l));
    g_assert_null(msc_onnx_load_file(conf, &err));
    const char *nc[] = {conf, "above the 1 MiB total limit", "MSC_LIMIT_TOTAL_BYTES", NULL};
    expect_error(err, MSC_ERR_UNSUPPORTED, nc);
    restore_limits();
  }
}

/* ------------------------------------------------------------------ */
/* nesting and the wire format */

static size_t
varint_len(size_t v)
{
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static uint8_t *
put_varint(uint8_t *p, size_t v)
{
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

/* ModelProto -> GraphProto -> NodeProto -> AttributeProto(g) -> GraphProto
 * -> ... @depth messages deep (the innermost empty), written outside-in
 * with precomputed lengths (no recursion, linear time). */
static uint8_t *
nested_model(size_t depth, size_t *len)
{
  /* field of level k (1-based) holding level k+1: Model.graph=7, then
   * Graph.node=1, Node.attribute=5, Attribute.g=6, repeating */
  static const uint8_t cycle[3] = {1, 5, 6};
  size_t *size = g_new0(size_t, depth + 1); /* content size of level k */
  size[depth] = 0;
  for (size_t k = depth - 1; k >= 1; k--)
    size[k] = 1 + varint_len(size[k + 1]) + size[k + 1];
  *len = size[1];
  uint8_t *buf = g_malloc(*len + 1), *p = buf;
  for (size_t k = 1; k < depth; k++) {
    uint8_t field = k == 1 ? 7 : cycle[(k - 2) % 3];
    *p++ = (uint8_t)(field << 3 | 2);
    p = put_varint(p, size[k + 1]);
  }
  g_assert_true(p == buf + *len);
  g_free(size);
  return buf;
}

static void
test_limits_nesting(void)
{
  g_test_summary("Nesting: depth 10000 (which crashes protobuf-c) is refused with a message; depth 5 passes the scan");
  size_t len = 0;
  g_autofree uint8_t *deep = nested_model(10000, &len);
  g_autoptr(GError) err = NULL;
  g_assert_null(msc_onnx_load_buffer(deep, len, "deep.onnx", &err));
  const char *n[] = {"deep.onnx: protobuf messages nested deeper than the limit of 64",
                     "MSC_LIMIT_NESTING", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, n);
  g_clear_error(&err);

  /* the same through a file */
  g_autofree char *dir = make_tmpdir();
  g_autofree char *path = g_build_filename(dir, "deep.onnx", NULL);
  write_file(path, deep, len);
  g_assert_null(msc_onnx_load_file(path, &err));
  expect_error(err, MSC_ERR_UNSUPPORTED, n + 1);
  g_assert_nonnull(strstr(err->message, path));
  g_clear_error(&err);
  rm_rf(dir);

  /* depth 5: the scan accepts it, the importer then judges the content */
  g_autofree uint8_t *five = nested_model(5, &len);
  MscOnnxScanInfo info;
  g_assert_true(msc_onnx_scan_buffer(five, len, "five.onnx", &info, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(info.max_depth, ==, 5);
  g_assert_cmpuint(info.n_nodes, ==, 1);
  g_assert_null(msc_onnx_load_buffer(five, len, "five.onnx", &err));
  const char *n5[] = {"five.onnx: node 0", "no op_type", NULL};
  expect_error(err, MSC_ERR_CORRUPT, n5);
  g_clear_error(&err);

  /* the limit is exact: 5 passes at 5, fails at 4 */
  MscLimits l = msc_limits_defaults();
  l.nesting = 5;
  g_assert_true(msc_limits_set(&l));
  g_assert_true(msc_onnx_scan_buffer(five, len, "five.onnx", NULL, &err));
  l.nesting = 4;
  g_assert_true(msc_limits_set(&l));
  g_assert_false(msc_onnx_scan_buffer(five, len, "five.onnx", NULL, &err));
  const char *n4[] = {"limit of 4", "onnx.GraphProto inside onnx.AttributeProto", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, n4);
  g_clear_error(&err);

  /* at the hard maximum, 1000 levels pass the scan and protobuf-c's
   * recursive unpack (the importer then refuses the empty node); 1001 not */
  g_autofree uint8_t *k1 = nested_model(1000, &len);
  l.nesting = MSC_LIMIT_MAX_NESTING;
  g_assert_true(msc_limits_set(&l));
  g_assert_true(msc_onnx_scan_buffer(k1, len, "k.onnx", &info, &err));
  g_assert_cmpuint(info.max_depth, ==, 1000);
  g_assert_cmpuint(info.n_nodes, ==, 333);
  g_assert_null(msc_onnx_load_buffer(k1, len, "k.onnx", &err));
  expect_error(err, MSC_ERR_CORRUPT, n5 + 1);
  g_clear_error(&err);
  g_autofree uint8_t *k2 = nested_model(1001, &len);
  g_assert_false(msc_onnx_scan_buffer(k2, len, "k.onnx", NULL, &err));
  const char *nk[] = {"limit of 1000", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, nk);
  g_clear_error(&err);
  /* and the limit cannot be raised past that maximum */
  l.nesting = MSC_LIMIT_MAX_NESTING + 1;
  g_assert_false(msc_limits_set(&l));
  g_assert_cmpuint(msc_limits_get().nesting, ==, MSC_LIMIT_MAX_NESTING);
  restore_limits();
}

static void
test_limits_malformed_wire(void)
{
  g_test_summary("Malformed varints, lengths past the end, field 0 and groups are refused by the scan");
  const struct {
    const char *what;
    const char *bytes;
    size_t n;
    const char *needle;
  } cases[] = {
    {"truncated key", "\x80", 1, "truncated or overlong field key at offset 0"},
    {"overlong varint", "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12, "overlong varint"},
    {"length past end", "\x3a\x05\x0a", 3, "length 5 at offset 1 runs past the end"},
    {"nested past parent", "\x3a\x03\x0a\x05\x00", 5, "length 5 at offset 3 runs past the end of its message, 1 bytes left"},
    {"huge length", "\x32\xff\xff\xff\xff\x0f", 6, "runs past the end"},
    {"field 0", "\x02\x00", 2, "field number 0"},
    {"group", "\x0b\x0c", 2, "wire type 3"},
    {"fixed64 cut", "\x09\x01\x02", 3, "8-byte field at offset 0"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) err = NULL;
    MscGraph *g = msc_onnx_load_buffer((const uint8_t *)cases[i].bytes, cases[i].n, "w.onnx", &err);
    if (g)
      g_error("case '%s' accepted", cases[i].what);
    const char *n[] = {"w.onnx: not a valid ONNX model (protobuf parse failed", cases[i].needle, NULL};
    expect_error(err, MSC_ERR_CORRUPT, n);
  }
}

static void
test_limits_conformance_depths(void)
{
  g_test_summary("Every conformance model passes the pre-scan at the default limits (depth measured)");
  const char *shared = g_getenv("MSC_SHARED_DIR");
  g_autofree char *root = shared ? g_build_filename(shared, "conformance", NULL) : NULL;
  if (!root || !g_file_test(root, G_FILE_TEST_IS_DIR)) {
    g_test_skip("no conformance corpus (MSC_SHARED_DIR)");
    return;
  }
  const char *groups[] = {"node", "pytorch-converted", "pytorch-operator", "simple", "light", "models"};
  size_t count = 0, deepest = 0, most_nodes = 0;
  for (size_t gi = 0; gi < G_N_ELEMENTS(groups); gi++) {
    g_autofree char *gdir = g_build_filename(root, groups[gi], NULL);
    GDir *d = g_dir_open(gdir, 0, NULL);
    if (!d)
      continue;
    const char *e;
    while ((e = g_dir_read_name(d))) {
      g_autofree char *p = g_build_filename(gdir, e, "model.onnx", NULL);
      gchar *data = NULL;
      gsize len = 0;
      if (!g_file_get_contents(p, &data, &len, NULL))
        continue;
      MscOnnxScanInfo info;
      g_autoptr(GError) err = NULL;
      if (!msc_onnx_scan_buffer((const uint8_t *)data, len, p, &info, &err))
        g_error("%s", err->message);
      deepest = MAX(deepest, info.max_depth);
      most_nodes = MAX(most_nodes, info.n_nodes);
      count++;
      g_free(data);
    }
    g_dir_close(d);
  }
  g_test_message("%zu models scanned: deepest nesting %zu, most nodes %zu", count, deepest, most_nodes);
  g_assert_cmpuint(count, >, 100);
  g_assert_cmpuint(deepest, <=, MSC_LIMIT_DEFAULT_NESTING);
  g_assert_cmpuint(deepest, >=, 7); /* Model/Graph/ValueInfo/Type/Tensor/Shape/Dim */

  /* and a low nesting limit refuses a real model with the message */
  const char *conf = shared_model("node/test_relu/model.onnx");
  if (conf) {
    MscLimits l = msc_limits_defaults();
    l.nesting = 3;
    g_assert_true(msc_limits_set(&l));
    g_autoptr(GError) err = NULL;
    g_assert_null(msc_onnx_load_file(conf, &err));
    const char *n[] = {conf, "nested deeper than the limit of 3", "MSC_LIMIT_NESTING", NULL};
    expect_error(err, MSC_ERR_UNSUPPORTED, n);
    restore_limits();
  }
}

/* ------------------------------------------------------------------ */
/* external data */

/* weights.bin: 16 junk bytes, then W's 16 bytes, then 8 more. */
static void
write_weights(const char *path)
{
  uint8_t b[40];
  memset(b, 0xAB, sizeof b);
  memcpy(b + 16, W_VALUES, sizeof W_VALUES);
  write_file(path, b, sizeof b);
}

static void
test_limits_external_valid(void)
{
  g_test_summary("External data inside the model's folder loads with the same bytes as embedded data");
  g_autofree char *dir = make_tmpdir();
  g_autofree char *wpath = g_build_filename(dir, "weights.bin", NULL);
  write_weights(wpath);
  Mini emb = {.n_nodes = 1};
  size_t len = 0;
  g_autofree uint8_t *ebuf = mini_model(&emb, &len);
  g_autoptr(GError) err = NULL;
  g_autoptr(MscGraph) ref = msc_onnx_load_buffer(ebuf, len, "embedded.onnx", &err);
  g_assert_no_error(err);
  const MscTensor *rw = msc_graph_find_value(ref, "W")->value;

  const Mini variants[] = {
    {.n_nodes = 1, .ext_location = "weights.bin", .ext_offset = "16", .ext_length = "16"},
    {.n_nodes = 1, .ext_location = "weights.bin", .ext_offset = "16"}, /* length implied */
    {.n_nodes = 1, .ext_location = "sub/w.bin"},                       /* a subfolder, offset 0 */
    {.n_nodes = 1, .ext_location = "./w-link.bin", .ext_offset = "16"}, /* symlink staying inside */
  };
  g_autofree char *sub = g_build_filename(dir, "sub", NULL);
  g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
  g_autofree char *subw = g_build_filename(sub, "w.bin", NULL);
  write_file(subw, W_VALUES, sizeof W_VALUES);
  g_autofree char *link = g_build_filename(dir, "w-link.bin", NULL);
  g_assert_cmpint(symlink("weights.bin", link), ==, 0);
  for (size_t i = 0; i < G_N_ELEMENTS(variants); i++) {
    g_autofree char *path = write_mini(dir, &variants[i]);
    g_autoptr(MscGraph) g = msc_onnx_load_file(path, &err);
    g_assert_no_error(err);
    const MscTensor *w = msc_graph_find_value(g, "W")->value;
    g_assert_nonnull(w);
    g_assert_cmpint(w->dtype, ==, rw->dtype);
    g_assert_cmpint(w->rank, ==, 1);
    g_assert_cmpint(w->dims[0], ==, 4);
    g_assert_cmpmem(w->data, 16, rw->data, 16);
    g_assert_cmpmem(w->data, 16, W_VALUES, 16);
  }
  /* the same model from a buffer has no folder: refused, clearly */
  g_autofree char *path = write_mini(dir, &variants[0]);
  gchar *data = NULL;
  g_assert_true(g_file_get_contents(path, &data, &len, NULL));
  g_assert_null(msc_onnx_load_buffer((const uint8_t *)data, len, "buf.onnx", &err));
  const char *n[] = {"buf.onnx: tensor 'W': external data not supported without the model's folder",
                     NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, n);
  g_free(data);
  rm_rf(dir);
}

static void
test_limits_external_refused(void)
{
  g_test_summary("External data: absolute, '..', backslash, NUL, symlink escapes, non-files, bad ranges refused");
  g_autofree char *dir = make_tmpdir();
  g_autofree char *outside = make_tmpdir();
  g_autofree char *wpath = g_build_filename(dir, "weights.bin", NULL);
  write_weights(wpath);
  g_autofree char *secret = g_build_filename(outside, "secret.bin", NULL);
  write_weights(secret);
  /* escapes by symlink: a file link and a folder link */
  g_autofree char *flink = g_build_filename(dir, "escape.bin", NULL);
  g_assert_cmpint(symlink(secret, flink), ==, 0);
  g_autofree char *dlink = g_build_filename(dir, "out", NULL);
  g_assert_cmpint(symlink(outside, dlink), ==, 0);
  g_autofree char *subdir = g_build_filename(dir, "adir", NULL);
  g_assert_cmpint(g_mkdir(subdir, 0700), ==, 0);
  g_autofree char *fifo = g_build_filename(dir, "pipe.bin", NULL);
  gboolean have_fifo = mkfifo(fifo, 0600) == 0;

  const struct {
    Mini m;
    MscStatus code;
    const char *needle;
  } cases[] = {
    {{.ext_location = "/etc/passwd"}, MSC_ERR_UNSUPPORTED, "location '/etc/passwd' is an absolute path"},
    {{.ext_location = secret}, MSC_ERR_UNSUPPORTED, "is an absolute path"},
    {{.ext_location = "../weights.bin"}, MSC_ERR_UNSUPPORTED, "contains '..'"},
    {{.ext_location = "adir/../weights.bin"}, MSC_ERR_UNSUPPORTED, "contains '..'"},
    {{.ext_location = "adir\\weights.bin"}, MSC_ERR_UNSUPPORTED, "contains a backslash"},
    {{.ext_location = "escape.bin", .ext_offset = "16"}, MSC_ERR_UNSUPPORTED, "outside the model's folder"},
    {{.ext_location = "out/secret.bin", .ext_offset = "16"}, MSC_ERR_UNSUPPORTED, "outside the model's folder"},
    {{.ext_location = "adir"}, MSC_ERR_UNSUPPORTED, "location 'adir' is not a regular file"},
    {{.ext_location = "missing.bin"}, MSC_ERR_IO, "external data file 'missing.bin'"},
    {{.ext_location = ""}, MSC_ERR_CORRUPT, "external data without a location"},
    {{.ext_location = "weights.bin", .ext_offset = "18446744073709551615", .ext_length = "16"},
     MSC_ERR_CORRUPT, "offset 18446744073709551615 + length 16 overflows"},
    {{.ext_location = "weights.bin", .ext_offset = "18446744073709551610"}, MSC_ERR_CORRUPT, "overflows"},
    {{.ext_location = "weights.bin", .ext_offset = "30"}, MSC_ERR_CORRUPT,
     "bytes [30, 46) run past the end of 'weights.bin' (40 bytes)"},
    {{.ext_location = "weights.bin", .ext_offset = "100"}, MSC_ERR_CORRUPT, "run past the end"},
    {{.ext_location = "weights.bin", .ext_length = "12"}, MSC_ERR_CORRUPT,
     "length 12 differs from the 16 bytes of float32 [4]"},
    {{.ext_location = "weights.bin", .ext_offset = "-1"}, MSC_ERR_CORRUPT, "offset '-1' is not a non-negative integer"},
    {{.ext_location = "weights.bin", .ext_offset = "0x10"}, MSC_ERR_CORRUPT, "offset '0x10'"},
    {{.ext_location = "weights.bin", .ext_length = "99999999999999999999"}, MSC_ERR_CORRUPT, "length '99999999999999999999'"},
    {{.ext_location = "weights.bin", .ext_and_raw = TRUE}, MSC_ERR_CORRUPT, "both external and embedded data"},
    {{.ext_location = "pipe.bin"}, MSC_ERR_UNSUPPORTED, "location 'pipe.bin' is not a regular file"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    if (!have_fifo && strcmp(cases[i].m.ext_location, "pipe.bin") == 0)
      continue;
    Mini m = cases[i].m;
    m.n_nodes = 1;
    g_autofree char *path = write_mini(dir, &m);
    g_autoptr(GError) err = NULL;
    MscGraph *g = msc_onnx_load_file(path, &err);
    if (g)
      g_error("case %zu (location '%s') accepted", i, m.ext_location);
    const char *n[] = {path, "tensor 'W'", cases[i].needle, NULL};
    expect_error(err, cases[i].code, n);
    g_test_message("%s", err->message);
  }

  /* a NUL byte inside the location: protobuf-c would cut the string at it,
   * so the scan refuses it (built by patching a same-length placeholder) */
  Mini m = {.n_nodes = 1, .ext_location = "weights.binQ/../../etc/passwd", .ext_offset = "16"};
  size_t len = 0;
  g_autofree uint8_t *buf = mini_model(&m, &len);
  uint8_t *q = memmem(buf, len, "weights.binQ", 12);
  g_assert_nonnull(q);
  q[11] = '\0';
  g_autofree char *path = g_build_filename(dir, "model.onnx", NULL);
  write_file(path, buf, len);
  g_autoptr(GError) err = NULL;
  g_assert_null(msc_onnx_load_file(path, &err));
  const char *nn[] = {path, "external_data entry", "contains a NUL byte", NULL};
  expect_error(err, MSC_ERR_CORRUPT, nn);
  g_clear_error(&err);

  /* external tensors count toward the limits, checked before reading */
  MscLimits l = msc_limits_defaults();
  l.tensor_elements = 2;
  g_assert_true(msc_limits_set(&l));
  Mini ok = {.n_nodes = 1, .ext_location = "weights.bin", .ext_offset = "16"};
  g_autofree char *okpath = write_mini(dir, &ok);
  g_assert_null(msc_onnx_load_file(okpath, &err));
  const char *ne[] = {"tensor 'W': 4 elements exceed the limit of 2", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, ne);
  g_clear_error(&err);
  l = msc_limits_defaults();
  l.total_bytes = 20; /* W 16 + X 16 */
  g_assert_true(msc_limits_set(&l));
  g_assert_null(msc_onnx_load_file(okpath, &err));
  const char *nt[] = {"need 32 bytes", "MSC_LIMIT_TOTAL_BYTES", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, nt);
  g_clear_error(&err);
  restore_limits();
  g_autoptr(MscGraph) g = msc_onnx_load_file(okpath, &err);
  g_assert_no_error(err);

  /* a tensor file (.pb) has no model folder either */
  Onnx__StringStringEntryProto loc = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
  loc.key = "location", loc.value = "weights.bin";
  Onnx__StringStringEntryProto *ext[] = {&loc};
  int64_t dims[1] = {4};
  Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
  tp.name = "t", tp.n_dims = 1, tp.dims = dims, tp.has_data_type = 1;
  tp.data_type = MSC_DTYPE_FLOAT32, tp.has_data_location = 1;
  tp.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  tp.n_external_data = 1, tp.external_data = ext;
  g_assert_null(msc_tensor_from_proto(&tp, "t.pb", &err));
  const char *np[] = {"t.pb: tensor 't': external data not supported without the model's folder", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, np);
  g_clear_error(&err);
  g_autoptr(MscTensor) t = msc_tensor_from_proto_in_dir(&tp, "t.pb", dir, &err);
  g_assert_no_error(err);
  uint8_t head[16];
  memset(head, 0xAB, sizeof head); /* the first 16 bytes of weights.bin */
  g_assert_cmpmem(t->data, 16, head, 16);

  rm_rf(dir);
  rm_rf(outside);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  /* Tests set limits explicitly; the caller's MSC_LIMIT_* must not leak in
   * (a subprocess keeps what its parent test set on purpose). */
  if (!g_test_subprocess())
    for (size_t i = 0; i < G_N_ELEMENTS(ENV_VARS); i++)
      g_unsetenv(ENV_VARS[i]);
  g_test_add_func("/limits/defaults-and-set", test_limits_defaults_and_set);
  g_test_add_func("/limits/parse-value", test_limits_parse_value);
  g_test_add_func("/limits/env", test_limits_env);
  g_test_add_func("/limits/env-at-startup", test_limits_env_at_startup);
  g_test_add_func("/limits/threads", test_limits_threads);
  g_test_add_func("/limits/format-bytes", test_limits_format_bytes);
  g_test_add_func("/limits/model-bytes", test_limits_model_bytes);
  g_test_add_func("/limits/tensor-elements", test_limits_tensor_elements);
  g_test_add_func("/limits/huge-headers", test_limits_huge_headers);
  g_test_add_func("/limits/graph-nodes", test_limits_graph_nodes);
  g_test_add_func("/limits/total-bytes", test_limits_total_bytes);
  g_test_add_func("/limits/nesting", test_limits_nesting);
  g_test_add_func("/limits/malformed-wire", test_limits_malformed_wire);
  g_test_add_func("/limits/conformance-depths", test_limits_conformance_depths);
  g_test_add_func("/limits/external/valid", test_limits_external_valid);
  g_test_add_func("/limits/external/refused", test_limits_external_refused);
  return g_test_run();
}
