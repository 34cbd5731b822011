/* Broken on purpose: empty plugin name (refused at "name"). */
#include "msc-plugin.h"

static MscStatus empty_name_init(const MscHostApi *host, MscPlugin *self, MscMessage *msg) {
  return MSC_OK;
}

MSC_PLUGIN_DEFINE("", MSC_PLUGIN_TOOL, "1.0", "empty name", empty_name_init);
