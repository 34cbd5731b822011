/* cpu-stats.h: what the `cpu` runner reports about its last compile and
 * memory plan, for `msc bench` and the tests. The plugin registers
 * "msc.runner.cpu.stats" (kind FUNCTION) as an MscCpuStatsFn. */
#ifndef MSC_CPU_STATS_H
#define MSC_CPU_STATS_H

#include <stdint.h>

typedef struct MscCpuStats {
  uint32_t struct_size;
  /* process-wide counters */
  uint64_t plans_built;    /* shape plans built so far (one per new input shape per model) */
  uint64_t run_allocs;     /* tensors allocated inside run loops (values whose size the plan could not know) */
  /* last compile */
  uint32_t n_nodes;        /* graph nodes */
  uint32_t n_steps;        /* executed steps after the passes */
  uint32_t n_const_folded; /* nodes folded at compile time */
  uint32_t n_dead;         /* nodes removed as dead */
  uint32_t n_bn_folded;    /* BatchNormalization folded into a Conv */
  uint32_t n_act_fused;    /* activations fused into a conv epilogue */
  uint32_t n_add_fused;    /* residual Adds fused into a conv epilogue */
  uint32_t n_convs;        /* conv steps */
  /* last shape plan */
  uint32_t n_fast_convs;   /* conv steps with a fast kernel plan (others: reference kernel + epilogue) */
  uint32_t n_buffers;      /* planned buffers (activations and conv workspaces) */
  uint64_t arena_bytes;    /* planned peak */
  uint64_t lower_bound_bytes; /* max over steps of the bytes live at that step */
  uint64_t sum_bytes;      /* all buffers without reuse */
  int32_t overlap_ok;      /* debug walk: 1 when no two simultaneously live buffers overlap */
  char isa[16];            /* kernel ISA of the last compile ("scalar", "avx2", "avx512", "none") */
  /* appended (read them only when struct_size covers them) */
  uint32_t n_affine_steps; /* per-channel affine/activation chains run as one step */
  uint32_t n_affine_nodes; /* graph nodes in those chains */
  uint32_t n_fast_ops;     /* last shape plan: non-conv steps on fast kernels (aliases excluded) */
  uint32_t n_alias;        /* last shape plan: steps whose output is a view of their input */
  uint32_t n_int8_steps;   /* int8 steps (QDQ groups, QLinearConv, ConvInteger, ...; docs/int8.md) */
  uint32_t n_int8_dq_removed; /* activation DequantizeLinear nodes no longer run */
  uint32_t n_int8_fused_tables; /* 8-bit table steps folded into the next table step */
  uint32_t n_concat_inplace;    /* last shape plan: Concat inputs produced straight into the Concat's output */
  uint32_t n_shuffles_fused;    /* channel shuffles (Reshape, Transpose, Reshape) read by the depthwise conv after them */
  uint32_t n_pads_folded;       /* zero-padding Pad nodes folded into the conv reading them (fp32 and int8) */
} MscCpuStats;

/* Fills @out (caller storage; set out->struct_size first). */
typedef void (*MscCpuStatsFn)(MscCpuStats *out);

#endif
