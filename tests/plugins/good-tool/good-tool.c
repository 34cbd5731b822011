/* A good tool plugin for the loader tests: registers "msc.tool.test-tool"
 * (an MscToolApi that counts observed nodes) and logs one debug line. */
#include <stdio.h>

#include "msc-plugin.h"

static const MscHostApi *host;

typedef struct {
  uint64_t observed;
} TestToolState;

static MscStatus test_tool_setup(const MscOptions *options, void **state, MscMessage *msg) {
  TestToolState *s = host->alloc(sizeof *s);
  if (!s) {
    host->message_set(msg, "test-tool: out of memory");
    return MSC_ERR_NOMEM;
  }
  *state = s;
  return MSC_OK;
}

static MscStatus test_tool_observe(void *state, const MscNode *node, const MscTensor *const *outputs,
                                   uint32_t n_outputs, MscMessage *msg) {
  ((TestToolState *)state)->observed++;
  return MSC_OK;
}

static MscStatus test_tool_plan(void *state, const MscGraph *graph, MscMessage *msg) {
  return MSC_OK;
}

static MscStatus test_tool_apply(void *state, MscGraph *graph, MscMessage *msg) {
  return MSC_OK;
}

static MscStatus test_tool_export(void *state, const char *path, MscMessage *msg) {
  FILE *f = fopen(path, "w");
  if (!f) {
    host->message_set(msg, "%s: cannot open for writing", path);
    return MSC_ERR_IO;
  }
  fprintf(f, "{\"observed\": %llu}\n", (unsigned long long)((TestToolState *)state)->observed);
  return fclose(f) == 0 ? MSC_OK : MSC_ERR_IO;
}

static void test_tool_destroy(void *state) {
  host->free(state);
}

static const MscToolApi test_tool_api = {
    .struct_size = sizeof(MscToolApi),
    .name = "test-tool",
    .doc = "counts observed nodes (loader tests)",
    .setup = test_tool_setup,
    .observe = test_tool_observe,
    .plan = test_tool_plan,
    .apply = test_tool_apply,
    .export_plan = test_tool_export,
    .destroy = test_tool_destroy,
};

static MscStatus test_tool_init(const MscHostApi *h, MscPlugin *self, MscMessage *msg) {
  host = h;
  h->log(MSC_LOG_DEBUG, "msc-test-tool", "init (host ABI %u.%u)", (unsigned)h->abi_major, (unsigned)h->abi_minor);
  return h->registry_add(self, "msc.tool.test-tool", (void *)&test_tool_api, MSC_KIND_TOOL, test_tool_api.doc, 0,
                         msg);
}

MSC_PLUGIN_DEFINE("test-tool", MSC_PLUGIN_TOOL, "0.1.0", "good tool plugin for the loader tests", test_tool_init);
