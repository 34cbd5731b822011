/* tensor-io.c: TensorProto and .npy reading/writing (see tensor-io.h). */
#include "tensor-io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "msc-limits.h"
#include "onnx.pb-c.h"
#include "tensor.h"

/* ONNX data types newer than the ones MscDType lists (float8 x4, uint4,
 * int4, float4e2m1): known, so UNSUPPORTED rather than CORRUPT. */
#define ONNX_DTYPE_LAST_KNOWN 23

/* Protobuf messages are limited to 2 GiB; a larger .pb file is not ours. */
#define PB_MAX_BYTES ((size_t)G_MAXINT32)

/* ------------------------------------------------------------------ */
/* files */

gboolean
msc_file_write_atomic(const char *path, const uint8_t *data, size_t len, GError **error)
{
  g_return_val_if_fail(path != NULL, FALSE);
  g_return_val_if_fail(data != NULL || len == 0, FALSE);
  GError *local = NULL;
  /* GLib writes "<path>.XXXXXX" in the same directory, fsyncs, renames, and
   * unlinks the temp file on every failure path. */
  if (!g_file_set_contents_full(path, (const char *)(data ? data : (const uint8_t *)""),
                                (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0666, &local)) {
    msc_set_error(error, MSC_ERR_IO, "%s: cannot write: %s", path, local->message);
    g_error_free(local);
    return FALSE;
  }
  return TRUE;
}

gboolean
msc_file_read_all(const char *path, size_t max_len, uint8_t **data, size_t *len, GError **error)
{
  g_return_val_if_fail(path != NULL && data != NULL && len != NULL, FALSE);
  *data = NULL;
  *len = 0;
  struct stat st;
  if (stat(path, &st) != 0) {
    int e = errno;
    msc_set_error(error, MSC_ERR_IO, "%s: cannot open: %s", path, g_strerror(e));
    return FALSE;
  }
  if (S_ISDIR(st.st_mode)) {
    msc_set_error(error, MSC_ERR_IO, "%s: is a directory", path);
    return FALSE;
  }
  if ((uint64_t)st.st_size > (uint64_t)max_len) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: file too large (%lld bytes, limit %zu)", path,
                  (long long)st.st_size, max_len);
    return FALSE;
  }
  gchar *contents = NULL;
  gsize n = 0;
  GError *local = NULL;
  if (!g_file_get_contents(path, &contents, &n, &local)) {
    msc_set_error(error, MSC_ERR_IO, "%s: cannot read: %s", path, local->message);
    g_error_free(local);
    return FALSE;
  }
  if (n > max_len) { /* grew between stat and read */
    g_free(contents);
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: file too large (%zu bytes, limit %zu)", path,
                  (size_t)n, max_len);
    return FALSE;
  }
  *data = (uint8_t *)contents;
  *len = n;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* TensorProto -> MscTensor */

static const char *
onnx_dtype_name(int32_t dt)
{
  switch (dt) {
  case 17: return "float8e4m3fn";
  case 18: return "float8e4m3fnuz";
  case 19: return "float8e5m2";
  case 20: return "float8e5m2fnuz";
  case 21: return "uint4";
  case 22: return "int4";
  case 23: return "float4e2m1";
  default: return msc_dtype_name((MscDType)dt);
  }
}

/* Which typed field holds @dt and how many entries per element. */
typedef enum { FIELD_NONE, FIELD_FLOAT, FIELD_INT32, FIELD_INT64, FIELD_DOUBLE, FIELD_UINT64 } TypedField;

static TypedField
typed_field_for(MscDType dt, size_t *per_elem)
{
  *per_elem = 1;
  switch (dt) {
  case MSC_DTYPE_FLOAT32: return FIELD_FLOAT;
  case MSC_DTYPE_COMPLEX64: *per_elem = 2; return FIELD_FLOAT;
  case MSC_DTYPE_UINT8:
  case MSC_DTYPE_INT8:
  case MSC_DTYPE_UINT16:
  case MSC_DTYPE_INT16:
  case MSC_DTYPE_INT32:
  case MSC_DTYPE_BOOL:
  case MSC_DTYPE_FLOAT16:
  case MSC_DTYPE_BFLOAT16: return FIELD_INT32;
  case MSC_DTYPE_INT64: return FIELD_INT64;
  case MSC_DTYPE_DOUBLE: return FIELD_DOUBLE;
  case MSC_DTYPE_COMPLEX128: *per_elem = 2; return FIELD_DOUBLE;
  case MSC_DTYPE_UINT32:
  case MSC_DTYPE_UINT64: return FIELD_UINT64;
  default: return FIELD_NONE;
  }
}

static const char *
typed_field_name(TypedField f)
{
  switch (f) {
  case FIELD_FLOAT: return "float_data";
  case FIELD_INT32: return "int32_data";
  case FIELD_INT64: return "int64_data";
  case FIELD_DOUBLE: return "double_data";
  case FIELD_UINT64: return "uint64_data";
  default: return "?";
  }
}

static size_t
typed_field_count(const Onnx__TensorProto *tp, TypedField f)
{
  switch (f) {
  case FIELD_FLOAT: return tp->n_float_data;
  case FIELD_INT32: return tp->n_int32_data;
  case FIELD_INT64: return tp->n_int64_data;
  case FIELD_DOUBLE: return tp->n_double_data;
  case FIELD_UINT64: return tp->n_uint64_data;
  default: return 0;
  }
}

/* Copies the typed field into @out (nbytes already checked against numel). */
static void
copy_typed(const Onnx__TensorProto *tp, MscDType dt, TypedField f, size_t count, void *out)
{
  switch (f) {
  case FIELD_FLOAT: memcpy(out, tp->float_data, count * sizeof(float)); return;
  case FIELD_INT64: memcpy(out, tp->int64_data, count * sizeof(int64_t)); return;
  case FIELD_DOUBLE: memcpy(out, tp->double_data, count * sizeof(double)); return;
  case FIELD_UINT64:
    if (dt == MSC_DTYPE_UINT64) {
      memcpy(out, tp->uint64_data, count * sizeof(uint64_t));
    } else {
      uint32_t *o = out;
      for (size_t i = 0; i < count; i++)
        o[i] = (uint32_t)tp->uint64_data[i];
    }
    return;
  case FIELD_INT32: {
    const int32_t *s = tp->int32_data;
    switch (dt) {
    case MSC_DTYPE_INT32: memcpy(out, s, count * sizeof(int32_t)); return;
    case MSC_DTYPE_INT8:
      for (size_t i = 0; i < count; i++)
        ((int8_t *)out)[i] = (int8_t)s[i];
      return;
    case MSC_DTYPE_UINT8:
      for (size_t i = 0; i < count; i++)
        ((uint8_t *)out)[i] = (uint8_t)s[i];
      return;
    case MSC_DTYPE_BOOL:
      for (size_t i = 0; i < count; i++)
        ((uint8_t *)out)[i] = s[i] != 0;
      return;
    case MSC_DTYPE_INT16:
      for (size_t i = 0; i < count; i++)
        ((int16_t *)out)[i] = (int16_t)s[i];
      return;
    default: /* uint16, float16, bfloat16: the 16 bits as an integer */
      for (size_t i = 0; i < count; i++)
        ((uint16_t *)out)[i] = (uint16_t)s[i];
      return;
    }
  }
  default: return;
  }
}

/* What a checked TensorProto turns into: where the bytes come from. */
typedef struct {
  MscTensorProtoInfo info;
  gboolean use_raw;
  TypedField field;
  size_t per;
  char *ext_path; /* (owned) realpath of the external data file */
  uint64_t ext_offset;
} ProtoPlan;

static void
proto_plan_clear(ProtoPlan *p)
{
  g_clear_pointer(&p->ext_path, g_free);
}

/* "<n> elements exceed the limit" for a checked element count. */
static gboolean
check_element_limit(size_t numel, const char *w, const char *name, GError **error)
{
  MscLimits lim = msc_limits_get();
  if ((uint64_t)numel <= lim.tensor_elements)
    return TRUE;
  msc_set_error(error, MSC_ERR_UNSUPPORTED,
                "%s: tensor '%s': %zu elements exceed the limit of %" G_GUINT64_FORMAT
                " elements per tensor (set " MSC_LIMIT_ENV_TENSOR_ELEMENTS " to raise it)",
                w, name, numel, lim.tensor_elements);
  return FALSE;
}

/* Decimal digits only (no sign, no spaces), overflow-checked. */
static gboolean
parse_u64_strict(const char *s, uint64_t *out)
{
  if (s == NULL || !g_ascii_isdigit(*s))
    return FALSE;
  uint64_t v = 0;
  for (; *s; s++) {
    if (!g_ascii_isdigit(*s))
      return FALSE;
    uint64_t d = (uint64_t)(*s - '0');
    if (v > (G_MAXUINT64 - d) / 10)
      return FALSE;
    v = v * 10 + d;
  }
  *out = v;
  return TRUE;
}

/* Resolves and checks the external data of @tp (nbytes in @p->info): fills
 * ext_path / ext_offset. Every location and range rule of
 * msc_tensor_from_proto_in_dir() lives here. */
static gboolean
plan_external(const Onnx__TensorProto *tp, const char *w, const char *name, const char *model_dir,
              ProtoPlan *p, GError **error)
{
  const char *loc = NULL, *off_s = NULL, *len_s = NULL;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[i];
    const char *k = e->key ? e->key : "";
    const char **slot = strcmp(k, "location") == 0 ? &loc
                        : strcmp(k, "offset") == 0 ? &off_s
                        : strcmp(k, "length") == 0 ? &len_s
                                                   : NULL;
    if (slot == NULL)
      continue; /* checksum, basepath, future keys: not needed to read */
    if (*slot != NULL) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: tensor '%s': external_data lists '%s' twice", w,
                    name, k);
      return FALSE;
    }
    *slot = e->value ? e->value : "";
  }
  if (loc == NULL || loc[0] == '\0') {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: tensor '%s': external data without a location", w,
                  name);
    return FALSE;
  }
  g_autofree char *shown = g_strescape(loc, NULL); /* the location may hold anything */
  uint64_t offset = 0, length = p->info.nbytes;
  if (off_s && !parse_u64_strict(off_s, &offset)) {
    g_autofree char *o = g_strescape(off_s, NULL);
    msc_set_error(error, MSC_ERR_CORRUPT,
                  "%s: tensor '%s': external data '%s': offset '%s' is not a non-negative integer",
                  w, name, shown, o);
    return FALSE;
  }
  if (len_s && !parse_u64_strict(len_s, &length)) {
    g_autofree char *l = g_strescape(len_s, NULL);
    msc_set_error(error, MSC_ERR_CORRUPT,
                  "%s: tensor '%s': external data '%s': length '%s' is not a non-negative integer",
                  w, name, shown, l);
    return FALSE;
  }
  if (offset > G_MAXUINT64 - length) {
    msc_set_error(error, MSC_ERR_CORRUPT,
                  "%s: tensor '%s': external data '%s': offset %" G_GUINT64_FORMAT
                  " + length %" G_GUINT64_FORMAT " overflows",
                  w, name, shown, offset, length);
    return FALSE;
  }
  if (length != (uint64_t)p->info.nbytes) {
    char sbuf[8 * 24];
    msc_set_error(error, MSC_ERR_CORRUPT,
                  "%s: tensor '%s': external data '%s': length %" G_GUINT64_FORMAT
                  " differs from the %zu bytes of %s %s",
                  w, name, shown, length, p->info.nbytes, msc_dtype_name(p->info.dtype),
                  msc_shape_format(p->info.rank, p->info.dims, sbuf, sizeof sbuf));
    return FALSE;
  }
  /* Lexical rules first: they need no file system and explain themselves. */
  const char *why = NULL;
  if (g_path_is_absolute(loc) || loc[0] == '/')
    why = "is an absolute path";
  else if (strstr(loc, "..") != NULL)
    why = "contains '..'";
  else if (strchr(loc, '\\') != NULL)
    why = "contains a backslash";
  if (why) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED,
                  "%s: tensor '%s': external data location '%s' %s (only files inside the "
                  "model's folder are allowed)",
                  w, name, shown, why);
    return FALSE;
  }
  char *real_dir = realpath(model_dir, NULL);
  if (real_dir == NULL) {
    int e = errno;
    msc_set_error(error, MSC_ERR_IO, "%s: tensor '%s': model folder '%s': %s", w, name, model_dir,
                  g_strerror(e));
    return FALSE;
  }
  g_autofree char *joined = g_build_filename(model_dir, loc, NULL);
  char *real = realpath(joined, NULL);
  if (real == NULL) {
    int e = errno;
    free(real_dir);
    msc_set_error(error, MSC_ERR_IO, "%s: tensor '%s': external data file '%s': %s", w, name,
                  shown, g_strerror(e));
    return FALSE;
  }
  /* Symlinks are followed, so the resolved path must still be inside. */
  size_t dl = strlen(real_dir);
  gboolean inside = strncmp(real, real_dir, dl) == 0 &&
                    (real[dl] == '/' || (dl == 1 && real_dir[0] == '/')) && real[dl] != '\0' &&
                    !(dl == 1 && real[1] == '\0');
  free(real_dir);
  if (!inside) {
    g_autofree char *r = g_strescape(real, NULL);
    free(real);
    msc_set_error(error, MSC_ERR_UNSUPPORTED,
                  "%s: tensor '%s': external data location '%s' resolves to '%s', outside the "
                  "model's folder (only files inside it are allowed)",
                  w, name, shown, r);
    return FALSE;
  }
  struct stat st;
  if (stat(real, &st) != 0) {
    int e = errno;
    free(real);
    msc_set_error(error, MSC_ERR_IO, "%s: tensor '%s': external data file '%s': %s", w, name,
                  shown, g_strerror(e));
    return FALSE;
  }
  if (!S_ISREG(st.st_mode)) {
    free(real);
    msc_set_error(error, MSC_ERR_UNSUPPORTED,
                  "%s: tensor '%s': external data location '%s' is not a regular file", w, name,
                  shown);
    return FALSE;
  }
  uint64_t fsize = (uint64_t)st.st_size;
  if (offset > fsize || length > fsize - offset) {
    free(real);
    msc_set_error(error, MSC_ERR_CORRUPT,
                  "%s: tensor '%s': external data bytes [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                  ") run past the end of '%s' (%" G_GUINT64_FORMAT " bytes)",
                  w, name, offset, offset + length, shown, fsize);
    return FALSE;
  }
  p->ext_path = g_strdup(real);
  free(real);
  p->ext_offset = offset;
  return TRUE;
}

/* All checks of a TensorProto, no tensor allocation (see msc_tensor_proto_check). */
static gboolean
proto_plan(const Onnx__TensorProto *tp, const char *w, const char *model_dir, ProtoPlan *p,
           GError **error)
{
  memset(p, 0, sizeof *p);
  const char *name = tp->name ? tp->name : "";

  gboolean external =
    (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
    tp->n_external_data > 0;
  if (tp->has_data_location && tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT &&
      tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: tensor '%s': unknown data_location %d", w, name,
                  (int)tp->data_location);
    return FALSE;
  }
  if (external && model_dir == NULL) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED,
                  "%s: tensor '%s': external data not supported without the model's folder "
                  "(load the model from its file)",
                  w, name);
    return FALSE;
  }
  if (tp->segment) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: tensor '%s': segmented tensors not supported", w,
                  name);
    return FALSE;
  }
  int32_t code = tp->has_data_type ? tp->data_type : 0;
  if (code == MSC_DTYPE_STRING) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: tensor '%s': string tensors not supported", w, name);
    return FALSE;
  }
  if (code > MSC_DTYPE_BFLOAT16 && code <= ONNX_DTYPE_LAST_KNOWN) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: tensor '%s': data type %s (%d) not supported", w,
                  name, onnx_dtype_name(code), (int)code);
    return FALSE;
  }
  if (code <= MSC_DTYPE_UNDEFINED || code > ONNX_DTYPE_LAST_KNOWN) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: tensor '%s': %s data_type %d", w, name,
                  code == 0 ? "undefined" : "unknown", (int)code);
    return FALSE;
  }
  MscDType dt = (MscDType)code;
  size_t esz = msc_dtype_size(dt);
  if (esz == 0) { /* defensive: every listed non-string dtype has a size */
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: tensor '%s': data type %s not supported", w, name,
                  msc_dtype_name(dt));
    return FALSE;
  }
  if (tp->n_dims > MSC_MAX_RANK) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: tensor '%s': rank %zu above the limit %d", w,
                  name, tp->n_dims, MSC_MAX_RANK);
    return FALSE;
  }
  int32_t rank = (int32_t)tp->n_dims;
  int64_t *dims = p->info.dims;
  size_t numel = 1;
  for (int32_t i = 0; i < rank; i++) {
    dims[i] = tp->dims[i];
    if (dims[i] < 0) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: tensor '%s': negative dim %lld at axis %d", w, name,
                    (long long)dims[i], (int)i);
      return FALSE;
    }
  }
  size_t nbytes = 0;
  gboolean overflow = FALSE;
  for (int32_t i = 0; i < rank && !overflow; i++)
    overflow = !msc_mul_size(numel, (size_t)dims[i], &numel) || numel > (size_t)G_MAXINT64;
  if (!overflow)
    overflow = !msc_mul_size(numel, esz, &nbytes);
  char sbuf[8 * 24];
  if (overflow) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: tensor '%s': element count of shape %s overflows", w,
                  name, msc_shape_format(rank, dims, sbuf, sizeof sbuf));
    return FALSE;
  }
  p->info.dtype = dt;
  p->info.rank = rank;
  p->info.numel = numel;
  p->info.nbytes = nbytes;
  p->info.external = external;

  /* Validate the supplied size before allocating anything, so a few corrupt
   * bytes claiming a huge shape cannot trigger a huge allocation. */
  gboolean any_typed = tp->n_float_data || tp->n_int32_data || tp->n_int64_data ||
                       tp->n_double_data || tp->n_uint64_data;
  if (external) {
    if (tp->raw_data.len > 0 || any_typed) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: tensor '%s': has both external and embedded data",
                    w, name);
      return FALSE;
    }
    if (!check_element_limit(numel, w, name, error))
      return FALSE;
    return plan_external(tp, w, name, model_dir, p, error);
  }
  /* raw_data wins when it holds bytes; an explicitly empty raw_data next to
   * a filled typed field (seen from some writers) defers to the field. */
  p->use_raw = tp->raw_data.len > 0 || (tp->has_raw_data && !any_typed);
  p->per = 1;
  p->field = FIELD_NONE;
  if (p->use_raw) {
    if (tp->raw_data.len != nbytes) {
      msc_set_error(error, MSC_ERR_CORRUPT,
                    "%s: tensor '%s': raw_data has %zu bytes, expected %zu (%s %s)", w, name,
                    tp->raw_data.len, nbytes, msc_dtype_name(dt),
                    msc_shape_format(rank, dims, sbuf, sizeof sbuf));
      return FALSE;
    }
    p->info.wire_bytes = nbytes;
  } else {
    p->field = typed_field_for(dt, &p->per);
    size_t have = typed_field_count(tp, p->field);
    size_t want = 0;
    if (!msc_mul_size(numel, p->per, &want) || have != want) {
      msc_set_error(error, MSC_ERR_CORRUPT,
                    "%s: tensor '%s': %s has %zu elements, expected %zu (%s %s)", w, name,
                    typed_field_name(p->field), have, want, msc_dtype_name(dt),
                    msc_shape_format(rank, dims, sbuf, sizeof sbuf));
      return FALSE;
    }
    /* packed fixed32/fixed64 or varints (at least one byte each) */
    size_t wire_each = p->field == FIELD_FLOAT ? 4 : p->field == FIELD_DOUBLE ? 8 : 1;
    p->info.wire_bytes = want * wire_each; /* <= the bytes protobuf-c decoded them from */
  }
  return check_element_limit(numel, w, name, error);
}

/* Reads @n bytes at the plan's offset with bounded pread()s; the file is
 * re-checked after opening (it may have changed since the plan). */
static gboolean
read_external(const ProtoPlan *p, void *dst, size_t n, const char *w, const char *name,
              GError **error)
{
  int fd = open(p->ext_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int e = errno;
    msc_set_error(error, MSC_ERR_IO, "%s: tensor '%s': external data file '%s': %s", w, name,
                  p->ext_path, g_strerror(e));
    return FALSE;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < p->ext_offset ||
      (uint64_t)st.st_size - p->ext_offset < (uint64_t)n) {
    close(fd);
    msc_set_error(error, MSC_ERR_IO,
                  "%s: tensor '%s': external data file '%s' changed while being read", w, name,
                  p->ext_path);
    return FALSE;
  }
  size_t done = 0;
  while (done < n) {
    size_t chunk = MIN(n - done, (size_t)1 << 30);
    ssize_t r = pread(fd, (uint8_t *)dst + done, chunk, (off_t)(p->ext_offset + done));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      int e = r < 0 ? errno : 0;
      close(fd);
      msc_set_error(error, MSC_ERR_IO, "%s: tensor '%s': external data file '%s': %s", w, name,
                    p->ext_path, e ? g_strerror(e) : "unexpected end of file");
      return FALSE;
    }
    done += (size_t)r;
  }
  close(fd);
  return TRUE;
}

gboolean
msc_tensor_proto_check(const Onnx__TensorProto *tp, const char *where, const char *model_dir,
                       MscTensorProtoInfo *info, GError **error)
{
  g_return_val_if_fail(tp != NULL, FALSE);
  ProtoPlan p;
  gboolean ok = proto_plan(tp, where ? where : "tensor", model_dir, &p, error);
  if (ok && info)
    *info = p.info;
  proto_plan_clear(&p);
  return ok;
}

MscTensor *
msc_tensor_from_proto_in_dir(const Onnx__TensorProto *tp, const char *where,
                             const char *model_dir, GError **error)
{
  g_return_val_if_fail(tp != NULL, NULL);
  const char *w = where ? where : "tensor";
  const char *name = tp->name ? tp->name : "";
  ProtoPlan p;
  if (!proto_plan(tp, w, model_dir, &p, error)) {
    proto_plan_clear(&p);
    return NULL;
  }
  GError *local = NULL;
  MscTensor *t = msc_tensor_new(p.info.dtype, p.info.rank, p.info.dims, &local);
  if (!t) {
    msc_set_error(error, local && local->domain == MSC_ERROR ? (MscStatus)local->code : MSC_ERR_NOMEM,
                  "%s: tensor '%s': %s", w, name, local ? local->message : "allocation failed");
    g_clear_error(&local);
    proto_plan_clear(&p);
    return NULL;
  }
  size_t nbytes = p.info.nbytes;
  gboolean ok = TRUE;
  if (nbytes > 0) {
    if (p.info.external)
      ok = read_external(&p, t->data, nbytes, w, name, error);
    else if (p.use_raw)
      memcpy(t->data, tp->raw_data.data, nbytes);
    else
      copy_typed(tp, p.info.dtype, p.field, p.info.numel * p.per, t->data);
  }
  proto_plan_clear(&p);
  if (!ok) {
    msc_tensor_free(t);
    return NULL;
  }
  msc_tensor_normalize_bool(t);
  if (tp->name && tp->name[0])
    msc_tensor_set_name(t, tp->name);
  return t;
}

MscTensor *
msc_tensor_from_proto(const Onnx__TensorProto *tp, const char *where, GError **error)
{
  return msc_tensor_from_proto_in_dir(tp, where, NULL, error);
}

/* ------------------------------------------------------------------ */
/* MscTensor -> TensorProto */

Onnx__TensorProto *
msc_tensor_to_proto(const MscTensor *t, GError **error)
{
  g_return_val_if_fail(t != NULL, NULL);
  const char *name = t->name ? t->name : "";
  size_t esz = msc_dtype_size(t->dtype);
  if (esz == 0 || (int)t->dtype > MSC_DTYPE_BFLOAT16) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "tensor '%s': cannot serialize dtype %s", name,
                  msc_dtype_name(t->dtype));
    return NULL;
  }
  if (t->rank < 0 || t->rank > MSC_MAX_RANK) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "tensor '%s': cannot serialize rank %d", name,
                  (int)t->rank);
    return NULL;
  }
  int64_t numel = msc_shape_numel(t->rank, t->dims);
  size_t nbytes = 0;
  if (numel < 0 || !msc_mul_size((size_t)numel, esz, &nbytes)) {
    char sbuf[8 * 24];
    msc_set_error(error, MSC_ERR_INVALID_ARG, "tensor '%s': cannot serialize shape %s", name,
                  msc_shape_format(t->rank, t->dims, sbuf, sizeof sbuf));
    return NULL;
  }
  if (nbytes > 0 && (t->data == NULL || t->nbytes < nbytes)) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "tensor '%s': has %zu bytes of data, expected %zu",
                  name, t->data ? t->nbytes : (size_t)0, nbytes);
    return NULL;
  }
  if (nbytes > PB_MAX_BYTES) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED,
                  "tensor '%s': %zu bytes exceed the 2 GiB protobuf limit", name, nbytes);
    return NULL;
  }
  Onnx__TensorProto *tp = g_new0(Onnx__TensorProto, 1);
  onnx__tensor_proto__init(tp);
  tp->n_dims = (size_t)t->rank;
  tp->dims = t->rank > 0 ? g_memdup2(t->dims, sizeof(int64_t) * (size_t)t->rank) : NULL;
  tp->has_data_type = TRUE;
  tp->data_type = (int32_t)t->dtype;
  tp->name = t->name ? g_strdup(t->name) : NULL;
  tp->has_raw_data = TRUE;
  tp->raw_data.len = nbytes;
  tp->raw_data.data = nbytes > 0 ? (uint8_t *)t->data : NULL;
  return tp;
}

void
msc_tensor_proto_free(Onnx__TensorProto *tp)
{
  if (!tp)
    return;
  g_free(tp->dims);
  g_free(tp->name);
  g_free(tp);
}

/* ------------------------------------------------------------------ */
/* .pb files */

MscTensor *
msc_tensor_load_pb_buffer(const uint8_t *data, size_t len, const char *source_name, GError **error)
{
  const char *src = source_name ? source_name : "<buffer>";
  if (len > PB_MAX_BYTES) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: %zu bytes exceed the 2 GiB protobuf limit", src,
                  len);
    return NULL;
  }
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, data);
  if (!tp) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: not a valid TensorProto (protobuf parse failed)", src);
    return NULL;
  }
  MscTensor *t = msc_tensor_from_proto(tp, src, error);
  onnx__tensor_proto__free_unpacked(tp, NULL);
  return t;
}

MscTensor *
msc_tensor_load_pb(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  uint8_t *data = NULL;
  size_t len = 0;
  if (!msc_file_read_all(path, PB_MAX_BYTES, &data, &len, error))
    return NULL;
  MscTensor *t = msc_tensor_load_pb_buffer(data, len, path, error);
  g_free(data);
  return t;
}

gboolean
msc_tensor_save_pb_buffer(const MscTensor *t, uint8_t **data, size_t *len, GError **error)
{
  g_return_val_if_fail(t != NULL && data != NULL && len != NULL, FALSE);
  *data = NULL;
  *len = 0;
  Onnx__TensorProto *tp = msc_tensor_to_proto(t, error);
  if (!tp)
    return FALSE;
  size_t n = onnx__tensor_proto__get_packed_size(tp);
  uint8_t *buf = g_malloc(n > 0 ? n : 1);
  size_t w = onnx__tensor_proto__pack(tp, buf);
  msc_tensor_proto_free(tp);
  if (w != n) {
    g_free(buf);
    msc_set_error(error, MSC_ERR_INTERNAL, "tensor '%s': packed %zu bytes, expected %zu",
                  t->name ? t->name : "", w, n);
    return FALSE;
  }
  *data = buf;
  *len = n;
  return TRUE;
}

/* Encodes @t with @encode and writes the bytes atomically to @path. */
static gboolean
save_encoded(gboolean (*encode)(const MscTensor *, uint8_t **, size_t *, GError **), const MscTensor *t,
             const char *path, GError **error)
{
  uint8_t *buf = NULL;
  size_t n = 0;
  if (!encode(t, &buf, &n, error)) {
    g_prefix_error(error, "%s: ", path);
    return FALSE;
  }
  gboolean ok = msc_file_write_atomic(path, buf, n, error);
  g_free(buf);
  return ok;
}

gboolean
msc_tensor_save_pb(const MscTensor *t, const char *path, GError **error)
{
  g_return_val_if_fail(t != NULL && path != NULL, FALSE);
  return save_encoded(msc_tensor_save_pb_buffer, t, path, error);
}

/* ------------------------------------------------------------------ */
/* .npy files */

static const uint8_t NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

typedef struct {
  const char *descr; /* numpy type string */
  MscDType dtype;
} NpyType;

/* '<' little-endian, '|' not applicable (1-byte); '=' native is accepted too
 * on read since we only build for little-endian hosts. */
static const NpyType NPY_TYPES[] = {
  {"f4", MSC_DTYPE_FLOAT32},   {"f2", MSC_DTYPE_FLOAT16},  {"f8", MSC_DTYPE_DOUBLE},
  {"i1", MSC_DTYPE_INT8},      {"u1", MSC_DTYPE_UINT8},    {"i2", MSC_DTYPE_INT16},
  {"u2", MSC_DTYPE_UINT16},    {"i4", MSC_DTYPE_INT32},    {"u4", MSC_DTYPE_UINT32},
  {"i8", MSC_DTYPE_INT64},     {"u8", MSC_DTYPE_UINT64},   {"b1", MSC_DTYPE_BOOL},
  {"c8", MSC_DTYPE_COMPLEX64}, {"c16", MSC_DTYPE_COMPLEX128},
};

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "msc assumes a little-endian host (tensor data is little-endian)"
#endif

/* A tiny parser for the header dict numpy writes:
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * Python literal subset: quoted strings, True/False, tuples of ints. */
typedef struct {
  const char *p, *end;
} Cursor;

static void
skip_ws(Cursor *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static gboolean
eat(Cursor *c, char ch)
{
  skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return TRUE;
  }
  return FALSE;
}

/* Parses a quoted string into @buf (truncating is an error). */
static gboolean
parse_str(Cursor *c, char *buf, size_t size)
{
  skip_ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return FALSE;
  char q = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != q) {
    if (*c->p == '\\' || n + 1 >= size)
      return FALSE;
    buf[n++] = *c->p++;
  }
  if (c->p >= c->end)
    return FALSE;
  c->p++;
  buf[n] = '\0';
  return TRUE;
}

static gboolean
parse_word(Cursor *c, const char *w)
{
  skip_ws(c);
  size_t n = strlen(w);
  if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
    c->p += n;
    return TRUE;
  }
  return FALSE;
}

typedef enum { HDR_OK, HDR_CORRUPT, HDR_UNSUPPORTED } HdrStatus;

typedef struct {
  char descr[32];
  gboolean fortran;
  int32_t rank;
  int64_t dims[MSC_MAX_RANK];
  gboolean have_descr, have_fortran, have_shape;
  char what[160];
} NpyHeader;

static HdrStatus
hdr_fail(NpyHeader *h, HdrStatus s, const char *what)
{
  g_strlcpy(h->what, what, sizeof h->what);
  return s;
}

static HdrStatus
parse_shape(Cursor *c, NpyHeader *h)
{
  if (!eat(c, '('))
    return hdr_fail(h, HDR_CORRUPT, "header 'shape' is not a tuple");
  h->rank = 0;
  skip_ws(c);
  if (eat(c, ')'))
    return HDR_OK;
  for (;;) {
    skip_ws(c);
    if (c->p >= c->end || !g_ascii_isdigit(*c->p))
      return hdr_fail(h, HDR_CORRUPT, "header 'shape' has a non-integer or negative dim");
    int64_t v = 0;
    while (c->p < c->end && g_ascii_isdigit(*c->p)) {
      int d = *c->p++ - '0';
      if (v > (G_MAXINT64 - d) / 10)
        return hdr_fail(h, HDR_CORRUPT, "header 'shape' dim overflows int64");
      v = v * 10 + d;
    }
    if (c->p < c->end && *c->p == 'L') /* Python 2 long suffix */
      c->p++;
    if (h->rank >= MSC_MAX_RANK) {
      char msg[96];
      g_snprintf(msg, sizeof msg, "rank above the limit %d", MSC_MAX_RANK);
      return hdr_fail(h, HDR_UNSUPPORTED, msg);
    }
    h->dims[h->rank++] = v;
    if (eat(c, ')'))
      return HDR_OK;
    if (!eat(c, ','))
      return hdr_fail(h, HDR_CORRUPT, "header 'shape' tuple is malformed");
    if (eat(c, ')'))
      return HDR_OK;
  }
}

static HdrStatus
parse_header(const char *s, size_t n, NpyHeader *h)
{
  Cursor c = {s, s + n};
  memset(h, 0, sizeof *h);
  if (!eat(&c, '{'))
    return hdr_fail(h, HDR_CORRUPT, "header is not a dict");
  for (;;) {
    if (eat(&c, '}'))
      break;
    char key[32];
    if (!parse_str(&c, key, sizeof key))
      return hdr_fail(h, HDR_CORRUPT, "header dict key is malformed");
    if (!eat(&c, ':'))
      return hdr_fail(h, HDR_CORRUPT, "header dict is malformed (missing ':')");
    if (strcmp(key, "descr") == 0 && !h->have_descr) {
      skip_ws(&c);
      if (c.p < c.end && (*c.p == '[' || *c.p == '{'))
        return hdr_fail(h, HDR_UNSUPPORTED, "structured dtypes not supported");
      if (!parse_str(&c, h->descr, sizeof h->descr))
        return hdr_fail(h, HDR_CORRUPT, "header 'descr' is not a string");
      h->have_descr = TRUE;
    } else if (strcmp(key, "fortran_order") == 0 && !h->have_fortran) {
      if (parse_word(&c, "True"))
        h->fortran = TRUE;
      else if (parse_word(&c, "False"))
        h->fortran = FALSE;
      else
        return hdr_fail(h, HDR_CORRUPT, "header 'fortran_order' is not True/False");
      h->have_fortran = TRUE;
    } else if (strcmp(key, "shape") == 0 && !h->have_shape) {
      HdrStatus st = parse_shape(&c, h);
      if (st != HDR_OK)
        return st;
      h->have_shape = TRUE;
    } else {
      return hdr_fail(h, HDR_CORRUPT, "header has an unknown or repeated key");
    }
    if (eat(&c, '}'))
      break;
    if (!eat(&c, ','))
      return hdr_fail(h, HDR_CORRUPT, "header dict is malformed (missing ',')");
  }
  skip_ws(&c);
  if (c.p != c.end)
    return hdr_fail(h, HDR_CORRUPT, "trailing bytes after the header dict");
  if (!h->have_descr || !h->have_fortran || !h->have_shape)
    return hdr_fail(h, HDR_CORRUPT, "header lacks one of 'descr', 'fortran_order', 'shape'");
  return HDR_OK;
}

MscTensor *
msc_tensor_load_npy_buffer(const uint8_t *data, size_t len, const char *source_name, GError **error)
{
  const char *src = source_name ? source_name : "<buffer>";
  if (len < 10 || memcmp(data, NPY_MAGIC, 6) != 0) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: not an .npy file (bad magic)", src);
    return NULL;
  }
  unsigned major = data[6], minor = data[7];
  size_t hlen, hstart;
  if (major == 1 && minor == 0) {
    hlen = (size_t)data[8] | ((size_t)data[9] << 8);
    hstart = 10;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (len < 12) {
      msc_set_error(error, MSC_ERR_CORRUPT, "%s: .npy file truncated in its preamble (%zu bytes)",
                    src, len);
      return NULL;
    }
    hlen = (size_t)data[8] | ((size_t)data[9] << 8) | ((size_t)data[10] << 16) |
           ((size_t)data[11] << 24);
    hstart = 12;
  } else {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: .npy format version %u.%u not supported", src,
                  major, minor);
    return NULL;
  }
  if (hlen > len - hstart) {
    msc_set_error(error, MSC_ERR_CORRUPT,
                  "%s: .npy header length %zu exceeds the file (%zu bytes after the preamble)", src,
                  hlen, len - hstart);
    return NULL;
  }
  NpyHeader h;
  HdrStatus hs = parse_header((const char *)data + hstart, hlen, &h);
  if (hs != HDR_OK) {
    msc_set_error(error, hs == HDR_UNSUPPORTED ? MSC_ERR_UNSUPPORTED : MSC_ERR_CORRUPT,
                  "%s: .npy %s", src, h.what);
    return NULL;
  }
  /* dtype */
  const char *d = h.descr;
  char order = d[0];
  if (order == 'O' || (d[0] && d[1] == 'O')) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED,
                  "%s: .npy object dtype '%s' not supported (pickled data is never loaded)", src,
                  h.descr);
    return NULL;
  }
  if (order == '>') {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: .npy big-endian dtype '%s' not supported", src,
                  h.descr);
    return NULL;
  }
  MscDType dt = MSC_DTYPE_UNDEFINED;
  if (order == '<' || order == '|' || order == '=') {
    for (size_t i = 0; i < G_N_ELEMENTS(NPY_TYPES); i++)
      if (strcmp(d + 1, NPY_TYPES[i].descr) == 0)
        dt = NPY_TYPES[i].dtype;
  }
  if (dt == MSC_DTYPE_UNDEFINED) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: .npy dtype '%s' not supported", src, h.descr);
    return NULL;
  }
  if (h.fortran && h.rank > 1) {
    /* A fortran-ordered array of rank <= 1 has the same bytes as C order. */
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "%s: .npy fortran_order True not supported", src);
    return NULL;
  }
  size_t esz = msc_dtype_size(dt);
  size_t numel = 1, nbytes = 0;
  gboolean overflow = FALSE;
  for (int32_t i = 0; i < h.rank && !overflow; i++)
    overflow = !msc_mul_size(numel, (size_t)h.dims[i], &numel) || numel > (size_t)G_MAXINT64;
  if (!overflow)
    overflow = !msc_mul_size(numel, esz, &nbytes);
  char sbuf[8 * 24];
  if (overflow) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: .npy shape %s overflows", src,
                  msc_shape_format(h.rank, h.dims, sbuf, sizeof sbuf));
    return NULL;
  }
  size_t have = len - hstart - hlen;
  if (have != nbytes) {
    msc_set_error(error, MSC_ERR_CORRUPT, "%s: .npy data has %zu bytes, expected %zu (%s %s)", src,
                  have, nbytes, msc_dtype_name(dt), msc_shape_format(h.rank, h.dims, sbuf, sizeof sbuf));
    return NULL;
  }
  /* After the size check: a lying header is CORRUPT, a true one too big is over the limit. */
  MscLimits lim = msc_limits_get();
  if ((uint64_t)numel > lim.tensor_elements) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED,
                  "%s: .npy shape %s has %zu elements, above the limit of %" G_GUINT64_FORMAT
                  " elements per tensor (set " MSC_LIMIT_ENV_TENSOR_ELEMENTS " to raise it)",
                  src, msc_shape_format(h.rank, h.dims, sbuf, sizeof sbuf), numel,
                  lim.tensor_elements);
    return NULL;
  }
  GError *local = NULL;
  MscTensor *t = msc_tensor_new(dt, h.rank, h.dims, &local);
  if (!t) {
    msc_set_error(error, local && local->domain == MSC_ERROR ? (MscStatus)local->code : MSC_ERR_NOMEM,
                  "%s: %s", src, local ? local->message : "allocation failed");
    g_clear_error(&local);
    return NULL;
  }
  if (nbytes > 0)
    memcpy(t->data, data + hstart + hlen, nbytes);
  msc_tensor_normalize_bool(t);
  return t;
}

MscTensor *
msc_tensor_load_npy(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  uint8_t *data = NULL;
  size_t len = 0;
  if (!msc_file_read_all(path, MSC_TENSOR_MAX_BYTES + 65536 + 12, &data, &len, error))
    return NULL;
  MscTensor *t = msc_tensor_load_npy_buffer(data, len, path, error);
  g_free(data);
  return t;
}

gboolean
msc_tensor_save_npy_buffer(const MscTensor *t, uint8_t **data, size_t *len, GError **error)
{
  g_return_val_if_fail(t != NULL && data != NULL && len != NULL, FALSE);
  *data = NULL;
  *len = 0;
  const char *name = t->name ? t->name : "";
  const char *code = NULL;
  for (size_t i = 0; i < G_N_ELEMENTS(NPY_TYPES); i++)
    if (NPY_TYPES[i].dtype == t->dtype)
      code = NPY_TYPES[i].descr;
  if (!code) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "tensor '%s': dtype %s has no .npy equivalent", name,
                  msc_dtype_name(t->dtype));
    return FALSE;
  }
  if (t->rank < 0 || t->rank > MSC_MAX_RANK) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "tensor '%s': cannot serialize rank %d", name,
                  (int)t->rank);
    return FALSE;
  }
  size_t esz = msc_dtype_size(t->dtype);
  int64_t numel = msc_shape_numel(t->rank, t->dims);
  size_t nbytes = 0;
  if (numel < 0 || !msc_mul_size((size_t)numel, esz, &nbytes)) {
    char sbuf[8 * 24];
    msc_set_error(error, MSC_ERR_INVALID_ARG, "tensor '%s': cannot serialize shape %s", name,
                  msc_shape_format(t->rank, t->dims, sbuf, sizeof sbuf));
    return FALSE;
  }
  if (nbytes > 0 && (t->data == NULL || t->nbytes < nbytes)) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "tensor '%s': has %zu bytes of data, expected %zu",
                  name, t->data ? t->nbytes : (size_t)0, nbytes);
    return FALSE;
  }
  GString *hdr = g_string_new(NULL);
  g_string_append_printf(hdr, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                         esz == 1 ? '|' : '<', code);
  for (int32_t i = 0; i < t->rank; i++)
    g_string_append_printf(hdr, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
  g_string_append(hdr, t->rank == 1 ? ",), }" : "), }");
  /* numpy >= 1.24 leaves room for the first dim to grow to 21 digits. */
  if (t->rank > 0) {
    char d0[24];
    int w = g_snprintf(d0, sizeof d0, "%lld", (long long)t->dims[0]);
    for (int i = w; i < 21; i++)
      g_string_append_c(hdr, ' ');
  }
  /* As numpy's _wrap_header: pad with 1..64 spaces plus '\n' so the data
   * starts at a multiple of 64 bytes; format 1.0 (2-byte header length)
   * unless the header needs 2.0, so our files are byte-identical to np.save. */
  size_t pre = 10;
  size_t pad = 64 - (pre + hdr->len + 1) % 64;
  if (hdr->len + 1 + pad > 65535) {
    pre = 12;
    pad = 64 - (pre + hdr->len + 1) % 64;
  }
  for (size_t i = 0; i < pad; i++)
    g_string_append_c(hdr, ' ');
  g_string_append_c(hdr, '\n');
  size_t hlen = hdr->len;
  size_t out_len = pre + hlen + nbytes;
  uint8_t *out = g_malloc(out_len);
  memcpy(out, NPY_MAGIC, 6);
  out[6] = pre == 10 ? 1 : 2;
  out[7] = 0;
  out[8] = (uint8_t)(hlen & 0xff);
  out[9] = (uint8_t)((hlen >> 8) & 0xff);
  if (pre == 12) {
    out[10] = (uint8_t)((hlen >> 16) & 0xff);
    out[11] = (uint8_t)((hlen >> 24) & 0xff);
  }
  memcpy(out + pre, hdr->str, hlen);
  if (nbytes > 0)
    memcpy(out + pre + hlen, t->data, nbytes);
  g_string_free(hdr, TRUE);
  *data = out;
  *len = out_len;
  return TRUE;
}

gboolean
msc_tensor_save_npy(const MscTensor *t, const char *path, GError **error)
{
  g_return_val_if_fail(t != NULL && path != NULL, FALSE);
  return save_encoded(msc_tensor_save_npy_buffer, t, path, error);
}

/* ------------------------------------------------------------------ */
/* dispatch */

MscTensor *
msc_tensor_load_file(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  if (g_str_has_suffix(path, ".npy"))
    return msc_tensor_load_npy(path, error);
  if (g_str_has_suffix(path, ".pb"))
    return msc_tensor_load_pb(path, error);
  /* Unknown extension: sniff the .npy magic, never guess protobuf (any
   * byte string may parse as one). */
  uint8_t *data = NULL;
  size_t len = 0;
  if (!msc_file_read_all(path, MSC_TENSOR_MAX_BYTES + 65536 + 12, &data, &len, error))
    return NULL;
  MscTensor *t = NULL;
  if (len >= 6 && memcmp(data, NPY_MAGIC, 6) == 0)
    t = msc_tensor_load_npy_buffer(data, len, path, error);
  else
    msc_set_error(error, MSC_ERR_UNSUPPORTED,
                  "%s: unknown tensor file type (expected a .npy or .pb extension)", path);
  g_free(data);
  return t;
}

gboolean
msc_tensor_save_file(const MscTensor *t, const char *path, GError **error)
{
  g_return_val_if_fail(t != NULL && path != NULL, FALSE);
  if (g_str_has_suffix(path, ".npy"))
    return msc_tensor_save_npy(t, path, error);
  if (g_str_has_suffix(path, ".pb"))
    return msc_tensor_save_pb(t, path, error);
  msc_set_error(error, MSC_ERR_INVALID_ARG,
                "%s: unknown tensor file type (expected a .npy or .pb extension)", path);
  return FALSE;
}
