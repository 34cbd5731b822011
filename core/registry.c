/* core/registry.c: to be written */
