/* The public API: model loading, contexts, classification. */
#include <stdlib.h>
#include <string.h>

#include "lnl_align.h"
#include "lnl_error.h"
#include "lnl_mapfile.h"
#include "lnl_net.h"
#include "lnl_preprocess.h"
#include "lnl_resample.h"
#include "lnlfer.h"

struct lnl_model {
  lnl_net net;
  lnl_align_template align; /* from "lnl.align" metadata, else the default */
  lnl_metadata_entry *metadata;
  int metadata_count;
};

struct lnl_context {
  const lnl_model *model;
  lnl_net_scratch scratch;
  lnl_parallel par;
  float *input;
};

static void free_metadata(lnl_metadata_entry *m, int count) {
  for (int i = 0; i < count; i++) {
    free(m[i].key);
    free(m[i].value);
  }
  free(m);
}

lnl_status lnl_model_open_memory(const void *data, size_t size, lnl_model **out, lnl_error *err) {
  if (!out) return lnl_fail(err, LNL_ERR_ARGUMENT, "no place to return the model");
  *out = NULL;
  lnl_safetensors st;
  lnl_status s = lnl_safetensors_parse(data, size, &st, err);
  if (s) return s;
  lnl_config cfg;
  lnl_model *model = calloc(1, sizeof *model);
  if (!model) {
    s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory opening the model");
  } else if (!(s = lnl_config_parse(lnl_safetensors_metadata(&st, LNL_CONFIG_KEY), &cfg, err)) &&
             !(s = lnl_net_load(&model->net, &cfg, &st, err))) {
    /* keep the metadata strings; the tensor data has been copied */
    if (!lnl_align_template_parse(lnl_safetensors_metadata(&st, "lnl.align"), &model->align))
      model->align = LNL_DEFAULT_TEMPLATE;
    model->metadata = st.metadata;
    model->metadata_count = st.metadata_count;
    st.metadata = NULL;
    st.metadata_count = 0;
    lnl_parallel_init();
    *out = model;
  }
  lnl_safetensors_free(&st);
  if (s) free(model);
  return s;
}

static lnl_status parse_lnl_model(const void *data, size_t size, void *out, lnl_error *err) {
  return lnl_model_open_memory(data, size, out, err);
}

lnl_status lnl_model_open(const char *path, lnl_model **out, lnl_error *err) {
  if (out) *out = NULL;
  return lnl_open_mapped(path, parse_lnl_model, out, err);
}

void lnl_model_close(lnl_model *model) {
  if (!model) return;
  lnl_net_free(&model->net);
  free_metadata(model->metadata, model->metadata_count);
  free(model);
}

int lnl_model_num_classes(const lnl_model *m) { return m->net.cfg.num_classes; }

const char *lnl_model_class_name(const lnl_model *m, int index) {
  if (index < 0 || index >= m->net.cfg.num_classes) return NULL;
  return m->net.cfg.class_names[index];
}

int lnl_model_num_regions(const lnl_model *m) { return m->net.cfg.num_regions; }
int lnl_model_input_size(const lnl_model *m) { return m->net.cfg.input_size; }
int lnl_model_input_channels(const lnl_model *m) { return m->net.cfg.input_channels; }
uint64_t lnl_model_macs(const lnl_model *m) { return m->net.macs; }

const char *lnl_model_metadata(const lnl_model *m, const char *key) {
  for (int i = 0; key && i < m->metadata_count; i++)
    if (strcmp(m->metadata[i].key, key) == 0) return m->metadata[i].value;
  return NULL;
}

lnl_status lnl_context_new(const lnl_model *model, int threads, lnl_context **out, lnl_error *err) {
  if (!out || !model) return lnl_fail(err, LNL_ERR_ARGUMENT, "no model for the context");
  if (threads < 1 || threads > 64)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "thread count %d is outside 1..64", threads);
  *out = NULL;
  lnl_context *ctx = calloc(1, sizeof *ctx);
  const lnl_config *cfg = &model->net.cfg;
  size_t in = (size_t)cfg->input_channels * cfg->input_size * cfg->input_size;
  if (!ctx || !(ctx->input = malloc(in * sizeof(float)))) {
    free(ctx);
    return lnl_fail(err, LNL_ERR_MEMORY, "out of memory creating a context");
  }
  lnl_status s = lnl_net_scratch_new(&model->net, 1, &ctx->scratch, err);
  if (s) {
    free(ctx->input);
    free(ctx);
    return s;
  }
  ctx->model = model;
  ctx->par.threads = threads;
  lnl_parallel_start(&ctx->par); /* without workers, each step creates its threads */
  *out = ctx;
  return LNL_OK;
}

void lnl_context_free(lnl_context *ctx) {
  if (!ctx) return;
  lnl_parallel_stop(&ctx->par);
  lnl_net_scratch_free(&ctx->scratch);
  free(ctx->input);
  free(ctx);
}

/* Runs the network on n <= ctx->scratch.batch inputs and fills their results; region
 * rectangles are scaled from feature cells by (sx, sy). */
static void run_batch(lnl_context *ctx, const float *inputs, int n, float sx, float sy,
                      lnl_result *results) {
  const lnl_net *net = &ctx->model->net;
  const lnl_config *cfg = &net->cfg;
  lnl_net_forward(net, &ctx->scratch, n, inputs, &ctx->par);
  for (int f = 0; f < n; f++) {
    lnl_result *r = &results[f];
    memset(r, 0, sizeof *r);
    memcpy(r->probs, ctx->scratch.probs + (size_t)f * cfg->num_classes,
           sizeof(float) * (size_t)cfg->num_classes);
    memcpy(r->weights, ctx->scratch.weights + (size_t)f * cfg->num_regions,
           sizeof(float) * (size_t)cfg->num_regions);
    r->label = 0;
    for (int k = 1; k < cfg->num_classes; k++)
      if (r->probs[k] > r->probs[r->label]) r->label = k;
    for (int i = 0; i < cfg->num_regions; i++) {
      const int *g = cfg->regions[i];
      r->regions[i] = (lnl_rect){g[0] * sx, g[1] * sy, g[2] * sx, g[3] * sy};
    }
  }
}

static void run_one(lnl_context *ctx, const float *input, float sx, float sy, lnl_result *r) {
  run_batch(ctx, input, 1, sx, sy, r);
}

/* Grows the context's buffers to hold up to `n` faces (at most LNL_NET_MAX_BATCH); keeps
 * the ones it has when that fails: the faces then go through in smaller batches. */
static void grow_batch(lnl_context *ctx, int n) {
  if (n > LNL_NET_MAX_BATCH) n = LNL_NET_MAX_BATCH;
  if (n <= ctx->scratch.batch) return;
  lnl_net_scratch bigger;
  lnl_error ignored;
  if (lnl_net_scratch_new(&ctx->model->net, n, &bigger, &ignored) != LNL_OK) return;
  lnl_net_scratch_free(&ctx->scratch);
  ctx->scratch = bigger;
}

lnl_status lnl_preprocess(const lnl_model *model, const lnl_image *crop, float *input,
                          lnl_error *err) {
  if (!model || !input) return lnl_fail(err, LNL_ERR_ARGUMENT, "no model or output buffer");
  return lnl_preprocess_crop(&model->net.cfg, crop, input, err);
}

lnl_status lnl_classify(lnl_context *ctx, const lnl_image *crops, int n, lnl_result *results,
                        lnl_error *err) {
  if (!ctx || (n > 0 && (!crops || !results)) || n < 0)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "lnl_classify: bad arguments");
  const lnl_config *cfg = &ctx->model->net.cfg;
  float cell = (float)cfg->input_size / (float)cfg->feature_size;
  for (int i = 0; i < n; i++) {
    lnl_status s = lnl_preprocess_crop(cfg, &crops[i], ctx->input, err);
    if (s) return s;
    run_one(ctx, ctx->input, cell * (float)crops[i].width / (float)cfg->input_size,
            cell * (float)crops[i].height / (float)cfg->input_size, &results[i]);
  }
  return LNL_OK;
}

lnl_status lnl_run(lnl_context *ctx, const float *inputs, int n, lnl_result *results,
                   lnl_error *err) {
  if (!ctx || (n > 0 && (!inputs || !results)) || n < 0)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "lnl_run: bad arguments");
  const lnl_config *cfg = &ctx->model->net.cfg;
  size_t in = (size_t)cfg->input_channels * cfg->input_size * cfg->input_size;
  float cell = (float)cfg->input_size / (float)cfg->feature_size;
  grow_batch(ctx, n);
  for (int i = 0; i < n; i += ctx->scratch.batch) {
    int m = n - i < ctx->scratch.batch ? n - i : ctx->scratch.batch;
    run_batch(ctx, inputs + (size_t)i * in, m, cell, cell, &results[i]);
  }
  return LNL_OK;
}

int lnl_model_crop_side(const lnl_model *m) { return 2 * m->net.cfg.input_size; }

lnl_status lnl_align(const lnl_model *model, const lnl_image *img, const lnl_face *face,
                     uint8_t *rgb, float crop_to_image[6], lnl_error *err) {
  if (!model || !face || !rgb || !crop_to_image)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "lnl_align: bad arguments");
  lnl_status s = lnl_check_image(img, err);
  if (s) return s;
  int side = lnl_model_crop_side(model);
  lnl_align_transform(face, &model->align, side, crop_to_image);
  lnl_align_crop(img, crop_to_image, side, rgb);
  return LNL_OK;
}

lnl_status lnl_analyze(lnl_context *ctx, const lnl_detector *det, const lnl_image *img,
                       const lnl_detect_options *opt, lnl_face_analysis **out, int *count,
                       lnl_error *err) {
  if (!ctx || !det || !out || !count)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "lnl_analyze: bad arguments");
  *out = NULL;
  *count = 0;
  lnl_face *faces = NULL;
  int n = 0;
  lnl_status s = lnl_detect(det, img, opt, &faces, &n, err);
  if (s || n == 0) return s;
  int side = lnl_model_crop_side(ctx->model);
  lnl_face_analysis *res = calloc((size_t)n, sizeof *res);
  uint8_t *crop = malloc((size_t)side * side * 3);
  if (!res || !crop) s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory analysing %d faces", n);
  for (int i = 0; i < n && !s; i++) {
    res[i].face = faces[i];
    res[i].crop_side = side;
    s = lnl_align(ctx->model, img, &faces[i], crop, res[i].crop_to_image, err);
    lnl_image view = {crop, side, side, (size_t)side * 3};
    if (!s) s = lnl_classify(ctx, &view, 1, &res[i].expression, err);
  }
  free(crop);
  free(faces);
  if (s) {
    free(res);
    return s;
  }
  *out = res;
  *count = n;
  return LNL_OK;
}
