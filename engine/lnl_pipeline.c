/* The face pipeline: detection on a bounded view of an image source, each face aligned from
 * the view or from a patch read again around it, the faces classified together on the
 * context's threads, progress and cancel throughout. The one place that does it: the CLI
 * (lnl_analyze, an image in memory) and the plug-in (a GEGL reader) both come here. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lnl_detector.h"
#include "lnl_error.h"
#include "lnl_pipeline.h"
#include "lnl_resample.h"
#include "lnlfer.h"

/* Share of the whole call each step reports: reading the view, the detector's passes, reading
 * and aligning the faces, classifying them. */
#define READ_END 0.1f
#define DETECT_END 0.6f
#define ALIGN_END 0.9f

int lnl_scaled_side(int side, double scale) {
  if (!(scale < 1.0)) return side;
  int n = (int)floor(side * scale + 0.5);
  return n < 1 ? 1 : n;
}

typedef struct progress_state {
  lnl_progress_func func;
  void *user;
  float last;
} progress_state;

/* Reports `fraction` (never less than the last one); 0 when the caller asks to stop. */
static int report(progress_state *p, lnl_stage stage, float fraction) {
  if (fraction < p->last) fraction = p->last;
  p->last = fraction;
  return !p->func || p->func(p->user, stage, fraction) == 0;
}

static lnl_status cancelled(lnl_error *err) {
  return lnl_fail(err, LNL_ERR_CANCELLED, "the analysis was cancelled");
}

static int detect_pass(void *user, int done, int total) {
  return !report(user, LNL_STAGE_DETECT, READ_END + (DETECT_END - READ_END) * done / total);
}

/* ---- Faces ---- */

/* A face found on a view scaled by (sx, sy) in the image's coordinates. */
static void face_to_image(lnl_face *f, double sx, double sy) {
  f->box.x = (float)(f->box.x / sx), f->box.w = (float)(f->box.w / sx);
  f->box.y = (float)(f->box.y / sy), f->box.h = (float)(f->box.h / sy);
  for (int k = 0; k < f->num_landmarks; k++)
    f->landmarks[k][0] = (float)(f->landmarks[k][0] / sx),
    f->landmarks[k][1] = (float)(f->landmarks[k][1] / sy);
}

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Aligns face `a->face` (image pixels) from a patch around it read again at up to
 * LNL_PATCH_SIDE pixels: 3 box sides square, clipped to the image. Writes the crop and the
 * crop-to-image transform. */
static lnl_status align_from_patch(const lnl_model *model, const lnl_source *src,
                                   lnl_face_analysis *a, uint8_t *crop, lnl_error *err) {
  const lnl_face *f = &a->face;
  double side = 3.0 * (f->box.w > f->box.h ? f->box.w : f->box.h);
  double cx = f->box.x + f->box.w / 2, cy = f->box.y + f->box.h / 2;
  int px0 = clamp_int((int)floor(cx - side / 2), 0, src->width - 1);
  int py0 = clamp_int((int)floor(cy - side / 2), 0, src->height - 1);
  int px1 = clamp_int((int)ceil(cx + side / 2), px0 + 1, src->width);
  int py1 = clamp_int((int)ceil(cy + side / 2), py0 + 1, src->height);
  int pw = px1 - px0, ph = py1 - py0;
  double scale = (double)LNL_PATCH_SIDE / (pw > ph ? pw : ph);
  if (scale > 1.0) scale = 1.0;
  int w = lnl_scaled_side(pw, scale), h = lnl_scaled_side(ph, scale);
  double sx = (double)w / pw, sy = (double)h / ph;
  uint8_t *rgb = malloc((size_t)w * h * 3);
  if (!rgb) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory reading a face");
  lnl_status s = src->read(src->user, px0, py0, pw, ph, scale, rgb, (size_t)w * 3);
  if (s == LNL_ERR_CANCELLED)
    s = cancelled(err);
  else if (s)
    s = lnl_fail(err, s, "the image could not be read around a face");
  lnl_face pf = *f;
  pf.box.x = (float)((f->box.x - px0) * sx), pf.box.w = (float)(pf.box.w * sx);
  pf.box.y = (float)((f->box.y - py0) * sy), pf.box.h = (float)(pf.box.h * sy);
  for (int k = 0; k < f->num_landmarks; k++) {
    pf.landmarks[k][0] = (float)((f->landmarks[k][0] - px0) * sx);
    pf.landmarks[k][1] = (float)((f->landmarks[k][1] - py0) * sy);
  }
  lnl_image patch = {rgb, w, h, (size_t)w * 3};
  float *m = a->crop_to_image;
  if (!s) s = lnl_align(model, &patch, &pf, crop, m, err);
  free(rgb);
  if (s) return s;
  m[0] = (float)(m[0] / sx), m[1] = (float)(m[1] / sx), m[2] = (float)(m[2] / sx + px0);
  m[3] = (float)(m[3] / sy), m[4] = (float)(m[4] / sy), m[5] = (float)(m[5] / sy + py0);
  return LNL_OK;
}

/* Where each face's aligned crop goes (lnl_analyze_with_crops). */
typedef struct crop_sink {
  void (*crop)(void *user, int face, const uint8_t *rgb, int side);
  void *user;
} crop_sink;

/* Aligns and preprocesses every face (its crop to `sink` when there is one), then classifies them a
 * context's worth at a time. */
static lnl_status classify_faces(lnl_context *ctx, const lnl_source *src, const lnl_image *view,
                                 int refine, const crop_sink *sink, lnl_face_analysis *res, int n,
                                 progress_state *p, lnl_error *err) {
  const lnl_model *model = lnl_context_model(ctx);
  int side = lnl_model_crop_side(model);
  size_t in = lnl_model_input_floats(model);
  lnl_result *expr = malloc(sizeof *expr * (size_t)n);
  float *inputs = malloc(sizeof(float) * in * (size_t)n);
  uint8_t *crop = malloc((size_t)side * side * 3);
  lnl_status s = expr && inputs && crop
                     ? LNL_OK
                     : lnl_fail(err, LNL_ERR_MEMORY, "out of memory analysing %d faces", n);
  for (int i = 0; i < n && !s; i++) {
    if (!report(p, LNL_STAGE_CLASSIFY, DETECT_END + (ALIGN_END - DETECT_END) * i / n)) {
      s = cancelled(err);
      break;
    }
    res[i].crop_side = side;
    s = refine ? align_from_patch(model, src, &res[i], crop, err)
               : lnl_align(model, view, &res[i].face, crop, res[i].crop_to_image, err);
    lnl_image c = {crop, side, side, (size_t)side * 3};
    if (!s && sink && sink->crop) sink->crop(sink->user, i, crop, side);
    if (!s) s = lnl_model_preprocess(model, &c, inputs + (size_t)i * in, err);
  }
  int group = lnl_context_threads(ctx);
  for (int i = 0, m = 0; i < n && !s; i += m) {
    if (!report(p, LNL_STAGE_CLASSIFY, ALIGN_END + (1.0f - ALIGN_END) * i / n)) {
      s = cancelled(err);
      break;
    }
    /* a lone face runs on every thread inside its layers, with slightly different rounding:
     * the last one joins the group before it, so that results do not depend on the grouping */
    m = n - i <= group + 1 ? n - i : group;
    s = lnl_classify_inputs(ctx, inputs + (size_t)i * in, m, side, expr + i, err);
  }
  for (int i = 0; i < n && !s; i++) {
    res[i].expression = expr[i];
    lnl_face_assess(model, &res[i]);
  }
  free(crop);
  free(inputs);
  free(expr);
  return s;
}

/* The pipeline; `direct` is the source's pixels when they are in memory (then used as they
 * are), else NULL; `sink` NULL or where the aligned crops go. */
static lnl_status analyze(lnl_context *ctx, const lnl_detector *det, const lnl_source *src,
                          const lnl_image *direct, const crop_sink *sink,
                          const lnl_detect_options *opt, lnl_progress_func progress_func,
                          void *progress_user, lnl_face_analysis **out, int *count,
                          lnl_error *err) {
  if (!ctx || !lnl_context_model(ctx) || !det || !src || !(src->read || direct) || !out || !count)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "lnl_analyze: bad arguments");
  *out = NULL;
  *count = 0;
  if (src->width < 1 || src->height < 1)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "the image is empty (%d x %d pixels)", src->width,
                    src->height);
  lnl_detect_options defaults;
  lnl_detect_options_init(det, &defaults);
  if (!opt) opt = &defaults;
  progress_state p = {progress_func, progress_user, 0.0f};
  if (!report(&p, LNL_STAGE_READ, 0.0f)) return cancelled(err);

  /* the view the detector looks at */
  int W = src->width, H = src->height, longer = W > H ? W : H;
  /* an image in memory needs no view: the detector downscales its windows itself (to
   * opt->max_side) and each face is aligned from the full image */
  double scale =
      !direct && opt->max_side > 0 && longer > opt->max_side ? (double)opt->max_side / longer : 1.0;
  int vw = lnl_scaled_side(W, scale), vh = lnl_scaled_side(H, scale);
  double sx = (double)vw / W, sy = (double)vh / H;
  uint8_t *pixels = NULL;
  lnl_image view = direct ? *direct : (lnl_image){NULL, vw, vh, (size_t)vw * 3};
  lnl_status s = LNL_OK;
  if (!view.pixels) {
    view.pixels = pixels = malloc((size_t)vw * vh * 3);
    if (!pixels)
      return lnl_fail(err, LNL_ERR_MEMORY, "out of memory reading %d x %d pixels", vw, vh);
    s = src->read(src->user, 0, 0, W, H, scale, pixels, view.stride);
    if (s == LNL_ERR_CANCELLED)
      s = cancelled(err);
    else if (s)
      s = lnl_fail(err, s, "the image could not be read");
  }
  if (!s && !report(&p, LNL_STAGE_READ, READ_END)) s = cancelled(err);

  /* detection: min_face_size in view pixels; max_faces after the source's choice */
  lnl_face *faces = NULL;
  int n = 0;
  if (!s) {
    lnl_detect_options d = *opt;
    d.min_face_size = (int)floor(opt->min_face_size * sx);
    if (src->keep) d.max_faces = 0;
    lnl_detect_hook hook = {detect_pass, &p};
    s = lnl_detect_on(det, &view, &d, lnl_context_parallel(ctx), &hook, &faces, &n, err);
  }
  if (!s && !report(&p, LNL_STAGE_DETECT, DETECT_END)) s = cancelled(err);
  int kept = 0;
  for (int i = 0; i < n && !s; i++) {
    face_to_image(&faces[i], sx, sy);
    if (!src->keep || src->keep(src->user, &faces[i])) faces[kept++] = faces[i];
  }
  if (opt->max_faces > 0 && kept > opt->max_faces) kept = opt->max_faces;

  lnl_face_analysis *res = NULL;
  if (!s && kept > 0) {
    res = calloc((size_t)kept, sizeof *res);
    if (!res) s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory analysing %d faces", kept);
    for (int i = 0; i < kept && !s; i++) res[i].face = faces[i];
    if (!s) s = classify_faces(ctx, src, &view, sx < 1.0 || sy < 1.0, sink, res, kept, &p, err);
  }
  free(faces);
  free(pixels);
  if (s) {
    free(res);
    return s;
  }
  if (p.func) p.func(p.user, LNL_STAGE_CLASSIFY, 1.0f); /* done: a stop now changes nothing */
  *out = res;
  *count = kept;
  return LNL_OK;
}

lnl_status lnl_analyze_source(lnl_context *ctx, const lnl_detector *det, const lnl_source *src,
                              const lnl_detect_options *opt, lnl_progress_func progress,
                              void *progress_user, lnl_face_analysis **out, int *count,
                              lnl_error *err) {
  return analyze(ctx, det, src, NULL, NULL, opt, progress, progress_user, out, count, err);
}

lnl_status lnl_context_detect(lnl_context *ctx, const lnl_detector *det, const lnl_image *img,
                              const lnl_detect_options *opt, lnl_face **faces, int *count,
                              lnl_error *err) {
  if (!ctx) return lnl_fail(err, LNL_ERR_ARGUMENT, "lnl_context_detect: no context");
  return lnl_detect_on(det, img, opt, lnl_context_parallel(ctx), NULL, faces, count, err);
}

/* lnl_analyze and lnl_analyze_with_crops: the pipeline on an image in memory. */
static lnl_status analyze_image(lnl_context *ctx, const lnl_detector *det, const lnl_image *img,
                                const lnl_detect_options *opt,
                                void (*crop)(void *user, int face, const uint8_t *rgb, int side),
                                void *user, lnl_face_analysis **out, int *count, lnl_error *err) {
  if (out) *out = NULL;
  if (count) *count = 0;
  lnl_status s = lnl_check_image(img, err);
  if (s) return s;
  lnl_source src = {NULL, img->width, img->height, NULL, NULL}; /* never read: `direct` */
  crop_sink sink = {crop, user};
  return analyze(ctx, det, &src, img, &sink, opt, NULL, NULL, out, count, err);
}

lnl_status lnl_analyze(lnl_context *ctx, const lnl_detector *det, const lnl_image *img,
                       const lnl_detect_options *opt, lnl_face_analysis **out, int *count,
                       lnl_error *err) {
  return analyze_image(ctx, det, img, opt, NULL, NULL, out, count, err);
}

lnl_status lnl_analyze_with_crops(lnl_context *ctx, const lnl_detector *det, const lnl_image *img,
                                  const lnl_detect_options *opt,
                                  void (*crop)(void *user, int face, const uint8_t *rgb, int side),
                                  void *user, lnl_face_analysis **out, int *count, lnl_error *err) {
  return analyze_image(ctx, det, img, opt, crop, user, out, count, err);
}
