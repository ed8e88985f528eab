/* Shared helpers of the lnlfer command-line tool. */
#ifndef LNLFER_CLI_H
#define LNLFER_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "lnlfer.h"

/* An RGB image decoded from a file; free with cli_image_free. */
typedef struct cli_image {
  uint8_t *pixels;
  int width, height;
} cli_image;

int cli_image_load(const char *path, cli_image *img, char *why, size_t why_size);
void cli_image_free(cli_image *img);
lnl_image cli_image_view(const cli_image *img);

/* Opens --weights, or else the first shipped weights file found; on failure
 * prints where it looked and returns NULL. */
lnl_model *cli_open_model(const char *weights_arg);

/* Writes s as one CSV field (quoted when it holds a comma, quote or newline). */
/* Same for the face detector (--detector, $LNLFER_DETECTOR). */
lnl_detector *cli_open_detector(const char *detector_arg);

void cli_csv_field(FILE *out, const char *s);

int cmd_classify(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
