/* ops/conv2d.c: placeholder until implemented. */
#include "ops.h"

const MscOpDef *const msc_ops_conv[] = {NULL};
