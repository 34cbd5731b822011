/* op-util.h: helpers for operator implementations (infer/run), built-in or
 * plugin. All report errors through the MscOpCtx: on failure they set
 * ctx->status/message and return that status, so code reads
 *     if (msc_op_attr_int(ctx, "group", 1, &group)) return ctx->status;
 */
#ifndef MSC_OP_UTIL_H
#define MSC_OP_UTIL_H

#include <stdarg.h>
#include "msc-op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records an error (first one wins) and returns @status. The message should
 * name the attribute/input and values; the core prefixes node name and op. */
MscStatus msc_op_fail(MscOpCtx *ctx, MscStatus status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Attribute lookup; (transfer none), NULL when absent. */
const MscAttr *msc_node_find_attr(const MscNode *n, const char *name);

/* Typed attribute getters: absent -> default (lists: *out NULL, *n 0);
 * present with the wrong type -> MSC_ERR_INVALID_ARG naming the attribute. */
MscStatus msc_op_attr_int(MscOpCtx *ctx, const char *name, int64_t dflt, int64_t *out);
MscStatus msc_op_attr_float(MscOpCtx *ctx, const char *name, float dflt, float *out);
MscStatus msc_op_attr_string(MscOpCtx *ctx, const char *name, const char *dflt, const char **out);
MscStatus msc_op_attr_ints(MscOpCtx *ctx, const char *name, const int64_t **out, size_t *n);
MscStatus msc_op_attr_floats(MscOpCtx *ctx, const char *name, const float **out, size_t *n);
MscStatus msc_op_attr_tensor(MscOpCtx *ctx, const char *name, const MscTensor **out);

/* Input access. msc_op_input returns in[i] or NULL (absent / i >= n_in). */
const MscTensor *msc_op_input(MscOpCtx *ctx, uint32_t i);
/* Reads an int32/int64 1-D (or scalar) input into @buf (max @cap entries).
 * Returns MSC_OK and *n; if the input's value is not known (static
 * inference), returns MSC_OK with *known = 0. */
MscStatus msc_op_input_ints(MscOpCtx *ctx, uint32_t i, int64_t *buf, size_t cap, size_t *n, int *known);

/* Refuses an output shape whose byte size overflows or exceeds
 * MSC_TENSOR_MAX_BYTES (unknown -1 dims skipped), naming the shape; so a
 * huge Expand/Tile/Pad is an infer error, not a failed allocation.
 * msc_op_set_output applies it to every output. */
MscStatus msc_op_check_out_size(MscOpCtx *ctx, MscDType dtype, int32_t rank, const int64_t *dims);

/* Sets output j's dtype and shape (infer); checks the size as above. */
MscStatus msc_op_set_output(MscOpCtx *ctx, uint32_t j, MscDType dtype, int32_t rank, const int64_t *dims);
/* Output j same dtype+shape as input i. */
MscStatus msc_op_same_as_input(MscOpCtx *ctx, uint32_t j, uint32_t i);

/* Checks input i's dtype is one of the listed (terminated by
 * MSC_DTYPE_UNDEFINED); else MSC_ERR_UNSUPPORTED naming input and dtype. */
MscStatus msc_op_check_dtype(MscOpCtx *ctx, uint32_t i, ...);
/* Inputs i and k have the same dtype, else MSC_ERR_INVALID_ARG. */
MscStatus msc_op_check_same_dtype(MscOpCtx *ctx, uint32_t i, uint32_t k);

/* Normalizes a possibly negative axis for rank r into [0, r); out of range
 * -> MSC_ERR_INVALID_ARG naming @what. With @inclusive the range is
 * [0, r] and negative axes count from r + 1 (an insert position, as for
 * Unsqueeze/Concat-style "between dims"); ops whose axis means "split
 * before dim a" in [-r, r] (Flatten) normalize with r itself instead. */
MscStatus msc_op_norm_axis(MscOpCtx *ctx, const char *what, int64_t axis, int32_t rank, int inclusive, int64_t *out);

/* Numpy-style broadcast of two shapes (-1 unknown dims allowed in static
 * inference). Result in *rank/dims. Incompatible -> MSC_ERR_INVALID_ARG. */
MscStatus msc_op_broadcast(MscOpCtx *ctx, int32_t ra, const int64_t *da, int32_t rb, const int64_t *db,
                           int32_t *rank, int64_t *dims);
/* Element offset in an input of shape (r, d) broadcast to the output shape
 * (rank ro, dims do_) for the output's multi-index @idx. */
int64_t msc_broadcast_offset(int32_t ro, const int64_t *idx, int32_t r, const int64_t *d);

/* For type-generic ops that move whole elements: input i (if present) must
 * have a dtype the core supports, else MSC_ERR_UNSUPPORTED naming it. */
MscStatus msc_op_check_generic(MscOpCtx *ctx, uint32_t i);

/* Name of an ONNX TensorProto dtype code for messages, also for codes above
 * the MscDType range (float8, int4, ...); unknown codes are formatted into
 * @buf as "dtype(N)". Returns a static string or @buf (transfer none). */
const char *msc_op_dtype_code_name(int64_t code, char *buf, size_t size);

/* Writes @f as one element of @dtype into @v (8 bytes, zeroed first):
 * float32/float16/double converted, int8/uint8/int32/int64 rounded half
 * to even and saturated, bool = (f != 0). Returns 1, or 0 (v all zero) for
 * any other dtype. Serves constant fill values (Pad, Resize extrapolation). */
int msc_op_scalar_bytes(MscDType dtype, float f, uint8_t *v);

/* Fills all of @y (contiguous) from a strided view of @x, walking y in
 * order: y's element idx is x's element off + sum_k idx[k] * step[k]
 * (element units; steps may be negative or 0). Moves whole elements of 1,
 * 2, 4 or 8 bytes, another size -> MSC_ERR_UNSUPPORTED naming x's dtype.
 * An empty y is a no-op; rank 0 copies the one element. Serves Transpose
 * (step = permuted strides) and Slice (step = steps * strides). */
MscStatus msc_op_strided_copy(MscOpCtx *ctx, MscTensor *y, const MscTensor *x, int64_t off, const int64_t *step);

/* Fills all of @y (non-empty, rank >= 1, rank of @x) through per-axis source
 * tables: y's element idx reads x at sum_k tab[k][idx[k]] * xstride[k], or is
 * @fill (one element in x's dtype) when any tab[k][idx[k]] is -1. tab[k] has
 * y->dims[k] entries (transfer none). Element sizes as msc_op_strided_copy.
 * Serves Pad (reflect/edge/wrap/constant) and nearest Resize. */
MscStatus msc_op_table_gather(MscOpCtx *ctx, MscTensor *y, const MscTensor *x, int64_t *const *tab, const void *fill);

#ifdef __cplusplus
}
#endif
#endif
