/* Parity: the engine reproduces the trainer's golden outputs (tools/train/export.py)
 * to within 1e-4, from raw RGB crops (preprocessing included) and from
 * preprocessed inputs. usage: test_parity WEIGHTS GOLDEN */
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "lnl_safetensors.h"
#include "lnlfer.h"
#include "test_util.h"

#define TOL 1e-4

static const lnl_tensor_view *need(const lnl_safetensors *g, const char *name) {
  const lnl_tensor_view *t = lnl_safetensors_find(g, name);
  if (!t) {
    fprintf(stderr, "golden file lacks '%s'\n", name);
    exit(1);
  }
  return t;
}

/* The golden tensors are F32; copy out so that alignment does not matter. */
static float *floats(const lnl_tensor_view *t) {
  float *p = malloc(t->nbytes + sizeof(float));
  memcpy(p, t->data, t->nbytes);
  return p;
}

static void check_crops(lnl_model *model, lnl_context *ctx, const lnl_safetensors *g) {
  int nc = lnl_model_num_classes(model), nr = lnl_model_num_regions(model);
  size_t in = (size_t)lnl_model_input_channels(model) * lnl_model_input_size(model) *
              lnl_model_input_size(model);
  float *inputs = floats(need(g, "inputs"));
  float *probs = floats(need(g, "probs"));
  float *weights = floats(need(g, "weights"));
  float *mine = malloc(in * sizeof(float));
  int n = (int)need(g, "probs")->shape[0];
  for (int i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "crop%d", i);
    const lnl_tensor_view *c = need(g, name);
    lnl_image img = {c->data, (int)c->shape[1], (int)c->shape[0], (size_t)c->shape[1] * 3};
    lnl_error err = {0};
    CHECK(lnl_preprocess(model, &img, mine, &err) == LNL_OK);
    CHECK_CLOSE(mine, inputs + i * in, in, TOL);
    lnl_result r;
    CHECK_MSG(lnl_classify(ctx, &img, 1, &r, &err) == LNL_OK, "%s", err.message);
    CHECK_CLOSE(r.probs, probs + i * nc, (size_t)nc, TOL);
    CHECK_CLOSE(r.weights, weights + i * nr, (size_t)nr, TOL);
    printf("crop %d (%dx%d): label %s, p=%.4f\n", i, img.width, img.height,
           lnl_model_class_name(model, r.label), r.probs[r.label]);
  }
  free(inputs);
  free(probs);
  free(weights);
  free(mine);
}

static void check_raw(lnl_model *model, lnl_context *ctx, const lnl_safetensors *g) {
  int nc = lnl_model_num_classes(model), nr = lnl_model_num_regions(model);
  float *inputs = floats(need(g, "raw_inputs"));
  float *probs = floats(need(g, "raw_probs"));
  float *weights = floats(need(g, "raw_weights"));
  int n = (int)need(g, "raw_probs")->shape[0];
  lnl_result *r = calloc((size_t)n, sizeof *r);
  lnl_error err = {0};
  CHECK(lnl_run(ctx, inputs, n, r, &err) == LNL_OK);
  for (int i = 0; i < n; i++) {
    CHECK_CLOSE(r[i].probs, probs + i * nc, (size_t)nc, TOL);
    CHECK_CLOSE(r[i].weights, weights + i * nr, (size_t)nr, TOL);
  }
  free(r);
  free(inputs);
  free(probs);
  free(weights);
}

/* One context per thread, both threads at once, must give the single-thread results. */
typedef struct worker {
  lnl_model *model;
  const float *inputs;
  int n;
  lnl_result results[8];
  lnl_status status;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  lnl_context *ctx = NULL;
  lnl_error err = {0};
  w->status = lnl_context_new(w->model, 1, &ctx, &err);
  for (int rep = 0; rep < 20 && w->status == LNL_OK; rep++)
    w->status = lnl_run(ctx, w->inputs, w->n, w->results, &err);
  lnl_context_free(ctx);
  return NULL;
}

static void check_threads(lnl_model *model, const lnl_safetensors *g) {
  float *inputs = floats(need(g, "raw_inputs"));
  float *probs = floats(need(g, "raw_probs"));
  int n = (int)need(g, "raw_probs")->shape[0], nc = lnl_model_num_classes(model);
  if (n > 8) n = 8;
  worker w[2] = {{model, inputs, n, {{0}}, LNL_OK}, {model, inputs, n, {{0}}, LNL_OK}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 2; i++) {
    CHECK(w[i].status == LNL_OK);
    for (int k = 0; k < n; k++) CHECK_CLOSE(w[i].results[k].probs, probs + k * nc, (size_t)nc, TOL);
  }
  free(inputs);
  free(probs);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s WEIGHTS GOLDEN\n", argv[0]);
    return 2;
  }
  lnl_error err = {0};
  lnl_model *model = NULL;
  if (lnl_model_open(argv[1], &model, &err) != LNL_OK) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  size_t size = 0;
  uint8_t *buf = read_file(argv[2], &size);
  lnl_safetensors golden;
  if (!buf || lnl_safetensors_parse(buf, size, &golden, &err) != LNL_OK) {
    fprintf(stderr, "cannot read golden file %s: %s\n", argv[2], buf ? err.message : "I/O error");
    return 1;
  }
  /* the engine counts the same multiply-adds as the trainer (written by export.py) */
  const char *macs = lnl_model_metadata(model, "lnl.macs");
  CHECK_MSG(macs && lnl_model_macs(model) == strtoull(macs, NULL, 10), "macs %llu, file says %s",
            (unsigned long long)lnl_model_macs(model), macs ? macs : "nothing");
  for (int threads = 1; threads <= 2; threads++) {
    lnl_context *ctx = NULL;
    CHECK(lnl_context_new(model, threads, &ctx, &err) == LNL_OK);
    check_crops(model, ctx, &golden);
    check_raw(model, ctx, &golden);
    lnl_context_free(ctx);
  }
  check_threads(model, &golden);
  lnl_safetensors_free(&golden);
  free(buf);
  lnl_model_close(model);
  printf("%s\n", check_failures ? "FAILED" : "parity OK");
  return check_failures ? 1 : 0;
}
