/* Running the engine on a GIMP drawable: finding the weights, reading the pixels (any
 * precision, format and offsets; inside the selection), detecting and classifying. */
#ifndef LNLFER_ANALYSIS_H
#define LNLFER_ANALYSIS_H

#include "settings.h"

typedef struct LnlferEngine {
  lnl_model *model;
  lnl_detector *detector;
  lnl_context *context; /* its threads run the detection and the classification */
} LnlferEngine;

/* Opens the expression and detector weights: $LNLFER_WEIGHTS / $LNLFER_DETECTOR, else the
 * files next to the plug-in (weights/: a per-user install; in the build tree, a link to the
 * source tree's weights) or in the installed data directory. */
gboolean lnlfer_engine_open(LnlferEngine *engine, GError **error);
void lnlfer_engine_close(LnlferEngine *engine);

/* The results of one analysis; every coordinate is in image pixels. */
typedef struct LnlferAnalysis {
  lnl_face_analysis *faces; /* malloc'd by the engine */
  int count;
  GeglRectangle area; /* what was analysed: the layer, or its part inside the selection */
  int image_width, image_height;
  int num_classes, num_regions;
  char *class_keys[LNL_MAX_CLASSES];
  const char *class_labels[LNL_MAX_CLASSES];
  char *message;           /* why there is nothing to show (no face, empty selection), or NULL */
  LnlferSettings settings; /* the detection settings it was made with */
} LnlferAnalysis;

/* The part of `drawable` that is analysed: all of it, or its part inside the selection;
 * in image coordinates (`image_area`) and in the drawable's (`drawable_area`). FALSE when
 * the selection does not overlap the drawable. */
gboolean lnlfer_analysis_area(GimpDrawable *drawable, GeglRectangle *image_area,
                              GeglRectangle *drawable_area);

/* Called often (while the layer is read, before each detector pass, for each face) with the
 * engine's step, the fraction done (0..1, never decreasing) and the step's name when a step
 * begins (else NULL). Returns FALSE to cancel the analysis. */
typedef gboolean (*LnlferProgressFunc)(lnl_stage stage, double fraction, const char *what,
                                       gpointer data);

/* Analyses `drawable`: lnl_analyze_source on a reader of the drawable (pixels.h), on the
 * calling thread and the engine context's. No face is not an error: the result then holds
 * 0 faces and a message. NULL, with `error` set, when the engine fails, or when `progress`
 * cancelled (error G_IO_ERROR_CANCELLED); the engine then stops at once. */
LnlferAnalysis *lnlfer_analyze(LnlferEngine *engine, GimpDrawable *drawable,
                               const LnlferSettings *settings, LnlferProgressFunc progress,
                               gpointer progress_data, GError **error);
void lnlfer_analysis_free(LnlferAnalysis *analysis);

/* The analysis as a scene for lnlfer-render. */
lnlr_scene lnlfer_analysis_scene(const LnlferAnalysis *analysis);

#endif
