/* builtin.c: registers the built-in operator families and looks ops up.
 * Ops live in the registry as "msc.op.<domain>.<OpType>.<since>" with the
 * default domain spelled "ai.onnx", so a plugin can add or override one. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ops.h"
#include "registry.h"

static const MscOpDef *const *const families[] = {
    msc_ops_conv,     msc_ops_conv_transpose, msc_ops_conv_quant, msc_ops_binary,        msc_ops_unary,
    msc_ops_cast,     msc_ops_quantize,       msc_ops_shape,      msc_ops_constant,      msc_ops_transpose,
    msc_ops_concat_split, msc_ops_slice_gather, msc_ops_pad,      msc_ops_resize,        msc_ops_pooling,
    msc_ops_normalization, msc_ops_softmax,   msc_ops_reduce,     msc_ops_gemm,
};

static const char *norm_domain(const char *d) {
  return (!d || !*d || strcmp(d, "ai.onnx") == 0) ? "ai.onnx" : d;
}

static char *op_key_prefix(const char *domain, const char *op_type) {
  return g_strdup_printf("msc.op.%s.%s.", norm_domain(domain), op_type);
}

gboolean msc_op_register(const MscOpDef *def, const char *owner, gboolean override, GError **error) {
  if (!def || !def->op_type || !*def->op_type || !def->infer || !def->run) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "op registration: definition needs op_type, infer and run");
    return FALSE;
  }
  g_autofree char *prefix = op_key_prefix(def->domain, def->op_type);
  g_autofree char *name = g_strdup_printf("%s%d", prefix, def->since_version);
  return msc_registry_add(name, (void *)def, MSC_REG_OP, owner, def->doc, override, error);
}

gboolean msc_ops_register_builtins(GError **error) {
  static GMutex lock;
  static gboolean done;
  gboolean ok = TRUE;
  g_mutex_lock(&lock);
  if (!done) {
    for (size_t f = 0; f < G_N_ELEMENTS(families) && ok; f++)
      for (const MscOpDef *const *d = families[f]; *d && ok; d++) ok = msc_op_register(*d, "core", FALSE, error);
    done = ok;
  }
  g_mutex_unlock(&lock);
  return ok;
}

const MscOpDef *msc_op_lookup(const char *domain, const char *op_type, int64_t opset) {
  if (!op_type) return NULL;
  g_autofree char *prefix = op_key_prefix(domain, op_type);
  g_autoptr(GPtrArray) list = msc_registry_list(prefix, MSC_REG_OP);
  const MscOpDef *best = NULL;
  for (guint i = 0; i < list->len; i++) {
    MscRegEntry *e = g_ptr_array_index(list, i);
    const char *rest = e->name + strlen(prefix);
    if (strchr(rest, '.')) continue; /* a longer op type sharing the prefix */
    const MscOpDef *d = e->ptr;
    if (d->since_version > opset) continue;
    if (d->max_version > 0 && d->max_version < opset) continue;
    if (!best || d->since_version > best->since_version) best = d;
  }
  return best;
}
