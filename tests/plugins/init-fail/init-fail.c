/* Broken on purpose: init registers two entries (a function and an op),
 * then fails with a message. The loader must report the message and roll
 * both entries back (registry has nothing owned by "init-fail"). */
#include "msc-plugin.h"

static MscStatus init_fail_helper(void) {
  return MSC_OK;
}

static MscStatus never_infer(MscOpCtx *ctx) {
  return MSC_ERR_INTERNAL;
}

static MscStatus never_run(MscOpCtx *ctx) {
  return MSC_ERR_INTERNAL;
}

static const MscOpDef init_fail_op = {
    .struct_size = sizeof(MscOpDef),
    .domain = "com.example",
    .op_type = "InitFail",
    .since_version = 1,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = never_infer,
    .run = never_run,
    .doc = "must be rolled back",
};

static MscStatus init_fail_init(const MscHostApi *host, MscPlugin *self, MscMessage *msg) {
  MscStatus st = host->registry_add(self, "msc.test.init-fail.helper", (void *)init_fail_helper, MSC_KIND_FUNCTION,
                                    "must be rolled back", 0, msg);
  if (st != MSC_OK) return st;
  st = host->op_register(self, &init_fail_op, 0, msg);
  if (st != MSC_OK) return st;
  host->message_set(msg, "option '%s' missing (needed by %s)", "threshold", "init-fail");
  return MSC_ERR_INVALID_ARG;
}

MSC_PLUGIN_DEFINE("init-fail", MSC_PLUGIN_TOOL, "1.0", "init fails after registering", init_fail_init);
