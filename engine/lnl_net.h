/* LNLNet: the graph of tools/train/model.py, built from an lnl_config and the
 * tensors of a weights file. Every layer is described once, in the table at the top of
 * lnl_net.c; binding, packing, freeing, the buffer plan and the multiply-add count follow
 * from it. */
#ifndef LNL_NET_H
#define LNL_NET_H

#include <stdint.h>

#include "lnl_config.h"
#include "lnl_nhwc.h"
#include "lnl_safetensors.h"
#include "lnl_vector.h"

#define LNL_NET_MAX_PARAMS 256 /* the graph binds about 110 arrays */
/* Bounds on what a weights file may ask for, per face (the shipped network: 1.4 MB of
 * buffers and 142 M multiply-adds): a config past them is refused at load time. */
#define LNL_NET_MAX_SCRATCH_BYTES (256 << 20)
#define LNL_NET_MAX_MACS 20000000000ull

/* One row of the network's table (lnl_net.c): what the weights file gives it, folded and,
 * for the convolutions the channels-last kernels run, packed. */
typedef struct lnl_layer {
  lnl_conv conv;     /* convolutions, batch-norm folded in */
  lnl_linear linear; /* linear layers */
  float *vector;     /* a plain tensor (the region bias) */
  lnl_pconv packed;  /* the convolution packed for lnl_pconv_run */
} lnl_layer;

#define LNL_NET_MAX_LAYERS 32

typedef struct lnl_net {
  lnl_config cfg;
  lnl_layer layer[LNL_NET_MAX_LAYERS]; /* indexed by the table's layer ids */
  uint64_t macs;
  float *owned[LNL_NET_MAX_PARAMS]; /* every parameter array, for freeing */
  int num_owned;
} lnl_net;

/* The buffers of one face's forward pass (feature maps channels-last), in the order they lie
 * in one allocation; the layer table in lnl_net.c names the ones each layer reads and writes,
 * and their sizes follow from it. probs and weights are the outputs: [num_classes],
 * [num_regions]. */
/* clang-format off */
#define LNL_NET_BUFFERS(B)                                                                      \
  B(x) B(t) B(e0) B(pool) B(cat1) B(cat2) B(e3) B(u2) B(d2) B(u1) B(f) B(l1) B(lpool) B(l2)    \
  B(lfeat) B(p) B(qkv) B(att) B(y) B(z) B(ctx) B(hidden) B(gpool) B(fused) B(probs) B(weights)
/* clang-format on */

typedef struct lnl_net_scratch {
  float *block; /* all buffers below live in this one allocation */
#define LNL_NET_BUFFER_FIELD(name) float *name;
  LNL_NET_BUFFERS(LNL_NET_BUFFER_FIELD)
#undef LNL_NET_BUFFER_FIELD
  lnl_map *in, *out; /* num_regions maps: the images of one grouped convolution */
  int *group;
} lnl_net_scratch;

lnl_status lnl_net_load(lnl_net *net, const lnl_config *cfg, const lnl_safetensors *st,
                        lnl_error *err);
void lnl_net_free(lnl_net *net);

lnl_status lnl_net_scratch_new(const lnl_net *net, lnl_net_scratch *s, lnl_error *err);
void lnl_net_scratch_free(lnl_net_scratch *s);
/* The size of one face's buffers (lnl_net_scratch_new), from net->cfg alone. */
size_t lnl_net_scratch_bytes(const lnl_net *net);

/* input: one face, channels x size x size, normalised; writes its class probabilities
 * to s->probs and its region weights to s->weights. */
void lnl_net_forward(const lnl_net *net, lnl_net_scratch *s, const float *input, lnl_parallel *par);

#endif
