/* Options, engine set-up and the image loop shared by the commands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_OPTIONS 32

static const struct option shared[] = {
    {"weights", required_argument, NULL, 'w'},   {"detector", required_argument, NULL, 'd'},
    {"threshold", required_argument, NULL, 'T'}, {"min-size", required_argument, NULL, 'm'},
    {"max-faces", required_argument, NULL, 'n'}, {"format", required_argument, NULL, 'f'},
    {"threads", required_argument, NULL, 't'},
};
static const unsigned shared_group[] = {CLI_WEIGHTS,   CLI_DETECTOR, CLI_DETECTION, CLI_DETECTION,
                                        CLI_DETECTION, CLI_FORMAT,   CLI_THREADS};

/* A whole decimal number in [lo, hi]. */
static int parse_int(const char *s, long lo, long hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return 0;
  *out = (int)v;
  return 1;
}

static int shared_option(int key, const char *arg, const char *cmd, cli_options *o) {
  char *end;
  switch (key) {
  case 'w': o->weights = arg; return 0;
  case 'd': o->detector = arg; return 0;
  case 'T':
    o->threshold = strtof(arg, &end);
    if (end != arg && !*end && o->threshold >= 0.0f && o->threshold <= 1.0f) return 0;
    fprintf(stderr, "lnlfer %s: --threshold must be between 0 and 1\n", cmd);
    return 2;
  case 'm':
    if (parse_int(arg, 0, 1000000, &o->min_size)) return 0;
    fprintf(stderr, "lnlfer %s: --min-size must be a number of pixels (0 or more)\n", cmd);
    return 2;
  case 'n':
    if (parse_int(arg, 0, 1000000, &o->max_faces)) return 0;
    fprintf(stderr, "lnlfer %s: --max-faces must be 0 (no limit) or more\n", cmd);
    return 2;
  case 'f':
    if (strcmp(arg, "csv") == 0)
      o->format = CLI_FORMAT_CSV;
    else if (strcmp(arg, "json") == 0)
      o->format = CLI_FORMAT_JSON;
    else {
      fprintf(stderr, "lnlfer %s: --format must be csv or json, not '%s'\n", cmd, arg);
      return 2;
    }
    return 0;
  case 't':
    if (parse_int(arg, 1, 64, &o->threads)) return 0;
    fprintf(stderr, "lnlfer %s: --threads must be between 1 and 64\n", cmd);
    return 2;
  default: return 2;
  }
}

void cli_help_detection(FILE *out, int column) {
  fprintf(out, "  %-*sminimum detector confidence, 0..1 (default %s)\n", column - 2,
          "--threshold T", LNLFER_STR(LNLFER_DEFAULT_THRESHOLD));
  fprintf(out, "  %-*signore faces narrower than PX pixels (default %d)\n", column - 2,
          "--min-size PX", LNLFER_DEFAULT_MIN_FACE_SIZE);
  fprintf(out, "  %-*skeep the N most confident faces, 0: all (default %d)\n", column - 2,
          "--max-faces N", LNLFER_DEFAULT_MAX_FACES);
}

int cli_parse(int argc, char **argv, const char *cmd, unsigned accepts, const struct option *extra,
              cli_option_func on_extra, void *data, void (*help)(FILE *), cli_options *o) {
  struct option table[MAX_OPTIONS];
  char shorts[2 * MAX_OPTIONS + 1];
  size_t n = 0, ns = 0;
  for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
    if (accepts & shared_group[i]) table[n++] = shared[i];
  for (size_t i = 0; extra && extra[i].name && n < MAX_OPTIONS - 2; i++) table[n++] = extra[i];
  table[n++] = (struct option){"help", no_argument, NULL, 'h'};
  table[n] = (struct option){NULL, 0, NULL, 0};
  for (size_t i = 0; i < n; i++) {
    if (table[i].val <= 0 || table[i].val > 127) continue;
    shorts[ns++] = (char)table[i].val;
    if (table[i].has_arg == required_argument) shorts[ns++] = ':';
  }
  shorts[ns] = '\0';

  o->weights = o->detector = NULL;
  o->threshold = (float)LNLFER_DEFAULT_THRESHOLD;
  o->min_size = LNLFER_DEFAULT_MIN_FACE_SIZE;
  o->max_faces = LNLFER_DEFAULT_MAX_FACES;
  o->threads = 1;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, shorts, table, NULL)) != -1) {
    int status = 0, is_shared = 0;
    if (c == 'h') {
      help(stdout);
      return 0;
    }
    if (c == '?' || c == ':') {
      help(stderr);
      return 2;
    }
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
      if ((accepts & shared_group[i]) && c == shared[i].val) is_shared = 1;
    if (is_shared)
      status = shared_option(c, optarg, cmd, o);
    else
      status = on_extra ? on_extra(c, optarg, data) : 2;
    if (status) return status;
  }
  if (optind >= argc) {
    fprintf(stderr, "lnlfer %s: no image given\n", cmd);
    help(stderr);
    return 2;
  }
  o->first_image = optind;
  return -1;
}

int cli_engine_open(cli_engine *e, const cli_options *o, unsigned needs) {
  memset(e, 0, sizeof *e);
  lnl_error err = {0};
  if (needs & CLI_WEIGHTS) {
    e->model = cli_open_model(o->weights);
    if (!e->model) return 0;
    if (lnl_context_new(e->model, o->threads, &e->ctx, &err) != LNL_OK) {
      fprintf(stderr, "lnlfer: %s\n", err.message);
      cli_engine_close(e);
      return 0;
    }
    e->num_classes = lnl_model_num_classes(e->model);
    e->num_regions = lnl_model_num_regions(e->model);
    for (int k = 0; k < e->num_classes && k < LNL_MAX_CLASSES; k++)
      e->class_keys[k] = lnl_model_class_name(e->model, k);
  }
  if (needs & CLI_DETECTOR) {
    e->detector = cli_open_detector(o->detector);
    if (!e->detector) {
      cli_engine_close(e);
      return 0;
    }
    lnl_detect_options_init(e->detector, &e->detect);
    e->detect.score_threshold = o->threshold;
    e->detect.min_face_size = o->min_size;
    e->detect.max_faces = o->max_faces;
    /* detection alone: a context without a model, for its threads */
    if (!e->ctx && lnl_context_new(NULL, o->threads, &e->ctx, &err) != LNL_OK) {
      fprintf(stderr, "lnlfer: %s\n", err.message);
      cli_engine_close(e);
      return 0;
    }
  }
  return 1;
}

void cli_engine_close(cli_engine *e) {
  lnl_context_free(e->ctx);
  lnl_detector_close(e->detector);
  lnl_model_close(e->model);
  memset(e, 0, sizeof *e);
}

int cli_each_image(int argc, char **argv, int first, cli_image_func fn, void *data) {
  int failures = 0, faceless = 0;
  for (int i = first; i < argc; i++) {
    cli_image img;
    char why[256];
    if (!cli_image_load(argv[i], &img, why, sizeof why)) {
      fprintf(stderr, "lnlfer: %s: %s\n", argv[i], why);
      failures++;
      continue;
    }
    lnl_image view = cli_image_view(&img);
    int status = fn(argv[i], &view, data);
    failures += status == CLI_EXIT_FAILED;
    faceless += status == CLI_EXIT_NO_FACE;
    cli_image_free(&img);
  }
  return failures ? CLI_EXIT_FAILED : faceless ? CLI_EXIT_NO_FACE : CLI_EXIT_OK;
}

void cli_note_no_face(const char *path) { fprintf(stderr, "lnlfer: %s: no face found\n", path); }

cJSON *cli_json_image(const char *file, const lnl_image *img) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "file", file);
  cJSON_AddNumberToObject(o, "width", img->width);
  cJSON_AddNumberToObject(o, "height", img->height);
  return o;
}

void cli_print_json(cJSON *json, int formatted) {
  char *text = formatted ? cJSON_Print(json) : cJSON_PrintUnformatted(json);
  if (text) puts(text);
  free(text);
  cJSON_Delete(json);
}
