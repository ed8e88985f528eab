/* Running the engine on a GIMP drawable: finding the weights, reading the pixels (any
 * precision, format and offsets; inside the selection), detecting and classifying. */
#ifndef LNLFER_ANALYSIS_H
#define LNLFER_ANALYSIS_H

#include "lnlfer-plugin.h"

typedef struct LnlferEngine {
  lnl_model *model;
  lnl_detector *detector;
  lnl_context *context;
  GThread *detecting; /* a cancelled analysis's detection that may still run, or NULL */
  gint detect_busy;   /* whether a detection thread runs (atomic) */
} LnlferEngine;

/* Opens the expression and detector weights: $LNLFER_WEIGHTS / $LNLFER_DETECTOR, else the
 * files next to the plug-in (weights/: a per-user install; in the build tree, a link to the
 * source tree's weights) or in the installed data directory. */
gboolean lnlfer_engine_open(LnlferEngine *engine, GError **error);
void lnlfer_engine_close(LnlferEngine *engine);

/* The results of one analysis; every coordinate is in image pixels. */
typedef struct LnlferAnalysis {
  lnl_face_analysis *faces;
  int count;
  GeglRectangle area; /* what was analysed: the layer, or its part inside the selection */
  int image_width, image_height;
  double read_scale; /* < 1 when the area was detected on a downscaled copy */
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

/* Called often (at least every PROGRESS_INTERVAL_MS while the detector runs) with the
 * fraction done, or -1 while the detector runs (no fraction known: pulse), and with the
 * step's name when a step begins (else NULL). Returns FALSE to cancel the analysis. */
typedef gboolean (*LnlferProgressFunc)(double fraction, const char *what, gpointer data);
#define LNLFER_PROGRESS_INTERVAL_MS 50

/* Analyses `drawable`. No face is not an error: the result then holds 0 faces and a
 * message. NULL, with `error` set, when the engine fails, or when `progress` cancelled
 * (error G_IO_ERROR_CANCELLED). The detector runs in a thread of its own while the caller
 * keeps its interface alive in `progress`; a cancelled detection is left to finish in the
 * background (the next analysis or lnlfer_engine_close waits for it). */
LnlferAnalysis *lnlfer_analyze(LnlferEngine *engine, GimpDrawable *drawable,
                               const LnlferSettings *settings, LnlferProgressFunc progress,
                               gpointer progress_data, GError **error);
void lnlfer_analysis_free(LnlferAnalysis *analysis);

/* The analysis as a scene for lnlfer-render. */
lnlr_scene lnlfer_analysis_scene(const LnlferAnalysis *analysis);

#endif
