/* ops/concat-split.c: placeholder until implemented. */
#include "ops.h"

const MscOpDef *const msc_ops_concat_split[] = {NULL};
