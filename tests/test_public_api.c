/* A client of the public header alone (built with engine_dep, which reaches no internal
 * header): the usage example at the top of engine/include/lnlfer.h, run on a photo, and
 * the version query.
 * usage: test_public_api EXPRESSION_WEIGHTS BLAZEFACE PHOTO VERSION */
#include <stb_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lnlfer.h"

/* The header's example, with the file names and the photo as arguments; returns the
 * number of faces printed, -1 on an error. */
static int example(const char *weights, const char *detector, const uint8_t *rgb, int width,
                   int height) {
  lnl_error err = {0};
  lnl_model *model = NULL;
  lnl_detector *det = NULL;
  lnl_context *ctx = NULL;
  lnl_face_analysis *faces = NULL;
  int count = 0;
  if (lnl_model_open(weights, &model, &err) == LNL_OK &&
      lnl_detector_open(detector, &det, &err) == LNL_OK &&
      lnl_context_new(model, 2, &ctx, &err) == LNL_OK) {
    lnl_image photo = {rgb, width, height, 3 * (size_t)width};
    lnl_detect_options opt;
    lnl_detect_options_init(det, &opt);
    if (lnl_analyze(ctx, det, &photo, &opt, &faces, &count, &err) == LNL_OK)
      for (int i = 0; i < count; i++)
        printf("face at %.0f,%.0f: %s\n", faces[i].face.box.x, faces[i].face.box.y,
               lnl_model_class_name(model, faces[i].expression.label));
  }
  if (err.code != LNL_OK) fprintf(stderr, "lnlfer: %s\n", err.message);
  free(faces);
  lnl_context_free(ctx);
  lnl_detector_close(det);
  lnl_model_close(model);
  return err.code != LNL_OK ? -1 : count;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: test_public_api EXPRESSION_WEIGHTS BLAZEFACE PHOTO VERSION\n");
    return 2;
  }
  int w = 0, h = 0, n = 0;
  uint8_t *rgb = stbi_load(argv[3], &w, &h, &n, 3);
  CHECK_MSG(rgb != NULL, "cannot read %s", argv[3]);
  if (rgb) {
    int faces = example(argv[1], argv[2], rgb, w, h);
    CHECK_MSG(faces >= 1, "the example found %d faces", faces);
    CHECK_MSG(example("no-such-file.safetensors", argv[2], rgb, w, h) == -1,
              "a missing weights file is reported");
  }
  stbi_image_free(rgb);
  CHECK_MSG(strcmp(lnl_version(), argv[4]) == 0, "lnl_version() is '%s', the project '%s'",
            lnl_version(), argv[4]);
  printf("test_public_api: lnlfer %s, %d failed checks\n", lnl_version(), check_failures);
  return check_failures != 0;
}
