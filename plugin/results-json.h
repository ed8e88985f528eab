/* The analysis as JSON: the plug-in's return value and the image parasite. */
#ifndef LNLFER_RESULTS_JSON_H
#define LNLFER_RESULTS_JSON_H

#include "analysis.h"

/* A newly allocated (g_free) compact JSON text:
 * {"version", "image": {"width", "height"}, "area": [x, y, w, h], "settings": {...},
 *  "classes": [...], "message" (when set), "faces": [{"box": [x, y, w, h], "score",
 *  "landmarks": [[x, y]...], "label", "probabilities": {class: p}, "regions":
 *  [{"weight", "quad": [[x, y] x 4]}]}]}; coordinates in image pixels. */
char *lnlfer_results_json(const LnlferAnalysis *analysis);

#endif
