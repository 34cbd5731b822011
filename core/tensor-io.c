/* core/tensor-io.c: to be written */
