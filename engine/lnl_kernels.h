/* Kernels: the innermost loops of the engine's convolutions, one set per instruction set
 * (AVX-512, AVX2+FMA, portable C), chosen once from the CPU or $LNL_KERNEL. The layout
 * operators above them (lnl_ops.h channels-first, lnl_nhwc.h channels-last) call only
 * these; the kernels know no layout beyond the pointers and strides they are given.
 * Each kernel is checked through its operator against a naive reference in
 * tests/test_ops.c, for every set this CPU runs. */
#ifndef LNL_KERNELS_H
#define LNL_KERNELS_H

#include <stddef.h>

/* A register tile is LNL_TILE_ROWS output pixels x one or two blocks of LNL_TILE_COLS
 * output channels. */
#define LNL_TILE_ROWS 6
#define LNL_TILE_COLS 16

/* One tile of a packed convolution:
 *   out[i][j] = bias[j] + sum over taps t, input channels c of ind[t][i][c] * w[t][c][j]
 * ind[t * LNL_TILE_ROWS + i] points at the kc input channels of the pixel that tap t of
 * output pixel i reads (a zero vector outside the map). w is one packed block of 16
 * output channels; with nblk = 2 the second block follows wblk floats later. Only the
 * first mr pixels and ncols channels are stored, pixel i at out + i * ocs. */
typedef void (*lnl_tile_fn)(const float *const *ind, int taps, int kc, const float *w, size_t wblk,
                            int nblk, const float *bias, float *out, size_t ocs, int mr, int ncols,
                            int relu);

/* Output rows [r0, r1) (each ow wide) of out = bias + 3x3 convolution of one h x w plane
 * (taps k[9]) with stride 1 or 2 and zero padding 0 or 1, with an optional ReLU: output
 * pixel (y, x) reads input rows y * stride - pad + 0..2, columns x * stride - pad + 0..2. */
typedef void (*lnl_dw3_fn)(const float *in, int h, int w, const float *k, float bias, int relu,
                           float *out, int ow, int stride, int pad, int r0, int r1);

/* Pointwise products on packed panels: a panel holds k rows (input channels, or taps of a
 * convolution) of the set's pw_cols pixels each, row c at panel + c * pw_cols. For
 * mr <= LNL_PW_ROWS output channels (weight rows ldw floats apart, bias NULL for none):
 *   out[i * ldo + j] = bias[i] + sum_c wt[i * ldw + c] * panel[c * pw_cols + j] (+ ReLU)
 * for j < np <= pw_cols. Columns np.. of the panel are read but not stored. */
typedef void (*lnl_pw_fn)(const float *wt, size_t ldw, const float *bias, int mr, int k,
                          const float *panel, float *out, size_t ldo, int np, int relu);
#define LNL_PW_ROWS 4
#define LNL_PW_MAX_COLS 48 /* the widest set's pw_cols */

/* out[x] = max(r0[2x], r0[2x + 1], r1[2x], r1[2x + 1]) for x < n: one row of a 2x2 max-pool. */
typedef void (*lnl_max2_fn)(const float *r0, const float *r1, int n, float *out);

typedef struct lnl_kernel_set {
  const char *name;
  lnl_tile_fn tile;
  int tile_blocks; /* blocks of LNL_TILE_COLS channels per tile call: 1 or 2 */
  lnl_dw3_fn dw3;
  lnl_pw_fn pw;
  int pw_cols; /* pixels of a pw panel: three vectors */
  lnl_max2_fn max2;
} lnl_kernel_set;

/* The set in use: the one lnl_kernels_select chose last, else $LNL_KERNEL when this CPU
 * runs it, else the best this CPU runs. Safe to call from any thread. */
const lnl_kernel_set *lnl_kernels(void);

/* Selects a set by name ("avx512", "avx2", "generic"; for tests and comparisons);
 * returns 0, changing nothing, for a name this CPU cannot run. The choice is published
 * atomically: a run already under way keeps the set it started with. */
int lnl_kernels_select(const char *name);

#endif
