#include "lnl_parallel.h"

#include <cblas.h>
#include <pthread.h>

/* Below this many multiply-adds a product is not worth a thread. */
#define PARALLEL_MIN_MACS (1 << 18)
#define MAX_THREADS 64

void openblas_set_num_threads(int num_threads);

typedef struct gemm_job {
  int ta, tb, m, n, k, lda, ldb, ldc;
  const float *a, *b;
  float beta;
  float *c;
} gemm_job;

static void run_job(const gemm_job *j) {
  cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
              j->m, j->n, j->k, 1.0f, j->a, j->lda, j->b, j->ldb, j->beta, j->c, j->ldc);
}

static void *job_thread(void *arg) {
  run_job(arg);
  return NULL;
}

void lnl_parallel_init(void) { openblas_set_num_threads(1); }

void lnl_gemm(lnl_parallel *par, int ta, int tb, int m, int n, int k, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc) {
  int threads = par ? par->threads : 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  double macs = (double)m * n * k;
  if (threads > 1 && macs < (double)PARALLEL_MIN_MACS * threads)
    threads = (int)(macs / PARALLEL_MIN_MACS) + 1;
  if (threads > n / 16) threads = n / 16; /* keep column blocks wide enough for the kernels */
  if (threads <= 1) {
    gemm_job job = {ta, tb, m, n, k, lda, ldb, ldc, a, b, beta, c};
    run_job(&job);
    return;
  }
  gemm_job jobs[MAX_THREADS];
  pthread_t tids[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  int block = (n + threads - 1) / threads;
  threads = (n + block - 1) / block; /* rounding block up can leave the last threads no columns */
  for (int t = 0; t < threads; t++) {
    int n0 = t * block, n1 = n0 + block < n ? n0 + block : n;
    const float *bt = tb ? b + (size_t)n0 * ldb : b + n0;
    jobs[t] = (gemm_job){ta, tb, m, n1 - n0, k, lda, ldb, ldc, a, bt, beta, c + n0};
    /* the calling thread takes the last block, and any block a thread could not start */
    if (t < threads - 1) started[t] = pthread_create(&tids[t], NULL, job_thread, &jobs[t]) == 0;
  }
  for (int t = 0; t < threads; t++)
    if (!started[t]) run_job(&jobs[t]);
  for (int t = 0; t < threads - 1; t++)
    if (started[t]) pthread_join(tids[t], NULL);
}
