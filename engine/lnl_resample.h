/* Antialiased resampling of a window of an 8-bit RGB image into float planes
 * (0..255): separable triangle filter whose radius grows with the downscale
 * factor, window clipped to the image and renormalised; pixels whose whole
 * footprint lies outside the image are 0 (black letterbox). Horizontal pass
 * first, then vertical, as tools/train/preprocess.py does. */
#ifndef LNL_RESAMPLE_H
#define LNL_RESAMPLE_H

#include "lnl_parallel.h"
#include "lnlfer.h"

typedef struct lnl_window {
  double x0, y0;  /* image position of the output's top-left corner */
  double scale_x; /* image pixels per output pixel */
  double scale_y;
  int width, height; /* output size */
} lnl_window;

/* grey != 0: one BT.601 luma plane; else three planes R, G, B. */
lnl_status lnl_resample(const lnl_image *img, const lnl_window *win, int grey, float *out,
                        lnl_error *err);
/* The same, rows split across par's threads (par may be NULL). */
lnl_status lnl_resample_par(const lnl_image *img, const lnl_window *win, int grey, float *out,
                            lnl_parallel *par, lnl_error *err);

/* Checks pixels/size/stride of an image argument. */
lnl_status lnl_check_image(const lnl_image *img, lnl_error *err);

#endif
