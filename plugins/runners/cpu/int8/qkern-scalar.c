/* qkern-scalar.c: the int8 conv kernels on plain C arrays, two layouts:
 * KG=2 int16 pairs (the portable kernel) and KG=4 uint8 x int8 quads with
 * the VNNI (vpdpbusd) semantics emulated exactly, so the VNNI data layout,
 * packing and zero-point corrections are tested on any CPU. */
#include "qconv.h"

#define VL 8
#define NV 2
#define MR 4
#define acc_t qs_acc_t
#define w_t int32_t
typedef struct {
  int32_t v[VL];
} qs_acc_t;
static inline qs_acc_t qs_azero(void) {
  qs_acc_t a;
  memset(&a, 0, sizeof a);
  return a;
}
static inline qs_acc_t qs_acc_add(qs_acc_t a, int32_t c) {
  for (int l = 0; l < VL; l++) a.v[l] += c;
  return a;
}
static inline void qs_store_i32(int32_t *dst, qs_acc_t a, int64_t n) {
  memcpy(dst, a.v, (size_t)n * sizeof(int32_t));
}
static inline void qs_store_q(uint8_t *dst, qs_acc_t a, float mult, float fbias, float flo, float fhi, int32_t zy,
                              int sgn, int64_t n) {
  for (int64_t l = 0; l < n; l++) {
    int32_t q = cpu_qrequant(a.v[l], mult, fbias, flo, fhi, zy);
    dst[l] = sgn ? (uint8_t)(int8_t)q : (uint8_t)q;
  }
}
#define AZERO qs_azero
#define WSET1(w) (w)
#define ACC_ADD qs_acc_add
#define STORE_I32 qs_store_i32
#define STORE_Q qs_store_q

/* ---- KG = 2: int16 pairs ---- */
typedef struct {
  int16_t e[VL * 2];
} qs_xv2_t;
static inline qs_xv2_t qs_xload2(const int16_t *p) {
  qs_xv2_t x;
  memcpy(x.e, p, sizeof x.e);
  return x;
}
static inline qs_acc_t qs_madd2(qs_acc_t a, qs_xv2_t x, int32_t w) {
  int16_t wv[2];
  memcpy(wv, &w, sizeof wv);
  for (int l = 0; l < VL; l++) a.v[l] += (int32_t)x.e[2 * l] * wv[0] + (int32_t)x.e[2 * l + 1] * wv[1];
  return a;
}
#define KSUF scalar
#define QKNAME "scalar"
#define KG 2
#define XELEM int16_t
#define xv_t qs_xv2_t
#define XLOAD qs_xload2
#define MADD qs_madd2
#include "qkern.inc.h"
#undef KSUF
#undef QKNAME
#undef KG
#undef XELEM
#undef xv_t
#undef XLOAD
#undef MADD

/* ---- KG = 4: uint8 x int8 quads (vpdpbusd semantics, no saturation) ---- */
typedef struct {
  uint8_t e[VL * 4];
} qs_xv4_t;
static inline qs_xv4_t qs_xload4(const uint8_t *p) {
  qs_xv4_t x;
  memcpy(x.e, p, sizeof x.e);
  return x;
}
static inline qs_acc_t qs_madd4(qs_acc_t a, qs_xv4_t x, int32_t w) {
  int8_t wv[4];
  memcpy(wv, &w, sizeof wv);
  for (int l = 0; l < VL; l++)
    for (int e = 0; e < 4; e++) a.v[l] += (int32_t)x.e[4 * l + e] * wv[e];
  return a;
}
#define KSUF emu4
#define QKNAME "emu4"
#define KG 4
#define XELEM uint8_t
#define xv_t qs_xv4_t
#define XLOAD qs_xload4
#define MADD qs_madd4
#include "qkern.inc.h"
#include "qkern-undef.h"
