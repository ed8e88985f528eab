#include "lnl_resample.h"

#include <math.h>
#include <stdlib.h>

#include "lnl_error.h"

#define MAX_SIDE 65536
#define RESAMPLE_MAX_TASKS 64

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

typedef struct resample_job {
  const lnl_image *img;
  const taps *th, *tv;
  int grey, nch, ow, oh, y_lo, y_hi, x_lo, x_hi, rows_per_task;
  float *horiz; /* nch planes of (y_hi - y_lo) rows x ow */
  float *out;
  float **rowbuf; /* per task: 3 * (x_hi - x_lo) floats */
} resample_job;

/* Horizontal pass over input rows [y0, y1): each output column is a dot product over the
 * row with its taps, the channels of a pixel side by side (independent sums, each in
 * the same order as one channel at a time). */
static void horizontal(const resample_job *j, int y0, int y1, float *rowf) {
  const lnl_image *img = j->img;
  const taps *th = j->th;
  size_t plane = (size_t)(j->y_hi - j->y_lo) * j->ow;
  for (int y = y0; y < y1; y++) {
    const uint8_t *p = img->pixels + (size_t)y * img->stride + (size_t)j->x_lo * 3;
    int n = j->x_hi - j->x_lo;
    float *h = j->horiz + (size_t)(y - j->y_lo) * j->ow;
    if (j->grey) {
      for (int x = 0; x < n; x++, p += 3) rowf[x] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
      for (int o = 0; o < j->ow; o++) {
        const float *w = th->w + (size_t)o * th->max_taps, *r = rowf + (th->first[o] - j->x_lo);
        float acc = 0.0f;
        for (int k = 0; k < th->count[o]; k++) acc += w[k] * r[k];
        h[o] = acc;
      }
      continue;
    }
    for (int x = 0; x < 3 * n; x++) rowf[x] = (float)p[x];
    for (int o = 0; o < j->ow; o++) {
      const float *w = th->w + (size_t)o * th->max_taps;
      const float *r = rowf + 3 * (size_t)(th->first[o] - j->x_lo);
      float a = 0.0f, b = 0.0f, c = 0.0f;
      for (int k = 0; k < th->count[o]; k++, r += 3) {
        a += w[k] * r[0];
        b += w[k] * r[1];
        c += w[k] * r[2];
      }
      h[o] = a;
      h[plane + o] = b;
      h[2 * plane + o] = c;
    }
  }
}

/* Vertical pass for output rows [o0, o1): each output row accumulates its taps' rows
 * in tap order (the same sums as one pixel at a time, now across the row). */
static void vertical(const resample_job *j, int o0, int o1) {
  const taps *tv = j->tv;
  size_t plane = (size_t)(j->y_hi - j->y_lo) * j->ow;
  for (int c = 0; c < j->nch; c++)
    for (int o = o0; o < o1; o++) {
      float *dst = j->out + ((size_t)c * j->oh + o) * j->ow;
      for (int x = 0; x < j->ow; x++) dst[x] = 0.0f;
      const float *w = tv->w + (size_t)o * tv->max_taps;
      for (int k = 0; k < tv->count[o]; k++) {
        const float *src = j->horiz + c * plane + (size_t)(tv->first[o] + k - j->y_lo) * j->ow;
        float wk = w[k];
        for (int x = 0; x < j->ow; x++) dst[x] += wk * src[x];
      }
    }
}

static void horizontal_task(void *arg, int t) {
  const resample_job *j = arg;
  int y0 = j->y_lo + t * j->rows_per_task, y1 = y0 + j->rows_per_task;
  horizontal(j, y0, y1 < j->y_hi ? y1 : j->y_hi, j->rowbuf[t]);
}

static void vertical_task(void *arg, int t) {
  const resample_job *j = arg;
  int per = (j->oh + j->rows_per_task - 1) / j->rows_per_task; /* rows_per_task: tasks here */
  int o0 = t * per, o1 = o0 + per < j->oh ? o0 + per : j->oh;
  if (o0 < o1) vertical(j, o0, o1);
}

lnl_status lnl_resample(const lnl_image *img, const lnl_window *win, int grey, float *out,
                        lnl_error *err) {
  return lnl_resample_par(img, win, grey, out, NULL, err);
}

lnl_status lnl_resample_par(const lnl_image *img, const lnl_window *win, int grey, float *out,
                            lnl_parallel *par, lnl_error *err) {
  lnl_status s = lnl_check_image(img, err);
  if (s) return s;
  int W = img->width, H = img->height, ow = win->width, oh = win->height;
  if (ow < 1 || oh < 1 || ow > MAX_SIDE || oh > MAX_SIDE || !(win->scale_x > 0) ||
      !(win->scale_y > 0))
    return lnl_fail(err, LNL_ERR_ARGUMENT, "bad resampling window");
  taps th = {0}, tv = {0};
  float *horiz = NULL, *rows[RESAMPLE_MAX_TASKS] = {0};
  int tasks = par && par->threads > 1 ? par->threads : 1;
  if (tasks > RESAMPLE_MAX_TASKS) tasks = RESAMPLE_MAX_TASKS;
  if (!taps_build(&th, W, ow, win->x0, win->scale_x) ||
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
  if (y_hi < y_lo) y_hi = y_lo = 0;
  if (x_hi < x_lo) x_hi = x_lo = 0;
  int nch = grey ? 1 : 3;
  horiz = malloc(sizeof(float) * ((size_t)nch * (y_hi - y_lo) * ow + 1));
  for (int t = 0; t < tasks; t++)
    if (!(rows[t] = malloc(sizeof(float) * (3 * (size_t)(x_hi - x_lo) + 1)))) horiz = NULL;
  if (!horiz) {
    s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory resampling a %dx%d image", W, H);
    goto done;
  }
  resample_job j = {img, &th, &tv, grey, nch, ow, oh, y_lo, y_hi, x_lo, x_hi, 0, horiz, out, rows};
  j.rows_per_task = (y_hi - y_lo + tasks - 1) / tasks;
  if (y_hi > y_lo)
    lnl_parallel_for(tasks > 1 ? par : NULL, (y_hi - y_lo + j.rows_per_task - 1) / j.rows_per_task,
                     horizontal_task, &j);
  j.rows_per_task = tasks;
  lnl_parallel_for(tasks > 1 ? par : NULL, tasks, vertical_task, &j);
done:
  taps_free(&th);
  taps_free(&tv);
  for (int t = 0; t < tasks; t++) free(rows[t]);
  free(horiz);
  return s;
}
