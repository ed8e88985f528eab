/* The engine's one bilinear sampler, shared by the aligned face crop (lnl_align.c: image
 * pixels at any point) and the network's upsampling (lnl_nhwc.c: a feature map resized
 * with PyTorch's align_corners=False). Pixel centres are at +0.5; edges are repeated. */
#ifndef LNL_BILINEAR_H
#define LNL_BILINEAR_H

/* Along one axis of n pixels: the two pixels around position src (in pixel-centre
 * coordinates, i.e. already shifted by -0.5) and the weight of the second. Below 0 (and
 * NaN) reads pixel 0. */
static inline void lnl_bilinear_axis(float src, int n, int *i0, int *i1, float *frac) {
  if (!(src >= 0.0f)) src = 0.0f;
  int lo = (int)src;
  if (lo > n - 1) lo = n - 1;
  *i0 = lo;
  *i1 = lo < n - 1 ? lo + 1 : lo;
  *frac = src - (float)lo;
}

/* The value between a (top left), b (top right), c (bottom left) and d (bottom right). */
static inline float lnl_bilinear_mix(float a, float b, float c, float d, float fx, float fy) {
  float top = a * (1 - fx) + b * fx;
  float bot = c * (1 - fx) + d * fx;
  return top * (1 - fy) + bot * fy;
}

#endif
