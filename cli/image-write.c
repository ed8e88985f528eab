/* Output files: refused over an input, written through a temporary file and renamed. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "image-write.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips.h>

#include "image-read.h"

cli_out_format cli_out_format_of(const char *path) {
  static const struct {
    const char *ext;
    cli_out_format format;
  } exts[] = {{".png", CLI_OUT_PNG},  {".jpg", CLI_OUT_JPEG},  {".jpeg", CLI_OUT_JPEG},
              {".tif", CLI_OUT_TIFF}, {".tiff", CLI_OUT_TIFF}, {".webp", CLI_OUT_WEBP}};
  if (strcmp(path, "-") == 0) return CLI_OUT_PNG;
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  const char *dot = strrchr(base, '.');
  for (size_t i = 0; dot && i < sizeof exts / sizeof exts[0]; i++)
    if (strcasecmp(dot, exts[i].ext) == 0) return exts[i].format;
  return CLI_OUT_UNKNOWN;
}

/* The folder part of a path ("." for none) into buf. */
static void folder_of(const char *path, char *buf, size_t size) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(buf, size, ".");
  else if (slash == path)
    snprintf(buf, size, "/");
  else
    snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

/* A file's absolute name, its links resolved (for a file not there yet: its folder's), so
 * that "out.png", "./out.png" and "dir/../out.png" compare equal. */
static void canonical_name(const char *path, char *buf, size_t size) {
  char folder[PATH_MAX], real[PATH_MAX];
  if (strcmp(path, "-") != 0 && realpath(path, real)) {
    snprintf(buf, size, "%s", real);
    return;
  }
  folder_of(path, folder, sizeof folder);
  const char *slash = strrchr(path, '/');
  if (strcmp(path, "-") != 0 && realpath(folder, real))
    snprintf(buf, size, "%s/%s", real, slash ? slash + 1 : path);
  else
    snprintf(buf, size, "%s", path);
}

int cli_output_check(const char *path, const cli_named_file *others, int n, char *why,
                     size_t why_size) {
  char name[2 * PATH_MAX], other[2 * PATH_MAX];
  struct stat st, ost;
  int exists = strcmp(path, "-") != 0 && stat(path, &st) == 0;
  canonical_name(path, name, sizeof name);
  for (int i = 0; i < n; i++) {
    if (!others[i].path) continue;
    canonical_name(others[i].path, other, sizeof other);
    int same = strcmp(name, other) == 0;
    if (!same && exists && strcmp(others[i].path, "-") != 0 && stat(others[i].path, &ost) == 0)
      same = st.st_dev == ost.st_dev && st.st_ino == ost.st_ino;
    if (same) {
      snprintf(why, why_size, "it is %s (%s)", others[i].role, others[i].path);
      return 0;
    }
  }
  return 1;
}

typedef int (*write_func)(int fd, const void *data, char *why, size_t why_size);

/* Runs `emit` on the file `path` will be: standard output for "-"; a temporary file beside
 * the target (the target of a link), renamed over it once complete; a device or pipe as it
 * is (there is nothing to rename over). */
static int write_safely(const char *path, write_func emit, const void *data, char *why,
                        size_t why_size) {
  if (strcmp(path, "-") == 0) return emit(STDOUT_FILENO, data, why, why_size);
  char target[PATH_MAX], folder[PATH_MAX], tmp[PATH_MAX + 256];
  struct stat st;
  int exists = stat(path, &st) == 0;
  if (!exists && lstat(path, &st) == 0) {
    snprintf(why, why_size, "cannot write: it is a symbolic link to a missing file");
    return 0;
  }
  if (exists && S_ISDIR(st.st_mode)) {
    snprintf(why, why_size, "cannot write: %s", strerror(EISDIR));
    return 0;
  }
  if (exists && !S_ISREG(st.st_mode)) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      snprintf(why, why_size, "cannot write: %s", strerror(errno));
      return 0;
    }
    int ok = emit(fd, data, why, why_size);
    if (close(fd) != 0 && ok) {
      snprintf(why, why_size, "cannot write: %s", strerror(errno));
      ok = 0;
    }
    return ok;
  }
  if (!exists || !realpath(path, target)) snprintf(target, sizeof target, "%s", path);
  folder_of(target, folder, sizeof folder);
  const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
  int fd = -1;
  if (snprintf(tmp, sizeof tmp, "%s/.%.200s.XXXXXX", folder, base) < (int)sizeof tmp)
    fd = mkstemp(tmp);
  else
    errno = ENAMETOOLONG;
  if (fd < 0) {
    snprintf(why, why_size, "cannot write: %s", strerror(errno));
    return 0;
  }
  mode_t mask = umask(0);
  umask(mask);
  int ok = fchmod(fd, exists ? st.st_mode & 07777 : 0666 & ~mask) == 0 || errno == EPERM;
  ok = ok && emit(fd, data, why, why_size);
  if (ok && (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, target) != 0)) {
    snprintf(why, why_size, "cannot write: %s", strerror(errno));
    ok = 0;
  } else if (!ok) {
    close(fd);
  }
  if (!ok) unlink(tmp);
  return ok;
}

typedef struct pixels {
  const uint8_t *rgb;
  int width, height;
  size_t stride;
  cli_out_format format;
} pixels;

static int write_image(int fd, const void *data, char *why, size_t why_size) {
  const pixels *p = data;
  size_t row = (size_t)p->width * 3;
  uint8_t *packed = NULL;
  const uint8_t *rgb = p->rgb;
  if (p->stride != row) {
    packed = malloc(row * p->height);
    if (!packed) {
      snprintf(why, why_size, "cannot write: not enough memory");
      return 0;
    }
    for (int y = 0; y < p->height; y++) memcpy(packed + y * row, p->rgb + y * p->stride, row);
    rgb = packed;
  }
  VipsImage *im = cli_image_library_ready()
                      ? vips_image_new_from_memory(rgb, row * p->height, p->width, p->height, 3,
                                                   VIPS_FORMAT_UCHAR)
                      : NULL;
  VipsTarget *target = im ? vips_target_new_to_descriptor(fd) : NULL;
  int failed = !target;
  if (target) {
    switch (p->format) {
    case CLI_OUT_JPEG: failed = vips_jpegsave_target(im, target, "Q", 92, NULL); break;
    case CLI_OUT_TIFF:
      failed = vips_tiffsave_target(im, target, "compression",
                                    VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE, NULL);
      break;
    case CLI_OUT_WEBP: failed = vips_webpsave_target(im, target, "Q", 90, NULL); break;
    default: failed = vips_pngsave_target(im, target, NULL); break;
    }
    g_object_unref(target);
  }
  if (im) g_object_unref(im);
  free(packed);
  if (failed) {
    /* libvips' first line says why ("webp: image too large", "write failed: No space ...") */
    const char *msg = cli_image_library_ready() ? vips_error_buffer() : "";
    snprintf(why, why_size, "cannot write: %.*s", (int)strcspn(msg, "\n"),
             *msg ? msg : "the image library failed");
    if (cli_image_library_ready()) vips_error_clear();
  }
  return !failed;
}

typedef struct bytes {
  const void *data;
  size_t size;
} bytes;

static int write_bytes(int fd, const void *data, char *why, size_t why_size) {
  const bytes *b = data;
  const char *p = b->data;
  for (size_t left = b->size; left > 0;) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      snprintf(why, why_size, "cannot write: %s", strerror(n < 0 ? errno : EIO));
      return 0;
    }
    p += n, left -= (size_t)n;
  }
  return 1;
}

int cli_image_write(const char *path, const uint8_t *rgb, int width, int height, size_t stride,
                    char *why, size_t why_size) {
  pixels p = {rgb, width, height, stride, cli_out_format_of(path)};
  if (p.format == CLI_OUT_UNKNOWN) {
    snprintf(why, why_size, "cannot write: unknown image format (the name must end in %s)",
             CLI_OUT_FORMATS);
    return 0;
  }
  if (strcmp(path, "-") == 0 && isatty(STDOUT_FILENO)) {
    snprintf(why, why_size, "not writing image data to a terminal");
    return 0;
  }
  return write_safely(path, write_image, &p, why, why_size);
}

int cli_file_write(const char *path, const void *data, size_t size, char *why, size_t why_size) {
  bytes b = {data, size};
  return write_safely(path, write_bytes, &b, why, why_size);
}
