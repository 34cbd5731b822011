/* ops/builtin.c: to be written */
