/* libFuzzer target for the alignment template parser: the text of a weights file's
 * "lnl.align" metadata (weights/align-template.json's layout) goes to
 * lnl_align_template_parse; a template that parses is used to align faces of several
 * shapes (upright, degenerate, far outside the image) into a small crop. Built with
 * -Dfuzz=true (clang); seeds in tests/fuzz-corpus/align-template/. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lnl_align.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1); /* metadata values are NUL-terminated strings */
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  lnl_align_template t;
  int ok = lnl_align_template_parse(text, &t);
  free(text);
  if (!ok) return 0;
  for (int i = 0; i < LNL_ALIGN_POINTS; i++)
    if (!(t.points[i][0] >= 0.0f && t.points[i][0] <= 1.0f && t.points[i][1] >= 0.0f &&
          t.points[i][1] <= 1.0f))
      __builtin_trap(); /* the parser promises fractions of the crop side */
  uint8_t pixels[8 * 6 * 3], crop[12 * 12 * 3];
  for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (uint8_t)(i * 29);
  lnl_image img = {pixels, 8, 6, 8 * 3};
  const float spots[][2] = {{1, 1}, {6, 1}, {3.5f, 3}, {3.5f, 5}, {0, 3}, {8, 3}};
  for (int shape = 0; shape < 3; shape++) {
    lnl_face f;
    memset(&f, 0, sizeof f);
    f.box = (lnl_rect){0, 0, 8, 6};
    f.num_landmarks = 6;
    for (int k = 0; k < 6; k++) {
      float s = shape == 2 ? 1e30f : 1.0f; /* 1: every landmark on one spot */
      f.landmarks[k][0] = shape == 1 ? 2 : spots[k][0] * s;
      f.landmarks[k][1] = shape == 1 ? 2 : spots[k][1] * s;
    }
    float m[6];
    lnl_error err;
    if (lnl_align_face(&img, &f, &t, 12, crop, m, &err) == LNL_OK)
      for (int k = 0; k < 6; k++)
        if (!isfinite(m[k])) __builtin_trap();
  }
  return 0;
}
