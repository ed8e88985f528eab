/* Re-cutting an already-cut face the way aligned training cut its faces
 * (tools/train/landmarks.py and data.py, recipe crop "aligned"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lnl_align.h"
#include "lnl_error.h"
#include "lnl_resample.h"
#include "lnlfer.h"

/* As landmarks.py: the crop's longer side scaled to 0.4 of a grey canvas of the
 * detector's usual input size, in its middle, so that one network pass finds it. */
#define CANVAS 256
#define FACE 102
#define GREY 128

/* The re-cut is a square of the crop's longer side, at most this many pixels: it only
 * feeds a network of a few dozen pixels, and a square of a long, thin crop's longer side
 * (20000 x 10 pixels: 1.2 GB) would be work and memory for nothing. */
#define MAX_RECUT_SIDE 1024

/* The crop drawn into the canvas; writes where its top-left corner and each crop pixel
 * went (canvas pixels per crop pixel). */
static lnl_status draw_canvas(const lnl_image *crop, uint8_t *canvas, double *x0, double *y0,
                              double *scale, lnl_error *err) {
  int longer = crop->width > crop->height ? crop->width : crop->height;
  *scale = (double)FACE / longer;
  int w = (int)lround(crop->width * *scale), h = (int)lround(crop->height * *scale);
  if (w < 1) w = 1;
  if (h < 1) h = 1;
  float *planes = malloc(sizeof(float) * 3 * (size_t)w * (size_t)h);
  if (!planes) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory re-cutting a face");
  lnl_window win = {0, 0, (double)crop->width / w, (double)crop->height / h, w, h};
  lnl_status s = lnl_resample(crop, &win, 0, planes, err);
  memset(canvas, GREY, (size_t)CANVAS * CANVAS * 3);
  int ox = (CANVAS - w) / 2, oy = (CANVAS - h) / 2;
  for (int y = 0; !s && y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        float v = planes[((size_t)c * h + y) * w + x];
        canvas[((size_t)(oy + y) * CANVAS + ox + x) * 3 + c] = (uint8_t)(v < 0     ? 0
                                                                         : v > 255 ? 255
                                                                                   : lroundf(v));
      }
  free(planes);
  *x0 = ox, *y0 = oy;
  return s;
}

/* Whether the alignment m (re-cut pixels -> crop pixels, side x side) frames the crop about
 * as the assumed framing ref does (assumed_framing): scale 0.65-1.5 times, rotation within
 * 40 degrees, the centre within 0.2 of the side. The same bounds as tools/train/data.py puts
 * around each data set's median framing; a fit outside them is mostly a detection on part
 * of the face, and the crop is then better cut along the assumed framing. */
static int plausible(const float m[6], const float ref[6], int side) {
  const double pi = 3.14159265358979323846, max_angle = 40.0 * pi / 180.0;
  double scale = hypot(m[0], m[3]) / hypot(ref[0], ref[3]);
  double angle = remainder(atan2(m[3], m[0]) - atan2(ref[3], ref[0]), 2 * pi);
  double cx = (m[0] - ref[0]) * side / 2.0 + (m[1] - ref[1]) * side / 2.0 + m[2] - ref[2],
         cy = (m[3] - ref[3]) * side / 2.0 + (m[4] - ref[4]) * side / 2.0 + m[5] - ref[5];
  return scale >= 0.65 && scale <= 1.5 && fabs(angle) <= max_angle && hypot(cx, cy) <= 0.2 * side;
}

/* Without a usable landmark fit, the crop is taken to be framed like the average training
 * crop (the square of its longer side, centred, with the landmarks where the FER+/RAF-DB
 * mix template has them) and re-cut from that framing to the network's template: the crop
 * as it is for weights aligned to the mix, a little tighter for weights aligned to the
 * tighter RAF-DB framing (as the trainer cuts such a face along its data set's median). */
static void assumed_framing(const lnl_image *crop, const lnl_align_template *t, int side,
                            float m[6]) {
  lnl_face f;
  memset(&f, 0, sizeof f);
  f.num_landmarks = LNL_ALIGN_POINTS;
  float left = (crop->width - side) / 2.0f, top = (crop->height - side) / 2.0f;
  for (int i = 0; i < LNL_ALIGN_POINTS; i++) {
    f.landmarks[i][0] = left + LNL_DEFAULT_TEMPLATE.points[i][0] * side;
    f.landmarks[i][1] = top + LNL_DEFAULT_TEMPLATE.points[i][1] * side;
  }
  lnl_align_transform(&f, t, side, m);
}

lnl_status lnl_align_face_crop(const lnl_model *model, const lnl_detector *det,
                               const lnl_image *crop, uint8_t **rgb, int *side, int *found,
                               lnl_error *err) {
  if (!model || !det || !rgb || !side || !found)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "lnl_align_face_crop: bad arguments");
  *rgb = NULL;
  *side = 0;
  *found = 0;
  lnl_status s = lnl_check_image(crop, err);
  if (s) return s;
  uint8_t *canvas = malloc((size_t)CANVAS * CANVAS * 3);
  if (!canvas) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory re-cutting a face");
  double x0 = 0, y0 = 0, scale = 1;
  lnl_face *faces = NULL;
  int n = 0;
  s = draw_canvas(crop, canvas, &x0, &y0, &scale, err);
  if (!s) {
    lnl_detect_options opt;
    lnl_detect_options_init(det, &opt);
    opt.max_faces = 1;
    lnl_image view = {canvas, CANVAS, CANVAS, (size_t)CANVAS * 3};
    s = lnl_detect(det, &view, &opt, &faces, &n, err);
  }
  free(canvas);
  int longer = crop->width > crop->height ? crop->width : crop->height;
  int out_side = longer < MAX_RECUT_SIDE ? longer : MAX_RECUT_SIDE;
  uint8_t *out = s ? NULL : malloc((size_t)out_side * out_side * 3);
  if (!s && !out) s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory re-cutting a face");
  if (!s) {
    /* the geometry in a square of the longer side, then scaled to out_side */
    const lnl_align_template *t = lnl_model_align_template(model);
    float m[6], ref[6];
    assumed_framing(crop, t, longer, ref);
    if (n > 0 && faces[0].num_landmarks >= LNL_ALIGN_POINTS) {
      lnl_face f = faces[0]; /* landmarks back to crop pixels */
      for (int i = 0; i < f.num_landmarks; i++) {
        f.landmarks[i][0] = (float)((f.landmarks[i][0] - x0) / scale);
        f.landmarks[i][1] = (float)((f.landmarks[i][1] - y0) / scale);
      }
      lnl_align_transform(&f, t, longer, m);
      *found = plausible(m, ref, longer);
    }
    if (!*found) memcpy(m, ref, sizeof m);
    float shrink = (float)longer / (float)out_side; /* crop pixels per re-cut pixel */
    m[0] *= shrink, m[1] *= shrink, m[3] *= shrink, m[4] *= shrink;
    lnl_align_crop(crop, m, out_side, out);
    *rgb = out;
    *side = out_side;
  }
  free(faces);
  return s;
}
