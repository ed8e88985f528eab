/* Channels-first (CHW) operators, for the detector's graph (lnl_graph.c), one image at a
 * time. Convolutions go through the kernels of lnl_kernels.h or BLAS. Each is checked
 * against a naive reference in tests/test_ops.c. */
#ifndef LNL_OPS_H
#define LNL_OPS_H

#include <stddef.h>

#include "lnl_parallel.h"
#include "lnl_vector.h"

/* Floats of scratch lnl_conv2d needs for an h x w input (0 for 1x1 stride-1 unpadded). */
size_t lnl_conv_scratch(const lnl_conv *conv, int h, int w);
/* out[cout][oh][ow]; `relu` applies max(0, .) after the bias. */
void lnl_conv2d(const lnl_conv *conv, const float *in, int h, int w, float *out, float *scratch,
                int relu, lnl_parallel *par);

/* k x k window, given stride, no padding, floor mode (PyTorch's default); channels split
 * over par's threads (par may be NULL). */
void lnl_maxpool2d(const float *in, int c, int h, int w, int k, int stride, float *out,
                   lnl_parallel *par);

/* out[c][2h][2w] = high[c][y][x] + low[c][y / 2][x / 2]: nearest x2 upsampling of low (c x h
 * x w) added to high (c x 2h x 2w); out may be high. */
void lnl_upsample2_add(const float *low, int c, int h, int w, const float *high, float *out,
                       lnl_parallel *par);

/* Zero padding: out is c x (h + top + bottom) x (w + left + right). */
void lnl_pad2d(const float *in, int c, int h, int w, int top, int left, int bottom, int right,
               float *out);

/* Nearest-neighbour upsampling by an integer factor f (ONNX Resize "nearest", asymmetric,
 * floor): out is c x (h f) x (w f), out[y][x] = in[y / f][x / f]. */
void lnl_upsample_nearest(const float *in, int c, int h, int w, int f, float *out);

/* x = 1 / (1 + exp(-x)), in place. */
void lnl_sigmoid(float *x, size_t n);

#endif
