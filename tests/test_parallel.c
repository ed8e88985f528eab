/* The context's pool is the engine's one thread owner: threads are created when a context
 * (or an lnl_parallel) starts its workers and never per call; without a pool every task
 * runs on the caller's thread; a call with more tasks than one pool job takes is queued
 * onto the same workers; every task runs exactly once.
 * The engine's calls to pthread_create are counted through the linker (--wrap, this
 * test's link arguments only), and each task records the kernel thread id it ran on.
 * usage: test_parallel WEIGHTS DETECTOR PHOTO */
#define _GNU_SOURCE
#include <pthread.h>
#include <stb_image.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "lnl_parallel.h"
#include "lnlfer.h"

/* ---- pthread_create, counted ---- */

int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
static atomic_int created;

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg) {
  atomic_fetch_add(&created, 1);
  return __real_pthread_create(t, attr, fn, arg);
}

/* ---- tasks that record where they ran ---- */

#define MAX_TASKS 70000 /* more than a pool job's 65,535 */
#define MAX_TIDS 64

typedef struct record {
  atomic_int runs[MAX_TASKS]; /* how often each task ran */
  pthread_mutex_t mu;
  pid_t tids[MAX_TIDS]; /* the distinct threads tasks ran on */
  int num_tids;
} record;

static pid_t thread_id(void) { return (pid_t)syscall(SYS_gettid); }

static void note_task(void *arg, int i) {
  record *r = arg;
  atomic_fetch_add(&r->runs[i], 1);
  pid_t me = thread_id();
  pthread_mutex_lock(&r->mu);
  int k = 0;
  while (k < r->num_tids && r->tids[k] != me) k++;
  if (k == r->num_tids && k < MAX_TIDS) r->tids[r->num_tids++] = me;
  pthread_mutex_unlock(&r->mu);
}

static record *new_record(void) {
  record *r = calloc(1, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  return r;
}

/* Runs n tasks and checks that each ran once; returns the number of threads they used. */
static int run_tasks(lnl_parallel *par, record *r, int n) {
  for (int i = 0; i < n; i++) atomic_store(&r->runs[i], 0);
  lnl_parallel_for(par, n, note_task, r);
  int wrong = 0;
  for (int i = 0; i < n; i++) wrong += atomic_load(&r->runs[i]) != 1;
  CHECK_MSG(wrong == 0, "%d of %d tasks did not run exactly once", wrong, n);
  return r->num_tids;
}

/* ---- cases ---- */

static void test_without_pool(void) {
  record *r = new_record();
  lnl_parallel par = {.threads = 4}; /* never started */
  int before = atomic_load(&created);
  int used = run_tasks(&par, r, 1000);
  CHECK_MSG(atomic_load(&created) == before, "a call without a pool created %d threads",
            atomic_load(&created) - before);
  CHECK_MSG(used == 1 && r->tids[0] == thread_id(),
            "without a pool the tasks ran on %d threads, not the caller's alone", used);
  /* a product large enough to split still runs, on the caller's thread */
  int m = 64, n = 512, k = 256;
  float *a = calloc((size_t)m * k, sizeof *a), *b = calloc((size_t)k * n, sizeof *b);
  float *c = calloc((size_t)m * n, sizeof *c);
  for (int i = 0; i < m * k; i++) a[i] = 1.0f;
  for (int i = 0; i < k * n; i++) b[i] = 0.5f;
  lnl_gemm(&par, 0, 0, m, n, k, a, k, b, n, 0.0f, c, n);
  CHECK(c[0] == 128.0f && c[m * n - 1] == 128.0f);
  CHECK(atomic_load(&created) == before);
  free(a), free(b), free(c), free(r);
}

static void test_with_pool(void) {
  record *r = new_record();
  lnl_parallel par = {.threads = 4};
  int before = atomic_load(&created);
  CHECK(lnl_parallel_start(&par));
  CHECK_MSG(atomic_load(&created) - before == 3, "starting 4 threads created %d",
            atomic_load(&created) - before);
  before = atomic_load(&created);
  for (int call = 0; call < 200; call++) run_tasks(&par, r, 1 + call % 9);
  int used = run_tasks(&par, r, MAX_TASKS); /* two pool jobs */
  CHECK_MSG(atomic_load(&created) == before, "calls on a started pool created %d threads",
            atomic_load(&created) - before);
  CHECK_MSG(used <= 4, "tasks ran on %d different threads; the pool has 4", used);
  lnl_parallel_stop(&par);
  CHECK(par.pool == NULL);
  free(r);
}

/* Through the public API: a context creates its threads once; detection and classification,
 * one face or several, create none. */
static void test_context(const char *weights, const char *detector, const char *photo) {
  lnl_error err;
  lnl_model *model = NULL;
  lnl_detector *det = NULL;
  CHECK(lnl_model_open(weights, &model, &err) == LNL_OK);
  CHECK(lnl_detector_open(detector, &det, &err) == LNL_OK);
  int w, h, ch;
  unsigned char *px = stbi_load(photo, &w, &h, &ch, 3);
  CHECK(px != NULL);
  if (!model || !det || !px) return;
  int before = atomic_load(&created);
  lnl_context *ctx = NULL;
  CHECK(lnl_context_new(model, 3, &ctx, &err) == LNL_OK);
  int started = atomic_load(&created) - before;
  CHECK_MSG(started == 2, "a context of 3 threads created %d", started);
  lnl_image img = {px, w, h, (size_t)w * 3};
  for (int round = 0; round < 3; round++) {
    lnl_face_analysis *res = NULL;
    int n = 0;
    CHECK(lnl_analyze(ctx, det, &img, NULL, &res, &n, &err) == LNL_OK && n > 0);
    free(res);
    lnl_face *faces = NULL;
    CHECK(lnl_context_detect(ctx, det, &img, NULL, &faces, &n, &err) == LNL_OK);
    free(faces);
    lnl_image crops[5];
    for (int i = 0; i < 5; i++) crops[i] = img;
    lnl_result results[5];
    CHECK(lnl_classify(ctx, crops, 1, results, &err) == LNL_OK);
    CHECK(lnl_classify(ctx, crops, 5, results, &err) == LNL_OK);
  }
  CHECK_MSG(atomic_load(&created) - before == started,
            "detection and classification created %d threads of their own",
            atomic_load(&created) - before - started);
  lnl_context_free(ctx);
  stbi_image_free(px);
  lnl_detector_close(det);
  lnl_model_close(model);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s WEIGHTS DETECTOR PHOTO\n", argv[0]);
    return 2;
  }
  lnl_parallel_init();
  test_without_pool();
  test_with_pool();
  test_context(argv[1], argv[2], argv[3]);
  printf("test_parallel: %d engine threads created in all, %d failed checks\n",
         atomic_load(&created), check_failures);
  return check_failures != 0;
}
