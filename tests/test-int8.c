/* test-int8.c: int8 execution in the `cpu` runner.
 * - kernels: every int8 conv kernel this CPU runs (scalar, the VNNI layout
 *   emulated in C, AVX2, AVX2 7-bit, and AVX-VNNI / AVX-512 where present)
 *   equals a naive integer reference bit for bit: 3x3, 1x1, strided,
 *   padded, dilated, grouped, depthwise, per-channel scales and weight zero
 *   points, uint8 and int8 inputs, requantized and raw int32 outputs;
 * - models: the QDQ conformance models (../shared/conformance/quantized,
 *   skipped when absent) on `cpu` (int8 steps) against `ref` (the float
 *   simulation), every 8-bit tensor the int8 steps make compared with the
 *   float simulation's (fraction within one step printed; >= 0.90 asserted:
 *   the first layers agree 100%, deeper layers of these nets amplify
 *   one-step rounding differences), outputs against ref and ORT reported. */
#include <math.h>
#include <string.h>

#include <glib.h>

/* the kernels are compiled into this test directly (the plugin exports
 * only its descriptor); every ISA file scopes its own target */
#include "../plugins/runners/cpu/int8/qconv.c"
#include "../plugins/runners/cpu/int8/qkern-scalar.c"
#include "../plugins/runners/cpu/int8/qkern-avx2.c"
#include "../plugins/runners/cpu/int8/qkern-vnni.c"
#include "../plugins/runners/cpu/int8/qdw-avx2.c"
#include "../plugins/runners/cpu/int8/qwino-avx2.c"
#include "../plugins/runners/cpu/int8/qlut-vbmi.c"
#include "../plugins/runners/cpu/int8/qdw-avx512.c"

#include "../plugins/runners/cpu/cpu-stats.h"
#include "graph.h"
#include "graph-builder.h"
#include "onnx.h"
#include "ops.h"
#include "plugin.h"
#include "registry.h"
#include "session.h"
#include "tensor-io.h"

static uint32_t rng_state = 12345;
static uint32_t rnd(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  return rng_state >> 8;
}
static int32_t rnd_in(int32_t lo, int32_t hi) {
  return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

typedef struct {
  const char *name;
  int64_t N, C, H, W, M, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, group;
  MscDType xdt, ydt;
  int wzp;  /* nonzero weight zero points */
  int w7;   /* 7-bit weights */
  int relu; /* clamp at zy */
  int bigmult; /* every third channel's multiplier 1e6 (acc * mult past int32: the float clamp must come first) */
} ConvCase;

static const ConvCase cases[] = {
    {"3x3-pad1-u8", 1, 16, 9, 11, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 0},
    {"1x1-u8-relu", 2, 32, 7, 5, 20, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 1},
    {"3x3-s2-pad-asym-s8", 1, 8, 13, 10, 9, 3, 3, 2, 2, 1, 1, 0, 1, 2, 1, 1, MSC_DTYPE_INT8, MSC_DTYPE_INT8, 0, 0, 0},
    /* stride-2 rows of 32+ positions per column phase from 4-channel groups (the vector phase split; M-LSD's
     * 4-channel stem): an odd width with the odd phase first, and int8 input with an even width */
    {"3x3-s2-c4-wide-u8", 1, 4, 7, 135, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 1},
    {"3x3-s2-c8-wide-s8", 1, 8, 6, 130, 6, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 1, 0, 0},
    {"5x5-dil2-s8-wzp", 1, 5, 12, 12, 7, 5, 5, 1, 1, 2, 2, 2, 2, 2, 2, 1, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 1, 0, 0},
    {"grouped-3x3", 1, 12, 8, 8, 18, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 0, 0, 0},
    {"depthwise-3x3", 2, 16, 10, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 1},
    {"depthwise-5x5-s2-x2", 1, 6, 11, 11, 12, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 6, MSC_DTYPE_INT8, MSC_DTYPE_INT8, 1, 0, 0},
    {"1x1-int32-out", 1, 9, 4, 6, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, MSC_DTYPE_UINT8, MSC_DTYPE_INT32, 1, 0, 0},
    {"3x3-int32-s8", 1, 7, 6, 6, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_INT8, MSC_DTYPE_INT32, 0, 0, 0},
    {"3x3-w7", 1, 24, 9, 9, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 1, 0},
    {"1x1-w7-s8", 1, 64, 6, 6, 17, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 0, 1, 1},
    {"7x7-s2-rgb", 1, 3, 23, 21, 8, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 0},
    {"1x1-s2-s8", 1, 19, 11, 9, 21, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 0, 0, 0},
    {"3x3-wide-many-tiles", 2, 37, 17, 31, 29, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 1, 0, 1},
    {"3x3-s2-w7-s8-int32", 1, 20, 15, 14, 11, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1, 1, MSC_DTYPE_INT8, MSC_DTYPE_INT32, 0, 1, 0},
    {"3x2-s3x2-dil", 1, 6, 16, 13, 10, 3, 2, 3, 2, 2, 3, 2, 1, 0, 2, 1, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 0, 0, 0},
    {"depthwise-3x3-dil2-int32", 1, 8, 13, 19, 8, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 8, MSC_DTYPE_INT8, MSC_DTYPE_INT32, 1, 0, 0},
    {"depthwise-3x3-s2-wide", 1, 5, 22, 37, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 5, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 1},
    {"depthwise-3x3-s2-wide-s8", 1, 4, 9, 70, 8, 3, 3, 2, 2, 1, 1, 0, 1, 1, 0, 4, MSC_DTYPE_INT8, MSC_DTYPE_INT8, 1, 0, 0},
    /* the row-wise depthwise kernel (qdw-avx2.c): 3x3 / 5x5, strides (1|2, 1|2), odd and even pads,
     * widths below / at / past 8, 24, 32 and not multiples of 8, channel multiplier 2 */
    /* integer Winograd F(2x2, 3x3): odd sizes (partial tiles), asymmetric pads, odd C, M % 4 != 0,
     * rows of more than 16 tiles, int8 in/out, weight zero points, a 7-bit case (avx2-u7 plan) */
    {"wino-3x3-odd", 1, 17, 13, 11, 18, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 0},
    {"wino-3x3-wide-s8", 2, 16, 9, 45, 21, 3, 3, 1, 1, 1, 1, 0, 1, 2, 0, 1, MSC_DTYPE_INT8, MSC_DTYPE_INT8, 1, 0, 1},
    {"wino-3x3-nopad", 1, 20, 12, 40, 16, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 1, 0, 0},
    {"wino-3x3-w7", 1, 33, 10, 70, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 1, 1},
    {"dw-rows-3x3-w64", 1, 3, 7, 64, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 0},
    {"dw-rows-3x3-w8-s8", 2, 5, 8, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 1, 0, 1},
    {"dw-rows-3x3-w29-m2", 1, 4, 6, 29, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 1, 0, 0},
    {"dw-rows-3x3-s2-pad01", 1, 3, 9, 67, 3, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 3, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 1},
    {"dw-rows-3x3-s21", 1, 3, 12, 45, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 3, MSC_DTYPE_INT8, MSC_DTYPE_INT8, 0, 0, 0},
    {"dw-rows-3x3-s12-odd", 1, 2, 5, 50, 2, 3, 3, 1, 2, 1, 1, 1, 1, 1, 0, 2, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 1, 0, 0},
    {"dw-rows-5x5-w96", 1, 3, 3, 96, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 3, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 1},
    {"dw-rows-5x5-s21-w17", 1, 4, 7, 17, 4, 5, 5, 2, 1, 1, 1, 2, 2, 2, 2, 4, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 1, 0, 0},
    {"dw-rows-5x5-s2-w33", 1, 2, 9, 33, 2, 5, 5, 2, 2, 1, 1, 1, 2, 2, 1, 2, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 0},
    {"dw-rows-3x3-nopad-w24", 1, 2, 6, 26, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 2, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 0},
    /* kernel rows reading only padding skipped (PP-OCR's 5x5 on 2-row planes), incl. a 1-row plane */
    {"dw-rows-5x5-h2-w40", 1, 3, 2, 40, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 3, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 1, 0, 1},
    {"dw-rows-5x5-s2-h1", 1, 2, 1, 37, 2, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 2, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 0, 0, 0},
    /* short rows (OW <= 16) as tiles of 2 (9..16 columns) or 4 (<= 8) output rows: full and partial rows,
     * row counts not a multiple of the tile, stride 2 per axis, 5x5, channel multiplier 2 */
    {"dw-rows-3x3-w16-rows2", 1, 3, 15, 16, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 1},
    {"dw-rows-3x3-s2-w13-rows2", 1, 2, 18, 25, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, MSC_DTYPE_INT8, MSC_DTYPE_INT8, 1, 0, 0},
    {"dw-rows-5x5-w6-rows4", 1, 3, 11, 6, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 3, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 0, 0, 0},
    {"dw-rows-3x3-s12-w8-rows4", 1, 2, 9, 15, 4, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 2, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 1, 0, 1},
    /* 3x3 rows of 25+ columns: pairs of rows in 32-column tiles (OH even / odd, a partial last tile, the
     * columns past the tiles per row); also dw-rows-3x3-w64, -s2-pad01, -w29-m2, -s12-odd above */
    {"dw-rows-3x3-w70-wide", 1, 2, 6, 70, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 1, 0, 1},
    {"dw-rows-3x3-s2-w61-wide", 1, 3, 11, 61, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 0, 0, 0},
    {"dw-rows-5x5-s2-w8-rows4", 1, 2, 16, 16, 2, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 2, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 0, 0, 0},
    /* 3x3 stride 2 from the bytes on planes under 32 columns (rows copied without memcpy calls) and output
     * rows of 8 or fewer (one vector per row): BlazeFace's 16 x 16 -> 8 x 8 with TF pads (0, 0, 1, 1), 17 -> 9, 10 -> 5 */
    {"dw-rows-3x3-s2-w16-tf", 1, 6, 16, 16, 6, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 6, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 1},
    {"dw-rows-3x3-s2-w10-s8", 2, 3, 11, 10, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3, MSC_DTYPE_INT8, MSC_DTYPE_INT8, 1, 0, 0},
    {"dw-rows-3x3-s2-w17", 1, 4, 9, 17, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 4, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 0, 0, 1},
    /* gemv: 1x1 convs on 1x1 images (squeeze-excite, Gemm rows): K not a multiple of 16, M of 8, int8
     * in, weight zero points, Relu; and the 7-bit kernels' layout (xoff for int8 inputs) */
    {"gemv-1x1-on-1x1", 3, 203, 1, 1, 59, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 1, 0, 1},
    {"gemv-1x1-s8-small", 1, 7, 1, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, MSC_DTYPE_INT8, MSC_DTYPE_INT8, 0, 0, 0},
    {"gemv-1x1-w7-s8", 2, 40, 1, 1, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 0, 1, 0},
    /* stride-2 re-blocking of both column phases in one pass (KG=2): 3-channel stems (a lone channel in
     * the last pair), odd left pad, int8 input, widths past 16 with tails */
    {"stem-5x5-s2-c3-w45", 1, 3, 14, 45, 8, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 1},
    {"stem-3x3-s2-c3-s8-pl1", 1, 3, 9, 50, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_INT8, MSC_DTYPE_INT8, 1, 0, 0},
    /* column pairs (q->cpair: KG=2, stride-2 columns, words of two kernel columns of one channel): odd and
     * even pads and kernel widths (a zero sixth column), int8 input, row stride 1, narrow rows, int32 out */
    {"cpair-5x5-s2-c3-s8-w37", 1, 3, 11, 37, 9, 5, 5, 2, 2, 1, 1, 1, 2, 2, 1, 1, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 1, 0, 1},
    {"cpair-4x4-s2-c3-w20", 2, 3, 10, 20, 5, 4, 4, 2, 2, 1, 1, 1, 1, 2, 2, 1, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 0, 0, 0},
    {"cpair-3x5-s12-c3-int32", 1, 3, 8, 29, 6, 3, 5, 1, 2, 1, 1, 1, 2, 1, 2, 1, MSC_DTYPE_UINT8, MSC_DTYPE_INT32, 0, 0, 0},
    {"cpair-7x7-s2-c3-w11-s8", 1, 3, 9, 11, 4, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, MSC_DTYPE_INT8, MSC_DTYPE_INT8, 1, 0, 0},
    /* im2w (q->im2w: KG=2 words pairing the K products of an output position, run as a 1x1 conv): 3x3 over 3
     * channels at strides 1, 2 and 3 (the scalar rows), no pad, asymmetric and wide pads (vector reads across
     * row ends and the image's first and last bytes, set to the pad value after), dilation 2, one channel,
     * int8 in, weight zero points, int32 out, batch 2, rows wider than the vector steps and narrower */
    {"im2w-3x3-s2-c3-nopad-w45", 1, 3, 13, 45, 10, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 1},
    {"im2w-3x3-s1-c3-pad-s8-w40", 2, 3, 9, 40, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 1, 0, 0},
    {"im2w-3x3-s2-c3-tf-s8-i32", 1, 3, 16, 40, 6, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, MSC_DTYPE_INT8, MSC_DTYPE_INT32, 0, 0, 0},
    {"im2w-3x3-s3-c3-pl2", 1, 3, 17, 29, 9, 3, 3, 3, 3, 1, 1, 2, 2, 1, 0, 1, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 1, 0, 0},
    {"im2w-3x3-dil2-c3-w21", 1, 3, 12, 21, 5, 3, 3, 1, 2, 2, 2, 2, 2, 2, 2, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 1},
    {"im2w-3x3-s1-c1-w9", 2, 1, 7, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 1, 0, 1},
    /* KG=4 words (the 7-bit kernel; the VNNI layout in C everywhere): int8 in (+ 128), strides 2 and 1, and
     * BlazeFace's 5x5/2 stem (19 words against 25 at KG=4; at KG=2 the column pairs stay) */
    {"im2w-3x3-s2-c3-w7-s8-w50", 1, 3, 12, 50, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 1, 1, 0},
    {"im2w-3x3-s1-c3-w7-w35", 1, 3, 7, 35, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 0, 1, 1},
    {"im2w-5x5-s2-c3-w7-w41", 2, 3, 13, 41, 10, 5, 5, 2, 2, 1, 1, 1, 1, 2, 2, 1, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 0, 1, 0},
    /* rows of 32+ positions at KG=4 (the AVX2 loop of 32 positions, its border fix-up, the 8-wide loop
     * and the scalar tail after it) */
    {"im2w-5x5-s2-c3-s8-w139", 1, 3, 9, 139, 12, 5, 5, 2, 2, 1, 1, 1, 1, 2, 2, 1, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 0, 0, 0},
    {"im2w-3x3-s1-c3-w75", 2, 3, 5, 75, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 1, 0, 1},
    {"im2w-3x3-s2-c3-w7-narrow", 1, 3, 11, 7, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_INT8, MSC_DTYPE_INT8, 0, 0, 0},
    /* stride-2 depthwise rows loaded 16 columns at a time from any column (q->dws2blk): 16 columns (one
     * block), 33 (an overlapping last block, no left pad), 18 with 5x5 and channel multiplier 2 */
    {"dw-rows-3x3-s2-w16-blk", 1, 3, 16, 16, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 1},
    {"dw-rows-3x3-s2-w33-blk-s8", 1, 2, 7, 33, 2, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 2, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 1, 0, 0},
    {"dw-rows-5x5-s2-w18-blk-m2", 1, 2, 9, 18, 4, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 2, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 0, 0, 0},
    /* strides (1, 2) and (2, 2) on planes of six rows and more (the six-row tiles take stride 1 only) */
    {"dw-col6-3x3-s12-w40", 1, 3, 8, 40, 3, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 3, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 0, 0, 1},
    {"dw-col6-3x3-s2-w45-h26", 1, 2, 26, 45, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 1, 0, 0},
    /* requantization multipliers past 1/4 (the epilogues' float clamp before rounding), u8 and s8 out */
    {"bigmult-1x1-u8", 1, 20, 5, 9, 14, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 0, 1},
    {"bigmult-3x3-s8", 1, 16, 7, 18, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, 1, 0, 1, 1},
    /* the same on the row-wise depthwise kernels (wide rows, short rows, 5x5), u8 out */
    {"bigmult-dw-rows-3x3-w40", 1, 3, 8, 40, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 0, 1},
    {"bigmult-dw-rows-3x3-w12", 1, 4, 9, 12, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, MSC_DTYPE_INT8, MSC_DTYPE_UINT8, 0, 0, 1, 1},
    {"bigmult-dw-rows-5x5-s2", 1, 3, 10, 21, 3, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 3, MSC_DTYPE_UINT8, MSC_DTYPE_UINT8, 0, 0, 0, 1},
};

static int32_t xval(const uint8_t *x, int64_t i, MscDType dt) {
  return dt == MSC_DTYPE_INT8 ? (int32_t)(int8_t)x[i] : (int32_t)x[i];
}

/* A conv with a fused residual add (desc.vadd, cpu_qconv_run_add) equals the reference conv's bytes
 * followed by cpu_qvadd1 (the float simulation's operations, with the true division) element by
 * element: both sides of the add, Relu or not, the division or the checked two-FMA quotient, int8
 * and uint8 skip / output types; on the plan path the environment picked (direct, im2col, Winograd,
 * depthwise), threaded and not. */
static void check_vadd(const ConvCase *c, const CpuQConvDesc *d0, const CpuQWeights *qw, int kid, int path,
                       const uint8_t *x, const int64_t *ref, int64_t ny, MscThreadPool *pool) {
  uint8_t *skip = g_new(uint8_t, ny);
  for (int64_t i = 0; i < ny; i++) skip[i] = (uint8_t)rnd();
  for (int variant = 0; variant < 4; variant++) {
    CpuQVAdd va = {0};
    const int side = variant & 1, sdt8 = (variant >> 1) & 1;
    va.adt[side] = c->ydt;
    va.adt[!side] = sdt8 ? MSC_DTYPE_INT8 : MSC_DTYPE_UINT8;
    va.ydt = variant == 2 ? MSC_DTYPE_INT8 : MSC_DTYPE_UINT8;
    va.vs[0] = 0.0123f + 0.001f * (float)variant, va.vs[1] = 0.0371f;
    va.vz[0] = va.adt[0] == MSC_DTYPE_INT8 ? 3 : 121, va.vz[1] = va.adt[1] == MSC_DTYPE_INT8 ? -7 : 130;
    if (variant % 2 == 0) va.vz[side] = d0->zy; /* the conv output's own zero point (as in a QDQ graph) */
    va.vsy = variant == 3 ? 0.0417f : 0.0291f;
    va.vzy = va.ydt == MSC_DTYPE_INT8 ? -4 : 9;
    va.vrelu = variant != 1;
    va.vinv = 1.0f / va.vsy;
    int divfree = 1; /* the two-FMA quotient where it equals the division on all pairs (as qpass checks) */
    float qmax = 0.0f;
    for (int a = 0; a < 256 && divfree; a++)
      for (int b = 0; b < 256 && divfree; b++) {
        float f = cpu_qvadd_sum(&va, va.adt[0] == MSC_DTYPE_INT8 ? (int8_t)a : a, va.adt[1] == MSC_DTYPE_INT8 ? (int8_t)b : b);
        volatile float q = f / va.vsy;
        divfree = cpu_qdivfree(f, va.vsy, va.vinv) == q;
        qmax = MAX(qmax, fabsf(q));
      }
    for (int df = 0; df <= divfree; df++) {
      va.vdivfree = df;
      va.vnoclamp = df && qmax < 524288.0f; /* as qpass sets it (no quotient near the +-2^20 clamp) */
      CpuQConvDesc d = *d0;
      d.vadd = &va;
      d.vside = side;
      g_setenv("MSC_INT8_DIRECT", path == 1 ? "0" : "1", TRUE);
      g_setenv("MSC_INT8_WINO", path == 2 ? "1" : "0", TRUE);
      GError *e = NULL;
      CpuQConv *q = cpu_qconv_new(&d, qw, kid, &e);
      g_unsetenv("MSC_INT8_DIRECT");
      g_unsetenv("MSC_INT8_WINO");
      g_assert_no_error(e);
      for (int threaded = 0; threaded < 2; threaded++) {
        void *ws = msc_aligned_alloc0(MAX(cpu_qconv_workspace(q, 2), 1));
        uint8_t *y = g_malloc0((size_t)ny);
        cpu_qconv_run_add(q, x, skip, y, ws, threaded ? pool : NULL);
        int64_t bad = 0, first = -1;
        for (int64_t i = 0; i < ny; i++) {
          int32_t sv = va.adt[!side] == MSC_DTYPE_INT8 ? (int8_t)skip[i] : skip[i], cv = (int32_t)ref[i];
          int32_t want = cpu_qvadd1(&va, side ? sv : cv, side ? cv : sv);
          int32_t got = va.ydt == MSC_DTYPE_INT8 ? (int8_t)y[i] : y[i];
          if (got != want && bad++ == 0) first = i;
        }
        if (bad)
          g_test_message("%s kernel %s (%s) + residual add (variant %d, divfree %d, noclamp %d): %" G_GINT64_FORMAT
                         " of %" G_GINT64_FORMAT " differ, first at %" G_GINT64_FORMAT,
                         c->name, cpu_qkernel_name(kid), q->wino ? "winograd" : q->direct ? "direct" : "other", variant,
                         df, va.vnoclamp, bad, ny, first);
        g_assert_cmpint(bad, ==, 0);
        g_free(y);
        msc_aligned_free(ws);
      }
      cpu_qconv_free(q);
    }
  }
  g_free(skip);
}

static void check_case(gconstpointer data) {
  const ConvCase *c = data;
  g_test_summary("int8 conv kernels equal the naive integer reference bit for bit");
  rng_state = 777u + (uint32_t)c->C * 31u + (uint32_t)c->M;
  int64_t Cg = c->C / c->group, Mg = c->M / c->group, K = Cg * c->kh * c->kw;
  int64_t OH = (c->H + c->pt + c->pb - ((c->kh - 1) * c->dh + 1)) / c->sh + 1;
  int64_t OW = (c->W + c->pl + c->pr - ((c->kw - 1) * c->dw + 1)) / c->sw + 1;
  int64_t nx = c->N * c->C * c->H * c->W, ny = c->N * c->M * OH * OW;
  uint8_t *x = g_new(uint8_t, nx);
  int8_t *w = g_new(int8_t, c->M * K);
  int32_t *wzp = g_new0(int32_t, c->M), *bias = g_new(int32_t, c->M);
  float *mult = g_new(float, c->M), *fb = g_new0(float, c->M);
  /* a float bias (added after mult: QDQ graphs whose bias is not an int32 DequantizeLinear) on every
   * other channel, in half the 8-bit cases (depthwise ones, whose C + M is even: those of odd height);
   * the others keep the all-zero fast epilogue */
  const int dwcase = c->group > 1 && c->group == c->C;
  const int with_fb = c->ydt != MSC_DTYPE_INT32 && ((c->C + c->M) % 2 == 1 || (dwcase && c->H % 2 == 1));
  for (int64_t i = 0; i < nx; i++) x[i] = (uint8_t)rnd();
  for (int64_t i = 0; i < c->M * K; i++) w[i] = (int8_t)(c->w7 ? rnd_in(-64, 63) : rnd_in(-128, 127));
  for (int64_t m = 0; m < c->M; m++) {
    if (c->wzp) wzp[m] = rnd_in(-20, 20);
    if (c->w7) wzp[m] = 0;
    bias[m] = rnd_in(-5000, 5000);
    mult[m] = c->ydt == MSC_DTYPE_INT32 ? 1.0f : (float)(0.5 + (rnd() % 1000) / 1000.0) / (float)(K * 64);
    if (c->bigmult && m % 3 == 0) mult[m] = 1e6f;
    if (with_fb && m % 2) fb[m] = (float)rnd_in(-3000, 3000) / 256.0f;
  }
  int32_t zx = c->xdt == MSC_DTYPE_INT8 ? rnd_in(-20, 20) : rnd_in(100, 140);
  int32_t lo = c->ydt == MSC_DTYPE_INT8 ? -128 : 0, hi = c->ydt == MSC_DTYPE_INT8 ? 127 : 255;
  int32_t zy = c->ydt == MSC_DTYPE_INT8 ? rnd_in(-10, 10) : rnd_in(110, 130);
  if (c->relu) lo = zy;
  /* the reference: integers straight from the definition */
  int64_t *ref = g_new(int64_t, ny);
  for (int64_t n = 0; n < c->N; n++)
    for (int64_t m = 0; m < c->M; m++) {
      int64_t g = m / Mg;
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          int64_t acc = bias[m];
          for (int64_t ci = 0; ci < Cg; ci++)
            for (int64_t i = 0; i < c->kh; i++)
              for (int64_t j = 0; j < c->kw; j++) {
                int64_t ih = oh * c->sh - c->pt + i * c->dh, iw = ow * c->sw - c->pl + j * c->dw;
                if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) continue;
                int32_t xv = xval(x, ((n * c->C + g * Cg + ci) * c->H + ih) * c->W + iw, c->xdt);
                int32_t wv = w[(m * Cg + ci) * c->kh * c->kw + i * c->kw + j];
                acc += (int64_t)(xv - zx) * (wv - wzp[m]);
              }
          int64_t at = ((n * c->M + m) * OH + oh) * OW + ow;
          ref[at] = c->ydt == MSC_DTYPE_INT32 ? acc : cpu_qrequant((int32_t)acc, mult[m], fb[m], (float)(lo - zy), (float)(hi - zy), zy);
        }
    }
  CpuQWeights *qw = cpu_qweights_new(c->M, Cg, c->kh, c->kw, MSC_DTYPE_INT8, w, wzp, c->M, bias, with_fb ? fb : NULL, mult);
  CpuQConvDesc d = {c->N, c->C, c->H, c->W, c->M, c->kh, c->kw, c->sh, c->sw, c->dh, c->dw, c->pt, c->pl, c->pb,
                    c->pr, c->group, c->xdt, zx, c->ydt, zy, lo, hi};
  size_t es = c->ydt == MSC_DTYPE_INT32 ? 4 : 1;
  int ran = 0;
  MscThreadPool *pool = msc_threadpool_new(2);
  /* every kernel, on the three dense paths: direct (blocked input), im2col panels and the integer
   * Winograd F(2x2, 3x3) (where it fits) */
  for (int kp = 0; kp < 3 * CPU_QK_N; kp++) {
    int kid = kp / 3, path = kp % 3;
    g_setenv("MSC_INT8_DIRECT", path == 1 ? "0" : "1", TRUE);
    g_setenv("MSC_INT8_WINO", path == 2 ? "1" : "0", TRUE);
    if (!cpu_qkernel_usable(kid, qw)) {
      if (path) continue;
      if (g_test_verbose()) g_test_message("%s: kernel %s not usable here", c->name, cpu_qkernel_name(kid));
      continue;
    }
    GError *e = NULL;
    CpuQConv *q = cpu_qconv_new(&d, qw, kid, &e);
    g_unsetenv("MSC_INT8_DIRECT");
    g_unsetenv("MSC_INT8_WINO");
    g_assert_no_error(e);
    g_assert_nonnull(q);
    if (path == 2 && !q->wino) { /* Winograd does not take this case: the other paths covered it */
      cpu_qconv_free(q);
      continue;
    }
    for (int threaded = 0; threaded < 2; threaded++) {
      void *ws = msc_aligned_alloc0(MAX(cpu_qconv_workspace(q, 2), 1)); /* exact size: overruns show under ASan */
      uint8_t *y = g_malloc0((size_t)ny * es + 1);
      cpu_qconv_run(q, x, y, ws, threaded ? pool : NULL);
      int64_t bad = 0, first = -1;
      for (int64_t i = 0; i < ny; i++) {
        int64_t got = c->ydt == MSC_DTYPE_INT32 ? ((int32_t *)(void *)y)[i]
                      : c->ydt == MSC_DTYPE_INT8 ? (int8_t)y[i] : y[i];
        if (got != ref[i] && bad++ == 0) first = i;
      }
      if (bad)
        g_test_message("%s kernel %s (%s): %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " differ, first at %" G_GINT64_FORMAT,
                       c->name, cpu_qkernel_name(kid), q->wino ? "winograd" : q->direct ? "direct" : q->depthwise ? "depthwise" : "im2col", bad,
                       ny, first);
      g_assert_cmpint(bad, ==, 0);
      g_free(y);
      msc_aligned_free(ws);
    }
    cpu_qconv_free(q);
    if (c->ydt != MSC_DTYPE_INT32) check_vadd(c, &d, qw, kid, path, x, ref, ny, pool);
    ran++;
  }
  g_unsetenv("MSC_INT8_DIRECT");
  g_unsetenv("MSC_INT8_WINO");
  g_assert_cmpint(ran, >=, 1);
  msc_threadpool_free(pool);
  cpu_qweights_free(qw);
  g_free(x), g_free(w), g_free(wzp), g_free(bias), g_free(mult), g_free(fb), g_free(ref);
}

/* The fifth pass's paths are taken where meant (so the cpair-* / *-blk cases above run them) and
 * their switches turn them off. */
static void test_paths_taken(void) {
  g_test_summary("column pairs for 3-channel 5x5/2 stems at KG=2, im2w words for 3x3/2 and at KG=4; switches MSC_INT8_CPAIR / DWS2BLK / CORRINIT / IM2W");
  int8_t w[24 * 3 * 25];
  for (int i = 0; i < (int)sizeof w; i++) w[i] = (int8_t)rnd_in(-128, 127);
  for (int k = 0; k < 2; k++) {
    if (k)
      g_setenv("MSC_INT8_CPAIR", "0", TRUE), g_setenv("MSC_INT8_DWS2BLK", "0", TRUE), g_setenv("MSC_INT8_CORRINIT", "0", TRUE),
          g_setenv("MSC_INT8_IM2W", "0", TRUE);
    CpuQWeights *w5 = cpu_qweights_new(24, 3, 5, 5, MSC_DTYPE_INT8, w, NULL, 0, NULL, NULL, NULL);
    CpuQWeights *w3 = cpu_qweights_new(24, 3, 3, 3, MSC_DTYPE_INT8, w, NULL, 0, NULL, NULL, NULL);
    CpuQWeights *wd = cpu_qweights_new(24, 1, 3, 3, MSC_DTYPE_INT8, w, NULL, 0, NULL, NULL, NULL);
    CpuQConvDesc d5 = {1, 3, 128, 128, 24, 5, 5, 2, 2, 1, 1, 1, 1, 2, 2, 1, MSC_DTYPE_UINT8, 0, MSC_DTYPE_UINT8, 0, 0, 255};
    CpuQConvDesc d3 = d5, dd = {1, 24, 64, 64, 24, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 24, MSC_DTYPE_UINT8, 0, MSC_DTYPE_UINT8, 0, 0, 255};
    d3.kh = d3.kw = 3;
    GError *e = NULL;
    CpuQConv *q5 = cpu_qconv_new(&d5, w5, CPU_QK_SCALAR, &e);
    g_assert_no_error(e);
    CpuQConv *q3 = cpu_qconv_new(&d3, w3, CPU_QK_SCALAR, &e);
    g_assert_no_error(e);
    g_assert_cmpint(q5->direct, ==, 1);
    g_assert_cmpint(q5->cpair, ==, !k);
    g_assert_cmpint(q5->corrinit, ==, !k);
    g_assert_cmpint(q5->T * q5->Gc, ==, k ? 50 : 45);
    g_assert_cmpint(q3->cpair, ==, 0); /* 18 words either way: channel pairs kept */
    g_assert_cmpint(q5->im2w, ==, 0);  /* 38 words against 45: not enough fewer for planes of 4 bytes per position */
    g_assert_cmpint(q3->im2w, ==, !k); /* 14 words against 18 */
    g_assert_cmpint(q3->T * q3->Gc, ==, k ? 18 : 14);
    CpuQConv *q5e = cpu_qconv_new(&d5, w5, CPU_QK_EMU4, &e); /* KG=4: 19 words of 4 products against 25 taps */
    g_assert_no_error(e);
    g_assert_cmpint(q5e->im2w, ==, !k);
    g_assert_cmpint(q5e->T * q5e->Gc, ==, k ? 25 : 19);
    cpu_qconv_free(q5e);
#if defined(__x86_64__) || defined(__i386__)
    if (cpu_qkernel_usable(CPU_QK_AVX2, wd)) {
      CpuQConv *qd = cpu_qconv_new(&dd, wd, CPU_QK_AVX2, &e);
      g_assert_no_error(e);
      g_assert_cmpint(qd->dwrows, ==, 1);
      g_assert_cmpint(qd->dws2blk, ==, !k);
      cpu_qconv_free(qd);
    }
#endif
    cpu_qconv_free(q5), cpu_qconv_free(q3);
    cpu_qweights_free(w5), cpu_qweights_free(w3), cpu_qweights_free(wd);
  }
  g_unsetenv("MSC_INT8_CPAIR"), g_unsetenv("MSC_INT8_DWS2BLK"), g_unsetenv("MSC_INT8_CORRINIT"), g_unsetenv("MSC_INT8_IM2W");
}

/* The kernel choice never takes a saturating path. */
static void test_pick(void) {
  g_test_summary("vpmaddubsw only for 7-bit weights; VNNI only for int8-range weights");
  g_unsetenv("MSC_INT8_KERNEL"); /* the default choice (an override would change it) */
  int8_t w[8] = {-128, 127, 5, -3, 0, 1, 2, 3};
  int32_t zp = 0;
  CpuQWeights *full = cpu_qweights_new(1, 8, 1, 1, MSC_DTYPE_INT8, w, &zp, 1, NULL, NULL, NULL);
  g_assert_false(cpu_qkernel_usable(CPU_QK_AVX2_U7, full));
  g_assert_true(cpu_qkernel_usable(CPU_QK_SCALAR, full));
  g_assert_true(cpu_qkernel_usable(CPU_QK_EMU4, full));
  w[0] = -64, w[1] = 63;
  CpuQWeights *w7 = cpu_qweights_new(1, 8, 1, 1, MSC_DTYPE_INT8, w, &zp, 1, NULL, NULL, NULL);
  g_assert_cmpint(w7->wmin, ==, -64);
  g_assert_cmpint(w7->wmax, ==, 63);
  zp = -100; /* w - zw reaches 163: no 8-bit layout */
  CpuQWeights *wide = cpu_qweights_new(1, 8, 1, 1, MSC_DTYPE_INT8, w, &zp, 1, NULL, NULL, NULL);
  g_assert_false(cpu_qkernel_usable(CPU_QK_EMU4, wide));
  g_assert_false(cpu_qkernel_usable(CPU_QK_AVXVNNI, wide));
  g_assert_false(cpu_qkernel_usable(CPU_QK_AVX512VNNI, wide));
  CpuQKernelId k = cpu_qkernel_pick(2, wide);
  g_assert_true(k == CPU_QK_SCALAR || k == CPU_QK_AVX2 || k == CPU_QK_AVX512);
  g_assert_cmpint(cpu_qkernel_pick(0, full), ==, CPU_QK_SCALAR);
  /* AVX2 level: 7-bit weights take vpmaddubsw automatically (or VNNI); full-range weights never */
  if (cpu_qkernel_usable(CPU_QK_AVX2, full)) {
    CpuQKernelId k7 = cpu_qkernel_pick(1, w7);
    g_assert_true(k7 == CPU_QK_AVX2_U7 || k7 == CPU_QK_AVXVNNI);
    g_assert_cmpint(cpu_qkernel_pick(1, full), !=, CPU_QK_AVX2_U7);
  }
  cpu_qweights_free(full), cpu_qweights_free(w7), cpu_qweights_free(wide);
}

/* ---------------------------------------------------------------------- */
/* models: cpu (int8) against ref (float simulation) and ONNX Runtime      */

static gboolean have_runners;

/* The key of an 8-bit tensor: the op node whose output a QuantizeLinear reads. */
static const char *q_key(const MscNode *qn) {
  const MscNode *p = qn->inputs[0] ? qn->inputs[0]->producer : NULL;
  if (p && (!strcmp(p->op_type, "Relu") || !strcmp(p->op_type, "Clip")) && p->inputs[0] && p->inputs[0]->producer)
    p = p->inputs[0]->producer;
  return p ? p->name : qn->name;
}

typedef struct {
  GHashTable *t; /* key -> MscTensor copy */
  int is_ref;
} Trace;

static int trace_hook(void *user, MscHookPhase ph, const MscNode *n, const MscTensor *const *in, uint32_t ni,
                      const MscTensor *const *out, uint32_t no, double ms) {
  Trace *tr = user;
  if (ph != MSC_HOOK_AFTER || no < 1 || !out[0]) return 0;
  const char *key = NULL;
  if (tr->is_ref && !strcmp(n->op_type, "QuantizeLinear")) key = q_key(n);
  else if (!tr->is_ref && (out[0]->dtype == MSC_DTYPE_UINT8 || out[0]->dtype == MSC_DTYPE_INT8) &&
           strcmp(n->op_type, "QuantizeLinear"))
    key = n->name;
  if (!key || (out[0]->dtype != MSC_DTYPE_UINT8 && out[0]->dtype != MSC_DTYPE_INT8)) return 0;
  MscTensor *c = msc_tensor_new(out[0]->dtype, out[0]->rank, out[0]->dims, NULL);
  memcpy(c->data, out[0]->data, out[0]->nbytes);
  g_hash_table_replace(tr->t, g_strdup(key), c);
  return 0;
}

/* @g on @runner with the options @keys = @vals, one session run @reps times (a pool's workers are awake
 * from the second run on; @tr: nullable, the trace hook on every run): the last run's outputs. */
static MscTensor **run_model_reps(MscGraph *g, const char *runner, const char *const *keys, const char *const *vals,
                                  uint32_t n_opts, MscTensor *in, Trace *tr, int reps) {
  MscOptions o = {keys, vals, n_opts};
  GError *e = NULL;
  MscSession *s = msc_session_new(g, runner, &o, &e);
  g_assert_no_error(e);
  MscTensor **out = NULL;
  MscRunHooks h = {trace_hook, tr};
  for (int r = 0; r < reps; r++) {
    if (out) {
      for (uint32_t k = 0; k < g->n_outputs; k++) msc_tensor_free(out[k]);
      g_free(out);
      out = NULL;
    }
    gboolean ok = msc_session_run(s, (const MscTensor *const *)&in, 1, &out, tr ? &h : NULL, &e);
    g_assert_no_error(e);
    g_assert_true(ok);
  }
  msc_session_free(s);
  return out;
}

/* One run of @g (one input) on @runner with options @keys/@vals, traced into @tr when given; its outputs. */
static MscTensor **run_model_opts(MscGraph *g, const char *runner, const char *const *keys, const char *const *vals,
                                  uint32_t n_opts, MscTensor *in, Trace *tr) {
  return run_model_reps(g, runner, keys, vals, n_opts, in, tr, 1);
}

/* run_model_opts with the option int8=@int8 when given. */
static MscTensor **run_model(MscGraph *g, const char *runner, const char *int8, MscTensor *in, Trace *tr) {
  const char *keys[1] = {"int8"}, *vals[1] = {int8};
  return run_model_opts(g, runner, keys, vals, int8 ? 1 : 0, in, tr);
}

/* Fraction of elements within @tol and cosine similarity. */
static void compare(const MscTensor *a, const MscTensor *b, double tol, double *frac, double *cosine) {
  int64_t n = msc_tensor_numel(a), ok = 0;
  g_assert_cmpint(n, ==, msc_tensor_numel(b));
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < n; i++) {
    double x, y;
    if (a->dtype == MSC_DTYPE_FLOAT32) x = ((const float *)a->data)[i], y = ((const float *)b->data)[i];
    else if (a->dtype == MSC_DTYPE_INT8) x = ((const int8_t *)a->data)[i], y = ((const int8_t *)b->data)[i];
    else x = ((const uint8_t *)a->data)[i], y = ((const uint8_t *)b->data)[i];
    ok += fabs(x - y) <= tol * (1 + 1e-6);
    ab += x * y, aa += x * x, bb += y * y;
  }
  *frac = n ? (double)ok / (double)n : 1.0;
  *cosine = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

static double out_step(const MscGraph *g) {
  const MscNode *d = g->outputs[0]->producer;
  if (d && !strcmp(d->op_type, "DequantizeLinear") && d->inputs[1] && d->inputs[1]->value)
    return *(const float *)d->inputs[1]->value->data;
  return 1.0 / 255.0;
}

static void test_corpus_model(gconstpointer data) {
  const char *name = data;
  g_test_summary("a QDQ model from ../shared/conformance/quantized on cpu (int8) vs ref (float simulation) and "
                 "ONNX Runtime's stored outputs: intermediate 8-bit tensors within one step, outputs close");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  const char *shared = g_getenv("MSC_SHARED_DIR");
  g_autofree char *dir = g_build_filename(shared ? shared : "../shared", "conformance", "quantized", name, NULL);
  g_autofree char *model = g_build_filename(dir, "model.onnx", NULL);
  if (!g_file_test(model, G_FILE_TEST_EXISTS)) {
    g_test_skip("../shared/conformance/quantized is absent");
    return;
  }
  GError *e = NULL;
  MscGraph *g = msc_onnx_load_file(model, &e);
  g_assert_no_error(e);
  g_assert_true(msc_graph_verify(g, &e));
  double step = out_step(g);
  int64_t inter_n = 0, inter_ok = 0, inter_exact = 0;
  for (int set = 0; set < 8; set++) {
    g_autofree char *ip = g_strdup_printf("%s/test_data_set_%d/input_0.pb", dir, set);
    g_autofree char *op = g_strdup_printf("%s/test_data_set_%d/output_0.pb", dir, set);
    if (!g_file_test(ip, G_FILE_TEST_EXISTS)) break;
    MscTensor *in = msc_tensor_load_pb(ip, &e);
    g_assert_no_error(e);
    MscTensor *ort = msc_tensor_load_pb(op, &e);
    g_assert_no_error(e);
    Trace tref = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)msc_tensor_free), 1};
    Trace tcpu = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)msc_tensor_free), 0};
    MscTensor **r = run_model(g, "ref", NULL, in, &tref);
    MscTensor **c = run_model(g, "cpu", NULL, in, &tcpu);
    MscTensor **f = run_model(g, "cpu", "false", in, NULL);
    /* every 8-bit tensor the int8 steps made, against the float simulation's */
    GHashTableIter it;
    gpointer k, v;
    int64_t tensors = 0;
    g_hash_table_iter_init(&it, tcpu.t);
    while (g_hash_table_iter_next(&it, &k, &v)) {
      const MscTensor *rt = g_hash_table_lookup(tref.t, k), *ct = v;
      if (!rt || rt->nbytes != ct->nbytes) continue;
      tensors++;
      int64_t t_ok = 0;
      for (int64_t i = 0; i < msc_tensor_numel(ct); i++) {
        int32_t a0 = ct->dtype == MSC_DTYPE_INT8 ? ((int8_t *)ct->data)[i] : ((uint8_t *)ct->data)[i];
        int32_t b0 = rt->dtype == MSC_DTYPE_INT8 ? ((int8_t *)rt->data)[i] : ((uint8_t *)rt->data)[i];
        t_ok += abs(a0 - b0) <= 1;
      }
      if (g_getenv("INT8_TRACE")) g_test_message("  %s: %.5f", (const char *)k, (double)t_ok / (double)msc_tensor_numel(ct));
      for (int64_t i = 0; i < msc_tensor_numel(ct); i++) {
        int32_t a = ct->dtype == MSC_DTYPE_INT8 ? ((int8_t *)ct->data)[i] : ((uint8_t *)ct->data)[i];
        int32_t b = rt->dtype == MSC_DTYPE_INT8 ? ((int8_t *)rt->data)[i] : ((uint8_t *)rt->data)[i];
        inter_n++, inter_ok += abs(a - b) <= 1, inter_exact += a == b;
      }
    }
    g_assert_cmpint(tensors, >=, 10);
    double fr, cr, fo, co, ff, cf, fro, cro;
    compare(c[0], r[0], step, &fr, &cr);
    compare(c[0], ort, step, &fo, &co);
    compare(f[0], r[0], 1e-5, &ff, &cf);
    compare(r[0], ort, step, &fro, &cro);
    g_test_message("%s set %d: %" G_GINT64_FORMAT " int8 tensors; output within 1 step (%.5f): cpu-int8 vs ref %.4f "
                   "(cos %.5f), cpu-int8 vs ORT %.4f (cos %.5f), ref vs ORT %.4f (cos %.5f), cpu int8=false vs "
                   "ref %.4f",
                   name, set, tensors, step, fr, cr, fo, co, fro, cro, ff);
    (void)ff;
    msc_tensor_free(r[0]), msc_tensor_free(c[0]), msc_tensor_free(f[0]);
    g_free(r), g_free(c), g_free(f);
    g_hash_table_destroy(tref.t), g_hash_table_destroy(tcpu.t);
    msc_tensor_free(in), msc_tensor_free(ort);
  }
  double frac = inter_n ? (double)inter_ok / (double)inter_n : 0;
  g_test_message("%s: intermediate 8-bit elements cpu-int8 vs ref: %.5f within 1 step, %.5f exact (%" G_GINT64_FORMAT
                 " elements)",
                 name, frac, inter_n ? (double)inter_exact / (double)inter_n : 0, inter_n);
  g_assert_cmpint(inter_n, >, 0);
  /* deep layers of these random/real nets amplify one-step differences (ORT int vs ORT float differ
   * far more at the outputs); the first layers agree exactly within one step */
  g_assert_cmpfloat(frac, >=, 0.90);
  msc_graph_free(g);
}

/* Table fusion (qpass.c fuse_tables) folds chains of 8-bit table steps
 * (PP-OCR's hardswish: Add -> Clip -> Div -> Mul(x, .)) into one table:
 * the outputs must equal the unfused run's bit for bit, with fewer steps. */
static void test_table_fusion(void) {
  g_test_summary("int8 table fusion: PP-OCR cls QDQ runs in fewer steps with outputs identical to MSC_INT8_FUSE=0");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  const char *shared = g_getenv("MSC_SHARED_DIR");
  g_autofree char *dir =
      g_build_filename(shared ? shared : "../shared", "conformance", "quantized", "ppocr_cls_mobile_v2_qdq", NULL);
  g_autofree char *model = g_build_filename(dir, "model.onnx", NULL);
  g_autofree char *ip = g_build_filename(dir, "test_data_set_0", "input_0.pb", NULL);
  if (!g_file_test(model, G_FILE_TEST_EXISTS) || !g_file_test(ip, G_FILE_TEST_EXISTS)) {
    g_test_skip("../shared/conformance/quantized is absent");
    return;
  }
  MscCpuStatsFn stats = (MscCpuStatsFn)msc_registry_get("msc.runner.cpu.stats", MSC_REG_FUNCTION, TRUE, NULL);
  g_assert_nonnull(stats);
  GError *e = NULL;
  MscGraph *g = msc_onnx_load_file(model, &e);
  g_assert_no_error(e);
  g_assert_true(msc_graph_verify(g, &e));
  MscTensor *in = msc_tensor_load_pb(ip, &e);
  g_assert_no_error(e);
  uint32_t steps[2], fused[2];
  MscTensor **out[2];
  for (int k = 0; k < 2; k++) {
    if (k == 1) g_setenv("MSC_INT8_FUSE", "0", TRUE);
    out[k] = run_model(g, "cpu", NULL, in, NULL);
    MscCpuStats st = {.struct_size = sizeof st};
    stats(&st);
    steps[k] = st.n_steps, fused[k] = st.n_int8_fused_tables;
    g_unsetenv("MSC_INT8_FUSE");
  }
  g_test_message("PP-OCR cls QDQ: %u steps with %u tables fused, %u steps unfused", steps[0], fused[0], steps[1]);
  g_assert_cmpuint(fused[0], >, 0);
  g_assert_cmpuint(fused[1], ==, 0);
  g_assert_cmpuint(steps[0], <, steps[1]);
  g_assert_cmpuint(out[0][0]->nbytes, ==, out[1][0]->nbytes);
  g_assert_cmpint(memcmp(out[0][0]->data, out[1][0]->data, out[0][0]->nbytes), ==, 0);
  for (int k = 0; k < 2; k++) {
    msc_tensor_free(out[k][0]);
    g_free(out[k]);
  }
  msc_tensor_free(in);
  msc_graph_free(g);
}


/* ---------------------------------------------------------------------- */
/* fusions on a built QDQ graph: cpu (int8) equals ref (the float          */
/* simulation of the unfused graph) byte for byte, and the float nodes     */
/* between the quantized tensors never run                                 */


static void gconst_f(MscGraph *g, const char *name, float v) {
  MscTensor *t = msc_tensor_new(MSC_DTYPE_FLOAT32, 0, NULL, NULL);
  *(float *)t->data = v;
  msc_graph_add_initializer(g, name, t);
}

static void gconst_u8(MscGraph *g, const char *name, uint8_t v) {
  MscTensor *t = msc_tensor_new(MSC_DTYPE_UINT8, 0, NULL, NULL);
  *(uint8_t *)t->data = v;
  msc_graph_add_initializer(g, name, t);
}

/* Q then DQ of @x with scale/zero point @p ("p_s", "p_z"): value "@x_q" (8-bit) and "@x_dq". */
static void qdq(MscGraph *g, const char *x, const char *p, float s, uint8_t z) {
  g_autofree char *sn = g_strdup_printf("%s_s", p), *zn = g_strdup_printf("%s_z", p);
  if (!msc_graph_find_value(g, sn) || !msc_graph_find_value(g, sn)->value) gconst_f(g, sn, s), gconst_u8(g, zn, z);
  g_autofree char *qi = g_strdup_printf("%s,%s,%s", x, sn, zn), *qo = g_strdup_printf("%s_q", x);
  g_autofree char *di = g_strdup_printf("%s_q,%s,%s", x, sn, zn), *dn = g_strdup_printf("%s_dq", x);
  g_autofree char *qn = g_strdup_printf("Q_%s", x), *dqn = g_strdup_printf("DQ_%s", x);
  node(g, qn, "QuantizeLinear", qi, qo);
  node(g, dqn, "DequantizeLinear", di, dn);
}

/* A graph @name (opset 13) with one float32 input "x" of dims @xd[4]. */
static MscGraph *qgraph_new(const char *name, const int64_t xd[4]) {
  MscGraph *g = msc_graph_new(name);
  msc_graph_set_opset(g, "", 13);
  MscValue *x = val(g, "x");
  x->dtype = MSC_DTYPE_FLOAT32;
  x->rank = 4;
  memcpy(x->dims, xd, 4 * sizeof xd[0]);
  msc_graph_add_input(g, x);
  return g;
}

/* Adds the outputs named in the NULL-terminated @outs, verifies @g (asserting), returns it. */
static MscGraph *qgraph_done(MscGraph *g, const char *const *outs) {
  for (; *outs; outs++) msc_graph_add_output(g, val(g, *outs));
  GError *e = NULL;
  msc_graph_verify(g, &e);
  g_assert_no_error(e);
  return g;
}

/* x -> QDQ -> hardswish as Add/Clip/Mul/Div (h) -> QDQ -> y2;
 * GAP(h) -> QDQ -> HardSigmoid -> Mul(h, .) -> QDQ -> Pad(value 0.5) -> QDQ -> y */
static MscGraph *region_graph(int64_t S) {
  const int64_t xd[] = {1, 8, S, S};
  MscGraph *g = qgraph_new("int8-regions", xd);
  gconst_f(g, "three", 3.0f), gconst_f(g, "zero", 0.0f), gconst_f(g, "six", 6.0f), gconst_f(g, "half", 0.5f);
  MscTensor *pads = msc_tensor_new(MSC_DTYPE_INT64, 1, (int64_t[]){8}, NULL);
  const int64_t pv[8] = {0, 0, 1, 2, 0, 0, 2, 1};
  memcpy(pads->data, pv, sizeof pv);
  msc_graph_add_initializer(g, "pads", pads);
  qdq(g, "x", "px", 8.0f / 255.0f, 128);
  node(g, "add3", "Add", "x_dq,three", "a3");
  node(g, "clip", "Clip", "a3,zero,six", "c6");
  node(g, "mulx", "Mul", "x_dq,c6", "m6");
  node(g, "div6", "Div", "m6,six", "h");
  qdq(g, "h", "ph", 4.5f / 255.0f, 21);
  node(g, "out2", "Identity", "h_dq", "y2");
  node(g, "gap", "GlobalAveragePool", "h", "gp");
  qdq(g, "gp", "pg", 2.0f / 255.0f, 30);
  node(g, "hsig", "HardSigmoid", "gp_dq", "hs");
  node(g, "se", "Mul", "h,hs", "se");
  qdq(g, "se", "pse", 3.0f / 255.0f, 25);
  MscNode *pad = node(g, "pad", "Pad", "se_dq,pads,half", "pd");
  (void)pad;
  qdq(g, "pd", "ppd", 2.5f / 255.0f, 31); /* requantized: the pad maps its rows through a table */
  node(g, "out", "Identity", "pd_dq", "y");
  /* BlazeFace's shortcut: Relu(Add(DQ(h), Concat(DQ(x2), zeros))) -> Q (vector add, 8-bit concat) */
  MscValue *x2 = val(g, "x2");
  x2->dtype = MSC_DTYPE_FLOAT32;
  x2->rank = 4;
  int64_t x2d[] = {1, 5, S, S}, zd[] = {1, 3, S, S};
  memcpy(x2->dims, x2d, sizeof x2d);
  msc_graph_add_input(g, x2);
  msc_graph_add_initializer(g, "zeros", msc_tensor_new(MSC_DTYPE_FLOAT32, 4, zd, NULL));
  qdq(g, "x2", "px2", 5.0f / 255.0f, 100);
  MscAttr ax = {0};
  ax.name = g_strdup("axis");
  ax.type = MSC_ATTR_INT;
  ax.i = 1;
  /* ... with a 3x3 stride-1 MaxPool on the shortcut (BlazeFace's stride-2 blocks): the 8-bit max pool */
  MscNode *mp = node(g, "mpool", "MaxPool", "x2_dq", "x2p");
  msc_node_add_attr_ints(mp, "kernel_shape", 2, (const int64_t[]){3, 3});
  msc_node_add_attr_ints(mp, "pads", 4, (const int64_t[]){1, 1, 1, 1});
  msc_node_add_attr(node(g, "cat", "Concat", "x2p,zeros", "cz"), &ax);
  node(g, "res", "Add", "h_dq,cz", "rs");
  node(g, "relu", "Relu", "rs", "rr");
  qdq(g, "rr", "prr", 6.0f / 255.0f, 0);
  node(g, "out3", "Identity", "rr_dq", "y3");
  return qgraph_done(g, (const char *[]){"y", "y2", "y3", NULL});
}

typedef struct {
  GPtrArray *float_ops; /* op types of steps that produced float outputs */
} OpTrace;

static int optrace_hook(void *user, MscHookPhase ph, const MscNode *n, const MscTensor *const *in, uint32_t ni,
                        const MscTensor *const *out, uint32_t no, double ms) {
  (void)in, (void)ni, (void)ms;
  OpTrace *t = user;
  if (ph == MSC_HOOK_AFTER && no > 0 && out[0] && out[0]->dtype == MSC_DTYPE_FLOAT32)
    g_ptr_array_add(t->float_ops, g_strdup(n->op_type));
  return 0;
}

static MscTensor **run_hooked(MscGraph *g, const char *runner, const char *threads, MscTensor **in, OpTrace *tr,
                              uint32_t *n_out) {
  GError *e = NULL;
  const char *k[] = {"threads"}, *v[] = {threads};
  MscOptions o = {k, v, 1};
  MscSession *s = msc_session_new(g, runner, threads ? &o : NULL, &e);
  g_assert_no_error(e);
  MscTensor **out = NULL;
  MscRunHooks h = {optrace_hook, tr};
  gboolean ok = msc_session_run(s, (const MscTensor *const *)in, 2, &out, tr ? &h : NULL, &e);
  g_assert_no_error(e);
  g_assert_true(ok);
  *n_out = 3;
  msc_session_free(s);
  return out;
}

/* x -> Q(uint8) -> DQ -> y0 and x -> Q(int8) -> DQ -> y1: both Q and DQ are left to the
 * standalone int8 steps (CPU_Q_QUANT / CPU_Q_DEQ); special values included. */
static void test_qdq_steps(void) {
  g_test_summary("standalone QuantizeLinear / DequantizeLinear int8 steps (AVX2 and tails) equal ref byte for byte, "
                 "incl. NaN, infinities, huge values and exact .5 ties");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  const int64_t xd[] = {1, 3, 6, 37};
  MscGraph *g = qgraph_new("int8-qdq-steps", xd);
  const float su = 0.037f, ss = 0.0213f;
  gconst_f(g, "su", su), gconst_u8(g, "zu", 117), gconst_f(g, "ss", ss);
  MscTensor *zs = msc_tensor_new(MSC_DTYPE_INT8, 0, NULL, NULL);
  *(int8_t *)zs->data = -9;
  msc_graph_add_initializer(g, "zs", zs);
  node(g, "qu", "QuantizeLinear", "x,su,zu", "xu");
  node(g, "du", "DequantizeLinear", "xu,su,zu", "y0");
  node(g, "qs", "QuantizeLinear", "x,ss,zs", "xs");
  node(g, "ds", "DequantizeLinear", "xs,ss,zs", "y1");
  /* and a 2x2 stride-2 MaxPool between DQ and Q (the int8 max pool's byte-pair path) */
  MscNode *mp = node(g, "mp", "MaxPool", "y1", "mpo");
  msc_node_add_attr_ints(mp, "kernel_shape", 2, (const int64_t[]){2, 2});
  msc_node_add_attr_ints(mp, "strides", 2, (const int64_t[]){2, 2});
  node(g, "qm", "QuantizeLinear", "mpo,ss,zs", "mq");
  node(g, "dm", "DequantizeLinear", "mq,ss,zs", "y2");
  msc_graph_add_output(g, val(g, "y0"));
  msc_graph_add_output(g, val(g, "y1"));
  msc_graph_add_output(g, val(g, "y2"));
  GError *ve = NULL;
  msc_graph_verify(g, &ve);
  g_assert_no_error(ve);
  MscTensor *in = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, xd, NULL);
  float *xv = in->data;
  uint32_t st = 11;
  for (int64_t i = 0; i < 666; i++) {
    float r = (float)(msc_mulberry32(&st) >> 8) / 16777216.0f;
    switch (i % 7) {
    case 0: xv[i] = ((float)(int)(r * 300.0f) - 150.0f + 0.5f) * (i % 2 ? su : ss); break; /* ties */
    case 1: xv[i] = -12.0f + 24.0f * r; break;
    default: xv[i] = -6.0f + 12.0f * r;
    }
  }
  xv[3] = NAN, xv[10] = INFINITY, xv[17] = -INFINITY, xv[24] = 1e30f, xv[31] = -1e30f, xv[38] = 1e-40f;
  MscTensor *outs[2][3];
  const char *runners[2] = {"ref", "cpu"};
  for (int k = 0; k < 2; k++) {
    MscTensor **out = run_model(g, runners[k], NULL, in, NULL);
    outs[k][0] = out[0], outs[k][1] = out[1], outs[k][2] = out[2];
    g_free(out);
  }
  g_assert_cmpint(outs[1][2]->dims[3], ==, 18);
  for (int o = 0; o < 3; o++) {
    g_assert_cmpuint(outs[0][o]->nbytes, ==, outs[1][o]->nbytes);
    g_assert_cmpint(memcmp(outs[0][o]->data, outs[1][o]->data, outs[0][o]->nbytes), ==, 0);
    msc_tensor_free(outs[0][o]), msc_tensor_free(outs[1][o]);
  }
  msc_tensor_free(in);
  msc_graph_free(g);
}

/* x -> Q -> DQ -> MaxPool (2x2 or 3x3, stride 2, pads 0 / 1) -> Q -> DQ, uint8 and int8, the pool's output
 * requantized at the input's scale (the byte max alone) and at another one (its table): the 8-bit max pool
 * (row kernel: AVX2 16 outputs a step, the window-inside range, the padded edges, the tails) equals ref byte
 * for byte on rows of 5-113 columns. */
static void test_maxpool_s2(void) {
  g_test_summary("int8 MaxPool 2x2 / 3x3 stride 2 (pads 0 and 1, uint8 and int8, same and other output scale) "
                 "equals ref byte for byte on rows of 5 to 113 columns");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  MscCpuStatsFn stats = (MscCpuStatsFn)msc_registry_get("msc.runner.cpu.stats", MSC_REG_FUNCTION, TRUE, NULL);
  g_assert_nonnull(stats);
  const int64_t widths[] = {5, 16, 17, 33, 34, 35, 36, 55, 67, 112, 113};
  int cases = 0;
  for (size_t wi = 0; wi < G_N_ELEMENTS(widths); wi++)
    for (int k = 2; k <= 3; k++)
      for (int pad = 0; pad <= 1; pad++)
        for (int sgn = 0; sgn <= 1; sgn++) {
          const int64_t xd[] = {1, 3, 9, widths[wi]};
          MscGraph *g = qgraph_new("int8-maxpool-s2", xd);
          gconst_f(g, "s", 0.031f), gconst_f(g, "s2", 0.047f);
          MscTensor *z = msc_tensor_new(sgn ? MSC_DTYPE_INT8 : MSC_DTYPE_UINT8, 0, NULL, NULL);
          *(uint8_t *)z->data = sgn ? (uint8_t)(int8_t)-5 : 121;
          msc_graph_add_initializer(g, "z", z);
          node(g, "q", "QuantizeLinear", "x,s,z", "xq");
          node(g, "dq", "DequantizeLinear", "xq,s,z", "xd");
          MscNode *mp = node(g, "mp", "MaxPool", "xd", "m");
          msc_node_add_attr_ints(mp, "kernel_shape", 2, (const int64_t[]){k, k});
          msc_node_add_attr_ints(mp, "strides", 2, (const int64_t[]){2, 2});
          msc_node_add_attr_ints(mp, "pads", 4, (const int64_t[]){pad, pad, pad, pad});
          /* one reader (the 8-bit pool step needs its Q alone): the input's scale for odd widths, another
           * (the pool's table) for even ones */
          node(g, "q1", "QuantizeLinear", wi % 2 ? "m,s,z" : "m,s2,z", "mq");
          node(g, "d1", "DequantizeLinear", wi % 2 ? "mq,s,z" : "mq,s2,z", "y");
          node(g, "n", "Neg", "xd", "y2"); /* a second output: the DQ'd input */
          qgraph_done(g, (const char *[]){"y", "y2", NULL});
          MscTensor *in = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, xd, NULL);
          uint32_t seed = 77u + (uint32_t)(wi * 16 + k * 4 + pad * 2 + sgn);
          for (int64_t i = 0; i < msc_tensor_numel(in); i++)
            ((float *)in->data)[i] = -4.5f + 9.0f * (float)(msc_mulberry32(&seed) >> 8) / 16777216.0f;
          MscTensor **out[2];
          out[0] = run_model(g, "ref", NULL, in, NULL);
          out[1] = run_model(g, "cpu", NULL, in, NULL);
          MscCpuStats cs = {.struct_size = sizeof cs};
          stats(&cs);
          g_assert_cmpuint(cs.n_int8_steps, >=, 2); /* Q and the pool on bytes */
          if (cases == 0) g_test_message("%u steps, %u int8", cs.n_steps, cs.n_int8_steps);
          for (int o = 0; o < 2; o++) {
            g_assert_cmpuint(out[0][o]->nbytes, ==, out[1][o]->nbytes);
            if (memcmp(out[0][o]->data, out[1][o]->data, out[0][o]->nbytes) != 0)
              g_test_message("W %" G_GINT64_FORMAT " k %d pad %d %s output %d differs", widths[wi], k, pad,
                             sgn ? "int8" : "uint8", o);
            g_assert_cmpint(memcmp(out[0][o]->data, out[1][o]->data, out[0][o]->nbytes), ==, 0);
          }
          for (int kk = 0; kk < 2; kk++) {
            for (int o = 0; o < 2; o++) msc_tensor_free(out[kk][o]);
            g_free(out[kk]);
          }
          msc_tensor_free(in);
          msc_graph_free(g);
          cases++;
        }
  g_test_message("%d max pool cases", cases);
}

/* Concat of inputs with different scales (ORT's squeezenet QDQ): x -> Q/DQ at two scales -> Concat (axis 1) ->
 * Q/DQ. 2 x 3 x 150 x 160: 72000 bytes per input and image, so the 64 KB pieces of the threaded concat start
 * inside an input's run and cross from one input into the next. */
static void test_concat_requant(void) {
  g_test_summary("int8 Concat of inputs with other scales (table per input, pieces across inputs, batch 2) and the "
                 "Quantize / table / Dequantize steps around it (16K-element pieces over the pool) equal ref byte for "
                 "byte at 1 and 2 threads");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  const int64_t xd[] = {2, 3, 150, 160};
  MscGraph *g = qgraph_new("int8-concat", xd);
  qdq(g, "x", "pa", 6.0f / 255.0f, 120);
  node(g, "neg", "Neg", "x", "xn");
  qdq(g, "xn", "pb", 3.5f / 255.0f, 90);
  MscAttr ax = {0};
  ax.name = g_strdup("axis");
  ax.type = MSC_ATTR_INT;
  ax.i = 1;
  msc_node_add_attr(node(g, "cat", "Concat", "x_dq,xn_dq", "c"), &ax);
  qdq(g, "c", "pc", 4.0f / 255.0f, 128);
  node(g, "out", "Identity", "c_dq", "y");
  g = qgraph_done(g, (const char *[]){"y", NULL});
  MscTensor *in = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, xd, NULL);
  uint32_t st = 5;
  for (int64_t i = 0; i < msc_tensor_numel(in); i++)
    ((float *)in->data)[i] = -3.5f + 7.0f * (float)(msc_mulberry32(&st) >> 8) / 16777216.0f;
  const char *k[] = {"threads"}, *v[2][1] = {{"1"}, {"2"}};
  MscTensor *ref = NULL;
  for (int run = 0; run < 3; run++) {
    MscTensor **out =
        run == 0 ? run_model(g, "ref", NULL, in, NULL) : run_model_opts(g, "cpu", k, v[run == 2], 1, in, NULL);
    if (run == 0) {
      ref = out[0];
    } else {
      g_assert_cmpuint(out[0]->nbytes, ==, ref->nbytes);
      g_assert_cmpint(memcmp(out[0]->data, ref->data, ref->nbytes), ==, 0);
      msc_tensor_free(out[0]);
    }
    g_free(out);
  }
  msc_tensor_free(ref);
  msc_tensor_free(in);
  msc_graph_free(g);
}

/* @S x @S planes; @threads: the cpu runner's threads option (NULL: its default). */
static void regions_at(int64_t S, const char *threads) {
  MscGraph *g = region_graph(S);
  MscTensor *in[2] = {msc_tensor_new(MSC_DTYPE_FLOAT32, 4, (int64_t[]){1, 8, S, S}, NULL),
                      msc_tensor_new(MSC_DTYPE_FLOAT32, 4, (int64_t[]){1, 5, S, S}, NULL)};
  uint32_t st = 7;
  for (int k = 0; k < 2; k++)
    for (int64_t i = 0; i < msc_tensor_numel(in[k]); i++)
      ((float *)in[k]->data)[i] = -4.5f + 9.0f * (float)(msc_mulberry32(&st) >> 8) / 16777216.0f;
  OpTrace tc = {g_ptr_array_new_with_free_func(g_free)};
  uint32_t nr, nc;
  MscTensor **r = run_hooked(g, "ref", NULL, in, NULL, &nr);
  MscTensor **c = run_hooked(g, "cpu", threads, in, &tc, &nc);
  for (uint32_t k = 0; k < 3; k++) {
    g_assert_cmpuint(r[k]->nbytes, ==, c[k]->nbytes);
    int64_t diff = 0;
    for (int64_t i = 0; i < msc_tensor_numel(r[k]); i++)
      diff += ((const float *)r[k]->data)[i] != ((const float *)c[k]->data)[i];
    g_assert_cmpint(diff, ==, 0);
  }
  g_assert_cmpint(c[0]->dims[2], ==, S + 3);
  g_assert_cmpint(c[0]->dims[3], ==, S + 3);
  /* the only float steps left: the output DequantizeLinear nodes (and Identity views of them) */
  for (guint i = 0; i < tc.float_ops->len; i++) {
    const char *op = g_ptr_array_index(tc.float_ops, i);
    g_test_message("float step: %s", op);
    g_assert_true(!strcmp(op, "DequantizeLinear") || !strcmp(op, "Identity"));
  }
  for (uint32_t k = 0; k < 3; k++) msc_tensor_free(r[k]), msc_tensor_free(c[k]);
  g_free(r), g_free(c);
  g_ptr_array_unref(tc.float_ops);
  msc_tensor_free(in[0]), msc_tensor_free(in[1]);
  msc_graph_free(g);
}

static void test_regions(void) {
  g_test_summary("int8 regions: hardswish as Add/Clip/Mul/Div, GlobalAveragePool of it, the squeeze-excite Mul of "
                 "two float chains and a constant Pad run as 8-bit steps; outputs equal ref's byte for byte; on "
                 "13 x 13 and 128 x 128 planes (at 2 threads) too (the per-plane steps and the pieces of the others over the pool)");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  regions_at(12, NULL);
  regions_at(13, NULL); /* planes of 169: the GlobalAveragePool's sum of 8 indices per load, then one more */
  regions_at(128, "2");
}

/* Constant 8-bit / int32 weights through DequantizeLinear (per channel on axis 0) named @w. */
static void dq_weights(MscGraph *g, const char *w, int64_t M, int64_t Cg, int64_t k, float sx, uint32_t seed) {
  int64_t wd[4] = {M, Cg, k, k};
  MscTensor *wq = msc_tensor_new(MSC_DTYPE_INT8, 4, wd, NULL), *ws = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, &M, NULL);
  MscTensor *wz = msc_tensor_new(MSC_DTYPE_INT8, 1, &M, NULL), *bq = msc_tensor_new(MSC_DTYPE_INT32, 1, &M, NULL);
  MscTensor *bs = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, &M, NULL), *bz = msc_tensor_new(MSC_DTYPE_INT32, 1, &M, NULL);
  uint32_t st = seed;
  for (int64_t i = 0; i < msc_tensor_numel(wq); i++) ((int8_t *)wq->data)[i] = (int8_t)(msc_mulberry32(&st) >> 24);
  for (int64_t m = 0; m < M; m++) {
    ((float *)ws->data)[m] = 0.002f + 0.001f * (float)m;
    ((int8_t *)wz->data)[m] = 0;
    ((int32_t *)bq->data)[m] = (int32_t)(msc_mulberry32(&st) % 4001) - 2000;
    ((float *)bs->data)[m] = sx * ((float *)ws->data)[m];
    ((int32_t *)bz->data)[m] = 0;
  }
  g_autofree char *n_wq = g_strdup_printf("%s_q", w), *n_ws = g_strdup_printf("%s_s", w), *n_wz = g_strdup_printf("%s_z", w);
  g_autofree char *n_bq = g_strdup_printf("%s_bq", w), *n_bs = g_strdup_printf("%s_bs", w), *n_bz = g_strdup_printf("%s_bz", w);
  msc_graph_add_initializer(g, n_wq, wq), msc_graph_add_initializer(g, n_ws, ws), msc_graph_add_initializer(g, n_wz, wz);
  msc_graph_add_initializer(g, n_bq, bq), msc_graph_add_initializer(g, n_bs, bs), msc_graph_add_initializer(g, n_bz, bz);
  g_autofree char *in_w = g_strdup_printf("%s,%s,%s", n_wq, n_ws, n_wz), *in_b = g_strdup_printf("%s,%s,%s", n_bq, n_bs, n_bz);
  g_autofree char *o_b = g_strdup_printf("%s_b", w), *dn = g_strdup_printf("DQ_%s", w), *dbn = g_strdup_printf("DQ_%s_b", w);
  MscAttr ax = {0};
  ax.name = g_strdup("axis");
  ax.type = MSC_ATTR_INT;
  ax.i = 0;
  msc_node_add_attr(node(g, dn, "DequantizeLinear", in_w, w), &ax);
  MscAttr ax2 = {0};
  ax2.name = g_strdup("axis");
  ax2.type = MSC_ATTR_INT;
  ax2.i = 0;
  msc_node_add_attr(node(g, dbn, "DequantizeLinear", in_b, o_b), &ax2);
}

/* x -> QDQ -> depthwise 3x3 conv -> QDQ -> hardswish (Add/Clip/Mul/Div) -> QDQ -> y;
 * x -> 1x1 conv 8 -> 16 -> QDQ -> HardSigmoid -> QDQ -> y2 */
static MscGraph *conv_table_graph(void) {
  const int64_t xd[] = {1, 8, 13, 11};
  MscGraph *g = qgraph_new("int8-conv-tables", xd);
  gconst_f(g, "three", 3.0f), gconst_f(g, "zero", 0.0f), gconst_f(g, "six", 6.0f);
  const float sx = 8.0f / 255.0f;
  qdq(g, "x", "px", sx, 128);
  dq_weights(g, "wd", 8, 1, 3, sx, 5);
  MscNode *c = node(g, "dw", "Conv", "x_dq,wd,wd_b", "c");
  const int64_t pads[] = {1, 1, 1, 1}, one[] = {8};
  msc_node_add_attr_ints(c, "pads", 4, pads);
  MscAttr grp = {0};
  grp.name = g_strdup("group");
  grp.type = MSC_ATTR_INT;
  grp.i = one[0];
  msc_node_add_attr(c, &grp);
  qdq(g, "c", "pc", 6.0f / 255.0f, 120);
  node(g, "add3", "Add", "c_dq,three", "a3");
  node(g, "clip", "Clip", "a3,zero,six", "c6");
  node(g, "mulx", "Mul", "c_dq,c6", "m6");
  node(g, "div6", "Div", "m6,six", "h");
  qdq(g, "h", "ph", 4.0f / 255.0f, 20);
  node(g, "out", "Identity", "h_dq", "y");
  dq_weights(g, "wp", 16, 8, 1, sx, 9);
  node(g, "pw", "Conv", "x_dq,wp,wp_b", "p");
  qdq(g, "p", "pp", 5.0f / 255.0f, 128);
  node(g, "hsw", "HardSigmoid", "p_dq", "hp");
  qdq(g, "hp", "php", 4.0f / 255.0f, 20);
  node(g, "out2", "Identity", "hp_dq", "y2");
  return qgraph_done(g, (const char *[]){"y", "y2", NULL});
}

/* Runs @g (owned; two outputs) on a [-4.2, 4.2) input of dims @xd (seed @seed): on cpu with a fusion
 * and with it off (@env=0), and on ref. Both cpu runs give the same bytes on both outputs, and cpu
 * agrees with ref within @tol on at least 99% of the elements. @st: the cpu stats of the fused and the
 * unfused run, for the caller's step counts. */
static void check_fusion_exact(MscGraph *g, const int64_t *xd, uint32_t seed, const char *env, double tol,
                               MscCpuStats st[2]) {
  MscCpuStatsFn stats = (MscCpuStatsFn)msc_registry_get("msc.runner.cpu.stats", MSC_REG_FUNCTION, TRUE, NULL);
  g_assert_nonnull(stats);
  MscTensor *in = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, xd, NULL);
  for (int64_t i = 0; i < msc_tensor_numel(in); i++)
    ((float *)in->data)[i] = -4.2f + 8.4f * (float)(msc_mulberry32(&seed) >> 8) / 16777216.0f;
  MscTensor **out[3];
  for (int k = 0; k < 2; k++) {
    if (k == 1) g_setenv(env, "0", TRUE);
    out[k] = run_model(g, "cpu", NULL, in, NULL);
    st[k] = (MscCpuStats){.struct_size = sizeof st[k]};
    stats(&st[k]);
    g_unsetenv(env);
  }
  out[2] = run_model(g, "ref", NULL, in, NULL);
  for (int o = 0; o < 2; o++) {
    g_assert_cmpuint(out[0][o]->nbytes, ==, out[1][o]->nbytes);
    g_assert_cmpint(memcmp(out[0][o]->data, out[1][o]->data, out[0][o]->nbytes), ==, 0);
    double frac, cosine;
    compare(out[0][o], out[2][o], tol, &frac, &cosine);
    g_test_message("output %d: cpu vs ref within one step %.5f (cos %.6f)", o, frac, cosine);
    g_assert_cmpfloat(frac, >=, 0.99);
  }
  for (int k = 0; k < 3; k++) {
    for (int o = 0; o < 2; o++) msc_tensor_free(out[k][o]);
    g_free(out[k]);
  }
  msc_tensor_free(in);
  msc_graph_free(g);
}

static void test_conv_tables(void) {
  g_test_summary("int8 conv + table fusion: a table step (hardswish region, HardSigmoid) after a depthwise and a "
                 "1x1 int8 conv is applied in the conv's store; outputs equal the unfused int8 run byte for byte "
                 "(MSC_INT8_FUSE_CONV=0) and ref within one step");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  MscCpuStats st[2];
  check_fusion_exact(conv_table_graph(), (int64_t[]){1, 8, 13, 11}, 11, "MSC_INT8_FUSE_CONV", 4.0 / 255.0, st);
  g_test_message("conv+table: %u steps (%u tables fused), %u steps without conv fusion", st[0].n_steps,
                 st[0].n_int8_fused_tables, st[1].n_steps);
  g_assert_cmpuint(st[0].n_steps + 2, ==, st[1].n_steps);
  g_assert_cmpuint(st[0].n_int8_fused_tables, ==, st[1].n_int8_fused_tables + 2);
}

/* Conv @name on @in -> @out: @k x @k weights "@name_w" (@M x @Cg), stride @s, @group, pads @pads (NULL: none). */
static void qconv_node(MscGraph *g, const char *name, const char *in, const char *out, int64_t M, int64_t Cg,
                       int64_t k, int64_t s, int64_t group, const int64_t *pads, float sx, uint32_t seed) {
  g_autofree char *w = g_strdup_printf("%s_w", name), *ins = g_strdup_printf("%s,%s,%s_b", in, w, w);
  dq_weights(g, w, M, Cg, k, sx, seed);
  MscNode *c = node(g, name, "Conv", ins, out);
  msc_node_add_attr_ints(c, "strides", 2, (const int64_t[]){s, s});
  if (pads) msc_node_add_attr_ints(c, "pads", 4, pads);
  MscAttr grp = {0};
  grp.name = g_strdup("group");
  grp.type = MSC_ATTR_INT;
  grp.i = group;
  msc_node_add_attr(c, &grp);
}

/* Pad @name of @in (spatial pads t, l, b, r; fill 0) -> @out. */
static void pad_node(MscGraph *g, const char *name, const char *in, const char *out, const int64_t tlbr[4]) {
  g_autofree char *pn = g_strdup_printf("%s_pads", name), *ins = g_strdup_printf("%s,%s", in, pn);
  MscTensor *pads = msc_tensor_new(MSC_DTYPE_INT64, 1, (int64_t[]){8}, NULL);
  const int64_t pv[8] = {0, 0, tlbr[0], tlbr[1], 0, 0, tlbr[2], tlbr[3]};
  memcpy(pads->data, pv, sizeof pv);
  msc_graph_add_initializer(g, pn, pads);
  node(g, name, "Pad", ins, out);
}

/* x -> QDQ -> Pad (bottom / right 1, M-LSD's) -> QDQ (same scale, zero point) -> depthwise 3x3 stride 2,
 * no pads of its own -> QDQ -> y; x -> Pad (top 1, left 2, right 1) -> QDQ (same) -> 3x3 conv 8 -> 16 with
 * pads (1, 0, 0, 1) -> QDQ -> Pad (all 1) -> QDQ (another scale: the Pad's table is no identity, it stays
 * a step) -> 3x3 conv 16 -> 8 -> QDQ -> y2. */
static MscGraph *pad_conv_graph(void) {
  const int64_t xd[] = {1, 8, 14, 13};
  MscGraph *g = qgraph_new("int8-pad-conv", xd);
  const float sx = 8.0f / 255.0f;
  qdq(g, "x", "px", sx, 128);
  pad_node(g, "pad1", "x_dq", "p1", (const int64_t[]){0, 0, 1, 1});
  qdq(g, "p1", "px", sx, 128);
  qconv_node(g, "dw", "p1_dq", "c1", 8, 1, 3, 2, 8, NULL, sx, 5);
  qdq(g, "c1", "pc1", 6.0f / 255.0f, 120);
  node(g, "out", "Identity", "c1_dq", "y");
  pad_node(g, "pad2", "x_dq", "p2", (const int64_t[]){1, 2, 0, 1});
  qdq(g, "p2", "px", sx, 128);
  qconv_node(g, "c3", "p2_dq", "c2", 16, 8, 3, 1, 1, (const int64_t[]){1, 0, 0, 1}, sx, 7);
  qdq(g, "c2", "pc2", 7.0f / 255.0f, 128);
  pad_node(g, "pad3", "c2_dq", "p3", (const int64_t[]){1, 1, 1, 1});
  qdq(g, "p3", "pp3", 9.0f / 255.0f, 128);
  qconv_node(g, "c4", "p3_dq", "c4o", 8, 16, 3, 1, 1, NULL, 9.0f / 255.0f, 9);
  qdq(g, "c4o", "pc4", 5.0f / 255.0f, 128);
  node(g, "out2", "Identity", "c4o_dq", "y2");
  return qgraph_done(g, (const char *[]){"y", "y2", NULL});
}

/* x -> QDQ -> Resize (linear, scales 1, 1, 2, 2: M-LSD's upsampling; the plane form) -> QDQ -> y;
 * x -> QDQ -> Resize (cubic, sizes 1, 12, 20, 11: the channel axis resized too, which the plane form does
 * not take: the whole-tensor path) -> QDQ (int8) -> y2. */
static MscGraph *resize_graph(void) {
  const int64_t xd[] = {1, 8, 13, 11};
  MscGraph *g = qgraph_new("int8-resize", xd);
  msc_graph_add_initializer(g, "roi", msc_tensor_new(MSC_DTYPE_FLOAT32, 1, (int64_t[]){0}, NULL));
  MscTensor *sc = msc_tensor_new(MSC_DTYPE_FLOAT32, 1, (int64_t[]){4}, NULL);
  const float scv[4] = {1.0f, 1.0f, 2.0f, 2.0f};
  memcpy(sc->data, scv, sizeof scv);
  msc_graph_add_initializer(g, "scales", sc);
  MscTensor *sz = msc_tensor_new(MSC_DTYPE_INT64, 1, (int64_t[]){4}, NULL);
  const int64_t szv[4] = {1, 12, 20, 11};
  memcpy(sz->data, szv, sizeof szv);
  msc_graph_add_initializer(g, "sizes", sz);
  qdq(g, "x", "px", 8.0f / 255.0f, 128);
  add_attr_string(node(g, "up", "Resize", "x_dq,roi,scales", "u"), "mode", "linear");
  qdq(g, "u", "pu", 7.0f / 255.0f, 120);
  node(g, "out", "Identity", "u_dq", "y");
  MscNode *c = node(g, "cub", "Resize", "x_dq,roi,-,sizes", "c");
  add_attr_string(c, "mode", "cubic");
  gconst_f(g, "pc_s", 9.0f / 255.0f);
  MscTensor *z8 = msc_tensor_new(MSC_DTYPE_INT8, 0, NULL, NULL);
  *(int8_t *)z8->data = -3;
  msc_graph_add_initializer(g, "pc_z", z8);
  node(g, "Q_c", "QuantizeLinear", "c,pc_s,pc_z", "c_q");
  node(g, "DQ_c", "DequantizeLinear", "c_q,pc_s,pc_z", "c_dq");
  node(g, "out2", "Identity", "c_dq", "y2");
  return qgraph_done(g, (const char *[]){"y", "y2", NULL});
}

static void test_resize(void) {
  g_test_summary("int8 Resize: DQ -> Resize (linear, cubic) -> Q as one step, plane by plane through float scratch "
                 "(and the whole tensor where the plane form does not apply); outputs equal the three-step run "
                 "byte for byte (MSC_INT8_RESIZE=0) and ref within one step");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  MscCpuStats st[2];
  check_fusion_exact(resize_graph(), (int64_t[]){1, 8, 13, 11}, 17, "MSC_INT8_RESIZE", 10.0 / 255.0, st);
  g_test_message("resize: %u steps (%u int8), %u steps unfused", st[0].n_steps, st[0].n_int8_steps, st[1].n_steps);
  g_assert_cmpuint(st[0].n_steps + 3, ==, st[1].n_steps); /* x's DQ (shared) and two Q steps fewer */
}

/* An NHWC model's input pipeline: x [2, 35, 13, 3] -> Mul (0.5) -> Sub (1) -> Transpose (0, 3, 1, 2) ->
 * QDQ (uint8) -> y; x -> Transpose -> QDQ (int8) -> y2 (no affine chain). 70 rows of 39 floats: two pieces of
 * 64 rows (the pieces start at multiples of 64 elements). */
static MscGraph *qinput_graph(void) {
  const int64_t xd[] = {2, 35, 13, 3};
  MscGraph *g = qgraph_new("int8-nhwc-input", xd);
  gconst_f(g, "khalf", 0.5f), gconst_f(g, "one", 1.0f);
  node(g, "div", "Mul", "x,khalf", "xm");
  node(g, "sub", "Sub", "xm,one", "xs");
  msc_node_add_attr_ints(node(g, "t1", "Transpose", "xs", "xt"), "perm", 4, (const int64_t[]){0, 3, 1, 2});
  qdq(g, "xt", "pxt", 4.0f / 255.0f, 128);
  node(g, "out", "Identity", "xt_dq", "y");
  msc_node_add_attr_ints(node(g, "t2", "Transpose", "x", "x2"), "perm", 4, (const int64_t[]){0, 3, 1, 2});
  gconst_f(g, "px2_s", 9.0f / 255.0f);
  MscTensor *z8 = msc_tensor_new(MSC_DTYPE_INT8, 0, NULL, NULL);
  *(int8_t *)z8->data = 5;
  msc_graph_add_initializer(g, "px2_z", z8);
  node(g, "Q_x2", "QuantizeLinear", "x2,px2_s,px2_z", "x2_q");
  node(g, "DQ_x2", "DequantizeLinear", "x2_q,px2_s,px2_z", "x2_dq");
  node(g, "out2", "Identity", "x2_dq", "y2");
  return qgraph_done(g, (const char *[]){"y", "y2", NULL});
}

static void test_qinput(void) {
  g_test_summary("int8 input pipeline of an NHWC model: [scalar affine chain ->] Transpose (0, 3, 1, 2) -> "
                 "QuantizeLinear as one pass; outputs equal the step-by-step run byte for byte (MSC_INT8_QINPUT=0) "
                 "and ref within one step");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  MscCpuStats st[2];
  check_fusion_exact(qinput_graph(), (int64_t[]){2, 35, 13, 3}, 19, "MSC_INT8_QINPUT", 9.0 / 255.0, st);
  g_test_message("nhwc input: %u steps, %u steps unfused", st[0].n_steps, st[1].n_steps);
  g_assert_cmpuint(st[0].n_steps + 3, ==, st[1].n_steps); /* the affine step and both Transposes */
}

static void test_pad_conv(void) {
  g_test_summary("int8 Pad folded into the conv after it: a zero Pad whose table is the identity (bottom/right "
                 "before a stride-2 depthwise conv, asymmetric before a dense conv with pads of its own) is read "
                 "as the conv's padding; a requantizing Pad stays a step; outputs equal the unfolded run byte "
                 "for byte (MSC_FOLD_PAD=0) and ref within one step");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  MscCpuStats st[2];
  check_fusion_exact(pad_conv_graph(), (int64_t[]){1, 8, 14, 13}, 13, "MSC_FOLD_PAD", 4.0 / 255.0, st);
  g_test_message("pad+conv: %u steps (%u Pads folded), %u steps unfolded", st[0].n_steps, st[0].n_pads_folded,
                 st[1].n_steps);
  g_assert_cmpuint(st[0].n_pads_folded, ==, 2);
  g_assert_cmpuint(st[1].n_pads_folded, ==, 0);
  g_assert_cmpuint(st[0].n_steps + 2, ==, st[1].n_steps);
}

/* x -> QDQ -> 1x1 conv 16 -> 16 -> QDQ -> Add(., x) -> Relu -> QDQ -> y (the conv's bytes as the add's
 * first input); x -> QDQ -> 3x3 pad-1 conv (rows of 13: tiles across row ends) -> QDQ -> Add(x, .)
 * -> Relu -> QDQ -> y2 (second input, int8 output). Value shapes set (the fusion needs them static;
 * an Add without Relu is a plain 256x256 table step, not the vector add). */
/* Two int8 convs (1x1 "pw", 3x3 "c3") on x, each output added to DQ(x) and quantized. @plain = FALSE:
 * Add -> Relu -> Q (a region; int8 zero points on c3's side), fixed dims. @plain = TRUE: the adds are plain
 * DQ(a) + DQ(b) -> Q (no Relu: the 256x256 table op, not a region) and the spatial dims are unknown in the
 * graph (-1, as in PP-OCR's dynamic-width model): the table op takes the vector add when it equals the
 * table everywhere, and the conv fusion accepts equal-rank values whose unknown dims are unknown on both
 * sides (checked per shape plan). */
static MscGraph *conv_add_graph_build(gboolean plain) {
  const int64_t xd_fixed[] = {1, 16, 9, 13}, xd_dyn[] = {1, 16, -1, -1};
  const int64_t *xd = plain ? xd_dyn : xd_fixed;
  MscGraph *g = qgraph_new(plain ? "int8-conv-add-plain" : "int8-conv-add", xd);
  const float sx = 8.0f / 255.0f;
  qdq(g, "x", "px", sx, 128);
  dq_weights(g, "wp", 16, 16, 1, sx, 3);
  node(g, "pw", "Conv", "x_dq,wp,wp_b", "p");
  qdq(g, "p", "pp", 6.0f / 255.0f, 120);
  node(g, "add1", "Add", "p_dq,x_dq", "a1");
  if (plain) {
    qdq(g, "a1", "pa1", 10.0f / 255.0f, 125);
    node(g, "out", "Identity", "a1_dq", "y");
  } else {
    node(g, "relu1", "Relu", "a1", "r1");
    qdq(g, "r1", "pr1", 9.0f / 255.0f, 0);
    node(g, "out", "Identity", "r1_dq", "y");
  }
  dq_weights(g, "wc", 16, 16, 3, sx, 7);
  MscNode *c = node(g, "c3", "Conv", "x_dq,wc,wc_b", "c");
  const int64_t pads[] = {1, 1, 1, 1};
  msc_node_add_attr_ints(c, "pads", 4, pads);
  if (plain) {
    qdq(g, "c", "pc", 7.0f / 255.0f, 131);
    node(g, "add2", "Add", "x_dq,c_dq", "a2");
    qdq(g, "a2", "pa2", 11.0f / 255.0f, 119);
  } else {
    gconst_f(g, "pc_s", 7.0f / 255.0f);
    MscTensor *zt = msc_tensor_new(MSC_DTYPE_INT8, 0, NULL, NULL);
    ((int8_t *)zt->data)[0] = -3;
    msc_graph_add_initializer(g, "pc_z", zt);
    qdq(g, "c", "pc", 7.0f / 255.0f, 0);
    node(g, "add2", "Add", "x_dq,c_dq", "a2r");
    node(g, "relu2", "Relu", "a2r", "a2");
    MscTensor *zt2 = msc_tensor_new(MSC_DTYPE_INT8, 0, NULL, NULL);
    ((int8_t *)zt2->data)[0] = 5;
    gconst_f(g, "pa2_s", 11.0f / 255.0f);
    msc_graph_add_initializer(g, "pa2_z", zt2);
    qdq(g, "a2", "pa2", 11.0f / 255.0f, 0);
  }
  node(g, "out2", "Identity", "a2_dq", "y2");
  const char *shaped[] = {"x_q", "p_q", "c_q"};
  for (unsigned i = 0; i < G_N_ELEMENTS(shaped); i++) {
    MscValue *v = val(g, shaped[i]);
    v->rank = 4;
    memcpy(v->dims, xd, sizeof xd_fixed);
  }
  return qgraph_done(g, (const char *[]){"y", "y2", NULL});
}

static void test_conv_add(void) {
  g_test_summary("int8 conv + residual Add fusion: DQ(conv) + DQ(x) [-> Relu] -> Q after a 1x1 and a 3x3 int8 conv "
                 "is applied in the conv's store (either input side); outputs equal the unfused int8 run byte for "
                 "byte (MSC_INT8_FUSE_ADD=0) and ref within one step");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  MscCpuStats st[2];
  check_fusion_exact(conv_add_graph_build(FALSE), (int64_t[]){1, 16, 9, 13}, 23, "MSC_INT8_FUSE_ADD", 11.0 / 255.0, st);
  g_test_message("conv+add: %u steps, %u steps without the fusion", st[0].n_steps, st[1].n_steps);
  g_assert_cmpuint(st[0].n_steps + 2, ==, st[1].n_steps);
}


static void test_conv_add_plain(void) {
  g_test_summary("plain residual DQ(a) + DQ(b) -> Q (a 256x256 table op) on a model with unknown spatial dims: "
                 "the vector add, fused into the 1x1 / 3x3 int8 conv producing one side; outputs equal the table "
                 "run byte for byte (MSC_INT8_TABLE_VADD=0) and ref within one step");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  MscCpuStats st[2];
  check_fusion_exact(conv_add_graph_build(TRUE), (int64_t[]){1, 16, 9, 13}, 29, "MSC_INT8_TABLE_VADD", 11.0 / 255.0, st);
  g_test_message("plain conv+add: %u steps, %u steps with the 64K tables", st[0].n_steps, st[1].n_steps);
  g_assert_cmpuint(st[0].n_steps + 2, ==, st[1].n_steps);
}

/* x -> QDQ -> 1x1 conv 8 -> 12 -> QDQ -> hardswish (Add 3, Clip 0..6, Mul, Div 6) left in float ->
 * MaxPool 2x2 (y) and GlobalAveragePool (y2): the float region of one 8-bit input becomes a
 * byte -> float table step (CPU_Q_FLUT; PP-OCR's last hardswish before its float MaxPool). */
/* x -> Q/DQ -> 1x1 conv of @M channels (int8) -> Q/DQ (@sc, @zc) -> hardswish as Add/Clip/Mul/Div -> "h". */
static MscGraph *conv_hardswish_graph(const char *name, const int64_t *xd, int64_t M, uint32_t seed, float sc,
                                      int32_t zc) {
  MscGraph *g = qgraph_new(name, xd);
  gconst_f(g, "three", 3.0f), gconst_f(g, "zero", 0.0f), gconst_f(g, "six", 6.0f);
  const float sx = 8.0f / 255.0f;
  qdq(g, "x", "px", sx, 128);
  dq_weights(g, "wp", M, xd[1], 1, sx, seed);
  node(g, "pw", "Conv", "x_dq,wp,wp_b", "c");
  qdq(g, "c", "pc", sc, zc);
  node(g, "add3", "Add", "c_dq,three", "a3");
  node(g, "clip", "Clip", "a3,zero,six", "c6");
  node(g, "mulx", "Mul", "c_dq,c6", "m6");
  node(g, "div6", "Div", "m6,six", "h");
  return g;
}

static MscGraph *float_region_graph(void) {
  MscGraph *g = conv_hardswish_graph("int8-float-region", (const int64_t[]){1, 8, 10, 14}, 12, 9, 9.0f / 255.0f, 131);
  MscNode *mp = node(g, "mp", "MaxPool", "h", "y");
  const int64_t k2[] = {2, 2};
  msc_node_add_attr_ints(mp, "kernel_shape", 2, k2);
  msc_node_add_attr_ints(mp, "strides", 2, k2);
  node(g, "gap", "GlobalAveragePool", "h", "y2");
  return qgraph_done(g, (const char *[]){"y", "y2", NULL});
}

/* x -> Q/DQ -> 1x1 conv (int8) -> Q/DQ -> hardswish -> MaxPool (3x3, stride 2, pad 1) -> y: the float region read
 * only by a MaxPool (PP-OCR's head). */
static MscGraph *rank_pool_graph(const int64_t *xd) {
  MscGraph *g = conv_hardswish_graph("int8-rank-pool", xd, 64, 5, 10.0f / 255.0f, 140);
  MscNode *mp = node(g, "mp", "MaxPool", "h", "y");
  msc_node_add_attr_ints(mp, "kernel_shape", 2, (const int64_t[]){3, 3});
  msc_node_add_attr_ints(mp, "strides", 2, (const int64_t[]){2, 2});
  msc_node_add_attr_ints(mp, "pads", 4, (const int64_t[]){1, 1, 1, 1});
  return qgraph_done(g, (const char *[]){"y", NULL});
}

static void test_rank_pool(void) {
  g_test_summary("a float table region read only by a MaxPool (hardswish: not monotone) pools 8-bit order ranks and "
                 "writes their float values: equal to the float region + float MaxPool run (MSC_INT8_RANKPOOL=0) "
                 "value for value, at 1 and 2 threads, with one step fewer; ref within one step");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  MscCpuStatsFn stats = (MscCpuStatsFn)msc_registry_get("msc.runner.cpu.stats", MSC_REG_FUNCTION, TRUE, NULL);
  g_assert_nonnull(stats);
  /* 64 x 40 x 44 pooled (1e6 window elements): over the pool at 2 threads; the third run of one session
   * (awake workers). Which planes the worker claims depends on scheduling: a mutation that drops the
   * worker's planes failed 3 of 4 runs on an idle machine (the caller can finish them all first) */
  const int64_t xd[] = {1, 8, 79, 88};
  MscGraph *g = rank_pool_graph(xd);
  MscTensor *in = msc_tensor_new(MSC_DTYPE_FLOAT32, 4, xd, NULL);
  uint32_t seed = 17;
  for (int64_t i = 0; i < msc_tensor_numel(in); i++)
    ((float *)in->data)[i] = -4.2f + 8.4f * (float)(msc_mulberry32(&seed) >> 8) / 16777216.0f;
  const char *k[] = {"threads"}, *v[2][1] = {{"1"}, {"2"}};
  MscTensor **base = NULL;
  uint32_t steps[2] = {0, 0};
  for (int run = 0; run < 3; run++) {
    if (run == 0) g_setenv("MSC_INT8_RANKPOOL", "0", TRUE);
    MscTensor **out = run_model_reps(g, "cpu", k, v[run == 2], 1, in, NULL, run == 2 ? 3 : 1);
    MscCpuStats st = {.struct_size = sizeof st};
    stats(&st);
    g_unsetenv("MSC_INT8_RANKPOOL");
    if (run < 2) steps[run] = st.n_steps;
    if (run == 0) {
      base = out;
      continue;
    }
    int64_t n = msc_tensor_numel(base[0]), diff = 0;
    g_assert_cmpint(n, ==, msc_tensor_numel(out[0]));
    for (int64_t i = 0; i < n; i++) /* == : +0 and -0 are one value (the float pool keeps either) */
      diff += ((const float *)out[0]->data)[i] != ((const float *)base[0]->data)[i];
    g_assert_cmpint(diff, ==, 0);
    msc_tensor_free(out[0]);
    g_free(out);
  }
  g_test_message("rank pool: %u steps, %u with the float region and pool", steps[1], steps[0]);
  g_assert_cmpuint(steps[1] + 1, <=, steps[0]);
  MscTensor **r = run_model(g, "ref", NULL, in, NULL);
  double frac, cosine;
  compare(base[0], r[0], 10.0 / 255.0, &frac, &cosine);
  g_test_message("cpu vs ref within one step %.5f (cos %.6f)", frac, cosine);
  g_assert_cmpfloat(frac, >=, 0.99);
  msc_tensor_free(r[0]), g_free(r);
  msc_tensor_free(base[0]), g_free(base);
  msc_tensor_free(in);
  msc_graph_free(g);
}

static void test_float_region(void) {
  g_test_summary("a float elementwise region of one 8-bit input whose output stays float (hardswish before a float "
                 "MaxPool / GlobalAveragePool) runs as one byte -> float table step; outputs equal the node-by-node "
                 "run byte for byte (MSC_INT8_FLOAT_REGION=0) and ref within one step");
  if (!have_runners) {
    g_test_skip("runners cpu/ref not registered");
    return;
  }
  MscCpuStats st[2];
  check_fusion_exact(float_region_graph(), (int64_t[]){1, 8, 10, 14}, 31, "MSC_INT8_FLOAT_REGION", 9.0 / 255.0, st);
  g_test_message("float region: %u steps, %u steps node by node", st[0].n_steps, st[1].n_steps);
  g_assert_cmpuint(st[0].n_steps + 3, <=, st[1].n_steps);
}

typedef void (*LutFn)(const uint8_t *t, const uint8_t *x, uint8_t *y, int64_t n);
typedef void (*LutRowsFn)(const uint8_t *t, uint8_t *y, int64_t rows, int64_t stride, int64_t n);

static void lut_check(const char *name, LutFn lut, LutRowsFn lut_rows) {
  uint8_t t[256], x[1100], y[1100], z[1100];
  for (int v = 0; v < 256; v++) t[v] = (uint8_t)rnd();
  for (int i = 0; i < 1100; i++) x[i] = (uint8_t)rnd();
  for (int v = 0; v < 256; v++) x[v] = (uint8_t)v; /* every value */
  for (int64_t n = 0; n < 1000; n += (n < 140 ? 1 : 37))
    for (int off = 0; off < 3; off++) {
      memset(y, 0xAB, sizeof y);
      lut(t, x + off, y + off, n);
      for (int64_t i = 0; i < n; i++)
        if (y[off + i] != t[x[off + i]]) g_error("%s: n %" G_GINT64_FORMAT " byte %" G_GINT64_FORMAT " differs", name, n, i);
      g_assert_cmpuint(y[off + n], ==, 0xAB);
      memcpy(z, x, sizeof z);
      lut(t, z + off, z + off, n);
      for (int64_t i = 0; i < n; i++) g_assert_cmpuint(z[off + i], ==, t[x[off + i]]);
    }
  /* rows in place: every row length 0..80 (short rows, the overlapping last vector), 1-4 rows, strides
   * equal to the length (merged into one row) and longer; the bytes between rows stay untouched */
  for (int64_t n = 0; n <= 80; n++)
    for (int64_t rows = 1; rows <= 4; rows++)
      for (int64_t gap = 0; gap <= 5; gap += 5) {
        const int64_t stride = n + gap;
        memcpy(z, x, sizeof z);
        lut_rows(t, z + 1, rows, stride, n);
        for (int64_t i = 0; i < rows * stride + 8; i++) {
          const int in_row = stride > 0 && i / stride < rows && i % stride < n;
          if (z[1 + i] != (in_row ? t[x[1 + i]] : x[1 + i]))
            g_error("%s rows: n %" G_GINT64_FORMAT " rows %" G_GINT64_FORMAT " stride %" G_GINT64_FORMAT
                    " byte %" G_GINT64_FORMAT " differs", name, n, rows, stride, i);
        }
        g_assert_cmpuint(z[0], ==, x[0]);
      }
}

static void test_lut_span(void) {
  g_test_summary("cpu_qlut and cpu_qlut_rows, and each vector path the CPU has (AVX2 vpshufb rows, AVX512-VBMI "
                 "vpermi2b) directly: y[i] = t[x[i]] for every length and alignment, in place too; rows of any "
                 "length and stride, in place, the bytes between rows untouched");
  lut_check("dispatch", cpu_qlut, cpu_qlut_rows);
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) lut_check("avx2", cpu_qlut_avx2, cpu_qlut_rows_avx2);
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi"))
    lut_check("vbmi", cpu_qlut_vbmi, cpu_qlut_rows_vbmi);
  else
    g_test_message("AVX512-VBMI table path not on this CPU: not run");
#endif
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  GError *e = NULL;
  if (!msc_ops_register_builtins(&e) || !msc_plugins_load_all(&e)) {
    g_printerr("test-int8: init: %s\n", e->message);
    return 1;
  }
  have_runners = msc_registry_get("msc.runner.cpu", MSC_REG_RUNNER, TRUE, NULL) != NULL &&
                 msc_registry_get("msc.runner.ref", MSC_REG_RUNNER, TRUE, NULL) != NULL;
  for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *path = g_strdup_printf("/int8/kernels/%s", cases[i].name);
    g_test_add_data_func(path, &cases[i], check_case);
    g_free(path);
  }
  g_test_add_func("/int8/kernels/pick", test_pick);
  g_test_add_func("/int8/kernels/paths-taken", test_paths_taken);
  g_test_add_func("/int8/kernels/lut", test_lut_span);
  g_test_add_func("/int8/kernels/maxpool-s2", test_maxpool_s2);
  g_test_add_data_func("/int8/models/squeezenet-rand-qdq", "squeezenet_rand_qdq", test_corpus_model);
  g_test_add_data_func("/int8/models/ppocr-cls-mobile-v2-qdq", "ppocr_cls_mobile_v2_qdq", test_corpus_model);
  g_test_add_func("/int8/fusion/tables", test_table_fusion);
  g_test_add_func("/int8/fusion/regions", test_regions);
  g_test_add_func("/int8/ops/concat-requant", test_concat_requant);
  g_test_add_func("/int8/steps/quant-dequant", test_qdq_steps);
  g_test_add_func("/int8/fusion/conv-tables", test_conv_tables);
  g_test_add_func("/int8/fusion/conv-add", test_conv_add);
  g_test_add_func("/int8/fusion/pad-conv", test_pad_conv);
  g_test_add_func("/int8/fusion/resize", test_resize);
  g_test_add_func("/int8/fusion/nhwc-input", test_qinput);
  g_test_add_func("/int8/fusion/conv-add-plain", test_conv_add_plain);
  g_test_add_func("/int8/fusion/float-region", test_float_region);
  g_test_add_func("/int8/fusion/rank-pool", test_rank_pool);
  return g_test_run();
}
