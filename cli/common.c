#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "program-dir.h"

#define EXPRESSION_FILE "lnlfer-expression.safetensors"
#define DETECTOR_FILE "blazeface-back.safetensors"

lnl_image cli_image_view(const cli_image *img) {
  return (lnl_image){img->pixels, img->width, img->height, (size_t)img->width * 3};
}

/* "dir/file", malloc'd (no length limit). */
static char *join_path(const char *dir, const char *file) {
  size_t n = strlen(dir) + 1 + strlen(file) + 1;
  char *path = malloc(n);
  if (path) snprintf(path, n, "%s/%s", dir, file);
  return path;
}

/* The weights file to use (malloc'd): the argument; else $ENV_VAR, which, when set (and not
 * empty), must name a readable file, so that a mistyped name is an error and not another
 * file silently used; else weights/ beside the executable (in the build tree, meson links it
 * to the source tree's weights), the installed data dir. Returns NULL after printing why. */
static char *find_weights(const char *arg, const char *env_var, const char *file) {
  if (arg) return strdup(arg);
  const char *env = getenv(env_var);
  if (env && *env) {
    if (access(env, R_OK) == 0) return strdup(env);
    fprintf(stderr, "lnlfer: %s=%s: cannot read it: %s\n", env_var, env, strerror(errno));
    return NULL;
  }
  char *program_dir = cli_program_dir();
  char *beside = program_dir ? join_path(program_dir, "weights") : NULL;
  free(program_dir);
  char *candidates[] = {beside ? join_path(beside, file) : NULL, join_path(LNLFER_DATADIR, file)};
  free(beside);
  enum { N = sizeof candidates / sizeof candidates[0] };
  char *found = NULL;
  for (size_t i = 0; i < N && !found; i++)
    if (candidates[i] && access(candidates[i], R_OK) == 0) {
      found = candidates[i];
      candidates[i] = NULL;
    }
  if (!found) {
    fprintf(stderr, "lnlfer: no %s found. Looked in:\n", file);
    for (size_t i = 0; i < N; i++)
      if (candidates[i]) fprintf(stderr, "  %s\n", candidates[i]);
    fprintf(stderr, "Pass the file on the command line or set %s.\n", env_var);
  }
  for (size_t i = 0; i < N; i++) free(candidates[i]);
  return found;
}

lnl_model *cli_open_model(const char *weights_arg) {
  char *path = find_weights(weights_arg, "LNLFER_WEIGHTS", EXPRESSION_FILE);
  lnl_error err = {0};
  lnl_model *model = NULL;
  if (path && lnl_model_open(path, &model, &err) != LNL_OK)
    fprintf(stderr, "lnlfer: %s\n", err.message);
  free(path);
  return model;
}

lnl_detector *cli_open_detector(const char *detector_arg) {
  char *path = find_weights(detector_arg, "LNLFER_DETECTOR", DETECTOR_FILE);
  lnl_error err = {0};
  lnl_detector *det = NULL;
  if (path && lnl_detector_open(path, &det, &err) != LNL_OK)
    fprintf(stderr, "lnlfer: %s\n", err.message);
  free(path);
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
