/* threadpool.h: a persistent pool of worker threads for parallel loops.
 * Threads are created once (msc_threadpool_new) and reused by every run;
 * no thread is created per call. */
#ifndef MSC_THREADPOOL_H
#define MSC_THREADPOOL_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct MscThreadPool MscThreadPool;

/* fn(ctx, task, thread): runs task index @task on worker @thread (0..n_threads-1). */
typedef void (*MscParallelFn)(void *ctx, int64_t task, int thread);

/**
 * msc_threadpool_new:
 * @n_threads: total threads including the caller (>= 1); 1 means run inline.
 * Returns: (transfer full): the pool; free with msc_threadpool_free.
 */
MscThreadPool *msc_threadpool_new(int n_threads);
void msc_threadpool_free(MscThreadPool *pool);
int msc_threadpool_size(const MscThreadPool *pool);

/**
 * msc_threadpool_parallel_for:
 * Runs fn for task = 0..n_tasks-1, split over the pool's threads (the
 * calling thread takes part) and returns when all are done. Tasks are
 * handed out dynamically (atomic counter), so uneven tasks balance; many
 * small tasks go in runs of consecutive indices (n_tasks / (8 x threads)
 * per claim), run in order by one thread.
 * @pool may be NULL: then everything runs inline on the caller.
 * Not reentrant for one pool: one parallel_for at a time per pool.
 */
void msc_threadpool_parallel_for(MscThreadPool *pool, int64_t n_tasks, MscParallelFn fn, void *ctx);

/**
 * msc_threadpool_hold:
 * @on: TRUE from the start of a run (one inference: parallel loops separated
 * by serial work) to its end, FALSE then.
 * While held, idle workers (and the caller waiting for a loop to finish) keep
 * spinning instead of going to sleep after about 10-20 us: a serial stretch
 * between two loops longer than that would otherwise put the workers to sleep
 * and make the next loop pay a futex wake-up (tens of microseconds on a
 * virtual machine). Released, they sleep as before. @pool may be NULL.
 */
void msc_threadpool_hold(MscThreadPool *pool, gboolean on);

G_END_DECLS
#endif
