#include "lnl_graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lnl_error.h"

#define MAX_OPS 4096
#define MAX_CHANNELS 8192

static int json_int(const cJSON *obj, const char *key, int lo, int hi, int *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsNumber(v) || floor(v->valuedouble) != v->valuedouble || v->valuedouble < lo ||
      v->valuedouble > hi)
    return 0;
  *out = (int)v->valuedouble;
  return 1;
}

static int json_ints(const cJSON *obj, const char *key, int *out, int n, int lo, int hi) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != n) return 0;
  for (int i = 0; i < n; i++) {
    const cJSON *e = cJSON_GetArrayItem(v, i);
    if (!cJSON_IsNumber(e) || floor(e->valuedouble) != e->valuedouble || e->valuedouble < lo ||
        e->valuedouble > hi)
      return 0;
    out[i] = (int)e->valuedouble;
  }
  return 1;
}

/* Copies op<i>.<field> of exactly `shape` into a new owned array. */
static lnl_status bind(lnl_graph *g, const lnl_safetensors *st, int op, const char *field, int ndim,
                       const int64_t *shape, float **out, int *bound, lnl_error *err) {
  char name[48];
  snprintf(name, sizeof name, "op%d.%s", op, field);
  const lnl_tensor_view *t = lnl_safetensors_find(st, name);
  if (!t) return lnl_fail(err, LNL_ERR_MODEL, "detector tensor '%s' is missing", name);
  int same = t->dtype == LNL_DT_F32 && t->ndim == ndim;
  for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
  if (!same)
    return lnl_fail(err, LNL_ERR_MODEL, "detector tensor '%s' is not F32 of the shape op %d needs",
                    name, op);
  float *p = malloc(t->nbytes ? t->nbytes : 1);
  if (!p) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory loading '%s'", name);
  memcpy(p, t->data, t->nbytes);
  g->params[g->num_params++] = p;
  size_t bad = lnl_first_nonfinite(p, t->nbytes / sizeof(float));
  if (bad < t->nbytes / sizeof(float))
    return lnl_fail(err, LNL_ERR_MODEL,
                    "detector tensor '%s' holds a non-finite value (%g at element %zu)", name,
                    (double)p[bad], bad);
  (*bound)++;
  *out = p;
  return LNL_OK;
}

static lnl_status parse_conv(lnl_graph *g, const cJSON *j, int i, lnl_shape in,
                             const lnl_safetensors *st, int *bound, lnl_error *err) {
  lnl_graph_op *op = &g->ops[i];
  int k[2], groups, stride;
  if (!json_ints(j, "kernel", k, 2, 1, 64) || !json_int(j, "stride", 1, 64, &stride) ||
      !json_ints(j, "pad", op->pads, 4, 0, 64) || !json_int(j, "groups", 1, MAX_CHANNELS, &groups))
    return lnl_fail(err, LNL_ERR_MODEL, "detector op %d: bad conv parameters", i);
  char name[48];
  snprintf(name, sizeof name, "op%d.weight", i);
  const lnl_tensor_view *t = lnl_safetensors_find(st, name);
  if (!t || t->ndim != 4)
    return lnl_fail(err, LNL_ERR_MODEL, "detector tensor '%s' is missing or not 4-D", name);
  int cout = (int)t->shape[0];
  if (cout < 1 || cout > MAX_CHANNELS || in.c % groups || cout % groups)
    return lnl_fail(err, LNL_ERR_MODEL, "detector op %d: %d groups do not divide %d -> %d channels",
                    i, groups, in.c, cout);
  int64_t wshape[4] = {cout, in.c / groups, k[0], k[1]}, bshape[1] = {cout};
  op->conv = (lnl_conv){in.c, cout, k[0], k[1], stride, 0, groups, NULL, NULL};
  lnl_status s = bind(g, st, i, "weight", 4, wshape, &op->conv.weight, bound, err);
  if (!s) s = bind(g, st, i, "bias", 1, bshape, &op->conv.bias, bound, err);
  if (s) return s;
  int *p = op->pads;
  op->asymmetric = !(p[0] == p[1] && p[1] == p[2] && p[2] == p[3]);
  if (!op->asymmetric) op->conv.pad = p[0];
  return LNL_OK;
}

/* Shape of op i's output into p (the shapes of its inputs already there), with the scratch
 * and the multiply-adds it adds, or an error when the op cannot apply to its inputs. */
static lnl_status infer(const lnl_graph *g, int i, lnl_graph_plan *p, lnl_error *err) {
  const lnl_graph_op *op = &g->ops[i];
  lnl_shape in = p->shapes[op->in[0]], *out = &p->shapes[i + 1];
  switch (op->kind) {
  case LNL_OP_CONV: {
    int h = in.h + op->pads[0] + op->pads[2], w = in.w + op->pads[1] + op->pads[3];
    if (op->conv.kh > h || op->conv.kw > w)
      return lnl_fail(err, LNL_ERR_MODEL,
                      "detector op %d: its %dx%d kernel is larger than its %dx%d padded input", i,
                      op->conv.kh, op->conv.kw, h, w);
    *out = (lnl_shape){op->conv.cout, lnl_conv_out_size(h, op->conv.kh, op->conv.stride, 0),
                       lnl_conv_out_size(w, op->conv.kw, op->conv.stride, 0)};
    size_t pad = op->asymmetric ? (size_t)in.c * h * w : 0;
    size_t col = lnl_conv_scratch(&op->conv, h, w);
    if (pad + col > p->scratch_floats) p->scratch_floats = pad + col;
    p->macs += (uint64_t)out->c * out->h * out->w * (uint64_t)(in.c / op->conv.groups) *
               op->conv.kh * op->conv.kw;
    break;
  }
  case LNL_OP_RELU:
  case LNL_OP_SIGMOID: *out = in; break;
  case LNL_OP_ADD: {
    lnl_shape b = p->shapes[op->in[1]];
    if (b.c != in.c || b.h != in.h || b.w != in.w)
      return lnl_fail(err, LNL_ERR_MODEL, "detector op %d adds values of different shapes", i);
    *out = in;
    break;
  }
  case LNL_OP_MAXPOOL:
    if (op->kernel > in.h || op->kernel > in.w)
      return lnl_fail(err, LNL_ERR_MODEL,
                      "detector op %d: its %dx%d max-pool is larger than its %dx%d input", i,
                      op->kernel, op->kernel, in.h, in.w);
    *out = (lnl_shape){in.c, (in.h - op->kernel) / op->stride + 1,
                       (in.w - op->kernel) / op->stride + 1};
    break;
  case LNL_OP_PAD_CHANNELS: *out = (lnl_shape){in.c + op->add_channels, in.h, in.w}; break;
  case LNL_OP_UPSAMPLE:
    if (in.h > (1 << 20) / op->factor || in.w > (1 << 20) / op->factor)
      return lnl_fail(err, LNL_ERR_MODEL, "detector op %d upsamples to more than 2^20 pixels", i);
    *out = (lnl_shape){in.c, in.h * op->factor, in.w * op->factor};
    break;
  }
  if (out->h < 1 || out->w < 1 || out->c > MAX_CHANNELS)
    return lnl_fail(err, LNL_ERR_MODEL, "detector op %d has an empty or too large output", i);
  if ((size_t)out->c * out->h * out->w > LNL_GRAPH_MAX_VALUE_FLOATS)
    return lnl_fail(err, LNL_ERR_MODEL,
                    "detector op %d: its %dx%dx%d output is larger than the engine's limit of %d M "
                    "values",
                    i, out->c, out->h, out->w, LNL_GRAPH_MAX_VALUE_FLOATS >> 20);
  if (p->scratch_floats > LNL_GRAPH_MAX_VALUE_FLOATS)
    return lnl_fail(err, LNL_ERR_MODEL,
                    "detector op %d: its convolution needs more scratch memory than the engine's "
                    "limit of %d M values",
                    i, LNL_GRAPH_MAX_VALUE_FLOATS >> 20);
  if (p->macs > LNL_GRAPH_MAX_MACS)
    return lnl_fail(err, LNL_ERR_MODEL,
                    "detector: one pass would take more than the engine's limit of %llu M "
                    "multiply-adds (at op %d)",
                    (unsigned long long)LNL_GRAPH_MAX_MACS / 1000000ull, i);
  return LNL_OK;
}

static lnl_status parse_op(lnl_graph *g, const cJSON *j, int i, const lnl_safetensors *st,
                           int *bound, lnl_graph_plan *p, lnl_error *err) {
  lnl_graph_op *op = &g->ops[i];
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "op");
  if (!cJSON_IsString(kind))
    return lnl_fail(err, LNL_ERR_MODEL, "detector op %d has no \"op\" name", i);
  const char *k = kind->valuestring;
  int two = strcmp(k, "add") == 0;
  if (two ? !json_ints(j, "in", op->in, 2, 0, i) : !json_int(j, "in", 0, i, &op->in[0]))
    return lnl_fail(err, LNL_ERR_MODEL, "detector op %d (%s): \"in\" must name earlier values", i,
                    k);
  lnl_shape s = g->shapes[op->in[0]];
  if (strcmp(k, "conv") == 0) {
    op->kind = LNL_OP_CONV;
    lnl_status r = parse_conv(g, j, i, s, st, bound, err);
    if (r) return r;
  } else if (strcmp(k, "relu") == 0) {
    op->kind = LNL_OP_RELU;
  } else if (two) {
    op->kind = LNL_OP_ADD;
  } else if (strcmp(k, "maxpool") == 0) {
    op->kind = LNL_OP_MAXPOOL;
    if (!json_int(j, "kernel", 1, 64, &op->kernel) || !json_int(j, "stride", 1, 64, &op->stride))
      return lnl_fail(err, LNL_ERR_MODEL, "detector op %d: bad maxpool parameters", i);
  } else if (strcmp(k, "pad_channels") == 0) {
    op->kind = LNL_OP_PAD_CHANNELS;
    if (!json_int(j, "add", 0, MAX_CHANNELS, &op->add_channels))
      return lnl_fail(err, LNL_ERR_MODEL, "detector op %d: bad pad_channels count", i);
  } else if (strcmp(k, "upsample") == 0) {
    op->kind = LNL_OP_UPSAMPLE;
    if (!json_int(j, "factor", 1, 16, &op->factor))
      return lnl_fail(err, LNL_ERR_MODEL, "detector op %d: bad upsample factor", i);
  } else if (strcmp(k, "sigmoid") == 0) {
    op->kind = LNL_OP_SIGMOID;
  } else {
    return lnl_fail(err, LNL_ERR_MODEL, "detector op %d: unknown operation '%s'", i, k);
  }
  return infer(g, i, p, err);
}

lnl_status lnl_graph_load(lnl_graph *g, const cJSON *ops, lnl_shape input,
                          const lnl_safetensors *st, lnl_error *err) {
  memset(g, 0, sizeof *g);
  int n = cJSON_IsArray(ops) ? cJSON_GetArraySize(ops) : 0;
  if (n < 1 || n > MAX_OPS)
    return lnl_fail(err, LNL_ERR_MODEL, "detector: \"ops\" must list 1 to %d operations", MAX_OPS);
  g->ops = calloc((size_t)n, sizeof *g->ops);
  g->shapes = calloc((size_t)n + 1, sizeof *g->shapes);
  g->last_use = calloc((size_t)n + 1, sizeof *g->last_use);
  g->params = calloc(2 * (size_t)n, sizeof *g->params);
  if (!g->ops || !g->shapes || !g->last_use || !g->params) {
    lnl_graph_free(g);
    return lnl_fail(err, LNL_ERR_MEMORY, "out of memory loading the detector");
  }
  g->num_ops = n;
  g->shapes[0] = input;
  int bound = 0;
  lnl_status s = LNL_OK;
  lnl_graph_plan p = {g->shapes, 0, 0, 0};
  for (int i = 0; i < n && !s; i++)
    s = parse_op(g, cJSON_GetArrayItem(ops, i), i, st, &bound, &p, err);
  g->scratch_floats = p.scratch_floats;
  g->macs = p.macs;
  if (!s && bound != st->count) {
    for (int t = 0; t < st->count; t++) {
      int op;
      char field[16];
      if (sscanf(st->tensors[t].name, "op%d.%15s", &op, field) != 2 || op < 0 || op >= n ||
          g->ops[op].kind != LNL_OP_CONV) {
        s = lnl_fail(err, LNL_ERR_MODEL, "tensor '%s' is not used by the detector program",
                     st->tensors[t].name);
        break;
      }
    }
    if (!s) s = lnl_fail(err, LNL_ERR_MODEL, "the detector file has unused tensors");
  }
  if (s) {
    lnl_graph_free(g);
    return s;
  }
  for (int i = 0; i < n; i++) {
    g->last_use[g->ops[i].in[0]] = i;
    if (g->ops[i].kind == LNL_OP_ADD) g->last_use[g->ops[i].in[1]] = i;
  }
  return LNL_OK;
}

void lnl_graph_keep(lnl_graph *g, int value) { g->last_use[value] = g->num_ops; }

static size_t numel(lnl_shape s) { return (size_t)s.c * s.h * s.w; }

static size_t peak_floats(const lnl_graph *g, const lnl_shape *shapes, size_t scratch) {
  size_t live = 0, peak = 0; /* as lnl_graph_run allocates, without its in-place reuse */
  for (int i = 0; i < g->num_ops; i++) {
    live += numel(shapes[i + 1]);
    if (live > peak) peak = live;
    for (int k = 0; k < (g->ops[i].kind == LNL_OP_ADD ? 2 : 1); k++) {
      int v = g->ops[i].in[k];
      if (v > 0 && g->last_use[v] == i && !(k == 1 && v == g->ops[i].in[0]))
        live -= numel(shapes[v]);
    }
  }
  return peak + scratch;
}

size_t lnl_graph_peak_floats(const lnl_graph *g) {
  return peak_floats(g, g->shapes, g->scratch_floats);
}

lnl_status lnl_graph_plan_make(const lnl_graph *g, lnl_shape input, lnl_graph_plan *plan,
                               lnl_error *err) {
  memset(plan, 0, sizeof *plan);
  if (input.c != g->shapes[0].c || input.h < 1 || input.w < 1)
    return lnl_fail(err, LNL_ERR_ARGUMENT, "detector input of %dx%dx%d values (%d channels needed)",
                    input.c, input.h, input.w, g->shapes[0].c);
  plan->shapes = malloc(sizeof *plan->shapes * ((size_t)g->num_ops + 1));
  if (!plan->shapes) return lnl_fail(err, LNL_ERR_MEMORY, "out of memory planning the detector");
  plan->shapes[0] = input;
  lnl_status s = numel(input) > LNL_GRAPH_MAX_VALUE_FLOATS
                     ? lnl_fail(err, LNL_ERR_ARGUMENT,
                                "a detector input of %dx%d pixels is larger than the engine's "
                                "limit",
                                input.w, input.h)
                     : LNL_OK;
  for (int i = 0; i < g->num_ops && !s; i++) s = infer(g, i, plan, err);
  if (!s) {
    plan->peak_floats = peak_floats(g, plan->shapes, plan->scratch_floats);
    if (plan->peak_floats > LNL_GRAPH_MAX_PEAK_FLOATS)
      s = lnl_fail(err, LNL_ERR_ARGUMENT,
                   "a detector pass on %dx%d pixels would hold %zu MB at once; the engine's "
                   "limit is %d MB",
                   input.w, input.h, plan->peak_floats * sizeof(float) >> 20,
                   (int)(LNL_GRAPH_MAX_PEAK_FLOATS * sizeof(float) >> 20));
  }
  if (s) lnl_graph_plan_free(plan);
  return s;
}

void lnl_graph_plan_free(lnl_graph_plan *plan) {
  free(plan->shapes);
  memset(plan, 0, sizeof *plan);
}

void lnl_graph_free(lnl_graph *g) {
  for (int i = 0; i < g->num_params; i++) free(g->params[i]);
  free(g->params);
  free(g->ops);
  free(g->shapes);
  free(g->last_use);
  memset(g, 0, sizeof *g);
}

/* Op i into values[i + 1]; `relu`: a ReLU after a convolution, in the same pass. */
static void run_op(const lnl_graph *g, const lnl_shape *shapes, int i, float **values,
                   float *scratch, int relu, lnl_parallel *par) {
  const lnl_graph_op *op = &g->ops[i];
  lnl_shape in = shapes[op->in[0]];
  const float *x = values[op->in[0]];
  float *y = values[i + 1];
  switch (op->kind) {
  case LNL_OP_CONV:
    if (op->asymmetric) {
      const int *p = op->pads;
      lnl_pad2d(x, in.c, in.h, in.w, p[0], p[1], p[2], p[3], scratch);
      size_t padded = (size_t)in.c * (in.h + p[0] + p[2]) * (in.w + p[1] + p[3]);
      lnl_conv2d(&op->conv, scratch, in.h + p[0] + p[2], in.w + p[1] + p[3], y, scratch + padded,
                 relu, par);
    } else {
      lnl_conv2d(&op->conv, x, in.h, in.w, y, scratch, relu, par);
    }
    break;
  case LNL_OP_RELU:
    memcpy(y, x, sizeof(float) * numel(in));
    lnl_relu(y, numel(in));
    break;
  case LNL_OP_ADD:
    memcpy(y, x, sizeof(float) * numel(in));
    lnl_add(y, values[op->in[1]], numel(in));
    break;
  case LNL_OP_MAXPOOL: lnl_maxpool2d(x, in.c, in.h, in.w, op->kernel, op->stride, y, par); break;
  case LNL_OP_PAD_CHANNELS:
    memcpy(y, x, sizeof(float) * numel(in));
    memset(y + numel(in), 0, sizeof(float) * (size_t)op->add_channels * in.h * in.w);
    break;
  case LNL_OP_UPSAMPLE: lnl_upsample_nearest(x, in.c, in.h, in.w, op->factor, y); break;
  case LNL_OP_SIGMOID:
    memcpy(y, x, sizeof(float) * numel(in));
    lnl_sigmoid(y, numel(in));
    break;
  }
}

/* The value whose buffer elementwise op i can overwrite with its output (an input that
 * dies at op i, not the graph input, of the output's shape), or 0. */
static int in_place(const lnl_graph *g, int i) {
  const lnl_graph_op *op = &g->ops[i];
  if (op->kind != LNL_OP_RELU && op->kind != LNL_OP_ADD && op->kind != LNL_OP_SIGMOID) return 0;
  int a = op->in[0], b = op->kind == LNL_OP_ADD ? op->in[1] : 0;
  if (a > 0 && g->last_use[a] == i && a != b) return a;
  if (b > 0 && g->last_use[b] == i && a != b) return b;
  return 0;
}

/* Op i with values[i + 1] already holding the input it took over. */
static void run_in_place(const lnl_graph *g, const lnl_shape *shapes, int i, float **values) {
  const lnl_graph_op *op = &g->ops[i];
  float *y = values[i + 1];
  size_t n = numel(shapes[i + 1]);
  if (op->kind == LNL_OP_RELU) {
    lnl_relu(y, n);
    return;
  }
  if (op->kind == LNL_OP_SIGMOID) {
    lnl_sigmoid(y, n);
    return;
  }
  /* add: y holds one operand, the other is still in values */
  const float *other = values[op->in[0]] ? values[op->in[0]] : values[op->in[1]];
  lnl_add(y, other, n);
}

/* The buffers of one run: each value's capacity, and the workspace's buffers of dead values,
 * kept for the values that follow and for later runs (a fresh allocation of a large buffer
 * faults its pages in again). When no kept buffer fits, all of them are freed before the new
 * one is allocated, so that a run holds little more than its plan's peak (a reused buffer
 * may be larger than needed). */
typedef struct buffers {
  size_t *cap; /* per value */
  lnl_graph_workspace *ws;
} buffers;

/* A buffer of at least n floats for value v: the smallest spare that fits, else a new one. */
static float *take(buffers *b, int v, size_t n) {
  lnl_graph_workspace *ws = b->ws;
  int best = -1;
  for (int k = 0; k < ws->spares; k++)
    if (ws->spare_cap[k] >= n && (best < 0 || ws->spare_cap[k] < ws->spare_cap[best])) best = k;
  if (best >= 0) {
    float *p = ws->spare[best];
    b->cap[v] = ws->spare_cap[best];
    ws->spares--;
    ws->spare[best] = ws->spare[ws->spares];
    ws->spare_cap[best] = ws->spare_cap[ws->spares];
    return p;
  }
  for (int k = 0; k < ws->spares; k++) free(ws->spare[k]);
  ws->spares = 0;
  b->cap[v] = n;
  return malloc(sizeof(float) * (n ? n : 1));
}

static void give_back(buffers *b, float *p, size_t cap) {
  lnl_graph_workspace *ws = b->ws;
  if (!p) return; /* taken over by the op's output */
  if (ws->spares == LNL_GRAPH_SPARES) {
    free(p);
    return;
  }
  ws->spare[ws->spares] = p;
  ws->spare_cap[ws->spares++] = cap;
}

void lnl_graph_workspace_free(lnl_graph_workspace *ws) {
  for (int k = 0; k < ws->spares; k++) free(ws->spare[k]);
  free(ws->scratch);
  memset(ws, 0, sizeof *ws);
}

/* values[to] takes over values[from]'s buffer. */
static void move_value(float **values, buffers *b, int from, int to) {
  values[to] = values[from];
  b->cap[to] = b->cap[from];
  values[from] = NULL;
}

/* Gives back the buffers of the inputs of op i that no later op reads. */
static void free_dead_inputs(const lnl_graph *g, int i, float **values, buffers *b) {
  for (int k = 0; k < 2; k++) {
    int v = g->ops[i].in[k];
    int second = k == 1 && (g->ops[i].kind != LNL_OP_ADD || v == g->ops[i].in[0]);
    if (!second && v > 0 && g->last_use[v] == i) {
      give_back(b, values[v], b->cap[v]);
      values[v] = NULL;
    }
  }
}

/* Op i's output is read by op i + 1 alone, a ReLU. */
static int only_relu_reads(const lnl_graph *g, int i) {
  return i + 1 < g->num_ops && g->ops[i + 1].kind == LNL_OP_RELU && g->ops[i + 1].in[0] == i + 1 &&
         g->last_use[i + 1] == i + 1;
}

/* Op i is an in-place add whose output only op i + 1, a ReLU, reads. */
static int relu_follows(const lnl_graph *g, int i) {
  return g->ops[i].kind == LNL_OP_ADD && only_relu_reads(g, i);
}

static void add_relu(const lnl_graph *g, const lnl_shape *shapes, int i, float **values) {
  const lnl_graph_op *op = &g->ops[i];
  float *y = values[i + 1];
  const float *other = values[op->in[0]] ? values[op->in[0]] : values[op->in[1]];
  size_t n = numel(shapes[i + 1]);
  for (size_t k = 0; k < n; k++) {
    float v = y[k] + other[k];
    y[k] = v < 0.0f ? 0.0f : v;
  }
}

lnl_status lnl_graph_run(const lnl_graph *g, const float *input, float **values, lnl_parallel *par,
                         lnl_error *err) {
  lnl_graph_plan own = {g->shapes, g->scratch_floats, 0, g->macs};
  return lnl_graph_run_plan(g, &own, input, values, par, err);
}

lnl_status lnl_graph_run_plan(const lnl_graph *g, const lnl_graph_plan *plan, const float *input,
                              float **values, lnl_parallel *par, lnl_error *err) {
  lnl_graph_workspace ws = {0};
  lnl_status s = lnl_graph_run_in(g, plan, &ws, input, values, par, err);
  lnl_graph_workspace_free(&ws);
  return s;
}

lnl_status lnl_graph_run_in(const lnl_graph *g, const lnl_graph_plan *plan, lnl_graph_workspace *ws,
                            const float *input, float **values, lnl_parallel *par, lnl_error *err) {
  const lnl_shape *shapes = plan->shapes;
  memset(values, 0, sizeof(float *) * ((size_t)g->num_ops + 1));
  if (ws->scratch_cap < plan->scratch_floats + 1) {
    free(ws->scratch);
    ws->scratch_cap = plan->scratch_floats + 1;
    ws->scratch = malloc(sizeof(float) * ws->scratch_cap);
    if (!ws->scratch) ws->scratch_cap = 0;
  }
  float *scratch = ws->scratch;
  buffers b = {calloc((size_t)g->num_ops + 1, sizeof(size_t)), ws};
  values[0] = (float *)input; /* never written or freed */
  lnl_status s = scratch && b.cap
                     ? LNL_OK
                     : lnl_fail(err, LNL_ERR_MEMORY, "out of memory running the detector");
  for (int i = 0; i < g->num_ops && !s; i++) {
    int reuse = in_place(g, i);
    if (reuse > 0) { /* the op's output takes over its dying input's buffer */
      move_value(values, &b, reuse, i + 1);
      if (relu_follows(g, i)) {         /* add, then ReLU in the same pass; the ReLU's output */
        add_relu(g, shapes, i, values); /* takes the buffer over in turn */
        free_dead_inputs(g, i, values, &b);
        move_value(values, &b, i + 1, i + 2);
        i++;
        continue;
      }
      run_in_place(g, shapes, i, values);
    } else {
      values[i + 1] = take(&b, i + 1, numel(shapes[i + 1]));
      if (!values[i + 1]) {
        s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory running the detector");
        break;
      }
      int fuse = g->ops[i].kind == LNL_OP_CONV && only_relu_reads(g, i);
      run_op(g, shapes, i, values, scratch, fuse, par);
      if (fuse) { /* convolution and ReLU in one pass; the ReLU's output takes the buffer */
        free_dead_inputs(g, i, values, &b);
        move_value(values, &b, i + 1, i + 2);
        i++;
        continue;
      }
    }
    free_dead_inputs(g, i, values, &b);
  }
  free(b.cap);
  values[0] = NULL;
  if (s) lnl_graph_release(g, values);
  return s;
}

void lnl_graph_release(const lnl_graph *g, float **values) {
  for (int v = 1; v <= g->num_ops; v++) {
    free(values[v]);
    values[v] = NULL;
  }
}
