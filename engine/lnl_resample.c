#include "lnl_resample.h"

#include <math.h>
#include <stdlib.h>

#include "lnl_error.h"

#define MAX_SIDE 65536

/* Filter taps for one axis: output o reads first[o] .. first[o] + count[o] - 1. */
typedef struct taps {
  int *first, *count;
  float *w;
  int max_taps;
} taps;

static void taps_free(taps *t) {
  free(t->first);
  free(t->count);
  free(t->w);
}

static int taps_build(taps *t, int n_in, int n_out, double origin, double scale) {
  double support = scale > 1.0 ? scale : 1.0;
  t->max_taps = (int)ceil(support) * 2 + 2;
  t->first = calloc((size_t)n_out, sizeof(int));
  t->count = calloc((size_t)n_out, sizeof(int));
  t->w = calloc((size_t)n_out * (size_t)t->max_taps, sizeof(float));
  if (!t->first || !t->count || !t->w) return 0;
  for (int o = 0; o < n_out; o++) {
    double center = origin + (o + 0.5) * scale;
    double lo_d = floor(center - support), hi_d = ceil(center + support);
    int lo = lo_d < 0 ? 0 : lo_d > n_in ? n_in : (int)lo_d;
    int hi = hi_d > n_in ? n_in : hi_d < 0 ? 0 : (int)hi_d;
    float *w = t->w + (size_t)o * t->max_taps;
    float total = 0.0f;
    for (int i = lo; i < hi; i++) {
      double v = 1.0 - fabs((i + 0.5 - center) / support);
      w[i - lo] = v > 0.0 ? (float)v : 0.0f;
      total += w[i - lo];
    }
    for (int i = lo; i < hi; i++) w[i - lo] = total > 0.0f ? w[i - lo] / total : 0.0f;
    t->first[o] = lo;
    t->count[o] = hi > lo ? hi - lo : 0;
  }
  return 1;
}

lnl_status lnl_check_image(const lnl_image *img, lnl_error *err) {
  if (!img || !img->pixels || img->width < 1 || img->height < 1)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "empty image");
  if (img->width > MAX_SIDE || img->height > MAX_SIDE)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "image %dx%d is larger than %d pixels a side",
                    img->width, img->height, MAX_SIDE);
  if (img->stride < (size_t)img->width * 3)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "row stride %zu is shorter than %d RGB pixels",
                    img->stride, img->width);
  return LNL_OK;
}

/* Pixels [x0, x1) of row y, as grey or one channel, into dst[x0 .. x1). */
static void read_row(const lnl_image *img, int grey, int channel, int y, int x0, int x1,
                     float *dst) {
  const uint8_t *p = img->pixels + (size_t)y * img->stride + (size_t)x0 * 3;
  for (int x = x0; x < x1; x++, p += 3)
    dst[x] = grey ? 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] : (float)p[channel];
}

lnl_status lnl_resample(const lnl_image *img, const lnl_window *win, int grey, float *out,
                        lnl_error *err) {
  lnl_status s = lnl_check_image(img, err);
  if (s) return s;
  int W = img->width, H = img->height, ow = win->width, oh = win->height;
  if (ow < 1 || oh < 1 || ow > MAX_SIDE || oh > MAX_SIDE || !(win->scale_x > 0) ||
      !(win->scale_y > 0))
    return lnl_fail(err, LNL_ERR_ARGUMENT, "bad resampling window");
  taps th = {0}, tv = {0};
  float *row = malloc(sizeof(float) * (size_t)W);
  float *horiz = malloc(sizeof(float) * (size_t)H * ow);
  if (!row || !horiz || !taps_build(&th, W, ow, win->x0, win->scale_x) ||
      !taps_build(&tv, H, oh, win->y0, win->scale_y)) {
    s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory resampling a %dx%d image", W, H);
    goto done;
  }
  /* only the rows and columns some output reads (a tile is a small part of a photo) */
  int y_lo = H, y_hi = 0, x_lo = W, x_hi = 0;
  for (int o = 0; o < oh; o++) {
    if (tv.count[o] == 0) continue;
    if (tv.first[o] < y_lo) y_lo = tv.first[o];
    if (tv.first[o] + tv.count[o] > y_hi) y_hi = tv.first[o] + tv.count[o];
  }
  for (int o = 0; o < ow; o++) {
    if (th.count[o] == 0) continue;
    if (th.first[o] < x_lo) x_lo = th.first[o];
    if (th.first[o] + th.count[o] > x_hi) x_hi = th.first[o] + th.count[o];
  }
  for (int c = 0; c < (grey ? 1 : 3); c++) {
    for (int y = y_lo; y < y_hi; y++) {
      read_row(img, grey, c, y, x_lo, x_hi, row);
      for (int o = 0; o < ow; o++) {
        const float *w = th.w + (size_t)o * th.max_taps;
        float acc = 0.0f;
        for (int k = 0; k < th.count[o]; k++) acc += w[k] * row[th.first[o] + k];
        horiz[(size_t)y * ow + o] = acc;
      }
    }
    float *plane = out + (size_t)c * ow * oh;
    for (int o = 0; o < oh; o++) {
      const float *w = tv.w + (size_t)o * tv.max_taps;
      for (int x = 0; x < ow; x++) {
        float acc = 0.0f;
        for (int k = 0; k < tv.count[o]; k++)
          acc += w[k] * horiz[(size_t)(tv.first[o] + k) * ow + x];
        plane[(size_t)o * ow + x] = acc;
      }
    }
  }
done:
  taps_free(&th);
  taps_free(&tv);
  free(row);
  free(horiz);
  return s;
}
