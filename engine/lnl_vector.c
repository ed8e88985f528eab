#include "lnl_vector.h"

#include <math.h>

int lnl_conv_out_size(int in, int k, int stride, int pad) {
  return (in + 2 * pad - k) / stride + 1;
}

void lnl_fold_batchnorm(lnl_conv *conv, const float *gamma, const float *beta, const float *mean,
                        const float *var, float eps) {
  size_t per_out = (size_t)(conv->cin / conv->groups) * conv->kh * conv->kw;
  for (int o = 0; o < conv->cout; o++) {
    float s = gamma[o] / sqrtf(var[o] + eps);
    float *wt = conv->weight + (size_t)o * per_out;
    for (size_t i = 0; i < per_out; i++) wt[i] *= s;
    conv->bias[o] = beta[o] + (conv->bias[o] - mean[o]) * s;
  }
}

void lnl_linear_forward(const lnl_linear *lin, const float *in, float *out) {
  for (int o = 0; o < lin->out; o++) {
    const float *wt = lin->weight + (size_t)o * lin->in;
    float acc = lin->bias ? lin->bias[o] : 0.0f;
    for (int i = 0; i < lin->in; i++) acc += wt[i] * in[i];
    out[o] = acc;
  }
}

void lnl_relu(float *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = x[i] < 0.0f ? 0.0f : x[i]; /* a select: vectorises */
}

void lnl_softmax(float *x, size_t n) {
  if (n == 0) return;
  float mx = x[0];
  for (size_t i = 1; i < n; i++)
    if (x[i] > mx) mx = x[i];
  float sum = 0.0f;
  for (size_t i = 0; i < n; i++) {
    x[i] = expf(x[i] - mx);
    sum += x[i];
  }
  for (size_t i = 0; i < n; i++) x[i] /= sum;
}

void lnl_add(float *dst, const float *src, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

void lnl_scale(float *x, size_t n, float s) {
  for (size_t i = 0; i < n; i++) x[i] *= s;
}
