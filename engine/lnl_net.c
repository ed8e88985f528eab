#include "lnl_net.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lnl_error.h"

/* ---- the network, one row per layer ----
 * In the order the weights file's tensors are bound (the first missing one is reported):
 *   id, tensor name prefix, kind, input and output channels, kernel side, groups, the
 *   cells of the map it runs on (multiply-add count), and the buffers (lnl_net.h) it reads
 *   and writes, which the rows size: each buffer is as large as the largest use of it.
 * For a linear layer the kernel column is how many cells its input has (1: a vector;
 * more: a pooled map, flattened channel-major by the model, reordered to channels-last
 * at load) and the cells column how often it runs per face (its buffers hold one run).
 * A layer whose output width is 0 is not part of this configuration. The expressions read
 * the locals of describe(). */
/* clang-format off */
#define LNL_NET_LAYERS(X)                                                                                           \
  /* U-Net encoder: two 3x3 convolutions per level, max pooling between levels */                                   \
  X(ENC0_0,      "unet.enc0.0",              CONV_BN,     in_ch,         w[0],      3,     1, A0,  x,      t)       \
  X(ENC0_1,      "unet.enc0.1",              CONV_BN,     w[0],          w[0],      3,     1, A0,  t,      e0)      \
  X(ENC1_0,      "unet.enc1.0",              CONV_BN,     w[0],          w[1],      3,     1, A1,  pool,   t)       \
  X(ENC1_1,      "unet.enc1.1",              CONV_BN,     w[1],          w[1],      3,     1, A1,  t,      cat1)    \
  X(ENC2_0,      "unet.enc2.0",              CONV_BN,     w[1],          w[2],      3,     1, A2,  pool,   t)       \
  X(ENC2_1,      "unet.enc2.1",              CONV_BN,     w[2],          w[2],      3,     1, A2,  t,      cat2)    \
  X(ENC3_0,      "unet.enc3.0",              CONV_BN,     w[2],          w[3],      3,     1, A3,  pool,   t)       \
  X(ENC3_1,      "unet.enc3.1",              CONV_BN,     w[3],          w[3],      3,     1, A3,  t,      e3)      \
  /* decoder: a 1x1 "up" convolution (counted at the upsampled side, as the model runs                              \
   * it; the engine runs it below, then upsamples into the concatenation), then a 3x3 over                          \
   * [up, skip] */                                                                                                  \
  X(UP2,         "unet.up2",                 CONV_UP,     w[3],          d[0],      1,     1, A2,  e3,     u2)      \
  X(DEC2,        "unet.dec2",                CONV_BN,     d[0] + w[2],   d[0],      3,     1, A2,  cat2,   d2)      \
  X(UP1,         "unet.up1",                 CONV_UP,     d[0],          d[1],      1,     1, A1,  d2,     u1)      \
  X(DEC1,        "unet.dec1",                CONV_BN,     d[1] + w[1],   fch,       3,     1, A1,  cat1,   f)       \
  /* the R local nets as grouped convolutions, one group per region (cut out of f by maps),                         \
   * each region's features averaged */                                                                             \
  X(LOCAL1,      "local.conv1",              CONV_BN,     R * fch,       R * lw,    3,     R, ra,  none,   l1)      \
  X(LOCAL2,      "local.conv2",              CONV_BN,     R * lw,        R * lw,    3,     R, ra2, lpool,  l2)      \
  X(LOCAL_MEAN,  NULL,                       MEAN,        R * lw,        R * lw,    0,     0, ra2, l2,     lfeat)   \
  /* non-local block: theta, phi and g run as one convolution, their view side by side;                             \
   * the attention's two products, scores q k^T then their mix of v */                                              \
  X(THETA,       "nonlocal_net.theta",       QKV_PART,    fch,           inner,     1,     1, na,  none,   none)    \
  X(PHI,         "nonlocal_net.phi",         QKV_PART,    fch,           inner,     1,     1, na,  none,   none)    \
  X(G,           "nonlocal_net.g",           QKV_PART,    fch,           inner,     1,     1, na,  none,   none)    \
  X(QKV,         NULL,                       QKV_VIEW,    fch,           3 * inner, 1,     1, na,  p,      qkv)     \
  X(NL_SCORES,   NULL,                       PRODUCT,     inner,         na,        0,     0, na,  qkv,    att)     \
  X(NL_MIX,      NULL,                       PRODUCT,     na,            inner,     0,     0, na,  att,    y)       \
  X(NL_OUT,      "nonlocal_net.out",         CONV_OUT_BN, inner,         fch,       1,     1, na,  y,      z)       \
  X(SCORE1,      "nonlocal_net.score1",      LINEAR,      fch,           hidden,    1,     0, R,   ctx,    hidden)  \
  X(SCORE2,      "nonlocal_net.score2",      LINEAR,      hidden,        1,         1,     0, R,   hidden, weights) \
  /* fusion */                                                                                                      \
  X(CLASSIFIER,  "classifier",               LINEAR,      lw + global_w, classes,   1,     0, 1,   fused,  probs)   \
  X(GLOBAL_FC,   "global_fc",                LINEAR,      w[3] * cells,  gh,        cells, 0, 1,   gpool,  fused)   \
  X(REGION_BIAS, "nonlocal_net.region_bias", VECTOR,      R,             R,         0,     0, 0,   none,   weights)
/* clang-format on */

typedef enum layer_kind {
  CONV_BN,     /* PREFIX.conv.weight, batch-norm PREFIX.bn.*; packed */
  CONV_UP,     /* a CONV_BN run on a quarter of the cells it is counted on (the decoder's up) */
  CONV_OUT_BN, /* PREFIX.weight, batch-norm PREFIX_bn.*; packed */
  QKV_PART,    /* 1x1 convolution PREFIX.weight + PREFIX.bias, run inside the view after it */
  QKV_VIEW,    /* no tensors: the three rows before it side by side; packed */
  PRODUCT,     /* no tensors: a product of two activations (cells x cin x cout) */
  MEAN,        /* no tensors: each group's map averaged into one vector */
  LINEAR,      /* PREFIX.weight [out][in], PREFIX.bias */
  VECTOR       /* one tensor of `cout` floats named PREFIX, added to its output buffer */
} layer_kind;

#define AS_ID(id, name, kind, cin, cout, k, groups, runs_on, reads, writes) id,
typedef enum layer_id { LNL_NET_LAYERS(AS_ID) NUM_LAYERS } layer_id;
#undef AS_ID
_Static_assert(NUM_LAYERS <= LNL_NET_MAX_LAYERS, "LNL_NET_MAX_LAYERS is too small");
_Static_assert(PHI == THETA + 1 && G == THETA + 2 && QKV == THETA + 3,
               "the QKV view follows its three parts");

/* The buffers of lnl_net_scratch by name (BUF_x ...), and where each lies in the struct. */
#define AS_BUF(name) BUF_##name,
typedef enum buffer_id { BUF_none, LNL_NET_BUFFERS(AS_BUF) NUM_BUFFERS } buffer_id;
#undef AS_BUF
#define AS_OFFSET(name) offsetof(lnl_net_scratch, name),
static const size_t buffer_offset[NUM_BUFFERS] = {0, LNL_NET_BUFFERS(AS_OFFSET)};
#undef AS_OFFSET

typedef struct layer_desc {
  const char *name;
  layer_kind kind;
  int cin, cout, k, groups, cells;
  buffer_id in, out;
} layer_desc;

/* Width of the global feature that joins the fused local features. */
static int global_width(const lnl_config *c) {
  return c->global_hidden ? c->global_hidden : c->widths[3];
}

/* The table for config c. */
static void describe(const lnl_config *c, layer_desc *out) {
  const int *w = c->widths, *d = c->dec_widths;
  int S = c->input_size, in_ch = c->input_channels, R = c->num_regions;
  int A0 = S * S, A1 = A0 / 4, A2 = A0 / 16, A3 = A0 / 64; /* the U-Net levels' cells */
  int fch = c->feature_channels, lw = c->local_width;
  int ra = c->regions[0][2] * c->regions[0][3], ra2 = ra / 4; /* a region's cells */
  int inner = c->nonlocal_inner, n = c->feature_size / c->nonlocal_pool, na = n * n;
  int hidden = c->attention_hidden, classes = c->num_classes, global_w = global_width(c);
  int cells = c->global_pool * c->global_pool, gh = c->global_hidden;
#define AS_DESC(id, name, kind, cin, cout, k, groups, runs_on, reads, writes) \
  out[id] = (layer_desc){name, kind, cin, cout, k, groups, runs_on, BUF_##reads, BUF_##writes};
  LNL_NET_LAYERS(AS_DESC)
#undef AS_DESC
}

static int is_packed(layer_kind kind) {
  return kind == CONV_BN || kind == CONV_UP || kind == CONV_OUT_BN || kind == QKV_VIEW;
}

/* Binds tensors by name, checking dtype and shape, and remembers which were used. */
typedef struct loader {
  const lnl_safetensors *st;
  lnl_net *net;
  unsigned char *used;
  lnl_error *err;
} loader;

static void format_shape(char *buf, size_t size, int ndim, const int64_t *shape) {
  size_t pos = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < ndim && pos < size; i++)
    pos += (size_t)snprintf(buf + pos, size - pos, i ? ", %lld" : "%lld", (long long)shape[i]);
  if (pos < size) snprintf(buf + pos, size - pos, "]");
}

static float *own(loader *L, size_t count) {
  lnl_net *net = L->net;
  if (net->num_owned == LNL_NET_MAX_PARAMS) return NULL;
  float *p = calloc(count ? count : 1, sizeof(float));
  if (p) net->owned[net->num_owned++] = p;
  return p;
}

/* Copies tensor `name` of exactly `shape` into a new float array. */
static lnl_status take(loader *L, const char *name, int ndim, const int64_t *shape, float **out) {
  const lnl_tensor_view *t = lnl_safetensors_find(L->st, name);
  char want[96], have[96];
  format_shape(want, sizeof want, ndim, shape);
  if (!t)
    return lnl_fail(L->err, LNL_ERR_MODEL, "tensor '%s' %s is missing from the weights file", name,
                    want);
  if (t->dtype != LNL_DT_F32)
    return lnl_fail(L->err, LNL_ERR_MODEL, "tensor '%s' has dtype %s; the engine reads F32", name,
                    lnl_dtype_name(t->dtype));
  int same = t->ndim == ndim;
  for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
  if (!same) {
    format_shape(have, sizeof have, t->ndim, t->shape);
    return lnl_fail(L->err, LNL_ERR_MODEL, "tensor '%s' has shape %s; the model config needs %s",
                    name, have, want);
  }
  float *p = own(L, t->nbytes / sizeof(float));
  if (!p) return lnl_fail(L->err, LNL_ERR_MEMORY, "out of memory loading tensor '%s'", name);
  memcpy(p, t->data, t->nbytes);
  size_t bad = lnl_first_nonfinite(p, t->nbytes / sizeof(float));
  if (bad < t->nbytes / sizeof(float))
    return lnl_fail(L->err, LNL_ERR_MODEL,
                    "tensor '%s' holds a non-finite value (%g at element %zu)", name,
                    (double)p[bad], bad);
  L->used[t - L->st->tensors] = 1;
  *out = p;
  return LNL_OK;
}

static lnl_status take1(loader *L, const char *prefix, const char *field, int64_t n, float **out) {
  char name[256];
  snprintf(name, sizeof name, "%s.%s", prefix, field);
  return take(L, name, 1, &n, out);
}

/* A bias-free convolution followed by batch-norm `bn`, folded at load time. */
static lnl_status bind_conv(loader *L, lnl_conv *c, const char *wname, const char *bn, int cin,
                            int cout, int k, int groups) {
  *c = (lnl_conv){cin, cout, k, k, 1, k / 2, groups, NULL, NULL};
  int64_t shape[4] = {cout, cin / groups, k, k};
  lnl_status s = take(L, wname, 4, shape, &c->weight);
  if (s) return s;
  if (!(c->bias = own(L, (size_t)cout)))
    return lnl_fail(L->err, LNL_ERR_MEMORY, "out of memory loading '%s'", wname);
  float *gamma, *beta, *mean, *var;
  if ((s = take1(L, bn, "weight", cout, &gamma)) || (s = take1(L, bn, "bias", cout, &beta)) ||
      (s = take1(L, bn, "running_mean", cout, &mean)) ||
      (s = take1(L, bn, "running_var", cout, &var)))
    return s;
  for (int i = 0; i < cout; i++)
    if (!(var[i] >= 0.0f))
      return lnl_fail(L->err, LNL_ERR_MODEL, "'%s.running_var' has a negative variance", bn);
  lnl_fold_batchnorm(c, gamma, beta, mean, var, L->net->cfg.bn_eps);
  size_t nw = (size_t)cout * (size_t)(cin / groups) * (size_t)k * (size_t)k;
  if (lnl_first_nonfinite(c->weight, nw) < nw ||
      lnl_first_nonfinite(c->bias, (size_t)cout) < (size_t)cout)
    return lnl_fail(L->err, LNL_ERR_MODEL,
                    "folding batch-norm '%s' into '%s' overflows: the weights are not finite", bn,
                    wname);
  return LNL_OK;
}

/* ConvBN module of model.py: PREFIX.conv.weight + PREFIX.bn.* */
static lnl_status bind_convbn(loader *L, lnl_conv *c, const char *prefix, int cin, int cout, int k,
                              int groups) {
  char wname[128], bn[128];
  snprintf(wname, sizeof wname, "%s.conv.weight", prefix);
  snprintf(bn, sizeof bn, "%s.bn", prefix);
  return bind_conv(L, c, wname, bn, cin, cout, k, groups);
}

/* 1x1 convolution with its own bias. */
static lnl_status bind_pointwise(loader *L, lnl_conv *c, const char *prefix, int cin, int cout) {
  char wname[128];
  *c = (lnl_conv){cin, cout, 1, 1, 1, 0, 1, NULL, NULL};
  snprintf(wname, sizeof wname, "%s.weight", prefix);
  int64_t shape[4] = {cout, cin, 1, 1};
  lnl_status s = take(L, wname, 4, shape, &c->weight);
  return s ? s : take1(L, prefix, "bias", cout, &c->bias);
}

static lnl_status bind_linear(loader *L, lnl_linear *lin, const char *prefix, int in, int out) {
  char wname[128];
  *lin = (lnl_linear){in, out, NULL, NULL};
  snprintf(wname, sizeof wname, "%s.weight", prefix);
  int64_t shape[2] = {out, in};
  lnl_status s = take(L, wname, 2, shape, &lin->weight);
  return s ? s : take1(L, prefix, "bias", out, &lin->bias);
}

static uint64_t conv_macs(const lnl_conv *c, int cells) {
  /* stride 1, padding k / 2: as many output cells as input cells */
  return (uint64_t)c->cout * (uint64_t)cells * (uint64_t)(c->cin / c->groups) * c->kh * c->kw;
}

/* Multiply-adds of one row, once bound. */
static uint64_t layer_macs(const layer_desc *d, const lnl_layer *l) {
  switch (d->kind) {
  case CONV_BN:
  case CONV_UP:
  case CONV_OUT_BN:
  case QKV_PART: return conv_macs(&l->conv, d->cells);
  case PRODUCT: return (uint64_t)d->cells * (uint64_t)d->cin * (uint64_t)d->cout;
  case LINEAR: return (uint64_t)d->cells * (uint64_t)l->linear.in * (uint64_t)l->linear.out;
  case QKV_VIEW: /* counted in its parts */
  case MEAN:
  case VECTOR: return 0;
  }
  return 0;
}

/* The model flattens a pooled map channel-major (input ch * cells + cell); the engine's
 * map is channels-last, so the layer's columns are reordered once, at load time, to
 * cell * channels + ch. */
static lnl_status columns_channels_last(loader *L, lnl_linear *fc, const char *name, int cells) {
  int channels = fc->in / cells;
  size_t in = (size_t)fc->in;
  float *row = malloc(in * sizeof(float));
  if (!row) return lnl_fail(L->err, LNL_ERR_MEMORY, "out of memory loading '%s'", name);
  for (int o = 0; o < fc->out; o++) {
    float *w = fc->weight + (size_t)o * in;
    memcpy(row, w, in * sizeof(float));
    for (int cell = 0; cell < cells; cell++)
      for (int ch = 0; ch < channels; ch++) w[cell * channels + ch] = row[ch * cells + cell];
  }
  free(row);
  return LNL_OK;
}

/* The three QKV_PART rows before a QKV_VIEW as one 1x1 convolution, their outputs side
 * by side. */
static lnl_status merge_view(loader *L, lnl_conv *view, const lnl_layer *part) {
  int cin = part[0].conv.cin, inner = part[0].conv.cout;
  *view = (lnl_conv){
      cin, 3 * inner, 1, 1, 1, 0, 1, own(L, (size_t)3 * inner * cin), own(L, (size_t)3 * inner)};
  if (!view->weight || !view->bias)
    return lnl_fail(L->err, LNL_ERR_MEMORY, "out of memory packing the non-local block");
  for (int i = 0; i < 3; i++) {
    memcpy(view->weight + (size_t)i * inner * cin, part[i].conv.weight,
           sizeof(float) * (size_t)inner * cin);
    memcpy(view->bias + (size_t)i * inner, part[i].conv.bias, sizeof(float) * (size_t)inner);
  }
  return LNL_OK;
}

/* Binds the tensors of one row. */
static lnl_status bind_layer(loader *L, const layer_desc *d, lnl_layer *l) {
  char wname[128], bn[128];
  switch (d->kind) {
  case CONV_BN:
  case CONV_UP: return bind_convbn(L, &l->conv, d->name, d->cin, d->cout, d->k, d->groups);
  case CONV_OUT_BN:
    snprintf(wname, sizeof wname, "%s.weight", d->name);
    snprintf(bn, sizeof bn, "%s_bn", d->name);
    return bind_conv(L, &l->conv, wname, bn, d->cin, d->cout, d->k, d->groups);
  case QKV_PART: return bind_pointwise(L, &l->conv, d->name, d->cin, d->cout);
  case LINEAR: {
    lnl_status s = bind_linear(L, &l->linear, d->name, d->cin, d->cout);
    return s || d->k == 1 ? s : columns_channels_last(L, &l->linear, d->name, d->k);
  }
  case VECTOR: {
    int64_t len = d->cout;
    return take(L, d->name, 1, &len, &l->vector);
  }
  case QKV_VIEW:
  case PRODUCT:
  case MEAN: return LNL_OK;
  }
  return LNL_OK;
}

lnl_status lnl_net_load(lnl_net *net, const lnl_config *cfg, const lnl_safetensors *st,
                        lnl_error *err) {
  memset(net, 0, sizeof *net);
  net->cfg = *cfg;
  size_t scratch = lnl_net_scratch_bytes(net);
  if (scratch > LNL_NET_MAX_SCRATCH_BYTES)
    return lnl_fail(err, LNL_ERR_MODEL,
                    "model config: one face would need %zu MB of buffers (input_size %d); the "
                    "engine's limit is %d MB",
                    scratch >> 20, cfg->input_size, LNL_NET_MAX_SCRATCH_BYTES >> 20);
  layer_desc desc[NUM_LAYERS];
  describe(&net->cfg, desc);
  loader L = {st, net, calloc((size_t)st->count + 1, 1), err};
  if (!L.used) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory loading the model");
  lnl_status s = LNL_OK;
  for (int i = 0; s == LNL_OK && i < NUM_LAYERS; i++)
    if (desc[i].cout) s = bind_layer(&L, &desc[i], &net->layer[i]);
  for (int i = 0; s == LNL_OK && i < st->count; i++)
    if (!L.used[i])
      s = lnl_fail(err, LNL_ERR_MODEL, "tensor '%s' is not part of the configured network",
                   st->tensors[i].name);
  for (int i = 0; s == LNL_OK && i < NUM_LAYERS; i++) {
    lnl_layer *l = &net->layer[i];
    if (desc[i].kind == QKV_VIEW) s = merge_view(&L, &l->conv, l - 3);
    if (s == LNL_OK && is_packed(desc[i].kind) && !lnl_pconv_pack(&l->packed, &l->conv))
      s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory packing the network's weights");
  }
  free(L.used);
  if (s != LNL_OK) {
    lnl_net_free(net);
    return s;
  }
  for (int i = 0; i < NUM_LAYERS; i++) net->macs += layer_macs(&desc[i], &net->layer[i]);
  if (net->macs > LNL_NET_MAX_MACS) {
    unsigned long long macs = (unsigned long long)net->macs;
    lnl_net_free(net);
    return lnl_fail(err, LNL_ERR_MODEL,
                    "model config: one face would take %llu M multiply-adds; the engine's limit "
                    "is %llu M",
                    macs / 1000000ull, (unsigned long long)LNL_NET_MAX_MACS / 1000000ull);
  }
  return LNL_OK;
}

void lnl_net_free(lnl_net *net) {
  for (int i = 0; i < NUM_LAYERS; i++) lnl_pconv_free(&net->layer[i].packed);
  for (int i = 0; i < net->num_owned; i++) free(net->owned[i]);
  net->num_owned = 0;
}

/* Floats of a row's input (output: 1) or output buffer. */
static size_t row_floats(const layer_desc *d, int output) {
  size_t channels = (size_t)(output ? d->cout : d->cin), cells = (size_t)d->cells;
  switch (d->kind) {
  case CONV_UP: return channels * (cells / 4); /* runs before the upsampling */
  case LINEAR:                                 /* one run */
  case VECTOR: return channels;
  case MEAN: return output ? channels : channels * cells;
  default: return channels * cells;
  }
}

/* The buffers of one face's forward pass, sized by the rows that use them, in the order of
 * LNL_NET_BUFFERS: with block NULL, only their total size in floats; else points s's buffers
 * into block. */
static size_t plan_scratch(const lnl_net *net, lnl_net_scratch *s, float *block) {
  layer_desc desc[NUM_LAYERS];
  describe(&net->cfg, desc);
  size_t floats[NUM_BUFFERS] = {0};
  for (int i = 0; i < NUM_LAYERS; i++) {
    const layer_desc *d = &desc[i];
    if (!d->cout) continue; /* not part of this configuration */
    size_t in = row_floats(d, 0), out = row_floats(d, 1);
    if (in > floats[d->in]) floats[d->in] = in;
    if (out > floats[d->out]) floats[d->out] = out;
  }
  size_t total = 0;
  for (int b = BUF_none + 1; b < NUM_BUFFERS; b++) {
    if (block) *(float **)((char *)s + buffer_offset[b]) = block + total;
    total += (floats[b] + 15) & ~(size_t)15;
  }
  return total;
}

size_t lnl_net_scratch_bytes(const lnl_net *net) {
  lnl_net_scratch unused;
  return plan_scratch(net, &unused, NULL) * sizeof(float);
}

lnl_status lnl_net_scratch_new(const lnl_net *net, lnl_net_scratch *s, lnl_error *err) {
  size_t R = (size_t)net->cfg.num_regions;
  memset(s, 0, sizeof *s);
  s->block = malloc(lnl_net_scratch_bytes(net));
  s->in = malloc(sizeof(lnl_map) * R);
  s->out = malloc(sizeof(lnl_map) * R);
  s->group = malloc(sizeof(int) * R);
  if (!s->block || !s->in || !s->out || !s->group) {
    lnl_net_scratch_free(s);
    return lnl_fail(err, LNL_ERR_MEMORY, "out of memory for the network's buffers");
  }
  plan_scratch(net, s, s->block);
  return LNL_OK;
}

void lnl_net_scratch_free(lnl_net_scratch *s) {
  free(s->block);
  free(s->in);
  free(s->out);
  free(s->group);
  memset(s, 0, sizeof *s);
}

static const lnl_pconv *packed(const lnl_net *net, layer_id id) { return &net->layer[id].packed; }

static const lnl_linear *linear(const lnl_net *net, layer_id id) { return &net->layer[id].linear; }

/* A side x side map whose pixels are `cs` floats apart, from channel `ch` on. */
static lnl_map map_at(float *base, int side, int cs, int ch) {
  return (lnl_map){base + ch, side, side, (size_t)side * cs, (size_t)cs};
}

/* One convolution, side x side, from (in, its channel stride and first channel) to
 * (out, ...). */
static void conv(const lnl_pconv *pc, int side, float *in, int ics, int ich, float *out, int ocs,
                 int och, int relu, lnl_parallel *par) {
  lnl_map a = map_at(in, side, ics, ich), b = map_at(out, side, ocs, och);
  lnl_pconv_run(pc, 1, &a, &b, NULL, relu, par);
}

static void maxpool(int side, float *in, int ics, int ich, int c, float *out) {
  lnl_map a = map_at(in, side, ics, ich), b = map_at(out, side / 2, c, 0);
  lnl_map_maxpool2(&a, c, &b);
}

/* The decoder's "up" step: 1x1 convolution (with its batch-norm) at the low resolution,
 * bilinear upsampling to side x side into the first channels of cat, ReLU. Both are
 * linear per pixel and the interpolation weights sum to 1, so this equals the model's
 * upsample-then-convolve, on a quarter of the pixels. */
static void up(const lnl_pconv *pc, int side, float *x, float *u, float *cat, int cat_ch,
               lnl_parallel *par) {
  int lo = side / 2, c = pc->cout;
  conv(pc, lo, x, pc->cin, 0, u, c, 0, 0, par);
  lnl_map a = map_at(u, lo, c, 0), b = map_at(cat, side, cat_ch, 0);
  lnl_map_resize_bilinear(&a, c, &b, 1);
}

static void unet_forward(const lnl_net *net, lnl_net_scratch *s, const float *input,
                         lnl_parallel *par) {
  const lnl_config *c = &net->cfg;
  const int *w = c->widths, *d = c->dec_widths;
  int S = c->input_size, cin = c->input_channels;
  int c1 = d[1] + w[1], c2 = d[0] + w[2]; /* channels of the concatenations */
  float *x = (float *)input;
  if (cin > 1) { /* CHW -> HWC */
    size_t area = (size_t)S * S;
    for (size_t p = 0; p < area; p++)
      for (int ch = 0; ch < cin; ch++) s->x[p * cin + ch] = input[ch * area + p];
    x = s->x;
  }
  /* level 0 */
  conv(packed(net, ENC0_0), S, x, cin, 0, s->t, w[0], 0, 1, par);
  conv(packed(net, ENC0_1), S, s->t, w[0], 0, s->e0, w[0], 0, 1, par);
  /* level 1: e1 is stored as the second part of cat1 */
  maxpool(S, s->e0, w[0], 0, w[0], s->pool);
  conv(packed(net, ENC1_0), S / 2, s->pool, w[0], 0, s->t, w[1], 0, 1, par);
  conv(packed(net, ENC1_1), S / 2, s->t, w[1], 0, s->cat1, c1, d[1], 1, par);
  /* level 2: e2 in the second part of cat2 */
  maxpool(S / 2, s->cat1, c1, d[1], w[1], s->pool);
  conv(packed(net, ENC2_0), S / 4, s->pool, w[1], 0, s->t, w[2], 0, 1, par);
  conv(packed(net, ENC2_1), S / 4, s->t, w[2], 0, s->cat2, c2, d[0], 1, par);
  /* level 3 */
  maxpool(S / 4, s->cat2, c2, d[0], w[2], s->pool);
  conv(packed(net, ENC3_0), S / 8, s->pool, w[2], 0, s->t, w[3], 0, 1, par);
  conv(packed(net, ENC3_1), S / 8, s->t, w[3], 0, s->e3, w[3], 0, 1, par);
  /* decoder */
  up(packed(net, UP2), S / 4, s->e3, s->u2, s->cat2, c2, par);
  conv(packed(net, DEC2), S / 4, s->cat2, c2, 0, s->d2, d[0], 0, 1, par);
  up(packed(net, UP1), S / 2, s->d2, s->u1, s->cat1, c1, par);
  conv(packed(net, DEC1), S / 2, s->cat1, c1, 0, s->f, c->feature_channels, 0, 1, par);
}

/* The R local nets: image r of each grouped convolution is region r, cut straight out
 * of F by its map (the convolution's zero padding is at the region's edges). */
static void local_forward(const lnl_net *net, lnl_net_scratch *s, lnl_parallel *par) {
  const lnl_config *c = &net->cfg;
  int fs = c->feature_size, fch = c->feature_channels, R = c->num_regions, L = c->local_width;
  int rw = c->regions[0][2], rh = c->regions[0][3];
  size_t big = (size_t)rh * rw * L, small = big / 4;
  for (int r = 0; r < R; r++) {
    const int *reg = c->regions[r];
    s->in[r] = (lnl_map){s->f + ((size_t)reg[1] * fs + reg[0]) * fch, rh, rw, (size_t)fs * fch,
                         (size_t)fch};
    s->out[r] = lnl_map_dense(s->l1 + (size_t)r * big, rh, rw, L);
    s->group[r] = r;
  }
  lnl_pconv_run(packed(net, LOCAL1), R, s->in, s->out, s->group, 1, par);
  for (int r = 0; r < R; r++) {
    s->in[r] = lnl_map_dense(s->lpool + (size_t)r * small, rh / 2, rw / 2, L);
    lnl_map_maxpool2(&s->out[r], L, &s->in[r]);
    s->out[r] = lnl_map_dense(s->l2 + (size_t)r * small, rh / 2, rw / 2, L);
  }
  lnl_pconv_run(packed(net, LOCAL2), R, s->in, s->out, s->group, 1, par);
  for (int r = 0; r < R; r++) lnl_map_mean(&s->out[r], L, s->lfeat + (size_t)r * L);
}

static void nonlocal_forward(const lnl_net *net, lnl_net_scratch *s, lnl_parallel *par) {
  const lnl_config *c = &net->cfg;
  int fch = c->feature_channels, pool = c->nonlocal_pool, side = c->feature_size / pool;
  int fs = c->feature_size, d = c->nonlocal_inner, np = side * side, R = c->num_regions;
  lnl_map a = lnl_map_dense(s->f, fs, fs, fch), b = lnl_map_dense(s->p, side, side, fch);
  lnl_map_avgpool(&a, fch, pool, &b);
  conv(packed(net, QKV), side, s->p, fch, 0, s->qkv, 3 * d, 0, 0, par);
  lnl_attention(s->qkv, s->qkv + d, s->qkv + 2 * d, 3 * d, d, np, s->att, s->y, par);
  conv(packed(net, NL_OUT), side, s->y, d, 0, s->z, fch, 0, 0, par);
  lnl_add(s->z, s->p, (size_t)np * fch);
  for (int r = 0; r < R; r++) {
    const int *reg = c->regions[r];
    int x0 = reg[0] / pool, y0 = reg[1] / pool, w = reg[2] / pool, h = reg[3] / pool;
    lnl_map cells = {s->z + ((size_t)y0 * side + x0) * fch, h, w, (size_t)side * fch, (size_t)fch};
    lnl_map_mean(&cells, fch, s->ctx);
    lnl_linear_forward(linear(net, SCORE1), s->ctx, s->hidden);
    lnl_relu(s->hidden, (size_t)linear(net, SCORE1)->out);
    lnl_linear_forward(linear(net, SCORE2), s->hidden, &s->weights[r]);
    s->weights[r] += net->layer[REGION_BIAS].vector[r];
  }
  lnl_softmax(s->weights, (size_t)R);
}

/* The global feature, from the bottleneck e3 (b x b x widths[3]), into out. */
static void global_feature(const lnl_net *net, lnl_net_scratch *s, float *out) {
  const lnl_config *c = &net->cfg;
  int b = c->input_size >> 3, w3 = c->widths[3], gp = c->global_pool;
  lnl_map e3 = lnl_map_dense(s->e3, b, b, w3);
  if (!c->global_hidden) {
    lnl_map_mean(&e3, w3, out);
    return;
  }
  lnl_map pooled = lnl_map_dense(s->gpool, gp, gp, w3);
  lnl_map_avgpool(&e3, w3, b / gp, &pooled);
  lnl_linear_forward(linear(net, GLOBAL_FC), s->gpool, out); /* columns reordered at load */
  lnl_relu(out, (size_t)c->global_hidden);
}

void lnl_net_forward(const lnl_net *net, lnl_net_scratch *s, const float *input,
                     lnl_parallel *par) {
  const lnl_config *c = &net->cfg;
  int L = c->local_width, R = c->num_regions;
  unet_forward(net, s, input, par);
  local_forward(net, s, par);
  nonlocal_forward(net, s, par);
  /* feedback: the region weights scale the local features before fusion */
  memset(s->fused, 0, sizeof(float) * (size_t)L);
  for (int r = 0; r < R; r++)
    for (int j = 0; j < L; j++) s->fused[j] += s->weights[r] * s->lfeat[(size_t)r * L + j];
  global_feature(net, s, s->fused + L);
  lnl_linear_forward(linear(net, CLASSIFIER), s->fused, s->probs);
  lnl_softmax(s->probs, (size_t)c->num_classes);
}
