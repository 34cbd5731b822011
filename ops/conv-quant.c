/* ops/conv-quant.c: placeholder until implemented. */
#include "ops.h"

const MscOpDef *const msc_ops_conv_quant[] = {NULL};
