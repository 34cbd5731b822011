/* ops/slice-gather.c: placeholder until implemented. */
#include "ops.h"

const MscOpDef *const msc_ops_slice_gather[] = {NULL};
