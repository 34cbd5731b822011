/* cpu-internal.h: the `cpu` runner's private structures, shared by its
 * files: passes.c (graph -> steps), plan.c (per-shape memory plan),
 * exec.c (the run loop), cpu.c (plugin entry and runner API).
 *
 * The runner never modifies the host graph: the passes build a private
 * step list that points into it (nodes, values) and owns what it derives
 * (folded weights, folded constants). */
#ifndef MSC_CPU_INTERNAL_H
#define MSC_CPU_INTERNAL_H

#include <glib.h>

#include "cpu-stats.h"
#include "kernels/conv2d-plan.h"
#include "msc-plugin.h"
#include "threadpool.h"

extern const MscHostApi *cpu_host;

/* Weak in every file that calls them (see cpu_have_fast_conv). */
#pragma weak msc_conv2d_plan_create
#pragma weak msc_conv2d_plan_free
#pragma weak msc_conv2d_plan_run
#pragma weak msc_conv2d_plan_workspace_size
#pragma weak msc_isa_detect
#pragma weak msc_isa_name
#pragma weak msc_isa_supported
#pragma weak msc_threadpool_new
#pragma weak msc_threadpool_free
#pragma weak msc_threadpool_parallel_for

/* The fast kernels live in libmsc and may be missing from an older
 * libmsc: they are weak references, checked before use. */
gboolean cpu_have_fast_conv(void);
gboolean cpu_have_threadpool(void);

typedef enum { CPU_STEP_OP = 0, CPU_STEP_CONV = 1 } CpuStepKind;

typedef struct {
  CpuStepKind kind;
  const MscNode *node; /* STEP_OP: the node; STEP_CONV: the Conv (first of its group, named in hooks) */
  const MscNode *last; /* last node of a fused group (== node when nothing fused) */
  uint32_t n_group;    /* graph nodes this step executes */
  /* STEP_CONV */
  int32_t x, res, y;   /* value indices; res -1 when no residual Add */
  int64_t M, C, kh, kw, group;
  float *w;            /* [M, C/group, kh, kw], BN folded; owned */
  float *bias;         /* [M], BN folded, zeros when absent; owned */
  MscTensor *w_t;      /* tensor view of w for the reference Conv kernel; owned (data borrowed) */
  MscActivation act;
  float act_a, act_b;
  char desc[96];       /* "Conv+BN+Add+Relu" */
} CpuStep;

typedef struct CpuShapePlan CpuShapePlan;

typedef struct {
  const MscGraph *g;
  int threads;
  MscIsa isa;
  gboolean fast; /* create fast conv plans (isa valid and kernels present) */
  uint32_t nv;
  const MscTensor **konst; /* per value: compile-time constant or NULL (borrowed or in owned_konst) */
  MscTensor **owned_konst; /* per value: folded here (owned) */
  CpuStep *steps;
  uint32_t n_steps;
  int32_t *def;  /* per value: step producing it, -1 for inputs/constants */
  int32_t *last; /* per value: last step reading it (n_steps for graph outputs), -1 unread */
  MscCpuStats stats; /* compile part */
  GMutex lock;       /* guards plans */
  GPtrArray *plans;  /* CpuShapePlan*, one per input shape seen */
} CpuModel;

struct CpuShapePlan {
  int64_t *key; /* rank, dims... per input */
  uint32_t key_len;
  /* per value */
  int32_t *rank;
  int64_t (*dims)[MSC_MAX_RANK];
  MscDType *dtype;
  size_t *nbytes;
  int64_t *offset;         /* arena offset, -1 when not in the arena */
  MscTensor **shape_konst; /* per value: constant for this shape only (owned) */
  /* per step */
  unsigned char *skip;     /* outputs all known for this shape: nothing to run */
  MscConv2dPlan **conv;    /* fast plan or NULL (reference kernel + epilogue) */
  int64_t *ws_offset;      /* conv workspace offset in the arena */
  unsigned char *use_pool; /* conv big enough to split over threads */
  size_t arena_bytes, lower_bound, sum_bytes;
  uint32_t n_buffers, n_fast;
  int overlap_ok;
};

/* passes.c */
MscStatus cpu_passes_run(CpuModel *m, MscMessage *msg);
void cpu_steps_free(CpuModel *m);

/* plan.c: the arena planner on lifetime intervals (pure). */
typedef struct {
  size_t size;
  int32_t first, last; /* live over steps first..last inclusive */
  int64_t offset;      /* out */
} CpuBuf;
/* Assigns offsets (aligned to @align) greedily by size, best-fit into gaps
 * left by buffers live at the same time. Returns the arena size; the lower
 * bound (max over steps of live bytes) in *@lower_bound. */
size_t cpu_plan_arena(CpuBuf *bufs, uint32_t n, size_t align, size_t *lower_bound);
/* Debug walk: TRUE when no two buffers live at the same step overlap. */
gboolean cpu_plan_check(const CpuBuf *bufs, uint32_t n);
/* Builds the plan for concrete inputs (dims only are read). */
CpuShapePlan *cpu_shape_plan_build(CpuModel *m, const MscTensor *const *inputs, MscMessage *msg);
void cpu_shape_plan_free(CpuShapePlan *p);
/* The conv geometry of step @s for input dims @xd: params (act included). */
MscStatus cpu_conv_params(const CpuStep *s, const int64_t *xd, MscConv2dParams *p, MscMessage *msg);

/* exec.c */
typedef struct {
  CpuModel *m;
  MscThreadPool *pool;
  void *arena;
  size_t arena_size;
  MscTensor *views;        /* per value: tensor struct pointing into the arena */
  const MscTensor **slot;  /* per value: the tensor for this run */
  GPtrArray *dyn;          /* tensors allocated in this run (unplanned sizes) */
} CpuContext;

MscStatus cpu_run(CpuContext *x, const MscTensor *const *inputs, uint32_t n_inputs, MscTensor **outputs,
                  uint32_t n_outputs, const MscRunHooks *hooks, MscMessage *msg);
/* Process-wide stats (cpu.c). */
void cpu_stats_note_plan(const CpuModel *m, const CpuShapePlan *p);
void cpu_stats_note_compile(const CpuModel *m);
void cpu_stats_note_run_alloc(void);

#endif
