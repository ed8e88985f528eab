/* The analysis as JSON. */
#include "results-json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

static void map_point(const float m[6], float u, float v, float out[2]) {
  out[0] = m[0] * u + m[1] * v + m[2];
  out[1] = m[3] * u + m[4] * v + m[5];
}

/* Numbers with 4 decimals keep the parasite small and still exact enough. */
static cJSON *number(double v) { return cJSON_CreateNumber(floor(v * 1e4 + 0.5) / 1e4); }

static cJSON *numbers(const float *v, int n) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, number(v[i]));
  return a;
}

static cJSON *json_face(const LnlferAnalysis *an, const lnl_face_analysis *a) {
  const lnl_face *f = &a->face;
  const lnl_result *r = &a->expression;
  cJSON *o = cJSON_CreateObject();
  float box[4] = {f->box.x, f->box.y, f->box.w, f->box.h};
  cJSON_AddItemToObject(o, "box", numbers(box, 4));
  cJSON_AddItemToObject(o, "score", number(f->score));
  cJSON *marks = cJSON_AddArrayToObject(o, "landmarks");
  for (int k = 0; k < f->num_landmarks; k++)
    cJSON_AddItemToArray(marks, numbers(f->landmarks[k], 2));
  cJSON_AddStringToObject(o, "label", an->class_keys[r->label] ? an->class_keys[r->label] : "");
  cJSON *probs = cJSON_AddObjectToObject(o, "probabilities");
  for (int k = 0; k < an->num_classes; k++)
    cJSON_AddItemToObject(probs, an->class_keys[k], number(r->probs[k]));
  cJSON *regions = cJSON_AddArrayToObject(o, "regions");
  for (int i = 0; i < an->num_regions; i++) {
    const lnl_rect *b = &r->regions[i];
    float quad[4][2];
    map_point(a->crop_to_image, b->x, b->y, quad[0]);
    map_point(a->crop_to_image, b->x + b->w, b->y, quad[1]);
    map_point(a->crop_to_image, b->x + b->w, b->y + b->h, quad[2]);
    map_point(a->crop_to_image, b->x, b->y + b->h, quad[3]);
    cJSON *reg = cJSON_CreateObject();
    cJSON_AddItemToObject(reg, "weight", number(r->weights[i]));
    cJSON *q = cJSON_AddArrayToObject(reg, "quad");
    for (int k = 0; k < 4; k++) cJSON_AddItemToArray(q, numbers(quad[k], 2));
    cJSON_AddItemToArray(regions, reg);
  }
  return o;
}

char *lnlfer_results_json(const LnlferAnalysis *an) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "version", LNLFER_VERSION);
  cJSON *img = cJSON_AddObjectToObject(o, "image");
  cJSON_AddNumberToObject(img, "width", an->image_width);
  cJSON_AddNumberToObject(img, "height", an->image_height);
  const float area[4] = {(float)an->area.x, (float)an->area.y, (float)an->area.width,
                         (float)an->area.height};
  cJSON_AddItemToObject(o, "area", numbers(area, 4));
  cJSON *s = cJSON_AddObjectToObject(o, "settings");
  cJSON_AddItemToObject(s, "threshold", number(an->settings.threshold));
  cJSON_AddNumberToObject(s, "min_face_size", an->settings.min_face_size);
  cJSON_AddNumberToObject(s, "max_faces", an->settings.max_faces);
  cJSON *classes = cJSON_AddArrayToObject(o, "classes");
  for (int k = 0; k < an->num_classes; k++)
    cJSON_AddItemToArray(classes, cJSON_CreateString(an->class_keys[k]));
  if (an->message) cJSON_AddStringToObject(o, "message", an->message);
  cJSON *faces = cJSON_AddArrayToObject(o, "faces");
  for (int i = 0; i < an->count; i++) cJSON_AddItemToArray(faces, json_face(an, &an->faces[i]));
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  char *copy = g_strdup(text ? text : "{}");
  free(text);
  return copy;
}
