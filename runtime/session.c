/* runtime/session.c: to be written */
