/* graph-builder.h: building test graphs by name, shared by the tests that
 * assemble whole graphs (test-graph.c, test-cpu-runner.c, test-int8.c).
 * Header-only (static inline), like op-tester.h. */
#ifndef MSC_GRAPH_BUILDER_H
#define MSC_GRAPH_BUILDER_H

#include <glib.h>
#include <string.h>

#include "graph.h"

/* The value called @name, created on first use. Returns: (transfer none). */
static inline MscValue *val(MscGraph *g, const char *name) {
  return msc_graph_get_or_add_value(g, name);
}

/* Adds node @name of @op (default domain, opset 13) with comma-separated
 * input and output value names ("-": an absent optional input; at most 8
 * each). Returns: (transfer none): the node, owned by @g. */
static inline MscNode *node(MscGraph *g, const char *name, const char *op, const char *in, const char *out) {
  MscNode *n = msc_graph_add_node(g, name, op, "", 13);
  MscValue *ins[8], *outs[8];
  uint32_t ni = 0, no = 0;
  g_auto(GStrv) a = g_strsplit(in, ",", -1), b = g_strsplit(out, ",", -1);
  for (char **p = a; *p && **p; p++) ins[ni++] = strcmp(*p, "-") ? val(g, *p) : NULL;
  for (char **p = b; *p && **p; p++) outs[no++] = val(g, *p);
  msc_node_set_io(n, ins, ni, outs, no);
  return n;
}

/* Adds the string attribute @name = @s to @n. */
static inline void add_attr_string(MscNode *n, const char *name, const char *s) {
  MscAttr a = {0};
  a.name = g_strdup(name);
  a.type = MSC_ATTR_STRING;
  a.s = g_strdup(s);
  a.s_len = strlen(s);
  msc_node_add_attr(n, &a);
}

#endif
