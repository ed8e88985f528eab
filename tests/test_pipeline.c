/* The face pipeline on an image source (lnl_analyze_source): the same results as the
 * in-memory path, progress that never goes back and ends at 1, cancel at any step
 * (mid-detection included) with LNL_ERR_CANCELLED and nothing leaked, failing reads, the
 * source's face filter, large-image refinement (faces classified from patches), the aligned
 * crops handed out (lnl_analyze_with_crops), and a detection-only context.
 * usage: test_pipeline WEIGHTS DETECTOR PHOTO... */
#include <math.h>
#include <stb_image.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lnlfer.h"

/* A source that reads an image in memory through the callback, as a front end would: every
 * read is counted and checked to lie inside the image. */
typedef struct test_source {
  lnl_image img;
  int reads, scaled_reads, outside;
  lnl_status fail_with; /* returned by every read when not LNL_OK */
  int keep_left_half;   /* keep(): only faces whose centre is in the left half */
} test_source;

static lnl_status read_pixels(void *user, int x, int y, int w, int h, double scale, uint8_t *rgb,
                              size_t stride) {
  test_source *t = user;
  t->reads++;
  if (x < 0 || y < 0 || w < 1 || h < 1 || x + w > t->img.width || y + h > t->img.height)
    t->outside++;
  if (t->fail_with) return t->fail_with;
  int ow = lnl_scaled_side(w, scale), oh = lnl_scaled_side(h, scale);
  if (ow != w || oh != h) t->scaled_reads++;
  /* nearest neighbour: a front end may scale as it likes */
  for (int r = 0; r < oh; r++)
    for (int c = 0; c < ow; c++) {
      int sx = x + (int)((c + 0.5) * w / ow), sy = y + (int)((r + 0.5) * h / oh);
      memcpy(rgb + (size_t)r * stride + (size_t)c * 3,
             t->img.pixels + (size_t)sy * t->img.stride + (size_t)sx * 3, 3);
    }
  return LNL_OK;
}

static int keep_face(void *user, const lnl_face *f) {
  const test_source *t = user;
  return !t->keep_left_half || f->box.x + f->box.w / 2 < t->img.width / 2.0f;
}

static lnl_source source_of(test_source *t) {
  return (lnl_source){t, t->img.width, t->img.height, read_pixels, keep_face};
}

/* Records the progress calls and stops at the `stop_at`-th call of stage `stop_stage`. */
typedef struct progress_log {
  int calls, bad_order, ones;
  float last, first;
  int stage_calls[3];
  lnl_stage stop_stage;
  int stop_at; /* 0: never stop */
} progress_log;

static int on_progress(void *user, lnl_stage stage, float fraction) {
  progress_log *p = user;
  if (p->calls == 0) p->first = fraction;
  if (fraction < p->last || fraction > 1.0f || (p->calls > 0 && p->last == 1.0f)) p->bad_order++;
  p->ones += fraction == 1.0f;
  p->last = fraction;
  p->calls++;
  if (stage >= LNL_STAGE_READ && stage <= LNL_STAGE_CLASSIFY) p->stage_calls[stage]++;
  return p->stop_at && stage == p->stop_stage && p->stage_calls[stage] == p->stop_at;
}

static int same_faces(const lnl_face_analysis *a, int n, const lnl_face_analysis *b, int m) {
  if (n != m) return 0;
  for (int i = 0; i < n; i++)
    if (memcmp(&a[i].face, &b[i].face, sizeof a[i].face) != 0 ||
        memcmp(&a[i].expression, &b[i].expression, sizeof a[i].expression) != 0 ||
        memcmp(a[i].crop_to_image, b[i].crop_to_image, sizeof a[i].crop_to_image) != 0 ||
        a[i].landmark_fit != b[i].landmark_fit || a[i].confident != b[i].confident)
      return 0;
  return 1;
}

/* The crops lnl_analyze_with_crops hands out, kept. */
#define MAX_CROPS 64
typedef struct crop_log {
  uint8_t *rgb[MAX_CROPS];
  int side[MAX_CROPS], calls[MAX_CROPS], out_of_range;
} crop_log;

static void keep_crop(void *user, int face, const uint8_t *rgb, int side) {
  crop_log *c = user;
  if (face < 0 || face >= MAX_CROPS || side < 1) {
    c->out_of_range++;
    return;
  }
  c->calls[face]++;
  c->side[face] = side;
  free(c->rgb[face]);
  c->rgb[face] = malloc((size_t)side * side * 3);
  memcpy(c->rgb[face], rgb, (size_t)side * side * 3);
}

/* lnl_analyze_with_crops: the same results as lnl_analyze, and face i's crop handed out once,
 * the very crop lnl_align cuts for it, whose classification gives its result. */
static void test_crops(const lnl_model *model, lnl_context *ctx, const lnl_detector *det,
                       const lnl_image *img, const lnl_detect_options *opt,
                       const lnl_face_analysis *mem, int n, const char *path) {
  crop_log log = {{NULL}, {0}, {0}, 0};
  lnl_face_analysis *got = NULL;
  int m = -1;
  lnl_error err = {0};
  CHECK(lnl_analyze_with_crops(ctx, det, img, opt, keep_crop, &log, &got, &m, &err) == LNL_OK);
  CHECK_MSG(same_faces(mem, n, got, m), "%s: with crops, other results", path);
  CHECK(log.out_of_range == 0);
  int side = lnl_model_crop_side(model);
  uint8_t *want = malloc((size_t)side * side * 3);
  lnl_context *one = NULL;
  CHECK(lnl_context_new(model, 1, &one, &err) == LNL_OK);
  for (int i = 0; i < m && i < MAX_CROPS; i++) {
    float t[6];
    CHECK_MSG(log.calls[i] == 1 && log.side[i] == side, "%s face %d: %d crops of side %d", path, i,
              log.calls[i], log.side[i]);
    if (log.calls[i] != 1) continue;
    CHECK(lnl_align(model, img, &got[i].face, want, t, &err) == LNL_OK);
    CHECK_MSG(memcmp(want, log.rgb[i], (size_t)side * side * 3) == 0,
              "%s face %d: the crop handed out is not lnl_align's", path, i);
    lnl_image crop = {log.rgb[i], side, side, (size_t)side * 3};
    lnl_result r;
    CHECK(lnl_classify(one, &crop, 1, &r, &err) == LNL_OK);
    CHECK_MSG(r.label == got[i].expression.label &&
                  max_abs_diff(r.probs, got[i].expression.probs,
                               (size_t)lnl_model_num_classes(model)) < 1e-5,
              "%s face %d: its crop classifies otherwise", path, i);
  }
  for (int i = m; i < MAX_CROPS; i++) CHECK(log.calls[i] == 0);
  for (int i = 0; i < MAX_CROPS; i++) free(log.rgb[i]);
  lnl_context_free(one);
  free(want);
  free(got);
}

static float iou(lnl_rect a, lnl_rect b) {
  float x0 = fmaxf(a.x, b.x), y0 = fmaxf(a.y, b.y);
  float x1 = fminf(a.x + a.w, b.x + b.w), y1 = fminf(a.y + a.h, b.y + b.h);
  float inter = fmaxf(0, x1 - x0) * fmaxf(0, y1 - y0);
  return inter / (a.w * a.h + b.w * b.h - inter);
}

static void test_photo(const lnl_model *model, lnl_context *ctx, const lnl_detector *det,
                       const char *path) {
  int w, h, ch;
  uint8_t *px = stbi_load(path, &w, &h, &ch, 3);
  CHECK_MSG(px != NULL, "%s", path);
  if (!px) return;
  test_source t = {{px, w, h, (size_t)w * 3}, 0, 0, 0, LNL_OK, 0};
  lnl_source src = source_of(&t);
  lnl_detect_options opt;
  lnl_detect_options_init(det, &opt);
  lnl_error err = {0};
  lnl_face_analysis *mem = NULL, *got = NULL;
  int n = -1, m = -1;

  /* the same results as the in-memory path, one read of the whole image */
  CHECK(lnl_analyze(ctx, det, &t.img, &opt, &mem, &n, &err) == LNL_OK && n > 0);
  progress_log log = {0};
  CHECK(lnl_analyze_source(ctx, det, &src, &opt, on_progress, &log, &got, &m, &err) == LNL_OK);
  CHECK_MSG(same_faces(mem, n, got, m), "%s: %d faces in memory, %d from the source", path, n, m);
  CHECK(t.reads == 1 && t.scaled_reads == 0 && t.outside == 0);
  /* progress: from 0, never back, 1 once at the end; every step reported */
  CHECK(log.first == 0.0f && log.bad_order == 0 && log.ones == 1 && log.last == 1.0f);
  CHECK(log.stage_calls[LNL_STAGE_READ] >= 1 && log.stage_calls[LNL_STAGE_DETECT] >= 2 &&
        log.stage_calls[LNL_STAGE_CLASSIFY] >= m);
  int detect_calls = log.stage_calls[LNL_STAGE_DETECT];
  free(got);
  test_crops(model, ctx, det, &t.img, &opt, mem, n, path);

  /* cancel at each step: before reading, after the first detector pass (mid-detection), at
   * the first face; the call returns LNL_ERR_CANCELLED at once, with nothing */
  const struct {
    lnl_stage stage;
    int at;
  } stops[] = {{LNL_STAGE_READ, 1}, {LNL_STAGE_DETECT, 2}, {LNL_STAGE_CLASSIFY, 1}};
  for (size_t k = 0; k < sizeof stops / sizeof *stops; k++) {
    progress_log stop = {.stop_stage = stops[k].stage, .stop_at = stops[k].at};
    got = (lnl_face_analysis *)&t; /* must be reset */
    m = -1;
    lnl_status s = lnl_analyze_source(ctx, det, &src, &opt, on_progress, &stop, &got, &m, &err);
    CHECK_MSG(s == LNL_ERR_CANCELLED && !got && m == 0, "stop %zu: %s", k, lnl_status_name(s));
    CHECK(err.code == LNL_ERR_CANCELLED && strstr(err.message, "cancelled"));
    /* no more progress after the stop: nothing ran on */
    CHECK(stop.stage_calls[stops[k].stage] == stops[k].at && stop.ones == 0);
    for (int st = stops[k].stage + 1; st <= LNL_STAGE_CLASSIFY; st++)
      CHECK(stop.stage_calls[st] == 0);
  }
  /* mid-detection: the passes after the stop were not made */
  CHECK(detect_calls > 2);

  /* a failing read: its status, or cancelled when the reader says so */
  t.fail_with = LNL_ERR_IO;
  CHECK(lnl_analyze_source(ctx, det, &src, &opt, NULL, NULL, &got, &m, &err) == LNL_ERR_IO &&
        !got && m == 0);
  t.fail_with = LNL_ERR_CANCELLED;
  CHECK(lnl_analyze_source(ctx, det, &src, &opt, NULL, NULL, &got, &m, &err) == LNL_ERR_CANCELLED &&
        !got);
  t.fail_with = LNL_OK;

  /* the source's filter: the faces of the left half, the most confident first, and
   * max_faces counts the faces kept */
  t.keep_left_half = 1;
  int left = 0;
  for (int i = 0; i < n; i++) left += mem[i].face.box.x + mem[i].face.box.w / 2 < w / 2.0f;
  CHECK(lnl_analyze_source(ctx, det, &src, &opt, NULL, NULL, &got, &m, &err) == LNL_OK);
  CHECK_MSG(m == left, "%d faces in the left half, %d kept", left, m);
  for (int i = 0; i < m; i++) CHECK(got[i].face.box.x + got[i].face.box.w / 2 < w / 2.0f);
  free(got);
  if (left > 1) {
    opt.max_faces = 1;
    CHECK(lnl_analyze_source(ctx, det, &src, &opt, NULL, NULL, &got, &m, &err) == LNL_OK && m == 1);
    free(got);
    opt.max_faces = 0;
  }
  t.keep_left_half = 0;

  /* a large image (here: a small max_side): detection on a downscaled view, each face read
   * again around it; the boxes in image pixels, the crops of the same faces */
  opt.max_side = (w > h ? w : h) * 3 / 4;
  t.reads = t.scaled_reads = 0;
  CHECK(lnl_analyze_source(ctx, det, &src, &opt, NULL, NULL, &got, &m, &err) == LNL_OK);
  CHECK(t.scaled_reads >= 1 && t.reads == 1 + m && t.outside == 0);
  int matched = 0;
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++)
      if (iou(got[i].face.box, mem[j].face.box) > 0.7f) {
        matched++;
        /* the crop's centre maps near the same image point */
        float c = (float)got[i].crop_side / 2;
        const float *a = got[i].crop_to_image, *b = mem[j].crop_to_image;
        float dx = (a[0] * c + a[1] * c + a[2]) - (b[0] * c + b[1] * c + b[2]);
        float dy = (a[3] * c + a[4] * c + a[5]) - (b[3] * c + b[4] * c + b[5]);
        CHECK_MSG(hypotf(dx, dy) < 0.1f * mem[j].face.box.w, "%s face %d: %g px apart", path, i,
                  hypotf(dx, dy));
        break;
      }
  CHECK_MSG(matched >= (n + 1) / 2, "%s: %d of %d faces found again downscaled", path, matched, n);
  free(got);
  free(mem);
  stbi_image_free(px);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: test_pipeline WEIGHTS DETECTOR PHOTO...\n");
    return 2;
  }
  lnl_error err = {0};
  lnl_model *model = NULL;
  lnl_detector *det = NULL;
  lnl_context *ctx = NULL;
  if (lnl_model_open(argv[1], &model, &err) || lnl_detector_open(argv[2], &det, &err) ||
      lnl_context_new(model, 2, &ctx, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  for (int i = 3; i < argc; i++) test_photo(model, ctx, det, argv[i]);

  /* a context without a model only detects, on its threads: the faces lnl_detect finds */
  {
    int w, h, ch;
    uint8_t *px = stbi_load(argv[3], &w, &h, &ch, 3);
    lnl_image img = {px, w, h, (size_t)w * 3};
    lnl_context *dctx = NULL;
    lnl_face *a = NULL, *b = NULL;
    int na = 0, nb = -1;
    CHECK(px && lnl_context_new(NULL, 2, &dctx, &err) == LNL_OK);
    CHECK(lnl_detect(det, &img, NULL, &a, &na, &err) == LNL_OK && na > 0);
    CHECK(lnl_context_detect(dctx, det, &img, NULL, &b, &nb, &err) == LNL_OK && nb == na);
    for (int i = 0; i < na && nb == na; i++)
      CHECK(fabsf(a[i].box.x - b[i].box.x) < 1e-3f && fabsf(a[i].score - b[i].score) < 1e-5f);
    lnl_result r;
    CHECK(lnl_classify(dctx, &img, 1, &r, &err) == LNL_ERR_ARGUMENT);
    lnl_face_analysis *none = NULL;
    int k = -1;
    CHECK(lnl_analyze(dctx, det, &img, NULL, &none, &k, &err) == LNL_ERR_ARGUMENT && !none);
    free(a);
    free(b);
    lnl_context_free(dctx);
    stbi_image_free(px);
  }

  /* bad arguments */
  lnl_face_analysis *got = NULL;
  int m = 0;
  lnl_source empty = {NULL, 0, 10, read_pixels, NULL};
  CHECK(lnl_analyze_source(ctx, det, &empty, NULL, NULL, NULL, &got, &m, &err) == LNL_ERR_ARGUMENT);
  CHECK(lnl_analyze_source(ctx, det, NULL, NULL, NULL, NULL, &got, &m, &err) == LNL_ERR_ARGUMENT);
  CHECK(strcmp(lnl_status_name(LNL_ERR_CANCELLED), "cancelled") == 0);
  CHECK(lnl_scaled_side(1000, 0.5) == 500 && lnl_scaled_side(3, 0.1) == 1 &&
        lnl_scaled_side(7, 1.0) == 7);

  lnl_context_free(ctx);
  lnl_detector_close(det);
  lnl_model_close(model);
  return check_failures ? 1 : 0;
}
