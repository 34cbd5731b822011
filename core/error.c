/* error.c: the core's GError domain and the status edge. */
#include "error.h"

G_DEFINE_QUARK(msc-error-quark, msc_error)

void msc_set_error(GError **error, MscStatus status, const char *fmt, ...) {
  if (!error) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error_literal(error, MSC_ERROR, (gint)status, msg);
  g_free(msg);
}

MscStatus msc_status_from_error(const GError *error) {
  if (!error) return MSC_OK;
  if (error->domain == MSC_ERROR) return (MscStatus)error->code;
  if (error->domain == G_FILE_ERROR) return MSC_ERR_IO;
  return MSC_ERR_INTERNAL;
}

const char *msc_status_name(MscStatus status) {
  switch (status) {
    case MSC_OK: return "ok";
    case MSC_ERR_INVALID_ARG: return "invalid argument";
    case MSC_ERR_UNSUPPORTED: return "unsupported";
    case MSC_ERR_IO: return "i/o error";
    case MSC_ERR_CORRUPT: return "corrupt input";
    case MSC_ERR_ABI: return "abi mismatch";
    case MSC_ERR_NOMEM: return "out of memory";
    case MSC_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

gboolean msc_mul_size(size_t a, size_t b, size_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}

gboolean msc_add_size(size_t a, size_t b, size_t *out) {
  return !__builtin_add_overflow(a, b, out);
}
