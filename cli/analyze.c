/* lnlfer analyze: detect, align and classify every face of each photo. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

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
               "  --detector FILE    detector weights (default: the shipped BlazeFace)\n"
               "  --threshold T      minimum detector confidence, 0..1\n"
               "  --min-size PX      ignore faces narrower than PX pixels\n"
               "  --max-faces N      analyse at most the N most confident faces\n"
               "  --format FORMAT    json (default) or csv (one row per face)\n"
               "  --crops DIR        also save each aligned face crop as DIR/<image>-<n>.png\n"
               "  --threads N        threads (default 1)\n");
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

/* Writes DIR/<basename without extension>-<i>.png of each aligned crop. */
static void save_crops(const char *dir, const char *file, const lnl_model *model,
                       const lnl_image *img, const lnl_face_analysis *res, int n) {
  const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
  int side = lnl_model_crop_side(model);
  uint8_t *rgb = malloc((size_t)side * side * 3);
  for (int i = 0; rgb && i < n; i++) {
    char path[1024], why[512];
    float m[6];
    lnl_error err = {0};
    snprintf(path, sizeof path, "%s/%.*s-%d.png", dir,
             (int)(strrchr(base, '.') ? strrchr(base, '.') - base : (long)strlen(base)), base, i);
    if (lnl_align(model, img, &res[i].face, rgb, m, &err) != LNL_OK)
      fprintf(stderr, "lnlfer: %s: %s\n", path, err.message);
    else if (!cli_image_write(path, rgb, side, side, (size_t)side * 3, why, sizeof why))
      fprintf(stderr, "lnlfer: %s: %s\n", path, why);
  }
  free(rgb);
}

typedef struct run {
  cli_engine engine;
  cli_format format;
  const char *crops;
  cJSON *all;
} run;

static int analyze_one(const char *path, const lnl_image *img, void *data) {
  run *r = data;
  const cli_engine *e = &r->engine;
  lnl_face_analysis *res = NULL;
  int n = 0;
  lnl_error err = {0};
  if (lnl_analyze(e->ctx, e->detector, img, &e->detect, &res, &n, &err) != LNL_OK) {
    fprintf(stderr, "lnlfer: %s: %s\n", path, err.message);
    return 1;
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
  if (r->crops && n > 0) save_crops(r->crops, path, e->model, img, res, n);
  free(res);
  return 0;
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
  if (!cli_engine_open(&r.engine, &o, CLI_WEIGHTS | CLI_DETECTOR)) return 1;
  if (r.format == CLI_FORMAT_CSV)
    csv_header(r.engine.model);
  else
    r.all = cJSON_CreateArray();
  int failures = cli_each_image(argc, argv, o.first_image, analyze_one, &r);
  if (r.all) cli_print_json(r.all, 1);
  cli_engine_close(&r.engine);
  return failures ? 1 : 0;
}
