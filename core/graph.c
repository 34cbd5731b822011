/* core/graph.c: to be written */
