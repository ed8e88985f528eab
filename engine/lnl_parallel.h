/* Work split across a context's threads: matrix products and operator tasks.
 *
 * OpenBLAS is kept single-threaded and the engine divides the work itself, so that
 * the engine's threads and OpenBLAS's never compete for the same cores. A context
 * starts its worker threads once (lnl_parallel_start): they are the only threads the
 * engine runs, every parallel step queues its tasks onto them, and they spin briefly
 * between steps and sleep when idle. Without started workers a step runs its tasks one
 * after another on the caller's thread. A step split for par->threads gives the same
 * results however many workers there are. */
#ifndef LNL_PARALLEL_H
#define LNL_PARALLEL_H

typedef struct lnl_pool lnl_pool;

typedef struct lnl_parallel {
  int threads;
  lnl_pool *pool; /* persistent workers from lnl_parallel_start, or NULL */
} lnl_parallel;

/* C[m][n] = A[m][k] * B[k][n] (row-major; ta/tb transpose A or B as stored);
 * beta = 0 overwrites C, 1 accumulates. par may be NULL (one thread). */
void lnl_gemm(lnl_parallel *par, int ta, int tb, int m, int n, int k, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc);

/* Runs task(arg, i) for every i in [0, n), on the caller's thread and par's workers (on
 * the caller's thread alone when par is NULL or has none), and returns when all have
 * finished. Tasks must be independent; a task must not call lnl_parallel_for on the same
 * par. */
void lnl_parallel_for(lnl_parallel *par, int n, void (*task)(void *arg, int i), void *arg);

/* How many threads are worth using for `macs` multiply-adds (1 .. par->threads). */
int lnl_parallel_threads_for(const lnl_parallel *par, double macs);

/* Starts par->threads - 1 persistent workers. Returns 0 if not all could be started;
 * par then works with those that did (or on the caller's thread alone). */
int lnl_parallel_start(lnl_parallel *par);
/* Stops and joins the workers (no-op without them). */
void lnl_parallel_stop(lnl_parallel *par);

/* Called once before any product: pins OpenBLAS to one thread. */
void lnl_parallel_init(void);

#endif
