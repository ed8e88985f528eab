/* Operators: every function of engine/lnl_ops.h (and lnl_gemm) against a naive
 * reference written here with plain loops and double accumulation, on random
 * shapes including odd and degenerate ones. Buffers are allocated to their exact
 * sizes and outputs are pre-filled with NaN, so that overruns show under ASan
 * and unwritten outputs show as failures. The PRNG has a fixed seed. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lnl_nhwc.h"
#include "lnl_ops.h"

#define TOL 1e-4

/* lnl_gemm splits a product across threads from this many multiply-adds on
 * (PARALLEL_MIN_MACS in engine/lnl_parallel.c) and only when n >= 16 * threads. */
#define SPLIT_MIN_MACS (1 << 18)

static int compared;   /* comparisons made */
static int split_seen; /* products large enough for lnl_gemm to split them over 2 threads */

/* ---- helpers ---- */
/* OpenBLAS reports an illegal argument (a negative size, a short leading dimension)
 * through xerbla_, prints it and carries on; replacing it makes that a failure. */
int xerbla_(const char *name, const int *info, int len);
static atomic_int blas_errors; /* lnl_gemm may call BLAS from several threads */
int xerbla_(const char *name, const int *info, int len) {
  fprintf(stderr, "BLAS: %.*s called with an illegal parameter %d\n", len, name, *info);
  blas_errors++;
  return 0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi). */
static float rng_uniform(float lo, float hi) {
  double u = (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
  return (float)(lo + (hi - lo) * u);
}

static float *falloc(size_t n) {
  float *p = calloc(n ? n : 1, sizeof(float));
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static double *dalloc(size_t n) {
  double *p = calloc(n ? n : 1, sizeof(double));
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static float *rand_buf(size_t n, float lo, float hi) {
  float *p = falloc(n);
  for (size_t i = 0; i < n; i++) p[i] = rng_uniform(lo, hi);
  return p;
}

static float *nan_buf(size_t n) {
  float *p = falloc(n);
  for (size_t i = 0; i < n; i++) p[i] = NAN;
  return p;
}

static float *copy_buf(const float *src, size_t n) {
  float *p = falloc(n);
  memcpy(p, src, n * sizeof(float));
  return p;
}

/* Checks |got - want| <= tol * max(1, |want|) element-wise; NaN always fails. */
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

/* Exact equality (for copies and single-rounding operations). */
static void expect_equal(const char *what, const float *got, const float *want, size_t n) {
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < n; i++)
    if (!(got[i] == want[i]) && bad++ == 0) first = i;
  compared++;
  CHECK_MSG(bad == 0, "%s: %zu of %zu differ, first [%zu] got %.9g want %.9g", what, bad, n, first,
            bad ? (double)got[first] : 0.0, bad ? (double)want[first] : 0.0);
}

/* Started pools, one per thread count, kept for the whole run (without started workers a
 * product split for several threads runs on the caller's thread alone). */
static lnl_parallel pools[65];

static lnl_parallel *pool_of(int threads) {
  lnl_parallel *p = &pools[threads < 0 ? 0 : threads > 64 ? 64 : threads];
  if (!p->threads) {
    p->threads = threads;
    lnl_parallel_start(p);
  }
  return p;
}

static void stop_pools(void) {
  for (int i = 0; i < 65; i++) lnl_parallel_stop(&pools[i]);
}

static void note_gemm(int m, int n, int k, int threads) {
  if (threads >= 2 && (double)m * n * k >= SPLIT_MIN_MACS && n >= 32) split_seen++;
}

/* ---- convolution ---- */

typedef struct conv_case {
  int cin, cout, h, w, kh, kw, stride, pad, groups;
} conv_case;

static int ref_out_size(int in, int k, int stride, int pad) {
  int span = in + 2 * pad - k;
  return span < 0 ? 0 : span / stride + 1;
}

/* out[cout][oh][ow] = bias + sum over the group's inputs and the window (zero padding). */
static void ref_conv(const conv_case *cc, const float *weight, const float *bias, const float *in,
                     double *out) {
  int oh = ref_out_size(cc->h, cc->kh, cc->stride, cc->pad);
  int ow = ref_out_size(cc->w, cc->kw, cc->stride, cc->pad);
  int cin_g = cc->cin / cc->groups, cout_g = cc->cout / cc->groups;
  for (int o = 0; o < cc->cout; o++) {
    int g = o / cout_g;
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        double acc = bias ? bias[o] : 0.0;
        for (int ci = 0; ci < cin_g; ci++) {
          int ic = g * cin_g + ci;
          for (int ky = 0; ky < cc->kh; ky++)
            for (int kx = 0; kx < cc->kw; kx++) {
              int iy = oy * cc->stride - cc->pad + ky, ix = ox * cc->stride - cc->pad + kx;
              if (iy < 0 || iy >= cc->h || ix < 0 || ix >= cc->w) continue;
              double wv = weight[(((size_t)o * cin_g + ci) * cc->kh + ky) * cc->kw + kx];
              acc += wv * in[((size_t)ic * cc->h + iy) * cc->w + ix];
            }
        }
        out[((size_t)o * oh + oy) * ow + ox] = acc;
      }
  }
}

static void ref_relu(double *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (x[i] < 0.0) x[i] = 0.0;
}

static lnl_conv make_conv(const conv_case *cc, float *weight, float *bias) {
  lnl_conv c = {cc->cin, cc->cout, cc->kh, cc->kw, cc->stride, cc->pad, cc->groups, weight, bias};
  return c;
}

/* Runs lnl_conv2d with exactly sized buffers and compares with `want`. */
static void run_conv(const char *name, const lnl_conv *conv, const conv_case *cc, const float *in,
                     int relu, int threads, const double *want) {
  int oh = ref_out_size(cc->h, cc->kh, cc->stride, cc->pad);
  int ow = ref_out_size(cc->w, cc->kw, cc->stride, cc->pad);
  size_t nout = (size_t)cc->cout * oh * ow;
  size_t nscratch = lnl_conv_scratch(conv, cc->h, cc->w);
  float *scratch = nan_buf(nscratch ? nscratch : 1);
  float *out = nan_buf(nout);
  lnl_parallel *par = pool_of(threads);
  lnl_conv2d(conv, in, cc->h, cc->w, out, scratch, relu, par);
  char what[160];
  snprintf(what, sizeof what, "%s threads=%d", name, threads);
  expect_close(what, out, want, nout, TOL);
  int cin_g = cc->cin / cc->groups, cout_g = cc->cout / cc->groups;
  note_gemm(cout_g, oh * ow, cin_g * cc->kh * cc->kw, threads);
  free(out);
  free(scratch);
}

static void test_conv_case(const conv_case *cc, int has_bias, int relu) {
  char name[160];
  snprintf(name, sizeof name, "conv2d cin=%d cout=%d %dx%d k=%dx%d s=%d p=%d g=%d bias=%d relu=%d",
           cc->cin, cc->cout, cc->h, cc->w, cc->kh, cc->kw, cc->stride, cc->pad, cc->groups,
           has_bias, relu);
  int oh = ref_out_size(cc->h, cc->kh, cc->stride, cc->pad);
  int ow = ref_out_size(cc->w, cc->kw, cc->stride, cc->pad);
  CHECK_MSG(oh > 0 && ow > 0, "%s: bad case", name);
  CHECK_MSG(lnl_conv_out_size(cc->h, cc->kh, cc->stride, cc->pad) == oh, "%s: out h", name);
  CHECK_MSG(lnl_conv_out_size(cc->w, cc->kw, cc->stride, cc->pad) == ow, "%s: out w", name);
  size_t nw = (size_t)cc->cout * (cc->cin / cc->groups) * cc->kh * cc->kw;
  size_t nin = (size_t)cc->cin * cc->h * cc->w, nout = (size_t)cc->cout * oh * ow;
  float *weight = rand_buf(nw, -1.0f, 1.0f);
  float *bias = has_bias ? rand_buf((size_t)cc->cout, -1.0f, 1.0f) : NULL;
  float *in = rand_buf(nin, -1.0f, 1.0f);
  double *want = dalloc(nout);
  ref_conv(cc, weight, bias, in, want);
  if (relu) ref_relu(want, nout);
  lnl_conv conv = make_conv(cc, weight, bias);
  run_conv(name, &conv, cc, in, relu, 1, want);
  run_conv(name, &conv, cc, in, relu, 2, want);
  free(want);
  free(in);
  free(bias);
  free(weight);
}

static const conv_case conv_cases[] = {
    /* cin cout  h   w  kh kw  s  p  g */
    {3, 5, 7, 7, 1, 1, 1, 0, 1},      /* pointwise: no scratch */
    {1, 1, 1, 1, 1, 1, 1, 0, 1},      /* 1x1 everything */
    {6, 9, 3, 5, 1, 1, 1, 0, 3},      /* grouped pointwise */
    {5, 4, 13, 9, 1, 1, 2, 0, 1},     /* 1x1 stride 2 */
    {3, 2, 3, 5, 1, 1, 1, 1, 1},      /* 1x1 with padding */
    {3, 8, 13, 9, 3, 3, 1, 1, 1},     /* 3x3 same */
    {5, 7, 7, 7, 3, 3, 2, 1, 1},      /* 3x3 stride 2 */
    {3, 3, 3, 5, 3, 3, 1, 0, 1},      /* 3x3 valid on 3x5 -> 1x3 */
    {2, 5, 13, 9, 3, 3, 2, 0, 1},     /* 3x3 stride 2 valid */
    {4, 3, 8, 6, 3, 3, 2, 2, 1},      /* pad 2, even input */
    {1, 3, 1, 1, 3, 3, 1, 1, 1},      /* 1x1 input, 3x3 kernel */
    {3, 4, 9, 13, 5, 5, 1, 2, 1},     /* 5x5 same */
    {2, 3, 7, 7, 5, 5, 2, 2, 1},      /* 5x5 stride 2 */
    {3, 2, 5, 5, 5, 5, 1, 0, 1},      /* 5x5 on 5x5 -> 1x1 */
    {3, 5, 7, 9, 1, 3, 1, 1, 1},      /* 1x3 */
    {3, 5, 7, 9, 3, 1, 1, 0, 1},      /* 3x1 */
    {4, 6, 13, 9, 3, 5, 2, 1, 1},     /* 3x5 stride 2 */
    {5, 3, 9, 13, 5, 3, 1, 2, 1},     /* 5x3 pad 2 */
    {4, 6, 7, 7, 3, 3, 1, 1, 2},      /* groups 2 */
    {6, 4, 13, 9, 5, 5, 2, 2, 2},     /* groups 2, 5x5 stride 2 */
    {6, 6, 7, 5, 1, 3, 1, 1, 2},      /* groups 2, 1x3 */
    {7, 7, 7, 7, 3, 3, 1, 1, 7},      /* depthwise */
    {5, 5, 13, 9, 3, 3, 2, 1, 5},     /* depthwise stride 2 */
    {3, 6, 9, 7, 5, 5, 1, 2, 3},      /* depthwise, multiplier 2 */
    {9, 9, 1, 1, 3, 3, 1, 1, 9},      /* depthwise on 1x1 */
    {32, 64, 24, 24, 3, 3, 1, 1, 1},  /* large: the product splits over threads */
    {16, 33, 23, 21, 3, 3, 1, 1, 1},  /* large, odd pixel count */
    {64, 48, 20, 19, 1, 1, 1, 0, 1},  /* large pointwise */
    {32, 32, 24, 24, 3, 3, 1, 1, 2},  /* large grouped */
    {48, 48, 31, 31, 3, 3, 2, 1, 48}, /* large depthwise */
    {24, 24, 20, 37, 3, 3, 1, 1, 24}, /* depthwise 3x3 same, wide rows: the SIMD kernel */
    {4, 4, 2, 9, 3, 3, 1, 1, 4},      /* depthwise 3x3 same, narrower than a vector */
    {3, 3, 1, 10, 3, 3, 1, 1, 3},     /* depthwise 3x3 same, one row, one vector */
    {40, 13, 9, 7, 1, 1, 1, 0, 1},    /* pointwise: row and pixel tails of the SIMD kernel */
};

static void test_conv(void) {
  size_t ncases = sizeof conv_cases / sizeof conv_cases[0];
  /* every kernel set this CPU runs (the depthwise 3x3 case has SIMD kernels) */
  const char *kernels[] = {"avx512", "avx2", "generic"};
  for (int k = 0; k < 3; k++) {
    if (!lnl_kernels_select(kernels[k])) continue;
    for (size_t i = 0; i < ncases; i++)
      for (int has_bias = 0; has_bias <= 1; has_bias++)
        for (int relu = 0; relu <= 1; relu++) test_conv_case(&conv_cases[i], has_bias, relu);
  }
}

/* ---- batch-norm folding ---- */

static void test_fold_case(const conv_case *cc, int has_bias, int relu) {
  char name[160];
  snprintf(name, sizeof name, "fold_batchnorm cin=%d cout=%d %dx%d k=%dx%d g=%d bias=%d relu=%d",
           cc->cin, cc->cout, cc->h, cc->w, cc->kh, cc->kw, cc->groups, has_bias, relu);
  int oh = ref_out_size(cc->h, cc->kh, cc->stride, cc->pad);
  int ow = ref_out_size(cc->w, cc->kw, cc->stride, cc->pad);
  size_t npix = (size_t)oh * ow, nout = (size_t)cc->cout * npix;
  size_t nw = (size_t)cc->cout * (cc->cin / cc->groups) * cc->kh * cc->kw;
  size_t nc = (size_t)cc->cout;
  float *weight = rand_buf(nw, -1.0f, 1.0f);
  float *bias = has_bias ? rand_buf(nc, -1.0f, 1.0f) : NULL;
  float *in = rand_buf((size_t)cc->cin * cc->h * cc->w, -1.0f, 1.0f);
  float *gamma = rand_buf(nc, 0.2f, 2.0f), *beta = rand_buf(nc, -1.0f, 1.0f);
  float *mean = rand_buf(nc, -0.5f, 0.5f), *var = rand_buf(nc, 0.1f, 3.0f);
  const float eps = 1e-5f;
  gamma[0] = -gamma[0]; /* negative scales happen too */

  double *want = dalloc(nout);
  ref_conv(cc, weight, bias, in, want);
  for (size_t o = 0; o < nc; o++) {
    double s = (double)gamma[o] / sqrt((double)var[o] + (double)eps);
    for (size_t i = 0; i < npix; i++) {
      double *v = &want[o * npix + i];
      *v = (*v - mean[o]) * s + beta[o];
    }
  }
  if (relu) ref_relu(want, nout);

  float *fw = copy_buf(weight, nw);
  float *fb = falloc(nc);
  for (size_t o = 0; o < nc; o++) fb[o] = bias ? bias[o] : 0.0f;
  lnl_conv conv = make_conv(cc, fw, fb);
  lnl_fold_batchnorm(&conv, gamma, beta, mean, var, eps);
  CHECK_MSG(conv.weight == fw && conv.bias == fb, "%s: buffers moved", name);
  run_conv(name, &conv, cc, in, relu, 1, want);

  free(fb);
  free(fw);
  free(want);
  free(var);
  free(mean);
  free(beta);
  free(gamma);
  free(in);
  free(bias);
  free(weight);
}

static void test_fold_batchnorm(void) {
  static const conv_case cases[] = {
      {3, 5, 7, 7, 3, 3, 1, 1, 1},
      {4, 6, 9, 5, 1, 1, 1, 0, 2},
      {7, 7, 13, 9, 3, 3, 2, 1, 7},
      {3, 4, 5, 7, 3, 5, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (int has_bias = 0; has_bias <= 1; has_bias++)
      for (int relu = 0; relu <= 1; relu++) test_fold_case(&cases[i], has_bias, relu);
}

/* ---- linear ---- */

static void test_linear(void) {
  static const int shapes[][2] = {{1, 1}, {13, 7}, {7, 13}, {512, 7}, {3, 1}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int has_bias = 0; has_bias <= 1; has_bias++) {
      int nin = shapes[s][0], nout = shapes[s][1];
      float *weight = rand_buf((size_t)nin * nout, -1.0f, 1.0f);
      float *bias = has_bias ? rand_buf((size_t)nout, -1.0f, 1.0f) : NULL;
      float *in = rand_buf((size_t)nin, -1.0f, 1.0f);
      float *out = nan_buf((size_t)nout);
      double *want = dalloc((size_t)nout);
      for (int o = 0; o < nout; o++) {
        double acc = bias ? bias[o] : 0.0;
        for (int i = 0; i < nin; i++) acc += (double)weight[(size_t)o * nin + i] * in[i];
        want[o] = acc;
      }
      lnl_linear lin = {nin, nout, weight, bias};
      lnl_linear_forward(&lin, in, out);
      char what[80];
      snprintf(what, sizeof what, "linear %d->%d bias=%d", nin, nout, has_bias);
      expect_close(what, out, want, (size_t)nout, TOL);
      free(want);
      free(out);
      free(in);
      free(bias);
      free(weight);
    }
}

/* ---- element-wise ---- */

static void test_elementwise(void) {
  static const size_t sizes[] = {1, 7, 13, 1000};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    float *a = rand_buf(n, -10.0f, 10.0f), *b = rand_buf(n, -10.0f, 10.0f);
    if (n >= 7) {
      a[0] = 0.0f, a[1] = -0.0f, a[2] = 1000.0f, a[3] = -1000.0f, a[4] = 88.0f, a[5] = -88.0f;
      a[6] = 1e-30f;
    }
    float *want = falloc(n);
    double *dwant = dalloc(n);
    char what[64];

    float *x = copy_buf(a, n);
    lnl_relu(x, n);
    for (size_t i = 0; i < n; i++) want[i] = a[i] > 0.0f ? a[i] : 0.0f;
    snprintf(what, sizeof what, "relu n=%zu", n);
    expect_equal(what, x, want, n);
    for (size_t i = 0; i < n; i++) CHECK(!(x[i] < 0.0f));

    /* add and scale round once, so a double computation rounded to float is exact */
    memcpy(x, a, n * sizeof(float));
    lnl_add(x, b, n);
    for (size_t i = 0; i < n; i++) want[i] = (float)((double)a[i] + (double)b[i]);
    snprintf(what, sizeof what, "add n=%zu", n);
    expect_equal(what, x, want, n);

    static const float scales[] = {0.0f, 1.0f, -2.5f, 0.125f, 3.7f};
    for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
      memcpy(x, a, n * sizeof(float));
      lnl_scale(x, n, scales[k]);
      for (size_t i = 0; i < n; i++) want[i] = (float)((double)a[i] * (double)scales[k]);
      snprintf(what, sizeof what, "scale n=%zu s=%g", n, (double)scales[k]);
      expect_equal(what, x, want, n);
    }

    free(x);
    free(dwant);
    free(want);
    free(b);
    free(a);
  }
}

/* ---- softmax ---- */

static void ref_softmax(const float *x, size_t n, double *out) {
  double mx = x[0], sum = 0.0;
  for (size_t i = 1; i < n; i++) mx = fmax(mx, x[i]);
  for (size_t i = 0; i < n; i++) sum += out[i] = exp((double)x[i] - mx);
  for (size_t i = 0; i < n; i++) out[i] /= sum;
}

static void softmax_case(const char *label, const float *x, size_t n) {
  float *y = copy_buf(x, n);
  double *want = dalloc(n);
  ref_softmax(x, n, want);
  lnl_softmax(y, n);
  char what[80];
  snprintf(what, sizeof what, "softmax %s n=%zu", label, n);
  expect_close(what, y, want, n, 1e-5);
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    CHECK_MSG(y[i] >= 0.0f && y[i] <= 1.0f, "%s: [%zu] = %g", what, i, (double)y[i]);
    sum += y[i];
  }
  CHECK_MSG(fabs(sum - 1.0) <= 1e-5, "%s: sums to %.9g", what, sum);
  free(want);
  free(y);
}

static void test_softmax(void) {
  float one[1] = {-3.0f};
  softmax_case("single", one, 1);
  float large[] = {1000.0f, 999.0f, 1001.0f, -1000.0f, 0.0f};
  softmax_case("large", large, sizeof large / sizeof large[0]);
  float same[] = {1000.0f, 1000.0f, 1000.0f, 1000.0f, 1000.0f};
  softmax_case("equal-large", same, sizeof same / sizeof same[0]);
  float neg[] = {-1000.0f, -1001.0f, -999.5f};
  softmax_case("large-negative", neg, sizeof neg / sizeof neg[0]);
  float big[] = {3e38f, -3e38f, 0.0f};
  softmax_case("extreme", big, sizeof big / sizeof big[0]);
  static const size_t sizes[] = {2, 7, 49, 1000};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    float *x = rand_buf(sizes[s], -20.0f, 20.0f);
    softmax_case("random", x, sizes[s]);
    for (size_t i = 0; i < sizes[s]; i++) x[i] += 1000.0f;
    softmax_case("random+1000", x, sizes[s]);
    free(x);
  }
  float dummy[1] = {42.0f};
  lnl_softmax(dummy, 0); /* n = 0 leaves the data alone */
  CHECK(dummy[0] == 42.0f);
}

/* ---- pooling ---- */

static void ref_pool(const float *in, int c, int h, int w, int k, int stride, int is_max,
                     double *out) {
  int oh = (h - k) / stride + 1, ow = (w - k) / stride + 1;
  for (int ch = 0; ch < c; ch++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        double acc = is_max ? -INFINITY : 0.0;
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++) {
            double v = in[((size_t)ch * h + oy * stride + ky) * w + ox * stride + kx];
            acc = is_max ? fmax(acc, v) : acc + v;
          }
        out[((size_t)ch * oh + oy) * ow + ox] = is_max ? acc : acc / (k * k);
      }
}

static void test_pool(void) {
  static const int cases[][5] = {
      /* c  h   w  k  s */
      {3, 7, 7, 2, 2},  {5, 13, 9, 2, 2}, {3, 3, 5, 2, 2}, {1, 2, 2, 2, 2}, {3, 7, 7, 3, 2},
      {5, 13, 9, 3, 2}, {3, 3, 5, 3, 2},  {3, 3, 5, 3, 1}, {5, 7, 7, 3, 1}, {3, 9, 13, 3, 1},
      {3, 1, 1, 1, 1},  {2, 6, 8, 2, 2},  {3, 8, 11, 3, 3}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int c = cases[i][0], h = cases[i][1], w = cases[i][2], k = cases[i][3], s = cases[i][4];
    int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
    size_t nin = (size_t)c * h * w, nout = (size_t)c * oh * ow;
    float *in = rand_buf(nin, -1.0f, 1.0f);
    /* one channel entirely negative and far from zero */
    for (size_t j = 0; j < (size_t)h * w; j++) in[j] = rng_uniform(-1e6f, -1e5f);
    double *want = dalloc(nout);
    float *out = nan_buf(nout);
    char what[96];
    ref_pool(in, c, h, w, k, s, 1, want);
    lnl_maxpool2d(in, c, h, w, k, s, out, NULL);
    snprintf(what, sizeof what, "maxpool2d c=%d %dx%d k=%d s=%d", c, h, w, k, s);
    expect_close(what, out, want, nout, 0.0);
    free(out);
    free(want);
    free(in);
  }
}

/* The detector's nearest upsampling (ONNX Resize nearest, asymmetric, floor) and sigmoid. */
static void test_upsample_sigmoid(void) {
  static const int cases[][4] = {{1, 1, 1, 2}, {3, 5, 7, 2}, {2, 4, 3, 3}, {4, 2, 9, 1}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int c = cases[i][0], h = cases[i][1], w = cases[i][2], f = cases[i][3];
    size_t nin = (size_t)c * h * w, nout = nin * f * f;
    float *in = rand_buf(nin, -5.0f, 5.0f), *out = nan_buf(nout);
    double *want = dalloc(nout);
    for (int ch = 0; ch < c; ch++)
      for (int y = 0; y < h * f; y++)
        for (int x = 0; x < w * f; x++)
          want[((size_t)ch * h * f + y) * w * f + x] = in[((size_t)ch * h + y / f) * w + x / f];
    lnl_upsample_nearest(in, c, h, w, f, out);
    char what[64];
    snprintf(what, sizeof what, "upsample c=%d %dx%d x%d", c, h, w, f);
    expect_close(what, out, want, nout, 0.0);
    for (size_t k = 0; k < nin; k++) want[k] = 1.0 / (1.0 + exp(-(double)in[k]));
    lnl_sigmoid(in, nin);
    snprintf(what, sizeof what, "sigmoid %zu values", nin);
    expect_close(what, in, want, nin, 1e-6);
    free(want);
    free(out);
    free(in);
  }
}

/* ---- resizing ---- */

/* PyTorch bilinear, align_corners=False, along one axis. */
static void ref_bilinear_tap(int o, int n_in, int n_out, int *i0, int *i1, double *lambda) {
  double src = ((double)o + 0.5) * ((double)n_in / n_out) - 0.5;
  if (src < 0.0) src = 0.0;
  *i0 = (int)floor(src);
  *i1 = *i0 + 1 < n_in - 1 ? *i0 + 1 : n_in - 1;
  *lambda = src - *i0;
}

static void ref_bilinear(const float *in, int c, int h, int w, double *out, int oh, int ow) {
  for (int ch = 0; ch < c; ch++)
    for (int oy = 0; oy < oh; oy++) {
      int y0, y1;
      double ly;
      ref_bilinear_tap(oy, h, oh, &y0, &y1, &ly);
      for (int ox = 0; ox < ow; ox++) {
        int x0, x1;
        double lx;
        ref_bilinear_tap(ox, w, ow, &x0, &x1, &lx);
        const float *p = in + (size_t)ch * h * w;
        double v = (1 - ly) * ((1 - lx) * p[y0 * w + x0] + lx * p[y0 * w + x1]) +
                   ly * ((1 - lx) * p[y1 * w + x0] + lx * p[y1 * w + x1]);
        out[((size_t)ch * oh + oy) * ow + ox] = v;
      }
    }
}

/* ---- attention ---- */

/* lnl_attention (engine/lnl_nhwc.h) on q, k and v side by side in one map of 3 d channels,
 * as the network's non-local block calls it, and with a wider row stride. */
static void test_attention(void) {
  static const int cases[][2] = {{1, 1}, {5, 7}, {8, 49}, {3, 13}, {16, 100}, {64, 256}, {7, 33}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (int extra = 0; extra <= 5; extra += 5) {
      int d = cases[i][0], n = cases[i][1], ld = 3 * d + extra;
      size_t nd = (size_t)d * n, nn = (size_t)n * n;
      float *qkv = rand_buf((size_t)n * ld, -2.0f, 2.0f);
      const float *q = qkv, *k = qkv + d, *v = qkv + 2 * d;
      double *want = dalloc(nd), *row = dalloc((size_t)n);
      for (int a = 0; a < n; a++) {
        double mx = -INFINITY, sum = 0.0;
        for (int b = 0; b < n; b++) {
          double dot = 0.0;
          for (int c = 0; c < d; c++) dot += (double)q[(size_t)a * ld + c] * k[(size_t)b * ld + c];
          row[b] = dot / sqrt((double)d);
          mx = fmax(mx, row[b]);
        }
        for (int b = 0; b < n; b++) sum += row[b] = exp(row[b] - mx);
        for (int c = 0; c < d; c++) {
          double acc = 0.0;
          for (int b = 0; b < n; b++) acc += row[b] / sum * v[(size_t)b * ld + c];
          want[(size_t)a * d + c] = acc;
        }
      }
      for (int threads = 1; threads <= 2; threads++) {
        float *att = nan_buf(nn), *y = nan_buf(nd);
        lnl_parallel *par = pool_of(threads);
        lnl_attention(q, k, v, ld, d, n, att, y, par);
        char what[80];
        snprintf(what, sizeof what, "attention d=%d n=%d ld=%d threads=%d", d, n, ld, threads);
        expect_close(what, y, want, nd, TOL);
        note_gemm(n, n, d, threads);
        free(y);
        free(att);
      }
      free(row);
      free(want);
      free(qkv);
    }
}

/* ---- gemm ---- */

static const float SENTINEL = 12345.0f;

static void test_gemm_case(int ta, int tb, int m, int n, int k, int pad, float beta, int threads) {
  int arows = ta ? k : m, acols = ta ? m : k, brows = tb ? n : k, bcols = tb ? k : n;
  int lda = acols + pad, ldb = bcols + pad, ldc = n + pad;
  /* A and B carry NaN in their padding (it must not be read), C a sentinel (not to be written) */
  float *a = nan_buf((size_t)arows * lda), *b = nan_buf((size_t)brows * ldb);
  for (int r = 0; r < arows; r++)
    for (int q = 0; q < acols; q++) a[(size_t)r * lda + q] = rng_uniform(-1.0f, 1.0f);
  for (int r = 0; r < brows; r++)
    for (int q = 0; q < bcols; q++) b[(size_t)r * ldb + q] = rng_uniform(-1.0f, 1.0f);
  float *c = falloc((size_t)m * ldc);
  for (int r = 0; r < m; r++)
    for (int q = 0; q < ldc; q++)
      c[(size_t)r * ldc + q] = q >= n ? SENTINEL : beta != 0.0f ? rng_uniform(-1.0f, 1.0f) : NAN;

  double *want = dalloc((size_t)m * n);
  for (int r = 0; r < m; r++)
    for (int q = 0; q < n; q++) {
      double acc = beta != 0.0f ? (double)beta * c[(size_t)r * ldc + q] : 0.0;
      for (int l = 0; l < k; l++) {
        double av = ta ? a[(size_t)l * lda + r] : a[(size_t)r * lda + l];
        double bv = tb ? b[(size_t)q * ldb + l] : b[(size_t)l * ldb + q];
        acc += av * bv;
      }
      want[(size_t)r * n + q] = acc;
    }

  lnl_parallel *par = pool_of(threads);
  int errors_before = blas_errors;
  lnl_gemm(par, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
  note_gemm(m, n, k, threads);

  float *got = falloc((size_t)m * n);
  int pad_ok = 1;
  for (int r = 0; r < m; r++)
    for (int q = 0; q < ldc; q++) {
      float v = c[(size_t)r * ldc + q];
      if (q < n)
        got[(size_t)r * n + q] = v;
      else if (v != SENTINEL)
        pad_ok = 0;
    }
  char what[128];
  snprintf(what, sizeof what, "gemm ta=%d tb=%d m=%d n=%d k=%d pad=%d beta=%g threads=%d", ta, tb,
           m, n, k, pad, (double)beta, threads);
  expect_close(what, got, want, (size_t)m * n, TOL);
  CHECK_MSG(pad_ok, "%s: wrote past n in a row of C", what);
  CHECK_MSG(blas_errors == errors_before, "%s: BLAS called with illegal arguments", what);

  free(got);
  free(want);
  free(c);
  free(b);
  free(a);
}

static void test_gemm(void) {
  static const int shapes[][3] = {{1, 1, 1},   {3, 5, 7},  {13, 9, 11}, {1, 37, 5},
                                  {33, 1, 17}, {7, 49, 3}, {5, 33, 2}};
  for (int ta = 0; ta <= 1; ta++)
    for (int tb = 0; tb <= 1; tb++) {
      for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int pad = 0; pad <= 3; pad += 3)
          for (int beta = 0; beta <= 1; beta++)
            for (int threads = 1; threads <= 2; threads++)
              test_gemm_case(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], pad, (float)beta,
                             threads);
      /* large enough to split across 2 threads, odd n so the column blocks differ */
      for (int beta = 0; beta <= 1; beta++)
        for (int threads = 1; threads <= 2; threads++)
          test_gemm_case(ta, tb, 37, 1001, 129, 5, (float)beta, threads);
      /* many threads: 19 threads over 305 columns rounds to blocks of 17 */
      test_gemm_case(ta, tb, 128, 305, 128, 1, 1.0f, 19);
    }
  test_gemm_case(0, 0, 40, 1025, 256, 0, 0.0f, 64);
  test_gemm_case(0, 0, 3, 40, 5, 0, 0.0f, 0); /* threads < 1 means one */
}

/* ---- channels-last operators (engine/lnl_nhwc.h) ---- */

typedef struct nhwc_case {
  int cin, cout, h, w, k, groups, images;
  int in_pad, out_pad; /* extra channels around each pixel: maps are slices of wider ones */
  int window;          /* the input is a window of a map 3 pixels wider and taller */
} nhwc_case;

/* A map of h x w pixels with c channels inside pixels of c + 2 * pad floats, channel pad
 * first; with window, inside a map of (h + 3) x (w + 3) pixels at (2, 1). */
static lnl_map nhwc_map(float *buf, int h, int w, int c, int pad, int window) {
  int cs = c + 2 * pad, ww = window ? w + 3 : w;
  float *origin = buf + (window ? ((size_t)1 * ww + 2) * cs : 0) + pad;
  return (lnl_map){origin, h, w, (size_t)ww * cs, (size_t)cs};
}

static size_t nhwc_size(int h, int w, int c, int pad, int window) {
  return (size_t)(window ? h + 3 : h) * (window ? w + 3 : w) * (c + 2 * pad);
}

static void nhwc_to_chw(const lnl_map *m, int c, float *out) {
  for (int ch = 0; ch < c; ch++)
    for (int y = 0; y < m->h; y++)
      for (int x = 0; x < m->w; x++)
        out[((size_t)ch * m->h + y) * m->w + x] = m->data[y * m->rs + x * m->cs + ch];
}

static void nhwc_conv_case(const nhwc_case *nc, int has_bias, int relu, int threads,
                           const char *kernel) {
  char name[200];
  snprintf(name, sizeof name,
           "pconv %s cin=%d cout=%d %dx%d k=%d g=%d images=%d pads=%d,%d window=%d bias=%d "
           "relu=%d threads=%d",
           kernel, nc->cin, nc->cout, nc->h, nc->w, nc->k, nc->groups, nc->images, nc->in_pad,
           nc->out_pad, nc->window, has_bias, relu, threads);
  int g = nc->groups, kc = nc->cin / g, cog = nc->cout / g, n = nc->images;
  size_t nw = (size_t)nc->cout * kc * nc->k * nc->k;
  float *weight = rand_buf(nw, -1.0f, 1.0f);
  float *bias = has_bias ? rand_buf((size_t)nc->cout, -1.0f, 1.0f) : NULL;
  lnl_conv conv = {nc->cin, nc->cout, nc->k, nc->k, 1, nc->k / 2, g, weight, bias};
  lnl_pconv pc;
  CHECK_MSG(lnl_pconv_pack(&pc, &conv), "%s: pack", name);
  size_t isz = nhwc_size(nc->h, nc->w, kc, nc->in_pad, nc->window);
  size_t osz = nhwc_size(nc->h, nc->w, cog, nc->out_pad, 0);
  float *in = rand_buf(isz * n, -1.0f, 1.0f), *out = nan_buf(osz * n);
  lnl_map *im = calloc((size_t)n, sizeof *im), *om = calloc((size_t)n, sizeof *om);
  int *group = calloc((size_t)n, sizeof *group);
  for (int i = 0; i < n; i++) {
    im[i] = nhwc_map(in + i * isz, nc->h, nc->w, kc, nc->in_pad, nc->window);
    om[i] = nhwc_map(out + i * osz, nc->h, nc->w, cog, nc->out_pad, 0);
    group[i] = (i * 7 + 3) % g;
  }
  float *before = copy_buf(out, osz * n);
  lnl_parallel *par = pool_of(threads);
  lnl_pconv_run(&pc, n, im, om, g > 1 ? group : NULL, relu, par);
  size_t npix = (size_t)nc->h * nc->w;
  float *chw_in = falloc((size_t)kc * npix), *chw_out = falloc((size_t)cog * npix);
  double *want = dalloc((size_t)cog * npix);
  conv_case cc = {kc, cog, nc->h, nc->w, nc->k, nc->k, 1, nc->k / 2, 1};
  for (int i = 0; i < n; i++) {
    int gi = g > 1 ? group[i] : 0;
    nhwc_to_chw(&im[i], kc, chw_in);
    ref_conv(&cc, weight + (size_t)gi * cog * kc * nc->k * nc->k, bias ? bias + gi * cog : NULL,
             chw_in, want);
    if (relu) ref_relu(want, (size_t)cog * npix);
    nhwc_to_chw(&om[i], cog, chw_out);
    expect_close(name, chw_out, want, (size_t)cog * npix, TOL);
  }
  /* the padding channels around the output slice are left alone */
  size_t touched = 0;
  for (size_t i = 0; i < osz * n; i++) touched += !(out[i] != out[i]) && before[i] != before[i];
  compared++;
  CHECK_MSG(touched == (size_t)n * npix * cog, "%s: wrote %zu values, want %zu", name, touched,
            (size_t)n * npix * cog);
  lnl_pconv_free(&pc);
  free(before);
  free(want);
  free(chw_out);
  free(chw_in);
  free(group);
  free(om);
  free(im);
  free(out);
  free(in);
  free(bias);
  free(weight);
}

static const nhwc_case nhwc_cases[] = {
    /* cin cout h  w  k  g  n  pads window */
    {1, 16, 9, 7, 3, 1, 1, 0, 0, 0},     /* one input channel (the first layer) */
    {3, 5, 4, 5, 3, 1, 2, 1, 2, 0},      /* narrow, sliced in and out */
    {16, 48, 6, 6, 3, 1, 1, 0, 0, 0},    /* 36 pixels, three blocks */
    {20, 40, 7, 5, 3, 1, 3, 0, 3, 0},    /* block tails: 40 = 32 + 8 */
    {8, 16, 1, 1, 3, 1, 1, 0, 0, 0},     /* 1x1 map: every tap but one outside */
    {7, 33, 13, 11, 1, 1, 2, 2, 0, 0},   /* pointwise, pixel tail */
    {6, 96, 5, 5, 1, 1, 1, 0, 0, 0},     /* pointwise, six blocks */
    {5, 7, 8, 9, 5, 1, 1, 0, 0, 0},      /* 5x5 */
    {18, 48, 6, 6, 3, 3, 5, 0, 0, 1},    /* grouped, windows of a larger map */
    {64, 128, 12, 12, 3, 2, 2, 0, 0, 1}, /* grouped, larger: splits over threads */
    {32, 64, 24, 24, 3, 1, 1, 0, 0, 0},  /* larger */
};

static void test_nhwc_conv(void) {
  const char *names[] = {"avx512", "avx2", "generic"};
  int ran = 0;
  for (int k = 0; k < 3; k++) {
    if (!lnl_kernels_select(names[k])) continue;
    ran++;
    for (size_t i = 0; i < sizeof nhwc_cases / sizeof nhwc_cases[0]; i++)
      for (int has_bias = 0; has_bias <= 1; has_bias++)
        for (int relu = 0; relu <= 1; relu++)
          for (int threads = 1; threads <= 2; threads++)
            nhwc_conv_case(&nhwc_cases[i], has_bias, relu, threads, names[k]);
  }
  CHECK_MSG(ran > 0 && lnl_kernels_select("generic"), "the generic kernel must always run");
  CHECK(strcmp(lnl_kernels()->name, "generic") == 0);
  CHECK(!lnl_kernels_select("no-such-kernel"));
  /* what lnl_pconv_pack refuses */
  float wt[4] = {0}, b[2] = {0};
  lnl_pconv pc;
  lnl_conv even = {1, 1, 2, 2, 1, 1, 1, wt, b}, strided = {1, 1, 1, 1, 2, 0, 1, wt, b};
  lnl_conv valid = {1, 1, 3, 3, 1, 0, 1, wt, b}, ragged = {3, 2, 1, 1, 1, 0, 2, wt, b};
  CHECK(!lnl_pconv_pack(&pc, &even) && !lnl_pconv_pack(&pc, &strided));
  CHECK(!lnl_pconv_pack(&pc, &valid) && !lnl_pconv_pack(&pc, &ragged));
}

static void test_nhwc_maps(void) {
  int sizes[][3] = {{1, 7, 5}, {2, 6, 6}, {3, 9, 4}, {5, 12, 12}, {16, 5, 11}, {33, 24, 24}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    int c = sizes[s][0], h = sizes[s][1], w = sizes[s][2];
    for (int pad = 0; pad <= 1; pad++) {
      char name[120];
      size_t isz = nhwc_size(h, w, c, pad, 1);
      float *buf = rand_buf(isz, -2.0f, 2.0f), *chw = falloc((size_t)c * h * w);
      lnl_map in = nhwc_map(buf, h, w, c, pad, 1);
      nhwc_to_chw(&in, c, chw);
      /* 2x2 max pooling and k x k average pooling */
      for (int k = 1; k <= 3; k++) {
        int oh = h / k, ow = w / k;
        if (oh < 1 || ow < 1) continue;
        for (int is_max = 0; is_max <= 1; is_max++) {
          if (is_max && k != 2) continue;
          size_t osz = nhwc_size(oh, ow, c, pad, 0);
          float *obuf = nan_buf(osz), *got = falloc((size_t)c * oh * ow);
          double *want = dalloc((size_t)c * oh * ow);
          lnl_map out = nhwc_map(obuf, oh, ow, c, pad, 0);
          if (is_max)
            lnl_map_maxpool2(&in, c, &out);
          else
            lnl_map_avgpool(&in, c, k, &out);
          ref_pool(chw, c, h, w, k, k, is_max, want);
          nhwc_to_chw(&out, c, got);
          snprintf(name, sizeof name, "map %s k=%d c=%d %dx%d pad=%d",
                   is_max ? "maxpool" : "avgpool", k, c, h, w, pad);
          expect_close(name, got, want, (size_t)c * oh * ow, TOL);
          free(want);
          free(got);
          free(obuf);
        }
      }
      /* bilinear resize (up and down), with and without ReLU */
      int targets[][2] = {{2 * h, 2 * w}, {h, w}, {3, 5}, {1, 1}};
      for (int t = 0; t < 4; t++)
        for (int relu = 0; relu <= 1; relu++) {
          int oh = targets[t][0], ow = targets[t][1];
          size_t osz = nhwc_size(oh, ow, c, pad, 0);
          float *obuf = nan_buf(osz), *got = falloc((size_t)c * oh * ow);
          double *want = dalloc((size_t)c * oh * ow);
          lnl_map out = nhwc_map(obuf, oh, ow, c, pad, 0);
          lnl_map_resize_bilinear(&in, c, &out, relu);
          ref_bilinear(chw, c, h, w, want, oh, ow);
          if (relu) ref_relu(want, (size_t)c * oh * ow);
          nhwc_to_chw(&out, c, got);
          snprintf(name, sizeof name, "map resize c=%d %dx%d -> %dx%d pad=%d relu=%d", c, h, w, oh,
                   ow, pad, relu);
          expect_close(name, got, want, (size_t)c * oh * ow, TOL);
          free(want);
          free(got);
          free(obuf);
        }
      /* channel means */
      float *got = nan_buf((size_t)c);
      double *want = dalloc((size_t)c);
      lnl_map_mean(&in, c, got);
      for (int ch = 0; ch < c; ch++) {
        double sum = 0.0;
        for (int i = 0; i < h * w; i++) sum += chw[(size_t)ch * h * w + i];
        want[ch] = sum / (h * w);
      }
      snprintf(name, sizeof name, "map mean c=%d %dx%d pad=%d", c, h, w, pad);
      expect_close(name, got, want, (size_t)c, TOL);
      free(want);
      free(got);
      free(chw);
      free(buf);
    }
  }
  lnl_map d = lnl_map_dense(NULL, 3, 4, 5);
  CHECK(d.h == 3 && d.w == 4 && d.rs == 20 && d.cs == 5);
}

int main(void) {
  lnl_parallel_init();
  test_gemm();
  test_conv();
  test_fold_batchnorm();
  test_linear();
  test_elementwise();
  test_softmax();
  test_pool();
  test_upsample_sigmoid();
  test_attention();
  test_nhwc_conv();
  test_nhwc_maps();
  stop_pools();
  CHECK_MSG(blas_errors == 0, "%d BLAS calls with illegal arguments", (int)blas_errors);
  CHECK_MSG(split_seen > 0, "no product was large enough to split across threads");
  printf("test_ops: %d comparisons (%d split across threads), %d failed checks\n", compared,
         split_seen, check_failures);
  return check_failures != 0;
}
