#include "lnl_align.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "lnl_bilinear.h"
#include "lnl_error.h"

const lnl_align_template LNL_DEFAULT_TEMPLATE = {
    {{0.3003f, 0.3752f}, {0.6908f, 0.3686f}, {0.494f, 0.588f}, {0.5008f, 0.7797f}}};

int lnl_align_template_parse(const char *json, lnl_align_template *t) {
  cJSON *root = json ? cJSON_ParseWithOpts(json, NULL, 1) : NULL;
  const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(root, "template");
  const cJSON *pts = cJSON_GetObjectItemCaseSensitive(tpl, "points");
  int ok = cJSON_IsArray(pts) && cJSON_GetArraySize(pts) == LNL_ALIGN_POINTS;
  for (int i = 0; ok && i < LNL_ALIGN_POINTS; i++) {
    const cJSON *p = cJSON_GetArrayItem(pts, i);
    for (int k = 0; ok && k < 2; k++) {
      const cJSON *v = cJSON_GetArrayItem(p, k);
      ok = cJSON_IsArray(p) && cJSON_GetArraySize(p) == 2 && cJSON_IsNumber(v) &&
           v->valuedouble >= 0.0 && v->valuedouble <= 1.0;
      if (ok) t->points[i][k] = (float)v->valuedouble;
    }
  }
  cJSON_Delete(root);
  return ok;
}

int lnl_align_points(const lnl_face *face, float points[LNL_ALIGN_POINTS][2]) {
  if (face->num_landmarks < LNL_ALIGN_POINTS) return 0;
  for (int i = 0; i < LNL_ALIGN_POINTS; i++)
    for (int c = 0; c < 2; c++) points[i][c] = face->landmarks[i][c];
  if (face->num_landmarks == LNL_YUNET_LANDMARKS)
    for (int c = 0; c < 2; c++)
      points[3][c] = 0.5f * (face->landmarks[3][c] + face->landmarks[4][c]);
  return 1;
}

void lnl_align_transform(const lnl_face *face, const lnl_align_template *t, int side, float m[6]) {
  float q[LNL_ALIGN_POINTS][2];
  if (!lnl_align_points(face, q)) {
    /* no landmarks: upright square on the box, the box filling the template's face */
    float s = fmaxf(face->box.w, face->box.h) / (float)side;
    m[0] = s, m[1] = 0, m[2] = face->box.x + face->box.w / 2 - s * side / 2;
    m[3] = 0, m[4] = s, m[5] = face->box.y + face->box.h / 2 - s * side / 2;
    return;
  }
  double pu = 0, pv = 0, qx = 0, qy = 0;
  for (int i = 0; i < LNL_ALIGN_POINTS; i++) {
    pu += t->points[i][0] * side, pv += t->points[i][1] * side;
    qx += q[i][0], qy += q[i][1];
  }
  pu /= LNL_ALIGN_POINTS, pv /= LNL_ALIGN_POINTS, qx /= LNL_ALIGN_POINTS, qy /= LNL_ALIGN_POINTS;
  double num_a = 0, num_b = 0, den = 0;
  for (int i = 0; i < LNL_ALIGN_POINTS; i++) {
    double u = t->points[i][0] * side - pu, v = t->points[i][1] * side - pv;
    double x = q[i][0] - qx, y = q[i][1] - qy;
    num_a += u * x + v * y;
    num_b += u * y - v * x;
    den += u * u + v * v;
  }
  double a = den > 0 ? num_a / den : 1.0, b = den > 0 ? num_b / den : 0.0;
  m[0] = (float)a, m[1] = (float)-b, m[2] = (float)(qx - (a * pu - b * pv));
  m[3] = (float)b, m[4] = (float)a, m[5] = (float)(qy - (b * pu + a * pv));
}

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* v clamped to [0, hi]; NaN gives 0 (a transform of any values never indexes outside). */
static float clamp_coordinate(float v, float hi) { return v >= 0.0f ? (v <= hi ? v : hi) : 0.0f; }

/* Bilinear sample of channel c at (x, y), pixel centres at +0.5, edges repeated. */
static float bilinear(const lnl_image *img, float x, float y, int c) {
  int x0, x1, y0, y1;
  float fx, fy;
  lnl_bilinear_axis(clamp_coordinate(x - 0.5f, (float)img->width - 1.0f), img->width, &x0, &x1,
                    &fx);
  lnl_bilinear_axis(clamp_coordinate(y - 0.5f, (float)img->height - 1.0f), img->height, &y0, &y1,
                    &fy);
  const uint8_t *r0 = img->pixels + (size_t)y0 * img->stride,
                *r1 = img->pixels + (size_t)y1 * img->stride;
  return lnl_bilinear_mix(r0[x0 * 3 + c], r0[x1 * 3 + c], r1[x0 * 3 + c], r1[x1 * 3 + c], fx, fy);
}

void lnl_align_crop(const lnl_image *img, const float m[6], int side, uint8_t *out) {
  float scale = sqrtf(m[0] * m[0] + m[3] * m[3]); /* image pixels per crop pixel */
  int n = scale > 1.0f ? (scale < 8.0f ? (int)ceilf(scale) : 8) : 1; /* NaN: 1 */
  for (int v = 0; v < side; v++) {
    for (int u = 0; u < side; u++) {
      float acc[3] = {0, 0, 0};
      for (int sy = 0; sy < n; sy++) {
        for (int sx = 0; sx < n; sx++) {
          float cu = u + (sx + 0.5f) / n, cv = v + (sy + 0.5f) / n;
          float x = m[0] * cu + m[1] * cv + m[2], y = m[3] * cu + m[4] * cv + m[5];
          for (int c = 0; c < 3; c++) acc[c] += bilinear(img, x, y, c);
        }
      }
      uint8_t *p = out + ((size_t)v * side + u) * 3;
      for (int c = 0; c < 3; c++) p[c] = (uint8_t)clampf(acc[c] / (float)(n * n) + 0.5f, 0, 255);
    }
  }
}

static int all_finite(const float *v, int n) {
  for (int i = 0; i < n; i++)
    if (!isfinite(v[i])) return 0;
  return 1;
}

lnl_status lnl_align_face(const lnl_image *img, const lnl_face *face, const lnl_align_template *t,
                          int side, uint8_t *rgb, float m[6], lnl_error *err) {
  if (face->num_landmarks < 0 || face->num_landmarks > LNL_MAX_LANDMARKS)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "a face has %d landmarks (0 to %d allowed)",
                    face->num_landmarks, LNL_MAX_LANDMARKS);
  float box[4] = {face->box.x, face->box.y, face->box.w, face->box.h};
  if (!all_finite(box, 4) || !all_finite(&face->landmarks[0][0], 2 * face->num_landmarks))
    return lnl_fail(err, LNL_ERR_ARGUMENT, "a face's box or landmarks are not finite numbers");
  lnl_align_transform(face, t, side, m);
  if (!all_finite(m, 6))
    return lnl_fail(err, LNL_ERR_ARGUMENT, "a face's box or landmarks are too large to align");
  lnl_align_crop(img, m, side, rgb);
  return LNL_OK;
}
