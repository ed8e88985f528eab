#include "lnl_parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* Below this many multiply-adds a product is not worth a thread. */
#define PARALLEL_MIN_MACS (1 << 18)
#define MAX_THREADS 64
/* How long an idle worker (or a caller waiting for workers) spins before sleeping: a
 * forward pass hands out tasks every few microseconds, and waking a sleeping thread
 * costs about as much as a small task. */
#define SPIN_NS 300000

void openblas_set_num_threads(int num_threads);

void lnl_parallel_init(void) { openblas_set_num_threads(1); }

/* ---- tasks ---- */

/* Tasks are claimed one at a time from a ticket that packs the job's generation, its
 * task count and the next task index, so that a worker that wakes late (after the job
 * is over, or during the next one) can never run a task of the wrong job. The caller
 * takes tasks too and waits only for the tasks, never for a worker to show up: a
 * worker that the OS does not schedule in time delays nothing. */
#define TICKET(gen, n, i) (((uint64_t)(gen) << 32) | ((uint64_t)(n) << 16) | (uint64_t)(i))
#define TICKET_GEN(t) ((uint32_t)((t) >> 32))
#define TICKET_N(t) ((uint32_t)((t) >> 16) & 0xFFFFu)
#define TICKET_I(t) ((uint32_t)(t)&0xFFFFu)
#define MAX_POOL_TASKS 0xFFFF

struct lnl_pool {
  int workers;
  pthread_t tids[MAX_THREADS];
  pthread_mutex_t mu;
  pthread_cond_t wake, finished;
  _Atomic uint64_t ticket;
  atomic_int done; /* tasks of the current job that have finished */
  atomic_int stop;
  void (*task)(void *arg, int i); /* the current job: tasks first + [0, n) */
  void *arg;
  int first;
};

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int new_job(lnl_pool *p, uint32_t seen) {
  return TICKET_GEN(atomic_load_explicit(&p->ticket, memory_order_acquire)) != seen ||
         atomic_load_explicit(&p->stop, memory_order_relaxed);
}

static int job_done(lnl_pool *p, uint32_t n) {
  return atomic_load_explicit(&p->done, memory_order_acquire) == (int)n;
}

/* Spins for up to SPIN_NS until ready(p, v) holds; returns whether it does. */
static int spin_until(lnl_pool *p, int (*ready)(lnl_pool *p, uint32_t v), uint32_t v) {
  long long deadline = 0;
  for (unsigned i = 1;; i++) {
    if (ready(p, v)) return 1;
    cpu_relax();
    if (i % 64 == 0) {
      long long t = now_ns();
      if (!deadline)
        deadline = t + SPIN_NS;
      else if (t > deadline)
        return 0;
    }
  }
}

/* Runs tasks of job generation `gen` while there are any left to claim. */
static void claim_tasks(lnl_pool *p, uint32_t gen) {
  uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
  for (;;) {
    if (TICKET_GEN(t) != gen || TICKET_I(t) >= TICKET_N(t)) return;
    if (!atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel,
                                               memory_order_acquire))
      continue; /* t now holds the current ticket */
    /* the job cannot end (and its task and arg change) before this task is done */
    p->task(p->arg, p->first + (int)TICKET_I(t));
    int n = (int)TICKET_N(t);
    if (atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel) == n - 1) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->finished);
      pthread_mutex_unlock(&p->mu);
    }
    t = atomic_load_explicit(&p->ticket, memory_order_acquire);
  }
}

static void *worker(void *arg) {
  lnl_pool *p = arg;
  uint32_t seen = 0;
  for (;;) {
    if (!spin_until(p, new_job, seen)) {
      pthread_mutex_lock(&p->mu);
      while (!new_job(p, seen)) pthread_cond_wait(&p->wake, &p->mu);
      pthread_mutex_unlock(&p->mu);
    }
    if (atomic_load(&p->stop)) return NULL;
    seen = TICKET_GEN(atomic_load_explicit(&p->ticket, memory_order_acquire));
    claim_tasks(p, seen);
  }
}

/* Runs tasks first .. first + n - 1 (n <= MAX_POOL_TASKS) on the workers and the caller. */
static void pool_run(lnl_pool *p, int n, int first, void (*task)(void *arg, int i), void *arg) {
  uint32_t gen = TICKET_GEN(atomic_load_explicit(&p->ticket, memory_order_relaxed)) + 1;
  if (gen == 0) gen = 1; /* 0 is the workers' initial "seen" */
  p->task = task;
  p->arg = arg;
  p->first = first;
  atomic_store_explicit(&p->done, 0, memory_order_relaxed);
  pthread_mutex_lock(&p->mu);
  atomic_store_explicit(&p->ticket, TICKET(gen, n, 0), memory_order_release);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  claim_tasks(p, gen);
  if (!spin_until(p, job_done, (uint32_t)n)) {
    pthread_mutex_lock(&p->mu);
    while (!job_done(p, (uint32_t)n)) pthread_cond_wait(&p->finished, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
}

void lnl_parallel_for(lnl_parallel *par, int n, void (*task)(void *arg, int i), void *arg) {
  lnl_pool *p = par ? par->pool : NULL;
  if (!p || n <= 1) { /* no pool: every task on the caller's thread */
    for (int i = 0; i < n; i++) task(arg, i);
    return;
  }
  /* more tasks than one ticket counts: the pool runs them as several jobs, one after another */
  for (int first = 0; first < n; first += MAX_POOL_TASKS)
    pool_run(p, n - first < MAX_POOL_TASKS ? n - first : MAX_POOL_TASKS, first, task, arg);
}

int lnl_parallel_threads_for(const lnl_parallel *par, double macs) {
  int threads = par ? par->threads : 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  if (threads > 1 && macs < (double)PARALLEL_MIN_MACS * threads)
    threads = (int)(macs / PARALLEL_MIN_MACS) + 1;
  return threads < 1 ? 1 : threads;
}

int lnl_parallel_start(lnl_parallel *par) {
  if (par->pool || par->threads <= 1) return 1;
  lnl_pool *p = calloc(1, sizeof *p);
  if (!p) return 0;
  if (pthread_mutex_init(&p->mu, NULL) != 0) {
    free(p);
    return 0;
  }
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->finished, NULL);
  int want = (par->threads > MAX_THREADS ? MAX_THREADS : par->threads) - 1;
  for (; p->workers < want; p->workers++)
    if (pthread_create(&p->tids[p->workers], NULL, worker, p) != 0) break;
  par->pool = p;
  /* fewer workers than asked: the ones there are take the tasks (the work is still split
   * for par->threads, so results do not depend on how many started); none: no pool */
  int all = p->workers == want;
  if (p->workers == 0) lnl_parallel_stop(par);
  return all;
}

void lnl_parallel_stop(lnl_parallel *par) {
  lnl_pool *p = par->pool;
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->stop, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (int t = 0; t < p->workers; t++) pthread_join(p->tids[t], NULL);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->finished);
  pthread_mutex_destroy(&p->mu);
  free(p);
  par->pool = NULL;
}

/* ---- products ---- */

typedef struct gemm_job {
  int ta, tb, m, n, k, lda, ldb, ldc, block;
  const float *a, *b;
  float beta;
  float *c;
} gemm_job;

static void gemm_columns(const gemm_job *j, int n0, int n1) {
  const float *b = j->tb ? j->b + (size_t)n0 * j->ldb : j->b + n0;
  cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
              j->m, n1 - n0, j->k, 1.0f, j->a, j->lda, b, j->ldb, j->beta, j->c + n0, j->ldc);
}

static void gemm_task(void *arg, int t) {
  const gemm_job *j = arg;
  int n0 = t * j->block, n1 = n0 + j->block < j->n ? n0 + j->block : j->n;
  gemm_columns(j, n0, n1);
}

void lnl_gemm(lnl_parallel *par, int ta, int tb, int m, int n, int k, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc) {
  int threads = lnl_parallel_threads_for(par, (double)m * n * k);
  if (threads > n / 16) threads = n / 16; /* keep column blocks wide enough for the kernels */
  gemm_job gj = {ta, tb, m, n, k, lda, ldb, ldc, n, a, b, beta, c};
  if (threads <= 1) {
    gemm_columns(&gj, 0, n);
    return;
  }
  gj.block = (n + threads - 1) / threads;
  threads = (n + gj.block - 1) / gj.block; /* rounding up can leave the last no columns */
  lnl_parallel_for(par, threads, gemm_task, &gj);
}
