/* Tests of lnlfer-render on a synthetic face: the region map is transparent away from the
 * face, hottest over the heaviest region and smooth; boxes are drawn in the class colour
 * and stay inside their extents; the legend avoids the face. Writes the picture to
 * argv[1] for a look. */
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

/* One face at (100, 160) 120 x 140; crop 96 px mapped with scale 1.5 to (90, 150); regions a
 * 3x3 grid of 48 px cells at stride 24; region 4 (centre) weighs 0.6, the rest 0.05. */
static lnl_face_analysis make_face(void) {
  lnl_face_analysis a;
  memset(&a, 0, sizeof a);
  a.face.box = (lnl_rect){100, 160, 120, 140};
  a.face.score = 0.9f;
  a.crop_side = 96;
  const float m[6] = {1.5f, 0, 90, 0, 1.5f, 150};
  memcpy(a.crop_to_image, m, sizeof m);
  for (int r = 0; r < 9; r++) {
    a.expression.regions[r] = (lnl_rect){(float)(r % 3) * 24, (float)(r / 3) * 24, 48, 48};
    a.expression.weights[r] = r == 4 ? 0.6f : 0.05f;
  }
  const float probs[8] = {0.1f, 0.62f, 0.08f, 0.05f, 0.05f, 0.04f, 0.03f, 0.03f};
  memcpy(a.expression.probs, probs, sizeof probs);
  a.expression.label = 1;
  return a;
}

static uint32_t pixel(cairo_surface_t *s, int x, int y) {
  const unsigned char *d = cairo_image_surface_get_data(s);
  return *(const uint32_t *)(const void *)(d + (size_t)y * cairo_image_surface_get_stride(s) +
                                           4 * (size_t)x);
}

static int alpha(uint32_t p) { return (int)(p >> 24); }

int main(int argc, char **argv) {
  lnl_face_analysis face = make_face();
  lnlr_scene scene = {&face, 1, 8, 9, keys, keys, {0, 0, 600, 450}};
  lnlr_legend_text legend = {"Region weight", "low", "high"};

  /* Colour maps: ends and clamping. */
  double lo[3], hi[3], nan_rgb[3];
  lnlr_colormap_rgb(LNLR_CMAP_GREY, 0.0, lo);
  lnlr_colormap_rgb(LNLR_CMAP_GREY, 2.0, hi);
  lnlr_colormap_rgb(LNLR_CMAP_TURBO, NAN, nan_rgb);
  CHECK(lo[0] == 0.0 && hi[0] == 1.0 && nan_rgb[0] >= 0.0);
  int top[3];
  CHECK(lnlr_top_classes(&scene, 0, top, 3) == 3 && top[0] == 1 && top[1] == 0 && top[2] == 2);

  /* Region map extents: the crop's regions span crop 0..96 -> image 90..234 x 150..294. */
  lnlr_rect ext = lnlr_region_map_extents(&scene);
  CHECK(fabs(ext.x - 90) < 1e-3 && fabs(ext.y - 150) < 1e-3);
  CHECK(fabs(ext.w - 144) < 1e-3 && fabs(ext.h - 144) < 1e-3);

  cairo_surface_t *map = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 600, 450);
  lnlr_draw_region_map(map, 0, 0, 1.0, &scene, LNLR_CMAP_GREY);
  cairo_surface_flush(map);
  CHECK(alpha(pixel(map, 10, 10)) == 0); /* away from the face */
  CHECK(alpha(pixel(map, 300, 350)) == 0);
  CHECK(alpha(pixel(map, 162, 222)) >= 245); /* centre of region 4: opaque, hottest */
  uint32_t centre = pixel(map, 162, 222), side = pixel(map, 126, 222);
  CHECK((centre & 255) > (side & 255)); /* grey map: heavier is brighter */
  /* Smooth: neighbouring pixels never differ by much inside the map. */
  int max_step = 0;
  for (int x = 95; x < 230; x++) {
    int a = (int)(pixel(map, x, 222) & 255), b = (int)(pixel(map, x + 1, 222) & 255);
    max_step = abs(a - b) > max_step ? abs(a - b) : max_step;
  }
  CHECK(max_step <= 16);

  /* The same map at half scale into a smaller surface matches. */
  cairo_surface_t *small = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 300, 225);
  lnlr_draw_region_map(small, 0, 0, 0.5, &scene, LNLR_CMAP_GREY);
  cairo_surface_flush(small);
  CHECK(abs((int)(pixel(small, 81, 111) & 255) - (int)(centre & 255)) <= 12);
  cairo_surface_destroy(small);

  /* Legend: in a corner, clear of the face. */
  lnlr_rect lr = lnlr_legend_rect(&scene, &legend);
  CHECK(lr.x >= 0 && lr.y >= 0 && lr.x + lr.w <= 600 && lr.y + lr.h <= 450);
  CHECK(lr.x + lr.w <= 90 || lr.x >= 234 || lr.y + lr.h <= 150 || lr.y >= 300);

  /* Boxes: class colour on the box edge; nothing outside the extents. */
  cairo_surface_t *boxes = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 600, 450);
  cairo_t *cr = cairo_create(boxes);
  lnlr_draw_boxes(cr, &scene, LNLR_LABELS_TOP3);
  cairo_destroy(cr);
  cairo_surface_flush(boxes);
  uint32_t edge = pixel(boxes, 100, 250);
  double happy[3];
  lnlr_class_rgb("happiness", 1, happy);
  CHECK(alpha(edge) == 255 && abs((int)((edge >> 16) & 255) - (int)lround(happy[0] * 255)) <= 2);
  lnlr_rect be = lnlr_boxes_extents(&scene, LNLR_LABELS_TOP3);
  CHECK(be.y < 160 - 20); /* the tag sits above the box */
  int outside = 0;
  for (int y = 0; y < 450; y++)
    for (int x = 0; x < 600; x++)
      if (alpha(pixel(boxes, x, y)) &&
          (x < floor(be.x) || x >= ceil(be.x + be.w) || y < floor(be.y) || y >= ceil(be.y + be.h)))
        outside++;
  CHECK(outside == 0);
  /* Two faces side by side: their labels do not cover each other. */
  lnl_face_analysis pair[2] = {make_face(), make_face()};
  pair[1].face.box.x += 60;
  pair[1].face.box.y += 10;
  pair[1].crop_to_image[2] += 60;
  pair[1].crop_to_image[5] += 10;
  lnlr_scene two = scene;
  two.faces = pair;
  two.count = 2;
  lnlr_rect tags[2];
  lnlr_label_rects(&two, LNLR_LABELS_TOP, tags);
  CHECK(tags[0].w > 0 && tags[1].w > 0 && !lnlr_rect_overlaps(tags[0], tags[1]));
  CHECK(tags[0].y + tags[0].h <= 160); /* the first face keeps its place above its box */
  /* A second face just left of the first and a little lower: its tag, flush with its box's
   * left edge, would cover the first face's tag; flush with its right edge it fits above
   * its own box. */
  lnl_face_analysis near[2] = {make_face(), make_face()};
  near[0].face.box.x = 300, near[0].face.box.y = 150;
  near[1].face.box.x = 175, near[1].face.box.y = 160;
  two.faces = near;
  lnlr_label_rects(&two, LNLR_LABELS_TOP, tags);
  CHECK(175 + tags[1].w > 300); /* flush left, it would reach past x = 300 */
  CHECK(tags[0].w > 0 && tags[1].w > 0 && !lnlr_rect_overlaps(tags[0], tags[1]));
  CHECK(tags[1].y + tags[1].h <= 160 && tags[1].x + tags[1].w <= 300);
  char text[64];
  lnlr_format_class(&scene, 1, 0.62f, text, sizeof text);
  CHECK(strcmp(text, "happiness 62%") == 0);

  /* The picture, for a look: grey background, map, legend, boxes. */
  if (argc > 1) {
    cairo_surface_t *out = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 600, 450);
    cr = cairo_create(out);
    cairo_set_source_rgb(cr, 0.55, 0.5, 0.45);
    cairo_paint(cr);
    cairo_surface_t *turbo = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 600, 450);
    lnlr_draw_region_map(turbo, 0, 0, 1.0, &scene, LNLR_CMAP_TURBO);
    cairo_set_source_surface(cr, turbo, 0, 0);
    cairo_paint_with_alpha(cr, 0.6);
    lnlr_draw_legend(cr, &scene, LNLR_CMAP_TURBO, &legend);
    cairo_set_source_surface(cr, boxes, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    CHECK(cairo_surface_write_to_png(out, argv[1]) == CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(turbo);
    cairo_surface_destroy(out);
  }
  cairo_surface_destroy(boxes);
  cairo_surface_destroy(map);
  printf("render: %s\n", check_failures ? "FAILED" : "ok");
  return check_failures ? 1 : 0;
}
