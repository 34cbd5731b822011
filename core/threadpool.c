/* threadpool.c: persistent workers for parallel loops.
 *
 * One parallel_for at a time per pool. The caller publishes (fn, ctx,
 * n_tasks), opens a claim word (generation << 32 | next index), bumps the
 * generation counter and wakes the workers; everybody (caller included)
 * claims task indices from the claim word by compare-and-swap, and the
 * caller waits only until every task has COMPLETED: never for a worker
 * that has not claimed one. (Before, the caller waited for every worker
 * to check in; on a shared machine a worker descheduled by another process
 * stalled every layer until it ran again, even when the caller had already
 * done all the work.) A worker that wakes late holds a stale generation:
 * its compare-and-swap fails and it goes back to waiting. Waits spin
 * briefly (a parallel_for usually follows another within microseconds)
 * and then sleep on a futex, so idle workers cost nothing. */
#include "threadpool.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void) 0)
#endif

/* Spin iterations before sleeping: about 10-20 us of pause instructions,
 * enough to cover the gap between back-to-back layers. */
#define SPIN_ITERS 4000

/* Many small tasks are claimed in chunks of n / (CLAIMS_PER_THREAD *
 * threads): each claim and completion is an atomic on a line both cores
 * write, and one claim per task cost more than the task itself on
 * per-channel work (2 threads, conv-bench --ab against one task per
 * claim: depthwise 3x3 576@14 0.52x the time, 144@56 0.93x, the 128-plane
 * pack of a 3x3 128->32 @7 conv 0.95x; PP-OCR cls 0.82-0.86x, ShuffleNet
 * 0.92-0.95x, DenseNet-121 0.92-0.97x). 4 per thread measured the same,
 * 16 0-2.5% slower. */
#define CLAIMS_PER_THREAD 8

/* claim word: generation in the high 32 bits, next task index in the low
 * 32; CLOSED while the caller rewrites the job fields */
#define CLAIM_CLOSED UINT32_MAX
#define MAX_BATCH (((int64_t) 1) << 30)

struct MscThreadPool {
  int n_threads; /* including the caller */
  GThread **threads;

  /* Current job: written (release) between closing and opening the claim
   * word, read (acquire) by whoever then claims under that generation. */
  _Atomic(MscParallelFn) fn;
  _Atomic(void *) ctx;
  _Atomic int64_t n_tasks;
  _Atomic int64_t chunk; /* tasks per claim */
  _Atomic uint64_t claim;
  _Atomic int64_t done; /* tasks completed in this generation */

  _Atomic uint32_t generation; /* futex word the workers sleep on */
  _Atomic uint32_t done_word;  /* futex word the caller sleeps on */
  _Atomic int stop;
  _Atomic uint32_t sleepers;      /* workers inside futex_wait(generation) */
  _Atomic uint32_t caller_asleep; /* caller inside futex_wait(done_word) */
  _Atomic int held;               /* msc_threadpool_hold: waits spin without the SPIN_ITERS limit */
};

#ifdef __linux__
static void futex_wait(_Atomic uint32_t *addr, uint32_t val) {
  syscall(SYS_futex, (uint32_t *) addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}
static void futex_wake_all(_Atomic uint32_t *addr) {
  syscall(SYS_futex, (uint32_t *) addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}
#else
/* Portable stand-in: one process-wide mutex/condvar pair. */
static GMutex fallback_mutex;
static GCond fallback_cond;
static void futex_wait(_Atomic uint32_t *addr, uint32_t val) {
  g_mutex_lock(&fallback_mutex);
  while (atomic_load(addr) == val)
    g_cond_wait(&fallback_cond, &fallback_mutex);
  g_mutex_unlock(&fallback_mutex);
}
static void futex_wake_all(_Atomic uint32_t *addr) {
  (void) addr;
  g_mutex_lock(&fallback_mutex);
  g_cond_broadcast(&fallback_cond);
  g_mutex_unlock(&fallback_mutex);
}
#endif

/* Claims and runs tasks of generation @gen until none are left or the
 * generation is over. Returns TRUE if this thread completed the last task. */
static gboolean run_tasks(MscThreadPool *pool, uint32_t gen, int thread) {
  gboolean last = FALSE;
  for (;;) {
    uint64_t c = atomic_load_explicit(&pool->claim, memory_order_acquire);
    if ((uint32_t) (c >> 32) != gen)
      break; /* stale: that job is over */
    const uint32_t i = (uint32_t) c;
    /* read the job before claiming: a successful claim proves the claim
     * word (so the job) did not change in between */
    const int64_t n = atomic_load_explicit(&pool->n_tasks, memory_order_acquire);
    const int64_t chunk = atomic_load_explicit(&pool->chunk, memory_order_acquire);
    const MscParallelFn fn = atomic_load_explicit(&pool->fn, memory_order_acquire);
    void *const ctx = atomic_load_explicit(&pool->ctx, memory_order_acquire);
    if (i == CLAIM_CLOSED || (int64_t) i >= n)
      break;
    const int64_t take = MIN(chunk, n - (int64_t) i);
    if (!atomic_compare_exchange_weak_explicit(&pool->claim, &c, c + (uint64_t) take, memory_order_acq_rel,
                                               memory_order_relaxed))
      continue;
    for (int64_t t = i; t < (int64_t) i + take; t++)
      fn(ctx, t, thread);
    if (atomic_fetch_add_explicit(&pool->done, take, memory_order_acq_rel) + take == n)
      last = TRUE;
  }
  return last;
}

typedef struct {
  MscThreadPool *pool;
  int index;
} WorkerArg;

static gpointer worker_main(gpointer data) {
  WorkerArg *arg = data;
  MscThreadPool *pool = arg->pool;
  const int index = arg->index;
  g_free(arg);
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen;
    int spins = 0;
    while ((gen = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen) {
      if (++spins < SPIN_ITERS || atomic_load_explicit(&pool->held, memory_order_relaxed))
        CPU_RELAX();
      else {
        /* seq_cst pairs with the caller's bump-then-read of sleepers: either
         * it sees us or futex_wait sees the new generation. */
        atomic_fetch_add(&pool->sleepers, 1);
        futex_wait(&pool->generation, seen);
        atomic_fetch_sub(&pool->sleepers, 1);
      }
    }
    seen = gen;
    if (atomic_load_explicit(&pool->stop, memory_order_acquire))
      return NULL;
    if (run_tasks(pool, gen, index)) {
      atomic_store(&pool->done_word, 1);
      if (atomic_load(&pool->caller_asleep))
        futex_wake_all(&pool->done_word);
    }
  }
}

/**
 * msc_threadpool_new:
 * @n_threads: total threads including the caller; values < 1 are taken as 1.
 * Returns: (transfer full): the pool, never NULL (aborts if threads cannot
 * be created, as g_thread_new does).
 */
MscThreadPool *msc_threadpool_new(int n_threads) {
  MscThreadPool *pool = g_new0(MscThreadPool, 1);
  pool->n_threads = n_threads < 1 ? 1 : n_threads;
  pool->threads = g_new0(GThread *, pool->n_threads);
  for (int i = 1; i < pool->n_threads; i++) {
    WorkerArg *arg = g_new(WorkerArg, 1);
    arg->pool = pool;
    arg->index = i;
    char name[16];
    g_snprintf(name, sizeof name, "msc-worker-%d", i);
    pool->threads[i] = g_thread_new(name, worker_main, arg);
  }
  return pool;
}

/**
 * msc_threadpool_free:
 * @pool: (transfer full) (nullable): joins the workers and frees the pool.
 * Must not be called while a parallel_for runs on it.
 */
void msc_threadpool_free(MscThreadPool *pool) {
  if (!pool)
    return;
  atomic_store_explicit(&pool->stop, 1, memory_order_release);
  atomic_fetch_add_explicit(&pool->generation, 1, memory_order_acq_rel);
  futex_wake_all(&pool->generation);
  for (int i = 1; i < pool->n_threads; i++)
    g_thread_join(pool->threads[i]);
  g_free(pool->threads);
  g_free(pool);
}

/* msc_threadpool_size: threads including the caller; 1 for a NULL pool. */
int msc_threadpool_size(const MscThreadPool *pool) {
  return pool ? pool->n_threads : 1;
}

void msc_threadpool_hold(MscThreadPool *pool, gboolean on) {
  if (pool) atomic_store(&pool->held, on ? 1 : 0);
}

typedef struct {
  MscParallelFn fn;
  void *ctx;
  int64_t base;
} Batch;

static void batch_fn(void *vctx, int64_t task, int thread) {
  const Batch *b = vctx;
  b->fn(b->ctx, b->base + task, thread);
}

void msc_threadpool_parallel_for(MscThreadPool *pool, int64_t n_tasks, MscParallelFn fn, void *ctx) {
  if (n_tasks <= 0)
    return;
  if (!pool || pool->n_threads == 1 || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; t++)
      fn(ctx, t, 0);
    return;
  }
  if (n_tasks > MAX_BATCH) { /* task indices live in 32 bits of the claim word */
    for (int64_t base = 0; base < n_tasks; base += MAX_BATCH) {
      Batch b = {fn, ctx, base};
      msc_threadpool_parallel_for(pool, MIN(MAX_BATCH, n_tasks - base), batch_fn, &b);
    }
    return;
  }
  const uint32_t gen = atomic_load_explicit(&pool->generation, memory_order_relaxed) + 1;
  /* close, rewrite the job, open: a late worker of an old generation
   * either fails its claim or never sees this job's fields */
  atomic_store(&pool->claim, ((uint64_t) gen << 32) | CLAIM_CLOSED);
  atomic_store_explicit(&pool->fn, fn, memory_order_release);
  atomic_store_explicit(&pool->ctx, ctx, memory_order_release);
  atomic_store_explicit(&pool->n_tasks, n_tasks, memory_order_release);
  atomic_store_explicit(&pool->chunk, MAX((int64_t) 1, n_tasks / (CLAIMS_PER_THREAD * pool->n_threads)),
                        memory_order_release);
  atomic_store_explicit(&pool->done, 0, memory_order_relaxed);
  atomic_store_explicit(&pool->done_word, 0, memory_order_relaxed);
  atomic_store_explicit(&pool->claim, (uint64_t) gen << 32, memory_order_release);
  atomic_store(&pool->generation, gen);
  if (atomic_load(&pool->sleepers))
    futex_wake_all(&pool->generation);

  if (run_tasks(pool, gen, 0))
    return; /* the caller completed the last task */
  int spins = 0;
  while (atomic_load_explicit(&pool->done, memory_order_acquire) < n_tasks) {
    if (++spins < SPIN_ITERS || atomic_load_explicit(&pool->held, memory_order_relaxed))
      CPU_RELAX();
    else {
      atomic_store(&pool->caller_asleep, 1);
      /* the last task's runner sets done_word after its done increment */
      if (atomic_load_explicit(&pool->done, memory_order_acquire) < n_tasks)
        futex_wait(&pool->done_word, 0);
      atomic_store(&pool->caller_asleep, 0);
    }
  }
}
