#include "lnl_nhwc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LNL_X86 1
#include <immintrin.h>
#else
#define LNL_X86 0
#endif

/* Output pixels per kernel call (rows of the register tile). */
#define MR 6
#define NB LNL_NHWC_BLOCK
#define MAX_TAPS 49 /* 7 x 7 */

lnl_map lnl_map_dense(float *data, int h, int w, int c) {
  return (lnl_map){data, h, w, (size_t)w * c, (size_t)c};
}

/* ---- kernels ----
 * One call computes MR output pixels x (16 or 32) output channels:
 *   out[i][j] = bias[j] + sum over taps t, input channels c of ind[t][i][c] * w[t][c][j]
 * ind[t * MR + i] points at the kc input channels of the pixel that tap t of output
 * pixel i reads (a zero vector outside the map). w is one packed block of 16 output
 * channels; with nblk = 2 the second block follows wblk floats later. Only the first
 * mr pixels and ncols channels are stored, pixel i at out + i * ocs. */
typedef void (*kernel_fn)(const float *const *ind, int taps, int kc, const float *w, size_t wblk,
                          int nblk, const float *bias, float *out, size_t ocs, int mr, int ncols,
                          int relu);

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

/* ---- depthwise 3x3 (channels-first planes, for the detector) ----
 * Output rows [r0, r1) of out = bias + 3x3 "same" convolution of one h x w plane. */
typedef void (*dw3_fn)(const float *in, int h, int w, const float *k, float bias, int relu,
                       float *out, int r0, int r1);

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

/* ---- pointwise convolution of channels-first planes (for the detector) ----
 * out[o][p] = bias[o] + sum_c wt[o][c] in[c][p] (+ ReLU) for mr <= 6 output channels
 * (rows of wt cin apart, planes npix apart) and np pixels from p0; np <= the kernel's
 * pixel block. */
typedef void (*pw_fn)(const float *wt, const float *bias, int cin, int mr, const float *in,
                      size_t npix, float *out, size_t p0, int np, int relu);
#define PW_ROWS 6

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

typedef struct kernel_info {
  const char *name;
  kernel_fn fn;
  int blocks; /* blocks of 16 channels per call */
  dw3_fn dw3;
  pw_fn pw;     /* NULL: pointwise products go to BLAS */
  int pw_block; /* pixels per pw call */
} kernel_info;

static const kernel_info kernels[] = {
#if LNL_X86
    {"avx512", kernel_avx512, 2, dw3_avx2, pw_avx512, 32},
    {"avx2", kernel_avx2, 1, dw3_avx2, pw_avx2, 16},
#endif
    {"generic", kernel_generic, 1, dw3_generic, NULL, 0},
};
#define NUM_KERNELS (int)(sizeof kernels / sizeof kernels[0])

static int kernel_runs(const kernel_info *k) {
#if LNL_X86
  if (strcmp(k->name, "avx512") == 0) return __builtin_cpu_supports("avx512f");
  if (strcmp(k->name, "avx2") == 0)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return 1;
}

static const kernel_info *chosen;

static const kernel_info *current_kernel(void) {
  const kernel_info *k = chosen; /* a benign race: every thread picks the same */
  if (k) return k;
  const char *env = getenv("LNL_KERNEL");
  if (env && *env && lnl_nhwc_set_kernel(env)) return chosen;
  for (int i = 0; i < NUM_KERNELS; i++)
    if (kernel_runs(&kernels[i])) return chosen = &kernels[i];
  return chosen = &kernels[NUM_KERNELS - 1];
}

int lnl_nhwc_set_kernel(const char *name) {
  for (int i = 0; i < NUM_KERNELS; i++)
    if (strcmp(kernels[i].name, name) == 0 && kernel_runs(&kernels[i])) {
      chosen = &kernels[i];
      return 1;
    }
  return 0;
}

const char *lnl_nhwc_kernel(void) { return current_kernel()->name; }

int lnl_pointwise_chw(const float *wt, const float *bias, int cin, int cout, const float *in,
                      size_t npix, float *out, size_t p0, size_t p1, int relu) {
  const kernel_info *k = current_kernel();
  if (!k->pw) return 0;
  for (size_t p = p0; p < p1; p += (size_t)k->pw_block) {
    int np = p1 - p < (size_t)k->pw_block ? (int)(p1 - p) : k->pw_block;
    for (int o = 0; o < cout; o += PW_ROWS)
      k->pw(wt + (size_t)o * cin, bias ? bias + o : NULL, cin,
            cout - o < PW_ROWS ? cout - o : PW_ROWS, in, npix, out + (size_t)o * npix, p, np, relu);
  }
  return 1;
}

void lnl_dw3x3(const float *in, int h, int w, const float *k, float bias, int relu, float *out,
               int r0, int r1) {
  current_kernel()->dw3(in, h, w, k, bias, relu, out, r0, r1);
}

/* ---- packed convolutions ---- */

static float *aligned_floats(size_t n) {
  void *p = NULL;
  if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0) return NULL;
  memset(p, 0, (n ? n : 1) * sizeof(float));
  return p;
}

int lnl_pconv_pack(lnl_pconv *pc, const lnl_conv *conv) {
  memset(pc, 0, sizeof *pc);
  int k = conv->kh;
  if (conv->kw != k || k % 2 == 0 || k * k > MAX_TAPS || conv->stride != 1 || conv->pad != k / 2 ||
      conv->groups < 1 || conv->cin % conv->groups || conv->cout % conv->groups)
    return 0;
  int g = conv->groups, kc = conv->cin / g, cog = conv->cout / g, taps = k * k;
  int blocks = (cog + NB - 1) / NB;
  *pc = (lnl_pconv){conv->cin, conv->cout, k, g, blocks, NULL, NULL, NULL};
  size_t per_block = (size_t)taps * kc * NB;
  pc->packed = aligned_floats((size_t)g * blocks * per_block);
  pc->bias = aligned_floats((size_t)g * blocks * NB);
  pc->zeros = aligned_floats((size_t)kc);
  if (!pc->packed || !pc->bias || !pc->zeros) {
    lnl_pconv_free(pc);
    return 0;
  }
  for (int gi = 0; gi < g; gi++)
    for (int j = 0; j < cog; j++) {
      int o = gi * cog + j, b = j / NB;
      float *dst = pc->packed + ((size_t)gi * blocks + b) * per_block + j % NB;
      for (int c = 0; c < kc; c++)
        for (int t = 0; t < taps; t++)
          dst[((size_t)t * kc + c) * NB] = conv->weight[((size_t)o * kc + c) * taps + t];
      pc->bias[(size_t)gi * blocks * NB + j] = conv->bias ? conv->bias[o] : 0.0f;
    }
  return 1;
}

void lnl_pconv_free(lnl_pconv *pc) {
  free(pc->packed);
  free(pc->bias);
  free(pc->zeros);
  memset(pc, 0, sizeof *pc);
}

#define MAX_TASKS 64

typedef struct pconv_job {
  const lnl_pconv *pc;
  const kernel_info *kern;
  const lnl_map *in, *out;
  const int *group;
  int n, relu, tiles, colgroups;
  long items, bound[MAX_TASKS + 1]; /* task t runs items [bound[t], bound[t + 1]) */
} pconv_job;

/* Blocks of 16 output channels in column group cg. */
static int group_blocks(const pconv_job *j, int cg) {
  int b0 = cg * j->kern->blocks, left = j->pc->blocks - b0;
  return left < j->kern->blocks ? left : j->kern->blocks;
}

/* Fills ind (tap-major, MR pixels per tap) for output pixels [p0, p0 + mr) of a map of
 * `in`'s size; the pixels past mr repeat the last one. */
static void indirection(const lnl_pconv *pc, const lnl_map *in, int p0, int mr, const float **ind) {
  int k = pc->k, pad = k / 2, taps = k * k, W = in->w, H = in->h;
  ptrdiff_t off[MAX_TAPS];
  for (int ky = 0; ky < k; ky++)
    for (int kx = 0; kx < k; kx++)
      off[ky * k + kx] = (ptrdiff_t)(ky - pad) * (ptrdiff_t)in->rs + (kx - pad) * (ptrdiff_t)in->cs;
  int y = p0 / W, x = p0 % W;
  for (int i = 0; i < MR; i++) {
    if (i == mr) { /* repeat the last pixel */
      for (int t = 0; t < taps; t++) ind[t * MR + i] = ind[t * MR + i - 1];
      continue;
    }
    if (i > mr) {
      for (int t = 0; t < taps; t++) ind[t * MR + i] = ind[t * MR + mr];
      continue;
    }
    const float *c = in->data + (size_t)y * in->rs + (size_t)x * in->cs;
    if (y >= pad && y < H - pad && x >= pad && x < W - pad) {
      for (int t = 0; t < taps; t++) ind[t * MR + i] = c + off[t];
    } else {
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
          int iy = y + ky - pad, ix = x + kx - pad, t = ky * k + kx;
          ind[t * MR + i] = iy >= 0 && iy < H && ix >= 0 && ix < W ? c + off[t] : pc->zeros;
        }
    }
    if (++x == W) {
      x = 0;
      y++;
    }
  }
}

/* Items are (column group, image, tile of MR pixels), tiles innermost: a block of
 * weights is reused across the tiles (and across images of the same group) while it
 * is in cache. */
static void pconv_task(void *arg, int task) {
  const pconv_job *j = arg;
  const lnl_pconv *pc = j->pc;
  int taps = pc->k * pc->k, kc = pc->cin / pc->groups, cog = pc->cout / pc->groups;
  int bpc = j->kern->blocks;
  size_t wblk = (size_t)taps * kc * NB;
  const float *ind[MAX_TAPS * MR];
  for (long it = j->bound[task]; it < j->bound[task + 1]; it++) {
    int tile = (int)(it % j->tiles), img = (int)(it / j->tiles % j->n);
    int cg = (int)(it / j->tiles / j->n);
    const lnl_map *in = &j->in[img], *out = &j->out[img];
    int g = j->group ? j->group[img] : 0, b0 = cg * bpc, nblk = group_blocks(j, cg);
    int ncols = cog - b0 * NB < nblk * NB ? cog - b0 * NB : nblk * NB;
    int W = in->w, npix = in->h * W, p0 = tile * MR;
    int mr = npix - p0 < MR ? npix - p0 : MR;
    indirection(pc, in, p0, mr, ind);
    const float *w = pc->packed + ((size_t)g * pc->blocks + b0) * wblk;
    const float *bias = pc->bias + ((size_t)g * pc->blocks + b0) * NB;
    if (out->rs != (size_t)W * out->cs) { /* pixels not evenly spaced: one at a time */
      for (int i = 0; i < mr; i++) {
        const float *one[MAX_TAPS * MR];
        for (int t = 0; t < taps; t++)
          for (int r = 0; r < MR; r++) one[t * MR + r] = ind[t * MR + i];
        int p = p0 + i;
        float *oi = out->data + (size_t)(p / W) * out->rs + (size_t)(p % W) * out->cs + b0 * NB;
        j->kern->fn(one, taps, kc, w, wblk, nblk, bias, oi, out->cs, 1, ncols, j->relu);
      }
      continue;
    }
    float *o = out->data + (size_t)p0 * out->cs + b0 * NB;
    j->kern->fn(ind, taps, kc, w, wblk, nblk, bias, o, out->cs, mr, ncols, j->relu);
  }
}

void lnl_pconv_run(const lnl_pconv *pc, int n, const lnl_map *in, const lnl_map *out,
                   const int *group, int relu, lnl_parallel *par) {
  if (n < 1) return;
  int npix = in[0].h * in[0].w;
  if (npix < 1) return;
  const kernel_info *kern = current_kernel();
  pconv_job j = {pc, kern, in, out, group, n, relu, (npix + MR - 1) / MR, 0, 0, {0}};
  j.colgroups = (pc->blocks + kern->blocks - 1) / kern->blocks;
  j.items = (long)j.colgroups * n * j.tiles;
  double macs = (double)n * npix * (pc->cout / pc->groups) * (pc->cin / pc->groups) * pc->k * pc->k;
  int tasks = lnl_parallel_threads_for(par, macs);
  if (tasks > MAX_TASKS) tasks = MAX_TASKS;
  if (tasks > j.items) tasks = (int)j.items;
  /* equal shares of work: an item costs its number of blocks */
  long per_group = (long)n * j.tiles, total = 0;
  for (int cg = 0; cg < j.colgroups; cg++) total += per_group * group_blocks(&j, cg);
  int t = 1;
  long acc = 0;
  for (int cg = 0; cg < j.colgroups && t < tasks; cg++) {
    long nb = group_blocks(&j, cg), cost = per_group * nb;
    for (; t < tasks && (double)total * t / tasks < (double)(acc + cost); t++) {
      long into = (long)(((double)total * t / tasks - (double)acc) / (double)nb + 0.5);
      j.bound[t] = (long)cg * per_group + into;
    }
    acc += cost;
  }
  j.bound[tasks] = j.items;
  lnl_parallel_for(tasks > 1 ? par : NULL, tasks, pconv_task, &j);
}

/* ---- map operators ---- */

static const float *px(const lnl_map *m, int y, int x) {
  return m->data + (size_t)y * m->rs + (size_t)x * m->cs;
}

static float *pxw(const lnl_map *m, int y, int x) {
  return m->data + (size_t)y * m->rs + (size_t)x * m->cs;
}

void lnl_map_maxpool2(const lnl_map *in, int c, const lnl_map *out) {
  for (int y = 0; y < out->h; y++)
    for (int x = 0; x < out->w; x++) {
      const float *a = px(in, 2 * y, 2 * x), *b = a + in->cs, *d = a + in->rs, *e = d + in->cs;
      float *o = pxw(out, y, x);
      for (int ch = 0; ch < c; ch++) {
        float u = a[ch] > b[ch] ? a[ch] : b[ch];
        float v = d[ch] > e[ch] ? d[ch] : e[ch];
        o[ch] = u > v ? u : v;
      }
    }
}

void lnl_map_avgpool(const lnl_map *in, int c, int k, const lnl_map *out) {
  float inv = 1.0f / (float)(k * k);
  for (int y = 0; y < out->h; y++)
    for (int x = 0; x < out->w; x++) {
      float *o = pxw(out, y, x);
      for (int ch = 0; ch < c; ch++) o[ch] = 0.0f;
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
          const float *a = px(in, y * k + ky, x * k + kx);
          for (int ch = 0; ch < c; ch++) o[ch] += a[ch];
        }
      for (int ch = 0; ch < c; ch++) o[ch] *= inv;
    }
}

/* Source index and weight of the second tap along one axis (as lnl_resize_bilinear). */
static void tap(int o, int n_in, int n_out, int *i0, int *i1, float *frac) {
  float src = ((float)o + 0.5f) * ((float)n_in / (float)n_out) - 0.5f;
  if (src < 0.0f) src = 0.0f;
  int lo = (int)src;
  if (lo > n_in - 1) lo = n_in - 1;
  *i0 = lo;
  *i1 = lo < n_in - 1 ? lo + 1 : lo;
  *frac = src - (float)lo;
}

void lnl_map_resize_bilinear(const lnl_map *in, int c, const lnl_map *out, int relu) {
  for (int y = 0; y < out->h; y++) {
    int y0, y1;
    float fy;
    tap(y, in->h, out->h, &y0, &y1, &fy);
    for (int x = 0; x < out->w; x++) {
      int x0, x1;
      float fx;
      tap(x, in->w, out->w, &x0, &x1, &fx);
      const float *a = px(in, y0, x0), *b = px(in, y0, x1), *d = px(in, y1, x0),
                  *e = px(in, y1, x1);
      float *o = pxw(out, y, x);
      for (int ch = 0; ch < c; ch++) {
        float top = a[ch] * (1 - fx) + b[ch] * fx;
        float bot = d[ch] * (1 - fx) + e[ch] * fx;
        float v = top * (1 - fy) + bot * fy;
        o[ch] = relu && v < 0.0f ? 0.0f : v;
      }
    }
  }
}

void lnl_map_mean(const lnl_map *in, int c, float *out) {
  for (int ch = 0; ch < c; ch++) out[ch] = 0.0f;
  for (int y = 0; y < in->h; y++)
    for (int x = 0; x < in->w; x++) {
      const float *a = px(in, y, x);
      for (int ch = 0; ch < c; ch++) out[ch] += a[ch];
    }
  float n = (float)(in->h * in->w);
  for (int ch = 0; ch < c; ch++) out[ch] /= n;
}
