/* A small feed-forward program of operators read from a weights file: the
 * detector network is described this way (tools/detector/convert_blazeface.py,
 * convert_yunet.py), so a better detector can be dropped in without engine changes.
 *
 * Values are numbered: 0 is the input (channels x height x width), i + 1 the
 * output of op i. Ops: conv, relu, add, maxpool, pad_channels, upsample, sigmoid.
 * A program is loaded (and checked) for one input shape; a plan (lnl_graph_plan_make)
 * runs it on inputs of another height and width. */
#ifndef LNL_GRAPH_H
#define LNL_GRAPH_H

#include <cjson/cJSON.h>

#include "lnl_ops.h"
#include "lnl_safetensors.h"

/* Bounds on what a program may ask for (BlazeFace: values under 1 M floats, 0.19 G
 * multiply-adds a pass): a program past them is refused when it is loaded. */
#define LNL_GRAPH_MAX_VALUE_FLOATS (64 << 20) /* one value, or the scratch buffer */
#define LNL_GRAPH_MAX_PEAK_FLOATS (128 << 20) /* every value alive at once, and the scratch */
#define LNL_GRAPH_MAX_MACS 20000000000ull

typedef enum lnl_graph_op_kind {
  LNL_OP_CONV,
  LNL_OP_RELU,
  LNL_OP_ADD,
  LNL_OP_MAXPOOL,
  LNL_OP_PAD_CHANNELS,
  LNL_OP_UPSAMPLE, /* nearest, by an integer factor */
  LNL_OP_SIGMOID
} lnl_graph_op_kind;

typedef struct lnl_graph_op {
  lnl_graph_op_kind kind;
  int in[2];
  lnl_conv conv;      /* LNL_OP_CONV; conv.pad = 0 when pads are asymmetric */
  int pads[4];        /* top, left, bottom, right (conv) */
  int asymmetric;     /* pad explicitly before the convolution */
  int kernel, stride; /* maxpool */
  int add_channels;   /* pad_channels */
  int factor;         /* upsample */
} lnl_graph_op;

typedef struct lnl_shape {
  int c, h, w;
} lnl_shape;

typedef struct lnl_graph {
  lnl_graph_op *ops;
  int num_ops;
  lnl_shape *shapes; /* num_ops + 1 values */
  int *last_use;     /* op index after which a value is dead (num_ops: kept to the end) */
  float **params;    /* owned weight and bias arrays */
  int num_params;
  size_t scratch_floats; /* largest im2col / padding buffer */
  uint64_t macs;
} lnl_graph;

/* Parses the "ops" array, binds op<i>.weight / op<i>.bias, infers every value's
 * shape from the input shape, and refuses anything inconsistent. */
lnl_status lnl_graph_load(lnl_graph *g, const cJSON *ops, lnl_shape input,
                          const lnl_safetensors *st, lnl_error *err);
void lnl_graph_free(lnl_graph *g);

/* Marks a value as needed after the run (a head output). */
void lnl_graph_keep(lnl_graph *g, int value);

/* The most floats a run holds at once (values alive together plus the scratch), once the
 * kept values are marked: the loader bounds it by LNL_GRAPH_MAX_PEAK_FLOATS. */
size_t lnl_graph_peak_floats(const lnl_graph *g);

/* Runs the program on its load-time input shape; values[v] receives malloc'd outputs for
 * kept values (others are freed as soon as they are dead). values must have num_ops + 1
 * slots. */
lnl_status lnl_graph_run(const lnl_graph *g, const float *input, float **values, lnl_parallel *par,
                         lnl_error *err);

/* The program on another input size: every value's shape, the scratch, the multiply-adds
 * and the peak memory, each bounded as at load time (LNL_GRAPH_MAX_*). Make it once the
 * kept values are marked. */
typedef struct lnl_graph_plan {
  lnl_shape *shapes; /* num_ops + 1 values */
  size_t scratch_floats, peak_floats;
  uint64_t macs;
} lnl_graph_plan;

lnl_status lnl_graph_plan_make(const lnl_graph *g, lnl_shape input, lnl_graph_plan *plan,
                               lnl_error *err);
void lnl_graph_plan_free(lnl_graph_plan *plan);

/* lnl_graph_run on an input of the plan's input shape. */
lnl_status lnl_graph_run_plan(const lnl_graph *g, const lnl_graph_plan *plan, const float *input,
                              float **values, lnl_parallel *par, lnl_error *err);

/* Buffers kept from one run to the next, for one caller at a time (a thread's passes): the
 * scratch and the buffers of dead values, reused instead of allocated afresh, which costs a
 * page fault per 4 KB touched. Zero-initialised it is empty; it holds about the largest
 * plan's peak between runs until freed. */
#define LNL_GRAPH_SPARES 16
typedef struct lnl_graph_workspace {
  float *scratch;
  size_t scratch_cap;
  float *spare[LNL_GRAPH_SPARES];
  size_t spare_cap[LNL_GRAPH_SPARES];
  int spares;
} lnl_graph_workspace;

lnl_status lnl_graph_run_in(const lnl_graph *g, const lnl_graph_plan *plan, lnl_graph_workspace *ws,
                            const float *input, float **values, lnl_parallel *par, lnl_error *err);
void lnl_graph_workspace_free(lnl_graph_workspace *ws);
void lnl_graph_release(const lnl_graph *g, float **values);

#endif
