/* Face boxes and their labels: a box in the colour of the face's most probable class and
 * a dark tag next to it listing the top class, or the top three, each with its probability
 * and a bar of that length. Tags never cover a face (lnlr_label_layout); a face that is not
 * confident gets a dashed, muted box and a muted label with "?" (and scene->uncertain). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lnlfer-render.h"
#include "render-private.h"

#define MAX_LINES 3
#define MIN_FONT_PX 9.0

typedef struct tag_layout {
  lnlr_rect box; /* the face box */
  double lw;     /* box line width */
  int confident;
  int lines; /* class lines; 0: no label */
  int cls[MAX_LINES];
  char name[MAX_LINES][100], pct[MAX_LINES][16];
  /* At the chosen size: */
  lnlr_label_place place;
  double u; /* font size of the first line, pixels */
  double pad, bar_h, gap;
  double text_h[MAX_LINES], pct_w[MAX_LINES], note_h;
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

static double line_width(double u) { return fmax(1.5, u / 7); }

lnlr_rect lnlr_face_outline(const lnlr_scene *scene, int f) {
  const lnl_rect *b = &scene->faces[f].face.box;
  double m = line_width(font_px(scene, f)) * 1.1; /* the dark outline's half width */
  return (lnlr_rect){b->x - m, b->y - m, b->w + 2 * m, b->h + 2 * m};
}

static const char *uncertain_note(const lnlr_scene *scene, const tag_layout *t) {
  return !t->confident && scene->uncertain && *scene->uncertain ? scene->uncertain : NULL;
}

/* The face's box, classes and texts (no size yet). */
static void layout_face(const lnlr_scene *scene, int f, lnlr_labels labels, tag_layout *t) {
  const lnl_face_analysis *a = &scene->faces[f];
  memset(t, 0, sizeof *t);
  t->box = (lnlr_rect){a->face.box.x, a->face.box.y, a->face.box.w, a->face.box.h};
  t->lw = line_width(font_px(scene, f));
  t->confident = a->confident;
  lnlr_top_classes(scene, f, t->cls, MAX_LINES);
  if (labels == LNLR_LABELS_NONE || scene->num_classes <= 0) return;
  t->lines = labels == LNLR_LABELS_TOP3 ? (scene->num_classes < 3 ? scene->num_classes : 3) : 1;
  for (int i = 0; i < t->lines; i++) {
    int c = t->cls[i];
    const char *name = scene->class_labels ? scene->class_labels[c] : scene->class_keys[c];
    snprintf(t->name[i], sizeof t->name[i], "%s%s", name ? name : "?",
             i == 0 && !t->confident ? "?" : "");
    snprintf(t->pct[i], sizeof t->pct[i], "%.0f%%", 100.0 * a->expression.probs[c]);
  }
}

/* Text sizes measured once at a reference size: without hinting a text's size is
 * proportional to its font's, and a crowded picture measures the same few strings (class
 * names, percentages) at several sizes for many faces. */
#define CACHE_SIZE 512
#define REF_PX 64.0

typedef struct text_cache {
  int n;
  struct {
    char s[100];
    int bold;
    double w, h;
  } e[CACHE_SIZE];
} text_cache;

static void text_size(cairo_t *cr, text_cache *c, const char *s, double px, int bold, double *w,
                      double *h) {
  int i = 0;
  while (i < c->n && !(c->e[i].bold == bold && strcmp(c->e[i].s, s) == 0)) i++;
  if (i == c->n) {
    if (c->n == CACHE_SIZE || strlen(s) >= sizeof c->e[0].s) {
      lnlr_text_size(cr, s, px, bold, w, h);
      return;
    }
    snprintf(c->e[i].s, sizeof c->e[i].s, "%s", s);
    c->e[i].bold = bold;
    lnlr_text_size(cr, s, REF_PX, bold, &c->e[i].w, &c->e[i].h);
    c->n++;
  }
  *w = c->e[i].w * px / REF_PX;
  *h = c->e[i].h * px / REF_PX;
}

/* Measures the tag at first-line font size u: sets its size (place.tag.w, .h). */
static void measure(cairo_t *cr, text_cache *cache, const lnlr_scene *scene, tag_layout *t,
                    double u) {
  t->u = u;
  t->pad = u * 0.42;
  t->bar_h = fmax(2.0, u * 0.2);
  t->gap = u * 0.22;
  double inner = u * 5, h = 2 * t->pad, hh, nw;
  for (int i = 0; i < t->lines; i++) {
    text_size(cr, cache, t->name[i], line_px(t, i), i == 0, &nw, &t->text_h[i]);
    text_size(cr, cache, t->pct[i], line_px(t, i), i == 0, &t->pct_w[i], &hh);
    inner = fmax(inner, nw + u * 0.9 + t->pct_w[i]);
    h += t->text_h[i] + t->bar_h + u * 0.12 + (i ? t->gap : 0);
  }
  const char *note = uncertain_note(scene, t);
  t->note_h = 0;
  if (note) {
    text_size(cr, cache, note, u * 0.8, 0, &nw, &t->note_h);
    inner = fmax(inner, nw);
    h += t->gap + t->note_h;
  }
  t->place.tag.w = inner + 2 * t->pad;
  t->place.tag.h = h;
  t->place.font_px = u;
  t->place.pad = t->pad;
}

/* The places next to the box, in the order of preference (see lnlr_label_layout). */
static int next_to_box(const tag_layout *t, lnlr_rect area, lnlr_rect *out) {
  const lnlr_rect *b = &t->box;
  double w = t->place.tag.w, h = t->place.tag.h, g = t->lw * 1.5;
  double lx = b->x - t->lw / 2, rx = b->x + b->w + t->lw / 2 - w, cx = b->x + b->w / 2 - w / 2;
  double ty = b->y - t->lw / 2, by = b->y + b->h + t->lw / 2 - h, cy = b->y + b->h / 2 - h / 2;
  const double above = b->y - g - h, below = b->y + b->h + g;
  const double right = b->x + b->w + g, left = b->x - g - w;
  const double xy[12][2] = {{lx, above}, {rx, above}, {cx, above}, {lx, below},
                            {rx, below}, {cx, below}, {right, ty}, {right, cy},
                            {right, by}, {left, ty},  {left, cy},  {left, by}};
  for (int k = 0; k < 12; k++) {
    /* Along the box's side the tag may slide to stay inside the area. */
    double x = xy[k][0], y = xy[k][1];
    if (k < 6)
      x = clampd(x, area.x, area.x + area.w - w);
    else
      y = clampd(y, area.y, area.y + area.h - h);
    out[k] = (lnlr_rect){x, y, w, h};
  }
  return 12;
}

/* The leader line from box b to tag g: from the point of the box nearest the tag's centre
 * to the point of the tag nearest it. */
static void leader_line(const lnlr_rect *b, const lnlr_rect *g, double line[4]) {
  line[0] = clampd(g->x + g->w / 2, b->x, b->x + b->w);
  line[1] = clampd(g->y + g->h / 2, b->y, b->y + b->h);
  line[2] = clampd(line[0], g->x, g->x + g->w);
  line[3] = clampd(line[1], g->y, g->y + g->h);
}

/* A leader's tag: its line crosses no other face (local[1..n); local[0] is the face's own). */
typedef struct leader_check {
  const lnlr_rect *box, *others;
  int n;
} leader_check;

static int leader_clear(lnlr_rect tag, void *data) {
  const leader_check *c = data;
  double line[4];
  leader_line(c->box, &tag, line);
  for (int i = 0; i < c->n; i++)
    if (lnlr_segment_crosses(line[0], line[1], line[2], line[3], c->others[i])) return 0;
  return 1;
}

/* Places the tag of face f; obstacles[0..n) are every face outline, the legend and the tags
 * placed before, with room for one more. Returns the number of obstacles after. */
static int place_tag(cairo_t *cr, text_cache *cache, const lnlr_scene *scene, int f, tag_layout *t,
                     lnlr_rect *obstacles, int n, lnlr_rect *local) {
  const lnlr_rect A = scene->area;
  double u0 = font_px(scene, f);
  double sizes[3] = {u0, fmax(MIN_FONT_PX, u0 * 0.8), fmax(MIN_FONT_PX, u0 * 0.65)};
  int found = 0, lines = t->lines;
  /* Next to the box, then away with a leader; then the same with the top class only. */
  for (int pass = 0; pass < (lines > 1 ? 4 : 2) && !found; pass++)
    for (int s = 0; s < 3 && !found; s++) {
      if (s && sizes[s] >= sizes[s - 1]) continue;
      t->lines = pass < 2 ? lines : 1;
      measure(cr, cache, scene, t, sizes[s]);
      double w = t->place.tag.w, h = t->place.tag.h, reach = 3 * fmax(w, h) + t->lw * 2;
      lnlr_rect window = {t->box.x - reach, t->box.y - reach, t->box.w + 2 * reach,
                          t->box.h + 2 * reach};
      /* Only the obstacles near the face matter (keeps thousands of faces fast); its own
       * outline (obstacles[f]) first. */
      int m = 1;
      local[0] = obstacles[f];
      for (int i = 0; i < n; i++)
        if (i != f && lnlr_rect_overlaps(obstacles[i], window)) local[m++] = obstacles[i];
      if (pass % 2 == 0) {
        lnlr_rect cand[12];
        int k = next_to_box(t, A, cand);
        for (int i = 0; i < k && !found; i++)
          if (lnlr_spot_free(cand[i], A, local, m)) {
            t->place.tag = cand[i];
            found = 1;
          }
      } else {
        leader_check check = {&t->box, local + 1, m - 1};
        if (lnlr_nearest_free(A, window, w, h, t->box, local, m, leader_clear, &check,
                              &t->place.tag)) {
          t->place.leader = 1;
          leader_line(&t->box, &t->place.tag, t->place.line);
          found = 1;
        }
      }
    }
  if (!found) {
    t->place.tag = (lnlr_rect){0, 0, 0, 0};
    t->lines = 0;
    return n;
  }
  t->place.lines = t->lines;
  obstacles[n] = t->place.tag;
  return n + 1;
}

/* Lays out every face, most confident first (the detector's order). Returns a malloc'd
 * array (free()), or NULL when out of memory. */
static tag_layout *layout_all(cairo_t *cr, const lnlr_scene *scene, lnlr_labels labels) {
  size_t n = scene->count > 0 ? (size_t)scene->count : 1;
  tag_layout *t = calloc(n, sizeof *t);
  lnlr_rect *obstacles = malloc(sizeof *obstacles * (2 * n + 1));
  lnlr_rect *local = malloc(sizeof *local * (2 * n + 1));
  text_cache *cache = malloc(sizeof *cache);
  if (!t || !obstacles || !local || !cache) {
    free(t);
    free(obstacles);
    free(local);
    free(cache);
    return NULL;
  }
  cache->n = 0;
  int k = 0;
  for (int f = 0; f < scene->count; f++) obstacles[k++] = lnlr_face_outline(scene, f);
  if (scene->legend) {
    lnlr_rect legend = lnlr_legend_rect(scene, scene->legend);
    if (legend.w > 0) obstacles[k++] = legend;
  }
  for (int f = 0; f < scene->count; f++) {
    layout_face(scene, f, labels, &t[f]);
    if (t[f].lines) k = place_tag(cr, cache, scene, f, &t[f], obstacles, k, local);
    if (t[f].place.tag.w <= 0) t[f].lines = 0;
  }
  free(obstacles);
  free(local);
  free(cache);
  return t;
}

void lnlr_label_layout(const lnlr_scene *scene, lnlr_labels labels, lnlr_label_place *out) {
  cairo_t *cr = lnlr_measure_begin();
  tag_layout *t = layout_all(cr, scene, labels);
  for (int f = 0; f < scene->count; f++)
    out[f] = t && t[f].lines ? t[f].place : (lnlr_label_place){{0, 0, 0, 0}, 0, 0, 0, 0, {0}};
  free(t);
  lnlr_measure_end(cr);
}

void lnlr_label_rects(const lnlr_scene *scene, lnlr_labels labels, lnlr_rect *out) {
  lnlr_label_place *p = calloc(scene->count > 0 ? (size_t)scene->count : 1, sizeof *p);
  if (p) lnlr_label_layout(scene, labels, p);
  for (int f = 0; f < scene->count; f++) out[f] = p ? p[f].tag : (lnlr_rect){0, 0, 0, 0};
  free(p);
}

lnlr_rect lnlr_boxes_extents(const lnlr_scene *scene, lnlr_labels labels) {
  lnlr_rect r = {0, 0, 0, 0};
  cairo_t *cr = lnlr_measure_begin();
  tag_layout *t = layout_all(cr, scene, labels);
  for (int f = 0; t && f < scene->count; f++) {
    double m = t[f].lw * 1.5;
    lnlr_rect b = {t[f].box.x - m, t[f].box.y - m, t[f].box.w + 2 * m, t[f].box.h + 2 * m};
    r = lnlr_rect_union(r, b);
    if (t[f].lines) r = lnlr_rect_union(r, t[f].place.tag);
  }
  free(t);
  lnlr_measure_end(cr);
  return r;
}

/* The class colour, muted (greyed) for a face that is not confident. */
static void face_rgb(const lnlr_scene *scene, int cls, int confident, double rgb[3]) {
  lnlr_class_rgb(scene->class_keys ? scene->class_keys[cls] : NULL, cls, rgb);
  if (!confident)
    for (int c = 0; c < 3; c++) rgb[c] = 0.4 * rgb[c] + 0.6 * 0.62;
}

static void tag_background(cairo_t *cr, const lnlr_label_place *p) {
  lnlr_rounded_rect(cr, p->tag.x, p->tag.y, p->tag.w, p->tag.h, p->font_px * 0.3);
  cairo_set_source_rgba(cr, 0.07, 0.07, 0.09, 0.8);
  cairo_fill(cr);
}

static void draw_tag(cairo_t *cr, const lnlr_scene *scene, int f, const tag_layout *t) {
  const float *probs = scene->faces[f].expression.probs;
  tag_background(cr, &t->place);
  const lnlr_rect *g = &t->place.tag;
  double x = g->x + t->pad, y = g->y + t->pad, inner = g->w - 2 * t->pad;
  for (int i = 0; i < t->lines; i++) {
    double rgb[3];
    int c = t->cls[i];
    face_rgb(scene, c, t->confident, rgb);
    if (i) y += t->gap;
    double grey = (i == 0 ? 1.0 : 0.86) * (t->confident ? 1.0 : 0.8);
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
  const char *note = uncertain_note(scene, t);
  if (note) {
    cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
    lnlr_text_show(cr, note, t->u * 0.8, 0, x, y + t->gap);
  }
}

static void draw_box_lines(cairo_t *cr, const lnlr_scene *scene, const tag_layout *t) {
  for (int f = 0; f < scene->count; f++) {
    double rgb[3];
    face_rgb(scene, t[f].cls[0], t[f].confident, rgb);
    const double dash[2] = {t[f].lw * 3, t[f].lw * 2};
    cairo_set_dash(cr, dash, t[f].confident ? 0 : 2, 0);
    cairo_rectangle(cr, t[f].box.x, t[f].box.y, t[f].box.w, t[f].box.h);
    cairo_set_source_rgba(cr, 0, 0, 0, 0.55);
    cairo_set_line_width(cr, t[f].lw * 2.2);
    cairo_stroke_preserve(cr);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(cr, t[f].lw);
    cairo_stroke(cr);
  }
  cairo_set_dash(cr, NULL, 0, 0);
}

static void draw_leader(cairo_t *cr, const lnlr_scene *scene, int f, const tag_layout *t,
                        const lnlr_label_place *p) {
  if (!p->leader || p->tag.w <= 0) return;
  double rgb[3];
  face_rgb(scene, t->cls[0], t->confident, rgb);
  cairo_move_to(cr, p->line[0], p->line[1]);
  cairo_line_to(cr, p->line[2], p->line[3]);
  cairo_set_source_rgba(cr, 0, 0, 0, 0.55);
  cairo_set_line_width(cr, t->lw * 1.6);
  cairo_stroke_preserve(cr);
  cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
  cairo_set_line_width(cr, t->lw * 0.7);
  cairo_stroke(cr);
  (void)f;
}

void lnlr_draw_boxes(cairo_t *cr, const lnlr_scene *scene, lnlr_labels labels) {
  tag_layout *t = layout_all(cr, scene, labels);
  if (!t) return;
  cairo_save(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  draw_box_lines(cr, scene, t);
  for (int f = 0; f < scene->count; f++)
    if (t[f].lines) draw_leader(cr, scene, f, &t[f], &t[f].place);
  for (int f = scene->count - 1; f >= 0; f--)
    if (t[f].lines) draw_tag(cr, scene, f, &t[f]);
  cairo_restore(cr);
  free(t);
}

void lnlr_draw_boxes_and_tags(cairo_t *cr, const lnlr_scene *scene,
                              const lnlr_label_place *places) {
  tag_layout *t = layout_all(cr, scene, LNLR_LABELS_NONE);
  if (!t) return;
  cairo_save(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  draw_box_lines(cr, scene, t);
  for (int f = 0; f < scene->count; f++) draw_leader(cr, scene, f, &t[f], &places[f]);
  for (int f = scene->count - 1; f >= 0; f--)
    if (places[f].tag.w > 0 && places[f].tag.h > 0) tag_background(cr, &places[f]);
  cairo_restore(cr);
  free(t);
}

void lnlr_label_text(const lnlr_scene *scene, int face, lnlr_labels labels, char *buf,
                     size_t size) {
  int cls[MAX_LINES];
  int lines = labels == LNLR_LABELS_NONE ? 0 : labels == LNLR_LABELS_TOP3 ? MAX_LINES : 1;
  int confident = scene->faces[face].confident;
  lines = lnlr_top_classes(scene, face, cls, lines);
  size_t used = 0;
  if (size) buf[0] = '\0';
  for (int i = 0; i < lines && used + 1 < size; i++) {
    if (i) buf[used++] = '\n';
    const float p = scene->faces[face].expression.probs[cls[i]];
    if (i == 0 && !confident) {
      const char *name =
          scene->class_labels ? scene->class_labels[cls[i]] : scene->class_keys[cls[i]];
      snprintf(buf + used, size - used, "%s? %.0f%%", name ? name : "?", 100.0 * p);
    } else {
      lnlr_format_class(scene, cls[i], p, buf + used, size - used);
    }
    used += strlen(buf + used);
  }
  if (lines && !confident && scene->uncertain && *scene->uncertain && used + 1 < size)
    snprintf(buf + used, size - used, "\n%s", scene->uncertain);
}
