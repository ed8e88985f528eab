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

/* One output pixel with the taps that fall inside the plane. */
static float dw3_pixel(const float *in, int h, int w, const float *k, float bias, int y, int x) {
  float acc = bias;
  for (int ky = 0; ky < 3; ky++) {
    int iy = y + ky - 1;
    if (iy < 0 || iy >= h) continue;
    for (int kx = 0; kx < 3; kx++) {
      int ix = x + kx - 1;
      if (ix >= 0 && ix < w) acc += k[ky * 3 + kx] * in[(size_t)iy * w + ix];
    }
  }
  return acc;
}

static void dw3_generic(const float *in, int h, int w, const float *k, float bias, int relu,
                        float *out, int r0, int r1) {
  for (int y = r0; y < r1; y++)
    for (int x = 0; x < w; x++) {
      float v = dw3_pixel(in, h, w, k, bias, y, x);
      out[(size_t)y * w + x] = relu && v < 0.0f ? 0.0f : v;
    }
}

#if LNL_X86
/* Columns 1 .. w - 2 in vectors of 8 (the last vector overlaps the one before when the
 * width is not a multiple of 8: the same values are written twice); rows above and
 * below the plane read a row inside with zero weights. Columns 0 and w - 1 (and planes
 * narrower than 10) one pixel at a time. */
__attribute__((target("avx2,fma"))) static void dw3_avx2(const float *in, int h, int w,
                                                         const float *k, float bias, int relu,
                                                         float *out, int r0, int r1) {
  const __m256 bv = _mm256_set1_ps(bias), z = _mm256_setzero_ps();
  for (int y = r0; y < r1; y++) {
    float *o = out + (size_t)y * w;
    if (w >= 10) {
      __m256 kv[9];
      for (int t = 0; t < 9; t++) kv[t] = _mm256_set1_ps(k[t]);
      const float *b = in + (size_t)y * w, *a = b - w, *c = b + w;
      if (y == 0) {
        a = b;
        kv[0] = kv[1] = kv[2] = z;
      }
      if (y == h - 1) {
        c = b;
        kv[6] = kv[7] = kv[8] = z;
      }
      for (int x = 1;; x += 8) {
        if (x > w - 9) x = w - 9; /* the last vector ends at column w - 2 */
        __m256 acc = bv;
        acc = _mm256_fmadd_ps(kv[0], _mm256_loadu_ps(a + x - 1), acc);
        acc = _mm256_fmadd_ps(kv[1], _mm256_loadu_ps(a + x), acc);
        acc = _mm256_fmadd_ps(kv[2], _mm256_loadu_ps(a + x + 1), acc);
        acc = _mm256_fmadd_ps(kv[3], _mm256_loadu_ps(b + x - 1), acc);
        acc = _mm256_fmadd_ps(kv[4], _mm256_loadu_ps(b + x), acc);
        acc = _mm256_fmadd_ps(kv[5], _mm256_loadu_ps(b + x + 1), acc);
        acc = _mm256_fmadd_ps(kv[6], _mm256_loadu_ps(c + x - 1), acc);
        acc = _mm256_fmadd_ps(kv[7], _mm256_loadu_ps(c + x), acc);
        acc = _mm256_fmadd_ps(kv[8], _mm256_loadu_ps(c + x + 1), acc);
        if (relu) acc = _mm256_max_ps(acc, z);
        _mm256_storeu_ps(o + x, acc);
        if (x == w - 9) break;
      }
      /* columns 0 and w - 1: the taps inside (weights zeroed above and below as well) */
      float t[9];
      for (int i = 0; i < 9; i++) t[i] = k[i];
      if (y == 0) t[0] = t[1] = t[2] = 0.0f;
      if (y == h - 1) t[6] = t[7] = t[8] = 0.0f;
      float v0 =
          bias + t[1] * a[0] + t[2] * a[1] + t[4] * b[0] + t[5] * b[1] + t[7] * c[0] + t[8] * c[1];
      float v1 = bias + t[0] * a[w - 2] + t[1] * a[w - 1] + t[3] * b[w - 2] + t[4] * b[w - 1] +
                 t[6] * c[w - 2] + t[7] * c[w - 1];
      o[0] = relu && v0 < 0.0f ? 0.0f : v0;
      o[w - 1] = relu && v1 < 0.0f ? 0.0f : v1;
      continue;
    }
    for (int x = 0; x < w; x++) {
      float v = dw3_pixel(in, h, w, k, bias, y, x);
      o[x] = relu && v < 0.0f ? 0.0f : v;
    }
  }
}
#endif

/* ---- pointwise convolution of channels-first planes (for the detector) ---- */

#if LNL_X86
#define PWROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

__attribute__((target("avx512f"))) static void pw_avx512(const float *wt, const float *bias,
                                                         int cin, int mr, const float *in,
                                                         size_t npix, float *out, size_t p0, int np,
                                                         int relu) {
  __mmask16 m0 = np >= 16 ? 0xFFFF : (__mmask16)((1u << np) - 1);
  __mmask16 m1 = np >= 32 ? 0xFFFF : np > 16 ? (__mmask16)((1u << (np - 16)) - 1) : 0;
#define ROW(i)                                                  \
  const float *w##i = wt + (size_t)(i < mr ? i : mr - 1) * cin; \
  __m512 c##i##0 = _mm512_set1_ps(bias ? bias[i < mr ? i : mr - 1] : 0.0f), c##i##1 = c##i##0;
  PWROWS(ROW)
#undef ROW
  const float *x = in + p0;
  for (int c = 0; c < cin; c++, x += npix) {
    const __m512 x0 = _mm512_maskz_loadu_ps(m0, x), x1 = _mm512_maskz_loadu_ps(m1, x + 16);
#define FMA(i)                                 \
  {                                            \
    const __m512 b = _mm512_set1_ps(w##i[c]);  \
    c##i##0 = _mm512_fmadd_ps(b, x0, c##i##0); \
    c##i##1 = _mm512_fmadd_ps(b, x1, c##i##1); \
  }
    PWROWS(FMA)
#undef FMA
  }
  const __m512 z = _mm512_setzero_ps();
#define STORE(i)                                \
  if (i < mr) {                                 \
    float *o = out + (size_t)i * npix + p0;     \
    if (relu) {                                 \
      c##i##0 = _mm512_max_ps(c##i##0, z);      \
      c##i##1 = _mm512_max_ps(c##i##1, z);      \
    }                                           \
    _mm512_mask_storeu_ps(o, m0, c##i##0);      \
    _mm512_mask_storeu_ps(o + 16, m1, c##i##1); \
  }
  PWROWS(STORE)
#undef STORE
}

static const int32_t lane_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

__attribute__((target("avx2,fma"))) static void pw_avx2(const float *wt, const float *bias, int cin,
                                                        int mr, const float *in, size_t npix,
                                                        float *out, size_t p0, int np, int relu) {
  int n0 = np >= 8 ? 8 : np, n1 = np >= 16 ? 8 : np > 8 ? np - 8 : 0;
  const __m256i m0 = _mm256_loadu_si256((const __m256i *)(lane_mask + 8 - n0));
  const __m256i m1 = _mm256_loadu_si256((const __m256i *)(lane_mask + 8 - n1));
#define ROW(i)                                                  \
  const float *w##i = wt + (size_t)(i < mr ? i : mr - 1) * cin; \
  __m256 c##i##0 = _mm256_set1_ps(bias ? bias[i < mr ? i : mr - 1] : 0.0f), c##i##1 = c##i##0;
  PWROWS(ROW)
#undef ROW
  const float *x = in + p0;
  for (int c = 0; c < cin; c++, x += npix) {
    const __m256 x0 = _mm256_maskload_ps(x, m0), x1 = _mm256_maskload_ps(x + 8, m1);
#define FMA(i)                                      \
  {                                                 \
    const __m256 b = _mm256_broadcast_ss(w##i + c); \
    c##i##0 = _mm256_fmadd_ps(b, x0, c##i##0);      \
    c##i##1 = _mm256_fmadd_ps(b, x1, c##i##1);      \
  }
    PWROWS(FMA)
#undef FMA
  }
  const __m256 z = _mm256_setzero_ps();
#define STORE(i)                             \
  if (i < mr) {                              \
    float *o = out + (size_t)i * npix + p0;  \
    if (relu) {                              \
      c##i##0 = _mm256_max_ps(c##i##0, z);   \
      c##i##1 = _mm256_max_ps(c##i##1, z);   \
    }                                        \
    _mm256_maskstore_ps(o, m0, c##i##0);     \
    _mm256_maskstore_ps(o + 8, m1, c##i##1); \
  }
  PWROWS(STORE)
#undef STORE
}
#undef PWROWS
#endif

static const lnl_kernel_set sets[] = {
#if LNL_X86
    {"avx512", kernel_avx512, 2, dw3_avx2, pw_avx512, 32},
    {"avx2", kernel_avx2, 1, dw3_avx2, pw_avx2, 16},
#endif
    {"generic", kernel_generic, 1, dw3_generic, NULL, 0},
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
