/* Broken on purpose: claims the name "core", which owns the built-ins
 * (its rollback or registry_remove would reach them): refused at "name". */
#include "msc-plugin.h"

static MscStatus reserved_name_init(const MscHostApi *host, MscPlugin *self, MscMessage *msg) {
  return MSC_OK;
}

MSC_PLUGIN_DEFINE("core", MSC_PLUGIN_TOOL, "1.0", "reserved name", reserved_name_init);
