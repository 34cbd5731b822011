/* int8-peak.c: single-thread throughput ceiling of the int8 and fp32
 * multiply-accumulate instruction chains on this CPU (register-resident,
 * 12 independent accumulators, inline asm so nothing is hoisted or spilled), in MACs per ns,
 * at 256 bits (AVX2 / AVX-VNNI) and, where the CPU has AVX-512, at 512 bits. Benchmark only.
 *   fma      vfmadd231ps                          8 | 16 MACs / instr
 *   madd     vpmaddwd + vpaddd (int16 pairs)      16 | 32 MACs / pair of instrs
 *   ubs      vpmaddubsw + vpmaddwd(1) + vpaddd    32 | 64 MACs / 3 instrs
 *   vnni     vpdpbusd (avxvnni | avx512vnni)      32 | 64 MACs / instr
 * The FMA operands are 1.0f (normal floats: the words-of-1 pattern the integer chains use is a
 * denormal as a float, and Intel cores run FMAs on denormals through microcode assists, ~100x
 * slower). Build: cc -O2 benchmarks/int8-peak.c -o /tmp/int8-peak */
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

/* twelve copies of one accumulate step into registers 0..11 of width R (y or z) */
#define STEP12(S) S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11)
#define CLOBBERS                                                                                              \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
      "xmm13", "xmm14", "xmm15", "cc"
/* operands: 12, 13 = the multiplicands, 14 = scratch, 15 = words of 1; accumulators zeroed */
#define PROLOGUE                                                                                    \
  "vpxor %%ymm0, %%ymm0, %%ymm0\n\tvpxor %%ymm1, %%ymm1, %%ymm1\n\tvpxor %%ymm2, %%ymm2, %%ymm2\n\t"  \
  "vpxor %%ymm3, %%ymm3, %%ymm3\n\tvpxor %%ymm4, %%ymm4, %%ymm4\n\tvpxor %%ymm5, %%ymm5, %%ymm5\n\t"  \
  "vpxor %%ymm6, %%ymm6, %%ymm6\n\tvpxor %%ymm7, %%ymm7, %%ymm7\n\tvpxor %%ymm8, %%ymm8, %%ymm8\n\t"  \
  "vpxor %%ymm9, %%ymm9, %%ymm9\n\tvpxor %%ymm10, %%ymm10, %%ymm10\n\tvpxor %%ymm11, %%ymm11, %%ymm11\n\t" \
  "vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n\tvpsrlw $15, %%ymm15, %%ymm15\n\t"

#define FMA_Y(i) "vfmadd231ps %%ymm12, %%ymm13, %%ymm" #i "\n\t"
#define MADD_Y(i) "vpmaddwd %%ymm12, %%ymm13, %%ymm14\n\tvpaddd %%ymm14, %%ymm" #i ", %%ymm" #i "\n\t"
#define UBS_Y(i) \
  "vpmaddubsw %%ymm12, %%ymm13, %%ymm14\n\tvpmaddwd %%ymm15, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm" #i ", %%ymm" #i "\n\t"
#define VNNI_Y(i) "%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm" #i "\n\t"
#define FMA_Z(i) "vfmadd231ps %%zmm12, %%zmm13, %%zmm" #i "\n\t"
#define MADD_Z(i) "vpmaddwd %%zmm12, %%zmm13, %%zmm14\n\tvpaddd %%zmm14, %%zmm" #i ", %%zmm" #i "\n\t"
#define UBS_Z(i) \
  "vpmaddubsw %%zmm12, %%zmm13, %%zmm14\n\tvpmaddwd %%zmm15, %%zmm14, %%zmm14\n\tvpaddd %%zmm14, %%zmm" #i ", %%zmm" #i "\n\t"
#define VNNI_Z(i) "vpdpbusd %%zmm12, %%zmm13, %%zmm" #i "\n\t"

/* integer chains: multiplicands = words of 1; FMA chains: 1.0f */
#define INT_OPS "vmovdqa %%ymm15, %%ymm12\n\tvmovdqa %%ymm15, %%ymm13\n\t"
#define FLT_OPS "vbroadcastss %1, %%ymm12\n\tvmovaps %%ymm12, %%ymm13\n\t"
#define INT_OPS_Z "vpbroadcastd %%xmm15, %%zmm15\n\tvmovdqa64 %%zmm15, %%zmm12\n\tvmovdqa64 %%zmm15, %%zmm13\n\t"
#define FLT_OPS_Z "vbroadcastss %1, %%zmm12\n\tvmovaps %%zmm12, %%zmm13\n\t"

#define CHAIN(name, tgt, ops, S, vz)                                              \
  __attribute__((target(tgt), noinline)) static int name(long n) {                \
    const float one = 1.0f;                                                          \
    __asm__ volatile(PROLOGUE ops "1:\n\t" STEP12(S) "dec %0\n\tjnz 1b\n\t" vz \
                     : "+r"(n)                                                       \
                     : "m"(one)                                                      \
                     : CLOBBERS);                                                    \
    return (int)n;                                                                   \
  }
CHAIN(run_fma, "avx2,fma", FLT_OPS, FMA_Y, "")
CHAIN(run_madd, "avx2,fma", INT_OPS, MADD_Y, "")
CHAIN(run_ubs, "avx2,fma", INT_OPS, UBS_Y, "")
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define HAVE_VNNI_ASM 1
CHAIN(run_vnni, "avx2,fma,avxvnni", INT_OPS, VNNI_Y, "")
#endif
#define AVX512 "avx2,fma,avx512f,avx512bw,avx512vl"
CHAIN(run_fma_z, AVX512, FLT_OPS_Z, FMA_Z, "vzeroupper\n\t")
CHAIN(run_madd_z, AVX512, INT_OPS_Z, MADD_Z, "vzeroupper\n\t")
CHAIN(run_ubs_z, AVX512, INT_OPS_Z, UBS_Z, "vzeroupper\n\t")
CHAIN(run_vnni_z, AVX512 ",avx512vnni", INT_OPS_Z, VNNI_Z, "vzeroupper\n\t")

typedef int (*ChainFn)(long);
typedef struct {
  const char *label;
  ChainFn fn;
  int macs; /* per chain step */
  int instrs;
  const char *feature; /* NULL: avx2 */
} Chain;

int main(void) {
  __builtin_cpu_init();
  const int z = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  const Chain chains[] = {
      {"fp32 vfmadd231ps ymm", run_fma, 8, 1, NULL},
      {"int16 vpmaddwd+vpaddd ymm", run_madd, 16, 2, NULL},
      {"u8s8 vpmaddubsw+vpmaddwd+add ymm", run_ubs, 32, 3, NULL},
#ifdef HAVE_VNNI_ASM
      {"u8s8 vpdpbusd ymm (avxvnni)", run_vnni, 32, 1, "avxvnni"},
#endif
      {"fp32 vfmadd231ps zmm", run_fma_z, 16, 1, "avx512f"},
      {"int16 vpmaddwd+vpaddd zmm", run_madd_z, 32, 2, "avx512f"},
      {"u8s8 vpmaddubsw+vpmaddwd+add zmm", run_ubs_z, 64, 3, "avx512f"},
      {"u8s8 vpdpbusd zmm (avx512vnni)", run_vnni_z, 64, 1, "avx512vnni"},
  };
  enum { NC = sizeof chains / sizeof chains[0] };
  double best[NC];
  int have[NC];
  for (int c = 0; c < NC; c++) {
    best[c] = 1e9;
    have[c] = !chains[c].feature ? 1
              : !__builtin_strcmp(chains[c].feature, "avxvnni") ? __builtin_cpu_supports("avxvnni")
              : !__builtin_strcmp(chains[c].feature, "avx512vnni") ? z && __builtin_cpu_supports("avx512vnni")
                                                                   : z;
  }
  volatile double sink = 0;
  for (int rep = 0; rep < 5; rep++)
    for (int c = 0; c < NC; c++) {
      if (!have[c]) continue;
      double t = now();
      sink += chains[c].fn(ITERS);
      t = now() - t;
      if (t < best[c]) best[c] = t;
    }
  const double n = ITERS * 12.0;
  printf("int8-peak: 1 thread, best of 5 runs of %ld x 12 independent steps; x = MACs/ns over fp32 FMA at the same width\n",
         ITERS);
  for (int c = 0; c < NC; c++) {
    const int wide = chains[c].fn == run_fma_z || chains[c].fn == run_madd_z || chains[c].fn == run_ubs_z ||
                     chains[c].fn == run_vnni_z;
    const int ref = wide ? 4 : 0; /* the fp32 chain of the same width */
    if (!have[c]) {
      printf("%-34s (not on this CPU)\n", chains[c].label);
      continue;
    }
    const double macs = n * chains[c].macs / best[c] * 1e-9;
    printf("%-34s %7.2f GMAC/s  (%.2f instr/ns)", chains[c].label, macs, n * chains[c].instrs / best[c] * 1e-9);
    if (c != ref && have[ref]) printf("  %.2fx fp32", macs / (n * chains[ref].macs / best[ref] * 1e-9));
    printf("\n");
  }
  return sink == 12345.0;
}
#else
#include <stdio.h>
int main(void) {
  puts("int8-peak: x86-64 only");
  return 0;
}
#endif
