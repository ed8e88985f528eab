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

/* Shape of op i's output, or an error when the op cannot apply to its inputs. */
static lnl_status infer(lnl_graph *g, int i, lnl_error *err) {
  lnl_graph_op *op = &g->ops[i];
  lnl_shape in = g->shapes[op->in[0]], *out = &g->shapes[i + 1];
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
    if (pad + col > g->scratch_floats) g->scratch_floats = pad + col;
    g->macs += (uint64_t)out->c * out->h * out->w * (uint64_t)(in.c / op->conv.groups) *
               op->conv.kh * op->conv.kw;
    break;
  }
  case LNL_OP_RELU: *out = in; break;
  case LNL_OP_ADD: {
    lnl_shape b = g->shapes[op->in[1]];
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
  }
  if (out->h < 1 || out->w < 1 || out->c > MAX_CHANNELS)
    return lnl_fail(err, LNL_ERR_MODEL, "detector op %d has an empty or too large output", i);
  if ((size_t)out->c * out->h * out->w > LNL_GRAPH_MAX_VALUE_FLOATS)
    return lnl_fail(err, LNL_ERR_MODEL,
                    "detector op %d: its %dx%dx%d output is larger than the engine's limit of %d M "
                    "values",
                    i, out->c, out->h, out->w, LNL_GRAPH_MAX_VALUE_FLOATS >> 20);
  if (g->scratch_floats > LNL_GRAPH_MAX_VALUE_FLOATS)
    return lnl_fail(err, LNL_ERR_MODEL,
                    "detector op %d: its convolution needs more scratch memory than the engine's "
                    "limit of %d M values",
                    i, LNL_GRAPH_MAX_VALUE_FLOATS >> 20);
  if (g->macs > LNL_GRAPH_MAX_MACS)
    return lnl_fail(err, LNL_ERR_MODEL,
                    "detector: one pass would take more than the engine's limit of %llu M "
                    "multiply-adds (at op %d)",
                    (unsigned long long)LNL_GRAPH_MAX_MACS / 1000000ull, i);
  return LNL_OK;
}

static lnl_status parse_op(lnl_graph *g, const cJSON *j, int i, const lnl_safetensors *st,
                           int *bound, lnl_error *err) {
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
  } else {
    return lnl_fail(err, LNL_ERR_MODEL, "detector op %d: unknown operation '%s'", i, k);
  }
  return infer(g, i, err);
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
  for (int i = 0; i < n && !s; i++) s = parse_op(g, cJSON_GetArrayItem(ops, i), i, st, &bound, err);
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

size_t lnl_graph_peak_floats(const lnl_graph *g) {
  size_t live = 0, peak = 0; /* as lnl_graph_run allocates, without its in-place reuse */
  for (int i = 0; i < g->num_ops; i++) {
    live += numel(g->shapes[i + 1]);
    if (live > peak) peak = live;
    for (int k = 0; k < (g->ops[i].kind == LNL_OP_ADD ? 2 : 1); k++) {
      int v = g->ops[i].in[k];
      if (v > 0 && g->last_use[v] == i && !(k == 1 && v == g->ops[i].in[0]))
        live -= numel(g->shapes[v]);
    }
  }
  return peak + g->scratch_floats;
}

void lnl_graph_free(lnl_graph *g) {
  for (int i = 0; i < g->num_params; i++) free(g->params[i]);
  free(g->params);
  free(g->ops);
  free(g->shapes);
  free(g->last_use);
  memset(g, 0, sizeof *g);
}

static void run_op(const lnl_graph *g, int i, float **values, float *scratch, lnl_parallel *par) {
  const lnl_graph_op *op = &g->ops[i];
  lnl_shape in = g->shapes[op->in[0]];
  const float *x = values[op->in[0]];
  float *y = values[i + 1];
  switch (op->kind) {
  case LNL_OP_CONV:
    if (op->asymmetric) {
      const int *p = op->pads;
      lnl_pad2d(x, in.c, in.h, in.w, p[0], p[1], p[2], p[3], scratch);
      size_t padded = (size_t)in.c * (in.h + p[0] + p[2]) * (in.w + p[1] + p[3]);
      lnl_conv2d(&op->conv, scratch, in.h + p[0] + p[2], in.w + p[1] + p[3], y, scratch + padded, 0,
                 par);
    } else {
      lnl_conv2d(&op->conv, x, in.h, in.w, y, scratch, 0, par);
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
  }
}

/* The value whose buffer elementwise op i can overwrite with its output (an input that
 * dies at op i, not the graph input, of the output's shape), or 0. */
static int in_place(const lnl_graph *g, int i) {
  const lnl_graph_op *op = &g->ops[i];
  if (op->kind != LNL_OP_RELU && op->kind != LNL_OP_ADD) return 0;
  int a = op->in[0], b = op->kind == LNL_OP_ADD ? op->in[1] : 0;
  if (a > 0 && g->last_use[a] == i && a != b) return a;
  if (b > 0 && g->last_use[b] == i && a != b) return b;
  return 0;
}

/* Op i with values[i + 1] already holding the input it took over. */
static void run_in_place(const lnl_graph *g, int i, float **values) {
  const lnl_graph_op *op = &g->ops[i];
  float *y = values[i + 1];
  size_t n = numel(g->shapes[i + 1]);
  if (op->kind == LNL_OP_RELU) {
    lnl_relu(y, n);
    return;
  }
  /* add: y holds one operand, the other is still in values */
  const float *other = values[op->in[0]] ? values[op->in[0]] : values[op->in[1]];
  lnl_add(y, other, n);
}

/* Frees the inputs of op i that no later op reads. */
static void free_dead_inputs(const lnl_graph *g, int i, float **values) {
  for (int k = 0; k < 2; k++) {
    int v = g->ops[i].in[k];
    int second = k == 1 && (g->ops[i].kind != LNL_OP_ADD || v == g->ops[i].in[0]);
    if (!second && v > 0 && g->last_use[v] == i) {
      free(values[v]);
      values[v] = NULL;
    }
  }
}

/* Op i is an in-place add whose output only op i + 1, a ReLU, reads. */
static int relu_follows(const lnl_graph *g, int i) {
  return g->ops[i].kind == LNL_OP_ADD && i + 1 < g->num_ops && g->ops[i + 1].kind == LNL_OP_RELU &&
         g->ops[i + 1].in[0] == i + 1 && g->last_use[i + 1] == i + 1;
}

static void add_relu(const lnl_graph *g, int i, float **values) {
  const lnl_graph_op *op = &g->ops[i];
  float *y = values[i + 1];
  const float *other = values[op->in[0]] ? values[op->in[0]] : values[op->in[1]];
  size_t n = numel(g->shapes[i + 1]);
  for (size_t k = 0; k < n; k++) {
    float v = y[k] + other[k];
    y[k] = v < 0.0f ? 0.0f : v;
  }
}

lnl_status lnl_graph_run(const lnl_graph *g, const float *input, float **values, lnl_parallel *par,
                         lnl_error *err) {
  memset(values, 0, sizeof(float *) * ((size_t)g->num_ops + 1));
  float *scratch = malloc(sizeof(float) * (g->scratch_floats + 1));
  values[0] = (float *)input; /* never written or freed */
  lnl_status s =
      scratch ? LNL_OK : lnl_fail(err, LNL_ERR_MEMORY, "out of memory running the detector");
  for (int i = 0; i < g->num_ops && !s; i++) {
    int reuse = in_place(g, i);
    if (reuse > 0) { /* the op's output takes over its dying input's buffer */
      values[i + 1] = values[reuse];
      values[reuse] = NULL;
      if (relu_follows(g, i)) { /* add, then ReLU in the same pass; the ReLU's output */
        add_relu(g, i, values); /* takes the buffer over in turn */
        free_dead_inputs(g, i, values);
        values[i + 2] = values[i + 1];
        values[i + 1] = NULL;
        i++;
        continue;
      }
      run_in_place(g, i, values);
    } else {
      values[i + 1] = malloc(sizeof(float) * numel(g->shapes[i + 1]));
      if (!values[i + 1]) {
        s = lnl_fail(err, LNL_ERR_MEMORY, "out of memory running the detector");
        break;
      }
      run_op(g, i, values, scratch, par);
    }
    free_dead_inputs(g, i, values);
  }
  free(scratch);
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
