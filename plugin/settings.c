/* The procedure's settings, the class labels and the legend's texts. */
#include "settings.h"

#include <string.h>

void lnlfer_settings_from_config(GimpProcedureConfig *config, LnlferSettings *s) {
  memset(s, 0, sizeof *s);
  g_object_get(config, "threshold", &s->threshold, "min-face-size", &s->min_face_size, "max-faces",
               &s->max_faces, "region-map", &s->region_map, "boxes", &s->boxes, "text-labels",
               &s->text_labels, "opacity", &s->opacity, "select-faces", &s->select_faces, NULL);
  s->labels = (lnlr_labels)gimp_procedure_config_get_choice_id(config, "label-content");
  s->colormap = (lnlr_colormap)gimp_procedure_config_get_choice_id(config, "colormap");
}

gboolean lnlfer_settings_same_detection(const LnlferSettings *a, const LnlferSettings *b) {
  return a->threshold == b->threshold && a->min_face_size == b->min_face_size &&
         a->max_faces == b->max_faces;
}

const char *lnlfer_class_label(const char *key) {
  static const char *const known[] = {N_("neutral"), N_("happiness"), N_("surprise"),
                                      N_("sadness"), N_("anger"),     N_("disgust"),
                                      N_("fear"),    N_("contempt")};
  for (size_t i = 0; key && i < G_N_ELEMENTS(known); i++)
    if (strcmp(key, known[i]) == 0) return _(known[i]);
  return key;
}

lnlr_legend_text lnlfer_legend_text(void) {
  /* TRANSLATORS: the legend of the region map: how much each face region counted. */
  return (lnlr_legend_text){_("Region weight"), _("low"), _("high")};
}
