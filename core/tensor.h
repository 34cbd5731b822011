/* tensor.h: tensors (core-internal API; the struct is in msc-types.h). */
#ifndef MSC_TENSOR_H
#define MSC_TENSOR_H

#include <glib.h>
#include "msc-types.h"

G_BEGIN_DECLS

/* Largest element count one tensor may hold (guards absurd allocations). */
#define MSC_TENSOR_MAX_BYTES ((size_t)8 << 30)

/* Size in bytes of one element; 0 for UNDEFINED/STRING and unknown codes. */
size_t msc_dtype_size(MscDType dtype);
/* ONNX-style lowercase name ("float32", "int64", ...); "dtype(N)" style for
 * unknown codes is returned in a static buffer per code. Never NULL. */
const char *msc_dtype_name(MscDType dtype);
/* TRUE for the dtypes tensors may carry through a graph: float32, float16,
 * int8, uint8, int32, int64, bool, and double (elementwise, Cast and data
 * movement ops only; compute-heavy ops refuse it as UNSUPPORTED). */
gboolean msc_dtype_is_supported(MscDType dtype);
gboolean msc_dtype_is_float(MscDType dtype); /* float32, float16 (double, bf16 too) */
gboolean msc_dtype_is_integer(MscDType dtype);

/* Product of dims; -1 if any dim is negative (unknown); -2 on overflow. */
int64_t msc_shape_numel(int32_t rank, const int64_t *dims);
/* "[1,3,224,224]" (unknown dims as '?'); writes into buf (size >= 8 * 21). */
char *msc_shape_format(int32_t rank, const int64_t *dims, char *buf, size_t size);
/* Row-major strides in elements. */
void msc_shape_strides(int32_t rank, const int64_t *dims, int64_t *strides);

/**
 * msc_tensor_new:
 * Allocates a tensor with zero-filled, 64-byte aligned storage.
 * Returns: (transfer full) (nullable): NULL with @error set on bad dtype,
 * negative dims, rank out of range or size overflow / above MSC_TENSOR_MAX_BYTES.
 */
MscTensor *msc_tensor_new(MscDType dtype, int32_t rank, const int64_t *dims, GError **error);
/* A tensor viewing @data (transfer none): the caller keeps data alive. */
MscTensor *msc_tensor_new_borrowed(MscDType dtype, int32_t rank, const int64_t *dims, void *data);
/* A shape-only tensor (data NULL) for static inference; dims may be -1. */
MscTensor *msc_tensor_new_info(MscDType dtype, int32_t rank, const int64_t *dims);
/* (transfer full) deep copy with owned storage; NULL on allocation failure. */
MscTensor *msc_tensor_copy(const MscTensor *t, GError **error);
/* Frees the tensor, its name, and its data when owned. NULL-safe. */
void msc_tensor_free(MscTensor *t);
/* Sets the name (copied). */
void msc_tensor_set_name(MscTensor *t, const char *name);
int64_t msc_tensor_numel(const MscTensor *t);

/* Element access converting through double / int64 (any supported dtype;
 * float16 converted). For reference code paths, not hot loops. */
double msc_tensor_get_f64(const MscTensor *t, int64_t i);
void msc_tensor_set_f64(MscTensor *t, int64_t i, double v); /* integer dtypes: round half to even, saturate */
int64_t msc_tensor_get_i64(const MscTensor *t, int64_t i);

/* Bool tensors hold bytes 0/1 only: every reader maps a stray non-zero
 * byte to 1, so kernels never see other values. No-op for other dtypes. */
void msc_tensor_normalize_bool(MscTensor *t);

/* Fills @t like shared/bench/make-case.js (NAME=SHAPE@SEED): mulberry32(@seed),
 * floats 2r-1 (uniform [-1,1)), integers floor(10r), bool r >= 0.5. */
void msc_tensor_fill_random(MscTensor *t, uint32_t seed);
/* One step of mulberry32 (the PRNG of shared/bench): returns 32 random bits. */
uint32_t msc_mulberry32(uint32_t *state);

/* IEEE half <-> float, round to nearest even. */
float msc_f16_to_f32(uint16_t h);
uint16_t msc_f32_to_f16(float f);
float msc_bf16_to_f32(uint16_t h);
uint16_t msc_f32_to_bf16(float f);

/* Zero-filled allocation of @nbytes, 64-byte aligned; from MSC_HUGE_BYTES
 * on, 2 MiB aligned and advised for transparent huge pages (packed conv
 * weights, the activation arena: one TLB entry per 2 MiB instead of 512;
 * MSC_HUGE_PAGES=0 in the environment turns the advice off).
 * Returns (transfer full) memory to free with msc_aligned_free, or NULL
 * when the allocation fails. */
#define MSC_HUGE_BYTES ((size_t) 2 << 20)
void *msc_aligned_alloc0(size_t nbytes);
void msc_aligned_free(void *p);

/**
 * MscCompareResult: outcome of msc_tensor_compare.
 * @n_bad: elements outside |got - exp| <= atol + rtol * |exp| (NaN == NaN).
 * @worst: index of the element with the largest excess over tolerance.
 */
typedef struct MscCompareResult {
  gboolean dtype_ok, shape_ok;
  int64_t n, n_bad, worst;
  double max_abs, max_rel, got_worst, exp_worst;
} MscCompareResult;

/* Compares @got with @exp: same dtype and shape; floats within
 * tolerance, integers and bools exactly (rtol/atol ignored). Returns TRUE
 * when everything matches. */
gboolean msc_tensor_compare(const MscTensor *got, const MscTensor *exp, double rtol, double atol, MscCompareResult *r);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MscTensor, msc_tensor_free)

G_END_DECLS
#endif
