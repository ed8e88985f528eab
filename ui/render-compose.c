/* The region map, its legend and the boxes drawn over an image in one call: what the
 * command line's `annotate` writes, the same pictures as the plug-in's layer group. */
#include "lnlfer-render.h"

int lnlr_draw_annotations(cairo_surface_t *target, double origin_x, double origin_y, double scale,
                          const lnlr_scene *scene, const lnlr_style *style) {
  int w = cairo_image_surface_get_width(target), h = cairo_image_surface_get_height(target);
  cairo_surface_t *map = NULL;
  if (style->region_map && scene->count > 0) {
    map = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    if (cairo_surface_status(map) != CAIRO_STATUS_SUCCESS) {
      cairo_surface_destroy(map);
      return 0;
    }
    lnlr_draw_region_map(map, origin_x, origin_y, scale, scene, style->colormap);
    cairo_t *mcr = cairo_create(map);
    cairo_scale(mcr, scale, scale);
    cairo_translate(mcr, -origin_x, -origin_y);
    lnlr_draw_legend(mcr, scene, style->colormap, &style->legend);
    cairo_destroy(mcr);
  }
  cairo_t *cr = cairo_create(target);
  if (map) {
    cairo_set_source_surface(cr, map, 0, 0);
    cairo_paint_with_alpha(cr, style->opacity);
    cairo_surface_destroy(map);
  }
  if (style->boxes && scene->count > 0) {
    lnlr_scene labelled = *scene; /* the labels keep clear of the legend drawn */
    labelled.legend = style->region_map ? &style->legend : NULL;
    cairo_scale(cr, scale, scale);
    cairo_translate(cr, -origin_x, -origin_y);
    lnlr_draw_boxes(cr, &labelled, style->labels);
  }
  int ok = cairo_status(cr) == CAIRO_STATUS_SUCCESS;
  cairo_destroy(cr);
  cairo_surface_flush(target);
  return ok;
}
