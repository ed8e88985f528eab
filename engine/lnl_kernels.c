#include "lnl_kernels.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LNL_X86 1
#include <immintrin.h>
#else
#define LNL_X86 0
#endif

#define MR LNL_TILE_ROWS
#define NB LNL_TILE_COLS

/* ---- tiles of packed convolutions (channels-last, lnl_nhwc.c) ---- */

static void store_tile(const float *tile, int ld, float *out, size_t ocs, int mr, int ncols) {
  for (int i = 0; i < mr; i++) memcpy(out + (size_t)i * ocs, tile + i * ld, sizeof(float) * ncols);
}

static void kernel_generic(const float *const *ind, int taps, int kc, const float *w, size_t wblk,
                           int nblk, const float *bias, float *out, size_t ocs, int mr, int ncols,
                           int relu) {
  for (int b = 0; b < nblk; b++) {
    float acc[MR][NB];
    const float *wb = w + (size_t)b * wblk;
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NB; j++) acc[i][j] = bias[b * NB + j];
    for (int t = 0; t < taps; t++) {
      const float *const *a = ind + t * MR;
      for (int c = 0; c < kc; c++, wb += NB)
        for (int i = 0; i < MR; i++) {
          float x = a[i][c];
          for (int j = 0; j < NB; j++) acc[i][j] += x * wb[j];
        }
    }
    if (relu)
      for (int i = 0; i < MR; i++)
        for (int j = 0; j < NB; j++) acc[i][j] = acc[i][j] < 0.0f ? 0.0f : acc[i][j];
    int cols = ncols - b * NB < NB ? ncols - b * NB : NB;
    store_tile(&acc[0][0], NB, out + b * NB, ocs, mr, cols);
  }
}

#if LNL_X86
#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

__attribute__((target("avx2,fma"))) static void
kernel_avx2(const float *const *ind, int taps, int kc, const float *w, size_t wblk, int nblk,
            const float *bias, float *out, size_t ocs, int mr, int ncols, int relu) {
  (void)wblk;
  (void)nblk;
  const __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
#define INIT(i) __m256 c##i##0 = b0, c##i##1 = b1;
  ROWS(INIT)
#undef INIT
  for (int t = 0; t < taps; t++, ind += MR) {
    const float *a0 = ind[0], *a1 = ind[1], *a2 = ind[2], *a3 = ind[3], *a4 = ind[4], *a5 = ind[5];
    for (int c = 0; c < kc; c++, w += NB) {
      const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
#define FMA(i)                                      \
  {                                                 \
    const __m256 x = _mm256_broadcast_ss(a##i + c); \
    c##i##0 = _mm256_fmadd_ps(x, w0, c##i##0);      \
    c##i##1 = _mm256_fmadd_ps(x, w1, c##i##1);      \
  }
      ROWS(FMA)
#undef FMA
    }
  }
  if (relu) {
    const __m256 z = _mm256_setzero_ps();
#define RELU(i)                        \
  c##i##0 = _mm256_max_ps(c##i##0, z); \
  c##i##1 = _mm256_max_ps(c##i##1, z);
    ROWS(RELU)
#undef RELU
  }
  if (mr == MR && ncols == NB) {
#define STORE(i)                            \
  _mm256_storeu_ps(out + i * ocs, c##i##0); \
  _mm256_storeu_ps(out + i * ocs + 8, c##i##1);
    ROWS(STORE)
#undef STORE
  } else {
    float tile[MR * NB];
#define STORE(i)                            \
  _mm256_storeu_ps(tile + i * NB, c##i##0); \
  _mm256_storeu_ps(tile + i * NB + 8, c##i##1);
    ROWS(STORE)
#undef STORE
    store_tile(tile, NB, out, ocs, mr, ncols);
  }
}

/* One or two blocks of 16 channels (a zmm register each) for MR pixels. */
__attribute__((target("avx512f"))) static void
kernel_avx512(const float *const *ind, int taps, int kc, const float *w, size_t wblk, int nblk,
              const float *bias, float *out, size_t ocs, int mr, int ncols, int relu) {
  const __m512 b0 = _mm512_loadu_ps(bias);
  const __m512 b1 = nblk == 2 ? _mm512_loadu_ps(bias + NB) : _mm512_setzero_ps();
#define INIT(i) __m512 c##i##0 = b0, c##i##1 = b1;
  ROWS(INIT)
#undef INIT
  if (nblk == 2) {
    const float *v = w + wblk;
    for (int t = 0; t < taps; t++, ind += MR) {
      const float *a0 = ind[0], *a1 = ind[1], *a2 = ind[2], *a3 = ind[3], *a4 = ind[4],
                  *a5 = ind[5];
      for (int c = 0; c < kc; c++, w += NB, v += NB) {
        const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(v);
#define FMA(i)                                 \
  {                                            \
    const __m512 x = _mm512_set1_ps(a##i[c]);  \
    c##i##0 = _mm512_fmadd_ps(x, w0, c##i##0); \
    c##i##1 = _mm512_fmadd_ps(x, w1, c##i##1); \
  }
        ROWS(FMA)
#undef FMA
      }
    }
  } else {
    for (int t = 0; t < taps; t++, ind += MR) {
      const float *a0 = ind[0], *a1 = ind[1], *a2 = ind[2], *a3 = ind[3], *a4 = ind[4],
                  *a5 = ind[5];
      for (int c = 0; c < kc; c++, w += NB) {
        const __m512 w0 = _mm512_loadu_ps(w);
#define FMA(i) c##i##0 = _mm512_fmadd_ps(_mm512_set1_ps(a##i[c]), w0, c##i##0);
        ROWS(FMA)
#undef FMA
      }
    }
  }
  if (relu) {
    const __m512 z = _mm512_setzero_ps();
#define RELU(i)                        \
  c##i##0 = _mm512_max_ps(c##i##0, z); \
  c##i##1 = _mm512_max_ps(c##i##1, z);
    ROWS(RELU)
#undef RELU
  }
  if (mr == MR && ncols == nblk * NB) {
#define STORE(i)                            \
  _mm512_storeu_ps(out + i * ocs, c##i##0); \
  if (nblk == 2) _mm512_storeu_ps(out + i * ocs + NB, c##i##1);
    ROWS(STORE)
#undef STORE
  } else {
    float tile[MR * 2 * NB];
#define STORE(i)                                \
  _mm512_storeu_ps(tile + i * 2 * NB, c##i##0); \
  _mm512_storeu_ps(tile + i * 2 * NB + NB, c##i##1);
    ROWS(STORE)
#undef STORE
    store_tile(tile, 2 * NB, out, ocs, mr, ncols);
  }
}
#undef ROWS
#endif

/* ---- depthwise 3x3 of channels-first planes (for the detector) ---- */

/* The depthwise and pooling helpers below are inlined into each kernel, also into those
 * compiled for AVX2: a call from AVX code into code compiled without it costs hundreds of
 * cycles on this project's machine (measured: it tripled the 3x3 depthwise time). */
#define DW_HELPER static inline __attribute__((always_inline))

/* The output columns [lo, hi) whose three taps all lie inside a row w wide. */
DW_HELPER void dw3_span(int w, int ow, int stride, int pad, int *lo, int *hi) {
  int end = w - 3 + pad < 0 ? 0 : (w - 3 + pad) / stride + 1;
  *lo = pad < ow ? pad : ow;
  *hi = end > ow ? ow : end < *lo ? *lo : end;
}

/* The three input rows output row y reads; a row outside the plane is replaced by one
 * inside with zero weights, so that the loops over columns need no checks. */
DW_HELPER void dw3_rows(const float *in, int h, int w, const float *k, int y, int stride, int pad,
                        const float *rows[3], float kr[9]) {
  for (int ky = 0; ky < 3; ky++) {
    int iy = y * stride - pad + ky, inside = iy >= 0 && iy < h;
    rows[ky] = in + (size_t)(inside ? iy : iy < 0 ? 0 : h - 1) * w;
    for (int kx = 0; kx < 3; kx++) kr[ky * 3 + kx] = inside ? k[ky * 3 + kx] : 0.0f;
  }
}

DW_HELPER float relu_if(float v, int relu) { return relu && v < 0.0f ? 0.0f : v; }

/* max(0, .) over n values: a separate pass, so that the loops above it stay branch-free
 * (a branch per value mispredicts on half of them). */
DW_HELPER void relu_span(float *o, int n) {
  for (int i = 0; i < n; i++) o[i] = o[i] > 0.0f ? o[i] : 0.0f;
}

/* Columns [x0, x1) of an output row from its three rows, each pixel with its columns
 * checked (the edges). */
DW_HELPER void dw3_edge(const float *const rows[3], const float kr[9], float bias, int relu,
                        float *o, int w, int stride, int pad, int x0, int x1) {
  for (int x = x0; x < x1; x++) {
    float acc = bias;
    for (int kx = 0; kx < 3; kx++) {
      int ix = x * stride - pad + kx;
      if (ix >= 0 && ix < w)
        acc += kr[kx] * rows[0][ix] + kr[3 + kx] * rows[1][ix] + kr[6 + kx] * rows[2][ix];
    }
    o[x] = relu_if(acc, relu);
  }
}

/* Interior columns [x0, x1) of an output row from its three rows (no checks). */
DW_HELPER void dw3_inner(const float *const rows[3], const float kr[9], float bias, int relu,
                         float *o, int stride, int pad, int x0, int x1) {
  const float *a = rows[0], *b = rows[1], *c = rows[2];
  if (stride == 1) {
    for (int x = x0; x < x1; x++) {
      int i = x - pad;
      o[x] = bias + kr[0] * a[i] + kr[1] * a[i + 1] + kr[2] * a[i + 2] + kr[3] * b[i] +
             kr[4] * b[i + 1] + kr[5] * b[i + 2] + kr[6] * c[i] + kr[7] * c[i + 1] +
             kr[8] * c[i + 2];
    }
  } else {
    for (int x = x0; x < x1; x++) {
      int i = 2 * x - pad;
      o[x] = bias + kr[0] * a[i] + kr[1] * a[i + 1] + kr[2] * a[i + 2] + kr[3] * b[i] +
             kr[4] * b[i + 1] + kr[5] * b[i + 2] + kr[6] * c[i] + kr[7] * c[i + 1] +
             kr[8] * c[i + 2];
    }
  }
  if (relu && x1 > x0) relu_span(o + x0, x1 - x0);
}

static void dw3_generic(const float *in, int h, int w, const float *k, float bias, int relu,
                        float *out, int ow, int stride, int pad, int r0, int r1) {
  int lo, hi;
  dw3_span(w, ow, stride, pad, &lo, &hi);
  for (int y = r0; y < r1; y++) {
    float *o = out + (size_t)y * ow;
    const float *rows[3];
    float kr[9];
    dw3_rows(in, h, w, k, y, stride, pad, rows, kr);
    dw3_edge(rows, kr, bias, relu, o, w, stride, pad, 0, lo);
    dw3_inner(rows, kr, bias, relu, o, stride, pad, lo, hi);
    dw3_edge(rows, kr, bias, relu, o, w, stride, pad, hi, ow);
  }
}

DW_HELPER void max2_generic(const float *r0, const float *r1, int n, float *out) {
  for (int x = 0; x < n; x++) {
    float a = r0[2 * x] > r0[2 * x + 1] ? r0[2 * x] : r0[2 * x + 1];
    float b = r1[2 * x] > r1[2 * x + 1] ? r1[2 * x] : r1[2 * x + 1];
    out[x] = a > b ? a : b;
  }
}

#if LNL_X86
/* The interior in vectors of 8 output pixels (the last vector overlaps the one before when
 * the span is not a multiple of 8: the same values are written twice); spans narrower
 * than a vector, and the edge columns, one pixel at a time. Stride 2 splits 16 input
 * columns into their even and odd ones within each 128-bit lane, which leaves the 8
 * outputs in the order 0 1 4 5 2 3 6 7 until one permutation before the store. */
__attribute__((target("avx2,fma"))) static void dw3_avx2(const float *in, int h, int w,
                                                         const float *k, float bias, int relu,
                                                         float *out, int ow, int stride, int pad,
                                                         int r0, int r1) {
  int lo, hi;
  dw3_span(w, ow, stride, pad, &lo, &hi);
  const __m256 bv = _mm256_set1_ps(bias), z = _mm256_setzero_ps();
  for (int y = r0; y < r1; y++) {
    float *o = out + (size_t)y * ow;
    const float *rows[3];
    float kr[9];
    dw3_rows(in, h, w, k, y, stride, pad, rows, kr);
    dw3_edge(rows, kr, bias, relu, o, w, stride, pad, 0, lo);
    dw3_edge(rows, kr, bias, relu, o, w, stride, pad, hi, ow);
    if (hi - lo < 8) {
      dw3_inner(rows, kr, bias, relu, o, stride, pad, lo, hi);
      continue;
    }
    const __m256 k0 = _mm256_set1_ps(kr[0]), k1 = _mm256_set1_ps(kr[1]), k2 = _mm256_set1_ps(kr[2]);
    const __m256 k3 = _mm256_set1_ps(kr[3]), k4 = _mm256_set1_ps(kr[4]), k5 = _mm256_set1_ps(kr[5]);
    const __m256 k6 = _mm256_set1_ps(kr[6]), k7 = _mm256_set1_ps(kr[7]), k8 = _mm256_set1_ps(kr[8]);
    const float *a = rows[0], *b = rows[1], *c = rows[2];
    if (stride == 1) {
      for (int x = lo;; x += 8) {
        if (x > hi - 8) x = hi - 8;
        const int i = x - pad;
        /* one sum per input row: three short dependency chains instead of one long one */
        __m256 acc = _mm256_fmadd_ps(k0, _mm256_loadu_ps(a + i), bv);
        __m256 acc1 = _mm256_mul_ps(k3, _mm256_loadu_ps(b + i));
        __m256 acc2 = _mm256_mul_ps(k6, _mm256_loadu_ps(c + i));
        acc = _mm256_fmadd_ps(k1, _mm256_loadu_ps(a + i + 1), acc);
        acc1 = _mm256_fmadd_ps(k4, _mm256_loadu_ps(b + i + 1), acc1);
        acc2 = _mm256_fmadd_ps(k7, _mm256_loadu_ps(c + i + 1), acc2);
        acc = _mm256_fmadd_ps(k2, _mm256_loadu_ps(a + i + 2), acc);
        acc1 = _mm256_fmadd_ps(k5, _mm256_loadu_ps(b + i + 2), acc1);
        acc2 = _mm256_fmadd_ps(k8, _mm256_loadu_ps(c + i + 2), acc2);
        acc = _mm256_add_ps(acc, _mm256_add_ps(acc1, acc2));
        if (relu) acc = _mm256_max_ps(acc, z);
        _mm256_storeu_ps(o + x, acc);
        if (x == hi - 8) break;
      }
      continue;
    }
    for (int x = lo;; x += 8) {
      if (x > hi - 8) x = hi - 8;
      __m256 acc = bv;
#define DW3_S2_ROW(p, ka, kb, kc)                                                       \
  {                                                                                     \
    const float *q = p + 2 * x - pad;                                                   \
    __m256 u = _mm256_loadu_ps(q), v = _mm256_loadu_ps(q + 8);                          \
    __m256 u1 = _mm256_loadu_ps(q + 1), v1 = _mm256_loadu_ps(q + 9);                    \
    acc = _mm256_fmadd_ps(ka, _mm256_shuffle_ps(u, v, _MM_SHUFFLE(2, 0, 2, 0)), acc);   \
    acc = _mm256_fmadd_ps(kb, _mm256_shuffle_ps(u, v, _MM_SHUFFLE(3, 1, 3, 1)), acc);   \
    acc = _mm256_fmadd_ps(kc, _mm256_shuffle_ps(u1, v1, _MM_SHUFFLE(3, 1, 3, 1)), acc); \
  }
      DW3_S2_ROW(a, k0, k1, k2)
      DW3_S2_ROW(b, k3, k4, k5)
      DW3_S2_ROW(c, k6, k7, k8)
#undef DW3_S2_ROW
      acc = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(acc), _MM_SHUFFLE(3, 1, 2, 0)));
      if (relu) acc = _mm256_max_ps(acc, z);
      _mm256_storeu_ps(o + x, acc);
      if (x == hi - 8) break;
    }
  }
}

/* 2x2 max-pool of a row pair, 8 outputs a vector (the lane order as in dw3_avx2). */
__attribute__((target("avx2,fma"))) static void max2_avx2(const float *r0, const float *r1, int n,
                                                          float *out) {
  int x = 0;
  for (; x + 8 <= n; x += 8) {
    __m256 a = _mm256_max_ps(_mm256_loadu_ps(r0 + 2 * x), _mm256_loadu_ps(r1 + 2 * x));
    __m256 b = _mm256_max_ps(_mm256_loadu_ps(r0 + 2 * x + 8), _mm256_loadu_ps(r1 + 2 * x + 8));
    __m256 m = _mm256_max_ps(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
    m = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(m), _MM_SHUFFLE(3, 1, 2, 0)));
    _mm256_storeu_ps(out + x, m);
  }
  max2_generic(r0 + 2 * x, r1 + 2 * x, n - x, out + x);
}
#endif

/* ---- pointwise products on packed panels (for the detector) ---- */

/* The portable kernel: LNL_PW_ROWS x GENERIC_COLS accumulators that the compiler may keep
 * in vector registers. */
#define GENERIC_COLS 24

static void pw_generic(const float *wt, size_t ldw, const float *bias, int mr, int k,
                       const float *panel, float *out, size_t ldo, int np, int relu) {
  float acc[LNL_PW_ROWS][GENERIC_COLS];
  const float *w[LNL_PW_ROWS];
  for (int i = 0; i < LNL_PW_ROWS; i++) {
    int r = i < mr ? i : mr - 1;
    w[i] = wt + (size_t)r * ldw;
    for (int j = 0; j < GENERIC_COLS; j++) acc[i][j] = 0.0f;
  }
  for (int c = 0; c < k; c++, panel += GENERIC_COLS)
    for (int i = 0; i < LNL_PW_ROWS; i++) {
      float wv = w[i][c];
      for (int j = 0; j < GENERIC_COLS; j++) acc[i][j] += wv * panel[j];
    }
  for (int i = 0; i < mr; i++) { /* the bias after the sum, as BLAS-based runtimes add it */
    float *o = out + (size_t)i * ldo, b = bias ? bias[i] : 0.0f;
    for (int j = 0; j < np; j++) o[j] = acc[i][j] + b;
    if (relu) relu_span(o, np);
  }
}

#if LNL_X86
/* One template for both vector widths: LNL_PW_ROWS rows x 3 vectors of VW pixels, the
 * weights broadcast, the panel's three vectors loaded once per input channel. Rows past
 * mr repeat the last one and are not stored; a partial panel is stored through a tile. */
#define PW_ROWS4(X) X(0) X(1) X(2) X(3)
#define PW_KERNEL(NAME, TARGET)                                                                    \
  __attribute__((target(TARGET))) static void NAME(const float *wt, size_t ldw, const float *bias, \
                                                   int mr, int k, const float *panel, float *out,  \
                                                   size_t ldo, int np, int relu) {                 \
    PW_ROWS4(PW_INIT)                                                                              \
    for (int c = 0; c < k; c++, panel += 3 * PVW) {                                                \
      const PV x0 = PLOAD(panel), x1 = PLOAD(panel + PVW), x2 = PLOAD(panel + 2 * PVW);            \
      PW_ROWS4(PW_FMA)                                                                             \
    }                                                                                              \
    if (bias) {                                                                                    \
      PW_ROWS4(PW_BIAS)                                                                            \
    }                                                                                              \
    if (relu) {                                                                                    \
      const PV z = PZERO();                                                                        \
      PW_ROWS4(PW_RELU)                                                                            \
    }                                                                                              \
    float tile[3 * PVW];                                                                           \
    PW_ROWS4(PW_STORE)                                                                             \
  }
#define PW_INIT(i)                                              \
  const float *w##i = wt + (size_t)(i < mr ? i : mr - 1) * ldw; \
  PV a##i##0 = PZERO(), a##i##1 = a##i##0, a##i##2 = a##i##0;
#define PW_FMA(i)                   \
  {                                 \
    const PV b = PSET1(w##i[c]);    \
    a##i##0 = PFMA(b, x0, a##i##0); \
    a##i##1 = PFMA(b, x1, a##i##1); \
    a##i##2 = PFMA(b, x2, a##i##2); \
  }
#define PW_BIAS(i)                                 \
  {                                                \
    const PV b = PSET1(bias[i < mr ? i : mr - 1]); \
    a##i##0 = PADD(a##i##0, b);                    \
    a##i##1 = PADD(a##i##1, b);                    \
    a##i##2 = PADD(a##i##2, b);                    \
  }
#define PW_RELU(i)            \
  a##i##0 = PMAX(a##i##0, z); \
  a##i##1 = PMAX(a##i##1, z); \
  a##i##2 = PMAX(a##i##2, z);
#define PW_STORE(i)                                                         \
  if (i < mr) {                                                             \
    float *o = np == 3 * PVW ? out + (size_t)i * ldo : tile;                \
    PSTORE(o, a##i##0);                                                     \
    PSTORE(o + PVW, a##i##1);                                               \
    PSTORE(o + 2 * PVW, a##i##2);                                           \
    if (o == tile) memcpy(out + (size_t)i * ldo, tile, sizeof(float) * np); \
  }

#define PV __m256
#define PVW 8
#define PSET1 _mm256_set1_ps
#define PLOAD _mm256_loadu_ps
#define PSTORE _mm256_storeu_ps
#define PFMA _mm256_fmadd_ps
#define PMAX _mm256_max_ps
#define PADD _mm256_add_ps
#define PZERO _mm256_setzero_ps
PW_KERNEL(pw_avx2, "avx2,fma")
#undef PV
#undef PVW
#undef PSET1
#undef PLOAD
#undef PSTORE
#undef PFMA
#undef PMAX
#undef PADD
#undef PZERO
#define PV __m512
#define PVW 16
#define PSET1 _mm512_set1_ps
#define PLOAD _mm512_loadu_ps
#define PSTORE _mm512_storeu_ps
#define PFMA _mm512_fmadd_ps
#define PMAX _mm512_max_ps
#define PADD _mm512_add_ps
#define PZERO _mm512_setzero_ps
PW_KERNEL(pw_avx512, "avx512f")
#undef PV
#undef PVW
#undef PSET1
#undef PLOAD
#undef PSTORE
#undef PFMA
#undef PMAX
#undef PADD
#undef PZERO
#undef PW_KERNEL
#undef PW_INIT
#undef PW_FMA
#undef PW_RELU
#undef PW_BIAS
#undef PW_STORE
#undef PW_ROWS4
#endif

static const lnl_kernel_set sets[] = {
#if LNL_X86
    /* AVX-512 machines run the AVX2 depthwise and pooling kernels (no wider variant) */
    {"avx512", kernel_avx512, 2, dw3_avx2, pw_avx512, 48, max2_avx2},
    {"avx2", kernel_avx2, 1, dw3_avx2, pw_avx2, 24, max2_avx2},
#endif
    {"generic", kernel_generic, 1, dw3_generic, pw_generic, GENERIC_COLS, max2_generic},
};
#define NUM_SETS (int)(sizeof sets / sizeof sets[0])

static int set_runs(const lnl_kernel_set *k) {
#if LNL_X86
  if (strcmp(k->name, "avx512") == 0) return __builtin_cpu_supports("avx512f");
  if (strcmp(k->name, "avx2") == 0)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return 1;
}

static const lnl_kernel_set *find_set(const char *name) {
  for (int i = 0; i < NUM_SETS; i++)
    if (strcmp(sets[i].name, name) == 0 && set_runs(&sets[i])) return &sets[i];
  return NULL;
}

/* The default: $LNL_KERNEL when this CPU runs it, else the first (best) set it runs. */
static const lnl_kernel_set *default_set(void) {
  const char *env = getenv("LNL_KERNEL");
  const lnl_kernel_set *k = env && *env ? find_set(env) : NULL;
  for (int i = 0; !k && i < NUM_SETS; i++)
    if (set_runs(&sets[i])) k = &sets[i];
  return k ? k : &sets[NUM_SETS - 1];
}

/* Threads that find no choice yet all compute the same default; the atomic makes their
 * stores, and a test's lnl_kernels_select, well-defined. */
static _Atomic(const lnl_kernel_set *) chosen;

const lnl_kernel_set *lnl_kernels(void) {
  const lnl_kernel_set *k = atomic_load_explicit(&chosen, memory_order_acquire);
  if (k) return k;
  const lnl_kernel_set *none = NULL;
  k = default_set();
  if (!atomic_compare_exchange_strong_explicit(&chosen, &none, k, memory_order_acq_rel,
                                               memory_order_acquire))
    k = none; /* another thread chose first */
  return k;
}

int lnl_kernels_select(const char *name) {
  const lnl_kernel_set *k = find_set(name);
  if (k) atomic_store_explicit(&chosen, k, memory_order_release);
  return k != NULL;
}
