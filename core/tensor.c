/* tensor.c: tensors with 64-byte aligned storage, dtypes, half floats. */
#include "tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "error.h"

size_t msc_dtype_size(MscDType dtype) {
  switch (dtype) {
    case MSC_DTYPE_FLOAT32: case MSC_DTYPE_INT32: case MSC_DTYPE_UINT32: return 4;
    case MSC_DTYPE_UINT8: case MSC_DTYPE_INT8: case MSC_DTYPE_BOOL: return 1;
    case MSC_DTYPE_UINT16: case MSC_DTYPE_INT16: case MSC_DTYPE_FLOAT16: case MSC_DTYPE_BFLOAT16: return 2;
    case MSC_DTYPE_INT64: case MSC_DTYPE_DOUBLE: case MSC_DTYPE_UINT64: case MSC_DTYPE_COMPLEX64: return 8;
    case MSC_DTYPE_COMPLEX128: return 16;
    default: return 0;
  }
}

const char *msc_dtype_name(MscDType dtype) {
  switch (dtype) {
    case MSC_DTYPE_UNDEFINED: return "undefined";
    case MSC_DTYPE_FLOAT32: return "float32";
    case MSC_DTYPE_UINT8: return "uint8";
    case MSC_DTYPE_INT8: return "int8";
    case MSC_DTYPE_UINT16: return "uint16";
    case MSC_DTYPE_INT16: return "int16";
    case MSC_DTYPE_INT32: return "int32";
    case MSC_DTYPE_INT64: return "int64";
    case MSC_DTYPE_STRING: return "string";
    case MSC_DTYPE_BOOL: return "bool";
    case MSC_DTYPE_FLOAT16: return "float16";
    case MSC_DTYPE_DOUBLE: return "double";
    case MSC_DTYPE_UINT32: return "uint32";
    case MSC_DTYPE_UINT64: return "uint64";
    case MSC_DTYPE_COMPLEX64: return "complex64";
    case MSC_DTYPE_COMPLEX128: return "complex128";
    case MSC_DTYPE_BFLOAT16: return "bfloat16";
  }
  return "unknown-dtype";
}

gboolean msc_dtype_is_supported(MscDType d) {
  return d == MSC_DTYPE_FLOAT32 || d == MSC_DTYPE_FLOAT16 || d == MSC_DTYPE_INT8 || d == MSC_DTYPE_UINT8 ||
         d == MSC_DTYPE_INT32 || d == MSC_DTYPE_INT64 || d == MSC_DTYPE_BOOL || d == MSC_DTYPE_DOUBLE;
}

gboolean msc_dtype_is_float(MscDType d) {
  return d == MSC_DTYPE_FLOAT32 || d == MSC_DTYPE_FLOAT16 || d == MSC_DTYPE_DOUBLE || d == MSC_DTYPE_BFLOAT16;
}

gboolean msc_dtype_is_integer(MscDType d) {
  switch (d) {
    case MSC_DTYPE_UINT8: case MSC_DTYPE_INT8: case MSC_DTYPE_UINT16: case MSC_DTYPE_INT16:
    case MSC_DTYPE_INT32: case MSC_DTYPE_INT64: case MSC_DTYPE_UINT32: case MSC_DTYPE_UINT64:
      return TRUE;
    default: return FALSE;
  }
}

int64_t msc_shape_numel(int32_t rank, const int64_t *dims) {
  int64_t n = 1;
  if (rank < 0) return -1;
  for (int32_t i = 0; i < rank; i++) {
    if (dims[i] < 0) return -1;
  }
  for (int32_t i = 0; i < rank; i++) {
    if (__builtin_mul_overflow(n, dims[i], &n)) return -2;
  }
  return n;
}

char *msc_shape_format(int32_t rank, const int64_t *dims, char *buf, size_t size) {
  if (rank < 0) {
    g_strlcpy(buf, "[?rank]", size);
    return buf;
  }
  size_t off = 0;
  off += g_snprintf(buf + off, size - off, "[");
  for (int32_t i = 0; i < rank && off < size; i++) {
    if (dims[i] < 0)
      off += g_snprintf(buf + off, size - off, "%s?", i ? "," : "");
    else
      off += g_snprintf(buf + off, size - off, "%s%" G_GINT64_FORMAT, i ? "," : "", dims[i]);
  }
  if (off < size) g_snprintf(buf + off, size - off, "]");
  return buf;
}

void msc_shape_strides(int32_t rank, const int64_t *dims, int64_t *strides) {
  int64_t s = 1;
  for (int32_t i = rank - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i];
  }
}

/* Large buffers (ResNet-50's packed weights stream ~100 MB from memory
 * per inference) on 4 KiB pages cost a TLB miss, under KVM a two-level
 * page walk, every 4 KiB: conv-bench --cold on 1x1/2 1024->2048, 1x1
 * 2048->512 @7 and 3x3 512 @7 ran 1.055-1.088x longer without the advice
 * (Zen 3 VM, THP in madvise mode); peak RSS of ResNet-50 unchanged (318 MB).
 * Where THP is off the advice is ignored; MSC_HUGE_PAGES=0 turns it off. */
void *msc_aligned_alloc0(size_t nbytes) {
  void *p = NULL;
  size_t n = nbytes ? (nbytes + 63) & ~(size_t)63 : 64;
  if (n < nbytes) return NULL;
  size_t align = 64;
  if (n >= MSC_HUGE_BYTES) { /* the environment is read for large buffers only (small ones come per run) */
    const char *env = getenv("MSC_HUGE_PAGES"); /* "0": never (A/B, or THP compaction stalls) */
    if (!(env && !strcmp(env, "0"))) align = MSC_HUGE_BYTES;
  }
  if (posix_memalign(&p, align, n) != 0) return NULL;
#ifdef MADV_HUGEPAGE
  if (align == MSC_HUGE_BYTES) (void)madvise(p, n & ~(size_t)4095, MADV_HUGEPAGE);
#endif
  memset(p, 0, n);
  return p;
}

void msc_aligned_free(void *p) {
  free(p);
}

static gboolean check_shape(MscDType dtype, int32_t rank, const int64_t *dims, size_t *nbytes, GError **error) {
  char sbuf[200];
  if (rank < 0 || rank > MSC_MAX_RANK) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "tensor rank %d out of range 0..%d", rank, MSC_MAX_RANK);
    return FALSE;
  }
  size_t es = msc_dtype_size(dtype);
  if (es == 0) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "tensor dtype %s has no fixed element size", msc_dtype_name(dtype));
    return FALSE;
  }
  int64_t n = msc_shape_numel(rank, dims);
  if (n == -1) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "tensor shape %s has a negative dim",
                  msc_shape_format(rank, dims, sbuf, sizeof sbuf));
    return FALSE;
  }
  if (n == -2 || !msc_mul_size((size_t)n, es, nbytes) || *nbytes > MSC_TENSOR_MAX_BYTES) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "tensor shape %s (%s) is larger than the %zu-byte limit",
                  msc_shape_format(rank, dims, sbuf, sizeof sbuf), msc_dtype_name(dtype), MSC_TENSOR_MAX_BYTES);
    return FALSE;
  }
  return TRUE;
}

MscTensor *msc_tensor_new(MscDType dtype, int32_t rank, const int64_t *dims, GError **error) {
  size_t nbytes;
  if (!check_shape(dtype, rank, dims, &nbytes, error)) return NULL;
  void *data = msc_aligned_alloc0(nbytes);
  if (!data) {
    msc_set_error(error, MSC_ERR_NOMEM, "cannot allocate %zu bytes for a tensor", nbytes);
    return NULL;
  }
  MscTensor *t = g_new0(MscTensor, 1);
  t->dtype = dtype;
  t->rank = rank;
  if (rank > 0) memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
  t->data = data;
  t->nbytes = nbytes;
  t->flags = MSC_TENSOR_OWNS_DATA;
  return t;
}

MscTensor *msc_tensor_new_borrowed(MscDType dtype, int32_t rank, const int64_t *dims, void *data) {
  MscTensor *t = msc_tensor_new_info(dtype, rank, dims);
  int64_t n = msc_shape_numel(rank, dims);
  t->data = data;
  t->nbytes = n > 0 ? (size_t)n * msc_dtype_size(dtype) : 0;
  return t;
}

MscTensor *msc_tensor_new_info(MscDType dtype, int32_t rank, const int64_t *dims) {
  MscTensor *t = g_new0(MscTensor, 1);
  t->dtype = dtype;
  t->rank = rank;
  if (rank > 0 && rank <= MSC_MAX_RANK && dims) memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
  return t;
}

MscTensor *msc_tensor_copy(const MscTensor *src, GError **error) {
  MscTensor *t = msc_tensor_new(src->dtype, src->rank, src->dims, error);
  if (!t) return NULL;
  if (src->data && t->nbytes) memcpy(t->data, src->data, MIN(t->nbytes, src->nbytes));
  msc_tensor_set_name(t, src->name);
  return t;
}

void msc_tensor_free(MscTensor *t) {
  if (!t) return;
  if (t->flags & MSC_TENSOR_OWNS_DATA) msc_aligned_free(t->data);
  g_free(t->name);
  g_free(t);
}

void msc_tensor_set_name(MscTensor *t, const char *name) {
  char *old = t->name;
  t->name = g_strdup(name);
  g_free(old);
}

int64_t msc_tensor_numel(const MscTensor *t) {
  return msc_shape_numel(t->rank, t->dims);
}

double msc_tensor_get_f64(const MscTensor *t, int64_t i) {
  const void *d = t->data;
  switch (t->dtype) {
    case MSC_DTYPE_FLOAT32: return ((const float *)d)[i];
    case MSC_DTYPE_FLOAT16: return msc_f16_to_f32(((const uint16_t *)d)[i]);
    case MSC_DTYPE_BFLOAT16: return msc_bf16_to_f32(((const uint16_t *)d)[i]);
    case MSC_DTYPE_DOUBLE: return ((const double *)d)[i];
    case MSC_DTYPE_UINT8: return ((const uint8_t *)d)[i];
    case MSC_DTYPE_INT8: return ((const int8_t *)d)[i];
    case MSC_DTYPE_BOOL: return ((const uint8_t *)d)[i] != 0;
    case MSC_DTYPE_UINT16: return ((const uint16_t *)d)[i];
    case MSC_DTYPE_INT16: return ((const int16_t *)d)[i];
    case MSC_DTYPE_INT32: return ((const int32_t *)d)[i];
    case MSC_DTYPE_UINT32: return ((const uint32_t *)d)[i];
    case MSC_DTYPE_INT64: return (double)((const int64_t *)d)[i];
    case MSC_DTYPE_UINT64: return (double)((const uint64_t *)d)[i];
    default: return 0.0;
  }
}

int64_t msc_tensor_get_i64(const MscTensor *t, int64_t i) {
  switch (t->dtype) {
    case MSC_DTYPE_INT64: return ((const int64_t *)t->data)[i];
    case MSC_DTYPE_INT32: return ((const int32_t *)t->data)[i];
    case MSC_DTYPE_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
    default: {
      double v = msc_tensor_get_f64(t, i);
      if (v != v) return 0;
      if (v >= 9.2233720368547758e18) return INT64_MAX;
      if (v <= -9.2233720368547758e18) return INT64_MIN;
      return (int64_t)v;
    }
  }
}

static double sat(double v, double lo, double hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

void msc_tensor_set_f64(MscTensor *t, int64_t i, double v) {
  void *d = t->data;
  if (msc_dtype_is_integer(t->dtype) && v == v) v = nearbyint(v); /* default FE_TONEAREST: half to even */
  else if (msc_dtype_is_integer(t->dtype)) v = 0;
  switch (t->dtype) {
    case MSC_DTYPE_FLOAT32: ((float *)d)[i] = (float)v; break;
    case MSC_DTYPE_FLOAT16: ((uint16_t *)d)[i] = msc_f32_to_f16((float)v); break;
    case MSC_DTYPE_BFLOAT16: ((uint16_t *)d)[i] = msc_f32_to_bf16((float)v); break;
    case MSC_DTYPE_DOUBLE: ((double *)d)[i] = v; break;
    case MSC_DTYPE_UINT8: ((uint8_t *)d)[i] = (uint8_t)sat(v, 0, 255); break;
    case MSC_DTYPE_INT8: ((int8_t *)d)[i] = (int8_t)sat(v, -128, 127); break;
    case MSC_DTYPE_BOOL: ((uint8_t *)d)[i] = v != 0; break;
    case MSC_DTYPE_UINT16: ((uint16_t *)d)[i] = (uint16_t)sat(v, 0, 65535); break;
    case MSC_DTYPE_INT16: ((int16_t *)d)[i] = (int16_t)sat(v, -32768, 32767); break;
    case MSC_DTYPE_INT32: ((int32_t *)d)[i] = (int32_t)sat(v, -2147483648.0, 2147483647.0); break;
    case MSC_DTYPE_UINT32: ((uint32_t *)d)[i] = (uint32_t)sat(v, 0, 4294967295.0); break;
    case MSC_DTYPE_INT64: ((int64_t *)d)[i] = (int64_t)sat(v, -9.2233720368547758e18, 9.2233720368547748e18); break;
    case MSC_DTYPE_UINT64: ((uint64_t *)d)[i] = (uint64_t)sat(v, 0, 1.8446744073709550e19); break;
    default: break;
  }
}

float msc_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { /* subnormal: normalize */
      int e = -1;
      do {
        e++;
        man <<= 1;
      } while (!(man & 0x400));
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t msc_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffff;
  if (absx >= 0x7f800000u) /* inf or nan */
    return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 | ((absx >> 13) & 0x3ff) : 0));
  if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520: inf */
  if (absx < 0x38800000u) {                                  /* below smallest normal half: subnormal */
    if (absx < 0x33000000u) return (uint16_t)sign;           /* < 2^-25: rounds to 0 */
    uint32_t e = absx >> 23;
    uint32_t m = (absx & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e; /* value = m * 2^(e-150); half subnormal unit = 2^-24 */
    uint32_t half = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t r = absx + 0xfff + ((absx >> 13) & 1); /* round to nearest even */
  r -= (112u << 23);
  return (uint16_t)(sign | (r >> 13));
}

float msc_bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t msc_f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

gboolean msc_tensor_compare(const MscTensor *got, const MscTensor *exp, double rtol, double atol, MscCompareResult *r) {
  memset(r, 0, sizeof *r);
  r->worst = -1;
  r->dtype_ok = got->dtype == exp->dtype;
  r->shape_ok = got->rank == exp->rank && memcmp(got->dims, exp->dims, sizeof(int64_t) * (size_t)MAX(got->rank, 0)) == 0;
  if (!r->dtype_ok || !r->shape_ok) return FALSE;
  int64_t n = msc_tensor_numel(got);
  r->n = n;
  gboolean exact = !msc_dtype_is_float(got->dtype);
  double worst_excess = 0;
  for (int64_t i = 0; i < n; i++) {
    double g = msc_tensor_get_f64(got, i), e = msc_tensor_get_f64(exp, i);
    if (exact && got->dtype == MSC_DTYPE_INT64) { /* beyond 2^53 doubles lose bits: compare as integers */
      int64_t gi = msc_tensor_get_i64(got, i), ei = msc_tensor_get_i64(exp, i);
      if (gi == ei) continue;
      double d = fabs((double)gi - (double)ei);
      d = d > 0 ? d : 1;
      r->max_abs = MAX(r->max_abs, d);
      if (r->n_bad++ == 0 || d > worst_excess) {
        worst_excess = d;
        r->worst = i;
        r->got_worst = (double)gi;
        r->exp_worst = (double)ei;
      }
      continue;
    }
    if (isnan(g) && isnan(e)) continue;
    if (isinf(g) && isinf(e) && (g > 0) == (e > 0)) continue;
    double d = fabs(g - e);
    double tol = exact ? 0 : atol + rtol * fabs(e);
    if (isnan(d)) d = INFINITY;
    if (d > r->max_abs) r->max_abs = d;
    double rel = e != 0 ? d / fabs(e) : (d > 0 ? INFINITY : 0);
    if (rel > r->max_rel) r->max_rel = rel;
    if (d > tol) {
      r->n_bad++;
      if (r->worst < 0 || d - tol > worst_excess) {
        worst_excess = d - tol;
        r->worst = i;
        r->got_worst = g;
        r->exp_worst = e;
      }
    }
  }
  return r->n_bad == 0;
}

/* mulberry32, as shared/bench/lib/tensorproto.js. */
uint32_t msc_mulberry32(uint32_t *state) {
  uint32_t t = (*state += 0x6D2B79F5u);
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return t ^ (t >> 14);
}

void msc_tensor_fill_random(MscTensor *t, uint32_t seed) {
  uint32_t state = seed;
  int64_t n = msc_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    double r = msc_mulberry32(&state) / 4294967296.0;
    switch (t->dtype) {
      case MSC_DTYPE_FLOAT32: ((float *)t->data)[i] = (float)(2 * r - 1); break;
      case MSC_DTYPE_FLOAT16: ((uint16_t *)t->data)[i] = msc_f32_to_f16((float)(2 * r - 1)); break;
      case MSC_DTYPE_BOOL: ((uint8_t *)t->data)[i] = r >= 0.5; break;
      default: msc_tensor_set_f64(t, i, floor(r * 10)); break;
    }
  }
}

void msc_tensor_normalize_bool(MscTensor *t) {
  if (!t || t->dtype != MSC_DTYPE_BOOL || !t->data) return;
  uint8_t *b = t->data;
  for (size_t i = 0; i < t->nbytes; i++) b[i] = b[i] != 0;
}
