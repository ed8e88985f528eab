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

/* Output rows [r0, r1) of out = bias + 3x3 "same" convolution of one h x w plane
 * (taps k[9]), with an optional ReLU. */
typedef void (*lnl_dw3_fn)(const float *in, int h, int w, const float *k, float bias, int relu,
                           float *out, int r0, int r1);

/* out[o][p] = bias[o] + sum_c wt[o][c] in[c][p] (+ ReLU) for mr <= LNL_PW_ROWS output
 * channels (rows of wt cin apart, planes npix apart) and np pixels from p0; np <= the
 * set's pw_block. */
typedef void (*lnl_pw_fn)(const float *wt, const float *bias, int cin, int mr, const float *in,
                          size_t npix, float *out, size_t p0, int np, int relu);
#define LNL_PW_ROWS 6

typedef struct lnl_kernel_set {
  const char *name;
  lnl_tile_fn tile;
  int tile_blocks; /* blocks of LNL_TILE_COLS channels per tile call: 1 or 2 */
  lnl_dw3_fn dw3;
  lnl_pw_fn pw; /* NULL: the set has none, pointwise products go to BLAS */
  int pw_block; /* pixels per pw call */
} lnl_kernel_set;

/* The set in use: the one lnl_kernels_select chose last, else $LNL_KERNEL when this CPU
 * runs it, else the best this CPU runs. Safe to call from any thread. */
const lnl_kernel_set *lnl_kernels(void);

/* Selects a set by name ("avx512", "avx2", "generic"; for tests and comparisons);
 * returns 0, changing nothing, for a name this CPU cannot run. The choice is published
 * atomically: a run already under way keeps the set it started with. */
int lnl_kernels_select(const char *name);

#endif
