/* Channels-last (NHWC) operators for the expression network: convolutions with weights
 * packed once at load time and run by register-blocked kernels over an indirection of
 * input pixels (no im2col copies, bias and ReLU fused into the store), and the pooling
 * and resizing around them; the loops inside are the kernels of lnl_kernels.h. A feature map is a
 * grid of pixels, each `cs` floats apart (its channels consecutive), rows `rs` floats apart: a map
 * can be a window of a larger one (a region crop) or a channel slice of one (one half of a
 * concatenation). Each operator is checked against a naive reference in tests/test_ops.c. */
#ifndef LNL_NHWC_H
#define LNL_NHWC_H

#include <stddef.h>

#include "lnl_kernels.h"
#include "lnl_parallel.h"
#include "lnl_vector.h"

/* Output channels are packed in blocks of this many. */
#define LNL_NHWC_BLOCK LNL_TILE_COLS

typedef struct lnl_map {
  float *data;
  int h, w;
  size_t rs, cs; /* row and pixel strides, in floats */
} lnl_map;

/* A stride-1 convolution, k x k with padding k / 2 (odd k), its weights packed per group
 * as [block of 16 output channels][tap][input channel][16] (zeros past cout / groups). */
typedef struct lnl_pconv {
  int cin, cout, k, groups;
  int blocks; /* blocks of 16 output channels per group */
  float *packed;
  float *bias;  /* [groups][blocks * 16], zeros where the conv has none */
  float *zeros; /* cin / groups zeros: what the taps outside the map read */
} lnl_pconv;

/* Packs `conv` (stride 1, square odd kernel, padding k / 2); 0 when out of memory or
 * the convolution is not of that kind. */
int lnl_pconv_pack(lnl_pconv *pc, const lnl_conv *conv);
void lnl_pconv_free(lnl_pconv *pc);

/* Runs the convolution on n images: image i reads in[i] (cin / groups channels) with
 * the weights of group group[i] (NULL: group 0) and writes out[i], of the same size
 * (cout / groups channels). Every in[i] and out[i] must have the same h and w. */
void lnl_pconv_run(const lnl_pconv *pc, int n, const lnl_map *in, const lnl_map *out,
                   const int *group, int relu, lnl_parallel *par);

/* Map operators over `c` channels: 2 x 2 max pooling with stride 2 (floor), k x k average
 * pooling with stride k, bilinear resize (align_corners=False) with an optional ReLU
 * after it, the mean of every channel. */
void lnl_map_maxpool2(const lnl_map *in, int c, const lnl_map *out);
void lnl_map_avgpool(const lnl_map *in, int c, int k, const lnl_map *out);
void lnl_map_resize_bilinear(const lnl_map *in, int c, const lnl_map *out, int relu);
void lnl_map_mean(const lnl_map *in, int c, float *out);

/* Non-local (embedded Gaussian) attention over n positions, channels-last: row i of q, k
 * and v (d channels each, rows ld floats apart: the three parts of one map side by side)
 * is position i; y is [n][d]: y[i] = sum_j softmax_j(q[i] . k[j] / sqrt(d)) v[j];
 * att is n x n scratch. */
void lnl_attention(const float *q, const float *k, const float *v, int ld, int d, int n, float *att,
                   float *y, lnl_parallel *par);

/* A dense map of h x w pixels of c channels at data. */
lnl_map lnl_map_dense(float *data, int h, int w, int c);

#endif
