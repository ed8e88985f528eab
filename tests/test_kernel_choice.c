/* The kernel set may be chosen (lnl_kernels_select) while networks run on other threads:
 * each layer runs with one of the sets, so every result lies within rounding of the
 * sets' own results, computed alone first (a torn or stale choice would crash or differ).
 * Under ThreadSanitizer (scripts/test builds build-tsan for this test alone) a choice
 * written without synchronisation is reported as a data race.
 * usage: test_kernel_choice WEIGHTS DETECTOR */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "lnl_kernels.h"
#include "lnlfer.h"

#define SIDE 64   /* crop side: small, so that a run is short under TSan */
#define RUNS 2    /* networks per thread */
#define THREADS 3 /* threads running networks, each with its own context */

static const char *const set_names[] = {"avx512", "avx2", "generic"};
#define NUM_SETS 3

typedef struct shared {
  const lnl_model *model;
  const lnl_detector *det;
  lnl_image crop;
  lnl_result expect[NUM_SETS]; /* the crop's result with each set that runs here */
  int runs_here[NUM_SETS];
  int faces[NUM_SETS]; /* faces the detector finds with each set */
} shared;

static atomic_int finished; /* threads done running networks */

typedef struct worker_state {
  shared *sh;
  int mismatches, failures;
} worker_state;

/* Whether r is within rounding of one of the sets' results. */
static int is_a_set_result(const shared *sh, const lnl_result *r) {
  int classes = lnl_model_num_classes(sh->model);
  for (int k = 0; k < NUM_SETS; k++)
    if (sh->runs_here[k] && r->label == sh->expect[k].label &&
        max_abs_diff(r->probs, sh->expect[k].probs, (size_t)classes) < 1e-4)
      return 1;
  return 0;
}

static void *run_networks(void *arg) {
  worker_state *w = arg;
  shared *sh = w->sh;
  lnl_error err;
  lnl_context *ctx = NULL;
  if (lnl_context_new(sh->model, 2, &ctx, &err) != LNL_OK) {
    w->failures++;
    return NULL;
  }
  for (int i = 0; i < RUNS; i++) {
    lnl_result r;
    if (lnl_classify(ctx, &sh->crop, 1, &r, &err) != LNL_OK)
      w->failures++;
    else if (!is_a_set_result(sh, &r))
      w->mismatches++;
    lnl_face *faces = NULL;
    int n = -1;
    if (lnl_context_detect(ctx, sh->det, &sh->crop, NULL, &faces, &n, &err) != LNL_OK)
      w->failures++;
    free(faces);
  }
  lnl_context_free(ctx);
  atomic_fetch_add(&finished, 1);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s WEIGHTS DETECTOR\n", argv[0]);
    return 2;
  }
  lnl_error err;
  lnl_model *model = NULL;
  lnl_detector *det = NULL;
  if (lnl_model_open(argv[1], &model, &err) || lnl_detector_open(argv[2], &det, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  static uint8_t pixels[SIDE * SIDE * 3];
  for (int i = 0; i < SIDE * SIDE * 3; i++) pixels[i] = (uint8_t)((i * 37 + i / 191) & 0xFF);
  shared sh = {model, det, {pixels, SIDE, SIDE, SIDE * 3}, {{0}}, {0}, {0}};

  /* each set's own result, one thread, nothing else running */
  lnl_context *ctx = NULL;
  CHECK(lnl_context_new(model, 1, &ctx, &err) == LNL_OK);
  int sets = 0;
  for (int k = 0; k < NUM_SETS; k++) {
    if (!(sh.runs_here[k] = lnl_kernels_select(set_names[k]))) continue;
    sets++;
    CHECK(lnl_classify(ctx, &sh.crop, 1, &sh.expect[k], &err) == LNL_OK);
  }
  lnl_context_free(ctx);
  CHECK(sets >= 1 && lnl_kernels_select("generic"));

  /* the networks run while this thread keeps changing the choice */
  pthread_t tids[THREADS];
  worker_state ws[THREADS];
  for (int t = 0; t < THREADS; t++) {
    ws[t] = (worker_state){&sh, 0, 0};
    CHECK(pthread_create(&tids[t], NULL, run_networks, &ws[t]) == 0);
  }
  int selections = 0;
  while (atomic_load(&finished) < THREADS)
    for (int k = 0; k < NUM_SETS; k++) {
      if (sh.runs_here[k]) selections += lnl_kernels_select(set_names[k]);
      nanosleep(&(struct timespec){0, 20000}, NULL); /* leave the CPUs to the networks */
    }
  const char *last = lnl_kernels()->name;
  for (int t = 0; t < THREADS; t++) {
    pthread_join(tids[t], NULL);
    CHECK_MSG(ws[t].failures == 0, "thread %d: %d runs failed", t, ws[t].failures);
    CHECK_MSG(ws[t].mismatches == 0, "thread %d: %d results are not within rounding of any set's",
              t, ws[t].mismatches);
  }
  CHECK(last != NULL && strcmp(lnl_kernels()->name, last) == 0);
  printf("test_kernel_choice: %d sets, %d selections during %d x %d runs, %d failed checks\n", sets,
         selections, THREADS, RUNS, check_failures);
  lnl_detector_close(det);
  lnl_model_close(model);
  return check_failures != 0;
}
