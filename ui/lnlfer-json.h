/* lnlfer-json: the JSON of one face (detection, expression, regions), shared by the
 * command line (`detect`, `analyze`, `annotate`) and the GIMP plug-in (return value and
 * parasite), so that both describe a face the same way. Plain C with cJSON; no GLib. */
#ifndef LNLFER_JSON_H
#define LNLFER_JSON_H

#include <cjson/cJSON.h>

#include "lnlfer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A number rounded to `decimals` places (e.g. 4 keeps the GIMP parasite small), or with
 * every digit of the float when decimals < 0. */
cJSON *lnlj_number(double v, int decimals);
cJSON *lnlj_numbers(const float *v, int n, int decimals);

/* {"box": [x, y, w, h], "score", "landmarks": [[x, y], ...]}: a detection, in the
 * coordinates the face is given in. */
cJSON *lnlj_detection(const lnl_face *face, int decimals);

/* Adds "label" and "probabilities": {class: p} of `r` to `o` (classes named by class_keys). */
void lnlj_add_expression(cJSON *o, const lnl_result *r, int num_classes,
                         const char *const *class_keys, int decimals);

/* The detection's fields, the face quality ("landmark_fit": number or null without
 * landmarks, "plausible_fit" and "confident": booleans; lnl_face_assess), then "label",
 * "probabilities": {class: p} (classes named by class_keys) and "regions": [{"weight", "quad": [[x,
 * y] x 4]}], each region's corners mapped into the image by the face's crop-to-image transform
 * (clockwise from the region's top-left corner in the crop). */
cJSON *lnlj_face(const lnl_face_analysis *face, int num_classes, const char *const *class_keys,
                 int num_regions, int decimals);

#ifdef __cplusplus
}
#endif

#endif
