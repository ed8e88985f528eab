/* Layout-free pieces under both layouts' operators (lnl_ops.h channels-first, lnl_nhwc.h
 * channels-last) and the networks: what a convolution and a linear layer are, batch-norm
 * folding, linear layers and vector operators. Each is checked against a naive reference
 * in tests/test_ops.c. */
#ifndef LNL_VECTOR_H
#define LNL_VECTOR_H

#include <stddef.h>

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

#endif
