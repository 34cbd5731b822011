/* core/host-api.c: to be written */
