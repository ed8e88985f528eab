/* libFuzzer target for the detector loader: lnl_detector_open_memory runs the safetensors
 * parser, the lnl.detector settings, the program's parser and its shape validation on the
 * input; a program that opens and is small enough is then run on a tiny image (every op
 * once, the heads decoded at a threshold of 0), so that any shape the validation lets
 * through and the run mishandles shows. Built with -Dfuzz=true (clang); seeds in
 * tests/fuzz-corpus/detector/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lnlfer.h"

#define RUN_MAX_MACS 20000000ull /* keep each input fast */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lnl_detector *det = NULL;
  lnl_error err;
  if (lnl_detector_open_memory(data, size, &det, &err) != LNL_OK) {
    if (det != NULL || err.message[0] == '\0') __builtin_trap(); /* must say why, leave nothing */
    return 0;
  }
  (void)lnl_detector_metadata(det, "lnl.detector");
  if (lnl_detector_macs(det) <= RUN_MAX_MACS) {
    uint8_t pixels[24 * 16 * 3];
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (uint8_t)(i * 37);
    lnl_image img = {pixels, 24, 16, 24 * 3};
    lnl_detect_options opt;
    lnl_detect_options_init(det, &opt);
    opt.score_threshold = 0.0f;
    opt.max_side = 32; /* one pass, no tiles */
    lnl_face *faces = NULL;
    int n = 0;
    if (lnl_detect(det, &img, &opt, &faces, &n, &err) == LNL_OK) {
      for (int i = 0; i < n; i++)
        if (!(faces[i].box.w == faces[i].box.w) || !(faces[i].score >= 0.0f)) __builtin_trap();
      free(faces);
    }
  }
  lnl_detector_close(det);
  return 0;
}
