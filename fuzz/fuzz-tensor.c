/* fuzz-tensor.c: the tensor readers. Every input goes through both
 * msc_tensor_load_pb_buffer (serialized onnx.TensorProto) and
 * msc_tensor_load_npy_buffer (NumPy .npy); a tensor that loads is written
 * back in both formats and must load again with the same dtype, shape and
 * bytes. Errors are fine; crashes, UB, leaks and round-trip changes are bugs. */
#include <string.h>

#include "fuzz-common.h"
#include "tensor-io.h"
#include "tensor.h"

static void check_tensor(const MscTensor *t, const char *what) {
  if (t->rank < 0 || t->rank > MSC_MAX_RANK) fuzz_bug("%s: rank %d out of range", what, t->rank);
  int64_t n = msc_shape_numel(t->rank, t->dims);
  if (n < 0) fuzz_bug("%s: bad shape", what);
  size_t es = msc_dtype_size(t->dtype);
  if (es && (size_t)n * es != t->nbytes)
    fuzz_bug("%s: nbytes %zu, dims say %" G_GINT64_FORMAT " x %zu", what, t->nbytes, n, es);
  if (t->nbytes && !t->data) fuzz_bug("%s: nbytes %zu but no data", what, t->nbytes);
  /* touch every byte so ASan sees a short buffer */
  volatile uint8_t sum = 0;
  for (size_t i = 0; i < t->nbytes; i++) sum += ((const uint8_t *)t->data)[i];
  (void)sum;
}

static void same_tensor(const MscTensor *a, const MscTensor *b, const char *what) {
  if (a->dtype != b->dtype || a->rank != b->rank) fuzz_bug("%s: dtype/rank changed (%d/%d -> %d/%d)", what, a->dtype, a->rank, b->dtype, b->rank);
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) fuzz_bug("%s: dim %d changed", what, i);
  if (a->nbytes != b->nbytes) fuzz_bug("%s: nbytes changed", what);
  if (a->dtype == MSC_DTYPE_BOOL) {
    /* a .pb raw_data bool byte other than 0/1 is kept as is, .npy
     * normalises it: compare truth values (see fuzz/README.md) */
    for (size_t i = 0; i < a->nbytes; i++)
      if (!((const uint8_t *)a->data)[i] != !((const uint8_t *)b->data)[i]) fuzz_bug("%s: bool data changed", what);
  } else if (a->nbytes && memcmp(a->data, b->data, a->nbytes) != 0) {
    fuzz_bug("%s: data changed", what);
  }
}

static void round_trip(const MscTensor *t) {
  GError *e = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  if (msc_tensor_save_npy_buffer(t, &buf, &len, &e)) {
    MscTensor *t2 = msc_tensor_load_npy_buffer(buf, len, "round-trip.npy", &e);
    if (!t2) fuzz_bug("saved .npy does not load back: %s", e ? e->message : "?");
    same_tensor(t, t2, ".npy round trip");
    msc_tensor_free(t2);
    g_free(buf);
  } else {
    g_clear_error(&e);
  }
  buf = NULL;
  if (msc_tensor_save_pb_buffer(t, &buf, &len, &e)) {
    MscTensor *t2 = msc_tensor_load_pb_buffer(buf, len, "round-trip.pb", &e);
    if (!t2) fuzz_bug("saved .pb does not load back: %s", e ? e->message : "?");
    same_tensor(t, t2, ".pb round trip");
    msc_tensor_free(t2);
    g_free(buf);
  } else {
    g_clear_error(&e);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init_once();
  GError *e = NULL;
  MscTensor *t = msc_tensor_load_pb_buffer(data, size, "fuzz.pb", &e);
  if (t) {
    check_tensor(t, "pb");
    round_trip(t);
    msc_tensor_free(t);
  } else {
    if (!e || !e->message) fuzz_bug("msc_tensor_load_pb_buffer failed without an error message");
    g_clear_error(&e);
  }
  t = msc_tensor_load_npy_buffer(data, size, "fuzz.npy", &e);
  if (t) {
    check_tensor(t, "npy");
    round_trip(t);
    msc_tensor_free(t);
  } else {
    if (!e || !e->message) fuzz_bug("msc_tensor_load_npy_buffer failed without an error message");
    g_clear_error(&e);
  }
  return 0;
}
