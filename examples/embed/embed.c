/* embed.c: run a CNN from a C program through the public API (msc.h).
 *
 *   msc-embed [MODEL.onnx | zoo:NAME] [RUNNER]
 *
 * Loads the model (default zoo:resnet_mini, a built-in demo CNN), binds
 * it to a runner (default "ref"), feeds every input a deterministic
 * pattern (symbolic dims such as the batch set to 1), runs it with a node
 * hook that times each op, and prints the outputs' shapes and top values.
 * Plain C11: no GLib, only msc.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msc.h"

typedef struct {
  unsigned nodes;
  double total_ms;
} Profile;

/* Called before and after every node; AFTER carries the node's time.
 * Returning non-zero would stop the run. */
static int on_node(void *user, MscHookPhase phase, const MscNode *node, const MscTensor *const *inputs,
                   uint32_t n_inputs, const MscTensor *const *outputs, uint32_t n_outputs, double elapsed_ms) {
  Profile *p = user;
  (void)node, (void)inputs, (void)n_inputs, (void)outputs, (void)n_outputs;
  if (phase == MSC_HOOK_AFTER) {
    p->nodes++;
    p->total_ms += elapsed_ms;
  }
  return 0;
}

/* Fills a float32 tensor with values in [-1, 1) from a small LCG. */
static void fill(MscTensor *t, uint32_t seed) {
  float *x = t->data;
  size_t n = t->nbytes / sizeof(float);
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = (float)(seed >> 8) / 8388608.0f - 1.0f;
  }
}

static void print_shape(const MscTensor *t) {
  printf("[");
  for (int32_t i = 0; i < t->rank; i++) printf("%s%lld", i ? "," : "", (long long)t->dims[i]);
  printf("]");
}

int main(int argc, char **argv) {
  const char *src = argc > 1 ? argv[1] : "zoo:resnet_mini";
  const char *runner = argc > 2 ? argv[2] : "ref";
  char *err = NULL;
  MscModel *model = NULL;
  MscSessionHandle *sess = NULL;
  MscTensor **inputs = NULL, **outputs = NULL;
  uint32_t n_in = 0, n_out = 0;
  int rc = 1;

  MscStatus st = msc_init(&err);
  if (st == MSC_OK)
    st = strncmp(src, "zoo:", 4) == 0 ? msc_model_zoo(src + 4, &model, &err) : msc_model_load(src, &model, &err);
  if (st == MSC_OK) st = msc_session_create(model, runner, &sess, &err);
  if (st != MSC_OK) goto out;

  const MscGraph *g = msc_model_graph(model);
  printf("msc %s: %s, %u nodes, runner '%s'\n", msc_version(), g->name, g->n_nodes, runner);
  n_in = g->n_inputs;
  inputs = calloc(n_in ? n_in : 1, sizeof *inputs);
  for (uint32_t i = 0; i < n_in; i++) {
    const MscValue *v = g->inputs[i];
    int64_t dims[MSC_MAX_RANK];
    for (int32_t k = 0; k < v->rank; k++) dims[k] = v->dims[k] < 0 ? 1 : v->dims[k]; /* symbolic -> 1 */
    if (v->dtype != MSC_DTYPE_FLOAT32) {
      fprintf(stderr, "msc-embed: input '%s': this example only fills float32 inputs\n", v->name);
      goto out;
    }
    inputs[i] = msc_tensor_create(v->dtype, v->rank, dims, &err);
    if (!inputs[i]) {
      st = MSC_ERR_INVALID_ARG;
      goto out;
    }
    fill(inputs[i], 1234u + i);
    printf("input  '%s' ", v->name);
    print_shape(inputs[i]);
    printf("\n");
  }

  Profile prof = {0, 0.0};
  msc_session_set_node_hook(sess, on_node, &prof);
  st = msc_session_execute(sess, (const MscTensor *const *)inputs, n_in, &outputs, &n_out, &err);
  if (st != MSC_OK) goto out;
  printf("ran %u nodes in %.3f ms\n", prof.nodes, prof.total_ms);

  for (uint32_t j = 0; j < n_out; j++) {
    const MscTensor *t = outputs[j];
    printf("output '%s' ", g->outputs[j]->name);
    print_shape(t);
    if (t->dtype == MSC_DTYPE_FLOAT32 && t->nbytes >= sizeof(float)) {
      const float *y = t->data;
      size_t n = t->nbytes / sizeof(float), best = 0;
      for (size_t i = 1; i < n; i++)
        if (y[i] > y[best]) best = i;
      printf(" first %.6f, argmax %zu (%.6f)", y[0], best, y[best]);
    }
    printf("\n");
  }
  rc = 0;

out:
  if (st != MSC_OK) fprintf(stderr, "msc-embed: %s: %s\n", msc_status_name(st), err ? err : "failed");
  msc_free(err);
  for (uint32_t j = 0; j < n_out; j++) msc_tensor_destroy(outputs[j]);
  msc_free(outputs);
  for (uint32_t i = 0; i < n_in && inputs; i++) msc_tensor_destroy(inputs[i]);
  free(inputs);
  msc_session_destroy(sess);
  msc_model_free(model);
  return rc;
}
