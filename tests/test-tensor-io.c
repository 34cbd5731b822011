/* test-tensor-io.c: TensorProto / .npy reading and writing. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "error.h"
#include "onnx.pb-c.h"
#include "tensor-io.h"
#include "tensor.h"

/* Every dtype with a fixed element size (all but UNDEFINED and STRING). */
static const MscDType ALL_DTYPES[] = {
  MSC_DTYPE_FLOAT32, MSC_DTYPE_UINT8,  MSC_DTYPE_INT8,      MSC_DTYPE_UINT16,
  MSC_DTYPE_INT16,   MSC_DTYPE_INT32,  MSC_DTYPE_INT64,     MSC_DTYPE_BOOL,
  MSC_DTYPE_FLOAT16, MSC_DTYPE_DOUBLE, MSC_DTYPE_UINT32,    MSC_DTYPE_UINT64,
  MSC_DTYPE_COMPLEX64, MSC_DTYPE_COMPLEX128, MSC_DTYPE_BFLOAT16,
};

/* A tensor with a recognisable byte pattern (bools 0/1). */
static MscTensor *
make_tensor(MscDType dt, int32_t rank, const int64_t *dims, const char *name)
{
  g_autoptr(GError) err = NULL;
  MscTensor *t = msc_tensor_new(dt, rank, dims, &err);
  g_assert_no_error(err);
  uint8_t *b = t->data;
  for (size_t i = 0; i < t->nbytes; i++)
    b[i] = dt == MSC_DTYPE_BOOL ? (uint8_t)(i % 3 == 0) : (uint8_t)(i * 37 + 11);
  if (name)
    msc_tensor_set_name(t, name);
  return t;
}

static void
assert_tensor_equal(const MscTensor *a, const MscTensor *b)
{
  g_assert_cmpint(a->dtype, ==, b->dtype);
  g_assert_cmpint(a->rank, ==, b->rank);
  for (int32_t i = 0; i < a->rank; i++)
    g_assert_cmpint(a->dims[i], ==, b->dims[i]);
  int64_t n = msc_tensor_numel(a);
  size_t nbytes = (size_t)n * msc_dtype_size(a->dtype);
  g_assert_cmpuint(a->nbytes, >=, nbytes);
  g_assert_cmpuint(b->nbytes, >=, nbytes);
  if (nbytes)
    g_assert_cmpmem(a->data, nbytes, b->data, nbytes);
}

static char *
make_tmpdir(void)
{
  g_autoptr(GError) err = NULL;
  char *dir = g_dir_make_tmp("msc-tensor-io-XXXXXX", &err);
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
      if (g_file_test(p, G_FILE_TEST_IS_DIR))
        rm_rf(p);
      else
        g_unlink(p);
    }
    g_dir_close(d);
  }
  g_rmdir(dir);
}

static guint
count_entries(const char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  guint n = 0;
  while (g_dir_read_name(d))
    n++;
  g_dir_close(d);
  return n;
}

/* ------------------------------------------------------------------ */
/* .pb */

static void
test_tensor_io_pb_round_trip_all_dtypes(void)
{
  g_test_summary("Every fixed-size dtype survives TensorProto save/load, in several shapes");
  const int64_t shapes[][3] = {{2, 3, 4}, {0, 3, 0}, {1, 1, 1}};
  const int32_t ranks[] = {3, 2, 0};
  for (size_t d = 0; d < G_N_ELEMENTS(ALL_DTYPES); d++) {
    for (size_t s = 0; s < G_N_ELEMENTS(ranks); s++) {
      g_autoptr(MscTensor) t = make_tensor(ALL_DTYPES[d], ranks[s], shapes[s], "w.0");
      g_autoptr(GError) err = NULL;
      uint8_t *buf = NULL;
      size_t len = 0;
      g_assert_true(msc_tensor_save_pb_buffer(t, &buf, &len, &err));
      g_assert_no_error(err);
      g_autoptr(MscTensor) u = msc_tensor_load_pb_buffer(buf, len, "mem.pb", &err);
      g_assert_no_error(err);
      g_assert_nonnull(u);
      assert_tensor_equal(t, u);
      g_assert_cmpstr(u->name, ==, "w.0");
      g_free(buf);
    }
  }
  /* and once through a real file */
  g_autofree char *dir = make_tmpdir();
  g_autofree char *path = g_build_filename(dir, "t.pb", NULL);
  const int64_t dims[] = {5, 7};
  g_autoptr(MscTensor) t = make_tensor(MSC_DTYPE_FLOAT16, 2, dims, "x");
  g_autoptr(GError) err = NULL;
  g_assert_true(msc_tensor_save_pb(t, path, &err));
  g_assert_no_error(err);
  g_autoptr(MscTensor) u = msc_tensor_load_file(path, &err);
  g_assert_no_error(err);
  assert_tensor_equal(t, u);
  g_assert_cmpuint(count_entries(dir), ==, 1); /* no temp file left */
  rm_rf(dir);
}

/* Serializes a hand-built proto and loads it through the public buffer API. */
static MscTensor *
load_proto(const Onnx__TensorProto *tp, GError **error)
{
  size_t n = onnx__tensor_proto__get_packed_size(tp);
  uint8_t *buf = g_malloc(n + 1);
  onnx__tensor_proto__pack(tp, buf);
  MscTensor *t = msc_tensor_load_pb_buffer(buf, n, "hand.pb", error);
  g_free(buf);
  return t;
}

static void
test_tensor_io_pb_typed_fields(void)
{
  g_test_summary("Typed TensorProto fields (float/int32/int64/double/uint64_data) decode per dtype");
  int64_t dims[] = {4};
  g_autoptr(GError) err = NULL;
  {
    float f[] = {1.5f, -2.0f, 0.0f, 3.25f};
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = 1, tp.dims = dims, tp.has_data_type = 1, tp.data_type = MSC_DTYPE_FLOAT32;
    tp.n_float_data = 4, tp.float_data = f, tp.name = "f";
    g_autoptr(MscTensor) t = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpmem(t->data, 16, f, 16);
    g_assert_cmpstr(t->name, ==, "f");
    /* an explicitly empty raw_data next to the typed field defers to it */
    tp.has_raw_data = 1;
    g_autoptr(MscTensor) t2 = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpmem(t2->data, 16, f, 16);
  }
  {
    /* int32_data carries every narrow type: int8, uint8, bool, int16,
     * uint16, float16 bits, bfloat16 bits. */
    int32_t v[] = {-3, 127, 2, 0};
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = 1, tp.dims = dims, tp.has_data_type = 1, tp.n_int32_data = 4, tp.int32_data = v;
    tp.data_type = MSC_DTYPE_INT8;
    g_autoptr(MscTensor) i8 = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpint(((int8_t *)i8->data)[0], ==, -3);
    g_assert_cmpint(((int8_t *)i8->data)[1], ==, 127);
    tp.data_type = MSC_DTYPE_BOOL;
    g_autoptr(MscTensor) b = load_proto(&tp, &err);
    g_assert_no_error(err);
    const uint8_t want_b[] = {1, 1, 1, 0};
    g_assert_cmpmem(b->data, 4, want_b, 4);
    tp.data_type = MSC_DTYPE_UINT8;
    g_autoptr(MscTensor) u8 = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(((uint8_t *)u8->data)[0], ==, 253);
    tp.data_type = MSC_DTYPE_INT16;
    g_autoptr(MscTensor) i16 = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpint(((int16_t *)i16->data)[0], ==, -3);
    int32_t h[] = {0x3c00, 0xc000, 0x7bff, 0x0001}; /* 1.0, -2.0, 65504, min subnormal */
    tp.int32_data = h;
    tp.data_type = MSC_DTYPE_FLOAT16;
    g_autoptr(MscTensor) f16 = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpfloat(msc_f16_to_f32(((uint16_t *)f16->data)[0]), ==, 1.0f);
    g_assert_cmpfloat(msc_f16_to_f32(((uint16_t *)f16->data)[1]), ==, -2.0f);
    g_assert_cmpfloat(msc_f16_to_f32(((uint16_t *)f16->data)[2]), ==, 65504.0f);
    tp.data_type = MSC_DTYPE_BFLOAT16;
    g_autoptr(MscTensor) bf = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(((uint16_t *)bf->data)[1], ==, 0xc000);
    tp.data_type = MSC_DTYPE_UINT16;
    g_autoptr(MscTensor) u16 = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(((uint16_t *)u16->data)[2], ==, 0x7bff);
  }
  {
    int64_t v[] = {G_MININT64, -1, 0, G_MAXINT64};
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = 1, tp.dims = dims, tp.has_data_type = 1, tp.data_type = MSC_DTYPE_INT64;
    tp.n_int64_data = 4, tp.int64_data = v;
    g_autoptr(MscTensor) t = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpmem(t->data, 32, v, 32);
  }
  {
    double v[] = {0.1, -1e300, 2.5, 4};
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = 1, tp.dims = dims, tp.has_data_type = 1, tp.data_type = MSC_DTYPE_DOUBLE;
    tp.n_double_data = 4, tp.double_data = v;
    g_autoptr(MscTensor) t = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpint(t->dtype, ==, MSC_DTYPE_DOUBLE); /* stored although kernels refuse it */
    g_assert_cmpmem(t->data, 32, v, 32);
  }
  {
    uint64_t v[] = {0, 1, 0xffffffffu, G_MAXUINT64};
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = 1, tp.dims = dims, tp.has_data_type = 1, tp.n_uint64_data = 4, tp.uint64_data = v;
    tp.data_type = MSC_DTYPE_UINT64;
    g_autoptr(MscTensor) t64 = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpmem(t64->data, 32, v, 32);
    tp.data_type = MSC_DTYPE_UINT32;
    g_autoptr(MscTensor) t32 = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(((uint32_t *)t32->data)[2], ==, 0xffffffffu);
  }
  {
    /* complex64: two floats per element */
    float f[] = {1, 2, 3, 4, 5, 6, 7, 8};
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = 1, tp.dims = dims, tp.has_data_type = 1, tp.data_type = MSC_DTYPE_COMPLEX64;
    tp.n_float_data = 8, tp.float_data = f;
    g_autoptr(MscTensor) t = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpmem(t->data, 32, f, 32);
  }
  {
    /* scalar with one typed element */
    float f = 7.0f;
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.has_data_type = 1, tp.data_type = MSC_DTYPE_FLOAT32, tp.n_float_data = 1, tp.float_data = &f;
    g_autoptr(MscTensor) t = load_proto(&tp, &err);
    g_assert_no_error(err);
    g_assert_cmpint(t->rank, ==, 0);
    g_assert_cmpfloat(*(float *)t->data, ==, 7.0f);
  }
}

static void
test_tensor_io_pb_bfloat16_as_uint16(void)
{
  g_test_summary("bfloat16 bits stored with data_type UINT16 (onnx 1.12 quirk) load as UINT16");
  int64_t dims[] = {2};
  uint16_t bits[] = {0x3f80, 0xc000}; /* bf16 1.0, -2.0 */
  Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
  tp.n_dims = 1, tp.dims = dims, tp.has_data_type = 1, tp.data_type = MSC_DTYPE_UINT16;
  tp.has_raw_data = 1, tp.raw_data.len = 4, tp.raw_data.data = (uint8_t *)bits;
  g_autoptr(GError) err = NULL;
  g_autoptr(MscTensor) t = load_proto(&tp, &err);
  g_assert_no_error(err);
  g_assert_cmpint(t->dtype, ==, MSC_DTYPE_UINT16);
  g_assert_cmpfloat(msc_bf16_to_f32(((uint16_t *)t->data)[0]), ==, 1.0f);
}

static void
expect_error(GError *err, MscStatus code, const char *const *needles)
{
  g_assert_nonnull(err);
  g_assert_true(err->domain == MSC_ERROR);
  g_assert_cmpint(err->code, ==, code);
  g_assert_null(strchr(err->message, '\n'));
  for (size_t i = 0; needles && needles[i]; i++)
    if (!strstr(err->message, needles[i]))
      g_error("message '%s' lacks '%s'", err->message, needles[i]);
}

static void
test_tensor_io_pb_raw_size_lies(void)
{
  g_test_summary("raw_data shorter or longer than the dims imply is CORRUPT naming tensor and sizes");
  int64_t dims[] = {2, 3};
  uint8_t raw[32] = {0};
  Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
  tp.n_dims = 2, tp.dims = dims, tp.has_data_type = 1, tp.data_type = MSC_DTYPE_FLOAT32;
  tp.name = "conv1.weight", tp.has_raw_data = 1, tp.raw_data.data = raw;
  size_t lens[] = {20, 28, 0};
  const char *sizes[] = {"20 bytes", "28 bytes", "0 bytes"};
  for (size_t i = 0; i < G_N_ELEMENTS(lens); i++) {
    tp.raw_data.len = lens[i];
    g_autoptr(GError) err = NULL;
    MscTensor *t = load_proto(&tp, &err);
    g_assert_null(t);
    const char *needles[] = {"hand.pb", "conv1.weight", sizes[i], "expected 24", NULL};
    expect_error(err, MSC_ERR_CORRUPT, needles);
  }
  /* typed field with the wrong count */
  float f[5] = {0};
  Onnx__TensorProto tf = ONNX__TENSOR_PROTO__INIT;
  tf.n_dims = 2, tf.dims = dims, tf.has_data_type = 1, tf.data_type = MSC_DTYPE_FLOAT32;
  tf.name = "b", tf.n_float_data = 5, tf.float_data = f;
  g_autoptr(GError) err = NULL;
  g_assert_null(load_proto(&tf, &err));
  const char *needles[] = {"'b'", "float_data has 5", "expected 6", NULL};
  expect_error(err, MSC_ERR_CORRUPT, needles);
}

static void
test_tensor_io_pb_bad_dims(void)
{
  g_test_summary("Negative dims and element-count overflow are CORRUPT, never a huge allocation");
  uint8_t raw[8] = {0};
  Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
  tp.has_data_type = 1, tp.data_type = MSC_DTYPE_FLOAT32, tp.name = "x";
  tp.has_raw_data = 1, tp.raw_data.data = raw, tp.raw_data.len = 8;
  {
    int64_t dims[] = {2, -1};
    tp.n_dims = 2, tp.dims = dims;
    g_autoptr(GError) err = NULL;
    g_assert_null(load_proto(&tp, &err));
    const char *n[] = {"negative dim -1", NULL};
    expect_error(err, MSC_ERR_CORRUPT, n);
  }
  {
    int64_t dims[] = {1ll << 40, 1ll << 40};
    tp.n_dims = 2, tp.dims = dims;
    g_autoptr(GError) err = NULL;
    g_assert_null(load_proto(&tp, &err));
    const char *n[] = {"overflows", NULL};
    expect_error(err, MSC_ERR_CORRUPT, n);
  }
  {
    /* 2^40 floats claimed, 8 bytes given: a size error, not an 4 TiB malloc */
    int64_t dims[] = {1ll << 40};
    tp.n_dims = 1, tp.dims = dims;
    g_autoptr(GError) err = NULL;
    g_assert_null(load_proto(&tp, &err));
    const char *n[] = {"8 bytes", "expected 4398046511104", NULL};
    expect_error(err, MSC_ERR_CORRUPT, n);
  }
  {
    int64_t dims[9] = {1, 1, 1, 1, 1, 1, 1, 1, 2};
    tp.n_dims = 9, tp.dims = dims;
    g_autoptr(GError) err = NULL;
    g_assert_null(load_proto(&tp, &err));
    const char *n[] = {"rank 9", NULL};
    expect_error(err, MSC_ERR_UNSUPPORTED, n);
  }
}

static void
test_tensor_io_pb_refused_kinds(void)
{
  g_test_summary("External data (no folder), strings, float8 are UNSUPPORTED; unknown/undefined types CORRUPT");
  int64_t dims[] = {2};
  {
    Onnx__StringStringEntryProto loc = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    loc.key = "location", loc.value = "weights.bin";
    Onnx__StringStringEntryProto *ext[] = {&loc};
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = 1, tp.dims = dims, tp.has_data_type = 1, tp.data_type = MSC_DTYPE_FLOAT32;
    tp.name = "w", tp.has_data_location = 1;
    tp.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    tp.n_external_data = 1, tp.external_data = ext;
    g_autoptr(GError) err = NULL;
    g_assert_null(load_proto(&tp, &err));
    const char *n[] = {"'w'", "external data not supported without the model's folder", NULL};
    expect_error(err, MSC_ERR_UNSUPPORTED, n);
  }
  {
    ProtobufCBinaryData s[2] = {{1, (uint8_t *)"a"}, {1, (uint8_t *)"b"}};
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = 1, tp.dims = dims, tp.has_data_type = 1, tp.data_type = MSC_DTYPE_STRING;
    tp.n_string_data = 2, tp.string_data = s;
    g_autoptr(GError) err = NULL;
    g_assert_null(load_proto(&tp, &err));
    const char *n[] = {"string tensors not supported", NULL};
    expect_error(err, MSC_ERR_UNSUPPORTED, n);
  }
  uint8_t raw[2] = {0};
  const struct {
    int32_t code;
    MscStatus st;
    const char *needle;
  } cases[] = {
    {17, MSC_ERR_UNSUPPORTED, "float8e4m3fn"},
    {99, MSC_ERR_CORRUPT, "unknown data_type 99"},
    {-4, MSC_ERR_CORRUPT, "unknown data_type -4"},
    {0, MSC_ERR_CORRUPT, "undefined data_type"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = 1, tp.dims = dims, tp.has_data_type = 1, tp.data_type = cases[i].code;
    tp.has_raw_data = 1, tp.raw_data.len = 2, tp.raw_data.data = raw;
    g_autoptr(GError) err = NULL;
    g_assert_null(load_proto(&tp, &err));
    const char *n[] = {cases[i].needle, NULL};
    expect_error(err, cases[i].st, n);
  }
}

static void
test_tensor_io_pb_truncated(void)
{
  g_test_summary("Every truncation of a serialized TensorProto is refused as CORRUPT");
  int64_t dims[] = {3, 5};
  g_autoptr(MscTensor) t = make_tensor(MSC_DTYPE_FLOAT32, 2, dims, "input_0");
  uint8_t *buf = NULL;
  size_t len = 0;
  g_autoptr(GError) err = NULL;
  g_assert_true(msc_tensor_save_pb_buffer(t, &buf, &len, &err));
  for (size_t cut = 0; cut < len; cut++) {
    g_autoptr(GError) e = NULL;
    MscTensor *u = msc_tensor_load_pb_buffer(buf, cut, "cut.pb", &e);
    if (u)
      g_error("truncation at %zu/%zu bytes was accepted", cut, len);
    expect_error(e, MSC_ERR_CORRUPT, NULL);
    g_assert_true(g_str_has_prefix(e->message, "cut.pb: "));
  }
  g_free(buf);
}

static void
test_tensor_io_pb_conformance_files(void)
{
  g_test_summary("Every conformance input/output .pb loads (strings refused as UNSUPPORTED)");
  const char *shared = g_getenv("MSC_SHARED_DIR");
  g_autofree char *node_dir = shared ? g_build_filename(shared, "conformance", "node", NULL) : NULL;
  if (!node_dir || !g_file_test(node_dir, G_FILE_TEST_IS_DIR)) {
    g_test_skip("conformance corpus not found (set MSC_SHARED_DIR)");
    return;
  }
  GDir *d = g_dir_open(node_dir, 0, NULL);
  g_assert_nonnull(d);
  guint loaded = 0, strings = 0;
  const char *c;
  while ((c = g_dir_read_name(d))) {
    g_autofree char *set = g_build_filename(node_dir, c, "test_data_set_0", NULL);
    GDir *sd = g_dir_open(set, 0, NULL);
    if (!sd)
      continue;
    const char *f;
    while ((f = g_dir_read_name(sd))) {
      if (!g_str_has_suffix(f, ".pb"))
        continue;
      g_autofree char *p = g_build_filename(set, f, NULL);
      g_autoptr(GError) err = NULL;
      g_autoptr(MscTensor) t = msc_tensor_load_file(p, &err);
      if (t) {
        loaded++;
        g_assert_nonnull(t->name); /* backend test data is named after the graph edge */
        continue;
      }
      if (err->code == MSC_ERR_UNSUPPORTED && strstr(err->message, "string tensors")) {
        strings++;
        continue;
      }
      g_error("%s", err->message);
    }
    g_dir_close(sd);
  }
  g_dir_close(d);
  g_assert_cmpuint(loaded, >, 500);
  g_assert_cmpuint(strings, <=, 4);

  /* the bfloat16 quirk case keeps UINT16 */
  g_autofree char *bf =
    g_build_filename(node_dir, "test_cast_BFLOAT16_to_FLOAT", "test_data_set_0", "input_0.pb", NULL);
  if (g_file_test(bf, G_FILE_TEST_EXISTS)) {
    g_autoptr(GError) err = NULL;
    g_autoptr(MscTensor) t = msc_tensor_load_pb(bf, &err);
    g_assert_no_error(err);
    g_assert_cmpint(t->dtype, ==, MSC_DTYPE_UINT16);
  }
}

/* ------------------------------------------------------------------ */
/* .npy */

static void
test_tensor_io_npy_round_trip_all_dtypes(void)
{
  g_test_summary("Every dtype with a NumPy code survives .npy save/load (ranks 0, 1, 3, empty)");
  const int64_t shapes[][3] = {{2, 3, 4}, {7, 0, 0}, {0, 0, 0}, {0, 2, 0}};
  const int32_t ranks[] = {3, 1, 0, 2};
  for (size_t d = 0; d < G_N_ELEMENTS(ALL_DTYPES); d++) {
    if (ALL_DTYPES[d] == MSC_DTYPE_BFLOAT16)
      continue;
    for (size_t s = 0; s < G_N_ELEMENTS(ranks); s++) {
      g_autoptr(MscTensor) t = make_tensor(ALL_DTYPES[d], ranks[s], shapes[s], NULL);
      g_autoptr(GError) err = NULL;
      uint8_t *buf = NULL;
      size_t len = 0;
      g_assert_true(msc_tensor_save_npy_buffer(t, &buf, &len, &err));
      g_assert_no_error(err);
      g_autoptr(MscTensor) u = msc_tensor_load_npy_buffer(buf, len, "mem.npy", &err);
      g_assert_no_error(err);
      assert_tensor_equal(t, u);
      g_free(buf);
    }
  }
  /* bfloat16 has no NumPy code: refused, not silently written as something else */
  const int64_t dims[] = {2};
  g_autoptr(MscTensor) bf = make_tensor(MSC_DTYPE_BFLOAT16, 1, dims, "bf");
  g_autoptr(GError) err = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  g_assert_false(msc_tensor_save_npy_buffer(bf, &buf, &len, &err));
  const char *n[] = {"bfloat16", NULL};
  expect_error(err, MSC_ERR_UNSUPPORTED, n);
  g_assert_null(buf);
}

static void
test_tensor_io_npy_numpy_layout(void)
{
  g_test_summary("Our .npy bytes equal what np.save writes (header dict, growth pad, 64-byte align)");
  const int64_t dims[] = {2, 3};
  g_autoptr(MscTensor) t = make_tensor(MSC_DTYPE_FLOAT32, 2, dims, NULL);
  uint8_t *buf = NULL;
  size_t len = 0;
  g_autoptr(GError) err = NULL;
  g_assert_true(msc_tensor_save_npy_buffer(t, &buf, &len, &err));
  /* np.save(f, np.zeros((2,3), '<f4')) with numpy >= 1.24 */
  const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  g_assert_cmpmem(buf, 8, "\x93NUMPY\x01\x00", 8);
  size_t hlen = buf[8] | (buf[9] << 8);
  g_assert_cmpuint(hlen, ==, 118); /* 10 + 118 = 128 */
  g_assert_cmpuint((10 + hlen) % 64, ==, 0);
  g_assert_cmpmem(buf + 10, strlen(dict), dict, strlen(dict));
  g_assert_cmpint(buf[10 + hlen - 1], ==, '\n');
  g_assert_cmpuint(len, ==, 10 + hlen + 24);
  g_free(buf);
}

/* Builds .npy bytes with a given version and header dict (+ data). */
static GByteArray *
npy_bytes(int major, const char *dict, const void *data, size_t n)
{
  GByteArray *b = g_byte_array_new();
  g_byte_array_append(b, (const guint8 *)"\x93NUMPY", 6);
  guint8 ver[2] = {(guint8)major, 0};
  g_byte_array_append(b, ver, 2);
  size_t hlen = strlen(dict) + 1;
  guint8 l[4] = {hlen & 0xff, (hlen >> 8) & 0xff, (hlen >> 16) & 0xff, (hlen >> 24) & 0xff};
  g_byte_array_append(b, l, major == 1 ? 2 : 4);
  g_byte_array_append(b, (const guint8 *)dict, (guint)strlen(dict));
  g_byte_array_append(b, (const guint8 *)"\n", 1);
  if (n)
    g_byte_array_append(b, data, (guint)n);
  return b;
}

static void
test_tensor_io_npy_versions(void)
{
  g_test_summary(".npy format 1.0, 2.0 and 3.0 headers in various spellings read the same data");
  const int16_t v[6] = {1, -2, 3, -4, 5, -6};
  const char *dicts[] = {
    "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }",
    "{\"shape\": (2,3), \"descr\": \"<i2\", \"fortran_order\": False}",
    "{ 'fortran_order' : False , 'descr' : '<i2' , 'shape' : ( 2 , 3 , ) }",
    "{'descr': '<i2', 'fortran_order': False, 'shape': (2L, 3L), }",
  };
  for (int major = 1; major <= 3; major++) {
    for (size_t i = 0; i < G_N_ELEMENTS(dicts); i++) {
      g_autoptr(GByteArray) b = npy_bytes(major, dicts[i], v, sizeof v);
      g_autoptr(GError) err = NULL;
      g_autoptr(MscTensor) t = msc_tensor_load_npy_buffer(b->data, b->len, "v.npy", &err);
      g_assert_no_error(err);
      g_assert_cmpint(t->dtype, ==, MSC_DTYPE_INT16);
      g_assert_cmpint(t->rank, ==, 2);
      g_assert_cmpint(t->dims[0], ==, 2);
      g_assert_cmpint(t->dims[1], ==, 3);
      g_assert_cmpmem(t->data, sizeof v, v, sizeof v);
    }
  }
  /* 1-D fortran order is the same bytes as C order: accepted */
  g_autoptr(GByteArray) b =
    npy_bytes(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (3,), }", "abc", 3);
  g_autoptr(GError) err = NULL;
  g_autoptr(MscTensor) t = msc_tensor_load_npy_buffer(b->data, b->len, "v.npy", &err);
  g_assert_no_error(err);
  g_assert_cmpint(t->dims[0], ==, 3);
}

static void
test_tensor_io_npy_refused(void)
{
  g_test_summary("Object dtype, fortran order, big-endian, bad headers and lying shapes are refused");
  uint8_t data[64] = {0};
  const struct {
    int major;
    const char *dict;
    size_t n;
    MscStatus st;
    const char *needle;
  } cases[] = {
    {1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, MSC_ERR_UNSUPPORTED, "object dtype"},
    {1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, MSC_ERR_UNSUPPORTED, "fortran_order True"},
    {1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, MSC_ERR_UNSUPPORTED, "big-endian"},
    {1, "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", 24, MSC_ERR_UNSUPPORTED, "dtype '<U3'"},
    {1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, MSC_ERR_UNSUPPORTED, "structured"},
    {4, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8, MSC_ERR_UNSUPPORTED, "version 4.0"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20, MSC_ERR_CORRUPT, "data has 20 bytes, expected 24"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28, MSC_ERR_CORRUPT, "data has 28 bytes, expected 24"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }", 12, MSC_ERR_CORRUPT, "negative"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 8, MSC_ERR_CORRUPT, "overflows"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 8, MSC_ERR_CORRUPT, "overflows"},
    {1, "{'descr': '<f4', 'shape': (2,), }", 8, MSC_ERR_CORRUPT, "lacks"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", 8, MSC_ERR_CORRUPT, "unknown or repeated key"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", 8, MSC_ERR_CORRUPT, "trailing"},
    {1, "['descr', '<f4']", 8, MSC_ERR_CORRUPT, "not a dict"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4, MSC_ERR_UNSUPPORTED, "rank"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GByteArray) b = npy_bytes(cases[i].major, cases[i].dict, data, cases[i].n);
    g_autoptr(GError) err = NULL;
    MscTensor *t = msc_tensor_load_npy_buffer(b->data, b->len, "bad.npy", &err);
    if (t)
      g_error("case %zu accepted: %s", i, cases[i].dict);
    const char *n[] = {"bad.npy", cases[i].needle, NULL};
    expect_error(err, cases[i].st, n);
  }
  /* header length pointing past the end of the file, and a bad magic */
  g_autoptr(GByteArray) b = npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data, 4);
  b->data[8] = 0xff;
  g_autoptr(GError) err = NULL;
  g_assert_null(msc_tensor_load_npy_buffer(b->data, b->len, "bad.npy", &err));
  const char *n1[] = {"header length", NULL};
  expect_error(err, MSC_ERR_CORRUPT, n1);
  g_clear_error(&err);
  g_assert_null(msc_tensor_load_npy_buffer((const uint8_t *)"PK\x03\x04 not numpy", 16, "z.npy", &err));
  const char *n2[] = {"bad magic", NULL};
  expect_error(err, MSC_ERR_CORRUPT, n2);
}

static void
test_tensor_io_npy_truncated(void)
{
  g_test_summary("Every truncation of an .npy file is refused as CORRUPT");
  const int64_t dims[] = {4, 4};
  g_autoptr(MscTensor) t = make_tensor(MSC_DTYPE_INT64, 2, dims, NULL);
  uint8_t *buf = NULL;
  size_t len = 0;
  g_autoptr(GError) err = NULL;
  g_assert_true(msc_tensor_save_npy_buffer(t, &buf, &len, &err));
  for (size_t cut = 0; cut < len; cut++) {
    g_autoptr(GError) e = NULL;
    MscTensor *u = msc_tensor_load_npy_buffer(buf, cut, "cut.npy", &e);
    if (u)
      g_error("truncation at %zu/%zu accepted", cut, len);
    expect_error(e, MSC_ERR_CORRUPT, NULL);
  }
  g_free(buf);
}

/* ------------------------------------------------------------------ */
/* files */

static void
test_tensor_io_file_dispatch(void)
{
  g_test_summary("load_file/save_file pick the format by extension; unknown ones are refused");
  g_autofree char *dir = make_tmpdir();
  const int64_t dims[] = {3};
  g_autoptr(MscTensor) t = make_tensor(MSC_DTYPE_INT32, 1, dims, "v");
  g_autofree char *pnpy = g_build_filename(dir, "a.npy", NULL);
  g_autofree char *ppb = g_build_filename(dir, "a.pb", NULL);
  g_autofree char *pbin = g_build_filename(dir, "a.bin", NULL);
  g_autoptr(GError) err = NULL;
  g_assert_true(msc_tensor_save_file(t, pnpy, &err));
  g_assert_true(msc_tensor_save_file(t, ppb, &err));
  g_assert_no_error(err);
  gchar *c = NULL;
  gsize n = 0;
  g_assert_true(g_file_get_contents(pnpy, &c, &n, NULL));
  g_assert_cmpmem(c, 6, "\x93NUMPY", 6);
  g_free(c);
  g_autoptr(MscTensor) a = msc_tensor_load_file(pnpy, &err);
  g_assert_no_error(err);
  assert_tensor_equal(t, a);
  g_autoptr(MscTensor) b = msc_tensor_load_file(ppb, &err);
  g_assert_no_error(err);
  assert_tensor_equal(t, b);
  /* unknown extension: saving refused, loading sniffs the .npy magic only */
  g_assert_false(msc_tensor_save_file(t, pbin, &err));
  expect_error(err, MSC_ERR_INVALID_ARG, NULL);
  g_clear_error(&err);
  g_assert_false(g_file_test(pbin, G_FILE_TEST_EXISTS));
  g_autofree char *npy_as_bin = g_build_filename(dir, "npy.bin", NULL);
  g_assert_true(g_file_get_contents(pnpy, &c, &n, NULL));
  g_assert_true(g_file_set_contents(npy_as_bin, c, (gssize)n, NULL));
  g_free(c);
  g_autoptr(MscTensor) s = msc_tensor_load_file(npy_as_bin, &err);
  g_assert_no_error(err);
  assert_tensor_equal(t, s);
  g_assert_true(g_file_set_contents(pbin, "\x08\x03", 2, NULL));
  g_assert_null(msc_tensor_load_file(pbin, &err));
  expect_error(err, MSC_ERR_UNSUPPORTED, NULL);
  g_clear_error(&err);
  /* missing file */
  g_autofree char *missing = g_build_filename(dir, "missing.npy", NULL);
  g_assert_null(msc_tensor_load_file(missing, &err));
  const char *needles[] = {"missing.npy", NULL};
  expect_error(err, MSC_ERR_IO, needles);
  rm_rf(dir);
}

static void
test_tensor_io_file_atomic(void)
{
  g_test_summary("A failed save leaves no partial or temp file and keeps the previous file");
  g_autofree char *dir = make_tmpdir();
  const int64_t dims[] = {2, 2};
  g_autoptr(MscTensor) t = make_tensor(MSC_DTYPE_FLOAT32, 2, dims, "t");
  g_autoptr(GError) err = NULL;

  /* 1. the destination is a directory: the rename fails after the temp
   *    file was written; the temp file must be gone. */
  g_autofree char *sub = g_build_filename(dir, "target.npy", NULL);
  g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
  g_assert_false(msc_tensor_save_npy(t, sub, &err));
  expect_error(err, MSC_ERR_IO, NULL);
  g_clear_error(&err);
  g_assert_cmpuint(count_entries(dir), ==, 1);
  g_assert_cmpuint(count_entries(sub), ==, 0);

  /* 2. a tensor that cannot be serialized: nothing is created */
  MscTensor str = {.dtype = MSC_DTYPE_STRING, .rank = 1, .dims = {2}};
  g_autofree char *p = g_build_filename(dir, "s.pb", NULL);
  g_assert_false(msc_tensor_save_pb(&str, p, &err));
  expect_error(err, MSC_ERR_UNSUPPORTED, NULL);
  g_clear_error(&err);
  g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));

  /* 3. a failed overwrite keeps the old contents intact */
  g_autofree char *keep = g_build_filename(dir, "keep.npy", NULL);
  g_assert_true(msc_tensor_save_npy(t, keep, &err));
  gchar *before = NULL, *after = NULL;
  gsize nb = 0, na = 0;
  g_assert_true(g_file_get_contents(keep, &before, &nb, NULL));
  g_autoptr(MscTensor) bf = make_tensor(MSC_DTYPE_BFLOAT16, 2, dims, "bf");
  g_assert_false(msc_tensor_save_npy(bf, keep, &err));
  g_clear_error(&err);
  g_assert_true(g_file_get_contents(keep, &after, &na, NULL));
  g_assert_cmpmem(before, nb, after, na);
  g_free(before);
  g_free(after);

  /* 4. a directory that does not exist */
  g_autofree char *nodir = g_build_filename(dir, "no", "such", "x.pb", NULL);
  g_assert_false(msc_tensor_save_pb(t, nodir, &err));
  expect_error(err, MSC_ERR_IO, NULL);
  g_assert_cmpuint(count_entries(dir), ==, 2); /* target.npy/ and keep.npy */
  rm_rf(dir);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/tensor-io/pb/round-trip-all-dtypes", test_tensor_io_pb_round_trip_all_dtypes);
  g_test_add_func("/tensor-io/pb/typed-fields", test_tensor_io_pb_typed_fields);
  g_test_add_func("/tensor-io/pb/bfloat16-as-uint16", test_tensor_io_pb_bfloat16_as_uint16);
  g_test_add_func("/tensor-io/pb/raw-size-lies", test_tensor_io_pb_raw_size_lies);
  g_test_add_func("/tensor-io/pb/bad-dims", test_tensor_io_pb_bad_dims);
  g_test_add_func("/tensor-io/pb/refused-kinds", test_tensor_io_pb_refused_kinds);
  g_test_add_func("/tensor-io/pb/truncated", test_tensor_io_pb_truncated);
  g_test_add_func("/tensor-io/pb/conformance-files", test_tensor_io_pb_conformance_files);
  g_test_add_func("/tensor-io/npy/round-trip-all-dtypes", test_tensor_io_npy_round_trip_all_dtypes);
  g_test_add_func("/tensor-io/npy/numpy-layout", test_tensor_io_npy_numpy_layout);
  g_test_add_func("/tensor-io/npy/versions", test_tensor_io_npy_versions);
  g_test_add_func("/tensor-io/npy/refused", test_tensor_io_npy_refused);
  g_test_add_func("/tensor-io/npy/truncated", test_tensor_io_npy_truncated);
  g_test_add_func("/tensor-io/file/dispatch", test_tensor_io_file_dispatch);
  g_test_add_func("/tensor-io/file/atomic", test_tensor_io_file_atomic);
  return g_test_run();
}
