/* core/error.c: to be written */
