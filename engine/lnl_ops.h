/* Channels-first (CHW) operators, for the detector's graph (lnl_graph.c), one image at a
 * time, and the plain vector operators every network uses. Convolutions go through the
 * kernels of lnl_kernels.h or BLAS. Each is checked against a naive reference in
 * tests/test_ops.c. */
#ifndef LNL_OPS_H
#define LNL_OPS_H

#include <stddef.h>

#include "lnl_parallel.h"

/* A convolution with its batch-norm already folded in: weight is
 * [cout][cin / groups][kh][kw], bias is [cout] (NULL for none). */
typedef struct lnl_conv {
  int cin, cout, kh, kw, stride, pad, groups;
  float *weight;
  float *bias;
} lnl_conv;

/* y = W x + b with W [out][in]. */
typedef struct lnl_linear {
  int in, out;
  float *weight;
  float *bias;
} lnl_linear;

int lnl_conv_out_size(int in, int k, int stride, int pad);
/* Floats of scratch lnl_conv2d needs for an h x w input (0 for 1x1 stride-1 unpadded). */
size_t lnl_conv_scratch(const lnl_conv *conv, int h, int w);
/* out[cout][oh][ow]; `relu` applies max(0, .) after the bias. */
void lnl_conv2d(const lnl_conv *conv, const float *in, int h, int w, float *out, float *scratch,
                int relu, lnl_parallel *par);

/* Folds y = gamma (x - mean) / sqrt(var + eps) + beta into the convolution in place;
 * conv->bias must point at cout writable floats (the conv's own bias or zeros). */
void lnl_fold_batchnorm(lnl_conv *conv, const float *gamma, const float *beta, const float *mean,
                        const float *var, float eps);

void lnl_linear_forward(const lnl_linear *lin, const float *in, float *out);

void lnl_relu(float *x, size_t n);
/* Numerically stable softmax over n values, in place. */
void lnl_softmax(float *x, size_t n);
void lnl_add(float *dst, const float *src, size_t n);
void lnl_scale(float *x, size_t n, float s);

/* k x k window, given stride, no padding, floor mode (PyTorch's default). */
void lnl_maxpool2d(const float *in, int c, int h, int w, int k, int stride, float *out);

/* Zero padding: out is c x (h + top + bottom) x (w + left + right). */
void lnl_pad2d(const float *in, int c, int h, int w, int top, int left, int bottom, int right,
               float *out);

#endif
