/* Writing the command-line tool's output files safely: never over one of its inputs or
 * another of its outputs, never a half-written file (a temporary file in the same folder,
 * renamed over the target once complete), the image format chosen by the file name. */
#ifndef LNLFER_CLI_IMAGE_WRITE_H
#define LNLFER_CLI_IMAGE_WRITE_H

#include <stddef.h>
#include <stdint.h>

typedef enum cli_out_format {
  CLI_OUT_UNKNOWN = -1,
  CLI_OUT_PNG,  /* .png, and "-" (standard output) */
  CLI_OUT_JPEG, /* .jpg, .jpeg (quality 92) */
  CLI_OUT_TIFF, /* .tif, .tiff (deflate-compressed) */
  CLI_OUT_WEBP, /* .webp (quality 90) */
} cli_out_format;

/* The format of an output file from its extension (case-insensitive). */
cli_out_format cli_out_format_of(const char *path);

/* For messages: the extensions cli_out_format_of knows. */
#define CLI_OUT_FORMATS ".png, .jpg, .jpeg, .tif, .tiff or .webp (or - for PNG on standard output)"

/* A file the command reads or writes, and what it is, for messages ("the input image"). */
typedef struct cli_named_file {
  const char *path, *role;
} cli_named_file;

/* Whether `path` may be written: not when it names, or reaches through a symbolic or hard
 * link, the same file as one of `others` (entries with a NULL path are skipped). On refusal
 * returns 0 with the reason in `why` ("it is the input image (photo.jpg)"). */
int cli_output_check(const char *path, const cli_named_file *others, int n, char *why,
                     size_t why_size);

/* Writes 8-bit RGB pixels (rows `stride` bytes apart) to `path` in the format of its
 * extension, "-" as PNG to standard output. A regular file (or a missing one) is written
 * through a temporary file in its folder that replaces it only once complete; a link is
 * followed (the file it points to is replaced; the link stays). Returns 0 with the reason in
 * `why` on failure, leaving any existing file untouched. */
int cli_image_write(const char *path, const uint8_t *rgb, int width, int height, size_t stride,
                    char *why, size_t why_size);

/* The same for bytes (a JSON file); "-" is standard output. */
int cli_file_write(const char *path, const void *data, size_t size, char *why, size_t why_size);

#endif
