/* lnlfer GIMP 3 plug-in: its names, the procedure's settings, the class labels and the
 * legend's texts, shared by its modules (settings.c). */
#ifndef LNLFER_SETTINGS_H
#define LNLFER_SETTINGS_H

#include <glib/gi18n.h>
#include <libgimp/gimp.h>

#include "lnlfer-render.h"
#include "lnlfer.h"

#define PLUG_IN_PROC "plug-in-lnlfer"
#define PLUG_IN_BINARY "lnlfer" /* executable name == install folder == gettext domain */
#define PLUG_IN_ROLE "lnlfer"
#define RESULTS_PARASITE "lnlfer-results"

/* The procedure's arguments, read from a GimpProcedureConfig. */
typedef struct LnlferSettings {
  /* detection: changing these means analysing again */
  double threshold;
  int min_face_size;
  int max_faces;
  /* display: changing these means drawing again */
  gboolean region_map;
  gboolean boxes;
  gboolean text_labels; /* labels as editable text layers, not drawn into the boxes layer */
  gboolean select_faces;
  double opacity; /* region-map layer opacity, 0..100 */
  lnlr_colormap colormap;
  lnlr_labels labels;
} LnlferSettings;

void lnlfer_settings_from_config(GimpProcedureConfig *config, LnlferSettings *s);
gboolean lnlfer_settings_same_detection(const LnlferSettings *a, const LnlferSettings *b);

/* The class name to show for a model class name (translated when it is a known one). */
const char *lnlfer_class_label(const char *key);

/* The legend's translated texts. */
lnlr_legend_text lnlfer_legend_text(void);

#endif
