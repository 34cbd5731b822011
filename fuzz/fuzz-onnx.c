/* fuzz-onnx.c: ONNX loader + graph verifier (sort, op resolution, static
 * shape inference with constant folding), then export and re-import.
 * Errors are fine; crashes, UB, leaks, and an exported model that does not
 * load back are bugs. */
#include <string.h>

#include "fuzz-common.h"
#include "graph.h"
#include "onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init_once();
  GError *e = NULL;
  MscGraph *g = msc_onnx_load_buffer(data, size, "fuzz.onnx", &e);
  if (!g) {
    if (!e || !e->message) fuzz_bug("msc_onnx_load_buffer failed without an error message");
    g_error_free(e);
    return 0;
  }
  gboolean verified = msc_graph_verify(g, &e);
  if (!verified) {
    if (!e || !e->message) fuzz_bug("msc_graph_verify failed without an error message");
    g_clear_error(&e);
  }
  (void)msc_graph_param_count(g);
  (void)msc_graph_flops(g);
  /* Export must give a model that imports again with the same node count. */
  uint8_t *buf = NULL;
  size_t len = 0;
  if (msc_onnx_save_buffer(g, &buf, &len, &e)) {
    MscGraph *g2 = msc_onnx_load_buffer(buf, len, "fuzz-export.onnx", &e);
    if (!g2) fuzz_bug("exported model does not load back: %s", e ? e->message : "?");
    if (g2->n_nodes != g->n_nodes || g2->n_inputs != g->n_inputs || g2->n_outputs != g->n_outputs)
      fuzz_bug("export/import changed the graph: nodes %u->%u inputs %u->%u outputs %u->%u", g->n_nodes,
               g2->n_nodes, g->n_inputs, g2->n_inputs, g->n_outputs, g2->n_outputs);
    if (verified && !msc_graph_verify(g2, &e))
      fuzz_bug("exported model loads back but no longer verifies: %s", e ? e->message : "?");
    msc_graph_free(g2);
    g_free(buf);
  } else {
    g_clear_error(&e);
  }
  msc_graph_free(g);
  return 0;
}
