/* tensor-io.h: tensors to and from files and ONNX TensorProto messages.
 *
 * Formats: serialized onnx.TensorProto (".pb", as in the ONNX backend test
 * data) and NumPy ".npy" (format 1.0/2.0/3.0, little-endian, C order).
 * Every reader validates sizes (and the limits of limits.h) before
 * allocating, so a corrupt or lying file gives an MSC_ERR_CORRUPT error,
 * never a crash or a huge allocation.
 * Every writer goes through msc_file_write_atomic(): a temp file in the same
 * directory, then rename, so a failed save never leaves a half-written file.
 *
 * Errors are in the MSC_ERROR domain with an MscStatus code; messages are
 * one line "<file or where>: tensor '<name>': <what> (<values>)".
 */
#ifndef MSC_TENSOR_IO_H
#define MSC_TENSOR_IO_H

#include <glib.h>
#include "msc-types.h"

G_BEGIN_DECLS

/* The generated protobuf-c type (onnx.pb-c.h); a repeated identical typedef
 * is fine in C11 and keeps this header usable without the generated one. */
typedef struct Onnx__TensorProto Onnx__TensorProto;

/**
 * msc_tensor_from_proto:
 * @tp: (transfer none): a TensorProto.
 * @where: (nullable): context for messages (a file name, "model.onnx: node
 *   'c' (Constant): attribute 'value'"); "tensor" when NULL.
 * @error: (out) (optional): error location.
 *
 * Converts a TensorProto to a tensor with owned storage. Accepts raw_data
 * and the typed fields (float_data, int32_data for every <= 32-bit integer,
 * bool, float16 and bfloat16 bits, int64_data, double_data, uint64_data for
 * uint32/uint64). Every MscDType with a fixed element size is stored (also
 * ones the kernels do not compute with, like double); the dtype is kept as
 * given (bfloat16 bits stored as UINT16 stay UINT16). The tensor name is
 * kept. Same as msc_tensor_from_proto_in_dir() without a folder, so
 * external data is refused.
 *
 * Returns: (transfer full) (nullable): the tensor, or NULL with @error set:
 * MSC_ERR_CORRUPT for negative dims, element count overflow, unknown data
 * type, data size differing from the dims (message names both sizes);
 * MSC_ERR_UNSUPPORTED for string tensors, external data, segments, rank
 * above MSC_MAX_RANK, ONNX types MscDType does not list (float8, int4) and
 * more elements than the tensor_elements limit (limits.h).
 */
MscTensor *msc_tensor_from_proto(const Onnx__TensorProto *tp, const char *where, GError **error);

/**
 * msc_tensor_from_proto_in_dir:
 * @tp: (transfer none): a TensorProto.
 * @where: (nullable): context for messages, as for msc_tensor_from_proto().
 * @model_dir: (nullable): the folder of the model file @tp comes from;
 *   NULL when there is none (a buffer), which refuses external data.
 * @error: (out) (optional): error location.
 *
 * As msc_tensor_from_proto(), and reads external data (data_location
 * EXTERNAL; external_data keys location, offset, length; checksum and
 * unknown keys ignored) from a file INSIDE @model_dir only: locations that
 * are empty, absolute, contain "..", a backslash, resolve (symlinks
 * followed) outside @model_dir or to a non-regular file are refused, as are
 * a length other than the tensor's byte size and ranges that overflow or
 * pass the end of the file. The bytes are read with bounded pread()s into
 * the tensor, allocated only after every check passed.
 *
 * Returns: (transfer full) (nullable): the tensor, or NULL with @error set
 * (as msc_tensor_from_proto(); external-data policy refusals are
 * MSC_ERR_UNSUPPORTED, malformed entries and bad ranges MSC_ERR_CORRUPT, a
 * missing or unreadable data file MSC_ERR_IO).
 */
MscTensor *msc_tensor_from_proto_in_dir(const Onnx__TensorProto *tp, const char *where,
                                        const char *model_dir, GError **error);

/**
 * MscTensorProtoInfo:
 * @dtype, @rank, @dims: the declared type and shape.
 * @numel: element count (within the tensor_elements limit).
 * @nbytes: bytes the tensor needs in memory.
 * @external: the data lives in an external file.
 * @wire_bytes: fewest bytes the embedded data occupies in the file (0 for
 *   external data; varint-coded typed fields count one byte an entry).
 */
typedef struct {
  MscDType dtype;
  int32_t rank;
  int64_t dims[MSC_MAX_RANK];
  size_t numel;
  size_t nbytes;
  gboolean external;
  size_t wire_bytes;
} MscTensorProtoInfo;

/**
 * msc_tensor_proto_check:
 * @tp: (transfer none): a TensorProto.
 * @where: (nullable): context for messages.
 * @model_dir: (nullable): as for msc_tensor_from_proto_in_dir().
 * @info: (out) (optional): what the tensor declares.
 * @error: (out) (optional): error location.
 *
 * Every check msc_tensor_from_proto_in_dir() makes (external files
 * included), without allocating the tensor: lets a loader refuse a model
 * before allocating any of it.
 *
 * Returns: FALSE with @error set exactly as msc_tensor_from_proto_in_dir().
 */
gboolean msc_tensor_proto_check(const Onnx__TensorProto *tp, const char *where,
                                const char *model_dir, MscTensorProtoInfo *info, GError **error);

/**
 * msc_tensor_to_proto:
 * @t: (transfer none): a tensor with data.
 * @error: (out) (optional): error location.
 *
 * Builds a TensorProto in raw_data form (little-endian) named after @t.
 * The proto's raw_data BORROWS @t->data: keep @t alive and unchanged while
 * the proto is in use, and free the proto with msc_tensor_proto_free()
 * (never with onnx__tensor_proto__free_unpacked()).
 *
 * Returns: (transfer full) (nullable): the proto, or NULL with @error set
 * (MSC_ERR_UNSUPPORTED for string/undefined dtypes, MSC_ERR_INVALID_ARG
 * for a tensor without data or with nbytes not matching its dims).
 */
Onnx__TensorProto *msc_tensor_to_proto(const MscTensor *t, GError **error);
/* Frees a proto from msc_tensor_to_proto() (not its borrowed data). NULL-safe. */
void msc_tensor_proto_free(Onnx__TensorProto *tp);

/**
 * msc_tensor_load_pb_buffer:
 * @data: (array length=len): a serialized TensorProto.
 * @source_name: (nullable): name used in messages.
 *
 * Returns: (transfer full) (nullable): the tensor, or NULL with @error set
 * (MSC_ERR_CORRUPT when the bytes do not parse; see msc_tensor_from_proto).
 */
MscTensor *msc_tensor_load_pb_buffer(const uint8_t *data, size_t len, const char *source_name,
                                     GError **error);
/* Loads a serialized TensorProto file. (transfer full) (nullable): NULL with
 * @error set (MSC_ERR_IO when unreadable, else as msc_tensor_load_pb_buffer). */
MscTensor *msc_tensor_load_pb(const char *path, GError **error);
/* Serializes @t (transfer none) as a TensorProto (raw_data) into (out)
 * (transfer full, g_free) @data/@len. FALSE with @error set on failure. */
gboolean msc_tensor_save_pb_buffer(const MscTensor *t, uint8_t **data, size_t *len, GError **error);
/* Writes @t as a TensorProto file, atomically. FALSE with @error set. */
gboolean msc_tensor_save_pb(const MscTensor *t, const char *path, GError **error);

/**
 * msc_tensor_load_npy_buffer:
 * @data: (array length=len): the bytes of an .npy file.
 * @source_name: (nullable): name used in messages.
 *
 * Reads NumPy format 1.0, 2.0 and 3.0 with dtypes <f4 <f2 <f8 |i1 |u1 <i2
 * <u2 <i4 <u4 <i8 <u8 |b1 <c8 <c16 (dtype kept as given). Never unpickles.
 *
 * Returns: (transfer full) (nullable): the tensor (unnamed), or NULL with
 * @error set: MSC_ERR_CORRUPT for a bad magic or header, or a data size that
 * differs from the shape; MSC_ERR_UNSUPPORTED for object ('O') or structured
 * dtypes, big-endian data, fortran_order True, other format versions, rank
 * above MSC_MAX_RANK, more elements than the tensor_elements limit (checked
 * after the size, so a lying header is CORRUPT).
 */
MscTensor *msc_tensor_load_npy_buffer(const uint8_t *data, size_t len, const char *source_name,
                                      GError **error);
/* Loads an .npy file. (transfer full) (nullable): NULL with @error set. */
MscTensor *msc_tensor_load_npy(const char *path, GError **error);
/* Serializes @t as .npy (format 1.0, or 2.0 when the header needs it) into
 * (out) (transfer full, g_free) @data/@len. MSC_ERR_UNSUPPORTED for dtypes
 * NumPy has no code for (bfloat16, string). */
gboolean msc_tensor_save_npy_buffer(const MscTensor *t, uint8_t **data, size_t *len, GError **error);
/* Writes @t as an .npy file, atomically. FALSE with @error set. */
gboolean msc_tensor_save_npy(const MscTensor *t, const char *path, GError **error);

/**
 * msc_tensor_load_file:
 * @path: a ".npy" or ".pb" file (another extension: sniffed by the .npy
 *   magic, else MSC_ERR_UNSUPPORTED).
 *
 * Returns: (transfer full) (nullable): the tensor or NULL with @error set.
 */
MscTensor *msc_tensor_load_file(const char *path, GError **error);
/* Saves by extension (".npy" or ".pb"; else MSC_ERR_INVALID_ARG). */
gboolean msc_tensor_save_file(const MscTensor *t, const char *path, GError **error);

/**
 * msc_file_write_atomic:
 * @path: destination.
 * @data: (array length=len): bytes to write.
 *
 * Writes to a temp file in the directory of @path, then renames it over
 * @path; on any failure the temp file is removed and an existing @path is
 * left untouched.
 *
 * Returns: FALSE with @error set (MSC_ERR_IO, message "<path>: <reason>").
 */
gboolean msc_file_write_atomic(const char *path, const uint8_t *data, size_t len, GError **error);

/* Reads a whole file, refusing files above @max_len bytes (MSC_ERR_UNSUPPORTED).
 * (out) (transfer full, g_free) @data/@len; MSC_ERR_IO when unreadable. */
gboolean msc_file_read_all(const char *path, size_t max_len, uint8_t **data, size_t *len,
                           GError **error);

G_END_DECLS
#endif /* MSC_TENSOR_IO_H */
