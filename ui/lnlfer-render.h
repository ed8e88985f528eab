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
  /* The legend that is drawn with the region map, or NULL: labels keep clear of it. */
  const struct lnlr_legend_text *legend;
  /* An extra line on the labels of faces that are not confident (lnl_face_analysis's
   * `confident`), e.g. "uncertain face" (translated), or NULL for none. */
  const char *uncertain;
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
 * (origin_x + (i + 0.5) / scale, origin_y + (j + 0.5) / scale). Each region that weighs
 * more than uniform (1 / regions) shows as a smooth blob around its centre, as strong as
 * lnlr_region_strength says; the blobs' colour and opacity both rise with their strength,
 * so regions of uniform weight or less leave the image as it is and the map has no edge. */
void lnlr_draw_region_map(cairo_surface_t *target, double origin_x, double origin_y, double scale,
                          const lnlr_scene *scene, lnlr_colormap cmap);

/* How strongly a region of `weight` shows, 0..1: 0 at uniform weight (1 / regions) or
 * less, rising linearly to 1 at the face's heaviest region (max_weight), or at 3 times
 * uniform when the heaviest weighs less. */
double lnlr_region_strength(float weight, float max_weight, int regions);

/* The region map's legend: a colour bar with a title and its two ends' names. */
typedef struct lnlr_legend_text {
  const char *title, *low, *high;
} lnlr_legend_text;

/* Where the legend goes (image pixels; w = 0 when it is not drawn). It never covers a face
 * box: the first of the area's corners (bottom left, bottom right, top left, top right),
 * then edge middles (bottom, top, left, right) that is clear of every face box and region
 * map, else of every face box only; else the same at 3/4 and 1/2 of its size; else the
 * free place nearest the bottom left corner (at any of these sizes); else no legend. */
lnlr_rect lnlr_legend_rect(const lnlr_scene *scene, const lnlr_legend_text *text);
void lnlr_draw_legend(cairo_t *cr, const lnlr_scene *scene, lnlr_colormap cmap,
                      const lnlr_legend_text *text);

/* ---- Boxes and labels ---------------------------------------------------- */

/* Bounds of the boxes and labels (image pixels); empty when there is no face. */
lnlr_rect lnlr_boxes_extents(const lnlr_scene *scene, lnlr_labels labels);
void lnlr_draw_boxes(cairo_t *cr, const lnlr_scene *scene, lnlr_labels labels);

/* Where a face's label goes, as lnlr_draw_boxes draws it. */
typedef struct lnlr_label_place {
  lnlr_rect tag;       /* the label's tag, image pixels; w = 0: no label */
  double font_px, pad; /* size of the first line's font and the tag's inner margin, pixels */
  int lines;           /* class lines it shows (1 when top-3 panels had no room) */
  int leader;          /* the tag is away from its box, joined to it by a line: */
  double line[4];      /* from (line[0], line[1]) on the box to (line[2], line[3]) on the tag */
} lnlr_label_place;

/* The label layout: every face's tag, placed in the detector's order (most confident
 * first), never over any face box (with its outline), the legend (scene->legend), another
 * tag or the area's edge. Each tag takes the first free place next to its own box: above
 * it (flush with its left edge, its right edge, centred), below it (the same), right of it
 * (flush with its top, centred, flush with its bottom), left of it (the same); when none is
 * free, the same with the text at 80 % and then 65 % of its size (never under 9 pixels);
 * then the free place nearest the box within three tag sizes around it, at each of these
 * sizes, joined to the box by a leader line (that crosses no other face); then, for top-3
 * labels, all of this again with the top class only; when there is no place either, the
 * face has no label (its box still shows the class colour; the results keep everything). */
void lnlr_label_layout(const lnlr_scene *scene, lnlr_labels labels, lnlr_label_place *out);

/* Only each face's tag of lnlr_label_layout (w = 0 for none). */
void lnlr_label_rects(const lnlr_scene *scene, lnlr_labels labels, lnlr_rect *out);

/* For labels written elsewhere (the plug-in's editable text layers): the boxes, and a dark
 * tag at each places[f].tag (w = 0: none) with nothing in it, with its leader line. */
void lnlr_draw_boxes_and_tags(cairo_t *cr, const lnlr_scene *scene, const lnlr_label_place *places);

/* The text of a face's label, one class per line as lnlr_format_class writes it (none for
 * LNLR_LABELS_NONE), in `buf`; a face that is not confident has "?" after its first class
 * name and scene->uncertain as a last line. */
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
