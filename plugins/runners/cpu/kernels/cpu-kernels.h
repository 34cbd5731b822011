/* cpu-kernels.h: the `cpu` runner's own float32 kernels for the non-conv
 * ops (Gemm/MatMul, pooling, per-channel affine + activation, elementwise
 * binary, LRN, reductions). One template (cpu-kernels.inc.h) compiled per
 * ISA (cpu-kernels-scalar.c, cpu-kernels-avx2.c with `#pragma GCC target`);
 * cpu_kernels_get() picks the table at run time. Every kernel works on one
 * slice of the work so the caller can split it over the thread pool. */
#ifndef MSC_CPU_KERNELS_H
#define MSC_CPU_KERNELS_H

#include <stdint.h>

#include "kernels/conv2d-plan.h"

/* Gemm B panels: NR columns each, [K][NR] contiguous, zero-padded. */
#define CPU_GEMM_NR 16
#define CPU_GEMM_MR 4

typedef enum { CPU_BIN_ADD = 0, CPU_BIN_SUB, CPU_BIN_MUL, CPU_BIN_DIV } CpuBinOp;
/* operand layout of a binary kernel call */
typedef enum { CPU_BC_SAME = 0, CPU_BC_B_SCALAR, CPU_BC_A_SCALAR } CpuBcast;

typedef struct {
  int64_t H, W, OH, OW, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  int avg;               /* 0 max, 1 average */
  int count_include_pad; /* average: divisor counts the explicit pads */
  int64_t tmp_w;         /* floats of the row scratch (>= pl + W and the last window's end) */
} CpuPool2d;

typedef struct {
  /* y[i] = act(x[i] * s + t) */
  void (*affine_act)(const float *x, float *y, int64_t n, float s, float t, MscActivation act, float a, float b);
  /* y = a op b over n elements (a scalar side broadcast per CpuBcast) */
  void (*binary)(const float *a, const float *b, float *y, int64_t n, CpuBinOp op, CpuBcast bc);
  /* one [H, W] plane -> [OH, OW]; @tmp: tmp_w floats */
  void (*pool2d)(const CpuPool2d *g, const float *x, float *y, float *tmp);
  float (*sum)(const float *x, int64_t n);
  float (*max)(const float *x, int64_t n);
  /* Y[m, n] = act(A[m, :K] . Bp[:, n] + bias[n]) for rows m0..m1, panels p0..p1
   * (columns p*NR .. min(N, p*NR+NR)); bias nullable (length >= panels*NR) */
  void (*gemm)(const float *A, int64_t lda, const float *Bp, int64_t K, const float *bias, float *Y, int64_t ldy,
               int64_t N, int64_t m0, int64_t m1, int64_t p0, int64_t p1, MscActivation act, float a, float b);
  /* LRN over channels for one image [C, HW], pixels hw0..hw1:
   * y = x / (bias + alpha/size * sum_window x^2)^beta; @tmp: (hw1-hw0) floats */
  void (*lrn)(const float *x, float *y, int64_t C, int64_t HW, int64_t hw0, int64_t hw1, int64_t size, float alpha,
              float beta, float bias, float *tmp);
  const char *name;
} CpuKernels;

extern const CpuKernels cpu_kernels_scalar;
#if defined(__x86_64__) || defined(__i386__)
extern const CpuKernels cpu_kernels_avx2;
#define CPU_HAVE_AVX2_KERNELS 1
#endif

/* The table for @isa (AVX2 kernels for avx2 and avx512; scalar otherwise). */
const CpuKernels *cpu_kernels_get(MscIsa isa);

#endif
