/* Text for lnlfer-render, with pango. */
#include "render-private.h"

#include "lnlfer-render.h"

#include <pango/pangocairo.h>

/* Font metrics are not hinted, so that a label has the same proportions at every scale
 * (the preview draws the same pictures scaled down). */
static PangoLayout *make_layout(cairo_t *cr, const char *s, double px, int bold) {
  PangoLayout *layout = pango_cairo_create_layout(cr);
  PangoContext *ctx = pango_layout_get_context(layout);
  cairo_font_options_t *fo = cairo_font_options_create();
  cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
  pango_cairo_context_set_font_options(ctx, fo);
  cairo_font_options_destroy(fo);
  pango_layout_context_changed(layout);
  PangoFontDescription *desc = pango_font_description_from_string("Sans");
  pango_font_description_set_weight(desc, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
  pango_font_description_set_absolute_size(desc, px * PANGO_SCALE);
  pango_layout_set_font_description(layout, desc);
  pango_font_description_free(desc);
  pango_layout_set_text(layout, s, -1);
  return layout;
}

void lnlr_text_size(cairo_t *cr, const char *s, double px, int bold, double *w, double *h) {
  PangoLayout *layout = make_layout(cr, s, px, bold);
  PangoRectangle logical;
  pango_layout_get_extents(layout, NULL, &logical);
  *w = (double)logical.width / PANGO_SCALE;
  *h = (double)logical.height / PANGO_SCALE;
  g_object_unref(layout);
}

void lnlr_text_show(cairo_t *cr, const char *s, double px, int bold, double x, double y) {
  PangoLayout *layout = make_layout(cr, s, px, bold);
  PangoRectangle logical;
  pango_layout_get_extents(layout, NULL, &logical);
  cairo_move_to(cr, x - (double)logical.x / PANGO_SCALE, y - (double)logical.y / PANGO_SCALE);
  pango_cairo_show_layout(cr, layout);
  cairo_new_path(cr);
  g_object_unref(layout);
}

cairo_t *lnlr_measure_begin(void) {
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create(s);
  cairo_surface_destroy(s); /* the context keeps its own reference */
  return cr;
}

void lnlr_measure_end(cairo_t *cr) { cairo_destroy(cr); }

lnlr_rect lnlr_rect_union(lnlr_rect a, lnlr_rect b) {
  if (a.w <= 0 || a.h <= 0) return b;
  if (b.w <= 0 || b.h <= 0) return a;
  double x0 = a.x < b.x ? a.x : b.x, y0 = a.y < b.y ? a.y : b.y;
  double x1 = a.x + a.w > b.x + b.w ? a.x + a.w : b.x + b.w;
  double y1 = a.y + a.h > b.y + b.h ? a.y + a.h : b.y + b.h;
  return (lnlr_rect){x0, y0, x1 - x0, y1 - y0};
}

int lnlr_rect_overlaps(lnlr_rect a, lnlr_rect b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

void lnlr_rounded_rect(cairo_t *cr, double x, double y, double w, double h, double r) {
  const double pi = 3.14159265358979323846;
  if (r > w / 2) r = w / 2;
  if (r > h / 2) r = h / 2;
  cairo_new_sub_path(cr);
  cairo_arc(cr, x + w - r, y + r, r, -pi / 2, 0);
  cairo_arc(cr, x + w - r, y + h - r, r, 0, pi / 2);
  cairo_arc(cr, x + r, y + h - r, r, pi / 2, pi);
  cairo_arc(cr, x + r, y + r, r, pi, 3 * pi / 2);
  cairo_close_path(cr);
}
