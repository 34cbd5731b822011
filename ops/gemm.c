/* ops/gemm.c: Gemm, MatMul, MatMulInteger, QLinearMatMul.
 *
 * All float products go through one kernel, sgemm_acc (C += A * op(B)):
 *   - M >= 4: B is packed in KC x NC blocks of 8-column panels and a 4x8
 *     register-blocked micro-kernel runs over them (the classic GotoBLAS
 *     loop order jc -> pc -> ic -> jr), so the packed block (512 KiB) stays
 *     in L2 and each A row segment is reused for 8 columns;
 *   - M < 4 (batch-1 FC layers such as VGG-19's 25088x4096): no packing,
 *     which would cost as much as the product; rows of B are streamed once,
 *     as dot products (transB) or row updates (no transB).
 * The micro-kernels use GCC/Clang generic vector types (4 x float, plain
 * SSE2/NEON at -O2), not ISA intrinsics, so no per-ISA build flags.
 *
 * float16 is computed in float32; MatMul also takes int32/int64 (int64
 * accumulation, wrapping as the spec allows). MatMulInteger and
 * QLinearMatMul are exact integer products (int32 accumulation wrap), the
 * latter requantized with a float multiplier, round half to even, saturate.
 */
#include <math.h>
#include <string.h>

#include "op-util.h"
#include "ops.h"
#include "tensor.h"

/* ---- float kernel ------------------------------------------------------------ */

#define GEMM_KC 256 /* K block: 4x8 kernel reads 256 A floats per row, 8 KiB of panel */
#define GEMM_NC 512 /* N block: KC x NC floats = 512 KiB packed, half of L2 */
#define GEMM_MR 4
#define GEMM_NR 8

#if defined(__GNUC__) || defined(__clang__)
#define GEMM_HAVE_VEC 1
typedef float v4f __attribute__((vector_size(16)));
static inline v4f v4_load(const float *p)
{
  v4f v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void v4_store(float *p, v4f v)
{
  memcpy(p, &v, sizeof v);
}
#else
#define GEMM_HAVE_VEC 0
#endif

/* Packs B[pc:pc+kc, jc:jc+nc] (op(B) view) into panels of GEMM_NR columns:
 * panel p holds kc rows of GEMM_NR floats, zero padded past nc. */
static void pack_b(const float *B, int64_t ldb, int transB, int64_t pc, int64_t jc, int64_t kc,
                   int64_t nc, float *dst)
{
  for (int64_t jp = 0; jp < nc; jp += GEMM_NR) {
    int64_t nr = nc - jp < GEMM_NR ? nc - jp : GEMM_NR;
    float *d = dst + (jp / GEMM_NR) * kc * GEMM_NR;
    if (!transB) {
      for (int64_t k = 0; k < kc; k++) {
        const float *s = B + (pc + k) * ldb + jc + jp;
        int64_t j = 0;
        for (; j < nr; j++)
          d[k * GEMM_NR + j] = s[j];
        for (; j < GEMM_NR; j++)
          d[k * GEMM_NR + j] = 0.f;
      }
    } else {
      /* op(B)[k][j] = B[j][k]: read nr rows of B along k */
      for (int64_t j = 0; j < GEMM_NR; j++) {
        if (j < nr) {
          const float *s = B + (jc + jp + j) * ldb + pc;
          for (int64_t k = 0; k < kc; k++)
            d[k * GEMM_NR + j] = s[k];
        } else {
          for (int64_t k = 0; k < kc; k++)
            d[k * GEMM_NR + j] = 0.f;
        }
      }
    }
  }
}

/* C[mr x nr] += A[mr x kc] * panel[kc x 8]; rows past mr read row 0 and are
 * discarded, columns past nr are zero in the panel and not stored. */
static void micro_4x8(int64_t kc, const float *a, int64_t lda, int mr, const float *bp, float *c,
                      int64_t ldc, int nr)
{
  const float *a0 = a, *a1 = mr > 1 ? a + lda : a, *a2 = mr > 2 ? a + 2 * lda : a,
              *a3 = mr > 3 ? a + 3 * lda : a;
#if GEMM_HAVE_VEC
  v4f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
  for (int64_t k = 0; k < kc; k++, bp += GEMM_NR) {
    v4f b0 = v4_load(bp), b1 = v4_load(bp + 4);
    float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
    c00 += x0 * b0;
    c01 += x0 * b1;
    c10 += x1 * b0;
    c11 += x1 * b1;
    c20 += x2 * b0;
    c21 += x2 * b1;
    c30 += x3 * b0;
    c31 += x3 * b1;
  }
  float t[GEMM_MR][GEMM_NR];
  v4_store(&t[0][0], c00);
  v4_store(&t[0][4], c01);
  v4_store(&t[1][0], c10);
  v4_store(&t[1][4], c11);
  v4_store(&t[2][0], c20);
  v4_store(&t[2][4], c21);
  v4_store(&t[3][0], c30);
  v4_store(&t[3][4], c31);
#else
  float t[GEMM_MR][GEMM_NR] = {{0}};
  const float *ar[GEMM_MR] = {a0, a1, a2, a3};
  for (int64_t k = 0; k < kc; k++, bp += GEMM_NR)
    for (int i = 0; i < GEMM_MR; i++)
      for (int j = 0; j < GEMM_NR; j++)
        t[i][j] += ar[i][k] * bp[j];
#endif
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++)
      c[i * ldc + j] += t[i][j];
}

static float dot_f32(const float *a, const float *b, int64_t n)
{
  int64_t k = 0;
  float s = 0.f;
#if GEMM_HAVE_VEC
  v4f s0 = {0}, s1 = {0};
  for (; k + 8 <= n; k += 8) {
    s0 += v4_load(a + k) * v4_load(b + k);
    s1 += v4_load(a + k + 4) * v4_load(b + k + 4);
  }
  s0 += s1;
  s = (s0[0] + s0[1]) + (s0[2] + s0[3]);
#endif
  for (; k < n; k++)
    s += a[k] * b[k];
  return s;
}

static void axpy_f32(float *y, float a, const float *x, int64_t n)
{
  int64_t j = 0;
#if GEMM_HAVE_VEC
  for (; j + 8 <= n; j += 8) {
    v4_store(y + j, v4_load(y + j) + a * v4_load(x + j));
    v4_store(y + j + 4, v4_load(y + j + 4) + a * v4_load(x + j + 4));
  }
#endif
  for (; j < n; j++)
    y[j] += a * x[j];
}

/* C[M x N] (row stride ldc) += A[M x K] (row stride lda) * op(B), where
 * op(B) is B[K x N] (ldb) or, with transB, B[N x K] transposed.
 * Returns FALSE only when the packing buffer cannot be allocated. */
static gboolean sgemm_acc(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                          const float *B, int64_t ldb, int transB, float *C, int64_t ldc)
{
  if (M <= 0 || N <= 0 || K <= 0)
    return TRUE;
  if (M < GEMM_MR) {
    for (int64_t i = 0; i < M; i++) {
      const float *ar = A + i * lda;
      float *cr = C + i * ldc;
      if (transB) {
        for (int64_t j = 0; j < N; j++)
          cr[j] += dot_f32(ar, B + j * ldb, K);
      } else {
        for (int64_t k = 0; k < K; k++)
          if (ar[k] != 0.f)
            axpy_f32(cr, ar[k], B + k * ldb, N);
      }
    }
    return TRUE;
  }
  int64_t ncmax = N < GEMM_NC ? N : GEMM_NC;
  int64_t kcmax = K < GEMM_KC ? K : GEMM_KC;
  int64_t panels = (ncmax + GEMM_NR - 1) / GEMM_NR;
  float *pack = g_try_malloc((size_t)(kcmax * panels * GEMM_NR) * sizeof(float));
  if (!pack)
    return FALSE;
  for (int64_t jc = 0; jc < N; jc += GEMM_NC) {
    int64_t nc = N - jc < GEMM_NC ? N - jc : GEMM_NC;
    for (int64_t pc = 0; pc < K; pc += GEMM_KC) {
      int64_t kc = K - pc < GEMM_KC ? K - pc : GEMM_KC;
      pack_b(B, ldb, transB, pc, jc, kc, nc, pack);
      for (int64_t ic = 0; ic < M; ic += GEMM_MR) {
        int mr = (int)(M - ic < GEMM_MR ? M - ic : GEMM_MR);
        for (int64_t jp = 0; jp < nc; jp += GEMM_NR) {
          int nr = (int)(nc - jp < GEMM_NR ? nc - jp : GEMM_NR);
          micro_4x8(kc, A + ic * lda + pc, lda, mr, pack + (jp / GEMM_NR) * kc * GEMM_NR,
                    C + ic * ldc + jc + jp, ldc, nr);
        }
      }
    }
  }
  g_free(pack);
  return TRUE;
}

/* ---- shared helpers ---------------------------------------------------------- */

static float get_f(const MscTensor *t, int64_t i)
{
  return t->dtype == MSC_DTYPE_FLOAT16 ? msc_f16_to_f32(((const uint16_t *)t->data)[i])
                                       : ((const float *)t->data)[i];
}

/* float32 view of a float32/float16 tensor (a converted copy in *tmp). */
static const float *float_view(const MscTensor *t, float **tmp)
{
  *tmp = NULL;
  if (t->dtype == MSC_DTYPE_FLOAT32)
    return t->data;
  int64_t n = msc_tensor_numel(t);
  float *b = g_try_malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  if (!b)
    return NULL;
  for (int64_t i = 0; i < n; i++)
    b[i] = get_f(t, i);
  *tmp = b;
  return b;
}

static const char *fmt_shape(const MscTensor *t, char *buf, size_t size)
{
  return msc_shape_format(t->rank, t->dims, buf, size);
}

/* ---- Gemm ------------------------------------------------------------------------ */

typedef struct {
  float alpha, beta;
  int transA, transB;
  int64_t M, N, K;
} GemmParams;

static MscStatus gemm_params(MscOpCtx *ctx, GemmParams *gp)
{
  const MscTensor *A = msc_op_input(ctx, 0), *B = msc_op_input(ctx, 1), *C = msc_op_input(ctx, 2);
  int64_t ta, tb, bc = 0;
  char s1[200], s2[200];
  if (msc_op_attr_float(ctx, "alpha", 1.f, &gp->alpha) ||
      msc_op_attr_float(ctx, "beta", 1.f, &gp->beta) ||
      msc_op_attr_int(ctx, "transA", 0, &ta) || msc_op_attr_int(ctx, "transB", 0, &tb))
    return ctx->status;
  if (ctx->node->opset < 7 && msc_op_attr_int(ctx, "broadcast", 0, &bc))
    return ctx->status;
  if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "attribute '%s': %lld, expected 0 or 1",
                       (ta != 0 && ta != 1) ? "transA" : "transB",
                       (long long)((ta != 0 && ta != 1) ? ta : tb));
  gp->transA = (int)ta;
  gp->transB = (int)tb;
  if (msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_UNDEFINED) ||
      msc_op_check_same_dtype(ctx, 0, 1))
    return ctx->status;
  if (C && msc_op_check_same_dtype(ctx, 0, 2))
    return ctx->status;
  if (!C && ctx->node->opset < 11)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input 'C' is required before opset 11 (model opset %lld)",
                       (long long)ctx->node->opset);
  if (A->rank != 2 || B->rank != 2)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "inputs 'A' %s and 'B' %s must be 2-D",
                       fmt_shape(A, s1, sizeof s1), fmt_shape(B, s2, sizeof s2));
  gp->M = A->dims[gp->transA ? 1 : 0];
  gp->K = A->dims[gp->transA ? 0 : 1];
  int64_t kb = B->dims[gp->transB ? 1 : 0];
  gp->N = B->dims[gp->transB ? 0 : 1];
  if (gp->K >= 0 && kb >= 0 && gp->K != kb)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                       "inner dims mismatch: A %s (transA=%d, K=%lld) vs B %s (transB=%d, K=%lld)",
                       fmt_shape(A, s1, sizeof s1), gp->transA, (long long)gp->K,
                       fmt_shape(B, s2, sizeof s2), gp->transB, (long long)kb);
  if (gp->K < 0)
    gp->K = kb;
  if (C) {
    /* unidirectional broadcast of C to [M, N] */
    int ok = C->rank <= 2;
    if (ok && C->rank >= 1) {
      int64_t cn = C->dims[C->rank - 1];
      ok = cn == 1 || cn == gp->N || cn < 0 || gp->N < 0;
    }
    if (ok && C->rank == 2) {
      int64_t cm = C->dims[0];
      ok = cm == 1 || cm == gp->M || cm < 0 || gp->M < 0;
    }
    if (!ok) {
      int64_t yd[2] = {gp->M, gp->N};
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "input 'C' %s does not broadcast to the output [M, N] = %s",
                         fmt_shape(C, s1, sizeof s1), msc_shape_format(2, yd, s2, sizeof s2));
    }
  }
  return MSC_OK;
}

static MscStatus gemm_infer(MscOpCtx *ctx)
{
  GemmParams gp;
  if (gemm_params(ctx, &gp))
    return ctx->status;
  int64_t dims[2] = {gp.M, gp.N};
  return msc_op_set_output(ctx, 0, msc_op_input(ctx, 0)->dtype, 2, dims);
}

static MscStatus gemm_run(MscOpCtx *ctx)
{
  GemmParams gp;
  if (gemm_params(ctx, &gp))
    return ctx->status;
  const MscTensor *A = msc_op_input(ctx, 0), *B = msc_op_input(ctx, 1), *C = msc_op_input(ctx, 2);
  MscTensor *Y = ctx->out[0];
  const int64_t M = gp.M, N = gp.N, K = gp.K;
  float *ta = NULL, *tb = NULL, *at = NULL, *yb = NULL;
  MscStatus st = MSC_OK;
  const float *af = float_view(A, &ta), *bf = float_view(B, &tb);
  float *yf = Y->dtype == MSC_DTYPE_FLOAT32 ? Y->data : (yb = g_try_new0(float, (size_t)(M * N)));
  if (!af || !bf || !yf) {
    st = msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory");
    goto out;
  }
  if (gp.transA && M > 0 && K > 0) {
    /* A is [K, M]: materialize A^T so the kernel reads rows */
    at = g_try_new(float, (size_t)(M * K));
    if (!at) {
      st = msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory transposing A");
      goto out;
    }
    for (int64_t k = 0; k < K; k++)
      for (int64_t i = 0; i < M; i++)
        at[i * K + k] = af[k * M + i];
    af = at;
  }
  memset(yf, 0, (size_t)(M * N) * sizeof(float));
  if (!sgemm_acc(M, N, K, af, K, bf, gp.transB ? K : N, gp.transB, yf, N)) {
    st = msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory packing B");
    goto out;
  }
  /* Y = alpha * AB + beta * C */
  int64_t cm = 1, cn = 1;
  if (C && C->rank >= 1)
    cn = C->dims[C->rank - 1];
  if (C && C->rank == 2)
    cm = C->dims[0];
  int use_c = C && gp.beta != 0.f && msc_tensor_numel(C) > 0;
  for (int64_t i = 0; i < M; i++) {
    float *yr = yf + i * N;
    if (gp.alpha != 1.f)
      for (int64_t j = 0; j < N; j++)
        yr[j] *= gp.alpha;
    if (use_c) {
      int64_t crow = (cm == 1 ? 0 : i) * cn;
      for (int64_t j = 0; j < N; j++)
        yr[j] += gp.beta * get_f(C, crow + (cn == 1 ? 0 : j));
    }
  }
  if (yb)
    for (int64_t i = 0; i < M * N; i++)
      ((uint16_t *)Y->data)[i] = msc_f32_to_f16(yb[i]);
out:
  g_free(ta);
  g_free(tb);
  g_free(at);
  g_free(yb);
  return st;
}

/* ---- MatMul shape logic (shared with the integer forms) ------------------------- */

typedef struct {
  int32_t ra, rb;           /* original ranks */
  int64_t M, K, N;
  int32_t nbatch;           /* output batch rank */
  int64_t batch[MSC_MAX_RANK];
  int32_t abr, bbr;         /* batch ranks of A and B (after 1-D promotion) */
  const int64_t *abd, *bbd; /* their batch dims */
  int32_t out_rank;
  int64_t out_dims[MSC_MAX_RANK];
} MatMulShape;

static MscStatus matmul_shape(MscOpCtx *ctx, uint32_t ia, uint32_t ib, MatMulShape *ms)
{
  const MscTensor *A = msc_op_input(ctx, ia), *B = msc_op_input(ctx, ib);
  char s1[200], s2[200];
  memset(ms, 0, sizeof *ms);
  ms->ra = A->rank;
  ms->rb = B->rank;
  if (A->rank < 1 || B->rank < 1)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "inputs must have rank >= 1 (A %s, B %s)",
                       fmt_shape(A, s1, sizeof s1), fmt_shape(B, s2, sizeof s2));
  ms->M = A->rank == 1 ? 1 : A->dims[A->rank - 2];
  ms->K = A->dims[A->rank - 1];
  int64_t kb = B->rank == 1 ? B->dims[0] : B->dims[B->rank - 2];
  ms->N = B->rank == 1 ? 1 : B->dims[B->rank - 1];
  if (ms->K >= 0 && kb >= 0 && ms->K != kb)
    return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                       "inner dims mismatch: A %s has K=%lld, B %s has K=%lld",
                       fmt_shape(A, s1, sizeof s1), (long long)ms->K, fmt_shape(B, s2, sizeof s2),
                       (long long)kb);
  if (ms->K < 0)
    ms->K = kb;
  ms->abr = A->rank > 2 ? A->rank - 2 : 0;
  ms->bbr = B->rank > 2 ? B->rank - 2 : 0;
  ms->abd = A->dims;
  ms->bbd = B->dims;
  ms->nbatch = ms->abr > ms->bbr ? ms->abr : ms->bbr;
  for (int32_t i = 0; i < ms->nbatch; i++) {
    int32_t ai = i - (ms->nbatch - ms->abr), bi = i - (ms->nbatch - ms->bbr);
    int64_t da = ai >= 0 ? A->dims[ai] : 1, db = bi >= 0 ? B->dims[bi] : 1, d;
    if (da == 1)
      d = db;
    else if (db == 1)
      d = da;
    else if (da < 0 || db < 0)
      d = da < 0 ? (db < 0 ? -1 : db) : da;
    else if (da == db)
      d = da;
    else
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                         "batch dims do not broadcast: A %s vs B %s (dim %lld vs %lld)",
                         fmt_shape(A, s1, sizeof s1), fmt_shape(B, s2, sizeof s2), (long long)da,
                         (long long)db);
    ms->batch[i] = d;
  }
  int32_t r = 0;
  for (int32_t i = 0; i < ms->nbatch; i++)
    ms->out_dims[r++] = ms->batch[i];
  if (A->rank > 1)
    ms->out_dims[r++] = ms->M;
  if (B->rank > 1)
    ms->out_dims[r++] = ms->N;
  ms->out_rank = r;
  return MSC_OK;
}

/* Offset (in matrices) of batch multi-index @idx (output batch rank nb) in
 * an operand whose batch dims are @d (rank r), with broadcasting. */
static int64_t batch_offset(int32_t nb, const int64_t *idx, int32_t r, const int64_t *d)
{
  int64_t off = 0;
  for (int32_t i = 0; i < r; i++) {
    int64_t id = idx[nb - r + i];
    off = off * d[i] + (d[i] == 1 ? 0 : id);
  }
  return off;
}

static void batch_next(int32_t nb, const int64_t *dims, int64_t *idx)
{
  for (int32_t i = nb - 1; i >= 0; i--) {
    if (++idx[i] < dims[i])
      return;
    idx[i] = 0;
  }
}

static MscStatus matmul_infer(MscOpCtx *ctx)
{
  MatMulShape ms;
  if (msc_op_check_dtype(ctx, 0, MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_INT32,
                         MSC_DTYPE_INT64, MSC_DTYPE_UNDEFINED) ||
      msc_op_check_same_dtype(ctx, 0, 1) || matmul_shape(ctx, 0, 1, &ms))
    return ctx->status;
  return msc_op_set_output(ctx, 0, msc_op_input(ctx, 0)->dtype, ms.out_rank, ms.out_dims);
}

static void imatmul(const MscTensor *A, int64_t aoff, const MscTensor *B, int64_t boff,
                    MscTensor *Y, int64_t yoff, int64_t M, int64_t K, int64_t N, int64_t *acc)
{
  int is64 = A->dtype == MSC_DTYPE_INT64;
  for (int64_t i = 0; i < M; i++) {
    memset(acc, 0, (size_t)N * sizeof(int64_t));
    for (int64_t k = 0; k < K; k++) {
      int64_t a = is64 ? ((const int64_t *)A->data)[aoff + i * K + k]
                       : ((const int32_t *)A->data)[aoff + i * K + k];
      if (a == 0)
        continue;
      for (int64_t j = 0; j < N; j++) {
        int64_t b = is64 ? ((const int64_t *)B->data)[boff + k * N + j]
                         : ((const int32_t *)B->data)[boff + k * N + j];
        acc[j] = (int64_t)((uint64_t)acc[j] + (uint64_t)a * (uint64_t)b);
      }
    }
    for (int64_t j = 0; j < N; j++) {
      if (is64)
        ((int64_t *)Y->data)[yoff + i * N + j] = acc[j];
      else
        ((int32_t *)Y->data)[yoff + i * N + j] = (int32_t)(uint32_t)(uint64_t)acc[j];
    }
  }
}

static MscStatus matmul_run(MscOpCtx *ctx)
{
  MatMulShape ms;
  if (matmul_shape(ctx, 0, 1, &ms))
    return ctx->status;
  const MscTensor *A = msc_op_input(ctx, 0), *B = msc_op_input(ctx, 1);
  MscTensor *Y = ctx->out[0];
  const int64_t M = ms.M, K = ms.K, N = ms.N;
  int64_t nb = msc_shape_numel(ms.nbatch, ms.batch);
  int64_t bidx[MSC_MAX_RANK] = {0};
  MscStatus st = MSC_OK;

  if (msc_tensor_numel(Y) == 0)
    return MSC_OK;
  if (A->dtype == MSC_DTYPE_INT32 || A->dtype == MSC_DTYPE_INT64) {
    int64_t *acc = g_try_new(int64_t, (size_t)N);
    if (!acc)
      return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory");
    for (int64_t b = 0; b < nb; b++, batch_next(ms.nbatch, ms.batch, bidx))
      imatmul(A, batch_offset(ms.nbatch, bidx, ms.abr, ms.abd) * M * K, B,
              batch_offset(ms.nbatch, bidx, ms.bbr, ms.bbd) * K * N, Y, b * M * N, M, K, N, acc);
    g_free(acc);
    return MSC_OK;
  }

  float *ta = NULL, *tb = NULL, *yb = NULL;
  const float *af = float_view(A, &ta), *bf = float_view(B, &tb);
  int64_t ny = msc_tensor_numel(Y);
  float *yf = Y->dtype == MSC_DTYPE_FLOAT32 ? Y->data : (yb = g_try_new(float, (size_t)ny));
  if (!af || !bf || !yf) {
    st = msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory");
    goto out;
  }
  memset(yf, 0, (size_t)ny * sizeof(float));
  /* B given as 1-D [K] is op(B) = [K, 1]: the transB layout of [1, K] */
  int transB = ms.rb == 1;
  int64_t ldb = transB ? K : N;
  if (msc_shape_numel(ms.bbr, ms.bbd) == 1) {
    /* one B for every batch: fold A's batch into M for a single big GEMM */
    int64_t mt = msc_shape_numel(ms.abr, ms.abd) * M;
    if (!sgemm_acc(mt, N, K, af, K, bf, ldb, transB, yf, N))
      st = msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory packing B");
  } else {
    for (int64_t b = 0; b < nb && !st; b++, batch_next(ms.nbatch, ms.batch, bidx)) {
      const float *ab = af + batch_offset(ms.nbatch, bidx, ms.abr, ms.abd) * M * K;
      const float *bb = bf + batch_offset(ms.nbatch, bidx, ms.bbr, ms.bbd) * K * N;
      if (!sgemm_acc(M, N, K, ab, K, bb, ldb, transB, yf + b * M * N, N))
        st = msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory packing B");
    }
  }
  if (!st && yb)
    for (int64_t i = 0; i < ny; i++)
      ((uint16_t *)Y->data)[i] = msc_f32_to_f16(yb[i]);
out:
  g_free(ta);
  g_free(tb);
  g_free(yb);
  return st;
}

/* ---- quantization parameters (zero points, scales) ------------------------------ */

/* How a per-tensor / per-row (A side) / per-column (B side) parameter maps
 * to the matrix it quantizes. */
typedef enum { QP_ABSENT, QP_SCALAR, QP_VECTOR, QP_BATCHED } QpKind;

typedef struct {
  QpKind kind;
  const MscTensor *t;
  int32_t br;        /* QP_BATCHED: batch rank of the parameter */
  const int64_t *bd; /* and its batch dims */
} QParam;

/* @row_side: 1 for A/Y (per row, M entries, N-D [..., M, 1]), 0 for B
 * (per column, N entries, N-D [..., 1, N]). @len is M or N. */
static MscStatus qparam_classify(MscOpCtx *ctx, uint32_t i, const char *name, int row_side,
                                 int64_t len, const MatMulShape *ms, int32_t op_rank,
                                 QParam *qp)
{
  const MscTensor *t = msc_op_input(ctx, i);
  char s1[200];
  memset(qp, 0, sizeof *qp);
  qp->t = t;
  if (!t) {
    qp->kind = QP_ABSENT;
    return MSC_OK;
  }
  int64_t ne = msc_shape_numel(t->rank, t->dims);
  if (ne == 1 || ne < 0) {
    qp->kind = QP_SCALAR; /* unknown size (static inference) is not checked */
    return MSC_OK;
  }
  if (t->rank == 1 && (t->dims[0] == len || len < 0)) {
    qp->kind = QP_VECTOR;
    return MSC_OK;
  }
  if (t->rank >= 2 && t->rank == op_rank) {
    int64_t r = t->dims[t->rank - 2], c = t->dims[t->rank - 1];
    int ok = row_side ? (r == len && c == 1) : (r == 1 && c == len);
    int32_t br = t->rank - 2;
    const int64_t *bd = t->dims;
    for (int32_t k = 0; ok && k < br; k++) {
      int64_t ob = ms->batch[ms->nbatch - br + k];
      ok = bd[k] == 1 || bd[k] == ob;
    }
    if (ok) {
      qp->kind = QP_BATCHED;
      qp->br = br;
      qp->bd = bd;
      return MSC_OK;
    }
  }
  return msc_op_fail(ctx, MSC_ERR_INVALID_ARG,
                     "input '%s': shape %s is neither per-tensor nor per-%s (%lld entries%s)", name,
                     msc_shape_format(t->rank, t->dims, s1, sizeof s1), row_side ? "row" : "column",
                     (long long)len, row_side ? ", or [..., M, 1]" : ", or [..., 1, N]");
}

static double qp_read(const MscTensor *t, int64_t i)
{
  switch (t->dtype) {
  case MSC_DTYPE_FLOAT32: return ((const float *)t->data)[i];
  case MSC_DTYPE_FLOAT16: return msc_f16_to_f32(((const uint16_t *)t->data)[i]);
  case MSC_DTYPE_UINT8: return ((const uint8_t *)t->data)[i];
  case MSC_DTYPE_INT8: return ((const int8_t *)t->data)[i];
  case MSC_DTYPE_INT32: return ((const int32_t *)t->data)[i];
  default: return 0.0;
  }
}

/* Fills @dst[len] with the parameter for the matrix at batch @bidx. */
static void qp_fill(const QParam *qp, const MatMulShape *ms, const int64_t *bidx, int64_t len,
                    double dflt, double *dst)
{
  switch (qp->kind) {
  case QP_ABSENT:
    for (int64_t i = 0; i < len; i++)
      dst[i] = dflt;
    break;
  case QP_SCALAR: {
    double v = qp_read(qp->t, 0);
    for (int64_t i = 0; i < len; i++)
      dst[i] = v;
    break;
  }
  case QP_VECTOR:
    for (int64_t i = 0; i < len; i++)
      dst[i] = qp_read(qp->t, i);
    break;
  case QP_BATCHED: {
    int64_t off = batch_offset(ms->nbatch, bidx, qp->br, qp->bd) * len;
    for (int64_t i = 0; i < len; i++)
      dst[i] = qp_read(qp->t, off + i);
    break;
  }
  }
}

static int64_t q_load(const MscTensor *t, int64_t i)
{
  return t->dtype == MSC_DTYPE_UINT8 ? ((const uint8_t *)t->data)[i]
                                     : ((const int8_t *)t->data)[i];
}

/* acc[M x N] (int32 wrap) = sum_k (A - azp[row]) * (B - bzp[col]) for one
 * batch; bs is scratch of K*N int32. */
static void qmatmul_batch(const MscTensor *A, int64_t aoff, const MscTensor *B, int64_t boff,
                          const double *azp, const double *bzp, int64_t M, int64_t K, int64_t N,
                          int32_t *bs, int64_t *acc64, int32_t *acc)
{
  for (int64_t k = 0; k < K; k++)
    for (int64_t j = 0; j < N; j++)
      bs[k * N + j] = (int32_t)(q_load(B, boff + k * N + j) - (int64_t)bzp[j]);
  for (int64_t i = 0; i < M; i++) {
    memset(acc64, 0, (size_t)N * sizeof(int64_t));
    int64_t za = (int64_t)azp[i];
    for (int64_t k = 0; k < K; k++) {
      int64_t a = q_load(A, aoff + i * K + k) - za;
      if (a == 0)
        continue;
      const int32_t *br = bs + k * N;
      for (int64_t j = 0; j < N; j++)
        acc64[j] += a * br[j];
    }
    for (int64_t j = 0; j < N; j++)
      acc[i * N + j] = (int32_t)(uint32_t)(uint64_t)acc64[j];
  }
}

/* ---- MatMulInteger ---------------------------------------------------------------- */

typedef struct {
  MatMulShape ms;
  QParam azp, bzp;
} MmiParams;

static MscStatus mmi_params(MscOpCtx *ctx, MmiParams *p)
{
  if (msc_op_check_dtype(ctx, 0, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, MSC_DTYPE_UNDEFINED) ||
      msc_op_check_dtype(ctx, 1, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, MSC_DTYPE_UNDEFINED))
    return ctx->status;
  if (msc_op_input(ctx, 2) && msc_op_check_same_dtype(ctx, 0, 2))
    return ctx->status;
  if (msc_op_input(ctx, 3) && msc_op_check_same_dtype(ctx, 1, 3))
    return ctx->status;
  if (matmul_shape(ctx, 0, 1, &p->ms))
    return ctx->status;
  const MscTensor *A = msc_op_input(ctx, 0), *B = msc_op_input(ctx, 1);
  if (qparam_classify(ctx, 2, "a_zero_point", 1, p->ms.M, &p->ms, A->rank, &p->azp) ||
      qparam_classify(ctx, 3, "b_zero_point", 0, p->ms.N, &p->ms, B->rank, &p->bzp))
    return ctx->status;
  return MSC_OK;
}

static MscStatus mmi_infer(MscOpCtx *ctx)
{
  MmiParams p;
  if (mmi_params(ctx, &p))
    return ctx->status;
  return msc_op_set_output(ctx, 0, MSC_DTYPE_INT32, p.ms.out_rank, p.ms.out_dims);
}

static MscStatus mmi_run(MscOpCtx *ctx)
{
  MmiParams p;
  if (mmi_params(ctx, &p))
    return ctx->status;
  const MatMulShape *ms = &p.ms;
  const MscTensor *A = msc_op_input(ctx, 0), *B = msc_op_input(ctx, 1);
  MscTensor *Y = ctx->out[0];
  const int64_t M = ms->M, K = ms->K, N = ms->N;
  int64_t nb = msc_shape_numel(ms->nbatch, ms->batch);
  int64_t bidx[MSC_MAX_RANK] = {0};
  if (msc_tensor_numel(Y) == 0)
    return MSC_OK;
  double *azp = g_try_new(double, (size_t)(M + N));
  int32_t *bs = g_try_new(int32_t, (size_t)(K * N > 0 ? K * N : 1));
  int64_t *acc64 = g_try_new(int64_t, (size_t)N);
  if (!azp || !bs || !acc64) {
    g_free(azp);
    g_free(bs);
    g_free(acc64);
    return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory");
  }
  double *bzp = azp + M;
  for (int64_t b = 0; b < nb; b++, batch_next(ms->nbatch, ms->batch, bidx)) {
    qp_fill(&p.azp, ms, bidx, M, 0.0, azp);
    qp_fill(&p.bzp, ms, bidx, N, 0.0, bzp);
    qmatmul_batch(A, batch_offset(ms->nbatch, bidx, ms->abr, ms->abd) * M * K, B,
                  batch_offset(ms->nbatch, bidx, ms->bbr, ms->bbd) * K * N, azp, bzp, M, K, N, bs,
                  acc64, (int32_t *)Y->data + b * M * N);
  }
  g_free(azp);
  g_free(bs);
  g_free(acc64);
  return MSC_OK;
}

/* ---- QLinearMatMul ---------------------------------------------------------------- */

typedef struct {
  MatMulShape ms;
  QParam as, azp, bs, bzp, ys, yzp;
} QlmParams;

static MscStatus qlm_params(MscOpCtx *ctx, QlmParams *p)
{
  static const char *const names[8] = {"a", "a_scale", "a_zero_point", "b",
                                       "b_scale", "b_zero_point", "y_scale", "y_zero_point"};
  for (uint32_t i = 0; i < 8; i++)
    if (!msc_op_input(ctx, i))
      return msc_op_fail(ctx, MSC_ERR_INVALID_ARG, "input '%s' is required", names[i]);
  if (msc_op_check_dtype(ctx, 0, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, MSC_DTYPE_UNDEFINED) ||
      msc_op_check_dtype(ctx, 3, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, MSC_DTYPE_UNDEFINED) ||
      msc_op_check_dtype(ctx, 7, MSC_DTYPE_UINT8, MSC_DTYPE_INT8, MSC_DTYPE_UNDEFINED) ||
      msc_op_check_same_dtype(ctx, 0, 2) || msc_op_check_same_dtype(ctx, 3, 5))
    return ctx->status;
  static const uint32_t scales[3] = {1, 4, 6};
  for (int i = 0; i < 3; i++)
    if (msc_op_check_dtype(ctx, scales[i], MSC_DTYPE_FLOAT32, MSC_DTYPE_FLOAT16, MSC_DTYPE_UNDEFINED))
      return ctx->status;
  if (matmul_shape(ctx, 0, 3, &p->ms))
    return ctx->status;
  const MscTensor *A = msc_op_input(ctx, 0), *B = msc_op_input(ctx, 3);
  const MatMulShape *ms = &p->ms;
  if (qparam_classify(ctx, 1, "a_scale", 1, ms->M, ms, A->rank, &p->as) ||
      qparam_classify(ctx, 2, "a_zero_point", 1, ms->M, ms, A->rank, &p->azp) ||
      qparam_classify(ctx, 4, "b_scale", 0, ms->N, ms, B->rank, &p->bs) ||
      qparam_classify(ctx, 5, "b_zero_point", 0, ms->N, ms, B->rank, &p->bzp) ||
      qparam_classify(ctx, 6, "y_scale", 1, ms->M, ms, ms->out_rank, &p->ys) ||
      qparam_classify(ctx, 7, "y_zero_point", 1, ms->M, ms, ms->out_rank, &p->yzp))
    return ctx->status;
  return MSC_OK;
}

static MscStatus qlm_infer(MscOpCtx *ctx)
{
  QlmParams p;
  if (qlm_params(ctx, &p))
    return ctx->status;
  return msc_op_set_output(ctx, 0, msc_op_input(ctx, 7)->dtype, p.ms.out_rank, p.ms.out_dims);
}

static MscStatus qlm_run(MscOpCtx *ctx)
{
  QlmParams p;
  if (qlm_params(ctx, &p))
    return ctx->status;
  const MatMulShape *ms = &p.ms;
  const MscTensor *A = msc_op_input(ctx, 0), *B = msc_op_input(ctx, 3);
  MscTensor *Y = ctx->out[0];
  const int64_t M = ms->M, K = ms->K, N = ms->N;
  int64_t nb = msc_shape_numel(ms->nbatch, ms->batch);
  int64_t bidx[MSC_MAX_RANK] = {0};
  int y_u8 = Y->dtype == MSC_DTYPE_UINT8;
  const float qmin = y_u8 ? 0.f : -128.f, qmax = y_u8 ? 255.f : 127.f;
  if (msc_tensor_numel(Y) == 0)
    return MSC_OK;
  double *pv = g_try_new(double, (size_t)(4 * M + 2 * N));
  int32_t *bs = g_try_new(int32_t, (size_t)(K * N > 0 ? K * N : 1));
  int64_t *acc64 = g_try_new(int64_t, (size_t)N);
  int32_t *acc = g_try_new(int32_t, (size_t)(M * N));
  if (!pv || !bs || !acc64 || !acc) {
    g_free(pv);
    g_free(bs);
    g_free(acc64);
    g_free(acc);
    return msc_op_fail(ctx, MSC_ERR_NOMEM, "out of memory");
  }
  double *as = pv, *azp = as + M, *ys = azp + M, *yzp = ys + M, *bsc = yzp + M, *bzp = bsc + N;
  for (int64_t b = 0; b < nb; b++, batch_next(ms->nbatch, ms->batch, bidx)) {
    qp_fill(&p.as, ms, bidx, M, 1.0, as);
    qp_fill(&p.azp, ms, bidx, M, 0.0, azp);
    qp_fill(&p.bs, ms, bidx, N, 1.0, bsc);
    qp_fill(&p.bzp, ms, bidx, N, 0.0, bzp);
    qp_fill(&p.ys, ms, bidx, M, 1.0, ys);
    qp_fill(&p.yzp, ms, bidx, M, 0.0, yzp);
    qmatmul_batch(A, batch_offset(ms->nbatch, bidx, ms->abr, ms->abd) * M * K, B,
                  batch_offset(ms->nbatch, bidx, ms->bbr, ms->bbd) * K * N, azp, bzp, M, K, N, bs,
                  acc64, acc);
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        /* float multiplier as onnxruntime computes it: a_scale * b_scale / y_scale */
        float mult = (float)as[i] * (float)bsc[j] / (float)ys[i];
        float v = nearbyintf((float)acc[i * N + j] * mult) + (float)yzp[i];
        v = v < qmin ? qmin : v > qmax ? qmax : v;
        int64_t o = b * M * N + i * N + j;
        if (y_u8)
          ((uint8_t *)Y->data)[o] = (uint8_t)v;
        else
          ((int8_t *)Y->data)[o] = (int8_t)v;
      }
  }
  g_free(pv);
  g_free(bs);
  g_free(acc64);
  g_free(acc);
  return MSC_OK;
}

/* ---- definitions ------------------------------------------------------------------ */

static const MscOpDef op_gemm = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "Gemm",
    .since_version = 1,
    .min_inputs = 2,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = gemm_infer,
    .run = gemm_run,
    .doc = "Y = alpha * op(A) op(B) + beta * C; C unidirectionally broadcast (optional from "
           "opset 11); float32/float16",
};

static const MscOpDef op_matmul = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "MatMul",
    .since_version = 1,
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = matmul_infer,
    .run = matmul_run,
    .doc = "numpy matmul (1-D promotion, batch broadcasting); float32/float16/int32/int64",
};

static const MscOpDef op_matmulinteger = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "MatMulInteger",
    .since_version = 10,
    .min_inputs = 2,
    .max_inputs = 4,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = mmi_infer,
    .run = mmi_run,
    .doc = "int32 = (A - a_zp) x (B - b_zp); uint8/int8; zero points per tensor, row (A) or "
           "column (B)",
};

static const MscOpDef op_qlinearmatmul = {
    .struct_size = sizeof(MscOpDef),
    .domain = "",
    .op_type = "QLinearMatMul",
    .since_version = 10,
    .min_inputs = 8,
    .max_inputs = 8,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = qlm_infer,
    .run = qlm_run,
    .doc = "Quantized matmul: integer accumulation, requantized with a_scale*b_scale/y_scale, "
           "round half to even, saturate; uint8/int8",
};

const MscOpDef *const msc_ops_gemm[] = {&op_gemm, &op_matmul, &op_matmulinteger, &op_qlinearmatmul,
                                        NULL};
