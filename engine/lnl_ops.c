#include "lnl_ops.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "lnl_kernels.h"

static int is_pointwise(const lnl_conv *conv) {
  return conv->kh == 1 && conv->kw == 1 && conv->stride == 1 && conv->pad == 0;
}

static int is_depthwise(const lnl_conv *conv);

static int panel_rows(const lnl_conv *conv);
#define PANEL_MAX_K 256

/* Whether a convolution runs on packed panels: up to PANEL_MAX_K rows, and, for 1x1, more
 * than one tile of output channels (with one tile, each packed panel would be used once:
 * BLAS, which reads the input in place, measured faster for YuNet's 1- and 4-channel heads). */
static int on_panels(const lnl_conv *conv) {
  return conv->groups == 1 && panel_rows(conv) <= PANEL_MAX_K &&
         !(conv->kh == 1 && conv->kw == 1 && conv->stride == 1 && conv->pad == 0 &&
           conv->cout <= LNL_PW_ROWS);
}

size_t lnl_conv_scratch(const lnl_conv *conv, int h, int w) {
  if (is_pointwise(conv) || is_depthwise(conv)) return 0;
  if (on_panels(conv)) return 0; /* packed on the stack */
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

/* ---- convolutions on packed panels (the kernel set's pw kernels) ---- */

/* A task packs the input of a block of output pixels into panels on its stack
 * (PANEL_FLOATS: PANEL_MAX_K rows of the widest set's panel), as many panels as fit, so
 * that it reads each input row in one stretch and writes each output row in one stretch;
 * convolutions with more than PANEL_MAX_K rows (input channels x taps) go to BLAS. */
#define PANEL_FLOATS (PANEL_MAX_K * LNL_PW_MAX_COLS)

static int panel_rows(const lnl_conv *conv) { return conv->cin * conv->kh * conv->kw; }

/* Pixels a task packs at once: whole panels of k rows that fit in PANEL_FLOATS. */
static int panel_span(int k, int cols) {
  int n = PANEL_FLOATS / (k * cols);
  return (n < 1 ? 1 : n) * cols;
}

/* Pixels [p, p + n) of every input plane (a 1x1 convolution's panels, n <= the span):
 * panel q holds pixels p + q * cols.., zero-padded to cols. */
static void pack_pixels(const float *in, size_t npix, int cin, size_t p, int n, int cols,
                        float *panel) {
  for (int c = 0; c < cin; c++) {
    const float *src = in + (size_t)c * npix + p;
    /* the same stretch of the next block, which the task packs after this one's products:
     * the hardware prefetchers do not follow cin streams at once */
    for (size_t x = (size_t)n; x < 2 * (size_t)n && p + x < npix; x += 16)
      __builtin_prefetch(src + x);
    for (int q = 0; q * cols < n; q++) { /* loops, not memcpy: a call per 24 floats costs */
      float *d = panel + ((size_t)q * cin + c) * cols;
      const float *sq = src + (size_t)q * cols;
      int m = n - q * cols < cols ? n - q * cols : cols;
      for (int j = 0; j < m; j++) d[j] = sq[j];
      for (int j = m; j < cols; j++) d[j] = 0.0f;
    }
  }
}

/* Fills d[0, n) with pixels [j0, j0 + n) of one panel row: zero outside [lo, hi), else
 * row[off + j * s]. */
static void window_piece(float *d, int j0, int n, int lo, int hi, const float *row, int off,
                         int s) {
  int a = lo - j0, b = hi - j0;
  a = a < 0 ? 0 : a > n ? n : a;
  b = b < a ? a : b > n ? n : b;
  for (int j = 0; j < a; j++) d[j] = 0.0f;
  if (b > a) { /* columns off + (j0 + a) * s.. lie inside the row */
    const float *src = row + off + (ptrdiff_t)(j0 + a) * s;
    float *dst = d + a;
    if (s == 1) {
      for (int j = 0; j < b - a; j++) dst[j] = src[j];
    } else if (s == 2) {
      for (int j = 0; j < b - a; j++) dst[j] = src[2 * j];
    } else {
      for (int j = 0; j < b - a; j++) dst[j] = src[(ptrdiff_t)j * s];
    }
  }
  for (int j = b; j < n; j++) d[j] = 0.0f;
}

/* The windows of output row oy, columns [ox0, ox0 + n) (n <= the span), as panels of cols
 * pixels k rows apart: row (c, ky, kx) of a panel holds the input value tap (ky, kx) of
 * channel c reads for each of its output pixels (zero outside the input, and past n). */
static void pack_window(const lnl_conv *conv, const float *in, int h, int w, int oy, int ox0, int n,
                        int cols, float *panel) {
  int s = conv->stride, p = conv->pad, k = panel_rows(conv);
  int panels = (n + cols - 1) / cols;
  float *d = panel;
  for (int c = 0; c < conv->cin; c++)
    for (int ky = 0; ky < conv->kh; ky++) {
      int iy = oy * s - p + ky;
      const float *row = iy >= 0 && iy < h ? in + ((size_t)c * h + iy) * w : NULL;
      for (int kx = 0; kx < conv->kw; kx++, d += cols) {
        /* pixel j reads column off + j * s: inside the row for j in [lo, hi) */
        int off = ox0 * s - p + kx, lo = 0, hi = 0;
        if (row) {
          lo = off < 0 ? (-off + s - 1) / s : 0;
          hi = off > w - 1 ? 0 : (w - 1 - off) / s + 1;
          if (hi > n) hi = n;
        }
        for (int q = 0; q < panels; q++)
          window_piece(d + (size_t)q * k * cols, q * cols, cols, lo, hi, row, off, s);
      }
    }
}

/* ---- one convolution split into independent tasks ---- */

/* Each task writes its own part of the scratch and of the output:
 *  - panels: a block of output pixels (1x1) or output rows, through the pw kernels;
 *  - depthwise: one channel, or a block of its rows;
 *  - grouped: one group (its im2col in its own part of the scratch, its product);
 *  - otherwise, a block of output rows (im2col of their columns, the BLAS product on
 *    them), or, when there are more output channels than pixels, first the im2col in
 *    blocks of rows, then the product in blocks of output channels: each task then packs
 *    the smaller operand (the unfolded input) again instead of the larger (the weights). */
typedef enum {
  SPLIT_PIXELS,
  SPLIT_WINDOWS,
  SPLIT_ROWS,
  SPLIT_CHANNELS,
  SPLIT_GROUPS,
  SPLIT_DEPTHWISE
} conv_split;

typedef struct conv_job {
  const lnl_conv *conv;
  const lnl_kernel_set *ks; /* chosen once for the whole convolution */
  const float *in;
  float *out, *scratch;
  int h, w, oh, ow, relu, per_task, row_blocks;
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

/* Every output channel of n packed pixels (panels of cols), stored at out (planes ldo
 * apart): a block of output channels at a time over all the panels. */
static void panel_product(const conv_job *j, const float *panel, int n, float *out, size_t ldo) {
  const lnl_conv *conv = j->conv;
  int k = panel_rows(conv), cols = j->ks->pw_cols;
  for (int o = 0; o < conv->cout; o += LNL_PW_ROWS)
    for (int q = 0; q * cols < n; q++)
      j->ks->pw(conv->weight + (size_t)o * k, (size_t)k, conv->bias ? conv->bias + o : NULL,
                conv->cout - o < LNL_PW_ROWS ? conv->cout - o : LNL_PW_ROWS, k,
                panel + (size_t)q * k * cols, out + (size_t)o * ldo + (size_t)q * cols, ldo,
                n - q * cols < cols ? n - q * cols : cols, j->relu);
}

static void panels_task(const conv_job *j, int t) {
  float panel[PANEL_FLOATS];
  int cols = j->ks->pw_cols, k = panel_rows(j->conv), span = panel_span(k, cols);
  size_t npix = (size_t)j->oh * j->ow;
  if (j->split == SPLIT_PIXELS) {
    size_t p0 = (size_t)t * j->per_task, p1 = p0 + (size_t)j->per_task;
    if (p1 > npix) p1 = npix;
    for (size_t p = p0; p < p1; p += (size_t)span) {
      int n = p1 - p < (size_t)span ? (int)(p1 - p) : span;
      pack_pixels(j->in, npix, j->conv->cin, p, n, cols, panel);
      panel_product(j, panel, n, j->out + p, npix);
    }
    return;
  }
  int r0 = t * j->per_task, r1 = r0 + j->per_task < j->oh ? r0 + j->per_task : j->oh;
  for (int oy = r0; oy < r1; oy++)
    for (int ox = 0; ox < j->ow; ox += span) {
      int n = j->ow - ox < span ? j->ow - ox : span;
      pack_window(j->conv, j->in, j->h, j->w, oy, ox, n, cols, panel);
      panel_product(j, panel, n, j->out + (size_t)oy * j->ow + ox, npix);
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

/* A 3x3 depthwise convolution the dw3 kernels run: stride 1 or 2, padding 0 or 1. */
static int is_dw3(const lnl_conv *conv) {
  return conv->kh == 3 && conv->kw == 3 && (conv->stride == 1 || conv->stride == 2) &&
         (conv->pad == 0 || conv->pad == 1);
}

/* Task t of a depthwise convolution: channel t / row_blocks, its row block t % row_blocks. */
static void depthwise_task(const conv_job *j, int t) {
  const lnl_conv *conv = j->conv;
  int c = t / j->row_blocks, b = t % j->row_blocks;
  int r0 = b * j->per_task, r1 = r0 + j->per_task < j->oh ? r0 + j->per_task : j->oh;
  if (is_dw3(conv)) { /* a SIMD kernel, bias fused */
    j->ks->dw3(j->in + (size_t)c * j->h * j->w, j->h, j->w, conv->weight + (size_t)c * 9,
               conv->bias ? conv->bias[c] : 0.0f, j->relu, j->out + (size_t)c * j->oh * j->ow,
               j->ow, conv->stride, conv->pad, r0, r1);
    return;
  }
  depthwise(conv, j->in, j->h, j->w, j->out, j->oh, j->ow, c, c + 1);
  bias_relu(j, c, c + 1, 0, j->oh);
}

static void conv_task(void *arg, int t) {
  const conv_job *j = arg;
  const lnl_conv *conv = j->conv;
  int b0 = t * j->per_task, b1 = b0 + j->per_task; /* the task's block of rows or channels */
  int cout_g = conv->cout / conv->groups;
  switch (j->split) {
  case SPLIT_PIXELS:
  case SPLIT_WINDOWS: panels_task(j, t); break;
  case SPLIT_DEPTHWISE: depthwise_task(j, t); break;
  case SPLIT_GROUPS: product(j, t, unfold(j, t, 0, j->oh), 0, cout_g, 0, j->oh); break;
  case SPLIT_ROWS:
    if (b1 > j->oh) b1 = j->oh;
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

/* Tasks per thread where the work divides freely: on a shared machine a thread that falls
 * behind then holds up the others less. */
#define TASKS_PER_THREAD 4

void lnl_conv2d(const lnl_conv *conv, const float *in, int h, int w, float *out, float *scratch,
                int relu, lnl_parallel *par) {
  int oh = lnl_conv_out_size(h, conv->kh, conv->stride, conv->pad);
  int ow = lnl_conv_out_size(w, conv->kw, conv->stride, conv->pad);
  double macs = (double)conv->cout * oh * ow * (conv->cin / conv->groups) * conv->kh * conv->kw;
  int threads = lnl_parallel_threads_for(par, macs);
  conv_job job = {conv, lnl_kernels(), in, out, scratch, h, w, oh, ow, relu, 1, 1, SPLIT_GROUPS};
  int tasks = conv->groups, want = threads > 1 ? threads * TASKS_PER_THREAD : 1;
  if (oh < 1 || ow < 1) return;
  if (is_depthwise(conv)) {
    job.split = SPLIT_DEPTHWISE;
    job.row_blocks = ceil_div(want, conv->cin);
    if (job.row_blocks > oh) job.row_blocks = oh;
    job.per_task = ceil_div(oh, job.row_blocks);
    job.row_blocks = ceil_div(oh, job.per_task);
    tasks = conv->cin * job.row_blocks;
  } else if (!is_depthwise(conv) && on_panels(conv)) {
    if (is_pointwise(conv)) { /* blocks of whole panels of the flattened planes */
      int cols = job.ks->pw_cols, panels = ceil_div(oh * ow, cols);
      job.split = SPLIT_PIXELS;
      job.per_task = ceil_div(panels, want < panels ? want : panels) * cols;
      tasks = ceil_div(oh * ow, job.per_task);
    } else {
      job.split = SPLIT_WINDOWS;
      job.per_task = ceil_div(oh, want < oh ? want : oh);
      tasks = ceil_div(oh, job.per_task);
    }
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

typedef struct pool_job {
  const float *in, *low;
  float *out;
  int c, h, w, k, stride;
  lnl_max2_fn max2;
} pool_job;

/* Channel ch of a max-pool. */
static void maxpool_task(void *arg, int ch) {
  const pool_job *j = arg;
  int h = j->h, w = j->w, k = j->k, stride = j->stride;
  int oh = (h - k) / stride + 1, ow = (w - k) / stride + 1;
  const float *p = j->in + (size_t)ch * h * w;
  float *out = j->out + (size_t)ch * oh * ow;
  if (k == 2 && stride == 2) { /* the detectors' only pooling: a kernel per row pair */
    for (int oy = 0; oy < oh; oy++, out += ow)
      j->max2(p + (size_t)(2 * oy) * w, p + (size_t)(2 * oy + 1) * w, ow, out);
    return;
  }
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

/* Memory-bound operators: two threads from this many values on. */
#define PARALLEL_MIN_VALUES (1 << 16)

static lnl_parallel *worth_threads(lnl_parallel *par, size_t values) {
  return par && par->threads > 1 && values >= PARALLEL_MIN_VALUES ? par : NULL;
}

void lnl_maxpool2d(const float *in, int c, int h, int w, int k, int stride, float *out,
                   lnl_parallel *par) {
  pool_job j = {in, NULL, out, c, h, w, k, stride, lnl_kernels()->max2};
  lnl_parallel_for(worth_threads(par, (size_t)c * h * w), c, maxpool_task, &j);
}

/* Channel ch of lnl_upsample2_add (j->in: the high-resolution value). */
static void upsample_task(void *arg, int ch) {
  const pool_job *j = arg;
  size_t w = (size_t)j->w, ow = 2 * w;
  for (int y = 0; y < 2 * j->h; y++) {
    const float *l = j->low + ((size_t)ch * j->h + y / 2) * w;
    const float *hi = j->in + ((size_t)ch * 2 * j->h + y) * ow;
    float *o = j->out + ((size_t)ch * 2 * j->h + y) * ow;
    for (size_t x = 0; x < w; x++) {
      o[2 * x] = hi[2 * x] + l[x];
      o[2 * x + 1] = hi[2 * x + 1] + l[x];
    }
  }
}

void lnl_upsample2_add(const float *low, int c, int h, int w, const float *high, float *out,
                       lnl_parallel *par) {
  pool_job j = {high, low, out, c, h, w, 2, 2, NULL};
  lnl_parallel_for(worth_threads(par, (size_t)c * h * w * 4), c, upsample_task, &j);
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
