/* Broken on purpose: a name outside [a-z0-9_-] (refused at "name"). */
#include "msc-plugin.h"

static MscStatus bad_name_init(const MscHostApi *host, MscPlugin *self, MscMessage *msg) {
  return MSC_OK;
}

MSC_PLUGIN_DEFINE("Bad.Name", MSC_PLUGIN_TOOL, "1.0", "invalid name characters", bad_name_init);
