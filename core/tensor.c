/* core/tensor.c: to be written */
