#include "lnl_nhwc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lnl_bilinear.h"
#include "lnl_kernels.h"

#define MR LNL_TILE_ROWS
#define NB LNL_NHWC_BLOCK
#define MAX_TAPS 49 /* 7 x 7 */

lnl_map lnl_map_dense(float *data, int h, int w, int c) {
  return (lnl_map){data, h, w, (size_t)w * c, (size_t)c};
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
  const lnl_kernel_set *kern;
  const lnl_map *in, *out;
  const int *group;
  int n, relu, tiles, colgroups;
  long items, bound[MAX_TASKS + 1]; /* task t runs items [bound[t], bound[t + 1]) */
} pconv_job;

/* Blocks of 16 output channels in column group cg. */
static int group_blocks(const pconv_job *j, int cg) {
  int b0 = cg * j->kern->tile_blocks, left = j->pc->blocks - b0;
  return left < j->kern->tile_blocks ? left : j->kern->tile_blocks;
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
  int bpc = j->kern->tile_blocks;
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
        j->kern->tile(one, taps, kc, w, wblk, nblk, bias, oi, out->cs, 1, ncols, j->relu);
      }
      continue;
    }
    float *o = out->data + (size_t)p0 * out->cs + b0 * NB;
    j->kern->tile(ind, taps, kc, w, wblk, nblk, bias, o, out->cs, mr, ncols, j->relu);
  }
}

void lnl_pconv_run(const lnl_pconv *pc, int n, const lnl_map *in, const lnl_map *out,
                   const int *group, int relu, lnl_parallel *par) {
  if (n < 1) return;
  int npix = in[0].h * in[0].w;
  if (npix < 1) return;
  const lnl_kernel_set *kern = lnl_kernels();
  pconv_job j = {pc, kern, in, out, group, n, relu, (npix + MR - 1) / MR, 0, 0, {0}};
  j.colgroups = (pc->blocks + kern->tile_blocks - 1) / kern->tile_blocks;
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

/* Output pixel o of n_out along an axis of n_in input pixels (align_corners=False). */
static void tap(int o, int n_in, int n_out, int *i0, int *i1, float *frac) {
  lnl_bilinear_axis(((float)o + 0.5f) * ((float)n_in / (float)n_out) - 0.5f, n_in, i0, i1, frac);
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
        float v = lnl_bilinear_mix(a[ch], b[ch], d[ch], e[ch], fx, fy);
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

/* ---- non-local attention ---- */

typedef struct softmax_job {
  float *att;
  int n, tasks;
  float scale;
} softmax_job;

/* Rows [t n / tasks, (t + 1) n / tasks) of the attention: scaled, then softmax. */
static void softmax_rows(void *arg, int t) {
  const softmax_job *j = arg;
  int r0 = (int)((long)j->n * t / j->tasks), r1 = (int)((long)j->n * (t + 1) / j->tasks);
  for (int k = r0; k < r1; k++) {
    float *row = j->att + (size_t)k * j->n;
    lnl_scale(row, (size_t)j->n, j->scale);
    lnl_softmax(row, (size_t)j->n);
  }
}

void lnl_attention(const float *q, const float *k, const float *v, int ld, int d, int n, float *att,
                   float *y, lnl_parallel *par) {
  /* att = q k^T, softmax over each row; y = att v */
  lnl_gemm(par, 0, 1, n, n, d, q, ld, k, ld, 0.0f, att, n);
  /* rows split across threads (an exp costs about 20 multiply-adds) */
  softmax_job sj = {att, n, lnl_parallel_threads_for(par, 20.0 * n * n), 1.0f / sqrtf((float)d)};
  lnl_parallel_for(sj.tasks > 1 ? par : NULL, sj.tasks, softmax_rows, &sj);
  lnl_gemm(par, 0, 0, n, d, n, att, n, v, ld, 0.0f, y, d);
}
