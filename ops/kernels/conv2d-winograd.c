/* conv2d-winograd.c: Winograd F(4,3) plans for 3x3 stride-1 dense convs:
 * the choice rule, the weight transform (once, at plan creation), the 4x4
 * phase-split input packing and the threaded block loop. The arithmetic is
 * in f32-conv2d-winograd.inc.h, one instantiation per ISA. */
#include <stdlib.h>
#include <string.h>

#include "conv2d-plan-private.h"

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
 * The measured rule (`conv-kernels --crossover` and `--crossover-m M`,
 * docs/kernels.md, against the direct kernel of the same build): Winograd
 * F(4,3) is clearly faster (>= 1.2x) once there are enough 4x4 tiles to
 * amortize the transforms over the output channels: 49+ tiles (28x28+)
 * with 64+ output channels, or 196+ tiles (56x56+) with 16+. On 13x13 and
 * 14x14 maps (16 tiles) it wins only with wide layers: `conv-bench --ab
 * MSC_WINOGRAD=2` (alternated pairs, AVX2 Zen 3) gave 96->208 0.86-0.95x
 * the direct time, 112->224 0.80-0.83, 144->288 0.72-0.75, 160->320
 * 0.74-0.80 (Inception v1's 14x14 convs), but 48->192 0.99, 64->256
 * 0.95, 256->256 1.01-1.15, 64->64 1.18, 128->32 1.38; so 16+ tiles with
 * 192+ output and 96-192 input channels. 7x7 maps (4 tiles): 2-3x slower.
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
  (void) k;
  const int64_t tiles = ((OH + 3) / 4) * ((OW + 3) / 4);
  return p->in_channels >= 16 && ((p->out_channels >= 64 && tiles >= 49) || (p->out_channels >= 16 && tiles >= 196) ||
                                  (tiles >= 16 && p->out_channels >= 192 && p->in_channels >= 96 &&
                                   p->in_channels <= 192));
}

/* G g G^T for one 3x3 kernel g (row-major) into 36 values, in double. */
static void transform_kernel(const float *g, double u[36]) {
  static const double G[6][3] = {
      {1.0 / 4, 0, 0},
      {-1.0 / 6, -1.0 / 6, -1.0 / 6},
      {-1.0 / 6, 1.0 / 6, -1.0 / 6},
      {1.0 / 24, 1.0 / 12, 1.0 / 6},
      {1.0 / 24, -1.0 / 12, 1.0 / 6},
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
  /* tasks: blocks x output-channel chunks; split the channels only when
   * there are few blocks (each chunk repeats the block's input transform) */
  const int64_t blocks = p->batch * pl->wnblocks;
  int64_t nmc = blocks >= 8 ? 1 : (8 + blocks - 1) / blocks;
  nmc = MIN(nmc, (pl->mblocks + a->msub - 1) / a->msub);
  pl->wmbpc = (pl->mblocks + nmc - 1) / nmc;
  pl->wmbpc = (pl->wmbpc + a->msub - 1) / a->msub * a->msub;
  pl->wnmc = (pl->mblocks + pl->wmbpc - 1) / pl->wmbpc;
  const int64_t ntasks = blocks * pl->wnmc;
  pl->wslots = MIN(ntasks, MAX(1, (int64_t) g_get_num_processors()));
  pl->wslot_floats = (size_t) (36 * C * a->TB + 36 * a->msub * k->mb * a->TB);
  pl->wslot_floats = (pl->wslot_floats + 15) & ~(size_t) 15;
  pl->ws_floats = (size_t) (p->batch * C * a->cstride) + (size_t) pl->wslots * pl->wslot_floats;

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

static void wino_block(const WinoRun *r, int64_t task, float *slot) {
  const MscConv2dPlan *pl = r->pl;
  const MscConv2dParams *p = &pl->p;
  const int64_t mc = task % pl->wnmc, rest = task / pl->wnmc;
  const int64_t b = rest % pl->wnblocks, n = rest / pl->wnblocks;
  MscWinoArgs a = pl->wa;
  a.xp = r->ws + n * p->in_channels * a.cstride;
  a.u = pl->wu;
  a.bias = pl->bias;
  a.res = r->res ? r->res + n * p->out_channels * pl->OH * pl->OW : NULL;
  a.y = r->y + n * p->out_channels * pl->OH * pl->OW;
  const int64_t mb0 = mc * pl->wmbpc, mb1 = MIN(pl->mblocks, mb0 + pl->wmbpc);
  pl->k->winograd(&a, b * a.TB, mb0, mb1, slot, slot + 36 * a.C * a.TB);
}

static float *slot_of(const WinoRun *r, int64_t s) {
  const MscConv2dPlan *pl = r->pl;
  return r->ws + (size_t) (pl->p.batch * pl->p.in_channels * pl->wa.cstride) + (size_t) s * pl->wslot_floats;
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

void msc_conv2d_winograd_run(const MscConv2dPlan *pl, const float *x, const float *res, float *y, float *ws,
                             MscThreadPool *pool) {
  const MscConv2dParams *p = &pl->p;
  WinoRun r = {.pl = pl, .x = x, .res = res, .y = y, .ws = ws};
  r.ntasks = p->batch * pl->wnblocks * pl->wnmc;
  msc_threadpool_parallel_for(pool, p->batch * p->in_channels, wino_pack_task, &r);
  if (msc_threadpool_size(pool) <= pl->wslots)
    msc_threadpool_parallel_for(pool, r.ntasks, wino_task, &r);
  else
    msc_threadpool_parallel_for(pool, pl->wslots, wino_static_task, &r);
}
