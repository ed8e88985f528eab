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
 * as a face crop is framed: scale 0.65-1.5, rotation within 40 degrees, the centre within
 * 0.2 of the side of the crop's own centre. The same bounds as tools/train/data.py puts
 * around each data set's median framing; a fit outside them is mostly a detection on part
 * of the face, and the crop is then better used as it is. */
static int plausible(const float m[6], int side, int width, int height) {
  const double max_angle = 40.0 * 3.14159265358979323846 / 180.0;
  double scale = hypot(m[0], m[3]), angle = atan2(m[3], m[0]);
  double cx = m[0] * side / 2.0 + m[1] * side / 2.0 + m[2] - width / 2.0,
         cy = m[3] * side / 2.0 + m[4] * side / 2.0 + m[5] - height / 2.0;
  return scale >= 0.65 && scale <= 1.5 && fabs(angle) <= max_angle && hypot(cx, cy) <= 0.2 * side;
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
  int out_side = crop->width > crop->height ? crop->width : crop->height;
  uint8_t *out = s ? NULL : malloc((size_t)out_side * out_side * 3);
  if (!s && !out) s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory re-cutting a face");
  if (!s) {
    const lnl_align_template *t = lnl_model_align_template(model);
    float m[6];
    if (n > 0 && faces[0].num_landmarks >= LNL_ALIGN_POINTS) {
      lnl_face f = faces[0]; /* landmarks back to crop pixels */
      for (int i = 0; i < f.num_landmarks; i++) {
        f.landmarks[i][0] = (float)((f.landmarks[i][0] - x0) / scale);
        f.landmarks[i][1] = (float)((f.landmarks[i][1] - y0) / scale);
      }
      lnl_align_transform(&f, t, out_side, m);
      *found = plausible(m, out_side, crop->width, crop->height);
    }
    if (!*found) { /* the crop as it is, on a square of its longer side */
      lnl_face whole;
      memset(&whole, 0, sizeof whole);
      whole.box = (lnl_rect){0, 0, (float)crop->width, (float)crop->height};
      lnl_align_transform(&whole, t, out_side, m);
    }
    lnl_align_crop(crop, m, out_side, out);
    *rgb = out;
    *side = out_side;
  }
  free(faces);
  return s;
}
