/* f32-conv2d-direct.inc.h: the ONE body of the float32 conv kernels,
 * generic over vector width. Each ISA file defines, then includes this:
 *   ISA_SUFFIX          scalar | avx2 | avx512f
 *   MSC_ISA_ENUM        the MscIsa value
 *   VL, MB, RW, RWD     floats per vector; dense tile MB x RW vectors; depthwise step
 *   vec_t               vector type
 *   VZERO() VSET1(f) VLOAD(p) VSTORE(p,v) VBCAST(p) VFMA(a,b,c)=a*b+c
 *   VADD VMUL VMAX VMIN
 * Everything is static except the kernel table, so the same names can be
 * compiled once per ISA with that ISA's target flags. */
#include <math.h>
#include <string.h>

#include "conv2d-kernels.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define KTABLE CAT(msc_f32_conv2d_direct_kernels__, ISA_SUFFIX)

#if defined(__GNUC__) && !defined(__clang__)
#define UNROLL _Pragma("GCC unroll 16")
#elif defined(__clang__)
#define UNROLL _Pragma("unroll")
#else
#define UNROLL
#endif
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Fused activation on one vector. */
static ALWAYS_INLINE vec_t act_vec(vec_t v, MscActivation act, float a, float b) {
  switch (act) {
  case MSC_ACT_NONE:
    return v;
  case MSC_ACT_RELU:
    return VMAX(v, VZERO());
  case MSC_ACT_CLIP:
    return VMIN(VMAX(v, VSET1(a)), VSET1(b));
  case MSC_ACT_LEAKY_RELU: /* max(v,0) + a*min(v,0) holds for any a */
    return VFMA(VSET1(a), VMIN(v, VZERO()), VMAX(v, VZERO()));
  case MSC_ACT_HARD_SWISH:
    return VMUL(v, VMIN(VMAX(VFMA(v, VSET1(1.0f / 6.0f), VSET1(0.5f)), VZERO()), VSET1(1.0f)));
  case MSC_ACT_HARD_SIGMOID:
    return VMIN(VMAX(VFMA(v, VSET1(a), VSET1(b)), VZERO()), VSET1(1.0f));
  case MSC_ACT_SIGMOID: {
    float t[VL];
    VSTORE(t, v);
    for (int i = 0; i < VL; i++)
      t[i] = 1.0f / (1.0f + expf(-t[i]));
    return VLOAD(t);
  }
  }
  return v;
}

static inline float act_scalar(float v, MscActivation act, float a, float b) {
  switch (act) {
  case MSC_ACT_NONE:
    return v;
  case MSC_ACT_RELU:
    return v > 0.0f ? v : 0.0f;
  case MSC_ACT_CLIP:
    return fminf(fmaxf(v, a), b);
  case MSC_ACT_LEAKY_RELU:
    return v < 0.0f ? a * v : v;
  case MSC_ACT_HARD_SWISH:
    return v * fminf(fmaxf(v / 6.0f + 0.5f, 0.0f), 1.0f);
  case MSC_ACT_HARD_SIGMOID:
    return fminf(fmaxf(a * v + b, 0.0f), 1.0f);
  case MSC_ACT_SIGMOID:
    return 1.0f / (1.0f + expf(-v));
  }
  return v;
}

/* Stores one accumulator vector of output channel plane yp (grid point o):
 * the common case (all VL points in one output row) is one vector epilogue;
 * a vector straddling rows or dropped columns goes lane by lane. */
static ALWAYS_INLINE void dense_store(const MscDenseArgs *a, vec_t acc, float bias, float *yp, const float *rp, int64_t o) {
  const int64_t oh = o / a->Wq, ow = o - oh * a->Wq;
  if (ow + VL <= a->OW && o + VL <= a->P) {
    const int64_t off = oh * a->OW + ow;
    vec_t v = VADD(acc, VSET1(bias));
    if (rp)
      v = VADD(v, VLOAD(rp + off));
    VSTORE(yp + off, act_vec(v, a->act, a->act_a, a->act_b));
    return;
  }
  float t[VL];
  VSTORE(t, acc);
  for (int i = 0; i < VL; i++) {
    const int64_t g = o + i;
    if (g >= a->P)
      break;
    const int64_t h = g / a->Wq, w = g - h * a->Wq;
    if (w >= a->OW)
      continue;
    const int64_t off = h * a->OW + w;
    float v = t[i] + bias;
    if (rp)
      v += rp[off];
    yp[off] = act_scalar(v, a->act, a->act_a, a->act_b);
  }
}

/* The register-blocked micro-kernel: MB channels x rw vectors, reduction
 * over C x taps; rw is a compile-time constant after inlining. */
static ALWAYS_INLINE void dense_block(const MscDenseArgs *a, int64_t o0, int64_t mblk, const int rw, const int NT) {
  vec_t acc[MB][RW];
  UNROLL for (int m = 0; m < MB; m++) {
    UNROLL for (int r = 0; r < rw; r++) acc[m][r] = VZERO();
  }
  const float *wp = a->w + mblk * a->C * a->ntaps * MB;
  const float *xc = a->x + o0;
  const int ntaps = NT ? NT : a->ntaps; /* NT: taps known at compile time (1x1, 3x3) */
  const int64_t *toff = a->toff;
  for (int64_t c = 0; c < a->C; c++, xc += a->cstride) {
    /* the next tile's lines of this channel: C strided streams are too
     * many for the hardware prefetcher (1x1 layers read x in place) */
    __builtin_prefetch(xc + toff[0] + RW * VL * 2);
    UNROLL for (int t = 0; t < ntaps; t++, wp += MB) {
      const float *xp = NT == 1 ? xc : xc + toff[t];
      vec_t xv[RW];
      UNROLL for (int r = 0; r < rw; r++) xv[r] = VLOAD(xp + r * VL);
      UNROLL for (int m = 0; m < MB; m++) {
        const vec_t wv = VBCAST(wp + m);
        UNROLL for (int r = 0; r < rw; r++) acc[m][r] = VFMA(wv, xv[r], acc[m][r]);
      }
    }
  }
  const int64_t mcount = a->M - mblk * MB;
  /* constant trip count keeps acc[][] in registers (no dynamic index) */
  UNROLL for (int m = 0; m < MB; m++) {
    if (m >= mcount)
      break;
    const int64_t ch = mblk * MB + m;
    float *yp = a->y + ch * a->OHW;
    const float *rp = a->res ? a->res + ch * a->OHW : NULL;
    const float bias = a->bias[ch];
    UNROLL for (int r = 0; r < rw; r++) dense_store(a, acc[m][r], bias, yp, rp, o0 + r * VL);
  }
}

static ALWAYS_INLINE void dense_tiles(const MscDenseArgs *a, int64_t tile0, int64_t tile1, int64_t mb0, int64_t mb1,
                                       const int NT) {
  const int64_t tile_pts = (int64_t) RW * VL;
  for (int64_t tile = tile0; tile < tile1; tile++) {
    const int64_t o0 = tile * tile_pts;
    int64_t rw = (a->P - o0 + VL - 1) / VL;
    if (rw > RW)
      rw = RW;
    for (int64_t mb = mb0; mb < mb1; mb++) {
      switch (rw) {
#if RW >= 6
      case 6: dense_block(a, o0, mb, 6, NT); break;
      case 5: dense_block(a, o0, mb, 5, NT); break;
#endif
#if RW >= 4
      case 4: dense_block(a, o0, mb, 4, NT); break;
#endif
#if RW >= 3
      case 3: dense_block(a, o0, mb, 3, NT); break;
#endif
#if RW >= 2
      case 2: dense_block(a, o0, mb, 2, NT); break;
#endif
      default: dense_block(a, o0, mb, 1, NT); break;
      }
    }
  }
}

static void dense(const MscDenseArgs *a, int64_t tile0, int64_t tile1, int64_t mb0, int64_t mb1) {
  if (a->ntaps == 1 && a->toff[0] == 0)
    dense_tiles(a, tile0, tile1, mb0, mb1, 1);
  else if (a->ntaps == 9)
    dense_tiles(a, tile0, tile1, mb0, mb1, 9);
  else
    dense_tiles(a, tile0, tile1, mb0, mb1, 0);
}

/* Fills the real columns of ring row buffer for input row ih ([sw
 * phases][Wqd]); the pad columns were zeroed once per plane and are never
 * written, since every row of a plane has the same column layout. */
static void dw_build_row(const MscDwArgs *a, const float *x, int64_t ih, float *buf) {
  const int64_t sw = a->sw, W = a->W, pl = a->pl, Wqd = a->Wqd;
  const gboolean zero = ih < 0 || ih >= a->H;
  const float *row = x + (zero ? 0 : ih * W);
  for (int64_t px = 0; px < sw; px++) {
    float *b = buf + px * Wqd;
    /* real columns of this phase: 0 <= q*sw + px - pl < W */
    const int64_t q0 = pl - px > 0 ? (pl - px + sw - 1) / sw : 0;
    const int64_t q1 = W - 1 + pl - px >= 0 ? (W - 1 + pl - px) / sw + 1 : 0;
    int64_t q = q0;
    if (zero) {
      for (; q < q1; q++)
        b[q] = 0.0f;
    } else if (sw == 1) {
      const float *src = row + px - pl;
      for (; q + VL <= q1; q += VL)
        VSTORE(b + q, VLOAD(src + q));
      for (; q < q1; q++)
        b[q] = src[q];
    } else {
      const float *src = row + px - pl;
#ifdef VDEINT2_EVEN
      /* stride 2: even lanes of two vectors (src[2q] for VL q's) */
      if (sw == 2)
        for (; q + VL <= q1 && 2 * (q + VL) + px - pl <= W; q += VL)
          VSTORE(b + q, VDEINT2_EVEN(src + 2 * q));
#endif
      for (; q < q1; q++)
        b[q] = src[q * sw];
    }
  }
}

/* One output row: RWD vectors per step, taps unrolled when KH/KW are
 * compile-time constants (3x3, 5x5), generic otherwise (KH = KW = 0). */
static ALWAYS_INLINE void dw_row(const MscDwArgs *a, const float *const *rows, const int64_t *coff, const float *w,
                                 float bias, const float *rrow, float *yrow, const int KH, const int KW) {
  const int kh = KH ? KH : a->kh, kw = KW ? KW : a->kw;
  const MscActivation act = a->act;
  for (int64_t ow = 0; ow < a->OW; ow += (int64_t) RWD * VL) {
    vec_t acc[RWD];
    UNROLL for (int r = 0; r < RWD; r++) acc[r] = VSET1(bias);
    UNROLL for (int i = 0; i < kh; i++) {
      const float *rp = rows[i] + ow;
      UNROLL for (int j = 0; j < kw; j++) {
        const vec_t wv = VBCAST(w + i * kw + j);
        const float *p = rp + coff[j];
        UNROLL for (int r = 0; r < RWD; r++) acc[r] = VFMA(wv, VLOAD(p + r * VL), acc[r]);
      }
    }
    if (ow + (int64_t) RWD * VL <= a->OW) {
      UNROLL for (int r = 0; r < RWD; r++) {
        vec_t v = acc[r];
        if (rrow)
          v = VADD(v, VLOAD(rrow + ow + r * VL));
        VSTORE(yrow + ow + r * VL, act_vec(v, act, a->act_a, a->act_b));
      }
      continue;
    }
    UNROLL for (int r = 0; r < RWD; r++) {
      const int64_t o = ow + (int64_t) r * VL;
      if (o >= a->OW)
        break;
      if (o + VL <= a->OW) {
        vec_t v = acc[r];
        if (rrow)
          v = VADD(v, VLOAD(rrow + o));
        VSTORE(yrow + o, act_vec(v, act, a->act_a, a->act_b));
        continue;
      }
      float t[VL];
      VSTORE(t, acc[r]);
      const int64_t n = a->OW - o < VL ? a->OW - o : VL;
      for (int64_t i = 0; i < n; i++) {
        float v = t[i];
        if (rrow)
          v += rrow[o + i];
        yrow[o + i] = act_scalar(v, act, a->act_a, a->act_b);
      }
    }
  }
}

static void depthwise(const MscDwArgs *a, const float *x, const float *w, float bias, const float *res, float *y,
                      float *scratch) {
  const int kh = a->kh, kw = a->kw, dh = a->dh, dw = a->dw, sw = a->sw, nring = a->nring;
  const int64_t rowsz = (int64_t) sw * a->Wqd;
  int64_t built = -a->pt - 1; /* last input row already in the ring */
  int64_t coff[64]; /* per-tap column offsets into a row buffer */
  for (int j = 0; j < kw; j++)
    coff[j] = (int64_t) ((j * dw) % sw) * a->Wqd + (j * dw) / sw;
  int slot0 = 0; /* ring slot of input row (oh*sh - pt) */
  memset(scratch, 0, sizeof(float) * (size_t) (nring * rowsz));
  for (int64_t oh = 0; oh < a->OH; oh++) {
    const int64_t ih0 = oh * a->sh - a->pt;
    const int64_t ihl = ih0 + (int64_t) (kh - 1) * dh;
    slot0 = (int) ((ih0 + a->pt) % nring);
    for (int64_t ih = built + 1 > ih0 ? built + 1 : ih0; ih <= ihl; ih++)
      dw_build_row(a, x, ih, scratch + ((ih + a->pt) % nring) * rowsz);
    if (ihl > built)
      built = ihl;
    const float *rows[32];
    int slot = slot0;
    for (int i = 0; i < kh; i++) {
      rows[i] = scratch + slot * rowsz;
      slot += dh;
      while (slot >= nring)
        slot -= nring;
    }
    float *yrow = y + oh * a->OW;
    const float *rrow = res ? res + oh * a->OW : NULL;
    if (kh == 3 && kw == 3)
      dw_row(a, rows, coff, w, bias, rrow, yrow, 3, 3);
    else if (kh == 5 && kw == 5)
      dw_row(a, rows, coff, w, bias, rrow, yrow, 5, 5);
    else
      dw_row(a, rows, coff, w, bias, rrow, yrow, 0, 0);
  }
}

/* 12 independent FMA chains of vectors: enough to cover FMA latency x
 * throughput (4 x 2 on current x86 cores) with registers to spare. */
static double fma_loop(int64_t iters) {
  vec_t acc[12];
  UNROLL for (int i = 0; i < 12; i++) acc[i] = VSET1((float) i * 1e-3f);
  const vec_t m = VSET1(0.999999f), c = VSET1(1e-7f);
  for (int64_t it = 0; it < iters; it++) {
    UNROLL for (int i = 0; i < 12; i++) acc[i] = VFMA(acc[i], m, c);
#if defined(__x86_64__) || defined(__i386__)
    /* keeps the chains from being collapsed or hoisted */
    __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]), "+x"(acc[3]), "+x"(acc[4]), "+x"(acc[5]));
#endif
  }
  float t[VL], s = 0.0f;
  UNROLL for (int i = 0; i < 12; i++) {
    VSTORE(t, acc[i]);
    s += t[0];
  }
  volatile float sink = s;
  (void) sink;
  return (double) iters * 12.0 * VL * 2.0;
}

const MscConv2dKernels KTABLE = {
  .isa = MSC_ISA_ENUM,
  .vl = VL,
  .mb = MB,
  .rw = RW,
  .rwd = RWD,
  .dense = dense,
  .depthwise = depthwise,
  .fma_loop = fma_loop,
};
