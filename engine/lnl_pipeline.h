/* What the face pipeline (lnl_pipeline.c) needs of a context (lnl_model.c). */
#ifndef LNL_PIPELINE_H
#define LNL_PIPELINE_H

#include "lnl_parallel.h"
#include "lnlfer.h"

const lnl_model *lnl_context_model(const lnl_context *ctx);
/* The context's threads: the one pool that detection and classification share. */
lnl_parallel *lnl_context_parallel(lnl_context *ctx);
/* How many faces the context classifies at once (one per thread). */
int lnl_context_threads(const lnl_context *ctx);

/* The network on n preprocessed inputs (laid out one after another), faces in parallel;
 * region rectangles in the coordinates of a side x side crop. */
lnl_status lnl_classify_inputs(lnl_context *ctx, const float *inputs, int n, int side,
                               lnl_result *results, lnl_error *err);

/* Floats of one preprocessed input. */
size_t lnl_model_input_floats(const lnl_model *model);

/* lnl_preprocess without its argument checks. */
lnl_status lnl_model_preprocess(const lnl_model *model, const lnl_image *crop, float *input,
                                lnl_error *err);

#endif
