/* A good op plugin: registers the custom operator com.example.Twice
 * (Y = 2 * X, float32/int32/int64, any shape) with infer + reference
 * kernel, so graphs using it resolve and runners execute it. Uses only
 * the host API and the ABI headers (no link against libmsc). */
#include <stdarg.h>
#include <stdio.h>

#include "msc-plugin.h"

/* What msc_op_fail does for built-ins (the plugin does not link libmsc):
 * the first error wins; the core prefixes node name and op type. */
__attribute__((format(printf, 3, 4))) static MscStatus twice_fail(MscOpCtx *ctx, MscStatus st, const char *fmt,
                                                                  ...) {
  if (ctx->status == MSC_OK) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->message, sizeof ctx->message, fmt, ap);
    va_end(ap);
    ctx->status = st;
  }
  return st;
}

static MscStatus twice_infer(MscOpCtx *ctx) {
  const MscTensor *x = ctx->n_in > 0 ? ctx->in[0] : NULL;
  if (!x) return twice_fail(ctx, MSC_ERR_INVALID_ARG, "input 0 'X' is required");
  if (x->dtype != MSC_DTYPE_FLOAT32 && x->dtype != MSC_DTYPE_INT32 && x->dtype != MSC_DTYPE_INT64)
    return twice_fail(ctx, MSC_ERR_UNSUPPORTED, "input 0 'X': dtype %d not in float32|int32|int64", (int)x->dtype);
  MscTensor *y = ctx->out[0];
  y->dtype = x->dtype;
  y->rank = x->rank;
  for (int32_t i = 0; i < x->rank && i < MSC_MAX_RANK; i++) y->dims[i] = x->dims[i];
  return MSC_OK;
}

static MscStatus twice_run(MscOpCtx *ctx) {
  const MscTensor *x = ctx->in[0];
  MscTensor *y = ctx->out[0];
  int64_t n = 1;
  for (int32_t i = 0; i < x->rank; i++) n *= x->dims[i];
  switch (x->dtype) {
    case MSC_DTYPE_FLOAT32: {
      const float *a = x->data;
      float *b = y->data;
      for (int64_t i = 0; i < n; i++) b[i] = 2.0f * a[i];
      break;
    }
    case MSC_DTYPE_INT32: {
      const int32_t *a = x->data;
      int32_t *b = y->data;
      for (int64_t i = 0; i < n; i++) b[i] = (int32_t)((uint32_t)a[i] * 2u); /* wraps like ONNX Mul */
      break;
    }
    case MSC_DTYPE_INT64: {
      const int64_t *a = x->data;
      int64_t *b = y->data;
      for (int64_t i = 0; i < n; i++) b[i] = (int64_t)((uint64_t)a[i] * 2u);
      break;
    }
    default: return twice_fail(ctx, MSC_ERR_UNSUPPORTED, "input 0 'X': dtype %d not supported", (int)x->dtype);
  }
  return MSC_OK;
}

static const MscOpDef twice_op = {
    .struct_size = sizeof(MscOpDef),
    .domain = "com.example",
    .op_type = "Twice",
    .since_version = 1,
    .max_version = 0,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = twice_infer,
    .run = twice_run,
    .doc = "Y = 2 * X (float32, int32, int64)",
};

static MscStatus test_op_init(const MscHostApi *host, MscPlugin *self, MscMessage *msg) {
  return host->op_register(self, &twice_op, 0, msg);
}

MSC_PLUGIN_DEFINE("test-op", MSC_PLUGIN_OP, "0.1.0", "custom op com.example.Twice for the loader tests",
                  test_op_init);
