/* ops/pad-utils.c: to be written */
