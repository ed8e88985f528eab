/* The measurement behind the CLI's choice of image library (BENCHMARKS.md, "Image
 * decoding library"): decodes one file to upright 8-bit RGB with libvips, GdkPixbuf or GEGL
 * (chosen when compiling: -DUSE_VIPS, -DUSE_PIXBUF, -DUSE_GEGL) and prints its size, a
 * checksum of the pixels and the decoding time; tools/bench/image_libs.sh builds the three
 * and runs them under /usr/bin/time for the peak memory. Optional second argument: a PPM
 * file to write the pixels to (to compare the libraries' output). Not part of the build. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(USE_VIPS)
#include <vips/vips.h>
#elif defined(USE_PIXBUF)
#include <gdk-pixbuf/gdk-pixbuf.h>
#elif defined(USE_GEGL)
#include <gegl.h>
#endif

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#if defined(USE_VIPS)
/* As the CLI does it (cli/image-read.c, without its colour handling): strips of rows
 * streamed from the file, each pixel put where the EXIF orientation shows it. */
static uint8_t *decode(const char *path, int *width, int *height) {
  if (VIPS_INIT("image_libs")) return NULL;
  VipsImage *in = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
  VipsImage *c = NULL, *u = NULL;
  if (!in || vips_colourspace(in, &c, VIPS_INTERPRETATION_sRGB, NULL) ||
      vips_cast(c, &u, VIPS_FORMAT_UCHAR, NULL)) {
    fprintf(stderr, "%s\n", vips_error_buffer());
    return NULL;
  }
  int o = vips_image_get_orientation(in), w = u->Xsize, h = u->Ysize, bands = u->Bands;
  int ow = o >= 5 ? h : w, oh = o >= 5 ? w : h;
  uint8_t *rgb = malloc((size_t)ow * oh * 3);
  VipsRegion *reg = vips_region_new(u);
  for (int y0 = 0; rgb && y0 < h; y0 += 64) {
    VipsRect r = {0, y0, w, y0 + 64 > h ? h - y0 : 64};
    if (vips_region_prepare(reg, &r)) {
      fprintf(stderr, "%s\n", vips_error_buffer());
      return NULL;
    }
    for (int y = y0; y < y0 + r.height; y++) {
      const uint8_t *src = (const uint8_t *)VIPS_REGION_ADDR(reg, 0, y);
      for (int x = 0; x < w; x++) {
        int dx = x, dy = y;
        switch (o) {
        case 2: dx = w - 1 - x; break;
        case 3: dx = w - 1 - x, dy = h - 1 - y; break;
        case 4: dy = h - 1 - y; break;
        case 5: dx = y, dy = x; break;
        case 6: dx = h - 1 - y, dy = x; break;
        case 7: dx = h - 1 - y, dy = w - 1 - x; break;
        case 8: dx = y, dy = w - 1 - x; break;
        }
        memcpy(rgb + ((size_t)dy * ow + dx) * 3, src + (size_t)x * bands, 3);
      }
    }
  }
  g_object_unref(reg);
  g_object_unref(u);
  g_object_unref(c);
  g_object_unref(in);
  *width = ow, *height = oh;
  return rgb;
}
#elif defined(USE_PIXBUF)
/* The whole file into a pixbuf, turned by a second one, copied to packed RGB. */
static uint8_t *decode(const char *path, int *width, int *height) {
  GError *err = NULL;
  GdkPixbuf *p = gdk_pixbuf_new_from_file(path, &err);
  if (!p) {
    fprintf(stderr, "%s\n", err->message);
    return NULL;
  }
  GdkPixbuf *r = gdk_pixbuf_apply_embedded_orientation(p);
  g_object_unref(p);
  int w = gdk_pixbuf_get_width(r), h = gdk_pixbuf_get_height(r);
  int nc = gdk_pixbuf_get_n_channels(r), stride = gdk_pixbuf_get_rowstride(r);
  const uint8_t *px = gdk_pixbuf_read_pixels(r);
  uint8_t *rgb = malloc((size_t)w * h * 3);
  for (int y = 0; rgb && y < h; y++)
    for (int x = 0; x < w; x++)
      memcpy(rgb + ((size_t)y * w + x) * 3, px + (size_t)y * stride + (size_t)x * nc, 3);
  g_object_unref(r);
  *width = w, *height = h;
  return rgb;
}
#elif defined(USE_GEGL)
/* gegl:load blitted as R'G'B' u8 (GEGL has no EXIF orientation of its own: GIMP applies it). */
static uint8_t *decode(const char *path, int *width, int *height) {
  gegl_init(NULL, NULL);
  GeglNode *g = gegl_node_new();
  GeglNode *load = gegl_node_new_child(g, "operation", "gegl:load", "path", path, NULL);
  GeglRectangle b = gegl_node_get_bounding_box(load);
  if (b.width <= 0) return NULL;
  uint8_t *rgb = malloc((size_t)b.width * b.height * 3);
  if (rgb)
    gegl_node_blit(load, 1.0, &b, babl_format("R'G'B' u8"), rgb, b.width * 3, GEGL_BLIT_DEFAULT);
  g_object_unref(g);
  *width = b.width, *height = b.height;
  return rgb;
}
#endif

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s IMAGE [OUT.ppm]\n", argv[0]);
    return 2;
  }
  int w = 0, h = 0;
  double t0 = now();
  uint8_t *rgb = decode(argv[1], &w, &h);
  double t1 = now();
  if (!rgb) return 1;
  uint64_t sum = 0;
  for (size_t i = 0; i < (size_t)w * h * 3; i++) sum = sum * 31 + rgb[i];
  printf("%dx%d checksum %016llx decoded in %.3f s\n", w, h, (unsigned long long)sum, t1 - t0);
  if (argc > 2) {
    FILE *f = fopen(argv[2], "wb");
    if (!f) return 1;
    fprintf(f, "P6\n%d %d\n255\n", w, h);
    fwrite(rgb, 1, (size_t)w * h * 3, f);
    fclose(f);
  }
  free(rgb);
  return 0;
}
