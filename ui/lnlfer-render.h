/* lnlfer-render: the pictures of an analysis (face boxes with their labels, the region
 * map and its legend) drawn with cairo and pango, independent of
 * GIMP and GTK, so that the GIMP plug-in, its preview and the command line draw the same.
 *
 * Coordinates are image pixels unless a function says otherwise: callers that draw into
 * a part of the image, or a scaled preview, set the cairo transformation accordingly.
 */
#ifndef LNLFER_RENDER_H
#define LNLFER_RENDER_H

#include <cairo.h>

#include "lnlfer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lnlr_colormap {
  LNLR_CMAP_INFERNO,
  LNLR_CMAP_VIRIDIS,
  LNLR_CMAP_TURBO,
  LNLR_CMAP_GREY,
  LNLR_CMAP_COUNT
} lnlr_colormap;

typedef enum lnlr_labels {
  LNLR_LABELS_NONE, /* boxes only */
  LNLR_LABELS_TOP,  /* the most probable class and its probability */
  LNLR_LABELS_TOP3  /* the three most probable classes with their probabilities */
} lnlr_labels;

typedef struct lnlr_rect {
  double x, y, w, h;
} lnlr_rect;

/* What is drawn: the faces of one analysis and the area that was analysed. */
typedef struct lnlr_scene {
  const lnl_face_analysis *faces;
  int count;
  int num_classes;
  int num_regions;
  const char *const *class_keys;   /* the model's class names; they choose the colours */
  const char *const *class_labels; /* the names written on the labels (translated) */
  lnlr_rect area;                  /* analysed area, image pixels: labels stay inside it */
} lnlr_scene;

/* The smallest rectangle holding both (an empty rectangle adds nothing). */
lnlr_rect lnlr_rect_union(lnlr_rect a, lnlr_rect b);

/* Colour of t in [0, 1] (clamped) in a colour map; sRGB components in [0, 1]. */
void lnlr_colormap_rgb(lnlr_colormap cmap, double t, double rgb[3]);

/* Colour of a class, chosen by its name (e.g. "happiness"), else by its index. */
void lnlr_class_rgb(const char *key, int index, double rgb[3]);

/* Indices of the classes of one face, most probable first (up to n). */
int lnlr_top_classes(const lnlr_scene *scene, int face, int *index, int n);

/* ---- Region map ---------------------------------------------------------- */

/* Bounds, in image pixels, of everything the region map paints (all faces). Empty
 * (w = h = 0) when there is no face. */
lnlr_rect lnlr_region_map_extents(const lnlr_scene *scene);

/* Paints the region map of every face into `target` (CAIRO_FORMAT_ARGB32, composited
 * over what it holds). Pixel (i, j) of the target shows image point
 * (origin_x + (i + 0.5) / scale, origin_y + (j + 0.5) / scale). Each region's weight is
 * spread over the region with a smooth window; where regions overlap the weights are
 * averaged with the windows' heights, so the map is smooth and fades out at its border.
 * Colours show each weight relative to the face's largest. */
void lnlr_draw_region_map(cairo_surface_t *target, double origin_x, double origin_y, double scale,
                          const lnlr_scene *scene, lnlr_colormap cmap);

/* The region map's legend: a colour bar with a title and its two ends' names. */
typedef struct lnlr_legend_text {
  const char *title, *low, *high;
} lnlr_legend_text;

/* Where the legend goes: a corner of the area that no face covers, when there is one. */
lnlr_rect lnlr_legend_rect(const lnlr_scene *scene, const lnlr_legend_text *text);
void lnlr_draw_legend(cairo_t *cr, const lnlr_scene *scene, lnlr_colormap cmap,
                      const lnlr_legend_text *text);

/* ---- Boxes and labels ---------------------------------------------------- */

/* Bounds of the boxes and labels (image pixels); empty when there is no face. */
lnlr_rect lnlr_boxes_extents(const lnlr_scene *scene, lnlr_labels labels);
void lnlr_draw_boxes(cairo_t *cr, const lnlr_scene *scene, lnlr_labels labels);

/* Where each face's label goes (image pixels; w = 0 for none): above its box, else below,
 * else inside, avoiding the labels of more confident faces when there is room. */
void lnlr_label_rects(const lnlr_scene *scene, lnlr_labels labels, lnlr_rect *out);

/* For labels written elsewhere (the plug-in's editable text layers): the boxes, and a dark
 * tag at each tags[f] (w = 0: none) with nothing in it. */
void lnlr_draw_boxes_and_tags(cairo_t *cr, const lnlr_scene *scene, const lnlr_rect *tags);

/* The size of the first line's font (pixels) and the tag's inner margin of a face's label,
 * as lnlr_draw_boxes uses them. */
void lnlr_label_metrics(const lnlr_scene *scene, int face, double *font_px, double *pad);

/* The text of a face's label, one class per line as lnlr_format_class writes it (none for
 * LNLR_LABELS_NONE), in `buf`. */
void lnlr_label_text(const lnlr_scene *scene, int face, lnlr_labels labels, char *buf, size_t size);

/* The label text of one class line, e.g. "happiness 62 %", in `buf`. */
void lnlr_format_class(const lnlr_scene *scene, int cls, float prob, char *buf, size_t size);

/* ---- Everything at once ---------------------------------------------------- */

/* What lnlr_draw_annotations draws, as the plug-in's layers show it by default. */
typedef struct lnlr_style {
  int region_map;         /* draw the region map and its legend */
  double opacity;         /* of the region map, 0..1 */
  lnlr_colormap colormap; /* of the region map */
  int boxes;              /* draw the boxes and labels */
  lnlr_labels labels;     /* what the labels say */
  lnlr_legend_text legend;
} lnlr_style;

/* Draws over what `target` holds (CAIRO_FORMAT_ARGB32 or RGB24) what the plug-in's layer
 * group shows over the image: the region map and its legend at the style's opacity, then
 * the boxes and labels. Pixel (i, j) of the target shows image point
 * (origin_x + (i + 0.5) / scale, origin_y + (j + 0.5) / scale). Returns 0 when out of
 * memory (the target is then left as it was), else 1. */
int lnlr_draw_annotations(cairo_surface_t *target, double origin_x, double origin_y, double scale,
                          const lnlr_scene *scene, const lnlr_style *style);

#ifdef __cplusplus
}
#endif

#endif
