/* Tests of lnlfer-render on a synthetic face: the region map is transparent away from the
 * face and over the regions of uniform weight or less (the image there unchanged), hottest
 * over the heaviest region and smooth (no edge); boxes are drawn in the class colour and
 * stay inside their extents; a face that is not confident is drawn dashed and muted with
 * "?"; the legend avoids the face. Writes the picture to argv[1] for a look. (The label
 * layout on crowded scenes: test_layout.c.) */
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
  a.landmark_fit = 0.05f;
  a.plausible_fit = a.confident = 1;
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
  lnlr_scene scene = {&face, 1, 8, 9, keys, keys, {0, 0, 600, 450}, NULL, "uncertain face"};
  lnlr_legend_text legend = {"Region weight", "low", "high"};

  /* Colour maps: ends and clamping. */
  double lo[3], hi[3], nan_rgb[3];
  lnlr_colormap_rgb(LNLR_CMAP_GREY, 0.0, lo);
  lnlr_colormap_rgb(LNLR_CMAP_GREY, 2.0, hi);
  lnlr_colormap_rgb(LNLR_CMAP_TURBO, NAN, nan_rgb);
  CHECK(lo[0] == 0.0 && hi[0] == 1.0 && nan_rgb[0] >= 0.0);
  int top[3];
  CHECK(lnlr_top_classes(&scene, 0, top, 3) == 3 && top[0] == 1 && top[1] == 0 && top[2] == 2);

  /* Region map extents: each region's blob square (0.65 of its side around its centre):
   * crop -7.2..103.2 -> image 79.2..244.8 x 139.2..304.8. */
  lnlr_rect ext = lnlr_region_map_extents(&scene);
  CHECK(fabs(ext.x - 79.2) < 1e-3 && fabs(ext.y - 139.2) < 1e-3);
  CHECK(fabs(ext.w - 165.6) < 1e-3 && fabs(ext.h - 165.6) < 1e-3);

  /* Strength: 0 at uniform weight or less, full at the heaviest region, or at 3 x uniform. */
  CHECK(lnlr_region_strength(1.0f / 9, 0.6f, 9) < 1e-6 &&
        lnlr_region_strength(0.05f, 0.6f, 9) == 0);
  CHECK(fabs(lnlr_region_strength(0.6f, 0.6f, 9) - 1.0) < 1e-6);
  CHECK(fabs(lnlr_region_strength(0.2f, 0.2f, 9) - (0.2 - 1.0 / 9) / (2.0 / 9)) < 1e-6);

  cairo_surface_t *map = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 600, 450);
  lnlr_draw_region_map(map, 0, 0, 1.0, &scene, LNLR_CMAP_GREY);
  cairo_surface_flush(map);
  CHECK(alpha(pixel(map, 10, 10)) == 0); /* away from the face */
  CHECK(alpha(pixel(map, 300, 350)) == 0);
  CHECK(alpha(pixel(map, 162, 222)) >= 220); /* centre of region 4: hottest */
  uint32_t centre = pixel(map, 162, 222), side = pixel(map, 140, 222);
  CHECK((centre & 255) > (side & 255)); /* grey map: heavier is brighter */
  /* The light regions (weight 0.05 < 1/9) leave the picture as it is: their centres, e.g.
   * region 0's at crop (24, 24) = image (126, 186) and region 8's at (198, 258). */
  CHECK_MSG(alpha(pixel(map, 126, 186)) <= 2, "alpha %d", alpha(pixel(map, 126, 186)));
  CHECK(alpha(pixel(map, 198, 258)) <= 2 && alpha(pixel(map, 198, 186)) <= 2);
  /* No edge: along lines across the whole map (through the hot centre, and off it across
   * the region borders) neighbouring pixels never differ by much, in opacity or colour. */
  int max_step = 0;
  for (int line = 0; line < 3; line++) {
    const int ys[3] = {222, 200, 240};
    for (int x = 60; x < 260; x++) {
      uint32_t p0 = pixel(map, x, ys[line]), p1 = pixel(map, x + 1, ys[line]);
      int da = abs(alpha(p0) - alpha(p1)), dc = abs((int)(p0 & 255) - (int)(p1 & 255));
      max_step = da > max_step ? da : max_step;
      max_step = dc > max_step ? dc : max_step;
    }
    for (int y = 120; y < 320; y++) {
      uint32_t p0 = pixel(map, 162, y), p1 = pixel(map, 162, y + 1);
      int da = abs(alpha(p0) - alpha(p1));
      max_step = da > max_step ? da : max_step;
    }
  }
  CHECK_MSG(max_step <= 12, "largest step between neighbouring pixels %d", max_step);

  /* Over an image (as lnlfer annotate draws it): the light regions' pixels stay as they
   * were, the heavy one's change. */
  {
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 600, 450);
    cairo_t *ic = cairo_create(img);
    cairo_pattern_t *ramp = cairo_pattern_create_linear(0, 0, 600, 450);
    cairo_pattern_add_color_stop_rgb(ramp, 0, 0.8, 0.6, 0.5);
    cairo_pattern_add_color_stop_rgb(ramp, 1, 0.3, 0.4, 0.6);
    cairo_set_source(ic, ramp);
    cairo_paint(ic);
    cairo_pattern_destroy(ramp);
    cairo_destroy(ic);
    cairo_surface_flush(img);
    uint32_t before[3] = {pixel(img, 126, 186), pixel(img, 198, 258), pixel(img, 162, 222)};
    lnlr_style st = {1, 0.6, LNLR_CMAP_TURBO, 0, LNLR_LABELS_NONE, legend};
    CHECK(lnlr_draw_annotations(img, 0, 0, 1.0, &scene, &st));
    uint32_t after[3] = {pixel(img, 126, 186), pixel(img, 198, 258), pixel(img, 162, 222)};
    for (int k = 0; k < 2; k++)
      for (int c = 0; c < 24; c += 8)
        CHECK(abs((int)((before[k] >> c) & 255) - (int)((after[k] >> c) & 255)) <= 2);
    int changed = 0;
    for (int c = 0; c < 24; c += 8)
      changed += abs((int)((before[2] >> c) & 255) - (int)((after[2] >> c) & 255));
    CHECK(changed > 60);
    cairo_surface_destroy(img);
  }

  /* Weights all uniform: nothing shows. */
  {
    lnl_face_analysis flat = make_face();
    for (int r = 0; r < 9; r++) flat.expression.weights[r] = 1.0f / 9;
    lnlr_scene fs = scene;
    fs.faces = &flat;
    cairo_surface_t *fm = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 600, 450);
    lnlr_draw_region_map(fm, 0, 0, 1.0, &fs, LNLR_CMAP_TURBO);
    cairo_surface_flush(fm);
    CHECK(alpha(pixel(fm, 162, 222)) == 0 && alpha(pixel(fm, 126, 186)) == 0);
    cairo_surface_destroy(fm);
  }

  /* The same map at half scale into a smaller surface matches. */
  cairo_surface_t *small = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 300, 225);
  lnlr_draw_region_map(small, 0, 0, 0.5, &scene, LNLR_CMAP_GREY);
  cairo_surface_flush(small);
  CHECK(abs((int)(pixel(small, 81, 111) & 255) - (int)(centre & 255)) <= 16);
  cairo_surface_destroy(small);

  /* Legend: in a corner, clear of the face. */
  lnlr_rect lr = lnlr_legend_rect(&scene, &legend);
  CHECK(lr.x >= 0 && lr.y >= 0 && lr.x + lr.w <= 600 && lr.y + lr.h <= 450);
  CHECK(lr.w > 0 && !lnlr_rect_overlaps(lr, ext) &&
        !lnlr_rect_overlaps(lr, lnlr_face_outline(&scene, 0)));

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
  lnlr_label_text(&scene, 0, LNLR_LABELS_TOP, text, sizeof text);
  CHECK(strcmp(text, "happiness 62%") == 0);

  /* A face that is not confident: "?" and the note in its label, a dashed muted box. */
  {
    lnl_face_analysis unsure = make_face();
    unsure.confident = 0;
    lnlr_scene us = scene;
    us.faces = &unsure;
    lnlr_label_text(&us, 0, LNLR_LABELS_TOP, text, sizeof text);
    CHECK_MSG(strcmp(text, "happiness? 62%\nuncertain face") == 0, "%s", text);
    lnlr_rect sure_tag, unsure_tag;
    lnlr_label_rects(&scene, LNLR_LABELS_TOP, &sure_tag);
    lnlr_label_rects(&us, LNLR_LABELS_TOP, &unsure_tag);
    CHECK(unsure_tag.h > sure_tag.h); /* the note's line */
    cairo_surface_t *ub = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 600, 450);
    cr = cairo_create(ub);
    lnlr_draw_boxes(cr, &us, LNLR_LABELS_TOP);
    cairo_destroy(cr);
    cairo_surface_flush(ub);
    int gaps = 0, sure_gaps = 0, muted = 0;
    for (int y = 165; y < 295; y++) {
      gaps += alpha(pixel(ub, 100, y)) == 0;
      sure_gaps += alpha(pixel(boxes, 100, y)) == 0;
      uint32_t p = pixel(ub, 100, y);
      muted |= alpha(p) == 255 && abs((int)((p >> 16) & 255) - (int)lround(happy[0] * 255)) > 40;
    }
    CHECK(gaps > 10 && sure_gaps == 0 && muted);
    cairo_surface_destroy(ub);
  }

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
