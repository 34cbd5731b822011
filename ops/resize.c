/* ops/resize.c: placeholder until implemented. */
#include "ops.h"

const MscOpDef *const msc_ops_resize[] = {NULL};
