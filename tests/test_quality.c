/* Face quality (lnl_face_assess): landmarks exactly where the alignment template puts them
 * fit (fit 0, plausible, confident at a high score); a low score, a landmark far from its
 * place, a face turned too far or framed unlike its box are not confident; a face without
 * landmarks is judged by its score and framing.
 * usage: test_quality WEIGHTS */
#include <math.h>
#include <string.h>

#include "check.h"
#include "lnl_align.h"
#include "lnlfer.h"

/* A face whose landmarks are the template mapped by the similarity (scale k image pixels per
 * crop pixel, turned by `deg`, crop origin at (ox, oy)), its box framing it as a crop does. */
static lnl_face_analysis make(const lnl_model *model, double k, double deg, float score) {
  const lnl_align_template *t = lnl_model_align_template(model);
  int side = lnl_model_crop_side(model);
  double c = k * cos(deg * 3.14159265358979 / 180), s = k * sin(deg * 3.14159265358979 / 180);
  lnl_face_analysis a;
  memset(&a, 0, sizeof a);
  a.face.score = score;
  a.face.num_landmarks = 6;
  for (int i = 0; i < LNL_ALIGN_POINTS; i++) {
    double u = t->points[i][0] * side, v = t->points[i][1] * side;
    a.face.landmarks[i][0] = (float)(c * u - s * v + 200);
    a.face.landmarks[i][1] = (float)(s * u + c * v + 150);
  }
  a.face.box = (lnl_rect){200, 150, (float)(k * side), (float)(1.2 * k * side)};
  a.crop_side = side;
  lnl_align_transform(&a.face, t, side, a.crop_to_image);
  return a;
}

static void assess(const lnl_model *model, lnl_face_analysis *a) {
  lnl_align_transform(&a->face, lnl_model_align_template(model), a->crop_side, a->crop_to_image);
  lnl_face_assess(model, a);
}

int main(int argc, char **argv) {
  lnl_model *model = NULL;
  lnl_error err = {0};
  if (argc < 2 || lnl_model_open(argv[1], &model, &err) != LNL_OK) {
    fprintf(stderr, "usage: test_quality WEIGHTS (%s)\n", err.message);
    return 1;
  }
  lnl_face_analysis a = make(model, 1.5, 10, 0.9f);
  assess(model, &a);
  CHECK_MSG(a.landmark_fit >= 0 && a.landmark_fit < 1e-3, "fit %g", a.landmark_fit);
  CHECK(a.plausible_fit && a.confident);

  a = make(model, 1.5, 10, 0.6f); /* a low detector score */
  assess(model, &a);
  CHECK(a.plausible_fit && !a.confident);
  a = make(model, 1.5, 10, LNL_CONFIDENT_SCORE); /* the threshold itself is confident */
  assess(model, &a);
  CHECK(a.confident);

  a = make(model, 1.5, 0, 0.95f); /* the mouth 2 eye distances below its place */
  const lnl_align_template *t = lnl_model_align_template(model);
  double eyes = 1.5 * lnl_model_crop_side(model) * (t->points[1][0] - t->points[0][0]);
  a.face.landmarks[3][1] += (float)(2.0 * eyes);
  assess(model, &a);
  CHECK_MSG(a.landmark_fit > LNL_FIT_MAX_ERROR, "fit %g", a.landmark_fit);
  CHECK(!a.plausible_fit && !a.confident);

  a = make(model, 1.5, 80, 0.95f); /* turned 80 degrees */
  assess(model, &a);
  CHECK(a.landmark_fit < 1e-3 && !a.plausible_fit && !a.confident);

  a = make(model, 1.5, 0, 0.95f); /* landmarks of a face half as wide as its box */
  a.face.box.w *= 2;
  assess(model, &a);
  CHECK(!a.plausible_fit && !a.confident);

  a = make(model, 1.5, 0, 0.95f); /* no landmarks: score and framing only */
  a.face.num_landmarks = 0;
  a.face.box.h = a.face.box.w;
  assess(model, &a);
  CHECK(a.landmark_fit == -1.0f && a.plausible_fit && a.confident);
  a.face.score = 0.5f;
  assess(model, &a);
  CHECK(!a.confident);

  lnl_model_close(model);
  printf("quality: %s\n", check_failures ? "FAILED" : "ok");
  return check_failures ? 1 : 0;
}
