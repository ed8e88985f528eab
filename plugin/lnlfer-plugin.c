/* lnlfer GIMP 3 plug-in: finds the faces of the selected layer, recognises their
 * expressions and annotates the image with a region map and labelled boxes in a new
 * layer group (one undo step). Also callable from scripts: it returns the number of faces,
 * the results as JSON (also stored as the parasite "lnlfer-results" on the layer group and
 * on the image) and the faces' labels, boxes, scores and probabilities as arrays.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "annotate.h"
#include "dialog.h"
#include "lnlfer-defaults.h"
#include "resources.h"
#include "results-json.h"
#include "results-values.h"
#include "settings.h"

#define PLUGIN_TILE_CACHE_MB 256

typedef struct _Lnlfer Lnlfer;
typedef struct _LnlferClass LnlferClass;
struct _Lnlfer {
  GimpPlugIn parent_instance;
};
struct _LnlferClass {
  GimpPlugInClass parent_class;
};

#define LNLFER_TYPE (lnlfer_get_type())
GType lnlfer_get_type(void) G_GNUC_CONST;

static GList *lnlfer_query_procedures(GimpPlugIn *plug_in);
static void lnlfer_add_arguments(GimpProcedure *procedure);
static GimpProcedure *lnlfer_create_procedure(GimpPlugIn *plug_in, const gchar *name);
static gboolean lnlfer_set_i18n(GimpPlugIn *plug_in, const gchar *procedure_name,
                                gchar **gettext_domain, gchar **catalog_dir);
static GimpValueArray *lnlfer_run(GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
                                  GimpDrawable **drawables, GimpProcedureConfig *config,
                                  gpointer run_data);

G_DEFINE_TYPE(Lnlfer, lnlfer, GIMP_TYPE_PLUG_IN)
GIMP_MAIN(LNLFER_TYPE)

static void lnlfer_class_init(LnlferClass *klass) {
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS(klass);
  plug_in_class->query_procedures = lnlfer_query_procedures;
  plug_in_class->create_procedure = lnlfer_create_procedure;
  plug_in_class->set_i18n = lnlfer_set_i18n;
}

static void lnlfer_init(Lnlfer *self) {}

static GList *lnlfer_query_procedures(GimpPlugIn *plug_in) {
  lnlfer_register_help(plug_in);
  return g_list_append(NULL, g_strdup(PLUG_IN_PROC));
}

/* Catalogs in locale/ next to the executable, domain "lnlfer" whatever the folder. */
static gboolean lnlfer_set_i18n(GimpPlugIn *plug_in, const gchar *procedure_name,
                                gchar **gettext_domain, gchar **catalog_dir) {
  *gettext_domain = g_strdup(PLUG_IN_BINARY);
  *catalog_dir = NULL;
  return TRUE;
}

static GimpProcedure *lnlfer_create_procedure(GimpPlugIn *plug_in, const gchar *name) {
  if (strcmp(name, PLUG_IN_PROC) != 0) return NULL;
  GimpProcedure *procedure =
      gimp_image_procedure_new(plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN, lnlfer_run, NULL, NULL);
  gimp_procedure_set_image_types(procedure, "RGB*, GRAY*, INDEXED*");
  gimp_procedure_set_sensitivity_mask(procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label(procedure, _("Facial _Expressions..."));
  /* GIMP 3 has no Filters > Analyze: the unknown part of the path is translated here (libgimp's
   * documentation of gimp_procedure_add_menu_path), GIMP translates the known part. */
  /* TRANSLATORS: a submenu of GIMP's Filters menu. */
  char *menu_path = g_build_path("/", "<Image>/Filters", _("Analyze"), NULL);
  gimp_procedure_add_menu_path(procedure, menu_path);
  g_free(menu_path);
  lnlfer_set_icon(procedure);
  gimp_procedure_set_documentation(
      procedure, _("Find faces and recognize their expressions"),
      _("Finds the faces in the selected layer (inside the selection, if there is one), "
        "recognizes each face's expression (neutral, happiness, surprise, sadness, anger, "
        "disgust, fear, contempt) and adds a layer group \"Facial expressions\" holding a "
        "region map (how much each part of the face counted, as a heat map) and the faces' "
        "boxes with their labels. The layer itself is not changed, and one undo removes "
        "everything. Returns the number of faces and the results as JSON, which are also "
        "stored on the image as the parasite \"lnlfer-results\"."),
      name);
  gimp_procedure_set_attribution(procedure, "lnlfer authors", "lnlfer authors", "2026");
  lnlfer_add_arguments(procedure);
  return procedure;
}

static void lnlfer_add_arguments(GimpProcedure *procedure) {
  gimp_procedure_add_double_argument(procedure, "threshold", _("Detection _threshold"),
                                     _("Minimum confidence of the face detector (0 to 1)"), 0.0,
                                     1.0, LNLFER_DEFAULT_THRESHOLD, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument(procedure, "min-face-size", _("Mi_nimum face size"),
                                  _("Faces narrower than this many pixels are ignored"), 0, 100000,
                                  LNLFER_DEFAULT_MIN_FACE_SIZE, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument(procedure, "max-faces", _("Ma_ximum faces"),
                                  _("Analyze at most this many faces, the most confident first"), 1,
                                  1000, LNLFER_DEFAULT_MAX_FACES, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument(procedure, "region-map", _("Re_gion map"),
                                      _("Add a layer showing how much each region of each face "
                                        "counted, as a heat map"),
                                      TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument(procedure, "boxes", _("_Boxes and labels"),
                                      _("Add a layer with each face's box and label"), TRUE,
                                      G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument(
      procedure, "label-content", _("Lab_el content"), _("What the labels say"),
      gimp_choice_new_with_values("top-class", LNLR_LABELS_TOP, _("Top class"), NULL, "top-3",
                                  LNLR_LABELS_TOP3, _("Top 3 with probabilities"), NULL, "none",
                                  LNLR_LABELS_NONE, _("Boxes only"), NULL, NULL),
      "top-class", G_PARAM_READWRITE);
  gimp_procedure_add_double_argument(procedure, "opacity", _("Region-map o_pacity"),
                                     _("Opacity of the region-map layer (0 to 100)"), 0.0, 100.0,
                                     60.0, G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument(
      procedure, "colormap", _("Color _map"), _("Colors of the region map, low to high"),
      gimp_choice_new_with_values(
          "turbo", LNLR_CMAP_TURBO, _("Turbo (blue to red)"), NULL, "inferno", LNLR_CMAP_INFERNO,
          _("Inferno (black to yellow)"), NULL, "viridis", LNLR_CMAP_VIRIDIS,
          _("Viridis (purple to yellow)"), NULL, "grey", LNLR_CMAP_GREY, _("Gray"), NULL, NULL),
      "turbo", G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument(procedure, "select-faces", _("Select the _faces"),
                                      _("Replace the selection with the faces' boxes"), FALSE,
                                      G_PARAM_READWRITE);

  /* Last, so that scripts passing the arguments in order keep working. */
  gimp_procedure_add_boolean_argument(procedure, "text-labels",
                                      _("Labels as editable text _layers"),
                                      _("Write each face's label as a GIMP text layer in the "
                                        "layer group, which can be edited, instead of drawing "
                                        "it into the boxes layer"),
                                      FALSE, G_PARAM_READWRITE);

  gimp_procedure_add_int_return_value(procedure, "n-faces", _("Faces"), _("Number of faces found"),
                                      0, G_MAXINT, 0, G_PARAM_READWRITE);
  gimp_procedure_add_string_return_value(procedure, "results", _("Results"),
                                         _("Boxes, landmarks, probabilities and region weights "
                                           "of every face, as JSON"),
                                         NULL, G_PARAM_READWRITE);
  lnlfer_add_result_values(procedure);
}

/* ---- Running --------------------------------------------------------------- */

/* GIMP's progress bar: the step's name and the fraction done. Cancelling there ends the
 * plug-in (GIMP's doing); as the image is only changed after the analysis, in one undo
 * group, it is then left as it was. */
static gboolean show_progress(lnl_stage stage, double fraction, const char *what, gpointer data) {
  if (what) gimp_progress_set_text(what);
  gimp_progress_update(fraction);
  return TRUE;
}

static GimpValueArray *fail(GimpProcedure *procedure, GimpPDBStatusType status, GError *error) {
  return gimp_procedure_new_return_values(procedure, status, error);
}

static GimpValueArray *lnlfer_run(GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
                                  GimpDrawable **drawables, GimpProcedureConfig *config,
                                  gpointer run_data) {
  GError *error = NULL;
  LnlferEngine engine;
  LnlferAnalysis *analysis = NULL;
  LnlferSettings settings;

  gegl_init(NULL, NULL);
  /* The layer's tiles come from GIMP into this process's GEGL cache, which GIMP sizes like
   * its own (half the memory by default); reading a huge layer once, in strips, needs
   * little of it, so bound it: the plug-in's memory then stays bounded too. */
  g_object_set(gegl_config(), "tile-cache-size", (guint64)PLUGIN_TILE_CACHE_MB << 20, NULL);
  if (gimp_core_object_array_get_length((GObject **)drawables) != 1) {
    g_set_error(&error, GIMP_PLUG_IN_ERROR, 0, _("Procedure '%s' works with one layer."),
                PLUG_IN_PROC);
    return fail(procedure, GIMP_PDB_CALLING_ERROR, error);
  }
  GimpDrawable *drawable = drawables[0];
  if (!lnlfer_engine_open(&engine, &error)) return fail(procedure, GIMP_PDB_EXECUTION_ERROR, error);

  if (run_mode == GIMP_RUN_INTERACTIVE &&
      !lnlfer_dialog(procedure, config, drawable, &engine, &analysis)) {
    lnlfer_engine_close(&engine);
    return fail(procedure, GIMP_PDB_CANCEL, NULL);
  }
  lnlfer_settings_from_config(config, &settings);
  if (analysis && !lnlfer_settings_same_detection(&analysis->settings, &settings))
    g_clear_pointer(&analysis, lnlfer_analysis_free);
  if (!analysis) {
    gimp_progress_init(_("Finding faces"));
    analysis = lnlfer_analyze(&engine, drawable, &settings, show_progress, NULL, &error);
    gimp_progress_end();
  }
  lnlfer_engine_close(&engine);
  if (!analysis && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return fail(procedure, GIMP_PDB_CANCEL, error);
  if (!analysis) return fail(procedure, GIMP_PDB_EXECUTION_ERROR, error);

  char *json = lnlfer_results_json(analysis);
  int n = analysis->count;
  if (n > 0 && !lnlfer_annotate(image, drawable, analysis, &settings, json, &error)) {
    g_free(json);
    lnlfer_analysis_free(analysis);
    return fail(procedure, GIMP_PDB_EXECUTION_ERROR, error);
  }
  if (n == 0 && run_mode == GIMP_RUN_INTERACTIVE) gimp_message(analysis->message);
  GimpValueArray *rv = gimp_procedure_new_return_values(procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_INT(rv, 1, n);
  GIMP_VALUES_SET_STRING(rv, 2, json);
  lnlfer_set_result_values(rv, analysis);
  g_free(json);
  lnlfer_analysis_free(analysis);
  if (run_mode != GIMP_RUN_NONINTERACTIVE) gimp_displays_flush();
  return rv;
}
