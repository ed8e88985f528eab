/* Tests of the label and legend layout on synthetic crowded scenes (grids of faces, a
 * row of a group photo, faces at the edges, a face filling the picture, a tight cluster,
 * hundreds of random scenes): no label or legend ever covers a face box, another label or
 * the area's edge; leader lines cross no other face; drawn, the boxes layer leaves every
 * face's inside untouched. Writes a crowded picture to argv[1] for a look. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lnlfer-render.h"
#include "render-private.h"

static const char *const keys[] = {"neutral", "happiness", "surprise", "sadness",
                                   "anger",   "disgust",   "fear",     "contempt"};
static const lnlr_legend_text legend = {"Region weight", "low", "high"};

#define MAX_FACES 512

/* A face with box (x, y, s, 1.2 s) and its 3x3 regions on a crop over it; confident
 * unless `unsure`. */
static lnl_face_analysis face_at(double x, double y, double s, int cls, int unsure) {
  lnl_face_analysis a;
  memset(&a, 0, sizeof a);
  a.face.box = (lnl_rect){(float)x, (float)y, (float)s, (float)(1.2 * s)};
  a.face.score = unsure ? 0.4f : 0.9f;
  a.crop_side = 96;
  float k = (float)(1.1 * s / 96);
  const float m[6] = {k, 0, (float)(x - 0.05 * s), 0, k, (float)(y + 0.05 * s)};
  memcpy(a.crop_to_image, m, sizeof m);
  for (int r = 0; r < 9; r++) {
    a.expression.regions[r] = (lnl_rect){(float)(r % 3) * 24, (float)(r / 3) * 24, 48, 48};
    a.expression.weights[r] = r == 4 ? 0.5f : 0.5f / 8;
  }
  for (int c = 0; c < 8; c++) a.expression.probs[c] = c == cls ? 0.58f : 0.06f;
  a.expression.label = cls;
  a.confident = a.plausible_fit = !unsure;
  a.landmark_fit = 0.05f;
  return a;
}

static lnlr_scene scene_of(const lnl_face_analysis *faces, int n, lnlr_rect area) {
  return (lnlr_scene){faces, n, 8, 9, keys, keys, area, &legend, "uncertain face"};
}

/* Checks every rule of the layout on one scene; returns how many faces have a label. */
static int check_scene(const char *what, const lnlr_scene *sc, lnlr_labels labels) {
  static lnlr_label_place p[MAX_FACES];
  int failures = check_failures, labelled = 0;
  lnlr_label_layout(sc, labels, p);
  lnlr_rect lg = sc->legend ? lnlr_legend_rect(sc, sc->legend) : (lnlr_rect){0, 0, 0, 0};
  const lnlr_rect A = sc->area;
  const double eps = 1e-6;
  if (lg.w > 0) {
    CHECK_MSG(lg.x >= A.x - eps && lg.y >= A.y - eps && lg.x + lg.w <= A.x + A.w + eps &&
                  lg.y + lg.h <= A.y + A.h + eps,
              "%s: legend outside the area", what);
    for (int g = 0; g < sc->count; g++)
      CHECK_MSG(!lnlr_rect_overlaps(lg, lnlr_face_outline(sc, g)), "%s: legend over face %d", what,
                g);
  }
  for (int f = 0; f < sc->count; f++) {
    lnlr_rect t = p[f].tag;
    if (t.w <= 0) continue;
    labelled++;
    CHECK_MSG(t.x >= A.x - eps && t.y >= A.y - eps && t.x + t.w <= A.x + A.w + eps &&
                  t.y + t.h <= A.y + A.h + eps,
              "%s: label %d outside the area", what, f);
    CHECK_MSG(p[f].font_px >= 9.0, "%s: label %d font %.1f px", what, f, p[f].font_px);
    if (lg.w > 0) CHECK_MSG(!lnlr_rect_overlaps(t, lg), "%s: label %d over the legend", what, f);
    for (int g = 0; g < sc->count; g++) {
      CHECK_MSG(!lnlr_rect_overlaps(t, lnlr_face_outline(sc, g)), "%s: label %d over face %d", what,
                f, g);
      if (g != f && p[g].tag.w > 0)
        CHECK_MSG(!lnlr_rect_overlaps(t, p[g].tag), "%s: labels %d and %d overlap", what, f, g);
      if (g != f && p[f].leader)
        CHECK_MSG(!lnlr_segment_crosses(p[f].line[0], p[f].line[1], p[f].line[2], p[f].line[3],
                                        lnlr_face_outline(sc, g)),
                  "%s: label %d's leader crosses face %d", what, f, g);
    }
  }
  if (check_failures != failures) fprintf(stderr, "  (in %s)\n", what);
  return labelled;
}

static uint32_t pixel(cairo_surface_t *s, int x, int y) {
  const unsigned char *d = cairo_image_surface_get_data(s);
  return *(const uint32_t *)(const void *)(d + (size_t)y * cairo_image_surface_get_stride(s) +
                                           4 * (size_t)x);
}

/* Draws the boxes and labels (and the legend) and checks that nothing is drawn inside any
 * face's box (inside its outline). */
static void check_drawn(const char *what, const lnlr_scene *sc, lnlr_labels labels,
                        const char *png) {
  int w = (int)ceil(sc->area.x + sc->area.w), h = (int)ceil(sc->area.y + sc->area.h);
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  cairo_t *cr = cairo_create(s);
  if (sc->legend) lnlr_draw_legend(cr, sc, LNLR_CMAP_TURBO, sc->legend);
  lnlr_draw_boxes(cr, sc, labels);
  cairo_destroy(cr);
  cairo_surface_flush(s);
  int covered = 0;
  for (int f = 0; f < sc->count; f++) {
    lnlr_rect o = lnlr_face_outline(sc, f);
    const lnl_rect *b = &sc->faces[f].face.box;
    double m = (o.w - b->w) / 2 + 1; /* the outline's width, and a pixel of antialiasing */
    for (int y = (int)ceil(b->y + m); y < (int)floor(b->y + b->h - m); y++)
      for (int x = (int)ceil(b->x + m); x < (int)floor(b->x + b->w - m); x++) {
        /* Where faces overlap, the other face's box line is drawn there. */
        int other = 0;
        for (int g = 0; g < sc->count && !other; g++) {
          lnlr_rect og = lnlr_face_outline(sc, g);
          other = g != f && x + 1 > og.x && x < og.x + og.w && y + 1 > og.y && y < og.y + og.h;
        }
        covered += !other && x >= 0 && y >= 0 && x < w && y < h && (pixel(s, x, y) >> 24) != 0;
      }
  }
  CHECK_MSG(covered == 0, "%s: %d pixels drawn inside faces", what, covered);
  if (png) {
    cairo_surface_t *out = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cr = cairo_create(out);
    cairo_set_source_rgb(cr, 0.55, 0.5, 0.45);
    cairo_paint(cr);
    for (int f = 0; f < sc->count; f++) { /* faces as light ovals */
      const lnl_rect *b = &sc->faces[f].face.box;
      cairo_save(cr);
      cairo_translate(cr, b->x + b->w / 2, b->y + b->h / 2);
      cairo_scale(cr, b->w / 2, b->h / 2);
      cairo_arc(cr, 0, 0, 0.9, 0, 2 * 3.14159265);
      cairo_restore(cr);
      cairo_set_source_rgb(cr, 0.93, 0.8, 0.7);
      cairo_fill(cr);
    }
    cairo_set_source_surface(cr, s, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    CHECK(cairo_surface_write_to_png(out, png) == CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(out);
  }
  cairo_surface_destroy(s);
}

static unsigned rng = 12345;
static double uniform(double lo, double hi) {
  rng = rng * 1103515245u + 12345u;
  return lo + (hi - lo) * ((rng >> 8) & 0xffff) / 65536.0;
}

int main(int argc, char **argv) {
  static lnl_face_analysis faces[MAX_FACES];
  lnlr_scene sc;
  char what[96];

  /* A grid of 8 x 4 faces as on a crowded group photo (faces 50 px wide, 25 px apart side
   * by side, rows 50 px apart): every top-class label fits, top-3 panels where they can
   * (the others shrink, move away with a leader line or are left out), none covers a face. */
  for (int labels = LNLR_LABELS_TOP; labels <= LNLR_LABELS_TOP3; labels++) {
    int n = 0;
    for (int r = 0; r < 4; r++)
      for (int c = 0; c < 8; c++)
        faces[n] = face_at(20 + c * 85, 45 + r * 110, 50, (r + c) % 8, (r * 8 + c) % 7 == 3), n++;
    sc = scene_of(faces, n, (lnlr_rect){0, 0, 720, 480});
    snprintf(what, sizeof what, "grid 8x4 %s", labels == LNLR_LABELS_TOP ? "top" : "top-3");
    int got = check_scene(what, &sc, (lnlr_labels)labels);
    lnlr_label_place p[32];
    lnlr_label_layout(&sc, (lnlr_labels)labels, p);
    int panels = 0;
    for (int f = 0; f < n; f++) panels += p[f].lines == 3;
    printf("%s: %d of %d faces labelled, %d with 3 lines\n", what, got, n, panels);
    CHECK(got >= n - 2); /* the greedy layout leaves a couple out on this grid */
    if (labels == LNLR_LABELS_TOP3) CHECK(panels == 0); /* no room: they fell back to one line */
    check_drawn(what, &sc, (lnlr_labels)labels,
                argc > 1 && labels == LNLR_LABELS_TOP3 ? argv[1] : NULL);
  }

  /* A group photo: a row of ten faces shoulder to shoulder, top-3 panels. */
  for (int i = 0; i < 10; i++) faces[i] = face_at(30 + i * 84, 120, 76, i % 8, 0);
  sc = scene_of(faces, 10, (lnlr_rect){0, 0, 900, 360});
  int got = check_scene("group row", &sc, LNLR_LABELS_TOP3);
  CHECK(got == 10);
  {
    lnlr_label_place p[10];
    lnlr_label_layout(&sc, LNLR_LABELS_TOP3, p);
    int panels = 0;
    for (int f = 0; f < 10; f++) panels += p[f].lines == 3;
    CHECK(panels == 10);
  }
  check_drawn("group row", &sc, LNLR_LABELS_TOP3, NULL);

  /* Faces at every edge and corner of an area that does not start at 0. */
  {
    lnlr_rect A = {40, 30, 500, 400};
    const double s = 60, fh = 72;
    const double at[8][2] = {{A.x, A.y},
                             {A.x + A.w - s, A.y},
                             {A.x, A.y + A.h - fh},
                             {A.x + A.w - s, A.y + A.h - fh},
                             {A.x + A.w / 2 - s / 2, A.y},
                             {A.x + A.w / 2 - s / 2, A.y + A.h - fh},
                             {A.x, A.y + A.h / 2 - fh / 2},
                             {A.x + A.w - s, A.y + A.h / 2 - fh / 2}};
    for (int i = 0; i < 8; i++) faces[i] = face_at(at[i][0], at[i][1], s, i, i == 2);
    sc = scene_of(faces, 8, A);
    got = check_scene("edges", &sc, LNLR_LABELS_TOP3);
    CHECK(got == 8);
    /* Every corner and edge middle has a face: the legend still finds room (smaller, or
     * elsewhere), clear of every face. */
    CHECK(lnlr_legend_rect(&sc, &legend).w > 0);
    check_drawn("edges", &sc, LNLR_LABELS_TOP3, NULL);
  }

  /* One face filling the whole picture: no room for a label or the legend, and neither is
   * drawn over it. */
  faces[0] = face_at(0, 0, 300, 1, 0);
  sc = scene_of(faces, 1, (lnlr_rect){0, 0, 300, 360});
  CHECK(check_scene("full face", &sc, LNLR_LABELS_TOP3) == 0);
  CHECK(lnlr_legend_rect(&sc, &legend).w == 0);
  check_drawn("full face", &sc, LNLR_LABELS_TOP3, NULL);

  /* A face with neighbours close on all four sides (a plus): no room next to its box, so its
   * label goes to a free place nearby, with a leader line through a gap between them. */
  {
    const double d = 60 + 14, e = 72 + 14;
    const double at[5][2] = {
        {400, 300}, {400, 300 - e}, {400, 300 + e}, {400 - d, 300}, {400 + d, 300}};
    for (int i = 0; i < 5; i++) faces[i] = face_at(at[i][0], at[i][1], 60, i, 0);
    sc = scene_of(faces, 5, (lnlr_rect){0, 0, 900, 700});
    CHECK(check_scene("plus", &sc, LNLR_LABELS_TOP) == 5);
    lnlr_label_place p[5];
    lnlr_label_layout(&sc, LNLR_LABELS_TOP, p);
    CHECK(p[0].tag.w > 0 && p[0].leader);
    check_drawn("plus", &sc, LNLR_LABELS_TOP, argc > 2 ? argv[2] : NULL);
  }

  /* Random crowded scenes, some overlapping faces, some not confident. */
  for (int k = 0; k < 300; k++) {
    int n = 1 + (int)uniform(0, 40);
    lnlr_rect A = {uniform(0, 50), uniform(0, 50), uniform(200, 900), uniform(200, 700)};
    for (int i = 0; i < n; i++) {
      double s = uniform(12, fmin(A.w, A.h) / 3);
      faces[i] = face_at(uniform(A.x, A.x + A.w - s), uniform(A.y, A.y + A.h - 1.2 * s), s,
                         (int)uniform(0, 8), uniform(0, 1) < 0.2);
    }
    sc = scene_of(faces, n, A);
    if (k % 3 == 2) sc.legend = NULL;
    snprintf(what, sizeof what, "random scene %d (%d faces)", k, n);
    check_scene(what, &sc, k % 2 ? LNLR_LABELS_TOP3 : LNLR_LABELS_TOP);
    if (k % 25 == 0) check_drawn(what, &sc, LNLR_LABELS_TOP3, NULL);
  }

  /* Many faces (a stadium): stays fast and correct. */
  {
    int n = 0;
    for (int r = 0; r < 16; r++)
      for (int c = 0; c < 32; c++) faces[n++] = face_at(10 + c * 60, 30 + r * 72, 30, c % 8, 0);
    sc = scene_of(faces, n, (lnlr_rect){0, 0, 1940, 1200});
    got = check_scene("stadium", &sc, LNLR_LABELS_TOP);
    printf("stadium: %d of %d faces labelled\n", got, n);
    CHECK(got > n / 2);
  }

  printf("layout: %s\n", check_failures ? "FAILED" : "ok");
  return check_failures ? 1 : 0;
}
