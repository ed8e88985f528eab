/* Matrix products for the operators, split across a context's threads.
 *
 * OpenBLAS is kept single-threaded and the engine divides each large product
 * into column blocks itself, so that the engine's threads and OpenBLAS's never
 * compete for the same cores. */
#ifndef LNL_PARALLEL_H
#define LNL_PARALLEL_H

typedef struct lnl_parallel {
  int threads;
} lnl_parallel;

/* C[m][n] = A[m][k] * B[k][n] (row-major; ta/tb transpose A or B as stored);
 * beta = 0 overwrites C, 1 accumulates. */
void lnl_gemm(lnl_parallel *par, int ta, int tb, int m, int n, int k, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc);

/* Called once before any product: pins OpenBLAS to one thread. */
void lnl_parallel_init(void);

#endif
