/* YuNet-n in the engine against ONNX Runtime 1.21 (tests/data/yunet-golden.json, written by
 * tools/detector/yunet_reference.py): the network's twelve head outputs on a 128 x 96 photo
 * crop, and the decoded faces (score, box, five landmarks, after NMS) on photos of four
 * sizes; then the NMS, the landmark order, the downscaled pass, bad input and the
 * multi-scale plan (its passes as multiscale.py plans them, the keep rule by width, the hook).
 * usage: test_yunet YUNET GOLDEN_JSON SOURCE_ROOT
 *
 * Tolerances. Raw outputs: the engine sums the convolutions in another order than ONNX
 * Runtime (float32 throughout); the differences measured (printed by the test) are at most
 * 4e-7 on the probabilities and 1.4e-6 on the box and landmark regressions, relative to
 * 1 + |value|, so RAW_TOL = 1e-5 leaves a 7x margin, while a wrong op (a missing ReLU, a
 * shifted upsampling, swapped channels) moves outputs by 0.01 or more. Decoded faces on
 * PNG photos (the same pixels on both sides): measured at most 5e-8 on the scores and
 * 5e-5 pixel on boxes and landmarks, so PNG_SCORE = 1e-5 and PNG_PX = 1e-3 pixel. The JPEG
 * photo is decoded by stb_image here and by libjpeg-turbo (PIL) for the golden, whose pixels
 * differ by a level or two: measured 1.8e-4 on the scores and 0.33 pixel, so JPEG_SCORE =
 * 2e-3 and JPEG_PX = 1.5 pixels. */
#include <cjson/cJSON.h>
#include <stb_image.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lnl_align.h"
#include "lnl_detector.h"
#include "lnl_yunet.h"
#include "lnlfer.h"
#include "test_util.h"

#define RAW_TOL 1e-5
#define PNG_PX 1e-3
#define PNG_SCORE 1e-5
#define JPEG_PX 1.5
#define JPEG_SCORE 2e-3

static const char *root;

/* RGB pixels of `file` (relative to the source root), cropped to crop (NULL: whole). */
static uint8_t *load_photo(const char *file, const cJSON *crop, int *w, int *h) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", root, file);
  int iw, ih, ch;
  uint8_t *px = stbi_load(path, &iw, &ih, &ch, 3);
  if (!px) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  if (!cJSON_IsArray(crop)) {
    *w = iw, *h = ih;
    return px;
  }
  int c[4];
  for (int i = 0; i < 4; i++) c[i] = cJSON_GetArrayItem(crop, i)->valueint;
  uint8_t *out = malloc((size_t)c[2] * c[3] * 3);
  for (int y = 0; y < c[3]; y++)
    memcpy(out + (size_t)y * c[2] * 3, px + ((size_t)(c[1] + y) * iw + c[0]) * 3, (size_t)c[2] * 3);
  stbi_image_free(px);
  *w = c[2], *h = c[3];
  return out;
}

static void test_raw(const lnl_yunet *y, const cJSON *raw) {
  int w, h;
  uint8_t *px = load_photo(cJSON_GetObjectItem(raw, "file")->valuestring,
                           cJSON_GetObjectItem(raw, "crop"), &w, &h);
  CHECK(w % 32 == 0 && h % 32 == 0);
  float *input = malloc(sizeof(float) * 3 * (size_t)w * h);
  for (int c = 0; c < 3; c++) /* BGR planes, 0..255 */
    for (size_t i = 0; i < (size_t)w * h; i++) input[(size_t)c * w * h + i] = px[i * 3 + (2 - c)];
  size_t n = lnl_yunet_raw_floats(y, w, h);
  float *out = malloc(sizeof(float) * n);
  lnl_error err = {0};
  lnl_parallel one = {.threads = 1};
  CHECK(lnl_yunet_run_heads(y, input, w, h, out, n, &one, &err) == LNL_OK);
  const cJSON *outputs = cJSON_GetObjectItem(raw, "outputs");
  static const int strides[3] = {8, 16, 32};
  static const char *const names[4] = {"cls", "obj", "bbox", "kps"};
  size_t at = 0;
  for (int s = 0; s < 3; s++)
    for (int k = 0; k < 4; k++) {
      char key[16];
      snprintf(key, sizeof key, "%s_%d", names[k], strides[s]);
      const cJSON *g = cJSON_GetObjectItem(outputs, key);
      int len = cJSON_GetArraySize(g);
      double worst = 0;
      for (int i = 0; i < len && at + (size_t)i < n; i++) {
        double v = cJSON_GetArrayItem(g, i)->valuedouble;
        double d = fabs(out[at + (size_t)i] - v) / (1.0 + fabs(v));
        if (d > worst) worst = d;
      }
      at += (size_t)len;
      printf("raw %-7s (%4d values): max |diff| / (1 + |value|) %.2e\n", key, len, worst);
      CHECK_MSG(worst <= RAW_TOL, "%s", key);
    }
  CHECK_MSG(at == n, "%zu raw values, %zu in the golden", n, at);
  CHECK(lnl_yunet_run_heads(y, input, w, h, out, 10, &one, &err) == LNL_ERR_ARGUMENT);
  CHECK(lnl_yunet_run_heads(y, input, w - 1, h, out, n, &one, &err) == LNL_ERR_ARGUMENT);
  free(out);
  free(input);
  free(px);
}

static double num(const cJSON *a, int i) { return cJSON_GetArrayItem(a, i)->valuedouble; }

static void test_photo(const lnl_detector *det, const cJSON *photo, float thr, float nms) {
  const char *file = cJSON_GetObjectItem(photo, "file")->valuestring;
  int w, h;
  uint8_t *px = load_photo(file, cJSON_GetObjectItem(photo, "crop"), &w, &h);
  int jpeg = strstr(file, ".jpg") != NULL;
  double tol_px = jpeg ? JPEG_PX : PNG_PX, tol_s = jpeg ? JPEG_SCORE : PNG_SCORE;
  lnl_image img = {px, w, h, (size_t)w * 3};
  lnl_detect_options opt;
  lnl_detect_options_init(det, &opt);
  opt.score_threshold = thr;
  opt.nms_iou = nms;
  lnl_face *faces = NULL;
  int n = 0;
  lnl_error err = {0};
  CHECK(lnl_detect(det, &img, &opt, &faces, &n, &err) == LNL_OK);
  const cJSON *gold = cJSON_GetObjectItem(photo, "faces");
  int gn = cJSON_GetArraySize(gold);
  CHECK_MSG(n == gn, "%s (%dx%d): %d faces, ONNX Runtime %d", file, w, h, n, gn);
  double worst_px = 0, worst_s = 0;
  for (int i = 0; i < n && i < gn; i++) {
    const cJSON *g = cJSON_GetArrayItem(gold, i);
    const cJSON *box = cJSON_GetObjectItem(g, "box"), *marks = cJSON_GetObjectItem(g, "landmarks");
    double ds = fabs(faces[i].score - cJSON_GetObjectItem(g, "score")->valuedouble);
    if (ds > worst_s) worst_s = ds;
    float mine[4] = {faces[i].box.x, faces[i].box.y, faces[i].box.w, faces[i].box.h};
    for (int k = 0; k < 4; k++)
      if (fabs(mine[k] - num(box, k)) > worst_px) worst_px = fabs(mine[k] - num(box, k));
    CHECK(faces[i].num_landmarks == 5 && cJSON_GetArraySize(marks) == 5);
    for (int k = 0; k < 5; k++)
      for (int c = 0; c < 2; c++) {
        double d = fabs(faces[i].landmarks[k][c] - num(cJSON_GetArrayItem(marks, k), c));
        if (d > worst_px) worst_px = d;
      }
  }
  printf("%s (%dx%d): %d faces; max |score diff| %.2e, max |box or landmark diff| %.2e px\n", file,
         w, h, n, worst_s, worst_px);
  CHECK_MSG(worst_s <= tol_s, "%s scores", file);
  CHECK_MSG(worst_px <= tol_px, "%s boxes and landmarks", file);
  free(faces);
  free(px);
}

/* Hard NMS: sorted best first; a face overlapping a better kept one by more than the IoU
 * goes, one overlapping only a dropped one stays. */
static void test_nms(void) {
  lnl_face f[4] = {{.box = {0, 0, 10, 10}, .score = 0.5f},
                   {.box = {1, 0, 10, 10}, .score = 0.9f}, /* IoU 0.82 with face 0 */
                   {.box = {50, 50, 10, 10}, .score = 0.7f},
                   {.box = {9, 0, 10, 10}, .score = 0.6f}}; /* IoU 0.05 with face 0/1 */
  int n = lnl_yunet_nms(f, 4, 0.3f);
  CHECK(n == 3);
  CHECK(f[0].score == 0.9f && f[1].score == 0.7f && f[2].score == 0.6f);
  lnl_face g[2] = {{.box = {0, 0, 10, 10}, .score = 0.5f}, {.box = {1, 0, 10, 10}, .score = 0.9f}};
  CHECK(lnl_yunet_nms(g, 2, 0.9f) == 2); /* below the IoU: both kept */
  CHECK(lnl_yunet_nms(g, 0, 0.3f) == 0);
}

/* The astronaut: one face, landmarks in OpenCV's order (the person's right eye and mouth
 * corner on the image's left, the nose between and below the eyes); downscaled passes
 * (max_side) find it at the same place; two passes; cancellation and bad images. */
static void test_astronaut(const lnl_detector *det) {
  int w, h;
  uint8_t *px = load_photo("tests/data/astronaut.png", NULL, &w, &h);
  lnl_image img = {px, w, h, (size_t)w * 3};
  lnl_face *f = NULL;
  int n = 0;
  lnl_error err = {0};
  CHECK(lnl_detect(det, &img, NULL, &f, &n, &err) == LNL_OK && n == 1);
  if (n == 1) {
    float(*m)[2] = f[0].landmarks;
    CHECK(m[0][0] < m[2][0] && m[2][0] < m[1][0]); /* right eye, nose, left eye */
    CHECK(m[3][0] < m[4][0]);                      /* right, left mouth corner */
    CHECK(m[2][1] > m[0][1] && m[2][1] > m[1][1]); /* nose below the eyes */
    CHECK(m[3][1] > m[2][1] && m[4][1] > m[2][1]); /* mouth below the nose */
    CHECK(f[0].box.x < m[0][0] && f[0].box.x + f[0].box.w > m[1][0]);
  }
  lnl_detect_options opt;
  lnl_detect_options_init(det, &opt);
  opt.max_side = 256; /* a half-size pass: the same face, within a few pixels */
  lnl_face *g = NULL;
  int gn = 0;
  CHECK(lnl_detect(det, &img, &opt, &g, &gn, &err) == LNL_OK && gn == 1);
  if (n == 1 && gn == 1) {
    printf("half-size pass: box %.1f %.1f %.1f %.1f vs %.1f %.1f %.1f %.1f\n", g[0].box.x,
           g[0].box.y, g[0].box.w, g[0].box.h, f[0].box.x, f[0].box.y, f[0].box.w, f[0].box.h);
    CHECK(fabsf(g[0].box.x - f[0].box.x) < 6 && fabsf(g[0].box.y - f[0].box.y) < 6);
    CHECK(fabsf(g[0].box.w - f[0].box.w) < 8 && fabsf(g[0].box.h - f[0].box.h) < 8);
    CHECK(fabsf(g[0].landmarks[2][0] - f[0].landmarks[2][0]) < 6);
  }
  free(g);
  CHECK(lnl_detect_passes(det, w, h, NULL) == 2);
  /* multiply-adds grow with the passes: 640 x 480 has 3 times the pixels of the 320 x 320
     reference, its 1/4 pass (160 x 128 padded) 0.2 times */
  double ratio = (double)lnl_detect_macs(det, 640, 480, NULL) / (double)lnl_detector_macs(det);
  printf("640x480: %.3f G multiply-adds (%.2f x the 320x320 pass)\n",
         lnl_detect_macs(det, 640, 480, NULL) / 1e9, ratio);
  CHECK(ratio > 3.1 && ratio < 3.3);
  /* passes sharing a workspace (sizes up, down and up again) find what passes on their own
     buffers find */
  const lnl_yunet *y = lnl_detector_yunet(det);
  lnl_yunet_workspace ws = {0};
  lnl_parallel one = {.threads = 1};
  static const double scales[] = {1.0, 0.5, 0.75, 1.0, 0.3};
  for (int i = 0; i < 5; i++) {
    lnl_face *a = NULL, *b = NULL;
    int na = 0, nb = 0;
    lnl_yunet_window win = {0, 0, w, h, scales[i]};
    CHECK(lnl_yunet_pass(y, &img, &win, 0.3f, &one, &ws, &a, &na, &err) == LNL_OK);
    CHECK(lnl_yunet_pass(y, &img, &win, 0.3f, &one, NULL, &b, &nb, &err) == LNL_OK);
    CHECK_MSG(na == nb && na > 0 && memcmp(a, b, sizeof *a * (size_t)na) == 0,
              "scale %.2f: %d faces with the workspace, %d without", scales[i], na, nb);
    free(a);
    free(b);
  }
  CHECK(ws.input_cap > 0 && ws.graph.spares > 0);
  lnl_yunet_workspace_free(&ws);
  /* a window of the image (at scale 1 and downscaled): the face where the whole-image pass
     has it, in image pixels; a window outside the image is refused */
  static const lnl_yunet_window wins[] = {{96, 8, 256, 224, 1.0}, {101, 3, 300, 251, 0.6}};
  for (int i = 0; i < 2 && n == 1; i++) {
    lnl_face *a = NULL;
    int na = 0;
    CHECK(lnl_yunet_pass(y, &img, &wins[i], 0.5f, &one, NULL, &a, &na, &err) == LNL_OK);
    na = lnl_yunet_nms(a, na, 0.3f);
    CHECK(na == 1);
    if (na == 1) {
      printf("window %d: box %.1f %.1f %.1f %.1f\n", i, a[0].box.x, a[0].box.y, a[0].box.w,
             a[0].box.h);
      CHECK(fabsf(a[0].box.x - f[0].box.x) < 4 && fabsf(a[0].box.y - f[0].box.y) < 4);
      CHECK(fabsf(a[0].landmarks[2][0] - f[0].landmarks[2][0]) < 4);
    }
    free(a);
  }
  lnl_face *none = NULL;
  int nn = 0;
  static const lnl_yunet_window bad[] = {
      {-1, 0, 10, 10, 1.0}, {500, 0, 13, 10, 1.0}, {0, 0, 0, 10, 1.0}, {0, 0, 10, 10, 0.0}};
  for (int i = 0; i < 4; i++)
    CHECK(lnl_yunet_pass(y, &img, &bad[i], 0.5f, &one, NULL, &none, &nn, &err) ==
              LNL_ERR_ARGUMENT &&
          !none && nn == 0);
  /* on the context's threads: the same faces */
  lnl_parallel two = {.threads = 2};
  CHECK(lnl_detect_on(det, &img, NULL, &two, NULL, &g, &gn, &err) == LNL_OK && gn == n);
  if (n == 1 && gn == 1) CHECK(fabsf(g[0].box.x - f[0].box.x) < 1e-3f);
  free(g);
  free(f);
  /* a tiny image (smaller than one stride-32 cell) runs and finds nothing */
  lnl_image tiny = {px, 5, 3, (size_t)w * 3};
  CHECK(lnl_detect(det, &tiny, NULL, &f, &n, &err) == LNL_OK && n == 0 && !f);
  free(px);
}

/* The multi-scale plan: the passes multiscale.py's plan() gives (printed by it with repr:
 * python3 -c 'import multiscale; print(multiscale.plan(W, H))' in tools/detector, its
 * numpy and yunet_ort imports stubbed), for images below, at and above 6 MP, with and without
 * the 1/4 pass; opt->max_side 0, as multiscale.py has no such limit. A 100-megapixel photo
 * costs no more than a 6-megapixel one. */
static void test_plan(const lnl_detector *det) {
  static const struct {
    int w, h, passes;
    double s0, max0, s1, min1;
  } want[] = {
      {640, 480, 2, 1.0, 192.0, 0.25, 96.0},
      {255, 300, 1, 1.0, INFINITY, 0, 0},
      {256, 256, 2, 1.0, 192.0, 0.25, 96.0},
      {1920, 1080, 2, 1.0, 192.0, 0.25, 96.0},
      {4000, 3000, 2, 0.7071067811865476, 271.5290039756342, 0.1767766952966369, 135.7645019878171},
      {12000, 8334, 2, 0.24493917690718503, 783.8680705322803, 0.06123479422679626,
       391.93403526614014},
      {3001, 2000, 2, 0.9998333749884293, 192.0319973337777, 0.24995834374710732,
       96.01599866688885},
      {30000, 200, 1, 1.0, INFINITY, 0, 0},
      {100, 10000, 1, 1.0, INFINITY, 0, 0},
  };
  lnl_detect_options opt;
  lnl_detect_options_init(det, &opt);
  opt.max_side = 0;
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    lnl_yunet_plan_pass p[LNL_YUNET_MAX_PASSES];
    int n = lnl_yunet_plan(want[i].w, want[i].h, &opt, p);
    CHECK_MSG(n == want[i].passes, "%dx%d: %d passes", want[i].w, want[i].h, n);
    if (n != want[i].passes) continue;
    CHECK_MSG(fabs(p[0].scale - want[i].s0) <= 1e-12 * want[i].s0 && p[0].min_width == 0 &&
                  (isinf(want[i].max0) ? isinf(p[0].max_width)
                                       : fabs(p[0].max_width - want[i].max0) <= 1e-9),
              "%dx%d: first pass %.17g [%g, %g)", want[i].w, want[i].h, p[0].scale, p[0].min_width,
              p[0].max_width);
    if (n == 2)
      CHECK_MSG(fabs(p[1].scale - want[i].s1) <= 1e-12 * want[i].s1 &&
                    fabs(p[1].min_width - want[i].min1) <= 1e-9 && isinf(p[1].max_width),
                "%dx%d: second pass %.17g [%g, %g)", want[i].w, want[i].h, p[1].scale,
                p[1].min_width, p[1].max_width);
    CHECK(lnl_detect_passes(det, want[i].w, want[i].h, &opt) == n);
  }
  /* opt->max_side still caps the first pass */
  lnl_yunet_plan_pass p[LNL_YUNET_MAX_PASSES];
  opt.max_side = 256;
  CHECK(lnl_yunet_plan(1024, 512, &opt, p) == 1 && p[0].scale == 0.25);
  /* bounded work: 100 MP costs what 6 MP does (within the padding), twice 12 MP not more */
  uint64_t m6 = lnl_detect_macs(det, 3000, 2000, NULL),
           m100 = lnl_detect_macs(det, 12000, 8334, NULL);
  printf("plan: 6 MP %.2f G multiply-adds, 100 MP %.2f G\n", m6 / 1e9, m100 / 1e9);
  CHECK(m100 > 0 && m100 < m6 * 1.05);
}

/* The keep rule by width on a real face at two sizes: the astronaut's face (about 91 px
 * wide) comes from the native pass (its 1/4 pass sees it 23 px wide, under 24); the photo
 * upscaled 3 times (the face about 275 px wide, beyond the native pass's 192) has it from
 * the 1/4 pass alone. */
static void expect_from_pass(const lnl_detector *det, const lnl_image *img, int from, int other) {
  const lnl_yunet *y = lnl_detector_yunet(det);
  lnl_detect_options opt;
  lnl_detect_options_init(det, &opt);
  lnl_yunet_plan_pass plan[LNL_YUNET_MAX_PASSES];
  CHECK(lnl_yunet_plan(img->width, img->height, &opt, plan) == 2);
  lnl_parallel one = {.threads = 1};
  lnl_error err = {0};
  lnl_face *f = NULL, *a = NULL, *b = NULL;
  int n = 0, na = 0, nb = 0;
  lnl_yunet_window wa = {0, 0, img->width, img->height, plan[from].scale};
  lnl_yunet_window wb = {0, 0, img->width, img->height, plan[other].scale};
  CHECK(lnl_detect_on(det, img, &opt, &one, NULL, &f, &n, &err) == LNL_OK && n == 1);
  CHECK(lnl_yunet_pass(y, img, &wa, opt.score_threshold, &one, NULL, &a, &na, &err) == LNL_OK);
  CHECK(lnl_yunet_pass(y, img, &wb, opt.score_threshold, &one, NULL, &b, &nb, &err) == LNL_OK);
  na = lnl_yunet_nms(a, na, opt.nms_iou);
  nb = lnl_yunet_nms(b, nb, opt.nms_iou);
  if (n == 1 && na >= 1 && nb >= 1) {
    printf("%dx%d: face %.1f px wide, from pass %d (%.1f px wide there); pass %d has it %.1f px "
           "wide, score %.3f vs %.3f\n",
           img->width, img->height, f[0].box.w, from, a[0].box.w * plan[from].scale, other,
           b[0].box.w * plan[other].scale, a[0].score, b[0].score);
    CHECK(memcmp(&f[0], &a[0], sizeof *f) == 0); /* exactly the kept pass's face */
    CHECK(memcmp(&f[0], &b[0], sizeof *f) != 0);
    double w = a[0].box.w;
    CHECK(w >= plan[from].min_width && w < plan[from].max_width);
    CHECK(!(b[0].box.w >= plan[other].min_width && b[0].box.w < plan[other].max_width));
  } else {
    CHECK_MSG(0, "%dx%d: %d faces, passes %d and %d", img->width, img->height, n, na, nb);
  }
  free(f);
  free(a);
  free(b);
}

/* The hook is asked before each pass, (0, 2) then (1, 2); cancelling the second pass stops
 * the detection with no faces. */
typedef struct hook_log {
  int calls, done[4], total[4], cancel_at;
} hook_log;

static int log_pass(void *user, int done, int total) {
  hook_log *l = user;
  if (l->calls < 4) l->done[l->calls] = done, l->total[l->calls] = total;
  l->calls++;
  return done == l->cancel_at;
}

static void test_hook(const lnl_detector *det, const lnl_image *img) {
  lnl_parallel one = {.threads = 1};
  lnl_error err = {0};
  lnl_face *f = NULL;
  int n = 0;
  hook_log l = {.cancel_at = -1};
  lnl_detect_hook hook = {log_pass, &l};
  CHECK(lnl_detect_on(det, img, NULL, &one, &hook, &f, &n, &err) == LNL_OK && n == 1);
  CHECK(l.calls == 2 && l.done[0] == 0 && l.done[1] == 1 && l.total[0] == 2 && l.total[1] == 2);
  free(f);
  f = NULL;
  l = (hook_log){.cancel_at = 1};
  CHECK(lnl_detect_on(det, img, NULL, &one, &hook, &f, &n, &err) == LNL_ERR_CANCELLED);
  CHECK(l.calls == 2 && !f && n == 0);
}

static void test_keep_rule(const lnl_detector *det) {
  int w, h;
  uint8_t *px = load_photo("tests/data/astronaut.png", NULL, &w, &h);
  lnl_image img = {px, w, h, (size_t)w * 3};
  expect_from_pass(det, &img, 0, 1);
  test_hook(det, &img);
  int W = 3 * w, H = 3 * h;
  uint8_t *big = malloc((size_t)W * H * 3);
  for (int yy = 0; yy < H; yy++)
    for (int x = 0; x < W; x++)
      memcpy(big + ((size_t)yy * W + x) * 3, px + ((size_t)(yy / 3) * w + x / 3) * 3, 3);
  lnl_image up = {big, W, H, (size_t)W * 3};
  expect_from_pass(det, &up, 1, 0);
  free(big);
  free(px);
}

/* Alignment from YuNet's five landmarks: the mouth centre is the mean of the corners, so a
 * face whose eyes, nose and mouth corners straddle the template's points exactly maps to
 * the crop by the identity; BlazeFace's layout (6) reads its fourth landmark as the mouth. */
static void test_align_points(void) {
  const lnl_align_template *t = &LNL_DEFAULT_TEMPLATE;
  int side = 200;
  lnl_face f = {.box = {40, 60, 120, 120}, .score = 0.9f, .num_landmarks = 5};
  for (int i = 0; i < 3; i++)
    for (int c = 0; c < 2; c++) f.landmarks[i][c] = t->points[i][c] * side;
  for (int c = 0; c < 2; c++) f.landmarks[3][c] = f.landmarks[4][c] = t->points[3][c] * side;
  f.landmarks[3][0] -= 25, f.landmarks[4][0] += 25, f.landmarks[3][1] += 2, f.landmarks[4][1] -= 2;
  float q[LNL_ALIGN_POINTS][2], m[6];
  CHECK(lnl_align_points(&f, q) == 1);
  CHECK(fabsf(q[3][0] - t->points[3][0] * side) < 1e-3f &&
        fabsf(q[3][1] - t->points[3][1] * side) < 1e-3f);
  lnl_align_transform(&f, t, side, m);
  CHECK(fabsf(m[0] - 1) < 1e-4f && fabsf(m[1]) < 1e-4f && fabsf(m[2]) < 1e-2f);
  CHECK(fabsf(m[3]) < 1e-4f && fabsf(m[4] - 1) < 1e-4f && fabsf(m[5]) < 1e-2f);
  f.num_landmarks = 6; /* BlazeFace: the fourth landmark itself */
  CHECK(lnl_align_points(&f, q) == 1 && q[3][0] == f.landmarks[3][0]);
  f.num_landmarks = 3;
  CHECK(lnl_align_points(&f, q) == 0);
}

/* The shipped file with `from` replaced by `to` (the same length) in its metadata must be
 * refused, saying why. */
static void expect_refused(const uint8_t *file, size_t size, const char *from, const char *to) {
  uint8_t *copy = malloc(size);
  memcpy(copy, file, size);
  size_t n = strlen(from);
  uint8_t *at = NULL;
  for (size_t i = 0; i + n <= size && !at; i++)
    if (memcmp(copy + i, from, n) == 0) at = copy + i;
  CHECK_MSG(at != NULL && strlen(to) == n, "'%s' not in the file", from);
  if (at) memcpy(at, to, n);
  lnl_detector *d = NULL;
  lnl_error err = {0};
  lnl_status s = lnl_detector_open_memory(copy, size, &d, &err);
  CHECK_MSG(s == LNL_ERR_MODEL && !d && err.message[0], "%s -> %s: status %d", from, to, s);
  printf("refused (%s -> %s): %s\n", from, to, err.message);
  lnl_detector_close(d);
  free(copy);
}

static void test_refused(const char *path, const lnl_yunet *y) {
  size_t size;
  uint8_t *file = read_file(path, &size);
  if (!file) return;
  expect_refused(file, size, "\\\"stride\\\": 8,", "\\\"stride\\\": 3,"); /* not dividing 32 */
  expect_refused(file, size, "\\\"factor\\\": 2", "\\\"factor\\\": 3"); /* adds mismatched shapes */
  expect_refused(file, size, "\\\"bbox\\\": 69", "\\\"bbox\\\": 81");   /* 10 channels, not 4 */
  expect_refused(file, size, "\\\"landmarks\\\": 5", "\\\"landmarks\\\": 4");
  expect_refused(file, size, "\\\"bgr\\\"", "\\\"xyz\\\"");
  expect_refused(file, size, "\\\"sigmoid\\\"", "\\\"sigmoix\\\"");
  free(file);
  /* a pass too large for the engine's bounds is refused before anything is allocated */
  float input[1] = {0}, raw[1];
  lnl_error err = {0};
  lnl_parallel one = {.threads = 1};
  CHECK(lnl_yunet_run_heads(y, input, 8192, 8192, raw, (size_t)-1, &one, &err) == LNL_ERR_ARGUMENT);
  printf("8192 x 8192: %s\n", err.message);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s YUNET GOLDEN_JSON SOURCE_ROOT\n", argv[0]);
    return 2;
  }
  root = argv[3];
  lnl_detector *det = NULL;
  lnl_error err = {0};
  if (lnl_detector_open(argv[1], &det, &err) != LNL_OK) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  size_t size;
  char *text = (char *)read_file(argv[2], &size);
  cJSON *gold = text ? cJSON_ParseWithLength(text, size) : NULL;
  if (!gold) {
    fprintf(stderr, "cannot read %s\n", argv[2]);
    return 1;
  }
  const lnl_yunet *y = lnl_detector_yunet(det);
  CHECK(y != NULL);
  if (y) test_raw(y, cJSON_GetObjectItem(gold, "raw"));
  float thr = (float)cJSON_GetObjectItem(gold, "threshold")->valuedouble;
  float nms = (float)cJSON_GetObjectItem(gold, "nms_iou")->valuedouble;
  const cJSON *photo;
  cJSON_ArrayForEach(photo, cJSON_GetObjectItem(gold, "photos")) test_photo(det, photo, thr, nms);
  test_nms();
  test_align_points();
  if (y) test_refused(argv[1], y);
  test_astronaut(det);
  test_plan(det);
  test_keep_rule(det);
  cJSON_Delete(gold);
  free(text);
  lnl_detector_close(det);
  return check_failures != 0;
}
