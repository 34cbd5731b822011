/* cpu-kernels-scalar.c: portable instantiation of cpu-kernels.inc.h (one
 * float per "vector"); the reference for the wider ones. */
#define KSUFFIX scalar
#define VL 1
typedef float vec_t;
#define VZERO() 0.0f
#define VSET1(f) (f)
#define VLOAD(p) (*(p))
#define VSTORE(p, v) (*(p) = (v))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VADD(a, b) ((a) + (b))
#define VSUB(a, b) ((a) - (b))
#define VMUL(a, b) ((a) * (b))
#define VDIV(a, b) ((a) / (b))
#define VMAX(a, b) ((a) > (b) ? (a) : (b))
#define VMIN(a, b) ((a) < (b) ? (a) : (b))
#define VSQRT(a) sqrtf(a)
#define VHSUM(v) (v)
#define VHMAX(v) (v)
#include "cpu-kernels.inc.h"

#include "cpu-kernels.h"

const CpuKernels *cpu_kernels_get(MscIsa isa) {
#ifdef CPU_HAVE_AVX2_KERNELS
  if (isa >= MSC_ISA_AVX2) return &cpu_kernels_avx2;
#endif
  (void)isa;
  return &cpu_kernels_scalar;
}
