/* Shared helpers of the lnlfer command-line tool. */
#ifndef LNLFER_CLI_H
#define LNLFER_CLI_H

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "lnlfer-defaults.h"
#include "lnlfer.h"

/* Exit statuses of every command (README.md, "Exit statuses"). A failure outranks a missing
 * face. */
enum {
  CLI_EXIT_OK = 0,      /* every image done, a face found (and aligned) in each */
  CLI_EXIT_FAILED = 1,  /* something failed: an image, a file named, an output */
  CLI_EXIT_USAGE = 2,   /* the command line is wrong */
  CLI_EXIT_NO_FACE = 3, /* every image done, but in some no face was found (classify: or
                           its face could not be aligned; it was classified as framed) */
};

#include "image-read.h"
#include "image-write.h"

lnl_image cli_image_view(const cli_image *img);

/* Opens --weights, else $LNLFER_WEIGHTS (when set, it must name a readable file), else the
 * first shipped weights file found; on failure prints why (or where it looked) and returns
 * NULL. */
lnl_model *cli_open_model(const char *weights_arg);

/* Same for the face detector (--detector, $LNLFER_DETECTOR). */
lnl_detector *cli_open_detector(const char *detector_arg);

/* Writes s as one CSV field (quoted when it holds a comma, quote or newline). */
void cli_csv_field(FILE *out, const char *s);

/* ---- Options shared by the commands ------------------------------------------- */

typedef enum cli_format { CLI_FORMAT_CSV, CLI_FORMAT_JSON } cli_format;

/* Which of the shared options a command takes (or-ed). */
enum {
  CLI_WEIGHTS = 1 << 0,   /* --weights FILE */
  CLI_DETECTOR = 1 << 1,  /* --detector FILE */
  CLI_DETECTION = 1 << 2, /* --threshold T, --min-size PX, --max-faces N */
  CLI_FORMAT = 1 << 3,    /* --format csv|json */
  CLI_THREADS = 1 << 4,   /* --threads N */
};

typedef struct cli_options {
  const char *weights, *detector;
  float threshold;
  int min_size, max_faces, threads;
  cli_format format;
  int first_image; /* argv index of the first image */
} cli_options;

/* A command's own option (key = the getopt_long `val` of its entry); returns 0, or 2 after
 * printing why the value is wrong. */
typedef int (*cli_option_func)(int key, const char *arg, void *data);

/* Prints the help lines of --threshold, --min-size and --max-faces, with their defaults
 * (lnlfer-defaults.h, the GIMP plug-in's too); their text starts at `column`. */
void cli_help_detection(FILE *out, int column);

/* Parses the options of `cmd` ("detect", ...): the shared ones in `accepts` and the
 * command's own (`extra`, ended by a zero entry, passed to `on_extra`), then checks that
 * at least one image follows. `o->format` holds the command's default format on entry.
 * Returns -1 when the command goes on, else its exit status: 0 after --help (printed with
 * `help`), 2 after a usage error (explained on stderr). */
int cli_parse(int argc, char **argv, const char *cmd, unsigned accepts, const struct option *extra,
              cli_option_func on_extra, void *data, void (*help)(FILE *), cli_options *o);

/* The model (CLI_WEIGHTS: with a context), the detector (CLI_DETECTOR: with its options
 * from the command line) that a command needs. */
typedef struct cli_engine {
  lnl_model *model;
  lnl_context *ctx;
  lnl_detector *detector;
  lnl_detect_options detect;
  int num_classes, num_regions;
  const char *class_keys[LNL_MAX_CLASSES];
} cli_engine;

/* Opens what `needs` asks for; 0 after printing why it failed. */
int cli_engine_open(cli_engine *e, const cli_options *o, unsigned needs);
void cli_engine_close(cli_engine *e);

/* Decodes each image of argv[first..argc) and passes it to `fn`; an image that cannot be
 * read is reported on stderr. `fn` returns CLI_EXIT_OK, CLI_EXIT_FAILED after reporting a
 * failure, or CLI_EXIT_NO_FACE. Returns the command's exit status: CLI_EXIT_FAILED when
 * any image failed, else CLI_EXIT_NO_FACE when any had no face, else CLI_EXIT_OK. */
typedef int (*cli_image_func)(const char *path, const lnl_image *img, void *data);
int cli_each_image(int argc, char **argv, int first, cli_image_func fn, void *data);

/* Says on stderr that no face was found in `path` (detect, analyze, annotate). */
void cli_note_no_face(const char *path);

/* {"file", "width", "height"}: the start of every command's JSON object for an image. */
cJSON *cli_json_image(const char *file, const lnl_image *img);

/* Prints a JSON value to stdout (formatted or on one line) and deletes it. */
void cli_print_json(cJSON *json, int formatted);

int cmd_classify(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_annotate(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
