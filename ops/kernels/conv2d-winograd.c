/* conv2d-winograd.c: Winograd F(4,3) plans for 3x3 stride-1 dense convs:
 * the choice rule, the weight transform (once, at plan creation), the 4x4
 * phase-split input packing and the threaded block loop. The arithmetic is
 * in f32-conv2d-winograd.inc.h, one instantiation per ISA. */
#include <stdlib.h>
#include <string.h>

#include "conv2d-plan-private.h"

/* Runs of at most this many grid blocks (one per image: 13x13 and 14x14 maps) may make their blocks'
 * input transforms once and share them among the output-channel chunks; the workspace holds one per block. */
#define WINO_SHARED_BLOCKS 2

/* MSC_WINOGRAD: 0 or unset = off, 1 = the measured rule, 2 = force for
 * every eligible shape (tests, benchmarks); MSC_WINO_TB / MSC_WINO_MSUB
 * override the block sizes (tuning). */
static int64_t env_int(const char *name, int64_t dflt) {
  const char *v = g_getenv(name);
  if (!v || !*v)
    return dflt;
  char *end = NULL;
  const long long r = g_ascii_strtoll(v, &end, 10);
  return end && *end == '\0' ? (int64_t) r : dflt;
}

/**
 * msc_conv2d_winograd_wanted:
 * The measured rule (`conv-kernels --crossover` and `--crossover-m M` at 1
 * and 2 threads, docs/kernels.md, against the direct kernels of the same
 * build): Winograd F(4,3) is faster once there are enough 4x4 tiles to
 * amortize the transforms over the output channels: 49+ tiles (28x28+)
 * with 16+ output channels (DenseNet's 128->32 @28 1.42x | 1.54x at 1 | 2
 * threads), or 9+ tiles (12x12 .. 27x27) with 64+ outputs and 32+ inputs
 * (3x3 256->256 @14 1.49x | 1.21x, 512->512 @14 2.0x | 1.8x). Few outputs
 * on 14x14 lose at 2 threads (128->32 @14 1.01x | 0.75x); 7x7 and 8x8 maps
 * (4 tiles) always lose (512->512 @7 0.73x | 0.68x). With 512-bit vectors only maps of 49+ tiles.
 * Returns: TRUE to use Winograd for this shape.
 */
gboolean msc_conv2d_winograd_wanted(const MscConv2dParams *p, int64_t OH, int64_t OW, const MscConv2dKernels *k) {
  if (p->groups != 1 || p->kernel_h != 3 || p->kernel_w != 3 || p->stride_h != 1 || p->stride_w != 1 ||
      p->dilation_h != 1 || p->dilation_w != 1)
    return FALSE;
  /* MSC_WINOGRAD: 0 = never, 1 = the rule (default), 2 = always */
  const int64_t mode = env_int("MSC_WINOGRAD", 1);
  if (mode == 0)
    return FALSE;
  if (mode == 2) /* force (tests, measurements) */
    return TRUE;
  const int64_t tiles = ((OH + 3) / 4) * ((OW + 3) / 4);
  /* 512-bit vectors: a 13x13 / 14x14 map's 16 tiles fill two vectors of 16 points at 50-63%, and the
   * direct kernel wins (AVX512 Xeon, conv-bench --ab MSC_WINOGRAD=0, Winograd time / direct time:
   * 3x3 256->256 @14 1.24-1.30, 512->512 @14 1.10, 48->192 @13 1.04-1.05) */
  if (k && k->vl >= 16 && tiles < 49 && env_int("MSC_WINO_WIDE_RULE", 1)) /* 0: the 256-bit rule (A/B) */
    return FALSE;
  return p->in_channels >= 16 && ((tiles >= 49 && p->out_channels >= 16) ||
                                  (tiles >= 9 && p->out_channels >= 64 && p->in_channels >= 32));
}

/* G g G^T for one 3x3 kernel g (row-major) into 36 values, in double. */
static void transform_kernel(const float *g, double u[36]) {
  /* points 0, 1/2, -1/2, 2, -2, infinity (f32-conv2d-winograd.inc.h) */
  static const double G[6][3] = {
      {1, 0, 0},
      {-8.0 / 15, -4.0 / 15, -2.0 / 15},
      {-8.0 / 15, 4.0 / 15, -2.0 / 15},
      {1.0 / 30, 1.0 / 15, 2.0 / 15},
      {1.0 / 30, -1.0 / 15, 2.0 / 15},
      {0, 0, 1},
  };
  double t[6][3];
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 3; j++)
      t[i][j] = G[i][0] * g[0 * 3 + j] + G[i][1] * g[1 * 3 + j] + G[i][2] * g[2 * 3 + j];
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++)
      u[i * 6 + j] = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
}

/* Smallest grid width >= TW such that a patch read running past a row end
 * (column q >= TWq wraps to the next phase row) wants a zero and finds one. */
static int64_t grid_width(const MscConv2dParams *p, int64_t TW) {
  const int64_t W = p->in_w, pl = p->pad_left;
  for (int64_t twq = TW;; twq++) {
    gboolean ok = TRUE;
    for (int64_t tw = 0; tw < TW && ok; tw++) {
      for (int j = 0; j < 6 && ok; j++) {
        const int64_t q = tw + j / 4;
        if (q < twq)
          continue;
        const int64_t col = 4 * tw + j - pl, colw = 4 * (q - twq) + j % 4 - pl;
        if ((col >= 0 && col < W) || (colw >= 0 && colw < W))
          ok = FALSE;
      }
    }
    if (ok)
      return twq;
  }
}

void msc_conv2d_winograd_setup(MscConv2dPlan *pl, const float *weights, const float *bias) {
  const MscConv2dParams *p = &pl->p;
  const MscConv2dKernels *k = pl->k;
  const int64_t C = p->in_channels, M = p->out_channels;
  MscWinoArgs *a = &pl->wa;
  pl->algo = ALGO_WINOGRAD;
  const int64_t TH = (pl->OH + 3) / 4, TW = (pl->OW + 3) / 4, TWq = grid_width(p, TW);
  a->TWq = TWq;
  a->TW = TW;
  a->OH = pl->OH;
  a->OW = pl->OW;
  a->P = TH * TWq;
  a->C = C;
  a->M = M;
  /* patch rows reach grid row TH, wraps row TH+1; + one vector of overrun */
  pl->wplane = (TH + 2) * TWq + k->vl;
  a->cstride = (16 * pl->wplane + 15) & ~(int64_t) 15;
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++)
      a->toff[i * 6 + j] = ((i % 4) * 4 + (j % 4)) * pl->wplane + (i / 4) * TWq + j / 4;
  /* block: the transformed input of a block (36*C*TB floats) within ~L2/2 */
  const int64_t unit = (int64_t) k->rw * k->vl;
  int64_t nunits = (128 * 1024) / (36 * 4 * C * unit);
  nunits = CLAMP(nunits, 1, 8);
  const int64_t need = (a->P + unit - 1) / unit;
  a->TB = unit * MIN(nunits, need);
  const int64_t tb_env = env_int("MSC_WINO_TB", 0);
  if (tb_env > 0)
    a->TB = (tb_env + unit - 1) / unit * unit;
  pl->mblocks = (M + k->mb - 1) / k->mb;
  a->mblocks = pl->mblocks;
  a->msub = MIN(pl->mblocks, MAX(1, env_int("MSC_WINO_MSUB", 16 / k->mb > 0 ? 16 / k->mb : 1)));
  a->act = p->act;
  a->act_a = p->act_a;
  a->act_b = p->act_b;
  pl->wnblocks = (a->P + a->TB - 1) / a->TB;
  /* output-channel chunks per block are chosen per run for the thread
   * count (wino_split); one slot per thread, at most one per task */
  pl->wnmc_forced = env_int("MSC_WINO_NMC", 0);
  const int64_t max_tasks = p->batch * pl->wnblocks * ((pl->mblocks + a->msub - 1) / a->msub);
  pl->wslots = MIN(max_tasks, MAX(1, (int64_t) g_get_num_processors()));
  pl->wslot_floats = (size_t) (36 * C * a->TB + 36 * a->msub * k->mb * a->TB);
  pl->wslot_floats = (pl->wslot_floats + 15) & ~(size_t) 15;
  /* room for the shared input transforms only where a run can take them (wino_shares) */
  const int64_t nblk = p->batch * pl->wnblocks;
  pl->wshared_floats = nblk <= WINO_SHARED_BLOCKS && env_int("MSC_WINO_SHARED", 1)
                           ? ((size_t) (36 * C * a->TB) + 15) & ~(size_t) 15
                           : 0;
  pl->ws_floats = (size_t) (p->batch * C * a->cstride) + (size_t) pl->wslots * pl->wslot_floats +
                  (size_t) nblk * pl->wshared_floats;

  /* weights: U[xi][mblk][c][MB], zero for padded output channels */
  const int64_t MB = k->mb;
  pl->wu = msc_conv2d_weights_alloc((size_t) (36 * pl->mblocks * C * MB));
  pl->bias = g_new0(float, (size_t) (pl->mblocks * MB));
  if (bias)
    memcpy(pl->bias, bias, sizeof(float) * (size_t) M);
  for (int64_t m = 0; m < M; m++) {
    for (int64_t c = 0; c < C; c++) {
      double u[36];
      transform_kernel(weights + (m * C + c) * 9, u);
      for (int xi = 0; xi < 36; xi++)
        pl->wu[(((int64_t) xi * pl->mblocks + m / MB) * C + c) * MB + m % MB] = (float) u[xi];
    }
  }
  g_snprintf(pl->desc, sizeof pl->desc, "winograd-f43-%dx%d-tb%" G_GINT64_FORMAT " %s", k->mb, k->rw * k->vl, a->TB,
             msc_isa_name(k->isa));
}

/* ---- run ---- */

typedef struct {
  const MscConv2dPlan *pl;
  const float *x, *res;
  float *y, *ws;
  int64_t ntasks;
  /* wino_split: the first nwhole (image, grid block) pairs are one task
   * each; every later one is nmc tasks of mbpc output-channel blocks */
  int64_t nwhole, mbpc, nmc;
  /* shared: the split blocks' input transforms are made first, once, in nxc channel chunks per block
   * (a phase of their own), and their output-channel chunks read them (wino_split) */
  int shared;
  int64_t nxc;
} WinoRun;

/* Pads and 4x4-phase-splits one (image, channel) plane. */
static void wino_pack_task(void *vctx, int64_t task, int thread) {
  const WinoRun *r = vctx;
  const MscConv2dPlan *pl = r->pl;
  const MscConv2dParams *p = &pl->p;
  float *dst = r->ws + task * pl->wa.cstride;
  (void) thread;
  memset(dst, 0, sizeof(float) * (size_t) pl->wa.cstride);
  pl->k->wino_pack(r->x + task * p->in_h * p->in_w, p->in_h, p->in_w, p->pad_top, p->pad_left, pl->wa.TWq,
                   pl->wplane, pl->wplane / pl->wa.TWq, dst);
}

static float *shared_of(const WinoRun *r, int64_t i);

static void wino_block(const WinoRun *r, int64_t task, float *slot) {
  const MscConv2dPlan *pl = r->pl;
  const MscConv2dParams *p = &pl->p;
  int64_t blk = task, mb0 = 0, mb1 = pl->mblocks;
  if (task >= r->nwhole) {
    const int64_t t = task - r->nwhole, mc = t % r->nmc;
    blk = r->nwhole + t / r->nmc;
    mb0 = mc * r->mbpc;
    mb1 = MIN(pl->mblocks, mb0 + r->mbpc);
  }
  const int64_t b = blk % pl->wnblocks, n = blk / pl->wnblocks;
  MscWinoArgs a = pl->wa;
  a.xp = r->ws + n * p->in_channels * a.cstride;
  a.u = pl->wu;
  a.bias = pl->bias;
  a.res = r->res ? r->res + n * p->out_channels * pl->OH * pl->OW : NULL;
  a.y = r->y + n * p->out_channels * pl->OH * pl->OW;
  if (task >= r->nwhole && r->shared)
    pl->k->winograd(&a, b * a.TB, mb0, mb1, shared_of(r, blk - r->nwhole), slot + 36 * a.C * a.TB, 1);
  else
    pl->k->winograd(&a, b * a.TB, mb0, mb1, slot, slot + 36 * a.C * a.TB, 0);
}

/* Task t of the shared-transform phase: channel chunk t % nxc of split block t / nxc. */
static void wino_xform_task(void *vctx, int64_t t, int thread) {
  const WinoRun *r = vctx;
  const MscConv2dPlan *pl = r->pl;
  const MscConv2dParams *p = &pl->p;
  (void) thread;
  const int64_t i = t / r->nxc, xc = t % r->nxc, blk = r->nwhole + i, C = p->in_channels;
  const int64_t c0 = C * xc / r->nxc, c1 = C * (xc + 1) / r->nxc;
  const int64_t b = blk % pl->wnblocks, n = blk / pl->wnblocks;
  MscWinoArgs a = pl->wa;
  a.xp = r->ws + n * C * a.cstride;
  pl->k->wino_input(&a, b * a.TB, c0, c1, shared_of(r, i));
}

static float *slot_of(const WinoRun *r, int64_t s) {
  const MscConv2dPlan *pl = r->pl;
  return r->ws + (size_t) (pl->p.batch * pl->p.in_channels * pl->wa.cstride) + (size_t) s * pl->wslot_floats;
}

/* The shared input transform of split block @i (0 .. nblk - nwhole - 1), after the slots. */
static float *shared_of(const WinoRun *r, int64_t i) {
  const MscConv2dPlan *pl = r->pl;
  return slot_of(r, pl->wslots) + (size_t) i * pl->wshared_floats;
}

static void wino_task(void *vctx, int64_t task, int thread) {
  const WinoRun *r = vctx;
  wino_block(r, task, slot_of(r, thread));
}

/* more threads than slots: slot s runs tasks s, s + nslots, ... */
static void wino_static_task(void *vctx, int64_t s, int thread) {
  const WinoRun *r = vctx;
  (void) thread;
  for (int64_t t = s; t < r->ntasks; t += r->pl->wslots)
    wino_block(r, t, slot_of(r, s));
}

/* Chunks of @nmc_want output-channel blocks (whole msub groups). */
static void wino_chunks(const MscConv2dPlan *pl, int64_t nmc_want, int64_t *mbpc, int64_t *nmc) {
  const int64_t msub = pl->wa.msub;
  *mbpc = (pl->mblocks + nmc_want - 1) / nmc_want;
  *mbpc = (*mbpc + msub - 1) / msub * msub;
  *nmc = (pl->mblocks + *mbpc - 1) / *mbpc;
}

/* Cost of a block's input transform against its whole GEMM and output
 * transform (each chunk of a split block repeats it): 2 chunks instead of
 * 1 at 1 thread took 1.08x the time on 3x3 64@56, 3 chunks 1.17x on
 * 128@28 (conv-bench --ab MSC_WINO_NMC, AVX2). */
#define WINO_XFORM_SHARE 0.08

/* Length of the schedule of @r's tasks on @nthreads: tasks go in index
 * order to the thread free first (the pool's shared counter, one task per
 * claim below 16 tasks per thread: Winograd task counts); a task
 * costs its block's share of vectors x (transform + its channels' share). */
static double wino_makespan(const WinoRun *r, int nthreads) {
  enum { MAXT = 64 };
  double busy[MAXT] = {0}, pre = 0.0;
  const MscConv2dPlan *pl = r->pl;
  const int nt = MIN(nthreads, MAXT);
  const int64_t TB = pl->wa.TB, P = pl->wa.P, vl = pl->k->vl, nblk = pl->p.batch * pl->wnblocks;
  for (int64_t blk = 0; blk < nblk; blk++) {
    const int64_t b = blk % pl->wnblocks, npts = MIN(TB, P - b * TB);
    const double f = (double) ((npts + vl - 1) / vl) / (double) ((TB + vl - 1) / vl);
    const int64_t nmc = blk < r->nwhole ? 1 : r->nmc, mbpc = blk < r->nwhole ? pl->mblocks : r->mbpc;
    const int sh = blk >= r->nwhole && r->shared; /* its transform made in the phase before */
    if (sh)
      pre += f * WINO_XFORM_SHARE / nt;
    for (int64_t mc = 0; mc < nmc; mc++) {
      const int64_t nmb = MIN(pl->mblocks, (mc + 1) * mbpc) - mc * mbpc;
      int best = 0;
      for (int t = 1; t < nt; t++)
        if (busy[t] < busy[best])
          best = t;
      busy[best] += f * ((sh ? 0.0 : WINO_XFORM_SHARE) + (1.0 - WINO_XFORM_SHARE) * (double) nmb / (double) pl->mblocks);
    }
  }
  double m = 0;
  for (int t = 0; t < nt; t++)
    m = MAX(m, busy[t]);
  return pre + m;
}

/* TRUE when @r's split blocks take the shared input transforms: every block split into 2+ chunks, and
 * the plan has room for them (at most WINO_SHARED_BLOCKS blocks per run, MSC_WINO_SHARED not 0). */
static int wino_shares(const WinoRun *r) {
  return r->nmc > 1 && r->nwhole == 0 && r->pl->wshared_floats > 0;
}

/* Tasks for a run on @nthreads: whole grid blocks, except that the last
 * blocks (those past the last full round of threads, or all of them) may
 * be split into output-channel chunks; the split with the shortest
 * schedule wins, the fewest tasks on a tie. One thread never splits; two
 * split the odd block out (ResNet-50's 3x3 64@56: 9 blocks, 5 + 4 whole
 * before). MSC_WINO_NMC=N splits every block into N chunks. */
static void wino_split(WinoRun *r, int nthreads) {
  const MscConv2dPlan *pl = r->pl;
  const int64_t nblk = pl->p.batch * pl->wnblocks, max_nmc = (pl->mblocks + pl->wa.msub - 1) / pl->wa.msub;
  r->nwhole = nblk;
  r->mbpc = pl->mblocks;
  r->nmc = 1;
  r->shared = 0;
  if (pl->wnmc_forced > 0) {
    r->nwhole = 0;
    wino_chunks(pl, MIN(pl->wnmc_forced, max_nmc), &r->mbpc, &r->nmc);
    r->shared = wino_shares(r);
  } else if (nthreads > 1) {
    double best = wino_makespan(r, nthreads);
    const int64_t tails[2] = {nblk % nthreads, nblk};
    for (int i = 0; i < 2; i++) {
      for (int64_t want = 2; want <= MIN(max_nmc, 8) && tails[i] > 0; want++) {
        WinoRun c = *r;
        c.nwhole = nblk - tails[i];
        wino_chunks(pl, want, &c.mbpc, &c.nmc);
        c.shared = wino_shares(&c);
        const double t = wino_makespan(&c, nthreads);
        if (t < best * 0.999) {
          best = t;
          *r = c;
        }
      }
    }
  }
  r->ntasks = r->nwhole + (nblk - r->nwhole) * r->nmc;
  /* channel chunks of the shared transforms: a few per thread (at least 8 channels each) */
  r->nxc = r->shared ? MAX((int64_t) 1, MIN((int64_t) 2 * nthreads, pl->p.in_channels / 8)) : 0;
}

void msc_conv2d_winograd_run(const MscConv2dPlan *pl, const float *x, const float *res, float *y, float *ws,
                             MscThreadPool *pool) {
  const MscConv2dParams *p = &pl->p;
  WinoRun r = {.pl = pl, .x = x, .res = res, .y = y, .ws = ws};
  const int nthreads = msc_threadpool_size(pool);
  wino_split(&r, nthreads);
  msc_threadpool_parallel_for(pool, p->batch * p->in_channels, wino_pack_task, &r);
  if (r.shared)
    msc_threadpool_parallel_for(pool, (p->batch * pl->wnblocks - r.nwhole) * r.nxc, wino_xform_task, &r);
  if (nthreads <= pl->wslots)
    msc_threadpool_parallel_for(pool, r.ntasks, wino_task, &r);
  else
    msc_threadpool_parallel_for(pool, pl->wslots, wino_static_task, &r);
}
