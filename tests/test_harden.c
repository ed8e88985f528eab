/* What a file or an option can make the engine do: every score threshold the options
 * allow, weights with non-finite or absurd values, programs and configs that ask for
 * too much, and faces of any box go through without a crash, a non-finite number or
 * unbounded memory; bad files are refused when they are opened, naming the problem.
 * The bad files are the shipped ones, patched in memory.
 * usage: test_harden BLAZEFACE EXPRESSION_WEIGHTS PHOTO_PNG */
#include <cjson/cJSON.h>
#include <stb_image.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lnl_safetensors.h"
#include "lnlfer.h"
#include "test_util.h"

/* A 1x1 convolution op of a detector program, reading value `in`. */
#define CONV1X1(in)                                                                                \
  "{\"op\": \"conv\", \"in\": " #in ", \"kernel\": [1, 1], \"stride\": 1, \"pad\": [0, 0, 0, 0], " \
  "\"groups\": 1}"

/* ---------------------------------------------------------------- patched files */

typedef struct file {
  uint8_t *buf;
  size_t size;
} file;

static file load(const char *path) {
  file f;
  f.buf = read_file(path, &f.size);
  if (!f.buf) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  return f;
}

static file copy(file f) {
  file c = {malloc(f.size), f.size};
  if (!c.buf) abort();
  memcpy(c.buf, f.buf, f.size);
  return c;
}

/* Sets every float of tensor `name` of `f` (in place) to `value`, or only element `at`. */
static void set_tensor(file f, const char *name, long at, float value) {
  lnl_safetensors st;
  lnl_error err;
  if (lnl_safetensors_parse(f.buf, f.size, &st, &err)) abort();
  const lnl_tensor_view *t = lnl_safetensors_find(&st, name);
  CHECK_MSG(t != NULL, "no tensor %s", name);
  if (t) {
    uint8_t *p = f.buf + (t->data - f.buf);
    size_t n = t->nbytes / sizeof(float);
    for (size_t i = 0; i < n; i++)
      if (at < 0 || (size_t)at == i) memcpy(p + i * sizeof(float), &value, sizeof value);
  }
  lnl_safetensors_free(&st);
}

/* A safetensors file of F32 tensors (names[i], ndims[i], shapes[i], data[i]; data NULL:
 * zeros) and one metadata entry. */
static file build(int n, const char *const *names, const int *ndims, const int64_t (*shapes)[4],
                  const float *const *data, const char *key, const char *value) {
  cJSON *h = cJSON_CreateObject();
  size_t offset = 0, sizes[16];
  for (int i = 0; i < n; i++) {
    cJSON *t = cJSON_AddObjectToObject(h, names[i]);
    cJSON_AddStringToObject(t, "dtype", "F32");
    cJSON *shape = cJSON_AddArrayToObject(t, "shape");
    size_t count = 1;
    for (int d = 0; d < ndims[i]; d++) {
      cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)shapes[i][d]));
      count *= (size_t)shapes[i][d];
    }
    sizes[i] = count * sizeof(float);
    double range[2] = {(double)offset, (double)(offset + sizes[i])};
    cJSON_AddItemToObject(t, "data_offsets", cJSON_CreateDoubleArray(range, 2));
    offset += sizes[i];
  }
  cJSON_AddStringToObject(cJSON_AddObjectToObject(h, "__metadata__"), key, value);
  char *text = cJSON_PrintUnformatted(h);
  size_t hl = strlen(text);
  file f = {calloc(1, 8 + hl + offset), 8 + hl + offset};
  if (!f.buf) abort();
  for (int i = 0; i < 8; i++) f.buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
  memcpy(f.buf + 8, text, hl);
  offset = 8 + hl;
  for (int i = 0; i < n; i++) {
    if (data[i]) memcpy(f.buf + offset, data[i], sizes[i]);
    offset += sizes[i];
  }
  free(text);
  cJSON_Delete(h);
  return f;
}

/* `f` with metadata `key` replaced by `value` (tensors unchanged). */
static file with_metadata(file f, const char *key, const char *value) {
  uint64_t hl = 0;
  for (int i = 7; i >= 0; i--) hl = hl << 8 | f.buf[i];
  cJSON *h = cJSON_ParseWithLength((const char *)f.buf + 8, (size_t)hl);
  cJSON *meta = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
  cJSON_ReplaceItemInObjectCaseSensitive(meta, key, cJSON_CreateString(value));
  char *text = cJSON_PrintUnformatted(h);
  size_t nl = strlen(text), data = f.size - 8 - (size_t)hl;
  file out = {malloc(8 + nl + data), 8 + nl + data};
  if (!out.buf) abort();
  for (int i = 0; i < 8; i++) out.buf[i] = (uint8_t)((uint64_t)nl >> (8 * i));
  memcpy(out.buf + 8, text, nl);
  memcpy(out.buf + 8 + nl, f.buf + 8 + hl, data);
  free(text);
  cJSON_Delete(h);
  return out;
}

static char *metadata(file f, const char *key) {
  lnl_safetensors st;
  lnl_error err;
  if (lnl_safetensors_parse(f.buf, f.size, &st, &err)) abort();
  const char *v = lnl_safetensors_metadata(&st, key);
  char *copy = v ? strdup(v) : NULL;
  lnl_safetensors_free(&st);
  return copy;
}

/* ---------------------------------------------------------------- checks */

static int finite_all(const float *v, int n) {
  for (int i = 0; i < n; i++)
    if (!isfinite(v[i])) return 0;
  return 1;
}

static int face_finite(const lnl_face *f) {
  float box[4] = {f->box.x, f->box.y, f->box.w, f->box.h};
  return finite_all(box, 4) && isfinite(f->score) && f->num_landmarks >= 0 &&
         f->num_landmarks <= LNL_MAX_LANDMARKS &&
         finite_all(&f->landmarks[0][0], 2 * f->num_landmarks);
}

/* lnl_detect and lnl_analyze succeed and put out finite numbers only. */
static void check_runs(const char *what, const lnl_detector *det, lnl_context *ctx,
                       const lnl_image *img, float threshold, int analyze) {
  /* analyze == 2: every face (600 and more at a threshold near 0), else the 16 best */
  lnl_detect_options opt;
  lnl_detect_options_init(det, &opt);
  opt.score_threshold = threshold;
  lnl_error err = {0};
  lnl_face *faces = NULL;
  int n = 0;
  lnl_status s = lnl_detect(det, img, &opt, &faces, &n, &err);
  CHECK_MSG(s == LNL_OK, "%s: detect: %s", what, err.message);
  int bad = 0;
  for (int i = 0; i < n; i++) bad += !face_finite(&faces[i]);
  CHECK_MSG(bad == 0, "%s: %d of %d faces have non-finite values", what, bad, n);
  free(faces);
  if (!analyze) return;
  if (analyze == 1) opt.max_faces = 16;
  lnl_face_analysis *res = NULL;
  int m = 0;
  s = lnl_analyze(ctx, det, img, &opt, &res, &m, &err);
  CHECK_MSG(s == LNL_OK, "%s: analyze: %s", what, err.message);
  bad = 0;
  for (int i = 0; i < m; i++)
    bad += !face_finite(&res[i].face) || !finite_all(res[i].crop_to_image, 6) ||
           !finite_all(res[i].expression.probs, 8) || !finite_all(res[i].expression.weights, 9);
  CHECK_MSG(bad == 0, "%s: %d of %d analyses have non-finite values", what, bad, m);
  printf("%s: %d faces detected, %d analysed\n", what, n, m);
  free(res);
}

/* Opening `f` as a detector (or model) fails with LNL_ERR_MODEL and a message holding
 * `needle`. */
static void expect_refused(const char *what, file f, int detector, const char *needle) {
  lnl_error err = {0};
  lnl_status s;
  if (detector) {
    lnl_detector *d = NULL;
    s = lnl_detector_open_memory(f.buf, f.size, &d, &err);
    lnl_detector_close(d);
  } else {
    lnl_model *m = NULL;
    s = lnl_model_open_memory(f.buf, f.size, &m, &err);
    lnl_model_close(m);
  }
  CHECK_MSG(s == LNL_ERR_MODEL && strstr(err.message, needle), "%s: status %d, '%s' (want '%s')",
            what, (int)s, err.message, needle);
  if (s == LNL_ERR_MODEL) printf("%s: refused: %s\n", what, err.message);
}

/* Every threshold the CLI and the plug-in accept: 0 (and what 1e-50 parses to), tiny, 1. */
static void check_thresholds(const lnl_detector *det, lnl_context *ctx, const lnl_image *photo) {
  const float thresholds[] = {0.0f, 1e-45f, 1e-30f, 1e-7f, 0.5f, 1.0f - 1e-7f, 1.0f};
  for (size_t i = 0; i < sizeof thresholds / sizeof thresholds[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "threshold %g", (double)thresholds[i]);
    check_runs(what, det, ctx, photo, thresholds[i], i == 0 ? 2 : 1);
  }
}

/* Non-finite weights are refused when the file is opened, naming the tensor. */
static void check_nonfinite_weights(file det, file model) {
  const float bad[] = {NAN, INFINITY, -INFINITY};
  for (int i = 0; i < 3; i++) {
    file d = copy(det), m = copy(model);
    set_tensor(d, "op0.weight", 7, bad[i]);
    set_tensor(m, "classifier.weight", 3, bad[i]);
    expect_refused("detector with a non-finite weight", d, 1, "'op0.weight'");
    expect_refused("model with a non-finite weight", m, 0, "'classifier.weight'");
    free(d.buf);
    free(m.buf);
  }
  /* finite, but folding the batch-norm overflows: gamma 1e38 over sqrt(0 + eps) */
  file m = copy(model);
  set_tensor(m, "unet.enc0.0.bn.weight", 0, 1e38f);
  set_tensor(m, "unet.enc0.0.bn.running_var", 0, 0.0f);
  expect_refused("model whose batch-norm folding overflows", m, 0, "unet.enc0.0.bn");
  free(m.buf);
}

/* Finite weights that make the detector put out absurd boxes, or overflow inside it: the
 * score heads fire on every anchor, the box heads say `value` (bias) or overflow (weight). */
static void check_absurd_boxes(file det, lnl_context *ctx, const lnl_image *photo) {
  const struct {
    const char *what;
    const char *field;
    float value;
  } cases[] = {
      {"box values 1e30", "bias", 1e30f},           {"box values -1e30", "bias", -1e30f},
      {"box values 3e38", "bias", 3e38f},           {"box values 1000", "bias", 1000.0f},
      {"box values -900", "bias", -900.0f},         {"box values 1e-30", "bias", 1e-30f},
      {"box weights 1e30", "weight", 1e30f},        {"box weights -3e38", "weight", -3e38f},
      {"score weights 3e38", "score-weight", 3e38f}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    file d = copy(det);
    set_tensor(d, "op137.bias", -1, 30.0f); /* scores of the 16x16 head */
    set_tensor(d, "op135.bias", -1, 30.0f); /* and of the 8x8 head */
    if (strcmp(cases[i].field, "score-weight") == 0) {
      set_tensor(d, "op137.weight", -1, cases[i].value);
      set_tensor(d, "op135.weight", -1, -cases[i].value);
    } else {
      char a[32], b[32];
      snprintf(a, sizeof a, "op136.%s", cases[i].field);
      snprintf(b, sizeof b, "op134.%s", cases[i].field);
      set_tensor(d, a, -1, cases[i].value);
      set_tensor(d, b, -1, cases[i].value);
    }
    lnl_detector *dd = NULL;
    lnl_error err = {0};
    CHECK_MSG(lnl_detector_open_memory(d.buf, d.size, &dd, &err) == LNL_OK, "%s: %s", cases[i].what,
              err.message);
    if (dd) {
      check_runs(cases[i].what, dd, ctx, photo, 0.5f, 1);
      check_runs(cases[i].what, dd, ctx, photo, 0.0f, 0);
    }
    lnl_detector_close(dd);
    free(d.buf);
  }
}

/* lnl_align on any face: refused when not finite, else a crop (of repeated edges). */
static void check_align_any_box(const lnl_model *model, const lnl_image *photo) {
  int side = lnl_model_crop_side(model);
  uint8_t *crop = malloc((size_t)side * side * 3);
  const float boxes[][4] = {
      {NAN, 0, 10, 10},          {0, 0, INFINITY, 10},         {1e30f, 1e30f, 5, 5},
      {-1e30f, 0, 1e30f, 1e30f}, {3e38f, 3e38f, 3e38f, 3e38f}, {100, 100, 0, 0},
      {100, 100, -50, -50},      {-5000, 9000, 20, 20}};
  for (size_t i = 0; i < sizeof boxes / sizeof boxes[0]; i++)
    for (int marks = 0; marks < 3; marks++) {
      lnl_face f;
      memset(&f, 0, sizeof f);
      f.box = (lnl_rect){boxes[i][0], boxes[i][1], boxes[i][2], boxes[i][3]};
      f.score = 1;
      if (marks) { /* landmarks at the box's corner (degenerate), or spread over it */
        f.num_landmarks = 6;
        for (int k = 0; k < 6; k++) {
          f.landmarks[k][0] = boxes[i][0] + (marks == 2 ? boxes[i][2] * (float)k / 6 : 0);
          f.landmarks[k][1] = boxes[i][1] + (marks == 2 ? boxes[i][3] * (float)(k % 2) : 0);
        }
      }
      float m[6];
      lnl_error err = {0};
      lnl_status s = lnl_align(model, photo, &f, crop, m, &err);
      int finite = finite_all(&f.landmarks[0][0], 12) && isfinite(f.box.x) && isfinite(f.box.y) &&
                   isfinite(f.box.w) && isfinite(f.box.h);
      if (!finite)
        CHECK_MSG(s == LNL_ERR_ARGUMENT, "box %zu/%d: status %d", i, marks, (int)s);
      else
        CHECK_MSG(s == LNL_ERR_ARGUMENT || (s == LNL_OK && finite_all(m, 6)),
                  "box %zu/%d: status %d (%s)", i, marks, (int)s, err.message);
    }
  lnl_face f;
  memset(&f, 0, sizeof f);
  f.num_landmarks = 1000;
  lnl_error err;
  CHECK(lnl_align(model, photo, &f, crop, (float[6]){0}, &err) == LNL_ERR_ARGUMENT);
  free(crop);
}

/* A max-pool or convolution kernel larger than its input is refused at load time (it
 * used to read past its input while running). */
static void check_program_shapes(void) {
  const char *names[] = {"op2.bias", "op2.weight", "op3.bias", "op3.weight"};
  const int ndims[] = {1, 4, 1, 4};
  const int64_t shapes[][4] = {{1}, {1, 3, 1, 1}, {8}, {8, 3, 1, 1}};
  const float *data[] = {NULL, NULL, NULL, NULL};
  const char *fmt =
      "{\"format\": \"lnlfer-blazeface\", \"version\": 1, \"input_size\": 256, \"input_scale\": "
      "0.0078, \"input_offset\": -1, \"ops\": [{\"op\": \"maxpool\", \"in\": 0, \"kernel\": 16, "
      "\"stride\": 16}, %s, {\"op\": \"conv\", \"in\": 1, \"kernel\": [1, 1], \"stride\": 1, "
      "\"pad\": [0, 0, 0, 0], \"groups\": 1}, {\"op\": \"conv\", \"in\": 1, \"kernel\": [1, 1], "
      "\"stride\": 1, \"pad\": [0, 0, 0, 0], \"groups\": 1}], \"heads\": [{\"scores\": 3, "
      "\"boxes\": 4, \"grid\": 16, \"anchors\": 1}], \"box_values\": 8, \"landmarks\": 2, "
      "\"score_threshold\": 0.5, \"nms_iou\": 0.3}";
  const struct {
    const char *op, *needle;
  } cases[] = {
      {"{\"op\": \"maxpool\", \"in\": 1, \"kernel\": 20, \"stride\": 20}", "max-pool is larger"},
      {"{\"op\": \"maxpool\", \"in\": 1, \"kernel\": 17, \"stride\": 2}", "max-pool is larger"},
      {"{\"op\": \"relu\", \"in\": 1}", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char json[2048];
    snprintf(json, sizeof json, fmt, cases[i].op);
    file f = build(4, names, ndims, shapes, data, "lnl.detector", json);
    if (cases[i].needle) {
      expect_refused(cases[i].op, f, 1, cases[i].needle);
    } else { /* the same program with a fitting op opens and runs */
      lnl_detector *d = NULL;
      lnl_error err = {0};
      CHECK_MSG(lnl_detector_open_memory(f.buf, f.size, &d, &err) == LNL_OK, "%s", err.message);
      lnl_detector_close(d);
    }
    free(f.buf);
  }
  /* a convolution whose kernel outgrows its (padded) 16x16 input; with stride 4 the output
   * size formula still gives 1 */
  const char *names2[] = {"op1.bias",   "op1.weight", "op2.bias",
                          "op2.weight", "op3.bias",   "op3.weight"};
  const int ndims2[] = {1, 4, 1, 4, 1, 4};
  const int64_t shapes2[][4] = {{1}, {1, 3, 20, 20}, {1}, {1, 3, 1, 1}, {8}, {8, 3, 1, 1}};
  const float *data2[] = {NULL, NULL, NULL, NULL, NULL, NULL};
  const char *json2 =
      "{\"format\": \"lnlfer-blazeface\", \"version\": 1, \"input_size\": 256, \"input_scale\": "
      "0.0078, \"input_offset\": -1, \"ops\": [{\"op\": \"maxpool\", \"in\": 0, \"kernel\": 16, "
      "\"stride\": 16}, {\"op\": \"conv\", \"in\": 1, \"kernel\": [20, 20], \"stride\": 4, "
      "\"pad\": [1, 1, 1, 1], \"groups\": 1}, " CONV1X1(1) ", " CONV1X1(
          1) "], \"heads\": "
             "[{\"scores\": 3, \"boxes\": 4, \"grid\": 16, \"anchors\": 1}], \"box_values\": 8, "
             "\"landmarks\": 2, \"score_threshold\": 0.5, \"nms_iou\": 0.3}";
  file f = build(6, names2, ndims2, shapes2, data2, "lnl.detector", json2);
  expect_refused("conv kernel larger than its input", f, 1, "kernel is larger");
  free(f.buf);
}

/* Programs that ask for more memory than is sane are refused at load time. Each is a few
 * tensors (the biggest 128 KB): op 0 makes a big value at 2048x2048, a 64x64 max-pool
 * brings it down to the heads' 32x32 grid. */
static void check_program_sizes(void) {
  const char *head =
      "{\"format\": \"lnlfer-blazeface\", \"version\": 1, \"input_size\": 2048, \"input_scale\": "
      "0.0078, \"input_offset\": -1, \"box_values\": 4, \"landmarks\": 0, \"score_threshold\": "
      "0.5, \"nms_iou\": 0.3, \"ops\": [";
  const char *heads = "], \"heads\": [{\"scores\": %d, \"boxes\": %d, \"grid\": 32, "
                      "\"anchors\": 1}]}";
  const struct {
    const char *what, *ops, *needle;
    int channels, head_op; /* channels of the big value; the first head conv's op */
  } cases[] = {
      /* a 1x1 convolution to 128 channels: a 2 GB value */
      {"2 GB value",
       CONV1X1(0) ", {\"op\": \"maxpool\", \"in\": 1, \"kernel\": 64, \"stride\": 64}, " CONV1X1(
           2) ", " CONV1X1(2),
       "output is larger", 128, 2},
      /* 8000 channels of zeros: 134 GB */
      {"pad_channels 8000",
       "{\"op\": \"pad_channels\", \"in\": 0, \"add\": 8000}, {\"op\": \"maxpool\", \"in\": 1, "
       "\"kernel\": 64, \"stride\": 64}, " CONV1X1(2) ", " CONV1X1(2),
       "output is larger", 8003, 2},
      /* values of 50 M floats each (under the limit of one), three alive at once */
      {"three big values alive",
       "{\"op\": \"pad_channels\", \"in\": 0, \"add\": 9}, {\"op\": \"relu\", \"in\": 1}, {\"op\": "
       "\"relu\", \"in\": 1}, {\"op\": \"add\", \"in\": [2, 3]}, {\"op\": \"maxpool\", \"in\": 4, "
       "\"kernel\": 64, \"stride\": 64}, " CONV1X1(5) ", " CONV1X1(5),
       "at once", 12, 5},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char json[2048], tail[256];
    snprintf(tail, sizeof tail, heads, cases[i].head_op + 1, cases[i].head_op + 2);
    snprintf(json, sizeof json, "%s%s%s", head, cases[i].ops, tail);
    int k = cases[i].head_op, big_conv = cases[i].channels == 128;
    char names[6][32];
    snprintf(names[0], 32, "op%d.bias", k);
    snprintf(names[1], 32, "op%d.weight", k);
    snprintf(names[2], 32, "op%d.bias", k + 1);
    snprintf(names[3], 32, "op%d.weight", k + 1);
    snprintf(names[4], 32, "op0.bias");
    snprintf(names[5], 32, "op0.weight");
    const char *list[] = {names[0], names[1], names[2], names[3], names[4], names[5]};
    const int ndims[] = {1, 4, 1, 4, 1, 4};
    int64_t c = cases[i].channels;
    const int64_t shapes[][4] = {{1}, {1, c, 1, 1}, {4}, {4, c, 1, 1}, {128}, {128, 3, 1, 1}};
    const float *data[] = {NULL, NULL, NULL, NULL, NULL, NULL};
    file f = build(big_conv ? 6 : 4, list, ndims, shapes, data, "lnl.detector", json);
    expect_refused(cases[i].what, f, 1, cases[i].needle);
    free(f.buf);
  }
}

/* An expression config whose buffers would be huge (input 1024: a 17 GB attention map). */
static void check_config_sizes(file model) {
  char *cfg = metadata(model, "lnl.config");
  const char *from = "\"input_size\": 48";
  char *at = strstr(cfg, from);
  CHECK(at != NULL);
  if (!at) return;
  size_t n = strlen(cfg) + 16;
  char *edited = malloc(n);
  snprintf(edited, n, "%.*s\"input_size\": 1024%s", (int)(at - cfg), cfg, at + strlen(from));
  file f = with_metadata(model, "lnl.config", edited);
  expect_refused("input_size 1024", f, 0, "MB of buffers");
  free(f.buf);
  free(edited);
  free(cfg);
}

/* Re-cutting a long, thin crop takes bounded memory: the re-cut is at most 1024 a side. */
static void check_long_crop(const lnl_model *model, const lnl_detector *det) {
  int w = 4000, h = 8;
  uint8_t *px = malloc((size_t)w * h * 3);
  for (size_t i = 0; i < (size_t)w * h * 3; i++) px[i] = (uint8_t)(i * 7);
  lnl_image crop = {px, w, h, (size_t)w * 3};
  uint8_t *rgb = NULL;
  int side = 0, found = 0;
  lnl_error err = {0};
  CHECK_MSG(lnl_align_face_crop(model, det, &crop, &rgb, &side, &found, &err) == LNL_OK, "%s",
            err.message);
  CHECK_MSG(side >= 1 && side <= 1024, "re-cut of a %dx%d crop is %d a side", w, h, side);
  free(rgb);
  free(px);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s BLAZEFACE EXPRESSION_WEIGHTS PHOTO_PNG\n", argv[0]);
    return 2;
  }
  file det_file = load(argv[1]), model_file = load(argv[2]);
  int w, h, ch;
  uint8_t *px = stbi_load(argv[3], &w, &h, &ch, 3);
  if (!px) return 1;
  lnl_image photo = {px, w, h, (size_t)w * 3};
  lnl_detector *det = NULL;
  lnl_model *model = NULL;
  lnl_context *ctx = NULL;
  lnl_error err;
  if (lnl_detector_open_memory(det_file.buf, det_file.size, &det, &err) ||
      lnl_model_open_memory(model_file.buf, model_file.size, &model, &err) ||
      lnl_context_new(model, 1, &ctx, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  check_program_shapes();
  check_program_sizes();
  check_config_sizes(model_file);
  check_nonfinite_weights(det_file, model_file);
  check_align_any_box(model, &photo);
  check_long_crop(model, det);
  check_absurd_boxes(det_file, ctx, &photo);
  check_thresholds(det, ctx, &photo);
  lnl_context_free(ctx);
  lnl_model_close(model);
  lnl_detector_close(det);
  free(det_file.buf);
  free(model_file.buf);
  stbi_image_free(px);
  printf("%d failures\n", check_failures);
  return check_failures ? 1 : 0;
}
