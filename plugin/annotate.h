/* Annotating the image: one undo group holding a layer group with the region-map layer
 * and the boxes-and-labels layer, the results parasite (on the group, and the latest run's
 * on the image) and, by option, a selection of the faces. The source layer is never
 * written. */
#ifndef LNLFER_ANNOTATE_H
#define LNLFER_ANNOTATE_H

#include "analysis.h"

/* Adds the annotations of `analysis` (which has faces) above `source`. On failure the
 * image is left as it was and `error` is set. */
gboolean lnlfer_annotate(GimpImage *image, GimpDrawable *source, const LnlferAnalysis *analysis,
                         const LnlferSettings *settings, const char *json, GError **error);

#endif
