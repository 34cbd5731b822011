/* int8-peak.c: single-thread throughput ceiling of the int8 and fp32
 * multiply-accumulate instruction chains on this CPU (register-resident,
 * 12 independent accumulators, inline asm so nothing is hoisted or spilled), in MACs per ns. Benchmark only.
 *   fma      vfmadd231ps ymm                      8 MACs / instr
 *   madd     vpmaddwd + vpaddd ymm (int16 pairs)  16 MACs / pair of instrs
 *   ubs      vpmaddubsw + vpmaddwd(1) + vpaddd    32 MACs / 3 instrs
 *   vnni     vpdpbusd ymm (only if avxvnni)       32 MACs / instr
 * Build: cc -O2 benchmarks/int8-peak.c -o /tmp/int8-peak */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define ITERS 20000000L
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((target("avx2,fma"), noinline)) static int run_fma(long n) {
  __asm__ volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n\tvpsrlw $15, %%ymm15, %%ymm15\n\t" /* words of 1 */
      "vmovdqa %%ymm15, %%ymm12\n\tvmovdqa %%ymm15, %%ymm13\n\t"
      "1:\n\t"
      "vfmadd231ps %%ymm12, %%ymm13, %%ymm0\n\tvfmadd231ps %%ymm12, %%ymm13, %%ymm1\n\tvfmadd231ps %%ymm12, %%ymm13, %%ymm2\n\tvfmadd231ps %%ymm12, %%ymm13, %%ymm3\n\tvfmadd231ps %%ymm12, %%ymm13, %%ymm4\n\tvfmadd231ps %%ymm12, %%ymm13, %%ymm5\n\tvfmadd231ps %%ymm12, %%ymm13, %%ymm6\n\tvfmadd231ps %%ymm12, %%ymm13, %%ymm7\n\tvfmadd231ps %%ymm12, %%ymm13, %%ymm8\n\tvfmadd231ps %%ymm12, %%ymm13, %%ymm9\n\tvfmadd231ps %%ymm12, %%ymm13, %%ymm10\n\tvfmadd231ps %%ymm12, %%ymm13, %%ymm11\n\t"
      "dec %0\n\tjnz 1b\n\t"
      : "+r"(n)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "cc");
  return (int)n;
}
__attribute__((target("avx2,fma"), noinline)) static int run_madd(long n) {
  __asm__ volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n\tvpsrlw $15, %%ymm15, %%ymm15\n\t" /* words of 1 */
      "vmovdqa %%ymm15, %%ymm12\n\tvmovdqa %%ymm15, %%ymm13\n\t"
      "1:\n\t"
      "vpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm0, %%ymm0\n\tvpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm1, %%ymm1\n\tvpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm2, %%ymm2\n\tvpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm3, %%ymm3\n\tvpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm4, %%ymm4\n\tvpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm5, %%ymm5\n\tvpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm6, %%ymm6\n\tvpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm7, %%ymm7\n\tvpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm8, %%ymm8\n\tvpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm9, %%ymm9\n\tvpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm10, %%ymm10\n\tvpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm11, %%ymm11\n\t"
      "dec %0\n\tjnz 1b\n\t"
      : "+r"(n)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "cc");
  return (int)n;
}
__attribute__((target("avx2,fma"), noinline)) static int run_ubs(long n) {
  __asm__ volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n\tvpsrlw $15, %%ymm15, %%ymm15\n\t" /* words of 1 */
      "vmovdqa %%ymm15, %%ymm12\n\tvmovdqa %%ymm15, %%ymm13\n\t"
      "1:\n\t"
      "vpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm0, %%ymm0\n\tvpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm1, %%ymm1\n\tvpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm2, %%ymm2\n\tvpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm3, %%ymm3\n\tvpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm4, %%ymm4\n\tvpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm5, %%ymm5\n\tvpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm6, %%ymm6\n\tvpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm7, %%ymm7\n\tvpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm8, %%ymm8\n\tvpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm9, %%ymm9\n\tvpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm10, %%ymm10\n\tvpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm11, %%ymm11\n\t"
      "dec %0\n\tjnz 1b\n\t"
      : "+r"(n)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "cc");
  return (int)n;
}
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
__attribute__((target("avx2,fma,avxvnni"), noinline)) static int run_vnni(long n) {
  __asm__ volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n\tvpsrlw $15, %%ymm15, %%ymm15\n\t" /* words of 1 */
      "vmovdqa %%ymm15, %%ymm12\n\tvmovdqa %%ymm15, %%ymm13\n\t"
      "1:\n\t"
      "%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm0\n\t%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm1\n\t%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm2\n\t%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm3\n\t%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm4\n\t%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm5\n\t%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm6\n\t%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm7\n\t%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm8\n\t%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm9\n\t%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm10\n\t%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm11\n\t"
      "dec %0\n\tjnz 1b\n\t"
      : "+r"(n)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "cc");
  return (int)n;
}
#endif

int main(void) {
  volatile double sink = 0;
  double best[4] = {1e9, 1e9, 1e9, 1e9};
  for (int rep = 0; rep < 5; rep++) {
    double t = now(); sink += run_fma(ITERS); t = now() - t; if (t < best[0]) best[0] = t;
    t = now(); sink += run_madd(ITERS); t = now() - t; if (t < best[1]) best[1] = t;
    t = now(); sink += run_ubs(ITERS); t = now() - t; if (t < best[2]) best[2] = t;
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avxvnni")) { t = now(); sink += run_vnni(ITERS); t = now() - t; if (t < best[3]) best[3] = t; }
#endif
  }
  double n = ITERS * 12.0;
  printf("fp32 vfmadd231ps:              %6.2f GMAC/s  (%.2f instr/ns)\n", n * 8 / best[0] * 1e-9, n / best[0] * 1e-9);
  printf("int16 vpmaddwd+vpaddd:         %6.2f GMAC/s  (%.2f madd/ns)  %.2fx fp32\n", n * 16 / best[1] * 1e-9,
         n / best[1] * 1e-9, (16 / best[1]) / (8 / best[0]));
  printf("u8s8 vpmaddubsw+vpmaddwd+add:  %6.2f GMAC/s  (%.2f chains/ns) %.2fx fp32\n", n * 32 / best[2] * 1e-9,
         n / best[2] * 1e-9, (32 / best[2]) / (8 / best[0]));
  if (best[3] < 1e9)
    printf("u8s8 vpdpbusd:                 %6.2f GMAC/s  %.2fx fp32\n", n * 32 / best[3] * 1e-9, (32 / best[3]) / (8 / best[0]));
  else
    printf("u8s8 vpdpbusd:                 (no AVX-VNNI on this CPU)\n");
  return sink == 12345.0;
}
#else
#include <stdio.h>
int main(void) {
  puts("int8-peak: x86-64 only");
  return 0;
}
#endif
