/* Reading photos for the command-line tool: decoding with libvips, the EXIF/TIFF orientation
 * applied, and conversion to the engine's 8-bit sRGB. */
#ifndef LNLFER_CLI_IMAGE_READ_H
#define LNLFER_CLI_IMAGE_READ_H

#include <stddef.h>
#include <stdint.h>

/* The largest image read: 250 megapixels (750 MB of RGB) and 65,535 pixels a side, checked
 * from the file's header before any pixel is decoded. */
#ifndef CLI_IMAGE_MAX_PIXELS
#define CLI_IMAGE_MAX_PIXELS 250000000.0
#endif
#define CLI_IMAGE_MAX_SIDE 65535

/* An image as the engine takes it: 8-bit RGB, rows of width * 3 bytes, in the orientation
 * the file says it is to be shown in. Free with cli_image_free. */
typedef struct cli_image {
  uint8_t *pixels;
  int width, height;
} cli_image;

/* Decodes the file at `path`. On failure returns 0 and writes into `why` what is wrong with
 * the file, in words for a user ("cannot open: No such file or directory", "the file is
 * truncated or damaged (JPEG)", "not an image format lnlfer can read", ...). */
int cli_image_load(const char *path, cli_image *img, char *why, size_t why_size);

/* The same for a file's bytes in memory (the fuzzing target's entry point). */
int cli_image_decode(const void *data, size_t size, cli_image *img, char *why, size_t why_size);

void cli_image_free(cli_image *img);

/* Starts libvips (once; the writer uses it too); 0 when it cannot start. */
int cli_image_library_ready(void);

/* The formats cli_image_load reads, for messages and --help. */
#define CLI_IMAGE_READ_FORMATS "JPEG, PNG, TIFF, WebP, GIF, HEIF/AVIF and PNM"

#endif
