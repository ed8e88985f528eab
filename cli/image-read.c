/* Photos to the engine's 8-bit RGB, with libvips: the formats below, ICC profiles, 16-bit
 * samples, CMYK, and the orientation the file says the image is shown in (EXIF in JPEG, PNG
 * and WebP; the TIFF tag), so that boxes are in the pixels of the image as viewers (and GIMP,
 * whose rotated image the plug-in gets) show it. */
#include "image-read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips.h>

/* The libvips loaders lnlfer uses (by class name) and the format's name for messages. Every
 * other loader (ImageMagick, PDF, SVG, ...) stays blocked: a face tool has no need of them. */
static const struct {
  const char *loader, *format;
} loaders[] = {
    {"VipsForeignLoadJpegSource", "JPEG"}, {"VipsForeignLoadPngSource", "PNG"},
    {"VipsForeignLoadTiffSource", "TIFF"}, {"VipsForeignLoadWebpSource", "WebP"},
    {"VipsForeignLoadNsgifSource", "GIF"}, {"VipsForeignLoadHeifSource", "HEIF"},
    {"VipsForeignLoadPpmSource", "PNM"},
};
enum { NUM_LOADERS = sizeof loaders / sizeof loaders[0] };

/* libvips' own warnings (a damaged EXIF block, ...) would reach the user as
 * "VIPS-WARNING **"; the decoder reports what matters itself. */
static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *message,
                     gpointer data) {}

static int vips_state; /* of libvips: 0 not started, 1 ready, -1 failed to start */

int cli_image_library_ready(void) {
  if (vips_state) return vips_state > 0;
  vips_state = -1;
  if (VIPS_INIT("lnlfer")) return 0;
  g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, drop_log, NULL);
  vips_cache_set_max(0); /* one pass over each file: nothing to reuse, memory to free */
  vips_operation_block_set("VipsForeignLoad", TRUE);
  for (int i = 0; i < NUM_LOADERS; i++) vips_operation_block_set(loaders[i].loader, FALSE);
  atexit(vips_shutdown);
  vips_state = 1;
  return 1;
}

/* An image with 1 (grey) or 3 (RGB) colour bands, or CMYK's 4, and maybe an alpha band after
 * them, of 8- or 16-bit samples: what convert_row takes. */
static VipsImage *to_rgb_bands(VipsImage *in) {
  VipsImage *out = NULL;
  int cmyk = in->Type == VIPS_INTERPRETATION_CMYK && in->Bands >= 4;
  int deep = in->BandFmt == VIPS_FORMAT_USHORT;
  int plain = in->Coding == VIPS_CODING_NONE && (in->BandFmt == VIPS_FORMAT_UCHAR || deep);
  if (plain && vips_image_get_typeof(in, VIPS_META_ICC_NAME)) {
    if (vips_icc_transform(in, &out, "srgb", "embedded", TRUE, "intent", VIPS_INTENT_RELATIVE,
                           "depth", deep ? 16 : 8, NULL) == 0)
      return out;
    vips_error_clear(); /* a profile lcms cannot use: read the samples as they are */
  }
  if (plain &&
      (cmyk || in->Type == VIPS_INTERPRETATION_B_W || in->Type == VIPS_INTERPRETATION_GREY16 ||
       in->Type == VIPS_INTERPRETATION_sRGB || in->Type == VIPS_INTERPRETATION_RGB16 ||
       in->Type == VIPS_INTERPRETATION_MULTIBAND)) {
    g_object_ref(in);
    return in;
  }
  /* floats, Lab, 32-bit, ...: libvips' own conversion to 8-bit sRGB */
  VipsImage *srgb = NULL;
  if (vips_colourspace(in, &srgb, VIPS_INTERPRETATION_sRGB, NULL) != 0) {
    vips_error_clear();
    srgb = in;
    g_object_ref(srgb);
  }
  if (srgb->BandFmt == VIPS_FORMAT_UCHAR || srgb->BandFmt == VIPS_FORMAT_USHORT) return srgb;
  int failed = vips_cast(srgb, &out, VIPS_FORMAT_UCHAR, NULL);
  g_object_unref(srgb);
  return failed ? NULL : out;
}

static inline unsigned sample8(const uint8_t *row, int deep, size_t i) {
  if (!deep) return row[i];
  uint16_t v;
  memcpy(&v, row + 2 * i, 2);
  return (v * 255u + 32767u) / 65535u; /* 0..65535 onto 0..255, rounded */
}

/* One row of samples to RGB: grey repeated, CMYK without a profile by the usual formula (as
 * GIMP, GdkPixbuf and PIL do without one), alpha composited over white exactly as the
 * plug-in composites the layer's alpha. */
static void convert_row(const uint8_t *row, int width, int bands, int deep, int cmyk,
                        uint8_t *rgb) {
  int colour = cmyk ? 4 : bands >= 3 ? 3 : 1;
  int alpha = bands > colour;
  for (int x = 0; x < width; x++, rgb += 3) {
    size_t i = (size_t)x * bands;
    unsigned c[3];
    if (cmyk) {
      unsigned k = 255 - sample8(row, deep, i + 3);
      for (int j = 0; j < 3; j++) c[j] = ((255 - sample8(row, deep, i + j)) * k + 127) / 255;
    } else {
      for (int j = 0; j < 3; j++) c[j] = sample8(row, deep, i + (colour == 3 ? j : 0));
    }
    unsigned a = alpha ? sample8(row, deep, i + colour) : 255;
    for (int j = 0; j < 3; j++) rgb[j] = (uint8_t)((c[j] * a + 255 * (255 - a) + 127) / 255);
  }
}

/* Puts row y of the stored image (w x h) where EXIF orientation o shows it. */
static void place_row(cli_image *out, const uint8_t *line, int y, int w, int h, int o) {
  if (o == 1) {
    memcpy(out->pixels + (size_t)y * w * 3, line, (size_t)w * 3);
    return;
  }
  for (int x = 0; x < w; x++) {
    int dx = x, dy = y;
    switch (o) {
    case 2: dx = w - 1 - x; break;                 /* mirrored */
    case 3: dx = w - 1 - x, dy = h - 1 - y; break; /* turned 180 degrees */
    case 4: dy = h - 1 - y; break;                 /* mirrored upside down */
    case 5: dx = y, dy = x; break;                 /* transposed */
    case 6: dx = h - 1 - y, dy = x; break;         /* to be turned 90 degrees clockwise */
    case 7: dx = h - 1 - y, dy = w - 1 - x; break; /* transversed */
    case 8: dx = y, dy = w - 1 - x; break;         /* to be turned 90 degrees anticlockwise */
    }
    memcpy(out->pixels + ((size_t)dy * out->width + dx) * 3, line + (size_t)x * 3, 3);
  }
}

/* Decodes the rows of `im` top to bottom (libvips streams them from the file) into img. */
static int read_rows(VipsImage *im, int orientation, cli_image *img) {
  int w = im->Xsize, h = im->Ysize, bands = im->Bands;
  int deep = im->BandFmt == VIPS_FORMAT_USHORT;
  int cmyk = im->Type == VIPS_INTERPRETATION_CMYK && bands >= 4;
  size_t row_bytes = VIPS_IMAGE_SIZEOF_LINE(im);
  /* at most 256 rows a request: libvips' bookkeeping grows with the square of the tiles one
   * request spans (a 35 x 27406 GIF asked for whole took seconds) */
  int strip = (int)VIPS_CLIP(1, (4 << 20) / (long)row_bytes, VIPS_MIN(h, 256));
  uint8_t *line = malloc((size_t)w * 3);
  VipsRegion *region = vips_region_new(im);
  int ok = line && region;
  for (int y0 = 0; ok && y0 < h; y0 += strip) {
    VipsRect r = {0, y0, w, VIPS_MIN(strip, h - y0)};
    ok = vips_region_prepare(region, &r) == 0;
    for (int y = y0; ok && y < y0 + r.height; y++) {
      convert_row((const uint8_t *)VIPS_REGION_ADDR(region, 0, y), w, bands, deep, cmyk, line);
      place_row(img, line, y, w, h, orientation);
    }
  }
  if (region) g_object_unref(region);
  free(line);
  return ok;
}

static int fail(char *why, size_t why_size, const char *fmt, const char *arg) {
  snprintf(why, why_size, fmt, arg);
  if (vips_state > 0) vips_error_clear();
  return 0;
}

static int decode_source(VipsSource *src, cli_image *img, char *why, size_t why_size) {
  memset(img, 0, sizeof *img);
  const char *loader = vips_foreign_find_load_source(src), *format = NULL;
  for (int i = 0; loader && i < NUM_LOADERS; i++)
    if (strcmp(loader, loaders[i].loader) == 0) format = loaders[i].format;
  if (!format)
    return fail(why, why_size, "not an image format lnlfer can read (it reads %s)",
                CLI_IMAGE_READ_FORMATS);
  VipsImage *in = vips_image_new_from_source(src, "", "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                             VIPS_FAIL_ON_ERROR, NULL);
  if (!in) return fail(why, why_size, "the file is truncated or damaged (%s)", format);
  int w = in->Xsize, h = in->Ysize, orientation = 1;
  if (w > CLI_IMAGE_MAX_SIDE || h > CLI_IMAGE_MAX_SIDE || (double)w * h > CLI_IMAGE_MAX_PIXELS) {
    char size[160];
    snprintf(size, sizeof size, "%d x %d pixels; lnlfer reads at most %.0f megapixels, %d a side",
             w, h, CLI_IMAGE_MAX_PIXELS / 1e6, CLI_IMAGE_MAX_SIDE);
    g_object_unref(in);
    return fail(why, why_size, "the image is too large (%s)", size);
  }
  if (vips_image_get_typeof(in, VIPS_META_ORIENTATION) &&
      vips_image_get_int(in, VIPS_META_ORIENTATION, &orientation) != 0)
    orientation = 1;
  if (orientation < 1 || orientation > 8) orientation = 1;
  VipsImage *bands = to_rgb_bands(in);
  g_object_unref(in);
  if (!bands) return fail(why, why_size, "the file is truncated or damaged (%s)", format);
  img->width = orientation >= 5 ? h : w;
  img->height = orientation >= 5 ? w : h;
  img->pixels = malloc((size_t)w * h * 3);
  if (!img->pixels) {
    g_object_unref(bands);
    char size[64];
    snprintf(size, sizeof size, "%d x %d pixels", w, h);
    return fail(why, why_size, "not enough memory to decode %s", size);
  }
  int ok = read_rows(bands, orientation, img);
  g_object_unref(bands);
  if (!ok) {
    cli_image_free(img);
    return fail(why, why_size, "the file is truncated or damaged (%s)", format);
  }
  return 1;
}

int cli_image_decode(const void *data, size_t size, cli_image *img, char *why, size_t why_size) {
  memset(img, 0, sizeof *img);
  if (!cli_image_library_ready())
    return fail(why, why_size, "%s", "cannot start the image library (libvips)");
  if (size == 0) return fail(why, why_size, "%s", "the file is empty");
  VipsSource *src = vips_source_new_from_memory(data, size);
  if (!src) return fail(why, why_size, "%s", "not enough memory");
  int ok = decode_source(src, img, why, why_size);
  g_object_unref(src);
  return ok;
}

int cli_image_load(const char *path, cli_image *img, char *why, size_t why_size) {
  memset(img, 0, sizeof *img);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    int err = fd < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : errno;
    if (fd >= 0) close(fd);
    return fail(why, why_size, "cannot open: %s", strerror(err));
  }
  int ok = 0;
  if (S_ISREG(st.st_mode) && st.st_size == 0)
    fail(why, why_size, "%s", "the file is empty");
  else if (!cli_image_library_ready())
    fail(why, why_size, "%s", "cannot start the image library (libvips)");
  else {
    VipsSource *src = vips_source_new_from_descriptor(fd);
    if (!src)
      fail(why, why_size, "%s", "not enough memory");
    else {
      ok = decode_source(src, img, why, why_size);
      g_object_unref(src);
    }
  }
  close(fd);
  return ok;
}

void cli_image_free(cli_image *img) {
  free(img->pixels);
  img->pixels = NULL;
}
