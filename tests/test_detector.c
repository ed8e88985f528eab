/* Face detector: network parity with ONNX Runtime, decoding and weighted NMS on a toy
 * detector, a real photo, and bad input.
 * usage: test_detector BLAZEFACE GOLDEN TOY ASTRONAUT_PNG */
#include <stb_image.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lnl_detector.h"
#include "lnl_safetensors.h"
#include "lnlfer.h"
#include "test_util.h"

static const float *golden(const lnl_safetensors *g, const char *name) {
  const lnl_tensor_view *t = lnl_safetensors_find(g, name);
  if (!t) {
    fprintf(stderr, "golden file lacks %s\n", name);
    exit(1);
  }
  float *copy = malloc(t->nbytes);
  memcpy(copy, t->data, t->nbytes);
  return copy;
}

/* Engine raw layout per head: scores [a][y][x], boxes [a*16+k][y][x];
 * ONNX Runtime: anchor index (y*G + x)*A + a, value k. */
static void check_head(const float *raw, const float *scores, const float *boxes, int grid,
                       int anchors, const char *what) {
  size_t plane = (size_t)grid * grid;
  double worst_s = 0, worst_b = 0;
  for (int y = 0; y < grid; y++)
    for (int x = 0; x < grid; x++)
      for (int a = 0; a < anchors; a++) {
        size_t ort = ((size_t)y * grid + x) * anchors + a;
        double ds = fabs(raw[a * plane + (size_t)y * grid + x] - scores[ort]);
        if (ds > worst_s) worst_s = ds;
        for (int k = 0; k < 16; k++) {
          float mine = raw[anchors * plane + (size_t)(a * 16 + k) * plane + (size_t)y * grid + x];
          double db = fabs(mine - boxes[ort * 16 + k]) / (1.0 + fabs(boxes[ort * 16 + k]));
          if (db > worst_b) worst_b = db;
        }
      }
  printf("%s: max |score logit diff| %.2e, max relative box diff %.2e\n", what, worst_s, worst_b);
  CHECK_MSG(worst_s < 1e-3, "%s scores", what);
  CHECK_MSG(worst_b < 1e-4, "%s boxes", what);
}

static void test_parity(const lnl_detector *det, const char *golden_path) {
  size_t size;
  uint8_t *buf = read_file(golden_path, &size);
  lnl_safetensors g;
  lnl_error err = {0};
  if (!buf || lnl_safetensors_parse(buf, size, &g, &err)) {
    fprintf(stderr, "cannot read %s\n", golden_path);
    exit(1);
  }
  size_t raw_len = 512 * 17 + 384 * 17;
  float *raw = malloc(raw_len * sizeof(float));
  const char *names[] = {"photo", "noise"};
  for (int i = 0; i < 2; i++) {
    char key[5][32];
    const char *fields[] = {"input", "scores16", "boxes16", "scores8", "boxes8"};
    const float *t[5];
    for (int k = 0; k < 5; k++) {
      snprintf(key[k], sizeof key[k], "%s.%s", names[i], fields[k]);
      t[k] = golden(&g, key[k]);
    }
    CHECK(lnl_detector_run_raw(det, t[0], raw, raw_len, &err) == LNL_OK);
    check_head(raw, t[1], t[2], 16, 2, names[i]);
    check_head(raw + 512 * 17, t[3], t[4], 8, 6, names[i]);
    for (int k = 0; k < 5; k++) free((void *)t[k]);
  }
  CHECK(lnl_detector_run_raw(det, raw, raw, 10, &err) == LNL_ERR_ARGUMENT);
  free(raw);
  lnl_safetensors_free(&g);
  free(buf);
}

/* A black image with a red square; the toy detector fires on the square's cells. */
static void test_toy(const lnl_detector *toy, int side, int sx, int sy, int sw) {
  uint8_t *px = calloc((size_t)side * side * 3, 1);
  for (int y = sy; y < sy + sw; y++)
    for (int x = sx; x < sx + sw; x++) px[((size_t)y * side + x) * 3] = 255;
  lnl_image img = {px, side, side, (size_t)side * 3};
  lnl_face *faces = NULL;
  int n = 0;
  lnl_error err = {0};
  CHECK(lnl_detect(toy, &img, NULL, &faces, &n, &err) == LNL_OK);
  CHECK_MSG(n >= 1, "toy detector found %d faces in a %dx%d image", n, side, side);
  for (int i = 0; i < n; i++) {
    /* a cell fires when any of its pixels is red: at the whole-image pass one cell
       covers side / 16 pixels, so a centre may lie up to one cell outside the square */
    float cx = faces[i].box.x + faces[i].box.w / 2, cy = faces[i].box.y + faces[i].box.h / 2;
    float m = side / 16.0f;
    CHECK_MSG(cx > sx - m && cx < sx + sw + m && cy > sy - m && cy < sy + sw + m,
              "face %d centre (%.1f, %.1f) outside the red square", i, cx, cy);
    CHECK(faces[i].num_landmarks == 2);
    /* landmarks were predicted at (-10, -5) and (+10, -5) of each anchor */
    CHECK(faces[i].landmarks[0][0] < faces[i].landmarks[1][0]);
    if (i > 0) CHECK(faces[i].score <= faces[i - 1].score);
  }
  if (side == 256) {
    /* one window at scale 1: boxes are 40 x 40 blends, scores those of red cells */
    CHECK(n >= 1 && fabsf(faces[0].box.w - 40) < 0.5f && fabsf(faces[0].box.h - 40) < 0.5f);
    CHECK(n >= 1 && faces[0].score > 0.99f);
  }
  free(faces);
  /* max_faces and min_face_size */
  lnl_detect_options opt;
  lnl_detect_options_init(toy, &opt);
  opt.max_faces = 1;
  CHECK(lnl_detect(toy, &img, &opt, &faces, &n, &err) == LNL_OK && n <= 1);
  free(faces);
  opt.max_faces = 0;
  opt.min_face_size = 100000;
  CHECK(lnl_detect(toy, &img, &opt, &faces, &n, &err) == LNL_OK && n == 0 && !faces);
  free(px);
}

static void test_photo(const lnl_detector *det, const char *path) {
  int w, h, ch;
  uint8_t *px = stbi_load(path, &w, &h, &ch, 3);
  if (!px) {
    fprintf(stderr, "cannot load %s\n", path);
    exit(1);
  }
  lnl_image img = {px, w, h, (size_t)w * 3};
  lnl_face *faces = NULL;
  int n = 0;
  lnl_error err = {0};
  CHECK(lnl_detect(det, &img, NULL, &faces, &n, &err) == LNL_OK);
  CHECK_MSG(n == 1, "astronaut: %d faces", n);
  if (n >= 1) {
    const lnl_face *f = &faces[0];
    printf("astronaut: box %.0f %.0f %.0f %.0f score %.3f\n", f->box.x, f->box.y, f->box.w,
           f->box.h, f->score);
    /* her face spans about x 165..255, y 60..175 in the 512 x 512 photo */
    CHECK(f->box.x > 140 && f->box.x < 200 && f->box.y > 20 && f->box.y < 90);
    CHECK(f->box.w > 70 && f->box.w < 140 && f->box.h > 80 && f->box.h < 170);
    CHECK(f->num_landmarks == 6);
    CHECK(f->landmarks[0][0] < f->landmarks[1][0]); /* her right eye is on the image's left */
    CHECK(f->landmarks[3][1] > f->landmarks[0][1]); /* mouth below the eyes */
  }
  free(faces);
  stbi_image_free(px);
}

/* The consistency check between the whole-image pass and the tiles. */
static int consistent(int tiled, float px, float tile, float whole, float threshold) {
  lnl_detect_cluster c = {.tile_best = tile, .whole_best = whole, .whole_px = px, .tiled = tiled};
  return lnl_detect_consistent(&c, threshold);
}

static void test_consistency(void) {
  /* evidence: down to the threshold - 4 logits */
  CHECK(fabsf(lnl_detect_evidence_threshold(0.5f) - 0.0180f) < 1e-3f);
  CHECK(lnl_detect_evidence_threshold(0.0f) == 0.0f);
  /* left alone: no tiles, faces under 16 px, clusters without a tile detection */
  CHECK(consistent(0, 100.0f, 0.9f, 0.0f, 0.5f));
  CHECK(consistent(1, 15.0f, 0.9f, 0.0f, 0.5f));
  CHECK(consistent(1, 100.0f, 0.0f, 0.55f, 0.5f));
  CHECK(consistent(1, 100.0f, 0.45f, 0.0f, 0.5f));
  /* tiles alone on a big face: dropped; at threshold 0 nothing is */
  CHECK(!consistent(1, 100.0f, 0.9f, 0.0f, 0.5f));
  CHECK(consistent(1, 100.0f, 0.9f, 0.0f, 0.0f));
  /* features of real clusters (tools/detector/fit_consistency.py --dump) */
  CHECK(!consistent(1, 95.7f, 0.805f, 0.505f, 0.5f)); /* dogs.jpg's dogs */
  CHECK(!consistent(1, 70.3f, 0.561f, 0.531f, 0.5f));
  CHECK(!consistent(1, 34.6f, 0.503f, 0.448f, 0.5f));
  CHECK(!consistent(1, 105.6f, 0.744f, 0.055f, 0.5f)); /* a part of a big face */
  CHECK(consistent(1, 23.0f, 0.834f, 0.630f, 0.5f));   /* photos-dlib faces */
  CHECK(consistent(1, 22.5f, 0.900f, 0.664f, 0.5f));
  CHECK(consistent(1, 57.7f, 0.803f, 0.558f, 0.5f)); /* faces pasted by align_eval.py */
  CHECK(consistent(1, 55.8f, 0.776f, 0.463f, 0.5f));
  /* at 32 px the margins must reach -0.25 logits: a tile at the threshold needs a
   * whole-image score of logistic(-0.25 / 1.5) = 0.458 */
  CHECK(consistent(1, 32.0f, 0.5f, 0.47f, 0.5f));
  CHECK(!consistent(1, 32.0f, 0.5f, 0.45f, 0.5f));
  /* more whole-image evidence or a lower threshold never drops a cluster */
  for (float px = 16.0f; px < 300.0f; px *= 1.25f)
    for (float tile = 0.5f; tile < 1.0f; tile += 0.05f)
      for (float whole = 0.0f; whole < 0.95f; whole += 0.05f) {
        int kept = consistent(1, px, tile, whole, 0.5f);
        CHECK(!kept || consistent(1, px, tile, whole + 0.05f, 0.5f));
        CHECK(!kept || consistent(1, px, tile + 0.05f, whole, 0.5f));
        CHECK(!kept || consistent(1, px, tile, whole, 0.4f));
      }
}

static void test_bad_input(const lnl_detector *det) {
  lnl_face *faces = (lnl_face *)1;
  int n = -1;
  lnl_error err = {0};
  uint8_t one[3] = {10, 20, 30};
  lnl_image empty = {one, 0, 0, 0};
  CHECK(lnl_detect(det, &empty, NULL, &faces, &n, &err) == LNL_ERR_ARGUMENT && !faces && n == 0);
  CHECK(strlen(err.message) > 0);
  lnl_image null_pixels = {NULL, 10, 10, 30};
  CHECK(lnl_detect(det, &null_pixels, NULL, &faces, &n, &err) == LNL_ERR_ARGUMENT);
  lnl_image short_stride = {one, 10, 10, 3};
  CHECK(lnl_detect(det, &short_stride, NULL, &faces, &n, &err) == LNL_ERR_ARGUMENT);
  lnl_image tiny = {one, 1, 1, 3};
  CHECK(lnl_detect(det, &tiny, NULL, &faces, &n, &err) == LNL_OK && n == 0);
  free(faces);
  /* 50000 x 10: a thin strip, detected within bounded memory, no faces */
  uint8_t *strip = calloc(50000 * 10 * 3, 1);
  lnl_image wide = {strip, 50000, 10, 50000 * 3};
  CHECK(lnl_detect(det, &wide, NULL, &faces, &n, &err) == LNL_OK && n == 0);
  free(faces);
  lnl_image tall = {strip, 10, 50000, 30};
  CHECK(lnl_detect(det, &tall, NULL, &faces, &n, &err) == LNL_OK && n == 0);
  free(faces);
  free(strip);
  lnl_detect_options opt;
  lnl_detect_options_init(det, &opt);
  opt.score_threshold = 2.0f;
  CHECK(lnl_detect(det, &tiny, &opt, &faces, &n, &err) == LNL_ERR_ARGUMENT);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s BLAZEFACE GOLDEN TOY ASTRONAUT_PNG\n", argv[0]);
    return 2;
  }
  lnl_detector *det = NULL, *toy = NULL;
  lnl_error err = {0};
  if (lnl_detector_open(argv[1], &det, &err) || lnl_detector_open(argv[3], &toy, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  printf("BlazeFace: %.1f M multiply-adds per pass\n", lnl_detector_macs(det) / 1e6);
  test_parity(det, argv[2]);
  test_toy(toy, 256, 64, 64, 64);
  test_toy(toy, 1024, 500, 300, 120);
  test_photo(det, argv[4]);
  test_bad_input(det);
  test_consistency();
  /* an expression model is not a detector, and vice versa */
  lnl_detector *wrong = NULL;
  CHECK(lnl_detector_open(argv[2], &wrong, &err) == LNL_ERR_MODEL && !wrong);
  lnl_detector_close(toy);
  lnl_detector_close(det);
  printf("%s\n", check_failures ? "FAILED" : "detector OK");
  return check_failures ? 1 : 0;
}
