/* error.h: GError domains of the core and the one edge that maps a GError
 * to an MscStatus plus message. Messages are one line:
 * "<thing>: <where>: <what is wrong> (<values>)". */
#ifndef MSC_ERROR_H
#define MSC_ERROR_H

#include <glib.h>
#include "msc-types.h"

G_BEGIN_DECLS

/* One domain for the whole core; the code is the MscStatus. Modules add
 * context with g_prefix_error(). */
#define MSC_ERROR (msc_error_quark())
GQuark msc_error_quark(void);

/* Sets *error (if error != NULL) with domain MSC_ERROR and code @status. */
void msc_set_error(GError **error, MscStatus status, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Maps an error to its status: MSC_ERROR codes as is, G_FILE_ERROR to
 * MSC_ERR_IO, anything else MSC_ERR_INTERNAL. NULL -> MSC_OK. */
MscStatus msc_status_from_error(const GError *error);

/* Short lowercase name of a status ("ok", "invalid argument", ...). Static. */
const char *msc_status_name(MscStatus status);

/* Overflow-checked size arithmetic: return FALSE on overflow. */
gboolean msc_mul_size(size_t a, size_t b, size_t *out);
gboolean msc_add_size(size_t a, size_t b, size_t *out);

G_END_DECLS
#endif
