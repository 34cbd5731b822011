/* ops/conv-transpose.c: placeholder until implemented. */
#include "ops.h"

const MscOpDef *const msc_ops_conv_transpose[] = {NULL};
