#include "lnl_preprocess.h"

#include <math.h>
#include <stdlib.h>

#include "lnl_error.h"

/* Triangle-filter taps for one axis: output o reads inputs first[o] .. first[o]+count[o]-1
 * with weights w[o * max_taps + k]. The radius grows with the downscale factor
 * (antialiasing); the window is clipped to the image and renormalised. */
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

static int taps_build(taps *t, int n_in, int n_out) {
  double scale = (double)n_in / n_out;
  double support = scale > 1.0 ? scale : 1.0;
  t->max_taps = (int)ceil(support) * 2 + 2;
  t->first = malloc(sizeof(int) * (size_t)n_out);
  t->count = malloc(sizeof(int) * (size_t)n_out);
  t->w = calloc((size_t)n_out * (size_t)t->max_taps, sizeof(float));
  if (!t->first || !t->count || !t->w) return 0;
  for (int o = 0; o < n_out; o++) {
    double center = (o + 0.5) * scale;
    int lo = (int)floor(center - support), hi = (int)ceil(center + support);
    if (lo < 0) lo = 0;
    if (hi > n_in) hi = n_in;
    float *w = t->w + (size_t)o * t->max_taps;
    float total = 0.0f;
    for (int i = lo; i < hi; i++) {
      double v = 1.0 - fabs((i + 0.5 - center) / support);
      w[i - lo] = v > 0.0 ? (float)v : 0.0f;
      total += w[i - lo];
    }
    for (int i = lo; i < hi; i++) w[i - lo] = total > 0.0f ? w[i - lo] / total : 0.0f;
    t->first[o] = lo;
    t->count[o] = hi - lo;
  }
  return 1;
}

/* One plane (grey, or one RGB channel) of the crop as floats 0..255. */
static void read_plane(const lnl_image *img, int channels, int which, int row, float *dst) {
  const uint8_t *p = img->pixels + (size_t)row * img->stride;
  for (int x = 0; x < img->width; x++, p += 3) {
    if (channels == 1)
      dst[x] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    else
      dst[x] = (float)p[which];
  }
}

lnl_status lnl_preprocess_crop(const lnl_config *cfg, const lnl_image *crop, float *out,
                               lnl_error *err) {
  if (!crop || !crop->pixels || crop->width < 1 || crop->height < 1)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "empty face crop");
  if (crop->width > LNL_MAX_CROP_SIDE || crop->height > LNL_MAX_CROP_SIDE)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "face crop %dx%d is larger than %d pixels a side",
                    crop->width, crop->height, LNL_MAX_CROP_SIDE);
  if (crop->stride < (size_t)crop->width * 3)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "row stride %zu is shorter than %d RGB pixels",
                    crop->stride, crop->width);
  int S = cfg->input_size, W = crop->width, H = crop->height;
  taps th = {0}, tv = {0};
  float *row = malloc(sizeof(float) * (size_t)W);
  float *horiz = malloc(sizeof(float) * (size_t)H * S);
  lnl_status status = LNL_OK;
  if (!row || !horiz || !taps_build(&th, W, S) || !taps_build(&tv, H, S)) {
    status = lnl_fail(err, LNL_ERR_MEMORY, "out of memory preprocessing a %dx%d crop", W, H);
    goto done;
  }
  for (int c = 0; c < cfg->input_channels; c++) {
    for (int y = 0; y < H; y++) {
      read_plane(crop, cfg->input_channels, c, y, row);
      for (int o = 0; o < S; o++) {
        const float *w = th.w + (size_t)o * th.max_taps;
        float acc = 0.0f;
        for (int k = 0; k < th.count[o]; k++) acc += w[k] * row[th.first[o] + k];
        horiz[(size_t)y * S + o] = acc;
      }
    }
    float *plane = out + (size_t)c * S * S;
    for (int o = 0; o < S; o++) {
      const float *w = tv.w + (size_t)o * tv.max_taps;
      for (int x = 0; x < S; x++) {
        float acc = 0.0f;
        for (int k = 0; k < tv.count[o]; k++)
          acc += w[k] * horiz[(size_t)(tv.first[o] + k) * S + x];
        plane[(size_t)o * S + x] = (acc / 255.0f - cfg->mean) / cfg->std;
      }
    }
  }
done:
  taps_free(&th);
  taps_free(&tv);
  free(row);
  free(horiz);
  return status;
}
