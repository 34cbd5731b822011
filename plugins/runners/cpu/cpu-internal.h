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
#include "kernels/cpu-kernels.h"
#include "msc-plugin.h"
#include "threadpool.h"
#include "int8/qstep.h"

extern const MscHostApi *cpu_host;

/* Weak in every file that calls them (see cpu_have_fast_conv). */
#pragma weak msc_conv2d_plan_create
#pragma weak msc_conv2d_plan_free
#pragma weak msc_conv2d_plan_run
#pragma weak msc_conv2d_plan_workspace_size
#pragma weak msc_conv2d_plan_set_input_shuffle
#pragma weak msc_isa_detect
#pragma weak msc_isa_name
#pragma weak msc_isa_supported
#pragma weak msc_threadpool_new
#pragma weak msc_threadpool_free
#pragma weak msc_threadpool_parallel_for
#pragma weak msc_threadpool_size
#pragma weak msc_threadpool_hold

/* The fast kernels live in libmsc and may be missing from an older
 * libmsc: they are weak references, checked before use. */
gboolean cpu_have_fast_conv(void);
gboolean cpu_have_threadpool(void);

/* STEP_AFFINE: a chain of per-channel (or scalar) affine ops on one input
 * (Mul/Add/Sub/Div by a constant, BatchNormalization) ending in an optional
 * activation, or a lone activation: y = act(x * scale[c] + shift[c]). */
/* STEP_QCONV / STEP_QOP: int8 steps (int8/qstep.h): read q->xs, write q->y. */
typedef enum { CPU_STEP_OP = 0, CPU_STEP_CONV = 1, CPU_STEP_AFFINE = 2, CPU_STEP_QCONV = 3, CPU_STEP_QOP = 4 } CpuStepKind;

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
  /* STEP_AFFINE (x, y, act above): n_ch 1 (scalar) or the channel count (axis 1) */
  float *scale, *shift; /* owned */
  int64_t n_ch;
  /* STEP_CONV, depthwise: x is read through a channel shuffle of
   * shuffle_g groups (0: none) whose Reshape / Transpose / Reshape the step
   * absorbed (shuffle_node: the first Reshape); the shuffled input must
   * have dims shuffle_dims (the last Reshape's shape) */
  int64_t shuffle_g, shuffle_dims[4];
  const MscNode *shuffle_node;
  /* STEP_CONV / STEP_QCONV: a zero-padding Pad folded into the conv (pad_node, absorbed): x is the Pad's input
   * and xpad [top, left, bottom, right] is added to the conv's own pads */
  int64_t xpad[4];
  const MscNode *pad_node;
  CpuQStep *q;         /* STEP_QCONV / STEP_QOP; owned */
  char desc[96];       /* "Conv+BN+Add+Relu" */
} CpuStep;

typedef struct CpuShapePlan CpuShapePlan;

/* The fast path of one STEP_OP for one shape (fastops.c). */
typedef enum {
  CPU_FAST_NONE = 0, /* the reference kernel */
  CPU_FAST_ALIAS,    /* output = a view of input 0 (no buffer of its own) */
  CPU_FAST_POOL,
  CPU_FAST_GPOOL,
  CPU_FAST_GEMM,
  CPU_FAST_BINARY,
  CPU_FAST_CONCAT,
  CPU_FAST_LRN,
  CPU_FAST_TRANSPOSE, /* Transpose keeping the innermost axes: block copies */
  CPU_FAST_TRANSPOSE2, /* Transpose swapping two groups of axes (NHWC <-> NCHW): batched 2-D transposes */
  CPU_FAST_RESIZE,     /* Resize / Upsample linear or cubic over the last two axes: planes over the pool */
} CpuFastKind;

typedef enum {
  CPU_BMODE_SAME = 0,
  CPU_BMODE_B_SCALAR,
  CPU_BMODE_A_SCALAR,
  CPU_BMODE_A_PLANE, /* b full, a one value per plane */
  CPU_BMODE_B_PLANE, /* a full, b one value per plane */
} CpuBMode;

#define CPU_POOL_TMP_MAX 4096 /* floats of a pooling row scratch (on the stack) */
#define CPU_LRN_BLOCK 1024    /* pixels per LRN task */

typedef struct {
  CpuFastKind kind;
  int use_pool;
  int64_t planes, inner, total, outer, esize;
  CpuPool2d pool;
  int gmax;
  /* gemm: packed alpha*B and beta*C (owned, aligned) */
  float *bp, *bias;
  int64_t M, K, N, panels;
  int has_bias;
  /* binary */
  CpuBinOp op;
  CpuBMode bmode;
  int32_t split;
  int64_t ostride[MSC_MAX_RANK], ydims[MSC_MAX_RANK];
  /* lrn */
  int64_t lrn_size, C;
  float alpha, beta, lbias;
  /* resize (owned) */
  struct MscResizePlanes *rp;
} CpuFast;

typedef struct {
  const MscGraph *g;
  int threads;
  MscIsa isa;
  gboolean fast; /* create fast conv plans (isa valid and kernels present) */
  gboolean fast_ops; /* fast non-conv kernels and aliases (option fast_ops) */
  gboolean int8;     /* int8 pass (option int8) */
  const CpuKernels *kern; /* the non-conv kernel table for isa */
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
  /* conv steps: bytes at the workspace's start that hold the conv's input written out: a channel shuffle
   * (CpuStep.shuffle_g) when hooks are on or the plan cannot read through it, a folded Pad (CpuStep.pad_node)
   * for the reference conv kernel; and whether the fast plan reads through the shuffle itself */
  size_t *xcopy_bytes;
  unsigned char *shuf_direct;
  unsigned char *use_pool; /* conv big enough to split over threads */
  double pool_min_flops;   /* conv FLOPs (2 x MACs, fp32 and int8) from which a conv splits over threads */
  CpuFast *fast;           /* per step: fast path of a STEP_OP */
  void **qprep;            /* per step: int8 per-shape data (qops.c) */
  size_t arena_bytes, lower_bound, sum_bytes;
  uint32_t n_buffers, n_fast, n_fast_ops, n_alias;
  uint32_t n_concat_inplace; /* Concat inputs produced in the Concat's output */
  int overlap_ok;
};

/* Value @v's constant: the model's, or this shape's (borrowed), or NULL. */
static inline const MscTensor *cpu_plan_konst(const CpuModel *m, const CpuShapePlan *p, uint32_t v) {
  return m->konst[v] ? m->konst[v] : p->shape_konst[v];
}

/* passes.c */
MscStatus cpu_passes_run(CpuModel *m, MscMessage *msg);
void cpu_steps_free(CpuModel *m);
/* Pad node @n in constant mode with constant pads (attribute or input) and fill value: its pads [2 * rank]
 * in @pads (begins, then ends) and the fill in *@value. FALSE for other modes, non-constant or negative
 * pads, an axes input, a rank above MSC_MAX_RANK or a non-float32 fill. */
gboolean cpu_pad_const(const CpuModel *m, const MscNode *n, int32_t rank, int64_t *pads, float *value);
/* Pad @n can fold into the Conv @conv reading it: input rank 4, only the two spatial axes padded, by
 * less than the kernel's extent per side, the conv's auto_pad NOTSET, and a fill of 0.0 (@any_fill:
 * any fill, the caller checks it). Its spatial pads [top, left, bottom, right] in @xpad. */
gboolean cpu_pad_foldable(const CpuModel *m, const MscNode *n, const MscNode *conv, gboolean any_fill, int64_t xpad[4]);

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
/* The conv geometry of step @s for input dims @xd: params (act included; a folded Pad's xpad added). */
MscStatus cpu_conv_params(const CpuStep *s, const int64_t *xd, MscConv2dParams *p, MscMessage *msg);

/* fastops.c */
void cpu_fast_prepare(CpuModel *m, CpuShapePlan *p, uint32_t si);
void cpu_fast_free(CpuFast *f);
/* Rows [r0, r1) of an R x C matrix of 4-byte elements @xs transposed into @ys (C x R): all C columns per row
 * (few columns: an NHWC image's channels; 3 and 4 vectorized). */
void cpu_t2_rows_f32(const uint32_t *xs, uint32_t *ys, int64_t R, int64_t C, int64_t r0, int64_t r1);
void cpu_fast_run(const CpuFast *f, const CpuKernels *k, MscThreadPool *pool, const MscTensor *const *in,
                  uint32_t n_in, MscTensor *y);

/* int8/qpass.c: the int8 pass (after folding, before conv fusion) */
void cpu_qpass_run(CpuModel *m, const uint32_t *readers, unsigned char *dead, int32_t *owner, gboolean *is_head,
                   CpuStep *groups);
/* int8/qops.c: per-shape preparation (dims of the step output set in @p;
 * workspace bytes in *@ws) and running of int8 steps */
MscStatus cpu_q_prepare(CpuModel *m, CpuShapePlan *p, uint32_t si, size_t *ws, MscMessage *msg);
void cpu_q_prep_free(const CpuStep *s, void *prep);
MscStatus cpu_q_run(const CpuStep *s, const void *prep, const MscTensor *const *in, MscTensor *y, void *ws,
                    MscThreadPool *pool, MscMessage *msg);

/* exec.c */
/* Node @n's reference kernel on @in (@n_in of them) into the one output @y (its storage set, owned by the
 * caller); a failure names the node in @msg. */
MscStatus cpu_run_kernel(const MscNode *n, const MscTensor *const *in, uint32_t n_in, MscTensor *y, MscMessage *msg);
typedef struct {
  CpuModel *m;
  MscThreadPool *pool;
  gboolean hold; /* hold the pool for each run (msc_threadpool_hold); MSC_POOL_HOLD=0: not (A/B) */
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
