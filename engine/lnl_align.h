/* Face alignment: a similarity transform that puts the detector's landmarks where
 * the expression network's training crops have them, and the antialiased crop. */
#ifndef LNL_ALIGN_H
#define LNL_ALIGN_H

#include "lnlfer.h"

#define LNL_ALIGN_POINTS 4 /* right eye, left eye, nose tip, mouth */

/* Template: landmark positions as fractions of the square crop side. */
typedef struct lnl_align_template {
  float points[LNL_ALIGN_POINTS][2];
} lnl_align_template;

/* The template measured on the training data (tools/detector/measure_template.py),
 * used when a weights file carries none. */
extern const lnl_align_template LNL_DEFAULT_TEMPLATE;

/* The model's template (its "lnl.align" metadata, else the default). */
const lnl_align_template *lnl_model_align_template(const lnl_model *model);

/* Parses {"template": {"points": [[x, y] x 4]}}; 0 when the text is not such JSON. */
int lnl_align_template_parse(const char *json, lnl_align_template *t);

/* The face's four alignment points (right eye, left eye, nose tip, mouth centre) from its
 * landmarks: BlazeFace's first four (6 landmarks, or any other count of at least 4), or
 * from YuNet's five (LNL_YUNET_LANDMARKS: the mouth centre is the mean of the two
 * corners). Returns 0 when the face has fewer than four landmarks. */
int lnl_align_points(const lnl_face *face, float points[LNL_ALIGN_POINTS][2]);

/* Least-squares similarity mapping crop pixels (side x side) to image pixels:
 * x = m[0] u + m[1] v + m[2], y = m[3] u + m[4] v + m[5]. Faces without the four
 * landmarks get an upright square around their box. */
void lnl_align_transform(const lnl_face *face, const lnl_align_template *t, int side, float m[6]);

/* Samples the crop (side x side RGB, tightly packed) through m, averaging several
 * bilinear samples per pixel when the crop is smaller than the face (antialiasing);
 * outside the image the nearest edge pixel is repeated. */
void lnl_align_crop(const lnl_image *img, const float m[6], int side, uint8_t *out);

/* The transform and the crop of one face, refused (LNL_ERR_ARGUMENT) when the face's box
 * or landmarks are not finite or so large that the transform overflows; any finite face,
 * however far outside the image, degenerate or huge, gives a crop of repeated edges. */
lnl_status lnl_align_face(const lnl_image *img, const lnl_face *face, const lnl_align_template *t,
                          int side, uint8_t *rgb, float m[6], lnl_error *err);

#endif
