/* Broken on purpose: built for ABI 2.0; the host (1.x) must refuse at "abi". */
#include "msc-plugin.h"

static MscStatus abi_major_init(const MscHostApi *host, MscPlugin *self, MscMessage *msg) {
  return MSC_OK;
}

__attribute__((visibility("default"))) const MscPluginDescriptor msc_plugin_descriptor = {
    MSC_ABI_MAJOR + 1, 0, (uint32_t)sizeof(MscPluginDescriptor), "abi-major", MSC_PLUGIN_TOOL, "1.0",
    "ABI major one above the host", abi_major_init};
