/* ops/op-util.c: to be written */
