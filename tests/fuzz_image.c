/* libFuzzer target for the command-line tool's image decoder: cli_image_decode runs format
 * detection, libvips' decoder, the size bound, the colour conversion to 8-bit RGB and the
 * EXIF orientation on the input. Built with -Dfuzz=true (clang); seeds in
 * tests/fuzz-corpus/image/ (tests/make_test_images.py --seeds; upright.avif, which PIL
 * cannot write, by `vips copy upright.png upright.avif`; timeout-tall-gif-frame.gif, found by
 * this fuzzer: a 35 x 27406 frame that took 11 s when decoded in one request). The size
 * bound is lowered to 4 megapixels here so that a header claiming a huge image does not
 * time the run out. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "image-read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cli_image img;
  char why[256] = "";
  if (cli_image_decode(data, size, &img, why, sizeof why)) {
    if (!img.pixels || img.width < 1 || img.height < 1 ||
        (double)img.width * img.height > CLI_IMAGE_MAX_PIXELS)
      __builtin_trap();
    /* every pixel must have been written: read them all (MSan/ASan see them) */
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)img.width * img.height * 3; i++) sum += img.pixels[i];
    (void)sum;
    cli_image_free(&img);
  } else if (img.pixels || why[0] == '\0') {
    __builtin_trap(); /* a failure must leave no image and say why */
  }
  return 0;
}
