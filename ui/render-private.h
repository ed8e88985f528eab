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

/* Adds a rectangle with rounded corners of radius r to the path. */
void lnlr_rounded_rect(cairo_t *cr, double x, double y, double w, double h, double r);

#endif
