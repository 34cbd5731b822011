/* core/graph-infer.c: to be written */
