/* qstep.h: int8 steps of the `cpu` runner (made by qpass.c, run by qops.c).
 *
 * A QDQ group DequantizeLinear(x_q) -> Op -> QuantizeLinear (and the
 * single-node QLinearConv, ConvInteger, QLinearMatMul, MatMulInteger)
 * becomes one step reading the 8-bit tensors and writing the 8-bit (or
 * int32) output; the float tensors in between never exist.
 *   CPU_Q_CONV   Conv / Gemm / MatMul (+ Relu/Clip): int32 accumulation, fused requantization
 *   CPU_Q_LUT1   elementwise op of one quantized input (and scalar constants), Reshape-like
 *                views: y = lut[x], lut = Q(op(DQ(v))) for all 256 v, made by running the
 *                graph's own DQ, op and Q kernels: bit-identical to the float simulation
 *   CPU_Q_LUT2   Add/Sub/Mul/Div/Max/Min of two quantized inputs: 256x256 table, same way
 *   CPU_Q_MAXPOOL  max over raw values (DQ is increasing), then the requant table
 *   CPU_Q_CONCAT each input through its own requant table
 *   CPU_Q_GAP    GlobalAveragePool: exact integer sums, mean and Q in float
 *   CPU_Q_GAPT   GlobalAveragePool of an elementwise float region f(DQ(x)): ftab[v] = f(DQ(v)) (the
 *                graph's kernels), summed in double in element order as the float kernel does
 *   CPU_Q_PAD    Pad (mode constant, non-negative pads): y = lut[x], padding = Q(value)
 *   CPU_Q_CATFILL Concat of DQ(x_k) (one scale / zero point) and all-zero float constants (BlazeFace's
 *                channel-padded shortcut) as the 8-bit concat with the zero point for the constants:
 *                DQ of it is the float Concat exactly (DQ(z) = 0.0); its output is a region leaf
 *   CPU_Q_QUANT  a QuantizeLinear left over (float input: e.g. after a layer kept in float), per-tensor:
 *                the float kernel's operations (x / s, NaN -> 0, round half to even, + z, saturate) on 8 lanes;
 *                an NHWC model's input pipeline too: [scalar affine chain ->] Transpose (0, 3, 1, 2) -> Q in
 *                one pass over the NHWC floats (nhwc, aff below)
 *   CPU_Q_DEQ    a DequantizeLinear left over (8-bit activation in, float out), per-tensor: (float)(x - z) * s
 *   CPU_Q_FLUT   an elementwise float region f(DQ(x)) whose output stays float (no QuantizeLinear: PP-OCR's last
 *                hardswish before its float MaxPool): y = ftab[x], ftab[v] = f(DQ(v)) by the graph's kernels
 *   CPU_Q_RESIZE DQ(x) -> Resize (linear / cubic) -> Q per plane: ftab[v] = DQ(v) by the graph's kernel, the
 *                float plane resize (ops/resize-planes.h, the Resize kernel's own code), the QuantizeLinear
 *                arithmetic (CPU_Q_QUANT's); shapes the plane form does not take: the same three stages on
 *                the whole tensor with the Resize kernel. The float tensors never reach memory (M-LSD's
 *                decoder upsamplings)
 * LUT1 / LUT2 also cover whole elementwise regions: several float nodes (hardswish as
 * Add/Clip/Mul/Div, squeeze-excite Mul of two such chains) between one or two activation
 * DequantizeLinear nodes and one QuantizeLinear, tabulated by running the region's nodes. */
#ifndef MSC_CPU_QSTEP_H
#define MSC_CPU_QSTEP_H

#include "qconv.h"

typedef enum { CPU_Q_CONV = 0, CPU_Q_LUT1, CPU_Q_LUT2, CPU_Q_MAXPOOL, CPU_Q_CONCAT, CPU_Q_GAP, CPU_Q_GAPT, CPU_Q_PAD, CPU_Q_CATFILL, CPU_Q_QUANT, CPU_Q_DEQ, CPU_Q_FLUT, CPU_Q_RESIZE } CpuQKind;

#define CPU_Q_MAX_IN 16
#define CPU_Q_MAX_NODES 24

typedef struct CpuQStep {
  CpuQKind kind;
  const MscNode *op;                      /* the op node (named in hooks) */
  const MscNode *nodes[CPU_Q_MAX_NODES];  /* group nodes in order (dims propagation) */
  uint32_t n_nodes;
  int32_t xs[CPU_Q_MAX_IN];               /* quantized inputs (value indices) */
  uint32_t n_x;
  int32_t y;                              /* output value */
  MscDType ydt;
  MscDType pydt;                          /* CONV with a fused table (lut): the output's dtype */
  /* CONV */
  CpuQWeights *w;
  int gemm;                               /* MatMul/Gemm: rows are images of a 1x1 conv */
  MscDType xdt;
  int32_t zx, zy, lo, hi;
  /* LUT1 / MAXPOOL / CONCAT: n_x tables of 256; LUT2: 65536; CONV: NULL or a fused LUT1 applied
   * to the requantized output */
  uint8_t *lut;
  /* GAP: y = Q(sx * (sum - n*zx) / n); QUANT, RESIZE: y = Q(x / sy) (zy); DEQ: (x - zx) * sx */
  float sx, sy;
  /* GAPT, FLUT: [256] float table (RESIZE: DQ(v)); PAD: fill value (output byte) */
  float *ftab;
  uint8_t fill;
  int8_t cin[CPU_Q_MAX_IN]; /* CATFILL: per Concat input, its index in xs, -1 for a zero constant */
  uint32_t n_cin;
  /* LUT2 of DQ(a) + DQ(b) [-> Relu] -> Q computed in float, vectorized, when the scalar formula
   * (cpu_qvadd1) equals the table on all 65536 pairs (checked when the step is made) */
  int vadd;
  CpuQVAdd va; /* vdivfree: f / vsy as q0 = f * vinv, q0 + (f - q0 * vsy) * vinv (two FMAs), when that
                * equals the division bit for bit on all 65536 pairs (checked when the step is made) */
  /* CONV with a fused residual add (fvadd): xs[1] is the other input of va, the conv's bytes are input
   * vside; the step writes the add's output (dtype pydt) */
  int fvadd, vside;
  int region; /* LUT1/LUT2/GAPT made from an elementwise region (output dims: the inputs') */
  int ownpool; /* MAXPOOL with no Q after it, writing the MaxPool's own value as ydt: a region leaf (nodes DQ,
                * MaxPool; 8-bit) or the MaxPool of order ranks (float, through ftab) */
  /* QUANT of an NHWC model's input pipeline (passes.c): x is [N, H, W, C] float read through an absorbed
   * Transpose (0, 3, 1, 2) (nhwc) and, before it, a scalar affine chain y = act(x * as + at) (aff: its
   * kernel, the affine step's own); the output is the NCHW bytes */
  int nhwc, aff;
  float as, at, aa, ab;
  MscActivation aact;
} CpuQStep;

void cpu_qstep_free(CpuQStep *q);

#endif
