/* The public API: model loading, contexts, classification. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "lnl_align.h"
#include "lnl_error.h"
#include "lnl_mapfile.h"
#include "lnl_net.h"
#include "lnl_pipeline.h"
#include "lnl_preprocess.h"
#include "lnl_resample.h"
#include "lnl_safetensors.h"
#include "lnlfer.h"

struct lnl_model {
  lnl_net net;
  lnl_align_template align; /* from "lnl.align" metadata, else the default */
  int aligned_training;     /* the recipe ("lnl.recipe" metadata) cut aligned crops */
  lnl_metadata_entry *metadata;
  int metadata_count;
};

/* Faces of one call run one per thread, each through its own batch-1 buffers (a lane):
 * measured faster than batching faces through every layer together, whose maps outgrow
 * the per-core cache, or than splitting one face's layers across threads. A single
 * face uses all threads inside its layers. */
struct lnl_context {
  const lnl_model *model;
  lnl_parallel par;
  lnl_net_scratch *lanes; /* [num_lanes], lane 0 made with the context */
  int num_lanes;
};

/* Whether a recipe (JSON) has crop "aligned". */
static int recipe_crops_aligned(const char *recipe) {
  cJSON *root = recipe ? cJSON_Parse(recipe) : NULL;
  const cJSON *crop = cJSON_GetObjectItemCaseSensitive(root, "crop");
  int aligned = cJSON_IsString(crop) && strcmp(crop->valuestring, "aligned") == 0;
  cJSON_Delete(root);
  return aligned;
}

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
    model->aligned_training = recipe_crops_aligned(lnl_safetensors_metadata(&st, "lnl.recipe"));
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
int lnl_model_trained_on_aligned_crops(const lnl_model *m) { return m && m->aligned_training; }
const lnl_align_template *lnl_model_align_template(const lnl_model *m) { return &m->align; }

const char *lnl_model_metadata(const lnl_model *m, const char *key) {
  for (int i = 0; key && i < m->metadata_count; i++)
    if (strcmp(m->metadata[i].key, key) == 0) return m->metadata[i].value;
  return NULL;
}

lnl_status lnl_context_new(const lnl_model *model, int threads, lnl_context **out, lnl_error *err) {
  if (!out) return lnl_fail(err, LNL_ERR_ARGUMENT, "no place to return the context");
  if (threads < 1 || threads > 64)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "thread count %d is outside 1..64", threads);
  *out = NULL;
  lnl_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx || !(ctx->lanes = calloc((size_t)threads, sizeof *ctx->lanes))) {
    free(ctx);
    return lnl_fail(err, LNL_ERR_MEMORY, "out of memory creating a context");
  }
  lnl_status s = model ? lnl_net_scratch_new(&model->net, &ctx->lanes[0], err) : LNL_OK;
  if (s) {
    free(ctx->lanes);
    free(ctx);
    return s;
  }
  ctx->num_lanes = model ? 1 : 0;
  ctx->model = model;
  ctx->par.threads = threads;
  lnl_parallel_start(&ctx->par); /* the context's only threads (none: all on the caller's) */
  *out = ctx;
  return LNL_OK;
}

void lnl_context_free(lnl_context *ctx) {
  if (!ctx) return;
  lnl_parallel_stop(&ctx->par);
  for (int i = 0; i < ctx->num_lanes; i++) lnl_net_scratch_free(&ctx->lanes[i]);
  free(ctx->lanes);
  free(ctx);
}

static size_t input_floats(const lnl_model *model) {
  const lnl_config *cfg = &model->net.cfg;
  return (size_t)cfg->input_channels * cfg->input_size * cfg->input_size;
}

/* Lanes for n faces: one per thread, at most n; keeps fewer when memory runs short. */
static int lanes_for(lnl_context *ctx, int n) {
  int want = n < ctx->par.threads ? n : ctx->par.threads;
  lnl_error ignored;
  while (ctx->num_lanes < want &&
         lnl_net_scratch_new(&ctx->model->net, &ctx->lanes[ctx->num_lanes], &ignored) == LNL_OK)
    ctx->num_lanes++;
  return want < ctx->num_lanes ? (want < 1 ? 1 : want) : ctx->num_lanes;
}

/* Runs the network on one input in lane `lane` and fills its result; region rectangles
 * are in network-input coordinates. */
static void run_face(lnl_context *ctx, int lane, const float *input, lnl_parallel *par,
                     lnl_result *r) {
  const lnl_config *cfg = &ctx->model->net.cfg;
  lnl_net_scratch *s = &ctx->lanes[lane];
  float cell = (float)cfg->input_size / (float)cfg->feature_size;
  lnl_net_forward(&ctx->model->net, s, input, par);
  memset(r, 0, sizeof *r);
  memcpy(r->probs, s->probs, sizeof(float) * (size_t)cfg->num_classes);
  memcpy(r->weights, s->weights, sizeof(float) * (size_t)cfg->num_regions);
  for (int k = 1; k < cfg->num_classes; k++)
    if (r->probs[k] > r->probs[r->label]) r->label = k;
  for (int i = 0; i < cfg->num_regions; i++) {
    const int *g = cfg->regions[i];
    r->regions[i] = (lnl_rect){g[0] * cell, g[1] * cell, g[2] * cell, g[3] * cell};
  }
}

typedef struct lanes_job {
  lnl_context *ctx;
  const float *inputs;
  lnl_result *results;
  int n, lanes;
} lanes_job;

static void lane_task(void *arg, int lane) {
  const lanes_job *j = arg;
  size_t in = input_floats(j->ctx->model);
  for (int i = lane; i < j->n; i += j->lanes)
    run_face(j->ctx, lane, j->inputs + (size_t)i * in, NULL, &j->results[i]);
}

/* The network on n preprocessed inputs: one face uses every thread inside its layers;
 * several faces go one per thread. */
static void run_faces(lnl_context *ctx, const float *inputs, int n, lnl_result *results) {
  int lanes = n > 1 ? lanes_for(ctx, n) : 1;
  if (lanes <= 1) {
    size_t in = input_floats(ctx->model);
    for (int i = 0; i < n; i++) run_face(ctx, 0, inputs + (size_t)i * in, &ctx->par, &results[i]);
    return;
  }
  lanes_job j = {ctx, inputs, results, n, lanes};
  lnl_parallel_for(&ctx->par, lanes, lane_task, &j);
}

/* Weights that are finite can still overflow inside the network (absurdly large values):
 * no NaN or infinity is passed on as a result. */
static lnl_status check_results(const lnl_model *model, const lnl_result *r, int n,
                                lnl_error *err) {
  const lnl_config *cfg = &model->net.cfg;
  for (int i = 0; i < n; i++)
    if (lnl_first_nonfinite(r[i].probs, (size_t)cfg->num_classes) < (size_t)cfg->num_classes ||
        lnl_first_nonfinite(r[i].weights, (size_t)cfg->num_regions) < (size_t)cfg->num_regions)
      return lnl_fail(err, LNL_ERR_MODEL,
                      "the network's output is not finite: its weights overflow on this input");
  return LNL_OK;
}

/* Region rectangles from network-input coordinates to those of a crop w x h. */
static void scale_regions(const lnl_model *model, lnl_result *r, int w, int h) {
  float sx = (float)w / (float)model->net.cfg.input_size;
  float sy = (float)h / (float)model->net.cfg.input_size;
  for (int i = 0; i < model->net.cfg.num_regions; i++)
    r->regions[i] = (lnl_rect){r->regions[i].x * sx, r->regions[i].y * sy, r->regions[i].w * sx,
                               r->regions[i].h * sy};
}

lnl_status lnl_preprocess(const lnl_model *model, const lnl_image *crop, float *input,
                          lnl_error *err) {
  if (!model || !input) return lnl_fail(err, LNL_ERR_ARGUMENT, "no model or output buffer");
  return lnl_preprocess_crop(&model->net.cfg, crop, input, err);
}

lnl_status lnl_classify(lnl_context *ctx, const lnl_image *crops, int n, lnl_result *results,
                        lnl_error *err) {
  if (!ctx || !ctx->model || (n > 0 && (!crops || !results)) || n < 0)
    return lnl_fail(err, LNL_ERR_ARGUMENT,
                    "lnl_classify: bad arguments (or a context without a model)");
  if (n == 0) return LNL_OK;
  size_t in = input_floats(ctx->model);
  float *inputs = malloc(sizeof(float) * in * (size_t)n);
  if (!inputs) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory classifying %d faces", n);
  lnl_status s = LNL_OK;
  for (int i = 0; i < n && !s; i++)
    s = lnl_preprocess_crop(&ctx->model->net.cfg, &crops[i], inputs + (size_t)i * in, err);
  if (!s) {
    run_faces(ctx, inputs, n, results);
    s = check_results(ctx->model, results, n, err);
    for (int i = 0; i < n && !s; i++)
      scale_regions(ctx->model, &results[i], crops[i].width, crops[i].height);
  }
  free(inputs);
  return s;
}

lnl_status lnl_run(lnl_context *ctx, const float *inputs, int n, lnl_result *results,
                   lnl_error *err) {
  if (!ctx || !ctx->model || (n > 0 && (!inputs || !results)) || n < 0)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "lnl_run: bad arguments (or a context without a model)");
  run_faces(ctx, inputs, n, results);
  return check_results(ctx->model, results, n, err);
}

int lnl_model_crop_side(const lnl_model *m) { return 2 * m->net.cfg.input_size; }

lnl_status lnl_align(const lnl_model *model, const lnl_image *img, const lnl_face *face,
                     uint8_t *rgb, float crop_to_image[6], lnl_error *err) {
  if (!model || !face || !rgb || !crop_to_image)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "lnl_align: bad arguments");
  lnl_status s = lnl_check_image(img, err);
  if (s) return s;
  int side = lnl_model_crop_side(model);
  return lnl_align_face(img, face, &model->align, side, rgb, crop_to_image, err);
}

const lnl_model *lnl_context_model(const lnl_context *ctx) { return ctx->model; }
lnl_parallel *lnl_context_parallel(lnl_context *ctx) { return &ctx->par; }
int lnl_context_threads(const lnl_context *ctx) { return ctx->par.threads; }
size_t lnl_model_input_floats(const lnl_model *model) { return input_floats(model); }

lnl_status lnl_model_preprocess(const lnl_model *model, const lnl_image *crop, float *input,
                                lnl_error *err) {
  return lnl_preprocess_crop(&model->net.cfg, crop, input, err);
}

lnl_status lnl_classify_inputs(lnl_context *ctx, const float *inputs, int n, int side,
                               lnl_result *results, lnl_error *err) {
  run_faces(ctx, inputs, n, results);
  lnl_status s = check_results(ctx->model, results, n, err);
  for (int i = 0; i < n && !s; i++) scale_regions(ctx->model, &results[i], side, side);
  return s;
}
