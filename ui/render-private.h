/* Internal helpers of lnlfer-render: text (pango) and small geometry helpers. */
#ifndef LNLFER_RENDER_PRIVATE_H
#define LNLFER_RENDER_PRIVATE_H

#include <cairo.h>

#include "lnlfer-render.h"

/* Width and line height (ascent + descent) of `s` in a sans-serif font of `px` pixels. */
void lnlr_text_size(cairo_t *cr, const char *s, double px, int bold, double *w, double *h);

/* Draws `s` with its line's top-left corner at (x, y), in the current source. */
void lnlr_text_show(cairo_t *cr, const char *s, double px, int bold, double x, double y);

/* A 1x1 context for measuring text outside of drawing; free with lnlr_measure_end. */
cairo_t *lnlr_measure_begin(void);
void lnlr_measure_end(cairo_t *cr);

int lnlr_rect_overlaps(lnlr_rect a, lnlr_rect b);

/* ---- Layout (render-layout.c) ---- */

/* Distance between two rectangles (0 when they touch or overlap). */
double lnlr_rect_distance(lnlr_rect a, lnlr_rect b);

/* Whether r lies inside `area` and overlaps none of obstacles[0..n). */
int lnlr_spot_free(lnlr_rect r, lnlr_rect area, const lnlr_rect *obstacles, int n);

/* The free w x h place inside `window` and `area` nearest `target` that `accept` (when not
 * NULL) accepts, searched on a grid of positions; 0 when there is none. */
int lnlr_nearest_free(lnlr_rect area, lnlr_rect window, double w, double h, lnlr_rect target,
                      const lnlr_rect *obstacles, int n, int (*accept)(lnlr_rect, void *),
                      void *data, lnlr_rect *out);

/* Whether the segment (x0, y0)-(x1, y1) passes through the inside of r. */
int lnlr_segment_crosses(double x0, double y0, double x1, double y1, lnlr_rect r);

/* A face's box with its drawn outline (what no label or legend may cover). */
lnlr_rect lnlr_face_outline(const lnlr_scene *scene, int face);

/* Adds a rectangle with rounded corners of radius r to the path. */
void lnlr_rounded_rect(cairo_t *cr, double x, double y, double w, double h, double r);

#endif
