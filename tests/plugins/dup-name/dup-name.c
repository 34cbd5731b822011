/* Built twice (DUP_VARIANT "a" and "b") under the same plugin name "dup":
 * the first loaded wins, the second is refused at "name". Each registers
 * one entry so a test can tell which one ran init. */
#include "msc-plugin.h"

#ifndef DUP_VARIANT
#define DUP_VARIANT "a"
#endif

static int dup_marker;

static MscStatus dup_init(const MscHostApi *host, MscPlugin *self, MscMessage *msg) {
  return host->registry_add(self, "msc.test.dup." DUP_VARIANT, &dup_marker, MSC_KIND_OBJECT,
                            "marker of variant " DUP_VARIANT, 0, msg);
}

MSC_PLUGIN_DEFINE("dup", MSC_PLUGIN_TOOL, "1.0", "duplicate name, variant " DUP_VARIANT, dup_init);
