/* lnlfer analyze: detect, align and classify every face of each photo. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "lnlfer-json.h"

static void help(FILE *out) {
  fprintf(out, "usage: lnlfer analyze [OPTIONS] IMAGE...\n"
               "\n"
               "Finds every face, aligns it and recognises its expression. Prints each face's\n"
               "box, detector score, label, class probabilities and region weights; each\n"
               "region is also given as its four corners in image pixels.\n"
               "\n"
               "  --weights FILE     expression weights (default: the shipped ones)\n"
               "  --detector FILE    detector weights (default: the shipped BlazeFace)\n");
  cli_help_detection(out, 21);
  fprintf(out, "  --format FORMAT    json (default) or csv (one row per face)\n"
               "  --crops DIR        also save each aligned face crop as DIR/<name>-<i>-<n>.png:\n"
               "                     <name> the image's file name without its extension, <i>\n"
               "                     the image's position among the images given (0: first),\n"
               "                     <n> the face's (0: most confident); DIR must exist\n"
               "  --threads N        threads (default 1)\n"
               "\n"
               "Exit status: 0 when a face was found in every image, 3 when every image was\n"
               "analysed but some had no face, 1 when something failed, 2 for a usage error.\n");
}

static void csv_header(const lnl_model *model) {
  fputs("file,face,x,y,w,h,score,label", stdout);
  for (int k = 0; k < lnl_model_num_classes(model); k++)
    printf(",%s", lnl_model_class_name(model, k));
  for (int r = 0; r < lnl_model_num_regions(model); r++) printf(",w%d", r);
  fputc('\n', stdout);
}

static void csv_face(const lnl_model *model, const char *file, int i, const lnl_face_analysis *a) {
  const lnl_result *r = &a->expression;
  cli_csv_field(stdout, file);
  printf(",%d,%.1f,%.1f,%.1f,%.1f,%.4f,%s", i, a->face.box.x, a->face.box.y, a->face.box.w,
         a->face.box.h, a->face.score, lnl_model_class_name(model, r->label));
  for (int k = 0; k < lnl_model_num_classes(model); k++) printf(",%.6f", r->probs[k]);
  for (int k = 0; k < lnl_model_num_regions(model); k++) printf(",%.6f", r->weights[k]);
  fputc('\n', stdout);
}

/* DIR/<name>-<i>-<n>.png (malloc'd) of face n of the image at position i: <name> is the
 * file name without its extension. Unique in a run: <i> and <n> are numbers without dashes,
 * so they are read back from the end, and <i> differs between images. */
static char *crop_path(const char *dir, const char *file, int image, int face) {
  const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
  const char *dot = strrchr(base, '.');
  int stem = (int)(dot && dot != base ? dot - base : (ptrdiff_t)strlen(base));
  size_t n = strlen(dir) + (size_t)stem + 64;
  char *path = malloc(n);
  if (path) snprintf(path, n, "%s/%.*s-%d-%d.png", dir, stem, base, image, face);
  return path;
}

/* Where lnl_analyze_with_crops's crops of one image go. */
typedef struct crop_saver {
  const char *dir, *file;
  int image;
  int failed; /* a crop could not be written (reported) */
} crop_saver;

/* Writes face `face`'s aligned crop, as the engine classified it. */
static void save_crop(void *user, int face, const uint8_t *rgb, int side) {
  crop_saver *c = user;
  char *path = crop_path(c->dir, c->file, c->image, face), why[512];
  if (!path) {
    fprintf(stderr, "lnlfer: %s: out of memory for its crops\n", c->file);
    c->failed = 1;
  } else if (!cli_image_write(path, rgb, side, side, (size_t)side * 3, why, sizeof why)) {
    fprintf(stderr, "lnlfer: %s: %s\n", path, why);
    c->failed = 1;
  }
  free(path);
}

/* --crops DIR must name a folder lnlfer can write into: checked once, before any work. */
static int check_crops_dir(const char *dir) {
  struct stat st;
  if (stat(dir, &st) != 0) {
    fprintf(stderr, "lnlfer analyze: --crops %s: %s (create the folder first)\n", dir,
            strerror(errno));
    return 0;
  }
  if (!S_ISDIR(st.st_mode)) {
    fprintf(stderr, "lnlfer analyze: --crops %s: not a folder\n", dir);
    return 0;
  }
  if (access(dir, W_OK | X_OK) != 0) {
    fprintf(stderr, "lnlfer analyze: --crops %s: cannot write into it: %s\n", dir, strerror(errno));
    return 0;
  }
  return 1;
}

typedef struct run {
  cli_engine engine;
  cli_format format;
  const char *crops;
  char **images; /* the command's images, to number the crops */
  cJSON *all;
} run;

/* The position of `path` among the images (cli_each_image passes the argv pointers). */
static int image_index(const run *r, const char *path) {
  int i = 0;
  while (r->images[i] && r->images[i] != path) i++;
  return i;
}

static int analyze_one(const char *path, const lnl_image *img, void *data) {
  run *r = data;
  const cli_engine *e = &r->engine;
  lnl_face_analysis *res = NULL;
  int n = 0;
  lnl_error err = {0};
  crop_saver saver = {r->crops, path, r->crops ? image_index(r, path) : 0, 0};
  if (lnl_analyze_with_crops(e->ctx, e->detector, img, &e->detect, r->crops ? save_crop : NULL,
                             &saver, &res, &n, &err) != LNL_OK) {
    fprintf(stderr, "lnlfer: %s: %s\n", path, err.message);
    return CLI_EXIT_FAILED;
  }
  if (r->format == CLI_FORMAT_JSON) {
    cJSON *o = cli_json_image(path, img);
    cJSON *faces = cJSON_AddArrayToObject(o, "faces");
    for (int k = 0; k < n; k++)
      cJSON_AddItemToArray(faces,
                           lnlj_face(&res[k], e->num_classes, e->class_keys, e->num_regions, -1));
    cJSON_AddItemToArray(r->all, o);
  } else {
    for (int k = 0; k < n; k++) csv_face(e->model, path, k, &res[k]);
  }
  free(res);
  if (saver.failed) return CLI_EXIT_FAILED;
  if (n > 0) return CLI_EXIT_OK;
  cli_note_no_face(path);
  return CLI_EXIT_NO_FACE;
}

static int analyze_option(int key, const char *arg, void *data) {
  ((run *)data)->crops = arg; /* --crops DIR, the only one */
  return 0;
}

int cmd_analyze(int argc, char **argv) {
  static const struct option extra[] = {{"crops", required_argument, NULL, 'c'},
                                        {NULL, 0, NULL, 0}};
  cli_options o = {.format = CLI_FORMAT_JSON};
  run r = {0};
  int status = cli_parse(argc, argv, "analyze",
                         CLI_WEIGHTS | CLI_DETECTOR | CLI_DETECTION | CLI_FORMAT | CLI_THREADS,
                         extra, analyze_option, &r, help, &o);
  if (status >= 0) return status;
  r.format = o.format;
  r.images = argv + o.first_image;
  if (r.crops && !check_crops_dir(r.crops)) return CLI_EXIT_FAILED;
  if (!cli_engine_open(&r.engine, &o, CLI_WEIGHTS | CLI_DETECTOR)) return CLI_EXIT_FAILED;
  if (r.format == CLI_FORMAT_CSV)
    csv_header(r.engine.model);
  else
    r.all = cJSON_CreateArray();
  status = cli_each_image(argc, argv, o.first_image, analyze_one, &r);
  if (r.all) cli_print_json(r.all, 1);
  cli_engine_close(&r.engine);
  return status;
}
