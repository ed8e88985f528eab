#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define EXPRESSION_FILE "lnlfer-expression.safetensors"
#define DETECTOR_FILE "blazeface-back.safetensors"

lnl_image cli_image_view(const cli_image *img) {
  return (lnl_image){img->pixels, img->width, img->height, (size_t)img->width * 3};
}

/* The weights file to use: the argument, else $ENV_VAR, the installed data dir, the
 * source tree. Returns NULL after printing where it looked. */
static const char *find_weights(const char *arg, const char *env_var, const char *file, char *buf,
                                size_t size) {
  if (arg) return arg;
  const char *env = getenv(env_var);
  char installed[1024], source[1024];
  snprintf(installed, sizeof installed, "%s/%s", LNLFER_DATADIR, file);
  snprintf(source, sizeof source, "%s/%s", LNLFER_SOURCE_WEIGHTS, file);
  const char *candidates[] = {env && *env ? env : NULL, installed, source};
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
    if (candidates[i] && access(candidates[i], R_OK) == 0) {
      snprintf(buf, size, "%s", candidates[i]);
      return buf;
    }
  }
  fprintf(stderr, "lnlfer: no %s found. Looked in:\n", file);
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
    if (candidates[i]) fprintf(stderr, "  %s\n", candidates[i]);
  fprintf(stderr, "Pass the file on the command line or set %s.\n", env_var);
  return NULL;
}

lnl_model *cli_open_model(const char *weights_arg) {
  char buf[1024];
  const char *path = find_weights(weights_arg, "LNLFER_WEIGHTS", EXPRESSION_FILE, buf, sizeof buf);
  lnl_error err = {0};
  lnl_model *model = NULL;
  if (path && lnl_model_open(path, &model, &err) != LNL_OK)
    fprintf(stderr, "lnlfer: %s\n", err.message);
  return model;
}

lnl_detector *cli_open_detector(const char *detector_arg) {
  char buf[1024];
  const char *path = find_weights(detector_arg, "LNLFER_DETECTOR", DETECTOR_FILE, buf, sizeof buf);
  lnl_error err = {0};
  lnl_detector *det = NULL;
  if (path && lnl_detector_open(path, &det, &err) != LNL_OK)
    fprintf(stderr, "lnlfer: %s\n", err.message);
  return det;
}

void cli_csv_field(FILE *out, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"') fputc('"', out);
    fputc(*s, out);
  }
  fputc('"', out);
}
