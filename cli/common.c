#include <stb_image.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define WEIGHTS_FILE "lnlfer-expression.safetensors"

int cli_image_load(const char *path, cli_image *img, char *why, size_t why_size) {
  int channels;
  img->pixels = stbi_load(path, &img->width, &img->height, &channels, 3);
  if (!img->pixels) {
    snprintf(why, why_size, "%s", stbi_failure_reason());
    return 0;
  }
  return 1;
}

void cli_image_free(cli_image *img) {
  stbi_image_free(img->pixels);
  img->pixels = NULL;
}

lnl_image cli_image_view(const cli_image *img) {
  return (lnl_image){img->pixels, img->width, img->height, (size_t)img->width * 3};
}

lnl_model *cli_open_model(const char *weights_arg) {
  lnl_error err = {0};
  lnl_model *model = NULL;
  if (weights_arg) {
    if (lnl_model_open(weights_arg, &model, &err) != LNL_OK) {
      fprintf(stderr, "lnlfer: %s\n", err.message);
      return NULL;
    }
    return model;
  }
  /* $LNLFER_WEIGHTS, then the installed data dir, then the source tree */
  const char *env = getenv("LNLFER_WEIGHTS");
  const char *candidates[] = {env && *env ? env : NULL, LNLFER_DATADIR "/" WEIGHTS_FILE,
                              LNLFER_SOURCE_WEIGHTS "/" WEIGHTS_FILE};
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
    if (!candidates[i] || access(candidates[i], R_OK) != 0) continue;
    if (lnl_model_open(candidates[i], &model, &err) != LNL_OK) {
      fprintf(stderr, "lnlfer: %s\n", err.message);
      return NULL;
    }
    return model;
  }
  fprintf(stderr, "lnlfer: no weights file found. Looked in:\n");
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
    if (candidates[i]) fprintf(stderr, "  %s\n", candidates[i]);
  fprintf(stderr, "Pass --weights FILE or set LNLFER_WEIGHTS.\n");
  return NULL;
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
