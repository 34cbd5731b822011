/* config.c: runtime CPU dispatch for the conv kernels. The only place that
 * asks the CPU what it supports; MSC_ISA may lower (never raise) the level. */
#include <string.h>
#include <time.h>

#include "conv2d-kernels.h"

gboolean msc_isa_supported(MscIsa isa) {
  switch (isa) {
  case MSC_ISA_SCALAR:
    return TRUE;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  case MSC_ISA_AVX2:
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case MSC_ISA_AVX512:
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("fma");
#endif
  default:
    return FALSE;
  }
}

const char *msc_isa_name(MscIsa isa) {
  switch (isa) {
  case MSC_ISA_SCALAR: return "scalar";
  case MSC_ISA_AVX2: return "avx2";
  case MSC_ISA_AVX512: return "avx512";
  }
  return "unknown";
}

/**
 * msc_isa_detect:
 * Returns: the highest supported level, lowered to $MSC_ISA
 * (scalar|avx2|avx512) when that is set and lower. An unknown or higher
 * MSC_ISA value is ignored (with a warning): never a level the CPU lacks.
 */
MscIsa msc_isa_detect(void) {
  MscIsa best = MSC_ISA_SCALAR;
  if (msc_isa_supported(MSC_ISA_AVX512))
    best = MSC_ISA_AVX512;
  else if (msc_isa_supported(MSC_ISA_AVX2))
    best = MSC_ISA_AVX2;
  const char *env = g_getenv("MSC_ISA");
  if (env && *env) {
    for (int i = MSC_ISA_SCALAR; i <= MSC_ISA_AVX512; i++) {
      if (strcmp(env, msc_isa_name((MscIsa) i)) == 0 || (i == MSC_ISA_AVX512 && strcmp(env, "avx512f") == 0)) {
        if (i < (int) best)
          best = (MscIsa) i;
        return best;
      }
    }
    g_warning("MSC_ISA=%s: not one of scalar|avx2|avx512; using %s", env, msc_isa_name(best));
  }
  return best;
}

/* Returns: (transfer none) (nullable): the kernels for @isa, NULL if this
 * build or CPU cannot run them. */
const MscConv2dKernels *msc_conv2d_kernels_get(MscIsa isa) {
  if (!msc_isa_supported(isa))
    return NULL;
  switch (isa) {
  case MSC_ISA_SCALAR:
    return &msc_f32_conv2d_direct_kernels__scalar;
#if defined(__x86_64__) || defined(__i386__)
  case MSC_ISA_AVX2:
    return &msc_f32_conv2d_direct_kernels__avx2;
  case MSC_ISA_AVX512:
    return &msc_f32_conv2d_direct_kernels__avx512f;
#endif
  default:
    return NULL;
  }
}

/* Thread CPU time: on a loaded shared machine wall time would measure the
 * scheduler, not the core. */
static double thread_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

double msc_isa_fma_peak_gflops(MscIsa isa, double seconds) {
  const MscConv2dKernels *k = msc_conv2d_kernels_get(isa);
  if (!k)
    return 0.0;
  if (seconds <= 0)
    seconds = 0.05;
  /* calibrate: grow the iteration count until one run takes ~seconds */
  int64_t iters = 1 << 16;
  for (;;) {
    double t0 = thread_seconds();
    k->fma_loop(iters);
    double dt = thread_seconds() - t0;
    if (dt >= seconds * 0.5 || iters > ((int64_t) 1 << 40))
      break;
    iters *= 2;
  }
  /* best of 9: the clock ramps and neighbours come and go on shared
   * machines (one run of 5 read 75 of 97 GFLOP/s here) */
  double best = 0.0;
  for (int rep = 0; rep < 9; rep++) {
    double t0 = thread_seconds();
    double flops = k->fma_loop(iters);
    double dt = thread_seconds() - t0;
    if (dt > 0 && flops / dt * 1e-9 > best)
      best = flops / dt * 1e-9;
  }
  return best;
}
