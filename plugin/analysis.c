/* Running the engine on a GIMP drawable. */
#include "analysis.h"

#include "pixels.h"

#include <stdlib.h>
#include <string.h>

#define EXPRESSION_FILE "lnlfer-expression.safetensors"
#define DETECTOR_FILE "blazeface-back.safetensors"

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
  lnl_context_free(e->context);
  lnl_detector_close(e->detector);
  lnl_model_close(e->model);
  memset(e, 0, sizeof *e);
}

/* ---- Progress ---------------------------------------------------------------- */

typedef struct Progress {
  LnlferProgressFunc func;
  gpointer data;
  int stage; /* the engine's step last reported, -1 before the first */
} Progress;

/* The engine's progress in GIMP's terms: each step's name when it begins. */
static int engine_progress(void *user, lnl_stage stage, float fraction) {
  Progress *p = user;
  static const char *const steps[] = {N_("Reading the layer"), N_("Finding faces"),
                                      N_("Recognizing expressions")};
  const char *what = (int)stage != p->stage ? _(steps[stage]) : NULL;
  p->stage = (int)stage;
  return p->func && !p->func(stage, fraction, what, p->data);
}

/* Reading the whole area is the first tenth of the read step's report. */
static gboolean read_progress(double fraction, gpointer user) {
  Progress *p = user;
  return !engine_progress(p, LNL_STAGE_READ, (float)(0.1 * fraction));
}

static LnlferAnalysis *analysis_new(LnlferEngine *e, GimpDrawable *drawable,
                                    const LnlferSettings *settings) {
  LnlferAnalysis *a = g_new0(LnlferAnalysis, 1);
  GimpImage *image = gimp_item_get_image(GIMP_ITEM(drawable));
  a->settings = *settings;
  a->image_width = gimp_image_get_width(image);
  a->image_height = gimp_image_get_height(image);
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
  GeglRectangle r;
  if (!lnlfer_analysis_area(drawable, &a->area, &r)) {
    a->message =
        g_strdup(_("The selection does not overlap the layer: there is nothing to analyze."));
    return a;
  }
  LnlferReader reader;
  lnl_source source;
  lnlfer_reader_init(&reader, drawable, &r, a->area.x, a->area.y, &source);
  Progress p = {progress, pdata, -1};
  reader.progress = read_progress;
  reader.progress_data = &p;
  lnl_detect_options opt;
  lnl_detect_options_init(e->detector, &opt);
  opt.score_threshold = (float)settings->threshold;
  opt.min_face_size = settings->min_face_size;
  opt.max_faces = settings->max_faces;
  lnl_error err = {0};
  lnl_status s = lnl_analyze_source(e->context, e->detector, &source, &opt, engine_progress, &p,
                                    &a->faces, &a->count, &err);
  if (s == LNL_ERR_CANCELLED) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The analysis was cancelled."));
  } else if (s && reader.error) {
    g_propagate_error(error, g_steal_pointer(&reader.error));
  } else if (s && p.stage == LNL_STAGE_CLASSIFY) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Expression recognition failed: %s"), err.message);
  } else if (s) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Face detection failed: %s"), err.message);
  }
  lnlfer_reader_clear(&reader);
  if (s) {
    lnlfer_analysis_free(a);
    return NULL;
  }
  /* from the area's coordinates to the image's */
  for (int i = 0; i < a->count; i++) {
    lnl_face_analysis *f = &a->faces[i];
    f->face.box.x += a->area.x, f->face.box.y += a->area.y;
    for (int k = 0; k < f->face.num_landmarks; k++)
      f->face.landmarks[k][0] += a->area.x, f->face.landmarks[k][1] += a->area.y;
    f->crop_to_image[2] += a->area.x, f->crop_to_image[5] += a->area.y;
  }
  if (a->count == 0) a->message = g_strdup(_("No face was found."));
  return a;
}

void lnlfer_analysis_free(LnlferAnalysis *a) {
  if (!a) return;
  free(a->faces); /* the engine's */
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
