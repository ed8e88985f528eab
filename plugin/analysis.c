/* Running the engine on a GIMP drawable. */
#include "analysis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EXPRESSION_FILE "lnlfer-expression.safetensors"
#define DETECTOR_FILE "blazeface-back.safetensors"

/* Larger areas are detected on a downscaled copy (bounded memory: 4096^2 x 3 bytes), and
 * each face found is then classified from a patch read again around it. */
#define MAX_READ_SIDE 4096
/* Side a face patch is read at, at most, for the classification of large images. */
#define PATCH_SIDE 768
/* Rows read from GEGL at once. */
#define STRIP_BYTES (4 << 20)

/* ---- Weights ---------------------------------------------------------------- */

/* The weights file to use: $env_var when set (even when it is wrong, so that the user
 * sees the error), else the first readable of the installed places. */
static char *find_weights(const char *env_var, const char *file, GError **error) {
  const char *env = g_getenv(env_var);
  if (env && *env) return g_strdup(env);
  char *plugin_dir = g_path_get_dirname(gimp_get_progname());
  char *candidates[] = {
      g_build_filename(plugin_dir, "weights", file, NULL),
      g_build_filename(LNLFER_DATADIR, file, NULL),
  };
  char *found = NULL;
  GString *looked = g_string_new(NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(candidates); i++) {
    if (!found && g_file_test(candidates[i], G_FILE_TEST_IS_REGULAR))
      found = g_strdup(candidates[i]);
    g_string_append_printf(looked, "\n  %s", candidates[i]);
    g_free(candidates[i]);
  }
  g_free(plugin_dir);
  if (!found)
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                _("The weights file %s was not found. Looked in:%s\nReinstall lnlfer, or set %s "
                  "to the file's path."),
                file, looked->str, env_var);
  g_string_free(looked, TRUE);
  return found;
}

gboolean lnlfer_engine_open(LnlferEngine *e, GError **error) {
  lnl_error err = {0};
  memset(e, 0, sizeof *e);
  char *path = find_weights("LNLFER_WEIGHTS", EXPRESSION_FILE, error);
  if (path && lnl_model_open(path, &e->model, &err) != LNL_OK)
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot load the expression weights %s: %s"), path,
                err.message);
  g_free(path);
  if (!e->model) return FALSE;
  path = find_weights("LNLFER_DETECTOR", DETECTOR_FILE, error);
  if (path && lnl_detector_open(path, &e->detector, &err) != LNL_OK)
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot load the face detector weights %s: %s"),
                path, err.message);
  g_free(path);
  int threads = CLAMP((int)g_get_num_processors(), 1, 8);
  if (e->detector && lnl_context_new(e->model, threads, &e->context, &err) != LNL_OK)
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
  if (!e->context) {
    lnlfer_engine_close(e);
    return FALSE;
  }
  return TRUE;
}

void lnlfer_engine_close(LnlferEngine *e) {
  if (e->detecting) g_thread_join(e->detecting);
  lnl_context_free(e->context);
  lnl_detector_close(e->detector);
  lnl_model_close(e->model);
  memset(e, 0, sizeof *e);
}

/* ---- Pixels ------------------------------------------------------------------ */

/* An 8-bit sRGB copy of `r` (drawable coordinates) at `scale`, transparent parts shown
 * over white. Any precision and format (grey, indexed, high bit depth) is converted by
 * babl. */
typedef struct rgb_copy {
  guint8 *pixels;
  int width, height;
  double sx, sy; /* copy pixels per drawable pixel */
} rgb_copy;

typedef struct Progress {
  LnlferProgressFunc func;
  gpointer data;
  double from, to; /* the part of the whole that the current step covers */
} Progress;

/* Reports the fraction `done` of the current step; FALSE when the user cancelled. */
static gboolean report(const Progress *p, double done, const char *what) {
  return !p->func || p->func(done < 0 ? -1.0 : p->from + (p->to - p->from) * done, what, p->data);
}

static void set_cancelled(GError **error) {
  g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The analysis was cancelled."));
}

static gboolean read_rgb(GeglBuffer *buf, const GeglRectangle *r, double scale, rgb_copy *out,
                         const Progress *progress, GError **error) {
  int w = MAX(1, (int)floor(r->width * scale + 0.5)),
      h = MAX(1, (int)floor(r->height * scale + 0.5));
  if (scale >= 1.0) w = r->width, h = r->height, scale = 1.0;
  out->width = w;
  out->height = h;
  out->sx = (double)w / r->width;
  out->sy = (double)h / r->height;
  out->pixels = g_try_malloc((gsize)w * h * 3);
  int rows = CLAMP(STRIP_BYTES / (w * 4), 1, h);
  guint8 *rgba = out->pixels ? g_try_malloc((gsize)w * rows * 4) : NULL;
  if (!rgba) {
    g_free(out->pixels);
    out->pixels = NULL;
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Not enough memory to read %d x %d pixels."), w, h);
    return FALSE;
  }
  const Babl *format = babl_format("R'G'B'A u8");
  int x0 = (int)floor(r->x * scale), y0 = (int)floor(r->y * scale);
  for (int y = 0; y < h; y += rows) {
    int n = MIN(rows, h - y);
    if (progress && !report(progress, (double)y / h, NULL)) {
      g_free(rgba);
      g_clear_pointer(&out->pixels, g_free);
      set_cancelled(error);
      return FALSE;
    }
    gegl_buffer_get(buf, GEGL_RECTANGLE(x0, y0 + y, w, n), scale, format, rgba, w * 4,
                    GEGL_ABYSS_CLAMP);
    guint8 *dst = out->pixels + (gsize)y * w * 3;
    for (gsize i = 0; i < (gsize)w * n; i++) {
      unsigned a = rgba[4 * i + 3];
      for (int c = 0; c < 3; c++)
        dst[3 * i + c] = (guint8)((rgba[4 * i + c] * a + 255 * (255 - a) + 127) / 255);
    }
  }
  g_free(rgba);
  return TRUE;
}

static lnl_image view_of(const rgb_copy *c) {
  return (lnl_image){c->pixels, c->width, c->height, (size_t)c->width * 3};
}

/* For an area larger than MAX_READ_SIDE: GIMP itself scales a copy of the area down, in a
 * temporary image (its copy of the layer shares the layer's tiles until they change), with
 * its own threads and mipmaps; far faster than fetching every tile of a huge layer into this
 * process. FALSE when GIMP could not (the caller then scales the area itself). */
static gboolean read_downscaled_by_gimp(GimpDrawable *drawable, const GeglRectangle *r,
                                        double scale, rgb_copy *out, const Progress *progress,
                                        GError **error) {
  GimpImage *source = gimp_item_get_image(GIMP_ITEM(drawable));
  GimpImage *tmp = gimp_image_new_with_precision(r->width, r->height, GIMP_RGB,
                                                 gimp_image_get_precision(source));
  if (!tmp) return FALSE;
  gimp_image_undo_disable(tmp);
  int w = MAX(1, (int)floor(r->width * scale + 0.5)),
      h = MAX(1, (int)floor(r->height * scale + 0.5));
  GimpLayer *layer = gimp_layer_new_from_drawable(drawable, tmp);
  gboolean ok = layer && gimp_image_insert_layer(tmp, layer, NULL, 0) &&
                gimp_layer_set_offsets(layer, 0, 0) &&
                gimp_layer_resize(layer, r->width, r->height, -r->x, -r->y);
  if (ok) {
    gimp_context_push();
    gimp_context_set_interpolation(GIMP_INTERPOLATION_LINEAR);
    ok = gimp_layer_scale(layer, w, h, FALSE) &&
         gimp_drawable_get_width(GIMP_DRAWABLE(layer)) == w &&
         gimp_drawable_get_height(GIMP_DRAWABLE(layer)) == h;
    gimp_context_pop();
  }
  if (ok) {
    GeglBuffer *small = gimp_drawable_get_buffer(GIMP_DRAWABLE(layer));
    ok = read_rgb(small, GEGL_RECTANGLE(0, 0, w, h), 1.0, out, progress, error);
    g_object_unref(small);
    out->sx = (double)w / r->width;
    out->sy = (double)h / r->height;
  }
  gimp_image_delete(tmp);
  return ok;
}

/* ---- Faces ------------------------------------------------------------------- */

/* Maps a face found in a copy to the coordinates of `r`'s origin at full resolution. */
static void face_to_full(lnl_face *f, const rgb_copy *c) {
  f->box.x /= c->sx, f->box.w /= c->sx, f->box.y /= c->sy, f->box.h /= c->sy;
  for (int k = 0; k < f->num_landmarks; k++)
    f->landmarks[k][0] /= c->sx, f->landmarks[k][1] /= c->sy;
}

/* Aligns and classifies one face (coordinates of the copy) into `out`, whose transform
 * then maps the crop into the copy's coordinates. */
static lnl_status classify_face(LnlferEngine *e, const rgb_copy *c, const lnl_face *f, guint8 *crop,
                                lnl_face_analysis *out, lnl_error *err) {
  int side = lnl_model_crop_side(e->model);
  lnl_image img = view_of(c);
  out->crop_side = side;
  lnl_status s = lnl_align(e->model, &img, f, crop, out->crop_to_image, err);
  lnl_image view = {crop, side, side, (size_t)side * 3};
  if (!s) s = lnl_classify(e->context, &view, 1, &out->expression, err);
  return s;
}

/* For a downscaled area: reads a patch around the face (face in full-resolution area
 * coordinates) at up to PATCH_SIDE pixels and classifies it there. */
static gboolean classify_refined(LnlferEngine *e, GeglBuffer *buf, const GeglRectangle *r,
                                 const lnl_face *f, guint8 *crop, lnl_face_analysis *out,
                                 GError **error) {
  double side = 3.0 * MAX(f->box.w, f->box.h);
  double cx = f->box.x + f->box.w / 2, cy = f->box.y + f->box.h / 2;
  int px0 = CLAMP((int)floor(cx - side / 2), 0, r->width - 1);
  int py0 = CLAMP((int)floor(cy - side / 2), 0, r->height - 1);
  int px1 = CLAMP((int)ceil(cx + side / 2), px0 + 1, r->width);
  int py1 = CLAMP((int)ceil(cy + side / 2), py0 + 1, r->height);
  GeglRectangle pr = {r->x + px0, r->y + py0, px1 - px0, py1 - py0};
  rgb_copy patch;
  if (!read_rgb(buf, &pr, MIN(1.0, (double)PATCH_SIDE / MAX(pr.width, pr.height)), &patch, NULL,
                error))
    return FALSE;
  lnl_face pf = *f;
  pf.box.x = (f->box.x - px0) * patch.sx, pf.box.w *= patch.sx;
  pf.box.y = (f->box.y - py0) * patch.sy, pf.box.h *= patch.sy;
  for (int k = 0; k < f->num_landmarks; k++) {
    pf.landmarks[k][0] = (f->landmarks[k][0] - px0) * patch.sx;
    pf.landmarks[k][1] = (f->landmarks[k][1] - py0) * patch.sy;
  }
  lnl_error err = {0};
  lnl_status s = classify_face(e, &patch, &pf, crop, out, &err);
  g_free(patch.pixels);
  if (s) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s", err.message);
    return FALSE;
  }
  float *m = out->crop_to_image;
  m[0] /= patch.sx, m[1] /= patch.sx, m[2] = m[2] / patch.sx + px0;
  m[3] /= patch.sy, m[4] /= patch.sy, m[5] = m[5] / patch.sy + py0;
  return TRUE;
}

static void shift_face(lnl_face_analysis *a, double dx, double dy) {
  a->face.box.x += dx, a->face.box.y += dy;
  for (int k = 0; k < a->face.num_landmarks; k++)
    a->face.landmarks[k][0] += dx, a->face.landmarks[k][1] += dy;
  a->crop_to_image[2] += dx, a->crop_to_image[5] += dy;
}

/* Keeps the faces whose centre is selected (for selections that are not rectangles). */
static int keep_selected(GimpImage *image, lnl_face *faces, int n, double dx, double dy) {
  if (gimp_selection_is_empty(image)) return n;
  int kept = 0;
  for (int i = 0; i < n; i++) {
    int x = (int)(dx + faces[i].box.x + faces[i].box.w / 2);
    int y = (int)(dy + faces[i].box.y + faces[i].box.h / 2);
    if (gimp_selection_value(image, x, y) >= 128) faces[kept++] = faces[i];
  }
  return kept;
}

/* ---- Detection in a thread ------------------------------------------------------ */

/* One detection. The thread owns the job once the analysis is cancelled (abandoned). */
typedef struct DetectJob {
  const lnl_detector *detector;
  guint8 *pixels; /* the image copy; the job frees it */
  lnl_image image;
  lnl_detect_options options;
  lnl_face *faces;
  int count;
  lnl_status status;
  lnl_error err;
  GMutex lock;
  gboolean done, abandoned;
  gint *busy; /* the engine's detect_busy, cleared when the thread ends */
} DetectJob;

static void job_free(DetectJob *job) {
  g_free(job->pixels);
  free(job->faces);
  g_mutex_clear(&job->lock);
  g_free(job);
}

static gpointer detect_thread(gpointer data) {
  DetectJob *job = data;
  lnl_status s =
      lnl_detect(job->detector, &job->image, &job->options, &job->faces, &job->count, &job->err);
  g_mutex_lock(&job->lock);
  job->status = s;
  job->done = TRUE;
  gboolean abandoned = job->abandoned;
  g_mutex_unlock(&job->lock);
  gint *busy = job->busy;
  if (abandoned) job_free(job);
  g_atomic_int_set(busy, 0);
  return NULL;
}

/* Runs the detector on `copy` in a thread, which owns copy->pixels while it runs (they are
 * job->pixels, copy->pixels is NULL), reporting progress while it runs. On success returns
 * the job (done; free with job_free); NULL when cancelled (the thread then finishes on its
 * own) or when the detector failed (error set). */
static DetectJob *detect(LnlferEngine *e, rgb_copy *copy, const lnl_detect_options *opt,
                         const Progress *progress, GError **error) {
  if (e->detecting) {
    /* A cancelled detection still runs: let it finish first (it uses the processors). */
    while (g_atomic_int_get(&e->detect_busy)) {
      if (!report(progress, -1, NULL)) {
        set_cancelled(error);
        return NULL;
      }
      g_usleep(LNLFER_PROGRESS_INTERVAL_MS * 1000);
    }
    g_thread_join(e->detecting);
    e->detecting = NULL;
  }
  DetectJob *job = g_new0(DetectJob, 1);
  job->detector = e->detector;
  job->pixels = copy->pixels;
  job->image = view_of(copy);
  job->options = *opt;
  copy->pixels = NULL;
  g_mutex_init(&job->lock);
  job->busy = &e->detect_busy;
  g_atomic_int_set(&e->detect_busy, 1);
  GThread *thread = g_thread_new("lnlfer-detect", detect_thread, job);
  gboolean cancelled = FALSE;
  for (;;) {
    g_mutex_lock(&job->lock);
    gboolean done = job->done;
    if (!done && cancelled) job->abandoned = TRUE;
    g_mutex_unlock(&job->lock);
    if (done) break;
    if (cancelled) {
      e->detecting = thread; /* it frees the job */
      set_cancelled(error);
      return NULL;
    }
    cancelled = !report(progress, -1, NULL);
    if (!cancelled) g_usleep(LNLFER_PROGRESS_INTERVAL_MS * 1000);
  }
  g_thread_join(thread);
  if (job->status != LNL_OK) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Face detection failed: %s"), job->err.message);
    job_free(job);
    return NULL;
  }
  return job;
}

static LnlferAnalysis *analysis_new(LnlferEngine *e, GimpDrawable *drawable,
                                    const LnlferSettings *settings) {
  LnlferAnalysis *a = g_new0(LnlferAnalysis, 1);
  GimpImage *image = gimp_item_get_image(GIMP_ITEM(drawable));
  a->settings = *settings;
  a->image_width = gimp_image_get_width(image);
  a->image_height = gimp_image_get_height(image);
  a->read_scale = 1.0;
  a->num_classes = lnl_model_num_classes(e->model);
  a->num_regions = lnl_model_num_regions(e->model);
  for (int k = 0; k < a->num_classes && k < LNL_MAX_CLASSES; k++) {
    a->class_keys[k] = g_strdup(lnl_model_class_name(e->model, k));
    a->class_labels[k] = lnlfer_class_label(a->class_keys[k]);
  }
  return a;
}

gboolean lnlfer_analysis_area(GimpDrawable *drawable, GeglRectangle *image_area,
                              GeglRectangle *drawable_area) {
  int ox = 0, oy = 0, x = 0, y = 0, w = 0, h = 0;
  gimp_drawable_get_offsets(drawable, &ox, &oy);
  gboolean ok = gimp_drawable_mask_intersect(drawable, &x, &y, &w, &h) && w > 0 && h > 0;
  if (!ok) x = y = w = h = 0;
  *image_area = (GeglRectangle){ox + x, oy + y, w, h};
  *drawable_area = (GeglRectangle){x, y, w, h};
  return ok;
}

LnlferAnalysis *lnlfer_analyze(LnlferEngine *e, GimpDrawable *drawable,
                               const LnlferSettings *settings, LnlferProgressFunc progress,
                               gpointer pdata, GError **error) {
  LnlferAnalysis *a = analysis_new(e, drawable, settings);
  GimpImage *image = gimp_item_get_image(GIMP_ITEM(drawable));
  GeglRectangle r;
  if (!lnlfer_analysis_area(drawable, &a->area, &r)) {
    a->message =
        g_strdup(_("The selection does not overlap the layer: there is nothing to analyze."));
    return a;
  }
  int w = r.width, h = r.height;
  double scale = MIN(1.0, (double)MAX_READ_SIDE / MAX(w, h));
  GeglBuffer *buf = gimp_drawable_get_buffer(drawable);
  rgb_copy copy = {0};
  DetectJob *job = NULL;
  guint8 *crop = NULL;
  int n = 0;
  lnl_error err = {0};
  gboolean ok = FALSE;
  /* Steps: reading 0-10 %, detection 10-60 %, recognition 60-100 %. */
  Progress step = {progress, pdata, 0.0, 0.1};
  if (!report(&step, 0, _("Reading the layer"))) goto cancelled;
  gboolean done = scale < 1.0 && read_downscaled_by_gimp(drawable, &r, scale, &copy, &step, error);
  if (!done && error && *error) goto out; /* cancelled, or out of memory */
  if (!done && !read_rgb(buf, &r, scale, &copy, &step, error)) goto out;
  a->read_scale = copy.sx;
  lnl_detect_options opt;
  lnl_detect_options_init(e->detector, &opt);
  opt.score_threshold = (float)settings->threshold;
  opt.min_face_size = (int)floor(settings->min_face_size * copy.sx);
  opt.max_faces = gimp_selection_is_empty(image) ? settings->max_faces : 0;
  opt.threads = CLAMP((int)g_get_num_processors(), 1, 8);
  step = (Progress){progress, pdata, 0.1, 0.6};
  if (!report(&step, 0, _("Finding faces"))) goto cancelled;
  /* The detector's thread owns the pixels while it runs; they come back with the job. */
  job = detect(e, &copy, &opt, &step, error);
  if (!job) goto out;
  copy.pixels = job->pixels;
  job->pixels = NULL;
  lnl_face *faces = job->faces;
  n = job->count;
  for (int i = 0; i < n; i++) face_to_full(&faces[i], &copy);
  n = keep_selected(image, faces, n, a->area.x, a->area.y);
  if (settings->max_faces > 0 && n > settings->max_faces) n = settings->max_faces;
  a->faces = g_new0(lnl_face_analysis, MAX(n, 1));
  crop = g_malloc((gsize)lnl_model_crop_side(e->model) * lnl_model_crop_side(e->model) * 3);
  step = (Progress){progress, pdata, 0.6, 1.0};
  for (int i = 0; i < n; i++) {
    if (!report(&step, (double)i / n, i ? NULL : _("Recognizing expressions"))) goto cancelled;
    lnl_face_analysis *fa = &a->faces[i];
    fa->face = faces[i];
    if (copy.sx < 1.0) {
      if (!classify_refined(e, buf, &r, &faces[i], crop, fa, error)) goto out;
    } else if (classify_face(e, &copy, &faces[i], crop, fa, &err) != LNL_OK) {
      g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Expression recognition failed: %s"),
                  err.message);
      goto out;
    }
    shift_face(fa, a->area.x, a->area.y);
    lnl_face_assess(e->model, fa);
    a->count = i + 1;
  }
  if (n == 0) a->message = g_strdup(_("No face was found."));
  report(&step, 1.0, NULL);
  ok = TRUE;
  goto out;
cancelled:
  set_cancelled(error);
out:
  g_object_unref(buf);
  g_free(copy.pixels);
  g_free(crop);
  if (job) job_free(job);
  if (!ok) {
    lnlfer_analysis_free(a);
    return NULL;
  }
  return a;
}

void lnlfer_analysis_free(LnlferAnalysis *a) {
  if (!a) return;
  g_free(a->faces);
  for (int k = 0; k < LNL_MAX_CLASSES; k++) g_free(a->class_keys[k]);
  g_free(a->message);
  g_free(a);
}

lnlr_scene lnlfer_analysis_scene(const LnlferAnalysis *a) {
  return (lnlr_scene){a->faces,
                      a->count,
                      a->num_classes,
                      a->num_regions,
                      (const char *const *)a->class_keys,
                      a->class_labels,
                      {a->area.x, a->area.y, a->area.width, a->area.height},
                      NULL,
                      /* TRANSLATORS: under the label of a face that may not be a human face
                       * (low detector score or implausible landmarks); keep it short. */
                      _("uncertain face")};
}
