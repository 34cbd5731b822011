/* ref.c: the `ref` runner plugin. Plain, single-threaded: executes the
 * graph node by node in topological order through the host's op kernels
 * (host->node_execute), freeing each intermediate after its last use.
 * It is the golden reference every other runner is checked against. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msc-plugin.h"

static const MscHostApi *host;

#define KEEP UINT32_MAX
#define NEVER (UINT32_MAX - 1)

typedef struct {
  const MscGraph *graph;
  uint32_t *last_use; /* per value: last node reading it; KEEP for graph outputs, NEVER if unread */
} RefCompiled;

typedef struct {
  RefCompiled *c;
  MscTensor **slots;  /* per value: the live tensor (owned unless borrowed[i]) */
  unsigned char *borrowed;
} RefContext;

static MscStatus ref_compile(const MscGraph *g, const MscOptions *opts, void **out, MscMessage *msg) {
  RefCompiled *c = calloc(1, sizeof *c);
  if (!c) return MSC_ERR_NOMEM;
  c->graph = g;
  c->last_use = calloc(g->n_values ? g->n_values : 1, sizeof(uint32_t));
  if (!c->last_use) {
    free(c);
    return MSC_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < g->n_values; i++) c->last_use[i] = NEVER;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const MscNode *n = g->nodes[i];
    if (!n->op) {
      host->message_set(msg, "node '%s' (%s): UNSUPPORTED op", n->name, n->op_type);
      free(c->last_use);
      free(c);
      return MSC_ERR_UNSUPPORTED;
    }
    for (uint32_t k = 0; k < n->n_inputs; k++)
      if (n->inputs[k]) c->last_use[n->inputs[k]->index] = i;
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) c->last_use[g->outputs[i]->index] = KEEP;
  *out = c;
  return MSC_OK;
}

static void ref_compiled_destroy(void *p) {
  RefCompiled *c = p;
  if (!c) return;
  free(c->last_use);
  free(c);
}

static MscStatus ref_context_create(void *compiled, void **out, MscMessage *msg) {
  RefCompiled *c = compiled;
  RefContext *x = calloc(1, sizeof *x);
  uint32_t nv = c->graph->n_values ? c->graph->n_values : 1;
  if (!x) return MSC_ERR_NOMEM;
  x->c = c;
  x->slots = calloc(nv, sizeof(MscTensor *));
  x->borrowed = calloc(nv, 1);
  if (!x->slots || !x->borrowed) {
    free(x->slots);
    free(x->borrowed);
    free(x);
    return MSC_ERR_NOMEM;
  }
  *out = x;
  return MSC_OK;
}

static void clear_slots(RefContext *x) {
  for (uint32_t i = 0; i < x->c->graph->n_values; i++) {
    if (x->slots[i] && !x->borrowed[i]) host->tensor_free(x->slots[i]);
    x->slots[i] = NULL;
    x->borrowed[i] = 0;
  }
}

static void ref_context_destroy(void *p) {
  RefContext *x = p;
  if (!x) return;
  clear_slots(x);
  free(x->slots);
  free(x->borrowed);
  free(x);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static MscTensor *copy_tensor(const MscTensor *t) {
  MscTensor *c = host->tensor_new(t->dtype, t->rank, t->dims);
  if (c && t->nbytes) memcpy(c->data, t->data, t->nbytes);
  return c;
}

static MscStatus ref_run(void *context, const MscTensor *const *inputs, uint32_t n_inputs, MscTensor **outputs,
                         uint32_t n_outputs, const MscRunHooks *hooks, MscMessage *msg) {
  RefContext *x = context;
  const MscGraph *g = x->c->graph;
  MscStatus st = MSC_OK;
  if (n_inputs != g->n_inputs || n_outputs != g->n_outputs) {
    host->message_set(msg, "ref: got %u inputs and %u outputs, graph has %u and %u", n_inputs, n_outputs, g->n_inputs,
                      g->n_outputs);
    return MSC_ERR_INVALID_ARG;
  }
  for (uint32_t i = 0; i < g->n_values; i++)
    if (g->values[i]->flags & MSC_VALUE_INITIALIZER) {
      x->slots[i] = g->values[i]->value;
      x->borrowed[i] = 1;
    }
  for (uint32_t i = 0; i < n_inputs; i++) {
    x->slots[g->inputs[i]->index] = (MscTensor *)inputs[i];
    x->borrowed[g->inputs[i]->index] = 1;
  }
  const MscTensor *in_buf[64];
  MscTensor *out_buf[64];
  for (uint32_t ni = 0; ni < g->n_nodes && st == MSC_OK; ni++) {
    const MscNode *n = g->nodes[ni];
    if (n->n_inputs > 64 || n->n_outputs > 64) {
      host->message_set(msg, "node '%s' (%s): more than 64 inputs or outputs", n->name, n->op_type);
      st = MSC_ERR_UNSUPPORTED;
      break;
    }
    for (uint32_t k = 0; k < n->n_inputs; k++) in_buf[k] = n->inputs[k] ? x->slots[n->inputs[k]->index] : NULL;
    if (hooks && hooks->on_node &&
        hooks->on_node(hooks->user, MSC_HOOK_BEFORE, n, in_buf, n->n_inputs, NULL, 0, 0.0)) {
      host->message_set(msg, "node '%s' (%s): stopped by hook", n->name, n->op_type);
      st = MSC_ERR_INTERNAL;
      break;
    }
    double t0 = now_ms();
    st = host->node_execute(n, in_buf, out_buf, msg);
    if (st != MSC_OK) break;
    double dt = now_ms() - t0;
    for (uint32_t k = 0; k < n->n_outputs; k++) {
      if (!n->outputs[k]) continue;
      uint32_t vi = n->outputs[k]->index;
      if (x->slots[vi] && !x->borrowed[vi]) host->tensor_free(x->slots[vi]);
      x->slots[vi] = out_buf[k];
      x->borrowed[vi] = 0;
    }
    if (hooks && hooks->on_node &&
        hooks->on_node(hooks->user, MSC_HOOK_AFTER, n, in_buf, n->n_inputs, (const MscTensor *const *)out_buf,
                       n->n_outputs, dt)) {
      host->message_set(msg, "node '%s' (%s): stopped by hook", n->name, n->op_type);
      st = MSC_ERR_INTERNAL;
      break;
    }
    /* free intermediates whose last reader was this node */
    for (uint32_t k = 0; k < n->n_inputs; k++) {
      const MscValue *v = n->inputs[k];
      if (v && x->c->last_use[v->index] == ni && x->slots[v->index] && !x->borrowed[v->index]) {
        host->tensor_free(x->slots[v->index]);
        x->slots[v->index] = NULL;
      }
    }
    for (uint32_t k = 0; k < n->n_outputs; k++) { /* outputs nobody reads */
      const MscValue *v = n->outputs[k];
      if (v && x->c->last_use[v->index] == NEVER && x->slots[v->index]) {
        host->tensor_free(x->slots[v->index]);
        x->slots[v->index] = NULL;
      }
    }
  }
  for (uint32_t j = 0; j < n_outputs; j++) outputs[j] = NULL;
  if (st == MSC_OK) {
    for (uint32_t j = 0; j < n_outputs; j++) {
      uint32_t vi = g->outputs[j]->index;
      MscTensor *t = x->slots[vi];
      if (!t) {
        host->message_set(msg, "ref: graph output '%s' was not computed", g->outputs[j]->name);
        st = MSC_ERR_INTERNAL;
        break;
      }
      if (x->borrowed[vi]) {
        outputs[j] = copy_tensor(t); /* an input or initializer passed through */
      } else {
        /* the same value may be listed twice as an output: copy the second */
        int dup = 0;
        for (uint32_t q = 0; q < j; q++) dup |= g->outputs[q]->index == vi;
        outputs[j] = dup ? copy_tensor(t) : t;
        if (!dup) x->slots[vi] = NULL;
      }
      if (!outputs[j]) {
        st = MSC_ERR_NOMEM;
        break;
      }
    }
    if (st != MSC_OK)
      for (uint32_t j = 0; j < n_outputs; j++) {
        if (outputs[j]) host->tensor_free(outputs[j]);
        outputs[j] = NULL;
      }
  }
  clear_slots(x);
  return st;
}

static const MscRunnerApi ref_runner = {
    .struct_size = sizeof(MscRunnerApi),
    .name = "ref",
    .doc = "reference runner: plain single-threaded C, the golden outputs",
    .options = NULL,
    .n_options = 0,
    .compile = ref_compile,
    .context_create = ref_context_create,
    .run = ref_run,
    .context_destroy = ref_context_destroy,
    .compiled_destroy = ref_compiled_destroy,
};

static MscStatus ref_init(const MscHostApi *h, MscPlugin *self, MscMessage *msg) {
  host = h;
  return h->registry_add(self, "msc.runner.ref", (void *)&ref_runner, MSC_KIND_RUNNER, ref_runner.doc, 0, msg);
}

MSC_PLUGIN_DEFINE("ref", MSC_PLUGIN_RUNNER, "0.1.0", "reference runner (plain C, single-threaded)", ref_init);
