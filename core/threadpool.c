/* threadpool.c: persistent workers for parallel loops.
 *
 * One parallel_for at a time per pool. The caller publishes (fn, ctx,
 * n_tasks), bumps a generation counter and wakes the workers; everybody
 * (caller included) takes task indices from one atomic counter until they
 * run out; the last worker to finish wakes the caller. Waits spin briefly
 * (a parallel_for usually follows another within microseconds) and then
 * sleep on a futex, so idle workers cost nothing on a shared machine. */
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

struct MscThreadPool {
  int n_threads; /* including the caller */
  GThread **threads;

  /* Current job; written by the caller before the generation bump. */
  MscParallelFn fn;
  void *ctx;
  int64_t n_tasks;
  _Atomic int64_t next_task;

  _Atomic uint32_t generation; /* futex word the workers sleep on */
  _Atomic uint32_t active;     /* workers still busy with this generation */
  _Atomic uint32_t done_word;  /* futex word the caller sleeps on */
  _Atomic int stop;
  _Atomic uint32_t sleepers;      /* workers inside futex_wait(generation) */
  _Atomic uint32_t caller_asleep; /* caller inside futex_wait(done_word) */
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

static void run_tasks(MscThreadPool *pool, int thread) {
  const int64_t n = pool->n_tasks;
  for (;;) {
    int64_t t = atomic_fetch_add_explicit(&pool->next_task, 1, memory_order_relaxed);
    if (t >= n)
      break;
    pool->fn(pool->ctx, t, thread);
  }
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
      if (++spins < SPIN_ITERS)
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
    run_tasks(pool, index);
    if (atomic_fetch_sub_explicit(&pool->active, 1, memory_order_acq_rel) == 1) {
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

void msc_threadpool_parallel_for(MscThreadPool *pool, int64_t n_tasks, MscParallelFn fn, void *ctx) {
  if (n_tasks <= 0)
    return;
  if (!pool || pool->n_threads == 1 || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; t++)
      fn(ctx, t, 0);
    return;
  }
  pool->fn = fn;
  pool->ctx = ctx;
  pool->n_tasks = n_tasks;
  atomic_store_explicit(&pool->next_task, 0, memory_order_relaxed);
  atomic_store_explicit(&pool->active, (uint32_t) (pool->n_threads - 1), memory_order_relaxed);
  atomic_store_explicit(&pool->done_word, 0, memory_order_relaxed);
  /* The release bump publishes fn/ctx/n_tasks to the workers. */
  atomic_fetch_add(&pool->generation, 1);
  if (atomic_load(&pool->sleepers))
    futex_wake_all(&pool->generation);

  run_tasks(pool, 0);

  int spins = 0;
  while (atomic_load_explicit(&pool->done_word, memory_order_acquire) == 0) {
    if (++spins < SPIN_ITERS)
      CPU_RELAX();
    else {
      atomic_store(&pool->caller_asleep, 1);
      futex_wait(&pool->done_word, 0);
      atomic_store(&pool->caller_asleep, 0);
    }
  }
}
