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
  m += (uint64_t)net->global_fc.in * net->global_fc.out;
  m += (uint64_t)net->classifier.in * net->classifier.out;
  net->macs = m;
}

/* Width of the global feature that joins the fused local features. */
static int global_width(const lnl_config *c) {
  return c->global_hidden ? c->global_hidden : c->widths[3];
}

/* The model flattens the pooled bottleneck channel-major (input ch * cells + cell); the
 * engine's map is channels-last, so global_fc's columns are reordered once, at load time,
 * to cell * channels + ch. */
static lnl_status global_fc_channels_last(loader *L, int channels, int cells) {
  lnl_linear *fc = &L->net->global_fc;
  size_t in = (size_t)channels * cells;
  float *row = malloc(in * sizeof(float));
  if (!row) return lnl_fail(L->err, LNL_ERR_MEMORY, "out of memory loading 'global_fc'");
  for (int o = 0; o < fc->out; o++) {
    float *w = fc->weight + (size_t)o * in;
    memcpy(row, w, in * sizeof(float));
    for (int cell = 0; cell < cells; cell++)
      for (int ch = 0; ch < channels; ch++) w[cell * channels + ch] = row[ch * cells + cell];
  }
  free(row);
  return LNL_OK;
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
      (s = bind_linear(L, &net->classifier, "classifier", lw + global_width(c), c->num_classes)))
    return s;
  if (c->global_hidden &&
      ((s = bind_linear(L, &net->global_fc, "global_fc", w[3] * c->global_pool * c->global_pool,
                        c->global_hidden)) ||
       (s = global_fc_channels_last(L, w[3], c->global_pool * c->global_pool))))
    return s;
  int64_t nreg = R;
  return take(L, "nonlocal_net.region_bias", 1, &nreg, &net->region_bias);
}

/* theta, phi and g as one 1x1 convolution with their outputs side by side. */
static lnl_status merge_qkv(loader *L, lnl_conv *qkv) {
  lnl_net *net = L->net;
  const lnl_conv *part[3] = {&net->theta, &net->phi, &net->g};
  int cin = net->theta.cin, inner = net->theta.cout;
  *qkv = (lnl_conv){
      cin, 3 * inner, 1, 1, 1, 0, 1, own(L, (size_t)3 * inner * cin), own(L, (size_t)3 * inner)};
  if (!qkv->weight || !qkv->bias)
    return lnl_fail(L->err, LNL_ERR_MEMORY, "out of memory packing the non-local block");
  for (int i = 0; i < 3; i++) {
    memcpy(qkv->weight + (size_t)i * inner * cin, part[i]->weight,
           sizeof(float) * (size_t)inner * cin);
    memcpy(qkv->bias + (size_t)i * inner, part[i]->bias, sizeof(float) * (size_t)inner);
  }
  return LNL_OK;
}

static lnl_status pack_all(loader *L) {
  lnl_net *net = L->net;
  lnl_conv qkv;
  lnl_status s = merge_qkv(L, &qkv);
  if (s) return s;
  struct {
    lnl_pconv *pc;
    const lnl_conv *conv;
  } list[] = {{&net->penc[0][0], &net->enc[0][0]},
              {&net->penc[0][1], &net->enc[0][1]},
              {&net->penc[1][0], &net->enc[1][0]},
              {&net->penc[1][1], &net->enc[1][1]},
              {&net->penc[2][0], &net->enc[2][0]},
              {&net->penc[2][1], &net->enc[2][1]},
              {&net->penc[3][0], &net->enc[3][0]},
              {&net->penc[3][1], &net->enc[3][1]},
              {&net->pup2, &net->up2},
              {&net->pdec2, &net->dec2},
              {&net->pup1, &net->up1},
              {&net->pdec1, &net->dec1},
              {&net->plocal1, &net->local1},
              {&net->plocal2, &net->local2},
              {&net->pqkv, &qkv},
              {&net->pout, &net->nl_out}};
  for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
    if (!lnl_pconv_pack(list[i].pc, list[i].conv))
      return lnl_fail(L->err, LNL_ERR_MEMORY, "out of memory packing the network's weights");
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
  loader L = {st, net, calloc((size_t)st->count + 1, 1), err};
  if (!L.used) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory loading the model");
  lnl_status s = bind_all(&L);
  for (int i = 0; s == LNL_OK && i < st->count; i++)
    if (!L.used[i])
      s = lnl_fail(err, LNL_ERR_MODEL, "tensor '%s' is not part of the configured network",
                   st->tensors[i].name);
  if (s == LNL_OK) s = pack_all(&L);
  free(L.used);
  if (s != LNL_OK) {
    lnl_net_free(net);
    return s;
  }
  count_macs(net);
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
  lnl_pconv *packed[] = {&net->penc[0][0], &net->penc[0][1], &net->penc[1][0], &net->penc[1][1],
                         &net->penc[2][0], &net->penc[2][1], &net->penc[3][0], &net->penc[3][1],
                         &net->pup2,       &net->pdec2,      &net->pup1,       &net->pdec1,
                         &net->plocal1,    &net->plocal2,    &net->pqkv,       &net->pout};
  for (size_t i = 0; i < sizeof packed / sizeof packed[0]; i++) lnl_pconv_free(packed[i]);
  for (int i = 0; i < net->num_owned; i++) free(net->owned[i]);
  net->num_owned = 0;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* The buffers of one face's forward pass: with block NULL, only their total size in floats;
 * else points s's buffers into block. */
static size_t plan_scratch(const lnl_net *net, lnl_net_scratch *s, float *block) {
  const lnl_config *c = &net->cfg;
  const int *w = c->widths, *d = c->dec_widths;
  size_t S = (size_t)c->input_size, R = (size_t)c->num_regions, fch = (size_t)c->feature_channels;
  size_t L = (size_t)c->local_width, in = (size_t)c->nonlocal_inner;
  size_t reg = (size_t)c->regions[0][2] * (size_t)c->regions[0][3];
  size_t n =
      (size_t)(c->feature_size / c->nonlocal_pool) * (size_t)(c->feature_size / c->nonlocal_pool);
  size_t area[4] = {S * S, S * S / 4, S * S / 16, S * S / 64};
  size_t tmp = 0, pool = 0;
  for (int l = 0; l < 4; l++) tmp = max_size(tmp, (size_t)w[l] * area[l]);
  for (int l = 1; l < 4; l++) pool = max_size(pool, (size_t)w[l - 1] * area[l]);
  struct {
    float **ptr;
    size_t count;
  } plan[] = {
      {&s->x, (size_t)c->input_channels * area[0]},
      {&s->t, tmp},
      {&s->e0, (size_t)w[0] * area[0]},
      {&s->pool, pool},
      {&s->cat1, (size_t)(d[1] + w[1]) * area[1]},
      {&s->cat2, (size_t)(d[0] + w[2]) * area[2]},
      {&s->e3, (size_t)w[3] * area[3]},
      {&s->u2, (size_t)d[0] * area[3]},
      {&s->d2, (size_t)d[0] * area[2]},
      {&s->u1, (size_t)d[1] * area[2]},
      {&s->f, fch * area[1]},
      {&s->l1, R * L * reg},
      {&s->lpool, R * L * reg / 4},
      {&s->l2, R * L * reg / 4},
      {&s->lfeat, R * L},
      {&s->p, fch * n},
      {&s->qkv, 3 * in * n},
      {&s->att, n * n},
      {&s->y, in * n},
      {&s->z, fch * n},
      {&s->ctx, R * fch},
      {&s->hidden, (size_t)c->attention_hidden},
      {&s->gpool, (size_t)w[3] * (size_t)(c->global_pool * c->global_pool)},
      {&s->fused, L + (size_t)global_width(c)},
      {&s->probs, (size_t)c->num_classes},
      {&s->weights, R},
  };
  size_t total = 0;
  for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
    if (block) *plan[i].ptr = block + total;
    total += (plan[i].count + 15) & ~(size_t)15;
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
  conv(&net->penc[0][0], S, x, cin, 0, s->t, w[0], 0, 1, par);
  conv(&net->penc[0][1], S, s->t, w[0], 0, s->e0, w[0], 0, 1, par);
  /* level 1: e1 is stored as the second part of cat1 */
  maxpool(S, s->e0, w[0], 0, w[0], s->pool);
  conv(&net->penc[1][0], S / 2, s->pool, w[0], 0, s->t, w[1], 0, 1, par);
  conv(&net->penc[1][1], S / 2, s->t, w[1], 0, s->cat1, c1, d[1], 1, par);
  /* level 2: e2 in the second part of cat2 */
  maxpool(S / 2, s->cat1, c1, d[1], w[1], s->pool);
  conv(&net->penc[2][0], S / 4, s->pool, w[1], 0, s->t, w[2], 0, 1, par);
  conv(&net->penc[2][1], S / 4, s->t, w[2], 0, s->cat2, c2, d[0], 1, par);
  /* level 3 */
  maxpool(S / 4, s->cat2, c2, d[0], w[2], s->pool);
  conv(&net->penc[3][0], S / 8, s->pool, w[2], 0, s->t, w[3], 0, 1, par);
  conv(&net->penc[3][1], S / 8, s->t, w[3], 0, s->e3, w[3], 0, 1, par);
  /* decoder */
  up(&net->pup2, S / 4, s->e3, s->u2, s->cat2, c2, par);
  conv(&net->pdec2, S / 4, s->cat2, c2, 0, s->d2, d[0], 0, 1, par);
  up(&net->pup1, S / 2, s->d2, s->u1, s->cat1, c1, par);
  conv(&net->pdec1, S / 2, s->cat1, c1, 0, s->f, c->feature_channels, 0, 1, par);
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
  lnl_pconv_run(&net->plocal1, R, s->in, s->out, s->group, 1, par);
  for (int r = 0; r < R; r++) {
    s->in[r] = lnl_map_dense(s->lpool + (size_t)r * small, rh / 2, rw / 2, L);
    lnl_map_maxpool2(&s->out[r], L, &s->in[r]);
    s->out[r] = lnl_map_dense(s->l2 + (size_t)r * small, rh / 2, rw / 2, L);
  }
  lnl_pconv_run(&net->plocal2, R, s->in, s->out, s->group, 1, par);
  for (int r = 0; r < R; r++) lnl_map_mean(&s->out[r], L, s->lfeat + (size_t)r * L);
}

static void nonlocal_forward(const lnl_net *net, lnl_net_scratch *s, lnl_parallel *par) {
  const lnl_config *c = &net->cfg;
  int fch = c->feature_channels, pool = c->nonlocal_pool, side = c->feature_size / pool;
  int fs = c->feature_size, d = c->nonlocal_inner, np = side * side, R = c->num_regions;
  lnl_map a = lnl_map_dense(s->f, fs, fs, fch), b = lnl_map_dense(s->p, side, side, fch);
  lnl_map_avgpool(&a, fch, pool, &b);
  conv(&net->pqkv, side, s->p, fch, 0, s->qkv, 3 * d, 0, 0, par);
  lnl_attention(s->qkv, s->qkv + d, s->qkv + 2 * d, 3 * d, d, np, s->att, s->y, par);
  conv(&net->pout, side, s->y, d, 0, s->z, fch, 0, 0, par);
  lnl_add(s->z, s->p, (size_t)np * fch);
  for (int r = 0; r < R; r++) {
    const int *reg = c->regions[r];
    int x0 = reg[0] / pool, y0 = reg[1] / pool, w = reg[2] / pool, h = reg[3] / pool;
    lnl_map cells = {s->z + ((size_t)y0 * side + x0) * fch, h, w, (size_t)side * fch, (size_t)fch};
    lnl_map_mean(&cells, fch, s->ctx);
    lnl_linear_forward(&net->score1, s->ctx, s->hidden);
    lnl_relu(s->hidden, (size_t)net->score1.out);
    lnl_linear_forward(&net->score2, s->hidden, &s->weights[r]);
    s->weights[r] += net->region_bias[r];
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
  lnl_linear_forward(&net->global_fc, s->gpool, out); /* columns reordered at load */
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
  lnl_linear_forward(&net->classifier, s->fused, s->probs);
  lnl_softmax(s->probs, (size_t)c->num_classes);
}
