/* LNLNet: the graph of tools/train/model.py, built from an lnl_config and the
 * tensors of a weights file. */
#ifndef LNL_NET_H
#define LNL_NET_H

#include <stdint.h>

#include "lnl_config.h"
#include "lnl_ops.h"
#include "lnl_safetensors.h"

#define LNL_NET_MAX_PARAMS 256 /* the graph binds about 110 arrays */

typedef struct lnl_net {
  lnl_config cfg;
  lnl_conv enc[4][2]; /* U-Net encoder, two 3x3 convs per level */
  lnl_conv up2, dec2, up1, dec1;
  lnl_conv local1, local2; /* the R local nets as grouped convolutions */
  lnl_conv theta, phi, g, nl_out;
  lnl_linear score1, score2, classifier;
  float *region_bias;
  uint64_t macs;
  float *owned[LNL_NET_MAX_PARAMS]; /* every parameter array, for freeing */
  int num_owned;
} lnl_net;

/* Per-thread buffers for one forward pass. */
typedef struct lnl_net_scratch {
  float *block; /* all buffers below live in this one allocation */
  float *e[4], *pooled, *tmp, *up, *cat, *d2, *f, *crops, *l1, *lpool, *l2, *lfeat;
  float *p, *theta, *phi, *g, *att, *y, *z, *ctx, *hidden, *fused, *col;
} lnl_net_scratch;

lnl_status lnl_net_load(lnl_net *net, const lnl_config *cfg, const lnl_safetensors *st,
                        lnl_error *err);
void lnl_net_free(lnl_net *net);

lnl_status lnl_net_scratch_new(const lnl_net *net, lnl_net_scratch *s, lnl_error *err);
void lnl_net_scratch_free(lnl_net_scratch *s);

/* input: channels x size x size, normalised; writes class probabilities and region weights. */
void lnl_net_forward(const lnl_net *net, lnl_net_scratch *s, const float *input, float *probs,
                     float *weights, lnl_parallel *par);

#endif
