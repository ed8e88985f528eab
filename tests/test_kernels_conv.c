/* The detector's channels-first kernels (engine/lnl_kernels.h: pw panels, dw3, max2) through
 * their operators (engine/lnl_ops.h: lnl_conv2d, lnl_maxpool2d, lnl_upsample2_add), for
 * every kernel set this CPU runs (the portable one forced through lnl_kernels_select, as
 * every other), with 1 and 2 threads, against a naive double-precision reference written
 * here. Shapes: YuNet's layers scaled down, and the edges of each kernel: widths that are
 * not a multiple of the vector length or the panel, odd sizes, stride 2, padding 0 and 1,
 * output channels that are not a multiple of the register tile, panels at the size limit
 * and past it (BLAS). Buffers have their exact sizes and outputs start as NaN, so that
 * overruns show under ASan and unwritten values as failures. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lnl_kernels.h"
#include "lnl_ops.h"

#define TOL 1e-4

static int compared;
static uint64_t rng_state = 0x2545F4914F6CDD1Du;

static float rng_uniform(float lo, float hi) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15u); /* splitmix64 */
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  z ^= z >> 31;
  return (float)(lo + (hi - lo) * ((double)(z >> 11) * (1.0 / 9007199254740992.0)));
}

static void *xalloc(size_t n) {
  void *p = calloc(n ? n : 1, 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static float *rand_buf(size_t n) {
  float *p = xalloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) p[i] = rng_uniform(-1.0f, 1.0f);
  return p;
}

static float *nan_buf(size_t n) {
  float *p = xalloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) p[i] = NAN;
  return p;
}

/* |got - want| <= tol * max(1, |want|) everywhere; NaN fails. */
static void expect_close(const char *what, const float *got, const double *want, size_t n,
                         double tol) {
  double worst = 0.0;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]) / fmax(1.0, fabs(want[i]));
    if (d != d) d = INFINITY;
    if (d > worst) {
      worst = d;
      at = i;
    }
  }
  compared++;
  CHECK_MSG(worst <= tol, "%s: [%zu] got %.9g want %.9g (rel err %.3g)", what, at,
            n ? (double)got[at] : 0.0, n ? want[at] : 0.0, worst);
}

/* ---- convolutions ---- */

typedef struct conv_case {
  int cin, cout, h, w, k, stride, pad, groups;
} conv_case;

static int out_size(int in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

static void ref_conv(const conv_case *cc, const float *weight, const float *bias, const float *in,
                     int relu, double *out) {
  int oh = out_size(cc->h, cc->k, cc->stride, cc->pad),
      ow = out_size(cc->w, cc->k, cc->stride, cc->pad);
  int cin_g = cc->cin / cc->groups, cout_g = cc->cout / cc->groups;
  for (int o = 0; o < cc->cout; o++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        double acc = bias ? bias[o] : 0.0;
        for (int ci = 0; ci < cin_g; ci++)
          for (int ky = 0; ky < cc->k; ky++)
            for (int kx = 0; kx < cc->k; kx++) {
              int iy = oy * cc->stride - cc->pad + ky, ix = ox * cc->stride - cc->pad + kx;
              if (iy < 0 || iy >= cc->h || ix < 0 || ix >= cc->w) continue;
              int ic = o / cout_g * cin_g + ci;
              acc += (double)weight[(((size_t)o * cin_g + ci) * cc->k + ky) * cc->k + kx] *
                     in[((size_t)ic * cc->h + iy) * cc->w + ix];
            }
        out[((size_t)o * oh + oy) * ow + ox] = relu && acc < 0.0 ? 0.0 : acc;
      }
}

static void conv_case_run(const conv_case *cc, const char *set) {
  int oh = out_size(cc->h, cc->k, cc->stride, cc->pad),
      ow = out_size(cc->w, cc->k, cc->stride, cc->pad);
  size_t nw = (size_t)cc->cout * (cc->cin / cc->groups) * cc->k * cc->k;
  size_t nin = (size_t)cc->cin * cc->h * cc->w, nout = (size_t)cc->cout * oh * ow;
  float *weight = rand_buf(nw), *bias = rand_buf((size_t)cc->cout), *in = rand_buf(nin);
  double *want = xalloc(nout * sizeof(double));
  for (int has_bias = 0; has_bias <= 1; has_bias++)
    for (int relu = 0; relu <= 1; relu++) {
      ref_conv(cc, weight, has_bias ? bias : NULL, in, relu, want);
      lnl_conv conv = {cc->cin,    cc->cout,   cc->k,
                       cc->k,      cc->stride, cc->pad,
                       cc->groups, weight,     has_bias ? bias : NULL};
      for (int threads = 1; threads <= 2; threads++) {
        size_t nscratch = lnl_conv_scratch(&conv, cc->h, cc->w);
        float *scratch = nan_buf(nscratch), *out = nan_buf(nout);
        lnl_parallel par = {.threads = threads};
        lnl_conv2d(&conv, in, cc->h, cc->w, out, nscratch ? scratch : NULL, relu, &par);
        char what[200];
        snprintf(what, sizeof what,
                 "%s conv cin=%d cout=%d %dx%d k=%d s=%d p=%d g=%d bias=%d relu=%d threads=%d", set,
                 cc->cin, cc->cout, cc->h, cc->w, cc->k, cc->stride, cc->pad, cc->groups, has_bias,
                 relu, threads);
        expect_close(what, out, want, nout, TOL);
        free(out);
        free(scratch);
      }
    }
  free(want);
  free(in);
  free(bias);
  free(weight);
}

static const conv_case conv_cases[] = {
    /* cin cout h   w  k  s  p  g */
    /* the stem: 3x3 stride 2 over 3 channels (window panels) */
    {3, 16, 48, 64, 3, 2, 1, 1},
    {3, 16, 17, 23, 3, 2, 1, 1}, /* odd sizes: the last window column reads the padding */
    {3, 13, 9, 100, 3, 2, 1, 1}, /* a row of several panels and a partial one; 13 channels */
    {3, 24, 19, 21, 5, 2, 0, 1}, /* BlazeFace's 5x5 stride 2 after its explicit padding */
    {3, 5, 2, 3, 3, 2, 1, 1},    /* outputs smaller than a panel */
    {28, 6, 7, 9, 3, 1, 1, 1},   /* 252 panel rows: the largest on the stack */
    {29, 6, 7, 9, 3, 1, 1, 1},   /* 261: BLAS */
    {5, 7, 9, 11, 1, 2, 0, 1},   /* 1x1 stride 2: a window panel */
    {4, 3, 6, 7, 1, 1, 1, 1},    /* 1x1 with padding */
    /* pointwise (flat pixel panels) */
    {16, 16, 24, 32, 1, 1, 0, 1},
    {16, 64, 12, 16, 1, 1, 0, 1},
    {64, 64, 15, 20, 1, 1, 0, 1}, /* 300 pixels: a partial last panel */
    {64, 1, 7, 8, 1, 1, 0, 1},    /* the heads: 1, 4 and 10 channels */
    {64, 4, 5, 5, 1, 1, 0, 1},
    {64, 10, 6, 8, 1, 1, 0, 1},
    {256, 9, 5, 7, 1, 1, 0, 1},   /* 256 rows */
    {300, 5, 4, 5, 1, 1, 0, 1},   /* past the panel limit: BLAS */
    {7, 5, 1, 1, 1, 1, 0, 1},     /* one pixel */
    {16, 16, 64, 72, 1, 1, 0, 1}, /* large enough to split over threads */
    /* depthwise 3x3 (dw3): stride 1 and 2, padding 1 and 0, vector spans and tails */
    {16, 16, 24, 32, 3, 1, 1, 16},
    {4, 4, 7, 37, 3, 1, 1, 4},
    {3, 3, 5, 9, 3, 1, 1, 3},   /* a span of 7: narrower than a vector */
    {2, 2, 1, 10, 3, 1, 1, 2},  /* one row */
    {2, 2, 4, 1, 3, 1, 1, 2},   /* one column */
    {3, 3, 9, 40, 3, 1, 0, 3},  /* padding 0 */
    {5, 5, 13, 41, 3, 2, 1, 5}, /* stride 2 */
    {5, 5, 12, 40, 3, 2, 1, 5}, /* stride 2, even sizes */
    {4, 4, 9, 35, 3, 2, 0, 4},  /* stride 2, padding 0 (BlazeFace after its padding) */
    {3, 3, 8, 18, 3, 2, 0, 3},  /* stride 2, padding 0, the span just one vector */
    {3, 3, 5, 15, 3, 2, 1, 3},  /* stride 2 narrower than a vector */
    {1, 1, 11, 19, 3, 1, 1, 1}, /* one channel (YuNet's heads: groups 1 = depthwise) */
    {10, 10, 6, 8, 3, 1, 1, 10},
    {16, 16, 96, 80, 3, 1, 1, 16}, /* large enough for row blocks over threads */
    {2, 2, 200, 300, 3, 2, 1, 2},  /* few channels, many rows: row blocks */
    /* depthwise that dw3 does not run */
    {4, 4, 9, 11, 5, 1, 2, 4},
    {4, 4, 9, 11, 3, 1, 2, 4},
    {6, 6, 9, 11, 3, 3, 1, 6},
};

static void test_conv(const char *set) {
  for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
    conv_case_run(&conv_cases[i], set);
}

/* ---- max-pool 2x2 and upsampling ---- */

static void test_maxpool(const char *set) {
  static const int cases[][3] = {{3, 7, 7},  {2, 2, 2},  {3, 9, 33},   {4, 10, 34}, {2, 5, 16},
                                 {2, 4, 17}, {1, 3, 31}, {16, 48, 64}, {5, 3, 40},  {64, 30, 41}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int c = cases[i][0], h = cases[i][1], w = cases[i][2], oh = h / 2, ow = w / 2;
    size_t nin = (size_t)c * h * w, nout = (size_t)c * oh * ow;
    float *in = rand_buf(nin);
    for (size_t j = 0; j < (size_t)h * w; j++) in[j] -= 1e5f; /* one channel far below zero */
    double *want = xalloc(nout * sizeof(double));
    for (int ch = 0; ch < c; ch++)
      for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
          double m = -INFINITY;
          for (int k = 0; k < 4; k++)
            m = fmax(m, in[((size_t)ch * h + 2 * y + k / 2) * w + 2 * x + k % 2]);
          want[((size_t)ch * oh + y) * ow + x] = m;
        }
    for (int threads = 1; threads <= 2; threads++) {
      float *out = nan_buf(nout);
      lnl_parallel par = {.threads = threads};
      lnl_maxpool2d(in, c, h, w, 2, 2, out, &par);
      char what[120];
      snprintf(what, sizeof what, "%s maxpool2 c=%d %dx%d threads=%d", set, c, h, w, threads);
      expect_close(what, out, want, nout, 0.0);
      free(out);
    }
    free(want);
    free(in);
  }
}

static void test_upsample(const char *set) {
  static const int cases[][3] = {{1, 1, 1}, {3, 5, 7}, {64, 15, 20}, {2, 3, 9}, {16, 40, 60}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int c = cases[i][0], h = cases[i][1], w = cases[i][2];
    size_t nlow = (size_t)c * h * w, nout = 4 * nlow;
    float *low = rand_buf(nlow), *high = rand_buf(nout);
    double *want = xalloc(nout * sizeof(double));
    for (int ch = 0; ch < c; ch++)
      for (int y = 0; y < 2 * h; y++)
        for (int x = 0; x < 2 * w; x++) {
          size_t o = ((size_t)ch * 2 * h + y) * 2 * w + x;
          want[o] = (double)high[o] + low[((size_t)ch * h + y / 2) * w + x / 2];
        }
    for (int threads = 1; threads <= 2; threads++)
      for (int in_place = 0; in_place <= 1; in_place++) {
        float *out = in_place ? xalloc(nout * sizeof(float)) : nan_buf(nout);
        if (in_place) memcpy(out, high, nout * sizeof(float));
        lnl_parallel par = {.threads = threads};
        lnl_upsample2_add(low, c, h, w, in_place ? out : high, out, &par);
        char what[120];
        snprintf(what, sizeof what, "%s upsample2_add c=%d %dx%d threads=%d in_place=%d", set, c, h,
                 w, threads, in_place);
        expect_close(what, out, want, nout, 1e-6);
        free(out);
      }
    free(want);
    free(high);
    free(low);
  }
}

int main(void) {
  lnl_parallel_init();
  const char *sets[] = {"avx512", "avx2", "generic"};
  int ran = 0;
  for (int s = 0; s < 3; s++) {
    if (!lnl_kernels_select(sets[s])) {
      printf("test_kernels_conv: this CPU does not run the %s kernels: not tested\n", sets[s]);
      continue;
    }
    CHECK(strcmp(lnl_kernels()->name, sets[s]) == 0);
    ran++;
    test_conv(sets[s]);
    test_maxpool(sets[s]);
    test_upsample(sets[s]);
  }
  CHECK_MSG(ran >= 1, "the generic kernels must always run");
  printf("test_kernels_conv: %d kernel sets, %d comparisons, %d failed checks\n", ran, compared,
         check_failures);
  return check_failures != 0;
}
