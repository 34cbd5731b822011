/* Broken on purpose: claims a descriptor of only the three fixed fields,
 * so the loader must refuse at "struct_size" without reading further. */
#include "msc-plugin.h"

static MscStatus struct_size_init(const MscHostApi *host, MscPlugin *self, MscMessage *msg) {
  return MSC_OK;
}

__attribute__((visibility("default"))) const MscPluginDescriptor msc_plugin_descriptor = {
    MSC_ABI_MAJOR, MSC_ABI_MINOR, 8, "struct-size", MSC_PLUGIN_TOOL, "1.0", "struct_size too small",
    struct_size_init};
