/* The JSON of one face, shared by the command line and the GIMP plug-in. */
#include "lnlfer-json.h"

#include <math.h>

cJSON *lnlj_number(double v, int decimals) {
  if (decimals < 0) return cJSON_CreateNumber(v);
  double f = pow(10.0, decimals);
  return cJSON_CreateNumber(floor(v * f + 0.5) / f);
}

cJSON *lnlj_numbers(const float *v, int n, int decimals) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, lnlj_number(v[i], decimals));
  return a;
}

cJSON *lnlj_detection(const lnl_face *f, int decimals) {
  cJSON *o = cJSON_CreateObject();
  const float box[4] = {f->box.x, f->box.y, f->box.w, f->box.h};
  cJSON_AddItemToObject(o, "box", lnlj_numbers(box, 4, decimals));
  cJSON_AddItemToObject(o, "score", lnlj_number(f->score, decimals));
  cJSON *marks = cJSON_AddArrayToObject(o, "landmarks");
  for (int k = 0; k < f->num_landmarks; k++)
    cJSON_AddItemToArray(marks, lnlj_numbers(f->landmarks[k], 2, decimals));
  return o;
}

static void map_point(const float m[6], float u, float v, float out[2]) {
  out[0] = m[0] * u + m[1] * v + m[2];
  out[1] = m[3] * u + m[4] * v + m[5];
}

void lnlj_add_expression(cJSON *o, const lnl_result *r, int num_classes,
                         const char *const *class_keys, int decimals) {
  const char *label = r->label >= 0 && r->label < num_classes ? class_keys[r->label] : NULL;
  cJSON_AddStringToObject(o, "label", label ? label : "");
  cJSON *probs = cJSON_AddObjectToObject(o, "probabilities");
  for (int k = 0; k < num_classes; k++)
    cJSON_AddItemToObject(probs, class_keys[k], lnlj_number(r->probs[k], decimals));
}

cJSON *lnlj_face(const lnl_face_analysis *a, int num_classes, const char *const *class_keys,
                 int num_regions, int decimals) {
  const lnl_result *r = &a->expression;
  cJSON *o = lnlj_detection(&a->face, decimals);
  if (a->landmark_fit >= 0)
    cJSON_AddItemToObject(o, "landmark_fit", lnlj_number(a->landmark_fit, decimals));
  else
    cJSON_AddNullToObject(o, "landmark_fit");
  cJSON_AddBoolToObject(o, "plausible_fit", a->plausible_fit);
  cJSON_AddBoolToObject(o, "confident", a->confident);
  lnlj_add_expression(o, r, num_classes, class_keys, decimals);
  cJSON *regions = cJSON_AddArrayToObject(o, "regions");
  for (int i = 0; i < num_regions; i++) {
    const lnl_rect *b = &r->regions[i];
    float quad[4][2];
    map_point(a->crop_to_image, b->x, b->y, quad[0]);
    map_point(a->crop_to_image, b->x + b->w, b->y, quad[1]);
    map_point(a->crop_to_image, b->x + b->w, b->y + b->h, quad[2]);
    map_point(a->crop_to_image, b->x, b->y + b->h, quad[3]);
    cJSON *reg = cJSON_CreateObject();
    cJSON_AddItemToObject(reg, "weight", lnlj_number(r->weights[i], decimals));
    cJSON *q = cJSON_AddArrayToObject(reg, "quad");
    for (int k = 0; k < 4; k++) cJSON_AddItemToArray(q, lnlj_numbers(quad[k], 2, decimals));
    cJSON_AddItemToArray(regions, reg);
  }
  return o;
}
