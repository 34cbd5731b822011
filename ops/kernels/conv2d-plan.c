/* conv2d-plan.c: plan creation (validation, algorithm choice, weight
 * packing) and the threaded run loop for the fast float32 conv. The
 * arithmetic lives in the per-ISA kernels (f32-conv2d-direct.inc.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conv2d-plan-private.h"
#include "error.h"

#define MAX_DIM (((int64_t) 1) << 31)

static gboolean grid_width_ok(const MscConv2dParams *p, int64_t OW, int64_t Wq) {
  /* Every real column must land at q < Wq, and a read that runs past the
   * row end (q >= Wq) must want a zero (right pad) and find one (the next
   * row's left pad or another pad column). */
  const int64_t s = p->stride_w, d = p->dilation_w, pl = p->pad_left, W = p->in_w;
  for (int64_t kw = 0; kw < p->kernel_w; kw++) {
    const int64_t px = (kw * d) % s, base = (kw * d) / s;
    for (int64_t ow = 0; ow < OW; ow++) {
      const int64_t q = ow + base;
      if (q < Wq)
        continue;
      const int64_t x = q * s + px - pl;
      const int64_t xw = (q - Wq) * s + px - pl;
      if (x < W || (xw >= 0 && xw < W))
        return FALSE;
    }
  }
  return TRUE;
}

static gboolean check_params(const MscConv2dParams *p, int64_t *oh, int64_t *ow, GError **error) {
  if (p->batch < 1 || p->in_channels < 1 || p->in_h < 1 || p->in_w < 1 || p->out_channels < 1 || p->kernel_h < 1 ||
      p->kernel_w < 1) {
    msc_set_error(error, MSC_ERR_INVALID_ARG,
                  "conv2d plan: sizes must be positive (N=%" G_GINT64_FORMAT " C=%" G_GINT64_FORMAT " H=%" G_GINT64_FORMAT
                  " W=%" G_GINT64_FORMAT " M=%" G_GINT64_FORMAT " kernel=%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ")",
                  p->batch, p->in_channels, p->in_h, p->in_w, p->out_channels, p->kernel_h, p->kernel_w);
    return FALSE;
  }
  if (p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "conv2d plan: strides and dilations must be >= 1 (%" G_GINT64_FORMAT
                  "x%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ")",
                  p->stride_h, p->stride_w, p->dilation_h, p->dilation_w);
    return FALSE;
  }
  if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "conv2d plan: pads must be >= 0");
    return FALSE;
  }
  if (p->groups < 1 || p->in_channels % p->groups || p->out_channels % p->groups) {
    msc_set_error(error, MSC_ERR_INVALID_ARG,
                  "conv2d plan: groups %" G_GINT64_FORMAT " must divide in_channels %" G_GINT64_FORMAT
                  " and out_channels %" G_GINT64_FORMAT,
                  p->groups, p->in_channels, p->out_channels);
    return FALSE;
  }
  const int64_t vals[] = {p->batch, p->in_channels, p->in_h, p->in_w, p->out_channels, p->kernel_h, p->kernel_w,
                          p->stride_h, p->stride_w, p->dilation_h, p->dilation_w, p->pad_top, p->pad_left,
                          p->pad_bottom, p->pad_right};
  for (size_t i = 0; i < G_N_ELEMENTS(vals); i++) {
    if (vals[i] >= MAX_DIM) {
      msc_set_error(error, MSC_ERR_UNSUPPORTED, "conv2d plan: dimension %" G_GINT64_FORMAT " too large", vals[i]);
      return FALSE;
    }
  }
  const int64_t ekh = (p->kernel_h - 1) * p->dilation_h + 1, ekw = (p->kernel_w - 1) * p->dilation_w + 1;
  const int64_t hp = p->in_h + p->pad_top + p->pad_bottom, wp = p->in_w + p->pad_left + p->pad_right;
  if (hp < ekh || wp < ekw) {
    msc_set_error(error, MSC_ERR_INVALID_ARG,
                  "conv2d plan: dilated kernel %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                  " larger than padded input %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
                  ekh, ekw, hp, wp);
    return FALSE;
  }
  *oh = (hp - ekh) / p->stride_h + 1;
  *ow = (wp - ekw) / p->stride_w + 1;
  /* Keep every buffer product well inside int64/size_t. */
  double total = (double) p->batch * (double) MAX(p->in_channels, p->out_channels) * (double) hp * (double) wp;
  double wsize = (double) p->out_channels * (double) (p->in_channels / p->groups) * (double) p->kernel_h *
                 (double) p->kernel_w;
  if (total > 1e12 || wsize > 1e11) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "conv2d plan: tensors too large");
    return FALSE;
  }
  return TRUE;
}

/* this CPU's L2 data cache per core (bytes; 512 KiB where the C library
 * cannot tell) */
static double l2_bytes(void) {
  const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
  return v > 0 ? (double) v : 512.0 * 1024.0;
}

/* Channel-vectorized kernel or the grid kernel? MSC_CONV_CVEC: 0 never,
 * 2 always, unset or 1 the rule. The grid kernel reuses a weight over one
 * tile (RW*VL points) and streams the weights from L3 once per tile. The
 * channel-vectorized one reuses each weight
 * vector over a pass of up to 128 pixels from L1, so on small maps it
 * streams the weights about once. Measured (conv-bench --layer, AVX2 Zen 3,
 * docs/kernels.md): it wins on maps up to 14x14 with long reductions (3x3
 * 256@14 73 -> 84%, 1x1 2048->512@7 50 -> 61%) and on 7x7 maps from a
 * quarter of that (1x1 512->2048@7 61 -> 70%); on 28x28 maps, short
 * reductions and 1x1 @14 the grid kernel is as fast or faster. */
static gboolean cvec_wanted(const MscConv2dPlan *pl) {
  const char *e = g_getenv("MSC_CONV_CVEC");
  const int m = e && *e ? atoi(e) : 1;
  if (m == 0 || !pl->k->cvec)
    return FALSE;
  if (m == 2)
    return TRUE;
  const int64_t ohw = pl->OH * pl->OW, kmb = pl->Cg * pl->ntaps * pl->k->mb;
  /* 1x1 at 13x13/14x14: the grid kernel is as fast or faster (1024->256 @14 75 vs 73%,
   * 1024->512 @14 65-66 vs 52-56%, 512->1000 @13 75 vs 56%) */
  if (pl->ntaps == 1 && ohw > 64)
    return FALSE;
  /* 1x1 with fewer than 512 outputs: the panel pack (a transposition of
   * the whole input) is shared by too few channels. conv-bench --ab
   * MSC_CONV_CVEC=0, grid time / cvec time at 1 | 2 threads: DenseNet's
   * 1x1 512..992->128 @7 0.58-0.70 | 0.70-0.79, inception's 832->128 @6
   * 0.58 | 0.83, 832->384 @6 0.85 | 0.82; 2048->512 @7 0.98-1.16 | 0.94-1.02
   * (a tie), 512->2048 @7 1.05-1.22 | 0.97-1.05 */
  if (pl->ntaps == 1 && pl->Mg < 512)
    return FALSE;
  /* strided onto 14x14: the grid kernel (3x3/2 256@28 -> 14: 0.93x the cvec
   * time, `conv-bench --ab MSC_CONV_CVEC=0`, 2 x 64 alternated pairs); onto
   * 7x7 cvec stays (3x3/2 512@14: grid 1.06-1.08x, 160@14: 1.02-1.09x) */
  if ((pl->p.stride_h > 1 || pl->p.stride_w > 1) && ohw > 64)
    return FALSE;
  /* stride 1 onto 13x13/14x14 with 128..256 inputs and 128+ outputs: the
   * grid kernel over output positions (no dropped columns since xpos).
   * conv-bench --ab MSC_CONV_CVEC=0, grid time / cvec time, 2-3 alternated
   * runs at 1 | 2 threads: 3x3 256->256 @14 0.92-1.00 | 0.88-0.89 (ResNet-50),
   * @13 1.01-1.02 | 0.86-0.89, 128->128 @14 0.86-0.90 | 0.92-1.04, 256->128
   * @14 0.91-0.94 | 1.04-1.05; cvec stays for 512 inputs (512->512 @14
   * 1.05 | 0.92-1.02) and few outputs (128->64 @14 1.06 | 1.03, DenseNet's
   * 128->32 1.06 | 1.15). With 512-bit vectors from 64 inputs (3x3 64->256 @13 0.87 on an AVX512 Xeon,
   * where Winograd no longer takes that map) */
  if (ohw > 64 && pl->ntaps > 1 && pl->Cg >= (pl->k->vl >= 16 ? 64 : 128) && pl->Cg <= 256 && pl->Mg >= 128)
    return FALSE;
  return pl->Cg * pl->ntaps >= 64 && ((ohw <= 256 && kmb >= 4096) || (ohw <= 64 && kmb >= 1024));
}

/* Dense tiles over the output positions instead of the grid
 * (MscDenseArgs.xpos): the Wq - OW columns a grid row drops are then
 * neither packed nor computed. MSC_DENSE_XPOS: 0 never, 1 the rule
 * (default), 2 whenever it applies (rows of VL+ outputs, taps that fit a
 * panel). */
static gboolean xpos_wanted(const MscConv2dPlan *pl) {
  const char *e = g_getenv("MSC_DENSE_XPOS");
  const int m = e && *e ? atoi(e) : 1;
  if (m == 0 || pl->direct_input || pl->Wq == pl->OW || pl->OW < pl->k->vl ||
      pl->ntaps > MSC_DENSE_PACK_FLOATS / (pl->k->rw * pl->k->vl))
    return FALSE;
  if (m == 2)
    return TRUE;
  /* conv-bench --ab MSC_DENSE_XPOS=0, AVX2, 1 thread: 1.03-1.05x on
   * 3x3/2 128@56, 256@28, the 7x7/2 stem, 3x3 64->256 @13; 1.05-1.13x on
   * 5x5 @14-28 (12-22% of the grid dropped); 3x3 128->32 @28 (8 blocks,
   * 3.4% dropped) 0.99x: the pack's extra loads are shared by few blocks.
   * Short reductions (K = Cg x taps <= 256): a tile's K loop is short, so
   * the stores of vectors crossing a row end (runs) are a large share; over
   * output positions every store is a whole vector. 1 thread, 35 pairs:
   * 3x3/2 stems 3->16 @64 0.80x, 3->24 @224 0.89x, 3->8 @48x192 0.92x,
   * 5x5/2 3->24 @128 0.89x, 3x3/2 16->32 @64 0.93x, 24->48 @56 0.93x, 3x3
   * 8->16 @64 0.92x; at 2 threads the 3->16 stem 0.82x, 16->16/2 @56 0.85x.
   * Longer ones with few blocks stay on the grid: at 2 threads a task gets
   * 2 of 4 blocks, and the grid path reads those in place where xpos must
   * pack (3x3 192->16 @28 1.37x at 2 threads) */
  const int64_t vl = pl->k->vl, grid = (pl->P + vl - 1) / vl, exact = (pl->OH * pl->OW + vl - 1) / vl;
  return exact * 20 <= grid * 19 || (pl->Mg + pl->k->mb - 1) / pl->k->mb >= 16 || pl->Cg * pl->ntaps <= 256;
}

/* Packed weights: msc_aligned_alloc0 (huge pages from 2 MiB: the big
 * layers stream their weights from memory in every run); aborts when out
 * of memory, like g_new0. Free with msc_aligned_free. */
float *msc_conv2d_weights_alloc(size_t n) {
  float *w = msc_aligned_alloc0(n * sizeof(float));
  if (!w)
    g_error("conv2d: cannot allocate %zu bytes of packed weights", n * sizeof(float));
  return w;
}

/* Does some tap read phase (py, px)? A strided 1x1 reads one of sh*sw:
 * the others are not written at all; the tiles' over-reads into them land
 * only on grid points that are dropped. */
static gboolean phase_used(const MscConv2dParams *p, int64_t py, int64_t px) {
  for (int64_t i = 0; i < p->kernel_h; i++)
    for (int64_t j = 0; j < p->kernel_w; j++)
      if ((i * p->dilation_h) % p->stride_h == py && (j * p->dilation_w) % p->stride_w == px)
        return TRUE;
  return FALSE;
}

/* Real columns [q0, q1) of column phase px: 0 <= q*sw + px - pad_left < W, q < Wq. */
static void phase_cols(const MscConv2dParams *p, int64_t Wq, int64_t px, int64_t *q0, int64_t *q1) {
  const int64_t sw = p->stride_w, W = p->in_w, l = p->pad_left;
  *q0 = l - px > 0 ? (l - px + sw - 1) / sw : 0;
  *q1 = (W - 1 + l - px) >= 0 ? (W - 1 + l - px) / sw + 1 : 0;
  if (*q1 > Wq)
    *q1 = Wq;
  if (*q1 < *q0)
    *q1 = *q0;
}

static void setup_dense(MscConv2dPlan *pl, const float *weights, const float *bias) {
  const MscConv2dParams *p = &pl->p;
  const MscConv2dKernels *k = pl->k;
  const int64_t G = p->groups, KH = p->kernel_h, KW = p->kernel_w, sh = p->stride_h, sw = p->stride_w;
  const int64_t hp = p->in_h + p->pad_top + p->pad_bottom, wp = p->in_w + p->pad_left + p->pad_right;
  pl->ntaps = (int) (KH * KW);
  pl->toff = g_new(int64_t, pl->ntaps);
  /* 1x1/s1/p0 reads x in place (when H*W is not a multiple of VL the
   * kernel loads the last partial vector masked, MscDenseArgs.x_exact) */
  pl->direct_input = KH == 1 && KW == 1 && sh == 1 && sw == 1 && p->pad_top == 0 && p->pad_left == 0 &&
                     p->pad_bottom == 0 && p->pad_right == 0;
  if (pl->direct_input) {
    pl->Hq = p->in_h;
    pl->Wq = p->in_w;
    pl->cstride = p->in_h * p->in_w;
    pl->toff[0] = 0;
  } else {
    pl->Hq = (hp + sh - 1) / sh;
    pl->Wq = (wp + sw - 1) / sw;
    for (int64_t wq = pl->OW; wq < pl->Wq; wq++) {
      if (grid_width_ok(p, pl->OW, wq)) {
        pl->Wq = wq;
        break;
      }
    }
    pl->phase_used = g_new(guint8, (gsize) sh * (gsize) sw);
    for (int64_t py = 0; py < sh; py++)
      for (int64_t px = 0; px < sw; px++)
        pl->phase_used[py * sw + px] = (guint8) phase_used(p, py, px);
    pl->phase_q = g_new(int64_t, 2 * (gsize) sw);
    for (int64_t px = 0; px < sw; px++)
      phase_cols(p, pl->Wq, px, &pl->phase_q[2 * px], &pl->phase_q[2 * px + 1]);
    /* +1 row: a read running off the last row lands in zeros. */
    const int64_t plane = (pl->Hq + 1) * pl->Wq;
    pl->cstride = (sh * sw * plane + 15) & ~(int64_t) 15;
    for (int64_t i = 0; i < KH; i++) {
      for (int64_t j = 0; j < KW; j++) {
        const int64_t py = (i * p->dilation_h) % sh, px = (j * p->dilation_w) % sw;
        pl->toff[i * KW + j] =
            (py * sw + px) * plane + ((i * p->dilation_h) / sh) * pl->Wq + (j * p->dilation_w) / sw;
      }
    }
    /* phase-split input + margin for the last tile's overrun */
    pl->ws_floats = (size_t) (p->batch * p->in_channels * pl->cstride) + (size_t) (k->rw * k->vl) + 64;
  }
  pl->P = pl->OH * pl->Wq;
  pl->algo = cvec_wanted(pl) ? ALGO_CVEC : ALGO_DENSE;
  pl->dense_xpos = pl->algo == ALGO_DENSE && xpos_wanted(pl);
  const int64_t tile_pts = (int64_t) k->rw * k->vl;
  pl->ntiles = ((pl->dense_xpos ? pl->OH * pl->OW : pl->P) + tile_pts - 1) / tile_pts;
  const char *fe = g_getenv("MSC_DENSE_FUSE"); /* 0: the epilogue always a pass of its own (A/B) */
  pl->dense_fuse = !(fe && *fe && atoi(fe) == 0);
  /* 1x1: the next tile's prefetch spread over the block calls when the
   * input is not L2-resident (half of L2 here: the weights and outputs
   * share it); an L2-resident input is better served by the pack's L1
   * prefetch. conv-bench --ab MSC_DENSE_SPREAD_PF=0 (AVX-512 Xeon, L2
   * 1.25 MB): 64..1024-channel inputs of 0.8-3.2 MB 1.04-1.10x faster
   * spread; 0.1-0.75 MB inputs (SqueezeNet's 1x1) 0.90-0.97x */
  const char *se = g_getenv("MSC_DENSE_SPREAD_PF"); /* 0: never, 2: whatever the size (A/B) */
  const int smode = se && *se ? atoi(se) : 1;
  const double in_bytes = (double) pl->Cg * (double) pl->cstride * sizeof(float);
  pl->dense_spread = smode == 2 || (smode == 1 && in_bytes >= l2_bytes() / 2);
  const char *ke = g_getenv("MSC_DENSE_PACK"); /* 0 never, 1 always, unset: by shape (A/B) */
  pl->dense_pack = ke && *ke ? (atoi(ke) != 0) : 2;
  /* weights [G][mblocks][Cg][ntaps][mb], mb = channels per block */
  const int64_t mb = pl->block_ch = pl->algo == ALGO_CVEC ? k->cv_cb : k->mb;
  pl->mblocks = (pl->Mg + mb - 1) / mb;
  const int64_t mbs = pl->mblocks * mb;
  pl->wpack = msc_conv2d_weights_alloc((size_t) (G * mbs * pl->Cg * pl->ntaps));
  pl->bias = g_new0(float, (size_t) (G * mbs));
  for (int64_t g = 0; g < G; g++) {
    for (int64_t m = 0; m < pl->Mg; m++) {
      const int64_t blk = m / mb, mi = m % mb;
      if (bias)
        pl->bias[g * mbs + m] = bias[g * pl->Mg + m];
      for (int64_t c = 0; c < pl->Cg; c++) {
        for (int t = 0; t < pl->ntaps; t++) {
          const float v = weights[((g * pl->Mg + m) * pl->Cg + c) * pl->ntaps + t];
          pl->wpack[(((g * pl->mblocks + blk) * pl->Cg + c) * pl->ntaps + t) * mb + mi] = v;
        }
      }
    }
  }
  /* channel-vectorized 1x1: the input packed per pixel block, after the
   * phase grid (MSC_CVEC_PANEL=0: read the grid in place, for A/B) */
  const char *pe = g_getenv("MSC_CVEC_PANEL");
  pl->cvec_panel = pl->algo == ALGO_CVEC && pl->ntaps == 1 && !(pe && *pe && atoi(pe) == 0);
  /* pixel blocks: the kernel's two widths, the one with fewer padding
   * pixels at stride 1 (7x7 = 49: 10 blocks of 5 = 50, not 9 of 6 = 54).
   * conv-bench, 5 alternated runs of two builds (AVX2: 5 against 6):
   * 3x3 128->32 @7 1.33x, 160->320 @7 1.06x, 512->512 @7 1.05x, 1x1
   * 512->2048 / 2048->512 @7 1.045-1.06x; where 5 computes more (4x4, 6x6)
   * 0.92-0.99x, and 3x3/2 512 @14 -> 7 0.95-0.96x, so strided convs keep 6 */
  const int64_t ohw = pl->OH * pl->OW, n1 = k->cv_np, n2 = k->cv_np2;
  pl->cv_np = (int) n1;
  if (pl->algo == ALGO_CVEC && n2 > 0 && p->stride_h == 1 && p->stride_w == 1 &&
      (ohw + n2 - 1) / n2 * n2 < (ohw + n1 - 1) / n1 * n1)
    pl->cv_np = (int) n2;
  if (pl->cvec_panel) {
    pl->npblocks = (ohw + pl->cv_np - 1) / pl->cv_np;
    pl->panel_off = (pl->ws_floats + 15) & ~(size_t) 15;
    pl->ws_floats = pl->panel_off + (size_t) (p->batch * G * pl->npblocks * pl->Cg * pl->cv_np);
  }
  if (pl->algo == ALGO_CVEC)
    g_snprintf(pl->desc, sizeof pl->desc, "direct-cvec-%dx%d%s %s", pl->cv_np, k->cv_cb,
               pl->cvec_panel ? "-panel" : "", msc_isa_name(k->isa));
  else
    g_snprintf(pl->desc, sizeof pl->desc, "direct-grid-%dx%d%s %s", k->mb, k->rw * k->vl,
               pl->dense_xpos ? "-xpos" : "", msc_isa_name(k->isa));
}

static void setup_depthwise(MscConv2dPlan *pl, const float *weights, const float *bias) {
  const MscConv2dParams *p = &pl->p;
  const MscConv2dKernels *k = pl->k;
  MscDwArgs *a = &pl->dw;
  a->H = p->in_h;
  a->W = p->in_w;
  a->OH = pl->OH;
  a->OW = pl->OW;
  a->kh = (int) p->kernel_h;
  a->kw = (int) p->kernel_w;
  a->sh = (int) p->stride_h;
  a->sw = (int) p->stride_w;
  a->dh = (int) p->dilation_h;
  a->dw = (int) p->dilation_w;
  a->pt = p->pad_top;
  a->pl = p->pad_left;
  const int64_t step = (int64_t) k->rwd * k->vl;
  const int64_t need = (pl->OW + step - 1) / step * step + (p->kernel_w - 1) * p->dilation_w / p->stride_w;
  const int64_t real = (p->in_w - 1 + p->pad_left) / p->stride_w + 1;
  a->Wqd = (MAX(need, real) + 1 + 15) & ~(int64_t) 15;
  /* the input rows of one output row (the dilated kernel height) */
  a->nring = (int) ((p->kernel_h - 1) * p->dilation_h + 1);
  for (int64_t px = 0; px < p->stride_w; px++) {
    /* real columns of this phase: 0 <= q*sw + px - pl < W */
    const int64_t sw = p->stride_w, l = p->pad_left, W = p->in_w;
    a->q0[px] = l - px > 0 ? (l - px + sw - 1) / sw : 0;
    a->q1[px] = W - 1 + l - px >= 0 ? (W - 1 + l - px) / sw + 1 : 0;
  }
  a->act = p->act;
  a->act_a = p->act_a;
  a->act_b = p->act_b;
  const int64_t C = p->in_channels, taps = p->kernel_h * p->kernel_w;
  pl->wdw = g_new(float, (size_t) (C * taps));
  memcpy(pl->wdw, weights, sizeof(float) * (size_t) (C * taps));
  pl->bias = g_new0(float, (size_t) C);
  if (bias)
    memcpy(pl->bias, bias, sizeof(float) * (size_t) C);
  /* one ring per (image, channel) task: tasks never share scratch */
  size_t per_task = (size_t) (a->nring * a->sw * a->Wqd);
  if (msc_dws_supported(a->kh, a->kw, a->sh, a->sw, a->dh, a->dw)) {
    int64_t i0, i1, dws_ws;
    msc_dws_layout(a->W, a->OW, a->pl, a->kh, k->vl, &i0, &i1, &dws_ws);
    per_task = MAX(per_task, (size_t) dws_ws);
  }
  if (msc_dws2_supported(a->kh, a->kw, a->sh, a->sw, a->dh, a->dw)) {
    int64_t i0, i1, dws_ws;
    msc_dws2_layout(a->W, a->OW, a->pl, a->kh, k->vl, &i0, &i1, &dws_ws);
    per_task = MAX(per_task, (size_t) dws_ws);
  }
  const char *fe = g_getenv("MSC_DW_FLAT"); /* 0: the row kernel on small planes too (A/B) */
  if (msc_dwf_supported(a->H, a->W, a->kh, a->kw, a->sh, a->sw, a->dh, a->dw, p->pad_top, p->pad_left,
                        p->pad_bottom, p->pad_right) &&
      !(fe && *fe && atoi(fe) == 0)) {
    const int64_t n = a->H * a->W, vl = k->vl;
    a->fnpad = (n + vl - 1) / vl * vl;
    pl->dwmask = g_new(uint32_t, (size_t) (2 * a->fnpad));
    for (int64_t o = 0; o < a->fnpad; o++) {
      const int64_t col = o % a->W;
      pl->dwmask[o] = col != 0 ? 0xFFFFFFFFu : 0u;
      pl->dwmask[a->fnpad + o] = col != a->W - 1 ? 0xFFFFFFFFu : 0u;
    }
    a->fmask = pl->dwmask;
    /* leading zeros (vl + W + 1), the plane, trailing zeros (fnpad - n + W + 1 + vl) */
    per_task = MAX(per_task, (size_t) (2 * vl + 2 * a->W + 2 + a->fnpad));
  }
  pl->dw_task_floats = per_task;
  pl->ws_floats = (size_t) (p->batch * C) * per_task;
  g_snprintf(pl->desc, sizeof pl->desc, "depthwise-%s %s", a->fmask ? "flat3" : "rows", msc_isa_name(k->isa));
}

MscConv2dPlan *msc_conv2d_plan_create(const MscConv2dParams *p, const float *weights, const float *bias, MscIsa isa,
                                      GError **error) {
  int64_t oh = 0, ow = 0;
  if (!p || !weights) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "conv2d plan: params and weights are required");
    return NULL;
  }
  if (!check_params(p, &oh, &ow, error))
    return NULL;
  const MscConv2dKernels *k = msc_conv2d_kernels_get(isa);
  if (!k) {
    msc_set_error(error, MSC_ERR_UNSUPPORTED, "conv2d plan: ISA '%s' not supported by this CPU or build",
                  msc_isa_name(isa));
    return NULL;
  }
  if ((unsigned) p->act > MSC_ACT_SIGMOID) {
    msc_set_error(error, MSC_ERR_INVALID_ARG, "conv2d plan: unknown activation %d", (int) p->act);
    return NULL;
  }
  MscConv2dPlan *pl = g_new0(MscConv2dPlan, 1);
  pl->p = *p;
  pl->k = k;
  pl->OH = oh;
  pl->OW = ow;
  pl->Cg = p->in_channels / p->groups;
  pl->Mg = p->out_channels / p->groups;
  if (pl->Cg == 1 && pl->Mg == 1 && p->kernel_h <= 32 && p->kernel_w <= 64 && p->stride_w <= MSC_DW_MAX_SW) {
    pl->algo = ALGO_DEPTHWISE;
    setup_depthwise(pl, weights, bias);
  } else if (msc_conv2d_winograd_wanted(p, oh, ow, k)) {
    msc_conv2d_winograd_setup(pl, weights, bias);
  } else {
    setup_dense(pl, weights, bias); /* sets algo: ALGO_DENSE or ALGO_CVEC */
  }
  return pl;
}

void msc_conv2d_plan_free(MscConv2dPlan *plan) {
  if (!plan)
    return;
  g_free(plan->toff);
  g_free(plan->phase_used);
  g_free(plan->phase_q);
  msc_aligned_free(plan->wpack);
  g_free(plan->bias);
  g_free(plan->wdw);
  g_free(plan->dwmask);
  msc_aligned_free(plan->wu);
  g_free(plan);
}

size_t msc_conv2d_plan_workspace_size(const MscConv2dPlan *plan) {
  return plan->ws_floats * sizeof(float);
}

void msc_conv2d_plan_output_shape(const MscConv2dPlan *plan, int64_t dims[4]) {
  dims[0] = plan->p.batch;
  dims[1] = plan->p.out_channels;
  dims[2] = plan->OH;
  dims[3] = plan->OW;
}

const char *msc_conv2d_plan_describe(const MscConv2dPlan *plan) {
  return plan->desc;
}

gboolean msc_conv2d_plan_set_input_shuffle(MscConv2dPlan *plan, int64_t groups) {
  if (!plan || plan->algo != ALGO_DEPTHWISE || groups < 1 || plan->p.in_channels % groups)
    return FALSE;
  plan->shuffle_g = groups > 1 ? groups : 0;
  return TRUE;
}

/* ---- run ---- */

typedef struct {
  const MscConv2dPlan *pl;
  const float *x, *res;
  float *y, *ws;
  int64_t tiles_per_task, ntile_tasks, mblocks_per_task, nm_tasks;
} RunCtx;

/* Prefetches input row ih + 2*sh of the plane at src (the row a phase
 * reads two rows on): with strides the rows skipped in between break the
 * hardware prefetcher's stream, and the copy waited on its loads ~90% of
 * its time. Small planes are not (MSC_PREFETCH_MIN_PLANE; pack_task 0.28 ->
 * 0.17 of the 3x64x64 stem kernel's samples without it). */
static inline void prefetch_row(const float *src, int64_t ih, int64_t sh, int64_t H, int64_t W) {
  if (ih + 2 * sh < H && H * W > MSC_PREFETCH_MIN_PLANE)
    for (int64_t off = 0; off < W; off += 16)
      __builtin_prefetch(src + (ih + 2 * sh) * W + off);
}

/* Pads and phase-splits one (image, channel) plane into the workspace. */
/* Zeroes grid row drow outside its real columns [q0, q1) of Wq (the
 * padding), or all of it when it holds no input row. Only the padding is
 * written: zeroing whole phase planes first doubled the stores of the
 * copy (pack_task was 15% of a pruned 0.07 ms net). */
static inline void zero_pad_cols(float *drow, int64_t q0, int64_t q1, int64_t Wq, gboolean real) {
  if (!real || q1 <= q0) {
    memset(drow, 0, sizeof(float) * (size_t) Wq);
    return;
  }
  for (int64_t q = 0; q < q0; q++)
    drow[q] = 0.0f;
  for (int64_t q = q1; q < Wq; q++)
    drow[q] = 0.0f;
}

static void pack_task(void *vctx, int64_t task, int thread) {
  const RunCtx *r = vctx;
  const MscConv2dPlan *pl = r->pl;
  const MscConv2dParams *p = &pl->p;
  const int64_t H = p->in_h, W = p->in_w, sh = p->stride_h, sw = p->stride_w, Wq = pl->Wq;
  const int64_t plane = (pl->Hq + 1) * Wq;
  const float *src = r->x + task * H * W;
  float *dst = r->ws + task * pl->cstride;
  /* the slack after the last phase: over-reads of the last tile */
  memset(dst + sh * sw * plane, 0, sizeof(float) * (size_t) (pl->cstride - sh * sw * plane));
  if (sh == 1 && sw == 1) { /* one phase: the vector row copy */
    pl->k->pack_s1(src, H, W, p->pad_top, p->pad_left, pl->phase_q[0], pl->phase_q[1], pl->Hq, Wq, dst);
    return;
  }
  for (int64_t py = 0; py < sh; py++) {
    for (int64_t px = 0; px < sw; px++) {
      if (!pl->phase_used[py * sw + px])
        continue;
      float *ph = dst + (py * sw + px) * plane;
      /* real columns of this phase: q with 0 <= q*sw + px - pl < W */
      const int64_t q0 = pl->phase_q[2 * px], q1 = pl->phase_q[2 * px + 1];
      memset(ph + pl->Hq * Wq, 0, sizeof(float) * (size_t) Wq); /* the row past the grid */
      if (sw == 2 && px == 0 && pl->phase_used[py * sw + 1]) {
        /* both column phases of stride 2 in one deinterleaving pass */
        float *ph1 = ph + plane;
        memset(ph1 + pl->Hq * Wq, 0, sizeof(float) * (size_t) Wq);
        const int64_t r0 = pl->phase_q[2], r1 = pl->phase_q[3];
        const int64_t qa = MAX(q0, r0), qb = MAX(qa, MIN(q1, r1));
        for (int64_t rq = 0; rq < pl->Hq; rq++) {
          const int64_t ih = rq * sh + py - p->pad_top;
          const gboolean real = ih >= 0 && ih < H;
          float *d0 = ph + rq * Wq, *d1 = ph1 + rq * Wq;
          zero_pad_cols(d0, q0, q1, Wq, real);
          zero_pad_cols(d1, r0, r1, Wq, real);
          if (!real)
            continue;
          const float *srow = src + ih * W; /* srow[2q + px - pad_left]: phase px, column q */
          const int64_t l = p->pad_left;
          prefetch_row(src, ih, sh, H, W);
          if (qb > qa)
            pl->k->deint2(srow + 2 * qa - l, qb - qa, d0 + qa, d1 + qa);
          /* the few edge columns outside [qa, qb) one by one */
          for (int64_t q = q0; q < MIN(q1, qa); q++)
            d0[q] = srow[2 * q - l];
          for (int64_t q = MAX(q0, qb); q < q1; q++)
            d0[q] = srow[2 * q - l];
          for (int64_t q = r0; q < MIN(r1, qa); q++)
            d1[q] = srow[2 * q + 1 - l];
          for (int64_t q = MAX(r0, qb); q < r1; q++)
            d1[q] = srow[2 * q + 1 - l];
        }
        px++;
        continue;
      }
      for (int64_t rq = 0; rq < pl->Hq; rq++) {
        const int64_t ih = rq * sh + py - p->pad_top;
        const gboolean real = ih >= 0 && ih < H;
        float *drow = ph + rq * Wq;
        zero_pad_cols(drow, q0, q1, Wq, real);
        if (!real || q1 <= q0)
          continue;
        const float *srow = src + ih * W;
        prefetch_row(src, ih, sh, H, W);
        if (sw == 1) {
          memcpy(drow + q0, srow + (q0 + px - p->pad_left), sizeof(float) * (size_t) (q1 - q0));
        } else if (sw == 2) { /* the other column phase unread (1x1/2): every other column */
          pl->k->pick2(srow + 2 * q0 + px - p->pad_left, q1 - q0, drow + q0);
        } else {
          for (int64_t q = q0; q < q1; q++)
            drow[q] = srow[q * sw + px - p->pad_left];
        }
      }
    }
  }
}

/* The kernel arguments of dense/cvec task @task: (image, group) x range
 * of grid tiles (cvec: of pixels) x range of channel blocks; lo, hi: the
 * tile or pixel range, m0, m1: the block range. */
static MscDenseArgs dense_args(const RunCtx *r, int64_t task, int64_t nlo, int64_t *lo, int64_t *hi, int64_t *m0,
                               int64_t *m1) {
  const MscConv2dPlan *pl = r->pl;
  const MscConv2dParams *p = &pl->p;
  const int64_t mt = task % r->nm_tasks;
  int64_t rest = task / r->nm_tasks;
  const int64_t tt = rest % r->ntile_tasks;
  rest /= r->ntile_tasks;
  const int64_t g = rest % p->groups, n = rest / p->groups;
  const int64_t mbs = pl->mblocks * pl->block_ch;
  const int64_t ohw = pl->OH * pl->OW;
  const float *xbase = pl->direct_input ? r->x : r->ws;
  *lo = tt * r->tiles_per_task;
  *hi = MIN(nlo, *lo + r->tiles_per_task);
  *m0 = mt * r->mblocks_per_task;
  *m1 = MIN(pl->mblocks, *m0 + r->mblocks_per_task);
  const MscDenseArgs a = {
      .x = xbase + (n * p->in_channels + g * pl->Cg) * pl->cstride,
      .cstride = pl->cstride,
      .C = pl->Cg,
      .toff = pl->toff,
      .ntaps = pl->ntaps,
      .w = pl->wpack + g * mbs * pl->Cg * pl->ntaps,
      .bias = pl->bias + g * mbs,
      .res = r->res ? r->res + (n * p->out_channels + g * pl->Mg) * ohw : NULL,
      .y = r->y + (n * p->out_channels + g * pl->Mg) * ohw,
      .M = pl->Mg,
      .P = pl->dense_xpos ? ohw : pl->P,
      .Wq = pl->dense_xpos ? pl->OW : pl->Wq,
      .gWq = pl->Wq,
      .xpos = pl->dense_xpos,
      .OW = pl->OW,
      .OHW = ohw,
      .act = p->act,
      .act_a = p->act_a,
      .act_b = p->act_b,
      .x_exact = pl->direct_input && pl->P % pl->k->vl != 0,
      .fuse = pl->dense_fuse,
      .spread_pf = pl->dense_spread,
      .pack = pl->dense_pack,
      .xpanel = pl->cvec_panel
                    ? r->ws + pl->panel_off + (size_t) ((n * p->groups + g) * pl->npblocks * pl->Cg * pl->cv_np)
                    : NULL,
      .cv_np = pl->cv_np,
  };
  return a;
}

static void dense_task(void *vctx, int64_t task, int thread) {
  const RunCtx *r = vctx;
  int64_t t0, t1, m0, m1;
  const MscDenseArgs a = dense_args(r, task, r->pl->ntiles, &t0, &t1, &m0, &m1);
  r->pl->k->dense(&a, t0, t1, m0, m1);
  (void) thread;
}

/* Channels per cvec_pack_task */
#define PANEL_CH 32

/* Packs channels [c0, c0 + PANEL_CH) of one (image, group) of the 1x1
 * channel-vectorized conv's input (the image, or its phase grid) into
 * [pixel block][Cg][cv_np]; pixels past the map read as 0 (computed,
 * never stored). Task = (image * groups + group) * chunks + chunk. */
static void cvec_pack_task(void *vctx, int64_t task, int thread) {
  const RunCtx *r = vctx;
  const MscConv2dPlan *pl = r->pl;
  const MscConv2dParams *p = &pl->p;
  const int64_t chunks = (pl->Cg + PANEL_CH - 1) / PANEL_CH;
  const int64_t ng = task / chunks, c0 = (task % chunks) * PANEL_CH, c1 = MIN(pl->Cg, c0 + PANEL_CH);
  const int64_t n = ng / p->groups, g = ng % p->groups, np = pl->cv_np, ohw = pl->OH * pl->OW;
  const float *xbase = (pl->direct_input ? r->x : r->ws) + (n * p->in_channels + g * pl->Cg) * pl->cstride;
  float *dst = r->ws + pl->panel_off + (size_t) (ng * pl->npblocks * pl->Cg * np);
  (void) thread;
  for (int64_t c = c0; c < c1; c++) {
    const float *src = xbase + c * pl->cstride;
    int64_t oh = 0, ow = 0;
    for (int64_t b = 0; b < pl->npblocks; b++) {
      float *d = dst + (b * pl->Cg + c) * np;
      for (int64_t i = 0; i < np; i++) {
        if (b * np + i >= ohw) {
          d[i] = 0.0f;
          continue;
        }
        d[i] = src[oh * pl->Wq + ow];
        if (++ow == pl->OW) {
          ow = 0;
          oh++;
        }
      }
    }
  }
}

/* tiles_per_task counts pixels here */
static void cvec_task(void *vctx, int64_t task, int thread) {
  const RunCtx *r = vctx;
  int64_t q0, q1, m0, m1;
  const MscDenseArgs a = dense_args(r, task, r->pl->OH * r->pl->OW, &q0, &q1, &m0, &m1);
  r->pl->k->cvec(&a, q0, q1, m0, m1);
  (void) thread;
}

static void dw_task(void *vctx, int64_t task, int thread) {
  const RunCtx *r = vctx;
  const MscConv2dPlan *pl = r->pl;
  const MscConv2dParams *p = &pl->p;
  const int64_t c = task % p->in_channels;
  const int64_t ihw = p->in_h * p->in_w, ohw = pl->OH * pl->OW;
  const size_t ring = pl->dw_task_floats;
  const int64_t cin = msc_conv2d_shuffle_src(c, p->in_channels, pl->shuffle_g); /* plane of this image */
  pl->k->depthwise(&pl->dw, r->x + (task - c + cin) * ihw, pl->wdw + c * p->kernel_h * p->kernel_w, pl->bias[c],
                   r->res ? r->res + task * ohw : NULL, r->y + task * ohw, r->ws + (size_t) task * ring);
}

/* Splits @units into at most @want tasks of *per units each; *n: the
 * tasks that result (the last may be shorter). */
static void split_tasks(int64_t units, int64_t want, int64_t *per, int64_t *n) {
  const int64_t tasks = MAX((int64_t) 1, MIN(units, want));
  *per = (units + tasks - 1) / tasks;
  *n = (units + *per - 1) / *per;
}

void msc_conv2d_plan_run(const MscConv2dPlan *plan, const float *x, const float *residual, float *y, void *workspace,
                         MscThreadPool *pool) {
  const MscConv2dParams *p = &plan->p;
  const int nthreads = msc_threadpool_size(pool);
  RunCtx r = {.pl = plan, .x = x, .res = residual, .y = y, .ws = workspace};
  if (plan->algo == ALGO_DEPTHWISE) {
    msc_threadpool_parallel_for(pool, p->batch * p->in_channels, dw_task, &r);
    return;
  }
  if (plan->algo == ALGO_WINOGRAD) {
    msc_conv2d_winograd_run(plan, x, residual, y, workspace, pool);
    return;
  }
  if (!plan->direct_input)
    msc_threadpool_parallel_for(pool, p->batch * p->in_channels, pack_task, &r);
  const int64_t outer = p->batch * p->groups;
  const int64_t want = nthreads > 1 ? 4 * (int64_t) nthreads : 1;
  if (plan->algo == ALGO_CVEC) {
    if (plan->cvec_panel)
      msc_threadpool_parallel_for(pool, outer * ((plan->Cg + PANEL_CH - 1) / PANEL_CH), cvec_pack_task, &r);
    /* channel blocks first (each task reads the whole small input from
     * L2); pixel ranges (multiples of the block) only when too few */
    split_tasks(plan->mblocks, (want + outer - 1) / outer, &r.mblocks_per_task, &r.nm_tasks);
    const int64_t ohw = plan->OH * plan->OW, np = plan->cv_np;
    int64_t blocks_per_task;
    split_tasks((ohw + np - 1) / np, (want + outer * r.nm_tasks - 1) / (outer * r.nm_tasks), &blocks_per_task,
                &r.ntile_tasks);
    r.tiles_per_task = blocks_per_task * np;
    msc_threadpool_parallel_for(pool, outer * r.ntile_tasks * r.nm_tasks, cvec_task, &r);
    return;
  }
  /* Split: every task sweeps all output-channel blocks of its grid tiles
   * (the input tile stays in L1/L2 while the weights stream from L2);
   * about 4 tasks per thread so uneven tails balance. With too few tiles
   * (small late layers) the channel blocks are split as well. */
  split_tasks(plan->ntiles, (want + outer - 1) / outer, &r.tiles_per_task, &r.ntile_tasks);
  split_tasks(plan->mblocks, (want + outer * r.ntile_tasks - 1) / (outer * r.ntile_tasks), &r.mblocks_per_task,
              &r.nm_tasks);
  msc_threadpool_parallel_for(pool, outer * r.ntile_tasks * r.nm_tasks, dense_task, &r);
}
