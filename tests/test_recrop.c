/* Re-cutting an already-cut face (lnl_align_face_crop): a face found in its crop is aligned;
 * a crop without a face is cut along the framing assumed for a crop, which is the crop as it
 * is for weights aligned to the mix template and a little tighter for the shipped weights
 * (aligned to the tighter RAF-DB framing).
 * usage: test_recrop BLAZEFACE SHIPPED_WEIGHTS MIX_TEMPLATE_WEIGHTS FACE_PNG */
#include <stb_image.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lnlfer.h"

/* A 100x100 white crop with a black frame 2 px wide: no face in it. */
static uint8_t *framed_crop(int side) {
  uint8_t *px = malloc((size_t)side * side * 3);
  if (!px) abort();
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++) {
      int frame = x < 2 || y < 2 || x >= side - 2 || y >= side - 2;
      memset(px + ((size_t)y * side + x) * 3, frame ? 0 : 255, 3);
    }
  return px;
}

static void recut(const lnl_model *model, const lnl_detector *det, const lnl_image *crop,
                  int want_found, int corner_white, const char *what) {
  uint8_t *rgb = NULL;
  int side = 0, found = -1;
  lnl_error err = {0};
  CHECK_MSG(lnl_align_face_crop(model, det, crop, &rgb, &side, &found, &err) == LNL_OK, "%s: %s",
            what, err.message);
  CHECK_MSG(found == want_found, "%s: found %d", what, found);
  CHECK_MSG(side == (crop->width > crop->height ? crop->width : crop->height), "%s: side %d", what,
            side);
  if (rgb && corner_white >= 0)
    CHECK_MSG((rgb[0] > 200) == corner_white, "%s: top-left pixel %d", what, rgb[0]);
  free(rgb);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s BLAZEFACE SHIPPED_WEIGHTS MIX_TEMPLATE_WEIGHTS FACE_PNG\n", argv[0]);
    return 2;
  }
  lnl_detector *det = NULL;
  lnl_model *shipped = NULL, *mix = NULL;
  lnl_error err = {0};
  if (lnl_detector_open(argv[1], &det, &err) || lnl_model_open(argv[2], &shipped, &err) ||
      lnl_model_open(argv[3], &mix, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  uint8_t *frame = framed_crop(100);
  lnl_image crop = {frame, 100, 100, 300};
  /* no face: the mix template keeps the crop as it is (the black corner), the shipped
   * weights' tighter template cuts inside the frame */
  recut(mix, det, &crop, 0, 0, "framed crop, mix template");
  recut(shipped, det, &crop, 0, 1, "framed crop, shipped template");
  int w, h, ch;
  uint8_t *face = stbi_load(argv[4], &w, &h, &ch, 3);
  CHECK(face != NULL);
  if (face) {
    lnl_image img = {face, w, h, (size_t)w * 3};
    recut(shipped, det, &img, 1, -1, "face crop");
    stbi_image_free(face);
  }
  uint8_t *rgb = NULL;
  int side = 0, found = 0;
  CHECK(lnl_align_face_crop(NULL, det, &crop, &rgb, &side, &found, &err) == LNL_ERR_ARGUMENT);
  lnl_image empty = {frame, 0, 0, 0};
  CHECK(lnl_align_face_crop(shipped, det, &empty, &rgb, &side, &found, &err) != LNL_OK && !rgb);
  free(frame);
  lnl_model_close(mix);
  lnl_model_close(shipped);
  lnl_detector_close(det);
  printf("%s\n", check_failures ? "FAILED" : "recrop OK");
  return check_failures ? 1 : 0;
}
