/* Broken on purpose: a kind value outside MscPluginKind (refused at "kind"). */
#include "msc-plugin.h"

static MscStatus bad_kind_init(const MscHostApi *host, MscPlugin *self, MscMessage *msg) {
  return MSC_OK;
}

MSC_PLUGIN_DEFINE("bad-kind", (MscPluginKind)9, "1.0", "invalid kind", bad_kind_init);
