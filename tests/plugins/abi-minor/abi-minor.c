/* Broken on purpose: built for a newer minor than the host supports; the
 * plugin may use host entries this host lacks, so it is refused at "abi". */
#include "msc-plugin.h"

static MscStatus abi_minor_init(const MscHostApi *host, MscPlugin *self, MscMessage *msg) {
  return MSC_OK;
}

__attribute__((visibility("default"))) const MscPluginDescriptor msc_plugin_descriptor = {
    MSC_ABI_MAJOR, MSC_ABI_MINOR + 1, (uint32_t)sizeof(MscPluginDescriptor), "abi-minor", MSC_PLUGIN_TOOL, "1.0",
    "ABI minor one above the host", abi_minor_init};
