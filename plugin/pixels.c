/* Reading a GIMP drawable for the engine. */
#include "pixels.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

/* Rows read from GEGL at once. */
#define STRIP_BYTES (4 << 20)

/* The 8-bit sRGB pixels of `r` (drawable coordinates) at `scale`, w x h of them, written
 * with `stride`; babl converts any precision and format (grey, indexed, high bit depth).
 * Reports the rows done when `progress` is set; FALSE when it cancelled (no error set). */
static gboolean read_rgb(LnlferReader *rd, GeglBuffer *buf, const GeglRectangle *r, double scale,
                         int w, int h, guint8 *rgb, size_t stride, gboolean progress) {
  if (scale >= 1.0) scale = 1.0;
  int rows = CLAMP(STRIP_BYTES / (w * 4), 1, h);
  guint8 *rgba = g_try_malloc((gsize)w * rows * 4);
  if (!rgba) {
    g_set_error(&rd->error, GIMP_PLUG_IN_ERROR, 0, _("Not enough memory to read %d x %d pixels."),
                w, h);
    return FALSE;
  }
  const Babl *format = babl_format("R'G'B'A u8");
  int x0 = (int)floor(r->x * scale), y0 = (int)floor(r->y * scale);
  for (int y = 0; y < h; y += rows) {
    int n = MIN(rows, h - y);
    if (progress && rd->progress && !rd->progress((double)y / h, rd->progress_data)) {
      g_free(rgba);
      return FALSE;
    }
    gegl_buffer_get(buf, GEGL_RECTANGLE(x0, y0 + y, w, n), scale, format, rgba, w * 4,
                    GEGL_ABYSS_CLAMP);
    for (int row = 0; row < n; row++) {
      const guint8 *src = rgba + (gsize)row * w * 4;
      guint8 *dst = rgb + (gsize)(y + row) * stride;
      for (int i = 0; i < w; i++) {
        unsigned a = src[4 * i + 3];
        for (int c = 0; c < 3; c++)
          dst[3 * i + c] = (guint8)((src[4 * i + c] * a + 255 * (255 - a) + 127) / 255);
      }
    }
  }
  g_free(rgba);
  return TRUE;
}

/* The whole area downscaled: GIMP itself scales a copy of the area down, in a temporary
 * image (its copy of the layer shares the layer's tiles until they change), with its own
 * threads and mipmaps; far faster than fetching every tile of a huge layer into this
 * process. -1 when GIMP could not (the caller then reads through GEGL), 0 when cancelled or
 * failed (rd->error set when failed), 1 when read. */
static int read_downscaled_by_gimp(LnlferReader *rd, const GeglRectangle *r, int w, int h,
                                   guint8 *rgb, size_t stride) {
  GimpImage *source = gimp_item_get_image(GIMP_ITEM(rd->drawable));
  GimpImage *tmp = gimp_image_new_with_precision(r->width, r->height, GIMP_RGB,
                                                 gimp_image_get_precision(source));
  if (!tmp) return -1;
  gimp_image_undo_disable(tmp);
  GimpLayer *layer = gimp_layer_new_from_drawable(rd->drawable, tmp);
  gboolean ok = layer && gimp_image_insert_layer(tmp, layer, NULL, 0) &&
                gimp_layer_set_offsets(layer, 0, 0) &&
                gimp_layer_resize(layer, r->width, r->height, -r->x, -r->y);
  if (ok) {
    gimp_context_push();
    gimp_context_set_interpolation(GIMP_INTERPOLATION_LINEAR);
    ok = gimp_layer_scale(layer, w, h, FALSE) &&
         gimp_drawable_get_width(GIMP_DRAWABLE(layer)) == w &&
         gimp_drawable_get_height(GIMP_DRAWABLE(layer)) == h;
    gimp_context_pop();
  }
  int result = -1;
  if (ok) {
    GeglBuffer *small = gimp_drawable_get_buffer(GIMP_DRAWABLE(layer));
    result = read_rgb(rd, small, GEGL_RECTANGLE(0, 0, w, h), 1.0, w, h, rgb, stride, TRUE);
    g_object_unref(small);
  }
  gimp_image_delete(tmp);
  return result;
}

static lnl_status read_area(void *user, int x, int y, int w, int h, double scale, uint8_t *rgb,
                            size_t stride) {
  LnlferReader *rd = user;
  g_clear_error(&rd->error);
  GeglRectangle r = {rd->area.x + x, rd->area.y + y, w, h};
  int ow = lnl_scaled_side(w, scale), oh = lnl_scaled_side(h, scale);
  gboolean whole = x == 0 && y == 0 && w == rd->area.width && h == rd->area.height;
  int done = whole && scale < 1.0 ? read_downscaled_by_gimp(rd, &r, ow, oh, rgb, stride) : -1;
  if (done < 0) done = read_rgb(rd, rd->buffer, &r, scale, ow, oh, rgb, stride, whole);
  if (done) return LNL_OK;
  return rd->error ? LNL_ERR_MEMORY : LNL_ERR_CANCELLED;
}

/* Keeps the faces whose centre is selected (for selections that are not rectangles). */
static int face_selected(void *user, const lnl_face *f) {
  const LnlferReader *rd = user;
  int x = (int)(rd->image_x + f->box.x + f->box.w / 2);
  int y = (int)(rd->image_y + f->box.y + f->box.h / 2);
  return gimp_selection_value(rd->image, x, y) >= 128;
}

void lnlfer_reader_init(LnlferReader *rd, GimpDrawable *drawable, const GeglRectangle *area,
                        int image_x, int image_y, lnl_source *source) {
  GimpImage *image = gimp_item_get_image(GIMP_ITEM(drawable));
  memset(rd, 0, sizeof *rd);
  rd->drawable = drawable;
  rd->buffer = gimp_drawable_get_buffer(drawable);
  rd->area = *area;
  rd->image_x = image_x;
  rd->image_y = image_y;
  rd->image = gimp_selection_is_empty(image) ? NULL : image;
  *source =
      (lnl_source){rd, area->width, area->height, read_area, rd->image ? face_selected : NULL};
}

void lnlfer_reader_clear(LnlferReader *rd) {
  g_clear_object(&rd->buffer);
  g_clear_error(&rd->error);
}
