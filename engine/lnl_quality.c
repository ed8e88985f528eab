/* Face quality: whether a detection looks like a human face the expression network can
 * read. The detector's score says how sure it is; the landmark fit says whether the
 * landmarks sit where the alignment template has a face's (the least-squares similarity of
 * lnl_align_transform leaves a residual, and turns or scales the face implausibly when the
 * landmarks are not a face's). */
#include <math.h>

#include "lnl_align.h"
#include "lnlfer.h"

void lnl_face_assess(const lnl_model *model, lnl_face_analysis *a) {
  const float *m = a->crop_to_image;
  const lnl_align_template *t = lnl_model_align_template(model);
  double side = a->crop_side;
  double scale = hypot(m[0], m[3]); /* image pixels per crop pixel */
  double turn = atan2(m[3], m[0]) * 180.0 / 3.14159265358979323846;
  double framing = a->face.box.w > 0 ? side * scale / a->face.box.w : 0.0;
  a->landmark_fit = -1.0f;
  a->plausible_fit = isfinite(framing) && framing >= LNL_FIT_MIN_SCALE &&
                     framing <= LNL_FIT_MAX_SCALE && fabs(turn) <= LNL_FIT_MAX_ROTATION;
  float q[LNL_ALIGN_POINTS][2];
  if (lnl_align_points(&a->face, q)) {
    double p[LNL_ALIGN_POINTS][2], sum = 0;
    for (int i = 0; i < LNL_ALIGN_POINTS; i++) {
      double u = t->points[i][0] * side, v = t->points[i][1] * side;
      p[i][0] = m[0] * u + m[1] * v + m[2];
      p[i][1] = m[3] * u + m[4] * v + m[5];
      double dx = p[i][0] - q[i][0], dy = p[i][1] - q[i][1];
      sum += dx * dx + dy * dy;
    }
    double eyes = hypot(p[1][0] - p[0][0], p[1][1] - p[0][1]);
    double fit = eyes > 0 ? sqrt(sum / LNL_ALIGN_POINTS) / eyes : INFINITY;
    a->landmark_fit = isfinite(fit) ? (float)fit : 1e6f;
    a->plausible_fit = a->plausible_fit && fit <= LNL_FIT_MAX_ERROR;
  }
  a->confident = a->plausible_fit && a->face.score >= LNL_CONFIDENT_SCORE;
}
