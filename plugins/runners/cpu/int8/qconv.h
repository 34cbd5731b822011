/* qconv.h: the `cpu` runner's int8 convolution (and 1x1-as-GEMM) plans.
 *
 * y[n, m, p] = requant(sum_k (x[n, c(k), p(k)] - zx) * (w[m, k] - zw[m]) + bias[m])
 * with int32 accumulation: the integer sum is exact (it is the integer
 * arithmetic a QDQ graph or QLinearConv/ConvInteger defines). Requantization
 * (ydt UINT8/INT8) computes, in float32,
 *   v = (float)(acc + bias) * mult[m] + fbias[m]
 * clamps v to [lo - zy, hi - zy], rounds half to even (cvtps2dq / nearbyintf
 * in the default rounding mode) and adds zy: the QuantizeLinear rounding on
 * acc * sx * sw[m] / sy, with mult rounded once to float (relative error
 * <= 2^-24) and the int32 -> float conversion exact below 2^24 (relative
 * error <= 2^-24 above): the result can differ from exact rational rounding
 * only when the value lies within ~1e-7 (relative) of a .5 boundary.
 * ydt INT32 stores the raw accumulators (ConvInteger).
 *
 * Kernels (one template, qkern.inc.h, per ISA file). Dense convs run
 * `direct`: the input is re-blocked once per run (KG channels interleaved
 * per padded position, split into stride phases), each tap then reads
 * consecutive positions, no im2col; gemm-shaped steps (1x1 on 1x1 images)
 * use panels of NR packed pixels (MSC_INT8_DIRECT=0 forces panels). Weights
 * are broadcast as 32-bit words of KG k-values, accumulators run over
 * output positions (NCHW rows are stored directly):
 *   KG=2: int16 pairs, vpmaddwd (exact for any int8/uint8 data, never saturates)
 *   KG=4: uint8 x int8 quads: vpdpbusd (VNNI, exact), or on AVX2 vpmaddubsw
 *         + vpmaddwd, used ONLY when every w - zw is in [-64, 63] (7-bit
 *         weights: the int16 pair sum cannot saturate), checked at plan time.
 * The scalar kernels are the same template on plain C arrays (CPU_QK_EMU4
 * runs the VNNI data layout in portable C, for tests). */
#ifndef MSC_CPU_QCONV_H
#define MSC_CPU_QCONV_H

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "msc-types.h"
#include "threadpool.h"

typedef enum {
  CPU_QK_SCALAR = 0, /* KG=2 on C arrays */
  CPU_QK_EMU4,       /* KG=4 (VNNI layout) on C arrays: tests only */
  CPU_QK_AVX2,       /* KG=2 vpmaddwd */
  CPU_QK_AVX2_U7,    /* KG=4 vpmaddubsw+vpmaddwd, 7-bit weights only */
  CPU_QK_AVXVNNI,    /* KG=4 vpdpbusd ymm (AVX-VNNI) */
  CPU_QK_AVX512,     /* KG=2 vpmaddwd zmm (AVX512BW) */
  CPU_QK_AVX512VNNI, /* KG=4 vpdpbusd zmm (AVX512-VNNI) */
  CPU_QK_N
} CpuQKernelId;

/* Residual add of two 8-bit tensors as the float simulation computes it (DQ(a) + DQ(b) [-> Relu] -> Q,
 * cpu_qvadd1 below): DQ (float)(v - vz[k]) * vs[k], the add, max 0, / vsy (or, when
 * @vdivfree, the two-FMA quotient checked equal to the division on all 65536 pairs), rounded half
 * to even, + vzy, saturated to @ydt. */
typedef struct {
  float vs[2], vsy, vinv;
  int32_t vz[2], vzy;
  int vrelu, vdivfree;
  int vnoclamp; /* no pair's quotient reaches +-2^19: the vector paths may skip the +-2^20 clamp */
  MscDType adt[2], ydt; /* input and output types (UINT8 / INT8) */
} CpuQVAdd;

/* DQ(a) + DQ(b) [-> Relu]: the float sum cpu_qvadd1 divides by vsy (the add never contracted
 * into an FMA: the asm barrier). */
static inline float cpu_qvadd_sum(const CpuQVAdd *s, int32_t a, int32_t b) {
  float fa = (float)(a - s->vz[0]) * s->vs[0], fb = (float)(b - s->vz[1]) * s->vs[1];
  __asm__("" : "+x"(fa), "+x"(fb));
  float f = fa + fb;
  if (s->vrelu) f = f > 0.0f ? f : 0.0f;
  return f;
}

/* f / d from inv = 1 / d without a division: q0 = f * inv, r = f - q0 * d (exact, FMA), q0 + r * inv
 * (FMA). Usually the correctly rounded quotient; callers check that it is for their inputs. */
static inline float cpu_qdivfree(float f, float d, float inv) {
  float q0 = f * inv;
  __asm__("" : "+x"(q0));
  float r = __builtin_fmaf(-q0, d, f);
  return __builtin_fmaf(r, inv, q0);
}

/* DQ(a) + DQ(b) [-> Relu] -> Q as the float kernels compute it: the sum above, / vsy rounded half
 * to even by the 1.5 * 2^23 trick after clamping to +-2^20, + zy, saturated. @a, @b: the bytes'
 * values. The reference the vector paths and the 64K table are checked against. */
static inline int32_t cpu_qvadd1(const CpuQVAdd *s, int32_t a, int32_t b) {
  float f = cpu_qvadd_sum(s, a, b);
  float v = f / s->vsy;
  v = v < -1048576.0f ? -1048576.0f : v;
  v = v > 1048576.0f ? 1048576.0f : v;
  __asm__("" : "+x"(v));
  v = (v + 12582912.0f) - 12582912.0f;
  v += (float)s->vzy;
  float lo = s->ydt == MSC_DTYPE_INT8 ? -128.0f : 0.0f, hi = s->ydt == MSC_DTYPE_INT8 ? 127.0f : 255.0f;
  v = v < lo ? lo : v > hi ? hi : v;
  return (int32_t)v;
}

/* y[i] = vadd(a[i], b[i]) for n bytes (@y may equal @a or @b): AVX2 + FMA when the CPU has them,
 * else plain C (the division kept: the same bytes). */
void cpu_qvadd_span(const CpuQVAdd *v, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n);

typedef struct {
  int64_t N, C, H, W, M, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, group;
  MscDType xdt; /* UINT8 or INT8 */
  int32_t zx;
  MscDType ydt; /* UINT8 / INT8 (requantized) or INT32 (raw accumulators) */
  int32_t zy, lo, hi; /* requant: zero point, clamp bounds (quantized values, activation folded in) */
  const uint8_t *post; /* nullable: 256-entry table applied to the requantized bytes (a fused
                        * elementwise int8 step); borrowed, must outlive the plan */
  const CpuQVAdd *vadd; /* nullable: residual add applied after @post, the conv's bytes as input
                         * @vside (0: a, 1: b), the other one read from the skip tensor given to
                         * cpu_qconv_run_add (same shape as y); borrowed, must outlive the plan */
  int vside;
} CpuQConvDesc;

/* Shape-independent weights (made once at compile time). */
typedef struct {
  int64_t M, Cg, kh, kw; /* [M, Cg, kh, kw] */
  int16_t *w;            /* w - zw[m], owned */
  int32_t *bias;         /* [M] integer bias in accumulator units, owned */
  float *fbias;          /* [M] float bias added after mult (0: bias fully integer), owned */
  float *mult;           /* [M] sx * sw[m] / sy (1 for INT32 output), owned */
  int32_t wmin, wmax;    /* range of w - zw */
} CpuQWeights;

typedef struct CpuQConv CpuQConv;

#pragma weak msc_threadpool_parallel_for
/* fn(ctx, t, thread) for t < @n: over @pool when there is one, the core's pool is linked (a weak symbol)
 * and there are 2+ tasks; else inline, in order, on the caller (thread 0). */
static inline void cpu_q_for(MscThreadPool *pool, int64_t n, MscParallelFn fn, void *ctx) {
  if (pool && msc_threadpool_parallel_for && n > 1) {
    msc_threadpool_parallel_for(pool, n, fn, ctx);
    return;
  }
  for (int64_t t = 0; t < n; t++) fn(ctx, t, 0);
}

/* An A/B switch: FALSE when the environment variable @name is set to "0", else TRUE. */
static inline gboolean cpu_q_switch_on(const char *name) {
  const char *v = g_getenv(name);
  return !(v && strcmp(v, "0") == 0);
}

/* Copies between a tile buffer of @n consecutive flat positions f = oh * PWs + ow (from @oh, @ow) and
 * an output plane of rows of @OW (the positions ow >= OW are skipped): @to_buf 0: @buf -> @plane,
 * 1: @plane -> @buf. */
static inline void cpu_qseg_bytes(uint8_t *d, const uint8_t *s, int64_t n) {
  for (; n >= 16; n -= 16, d += 16, s += 16) memcpy(d, s, 16);
  if (n >= 8) {
    uint64_t a, b;
    memcpy(&a, s, 8), memcpy(&b, s + n - 8, 8);
    memcpy(d, &a, 8), memcpy(d + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    memcpy(&a, s, 4), memcpy(&b, s + n - 4, 4);
    memcpy(d, &a, 4), memcpy(d + n - 4, &b, 4);
  } else {
    for (int64_t i = 0; i < n; i++) d[i] = s[i];
  }
}
static inline void cpu_qseg_copy(uint8_t *buf, uint8_t *plane, int64_t oh, int64_t ow, int64_t n, int64_t PWs,
                                 int64_t OW, int to_buf) {
  for (int64_t l = 0; l < n; ow = 0, oh++) {
    int64_t len = MIN(n - l, PWs - ow);
    if (ow < OW) {
      int64_t c = MIN(len, OW - ow);
      if (to_buf) cpu_qseg_bytes(buf + l, plane + oh * OW + ow, c);
      else cpu_qseg_bytes(plane + oh * OW + ow, buf + l, c);
    }
    l += len;
  }
}

/* Per-ISA kernel table (qkern.inc.h). */
typedef struct {
  int kg, esize, nr, vl, mr; /* mr: output channels per direct tile (weight block rows) */
  const char *name;
  /* packs output pixels p0..p0+np of image @x (channels c0.., pre-offset) into @xp */
  void (*pack)(const CpuQConv *q, const uint8_t *x, int64_t p0, int64_t np, void *xp);
  /* accumulates + requantizes rows m0..m1 of one panel into y (row stride ystride elements) */
  void (*panel)(const CpuQConv *q, const void *xp, const int32_t *wp, int64_t m0, int64_t m1, void *y, int64_t np);
  /* direct dense conv: channels m0..m1 x output positions [f0, f1) (tiles of nr) from the blocked
   * input @xin (cpu_qconv_run's transform) of one image and group into image output @y; @skip
   * (nullable; the image's at channel 0): the residual add's other input (desc.vadd), applied to
   * the requantized bytes (desc.post must be NULL then) */
  void (*direct)(const CpuQConv *q, const void *xin, int64_t f0, int64_t f1, int64_t m0, int64_t m1, void *y,
                 const uint8_t *skip);
  /* depthwise (Cg == 1): output channel @oc of one image from its input plane @x; @ws: ws_per_thread bytes */
  void (*dw)(const CpuQConv *q, const uint8_t *x, int64_t oc, uint8_t *y, void *ws);
} CpuQKernel;

struct CpuQConv {
  CpuQConvDesc d;
  const CpuQKernel *k;
  CpuQKernelId kid;
  int64_t OH, OW, P, Cg, Mg, K, Kg; /* K = Cg*kh*kw, Kg = ceil(K / kg) */
  int32_t xoff, xpad;               /* stored x = x + xoff; padding value (zx + xoff) */
  int depthwise;                    /* Cg == 1: direct kernel */
  int dwrows;                       /* depthwise through cpu_qdw_rows_avx2 (3x3 / 5x5, strides 1-2) */
  int dwskip;                       /* dwrows: kernel rows that read only padding skipped (MSC_INT8_DWSKIP=0: not) */
  int dwwide;                       /* dwrows 3x3, rows of 25+ columns: two rows x 32 columns per tile (MSC_INT8_DWWIDE=0: not) */
  int dwcol6;                       /* dwrows 3x3 stride 1, rows of 17+ columns: six rows x 8 columns per tile, each
                                     * input vector shared by the rows that use it (MSC_INT8_DWCOL6=0: not) */
  int dws2blk;                      /* dwrows, stride-2 columns: rows of 16+ bytes loaded 16 at a time from any
                                     * column, last block overlapping (MSC_INT8_DWS2BLK=0: scalar tail) */
  int dwmrow;                       /* dwrows: rows of <= 16 columns as tiles of 2-4 rows (MSC_INT8_DWMROW=0: not) */
  int dwspec;                       /* dwrows: channels with the common requantization (no float bias, uint8
                                     * out, fast clamp) run with those flags as constants (MSC_INT8_DWSPEC=0) */
  int dw512;                        /* dwrows on an AVX-512 int8 kernel: channels with stride-1 columns and rows of 17+
                                     * columns through cpu_qdw_channel_avx512 (MSC_INT8_DW512=0: the 256-bit ones) */
  int dwb3s2;                       /* dwrows 3x3 stride 2: vpmaddwd on the byte pairs of a zx-padded byte plane, no
                                     * float plane (MSC_INT8_DWB3S2=0: the float kernel) */
  int dwb512;                       /* dwb3s2 on an AVX-512 int8 kernel: 16 outputs per vector
                                     * (cpu_qdwb_channel_3s2_avx512; MSC_INT8_DWB512=0: the 256-bit one) */
  /* integer Winograd F(2x2, 3x3) (qwino-avx2.c): U weights [16][M/4][C/2][4] words, bias per channel,
   * tiles per row (and rounded to 8), tile rows, plane row stride / rows, tile rows per block, tiles
   * per block buffer */
  int wino;
  int32_t *wu, *wbias;
  int64_t wTW, wTWr, wTH, wRS, wPH, wR, wNTBp;
  int interior_1x1;                 /* 1x1, stride 1, no pad */
  int gemv;                         /* 1x1 conv on 1x1 images (Gemm rows, squeeze-excite): one dot product
                                     * per output channel (1: C, 2: AVX2) instead of NR-wide panels */
  int16_t *wg;                      /* gemv: [M][Kp] w - zw, zero-padded; owned (aligned) */
  int64_t Kp;                       /* gemv: K rounded up to 16 */
  int xs2;                          /* KG=2 re-blocking of stride-2 columns, both phases per row pass
                                     * (MSC_INT8_XS2=0: per phase, element by element) */
  int runs;                         /* direct, PWs != OW: 512-bit tiles across row ends stored as masked
                                     * runs of the tile's bytes (MSC_INT8_RUNS=0: row buffers) */
  int pack3;                        /* 512-bit tile rows narrowed by packs (MSC_INT8_PACK3=0: per vector, A/B) */
  int tfull;                        /* full 512-bit tiles in one output row stored from the registers
                                     * (MSC_INT8_TILE_REGS=0: through the stack copy, A/B) */
  int xs4s2;                        /* KG=4 re-blocking of stride-2 columns 32 positions at a time (AVX2;
                                     * MSC_INT8_XS4S2=0: the scalar loop, A/B) */
  int cpair;                        /* direct, KG=2, stride-2 columns: words of two kernel columns of one
                                     * channel (rows as int16, row phases only) when that takes fewer words
                                     * than channel pairs (MSC_INT8_CPAIR=0: channel pairs) */
  int im2w;                         /* direct, stems: one word plane per kg of the K = Cg kh kw products of an
                                     * output position, run as a 1x1 conv (MSC_INT8_IM2W=0: off) */
  int corrinit;                     /* direct: accumulators start at corr[m], none added in the epilogue
                                     * (MSC_INT8_CORRINIT=0: from 0, corr added per vector) */
  int splitrow;                     /* direct tiles across output row ends stored from one row-epilogue
                                     * buffer (MSC_INT8_SPLITROW=0: lane by lane, for A/B) */
  /* direct (dense, no im2col): input transformed once per run into xin[phase][Gc][PS][kg] (kg
   * consecutive channels of a padded position, split into sh*sw stride phases), wp[m][t][g] */
  int direct;
  int64_t T, Gc, PHs, PWs, PS, nph, nf; /* taps, channel groups, phase plane h/w, plane stride (dense: PHs*PWs
                                         * rounded up to 16 positions, so 1x1 tiles read whole 64-byte lines),
                                         * phases, positions */
  int64_t *toff;                        /* [T] position offset of tap t in xin; owned */
  size_t xin_elems;                     /* per image and group, incl. overrun slack */
  int32_t *wp;                      /* packed weights [M][Kg] words; owned (aligned) */
  int16_t *wd;                      /* depthwise: [M][kh*kw] */
  int32_t *corr;                    /* [M] bias - xpad * sum_k w'; owned */
  float *mult, *fbias;              /* [M]; owned */
  float flo, fhi;                   /* lo - zy, hi - zy */
  int qfast;                        /* every channel: |mult| < 1/4 and |fbias| < 2^29 (the byte clamp after
                                     * rounding equals the float clamp: q2_store_tile) */
  int qnofb;                        /* every fbias is 0 */
  int d6;                           /* direct: full tiles of 6 rows in one output row, 8-bit out and
                                     * accumulators from corr, go to the ISA file's DTILE_FAST6 (AVX2: a
                                     * hand-scheduled pair loop; MSC_INT8_D6=0: the generic tile) */
  int dshort;                       /* direct: a group's short last weight block computes only its rows (rounded up to 2
                                     * or 4; MSC_INT8_DSHORT=0: all MR rows) */
  int qspec;                        /* AVX2 and 512-bit tile epilogues: the common flag sets compiled as constants
                                     * (MSC_INT8_QSPEC=0: every flag read at run time) */
  size_t ws_per_thread;
};

/**
 * cpu_qweights_new:
 * @w: weights [M, Cg, kh, kw] of @wdt (INT8 or UINT8); @wzp: per-output
 * channel zero points (@n_wzp 1 or M; nullable = 0); @bias: nullable int32
 * [M]; @fbias: nullable float [M]; @mult: nullable [M] (NULL = 1).
 * Returns: (transfer full): the weights, free with cpu_qweights_free.
 */
CpuQWeights *cpu_qweights_new(int64_t M, int64_t Cg, int64_t kh, int64_t kw, MscDType wdt, const void *w,
                              const int32_t *wzp, int64_t n_wzp, const int32_t *bias, const float *fbias,
                              const float *mult);
void cpu_qweights_free(CpuQWeights *w);

/* The best kernel for @isa (an MscIsa level: 0 scalar, 1 avx2, 2 avx512)
 * that can run weights @w exactly on this CPU. MSC_INT8_KERNEL=<name> picks
 * another one (when exact and supported: else ignored). */
CpuQKernelId cpu_qkernel_pick(int isa, const CpuQWeights *w);
/* TRUE when @id runs on this CPU and exactly for weights @w. */
gboolean cpu_qkernel_usable(CpuQKernelId id, const CpuQWeights *w);
const char *cpu_qkernel_name(CpuQKernelId id);

/**
 * cpu_qconv_new:
 * Returns: (transfer full) (nullable): the plan for @d with weights @w
 * (borrowed for the call) on kernel @kid; NULL with @error set when the
 * geometry is invalid or @kid is not usable.
 */
CpuQConv *cpu_qconv_new(const CpuQConvDesc *d, const CpuQWeights *w, CpuQKernelId kid, GError **error);
void cpu_qconv_free(CpuQConv *q);
/* Workspace bytes for @n_threads threads. */
size_t cpu_qconv_workspace(const CpuQConv *q, int n_threads);
/* y = qconv(x); @ws: cpu_qconv_workspace bytes (64-byte aligned); @pool nullable. */
void cpu_qconv_run(const CpuQConv *q, const void *x, void *y, void *ws, MscThreadPool *pool);
/* As cpu_qconv_run, then y = vadd(y, @skip) (desc.vadd; @skip: as many bytes as y, not aliasing @x);
 * the direct kernel applies it per tile, on bytes still in cache. */
void cpu_qconv_run_add(const CpuQConv *q, const void *x, const uint8_t *skip, void *y, void *ws, MscThreadPool *pool);

/* Scalar requantization of one value (the reference for the kernels). */
static inline int32_t cpu_qrequant(int32_t acc, float mult, float fbias, float flo, float fhi, int32_t zy) {
  float v = (float)acc * mult + fbias;
  v = v < flo ? flo : v > fhi ? fhi : v;
  return (int32_t)__builtin_nearbyintf(v) + zy;
}

/* TRUE when the int8 helpers outside the kernel table (tables, residual adds, pools, Q/DQ) may take
 * their AVX2 paths: the CPU has AVX2 + FMA and MSC_ISA does not ask for scalar, sse2 or generic. */
gboolean cpu_q_avx2(void);
/* TRUE when the byte tables may take their AVX512-VBMI path: the CPU has AVX512F/BW/VBMI and MSC_ISA
 * does not ask for a lower ISA (scalar, sse2, generic, avx2). */
gboolean cpu_q_vbmi(void);

/* y[i] = t[x[i]] for a 256-entry table (@x may equal @y): AVX512-VBMI vpermi2b when cpu_q_vbmi(), AVX2
 * vpshufb rows when cpu_q_avx2(), else
 * plain C. */
void cpu_qlut(const uint8_t *t, const uint8_t *x, uint8_t *y, int64_t n);
/* y[r * stride + i] = t[y[r * stride + i]] in place for r < @rows, i < @n (the table set up once for all
 * rows: a conv's channels x one output row segment). */
void cpu_qlut_rows(const uint8_t *t, uint8_t *y, int64_t rows, int64_t stride, int64_t n);

/* Depthwise vector kernels: positions of overrun slack after the phase planes. */
#define CPU_QDW_SLACK 64

extern const CpuQKernel cpu_qkernel_scalar, cpu_qkernel_emu4;
#if defined(__x86_64__) || defined(__i386__)
extern const CpuQKernel cpu_qkernel_avx2, cpu_qkernel_avx2_u7, cpu_qkernel_avxvnni, cpu_qkernel_avx512,
    cpu_qkernel_avx512vnni;
/* The AVX2 depthwise kernel (vpmaddwd on tap pairs over stride-phase planes), shared by the 256-bit kernels. */
void cpu_qdw_avx2(const CpuQConv *q, const uint8_t *x, int64_t oc, uint8_t *y, void *ws);
void cpu_qlut_avx2(const uint8_t *t, const uint8_t *x, uint8_t *y, int64_t n);
/* The same through AVX512-VBMI vpermi2b (qlut-vbmi.c); call only when cpu_q_vbmi(). */
void cpu_qlut_vbmi(const uint8_t *t, const uint8_t *x, uint8_t *y, int64_t n);
void cpu_qlut_rows_vbmi(const uint8_t *t, uint8_t *y, int64_t rows, int64_t stride, int64_t n);
void cpu_qlut_rows_avx2(const uint8_t *t, uint8_t *y, int64_t rows, int64_t stride, int64_t n);
/* q->gemv: the M output bytes of one image from its K input bytes @x (requantized as the panel
 * kernels do, then q->d.post). */
void cpu_qgemv_avx2(const CpuQConv *q, const uint8_t *x, uint8_t *y);
void cpu_qvadd_avx2(const CpuQVAdd *v, const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n);
/* Row-wise depthwise (qdw-avx2.c): TRUE when @d fits it (3x3 or 5x5, dilation 1, strides 1-2, one
 * input channel per group, 8-bit output); its workspace bytes per thread; channels oc0..oc1 of one
 * image (@x, @y at channel 0). Exact: channels whose sums could pass 2^24 take cpu_qdw_avx2. */
gboolean cpu_qdw_rows_fits(const CpuQConvDesc *d);
size_t cpu_qdw_rows_ws(const CpuQConv *q);
void cpu_qdw_rows_avx2(const CpuQConv *q, const uint8_t *x, int64_t oc0, int64_t oc1, uint8_t *y, void *ws);
/* One channel of cpu_qdw_rows_avx2 at 512 bits (qdw-avx512.c): @pl the channel's float plane (row stride
 * @RS, stride-1 columns), @bias the exact integer start of every sum; the same bytes. AVX-512 only. */
void cpu_qdw_channel_avx512(const CpuQConv *q, const float *pl, int64_t RS, const int16_t *wt, float bias,
                            int64_t oc, uint8_t *y);
/* qdw-avx2.c's 3x3 stride-2 byte-pair channel at 512 bits (qdw-avx512.c; q->dwb512): the same bytes.
 * AVX-512 only. */
void cpu_qdwb_channel_3s2_avx512(const CpuQConv *q, const uint8_t *bp, int64_t BW, const int16_t *wt, int64_t oc,
                                 uint8_t *y);
/* The plane's interior as x - zx for stride-1 columns and rows of 16+ bytes, 16 at a time (the
 * 256-bit loader's layout). AVX-512 only. */
void cpu_qdw_load_plane_avx512(const CpuQConv *q, int64_t RS, const uint8_t *x, float *pl);
/* Integer Winograd F(2x2, 3x3) (qwino-avx2.c): TRUE when @d / @w fit it exactly (3x3, stride 1,
 * dilation 1, one group, 8-bit output, |4 * acc| < 2^31); setup fills q's wino fields (q->corr,
 * q->xpad set); workspace bytes for @n_threads; run as cpu_qconv_run. */
gboolean cpu_qwino_fits(const CpuQConvDesc *d, const CpuQWeights *w);
void cpu_qwino_setup(CpuQConv *q, const CpuQWeights *w);
size_t cpu_qwino_workspace(const CpuQConv *q, int n_threads);
void cpu_qwino_run(const CpuQConv *q, const uint8_t *x, uint8_t *y, void *ws, MscThreadPool *pool);
#endif

#endif
