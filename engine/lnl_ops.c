#include "lnl_ops.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "lnl_kernels.h"

static int is_pointwise(const lnl_conv *conv) {
  return conv->kh == 1 && conv->kw == 1 && conv->stride == 1 && conv->pad == 0;
}

static int is_depthwise(const lnl_conv *conv);

size_t lnl_conv_scratch(const lnl_conv *conv, int h, int w) {
  if (is_pointwise(conv) || is_depthwise(conv)) return 0;
  size_t oh = (size_t)lnl_conv_out_size(h, conv->kh, conv->stride, conv->pad);
  size_t ow = (size_t)lnl_conv_out_size(w, conv->kw, conv->stride, conv->pad);
  /* grouped: every group unfolded at once, so that groups can run side by side */
  return (size_t)conv->cin * conv->kh * conv->kw * oh * ow;
}

/* One (channel, ky, kx) row of im2col for a "same" convolution (output size = input
 * size, stride 1), output rows [r0, r1): the input plane shifted by (dy, dx). The rows
 * that stay inside are one block copy, after which the columns that wrapped around from
 * the neighbouring row are zeroed. */
static void shift_plane(const float *plane, int h, int w, int dy, int dx, float *dst, int r0,
                        int r1) {
  int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? h - dy : h;
  if (y0 < r0) y0 = r0;
  if (y1 > r1) y1 = r1;
  int a = dx < 0 ? -dx : dx;
  if (y1 <= y0 || a >= w) {
    memset(dst + (size_t)r0 * w, 0, sizeof(float) * (size_t)(r1 - r0) * w);
    return;
  }
  memset(dst + (size_t)r0 * w, 0, sizeof(float) * (size_t)(y0 - r0) * w);
  memset(dst + (size_t)y1 * w, 0, sizeof(float) * (size_t)(r1 - y1) * w);
  float *d = dst + (size_t)y0 * w;
  const float *s = plane + (size_t)(y0 + dy) * w;
  size_t n = (size_t)(y1 - y0) * w - (size_t)a;
  if (dx >= 0) {
    memcpy(d, s + dx, sizeof(float) * n); /* stops before the last row's wrapped values */
    for (int y = y0; y < y1; y++)
      for (int x = w - dx; x < w; x++) dst[(size_t)y * w + x] = 0.0f;
  } else {
    memcpy(d + a, s, sizeof(float) * n);
    for (int y = y0; y < y1; y++)
      for (int x = 0; x < a; x++) dst[(size_t)y * w + x] = 0.0f;
  }
}

/* Unfolds `c` channels into rows of (channel, ky, kx) and columns of output pixels;
 * writes only the columns of output rows [r0, r1) (each row of `col` holds oh x ow). */
static void im2col(const float *in, int c, int h, int w, int kh, int kw, int stride, int pad,
                   int oh, int ow, float *col, int r0, int r1) {
  for (int ch = 0; ch < c; ch++) {
    const float *plane = in + (size_t)ch * h * w;
    for (int ky = 0; ky < kh; ky++) {
      for (int kx = 0; kx < kw; kx++) {
        float *row = col + (((size_t)ch * kh + ky) * kw + kx) * oh * ow;
        if (stride == 1 && oh == h && ow == w) {
          shift_plane(plane, h, w, ky - pad, kx - pad, row, r0, r1);
          continue;
        }
        for (int oy = r0; oy < r1; oy++) {
          int iy = oy * stride - pad + ky;
          float *dst = row + (size_t)oy * ow;
          if (iy < 0 || iy >= h) {
            memset(dst, 0, sizeof(float) * (size_t)ow);
            continue;
          }
          const float *src = plane + (size_t)iy * w;
          if (stride == 1) { /* ox in [x0, x1) reads ix = ox + dx inside [0, w) */
            int dx = kx - pad, x0 = dx < 0 ? -dx : 0, x1 = w - dx < ow ? w - dx : ow;
            if (x0 > ow) x0 = ow;
            if (x1 < x0) x1 = x0;
            for (int ox = 0; ox < x0; ox++) dst[ox] = 0.0f;
            memcpy(dst + x0, src + x0 + dx, sizeof(float) * (size_t)(x1 - x0));
            for (int ox = x1; ox < ow; ox++) dst[ox] = 0.0f;
            continue;
          }
          /* ox in [x0, x1) reads ix = ox * stride - pad + kx inside [0, w) */
          int off = kx - pad;
          int x0 = off < 0 ? (-off + stride - 1) / stride : 0;
          int x1 = w - off > 0 ? (w - off + stride - 1) / stride : 0;
          if (x1 > ow) x1 = ow;
          if (x0 > x1) x0 = x1;
          for (int ox = 0; ox < x0; ox++) dst[ox] = 0.0f;
          for (int ox = x0; ox < x1; ox++) dst[ox] = src[ox * stride + off];
          for (int ox = x1; ox < ow; ox++) dst[ox] = 0.0f;
        }
      }
    }
  }
}

static int is_depthwise(const lnl_conv *conv) {
  return conv->groups == conv->cin && conv->cout == conv->cin;
}

/* One filter per channel, channels [c0, c1): a direct loop beats im2col + a 1-row product.
 * Each output row accumulates its taps in (ky, kx) order over the columns whose input
 * lies inside the image, so that the inner loops carry no bounds checks (and stride 1
 * vectorises). */
static void depthwise(const lnl_conv *conv, const float *in, int h, int w, float *out, int oh,
                      int ow, int c0, int c1) {
  int kh = conv->kh, kw = conv->kw, s = conv->stride, p = conv->pad;
  for (int c = c0; c < c1; c++) {
    const float *plane = in + (size_t)c * h * w;
    const float *k = conv->weight + (size_t)c * kh * kw;
    float *dst = out + (size_t)c * oh * ow;
    for (int oy = 0; oy < oh; oy++, dst += ow) {
      memset(dst, 0, sizeof(float) * (size_t)ow);
      for (int ky = 0; ky < kh; ky++) {
        int iy = oy * s - p + ky;
        if (iy < 0 || iy >= h) continue;
        const float *row = plane + (size_t)iy * w;
        const float *kr = k + ky * kw;
        if (s == 1 && kw == 3 && p == 1 && ow == w && w >= 2) {
          /* the detector's 3x3 "same" case: the three taps of a row in one pass */
          dst[0] += kr[1] * row[0] + kr[2] * row[1];
          for (int ox = 1; ox < ow - 1; ox++)
            dst[ox] += kr[0] * row[ox - 1] + kr[1] * row[ox] + kr[2] * row[ox + 1];
          dst[ow - 1] += kr[0] * row[ow - 2] + kr[1] * row[ow - 1];
          continue;
        }
        for (int kx = 0; kx < kw; kx++) {
          /* ox in [x0, x1) reads ix = ox * s - p + kx inside [0, w) */
          int off = kx - p;
          int x0 = off < 0 ? (-off + s - 1) / s : 0;
          int x1 = w - off > 0 ? (w - off + s - 1) / s : 0;
          if (x1 > ow) x1 = ow;
          float kv = kr[kx];
          if (s == 1) {
            for (int ox = x0; ox < x1; ox++) dst[ox] += kv * row[ox + off];
          } else {
            for (int ox = x0; ox < x1; ox++) dst[ox] += kv * row[ox * s + off];
          }
        }
      }
    }
  }
}

/* One convolution split into independent tasks (each writes its own part of the scratch
 * and of the output):
 *  - depthwise: a block of channels;
 *  - grouped: one group (its im2col in its own part of the scratch, its product);
 *  - otherwise, a block of output rows (im2col of their columns, the product on them),
 *    or, when there are more output channels than pixels, first the im2col in blocks
 *    of rows, then the product in blocks of output channels: each task then packs the
 *    smaller operand (the unfolded input) again instead of the larger (the weights). */
typedef enum { SPLIT_ROWS, SPLIT_CHANNELS, SPLIT_GROUPS, SPLIT_DEPTHWISE } conv_split;

typedef struct conv_job {
  const lnl_conv *conv;
  const float *in;
  float *out, *scratch;
  int h, w, oh, ow, relu, per_task;
  conv_split split;
} conv_job;

static void bias_relu(const conv_job *j, int c0, int c1, int r0, int r1) {
  size_t npix = (size_t)j->oh * j->ow, p0 = (size_t)r0 * j->ow, p1 = (size_t)r1 * j->ow;
  for (int o = c0; o < c1; o++) {
    float b = j->conv->bias ? j->conv->bias[o] : 0.0f;
    float *y = j->out + (size_t)o * npix;
    for (size_t i = p0; i < p1; i++) {
      float v = y[i] + b;
      y[i] = j->relu && v < 0.0f ? 0.0f : v;
    }
  }
}

/* The unfolded input of group g for output rows [r0, r1) (the input itself for 1x1). */
static const float *unfold(const conv_job *j, int g, int r0, int r1) {
  const lnl_conv *conv = j->conv;
  int cin_g = conv->cin / conv->groups;
  const float *x = j->in + (size_t)g * cin_g * j->h * j->w;
  if (is_pointwise(conv)) return x;
  float *col = j->scratch + (size_t)g * cin_g * conv->kh * conv->kw * j->oh * j->ow;
  im2col(x, cin_g, j->h, j->w, conv->kh, conv->kw, conv->stride, conv->pad, j->oh, j->ow, col, r0,
         r1);
  return col;
}

/* Output channels [c0, c1) of group g, pixels of rows [r0, r1), from its unfolded input. */
static void product(const conv_job *j, int g, const float *col, int c0, int c1, int r0, int r1) {
  const lnl_conv *conv = j->conv;
  int cout_g = conv->cout / conv->groups;
  int kdim = conv->cin / conv->groups * conv->kh * conv->kw, npix = j->oh * j->ow, p0 = r0 * j->ow;
  int o0 = g * cout_g + c0;
  lnl_gemm(NULL, 0, 0, c1 - c0, (r1 - r0) * j->ow, kdim, conv->weight + (size_t)o0 * kdim, kdim,
           col + p0, npix, 0.0f, j->out + (size_t)o0 * npix + p0, npix);
  bias_relu(j, o0, g * cout_g + c1, r0, r1);
}

/* The 3x3 depthwise "same" convolution of one plane through the kernel set. */
static void dw3x3(const float *in, int h, int w, const float *k, float bias, int relu, float *out,
                  int r0, int r1) {
  lnl_kernels()->dw3(in, h, w, k, bias, relu, out, r0, r1);
}

/* A 1x1 convolution of channels-first planes (wt [cout][cin], bias or NULL, planes npix
 * floats apart), pixels [p0, p1), with an optional ReLU. Returns 0 (and does nothing)
 * when the kernel set has no such kernel: the caller then uses BLAS. */
static int pointwise_planes(const float *wt, const float *bias, int cin, int cout, const float *in,
                            size_t npix, float *out, size_t p0, size_t p1, int relu) {
  const lnl_kernel_set *k = lnl_kernels();
  if (!k->pw) return 0;
  for (size_t p = p0; p < p1; p += (size_t)k->pw_block) {
    int np = p1 - p < (size_t)k->pw_block ? (int)(p1 - p) : k->pw_block;
    for (int o = 0; o < cout; o += LNL_PW_ROWS)
      k->pw(wt + (size_t)o * cin, bias ? bias + o : NULL, cin,
            cout - o < LNL_PW_ROWS ? cout - o : LNL_PW_ROWS, in, npix, out + (size_t)o * npix, p,
            np, relu);
  }
  return 1;
}

static void conv_task(void *arg, int t) {
  const conv_job *j = arg;
  const lnl_conv *conv = j->conv;
  int b0 = t * j->per_task, b1 = b0 + j->per_task; /* the task's block of rows or channels */
  int cout_g = conv->cout / conv->groups;
  switch (j->split) {
  case SPLIT_DEPTHWISE:
    if (b1 > conv->cin) b1 = conv->cin;
    if (conv->kh == 3 && conv->kw == 3 && conv->stride == 1 && conv->pad == 1) {
      for (int c = b0; c < b1; c++) /* the 3x3 "same" case: a SIMD kernel, bias fused */
        dw3x3(j->in + (size_t)c * j->h * j->w, j->h, j->w, conv->weight + (size_t)c * 9,
              conv->bias ? conv->bias[c] : 0.0f, j->relu, j->out + (size_t)c * j->oh * j->ow, 0,
              j->oh);
      break;
    }
    depthwise(conv, j->in, j->h, j->w, j->out, j->oh, j->ow, b0, b1);
    bias_relu(j, b0, b1, 0, j->oh);
    break;
  case SPLIT_GROUPS: product(j, t, unfold(j, t, 0, j->oh), 0, cout_g, 0, j->oh); break;
  case SPLIT_ROWS:
    if (b1 > j->oh) b1 = j->oh;
    if (conv->groups == 1 && is_pointwise(conv) &&
        pointwise_planes(conv->weight, conv->bias, conv->cin, conv->cout, j->in,
                         (size_t)j->oh * j->ow, j->out, (size_t)b0 * j->ow, (size_t)b1 * j->ow,
                         j->relu))
      break; /* a SIMD kernel, bias and ReLU fused */
    product(j, 0, unfold(j, 0, b0, b1), 0, cout_g, b0, b1);
    break;
  case SPLIT_CHANNELS: /* after unfold_task */
    if (b1 > cout_g) b1 = cout_g;
    product(j, 0, is_pointwise(conv) ? j->in : j->scratch, b0, b1, 0, j->oh);
    break;
  }
}

static void unfold_task(void *arg, int t) {
  const conv_job *j = arg;
  int r0 = t * j->per_task, r1 = r0 + j->per_task < j->oh ? r0 + j->per_task : j->oh;
  unfold(j, 0, r0, r1);
}

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

void lnl_conv2d(const lnl_conv *conv, const float *in, int h, int w, float *out, float *scratch,
                int relu, lnl_parallel *par) {
  int oh = lnl_conv_out_size(h, conv->kh, conv->stride, conv->pad);
  int ow = lnl_conv_out_size(w, conv->kw, conv->stride, conv->pad);
  double macs = (double)conv->cout * oh * ow * (conv->cin / conv->groups) * conv->kh * conv->kw;
  int threads = lnl_parallel_threads_for(par, macs);
  conv_job job = {conv, in, out, scratch, h, w, oh, ow, relu, 1, SPLIT_GROUPS};
  int tasks = conv->groups;
  if (oh < 1 || ow < 1) return;
  if (is_depthwise(conv)) {
    job.split = SPLIT_DEPTHWISE;
    job.per_task = ceil_div(conv->cin, threads);
    tasks = ceil_div(conv->cin, job.per_task);
  } else if (conv->groups == 1) {
    if (threads > oh * ow / 16) threads = oh * ow / 16; /* column blocks wide enough for BLAS */
    if (threads < 1) threads = 1;
    if (threads > 1 && conv->cout > oh * ow) {
      job.per_task = ceil_div(oh, threads);
      if (!is_pointwise(conv)) lnl_parallel_for(par, ceil_div(oh, job.per_task), unfold_task, &job);
      job.split = SPLIT_CHANNELS;
      job.per_task = ceil_div(conv->cout, threads);
      tasks = ceil_div(conv->cout, job.per_task);
    } else {
      job.split = SPLIT_ROWS;
      job.per_task = ceil_div(oh, threads);
      tasks = ceil_div(oh, job.per_task);
    }
  }
  lnl_parallel_for(threads > 1 ? par : NULL, tasks, conv_task, &job);
}

void lnl_maxpool2d(const float *in, int c, int h, int w, int k, int stride, float *out) {
  int oh = (h - k) / stride + 1, ow = (w - k) / stride + 1;
  if (k == 2 && stride == 2) { /* the network's only pooling: no inner window loops */
    for (int ch = 0; ch < c; ch++) {
      const float *p = in + (size_t)ch * h * w;
      for (int oy = 0; oy < oh; oy++) {
        const float *r0 = p + (size_t)(2 * oy) * w, *r1 = r0 + w;
        for (int ox = 0; ox < ow; ox++) {
          float a = r0[2 * ox] > r0[2 * ox + 1] ? r0[2 * ox] : r0[2 * ox + 1];
          float b = r1[2 * ox] > r1[2 * ox + 1] ? r1[2 * ox] : r1[2 * ox + 1];
          *out++ = a > b ? a : b;
        }
      }
    }
    return;
  }
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

void lnl_pad2d(const float *in, int c, int h, int w, int top, int left, int bottom, int right,
               float *out) {
  int ow = w + left + right, oh = h + top + bottom;
  memset(out, 0, sizeof(float) * (size_t)c * oh * ow);
  for (int k = 0; k < c; k++)
    for (int y = 0; y < h; y++)
      memcpy(out + ((size_t)k * oh + y + top) * ow + left, in + ((size_t)k * h + y) * w,
             sizeof(float) * (size_t)w);
}

void lnl_upsample_nearest(const float *in, int c, int h, int w, int f, float *out) {
  size_t ow = (size_t)w * f;
  for (int ch = 0; ch < c; ch++)
    for (int y = 0; y < h; y++) {
      const float *src = in + ((size_t)ch * h + y) * w;
      float *row = out + ((size_t)ch * h + y) * f * ow;
      for (int x = 0; x < w; x++)
        for (int k = 0; k < f; k++) row[(size_t)x * f + k] = src[x];
      for (int k = 1; k < f; k++) memcpy(row + k * ow, row, sizeof(float) * ow);
    }
}

void lnl_sigmoid(float *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i]));
}
