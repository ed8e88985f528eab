#include "lnl_ops.h"

#include <float.h>
#include <math.h>
#include <string.h>

int lnl_conv_out_size(int in, int k, int stride, int pad) {
  return (in + 2 * pad - k) / stride + 1;
}

static int is_pointwise(const lnl_conv *conv) {
  return conv->kh == 1 && conv->kw == 1 && conv->stride == 1 && conv->pad == 0;
}

static int is_depthwise(const lnl_conv *conv);

size_t lnl_conv_scratch(const lnl_conv *conv, int h, int w) {
  if (is_pointwise(conv) || is_depthwise(conv)) return 0;
  size_t oh = (size_t)lnl_conv_out_size(h, conv->kh, conv->stride, conv->pad);
  size_t ow = (size_t)lnl_conv_out_size(w, conv->kw, conv->stride, conv->pad);
  return (size_t)(conv->cin / conv->groups) * conv->kh * conv->kw * oh * ow;
}

/* Unfolds `c` channels into rows of (channel, ky, kx) and columns of output pixels. */
static void im2col(const float *in, int c, int h, int w, int kh, int kw, int stride, int pad,
                   int oh, int ow, float *col) {
  for (int ch = 0; ch < c; ch++) {
    const float *plane = in + (size_t)ch * h * w;
    for (int ky = 0; ky < kh; ky++) {
      for (int kx = 0; kx < kw; kx++) {
        float *row = col + (((size_t)ch * kh + ky) * kw + kx) * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
          int iy = oy * stride - pad + ky;
          float *dst = row + (size_t)oy * ow;
          if (iy < 0 || iy >= h) {
            memset(dst, 0, sizeof(float) * (size_t)ow);
            continue;
          }
          const float *src = plane + (size_t)iy * w;
          for (int ox = 0; ox < ow; ox++) {
            int ix = ox * stride - pad + kx;
            dst[ox] = (ix >= 0 && ix < w) ? src[ix] : 0.0f;
          }
        }
      }
    }
  }
}

static int is_depthwise(const lnl_conv *conv) {
  return conv->groups == conv->cin && conv->cout == conv->cin;
}

/* One filter per channel: a direct loop beats im2col + a 1-row product. */
static void depthwise(const lnl_conv *conv, const float *in, int h, int w, float *out, int oh,
                      int ow) {
  int kh = conv->kh, kw = conv->kw, s = conv->stride, p = conv->pad;
  for (int c = 0; c < conv->cin; c++) {
    const float *plane = in + (size_t)c * h * w;
    const float *k = conv->weight + (size_t)c * kh * kw;
    float *dst = out + (size_t)c * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        float acc = 0.0f;
        for (int ky = 0; ky < kh; ky++) {
          int iy = oy * s - p + ky;
          if (iy < 0 || iy >= h) continue;
          const float *row = plane + (size_t)iy * w;
          for (int kx = 0; kx < kw; kx++) {
            int ix = ox * s - p + kx;
            if (ix >= 0 && ix < w) acc += k[ky * kw + kx] * row[ix];
          }
        }
        dst[(size_t)oy * ow + ox] = acc;
      }
    }
  }
}

void lnl_conv2d(const lnl_conv *conv, const float *in, int h, int w, float *out, float *scratch,
                int relu, lnl_parallel *par) {
  int oh = lnl_conv_out_size(h, conv->kh, conv->stride, conv->pad);
  int ow = lnl_conv_out_size(w, conv->kw, conv->stride, conv->pad);
  int cin_g = conv->cin / conv->groups, cout_g = conv->cout / conv->groups;
  int kdim = cin_g * conv->kh * conv->kw;
  size_t npix = (size_t)oh * ow;
  if (is_depthwise(conv)) depthwise(conv, in, h, w, out, oh, ow);
  for (int g = 0; g < conv->groups && !is_depthwise(conv); g++) {
    const float *x = in + (size_t)g * cin_g * h * w;
    const float *col = x;
    if (!is_pointwise(conv)) {
      im2col(x, cin_g, h, w, conv->kh, conv->kw, conv->stride, conv->pad, oh, ow, scratch);
      col = scratch;
    }
    lnl_gemm(par, 0, 0, cout_g, (int)npix, kdim, conv->weight + (size_t)g * cout_g * kdim, kdim,
             col, (int)npix, 0.0f, out + (size_t)g * cout_g * npix, (int)npix);
  }
  for (int o = 0; o < conv->cout; o++) {
    float b = conv->bias ? conv->bias[o] : 0.0f;
    float *y = out + (size_t)o * npix;
    for (size_t i = 0; i < npix; i++) {
      float v = y[i] + b;
      y[i] = relu && v < 0.0f ? 0.0f : v;
    }
  }
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
  for (size_t i = 0; i < n; i++)
    if (x[i] < 0.0f) x[i] = 0.0f;
}

void lnl_sigmoid(float *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i]));
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

void lnl_mul(float *dst, const float *src, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] *= src[i];
}

void lnl_scale(float *x, size_t n, float s) {
  for (size_t i = 0; i < n; i++) x[i] *= s;
}

void lnl_maxpool2d(const float *in, int c, int h, int w, int k, int stride, float *out) {
  int oh = (h - k) / stride + 1, ow = (w - k) / stride + 1;
  for (int ch = 0; ch < c; ch++) {
    const float *p = in + (size_t)ch * h * w;
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        float m = -FLT_MAX;
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++) {
            float v = p[(size_t)(oy * stride + ky) * w + ox * stride + kx];
            if (v > m) m = v;
          }
        *out++ = m;
      }
    }
  }
}

void lnl_avgpool2d(const float *in, int c, int h, int w, int k, int stride, float *out) {
  int oh = (h - k) / stride + 1, ow = (w - k) / stride + 1;
  float inv = 1.0f / (float)(k * k);
  for (int ch = 0; ch < c; ch++) {
    const float *p = in + (size_t)ch * h * w;
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        float s = 0.0f;
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++) s += p[(size_t)(oy * stride + ky) * w + ox * stride + kx];
        *out++ = s * inv;
      }
    }
  }
}

void lnl_global_avgpool(const float *in, int c, int h, int w, float *out) {
  size_t n = (size_t)h * w;
  for (int ch = 0; ch < c; ch++) {
    const float *p = in + (size_t)ch * n;
    float s = 0.0f;
    for (size_t i = 0; i < n; i++) s += p[i];
    out[ch] = s / (float)n;
  }
}

/* Source index and weight of the second tap along one axis (align_corners=False). */
static void bilinear_tap(int o, int n_in, int n_out, int *i0, int *i1, float *frac) {
  float src = ((float)o + 0.5f) * ((float)n_in / (float)n_out) - 0.5f;
  if (src < 0.0f) src = 0.0f;
  int lo = (int)src;
  if (lo > n_in - 1) lo = n_in - 1;
  *i0 = lo;
  *i1 = lo < n_in - 1 ? lo + 1 : lo;
  *frac = src - (float)lo;
}

void lnl_resize_bilinear(const float *in, int c, int h, int w, float *out, int oh, int ow) {
  for (int ch = 0; ch < c; ch++) {
    const float *p = in + (size_t)ch * h * w;
    for (int oy = 0; oy < oh; oy++) {
      int y0, y1;
      float fy;
      bilinear_tap(oy, h, oh, &y0, &y1, &fy);
      for (int ox = 0; ox < ow; ox++) {
        int x0, x1;
        float fx;
        bilinear_tap(ox, w, ow, &x0, &x1, &fx);
        float top = p[(size_t)y0 * w + x0] * (1 - fx) + p[(size_t)y0 * w + x1] * fx;
        float bot = p[(size_t)y1 * w + x0] * (1 - fx) + p[(size_t)y1 * w + x1] * fx;
        *out++ = top * (1 - fy) + bot * fy;
      }
    }
  }
}

void lnl_resize_nearest(const float *in, int c, int h, int w, float *out, int oh, int ow) {
  for (int ch = 0; ch < c; ch++) {
    const float *p = in + (size_t)ch * h * w;
    for (int oy = 0; oy < oh; oy++) {
      int iy = (int)floorf((float)oy * ((float)h / (float)oh));
      if (iy > h - 1) iy = h - 1;
      for (int ox = 0; ox < ow; ox++) {
        int ix = (int)floorf((float)ox * ((float)w / (float)ow));
        if (ix > w - 1) ix = w - 1;
        *out++ = p[(size_t)iy * w + ix];
      }
    }
  }
}

void lnl_crop(const float *in, int c, int h, int w, int x, int y, int cw, int ch, float *out) {
  for (int k = 0; k < c; k++)
    for (int r = 0; r < ch; r++) {
      memcpy(out, in + ((size_t)k * h + y + r) * w + x, sizeof(float) * (size_t)cw);
      out += cw;
    }
}

float *lnl_concat(float *dst, const float *src, size_t n) {
  memcpy(dst, src, sizeof(float) * n);
  return dst + n;
}

void lnl_attention(const float *theta, const float *phi, const float *g, int d, int n, float *att,
                   float *y, lnl_parallel *par) {
  /* att = theta^T phi, [n][n] */
  lnl_gemm(par, 1, 0, n, n, d, theta, n, phi, n, 0.0f, att, n);
  float s = 1.0f / sqrtf((float)d);
  for (int i = 0; i < n; i++) {
    float *row = att + (size_t)i * n;
    lnl_scale(row, (size_t)n, s);
    lnl_softmax(row, (size_t)n);
  }
  /* y = g att^T, [d][n] */
  lnl_gemm(par, 0, 1, d, n, n, g, n, att, n, 0.0f, y, n);
}

void lnl_pad2d(const float *in, int c, int h, int w, int top, int left, int bottom, int right,
               float *out) {
  int ow = w + left + right, oh = h + top + bottom;
  memset(out, 0, sizeof(float) * (size_t)c * oh * ow);
  for (int k = 0; k < c; k++)
    for (int y = 0; y < h; y++)
      memcpy(out + ((size_t)k * oh + y + top) * ow + left, in + ((size_t)k * h + y) * w,
             sizeof(float) * (size_t)w);
}
