/* plugins/runners/ref/ref.c: to be written */
