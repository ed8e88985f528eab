/* The analysis as JSON. */
#include "results-json.h"

#include <stdlib.h>

#include "lnlfer-json.h"

/* Numbers with 4 decimals keep the parasite small and still exact enough. */
#define DECIMALS 4

char *lnlfer_results_json(const LnlferAnalysis *an) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "version", LNLFER_VERSION);
  cJSON *img = cJSON_AddObjectToObject(o, "image");
  cJSON_AddNumberToObject(img, "width", an->image_width);
  cJSON_AddNumberToObject(img, "height", an->image_height);
  const float area[4] = {(float)an->area.x, (float)an->area.y, (float)an->area.width,
                         (float)an->area.height};
  cJSON_AddItemToObject(o, "area", lnlj_numbers(area, 4, DECIMALS));
  cJSON *s = cJSON_AddObjectToObject(o, "settings");
  cJSON_AddItemToObject(s, "threshold", lnlj_number(an->settings.threshold, DECIMALS));
  cJSON_AddNumberToObject(s, "min_face_size", an->settings.min_face_size);
  cJSON_AddNumberToObject(s, "max_faces", an->settings.max_faces);
  cJSON *classes = cJSON_AddArrayToObject(o, "classes");
  for (int k = 0; k < an->num_classes; k++)
    cJSON_AddItemToArray(classes, cJSON_CreateString(an->class_keys[k]));
  if (an->message) cJSON_AddStringToObject(o, "message", an->message);
  cJSON *faces = cJSON_AddArrayToObject(o, "faces");
  for (int i = 0; i < an->count; i++)
    cJSON_AddItemToArray(faces,
                         lnlj_face(&an->faces[i], an->num_classes,
                                   (const char *const *)an->class_keys, an->num_regions, DECIMALS));
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  char *copy = g_strdup(text ? text : "{}");
  free(text);
  return copy;
}
