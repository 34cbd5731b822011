/* f32-conv2d-direct-scalar.c: portable instantiation of the conv template
 * (one float per "vector"); always built, the fallback on every CPU. */
#define ISA_SUFFIX scalar
#define MSC_ISA_ENUM MSC_ISA_SCALAR
#define VL 1
#define MB 4
#define RW 4
#define RWD 4
#define CV_NP 4 /* channel-vectorized block: pixels x channel vectors */
#define CV_MV 4
typedef float vec_t;
#define VZERO() 0.0f
#define VSET1(f) ((float) (f))
#define VLOAD(p) (*(const float *) (p))
#define VSTORE(p, v) (*(p) = (v))
#define VBCAST(p) (*(const float *) (p))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VADD(a, b) ((a) + (b))
#define VSUB(a, b) ((a) - (b))
#define VMUL(a, b) ((a) * (b))
#define VMAX(a, b) fmaxf((a), (b))
#define VMIN(a, b) fminf((a), (b))
#include <stdint.h>
#include <string.h>
static inline float vand_scalar(float a, float b) { /* bitwise: a where b is all-ones, else +0 */
  uint32_t x, y;
  memcpy(&x, &a, sizeof x);
  memcpy(&y, &b, sizeof y);
  x &= y;
  memcpy(&a, &x, sizeof a);
  return a;
}
#define VAND(a, b) vand_scalar((a), (b))
/* lanes [lo, hi) of a load (0 <= lo, hi <= VL), the others read as 0 and never touched */
typedef int vmask_t;
#define VMASK_RANGE(lo, hi) ((lo) <= 0 && 0 < (hi))
#define VLOAD_MASK(p, m) ((m) ? *(const float *) (p) : 0.0f)
#define VBLEND_M(a, b, m) ((m) ? (b) : (a)) /* lanes of b where m is set */
#define VEVEN2(lo, hi) ((void) (hi), (lo)) /* one lane: the even lane of (lo, hi) is lo */
#define VEVEN2_ORDER(v) (v)
#define VODD2(lo, hi) ((void) (lo), (hi)) /* one lane: the odd lane of (lo, hi) is hi */
#define VSTORE_RANGE(p, v, lo, hi) ((lo) <= 0 && 0 < (hi) ? (void) (*(p) = (v)) : (void) 0)
#include "f32-conv2d-direct.inc.h"
