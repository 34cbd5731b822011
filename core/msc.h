/* msc.h: the public embedding API of libmsc. Plain C11, no GLib types.
 *
 * Load an ONNX model, bind it to a runner ("ref", or any runner plugin),
 * run it on tensors:
 *
 *     char *err = NULL;
 *     MscModel *model = NULL;
 *     MscSessionHandle *sess = NULL;
 *     if (msc_init(&err) != MSC_OK ||
 *         msc_model_load("model.onnx", &model, &err) != MSC_OK ||
 *         msc_session_create(model, "ref", &sess, &err) != MSC_OK) {
 *       fprintf(stderr, "%s\n", err);
 *       msc_free(err);
 *       ...
 *     }
 *
 * Conventions, for every function here:
 * - The return value is an MscStatus: MSC_OK, or the error class
 *   (MSC_ERR_INVALID_ARG, _UNSUPPORTED, _IO, _CORRUPT, _ABI, _NOMEM,
 *   _INTERNAL). msc_status_name() gives its short name.
 * - @error_message is nullable. When non-NULL it is set to NULL on success
 *   and, on failure, to a (transfer full) one-line message
 *   "<thing>: <where>: <what is wrong> (<values>)"; free it with msc_free().
 * - Out-parameters are set to NULL/0 on failure.
 * - A NULL pointer where an object is required is MSC_ERR_INVALID_ARG with
 *   a message naming the function and parameter (never a crash).
 *
 * Names: MscModel is a loaded, verified model; MscSessionHandle is a model
 * bound to a runner (named so to not clash with the core-internal
 * MscSession of runtime/session.h, which it wraps). Tensors are the plain
 * MscTensor struct of msc-types.h, row-major, little-endian.
 *
 * Threads: msc_init() and everything on models are MT safe; a model is
 * immutable once loaded and may be shared by sessions in several threads.
 * A session is not MT safe: use it from one thread at a time (create one
 * session per thread; they may share the model).
 */
#ifndef MSC_PUBLIC_H
#define MSC_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#include "msc-types.h"
#include "msc-plugin.h" /* MscNodeHook, MscHookPhase */

#ifdef __cplusplus
extern "C" {
#endif

/** MscModel: opaque; a loaded and verified model. */
typedef struct MscModel MscModel;
/** MscSessionHandle: opaque; a model bound to a runner with its run state. */
typedef struct MscSessionHandle MscSessionHandle;

/**
 * msc_version:
 *
 * Returns: (transfer none): the library version, "MAJOR.MINOR.PATCH"
 * (static). MT safe.
 */
const char *msc_version(void);

/**
 * msc_status_name:
 * @status: a status.
 *
 * Returns: (transfer none): its short lowercase name ("ok", "invalid
 * argument", ...; static). MT safe.
 */
const char *msc_status_name(MscStatus status);

/**
 * msc_free:
 * @ptr: (nullable) (transfer full): an error message or an array returned
 *   by this API (e.g. the outputs array of msc_session_execute()).
 *
 * Frees memory this API handed out. Not for tensors (msc_tensor_destroy)
 * or models/sessions (their _free/_destroy). NULL-safe. MT safe.
 */
void msc_free(void *ptr);

/**
 * msc_init:
 * @error_message: (out) (optional) (nullable): see the conventions above.
 *
 * Registers the built-in operators and loads the plugins (search order:
 * MSC_PLUGIN_PATH, the build tree's plugin directory, the install
 * directory; see `msc plugins`). A plugin file that is refused is skipped
 * and is not an error. Idempotent: later calls return the first result
 * cheaply. msc_model_load() and msc_session_create() call it themselves;
 * call it first to see initialization errors on their own.
 *
 * Returns: MSC_OK, or the status of the failed registration (normally
 * MSC_ERR_INVALID_ARG for a name clash in the registry). MT safe.
 */
MscStatus msc_init(char **error_message);

/**
 * msc_model_load:
 * @path: an .onnx file.
 * @out: (out) (transfer full): the model; free with msc_model_free().
 * @error_message: (out) (optional) (nullable): see the conventions above.
 *
 * Reads the file, builds the graph and verifies it (topological order,
 * every op supported at the model's opset, static shape inference).
 *
 * Returns: MSC_OK; MSC_ERR_IO (unreadable file), MSC_ERR_CORRUPT (not a
 * valid ONNX model, dangling or duplicated values, cycles),
 * MSC_ERR_UNSUPPORTED (an op or dtype this build cannot run, external
 * data, above 2 GiB), MSC_ERR_INVALID_ARG (bad attributes or shapes;
 * NULL argument). MT safe.
 */
MscStatus msc_model_load(const char *path, MscModel **out, char **error_message);

/**
 * msc_model_load_buffer:
 * @data: (array length=len) (transfer none): a serialized onnx.ModelProto.
 * @len: its size in bytes.
 * @out: (out) (transfer full): the model; free with msc_model_free().
 * @error_message: (out) (optional) (nullable): see the conventions above.
 *
 * As msc_model_load() on bytes in memory ("<buffer>" in messages); @data
 * is not referenced after the call.
 *
 * Returns: as msc_model_load(), without MSC_ERR_IO. MT safe.
 */
MscStatus msc_model_load_buffer(const void *data, size_t len, MscModel **out, char **error_message);

/**
 * msc_model_zoo:
 * @name: a built-in demo model: "resnet_mini" or "mobilenet_mini"
 *   (input "input" float32 [N,3,64,64]; see `msc zoo --help`).
 * @out: (out) (transfer full): the model; free with msc_model_free().
 * @error_message: (out) (optional) (nullable): see the conventions above.
 *
 * Builds a small CNN with deterministic weights, verified, without any
 * file: handy for trying the API and for tests.
 *
 * Returns: MSC_OK; MSC_ERR_INVALID_ARG for an unknown name (the message
 * lists the known ones); MSC_ERR_UNSUPPORTED if this build lacks an op the
 * model uses. MT safe.
 */
MscStatus msc_model_zoo(const char *name, MscModel **out, char **error_message);

/**
 * msc_model_save:
 * @model: (transfer none): the model.
 * @path: destination .onnx file, written atomically (temp file + rename:
 *   a failure never leaves a partial file).
 * @error_message: (out) (optional) (nullable): see the conventions above.
 *
 * Returns: MSC_OK; MSC_ERR_IO (cannot write), MSC_ERR_UNSUPPORTED (a
 * tensor that cannot be serialized, model above 2 GiB),
 * MSC_ERR_INVALID_ARG (NULL argument). MT safe.
 */
MscStatus msc_model_save(const MscModel *model, const char *path, char **error_message);

/**
 * msc_model_graph:
 * @model: (nullable) (transfer none): the model.
 *
 * The graph, for reading the inputs (graph->inputs[i]->name, dtype, rank,
 * dims with -1 for symbolic dims such as a batch), outputs, nodes and
 * metadata. Read-only: changing it is undefined behaviour.
 *
 * Returns: (transfer none) (nullable): the graph, valid until
 * msc_model_free(@model); NULL when @model is NULL. MT safe.
 */
const MscGraph *msc_model_graph(const MscModel *model);

/**
 * msc_model_free:
 * @model: (nullable) (transfer full): the model.
 *
 * Releases the caller's reference. Sessions created from the model keep
 * their own reference, so this may be called while they are alive: the
 * model is freed with the last of them. NULL-safe. MT safe.
 */
void msc_model_free(MscModel *model);

/**
 * msc_session_create:
 * @model: (transfer none): the model; the session takes its own reference.
 * @runner: (nullable): runner name, looked up as "msc.runner.<name>" in
 *   the registry; NULL means "ref", the reference runner.
 * @out: (out) (transfer full): the session; free with msc_session_destroy().
 * @error_message: (out) (optional) (nullable): see the conventions above.
 *
 * Compiles the model for the runner and creates its run context.
 *
 * Returns: MSC_OK; MSC_ERR_INVALID_ARG (unknown runner, NULL argument);
 * the runner's status when its compile step fails (e.g.
 * MSC_ERR_UNSUPPORTED for an op it cannot run). MT safe.
 */
MscStatus msc_session_create(MscModel *model, const char *runner, MscSessionHandle **out, char **error_message);

/**
 * msc_session_create_with_options:
 * @model: (transfer none): the model.
 * @runner: (nullable): as for msc_session_create().
 * @keys: (array length=n_options) (nullable): option names (see `msc
 *   plugins` for a runner's options).
 * @values: (array length=n_options) (nullable): their values, as text.
 * @n_options: number of options.
 * @out: (out) (transfer full): the session.
 * @error_message: (out) (optional) (nullable): see the conventions above.
 *
 * As msc_session_create(), passing runner options; the strings are only
 * read during the call.
 *
 * Returns: as msc_session_create(); also the runner's status for a bad
 * option. MT safe.
 */
MscStatus msc_session_create_with_options(MscModel *model, const char *runner, const char *const *keys,
                                          const char *const *values, uint32_t n_options, MscSessionHandle **out,
                                          char **error_message);

/**
 * msc_session_set_node_hook:
 * @session: (transfer none): the session.
 * @hook: (nullable): called before (MSC_HOOK_BEFORE) and after
 *   (MSC_HOOK_AFTER, with outputs and elapsed milliseconds) every node, in
 *   execution order, during msc_session_execute(); NULL removes it. The tensors
 *   and node it receives are borrowed for the call only. Returning non-zero
 *   stops the run: msc_session_execute() then fails with MSC_ERR_INTERNAL and a
 *   message naming the node and containing "stopped by hook".
 * @user: (nullable): passed to @hook.
 *
 * Returns: MSC_OK, or MSC_ERR_INVALID_ARG when @session is NULL.
 * Not MT safe (as the session).
 */
MscStatus msc_session_set_node_hook(MscSessionHandle *session, MscNodeHook hook, void *user);

/**
 * msc_session_execute:
 * @session: (transfer none): the session.
 * @inputs: (array length=n_inputs) (transfer none): one tensor per graph
 *   input, in graph order (msc_model_graph()->inputs); only read.
 * @n_inputs: number of inputs; must equal the graph's.
 * @outputs: (out) (transfer full) (array length=n_outputs): a new array of
 *   new tensors, one per graph output in graph order; free each tensor
 *   with msc_tensor_destroy() and the array with msc_free().
 * @n_outputs: (out) (optional) (nullable): receives the number of outputs.
 * @error_message: (out) (optional) (nullable): see the conventions above.
 *
 * Runs the model. The inputs are checked first: count, dtype, rank and
 * every fixed dim (symbolic dims such as the batch take any size), and the
 * data size; the message names the input and both shapes or dtypes, e.g.
 * "input 'input': expected shape [?,3,64,64], got [1,3,32,32]".
 *
 * (Named _execute because libmsc already exports the core-internal
 * msc_session_run of runtime/session.h, a different function.)
 *
 * Returns: MSC_OK; MSC_ERR_INVALID_ARG (bad or missing input, NULL
 * argument), MSC_ERR_UNSUPPORTED (input dtype the kernels do not compute
 * with), MSC_ERR_INTERNAL (stopped by the node hook), or the status of the
 * failing node, whose name is in the message. Not MT safe (one thread per
 * session at a time).
 */
MscStatus msc_session_execute(MscSessionHandle *session, const MscTensor *const *inputs, uint32_t n_inputs,
                              MscTensor ***outputs, uint32_t *n_outputs, char **error_message);

/**
 * msc_session_destroy:
 * @session: (nullable) (transfer full): the session.
 *
 * Frees the session and drops its model reference. NULL-safe. Not MT safe
 * (as the session).
 */
void msc_session_destroy(MscSessionHandle *session);

/**
 * msc_tensor_create:
 * @dtype: element type.
 * @rank: 0..MSC_MAX_RANK (0 is a scalar with one element).
 * @dims: (array length=rank) (nullable): the dims, each >= 0; may be NULL
 *   when @rank is 0.
 * @error_message: (out) (optional) (nullable): see the conventions above.
 *
 * Allocates a tensor with zero-filled, 64-byte aligned storage; write
 * the elements through t->data (t->nbytes bytes, row-major).
 *
 * Returns: (transfer full) (nullable): the tensor, free with
 * msc_tensor_destroy(); NULL on failure with the message set:
 * invalid argument (rank out of range, negative dim, NULL @dims, size
 * above 8 GiB), unsupported (a dtype without a fixed element size, such as
 * string), out of memory. MT safe.
 */
MscTensor *msc_tensor_create(MscDType dtype, int32_t rank, const int64_t *dims, char **error_message);

/**
 * msc_tensor_destroy:
 * @tensor: (nullable) (transfer full): a tensor from this API.
 *
 * Frees the tensor, its name and its data. NULL-safe. MT safe.
 */
void msc_tensor_destroy(MscTensor *tensor);

/**
 * msc_tensor_read:
 * @path: a ".npy" (NumPy) or ".pb" (serialized onnx.TensorProto) file.
 * @out: (out) (transfer full): the tensor; free with msc_tensor_destroy().
 * @error_message: (out) (optional) (nullable): see the conventions above.
 *
 * Returns: MSC_OK; MSC_ERR_IO (unreadable), MSC_ERR_CORRUPT (bad file),
 * MSC_ERR_UNSUPPORTED (unknown extension or format feature). MT safe.
 */
MscStatus msc_tensor_read(const char *path, MscTensor **out, char **error_message);

/**
 * msc_tensor_write:
 * @tensor: (transfer none): the tensor.
 * @path: destination, ".npy" or ".pb" by extension; written atomically.
 * @error_message: (out) (optional) (nullable): see the conventions above.
 *
 * Returns: MSC_OK; MSC_ERR_IO, MSC_ERR_INVALID_ARG (other extension),
 * MSC_ERR_UNSUPPORTED (a dtype the format cannot hold). MT safe.
 */
MscStatus msc_tensor_write(const MscTensor *tensor, const char *path, char **error_message);

/**
 * msc_optimize:
 * @config_path: an INI pipeline configuration (docs/pipeline.md,
 *   docs/config.md).
 * @report_json: (out) (optional) (nullable) (transfer full): the pipeline
 *   report as JSON text (also when a stage failed, if the pipeline
 *   started); free with msc_free().
 * @error_message: (out) (optional) (nullable): see the conventions above;
 *   for a bad config the one-line "FILE:LINE: ..." message, for a failed
 *   stage "stage 'NAME': ...".
 *
 * The one-call pipeline: calls msc_init(), loads and validates the
 * config, runs every stage (setup, prepare, parse, baseline, optimize,
 * compile, summary, export) and writes the export folder. Never aborts
 * the host: every failure is a status and a message.
 *
 * Returns: MSC_OK when every stage succeeded; MSC_ERR_INVALID_ARG (bad
 * config, failed check, NULL @config_path), MSC_ERR_IO, or the failing
 * stage's status. MT safe (each call has its own state; two calls must
 * not share an export folder).
 */
MscStatus msc_optimize(const char *config_path, char **report_json, char **error_message);

#ifdef __cplusplus
}
#endif
#endif /* MSC_PUBLIC_H */
