/* The region map (each face's region weights as a smooth heat map) and its legend. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lnlfer-render.h"
#include "render-private.h"

static void map_point(const float m[6], double u, double v, double *x, double *y) {
  *x = m[0] * u + m[1] * v + m[2];
  *y = m[3] * u + m[4] * v + m[5];
}

/* Each region's weight shows as a smooth blob around the region's centre: the bump
 * (1 - d^2)^3 of d, the distance from the centre in units of BLOB_RADIUS times the region's
 * size, which falls to 0 with a flat slope (no edge). */
#define BLOB_RADIUS 0.65
/* A region at uniform weight (1 / regions) or less is not shown; its strength rises
 * linearly above it and is full at the face's heaviest region, or at FULL_RATIO times
 * uniform when that is less: a face whose weights are all near uniform shows faintly. */
#define FULL_RATIO 3.0
/* The map's opacity at full strength, before the layer's opacity; at strength t it is
 * MAX_ALPHA t^1.5, so that the faint fringe of a blob fades faster than its colour. */
#define MAX_ALPHA 0.9

/* The square around region r's blob, in crop pixels. */
static lnl_rect blob_square(const lnl_rect *q) {
  double rx = BLOB_RADIUS * q->w, ry = BLOB_RADIUS * q->h;
  double cx = q->x + q->w * 0.5, cy = q->y + q->h * 0.5;
  return (lnl_rect){(float)(cx - rx), (float)(cy - ry), (float)(2 * rx), (float)(2 * ry)};
}

/* Bounds of one face's region map (every region's blob) in image pixels. */
static lnlr_rect face_map_bounds(const lnlr_scene *scene, int f) {
  const lnl_face_analysis *a = &scene->faces[f];
  double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
  for (int r = 0; r < scene->num_regions; r++) {
    lnl_rect b = blob_square(&a->expression.regions[r]);
    const double us[4] = {b.x, b.x + b.w, b.x + b.w, b.x};
    const double vs[4] = {b.y, b.y, b.y + b.h, b.y + b.h};
    for (int k = 0; k < 4; k++) {
      double x, y;
      map_point(a->crop_to_image, us[k], vs[k], &x, &y);
      x0 = fmin(x0, x);
      y0 = fmin(y0, y);
      x1 = fmax(x1, x);
      y1 = fmax(y1, y);
    }
  }
  if (!(x1 > x0 && y1 > y0)) return (lnlr_rect){0, 0, 0, 0};
  return (lnlr_rect){x0, y0, x1 - x0, y1 - y0};
}

lnlr_rect lnlr_region_map_extents(const lnlr_scene *scene) {
  lnlr_rect r = {0, 0, 0, 0};
  for (int f = 0; f < scene->count; f++) r = lnlr_rect_union(r, face_map_bounds(scene, f));
  return r;
}

/* Composites colour (r, g, b) with coverage a over one premultiplied ARGB32 pixel. */
static void blend(uint32_t *px, const double rgb[3], double a) {
  uint32_t d = *px;
  double keep = 1.0 - a;
  double da = (d >> 24) / 255.0, dr = ((d >> 16) & 255) / 255.0;
  double dg = ((d >> 8) & 255) / 255.0, db = (d & 255) / 255.0;
  double oa = a + da * keep, or_ = rgb[0] * a + dr * keep;
  double og = rgb[1] * a + dg * keep, ob = rgb[2] * a + db * keep;
  *px = (uint32_t)lround(oa * 255) << 24 | (uint32_t)lround(or_ * 255) << 16 |
        (uint32_t)lround(og * 255) << 8 | (uint32_t)lround(ob * 255);
}

double lnlr_region_strength(float weight, float max_weight, int regions) {
  if (regions <= 0 || !(weight == weight)) return 0.0;
  double uniform = 1.0 / regions;
  double full = fmax(max_weight - uniform, (FULL_RATIO - 1.0) * uniform);
  double s = (weight - uniform) / full;
  return s <= 0 ? 0.0 : s >= 1 ? 1.0 : s;
}

static void draw_face_map(unsigned char *data, int stride, int width, int height, double ox,
                          double oy, double scale, const lnlr_scene *scene, int f,
                          lnlr_colormap cmap) {
  const lnl_face_analysis *a = &scene->faces[f];
  const float *m = a->crop_to_image;
  double det = (double)m[0] * m[4] - (double)m[1] * m[3];
  int nr = scene->num_regions;
  if (nr <= 0 || nr > LNL_MAX_REGIONS || fabs(det) < 1e-12) return;
  float wmax = 0;
  for (int r = 0; r < nr; r++) wmax = fmaxf(wmax, a->expression.weights[r]);
  /* The regions that show, with their blobs' centres and radii in crop pixels. */
  double strength[LNL_MAX_REGIONS], cu[LNL_MAX_REGIONS], cv[LNL_MAX_REGIONS];
  double ru[LNL_MAX_REGIONS], rv[LNL_MAX_REGIONS];
  int shown = 0;
  for (int r = 0; r < nr; r++) {
    const lnl_rect *q = &a->expression.regions[r];
    double st = lnlr_region_strength(a->expression.weights[r], wmax, nr);
    if (st <= 0 || !(q->w > 0 && q->h > 0)) continue;
    strength[shown] = st;
    cu[shown] = q->x + q->w * 0.5, cv[shown] = q->y + q->h * 0.5;
    ru[shown] = BLOB_RADIUS * q->w, rv[shown] = BLOB_RADIUS * q->h;
    shown++;
  }
  if (!shown) return;
  lnlr_rect b = face_map_bounds(scene, f);
  int i0 = (int)floor((b.x - ox) * scale), i1 = (int)ceil((b.x + b.w - ox) * scale);
  int j0 = (int)floor((b.y - oy) * scale), j1 = (int)ceil((b.y + b.h - oy) * scale);
  if (i0 < 0) i0 = 0;
  if (j0 < 0) j0 = 0;
  if (i1 > width) i1 = width;
  if (j1 > height) j1 = height;
  for (int j = j0; j < j1; j++) {
    uint32_t *row = (uint32_t *)(void *)(data + (size_t)j * stride);
    double y = oy + (j + 0.5) / scale - m[5];
    for (int i = i0; i < i1; i++) {
      double x = ox + (i + 0.5) / scale - m[2];
      double u = (m[4] * x - m[1] * y) / det, v = (m[0] * y - m[3] * x) / det;
      /* The blobs combine as 1 - prod(1 - s k): overlapping blobs add up without ever
       * passing 1, and every blob stays smooth. */
      double none = 1.0;
      for (int r = 0; r < shown; r++) {
        double du = (u - cu[r]) / ru[r], dv = (v - cv[r]) / rv[r], d2 = du * du + dv * dv;
        if (d2 >= 1.0) continue;
        double k = (1.0 - d2) * (1.0 - d2) * (1.0 - d2);
        none *= 1.0 - strength[r] * k;
      }
      double t = 1.0 - none, rgb[3];
      if (t <= 0.0) continue;
      lnlr_colormap_rgb(cmap, t, rgb);
      blend(&row[i], rgb, MAX_ALPHA * t * sqrt(t)); /* the faint fringe fades faster */
    }
  }
}

void lnlr_draw_region_map(cairo_surface_t *target, double origin_x, double origin_y, double scale,
                          const lnlr_scene *scene, lnlr_colormap cmap) {
  if (cairo_image_surface_get_format(target) != CAIRO_FORMAT_ARGB32 || !(scale > 0)) return;
  cairo_surface_flush(target);
  unsigned char *data = cairo_image_surface_get_data(target);
  int stride = cairo_image_surface_get_stride(target);
  int w = cairo_image_surface_get_width(target), h = cairo_image_surface_get_height(target);
  for (int f = 0; f < scene->count; f++)
    draw_face_map(data, stride, w, h, origin_x, origin_y, scale, scene, f, cmap);
  cairo_surface_mark_dirty(target);
}

/* ---- Legend ---------------------------------------------------------------- */

typedef struct legend_layout {
  double u, pad, w, h, bar_w, bar_h;
  double title_w, title_h, low_w, high_w, end_h;
  lnlr_rect at; /* where it goes; w = 0: nowhere */
} legend_layout;

static legend_layout legend_measure(cairo_t *cr, const lnlr_scene *scene,
                                    const lnlr_legend_text *text, double size) {
  legend_layout l;
  double side = fmax(scene->area.w, scene->area.h);
  l.u = fmax(side * 0.016, 10.0) * size;
  l.pad = l.u * 0.55;
  l.bar_w = l.u * 8;
  l.bar_h = l.u * 0.75;
  lnlr_text_size(cr, text->title, l.u, 1, &l.title_w, &l.title_h);
  lnlr_text_size(cr, text->low, l.u * 0.8, 0, &l.low_w, &l.end_h);
  lnlr_text_size(cr, text->high, l.u * 0.8, 0, &l.high_w, &l.end_h);
  double inner = fmax(fmax(l.title_w, l.bar_w), l.low_w + l.high_w + l.u);
  l.bar_w = inner;
  l.w = inner + 2 * l.pad;
  l.h = 2 * l.pad + l.title_h + l.u * 0.3 + l.bar_h + l.u * 0.2 + l.end_h;
  l.at = (lnlr_rect){0, 0, 0, 0};
  return l;
}

/* Whether the legend at r leaves every face box (and, with maps, every region map) free. */
static int legend_clear(const lnlr_scene *scene, lnlr_rect r, int maps) {
  for (int f = 0; f < scene->count; f++) {
    lnlr_rect keep = lnlr_face_outline(scene, f);
    if (maps) keep = lnlr_rect_union(keep, face_map_bounds(scene, f));
    if (lnlr_rect_overlaps(r, keep)) return 0;
  }
  return 1;
}

/* The legend's place (lnlr_legend_rect documents the order) and size. */
static legend_layout legend_layout_of(cairo_t *cr, const lnlr_scene *scene,
                                      const lnlr_legend_text *text) {
  static const double sizes[3] = {1.0, 0.75, 0.5};
  const lnlr_rect *A = &scene->area;
  legend_layout l = legend_measure(cr, scene, text, 1.0);
  for (int s = 0; s < 3; s++) {
    l = legend_measure(cr, scene, text, sizes[s]);
    double m = l.u;
    double left = A->x + m, right = A->x + A->w - m - l.w, mid_x = A->x + (A->w - l.w) / 2;
    double top = A->y + m, bottom = A->y + A->h - m - l.h, mid_y = A->y + (A->h - l.h) / 2;
    const double spots[8][2] = {{left, bottom},  {right, bottom}, {left, top},   {right, top},
                                {mid_x, bottom}, {mid_x, top},    {left, mid_y}, {right, mid_y}};
    for (int maps = 1; maps >= 0; maps--)
      for (int c = 0; c < 8; c++) {
        lnlr_rect r = {spots[c][0], spots[c][1], l.w, l.h};
        if (lnlr_spot_free(r, *A, NULL, 0) && legend_clear(scene, r, maps)) {
          l.at = r;
          return l;
        }
      }
  }
  /* Nowhere in a corner or at an edge: the free place nearest the bottom left corner. */
  lnlr_rect *faces = malloc(sizeof *faces * (size_t)(scene->count > 0 ? scene->count : 1));
  for (int f = 0; faces && f < scene->count; f++) faces[f] = lnlr_face_outline(scene, f);
  for (int s = 0; faces && s < 3; s++) {
    l = legend_measure(cr, scene, text, sizes[s]);
    lnlr_rect corner = {A->x, A->y + A->h, 0, 0}, r;
    if (lnlr_nearest_free(*A, *A, l.w, l.h, corner, faces, scene->count, NULL, NULL, &r)) {
      l.at = r;
      break;
    }
  }
  free(faces);
  return l;
}

lnlr_rect lnlr_legend_rect(const lnlr_scene *scene, const lnlr_legend_text *text) {
  if (!text) return (lnlr_rect){0, 0, 0, 0};
  cairo_t *cr = lnlr_measure_begin();
  legend_layout l = legend_layout_of(cr, scene, text);
  lnlr_measure_end(cr);
  return l.at;
}

void lnlr_draw_legend(cairo_t *cr, const lnlr_scene *scene, lnlr_colormap cmap,
                      const lnlr_legend_text *text) {
  legend_layout l = legend_layout_of(cr, scene, text);
  lnlr_rect r = l.at;
  if (r.w <= 0) return;
  cairo_save(cr);
  lnlr_rounded_rect(cr, r.x, r.y, r.w, r.h, l.u * 0.35);
  cairo_set_source_rgba(cr, 0.07, 0.07, 0.09, 0.78);
  cairo_fill(cr);
  double x = r.x + l.pad, y = r.y + l.pad;
  cairo_set_source_rgb(cr, 0.97, 0.97, 0.97);
  lnlr_text_show(cr, text->title, l.u, 1, x, y);
  y += l.title_h + l.u * 0.3;
  cairo_pattern_t *grad = cairo_pattern_create_linear(x, 0, x + l.bar_w, 0);
  for (int k = 0; k <= 16; k++) {
    double rgb[3];
    lnlr_colormap_rgb(cmap, k / 16.0, rgb);
    /* As on the map: the low end is (nearly) transparent. */
    cairo_pattern_add_color_stop_rgba(grad, k / 16.0, rgb[0], rgb[1], rgb[2],
                                      MAX_ALPHA * (0.1 + 0.9 * pow(k / 16.0, 1.5)));
  }
  cairo_rectangle(cr, x, y, l.bar_w, l.bar_h);
  cairo_set_source(cr, grad);
  cairo_fill_preserve(cr);
  cairo_pattern_destroy(grad);
  cairo_set_source_rgba(cr, 1, 1, 1, 0.6);
  cairo_set_line_width(cr, fmax(1.0, l.u / 14));
  cairo_stroke(cr);
  y += l.bar_h + l.u * 0.2;
  cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
  lnlr_text_show(cr, text->low, l.u * 0.8, 0, x, y);
  lnlr_text_show(cr, text->high, l.u * 0.8, 0, x + l.bar_w - l.high_w, y);
  cairo_restore(cr);
}
