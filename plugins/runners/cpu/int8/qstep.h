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
 *   CPU_Q_GAP    GlobalAveragePool: exact integer sums, mean and Q in float */
#ifndef MSC_CPU_QSTEP_H
#define MSC_CPU_QSTEP_H

#include "qconv.h"

typedef enum { CPU_Q_CONV = 0, CPU_Q_LUT1, CPU_Q_LUT2, CPU_Q_MAXPOOL, CPU_Q_CONCAT, CPU_Q_GAP } CpuQKind;

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
  /* CONV */
  CpuQWeights *w;
  int gemm;                               /* MatMul/Gemm: rows are images of a 1x1 conv */
  MscDType xdt;
  int32_t zx, zy, lo, hi;
  /* LUT1 / MAXPOOL / CONCAT: n_x tables of 256; LUT2: 65536 */
  uint8_t *lut;
  /* GAP: y = Q(sx * (sum - n*zx) / n) */
  float sx, sy;
} CpuQStep;

void cpu_qstep_free(CpuQStep *q);

#endif
