/* core/msc.c: to be written */
