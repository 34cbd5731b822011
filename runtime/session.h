/* session.h: a compiled model on a chosen runner, with input validation. */
#ifndef MSC_SESSION_H
#define MSC_SESSION_H

#include <glib.h>
#include "msc-plugin.h"

G_BEGIN_DECLS

typedef struct MscSession MscSession;

/**
 * msc_session_new:
 * @graph: (transfer none): a verified graph; must outlive the session.
 * @runner: runner name ("ref", "cpu"...), looked up as "msc.runner.<name>".
 * @options: (nullable): runner options.
 * Returns: (transfer full) (nullable): NULL with @error when the runner is
 * not registered or its compile step fails.
 */
MscSession *msc_session_new(const MscGraph *graph, const char *runner, const MscOptions *options, GError **error);
void msc_session_free(MscSession *s);

/* Checks the inputs against the graph (count, dtype, rank, fixed dims);
 * messages name the input and both shapes. */
gboolean msc_session_check_inputs(const MscGraph *graph, const MscTensor *const *inputs, uint32_t n_inputs,
                                  GError **error);

/**
 * msc_session_run:
 * @inputs: (transfer none): one per graph input, in graph order.
 * @outputs: (out): receives a (transfer full) array of n_outputs tensors;
 *   free each with msc_tensor_free and the array with g_free.
 * @hooks: (nullable): per-node callback.
 * Not MT safe per session; use one session per thread (they may share the graph).
 */
gboolean msc_session_run(MscSession *s, const MscTensor *const *inputs, uint32_t n_inputs, MscTensor ***outputs,
                         const MscRunHooks *hooks, GError **error);

G_END_DECLS
#endif
