/* Face boxes and their labels: a box in the colour of the face's most probable class and
 * a dark tag above it (below or inside when there is no room) listing the top class, or
 * the top three, each with its probability and a bar of that length. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lnlfer-render.h"
#include "render-private.h"

#define MAX_LINES 3

typedef struct tag_layout {
  lnlr_rect box; /* the face box */
  lnlr_rect tag; /* the label tag; w = 0 when there is none */
  double u;      /* font size of the first line, pixels */
  double lw;     /* box line width */
  double pad, bar_h, gap;
  int lines;
  int cls[MAX_LINES];
  double text_h[MAX_LINES], pct_w[MAX_LINES];
  char name[MAX_LINES][96], pct[MAX_LINES][16];
} tag_layout;

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

static double line_px(const tag_layout *t, int i) { return i == 0 ? t->u : t->u * 0.86; }

/* Text follows the face's size, within limits that keep it readable on small faces and
 * when a large image is seen whole, and modest on faces that fill the picture. */
static double font_px(const lnlr_scene *scene, int f) {
  double side = fmax(scene->area.w, scene->area.h);
  return clampd(0.15 * scene->faces[f].face.box.w, fmax(11.0, 0.006 * side),
                fmax(11.0, 0.045 * side));
}

void lnlr_label_metrics(const lnlr_scene *scene, int face, double *px, double *pad) {
  *px = font_px(scene, face);
  *pad = *px * 0.42;
}

static void layout_face(cairo_t *cr, const lnlr_scene *scene, int f, lnlr_labels labels,
                        tag_layout *t) {
  const lnl_face_analysis *a = &scene->faces[f];
  const lnlr_rect *A = &scene->area;
  memset(t, 0, sizeof *t);
  t->box = (lnlr_rect){a->face.box.x, a->face.box.y, a->face.box.w, a->face.box.h};
  t->u = font_px(scene, f);
  t->lw = fmax(1.5, t->u / 7);
  t->pad = t->u * 0.42;
  t->bar_h = fmax(2.0, t->u * 0.2);
  t->gap = t->u * 0.22;
  lnlr_top_classes(scene, f, t->cls, MAX_LINES);
  if (labels == LNLR_LABELS_NONE || scene->num_classes <= 0) return;
  t->lines = labels == LNLR_LABELS_TOP3 ? (scene->num_classes < 3 ? scene->num_classes : 3) : 1;
  double inner = t->u * 5, h = 2 * t->pad;
  for (int i = 0; i < t->lines; i++) {
    int c = t->cls[i];
    const char *name = scene->class_labels ? scene->class_labels[c] : scene->class_keys[c];
    double nw, hh;
    snprintf(t->name[i], sizeof t->name[i], "%s", name ? name : "?");
    snprintf(t->pct[i], sizeof t->pct[i], "%.0f%%", 100.0 * a->expression.probs[c]);
    lnlr_text_size(cr, t->name[i], line_px(t, i), i == 0, &nw, &t->text_h[i]);
    lnlr_text_size(cr, t->pct[i], line_px(t, i), i == 0, &t->pct_w[i], &hh);
    inner = fmax(inner, nw + t->u * 0.9 + t->pct_w[i]);
    h += t->text_h[i] + t->bar_h + t->u * 0.12 + (i ? t->gap : 0);
  }
  t->tag = (lnlr_rect){clampd(t->box.x - t->lw / 2, A->x, A->x + A->w - (inner + 2 * t->pad)), 0,
                       inner + 2 * t->pad, h};
}

static int overlaps_any(lnlr_rect r, const tag_layout *placed, int n) {
  for (int i = 0; i < n; i++)
    if (placed[i].lines && lnlr_rect_overlaps(r, placed[i].tag)) return 1;
  return 0;
}

/* Places the tag of t (its size known) above its box, else below, else inside its top,
 * each flush with the box's left edge, else with its right edge; the first place inside
 * the area that overlaps no tag placed before; when all overlap, the first place inside
 * the area, left-aligned. */
static void place_tag(const lnlr_scene *scene, tag_layout *t, const tag_layout *placed, int n) {
  const lnlr_rect *A = &scene->area;
  double h = t->tag.h, w = t->tag.w;
  const double ys[3] = {t->box.y - t->lw / 2 - h, t->box.y + t->box.h + t->lw / 2,
                        t->box.y + t->lw / 2};
  const double xs[2] = {t->tag.x,
                        clampd(t->box.x + t->box.w + t->lw / 2 - w, A->x, A->x + A->w - w)};
  int fallback = -1;
  for (int k = 0; k < 3; k++) {
    if (ys[k] < A->y || ys[k] + h > A->y + A->h) continue;
    if (fallback < 0) fallback = k;
    t->tag.y = ys[k];
    for (int j = 0; j < 2; j++) {
      t->tag.x = xs[j];
      if (!overlaps_any(t->tag, placed, n)) return;
    }
  }
  t->tag.x = xs[0];
  t->tag.y = ys[fallback < 0 ? 2 : fallback];
}

/* Lays out every face, most confident first (the detector's order), so that their tags
 * do not cover each other when there is room. Returns a malloc'd array (free()). */
static tag_layout *layout_all(cairo_t *cr, const lnlr_scene *scene, lnlr_labels labels) {
  tag_layout *t = calloc(scene->count > 0 ? (size_t)scene->count : 1, sizeof *t);
  for (int f = 0; t && f < scene->count; f++) {
    layout_face(cr, scene, f, labels, &t[f]);
    if (t[f].lines) place_tag(scene, &t[f], t, f);
  }
  return t;
}

lnlr_rect lnlr_boxes_extents(const lnlr_scene *scene, lnlr_labels labels) {
  lnlr_rect r = {0, 0, 0, 0};
  cairo_t *cr = lnlr_measure_begin();
  tag_layout *t = layout_all(cr, scene, labels);
  for (int f = 0; t && f < scene->count; f++) {
    double m = t[f].lw * 1.5;
    lnlr_rect b = {t[f].box.x - m, t[f].box.y - m, t[f].box.w + 2 * m, t[f].box.h + 2 * m};
    r = lnlr_rect_union(r, b);
    if (t[f].lines) r = lnlr_rect_union(r, t[f].tag);
  }
  free(t);
  lnlr_measure_end(cr);
  return r;
}

static void draw_tag(cairo_t *cr, const lnlr_scene *scene, int f, const tag_layout *t) {
  const float *probs = scene->faces[f].expression.probs;
  lnlr_rounded_rect(cr, t->tag.x, t->tag.y, t->tag.w, t->tag.h, t->u * 0.3);
  cairo_set_source_rgba(cr, 0.07, 0.07, 0.09, 0.8);
  cairo_fill(cr);
  double x = t->tag.x + t->pad, y = t->tag.y + t->pad, inner = t->tag.w - 2 * t->pad;
  for (int i = 0; i < t->lines; i++) {
    double rgb[3];
    int c = t->cls[i];
    lnlr_class_rgb(scene->class_keys ? scene->class_keys[c] : NULL, c, rgb);
    if (i) y += t->gap;
    double grey = i == 0 ? 1.0 : 0.86;
    cairo_set_source_rgb(cr, grey, grey, grey);
    lnlr_text_show(cr, t->name[i], line_px(t, i), i == 0, x, y);
    lnlr_text_show(cr, t->pct[i], line_px(t, i), i == 0, x + inner - t->pct_w[i], y);
    y += t->text_h[i] + t->u * 0.12;
    cairo_rectangle(cr, x, y, inner, t->bar_h);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.16);
    cairo_fill(cr);
    cairo_rectangle(cr, x, y, inner * clampd(probs[c], 0, 1), t->bar_h);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_fill(cr);
    y += t->bar_h;
  }
}

void lnlr_label_rects(const lnlr_scene *scene, lnlr_labels labels, lnlr_rect *out) {
  cairo_t *cr = lnlr_measure_begin();
  tag_layout *t = layout_all(cr, scene, labels);
  for (int f = 0; f < scene->count; f++)
    out[f] = t && t[f].lines ? t[f].tag : (lnlr_rect){0, 0, 0, 0};
  free(t);
  lnlr_measure_end(cr);
}

static void draw_box_lines(cairo_t *cr, const lnlr_scene *scene, const tag_layout *t) {
  for (int f = 0; f < scene->count; f++) {
    double rgb[3];
    lnlr_class_rgb(scene->class_keys ? scene->class_keys[t[f].cls[0]] : NULL, t[f].cls[0], rgb);
    cairo_rectangle(cr, t[f].box.x, t[f].box.y, t[f].box.w, t[f].box.h);
    cairo_set_source_rgba(cr, 0, 0, 0, 0.55);
    cairo_set_line_width(cr, t[f].lw * 2.2);
    cairo_stroke_preserve(cr);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(cr, t[f].lw);
    cairo_stroke(cr);
  }
}

void lnlr_draw_boxes(cairo_t *cr, const lnlr_scene *scene, lnlr_labels labels) {
  tag_layout *t = layout_all(cr, scene, labels);
  if (!t) return;
  cairo_save(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  draw_box_lines(cr, scene, t);
  /* Tags over every box; the most confident face's last, on top. */
  for (int f = scene->count - 1; f >= 0; f--)
    if (t[f].lines) draw_tag(cr, scene, f, &t[f]);
  cairo_restore(cr);
  free(t);
}

void lnlr_draw_boxes_and_tags(cairo_t *cr, const lnlr_scene *scene, const lnlr_rect *tags) {
  tag_layout *t = layout_all(cr, scene, LNLR_LABELS_NONE);
  if (!t) return;
  cairo_save(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  draw_box_lines(cr, scene, t);
  for (int f = scene->count - 1; f >= 0; f--) {
    if (tags[f].w <= 0 || tags[f].h <= 0) continue;
    lnlr_rounded_rect(cr, tags[f].x, tags[f].y, tags[f].w, tags[f].h, t[f].u * 0.3);
    cairo_set_source_rgba(cr, 0.07, 0.07, 0.09, 0.8);
    cairo_fill(cr);
  }
  cairo_restore(cr);
  free(t);
}

void lnlr_label_text(const lnlr_scene *scene, int face, lnlr_labels labels, char *buf,
                     size_t size) {
  int cls[MAX_LINES];
  int lines = labels == LNLR_LABELS_NONE ? 0 : labels == LNLR_LABELS_TOP3 ? MAX_LINES : 1;
  lines = lnlr_top_classes(scene, face, cls, lines);
  size_t used = 0;
  if (size) buf[0] = '\0';
  for (int i = 0; i < lines && used + 1 < size; i++) {
    if (i) buf[used++] = '\n';
    lnlr_format_class(scene, cls[i], scene->faces[face].expression.probs[cls[i]], buf + used,
                      size - used);
    used += strlen(buf + used);
  }
}
