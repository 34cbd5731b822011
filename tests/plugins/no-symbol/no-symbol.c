/* Broken on purpose: exports a descriptor under the wrong symbol name, so
 * the loader must refuse at "symbol". */
#include "msc-plugin.h"

static MscStatus no_symbol_init(const MscHostApi *host, MscPlugin *self, MscMessage *msg) {
  return MSC_OK;
}

__attribute__((visibility("default"))) const MscPluginDescriptor msc_plugin_descriptor_v0 = {
    MSC_ABI_MAJOR, MSC_ABI_MINOR, (uint32_t)sizeof(MscPluginDescriptor), "no-symbol", MSC_PLUGIN_TOOL, "1.0",
    "no msc_plugin_descriptor symbol", no_symbol_init};
