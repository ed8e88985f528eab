#include "lnl_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lnl_error.h"

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

static uint64_t conv_macs(const lnl_conv *c, int side) {
  uint64_t o = (uint64_t)lnl_conv_out_size(side, c->kh, c->stride, c->pad);
  return (uint64_t)c->cout * o * o * (uint64_t)(c->cin / c->groups) * c->kh * c->kw;
}

static void count_macs(lnl_net *net) {
  const lnl_config *cfg = &net->cfg;
  int S = cfg->input_size, fs = cfg->feature_size, n = fs / cfg->nonlocal_pool;
  uint64_t m = 0;
  for (int l = 0; l < 4; l++)
    m += conv_macs(&net->enc[l][0], S >> l) + conv_macs(&net->enc[l][1], S >> l);
  m += conv_macs(&net->up2, S >> 2) + conv_macs(&net->dec2, S >> 2);
  m += conv_macs(&net->up1, S >> 1) + conv_macs(&net->dec1, S >> 1);
  m +=
      conv_macs(&net->local1, cfg->regions[0][2]) + conv_macs(&net->local2, cfg->regions[0][2] / 2);
  m += conv_macs(&net->theta, n) * 3 + conv_macs(&net->nl_out, n);
  m += 2ull * (uint64_t)(n * n) * (uint64_t)(n * n) * cfg->nonlocal_inner; /* n*n positions */
  m += (uint64_t)cfg->num_regions * (uint64_t)(net->score1.in * net->score1.out + net->score2.in);
  m += (uint64_t)net->classifier.in * net->classifier.out;
  net->macs = m;
}

static lnl_status bind_all(loader *L) {
  lnl_net *net = L->net;
  const lnl_config *c = &net->cfg;
  const int *w = c->widths, *d = c->dec_widths;
  int R = c->num_regions, fch = c->feature_channels, lw = c->local_width;
  char name[64];
  lnl_status s;
  int cin = c->input_channels;
  for (int l = 0; l < 4; l++) {
    snprintf(name, sizeof name, "unet.enc%d.0", l);
    if ((s = bind_convbn(L, &net->enc[l][0], name, cin, w[l], 3, 1))) return s;
    snprintf(name, sizeof name, "unet.enc%d.1", l);
    if ((s = bind_convbn(L, &net->enc[l][1], name, w[l], w[l], 3, 1))) return s;
    cin = w[l];
  }
  /* decoder: 1x1 "up" convolution, then a 3x3 over [up, skip] */
  if ((s = bind_convbn(L, &net->up2, "unet.up2", w[3], d[0], 1, 1)) ||
      (s = bind_convbn(L, &net->dec2, "unet.dec2", d[0] + w[2], d[0], 3, 1)) ||
      (s = bind_convbn(L, &net->up1, "unet.up1", d[0], d[1], 1, 1)) ||
      (s = bind_convbn(L, &net->dec1, "unet.dec1", d[1] + w[1], fch, 3, 1)) ||
      (s = bind_convbn(L, &net->local1, "local.conv1", R * fch, R * lw, 3, R)) ||
      (s = bind_convbn(L, &net->local2, "local.conv2", R * lw, R * lw, 3, R)) ||
      (s = bind_pointwise(L, &net->theta, "nonlocal_net.theta", fch, c->nonlocal_inner)) ||
      (s = bind_pointwise(L, &net->phi, "nonlocal_net.phi", fch, c->nonlocal_inner)) ||
      (s = bind_pointwise(L, &net->g, "nonlocal_net.g", fch, c->nonlocal_inner)) ||
      (s = bind_conv(L, &net->nl_out, "nonlocal_net.out.weight", "nonlocal_net.out_bn",
                     c->nonlocal_inner, fch, 1, 1)) ||
      (s = bind_linear(L, &net->score1, "nonlocal_net.score1", fch, c->attention_hidden)) ||
      (s = bind_linear(L, &net->score2, "nonlocal_net.score2", c->attention_hidden, 1)) ||
      (s = bind_linear(L, &net->classifier, "classifier", lw + w[3], c->num_classes)))
    return s;
  int64_t nreg = R;
  return take(L, "nonlocal_net.region_bias", 1, &nreg, &net->region_bias);
}

lnl_status lnl_net_load(lnl_net *net, const lnl_config *cfg, const lnl_safetensors *st,
                        lnl_error *err) {
  memset(net, 0, sizeof *net);
  net->cfg = *cfg;
  loader L = {st, net, calloc((size_t)st->count + 1, 1), err};
  if (!L.used) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory loading the model");
  lnl_status s = bind_all(&L);
  for (int i = 0; s == LNL_OK && i < st->count; i++)
    if (!L.used[i])
      s = lnl_fail(err, LNL_ERR_MODEL, "tensor '%s' is not part of the configured network",
                   st->tensors[i].name);
  free(L.used);
  if (s != LNL_OK) {
    lnl_net_free(net);
    return s;
  }
  count_macs(net);
  return LNL_OK;
}

void lnl_net_free(lnl_net *net) {
  for (int i = 0; i < net->num_owned; i++) free(net->owned[i]);
  net->num_owned = 0;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

static size_t max_conv_scratch(const lnl_net *net) {
  const lnl_config *c = &net->cfg;
  int S = c->input_size, rs = c->regions[0][2], rt = c->regions[0][3];
  size_t m = lnl_conv_scratch(&net->local1, rt, rs);
  m = max_size(m, lnl_conv_scratch(&net->local2, rt / 2, rs / 2));
  for (int l = 0; l < 4; l++) {
    m = max_size(m, lnl_conv_scratch(&net->enc[l][0], S >> l, S >> l));
    m = max_size(m, lnl_conv_scratch(&net->enc[l][1], S >> l, S >> l));
  }
  m = max_size(m, lnl_conv_scratch(&net->dec2, S >> 2, S >> 2));
  return max_size(m, lnl_conv_scratch(&net->dec1, S >> 1, S >> 1));
}

lnl_status lnl_net_scratch_new(const lnl_net *net, lnl_net_scratch *s, lnl_error *err) {
  const lnl_config *c = &net->cfg;
  const int *w = c->widths, *d = c->dec_widths;
  size_t S = (size_t)c->input_size, R = (size_t)c->num_regions, fch = (size_t)c->feature_channels;
  size_t L = (size_t)c->local_width, in = (size_t)c->nonlocal_inner;
  size_t reg = (size_t)c->regions[0][2] * (size_t)c->regions[0][3];
  size_t n =
      (size_t)(c->feature_size / c->nonlocal_pool) * (size_t)(c->feature_size / c->nonlocal_pool);
  size_t area[4] = {S * S, S * S / 4, S * S / 16, S * S / 64};
  size_t tmp = 0;
  for (int l = 0; l < 4; l++) tmp = max_size(tmp, (size_t)w[l] * area[l]);
  struct {
    float **ptr;
    size_t count;
  } plan[] = {
      {&s->e[0], (size_t)w[0] * area[0]},
      {&s->e[1], (size_t)w[1] * area[1]},
      {&s->e[2], (size_t)w[2] * area[2]},
      {&s->e[3], (size_t)w[3] * area[3]},
      {&s->pooled, tmp / 4},
      {&s->tmp, tmp},
      {&s->up, max_size((size_t)w[3] * area[2], (size_t)d[0] * area[1])},
      {&s->cat, max_size((size_t)(d[0] + w[2]) * area[2], (size_t)(d[1] + w[1]) * area[1])},
      {&s->d2, (size_t)d[0] * area[2]},
      {&s->f, fch * area[1]},
      {&s->crops, R * fch * reg},
      {&s->l1, R * L * reg},
      {&s->lpool, R * L * reg / 4},
      {&s->l2, R * L * reg / 4},
      {&s->lfeat, R * L},
      {&s->p, fch * n},
      {&s->theta, in * n},
      {&s->phi, in * n},
      {&s->g, in * n},
      {&s->att, n * n},
      {&s->y, in * n},
      {&s->z, fch * n},
      {&s->ctx, R * fch},
      {&s->hidden, (size_t)c->attention_hidden},
      {&s->fused, L + (size_t)w[3]},
      {&s->col, max_conv_scratch(net)},
  };
  size_t total = 0;
  for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++)
    total += (plan[i].count + 15) & ~(size_t)15;
  s->block = malloc(total * sizeof(float));
  if (!s->block) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory for the network's buffers");
  float *p = s->block;
  for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
    *plan[i].ptr = p;
    p += (plan[i].count + 15) & ~(size_t)15;
  }
  return LNL_OK;
}

void lnl_net_scratch_free(lnl_net_scratch *s) {
  free(s->block);
  memset(s, 0, sizeof *s);
}

/* Upsample `x` to `side`, 1x1 conv into the first half of s->cat, then the skip. */
static const float *up_and_concat(const lnl_conv *up, const float *x, int xside, const float *skip,
                                  int skip_ch, int side, lnl_net_scratch *s, lnl_parallel *par) {
  lnl_resize_bilinear(x, up->cin, xside, xside, s->up, side, side);
  lnl_conv2d(up, s->up, side, side, s->cat, s->col, 1, par);
  memcpy(s->cat + (size_t)up->cout * side * side, skip,
         sizeof(float) * (size_t)skip_ch * side * side);
  return s->cat;
}

static void unet_forward(const lnl_net *net, lnl_net_scratch *s, const float *input,
                         lnl_parallel *par) {
  const lnl_config *c = &net->cfg;
  int S = c->input_size;
  const float *x = input;
  for (int l = 0; l < 4; l++) {
    int side = S >> l;
    if (l > 0) {
      lnl_maxpool2d(s->e[l - 1], c->widths[l - 1], side * 2, side * 2, 2, 2, s->pooled);
      x = s->pooled;
    }
    lnl_conv2d(&net->enc[l][0], x, side, side, s->tmp, s->col, 1, par);
    lnl_conv2d(&net->enc[l][1], s->tmp, side, side, s->e[l], s->col, 1, par);
  }
  const float *cat =
      up_and_concat(&net->up2, s->e[3], S >> 3, s->e[2], c->widths[2], S >> 2, s, par);
  lnl_conv2d(&net->dec2, cat, S >> 2, S >> 2, s->d2, s->col, 1, par);
  cat = up_and_concat(&net->up1, s->d2, S >> 2, s->e[1], c->widths[1], S >> 1, s, par);
  lnl_conv2d(&net->dec1, cat, S >> 1, S >> 1, s->f, s->col, 1, par);
}

static void local_forward(const lnl_net *net, lnl_net_scratch *s, lnl_parallel *par) {
  const lnl_config *c = &net->cfg;
  int fs = c->feature_size, fch = c->feature_channels, R = c->num_regions;
  int rw = c->regions[0][2], rh = c->regions[0][3];
  for (int r = 0; r < R; r++)
    lnl_crop(s->f, fch, fs, fs, c->regions[r][0], c->regions[r][1], rw, rh,
             s->crops + (size_t)r * fch * rw * rh);
  lnl_conv2d(&net->local1, s->crops, rh, rw, s->l1, s->col, 1, par);
  lnl_maxpool2d(s->l1, R * c->local_width, rh, rw, 2, 2, s->lpool);
  lnl_conv2d(&net->local2, s->lpool, rh / 2, rw / 2, s->l2, s->col, 1, par);
  lnl_global_avgpool(s->l2, R * c->local_width, rh / 2, rw / 2, s->lfeat);
}

static void nonlocal_forward(const lnl_net *net, lnl_net_scratch *s, float *weights,
                             lnl_parallel *par) {
  const lnl_config *c = &net->cfg;
  int fch = c->feature_channels, pool = c->nonlocal_pool, side = c->feature_size / pool;
  int n = side * side;
  lnl_avgpool2d(s->f, fch, c->feature_size, c->feature_size, pool, pool, s->p);
  lnl_conv2d(&net->theta, s->p, side, side, s->theta, s->col, 0, par);
  lnl_conv2d(&net->phi, s->p, side, side, s->phi, s->col, 0, par);
  lnl_conv2d(&net->g, s->p, side, side, s->g, s->col, 0, par);
  lnl_attention(s->theta, s->phi, s->g, c->nonlocal_inner, n, s->att, s->y, par);
  lnl_conv2d(&net->nl_out, s->y, side, side, s->z, s->col, 0, par);
  lnl_add(s->z, s->p, (size_t)fch * n);
  for (int r = 0; r < c->num_regions; r++) {
    const int *reg = c->regions[r];
    int x0 = reg[0] / pool, y0 = reg[1] / pool, w = reg[2] / pool, h = reg[3] / pool;
    float *ctx = s->ctx + (size_t)r * fch;
    for (int ch = 0; ch < fch; ch++) {
      float sum = 0.0f;
      for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++) sum += s->z[((size_t)ch * side + y) * side + x];
      ctx[ch] = sum / (float)(w * h);
    }
    lnl_linear_forward(&net->score1, ctx, s->hidden);
    lnl_relu(s->hidden, (size_t)net->score1.out);
    lnl_linear_forward(&net->score2, s->hidden, &weights[r]);
    weights[r] += net->region_bias[r];
  }
  lnl_softmax(weights, (size_t)c->num_regions);
}

void lnl_net_forward(const lnl_net *net, lnl_net_scratch *s, const float *input, float *probs,
                     float *weights, lnl_parallel *par) {
  const lnl_config *c = &net->cfg;
  int L = c->local_width;
  unet_forward(net, s, input, par);
  local_forward(net, s, par);
  nonlocal_forward(net, s, weights, par);
  /* feedback: the region weights scale the local features before fusion */
  memset(s->fused, 0, sizeof(float) * (size_t)L);
  for (int r = 0; r < c->num_regions; r++)
    for (int j = 0; j < L; j++) s->fused[j] += weights[r] * s->lfeat[(size_t)r * L + j];
  int b = c->input_size >> 3;
  lnl_global_avgpool(s->e[3], c->widths[3], b, b, s->fused + L);
  lnl_linear_forward(&net->classifier, s->fused, probs);
  lnl_softmax(probs, (size_t)c->num_classes);
}
