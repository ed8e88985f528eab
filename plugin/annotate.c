/* Annotating the image. */
#include "annotate.h"

#include <math.h>
#include <string.h>

#define STRIP_BYTES (8 << 20)

typedef void (*DrawFunc)(cairo_t *cr, cairo_surface_t *strip, double x, double y, gpointer data);

typedef struct DrawData {
  lnlr_scene scene;
  const LnlferSettings *settings;
  lnlr_legend_text legend;
  lnlr_label_place *tags; /* the labels' places, when the labels are text layers */
} DrawData;

static GeglRectangle round_out(lnlr_rect r) {
  int x0 = (int)floor(r.x), y0 = (int)floor(r.y);
  int x1 = (int)ceil(r.x + r.w), y1 = (int)ceil(r.y + r.h);
  return (GeglRectangle){x0, y0, MAX(0, x1 - x0), MAX(0, y1 - y0)};
}

/* Draws the part `content` (image pixels) of a new layer in strips of bounded size, so
 * that a huge layer never needs a huge surface; the rest stays transparent. */
static gboolean fill_layer(GimpLayer *layer, const GeglRectangle *content, DrawFunc draw,
                           gpointer data, GError **error) {
  GimpDrawable *d = GIMP_DRAWABLE(layer);
  int lx, ly;
  gimp_drawable_get_offsets(d, &lx, &ly);
  GeglRectangle lr = {lx, ly, gimp_drawable_get_width(d), gimp_drawable_get_height(d)}, c;
  if (!gegl_rectangle_intersect(&c, content, &lr)) return TRUE;
  int rows = CLAMP(STRIP_BYTES / (c.width * 4), 1, c.height);
  cairo_surface_t *strip = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, c.width, rows);
  if (cairo_surface_status(strip) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(strip);
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Not enough memory to draw %d x %d pixels."),
                c.width, rows);
    return FALSE;
  }
  GeglBuffer *buf = gimp_drawable_get_buffer(d);
  const Babl *format = babl_format("cairo-ARGB32");
  for (int y = c.y; y < c.y + c.height; y += rows) {
    int n = MIN(rows, c.y + c.height - y);
    cairo_t *cr = cairo_create(strip);
    cairo_set_operator(cr, CAIRO_OPERATOR_CLEAR);
    cairo_paint(cr);
    cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
    cairo_translate(cr, -c.x, -y);
    draw(cr, strip, c.x, y, data);
    cairo_destroy(cr);
    cairo_surface_flush(strip);
    gegl_buffer_set(buf, GEGL_RECTANGLE(c.x - lx, y - ly, c.width, n), 0, format,
                    cairo_image_surface_get_data(strip), cairo_image_surface_get_stride(strip));
  }
  g_object_unref(buf); /* pushes the tiles to GIMP */
  cairo_surface_destroy(strip);
  gimp_drawable_update(d, c.x - lx, c.y - ly, c.width, c.height);
  return TRUE;
}

static void draw_region_map(cairo_t *cr, cairo_surface_t *strip, double x, double y,
                            gpointer data) {
  DrawData *dd = data;
  lnlr_draw_region_map(strip, x, y, 1.0, &dd->scene, dd->settings->colormap);
  lnlr_draw_legend(cr, &dd->scene, dd->settings->colormap, &dd->legend);
}

static void draw_boxes(cairo_t *cr, cairo_surface_t *strip, double x, double y, gpointer data) {
  DrawData *dd = data;
  lnlr_draw_boxes(cr, &dd->scene, dd->settings->labels);
}

static void draw_boxes_and_tags(cairo_t *cr, cairo_surface_t *strip, double x, double y,
                                gpointer data) {
  DrawData *dd = data;
  lnlr_draw_boxes_and_tags(cr, &dd->scene, dd->tags);
}

/* Each face's label as an editable text layer on top of `group`, where lnlr_draw_boxes
 * puts its tag; tags[f] is then the tag to draw under it (made to fit the text as GIMP
 * lays it out, never larger than the layout's tag: the text shrinks instead, so that it
 * stays clear of every face). FALSE, with no layer added, when GIMP cannot make text
 * layers (no fonts, as with gimp-console --no-fonts). */
static gboolean add_text_labels(GimpImage *image, GimpGroupLayer *group, const lnlr_scene *scene,
                                lnlr_labels labels, lnlr_label_place *tags) {
  lnlr_label_layout(scene, labels, tags);
  GimpFont *font = gimp_font_get_by_name("Sans-serif");
  if (!font) font = gimp_context_get_font();
  GeglColor *white = gegl_color_new("white"), *muted = gegl_color_new("rgb(0.78,0.78,0.78)");
  GList *added = NULL;
  gboolean ok = font != NULL;
  /* The most confident face's label last, on top. */
  for (int f = scene->count - 1; f >= 0 && ok; f--) {
    lnlr_label_place *p = &tags[f];
    if (p->tag.w <= 0) continue;
    char text[512];
    double px = p->font_px, pad = p->pad;
    lnlr_label_text(scene, f, labels, text, sizeof text);
    GimpTextLayer *t = gimp_text_layer_new(image, text, font, px, gimp_unit_pixel());
    ok = t && gimp_image_insert_layer(image, GIMP_LAYER(t), GIMP_LAYER(group), 0);
    if (!ok) break;
    added = g_list_prepend(added, t);
    gimp_text_layer_set_color(t, scene->faces[f].confident ? white : muted);
    int x = (int)ceil(p->tag.x + pad), y = (int)ceil(p->tag.y + pad);
    gimp_layer_set_offsets(GIMP_LAYER(t), x, y);
    /* GIMP may lay the text out larger than cairo measured it for the layout: shrink the
     * font until it fits the room the layout left (a few tries: the size GIMP gives is not
     * exactly proportional to the font's). */
    for (int k = 0; k < 4; k++) {
      int w = gimp_drawable_get_width(GIMP_DRAWABLE(t)),
          h = gimp_drawable_get_height(GIMP_DRAWABLE(t));
      double room = fmin((p->tag.x + p->tag.w - pad - x) / w, (p->tag.y + p->tag.h - pad - y) / h);
      if (room >= 1.0) break;
      px *= room * 0.98;
      gimp_text_layer_set_font_size(t, px, gimp_unit_pixel());
    }
  }
  if (!ok)
    for (GList *l = added; l; l = l->next) gimp_image_remove_layer(image, GIMP_LAYER(l->data));
  g_list_free(added);
  g_object_unref(white);
  g_object_unref(muted);
  return ok;
}

static GimpImageType layer_type(GimpImage *image) {
  switch (gimp_image_get_base_type(image)) {
  case GIMP_GRAY: return GIMP_GRAYA_IMAGE;
  case GIMP_INDEXED: return GIMP_INDEXEDA_IMAGE;
  default: return GIMP_RGBA_IMAGE;
  }
}

/* A new transparent layer over the analysed area, on top of `group`. */
static GimpLayer *add_layer(GimpImage *image, GimpGroupLayer *group, const char *name,
                            const GeglRectangle *area, double opacity, GError **error) {
  GimpLayer *layer = gimp_layer_new(image, name, area->width, area->height, layer_type(image),
                                    opacity, GIMP_LAYER_MODE_NORMAL);
  if (!layer || !gimp_image_insert_layer(image, layer, GIMP_LAYER(group), 0)) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot add the layer \"%s\"."), name);
    return NULL;
  }
  gimp_layer_set_offsets(layer, area->x, area->y);
  gimp_drawable_fill(GIMP_DRAWABLE(layer), GIMP_FILL_TRANSPARENT);
  return layer;
}

static gboolean select_faces(GimpImage *image, const LnlferAnalysis *a) {
  gboolean ok = TRUE;
  for (int i = 0; i < a->count && ok; i++) {
    const lnl_rect *b = &a->faces[i].face.box;
    ok = gimp_image_select_rectangle(image, i ? GIMP_CHANNEL_OP_ADD : GIMP_CHANNEL_OP_REPLACE, b->x,
                                     b->y, b->w, b->h);
  }
  return ok;
}

static gboolean build(GimpImage *image, GimpDrawable *source, const LnlferAnalysis *a,
                      const LnlferSettings *s, const char *json, GimpGroupLayer **group_out,
                      gboolean *attached, GError **error) {
  DrawData dd = {lnlfer_analysis_scene(a), s, lnlfer_legend_text(), NULL};
  dd.scene.legend = s->region_map ? &dd.legend : NULL; /* the labels keep clear of it */
  GimpLayer *parent = NULL;
  int position = 0;
  if (GIMP_IS_LAYER(source)) {
    GimpItem *p = gimp_item_get_parent(GIMP_ITEM(source));
    parent = p ? GIMP_LAYER(p) : NULL;
    position = gimp_image_get_item_position(image, GIMP_ITEM(source));
  }
  GimpGroupLayer *group = gimp_group_layer_new(image, _("Facial expressions"));
  if (!group || !gimp_image_insert_layer(image, GIMP_LAYER(group), parent, position)) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot add the layer group."));
    return FALSE;
  }
  *group_out = group;
  if (s->region_map) {
    GimpLayer *l = add_layer(image, group, _("Region map"), &a->area, s->opacity, error);
    /* The map around the faces and the legend in its corner, each on its own: on a huge
     * layer the space between them stays empty (no pixels written). */
    GeglRectangle map = round_out(lnlr_region_map_extents(&dd.scene));
    GeglRectangle legend = round_out(lnlr_legend_rect(&dd.scene, &dd.legend));
    if (!l || !fill_layer(l, &map, draw_region_map, &dd, error) ||
        !fill_layer(l, &legend, draw_region_map, &dd, error))
      return FALSE;
  }
  if (s->boxes) {
    gboolean text = s->text_labels && s->labels != LNLR_LABELS_NONE;
    GimpLayer *l = add_layer(image, group, _("Boxes and labels"), &a->area, 100.0, error);
    if (!l) return FALSE;
    if (text) {
      dd.tags = g_new0(lnlr_label_place, MAX(1, a->count));
      text = add_text_labels(image, group, &dd.scene, s->labels, dd.tags);
      if (!text) {
        g_clear_pointer(&dd.tags, g_free);
        gimp_message(_("GIMP cannot make text layers here (no fonts?): the labels are drawn "
                       "into the boxes layer instead."));
      }
    }
    lnlr_rect extent = lnlr_boxes_extents(&dd.scene, text ? LNLR_LABELS_NONE : s->labels);
    for (int f = 0; text && f < a->count; f++) extent = lnlr_rect_union(extent, dd.tags[f].tag);
    GeglRectangle content = round_out(extent);
    gboolean ok = fill_layer(l, &content, text ? draw_boxes_and_tags : draw_boxes, &dd, error);
    g_free(dd.tags);
    if (!ok) return FALSE;
  }
  GimpParasite *p =
      gimp_parasite_new(RESULTS_PARASITE, GIMP_PARASITE_PERSISTENT | GIMP_PARASITE_UNDOABLE,
                        (guint32)strlen(json) + 1, json);
  /* The group keeps its own run's results (several runs, several groups); the image's are
   * the latest run's, as before. */
  gboolean ok = gimp_item_attach_parasite(GIMP_ITEM(group), p) &&
                (*attached = gimp_image_attach_parasite(image, p));
  gimp_parasite_free(p);
  if (!ok) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot store the results on the image."));
    return FALSE;
  }
  if (s->select_faces && !select_faces(image, a)) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, _("Cannot select the faces."));
    return FALSE;
  }
  return TRUE;
}

gboolean lnlfer_annotate(GimpImage *image, GimpDrawable *source, const LnlferAnalysis *a,
                         const LnlferSettings *s, const char *json, GError **error) {
  GimpGroupLayer *group = NULL;
  GimpParasite *previous = gimp_image_get_parasite(image, RESULTS_PARASITE);
  gboolean attached = FALSE;
  gimp_image_undo_group_start(image);
  gboolean ok = build(image, source, a, s, json, &group, &attached, error);
  if (!ok) {
    /* Leave nothing half made. */
    if (group) gimp_image_remove_layer(image, GIMP_LAYER(group));
    if (attached && previous)
      gimp_image_attach_parasite(image, previous);
    else if (attached)
      gimp_image_detach_parasite(image, RESULTS_PARASITE);
  }
  if (previous) gimp_parasite_free(previous);
  /* Inserting layers selected them: select the source layer again, so that running the
   * filter again analyses the photo, not the annotations. */
  if (ok && GIMP_IS_LAYER(source)) {
    GimpLayer *selected[2] = {GIMP_LAYER(source), NULL};
    gimp_image_set_selected_layers(image, (const GimpLayer **)selected);
  }
  gimp_image_undo_group_end(image);
  return ok;
}
